/* main.c -- pantau-alertd: command line, signals and exit codes.
 *
 * The alert service evaluates the alert rules inside PostgreSQL, delivers the alerts they
 * page from the outbox (MQTT, webhook) and escalates the ones nobody acknowledged
 * (alertd/README.md). This file only reads the command line, loads the config, installs the
 * signal handlers and maps the outcome to an exit code:
 *   0  stopped by SIGTERM/SIGINT (the delivery in hand finished and marked), or
 *      --check/--help/--print-config
 *   1  run-time failure
 *   2  bad command line or configuration (systemd: RestartPreventExitStatus=2)
 * Everything else lives in alertd.c. */
#include <curl/curl.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "alertd.h"
#include "alertd_config.h"
#include "log.h"
#include "msg_daemon.h"
#include "msg_err.h"

#ifndef PANTAU_VERSION
#define PANTAU_VERSION "0.1.0"
#endif

/* The one mutable global (STYLE 6): set by the signal handler, read by alertd_run(). */
static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *f)
{
    fprintf(f, "Usage: pantau-alertd -c FILE [--check]\n"
               "Evaluate pantau's alert rules in PostgreSQL, deliver the alerts (MQTT, webhook)\n"
               "and escalate the unacknowledged.\n"
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
    static struct alertd_config cfg; /* large; filled once, then read-only */
    struct alertd *a = NULL;
    static const struct msg_daemon_cli cli = {"pantau-alertd", PANTAU_VERSION, usage,
                                              alertd_config_print};
    const char *path = NULL;
    char err[MSG_ERRLEN] = "";
    bool check = false;
    bool libs = false;
    int status = msg_daemon_args(&cli, argc, argv, &path, &check);

    if (status != MSG_DAEMON_RUN) {
        return status;
    }
    status = 1;
    if (alertd_config_load(path, &cfg, err, sizeof(err)) != MSG_OK) {
        fprintf(stderr, "pantau-alertd: %s\n", err);
        return 2;
    }
    if (check) {
        printf("pantau-alertd: %s: configuration is valid\n", path);
        alertd_config_wipe(&cfg);
        return 0;
    }
    log_setup(alertd_config_log_level(&cfg), LOG_TO_AUTO);
    if (msg_daemon_signals(on_signal) != 0) {
        log_msg(LOG_ERR, "alertd: cannot install signal handlers");
        goto out;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_msg(LOG_ERR, "alertd: cannot initialise libcurl");
        goto out;
    }
    mosquitto_lib_init();
    libs = true;
    a = alertd_new(&cfg, err, sizeof(err));
    if (a == NULL) {
        log_msg(LOG_ERR, "alertd: cannot start: %s", err);
        goto out;
    }
    if (alertd_run(a, &stop_requested, err, sizeof(err)) != MSG_OK) {
        log_msg(LOG_ERR, "alertd: stopped on failure: %s", err);
        goto out;
    }
    status = 0;
out:
    alertd_free(a);
    if (libs) {
        mosquitto_lib_cleanup();
        curl_global_cleanup();
    }
    alertd_config_wipe(&cfg);
    return status;
}
