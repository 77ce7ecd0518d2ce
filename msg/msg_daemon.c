/* msg_daemon.c -- a daemon's command line and signals: see msg_daemon.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* struct sigaction; some targets define it for every file */
#endif
#include "msg_daemon.h"

#include <signal.h>
#include <string.h>

/* The bad-usage exit: the usage after the message already said, status 2. */
static int bad_usage(const struct msg_daemon_cli *cli)
{
    cli->usage(stderr);
    return 2;
}

int msg_daemon_args(const struct msg_daemon_cli *cli, int argc, char **argv, const char **path,
                    bool *check)
{
    *path = NULL;
    *check = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "%s: %s needs a file name\n", cli->program, a);
                return bad_usage(cli);
            }
            *path = argv[++i];
        } else if (strncmp(a, "--config=", 9) == 0) {
            *path = a + 9;
        } else if (strcmp(a, "--check") == 0) {
            *check = true;
        } else if (strcmp(a, "--print-config") == 0) {
            cli->print_config(stdout);
            return 0;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cli->usage(stdout);
            printf("\nConfiguration keys (key value, # comments; defaults shown):\n");
            cli->print_config(stdout);
            return 0;
        } else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
            printf("%s %s\n", cli->program, cli->version);
            return 0;
        } else {
            fprintf(stderr, "%s: unknown option '%s'\n", cli->program, a);
            return bad_usage(cli);
        }
    }
    if (*path == NULL) {
        fprintf(stderr, "%s: no configuration file (-c FILE)\n", cli->program);
        return bad_usage(cli);
    }
    return MSG_DAEMON_RUN;
}

int msg_daemon_signals(void (*on_stop)(int sig))
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0) {
        return -1;
    }
    sa.sa_handler = SIG_IGN;
    return sigaction(SIGPIPE, &sa, NULL);
}
