/* msg_range.h -- sets of sequence numbers as sorted, disjoint, inclusive ranges.
 *
 * The `ranges` of a dropped report (protocol.md 4.6) and of an acknowledgement (6.1) are lists
 * of [first, last] pairs, ascending and not overlapping (section 9.5). The collector builds
 * such lists from the seqs it stored; the agent builds them from the seqs it dropped and checks
 * acknowledgements against what it holds. A msg_rangeset adds seqs one at a time, coalescing
 * neighbours ([1,4] + 5 = [1,5]), in storage of a fixed capacity that the caller provides.
 *
 * Not for: anything but seqs (1 to MSG_SEQ_MAX). No allocation; not thread-safe. */
#ifndef MSG_RANGE_H
#define MSG_RANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg_err.h"

#define MSG_SEQ_MAX UINT64_C(9007199254740991)   /* 2^53 - 1: seq, conn, counters */

struct msg_range {
    uint64_t first;
    uint64_t last;   /* inclusive */
};

struct msg_rangeset {
    struct msg_range *r;   /* borrowed: the caller's storage for cap ranges */
    size_t n;              /* ranges in use: r[0..n) ascending and disjoint */
    size_t cap;
};

/* Starts an empty set in storage (borrowed for the set's life, cap ranges). */
void msg_rangeset_init(struct msg_rangeset *rs, struct msg_range *storage, size_t cap);

/* Empties the set. */
void msg_rangeset_clear(struct msg_rangeset *rs);

/* Adds seq, or every seq of [first, last]. Returns MSG_OK; MSG_ERR_FULL if that needs one more
 * range than cap (the set is then unchanged: send what it holds, clear it, add again); or
 * MSG_ERR_INVAL for 0, a value above MSG_SEQ_MAX, or first > last. */
int msg_rangeset_add(struct msg_rangeset *rs, uint64_t seq);
int msg_rangeset_add_range(struct msg_rangeset *rs, uint64_t first, uint64_t last);

/* Whether adding [first, last] would succeed (a valid range, and room for it if it needs a new
 * range). */
bool msg_rangeset_fits(const struct msg_rangeset *rs, uint64_t first, uint64_t last);

/* Whether seq is in the set. */
bool msg_rangeset_contains(const struct msg_rangeset *rs, uint64_t seq);

/* How many seqs the set holds. */
uint64_t msg_rangeset_count(const struct msg_rangeset *rs);

/* Checks a list as the protocol requires (section 9.5): each range 1 <= first <= last <=
 * MSG_SEQ_MAX, ascending, not overlapping (adjacent is allowed). Returns MSG_OK, or
 * MSG_ERR_INVAL with *bad (if not NULL) the index of the first offending range. */
int msg_ranges_check(const struct msg_range *r, size_t n, size_t *bad);

/* For a list that passes msg_ranges_check: whether seq is in it (binary search). */
bool msg_ranges_contains(const struct msg_range *r, size_t n, uint64_t seq);

/* For a list that passes msg_ranges_check: whether every seq of [first, last] is in it
 * (adjacent ranges together count: [1,5],[6,9] cover [4,7]). */
bool msg_ranges_cover(const struct msg_range *r, size_t n, uint64_t first, uint64_t last);

#endif
