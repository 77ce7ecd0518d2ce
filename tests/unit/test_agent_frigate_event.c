/* test_agent_frigate_event.c -- unit tests of edge-agent/frigate_event.c: Frigate's
 * `frigate/events` messages (the format of Frigate's docs, integrations/mqtt.md) read and
 * mapped onto counts and incidents; config errors name the key and the item. */
#include <stdio.h>
#include <string.h>

#include "frigate_event.h"
#include "msg_err.h"
#include "tinytest.h"

/* A message as Frigate sends it, with the after object's fields filled in. */
static void message(char *buf, size_t len, const char *type, const char *label,
                    const char *zones, bool stationary, const char *end, bool snapshot)
{
    snprintf(buf, len,
             "{\"type\":\"%s\",\"before\":{\"id\":\"1607123955.475377-mxklsc\",\"camera\":"
             "\"gerbang_timur\",\"label\":\"%s\",\"start_time\":1607123955.475377,"
             "\"end_time\":null,\"top_score\":0.5,\"current_zones\":[]},"
             "\"after\":{\"id\":\"1607123955.475377-mxklsc\",\"camera\":\"gerbang_timur\","
             "\"frame_time\":1607123962.082975,\"snapshot_time\":1607123961.837752,"
             "\"label\":\"%s\",\"top_score\":0.958984375,\"false_positive\":false,"
             "\"start_time\":1607123955.475377,\"end_time\":%s,\"score\":0.87890625,"
             "\"box\":[432,496,544,854],\"area\":40096,\"region\":[218,440,693,915],"
             "\"current_zones\":[%s],\"entered_zones\":[\"yard\"],\"thumbnail\":null,"
             "\"has_snapshot\":%s,\"has_clip\":false,\"stationary\":%s,"
             "\"motionless_count\":0,\"position_changes\":2}}",
             type, label, label, end, zones, snapshot ? "true" : "false",
             stationary ? "true" : "false");
}

static void load_map(struct frigate_map *m)
{
    char err[MSG_ERRLEN] = "";
    int rc = frigate_map_parse("gerbang_timur=cam-kalimalang-01, gerbang_barat=cam-2",
                               "car=car motorcycle=motorcycle bus=bus truck=truck "
                               "bicycle=nonmotor",
                               "car@shoulder+stationary=stalled_vehicle person@road=other",
                               "frigate://{camera}/{id}.jpg", m, err, sizeof(err));

    TEST_CHECK(rc == MSG_OK);
    TEST_MSG("err: %s", err);
}

static void test_parse_frigate_message(void)
{
    char buf[2048];
    struct frigate_event ev;
    char err[MSG_ERRLEN] = "";

    message(buf, sizeof(buf), "update", "car", "\"yard\",\"shoulder\"", true, "null", true);
    TEST_CHECK(frigate_event_parse(buf, strlen(buf), &ev, err, sizeof(err)) == MSG_OK);
    TEST_MSG("err: %s", err);
    TEST_CHECK(ev.type == FRIGATE_UPDATE);
    TEST_CHECK(strcmp(ev.id, "1607123955.475377-mxklsc") == 0);
    TEST_CHECK(strcmp(ev.camera, "gerbang_timur") == 0 && strcmp(ev.label, "car") == 0);
    TEST_CHECK(ev.start_ms == INT64_C(1607123955475));
    TEST_CHECK(!ev.has_end);
    TEST_CHECK(ev.has_score && ev.score == 0.958984375);   /* top_score, from after */
    TEST_CHECK(ev.has_snapshot && ev.stationary && !ev.false_positive);
    TEST_CHECK(ev.n_zones == 2 && strcmp(ev.zones[1], "shoulder") == 0);
    message(buf, sizeof(buf), "end", "car", "", false, "1607123999.5", false);
    TEST_CHECK(frigate_event_parse(buf, strlen(buf), &ev, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(ev.type == FRIGATE_END && ev.has_end && ev.end_ms == INT64_C(1607123999500));
}

static const struct {
    const char *msg;
    int rc;
    const char *why;
} bad_messages[] = {
    {"", MSG_ERR_JSON, "not JSON"},
    {"{\"type\":\"new\"", MSG_ERR_JSON, "not JSON"},
    {"[]", MSG_ERR_SCHEMA, "object"},
    {"{\"after\":{}}", MSG_ERR_SCHEMA, "type"},
    {"{\"type\":\"gone\",\"after\":{}}", MSG_ERR_SCHEMA, "type"},
    {"{\"type\":\"new\"}", MSG_ERR_SCHEMA, "after: missing"},
    {"{\"type\":\"new\",\"after\":{\"camera\":\"c\",\"label\":\"car\",\"start_time\":1}}",
     MSG_ERR_SCHEMA, "after.id: missing"},
    {"{\"type\":\"new\",\"after\":{\"id\":\"x\",\"label\":\"car\",\"start_time\":1}}",
     MSG_ERR_SCHEMA, "after.camera"},
    {"{\"type\":\"new\",\"after\":{\"id\":\"x\",\"camera\":\"c\",\"label\":\"car\"}}",
     MSG_ERR_SCHEMA, "after.start_time: missing"},
    {"{\"type\":\"new\",\"after\":{\"id\":\"x\",\"camera\":\"c\",\"label\":\"car\","
     "\"start_time\":\"soon\"}}", MSG_ERR_SCHEMA, "after.start_time"},
    {"{\"type\":\"new\",\"after\":{\"id\":\"x\",\"camera\":\"c\",\"label\":\"car\","
     "\"start_time\":-5}}", MSG_ERR_SCHEMA, "after.start_time"},
    {"{\"type\":\"new\",\"before\":{\"id\":5,\"camera\":\"c\",\"label\":\"car\","
     "\"start_time\":1}}", MSG_ERR_SCHEMA, "before.id"},
};

static void test_bad_messages_name_the_member(void)
{
    for (size_t i = 0; i < sizeof(bad_messages) / sizeof(bad_messages[0]); i++) {
        struct frigate_event ev;
        char err[MSG_ERRLEN] = "";
        int rc = frigate_event_parse(bad_messages[i].msg, strlen(bad_messages[i].msg), &ev, err,
                                     sizeof(err));

        TEST_CHECK(rc == bad_messages[i].rc);
        TEST_MSG("case %zu: rc %d err '%s'", i, rc, err);
        TEST_CHECK(strstr(err, bad_messages[i].why) != NULL);
        TEST_MSG("case %zu: err '%s' lacks '%s'", i, err, bad_messages[i].why);
    }
}

static void test_new_car_is_counted_once(void)
{
    static struct frigate_map m;
    struct frigate_event ev;
    struct frigate_action act;
    char buf[2048];
    char err[MSG_ERRLEN] = "";

    load_map(&m);
    message(buf, sizeof(buf), "new", "bicycle", "\"road\"", false, "null", false);
    TEST_CHECK(frigate_event_parse(buf, strlen(buf), &ev, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(frigate_event_map(&m, &ev, false, MSG_INCIDENT_OTHER, &act, err, sizeof(err)) ==
               MSG_OK);
    TEST_CHECK(act.count && act.vclass == MSG_VCLASS_NONMOTOR);
    TEST_CHECK(strcmp(act.station, "cam-kalimalang-01") == 0);
    TEST_CHECK(act.count_ts_ms == INT64_C(1607123955475));
    TEST_CHECK(!act.incident);
    /* its updates are not counted again */
    message(buf, sizeof(buf), "update", "bicycle", "\"road\"", false, "null", false);
    TEST_CHECK(frigate_event_parse(buf, strlen(buf), &ev, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(frigate_event_map(&m, &ev, false, MSG_INCIDENT_OTHER, &act, err, sizeof(err)) ==
               MSG_OK);
    TEST_CHECK(!act.count && !act.incident);
    /* a label that is not a vehicle is not counted */
    message(buf, sizeof(buf), "new", "dog", "", false, "null", false);
    TEST_CHECK(frigate_event_parse(buf, strlen(buf), &ev, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(frigate_event_map(&m, &ev, false, MSG_INCIDENT_OTHER, &act, err, sizeof(err)) ==
               MSG_OK);
    TEST_CHECK(!act.count && !act.incident);
    /* a false positive is nothing */
    message(buf, sizeof(buf), "new", "car", "", false, "null", false);
    TEST_CHECK(frigate_event_parse(buf, strlen(buf), &ev, err, sizeof(err)) == MSG_OK);
    ev.false_positive = true;
    TEST_CHECK(frigate_event_map(&m, &ev, false, MSG_INCIDENT_OTHER, &act, err, sizeof(err)) ==
               MSG_OK);
    TEST_CHECK(!act.count);
}

static void test_stationary_car_on_shoulder_is_an_incident(void)
{
    static struct frigate_map m;
    struct frigate_event ev;
    struct frigate_action act;
    char buf[2048];
    char err[MSG_ERRLEN] = "";

    load_map(&m);
    /* on the shoulder but moving: no incident */
    message(buf, sizeof(buf), "update", "car", "\"shoulder\"", false, "null", true);
    TEST_CHECK(frigate_event_parse(buf, strlen(buf), &ev, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(frigate_event_map(&m, &ev, false, MSG_INCIDENT_OTHER, &act, err, sizeof(err)) ==
               MSG_OK);
    TEST_CHECK(!act.incident);
    /* stationary on the shoulder: a new incident with its snapshot reference */
    message(buf, sizeof(buf), "update", "car", "\"yard\",\"shoulder\"", true, "null", true);
    TEST_CHECK(frigate_event_parse(buf, strlen(buf), &ev, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(frigate_event_map(&m, &ev, false, MSG_INCIDENT_OTHER, &act, err, sizeof(err)) ==
               MSG_OK);
    TEST_CHECK(act.incident && act.inc.state == MSG_INCIDENT_NEW);
    TEST_CHECK(act.inc.type == MSG_INCIDENT_STALLED_VEHICLE);
    TEST_CHECK(strcmp(act.inc.station, "cam-kalimalang-01") == 0);
    TEST_CHECK(strcmp(act.inc.event, "1607123955.475377-mxklsc") == 0);
    TEST_CHECK(act.inc.start_ms == INT64_C(1607123955475) && !act.inc.has_end);
    TEST_CHECK(act.inc.has_confidence && act.inc.confidence == 0.958984375);
    TEST_CHECK(strcmp(act.inc.snapshot,
                      "frigate://gerbang_timur/1607123955.475377-mxklsc.jpg") == 0);
    TEST_MSG("snapshot %s", act.inc.snapshot);
    /* once open, later messages update it, even after it moved on */
    message(buf, sizeof(buf), "update", "car", "", false, "null", false);
    TEST_CHECK(frigate_event_parse(buf, strlen(buf), &ev, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(frigate_event_map(&m, &ev, true, MSG_INCIDENT_STALLED_VEHICLE, &act, err,
                                 sizeof(err)) == MSG_OK);
    TEST_CHECK(act.incident && act.inc.state == MSG_INCIDENT_UPDATE);
    TEST_CHECK(act.inc.type == MSG_INCIDENT_STALLED_VEHICLE && act.inc.snapshot[0] == '\0');
    /* and Frigate's end ends it */
    message(buf, sizeof(buf), "end", "car", "", false, "1607124100.25", true);
    TEST_CHECK(frigate_event_parse(buf, strlen(buf), &ev, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(frigate_event_map(&m, &ev, true, MSG_INCIDENT_STALLED_VEHICLE, &act, err,
                                 sizeof(err)) == MSG_OK);
    TEST_CHECK(act.incident && act.inc.state == MSG_INCIDENT_END && act.inc.has_end);
    TEST_CHECK(act.inc.end_ms == INT64_C(1607124100250));
    /* an unmapped camera is refused, naming it */
    snprintf(ev.camera, sizeof(ev.camera), "belakang");
    TEST_CHECK(frigate_event_map(&m, &ev, true, MSG_INCIDENT_STALLED_VEHICLE, &act, err,
                                 sizeof(err)) == MSG_ERR_SCHEMA);
    TEST_CHECK(strstr(err, "camera 'belakang'") != NULL);
    /* an id the contract cannot carry */
    snprintf(ev.camera, sizeof(ev.camera), "gerbang_timur");
    snprintf(ev.id, sizeof(ev.id), "-bad id");
    TEST_CHECK(frigate_event_map(&m, &ev, true, MSG_INCIDENT_STALLED_VEHICLE, &act, err,
                                 sizeof(err)) == MSG_ERR_SCHEMA);
    TEST_CHECK(strstr(err, "id") != NULL);
}

static void test_map_config_errors(void)
{
    static struct frigate_map m;
    char err[MSG_ERRLEN] = "";

    TEST_CHECK(frigate_map_parse("", "", "", "", &m, err, sizeof(err)) == MSG_ERR_CONFIG);
    TEST_CHECK(strstr(err, "cameras") != NULL);
    TEST_CHECK(frigate_map_parse("front=Cam_1", "", "", "", &m, err, sizeof(err)) ==
               MSG_ERR_CONFIG);
    TEST_CHECK(strstr(err, "cameras: 'front=Cam_1'") != NULL);
    TEST_CHECK(frigate_map_parse("front=cam-1", "car=tank", "", "", &m, err, sizeof(err)) ==
               MSG_ERR_CONFIG);
    TEST_CHECK(strstr(err, "classes: 'car=tank'") != NULL);
    TEST_CHECK(frigate_map_parse("front=cam-1", "", "car@x=meteor", "", &m, err, sizeof(err)) ==
               MSG_ERR_CONFIG);
    TEST_CHECK(strstr(err, "incidents: 'car@x=meteor'") != NULL);
    TEST_CHECK(frigate_map_parse("front=cam-1", "", "car+parked=other", "", &m, err,
                                 sizeof(err)) == MSG_ERR_CONFIG);
    TEST_CHECK(strstr(err, "stationary") != NULL);
    TEST_CHECK(frigate_map_parse("front=cam-1", "", "car=accident", "", &m, err, sizeof(err)) ==
               MSG_OK);
    TEST_CHECK(m.n_rules == 1 && m.rules[0].zone[0] == '\0' && !m.rules[0].stationary);
}

TEST_LIST = {
    {"parse_frigate_message", test_parse_frigate_message},
    {"bad_messages_name_the_member", test_bad_messages_name_the_member},
    {"new_car_is_counted_once", test_new_car_is_counted_once},
    {"stationary_car_on_shoulder_is_an_incident", test_stationary_car_on_shoulder_is_an_incident},
    {"map_config_errors", test_map_config_errors},
    {NULL, NULL},
};
