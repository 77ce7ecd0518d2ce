/* msg_backoff.c -- exponential backoff with jitter; see msg_backoff.h. */
#include "msg_backoff.h"

#include <limits.h>

int64_t msg_backoff_cap(int64_t base_ms, int64_t max_ms, unsigned n)
{
    int64_t cap = base_ms;

    for (unsigned i = 0; i < n && cap < max_ms && cap <= INT64_MAX / 2; i++) {
        cap *= 2;
    }
    if (cap > max_ms) {
        cap = max_ms;
    }
    return cap;
}

/* lo + random % (hi - lo + 1); lo when the range holds one value. */
static int64_t pick(uint64_t random, int64_t lo, int64_t hi)
{
    if (hi <= lo) {
        return lo;
    }
    return lo + (int64_t)(random % ((uint64_t)(hi - lo) + 1));
}

void msg_backoff_init(struct msg_backoff *b, int64_t base_ms, int64_t max_ms,
                      enum msg_backoff_jitter jitter)
{
    b->base_ms = base_ms < 1 ? 1 : base_ms;
    b->max_ms = max_ms < b->base_ms ? b->base_ms : max_ms;
    b->jitter = jitter;
    b->attempt = 0;
    b->prev_ms = b->base_ms;
}

int64_t msg_backoff_next(struct msg_backoff *b, uint64_t random)
{
    int64_t cap = msg_backoff_cap(b->base_ms, b->max_ms, b->attempt);
    int64_t wait = cap;

    switch (b->jitter) {
    case MSG_BACKOFF_NONE:
        break;
    case MSG_BACKOFF_EQUAL:
        wait = pick(random, cap / 2, cap / 2 + cap / 2);
        break;
    case MSG_BACKOFF_FULL:
        wait = pick(random, 1, cap);
        break;
    case MSG_BACKOFF_DECORRELATED:
        wait = pick(random, b->base_ms, b->prev_ms > b->max_ms / 3 ? b->max_ms : b->prev_ms * 3);
        break;
    }
    if (wait > b->max_ms) {
        wait = b->max_ms;
    }
    b->prev_ms = wait;
    if (b->attempt < UINT_MAX) {
        b->attempt++;
    }
    return wait;
}

void msg_backoff_reset(struct msg_backoff *b)
{
    b->attempt = 0;
    b->prev_ms = b->base_ms;
}
