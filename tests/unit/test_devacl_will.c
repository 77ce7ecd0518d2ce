/* test_devacl_will.c -- unit tests of broker-plugins/devacl.c for issue 9 items 8 and 12: a
 * device publishes at QoS 1 only and connects with Clean Start 1 (devacl_decide and the ACL
 * callback), and a last will on a reading stream, told from a PUBLISH by the order of events
 * (WRITE check, then the message hook for a PUBLISH; WRITE check, then the deliveries' READ
 * checks for a will), is judged by payval_check and the will budget at its first delivery. The
 * callbacks are called directly, in the order mosquitto 2.0.11 calls them, against a registry
 * cache with known accounts (policy_fixture.h) and the stubbed broker (mosquitto_stubs.c). */
#include <stdio.h>
#include <string.h>

#include "devacl.h"
#include "mosquitto_stubs.h"
#include "msg_rejected.h"
#include "plugin_module.h"
#include "policy_fixture.h"
#include "tinytest.h"

#define FLOOD_TOPIC "pantau/v1/gw-1/flood"
#define FLOOD_OK                                                                  \
    "{\"store\":\"6f1c2b0e-9a57-4d1e-8d0c-3a1f2e4b5c6d\",\"seq\":1,"              \
    "\"ts\":\"2026-02-11T03:15:00.000Z\",\"clock_synced\":true,\"replay\":false," \
    "\"station\":\"st-1\",\"level_cm\":637.5}"
#define FLOOD_BAD "{\"levl_cm\":650}"
#define STATUS_TOPIC "pantau/v1/gw-1/status"
#define STATUS_OFF                                                                           \
    "{\"state\":\"offline\",\"conn\":17,\"store\":\"6f1c2b0e-9a57-4d1e-8d0c-3a1f2e4b5c6d\"," \
    "\"ts\":\"2026-02-11T03:00:01.500Z\",\"clock_synced\":true}"

static const char registry[] = "A gw-1 device device_key 1 gw-1 flood_gateway 1 h1\n"
                               "A collector-1 collector password 1 - - 1 h3\n"
                               "A collector-2 collector password 1 - - 1 h4\n"
                               "B gw-1 st-1 - - flood_gauge\n";

/* ---- the rules ------------------------------------------------------------------------- */

static struct regcache_account gw;
static struct regcache_account col;

static void make_accounts(void)
{
    memset(&gw, 0, sizeof(gw));
    snprintf(gw.username, sizeof(gw.username), "gw-1");
    snprintf(gw.device_id, sizeof(gw.device_id), "gw-1");
    gw.role = REGCACHE_ROLE_DEVICE;
    gw.enabled = true;
    gw.kind = MSG_KIND_FLOOD_GATEWAY;
    memset(&col, 0, sizeof(col));
    snprintf(col.username, sizeof(col.username), "collector-1");
    col.role = REGCACHE_ROLE_COLLECTOR;
    col.enabled = true;
}

static enum devacl_reason decide(const struct regcache_account *a, int access, const char *topic,
                                 int qos, bool session_kept, char *err, size_t errlen)
{
    struct devacl_request req;

    memset(&req, 0, sizeof(req));
    req.username = a->username;
    req.client_id = a->username;
    req.access = access;
    req.topic = topic;
    req.payload = "{}";
    req.payloadlen = 2;
    req.qos = qos;
    req.session_kept = session_kept;
    return devacl_decide(&req, a, err, errlen);
}

static void test_device_publishes_at_qos_1_only_9_8(void)
{
    char err[MSG_ERRLEN] = "";

    make_accounts();
    TEST_CHECK(decide(&gw, MOSQ_ACL_WRITE, FLOOD_TOPIC, 1, false, err, sizeof(err)) == DEVACL_OK);
    TEST_CHECK(decide(&gw, MOSQ_ACL_WRITE, FLOOD_TOPIC, 0, false, err, sizeof(err)) == DEVACL_QOS);
    TEST_CHECK(strstr(err, "QoS 1 only, not QoS 0") != NULL);
    TEST_MSG("err '%s'", err);
    TEST_CHECK(decide(&gw, MOSQ_ACL_WRITE, FLOOD_TOPIC, 2, false, err, sizeof(err)) == DEVACL_QOS);
    TEST_CHECK(strstr(err, "not QoS 2") != NULL);
    TEST_CHECK(decide(&gw, MOSQ_ACL_WRITE, "pantau/v1/gw-1/status", 0, false, err, sizeof(err)) ==
               DEVACL_QOS);
    /* the topic's own faults are named first */
    TEST_CHECK(decide(&gw, MOSQ_ACL_WRITE, "pantau/v1/gw-2/flood", 0, false, err, sizeof(err)) ==
               DEVACL_FOREIGN);
    /* a collector's acknowledgements go at QoS 0 (protocol.md 3) */
    TEST_CHECK(decide(&col, MOSQ_ACL_WRITE, "pantau/v1/gw-1/ack", 0, false, err, sizeof(err)) ==
               DEVACL_OK);
    TEST_MSG("err '%s'", err);
    /* a READ check carries the delivery's QoS, which is not the device's choice */
    TEST_CHECK(decide(&gw, MOSQ_ACL_READ, "pantau/v1/gw-1/ack", 0, false, err, sizeof(err)) ==
               DEVACL_OK);
    TEST_CHECK(strcmp(devacl_reason_name(DEVACL_QOS), "qos") == 0);
}

static void test_device_with_clean_start_0_may_do_nothing_9_8(void)
{
    char err[MSG_ERRLEN] = "";
    const int access[] = {MOSQ_ACL_WRITE, MOSQ_ACL_SUBSCRIBE, MOSQ_ACL_READ};
    const char *topic[] = {FLOOD_TOPIC, "pantau/v1/gw-1/ack", "pantau/v1/gw-1/ack"};

    make_accounts();
    for (int i = 0; i < 3; i++) {
        TEST_CHECK(decide(&gw, access[i], topic[i], 1, true, err, sizeof(err)) == DEVACL_SESSION);
        TEST_CHECK(strstr(err, "Clean Start 1") != NULL);
        TEST_MSG("access %d: err '%s'", access[i], err);
    }
    /* collectors are not bound by this rule here */
    TEST_CHECK(decide(&col, MOSQ_ACL_WRITE, "pantau/v1/gw-1/ack", 0, true, err, sizeof(err)) ==
               DEVACL_OK);
    TEST_CHECK(strcmp(devacl_reason_name(DEVACL_SESSION), "session") == 0);
    TEST_CHECK(strcmp(devacl_reason_name(DEVACL_WILL_RATE), "will_rate") == 0);
}

/* ---- the callbacks ------------------------------------------------------------------------ */

struct started {
    struct policy_fixture f;
    void *state;
    MOSQ_FUNC_generic_callback acl;
    MOSQ_FUNC_generic_callback message;
    MOSQ_FUNC_generic_callback tick;
    void *acl_ud;
    void *message_ud;
    void *tick_ud;
};

static int start(struct started *s, struct mosquitto_opt *opts, int n)
{
    char err[MSG_ERRLEN] = "";

    memset(s, 0, sizeof(*s));
    stub_reset();
    if (policy_fixture_new(&s->f, registry) != 0) {
        return -1;
    }
    if (plugin_module_devacl.start(&s->state, NULL, s->f.rc, opts, n, err, sizeof(err)) !=
        MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "devacl start: %s\n", err);
        policy_fixture_free(&s->f);
        return -1;
    }
    s->acl = stub_callback(MOSQ_EVT_ACL_CHECK, &s->acl_ud);
    s->message = stub_callback(MOSQ_EVT_MESSAGE, &s->message_ud);
    s->tick = stub_callback(MOSQ_EVT_TICK, &s->tick_ud);
    return s->acl != NULL && s->message != NULL && s->tick != NULL ? 0 : -1;
}

static void stop(struct started *s)
{
    plugin_module_devacl.stop(s->state, NULL);
    TEST_CHECK(stub_callback(MOSQ_EVT_MESSAGE, &s->message_ud) == NULL);
    policy_fixture_free(&s->f);
}

static int acl(struct started *s, const char *user, bool session_kept, int access, int qos,
               const char *topic, const char *payload)
{
    struct mosquitto *c = stub_client_new(user, user);
    struct mosquitto_evt_acl_check ed;
    int rc;

    if (session_kept) {
        stub_client_keep_session(c);
    }
    memset(&ed, 0, sizeof(ed));
    ed.client = c;
    ed.access = access;
    ed.topic = topic;
    ed.payload = payload;
    ed.payloadlen = (uint32_t)strlen(payload);
    ed.qos = (uint8_t)qos;
    rc = s->acl(MOSQ_EVT_ACL_CHECK, &ed, s->acl_ud);
    stub_client_free(c);
    return rc;
}

/* mosquitto's handle__publish after an allowed WRITE check */
static void message(struct started *s, const char *user, const char *topic, const char *payload)
{
    struct mosquitto *c = stub_client_new(user, user);
    struct mosquitto_evt_message ed;

    memset(&ed, 0, sizeof(ed));
    ed.client = c;
    ed.topic = (char *)topic;
    ed.payload = (void *)payload;
    ed.payloadlen = (uint32_t)strlen(payload);
    ed.qos = 1;
    TEST_CHECK(s->message(MOSQ_EVT_MESSAGE, &ed, s->message_ud) == MOSQ_ERR_SUCCESS);
    stub_client_free(c);
}

static void tick(struct started *s)
{
    struct mosquitto_evt_tick t;

    memset(&t, 0, sizeof(t));
    s->tick(MOSQ_EVT_TICK, &t, s->tick_ud);
}

static void test_callback_refuses_qos_0_and_kept_sessions_9_8(void)
{
    struct started s;

    if (!TEST_CHECK(start(&s, NULL, 0) == 0)) {
        return;
    }
    TEST_CHECK(acl(&s, "gw-1", false, MOSQ_ACL_WRITE, 1, FLOOD_TOPIC, FLOOD_OK) ==
               MOSQ_ERR_SUCCESS);
    TEST_CHECK(acl(&s, "gw-1", false, MOSQ_ACL_WRITE, 0, FLOOD_TOPIC, FLOOD_OK) ==
               MOSQ_ERR_ACL_DENIED);
    TEST_CHECK(stub_logged("QoS 1 only, not QoS 0 (protocol.md 1) (qos)"));
    TEST_CHECK(acl(&s, "gw-1", true, MOSQ_ACL_WRITE, 1, FLOOD_TOPIC, FLOOD_OK) ==
               MOSQ_ERR_ACL_DENIED);
    TEST_CHECK(acl(&s, "gw-1", true, MOSQ_ACL_SUBSCRIBE, 1, "pantau/v1/gw-1/ack", "") ==
               MOSQ_ERR_ACL_DENIED);
    tick(&s);
    TEST_CHECK(strstr(stub.last_payload, "\"qos\":1,\"session\":2,") != NULL);
    TEST_MSG("counters: %s", stub.last_payload);
    stop(&s);
}

static void test_invalid_will_on_a_reading_stream_is_refused_at_delivery_9_12(void)
{
    struct started s;
    struct msg_rejected r;
    char err[MSG_ERRLEN] = "";

    if (!TEST_CHECK(start(&s, NULL, 0) == 0)) {
        return;
    }
    /* a PUBLISH: WRITE, message hook, deliveries. devacl lets it through (payval judges it) */
    TEST_CHECK(acl(&s, "gw-1", false, MOSQ_ACL_WRITE, 1, FLOOD_TOPIC, FLOOD_BAD) ==
               MOSQ_ERR_SUCCESS);
    message(&s, "gw-1", FLOOD_TOPIC, FLOOD_BAD);
    TEST_CHECK(acl(&s, "collector-1", false, MOSQ_ACL_READ, 1, FLOOD_TOPIC, FLOOD_BAD) ==
               MOSQ_ERR_SUCCESS);
    TEST_CHECK(stub.n_publishes == 0);
    /* a will: WRITE, then straight to the deliveries */
    TEST_CHECK(acl(&s, "gw-1", false, MOSQ_ACL_WRITE, 1, FLOOD_TOPIC, FLOOD_BAD) ==
               MOSQ_ERR_SUCCESS);
    TEST_CHECK(acl(&s, "collector-1", false, MOSQ_ACL_READ, 1, FLOOD_TOPIC, FLOOD_BAD) ==
               MOSQ_ERR_ACL_DENIED);
    TEST_CHECK(acl(&s, "collector-2", false, MOSQ_ACL_READ, 1, FLOOD_TOPIC, FLOOD_BAD) ==
               MOSQ_ERR_ACL_DENIED);
    TEST_CHECK(stub_logged("devacl: denied publish by user=gw-1 on 'pantau/v1/gw-1/flood': "
                           "last will: levl_cm"));
    /* passed on once, as a refused status is */
    TEST_CHECK(stub.n_publishes == 1);
    TEST_CHECK(strcmp(stub.last_topic, "pantau/v1/_sys/rejected") == 0);
    TEST_CHECK(msg_rejected_parse(stub.last_payload, strlen(stub.last_payload), &r, err,
                                  sizeof(err)) == MSG_OK);
    TEST_CHECK(strcmp(r.device, "gw-1") == 0 && strcmp(r.topic, FLOOD_TOPIC) == 0);
    TEST_CHECK(strstr(r.reason, "last will") != NULL);
    TEST_CHECK(r.payload_len == strlen(FLOOD_BAD) &&
               memcmp(r.payload, FLOOD_BAD, r.payload_len) == 0);
    /* a tick ends a pending will: what follows is no will's delivery */
    TEST_CHECK(acl(&s, "gw-1", false, MOSQ_ACL_WRITE, 1, FLOOD_TOPIC, FLOOD_BAD) ==
               MOSQ_ERR_SUCCESS);
    tick(&s);
    TEST_CHECK(acl(&s, "collector-1", false, MOSQ_ACL_READ, 1, FLOOD_TOPIC, FLOOD_BAD) ==
               MOSQ_ERR_SUCCESS);
    tick(&s);
    TEST_CHECK(strstr(stub.last_payload, "\"payload\":1,") != NULL);
    TEST_CHECK(strstr(stub.last_payload, "\"forwarded\":1,") != NULL);
    TEST_CHECK(strstr(stub.last_payload, "\"wills_judged\":1}") != NULL);
    TEST_MSG("counters: %s", stub.last_payload);
    stop(&s);
}

static void test_wills_are_bounded_by_the_budgets_9_12(void)
{
    struct mosquitto_opt opts[] = {{(char *)"will_rate", (char *)"1/h burst 2"},
                                   {(char *)"rejected_rate", (char *)"1/h burst 3"}};
    struct started s;
    int denied = 0;

    if (!TEST_CHECK(start(&s, opts, 2) == 0)) {
        return;
    }
    /* valid wills pass within will_rate, then are refused (not passed on: not content) */
    for (int i = 0; i < 4; i++) {
        TEST_CHECK(acl(&s, "gw-1", false, MOSQ_ACL_WRITE, 1, FLOOD_TOPIC, FLOOD_OK) ==
                   MOSQ_ERR_SUCCESS);
        denied += acl(&s, "collector-1", false, MOSQ_ACL_READ, 1, FLOOD_TOPIC, FLOOD_OK) ==
                  MOSQ_ERR_ACL_DENIED;
    }
    TEST_CHECK(denied == 2);
    TEST_MSG("%d of 4 valid wills refused", denied);
    TEST_CHECK(stub_logged("last will: over "));
    TEST_CHECK(stub.n_publishes == 0);
    /* invalid wills: every one refused, at most rejected_rate's burst passed on */
    for (int i = 0; i < 10; i++) {
        TEST_CHECK(acl(&s, "gw-1", false, MOSQ_ACL_WRITE, 1, FLOOD_TOPIC, FLOOD_BAD) ==
                   MOSQ_ERR_SUCCESS);
        TEST_CHECK(acl(&s, "collector-1", false, MOSQ_ACL_READ, 1, FLOOD_TOPIC, FLOOD_BAD) ==
                   MOSQ_ERR_ACL_DENIED);
    }
    TEST_CHECK(stub.n_publishes == 3);
    TEST_MSG("%d passed on", stub.n_publishes);
    /* a status will takes from the same budget (spent): not delivered ... */
    TEST_CHECK(acl(&s, "gw-1", false, MOSQ_ACL_WRITE, 1, STATUS_TOPIC, STATUS_OFF) ==
               MOSQ_ERR_SUCCESS);
    TEST_CHECK(acl(&s, "collector-1", false, MOSQ_ACL_READ, 1, STATUS_TOPIC, STATUS_OFF) ==
               MOSQ_ERR_ACL_DENIED);
    /* ... while a status PUBLISH (WRITE, message hook, READ) is no will */
    TEST_CHECK(acl(&s, "gw-1", false, MOSQ_ACL_WRITE, 1, STATUS_TOPIC, STATUS_OFF) ==
               MOSQ_ERR_SUCCESS);
    message(&s, "gw-1", STATUS_TOPIC, STATUS_OFF);
    TEST_CHECK(acl(&s, "collector-1", false, MOSQ_ACL_READ, 1, STATUS_TOPIC, STATUS_OFF) ==
               MOSQ_ERR_SUCCESS);
    tick(&s);
    TEST_CHECK(strstr(stub.last_payload, "\"will_rate\":3}") != NULL);
    TEST_CHECK(strstr(stub.last_payload, "\"payload\":10,") != NULL);
    TEST_CHECK(strstr(stub.last_payload, "\"not_forwarded\":7,") != NULL);
    TEST_MSG("counters: %s", stub.last_payload);
    stop(&s);
}

static void test_bad_will_rate_fails_start(void)
{
    struct mosquitto_opt bad[] = {{(char *)"will_rate", (char *)"often"}};
    struct policy_fixture f;
    char err[MSG_ERRLEN] = "";
    void *state = NULL;

    stub_reset();
    if (!TEST_CHECK(policy_fixture_new(&f, registry) == 0)) {
        return;
    }
    TEST_CHECK(plugin_module_devacl.start(&state, NULL, f.rc, bad, 1, err, sizeof(err)) !=
               MOSQ_ERR_SUCCESS);
    TEST_CHECK(strstr(err, "plugin_opt_will_rate") != NULL);
    TEST_MSG("err '%s'", err);
    TEST_CHECK(state == NULL);
    policy_fixture_free(&f);
}

TEST_LIST = {
    {"device_publishes_at_qos_1_only_9_8", test_device_publishes_at_qos_1_only_9_8},
    {"device_with_clean_start_0_may_do_nothing_9_8",
     test_device_with_clean_start_0_may_do_nothing_9_8},
    {"callback_refuses_qos_0_and_kept_sessions_9_8",
     test_callback_refuses_qos_0_and_kept_sessions_9_8},
    {"invalid_will_on_a_reading_stream_is_refused_at_delivery_9_12",
     test_invalid_will_on_a_reading_stream_is_refused_at_delivery_9_12},
    {"wills_are_bounded_by_the_budgets_9_12", test_wills_are_bounded_by_the_budgets_9_12},
    {"bad_will_rate_fails_start", test_bad_will_rate_fails_start},
    {NULL, NULL},
};
