/* test_msg_ack.c -- unit tests of msg/msg_ack.c: acknowledgements (protocol.md 6.1, 9.5):
 * parsing with every rule, the builder, the encoder and their round trip. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg_ack.h"
#include "tinytest.h"

#define STORE_A "6f1c2b0e-9a57-4d1e-8d0c-3a1f2e4b5c6d"
#define STORE_B "0b8e6f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
#define TS "\"ts\":\"2026-02-11T03:15:00.412Z\""
#define ITEM(store, rest) "{\"store\":\"" store "\"" rest "}"
#define ACK(items) "{" TS ",\"acks\":[" items "]}"

struct row {
    const char *name;
    const char *payload;
    int rc;
    const char *want;
};

static void test_parse(void)
{
    static const struct row rows[] = {
        {"protocol example", ACK(ITEM(STORE_A, ",\"ranges\":[[1001,1042],[1044,1046]],"
                                               "\"dead\":[[1044,1044]]")),
         MSG_OK, NULL},
        {"two stores", ACK(ITEM(STORE_A, ",\"ranges\":[[1,1]]") "," ITEM(STORE_B,
                                                                          ",\"ranges\":[[5,9]]")),
         MSG_OK, NULL},
        {"dead across adjacent ranges", ACK(ITEM(STORE_A, ",\"ranges\":[[1,5],[6,9]],"
                                                          "\"dead\":[[4,7]]")),
         MSG_OK, NULL},
        {"extension at the top", "{" TS ",\"x_a\":1,\"acks\":[" ITEM(STORE_A, ",\"ranges\":[[1,1]]")
                                 "]}",
         MSG_OK, NULL},
        {"extension in an item", ACK(ITEM(STORE_A, ",\"ranges\":[[1,1]],\"x_b\":\"t\"")), MSG_OK,
         NULL},
        {"first > last (9.5)", ACK(ITEM(STORE_A, ",\"ranges\":[[1046,1044]]")), MSG_ERR_SCHEMA,
         "acks[0].ranges[0]: first 1046 > last 1044"},
        {"ranges not ascending", ACK(ITEM(STORE_A, ",\"ranges\":[[5,6],[1,2]]")), MSG_ERR_SCHEMA,
         "acks[0].ranges[1]: [1,2] is not above the previous range [5,6]"},
        {"dead outside ranges (9.5)", ACK(ITEM(STORE_A, ",\"ranges\":[[1001,1042]],"
                                                        "\"dead\":[[1050,1050]]")),
         MSG_ERR_SCHEMA, "acks[0].dead[0]: [1050,1050] is not inside ranges"},
        {"dead partly outside", ACK(ITEM(STORE_A, ",\"ranges\":[[1,5],[7,9]],\"dead\":[[4,7]]")),
         MSG_ERR_SCHEMA, "acks[0].dead[0]: [4,7] is not inside ranges"},
        {"dead out of order", ACK(ITEM(STORE_A, ",\"ranges\":[[1,9]],\"dead\":[[5,5],[2,2]]")),
         MSG_ERR_SCHEMA, "acks[0].dead[1]: [2,2] is not above"},
        {"dead empty", ACK(ITEM(STORE_A, ",\"ranges\":[[1,9]],\"dead\":[]")), MSG_ERR_SCHEMA,
         "acks[0].dead: 0 ranges, expected 1 to"},
        {"ranges empty", ACK(ITEM(STORE_A, ",\"ranges\":[]")), MSG_ERR_SCHEMA,
         "acks[0].ranges: 0 ranges"},
        {"ranges missing", ACK(ITEM(STORE_A, "")), MSG_ERR_SCHEMA, "acks[0].ranges: missing"},
        {"store missing", ACK("{\"ranges\":[[1,1]]}"), MSG_ERR_SCHEMA, "acks[0].store: missing"},
        {"store upper case", ACK(ITEM("6F1C2B0E-9A57-4D1E-8D0C-3A1F2E4B5C6D",
                                      ",\"ranges\":[[1,1]]")),
         MSG_ERR_SCHEMA, "acks[0].store: '6F1C2B0E"},
        {"store twice", ACK(ITEM(STORE_A, ",\"ranges\":[[1,1]]") "," ITEM(STORE_A,
                                                                           ",\"ranges\":[[5,9]]")),
         MSG_ERR_SCHEMA, "acks[1].store: '" STORE_A "' repeats acks[0]"},
        {"unknown member in an item", ACK(ITEM(STORE_A, ",\"ranges\":[[1,1]],\"zz\":1")),
         MSG_ERR_SCHEMA, "acks[0].zz: unknown member"},
        {"acks empty", "{" TS ",\"acks\":[]}", MSG_ERR_SCHEMA, "acks: 0 items, expected 1 to 16"},
        {"acks not an array", "{" TS ",\"acks\":{}}", MSG_ERR_SCHEMA, "acks: expected an array, got object"},
        {"acks missing", "{" TS "}", MSG_ERR_SCHEMA, "acks: missing"},
        {"ts missing", "{\"acks\":[" ITEM(STORE_A, ",\"ranges\":[[1,1]]") "]}", MSG_ERR_SCHEMA,
         "ts: missing"},
        {"ts not a date", "{\"ts\":\"2026-02-30T00:00:00.000Z\",\"acks\":[" ITEM(
                              STORE_A, ",\"ranges\":[[1,1]]") "]}",
         MSG_ERR_SCHEMA, "ts: '2026-02-30T00:00:00.000Z' is not a timestamp"},
        {"seq 0 in a range", ACK(ITEM(STORE_A, ",\"ranges\":[[0,1]]")), MSG_ERR_SCHEMA,
         "acks[0].ranges[0][0]: 0 out of range"},
        {"seq 2^53 in a range", ACK(ITEM(STORE_A, ",\"ranges\":[[1,9007199254740992]]")),
         MSG_ERR_SCHEMA, "acks[0].ranges[0][1]: 9007199254740992 out of range"},
        {"range of one", ACK(ITEM(STORE_A, ",\"ranges\":[[1]]")), MSG_ERR_SCHEMA,
         "acks[0].ranges[0]: expected a pair [first, last], got 1 item"},
        {"nested 6 levels", ACK(ITEM(STORE_A, ",\"ranges\":[[[1],1]]")), MSG_ERR_JSON,
         "nesting deeper than 5 levels"},
        {"top-level array", "[]", MSG_ERR_SCHEMA, "payload is an array, not an object"},
        {"duplicate store member", ACK("{\"store\":\"" STORE_A "\",\"store\":\"" STORE_A
                                       "\",\"ranges\":[[1,1]]}"),
         MSG_ERR_JSON, "acks[0]: duplicate member name 'store'"},
    };
    struct msg_ack *a = msg_ack_new(MSG_ACK_RANGES_MAX);

    if (!TEST_CHECK(a != NULL)) {
        return;
    }
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char err[MSG_ERRLEN] = "";
        int rc = msg_ack_parse(rows[i].payload, strlen(rows[i].payload), a, err, sizeof(err));

        TEST_CHECK(rc == rows[i].rc);
        TEST_MSG("%s: rc %s, err '%s'", rows[i].name, msg_errname(rc), err);
        if (rows[i].want != NULL) {
            TEST_CHECK(strstr(err, rows[i].want) != NULL);
            TEST_MSG("%s: err '%s' lacks '%s'", rows[i].name, err, rows[i].want);
        }
        if (rc != MSG_OK) {
            TEST_CHECK(a->n_stores == 0);
        }
    }
    msg_ack_free(a);
}

static void test_parse_fields(void)
{
    const char *in = ACK(ITEM(STORE_A, ",\"ranges\":[[1001,1042],[1044,1046]],"
                                       "\"dead\":[[1044,1044]]"));
    struct msg_ack *a = msg_ack_new(MSG_ACK_RANGES_MAX);
    const struct msg_ack_store *st;
    char err[MSG_ERRLEN] = "";

    if (!TEST_CHECK(a != NULL)) {
        return;
    }
    TEST_CHECK(msg_ack_parse(in, strlen(in), a, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(a->ts_ms == INT64_C(1770779700412));
    TEST_CHECK(a->n_stores == 1);
    st = msg_ack_find(a, STORE_A);
    if (TEST_CHECK(st != NULL)) {
        TEST_CHECK(st->ranges.n == 2 && st->dead.n == 1);
        TEST_CHECK(msg_rangeset_contains(&st->ranges, 1042));
        TEST_CHECK(!msg_rangeset_contains(&st->ranges, 1043));
        TEST_CHECK(msg_rangeset_contains(&st->dead, 1044));
        TEST_CHECK(!msg_rangeset_contains(&st->dead, 1045));
    }
    TEST_CHECK(msg_ack_find(a, STORE_B) == NULL);
    msg_ack_free(a);
}

/* A message with more ranges than the struct was made for is MSG_ERR_FULL, not invalid. */
static void test_parse_capacity(void)
{
    const char *in = ACK(ITEM(STORE_A, ",\"ranges\":[[1,1],[3,3],[5,5]]"));
    struct msg_ack *a = msg_ack_new(2);
    char err[MSG_ERRLEN] = "";

    if (!TEST_CHECK(a != NULL)) {
        return;
    }
    TEST_CHECK(msg_ack_parse(in, strlen(in), a, err, sizeof(err)) == MSG_ERR_FULL);
    TEST_CHECK(strstr(err, "acks[0].ranges: 3 ranges, more than this struct msg_ack holds (2)") !=
               NULL);
    TEST_MSG("%s", err);
    msg_ack_free(a);
    TEST_CHECK(msg_ack_new(0) == NULL);
    TEST_CHECK(msg_ack_new(MSG_ACK_RANGES_MAX + 1) == NULL);
    msg_ack_free(NULL);
}

/* 1000 ranges per store are allowed, 1001 are not; 16 stores, not 17; 65536 bytes. */
static void test_limits(void)
{
    struct msg_ack *a = msg_ack_new(MSG_ACK_RANGES_MAX);
    char *buf = malloc(200000);
    char err[MSG_ERRLEN] = "";
    size_t o;

    if (!TEST_CHECK(a != NULL && buf != NULL)) {
        goto out;
    }
    for (int n = 1000; n <= 1001; n++) {
        o = (size_t)snprintf(buf, 200000, "{" TS ",\"acks\":[{\"store\":\"" STORE_A
                                          "\",\"ranges\":[");
        for (int i = 0; i < n; i++) {
            o += (size_t)snprintf(buf + o, 200000 - o, "%s[%d,%d]", i ? "," : "", 2 * i + 1,
                                  2 * i + 1);
        }
        o += (size_t)snprintf(buf + o, 200000 - o, "]}]}");
        TEST_CHECK(msg_ack_parse(buf, o, a, err, sizeof(err)) ==
                   (n == 1000 ? MSG_OK : MSG_ERR_SCHEMA));
        TEST_MSG("%d ranges: %s", n, err);
    }
    TEST_CHECK(strstr(err, "acks[0].ranges: 1001 ranges, expected 1 to 1000") != NULL);
    for (int n = 16; n <= 17; n++) {
        o = (size_t)snprintf(buf, 200000, "{" TS ",\"acks\":[");
        for (int i = 0; i < n; i++) {
            o += (size_t)snprintf(buf + o, 200000 - o,
                                  "%s{\"store\":\"6f1c2b0e-9a57-4d1e-8d0c-3a1f2e4b5c%02d\","
                                  "\"ranges\":[[1,1]]}",
                                  i ? "," : "", i);
        }
        o += (size_t)snprintf(buf + o, 200000 - o, "]}");
        TEST_CHECK(msg_ack_parse(buf, o, a, err, sizeof(err)) ==
                   (n == 16 ? MSG_OK : MSG_ERR_SCHEMA));
        TEST_MSG("%d stores: %s", n, err);
    }
    TEST_CHECK(strstr(err, "acks: 17 items, expected 1 to 16") != NULL);
    o = (size_t)snprintf(buf, 200000, ACK(ITEM(STORE_A, ",\"ranges\":[[1,1]]")));
    memset(buf + o, ' ', 65536 - o);
    TEST_CHECK(msg_ack_parse(buf, 65536, a, err, sizeof(err)) == MSG_OK);
    buf[65536] = ' ';
    TEST_CHECK(msg_ack_parse(buf, 65537, a, err, sizeof(err)) == MSG_ERR_JSON);
    TEST_CHECK(strstr(err, "payload of 65537 bytes exceeds 65536") != NULL);
out:
    free(buf);
    msg_ack_free(a);
}

static void test_builder_and_round_trip(void)
{
    struct msg_ack *a = msg_ack_new(MSG_ACK_RANGES_MAX);
    struct msg_ack *back = msg_ack_new(MSG_ACK_RANGES_MAX);
    char buf[4096];
    char err[MSG_ERRLEN] = "";
    size_t len = 0;

    if (!TEST_CHECK(a != NULL && back != NULL)) {
        goto out;
    }
    msg_ack_reset(a, INT64_C(1770779700412));
    TEST_CHECK(msg_ack_encode(a, buf, sizeof(buf), &len) == MSG_ERR_INVAL);   /* nothing yet */
    for (uint64_t s = 1001; s <= 1042; s++) {
        TEST_CHECK(msg_ack_add(a, STORE_A, s, s, false) == MSG_OK);
    }
    TEST_CHECK(msg_ack_add(a, STORE_A, 1044, 1044, true) == MSG_OK);
    TEST_CHECK(msg_ack_add(a, STORE_A, 1045, 1046, false) == MSG_OK);
    TEST_CHECK(msg_ack_add(a, STORE_B, 7, 7, true) == MSG_OK);
    TEST_CHECK(msg_ack_add(a, "not-a-store", 7, 7, true) == MSG_ERR_INVAL);
    TEST_CHECK(msg_ack_add(a, STORE_B, 0, 7, true) == MSG_ERR_INVAL);
    TEST_CHECK(msg_ack_add(a, STORE_B, 9, 8, true) == MSG_ERR_INVAL);
    TEST_CHECK(msg_ack_encode(a, buf, sizeof(buf), &len) == MSG_OK);
    TEST_CHECK(strcmp(buf, "{\"ts\":\"2026-02-11T03:15:00.412Z\",\"acks\":[{\"store\":\"" STORE_A
                           "\",\"ranges\":[[1001,1042],[1044,1046]],\"dead\":[[1044,1044]]},"
                           "{\"store\":\"" STORE_B "\",\"ranges\":[[7,7]],\"dead\":[[7,7]]}]}") ==
               0);
    TEST_MSG("%s", buf);
    TEST_CHECK(len == strlen(buf));
    TEST_CHECK(msg_ack_parse(buf, len, back, err, sizeof(err)) == MSG_OK);
    TEST_MSG("%s", err);
    TEST_CHECK(back->ts_ms == a->ts_ms && back->n_stores == 2);
    TEST_CHECK(back->stores[0].ranges.n == 2 && back->stores[0].dead.n == 1);
    TEST_CHECK(back->stores[1].ranges.r[0].first == 7 && back->stores[1].dead.n == 1);
    TEST_CHECK(msg_ack_encode(a, buf, 40, &len) == MSG_ERR_FULL);
out:
    msg_ack_free(a);
    msg_ack_free(back);
}

static void test_builder_full(void)
{
    struct msg_ack *a = msg_ack_new(2);
    char store[40];

    if (!TEST_CHECK(a != NULL)) {
        return;
    }
    msg_ack_reset(a, 0);
    TEST_CHECK(msg_ack_add(a, STORE_A, 1, 1, false) == MSG_OK);
    TEST_CHECK(msg_ack_add(a, STORE_A, 3, 3, true) == MSG_OK);
    /* a third range does not fit: nothing changes, neither ranges nor dead */
    TEST_CHECK(msg_ack_add(a, STORE_A, 5, 5, true) == MSG_ERR_FULL);
    TEST_CHECK(a->stores[0].ranges.n == 2 && a->stores[0].dead.n == 1);
    /* joining an existing range still fits */
    TEST_CHECK(msg_ack_add(a, STORE_A, 2, 2, false) == MSG_OK);
    TEST_CHECK(a->stores[0].ranges.n == 1);
    /* dead has room for 2 ranges as well */
    TEST_CHECK(msg_ack_add(a, STORE_A, 1, 1, true) == MSG_OK);
    TEST_CHECK(a->stores[0].dead.n == 2);
    TEST_CHECK(msg_ack_add(a, STORE_A, 4, 4, true) == MSG_OK);     /* joins dead [3,3] */
    TEST_CHECK(msg_ack_add(a, STORE_A, 9, 9, false) == MSG_OK);    /* ranges: [1,4],[9,9] */
    TEST_CHECK(msg_ack_add(a, STORE_A, 7, 7, false) == MSG_ERR_FULL);
    for (int i = 1; i < MSG_ACK_STORES_MAX; i++) {
        snprintf(store, sizeof(store), "6f1c2b0e-9a57-4d1e-8d0c-3a1f2e4b5c%02d", i);
        TEST_CHECK(msg_ack_add(a, store, 1, 1, false) == MSG_OK);
    }
    TEST_CHECK(msg_ack_add(a, STORE_B, 1, 1, false) == MSG_ERR_FULL);   /* a 17th store */
    TEST_CHECK(a->n_stores == MSG_ACK_STORES_MAX);
    msg_ack_reset(a, 5);
    TEST_CHECK(a->n_stores == 0 && a->ts_ms == 5);
    TEST_CHECK(msg_ack_add(a, STORE_B, 1, 1, false) == MSG_OK);
    msg_ack_free(a);
}

/* 1000 ranges of large seqs do not fit into 65536 bytes: the encoder says so. */
static void test_encode_size_limit(void)
{
    static struct msg_range r[MSG_ACK_RANGES_MAX];
    struct msg_ack_item item = {STORE_A, r, MSG_ACK_RANGES_MAX, r, MSG_ACK_RANGES_MAX};
    char *buf = malloc(200000);
    size_t len = 0;

    if (!TEST_CHECK(buf != NULL)) {
        return;
    }
    for (int i = 0; i < MSG_ACK_RANGES_MAX; i++) {
        r[i].first = MSG_SEQ_MAX - 2000 + 2 * (uint64_t)i;
        r[i].last = r[i].first;
    }
    TEST_CHECK(msg_ack_encode_items(1, &item, 1, buf, 200000, &len) == MSG_ERR_FULL);
    item.n_dead = 0;
    TEST_CHECK(msg_ack_encode_items(1, &item, 1, buf, 200000, &len) == MSG_OK);
    TEST_CHECK(len <= MSG_ACK_PAYLOAD_MAX);
    free(buf);
}

static void test_encode_items_rejects_bad_items(void)
{
    static const struct msg_range ok[] = {{1, 5}, {6, 9}};
    static const struct msg_range bad_order[] = {{6, 9}, {1, 5}};
    static const struct msg_range dead_in[] = {{4, 7}};
    static const struct msg_range dead_out[] = {{9, 10}};
    struct msg_ack_item items[MSG_ACK_STORES_MAX + 1];
    char buf[4096];
    size_t len = 0;

    for (int i = 0; i <= MSG_ACK_STORES_MAX; i++) {
        items[i] = (struct msg_ack_item){STORE_A, ok, 2, NULL, 0};
    }
    TEST_CHECK(msg_ack_encode_items(0, items, 1, buf, sizeof(buf), &len) == MSG_OK);
    TEST_CHECK(msg_ack_encode_items(0, items, 0, buf, sizeof(buf), &len) == MSG_ERR_INVAL);
    TEST_CHECK(msg_ack_encode_items(0, items, 2, buf, sizeof(buf), &len) == MSG_ERR_INVAL);
    items[0].dead = dead_in;
    items[0].n_dead = 1;
    TEST_CHECK(msg_ack_encode_items(0, items, 1, buf, sizeof(buf), &len) == MSG_OK);
    items[0].dead = dead_out;
    TEST_CHECK(msg_ack_encode_items(0, items, 1, buf, sizeof(buf), &len) == MSG_ERR_INVAL);
    items[0].dead = NULL;
    TEST_CHECK(msg_ack_encode_items(0, items, 1, buf, sizeof(buf), &len) == MSG_ERR_INVAL);
    items[0] = (struct msg_ack_item){STORE_A, bad_order, 2, NULL, 0};
    TEST_CHECK(msg_ack_encode_items(0, items, 1, buf, sizeof(buf), &len) == MSG_ERR_INVAL);
    items[0] = (struct msg_ack_item){STORE_A, ok, 0, NULL, 0};
    TEST_CHECK(msg_ack_encode_items(0, items, 1, buf, sizeof(buf), &len) == MSG_ERR_INVAL);
    items[0] = (struct msg_ack_item){"6F1C2B0E-9A57-4D1E-8D0C-3A1F2E4B5C6D", ok, 2, NULL, 0};
    TEST_CHECK(msg_ack_encode_items(0, items, 1, buf, sizeof(buf), &len) == MSG_ERR_INVAL);
    items[0] = (struct msg_ack_item){NULL, ok, 2, NULL, 0};
    TEST_CHECK(msg_ack_encode_items(0, items, 1, buf, sizeof(buf), &len) == MSG_ERR_INVAL);
}

TEST_LIST = {
    {"parse", test_parse},
    {"parse_fields", test_parse_fields},
    {"parse_capacity_is_full_not_invalid", test_parse_capacity},
    {"limits_1000_ranges_16_stores_65536_bytes", test_limits},
    {"builder_and_round_trip", test_builder_and_round_trip},
    {"builder_full_leaves_ack_unchanged", test_builder_full},
    {"encode_size_limit", test_encode_size_limit},
    {"encode_items_rejects_bad_items", test_encode_items_rejects_bad_items},
    {NULL, NULL},
};
