/* msg_bucket.h -- the token bucket of every program: the broker plugin's message, refusal and
 * log budgets, the collector's budget of dead letters per device, and the edge agent's pacing of
 * its publishes under the broker's limit (protocol.md 8).
 *
 * A bucket holds up to `burst` tokens and gains `per_s` tokens a second; taking one when none is
 * left fails. The rate is kept apart from the bucket (struct msg_bucket_rate), so that many
 * buckets share one configured rate. Time is passed in (milliseconds of a monotonic clock,
 * msg_clock_mono_ms), so the arithmetic is pure and testable; a clock that went backwards adds
 * nothing and the same time is never credited twice.
 *
 * A zeroed bucket is unprimed and counts as full: its first use starts it with `burst` tokens
 * (a device's first messages pass at once). msg_bucket_start starts it with a chosen number of
 * tokens instead (the agent starts with one: never a burst at once after a pause).
 *
 * What the agent needs beyond take: a floor (take_above: lower priorities leave the last tokens
 * to higher ones), debt (spend: the bucket may go below zero), drain, and how long until the next
 * token (wait_ms).
 *
 * Also the option syntax of a rate: "RATE/UNIT burst N" (UNIT s, m or h), e.g. "5/s burst 50".
 *
 * Not for: deciding what to refuse, a table of buckets per identity (msg_ratetable.h). No I/O,
 * no allocation, no locks. */
#ifndef MSG_BUCKET_H
#define MSG_BUCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct msg_bucket_rate {
    double per_s; /* tokens gained per second, > 0 */
    double burst; /* most tokens held, >= 1 */
};

struct msg_bucket {
    bool primed; /* false: never used, counts as full */
    double tokens;
    int64_t last_ms; /* when tokens was last brought up to date */
};

/* Starts b at now_ms with `tokens` tokens (e.g. 1, or 0: empty). */
void msg_bucket_start(struct msg_bucket *b, double tokens, int64_t now_ms);

/* Refills b for the time up to now_ms under rate r (both borrowed), then takes one token if there
 * is one. Returns whether there was. */
bool msg_bucket_take(struct msg_bucket *b, const struct msg_bucket_rate *r, int64_t now_ms);

/* The same, but only while more than floor tokens would be left (floor is taken within
 * [0, burst - 1], else the token would never come). Floor 0: msg_bucket_take. */
bool msg_bucket_take_above(struct msg_bucket *b, const struct msg_bucket_rate *r, int64_t now_ms,
                           double floor);

/* Takes one token whether or not there is one: the bucket may go below zero (what must go out
 * now is paid back before anything else goes). */
void msg_bucket_spend(struct msg_bucket *b, const struct msg_bucket_rate *r, int64_t now_ms);

/* Empties b at now_ms (after a pause: resume at the rate, not with a burst). */
void msg_bucket_drain(struct msg_bucket *b, int64_t now_ms);

/* Milliseconds until msg_bucket_take would succeed (0: now). Refills b. */
int64_t msg_bucket_wait_ms(struct msg_bucket *b, const struct msg_bucket_rate *r, int64_t now_ms);

/* Milliseconds until msg_bucket_take_above(b, r, ., floor) would succeed (0: now). Refills b. */
int64_t msg_bucket_wait_above_ms(struct msg_bucket *b, const struct msg_bucket_rate *r,
                                 int64_t now_ms, double floor);

/* Whether b would hold burst tokens at now_ms (an unprimed bucket is full). Does not change b. */
bool msg_bucket_full(const struct msg_bucket *b, const struct msg_bucket_rate *r, int64_t now_ms);

/* Reads "RATE/UNIT burst N" (borrowed; RATE a positive decimal number, UNIT s, m or h, N an
 * integer 1 to 1000000; spaces between the parts) into *out. Returns MSG_OK, or MSG_ERR_CONFIG
 * with err saying what is wrong. */
int msg_bucket_rate_parse(const char *text, struct msg_bucket_rate *out, char *err, size_t errlen);

/* Writes r as "RATE/s burst N" into buf (for logs and counters). */
void msg_bucket_rate_format(const struct msg_bucket_rate *r, char *buf, size_t buflen);

#endif
