/* collector.c -- the collector's wiring: see collector.h for the threads and what each owns. */
#include "collector.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <mosquitto.h>
#include <openssl/evp.h>

#include "ackset.h"
#include "deadkey.h"
#include "intake.h"
#include "log.h"
#include "metrics.h"
#include "mosq_loop.h"
#include "msg_ack.h"
#include "msg_backoff.h"
#include "msg_clock.h"
#include "msg_deadcat.h"
#include "msg_event.h"
#include "msg_health.h"
#include "msg_notify.h"
#include "msg_json.h"
#include "msg_ratetable.h"
#include "msg_rejected.h"
#include "msg_restore.h"
#include "msg_time.h"
#include "msg_topic.h"
#include "pgsink.h"
#include "redrive.h"
#include "registry.h"

#define COLLECTOR_TICK_MS 20 /* the caller's thread wakes this often */
#define COLLECTOR_DRAIN_MS 2000 /* at a stop: the last acks, health and DISCONNECT */
/* the database thread is taken for stuck (and systemd's watchdog no longer fed) after this:
 * longer than its statement_timeout (120 s), connect_timeout and back-off (30 s at most) */
#define COLLECTOR_DB_STUCK_MS (180 * 1000)
/* how often the database thread looks for a redrive request (redrive.h) between batches */
#define COLLECTOR_REDRIVE_POLL_MS 1000
/* devices whose budget of dead letters is tracked (the least recently used is forgotten), so
 * that memory is fixed whatever the number of device ids */
#define COLLECTOR_REJECTED_DEVICES 4096

/* The database as the devices see it through the health topic (protocol.md 6.2). */
enum db_state {
    DB_UNKNOWN,
    DB_UP,
    DB_DOWN,
};

/* What the collector subscribes to, in this order: status each on its own (see on_connect), the
 * rest as the share group. */
static const enum msg_stream subscribed[] = {
    MSG_STREAM_FLOOD,   MSG_STREAM_TRAFFIC, MSG_STREAM_INCIDENT, MSG_STREAM_LARVA,
    MSG_STREAM_DROPPED, MSG_STREAM_STATUS,  MSG_STREAM_REJECTED,
};
#define N_SUBSCRIBED (sizeof(subscribed) / sizeof(subscribed[0]))

struct collector {
    struct collector_config cfg; /* read-only after collector_new */
    struct metrics metrics;      /* atomics: any thread */
    struct mosquitto *mosq;
    struct mosq_loop loop; /* libmosquitto's network thread, ours (mosq_loop.h) */
    struct intake *intake; /* producer: libmosquitto thread; consumer: db thread */
    struct metrics_http *http;
    char health_topic[MSG_TOPIC_MAX + 1];

    /* database thread only */
    struct pgsink *sink;
    struct registry *reg;
    EVP_MD *sha256;
    EVP_MD_CTX *md;
    struct msg_event ev;          /* scratch for ingest(): large, so not on the stack */
    struct msg_rejected rejected; /* scratch for ingest_rejected() */
    struct deadkey_salvage salvage; /* scratch for ingest_dead() */
    struct msg_ratetable *rejected_limit; /* broker-refused dead letters, per device */
    struct msg_bucket_rate rejected_rate;  /* ...at this rate each */
    struct redrive *redrive;          /* the redrive request in hand, if any */
    char canon[MSG_CANONICAL_MAX];
    int64_t registry_loaded_ms; /* monotonic; 0 = never */
    int64_t registry_miss_ms;   /* last reload caused by a miss */
    int64_t registry_tried_ms;  /* last attempt, failed or not */
    bool registry_failing;      /* the last attempt failed (logged once) */
    int64_t partitions_ms;      /* monotonic: next pantau.ensure_partitions() due */
    uint64_t restore_sent;      /* epoch of the restore announcement last published, 0: none */
    int64_t restore_sent_ms;    /* monotonic: when (published again hourly) */
    int64_t redrive_ms;         /* monotonic: next look for a redrive request */

    /* acknowledgements: the db thread fills ack_fill under ack_lock; the caller's thread swaps
     * it with ack_send and drains that without the lock */
    pthread_mutex_t ack_lock;
    struct ackset *ack_fill;
    struct ackset *ack_send;
    char *ack_buf; /* caller's thread only, MSG_ACK_PAYLOAD_MAX + 1 */

    pthread_t db_thread;
    bool db_thread_started;
    atomic_int db_state;           /* enum db_state; written by the db thread */
    atomic_int stopping;           /* set by collector_run: on_message takes nothing more */
    atomic_int db_finished;        /* the db thread has flushed what it could and ended */
    atomic_int intake_full_logged; /* libmosquitto thread: one WARNING per full episode */
    atomic_int restore_again;      /* set on each broker connect: the db thread publishes the
                                    * restore announcement again (a broker without persistence
                                    * lost the retained one) */
    atomic_llong stop_deadline_ms; /* monotonic: the db thread gives up its batch after it */
    atomic_llong db_alive_ms;      /* monotonic: the db thread's last sign of life */
    atomic_llong commits;          /* batches taken by take_done: acks may be waiting */
};

/* ---- MQTT callbacks (libmosquitto's thread) --------------------------------------------- */

static void publish_health(struct collector *c, bool online);

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
                       const mosquitto_property *props)
{
    struct collector *c = obj;
    char subs[N_SUBSCRIBED][160];
    char *list[N_SUBSCRIBED];
    int n = 0;
    int src;

    (void)flags;
    (void)props;
    if (rc != 0) {
        log_msg(LOG_WARNING, "collector: broker %s:%lld refused the connection: %s",
                c->cfg.mqtt_host, c->cfg.mqtt_port, mosquitto_reason_string(rc));
        return;
    }
    /* Clean start: the broker kept nothing, so subscribe again on every connect. Status is
     * not shared: a shared subscription gets no retained messages, and mosquitto drops its
     * messages while no member is connected, so a birth or will sent during a full outage
     * would never arrive. Each collector takes every status message (the retained ones on
     * each connect); the status statements make the copies harmless (history once per
     * (device, conn, state), the current state only moves forward). */
    for (size_t i = 0; i < N_SUBSCRIBED; i++) {
        if (subscribed[i] == MSG_STREAM_STATUS) {
            snprintf(subs[n], sizeof(subs[n]), "%s", msg_topic_filter(subscribed[i]));
        } else {
            snprintf(subs[n], sizeof(subs[n]), "$share/%s/%s", c->cfg.share_group,
                     msg_topic_filter(subscribed[i]));
        }
        list[n] = subs[n];
        n++;
    }
    src = mosquitto_subscribe_multiple(mosq, NULL, n, list, 1, 0, NULL);
    if (src != MOSQ_ERR_SUCCESS) {
        log_msg(LOG_WARNING, "collector: subscribe on %s:%lld: %s", c->cfg.mqtt_host,
                c->cfg.mqtt_port, mosquitto_strerror(src));
        mosquitto_disconnect(mosq); /* the loop reconnects and we try again */
        return;
    }
    atomic_store(&c->metrics.mqtt_connected, 1);
    log_msg(LOG_NOTICE, "collector: connected to broker %s:%lld, subscribed as group %s",
            c->cfg.mqtt_host, c->cfg.mqtt_port, c->cfg.share_group);
    publish_health(c, true);
    atomic_store(&c->restore_again, 1);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc,
                          const mosquitto_property *props)
{
    struct collector *c = obj;

    (void)mosq;
    (void)props;
    if (atomic_exchange(&c->metrics.mqtt_connected, 0) == 1 && !atomic_load(&c->stopping)) {
        log_msg(LOG_WARNING, "collector: lost broker %s:%lld (%s), reconnecting", c->cfg.mqtt_host,
                c->cfg.mqtt_port, mosquitto_strerror(rc));
    }
}

/* Copies the message into the intake ring; libmosquitto frees m when we return. libmosquitto
 * 2.0 has already sent the PUBACK: a message we cannot keep is simply not acknowledged
 * end to end, and its device sends it again (protocol.md 11). */
static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m,
                       const mosquitto_property *props)
{
    struct collector *c = obj;
    int rc;

    (void)mosq;
    (void)props;
    atomic_fetch_add(&c->metrics.messages_received, 1);
    if (atomic_load(&c->stopping)) {
        atomic_fetch_add(&c->metrics.intake_dropped, 1);
        return;
    }
    rc = intake_put(c->intake, m->topic, strlen(m->topic), m->payload,
                    m->payloadlen > 0 ? (size_t)m->payloadlen : 0, msg_clock_wall_us(),
                    (long)c->cfg.intake_wait_ms);
    if (rc != MSG_OK) {
        atomic_fetch_add(&c->metrics.intake_dropped, 1);
        if (atomic_exchange(&c->intake_full_logged, 1) == 0) {
            log_msg(LOG_WARNING,
                    "collector: intake buffer full for %lld ms, leaving messages "
                    "to their devices to resend",
                    c->cfg.intake_wait_ms);
        }
        log_msg(LOG_DEBUG, "collector: intake full, not taken: topic=%.200s", m->topic);
        return;
    }
    if (atomic_load(&c->intake_full_logged) != 0) {
        atomic_store(&c->intake_full_logged, 0);
        log_msg(LOG_NOTICE, "collector: intake buffer has room again");
    }
}

/* ---- health and acknowledgements (any thread: mosquitto_publish is thread-safe) -------- */

static void publish_health(struct collector *c, bool online)
{
    struct msg_health h;
    char payload[512];
    size_t len = 0;
    int state = atomic_load(&c->db_state);
    int rc;

    if (atomic_load(&c->metrics.mqtt_connected) == 0) {
        return; /* on_connect publishes it once connected (and before: no thread yet) */
    }
    memset(&h, 0, sizeof(h));
    snprintf(h.collector, sizeof(h.collector), "%s", c->cfg.collector_id);
    h.online = online;
    h.db = state == DB_UP ? MSG_DB_UP : state == DB_DOWN ? MSG_DB_DOWN : MSG_DB_UNKNOWN;
    h.ts_ms = msg_clock_wall_us() / 1000;
    if (msg_health_encode(&h, payload, sizeof(payload), &len) != MSG_OK) {
        log_msg(LOG_ERR, "collector: cannot encode health for %s", c->cfg.collector_id);
        return;
    }
    rc = mosquitto_publish_v5(c->mosq, NULL, c->health_topic, (int)len, payload, 1, true, NULL);
    if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN) {
        log_msg(LOG_DEBUG, "collector: publish health: %s", mosquitto_strerror(rc));
    }
}

struct ack_ctx {
    struct collector *c;
    int64_t now_ms;
};

static void publish_ack(struct collector *c, const char *device_id, const char *payload, size_t len)
{
    char topic[MSG_TOPIC_MAX + 1];
    int rc;

    if (msg_topic_format(topic, sizeof(topic), MSG_STREAM_ACK, device_id) != MSG_OK) {
        return;
    }
    rc = mosquitto_publish_v5(c->mosq, NULL, topic, (int)len, payload, 0, false, NULL);
    if (rc == MOSQ_ERR_SUCCESS) {
        atomic_fetch_add(&c->metrics.acks_sent, 1);
    } else {
        log_msg(LOG_DEBUG, "collector: publish ack device=%s: %s", device_id,
                mosquitto_strerror(rc));
    }
}

/* Encodes and publishes items[0..n) as one acknowledgement; when that exceeds the protocol's
 * 64 KiB, sends the items one by one, and an item that is too large by itself in two halves
 * of its ranges (each with the dead ranges inside it). */
static void send_items(struct ack_ctx *x, const char *device_id, const struct msg_ack_item *items,
                       size_t n)
{
    struct collector *c = x->c;
    size_t len = 0;
    int rc;

    rc = msg_ack_encode_items(x->now_ms, items, n, c->ack_buf, MSG_ACK_PAYLOAD_MAX + 1, &len);
    if (rc == MSG_OK) {
        publish_ack(c, device_id, c->ack_buf, len);
        return;
    }
    if (rc != MSG_ERR_FULL) {
        log_msg(LOG_ERR, "collector: cannot encode an ack for device=%s: %s", device_id,
                msg_strerror(rc));
        return;
    }
    if (n > 1) {
        for (size_t i = 0; i < n; i++) {
            send_items(x, device_id, &items[i], 1);
        }
        return;
    }
    if (items[0].n_ranges > 1) {
        struct msg_ack_item half[2] = {items[0], items[0]};
        size_t mid = items[0].n_ranges / 2;
        size_t d = 0;

        while (d < items[0].n_dead && items[0].dead[d].last <= items[0].ranges[mid - 1].last) {
            d++;
        }
        half[0].n_ranges = mid;
        half[0].n_dead = d;
        half[0].dead = d > 0 ? items[0].dead : NULL;
        half[1].ranges = items[0].ranges + mid;
        half[1].n_ranges = items[0].n_ranges - mid;
        half[1].n_dead = items[0].n_dead - d;
        half[1].dead = half[1].n_dead > 0 ? items[0].dead + d : NULL;
        send_items(x, device_id, &half[0], 1);
        send_items(x, device_id, &half[1], 1);
    }
}

/* ackset_emit_fn: one acknowledgement's worth of items, published. */
static int emit_ack(void *ctx, const char *device_id, const struct ackset_item *items, size_t n)
{
    struct msg_ack_item mi[ACKSET_STORES_PER_MSG];

    for (size_t i = 0; i < n; i++) {
        mi[i].store_id = items[i].store_id;
        mi[i].ranges = items[i].ranges;
        mi[i].n_ranges = items[i].n_ranges;
        mi[i].dead = items[i].dead;
        mi[i].n_dead = items[i].n_dead;
    }
    send_items(ctx, device_id, mi, n);
    return 0;
}

/* Sends what the db thread has committed since the last call; returns the number of devices
 * acknowledged (0: nothing was waiting). */
static size_t flush_acks(struct collector *c)
{
    struct ack_ctx x = {c, msg_clock_wall_us() / 1000};
    struct ackset *t;
    size_t devices;

    pthread_mutex_lock(&c->ack_lock);
    t = c->ack_fill;
    c->ack_fill = c->ack_send;
    c->ack_send = t;
    pthread_mutex_unlock(&c->ack_lock);
    devices = ackset_devices(c->ack_send);
    if (devices > 0) {
        ackset_drain(c->ack_send, emit_ack, &x);
    }
    return devices;
}

/* ---- the data path (database thread) ---------------------------------------------------- */

/* The category (schema/010) of a validator's verdict. */
static const char *category_of(int rc)
{
    switch (rc) {
    case MSG_ERR_TOPIC:
        return msg_deadcat_name(MSG_DEADCAT_TOPIC);
    case MSG_ERR_JSON:
        return msg_deadcat_name(MSG_DEADCAT_JSON);
    default:
        return msg_deadcat_name(MSG_DEADCAT_SCHEMA);
    }
}

static const char *reason_of(int rc)
{
    switch (rc) {
    case MSG_ERR_TOPIC:
        return "topic";
    case MSG_ERR_JSON:
        return "json";
    case MSG_ERR_SCHEMA:
        return "schema";
    default:
        return "invalid";
    }
}

/* A message that cannot be stored as what it claims to be: a dead letter (stored once however
 * often it comes, deadkey.h), acknowledged when its device, store and seq are known. ev and
 * canonical: a valid reading the registry refused (its envelope and content), else NULL, and
 * what can still be read is salvaged from the raw payload. A reading whose topic names a
 * reading stream of its device and whose envelope is readable also gets a ledger row with
 * outcome dead_letter (collector/README.md). */
static int ingest_dead(struct collector *c, const struct intake_item *it, const char *device_id,
                       const char *reason, const char *category, const char *detail,
                       bool from_broker, const struct msg_event *ev,
                       const unsigned char *canonical, const unsigned char *whole_sha)
{
    struct deadkey_salvage *sv = &c->salvage;
    char device[MSG_ID_MAX + 1];
    char err[MSG_ERRLEN];
    struct pgsink_dead_key key;
    struct msg_topic topic;

    if (device_id != NULL) {
        snprintf(device, sizeof(device), "%s", device_id);
    } else {
        /* the device, for its acknowledgement, even when the rest of the topic is wrong */
        msg_topic_device(it->topic, it->topic_len, device);
    }
    memset(&key, 0, sizeof(key));
    key.device_id = device;
    key.stream = msg_topic_last_level(it->topic);
    key.from_broker = from_broker;
    key.category = category;
    key.whole_sha = whole_sha;
    if (ev != NULL && canonical != NULL) {
        key.store_id = ev->env.store_id;
        key.seq = ev->env.seq;
        key.content = canonical;
        key.env = &ev->env;
    } else {
        int rc = deadkey_salvage(it->payload, it->payload_len, sv);

        key.store_id = sv->store_id;
        key.seq = sv->seq;
        key.content = rc == MSG_OK ? sv->body_sha : NULL;
        if (whole_sha != NULL && it->payload_len_orig > it->payload_len) {
            key.content = whole_sha; /* cut: the whole payload is the content (deadkey.h) */
        }
        key.env = rc == MSG_OK && sv->has_envelope ? &sv->env : NULL;
    }
    if (key.env != NULL &&
        (msg_topic_parse(it->topic, it->topic_len, &topic, err, sizeof(err)) != MSG_OK ||
         !msg_stream_is_reading(topic.stream) || strcmp(topic.device_id, device) != 0)) {
        key.env = NULL; /* not identifiable as a reading of this device: no ledger row */
    }
    log_msg(LOG_DEBUG, "collector: dead letter device=%s store=%s seq=%llu: %s (%s): %s",
            device[0] ? device : "-", key.store_id[0] ? key.store_id : "-",
            (unsigned long long)key.seq, reason, category, detail);
    return pgsink_add_dead(c->sink, it->topic, it->topic_len, it->payload, it->payload_len,
                           it->payload_len_orig, it->recv_us, reason, detail, &key);
}

/* The category of a message the broker refused without naming one (a broker before
 * protocol 1.1, or devacl's refused status payloads): what the validator says of the payload,
 * else the broker's reason. */
static const char *rejected_category(struct collector *c, const struct msg_rejected *rj)
{
    char err[MSG_ERRLEN];
    int rc;

    if (rj->has_category) {
        return msg_rejected_category_name(rj->category);
    }
    if (rj->has_size && rj->size > rj->payload_len) {
        return msg_deadcat_name(MSG_DEADCAT_JSON); /* too large */
    }
    rc = msg_event_parse(rj->topic, strlen(rj->topic), (const char *)rj->payload,
                         rj->payload_len, &c->ev, err, sizeof(err));
    if (rc == MSG_OK) {
        return msg_deadcat_name(strncmp(rj->reason, "station", 7) == 0 ? MSG_DEADCAT_STATION
                                                                        : MSG_DEADCAT_SCHEMA);
    }
    return category_of(rc);
}

/* One token of device's budget of dead letters (borrowed; "-": a message the broker itself got
 * wrong), so that a hostile or broken device cannot fill the dead-letter table even if the
 * broker's own budget were misconfigured. Returns false when the budget is spent. */
static bool rejected_take(struct collector *c, const char *device)
{
    struct msg_ratetable_entry *e = msg_ratetable_get(c->rejected_limit, device);

    return e != NULL && msg_bucket_take(&e->b[0], &c->rejected_rate, msg_clock_mono_ms());
}

/* pantau/v1/_sys/rejected: the broker refused a message for its content and passed it on
 * (protocol.md 7.2). It becomes a dead letter under the device's own topic and bytes, with
 * the size as the device sent it and, for a payload the broker cut, keyed on the whole
 * payload's hash. */
static int ingest_rejected(struct collector *c, const struct intake_item *it)
{
    struct msg_rejected *rj = &c->rejected;
    struct intake_item inner;
    char err[MSG_ERRLEN] = "";
    char detail[MSG_ERRLEN];
    const char *category;
    int rc;

    rc = msg_rejected_parse(it->payload, it->payload_len, rj, err, sizeof(err));
    if (rc == MSG_ERR_NOMEM) {
        return rc;
    }
    /* within the device's budget (a message the broker itself got wrong: the broker's) */
    if (!rejected_take(c, rc == MSG_OK ? rj->device : "-")) {
        atomic_fetch_add(&c->metrics.rejected_limited, 1);
        log_msg(LOG_DEBUG, "collector: refused message over the rate limit, not stored: "
                           "device=%s",
                rc == MSG_OK ? rj->device : "-");
        return MSG_OK;
    }
    if (rc != MSG_OK) {
        return ingest_dead(c, it, NULL, reason_of(rc), category_of(rc), err, true, NULL, NULL,
                           NULL);
    }
    category = rejected_category(c, rj);
    inner = *it;
    inner.topic = rj->topic;
    inner.topic_len = strlen(rj->topic);
    inner.topic_len_orig = inner.topic_len;
    inner.payload = (const char *)rj->payload;
    inner.payload_len = rj->payload_len;
    inner.payload_len_orig =
        rj->has_size && rj->size > rj->payload_len ? (size_t)rj->size : rj->payload_len;
    snprintf(detail, sizeof(detail), "refused by the broker: %.200s", rj->reason);
    return ingest_dead(c, &inner, rj->device, "rejected", category, detail, true, NULL, NULL,
                       rj->has_sha256 ? rj->sha256 : NULL);
}

static int sha256(struct collector *c, const char *text, size_t len,
                  unsigned char out[PGSINK_SHA256_LEN])
{
    unsigned int n = 0;

    if (EVP_DigestInit_ex(c->md, c->sha256, NULL) != 1 || EVP_DigestUpdate(c->md, text, len) != 1 ||
        EVP_DigestFinal_ex(c->md, out, &n) != 1 || n != PGSINK_SHA256_LEN) {
        return MSG_ERR_INVAL;
    }
    return MSG_OK;
}

static void set_db_state(struct collector *c, enum db_state s, const char *why);

#define RESTORE_REPUBLISH_MS (3600 * 1000)
static const char restore_sql[] =
    "SELECT epoch, (extract(epoch FROM target) * 1000)::bigint,"
    " (extract(epoch FROM restored_at) * 1000)::bigint FROM pantau_ops.restore_latest";

/* The restore announcement (protocol.md 6.3): the database's newest restore
 * (pantau_ops.restore_latest, written by scripts/pantau-backup.sh restore), published retained
 * on pantau/v1/_sys/restore when it is new to this process, after each broker connect, and
 * hourly. Devices act once per epoch, so a repeat costs them nothing. Database thread, with the
 * registry's connection; a failure only logs (the next registry load tries again). */
static void announce_restore(struct collector *c, PGconn *conn)
{
    struct msg_restore r;
    char topic[MSG_TOPIC_MAX + 1];
    char payload[512];
    size_t len = 0;
    PGresult *res = NULL;
    int64_t now = msg_clock_mono_ms();
    bool again = atomic_exchange(&c->restore_again, 0) != 0;
    int rc;

    res = PQexec(conn, restore_sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        log_msg(LOG_DEBUG, "collector: reading pantau_ops.restore_latest: %s",
                PQresultErrorMessage(res));
        if (again) {
            atomic_store(&c->restore_again, 1);
        }
        goto out;
    }
    if (PQntuples(res) != 1) {
        goto out; /* never restored */
    }
    memset(&r, 0, sizeof(r));
    r.epoch = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    r.target_ms = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    r.restored_ms = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    r.ts_ms = msg_clock_wall_us() / 1000;
    if (r.epoch == c->restore_sent && !again && now - c->restore_sent_ms < RESTORE_REPUBLISH_MS) {
        goto out;
    }
    if (msg_restore_encode(&r, payload, sizeof(payload), &len) != MSG_OK ||
        msg_topic_format(topic, sizeof(topic), MSG_STREAM_RESTORE, NULL) != MSG_OK) {
        log_msg(LOG_ERR, "collector: cannot encode the restore of epoch %llu",
                (unsigned long long)r.epoch);
        goto out;
    }
    rc = mosquitto_publish_v5(c->mosq, NULL, topic, (int)len, payload, 1, true, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        log_msg(LOG_DEBUG, "collector: publish the restore announcement: %s",
                mosquitto_strerror(rc));
        atomic_store(&c->restore_again, 1);
        goto out;
    }
    if (r.epoch != c->restore_sent) {
        log_msg(LOG_NOTICE,
                "collector: database restored (epoch %llu): announced on %s, devices send "
                "again what they kept",
                (unsigned long long)r.epoch, topic);
    }
    c->restore_sent = r.epoch;
    c->restore_sent_ms = now;
out:
    PQclear(res);
}

/* Reloads the registry when it is due: periodically, or after a miss at most every
 * registry_miss_ms. Returns 1 if it was reloaded, 0 if it was not due, -1 if the reload failed
 * (the database is away). */
static int refresh_registry(struct collector *c, bool miss)
{
    char err[MSG_ERRLEN] = "";
    int64_t now = msg_clock_mono_ms();
    PGconn *conn;

    if (miss) {
        if (c->registry_miss_ms != 0 && now - c->registry_miss_ms < c->cfg.registry_miss_ms) {
            return 0;
        }
        c->registry_miss_ms = now;
    } else if ((c->registry_loaded_ms != 0 &&
                now - c->registry_loaded_ms < c->cfg.registry_refresh_ms) ||
               (c->registry_tried_ms != 0 && now - c->registry_tried_ms < 1000)) {
        return 0;
    }
    c->registry_tried_ms = now;
    conn = pgsink_conn(c->sink, err, sizeof(err));
    if (conn != NULL && registry_load(c->reg, conn, err, sizeof(err)) != MSG_OK) {
        if (PQstatus(conn) != CONNECTION_OK) {
            pgsink_ping(c->sink, err, sizeof(err)); /* closes the broken connection */
            conn = NULL;
        } else if (!c->registry_failing) {
            log_msg(LOG_WARNING, "collector: cannot load the registry: %s", err);
        }
        c->registry_failing = true;
        set_db_state(c, DB_DOWN, err);
        return -1;
    }
    if (conn == NULL) {
        set_db_state(c, DB_DOWN, err);
        return -1;
    }
    c->registry_failing = false;
    announce_restore(c, conn);
    if (c->registry_loaded_ms == 0) {
        log_msg(LOG_NOTICE, "collector: registry loaded: %zu devices", registry_devices(c->reg));
    }
    c->registry_loaded_ms = now;
    atomic_fetch_add(&c->metrics.registry_loads, 1);
    return 1;
}

/* One message: topic -> JSON -> event -> registry -> batch. Borrows it (in the ring until the
 * caller pops it); the batch copies what it keeps. Returns MSG_OK, MSG_ERR_FULL (no room in the
 * batch: flush and call again), MSG_ERR_DB (the registry cannot be read: hold the message, the
 * database is away) or MSG_ERR_NOMEM (try again later). */
static int ingest(struct collector *c, const struct intake_item *it)
{
    struct msg_event *ev = &c->ev;
    unsigned char digest[PGSINK_SHA256_LEN];
    char err[MSG_ERRLEN] = "";
    const char *category = NULL; /* a registry refusal's (static) */
    size_t clen = 0;
    int rc;

    if (!pgsink_has_room(c->sink, it->topic_len, it->payload_len)) {
        return MSG_ERR_FULL;
    }
    if (it->topic_len != it->topic_len_orig) {
        snprintf(err, sizeof(err), "topic of %zu bytes exceeds %d", it->topic_len_orig,
                 MSG_TOPIC_MAX);
        return ingest_dead(c, it, NULL, "topic", msg_deadcat_name(MSG_DEADCAT_TOPIC), err, false,
                           NULL, NULL, NULL);
    }
    if (msg_topic_is_stream(it->topic, it->topic_len, MSG_STREAM_REJECTED)) {
        return ingest_rejected(c, it);
    }
    if (it->payload_len != it->payload_len_orig) {
        snprintf(err, sizeof(err), "payload of %zu bytes exceeds %d", it->payload_len_orig,
                 MSG_PAYLOAD_MAX);
        return ingest_dead(c, it, NULL, "json", msg_deadcat_name(MSG_DEADCAT_JSON), err, false,
                           NULL, NULL, NULL);
    }
    rc = msg_event_parse(it->topic, it->topic_len, it->payload, it->payload_len, ev, err,
                         sizeof(err));
    if (rc == MSG_ERR_NOMEM) {
        return rc;
    }
    if (rc != MSG_OK) {
        return ingest_dead(c, it, NULL, reason_of(rc), category_of(rc), err, false, NULL, NULL,
                           NULL);
    }
    if (!registry_loaded(c->reg) && refresh_registry(c, true) != 1) {
        return MSG_ERR_DB; /* never judge against a registry we could not read */
    }
    rc = registry_check(c->reg, ev, it->recv_us / 1000, &category, err, sizeof(err));
    if (rc == REGISTRY_MISS) {
        int r = refresh_registry(c, true);

        if (r < 0) {
            return MSG_ERR_DB;
        }
        if (r > 0) {
            rc = registry_check(c->reg, ev, it->recv_us / 1000, &category, err, sizeof(err));
        }
    }
    if (ev->stream == MSG_STREAM_STATUS) {
        memset(digest, 0, sizeof(digest));
    } else if (msg_event_canonical(ev, c->canon, sizeof(c->canon), &clen) != MSG_OK ||
               sha256(c, c->canon, clen, digest) != MSG_OK) {
        return ingest_dead(c, it, NULL, "schema", msg_deadcat_name(MSG_DEADCAT_SCHEMA),
                           "no canonical form", false, NULL, NULL, NULL);
    }
    if (rc != REGISTRY_OK) {
        /* a valid reading: its envelope and canonical content go to the ledger (dead_letter) */
        bool reading = ev->stream != MSG_STREAM_STATUS;

        return ingest_dead(c, it, NULL, "registry", category, err, false,
                           reading ? ev : NULL, reading ? digest : NULL, NULL);
    }
    return pgsink_add_event(c->sink, ev, digest, it->topic, it->topic_len, it->payload,
                            it->payload_len, it->payload_len_orig, it->recv_us);
}

/* redrive_check_fn: a dead letter's message judged again by ingest()'s functions, the registry
 * at its receive time; its category as ingest() would name it. */
static int redrive_check(void *ctx, const char *topic, size_t topic_len, const char *payload,
                         size_t payload_len, int64_t recv_us, const struct msg_event **out,
                         unsigned char sha[PGSINK_SHA256_LEN], const char **category, char *err,
                         size_t errlen)
{
    struct collector *c = ctx;
    struct msg_event *ev = &c->ev;
    size_t clen = 0;
    int rc;

    *category = NULL;
    rc = msg_event_parse(topic, topic_len, payload, payload_len, ev, err, errlen);
    if (rc == MSG_ERR_NOMEM) {
        return rc;
    }
    if (rc != MSG_OK) {
        *category = category_of(rc);
        return rc;
    }
    if (ev->stream == MSG_STREAM_STATUS) {
        *category = msg_deadcat_name(MSG_DEADCAT_TOPIC);
        snprintf(err, errlen, "a status message, not a reading");
        return MSG_ERR_SCHEMA;
    }
    rc = registry_check(c->reg, ev, recv_us / 1000, category, err, errlen);
    if (rc != REGISTRY_OK) {
        return MSG_ERR_SCHEMA;
    }
    if (msg_event_canonical(ev, c->canon, sizeof(c->canon), &clen) != MSG_OK ||
        sha256(c, c->canon, clen, sha) != MSG_OK) {
        *category = msg_deadcat_name(MSG_DEADCAT_SCHEMA);
        snprintf(err, errlen, "no canonical form");
        return MSG_ERR_SCHEMA;
    }
    *out = ev;
    return MSG_OK;
}

/* One step of a redrive request (redrive.h) between batches (the batch is empty); the next
 * step comes at once while a request is in hand, else (or after a failure) after
 * COLLECTOR_REDRIVE_POLL_MS. */
static void redrive(struct collector *c)
{
    struct redrive_env e = {c->sink, c->reg, c->cfg.collector_id, redrive_check, c};
    char err[MSG_ERRLEN] = "";

    int rc = redrive_step(c->redrive, &e, err, sizeof(err));

    if (rc != MSG_OK) {
        log_msg(LOG_DEBUG, "collector: redrive: %s", err);
    }
    c->redrive_ms = rc == MSG_OK && redrive_active(c->redrive)
                        ? 0
                        : msg_clock_mono_ms() + COLLECTOR_REDRIVE_POLL_MS;
}

/* pgsink_done_fn: counters, and the seqs a device may forget. ack_lock held. */
static void on_done(void *ctx, const struct pgsink_done *d)
{
    struct collector *c = ctx;
    bool dead = false;

    switch (d->outcome) {
    case PGSINK_NEW:
        atomic_fetch_add(&c->metrics.readings_stored, 1);
        break;
    case PGSINK_DUPLICATE:
        atomic_fetch_add(&c->metrics.readings_duplicate, 1);
        break;
    case PGSINK_CLASH:
        /* a copy of the reading is stored: not dead (protocol.md 6.1) */
        atomic_fetch_add(&c->metrics.readings_clash, 1);
        atomic_fetch_add(&c->metrics.dead_letters, 1);
        break;
    case PGSINK_CLASH_DEAD:
        atomic_fetch_add(&c->metrics.readings_clash, 1);
        atomic_fetch_add(&c->metrics.dead_letters, 1);
        dead = true;
        break;
    case PGSINK_DEAD:
        atomic_fetch_add(&c->metrics.dead_letters, 1);
        dead = true;
        break;
    case PGSINK_STATUS:
        atomic_fetch_add(&c->metrics.status_stored, 1);
        return;
    }
    if (d->has_key && ackset_add(c->ack_fill, d->device_id, d->store_id, d->seq, dead) != MSG_OK) {
        log_msg(LOG_DEBUG, "collector: cannot queue ack device=%s seq=%llu", d->device_id,
                (unsigned long long)d->seq);
    }
}

static void take_done(struct collector *c)
{
    pthread_mutex_lock(&c->ack_lock);
    pgsink_take_done(c->sink, on_done, c);
    pthread_mutex_unlock(&c->ack_lock);
    atomic_fetch_add(&c->commits, 1);
}

static void set_db_state(struct collector *c, enum db_state s, const char *why)
{
    int old = atomic_exchange(&c->db_state, (int)s);

    if (old == (int)s) {
        return;
    }
    atomic_store(&c->metrics.db_up, s == DB_UP ? 1 : 0);
    if (s == DB_UP) {
        log_msg(LOG_NOTICE, "collector: database is up, committing and acknowledging");
    } else {
        log_msg(LOG_WARNING,
                "collector: database is down, holding the batch and not "
                "acknowledging: %s",
                why);
    }
    publish_health(c, true);
}

/* Back-off after a failure: exponential from backoff_min_ms to backoff_max_ms, with equal jitter
 * (half the delay at random, msg_backoff) so that collectors do not retry in step. Sleeps in short
 * steps and returns early when the stop deadline has passed. */
static void back_off(struct collector *c, struct msg_backoff *bo, unsigned *seed)
{
    int64_t delay = msg_backoff_next(bo, (uint64_t)rand_r(seed));
    int64_t until;

    until = msg_clock_mono_ms() + delay;
    while (msg_clock_mono_ms() < until) {
        long long deadline = atomic_load(&c->stop_deadline_ms);

        atomic_store(&c->db_alive_ms, msg_clock_mono_ms());
        if (deadline != 0 && msg_clock_mono_ms() >= deadline) {
            return;
        }
        msg_clock_sleep_ms(20);
    }
}

static void update_depth(struct collector *c)
{
    size_t msgs = 0;
    size_t bytes = 0;

    intake_depth(c->intake, &msgs, &bytes);
    atomic_store(&c->metrics.intake_messages, msgs);
    atomic_store(&c->metrics.intake_bytes, bytes);
}

/* pantau.ensure_partitions() at start and daily (the schema's month partitions ahead; a
 * DEFAULT partition catches any other time, so a failure here only logs). */
static void maintain_partitions(struct collector *c)
{
    char err[MSG_ERRLEN] = "";

    if (pgsink_ensure_partitions(c->sink, err, sizeof(err)) != MSG_OK) {
        log_msg(LOG_WARNING, "collector: %s (retrying in an hour)", err);
        c->partitions_ms = msg_clock_mono_ms() + 3600 * 1000;
        return;
    }
    c->partitions_ms = msg_clock_mono_ms() + 24 * 3600 * 1000;
}

static void *db_main(void *arg)
{
    struct collector *c = arg;
    struct intake_item it;
    char err[MSG_ERRLEN] = "";
    struct msg_backoff bo;
    unsigned seed = (unsigned)msg_clock_wall_us();
    int64_t first_row_ms = 0;

    msg_backoff_init(&bo, c->cfg.backoff_min_ms, c->cfg.backoff_max_ms, MSG_BACKOFF_EQUAL);
    for (;;) {
        bool stopping = atomic_load(&c->stopping) != 0;
        bool full = false;
        bool registry_down = false;
        long long deadline = atomic_load(&c->stop_deadline_ms);

        atomic_store(&c->db_alive_ms, msg_clock_mono_ms());
        /* 0. a redrive request, between batches (redrive.h) */
        if (!stopping && pgsink_pending(c->sink) == 0 && atomic_load(&c->db_state) == DB_UP &&
            registry_loaded(c->reg) && msg_clock_mono_ms() >= c->redrive_ms) {
            redrive(c);
        }
        /* 1. fill the batch until it is full or its oldest row has waited batch_ms */
        while (pgsink_pending(c->sink) < (size_t)c->cfg.batch_rows) {
            long wait = 100;
            int rc;

            if (pgsink_pending(c->sink) > 0) {
                wait = (long)(first_row_ms + c->cfg.batch_ms - msg_clock_mono_ms());
                if (wait <= 0) {
                    break;
                }
            }
            if (stopping) {
                wait = 0;
            }
            if (!intake_peek(c->intake, &it, wait)) {
                break;
            }
            rc = ingest(c, &it);
            if (rc == MSG_ERR_FULL) {
                full = true;
                break;
            }
            if (rc == MSG_ERR_NOMEM) {
                log_msg(LOG_WARNING, "collector: out of memory parsing a message, retrying");
                msg_clock_sleep_ms(100);
                break;
            }
            if (rc == MSG_ERR_DB) {
                registry_down = true;
                full = true; /* flush what we hold; it fails too if the database is away */
                break;
            }
            if (pgsink_pending(c->sink) == 1) {
                first_row_ms = msg_clock_mono_ms();
            }
            intake_pop(c->intake);
        }
        update_depth(c);
        /* 2. the registry and the partitions, between batches, on the same connection */
        if (!stopping && !registry_down) {
            refresh_registry(c, false);
        }
        if (!stopping && pgsink_pending(c->sink) == 0 && atomic_load(&c->db_state) == DB_UP &&
            msg_clock_mono_ms() >= c->partitions_ms) {
            maintain_partitions(c);
        }
        /* 3. flush */
        if (pgsink_pending(c->sink) > 0 &&
            (full || stopping || pgsink_pending(c->sink) >= (size_t)c->cfg.batch_rows ||
             msg_clock_mono_ms() - first_row_ms >= c->cfg.batch_ms)) {
            int rc = pgsink_flush(c->sink, err, sizeof(err));

            take_done(c); /* a split batch may have committed in parts */
            if (rc != MSG_OK) {
                atomic_fetch_add(&c->metrics.db_errors, 1);
                set_db_state(c, DB_DOWN, err);
                log_msg(LOG_DEBUG, "collector: flush failed (attempt %u): %s", bo.attempt + 1,
                        err);
                if (stopping && deadline != 0 && msg_clock_mono_ms() >= deadline) {
                    log_msg(LOG_WARNING,
                            "collector: stopping with %zu rows not committed; "
                            "their devices will resend them",
                            pgsink_pending(c->sink));
                    break;
                }
                back_off(c, &bo, &seed);
                continue;
            }
            msg_backoff_reset(&bo);
            set_db_state(c, DB_UP, "");
        } else if (registry_down && pgsink_pending(c->sink) == 0) {
            /* a message waits for the registry, which cannot be read: the database is away */
            if (stopping) {
                log_msg(LOG_WARNING, "collector: stopping without the registry; the devices "
                                     "will resend what is left");
                break;
            }
            atomic_fetch_add(&c->metrics.db_errors, 1);
            set_db_state(c, DB_DOWN, "cannot read the registry");
            back_off(c, &bo, &seed);
            continue;
        } else if (atomic_load(&c->db_state) == DB_UNKNOWN && !stopping) {
            /* idle at start: find out whether the database is there, for the health topic */
            if (pgsink_ping(c->sink, err, sizeof(err)) == MSG_OK) {
                set_db_state(c, DB_UP, "");
            } else {
                set_db_state(c, DB_DOWN, err);
            }
        } else if (atomic_load(&c->db_state) == DB_DOWN && !stopping &&
                   pgsink_pending(c->sink) == 0) {
            /* down and idle: probe with back-off so that health turns up without traffic */
            if (pgsink_ping(c->sink, err, sizeof(err)) == MSG_OK) {
                msg_backoff_reset(&bo);
                set_db_state(c, DB_UP, "");
            } else {
                back_off(c, &bo, &seed);
            }
        }
        if (stopping && pgsink_pending(c->sink) == 0) {
            size_t msgs = 0;
            size_t bytes = 0;

            intake_depth(c->intake, &msgs, &bytes);
            if (msgs == 0) {
                break;
            }
        }
        if (stopping && deadline != 0 && msg_clock_mono_ms() >= deadline) {
            log_msg(LOG_WARNING,
                    "collector: stop timeout, %zu rows not committed; their "
                    "devices will resend them",
                    pgsink_pending(c->sink));
            break;
        }
    }
    if (redrive_active(c->redrive)) {
        struct redrive_env e = {c->sink, c->reg, c->cfg.collector_id, redrive_check, c};

        redrive_give_back(c->redrive, &e); /* another collector, or this one again, goes on */
    }
    atomic_store(&c->db_finished, 1);
    return NULL;
}

/* ---- life cycle -------------------------------------------------------------------------- */

struct collector *collector_new(const struct collector_config *cfg, char *err, size_t errlen)
{
    struct collector *c = NULL;
    struct pgsink_limits lim;

    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    memcpy(&c->cfg, cfg, sizeof(c->cfg));
    pthread_mutex_init(&c->ack_lock, NULL);
    if (msg_topic_format(c->health_topic, sizeof(c->health_topic), MSG_STREAM_HEALTH,
                         cfg->collector_id) != MSG_OK) {
        snprintf(err, errlen, "collector_id '%s' cannot form a health topic", cfg->collector_id);
        goto fail;
    }
    c->intake = intake_new((size_t)cfg->intake_bytes);
    c->ack_fill = ackset_new();
    c->ack_send = ackset_new();
    c->ack_buf = malloc(MSG_ACK_PAYLOAD_MAX + 1);
    c->reg = registry_new();
    lim.rows = (size_t)cfg->batch_rows;
    lim.bytes = (size_t)cfg->batch_bytes;
    c->sink = pgsink_new(cfg->db_conninfo, cfg->db_password, cfg->collector_id, &lim, &c->metrics);
    c->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    c->rejected_limit = msg_ratetable_new(COLLECTOR_REJECTED_DEVICES);
    c->rejected_rate.per_s = cfg->rejected_per_minute / 60.0;
    c->rejected_rate.burst = (double)cfg->rejected_burst;
    c->redrive = redrive_new();
    c->md = EVP_MD_CTX_new();
    if (c->intake == NULL || c->ack_fill == NULL || c->ack_send == NULL || c->ack_buf == NULL ||
        c->reg == NULL || c->sink == NULL || c->sha256 == NULL || c->md == NULL ||
        c->rejected_limit == NULL || c->redrive == NULL) {
        snprintf(err, errlen, "out of memory (or no SHA-256 in libcrypto)");
        goto fail;
    }
    return c;
fail:
    collector_free(c);
    return NULL;
}

void collector_free(struct collector *c)
{
    if (c == NULL) {
        return;
    }
    if (c->mosq != NULL) {
        mosquitto_destroy(c->mosq);
        mosquitto_lib_cleanup();
    }
    metrics_http_close(c->http);
    pgsink_free(c->sink);
    registry_free(c->reg);
    msg_ratetable_free(c->rejected_limit);
    redrive_free(c->redrive);
    intake_free(c->intake);
    ackset_free(c->ack_fill);
    ackset_free(c->ack_send);
    free(c->ack_buf);
    EVP_MD_CTX_free(c->md);
    EVP_MD_free(c->sha256);
    pthread_mutex_destroy(&c->ack_lock);
    memset(&c->cfg, 0, sizeof(c->cfg)); /* the secrets */
    free(c);
}

/* Sets up the client: MQTT 5, clean start, a retained will saying offline, callbacks. It
 * connects later (connect_broker). */
static int mqtt_setup(struct collector *c, char *err, size_t errlen)
{
    struct msg_health h;
    char will[512];
    size_t len = 0;
    int rc;

    mosquitto_lib_init();
    c->mosq = mosquitto_new(c->cfg.collector_id, true, c);
    if (c->mosq == NULL) {
        snprintf(err, errlen, "mqtt: cannot create the client: %s", strerror(errno));
        return MSG_ERR_NOMEM;
    }
    mosquitto_int_option(c->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(c->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    /* libmosquitto's default receive maximum (20 messages in flight towards us) makes the
     * broker queue, and past its max_queued_messages drop, what we would take at once: our
     * bounded intake ring, not the broker's queue, is the buffer (PUBACKs go out on receipt) */
    mosquitto_int_option(c->mosq, MOSQ_OPT_RECEIVE_MAXIMUM, 65535);
    mosquitto_connect_v5_callback_set(c->mosq, on_connect);
    mosquitto_disconnect_v5_callback_set(c->mosq, on_disconnect);
    mosquitto_message_v5_callback_set(c->mosq, on_message);
    if (c->cfg.mqtt_username[0] != '\0') {
        rc = mosquitto_username_pw_set(c->mosq, c->cfg.mqtt_username,
                                       c->cfg.mqtt_password[0] != '\0' ? c->cfg.mqtt_password
                                                                       : NULL);
        if (rc != MOSQ_ERR_SUCCESS) {
            snprintf(err, errlen, "mqtt: username: %s", mosquitto_strerror(rc));
            return MSG_ERR_CONFIG;
        }
    }
    if (c->cfg.mqtt_tls) {
        const struct collector_config *k = &c->cfg;

        rc = mosquitto_tls_set(c->mosq, k->mqtt_tls_cafile[0] ? k->mqtt_tls_cafile : NULL,
                               k->mqtt_tls_cafile[0] ? NULL : "/etc/ssl/certs",
                               k->mqtt_tls_certfile[0] ? k->mqtt_tls_certfile : NULL,
                               k->mqtt_tls_keyfile[0] ? k->mqtt_tls_keyfile : NULL, NULL);
        if (rc != MOSQ_ERR_SUCCESS) {
            snprintf(err, errlen, "mqtt: TLS: %s", mosquitto_strerror(rc));
            return MSG_ERR_CONFIG;
        }
    }
    memset(&h, 0, sizeof(h));
    snprintf(h.collector, sizeof(h.collector), "%s", c->cfg.collector_id);
    h.online = false;
    h.db = MSG_DB_UNKNOWN;
    h.ts_ms = msg_clock_wall_us() / 1000; /* for the will: when the collector connected */
    if (msg_health_encode(&h, will, sizeof(will), &len) != MSG_OK) {
        snprintf(err, errlen, "mqtt: cannot encode the will");
        return MSG_ERR_INVAL;
    }
    rc = mosquitto_will_set_v5(c->mosq, c->health_topic, (int)len, will, 1, true, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        snprintf(err, errlen, "mqtt: will: %s", mosquitto_strerror(rc));
        return MSG_ERR_INVAL;
    }
    return MSG_OK;
}

/* The first connection, retried with back-off until it works or a stop is requested; then
 * the network thread (mosq_loop.h) takes over and reconnects after any failure, a TLS
 * handshake's too (mosquitto_loop_start's thread would end on that for good). Returns whether
 * it connected. */
static bool connect_broker(struct collector *c, volatile sig_atomic_t *stop)
{
    struct msg_backoff bo;
    bool logged = false;

    msg_backoff_init(&bo, 500, 30000, MSG_BACKOFF_NONE); /* 0.5 s doubling to 30 s */
    while (!*stop) {
        int64_t delay = 0;
        int rc = mosquitto_connect_bind(c->mosq, c->cfg.mqtt_host, (int)c->cfg.mqtt_port,
                                        (int)(c->cfg.mqtt_keepalive_ms / 1000), NULL);

        if (rc == MOSQ_ERR_SUCCESS) {
            rc = mosq_loop_start(&c->loop, c->mosq, "collector", c->cfg.mqtt_host,
                                 c->cfg.mqtt_port);
            if (rc == MOSQ_ERR_SUCCESS) {
                return true;
            }
            log_msg(LOG_ERR, "collector: cannot start the MQTT thread: %s", mosquitto_strerror(rc));
            return false;
        }
        if (!logged) {
            log_msg(LOG_WARNING, "collector: broker %s:%lld not reachable (%s), retrying",
                    c->cfg.mqtt_host, c->cfg.mqtt_port,
                    rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
            logged = true;
        }
        delay = msg_backoff_next(&bo, 0);
        for (int64_t waited = 0; waited < delay && !*stop; waited += COLLECTOR_TICK_MS) {
            msg_clock_sleep_ms(COLLECTOR_TICK_MS);
        }
    }
    return false;
}

static void log_summary(struct collector *c, uint64_t last[8])
{
    uint64_t now[8] = {
        atomic_load(&c->metrics.messages_received),  atomic_load(&c->metrics.readings_stored),
        atomic_load(&c->metrics.readings_duplicate), atomic_load(&c->metrics.dead_letters),
        atomic_load(&c->metrics.readings_clash),     atomic_load(&c->metrics.batches),
        atomic_load(&c->metrics.acks_sent),          atomic_load(&c->metrics.intake_dropped),
    };
    int db = atomic_load(&c->db_state);

    log_msg(LOG_INFO,
            "collector: last %llds: received=%llu stored=%llu duplicates=%llu dead_letters=%llu "
            "clashes=%llu batches=%llu acks=%llu not_taken=%llu intake=%llu db=%s mqtt=%s",
            c->cfg.summary_interval_ms / 1000, (unsigned long long)(now[0] - last[0]),
            (unsigned long long)(now[1] - last[1]), (unsigned long long)(now[2] - last[2]),
            (unsigned long long)(now[3] - last[3]), (unsigned long long)(now[4] - last[4]),
            (unsigned long long)(now[5] - last[5]), (unsigned long long)(now[6] - last[6]),
            (unsigned long long)(now[7] - last[7]),
            (unsigned long long)atomic_load(&c->metrics.intake_messages),
            db == DB_UP     ? "up"
            : db == DB_DOWN ? "down"
                            : "unknown",
            atomic_load(&c->metrics.mqtt_connected) ? "connected" : "disconnected");
    memcpy(last, now, sizeof(now));
}

/* Tells systemd (Type=notify, WatchdogSec) about the collector's state (msg_notify: the
 * sd_notify datagram). Best effort, as sd_notify's result was: a failure is logged at debug. */
static void notify(const char *state)
{
    char err[MSG_ERRLEN];

    if (msg_notify(state, err, sizeof(err)) != MSG_OK) {
        log_msg(LOG_DEBUG, "collector: %s", err);
    }
}

int collector_run(struct collector *c, volatile sig_atomic_t *stop, char *err, size_t errlen)
{
    uint64_t last[8] = {0};
    int64_t next_ack;
    int64_t last_sent = 0;     /* monotonic: the last round that acknowledged something */
    long long seen_commits = 0; /* c->commits at the last round */
    int64_t next_health;
    int64_t next_summary;
    int last_db = DB_UNKNOWN;
    int64_t watchdog_ms = 0; /* half the systemd watchdog interval; 0 = none */
    int64_t next_watchdog = 0;
    bool mqtt_started = false;
    bool failed = false;
    int rc;

    if (c->cfg.metrics_port > 0) {
        c->http = metrics_http_open(c->cfg.metrics_address, (int)c->cfg.metrics_port, &c->metrics,
                                    err, errlen);
        if (c->http == NULL) {
            return MSG_ERR_IO;
        }
    }
    rc = mqtt_setup(c, err, errlen);
    if (rc != MSG_OK) {
        return rc;
    }
    if (pthread_create(&c->db_thread, NULL, db_main, c) != 0) {
        snprintf(err, errlen, "cannot start the database thread");
        return MSG_ERR_NOMEM;
    }
    c->db_thread_started = true;
    log_msg(LOG_NOTICE,
            "collector: %s started: broker %s:%lld, group %s, batch %lld rows / "
            "%lld ms, ack every %lld ms",
            c->cfg.collector_id, c->cfg.mqtt_host, c->cfg.mqtt_port, c->cfg.share_group,
            c->cfg.batch_rows, c->cfg.batch_ms, c->cfg.ack_interval_ms);
    /* ready: from here on the collector retries the broker and the database by itself */
    notify("READY=1\nSTATUS=running, database unknown");
    {
        uint64_t usec = 0;

        if (msg_notify_watchdog(&usec) == MSG_OK && usec >= 2000) {
            watchdog_ms = (int64_t)(usec / 2000);
        }
    }
    atomic_store(&c->db_alive_ms, msg_clock_mono_ms());
    mqtt_started = connect_broker(c, stop);
    if (!mqtt_started && !*stop) {
        snprintf(err, errlen, "mqtt: cannot run the network thread");
        failed = true; /* shut down in order below, then fail */
    }
    next_ack = msg_clock_mono_ms() + c->cfg.ack_interval_ms;
    next_health = msg_clock_mono_ms() + c->cfg.health_interval_ms;
    next_summary = msg_clock_mono_ms() + c->cfg.summary_interval_ms;
    while (!*stop && !failed) {
        int64_t now = msg_clock_mono_ms();
        int db = atomic_load(&c->db_state);
        long long commits = atomic_load(&c->commits);

        /* A round goes out right after a commit (within one tick), unless the last round that
         * acknowledged something left less than ack_interval_ms ago: then at the end of that
         * interval, as the timer always did. A device so never gets two rounds within
         * ack_interval_ms, and a commit no longer waits for the timer's phase (issue 15:
         * publish to acknowledgement). */
        if (now >= next_ack ||
            (commits != seen_commits && now - last_sent >= c->cfg.ack_interval_ms)) {
            seen_commits = commits;
            if (flush_acks(c) > 0) {
                last_sent = now;
            }
            next_ack = now + c->cfg.ack_interval_ms;
        }
        if (now >= next_health || db != last_db) {
            if (db == last_db) {
                publish_health(c, true); /* a change was published by set_db_state */
            }
            if (db != last_db) {
                char status[96];

                snprintf(status, sizeof(status), "STATUS=running, database %s",
                         db == DB_UP     ? "up"
                         : db == DB_DOWN ? "down (holding the batch, not acknowledging)"
                                         : "unknown");
                notify(status);
            }
            last_db = db;
            next_health = now + c->cfg.health_interval_ms;
        }
        /* the watchdog is fed while the database thread shows signs of life: it may wait for
         * a statement (statement_timeout 120 s) or a connection, never longer */
        if (watchdog_ms > 0 && now >= next_watchdog &&
            now - atomic_load(&c->db_alive_ms) < COLLECTOR_DB_STUCK_MS) {
            notify("WATCHDOG=1");
            next_watchdog = now + watchdog_ms;
        }
        if (now >= next_summary) {
            log_summary(c, last);
            next_summary = now + c->cfg.summary_interval_ms;
        }
        msg_clock_sleep_ms(COLLECTOR_TICK_MS);
    }

    /* Stop in order: take nothing new, commit what we hold, acknowledge it, say offline. */
    notify("STOPPING=1");
    log_msg(LOG_NOTICE, "collector: stopping: committing the batch in hand");
    atomic_store(&c->stop_deadline_ms, msg_clock_mono_ms() + c->cfg.stop_timeout_ms);
    atomic_store(&c->stopping, 1);
    intake_close(c->intake);
    pthread_join(c->db_thread, NULL);
    c->db_thread_started = false;
    flush_acks(c);
    if (mqtt_started) {
        publish_health(c, false);
        mosq_loop_stop(&c->loop, COLLECTOR_DRAIN_MS);
    }
    log_summary(c, last);
    log_msg(LOG_NOTICE, "collector: %s stopped", c->cfg.collector_id);
    return failed ? MSG_ERR_IO : MSG_OK;
}
