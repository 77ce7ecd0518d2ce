/* alertd.c -- pantau-alertd's run loop: see alertd.h.
 *
 * Why a transaction is held while its rows are sent: the row locks taken by
 * pantau_alert.delivery_claim() are what keeps two instances from sending the same row at
 * once, and they vanish with the process. A delivery is marked in that transaction only after
 * its receiver confirmed it; if we die before the COMMIT, the row is still pending and is sent
 * again, with the same idempotency key, by whoever claims it next. At least once on the wire,
 * exactly once for a receiver that keeps the keys it has seen. */
#include "alertd.h"

#include <errno.h>
#include <libpq-fe.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alertd_metrics.h"
#include "log.h"
#include "mosq_loop.h"
#include "msg_backoff.h"
#include "msg_clock.h"
#include "msg_notify.h"
#include "msg_topic.h"
#include "service_watch.h"
#include "webhook.h"

#define ALERTD_INFLIGHT_MAX 1024 /* PUBACKs remembered per batch (delivery_batch <= this) */
#define ALERTD_TICK_MS 100       /* longest sleep between looks at the stop flag */
#define ALERTD_DRAIN_MS 1000     /* at a stop: what is queued, then the DISCONNECT */

enum channel {
    CHANNEL_MQTT,
    CHANNEL_WEBHOOK
};
static const char *const channel_names[] = {"mqtt", "webhook"};

struct puback {
    int mid;
    int reason;
};

/* Where a webhook delivery goes: a unit's own URL ([unit <id>]) or the global webhook_url.
 * Each pauses on its own after a failure (its receiver is likely down), so that one unit's
 * receiver down holds back no other unit's. */
struct hook_dest {
    const char *unit; /* borrows a->cfg's; NULL: the global webhook_url */
    struct webhook *hook;
    int64_t pause_until_ms;
};

struct alertd {
    struct alertd_config cfg;
    PGconn *db;
    struct mosquitto *mosq;
    struct mosq_loop loop; /* libmosquitto's network thread, ours (mosq_loop.h) */
    struct hook_dest dests[ALERTD_UNITS_MAX + 1]; /* the units' own, then the global one */
    size_t ndests;
    struct service_watch *services; /* the collectors' health (mqtt only); its own lock */
    int metrics_fd;                 /* -1: no responder */
    bool ready_sent;
    /* written by libmosquitto's thread, read by ours: under lock */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool mqtt_connected;
    struct puback acks[ALERTD_INFLIGHT_MAX];
    size_t nacks;
    /* our thread only */
    int64_t db_retry_at_ms;
    long long db_backoff_ms;
    int64_t mqtt_retry_at_ms;
    long long mqtt_backoff_ms;
    int64_t next_escalate_ms;
    int64_t next_time_rules_ms; /* when pantau_alert.evaluate_time(now()) runs next */
    int64_t next_summary_ms;
    unsigned long long evaluated;
    unsigned long long escalated;
    unsigned long long time_changes; /* alerts raised or resolved by the time-driven rules */
    unsigned long long delivered[2];
    unsigned long long failed[2];
    unsigned long long given_up[2];
};

/* Tells systemd (Type=notify) a state; outside systemd it does nothing. */
static void notify_systemd(const char *state)
{
    char err[MSG_ERRLEN];

    if (msg_notify(state, err, sizeof(err)) != MSG_OK) {
        log_msg(LOG_DEBUG, "alertd: sd_notify %s: %s", state, err);
    }
}

/* ---- libmosquitto's thread ------------------------------------------------------------------ */

/* system_service_down (docs/alerts.md): every collector's retained health, on each connect
 * (a clean session: the retained messages come again, so nothing missed while away counts). */
static void services_subscribe(struct alertd *a, struct mosquitto *mosq)
{
    int rc;

    if (a->services == NULL) {
        return;
    }
    rc = mosquitto_subscribe_v5(mosq, NULL, MSG_TOPIC_PREFIX "_sys/health/+", 1, 0, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        log_msg(LOG_WARNING, "alertd: cannot subscribe to the collectors' health: %s",
                mosquitto_strerror(rc));
    }
}

/* A collector's health: recorded for the run loop (service_watch has its own lock). */
static void on_health_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m,
                              const mosquitto_property *props)
{
    struct alertd *a = obj;
    char err[MSG_ERRLEN] = "";

    (void)mosq;
    (void)props;
    if (a->services == NULL || m->topic == NULL || m->payloadlen < 0) {
        return;
    }
    if (service_watch_health(a->services, m->topic, m->payload, (size_t)m->payloadlen,
                             msg_clock_wall_ms(), err, sizeof(err)) != MSG_OK) {
        log_msg(LOG_DEBUG, "alertd: ignored a message on %s: %s", m->topic, err);
    }
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
                       const mosquitto_property *props)
{
    struct alertd *a = obj;

    (void)mosq;
    (void)flags;
    (void)props;
    pthread_mutex_lock(&a->lock);
    a->mqtt_connected = rc == 0;
    pthread_mutex_unlock(&a->lock);
    if (rc == 0) {
        log_msg(LOG_NOTICE, "alertd: connected to the broker %s:%lld", a->cfg.mqtt_host,
                a->cfg.mqtt_port);
        services_subscribe(a, mosq);
    } else {
        log_msg(LOG_WARNING, "alertd: broker refused the connection: %s",
                mosquitto_reason_string(rc));
    }
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc,
                          const mosquitto_property *props)
{
    struct alertd *a = obj;

    (void)mosq;
    (void)props;
    pthread_mutex_lock(&a->lock);
    a->mqtt_connected = false;
    pthread_cond_broadcast(&a->cond);
    pthread_mutex_unlock(&a->lock);
    if (rc != 0) {
        log_msg(LOG_WARNING, "alertd: lost the broker (%s), reconnecting", mosquitto_strerror(rc));
    }
}

/* libmosquitto's own log: its errors are what says why a connection its thread retries keeps
 * failing (a TLS handshake the broker's certificate fails, "OpenSSL Error[0]: ..."). */
static void on_log(struct mosquitto *mosq, void *obj, int level, const char *str)
{
    (void)mosq;
    (void)obj;
    if ((level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING)) != 0) {
        log_msg(LOG_WARNING, "alertd: broker connection: %s", str);
    } else if ((level & MOSQ_LOG_NOTICE) != 0) {
        log_msg(LOG_DEBUG, "alertd: libmosquitto: %s", str);
    }
}

/* libmosquitto 2.0 calls this on the PUBACK of a QoS 1 message. Only records it: the caller's
 * thread never calls libmosquitto while it holds the lock, so this cannot deadlock. */
static void on_publish(struct mosquitto *mosq, void *obj, int mid, int reason,
                       const mosquitto_property *props)
{
    struct alertd *a = obj;

    (void)mosq;
    (void)props;
    pthread_mutex_lock(&a->lock);
    if (a->nacks < ALERTD_INFLIGHT_MAX) {
        a->acks[a->nacks].mid = mid;
        a->acks[a->nacks].reason = reason;
        a->nacks++;
    }
    pthread_cond_broadcast(&a->cond);
    pthread_mutex_unlock(&a->lock);
}

/* ---- set-up --------------------------------------------------------------------------------- */

struct alertd *alertd_new(const struct alertd_config *cfg, char *err, size_t errlen)
{
    struct alertd *a = calloc(1, sizeof(*a));
    pthread_condattr_t ca;
    int rc;

    if (a == NULL) {
        snprintf(err, errlen, "alertd: out of memory");
        return NULL;
    }
    a->cfg = *cfg;
    a->metrics_fd = -1;
    pthread_mutex_init(&a->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&a->cond, &ca);
    pthread_condattr_destroy(&ca);
    a->db_backoff_ms = cfg->backoff_min_ms;
    a->mqtt_backoff_ms = 500;
    if (cfg->metrics_port > 0) {
        a->metrics_fd = alertd_metrics_open(cfg->metrics_address, cfg->metrics_port, err, errlen);
        if (a->metrics_fd < 0) {
            goto fail;
        }
    }
    for (size_t i = 0; i <= a->cfg.nunits; i++) {
        bool global = i == a->cfg.nunits;
        struct hook_dest *d = &a->dests[a->ndests];

        if (global && a->cfg.webhook_url[0] == '\0') {
            break;
        }
        d->unit = global ? NULL : a->cfg.units[i].unit;
        d->hook =
            webhook_new(global ? a->cfg.webhook_url : a->cfg.units[i].url,
                        global ? a->cfg.webhook_secret : a->cfg.units[i].secret,
                        cfg->webhook_timeout_ms, cfg->webhook_connect_timeout_ms, err, errlen);
        if (d->hook == NULL) {
            goto fail;
        }
        a->ndests++;
    }
    if (cfg->mqtt) {
        a->mosq = mosquitto_new(cfg->alertd_id, true, a);
        if (a->mosq == NULL) {
            snprintf(err, errlen, "alertd: cannot make the MQTT client: %s", strerror(errno));
            goto fail;
        }
        mosquitto_int_option(a->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
        mosquitto_connect_v5_callback_set(a->mosq, on_connect);
        mosquitto_disconnect_v5_callback_set(a->mosq, on_disconnect);
        mosquitto_publish_v5_callback_set(a->mosq, on_publish);
        mosquitto_message_v5_callback_set(a->mosq, on_health_message);
        mosquitto_log_callback_set(a->mosq, on_log);
        a->services = service_watch_new(cfg->time_rules_interval_ms);
        if (a->services == NULL) {
            snprintf(err, errlen, "alertd: out of memory");
            goto fail;
        }
        if (cfg->mqtt_username[0] != '\0') {
            rc = mosquitto_username_pw_set(a->mosq, cfg->mqtt_username,
                                           cfg->mqtt_password[0] != '\0' ? cfg->mqtt_password
                                                                         : NULL);
            if (rc != MOSQ_ERR_SUCCESS) {
                snprintf(err, errlen, "alertd: mqtt_username: %s", mosquitto_strerror(rc));
                goto fail;
            }
        }
        if (cfg->mqtt_tls) {
            rc = mosquitto_tls_set(a->mosq, cfg->mqtt_tls_cafile[0] ? cfg->mqtt_tls_cafile : NULL,
                                   cfg->mqtt_tls_cafile[0] ? NULL : "/etc/ssl/certs",
                                   cfg->mqtt_tls_certfile[0] ? cfg->mqtt_tls_certfile : NULL,
                                   cfg->mqtt_tls_keyfile[0] ? cfg->mqtt_tls_keyfile : NULL, NULL);
            if (rc != MOSQ_ERR_SUCCESS) {
                snprintf(err, errlen, "alertd: mqtt_tls: %s", mosquitto_strerror(rc));
                goto fail;
            }
        }
    }
    return a;
fail:
    alertd_free(a);
    return NULL;
}

void alertd_free(struct alertd *a)
{
    if (a == NULL) {
        return;
    }
    if (a->mosq != NULL) {
        mosq_loop_stop(&a->loop, ALERTD_DRAIN_MS);
        mosquitto_destroy(a->mosq);
    }
    for (size_t i = 0; i < a->ndests; i++) {
        webhook_free(a->dests[i].hook);
    }
    service_watch_free(a->services);
    if (a->metrics_fd >= 0) {
        close(a->metrics_fd);
    }
    if (a->db != NULL) {
        PQfinish(a->db);
    }
    pthread_cond_destroy(&a->cond);
    pthread_mutex_destroy(&a->lock);
    alertd_config_wipe(&a->cfg);
    free(a);
}

/* ---- PostgreSQL ----------------------------------------------------------------------------- */

/* The first line of the connection's (or res's) error. */
static void pg_error(struct alertd *a, const PGresult *res, char *out, size_t outlen)
{
    const char *msg = res != NULL ? PQresultErrorMessage(res) : NULL;

    if (msg == NULL || msg[0] == '\0') {
        msg = a->db != NULL ? PQerrorMessage(a->db) : "no connection";
    }
    snprintf(out, outlen, "%s", msg);
    out[strcspn(out, "\n")] = '\0';
}

static void db_drop(struct alertd *a)
{
    if (a->db != NULL) {
        PQfinish(a->db);
        a->db = NULL;
    }
}

/* Runs sql with params; returns the result when its status is want, else NULL with err set
 * (and the connection dropped when it is gone). Caller frees the result with PQclear. */
static PGresult *db_query(struct alertd *a, const char *sql, int nparams, const char *const *params,
                          ExecStatusType want, char *err, size_t errlen)
{
    /* PQexec for a statement without parameters: it may hold several (LISTEN a; LISTEN b) */
    PGresult *res = nparams == 0 ? PQexec(a->db, sql)
                                 : PQexecParams(a->db, sql, nparams, NULL, params, NULL, NULL, 0);

    if (PQresultStatus(res) == want) {
        return res;
    }
    {
        char msg[MSG_ERRLEN];

        pg_error(a, res, msg, sizeof(msg));
        snprintf(err, errlen, "%s", msg);
    }
    PQclear(res);
    if (PQstatus(a->db) != CONNECTION_OK) {
        db_drop(a);
    }
    return NULL;
}

/* Connects and LISTENs, unless connected or still backing off. Returns whether connected. */
static bool db_ensure(struct alertd *a)
{
    const char *keys[] = {"application_name", "connect_timeout", "keepalives", "keepalives_idle",
                          "dbname",           "password",        NULL};
    const char *vals[] = {"pantau-alertd",
                          "5",
                          "1",
                          "10",
                          a->cfg.db_conninfo,
                          a->cfg.db_password[0] != '\0' ? a->cfg.db_password : NULL,
                          NULL};
    char err[MSG_ERRLEN];
    PGresult *res = NULL;
    int64_t now = msg_clock_mono_ms();

    if (a->db != NULL && PQstatus(a->db) == CONNECTION_OK) {
        return true;
    }
    db_drop(a);
    if (now < a->db_retry_at_ms) {
        return false;
    }
    if (vals[5] == NULL) {
        keys[5] = NULL;
    }
    a->db = PQconnectdbParams(keys, vals, 1);
    if (a->db == NULL || PQstatus(a->db) != CONNECTION_OK) {
        pg_error(a, NULL, err, sizeof(err));
        goto fail;
    }
    res = db_query(a, "LISTEN pantau_alert_pending; LISTEN pantau_alert", 0, NULL, PGRES_COMMAND_OK,
                   err, sizeof(err));
    if (res == NULL) {
        goto fail;
    }
    PQclear(res);
    log_msg(LOG_NOTICE, "alertd: connected to the database, listening on pantau_alert_pending");
    a->db_backoff_ms = a->cfg.backoff_min_ms;
    if (!a->ready_sent) {
        notify_systemd("READY=1");
        a->ready_sent = true;
    }
    return true;
fail:
    log_msg(LOG_WARNING, "alertd: database not reachable (%s), retrying in %lld ms", err,
            a->db_backoff_ms);
    db_drop(a);
    a->db_retry_at_ms = now + a->db_backoff_ms;
    a->db_backoff_ms = msg_backoff_cap(a->db_backoff_ms, a->cfg.backoff_max_ms, 1);
    return false;
}

/* One SQL statement without result rows of interest. */
static int db_command(struct alertd *a, const char *sql, char *err, size_t errlen)
{
    PGresult *res = db_query(a, sql, 0, NULL, PGRES_COMMAND_OK, err, errlen);

    if (res == NULL) {
        return MSG_ERR_DB;
    }
    PQclear(res);
    return MSG_OK;
}

/* SELECT f(...) returning one integer; -1 on failure (err set). */
static long long db_scalar(struct alertd *a, const char *sql, int nparams,
                           const char *const *params, char *err, size_t errlen)
{
    PGresult *res = db_query(a, sql, nparams, params, PGRES_TUPLES_OK, err, errlen);
    long long v = -1;

    if (res == NULL) {
        return -1;
    }
    if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
        v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    } else {
        v = 0;
    }
    PQclear(res);
    return v;
}

/* ---- evaluate and escalate ------------------------------------------------------------------ */

/* How long one round evaluates before it delivers: under a steady load the queue is never
 * empty, and evaluating until it is would hold back the delivery of what was already raised
 * (tests/bench/alerts/bench_alert_latency.py measured p99 of 14 s at half the collector's peak
 * rate). The round after the delivery goes on with the queue at once. */
#define ALERTD_EVALUATE_BUDGET_MS 100

/* Whether the call just made raised or paged an alert: its NOTIFY pantau_alert (sent at its
 * commit) came with its result. Drains the notifications that came with it: the caller
 * evaluates again (or delivers and comes back at once), so a pantau_alert_pending among them
 * needs no wake-up. */
static bool raised_now(struct alertd *a)
{
    bool raised = false;
    PGnotify *note = NULL;

    if (a->db == NULL) {
        return false;
    }
    PQconsumeInput(a->db);
    note = PQnotifies(a->db);
    while (note != NULL) {
        if (strcmp(note->relname, "pantau_alert") == 0) {
            raised = true;
        }
        PQfreemem(note);
        note = PQnotifies(a->db);
    }
    return raised;
}

/* Evaluates until the queue is empty, the budget is spent or a call raised an alert (026: the
 * queue's urgent items come first; what they raise is delivered before anything else is
 * evaluated); *left: whether it stopped with items perhaps still queued. */
static int evaluate_all(struct alertd *a, volatile sig_atomic_t *stop, int *left, char *err,
                        size_t errlen)
{
    char n[24];
    const char *params[1] = {n};
    int64_t until = msg_clock_mono_ms() + ALERTD_EVALUATE_BUDGET_MS;

    *left = 0;
    snprintf(n, sizeof(n), "%lld", a->cfg.evaluate_batch);
    while (!*stop) {
        long long items =
            db_scalar(a, "SELECT pantau_alert.evaluate($1::integer)", 1, params, err, errlen);

        if (items < 0) {
            return MSG_ERR_DB;
        }
        if (items == 0) {
            /* the notifications stay for wait_notify: one may say work came just now */
            break;
        }
        a->evaluated += (unsigned long long)items;
        log_msg(LOG_DEBUG, "alertd: evaluated %lld queue items", items);
        if (raised_now(a) || msg_clock_mono_ms() >= until) {
            *left = 1;
            break;
        }
    }
    return MSG_OK;
}

/* The time-driven rules (015): silent gauges, offline gateways, the dead-letter rate, growing
 * backlogs. */
static int evaluate_time(struct alertd *a, char *err, size_t errlen)
{
    long long n = db_scalar(a, "SELECT pantau_alert.evaluate_time(now())", 0, NULL, err, errlen);

    if (n < 0) {
        return MSG_ERR_DB;
    }
    if (n > 0) {
        a->time_changes += (unsigned long long)n;
        log_msg(LOG_INFO, "alertd: time-driven rules raised or resolved %lld alert(s)", n);
    }
    return MSG_OK;
}

/* system_service_down: each collector's change of state, and while it is down its state again
 * every time_rules_interval, to pantau_alert.service_state (schema/018), which decides. A
 * report PostgreSQL did not take stays due (a database outage is waited out). */
static int report_services(struct alertd *a, char *err, size_t errlen)
{
    struct service_report r[16];
    size_t n;
    size_t i;

    if (a->services == NULL) {
        return MSG_OK;
    }
    n = service_watch_due(a->services, msg_clock_mono_ms(), r, sizeof(r) / sizeof(r[0]));
    for (i = 0; i < n; i++) {
        char seen[32];
        const char *params[4] = {r[i].collector, r[i].up ? "true" : "false", seen, r[i].why};
        long long changed;

        snprintf(seen, sizeof(seen), "%lld.%03lld", (long long)(r[i].seen_wall_ms / 1000),
                 (long long)(r[i].seen_wall_ms % 1000));
        changed = db_scalar(a,
                            "SELECT pantau_alert.service_state($1, $2::boolean,"
                            " to_timestamp($3::double precision), $4)",
                            4, params, err, errlen);
        if (changed < 0) {
            return MSG_ERR_DB;
        }
        service_watch_done(a->services, &r[i], msg_clock_mono_ms());
        if (changed > 0) {
            a->time_changes += (unsigned long long)changed;
            log_msg(LOG_NOTICE, "alertd: system_service_down %s for collector=%s%s%s",
                    r[i].up ? "resolved" : "raised", r[i].collector, r[i].up ? "" : ": ", r[i].why);
        } else {
            log_msg(LOG_DEBUG, "alertd: collector=%s reported %s", r[i].collector,
                    r[i].up ? "up" : "down");
        }
    }
    return MSG_OK;
}

static int escalate(struct alertd *a, char *err, size_t errlen)
{
    long long steps = db_scalar(a, "SELECT pantau_alert.escalate(now())", 0, NULL, err, errlen);

    if (steps < 0) {
        return MSG_ERR_DB;
    }
    if (steps > 0) {
        a->escalated += (unsigned long long)steps;
        log_msg(LOG_INFO, "alertd: escalated %lld alert(s) to their next unit", steps);
    }
    return MSG_OK;
}

/* ---- delivery ------------------------------------------------------------------------------- */

/* retry_min * 2^attempts, at most retry_max. */
static long long retry_delay_ms(const struct alertd *a, long long attempts)
{
    unsigned n = attempts < 0 ? 0 : attempts > 62 ? 62 : (unsigned)attempts;

    return msg_backoff_cap(a->cfg.retry_min_ms, a->cfg.retry_max_ms, n);
}

static int mark_done(struct alertd *a, const char *id, char *err, size_t errlen)
{
    const char *params[1] = {id};
    PGresult *res = db_query(a, "SELECT pantau_alert.delivery_done($1::bigint)", 1, params,
                             PGRES_TUPLES_OK, err, errlen);

    if (res == NULL) {
        return MSG_ERR_DB;
    }
    PQclear(res);
    return MSG_OK;
}

/* Records a failed attempt; *delay_ms is the retry delay used (when it is > 0 on entry, that
 * one: a row deferred because its receiver is paused, which counts in the outbox's attempts
 * but not as a failure in the metrics). */
static int mark_retry(struct alertd *a, enum channel ch, const char *id, long long attempts,
                      const char *why, long long *delay_ms, char *err, size_t errlen)
{
    bool deferred = *delay_ms > 0;

    char after[48];
    char give_up[48];
    const char *params[4] = {id, why, after, give_up};
    PGresult *res = NULL;

    if (!deferred) {
        *delay_ms = retry_delay_ms(a, attempts);
    }
    snprintf(after, sizeof(after), "%lld milliseconds", *delay_ms);
    snprintf(give_up, sizeof(give_up), "%lld milliseconds", a->cfg.give_up_after_ms);
    res = db_query(a,
                   "SELECT pantau_alert.delivery_retry($1::bigint, $2, $3::interval, "
                   "$4::interval)",
                   4, params, PGRES_TUPLES_OK, err, errlen);
    if (res == NULL) {
        return MSG_ERR_DB;
    }
    if (!deferred) {
        a->failed[ch]++;
    }
    if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "failed") == 0) {
        a->given_up[ch]++;
        log_msg(LOG_ERR, "alertd: gave up delivery %s on %s after %lld attempts: %s", id,
                channel_names[ch], attempts + 1, why);
    } else {
        log_msg(LOG_DEBUG, "alertd: delivery %s on %s failed (attempt %lld), again in %lld ms: %s",
                id, channel_names[ch], attempts + 1, *delay_ms, why);
    }
    PQclear(res);
    return MSG_OK;
}

/* Columns of delivery_claim() as we select them. */
enum {
    COL_ID,
    COL_KEY,
    COL_UNIT,
    COL_KIND,
    COL_SUBJECT,
    COL_RETAIN,
    COL_ATTEMPTS,
    COL_BODY
};
#define CLAIM_SQL                                                                          \
    "SELECT delivery_id, idempotency_key, unit_id, kind, subject, retain, attempts, body " \
    "FROM pantau_alert.delivery_claim($1, $2::integer)"

static bool mqtt_connected(struct alertd *a)
{
    bool c;

    pthread_mutex_lock(&a->lock);
    c = a->mqtt_connected;
    pthread_mutex_unlock(&a->lock);
    return c;
}

/* Publishes the claimed rows, waits for their PUBACKs (puback_timeout), marks them. */
static int deliver_mqtt(struct alertd *a, PGresult *rows, char *err, size_t errlen)
{
    int n = PQntuples(rows);
    int mids[ALERTD_INFLIGHT_MAX];
    int reasons[ALERTD_INFLIGHT_MAX];
    int published = 0;
    int64_t deadline;
    struct timespec ts;
    int rc = MSG_OK;

    if (n > ALERTD_INFLIGHT_MAX) {
        n = ALERTD_INFLIGHT_MAX;
    }
    pthread_mutex_lock(&a->lock);
    a->nacks = 0;
    pthread_mutex_unlock(&a->lock);
    for (int i = 0; i < n; i++) {
        char topic[MSG_TOPIC_MAX + 1];
        const char *body = PQgetvalue(rows, i, COL_BODY);
        int prc;

        mids[i] = -1;
        reasons[i] = -1;
        if (msg_topic_alert_format(topic, sizeof(topic), PQgetvalue(rows, i, COL_UNIT),
                                   PQgetvalue(rows, i, COL_KIND),
                                   PQgetvalue(rows, i, COL_SUBJECT)) != MSG_OK) {
            reasons[i] = -2;
            continue;
        }
        prc = mosquitto_publish_v5(a->mosq, &mids[i], topic, (int)strlen(body), body, 1,
                                   PQgetvalue(rows, i, COL_RETAIN)[0] == 't', NULL);
        if (prc != MOSQ_ERR_SUCCESS) {
            /* not connected (any more): this and the rest stay pending, untouched */
            log_msg(LOG_DEBUG, "alertd: publish %s: %s", topic, mosquitto_strerror(prc));
            mids[i] = -1;
            pthread_mutex_lock(&a->lock);
            a->mqtt_connected = false; /* until on_connect says otherwise: no busy loop */
            pthread_mutex_unlock(&a->lock);
            break;
        }
        published = i + 1;
    }
    /* the PUBACKs, or the deadline */
    deadline = msg_clock_mono_ms() + a->cfg.puback_timeout_ms;
    pthread_mutex_lock(&a->lock);
    for (;;) {
        int missing = 0;

        for (int i = 0; i < published; i++) {
            if (mids[i] < 0 || reasons[i] != -1) {
                continue;
            }
            for (size_t k = 0; k < a->nacks; k++) {
                if (a->acks[k].mid == mids[i]) {
                    reasons[i] = a->acks[k].reason;
                }
            }
            if (reasons[i] == -1) {
                missing++;
            }
        }
        if (missing == 0 || msg_clock_mono_ms() >= deadline) {
            break;
        }
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 20 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&a->cond, &a->lock, &ts);
    }
    pthread_mutex_unlock(&a->lock);
    for (int i = 0; i < published && rc == MSG_OK; i++) {
        const char *id = PQgetvalue(rows, i, COL_ID);
        long long attempts = strtoll(PQgetvalue(rows, i, COL_ATTEMPTS), NULL, 10);
        long long delay = 0;
        char why[128];

        if (mids[i] >= 0 && reasons[i] >= 0 && reasons[i] < 0x80) {
            rc = mark_done(a, id, err, errlen);
            if (rc == MSG_OK) {
                a->delivered[CHANNEL_MQTT]++;
                log_msg(LOG_DEBUG, "alertd: delivered %s on mqtt", PQgetvalue(rows, i, COL_KEY));
            }
            continue;
        }
        if (reasons[i] == -2) {
            snprintf(why, sizeof(why), "no topic for unit '%s', kind '%s'",
                     PQgetvalue(rows, i, COL_UNIT), PQgetvalue(rows, i, COL_KIND));
        } else if (reasons[i] == -1) {
            snprintf(why, sizeof(why), "no PUBACK within %lld ms", a->cfg.puback_timeout_ms);
        } else {
            snprintf(why, sizeof(why), "PUBACK reason %d: %s", reasons[i],
                     mosquitto_reason_string(reasons[i]));
        }
        rc = mark_retry(a, CHANNEL_MQTT, id, attempts, why, &delay, err, errlen);
    }
    return rc;
}

/* The destination of a unit's webhook deliveries: its own, else the global one, else NULL. */
static struct hook_dest *dest_for(struct alertd *a, const char *unit)
{
    for (size_t i = 0; i < a->ndests; i++) {
        if (a->dests[i].unit == NULL || strcmp(a->dests[i].unit, unit) == 0) {
            return &a->dests[i];
        }
    }
    return NULL;
}

/* When the first destination is out of its pause (now or earlier: one is ready). */
static int64_t webhook_ready_at(const struct alertd *a)
{
    int64_t at = INT64_MAX;

    for (size_t i = 0; i < a->ndests; i++) {
        if (a->dests[i].pause_until_ms < at) {
            at = a->dests[i].pause_until_ms;
        }
    }
    return at;
}

/* POSTs the claimed rows one by one, each to its unit's destination, marking each. After a
 * failure that destination pauses for the failed row's retry delay (its receiver is likely
 * down): its further rows are deferred to the pause's end (next_attempt_at) while other units'
 * rows go on; when every destination is paused the rest wait untouched. A row whose unit has
 * no destination is retried (and given up in the end) with that as its error. On a stop
 * request, the POST in hand is finished and marked, the rest left pending. */
static int deliver_webhook(struct alertd *a, PGresult *rows, volatile sig_atomic_t *stop, char *err,
                           size_t errlen)
{
    int n = PQntuples(rows);
    int rc = MSG_OK;

    for (int i = 0; i < n && rc == MSG_OK; i++) {
        const char *id = PQgetvalue(rows, i, COL_ID);
        const char *key = PQgetvalue(rows, i, COL_KEY);
        const char *unit = PQgetvalue(rows, i, COL_UNIT);
        const char *body = PQgetvalue(rows, i, COL_BODY);
        long long attempts = strtoll(PQgetvalue(rows, i, COL_ATTEMPTS), NULL, 10);
        long long delay = 0;
        int64_t now = msg_clock_mono_ms();
        struct hook_dest *d = dest_for(a, unit);
        char why[MSG_ERRLEN];

        if (i > 0 && *stop) {
            break;
        }
        if (d == NULL) {
            snprintf(why, sizeof(why), "no webhook_url for unit '%s'", unit);
            if (attempts == 0) {
                log_msg(LOG_WARNING, "alertd: delivery %s: %s", key, why);
            }
            rc = mark_retry(a, CHANNEL_WEBHOOK, id, attempts, why, &delay, err, errlen);
            continue;
        }
        if (now < d->pause_until_ms) {
            if (webhook_ready_at(a) > now) {
                break;
            }
            snprintf(why, sizeof(why), "not tried: the receiver of unit '%s' failed just before",
                     unit);
            delay = d->pause_until_ms - now;
            rc = mark_retry(a, CHANNEL_WEBHOOK, id, attempts, why, &delay, err, errlen);
            continue;
        }
        if (webhook_post(d->hook, key, body, strlen(body), why, sizeof(why)) == MSG_OK) {
            rc = mark_done(a, id, err, errlen);
            if (rc == MSG_OK) {
                a->delivered[CHANNEL_WEBHOOK]++;
                log_msg(LOG_DEBUG, "alertd: delivered %s on webhook", key);
            }
            continue;
        }
        rc = mark_retry(a, CHANNEL_WEBHOOK, id, attempts, why, &delay, err, errlen);
        if (attempts == 0 || a->failed[CHANNEL_WEBHOOK] % 100 == 1) {
            log_msg(LOG_WARNING, "alertd: %s (attempt %lld); webhook%s%s paused %lld ms", why,
                    attempts + 1, d->unit != NULL ? " of unit " : "",
                    d->unit != NULL ? d->unit : "", delay);
        }
        d->pause_until_ms = msg_clock_mono_ms() + delay;
    }
    return rc;
}

/* One batch of one channel in one transaction. Returns the rows claimed (0: none due), or -1
 * on a database failure (err set). */
static int deliver_batch(struct alertd *a, enum channel ch, volatile sig_atomic_t *stop, char *err,
                         size_t errlen)
{
    char max[24];
    const char *params[2] = {channel_names[ch], max};
    PGresult *rows = NULL;
    int n = -1;
    int rc;

    snprintf(max, sizeof(max), "%lld", a->cfg.delivery_batch);
    if (db_command(a, "BEGIN", err, errlen) != MSG_OK) {
        return -1;
    }
    rows = db_query(a, CLAIM_SQL, 2, params, PGRES_TUPLES_OK, err, errlen);
    if (rows == NULL) {
        goto out;
    }
    if (PQntuples(rows) > 0) {
        rc = ch == CHANNEL_MQTT ? deliver_mqtt(a, rows, err, errlen)
                                : deliver_webhook(a, rows, stop, err, errlen);
        if (rc != MSG_OK) {
            goto out;
        }
    }
    if (db_command(a, "COMMIT", err, errlen) != MSG_OK) {
        goto out;
    }
    n = PQntuples(rows);
out:
    if (n < 0 && a->db != NULL) {
        char ignored[MSG_ERRLEN];

        db_command(a, "ROLLBACK", ignored, sizeof(ignored));
    }
    PQclear(rows);
    return n;
}

/* ---- the loop ------------------------------------------------------------------------------- */

static void mqtt_ensure(struct alertd *a)
{
    int64_t now = msg_clock_mono_ms();
    int rc;

    if (a->mosq == NULL || a->loop.started || now < a->mqtt_retry_at_ms) {
        return;
    }
    /* the first connect here (its failure logged and retried), then the network thread
     * (mosq_loop.h) reconnects after any failure, a TLS handshake's too */
    rc = mosquitto_connect_bind_v5(a->mosq, a->cfg.mqtt_host, (int)a->cfg.mqtt_port,
                                   (int)(a->cfg.mqtt_keepalive_ms / 1000), NULL, NULL);
    if (rc == MOSQ_ERR_SUCCESS) {
        rc = mosq_loop_start(&a->loop, a->mosq, "alertd", a->cfg.mqtt_host, a->cfg.mqtt_port);
        if (rc == MOSQ_ERR_SUCCESS) {
            return;
        }
    }
    log_msg(LOG_WARNING, "alertd: broker %s:%lld not reachable (%s), retrying in %lld ms",
            a->cfg.mqtt_host, a->cfg.mqtt_port,
            rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc), a->mqtt_backoff_ms);
    a->mqtt_retry_at_ms = now + a->mqtt_backoff_ms;
    a->mqtt_backoff_ms = a->mqtt_backoff_ms * 2 > 30000 ? 30000 : a->mqtt_backoff_ms * 2;
}

static bool mqtt_connected(struct alertd *a);

/* The Prometheus text of the counters (STYLE 11: pantau_alertd_<what>_<unit>). */
static void metrics_text(struct alertd *a, char *buf, size_t len)
{
    static const char *const ch[] = {"mqtt", "webhook"};
    size_t n = 0;
    int w;

    w = snprintf(buf, len,
                 "# TYPE pantau_alertd_evaluated_items_total counter\n"
                 "pantau_alertd_evaluated_items_total %llu\n"
                 "# TYPE pantau_alertd_escalations_total counter\n"
                 "pantau_alertd_escalations_total %llu\n"
                 "# TYPE pantau_alertd_time_rule_changes_total counter\n"
                 "pantau_alertd_time_rule_changes_total %llu\n"
                 "# TYPE pantau_alertd_db_up gauge\npantau_alertd_db_up %d\n"
                 "# TYPE pantau_alertd_mqtt_connected gauge\npantau_alertd_mqtt_connected %d\n"
                 "# TYPE pantau_alertd_deliveries_total counter\n"
                 "# TYPE pantau_alertd_delivery_failures_total counter\n"
                 "# TYPE pantau_alertd_deliveries_given_up_total counter\n",
                 a->evaluated, a->escalated, a->time_changes,
                 a->db != NULL && PQstatus(a->db) == CONNECTION_OK,
                 a->mosq != NULL && mqtt_connected(a));
    for (int i = 0; i < 2 && w > 0 && (size_t)w < len - n; i++) {
        n += (size_t)w;
        w = snprintf(buf + n, len - n,
                     "pantau_alertd_deliveries_total{channel=\"%s\"} %llu\n"
                     "pantau_alertd_delivery_failures_total{channel=\"%s\"} %llu\n"
                     "pantau_alertd_deliveries_given_up_total{channel=\"%s\"} %llu\n",
                     ch[i], a->delivered[i], ch[i], a->failed[i], ch[i], a->given_up[i]);
    }
}

/* Answers a waiting /metrics client, if any. */
static void metrics_serve(struct alertd *a)
{
    char body[2048];

    metrics_text(a, body, sizeof(body));
    alertd_metrics_serve(a->metrics_fd, body);
}

/* Waits for a NOTIFY, at most ms (in ticks, watching the stop flag); answers /metrics. */
static void wait_notify(struct alertd *a, long long ms, volatile sig_atomic_t *stop)
{
    int64_t until = msg_clock_mono_ms() + ms;

    while (!*stop) {
        int64_t left = until - msg_clock_mono_ms();
        struct pollfd p[2];
        PGnotify *note = NULL;
        bool woken = false;

        if (left <= 0) {
            return;
        }
        p[0].fd = a->db != NULL ? PQsocket(a->db) : -1; /* poll ignores a negative fd */
        p[0].events = POLLIN;
        p[0].revents = 0;
        p[1].fd = a->metrics_fd;
        p[1].events = POLLIN;
        p[1].revents = 0;
        if (poll(p, 2, left < ALERTD_TICK_MS ? (int)left : ALERTD_TICK_MS) <= 0) {
            p[0].revents = 0;
            p[1].revents = 0;
        }
        if (p[1].revents != 0) {
            metrics_serve(a);
        }
        if (a->db == NULL || PQsocket(a->db) < 0) {
            continue;
        }
        if (p[0].revents != 0) {
            if (PQconsumeInput(a->db) == 0) {
                log_msg(LOG_WARNING, "alertd: lost the database: %s", PQerrorMessage(a->db));
                db_drop(a);
                return;
            }
        }
        note = PQnotifies(a->db);
        while (note != NULL) {
            log_msg(LOG_DEBUG, "alertd: NOTIFY %s '%s'", note->relname, note->extra);
            PQfreemem(note);
            woken = true;
            note = PQnotifies(a->db);
        }
        if (woken) {
            return;
        }
    }
}

static void log_summary(struct alertd *a)
{
    log_msg(LOG_INFO,
            "alertd: evaluated=%llu escalated=%llu mqtt delivered=%llu failed=%llu gave_up=%llu "
            "webhook delivered=%llu failed=%llu gave_up=%llu",
            a->evaluated, a->escalated, a->delivered[CHANNEL_MQTT], a->failed[CHANNEL_MQTT],
            a->given_up[CHANNEL_MQTT], a->delivered[CHANNEL_WEBHOOK], a->failed[CHANNEL_WEBHOOK],
            a->given_up[CHANNEL_WEBHOOK]);
}

/* One round: evaluate (at most ALERTD_EVALUATE_BUDGET_MS), escalate when due, one batch per
 * channel. Returns whether there may be more to evaluate or deliver at once (the budget spent,
 * a full batch), or -1 on a database failure. */
static int round_once(struct alertd *a, volatile sig_atomic_t *stop)
{
    char err[MSG_ERRLEN] = "";
    int64_t now = msg_clock_mono_ms();
    int more = 0;
    int n;

    if (evaluate_all(a, stop, &more, err, sizeof(err)) != MSG_OK) {
        goto fail;
    }
    if (now >= a->next_escalate_ms) {
        if (escalate(a, err, sizeof(err)) != MSG_OK) {
            goto fail;
        }
        a->next_escalate_ms = now + a->cfg.escalate_interval_ms;
    }
    if (now >= a->next_time_rules_ms) {
        if (evaluate_time(a, err, sizeof(err)) != MSG_OK) {
            goto fail;
        }
        a->next_time_rules_ms = now + a->cfg.time_rules_interval_ms;
    }
    if (report_services(a, err, sizeof(err)) != MSG_OK) {
        goto fail;
    }
    if (a->mosq != NULL && mqtt_connected(a)) {
        n = deliver_batch(a, CHANNEL_MQTT, stop, err, sizeof(err));
        if (n < 0) {
            goto fail;
        }
        more |= n >= a->cfg.delivery_batch;
    }
    if (a->ndests > 0 && !*stop && msg_clock_mono_ms() >= webhook_ready_at(a)) {
        n = deliver_batch(a, CHANNEL_WEBHOOK, stop, err, sizeof(err));
        if (n < 0) {
            goto fail;
        }
        more |= n >= a->cfg.delivery_batch && msg_clock_mono_ms() >= webhook_ready_at(a);
    }
    return more;
fail:
    log_msg(LOG_WARNING, "alertd: database: %s", err);
    if (a->db != NULL && PQstatus(a->db) != CONNECTION_OK) {
        db_drop(a);
    }
    return -1;
}

int alertd_run(struct alertd *a, volatile sig_atomic_t *stop, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    log_msg(LOG_NOTICE, "alertd: %s starting (mqtt %s, webhook %s, %zu unit webhook(s))",
            a->cfg.alertd_id, a->mosq != NULL ? "on" : "off",
            a->cfg.webhook_url[0] != '\0' ? "on" : "off", a->cfg.nunits);
    a->next_summary_ms = msg_clock_mono_ms() + a->cfg.summary_interval_ms;
    while (!*stop) {
        int more = 0;
        int64_t now;

        mqtt_ensure(a);
        if (db_ensure(a)) {
            more = round_once(a, stop);
        }
        now = msg_clock_mono_ms();
        if (now >= a->next_summary_ms) {
            log_summary(a);
            a->next_summary_ms = now + a->cfg.summary_interval_ms;
        }
        if (more > 0) {
            continue;
        }
        {
            long long wait = a->cfg.poll_interval_ms;
            int64_t esc = a->next_escalate_ms - now;
            int64_t timed = a->next_time_rules_ms - now;

            if (more < 0 && a->db != NULL) {
                /* an SQL error on a good connection: do not spin on it */
                wait = a->cfg.backoff_max_ms;
            } else if (a->db == NULL) {
                /* database down: until the next reconnect (the escalation waits for it) */
                int64_t retry = a->db_retry_at_ms - now;

                wait = retry < wait ? (retry < 10 ? 10 : retry) : wait;
            } else if (esc < wait || timed < wait) {
                wait = esc < timed ? esc : timed;
                wait = wait < 0 ? 0 : wait;
            }
            if (a->ndests > 0 && webhook_ready_at(a) > now && webhook_ready_at(a) - now < wait) {
                wait = webhook_ready_at(a) - now;
            }
            if (a->mosq != NULL && !mqtt_connected(a) && wait > 250) {
                wait = 250; /* deliver soon after the broker is back */
            }
            wait_notify(a, wait, stop);
        }
    }
    notify_systemd("STOPPING=1");
    log_summary(a);
    log_msg(LOG_NOTICE, "alertd: %s stopped", a->cfg.alertd_id);
    return MSG_OK;
}
