/* msg_range.c -- sorted disjoint range sets of seqs: see msg_range.h. */
#include "msg_range.h"

#include <string.h>

void msg_rangeset_init(struct msg_rangeset *rs, struct msg_range *storage, size_t cap)
{
    rs->r = storage;
    rs->n = 0;
    rs->cap = cap;
}

void msg_rangeset_clear(struct msg_rangeset *rs)
{
    rs->n = 0;
}

static bool valid_range(uint64_t first, uint64_t last)
{
    return first >= 1 && first <= last && last <= MSG_SEQ_MAX;
}

/* The ranges that [first, last] overlaps or touches are r[*lo .. *hi_plus1) (none if equal):
 * *lo is the first range with last + 1 >= first, *hi_plus1 - 1 the last with first <= last + 1. */
static void touching(const struct msg_rangeset *rs, uint64_t first, uint64_t last, size_t *lo,
                     size_t *hi_plus1)
{
    size_t a = 0;
    size_t b = rs->n;

    while (a < b) {
        size_t mid = a + (b - a) / 2;

        if (rs->r[mid].last + 1 < first) {
            a = mid + 1;
        } else {
            b = mid;
        }
    }
    *lo = a;
    b = rs->n;
    while (a < b) {
        size_t mid = a + (b - a) / 2;

        if (rs->r[mid].first <= last + 1) {
            a = mid + 1;
        } else {
            b = mid;
        }
    }
    *hi_plus1 = a;
}

bool msg_rangeset_fits(const struct msg_rangeset *rs, uint64_t first, uint64_t last)
{
    size_t lo;
    size_t hi1;

    if (!valid_range(first, last)) {
        return false;
    }
    touching(rs, first, last, &lo, &hi1);
    return lo < hi1 || rs->n < rs->cap;
}

int msg_rangeset_add_range(struct msg_rangeset *rs, uint64_t first, uint64_t last)
{
    size_t lo;
    size_t hi1;

    if (!valid_range(first, last)) {
        return MSG_ERR_INVAL;
    }
    touching(rs, first, last, &lo, &hi1);
    if (lo == hi1) {   /* touches nothing: a new range at lo */
        if (rs->n == rs->cap) {
            return MSG_ERR_FULL;
        }
        memmove(rs->r + lo + 1, rs->r + lo, (rs->n - lo) * sizeof(rs->r[0]));
        rs->r[lo].first = first;
        rs->r[lo].last = last;
        rs->n++;
        return MSG_OK;
    }
    /* merge r[lo .. hi1) and [first, last] into r[lo] */
    if (first < rs->r[lo].first) {
        rs->r[lo].first = first;
    }
    rs->r[lo].last = last > rs->r[hi1 - 1].last ? last : rs->r[hi1 - 1].last;
    memmove(rs->r + lo + 1, rs->r + hi1, (rs->n - hi1) * sizeof(rs->r[0]));
    rs->n -= hi1 - lo - 1;
    return MSG_OK;
}

int msg_rangeset_add(struct msg_rangeset *rs, uint64_t seq)
{
    return msg_rangeset_add_range(rs, seq, seq);
}

bool msg_rangeset_contains(const struct msg_rangeset *rs, uint64_t seq)
{
    return msg_ranges_contains(rs->r, rs->n, seq);
}

uint64_t msg_rangeset_count(const struct msg_rangeset *rs)
{
    uint64_t total = 0;

    for (size_t i = 0; i < rs->n; i++) {
        total += rs->r[i].last - rs->r[i].first + 1;
    }
    return total;
}

int msg_ranges_check(const struct msg_range *r, size_t n, size_t *bad)
{
    for (size_t i = 0; i < n; i++) {
        if (!valid_range(r[i].first, r[i].last) || (i > 0 && r[i].first <= r[i - 1].last)) {
            if (bad != NULL) {
                *bad = i;
            }
            return MSG_ERR_INVAL;
        }
    }
    return MSG_OK;
}

/* Index of the first range whose last >= seq (n if none). */
static size_t first_ending_at_or_after(const struct msg_range *r, size_t n, uint64_t seq)
{
    size_t a = 0;
    size_t b = n;

    while (a < b) {
        size_t mid = a + (b - a) / 2;

        if (r[mid].last < seq) {
            a = mid + 1;
        } else {
            b = mid;
        }
    }
    return a;
}

bool msg_ranges_contains(const struct msg_range *r, size_t n, uint64_t seq)
{
    size_t i = first_ending_at_or_after(r, n, seq);

    return i < n && r[i].first <= seq;
}

bool msg_ranges_cover(const struct msg_range *r, size_t n, uint64_t first, uint64_t last)
{
    size_t i = first_ending_at_or_after(r, n, first);
    uint64_t next = first;   /* the lowest seq not yet shown covered */

    for (; i < n && r[i].first <= next; i++) {
        if (r[i].last >= last) {
            return true;
        }
        next = r[i].last + 1;
    }
    return false;
}
