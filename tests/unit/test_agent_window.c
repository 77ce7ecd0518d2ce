/* test_agent_window.c -- unit tests of edge-agent/agent_window.c: the adaptive resend timeout
 * (RFC 6298 arithmetic, floor, ceiling, backoff), the token bucket (no burst after a pause),
 * and the window table (bounded, refused readings outside the in-flight count). The jittered
 * backoff of reconnects and source reopens is msg_backoff's (test_msg_backoff.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

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

static void test_backlog_off_is_the_share(void)
{
    struct agent_backlog b;

    agent_backlog_init(&b, 0, 375.0);
    TEST_CHECK(agent_backlog_room(&b, 0) == 375);
    TEST_CHECK(agent_backlog_room(&b, 370) == 5);
    TEST_CHECK(agent_backlog_room(&b, 400) == 0);
    agent_backlog_sample(&b, 60000, 1000, 375); /* off: late acknowledgements change nothing */
    TEST_CHECK(agent_backlog_room(&b, 0) == 375);
}

static void test_backlog_slow_start_only_while_it_limits(void)
{
    struct agent_backlog b;

    agent_backlog_init(&b, 2000, 375.0);
    TEST_CHECK(agent_backlog_room(&b, 0) == (size_t)AGENT_BACKLOG_INITIAL);
    /* four early acknowledgements with the window full: doubled */
    for (int i = 0; i < 4; i++) {
        agent_backlog_sample(&b, 300, 1000, agent_backlog_room(&b, 0));
    }
    TEST_CHECK(agent_backlog_room(&b, 0) == 8);
    TEST_MSG("room %zu", agent_backlog_room(&b, 0));
    /* held back by the pacing (1 in flight of 8): no growth */
    for (int i = 0; i < 20; i++) {
        agent_backlog_sample(&b, 300, 1000, 1);
    }
    TEST_CHECK(agent_backlog_room(&b, 0) == 8);
    /* never above the share */
    for (int i = 0; i < 2000; i++) {
        agent_backlog_sample(&b, 300, 1000, 400);
    }
    TEST_CHECK(agent_backlog_room(&b, 0) == 375);
    /* a city reconnecting: the first round trips already go through a queue (6 s). The base
     * counts for at most the target, so they read as 4 s of queueing: no growth */
    agent_backlog_init(&b, 2000, 375.0);
    for (int i = 0; i < 20; i++) {
        agent_backlog_sample(&b, 6000, 1000, agent_backlog_room(&b, 0));
    }
    TEST_CHECK(agent_backlog_room(&b, 0) <= (size_t)AGENT_BACKLOG_INITIAL);
    TEST_MSG("room %zu", agent_backlog_room(&b, 0));
}

static void test_backlog_late_acks_shrink_it(void)
{
    struct agent_backlog b;
    size_t before;

    agent_backlog_init(&b, 2000, 375.0);
    for (int i = 0; i < 60; i++) {
        agent_backlog_sample(&b, 300, 1000, 100);
    }
    before = agent_backlog_room(&b, 0);
    TEST_CHECK(before == 64);
    TEST_MSG("room %zu", before);
    /* between the target and twice it: a little less, and slow start is over */
    agent_backlog_sample(&b, 3000, 2000, 64);
    TEST_CHECK(agent_backlog_room(&b, 0) == 63);
    TEST_CHECK(!b.slow_start);
    /* later than twice the target: half of what was out, once per round trip */
    agent_backlog_sample(&b, 5000, 3000, 40);
    TEST_CHECK(agent_backlog_room(&b, 0) == 20);
    agent_backlog_sample(&b, 5000, 4000, 20); /* within 5 s of the halving: held */
    TEST_CHECK(agent_backlog_room(&b, 0) == 20);
    TEST_MSG("room %zu", agent_backlog_room(&b, 0));
    agent_backlog_sample(&b, 5000, 8001, 19); /* a round trip later: halved again */
    TEST_CHECK(agent_backlog_room(&b, 0) == 9);
    TEST_CHECK(b.cuts == 2);
    for (int i = 0; i < 20; i++) {
        agent_backlog_sample(&b, 60000, 100000 + 100000 * i, 9);
    }
    TEST_CHECK(agent_backlog_room(&b, 0) == 1); /* never below one */
    /* early again (a queueing delay under half the target): doubling while it is what holds
     * the backlog back, 5 in flight: up to 7 */
    for (int i = 0; i < 10; i++) {
        agent_backlog_sample(&b, 0, 3000000, 5);
    }
    TEST_CHECK(agent_backlog_room(&b, 0) == 7);
    TEST_MSG("room %zu", agent_backlog_room(&b, 0));
    /* between half the target and the target: a quarter of the room left, per round trip */
    for (int i = 0; i < 7; i++) {
        agent_backlog_sample(&b, 1500, 3000000, 7);
    }
    TEST_CHECK(b.cwnd > 7.2 && b.cwnd < 7.3);
    TEST_MSG("cwnd %.3f", b.cwnd);
}

/* A city after an outage, as a model: DEVS devices with endless backlogs, each paced at
 * RATE/s, share one FIFO queue (the broker's to the collector) served at SERVE/s; a served
 * reading is committed at once and acknowledged ACK_MS later. Returns the longest wait in the
 * queue (publish to commit) of readings published after the first 20 s, in ms, and the
 * readings committed per second over the last 30 s in *rate. */
#define SIM_DEVS 800
#define SIM_RATE 18.0
#define SIM_SERVE 8000.0
#define SIM_ACK_MS 250
#define SIM_S 60
#define SIM_STEP_MS 10
#define SIM_CAP 400000

struct sim_item {
    int dev;
    int64_t sent_ms;
    int64_t due_ms; /* the acknowledgement's arrival */
};

static int64_t city_model(int64_t target_ms, double *rate)
{
    struct agent_backlog *b = calloc(SIM_DEVS, sizeof(*b));
    size_t *inflight = calloc(SIM_DEVS, sizeof(*inflight));
    double *tokens = calloc(SIM_DEVS, sizeof(*tokens));
    struct sim_item *q = calloc(SIM_CAP, sizeof(*q));       /* the queue, a ring */
    struct sim_item *acks = calloc(SIM_CAP, sizeof(*acks)); /* acknowledgements on the way */
    size_t qh = 0, qt = 0, ah = 0, at = 0;
    double serve = 0.0;
    int64_t worst = 0;
    uint64_t late_commits = 0;

    if (b == NULL || inflight == NULL || tokens == NULL || q == NULL || acks == NULL) {
        TEST_CHECK(!"out of memory");
        goto out;
    }
    for (int i = 0; i < SIM_DEVS; i++) {
        agent_backlog_init(&b[i], target_ms, 375.0);
        tokens[i] = (double)(i % 10) / 10.0; /* not all in step */
    }
    for (int64_t t = 0; t < SIM_S * 1000; t += SIM_STEP_MS) {
        /* acknowledgements that arrived */
        while (ah != at && acks[ah % SIM_CAP].due_ms <= t) {
            struct sim_item *a = &acks[ah % SIM_CAP];

            agent_backlog_sample(&b[a->dev], t - a->sent_ms, t, inflight[a->dev]);
            inflight[a->dev]--;
            ah++;
        }
        /* the devices publish */
        for (int i = 0; i < SIM_DEVS; i++) {
            tokens[i] += SIM_RATE * SIM_STEP_MS / 1000.0;
            if (tokens[i] > 10.0) {
                tokens[i] = 10.0;
            }
            while (tokens[i] >= 1.0 && agent_backlog_room(&b[i], inflight[i]) > 0 &&
                   qt - qh < SIM_CAP) {
                q[qt % SIM_CAP] = (struct sim_item){.dev = i, .sent_ms = t};
                qt++;
                inflight[i]++;
                tokens[i] -= 1.0;
            }
        }
        /* the collector commits */
        serve += SIM_SERVE * SIM_STEP_MS / 1000.0;
        while (serve >= 1.0 && qh != qt) {
            struct sim_item it = q[qh % SIM_CAP];

            qh++;
            serve -= 1.0;
            if (it.sent_ms >= 20000 && t - it.sent_ms > worst) {
                worst = t - it.sent_ms;
            }
            if (t >= (SIM_S - 30) * 1000) {
                late_commits++;
            }
            it.due_ms = t + SIM_ACK_MS;
            acks[at % SIM_CAP] = it;
            at++;
        }
        if (qh == qt) {
            serve = 0.0; /* an idle server saves nothing up */
        }
    }
    *rate = (double)late_commits / 30.0;
out:
    free(b);
    free(inflight);
    free(tokens);
    free(q);
    free(acks);
    return worst;
}

static void test_backlog_city_model_keeps_the_queue_short(void)
{
    double rate_off = 0.0;
    double rate_on = 0.0;
    int64_t wait_off = city_model(0, &rate_off);
    int64_t wait_on = city_model(2000, &rate_on);

    /* off: every device keeps rate x round trip in flight; the queue grows to hundreds of
     * thousands (a live reading behind them waits tens of seconds) */
    TEST_CHECK(wait_off > 20000);
    TEST_MSG("off: longest wait %lld ms, %.0f/s", (long long)wait_off, rate_off);
    /* on: the queue stays near the target; the collector stays busy */
    TEST_CHECK(wait_on <= 5000);
    TEST_MSG("on: longest wait %lld ms, %.0f/s", (long long)wait_on, rate_on);
    TEST_CHECK(rate_on >= 0.95 * SIM_SERVE);
    TEST_MSG("on: %.0f/s committed", rate_on);
    printf("city model: off %lld ms %.0f/s, on %lld ms %.0f/s\n", (long long)wait_off, rate_off,
           (long long)wait_on, rate_on);
}

TEST_LIST = {
    {"backlog_off_is_the_share", test_backlog_off_is_the_share},
    {"backlog_slow_start_only_while_it_limits", test_backlog_slow_start_only_while_it_limits},
    {"backlog_late_acks_shrink_it", test_backlog_late_acks_shrink_it},
    {"backlog_city_model_keeps_the_queue_short", test_backlog_city_model_keeps_the_queue_short},
    {"rto_initial_before_any_sample", test_rto_initial_before_any_sample},
    {"rto_follows_rfc6298", test_rto_follows_rfc6298},
    {"rto_floor_and_ceiling", test_rto_floor_and_ceiling},
    {"bucket_rate_and_no_burst_after_pause", test_bucket_rate_and_no_burst_after_pause},
    {"bucket_reserve_and_debt_9_3", test_bucket_reserve_and_debt_9_3},
    {"window_bounded_and_refused_apart", test_window_bounded_and_refused_apart},
    {"rand_zero_seed_and_spread", test_rand_zero_seed_and_spread},
    {NULL, NULL},
};
