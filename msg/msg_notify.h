/* msg_notify.h -- tells the service manager about a daemon's state: the sd_notify(3) protocol
 * without libsystemd, for the collector and the edge agent.
 *
 * The protocol is one datagram of newline-separated VAR=VALUE assignments ("READY=1",
 * "STATUS=...", "WATCHDOG=1", "STOPPING=1") sent to the AF_UNIX datagram socket named by
 * $NOTIFY_SOCKET: a path, or an abstract socket when the name starts with '@' (the '@' stands for
 * the leading NUL). It is documented and stable (sd_notify(3), "Notes"). Our own few lines
 * replace libsystemd, which neither program used for anything else and which maps libgcrypt,
 * libgpg-error, liblzma, libzstd, liblz4 and libcap into the process (about 0.9 MiB resident;
 * docs/benchmarks.md, "Edge agent: footprint").
 *
 * Without $NOTIFY_SOCKET (not started by systemd with Type=notify) msg_notify does nothing and
 * succeeds. The variables are left in the environment (sd_notify's unset_environment = 0). No
 * allocation, no global state; safe to call from any thread.
 *
 * Also the watchdog's interval, as sd_watchdog_enabled(3) reads it: $WATCHDOG_USEC, for this
 * process when $WATCHDOG_PID is unset or names it. The caller sends "WATCHDOG=1" at about half
 * of it.
 *
 * Not for: file descriptor passing (FDSTORE), credentials, socket activation. */
#ifndef MSG_NOTIFY_H
#define MSG_NOTIFY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Sends state (borrows; e.g. "READY=1") to $NOTIFY_SOCKET if it is set. Returns MSG_OK (also
 * when the variable is unset), MSG_ERR_INVAL for a name that is not an absolute path or an
 * '@' name or is too long for sockaddr_un, MSG_ERR_IO when the socket cannot be made or the
 * datagram not sent; the detail goes to err (borrows, errlen bytes). */
int msg_notify(const char *state, char *err, size_t errlen);

/* The same with the socket's name given (borrows; NULL or "" does nothing): what msg_notify
 * does with getenv("NOTIFY_SOCKET"), for tests. */
int msg_notify_to(const char *socket_name, const char *state, char *err, size_t errlen);

/* The watchdog interval systemd expects pings within, into *usec (0: no watchdog for this
 * process), from getenv("WATCHDOG_USEC") and getenv("WATCHDOG_PID") as sd_watchdog_enabled(3)
 * reads them. Returns MSG_OK, or MSG_ERR_INVAL (and *usec 0) when a variable is set but not a
 * number (WATCHDOG_USEC: 1 to 2^64 - 2; WATCHDOG_PID: a positive pid). */
int msg_notify_watchdog(uint64_t *usec);

/* The same with the variables' values given (borrows; NULL: unset) and the pid to compare
 * WATCHDOG_PID with: what msg_notify_watchdog does with the environment and getpid(), for tests. */
int msg_notify_watchdog_from(const char *usec_var, const char *pid_var, pid_t self, uint64_t *usec);

#endif
