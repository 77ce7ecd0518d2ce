/* agent_source_driver.c -- runs the edge agent's sources without the agent, for the sources'
 * integration tests (tests/integration/test_agent_source_*.py).
 *
 *   agent-source-driver -c FILE [--log-level LEVEL]
 *
 * FILE has `device_id ID`, optionally `store PATH` (the readings are then appended to a real
 * agent store, agent_store.h) and `fail_file PATH` (while it exists, emit fails with
 * MSG_ERR_DB, as a broken store would), and `[source <name>]` sections exactly as in
 * pantau-agent's config. The driver opens every source, polls them as the agent does (poll(2) on their wait
 * fds and times; MSG_ERR_IO closes a source and opens it again after a backoff), and its emit
 * fills the envelope (store id, seq, ts, clock_synced), validates the whole message with
 * msg_event_validate() and prints it as one line `<stream> <payload>` on stdout. SIGTERM or
 * SIGINT closes the sources (they log their totals) and exits 0.
 *
 * Not for: production (no MQTT, no replay): pantau-agent is the program. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent_source.h"
#include "agent_store.h"
#include "conf.h"
#include "log.h"
#include "msg_clock.h"
#include "msg_event.h"
#include "msg_topic.h"

#define DRIVER_SOURCES_MAX 8
#define DRIVER_STORE_ID "00000000-0000-4000-8000-000000000000"

static volatile sig_atomic_t stop_flag;

struct driver_conf {
    char device_id[MSG_ID_MAX + 1];
    char store[256];
    char fail_file[256];
};

static const struct conf_key driver_keys[] = {
    {"device_id", CONF_STR, NULL, offsetof(struct driver_conf, device_id), MSG_ID_MAX + 1, 0, 0,
     "device id"},
    {"store", CONF_STR, "", offsetof(struct driver_conf, store), 256, 0, 0,
     "agent store file (optional)"},
    {"fail_file", CONF_STR, "", offsetof(struct driver_conf, fail_file), 256, 0, 0,
     "while this file exists, emit fails as a broken store would (MSG_ERR_DB)"},
    CONF_END,
};

struct slot {
    const struct agent_source *src;
    void *conf;
    void *state;
    int64_t reopen_ms;
    int64_t backoff_ms;
    struct agent_source_wait wait;
};

struct driver {
    struct driver_conf conf;
    struct slot slots[DRIVER_SOURCES_MAX];
    size_t n;
    pthread_mutex_t lock;      /* emit is called from sources' own threads too */
    uint64_t seq;
    struct agent_store *store;
    struct agent_emit emit;
};

static int emit_fn(void *ctx, const struct msg_event *ev, char *err, size_t errlen)
{
    struct driver *d = ctx;
    struct msg_event e = *ev;
    char payload[MSG_PAYLOAD_MAX + 1];
    size_t len = 0;
    int rc;

    pthread_mutex_lock(&d->lock);
    if (d->conf.fail_file[0] != '\0' && access(d->conf.fail_file, F_OK) == 0) {
        snprintf(err, errlen, "store: disk I/O error (the test's fail_file exists)");
        rc = MSG_ERR_DB;
        goto out;
    }
    snprintf(e.device_id, sizeof(e.device_id), "%s", d->conf.device_id);
    snprintf(e.env.store_id, sizeof(e.env.store_id), "%s", DRIVER_STORE_ID);
    if (d->store != NULL) {
        snprintf(e.env.store_id, sizeof(e.env.store_id), "%s", agent_store_id(d->store));
    }
    e.env.seq = d->seq + 1;
    if (e.env.ts_ms == 0) {
        e.env.ts_ms = msg_clock_wall_ms();
    }
    e.env.clock_synced = true;
    e.env.replay = false;
    rc = msg_event_validate(&e, err, errlen);
    if (rc != MSG_OK) {
        goto out;
    }
    if (d->store != NULL) {
        rc = agent_store_append(d->store, &e, 1, err, errlen);
        if (rc != MSG_OK) {
            goto out;
        }
    }
    d->seq = e.env.seq;
    rc = msg_event_encode(&e, payload, sizeof(payload), &len);
    if (rc == MSG_OK) {
        printf("%s %s\n", msg_stream_name(e.stream), payload);
        fflush(stdout);
    }
out:
    pthread_mutex_unlock(&d->lock);
    return rc;
}

static const struct conf_key *on_section(void *ctx, const char *name, const char *arg,
                                         void **obj, char *err, size_t errlen)
{
    struct driver *d = ctx;
    struct slot *s;

    if (strcmp(name, "source") != 0) {
        snprintf(err, errlen, "unknown section (only [source <name>])");
        return NULL;
    }
    if (d->n == DRIVER_SOURCES_MAX) {
        snprintf(err, errlen, "more than %d sources", DRIVER_SOURCES_MAX);
        return NULL;
    }
    s = &d->slots[d->n];
    s->src = agent_source_find(arg);
    if (s->src == NULL) {
        snprintf(err, errlen, "unknown source");
        return NULL;
    }
    s->conf = calloc(1, s->src->conf_size);
    if (s->conf == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->n++;
    *obj = s->conf;
    return s->src->keys;
}

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void try_open(struct driver *d, struct slot *s, int64_t now)
{
    char err[MSG_ERRLEN] = "";
    int rc = s->src->open(&s->state, s->conf, &d->emit, err, sizeof(err));

    if (rc == MSG_OK) {
        s->backoff_ms = 100;
        s->wait.fd = -1;
        s->wait.next_ms = now;
        return;
    }
    s->state = NULL;
    s->backoff_ms = s->backoff_ms < 100 ? 100 : s->backoff_ms * 2;
    if (s->backoff_ms > 2000) {
        s->backoff_ms = 2000;
    }
    s->reopen_ms = now + s->backoff_ms;
    log_msg(LOG_WARNING, "driver: source %s: open failed (%s), again in %lld ms: %s",
            s->src->name, msg_errname(rc), (long long)s->backoff_ms, err);
}

static int run(struct driver *d)
{
    struct pollfd pfd[DRIVER_SOURCES_MAX];

    for (size_t i = 0; i < d->n; i++) {
        try_open(d, &d->slots[i], msg_clock_mono_ms());
    }
    while (!stop_flag) {
        int64_t now = msg_clock_mono_ms();
        int64_t next = now + 1000;
        nfds_t nfds = 0;
        int timeout;

        for (size_t i = 0; i < d->n; i++) {
            struct slot *s = &d->slots[i];
            char err[MSG_ERRLEN] = "";
            int rc;

            if (s->state == NULL) {
                if (now >= s->reopen_ms) {
                    try_open(d, s, now);
                }
                if (s->state == NULL) {
                    next = s->reopen_ms < next ? s->reopen_ms : next;
                    continue;
                }
            }
            rc = s->src->poll(s->state, now, &s->wait, err, sizeof(err));
            if (rc != MSG_OK) {
                log_msg(LOG_WARNING, "driver: source %s: %s; reopening", s->src->name, err);
                s->src->close(s->state);
                s->state = NULL;
                s->reopen_ms = now + s->backoff_ms;
                next = s->reopen_ms < next ? s->reopen_ms : next;
                continue;
            }
            if (s->wait.next_ms < next) {
                next = s->wait.next_ms;
            }
            if (s->wait.fd >= 0) {
                pfd[nfds].fd = s->wait.fd;
                pfd[nfds].events = POLLIN;
                pfd[nfds].revents = 0;
                nfds++;
            }
        }
        timeout = next <= now ? 0 : (int)(next - now);
        if (poll(pfd, nfds, timeout) < 0 && errno != EINTR) {
            log_msg(LOG_ERR, "driver: poll: %s", strerror(errno));
            return 1;
        }
    }
    for (size_t i = 0; i < d->n; i++) {
        if (d->slots[i].state != NULL) {
            d->slots[i].src->close(d->slots[i].state);
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"log-level", required_argument, NULL, 'l'},
        {NULL, 0, NULL, 0},
    };
    struct driver *d = NULL;
    struct sigaction sa;
    const char *path = NULL;
    char err[MSG_ERRLEN] = "";
    int level = LOG_INFO;
    int rc = 2;
    int c;

    for (;;) {
        c = getopt_long(argc, argv, "c:", opts, NULL);
        if (c == -1) {
            break;
        }
        if (c == 'c') {
            path = optarg;
        } else if (c == 'l' && log_level_from_name(optarg, &level) == MSG_OK) {
            continue;
        } else {
            fprintf(stderr, "usage: agent-source-driver -c FILE [--log-level LEVEL]\n");
            return 2;
        }
    }
    if (path == NULL) {
        fprintf(stderr, "usage: agent-source-driver -c FILE [--log-level LEVEL]\n");
        return 2;
    }
    log_setup(level, LOG_TO_STDERR);
    d = calloc(1, sizeof(*d));
    if (d == NULL) {
        return 1;
    }
    pthread_mutex_init(&d->lock, NULL);
    if (conf_load(path, driver_keys, &d->conf, on_section, d, err, sizeof(err)) != MSG_OK) {
        fprintf(stderr, "agent-source-driver: %s\n", err);
        goto out;
    }
    for (size_t i = 0; i < d->n; i++) {
        if (d->slots[i].src->check != NULL &&
            d->slots[i].src->check(d->slots[i].conf, err, sizeof(err)) != MSG_OK) {
            fprintf(stderr, "agent-source-driver: %s: [source %s]: %s\n", path,
                    d->slots[i].src->name, err);
            goto out;
        }
    }
    if (d->conf.store[0] != '\0') {
        struct agent_store_limits lim = {100000, 64 * 1024 * 1024, 0, 1000, 0};

        if (agent_store_open(d->conf.store, &lim, true, &d->store, err, sizeof(err)) !=
            MSG_OK) {
            fprintf(stderr, "agent-source-driver: %s\n", err);
            rc = 1;
            goto out;
        }
    }
    d->emit.fn = emit_fn;
    d->emit.ctx = d;
    d->emit.device_id = d->conf.device_id;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    log_msg(LOG_NOTICE, "driver: %zu sources running", d->n);
    rc = run(d);
out:
    for (size_t i = 0; i < d->n; i++) {
        free(d->slots[i].conf);
    }
    agent_store_close(d->store);
    pthread_mutex_destroy(&d->lock);
    free(d);
    return rc;
}
