/* msg_ratetable.h -- token buckets per identity (a device or user name), in a bounded table:
 * the broker plugin's budgets per device and user (payval, devacl) and the collector's budget of
 * dead letters per device (protocol.md 7.2).
 *
 * Each entry holds MSG_RATETABLE_BUCKETS buckets (msg_bucket.h; the caller names their use and
 * passes their rates) and a counter for the caller. The table is bounded in memory (a fixed
 * capacity, the least recently used entry is evicted when it is full) and swept, so that
 * entries of devices that went quiet or whose account is gone are forgotten. An entry whose
 * buckets have all refilled carries no information: dropping it changes nothing.
 *
 * Not for: deciding what to refuse (devacl.c, payval.c). No I/O, no locks: one thread uses a
 * table. Allocates with calloc only in msg_ratetable_new. */
#ifndef MSG_RATETABLE_H
#define MSG_RATETABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg_bucket.h"
#include "msg_topic.h"

#define MSG_RATETABLE_BUCKETS 3 /* buckets per table entry (the caller names their use) */

struct msg_ratetable_entry {
    char key[MSG_ID_MAX + 1];
    struct msg_bucket b[MSG_RATETABLE_BUCKETS];
    uint64_t suppressed; /* for the caller: e.g. log lines not written since the last */
    /* the table's own links: */
    uint32_t lru_prev, lru_next, hash_next;
};

struct msg_ratetable;

/* A table of at most capacity entries (1 to 2^24). Returns NULL on a bad capacity or no memory.
 * Caller frees with msg_ratetable_free. */
struct msg_ratetable *msg_ratetable_new(size_t capacity);

/* NULL is a no-op. */
void msg_ratetable_free(struct msg_ratetable *t);

/* The entry of key (borrowed; at most MSG_ID_MAX bytes, else NULL), made (with unprimed
 * buckets and suppressed 0) if there is none, evicting the least recently used entry when the
 * table is full; it becomes the most recently used. The result is borrowed until the next call
 * that changes the table. */
struct msg_ratetable_entry *msg_ratetable_get(struct msg_ratetable *t, const char *key);

/* The entry of key, or NULL; does not change the order of use. Borrowed as above. */
struct msg_ratetable_entry *msg_ratetable_find(struct msg_ratetable *t, const char *key);

/* Forgets key's entry, if any. */
void msg_ratetable_remove(struct msg_ratetable *t, const char *key);

/* Visits at most max_visit entries, continuing where the last sweep stopped, and forgets each
 * for which drop(ctx, entry) (borrowed) returns true. Returns how many it forgot. */
size_t msg_ratetable_sweep(struct msg_ratetable *t, size_t max_visit,
                           bool (*drop)(void *ctx, const struct msg_ratetable_entry *e), void *ctx);

/* Entries held now; how many were evicted because the table was full, in total. */
size_t msg_ratetable_count(const struct msg_ratetable *t);
uint64_t msg_ratetable_evicted(const struct msg_ratetable *t);

#endif
