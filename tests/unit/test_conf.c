/* test_conf.c -- unit tests of msg/conf.c: `key value` config files with a const key table.
 * Every error case checks that the message names the file, the line and the key. */
#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "msg_err.h"
#include "tinytest.h"

struct cfg {
    char host[32];
    long long port;
    bool tls;
    double ratio;
    long long wait_ms;
    char secret[64];
};

static const struct conf_key table[] = {
    {"host", CONF_STR, NULL, offsetof(struct cfg, host), sizeof(((struct cfg *)0)->host), 0, 0,
     "broker host"},
    {"port", CONF_INT, "1883", offsetof(struct cfg, port), sizeof(long long), 1, 65535,
     "broker port"},
    {"tls", CONF_BOOL, "false", offsetof(struct cfg, tls), sizeof(bool), 0, 0, "use TLS"},
    {"ratio", CONF_DOUBLE, "0.5", offsetof(struct cfg, ratio), sizeof(double), 0, 1, "a share"},
    {"wait", CONF_MS, "5s", offsetof(struct cfg, wait_ms), sizeof(long long), 0, 3600000, "a wait"},
    {"secret_file", CONF_SECRET_FILE, "", offsetof(struct cfg, secret),
     sizeof(((struct cfg *)0)->secret), 0, 0, "a secret"},
    CONF_END,
};

/* Writes text to a new temporary file; the caller unlinks path. */
static void write_file(char *path, size_t size, const char *text)
{
    FILE *f;
    int fd;

    snprintf(path, size, "/tmp/test_conf.XXXXXX");
    fd = mkstemp(path);
    if (!TEST_CHECK(fd >= 0)) {
        return;
    }
    f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
}

static int load(const char *text, struct cfg *c, char *err, size_t errlen, char *path,
                size_t pathlen)
{
    int rc;

    memset(c, 0, sizeof(*c));
    write_file(path, pathlen, text);
    rc = conf_load(path, table, c, NULL, NULL, err, errlen);
    return rc;
}

static void test_values_and_defaults(void)
{
    struct cfg c;
    char err[MSG_ERRLEN] = "";
    char path[64];
    int rc = load("# comment\n\nhost   broker.local  \n  wait 250ms\ntls yes\n", &c, err,
                  sizeof(err), path, sizeof(path));

    TEST_CHECK(rc == MSG_OK);
    TEST_MSG("err: %s", err);
    TEST_CHECK(strcmp(c.host, "broker.local") == 0);
    TEST_CHECK(c.port == 1883);
    TEST_CHECK(c.tls);
    TEST_CHECK(c.ratio == 0.5);
    TEST_CHECK(c.wait_ms == 250);
    unlink(path);
}

static void test_durations(void)
{
    static const struct {
        const char *text;
        long long ms;
    } rows[] = {{"host h\nwait 7\n", 7},
                {"host h\nwait 3s\n", 3000},
                {"host h\nwait 2m\n", 120000},
                {"host h\nwait 1h\n", 3600000},
                {"host h\nwait 0ms\n", 0}};

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct cfg c;
        char err[MSG_ERRLEN] = "";
        char path[64];
        int rc = load(rows[i].text, &c, err, sizeof(err), path, sizeof(path));

        TEST_CHECK(rc == MSG_OK && c.wait_ms == rows[i].ms);
        TEST_MSG("%s -> rc %d, %lld ms: %s", rows[i].text, rc, c.wait_ms, err);
        unlink(path);
    }
}

/* Each bad file: the code and the words the error must contain (after "FILE:"). */
static void test_errors_name_file_line_and_key(void)
{
    static const struct {
        const char *text;
        int rc;
        const char *want;
    } rows[] = {
        {"host h\nbogus 1\n", MSG_ERR_CONFIG, ":2: bogus: unknown key"},
        {"host h\nport 80x\n", MSG_ERR_CONFIG, ":2: port: '80x' is not an integer"},
        {"host h\nport 0\n", MSG_ERR_CONFIG, ":2: port: 0 out of range 1..65535"},
        {"host h\nport 65536\n", MSG_ERR_CONFIG, ":2: port: 65536 out of range"},
        {"host h\nport 99999999999999999999\n", MSG_ERR_CONFIG, ":2: port: "},
        {"host h\nhost i\n", MSG_ERR_CONFIG, ":2: host: key given twice"},
        {"host\n", MSG_ERR_CONFIG, ":1: host: missing value"},
        {"port 10\n", MSG_ERR_CONFIG, "missing required key host"},
        {"host h\ntls maybe\n", MSG_ERR_CONFIG, ":2: tls: 'maybe' is not a boolean"},
        {"host h\nratio nan\n", MSG_ERR_CONFIG, ":2: ratio: 'nan' is not a number"},
        {"host h\nratio inf\n", MSG_ERR_CONFIG, ":2: ratio: 'inf' is not a number"},
        {"host h\nratio 1.5\n", MSG_ERR_CONFIG, ":2: ratio: 1.5 out of range 0..1"},
        {"host h\nwait 5 s\n", MSG_ERR_CONFIG, ":2: wait: '5 s' is not a duration"},
        {"host h\nwait -1s\n", MSG_ERR_CONFIG, ":2: wait: '-1s' is not a duration"},
        {"host h\nwait 2h\n", MSG_ERR_CONFIG, ":2: wait: 2h out of range 0..3600000 ms"},
        {"host 0123456789012345678901234567890123\n", MSG_ERR_CONFIG,
         ":1: host: value longer than 31 bytes"},
        {"host h\n[source x]\n", MSG_ERR_CONFIG, ":2: [source]: sections are not allowed"},
        {"host h\nsecret_file /nonexistent/secret\n", MSG_ERR_CONFIG,
         ":2: secret_file: cannot read secret file /nonexistent/secret"},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct cfg c;
        char err[MSG_ERRLEN] = "";
        char path[64];
        int rc = load(rows[i].text, &c, err, sizeof(err), path, sizeof(path));

        TEST_CHECK(rc == rows[i].rc);
        TEST_MSG("case %zu: rc %d, want %d: %s", i, rc, rows[i].rc, err);
        TEST_CHECK(strstr(err, rows[i].want) != NULL);
        TEST_MSG("case %zu: err '%s' lacks '%s'", i, err, rows[i].want);
        TEST_CHECK(strncmp(err, path, strlen(path)) == 0);
        TEST_MSG("case %zu: err '%s' does not start with the file name", i, err);
        unlink(path);
    }
}

static void test_long_line_is_an_error(void)
{
    char text[2200];
    struct cfg c;
    char err[MSG_ERRLEN] = "";
    char path[64];
    int rc;

    memset(text, 'a', sizeof(text));
    memcpy(text, "host ", 5);
    text[sizeof(text) - 2] = '\n';
    text[sizeof(text) - 1] = '\0';
    rc = load(text, &c, err, sizeof(err), path, sizeof(path));
    TEST_CHECK(rc == MSG_ERR_CONFIG && strstr(err, ":1: line longer than") != NULL);
    TEST_MSG("rc %d: %s", rc, err);
    unlink(path);
}

static void test_missing_file(void)
{
    struct cfg c;
    char err[MSG_ERRLEN] = "";
    int rc = conf_load("/nonexistent/pantau.conf", table, &c, NULL, NULL, err, sizeof(err));

    TEST_CHECK(rc == MSG_ERR_IO);
    TEST_CHECK(strstr(err, "/nonexistent/pantau.conf") != NULL);
    TEST_MSG("%s", err);
}

static void test_secret_is_read_and_never_echoed(void)
{
    struct cfg c;
    char err[MSG_ERRLEN] = "";
    char secret_path[64];
    char path[64];
    char text[256];
    int rc;

    write_file(secret_path, sizeof(secret_path), "s3cr3t-value\nsecond line\n");
    snprintf(text, sizeof(text), "host h\nsecret_file %s\n", secret_path);
    rc = load(text, &c, err, sizeof(err), path, sizeof(path));
    TEST_CHECK(rc == MSG_OK && strcmp(c.secret, "s3cr3t-value") == 0);
    TEST_MSG("rc %d, err %s", rc, err);
    unlink(path);
    unlink(secret_path);

    /* too long for the field: an error that does not show the secret */
    write_file(secret_path, sizeof(secret_path),
               "0123456789012345678901234567890123456789012345678901234567890123456789\n");
    snprintf(text, sizeof(text), "host h\nsecret_file %s\n", secret_path);
    rc = load(text, &c, err, sizeof(err), path, sizeof(path));
    TEST_CHECK(rc == MSG_ERR_CONFIG && strstr(err, "longer than 63 bytes") != NULL);
    TEST_MSG("rc %d, err %s", rc, err);
    TEST_CHECK(strstr(err, "0123456789") == NULL);
    TEST_CHECK(c.secret[0] == '\0');
    unlink(path);
    unlink(secret_path);
}

/* Sections: the agent's `[source NAME]` blocks. */
struct src {
    char kind[16];
    long long interval;
};

struct sections {
    struct src src[2];
    int n;
};

static const struct conf_key src_table[] = {
    {"kind", CONF_STR, NULL, offsetof(struct src, kind), sizeof(((struct src *)0)->kind), 0, 0,
     "source kind"},
    {"interval", CONF_MS, "1s", offsetof(struct src, interval), sizeof(long long), 1, 86400000,
     "sampling interval"},
    CONF_END,
};

static const struct conf_key *on_section(void *ctx, const char *name, const char *arg, void **obj,
                                         char *err, size_t errlen)
{
    struct sections *s = ctx;

    if (strcmp(name, "source") != 0) {
        snprintf(err, errlen, "unknown section");
        return NULL;
    }
    if (s->n == 2) {
        snprintf(err, errlen, "at most 2 sources");
        return NULL;
    }
    (void)arg;
    *obj = &s->src[s->n++];
    return src_table;
}

static void test_sections(void)
{
    static const struct {
        const char *text;
        int rc;
        const char *want;
    } rows[] = {
        {"host h\n[source a]\nkind flood\n[source b]\nkind cam\ninterval 2s\n", MSG_OK, ""},
        {"host h\n[source a]\ninterval 2s\n", MSG_ERR_CONFIG,
         "[source a]: missing required key kind"},
        {"host h\n[source a]\nkind x\nport 5\n", MSG_ERR_CONFIG,
         ":4: port: unknown key in [source a]"},
        {"host h\n[sink a]\n", MSG_ERR_CONFIG, ":2: [sink a]: unknown section"},
        {"host h\n[source a\n", MSG_ERR_CONFIG, ":2: section line must read [name arg]"},
        {"[source a]\nkind x\n", MSG_ERR_CONFIG, "missing required key host"},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct cfg c;
        struct sections s;
        char err[MSG_ERRLEN] = "";
        char path[64];
        int rc;

        memset(&c, 0, sizeof(c));
        memset(&s, 0, sizeof(s));
        write_file(path, sizeof(path), rows[i].text);
        rc = conf_load(path, table, &c, on_section, &s, err, sizeof(err));
        TEST_CHECK(rc == rows[i].rc && strstr(err, rows[i].want) != NULL);
        TEST_MSG("case %zu: rc %d: '%s', want '%s'", i, rc, err, rows[i].want);
        if (i == 0) {
            TEST_CHECK(s.n == 2 && strcmp(s.src[0].kind, "flood") == 0 &&
                       s.src[0].interval == 1000 && strcmp(s.src[1].kind, "cam") == 0 &&
                       s.src[1].interval == 2000);
        }
        unlink(path);
    }
}

/* conf_set: one key from a name and a value, as the broker plugin's options come. Its error
 * reads "KEY: why", the same words conf_load writes after "FILE:LINE: " for the line
 * `KEY VALUE`. */
static void test_set_one_key(void)
{
    static const struct {
        const char *key;
        const char *value;
        int rc;
        const char *want; /* the whole error */
    } rows[] = {
        {"host", "broker", MSG_OK, ""},
        {"port", "8883", MSG_OK, ""},
        {"tls", "on", MSG_OK, ""},
        {"ratio", "0.25", MSG_OK, ""},
        {"wait", "2m", MSG_OK, ""},
        {"bogus", "1", MSG_ERR_CONFIG, "bogus: unknown key"},
        {"Port", "1", MSG_ERR_CONFIG, "Port: unknown key"},
        {"port", "80x", MSG_ERR_CONFIG, "port: '80x' is not an integer"},
        {"port", "0", MSG_ERR_CONFIG, "port: 0 out of range 1..65535"},
        {"host", "", MSG_ERR_CONFIG, "host: missing value"},
        {"tls", "maybe", MSG_ERR_CONFIG,
         "tls: 'maybe' is not a boolean (true/false, yes/no, on/off, 1/0)"},
        {"wait", "2h", MSG_ERR_CONFIG, "wait: 2h out of range 0..3600000 ms"},
        {"host", "0123456789012345678901234567890123", MSG_ERR_CONFIG,
         "host: value longer than 31 bytes"},
        {"secret_file", "/nonexistent/secret", MSG_ERR_CONFIG,
         "secret_file: cannot read secret file /nonexistent/secret: No such file or directory"},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct cfg c;
        struct cfg before;
        char err[MSG_ERRLEN] = "";
        char lerr[MSG_ERRLEN] = "";
        char text[128];
        char path[64];
        char want[MSG_ERRLEN + 80];
        int rc;

        memset(&c, 0, sizeof(c));
        TEST_CHECK(conf_defaults(table, &c, err, sizeof(err)) == MSG_OK);
        before = c;
        rc = conf_set(table, &c, rows[i].key, rows[i].value, err, sizeof(err));
        TEST_CHECK(rc == rows[i].rc);
        TEST_CHECK(strcmp(err, rows[i].want) == 0);
        TEST_MSG("%s '%s': rc %d, err '%s', want '%s'", rows[i].key, rows[i].value, rc, err,
                 rows[i].want);
        if (rc != MSG_OK) {
            /* a refused value leaves the other keys as they were */
            TEST_CHECK(c.port == before.port && c.tls == before.tls && c.wait_ms == before.wait_ms);
            snprintf(text, sizeof(text), "%s %s\n", rows[i].key, rows[i].value);
            TEST_CHECK(load(text, &c, lerr, sizeof(lerr), path, sizeof(path)) == rc);
            snprintf(want, sizeof(want), "%s:1: %s", path, err);
            TEST_CHECK(strcmp(lerr, want) == 0);
            TEST_MSG("conf_load: '%s', conf_set: '%s'", lerr, err);
            unlink(path);
        }
    }
}

static void test_set_values(void)
{
    struct cfg c;
    char err[MSG_ERRLEN] = "";

    memset(&c, 0, sizeof(c));
    TEST_CHECK(conf_defaults(table, &c, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(conf_set(table, &c, "host", "broker", err, sizeof(err)) == MSG_OK);
    TEST_CHECK(conf_set(table, &c, "port", "8883", err, sizeof(err)) == MSG_OK);
    TEST_CHECK(conf_set(table, &c, "tls", "on", err, sizeof(err)) == MSG_OK);
    TEST_CHECK(conf_set(table, &c, "ratio", "0.25", err, sizeof(err)) == MSG_OK);
    TEST_CHECK(conf_set(table, &c, "wait", "2m", err, sizeof(err)) == MSG_OK);
    TEST_CHECK(strcmp(c.host, "broker") == 0);
    TEST_CHECK(c.port == 8883);
    TEST_CHECK(c.tls);
    TEST_CHECK(c.ratio == 0.25);
    TEST_CHECK(c.wait_ms == 120000);
    TEST_CHECK(conf_set(table, &c, "port", "1884", err, sizeof(err)) == MSG_OK);
    TEST_CHECK(c.port == 1884); /* a second set replaces: repeats are the caller's to refuse */
}

static void test_key_line_and_error(void)
{
    char path[64];
    char err[MSG_ERRLEN] = "";

    write_file(path, sizeof(path),
               "# port 1\nhost a\n\n  port   8883\nports 2\n[source x]\nwait 5s\n");
    TEST_CHECK(conf_key_line(path, "host") == 2);
    TEST_CHECK(conf_key_line(path, "port") == 4); /* not the comment, not "ports" */
    TEST_MSG("port at line %u", conf_key_line(path, "port"));
    TEST_CHECK(conf_key_line(path, "ports") == 5);
    TEST_CHECK(conf_key_line(path, "wait") == 0); /* only in a section */
    TEST_CHECK(conf_key_line(path, "tls") == 0);  /* a default */
    conf_key_error(err, sizeof(err), path, "port", "above %d", 1024);
    TEST_CHECK(strstr(err, ":4: port: above 1024") != NULL);
    TEST_MSG("err: %s", err);
    conf_key_error(err, sizeof(err), path, "tls", "set without certs");
    TEST_CHECK(strncmp(err, path, strlen(path)) == 0 &&
               strcmp(err + strlen(path), ": tls: set without certs") == 0);
    TEST_MSG("err: %s", err);
    unlink(path);
    TEST_CHECK(conf_key_line(path, "host") == 0); /* unreadable */
}

TEST_LIST = {
    {"values_and_defaults", test_values_and_defaults},
    {"durations", test_durations},
    {"errors_name_file_line_and_key", test_errors_name_file_line_and_key},
    {"long_line_is_an_error", test_long_line_is_an_error},
    {"missing_file", test_missing_file},
    {"secret_is_read_and_never_echoed", test_secret_is_read_and_never_echoed},
    {"sections", test_sections},
    {"set_one_key", test_set_one_key},
    {"set_values", test_set_values},
    {"key_line_and_error", test_key_line_and_error},
    {NULL, NULL},
};
