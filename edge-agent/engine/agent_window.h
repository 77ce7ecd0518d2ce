/* agent_window.h -- the edge agent's pacing arithmetic and its table of readings in flight.
 *
 * Pure pieces of the engine (engine/agent*.c), apart so that they can be tested without a broker:
 * - agent_rto: the adaptive resend timeout, TCP's estimator (RFC 6298): a smoothed round trip
 *   (publish to the collector's acknowledgement) and its variance, with a floor and a ceiling,
 *   and exponential backoff for a reading sent again (Karn: only first sends are measured);
 * - agent_bucket: a token bucket (msg_bucket.h, with its rate) that starts with one token: the
 *   pacing of every publish under the broker's message limit (protocol.md 8), and the replay
 *   and resend rates within it;
 * - agent_rand: a small seeded generator (xorshift64*) for the jitter of the reconnects'
 *   and source reopens' backoff (msg_backoff.h: full or decorrelated jitter, so that a city of
 *   gateways does not reconnect in step after an outage);
 * - agent_window: a bounded table of readings the engine published and the collector has not
 *   acknowledged, and of readings the broker refused and that wait for their next try;
 * - agent_backlog: how many readings may be in flight while a backlog replays, from the
 *   measured publish-to-acknowledgement times (a delay-based window, as LEDBAT's background
 *   traffic yields to foreground traffic: RFC 6817), so that a city's backlogs after an outage
 *   do not fill the broker's queue to the collectors ahead of live readings.
 *
 * All times are CLOCK_MONOTONIC milliseconds passed in by the caller: nothing here reads a
 * clock, does I/O or takes a lock (the engine's thread owns these structs).
 *
 * Not for: what to send when (agent_send.c), the readings' bytes (the store keeps them). */
#ifndef AGENT_WINDOW_H
#define AGENT_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg_bucket.h"
#include "msg_range.h"
#include "msg_topic.h"

/* ---- random numbers ------------------------------------------------------------------- */

/* The next value of *state (xorshift64*; a zero state is replaced by a constant). */
uint64_t agent_rand_next(uint64_t *state);

/* ---- adaptive resend timeout ---------------------------------------------------------- */

struct agent_rto {
    int64_t min_ms;
    int64_t max_ms;
    int64_t initial_ms;
    bool measured;    /* a sample came in */
    double srtt_ms;   /* smoothed round trip */
    double rttvar_ms; /* its mean deviation */
    uint64_t samples;
};

void agent_rto_init(struct agent_rto *r, int64_t initial_ms, int64_t min_ms, int64_t max_ms);

/* One measured round trip of a reading sent once. */
void agent_rto_sample(struct agent_rto *r, int64_t rtt_ms);

/* The timeout of a reading sent `sends` times (1: first send): srtt + 4 rttvar (initial_ms
 * before any sample), doubled for each send after the first, within [min_ms, max_ms]. */
int64_t agent_rto_timeout(const struct agent_rto *r, unsigned sends);

/* ---- token bucket --------------------------------------------------------------------- */

struct agent_bucket {
    struct msg_bucket_rate rate; /* tokens per second; at most burst saved up */
    struct msg_bucket b;
};

/* A bucket that starts with one token (never a burst at once after a pause). */
void agent_bucket_init(struct agent_bucket *b, double rate, double burst, int64_t now_ms);

/* Refills for the time since the last call, then takes one token if there is one. */
bool agent_bucket_take(struct agent_bucket *b, int64_t now_ms);

/* The same, but only while more than floor tokens would be left: lower priorities leave the
 * last floor tokens to higher ones (floor 0: agent_bucket_take). */
bool agent_bucket_take_above(struct agent_bucket *b, int64_t now_ms, double floor);

/* Takes one token whether or not there is one (the bucket may go below zero: what must go out
 * now, such as the birth after a connect, is paid back before anything else goes). */
void agent_bucket_spend(struct agent_bucket *b, int64_t now_ms);

/* Empties the bucket (after a pause: resume at the rate, not with a burst). */
void agent_bucket_drain(struct agent_bucket *b, int64_t now_ms);

/* Milliseconds until a token is there (0 if one is). */
int64_t agent_bucket_wait_ms(struct agent_bucket *b, int64_t now_ms);

/* Milliseconds until agent_bucket_take_above(b, ., floor) would succeed (0: now). */
int64_t agent_bucket_wait_above_ms(struct agent_bucket *b, int64_t now_ms, double floor);

/* ---- the backlog's share of the window -------------------------------------------------- */

/* Readings in flight are what stand in the queues between a device and the database (the
 * broker's queue to the collectors, their batches): a live reading waits behind all of them,
 * whichever device sent them. Pacing alone does not bound that: when the collectors fall
 * behind, the round trip grows and a paced device keeps rate x round trip in flight, so
 * every device's backlog piles up in front of every live reading. This window bounds the
 * readings in flight that the backlog path may add (live readings are not held by it). As
 * LEDBAT does (RFC 6817), it looks at the queueing delay: how much longer an acknowledgement
 * took after its publish than the shortest time seen since the connect (the base: the
 * collector's batch and acknowledgement rounds, the network), a base of at most target_ms (the
 * first round trips of a city reconnecting at once already go through a queue: so the whole
 * round trip stays under twice the target whatever the base). It grows while the queueing
 * delay is under target_ms and shrinks when it is over, in proportion, and by half, once per
 * round trip, when it is over twice target_ms. It starts at AGENT_BACKLOG_INITIAL; while the
 * queueing delay is under half the target it doubles per round trip (a device alone on an
 * idle pipe reaches its rate at once), above that it grows by at most one per round trip.
 * It grows only while it is what holds the backlog back (the in-flight count is near it): a
 * device held back by its pacing does not earn a window it does not use. target_ms 0: off
 * (the backlog may use max readings in flight, as before). */
#define AGENT_BACKLOG_INITIAL 4.0

struct agent_backlog {
    int64_t target_ms;     /* 0: off */
    double max;            /* the window's share for the backlog */
    double cwnd;           /* readings in flight the backlog path may fill up to */
    bool slow_start;       /* the last queueing delay was under half the target: doubling */
    int64_t base_ms;       /* the shortest publish-to-acknowledgement time seen; -1: none */
    int64_t hold_until_ms; /* no second halving before one round trip after the last */
    uint64_t cuts;         /* halvings so far, for the summary */
};

/* A window of up to max readings in flight (at least 1) for target_ms (0: off), starting
 * again from AGENT_BACKLOG_INITIAL in slow start (after a connect). */
void agent_backlog_init(struct agent_backlog *b, int64_t target_ms, double max);

/* One acknowledgement of a reading sent once, delay_ms after its publish, at now_ms, while
 * in_flight readings (all paths) were in flight. */
void agent_backlog_sample(struct agent_backlog *b, int64_t delay_ms, int64_t now_ms,
                          size_t in_flight);

/* How many more readings the backlog path may publish now, with in_flight in flight (all
 * paths): max when off. */
size_t agent_backlog_room(const struct agent_backlog *b, size_t in_flight);

/* ---- readings in flight --------------------------------------------------------------- */

enum agent_slot_state {
    AGENT_SLOT_FREE,
    AGENT_SLOT_SENT,    /* published; waiting for the collector's acknowledgement */
    AGENT_SLOT_REFUSED, /* the broker refused it; waits until due_ms for its next try */
};

struct agent_slot {
    enum agent_slot_state state;
    uint64_t seq;
    enum msg_stream stream;
    int token;                /* paho's token of the last publish; 0: none in flight */
    unsigned sends;           /* publishes so far (this agent run) */
    unsigned refusals;        /* refusals so far (this agent run, while it stays in the window) */
    int64_t first_refused_ms; /* the first of them */
    int64_t sent_ms;          /* last publish */
    int64_t first_sent_ms;    /* first publish, for the round trip */
    int64_t due_ms;           /* SENT: resend after; REFUSED: try again after */
};

struct agent_window {
    size_t cap_sent;    /* SENT slots at most (the configured window) */
    size_t cap_refused; /* REFUSED slots at most */
    size_t n_sent;
    size_t n_refused;
    size_t n_slots; /* cap_sent + cap_refused */
    struct agent_slot *slots;
};

/* A window of cap_sent readings in flight and cap_refused waiting after a refusal. Returns
 * NULL on allocation failure; caller frees with agent_window_free. */
struct agent_window *agent_window_new(size_t cap_sent, size_t cap_refused);

/* Frees w; NULL is a no-op. */
void agent_window_free(struct agent_window *w);

/* The slot holding seq (SENT or REFUSED), or NULL. Borrowed from w. */
struct agent_slot *agent_window_find(struct agent_window *w, uint64_t seq);

/* The SENT slot whose last publish has this token, or NULL. */
struct agent_slot *agent_window_find_token(struct agent_window *w, int token);

/* A new SENT slot for seq (not yet in w), or NULL when cap_sent slots are in use. The caller
 * fills token, sends, times. */
struct agent_slot *agent_window_add(struct agent_window *w, uint64_t seq, enum msg_stream stream);

/* Moves a SENT slot to REFUSED (due at due_ms). Returns false when cap_refused slots are in
 * use (the caller then gives the reading up). */
bool agent_window_refuse(struct agent_window *w, struct agent_slot *s, int64_t due_ms);

/* Moves a REFUSED slot back to SENT for its next try. Returns false when cap_sent slots are in
 * use (try later). */
bool agent_window_retry(struct agent_window *w, struct agent_slot *s);

/* Frees the slot. */
void agent_window_remove(struct agent_window *w, struct agent_slot *s);

/* Frees every SENT slot (the connection was lost: nothing in flight any more). REFUSED slots
 * stay, with their counts. */
void agent_window_clear_sent(struct agent_window *w);

/* SENT slots free. */
size_t agent_window_room(const struct agent_window *w);

#endif
