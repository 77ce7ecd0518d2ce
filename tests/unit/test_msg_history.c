/* test_msg_history.c -- unit tests of msg/msg_history.c: the device's `replay` member is true
 * exactly when it sends a reading more than the lateness L after taking it (protocol.md 4.1,
 * "History and news"). */
#include <stdint.h>

#include "msg_history.h"
#include "tinytest.h"

#define T0 INT64_C(1770779700000)   /* 2026-02-11T03:15:00.000Z */

static void test_lateness_is_five_minutes(void)
{
    TEST_CHECK(MSG_HISTORY_LATENESS_MS == INT64_C(5) * 60 * 1000);
}

static void test_first_send_and_resend_within_l_are_news(void)
{
    TEST_CHECK(!msg_history_replay(T0, T0));               /* the first send, at once */
    TEST_CHECK(!msg_history_replay(T0, T0 + 3000));        /* a resend after a 3 s timeout */
    TEST_CHECK(!msg_history_replay(T0, T0 + 60000));       /* a minute's outage */
    TEST_CHECK(!msg_history_replay(T0, T0 + MSG_HISTORY_LATENESS_MS));   /* L itself: news */
}

static void test_held_longer_than_l_is_history(void)
{
    TEST_CHECK(msg_history_replay(T0, T0 + MSG_HISTORY_LATENESS_MS + 1));
    TEST_CHECK(msg_history_replay(T0, T0 + INT64_C(3600000)));          /* an hour's backlog */
    TEST_CHECK(msg_history_replay(T0, T0 + INT64_C(3) * 86400000));     /* three days */
    /* the same on any clock: ms since boot */
    TEST_CHECK(!msg_history_replay(1000, 1000 + 299999));
    TEST_CHECK(msg_history_replay(1000, 1000 + 300001));
}

static void test_clock_gone_back_is_history(void)
{
    TEST_CHECK(msg_history_replay(T0, T0 - 1));
    TEST_CHECK(msg_history_replay(T0, 0));
}

static void test_extremes_do_not_overflow(void)
{
    TEST_CHECK(msg_history_replay(INT64_MIN, INT64_MAX));
    TEST_CHECK(msg_history_replay(INT64_MIN, 0));
    TEST_CHECK(!msg_history_replay(INT64_MAX, INT64_MAX));
    TEST_CHECK(!msg_history_replay(INT64_MIN, INT64_MIN + MSG_HISTORY_LATENESS_MS));
    TEST_CHECK(msg_history_replay(INT64_MAX, INT64_MIN));
}

TEST_LIST = {
    {"lateness_is_five_minutes", test_lateness_is_five_minutes},
    {"first_send_and_resend_within_l_are_news", test_first_send_and_resend_within_l_are_news},
    {"held_longer_than_l_is_history", test_held_longer_than_l_is_history},
    {"clock_gone_back_is_history", test_clock_gone_back_is_history},
    {"extremes_do_not_overflow", test_extremes_do_not_overflow},
    {NULL, NULL},
};
