/* test_msg_binding.c -- unit tests of msg/msg_binding.c: the one rule the broker and the
 * collector use to judge a reading's station binding (protocol.md 4.1, 7.1): the judging time
 * (ts when synchronised, else corrected, else received), [from, to) bounds and the station's
 * kind against the stream. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "msg_binding.h"
#include "msg_err.h"
#include "msg_event.h"
#include "tinytest.h"

#define T2026 INT64_C(1767225600000)   /* 2026-01-01T00:00:00.000Z */
#define RECV INT64_C(1770779700000)    /* 2026-02-11T03:15:00.000Z */

/* gw-1's bindings: gauge g-new from 2026-01-01, gauge g-old [2000-01-01, 2020-01-01), camera
 * cam-1 always, st-x of a kind the cache does not know. */
static const struct msg_binding bindings[] = {
    {"g-new", MSG_STATION_GAUGE, T2026, INT64_MAX},
    {"g-old", MSG_STATION_GAUGE, INT64_C(946684800000), INT64_C(1577836800000)},
    {"cam-1", MSG_STATION_CAMERA, INT64_MIN, INT64_MAX},
    {"st-x", MSG_STATION_UNKNOWN, INT64_MIN, INT64_MAX},
};

struct row {
    const char *name;
    enum msg_stream stream;
    const char *station;
    bool synced;
    int64_t ts;
    int64_t corrected;
    enum msg_binding_verdict want;
    const char *err;
};

static void event(struct msg_event *ev, const struct row *r)
{
    memset(ev, 0, sizeof(*ev));
    ev->stream = r->stream;
    snprintf(ev->device_id, sizeof(ev->device_id), "gw-1");
    ev->env.clock_synced = r->synced;
    ev->env.ts_ms = r->ts;
    switch (r->stream) {
    case MSG_STREAM_FLOOD:
        snprintf(ev->u.flood.station, sizeof(ev->u.flood.station), "%s", r->station);
        break;
    case MSG_STREAM_TRAFFIC:
        snprintf(ev->u.traffic.station, sizeof(ev->u.traffic.station), "%s", r->station);
        break;
    case MSG_STREAM_INCIDENT:
        snprintf(ev->u.incident.station, sizeof(ev->u.incident.station), "%s", r->station);
        break;
    default:
        break;
    }
}

static void test_check(void)
{
    static const struct row rows[] = {
        {"synced, inside", MSG_STREAM_FLOOD, "g-new", true, T2026, MSG_BINDING_NO_TIME,
         MSG_BINDING_OK, NULL},
        {"synced, one ms before from", MSG_STREAM_FLOOD, "g-new", true, T2026 - 1,
         MSG_BINDING_NO_TIME, MSG_BINDING_UNBOUND,
         "station: 'g-new' is not bound to device 'gw-1' at 2025-12-31T23:59:59.999Z (its ts)"},
        {"synced, at to (exclusive)", MSG_STREAM_FLOOD, "g-old", true, INT64_C(1577836800000),
         MSG_BINDING_NO_TIME, MSG_BINDING_UNBOUND, "at 2020-01-01T00:00:00.000Z"},
        {"synced, 1970 is judged as 1970", MSG_STREAM_FLOOD, "g-new", true, 0,
         MSG_BINDING_NO_TIME, MSG_BINDING_UNBOUND, "at 1970-01-01T00:00:00.000Z (its ts)"},
        {"issue9 unsynced 1970: judged when received", MSG_STREAM_FLOOD, "g-new", false, 0,
         MSG_BINDING_NO_TIME, MSG_BINDING_OK, NULL},
        {"unsynced, plausible ts before the binding: still the time received", MSG_STREAM_FLOOD,
         "g-new", false, T2026 - 1000, MSG_BINDING_NO_TIME, MSG_BINDING_OK, NULL},
        {"unsynced, ts inside an old binding that has ended", MSG_STREAM_FLOOD, "g-old", false,
         INT64_C(1262304000000), MSG_BINDING_NO_TIME, MSG_BINDING_UNBOUND,
         "at 2026-02-11T03:15:00.000Z (the time received; clock not synchronised)"},
        {"unsynced, corrected time inside the old binding", MSG_STREAM_FLOOD, "g-old", false, 0,
         INT64_C(1262304000000), MSG_BINDING_OK, NULL},
        {"unsynced, corrected time before the binding", MSG_STREAM_FLOOD, "g-new", false, 0,
         T2026 - 1, MSG_BINDING_UNBOUND, "(its corrected time; clock not synchronised)"},
        {"never bound", MSG_STREAM_FLOOD, "elsewhere", true, RECV, MSG_BINDING_NO_TIME,
         MSG_BINDING_UNBOUND, "station: 'elsewhere' is not bound to device 'gw-1' at "
                              "2026-02-11T03:15:00.000Z (its ts; never bound)"},
        {"issue9 flood for a camera", MSG_STREAM_FLOOD, "cam-1", true, RECV,
         MSG_BINDING_NO_TIME, MSG_BINDING_KIND,
         "station: 'cam-1' is a traffic camera, not a station for flood readings"},
        {"traffic for a camera", MSG_STREAM_TRAFFIC, "cam-1", true, RECV, MSG_BINDING_NO_TIME,
         MSG_BINDING_OK, NULL},
        {"incident for a camera, unsynced", MSG_STREAM_INCIDENT, "cam-1", false, 0,
         MSG_BINDING_NO_TIME, MSG_BINDING_OK, NULL},
        {"traffic for a gauge", MSG_STREAM_TRAFFIC, "g-new", true, RECV, MSG_BINDING_NO_TIME,
         MSG_BINDING_KIND, "station: 'g-new' is a flood gauge, not a station for traffic"},
        {"incident for a gauge", MSG_STREAM_INCIDENT, "g-new", true, RECV, MSG_BINDING_NO_TIME,
         MSG_BINDING_KIND, "not a station for incident readings"},
        {"a kind the cache does not know fits nothing", MSG_STREAM_FLOOD, "st-x", true, RECV,
         MSG_BINDING_NO_TIME, MSG_BINDING_KIND, "'st-x' is of unknown kind"},
        {"larva names no station", MSG_STREAM_LARVA, "", false, 0, MSG_BINDING_NO_TIME,
         MSG_BINDING_OK, NULL},
        {"status names no station", MSG_STREAM_STATUS, "", true, RECV, MSG_BINDING_NO_TIME,
         MSG_BINDING_OK, NULL},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct row *r = &rows[i];
        struct msg_event ev;
        char err[MSG_ERRLEN] = "";
        enum msg_binding_verdict got;

        event(&ev, r);
        got = msg_binding_check(bindings, sizeof(bindings) / sizeof(bindings[0]), &ev,
                                r->corrected, RECV, err, sizeof(err));
        TEST_CHECK(got == r->want);
        TEST_MSG("%s: got %d (%s), want %d", r->name, (int)got, err, (int)r->want);
        if (r->err != NULL) {
            TEST_CHECK(strstr(err, r->err) != NULL);
            TEST_MSG("%s: err '%s' should say '%s'", r->name, err, r->err);
        }
    }
}

static void test_no_bindings(void)
{
    struct row r = {"", MSG_STREAM_FLOOD, "g-new", false, 0, MSG_BINDING_NO_TIME, 0, NULL};
    struct msg_event ev;
    char err[MSG_ERRLEN] = "";

    event(&ev, &r);
    TEST_CHECK(msg_binding_check(NULL, 0, &ev, MSG_BINDING_NO_TIME, RECV, err, sizeof(err)) ==
               MSG_BINDING_UNBOUND);
    TEST_CHECK(strstr(err, "never bound") != NULL);
    TEST_MSG("err '%s'", err);
}

static void test_time(void)
{
    TEST_CHECK(msg_binding_time(true, 5, 7, 9) == 5);
    TEST_CHECK(msg_binding_time(true, 5, MSG_BINDING_NO_TIME, 9) == 5);
    TEST_CHECK(msg_binding_time(false, 5, 7, 9) == 7);
    TEST_CHECK(msg_binding_time(false, 5, MSG_BINDING_NO_TIME, 9) == 9);
}

static void test_kind_names(void)
{
    TEST_CHECK(msg_station_kind_from_name("flood_gauge") == MSG_STATION_GAUGE);
    TEST_CHECK(msg_station_kind_from_name("traffic_camera") == MSG_STATION_CAMERA);
    TEST_CHECK(msg_station_kind_from_name("Flood_gauge") == MSG_STATION_UNKNOWN);
    TEST_CHECK(msg_station_kind_from_name("") == MSG_STATION_UNKNOWN);
    TEST_CHECK(msg_station_kind_from_name(NULL) == MSG_STATION_UNKNOWN);
    TEST_CHECK(strcmp(msg_station_kind_name(MSG_STATION_GAUGE), "flood_gauge") == 0);
    TEST_CHECK(strcmp(msg_station_kind_name(MSG_STATION_CAMERA), "traffic_camera") == 0);
    TEST_CHECK(strcmp(msg_station_kind_name(MSG_STATION_UNKNOWN), "unknown") == 0);
}

TEST_LIST = {
    {"check", test_check},
    {"no_bindings", test_no_bindings},
    {"time", test_time},
    {"kind_names", test_kind_names},
    {NULL, NULL},
};
