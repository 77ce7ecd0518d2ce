/* test_ratelimit.c -- unit tests of broker-plugins/ratelimit.c: token buckets, the rate option
 * syntax and the bounded table of buckets per device. */
#include <stdio.h>
#include <string.h>

#include "msg_err.h"
#include "ratelimit.h"
#include "tinytest.h"

#define ID64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static void test_bucket_burst_then_rate(void)
{
    struct ratelimit_rate r = {2.0, 5.0}; /* 2 a second, 5 at once */
    struct ratelimit_bucket b;
    int taken = 0;

    memset(&b, 0, sizeof(b));
    TEST_CHECK(ratelimit_full(&b, &r, 1000));
    for (int i = 0; i < 10; i++) {
        taken += ratelimit_take(&b, &r, 1000) ? 1 : 0;
    }
    TEST_CHECK(taken == 5);
    TEST_MSG("a fresh bucket gives its burst, got %d", taken);
    TEST_CHECK(!ratelimit_take(&b, &r, 1400)); /* 0.8 tokens */
    TEST_CHECK(ratelimit_take(&b, &r, 1500));  /* 1.0 */
    TEST_CHECK(!ratelimit_take(&b, &r, 1500));
    TEST_CHECK(!ratelimit_full(&b, &r, 3000));
    TEST_CHECK(ratelimit_full(&b, &r, 4000)); /* 2.5 s later: 5 again */
    taken = 0;
    for (int i = 0; i < 10; i++) {
        taken += ratelimit_take(&b, &r, 100000) ? 1 : 0;
    }
    TEST_CHECK(taken == 5);
    TEST_MSG("a long pause refills only to the burst, got %d", taken);
}

static void test_bucket_clock_backwards(void)
{
    struct ratelimit_rate r = {1.0, 1.0};
    struct ratelimit_bucket b;

    memset(&b, 0, sizeof(b));
    TEST_CHECK(ratelimit_take(&b, &r, 10000));
    TEST_CHECK(!ratelimit_take(&b, &r, 5000)); /* backwards: nothing gained */
    TEST_CHECK(!ratelimit_take(&b, &r, 10500));
    TEST_CHECK(ratelimit_take(&b, &r, 11000)); /* a second after the last real time */
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
        struct ratelimit_rate r = {0, 0};
        char err[MSG_ERRLEN] = "";
        int rc = ratelimit_rate_parse(rows[i].text, &r, err, sizeof(err));

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
    struct ratelimit_rate r = {5.0, 50.0};
    struct ratelimit_rate back = {0, 0};
    char buf[64];
    char err[MSG_ERRLEN] = "";

    ratelimit_rate_format(&r, buf, sizeof(buf));
    TEST_CHECK(strcmp(buf, "5/s burst 50") == 0);
    TEST_MSG("got '%s'", buf);
    TEST_CHECK(ratelimit_rate_parse(buf, &back, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(back.per_s == 5.0 && back.burst == 50.0);
}

static void test_table_get_find_remove(void)
{
    struct ratelimit_table *t = ratelimit_table_new(4);
    struct ratelimit_entry *a = NULL;
    struct ratelimit_entry *again = NULL;

    if (!TEST_CHECK(t != NULL)) {
        return;
    }
    TEST_CHECK(ratelimit_table_find(t, "gw-1") == NULL);
    a = ratelimit_table_get(t, "gw-1");
    if (!TEST_CHECK(a != NULL)) {
        goto out;
    }
    TEST_CHECK(strcmp(a->key, "gw-1") == 0);
    TEST_CHECK(!a->b[0].primed && a->suppressed == 0);
    a->suppressed = 7;
    again = ratelimit_table_get(t, "gw-1");
    TEST_CHECK(again == a && again->suppressed == 7);
    TEST_CHECK(ratelimit_table_count(t) == 1);
    TEST_CHECK(ratelimit_table_get(t, ID64) != NULL);
    TEST_CHECK(ratelimit_table_get(t, ID64 "a") == NULL); /* longer than an id */
    TEST_CHECK(ratelimit_table_get(t, "") == NULL);
    TEST_CHECK(ratelimit_table_get(t, NULL) == NULL);
    TEST_CHECK(ratelimit_table_count(t) == 2);
    ratelimit_table_remove(t, "gw-1");
    TEST_CHECK(ratelimit_table_find(t, "gw-1") == NULL);
    TEST_CHECK(ratelimit_table_count(t) == 1);
    ratelimit_table_remove(t, "not-there");
    a = ratelimit_table_get(t, "gw-1");
    TEST_CHECK(a != NULL && a->suppressed == 0); /* made afresh */
out:
    ratelimit_table_free(t);
}

static void test_table_bounded_lru(void)
{
    struct ratelimit_table *t = ratelimit_table_new(3);
    char key[16];

    if (!TEST_CHECK(t != NULL)) {
        return;
    }
    ratelimit_table_get(t, "d1");
    ratelimit_table_get(t, "d2");
    ratelimit_table_get(t, "d3");
    ratelimit_table_get(t, "d1"); /* d2 is now the least recently used */
    ratelimit_table_get(t, "d4");
    TEST_CHECK(ratelimit_table_count(t) == 3);
    TEST_CHECK(ratelimit_table_find(t, "d2") == NULL);
    TEST_CHECK(ratelimit_table_find(t, "d1") != NULL);
    TEST_CHECK(ratelimit_table_find(t, "d3") != NULL);
    TEST_CHECK(ratelimit_table_find(t, "d4") != NULL);
    TEST_CHECK(ratelimit_table_evicted(t) == 1);
    /* many more keys than room: never more than capacity, every lookup still right */
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "dev-%d", i);
        TEST_CHECK(ratelimit_table_get(t, key) != NULL);
        TEST_CHECK(ratelimit_table_find(t, key) != NULL);
    }
    TEST_CHECK(ratelimit_table_count(t) == 3);
    TEST_CHECK(ratelimit_table_find(t, "dev-999") != NULL);
    TEST_CHECK(ratelimit_table_find(t, "dev-996") == NULL);
    ratelimit_table_free(t);
}

static bool drop_odd(void *ctx, const struct ratelimit_entry *e)
{
    int *visits = ctx;

    (*visits)++;
    return (e->key[strlen(e->key) - 1] - '0') % 2 == 1;
}

static void test_table_sweep(void)
{
    struct ratelimit_table *t = ratelimit_table_new(10);
    char key[16];
    int visits = 0;
    size_t dropped = 0;

    if (!TEST_CHECK(t != NULL)) {
        return;
    }
    for (int i = 0; i < 6; i++) {
        snprintf(key, sizeof(key), "d%d", i);
        ratelimit_table_get(t, key);
    }
    /* incremental: a few slots per call, wrapping around */
    dropped += ratelimit_table_sweep(t, 4, drop_odd, &visits);
    dropped += ratelimit_table_sweep(t, 4, drop_odd, &visits);
    dropped += ratelimit_table_sweep(t, 2, drop_odd, &visits); /* 10 slots: once round */
    TEST_CHECK(dropped == 3);
    TEST_MSG("dropped %zu", dropped);
    TEST_CHECK(visits == 6);
    TEST_CHECK(ratelimit_table_count(t) == 3);
    TEST_CHECK(ratelimit_table_find(t, "d1") == NULL && ratelimit_table_find(t, "d0") != NULL);
    /* the freed slots are used again */
    for (int i = 10; i < 17; i++) {
        snprintf(key, sizeof(key), "e%d", i);
        TEST_CHECK(ratelimit_table_get(t, key) != NULL);
    }
    TEST_CHECK(ratelimit_table_count(t) == 10);
    TEST_CHECK(ratelimit_table_evicted(t) == 0);
    ratelimit_table_free(t);
}

static void test_table_bad_capacity(void)
{
    TEST_CHECK(ratelimit_table_new(0) == NULL);
    TEST_CHECK(ratelimit_table_new((size_t)1 << 25) == NULL);
    ratelimit_table_free(NULL);
}

TEST_LIST = {
    {"bucket_burst_then_rate", test_bucket_burst_then_rate},
    {"bucket_clock_backwards", test_bucket_clock_backwards},
    {"rate_parse", test_rate_parse},
    {"rate_format_reads_back", test_rate_format_reads_back},
    {"table_get_find_remove", test_table_get_find_remove},
    {"table_bounded_lru", test_table_bounded_lru},
    {"table_sweep", test_table_sweep},
    {"table_bad_capacity", test_table_bad_capacity},
    {NULL, NULL},
};
