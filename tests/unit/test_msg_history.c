/* test_msg_history.c -- unit tests of msg/msg_history.c: the device's `replay` member is true
 * exactly when it sends a reading more than the lateness L after taking it (protocol.md 4.1,
 * "History and news"), and msg_history_replay_held measures that time with the clock it can
 * trust: the time since boot within one boot (immune to steps of the wall clock), the wall
 * clock across a reboot only if it was synchronised at both ends. */
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

/* ---- msg_history_replay_held: which clock measures the time held ---- */

#define YEARS_56 (INT64_C(56) * 365 * 86400000)   /* 1970 to 2026, about */

/* A reading stored at T0 - held_ms of the wall clock and boot_ms of the boot-time clock, sent
 * now (T0 on the wall clock, boot_ms + held_ms since boot). */
static struct msg_history_held held(enum msg_history_boot boot, int64_t held_ms)
{
    struct msg_history_held h = {
        .boot = boot,
        .stored_boot_ms = 40000,
        .now_boot_ms = 40000 + held_ms,
        .stored_wall_ms = T0 - held_ms,
        .now_wall_ms = T0,
        .stored_synced = true,
        .now_synced = true,
    };
    return h;
}

static void test_same_boot_ignores_a_wall_clock_step(void)
{
    struct msg_history_held h = held(MSG_HISTORY_BOOT_SAME, 10000);

    TEST_CHECK(!msg_history_replay_held(&h));
    /* stored in 1970 (a Pi without a real-time clock), NTP set the clock, sent 10 s later */
    h.stored_wall_ms = 40000;
    h.stored_synced = false;
    TEST_CHECK(msg_history_replay(h.stored_wall_ms, h.now_wall_ms));   /* the wall clock lies */
    TEST_CHECK(!msg_history_replay_held(&h));
    /* stored at a saved time in the future (fake-hwclock), NTP stepped the clock back */
    h.stored_wall_ms = T0 + INT64_C(86400000);
    TEST_CHECK(msg_history_replay(h.stored_wall_ms, h.now_wall_ms));
    TEST_CHECK(!msg_history_replay_held(&h));
    /* or the clock was unsynchronised at the send: the boot-time clock still decides */
    h.now_synced = false;
    h.now_wall_ms = 0;
    TEST_CHECK(!msg_history_replay_held(&h));
}

static void test_same_boot_held_longer_than_l_is_history(void)
{
    struct msg_history_held h = held(MSG_HISTORY_BOOT_SAME, MSG_HISTORY_LATENESS_MS);

    TEST_CHECK(!msg_history_replay_held(&h));   /* L itself: news */
    h = held(MSG_HISTORY_BOOT_SAME, MSG_HISTORY_LATENESS_MS + 1);
    TEST_CHECK(msg_history_replay_held(&h));
    /* the wall clock stepped back by more than the hour held: still history */
    h = held(MSG_HISTORY_BOOT_SAME, INT64_C(3600000));
    h.stored_wall_ms = T0 + INT64_C(7200000);
    TEST_CHECK(msg_history_replay_held(&h));
}

static void test_other_boot_uses_wall_clock_when_synced_at_both_ends(void)
{
    struct msg_history_held h = held(MSG_HISTORY_BOOT_OTHER, 10000);

    h.stored_boot_ms = 999999999;   /* another boot's: not used */
    h.now_boot_ms = 5;
    TEST_CHECK(!msg_history_replay_held(&h));   /* a quick restart of a synchronised host */
    h = held(MSG_HISTORY_BOOT_OTHER, MSG_HISTORY_LATENESS_MS + 1);
    TEST_CHECK(msg_history_replay_held(&h));
    h = held(MSG_HISTORY_BOOT_OTHER, -1000);   /* synchronised, yet went back: unknown */
    TEST_CHECK(msg_history_replay_held(&h));
}

static void test_other_boot_unsynced_at_either_end_is_history(void)
{
    struct msg_history_held h = held(MSG_HISTORY_BOOT_OTHER, 10000);

    h.stored_synced = false;   /* stored before NTP answered, then a power cut */
    TEST_CHECK(msg_history_replay_held(&h));
    h = held(MSG_HISTORY_BOOT_OTHER, 10000);
    h.now_synced = false;      /* sent before NTP answered after the reboot */
    TEST_CHECK(msg_history_replay_held(&h));
    h.now_wall_ms = T0 - YEARS_56;
    TEST_CHECK(msg_history_replay_held(&h));
}

static void test_unknown_boot_falls_back_to_the_wall_clock(void)
{
    struct msg_history_held h = held(MSG_HISTORY_BOOT_UNKNOWN, 10000);

    h.stored_synced = false;   /* unknown too: not used */
    h.now_synced = false;
    TEST_CHECK(!msg_history_replay_held(&h));
    h = held(MSG_HISTORY_BOOT_UNKNOWN, MSG_HISTORY_LATENESS_MS + 1);
    TEST_CHECK(msg_history_replay_held(&h));
    h = held(MSG_HISTORY_BOOT_UNKNOWN, -1);
    TEST_CHECK(msg_history_replay_held(&h));
}

TEST_LIST = {
    {"lateness_is_five_minutes", test_lateness_is_five_minutes},
    {"first_send_and_resend_within_l_are_news", test_first_send_and_resend_within_l_are_news},
    {"held_longer_than_l_is_history", test_held_longer_than_l_is_history},
    {"clock_gone_back_is_history", test_clock_gone_back_is_history},
    {"extremes_do_not_overflow", test_extremes_do_not_overflow},
    {"same_boot_ignores_a_wall_clock_step", test_same_boot_ignores_a_wall_clock_step},
    {"same_boot_held_longer_than_l_is_history", test_same_boot_held_longer_than_l_is_history},
    {"other_boot_uses_wall_clock_when_synced_at_both_ends",
     test_other_boot_uses_wall_clock_when_synced_at_both_ends},
    {"other_boot_unsynced_at_either_end_is_history",
     test_other_boot_unsynced_at_either_end_is_history},
    {"unknown_boot_falls_back_to_the_wall_clock", test_unknown_boot_falls_back_to_the_wall_clock},
    {NULL, NULL},
};
