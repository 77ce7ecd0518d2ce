/* emitq.c -- readings kept while the store cannot take them (see emitq.h). */
#include "emitq.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

void emitq_init(struct emitq *q)
{
    q->head = 0;
    q->n = 0;
    q->retry_ms = 0;
    q->failing = false;
    q->stored = 0;
    q->refused = 0;
    q->dropped = 0;
}

bool emitq_retryable(int rc)
{
    return rc == MSG_ERR_DB || rc == MSG_ERR_IO || rc == MSG_ERR_FULL || rc == MSG_ERR_NOMEM;
}

static void keep(struct emitq *q, const struct msg_event *ev, const char *who)
{
    if (q->n == EMITQ_MAX) {
        q->dropped++;
        log_msg(LOG_ERR, "%s: one %s reading lost: %d wait for the store already (%llu lost "
                "in total)", who, msg_stream_name(q->evs[q->head].stream), EMITQ_MAX,
                (unsigned long long)q->dropped);
        q->head = (q->head + 1) % EMITQ_MAX;
        q->n--;
    }
    q->evs[(q->head + q->n) % EMITQ_MAX] = *ev;
    q->n++;
}

static void failed(struct emitq *q, int64_t now_ms, const char *who, const char *why)
{
    if (!q->failing) {
        log_msg(LOG_WARNING, "%s: the store takes no readings, %zu kept for now: %s", who, q->n,
                why);
        q->failing = true;
    }
    q->retry_ms = now_ms + EMITQ_RETRY_MS;
}

int emitq_offer(struct emitq *q, const struct agent_emit *emit, const struct msg_event *ev,
                int64_t now_ms, const char *who, char *err, size_t errlen)
{
    int rc;

    if (q->n > 0) {
        keep(q, ev, who);
        emitq_flush(q, emit, now_ms, who);
        return MSG_OK;
    }
    rc = emit->fn(emit->ctx, ev, err, errlen);
    if (rc == MSG_OK) {
        q->stored++;
        return MSG_OK;
    }
    if (emitq_retryable(rc)) {
        keep(q, ev, who);
        failed(q, now_ms, who, err);
        return MSG_OK;
    }
    q->refused++;
    return rc;
}

void emitq_flush(struct emitq *q, const struct agent_emit *emit, int64_t now_ms,
                 const char *who)
{
    if (q->n == 0 || now_ms < q->retry_ms) {
        return;
    }
    while (q->n > 0) {
        char why[MSG_ERRLEN] = "";
        int rc = emit->fn(emit->ctx, &q->evs[q->head], why, sizeof(why));

        if (emitq_retryable(rc)) {
            failed(q, now_ms, who, why);
            return;
        }
        if (rc == MSG_OK) {
            q->stored++;
        } else {
            q->refused++;
            log_msg(LOG_DEBUG, "%s: reading refused by the validator: %s", who, why);
        }
        q->head = (q->head + 1) % EMITQ_MAX;
        q->n--;
    }
    if (q->failing) {
        log_msg(LOG_NOTICE, "%s: the store takes readings again", who);
        q->failing = false;
    }
    q->retry_ms = 0;
}

int64_t emitq_next(const struct emitq *q)
{
    return q->n == 0 ? INT64_MAX : q->retry_ms;
}
