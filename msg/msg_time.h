/* msg_time.h -- the protocol's timestamps: `YYYY-MM-DDTHH:MM:SS.mmmZ` (protocol.md 4.1).
 *
 * Exactly 24 characters, UTC, three decimals, a real calendar date (proleptic Gregorian) and
 * time (no 24:00, no leap second), years 1970 to 2099. Converted to and from milliseconds since
 * the Unix epoch by plain arithmetic: no timegm(), no time zone, no locale.
 *
 * Not for: other RFC 3339 forms (offsets, other precisions, lower-case t/z): they are invalid
 * on the wire. No allocation. */
#ifndef MSG_TIME_H
#define MSG_TIME_H

#include <stddef.h>
#include <stdint.h>

#define MSG_TIME_LEN 24                       /* characters of a timestamp, without NUL */
#define MSG_TIME_MIN_MS INT64_C(0)            /* 1970-01-01T00:00:00.000Z */
#define MSG_TIME_MAX_MS INT64_C(4102444799999) /* 2099-12-31T23:59:59.999Z */

/* Reads s (len bytes, borrowed, NUL not needed) into *ms_since_epoch. Returns MSG_OK, or
 * MSG_ERR_INVAL with err saying what is wrong (e.g. "day 30 does not exist in 2026-02"). */
int msg_time_parse(const char *s, size_t len, int64_t *ms_since_epoch, char *err, size_t errlen);

/* Writes ms as a timestamp and a NUL into out. Values outside MSG_TIME_MIN_MS..MSG_TIME_MAX_MS
 * are clamped to that range (so the output always parses). */
void msg_time_format(int64_t ms, char out[MSG_TIME_LEN + 1]);

#endif
