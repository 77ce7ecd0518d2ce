/* main.c -- pantau-agent: argv, signals and exit codes (STYLE.md sections 4 and 11).
 *
 *   pantau-agent [-c FILE]             run (default /etc/pantau/agent.conf)
 *   pantau-agent -c FILE --check       validate the config, each source's check included
 *   pantau-agent report ...            append one Jumantik inspection to the store
 *
 * Exit codes: 0 stopped by SIGTERM/SIGINT (or --check passed), 1 a runtime failure (the store
 * cannot be opened or fails), 2 a bad config or usage. The only mutable global is the stop
 * flag that the signal handler sets. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "agent_config.h"
#include "msg_notify.h"
#include "log.h"
#include "msg_err.h"

#include "agent_report.h"

#define DEFAULT_CONFIG "/etc/pantau/agent.conf"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: pantau-agent [-c FILE] [--check]\n"
            "       pantau-agent report [OPTION]... (pantau-agent report --help)\n"
            "Carries readings from this device's sources to the broker, through a durable\n"
            "store, until the collector acknowledges them.\n"
            "\n"
            "  -c, --config FILE   configuration file (default " DEFAULT_CONFIG ")\n"
            "      --check         check the configuration and exit (0 valid, 2 not)\n"
            "      --print-config  print every key with its default and exit\n"
            "  -h, --help          show this help and exit\n"
            "  -V, --version       show the version and exit\n"
            "\n"
            "Exit status: 0 stopped by SIGTERM or SIGINT, 1 runtime failure, 2 bad\n"
            "configuration or usage.\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check", no_argument, NULL, 'k'},
        {"print-config", no_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *path = DEFAULT_CONFIG;
    struct agent_config *cfg = NULL;
    struct agent *agent = NULL;
    struct sigaction sa;
    sigset_t block;
    char err[MSG_ERRLEN + 1100] = "";
    char nerr[MSG_ERRLEN] = "";
    bool check = false;
    int status = 0;
    int opt;
    int rc;

    if (argc >= 2 && strcmp(argv[1], "report") == 0) {
        return agent_report_main(argc - 1, argv + 1);
    }
    for (;;) {
        opt = getopt_long(argc, argv, "c:hV", longopts, NULL);
        if (opt == -1) {
            break;
        }
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 'k':
            check = true;
            break;
        case 'p':
            agent_config_print(stdout);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("%s\n", AGENT_NAME);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "pantau-agent: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    cfg = malloc(sizeof(*cfg));
    if (cfg == NULL) {
        fprintf(stderr, "pantau-agent: out of memory\n");
        return 1;
    }
    rc = agent_config_load(path, cfg, err, sizeof(err));
    if (rc != MSG_OK) {
        fprintf(stderr, "pantau-agent: %s\n", err);
        status = 2;
        goto out;
    }
    if (check) {
        printf("pantau-agent: %s: configuration OK (%zu sources)\n", path, cfg->n_sources);
        goto out;
    }
    log_setup(agent_config_log_level(cfg), LOG_TO_AUTO);

    /* SIGTERM and SIGINT reach only the engine's ppoll: block them in every thread first */
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, NULL);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);

    rc = agent_new(cfg, &agent, err, sizeof(err));
    if (rc != MSG_OK) {
        log_msg(LOG_ERR, "%s", err);
        status = rc == MSG_ERR_CONFIG ? 2 : 1;
        goto out;
    }
    /* ready once the store is open: readings taken from now on are kept (Type=notify) */
    if (msg_notify("READY=1", err, sizeof(err)) != MSG_OK) {
        log_msg(LOG_WARNING, "%s", err);
    }
    rc = agent_run(agent, &stop_flag, err, sizeof(err));
    if (msg_notify("STOPPING=1", nerr, sizeof(nerr)) != MSG_OK) {
        log_msg(LOG_WARNING, "%s", nerr);
    }
    if (rc != MSG_OK) {
        log_msg(LOG_ERR, "%s", err);
        status = 1;
    }
out:
    agent_free(agent);
    if (cfg != NULL) {
        memset(cfg->mqtt_password, 0, sizeof(cfg->mqtt_password));
        free(cfg);
    }
    return status;
}
