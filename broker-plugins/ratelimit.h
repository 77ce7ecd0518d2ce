/* ratelimit.h -- token buckets for the broker plugin: a device's message rate, its budget of
 * refused messages passed on pantau/v1/_sys/rejected, and how often a denial is logged.
 *
 * A bucket holds up to `burst` tokens and gains `per_s` tokens a second; taking one when none
 * is left fails. Time is passed in (milliseconds of a monotonic clock), so the arithmetic is
 * pure and testable. A keyed table holds the buckets of each identity (device or user name):
 * bounded in memory (a fixed capacity, the least recently used entry is evicted when it is
 * full) and swept, so that entries of devices that went quiet or whose account is gone are
 * forgotten. An entry whose buckets have all refilled carries no information: dropping it
 * changes nothing.
 *
 * Also the option syntax of a rate: "RATE/UNIT burst N" (UNIT s, m or h), e.g. "5/s burst 50".
 *
 * Not for: deciding what to refuse (devacl.c, payval.c). No I/O, no locks: one thread (the
 * broker's) uses a table. Allocates with calloc only in ratelimit_table_new. */
#ifndef RATELIMIT_H
#define RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg_topic.h"

#define RATELIMIT_BUCKETS 3 /* buckets per table entry (the caller names their use) */

struct ratelimit_rate {
    double per_s; /* tokens gained per second, > 0 */
    double burst; /* most tokens held, >= 1 */
};

struct ratelimit_bucket {
    bool primed; /* false: never used, counts as full */
    double tokens;
    int64_t last_ms; /* when tokens was last brought up to date */
};

/* Takes one token from b at now_ms under rate r (both borrowed). Returns whether there was one.
 * An unprimed bucket starts full. A clock that went backwards adds nothing. */
bool ratelimit_take(struct ratelimit_bucket *b, const struct ratelimit_rate *r, int64_t now_ms);

/* Whether b would hold burst tokens at now_ms (an unprimed bucket is full). */
bool ratelimit_full(const struct ratelimit_bucket *b, const struct ratelimit_rate *r,
                    int64_t now_ms);

/* Reads "RATE/UNIT burst N" (borrowed; RATE a positive decimal number, UNIT s, m or h, N an
 * integer 1 to 1000000; spaces between the parts) into *out. Returns MSG_OK, or MSG_ERR_CONFIG
 * with err saying what is wrong. */
int ratelimit_rate_parse(const char *text, struct ratelimit_rate *out, char *err, size_t errlen);

/* Writes r as "RATE/s burst N" into buf (for logs and counters). */
void ratelimit_rate_format(const struct ratelimit_rate *r, char *buf, size_t buflen);

struct ratelimit_entry {
    char key[MSG_ID_MAX + 1];
    struct ratelimit_bucket b[RATELIMIT_BUCKETS];
    uint64_t suppressed; /* for the caller: e.g. log lines not written since the last */
    /* the table's own links: */
    uint32_t lru_prev, lru_next, hash_next;
};

struct ratelimit_table;

/* A table of at most capacity entries (1 to 2^24). Returns NULL on a bad capacity or no memory.
 * Caller frees with ratelimit_table_free. */
struct ratelimit_table *ratelimit_table_new(size_t capacity);

/* NULL is a no-op. */
void ratelimit_table_free(struct ratelimit_table *t);

/* The entry of key (borrowed; at most MSG_ID_MAX bytes, else NULL), made (with unprimed
 * buckets and suppressed 0) if there is none, evicting the least recently used entry when the
 * table is full; it becomes the most recently used. The result is borrowed until the next call
 * that changes the table. */
struct ratelimit_entry *ratelimit_table_get(struct ratelimit_table *t, const char *key);

/* The entry of key, or NULL; does not change the order of use. Borrowed as above. */
struct ratelimit_entry *ratelimit_table_find(struct ratelimit_table *t, const char *key);

/* Forgets key's entry, if any. */
void ratelimit_table_remove(struct ratelimit_table *t, const char *key);

/* Visits at most max_visit entries, continuing where the last sweep stopped, and forgets each
 * for which drop(ctx, entry) (borrowed) returns true. Returns how many it forgot. */
size_t ratelimit_table_sweep(struct ratelimit_table *t, size_t max_visit,
                             bool (*drop)(void *ctx, const struct ratelimit_entry *e), void *ctx);

/* Entries held now; how many were evicted because the table was full, in total. */
size_t ratelimit_table_count(const struct ratelimit_table *t);
uint64_t ratelimit_table_evicted(const struct ratelimit_table *t);

#endif
