/* agent.c -- pantau-agent's engine: see agent.h for what it does and why.
 *
 * Reading order: the event ring (paho's thread -> engine), paho callbacks, the emit function
 * and the source thread, publishing, the connection, acknowledgements and health, the tick
 * (what to send now), the loop, and the lifecycle. */
#include "agent.h"

#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <MQTTAsync.h>

#include "agent_clock.h"
#include "agent_source.h"
#include "agent_store.h"
#include "agent_window.h"
#include "log.h"
#include "msg_ack.h"
#include "msg_binding.h"
#include "msg_event.h"
#include "msg_health.h"
#include "msg_history.h"
#include "msg_time.h"
#include "msg_topic.h"

#define RING_EVENTS 1024             /* events between paho's thread and the engine */
#define RING_BYTES (4 * 1024 * 1024) /* message payloads held in the ring, at most */
#define REFUSED_MAX 256              /* refused readings waiting for their next try; more are
                                      * let go and tried again with a later backlog pass */
#define COLLECTORS_MAX 16            /* collectors whose health we track */
#define MARK_MAX 4096                /* publishes recorded with one agent_store_mark_sent */
#define STATS_EVERY_MS 1000          /* agent_store_stats at most this often */
#define STORE_POLL_MS 1000           /* look for rows other processes appended */
#define EXPIRE_EVERY_MS 60000
#define DISCONNECT_WAIT_MS 3000
#define PAHO_INFLIGHT_MAX 64         /* publishes handed to paho and not yet PUBACKed: paho
                                      * keeps the rest in a command list it walks per send, so
                                      * a window's worth queued there would slow it down */
#define STATION_GAPS 4               /* recent gaps between a station's readings, for its silence */
#define STATION_GAP_MIN_MS 1000      /* closer readings are one burst (a camera's lanes) */
#define STATION_SILENCE_MIN_MS 10000 /* a derived silence is never shorter */
/* a derived silence before a second reading shows a gap: the longest interval a traffic
 * reading may have */
#define STATION_SILENCE_FIRST_MS 3600000
#define MQTT_PACKET_PUBACK 4         /* packet_type of paho's failure data (MQTT's own number) */

enum ev_type {
    EV_CONNECTED,
    EV_CONNECT_FAILED,
    EV_LOST,
    EV_PUB_FAILED,      /* code/reason: refused (reason >= 0x80) or incomplete */
    EV_MESSAGE,         /* payload: topic NUL payload */
    EV_DISCONNECTED,    /* our own disconnect finished */
};

struct ev {
    enum ev_type type;
    int token;
    int code;           /* paho's code (failures) */
    int reason;         /* MQTT 5 reason code; 0 if none */
    int packet;         /* packet type of a failure (PUBACK: a refusal) */
    char *buf;          /* EV_MESSAGE: topic, NUL, payload; caller frees with free */
    size_t topic_len;
    size_t len;         /* payload bytes */
};

struct ring {
    pthread_mutex_t lock;
    struct ev ev[RING_EVENTS];
    size_t head;        /* next to take */
    size_t n;
    size_t bytes;
    uint64_t dropped;   /* events that did not fit (counted, logged in the summary) */
};

struct health {
    char collector[MSG_ID_MAX + 1];
    bool online;
    enum msg_db_state db;
};

enum conn_state {
    CONN_IDLE,          /* waiting for next_connect_ms */
    CONN_CONNECTING,
    CONN_UP,
    CONN_CLOSING,
};

struct source_run {
    const struct agent_config_source *cs;
    void *state;
    bool open;
    bool dead;          /* MSG_ERR_CONFIG from open: never again */
    int64_t next_open_ms;
    struct agent_backoff backoff;
    struct agent_source_wait wait;
};

/* A station behind this gateway: when its last reading came, to tell its health (status
 * `stations`, protocol.md 5). Written by emit (any source thread) and read by the engine,
 * both under store_lock. */
struct station {
    char id[MSG_ID_MAX + 1];
    int64_t last_ms;                /* CLOCK_MONOTONIC ms of its last reading; -1: none yet */
    int64_t gaps[STATION_GAPS];     /* the last gaps of at least STATION_GAP_MIN_MS */
    size_t n_gaps;
    bool reported_online;           /* as the engine last saw it (engine thread) */
};

struct counters {
    uint64_t published;     /* first sends */
    uint64_t live;          /* of which by the live path */
    uint64_t replayed;      /* backlog sends */
    uint64_t resent;        /* resends after a timeout */
    uint64_t refusals;      /* PUBACKs >= 0x80 */
    uint64_t rejected;      /* readings given up after refusals for refuse_give_up_ms (this run) */
    uint64_t let_go;        /* refused readings let go to a later backlog pass (table full) */
    uint64_t acked;         /* readings deleted on acknowledgement (this run) */
    uint64_t dead;          /* of which the collector stored as dead letters */
    uint64_t emitted;       /* readings the sources handed in */
    uint64_t invalid;       /* readings the validator refused */
    uint64_t connects;
};

struct agent {
    const struct agent_config *cfg;           /* borrowed from main */

    /* the store, shared with the source threads. store_lock is the one lock of the store
     * (agent_store.h: a handle is not thread-safe by itself): every call on a->store after
     * agent_new and before agent_free holds it, and it makes emit's append and the station's
     * bookkeeping one step for the engine */
    pthread_mutex_t store_lock;
    struct agent_store *store;
    char store_id[MSG_STORE_ID_LEN + 1];
    uint64_t boot;

    /* wakes the engine: emit and paho's callbacks write to it */
    int wake_fd;
    struct ring ring;
    atomic_uint_fast64_t appended;             /* readings appended by emit, in total */
    atomic_uint_fast64_t pubacks;              /* PUBACKs (any reason code), paho's thread */

    /* sources (their thread owns runs[]) */
    pthread_t src_thread;
    bool src_started;
    int src_stop_fd;                           /* eventfd: the source thread stops */
    atomic_bool src_stop;
    uint64_t src_rng;                          /* the source thread's jitter (set before) */
    struct agent_emit emit;
    size_t n_runs;
    struct source_run runs[AGENT_SOURCES_MAX];

    /* MQTT (engine thread) */
    MQTTAsync client;
    char uri[AGENT_HOST_MAX + 32];
    char topics[MSG_STREAM_COUNT][MSG_TOPIC_MAX + 1];
    char ack_topic[MSG_TOPIC_MAX + 1];
    char health_filter[MSG_TOPIC_MAX + 1];
    char will_buf[1024];
    size_t will_len;
    char username[MSG_ID_MAX + 1];
    enum conn_state conn_state;
    uint64_t conn;
    int64_t next_connect_ms;
    int64_t connected_ms;
    struct agent_backoff reconnect;
    uint64_t rng;
    uint64_t handed;            /* QoS 1 publishes handed to paho on this connection */
    uint64_t pubacks_base;      /* a->pubacks when this connection came up */

    /* what is in flight (engine thread) */
    struct agent_window *win;
    struct agent_rto rto;
    struct agent_pacing pacing;             /* every publish: under the broker's limit */
    struct agent_bucket publish_bucket;
    double publish_reserve;     /* tokens the backlog, resends and retries leave to live
                                 * readings and the status */
    struct agent_bucket replay_bucket;
    struct agent_bucket resend_bucket;
    uint64_t again_seq;         /* refused readings let go (window full of refusals): the lowest */
    int64_t again_ms;           /* when the backlog pass goes back for them (INT64_MAX: none) */
    uint64_t frontier;          /* highest seq the live path has looked at */
    uint64_t backlog_cursor;    /* the backlog scan goes on after this seq */
    bool backlog_idle;          /* the last backlog scan found nothing more to send up to the
                                 * frontier: no backlog wake until the frontier moves or the
                                 * cursor goes back (the held count alone cannot tell) */
    bool replaying;             /* a backlog replay is under way (for the log) */
    uint64_t seen_appended;     /* a->appended when the live path last looked */
    int64_t next_store_poll_ms;
    uint64_t mark[MARK_MAX];    /* publishes not yet recorded in the store */
    size_t n_mark;
    int64_t mark_due_ms;
    char pubbuf[MSG_PAYLOAD_MAX + 16];
    struct msg_ack *ack;

    /* stations (under store_lock; reported_online: engine thread) */
    size_t n_stations;
    struct station stations[MSG_STATUS_STATIONS_MAX];
    bool stations_full_logged;
    int64_t stations_next_ms;     /* when a station may go silent next (engine thread) */

    /* health (engine thread) */
    size_t n_health;
    struct health health[COLLECTORS_MAX];
    bool resend_ok;

    /* status and counters (engine thread) */
    struct agent_store_stats stats;
    int64_t stats_ms;
    bool status_dirty;
    int64_t status_ms;
    uint64_t status_held;
    uint64_t status_rejected;
    uint64_t status_dropped;
    uint64_t logged_dropped;
    int64_t next_summary_ms;
    int64_t next_expire_ms;
    struct counters cnt;
    uint64_t wakeups;           /* rounds of the engine's loop (the summary's `wakeups`) */
    atomic_uint_fast64_t emitted;
    atomic_uint_fast64_t invalid;
};

/* ---- the event ring ------------------------------------------------------------------- */

static void wake(struct agent *a)
{
    uint64_t one = 1;

    if (write(a->wake_fd, &one, sizeof(one)) < 0) {
        /* an eventfd at its maximum is already readable: nothing to do */
    }
}

/* Takes ownership of e->buf (freed if the ring is full). Any thread. */
static void ring_push(struct agent *a, struct ev *e)
{
    struct ring *r = &a->ring;
    bool ok = false;

    pthread_mutex_lock(&r->lock);
    if (r->n < RING_EVENTS && r->bytes + e->len <= RING_BYTES) {
        r->ev[(r->head + r->n) % RING_EVENTS] = *e;
        r->n++;
        r->bytes += e->len;
        ok = true;
    } else {
        r->dropped++;
    }
    pthread_mutex_unlock(&r->lock);
    if (!ok) {
        free(e->buf);
        return;
    }
    wake(a);
}

static bool ring_pop(struct agent *a, struct ev *out)
{
    struct ring *r = &a->ring;
    bool ok = false;

    pthread_mutex_lock(&r->lock);
    if (r->n > 0) {
        *out = r->ev[r->head];
        r->head = (r->head + 1) % RING_EVENTS;
        r->n--;
        r->bytes -= out->len;
        ok = true;
    }
    pthread_mutex_unlock(&r->lock);
    return ok;
}

/* ---- paho callbacks: paho's thread; they only queue ---------------------------------- */

static void on_connect_ok(void *ctx, MQTTAsync_successData5 *d)
{
    struct ev e = {.type = EV_CONNECTED};

    (void)d;
    ring_push(ctx, &e);
}

static void on_connect_fail(void *ctx, MQTTAsync_failureData5 *d)
{
    struct ev e = {.type = EV_CONNECT_FAILED};

    if (d != NULL) {
        e.code = d->code;
        e.reason = (int)d->reasonCode;
    }
    ring_push(ctx, &e);
}

static void on_lost(void *ctx, char *cause)
{
    struct ev e = {.type = EV_LOST};

    (void)cause;   /* paho passes NULL in 1.3 */
    ring_push(ctx, &e);
}

/* The broker sent DISCONNECT (an administrative kick of a disabled device, a session taken
 * over, a server shutting down). paho 1.3 reports it here only, not through connectionLost:
 * without this the agent would believe itself connected for ever. */
static void on_server_disconnect(void *ctx, MQTTProperties *props, enum MQTTReasonCodes reason)
{
    struct ev e = {.type = EV_LOST};

    (void)props;
    e.reason = (int)reason;
    ring_push(ctx, &e);
}

/* A publish failed. Only a refusal (a PUBACK with reason code >= 0x80) matters: the others
 * are publishes cut off by a lost connection (paho fails every one of them, a window's worth
 * at once), which the engine handles by clearing its window on EV_LOST. A successful PUBACK
 * needs no event either (no onSuccess5): the reading is kept until the acknowledgement. */
static void on_pub_fail(void *ctx, MQTTAsync_failureData5 *d)
{
    struct ev e = {.type = EV_PUB_FAILED};

    if (d == NULL || d->packet_type != MQTT_PACKET_PUBACK || d->reasonCode < 0x80) {
        return;
    }
    e.token = d->token;
    e.code = d->code;
    e.reason = (int)d->reasonCode;
    e.packet = d->packet_type;
    ring_push(ctx, &e);
}

static void on_disconnected(void *ctx, MQTTAsync_successData5 *d)
{
    struct ev e = {.type = EV_DISCONNECTED};

    (void)d;
    ring_push(ctx, &e);
}

static void on_disconnect_fail(void *ctx, MQTTAsync_failureData5 *d)
{
    struct ev e = {.type = EV_DISCONNECTED};

    (void)d;
    ring_push(ctx, &e);
}

/* A PUBACK came (success or refusal): one more slot in paho's in-flight list. */
static void on_delivered(void *ctx, MQTTAsync_token token)
{
    struct agent *a = ctx;

    (void)token;
    atomic_fetch_add(&a->pubacks, 1);
    wake(a);
}

/* Copies the topic and payload into the ring; frees paho's message (STYLE.md 5). */
static int on_message(void *ctx, char *topic, int topic_len, MQTTAsync_message *m)
{
    struct ev e = {.type = EV_MESSAGE};
    size_t tlen = topic_len > 0 ? (size_t)topic_len : strlen(topic);
    size_t plen = m->payloadlen > 0 ? (size_t)m->payloadlen : 0;

    if (tlen <= MSG_TOPIC_MAX && plen <= MSG_ACK_PAYLOAD_MAX) {
        e.buf = malloc(tlen + 1 + plen + 1);
        if (e.buf != NULL) {
            memcpy(e.buf, topic, tlen);
            e.buf[tlen] = '\0';
            if (plen > 0) {
                memcpy(e.buf + tlen + 1, m->payload, plen);
            }
            e.buf[tlen + 1 + plen] = '\0';
            e.topic_len = tlen;
            e.len = plen;
            ring_push(ctx, &e);
        }
    }
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
}

/* ---- stations' health ------------------------------------------------------------------ */

/* A reading of ev's station came at mono_ms. The store lock is held. */
static void station_heard(struct agent *a, const struct msg_event *ev, int64_t mono_ms)
{
    const char *id = msg_binding_station(ev);
    struct station *st = NULL;

    if (id == NULL || id[0] == '\0') {
        return;
    }
    for (size_t i = 0; i < a->n_stations; i++) {
        if (strcmp(a->stations[i].id, id) == 0) {
            st = &a->stations[i];
            break;
        }
    }
    if (st == NULL) {
        if (a->n_stations >= MSG_STATUS_STATIONS_MAX) {
            if (!a->stations_full_logged) {
                a->stations_full_logged = true;
                log_msg(LOG_WARNING, "agent: station %s: more than %d stations, its health is "
                        "not reported", id, MSG_STATUS_STATIONS_MAX);
            }
            return;
        }
        st = &a->stations[a->n_stations++];
        memset(st, 0, sizeof(*st));
        snprintf(st->id, sizeof(st->id), "%s", id);
        st->last_ms = -1;
    }
    if (st->last_ms >= 0 && mono_ms - st->last_ms >= STATION_GAP_MIN_MS) {
        st->gaps[st->n_gaps % STATION_GAPS] = mono_ms - st->last_ms;
        st->n_gaps++;
    }
    st->last_ms = mono_ms;
}

/* How long st may stay without a reading and still be online. The store lock is held. */
static int64_t station_silence(const struct agent *a, const struct station *st)
{
    int64_t longest = 0;

    if (a->cfg->station_silence_ms > 0) {
        return a->cfg->station_silence_ms;
    }
    if (st->n_gaps == 0) {
        return STATION_SILENCE_FIRST_MS;
    }
    for (size_t i = 0; i < STATION_GAPS && i < st->n_gaps; i++) {
        if (st->gaps[i] > longest) {
            longest = st->gaps[i];
        }
    }
    return 3 * longest > STATION_SILENCE_MIN_MS ? 3 * longest : STATION_SILENCE_MIN_MS;
}

static bool station_online(const struct agent *a, const struct station *st, int64_t now)
{
    return st->last_ms >= 0 && now - st->last_ms <= station_silence(a, st);
}

/* Marks the status dirty when a station's health changed; returns when the next one may change
 * (INT64_MAX: none). Engine thread. */
static int64_t stations_check(struct agent *a, int64_t now)
{
    int64_t next = INT64_MAX;

    pthread_mutex_lock(&a->store_lock);
    for (size_t i = 0; i < a->n_stations; i++) {
        struct station *st = &a->stations[i];
        bool online = station_online(a, st, now);
        int64_t silence = station_silence(a, st);

        if (online != st->reported_online) {
            st->reported_online = online;
            a->status_dirty = true;
            if (online) {
                log_msg(LOG_NOTICE, "agent: station %s is online", st->id);
            } else if (st->last_ms >= 0) {
                log_msg(LOG_WARNING, "agent: station %s is offline: no reading for %" PRId64
                        " s", st->id, (now - st->last_ms) / 1000);
            }
        }
        if (online && st->last_ms + silence + 1 < next) {
            next = st->last_ms + silence + 1;
        }
    }
    pthread_mutex_unlock(&a->store_lock);
    return next;
}

/* ---- emit: any source thread ----------------------------------------------------------- */

static int on_emit(void *ctx, const struct msg_event *in, char *err, size_t errlen)
{
    struct agent *a = ctx;
    struct msg_event ev;
    struct agent_clock_now now;
    int rc;

    ev = *in;
    agent_clock_read(a->cfg->clock_sync, &now);
    memcpy(ev.device_id, a->cfg->device_id, sizeof(ev.device_id));
    memcpy(ev.env.store_id, a->store_id, sizeof(ev.env.store_id));
    ev.env.seq = 1;   /* the store assigns the real one; any valid value validates */
    ev.env.replay = false;
    ev.env.clock_synced = now.synced;
    ev.env.has_boot = true;
    ev.env.boot = a->boot;
    if (ev.env.ts_ms == 0) {
        ev.env.ts_ms = now.wall_ms;
        ev.env.has_mono = true;
        ev.env.mono_ms = now.mono_ms;
    } else {
        ev.env.has_mono = false;   /* the source's own time: our mono_ms would not match */
        ev.env.mono_ms = 0;
    }
    atomic_fetch_add(&a->emitted, 1);
    rc = msg_event_validate(&ev, err, errlen);
    if (rc != MSG_OK) {
        atomic_fetch_add(&a->invalid, 1);
        return rc;
    }
    pthread_mutex_lock(&a->store_lock);
    rc = agent_store_append(a->store, &ev, 1, err, errlen);
    if (rc == MSG_OK) {
        station_heard(a, &ev, now.mono_ms);
    }
    pthread_mutex_unlock(&a->store_lock);
    if (rc == MSG_OK) {
        atomic_fetch_add(&a->appended, 1);
        wake(a);
    }
    return rc;
}

/* ---- the source thread ---------------------------------------------------------------- */

static void source_try_open(struct agent *a, struct source_run *r, int64_t now, uint64_t *rng)
{
    char err[MSG_ERRLEN] = "";
    int rc;

    rc = r->cs->source->open(&r->state, r->cs->conf.bytes, &a->emit, err, sizeof(err));
    if (rc == MSG_OK) {
        r->open = true;
        r->wait.fd = -1;
        r->wait.next_ms = now;
        agent_backoff_reset(&r->backoff);
        log_msg(LOG_NOTICE, "agent: source %s opened", r->cs->source->name);
        return;
    }
    r->state = NULL;
    if (rc == MSG_ERR_CONFIG) {
        r->dead = true;
        log_msg(LOG_ERR, "agent: source %s cannot run: %s", r->cs->source->name, err);
        return;
    }
    r->next_open_ms = now + agent_backoff_next(&r->backoff, rng);
    log_msg(LOG_WARNING, "agent: source %s did not open: %s; retry in %" PRId64 " ms",
            r->cs->source->name, err, r->next_open_ms - now);
}

static void source_close(struct source_run *r)
{
    if (r->open) {
        r->cs->source->close(r->state);
    }
    r->state = NULL;
    r->open = false;
}

static void *source_main(void *arg)
{
    struct agent *a = arg;
    struct pollfd fds[AGENT_SOURCES_MAX + 1];
    size_t idx[AGENT_SOURCES_MAX + 1];
    uint64_t rng = a->src_rng;   /* this thread's own: a->rng is the engine's */

    for (size_t i = 0; i < a->n_runs; i++) {
        a->runs[i].next_open_ms = 0;
    }
    while (!atomic_load(&a->src_stop)) {
        int64_t now = agent_clock_mono_ms();
        int64_t next = now + 60000;
        nfds_t nfds = 0;
        int timeout;

        for (size_t i = 0; i < a->n_runs; i++) {
            struct source_run *r = &a->runs[i];
            char err[MSG_ERRLEN] = "";

            if (r->dead) {
                continue;
            }
            if (!r->open && now >= r->next_open_ms) {
                source_try_open(a, r, now, &rng);
            }
            if (r->open && r->wait.fd < 0 && now >= r->wait.next_ms) {
                r->wait.fd = -1;
                r->wait.next_ms = INT64_MAX;
                if (r->cs->source->poll(r->state, now, &r->wait, err, sizeof(err)) != MSG_OK) {
                    source_close(r);
                    r->next_open_ms = now + agent_backoff_next(&r->backoff, &rng);
                    log_msg(LOG_WARNING, "agent: source %s failed: %s; reopening in %" PRId64
                            " ms", r->cs->source->name, err, r->next_open_ms - now);
                }
            }
            if (r->open) {
                if (r->wait.next_ms < next) {
                    next = r->wait.next_ms;
                }
                if (r->wait.fd >= 0) {
                    fds[nfds].fd = r->wait.fd;
                    fds[nfds].events = POLLIN;
                    fds[nfds].revents = 0;
                    idx[nfds] = i;
                    nfds++;
                }
            } else if (!r->dead && r->next_open_ms < next) {
                next = r->next_open_ms;
            }
        }
        fds[nfds].fd = a->src_stop_fd;
        fds[nfds].events = POLLIN;
        fds[nfds].revents = 0;
        idx[nfds] = SIZE_MAX;
        nfds++;
        now = agent_clock_mono_ms();
        timeout = next <= now ? 0 : (next - now > 60000 ? 60000 : (int)(next - now));
        if (poll(fds, nfds, timeout) < 0 && errno != EINTR) {
            log_msg(LOG_ERR, "agent: source thread: poll: %s", strerror(errno));
            break;
        }
        now = agent_clock_mono_ms();
        for (nfds_t k = 0; k < nfds; k++) {
            struct source_run *r;
            char err[MSG_ERRLEN] = "";

            if (idx[k] == SIZE_MAX || fds[k].revents == 0) {
                continue;
            }
            r = &a->runs[idx[k]];
            if (!r->open) {
                continue;
            }
            r->wait.fd = -1;
            r->wait.next_ms = INT64_MAX;
            if (r->cs->source->poll(r->state, now, &r->wait, err, sizeof(err)) != MSG_OK) {
                source_close(r);
                r->next_open_ms = now + agent_backoff_next(&r->backoff, &rng);
                log_msg(LOG_WARNING, "agent: source %s failed: %s; reopening in %" PRId64
                        " ms", r->cs->source->name, err, r->next_open_ms - now);
            }
        }
        /* a source whose deadline passed while it also waits on an fd: poll it next round */
        for (size_t i = 0; i < a->n_runs; i++) {
            struct source_run *r = &a->runs[i];

            if (r->open && r->wait.fd >= 0 && now >= r->wait.next_ms) {
                r->wait.fd = -1;
            }
        }
    }
    for (size_t i = 0; i < a->n_runs; i++) {
        source_close(&a->runs[i]);
    }
    return NULL;
}

/* ---- the store, under its lock (engine thread) ---------------------------------------- */

static void mark_flush(struct agent *a)
{
    char err[MSG_ERRLEN];

    if (a->n_mark == 0) {
        return;
    }
    pthread_mutex_lock(&a->store_lock);
    if (agent_store_mark_sent(a->store, a->mark, a->n_mark, err, sizeof(err)) != MSG_OK) {
        log_msg(LOG_WARNING, "agent: recording %zu sends: %s", a->n_mark, err);
    }
    pthread_mutex_unlock(&a->store_lock);
    a->n_mark = 0;
}

/* Called inside store scans (the store lock held): only records; tick() flushes. */
static void mark_add(struct agent *a, uint64_t seq, int64_t now)
{
    if (a->n_mark == 0) {
        a->mark_due_ms = now + 1000;
    }
    if (a->n_mark < MARK_MAX) {
        a->mark[a->n_mark++] = seq;
    }
}

static int refresh_stats(struct agent *a, int64_t now, bool force)
{
    char err[MSG_ERRLEN];
    int rc;

    if (!force && now - a->stats_ms < STATS_EVERY_MS) {
        return MSG_OK;
    }
    pthread_mutex_lock(&a->store_lock);
    rc = agent_store_stats(a->store, &a->stats, err, sizeof(err));
    pthread_mutex_unlock(&a->store_lock);
    if (rc != MSG_OK) {
        log_msg(LOG_ERR, "agent: store statistics: %s", err);
        return rc;
    }
    a->stats_ms = now;
    if (a->stats.dropped > a->logged_dropped) {
        log_msg(LOG_WARNING, "agent: the store dropped %" PRIu64 " of its oldest readings "
                "(%" PRIu64 " in total): store full or too old", a->stats.dropped -
                a->logged_dropped, a->stats.dropped);
        a->logged_dropped = a->stats.dropped;
    }
    return MSG_OK;
}

/* ---- publishing (engine thread) ------------------------------------------------------- */

/* Publishes paho would take now without queueing them behind its in-flight limit. */
static size_t paho_room(struct agent *a)
{
    uint64_t done = atomic_load(&a->pubacks) - a->pubacks_base;
    uint64_t out = a->handed > done ? a->handed - done : 0;

    return out >= PAHO_INFLIGHT_MAX ? 0 : PAHO_INFLIGHT_MAX - (size_t)out;
}

/* Publishes payload for seq on its stream's topic with replay set as asked, and records the
 * token in slot. Returns MSG_OK or MSG_ERR_IO (paho refused: not connected, queue full). */
static int publish_reading(struct agent *a, struct agent_slot *slot, const char *payload,
                           size_t len, bool replay, int64_t now)
{
    MQTTAsync_message m = MQTTAsync_message_initializer;
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    const char *out = payload;
    size_t out_len = len;
    int rc;

    if (paho_room(a) == 0 || a->n_mark >= MARK_MAX) {
        return MSG_ERR_FULL;   /* after the next PUBACK, or once tick() recorded the sends */
    }
    if (replay) {
        /* the store keeps the first send's text (replay false); flip the flag. The envelope
         * comes first in the encoder's order and a string cannot hold an unescaped quote, so
         * the first match is the envelope's member. */
        static const char from[] = "\"replay\":false";
        static const char to[] = "\"replay\":true";
        const char *p = memmem(payload, len, from, sizeof(from) - 1);

        if (p != NULL && len + 1 < sizeof(a->pubbuf)) {
            size_t head = (size_t)(p - payload);
            size_t tail = len - head - (sizeof(from) - 1);

            memcpy(a->pubbuf, payload, head);
            memcpy(a->pubbuf + head, to, sizeof(to) - 1);
            memcpy(a->pubbuf + head + sizeof(to) - 1, p + sizeof(from) - 1, tail);
            out = a->pubbuf;
            out_len = head + sizeof(to) - 1 + tail;
        }
    }
    m.payload = (void *)out;
    m.payloadlen = (int)out_len;
    m.qos = 1;
    m.retained = 0;
    ro.onFailure5 = on_pub_fail;
    ro.context = a;
    rc = MQTTAsync_sendMessage(a->client, a->topics[slot->stream], &m, &ro);
    if (rc != MQTTASYNC_SUCCESS) {
        log_msg(LOG_DEBUG, "agent: publish seq=%" PRIu64 " not queued: paho %d", slot->seq, rc);
        return MSG_ERR_IO;
    }
    a->handed++;
    slot->token = ro.token;
    slot->sends++;
    slot->sent_ms = now;
    if (slot->sends == 1) {
        slot->first_sent_ms = now;
    }
    slot->due_ms = now + agent_rto_timeout(&a->rto, slot->sends);
    mark_add(a, slot->seq, now);
    return MSG_OK;
}

static int publish_status(struct agent *a, bool online, int64_t now)
{
    struct msg_status st;
    struct agent_clock_now clk;
    MQTTAsync_message m = MQTTAsync_message_initializer;
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    char buf[4096];   /* 16 stations of 64 characters and the rest */
    size_t len = 0;
    int rc;

    memset(&st, 0, sizeof(st));
    agent_clock_read(a->cfg->clock_sync, &clk);
    st.state = online ? MSG_STATE_ONLINE : MSG_STATE_OFFLINE;
    st.conn = a->conn;
    memcpy(st.store_id, a->store_id, sizeof(st.store_id));
    st.ts_ms = clk.wall_ms;
    st.clock_synced = clk.synced;
    snprintf(st.agent, sizeof(st.agent), "%s", AGENT_NAME);
    st.has_backlog = true;
    st.backlog = a->stats.held;
    st.has_rejected = true;
    st.rejected = a->stats.rejected;
    st.has_dropped = true;
    st.dropped = a->stats.dropped;
    if (online) {
        pthread_mutex_lock(&a->store_lock);
        for (size_t i = 0; i < a->n_stations; i++) {
            bool up = station_online(a, &a->stations[i], now);

            memcpy(st.stations[i].id, a->stations[i].id, sizeof(st.stations[i].id));
            st.stations[i].online = up;
            a->stations[i].reported_online = up;
        }
        st.n_stations = a->n_stations;
        st.has_stations = a->n_stations > 0;
        pthread_mutex_unlock(&a->store_lock);
    }
    rc = msg_status_encode(&st, buf, sizeof(buf), &len);
    if (rc != MSG_OK) {
        log_msg(LOG_ERR, "agent: status message: %s", msg_strerror(rc));
        return rc;
    }
    m.payload = buf;
    m.payloadlen = (int)len;
    m.qos = 1;
    m.retained = 1;
    ro.context = a;
    rc = MQTTAsync_sendMessage(a->client, a->topics[MSG_STREAM_STATUS], &m, &ro);
    if (rc != MQTTASYNC_SUCCESS) {
        a->status_ms = now;   /* try again after the interval, not at once (a busy loop) */
        return MSG_ERR_IO;
    }
    a->handed++;
    a->status_ms = now;
    a->status_held = a->stats.held;
    a->status_rejected = a->stats.rejected;
    a->status_dropped = a->stats.dropped;
    a->status_dirty = false;
    return MSG_OK;
}

/* ---- the connection (engine thread) --------------------------------------------------- */

static void schedule_reconnect(struct agent *a, int64_t now, const char *why)
{
    int64_t wait = agent_backoff_next(&a->reconnect, &a->rng);

    a->conn_state = CONN_IDLE;
    a->next_connect_ms = now + wait;
    log_msg(LOG_WARNING, "agent: %s; reconnecting in %" PRId64 " ms", why, wait);
}

static void start_connect(struct agent *a, int64_t now)
{
    MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer5;
    MQTTAsync_willOptions will = MQTTAsync_willOptions_initializer;
    MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
    struct msg_status st;
    struct agent_clock_now clk;
    char err[MSG_ERRLEN];
    int rc;

    pthread_mutex_lock(&a->store_lock);
    rc = agent_store_next_conn(a->store, &a->conn, err, sizeof(err));
    pthread_mutex_unlock(&a->store_lock);
    if (rc != MSG_OK) {
        log_msg(LOG_ERR, "agent: connection counter: %s", err);
        schedule_reconnect(a, now, "cannot count the connection");
        return;
    }
    /* the retained last will: offline, this connection's counter and time (protocol.md 5) */
    memset(&st, 0, sizeof(st));
    agent_clock_read(a->cfg->clock_sync, &clk);
    st.state = MSG_STATE_OFFLINE;
    st.conn = a->conn;
    memcpy(st.store_id, a->store_id, sizeof(st.store_id));
    st.ts_ms = clk.wall_ms;
    st.clock_synced = clk.synced;
    if (msg_status_encode(&st, a->will_buf, sizeof(a->will_buf), &a->will_len) != MSG_OK) {
        schedule_reconnect(a, now, "cannot encode the last will");
        return;
    }
    will.topicName = a->topics[MSG_STREAM_STATUS];
    will.message = NULL;
    will.payload.data = a->will_buf;
    will.payload.len = (int)a->will_len;
    will.qos = 1;
    will.retained = 1;

    co.keepAliveInterval = (int)(a->cfg->mqtt_keepalive_ms / 1000);
    co.connectTimeout = (int)((a->cfg->mqtt_connect_timeout_ms + 999) / 1000);
    co.cleanstart = 1;          /* Session Expiry 0 is the default without the property */
    co.automaticReconnect = 0;  /* our own backoff */
    co.will = &will;
    co.onSuccess5 = on_connect_ok;
    co.onFailure5 = on_connect_fail;
    co.context = a;
    if (a->username[0] != '\0') {
        co.username = a->username;
    }
    if (a->cfg->mqtt_password[0] != '\0') {
        co.password = a->cfg->mqtt_password;
    }
    if (a->cfg->tls) {
        ssl.trustStore = a->cfg->tls_cafile[0] != '\0' ? a->cfg->tls_cafile : NULL;
        ssl.keyStore = a->cfg->tls_certfile[0] != '\0' ? a->cfg->tls_certfile : NULL;
        ssl.privateKey = a->cfg->tls_keyfile[0] != '\0' ? a->cfg->tls_keyfile : NULL;
        ssl.enableServerCertAuth = 1;
        ssl.verify = a->cfg->tls_verify_hostname ? 1 : 0;
        ssl.sslVersion = MQTT_SSL_VERSION_TLS_1_2;
        co.ssl = &ssl;
    }
    rc = MQTTAsync_connect(a->client, &co);
    if (rc != MQTTASYNC_SUCCESS) {
        char why[sizeof(a->uri) + 64];

        snprintf(why, sizeof(why), "connect to %s not started (paho %d)", a->uri, rc);
        schedule_reconnect(a, now, why);
        return;
    }
    a->conn_state = CONN_CONNECTING;
    log_msg(LOG_DEBUG, "agent: connecting to %s conn=%" PRIu64, a->uri, a->conn);
}

static void on_up(struct agent *a, int64_t now)
{
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    char *filters[2];
    int qos[2] = {1, 1};
    int rc;

    a->conn_state = CONN_UP;
    a->connected_ms = now;
    a->handed = 0;
    a->pubacks_base = atomic_load(&a->pubacks);
    a->cnt.connects++;
    agent_backoff_reset(&a->reconnect);
    log_msg(LOG_NOTICE, "agent: connected to broker %s conn=%" PRIu64 " device=%s", a->uri,
            a->conn, a->cfg->device_id);
    filters[0] = a->ack_topic;
    filters[1] = a->health_filter;
    ro.context = a;
    rc = MQTTAsync_subscribeMany(a->client, 2, filters, qos, &ro);
    if (rc != MQTTASYNC_SUCCESS) {
        log_msg(LOG_WARNING, "agent: subscribe to %s and %s: paho %d", a->ack_topic,
                a->health_filter, rc);
    }
    /* collectors' health comes again as retained messages on this subscription */
    a->n_health = 0;
    a->resend_ok = false;
    refresh_stats(a, now, true);
    /* the birth goes now whatever the bucket holds; what follows pays it back (the broker
     * counts it: protocol.md 8) */
    agent_bucket_spend(&a->publish_bucket, now);
    publish_status(a, true, now);
    /* everything held and not fresh goes out again as backlog: what was in flight is of
     * unknown fate. The frontier stays: readings taken during the outage and still fresh
     * (live_ms) go out live, the older ones with the backlog. */
    agent_window_clear_sent(a->win);
    a->backlog_cursor = 0;
    a->backlog_idle = false;
    a->next_store_poll_ms = now;
}

/* ---- acknowledgements and health (engine thread) -------------------------------------- */

static void handle_ack(struct agent *a, const char *payload, size_t len, int64_t now)
{
    const struct msg_ack_store *mine;
    char err[MSG_ERRLEN];
    uint64_t deleted = 0;
    int rc;

    rc = msg_ack_parse(payload, len, a->ack, err, sizeof(err));
    if (rc != MSG_OK) {
        log_msg(LOG_DEBUG, "agent: acknowledgement ignored: %s", err);
        return;
    }
    mine = msg_ack_find(a->ack, a->store_id);
    if (mine == NULL || mine->ranges.n == 0) {
        return;   /* another store's (an old SD card): not ours to delete */
    }
    pthread_mutex_lock(&a->store_lock);
    rc = agent_store_ack(a->store, mine->ranges.r, mine->ranges.n, &deleted, err, sizeof(err));
    pthread_mutex_unlock(&a->store_lock);
    if (rc != MSG_OK) {
        log_msg(LOG_ERR, "agent: deleting acknowledged readings: %s", err);
        return;   /* kept: a later acknowledgement covers them again */
    }
    a->cnt.acked += deleted;
    a->cnt.dead += msg_rangeset_count(&mine->dead);
    for (size_t i = 0; i < a->win->n_slots; i++) {
        struct agent_slot *s = &a->win->slots[i];

        if (s->state == AGENT_SLOT_FREE ||
            !msg_ranges_contains(mine->ranges.r, mine->ranges.n, s->seq)) {
            continue;
        }
        if (s->state == AGENT_SLOT_SENT && s->sends == 1) {
            agent_rto_sample(&a->rto, now - s->first_sent_ms);   /* Karn: first sends only */
        }
        agent_window_remove(a->win, s);
    }
    /* the held count must not stay the one from before the deletion: the backlog wake in
     * next_deadline() compares it with what is in flight */
    refresh_stats(a, now, true);
    /* the status follows in maybe_status() once the backlog changed noticeably */
}

static bool health_allows(const struct agent *a)
{
    for (size_t i = 0; i < a->n_health; i++) {
        if (a->health[i].online && a->health[i].db == MSG_DB_UP) {
            return true;
        }
    }
    return false;
}

static void handle_health(struct agent *a, const struct msg_topic *t, const char *payload,
                          size_t len, int64_t now)
{
    struct msg_health h;
    struct health *slot = NULL;
    char err[MSG_ERRLEN];
    bool was;

    if (len == 0) {
        /* a cleared retained message: that collector is gone */
        for (size_t i = 0; i < a->n_health; i++) {
            if (strcmp(a->health[i].collector, t->collector_id) == 0) {
                a->health[i] = a->health[--a->n_health];
                break;
            }
        }
        goto decide;
    }
    if (msg_health_parse(t, payload, len, &h, err, sizeof(err)) != MSG_OK) {
        log_msg(LOG_DEBUG, "agent: health message ignored: %s", err);
        return;
    }
    for (size_t i = 0; i < a->n_health; i++) {
        if (strcmp(a->health[i].collector, h.collector) == 0) {
            slot = &a->health[i];
        }
    }
    if (slot == NULL) {
        if (a->n_health >= COLLECTORS_MAX) {
            return;
        }
        slot = &a->health[a->n_health++];
        memcpy(slot->collector, h.collector, sizeof(slot->collector));
        slot->online = !h.online;   /* so that the first one is logged */
    }
    if (slot->online != h.online || slot->db != h.db) {
        log_msg(LOG_NOTICE, "agent: collector %s is %s, database %s", h.collector,
                h.online ? "online" : "offline", msg_db_state_name(h.db));
    }
    slot->online = h.online;
    slot->db = h.db;
decide:
    was = a->resend_ok;
    a->resend_ok = health_allows(a);
    if (was != a->resend_ok) {
        if (a->resend_ok) {
            /* resume at the configured rates, not with what piled up meanwhile */
            agent_bucket_drain(&a->replay_bucket, now);
            agent_bucket_drain(&a->resend_bucket, now);
            log_msg(LOG_NOTICE, "agent: resending and replay allowed (a collector has its "
                    "database up)");
        } else {
            log_msg(LOG_WARNING, "agent: resending and replay held: no collector says "
                    "online with database up");
        }
    }
}

static void handle_message(struct agent *a, const struct ev *e, int64_t now)
{
    struct msg_topic t;
    char err[MSG_ERRLEN];
    const char *payload = e->buf + e->topic_len + 1;

    if (msg_topic_parse(e->buf, e->topic_len, &t, err, sizeof(err)) != MSG_OK) {
        return;
    }
    if (t.stream == MSG_STREAM_ACK && strcmp(t.device_id, a->cfg->device_id) == 0) {
        handle_ack(a, payload, e->len, now);
    } else if (t.stream == MSG_STREAM_HEALTH) {
        handle_health(a, &t, payload, e->len, now);
    }
}

/* A refused publish (protocol.md 7.3). PUBACK 0x87 is every refusal in mosquitto 2.0: the
 * device's message rate as well as the reading's content. So a refusal alone never gives a
 * reading up: it is tried again with capped backoff until the collector acknowledges it
 * (stored, or dead: a content refusal that the broker passed on becomes a dead letter and a
 * dead acknowledgement), and only one refused for refuse_give_up_ms since its first refusal,
 * at least refuse_tries times and never acknowledged meanwhile, goes to the rejected list.
 * A rate refusal cannot last that long: the agent paces under the limit and the broker's
 * bucket refills between two tries. */
static void handle_refusal(struct agent *a, struct agent_slot *s, int reason, int64_t now)
{
    char why[128];
    char err[MSG_ERRLEN];
    int64_t wait = a->cfg->refuse_backoff_ms;
    int64_t refused_for;
    int rc;

    a->cnt.refusals++;
    s->refusals++;
    if (s->refusals == 1) {
        s->first_refused_ms = now;
    }
    refused_for = now - s->first_refused_ms;
    for (unsigned i = 1; i < s->refusals && wait < a->cfg->refuse_backoff_max_ms; i++) {
        wait *= 2;
    }
    if (wait > a->cfg->refuse_backoff_max_ms) {
        wait = a->cfg->refuse_backoff_max_ms;
    }
    if (s->refusals < (unsigned)a->cfg->refuse_tries || refused_for < a->cfg->refuse_give_up_ms) {
        if (agent_window_refuse(a->win, s, now + wait)) {
            log_msg(LOG_INFO, "agent: broker refused seq=%" PRIu64 " (reason 0x%02x), try %u "
                    "(refused for %" PRId64 " s); next in %" PRId64 " ms", s->seq,
                    (unsigned)reason, s->refusals, refused_for / 1000, wait);
            return;
        }
        /* the window is full of refused readings: let this one go, still held, and have a
         * backlog pass come back for it after its wait (its count starts again: it is never
         * given up early for want of a slot) */
        if (a->again_seq == 0 || s->seq < a->again_seq) {
            a->again_seq = s->seq;
        }
        if (now + wait < a->again_ms) {
            a->again_ms = now + wait;
        }
        log_msg(LOG_INFO, "agent: broker refused seq=%" PRIu64 " (reason 0x%02x), try %u; "
                "%d refused readings wait already, tried again in %" PRId64 " ms", s->seq,
                (unsigned)reason, s->refusals, REFUSED_MAX, wait);
        a->cnt.let_go++;
        agent_window_remove(a->win, s);
        return;
    }
    snprintf(why, sizeof(why), "broker refused it %u times over %" PRId64 " s (PUBACK reason "
             "0x%02x), never acknowledged", s->refusals, refused_for / 1000, (unsigned)reason);
    pthread_mutex_lock(&a->store_lock);
    rc = agent_store_reject(a->store, s->seq, why, err, sizeof(err));
    pthread_mutex_unlock(&a->store_lock);
    if (rc != MSG_OK && rc != MSG_ERR_INVAL) {
        log_msg(LOG_ERR, "agent: moving seq=%" PRIu64 " to the rejected list: %s", s->seq, err);
        if (!agent_window_refuse(a->win, s, now + wait)) {
            agent_window_remove(a->win, s);
        }
        return;
    }
    log_msg(LOG_WARNING, "agent: reading seq=%" PRIu64 " (%s) rejected for good: %s", s->seq,
            msg_stream_name(s->stream), why);
    a->cnt.rejected++;
    agent_window_remove(a->win, s);
    a->status_dirty = true;
    refresh_stats(a, now, true);
}

static void handle_event(struct agent *a, struct ev *e, int64_t now)
{
    struct agent_slot *s;

    switch (e->type) {
    case EV_CONNECTED:
        if (a->conn_state == CONN_CONNECTING) {
            on_up(a, now);
        }
        break;
    case EV_CONNECT_FAILED:
        if (a->conn_state == CONN_CONNECTING) {
            char why[sizeof(a->uri) + 128];

            snprintf(why, sizeof(why), "connect to %s failed (paho %d, reason 0x%02x)",
                     a->uri, e->code, (unsigned)e->reason);
            schedule_reconnect(a, now, why);
        }
        break;
    case EV_LOST:
        if (a->conn_state == CONN_UP || a->conn_state == CONN_CONNECTING) {
            char why[sizeof(a->uri) + 128];

            agent_window_clear_sent(a->win);
            a->n_health = 0;
            a->resend_ok = false;
            if (e->reason != 0) {
                snprintf(why, sizeof(why), "disconnected by broker %s (reason 0x%02x) after "
                         "%" PRId64 " s", a->uri, (unsigned)e->reason,
                         (now - a->connected_ms) / 1000);
            } else {
                snprintf(why, sizeof(why), "disconnected from broker %s: connection lost "
                         "after %" PRId64 " s", a->uri, (now - a->connected_ms) / 1000);
            }
            schedule_reconnect(a, now, why);
        }
        break;
    case EV_PUB_FAILED:
        s = agent_window_find_token(a->win, e->token);
        if (s == NULL) {
            break;
        }
        handle_refusal(a, s, e->reason, now);   /* on_pub_fail queues refusals only */
        break;
    case EV_MESSAGE:
        handle_message(a, e, now);
        break;
    case EV_DISCONNECTED:
        a->conn_state = CONN_IDLE;
        break;
    }
}

/* ---- the tick: what to send now (engine thread) --------------------------------------- */

struct scan_ctx {
    struct agent *a;
    int64_t now;
    int64_t wall_ms;
    size_t budget;       /* publishes allowed */
    size_t sent;
    uint64_t last_seq;   /* highest (live) or last (backlog) seq seen */
    size_t seen;
    bool stopped;        /* the budget ran out before the rows did */
    bool beyond;         /* backlog: the scan reached a row above the frontier */
    bool backlog;
    bool paced;          /* live: stopped for want of a publish token */
    int rc;
};

/* `replay` of a send of row now (protocol.md 4.1, "History and news"): true when the reading
 * has been held longer than the lateness since it entered the store, whichever path sends it.
 * The store measures the time held by the time since boot when the reading was stored in this
 * boot (a step of the wall clock, such as NTP's first answer after a boot without a real-time
 * clock, does not move it), else by the wall clock if it was synchronised at both ends, else
 * the age is unknown (held across a reboot): msg_history_replay_held decides. So the first
 * send, and a resend or a backlog within the lateness (a lost first copy, a short outage), are
 * news; a backlog held longer is history. */
static bool row_replay(const struct agent_store_row *row)
{
    return msg_history_replay_held(&row->held);
}

/* Live path (scan_newest: descending): fresh, never-sent readings go out at once. */
static bool scan_live(void *ctx, const struct agent_store_row *row)
{
    struct scan_ctx *c = ctx;
    struct agent *a = c->a;
    struct agent_slot *slot;

    c->seen++;
    if (row->seq > c->last_seq) {
        c->last_seq = row->seq;
    }
    if (row->sends > 0 || c->wall_ms - row->stored_ms > a->cfg->live_ms ||
        agent_window_find(a->win, row->seq) != NULL) {
        return true;   /* not live: the backlog path takes it, oldest first */
    }
    if (c->sent >= c->budget) {
        c->stopped = true;   /* a live reading waits for room: look again next time */
        return false;
    }
    if (agent_bucket_wait_ms(&a->publish_bucket, c->now) > 0) {
        c->stopped = true;   /* the pacing (protocol.md 8): once a token is there */
        c->paced = true;
        return false;
    }
    slot = agent_window_add(a->win, row->seq, row->stream);
    if (slot == NULL) {
        c->stopped = true;
        return false;
    }
    c->rc = publish_reading(a, slot, row->payload, row->payload_len, row_replay(row), c->now);
    if (c->rc != MSG_OK) {
        agent_window_remove(a->win, slot);
        c->stopped = true;
        return false;
    }
    agent_bucket_take(&a->publish_bucket, c->now);
    a->cnt.published++;
    a->cnt.live++;
    c->sent++;
    return true;
}

/* Backlog path (scan: ascending): everything held and not in flight. */
static bool scan_backlog(void *ctx, const struct agent_store_row *row)
{
    struct scan_ctx *c = ctx;
    struct agent *a = c->a;
    struct agent_slot *slot;

    if (row->seq > a->frontier) {
        c->stopped = false;
        c->beyond = true;
        return false;   /* newer than the live path has looked at: live first */
    }
    c->seen++;
    if (agent_window_find(a->win, row->seq) != NULL) {
        c->last_seq = row->seq;
        return true;    /* in flight or waiting after a refusal */
    }
    /* the backlog leaves the bucket's reserve to live readings and the status */
    if (c->sent >= c->budget ||
        agent_bucket_wait_above_ms(&a->publish_bucket, c->now, a->publish_reserve) > 0 ||
        !agent_bucket_take(&a->replay_bucket, c->now)) {
        c->stopped = true;
        return false;
    }
    slot = agent_window_add(a->win, row->seq, row->stream);
    if (slot == NULL) {
        c->stopped = true;
        return false;
    }
    if (publish_reading(a, slot, row->payload, row->payload_len, row_replay(row), c->now) !=
        MSG_OK) {
        agent_window_remove(a->win, slot);
        c->rc = MSG_ERR_IO;
        c->stopped = true;
        return false;
    }
    agent_bucket_take_above(&a->publish_bucket, c->now, a->publish_reserve);
    c->last_seq = row->seq;
    a->cnt.published++;
    a->cnt.replayed++;
    c->sent++;
    return true;
}

/* Resend path: one held reading by seq. */
struct one_ctx {
    uint64_t seq;
    bool found;
    struct agent *a;
    struct agent_slot *slot;
    int64_t now;
    int rc;
};

static bool scan_one(void *ctx, const struct agent_store_row *row)
{
    struct one_ctx *c = ctx;

    if (row->seq == c->seq) {
        c->found = true;
        c->rc = publish_reading(c->a, c->slot, row->payload, row->payload_len, row_replay(row),
                                c->now);
    }
    return false;
}

/* Publishes slot's reading again. Returns false if it is no longer held. */
static bool resend_slot(struct agent *a, struct agent_slot *s, int64_t now)
{
    struct one_ctx c = {.seq = s->seq, .a = a, .slot = s, .now = now, .rc = MSG_OK};
    char err[MSG_ERRLEN];
    int rc;

    pthread_mutex_lock(&a->store_lock);
    rc = agent_store_scan(a->store, s->seq - 1, 1, scan_one, &c, err, sizeof(err));
    pthread_mutex_unlock(&a->store_lock);
    if (rc != MSG_OK) {
        log_msg(LOG_WARNING, "agent: reading seq=%" PRIu64 " for a resend: %s", s->seq, err);
        return true;
    }
    if (!c.found) {
        agent_window_remove(a->win, s);   /* acknowledged or dropped meanwhile */
        return false;
    }
    return c.rc == MSG_OK;
}

static void send_live(struct agent *a, int64_t now, int64_t wall)
{
    struct scan_ctx c = {.a = a, .now = now, .wall_ms = wall, .rc = MSG_OK};
    uint64_t appended = atomic_load(&a->appended);
    size_t room = agent_window_room(a->win);
    size_t paho = paho_room(a);
    char err[MSG_ERRLEN];
    int rc;

    if (room == 0 || paho == 0 ||
        (appended == a->seen_appended && now < a->next_store_poll_ms)) {
        return;
    }
    a->next_store_poll_ms = now + STORE_POLL_MS;
    c.budget = room < paho ? room : paho;
    c.last_seq = a->frontier;
    pthread_mutex_lock(&a->store_lock);
    /* newest first; rows in flight are skipped, so ask for them too */
    rc = agent_store_scan_newest(a->store, a->frontier, room + a->win->n_sent, scan_live, &c,
                                 err, sizeof(err));
    pthread_mutex_unlock(&a->store_lock);
    if (rc != MSG_OK) {
        log_msg(LOG_WARNING, "agent: reading new rows: %s", err);
        return;
    }
    a->seen_appended = appended;
    if (c.paced) {
        a->next_store_poll_ms = now + agent_bucket_wait_ms(&a->publish_bucket, now);
    }
    if (!c.stopped) {
        /* every row above the frontier was sent or is not live (or, beyond what the scan
         * returned, older than those): the backlog path takes what is left, oldest first */
        if (c.last_seq != a->frontier) {
            a->backlog_idle = false;
        }
        a->frontier = c.last_seq;
    }
}

/* While resends are held (no collector with its database up), a reading whose timeout ran out
 * gives its place in the window to new live readings, which go out whatever the health says:
 * it stays in the store, and the backlog scan takes it again once resending is allowed. */
static void evict_expired(struct agent *a, int64_t now)
{
    for (size_t i = 0; i < a->win->n_slots; i++) {
        struct agent_slot *s = &a->win->slots[i];

        if (s->state != AGENT_SLOT_SENT || now < s->due_ms) {
            continue;
        }
        if (s->seq <= a->backlog_cursor) {
            a->backlog_cursor = s->seq - 1;
        }
        a->backlog_idle = false;
        agent_window_remove(a->win, s);
    }
}

static void send_refused(struct agent *a, int64_t now)
{
    for (size_t i = 0; i < a->win->n_slots; i++) {
        struct agent_slot *s = &a->win->slots[i];

        if (s->state != AGENT_SLOT_REFUSED || now < s->due_ms) {
            continue;
        }
        if (paho_room(a) == 0 ||
            agent_bucket_wait_above_ms(&a->publish_bucket, now, a->publish_reserve) > 0 ||
            !agent_window_retry(a->win, s)) {
            return;
        }
        if (resend_slot(a, s, now)) {
            agent_bucket_take_above(&a->publish_bucket, now, a->publish_reserve);
            a->cnt.resent++;
        }
    }
}

static void send_resends(struct agent *a, int64_t now)
{
    for (size_t i = 0; i < a->win->n_slots; i++) {
        struct agent_slot *s = &a->win->slots[i];

        if (s->state != AGENT_SLOT_SENT || now < s->due_ms) {
            continue;
        }
        if (paho_room(a) == 0 ||
            agent_bucket_wait_above_ms(&a->publish_bucket, now, a->publish_reserve) > 0 ||
            !agent_bucket_take(&a->resend_bucket, now)) {
            return;
        }
        if (resend_slot(a, s, now)) {
            agent_bucket_take_above(&a->publish_bucket, now, a->publish_reserve);
            a->cnt.resent++;
            log_msg(LOG_DEBUG, "agent: resent seq=%" PRIu64 " (send %u)", s->seq, s->sends);
        }
    }
}

static void send_backlog(struct agent *a, int64_t now)
{
    struct scan_ctx c = {.a = a, .now = now, .backlog = true, .rc = MSG_OK};
    size_t room = agent_window_room(a->win);
    size_t reserve = (size_t)(a->cfg->window / 4);
    size_t limit;
    char err[MSG_ERRLEN];
    int rc;

    if (a->backlog_idle || room <= reserve ||
        agent_bucket_wait_ms(&a->replay_bucket, now) > 0 ||
        agent_bucket_wait_above_ms(&a->publish_bucket, now, a->publish_reserve) > 0) {
        return;
    }
    c.budget = room - reserve;
    c.last_seq = a->backlog_cursor;
    limit = c.budget + a->win->n_sent + a->win->n_refused;
    pthread_mutex_lock(&a->store_lock);
    rc = agent_store_scan(a->store, a->backlog_cursor, limit, scan_backlog, &c, err,
                          sizeof(err));
    pthread_mutex_unlock(&a->store_lock);
    if (rc != MSG_OK) {
        log_msg(LOG_WARNING, "agent: reading the backlog: %s", err);
        return;
    }
    a->backlog_cursor = c.last_seq;
    if (c.sent > 0 && !a->replaying) {
        a->replaying = true;
        log_msg(LOG_NOTICE, "agent: backlog replay started: %" PRIu64 " readings held, "
                "%lld per second", a->stats.held, a->cfg->replay_rate);
    }
    /* nothing more up to the frontier: the rows ran out before the limit, or the scan reached
     * the live path's rows. Until the frontier moves or the cursor goes back, a scan would
     * find nothing, so next_deadline() arms no backlog wake (issue 9, item 10: it used to
     * look again at once, for as long as the held count was a second old). */
    if (!c.stopped && (c.beyond || c.seen < limit)) {
        a->backlog_idle = true;
    }
    if (!c.stopped && (c.sent == 0 || a->backlog_idle) && a->replaying) {
        a->replaying = false;
        log_msg(LOG_NOTICE, "agent: backlog replay done: %" PRIu64 " readings replayed in "
                "total", a->cnt.replayed);
        /* the replay's page cache and freed heap go back to the system (footprint) */
        pthread_mutex_lock(&a->store_lock);
        agent_store_shrink(a->store);
        pthread_mutex_unlock(&a->store_lock);
        malloc_trim(0);
    }
}

static void maybe_status(struct agent *a, int64_t now)
{
    uint64_t held = a->stats.held;
    uint64_t diff = held > a->status_held ? held - a->status_held : a->status_held - held;
    uint64_t notable = a->status_held / 10 < 10 ? 10 : a->status_held / 10;

    if (a->stats.rejected != a->status_rejected || a->stats.dropped != a->status_dropped ||
        diff >= notable || ((held == 0) != (a->status_held == 0))) {
        a->status_dirty = true;
    }
    if (a->status_dirty && now - a->status_ms >= a->cfg->status_min_interval_ms) {
        int64_t wait = agent_bucket_wait_ms(&a->publish_bucket, now);

        if (wait > 0) {
            /* no token: look again when there is one (next_deadline: status_ms + interval) */
            a->status_ms = now - a->cfg->status_min_interval_ms + wait;
            return;
        }
        agent_bucket_take(&a->publish_bucket, now);
        publish_status(a, true, now);
    }
}

static void summary(struct agent *a)
{
    uint64_t dropped_events;

    pthread_mutex_lock(&a->ring.lock);
    dropped_events = a->ring.dropped;
    pthread_mutex_unlock(&a->ring.lock);
    log_msg(LOG_INFO, "agent: summary: held=%" PRIu64 " emitted=%" PRIu64 " invalid=%" PRIu64
            " published=%" PRIu64 " live=%" PRIu64 " replayed=%" PRIu64 " resent=%" PRIu64
            " acked=%" PRIu64 " dead=%" PRIu64 " refusals=%" PRIu64 " rejected=%" PRIu64
            " dropped=%" PRIu64 " inflight=%zu refused_waiting=%zu let_go=%" PRIu64
            " rto_ms=%" PRId64 " connected=%s health=%s"
            " lost_events=%" PRIu64 " wakeups=%" PRIu64,
            a->stats.held, (uint64_t)atomic_load(&a->emitted),
            (uint64_t)atomic_load(&a->invalid), a->cnt.published, a->cnt.live,
            a->cnt.replayed, a->cnt.resent, a->cnt.acked, a->cnt.dead, a->cnt.refusals,
            a->stats.rejected, a->stats.dropped, a->win->n_sent, a->win->n_refused, a->cnt.let_go,
            agent_rto_timeout(&a->rto, 1),
            a->conn_state == CONN_UP ? "yes" : "no", a->resend_ok ? "ok" : "held",
            dropped_events, a->wakeups);
    /* free heap pages left in the middle of glibc's arenas (paho's threads, bursts) go back */
    malloc_trim(0);
}

static int tick(struct agent *a, int64_t now)
{
    struct agent_clock_now clk;
    char err[MSG_ERRLEN];

    if (a->conn_state == CONN_IDLE && now >= a->next_connect_ms) {
        start_connect(a, now);
    }
    if (refresh_stats(a, now, false) != MSG_OK) {
        return MSG_ERR_DB;
    }
    if (a->conn_state == CONN_UP) {
        agent_clock_read(AGENT_CLOCK_SYNCED, &clk);
        if (!a->resend_ok) {
            evict_expired(a, now);
        }
        send_live(a, now, clk.wall_ms);
        if (a->resend_ok && now >= a->again_ms) {
            /* refused readings let go when the window was full of refusals: the backlog
             * pass goes back for them (and sends only what is neither acknowledged nor in
             * flight) */
            if (a->again_seq - 1 < a->backlog_cursor) {
                a->backlog_cursor = a->again_seq - 1;
            }
            a->backlog_idle = false;
            a->again_ms = INT64_MAX;
            a->again_seq = 0;
        }
        if (a->resend_ok) {
            send_refused(a, now);
            send_resends(a, now);
            send_backlog(a, now);
        }
        a->stations_next_ms = stations_check(a, now);
        maybe_status(a, now);
    }
    if (a->n_mark > 0 && (now >= a->mark_due_ms || a->n_mark >= MARK_MAX / 2 ||
                          a->conn_state != CONN_UP)) {
        mark_flush(a);
    }
    if (now >= a->next_expire_ms) {
        a->next_expire_ms = now + EXPIRE_EVERY_MS;
        if (a->cfg->store_max_age_ms > 0) {
            agent_clock_read(AGENT_CLOCK_SYNCED, &clk);
            pthread_mutex_lock(&a->store_lock);
            if (agent_store_expire(a->store, clk.wall_ms, err, sizeof(err)) != MSG_OK) {
                log_msg(LOG_WARNING, "agent: expiring old readings: %s", err);
            }
            pthread_mutex_unlock(&a->store_lock);
        }
    }
    if (now >= a->next_summary_ms) {
        a->next_summary_ms = now + a->cfg->summary_interval_ms;
        summary(a);
    }
    return MSG_OK;
}

/* When the engine must look again without an event. */
static int64_t next_deadline(struct agent *a, int64_t now)
{
    int64_t next = a->next_summary_ms;

#define EARLIER(t)       \
    do {                 \
        if ((t) < next) { \
            next = (t);  \
        }                \
    } while (0)

    EARLIER(a->next_expire_ms);
    if (a->n_mark >= MARK_MAX / 2) {
        EARLIER(now);
    } else if (a->n_mark > 0) {
        EARLIER(a->mark_due_ms);
    }
    if (a->conn_state == CONN_IDLE) {
        EARLIER(a->next_connect_ms);
    }
    if (a->conn_state == CONN_UP) {
        if (agent_window_room(a->win) > 0 && paho_room(a) > 0) {
            EARLIER(a->next_store_poll_ms);   /* else an ack or a PUBACK wakes the engine */
        }
        if (a->status_dirty) {
            EARLIER(a->status_ms + a->cfg->status_min_interval_ms);
        }
        EARLIER(a->stats_ms + STATS_EVERY_MS);
        EARLIER(a->stations_next_ms);
        if (a->resend_ok && paho_room(a) > 0) {
            /* with paho full, its next PUBACK wakes the engine (on_delivered); everything
             * below waits for a publish token above the reserve too, or the loop would spin */
            int64_t pace_at = now + agent_bucket_wait_above_ms(&a->publish_bucket, now,
                                                               a->publish_reserve);
            int64_t resend_at = now + agent_bucket_wait_ms(&a->resend_bucket, now);
            int64_t replay_at = now + agent_bucket_wait_ms(&a->replay_bucket, now);

            if (resend_at < pace_at) {
                resend_at = pace_at;
            }
            if (replay_at < pace_at) {
                replay_at = pace_at;
            }
            for (size_t i = 0; i < a->win->n_slots; i++) {
                const struct agent_slot *s = &a->win->slots[i];

                if (s->state == AGENT_SLOT_REFUSED && agent_window_room(a->win) > 0) {
                    /* a full window: an ack makes room and wakes */
                    EARLIER(s->due_ms > pace_at ? s->due_ms : pace_at);
                } else if (s->state == AGENT_SLOT_SENT) {
                    /* a due resend waits for its token too, or the loop would spin */
                    EARLIER(s->due_ms > resend_at ? s->due_ms : resend_at);
                }
            }
            if (!a->backlog_idle && a->stats.held > a->win->n_sent + a->win->n_refused &&
                agent_window_room(a->win) > (size_t)(a->cfg->window / 4)) {
                EARLIER(replay_at);
            }
            EARLIER(a->again_ms);
        }
    }
#undef EARLIER
    return next;
}

/* ---- the loop and the lifecycle ------------------------------------------------------- */

static void drain_events(struct agent *a, int64_t now)
{
    struct ev e;
    uint64_t n;

    if (read(a->wake_fd, &n, sizeof(n)) < 0) {
        /* EAGAIN: nothing was written */
    }
    while (ring_pop(a, &e)) {
        handle_event(a, &e, now);
        free(e.buf);
    }
}

static void shut_down(struct agent *a)
{
    int64_t deadline;

    if (a->src_started) {
        uint64_t one = 1;

        atomic_store(&a->src_stop, true);
        if (write(a->src_stop_fd, &one, sizeof(one)) < 0) {
            /* the thread also checks the flag */
        }
        pthread_join(a->src_thread, NULL);
        a->src_started = false;
    }
    mark_flush(a);
    if (a->conn_state == CONN_UP) {
        MQTTAsync_disconnectOptions dopts = MQTTAsync_disconnectOptions_initializer5;

        /* 0x04: the broker publishes our will, the retained offline status (protocol.md 5) */
        dopts.reasonCode = MQTTREASONCODE_DISCONNECT_WITH_WILL_MESSAGE;
        dopts.timeout = DISCONNECT_WAIT_MS;
        dopts.onSuccess5 = on_disconnected;
        dopts.onFailure5 = on_disconnect_fail;
        dopts.context = a;
        if (MQTTAsync_disconnect(a->client, &dopts) == MQTTASYNC_SUCCESS) {
            a->conn_state = CONN_CLOSING;
            deadline = agent_clock_mono_ms() + DISCONNECT_WAIT_MS + 500;
            while (a->conn_state == CONN_CLOSING && agent_clock_mono_ms() < deadline) {
                struct pollfd p = {.fd = a->wake_fd, .events = POLLIN};

                if (poll(&p, 1, 100) >= 0) {
                    drain_events(a, agent_clock_mono_ms());
                }
            }
        }
        log_msg(LOG_NOTICE, "agent: disconnected from broker %s (offline status left by the "
                "will)", a->uri);
    }
}

int agent_run(struct agent *a, const volatile sig_atomic_t *stop, char *err, size_t errlen)
{
    sigset_t waitmask;
    int rc = MSG_OK;

    sigemptyset(&waitmask);
    if (a->n_runs > 0) {
        if (pthread_create(&a->src_thread, NULL, source_main, a) != 0) {
            snprintf(err, errlen, "agent: cannot start the source thread");
            return MSG_ERR_NOMEM;
        }
        a->src_started = true;
    }
    a->next_connect_ms = agent_clock_mono_ms();
    a->next_summary_ms = agent_clock_mono_ms() + a->cfg->summary_interval_ms;
    while (!*stop) {
        int64_t now = agent_clock_mono_ms();
        int64_t next;
        struct timespec ts;
        struct pollfd p = {.fd = a->wake_fd, .events = POLLIN};

        a->wakeups++;
        drain_events(a, now);
        rc = tick(a, now);
        if (rc != MSG_OK) {
            snprintf(err, errlen, "agent: the store failed; stopping");
            break;
        }
        next = next_deadline(a, now);
        now = agent_clock_mono_ms();
        if (next < now) {
            next = now;
        }
        if (next - now > 60000) {
            next = now + 60000;
        }
        ts.tv_sec = (time_t)((next - now) / 1000);
        ts.tv_nsec = (long)((next - now) % 1000) * 1000000L;
        if (ppoll(&p, 1, &ts, &waitmask) < 0 && errno != EINTR) {
            snprintf(err, errlen, "agent: ppoll: %s", strerror(errno));
            rc = MSG_ERR_IO;
            break;
        }
    }
    shut_down(a);
    if (rc == MSG_OK) {
        refresh_stats(a, agent_clock_mono_ms(), true);
        summary(a);
        log_msg(LOG_NOTICE, "agent: stopped: held=%" PRIu64 " last_seq=%" PRIu64, a->stats.held,
                a->stats.last_seq);
    }
    return rc;
}

int agent_new(const struct agent_config *cfg, struct agent **out, char *err, size_t errlen)
{
    MQTTAsync_createOptions opts = MQTTAsync_createOptions_initializer5;
    char ids[MSG_STATUS_STATIONS_MAX][MSG_ID_MAX + 1];
    struct agent_store_options sopt;
    struct agent *a = NULL;
    int rc = MSG_OK;

    *out = NULL;
    a = calloc(1, sizeof(*a));
    if (a == NULL) {
        snprintf(err, errlen, "agent: out of memory");
        return MSG_ERR_NOMEM;
    }
    a->cfg = cfg;
    a->wake_fd = -1;
    a->src_stop_fd = -1;
    pthread_mutex_init(&a->store_lock, NULL);
    pthread_mutex_init(&a->ring.lock, NULL);
    if (getrandom(&a->rng, sizeof(a->rng), 0) != (ssize_t)sizeof(a->rng)) {
        a->rng = (uint64_t)agent_clock_mono_ms() ^ (uint64_t)getpid() << 32;
    }
    a->src_rng = agent_rand_next(&a->rng);
    a->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    a->src_stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (a->wake_fd < 0 || a->src_stop_fd < 0) {
        snprintf(err, errlen, "agent: eventfd: %s", strerror(errno));
        rc = MSG_ERR_IO;
        goto fail;
    }
    /* the configured clock_sync (not the kernel's answer) says whether the clock is set: it
     * marks the store's own readings and judges a backlog held across a reboot (history) */
    memset(&sopt, 0, sizeof(sopt));
    agent_config_store_limits(cfg, &sopt.limits);
    sopt.count_boot = true;
    sopt.clock_sync = cfg->clock_sync;
    rc = agent_store_open_opts(cfg->store_path, &sopt, &a->store, err, errlen);
    if (rc != MSG_OK) {
        goto fail;
    }
    memcpy(a->store_id, agent_store_id(a->store), sizeof(a->store_id) - 1);
    a->store_id[MSG_STORE_ID_LEN] = '\0';
    rc = agent_store_stats(a->store, &a->stats, err, errlen);
    if (rc != MSG_OK) {
        goto fail;
    }
    a->boot = a->stats.boot;
    a->logged_dropped = a->stats.dropped;
    a->status_held = a->stats.held;
    a->frontier = a->stats.last_seq;
    a->stations_next_ms = INT64_MAX;
    /* checked by agent_config_load already */
    if (agent_config_stations(cfg, ids, &a->n_stations, err, errlen) != MSG_OK) {
        rc = MSG_ERR_CONFIG;
        goto fail;
    }
    for (size_t i = 0; i < a->n_stations; i++) {
        memcpy(a->stations[i].id, ids[i], sizeof(a->stations[i].id));
        a->stations[i].last_ms = -1;   /* offline until its first reading */
    }
    a->ack = msg_ack_new(MSG_ACK_RANGES_MAX);
    a->win = agent_window_new((size_t)cfg->window, REFUSED_MAX);
    if (a->ack == NULL || a->win == NULL) {
        snprintf(err, errlen, "agent: out of memory");
        rc = MSG_ERR_NOMEM;
        goto fail;
    }
    agent_rto_init(&a->rto, cfg->ack_timeout_initial_ms, cfg->ack_timeout_min_ms,
                   cfg->ack_timeout_max_ms);
    agent_backoff_init(&a->reconnect, cfg->reconnect_min_ms, cfg->reconnect_max_ms,
                       cfg->reconnect_jitter == AGENT_JITTER_DECORRELATED ?
                           AGENT_BACKOFF_DECORRELATED : AGENT_BACKOFF_FULL);
    agent_config_pacing(cfg, &a->pacing);
    agent_bucket_init(&a->publish_bucket, a->pacing.rate, a->pacing.burst,
                      agent_clock_mono_ms());
    a->publish_reserve = floor(a->pacing.burst / 4.0);
    a->again_ms = INT64_MAX;
    agent_bucket_init(&a->replay_bucket, (double)cfg->replay_rate,
                      (double)cfg->replay_rate / 10.0 + 1.0, agent_clock_mono_ms());
    agent_bucket_init(&a->resend_bucket, (double)cfg->resend_rate,
                      (double)cfg->resend_rate / 10.0 + 1.0, agent_clock_mono_ms());
    for (int s = 0; s < MSG_STREAM_COUNT; s++) {
        if (msg_stream_is_reading((enum msg_stream)s) || s == MSG_STREAM_STATUS) {
            if (msg_topic_format(a->topics[s], sizeof(a->topics[s]), (enum msg_stream)s,
                                 cfg->device_id) != MSG_OK) {
                snprintf(err, errlen, "agent: no topic for device '%s'", cfg->device_id);
                rc = MSG_ERR_INVAL;
                goto fail;
            }
        }
    }
    snprintf(a->ack_topic, sizeof(a->ack_topic), "%s%s/ack", MSG_TOPIC_PREFIX, cfg->device_id);
    snprintf(a->health_filter, sizeof(a->health_filter), "%s_sys/health/+", MSG_TOPIC_PREFIX);
    if (cfg->mqtt_username[0] != '\0') {
        snprintf(a->username, sizeof(a->username), "%s", cfg->mqtt_username);
    } else if (cfg->mqtt_password[0] != '\0') {
        snprintf(a->username, sizeof(a->username), "%s", cfg->device_id);
    }
    snprintf(a->uri, sizeof(a->uri), "%s://%s:%lld", cfg->tls ? "ssl" : "tcp", cfg->mqtt_host,
             cfg->mqtt_port);
    /* no offline buffer: the store is the truth. paho also counts publishes queued while
     * connected (waiting for the broker's receive maximum) against maxBufferedMessages: room
     * for the whole window and a few status messages. */
    opts.sendWhileDisconnected = 0;
    opts.maxBufferedMessages = (int)cfg->window + 16;
    rc = MQTTAsync_createWithOptions(&a->client, a->uri, cfg->device_id,
                                     MQTTCLIENT_PERSISTENCE_NONE, NULL, &opts);
    if (rc != MQTTASYNC_SUCCESS) {
        snprintf(err, errlen, "agent: MQTT client for %s: paho %d", a->uri, rc);
        a->client = NULL;
        rc = MSG_ERR_INVAL;
        goto fail;
    }
    rc = MQTTAsync_setCallbacks(a->client, a, on_lost, on_message, on_delivered);
    if (rc == MQTTASYNC_SUCCESS) {
        rc = MQTTAsync_setDisconnected(a->client, a, on_server_disconnect);
    }
    if (rc != MQTTASYNC_SUCCESS) {
        snprintf(err, errlen, "agent: MQTT callbacks: paho %d", rc);
        rc = MSG_ERR_INVAL;
        goto fail;
    }
    a->emit.fn = on_emit;
    a->emit.ctx = a;
    a->emit.device_id = cfg->device_id;
    for (size_t i = 0; i < cfg->n_sources; i++) {
        struct source_run *r = &a->runs[a->n_runs++];

        r->cs = &cfg->sources[i];
        r->wait.fd = -1;
        r->wait.next_ms = INT64_MAX;
        agent_backoff_init(&r->backoff, cfg->source_backoff_min_ms, cfg->source_backoff_max_ms,
                           AGENT_BACKOFF_FULL);
    }
    log_msg(LOG_NOTICE, "agent: %s for device %s, store %s (%s): held=%" PRIu64
            " last_seq=%" PRIu64 " boot=%" PRIu64 ", %zu sources", AGENT_NAME, cfg->device_id,
            cfg->store_path, a->store_id, a->stats.held, a->stats.last_seq, a->boot, a->n_runs);
    log_msg(LOG_NOTICE, "agent: publishing at most %.3g/s burst %.0f (device_kind %s: the "
            "broker's limit %.3g/s burst %.0f, protocol.md 8); replay at most %lld/s, resends "
            "%lld/s", a->pacing.rate, a->pacing.burst, a->pacing.kind, a->pacing.limit_rate,
            a->pacing.limit_burst, cfg->replay_rate, cfg->resend_rate);
    *out = a;
    return MSG_OK;
fail:
    agent_free(a);
    return rc;
}

void agent_free(struct agent *a)
{
    struct ev e;

    if (a == NULL) {
        return;
    }
    if (a->client != NULL) {
        MQTTAsync_destroy(&a->client);
    }
    while (ring_pop(a, &e)) {
        free(e.buf);
    }
    agent_store_close(a->store);
    agent_window_free(a->win);
    msg_ack_free(a->ack);
    if (a->wake_fd >= 0) {
        close(a->wake_fd);
    }
    if (a->src_stop_fd >= 0) {
        close(a->src_stop_fd);
    }
    pthread_mutex_destroy(&a->store_lock);
    pthread_mutex_destroy(&a->ring.lock);
    free(a);
}
