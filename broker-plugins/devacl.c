/* devacl.c -- MOSQ_EVT_ACL_CHECK: who may publish, subscribe to and read what. See devacl.h.
 *
 * What mosquitto 2.0.11 does, which this module relies on (src/security.c, handle_*.c):
 * - mosquitto_acl_check() runs the plugins' callbacks in order until one does not return
 *   MOSQ_ERR_PLUGIN_DEFER; when every one defers, the answer is a denial. So this module never
 *   defers: it allows or denies every access it is asked about, READ, SUBSCRIBE and
 *   UNSUBSCRIBE included.
 * - Before the plugins, $SYS topics are refused for WRITE and let through to the plugins for
 *   the rest; a $share/ filter is refused for READ and WRITE and let through for SUBSCRIBE and
 *   UNSUBSCRIBE, whole: "$share/<group>/<filter>" (handle_subscribe.c), so it is parsed here.
 * - A PUBLISH is checked (WRITE, with its payload, QoS and retain flag) before the message
 *   hook. A last will is checked only when it is sent (context__send_will(): WRITE, with its
 *   payload and QoS), never at CONNECT, and it does not pass the message hook: so a status
 *   payload is validated here, which covers the will. A will refused here is not published.
 * - A will on a reading stream cannot be told from a PUBLISH in its WRITE check (same event,
 *   same fields), and judging every PUBLISH here as well as in payval would parse each reading
 *   twice. What tells them apart is the order of events: a PUBLISH's WRITE check is followed at
 *   once by the message hook (handle__publish: ACL, then plugin__handle_message, then the
 *   deliveries), a will's goes straight to its deliveries (db__messages_easy_queue ->
 *   subs__send: one READ check per subscriber, synchronously, before context__send_will
 *   returns). So an allowed device WRITE is noted as `pending`; this
 *   module's message hook (registered before payval's, so called first) clears it, and so do
 *   the next WRITE check and the tick. A READ check that finds it still pending, for the same
 *   topic and length, is the delivery of a will: the will is judged then, once, with
 *   payval_check (on a reading stream; a status payload was judged in the WRITE check) and the
 *   will budget, and a refused will is denied to every subscriber (and passed on
 *   _sys/rejected, within the refusal budget, if refused for its content). A retained status
 *   will is stored as the retained message without a READ check: over the budget it still
 *   replaces the device's retained status (one message), but no collector is told. This covers every path that sends a
 *   will in 2.0.11 (a dropped connection, DISCONNECT 0x04, a takeover by the same client id,
 *   the will delay, session expiry, the broker's shutdown). A will nobody subscribes to is
 *   delivered to nobody and never judged.
 * - mosquitto_client_clean_session() is the Clean Start flag of the client's CONNECT (MQTT 5):
 *   a device with Clean Start 0 is denied every check, so its kept session does nothing.
 *   QoS 2 never reaches this module: the listeners set max_qos 1 (deploy/mosquitto.conf), so
 *   mosquitto refuses a QoS 2 PUBLISH (DISCONNECT 0x9B) or will (CONNACK 0x9B) itself.
 * - Clients authenticated by a TLS certificate (use_identity_as_username) never reach the
 *   password hook, and no hook runs again for a connected client on its own: the account is
 *   looked up on every check instead.
 * - Messages from mosquitto_broker_publish() skip the WRITE check (only this broker writes
 *   pantau/v1/_sys/rejected and $SYS/pantau/...) but get the READ check of each subscriber.
 *   It only queues the message for the main loop, so passing a refusal on from inside an ACL
 *   check starts no nested check and does not disturb `pending`.
 * - A device's PUBLISH refused here gets PUBACK 0x87 (QoS 1; a QoS 0 one is dropped) and the
 *   device retries it later: every try is a WRITE check of its own, with the payload, and is
 *   passed on again; the device's refusal budget, and the collector's dead-letter key, bound
 *   what that adds.
 */
#include "devacl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#include "msg_event.h"
#include "msg_health.h"
#include "msg_restore.h"
#include "msg_rejected.h"
#include "msg_topic.h"
#include "payval.h"
#include "plugin_module.h"
#include "msg_ratetable.h"
#include "refusal.h"
#include "stats.h"
#include "subfilter.h"

#define DEVACL_STATS_TOPIC STATS_TOPIC_PREFIX "devacl"
#define DEVACL_USERS_MAX 16384 /* users whose log budget is remembered */
#define DEVACL_LOG_BUCKET 0
#define DEVACL_FWD_BUCKET 1
#define DEVACL_WILL_BUCKET 2
#define DEVACL_DEFAULT_WILL_RATE "10/m burst 20"

/* A device's allowed WRITE on a reading stream that no message hook has followed yet: if a READ
 * check comes first, it is a will's delivery (see the top of this file). Copies, so that
 * nothing here points into a message that may be gone. */
struct devacl_pending {
    bool active;
    bool judged;  /* the will was judged at its first delivery ... */
    bool refused; /* ... and refused */
    bool status;  /* on the status topic: its payload was judged in the WRITE check */
    size_t payloadlen;
    char username[MSG_ID_MAX + 1];
    char topic[MSG_TOPIC_MAX + 1];
};

struct devacl {
    struct promfile *pf; /* the textfile its counters go to as well; NULL: none */
    mosquitto_plugin_id_t *pid;
    struct regcache *rc; /* borrowed for the plugin's lifetime */
    int64_t stats_interval_ms;
    int64_t next_stats_ms;                /* monotonic */
    int64_t next_sweep_ms;                /* monotonic */
    struct msg_bucket_rate rejected_rate; /* refused device messages forwarded per user */
    struct msg_bucket_rate will_rate;     /* wills delivered per device */
    struct msg_ratetable *users;          /* per user: log and forwarding budgets */
    uint64_t allowed;
    uint64_t denied[DEVACL_REASON_COUNT];
    uint64_t forwarded;
    uint64_t not_forwarded; /* a device's refusal over its budget, or the publish failed */
    uint64_t log_suppressed;
    uint64_t wills_judged; /* wills judged at their first delivery */
    struct devacl_pending pending;
    struct refusal_scratch scratch;
};

static const char *const devacl_reason_names[DEVACL_REASON_COUNT] = {
    "ok",     "no_username", "bad_id",  "client_id", "unknown_account", "disabled",
    "role",   "topic",       "foreign", "stream",    "retain",          "share",
    "filter", "payload",     "qos",     "session",   "will_rate",
};

const char *devacl_reason_name(enum devacl_reason r)
{
    if ((int)r < 0 || (int)r >= DEVACL_REASON_COUNT) {
        return "?";
    }
    return devacl_reason_names[r];
}

/* ---- the rules (pure) ---------------------------------------------------------------- */

/* What a role may read and subscribe to: the filters of its streams (msg_topic_filter), and up
 * to two filters more (a $SYS subtree, a device's own acknowledgements, the alert tree), or
 * NULL. */
struct reading_scope {
    const enum msg_stream *streams;
    size_t n;
    const char *extra;
    const char *extra2;
};

static const enum msg_stream collector_streams[] = {
    MSG_STREAM_FLOOD,   MSG_STREAM_TRAFFIC, MSG_STREAM_INCIDENT, MSG_STREAM_LARVA,
    MSG_STREAM_DROPPED, MSG_STREAM_STATUS,  MSG_STREAM_REJECTED, MSG_STREAM_HEALTH,
};
static const enum msg_stream watcher_streams[] = {MSG_STREAM_STATUS, MSG_STREAM_HEALTH,
                                                  MSG_STREAM_RESTORE};
/* and its own ack */
static const enum msg_stream device_streams[] = {MSG_STREAM_HEALTH, MSG_STREAM_RESTORE};
/* an edge broker's bridge reads what its devices read: every device's acks, the health, the
 * restore announcement */
static const enum msg_stream bridge_streams[] = {MSG_STREAM_ACK, MSG_STREAM_HEALTH,
                                                 MSG_STREAM_RESTORE};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
static const struct reading_scope collector_scope = {collector_streams, N_OF(collector_streams),
                                                     NULL, NULL};
/* a dashboard (the operation center's console) reads every unit's alerts (protocol.md 12); a
 * unit account only its own unit's subtree (decide_unit) */
static const struct reading_scope dashboard_scope = {
    watcher_streams, N_OF(watcher_streams), STATS_TOPIC_PREFIX "#", MSG_TOPIC_ALERT_PREFIX "#"};
static const struct reading_scope bridge_scope = {bridge_streams, N_OF(bridge_streams), NULL, NULL};
static const struct reading_scope admin_scope = {watcher_streams, N_OF(watcher_streams), "$SYS/#",
                                                 NULL};

static const char *access_name(int access)
{
    switch (access) {
    case MOSQ_ACL_READ:
        return "read";
    case MOSQ_ACL_WRITE:
        return "publish";
    case MOSQ_ACL_SUBSCRIBE:
        return "subscribe";
    case MOSQ_ACL_UNSUBSCRIBE:
        return "unsubscribe";
    default:
        return "access";
    }
}

static bool within_any(const char *filter, const struct reading_scope *scope)
{
    for (size_t i = 0; i < scope->n; i++) {
        if (subfilter_within(filter, msg_topic_filter(scope->streams[i]))) {
            return true;
        }
    }
    return (scope->extra != NULL && subfilter_within(filter, scope->extra)) ||
           (scope->extra2 != NULL && subfilter_within(filter, scope->extra2));
}

/* SUBSCRIBE and READ against a role's scope: the filter (or topic) must lie within one of its
 * filters. */
static enum devacl_reason check_reading(const struct devacl_request *req,
                                        const struct reading_scope *scope, bool may_share,
                                        const char *role, char *err, size_t errlen)
{
    struct subfilter sf;
    char why[MSG_ERRLEN] = "";

    if (req->access == MOSQ_ACL_READ) {
        if (!within_any(req->topic, scope)) {
            snprintf(err, errlen, "a %s may not read this topic", role);
            return DEVACL_TOPIC;
        }
        return DEVACL_OK;
    }
    if (subfilter_parse(req->topic, &sf, why, sizeof(why)) != MSG_OK) {
        snprintf(err, errlen, "bad subscription filter: %s", why);
        return DEVACL_FILTER;
    }
    if (sf.shared && !may_share) {
        snprintf(err, errlen, "a %s may not join a shared subscription", role);
        return DEVACL_SHARE;
    }
    if (!within_any(sf.filter, scope)) {
        snprintf(err, errlen, "the filter reaches beyond what a %s may read", role);
        return DEVACL_FILTER;
    }
    return DEVACL_OK;
}

/* A status message's payload, judged as a device's own (protocol.md 5) by a device or a bridge
 * publishing it: DEVACL_PAYLOAD with err saying why, or DEVACL_OK (any other stream too). */
static enum devacl_reason status_payload(const struct devacl_request *req,
                                         const struct msg_topic *t, char *err, size_t errlen)
{
    struct msg_event ev;
    char why[MSG_ERRLEN] = "";

    if (t->stream == MSG_STREAM_STATUS &&
        msg_event_parse(req->topic, strlen(req->topic), req->payload, req->payloadlen, &ev, why,
                        sizeof(why)) != MSG_OK) {
        snprintf(err, errlen, "%s", why);
        return DEVACL_PAYLOAD;
    }
    return DEVACL_OK;
}

static enum devacl_reason decide_device(const struct devacl_request *req,
                                        const struct regcache_account *a, char *err, size_t errlen)
{
    char own_ack[MSG_TOPIC_MAX + 1];
    struct reading_scope scope = {device_streams, N_OF(device_streams), own_ack, NULL};
    struct msg_topic t;
    char why[MSG_ERRLEN] = "";

    if (strcmp(a->device_id, req->username) != 0) {
        snprintf(err, errlen, "device account whose username is not its device id");
        return DEVACL_ROLE;
    }
    if (req->session_kept) {
        snprintf(err, errlen, "a device must connect with Clean Start 1 (protocol.md 1)");
        return DEVACL_SESSION;
    }
    if (req->access != MOSQ_ACL_WRITE) {
        if (msg_topic_format(own_ack, sizeof(own_ack), MSG_STREAM_ACK, a->device_id) != MSG_OK) {
            snprintf(err, errlen, "device id is not an id");
            return DEVACL_BAD_ID;
        }
        return check_reading(req, &scope, false, "device", err, errlen);
    }
    if (msg_topic_parse(req->topic, strlen(req->topic), &t, why, sizeof(why)) != MSG_OK) {
        snprintf(err, errlen, "%s", why);
        return DEVACL_TOPIC;
    }
    if (t.stream == MSG_STREAM_ACK || t.stream == MSG_STREAM_HEALTH ||
        t.stream == MSG_STREAM_REJECTED || t.stream == MSG_STREAM_RESTORE) {
        snprintf(err, errlen, "a device may not publish on %s topics", msg_stream_name(t.stream));
        return DEVACL_TOPIC;
    }
    if (strcmp(t.device_id, a->device_id) != 0) {
        snprintf(err, errlen, "topic belongs to device '%s'", t.device_id);
        return DEVACL_FOREIGN;
    }
    if (!msg_kind_may_publish(a->kind, t.stream)) {
        snprintf(err, errlen, "a %s may not publish %s", msg_device_kind_name(a->kind),
                 msg_stream_name(t.stream));
        return DEVACL_STREAM;
    }
    if (req->retain && t.stream != MSG_STREAM_STATUS) {
        snprintf(err, errlen, "retained %s message (only status may be retained)",
                 msg_stream_name(t.stream));
        return DEVACL_RETAIN;
    }
    if (req->qos != 1) {
        snprintf(err, errlen, "a device publishes at QoS 1 only, not QoS %d (protocol.md 1)",
                 req->qos);
        return DEVACL_QOS;
    }
    return status_payload(req, &t, err, errlen);
}

static enum devacl_reason decide_collector(const struct devacl_request *req, char *err,
                                           size_t errlen)
{
    struct msg_topic t;
    struct msg_health h;
    struct msg_restore rs;
    char why[MSG_ERRLEN] = "";

    if (req->access != MOSQ_ACL_WRITE) {
        return check_reading(req, &collector_scope, true, "collector", err, errlen);
    }
    /* pantau-alertd logs in with a collector account: it publishes the alert tree (protocol.md
     * 12), retained, at QoS 1 */
    if (msg_topic_is_alert(req->topic, strlen(req->topic))) {
        if (req->qos != 1) {
            snprintf(err, errlen, "alerts are published at QoS 1 only, not QoS %d", req->qos);
            return DEVACL_QOS;
        }
        return DEVACL_OK;
    }
    if (msg_topic_parse(req->topic, strlen(req->topic), &t, why, sizeof(why)) != MSG_OK) {
        snprintf(err, errlen, "%s", why);
        return DEVACL_TOPIC;
    }
    if (t.stream == MSG_STREAM_ACK) {
        if (req->retain) {
            snprintf(err, errlen, "retained acknowledgement");
            return DEVACL_RETAIN;
        }
        return DEVACL_OK;
    }
    if (t.stream == MSG_STREAM_RESTORE) {
        /* the database's newest restore (protocol.md 6.3): retained, QoS 1, valid */
        if (req->qos != 1) {
            snprintf(err, errlen, "a restore announcement is published at QoS 1, not QoS %d",
                     req->qos);
            return DEVACL_QOS;
        }
        if (msg_restore_parse(req->payload, req->payloadlen, &rs, why, sizeof(why)) != MSG_OK) {
            snprintf(err, errlen, "%s", why);
            return DEVACL_PAYLOAD;
        }
        return DEVACL_OK;
    }
    if (t.stream != MSG_STREAM_HEALTH) {
        snprintf(err, errlen, "a collector may not publish on %s topics",
                 msg_stream_name(t.stream));
        return DEVACL_TOPIC;
    }
    if (strcmp(t.collector_id, req->username) != 0) {
        snprintf(err, errlen, "health topic of collector '%s'", t.collector_id);
        return DEVACL_FOREIGN;
    }
    if (msg_health_parse(&t, req->payload, req->payloadlen, &h, why, sizeof(why)) != MSG_OK) {
        snprintf(err, errlen, "%s", why);
        return DEVACL_PAYLOAD;
    }
    return DEVACL_OK;
}

/* An edge broker's bridge (role bridge, schema/030; broker-plugins/README.md "Bridges"): one
 * client publishing on behalf of the devices of its district, which the edge's own plugin has
 * judged. Here each message must still be one the device itself could have sent: a reading
 * stream or status of a known, enabled device account whose kind may publish it (req->subject),
 * QoS 1, retained only status, a valid status payload (payval judges a reading's content and
 * station binding, as for the device); and the edge plugin's refusals on
 * pantau/v1/_sys/rejected. It reads the acknowledgements and the collectors' health, never
 * through a shared subscription, and keeps its session (Clean Start 0: the central broker
 * queues its acknowledgements while the link is down). No acks, health or alerts of its own. */
static enum devacl_reason decide_bridge(const struct devacl_request *req, char *err, size_t errlen)
{
    const struct regcache_account *d = req->subject;
    struct msg_topic t;
    char why[MSG_ERRLEN] = "";

    if (req->access != MOSQ_ACL_WRITE) {
        return check_reading(req, &bridge_scope, false, "bridge", err, errlen);
    }
    if (msg_topic_parse(req->topic, strlen(req->topic), &t, why, sizeof(why)) != MSG_OK) {
        snprintf(err, errlen, "%s", why);
        return DEVACL_TOPIC;
    }
    if (req->qos != 1) {
        snprintf(err, errlen, "a bridge publishes at QoS 1 only, not QoS %d", req->qos);
        return DEVACL_QOS;
    }
    if (req->retain && t.stream != MSG_STREAM_STATUS) {
        snprintf(err, errlen, "retained %s message (only status may be retained)",
                 msg_stream_name(t.stream));
        return DEVACL_RETAIN;
    }
    if (t.stream == MSG_STREAM_REJECTED) {
        return DEVACL_OK; /* the edge plugin's refusals, for the collectors' dead letters */
    }
    if (t.stream == MSG_STREAM_ACK || t.stream == MSG_STREAM_HEALTH) {
        snprintf(err, errlen, "a bridge may not publish on %s topics", msg_stream_name(t.stream));
        return DEVACL_TOPIC;
    }
    if (d == NULL || d->role != REGCACHE_ROLE_DEVICE || strcmp(d->device_id, t.device_id) != 0) {
        snprintf(err, errlen, "no device account '%s'", t.device_id);
        return DEVACL_UNKNOWN;
    }
    if (!d->enabled) {
        snprintf(err, errlen, "device '%s' is disabled", t.device_id);
        return DEVACL_DISABLED;
    }
    if (!msg_kind_may_publish(d->kind, t.stream)) {
        snprintf(err, errlen, "a %s may not publish %s", msg_device_kind_name(d->kind),
                 msg_stream_name(t.stream));
        return DEVACL_STREAM;
    }
    return status_payload(req, &t, err, errlen);
}

/* A unit's console (role unit, schema/018): it reads pantau/v1/_sys/alert/<its unit>/# and
 * nothing else, not another unit's alerts, not device data; it publishes nothing. A persistent
 * session is what it should use (protocol.md 12.1); no shared subscriptions. */
static enum devacl_reason decide_unit(const struct devacl_request *req,
                                      const struct regcache_account *a, char *err, size_t errlen)
{
    char own_alerts[MSG_TOPIC_MAX + 1];
    struct reading_scope scope = {NULL, 0, own_alerts, NULL};

    if (req->access == MOSQ_ACL_WRITE) {
        snprintf(err, errlen, "a unit only reads");
        return DEVACL_ROLE;
    }
    if (msg_topic_alert_filter(own_alerts, sizeof(own_alerts), a->unit_id) != MSG_OK) {
        snprintf(err, errlen, "the account's unit is not a unit id");
        return DEVACL_ROLE;
    }
    return check_reading(req, &scope, false, "unit", err, errlen);
}

enum devacl_reason devacl_decide(const struct devacl_request *req, const struct regcache_account *a,
                                 char *err, size_t errlen)
{
    err[0] = '\0';
    if (req->username == NULL) {
        snprintf(err, errlen, "the client has no username");
        return DEVACL_NO_USERNAME;
    }
    if (!msg_id_valid(req->username, strlen(req->username))) {
        snprintf(err, errlen, "the username is not an id (1-64 of a-z 0-9 . _ -)");
        return DEVACL_BAD_ID;
    }
    if (req->client_id == NULL || strcmp(req->client_id, req->username) != 0) {
        snprintf(err, errlen, "the client id is not the username");
        return DEVACL_CLIENT_ID;
    }
    if (a == NULL) {
        snprintf(err, errlen, "no such account");
        return DEVACL_UNKNOWN;
    }
    if (!a->enabled) {
        snprintf(err, errlen, "the account is disabled");
        return DEVACL_DISABLED;
    }
    if (req->topic == NULL) {
        snprintf(err, errlen, "no topic");
        return DEVACL_TOPIC;
    }
    if (req->access == MOSQ_ACL_UNSUBSCRIBE) {
        return DEVACL_OK;
    }
    if (req->access != MOSQ_ACL_READ && req->access != MOSQ_ACL_WRITE &&
        req->access != MOSQ_ACL_SUBSCRIBE) {
        snprintf(err, errlen, "unknown access %d", req->access);
        return DEVACL_ROLE;
    }
    switch (a->role) {
    case REGCACHE_ROLE_DEVICE:
        return decide_device(req, a, err, errlen);
    case REGCACHE_ROLE_COLLECTOR:
        return decide_collector(req, err, errlen);
    case REGCACHE_ROLE_DASHBOARD:
    case REGCACHE_ROLE_ADMIN:
        if (req->access == MOSQ_ACL_WRITE) {
            snprintf(err, errlen, "a %s only reads",
                     a->role == REGCACHE_ROLE_ADMIN ? "admin" : "dashboard");
            return DEVACL_ROLE;
        }
        if (a->role == REGCACHE_ROLE_ADMIN) {
            return check_reading(req, &admin_scope, false, "admin", err, errlen);
        }
        return check_reading(req, &dashboard_scope, false, "dashboard", err, errlen);
    case REGCACHE_ROLE_UNIT:
        return decide_unit(req, a, err, errlen);
    case REGCACHE_ROLE_BRIDGE:
        return decide_bridge(req, err, errlen);
    case REGCACHE_ROLE_OFFICER:
    default:
        snprintf(err, errlen, "this role has no MQTT access");
        return DEVACL_ROLE;
    }
}

/* ---- the plugin module --------------------------------------------------------------- */

/* The log and budget key of a user: its name if it is an id, else one shared key. */
static const char *user_key(const char *username)
{
    if (username != NULL && msg_id_valid(username, strlen(username))) {
        return username;
    }
    return "?";
}

static void log_denial(struct devacl *st, struct msg_ratetable_entry *e,
                       const struct devacl_request *req, enum devacl_reason r, const char *err,
                       int64_t now)
{
    char user[MSG_CP_BYTES(MSG_ID_MAX)];
    char topic[MSG_CP_BYTES(160)];
    char more[64] = "";

    if (!plugin_log_take(e, DEVACL_LOG_BUCKET, now, &st->log_suppressed, "denials", more,
                         sizeof(more))) {
        return;
    }
    msg_rejected_set_text(user, sizeof(user), req->username ? req->username : "(none)",
                          req->username ? strlen(req->username) : 6, MSG_ID_MAX);
    msg_rejected_set_text(topic, sizeof(topic), req->topic ? req->topic : "",
                          req->topic ? strlen(req->topic) : 0, 160);
    mosquitto_log_printf(MOSQ_LOG_NOTICE, "devacl: denied %s by user=%s on '%s': %s (%s)%s",
                         access_name(req->access), user, topic, err, devacl_reason_name(r), more);
}

/* The category under which a device's refused PUBLISH (or will, in its WRITE check) is passed
 * on pantau/v1/_sys/rejected (protocol.md 7.2, 7.3), or -1 if it is not passed on: what it was
 * sent to (topic), or who sent it (identity: another device's topic, an account or a connection
 * that may not publish). A status payload (DEVACL_PAYLOAD) goes without one: the collector
 * reads json or schema from the payload. */
static int refusal_category(enum devacl_reason r)
{
    switch (r) {
    case DEVACL_TOPIC:
    case DEVACL_STREAM:
    case DEVACL_RETAIN:
    case DEVACL_QOS:
        return MSG_REJECTED_TOPIC;
    case DEVACL_FOREIGN:
    case DEVACL_CLIENT_ID:
    case DEVACL_UNKNOWN:
    case DEVACL_DISABLED:
    case DEVACL_ROLE:
    case DEVACL_SESSION:
        return MSG_REJECTED_IDENTITY;
    default:
        return -1;
    }
}

/* Whether a WRITE denied for r (req, a: borrowed; a NULL if no account) is a device's refused
 * message to pass on: the username is an id (it becomes the rejected message's `device`: the
 * identity the broker authenticated, never the topic's), and it names a device account or none
 * (an account gone or never made, with a TLS identity or a connection older than the change).
 * Another role's refusals (a collector's health, a dashboard's publish) are not. */
static bool forwardable(const struct devacl_request *req, const struct regcache_account *a,
                        enum devacl_reason r)
{
    if (req->access != MOSQ_ACL_WRITE || req->username == NULL ||
        !msg_id_valid(req->username, strlen(req->username))) {
        return false;
    }
    if (a != NULL && a->role != REGCACHE_ROLE_DEVICE) {
        return false;
    }
    if (r == DEVACL_PAYLOAD) {
        return a != NULL;
    }
    return refusal_category(r) >= 0;
}

/* Passes a device's refused message on pantau/v1/_sys/rejected with category (-1: none) within
 * its budget (e's forwarding bucket: one per user for every refusal of this module). */
static void forward_refusal(struct devacl *st, struct msg_ratetable_entry *e,
                            const struct devacl_request *req, int category, const char *err,
                            int64_t now)
{
    if (plugin_refusal_pass(&st->scratch, e != NULL ? &e->b[DEVACL_FWD_BUCKET] : NULL,
                            &st->rejected_rate, now, category, req->username, req->topic, err,
                            req->payload, req->payloadlen)) {
        st->forwarded++;
    } else {
        st->not_forwarded++;
    }
}

/* After an allowed WRITE: a device's message becomes the pending one (a will, if a READ check
 * comes before the message hook); anything else ends what was pending. */
static void note_pending(struct devacl *st, const struct devacl_request *req,
                         const struct regcache_account *a)
{
    struct devacl_pending *p = &st->pending;
    size_t tlen = strlen(req->topic);
    size_t ulen = strlen(req->username);

    p->active = false;
    if (a == NULL || a->role != REGCACHE_ROLE_DEVICE || tlen > MSG_TOPIC_MAX || ulen > MSG_ID_MAX) {
        return;
    }
    /* a status payload was judged in this WRITE check: a status will needs its budget only */
    p->status = msg_topic_is_stream(req->topic, tlen, MSG_STREAM_STATUS);
    memcpy(p->topic, req->topic, tlen + 1);
    memcpy(p->username, req->username, ulen + 1);
    p->payloadlen = req->payloadlen;
    p->judged = false;
    p->refused = false;
    p->active = true;
}

/* The first delivery of a pending will (req: that READ check, whose topic and payload are the
 * will's; borrowed): one on a reading stream is judged as payval judges a PUBLISH
 * (payval_check: I-JSON, the contract, the station binding); every will then against the
 * device's will budget (a status will still becomes the retained status: mosquitto stores it
 * without a READ check, but the collector is not told). Sets p->refused; counts, logs and
 * passes a content refusal on within the refusal budget. */
static void judge_will(struct devacl *st, const struct devacl_request *req)
{
    struct devacl_pending *p = &st->pending;
    const struct regcache_account *a = regcache_find(st->rc, p->username);
    struct msg_ratetable_entry *e = NULL;
    struct devacl_request will;
    enum devacl_reason r = DEVACL_OK;
    enum payval_reason pr;
    char why[MSG_ERRLEN] = "";
    char err[MSG_ERRLEN] = "";
    char rate[64];
    int64_t now = msg_clock_mono_ms();

    p->judged = true;
    st->wills_judged++;
    memset(&will, 0, sizeof(will));
    will.username = p->username;
    will.client_id = p->username;
    will.access = MOSQ_ACL_WRITE;
    will.topic = p->topic;
    will.payload = req->payload;
    will.payloadlen = req->payloadlen;
    will.qos = 1;
    e = msg_ratetable_get(st->users, p->username);
    if (a == NULL || a->role != REGCACHE_ROLE_DEVICE || !a->enabled) {
        snprintf(err, sizeof(err), "last will: the account is gone or disabled");
        r = DEVACL_DISABLED;
        goto refuse;
    }
    pr = p->status ? PAYVAL_OK
                   : payval_check(a, p->topic, req->payload, req->payloadlen, msg_clock_wall_ms(),
                                  why, sizeof(why));
    if (pr != PAYVAL_OK) {
        snprintf(err, sizeof(err), "last will: %s", why);
        r = DEVACL_PAYLOAD;
        if (pr != PAYVAL_INTERNAL) {
            forward_refusal(st, e, &will, -1, err, now);
        }
        goto refuse;
    }
    if (e == NULL || !msg_bucket_take(&e->b[DEVACL_WILL_BUCKET], &st->will_rate, now)) {
        msg_bucket_rate_format(&st->will_rate, rate, sizeof(rate));
        snprintf(err, sizeof(err), "last will: over %s", rate);
        r = DEVACL_WILL_RATE;
        goto refuse;
    }
    return;
refuse:
    p->refused = true;
    st->denied[r]++;
    log_denial(st, e, &will, r, err, now);
}

/* Whether this READ check (req, allowed so far) delivers a pending will that is refused. */
static bool will_refused(struct devacl *st, const struct devacl_request *req)
{
    struct devacl_pending *p = &st->pending;

    if (!p->active || req->payloadlen != p->payloadlen || strcmp(req->topic, p->topic) != 0) {
        return false;
    }
    if (!p->judged) {
        judge_will(st, req);
    }
    return p->refused;
}

static int on_acl_check(int event, void *event_data, void *userdata)
{
    struct mosquitto_evt_acl_check *ed = event_data;
    struct devacl *st = userdata; /* from start; broker thread only */
    const struct regcache_account *a = NULL;
    struct msg_ratetable_entry *e = NULL;
    struct devacl_request req;
    enum devacl_reason r;
    char err[MSG_ERRLEN] = "";
    char subject_id[MSG_ID_MAX + 1];
    int64_t now;

    (void)event;
    memset(&req, 0, sizeof(req));
    req.username = mosquitto_client_username(ed->client);
    req.client_id = mosquitto_client_id(ed->client);
    req.access = ed->access;
    req.topic = ed->topic;
    req.payload = ed->payload;
    req.payloadlen = ed->payloadlen;
    req.qos = ed->qos;
    req.retain = ed->retain;
    req.session_kept = !mosquitto_client_clean_session(ed->client);
    if (req.username != NULL && msg_id_valid(req.username, strlen(req.username))) {
        a = regcache_find(st->rc, req.username);
    }
    if (a != NULL && a->role == REGCACHE_ROLE_BRIDGE && req.access == MOSQ_ACL_WRITE &&
        req.topic != NULL && msg_topic_device(req.topic, strlen(req.topic), subject_id)) {
        req.subject = regcache_find(st->rc, subject_id);
    }
    r = devacl_decide(&req, a, err, sizeof(err));
    if (r == DEVACL_OK) {
        if (req.access == MOSQ_ACL_WRITE) {
            note_pending(st, &req, a);
        } else if (req.access == MOSQ_ACL_READ && will_refused(st, &req)) {
            return MOSQ_ERR_ACL_DENIED; /* counted and logged once, by judge_will */
        }
        st->allowed++;
        return MOSQ_ERR_SUCCESS;
    }
    if (req.access == MOSQ_ACL_WRITE) {
        st->pending.active = false;
    }
    st->denied[r]++;
    now = msg_clock_mono_ms();
    e = msg_ratetable_get(st->users, user_key(req.username));
    log_denial(st, e, &req, r, err, now);
    if (forwardable(&req, a, r)) {
        forward_refusal(st, e, &req, r == DEVACL_PAYLOAD ? -1 : refusal_category(r), err, now);
    }
    return MOSQ_ERR_ACL_DENIED;
}

/* Every PUBLISH that passed the WRITE check comes here before payval: it was no will. */
static int on_message(int event, void *event_data, void *userdata)
{
    struct devacl *st = userdata;

    (void)event;
    (void)event_data;
    st->pending.active = false;
    return MOSQ_ERR_SUCCESS;
}

/* Sweep: an entry whose buckets have refilled holds nothing worth keeping. One of an account
 * that is gone or disabled is kept until then too: such a client may still be connected (a TLS
 * identity never meets the password check) and keep publishing, and forgetting its entry
 * would give it a fresh budget of refusals passed on and of log lines (the table's size bounds
 * the memory). */
struct sweep_ctx {
    struct devacl *st;
    int64_t now;
};

static bool sweep_drop(void *ctx, const struct msg_ratetable_entry *e)
{
    struct sweep_ctx *c = ctx;

    if (!(msg_bucket_full(&e->b[DEVACL_LOG_BUCKET], &plugin_log_rate, c->now) &&
          msg_bucket_full(&e->b[DEVACL_FWD_BUCKET], &c->st->rejected_rate, c->now) &&
          msg_bucket_full(&e->b[DEVACL_WILL_BUCKET], &c->st->will_rate, c->now))) {
        return false;
    }
    plugin_log_forget(e, "devacl", "user", "denials");
    return true;
}

/* The counters on $SYS/pantau/devacl (protocol.md 7.4); "ok" is no denial. */
static void publish_stats(const struct devacl *st)
{
    const struct stats_reasons reasons = {devacl_reason_names + 1, st->denied + 1,
                                          DEVACL_REASON_COUNT - 1};
    const struct stats_member members[] = {
        STATS_U64_MEMBER("allowed", st->allowed),
        STATS_REASONS_MEMBER("denied", STATS_TOTAL),
        STATS_REASONS_MEMBER("denied_by_reason", STATS_BY_REASON),
        STATS_U64_MEMBER("forwarded", st->forwarded),
        STATS_U64_MEMBER("not_forwarded", st->not_forwarded),
        STATS_U64_MEMBER("log_suppressed", st->log_suppressed),
        STATS_U64_MEMBER("wills_judged", st->wills_judged),
    };

    stats_publish(st->pf, "devacl", &reasons, members, sizeof(members) / sizeof(members[0]));
}

static int on_tick(int event, void *event_data, void *userdata)
{
    struct devacl *st = userdata;
    struct sweep_ctx c;

    (void)event;
    (void)event_data; /* 2.0.11 leaves its times zero: use our clock */
    /* a will is judged before context__send_will returns: nothing is pending across ticks */
    st->pending.active = false;
    c.st = st;
    c.now = msg_clock_mono_ms();
    if (stats_due(&st->next_sweep_ms, PLUGIN_SWEEP_EVERY_MS, c.now)) {
        msg_ratetable_sweep(st->users, PLUGIN_SWEEP_SLOTS, sweep_drop, &c);
    }
    if (stats_due(&st->next_stats_ms, st->stats_interval_ms, c.now)) {
        publish_stats(st);
    }
    return MOSQ_ERR_SUCCESS;
}

/* What plugin_opts_read fills from the plugin_opt_ lines (devacl.h names them). */
struct devacl_options {
    long long stats_interval_s;
    char rejected_rate[64];
    char will_rate[64];
};

static const struct conf_key devacl_options[] = {
    STATS_INTERVAL_OPTION(struct devacl_options, stats_interval_s),
    {"rejected_rate", CONF_STR, REFUSAL_DEFAULT_RATE,
     offsetof(struct devacl_options, rejected_rate),
     sizeof(((struct devacl_options *)0)->rejected_rate), 0, 0,
     "refused messages of one device passed on pantau/v1/_sys/rejected, RATE/UNIT burst N"},
    {"will_rate", CONF_STR, DEVACL_DEFAULT_WILL_RATE, offsetof(struct devacl_options, will_rate),
     sizeof(((struct devacl_options *)0)->will_rate), 0, 0,
     "last wills of one device delivered, RATE/UNIT burst N"},
    CONF_END,
};

static int read_options(struct devacl *st, struct mosquitto_opt *opts, int n, char *err,
                        size_t errlen)
{
    struct devacl_options o;
    int rc;

    rc = plugin_opts_read(devacl_options, &o, opts, n, err, errlen);
    if (rc != MOSQ_ERR_SUCCESS) {
        return rc;
    }
    st->stats_interval_ms = (int64_t)o.stats_interval_s * 1000;
    rc = plugin_opts_rate("rejected_rate", o.rejected_rate, &st->rejected_rate, err, errlen);
    if (rc != MOSQ_ERR_SUCCESS) {
        return rc;
    }
    return plugin_opts_rate("will_rate", o.will_rate, &st->will_rate, err, errlen);
}

/* The message hook before payval's (plugin.c starts devacl first; 2.0.11 calls them in order). */
static const struct plugin_callback devacl_callbacks[] = {
    {MOSQ_EVT_ACL_CHECK, on_acl_check, "the ACL check"},
    {MOSQ_EVT_TICK, on_tick, "the tick"},
    {MOSQ_EVT_MESSAGE, on_message, "the message hook"},
    PLUGIN_CALLBACKS_END,
};

static int devacl_start(void **state, mosquitto_plugin_id_t *pid, struct regcache *rc,
                        struct mosquitto_opt *opts, int n, char *err, size_t errlen)
{
    struct devacl *st = NULL;
    int mrc;

    *state = NULL;
    st = mosquitto_calloc(1, sizeof(*st));
    if (st == NULL) {
        snprintf(err, errlen, "devacl: out of memory");
        mrc = MOSQ_ERR_NOMEM;
        goto fail;
    }
    st->pid = pid;
    st->rc = rc;
    mrc = read_options(st, opts, n, err, errlen);
    if (mrc != MOSQ_ERR_SUCCESS) {
        goto fail;
    }
    st->users = msg_ratetable_new(DEVACL_USERS_MAX);
    if (st->users == NULL) {
        snprintf(err, errlen, "devacl: out of memory");
        mrc = MOSQ_ERR_NOMEM;
        goto fail;
    }
    st->next_stats_ms = msg_clock_mono_ms(); /* publish the counters on the first tick */
    mrc = plugin_callbacks_register(pid, "devacl", devacl_callbacks, st, err, errlen);
    if (mrc != MOSQ_ERR_SUCCESS) {
        goto fail;
    }
    mosquitto_log_printf(MOSQ_LOG_NOTICE, "devacl: started (counters on %s every %" PRId64 " s)",
                         DEVACL_STATS_TOPIC, st->stats_interval_ms / 1000);
    *state = st;
    return MOSQ_ERR_SUCCESS;
fail:
    if (st != NULL) {
        msg_ratetable_free(st->users);
        mosquitto_free(st);
    }
    return mrc;
}

static void devacl_stop(void *state, mosquitto_plugin_id_t *pid)
{
    struct devacl *st = state;

    if (st == NULL) {
        return;
    }
    plugin_callbacks_unregister(pid, devacl_callbacks);
    msg_ratetable_free(st->users);
    mosquitto_free(st);
}

static void devacl_metrics(void *state, struct promfile *pf)
{
    struct devacl *st = state;

    st->pf = pf;
}

const struct plugin_module plugin_module_devacl = {
    .name = "devacl",
    .options = devacl_options,
    .start = devacl_start,
    .stop = devacl_stop,
    .metrics = devacl_metrics,
};
