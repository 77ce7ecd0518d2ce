/* test_msg_clock.c -- unit tests of msg/msg_clock.c: each function reads the clock it names, in
 * the unit it names; the sleep lasts as long as asked. */
#include <stdint.h>
#include <time.h>

#include "msg_clock.h"
#include "tinytest.h"

static int64_t ref_ms(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* a is read between lo and hi (all ms), with a little slack for a slow machine */
static int between(int64_t lo, int64_t a, int64_t hi)
{
    return a >= lo && a <= hi + 5;
}

static void test_each_clock_is_the_one_named(void)
{
    int64_t lo;
    int64_t v;

    lo = ref_ms(CLOCK_MONOTONIC);
    v = msg_clock_mono_ms();
    TEST_CHECK(between(lo, v, ref_ms(CLOCK_MONOTONIC)));
    lo = ref_ms(CLOCK_REALTIME);
    v = msg_clock_wall_ms();
    TEST_CHECK(between(lo, v, ref_ms(CLOCK_REALTIME)));
    TEST_CHECK(v > INT64_C(1700000000000)); /* ms since the epoch, not seconds */
    lo = ref_ms(CLOCK_BOOTTIME);
    v = msg_clock_boot_ms();
    TEST_CHECK(between(lo, v, ref_ms(CLOCK_BOOTTIME)));
    lo = ref_ms(CLOCK_MONOTONIC);
    v = msg_clock_mono_us();
    TEST_CHECK(between(lo, v / 1000, ref_ms(CLOCK_MONOTONIC)));
    lo = ref_ms(CLOCK_REALTIME);
    v = msg_clock_wall_us();
    TEST_CHECK(between(lo, v / 1000, ref_ms(CLOCK_REALTIME)));
}

static void test_mono_ms_is_monotonic(void)
{
    int64_t a = msg_clock_mono_ms();
    int64_t b = msg_clock_mono_ms();
    int64_t c = msg_clock_mono_us();
    int64_t d = msg_clock_mono_us();

    TEST_CHECK(a > 0 && b >= a);
    TEST_CHECK(c > 0 && d >= c);
}

static void test_sleep_ms_sleeps_that_long(void)
{
    int64_t a = msg_clock_mono_ms();

    msg_clock_sleep_ms(30);
    TEST_CHECK(msg_clock_mono_ms() - a >= 30);
    a = msg_clock_mono_ms();
    msg_clock_sleep_ms(0);
    TEST_CHECK(msg_clock_mono_ms() - a < 1000);
}

TEST_LIST = {
    {"each_clock_is_the_one_named", test_each_clock_is_the_one_named},
    {"mono_ms_is_monotonic", test_mono_ms_is_monotonic},
    {"sleep_ms_sleeps_that_long", test_sleep_ms_sleeps_that_long},
    {NULL, NULL},
};
