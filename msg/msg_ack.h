/* msg_ack.h -- the collector's commit acknowledgements (protocol.md 6.1).
 *
 * A struct msg_ack holds one acknowledgement for one device: per store id (at most 16), the
 * seqs the device may forget (`ranges`) and the subset stored as dead letters (`dead`), each a
 * msg_rangeset. The collector fills one with msg_ack_add() as its batches commit and writes it
 * with msg_ack_encode(); the agent reads one with msg_ack_parse(), which checks every rule of
 * 6.1 and 9.5 (ranges ascending and disjoint, dead inside ranges, one item per store).
 *
 * A struct msg_ack is made by msg_ack_new() with the range storage in the same allocation, so
 * it must not be copied by value (its range sets point into that allocation).
 *
 * Not for: deciding what to acknowledge (the collector) or what to delete (the agent). */
#ifndef MSG_ACK_H
#define MSG_ACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg_err.h"
#include "msg_event.h"
#include "msg_range.h"

#define MSG_ACK_PAYLOAD_MAX 65536   /* bytes of an acknowledgement */
#define MSG_DEPTH_ACK 5             /* nesting: acks[].ranges[] pairs */
#define MSG_ACK_STORES_MAX 16
#define MSG_ACK_RANGES_MAX 1000     /* per store, for ranges and for dead */

struct msg_ack_store {
    char store_id[MSG_STORE_ID_LEN + 1];
    struct msg_rangeset ranges;     /* seqs the device may forget */
    struct msg_rangeset dead;       /* the subset stored as dead letters (may be empty) */
};

struct msg_ack {
    int64_t ts_ms;                  /* when the collector sent it */
    size_t n_stores;
    struct msg_ack_store stores[MSG_ACK_STORES_MAX];
};

/* An empty acknowledgement whose range sets hold up to ranges_per_store ranges each (1 to
 * MSG_ACK_RANGES_MAX; a parser needs MSG_ACK_RANGES_MAX, a collector may use fewer and send
 * more often). Returns NULL on allocation failure or a bad size. Caller frees with
 * msg_ack_free(). */
struct msg_ack *msg_ack_new(size_t ranges_per_store);

/* Frees a (NULL is a no-op). */
void msg_ack_free(struct msg_ack *a);

/* Empties a and sets its time stamp, keeping its storage. */
void msg_ack_reset(struct msg_ack *a, int64_t ts_ms);

/* Acknowledges seqs first..last of store_id (borrowed), as dead letters if dead. Returns MSG_OK;
 * MSG_ERR_FULL if that needs a 17th store or a range that does not fit (a is then unchanged:
 * encode and send it, reset, add again); MSG_ERR_INVAL for a bad store id or range. */
int msg_ack_add(struct msg_ack *a, const char *store_id, uint64_t first, uint64_t last,
                bool dead);

/* The entry for store_id (borrowed) in a, or NULL. The result borrows from a. */
const struct msg_ack_store *msg_ack_find(const struct msg_ack *a, const char *store_id);

/* One store's part of an acknowledgement, as views into someone else's range lists (the
 * collector keeps its own, see collector/ackset.h). */
struct msg_ack_item {
    const char *store_id;               /* borrowed */
    const struct msg_range *ranges;     /* borrowed: 1..MSG_ACK_RANGES_MAX, ascending, disjoint */
    size_t n_ranges;
    const struct msg_range *dead;       /* borrowed: subset of ranges; NULL if n_dead is 0 */
    size_t n_dead;
};

/* Writes an acknowledgement of items[0..n) (borrowed) sent at ts_ms as a JSON payload into buf
 * (buflen bytes) with a NUL; *outlen gets its length. Returns MSG_OK; MSG_ERR_FULL if it does
 * not fit into buf or exceeds MSG_ACK_PAYLOAD_MAX (send fewer items or ranges per message);
 * MSG_ERR_INVAL if the items break 6.1 (n not 1..16, a bad or repeated store id, ranges empty,
 * too many, out of order, or dead not inside ranges). */
int msg_ack_encode_items(int64_t ts_ms, const struct msg_ack_item *items, size_t n, char *buf,
                         size_t buflen, size_t *outlen);

/* msg_ack_encode_items for the stores of a (borrowed) that have ranges. MSG_ERR_INVAL if none
 * has. */
int msg_ack_encode(const struct msg_ack *a, char *buf, size_t buflen, size_t *outlen);

/* Validates payload (len bytes, borrowed) as an acknowledgement and fills out (from
 * msg_ack_new(MSG_ACK_RANGES_MAX); its previous content is dropped). Returns MSG_OK;
 * MSG_ERR_JSON or MSG_ERR_SCHEMA with err naming the member ("acks[0].dead[0]: [1050,1050] is
 * not inside ranges"); MSG_ERR_FULL if out was made with fewer ranges than the message has;
 * MSG_ERR_NOMEM. */
int msg_ack_parse(const void *payload, size_t len, struct msg_ack *out, char *err,
                  size_t errlen);

#endif
