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

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#include "msg_binding.h"
#include "msg_event.h"
#include "msg_rejected.h"
#include "msg_topic.h"
#include "plugin_module.h"
#include "msg_ratetable.h"
#include "refusal.h"
#include "stats.h"

#define PAYVAL_STATS_TOPIC STATS_TOPIC_PREFIX "payval"
#define PAYVAL_MSG_BUCKET 0
#define PAYVAL_FWD_BUCKET 1
#define PAYVAL_LOG_BUCKET 2

struct payval {
    struct promfile *pf; /* the textfile its counters go to as well; NULL: none */
    mosquitto_plugin_id_t *pid;
    struct regcache *rc;                         /* borrowed for the plugin's lifetime */
    struct msg_bucket_rate rate[MSG_KIND_COUNT]; /* messages per device, by kind */
    struct msg_bucket_rate rejected_rate;        /* refused messages forwarded per device */
    int64_t stats_interval_ms;
    int64_t next_stats_ms; /* monotonic */
    int64_t next_sweep_ms; /* monotonic */
    size_t devices_max;
    struct msg_ratetable *devices;
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

static const struct msg_bucket_rate *kind_rate(const struct payval *st, enum msg_device_kind kind)
{
    if ((int)kind < 0 || (int)kind >= MSG_KIND_COUNT) {
        return &st->rate[MSG_KIND_FLOOD_GATEWAY];
    }
    return &st->rate[kind];
}

static void log_refusal(struct payval *st, struct msg_ratetable_entry *e, const char *device,
                        const char *topic, enum payval_reason r, const char *err, int64_t now)
{
    char t[MSG_CP_BYTES(160)];
    char more[64] = "";

    if (!plugin_log_take(e, PAYVAL_LOG_BUCKET, now, &st->log_suppressed, "refusals", more,
                         sizeof(more))) {
        return;
    }
    msg_rejected_set_text(t, sizeof(t), topic, strlen(topic), 160);
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

/* A reading an edge broker's bridge (role bridge, schema/030) passes on for one of its devices:
 * devacl checked that the device exists, is enabled and may publish the stream; its content and
 * station binding are judged here as the device's own PUBLISH would be (payval_check), without
 * a rate (the edge's plugin applied the device's, and a backlog queued while the link was down
 * arrives at once). A refusal is not passed on pantau/v1/_sys/rejected (the edge's plugin passes
 * what it refuses; here it means the two registries disagree for a moment): the bridge gets
 * PUBACK 0x87, the device no acknowledgement, and it sends the reading again. Status and the
 * edge's rejected messages pass (devacl judged them). */
static int bridged(struct payval *st, const char *username, const char *topic, const void *payload,
                   uint32_t payloadlen)
{
    char device[MSG_ID_MAX + 1];
    const struct regcache_account *d = NULL;
    enum payval_reason r = PAYVAL_TOPIC;
    char err[MSG_ERRLEN] = "";
    struct msg_topic t;

    if (msg_topic_parse(topic, strlen(topic), &t, err, sizeof(err)) == MSG_OK &&
        !msg_stream_is_reading(t.stream)) {
        st->other++;
        return MOSQ_ERR_SUCCESS;
    }
    if (msg_topic_device(topic, strlen(topic), device)) {
        d = regcache_find(st->rc, device);
    }
    if (d == NULL || d->role != REGCACHE_ROLE_DEVICE || !d->enabled) {
        snprintf(err, sizeof(err), "bridged for '%s', which is no enabled device", device);
    } else {
        r = payval_check(d, topic, payload, payloadlen, msg_clock_wall_ms(), err, sizeof(err));
        if (r == PAYVAL_OK) {
            st->accepted++;
            return MOSQ_ERR_SUCCESS;
        }
    }
    st->refused[r]++;
    log_refusal(st, msg_ratetable_get(st->devices, username), username, topic, r, err,
                msg_clock_mono_ms());
    return MOSQ_ERR_ACL_DENIED;
}

static int on_message(int event, void *event_data, void *userdata)
{
    struct mosquitto_evt_message *ed = event_data;
    struct payval *st = userdata; /* from start; broker thread only */
    const char *username = mosquitto_client_username(ed->client);
    const struct regcache_account *a = NULL;
    struct msg_ratetable_entry *e = NULL;
    enum payval_reason r;
    char err[MSG_ERRLEN] = "";
    char rate[64];
    int64_t now;

    (void)event;
    if (username != NULL && msg_id_valid(username, strlen(username))) {
        a = regcache_find(st->rc, username);
    }
    if (a != NULL && a->role == REGCACHE_ROLE_BRIDGE) {
        return bridged(st, username, ed->topic, ed->payload, ed->payloadlen);
    }
    if (a == NULL || a->role != REGCACHE_ROLE_DEVICE) {
        /* devacl allowed it, and only device messages are ours to check; without an
         * account devacl would have denied it already */
        st->other++;
        return MOSQ_ERR_SUCCESS;
    }
    now = msg_clock_mono_ms();
    e = msg_ratetable_get(st->devices, username);
    if (e == NULL) {
        return MOSQ_ERR_ACL_DENIED; /* not reachable: username is an id */
    }
    if (!msg_bucket_take(&e->b[PAYVAL_MSG_BUCKET], kind_rate(st, a->kind), now)) {
        r = PAYVAL_RATE;
        msg_bucket_rate_format(kind_rate(st, a->kind), rate, sizeof(rate));
        snprintf(err, sizeof(err), "over %s", rate);
        goto refuse;
    }
    r = payval_check(a, ed->topic, ed->payload, ed->payloadlen, msg_clock_wall_ms(), err,
                     sizeof(err));
    if (r == PAYVAL_OK) {
        st->accepted++;
        return MOSQ_ERR_SUCCESS;
    }
    if (r != PAYVAL_INTERNAL) {
        if (plugin_refusal_pass(&st->scratch, &e->b[PAYVAL_FWD_BUCKET], &st->rejected_rate, now,
                                category_of(r), username, ed->topic, err, ed->payload,
                                ed->payloadlen)) {
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
static bool sweep_drop(void *ctx, const struct msg_ratetable_entry *e)
{
    struct sweep_ctx *c = ctx;
    const struct regcache_account *a = regcache_find(c->st->rc, e->key);

    if (a != NULL && a->enabled && a->role == REGCACHE_ROLE_DEVICE &&
        !(msg_bucket_full(&e->b[PAYVAL_MSG_BUCKET], kind_rate(c->st, a->kind), c->now) &&
          msg_bucket_full(&e->b[PAYVAL_FWD_BUCKET], &c->st->rejected_rate, c->now) &&
          msg_bucket_full(&e->b[PAYVAL_LOG_BUCKET], &plugin_log_rate, c->now))) {
        return false;
    }
    plugin_log_forget(e, "payval", "device", "refusals");
    return true;
}

/* The counters on $SYS/pantau/payval (protocol.md 7.4); "ok" is no refusal. */
static void publish_stats(const struct payval *st)
{
    const struct stats_reasons reasons = {payval_reason_names + 1, st->refused + 1,
                                          PAYVAL_REASON_COUNT - 1};
    const struct stats_member members[] = {
        STATS_U64_MEMBER("accepted", st->accepted),
        STATS_U64_MEMBER("other", st->other),
        STATS_REASONS_MEMBER("refused", STATS_TOTAL),
        STATS_REASONS_MEMBER("refused_by_reason", STATS_BY_REASON),
        STATS_U64_MEMBER("forwarded", st->forwarded),
        STATS_U64_MEMBER("not_forwarded", st->not_forwarded),
        STATS_U64_MEMBER("log_suppressed", st->log_suppressed),
        STATS_GAUGE_MEMBER("devices", msg_ratetable_count(st->devices)),
        STATS_U64_MEMBER("devices_evicted", msg_ratetable_evicted(st->devices)),
    };

    stats_publish(st->pf, "payval", &reasons, members, sizeof(members) / sizeof(members[0]));
}

static int on_tick(int event, void *event_data, void *userdata)
{
    struct payval *st = userdata;
    struct sweep_ctx c;

    (void)event;
    (void)event_data; /* 2.0.11 leaves its times zero: use our clock */
    c.st = st;
    c.now = msg_clock_mono_ms();
    if (stats_due(&st->next_sweep_ms, PLUGIN_SWEEP_EVERY_MS, c.now)) {
        msg_ratetable_sweep(st->devices, PLUGIN_SWEEP_SLOTS, sweep_drop, &c);
    }
    if (stats_due(&st->next_stats_ms, st->stats_interval_ms, c.now)) {
        publish_stats(st);
    }
    return MOSQ_ERR_SUCCESS;
}

/* What plugin_opts_read fills from the plugin_opt_ lines (payval.h names them). */
struct payval_options {
    char rate[MSG_KIND_COUNT][64]; /* by kind: the table's first MSG_KIND_COUNT keys */
    char rejected_rate[64];
    long long stats_interval_s;
    long long devices_max;
};

#define PAYVAL_RATE_OPTION(key, def, field, help)                       \
    {                                                                   \
        (key), CONF_STR, (def), offsetof(struct payval_options, field), \
            sizeof(((struct payval_options *)0)->field), 0, 0, (help)   \
    }

/* Rates by kind first, in the order of enum msg_device_kind. Defaults: a gauge reports about
 * once a minute and replays a backlog at a few a second; a camera gateway sends counts per lane
 * and class; a handheld replays a day's inspections after a day without signal. */
static const struct conf_key payval_options[] = {
    PAYVAL_RATE_OPTION("rate_flood_gateway", "5/s burst 50", rate[MSG_KIND_FLOOD_GATEWAY],
                       "messages of one flood gateway, RATE/UNIT burst N"),
    PAYVAL_RATE_OPTION("rate_traffic_gateway", "20/s burst 200", rate[MSG_KIND_TRAFFIC_GATEWAY],
                       "messages of one traffic gateway, RATE/UNIT burst N"),
    PAYVAL_RATE_OPTION("rate_handheld", "2/s burst 100", rate[MSG_KIND_HANDHELD],
                       "messages of one handheld, RATE/UNIT burst N"),
    PAYVAL_RATE_OPTION("rejected_rate", REFUSAL_DEFAULT_RATE, rejected_rate,
                       "refused messages of one device passed on pantau/v1/_sys/rejected"),
    STATS_INTERVAL_OPTION(struct payval_options, stats_interval_s),
    {"devices_max", CONF_INT, "20000", offsetof(struct payval_options, devices_max),
     sizeof(long long), 1, 1000000, "devices whose buckets are kept"},
    CONF_END,
};

static int read_options(struct payval *st, struct mosquitto_opt *opts, int n, char *err,
                        size_t errlen)
{
    struct payval_options o;
    int rc;

    rc = plugin_opts_read(payval_options, &o, opts, n, err, errlen);
    if (rc != MOSQ_ERR_SUCCESS) {
        return rc;
    }
    for (int k = 0; k < MSG_KIND_COUNT; k++) {
        rc = plugin_opts_rate(payval_options[k].key, o.rate[k], &st->rate[k], err, errlen);
        if (rc != MOSQ_ERR_SUCCESS) {
            return rc;
        }
    }
    rc = plugin_opts_rate("rejected_rate", o.rejected_rate, &st->rejected_rate, err, errlen);
    if (rc != MOSQ_ERR_SUCCESS) {
        return rc;
    }
    st->stats_interval_ms = (int64_t)o.stats_interval_s * 1000;
    st->devices_max = (size_t)o.devices_max;
    return MOSQ_ERR_SUCCESS;
}

static const struct plugin_callback payval_callbacks[] = {
    {MOSQ_EVT_MESSAGE, on_message, "the message hook"},
    {MOSQ_EVT_TICK, on_tick, "the tick"},
    PLUGIN_CALLBACKS_END,
};

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
    st->devices = msg_ratetable_new(st->devices_max);
    if (st->devices == NULL) {
        snprintf(err, errlen, "payval: out of memory for %zu devices", st->devices_max);
        mrc = MOSQ_ERR_NOMEM;
        goto fail;
    }
    st->next_stats_ms = msg_clock_mono_ms(); /* publish the counters on the first tick */
    mrc = plugin_callbacks_register(pid, "payval", payval_callbacks, st, err, errlen);
    if (mrc != MOSQ_ERR_SUCCESS) {
        goto fail;
    }
    for (int k = 0; k < MSG_KIND_COUNT; k++) {
        msg_bucket_rate_format(&st->rate[k], rates[k], sizeof(rates[k]));
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
        msg_ratetable_free(st->devices);
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
    plugin_callbacks_unregister(pid, payval_callbacks);
    msg_ratetable_free(st->devices);
    mosquitto_free(st);
}

static void payval_metrics(void *state, struct promfile *pf)
{
    struct payval *st = state;

    st->pf = pf;
}

const struct plugin_module plugin_module_payval = {
    .name = "payval",
    .options = payval_options,
    .start = payval_start,
    .stop = payval_stop,
    .metrics = payval_metrics,
};
