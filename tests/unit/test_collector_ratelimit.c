/* test_collector_ratelimit.c -- collector/ratelimit.c: a token bucket per device for the dead
 * letters the broker passes on; fixed memory whatever the number of devices. */
#include <stdio.h>

#include "ratelimit.h"
#include "tinytest.h"

static void test_burst_then_refill_at_the_rate(void)
{
    struct ratelimit *r = ratelimit_new(60, 3); /* 1 a second, 3 at once */
    int64_t t = 1000000;

    TEST_CHECK(r != NULL);
    if (r == NULL) {
        return;
    }
    TEST_CHECK(ratelimit_take(r, "gw-1", t) && ratelimit_take(r, "gw-1", t) &&
               ratelimit_take(r, "gw-1", t));
    TEST_CHECK(!ratelimit_take(r, "gw-1", t));
    TEST_CHECK(!ratelimit_take(r, "gw-1", t + 999));
    TEST_CHECK(ratelimit_take(r, "gw-1", t + 1000));
    TEST_CHECK(!ratelimit_take(r, "gw-1", t + 1000));
    /* another device has its own bucket */
    TEST_CHECK(ratelimit_take(r, "gw-2", t + 1000));
    /* a long pause refills to the burst, not beyond */
    t += 3600 * 1000;
    TEST_CHECK(ratelimit_take(r, "gw-1", t) && ratelimit_take(r, "gw-1", t) &&
               ratelimit_take(r, "gw-1", t));
    TEST_CHECK(!ratelimit_take(r, "gw-1", t));
    /* a clock that goes back adds nothing */
    TEST_CHECK(!ratelimit_take(r, "gw-1", t - 5000));
    ratelimit_free(r);
}

static void test_many_devices_fixed_memory(void)
{
    struct ratelimit *r = ratelimit_new(1, 2);
    char id[32];
    int held = 0;

    TEST_CHECK(r != NULL);
    if (r == NULL) {
        return;
    }
    for (int i = 0; i < 3 * RATELIMIT_SLOTS; i++) {
        snprintf(id, sizeof(id), "gw-%05d", i);
        TEST_CHECK(ratelimit_take(r, id, i)); /* a new device starts with its burst */
    }
    /* the most recent devices still have their (now spent by one) buckets */
    for (int i = 3 * RATELIMIT_SLOTS - 100; i < 3 * RATELIMIT_SLOTS; i++) {
        snprintf(id, sizeof(id), "gw-%05d", i);
        held += ratelimit_take(r, id, 3 * RATELIMIT_SLOTS) ? 1 : 0;
        held += ratelimit_take(r, id, 3 * RATELIMIT_SLOTS) ? 0 : 1; /* second one refused */
    }
    TEST_CHECK(held == 200);
    TEST_MSG("held %d of 200", held);
    ratelimit_free(r);
    TEST_CHECK(ratelimit_new(0, 1) == NULL && ratelimit_new(1, 0) == NULL);
}

TEST_LIST = {
    {"burst_then_refill_at_the_rate", test_burst_then_refill_at_the_rate},
    {"many_devices_fixed_memory", test_many_devices_fixed_memory},
    {NULL, NULL},
};
