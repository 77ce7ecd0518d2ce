/* test_msg_event.c -- unit tests of msg/msg_event.c: validation and normalization of every
 * device message (protocol.md 4, 5, 9), encoders, round trips and the canonical form.
 *
 * Most cases are rows of a table: a valid base payload of one stream with one member replaced,
 * added (a key the base lacks) or removed (value NULL), the expected code, and a piece of text
 * that err must contain (normally the member's path). Values are raw JSON text; a value of the
 * form "@str:N:U" is a JSON string of N copies of U, and a few other "@..." values are built by
 * gen_value() below. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg_event.h"
#include "msg_json.h"
#include "tinytest.h"

#define STORE "\"6f1c2b0e-9a57-4d1e-8d0c-3a1f2e4b5c6d\""
#define T_FLOOD "pantau/v1/gw-p2c-01/flood"
#define T_TRAFFIC "pantau/v1/gw-atcs-kalimalang/traffic"
#define T_INCIDENT "pantau/v1/gw-atcs-kalimalang/incident"
#define T_LARVA "pantau/v1/hh-margahayu-07/larva"
#define T_DROPPED "pantau/v1/gw-p2c-01/dropped"
#define T_STATUS "pantau/v1/gw-p2c-01/status"
#define PAYLOAD_CAP 65536

struct pair {
    const char *key;
    const char *value;   /* raw JSON */
};

#define ENVELOPE(seq)                                                                           \
    {"store", STORE}, {"seq", seq}, {"ts", "\"2026-02-11T03:15:00.000Z\""},                      \
        {"clock_synced", "true"}, {"replay", "false"}

static const struct pair flood_base[] = {
    ENVELOPE("1042"),
    {"boot", "311"},
    {"mono_ms", "86400123"},
    {"station", "\"p2c-kali-bekasi\""},
    {"distance_cm", "412.5"},
    {"offset_cm", "1050"},
    {"level_cm", "637.5"},
    {"rise_cm_h", "42.0"},
    {"rain_mm", "3.2"},
    {"battery_v", "12.61"},
    {NULL, NULL},
};

static const struct pair traffic_base[] = {
    ENVELOPE("88120"),
    {"station", "\"cam-kalimalang-01\""},
    {"interval_s", "300"},
    {"lane", "\"eastbound\""},
    {"counts", "{\"motorcycle\":412,\"car\":133,\"bus\":4,\"truck\":11,\"nonmotor\":2}"},
    {"speed_kmh", "23.5"},
    {"occupancy_pct", "41.0"},
    {"queue_m", "120"},
    {NULL, NULL},
};

static const struct pair incident_base[] = {
    ENVELOPE("88200"),
    {"station", "\"cam-kalimalang-01\""},
    {"event", "\"1772437265.250311-k2x8lq\""},
    {"state", "\"new\""},
    {"type", "\"stalled_vehicle\""},
    {"start", "\"2026-03-02T07:41:05.250Z\""},
    {"confidence", "0.82"},
    {"snapshot", "\"frigate://cam-kalimalang-01/1772437265.250311-k2x8lq.jpg\""},
    {"lane", "\"eastbound\""},
    {NULL, NULL},
};

static const struct pair incident_end_base[] = {
    ENVELOPE("88231"),
    {"station", "\"cam-kalimalang-01\""},
    {"event", "\"1772437265.250311-k2x8lq\""},
    {"state", "\"end\""},
    {"type", "\"stalled_vehicle\""},
    {"start", "\"2026-03-02T07:41:05.250Z\""},
    {"end", "\"2026-03-02T07:58:40.000Z\""},
    {NULL, NULL},
};

#define CONTAINERS3                                                                             \
    "[{\"type\":\"bath_tub\",\"location\":\"indoor\",\"inspected\":1,\"positive\":1},"          \
    "{\"type\":\"bucket\",\"location\":\"outdoor\",\"inspected\":3,\"positive\":0},"            \
    "{\"type\":\"used_goods\",\"location\":\"outdoor\",\"inspected\":4,\"positive\":0}]"

static const struct pair larva_base[] = {
    ENVELOPE("311"),
    {"inspector", "\"jmt-0412\""},
    {"building", "\"house\""},
    {"kelurahan", "\"32.75.01.1002\""},
    {"rw", "3"},
    {"rt", "5"},
    {"address", "\"Jl. Melati No. 12\""},
    {"lat", "-6.2416"},
    {"lon", "107.0012"},
    {"larvae_found", "true"},
    {"containers", CONTAINERS3},
    {"actions", "[\"drain\",\"cover\",\"larvicide\"]"},
    {NULL, NULL},
};

static const struct pair dropped_base[] = {
    ENVELOPE("2001"),
    {"reason", "\"store_full\""},
    {"ranges", "[[1200,1350],[1400,1400]]"},
    {NULL, NULL},
};

static const struct pair status_base[] = {
    {"state", "\"online\""},
    {"conn", "17"},
    {"store", STORE},
    {"ts", "\"2026-02-11T03:00:01.500Z\""},
    {"clock_synced", "true"},
    {"agent", "\"pantau-agent 0.1.0\""},
    {"backlog", "0"},
    {"rejected", "0"},
    {"dropped", "151"},
    {"stations", "{\"p2c-kali-bekasi\":\"online\"}"},
    {NULL, NULL},
};

/* ---- payload building ---- */

struct sbuf {
    char *p;
    size_t len;
    size_t cap;
};

static void put(struct sbuf *b, const char *s)
{
    size_t n = strlen(s);

    if (b->len + n < b->cap) {
        memcpy(b->p + b->len, s, n);
        b->len += n;
        b->p[b->len] = '\0';
    }
}

/* "@str:N:U": a JSON string of N copies of U. "@ranges:N": N disjoint ranges below 2000.
 * "@containers:N": N distinct container items. "@stations:N": N station members. */
static void gen_value(struct sbuf *b, const char *v)
{
    static const char *const types[] = {
        "bath_tub", "wc_tub", "drum", "jar", "bucket", "tank", "bird_dish", "flower_vase",
        "dispenser_tray", "fridge_tray", "used_goods", "tree_hole", "leaf_axil",
        "coconut_shell", "other",
    };
    char tmp[160];
    char *end = NULL;
    unsigned long n;

    if (strncmp(v, "@str:", 5) == 0) {
        n = strtoul(v + 5, &end, 10);
        put(b, "\"");
        for (unsigned long i = 0; i < n; i++) {
            put(b, end + 1);
        }
        put(b, "\"");
    } else if (strncmp(v, "@ranges:", 8) == 0) {
        n = strtoul(v + 8, NULL, 10);
        put(b, "[");
        for (unsigned long i = 0; i < n; i++) {
            snprintf(tmp, sizeof(tmp), "%s[%lu,%lu]", i > 0 ? "," : "", 2 * i + 1, 2 * i + 1);
            put(b, tmp);
        }
        put(b, "]");
    } else if (strncmp(v, "@containers:", 12) == 0) {
        n = strtoul(v + 12, NULL, 10);
        put(b, "[");
        for (unsigned long i = 0; i < n; i++) {
            snprintf(tmp, sizeof(tmp),
                     "%s{\"type\":\"%s\",\"location\":\"%s\",\"inspected\":1,\"positive\":%d}",
                     i > 0 ? "," : "", types[i / 2 % 15], i % 2 ? "outdoor" : "indoor",
                     i == 0 ? 1 : 0);
            put(b, tmp);
        }
        put(b, "]");
    } else if (strncmp(v, "@stations:", 10) == 0) {
        n = strtoul(v + 10, NULL, 10);
        put(b, "{");
        for (unsigned long i = 0; i < n; i++) {
            snprintf(tmp, sizeof(tmp), "%s\"st-%lu\":\"online\"", i > 0 ? "," : "", i);
            put(b, tmp);
        }
        put(b, "}");
    } else {
        put(b, v);
    }
}

/* base with key set to value (raw JSON; NULL removes it; a key base lacks is appended). */
static size_t build(char *out, size_t cap, const struct pair *base, const char *key,
                    const char *value)
{
    struct sbuf b = {out, 0, cap};
    bool first = true;
    bool found = false;

    out[0] = '\0';
    put(&b, "{");
    for (const struct pair *p = base; p->key != NULL; p++) {
        const char *v = p->value;

        if (key != NULL && strcmp(p->key, key) == 0) {
            found = true;
            v = value;
            if (v == NULL) {
                continue;
            }
        }
        put(&b, first ? "\"" : ",\"");
        put(&b, p->key);
        put(&b, "\":");
        gen_value(&b, v);
        first = false;
    }
    if (key != NULL && !found && value != NULL) {
        put(&b, first ? "\"" : ",\"");
        put(&b, key);
        put(&b, "\":");
        gen_value(&b, value);
    }
    put(&b, "}");
    return b.len;
}

struct row {
    const char *name;        /* what the case checks */
    const struct pair *base;
    const char *topic;
    const char *key;
    const char *value;       /* NULL: remove the member */
    int rc;
    const char *want;        /* err must contain this (NULL for MSG_OK) */
};

static void run_rows(const struct row *rows, size_t n)
{
    char *payload = malloc(PAYLOAD_CAP);
    struct msg_event *ev = malloc(sizeof(*ev));

    if (!TEST_CHECK(payload != NULL && ev != NULL)) {
        free(payload);
        free(ev);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const struct row *r = &rows[i];
        char err[MSG_ERRLEN] = "";
        size_t len = build(payload, PAYLOAD_CAP, r->base, r->key, r->value);
        int rc = msg_event_parse(r->topic, strlen(r->topic), payload, len, ev, err, sizeof(err));

        TEST_CHECK(rc == r->rc);
        TEST_MSG("%s: rc %s, expected %s; err '%s'; payload %.300s", r->name, msg_errname(rc),
                 msg_errname(r->rc), err, payload);
        if (r->want != NULL) {
            TEST_CHECK(strstr(err, r->want) != NULL);
            TEST_MSG("%s: err '%s' lacks '%s'", r->name, err, r->want);
        }
        /* every err is one printable ASCII line of at most 200 characters (a dead-letter
         * reason, protocol.md 7.2) */
        for (const char *c = err; *c != '\0'; c++) {
            TEST_CHECK(*c >= 0x20 && *c < 0x7f);
        }
        TEST_CHECK(strlen(err) <= 200);
        TEST_MSG("%s: err of %zu bytes: %s", r->name, strlen(err), err);
    }
    free(payload);
    free(ev);
}

#define ROWS(t) run_rows(t, sizeof(t) / sizeof(t[0]))

#define OK MSG_OK
#define JSON MSG_ERR_JSON
#define SCHEMA MSG_ERR_SCHEMA
#define TOPIC MSG_ERR_TOPIC

#define F(name, key, value, rc, want) {name, flood_base, T_FLOOD, key, value, rc, want}
#define TR(name, key, value, rc, want) {name, traffic_base, T_TRAFFIC, key, value, rc, want}
#define IN(name, key, value, rc, want) {name, incident_base, T_INCIDENT, key, value, rc, want}
#define IE(name, key, value, rc, want) {name, incident_end_base, T_INCIDENT, key, value, rc, want}
#define LA(name, key, value, rc, want) {name, larva_base, T_LARVA, key, value, rc, want}
#define DR(name, key, value, rc, want) {name, dropped_base, T_DROPPED, key, value, rc, want}
#define ST(name, key, value, rc, want) {name, status_base, T_STATUS, key, value, rc, want}

/* ---- the envelope (4.1), on a flood reading ---- */

static void test_envelope_members(void)
{
    static const struct row rows[] = {
        F("base flood reading is valid", NULL, NULL, OK, NULL),
        F("store missing", "store", NULL, SCHEMA, "store: missing"),
        F("seq missing", "seq", NULL, SCHEMA, "seq: missing"),
        F("ts missing", "ts", NULL, SCHEMA, "ts: missing"),
        F("clock_synced missing", "clock_synced", NULL, SCHEMA, "clock_synced: missing"),
        F("replay missing", "replay", NULL, SCHEMA, "replay: missing"),
        F("boot is optional", "boot", NULL, OK, NULL),
        F("mono_ms is optional", "mono_ms", NULL, OK, NULL),
        F("store upper case", "store", "\"6F1C2B0E-9A57-4D1E-8D0C-3A1F2E4B5C6D\"", SCHEMA,
          "store: '6F1C2B0E"),
        F("store without dashes", "store", "\"6f1c2b0e9a574d1e8d0c3a1f2e4b5c6d\"", SCHEMA,
          "store:"),
        F("store one digit short", "store", "\"6f1c2b0e-9a57-4d1e-8d0c-3a1f2e4b5c6\"", SCHEMA,
          "store:"),
        F("store one digit long", "store", "\"6f1c2b0e-9a57-4d1e-8d0c-3a1f2e4b5c6d0\"", SCHEMA,
          "store:"),
        F("store not hex", "store", "\"6f1c2b0e-9a57-4d1e-8d0c-3a1f2e4b5c6g\"", SCHEMA, "store:"),
        F("store a number", "store", "5", SCHEMA, "store: expected a string, got number"),
        F("seq 1 is the minimum", "seq", "1", OK, NULL),
        F("seq 0 below range", "seq", "0", SCHEMA, "seq: 0 out of range 1..9007199254740991"),
        F("seq -1 below range", "seq", "-1", SCHEMA, "seq: -1 out of range"),
        F("seq 2^53-1 is the maximum", "seq", "9007199254740991", OK, NULL),
        F("seq 2^53 above range", "seq", "9007199254740992", SCHEMA,
          "seq: 9007199254740992 out of range"),
        F("seq 2^53+1 above range", "seq", "9007199254740993", SCHEMA, "seq: 9007199254740992"),
        F("seq 1e20 above range", "seq", "1e20", SCHEMA, "seq: 1e+20 out of range"),
        F("seq 5.0 is an integer", "seq", "5.0", OK, NULL),
        F("seq 5e0 is an integer", "seq", "5e0", OK, NULL),
        F("seq 5.5 not an integer", "seq", "5.5", SCHEMA, "seq: 5.5 is not an integer"),
        F("seq a string", "seq", "\"1042\"", SCHEMA, "seq: expected an integer, got string"),
        F("seq null", "seq", "null", SCHEMA, "seq: expected an integer, got null"),
        F("seq true", "seq", "true", SCHEMA, "seq: expected an integer, got boolean"),
        F("seq an array", "seq", "[1]", SCHEMA, "seq: expected an integer, got array"),
        F("seq an object", "seq", "{}", SCHEMA, "seq: expected an integer, got object"),
        F("clock_synced a string", "clock_synced", "\"yes\"", SCHEMA,
          "clock_synced: expected a boolean, got string"),
        F("clock_synced 1", "clock_synced", "1", SCHEMA, "clock_synced: expected a boolean"),
        F("replay null", "replay", "null", SCHEMA, "replay: expected a boolean, got null"),
        F("boot 0 is the minimum", "boot", "0", OK, NULL),
        F("boot -1 below range", "boot", "-1", SCHEMA, "boot: -1 out of range 0..9007199254740991"),
        F("boot 2^53 above range", "boot", "9007199254740992", SCHEMA, "boot: 9007199254740992"),
        F("boot 2.5 not an integer", "boot", "2.5", SCHEMA, "boot: 2.5 is not an integer"),
        F("mono_ms max", "mono_ms", "9007199254740991", OK, NULL),
        F("mono_ms a string", "mono_ms", "\"1\"", SCHEMA, "mono_ms: expected an integer"),
        F("ts a number", "ts", "1770779700000", SCHEMA, "ts: expected a string, got number"),
        F("ts leap day 2024-02-29", "ts", "\"2024-02-29T00:00:00.000Z\"", OK, NULL),
        F("ts leap day 2000-02-29", "ts", "\"2000-02-29T00:00:00.000Z\"", OK, NULL),
        F("ts no leap day 2026-02-29", "ts", "\"2026-02-29T00:00:00.000Z\"", SCHEMA,
          "ts: '2026-02-29T00:00:00.000Z' is not a timestamp: day 29 does not exist"),
        F("ts 2026-02-30 (protocol 9.2)", "ts", "\"2026-02-30T03:19:00.000Z\"", SCHEMA,
          "day 30 does not exist in 2026-02"),
        F("ts 2026-04-31", "ts", "\"2026-04-31T00:00:00.000Z\"", SCHEMA, "ts:"),
        F("ts 1970 is allowed", "ts", "\"1970-01-01T00:00:00.000Z\"", OK, NULL),
        F("ts 1969", "ts", "\"1969-12-31T23:59:59.999Z\"", SCHEMA, "year 1969 outside 1970..2099"),
        F("ts 2099 is allowed", "ts", "\"2099-12-31T23:59:59.999Z\"", OK, NULL),
        F("ts 2100", "ts", "\"2100-01-01T00:00:00.000Z\"", SCHEMA, "year 2100 outside"),
        F("ts 24:00", "ts", "\"2026-02-11T24:00:00.000Z\"", SCHEMA, "hour 24"),
        F("ts leap second", "ts", "\"2026-02-11T23:59:60.000Z\"", SCHEMA, "second 60"),
        F("ts minute 60", "ts", "\"2026-02-11T23:60:00.000Z\"", SCHEMA, "minute 60"),
        F("ts month 13", "ts", "\"2026-13-01T00:00:00.000Z\"", SCHEMA, "month 13"),
        F("ts month 00", "ts", "\"2026-00-10T00:00:00.000Z\"", SCHEMA, "month 00"),
        F("ts day 00", "ts", "\"2026-01-00T00:00:00.000Z\"", SCHEMA, "day 00"),
        F("ts without milliseconds", "ts", "\"2026-02-11T03:15:00Z\"", SCHEMA, "ts:"),
        F("ts two decimals", "ts", "\"2026-02-11T03:15:00.00Z\"", SCHEMA, "ts:"),
        F("ts four decimals", "ts", "\"2026-02-11T03:15:00.0000Z\"", SCHEMA, "ts:"),
        F("ts with offset", "ts", "\"2026-02-11T03:15:00.000+00:00\"", SCHEMA, "ts:"),
        F("ts lower case t and z", "ts", "\"2026-02-11t03:15:00.000z\"", SCHEMA, "ts:"),
        F("ts with a space", "ts", "\"2026-02-11 03:15:00.000Z\"", SCHEMA, "ts:"),
        F("ts with a sign", "ts", "\"+2026-01-01T00:00:00.000Z\"", SCHEMA, "ts:"),
        F("ts empty", "ts", "\"\"", SCHEMA, "ts:"),
        F("ts with a final newline", "ts", "\"2026-02-11T03:15:00.000Z\\n\"", JSON,
          "at ts: control character"),
        F("ts with letters", "ts", "\"2026-0a-11T03:15:00.000Z\"", SCHEMA, "ts:"),
    };

    ROWS(rows);
}

static void test_members_unknown_extension_duplicate(void)
{
    static const struct row rows[] = {
        F("misspelt member levl_cm", "levl_cm", "650", SCHEMA, "levl_cm: unknown member"),
        F("unknown member zz", "zz_unknown", "1", SCHEMA, "zz_unknown: unknown member"),
        F("upper-case X_ extension", "X_test", "1", SCHEMA, "X_test: unknown member"),
        F("x- extension", "x-test", "1", SCHEMA, "x-test: unknown member"),
        F("bare x_", "x_", "1", SCHEMA, "x_: unknown member"),
        F("x_ with upper case", "x_A", "1", SCHEMA, "x_A: unknown member"),
        F("extension of 30 characters", "x_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "1", OK, NULL),
        F("extension of 31 characters", "x_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "1", SCHEMA,
          "unknown member"),
        F("extension string", "x_vendor_fw", "\"2.4.1\"", OK, NULL),
        F("extension empty string", "x_test", "\"\"", OK, NULL),
        F("extension number", "x_test", "1.5", OK, NULL),
        F("extension -1e300", "x_test", "-1e300", OK, NULL),
        F("extension true", "x_test", "true", OK, NULL),
        F("extension false", "x_test", "false", OK, NULL),
        F("extension null", "x_test", "null", OK, NULL),
        F("extension of 200 code points", "x_test", "@str:200:\xc3\xa9", OK, NULL),
        F("extension of 201 code points", "x_test", "@str:201:\xc3\xa9", SCHEMA,
          "x_test: extension string of 201 code points, at most 200"),
        F("extension array", "x_test", "[]", SCHEMA,
          "x_test: extension value must be a string, number, boolean or null, got array"),
        F("extension object", "x_test", "{\"a\":1}", SCHEMA, "x_test: extension value"),
        F("extension with a control character", "x_test", "\"a\\u0001\"", JSON,
          "at x_test: control character U+0001"),
        F("extension with DEL", "x_test", "\"a\\u007f\"", JSON, "control character U+007F"),
        F("extension nested 3 levels", "x_test", "[[[1]]]", JSON,
          "nesting deeper than 3 levels"),
        F("extension name with a newline", "x_a\\n", "1", JSON, "control character"),
        F("extension 1e400", "x_test", "1e400", JSON, "out of the range of a double"),
        F("duplicate top-level member", "level_cm\":1,\"level_cm", "2", JSON,
          "duplicate member name 'level_cm'"),
        F("duplicate extension", "x_test\":1,\"x_test", "1", JSON,
          "duplicate member name 'x_test'"),
        F("duplicate with an escape", "x_t\\u0065st\":1,\"x_test", "1", JSON,
          "duplicate member name 'x_test'"),
    };

    ROWS(rows);
}

static void test_flood_members(void)
{
    static const struct row rows[] = {
        F("level_cm minimum", "level_cm", "-10000", OK, NULL),
        F("level_cm maximum", "level_cm", "100000", OK, NULL),
        F("level_cm 100000.0", "level_cm", "100000.0", OK, NULL),
        F("level_cm just above", "level_cm", "100000.00000000001", SCHEMA,
          "level_cm: 100000.00000000001 out of range -10000..100000"),
        F("level_cm just below", "level_cm", "-10000.000000000002", SCHEMA,
          "level_cm: -10000.000000000002 out of range"),
        F("level_cm 1e20", "level_cm", "1e20", SCHEMA, "level_cm: 1e+20 out of range"),
        F("level_cm 1e400", "level_cm", "1e400", JSON, "at level_cm: number '1e400'"),
        F("level_cm -1e400", "level_cm", "-1e400", JSON, "at level_cm: number '-1e400'"),
        F("level_cm 1.8e308", "level_cm", "1.8e308", JSON,
          "level_cm: number is out of the range of a double"),
        F("level_cm 1e-400 is zero", "level_cm", "1e-400", OK, NULL),
        F("level_cm NaN", "level_cm", "NaN", JSON, "at level_cm: invalid literal 'NaN'"),
        F("level_cm Infinity", "level_cm", "Infinity", JSON, "invalid literal 'Infinity'"),
        F("level_cm -Infinity", "level_cm", "-Infinity", JSON, "'-Infinity'"),
        F("level_cm a string", "level_cm", "\"650\"", SCHEMA,
          "level_cm: expected a number, got string"),
        F("level_cm null", "level_cm", "null", SCHEMA, "level_cm: expected a number, got null"),
        F("level_cm leading zero", "level_cm", "0650", JSON, "leading zero"),
        F("level_cm leading plus", "level_cm", "+650", JSON, "leading '+'"),
        F("level_cm trailing dot", "level_cm", "650.", JSON, "digit expected after '.'"),
        F("level_cm leading dot", "level_cm", ".5", JSON, "digit expected before '.'"),
        F("level_cm hex", "level_cm", "0x10", JSON, "expected after member"),
        F("level_cm -0", "level_cm", "-0", OK, NULL),
        F("level_cm 6.5e2", "level_cm", "6.5e2", OK, NULL),
        F("level_cm 1E+2", "level_cm", "1E+2", OK, NULL),
        F("discharge_m3s alone is enough", "level_cm", NULL, SCHEMA,
          "level_cm: missing (one of level_cm, discharge_m3s is required)"),
        F("discharge_m3s minimum", "discharge_m3s", "0", OK, NULL),
        F("discharge_m3s -0.0", "discharge_m3s", "-0.0", OK, NULL),
        F("discharge_m3s 5e-324", "discharge_m3s", "5e-324", OK, NULL),
        F("discharge_m3s below", "discharge_m3s", "-0.5", SCHEMA,
          "discharge_m3s: -0.5 out of range 0..100000"),
        F("discharge_m3s maximum", "discharge_m3s", "100000", OK, NULL),
        F("discharge_m3s above", "discharge_m3s", "100000.5", SCHEMA, "discharge_m3s: 100000.5"),
        F("distance_cm without offset_cm", "offset_cm", NULL, SCHEMA,
          "offset_cm: missing (distance_cm and offset_cm come together)"),
        F("offset_cm without distance_cm", "distance_cm", NULL, SCHEMA, "distance_cm: missing"),
        F("distance_cm maximum", "distance_cm", "10000", OK, NULL),
        F("distance_cm above", "distance_cm", "10000.5", SCHEMA, "distance_cm: 10000.5 out of"),
        F("distance_cm negative", "distance_cm", "-1", SCHEMA, "distance_cm: -1 out of range"),
        F("offset_cm minimum", "offset_cm", "-10000", OK, NULL),
        F("offset_cm above", "offset_cm", "100001", SCHEMA, "offset_cm: 100001 out of range"),
        F("rise_cm_h minimum", "rise_cm_h", "-10000", OK, NULL),
        F("rise_cm_h below", "rise_cm_h", "-10000.5", SCHEMA, "rise_cm_h: -10000.5 out of range"),
        F("rise_cm_h above", "rise_cm_h", "10001", SCHEMA, "rise_cm_h: 10001"),
        F("rain_mm maximum", "rain_mm", "1000", OK, NULL),
        F("rain_mm above", "rain_mm", "1000.5", SCHEMA, "rain_mm: 1000.5 out of range 0..1000"),
        F("rain_mm a boolean", "rain_mm", "true", SCHEMA, "rain_mm: expected a number"),
        F("battery_v maximum", "battery_v", "100", OK, NULL),
        F("battery_v above", "battery_v", "100.5", SCHEMA, "battery_v: 100.5 out of range 0..100"),
        F("station 64 characters", "station", "@str:64:a", OK, NULL),
        F("station 65 characters", "station", "@str:65:a", SCHEMA, "station: 'aaaa"),
        F("station empty", "station", "\"\"", SCHEMA, "station: '' is not an id"),
        F("station with /", "station", "\"p2c/kali\"", SCHEMA, "station: 'p2c/kali'"),
        F("station with +", "station", "\"p2c+kali\"", SCHEMA, "station: 'p2c+kali'"),
        F("station with #", "station", "\"p2c#\"", SCHEMA, "station: 'p2c#'"),
        F("station with a space", "station", "\"p2c kali\"", SCHEMA, "station: 'p2c kali'"),
        F("station upper case", "station", "\"P2C-KALI\"", SCHEMA, "station: 'P2C-KALI'"),
        F("station starting with -", "station", "\"-p2c\"", SCHEMA, "station:"),
        F("station starting with .", "station", "\".p2c\"", SCHEMA, "station:"),
        F("station starting with _", "station", "\"_sys\"", SCHEMA, "station:"),
        F("station with non-ASCII", "station", "\"p2c-\xc3\xa9\"", SCHEMA,
          "station: 'p2c-\\xc3\\xa9'"),
        F("station a number", "station", "5", SCHEMA, "station: expected a string"),
        F("station missing", "station", NULL, SCHEMA, "station: missing"),
    };

    ROWS(rows);
}

static void test_traffic_members(void)
{
    static const struct row rows[] = {
        TR("base traffic reading is valid", NULL, NULL, OK, NULL),
        TR("interval_s minimum", "interval_s", "1", OK, NULL),
        TR("interval_s 0", "interval_s", "0", SCHEMA, "interval_s: 0 out of range 1..3600"),
        TR("interval_s maximum", "interval_s", "3600", OK, NULL),
        TR("interval_s 3601", "interval_s", "3601", SCHEMA, "interval_s: 3601 out of range"),
        TR("interval_s 300.0", "interval_s", "300.0", OK, NULL),
        TR("interval_s 299.5", "interval_s", "299.5", SCHEMA, "interval_s: 299.5 is not an"),
        TR("interval_s a string", "interval_s", "\"300\"", SCHEMA,
          "interval_s: expected an integer, got string"),
        TR("interval_s missing", "interval_s", NULL, SCHEMA, "interval_s: missing"),
        TR("lane 32 characters", "lane", "@str:32:n", OK, NULL),
        TR("lane 33 characters", "lane", "@str:33:n", SCHEMA, "lane: 'nnnn"),
        TR("lane upper case", "lane", "\"Eastbound\"", SCHEMA, "lane: 'Eastbound' is not a lane"),
        TR("lane missing", "lane", NULL, SCHEMA, "lane: missing"),
        TR("counts one class", "counts", "{\"car\":1}", OK, NULL),
        TR("counts empty", "counts", "{}", SCHEMA, "counts: no vehicle class"),
        TR("counts unknown class", "counts", "{\"tank\":1}", SCHEMA, "counts.tank: unknown member"),
        TR("counts extension", "counts", "{\"car\":1,\"x_test\":1}", SCHEMA,
          "counts.x_test: unknown member"),
        TR("counts negative", "counts", "{\"motorcycle\":-3}", SCHEMA,
          "counts.motorcycle: -3 out of range 0..1000000"),
        TR("counts maximum", "counts", "{\"bus\":1000000}", OK, NULL),
        TR("counts above", "counts", "{\"bus\":1000001}", SCHEMA, "counts.bus: 1000001 out of"),
        TR("counts non-integral", "counts", "{\"truck\":1.5}", SCHEMA,
          "counts.truck: 1.5 is not an integer"),
        TR("counts a string", "counts", "{\"nonmotor\":\"2\"}", SCHEMA,
          "counts.nonmotor: expected an integer"),
        TR("counts an array", "counts", "[1]", SCHEMA, "counts: expected an object, got array"),
        TR("counts duplicate class", "counts", "{\"car\":1,\"car\":2}", JSON,
          "counts: duplicate member name 'car'"),
        TR("counts missing", "counts", NULL, SCHEMA, "counts: missing"),
        TR("speed_kmh maximum", "speed_kmh", "300", OK, NULL),
        TR("speed_kmh above", "speed_kmh", "300.5", SCHEMA, "speed_kmh: 300.5 out of range 0..300"),
        TR("occupancy_pct above", "occupancy_pct", "100.5", SCHEMA, "occupancy_pct: 100.5"),
        TR("occupancy_pct negative", "occupancy_pct", "-0.5", SCHEMA, "occupancy_pct: -0.5"),
        TR("queue_m maximum", "queue_m", "10000", OK, NULL),
        TR("queue_m above", "queue_m", "10000.5", SCHEMA, "queue_m: 10000.5 out of range"),
        TR("optional members absent", "speed_kmh", NULL, OK, NULL),
    };

    ROWS(rows);
}

static void test_incident_members(void)
{
    static const struct row rows[] = {
        IN("base incident (new) is valid", NULL, NULL, OK, NULL),
        IE("base incident (end) is valid", NULL, NULL, OK, NULL),
        IN("state update", "state", "\"update\"", OK, NULL),
        IN("state unknown", "state", "\"closed\"", SCHEMA,
          "state: 'closed' is not one of new, update, end"),
        IN("state upper case", "state", "\"NEW\"", SCHEMA, "state: 'NEW'"),
        IN("state a number", "state", "1", SCHEMA, "state: expected a string"),
        IN("type meteor", "type", "\"meteor\"", SCHEMA, "type: 'meteor' is not one of accident"),
        IN("type accident", "type", "\"accident\"", OK, NULL),
        IN("type road_flooding", "type", "\"road_flooding\"", OK, NULL),
        IN("type congestion", "type", "\"congestion\"", OK, NULL),
        IN("type illegal_parking", "type", "\"illegal_parking\"", OK, NULL),
        IN("type wrong_way", "type", "\"wrong_way\"", OK, NULL),
        IN("type other", "type", "\"other\"", OK, NULL),
        IN("state end without end", "state", "\"end\"", SCHEMA,
          "end: missing (required when state is end)"),
        IE("end with state new", "state", "\"new\"", SCHEMA,
          "end: only allowed when state is end (state is new)"),
        IE("end before start (protocol 9.3)", "end", "\"2026-03-02T07:40:00.000Z\"", SCHEMA,
          "end: 2026-03-02T07:40:00.000Z is before start 2026-03-02T07:41:05.250Z"),
        IE("end equal to start", "end", "\"2026-03-02T07:41:05.250Z\"", OK, NULL),
        IE("end one ms before start", "end", "\"2026-03-02T07:41:05.249Z\"", SCHEMA, "end:"),
        IE("end not a date", "end", "\"2026-02-30T00:00:00.000Z\"", SCHEMA, "end: '2026-02-30"),
        IN("start missing", "start", NULL, SCHEMA, "start: missing"),
        IN("start a number", "start", "0", SCHEMA, "start: expected a string"),
        IN("event with upper case and colon", "event", "\"Cam:01.A_b-c\"", OK, NULL),
        IN("event 64 characters", "event", "@str:64:A", OK, NULL),
        IN("event 65 characters", "event", "@str:65:A", SCHEMA, "event: 'AAAA"),
        IN("event starting with :", "event", "\":x\"", SCHEMA, "event: ':x' is not an event id"),
        IN("event with a slash", "event", "\"a/b\"", SCHEMA, "event: 'a/b'"),
        IN("event empty", "event", "\"\"", SCHEMA, "event:"),
        IN("confidence 0", "confidence", "0", OK, NULL),
        IN("confidence 1", "confidence", "1", OK, NULL),
        IN("confidence above 1", "confidence", "1.0000000000000002", SCHEMA,
          "confidence: 1.0000000000000002 out of range 0..1"),
        IN("confidence negative", "confidence", "-0.5", SCHEMA, "confidence: -0.5"),
        IN("snapshot 512 code points", "snapshot", "@str:512:\xc3\xa9", OK, NULL),
        IN("snapshot 513 code points", "snapshot", "@str:513:\xc3\xa9", SCHEMA,
          "snapshot: 513 code points, expected 1 to 512"),
        IN("snapshot empty", "snapshot", "\"\"", SCHEMA, "snapshot: 0 code points"),
        IN("snapshot 4-byte characters", "snapshot", "@str:512:\xf0\x9f\x8c\x8a", OK, NULL),
        IN("lane optional", "lane", NULL, OK, NULL),
        IN("lane invalid", "lane", "\"East\"", SCHEMA, "lane: 'East'"),
        IN("station missing", "station", NULL, SCHEMA, "station: missing"),
        IN("event missing", "event", NULL, SCHEMA, "event: missing"),
        IN("type missing", "type", NULL, SCHEMA, "type: missing"),
    };

    ROWS(rows);
}

static void test_larva_members(void)
{
    static const struct row rows[] = {
        LA("base larva report is valid", NULL, NULL, OK, NULL),
        LA("inspector empty", "inspector", "\"\"", SCHEMA,
          "inspector: 0 code points, expected 1 to 64"),
        LA("inspector 64 code points", "inspector", "@str:64:\xc3\xa9", OK, NULL),
        LA("inspector 65 code points", "inspector", "@str:65:\xc3\xa9", SCHEMA,
          "inspector: 65 code points"),
        /* issue 9 item 14: an id refuses invisible characters, free text keeps them */
        LA("issue9 inspector with a zero-width space", "inspector", "\"jmt-\\u200b0412\"",
          SCHEMA, "inspector: invisible character U+200B at byte 4"),
        LA("issue9 inspector with a raw bidi override", "inspector",
          "\"jmt-\xe2\x80\xae" "0412\"", SCHEMA, "inspector: invisible character U+202E"),
        LA("issue9 inspector with a line separator", "inspector", "\"jmt\\u20280412\"",
          SCHEMA, "invisible character U+2028"),
        LA("issue9 inspector with a soft hyphen", "inspector", "\"jmt\\u00ad0412\"", SCHEMA,
          "invisible character U+00AD"),
        LA("issue9 inspector with a C1 control", "inspector", "\"jmt\\u00850412\"", SCHEMA,
          "invisible character U+0085"),
        LA("issue9 inspector with a tag character", "inspector",
          "\"jmt\\udb40\\udc010412\"", SCHEMA, "invisible character U+E0001"),
        LA("issue9 inspector with a BOM inside", "inspector", "\"jmt\\ufeff0412\"", SCHEMA,
          "invisible character U+FEFF"),
        LA("inspector with letters beyond ASCII", "inspector", "\"Ibu S\xc3\xa9ti\"", OK, NULL),
        LA("issue9 note keeps a bidi override", "note", "\"lihat \\u202e02 RT\"", OK, NULL),
        LA("issue9 address keeps a zero-width joiner", "address", "\"Jl. Melati\\u200d 12\"", OK,
          NULL),
        LA("building public_place", "building", "\"public_place\"", OK, NULL),
        LA("building institution", "building", "\"institution\"", OK, NULL),
        LA("building unknown", "building", "\"castle\"", SCHEMA,
          "building: 'castle' is not one of house, public_place, institution"),
        LA("kelurahan in the gap", "kelurahan", "\"32.75.07.1001\"", SCHEMA,
          "kelurahan: '32.75.07.1001' is not a kelurahan code of Kota Bekasi"),
        LA("kelurahan after the gap", "kelurahan", "\"32.75.07.1007\"", OK, NULL),
        LA("kelurahan a kecamatan", "kelurahan", "\"32.75.07\"", SCHEMA, "kelurahan: '32.75.07'"),
        LA("kelurahan a number", "kelurahan", "32.75", SCHEMA, "kelurahan: expected a string"),
        LA("rw 0", "rw", "0", SCHEMA, "rw: 0 out of range 1..999"),
        LA("rw 999", "rw", "999", OK, NULL),
        LA("rw 1000", "rw", "1000", SCHEMA, "rw: 1000 out of range"),
        LA("rt 1.5", "rt", "1.5", SCHEMA, "rt: 1.5 is not an integer"),
        LA("rt missing", "rt", NULL, SCHEMA, "rt: missing"),
        LA("address with an escaped newline", "address", "\"Jl. Melati\\nNo. 12\"", JSON,
          "at address: control character (escaped as \\n)"),
        LA("address with a raw tab", "address", "\"Jl.\tMelati\"", JSON,
          "at address: control character 0x09"),
        LA("address 200 code points", "address", "@str:200:\xc3\xa9", OK, NULL),
        LA("address 201 code points", "address", "@str:201:\xc3\xa9", SCHEMA,
          "address: 201 code points, expected 1 to 200"),
        LA("address empty", "address", "\"\"", SCHEMA, "address: 0 code points"),
        LA("address optional", "address", NULL, OK, NULL),
        LA("lat without lon", "lon", NULL, SCHEMA, "lon: missing (lat and lon come together)"),
        LA("lon without lat", "lat", NULL, SCHEMA, "lat: missing (lat and lon come together)"),
        LA("lat below Indonesia", "lat", "-11.5", SCHEMA, "lat: -11.5 out of range -11..6"),
        LA("lat above Indonesia", "lat", "6.5", SCHEMA, "lat: 6.5 out of range"),
        LA("lon 0", "lon", "0", SCHEMA, "lon: 0 out of range 95..141 (lat, lon"),
        LA("lon 141", "lon", "141", OK, NULL),
        LA("larvae_found a string", "larvae_found", "\"true\"", SCHEMA,
          "larvae_found: expected a boolean"),
        LA("larvae_found false with a positive container (9.4)", "larvae_found", "false", SCHEMA,
          "larvae_found: false, but containers[0] has 1 positive"),
        LA("larvae_found true without a positive container (9.4)", "containers", "[]", SCHEMA,
          "larvae_found: true, but no container has a positive count"),
        LA("containers 30 items (every type and location once)", "containers",
           "@containers:30", OK, NULL),
        LA("containers 31 items", "containers", "@containers:31", SCHEMA,
           "containers: 31 items, expected 0 to 30"),
        LA("containers not an array", "containers", "{}", SCHEMA,
          "containers: expected an array, got object"),
        LA("container not an object", "containers", "[1]", SCHEMA,
          "containers[0]: expected an object, got number"),
        LA("container positive above inspected (9.4)", "containers",
           "[{\"type\":\"jar\",\"location\":\"indoor\",\"inspected\":3,\"positive\":5}]", SCHEMA,
           "containers[0].positive: 5 exceeds inspected 3"),
        LA("containers repeat (type, location) (9.4)", "containers",
           "[{\"type\":\"jar\",\"location\":\"indoor\",\"inspected\":2,\"positive\":1},"
           "{\"type\":\"drum\",\"location\":\"indoor\",\"inspected\":1,\"positive\":0},"
           "{\"type\":\"jar\",\"location\":\"indoor\",\"inspected\":1,\"positive\":0}]",
           SCHEMA, "containers[2]: type jar, location indoor repeats containers[0]"),
        LA("containers same type, other location", "containers",
           "[{\"type\":\"jar\",\"location\":\"indoor\",\"inspected\":2,\"positive\":1},"
           "{\"type\":\"jar\",\"location\":\"outdoor\",\"inspected\":1,\"positive\":0}]",
           OK, NULL),
        LA("container missing positive", "containers",
           "[{\"type\":\"jar\",\"location\":\"indoor\",\"inspected\":2}]", SCHEMA,
           "containers[0].positive: missing"),
        LA("container extension", "containers",
           "[{\"type\":\"jar\",\"location\":\"indoor\",\"inspected\":2,\"positive\":1,"
           "\"x_test\":1}]",
           SCHEMA, "containers[0].x_test: unknown member"),
        LA("container bad type", "containers",
           "[{\"type\":\"vase\",\"location\":\"indoor\",\"inspected\":2,\"positive\":1}]", SCHEMA,
           "containers[0].type: 'vase' is not one of bath_tub"),
        LA("container bad location", "containers",
           "[{\"type\":\"jar\",\"location\":\"roof\",\"inspected\":2,\"positive\":1}]", SCHEMA,
           "containers[0].location: 'roof' is not one of indoor, outdoor"),
        LA("container inspected 1001", "containers",
           "[{\"type\":\"jar\",\"location\":\"indoor\",\"inspected\":1001,\"positive\":1}]",
           SCHEMA, "containers[0].inspected: 1001 out of range 0..1000"),
        LA("container duplicate member", "containers",
           "[{\"type\":\"jar\",\"type\":\"jar\",\"location\":\"indoor\",\"inspected\":2,"
           "\"positive\":1}]",
           JSON, "containers[0]: duplicate member name 'type'"),
        LA("actions repeated", "actions", "[\"drain\",\"drain\"]", SCHEMA,
          "actions[1]: 'drain' repeated"),
        LA("actions unknown", "actions", "[\"pray\"]", SCHEMA,
          "actions[0]: 'pray' is not one of drain, cover"),
        LA("actions empty", "actions", "[]", OK, NULL),
        LA("actions all nine", "actions",
           "[\"drain\",\"cover\",\"recycle\",\"larvicide\",\"fish\",\"repellent\",\"net\","
           "\"plant\",\"other\"]",
           OK, NULL),
        LA("actions not an array", "actions", "\"drain\"", SCHEMA,
          "actions: expected an array, got string"),
        LA("actions a number item", "actions", "[1]", SCHEMA,
          "actions[0]: expected a string, got number"),
        LA("note 200 code points", "note", "@str:200:a", OK, NULL),
        LA("note 201 code points", "note", "@str:201:a", SCHEMA, "note: 201 code points"),
        LA("note empty", "note", "\"\"", SCHEMA, "note: 0 code points"),
    };

    ROWS(rows);
}

static void test_dropped_members(void)
{
    static const struct row rows[] = {
        DR("base dropped report is valid", NULL, NULL, OK, NULL),
        DR("ranges 100", "ranges", "@ranges:100", OK, NULL),
        DR("ranges 101", "ranges", "@ranges:101", SCHEMA, "ranges: 101 ranges, expected 1 to 100"),
        DR("ranges empty", "ranges", "[]", SCHEMA, "ranges: 0 ranges"),
        DR("range of one number", "ranges", "[[1200]]", SCHEMA,
          "ranges[0]: expected a pair [first, last], got 1 item"),
        DR("range of three numbers", "ranges", "[[1,2,3]]", SCHEMA, "ranges[0]: expected a pair"),
        DR("range not an array", "ranges", "[5]", SCHEMA,
          "ranges[0]: expected a pair [first, last], got number"),
        DR("range with a string", "ranges", "[[\"1\",2]]", SCHEMA,
          "ranges[0][0]: expected an integer, got string"),
        DR("range starting at 0", "ranges", "[[0,5]]", SCHEMA, "ranges[0][0]: 0 out of range 1"),
        DR("range with 2.5", "ranges", "[[1,2.5]]", SCHEMA, "ranges[0][1]: 2.5 is not an integer"),
        DR("range first > last (9.5)", "ranges", "[[1350,1200]]", SCHEMA,
          "ranges[0]: first 1350 > last 1200"),
        DR("ranges out of order (9.5)", "ranges", "[[1400,1500],[1200,1350]]", SCHEMA,
          "ranges[1]: [1200,1350] is not above the previous range [1400,1500]"),
        DR("ranges overlapping (9.5)", "ranges", "[[1200,1350],[1350,1400]]", SCHEMA,
          "ranges[1]: [1350,1400] is not above"),
        DR("ranges adjacent", "ranges", "[[1200,1350],[1351,1400]]", OK, NULL),
        DR("range reaching seq (9.5)", "ranges", "[[1200,2001]]", SCHEMA,
          "ranges[0]: [1200,2001] is not below the message's seq 2001"),
        DR("range just below seq", "ranges", "[[1200,2000]]", OK, NULL),
        DR("ranges not an array", "ranges", "{}", SCHEMA, "ranges: expected an array"),
        DR("ranges missing", "ranges", NULL, SCHEMA, "ranges: missing"),
        DR("reason max_age", "reason", "\"max_age\"", OK, NULL),
        DR("reason rejected", "reason", "\"rejected\"", OK, NULL),
        DR("reason corrupt", "reason", "\"corrupt\"", OK, NULL),
        DR("reason unknown", "reason", "\"full\"", SCHEMA,
          "reason: 'full' is not one of store_full, max_age, rejected, corrupt"),
        DR("reason missing", "reason", NULL, SCHEMA, "reason: missing"),
    };

    ROWS(rows);
}

static void test_status_members(void)
{
    static const struct row rows[] = {
        ST("base status is valid", NULL, NULL, OK, NULL),
        ST("state offline", "state", "\"offline\"", OK, NULL),
        ST("state sleeping", "state", "\"sleeping\"", SCHEMA,
          "state: 'sleeping' is not one of online, offline"),
        ST("conn 0", "conn", "0", SCHEMA, "conn: 0 out of range 1..9007199254740991"),
        ST("conn 2^53", "conn", "9007199254740992", SCHEMA, "conn: 9007199254740992"),
        ST("conn missing", "conn", NULL, SCHEMA, "conn: missing"),
        ST("store missing", "store", NULL, SCHEMA, "store: missing"),
        ST("ts missing", "ts", NULL, SCHEMA, "ts: missing"),
        ST("clock_synced missing", "clock_synced", NULL, SCHEMA, "clock_synced: missing"),
        ST("seq is not a status member", "seq", "1", SCHEMA, "seq: unknown member"),
        ST("replay is not a status member", "replay", "false", SCHEMA, "replay: unknown member"),
        ST("agent 64 code points", "agent", "@str:64:a", OK, NULL),
        ST("agent 65 code points", "agent", "@str:65:a", SCHEMA, "agent: 65 code points"),
        ST("agent empty", "agent", "\"\"", SCHEMA, "agent: 0 code points"),
        ST("backlog negative", "backlog", "-1", SCHEMA, "backlog: -1 out of range"),
        ST("rejected 1.5", "rejected", "1.5", SCHEMA, "rejected: 1.5 is not an integer"),
        ST("dropped 2^53-1", "dropped", "9007199254740991", OK, NULL),
        ST("stations empty", "stations", "{}", OK, NULL),
        ST("stations 16", "stations", "@stations:16", OK, NULL),
        ST("stations 17", "stations", "@stations:17", SCHEMA, "stations: more than 16 members"),
        ST("stations bad id", "stations", "{\"P2C\":\"online\"}", SCHEMA,
          "stations: 'P2C' is not a station id"),
        ST("stations bad state", "stations", "{\"p2c\":\"up\"}", SCHEMA,
          "stations.p2c: 'up' is not one of online, offline"),
        ST("stations value a boolean", "stations", "{\"p2c\":true}", SCHEMA,
          "stations.p2c: expected a string"),
        ST("stations an array", "stations", "[]", SCHEMA, "stations: expected an object"),
        ST("extension in status", "x_fw", "\"1\"", OK, NULL),
    };

    ROWS(rows);
}

/* ---- whole payloads and topics ---- */

struct raw {
    const char *name;
    const char *topic;
    const char *payload;
    size_t len;              /* 0: strlen(payload) */
    int rc;
    const char *want;
};

static void run_raw(const struct raw *rows, size_t n)
{
    struct msg_event ev;

    for (size_t i = 0; i < n; i++) {
        const struct raw *r = &rows[i];
        char err[MSG_ERRLEN] = "";
        size_t len = r->len != 0 ? r->len : strlen(r->payload);
        int rc = msg_event_parse(r->topic, strlen(r->topic), r->payload, len, &ev, err,
                                 sizeof(err));

        TEST_CHECK(rc == r->rc);
        TEST_MSG("%s: rc %s, expected %s; err '%s'", r->name, msg_errname(rc), msg_errname(r->rc),
                 err);
        if (r->want != NULL) {
            TEST_CHECK(strstr(err, r->want) != NULL);
            TEST_MSG("%s: err '%s' lacks '%s'", r->name, err, r->want);
        }
    }
}

#define FLOOD_OK                                                                               \
    "{\"store\":" STORE ",\"seq\":1,\"ts\":\"2026-02-11T03:15:00.000Z\",\"clock_synced\":true," \
    "\"replay\":false,\"station\":\"p2c\",\"level_cm\":650}"

static void test_payload_level_errors(void)
{
    static const struct raw rows[] = {
        {"valid minimal flood", T_FLOOD, FLOOD_OK, 0, OK, NULL},
        {"empty payload", T_FLOOD, "", 0, JSON, "empty payload"},
        {"white space only", T_FLOOD, "  ", 0, JSON, "truncated"},
        {"truncated", T_FLOOD, "{\"store\":" STORE ",\"seq\":1", 0, JSON, "truncated"},
        {"truncated in a string", T_FLOOD, "{\"store\":\"6f1c", 0, JSON, "truncated"},
        {"top-level array", T_FLOOD, "[" FLOOD_OK "]", 0, SCHEMA, "payload is an array, not an"},
        {"top-level string", T_FLOOD, "\"x\"", 0, SCHEMA, "payload is a string, not an object"},
        {"top-level number", T_FLOOD, "1", 0, SCHEMA, "payload is a number"},
        {"top-level null", T_FLOOD, "null", 0, SCHEMA, "payload is a null"},
        {"BOM", T_FLOOD, "\xef\xbb\xbf" FLOOD_OK, 0, JSON, "byte-order mark"},
        {"trailing garbage", T_FLOOD, FLOOD_OK "x", 0, JSON, "trailing garbage"},
        {"two objects", T_FLOOD, FLOOD_OK FLOOD_OK, 0, JSON, "trailing garbage"},
        {"NUL after the object", T_FLOOD, FLOOD_OK "\0", sizeof(FLOOD_OK), JSON,
         "trailing garbage"},
        {"white space around", T_FLOOD, " \t\r\n" FLOOD_OK "\n \t\r\n", 0, OK, NULL},
        {"trailing comma", T_FLOOD, "{\"seq\":1,}", 0, JSON, "trailing comma"},
        {"comment", T_FLOOD, "{\"seq\":1/* c */}", 0, JSON, "expected after member"},
        {"single quotes", T_FLOOD, "{'seq':1}", 0, JSON, "member name in double quotes"},
        {"deep nesting", T_FLOOD, "{\"x_a\":[[[[[[[[[[[[1]]]]]]]]]]]]}", 0, JSON,
         "nesting deeper than 3 levels"},
        {"topic of another version", "pantau/v2/gw-p2c-01/flood", FLOOD_OK, 0, TOPIC,
         "unknown version"},
        {"ack topic is not a device message", "pantau/v1/gw-p2c-01/ack", FLOOD_OK, 0, TOPIC,
         "'ack' is not a device message"},
        {"health topic", "pantau/v1/_sys/health/c1", FLOOD_OK, 0, TOPIC, "not a device"},
        {"rejected topic", "pantau/v1/_sys/rejected", FLOOD_OK, 0, TOPIC, "not a device"},
        {"flood payload on the traffic topic", T_TRAFFIC, FLOOD_OK, 0, SCHEMA,
         "level_cm: unknown member"},
        {"invalid UTF-8 in a string", T_FLOOD,
         "{\"store\":" STORE ",\"seq\":1,\"ts\":\"2026-02-11T03:15:00.000Z\",\"clock_synced\":"
         "true,\"replay\":false,\"station\":\"p2c\",\"level_cm\":650,\"x_a\":\"caf\xe9\"}",
         0, JSON, "at x_a: invalid UTF-8"},
        {"escaped lone surrogate", T_FLOOD,
         "{\"store\":" STORE ",\"seq\":1,\"x_a\":\"\\ud800\"}", 0, JSON,
         "at x_a: lone surrogate \\uD800"},
        {"escaped NUL", T_FLOOD, "{\"store\":" STORE ",\"seq\":1,\"x_a\":\"a\\u0000b\"}", 0, JSON,
         "at x_a: control character U+0000"},
    };

    run_raw(rows, sizeof(rows) / sizeof(rows[0]));
}

static void test_payload_size_limit(void)
{
    char *buf = malloc(MSG_PAYLOAD_MAX + 2);
    size_t base = strlen(FLOOD_OK);
    struct msg_event ev;
    char err[MSG_ERRLEN];
    int rc;

    if (!TEST_CHECK(buf != NULL)) {
        return;
    }
    memcpy(buf, FLOOD_OK, base);
    memset(buf + base, ' ', MSG_PAYLOAD_MAX + 1 - base);
    rc = msg_event_parse(T_FLOOD, strlen(T_FLOOD), buf, MSG_PAYLOAD_MAX, &ev, err, sizeof(err));
    TEST_CHECK(rc == MSG_OK);
    TEST_MSG("8192 bytes: %s", err);
    rc = msg_event_parse(T_FLOOD, strlen(T_FLOOD), buf, MSG_PAYLOAD_MAX + 1, &ev, err,
                         sizeof(err));
    TEST_CHECK(rc == MSG_ERR_JSON);
    TEST_CHECK(strstr(err, "payload of 8193 bytes exceeds 8192") != NULL);
    TEST_MSG("8193 bytes: %s", err);
    free(buf);
}

/* ---- normalized output ---- */

static int parse_text(const char *topic, const char *payload, struct msg_event *ev, char *err)
{
    return msg_event_parse(topic, strlen(topic), payload, strlen(payload), ev, err, MSG_ERRLEN);
}

static void test_flood_output_fields(void)
{
    char payload[4096];
    char err[MSG_ERRLEN] = "";
    struct msg_event ev;

    build(payload, sizeof(payload), flood_base, "discharge_m3s", "-0.0");
    if (!TEST_CHECK(parse_text(T_FLOOD, payload, &ev, err) == MSG_OK)) {
        TEST_MSG("%s", err);
        return;
    }
    TEST_CHECK(ev.stream == MSG_STREAM_FLOOD);
    TEST_CHECK(strcmp(ev.device_id, "gw-p2c-01") == 0);
    TEST_CHECK(strcmp(ev.env.store_id, "6f1c2b0e-9a57-4d1e-8d0c-3a1f2e4b5c6d") == 0);
    TEST_CHECK(ev.env.seq == 1042);
    TEST_CHECK(ev.env.ts_ms == INT64_C(1770779700000));
    TEST_CHECK(ev.env.clock_synced && !ev.env.replay);
    TEST_CHECK(ev.env.has_boot && ev.env.boot == 311);
    TEST_CHECK(ev.env.has_mono && ev.env.mono_ms == 86400123);
    TEST_CHECK(strcmp(ev.u.flood.station, "p2c-kali-bekasi") == 0);
    TEST_CHECK(ev.u.flood.has_level && ev.u.flood.level_cm == 637.5);
    TEST_CHECK(ev.u.flood.has_distance && ev.u.flood.distance_cm == 412.5);
    TEST_CHECK(ev.u.flood.offset_cm == 1050);
    TEST_CHECK(ev.u.flood.has_rise && ev.u.flood.rise_cm_h == 42.0);
    TEST_CHECK(ev.u.flood.has_rain && ev.u.flood.rain_mm == 3.2);
    TEST_CHECK(ev.u.flood.has_battery && ev.u.flood.battery_v == 12.61);
    /* -0.0 is normalized to +0 */
    TEST_CHECK(ev.u.flood.has_discharge && ev.u.flood.discharge_m3s == 0 &&
               !signbit(ev.u.flood.discharge_m3s));

    build(payload, sizeof(payload), flood_base, "boot", NULL);
    TEST_CHECK(parse_text(T_FLOOD, payload, &ev, err) == MSG_OK);
    TEST_CHECK(!ev.env.has_boot && !ev.u.flood.has_discharge);
}

static void test_other_streams_output_fields(void)
{
    char payload[4096];
    char err[MSG_ERRLEN] = "";
    struct msg_event ev;

    build(payload, sizeof(payload), traffic_base, "counts", "{\"car\":7,\"bus\":0}");
    TEST_CHECK(parse_text(T_TRAFFIC, payload, &ev, err) == MSG_OK);
    TEST_CHECK(ev.u.traffic.interval_s == 300 && strcmp(ev.u.traffic.lane, "eastbound") == 0);
    TEST_CHECK(ev.u.traffic.counts[MSG_VCLASS_CAR] == 7);
    TEST_CHECK(ev.u.traffic.counts[MSG_VCLASS_BUS] == 0);
    TEST_CHECK(ev.u.traffic.counts[MSG_VCLASS_MOTORCYCLE] == -1);
    TEST_CHECK(ev.u.traffic.counts[MSG_VCLASS_TRUCK] == -1);
    TEST_CHECK(ev.u.traffic.has_speed && ev.u.traffic.speed_kmh == 23.5);
    TEST_CHECK(ev.u.traffic.has_queue && ev.u.traffic.queue_m == 120);

    build(payload, sizeof(payload), incident_end_base, NULL, NULL);
    TEST_CHECK(parse_text(T_INCIDENT, payload, &ev, err) == MSG_OK);
    TEST_CHECK(ev.u.incident.state == MSG_INCIDENT_END);
    TEST_CHECK(ev.u.incident.type == MSG_INCIDENT_STALLED_VEHICLE);
    TEST_CHECK(ev.u.incident.start_ms == INT64_C(1772437265250));
    TEST_CHECK(ev.u.incident.has_end && ev.u.incident.end_ms == INT64_C(1772438320000));
    TEST_CHECK(!ev.u.incident.has_confidence && ev.u.incident.snapshot[0] == '\0');
    TEST_CHECK(ev.u.incident.lane[0] == '\0');

    build(payload, sizeof(payload), larva_base, NULL, NULL);
    TEST_CHECK(parse_text(T_LARVA, payload, &ev, err) == MSG_OK);
    TEST_CHECK(strcmp(ev.u.larva.inspector, "jmt-0412") == 0);
    TEST_CHECK(ev.u.larva.building == MSG_BUILDING_HOUSE);
    TEST_CHECK(strcmp(ev.u.larva.kelurahan, "32.75.01.1002") == 0);
    TEST_CHECK(ev.u.larva.rw == 3 && ev.u.larva.rt == 5);
    TEST_CHECK(strcmp(ev.u.larva.address, "Jl. Melati No. 12") == 0);
    TEST_CHECK(ev.u.larva.has_gps && ev.u.larva.lat == -6.2416 && ev.u.larva.lon == 107.0012);
    TEST_CHECK(ev.u.larva.larvae_found && ev.u.larva.n_containers == 3);
    TEST_CHECK(ev.u.larva.containers[1].type == MSG_CONTAINER_BUCKET);
    TEST_CHECK(ev.u.larva.containers[1].location == MSG_LOCATION_OUTDOOR);
    TEST_CHECK(ev.u.larva.containers[2].inspected == 4);
    TEST_CHECK(ev.u.larva.has_actions);
    TEST_CHECK(ev.u.larva.actions == ((1u << MSG_ACTION_DRAIN) | (1u << MSG_ACTION_COVER) |
                                      (1u << MSG_ACTION_LARVICIDE)));
    TEST_CHECK(ev.u.larva.note[0] == '\0');

    build(payload, sizeof(payload), dropped_base, NULL, NULL);
    TEST_CHECK(parse_text(T_DROPPED, payload, &ev, err) == MSG_OK);
    TEST_CHECK(ev.u.dropped.reason == MSG_DROP_STORE_FULL && ev.u.dropped.n_ranges == 2);
    TEST_CHECK(ev.u.dropped.ranges[0].first == 1200 && ev.u.dropped.ranges[0].last == 1350);
    TEST_CHECK(ev.u.dropped.ranges[1].first == 1400 && ev.u.dropped.ranges[1].last == 1400);

    build(payload, sizeof(payload), status_base, NULL, NULL);
    TEST_CHECK(parse_text(T_STATUS, payload, &ev, err) == MSG_OK);
    TEST_CHECK(ev.stream == MSG_STREAM_STATUS && ev.env.seq == 0 && ev.env.store_id[0] == '\0');
    TEST_CHECK(ev.u.status.state == MSG_STATE_ONLINE && ev.u.status.conn == 17);
    TEST_CHECK(strcmp(ev.u.status.store_id, "6f1c2b0e-9a57-4d1e-8d0c-3a1f2e4b5c6d") == 0);
    TEST_CHECK(ev.u.status.ts_ms == INT64_C(1770778801500));
    TEST_CHECK(strcmp(ev.u.status.agent, "pantau-agent 0.1.0") == 0);
    TEST_CHECK(ev.u.status.has_dropped && ev.u.status.dropped == 151);
    TEST_CHECK(ev.u.status.has_stations && ev.u.status.n_stations == 1);
    TEST_CHECK(strcmp(ev.u.status.stations[0].id, "p2c-kali-bekasi") == 0);
    TEST_CHECK(ev.u.status.stations[0].online);
}

static void test_from_json_checks_a_lenient_tree(void)
{
    struct msg_topic topic;
    struct msg_event ev;
    char err[MSG_ERRLEN] = "";
    cJSON *doc;

    /* cJSON alone accepts a duplicate member: msg_event_from_json still refuses it */
    TEST_CHECK(msg_topic_parse(T_FLOOD, strlen(T_FLOOD), &topic, err, sizeof(err)) == MSG_OK);
    doc = cJSON_Parse("{\"store\":" STORE ",\"seq\":1,\"seq\":2}");
    if (!TEST_CHECK(doc != NULL)) {
        return;
    }
    TEST_CHECK(msg_event_from_json(doc, &topic, &ev, err, sizeof(err)) == MSG_ERR_SCHEMA);
    TEST_CHECK(strstr(err, "seq: duplicate member name") != NULL);
    TEST_MSG("%s", err);
    cJSON_Delete(doc);
    /* and a control character that cJSON let through */
    doc = cJSON_Parse(FLOOD_OK);
    if (!TEST_CHECK(doc != NULL)) {
        return;
    }
    cJSON_AddItemToObject(doc, "x_a", cJSON_CreateString("a\tb"));
    TEST_CHECK(msg_event_from_json(doc, &topic, &ev, err, sizeof(err)) == MSG_ERR_SCHEMA);
    TEST_CHECK(strstr(err, "x_a: control character") != NULL);
    TEST_MSG("%s", err);
    cJSON_Delete(doc);
    topic.stream = MSG_STREAM_ACK;
    TEST_CHECK(msg_event_from_json(NULL, &topic, &ev, err, sizeof(err)) == MSG_ERR_TOPIC);
}

/* ---- canonical form (protocol 4.1: resends are identical after normalization) ---- */

static int canonical_of(const char *topic, const char *payload, char *out, size_t outlen)
{
    struct msg_event ev;
    char err[MSG_ERRLEN] = "";
    size_t len = 0;
    int rc = parse_text(topic, payload, &ev, err);

    if (rc != MSG_OK) {
        snprintf(out, outlen, "parse error: %s", err);
        return rc;
    }
    return msg_event_canonical(&ev, out, outlen, &len);
}

struct canon_pair {
    const char *name;
    const char *topic_a;
    const char *a;
    const char *topic_b;
    const char *b;
    bool same;
};

#define FL(members)                                                                           \
    "{\"store\":" STORE ",\"seq\":9,\"ts\":\"2026-02-11T03:15:00.000Z\",\"clock_synced\":true," \
    "\"replay\":false,\"station\":\"p2c\"" members "}"
#define LV(found, containers, actions)                                                        \
    "{\"store\":" STORE ",\"seq\":9,\"ts\":\"2026-02-11T03:15:00.000Z\",\"clock_synced\":true," \
    "\"replay\":false,\"inspector\":\"j\",\"building\":\"house\",\"kelurahan\":"              \
    "\"32.75.01.1002\",\"rw\":1,\"rt\":1,\"larvae_found\":" found ",\"containers\":"           \
    containers actions "}"
#define C_JAR "{\"type\":\"jar\",\"location\":\"indoor\",\"inspected\":2,\"positive\":1}"
#define C_DRUM "{\"type\":\"drum\",\"location\":\"outdoor\",\"inspected\":1,\"positive\":0}"

static void test_canonical_form(void)
{
    static const struct canon_pair pairs[] = {
        {"number spelling 650 / 650.0", T_FLOOD, FL(",\"level_cm\":650"), T_FLOOD,
         FL(",\"level_cm\":650.0"), true},
        {"number spelling 650 / 6.5e2", T_FLOOD, FL(",\"level_cm\":650"), T_FLOOD,
         FL(",\"level_cm\":6.5e2"), true},
        {"number spelling 0.1 / 1e-1", T_FLOOD, FL(",\"level_cm\":0.1"), T_FLOOD,
         FL(",\"level_cm\":1E-1"), true},
        {"-0 and 0", T_FLOOD, FL(",\"level_cm\":0"), T_FLOOD, FL(",\"level_cm\":-0.0"), true},
        {"seq 5 / 5.0", T_FLOOD,
         "{\"store\":" STORE ",\"seq\":5,\"ts\":\"2026-02-11T03:15:00.000Z\",\"clock_synced\":"
         "true,\"replay\":false,\"station\":\"p2c\",\"level_cm\":1}",
         T_FLOOD,
         "{\"store\":" STORE ",\"seq\":5.0,\"ts\":\"2026-02-11T03:15:00.000Z\",\"clock_synced\":"
         "true,\"replay\":false,\"station\":\"p2c\",\"level_cm\":1}",
         true},
        {"member order and white space", T_FLOOD, FL(",\"level_cm\":1,\"rain_mm\":2"), T_FLOOD,
         "{ \"rain_mm\" : 2 ,\n\"level_cm\":1, \"station\":\"p2c\",\"replay\":false,"
         "\"clock_synced\":true,\"ts\":\"2026-02-11T03:15:00.000Z\",\"seq\":9,\"store\":" STORE
         "}",
         true},
        {"replay differs", T_FLOOD, FL(",\"level_cm\":1"), T_FLOOD,
         "{\"store\":" STORE ",\"seq\":9,\"ts\":\"2026-02-11T03:15:00.000Z\",\"clock_synced\":"
         "true,\"replay\":true,\"station\":\"p2c\",\"level_cm\":1}",
         true},
        {"different extension members", T_FLOOD, FL(",\"level_cm\":1,\"x_a\":1"), T_FLOOD,
         FL(",\"level_cm\":1,\"x_b\":2"), true},
        {"extension members do not count", T_FLOOD, FL(",\"level_cm\":1"), T_FLOOD,
         FL(",\"level_cm\":1,\"x_vendor\":\"a\""), true},
        {"container order", T_LARVA, LV("true", "[" C_JAR "," C_DRUM "]", ""), T_LARVA,
         LV("true", "[" C_DRUM "," C_JAR "]", ""), true},
        {"action order", T_LARVA, LV("true", "[" C_JAR "]", ",\"actions\":[\"net\",\"drain\"]"),
         T_LARVA, LV("true", "[" C_JAR "]", ",\"actions\":[\"drain\",\"net\"]"), true},
        {"unicode escape and raw UTF-8", T_LARVA,
         LV("true", "[" C_JAR "]", ",\"note\":\"caf\\u00e9\""), T_LARVA,
         LV("true", "[" C_JAR "]", ",\"note\":\"caf\xc3\xa9\""), true},
        {"level differs by 0.1", T_FLOOD, FL(",\"level_cm\":650"), T_FLOOD,
         FL(",\"level_cm\":650.1"), false},
        {"level differs in the last bit", T_FLOOD, FL(",\"level_cm\":0.1"), T_FLOOD,
         FL(",\"level_cm\":0.10000000000000002"), false},
        {"level vs discharge", T_FLOOD, FL(",\"level_cm\":1"), T_FLOOD,
         FL(",\"discharge_m3s\":1"), false},
        {"optional member added", T_FLOOD, FL(",\"level_cm\":1"), T_FLOOD,
         FL(",\"level_cm\":1,\"rain_mm\":0"), false},
        {"clock_synced differs", T_FLOOD, FL(",\"level_cm\":1"), T_FLOOD,
         "{\"store\":" STORE ",\"seq\":9,\"ts\":\"2026-02-11T03:15:00.000Z\",\"clock_synced\":"
         "false,\"replay\":false,\"station\":\"p2c\",\"level_cm\":1}",
         false},
        {"ts differs by 1 ms", T_FLOOD, FL(",\"level_cm\":1"), T_FLOOD,
         "{\"store\":" STORE ",\"seq\":9,\"ts\":\"2026-02-11T03:15:00.001Z\",\"clock_synced\":"
         "true,\"replay\":false,\"station\":\"p2c\",\"level_cm\":1}",
         false},
        {"device differs", T_FLOOD, FL(",\"level_cm\":1"), "pantau/v1/gw-p2c-02/flood",
         FL(",\"level_cm\":1"), false},
        {"station differs", T_FLOOD, FL(",\"level_cm\":1"), T_FLOOD,
         "{\"store\":" STORE ",\"seq\":9,\"ts\":\"2026-02-11T03:15:00.000Z\",\"clock_synced\":"
         "true,\"replay\":false,\"station\":\"p2d\",\"level_cm\":1}",
         false},
        {"container count differs", T_LARVA, LV("true", "[" C_JAR "]", ""), T_LARVA,
         LV("true", "[" C_JAR "," C_DRUM "]", ""), false},
        {"actions absent vs empty", T_LARVA, LV("true", "[" C_JAR "]", ""), T_LARVA,
         LV("true", "[" C_JAR "]", ",\"actions\":[]"), false},
        {"note quote vs backslash", T_LARVA, LV("true", "[" C_JAR "]", ",\"note\":\"a\\\"\""),
         T_LARVA, LV("true", "[" C_JAR "]", ",\"note\":\"a\\\\\""), false},
    };
    char a[MSG_CANONICAL_MAX];
    char b[MSG_CANONICAL_MAX];

    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        const struct canon_pair *p = &pairs[i];
        int ra = canonical_of(p->topic_a, p->a, a, sizeof(a));
        int rb = canonical_of(p->topic_b, p->b, b, sizeof(b));

        TEST_CHECK(ra == MSG_OK && rb == MSG_OK);
        TEST_MSG("%s: %s | %s", p->name, a, b);
        TEST_CHECK((strcmp(a, b) == 0) == p->same);
        TEST_MSG("%s: expected %s:\n    %s\n    %s", p->name, p->same ? "equal" : "different", a,
                 b);
    }
}

static void test_canonical_rejects_bad_input(void)
{
    struct msg_event ev;
    char out[16];
    size_t len = 0;

    memset(&ev, 0, sizeof(ev));
    ev.stream = MSG_STREAM_ACK;
    TEST_CHECK(msg_event_canonical(&ev, out, sizeof(out), &len) == MSG_ERR_INVAL);
    ev.stream = MSG_STREAM_FLOOD;
    snprintf(ev.device_id, sizeof(ev.device_id), "%s", "gw");
    TEST_CHECK(msg_event_canonical(&ev, out, sizeof(out), &len) == MSG_ERR_FULL);
}

/* ---- encoders and round trips ---- */

static void fill_envelope(struct msg_event *ev, enum msg_stream s, uint64_t seq)
{
    memset(ev, 0, sizeof(*ev));
    ev->stream = s;
    snprintf(ev->device_id, sizeof(ev->device_id), "%s", "dev-01");
    snprintf(ev->env.store_id, sizeof(ev->env.store_id), "%s",
             "6f1c2b0e-9a57-4d1e-8d0c-3a1f2e4b5c6d");
    ev->env.seq = seq;
    ev->env.ts_ms = INT64_C(1770779700123);
    ev->env.clock_synced = true;
    ev->env.replay = true;
    ev->env.has_boot = true;
    ev->env.boot = 0;
    ev->env.has_mono = true;
    ev->env.mono_ms = MSG_SEQ_MAX;
}

/* One event per stream, every optional member set, awkward values. */
static void sample_events(struct msg_event ev[6])
{
    fill_envelope(&ev[0], MSG_STREAM_FLOOD, 1);
    snprintf(ev[0].u.flood.station, sizeof(ev[0].u.flood.station), "%s", "p2c-kali-bekasi");
    ev[0].u.flood.has_level = true;
    ev[0].u.flood.level_cm = 0.1;
    ev[0].u.flood.has_discharge = true;
    ev[0].u.flood.discharge_m3s = 1e-300;
    ev[0].u.flood.has_distance = true;
    ev[0].u.flood.distance_cm = 10000;
    ev[0].u.flood.offset_cm = -10000;
    ev[0].u.flood.has_rise = true;
    ev[0].u.flood.rise_cm_h = -1.0 / 3.0;
    ev[0].u.flood.has_rain = true;
    ev[0].u.flood.rain_mm = 999.9999999999999;
    ev[0].u.flood.has_battery = true;
    ev[0].u.flood.battery_v = 12.61;

    fill_envelope(&ev[1], MSG_STREAM_TRAFFIC, 2);
    snprintf(ev[1].u.traffic.station, sizeof(ev[1].u.traffic.station), "%s", "cam-1");
    ev[1].u.traffic.interval_s = 3600;
    snprintf(ev[1].u.traffic.lane, sizeof(ev[1].u.traffic.lane), "%s", "north.bound_1-2");
    ev[1].u.traffic.counts[MSG_VCLASS_MOTORCYCLE] = 1000000;
    ev[1].u.traffic.counts[MSG_VCLASS_CAR] = 0;
    ev[1].u.traffic.counts[MSG_VCLASS_BUS] = -1;
    ev[1].u.traffic.counts[MSG_VCLASS_TRUCK] = 11;
    ev[1].u.traffic.counts[MSG_VCLASS_NONMOTOR] = -1;
    ev[1].u.traffic.has_speed = true;
    ev[1].u.traffic.speed_kmh = 23.5;
    ev[1].u.traffic.has_occupancy = true;
    ev[1].u.traffic.occupancy_pct = 100;
    ev[1].u.traffic.has_queue = true;
    ev[1].u.traffic.queue_m = 0;

    fill_envelope(&ev[2], MSG_STREAM_INCIDENT, 3);
    snprintf(ev[2].u.incident.station, sizeof(ev[2].u.incident.station), "%s", "cam-1");
    snprintf(ev[2].u.incident.event, sizeof(ev[2].u.incident.event), "%s", "Ev:1.2_3-x");
    ev[2].u.incident.state = MSG_INCIDENT_END;
    ev[2].u.incident.type = MSG_INCIDENT_WRONG_WAY;
    ev[2].u.incident.start_ms = 0;
    ev[2].u.incident.has_end = true;
    ev[2].u.incident.end_ms = INT64_C(4102444799999);
    ev[2].u.incident.has_confidence = true;
    ev[2].u.incident.confidence = 1;
    snprintf(ev[2].u.incident.snapshot, sizeof(ev[2].u.incident.snapshot), "%s",
             "s3://b/\"quoted\" \\ back\xc3\xa9\xf0\x9f\x8c\x8a");
    snprintf(ev[2].u.incident.lane, sizeof(ev[2].u.incident.lane), "%s", "w");

    fill_envelope(&ev[3], MSG_STREAM_LARVA, 4);
    snprintf(ev[3].u.larva.inspector, sizeof(ev[3].u.larva.inspector), "%s", "Ibu S\xc3\xa9ti");
    ev[3].u.larva.building = MSG_BUILDING_INSTITUTION;
    snprintf(ev[3].u.larva.kelurahan, sizeof(ev[3].u.larva.kelurahan), "%s", "32.75.12.1004");
    ev[3].u.larva.rw = 999;
    ev[3].u.larva.rt = 1;
    snprintf(ev[3].u.larva.address, sizeof(ev[3].u.larva.address), "%s", "Jl. \"A\" 1/2");
    ev[3].u.larva.has_gps = true;
    ev[3].u.larva.lat = -11;
    ev[3].u.larva.lon = 141;
    ev[3].u.larva.larvae_found = true;
    ev[3].u.larva.n_containers = MSG_LARVA_CONTAINERS_MAX;   /* every type and location */
    for (int i = 0; i < MSG_LARVA_CONTAINERS_MAX; i++) {
        struct msg_container *c = &ev[3].u.larva.containers[i];

        c->type = (enum msg_container_type)(14 - i / 2);
        c->location = (enum msg_container_location)(i % 2);
        c->inspected = 1000 - i;
        c->positive = i == 29 ? 3 : 0;
    }
    ev[3].u.larva.has_actions = true;
    ev[3].u.larva.actions = (1u << MSG_ACTION_COUNT) - 1;
    snprintf(ev[3].u.larva.note, sizeof(ev[3].u.larva.note), "%s", "n");

    fill_envelope(&ev[4], MSG_STREAM_DROPPED, MSG_SEQ_MAX);
    ev[4].u.dropped.reason = MSG_DROP_CORRUPT;
    ev[4].u.dropped.n_ranges = MSG_DROPPED_RANGES_MAX;
    for (int i = 0; i < MSG_DROPPED_RANGES_MAX; i++) {
        ev[4].u.dropped.ranges[i].first = (uint64_t)i * 10 + 1;
        ev[4].u.dropped.ranges[i].last = (uint64_t)i * 10 + (i == 99 ? 1000 : 5);
    }

    memset(&ev[5], 0, sizeof(ev[5]));
    ev[5].stream = MSG_STREAM_STATUS;
    snprintf(ev[5].device_id, sizeof(ev[5].device_id), "%s", "dev-01");
    ev[5].u.status.state = MSG_STATE_OFFLINE;
    ev[5].u.status.conn = MSG_SEQ_MAX;
    snprintf(ev[5].u.status.store_id, sizeof(ev[5].u.status.store_id), "%s",
             "0b8e6f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b");
    ev[5].u.status.ts_ms = 1;
    ev[5].u.status.clock_synced = false;
    snprintf(ev[5].u.status.agent, sizeof(ev[5].u.status.agent), "%s", "pantau-agent 0.1.0");
    ev[5].u.status.has_backlog = true;
    ev[5].u.status.backlog = 12;
    ev[5].u.status.has_rejected = true;
    ev[5].u.status.has_dropped = true;
    ev[5].u.status.dropped = MSG_SEQ_MAX;
    ev[5].u.status.has_stations = true;
    ev[5].u.status.n_stations = MSG_STATUS_STATIONS_MAX;
    for (int i = 0; i < MSG_STATUS_STATIONS_MAX; i++) {
        snprintf(ev[5].u.status.stations[i].id, sizeof(ev[5].u.status.stations[i].id),
                 "station-%02d", i);
        ev[5].u.status.stations[i].online = i % 3 == 0;
    }
}

static void test_encode_parse_round_trip_every_stream(void)
{
    struct msg_event *ev = calloc(6, sizeof(*ev));
    struct msg_event *back = malloc(sizeof(*back));
    char *p1 = malloc(MSG_PAYLOAD_MAX + 1);
    char *p2 = malloc(MSG_PAYLOAD_MAX + 1);
    char c1[MSG_CANONICAL_MAX];
    char c2[MSG_CANONICAL_MAX];
    char topic[MSG_TOPIC_MAX + 1];
    char err[MSG_ERRLEN];

    if (!TEST_CHECK(ev != NULL && back != NULL && p1 != NULL && p2 != NULL)) {
        goto out;
    }
    sample_events(ev);
    for (int i = 0; i < 6; i++) {
        size_t l1 = 0;
        size_t l2 = 0;
        size_t cl1 = 0;
        size_t cl2 = 0;
        int rc;

        err[0] = '\0';
        TEST_CHECK(msg_event_encode(&ev[i], p1, MSG_PAYLOAD_MAX + 1, &l1) == MSG_OK);
        TEST_CHECK(l1 == strlen(p1));
        TEST_CHECK(msg_topic_format(topic, sizeof(topic), ev[i].stream, ev[i].device_id) ==
                   MSG_OK);
        rc = msg_event_parse(topic, strlen(topic), p1, l1, back, err, sizeof(err));
        TEST_CHECK(rc == MSG_OK);
        TEST_MSG("%s: %s\n    %s", msg_stream_name(ev[i].stream), err, p1);
        TEST_CHECK(msg_event_validate(&ev[i], err, sizeof(err)) == MSG_OK);
        TEST_MSG("validate %s: %s", msg_stream_name(ev[i].stream), err);
        /* same content, same replay, and the payload reads back to the same bytes */
        TEST_CHECK(msg_event_canonical(&ev[i], c1, sizeof(c1), &cl1) == MSG_OK);
        TEST_CHECK(msg_event_canonical(back, c2, sizeof(c2), &cl2) == MSG_OK);
        TEST_CHECK(cl1 == cl2 && strcmp(c1, c2) == 0);
        TEST_MSG("%s:\n    %s\n    %s", msg_stream_name(ev[i].stream), c1, c2);
        TEST_CHECK(back->env.replay == ev[i].env.replay);
        TEST_CHECK(msg_event_encode(back, p2, MSG_PAYLOAD_MAX + 1, &l2) == MSG_OK);
        TEST_CHECK(l1 == l2 && memcmp(p1, p2, l1) == 0);
        TEST_MSG("%s:\n    %s\n    %s", msg_stream_name(ev[i].stream), p1, p2);
    }
    /* field by field for a few members the canonical form spells differently */
    TEST_CHECK(msg_event_encode(&ev[0], p1, MSG_PAYLOAD_MAX + 1, NULL) == MSG_OK);
    TEST_CHECK(msg_event_parse("pantau/v1/dev-01/flood", 22, p1, strlen(p1), back, err,
                               sizeof(err)) == MSG_OK);
    TEST_CHECK(back->u.flood.rise_cm_h == -1.0 / 3.0);
    TEST_CHECK(back->u.flood.discharge_m3s == 1e-300);
    TEST_CHECK(back->env.mono_ms == MSG_SEQ_MAX && back->env.boot == 0 && back->env.has_boot);
    TEST_CHECK(strstr(p1, "\"level_cm\":0.1,") != NULL);   /* shortest spelling on the wire */
    TEST_MSG("%s", p1);
out:
    free(ev);
    free(back);
    free(p1);
    free(p2);
}

static void test_round_trip_of_protocol_examples(void)
{
    static const struct {
        const char *topic;
        const char *payload;
    } examples[] = {
        {T_FLOOD, "{\"store\":\"0b8e6f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b\",\"seq\":7,\"ts\":"
                  "\"2026-02-11T03:15:00.000Z\",\"clock_synced\":true,\"replay\":true,\"station\":"
                  "\"bendung-bekasi\",\"discharge_m3s\":312.4,\"x_vendor_fw\":\"2.4.1\"}"},
        {T_LARVA, "{\"store\":\"9d8c7b6a-5f4e-4d3c-8b2a-19f8e7d6c5b4\",\"seq\":312,\"ts\":"
                  "\"1970-01-01T00:04:31.000Z\",\"clock_synced\":false,\"replay\":true,\"boot\":12,"
                  "\"mono_ms\":271000,\"inspector\":\"jmt-0412\",\"building\":\"public_place\","
                  "\"kelurahan\":\"32.75.07.1007\",\"rw\":1,\"rt\":2,\"larvae_found\":false,"
                  "\"containers\":[]}"},
        {T_STATUS, "{\"state\":\"offline\",\"conn\":17,\"store\":" STORE ",\"ts\":"
                   "\"2026-02-11T03:00:01.500Z\",\"clock_synced\":true}"},
    };
    struct msg_event ev;
    struct msg_event back;
    char p[MSG_PAYLOAD_MAX + 1];
    char c1[MSG_CANONICAL_MAX];
    char c2[MSG_CANONICAL_MAX];
    char err[MSG_ERRLEN] = "";
    size_t len = 0;

    for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) {
        TEST_CHECK(parse_text(examples[i].topic, examples[i].payload, &ev, err) == MSG_OK);
        TEST_MSG("%s", err);
        TEST_CHECK(msg_event_encode(&ev, p, sizeof(p), &len) == MSG_OK);
        TEST_CHECK(parse_text(examples[i].topic, p, &back, err) == MSG_OK);
        TEST_CHECK(msg_event_canonical(&ev, c1, sizeof(c1), NULL) == MSG_OK);
        TEST_CHECK(msg_event_canonical(&back, c2, sizeof(c2), NULL) == MSG_OK);
        TEST_CHECK(strcmp(c1, c2) == 0);
        TEST_MSG("%s\n    %s", c1, c2);
    }
    TEST_CHECK(ev.stream == MSG_STREAM_STATUS && ev.u.status.state == MSG_STATE_OFFLINE);
    TEST_CHECK(strcmp(p, "{\"state\":\"offline\",\"conn\":17,\"store\":" STORE ",\"ts\":"
                         "\"2026-02-11T03:00:01.500Z\",\"clock_synced\":true}") == 0);
    TEST_MSG("%s", p);
}

static void test_status_encode_alone(void)
{
    struct msg_event ev[6];
    char a[MSG_PAYLOAD_MAX + 1];
    char b[MSG_PAYLOAD_MAX + 1];
    size_t la = 0;
    size_t lb = 0;

    sample_events(ev);
    TEST_CHECK(msg_status_encode(&ev[5].u.status, a, sizeof(a), &la) == MSG_OK);
    TEST_CHECK(msg_event_encode(&ev[5], b, sizeof(b), &lb) == MSG_OK);
    TEST_CHECK(la == lb && strcmp(a, b) == 0);
    TEST_CHECK(strstr(a, "\"rejected\":0,") != NULL);
    TEST_CHECK(strstr(a, "\"station-00\":\"online\",\"station-01\":\"offline\"") != NULL);
    TEST_MSG("%s", a);
}

static void test_encode_errors(void)
{
    struct msg_event ev[6];
    char small[64];
    char buf[MSG_PAYLOAD_MAX + 1];
    char err[MSG_ERRLEN] = "";
    size_t len = 0;

    sample_events(ev);
    TEST_CHECK(msg_event_encode(&ev[0], small, sizeof(small), &len) == MSG_ERR_FULL);
    TEST_CHECK(small[0] == '\0');
    ev[2].u.incident.type = (enum msg_incident_type)7;
    TEST_CHECK(msg_event_encode(&ev[2], buf, sizeof(buf), &len) == MSG_ERR_INVAL);
    ev[0].u.flood.level_cm = NAN;
    TEST_CHECK(msg_event_encode(&ev[0], buf, sizeof(buf), &len) == MSG_ERR_INVAL);
    ev[1].stream = MSG_STREAM_HEALTH;
    TEST_CHECK(msg_event_encode(&ev[1], buf, sizeof(buf), &len) == MSG_ERR_INVAL);
    ev[3].u.larva.actions = 1u << MSG_ACTION_COUNT;
    TEST_CHECK(msg_event_encode(&ev[3], buf, sizeof(buf), &len) == MSG_ERR_INVAL);
    memset(ev[4].env.store_id, 'a', sizeof(ev[4].env.store_id));   /* no NUL */
    TEST_CHECK(msg_event_encode(&ev[4], buf, sizeof(buf), &len) == MSG_ERR_INVAL);

    /* validate reports the member, as the parser would */
    sample_events(ev);
    ev[0].u.flood.level_cm = 200000;
    TEST_CHECK(msg_event_validate(&ev[0], err, sizeof(err)) == MSG_ERR_SCHEMA);
    TEST_CHECK(strstr(err, "level_cm: 200000 out of range") != NULL);
    TEST_MSG("%s", err);
    sample_events(ev);
    ev[3].u.larva.larvae_found = false;
    TEST_CHECK(msg_event_validate(&ev[3], err, sizeof(err)) == MSG_ERR_SCHEMA);
    TEST_CHECK(strstr(err, "larvae_found: false, but containers[29]") != NULL);
    TEST_MSG("%s", err);
    sample_events(ev);
    snprintf(ev[0].device_id, sizeof(ev[0].device_id), "%s", "Bad");
    TEST_CHECK(msg_event_validate(&ev[0], err, sizeof(err)) == MSG_ERR_TOPIC);
}

static void test_enum_names(void)
{
    TEST_CHECK(strcmp(msg_vclass_name(MSG_VCLASS_NONMOTOR), "nonmotor") == 0);
    TEST_CHECK(strcmp(msg_incident_state_name(MSG_INCIDENT_UPDATE), "update") == 0);
    TEST_CHECK(strcmp(msg_incident_type_name(MSG_INCIDENT_ILLEGAL_PARKING), "illegal_parking") ==
               0);
    TEST_CHECK(strcmp(msg_building_name(MSG_BUILDING_PUBLIC_PLACE), "public_place") == 0);
    TEST_CHECK(strcmp(msg_container_type_name(MSG_CONTAINER_COCONUT_SHELL), "coconut_shell") ==
               0);
    TEST_CHECK(strcmp(msg_container_location_name(MSG_LOCATION_OUTDOOR), "outdoor") == 0);
    TEST_CHECK(strcmp(msg_action_name(MSG_ACTION_REPELLENT), "repellent") == 0);
    TEST_CHECK(strcmp(msg_drop_reason_name(MSG_DROP_MAX_AGE), "max_age") == 0);
    TEST_CHECK(strcmp(msg_state_name(MSG_STATE_OFFLINE), "offline") == 0);
    TEST_CHECK(strcmp(msg_action_name((enum msg_action)9), "?") == 0);
    TEST_CHECK(strcmp(msg_state_name((enum msg_state)-1), "?") == 0);
}

TEST_LIST = {
    {"envelope_members", test_envelope_members},
    {"members_unknown_extension_duplicate", test_members_unknown_extension_duplicate},
    {"flood_members", test_flood_members},
    {"traffic_members", test_traffic_members},
    {"incident_members", test_incident_members},
    {"larva_members", test_larva_members},
    {"dropped_members", test_dropped_members},
    {"status_members", test_status_members},
    {"payload_level_errors", test_payload_level_errors},
    {"payload_size_limit_8192", test_payload_size_limit},
    {"flood_output_fields", test_flood_output_fields},
    {"other_streams_output_fields", test_other_streams_output_fields},
    {"from_json_checks_a_lenient_tree", test_from_json_checks_a_lenient_tree},
    {"canonical_form_equivalence_and_difference", test_canonical_form},
    {"canonical_rejects_bad_input", test_canonical_rejects_bad_input},
    {"encode_parse_round_trip_every_stream", test_encode_parse_round_trip_every_stream},
    {"round_trip_of_protocol_examples", test_round_trip_of_protocol_examples},
    {"status_encode_alone", test_status_encode_alone},
    {"encode_errors", test_encode_errors},
    {"enum_names", test_enum_names},
    {NULL, NULL},
};
