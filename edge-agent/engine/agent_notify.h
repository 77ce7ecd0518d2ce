/* agent_notify.h -- tells the service manager about the agent's state: the sd_notify(3)
 * protocol without libsystemd.
 *
 * The protocol is one datagram of newline-separated VAR=VALUE assignments ("READY=1",
 * "STOPPING=1") sent to the AF_UNIX datagram socket named by $NOTIFY_SOCKET: a path, or an
 * abstract socket when the name starts with '@' (the '@' stands for the leading NUL). It is
 * documented and stable (sd_notify(3), "Notes"). Our own few lines replace libsystemd, which the
 * agent used for nothing else and which maps libgcrypt, libgpg-error, liblzma, libzstd, liblz4
 * and libcap into the process (about 0.9 MiB resident; docs/benchmarks.md, "Edge agent:
 * footprint").
 *
 * Without $NOTIFY_SOCKET (not started by systemd with Type=notify) agent_notify does nothing and
 * succeeds. The variable is left in the environment (sd_notify's unset_environment = 0). No
 * allocation, no global state; safe to call from any thread.
 *
 * Not for: file descriptor passing (FDSTORE), credentials, the watchdog's timing, socket
 * activation. */
#ifndef AGENT_NOTIFY_H
#define AGENT_NOTIFY_H

#include <stddef.h>

/* Sends state (borrows; e.g. "READY=1") to $NOTIFY_SOCKET if it is set. Returns MSG_OK (also
 * when the variable is unset), MSG_ERR_INVAL for a name that is not an absolute path or an
 * '@' name or is too long for sockaddr_un, MSG_ERR_IO when the socket cannot be made or the
 * datagram not sent; the detail goes to err (borrows, errlen bytes). */
int agent_notify(const char *state, char *err, size_t errlen);

/* The same with the socket's name given (borrows; NULL or "" does nothing): what agent_notify
 * does with getenv("NOTIFY_SOCKET"), for tests. */
int agent_notify_to(const char *socket_name, const char *state, char *err, size_t errlen);

#endif
