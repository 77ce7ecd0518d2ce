/* msg_binding.c -- station bindings: see msg_binding.h. */
#include "msg_binding.h"

#include <stdio.h>
#include <string.h>

#include "msg_time.h"

const char *msg_binding_station(const struct msg_event *ev)
{
    switch (ev->stream) {
    case MSG_STREAM_FLOOD:
        return ev->u.flood.station;
    case MSG_STREAM_TRAFFIC:
        return ev->u.traffic.station;
    case MSG_STREAM_INCIDENT:
        return ev->u.incident.station;
    default:
        return NULL;
    }
}

int64_t msg_binding_time(bool clock_synced, int64_t ts_ms, int64_t corrected_ms,
                         int64_t received_ms)
{
    if (clock_synced) {
        return ts_ms;
    }
    if (corrected_ms != MSG_BINDING_NO_TIME) {
        return corrected_ms;
    }
    return received_ms;
}

enum msg_station_kind msg_station_kind_from_name(const char *name)
{
    if (name == NULL) {
        return MSG_STATION_UNKNOWN;
    }
    if (strcmp(name, "flood_gauge") == 0) {
        return MSG_STATION_GAUGE;
    }
    if (strcmp(name, "traffic_camera") == 0) {
        return MSG_STATION_CAMERA;
    }
    return MSG_STATION_UNKNOWN;
}

const char *msg_station_kind_name(enum msg_station_kind k)
{
    switch (k) {
    case MSG_STATION_GAUGE:
        return "flood_gauge";
    case MSG_STATION_CAMERA:
        return "traffic_camera";
    default:
        return "unknown";
    }
}

/* The station kind a stream's readings need. */
static enum msg_station_kind kind_for(enum msg_stream s)
{
    return s == MSG_STREAM_FLOOD ? MSG_STATION_GAUGE : MSG_STATION_CAMERA;
}

static const char *kind_words(enum msg_station_kind k)
{
    switch (k) {
    case MSG_STATION_GAUGE:
        return "a flood gauge";
    case MSG_STATION_CAMERA:
        return "a traffic camera";
    default:
        return "of unknown kind";
    }
}

enum msg_binding_verdict msg_binding_check(const struct msg_binding *b, size_t n,
                                           const struct msg_event *ev, int64_t corrected_ms,
                                           int64_t received_ms, char *err, size_t errlen)
{
    const char *station = msg_binding_station(ev);
    int64_t at;
    char ts[MSG_TIME_LEN + 1];
    const char *basis;
    bool named = false;

    if (station == NULL) {
        return MSG_BINDING_OK;
    }
    at = msg_binding_time(ev->env.clock_synced, ev->env.ts_ms, corrected_ms, received_ms);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(b[i].station_id, station) != 0) {
            continue;
        }
        named = true;
        if (b[i].from_ms <= at && at < b[i].to_ms) {
            if (b[i].kind != kind_for(ev->stream)) {
                snprintf(err, errlen, "station: '%s' is %s, not a station for %s readings",
                         station, kind_words(b[i].kind), msg_stream_name(ev->stream));
                return MSG_BINDING_KIND;
            }
            return MSG_BINDING_OK;
        }
    }
    if (ev->env.clock_synced) {
        basis = "its ts";
    } else if (corrected_ms != MSG_BINDING_NO_TIME) {
        basis = "its corrected time; clock not synchronised";
    } else {
        basis = "the time received; clock not synchronised";
    }
    msg_time_format(at, ts);
    snprintf(err, errlen, "station: '%s' is not bound to device '%s' at %s (%s%s)", station,
             ev->device_id, ts, basis, named ? "" : "; never bound");
    return MSG_BINDING_UNBOUND;
}
