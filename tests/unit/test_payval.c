/* test_payval.c -- unit tests of broker-plugins/payval.c: the content check (payval_check:
 * validator, station binding and kind by msg_binding_check), and the module's message hook called
 * directly with hand-built events against a registry cache with known accounts
 * (policy_fixture.h) and stubbed broker functions (mosquitto_stubs.c): rate limits, refused
 * messages forwarded within the device's budget, counters. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mosquitto_stubs.h"
#include "msg_rejected.h"
#include "payval.h"
#include "plugin_module.h"
#include "policy_fixture.h"
#include "tinytest.h"

#define STORE "\"store\":\"6f1c2b0e-9a57-4d1e-8d0c-3a1f2e4b5c6d\""
#define FLOOD(seq, ts, station)                                                            \
    "{" STORE ",\"seq\":" seq ",\"ts\":\"" ts "\",\"clock_synced\":true,\"replay\":false," \
    "\"station\":\"" station "\",\"level_cm\":637.5}"
#define FLOOD_UNSYNCED(seq, ts, station)                                                    \
    "{" STORE ",\"seq\":" seq ",\"ts\":\"" ts "\",\"clock_synced\":false,\"replay\":false," \
    "\"boot\":3,\"mono_ms\":5000,\"station\":\"" station "\",\"level_cm\":637.5}"
#define LARVA                                                                                   \
    "{\"store\":\"9d8c7b6a-5f4e-4d3c-8b2a-19f8e7d6c5b4\",\"seq\":312,"                          \
    "\"ts\":\"1970-01-01T00:04:31.000Z\",\"clock_synced\":false,\"replay\":true,"               \
    "\"inspector\":\"jmt-0412\",\"building\":\"public_place\",\"kelurahan\":\"32.75.07.1007\"," \
    "\"rw\":1,\"rt\":2,\"larvae_found\":false,\"containers\":[]}"
#define STATUS_OK                                                                      \
    "{\"state\":\"online\",\"conn\":17," STORE ",\"ts\":\"2026-02-11T03:00:01.500Z\"," \
    "\"clock_synced\":true}"

/* gw-1 is bound to p2c since ever, to old-st from 2000-01-01 to 2020-01-01 only, to camera
 * cam-1 since ever and to new-st from 2026-01-01 on; gw-3's binding comes from a snapshot of
 * an older broker (no station kind). */
static const char registry[] = "A gw-1 device device_key 1 gw-1 flood_gateway 1 h1\n"
                               "A gw-2 device device_key 1 gw-2 flood_gateway 1 h2\n"
                               "A hh-1 device device_key 1 hh-1 handheld 1 h3\n"
                               "A collector-1 collector password 1 - - 1 h4\n"
                               "A gw-3 device device_key 1 gw-3 flood_gateway 1 h5\n"
                               "B gw-1 p2c - - flood_gauge\n"
                               "B gw-1 old-st 946684800000 1577836800000 flood_gauge\n"
                               "B gw-1 cam-1 - - traffic_camera\n"
                               "B gw-1 new-st 1767225600000 - flood_gauge\n"
                               "B gw-2 p2c - - flood_gauge\n"
                               "B gw-3 p2c - -\n";

struct check_row {
    const char *name;
    const char *user;
    const char *topic;
    const char *payload;
    enum payval_reason want;
    const char *err;
};

static const struct check_row check_rows[] = {
    {"valid flood", "gw-1", "pantau/v1/gw-1/flood", FLOOD("1", "2026-02-11T03:15:00.000Z", "p2c"),
     PAYVAL_OK, NULL},
    {"station not bound", "gw-1", "pantau/v1/gw-1/flood",
     FLOOD("2", "2026-02-11T03:15:00.000Z", "other-st"), PAYVAL_STATION,
     "station: 'other-st' is not bound to device 'gw-1' at 2026-02-11T03:15:00.000Z"},
    {"station bound only in the past", "gw-1", "pantau/v1/gw-1/flood",
     FLOOD("3", "2026-02-11T03:15:00.000Z", "old-st"), PAYVAL_STATION, "'old-st'"},
    {"a reading from when it was bound", "gw-1", "pantau/v1/gw-1/flood",
     FLOOD("4", "2010-06-01T00:00:00.000Z", "old-st"), PAYVAL_OK, NULL},
    {"bound until just before ts (to is exclusive)", "gw-1", "pantau/v1/gw-1/flood",
     FLOOD("5", "2020-01-01T00:00:00.000Z", "old-st"), PAYVAL_STATION, "old-st"},
    {"another device's station", "gw-2", "pantau/v1/gw-2/flood",
     FLOOD("6", "2026-02-11T03:15:00.000Z", "old-st"), PAYVAL_STATION, "gw-2"},
    /* issue 9 item 1: an unsynchronised reading is judged at the time received (2026-02-11
     * here), not at its ts from an unset clock */
    {"issue9 unsynced 1970 reading of a bound station", "gw-1", "pantau/v1/gw-1/flood",
     FLOOD_UNSYNCED("10", "1970-01-01T00:00:00.000Z", "new-st"), PAYVAL_OK, NULL},
    {"issue9 synced reading before the binding", "gw-1", "pantau/v1/gw-1/flood",
     FLOOD("11", "2025-12-31T23:59:59.999Z", "new-st"), PAYVAL_STATION,
     "station: 'new-st' is not bound to device 'gw-1' at 2025-12-31T23:59:59.999Z (its ts)"},
    {"issue9 unsynced reading of a station bound only in the past", "gw-1",
     "pantau/v1/gw-1/flood", FLOOD_UNSYNCED("12", "2010-06-01T00:00:00.000Z", "old-st"),
     PAYVAL_STATION, "at 2026-02-11T03:15:00.000Z (the time received"},
    {"issue9 flood reading for a camera", "gw-1", "pantau/v1/gw-1/flood",
     FLOOD("13", "2026-02-11T03:15:00.000Z", "cam-1"), PAYVAL_STATION,
     "station: 'cam-1' is a traffic camera, not a station for flood readings"},
    {"station kind unknown (an older snapshot)", "gw-3", "pantau/v1/gw-3/flood",
     FLOOD("14", "2026-02-11T03:15:00.000Z", "p2c"), PAYVAL_STATION, "of unknown kind"},
    {"unknown member", "gw-1", "pantau/v1/gw-1/flood",
     "{" STORE ",\"seq\":7,\"ts\":\"2026-02-11T03:18:00.000Z\",\"clock_synced\":true,"
     "\"replay\":false,\"station\":\"p2c\",\"levl_cm\":650}",
     PAYVAL_SCHEMA, "levl_cm: unknown member"},
    {"not JSON", "gw-1", "pantau/v1/gw-1/flood", "{\"store\":", PAYVAL_JSON, ""},
    {"empty", "gw-1", "pantau/v1/gw-1/flood", "", PAYVAL_JSON, ""},
    {"larva has a kelurahan, no station", "hh-1", "pantau/v1/hh-1/larva", LARVA, PAYVAL_OK, NULL},
    {"status", "gw-1", "pantau/v1/gw-1/status", STATUS_OK, PAYVAL_OK, NULL},
    {"ack topic is not a device message", "gw-1", "pantau/v1/gw-1/ack", "{}", PAYVAL_TOPIC, ""},
};

static void test_check(void)
{
    struct policy_fixture f;

    if (!TEST_CHECK(policy_fixture_new(&f, registry) == 0)) {
        return;
    }
    for (size_t i = 0; i < sizeof(check_rows) / sizeof(check_rows[0]); i++) {
        const struct check_row *w = &check_rows[i];
        const struct regcache_account *a = regcache_find(f.rc, w->user);
        char err[MSG_ERRLEN] = "";
        enum payval_reason got;

        if (!TEST_CHECK(a != NULL)) {
            continue;
        }
        got = payval_check(a, w->topic, w->payload, strlen(w->payload),
                           INT64_C(1770779700000) /* 2026-02-11T03:15:00.000Z */, err,
                           sizeof(err));
        TEST_CHECK(got == w->want);
        TEST_MSG("%s: got %s (%s), want %s", w->name, payval_reason_name(got), err,
                 payval_reason_name(w->want));
        if (w->want != PAYVAL_OK) {
            TEST_CHECK(strstr(err, w->err) != NULL && err[0] != '\0');
            TEST_MSG("%s: err '%s' should say '%s'", w->name, err, w->err);
        }
    }
    policy_fixture_free(&f);
}

/* ---- the message hook ------------------------------------------------------------------ */

struct started {
    struct policy_fixture f;
    void *state;
    MOSQ_FUNC_generic_callback msg;
    MOSQ_FUNC_generic_callback tick;
    void *msg_ud;
    void *tick_ud;
};

static int start(struct started *s, struct mosquitto_opt *opts, int n)
{
    char err[MSG_ERRLEN] = "";
    int rc;

    memset(s, 0, sizeof(*s));
    stub_reset();
    if (policy_fixture_new(&s->f, registry) != 0) {
        return -1;
    }
    rc = plugin_module_payval.start(&s->state, NULL, s->f.rc, opts, n, err, sizeof(err));
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "payval start: %s\n", err);
        policy_fixture_free(&s->f);
        return -1;
    }
    s->msg = stub_callback(MOSQ_EVT_MESSAGE, &s->msg_ud);
    s->tick = stub_callback(MOSQ_EVT_TICK, &s->tick_ud);
    return s->msg != NULL && s->tick != NULL ? 0 : -1;
}

static void stop(struct started *s)
{
    plugin_module_payval.stop(s->state, NULL);
    TEST_CHECK(stub_callback(MOSQ_EVT_MESSAGE, &s->msg_ud) == NULL);
    policy_fixture_free(&s->f);
}

static int publish(struct started *s, const char *user, const char *topic, const void *payload,
                   size_t len)
{
    struct mosquitto *c = stub_client_new(user, user);
    struct mosquitto_evt_message ed;
    char topic_buf[256];
    int rc;

    snprintf(topic_buf, sizeof(topic_buf), "%s", topic);
    memset(&ed, 0, sizeof(ed));
    ed.client = c;
    ed.topic = topic_buf;
    ed.payload = (void *)payload;
    ed.payloadlen = (uint32_t)len;
    ed.qos = 1;
    rc = s->msg(MOSQ_EVT_MESSAGE, &ed, s->msg_ud);
    stub_client_free(c);
    return rc;
}

static int publish_str(struct started *s, const char *user, const char *topic, const char *payload)
{
    return publish(s, user, topic, payload, strlen(payload));
}

static void counters(struct started *s)
{
    struct mosquitto_evt_tick tick;

    memset(&tick, 0, sizeof(tick));
    s->tick(MOSQ_EVT_TICK, &tick, s->tick_ud);
}

static void test_rate_limit(void)
{
    struct mosquitto_opt opts[] = {{(char *)"rate_flood_gateway", (char *)"1/h burst 3"}};
    struct started s;
    int accepted = 0;

    if (!TEST_CHECK(start(&s, opts, 1) == 0)) {
        return;
    }
    for (int i = 0; i < 5; i++) {
        accepted += publish_str(&s, "gw-1", "pantau/v1/gw-1/flood",
                                FLOOD("1", "2026-02-11T03:15:00.000Z", "p2c")) == MOSQ_ERR_SUCCESS;
    }
    TEST_CHECK(accepted == 3);
    TEST_MSG("accepted %d of 5", accepted);
    TEST_CHECK(stub.n_publishes == 0); /* over the rate: not forwarded */
    TEST_CHECK(stub_logged("payval: refused message by device=gw-1 on 'pantau/v1/gw-1/flood': "
                           "over 0.000277778/s burst 3 (rate_limit)"));
    /* another device has its own bucket; the handheld its kind's (default) rate */
    TEST_CHECK(publish_str(&s, "gw-2", "pantau/v1/gw-2/flood",
                           FLOOD("1", "2026-02-11T03:15:00.000Z", "p2c")) == MOSQ_ERR_SUCCESS);
    TEST_CHECK(publish_str(&s, "hh-1", "pantau/v1/hh-1/larva", LARVA) == MOSQ_ERR_SUCCESS);
    /* a collector's messages are not ours */
    TEST_CHECK(publish_str(&s, "collector-1", "pantau/v1/gw-1/ack", "{}") == MOSQ_ERR_SUCCESS);
    counters(&s);
    TEST_CHECK(strcmp(stub.last_topic, "$SYS/pantau/payval") == 0 && stub.last_retain);
    TEST_CHECK(strstr(stub.last_payload, "\"accepted\":5,") != NULL);
    TEST_CHECK(strstr(stub.last_payload, "\"other\":1,") != NULL);
    TEST_CHECK(strstr(stub.last_payload, "\"refused\":2,") != NULL);
    TEST_CHECK(strstr(stub.last_payload, "\"rate_limit\":2") != NULL);
    TEST_CHECK(strstr(stub.last_payload, "\"devices\":3") != NULL);
    TEST_MSG("counters: %s", stub.last_payload);
    /* every member, in order (issue 10: one writer for the three modules keeps these bytes) */
    TEST_CHECK(strcmp(stub_payload_fixed(),
                      "{\"module\":\"payval\",\"ts\":\"TS\",\"accepted\":5,\"other\":1,"
                      "\"refused\":2,\"refused_by_reason\":{\"rate_limit\":2,\"topic\":0,\"json\":0,"
                      "\"schema\":0,\"station\":0,\"internal\":0},\"forwarded\":0,"
                      "\"not_forwarded\":0,\"log_suppressed\":0,\"devices\":3,"
                      "\"devices_evicted\":0}") == 0);
    TEST_MSG("fixed: %s", stub_payload_fixed());
    stop(&s);
}

static void test_refused_forwarded_within_budget(void)
{
    struct mosquitto_opt opts[] = {{(char *)"rejected_rate", (char *)"1/h burst 2"}};
    const char *bad = FLOOD("9", "2026-02-11T03:15:00.000Z", "old-st");
    struct started s;
    struct msg_rejected r;
    char err[MSG_ERRLEN] = "";

    if (!TEST_CHECK(start(&s, opts, 1) == 0)) {
        return;
    }
    TEST_CHECK(publish_str(&s, "gw-1", "pantau/v1/gw-1/flood", bad) == MOSQ_ERR_ACL_DENIED);
    TEST_CHECK(stub.n_publishes == 1);
    TEST_CHECK(strcmp(stub.last_topic, "pantau/v1/_sys/rejected") == 0 && !stub.last_retain);
    TEST_CHECK(msg_rejected_parse(stub.last_payload, strlen(stub.last_payload), &r, err,
                                  sizeof(err)) == MSG_OK);
    TEST_MSG("%s", err);
    TEST_CHECK(strcmp(r.device, "gw-1") == 0);
    TEST_CHECK(strcmp(r.topic, "pantau/v1/gw-1/flood") == 0);
    TEST_CHECK(strstr(r.reason, "station: 'old-st' is not bound") != NULL);
    TEST_MSG("reason '%s'", r.reason);
    TEST_CHECK(r.payload_len == strlen(bad) && memcmp(r.payload, bad, r.payload_len) == 0);
    /* the same bad message twice more: one more forwarded, then over the budget */
    TEST_CHECK(publish_str(&s, "gw-1", "pantau/v1/gw-1/flood", bad) == MOSQ_ERR_ACL_DENIED);
    TEST_CHECK(publish_str(&s, "gw-1", "pantau/v1/gw-1/flood", bad) == MOSQ_ERR_ACL_DENIED);
    TEST_CHECK(stub.n_publishes == 2);
    /* gw-2's budget is its own */
    TEST_CHECK(publish_str(&s, "gw-2", "pantau/v1/gw-2/flood", "nonsense") == MOSQ_ERR_ACL_DENIED);
    TEST_CHECK(stub.n_publishes == 3);
    counters(&s);
    TEST_CHECK(strstr(stub.last_payload, "\"station\":3") != NULL);
    TEST_CHECK(strstr(stub.last_payload, "\"json\":1") != NULL);
    TEST_CHECK(strstr(stub.last_payload, "\"forwarded\":3,") != NULL);
    TEST_CHECK(strstr(stub.last_payload, "\"not_forwarded\":1,") != NULL);
    TEST_MSG("counters: %s", stub.last_payload);
    stop(&s);
}

static void test_oversized_payload_is_cut(void)
{
    static char big[9000];
    struct started s;
    struct msg_rejected r;
    char err[MSG_ERRLEN] = "";

    if (!TEST_CHECK(start(&s, NULL, 0) == 0)) {
        return;
    }
    memset(big, ' ', sizeof(big));
    big[0] = '{';
    big[sizeof(big) - 1] = '}';
    TEST_CHECK(publish(&s, "gw-1", "pantau/v1/gw-1/flood", big, sizeof(big)) ==
               MOSQ_ERR_ACL_DENIED);
    if (!TEST_CHECK(stub.n_publishes == 1)) {
        goto out;
    }
    TEST_CHECK(msg_rejected_parse(stub.last_payload, strlen(stub.last_payload), &r, err,
                                  sizeof(err)) == MSG_OK);
    TEST_MSG("%s", err);
    TEST_CHECK(r.payload_len == 8192);
    TEST_CHECK(strstr(r.reason, "cut to its first 8192 of 9000 bytes") != NULL);
    TEST_MSG("reason '%s'", r.reason);
out:
    stop(&s);
}

/* A device whose buckets have refilled holds nothing worth keeping: the sweep forgets it. */
static void test_idle_devices_are_forgotten(void)
{
    struct mosquitto_opt opts[] = {{(char *)"rate_flood_gateway", (char *)"1/s burst 1"},
                                   {(char *)"stats_interval", (char *)"1"}};
    struct started s;
    struct timespec t0;
    struct timespec t;
    bool gone = false;

    if (!TEST_CHECK(start(&s, opts, 2) == 0)) {
        return;
    }
    TEST_CHECK(publish_str(&s, "gw-1", "pantau/v1/gw-1/flood",
                           FLOOD("1", "2026-02-11T03:15:00.000Z", "p2c")) == MOSQ_ERR_SUCCESS);
    counters(&s);
    TEST_CHECK(strstr(stub.last_payload, "\"devices\":1") != NULL);
    TEST_MSG("counters: %s", stub.last_payload);
    /* the bucket refills in a second (so the check above cannot race the sweep, however
     * loaded the machine); the sweep runs every 100 ms and forgets full buckets: poll the
     * counters, with a deadline */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        nanosleep(&(struct timespec){0, 10000000}, NULL); /* poll every 10 ms */
        counters(&s);
        gone = strstr(stub.last_payload, "\"devices\":0") != NULL;
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while (!gone && t.tv_sec - t0.tv_sec < 5);
    TEST_CHECK(gone);
    TEST_MSG("counters: %s", stub.last_payload);
    stop(&s);
}

/* mosquitto hands an empty payload as NULL with length 0 */
static void test_empty_payload_is_refused_and_passed_on(void)
{
    struct started s;
    struct msg_rejected r;
    char err[MSG_ERRLEN] = "";

    if (!TEST_CHECK(start(&s, NULL, 0) == 0)) {
        return;
    }
    TEST_CHECK(publish(&s, "gw-1", "pantau/v1/gw-1/flood", NULL, 0) == MOSQ_ERR_ACL_DENIED);
    TEST_CHECK(publish(&s, "gw-1", "pantau/v1/gw-1/status", NULL, 0) == MOSQ_ERR_ACL_DENIED);
    TEST_CHECK(stub.n_publishes == 2);
    TEST_MSG("%d publishes", stub.n_publishes);
    if (stub.n_publishes > 0) {
        TEST_CHECK(msg_rejected_parse(stub.last_payload, strlen(stub.last_payload), &r, err,
                                      sizeof(err)) == MSG_OK);
        TEST_MSG("%s: %s", err, stub.last_payload);
        TEST_CHECK(r.payload_len == 0 && strstr(r.reason, "empty payload") != NULL);
    }
    stop(&s);
}

static void test_start_bad_options(void)
{
    struct mosquitto_opt bad_rate[] = {{(char *)"rate_handheld", (char *)"fast"}};
    struct mosquitto_opt bad_devices[] = {{(char *)"devices_max", (char *)"0"}};
    struct mosquitto_opt bad_interval[] = {{(char *)"stats_interval", (char *)"0"}};
    struct policy_fixture f;
    char err[MSG_ERRLEN] = "";
    void *state = NULL;

    stub_reset();
    if (!TEST_CHECK(policy_fixture_new(&f, registry) == 0)) {
        return;
    }
    TEST_CHECK(plugin_module_payval.start(&state, NULL, f.rc, bad_rate, 1, err, sizeof(err)) !=
               MOSQ_ERR_SUCCESS);
    TEST_CHECK(strstr(err, "plugin_opt_rate_handheld") != NULL);
    TEST_MSG("err '%s'", err);
    TEST_CHECK(plugin_module_payval.start(&state, NULL, f.rc, bad_devices, 1, err, sizeof(err)) !=
               MOSQ_ERR_SUCCESS);
    TEST_CHECK(strstr(err, "plugin_opt_devices_max") != NULL);
    TEST_CHECK(state == NULL);
    /* issue 10: the one option reader's words, as devauth and devacl say them */
    TEST_CHECK(strcmp(err, "plugin_opt_devices_max: 0 out of range 1..1000000") == 0);
    TEST_MSG("err '%s'", err);
    TEST_CHECK(plugin_module_payval.start(&state, NULL, f.rc, bad_interval, 1, err, sizeof(err)) !=
               MOSQ_ERR_SUCCESS);
    TEST_CHECK(strcmp(err, "plugin_opt_stats_interval: 0 out of range 1..86400") == 0);
    TEST_MSG("err '%s'", err);
    TEST_CHECK(state == NULL);
    TEST_CHECK(stub_callback(MOSQ_EVT_MESSAGE, &state) == NULL);
    policy_fixture_free(&f);
}

static void test_keys_are_listed(void)
{
    static const char *const want[] = {"rate_flood_gateway", "rate_traffic_gateway",
                                       "rate_handheld",      "rejected_rate",
                                       "stats_interval",     "devices_max"};

    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        bool found = false;

        for (const struct conf_key *k = plugin_module_payval.options; k->key != NULL; k++) {
            found = found || strcmp(k->key, want[i]) == 0;
        }
        TEST_CHECK(found);
        TEST_MSG("%s is not listed (plugin.c would refuse it)", want[i]);
    }
}

TEST_LIST = {
    {"check", test_check},
    {"rate_limit", test_rate_limit},
    {"refused_forwarded_within_budget", test_refused_forwarded_within_budget},
    {"oversized_payload_is_cut", test_oversized_payload_is_cut},
    {"idle_devices_are_forgotten", test_idle_devices_are_forgotten},
    {"empty_payload_is_refused_and_passed_on", test_empty_payload_is_refused_and_passed_on},
    {"start_bad_options", test_start_bad_options},
    {"keys_are_listed", test_keys_are_listed},
    {NULL, NULL},
};
