/* main.c -- pantau-console: command line, signals and exit codes.
 *
 * The operation center's console (issue 12, console/README.md): an HTTP server that serves
 * the page in console/web, answers its API from PostgreSQL's pantau_console functions and
 * streams live updates. This file reads the command line, loads the config, starts the parts
 * in order (database pool, login, live updates, HTTP) and maps the outcome to an exit code:
 *   0  stopped by SIGTERM/SIGINT, or --check/--help/--print-config
 *   1  run-time failure (e.g. the port is taken)
 *   2  bad command line or configuration (systemd: RestartPreventExitStatus=2) */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "console_conf.h"
#include "db.h"
#include "events.h"
#include "http.h"
#include "log.h"
#include "msg_clock.h"
#include "msg_daemon.h"
#include "msg_err.h"
#include "msg_notify.h"

#ifndef PANTAU_VERSION
#define PANTAU_VERSION "0.1.0"
#endif

/* The one mutable global (STYLE 6): set by the signal handler, read by the main loop. */
static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *f)
{
    fprintf(f, "Usage: pantau-console -c FILE [--check]\n"
               "Serve the operation center's console: the map, gauges, traffic, Jumantik, alerts\n"
               "and the pipe's health, live, from pantau's PostgreSQL.\n"
               "\n"
               "  -c, --config FILE  read the configuration from FILE\n"
               "      --check        check the configuration and exit (0: good, 2: bad)\n"
               "      --print-config print every key with its default and exit\n"
               "  -h, --help         show this help and the configuration keys, and exit\n"
               "  -V, --version      show the version and exit\n"
               "\n"
               "Exit status: 0 stopped by a signal, 1 run-time failure, 2 bad usage or config.\n");
}

static void notify_systemd(const char *state)
{
    char err[MSG_ERRLEN] = "";

    if (msg_notify(state, err, sizeof(err)) != MSG_OK) {
        log_msg(LOG_DEBUG, "console: sd_notify %s: %s", state, err);
    }
}

int main(int argc, char **argv)
{
    static struct console_config cfg; /* large; filled once, then read-only */
    struct db_pool *pool = NULL;
    struct db_pool *read_pool = NULL; /* a replica's, when db_read_conninfo is set */
    struct auth *auth = NULL;
    struct events *ev = NULL;
    struct http *h = NULL;
    static const struct msg_daemon_cli cli = {"pantau-console", PANTAU_VERSION, usage,
                                              console_config_print};
    const char *path = NULL;
    char err[MSG_ERRLEN] = "";
    bool check = false;
    int status = msg_daemon_args(&cli, argc, argv, &path, &check);

    if (status != MSG_DAEMON_RUN) {
        return status;
    }
    status = 1;
    if (console_config_load(path, &cfg, err, sizeof(err)) != MSG_OK) {
        fprintf(stderr, "pantau-console: %s\n", err);
        return 2;
    }
    if (check) {
        printf("pantau-console: %s: configuration is valid\n", path);
        console_config_wipe(&cfg);
        return 0;
    }
    log_setup(console_config_log_level(&cfg), LOG_TO_AUTO);
    if (msg_daemon_signals(on_signal) != 0) {
        log_msg(LOG_ERR, "console: cannot install signal handlers");
        goto out;
    }
    pool = db_pool_new(&cfg, cfg.db_conninfo, err, sizeof(err));
    if (pool != NULL && cfg.db_read_conninfo[0] != '\0') {
        read_pool = db_pool_new(&cfg, cfg.db_read_conninfo, err, sizeof(err));
        if (read_pool == NULL) {
            log_msg(LOG_ERR, "console: cannot start: %s", err);
            goto out;
        }
        log_msg(LOG_NOTICE, "console: the map and views read from db_read_conninfo");
    }
    auth = pool != NULL ? auth_new(&cfg, pool, err, sizeof(err)) : NULL;
    ev = auth != NULL ? events_new(&cfg, err, sizeof(err)) : NULL;
    h = ev != NULL
            ? http_new(&cfg, pool, read_pool != NULL ? read_pool : pool, auth, ev, err, sizeof(err))
            : NULL;
    if (h == NULL) {
        log_msg(LOG_ERR, "console: cannot start: %s", err);
        goto out;
    }
    log_msg(LOG_NOTICE, "console: pantau-console %s listening on %s://%s:%lld/", PANTAU_VERSION,
            cfg.tls_cert[0] != '\0' ? "https" : "http", cfg.listen_address, cfg.listen_port);
    notify_systemd("READY=1");
    while (!stop_requested) {
        msg_clock_sleep_ms(200);
    }
    notify_systemd("STOPPING=1");
    log_msg(LOG_NOTICE, "console: stopping");
    status = 0;
out:
    events_close(ev); /* ends every live stream before the daemon stops */
    http_free(h);
    events_free(ev);
    auth_free(auth);
    db_pool_free(read_pool);
    db_pool_free(pool);
    console_config_wipe(&cfg);
    return status;
}
