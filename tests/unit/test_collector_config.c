/* test_collector_config.c -- unit tests of collector/collector_config.c: defaults, every kind of
 * bad file naming FILE:LINE and the key, secrets read from files and never echoed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector_config.h"

/* each test gets its own folder with the secret file in it (make_dir), removed after it */
static void make_dir(void);
static void remove_dir(void);
#define TEST_INIT make_dir()
#define TEST_FINI remove_dir()
#include "tinytest.h"

static char dir[64];
static char conf_path[512];
static char secret_path[512];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (f == NULL) {
        perror(path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

/* Writes a config: the required keys (with the secret file) and then `extra`. */
static void write_conf(const char *extra)
{
    char text[4096];

    snprintf(text, sizeof(text),
             "# test config\n"
             "collector_id collector-1\n"
             "db_conninfo host=/tmp dbname=pantau user=pantau_ingest\n"
             "db_password_file %s\n"
             "%s",
             secret_path, extra);
    write_file(conf_path, text);
}

struct bad_case {
    const char *name;
    const char *extra;       /* lines after the required ones (which take lines 1-4) */
    const char *want_in_err; /* e.g. ":5: batch_rows" */
};

static const struct bad_case bad_cases[] = {
    {"unknown_key_names_file_line_key", "bogus_key 1\n", ":5: bogus_key"},
    {"misspelt_key_is_unknown", "\nbatch_row 10\n", ":6: batch_row"},
    {"number_out_of_range", "batch_rows 0\n", ":5: batch_rows"},
    {"number_not_a_number", "mqtt_port 18x3\n", ":5: mqtt_port"},
    {"port_too_big", "mqtt_port 70000\n", ":5: mqtt_port"},
    {"duration_bad_unit", "ack_interval_ms 5 parsecs\n", ":5: ack_interval_ms"},
    {"key_given_twice", "batch_rows 10\nbatch_rows 20\n", ":6: batch_rows"},
    {"missing_value", "mqtt_host\n", ":5: mqtt_host"},
    {"bad_collector_id", "", ":1: collector_id"}, /* file written below */
    {"bad_log_level", "log_level loud\n", ":5: log_level"},
    {"bad_share_group", "share_group A/B\n", ":5: share_group"},
    {"mqtt_username_not_collector_id", "mqtt_username pantau-collector\n", ":5: mqtt_username"},
    {"backoff_max_below_min", "backoff_min_ms 5s\nbackoff_max_ms 1s\n", ":6: backoff_max_ms"},
    {"password_in_conninfo", NULL, ": db_conninfo"},
    {"missing_mqtt_password_file", "mqtt_password_file /nonexistent/pass\n",
     ":5: mqtt_password_file"},
};

static void bad_files_name_file_line_and_key(void)
{
    struct collector_config cfg;
    char err[MSG_ERRLEN];

    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *c = &bad_cases[i];
        int rc;

        if (strcmp(c->name, "bad_collector_id") == 0) {
            char text[1024];

            snprintf(text, sizeof(text),
                     "collector_id Collector_1\ndb_conninfo dbname=x\ndb_password_file %s\n",
                     secret_path);
            write_file(conf_path, text);
        } else if (c->extra == NULL) {
            char text[1024];

            snprintf(text, sizeof(text),
                     "collector_id c1\ndb_conninfo dbname=x password=hunter2\n"
                     "db_password_file %s\n",
                     secret_path);
            write_file(conf_path, text);
        } else {
            write_conf(c->extra);
        }
        err[0] = '\0';
        rc = collector_config_load(conf_path, &cfg, err, sizeof(err));
        TEST_CHECK(rc == MSG_ERR_CONFIG && strstr(err, conf_path) != NULL &&
                   strstr(err, c->want_in_err) != NULL);
        TEST_MSG("case %s: rc=%d err='%s' (want '%s')", c->name, rc, err, c->want_in_err);
        TEST_CHECK(strstr(err, "s3cret-pw") == NULL);
        TEST_MSG("case %s: the secret is echoed: err='%s'", c->name, err);
    }
}

static void defaults_apply_and_secret_is_read(void)
{
    struct collector_config cfg;
    char err[MSG_ERRLEN] = "";

    write_conf("");
    TEST_CHECK(collector_config_load(conf_path, &cfg, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(strcmp(cfg.collector_id, "collector-1") == 0);
    TEST_CHECK(strcmp(cfg.db_password, "s3cret-pw") == 0);
    TEST_CHECK(cfg.mqtt_port == 1883);
    TEST_CHECK(cfg.ack_interval_ms == 200);
    TEST_CHECK(cfg.batch_rows == 2000);
    TEST_CHECK(cfg.health_interval_ms == 60000);
    TEST_CHECK(strcmp(cfg.share_group, "pantau-collectors") == 0);
    TEST_CHECK(cfg.mqtt_password[0] == '\0');
    TEST_CHECK(cfg.metrics_port == 0);
}

static void values_are_read(void)
{
    struct collector_config cfg;
    char err[MSG_ERRLEN] = "";
    char extra[1024];

    snprintf(extra, sizeof(extra),
             "mqtt_host 127.0.0.1\n  mqtt_port   18830  \nack_interval_ms 2s\nbatch_ms 50\n"
             "mqtt_password_file %s\nlog_level debug\nmetrics_port 9464\n",
             secret_path);
    write_conf(extra);
    TEST_CHECK(collector_config_load(conf_path, &cfg, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(strcmp(cfg.mqtt_host, "127.0.0.1") == 0);
    TEST_CHECK(cfg.mqtt_port == 18830);
    TEST_CHECK(cfg.ack_interval_ms == 2000);
    TEST_CHECK(cfg.batch_ms == 50);
    TEST_CHECK(strcmp(cfg.mqtt_password, "s3cret-pw") == 0);
    TEST_CHECK(collector_config_log_level(&cfg) == 7);
    TEST_CHECK(cfg.metrics_port == 9464);
}

static void missing_required_key_and_missing_file(void)
{
    struct collector_config cfg;
    char err[MSG_ERRLEN] = "";

    write_file(conf_path, "collector_id c1\n");
    TEST_CHECK(collector_config_load(conf_path, &cfg, err, sizeof(err)) == MSG_ERR_CONFIG);
    TEST_CHECK(strstr(err, "db_conninfo") != NULL || strstr(err, "db_password_file") != NULL);
    TEST_CHECK(collector_config_load("/nonexistent/collector.conf", &cfg, err, sizeof(err)) ==
               MSG_ERR_IO);
    TEST_CHECK(strstr(err, "/nonexistent/collector.conf") != NULL);
}

static void make_dir(void)
{
    snprintf(dir, sizeof(dir), "/tmp/test_collector_config.XXXXXX");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        exit(1);
    }
    snprintf(conf_path, sizeof(conf_path), "%s/collector.conf", dir);
    snprintf(secret_path, sizeof(secret_path), "%s/db.pass", dir);
    write_file(secret_path, "s3cret-pw\n");
}

static void remove_dir(void)
{
    unlink(conf_path);
    unlink(secret_path);
    rmdir(dir);
}

TEST_LIST = {
    {"defaults_apply_and_secret_is_read", defaults_apply_and_secret_is_read},
    {"values_are_read", values_are_read},
    {"bad_files_name_file_line_and_key", bad_files_name_file_line_and_key},
    {"missing_required_key_and_missing_file", missing_required_key_and_missing_file},
    {NULL, NULL},
};
