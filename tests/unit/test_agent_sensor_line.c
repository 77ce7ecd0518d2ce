/* test_agent_sensor_line.c -- unit tests of edge-agent/sensor_line.c: distance sensor line
 * formats, the median filter and the rate of rise. Each refused line checks that err says
 * why. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "msg_err.h"
#include "sensor_line.h"
#include "tinytest.h"

struct line_case {
    const char *format;
    const char *member;
    const char *unit;
    const char *line;
    int rc;
    double cm;           /* when rc is MSG_OK */
    const char *why;     /* a piece of err when rc is not MSG_OK */
};

static const struct line_case line_cases[] = {
    {"cm", "", "", "412.5", MSG_OK, 412.5, NULL},
    {"cm", "", "", "  412.5\t", MSG_OK, 412.5, NULL},
    {"cm", "", "", "0", MSG_OK, 0, NULL},
    {"cm", "", "", "10000", MSG_OK, 10000, NULL},
    {"mm", "", "", "4125", MSG_OK, 412.5, NULL},
    {"cm", "", "", "10000.01", MSG_ERR_INVAL, 0, "out of range"},
    {"cm", "", "", "-1", MSG_ERR_INVAL, 0, "out of range"},
    {"mm", "", "", "100001", MSG_ERR_INVAL, 0, "out of range"},
    {"cm", "", "", "", MSG_ERR_INVAL, 0, "empty"},
    {"cm", "", "", "abc", MSG_ERR_INVAL, 0, "not a number: 'abc'"},
    {"cm", "", "", "12a", MSG_ERR_INVAL, 0, "not a number"},
    {"cm", "", "", "1e3", MSG_ERR_INVAL, 0, "not a number"},
    {"cm", "", "", "+5", MSG_ERR_INVAL, 0, "not a number"},
    {"cm", "", "", "5.", MSG_ERR_INVAL, 0, "not a number"},
    {"cm", "", "", ".5", MSG_ERR_INVAL, 0, "not a number"},
    {"cm", "", "", "nan", MSG_ERR_INVAL, 0, "not a number"},
    {"cm", "", "", "4\xff" "2", MSG_ERR_INVAL, 0, "not text at byte 1"},
    {"cm", "", "", "4\x01" "2", MSG_ERR_INVAL, 0, "not text"},
    {"json", "distance", "mm", "{\"distance\":4125}", MSG_OK, 412.5, NULL},
    {"json", "d", "m", "{\"d\":4.125,\"t\":21}", MSG_OK, 412.5, NULL},
    {"json", "s.d", "cm", "{\"s\":{\"d\":41}}", MSG_OK, 41, NULL},
    {"json", "distance", "mm", "{\"dist\":4125}", MSG_ERR_INVAL, 0, "'distance': missing"},
    {"json", "distance", "mm", "{\"distance\":\"4125\"}", MSG_ERR_INVAL, 0, "not a number"},
    {"json", "distance", "mm", "{\"distance\":41", MSG_ERR_INVAL, 0, "not a JSON line"},
    {"json", "distance", "mm", "{\"distance\":1,\"distance\":2}", MSG_ERR_INVAL, 0, "JSON"},
    {"json", "distance", "mm", "[4125]", MSG_ERR_INVAL, 0, "not a JSON object"},
    {"json", "distance", "mm", "{\"distance\":1e400}", MSG_ERR_INVAL, 0, "not a JSON line"},
    {"json", "distance", "mm", "{\"distance\":-5}", MSG_ERR_INVAL, 0, "out of range"},
    {"json", "s.d", "cm", "{\"s\":5}", MSG_ERR_INVAL, 0, "not inside an object"},
};

static void test_line_formats(void)
{
    for (size_t i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]); i++) {
        const struct line_case *c = &line_cases[i];
        struct sensor_line_format f;
        char err[MSG_ERRLEN] = "";
        double cm = -1;
        int rc;

        TEST_CHECK(sensor_format_parse(c->format, c->member, c->unit[0] ? c->unit : "mm", &f,
                                       err, sizeof(err)) == MSG_OK);
        rc = sensor_line_parse(&f, c->line, strlen(c->line), &cm, err, sizeof(err));
        TEST_CHECK(rc == c->rc);
        TEST_MSG("case %zu '%s': rc %d, err '%s'", i, c->line, rc, err);
        if (c->rc == MSG_OK) {
            TEST_CHECK(fabs(cm - c->cm) < 1e-9);
            TEST_MSG("case %zu: %g cm, expected %g", i, cm, c->cm);
        } else {
            TEST_CHECK(strstr(err, c->why) != NULL);
            TEST_MSG("case %zu: err '%s' lacks '%s'", i, err, c->why);
        }
    }
}

static void test_line_too_long(void)
{
    static char line[SENSOR_LINE_MAX + 2];
    struct sensor_line_format f;
    char err[MSG_ERRLEN] = "";
    double cm = 0;

    memset(line, '1', sizeof(line) - 1);
    TEST_CHECK(sensor_format_parse("cm", "", "", &f, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(sensor_line_parse(&f, line, SENSOR_LINE_MAX + 1, &cm, err, sizeof(err)) ==
               MSG_ERR_INVAL);
    TEST_CHECK(strstr(err, "exceeds") != NULL);
}

static void test_format_config_errors(void)
{
    struct sensor_line_format f;
    char err[MSG_ERRLEN] = "";

    TEST_CHECK(sensor_format_parse("inch", "", "", &f, err, sizeof(err)) == MSG_ERR_CONFIG);
    TEST_CHECK(strstr(err, "format") != NULL);
    TEST_CHECK(sensor_format_parse("json", "d", "ft", &f, err, sizeof(err)) == MSG_ERR_CONFIG);
    TEST_CHECK(strstr(err, "json_unit") != NULL);
    TEST_CHECK(sensor_format_parse("json", "", "mm", &f, err, sizeof(err)) == MSG_ERR_CONFIG);
    TEST_CHECK(strstr(err, "json_member") != NULL);
    TEST_CHECK(sensor_format_parse("json", "a..b", "mm", &f, err, sizeof(err)) ==
               MSG_ERR_CONFIG);
    TEST_CHECK(strstr(err, "json_member") != NULL);
}

static void test_median_filters_spike(void)
{
    struct sensor_median m;
    double v = 0;

    TEST_CHECK(sensor_median_init(&m, 0) == MSG_ERR_INVAL);
    TEST_CHECK(sensor_median_init(&m, SENSOR_MEDIAN_MAX + 1) == MSG_ERR_INVAL);
    TEST_CHECK(sensor_median_init(&m, 5) == MSG_OK);
    TEST_CHECK(!sensor_median_value(&m, &v));
    sensor_median_push(&m, 400);
    TEST_CHECK(sensor_median_value(&m, &v) && v == 400);
    sensor_median_push(&m, 402);
    TEST_CHECK(sensor_median_value(&m, &v) && v == 401);   /* even count: mean of two */
    sensor_median_push(&m, 9000);                          /* a spike */
    TEST_CHECK(sensor_median_value(&m, &v) && v == 402);
    sensor_median_push(&m, 401);
    sensor_median_push(&m, 3);                             /* and one the other way */
    TEST_CHECK(sensor_median_value(&m, &v) && v == 401);
    for (int i = 0; i < 5; i++) {                          /* the window slides */
        sensor_median_push(&m, 300);
    }
    TEST_CHECK(sensor_median_value(&m, &v) && v == 300);
}

static void test_rise_slope(void)
{
    static struct sensor_rise r;
    double s = 0;

    sensor_rise_init(&r, 15 * 60000);
    TEST_CHECK(!sensor_rise_value(&r, &s));
    /* 200 -> 350 cm in one hour (DOMAIN.md's Cileungsi): 150 cm/h, sampled every minute */
    for (int i = 0; i <= 15; i++) {
        sensor_rise_push(&r, 1000000 + (int64_t)i * 60000, 200.0 + 2.5 * i);
        if (i == 2) {
            TEST_CHECK(!sensor_rise_value(&r, &s));   /* 2 minutes: not a quarter window */
        }
    }
    TEST_CHECK(sensor_rise_value(&r, &s));
    TEST_CHECK(fabs(s - 150.0) < 1e-6);
    TEST_MSG("slope %g", s);
    /* 15 more minutes of falling water: the window forgets the rise */
    for (int i = 16; i <= 31; i++) {
        sensor_rise_push(&r, 1000000 + (int64_t)i * 60000, 237.5 - 1.0 * (i - 15));
    }
    TEST_CHECK(sensor_rise_value(&r, &s));
    TEST_CHECK(fabs(s - (-60.0)) < 1e-6);
    TEST_MSG("slope %g", s);
    /* a sample from the past is ignored */
    sensor_rise_push(&r, 0, 99999);
    TEST_CHECK(sensor_rise_value(&r, &s) && fabs(s - (-60.0)) < 1e-6);
}

static void test_rise_many_samples(void)
{
    static struct sensor_rise r;
    double s = 0;

    /* one sample a second for an hour: more than SENSOR_RISE_MAX, the oldest go first */
    sensor_rise_init(&r, 3600000);
    for (int i = 0; i < 3600; i++) {
        sensor_rise_push(&r, (int64_t)i * 1000, 100.0 + i / 36.0);   /* 100 cm/h */
    }
    TEST_CHECK(r.n == SENSOR_RISE_MAX);
    TEST_CHECK(sensor_rise_value(&r, &s) && fabs(s - 100.0) < 1e-6);
    TEST_MSG("slope %g", s);
}

TEST_LIST = {
    {"line_formats", test_line_formats},
    {"line_too_long", test_line_too_long},
    {"format_config_errors", test_format_config_errors},
    {"median_filters_spike", test_median_filters_spike},
    {"rise_slope", test_rise_slope},
    {"rise_many_samples", test_rise_many_samples},
    {NULL, NULL},
};
