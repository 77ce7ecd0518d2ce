/* test_devauth.c -- the MOSQ_EVT_BASIC_AUTH module (broker-plugins/devauth.h), its callbacks
 * called directly with hand-built events against stubbed broker functions
 * (tests/unit/mosquitto_stubs.c) and a registry cache made from a snapshot file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "devauth.h"
#include "mosquitto_stubs.h"
#include "msg_err.h"
#include "plugin_module.h"
#include "regcache.h"
#include "secret.h"
#include "tinytest.h"

static char dir[64];
static char snap_path[128];
static char key_path[128];
static struct secret_key key;
static char dev_secret[SECRET_DEVICE_KEY_LEN + 1];
static const char *const PASSWORD = "jumantik-rw05-password";
static char dev_hash[SECRET_HASH_MAX + 1];
static char pw_hash[SECRET_HASH_MAX + 1];

struct world {
    struct regcache *rc;
    void *state;
    MOSQ_FUNC_generic_callback auth;
    void *auth_ud;
    MOSQ_FUNC_generic_callback tick;
    void *tick_ud;
};

static void setup_files(void)
{
    char err[MSG_ERRLEN] = "";
    unsigned char sum[SHA256_DIGEST_LENGTH];
    char text[8192];
    size_t len;
    size_t i;
    FILE *f;

    if (dir[0] != '\0') {
        return;
    }
    snprintf(dir, sizeof(dir), "/tmp/pantau-devauth-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        abort();
    }
    snprintf(snap_path, sizeof(snap_path), "%s/registry.snapshot", dir);
    snprintf(key_path, sizeof(key_path), "%s/device.key", dir);
    if (secret_key_create(key_path, err, sizeof(err)) != MSG_OK ||
        secret_key_load(key_path, &key, err, sizeof(err)) != MSG_OK ||
        secret_device_key_new(dev_secret, sizeof(dev_secret)) != MSG_OK ||
        secret_hash_device_key(&key, dev_secret, strlen(dev_secret), dev_hash,
                               sizeof(dev_hash)) != MSG_OK ||
        secret_hash_password(PASSWORD, strlen(PASSWORD), 100000, pw_hash, sizeof(pw_hash)) !=
            MSG_OK) {
        fprintf(stderr, "setup: %s\n", err);
        abort();
    }
    len = (size_t)snprintf(text, sizeof(text),
                           "pantau-regcache 1\n"
                           "A gw-1 device device_key 1 gw-1 flood_gateway 1 %s\n"
                           "A gw-off device device_key 0 gw-off flood_gateway 2 %s\n"
                           "A gw-broken device device_key 1 gw-broken flood_gateway 3 %s\n"
                           "A analyst-1 dashboard password 1 - - 4 %s\n"
                           "A analyst-2 dashboard password 1 - - 5 %s\n"
                           "A analyst-3 dashboard password 1 - - 6 %s\n"
                           "A officer-1 officer password 1 - - 7 %s\n"
                           "A viewer-1 viewer password 1 - - 8 %s\n",
                           dev_hash, dev_hash, pw_hash, pw_hash, pw_hash, pw_hash, pw_hash,
                           pw_hash);
    SHA256((const unsigned char *)text, len, sum);
    len += (size_t)snprintf(text + len, sizeof(text) - len, "sum ");
    for (i = 0; i < sizeof(sum); i++) {
        len += (size_t)snprintf(text + len, sizeof(text) - len, "%02x", sum[i]);
    }
    snprintf(text + len, sizeof(text) - len, "\n");
    f = fopen(snap_path, "w");
    if (f == NULL) {
        abort();
    }
    fputs(text, f);
    fclose(f);
}

/* Starts devauth with key_file and the extra options (pairs, NULL-terminated). */
static int start(struct world *w, const char *const *extra, char *err, size_t errlen)
{
    struct mosquitto_opt opts[16];
    struct regcache_config cfg;
    int n = 0;
    int rc;

    setup_files();
    stub_reset();
    memset(w, 0, sizeof(*w));
    memset(&cfg, 0, sizeof(cfg));
    snprintf(cfg.conninfo, sizeof(cfg.conninfo), "host=127.0.0.1 port=1 connect_timeout=1");
    snprintf(cfg.snapshot_path, sizeof(cfg.snapshot_path), "%s", snap_path);
    cfg.reload_ms = 3600000;
    w->rc = regcache_new(&cfg, err, errlen);
    if (w->rc == NULL) {
        return -1;
    }
    opts[n].key = (char *)"key_file";
    opts[n++].value = key_path;
    for (; extra != NULL && extra[0] != NULL; extra += 2) {
        opts[n].key = (char *)extra[0];
        opts[n++].value = (char *)extra[1];
    }
    rc = plugin_module_devauth.start(&w->state, NULL, w->rc, opts, n, err, errlen);
    if (rc != MOSQ_ERR_SUCCESS) {
        return rc;
    }
    w->auth = stub_callback(MOSQ_EVT_BASIC_AUTH, &w->auth_ud);
    w->tick = stub_callback(MOSQ_EVT_TICK, &w->tick_ud);
    return 0;
}

static void stop(struct world *w)
{
    plugin_module_devauth.stop(w->state, NULL);
    TEST_CHECK(stub_callback(MOSQ_EVT_BASIC_AUTH, &w->auth_ud) == NULL);
    TEST_CHECK(stub_callback(MOSQ_EVT_TICK, &w->tick_ud) == NULL);
    regcache_free(w->rc);
}

static int auth(struct world *w, const char *client_id, const char *user, const char *pw)
{
    struct mosquitto_evt_basic_auth ed;
    struct mosquitto *c = stub_client_new(client_id, user);
    char pwbuf[256];
    int rc;

    memset(&ed, 0, sizeof(ed));
    ed.client = c;
    ed.username = (char *)user;
    if (pw != NULL) {
        snprintf(pwbuf, sizeof(pwbuf), "%s", pw);
        ed.password = pwbuf;
    }
    rc = w->auth(MOSQ_EVT_BASIC_AUTH, &ed, w->auth_ud);
    stub_client_free(c);
    return rc;
}

static struct devauth_counters counters(struct world *w)
{
    struct devauth_counters c;

    devauth_counters_get(w->state, &c);
    return c;
}

static void no_secret_logged(void)
{
    int i;

    for (i = 0; i < stub.n_logs && i < STUB_LOGS; i++) {
        TEST_CHECK(strstr(stub.logs[i], dev_secret) == NULL);
        TEST_CHECK(strstr(stub.logs[i], PASSWORD) == NULL);
        TEST_CHECK(strstr(stub.logs[i], dev_hash + 23) == NULL);   /* the MAC part */
        TEST_CHECK(strstr(stub.logs[i], pw_hash + 23) == NULL);
        TEST_MSG("log line %d: %s", i, stub.logs[i]);
    }
}

static void test_device_key(void)
{
    struct world w;
    char err[MSG_ERRLEN] = "";
    char wrong[SECRET_DEVICE_KEY_LEN + 1];

    if (!TEST_CHECK(start(&w, NULL, err, sizeof(err)) == 0)) {
        TEST_MSG("%s", err);
        return;
    }
    TEST_CHECK(auth(&w, "gw-1", "gw-1", dev_secret) == MOSQ_ERR_SUCCESS);
    memcpy(wrong, dev_secret, sizeof(wrong));
    wrong[5] = wrong[5] == '0' ? '1' : '0';
    TEST_CHECK(auth(&w, "gw-1", "gw-1", wrong) == MOSQ_ERR_AUTH);
    TEST_CHECK(auth(&w, "gw-1", "gw-1", NULL) == MOSQ_ERR_AUTH);
    TEST_CHECK(auth(&w, "gw-1", "gw-1", "") == MOSQ_ERR_AUTH);
    TEST_CHECK(counters(&w).accepted == 1);
    TEST_CHECK(counters(&w).refused[DEVAUTH_BAD_SECRET] == 3);
    TEST_CHECK(counters(&w).fast_checks == 2 && counters(&w).slow_checks == 0);
    /* the device's own secret on a device that is switched off */
    TEST_CHECK(auth(&w, "gw-off", "gw-off", dev_secret) == MOSQ_ERR_AUTH);
    TEST_CHECK(counters(&w).refused[DEVAUTH_DISABLED] == 1);
    /* a device account whose hash is a password hash: refused, not checked as one */
    TEST_CHECK(auth(&w, "gw-broken", "gw-broken", PASSWORD) == MOSQ_ERR_AUTH);
    TEST_CHECK(counters(&w).refused[DEVAUTH_BAD_HASH] == 1);
    TEST_CHECK(auth(&w, "gw-9", "gw-9", dev_secret) == MOSQ_ERR_AUTH);
    TEST_CHECK(counters(&w).refused[DEVAUTH_UNKNOWN_USER] == 1);
    no_secret_logged();
    stop(&w);
}

static void test_client_id_must_equal_username(void)
{
    struct world w;
    char err[MSG_ERRLEN] = "";

    if (!TEST_CHECK(start(&w, NULL, err, sizeof(err)) == 0)) {
        return;
    }
    TEST_CHECK(auth(&w, "gw-2", "gw-1", dev_secret) == MOSQ_ERR_AUTH);
    TEST_CHECK(auth(&w, "analyst-1", "gw-1", dev_secret) == MOSQ_ERR_AUTH);
    TEST_CHECK(auth(&w, NULL, "gw-1", dev_secret) == MOSQ_ERR_AUTH);
    TEST_CHECK(counters(&w).refused[DEVAUTH_CLIENT_ID_MISMATCH] == 2);
    TEST_CHECK(counters(&w).refused[DEVAUTH_BAD_ID] == 1);
    TEST_CHECK(counters(&w).accepted == 0 && counters(&w).fast_checks == 0);
    stop(&w);
}

static void test_bad_ids_refused_before_lookup(void)
{
    static const char *const bad[] = {
        "gw+1", "gw#", "pantau/v1", "gw 1", "gw\t1", "gw\x01", "GW-1", "_sys", "-gw", "",
        "gw-\xc3\xa9",
        "a-name-that-is-sixty-five-bytes-long-which-is-one-more-than-allowed",
    };
    const char *exact = "a234567890123456789012345678901234567890123456789012345678901234";
    struct world w;
    char err[MSG_ERRLEN] = "";
    size_t i;

    if (!TEST_CHECK(start(&w, NULL, err, sizeof(err)) == 0)) {
        return;
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        TEST_CHECK(auth(&w, bad[i], bad[i], dev_secret) == MOSQ_ERR_AUTH);
        TEST_MSG("id '%s' accepted", bad[i]);
        TEST_CHECK(auth(&w, "gw-1", bad[i], dev_secret) == MOSQ_ERR_AUTH);
        TEST_CHECK(auth(&w, bad[i], "gw-1", dev_secret) == MOSQ_ERR_AUTH);
    }
    TEST_CHECK(auth(&w, NULL, NULL, dev_secret) == MOSQ_ERR_AUTH);
    TEST_CHECK(counters(&w).refused[DEVAUTH_BAD_ID] == 3 * i + 1);
    TEST_CHECK(counters(&w).refused[DEVAUTH_UNKNOWN_USER] == 0);   /* no lookup happened */
    TEST_CHECK(counters(&w).fast_checks == 0);
    /* exactly MSG_ID_MAX bytes is an id: it gets to the lookup */
    TEST_CHECK(strlen(exact) == MSG_ID_MAX);
    TEST_CHECK(auth(&w, exact, exact, dev_secret) == MOSQ_ERR_AUTH);
    TEST_CHECK(counters(&w).refused[DEVAUTH_UNKNOWN_USER] == 1);
    /* bad ids are never printed as they are */
    TEST_CHECK(!stub_logged("gw\x01"));
    TEST_CHECK(!stub_logged("pantau/v1"));
    TEST_CHECK(stub_logged("username=(invalid)"));
    stop(&w);
}

static void test_password_cache_and_failures(void)
{
    static const char *const opts[] = {"fail_max", "3", "slow_checks_per_sec", "100",
                                       "slow_burst", "100", NULL};
    struct world w;
    char err[MSG_ERRLEN] = "";
    int i;

    if (!TEST_CHECK(start(&w, opts, err, sizeof(err)) == 0)) {
        TEST_MSG("%s", err);
        return;
    }
    TEST_CHECK(auth(&w, "analyst-1", "analyst-1", PASSWORD) == MOSQ_ERR_SUCCESS);
    TEST_CHECK(counters(&w).slow_checks == 1 && counters(&w).cache_hits == 0);
    TEST_CHECK(auth(&w, "analyst-1", "analyst-1", PASSWORD) == MOSQ_ERR_SUCCESS);
    TEST_CHECK(counters(&w).slow_checks == 1 && counters(&w).cache_hits == 1);
    /* a wrong password is not answered from the cache */
    TEST_CHECK(auth(&w, "analyst-1", "analyst-1", "jumantik-rw05-passwore") == MOSQ_ERR_AUTH);
    TEST_CHECK(counters(&w).slow_checks == 2);
    /* the cache is per user: analyst-2 with the same password is a slow check */
    TEST_CHECK(auth(&w, "analyst-2", "analyst-2", PASSWORD) == MOSQ_ERR_SUCCESS);
    TEST_CHECK(counters(&w).slow_checks == 3);
    /* three failures, then no more slow checks for analyst-3, even with the right password */
    for (i = 0; i < 3; i++) {
        TEST_CHECK(auth(&w, "analyst-3", "analyst-3", "guess") == MOSQ_ERR_AUTH);
    }
    TEST_CHECK(counters(&w).slow_checks == 6);
    TEST_CHECK(auth(&w, "analyst-3", "analyst-3", "guess") == MOSQ_ERR_AUTH);
    TEST_CHECK(auth(&w, "analyst-3", "analyst-3", PASSWORD) == MOSQ_ERR_AUTH);
    TEST_CHECK(counters(&w).slow_checks == 6);
    TEST_CHECK(counters(&w).refused[DEVAUTH_RATE_LIMITED] == 2);
    /* others are not affected */
    TEST_CHECK(auth(&w, "analyst-2", "analyst-2", PASSWORD) == MOSQ_ERR_SUCCESS);
    TEST_CHECK(counters(&w).refused[DEVAUTH_BAD_SECRET] == 4);
    no_secret_logged();
    stop(&w);
}

static void test_slow_check_budget(void)
{
    static const char *const opts[] = {"slow_checks_per_sec", "1", "slow_burst", "2", NULL};
    struct world w;
    char err[MSG_ERRLEN] = "";

    if (!TEST_CHECK(start(&w, opts, err, sizeof(err)) == 0)) {
        return;
    }
    /* two tokens: two slow checks (about 0.1 s each), the third finds the bucket empty --
     * unless the two took a second or more (a loaded machine, a sanitizer build): then the
     * bucket has refilled a token meanwhile, as it should, and the third is checked too */
    int64_t t0 = msg_clock_mono_ms();
    int64_t took;

    TEST_CHECK(auth(&w, "analyst-1", "analyst-1", "wrong-1") == MOSQ_ERR_AUTH);
    TEST_CHECK(auth(&w, "analyst-2", "analyst-2", "wrong-2") == MOSQ_ERR_AUTH);
    took = msg_clock_mono_ms() - t0;
    if (took < 900) {
        TEST_CHECK(auth(&w, "analyst-3", "analyst-3", PASSWORD) == MOSQ_ERR_AUTH);
        TEST_CHECK(counters(&w).slow_checks == 2);
        TEST_CHECK(counters(&w).refused[DEVAUTH_SLOW_BUDGET] == 1);
    } else if (took > 1100) {
        TEST_CHECK(auth(&w, "analyst-3", "analyst-3", PASSWORD) == MOSQ_ERR_SUCCESS);
        TEST_CHECK(counters(&w).slow_checks == 3);
        TEST_MSG("the two checks took %lld ms: the budget refilled meanwhile",
                 (long long)took);
    }
    /* device keys never need a token */
    TEST_CHECK(auth(&w, "gw-1", "gw-1", dev_secret) == MOSQ_ERR_SUCCESS);
    stop(&w);
}

/* issue 5 (audit item 4): an officer has no MQTT access (protocol.md 7.1), so the right
 * password is refused, and refused before any PBKDF2 is computed. */
static void test_officer_refused_before_any_hash_5(void)
{
    static const char *const opts[] = {"slow_checks_per_sec", "100", "slow_burst", "100", NULL};
    struct world w;
    char err[MSG_ERRLEN] = "";

    if (!TEST_CHECK(start(&w, opts, err, sizeof(err)) == 0)) {
        return;
    }
    TEST_CHECK(auth(&w, "officer-1", "officer-1", PASSWORD) == MOSQ_ERR_AUTH);
    TEST_CHECK(auth(&w, "officer-1", "officer-1", "wrong") == MOSQ_ERR_AUTH);
    TEST_CHECK(counters(&w).refused[DEVAUTH_NO_MQTT_ROLE] == 2);
    TEST_CHECK(counters(&w).slow_checks == 0 && counters(&w).fast_checks == 0);
    TEST_CHECK(counters(&w).accepted == 0);
    TEST_CHECK(strcmp(devauth_reason_name(DEVAUTH_NO_MQTT_ROLE), "no_mqtt_role") == 0);
    TEST_CHECK(stub_logged("devauth: refused username=officer-1 client_id=officer-1: "
                           "no_mqtt_role"));
    /* the second refusal was counted, not logged */
    TEST_CHECK(counters(&w).log_suppressed == 1);
    /* issue 12: the console's read-only viewer has no MQTT access either (and a snapshot
     * holding one loads) */
    TEST_CHECK(auth(&w, "viewer-1", "viewer-1", PASSWORD) == MOSQ_ERR_AUTH);
    TEST_CHECK(counters(&w).refused[DEVAUTH_NO_MQTT_ROLE] == 3);
    TEST_CHECK(counters(&w).slow_checks == 0);
    /* a password role with MQTT access still gets its slow check */
    TEST_CHECK(auth(&w, "analyst-1", "analyst-1", PASSWORD) == MOSQ_ERR_SUCCESS);
    TEST_CHECK(counters(&w).slow_checks == 1);
    no_secret_logged();
    stop(&w);
}

static void test_refusals_logged_once_per_interval(void)
{
    struct world w;
    char err[MSG_ERRLEN] = "";
    int before;
    int i;

    if (!TEST_CHECK(start(&w, NULL, err, sizeof(err)) == 0)) {
        return;
    }
    before = stub.n_logs;
    for (i = 0; i < 20; i++) {
        auth(&w, "gw-1", "gw-1", "0000");
    }
    TEST_CHECK(stub.n_logs == before + 1);
    TEST_CHECK(stub_logged("devauth: refused username=gw-1 client_id=gw-1: bad_secret"));
    /* unknown names share a small allowance per interval */
    before = stub.n_logs;
    for (i = 0; i < 50; i++) {
        char name[32];

        snprintf(name, sizeof(name), "nobody-%d", i);
        auth(&w, name, name, "x");
    }
    TEST_CHECK(stub.n_logs - before <= 10);
    TEST_CHECK(counters(&w).refused[DEVAUTH_UNKNOWN_USER] == 50);
    stop(&w);
}

static void test_tick_publishes_counters(void)
{
    struct mosquitto_evt_tick ed;
    struct world w;
    char err[MSG_ERRLEN] = "";

    if (!TEST_CHECK(start(&w, NULL, err, sizeof(err)) == 0)) {
        return;
    }
    auth(&w, "gw-1", "gw-1", dev_secret);
    auth(&w, "gw-1", "gw-1", "bad");
    memset(&ed, 0, sizeof(ed));
    TEST_CHECK(w.tick(MOSQ_EVT_TICK, &ed, w.tick_ud) == MOSQ_ERR_SUCCESS);
    TEST_CHECK(stub.n_publishes == 1);
    TEST_CHECK(strcmp(stub.last_topic, "$SYS/pantau/devauth") == 0 && stub.last_retain);
    TEST_CHECK(strstr(stub.last_payload, "\"accepted\":1,") != NULL);
    TEST_CHECK(strstr(stub.last_payload, "\"refused_bad_secret\":1,") != NULL);
    TEST_CHECK(strstr(stub.last_payload, "\"registry_accounts\":8,") != NULL);
    TEST_CHECK(strstr(stub.last_payload, "\"registry_from_file\":true") != NULL);
    /* the members devacl's and payval's objects have too (protocol.md 7.4) */
    TEST_CHECK(strncmp(stub.last_payload, "{\"module\":\"devauth\",\"ts\":\"20", 27) == 0);
    TEST_CHECK(strstr(stub.last_payload, "\"refused\":1,\"refused_by_reason\":{") != NULL);
    TEST_CHECK(strstr(stub.last_payload, "\"bad_secret\":1,") != NULL);
    TEST_CHECK(strstr(stub.last_payload, "\"no_mqtt_role\":0}") != NULL);
    TEST_CHECK(strstr(stub.last_payload, "\"log_suppressed\":0,") != NULL);
    TEST_MSG("payload: %s", stub.last_payload);
    /* every member, in order (issue 10: one writer for the three modules keeps these bytes) */
    TEST_CHECK(strcmp(stub_payload_fixed(),
                      "{\"module\":\"devauth\",\"ts\":\"TS\",\"accepted\":1,\"refused\":1,"
                      "\"refused_by_reason\":{\"unknown_user\":0,\"bad_secret\":1,\"disabled\":0,"
                      "\"client_id_mismatch\":0,\"bad_id\":0,\"rate_limited\":0,\"slow_budget\":0,"
                      "\"bad_hash\":0,\"no_mqtt_role\":0},\"log_suppressed\":0,"
                      "\"refused_unknown_user\":0,\"refused_bad_secret\":1,\"refused_disabled\":0,"
                      "\"refused_client_id_mismatch\":0,\"refused_bad_id\":0,"
                      "\"refused_rate_limited\":0,\"refused_slow_budget\":0,\"refused_bad_hash\":0,"
                      "\"refused_no_mqtt_role\":0,\"cache_hits\":0,\"slow_checks\":0,"
                      "\"fast_checks\":2,\"registry_accounts\":8,\"registry_db_ok\":false,"
                      "\"registry_from_file\":true,\"registry_loaded_ms\":0}") == 0);
    TEST_MSG("fixed: %s", stub_payload_fixed());
    /* not again before the interval (10 s by default) */
    w.tick(MOSQ_EVT_TICK, &ed, w.tick_ud);
    TEST_CHECK(stub.n_publishes == 1);
    stop(&w);
}

static void test_options_fail_closed(void)
{
    static const char *const bad_rate[] = {"slow_checks_per_sec", "0", NULL};
    static const char *const bad_num[] = {"fail_max", "5x", NULL};
    static const char *const bad_interval[] = {"stats_interval", "0", NULL};
    struct world w;
    struct mosquitto_opt none[1];
    struct regcache_config cfg;
    struct regcache *rc;
    char err[MSG_ERRLEN] = "";
    void *state = NULL;

    TEST_CHECK(start(&w, bad_rate, err, sizeof(err)) == MOSQ_ERR_INVAL);
    TEST_CHECK(strstr(err, "plugin_opt_slow_checks_per_sec") != NULL);
    TEST_CHECK(w.state == NULL && stub.n_callbacks == 0);
    regcache_free(w.rc);
    TEST_CHECK(start(&w, bad_num, err, sizeof(err)) == MOSQ_ERR_INVAL);
    TEST_CHECK(strstr(err, "plugin_opt_fail_max") != NULL);
    regcache_free(w.rc);
    /* issue 10: the one option reader's words, as devacl and payval say them */
    TEST_CHECK(start(&w, bad_interval, err, sizeof(err)) == MOSQ_ERR_INVAL);
    TEST_CHECK(strcmp(err, "plugin_opt_stats_interval: 0 out of range 1..86400") == 0);
    TEST_MSG("err '%s'", err);
    regcache_free(w.rc);
    /* no key file */
    memset(&cfg, 0, sizeof(cfg));
    snprintf(cfg.snapshot_path, sizeof(cfg.snapshot_path), "%s", snap_path);
    cfg.reload_ms = 3600000;
    rc = regcache_new(&cfg, err, sizeof(err));
    TEST_CHECK(plugin_module_devauth.start(&state, NULL, rc, none, 0, err, sizeof(err)) != 0);
    TEST_CHECK(strstr(err, "plugin_opt_key_file") != NULL && state == NULL);
    TEST_CHECK(strcmp(err, "plugin_opt_key_file is required (the server key of device keys)") ==
               0);
    TEST_MSG("err '%s'", err);
    regcache_free(rc);
}

static void test_plugin_init_fails_closed(void)
{
    struct mosquitto_opt opts[4];
    void *ud = NULL;
    int rc;

    setup_files();
    stub_reset();
    opts[0].key = (char *)"db_conninfo";
    opts[0].value = (char *)"host=127.0.0.1 port=1";
    opts[1].key = (char *)"snapshot_file";
    opts[1].value = snap_path;
    opts[2].key = (char *)"key_file";
    opts[2].value = key_path;
    opts[3].key = (char *)"bogus_option";
    opts[3].value = (char *)"1";
    rc = mosquitto_plugin_init(NULL, &ud, opts, 4);
    TEST_CHECK(rc != MOSQ_ERR_SUCCESS && ud == NULL);
    TEST_CHECK(stub_logged("unknown option plugin_opt_bogus_option"));
    stub_reset();
    rc = mosquitto_plugin_init(NULL, &ud, opts + 1, 2);      /* no db_conninfo */
    TEST_CHECK(rc != MOSQ_ERR_SUCCESS && stub_logged("plugin_opt_db_conninfo is required"));
    stub_reset();
    opts[3] = opts[2];
    rc = mosquitto_plugin_init(NULL, &ud, opts, 4);          /* key_file twice */
    TEST_CHECK(rc != MOSQ_ERR_SUCCESS && stub_logged("given twice"));
    TEST_CHECK(mosquitto_plugin_version(0, NULL) == 5);
}

TEST_LIST = {
    {"device_key", test_device_key},
    {"client_id_must_equal_username", test_client_id_must_equal_username},
    {"bad_ids_refused_before_lookup", test_bad_ids_refused_before_lookup},
    {"password_cache_and_failures", test_password_cache_and_failures},
    {"slow_check_budget", test_slow_check_budget},
    {"officer_refused_before_any_hash_5", test_officer_refused_before_any_hash_5},
    {"refusals_logged_once_per_interval", test_refusals_logged_once_per_interval},
    {"tick_publishes_counters", test_tick_publishes_counters},
    {"options_fail_closed", test_options_fail_closed},
    {"plugin_init_fails_closed", test_plugin_init_fails_closed},
    {NULL, NULL},
};
