/* test_devacl.c -- unit tests of broker-plugins/devacl.c: the rules per role (devacl_decide,
 * table-driven), and the module's callbacks called directly with hand-built events against a
 * registry cache with known accounts (policy_fixture.h) and stubbed broker functions
 * (mosquitto_stubs.c): counters, rate-limited logging, refused status payloads forwarded. */
#include <stdio.h>
#include <string.h>

#include "devacl.h"
#include "mosquitto_stubs.h"
#include "msg_rejected.h"
#include "plugin_module.h"
#include "policy_fixture.h"
#include "tinytest.h"

#define STATUS_OK                                                                           \
    "{\"state\":\"online\",\"conn\":17,\"store\":\"6f1c2b0e-9a57-4d1e-8d0c-3a1f2e4b5c6d\"," \
    "\"ts\":\"2026-02-11T03:00:01.500Z\",\"clock_synced\":true}"
#define STATUS_BAD                                                                         \
    "{\"state\":\"online\",\"conn\":0,\"store\":\"6f1c2b0e-9a57-4d1e-8d0c-3a1f2e4b5c6d\"," \
    "\"ts\":\"2026-02-11T03:00:01.500Z\",\"clock_synced\":true}"
#define HEALTH_OK                                                        \
    "{\"collector\":\"collector-1\",\"state\":\"online\",\"db\":\"up\"," \
    "\"ts\":\"2026-02-11T03:15:00.000Z\"}"
#define RESTORE_OK                                          \
    "{\"epoch\":2,\"target\":\"2026-12-07T21:20:51.660Z\"," \
    "\"restored\":\"2026-12-07T21:41:09.705Z\",\"ts\":\"2026-12-07T21:41:10.100Z\"}"
#define HEALTH_BAD                                                          \
    "{\"collector\":\"collector-1\",\"state\":\"online\",\"db\":\"maybe\"," \
    "\"ts\":\"2026-02-11T03:15:00.000Z\"}"
#define ID65 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

enum who {
    GW,
    CAM,
    HH,
    COL,
    DASH,
    ADM,
    OFF,
    GW_OFF,
    GW_ODD,
    UNIT_BPBD,
    UNIT_BAD,
    NOBODY
};

static struct regcache_account accounts[NOBODY];

static void make_accounts(void)
{
    static const struct {
        const char *user;
        enum regcache_role role;
        bool enabled;
        const char *device;
        enum msg_device_kind kind;
        const char *unit;
    } rows[NOBODY] = {
        [GW] = {"gw-1", REGCACHE_ROLE_DEVICE, true, "gw-1", MSG_KIND_FLOOD_GATEWAY, NULL},
        [CAM] = {"cam-1", REGCACHE_ROLE_DEVICE, true, "cam-1", MSG_KIND_TRAFFIC_GATEWAY, NULL},
        [HH] = {"hh-1", REGCACHE_ROLE_DEVICE, true, "hh-1", MSG_KIND_HANDHELD, NULL},
        [COL] = {"collector-1", REGCACHE_ROLE_COLLECTOR, true, "", MSG_KIND_FLOOD_GATEWAY, NULL},
        [DASH] = {"dash-1", REGCACHE_ROLE_DASHBOARD, true, "", MSG_KIND_FLOOD_GATEWAY, NULL},
        [ADM] = {"admin-1", REGCACHE_ROLE_ADMIN, true, "", MSG_KIND_FLOOD_GATEWAY, NULL},
        [OFF] = {"officer-1", REGCACHE_ROLE_OFFICER, true, "", MSG_KIND_FLOOD_GATEWAY, NULL},
        [GW_OFF] = {"gw-off", REGCACHE_ROLE_DEVICE, false, "gw-off", MSG_KIND_FLOOD_GATEWAY, NULL},
        [GW_ODD] = {"gw-odd", REGCACHE_ROLE_DEVICE, true, "gw-other", MSG_KIND_FLOOD_GATEWAY, NULL},
        [UNIT_BPBD] = {"console-bpbd", REGCACHE_ROLE_UNIT, true, "", MSG_KIND_FLOOD_GATEWAY,
                       "bpbd"},
        /* regcache never makes one (it checks the unit): devacl refuses it all the same */
        [UNIT_BAD] = {"console-bad", REGCACHE_ROLE_UNIT, true, "", MSG_KIND_FLOOD_GATEWAY, "+"},
    };

    for (int i = 0; i < NOBODY; i++) {
        memset(&accounts[i], 0, sizeof(accounts[i]));
        snprintf(accounts[i].username, sizeof(accounts[i].username), "%s", rows[i].user);
        accounts[i].role = rows[i].role;
        accounts[i].enabled = rows[i].enabled;
        snprintf(accounts[i].device_id, sizeof(accounts[i].device_id), "%s", rows[i].device);
        accounts[i].kind = rows[i].kind;
        snprintf(accounts[i].unit_id, sizeof(accounts[i].unit_id), "%s",
                 rows[i].unit != NULL ? rows[i].unit : "");
    }
}

struct row {
    const char *name;
    enum who who;
    const char *user; /* NULL: the account's username */
    int access;
    const char *topic;
    const char *payload;
    bool retain;
    enum devacl_reason want;
    const char *err; /* text err must contain (denials) */
};

#define W MOSQ_ACL_WRITE
#define R MOSQ_ACL_READ
#define S MOSQ_ACL_SUBSCRIBE
#define U MOSQ_ACL_UNSUBSCRIBE

static const struct row rows[] = {
    /* devices: publish */
    {"own flood", GW, NULL, W, "pantau/v1/gw-1/flood", "{}", false, DEVACL_OK, NULL},
    {"own dropped", GW, NULL, W, "pantau/v1/gw-1/dropped", "{}", false, DEVACL_OK, NULL},
    {"another device's topic", GW, NULL, W, "pantau/v1/gw-2/flood", "{}", false, DEVACL_FOREIGN,
     "topic belongs to device 'gw-2'"},
    {"flood gauge sends a larva report", GW, NULL, W, "pantau/v1/gw-1/larva", "{}", false,
     DEVACL_STREAM, "a flood_gateway may not publish larva"},
    {"handheld sends flood", HH, NULL, W, "pantau/v1/hh-1/flood", "{}", false, DEVACL_STREAM,
     "a handheld may not publish flood"},
    {"camera incident", CAM, NULL, W, "pantau/v1/cam-1/incident", "{}", false, DEVACL_OK, NULL},
    {"retained reading", GW, NULL, W, "pantau/v1/gw-1/flood", "{}", true, DEVACL_RETAIN,
     "only status may be retained"},
    {"retained status", GW, NULL, W, "pantau/v1/gw-1/status", STATUS_OK, true, DEVACL_OK, NULL},
    {"status (or will) with a bad payload", GW, NULL, W, "pantau/v1/gw-1/status", STATUS_BAD, true,
     DEVACL_PAYLOAD, "conn"},
    {"status (or will) that is not JSON", GW, NULL, W, "pantau/v1/gw-1/status", "offline", true,
     DEVACL_PAYLOAD, ""},
    {"will on another device's status", GW, NULL, W, "pantau/v1/gw-2/status", STATUS_OK, true,
     DEVACL_FOREIGN, "gw-2"},
    {"device publishes an ack", GW, NULL, W, "pantau/v1/gw-1/ack", "{}", false, DEVACL_TOPIC,
     "may not publish on ack"},
    {"device publishes _sys/rejected", GW, NULL, W, "pantau/v1/_sys/rejected", "{}", false,
     DEVACL_TOPIC, "rejected"},
    {"device publishes health", GW, NULL, W, "pantau/v1/_sys/health/gw-1", HEALTH_OK, true,
     DEVACL_TOPIC, "health"},
    {"topic outside the protocol", GW, NULL, W, "pantau/v1/gw-1/rain", "{}", false, DEVACL_TOPIC,
     "unknown stream"},
    {"other version", GW, NULL, W, "pantau/v2/gw-1/flood", "{}", false, DEVACL_TOPIC,
     "unknown version"},
    {"not pantau at all", GW, NULL, W, "frigate/events", "{}", false, DEVACL_TOPIC, "pantau"},
    {"device account whose username is not its device", GW_ODD, NULL, W, "pantau/v1/gw-odd/flood",
     "{}", false, DEVACL_ROLE, "not its device id"},
    /* devices: subscribe and read */
    {"own acks", GW, NULL, S, "pantau/v1/gw-1/ack", NULL, false, DEVACL_OK, NULL},
    {"another's acks", GW, NULL, S, "pantau/v1/gw-2/ack", NULL, false, DEVACL_FILTER,
     "beyond what a device may read"},
    {"every device's acks", GW, NULL, S, "pantau/v1/+/ack", NULL, false, DEVACL_FILTER, ""},
    {"everything", GW, NULL, S, "#", NULL, false, DEVACL_FILTER, ""},
    {"own topics", GW, NULL, S, "pantau/v1/gw-1/#", NULL, false, DEVACL_FILTER, ""},
    {"health of every collector", GW, NULL, S, "pantau/v1/_sys/health/+", NULL, false, DEVACL_OK,
     NULL},
    {"health of one collector", GW, NULL, S, "pantau/v1/_sys/health/collector-1", NULL, false,
     DEVACL_OK, NULL},
    {"device in a shared group", GW, NULL, S, "$share/g/pantau/v1/gw-1/ack", NULL, false,
     DEVACL_SHARE, "shared subscription"},
    {"bad filter", GW, NULL, S, "pantau/v1/gw-1/ack+", NULL, false, DEVACL_FILTER,
     "bad subscription filter"},
    {"$SYS", GW, NULL, S, "$SYS/#", NULL, false, DEVACL_FILTER, ""},
    {"read own ack", GW, NULL, R, "pantau/v1/gw-1/ack", NULL, false, DEVACL_OK, NULL},
    {"read another's ack", GW, NULL, R, "pantau/v1/gw-2/ack", NULL, false, DEVACL_TOPIC,
     "may not read"},
    {"read health", GW, NULL, R, "pantau/v1/_sys/health/collector-1", NULL, false, DEVACL_OK, NULL},
    {"restore announcement (6.3)", GW, NULL, S, "pantau/v1/_sys/restore", NULL, false, DEVACL_OK,
     NULL},
    {"read the restore announcement", GW, NULL, R, "pantau/v1/_sys/restore", NULL, false, DEVACL_OK,
     NULL},
    {"device publishes a restore", GW, NULL, W, "pantau/v1/_sys/restore", RESTORE_OK, true,
     DEVACL_TOPIC, "restore"},
    {"read readings", GW, NULL, R, "pantau/v1/gw-1/flood", NULL, false, DEVACL_TOPIC, ""},
    {"read $SYS", GW, NULL, R, "$SYS/pantau/devacl", NULL, false, DEVACL_TOPIC, ""},
    {"unsubscribe", GW, NULL, U, "#", NULL, false, DEVACL_OK, NULL},
    /* collectors */
    {"collector's shared streams", COL, NULL, S, "$share/pantau-collectors/pantau/v1/+/flood", NULL,
     false, DEVACL_OK, NULL},
    {"collector's status", COL, NULL, S, "$share/pantau-collectors/pantau/v1/+/status", NULL, false,
     DEVACL_OK, NULL},
    {"collector's rejected", COL, NULL, S, "$share/pantau-collectors/pantau/v1/_sys/rejected", NULL,
     false, DEVACL_OK, NULL},
    {"collector unshared", COL, NULL, S, "pantau/v1/+/larva", NULL, false, DEVACL_OK, NULL},
    {"collector health", COL, NULL, S, "pantau/v1/_sys/health/+", NULL, false, DEVACL_OK, NULL},
    {"collector every stream", COL, NULL, S, "pantau/v1/+/+", NULL, false, DEVACL_FILTER, ""},
    {"collector everything", COL, NULL, S, "$share/g/#", NULL, false, DEVACL_FILTER, ""},
    {"collector acks", COL, NULL, S, "pantau/v1/+/ack", NULL, false, DEVACL_FILTER, ""},
    {"collector publishes an ack", COL, NULL, W, "pantau/v1/gw-1/ack", "{}", false, DEVACL_OK,
     NULL},
    {"collector retains an ack", COL, NULL, W, "pantau/v1/gw-1/ack", "{}", true, DEVACL_RETAIN,
     "retained acknowledgement"},
    {"collector's own health", COL, NULL, W, "pantau/v1/_sys/health/collector-1", HEALTH_OK, true,
     DEVACL_OK, NULL},
    {"another collector's health", COL, NULL, W, "pantau/v1/_sys/health/collector-2", HEALTH_OK,
     true, DEVACL_FOREIGN, "collector-2"},
    {"health with a bad payload", COL, NULL, W, "pantau/v1/_sys/health/collector-1", HEALTH_BAD,
     true, DEVACL_PAYLOAD, "db"},
    {"collector announces a restore", COL, NULL, W, "pantau/v1/_sys/restore", RESTORE_OK, true,
     DEVACL_OK, NULL},
    {"restore with a bad payload", COL, NULL, W, "pantau/v1/_sys/restore",
     "{\"epoch\":0,\"target\":\"2026-12-07T21:20:51.660Z\","
     "\"restored\":\"2026-12-07T21:41:09.705Z\",\"ts\":\"2026-12-07T21:41:10.100Z\"}",
     true, DEVACL_PAYLOAD, "epoch"},
    {"collector (alertd) publishes an alert", COL, NULL, W,
     "pantau/v1/_sys/alert/bpbd/flood_level/station-katulampa", "{}", true, DEVACL_OK, NULL},
    {"collector publishes beyond an alert topic", COL, NULL, W, "pantau/v1/_sys/alert/bpbd/x", "{}",
     true, DEVACL_TOPIC, ""},
    {"device publishes an alert", GW, NULL, W,
     "pantau/v1/_sys/alert/bpbd/flood_level/station-katulampa", "{}", false, DEVACL_TOPIC, ""},
    {"collector publishes a reading", COL, NULL, W, "pantau/v1/gw-1/flood", "{}", false,
     DEVACL_TOPIC, "may not publish on flood"},
    {"collector writes _sys/rejected", COL, NULL, W, "pantau/v1/_sys/rejected", "{}", false,
     DEVACL_TOPIC, "rejected"},
    {"collector reads a reading", COL, NULL, R, "pantau/v1/gw-1/flood", NULL, false, DEVACL_OK,
     NULL},
    {"collector reads rejected", COL, NULL, R, "pantau/v1/_sys/rejected", NULL, false, DEVACL_OK,
     NULL},
    {"collector reads an ack", COL, NULL, R, "pantau/v1/gw-1/ack", NULL, false, DEVACL_TOPIC, ""},
    /* dashboards, admins, officers */
    {"dashboard status", DASH, NULL, S, "pantau/v1/+/status", NULL, false, DEVACL_OK, NULL},
    {"dashboard counters", DASH, NULL, S, "$SYS/pantau/#", NULL, false, DEVACL_OK, NULL},
    {"dashboard subscribes to a unit's alerts", DASH, NULL, S, "pantau/v1/_sys/alert/bpbd/#", NULL,
     false, DEVACL_OK, NULL},
    {"dashboard reads an alert", DASH, NULL, R,
     "pantau/v1/_sys/alert/bpbd/flood_level/station-katulampa", NULL, false, DEVACL_OK, NULL},
    {"dashboard publishes an alert", DASH, NULL, W,
     "pantau/v1/_sys/alert/bpbd/flood_level/station-katulampa", "{}", true, DEVACL_ROLE, ""},
    {"collector subscribes to the alerts", COL, NULL, S, "pantau/v1/_sys/alert/#", NULL, false,
     DEVACL_FILTER, ""},
    {"dashboard joins the collectors' group", DASH, NULL, S,
     "$share/pantau-collectors/pantau/v1/+/flood", NULL, false, DEVACL_SHARE,
     "a dashboard may not join a shared subscription"},
    {"dashboard shares status", DASH, NULL, S, "$share/x/pantau/v1/+/status", NULL, false,
     DEVACL_SHARE, ""},
    {"dashboard readings", DASH, NULL, S, "pantau/v1/+/flood", NULL, false, DEVACL_FILTER, ""},
    {"dashboard all of $SYS", DASH, NULL, S, "$SYS/#", NULL, false, DEVACL_FILTER, ""},
    {"dashboard publishes", DASH, NULL, W, "pantau/v1/gw-1/status", STATUS_OK, true, DEVACL_ROLE,
     "only reads"},
    {"dashboard reads status", DASH, NULL, R, "pantau/v1/gw-1/status", NULL, false, DEVACL_OK,
     NULL},
    {"dashboard reads rejected", DASH, NULL, R, "pantau/v1/_sys/rejected", NULL, false,
     DEVACL_TOPIC, ""},
    {"admin all of $SYS", ADM, NULL, S, "$SYS/#", NULL, false, DEVACL_OK, NULL},
    {"admin publishes", ADM, NULL, W, "$SYS/x", "1", false, DEVACL_ROLE, ""},
    {"officer", OFF, NULL, S, "pantau/v1/+/status", NULL, false, DEVACL_ROLE, "no MQTT"},
    /* a unit's console (issue 11): its own unit's alerts, nothing else */
    {"unit subscribes to its alerts", UNIT_BPBD, NULL, S, "pantau/v1/_sys/alert/bpbd/#", NULL,
     false, DEVACL_OK, NULL},
    {"unit subscribes to one kind of its alerts", UNIT_BPBD, NULL, S,
     "pantau/v1/_sys/alert/bpbd/flood_level/+", NULL, false, DEVACL_OK, NULL},
    {"unit reads its alert", UNIT_BPBD, NULL, R,
     "pantau/v1/_sys/alert/bpbd/flood_level/station-katulampa", NULL, false, DEVACL_OK, NULL},
    {"unit subscribes to another unit's alerts", UNIT_BPBD, NULL, S,
     "pantau/v1/_sys/alert/dinkes/#", NULL, false, DEVACL_FILTER, "beyond what a unit may read"},
    {"unit reads another unit's alert", UNIT_BPBD, NULL, R,
     "pantau/v1/_sys/alert/dinkes/larva_positive/area-32.75.01", NULL, false, DEVACL_TOPIC,
     "a unit may not read"},
    {"unit subscribes to every unit's alerts", UNIT_BPBD, NULL, S, "pantau/v1/_sys/alert/#", NULL,
     false, DEVACL_FILTER, ""},
    {"unit subscribes across units", UNIT_BPBD, NULL, S, "pantau/v1/_sys/alert/+/flood_level/#",
     NULL, false, DEVACL_FILTER, ""},
    {"unit whose id is a prefix of another's", UNIT_BPBD, NULL, S, "pantau/v1/_sys/alert/bpbd2/#",
     NULL, false, DEVACL_FILTER, ""},
    {"unit subscribes to flood readings", UNIT_BPBD, NULL, S, "pantau/v1/+/flood", NULL, false,
     DEVACL_FILTER, ""},
    {"unit reads a flood reading", UNIT_BPBD, NULL, R, "pantau/v1/gw-1/flood", NULL, false,
     DEVACL_TOPIC, ""},
    {"unit subscribes to status", UNIT_BPBD, NULL, S, "pantau/v1/+/status", NULL, false,
     DEVACL_FILTER, ""},
    {"unit subscribes to health", UNIT_BPBD, NULL, S, "pantau/v1/_sys/health/+", NULL, false,
     DEVACL_FILTER, ""},
    {"unit subscribes to everything", UNIT_BPBD, NULL, S, "#", NULL, false, DEVACL_FILTER, ""},
    {"unit subscribes to $SYS", UNIT_BPBD, NULL, S, "$SYS/#", NULL, false, DEVACL_FILTER, ""},
    {"unit in a shared group", UNIT_BPBD, NULL, S, "$share/g/pantau/v1/_sys/alert/bpbd/#", NULL,
     false, DEVACL_SHARE, "a unit may not join a shared subscription"},
    {"unit with a bad filter", UNIT_BPBD, NULL, S, "pantau/v1/_sys/alert/bpbd/#/x", NULL, false,
     DEVACL_FILTER, "bad subscription filter"},
    {"unit publishes on its alert topic", UNIT_BPBD, NULL, W,
     "pantau/v1/_sys/alert/bpbd/flood_level/station-katulampa", "{}", true, DEVACL_ROLE,
     "only reads"},
    {"unit account with a bad unit", UNIT_BAD, NULL, S, "pantau/v1/_sys/alert/+/#", NULL, false,
     DEVACL_ROLE, "not a unit id"},
    /* identity */
    {"no username", NOBODY, "", R, "pantau/v1/gw-1/ack", NULL, false, DEVACL_NO_USERNAME,
     "no username"},
    {"control character in the username (issue 5)", GW, "gw-1\001", W, "pantau/v1/gw-1/flood", "{}",
     false, DEVACL_BAD_ID, "not an id"},
    {"plus in the username", GW, "gw+1", W, "pantau/v1/gw-1/flood", "{}", false, DEVACL_BAD_ID, ""},
    {"slash in the username", GW, "gw/1", W, "pantau/v1/gw-1/flood", "{}", false, DEVACL_BAD_ID,
     ""},
    {"username of 65 characters", GW, ID65, W, "pantau/v1/gw-1/flood", "{}", false, DEVACL_BAD_ID,
     ""},
    {"disabled account", GW_OFF, NULL, W, "pantau/v1/gw-off/flood", "{}", false, DEVACL_DISABLED,
     "disabled"},
    {"unknown account", NOBODY, "gw-9", W, "pantau/v1/gw-9/flood", "{}", false, DEVACL_UNKNOWN,
     "no such account"},
};

static void test_decide(void)
{
    make_accounts();
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct row *w = &rows[i];
        const struct regcache_account *a = w->who == NOBODY ? NULL : &accounts[w->who];
        struct devacl_request req;
        char err[MSG_ERRLEN] = "";
        enum devacl_reason got;

        memset(&req, 0, sizeof(req));
        req.username = w->user != NULL ? (w->user[0] ? w->user : NULL) : a->username;
        req.client_id = req.username;
        req.access = w->access;
        req.topic = w->topic;
        req.payload = w->payload;
        req.payloadlen = w->payload ? strlen(w->payload) : 0;
        req.qos = 1; /* QoS and Clean Start: test_devacl_will.c */
        req.retain = w->retain;
        got = devacl_decide(&req, a, err, sizeof(err));
        TEST_CHECK(got == w->want);
        TEST_MSG("%s: got %s (%s), want %s", w->name, devacl_reason_name(got), err,
                 devacl_reason_name(w->want));
        if (w->want != DEVACL_OK && w->err != NULL) {
            TEST_CHECK(strstr(err, w->err) != NULL);
            TEST_MSG("%s: err '%s' should say '%s'", w->name, err, w->err);
        }
    }
}

static void test_client_id_must_be_username(void)
{
    struct devacl_request req;
    char err[MSG_ERRLEN] = "";

    make_accounts();
    memset(&req, 0, sizeof(req));
    req.username = "gw-1";
    req.client_id = "gw-2"; /* gw-1 took gw-2's client id (issue 5, item 2) */
    req.access = MOSQ_ACL_WRITE;
    req.topic = "pantau/v1/gw-1/flood";
    req.qos = 1;
    TEST_CHECK(devacl_decide(&req, &accounts[GW], err, sizeof(err)) == DEVACL_CLIENT_ID);
    TEST_CHECK(strstr(err, "client id is not the username") != NULL);
    req.client_id = NULL;
    TEST_CHECK(devacl_decide(&req, &accounts[GW], err, sizeof(err)) == DEVACL_CLIENT_ID);
    req.client_id = "gw-1";
    TEST_CHECK(devacl_decide(&req, &accounts[GW], err, sizeof(err)) == DEVACL_OK);
}

static void test_reason_names(void)
{
    TEST_CHECK(strcmp(devacl_reason_name(DEVACL_OK), "ok") == 0);
    TEST_CHECK(strcmp(devacl_reason_name(DEVACL_PAYLOAD), "payload") == 0);
    TEST_CHECK(strcmp(devacl_reason_name((enum devacl_reason)99), "?") == 0);
}

/* An edge broker's bridge (role bridge, schema/030): readings and status of known, enabled
 * devices whose kind may publish them, the edge's rejected messages; reads acks and health. */
static void test_bridge(void)
{
    struct regcache_account bridge;
    struct devacl_request req;
    char err[MSG_ERRLEN] = "";

    make_accounts();
    memset(&bridge, 0, sizeof(bridge));
    snprintf(bridge.username, sizeof(bridge.username), "bridge-kec-1");
    bridge.role = REGCACHE_ROLE_BRIDGE;
    bridge.enabled = true;
    memset(&req, 0, sizeof(req));
    req.username = "bridge-kec-1";
    req.client_id = "bridge-kec-1";
    req.access = MOSQ_ACL_WRITE;
    req.topic = "pantau/v1/gw-1/flood";
    req.payload = "{}";
    req.payloadlen = 2;
    req.qos = 1;
    req.session_kept = true; /* a bridge keeps its session (cleansession false) */
    req.subject = &accounts[GW];
    TEST_CHECK(devacl_decide(&req, &bridge, err, sizeof(err)) == DEVACL_OK);
    TEST_MSG("err '%s'", err);
    req.retain = true;
    TEST_CHECK(devacl_decide(&req, &bridge, err, sizeof(err)) == DEVACL_RETAIN);
    req.retain = false;
    req.qos = 0;
    TEST_CHECK(devacl_decide(&req, &bridge, err, sizeof(err)) == DEVACL_QOS);
    req.qos = 1;
    req.topic = "pantau/v1/gw-1/larva"; /* a flood gauge's larva report */
    TEST_CHECK(devacl_decide(&req, &bridge, err, sizeof(err)) == DEVACL_STREAM);
    req.topic = "pantau/v1/gw-9/flood"; /* a device nobody enrolled */
    req.subject = NULL;
    TEST_CHECK(devacl_decide(&req, &bridge, err, sizeof(err)) == DEVACL_UNKNOWN);
    TEST_CHECK(strstr(err, "gw-9") != NULL);
    req.topic = "pantau/v1/collector-1/flood"; /* an account that is no device */
    req.subject = &accounts[COL];
    TEST_CHECK(devacl_decide(&req, &bridge, err, sizeof(err)) == DEVACL_UNKNOWN);
    req.topic = "pantau/v1/gw-off/flood";
    req.subject = &accounts[GW_OFF];
    TEST_CHECK(devacl_decide(&req, &bridge, err, sizeof(err)) == DEVACL_DISABLED);
    req.topic = "pantau/v1/gw-1/flood"; /* the subject must be the topic's device */
    req.subject = &accounts[CAM];
    TEST_CHECK(devacl_decide(&req, &bridge, err, sizeof(err)) == DEVACL_UNKNOWN);
    req.topic = "pantau/v1/gw-1/status";
    req.subject = &accounts[GW];
    req.retain = true;
    req.payload = STATUS_OK;
    req.payloadlen = strlen(STATUS_OK);
    TEST_CHECK(devacl_decide(&req, &bridge, err, sizeof(err)) == DEVACL_OK);
    req.payload = STATUS_BAD;
    req.payloadlen = strlen(STATUS_BAD);
    TEST_CHECK(devacl_decide(&req, &bridge, err, sizeof(err)) == DEVACL_PAYLOAD);
    req.retain = false;
    req.subject = NULL;
    req.topic = "pantau/v1/_sys/rejected";
    TEST_CHECK(devacl_decide(&req, &bridge, err, sizeof(err)) == DEVACL_OK);
    req.topic = "pantau/v1/gw-1/ack";
    TEST_CHECK(devacl_decide(&req, &bridge, err, sizeof(err)) == DEVACL_TOPIC);
    req.topic = "pantau/v1/_sys/health/collector-1";
    req.payload = HEALTH_OK;
    req.payloadlen = strlen(HEALTH_OK);
    TEST_CHECK(devacl_decide(&req, &bridge, err, sizeof(err)) == DEVACL_TOPIC);
    req.topic = "pantau/v1/_sys/alert/bpbd/flood_level/station-katulampa";
    TEST_CHECK(devacl_decide(&req, &bridge, err, sizeof(err)) == DEVACL_TOPIC);
    req.payload = NULL;
    req.payloadlen = 0;
    req.access = MOSQ_ACL_SUBSCRIBE;
    req.topic = "pantau/v1/+/ack";
    TEST_CHECK(devacl_decide(&req, &bridge, err, sizeof(err)) == DEVACL_OK);
    req.topic = "pantau/v1/_sys/health/+";
    TEST_CHECK(devacl_decide(&req, &bridge, err, sizeof(err)) == DEVACL_OK);
    req.topic = "pantau/v1/+/flood"; /* it takes no readings from the collectors */
    TEST_CHECK(devacl_decide(&req, &bridge, err, sizeof(err)) == DEVACL_FILTER);
    req.topic = "$share/g/pantau/v1/+/ack";
    TEST_CHECK(devacl_decide(&req, &bridge, err, sizeof(err)) == DEVACL_SHARE);
    req.topic = "#";
    TEST_CHECK(devacl_decide(&req, &bridge, err, sizeof(err)) == DEVACL_FILTER);
    req.access = MOSQ_ACL_READ;
    req.topic = "pantau/v1/gw-1/ack";
    TEST_CHECK(devacl_decide(&req, &bridge, err, sizeof(err)) == DEVACL_OK);
    req.topic = "pantau/v1/gw-1/status";
    TEST_CHECK(devacl_decide(&req, &bridge, err, sizeof(err)) == DEVACL_TOPIC);
    bridge.enabled = false;
    req.topic = "pantau/v1/gw-1/ack";
    TEST_CHECK(devacl_decide(&req, &bridge, err, sizeof(err)) == DEVACL_DISABLED);
}

/* ---- the module's callbacks ---------------------------------------------------------- */

static const char registry[] = "A gw-1 device device_key 1 gw-1 flood_gateway 1 h1\n"
                               "A gw-2 device device_key 1 gw-2 flood_gateway 1 h2\n"
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

static int start(struct started *s, struct mosquitto_opt *opts, int n)
{
    char err[MSG_ERRLEN] = "";
    int rc;

    memset(s, 0, sizeof(*s));
    stub_reset();
    if (policy_fixture_new(&s->f, registry) != 0) {
        return -1;
    }
    rc = plugin_module_devacl.start(&s->state, NULL, s->f.rc, opts, n, err, sizeof(err));
    if (rc != MOSQ_ERR_SUCCESS) {
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
    TEST_CHECK(stub_callback(MOSQ_EVT_ACL_CHECK, &s->acl_ud) == NULL);
    TEST_CHECK(stub_callback(MOSQ_EVT_TICK, &s->tick_ud) == NULL);
    policy_fixture_free(&s->f);
}

static int check(struct started *s, const char *id, const char *user, int access, const char *topic,
                 const char *payload, bool retain)
{
    struct mosquitto *c = stub_client_new(id, user);
    struct mosquitto_evt_acl_check ed;
    int rc;

    memset(&ed, 0, sizeof(ed));
    ed.client = c;
    ed.access = access;
    ed.topic = topic;
    ed.payload = payload;
    ed.payloadlen = payload ? (uint32_t)strlen(payload) : 0;
    ed.qos = access == MOSQ_ACL_WRITE ? 1 : 0;
    ed.retain = retain;
    rc = s->acl(MOSQ_EVT_ACL_CHECK, &ed, s->acl_ud);
    stub_client_free(c);
    return rc;
}

static int count_logs(const char *needle)
{
    int n = 0;

    for (int i = 0; i < stub.n_logs && i < STUB_LOGS; i++) {
        n += strstr(stub.logs[i], needle) != NULL;
    }
    return n;
}

static void test_callback_allows_and_denies(void)
{
    struct started s;
    struct mosquitto_evt_tick tick;

    if (!TEST_CHECK(start(&s, NULL, 0) == 0)) {
        return;
    }
    TEST_CHECK(check(&s, "gw-1", "gw-1", W, "pantau/v1/gw-1/flood", "{}", false) ==
               MOSQ_ERR_SUCCESS);
    TEST_CHECK(check(&s, "gw-1", "gw-1", W, "pantau/v1/gw-2/flood", "{}", false) ==
               MOSQ_ERR_ACL_DENIED);
    TEST_CHECK(stub_logged("devacl: denied publish by user=gw-1 on 'pantau/v1/gw-2/flood': "
                           "topic belongs to device 'gw-2' (foreign)"));
    TEST_CHECK(check(&s, "gw-off", "gw-off", W, "pantau/v1/gw-off/flood", "{}", false) ==
               MOSQ_ERR_ACL_DENIED);
    TEST_CHECK(check(&s, "gw-9", "gw-9", W, "pantau/v1/gw-9/flood", "{}", false) ==
               MOSQ_ERR_ACL_DENIED);
    /* a certificate client whose id is another's (no password hook ran for it) */
    TEST_CHECK(check(&s, "gw-2", "gw-1", W, "pantau/v1/gw-1/flood", "{}", false) ==
               MOSQ_ERR_ACL_DENIED);
    TEST_CHECK(check(&s, "dash-1", "dash-1", S, "$share/pantau-collectors/pantau/v1/+/flood", NULL,
                     false) == MOSQ_ERR_ACL_DENIED);
    TEST_CHECK(check(&s, "dash-1", "dash-1", U, "#", NULL, false) == MOSQ_ERR_SUCCESS);
    TEST_CHECK(check(&s, "x\001", "x\001", W, "pantau/v1/x/flood", "{}", false) ==
               MOSQ_ERR_ACL_DENIED);
    TEST_CHECK(stub_logged("user=x?")); /* the control character is not logged */
    memset(&tick, 0, sizeof(tick));
    s.tick(MOSQ_EVT_TICK, &tick, s.tick_ud);
    TEST_CHECK(strcmp(stub.last_topic, "$SYS/pantau/devacl") == 0);
    TEST_CHECK(stub.last_retain);
    TEST_CHECK(strstr(stub.last_payload, "\"allowed\":2,") != NULL);
    TEST_CHECK(strstr(stub.last_payload, "\"denied\":6,") != NULL);
    TEST_CHECK(strstr(stub.last_payload, "\"foreign\":1") != NULL);
    TEST_CHECK(strstr(stub.last_payload, "\"disabled\":1") != NULL);
    /* every member, in order (issue 10: one writer for the three modules keeps these bytes) */
    TEST_CHECK(strcmp(stub_payload_fixed(),
                      "{\"module\":\"devacl\",\"ts\":\"TS\",\"allowed\":2,\"denied\":6,"
                      "\"denied_by_reason\":{\"no_username\":0,\"bad_id\":1,\"client_id\":1,"
                      "\"unknown_account\":1,\"disabled\":1,\"role\":0,\"topic\":0,\"foreign\":1,"
                      "\"stream\":0,\"retain\":0,\"share\":1,\"filter\":0,\"payload\":0,\"qos\":0,"
                      "\"session\":0,\"will_rate\":0},\"forwarded\":4,\"not_forwarded\":0,"
                      "\"log_suppressed\":0,\"wills_judged\":0}") == 0);
    TEST_MSG("fixed: %s", stub_payload_fixed());
    TEST_CHECK(strstr(stub.last_payload, "\"unknown_account\":1") != NULL);
    TEST_CHECK(strstr(stub.last_payload, "\"client_id\":1") != NULL);
    TEST_CHECK(strstr(stub.last_payload, "\"share\":1") != NULL);
    TEST_CHECK(strstr(stub.last_payload, "\"bad_id\":1") != NULL);
    TEST_MSG("counters: %s", stub.last_payload);
    stop(&s);
}

static void test_callback_log_is_rate_limited(void)
{
    struct started s;
    struct mosquitto_evt_tick tick;

    if (!TEST_CHECK(start(&s, NULL, 0) == 0)) {
        return;
    }
    for (int i = 0; i < 50; i++) {
        check(&s, "gw-1", "gw-1", W, "pantau/v1/gw-2/flood", "{}", false);
    }
    check(&s, "gw-2", "gw-2", W, "pantau/v1/gw-1/flood", "{}", false);
    TEST_CHECK(count_logs("denied publish by user=gw-1") == 5);
    TEST_MSG("%d lines", count_logs("denied publish by user=gw-1"));
    TEST_CHECK(count_logs("denied publish by user=gw-2") == 1); /* its own budget */
    memset(&tick, 0, sizeof(tick));
    s.tick(MOSQ_EVT_TICK, &tick, s.tick_ud);
    TEST_CHECK(strstr(stub.last_payload, "\"foreign\":51") != NULL);
    TEST_CHECK(strstr(stub.last_payload, "\"log_suppressed\":45") != NULL);
    TEST_MSG("counters: %s", stub.last_payload);
    stop(&s);
}

static void test_callback_bad_status_is_forwarded(void)
{
    struct started s;
    struct mosquitto_opt opts[] = {{(char *)"rejected_rate", (char *)"1/h burst 2"}};
    struct msg_rejected r;
    char err[MSG_ERRLEN] = "";

    if (!TEST_CHECK(start(&s, opts, 1) == 0)) {
        return;
    }
    TEST_CHECK(check(&s, "gw-1", "gw-1", W, "pantau/v1/gw-1/status", STATUS_BAD, true) ==
               MOSQ_ERR_ACL_DENIED);
    TEST_CHECK(stub.n_publishes == 1);
    TEST_CHECK(strcmp(stub.last_topic, "pantau/v1/_sys/rejected") == 0);
    TEST_CHECK(!stub.last_retain);
    TEST_CHECK(msg_rejected_parse(stub.last_payload, strlen(stub.last_payload), &r, err,
                                  sizeof(err)) == MSG_OK);
    TEST_MSG("%s", err);
    TEST_CHECK(strcmp(r.device, "gw-1") == 0);
    TEST_CHECK(strcmp(r.topic, "pantau/v1/gw-1/status") == 0);
    TEST_CHECK(strstr(r.reason, "conn") != NULL);
    TEST_CHECK(r.payload_len == strlen(STATUS_BAD) &&
               memcmp(r.payload, STATUS_BAD, r.payload_len) == 0);
    /* the budget: 2 forwarded, the third counted only */
    check(&s, "gw-1", "gw-1", W, "pantau/v1/gw-1/status", STATUS_BAD, true);
    check(&s, "gw-1", "gw-1", W, "pantau/v1/gw-1/status", STATUS_BAD, true);
    TEST_CHECK(stub.n_publishes == 2);
    TEST_MSG("%d publishes", stub.n_publishes);
    /* a collector's bad health is refused but not forwarded (not a device's message) */
    TEST_CHECK(check(&s, "collector-1", "collector-1", W, "pantau/v1/_sys/health/collector-1",
                     HEALTH_BAD, true) == MOSQ_ERR_ACL_DENIED);
    TEST_CHECK(stub.n_publishes == 2);
    stop(&s);
}

static void test_start_bad_options(void)
{
    struct mosquitto_opt bad_rate[] = {{(char *)"rejected_rate", (char *)"lots"}};
    struct mosquitto_opt bad_interval[] = {{(char *)"stats_interval", (char *)"0"}};
    struct policy_fixture f;
    char err[MSG_ERRLEN] = "";
    void *state = NULL;

    stub_reset();
    if (!TEST_CHECK(policy_fixture_new(&f, registry) == 0)) {
        return;
    }
    TEST_CHECK(plugin_module_devacl.start(&state, NULL, f.rc, bad_rate, 1, err, sizeof(err)) !=
               MOSQ_ERR_SUCCESS);
    TEST_CHECK(strstr(err, "plugin_opt_rejected_rate") != NULL);
    TEST_MSG("err '%s'", err);
    TEST_CHECK(state == NULL);
    TEST_CHECK(plugin_module_devacl.start(&state, NULL, f.rc, bad_interval, 1, err, sizeof(err)) !=
               MOSQ_ERR_SUCCESS);
    TEST_CHECK(strstr(err, "plugin_opt_stats_interval") != NULL);
    /* issue 10: the one option reader's words, as devauth and payval say them */
    TEST_CHECK(strcmp(err, "plugin_opt_stats_interval: 0 out of range 1..86400") == 0);
    TEST_MSG("err '%s'", err);
    TEST_CHECK(stub_callback(MOSQ_EVT_ACL_CHECK, &state) == NULL);
    plugin_module_devacl.stop(NULL, NULL);
    policy_fixture_free(&f);
}

TEST_LIST = {
    {"decide", test_decide},
    {"client_id_must_be_username", test_client_id_must_be_username},
    {"reason_names", test_reason_names},
    {"bridge", test_bridge},
    {"callback_allows_and_denies", test_callback_allows_and_denies},
    {"callback_log_is_rate_limited", test_callback_log_is_rate_limited},
    {"callback_bad_status_is_forwarded", test_callback_bad_status_is_forwarded},
    {"start_bad_options", test_start_bad_options},
    {NULL, NULL},
};
