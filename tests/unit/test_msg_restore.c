/* test_msg_restore.c -- unit tests of msg/msg_restore.c: the restore announcement (protocol.md
 * 6.3, 9.7). */
#include <string.h>

#include "msg_restore.h"
#include "tinytest.h"

#define T1 "\"target\":\"2026-12-07T21:20:51.660Z\""
#define R1 "\"restored\":\"2026-12-07T21:41:09.705Z\""
#define TS "\"ts\":\"2026-12-07T21:41:10.100Z\""

struct row {
    const char *name;
    const char *payload;
    int rc;
    const char *want; /* in err */
};

static void test_parse(void)
{
    static const struct row rows[] = {
        {"protocol example", "{\"epoch\":2," T1 "," R1 "," TS "}", MSG_OK, NULL},
        {"restored at target",
         "{\"epoch\":1," T1 ",\"restored\":\"2026-12-07T21:20:51.660Z\"," TS ",\"x_site\":\"poc\"}",
         MSG_OK, NULL},
        {"epoch of 2^53 - 1", "{\"epoch\":9007199254740991," T1 "," R1 "," TS "}", MSG_OK, NULL},
        {"restored before target (9.7)",
         "{\"epoch\":2," T1 ",\"restored\":\"2026-12-07T21:20:51.659Z\"," TS "}", MSG_ERR_SCHEMA,
         "restored: is before target"},
        {"epoch 0", "{\"epoch\":0," T1 "," R1 "," TS "}", MSG_ERR_SCHEMA, "epoch"},
        {"epoch of 2^53", "{\"epoch\":9007199254740992," T1 "," R1 "," TS "}", MSG_ERR_SCHEMA,
         "epoch"},
        {"epoch 1.5", "{\"epoch\":1.5," T1 "," R1 "," TS "}", MSG_ERR_SCHEMA, "epoch"},
        {"epoch a string", "{\"epoch\":\"2\"," T1 "," R1 "," TS "}", MSG_ERR_SCHEMA, "epoch"},
        {"no target", "{\"epoch\":2," R1 "," TS "}", MSG_ERR_SCHEMA, "target"},
        {"no ts", "{\"epoch\":2," T1 "," R1 "}", MSG_ERR_SCHEMA, "ts"},
        {"a date that is not",
         "{\"epoch\":2,\"target\":\"2026-02-30T00:00:00.000Z\"," R1 "," TS "}", MSG_ERR_SCHEMA,
         "target"},
        {"unknown member", "{\"epoch\":2," T1 "," R1 "," TS ",\"since\":1}", MSG_ERR_SCHEMA,
         "since"},
        {"duplicate member", "{\"epoch\":2,\"epoch\":3," T1 "," R1 "," TS "}", MSG_ERR_JSON,
         "duplicate"},
        {"not JSON", "epoch=2", MSG_ERR_JSON, NULL},
        {"empty", "", MSG_ERR_JSON, NULL},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct msg_restore r;
        char err[MSG_ERRLEN] = "";
        int rc = msg_restore_parse(rows[i].payload, strlen(rows[i].payload), &r, err, sizeof(err));

        TEST_CHECK(rc == rows[i].rc);
        TEST_MSG("%s: rc %d, want %d (%s)", rows[i].name, rc, rows[i].rc, err);
        if (rows[i].want != NULL) {
            TEST_CHECK(strstr(err, rows[i].want) != NULL);
            TEST_MSG("%s: err '%s' lacks '%s'", rows[i].name, err, rows[i].want);
        }
    }
}

static void test_fields_and_round_trip(void)
{
    const char *p = "{\"epoch\":2," T1 "," R1 "," TS "}";
    struct msg_restore r;
    struct msg_restore back;
    char buf[512];
    char err[MSG_ERRLEN] = "";
    size_t len = 0;

    TEST_CHECK(msg_restore_parse(p, strlen(p), &r, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(r.epoch == 2);
    TEST_CHECK(r.target_ms == INT64_C(1796678451660));
    TEST_CHECK(r.restored_ms == INT64_C(1796679669705));
    TEST_CHECK(r.ts_ms == INT64_C(1796679670100));
    TEST_CHECK(msg_restore_encode(&r, buf, sizeof(buf), &len) == MSG_OK);
    TEST_CHECK(strcmp(buf, p) == 0);
    TEST_MSG("encoded %s", buf);
    TEST_CHECK(msg_restore_parse(buf, len, &back, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(memcmp(&back, &r, sizeof(r)) == 0);
    /* what no collector may send */
    back = r;
    back.restored_ms = r.target_ms - 1;
    TEST_CHECK(msg_restore_encode(&back, buf, sizeof(buf), &len) == MSG_ERR_INVAL);
    back = r;
    back.epoch = 0;
    TEST_CHECK(msg_restore_encode(&back, buf, sizeof(buf), &len) == MSG_ERR_INVAL);
    TEST_CHECK(msg_restore_encode(&r, buf, 20, &len) == MSG_ERR_FULL);
}

TEST_LIST = {
    {"parse", test_parse},
    {"fields_and_round_trip", test_fields_and_round_trip},
    {NULL, NULL},
};
