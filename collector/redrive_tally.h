/* redrive_tally.h -- what one redrive request found, counted and grouped, and its summary as
 * the JSON that pantau_ops.redrive_request.result holds (schema/011) for pantau-admin to print.
 *
 * Refusals are grouped by their category (schema/010), each group keeping the first message
 * as its example: "3 station: station 'x' is not bound to device 'y' at ...". No I/O, no
 * allocation; the group table is bounded (a category beyond it counts under the last group).
 * Not for: the redrive itself (redrive.h). */
#ifndef REDRIVE_TALLY_H
#define REDRIVE_TALLY_H

#include <stddef.h>

#include "msg_err.h"

#define REDRIVE_TALLY_GROUPS 8 /* the categories of schema/010, and one more */
#define REDRIVE_TALLY_CATEGORY_MAX 15
#define REDRIVE_TALLY_EXAMPLE_MAX 255

struct redrive_tally_group {
    char category[REDRIVE_TALLY_CATEGORY_MAX + 1];
    long count;
    char example[REDRIVE_TALLY_EXAMPLE_MAX + 1];
};

struct redrive_tally {
    long examined; /* validated again */
    long stored;   /* stored now (dry run: would be) */
    long already;  /* found stored already under their key */
    long refused;  /* refused again: still dead letters */
    struct redrive_tally_group groups[REDRIVE_TALLY_GROUPS]; /* the refusals by category */
    size_t n_groups;
};

/* Counts one refusal: category and detail (borrowed; copied, cut to the limits above; NULL
 * or "" category counts as "schema"). */
void redrive_tally_refused(struct redrive_tally *t, const char *category, const char *detail);

/* Writes the refusals as a JSON array [{"category", "count", "example"}, ...] into out
 * (outlen bytes, NUL-terminated). Returns MSG_OK, or MSG_ERR_FULL if it does not fit. */
int redrive_tally_json(const struct redrive_tally *t, char *out, size_t outlen);

/* Adds the groups of a JSON array written by redrive_tally_json() (borrowed, NUL-terminated:
 * the groups a collector before this one counted) to t's groups, without touching the totals.
 * Returns MSG_OK, or MSG_ERR_JSON if it is not such an array (t is then unchanged). */
int redrive_tally_load_json(struct redrive_tally *t, const char *json);

#endif
