/* test_devacl_refusal.c -- unit tests of broker-plugins/devacl.c for issue 9 item 13: a device's
 * PUBLISH refused for its topic or its identity is passed on pantau/v1/_sys/rejected (category
 * `topic` or `identity`, `device` the username and never the topic's device, the payload whole)
 * within the one budget of refusals per user that refused status payloads use too; refused
 * subscriptions and deliveries, and other roles' refusals, are not; the counters `forwarded`
 * and `not_forwarded` count them; and the sweep does not hand a disabled account a fresh budget.
 * The ACL callback is called directly against a registry cache with known accounts
 * (policy_fixture.h) and the stubbed broker (mosquitto_stubs.c), which keeps the last publish. */
#include <stdio.h>
#include <string.h>

#include "devacl.h"
#include "mosquitto_stubs.h"
#include "msg_rejected.h"
#include "plugin_module.h"
#include "policy_fixture.h"
#include "tinytest.h"

#define FLOOD                                                                     \
    "{\"store\":\"6f1c2b0e-9a57-4d1e-8d0c-3a1f2e4b5c6d\",\"seq\":7,"              \
    "\"ts\":\"2026-02-11T03:15:00.000Z\",\"clock_synced\":true,\"replay\":false," \
    "\"station\":\"st-1\",\"level_cm\":637.5}"
#define STATUS_BAD                                                                         \
    "{\"state\":\"online\",\"conn\":0,\"store\":\"6f1c2b0e-9a57-4d1e-8d0c-3a1f2e4b5c6d\"," \
    "\"ts\":\"2026-02-11T03:00:01.500Z\",\"clock_synced\":true}"

static const char registry[] = "A gw-1 device device_key 1 gw-1 flood_gateway 1 h1\n"
                               "A gw-2 device device_key 1 gw-2 flood_gateway 1 h2\n"
                               "A gw-3 device device_key 1 gw-3 flood_gateway 1 h6\n"
                               "A collector-1 collector password 1 - - 1 h3\n"
                               "A dash-1 dashboard password 1 - - 1 h4\n"
                               "A gw-off device device_key 0 gw-off flood_gateway 1 h5\n";

struct started {
    struct policy_fixture f;
    void *state;
    MOSQ_FUNC_generic_callback acl;
    MOSQ_FUNC_generic_callback tick;
    void *acl_ud;
    void *tick_ud;
};

static int start(struct started *s, const char *rate)
{
    struct mosquitto_opt opts[] = {{(char *)"rejected_rate", (char *)rate}};
    char err[MSG_ERRLEN] = "";

    memset(s, 0, sizeof(*s));
    stub_reset();
    if (policy_fixture_new(&s->f, registry) != 0) {
        return -1;
    }
    if (plugin_module_devacl.start(&s->state, NULL, s->f.rc, opts, 1, err, sizeof(err)) !=
        MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "devacl start: %s\n", err);
        policy_fixture_free(&s->f);
        return -1;
    }
    s->acl = stub_callback(MOSQ_EVT_ACL_CHECK, &s->acl_ud);
    s->tick = stub_callback(MOSQ_EVT_TICK, &s->tick_ud);
    return s->acl != NULL && s->tick != NULL ? 0 : -1;
}

static void stop(struct started *s)
{
    plugin_module_devacl.stop(s->state, NULL);
    policy_fixture_free(&s->f);
}

struct ask {
    const char *id; /* NULL: the username */
    const char *user;
    int access;
    const char *topic;
    const char *payload;
    int qos;
    bool retain;
    bool session_kept;
};

static int acl(struct started *s, const struct ask *q)
{
    struct mosquitto *c = stub_client_new(q->id != NULL ? q->id : q->user, q->user);
    struct mosquitto_evt_acl_check ed;
    int rc;

    if (q->session_kept) {
        stub_client_keep_session(c);
    }
    memset(&ed, 0, sizeof(ed));
    ed.client = c;
    ed.access = q->access;
    ed.topic = q->topic;
    ed.payload = q->payload;
    ed.payloadlen = q->payload != NULL ? (uint32_t)strlen(q->payload) : 0;
    ed.qos = (uint8_t)q->qos;
    ed.retain = q->retain;
    rc = s->acl(MOSQ_EVT_ACL_CHECK, &ed, s->acl_ud);
    stub_client_free(c);
    return rc;
}

static void tick(struct started *s)
{
    struct mosquitto_evt_tick t;

    memset(&t, 0, sizeof(t));
    s->tick(MOSQ_EVT_TICK, &t, s->tick_ud);
}

/* The last publish as a rejected message (parsed into *r); false if it is none. */
static bool last_rejected(struct msg_rejected *r)
{
    char err[MSG_ERRLEN] = "";

    if (strcmp(stub.last_topic, "pantau/v1/_sys/rejected") != 0) {
        return false;
    }
    if (msg_rejected_parse(stub.last_payload, strlen(stub.last_payload), r, err, sizeof(err)) !=
        MSG_OK) {
        TEST_MSG("rejected message does not parse: %s", err);
        return false;
    }
    return true;
}

static void test_topic_and_identity_refusals_are_forwarded_9_13(void)
{
    static const struct {
        const char *name;
        struct ask q;
        const char *category;
        const char *device;
        const char *reason; /* text the reason contains */
    } rows[] = {
        {"a stream its kind may not publish",
         {NULL, "gw-1", MOSQ_ACL_WRITE, "pantau/v1/gw-1/traffic", FLOOD, 1, false, false},
         "topic",
         "gw-1",
         "may not publish traffic"},
        {"another device's topic: the sender is named, not the topic's device",
         {NULL, "gw-1", MOSQ_ACL_WRITE, "pantau/v1/gw-2/flood", FLOOD, 1, false, false},
         "identity",
         "gw-1",
         "belongs to device 'gw-2'"},
        {"a topic outside section 3",
         {NULL, "gw-1", MOSQ_ACL_WRITE, "pantau/v1/gw-1/rain", FLOOD, 1, false, false},
         "topic",
         "gw-1",
         "unknown stream"},
        {"a device publishing on an ack topic",
         {NULL, "gw-1", MOSQ_ACL_WRITE, "pantau/v1/gw-1/ack", "{}", 1, false, false},
         "topic",
         "gw-1",
         "ack"},
        {"a retained reading",
         {NULL, "gw-1", MOSQ_ACL_WRITE, "pantau/v1/gw-1/flood", FLOOD, 1, true, false},
         "topic",
         "gw-1",
         "retained"},
        {"QoS 0",
         {NULL, "gw-1", MOSQ_ACL_WRITE, "pantau/v1/gw-1/flood", FLOOD, 0, false, false},
         "topic",
         "gw-1",
         "QoS 1 only"},
        {"Clean Start 0",
         {NULL, "gw-1", MOSQ_ACL_WRITE, "pantau/v1/gw-1/flood", FLOOD, 1, false, true},
         "identity",
         "gw-1",
         "Clean Start 1"},
        {"a disabled account",
         {NULL, "gw-off", MOSQ_ACL_WRITE, "pantau/v1/gw-off/flood", FLOOD, 1, false, false},
         "identity",
         "gw-off",
         "disabled"},
        {"an account that does not exist (a TLS identity)",
         {NULL, "gw-9", MOSQ_ACL_WRITE, "pantau/v1/gw-9/flood", FLOOD, 1, false, false},
         "identity",
         "gw-9",
         "no such account"},
        {"a client id that is not the username",
         {"gw-2", "gw-3", MOSQ_ACL_WRITE, "pantau/v1/gw-3/flood", FLOOD, 1, false, false},
         "identity",
         "gw-3",
         "client id"},
    };
    struct started s;
    struct msg_rejected r;
    int n = (int)(sizeof(rows) / sizeof(rows[0]));

    if (!TEST_CHECK(start(&s, "1/h burst 50") == 0)) {
        return;
    }
    for (int i = 0; i < n; i++) {
        int before = stub.n_publishes;

        TEST_CHECK(acl(&s, &rows[i].q) == MOSQ_ERR_ACL_DENIED);
        TEST_CHECK(stub.n_publishes == before + 1);
        TEST_MSG("%s: %d publishes", rows[i].name, stub.n_publishes - before);
        if (!TEST_CHECK(last_rejected(&r))) {
            TEST_MSG("%s: last publish on '%s'", rows[i].name, stub.last_topic);
            continue;
        }
        TEST_CHECK(r.has_category &&
                   strcmp(msg_rejected_category_name(r.category), rows[i].category) == 0);
        TEST_MSG("%s: category %s", rows[i].name,
                 r.has_category ? msg_rejected_category_name(r.category) : "(none)");
        TEST_CHECK(strcmp(r.device, rows[i].device) == 0);
        TEST_MSG("%s: device %s", rows[i].name, r.device);
        TEST_CHECK(strcmp(r.topic, rows[i].q.topic) == 0);
        TEST_CHECK(strstr(r.reason, rows[i].reason) != NULL);
        TEST_MSG("%s: reason '%s'", rows[i].name, r.reason);
        TEST_CHECK(r.payload_len == strlen(rows[i].q.payload) &&
                   memcmp(r.payload, rows[i].q.payload, r.payload_len) == 0);
        TEST_CHECK(r.has_size && r.size == strlen(rows[i].q.payload) && r.has_sha256);
    }
    tick(&s);
    TEST_CHECK(strstr(stub.last_payload, "\"forwarded\":10,\"not_forwarded\":0") != NULL);
    TEST_MSG("counters: %s", stub.last_payload);
    stop(&s);
}

static void test_what_is_not_forwarded_9_13(void)
{
    static const struct ask asks[] = {
        /* subscriptions and deliveries are not messages of the device */
        {NULL, "gw-1", MOSQ_ACL_SUBSCRIBE, "pantau/v1/gw-2/ack", NULL, 1, false, false},
        {NULL, "gw-1", MOSQ_ACL_READ, "pantau/v1/gw-2/ack", NULL, 1, false, false},
        {NULL, "gw-off", MOSQ_ACL_SUBSCRIBE, "pantau/v1/gw-off/ack", NULL, 1, false, false},
        {NULL, "gw-1", MOSQ_ACL_SUBSCRIBE, "pantau/v1/gw-1/ack", NULL, 1, false, true},
        /* other roles' refused publishes */
        {NULL, "collector-1", MOSQ_ACL_WRITE, "pantau/v1/gw-1/flood", FLOOD, 1, false, false},
        {NULL, "dash-1", MOSQ_ACL_WRITE, "pantau/v1/gw-1/flood", FLOOD, 1, false, false},
        /* a username that is not an id cannot be a rejected message's device */
        {NULL, "gw/1", MOSQ_ACL_WRITE, "pantau/v1/gw-1/flood", FLOOD, 1, false, false},
    };
    struct started s;

    if (!TEST_CHECK(start(&s, "1/h burst 50") == 0)) {
        return;
    }
    for (size_t i = 0; i < sizeof(asks) / sizeof(asks[0]); i++) {
        TEST_CHECK(acl(&s, &asks[i]) == MOSQ_ERR_ACL_DENIED);
        TEST_CHECK(stub.n_publishes == 0);
        TEST_MSG("ask %zu (%s on %s) published on '%s'", i, asks[i].user, asks[i].topic,
                 stub.last_topic);
    }
    tick(&s);
    TEST_CHECK(strstr(stub.last_payload, "\"forwarded\":0,\"not_forwarded\":0") != NULL);
    TEST_MSG("counters: %s", stub.last_payload);
    stop(&s);
}

static void test_one_budget_per_user_9_13(void)
{
    const struct ask status_bad = {NULL,       "gw-1", MOSQ_ACL_WRITE, "pantau/v1/gw-1/status",
                                   STATUS_BAD, 1,      true,           false};
    const struct ask stream = {NULL,  "gw-1", MOSQ_ACL_WRITE, "pantau/v1/gw-1/traffic",
                               FLOOD, 1,      false,          false};
    const struct ask foreign = {NULL,  "gw-1", MOSQ_ACL_WRITE, "pantau/v1/gw-2/flood",
                                FLOOD, 1,      false,          false};
    const struct ask other = {NULL,  "gw-2", MOSQ_ACL_WRITE, "pantau/v1/gw-1/flood",
                              FLOOD, 1,      false,          false};
    struct started s;
    struct msg_rejected r;

    if (!TEST_CHECK(start(&s, "1/h burst 2") == 0)) {
        return;
    }
    /* a refused status and a refused topic take from the same budget of gw-1 */
    TEST_CHECK(acl(&s, &status_bad) == MOSQ_ERR_ACL_DENIED);
    TEST_CHECK(acl(&s, &stream) == MOSQ_ERR_ACL_DENIED);
    TEST_CHECK(stub.n_publishes == 2);
    /* the device retries: counted, not forwarded */
    for (int i = 0; i < 20; i++) {
        TEST_CHECK(acl(&s, &foreign) == MOSQ_ERR_ACL_DENIED);
        TEST_CHECK(acl(&s, &stream) == MOSQ_ERR_ACL_DENIED);
    }
    TEST_CHECK(stub.n_publishes == 2);
    TEST_MSG("%d publishes", stub.n_publishes);
    /* gw-2 has its own */
    TEST_CHECK(acl(&s, &other) == MOSQ_ERR_ACL_DENIED);
    TEST_CHECK(stub.n_publishes == 3);
    TEST_CHECK(last_rejected(&r) && strcmp(r.device, "gw-2") == 0);
    tick(&s);
    TEST_CHECK(strstr(stub.last_payload, "\"forwarded\":3,\"not_forwarded\":40") != NULL);
    TEST_MSG("counters: %s", stub.last_payload);
    stop(&s);
}

/* The sweep forgot the entries of disabled or unknown accounts at once, so such a client (a TLS
 * identity is never refused at CONNECT) had a fresh budget after every sweep. */
static void test_sweep_keeps_the_budget_of_a_disabled_account_9_13(void)
{
    const struct ask off = {NULL,  "gw-off", MOSQ_ACL_WRITE, "pantau/v1/gw-off/flood",
                            FLOOD, 1,        false,          false};
    const struct ask gone = {NULL,  "gw-9", MOSQ_ACL_WRITE, "pantau/v1/gw-9/flood",
                             FLOOD, 1,      false,          false};
    struct started s;
    int before;

    if (!TEST_CHECK(start(&s, "1/h burst 1") == 0)) {
        return;
    }
    TEST_CHECK(acl(&s, &off) == MOSQ_ERR_ACL_DENIED);
    TEST_CHECK(acl(&s, &gone) == MOSQ_ERR_ACL_DENIED);
    TEST_CHECK(stub.n_publishes == 2);
    tick(&s); /* the first tick sweeps (and publishes the counters) */
    before = stub.n_publishes;
    TEST_CHECK(acl(&s, &off) == MOSQ_ERR_ACL_DENIED);
    TEST_CHECK(acl(&s, &gone) == MOSQ_ERR_ACL_DENIED);
    TEST_CHECK(stub.n_publishes == before);
    TEST_MSG("%d forwarded after the sweep", stub.n_publishes - before);
    stop(&s);
}

TEST_LIST = {
    {"topic_and_identity_refusals_are_forwarded_9_13",
     test_topic_and_identity_refusals_are_forwarded_9_13},
    {"what_is_not_forwarded_9_13", test_what_is_not_forwarded_9_13},
    {"one_budget_per_user_9_13", test_one_budget_per_user_9_13},
    {"sweep_keeps_the_budget_of_a_disabled_account_9_13",
     test_sweep_keeps_the_budget_of_a_disabled_account_9_13},
    {NULL, NULL},
};
