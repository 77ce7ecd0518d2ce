/* agent_int.h -- the engine's private header: struct agent, who owns which of its fields, and
 * the functions the engine's files call across each other.
 *
 * Only the engine's own files include it: agent.c (the loop and the lifecycle), agent_ring.c
 * (the event ring and paho's callbacks, which only queue), agent_intake.c (the source thread,
 * emit and the stations' health), agent_send.c (publishing and the tick: what to send now) and
 * agent_conn.c (the connection and what comes back over it: acknowledgements, health,
 * refusals). Everything else, main.c and the tests, sees agent.h only.
 *
 * Threads, and what each may touch:
 * - the engine thread (main's: agent_run and all it calls) owns every field not named below,
 *   without a lock;
 * - the source thread (agent_intake_main, from agent_run until shut_down joins it) owns runs[]
 *   and src_rng; it reads src_stop and src_stop_fd;
 * - emit (agent_intake_emit) runs on any source thread, the source thread or a source's own (the
 *   Frigate source's client library): it reads what agent_new set (cfg, store_id, boot), takes
 *   store_lock for the store and the stations, counts in the atomics emitted, invalid and
 *   appended, and wakes the engine through wake_fd;
 * - paho's threads run the agent_ring_on_* callbacks: they touch the ring (under its lock),
 *   the atomic pubacks and wake_fd, nothing else.
 *
 * Locks: two, never held together.
 * - store_lock is the one lock of the store: agent_store.h's handle has none of its own. Every
 *   call on a->store between agent_new and agent_free holds it (the engine's scans, marks,
 *   acknowledgements, rejections, statistics and expiry; emit's appends). It also guards the
 *   stations' table, so that emit's append and the station's bookkeeping are one step to the
 *   engine. The engine owns the lock rather than the store because that step spans the store
 *   and the agent: a lock inside the store could not make it one.
 * - ring.lock guards the ring's fields (agent_ring.c).
 *
 * Not for: anything outside the engine; the public interface is agent.h. */
#ifndef PANTAU_AGENT_INT_H
#define PANTAU_AGENT_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <MQTTAsync.h>

#include "agent.h"
#include "agent_config.h"
#include "agent_metrics.h"
#include "agent_source.h"
#include "agent_store.h"
#include "agent_window.h"
#include "msg_ack.h"
#include "msg_backoff.h"
#include "msg_event.h"
#include "msg_health.h"
#include "msg_topic.h"

#define AGENT_RING_EVENTS 1024             /* events between paho's thread and the engine */
#define AGENT_RING_BYTES (4 * 1024 * 1024) /* message payloads held in the ring, at most */
/* refused readings waiting for their next try; more are let go and tried again with a later
 * backlog pass */
#define AGENT_REFUSED_MAX 256
#define AGENT_COLLECTORS_MAX 16 /* collectors whose health we track */
#define AGENT_MARK_MAX 4096     /* publishes recorded with one agent_store_mark_sent */
#define AGENT_STATION_GAPS 4    /* recent gaps between a station's readings, for its silence */

enum agent_ev_type {
    AGENT_EV_CONNECTED,
    AGENT_EV_CONNECT_FAILED,
    AGENT_EV_LOST,
    AGENT_EV_PUB_FAILED,   /* code/reason: refused (reason >= 0x80) or incomplete */
    AGENT_EV_MESSAGE,      /* payload: topic NUL payload */
    AGENT_EV_DISCONNECTED, /* our own disconnect finished */
};

/* One event from paho's threads to the engine. */
struct agent_ev {
    enum agent_ev_type type;
    int token;
    int code;   /* paho's code (failures) */
    int reason; /* MQTT 5 reason code; 0 if none */
    int packet; /* packet type of a failure (PUBACK: a refusal) */
    char *buf;  /* AGENT_EV_MESSAGE: topic, NUL, payload; caller frees with free */
    size_t topic_len;
    size_t len; /* payload bytes */
};

/* paho's threads -> the engine; every field under lock. */
struct agent_ring {
    pthread_mutex_t lock;
    struct agent_ev ev[AGENT_RING_EVENTS];
    size_t head; /* next to take */
    size_t n;
    size_t bytes;
    uint64_t dropped; /* events that did not fit (counted, logged in the summary) */
};

/* A collector's health as its retained message says (engine thread). */
struct agent_health {
    char collector[MSG_ID_MAX + 1];
    bool online;
    enum msg_db_state db;
};

enum agent_conn_state {
    AGENT_CONN_IDLE, /* waiting for next_connect_ms */
    AGENT_CONN_CONNECTING,
    AGENT_CONN_UP,
    AGENT_CONN_CLOSING,
};

/* One configured source as the source thread runs it (the source thread's). */
struct agent_source_run {
    const struct agent_config_source *cs;
    void *state;
    bool open;
    bool dead; /* MSG_ERR_CONFIG from open: never again */
    int64_t next_open_ms;
    struct msg_backoff backoff;
    struct agent_source_wait wait;
};

/* A station behind this gateway: when its last reading came, to tell its health (status
 * `stations`, protocol.md 5). Written by emit (any source thread) and read by the engine,
 * both under store_lock. */
struct agent_station {
    char id[MSG_ID_MAX + 1];
    int64_t last_ms;                  /* CLOCK_MONOTONIC ms of its last reading; -1: none yet */
    int64_t gaps[AGENT_STATION_GAPS]; /* the last gaps of at least STATION_GAP_MIN_MS */
    size_t n_gaps;
    bool reported_online; /* as the engine last saw it (engine thread, under store_lock) */
};

/* The summary's counters (engine thread). */
struct agent_counters {
    uint64_t published; /* first sends */
    uint64_t live;      /* of which by the live path */
    uint64_t replayed;  /* backlog sends */
    uint64_t resent;    /* resends after a timeout */
    uint64_t refusals;  /* PUBACKs >= 0x80 */
    uint64_t rejected;  /* readings given up after refusals for refuse_give_up_ms (this run) */
    uint64_t let_go;    /* refused readings let go to a later backlog pass (table full) */
    uint64_t acked;     /* readings deleted on acknowledgement (this run) */
    uint64_t restored;  /* kept readings taken back after a restore of the database (this run) */
    uint64_t dead;      /* of which the collector stored as dead letters */
    uint64_t emitted;   /* readings the sources handed in */
    uint64_t invalid;   /* readings the validator refused */
    uint64_t connects;
};

struct agent {
    const struct agent_config *cfg; /* borrowed from main */

    /* the store, shared with the source threads: every call on it holds store_lock (above);
     * store_id and boot are set by agent_new and only read after */
    pthread_mutex_t store_lock;
    struct agent_store *store;
    char store_id[MSG_STORE_ID_LEN + 1];
    uint64_t boot;

    /* wakes the engine: emit and paho's callbacks write to it */
    int wake_fd;
    struct agent_ring ring;
    atomic_uint_fast64_t appended; /* readings appended by emit, in total */
    atomic_uint_fast64_t pubacks;  /* PUBACKs (any reason code), paho's thread */

    /* sources (their thread owns runs[]; src_thread and src_started: the engine thread) */
    pthread_t src_thread;
    bool src_started;
    int src_stop_fd; /* eventfd: the source thread stops */
    atomic_bool src_stop;
    uint64_t src_rng; /* the source thread's jitter (set before) */
    struct agent_emit emit;
    size_t n_runs;
    struct agent_source_run runs[AGENT_SOURCES_MAX];

    /* MQTT (engine thread) */
    MQTTAsync client;
    char uri[AGENT_HOST_MAX + 32];
    char topics[MSG_STREAM_COUNT][MSG_TOPIC_MAX + 1];
    char ack_topic[MSG_TOPIC_MAX + 1];
    char health_filter[MSG_TOPIC_MAX + 1];
    char restore_topic[MSG_TOPIC_MAX + 1]; /* protocol.md 6.3 */
    char will_buf[1024];
    size_t will_len;
    char username[MSG_ID_MAX + 1];
    enum agent_conn_state conn_state;
    uint64_t conn;
    int64_t next_connect_ms;
    int64_t connected_ms;
    struct msg_backoff reconnect;
    uint64_t rng;
    uint64_t handed;       /* QoS 1 publishes handed to paho on this connection */
    uint64_t pubacks_base; /* a->pubacks when this connection came up */

    /* what is in flight (engine thread) */
    struct agent_window *win;
    struct agent_rto rto;
    struct agent_backlog backlog; /* the backlog's readings in flight, by the round trip */
    struct agent_pacing pacing;   /* every publish: under the broker's limit */
    struct agent_bucket publish_bucket;
    double publish_reserve; /* tokens the backlog, resends and retries leave to live
                             * readings and the status */
    struct agent_bucket replay_bucket;
    struct agent_bucket resend_bucket;
    uint64_t again_seq;      /* refused readings let go (window full of refusals): the lowest */
    int64_t again_ms;        /* when the backlog pass goes back for them (INT64_MAX: none) */
    uint64_t frontier;       /* highest seq the live path has looked at */
    uint64_t backlog_cursor; /* the backlog scan goes on after this seq */
    bool backlog_idle;       /* the last backlog scan found nothing more to send up to the
                              * frontier: no backlog wake until the frontier moves or the
                              * cursor goes back (the held count alone cannot tell) */
    bool replaying;          /* a backlog replay is under way (for the log) */
    uint64_t seen_appended;  /* a->appended when the live path last looked */
    int64_t next_store_poll_ms;
    uint64_t mark[AGENT_MARK_MAX]; /* publishes not yet recorded in the store */
    size_t n_mark;
    int64_t mark_due_ms;
    char pubbuf[MSG_PAYLOAD_MAX + 16];
    struct msg_ack *ack;

    /* stations (under store_lock) */
    size_t n_stations;
    struct agent_station stations[MSG_STATUS_STATIONS_MAX];
    bool stations_full_logged;
    int64_t stations_next_ms; /* when a station may go silent next (engine thread) */

    /* health (engine thread) */
    size_t n_health;
    struct agent_health health[AGENT_COLLECTORS_MAX];
    bool resend_ok;

    /* status and counters (engine thread; emitted and invalid: emit's atomics) */
    struct agent_store_stats stats;
    int64_t stats_ms;
    bool status_dirty;
    int64_t status_ms;
    uint64_t status_held;
    uint64_t status_rejected;
    uint64_t status_dropped;
    uint64_t logged_dropped;
    int64_t next_summary_ms;
    int64_t next_metrics_ms; /* when metrics_textfile is written next */
    bool metrics_failing;    /* the last write failed (logged once until one succeeds) */
    double start_wall_s;     /* when agent_run started, Unix seconds (the metrics) */
    int64_t next_expire_ms;
    struct agent_counters cnt;
    uint64_t wakeups; /* rounds of the engine's loop (the summary's `wakeups`) */
    atomic_uint_fast64_t emitted;
    atomic_uint_fast64_t invalid;
};

/* ---- agent_ring.c: the event ring and paho's callbacks (any thread) ---- */

/* Wakes the engine's loop. Any thread. */
void agent_ring_wake(struct agent *a);
/* Takes the oldest event into *out (out->buf: caller frees with free). Returns false if the
 * ring is empty. Engine thread. */
bool agent_ring_pop(struct agent *a, struct agent_ev *out);
/* Events that did not fit, in total. Any thread. */
uint64_t agent_ring_dropped(struct agent *a);
/* paho's callbacks, context a: each only queues an event (or counts) and wakes the engine. */
void agent_ring_on_connect_ok(void *ctx, MQTTAsync_successData5 *d);
void agent_ring_on_connect_fail(void *ctx, MQTTAsync_failureData5 *d);
void agent_ring_on_lost(void *ctx, char *cause);
void agent_ring_on_server_disconnect(void *ctx, MQTTProperties *props, enum MQTTReasonCodes reason);
void agent_ring_on_pub_fail(void *ctx, MQTTAsync_failureData5 *d);
void agent_ring_on_disconnected(void *ctx, MQTTAsync_successData5 *d);
void agent_ring_on_disconnect_fail(void *ctx, MQTTAsync_failureData5 *d);
void agent_ring_on_delivered(void *ctx, MQTTAsync_token token);
int agent_ring_on_message(void *ctx, char *topic, int topic_len, MQTTAsync_message *m);

/* ---- agent_intake.c: the source thread, emit, the stations' health ---- */

/* The source thread's body (pthread_create's start routine; arg: the agent). */
void *agent_intake_main(void *arg);
/* The agent_emit function the sources call (agent_source.h), ctx the agent. Any source thread. */
int agent_intake_emit(void *ctx, const struct msg_event *in, char *err, size_t errlen);
/* Marks the status dirty when a station's health changed; returns when the next one may change
 * (INT64_MAX: none). Engine thread; takes store_lock. */
int64_t agent_intake_stations_check(struct agent *a, int64_t now);
/* Fills st's stations with each one's health at now and records it as reported. Engine
 * thread; takes store_lock. */
void agent_intake_stations_status(struct agent *a, struct msg_status *st, int64_t now);

/* ---- agent_send.c: publishing and the tick (engine thread) ---- */

/* Records the publishes made since the last flush in the store. */
void agent_send_mark_flush(struct agent *a);
/* Reads the store's statistics into a->stats if they are older than a second, or at once with
 * force. Returns MSG_OK or the store's code (logged). */
int agent_send_refresh_stats(struct agent *a, int64_t now, bool force);
/* Publishes the retained status (online or offline). Returns MSG_OK or MSG_ERR_IO. */
int agent_send_status(struct agent *a, bool online, int64_t now);
/* The summary line of counters (INFO). */
void agent_send_summary(struct agent *a);
/* Writes metrics_textfile (agent_metrics.h) from the counters and the store's statistics as
 * they are; a failure is logged (once until a write succeeds), never fatal. */
void agent_send_metrics(struct agent *a);
/* Everything due at now but the connection (agent_conn_start, just before): send, status,
 * flush, expiry, summary. Returns MSG_OK or
 * MSG_ERR_DB (the store failed: the agent stops). */
int agent_send_tick(struct agent *a, int64_t now);
/* When the engine must look again without an event. */
int64_t agent_send_next_deadline(struct agent *a, int64_t now);

/* ---- agent_conn.c: the connection and what comes back over it (engine thread) ---- */

/* Starts a connection attempt (or schedules the next on failure). */
void agent_conn_start(struct agent *a, int64_t now);
/* Acts on one event from the ring; borrows e (the caller frees e->buf). */
void agent_conn_handle_event(struct agent *a, struct agent_ev *e, int64_t now);

#endif
