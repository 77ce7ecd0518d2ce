/* main.c -- pantau-collector: command line, signals and exit codes.
 *
 * The collector takes readings from the broker (MQTT 5 shared subscriptions), writes each of
 * them to PostgreSQL exactly once and acknowledges them to their devices after the commit
 * (docs/protocol.md sections 6 and 11). This file only reads the command line, loads the
 * config, installs the signal handlers and maps the outcome to an exit code:
 *   0  stopped by SIGTERM/SIGINT (the batch in hand committed and acknowledged), or --check/--help
 *   1  run-time failure
 *   2  bad command line or configuration (systemd: RestartPreventExitStatus=2)
 * Everything else lives in collector.c. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "collector.h"
#include "collector_config.h"
#include "log.h"
#include "msg_daemon.h"
#include "msg_err.h"

#ifndef PANTAU_VERSION
#define PANTAU_VERSION "0.1.0"
#endif

/* The one mutable global (STYLE 6): set by the signal handler, read by collector_run(). */
static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *f)
{
    fprintf(f, "Usage: pantau-collector -c FILE [--check]\n"
               "Store device readings from MQTT in PostgreSQL exactly once, and acknowledge them.\n"
               "\n"
               "  -c, --config FILE  read the configuration from FILE\n"
               "      --check        check the configuration and exit (0: good, 2: bad)\n"
               "      --print-config print every key with its default and exit\n"
               "  -h, --help         show this help and the configuration keys, and exit\n"
               "  -V, --version      show the version and exit\n"
               "\n"
               "Exit status: 0 stopped by a signal, 1 run-time failure, 2 bad usage or config.\n");
}

int main(int argc, char **argv)
{
    static struct collector_config cfg; /* large; filled once, then read-only */
    struct collector *c = NULL;
    static const struct msg_daemon_cli cli = {"pantau-collector", PANTAU_VERSION, usage,
                                              collector_config_print};
    const char *path = NULL;
    char err[MSG_ERRLEN] = "";
    bool check = false;
    int status = msg_daemon_args(&cli, argc, argv, &path, &check);

    if (status != MSG_DAEMON_RUN) {
        return status;
    }
    status = 1;
    if (collector_config_load(path, &cfg, err, sizeof(err)) != MSG_OK) {
        fprintf(stderr, "pantau-collector: %s\n", err);
        return 2;
    }
    if (check) {
        printf("pantau-collector: %s: configuration is valid\n", path);
        return 0;
    }
    log_setup(collector_config_log_level(&cfg), LOG_TO_AUTO);
    if (msg_daemon_signals(on_signal) != 0) {
        log_msg(LOG_ERR, "collector: cannot install signal handlers");
        return 1;
    }
    c = collector_new(&cfg, err, sizeof(err));
    if (c == NULL) {
        log_msg(LOG_ERR, "collector: cannot start: %s", err);
        goto out;
    }
    if (collector_run(c, &stop_requested, err, sizeof(err)) != MSG_OK) {
        log_msg(LOG_ERR, "collector: stopped on failure: %s", err);
        goto out;
    }
    status = 0;
out:
    collector_free(c);
    memset(cfg.db_password, 0, sizeof(cfg.db_password));
    memset(cfg.mqtt_password, 0, sizeof(cfg.mqtt_password));
    return status;
}
