/* test_agent_emitq.c -- unit tests of edge-agent/emitq.c: readings kept in order while the
 * store fails, offered again after the retry time, refused ones dropped, the oldest lost when
 * the queue is full. The emit here is a stub that stands for the agent's (the store's answer
 * is what the test says). */
#include <stdio.h>
#include <string.h>

#include "emitq.h"
#include "msg_err.h"
#include "tinytest.h"

struct sink {
    int answer;              /* what emit returns */
    uint64_t got[128];       /* seq of each reading it took */
    size_t n;
};

static int sink_fn(void *ctx, const struct msg_event *ev, char *err, size_t errlen)
{
    struct sink *s = ctx;

    if (s->answer != MSG_OK) {
        snprintf(err, errlen, s->answer == MSG_ERR_SCHEMA ? "rt: missing" : "disk I/O error");
        return s->answer;
    }
    s->got[s->n++] = ev->env.seq;
    return MSG_OK;
}

static struct msg_event reading(uint64_t tag)
{
    struct msg_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.stream = MSG_STREAM_INCIDENT;
    ev.env.seq = tag;   /* a tag to follow the reading; the agent sets the real seq */
    return ev;
}

static void test_kept_in_order_while_the_store_fails(void)
{
    static struct emitq q;
    struct sink s = {MSG_OK, {0}, 0};
    struct agent_emit emit = {sink_fn, &s, "gw-1"};
    char err[MSG_ERRLEN] = "";
    struct msg_event ev;

    emitq_init(&q);
    ev = reading(1);
    TEST_CHECK(emitq_offer(&q, &emit, &ev, 1000, "t", err, sizeof(err)) == MSG_OK);
    TEST_CHECK(s.n == 1 && q.n == 0 && emitq_next(&q) == INT64_MAX);
    s.answer = MSG_ERR_DB;
    for (uint64_t t = 2; t <= 4; t++) {
        ev = reading(t);
        TEST_CHECK(emitq_offer(&q, &emit, &ev, 2000, "t", err, sizeof(err)) == MSG_OK);
    }
    TEST_CHECK(q.n == 3 && q.failing);
    TEST_CHECK(emitq_next(&q) == 2000 + EMITQ_RETRY_MS);
    s.answer = MSG_OK;
    emitq_flush(&q, &emit, 2500, "t");          /* not yet */
    TEST_CHECK(s.n == 1 && q.n == 3);
    ev = reading(5);                            /* behind the kept ones, not before them */
    TEST_CHECK(emitq_offer(&q, &emit, &ev, 2600, "t", err, sizeof(err)) == MSG_OK);
    TEST_CHECK(s.n == 1 && q.n == 4);
    emitq_flush(&q, &emit, 3000, "t");
    TEST_CHECK(q.n == 0 && !q.failing && s.n == 5);
    for (size_t i = 0; i < s.n; i++) {
        TEST_CHECK(s.got[i] == i + 1);
    }
    TEST_CHECK(q.stored == 5 && q.dropped == 0 && q.refused == 0);
}

static void test_refused_dropped_full_loses_oldest(void)
{
    static struct emitq q;
    struct sink s = {MSG_ERR_SCHEMA, {0}, 0};
    struct agent_emit emit = {sink_fn, &s, "gw-1"};
    char err[MSG_ERRLEN] = "";
    struct msg_event ev;

    emitq_init(&q);
    ev = reading(1);
    TEST_CHECK(emitq_offer(&q, &emit, &ev, 0, "t", err, sizeof(err)) == MSG_ERR_SCHEMA);
    TEST_CHECK(strstr(err, "rt") != NULL && q.n == 0 && q.refused == 1);
    s.answer = MSG_ERR_IO;
    for (uint64_t t = 1; t <= EMITQ_MAX + 3; t++) {
        ev = reading(t);
        TEST_CHECK(emitq_offer(&q, &emit, &ev, 0, "t", err, sizeof(err)) == MSG_OK);
    }
    TEST_CHECK(q.n == EMITQ_MAX && q.dropped == 3);
    s.answer = MSG_OK;
    emitq_flush(&q, &emit, EMITQ_RETRY_MS, "t");
    TEST_CHECK(s.n == EMITQ_MAX && s.got[0] == 4 && s.got[EMITQ_MAX - 1] == EMITQ_MAX + 3);
}

TEST_LIST = {
    {"kept_in_order_while_the_store_fails", test_kept_in_order_while_the_store_fails},
    {"refused_dropped_full_loses_oldest", test_refused_dropped_full_loses_oldest},
    {NULL, NULL},
};
