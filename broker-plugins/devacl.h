/* devacl.h -- who may publish, subscribe to and read what (issue 5 item 2; protocol.md 3, 7):
 * the module `plugin_module_devacl` of pantau_broker.so (plugin_module.h), on
 * MOSQ_EVT_ACL_CHECK.
 *
 * Every check starts again from the identity: the client's username names an enabled account
 * of the registry cache (regcache.h), the username is an id of protocol.md section 2 (no '+',
 * '#', '/' or control character), and the client id equals it. This also covers TLS clients
 * (use_identity_as_username), for which mosquitto never calls the password hook: a revoked
 * certificate identity is denied on its next check.
 *
 *   device     publishes on pantau/v1/<its id>/<stream> only the streams its kind allows
 *              (msg_kind_may_publish), at QoS 1 only, retained only on status; a status
 *              payload (birth, and the last will, which skips the message hook) must pass
 *              msg_event_parse. Subscribes to and reads pantau/v1/<its id>/ack and
 *              pantau/v1/_sys/health/+ (or one collector's health topic). No shared
 *              subscriptions. A device connected with Clean Start 0 may do nothing at all.
 *              Its last will is judged when the broker delivers it: on a reading stream as
 *              payval judges a publish (payval_check), and every will within
 *              plugin_opt_will_rate (devacl.c says how a will is told from a publish).
 *   collector  subscribes (also as $share/<group>/...) to the device streams and status,
 *              pantau/v1/_sys/rejected and the health topics, and reads them; publishes
 *              acknowledgements (not retained) and its own health pantau/v1/_sys/health/<its
 *              username> (retained allowed, payload checked with msg_health_parse).
 *   dashboard  subscribes to and reads status, health and $SYS/pantau/#; publishes nothing,
 *              never a shared subscription (so it cannot divert readings from the collectors).
 *   admin      as a dashboard, and all of $SYS/#.
 *   officer    nothing: people's handhelds log in with a device account.
 *
 * Only the broker writes pantau/v1/_sys/rejected; every other topic is refused, under pantau/
 * or not. Unsubscribing is allowed to every valid identity (mosquitto denies what every plugin
 * defers). A denial is counted per reason and logged with user, topic and reason, at most a few
 * lines a minute per user. A device's refused PUBLISH (and a will refused in its WRITE check)
 * is passed on pantau/v1/_sys/rejected (refusal.h) with its payload, under its username (never
 * the topic's device): with category `topic` (a topic outside protocol.md 3, a stream its kind
 * may not publish, a retained reading, QoS other than 1) or `identity` (another device's topic,
 * an account unknown or disabled, a client id that is not the username, Clean Start 0), and a
 * status payload or a last will refused for its content without one. All of them share one
 * budget per user (plugin_opt_rejected_rate; payval keeps its own of the same rate); the
 * refusals of subscriptions and deliveries, and other roles' refusals, are not passed on.
 * The counters are published retained on $SYS/pantau/devacl every plugin_opt_stats_interval
 * seconds.
 *
 * Not for: passwords (devauth.c), payloads of reading streams and rate limits (payval.c). */
#ifndef DEVACL_H
#define DEVACL_H

#include <stdbool.h>
#include <stddef.h>

#include "regcache.h"

enum devacl_reason {
    DEVACL_OK,
    DEVACL_NO_USERNAME, /* the client has no username */
    DEVACL_BAD_ID,      /* the username is not an id of protocol.md section 2 */
    DEVACL_CLIENT_ID,   /* the client id is not the username */
    DEVACL_UNKNOWN,     /* no account of that name */
    DEVACL_DISABLED,    /* the account (or its device) is disabled */
    DEVACL_ROLE,        /* the role may not do this at all */
    DEVACL_TOPIC,       /* a topic (or filter) the role may not use */
    DEVACL_FOREIGN,     /* another device's topic */
    DEVACL_STREAM,      /* a stream the device's kind may not publish */
    DEVACL_RETAIN,      /* retained outside status and health */
    DEVACL_SHARE,       /* a shared subscription the role may not join */
    DEVACL_FILTER,      /* a subscription filter wider than what the role may read */
    DEVACL_PAYLOAD,     /* a status (or will) or health payload that breaks the contract */
    DEVACL_QOS,         /* a device's PUBLISH (or will) at QoS 0 or 2 */
    DEVACL_SESSION,     /* a device connected with Clean Start 0 */
    DEVACL_WILL_RATE,   /* a device's last will beyond will_rate */
};
#define DEVACL_REASON_COUNT 17

/* "ok", "no_username", ..., as in the counters; "?" outside the enum. Static storage. */
const char *devacl_reason_name(enum devacl_reason r);

/* What one check asks (all borrowed). access is MOSQ_ACL_READ, _WRITE, _SUBSCRIBE or
 * _UNSUBSCRIBE. */
struct devacl_request {
    const char *username;  /* NULL if none */
    const char *client_id; /* NULL if none */
    int access;
    const char *topic;   /* a topic, or a whole subscription filter */
    const void *payload; /* WRITE only (NULL for others) */
    size_t payloadlen;
    int qos; /* WRITE only: the PUBLISH's (or will's) QoS */
    bool retain;
    bool session_kept; /* the client connected with Clean Start 0 */
    /* a bridge's WRITE only: the account named by the topic's device level (regcache_find of
     * it), on whose behalf the bridge publishes; NULL if none */
    const struct regcache_account *subject;
};

/* The decision for req (borrowed) about account a (borrowed, regcache_find(req->username);
 * NULL if none): DEVACL_OK or why not, with err (errlen bytes) saying what exactly. Pure: no
 * logging, no counters. */
enum devacl_reason devacl_decide(const struct devacl_request *req, const struct regcache_account *a,
                                 char *err, size_t errlen);

#endif
