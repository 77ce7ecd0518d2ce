/* test_collector_deadkey.c -- collector/deadkey.c: the dead-letter dedup key (the same message
 * is one key, other content under the same (device, store, seq) another; the keyed form equals
 * the SQL of sink_sql.h for clashes) and what is salvaged from an invalid payload. */
#include <stdio.h>
#include <string.h>

#include "deadkey.h"
#include "tinytest.h"

#define STORE "6f1c2b0e-9a57-4d1e-8d0c-3a1f2e4b5c6d"
#define ENV "\"store\":\"" STORE "\",\"seq\":42,\"ts\":\"2026-02-11T03:15:00.000Z\""

static const char *hex(const unsigned char *p)
{
    static char buf[2 * DEADKEY_LEN + 1];

    for (size_t i = 0; i < DEADKEY_LEN; i++) {
        snprintf(buf + 2 * i, 3, "%02x", p[i]);
    }
    return buf;
}

static void salvage(const char *payload, struct deadkey_salvage *out)
{
    TEST_CHECK(deadkey_salvage(payload, strlen(payload), out) == MSG_OK);
}

/* Values computed independently (Python hashlib) from the formulas of deadkey.h: the SQL of
 * sink_sql.h computes the keyed form of clashes the same way. */
static void test_keys_match_the_documented_formulas(void)
{
    unsigned char zero[DEADKEY_LEN] = {0};
    unsigned char k[DEADKEY_LEN];
    struct deadkey_salvage sv;

    TEST_CHECK(deadkey_keyed("gw-1", STORE, 42, zero, k) == MSG_OK);
    TEST_CHECK(strcmp(hex(k), "1e8b58e61b85f76787df33669bbba9e8cafd25b8f62c099651dc6228f99de673") ==
               0);
    TEST_MSG("keyed %s", hex(k));
    TEST_CHECK(deadkey_raw("pantau/v1/gw-1/flood", 20, "not json", 8, k) == MSG_OK);
    TEST_CHECK(strcmp(hex(k), "b5aa6a71fa46f1bc2d61d8f8bc41073b06ab4581b26be7fa7d266e117218db20") ==
               0);
    TEST_MSG("raw %s", hex(k));
    salvage("not json", &sv);
    TEST_CHECK(strcmp(hex(sv.body_sha),
                      "8eeb5ab600007c59ca7f75e691416bf8175cee7e92c1d1b6a40501a1d0997813") == 0);
    TEST_MSG("body %s", hex(sv.body_sha));
    TEST_CHECK(sv.store_id[0] == '\0' && sv.seq == 0 && !sv.has_envelope);
}

static void test_keys_separate_what_differs(void)
{
    unsigned char c1[DEADKEY_LEN] = {1};
    unsigned char c2[DEADKEY_LEN] = {2};
    unsigned char a[DEADKEY_LEN];
    unsigned char b[DEADKEY_LEN];

    TEST_CHECK(deadkey_keyed("gw-1", STORE, 42, c1, a) == MSG_OK);
    TEST_CHECK(deadkey_keyed("gw-1", STORE, 42, c1, b) == MSG_OK);
    TEST_CHECK(memcmp(a, b, DEADKEY_LEN) == 0);
    TEST_CHECK(deadkey_keyed("gw-1", STORE, 42, c2, b) == MSG_OK); /* a clash of other content */
    TEST_CHECK(memcmp(a, b, DEADKEY_LEN) != 0);
    TEST_CHECK(deadkey_keyed("gw-1", STORE, 43, c1, b) == MSG_OK);
    TEST_CHECK(memcmp(a, b, DEADKEY_LEN) != 0);
    TEST_CHECK(deadkey_keyed("gw-2", STORE, 42, c1, b) == MSG_OK);
    TEST_CHECK(memcmp(a, b, DEADKEY_LEN) != 0);
    /* the topic is part of a raw key */
    TEST_CHECK(deadkey_raw("pantau/v1/gw-1/flood", 20, "x", 1, a) == MSG_OK);
    TEST_CHECK(deadkey_raw("pantau/v1/gw-2/flood", 20, "x", 1, b) == MSG_OK);
    TEST_CHECK(memcmp(a, b, DEADKEY_LEN) != 0);
    /* topic and payload cannot trade bytes across the NUL */
    TEST_CHECK(deadkey_raw("ab", 2, "c", 1, a) == MSG_OK);
    TEST_CHECK(deadkey_raw("a", 1, "bc", 2, b) == MSG_OK);
    TEST_CHECK(memcmp(a, b, DEADKEY_LEN) != 0);
    /* an empty payload */
    TEST_CHECK(deadkey_raw("t", 1, "", 0, a) == MSG_OK);
}

static void test_a_resend_is_the_same_content(void)
{
    struct deadkey_salvage first;
    struct deadkey_salvage resend;
    struct deadkey_salvage other;

    salvage("{" ENV ",\"clock_synced\":true,\"replay\":false,\"levl_cm\":5}", &first);
    salvage("{" ENV ",\"clock_synced\":true,\"replay\":true,\"levl_cm\":5}", &resend);
    salvage("{" ENV ",\"clock_synced\":true,\"replay\":false,\"levl_cm\":6}", &other);
    TEST_CHECK(memcmp(first.body_sha, resend.body_sha, DEADKEY_LEN) == 0);
    TEST_CHECK(memcmp(first.body_sha, other.body_sha, DEADKEY_LEN) != 0);
    TEST_CHECK(strcmp(first.store_id, STORE) == 0 && first.seq == 42);
    TEST_CHECK(first.has_envelope && !first.env.replay && resend.env.replay);
    TEST_CHECK(first.env.clock_synced && first.env.ts_ms == INT64_C(1770779700000));
    TEST_CHECK(strcmp(first.env.store_id, STORE) == 0 && first.env.seq == 42);
    TEST_CHECK(!first.env.has_boot && !first.env.has_mono);
}

static void test_salvage_reads_only_what_is_valid(void)
{
    static const struct {
        const char *name;
        const char *payload;
        const char *store;
        unsigned long long seq;
        int envelope;
        int boot;
    } rows[] = {
        {"complete", "{" ENV ",\"clock_synced\":false,\"replay\":false,\"boot\":3,"
                     "\"mono_ms\":1000,\"x\":1}",
         STORE, 42, 1, 1},
        {"bad boot ignored", "{" ENV ",\"clock_synced\":false,\"replay\":false,\"boot\":-3}",
         STORE, 42, 1, 0},
        {"no ts", "{\"store\":\"" STORE "\",\"seq\":42,\"clock_synced\":true,\"replay\":false}",
         STORE, 42, 0, 0},
        {"bad ts", "{\"store\":\"" STORE "\",\"seq\":42,\"ts\":\"2026-02-30T00:00:00.000Z\","
                   "\"clock_synced\":true,\"replay\":false}",
         STORE, 42, 0, 0},
        {"replay not boolean", "{" ENV ",\"clock_synced\":true,\"replay\":1}", STORE, 42, 0, 0},
        {"seq not integral", "{\"store\":\"" STORE "\",\"seq\":6.5}", "", 0, 0, 0},
        {"seq 0", "{\"store\":\"" STORE "\",\"seq\":0}", "", 0, 0, 0},
        {"seq above 2^53-1", "{\"store\":\"" STORE "\",\"seq\":9007199254740992}", "", 0, 0, 0},
        {"store upper case", "{\"store\":\"6F1C2B0E-9A57-4D1E-8D0C-3A1F2E4B5C6D\",\"seq\":1}", "",
         0, 0, 0},
        {"store short", "{\"store\":\"6f1c2b0e\",\"seq\":1}", "", 0, 0, 0},
        {"array", "[1,2,3]", "", 0, 0, 0},
        {"empty", "", "", 0, 0, 0},
        {"not utf-8", "\xff\xfe", "", 0, 0, 0},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct deadkey_salvage sv;

        salvage(rows[i].payload, &sv);
        TEST_CHECK(strcmp(sv.store_id, rows[i].store) == 0 && sv.seq == rows[i].seq &&
                   sv.has_envelope == (rows[i].envelope != 0) &&
                   sv.env.has_boot == (rows[i].boot != 0));
        TEST_MSG("%s: store '%s' seq %llu envelope %d boot %d", rows[i].name, sv.store_id,
                 (unsigned long long)sv.seq, sv.has_envelope, sv.env.has_boot);
    }
}

/* issue 9 item 4: store and seq of a payload that is not JSON as a whole, read leniently */
static void test_salvage_reads_store_and_seq_of_broken_json_9_4(void)
{
    static const struct {
        const char *name;
        const char *payload;
        const char *store;
        unsigned long long seq;
    } rows[] = {
        {"NaN after the envelope", "{" ENV ",\"level_cm\":NaN}", STORE, 42},
        {"NaN before the envelope", "{\"level_cm\":NaN, " ENV "}", STORE, 42},
        {"cut short", "{" ENV ",\"station\":\"st-1\",\"note\":\"abc", STORE, 42},
        {"cut inside a nested value", "{\"seq\" : 7 ,\"store\":\"" STORE "\",\"c\":[{\"a\":\"}\"",
         STORE, 7},
        {"seq 5.0", "{\"store\":\"" STORE "\",\"seq\":5.0,\"v\":Infinity}", STORE, 5},
        {"trailing comma", "{" ENV ",}", STORE, 42},
        {"seq cut in its digits", "{\"store\":\"" STORE "\",\"seq\":12", "", 0},
        {"seq before a break", "{\"store\":\"" STORE "\",\"seq\":12 \"ts\":1}", STORE, 12},
        {"seq twice", "{" ENV ",\"seq\":43,\"v\":NaN}", "", 0},
        {"store twice", "{" ENV ",\"store\":\"" STORE "\",\"v\":NaN}", "", 0},
        {"seq 0", "{\"store\":\"" STORE "\",\"seq\":0,\"v\":NaN}", "", 0},
        {"seq negative", "{\"store\":\"" STORE "\",\"seq\":-4,\"v\":NaN}", "", 0},
        {"seq a fraction", "{\"store\":\"" STORE "\",\"seq\":4.5,\"v\":NaN}", "", 0},
        {"seq an exponent", "{\"store\":\"" STORE "\",\"seq\":4e1,\"v\":NaN}", "", 0},
        {"seq a string", "{\"store\":\"" STORE "\",\"seq\":\"4\",\"v\":NaN}", "", 0},
        {"seq above 2^53-1", "{\"store\":\"" STORE "\",\"seq\":9007199254740992,\"v\":NaN}",
         "", 0},
        {"store upper case", "{\"store\":\"6F1C2B0E-9A57-4D1E-8D0C-3A1F2E4B5C6D\",\"seq\":1,"
                             "\"v\":NaN}", "", 0},
        {"seq twice, once escaped", "{" ENV ",\"se\\u0071\":43,\"v\":NaN}", "", 0},
        {"nested store and seq only", "{\"x\":{" ENV "},\"v\":NaN}", "", 0},
        {"not an object", "[" ENV "]", "", 0},
        {"garbage", "\xff\xfe not json", "", 0},
    };
    /* and the rest of the envelope, for a ledger row (outcome dead_letter) */
    static const struct {
        const char *name;
        const char *payload;
        int envelope;
        int boot;
    } envs[] = {
        {"whole envelope, NaN after it",
         "{" ENV ",\"clock_synced\":false,\"replay\":true,\"boot\":0,\"mono_ms\":1500,"
         "\"level_cm\":NaN}",
         1, 1},
        {"cut after the envelope",
         "{" ENV ",\"clock_synced\":true,\"replay\":false,\"station\":\"st-1\",\"x\":\"ab", 1, 0},
        {"boot not an integer", "{" ENV ",\"clock_synced\":true,\"replay\":false,\"boot\":-1,"
                                "\"v\":NaN}",
         1, 0},
        {"replay twice", "{" ENV ",\"clock_synced\":true,\"replay\":false,\"replay\":true,"
                         "\"v\":NaN}",
         0, 0},
        {"replay not a boolean", "{" ENV ",\"clock_synced\":true,\"replay\":0,\"v\":NaN}", 0, 0},
        {"ts not a date", "{\"store\":\"" STORE "\",\"seq\":42,\"ts\":\"2026-02-30T00:00:00.000Z\","
                          "\"clock_synced\":true,\"replay\":false,\"v\":NaN}",
         0, 0},
        {"no clock_synced", "{" ENV ",\"replay\":false,\"v\":NaN}", 0, 0},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct deadkey_salvage sv;

        salvage(rows[i].payload, &sv);
        TEST_CHECK(strcmp(sv.store_id, rows[i].store) == 0 && sv.seq == rows[i].seq &&
                   !sv.has_envelope);
        TEST_MSG("%s: store '%s' seq %llu", rows[i].name, sv.store_id, (unsigned long long)sv.seq);
    }
    for (size_t i = 0; i < sizeof(envs) / sizeof(envs[0]); i++) {
        struct deadkey_salvage sv;

        salvage(envs[i].payload, &sv);
        TEST_CHECK(strcmp(sv.store_id, STORE) == 0 && sv.seq == 42 &&
                   sv.has_envelope == (envs[i].envelope != 0) &&
                   sv.env.has_boot == (envs[i].boot != 0));
        TEST_MSG("%s: store '%s' seq %llu envelope %d boot %d", envs[i].name, sv.store_id,
                 (unsigned long long)sv.seq, sv.has_envelope, sv.env.has_boot);
        if (envs[i].envelope) {
            TEST_CHECK(strcmp(sv.env.store_id, STORE) == 0 && sv.env.seq == 42 &&
                       sv.env.ts_ms == INT64_C(1770779700000));
            TEST_MSG("%s: ts %lld", envs[i].name, (long long)sv.env.ts_ms);
        }
    }
    {
        struct deadkey_salvage sv;

        salvage(envs[0].payload, &sv);
        TEST_CHECK(!sv.env.clock_synced && sv.env.replay && sv.env.boot == 0 &&
                   sv.env.has_mono && sv.env.mono_ms == 1500);
    }
}

static void test_whole_key_separates_what_differs_9_13(void)
{
    unsigned char w1[DEADKEY_LEN] = {1};
    unsigned char w2[DEADKEY_LEN] = {2};
    unsigned char a[DEADKEY_LEN];
    unsigned char b[DEADKEY_LEN];

    TEST_CHECK(deadkey_whole("t/1", 3, w1, a) == MSG_OK);
    TEST_CHECK(deadkey_whole("t/1", 3, w1, b) == MSG_OK && memcmp(a, b, DEADKEY_LEN) == 0);
    TEST_CHECK(deadkey_whole("t/1", 3, w2, b) == MSG_OK && memcmp(a, b, DEADKEY_LEN) != 0);
    TEST_CHECK(deadkey_whole("t/2", 3, w1, b) == MSG_OK && memcmp(a, b, DEADKEY_LEN) != 0);
    TEST_CHECK(deadkey_raw("t/1", 3, (const char *)w1, DEADKEY_LEN, b) == MSG_OK &&
               memcmp(a, b, DEADKEY_LEN) != 0);
}

TEST_LIST = {
    {"salvage_reads_store_and_seq_of_broken_json_9_4",
     test_salvage_reads_store_and_seq_of_broken_json_9_4},
    {"whole_key_separates_what_differs_9_13", test_whole_key_separates_what_differs_9_13},
    {"keys_match_the_documented_formulas", test_keys_match_the_documented_formulas},
    {"keys_separate_what_differs", test_keys_separate_what_differs},
    {"a_resend_is_the_same_content", test_a_resend_is_the_same_content},
    {"salvage_reads_only_what_is_valid", test_salvage_reads_only_what_is_valid},
    {NULL, NULL},
};
