/* test_msg_schema.c -- unit tests of msg/msg_schema.c (internal to msg/): the member-table
 * machinery on a small table of its own, extension names, store ids and range lists. */
#include <stddef.h>
#include <string.h>

#include "msg_err.h"
#include "msg_schema.h"
#include "tinytest.h"

struct thing {
    bool b;
    double num;
    bool has_num;
    int i;
    char id[65];
    int color;
};

static const char *const colors[] = {"red", "green", NULL};

static const struct msg_member thing_members[] = {
    {"b", MSG_M_BOOL, true, false, 0, 0, offsetof(struct thing, b), sizeof(bool), MSG_NO_HAS,
     NULL, NULL, NULL, NULL},
    {"num", MSG_M_NUM, false, false, -1, 1, offsetof(struct thing, num), sizeof(double),
     offsetof(struct thing, has_num), NULL, NULL, NULL, "a hint"},
    {"i", MSG_M_INT, false, false, 0, 10, offsetof(struct thing, i), sizeof(int), MSG_NO_HAS,
     NULL, NULL, NULL, NULL},
    {"id", MSG_M_ID, false, false, 0, 0, offsetof(struct thing, id), 65, MSG_NO_HAS, NULL, NULL,
     NULL, NULL},
    {"color", MSG_M_ENUM, false, false, 0, 0, offsetof(struct thing, color), sizeof(int),
     MSG_NO_HAS, colors, NULL, NULL, NULL},
};

static int check(const char *json, bool ext, struct thing *t, char *err)
{
    cJSON *doc = cJSON_Parse(json);
    struct msg_path p = {NULL, "thing", 0};
    int rc;

    memset(t, 0, sizeof(*t));
    err[0] = '\0';
    rc = msg_schema_object(doc, thing_members, 5, ext, t, &p, NULL, err, MSG_ERRLEN);
    cJSON_Delete(doc);
    return rc;
}

static void test_object(void)
{
    struct thing t;
    char err[MSG_ERRLEN];

    TEST_CHECK(check("{\"b\":true,\"num\":0.5,\"i\":3.0,\"id\":\"x\",\"color\":\"green\"}", false,
                     &t, err) == MSG_OK);
    TEST_CHECK(t.b && t.has_num && t.num == 0.5 && t.i == 3 && strcmp(t.id, "x") == 0 &&
               t.color == 1);
    TEST_CHECK(check("{\"num\":0.5}", false, &t, err) == MSG_ERR_SCHEMA);
    TEST_CHECK(strcmp(err, "thing.b: missing (required)") == 0);
    TEST_MSG("%s", err);
    TEST_CHECK(check("{\"b\":true,\"num\":2}", false, &t, err) == MSG_ERR_SCHEMA);
    TEST_CHECK(strcmp(err, "thing.num: 2 out of range -1..1 (a hint)") == 0);
    TEST_MSG("%s", err);
    TEST_CHECK(check("{\"b\":true,\"x_a\":1}", false, &t, err) == MSG_ERR_SCHEMA);
    TEST_CHECK(strcmp(err, "thing.x_a: unknown member") == 0);
    TEST_CHECK(check("{\"b\":true,\"x_a\":1}", true, &t, err) == MSG_OK);
    TEST_CHECK(check("{\"b\":true,\"color\":\"blue\"}", true, &t, err) == MSG_ERR_SCHEMA);
    TEST_CHECK(strcmp(err, "thing.color: 'blue' is not one of red, green") == 0);
    TEST_MSG("%s", err);
    TEST_CHECK(check("[]", true, &t, err) == MSG_ERR_SCHEMA);
    TEST_CHECK(strcmp(err, "thing: expected an object, got array") == 0);
}

static void test_encode(void)
{
    struct thing t = {true, -0.25, true, 7, "id-1", 0};
    char buf[128];
    struct msg_buf b;

    msg_buf_init(&b, buf, sizeof(buf));
    TEST_CHECK(msg_schema_encode(thing_members, 5, &t, &b, MSG_ENC_PAYLOAD) == MSG_OK);
    TEST_CHECK(msg_buf_finish(&b, NULL) == MSG_OK);
    TEST_CHECK(strcmp(buf, "{\"b\":true,\"num\":-0.25,\"i\":7,\"id\":\"id-1\","
                           "\"color\":\"red\"}") == 0);
    TEST_MSG("%s", buf);
    t.has_num = false;
    t.id[0] = '\0';
    t.color = 2;
    msg_buf_init(&b, buf, sizeof(buf));
    TEST_CHECK(msg_schema_encode(thing_members, 5, &t, &b, MSG_ENC_PAYLOAD) == MSG_ERR_INVAL);
}

static void test_extension_names(void)
{
    TEST_CHECK(msg_schema_is_extension("x_a"));
    TEST_CHECK(msg_schema_is_extension("x_vendor_fw_2"));
    TEST_CHECK(msg_schema_is_extension("x_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));    /* 30 */
    TEST_CHECK(!msg_schema_is_extension("x_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));  /* 31 */
    TEST_CHECK(!msg_schema_is_extension("x_"));
    TEST_CHECK(!msg_schema_is_extension("x"));
    TEST_CHECK(!msg_schema_is_extension(""));
    TEST_CHECK(!msg_schema_is_extension("x_A"));
    TEST_CHECK(!msg_schema_is_extension("x_a-b"));
    TEST_CHECK(!msg_schema_is_extension("X_a"));
    TEST_CHECK(!msg_schema_is_extension("y_a"));
}

static void test_store_ids(void)
{
    TEST_CHECK(msg_schema_is_store_id("6f1c2b0e-9a57-4d1e-8d0c-3a1f2e4b5c6d"));
    TEST_CHECK(msg_schema_is_store_id("00000000-0000-0000-0000-000000000000"));
    TEST_CHECK(!msg_schema_is_store_id("6F1C2B0E-9A57-4D1E-8D0C-3A1F2E4B5C6D"));
    TEST_CHECK(!msg_schema_is_store_id("6f1c2b0e-9a57-4d1e-8d0c-3a1f2e4b5c6"));
    TEST_CHECK(!msg_schema_is_store_id("6f1c2b0e-9a57-4d1e-8d0c-3a1f2e4b5c6d0"));
    TEST_CHECK(!msg_schema_is_store_id("6f1c2b0e99a57-4d1e-8d0c-3a1f2e4b5c6d"));
    TEST_CHECK(!msg_schema_is_store_id(""));
}

static void test_ranges(void)
{
    struct msg_range r[3];
    struct msg_path p = {NULL, "ranges", 0};
    char err[MSG_ERRLEN] = "";
    size_t n = 0;
    cJSON *doc = cJSON_Parse("[[1,2],[4,4],[5,9]]");

    TEST_CHECK(msg_schema_ranges(doc, &p, r, 3, &n, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(n == 3 && r[2].first == 5 && r[2].last == 9);
    TEST_CHECK(msg_schema_ranges(doc, &p, r, 2, &n, err, sizeof(err)) == MSG_ERR_SCHEMA);
    TEST_CHECK(strcmp(err, "ranges: 3 ranges, expected 1 to 2") == 0);
    TEST_MSG("%s", err);
    cJSON_Delete(doc);
}

TEST_LIST = {
    {"object", test_object},
    {"encode", test_encode},
    {"extension_names", test_extension_names},
    {"store_ids", test_store_ids},
    {"ranges", test_ranges},
    {NULL, NULL},
};
