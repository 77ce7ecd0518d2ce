/* ackset.h -- acknowledgements waiting to be sent, coalesced per device (protocol.md 6.1).
 *
 * After a batch commits, the database thread adds every seq that a device may now forget
 * (stored, duplicate, dead letter, clash) with ackset_add(); seqs of one store coalesce into
 * range sets (msg_range.h), so a batch of 2000 consecutive readings is one [first, last] pair.
 * Every ack_interval_ms the collector drains the set: ackset_drain() hands out, per device, the
 * items of one acknowledgement message at a time (at most ACKSET_STORES_PER_MSG stores, each at
 * most once per message, at most ACKSET_RANGES_MAX ranges per list), then empties the set.
 *
 * The devices live in an open-addressing hash table keyed by device id; stores and their range
 * lists in arrays that grow on demand and are kept for reuse when the set is emptied, so a
 * steady load allocates nothing. Not thread-safe: the collector keeps two sets and swaps them
 * under its own lock (the database thread fills one while the ack thread drains the other).
 *
 * Not for: encoding the JSON (msg_ack.h does, from the items given to the callback) or
 * publishing. */
#ifndef ACKSET_H
#define ACKSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg_err.h"
#include "msg_ack.h"
#include "msg_range.h"

#define ACKSET_STORES_PER_MSG MSG_ACK_STORES_MAX /* stores in one acknowledgement */
#define ACKSET_RANGES_MAX MSG_ACK_RANGES_MAX     /* ranges per store and list */

/* One store's part of an acknowledgement. All pointers borrow from the set and are valid only
 * during the emit callback. */
struct ackset_item {
    const char *store_id;
    const struct msg_range *ranges; /* ascending, disjoint: the seqs the device may forget */
    size_t n_ranges;                /* 1..ACKSET_RANGES_MAX */
    const struct msg_range *dead;   /* the subset stored as dead letters; NULL if none */
    size_t n_dead;                  /* 0..ACKSET_RANGES_MAX */
};

/* Called once per acknowledgement message: device_id and items borrowed for the call; n is
 * 1..ACKSET_STORES_PER_MSG, with distinct store ids. A non-zero return stops the drain (the
 * rest is dropped: acknowledgements need not be reliable, protocol.md 6.1). */
typedef int (*ackset_emit_fn)(void *ctx, const char *device_id, const struct ackset_item *items,
                              size_t n);

struct ackset;

/* An empty set. Returns NULL if out of memory. Caller frees with ackset_free(). */
struct ackset *ackset_new(void);
void ackset_free(struct ackset *a);

/* Adds seq of (device_id, store_id) (both borrowed; valid ids are the caller's duty, as they
 * come from msg_event_parse). dead: no copy of it is stored (it went to the dead letters).
 * `dead` holds only readings of which no copy was stored: if the set already holds seq, a
 * copy added as stored takes it out of `dead`, and one added as dead does not put it back
 * (protocol.md 6.1). Returns MSG_OK, MSG_ERR_INVAL
 * (seq 0 or above MSG_SEQ_MAX, or an id too long) or MSG_ERR_NOMEM. */
int ackset_add(struct ackset *a, const char *device_id, const char *store_id, uint64_t seq,
               bool dead);

/* Devices with something to acknowledge. */
size_t ackset_devices(const struct ackset *a);

/* Hands every pending acknowledgement to emit (ctx passed through), then empties the set.
 * Returns the number of messages emitted. */
size_t ackset_drain(struct ackset *a, ackset_emit_fn emit, void *ctx);

/* Empties the set without emitting anything (storage is kept for reuse). */
void ackset_clear(struct ackset *a);

#endif
