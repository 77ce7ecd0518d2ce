/* agent_window.c -- pacing arithmetic and the table of readings in flight: see agent_window.h. */
#include "agent_window.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

uint64_t agent_rand_next(uint64_t *state)
{
    uint64_t x = *state;

    if (x == 0) {
        x = UINT64_C(0x9e3779b97f4a7c15);
    }
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * UINT64_C(0x2545f4914f6cdd1d);
}

/* ---- adaptive resend timeout ---------------------------------------------------------- */

void agent_rto_init(struct agent_rto *r, int64_t initial_ms, int64_t min_ms, int64_t max_ms)
{
    memset(r, 0, sizeof(*r));
    r->min_ms = min_ms;
    r->max_ms = max_ms < min_ms ? min_ms : max_ms;
    r->initial_ms = initial_ms;
}

void agent_backlog_init(struct agent_backlog *b, int64_t target_ms, double max)
{
    memset(b, 0, sizeof(*b));
    b->target_ms = target_ms > 0 ? target_ms : 0;
    b->max = max < 1.0 ? 1.0 : max;
    b->cwnd = AGENT_BACKLOG_INITIAL < b->max ? AGENT_BACKLOG_INITIAL : b->max;
    b->slow_start = true;
    b->base_ms = -1;
}

void agent_backlog_sample(struct agent_backlog *b, int64_t delay_ms, int64_t now_ms,
                          size_t in_flight)
{
    double target = (double)b->target_ms;
    double d;
    /* the window is what holds the backlog back: in flight within a reading of it */
    bool limited = (double)in_flight + 1.0 >= b->cwnd;

    if (b->target_ms == 0) {
        return;
    }
    if (delay_ms < 0) {
        delay_ms = 0;
    }
    if (b->base_ms < 0 || delay_ms < b->base_ms) {
        b->base_ms = delay_ms;
    }
    /* the queueing delay: over the base, but a base of at most the target. A whole city
     * reconnecting measures its first round trips through a queue already: a base taken
     * from them would let the queue grow by that much more (a live reading's wait is the
     * whole round trip, not what exceeds the base) */
    d = (double)(delay_ms - (b->base_ms < b->target_ms ? b->base_ms : b->target_ms));
    /* doubling per round trip while the queue is short (a device alone on an idle pipe
     * reaches its rate in a few round trips); near the target, a reading per round trip */
    b->slow_start = d <= target / 2.0;
    if (d > 2.0 * target) {
        if (now_ms >= b->hold_until_ms) {
            /* half of what was really out, not of a window the pacing left unused */
            double out = (double)in_flight < b->cwnd ? (double)in_flight : b->cwnd;

            b->cwnd = out / 2.0;
            b->hold_until_ms = now_ms + delay_ms;
            b->cuts++;
        }
    } else if (d > target) {
        b->cwnd += (target - d) / target / b->cwnd; /* at most one less per round trip */
    } else if (limited) {
        /* early: one more per acknowledgement (doubling per round trip) in slow start, else
         * up to one more per round trip, in proportion to the room left under the target */
        b->cwnd += b->slow_start ? 1.0 : (target - d) / target / b->cwnd;
    }
    if (b->cwnd < 1.0) {
        b->cwnd = 1.0;
    }
    if (b->cwnd > b->max) {
        b->cwnd = b->max;
    }
}

size_t agent_backlog_room(const struct agent_backlog *b, size_t in_flight)
{
    double allowed = b->target_ms == 0 ? b->max : b->cwnd;
    size_t n = (size_t)allowed;

    return in_flight >= n ? 0 : n - in_flight;
}

void agent_rto_sample(struct agent_rto *r, int64_t rtt_ms)
{
    double x = rtt_ms < 0 ? 0.0 : (double)rtt_ms;

    /* RFC 6298 2.2 and 2.3, alpha 1/8, beta 1/4 */
    if (!r->measured) {
        r->srtt_ms = x;
        r->rttvar_ms = x / 2.0;
        r->measured = true;
    } else {
        r->rttvar_ms = 0.75 * r->rttvar_ms + 0.25 * fabs(r->srtt_ms - x);
        r->srtt_ms = 0.875 * r->srtt_ms + 0.125 * x;
    }
    r->samples++;
}

int64_t agent_rto_timeout(const struct agent_rto *r, unsigned sends)
{
    double t = r->measured ? r->srtt_ms + 4.0 * r->rttvar_ms : (double)r->initial_ms;

    for (unsigned i = 1; i < sends && t < (double)r->max_ms; i++) {
        t *= 2.0;
    }
    if (t < (double)r->min_ms) {
        t = (double)r->min_ms;
    }
    if (t > (double)r->max_ms) {
        t = (double)r->max_ms;
    }
    return (int64_t)t;
}

/* ---- token bucket --------------------------------------------------------------------- */

void agent_bucket_init(struct agent_bucket *b, double rate, double burst, int64_t now_ms)
{
    b->rate.per_s = rate > 0 ? rate : 1;
    b->rate.burst = burst < 1 ? 1 : burst;
    msg_bucket_start(&b->b, 1.0, now_ms);
}

bool agent_bucket_take(struct agent_bucket *b, int64_t now_ms)
{
    return msg_bucket_take(&b->b, &b->rate, now_ms);
}

bool agent_bucket_take_above(struct agent_bucket *b, int64_t now_ms, double floor)
{
    return msg_bucket_take_above(&b->b, &b->rate, now_ms, floor);
}

void agent_bucket_spend(struct agent_bucket *b, int64_t now_ms)
{
    msg_bucket_spend(&b->b, &b->rate, now_ms);
}

void agent_bucket_drain(struct agent_bucket *b, int64_t now_ms)
{
    msg_bucket_drain(&b->b, now_ms);
}

int64_t agent_bucket_wait_ms(struct agent_bucket *b, int64_t now_ms)
{
    return msg_bucket_wait_ms(&b->b, &b->rate, now_ms);
}

int64_t agent_bucket_wait_above_ms(struct agent_bucket *b, int64_t now_ms, double floor)
{
    return msg_bucket_wait_above_ms(&b->b, &b->rate, now_ms, floor);
}

/* ---- readings in flight --------------------------------------------------------------- */

struct agent_window *agent_window_new(size_t cap_sent, size_t cap_refused)
{
    struct agent_window *w = NULL;

    if (cap_sent == 0) {
        return NULL;
    }
    w = calloc(1, sizeof(*w));
    if (w == NULL) {
        goto fail;
    }
    w->cap_sent = cap_sent;
    w->cap_refused = cap_refused;
    w->n_slots = cap_sent + cap_refused;
    w->slots = calloc(w->n_slots, sizeof(*w->slots));
    if (w->slots == NULL) {
        goto fail;
    }
    return w;
fail:
    agent_window_free(w);
    return NULL;
}

void agent_window_free(struct agent_window *w)
{
    if (w == NULL) {
        return;
    }
    free(w->slots);
    free(w);
}

struct agent_slot *agent_window_find(struct agent_window *w, uint64_t seq)
{
    for (size_t i = 0; i < w->n_slots; i++) {
        if (w->slots[i].state != AGENT_SLOT_FREE && w->slots[i].seq == seq) {
            return &w->slots[i];
        }
    }
    return NULL;
}

struct agent_slot *agent_window_find_token(struct agent_window *w, int token)
{
    if (token == 0) {
        return NULL;
    }
    for (size_t i = 0; i < w->n_slots; i++) {
        if (w->slots[i].state == AGENT_SLOT_SENT && w->slots[i].token == token) {
            return &w->slots[i];
        }
    }
    return NULL;
}

struct agent_slot *agent_window_add(struct agent_window *w, uint64_t seq, enum msg_stream stream)
{
    if (w->n_sent >= w->cap_sent) {
        return NULL;
    }
    for (size_t i = 0; i < w->n_slots; i++) {
        struct agent_slot *s = &w->slots[i];

        if (s->state == AGENT_SLOT_FREE) {
            memset(s, 0, sizeof(*s));
            s->state = AGENT_SLOT_SENT;
            s->seq = seq;
            s->stream = stream;
            w->n_sent++;
            return s;
        }
    }
    return NULL;
}

bool agent_window_refuse(struct agent_window *w, struct agent_slot *s, int64_t due_ms)
{
    if (s->state != AGENT_SLOT_SENT || w->n_refused >= w->cap_refused) {
        return false;
    }
    s->state = AGENT_SLOT_REFUSED;
    s->token = 0;
    s->due_ms = due_ms;
    w->n_sent--;
    w->n_refused++;
    return true;
}

bool agent_window_retry(struct agent_window *w, struct agent_slot *s)
{
    if (s->state != AGENT_SLOT_REFUSED || w->n_sent >= w->cap_sent) {
        return false;
    }
    s->state = AGENT_SLOT_SENT;
    w->n_refused--;
    w->n_sent++;
    return true;
}

void agent_window_remove(struct agent_window *w, struct agent_slot *s)
{
    if (s->state == AGENT_SLOT_SENT) {
        w->n_sent--;
    } else if (s->state == AGENT_SLOT_REFUSED) {
        w->n_refused--;
    }
    memset(s, 0, sizeof(*s));
}

void agent_window_clear_sent(struct agent_window *w)
{
    for (size_t i = 0; i < w->n_slots; i++) {
        if (w->slots[i].state == AGENT_SLOT_SENT) {
            memset(&w->slots[i], 0, sizeof(w->slots[i]));
        }
    }
    w->n_sent = 0;
}

size_t agent_window_room(const struct agent_window *w)
{
    return w->n_sent >= w->cap_sent ? 0 : w->cap_sent - w->n_sent;
}
