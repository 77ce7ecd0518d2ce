/* emitq.h -- readings a source keeps while the agent's store cannot take them.
 *
 * emit returns MSG_ERR_DB or MSG_ERR_IO when the store failed (agent_source.h): the reading is
 * not lost yet, the source may offer it again later. The camera and frigate sources hand their
 * readings to emitq_offer, which emits them, or keeps them here in order while the store
 * fails, and emitq_flush offers the kept ones again (oldest first) on later polls. A new
 * reading goes behind those already waiting, so an incident's `new` never overtakes its
 * `update`. The queue is bounded (EMITQ_MAX): when it is full the oldest reading is dropped,
 * counted and logged at ERR (data lost). The store failing and recovering is logged once each
 * (WARNING, NOTICE).
 *
 * Not for: readings the validator refused (MSG_ERR_SCHEMA, MSG_ERR_JSON: offering them again
 * cannot help; they are counted and dropped). Not thread-safe: the frigate source guards it
 * with its mutex. No allocation beyond the fixed array in the struct. */
#ifndef EMITQ_H
#define EMITQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent_source.h"

#define EMITQ_MAX 32
#define EMITQ_RETRY_MS 1000   /* after a failure, the next offer waits this long */

struct emitq {
    struct msg_event evs[EMITQ_MAX];
    size_t head;
    size_t n;
    int64_t retry_ms;        /* CLOCK_MONOTONIC ms of the next offer after a failure */
    bool failing;            /* the last offer failed (logged once, until one succeeds) */
    uint64_t stored;         /* readings the store took, in total */
    uint64_t refused;        /* readings the validator refused, in total */
    uint64_t dropped;        /* readings lost because the queue was full */
};

/* Empties q. The functions below take `who` (borrowed), which prefixes their log lines. */
void emitq_init(struct emitq *q);

/* Whether rc is store trouble worth waiting out (MSG_ERR_DB, MSG_ERR_IO, MSG_ERR_FULL,
 * MSG_ERR_NOMEM). */
bool emitq_retryable(int rc);

/* Offers ev (borrowed) to emit (borrowed), or keeps a copy behind those already waiting.
 * now_ms is CLOCK_MONOTONIC. Returns MSG_OK (stored, or kept for later), or the validator's
 * code (MSG_ERR_SCHEMA, MSG_ERR_JSON) with err naming the member: the reading is dropped. */
int emitq_offer(struct emitq *q, const struct agent_emit *emit, const struct msg_event *ev,
                int64_t now_ms, const char *who, char *err, size_t errlen);

/* Offers the kept readings again, oldest first, until one fails or none is left (at most
 * once per EMITQ_RETRY_MS after a failure). Readings the validator refuses are counted and
 * dropped (DEBUG). */
void emitq_flush(struct emitq *q, const struct agent_emit *emit, int64_t now_ms,
                 const char *who);

/* CLOCK_MONOTONIC ms at which emitq_flush wants to run again; INT64_MAX when none is kept. */
int64_t emitq_next(const struct emitq *q);

#endif
