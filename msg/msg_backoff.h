/* msg_backoff.h -- the exponential backoff of every program: the collector's retries after a
 * database failure (equal jitter) and its first broker connection (none), the broker plugin's
 * registry cache reconnecting to PostgreSQL (none), the edge agent's reconnects and source
 * reopens (full or decorrelated jitter) and its tries after a refusal (msg_backoff_cap).
 *
 * The wait after the n-th failure since the last success (n counted from 0) grows from base_ms
 * by doubling and stops at max_ms: cap = min(max_ms, base_ms * 2^n). The jitter then picks the
 * wait from the cap (see enum msg_backoff_jitter). Randomness is passed in (a random 64-bit value
 * per wait, from the caller's generator); no clock, no I/O, no allocation, no locks. The caller
 * sleeps.
 *
 * Not for: the agent's adaptive resend timeout (agent_window.h: RFC 6298, measured, in
 * fractional milliseconds). */
#ifndef MSG_BACKOFF_H
#define MSG_BACKOFF_H

#include <stdint.h>

enum msg_backoff_jitter {
    MSG_BACKOFF_NONE,         /* the cap itself */
    MSG_BACKOFF_EQUAL,        /* cap / 2 + random % (cap / 2 + 1) */
    MSG_BACKOFF_FULL,         /* 1 + random % cap: in [1, cap] */
    MSG_BACKOFF_DECORRELATED, /* in [base, min(max, previous * 3)], the attempt count unused */
};

struct msg_backoff {
    int64_t base_ms;
    int64_t max_ms;
    enum msg_backoff_jitter jitter;
    unsigned attempt; /* failures since the last reset */
    int64_t prev_ms;  /* the previous wait (decorrelated jitter) */
};

/* Starts b (borrowed) with no failure yet. base_ms below 1 counts as 1; max_ms below base_ms
 * as base_ms. */
void msg_backoff_init(struct msg_backoff *b, int64_t base_ms, int64_t max_ms,
                      enum msg_backoff_jitter jitter);

/* The wait in ms before the next attempt, after one more failure; random is a fresh random
 * value (unused by MSG_BACKOFF_NONE, and where the range holds one value). */
int64_t msg_backoff_next(struct msg_backoff *b, uint64_t random);

/* After a success: the next failure waits about base_ms again. */
void msg_backoff_reset(struct msg_backoff *b);

/* min(max_ms, base_ms * 2^n): doubles base_ms n times, stopping once it reaches max_ms (never
 * overflows). base_ms at or above max_ms gives max_ms. */
int64_t msg_backoff_cap(int64_t base_ms, int64_t max_ms, unsigned n);

#endif
