/* test_agent_window.c -- unit tests of edge-agent/agent_window.c: the adaptive resend timeout
 * (RFC 6298 arithmetic, floor, ceiling, backoff), the token bucket (no burst after a pause),
 * and the window table (bounded, refused readings outside the in-flight count). The jittered
 * backoff of reconnects and source reopens is msg_backoff's (test_msg_backoff.c). */
#include <stdint.h>
#include <stdio.h>

#include "agent_window.h"
#include "tinytest.h"

static void test_rto_initial_before_any_sample(void)
{
    struct agent_rto r;

    agent_rto_init(&r, 10000, 2000, 120000);
    TEST_CHECK(agent_rto_timeout(&r, 1) == 10000);
    TEST_CHECK(agent_rto_timeout(&r, 2) == 20000);
    TEST_CHECK(agent_rto_timeout(&r, 3) == 40000);
    TEST_CHECK(agent_rto_timeout(&r, 10) == 120000); /* the ceiling */
}

static void test_rto_follows_rfc6298(void)
{
    struct agent_rto r;

    agent_rto_init(&r, 10000, 1, 120000);
    agent_rto_sample(&r, 400); /* srtt 400, rttvar 200: rto 400 + 800 */
    TEST_CHECK(agent_rto_timeout(&r, 1) == 1200);
    TEST_MSG("rto %lld", (long long)agent_rto_timeout(&r, 1));
    agent_rto_sample(&r, 400); /* rttvar 150, srtt 400: 1000 */
    TEST_CHECK(agent_rto_timeout(&r, 1) == 1000);
    TEST_MSG("rto %lld", (long long)agent_rto_timeout(&r, 1));
    for (int i = 0; i < 200; i++) {
        agent_rto_sample(&r, 400);
    }
    TEST_CHECK(agent_rto_timeout(&r, 1) >= 400 && agent_rto_timeout(&r, 1) < 410);
    TEST_CHECK(r.samples == 202);
}

static void test_rto_floor_and_ceiling(void)
{
    struct agent_rto r;

    agent_rto_init(&r, 5000, 2000, 60000);
    for (int i = 0; i < 50; i++) {
        agent_rto_sample(&r, 10); /* a fast LAN: still at least the floor */
    }
    TEST_CHECK(agent_rto_timeout(&r, 1) == 2000);
    agent_rto_init(&r, 5000, 2000, 60000);
    agent_rto_sample(&r, 600000); /* a slow database: at most the ceiling */
    TEST_CHECK(agent_rto_timeout(&r, 1) == 60000);
    agent_rto_sample(&r, -5); /* a clock step cannot make it negative */
    TEST_CHECK(agent_rto_timeout(&r, 1) >= 2000);
}

static void test_bucket_rate_and_no_burst_after_pause(void)
{
    struct agent_bucket b;
    int taken = 0;

    agent_bucket_init(&b, 100, 10, 0);
    for (int64_t t = 0; t <= 1000; t++) {
        while (agent_bucket_take(&b, t)) {
            taken++;
        }
    }
    TEST_CHECK(taken >= 100 && taken <= 102);
    TEST_MSG("took %d in one second at 100/s", taken);
    /* an hour of pause saves up at most the burst */
    taken = 0;
    while (agent_bucket_take(&b, 3601000)) {
        taken++;
    }
    TEST_CHECK(taken == 10);
    /* drained: resume at the rate */
    agent_bucket_drain(&b, 4000000);
    TEST_CHECK(!agent_bucket_take(&b, 4000000));
    TEST_CHECK(agent_bucket_wait_ms(&b, 4000000) == 10);
    TEST_CHECK(agent_bucket_take(&b, 4000010));
}

/* issue 9, item 3: one bucket paces every publish; the backlog leaves a reserve to live
 * readings and the status, and the birth may go into debt. */
static void test_bucket_reserve_and_debt_9_3(void)
{
    struct agent_bucket b;
    int n = 0;

    agent_bucket_init(&b, 4.0, 20.0, 0);
    TEST_CHECK(agent_bucket_wait_above_ms(&b, 10000, 5.0) == 0); /* full: 20 tokens */
    while (agent_bucket_take_above(&b, 10000, 5.0)) {
        n++;
    }
    TEST_CHECK(n == 15); /* 5 left for the priority */
    TEST_CHECK(agent_bucket_wait_above_ms(&b, 10000, 5.0) == 250);
    TEST_CHECK(agent_bucket_wait_ms(&b, 10000) == 0);
    for (n = 0; agent_bucket_take(&b, 10000); n++) {
    }
    TEST_CHECK(n == 5);
    agent_bucket_spend(&b, 10000); /* the birth: debt of one */
    TEST_CHECK(!agent_bucket_take(&b, 10000));
    TEST_CHECK(agent_bucket_wait_ms(&b, 10000) == 500); /* two tokens' time */
    TEST_CHECK(!agent_bucket_take(&b, 10499));
    TEST_CHECK(agent_bucket_take(&b, 10500));
    /* a floor at or above the burst cannot be waited for: it counts as burst - 1 */
    agent_bucket_init(&b, 1000.0, 3.0, 0);
    TEST_CHECK(agent_bucket_wait_above_ms(&b, 100000, 50.0) == 0);
    TEST_CHECK(agent_bucket_take_above(&b, 100000, 50.0));
    TEST_CHECK(!agent_bucket_take_above(&b, 100000, 50.0));
}

static void test_window_bounded_and_refused_apart(void)
{
    struct agent_window *w = agent_window_new(3, 2);
    struct agent_slot *s[4];

    TEST_CHECK(w != NULL);
    if (w == NULL) {
        return;
    }
    for (int i = 0; i < 3; i++) {
        s[i] = agent_window_add(w, (uint64_t)(10 + i), MSG_STREAM_FLOOD);
        TEST_CHECK(s[i] != NULL);
        s[i]->token = 100 + i;
    }
    TEST_CHECK(agent_window_add(w, 13, MSG_STREAM_FLOOD) == NULL); /* full */
    TEST_CHECK(agent_window_room(w) == 0);
    TEST_CHECK(agent_window_find(w, 11) == s[1]);
    TEST_CHECK(agent_window_find_token(w, 102) == s[2]);
    TEST_CHECK(agent_window_find_token(w, 0) == NULL);
    /* a refusal leaves the in-flight part: the readings behind it flow */
    TEST_CHECK(agent_window_refuse(w, s[0], 5000));
    TEST_CHECK(agent_window_room(w) == 1);
    TEST_CHECK(agent_window_find(w, 10) != NULL);
    TEST_CHECK(agent_window_find_token(w, 100) == NULL);
    s[3] = agent_window_add(w, 13, MSG_STREAM_LARVA);
    TEST_CHECK(s[3] != NULL);
    TEST_CHECK(agent_window_refuse(w, s[1], 6000));
    TEST_CHECK(!agent_window_refuse(w, s[2], 7000)); /* refused list full */
    /* a lost connection forgets what was in flight, not the refusals */
    agent_window_clear_sent(w);
    TEST_CHECK(w->n_sent == 0 && w->n_refused == 2);
    TEST_CHECK(agent_window_find(w, 12) == NULL);
    TEST_CHECK(agent_window_find(w, 10) != NULL);
    TEST_CHECK(agent_window_retry(w, agent_window_find(w, 10)));
    TEST_CHECK(w->n_sent == 1 && w->n_refused == 1);
    agent_window_remove(w, agent_window_find(w, 10));
    agent_window_remove(w, agent_window_find(w, 11));
    TEST_CHECK(w->n_sent == 0 && w->n_refused == 0 && agent_window_room(w) == 3);
    agent_window_free(w);
    agent_window_free(NULL);
    TEST_CHECK(agent_window_new(0, 4) == NULL);
}

static void test_rand_zero_seed_and_spread(void)
{
    uint64_t rng = 0; /* a zero seed still works */
    uint64_t prev = 0;
    bool low = false;
    bool high = false;

    for (int i = 0; i < 1000; i++) {
        uint64_t v = agent_rand_next(&rng);

        TEST_CHECK(v != prev && rng != 0);
        low = low || v < UINT64_MAX / 4;
        high = high || v > UINT64_MAX / 4 * 3;
        prev = v;
    }
    TEST_CHECK(low && high);
}

TEST_LIST = {
    {"rto_initial_before_any_sample", test_rto_initial_before_any_sample},
    {"rto_follows_rfc6298", test_rto_follows_rfc6298},
    {"rto_floor_and_ceiling", test_rto_floor_and_ceiling},
    {"bucket_rate_and_no_burst_after_pause", test_bucket_rate_and_no_burst_after_pause},
    {"bucket_reserve_and_debt_9_3", test_bucket_reserve_and_debt_9_3},
    {"window_bounded_and_refused_apart", test_window_bounded_and_refused_apart},
    {"rand_zero_seed_and_spread", test_rand_zero_seed_and_spread},
    {NULL, NULL},
};
