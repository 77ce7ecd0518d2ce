/* test_agent_config.c -- unit tests of edge-agent/agent_config.c: defaults, `[source <name>]`
 * sections filled through each source's own key table and checked by its check function,
 * every kind of bad file naming FILE:LINE and the key, and the password read from its file and
 * never echoed.
 *
 * It brings its own source table (agent_source_find and agent_sources of agent_source.h), two
 * small fake sources, so that it tests the loader and not the real sources. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_config.h"
#include "conf.h"
#include "log.h"
#include "tinytest.h"

/* ---- a fake source table ---------------------------------------------------------------- */

struct alpha_conf {
    char path[128];
    long long interval_ms;
};

static const struct conf_key alpha_keys[] = {
    {"path", CONF_STR, NULL, offsetof(struct alpha_conf, path),
     sizeof(((struct alpha_conf *)0)->path), 0, 0, "what it reads"},
    {"interval_ms", CONF_MS, "1s", offsetof(struct alpha_conf, interval_ms), sizeof(long long),
     10, 3600000, "how often"},
    CONF_END,
};

static int alpha_check(const void *conf, char *err, size_t errlen)
{
    const struct alpha_conf *c = conf;

    if (strcmp(c->path, "bad") == 0) {
        snprintf(err, errlen, "path: 'bad' is refused by the source");
        return MSG_ERR_CONFIG;
    }
    return MSG_OK;
}

static const struct agent_source fake_alpha = {
    .name = "alpha",
    .summary = "a test source",
    .keys = alpha_keys,
    .conf_size = sizeof(struct alpha_conf),
    .check = alpha_check,
};

struct beta_conf {
    long long n;
};

static const struct conf_key beta_keys[] = {
    {"n", CONF_INT, "3", offsetof(struct beta_conf, n), sizeof(long long), 1, 9, "a number"},
    CONF_END,
};

static const struct agent_source fake_beta = {
    .name = "beta",
    .summary = "another",
    .keys = beta_keys,
    .conf_size = sizeof(struct beta_conf),
};

const struct agent_source *const agent_sources[] = {&fake_alpha, &fake_beta, NULL};

const struct agent_source *agent_source_find(const char *name)
{
    for (size_t i = 0; agent_sources[i] != NULL; i++) {
        if (strcmp(agent_sources[i]->name, name) == 0) {
            return agent_sources[i];
        }
    }
    return NULL;
}

/* ---- helpers ------------------------------------------------------------------------------ */

static char dir[] = "/tmp/test_agent_config.XXXXXX";
static char conf_path[512];
static char secret_path[512];
static struct agent_config cfg;   /* large: off the stack */

static void write_file(const char *path, const char *text);

static void setup(void)
{
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        exit(1);
    }
    snprintf(conf_path, sizeof(conf_path), "%s/agent.conf", dir);
    snprintf(secret_path, sizeof(secret_path), "%s/mqtt.pass", dir);
    write_file(secret_path, "s3cret-pw\n");
}

static void write_file(const char *path, const char *text)
{
    FILE *f = NULL;

    f = fopen(path, "w");

    if (f == NULL) {
        perror(path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

/* The two required keys on lines 1-2, then extra from line 3. */
static int load(const char *extra, char *err, size_t errlen)
{
    char text[4096];

    if (conf_path[0] == '\0') {
        setup();
    }
    snprintf(text, sizeof(text), "device_id gw-test-01\nmqtt_host 127.0.0.1\n%s", extra);
    write_file(conf_path, text);
    err[0] = '\0';
    return agent_config_load(conf_path, &cfg, err, errlen);
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_defaults(void)
{
    char err[MSG_ERRLEN];

    TEST_CHECK(load("", err, sizeof(err)) == MSG_OK);
    TEST_MSG("err: %s", err);
    TEST_CHECK(strcmp(cfg.device_id, "gw-test-01") == 0);
    TEST_CHECK(cfg.mqtt_port == 1883);
    TEST_CHECK(!cfg.tls);
    TEST_CHECK(cfg.window == 500);
    TEST_CHECK(cfg.refuse_tries == 5);
    TEST_CHECK(cfg.refuse_backoff_ms == 40000);
    TEST_CHECK(cfg.reconnect_jitter == AGENT_JITTER_FULL);
    TEST_CHECK(cfg.clock_sync == AGENT_CLOCK_AUTO);
    TEST_CHECK(cfg.n_sources == 0);
    TEST_CHECK(cfg.mqtt_password[0] == '\0');
    TEST_CHECK(strcmp(cfg.store_path, "/var/lib/pantau-agent/agent.db") == 0);
    TEST_CHECK(agent_config_log_level(&cfg) == LOG_INFO);
}

static void test_values_and_store_limits(void)
{
    struct agent_store_limits lim;
    char err[MSG_ERRLEN];
    char extra[2048];

    snprintf(extra, sizeof(extra),
             "store_path /tmp/x.db\nstore_max_readings 500\nstore_max_age_ms 2h\n"
             "tls true\ntls_cafile %s\nmqtt_password_file %s\n"
             "reconnect_jitter decorrelated\nclock_sync unsynced\nlog_level debug\n",
             secret_path, secret_path);
    TEST_CHECK(load(extra, err, sizeof(err)) == MSG_OK);
    TEST_MSG("err: %s", err);
    TEST_CHECK(strcmp(cfg.mqtt_password, "s3cret-pw") == 0);
    TEST_CHECK(cfg.tls);
    TEST_CHECK(cfg.reconnect_jitter == AGENT_JITTER_DECORRELATED);
    TEST_CHECK(cfg.clock_sync == AGENT_CLOCK_UNSYNCED);
    TEST_CHECK(agent_config_log_level(&cfg) == LOG_DEBUG);
    agent_config_store_limits(&cfg, &lim);
    TEST_CHECK(lim.max_readings == 500);
    TEST_CHECK(lim.max_age_ms == 7200000);
    TEST_CHECK(lim.max_rejected == 1000);
}

/* issue 9, item 3: the pacing of every publish comes from the device's kind, under the broker's
 * documented limit (protocol.md 8), or from publish_rate/publish_burst; the refusal keys. */
static void test_pacing_from_kind_9_3(void)
{
    static const struct {
        const char *extra;
        const char *kind;
        double limit_rate, limit_burst, rate, burst;
    } cases[] = {
        {"", "any", 2.0, 50.0, 1.8, 25.0},
        {"device_kind flood_gateway\n", "flood_gateway", 5.0, 50.0, 4.5, 25.0},
        {"device_kind traffic_gateway\n", "traffic_gateway", 20.0, 200.0, 18.0, 100.0},
        {"device_kind handheld\n", "handheld", 2.0, 100.0, 1.8, 50.0},
        {"device_kind handheld\npublish_rate 1.5\npublish_burst 10\n", "handheld", 2.0, 100.0,
         1.5, 10.0},
    };
    struct agent_pacing p;
    char err[MSG_ERRLEN];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        TEST_CHECK(load(cases[i].extra, err, sizeof(err)) == MSG_OK);
        TEST_MSG("case %zu: %s", i, err);
        agent_config_pacing(&cfg, &p);
        TEST_CHECK(strcmp(p.kind, cases[i].kind) == 0);
        TEST_CHECK(p.limit_rate == cases[i].limit_rate && p.limit_burst == cases[i].limit_burst);
        TEST_CHECK(p.rate > cases[i].rate - 1e-9 && p.rate < cases[i].rate + 1e-9);
        TEST_CHECK(p.burst == cases[i].burst);
        TEST_MSG("case %zu: %s %g/s burst %g", i, p.kind, p.rate, p.burst);
    }
    TEST_CHECK(load("", err, sizeof(err)) == MSG_OK);
    TEST_CHECK(cfg.refuse_backoff_max_ms == 3600000);
    TEST_CHECK(cfg.refuse_give_up_ms == 172800000);
    TEST_CHECK(load("device_kind camera\n", err, sizeof(err)) == MSG_ERR_CONFIG);
    TEST_CHECK(strstr(err, ":3: device_kind: 'camera' is not") != NULL);
    TEST_MSG("err: %s", err);
    TEST_CHECK(load("refuse_backoff_ms 2h\n", err, sizeof(err)) == MSG_ERR_CONFIG);
    TEST_CHECK(strstr(err, "refuse_backoff_ms: 7200000 ms exceeds refuse_backoff_max_ms") != NULL);
    TEST_MSG("err: %s", err);
}

static void test_sections_fill_each_sources_struct(void)
{
    const struct alpha_conf *a1;
    const struct alpha_conf *a2;
    const struct beta_conf *b;
    char err[MSG_ERRLEN];

    TEST_CHECK(load("[source alpha]\npath /dev/ttyUSB0\ninterval_ms 5s\n"
                    "[source beta]\n"
                    "[source alpha]\npath /dev/ttyUSB1\n",
                    err, sizeof(err)) == MSG_OK);
    TEST_MSG("err: %s", err);
    if (!TEST_CHECK(cfg.n_sources == 3)) {
        return;
    }
    TEST_CHECK(cfg.sources[0].source == &fake_alpha);
    TEST_CHECK(cfg.sources[1].source == &fake_beta);
    TEST_CHECK(cfg.sources[0].line == 3);
    TEST_CHECK(cfg.sources[2].line == 7);
    a1 = (const struct alpha_conf *)cfg.sources[0].conf.bytes;
    b = (const struct beta_conf *)cfg.sources[1].conf.bytes;
    a2 = (const struct alpha_conf *)cfg.sources[2].conf.bytes;
    TEST_CHECK(strcmp(a1->path, "/dev/ttyUSB0") == 0 && a1->interval_ms == 5000);
    TEST_CHECK(b->n == 3);
    TEST_CHECK(strcmp(a2->path, "/dev/ttyUSB1") == 0 && a2->interval_ms == 1000);
}

struct bad_case {
    const char *name;
    const char *extra;         /* from line 3 */
    const char *want;          /* in err, after the file name */
};

static const struct bad_case bad_cases[] = {
    {"unknown_key", "mqtt_hots x\n", ":3: mqtt_hots: unknown key"},
    {"bad_number", "window 10x\n", ":3: window"},
    {"out_of_range", "mqtt_port 70000\n", ":3: mqtt_port"},
    {"bad_duration", "ack_timeout_min_ms 5 parsecs\n", ":3: ack_timeout_min_ms"},
    {"bad_bool", "tls maybe\n", ":3: tls"},
    {"twice", "window 10\nwindow 20\n", ":4: window"},
    {"bad_device_id", NULL, ":1: device_id"},
    {"bad_log_level", "\nlog_level loud\n", ":4: log_level"},
    {"bad_jitter", "reconnect_jitter none\n", ":3: reconnect_jitter"},
    {"bad_clock_sync", "clock_sync gps\n", ":3: clock_sync"},
    {"min_above_max", "reconnect_max_ms 1s\nreconnect_min_ms 5s\n", ":4: reconnect_min_ms"},
    {"initial_outside", "ack_timeout_initial_ms 1s\n", ":3: ack_timeout_initial_ms"},
    {"cert_without_key", "tls true\ntls_certfile /tmp/c.pem\n", ":4: tls_certfile"},
    {"ca_without_tls", "tls_cafile /tmp/ca.pem\n", ":3: tls_cafile"},
    {"missing_password_file", "mqtt_password_file /nonexistent/pw\n", ":3: mqtt_password_file"},
    {"bad_station", "stations cam-1 Cam/2\n", ":3: stations: 'Cam/2' is not a station id"},
    {"too_many_stations", "stations a b c d e f g h i j k l m n o p q\n",
     ":3: stations: more than 16 stations"},
    {"unknown_source", "[source gamma]\n", ":3: [source gamma]: unknown source 'gamma'"},
    {"unknown_section", "[sink x]\n", ":3: [sink x]: unknown section"},
    {"bad_key_in_source", "[source alpha]\npath x\npaht y\n", ":5: paht: unknown key in "
                                                              "[source alpha]"},
    {"bad_value_in_source", "[source beta]\nn 10\n", ":4: n: 10 out of range"},
    {"missing_key_in_source", "[source alpha]\ninterval_ms 2s\n", "[source alpha]: missing "
                                                                  "required key path"},
    {"source_check_fails", "\n[source alpha]\npath bad\n", ":4: [source alpha]: path: 'bad'"},
    {"device_key_in_source", "[source beta]\nwindow 5\n", ":4: window: unknown key"},
};

static void test_bad_files_name_file_line_and_key(void)
{
    char err[MSG_ERRLEN];

    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *c = &bad_cases[i];
        char want[600];
        int rc;

        if (c->extra == NULL) {
            load("", err, sizeof(err));
            write_file(conf_path, "device_id GW_01\nmqtt_host h\n");
            err[0] = '\0';
            rc = agent_config_load(conf_path, &cfg, err, sizeof(err));
        } else {
            rc = load(c->extra, err, sizeof(err));
        }
        snprintf(want, sizeof(want), "%s%s", conf_path, c->want);
        if (c->want[0] == '[') {
            snprintf(want, sizeof(want), "%s", c->want);
        }
        TEST_CHECK(rc == MSG_ERR_CONFIG && strstr(err, want) != NULL);
        TEST_MSG("case %s: rc=%d err='%s' (want '%s')", c->name, rc, err, want);
        TEST_CHECK(strstr(err, "s3cret-pw") == NULL);
    }
}

static void test_too_many_sources(void)
{
    char err[MSG_ERRLEN];
    char extra[1024] = "";

    for (int i = 0; i <= AGENT_SOURCES_MAX; i++) {
        strcat(extra, "[source beta]\n");
    }
    TEST_CHECK(load(extra, err, sizeof(err)) == MSG_ERR_CONFIG);
    TEST_CHECK(strstr(err, "more than") != NULL);
    TEST_MSG("err: %s", err);
}

static void test_missing_required_and_missing_file(void)
{
    char err[MSG_ERRLEN] = "";

    load("", err, sizeof(err));
    write_file(conf_path, "device_id gw-1\n");
    TEST_CHECK(agent_config_load(conf_path, &cfg, err, sizeof(err)) == MSG_ERR_CONFIG);
    TEST_CHECK(strstr(err, "mqtt_host") != NULL);
    TEST_CHECK(agent_config_load("/nonexistent/agent.conf", &cfg, err, sizeof(err)) ==
               MSG_ERR_IO);
    TEST_CHECK(strstr(err, "/nonexistent/agent.conf") != NULL);
}

static void test_password_not_kept_after_an_error(void)
{
    char err[MSG_ERRLEN];
    char extra[1024];

    snprintf(extra, sizeof(extra), "mqtt_password_file %s\nwindow 0\n", secret_path);
    TEST_CHECK(load(extra, err, sizeof(err)) == MSG_ERR_CONFIG);
    TEST_CHECK(cfg.mqtt_password[0] == '\0');
    TEST_CHECK(strstr(err, "s3cret-pw") == NULL);
}

static void test_print_lists_keys_and_sources(void)
{
    char path[600];
    char text[16384];
    FILE *f;
    size_t n;

    if (conf_path[0] == '\0') {
        setup();
    }
    snprintf(path, sizeof(path), "%s/print.txt", dir);
    f = fopen(path, "w+");
    if (!TEST_CHECK(f != NULL)) {
        return;
    }
    agent_config_print(f);
    rewind(f);
    n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    unlink(path);
    TEST_CHECK(strstr(text, "device_id") != NULL);
    TEST_CHECK(strstr(text, "replay_rate") != NULL);
    TEST_CHECK(strstr(text, "[source alpha]") != NULL);
    TEST_CHECK(strstr(text, "interval_ms") != NULL);
}

static void test_zz_cleanup(void)
{
    if (conf_path[0] == '\0') {
        setup();
    }
    unlink(conf_path);
    unlink(secret_path);
    TEST_CHECK(rmdir(dir) == 0);
}

TEST_LIST = {
    {"defaults", test_defaults},
    {"values_and_store_limits", test_values_and_store_limits},
    {"pacing_from_kind_9_3", test_pacing_from_kind_9_3},
    {"sections_fill_each_sources_struct", test_sections_fill_each_sources_struct},
    {"bad_files_name_file_line_and_key", test_bad_files_name_file_line_and_key},
    {"too_many_sources", test_too_many_sources},
    {"missing_required_and_missing_file", test_missing_required_and_missing_file},
    {"password_not_kept_after_an_error", test_password_not_kept_after_an_error},
    {"print_lists_keys_and_sources", test_print_lists_keys_and_sources},
    {"zz_cleanup", test_zz_cleanup},
    {NULL, NULL},
};
