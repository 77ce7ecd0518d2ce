/* test_msg_bucket.c -- unit tests of msg/msg_bucket.c: the token bucket (as the broker plugin,
 * the collector and the agent use it) and the rate option syntax. */
#include <stdio.h>
#include <string.h>

#include "msg_bucket.h"
#include "msg_err.h"
#include "tinytest.h"

static void test_bucket_burst_then_rate(void)
{
    struct msg_bucket_rate r = {2.0, 5.0}; /* 2 a second, 5 at once */
    struct msg_bucket b;
    int taken = 0;

    memset(&b, 0, sizeof(b));
    TEST_CHECK(msg_bucket_full(&b, &r, 1000));
    for (int i = 0; i < 10; i++) {
        taken += msg_bucket_take(&b, &r, 1000) ? 1 : 0;
    }
    TEST_CHECK(taken == 5);
    TEST_MSG("a fresh bucket gives its burst, got %d", taken);
    TEST_CHECK(!msg_bucket_take(&b, &r, 1400)); /* 0.8 tokens */
    TEST_CHECK(msg_bucket_take(&b, &r, 1500));  /* 1.0 */
    TEST_CHECK(!msg_bucket_take(&b, &r, 1500));
    TEST_CHECK(!msg_bucket_full(&b, &r, 3000));
    TEST_CHECK(msg_bucket_full(&b, &r, 4000)); /* 2.5 s later: 5 again */
    taken = 0;
    for (int i = 0; i < 10; i++) {
        taken += msg_bucket_take(&b, &r, 100000) ? 1 : 0;
    }
    TEST_CHECK(taken == 5);
    TEST_MSG("a long pause refills only to the burst, got %d", taken);
}

static void test_bucket_clock_backwards(void)
{
    struct msg_bucket_rate r = {1.0, 1.0};
    struct msg_bucket b;

    memset(&b, 0, sizeof(b));
    TEST_CHECK(msg_bucket_take(&b, &r, 10000));
    TEST_CHECK(!msg_bucket_take(&b, &r, 5000)); /* backwards: nothing gained */
    TEST_CHECK(!msg_bucket_take(&b, &r, 10500));
    TEST_CHECK(msg_bucket_take(&b, &r, 11000)); /* a second after the last real time */
}

struct parse_row {
    const char *text;
    int rc;
    double per_s;
    double burst;
    const char *want; /* text err must contain */
};

static void test_rate_parse(void)
{
    static const struct parse_row rows[] = {
        {"5/s burst 50", MSG_OK, 5.0, 50.0, NULL},
        {"  0.5/s   burst  1 ", MSG_OK, 0.5, 1.0, NULL},
        {"60/m burst 10", MSG_OK, 1.0, 10.0, NULL},
        {"36/h burst 3", MSG_OK, 0.01, 3.0, NULL},
        {"", MSG_ERR_CONFIG, 0, 0, "expected RATE/UNIT burst N"},
        {"5", MSG_ERR_CONFIG, 0, 0, "expected '/'"},
        {"5/d burst 1", MSG_ERR_CONFIG, 0, 0, "the unit must be s, m or h"},
        {"5/s", MSG_ERR_CONFIG, 0, 0, "expected ' burst N'"},
        {"5/s 50", MSG_ERR_CONFIG, 0, 0, "expected 'burst N'"},
        {"5/s burst", MSG_ERR_CONFIG, 0, 0, "expected 'burst N'"},
        {"5/s burst 0", MSG_ERR_CONFIG, 0, 0, "the burst must be an integer 1 to 1000000"},
        {"5/s burst 1.5", MSG_ERR_CONFIG, 0, 0, "unexpected text after the burst"},
        {"5/s burst 50 x", MSG_ERR_CONFIG, 0, 0, "unexpected text after the burst"},
        {"0/s burst 5", MSG_ERR_CONFIG, 0, 0, "above 0"},
        {"-1/s burst 5", MSG_ERR_CONFIG, 0, 0, "expected RATE/UNIT"},
        {"1e400/s burst 5", MSG_ERR_CONFIG, 0, 0, "above 0"},
        {"nan/s burst 5", MSG_ERR_CONFIG, 0, 0, "expected RATE/UNIT"},
        {"5/s burst 99999999999999999999", MSG_ERR_CONFIG, 0, 0, "the burst must be"},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct msg_bucket_rate r = {0, 0};
        char err[MSG_ERRLEN] = "";
        int rc = msg_bucket_rate_parse(rows[i].text, &r, err, sizeof(err));

        TEST_CHECK(rc == rows[i].rc);
        TEST_MSG("'%s': rc %d, err '%s'", rows[i].text, rc, err);
        if (rows[i].rc == MSG_OK) {
            TEST_CHECK(r.per_s > rows[i].per_s * 0.999999 && r.per_s < rows[i].per_s * 1.000001);
            TEST_CHECK(r.burst == rows[i].burst);
            TEST_MSG("'%s': per_s %g burst %g", rows[i].text, r.per_s, r.burst);
        } else {
            TEST_CHECK(strstr(err, rows[i].want) != NULL);
            TEST_MSG("'%s': err '%s' should say '%s'", rows[i].text, err, rows[i].want);
        }
    }
}

static void test_rate_format_reads_back(void)
{
    struct msg_bucket_rate r = {5.0, 50.0};
    struct msg_bucket_rate back = {0, 0};
    char buf[64];
    char err[MSG_ERRLEN] = "";

    msg_bucket_rate_format(&r, buf, sizeof(buf));
    TEST_CHECK(strcmp(buf, "5/s burst 50") == 0);
    TEST_MSG("got '%s'", buf);
    TEST_CHECK(msg_bucket_rate_parse(buf, &back, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(back.per_s == 5.0 && back.burst == 50.0);
}

/* The collector's budget of dead letters: 60 a minute, 3 at once (moved from
 * test_collector_ratelimit.c). */
static void test_bucket_per_minute_burst_then_refill(void)
{
    struct msg_bucket_rate r = {60 / 60.0, 3};
    struct msg_bucket b;
    int64_t t = 1000000;

    memset(&b, 0, sizeof(b));
    TEST_CHECK(msg_bucket_take(&b, &r, t) && msg_bucket_take(&b, &r, t) &&
               msg_bucket_take(&b, &r, t));
    TEST_CHECK(!msg_bucket_take(&b, &r, t));
    TEST_CHECK(!msg_bucket_take(&b, &r, t + 999));
    TEST_CHECK(msg_bucket_take(&b, &r, t + 1000));
    TEST_CHECK(!msg_bucket_take(&b, &r, t + 1000));
    /* a long pause refills to the burst, not beyond */
    t += 3600 * 1000;
    TEST_CHECK(msg_bucket_take(&b, &r, t) && msg_bucket_take(&b, &r, t) &&
               msg_bucket_take(&b, &r, t));
    TEST_CHECK(!msg_bucket_take(&b, &r, t));
    /* a clock that goes back adds nothing */
    TEST_CHECK(!msg_bucket_take(&b, &r, t - 5000));
}

/* The agent's pacing: a bucket started with one token, a floor, debt, drain and the wait. */
static void test_bucket_start_floor_debt_drain_wait(void)
{
    struct msg_bucket_rate r = {4.0, 20.0};
    struct msg_bucket b;
    int n;

    msg_bucket_start(&b, 1.0, 0);
    TEST_CHECK(msg_bucket_take(&b, &r, 0));
    TEST_CHECK(!msg_bucket_take(&b, &r, 0)); /* one token, not the burst */
    TEST_CHECK(msg_bucket_wait_ms(&b, &r, 0) == 250);
    TEST_CHECK(msg_bucket_wait_above_ms(&b, &r, 10000, 5.0) == 0); /* full: 20 tokens */
    for (n = 0; msg_bucket_take_above(&b, &r, 10000, 5.0); n++) {
    }
    TEST_CHECK(n == 15); /* the last 5 stay for higher priorities */
    TEST_MSG("took %d above the floor", n);
    TEST_CHECK(msg_bucket_wait_above_ms(&b, &r, 10000, 5.0) == 250);
    for (n = 0; msg_bucket_take(&b, &r, 10000); n++) {
    }
    TEST_CHECK(n == 5);
    msg_bucket_spend(&b, &r, 10000); /* debt of one */
    TEST_CHECK(b.tokens < 0.0);
    TEST_CHECK(msg_bucket_wait_ms(&b, &r, 10000) == 500);
    TEST_CHECK(!msg_bucket_take(&b, &r, 10499));
    TEST_CHECK(msg_bucket_take(&b, &r, 10500));
    msg_bucket_drain(&b, 20000);
    TEST_CHECK(!msg_bucket_take(&b, &r, 20000));
    TEST_CHECK(msg_bucket_take(&b, &r, 20250));
    /* a floor above burst - 1 is taken as burst - 1 */
    r.burst = 3.0;
    msg_bucket_start(&b, 3.0, 0);
    TEST_CHECK(msg_bucket_take_above(&b, &r, 0, 50.0));
    TEST_CHECK(!msg_bucket_take_above(&b, &r, 0, 50.0));
}

TEST_LIST = {
    {"bucket_burst_then_rate", test_bucket_burst_then_rate},
    {"bucket_clock_backwards", test_bucket_clock_backwards},
    {"bucket_per_minute_burst_then_refill", test_bucket_per_minute_burst_then_refill},
    {"bucket_start_floor_debt_drain_wait", test_bucket_start_floor_debt_drain_wait},
    {"rate_parse", test_rate_parse},
    {"rate_format_reads_back", test_rate_format_reads_back},
    {NULL, NULL},
};
