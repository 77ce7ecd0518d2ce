/* test_msg_rejected.c -- unit tests of msg/msg_rejected.c: refused messages (protocol.md 7.2)
 * and strict base64 (RFC 4648 with padding). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg_rejected.h"
#include "tinytest.h"

static void test_base64_vectors(void)
{
    /* RFC 4648 section 10 */
    static const struct {
        const char *in;
        const char *out;
    } rows[] = {
        {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    };
    char enc[32];
    unsigned char dec[32];
    size_t n = 99;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        size_t len = strlen(rows[i].in);

        TEST_CHECK(msg_base64_encode(rows[i].in, len, enc, sizeof(enc)) == strlen(rows[i].out));
        TEST_CHECK(strcmp(enc, rows[i].out) == 0);
        TEST_CHECK(msg_base64_decode(rows[i].out, strlen(rows[i].out), dec, sizeof(dec), &n,
                                     NULL) == MSG_OK);
        TEST_CHECK(n == len && memcmp(dec, rows[i].in, len) == 0);
        TEST_MSG("'%s' <-> '%s'", rows[i].in, rows[i].out);
    }
    TEST_CHECK(msg_base64_encode("foobar", 6, enc, 8) == 0 && enc[0] == '\0');   /* no room */
    TEST_CHECK(msg_base64_encode("foobar", 6, enc, 9) == 8);
}

static void test_base64_strict(void)
{
    static const struct {
        const char *in;
        int rc;
        size_t bad;
    } rows[] = {
        {"Zg=", MSG_ERR_INVAL, 3},      /* length not a multiple of 4 */
        {"Zg", MSG_ERR_INVAL, 2},       /* no padding */
        {"Z===", MSG_ERR_INVAL, 1},     /* three pads */
        {"Zg==Zg==", MSG_ERR_INVAL, 2}, /* padding in the middle */
        {"Zm 9", MSG_ERR_INVAL, 2},     /* white space */
        {"Zm9v\n", MSG_ERR_INVAL, 5},
        {"Zm-v", MSG_ERR_INVAL, 2},     /* base64url alphabet */
        {"Zm_v", MSG_ERR_INVAL, 2},
        {"Zm9=", MSG_ERR_INVAL, 2},     /* padding bits not zero (protocol 7.2) */
        {"Zh==", MSG_ERR_INVAL, 1},
        {"ab==", MSG_ERR_INVAL, 1},
        {"Zm8=", MSG_OK, 0},
        {"Zg==", MSG_OK, 0},
        {"abc=", MSG_OK, 0},            /* 'c' ends in two zero bits */
        {"", MSG_OK, 0},
    };
    unsigned char dec[16];

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        size_t n = 0;
        size_t bad = 99;
        int rc = msg_base64_decode(rows[i].in, strlen(rows[i].in), dec, sizeof(dec), &n, &bad);

        TEST_CHECK(rc == rows[i].rc);
        TEST_MSG("'%s': rc %d", rows[i].in, rc);
        if (rc != MSG_OK) {
            TEST_CHECK(bad == rows[i].bad);
            TEST_MSG("'%s': bad at %zu", rows[i].in, bad);
        }
    }
    {
        size_t n = 0;

        TEST_CHECK(msg_base64_decode("Zm9vYmFy", 8, dec, 5, &n, NULL) == MSG_ERR_FULL);
        TEST_CHECK(msg_base64_decode("Zm9vYmFy", 8, dec, 6, &n, NULL) == MSG_OK && n == 6);
    }
}

#define REJ(members) "{\"ts\":\"2026-02-11T03:19:00.010Z\"," members "}"
#define GOOD_MEMBERS                                                                           \
    "\"device\":\"gw-p2c-01\",\"topic\":\"pantau/v1/gw-p2c-01/flood\",\"reason\":\"levl_cm: "   \
    "unknown member\",\"payload_b64\":\"eyJsZXZsX2NtIjo2NTB9\""

static void test_parse(void)
{
    static const struct {
        const char *name;
        const char *payload;
        int rc;
        const char *want;
    } rows[] = {
        {"protocol example", REJ(GOOD_MEMBERS), MSG_OK, NULL},
        {"empty payload", REJ("\"device\":\"d\",\"topic\":\"t\",\"reason\":\"r\",\"payload_b64\":"
                              "\"\""),
         MSG_OK, NULL},
        {"topic of any text", REJ("\"device\":\"d\",\"topic\":\"PANTAU/V1/x y\xc3\xa9\","
                                  "\"reason\":\"r\",\"payload_b64\":\"\""),
         MSG_OK, NULL},
        {"bad base64", REJ("\"device\":\"d\",\"topic\":\"t\",\"reason\":\"r\",\"payload_b64\":"
                           "\"ey=J\""),
         MSG_ERR_SCHEMA, "payload_b64: not base64 (RFC 4648 with padding, padding bits zero) at "
                         "character 2"},
        {"padding bits not zero",
         REJ("\"device\":\"d\",\"topic\":\"t\",\"reason\":\"r\",\"payload_b64\":\"ab==\""),
         MSG_ERR_SCHEMA, "payload_b64: not base64 (RFC 4648 with padding, padding bits zero) at "
                         "character 1"},
        {"base64 not a string", REJ("\"device\":\"d\",\"topic\":\"t\",\"reason\":\"r\","
                                    "\"payload_b64\":5"),
         MSG_ERR_SCHEMA, "payload_b64: expected a string, got number"},
        {"device not an id", REJ("\"device\":\"GW\",\"topic\":\"t\",\"reason\":\"r\","
                                 "\"payload_b64\":\"\""),
         MSG_ERR_SCHEMA, "device: 'GW' is not an id"},
        {"topic empty", REJ("\"device\":\"d\",\"topic\":\"\",\"reason\":\"r\",\"payload_b64\":"
                            "\"\""),
         MSG_ERR_SCHEMA, "topic: 0 code points, expected 1 to 256"},
        {"reason empty", REJ("\"device\":\"d\",\"topic\":\"t\",\"reason\":\"\",\"payload_b64\":"
                             "\"\""),
         MSG_ERR_SCHEMA, "reason: 0 code points, expected 1 to 200"},
        {"reason with a newline", REJ("\"device\":\"d\",\"topic\":\"t\",\"reason\":\"a\\nb\","
                                      "\"payload_b64\":\"\""),
         MSG_ERR_JSON, "at reason: control character"},
        {"payload_b64 missing", REJ("\"device\":\"d\",\"topic\":\"t\",\"reason\":\"r\""),
         MSG_ERR_SCHEMA, "payload_b64: missing"},
        {"unknown member", REJ(GOOD_MEMBERS ",\"qos\":1"), MSG_ERR_SCHEMA, "qos: unknown member"},
        {"extension", REJ(GOOD_MEMBERS ",\"x_broker\":\"m1\""), MSG_OK, NULL},
    };
    struct msg_rejected *r = malloc(sizeof(*r));
    char err[MSG_ERRLEN] = "";

    if (!TEST_CHECK(r != NULL)) {
        return;
    }
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int rc = msg_rejected_parse(rows[i].payload, strlen(rows[i].payload), r, err, sizeof(err));

        TEST_CHECK(rc == rows[i].rc);
        TEST_MSG("%s: rc %s, err '%s'", rows[i].name, msg_errname(rc), err);
        if (rows[i].want != NULL) {
            TEST_CHECK(strstr(err, rows[i].want) != NULL);
            TEST_MSG("%s: err '%s' lacks '%s'", rows[i].name, err, rows[i].want);
        }
    }
    TEST_CHECK(msg_rejected_parse(rows[0].payload, strlen(rows[0].payload), r, err,
                                  sizeof(err)) == MSG_OK);
    TEST_CHECK(r->ts_ms == INT64_C(1770779940010));
    TEST_CHECK(strcmp(r->device, "gw-p2c-01") == 0);
    TEST_CHECK(strcmp(r->topic, "pantau/v1/gw-p2c-01/flood") == 0);
    TEST_CHECK(strcmp(r->reason, "levl_cm: unknown member") == 0);
    TEST_CHECK(r->payload_len == 15 && memcmp(r->payload, "{\"levl_cm\":650}", 15) == 0);
    free(r);
}

/* 10924 characters hold 8192 bytes only with padding: 10924 'A's are 8193 bytes. */
static void test_parse_payload_size(void)
{
    static const struct {
        size_t chars;
        const char *tail;
        int rc;
    } rows[] = {
        {10920, "AAA=", MSG_OK},      /* 8192 bytes */
        {10924, "", MSG_ERR_SCHEMA},  /* 8193 bytes */
        {10928, "", MSG_ERR_SCHEMA},  /* 8196 bytes */
    };
    struct msg_rejected *r = malloc(sizeof(*r));
    char *buf = malloc(MSG_REJECTED_MSG_MAX + 1);
    char err[MSG_ERRLEN] = "";

    if (!TEST_CHECK(r != NULL && buf != NULL)) {
        goto out;
    }
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        size_t o = (size_t)snprintf(buf, MSG_REJECTED_MSG_MAX, "%s",
                                    REJ("\"device\":\"d\",\"topic\":\"t\",\"reason\":\"r\","
                                        "\"payload_b64\":\""));

        o -= 1;   /* drop the closing brace of REJ */
        memset(buf + o, 'A', rows[i].chars);
        o += rows[i].chars;
        o += (size_t)snprintf(buf + o, MSG_REJECTED_MSG_MAX - o, "%s\"}", rows[i].tail);
        TEST_CHECK(msg_rejected_parse(buf, o, r, err, sizeof(err)) == rows[i].rc);
        TEST_MSG("%zu characters: %s", rows[i].chars, err);
        if (rows[i].rc == MSG_OK) {
            TEST_CHECK(r->payload_len == MSG_REJECTED_PAYLOAD_MAX);
        } else {
            TEST_CHECK(strstr(err, "payload_b64:") != NULL);
        }
    }
out:
    free(r);
    free(buf);
}

static void test_encode_round_trip(void)
{
    struct msg_rejected *r = calloc(1, sizeof(*r));
    struct msg_rejected *back = malloc(sizeof(*back));
    char *buf = malloc(MSG_REJECTED_MSG_MAX + 1);
    char err[MSG_ERRLEN] = "";
    size_t len = 0;

    if (!TEST_CHECK(r != NULL && back != NULL && buf != NULL)) {
        goto out;
    }
    r->ts_ms = INT64_C(1770779940010);
    snprintf(r->device, sizeof(r->device), "%s", "gw-p2c-01");
    msg_rejected_set_text(r->topic, sizeof(r->topic), "pantau/v1/gw-p2c-01/flood", 25,
                          MSG_REJECTED_TOPIC_MAX);
    msg_rejected_set_text(r->reason, sizeof(r->reason), "level_cm: \"bad\" \\ value", 23,
                          MSG_REJECTED_REASON_MAX);
    r->payload_len = 256;
    for (int i = 0; i < 256; i++) {
        r->payload[i] = (unsigned char)i;   /* every byte value, NUL and 0xFF included */
    }
    TEST_CHECK(msg_rejected_encode(r, buf, MSG_REJECTED_MSG_MAX + 1, &len) == MSG_OK);
    TEST_CHECK(msg_rejected_parse(buf, len, back, err, sizeof(err)) == MSG_OK);
    TEST_MSG("%s\n    %s", err, buf);
    TEST_CHECK(back->ts_ms == r->ts_ms && strcmp(back->device, r->device) == 0);
    TEST_CHECK(strcmp(back->topic, r->topic) == 0 && strcmp(back->reason, r->reason) == 0);
    TEST_CHECK(back->payload_len == 256 && memcmp(back->payload, r->payload, 256) == 0);

    /* the largest payload, with the longest topic and reason: still within 16384 bytes */
    r->payload_len = MSG_REJECTED_PAYLOAD_MAX;
    memset(r->topic, 0, sizeof(r->topic));
    for (int i = 0; i < MSG_REJECTED_TOPIC_MAX; i++) {
        memcpy(r->topic + 4 * i, "\xf0\x9f\x8c\x8a", 4);
    }
    memset(r->reason, '"', MSG_REJECTED_REASON_MAX);   /* each one escaped: 2 bytes */
    TEST_CHECK(msg_rejected_encode(r, buf, MSG_REJECTED_MSG_MAX + 1, &len) == MSG_OK);
    TEST_CHECK(len <= MSG_REJECTED_MSG_MAX);
    TEST_MSG("%zu bytes", len);
    TEST_CHECK(msg_rejected_parse(buf, len, back, err, sizeof(err)) == MSG_OK);
    TEST_MSG("%s", err);
    TEST_CHECK(back->payload_len == MSG_REJECTED_PAYLOAD_MAX);
    TEST_CHECK(msg_rejected_encode(r, buf, 1000, &len) == MSG_ERR_FULL);
    r->payload_len = MSG_REJECTED_PAYLOAD_MAX + 1;
    TEST_CHECK(msg_rejected_encode(r, buf, MSG_REJECTED_MSG_MAX + 1, &len) == MSG_ERR_INVAL);
    r->payload_len = 1;
    r->reason[0] = '\0';
    TEST_CHECK(msg_rejected_encode(r, buf, MSG_REJECTED_MSG_MAX + 1, &len) == MSG_ERR_INVAL);
    snprintf(r->reason, sizeof(r->reason), "%s", "x");
    snprintf(r->device, sizeof(r->device), "%s", "Bad Device");
    TEST_CHECK(msg_rejected_encode(r, buf, MSG_REJECTED_MSG_MAX + 1, &len) == MSG_ERR_INVAL);
out:
    free(r);
    free(back);
    free(buf);
}

static void test_set_payload_cuts_long_payloads(void)
{
    struct msg_rejected *r = calloc(1, sizeof(*r));
    unsigned char *big = malloc(10000);
    char *buf = malloc(MSG_REJECTED_MSG_MAX + 1);
    size_t len = 0;

    if (!TEST_CHECK(r != NULL && big != NULL && buf != NULL)) {
        goto out;
    }
    memset(big, 'p', 10000);
    snprintf(r->reason, sizeof(r->reason), "%s", "payload of 10000 bytes exceeds 8192");
    msg_rejected_set_payload(r, big, 100);
    TEST_CHECK(r->payload_len == 100);
    TEST_CHECK(strcmp(r->reason, "payload of 10000 bytes exceeds 8192") == 0);
    msg_rejected_set_payload(r, big, 10000);
    TEST_CHECK(r->payload_len == MSG_REJECTED_PAYLOAD_MAX);
    TEST_CHECK(strcmp(r->reason, "payload of 10000 bytes exceeds 8192 (payload cut to its first "
                                 "8192 of 10000 bytes)") == 0);
    TEST_MSG("%s", r->reason);
    /* a reason of 200 code points is shortened to make room, at a character boundary */
    memset(r->reason, 0, sizeof(r->reason));
    for (int i = 0; i < MSG_REJECTED_REASON_MAX; i++) {
        memcpy(r->reason + 2 * i, "\xc3\xa9", 2);
    }
    msg_rejected_set_payload(r, big, 10000);
    snprintf(r->device, sizeof(r->device), "%s", "d");
    snprintf(r->topic, sizeof(r->topic), "%s", "t");
    r->ts_ms = 0;
    TEST_CHECK(msg_rejected_encode(r, buf, MSG_REJECTED_MSG_MAX + 1, &len) == MSG_OK);
    TEST_CHECK(strstr(r->reason, "\xc3\xa9 (payload cut to its first 8192 of 10000 bytes)") !=
               NULL);
    TEST_MSG("%s", r->reason);
out:
    free(r);
    free(big);
    free(buf);
}

#define SHA_HEX "3f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8"

/* issue 9 item 13: category, size and sha256, optional members of a rejected message */
static void test_category_size_sha256_9_13(void)
{
    static const struct {
        const char *name;
        const char *payload;
        int rc;
        const char *want;
    } rows[] = {
        {"all three", REJ(GOOD_MEMBERS ",\"category\":\"station\",\"size\":9000,"
                          "\"sha256\":\"" SHA_HEX "\""),
         MSG_OK, NULL},
        {"size 0", REJ(GOOD_MEMBERS ",\"size\":0"), MSG_OK, NULL},
        {"size at most", REJ(GOOD_MEMBERS ",\"size\":268435455"), MSG_OK, NULL},
        {"size above", REJ(GOOD_MEMBERS ",\"size\":268435456"), MSG_ERR_SCHEMA, "size:"},
        {"size negative", REJ(GOOD_MEMBERS ",\"size\":-1"), MSG_ERR_SCHEMA, "size:"},
        {"size not integral", REJ(GOOD_MEMBERS ",\"size\":1.5"), MSG_ERR_SCHEMA, "size:"},
        {"size a string", REJ(GOOD_MEMBERS ",\"size\":\"15\""), MSG_ERR_SCHEMA, "size:"},
        {"category rate", REJ(GOOD_MEMBERS ",\"category\":\"rate\""), MSG_ERR_SCHEMA,
         "category: 'rate' is not one of json, schema, topic, station, identity"},
        {"category upper case", REJ(GOOD_MEMBERS ",\"category\":\"JSON\""), MSG_ERR_SCHEMA,
         "category:"},
        {"category a number", REJ(GOOD_MEMBERS ",\"category\":1"), MSG_ERR_SCHEMA, "category:"},
        {"sha256 upper case", REJ(GOOD_MEMBERS ",\"sha256\":\"3F0A1B2C3D4E5F60718293A4B5C6D7E8"
                                  "F90A1B2C3D4E5F60718293A4B5C6D7E8\""),
         MSG_ERR_SCHEMA, "sha256: not a lower-case hex digit at character 1"},
        {"sha256 short", REJ(GOOD_MEMBERS ",\"sha256\":\"3f0a\""), MSG_ERR_SCHEMA,
         "sha256: 4 characters, expected 64 lower-case hex digits"},
        {"sha256 a number", REJ(GOOD_MEMBERS ",\"sha256\":5"), MSG_ERR_SCHEMA,
         "sha256: expected a string, got number"},
    };
    struct msg_rejected *r = calloc(1, sizeof(*r));
    struct msg_rejected *back = malloc(sizeof(*back));
    char *buf = malloc(MSG_REJECTED_MSG_MAX + 1);
    unsigned char *big = malloc(9000);
    char err[MSG_ERRLEN] = "";
    size_t len = 0;

    if (!TEST_CHECK(r != NULL && back != NULL && buf != NULL && big != NULL)) {
        goto out;
    }
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int rc = msg_rejected_parse(rows[i].payload, strlen(rows[i].payload), back, err,
                                    sizeof(err));

        TEST_CHECK(rc == rows[i].rc);
        TEST_MSG("%s: rc %s, err '%s'", rows[i].name, msg_errname(rc), err);
        if (rows[i].want != NULL) {
            TEST_CHECK(strstr(err, rows[i].want) != NULL);
            TEST_MSG("%s: err '%s' lacks '%s'", rows[i].name, err, rows[i].want);
        }
    }
    TEST_CHECK(msg_rejected_parse(rows[0].payload, strlen(rows[0].payload), back, err,
                                  sizeof(err)) == MSG_OK);
    TEST_CHECK(back->has_category && back->category == MSG_REJECTED_STATION);
    TEST_CHECK(back->has_size && back->size == 9000);
    TEST_CHECK(back->has_sha256 && back->sha256[0] == 0x3f && back->sha256[31] == 0xe8);
    TEST_CHECK(msg_rejected_parse(REJ(GOOD_MEMBERS), strlen(REJ(GOOD_MEMBERS)), back, err,
                                  sizeof(err)) == MSG_OK);
    TEST_CHECK(!back->has_category && !back->has_size && !back->has_sha256);

    /* set_payload records the size before the cut; encode writes what is set */
    memset(big, 'p', 9000);
    r->ts_ms = 0;
    snprintf(r->device, sizeof(r->device), "%s", "gw-p2c-01");
    snprintf(r->topic, sizeof(r->topic), "%s", "pantau/v1/gw-p2c-01/flood");
    snprintf(r->reason, sizeof(r->reason), "%s", "payload of 9000 bytes exceeds 8192");
    msg_rejected_set_payload(r, big, 9000);
    TEST_CHECK(r->has_size && r->size == 9000 && r->payload_len == MSG_REJECTED_PAYLOAD_MAX);
    r->has_category = true;
    r->category = MSG_REJECTED_JSON;
    r->has_sha256 = true;
    memset(r->sha256, 0xab, sizeof(r->sha256));
    TEST_CHECK(msg_rejected_encode(r, buf, MSG_REJECTED_MSG_MAX + 1, &len) == MSG_OK);
    TEST_CHECK(strstr(buf, "\"category\":\"json\",\"size\":9000,\"sha256\":\"abab") != NULL);
    TEST_MSG("%.300s", buf);
    TEST_CHECK(msg_rejected_parse(buf, len, back, err, sizeof(err)) == MSG_OK);
    TEST_MSG("%s", err);
    TEST_CHECK(back->size == 9000 && back->category == MSG_REJECTED_JSON &&
               memcmp(back->sha256, r->sha256, sizeof(r->sha256)) == 0);
    r->category = MSG_REJECTED_CATEGORY_COUNT;
    TEST_CHECK(msg_rejected_encode(r, buf, MSG_REJECTED_MSG_MAX + 1, &len) == MSG_ERR_INVAL);
    r->category = MSG_REJECTED_IDENTITY;
    r->size = (uint64_t)MSG_REJECTED_SIZE_MAX + 1;
    TEST_CHECK(msg_rejected_encode(r, buf, MSG_REJECTED_MSG_MAX + 1, &len) == MSG_ERR_INVAL);
    TEST_CHECK(strcmp(msg_rejected_category_name(MSG_REJECTED_IDENTITY), "identity") == 0);
    TEST_CHECK(msg_rejected_category_name(-1) == NULL);
    TEST_CHECK(msg_rejected_category_find("topic") == MSG_REJECTED_TOPIC);
    TEST_CHECK(msg_rejected_category_find("rate") == -1);
out:
    free(r);
    free(back);
    free(buf);
    free(big);
}

static void test_set_text(void)
{
    char out[MSG_CP_BYTES(MSG_REJECTED_REASON_MAX)];
    char big[1000];

    msg_rejected_set_text(out, sizeof(out), "ok text", 7, 200);
    TEST_CHECK(strcmp(out, "ok text") == 0);
    msg_rejected_set_text(out, sizeof(out), "a\nb\x7f\xff\xc3\xa9\xed\xa0\x80z", 11, 200);
    TEST_CHECK(strcmp(out, "a?b??\xc3\xa9???z") == 0);
    TEST_MSG("'%s'", out);
    msg_rejected_set_text(out, sizeof(out), "", 0, 200);
    TEST_CHECK(strcmp(out, "?") == 0);
    memset(big, 'x', sizeof(big));
    msg_rejected_set_text(out, sizeof(out), big, sizeof(big), 200);
    TEST_CHECK(strlen(out) == 200);
    for (size_t i = 0; i < sizeof(big) - 1; i += 2) {
        big[i] = '\xc3';
        big[i + 1] = '\xa9';
    }
    msg_rejected_set_text(out, sizeof(out), big, sizeof(big), 200);
    TEST_CHECK(strlen(out) == 400);   /* 200 code points of 2 bytes */
    msg_rejected_set_text(out, 6, big, sizeof(big), 200);
    TEST_CHECK(strlen(out) == 4);     /* never a partial character */
}

TEST_LIST = {
    {"base64_rfc4648_vectors", test_base64_vectors},
    {"base64_strict", test_base64_strict},
    {"parse", test_parse},
    {"parse_payload_size_8192", test_parse_payload_size},
    {"encode_round_trip", test_encode_round_trip},
    {"set_payload_cuts_long_payloads", test_set_payload_cuts_long_payloads},
    {"set_text", test_set_text},
    {"category_size_sha256_9_13", test_category_size_sha256_9_13},
    {NULL, NULL},
};
