/* payval.h -- what a device's message may contain, and how many it may send (issue 5 items 3,
 * 4 and 6): the module `plugin_module_payval` of pantau_broker.so (plugin_module.h), on
 * MOSQ_EVT_MESSAGE, which mosquitto calls after devacl allowed the PUBLISH.
 *
 * For every message a device account publishes (devacl already bound the topic to the device
 * and its kind):
 *   1. its rate: a token bucket per device, rate and burst per device kind (plugin options
 *      rate_flood_gateway, rate_traffic_gateway, rate_handheld, as "RATE/UNIT burst N");
 *      a message over the rate is refused ("rate_limit") and not forwarded: the device
 *      retries it later (protocol.md 7.3);
 *   2. its payload, with msg_event_parse(), the collector's own validator: reading streams and
 *      status;
 *   3. for flood, traffic and incident readings: the station must be bound to the device and
 *      fit the stream (a gauge for flood, a camera for traffic and incident), judged by
 *      msg_binding_check(), the collector's own rule: at the reading's ts when its clock was
 *      synchronised, else at the time the broker received it (larva reports name a kelurahan
 *      instead).
 * A refusal returns MOSQ_ERR_ACL_DENIED (an MQTT 5 client gets PUBACK 0x87), is counted per
 * reason and logged with device and reason (a few lines a minute per device). A message
 * refused for its content is passed on pantau/v1/_sys/rejected (refusal.h) while the device's
 * budget of refused messages allows (plugin_opt_rejected_rate, a bucket of its own), else
 * counted as not forwarded. Messages of other roles (collectors' acknowledgements and health)
 * pass untouched.
 *
 * Buckets are kept per recently seen device, at most plugin_opt_devices_max (the least
 * recently used is forgotten first); a device whose buckets have refilled, or whose account is
 * gone or disabled, is forgotten by a sweep on each tick. The counters are published retained
 * on $SYS/pantau/payval every plugin_opt_stats_interval seconds.
 *
 * Not for: who may publish where (devacl.c), passwords (devauth.c). */
#ifndef PAYVAL_H
#define PAYVAL_H

#include <stddef.h>
#include <stdint.h>

#include "regcache.h"

enum payval_reason {
    PAYVAL_OK,
    PAYVAL_RATE,     /* over the device's rate: not a content refusal, not forwarded */
    PAYVAL_TOPIC,    /* not a device stream (devacl lets none through: a safety net) */
    PAYVAL_JSON,     /* not I-JSON, too large or too deep (MSG_ERR_JSON) */
    PAYVAL_SCHEMA,   /* breaks the contract (MSG_ERR_SCHEMA) */
    PAYVAL_STATION,  /* a station not bound to the device then, or of the wrong kind */
    PAYVAL_INTERNAL, /* the validator ran out of memory: refused, the device retries */
};
#define PAYVAL_REASON_COUNT 7

/* "ok", "rate_limit", "topic", "json", "schema", "station", "internal"; "?" outside the enum.
 * Static storage. */
const char *payval_reason_name(enum payval_reason r);

/* The content check (steps 2 and 3 above) of a message of device account a on topic with
 * payload (len bytes), all borrowed, received at received_ms (wall clock, ms since the Unix
 * epoch): PAYVAL_OK or why not, with err (errlen bytes) saying what exactly (the validator's
 * text, naming the member). Pure: no rate, no counters. */
enum payval_reason payval_check(const struct regcache_account *a, const char *topic,
                                const void *payload, size_t len, int64_t received_ms, char *err,
                                size_t errlen);

#endif
