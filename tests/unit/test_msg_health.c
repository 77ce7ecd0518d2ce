/* test_msg_health.c -- unit tests of msg/msg_health.c: collector health (protocol.md 6.2, 9.6). */
#include <string.h>

#include "msg_health.h"
#include "tinytest.h"

#define TOPIC "pantau/v1/_sys/health/collector-1"

struct row {
    const char *name;
    const char *payload;
    int rc;
    const char *want;
};

static void test_parse(void)
{
    static const struct row rows[] = {
        {"protocol example", "{\"collector\":\"collector-1\",\"state\":\"online\",\"db\":\"down\","
                             "\"ts\":\"2026-02-11T03:15:00.000Z\"}",
         MSG_OK, NULL},
        {"last will", "{\"collector\":\"collector-1\",\"state\":\"offline\",\"db\":\"unknown\","
                      "\"ts\":\"2026-02-11T03:15:00.000Z\",\"x_a\":null}",
         MSG_OK, NULL},
        {"db maybe", "{\"collector\":\"collector-1\",\"state\":\"online\",\"db\":\"maybe\","
                     "\"ts\":\"2026-02-11T03:15:00.000Z\"}",
         MSG_ERR_SCHEMA, "db: 'maybe' is not one of up, down, unknown"},
        {"state sleeping", "{\"collector\":\"collector-1\",\"state\":\"sleeping\",\"db\":\"up\","
                           "\"ts\":\"2026-02-11T03:15:00.000Z\"}",
         MSG_ERR_SCHEMA, "state: 'sleeping' is not one of online, offline"},
        {"state a boolean", "{\"collector\":\"collector-1\",\"state\":true,\"db\":\"up\","
                            "\"ts\":\"2026-02-11T03:15:00.000Z\"}",
         MSG_ERR_SCHEMA, "state: expected a string, got boolean"},
        {"collector differs from the topic (9.6)",
         "{\"collector\":\"collector-2\",\"state\":\"online\",\"db\":\"up\","
         "\"ts\":\"2026-02-11T03:15:00.000Z\"}",
         MSG_ERR_SCHEMA, "collector: 'collector-2' differs from the topic's collector "
                         "'collector-1'"},
        {"collector not an id", "{\"collector\":\"Collector-1\",\"state\":\"online\",\"db\":\"up\","
                                "\"ts\":\"2026-02-11T03:15:00.000Z\"}",
         MSG_ERR_SCHEMA, "collector: 'Collector-1' is not an id"},
        {"ts missing", "{\"collector\":\"collector-1\",\"state\":\"online\",\"db\":\"up\"}",
         MSG_ERR_SCHEMA, "ts: missing"},
        {"db missing", "{\"collector\":\"collector-1\",\"state\":\"online\","
                       "\"ts\":\"2026-02-11T03:15:00.000Z\"}",
         MSG_ERR_SCHEMA, "db: missing"},
        {"unknown member", "{\"collector\":\"collector-1\",\"state\":\"online\",\"db\":\"up\","
                           "\"ts\":\"2026-02-11T03:15:00.000Z\",\"load\":1}",
         MSG_ERR_SCHEMA, "load: unknown member"},
        {"truncated", "{\"collector\":\"collector-1\"", MSG_ERR_JSON, "truncated"},
    };
    struct msg_topic t;
    struct msg_health h;
    char err[MSG_ERRLEN] = "";

    TEST_CHECK(msg_topic_parse(TOPIC, strlen(TOPIC), &t, err, sizeof(err)) == MSG_OK);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int rc = msg_health_parse(&t, rows[i].payload, strlen(rows[i].payload), &h, err,
                                  sizeof(err));

        TEST_CHECK(rc == rows[i].rc);
        TEST_MSG("%s: rc %s, err '%s'", rows[i].name, msg_errname(rc), err);
        if (rows[i].want != NULL) {
            TEST_CHECK(strstr(err, rows[i].want) != NULL);
            TEST_MSG("%s: err '%s' lacks '%s'", rows[i].name, err, rows[i].want);
        }
    }
    TEST_CHECK(msg_health_parse(&t, rows[0].payload, strlen(rows[0].payload), &h, err,
                                sizeof(err)) == MSG_OK);
    TEST_CHECK(strcmp(h.collector, "collector-1") == 0 && h.online && h.db == MSG_DB_DOWN);
    TEST_CHECK(h.ts_ms == INT64_C(1770779700000));
    t.stream = MSG_STREAM_ACK;
    TEST_CHECK(msg_health_parse(&t, rows[0].payload, strlen(rows[0].payload), &h, err,
                                sizeof(err)) == MSG_ERR_TOPIC);
}

static void test_encode_round_trip(void)
{
    struct msg_health h = {"collector-1", false, MSG_DB_UNKNOWN, INT64_C(1770779700000)};
    struct msg_health back;
    struct msg_topic t;
    char buf[256];
    char err[MSG_ERRLEN] = "";
    size_t len = 0;

    TEST_CHECK(msg_health_encode(&h, buf, sizeof(buf), &len) == MSG_OK);
    TEST_CHECK(strcmp(buf, "{\"collector\":\"collector-1\",\"state\":\"offline\",\"db\":"
                           "\"unknown\",\"ts\":\"2026-02-11T03:15:00.000Z\"}") == 0);
    TEST_MSG("%s", buf);
    TEST_CHECK(msg_topic_parse(TOPIC, strlen(TOPIC), &t, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(msg_health_parse(&t, buf, len, &back, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(memcmp(&back.db, &h.db, sizeof(h.db)) == 0 && back.online == h.online &&
               back.ts_ms == h.ts_ms && strcmp(back.collector, h.collector) == 0);
    TEST_CHECK(msg_health_encode(&h, buf, 20, &len) == MSG_ERR_FULL);
    h.db = (enum msg_db_state)3;
    TEST_CHECK(msg_health_encode(&h, buf, sizeof(buf), &len) == MSG_ERR_INVAL);
    h.db = MSG_DB_UP;
    snprintf(h.collector, sizeof(h.collector), "%s", "Bad");
    TEST_CHECK(msg_health_encode(&h, buf, sizeof(buf), &len) == MSG_ERR_INVAL);
    TEST_CHECK(strcmp(msg_db_state_name(MSG_DB_UP), "up") == 0);
    TEST_CHECK(strcmp(msg_db_state_name((enum msg_db_state)5), "?") == 0);
}

TEST_LIST = {
    {"parse", test_parse},
    {"encode_round_trip", test_encode_round_trip},
    {NULL, NULL},
};
