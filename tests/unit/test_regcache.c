/* test_regcache.c -- the registry cache from its snapshot file (broker-plugins/regcache.h), with a
 * PostgreSQL that is not there (port 1: refused at once), as a broker starting while its
 * database is down. Loading from PostgreSQL, NOTIFY and kicks are covered by
 * tests/integration/test_broker_auth_*.py. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "mosquitto_stubs.h"
#include "msg_err.h"
#include "regcache.h"
#include "tinytest.h"

static char dir[64];
static char path[128];

static const char BODY[] =
    "A gw-1 device device_key 1 gw-1 flood_gateway 11 hmac-sha256$k=00000000$aa\n"
    "A gw-2 device device_key 0 gw-2 traffic_gateway 12 hmac-sha256$k=00000000$bb\n"
    "A officer-1 officer password 1 - - 13 pbkdf2-sha512$i=100000$cc$dd\n"
    "A collector-1 collector password 1 - - 14 pbkdf2-sha512$i=100000$ee$ff\n"
    "B gw-1 st-b 1000 2000 flood_gauge\n"
    "B gw-1 st-a - -\n"
    "B gw-2 cam-1 5000 - traffic_camera\n";

/* The binding of a (borrowed) to station, or NULL. */
static const struct msg_binding *binding(const struct regcache_account *a, const char *station)
{
    for (size_t i = 0; i < a->n_bindings; i++) {
        if (strcmp(a->bindings[i].station_id, station) == 0) {
            return &a->bindings[i];
        }
    }
    return NULL;
}

/* Writes magic, body and its sum line to path; cut > 0 drops that many bytes from the end (a
 * torn write). */
static void write_snapshot_as(const char *magic, const char *body, size_t cut)
{
    unsigned char sum[SHA256_DIGEST_LENGTH];
    char text[8192];
    size_t len;
    size_t i;
    FILE *f;

    if (dir[0] == '\0') {
        snprintf(dir, sizeof(dir), "/tmp/pantau-regcache-XXXXXX");
        if (mkdtemp(dir) == NULL) {
            abort();
        }
        snprintf(path, sizeof(path), "%s/registry.snapshot", dir);
    }
    len = (size_t)snprintf(text, sizeof(text), "%s%s", magic, body);
    SHA256((const unsigned char *)text, len, sum);
    len += (size_t)snprintf(text + len, sizeof(text) - len, "sum ");
    for (i = 0; i < sizeof(sum); i++) {
        len += (size_t)snprintf(text + len, sizeof(text) - len, "%02x", sum[i]);
    }
    len += (size_t)snprintf(text + len, sizeof(text) - len, "\n");
    f = fopen(path, "w");
    if (f == NULL) {
        abort();
    }
    fwrite(text, 1, len - cut, f);
    fclose(f);
}

/* A version 1 file, as a broker before schema/018 wrote it: most tests use one, so that an
 * old snapshot is shown to load. */
static void write_snapshot(const char *body, size_t cut)
{
    write_snapshot_as("pantau-regcache 1\n", body, cut);
}

static struct regcache *open_cache(void)
{
    struct regcache_config cfg;
    char err[MSG_ERRLEN] = "";
    struct regcache *rc;

    memset(&cfg, 0, sizeof(cfg));
    snprintf(cfg.conninfo, sizeof(cfg.conninfo),
             "host=127.0.0.1 port=1 connect_timeout=1 dbname=none user=none");
    snprintf(cfg.snapshot_path, sizeof(cfg.snapshot_path), "%s", path);
    cfg.reload_ms = 3600000;
    rc = regcache_new(&cfg, err, sizeof(err));
    TEST_CHECK(rc != NULL);
    TEST_MSG("regcache_new: %s", err);
    return rc;
}

static void test_file_loads_accounts(void)
{
    const struct regcache_account *a;
    struct regcache_info info;
    struct regcache *rc;

    stub_reset();
    write_snapshot(BODY, 0);
    rc = open_cache();
    if (rc == NULL) {
        return;
    }
    regcache_info(rc, &info);
    TEST_CHECK(info.accounts == 4);
    TEST_CHECK(info.from_file);
    TEST_CHECK(!info.db_ok);
    TEST_CHECK(regcache_generation(rc) == 1);
    a = regcache_find(rc, "gw-1");
    TEST_CHECK(a != NULL);
    if (a != NULL) {
        TEST_CHECK(a->role == REGCACHE_ROLE_DEVICE && a->enabled);
        TEST_CHECK(a->secret_kind == REGCACHE_SECRET_DEVICE_KEY);
        TEST_CHECK(strcmp(a->device_id, "gw-1") == 0 && a->kind == MSG_KIND_FLOOD_GATEWAY);
        TEST_CHECK(strcmp(a->secret_hash, "hmac-sha256$k=00000000$aa") == 0);
        TEST_CHECK(a->version == 11 && a->n_bindings == 2);
        /* [from, to) as written, '-' unbounded; a line without a kind (an older broker's
         * file) has the kind unknown. Judged by msg_binding_check (test_msg_binding.c). */
        TEST_CHECK(binding(a, "st-b") != NULL && binding(a, "st-b")->from_ms == 1000 &&
                   binding(a, "st-b")->to_ms == 2000 &&
                   binding(a, "st-b")->kind == MSG_STATION_GAUGE);
        TEST_CHECK(binding(a, "st-a") != NULL && binding(a, "st-a")->from_ms == INT64_MIN &&
                   binding(a, "st-a")->to_ms == INT64_MAX &&
                   binding(a, "st-a")->kind == MSG_STATION_UNKNOWN);
        TEST_CHECK(binding(a, "cam-1") == NULL);   /* gw-2's */
    }
    a = regcache_find(rc, "gw-2");
    TEST_CHECK(a != NULL && !a->enabled && a->kind == MSG_KIND_TRAFFIC_GATEWAY);
    TEST_CHECK(a != NULL && a->n_bindings == 1 && binding(a, "cam-1") != NULL &&
               binding(a, "cam-1")->from_ms == 5000 &&
               binding(a, "cam-1")->kind == MSG_STATION_CAMERA);
    a = regcache_find(rc, "officer-1");
    TEST_CHECK(a != NULL && a->role == REGCACHE_ROLE_OFFICER && a->device_id[0] == '\0');
    TEST_CHECK(a != NULL && a->secret_kind == REGCACHE_SECRET_PASSWORD && a->n_bindings == 0);
    TEST_CHECK(regcache_find(rc, "collector-1") != NULL);
    TEST_CHECK(regcache_find(rc, "nobody") == NULL);
    TEST_CHECK(regcache_find(rc, "") == NULL);
    TEST_CHECK(regcache_find(rc, NULL) == NULL);
    TEST_CHECK(regcache_find(rc, "a-name-longer-than-sixty-four-bytes-a-name-longer-than-sixty-"
                                 "four") == NULL);
    TEST_CHECK(!regcache_refresh(rc, NULL, NULL));           /* nothing new from PostgreSQL */
    TEST_CHECK(regcache_find(rc, "gw-1") != NULL);           /* the file's copy is kept */
    regcache_free(rc);
}

static void test_torn_file_is_ignored(void)
{
    struct regcache_info info;
    struct regcache *rc;
    size_t cuts[] = {1, 10, 70, 200};
    size_t i;

    for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        stub_reset();
        write_snapshot(BODY, cuts[i]);
        rc = open_cache();
        if (rc == NULL) {
            continue;
        }
        regcache_info(rc, &info);
        TEST_CHECK(info.accounts == 0);                      /* fail closed */
        TEST_MSG("cut %zu", cuts[i]);
        TEST_CHECK(regcache_find(rc, "gw-1") == NULL);
        TEST_CHECK(stub_logged("snapshot file ignored"));
        regcache_free(rc);
    }
}

static void test_altered_file_is_ignored(void)
{
    struct regcache *rc;
    char text[8192];
    size_t n;
    FILE *f;

    stub_reset();
    write_snapshot(BODY, 0);
    f = fopen(path, "r");
    n = fread(text, 1, sizeof(text), f);
    fclose(f);
    /* enable gw-2 by hand: the sum no longer matches */
    memcpy(strstr(text, "device_key 0"), "device_key 1", 12);
    f = fopen(path, "w");
    fwrite(text, 1, n, f);
    fclose(f);
    rc = open_cache();
    TEST_CHECK(rc != NULL && regcache_find(rc, "gw-2") == NULL);
    TEST_CHECK(stub_logged("checksum"));
    regcache_free(rc);
}

static void test_bad_lines_are_refused(void)
{
    static const char *const bodies[] = {
        "A gw-1 wizard device_key 1 gw-1 flood_gateway 1 h\n",        /* role */
        "A gw-1 device device_key 1 gw-1 boat 1 h\n",                 /* kind */
        "A gw+1 device device_key 1 gw+1 flood_gateway 1 h\n",        /* id form */
        "A gw-1 device device_key 2 gw-1 flood_gateway 1 h\n",        /* enabled flag */
        "A gw-1 device device_key 1 gw-1 flood_gateway x h\n",        /* version */
        "A gw-1 device device_key 1 gw-1 flood_gateway 1\n",          /* fields */
        "A officer-1 officer password 1 gw-1 flood_gateway 1 h\n",    /* device on a person */
        ("A gw-1 device device_key 1 gw-1 flood_gateway 1 h\n"
         "A gw-1 device device_key 1 gw-1 flood_gateway 2 h\n"),       /* twice */
        "B gw-1 st-1 abc -\n",                                        /* binding time */
        "B gw-1 st-1 - - boat\n",                                     /* station kind */
        "X what\n",                                                   /* line type */
    };
    struct regcache *rc;
    size_t i;

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        stub_reset();
        write_snapshot(bodies[i], 0);
        rc = open_cache();
        if (rc == NULL) {
            continue;
        }
        TEST_CHECK(regcache_find(rc, "gw-1") == NULL && regcache_find(rc, "officer-1") == NULL);
        TEST_MSG("body %zu accepted", i);
        TEST_CHECK(stub_logged("snapshot file ignored"));
        regcache_free(rc);
    }
}

/* Version 2 (schema/018): every A line ends with the unit of a unit account, '-' otherwise. */
static const char BODY_V2[] =
    "A gw-1 device device_key 1 gw-1 flood_gateway 11 hmac-sha256$k=00000000$aa -\n"
    "A console-bpbd unit password 1 - - 15 pbkdf2-sha512$i=100000$cc$dd bpbd\n"
    "A rina dashboard password 1 - - 16 pbkdf2-sha512$i=100000$ee$ff -\n"
    "B gw-1 st-b 1000 2000 flood_gauge\n";

static void test_issue11_v2_file_loads_unit_accounts(void)
{
    const struct regcache_account *a;
    struct regcache_info info;
    struct regcache *rc;

    stub_reset();
    write_snapshot_as("pantau-regcache 2\n", BODY_V2, 0);
    rc = open_cache();
    if (rc == NULL) {
        return;
    }
    regcache_info(rc, &info);
    TEST_CHECK(info.accounts == 3 && info.from_file);
    TEST_CHECK(stub_logged("(version 2)"));
    a = regcache_find(rc, "console-bpbd");
    TEST_CHECK(a != NULL && a->role == REGCACHE_ROLE_UNIT && strcmp(a->unit_id, "bpbd") == 0);
    TEST_CHECK(a != NULL && a->device_id[0] == '\0' && a->version == 15);
    a = regcache_find(rc, "rina");
    TEST_CHECK(a != NULL && a->role == REGCACHE_ROLE_DASHBOARD && a->unit_id[0] == '\0');
    a = regcache_find(rc, "gw-1");
    TEST_CHECK(a != NULL && a->unit_id[0] == '\0' && a->n_bindings == 1);
    /* a version 1 file gives every account no unit */
    regcache_free(rc);
    stub_reset();
    write_snapshot(BODY, 0);
    rc = open_cache();
    a = rc != NULL ? regcache_find(rc, "collector-1") : NULL;
    TEST_CHECK(a != NULL && a->unit_id[0] == '\0');
    TEST_CHECK(stub_logged("(version 1, no unit accounts"));
    regcache_free(rc);
}

static void test_issue11_bad_unit_lines_are_refused(void)
{
    static const struct {
        const char *magic;
        const char *body;
    } cases[] = {
        /* a unit account in a version 1 file: version 1 could not hold one */
        {"pantau-regcache 1\n", "A gw-1 unit password 1 - - 1 h\n"},
        /* version 2: a 9-field line, a unit without its unit, a bad unit id, a unit on a
         * device, an eleventh field */
        {"pantau-regcache 2\n", "A gw-1 device device_key 1 gw-1 flood_gateway 1 h\n"},
        {"pantau-regcache 2\n", "A gw-1 unit password 1 - - 1 h -\n"},
        {"pantau-regcache 2\n", "A gw-1 unit password 1 - - 1 h BPBD\n"},
        {"pantau-regcache 2\n",
         "A gw-1 unit password 1 - - 1 h a23456789012345678901234567890123\n"}, /* 33 bytes */
        {"pantau-regcache 2\n", "A gw-1 device device_key 1 gw-1 flood_gateway 1 h bpbd\n"},
        {"pantau-regcache 2\n", "A gw-1 unit password 1 - - 1 h bpbd x\n"},
        /* a version this broker does not know */
        {"pantau-regcache 3\n", "A gw-1 device device_key 1 gw-1 flood_gateway 1 h -\n"},
    };
    struct regcache *rc;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        stub_reset();
        write_snapshot_as(cases[i].magic, cases[i].body, 0);
        rc = open_cache();
        if (rc == NULL) {
            continue;
        }
        TEST_CHECK(regcache_find(rc, "gw-1") == NULL);
        TEST_MSG("case %zu accepted", i);
        TEST_CHECK(stub_logged("snapshot file ignored"));
        regcache_free(rc);
    }
}

static void test_no_file_is_empty(void)
{
    struct regcache_info info;
    struct regcache *rc;

    stub_reset();
    write_snapshot(BODY, 0);
    unlink(path);
    rc = open_cache();
    if (rc == NULL) {
        return;
    }
    regcache_info(rc, &info);
    TEST_CHECK(info.accounts == 0 && !info.from_file);
    TEST_CHECK(!stub_logged("snapshot file ignored"));       /* absent is not damaged */
    TEST_CHECK(regcache_find(rc, "gw-1") == NULL);
    TEST_CHECK(regcache_generation(rc) == 0);
    regcache_free(rc);
}

static void test_db_failure_logged_from_broker_thread(void)
{
    struct regcache *rc;

    stub_reset();
    write_snapshot(BODY, 0);
    rc = open_cache();
    if (rc == NULL) {
        return;
    }
    /* regcache_new waited for the first attempt and printed its queued lines */
    TEST_CHECK(stub_logged("PostgreSQL unreachable"));
    regcache_free(rc);
}

static void test_bad_config(void)
{
    struct regcache_config cfg;
    char err[MSG_ERRLEN] = "";

    memset(&cfg, 0, sizeof(cfg));
    cfg.reload_ms = 1000;
    TEST_CHECK(regcache_new(&cfg, err, sizeof(err)) == NULL);
    TEST_CHECK(strstr(err, "snapshot") != NULL);
    regcache_free(NULL);
}

TEST_LIST = {
    {"file_loads_accounts", test_file_loads_accounts},
    {"torn_file_is_ignored", test_torn_file_is_ignored},
    {"altered_file_is_ignored", test_altered_file_is_ignored},
    {"bad_lines_are_refused", test_bad_lines_are_refused},
    {"issue11_v2_file_loads_unit_accounts", test_issue11_v2_file_loads_unit_accounts},
    {"issue11_bad_unit_lines_are_refused", test_issue11_bad_unit_lines_are_refused},
    {"no_file_is_empty", test_no_file_is_empty},
    {"db_failure_logged_from_broker_thread", test_db_failure_logged_from_broker_thread},
    {"bad_config", test_bad_config},
    {NULL, NULL},
};
