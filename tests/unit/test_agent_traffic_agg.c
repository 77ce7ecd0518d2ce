/* test_agent_traffic_agg.c -- unit tests of edge-agent/traffic_agg.c: interval alignment,
 * counts per station, lane and class, mean speed, closing after the grace, late and future
 * events, a full table. */
#include <stdio.h>
#include <string.h>

#include "msg_err.h"
#include "msg_time.h"
#include "tinytest.h"
#include "traffic_agg.h"

/* 2026-03-02T00:15:00.000Z */
#define T0 INT64_C(1772410500000)

static void test_align(void)
{
    TEST_CHECK(traffic_agg_align(T0, 300000) == T0);
    TEST_CHECK(traffic_agg_align(T0 + 299999, 300000) == T0);
    TEST_CHECK(traffic_agg_align(T0 + 300000, 300000) == T0 + 300000);
    TEST_CHECK(traffic_agg_align(T0 + 59999, 60000) == T0);
    TEST_CHECK(traffic_agg_align(T0 + 1, 900000) == T0 - 0);   /* 00:15 is a quarter hour */
    TEST_CHECK(traffic_agg_align(0, 60000) == 0);
}

static void test_init_rejects_bad_interval(void)
{
    static struct traffic_agg a;

    TEST_CHECK(traffic_agg_init(&a, 999, 0) == MSG_ERR_INVAL);
    TEST_CHECK(traffic_agg_init(&a, 1500, 0) == MSG_ERR_INVAL);
    TEST_CHECK(traffic_agg_init(&a, 3600001, 0) == MSG_ERR_INVAL);
    TEST_CHECK(traffic_agg_init(&a, 300000, -1) == MSG_ERR_INVAL);
    TEST_CHECK(traffic_agg_init(&a, 300000, 5000) == MSG_OK);
}

static void test_counts_close_after_grace(void)
{
    static struct traffic_agg a;
    struct msg_traffic t;
    char err[MSG_ERRLEN] = "";
    int64_t ts = 0;
    int i;

    TEST_CHECK(traffic_agg_init(&a, 300000, 5000) == MSG_OK);
    TEST_CHECK(traffic_agg_add(&a, "cam-1", "eastbound", MSG_VCLASS_CAR, 1, true, 40, T0 + 10,
                               T0 + 10, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(traffic_agg_add(&a, "cam-1", "eastbound", MSG_VCLASS_CAR, 2, true, 10, T0 + 20,
                               T0 + 20, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(traffic_agg_add(&a, "cam-1", "eastbound", MSG_VCLASS_MOTORCYCLE, 5, false, 0,
                               T0 + 299999, T0 + 299999, err, sizeof(err)) == MSG_OK);
    /* another lane, and the next interval: their own bins */
    TEST_CHECK(traffic_agg_add(&a, "cam-1", "westbound", MSG_VCLASS_BUS, 1, false, 0, T0 + 30,
                               T0 + 30, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(traffic_agg_add(&a, "cam-1", "eastbound", MSG_VCLASS_TRUCK, 1, false, 0,
                               T0 + 300000, T0 + 300000, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(traffic_agg_next_close(&a) == T0 + 305000);
    /* a late event within the grace still counts */
    TEST_CHECK(traffic_agg_add(&a, "cam-1", "eastbound", MSG_VCLASS_NONMOTOR, 1, false, 0,
                               T0 + 1000, T0 + 304999, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(traffic_agg_due(&a, T0 + 304999) < 0);
    i = traffic_agg_due(&a, T0 + 305000);
    TEST_CHECK(i >= 0);
    traffic_agg_reading(&a, i, &t, &ts);
    TEST_CHECK(ts == T0);
    TEST_CHECK(t.interval_s == 300);
    TEST_CHECK(strcmp(t.station, "cam-1") == 0);
    if (strcmp(t.lane, "eastbound") == 0) {
        TEST_CHECK(t.counts[MSG_VCLASS_CAR] == 3);
        TEST_CHECK(t.counts[MSG_VCLASS_MOTORCYCLE] == 5);
        TEST_CHECK(t.counts[MSG_VCLASS_NONMOTOR] == 1);
        TEST_CHECK(t.counts[MSG_VCLASS_BUS] == 0 && t.counts[MSG_VCLASS_TRUCK] == 0);
        TEST_CHECK(t.has_speed && t.speed_kmh == 20.0);   /* (40 + 2 * 10) / 3 */
    } else {
        TEST_CHECK(strcmp(t.lane, "westbound") == 0);
        TEST_CHECK(t.counts[MSG_VCLASS_BUS] == 1 && !t.has_speed);
    }
    traffic_agg_remove(&a, i);
    i = traffic_agg_due(&a, T0 + 305000);
    TEST_CHECK(i >= 0);
    traffic_agg_remove(&a, i);
    TEST_CHECK(traffic_agg_due(&a, T0 + 305000) < 0);   /* the next interval is still open */
    TEST_CHECK(traffic_agg_next_close(&a) == T0 + 605000);
    /* the closed interval takes nothing more */
    TEST_CHECK(traffic_agg_add(&a, "cam-1", "eastbound", MSG_VCLASS_CAR, 1, false, 0, T0 + 5,
                               T0 + 305000, err, sizeof(err)) == MSG_ERR_INVAL);
    TEST_CHECK(strstr(err, "late") != NULL && strstr(err, "2026-03-02T00:15:00.000Z") != NULL);
    TEST_MSG("err: %s", err);
}

static void test_refusals_name_the_field(void)
{
    static struct traffic_agg a;
    char err[MSG_ERRLEN] = "";

    TEST_CHECK(traffic_agg_init(&a, 60000, 0) == MSG_OK);
    TEST_CHECK(traffic_agg_add(&a, "Cam 1", "l", MSG_VCLASS_CAR, 1, false, 0, T0, T0, err,
                               sizeof(err)) == MSG_ERR_INVAL);
    TEST_CHECK(strstr(err, "station") != NULL);
    TEST_CHECK(traffic_agg_add(&a, "cam-1", "a-lane-name-that-is-longer-than-32", MSG_VCLASS_CAR,
                               1, false, 0, T0, T0, err, sizeof(err)) == MSG_ERR_INVAL);
    TEST_CHECK(strstr(err, "lane") != NULL);
    TEST_CHECK(traffic_agg_add(&a, "cam-1", "l", MSG_VCLASS_CAR, 0, false, 0, T0, T0, err,
                               sizeof(err)) == MSG_ERR_INVAL);
    TEST_CHECK(strstr(err, "count") != NULL);
    TEST_CHECK(traffic_agg_add(&a, "cam-1", "l", MSG_VCLASS_CAR, 1, false, 0,
                               T0 + TRAFFIC_AGG_FUTURE_MS + 1, T0, err, sizeof(err)) ==
               MSG_ERR_INVAL);
    TEST_CHECK(strstr(err, "future") != NULL);
}

static void test_full_table(void)
{
    static struct traffic_agg a;
    char err[MSG_ERRLEN] = "";
    char lane[16];

    TEST_CHECK(traffic_agg_init(&a, 60000, 0) == MSG_OK);
    for (int i = 0; i < TRAFFIC_AGG_BINS_MAX; i++) {
        snprintf(lane, sizeof(lane), "l%d", i);
        TEST_CHECK(traffic_agg_add(&a, "cam-1", lane, MSG_VCLASS_CAR, 1, false, 0, T0, T0, err,
                                   sizeof(err)) == MSG_OK);
    }
    TEST_CHECK(traffic_agg_add(&a, "cam-1", "one-more", MSG_VCLASS_CAR, 1, false, 0, T0, T0,
                               err, sizeof(err)) == MSG_ERR_FULL);
    /* an existing bin still takes counts */
    TEST_CHECK(traffic_agg_add(&a, "cam-1", "l7", MSG_VCLASS_CAR, 1, false, 0, T0, T0, err,
                               sizeof(err)) == MSG_OK);
}

/* Issue 9, item 15: a camera's lane state: the mean occupancy and the longest queue of the
 * interval's samples go into its reading, with or without counts. */
static void test_lane_occupancy_and_queue(void)
{
    static struct traffic_agg a;
    struct msg_traffic t;
    char err[MSG_ERRLEN] = "";
    int64_t ts = 0;
    int i;

    TEST_CHECK(traffic_agg_init(&a, 60000, 1000) == MSG_OK);
    TEST_CHECK(traffic_agg_add(&a, "cam-1", "eastbound", MSG_VCLASS_CAR, 4, false, 0, T0 + 10,
                               T0 + 10, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(traffic_agg_lane(&a, "cam-1", "eastbound", true, 40, true, 120, T0 + 20000,
                                T0 + 20000, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(traffic_agg_lane(&a, "cam-1", "eastbound", true, 20, false, 0, T0 + 40000,
                                T0 + 40000, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(traffic_agg_lane(&a, "cam-1", "eastbound", true, 31, true, 85.25, T0 + 59000,
                                T0 + 59000, err, sizeof(err)) == MSG_OK);
    /* a lane with only its state, no vehicle */
    TEST_CHECK(traffic_agg_lane(&a, "cam-1", "westbound", false, 0, true, 0, T0 + 30000,
                                T0 + 30000, err, sizeof(err)) == MSG_OK);
    /* refusals: range, late */
    TEST_CHECK(traffic_agg_lane(&a, "cam-1", "eastbound", true, 101, false, 0, T0 + 30000,
                                T0 + 30000, err, sizeof(err)) == MSG_ERR_INVAL);
    TEST_CHECK(traffic_agg_lane(&a, "cam-1", "eastbound", false, 0, true, 10001, T0 + 30000,
                                T0 + 30000, err, sizeof(err)) == MSG_ERR_INVAL);
    TEST_CHECK(traffic_agg_lane(&a, "cam-1", "eastbound", true, 10, false, 0, T0 - 60000,
                                T0 + 30000, err, sizeof(err)) == MSG_ERR_INVAL);
    TEST_CHECK(strncmp(err, "late", 4) == 0);
    TEST_MSG("err: %s", err);

    i = traffic_agg_due(&a, T0 + 61000);
    TEST_CHECK(i >= 0);
    traffic_agg_reading(&a, i, &t, &ts);
    TEST_CHECK(ts == T0);
    if (strcmp(t.lane, "eastbound") != 0) {
        traffic_agg_remove(&a, i);
        i = traffic_agg_due(&a, T0 + 61000);
        TEST_CHECK(i >= 0);
        traffic_agg_reading(&a, i, &t, &ts);
    }
    TEST_CHECK(strcmp(t.lane, "eastbound") == 0);
    TEST_CHECK(t.counts[MSG_VCLASS_CAR] == 4);
    TEST_CHECK(t.has_occupancy && t.occupancy_pct == 30.3);   /* (40 + 20 + 31) / 3 */
    TEST_MSG("occupancy %g", t.occupancy_pct);
    TEST_CHECK(t.has_queue && t.queue_m == 120);
    traffic_agg_remove(&a, i);
    i = traffic_agg_due(&a, T0 + 61000);
    TEST_CHECK(i >= 0);
    if (i >= 0) {
        traffic_agg_reading(&a, i, &t, &ts);
        TEST_CHECK(strcmp(t.lane, "westbound") == 0);
        TEST_CHECK(!t.has_occupancy && t.has_queue && t.queue_m == 0);
        traffic_agg_remove(&a, i);
    }
    /* counts alone: neither member */
    TEST_CHECK(traffic_agg_add(&a, "cam-1", "eastbound", MSG_VCLASS_BUS, 1, false, 0,
                               T0 + 60000, T0 + 60000, err, sizeof(err)) == MSG_OK);
    i = traffic_agg_due(&a, T0 + 121000);
    TEST_CHECK(i >= 0);
    traffic_agg_reading(&a, i, &t, &ts);
    TEST_CHECK(!t.has_occupancy && !t.has_queue);
}

TEST_LIST = {
    {"align", test_align},
    {"init_rejects_bad_interval", test_init_rejects_bad_interval},
    {"counts_close_after_grace", test_counts_close_after_grace},
    {"refusals_name_the_field", test_refusals_name_the_field},
    {"full_table", test_full_table},
    {"lane_occupancy_and_queue", test_lane_occupancy_and_queue},
    {NULL, NULL},
};
