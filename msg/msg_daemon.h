/* msg_daemon.h -- what every pantau daemon's main() does the same way (pantau-collector,
 * pantau-alertd, pantau-console): its command line
 *
 *   -c, --config FILE (or --config=FILE)   the configuration file (required)
 *   --check                                 check it and exit: 0 good, 2 bad
 *   --print-config                          every key with its default, and exit 0
 *   -h, --help                              usage and the keys, and exit 0
 *   -V, --version                           "<program> <version>", and exit 0
 *
 * with the exit statuses that systemd's units rely on (2: bad usage or configuration,
 * RestartPreventExitStatus=2; 1: a run-time failure; 0: stopped by a signal), and its signals
 * (SIGTERM and SIGINT ask it to stop, SIGPIPE is ignored).
 *
 * Not for: pantau-agent and pantau-admin, which have commands of their own. */
#ifndef MSG_DAEMON_H
#define MSG_DAEMON_H

#include <stdbool.h>
#include <stdio.h>

#define MSG_DAEMON_RUN (-1) /* msg_daemon_args: go on and run */

struct msg_daemon_cli {
    const char *program;           /* e.g. "pantau-collector" (static storage) */
    const char *version;           /* e.g. PANTAU_VERSION */
    void (*usage)(FILE *f);        /* the synopsis, what it does and the options */
    void (*print_config)(FILE *f); /* every configuration key with its default */
};

/* Reads argv (borrowed). Returns MSG_DAEMON_RUN with *path (into argv) and *check set, or the
 * status to exit with: 0 after --help, --version or --print-config (printed on stdout), 2 after
 * a bad command line (said on stderr with the usage). */
int msg_daemon_args(const struct msg_daemon_cli *cli, int argc, char **argv, const char **path,
                    bool *check);

/* SIGTERM and SIGINT call on_stop (which sets the program's volatile sig_atomic_t flag);
 * SIGPIPE is ignored. Returns 0, or -1 with errno set. */
int msg_daemon_signals(void (*on_stop)(int sig));

#endif
