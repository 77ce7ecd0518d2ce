/* test_agent_camera_line.c -- unit tests of edge-agent/camera_line.c: the camera source's line
 * format (docs/agent-sources.md). Every refused line checks that err names the member. */
#include <stdio.h>
#include <string.h>

#include "camera_line.h"
#include "msg_err.h"
#include "tinytest.h"

#define INC "\"kind\":\"incident\",\"event\":\"1772437265.250311-k2x8lq\",\"type\":" \
            "\"stalled_vehicle\",\"start\":\"2026-03-02T07:41:05.250Z\""

struct bad_case {
    const char *line;
    int rc;
    const char *why;
};

static const struct bad_case bad_cases[] = {
    {"", MSG_ERR_JSON, ""},
    {"not json", MSG_ERR_JSON, ""},
    {"{\"kind\":\"count\",\"class\":\"car\"", MSG_ERR_JSON, ""},
    {"[1]", MSG_ERR_SCHEMA, "not an object"},
    {"{\"class\":\"car\"}", MSG_ERR_SCHEMA, "kind: missing"},
    {"{\"kind\":\"detection\"}", MSG_ERR_SCHEMA, "kind:"},
    {"{\"kind\":\"count\"}", MSG_ERR_SCHEMA, "class: missing"},
    {"{\"kind\":\"count\",\"class\":\"tank\"}", MSG_ERR_SCHEMA, "class:"},
    {"{\"kind\":\"count\",\"class\":\"car\",\"count\":0}", MSG_ERR_SCHEMA, "count:"},
    {"{\"kind\":\"count\",\"class\":\"car\",\"count\":1.5}", MSG_ERR_SCHEMA, "count:"},
    {"{\"kind\":\"count\",\"class\":\"car\",\"count\":10001}", MSG_ERR_SCHEMA, "count:"},
    {"{\"kind\":\"count\",\"class\":\"car\",\"speed_kmh\":301}", MSG_ERR_SCHEMA, "speed_kmh"},
    {"{\"kind\":\"count\",\"class\":\"car\",\"speed_kmh\":\"5\"}", MSG_ERR_SCHEMA, "speed_kmh"},
    {"{\"kind\":\"count\",\"class\":\"car\",\"colour\":\"red\"}", MSG_ERR_SCHEMA,
     "colour: unknown member"},
    {"{\"kind\":\"count\",\"class\":\"car\",\"station\":\"Cam/1\"}", MSG_ERR_SCHEMA, "station:"},
    {"{\"kind\":\"count\",\"class\":\"car\",\"lane\":5}", MSG_ERR_SCHEMA, "lane:"},
    {"{\"kind\":\"count\",\"class\":\"car\",\"ts\":\"2026-02-30T00:00:00.000Z\"}",
     MSG_ERR_SCHEMA, "ts:"},
    {"{\"kind\":\"count\",\"class\":\"car\",\"seq\":5}", MSG_ERR_SCHEMA, "seq: not allowed"},
    {"{\"kind\":\"count\",\"class\":\"car\",\"class\":\"bus\"}", MSG_ERR_JSON, "duplicate"},
    {"{\"kind\":\"count\",\"class\":\"c\\u0000r\"}", MSG_ERR_JSON, ""},
    {"{" INC ",\"state\":\"end\"}", MSG_ERR_SCHEMA, "end"},
    {"{" INC ",\"state\":\"new\",\"confidence\":1.5}", MSG_ERR_SCHEMA, "confidence"},
    {"{" INC ",\"state\":\"gone\"}", MSG_ERR_SCHEMA, "state"},
    {"{" INC ",\"state\":\"new\",\"image\":\"AAAA\"}", MSG_ERR_SCHEMA, "image"},
    {"{" INC ",\"state\":\"new\",\"store\":\"x\"}", MSG_ERR_SCHEMA, "store: not allowed"},
    {"{\"kind\":\"lane\"}", MSG_ERR_SCHEMA, "occupancy_pct, queue_m"},
    {"{\"kind\":\"lane\",\"occupancy_pct\":100.5}", MSG_ERR_SCHEMA, "occupancy_pct"},
    {"{\"kind\":\"lane\",\"occupancy_pct\":-1}", MSG_ERR_SCHEMA, "occupancy_pct"},
    {"{\"kind\":\"lane\",\"occupancy_pct\":\"40\"}", MSG_ERR_SCHEMA, "occupancy_pct"},
    {"{\"kind\":\"lane\",\"queue_m\":10001}", MSG_ERR_SCHEMA, "queue_m"},
    {"{\"kind\":\"lane\",\"queue_m\":true}", MSG_ERR_SCHEMA, "queue_m"},
    {"{\"kind\":\"lane\",\"queue_m\":5,\"class\":\"car\"}", MSG_ERR_SCHEMA,
     "class: unknown member"},
    {"{\"kind\":\"lane\",\"queue_m\":5,\"lane\":\"Lane 1\"}", MSG_ERR_SCHEMA, "lane:"},
    {"{\"kind\":\"lane\",\"queue_m\":5,\"seq\":1}", MSG_ERR_SCHEMA, "seq: not allowed"},
    {"{\"kind\":\"count\",\"class\":\"car\",\"queue_m\":5}", MSG_ERR_SCHEMA,
     "queue_m: unknown member"},
    {"{\"kind\":\"incident\",\"station\":\"Cam 1\",\"event\":\"e1\",\"state\":\"new\","
     "\"type\":\"accident\",\"start\":\"2026-03-02T07:41:05.250Z\"}", MSG_ERR_SCHEMA,
     "station"},
};

static void test_bad_lines_name_the_member(void)
{
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        struct camera_line cl;
        char err[MSG_ERRLEN] = "";
        const char *line = bad_cases[i].line;
        int rc = camera_line_parse(line, strlen(line), "cam-9", "all", &cl, err, sizeof(err));

        TEST_CHECK(rc == bad_cases[i].rc);
        TEST_MSG("case %zu %s: rc %d err '%s'", i, line, rc, err);
        TEST_CHECK(strstr(err, bad_cases[i].why) != NULL && err[0] != '\0');
        TEST_MSG("case %zu: err '%s' lacks '%s'", i, err, bad_cases[i].why);
    }
}

static void test_count_line(void)
{
    const char *line = "{\"kind\":\"count\",\"station\":\"cam-kalimalang-01\",\"lane\":"
                       "\"eastbound\",\"class\":\"bicycle\",\"count\":3,\"speed_kmh\":12.5,"
                       "\"ts\":\"2026-03-02T07:41:05.250Z\",\"x_vendor\":\"acme\"}";
    struct camera_line cl;
    char err[MSG_ERRLEN] = "";

    TEST_CHECK(camera_line_parse(line, strlen(line), "", "all", &cl, err, sizeof(err)) ==
               MSG_OK);
    TEST_MSG("err: %s", err);
    TEST_CHECK(cl.kind == CAMERA_LINE_COUNT);
    TEST_CHECK(strcmp(cl.count.station, "cam-kalimalang-01") == 0);
    TEST_CHECK(strcmp(cl.count.lane, "eastbound") == 0);
    TEST_CHECK(cl.count.vclass == MSG_VCLASS_NONMOTOR);
    TEST_CHECK(cl.count.count == 3);
    TEST_CHECK(cl.count.has_speed && cl.count.speed_kmh == 12.5);
    TEST_CHECK(cl.ts_ms == INT64_C(1772437265250));
}

static void test_count_defaults(void)
{
    const char *line = "{\"kind\":\"count\",\"class\":\"car\"}";
    struct camera_line cl;
    char err[MSG_ERRLEN] = "";

    TEST_CHECK(camera_line_parse(line, strlen(line), "cam-9", "all", &cl, err, sizeof(err)) ==
               MSG_OK);
    TEST_CHECK(strcmp(cl.count.station, "cam-9") == 0 && strcmp(cl.count.lane, "all") == 0);
    TEST_CHECK(cl.count.count == 1 && !cl.count.has_speed && cl.ts_ms == 0);
    TEST_CHECK(camera_line_parse(line, strlen(line), "", "all", &cl, err, sizeof(err)) ==
               MSG_ERR_SCHEMA);
    TEST_CHECK(strstr(err, "station: missing") != NULL);
}

/* Issue 9, item 15: occupancy and queue from the camera's own input. */
static void test_lane_line(void)
{
    const char *line = "{\"kind\":\"lane\",\"station\":\"cam-kalimalang-01\",\"lane\":"
                       "\"eastbound\",\"occupancy_pct\":41.5,\"queue_m\":120,"
                       "\"ts\":\"2026-03-02T07:41:05.250Z\",\"x_zone\":\"stop-line\"}";
    const char *occ = "{\"kind\":\"lane\",\"occupancy_pct\":0}";
    const char *queue = "{\"kind\":\"lane\",\"queue_m\":10000}";
    struct camera_line cl;
    char err[MSG_ERRLEN] = "";

    TEST_CHECK(camera_line_parse(line, strlen(line), "", "all", &cl, err, sizeof(err)) ==
               MSG_OK);
    TEST_MSG("err: %s", err);
    TEST_CHECK(cl.kind == CAMERA_LINE_LANE);
    TEST_CHECK(strcmp(cl.lane.station, "cam-kalimalang-01") == 0);
    TEST_CHECK(strcmp(cl.lane.lane, "eastbound") == 0);
    TEST_CHECK(cl.lane.has_occupancy && cl.lane.occupancy_pct == 41.5);
    TEST_CHECK(cl.lane.has_queue && cl.lane.queue_m == 120);
    TEST_CHECK(cl.ts_ms == INT64_C(1772437265250));
    /* either alone; station and lane from the config */
    TEST_CHECK(camera_line_parse(occ, strlen(occ), "cam-9", "all", &cl, err, sizeof(err)) ==
               MSG_OK);
    TEST_CHECK(cl.kind == CAMERA_LINE_LANE && cl.lane.has_occupancy && !cl.lane.has_queue);
    TEST_CHECK(cl.lane.occupancy_pct == 0 && cl.ts_ms == 0);
    TEST_CHECK(strcmp(cl.lane.station, "cam-9") == 0 && strcmp(cl.lane.lane, "all") == 0);
    TEST_CHECK(camera_line_parse(queue, strlen(queue), "cam-9", "all", &cl, err, sizeof(err)) ==
               MSG_OK);
    TEST_CHECK(!cl.lane.has_occupancy && cl.lane.has_queue && cl.lane.queue_m == 10000);
    TEST_CHECK(camera_line_parse(queue, strlen(queue), "", "all", &cl, err, sizeof(err)) ==
               MSG_ERR_SCHEMA);
    TEST_CHECK(strstr(err, "station: missing") != NULL);
}

static void test_incident_line(void)
{
    const char *line = "{\"kind\":\"incident\",\"station\":\"cam-kalimalang-01\",\"event\":"
                       "\"1772437265.250311-k2x8lq\",\"state\":\"end\",\"type\":"
                       "\"stalled_vehicle\",\"start\":\"2026-03-02T07:41:05.250Z\",\"end\":"
                       "\"2026-03-02T07:58:40.000Z\",\"confidence\":0.91,\"snapshot\":"
                       "\"nvr://cam-kalimalang-01/1772437265.jpg\",\"lane\":\"eastbound\","
                       "\"ts\":\"2026-03-02T07:58:40.000Z\"}";
    struct camera_line cl;
    char err[MSG_ERRLEN] = "";

    TEST_CHECK(camera_line_parse(line, strlen(line), "", "all", &cl, err, sizeof(err)) ==
               MSG_OK);
    TEST_MSG("err: %s", err);
    TEST_CHECK(cl.kind == CAMERA_LINE_INCIDENT);
    TEST_CHECK(strcmp(cl.incident.event, "1772437265.250311-k2x8lq") == 0);
    TEST_CHECK(cl.incident.state == MSG_INCIDENT_END && cl.incident.has_end);
    TEST_CHECK(cl.incident.type == MSG_INCIDENT_STALLED_VEHICLE);
    TEST_CHECK(cl.incident.start_ms == INT64_C(1772437265250));
    TEST_CHECK(cl.incident.has_confidence && cl.incident.confidence == 0.91);
    TEST_CHECK(strcmp(cl.incident.snapshot, "nvr://cam-kalimalang-01/1772437265.jpg") == 0);
    TEST_CHECK(strcmp(cl.incident.lane, "eastbound") == 0);
    TEST_CHECK(cl.ts_ms == INT64_C(1772438320000));
}

TEST_LIST = {
    {"bad_lines_name_the_member", test_bad_lines_name_the_member},
    {"count_line", test_count_line},
    {"count_defaults", test_count_defaults},
    {"lane_line", test_lane_line},
    {"incident_line", test_incident_line},
    {NULL, NULL},
};
