/* payval.c -- MOSQ_EVT_MESSAGE: rate limits, payload validation, station binding, refused
 * messages passed on pantau/v1/_sys/rejected, counters. See payval.h.
 *
 * What mosquitto 2.0.11 does, which this module relies on (src/handle_publish.c, plugin.c):
 * the message hook runs after the ACL check allowed the PUBLISH (so the topic is the device's
 * own and its kind's), for QoS 0, 1 and 2 alike; MOSQ_ERR_ACL_DENIED drops the message and
 * answers PUBACK (PUBREC) 0x87, any other error disconnects the client. Last wills never come
 * here (devacl checks them). mosquitto_broker_publish() only queues the message for the main
 * loop: it is safe from this callback, which runs on the broker's thread.
 */
#include "payval.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#include "msg_binding.h"
#include "msg_event.h"
#include "msg_rejected.h"
#include "msg_time.h"
#include "msg_topic.h"
#include "plugin_module.h"
#include "ratelimit.h"
#include "refusal.h"

#define PAYVAL_STATS_TOPIC "$SYS/pantau/payval"
#define PAYVAL_DEVICES_DEFAULT 20000
#define PAYVAL_SWEEP_SLOTS 1024   /* table slots the sweep looks at ... */
#define PAYVAL_SWEEP_EVERY_MS 100 /* ... this often (the tick runs on every loop) */
#define PAYVAL_MSG_BUCKET 0
#define PAYVAL_FWD_BUCKET 1
#define PAYVAL_LOG_BUCKET 2
#define PAYVAL_STATS_MAX 2048

/* Refusals logged per device: 5 at once, then one a minute (the rest are counted). */
static const struct ratelimit_rate payval_log_rate = {1.0 / 60.0, 5.0};

static const char *const payval_rate_keys[MSG_KIND_COUNT] = {
    "rate_flood_gateway",
    "rate_traffic_gateway",
    "rate_handheld",
};

/* Defaults per kind: a gauge reports about once a minute and replays a backlog at a few a
 * second; a camera gateway sends counts per lane and class; a handheld replays a day's
 * inspections after a day without signal. */
static const char *const payval_rate_defaults[MSG_KIND_COUNT] = {
    "5/s burst 50",
    "20/s burst 200",
    "2/s burst 100",
};

struct payval {
    mosquitto_plugin_id_t *pid;
    struct regcache *rc;                        /* borrowed for the plugin's lifetime */
    struct ratelimit_rate rate[MSG_KIND_COUNT]; /* messages per device, by kind */
    struct ratelimit_rate rejected_rate;        /* refused messages forwarded per device */
    int64_t stats_interval_ms;
    int64_t next_stats_ms; /* monotonic */
    int64_t next_sweep_ms; /* monotonic */
    size_t devices_max;
    struct ratelimit_table *devices;
    uint64_t accepted; /* device messages let through */
    uint64_t other;    /* other roles' messages, untouched */
    uint64_t refused[PAYVAL_REASON_COUNT];
    uint64_t forwarded;
    uint64_t not_forwarded; /* over the budget, or the publish failed */
    uint64_t log_suppressed;
    struct refusal_scratch scratch;
};

static const char *const payval_reason_names[PAYVAL_REASON_COUNT] = {
    "ok", "rate_limit", "topic", "json", "schema", "station", "internal",
};

const char *payval_reason_name(enum payval_reason r)
{
    if ((int)r < 0 || (int)r >= PAYVAL_REASON_COUNT) {
        return "?";
    }
    return payval_reason_names[r];
}

/* ---- the content check (pure) -------------------------------------------------------- */

enum payval_reason payval_check(const struct regcache_account *a, const char *topic,
                                const void *payload, size_t len, int64_t received_ms, char *err,
                                size_t errlen)
{
    struct msg_event ev;
    int rc;

    err[0] = '\0';
    rc = msg_event_parse(topic, strlen(topic), payload, len, &ev, err, errlen);
    switch (rc) {
    case MSG_OK:
        break;
    case MSG_ERR_TOPIC:
        return PAYVAL_TOPIC;
    case MSG_ERR_JSON:
        return PAYVAL_JSON;
    case MSG_ERR_SCHEMA:
        return PAYVAL_SCHEMA;
    default:
        return PAYVAL_INTERNAL;
    }
    /* the broker cannot correct a time (that needs the stored readings of the boot) */
    if (msg_binding_check(a->bindings, a->n_bindings, &ev, MSG_BINDING_NO_TIME, received_ms, err,
                          errlen) != MSG_BINDING_OK) {
        return PAYVAL_STATION;
    }
    return PAYVAL_OK;
}

/* ---- the plugin module --------------------------------------------------------------- */

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const struct ratelimit_rate *kind_rate(const struct payval *st, enum msg_device_kind kind)
{
    if ((int)kind < 0 || (int)kind >= MSG_KIND_COUNT) {
        return &st->rate[MSG_KIND_FLOOD_GATEWAY];
    }
    return &st->rate[kind];
}

static void log_refusal(struct payval *st, struct ratelimit_entry *e, const char *device,
                        const char *topic, enum payval_reason r, const char *err, int64_t now)
{
    char t[MSG_CP_BYTES(160)];
    char more[64] = "";

    if (!ratelimit_take(&e->b[PAYVAL_LOG_BUCKET], &payval_log_rate, now)) {
        e->suppressed++;
        st->log_suppressed++;
        return;
    }
    msg_rejected_set_text(t, sizeof(t), topic, strlen(topic), 160);
    if (e->suppressed > 0) {
        snprintf(more, sizeof(more), " (%" PRIu64 " more refusals not logged)", e->suppressed);
        e->suppressed = 0;
    }
    mosquitto_log_printf(MOSQ_LOG_NOTICE, "payval: refused message by device=%s on '%s': %s (%s)%s",
                         device, t, err, payval_reason_name(r), more);
}

/* The category a forwarded refusal carries on pantau/v1/_sys/rejected (protocol.md 7.2). */
static int category_of(enum payval_reason r)
{
    switch (r) {
    case PAYVAL_TOPIC:
        return MSG_REJECTED_TOPIC;
    case PAYVAL_JSON:
        return MSG_REJECTED_JSON;
    case PAYVAL_STATION:
        return MSG_REJECTED_STATION;
    default:
        return MSG_REJECTED_SCHEMA;
    }
}

static int on_message(int event, void *event_data, void *userdata)
{
    struct mosquitto_evt_message *ed = event_data;
    struct payval *st = userdata; /* from start; broker thread only */
    const char *username = mosquitto_client_username(ed->client);
    const struct regcache_account *a = NULL;
    struct ratelimit_entry *e = NULL;
    enum payval_reason r;
    char err[MSG_ERRLEN] = "";
    char rate[64];
    int64_t now;

    (void)event;
    if (username != NULL && msg_id_valid(username, strlen(username))) {
        a = regcache_find(st->rc, username);
    }
    if (a == NULL || a->role != REGCACHE_ROLE_DEVICE) {
        /* devacl allowed it, and only device messages are ours to check; without an
         * account devacl would have denied it already */
        st->other++;
        return MOSQ_ERR_SUCCESS;
    }
    now = mono_ms();
    e = ratelimit_table_get(st->devices, username);
    if (e == NULL) {
        return MOSQ_ERR_ACL_DENIED; /* not reachable: username is an id */
    }
    if (!ratelimit_take(&e->b[PAYVAL_MSG_BUCKET], kind_rate(st, a->kind), now)) {
        r = PAYVAL_RATE;
        ratelimit_rate_format(kind_rate(st, a->kind), rate, sizeof(rate));
        snprintf(err, sizeof(err), "over %s", rate);
        goto refuse;
    }
    r = payval_check(a, ed->topic, ed->payload, ed->payloadlen, wall_ms(), err, sizeof(err));
    if (r == PAYVAL_OK) {
        st->accepted++;
        return MOSQ_ERR_SUCCESS;
    }
    if (r != PAYVAL_INTERNAL) {
        if (ratelimit_take(&e->b[PAYVAL_FWD_BUCKET], &st->rejected_rate, now) &&
            refusal_forward_as(&st->scratch, category_of(r), username, ed->topic, err,
                               ed->payload, ed->payloadlen, wall_ms()) == MOSQ_ERR_SUCCESS) {
            st->forwarded++;
        } else {
            st->not_forwarded++;
        }
    }
refuse:
    st->refused[r]++;
    log_refusal(st, e, username, ed->topic, r, err, now);
    return MOSQ_ERR_ACL_DENIED;
}

struct sweep_ctx {
    struct payval *st;
    int64_t now;
};

/* An entry whose buckets have refilled holds nothing worth keeping; one whose account is gone
 * or disabled is forgotten with it. */
static bool sweep_drop(void *ctx, const struct ratelimit_entry *e)
{
    struct sweep_ctx *c = ctx;
    const struct regcache_account *a = regcache_find(c->st->rc, e->key);

    if (a != NULL && a->enabled && a->role == REGCACHE_ROLE_DEVICE &&
        !(ratelimit_full(&e->b[PAYVAL_MSG_BUCKET], kind_rate(c->st, a->kind), c->now) &&
          ratelimit_full(&e->b[PAYVAL_FWD_BUCKET], &c->st->rejected_rate, c->now) &&
          ratelimit_full(&e->b[PAYVAL_LOG_BUCKET], &payval_log_rate, c->now))) {
        return false;
    }
    if (e->suppressed > 0) {
        mosquitto_log_printf(MOSQ_LOG_NOTICE,
                             "payval: device=%s: %" PRIu64 " more refusals not logged", e->key,
                             e->suppressed);
    }
    return true;
}

static void publish_stats(struct payval *st)
{
    char buf[PAYVAL_STATS_MAX];
    char ts[MSG_TIME_LEN + 1];
    uint64_t refused = 0;
    size_t len = 0;
    int n;

    for (int i = 1; i < PAYVAL_REASON_COUNT; i++) {
        refused += st->refused[i];
    }
    msg_time_format(wall_ms(), ts);
    n = snprintf(buf, sizeof(buf),
                 "{\"module\":\"payval\",\"ts\":\"%s\",\"accepted\":%" PRIu64 ",\"other\":%" PRIu64
                 ",\"refused\":%" PRIu64 ",\"refused_by_reason\":{",
                 ts, st->accepted, st->other, refused);
    len = (size_t)n;
    for (int i = 1; i < PAYVAL_REASON_COUNT && len < sizeof(buf); i++) {
        n = snprintf(buf + len, sizeof(buf) - len, "%s\"%s\":%" PRIu64, i > 1 ? "," : "",
                     payval_reason_names[i], st->refused[i]);
        len += (size_t)n;
    }
    if (len < sizeof(buf)) {
        n = snprintf(buf + len, sizeof(buf) - len,
                     "},\"forwarded\":%" PRIu64 ",\"not_forwarded\":%" PRIu64
                     ",\"log_suppressed\":%" PRIu64 ",\"devices\":%zu,\"devices_evicted\":%" PRIu64
                     "}",
                     st->forwarded, st->not_forwarded, st->log_suppressed,
                     ratelimit_table_count(st->devices), ratelimit_table_evicted(st->devices));
        len += (size_t)n;
    }
    if (len >= sizeof(buf)) {
        mosquitto_log_printf(MOSQ_LOG_WARNING, "payval: counters do not fit %zu bytes",
                             sizeof(buf));
        return;
    }
    mosquitto_broker_publish_copy(NULL, PAYVAL_STATS_TOPIC, (int)len, buf, 0, true, NULL);
}

static int on_tick(int event, void *event_data, void *userdata)
{
    struct payval *st = userdata;
    struct sweep_ctx c;

    (void)event;
    (void)event_data; /* 2.0.11 leaves its times zero: use our clock */
    c.st = st;
    c.now = mono_ms();
    if (c.now >= st->next_sweep_ms) {
        st->next_sweep_ms = c.now + PAYVAL_SWEEP_EVERY_MS;
        ratelimit_table_sweep(st->devices, PAYVAL_SWEEP_SLOTS, sweep_drop, &c);
    }
    if (c.now >= st->next_stats_ms) {
        st->next_stats_ms = c.now + st->stats_interval_ms;
        publish_stats(st);
    }
    return MOSQ_ERR_SUCCESS;
}

static const char *const payval_keys[] = {
    "rate_flood_gateway",
    "rate_traffic_gateway",
    "rate_handheld",
    "rejected_rate",
    "stats_interval",
    "devices_max",
    NULL,
};

static int read_long(const char *key, const char *value, long lo, long hi, long *out, char *err,
                     size_t errlen)
{
    char *end = NULL;
    long v;

    errno = 0;
    v = strtol(value, &end, 10);
    if (errno != 0 || end == value || *end != '\0' || v < lo || v > hi) {
        snprintf(err, errlen, "plugin_opt_%s '%.40s': an integer %ld to %ld", key, value, lo, hi);
        return MOSQ_ERR_INVAL;
    }
    *out = v;
    return MOSQ_ERR_SUCCESS;
}

static int read_options(struct payval *st, struct mosquitto_opt *opts, int n, char *err,
                        size_t errlen)
{
    char why[MSG_ERRLEN] = "";
    long v = 0;

    st->stats_interval_ms = 10000;
    st->devices_max = PAYVAL_DEVICES_DEFAULT;
    for (int k = 0; k < MSG_KIND_COUNT; k++) {
        if (ratelimit_rate_parse(payval_rate_defaults[k], &st->rate[k], why, sizeof(why)) !=
            MSG_OK) {
            snprintf(err, errlen, "payval: default %s: %s", payval_rate_keys[k], why);
            return MOSQ_ERR_INVAL;
        }
    }
    if (ratelimit_rate_parse(REFUSAL_DEFAULT_RATE, &st->rejected_rate, why, sizeof(why)) !=
        MSG_OK) {
        snprintf(err, errlen, "payval: default rejected_rate: %s", why);
        return MOSQ_ERR_INVAL;
    }
    for (int i = 0; i < n; i++) {
        const char *key = opts[i].key;
        const char *value = opts[i].value ? opts[i].value : "";
        bool done = false;

        if (key == NULL) {
            continue;
        }
        for (int k = 0; k < MSG_KIND_COUNT; k++) {
            if (strcmp(key, payval_rate_keys[k]) == 0) {
                if (ratelimit_rate_parse(value, &st->rate[k], why, sizeof(why)) != MSG_OK) {
                    snprintf(err, errlen, "plugin_opt_%s: %s", key, why);
                    return MOSQ_ERR_INVAL;
                }
                done = true;
            }
        }
        if (done) {
            continue;
        }
        if (strcmp(key, "rejected_rate") == 0) {
            if (ratelimit_rate_parse(value, &st->rejected_rate, why, sizeof(why)) != MSG_OK) {
                snprintf(err, errlen, "plugin_opt_rejected_rate: %s", why);
                return MOSQ_ERR_INVAL;
            }
        } else if (strcmp(key, "stats_interval") == 0) {
            if (read_long(key, value, 1, 86400, &v, err, errlen) != MOSQ_ERR_SUCCESS) {
                return MOSQ_ERR_INVAL;
            }
            st->stats_interval_ms = (int64_t)v * 1000;
        } else if (strcmp(key, "devices_max") == 0) {
            if (read_long(key, value, 1, 1000000, &v, err, errlen) != MOSQ_ERR_SUCCESS) {
                return MOSQ_ERR_INVAL;
            }
            st->devices_max = (size_t)v;
        }
    }
    return MOSQ_ERR_SUCCESS;
}

static int payval_start(void **state, mosquitto_plugin_id_t *pid, struct regcache *rc,
                        struct mosquitto_opt *opts, int n, char *err, size_t errlen)
{
    struct payval *st = NULL;
    char rates[MSG_KIND_COUNT][64];
    int mrc;

    *state = NULL;
    st = mosquitto_calloc(1, sizeof(*st));
    if (st == NULL) {
        snprintf(err, errlen, "payval: out of memory");
        mrc = MOSQ_ERR_NOMEM;
        goto fail;
    }
    st->pid = pid;
    st->rc = rc;
    mrc = read_options(st, opts, n, err, errlen);
    if (mrc != MOSQ_ERR_SUCCESS) {
        goto fail;
    }
    st->devices = ratelimit_table_new(st->devices_max);
    if (st->devices == NULL) {
        snprintf(err, errlen, "payval: out of memory for %zu devices", st->devices_max);
        mrc = MOSQ_ERR_NOMEM;
        goto fail;
    }
    st->next_stats_ms = mono_ms(); /* publish the counters on the first tick */
    mrc = mosquitto_callback_register(pid, MOSQ_EVT_MESSAGE, on_message, NULL, st);
    if (mrc != MOSQ_ERR_SUCCESS) {
        snprintf(err, errlen, "payval: cannot register the message hook: %s",
                 mosquitto_strerror(mrc));
        goto fail;
    }
    mrc = mosquitto_callback_register(pid, MOSQ_EVT_TICK, on_tick, NULL, st);
    if (mrc != MOSQ_ERR_SUCCESS) {
        snprintf(err, errlen, "payval: cannot register the tick: %s", mosquitto_strerror(mrc));
        mosquitto_callback_unregister(pid, MOSQ_EVT_MESSAGE, on_message, NULL);
        goto fail;
    }
    for (int k = 0; k < MSG_KIND_COUNT; k++) {
        ratelimit_rate_format(&st->rate[k], rates[k], sizeof(rates[k]));
    }
    mosquitto_log_printf(MOSQ_LOG_NOTICE,
                         "payval: started (flood_gateway %s, traffic_gateway %s, handheld %s; "
                         "counters on %s every %" PRId64 " s)",
                         rates[0], rates[1], rates[2], PAYVAL_STATS_TOPIC,
                         st->stats_interval_ms / 1000);
    *state = st;
    return MOSQ_ERR_SUCCESS;
fail:
    if (st != NULL) {
        ratelimit_table_free(st->devices);
        mosquitto_free(st);
    }
    return mrc;
}

static void payval_stop(void *state, mosquitto_plugin_id_t *pid)
{
    struct payval *st = state;

    if (st == NULL) {
        return;
    }
    mosquitto_callback_unregister(pid, MOSQ_EVT_TICK, on_tick, NULL);
    mosquitto_callback_unregister(pid, MOSQ_EVT_MESSAGE, on_message, NULL);
    ratelimit_table_free(st->devices);
    mosquitto_free(st);
}

const struct plugin_module plugin_module_payval = {
    .name = "payval",
    .keys = payval_keys,
    .start = payval_start,
    .stop = payval_stop,
};
