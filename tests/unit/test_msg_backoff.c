/* test_msg_backoff.c -- unit tests of msg/msg_backoff.c: the doubling cap, each caller's numbers
 * (the collector's equal jitter, the registry cache's plain doubling, the agent's full and
 * decorrelated jitter stay within their bounds and grow), and a reset. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "msg_backoff.h"
#include "tinytest.h"

/* splitmix64: the tests' source of random values (the programs bring their own) */
static uint64_t rnd(uint64_t *state)
{
    uint64_t z = 0;

    *state += UINT64_C(0x9e3779b97f4a7c15);
    z = *state;
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static void test_cap_doubles_and_stops(void)
{
    TEST_CHECK(msg_backoff_cap(250, 10000, 0) == 250);
    TEST_CHECK(msg_backoff_cap(250, 10000, 1) == 500);
    TEST_CHECK(msg_backoff_cap(250, 10000, 5) == 8000);
    TEST_CHECK(msg_backoff_cap(250, 10000, 6) == 10000);
    TEST_CHECK(msg_backoff_cap(250, 10000, 4000000000u) == 10000);
    TEST_CHECK(msg_backoff_cap(20000, 10000, 0) == 10000);
    TEST_CHECK(msg_backoff_cap(3, INT64_MAX, 200) > 0); /* no overflow */
}

static void test_none_is_the_registry_cache_sequence(void)
{
    /* broker-plugins/regcache.c: 250 ms doubling to 10 s, back to 250 ms after a load */
    static const int64_t want[] = {250, 500, 1000, 2000, 4000, 8000, 10000, 10000};
    struct msg_backoff b;

    msg_backoff_init(&b, 250, 10000, MSG_BACKOFF_NONE);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        int64_t w = msg_backoff_next(&b, 12345);

        TEST_CHECK(w == want[i]);
        TEST_MSG("wait %zu: %lld, want %lld", i, (long long)w, (long long)want[i]);
    }
    msg_backoff_reset(&b);
    TEST_CHECK(msg_backoff_next(&b, 0) == 250);
}

static void test_equal_jitter_is_the_collectors(void)
{
    /* collector.c: delay = min(max, min * 2^attempt); delay / 2 + rand % (delay / 2 + 1) */
    struct msg_backoff b;
    unsigned seed = 17;
    unsigned check = 17;

    msg_backoff_init(&b, 250, 30000, MSG_BACKOFF_EQUAL);
    for (unsigned attempt = 0; attempt < 20; attempt++) {
        long long delay = 250;
        int64_t w = msg_backoff_next(&b, (uint64_t)rand_r(&seed));

        for (unsigned i = 0; i < attempt && delay < 30000; i++) {
            delay *= 2;
        }
        if (delay > 30000) {
            delay = 30000;
        }
        delay = delay / 2 + (long long)(rand_r(&check) % (unsigned)(delay / 2 + 1));
        TEST_CHECK(w == delay);
        TEST_MSG("attempt %u: %lld, the collector's formula gives %lld", attempt, (long long)w,
                 delay);
        TEST_CHECK(w >= 125 && w <= 30000);
    }
    TEST_CHECK(msg_backoff_next(&b, 0) == 15000); /* half the cap at least */
}

static void test_full_jitter_bounds_and_growth(void)
{
    struct msg_backoff b;
    uint64_t rng = 42;
    int64_t cap = 1000;

    msg_backoff_init(&b, 1000, 60000, MSG_BACKOFF_FULL);
    for (int i = 0; i < 12; i++) {
        int64_t w = msg_backoff_next(&b, rnd(&rng));

        TEST_CHECK(w >= 1 && w <= cap);
        TEST_MSG("attempt %d: %lld not in 1..%lld", i, (long long)w, (long long)cap);
        cap = cap * 2 > 60000 ? 60000 : cap * 2;
    }
    TEST_CHECK(msg_backoff_next(&b, 59999) == 60000); /* grown */
    msg_backoff_reset(&b);
    TEST_CHECK(msg_backoff_next(&b, rnd(&rng)) <= 1000);
}

static void test_full_jitter_spreads_a_city(void)
{
    /* 1000 gateways after the same outage: their fifth waits spread over the range, not in
     * step (no two thirds in one tenth of it) */
    int bins[10] = {0};
    uint64_t rng = 7;

    for (int g = 0; g < 1000; g++) {
        struct msg_backoff b;
        int64_t w = 0;

        msg_backoff_init(&b, 1000, 16000, MSG_BACKOFF_FULL);
        for (int i = 0; i < 5; i++) {
            w = msg_backoff_next(&b, rnd(&rng));
        }
        bins[(w - 1) * 10 / 16000]++;
    }
    for (int i = 0; i < 10; i++) {
        TEST_CHECK(bins[i] > 50 && bins[i] < 200);
        TEST_MSG("bin %d has %d of 1000", i, bins[i]);
    }
}

static void test_decorrelated_bounds(void)
{
    struct msg_backoff b;
    uint64_t rng = 99;
    int64_t prev = 500;
    int64_t most = 0;

    msg_backoff_init(&b, 500, 30000, MSG_BACKOFF_DECORRELATED);
    for (int i = 0; i < 40; i++) {
        int64_t w = msg_backoff_next(&b, rnd(&rng));
        int64_t hi = prev * 3 > 30000 ? 30000 : prev * 3;

        TEST_CHECK(w >= 500 && w <= hi);
        TEST_MSG("attempt %d: %lld not in 500..%lld", i, (long long)w, (long long)hi);
        prev = w;
        most = w > most ? w : most;
    }
    TEST_CHECK(most > 1500); /* it grows beyond the first range */
}

static void test_init_clamps(void)
{
    struct msg_backoff b;

    msg_backoff_init(&b, 0, -5, MSG_BACKOFF_FULL);
    TEST_CHECK(b.base_ms == 1 && b.max_ms == 1);
    TEST_CHECK(msg_backoff_next(&b, 999) == 1);
}

TEST_LIST = {
    {"cap_doubles_and_stops", test_cap_doubles_and_stops},
    {"none_is_the_registry_cache_sequence", test_none_is_the_registry_cache_sequence},
    {"equal_jitter_is_the_collectors", test_equal_jitter_is_the_collectors},
    {"full_jitter_bounds_and_growth", test_full_jitter_bounds_and_growth},
    {"full_jitter_spreads_a_city", test_full_jitter_spreads_a_city},
    {"decorrelated_bounds", test_decorrelated_bounds},
    {"init_clamps", test_init_clamps},
    {NULL, NULL},
};
