/* msg_binding.h -- the one rule for whether a device may report a reading for a station
 * (protocol.md sections 4.1 and 7.1): the broker's payload plugin and the collector both call
 * msg_binding_check(), each over the bindings it holds in its own cache, so the two cannot
 * drift apart.
 *
 * The rule: a reading of a stream that names a station (flood, traffic, incident) is allowed
 * when the device has a binding to that station whose validity [from, to) contains the
 * reading's judging time, and the station's kind fits the stream (flood: a gauge; traffic and
 * incident: a camera). The judging time is msg_binding_time(): the reading's ts when its clock
 * was synchronised, else the best time known (the corrected time where the caller can compute
 * it, else the time the caller received the reading). A ts from an unset clock (1970) is never
 * judged as such.
 *
 * Not for: which streams a device kind may publish (msg_kind_may_publish), or whether the
 * device exists and is enabled (each cache knows that). No I/O, no allocation. */
#ifndef MSG_BINDING_H
#define MSG_BINDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg_event.h"
#include "msg_topic.h"

#define MSG_BINDING_NO_TIME INT64_MIN  /* "not known" for a corrected time */

/* The kind of a station, as pantau.station.kind (schema/003_registry.sql). */
enum msg_station_kind {
    MSG_STATION_UNKNOWN,               /* not known to the cache: fits no stream */
    MSG_STATION_GAUGE,                 /* 'flood_gauge' */
    MSG_STATION_CAMERA,                /* 'traffic_camera' */
};

/* One binding of a device to a station during [from_ms, to_ms), ms since the Unix epoch. */
struct msg_binding {
    char station_id[MSG_ID_MAX + 1];
    enum msg_station_kind kind;
    int64_t from_ms;                   /* INT64_MIN: open */
    int64_t to_ms;                     /* INT64_MAX: open (exclusive end) */
};

/* The SQL both caches read bindings with (schema/003_registry.sql's pantau.device_station):
 * columns device_id, station_id, from_ms, to_ms, station_kind, one row per binding. Times are
 * ms since the epoch rounded up (a ts in whole ms lies in [from, to) exactly when it lies in
 * [ceil(from), ceil(to))); an open or infinite end is NULL; an empty range binds nothing and is
 * left out. A string literal, so a caller can wrap it (the collector joins its devices to it). */
#define MSG_BINDING_SQL                                                                      \
    "SELECT b.device_id, b.station_id,"                                                      \
    " CASE WHEN lower_inf(b.valid) OR NOT isfinite(lower(b.valid)) THEN NULL"                \
    "  ELSE ceil(extract(epoch FROM lower(b.valid)) * 1000)::bigint END AS from_ms,"         \
    " CASE WHEN upper_inf(b.valid) OR NOT isfinite(upper(b.valid)) THEN NULL"                \
    "  ELSE ceil(extract(epoch FROM upper(b.valid)) * 1000)::bigint END AS to_ms,"           \
    " s.kind AS station_kind"                                                                \
    " FROM pantau.device_station b JOIN pantau.station s ON s.station_id = b.station_id"     \
    " WHERE NOT isempty(b.valid)"

/* msg_binding_check() verdicts. */
enum msg_binding_verdict {
    MSG_BINDING_OK,                    /* no station named, or bound at the judging time */
    MSG_BINDING_UNBOUND,               /* no binding to that station at that time */
    MSG_BINDING_KIND,                  /* bound, but the station's kind does not fit the stream */
};

/* The station ev (borrowed) names, or NULL for streams without one. The result is borrowed
 * from ev. */
const char *msg_binding_station(const struct msg_event *ev);

/* The time a reading's binding is judged at: ts_ms when clock_synced; else corrected_ms when it
 * is not MSG_BINDING_NO_TIME; else received_ms (when the caller received the reading, wall
 * clock, ms since the Unix epoch). */
int64_t msg_binding_time(bool clock_synced, int64_t ts_ms, int64_t corrected_ms,
                         int64_t received_ms);

/* Whether device ev->device_id may report ev (borrowed) given its n bindings b (borrowed; any
 * order; NULL when n is 0). corrected_ms and received_ms as in msg_binding_time(). Returns a
 * verdict; for any but MSG_BINDING_OK, err says why ("station: 'x' is not bound to device 'y'
 * at <time> (...)", "station: 'x' is a traffic camera, not a station for flood readings"). */
enum msg_binding_verdict msg_binding_check(const struct msg_binding *b, size_t n,
                                           const struct msg_event *ev, int64_t corrected_ms,
                                           int64_t received_ms, char *err, size_t errlen);

/* The station kind named by a pantau.station.kind value (borrowed): MSG_STATION_UNKNOWN for
 * anything else. */
enum msg_station_kind msg_station_kind_from_name(const char *name);

/* 'flood_gauge', 'traffic_camera' or 'unknown'. */
const char *msg_station_kind_name(enum msg_station_kind k);

#endif
