/* badlog.h -- counting and rate-limited logging of bad input for the agent's sources.
 *
 * A malformed sensor line, a camera line that breaks the format, a Frigate event that cannot be
 * mapped: each is counted and logged at DEBUG with its reason, and once a minute (when there
 * were new ones) a summary goes out at INFO with the count and the last reason, so that one
 * bad device cannot flood the journal (STYLE.md section 8). Reasons never carry payload bodies:
 * callers pass err texts that quote input through msg_quote.
 *
 * Not for: errors that stop a source (those go to the caller's err). Not thread-safe: one
 * struct per thread. */
#ifndef BADLOG_H
#define BADLOG_H

#include <stdint.h>

#include "msg_err.h"

#define BADLOG_SUMMARY_MS 60000   /* at most one INFO summary a minute */

struct badlog {
    char who[96];               /* "flood: station=p2c-kali-bekasi" */
    uint64_t total;
    uint64_t reported;          /* total at the last summary */
    int64_t next_ms;            /* CLOCK_MONOTONIC ms of the next possible summary */
    char last[MSG_ERRLEN];      /* the last reason */
};

/* who (borrowed, copied) prefixes every line. */
void badlog_init(struct badlog *b, const char *who);

/* Counts one bad input and logs it at DEBUG: "<who>: <what>: <why>" (both borrowed). */
void badlog_add(struct badlog *b, const char *what, const char *why);

/* Logs the INFO summary if there are new bad inputs and the minute is up; returns the
 * CLOCK_MONOTONIC ms at which it wants to be called again (for the source's wait). */
int64_t badlog_tick(struct badlog *b, int64_t now_ms);

#endif
