/* test_msg_topic.c -- unit tests of msg/msg_topic.c: the topic scheme (protocol.md 3 and 10),
 * identifiers (2) and which device kind may publish which stream (3). */
#include <stdio.h>
#include <string.h>

#include "msg_topic.h"
#include "tinytest.h"

#define ID64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

struct row {
    const char *name;
    const char *topic;
    int rc;
    enum msg_stream stream;
    const char *device;
    const char *collector;
    const char *want; /* for errors: text err must contain */
};

#define GOOD(name, t, s, dev, col)         \
    {                                      \
        name, t, MSG_OK, s, dev, col, NULL \
    }
#define BAD(name, t, want)                                     \
    {                                                          \
        name, t, MSG_ERR_TOPIC, MSG_STREAM_FLOOD, "", "", want \
    }

static void test_parse(void)
{
    static const struct row rows[] = {
        GOOD("flood", "pantau/v1/gw-p2c-01/flood", MSG_STREAM_FLOOD, "gw-p2c-01", ""),
        GOOD("traffic", "pantau/v1/gw-atcs-1/traffic", MSG_STREAM_TRAFFIC, "gw-atcs-1", ""),
        GOOD("incident", "pantau/v1/gw.a_b-c/incident", MSG_STREAM_INCIDENT, "gw.a_b-c", ""),
        GOOD("larva", "pantau/v1/hh-1/larva", MSG_STREAM_LARVA, "hh-1", ""),
        GOOD("dropped", "pantau/v1/0dev/dropped", MSG_STREAM_DROPPED, "0dev", ""),
        GOOD("status", "pantau/v1/d/status", MSG_STREAM_STATUS, "d", ""),
        GOOD("ack", "pantau/v1/d/ack", MSG_STREAM_ACK, "d", ""),
        GOOD("health", "pantau/v1/_sys/health/collector-1", MSG_STREAM_HEALTH, "", "collector-1"),
        GOOD("rejected", "pantau/v1/_sys/rejected", MSG_STREAM_REJECTED, "", ""),
        GOOD("restore (6.3)", "pantau/v1/_sys/restore", MSG_STREAM_RESTORE, "", ""),
        BAD("restore with more levels", "pantau/v1/_sys/restore/x",
            "topic level 5 'x': too many levels after _sys/restore"),
        BAD("restore with a suffix", "pantau/v1/_sys/restorex", "not a _sys topic"),
        GOOD("a device's stream named restore is none", "pantau/v1/restore/ack", MSG_STREAM_ACK,
             "restore", ""),
        BAD("restore is no device stream", "pantau/v1/gw/restore", "'restore': unknown stream"),
        GOOD("device id of 64 characters", "pantau/v1/" ID64 "/flood", MSG_STREAM_FLOOD, ID64, ""),
        GOOD("collector id of 64 characters", "pantau/v1/_sys/health/" ID64, MSG_STREAM_HEALTH, "",
             ID64),
        BAD("unknown version (section 10)", "pantau/v2/gw-p2c-01/flood",
            "topic level 2 (version) 'v2': unknown version"),
        BAD("unknown stream (10)", "pantau/v1/gw-p2c-01/rain",
            "topic level 4 (stream) 'rain': unknown stream"),
        BAD("upper case (10)", "pantau/v1/GW-P2C-01/flood",
            "topic level 3 (device) 'GW-P2C-01': upper case"),
        BAD("plus (10)", "pantau/v1/gw+01/flood", "topic level 3 (device) 'gw+01': wildcard"),
        BAD("hash", "pantau/v1/gw#/flood", "'gw#': wildcard in a publish topic"),
        BAD("hash as the stream", "pantau/v1/gw/#", "topic level 4 (stream) '#'"),
        BAD("too many levels (10)", "pantau/v1/gw-p2c-01/flood/x",
            "topic level 5 'x': too many levels"),
        BAD("empty level (10)", "pantau/v1//flood", "topic level 3 (device) is empty"),
        BAD("_sys is not a device (10)", "pantau/v1/_sys/flood",
            "topic level 4 'flood': not a _sys topic"),
        BAD("device id of 65 characters (10)", "pantau/v1/" ID64 "a/flood",
            "topic level 3 (device) '" ID64 "a': longer than 64 characters"),
        BAD("collector id of 65 characters", "pantau/v1/_sys/health/" ID64 "a",
            "topic level 5 (collector)"),
        BAD("empty topic", "", "topic is empty"),
        BAD("other prefix", "frigate/events", "topic level 1 'frigate': not 'pantau'"),
        BAD("upper-case prefix", "Pantau/v1/gw/flood", "topic level 1 'Pantau': not 'pantau'"),
        BAD("prefix only", "pantau", "unknown version"),
        BAD("leading slash", "/pantau/v1/gw/flood", "topic level 1 (prefix) is empty"),
        BAD("trailing slash", "pantau/v1/gw/flood/", "topic level 5 is empty"),
        BAD("three levels", "pantau/v1/gw", "topic has 3 levels"),
        BAD("device starting with -", "pantau/v1/-gw/flood", "topic level 3 (device) '-gw'"),
        BAD("device starting with _", "pantau/v1/_gw/flood", "topic level 3 (device) '_gw'"),
        BAD("device with a space", "pantau/v1/g w/flood", "topic level 3 (device) 'g w'"),
        BAD("stream upper case", "pantau/v1/gw/Flood", "'Flood': unknown stream"),
        BAD("health as a device stream", "pantau/v1/gw/health", "'health': unknown stream"),
        BAD("rejected as a device stream", "pantau/v1/gw/rejected", "'rejected': unknown stream"),
        BAD("health without collector", "pantau/v1/_sys/health", "lacks level 5 (collector)"),
        BAD("health with more levels", "pantau/v1/_sys/health/c/x", "too many levels"),
        BAD("health with a bad collector", "pantau/v1/_sys/health/C1",
            "topic level 5 (collector) 'C1': upper case"),
        BAD("health with a wildcard", "pantau/v1/_sys/health/+", "wildcard"),
        BAD("rejected with more levels", "pantau/v1/_sys/rejected/x",
            "topic level 5 'x': too many levels"),
        BAD("_SYS", "pantau/v1/_SYS/rejected", "topic level 3 (device) '_SYS'"),
        GOOD("health of a collector named like a stream", "pantau/v1/_sys/health/status",
             MSG_STREAM_HEALTH, "", "status"),
        GOOD("a device named like a stream", "pantau/v1/status/ack", MSG_STREAM_ACK, "status", ""),
        BAD("rejected with a suffix", "pantau/v1/_sys/rejectedx", "not a _sys topic"),
        BAD("stream with a suffix", "pantau/v1/gw/statusx", "'statusx': unknown stream"),
        BAD("stream as a prefix", "pantau/v1/gw/sta", "'sta': unknown stream"),
        BAD("health of nobody", "pantau/v1/_sys/health/", "topic level 5 is empty"),
        BAD("version 1 without prefix", "v1/gw/flood", "topic level 1 'v1'"),
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct row *r = &rows[i];
        struct msg_topic t;
        char err[MSG_ERRLEN] = "";
        int rc = msg_topic_parse(r->topic, strlen(r->topic), &t, err, sizeof(err));

        TEST_CHECK(rc == r->rc);
        TEST_MSG("%s: rc %d, err '%s'", r->name, rc, err);
        /* msg_topic_is_stream answers as the parser does, for every stream */
        for (int s = 0; s < MSG_STREAM_COUNT; s++) {
            bool want = rc == MSG_OK && t.stream == (enum msg_stream)s;

            TEST_CHECK(msg_topic_is_stream(r->topic, strlen(r->topic), (enum msg_stream)s) == want);
            TEST_MSG("%s: msg_topic_is_stream(%s) is not %d", r->name,
                     msg_stream_name((enum msg_stream)s), (int)want);
        }
        if (rc != MSG_OK || r->rc != MSG_OK) {
            if (r->want != NULL) {
                TEST_CHECK(strstr(err, r->want) != NULL);
                TEST_MSG("%s: err '%s' lacks '%s'", r->name, err, r->want);
            }
            continue;
        }
        TEST_CHECK(t.stream == r->stream);
        TEST_CHECK(strcmp(t.device_id, r->device) == 0);
        TEST_CHECK(strcmp(t.collector_id, r->collector) == 0);
        TEST_MSG("%s: stream %d device '%s' collector '%s'", r->name, (int)t.stream, t.device_id,
                 t.collector_id);
    }
}

static void test_parse_limits(void)
{
    char topic[400];
    struct msg_topic t;
    char err[MSG_ERRLEN] = "";

    /* a topic is read as len bytes, not up to a NUL */
    TEST_CHECK(msg_topic_parse("pantau/v1/gw/floodXYZ", 18, &t, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(t.stream == MSG_STREAM_FLOOD);
    TEST_CHECK(msg_topic_parse("pantau/v1/gw\0x/flood", 20, &t, err, sizeof(err)) == MSG_ERR_TOPIC);
    TEST_CHECK(strstr(err, "'gw\\x00x'") != NULL);
    TEST_MSG("%s", err);
    TEST_CHECK(msg_topic_is_stream("pantau/v1/gw/floodXYZ", 18, MSG_STREAM_FLOOD));
    TEST_CHECK(!msg_topic_is_stream("pantau/v1/gw/floodXYZ", 21, MSG_STREAM_FLOOD));
    TEST_CHECK(!msg_topic_is_stream("pantau/v1/gw\0x/flood", 20, MSG_STREAM_FLOOD));
    TEST_CHECK(msg_topic_is_stream("pantau/v1/_sys/rejectedXYZ", 23, MSG_STREAM_REJECTED));
    TEST_CHECK(!msg_topic_is_stream("pantau/v1/_sys/rejected", 22, MSG_STREAM_REJECTED));
    TEST_CHECK(!msg_topic_is_stream("pantau/v1/gw/flood", 18, MSG_STREAM_COUNT));
    memset(topic, 'a', sizeof(topic));
    TEST_CHECK(msg_topic_parse(topic, 257, &t, err, sizeof(err)) == MSG_ERR_TOPIC);
    TEST_CHECK(strcmp(err, "topic of 257 bytes exceeds 256") == 0);
    TEST_MSG("%s", err);
}

static void test_format(void)
{
    char buf[MSG_TOPIC_MAX + 1];
    char small[10];
    struct msg_topic t;
    char err[MSG_ERRLEN];

    for (int s = 0; s < MSG_STREAM_COUNT; s++) {
        TEST_CHECK(msg_topic_format(buf, sizeof(buf), (enum msg_stream)s,
                                    s == MSG_STREAM_HEALTH ? "collector-1" : "gw-p2c-01") ==
                   MSG_OK);
        TEST_CHECK(msg_topic_parse(buf, strlen(buf), &t, err, sizeof(err)) == MSG_OK);
        TEST_CHECK(t.stream == (enum msg_stream)s);
        TEST_MSG("stream %d: %s -> %s", s, buf, err);
    }
    TEST_CHECK(msg_topic_format(buf, sizeof(buf), MSG_STREAM_FLOOD, "gw-p2c-01") == MSG_OK);
    TEST_CHECK(strcmp(buf, "pantau/v1/gw-p2c-01/flood") == 0);
    TEST_CHECK(msg_topic_format(buf, sizeof(buf), MSG_STREAM_HEALTH, "c1") == MSG_OK);
    TEST_CHECK(strcmp(buf, "pantau/v1/_sys/health/c1") == 0);
    TEST_CHECK(msg_topic_format(buf, sizeof(buf), MSG_STREAM_REJECTED, NULL) == MSG_OK);
    TEST_CHECK(strcmp(buf, "pantau/v1/_sys/rejected") == 0);
    TEST_CHECK(msg_topic_format(buf, sizeof(buf), MSG_STREAM_RESTORE, NULL) == MSG_OK);
    TEST_CHECK(strcmp(buf, "pantau/v1/_sys/restore") == 0);
    TEST_CHECK(msg_topic_format(buf, sizeof(buf), MSG_STREAM_FLOOD, "GW") == MSG_ERR_INVAL);
    TEST_CHECK(msg_topic_format(buf, sizeof(buf), MSG_STREAM_FLOOD, NULL) == MSG_ERR_INVAL);
    TEST_CHECK(msg_topic_format(buf, sizeof(buf), MSG_STREAM_FLOOD, ID64 "a") == MSG_ERR_INVAL);
    TEST_CHECK(msg_topic_format(buf, sizeof(buf), MSG_STREAM_COUNT, "gw") == MSG_ERR_INVAL);
    TEST_CHECK(msg_topic_format(small, sizeof(small), MSG_STREAM_FLOOD, "gw") == MSG_ERR_FULL);
    TEST_CHECK(small[0] == '\0');
    TEST_CHECK(msg_topic_format(buf, sizeof(buf), MSG_STREAM_STATUS, ID64) == MSG_OK);
}

/* Each stream's filter: its name (or the _sys levels) after the prefix, and with an id in place
 * of the '+' it is a topic the parser reads as that stream. */
static void test_filter(void)
{
    char want[MSG_TOPIC_MAX + 1];
    char topic[MSG_TOPIC_MAX + 1];
    struct msg_topic t;
    char err[MSG_ERRLEN] = "";

    for (int i = 0; i < MSG_STREAM_COUNT; i++) {
        enum msg_stream s = (enum msg_stream)i;
        const char *f = msg_topic_filter(s);
        const char *plus;

        if (!TEST_CHECK(f != NULL)) {
            continue;
        }
        if (s == MSG_STREAM_HEALTH) {
            snprintf(want, sizeof(want), "pantau/v1/_sys/health/+");
        } else if (s == MSG_STREAM_REJECTED) {
            snprintf(want, sizeof(want), "pantau/v1/_sys/rejected");
        } else if (s == MSG_STREAM_RESTORE) {
            snprintf(want, sizeof(want), "pantau/v1/_sys/restore");
        } else {
            snprintf(want, sizeof(want), "pantau/v1/+/%s", msg_stream_name(s));
        }
        TEST_CHECK(strcmp(f, want) == 0);
        TEST_MSG("stream %s: filter '%s', want '%s'", msg_stream_name(s), f, want);
        plus = strchr(f, '+');
        if (plus == NULL) {
            snprintf(topic, sizeof(topic), "%s", f);
        } else {
            snprintf(topic, sizeof(topic), "%.*sgw-1%s", (int)(plus - f), f, plus + 1);
        }
        TEST_CHECK(msg_topic_parse(topic, strlen(topic), &t, err, sizeof(err)) == MSG_OK);
        TEST_CHECK(t.stream == s);
        TEST_MSG("stream %s: '%s': %s", msg_stream_name(s), topic, err);
        TEST_CHECK(msg_topic_is_stream(topic, strlen(topic), s));
    }
    TEST_CHECK(msg_topic_filter(MSG_STREAM_COUNT) == NULL);
}

static void test_device(void)
{
    static const struct {
        const char *topic;
        size_t len; /* 0: strlen */
        const char *device;
    } rows[] = {
        {"pantau/v1/gw-1/flood", 0, "gw-1"},
        {"pantau/v1/gw-1/rain", 0, "gw-1"},
        {"pantau/v1/gw-1/flood/x/y", 0, "gw-1"},
        {"pantau/v1/gw-1", 0, "gw-1"},
        {"pantau/v1/gw-1XYZ/flood", 14, "gw-1"},
        {"pantau/v1/" ID64 "/flood", 0, ID64},
        {"pantau/v1/" ID64 "a/flood", 0, ""},
        {"pantau/v1/GW/flood", 0, ""},
        {"pantau/v1/gw+/flood", 0, ""},
        {"pantau/v1/_sys/rejected", 0, ""},
        {"pantau/v1//flood", 0, ""},
        {"pantau/v1/", 0, ""},
        {"pantau/v2/gw-1/flood", 0, ""},
        {"frigate/events", 0, ""},
        {"", 0, ""},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char out[MSG_ID_MAX + 1] = "junk";
        size_t len = rows[i].len != 0 ? rows[i].len : strlen(rows[i].topic);
        bool ok = msg_topic_device(rows[i].topic, len, out);

        TEST_CHECK(ok == (rows[i].device[0] != '\0'));
        TEST_CHECK(strcmp(out, rows[i].device) == 0);
        TEST_MSG("'%s' (%zu bytes): '%s', want '%s'", rows[i].topic, len, out, rows[i].device);
    }
}

static void test_last_level(void)
{
    TEST_CHECK(strcmp(msg_topic_last_level("pantau/v1/gw/flood"), "flood") == 0);
    TEST_CHECK(strcmp(msg_topic_last_level("pantau/v1/_sys/rejected"), "rejected") == 0);
    TEST_CHECK(strcmp(msg_topic_last_level("pantau/v1/gw/"), "") == 0);
    TEST_CHECK(strcmp(msg_topic_last_level("flood"), "") == 0);
    TEST_CHECK(strcmp(msg_topic_last_level(""), "") == 0);
}

static void test_id_valid(void)
{
    static const struct {
        const char *id;
        bool ok;
    } rows[] = {
        {"a", true},
        {"0", true},
        {"gw-p2c-01", true},
        {"a.b_c-d", true},
        {ID64, true},
        {ID64 "a", false},
        {"", false},
        {"-a", false},
        {".a", false},
        {"_sys", false},
        {"A", false},
        {"a b", false},
        {"a/b", false},
        {"a+b", false},
        {"a#b", false},
        {"a:b", false},
        {"caf\xc3\xa9", false},
        {"a\tb", false},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        TEST_CHECK(msg_id_valid(rows[i].id, strlen(rows[i].id)) == rows[i].ok);
        TEST_MSG("'%s'", rows[i].id);
    }
}

static void test_stream_names(void)
{
    enum msg_stream s;

    for (int i = 0; i < MSG_STREAM_COUNT; i++) {
        TEST_CHECK(msg_stream_from_name(msg_stream_name((enum msg_stream)i), &s) == MSG_OK);
        TEST_CHECK(s == (enum msg_stream)i);
    }
    TEST_CHECK(strcmp(msg_stream_name(MSG_STREAM_REJECTED), "rejected") == 0);
    TEST_CHECK(strcmp(msg_stream_name((enum msg_stream)99), "?") == 0);
    TEST_CHECK(msg_stream_from_name("Flood", &s) == MSG_ERR_INVAL);
    TEST_CHECK(msg_stream_from_name("", &s) == MSG_ERR_INVAL);
    TEST_CHECK(msg_stream_is_reading(MSG_STREAM_FLOOD));
    TEST_CHECK(msg_stream_is_reading(MSG_STREAM_TRAFFIC));
    TEST_CHECK(msg_stream_is_reading(MSG_STREAM_INCIDENT));
    TEST_CHECK(msg_stream_is_reading(MSG_STREAM_LARVA));
    TEST_CHECK(msg_stream_is_reading(MSG_STREAM_DROPPED));
    TEST_CHECK(!msg_stream_is_reading(MSG_STREAM_STATUS));
    TEST_CHECK(!msg_stream_is_reading(MSG_STREAM_ACK));
    TEST_CHECK(!msg_stream_is_reading(MSG_STREAM_HEALTH));
    TEST_CHECK(!msg_stream_is_reading(MSG_STREAM_REJECTED));
}

/* The whole table of section 3, cell by cell. */
static void test_kind_may_publish(void)
{
    static const char *const allowed[MSG_KIND_COUNT] = {
        "flood dropped status",
        "traffic incident dropped status",
        "larva dropped status",
    };
    enum msg_device_kind k;

    for (int i = 0; i < MSG_KIND_COUNT; i++) {
        for (int s = 0; s < MSG_STREAM_COUNT; s++) {
            char word[32];
            bool expect;

            snprintf(word, sizeof(word), "%s", msg_stream_name((enum msg_stream)s));
            expect = strstr(allowed[i], word) != NULL;
            TEST_CHECK(msg_kind_may_publish((enum msg_device_kind)i, (enum msg_stream)s) == expect);
            TEST_MSG("kind %s stream %s", msg_device_kind_name((enum msg_device_kind)i), word);
        }
        TEST_CHECK(msg_device_kind_from_name(msg_device_kind_name((enum msg_device_kind)i),
                                             strlen(msg_device_kind_name((enum msg_device_kind)i)),
                                             &k) == MSG_OK);
        TEST_CHECK(k == (enum msg_device_kind)i);
    }
    TEST_CHECK(msg_device_kind_from_name("handheld", 8, &k) == MSG_OK && k == MSG_KIND_HANDHELD);
    TEST_CHECK(msg_device_kind_from_name("handhelds", 9, &k) == MSG_ERR_INVAL);
    TEST_CHECK(msg_device_kind_from_name("hand", 4, &k) == MSG_ERR_INVAL);
    TEST_CHECK(!msg_kind_may_publish((enum msg_device_kind)3, MSG_STREAM_FLOOD));
    TEST_CHECK(!msg_kind_may_publish(MSG_KIND_FLOOD_GATEWAY, MSG_STREAM_COUNT));
    TEST_CHECK(strcmp(msg_device_kind_name((enum msg_device_kind)7), "?") == 0);
}

/* issue 11: the alert tree, pantau/v1/_sys/alert/<unit>/<kind>/<subject> */
static void test_alert_topic(void)
{
    char buf[MSG_TOPIC_MAX + 1];
    char level[MSG_ALERT_SUBJECT_MAX + 1];
    char big[200];

    TEST_CHECK(msg_topic_alert_format(buf, sizeof(buf), "bpbd", "flood_level",
                                      "station:katulampa") == MSG_OK);
    TEST_CHECK(strcmp(buf, "pantau/v1/_sys/alert/bpbd/flood_level/station-katulampa") == 0);
    TEST_MSG("got '%s'", buf);
    /* '/', '#', '+' and upper case never reach a topic level */
    TEST_CHECK(msg_topic_alert_format(buf, sizeof(buf), "dinkes", "larva_abj",
                                      "area:32.75.01.1001/rw5#2026-W49+x") == MSG_OK);
    TEST_CHECK(
        strcmp(buf, "pantau/v1/_sys/alert/dinkes/larva_abj/area-32.75.01.1001-rw5-2026-w49-x") ==
        0);
    TEST_MSG("got '%s'", buf);
    TEST_CHECK(msg_topic_alert_format(buf, sizeof(buf), "poc", "system_backlog", "pantau") ==
               MSG_OK);
    TEST_CHECK(strcmp(buf, "pantau/v1/_sys/alert/poc/system_backlog/pantau") == 0);
    /* bad unit, kind, subject */
    TEST_CHECK(msg_topic_alert_format(buf, sizeof(buf), "", "flood_level", "pantau") ==
               MSG_ERR_INVAL);
    TEST_CHECK(msg_topic_alert_format(buf, sizeof(buf), "BPBD", "flood_level", "pantau") ==
               MSG_ERR_INVAL);
    TEST_CHECK(msg_topic_alert_format(buf, sizeof(buf), "bp/bd", "flood_level", "pantau") ==
               MSG_ERR_INVAL);
    TEST_CHECK(msg_topic_alert_format(buf, sizeof(buf), "-bpbd", "flood_level", "pantau") ==
               MSG_ERR_INVAL);
    TEST_CHECK(msg_topic_alert_format(buf, sizeof(buf), "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                                      "flood_level", "pantau") == MSG_ERR_INVAL); /* 33 */
    TEST_CHECK(msg_topic_alert_format(buf, sizeof(buf), "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                                      "flood_level", "pantau") == MSG_OK); /* 32 */
    TEST_CHECK(msg_topic_alert_format(buf, sizeof(buf), "bpbd", "flood/level", "pantau") ==
               MSG_ERR_INVAL);
    TEST_CHECK(msg_topic_alert_format(buf, sizeof(buf), "bpbd", "#", "pantau") == MSG_ERR_INVAL);
    TEST_CHECK(msg_topic_alert_format(buf, sizeof(buf), "bpbd", "flood_level", "") ==
               MSG_ERR_INVAL);
    TEST_CHECK(buf[0] == '\0');
    /* a long subject is cut to one level of MSG_ALERT_SUBJECT_MAX bytes */
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    TEST_CHECK(msg_topic_alert_subject(big, level) == MSG_OK);
    TEST_CHECK(strlen(level) == MSG_ALERT_SUBJECT_MAX);
    TEST_CHECK(msg_topic_alert_format(buf, sizeof(buf), "bpbd", "flood_level", big) == MSG_OK);
    TEST_CHECK(strlen(buf) <= MSG_TOPIC_MAX);
    /* too small a buffer */
    TEST_CHECK(msg_topic_alert_format(buf, 20, "bpbd", "flood_level", "pantau") == MSG_ERR_FULL);
    TEST_CHECK(buf[0] == '\0');
    /* filters */
    TEST_CHECK(msg_topic_alert_filter(buf, sizeof(buf), "bpbd") == MSG_OK);
    TEST_CHECK(strcmp(buf, "pantau/v1/_sys/alert/bpbd/#") == 0);
    TEST_CHECK(msg_topic_alert_filter(buf, sizeof(buf), NULL) == MSG_OK);
    TEST_CHECK(strcmp(buf, "pantau/v1/_sys/alert/#") == 0);
    TEST_CHECK(msg_topic_alert_filter(buf, sizeof(buf), "+") == MSG_ERR_INVAL);
    /* what the broker lets alertd publish */
    TEST_CHECK(msg_topic_is_alert(buf, 0) == false);
    {
        static const struct {
            const char *topic;
            bool ok;
        } cases[] = {
            {"pantau/v1/_sys/alert/bpbd/flood_level/station-katulampa", true},
            {"pantau/v1/_sys/alert/poc/system_backlog/pantau", true},
            {"pantau/v1/_sys/alert/bpbd/flood_level", false},
            {"pantau/v1/_sys/alert/bpbd/flood_level/", false},
            {"pantau/v1/_sys/alert/bpbd/flood_level/a/b", false},
            {"pantau/v1/_sys/alert/bpbd/flood_level/+", false},
            {"pantau/v1/_sys/alert/bpbd/+/x", false},
            {"pantau/v1/_sys/alert/+/flood_level/x", false},
            {"pantau/v1/_sys/alert/bpbd/flood_level/#", false},
            {"pantau/v1/_sys/alert/BPBD/flood_level/x", false},
            {"pantau/v1/_sys/alert/bpbd/flood-level/x", false},
            {"pantau/v1/_sys/alert//flood_level/x", false},
            {"pantau/v1/_sys/alerts/bpbd/flood_level/x", false},
            {"pantau/v1/gw-1/flood", false},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            TEST_CHECK(msg_topic_is_alert(cases[i].topic, strlen(cases[i].topic)) == cases[i].ok);
            TEST_MSG("topic '%s'", cases[i].topic);
        }
    }
    TEST_CHECK(msg_topic_alert_format(buf, sizeof(buf), "bpbd", "flood_level", big) == MSG_OK);
    TEST_CHECK(msg_topic_is_alert(buf, strlen(buf)));
    /* an alert topic is not a device stream's */
    TEST_CHECK(!msg_topic_is_stream("pantau/v1/_sys/alert/bpbd/flood_level/x",
                                    strlen("pantau/v1/_sys/alert/bpbd/flood_level/x"),
                                    MSG_STREAM_FLOOD));
}

TEST_LIST = {
    {"parse", test_parse},
    {"parse_limits", test_parse_limits},
    {"format", test_format},
    {"filter", test_filter},
    {"device", test_device},
    {"last_level", test_last_level},
    {"id_valid", test_id_valid},
    {"stream_names", test_stream_names},
    {"kind_may_publish", test_kind_may_publish},
    {"alert_topic", test_alert_topic},
    {NULL, NULL},
};
