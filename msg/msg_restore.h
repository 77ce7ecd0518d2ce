/* msg_restore.h -- the restore announcement (protocol.md 6.3), retained on
 * pantau/v1/_sys/restore: the database was restored to a point in time, so readings committed
 * after `target` (and acknowledged) are no longer in it.
 *
 * The collector encodes it from the database's newest restore (pantau_ops.restore_latest,
 * schema/028); the agent parses it to send again the acknowledged readings it kept from
 * target to restored; the broker validates what a collector publishes with the same parser.
 *
 * Not for: what the agent takes back (agent_store.h) or when (the engine). No allocation beyond
 * cJSON's tree during a parse. */
#ifndef MSG_RESTORE_H
#define MSG_RESTORE_H

#include <stddef.h>
#include <stdint.h>

#include "msg_err.h"

/* The margin a device applies on each side of [target, restored]: its clock and the
 * collector's may differ by this much (protocol.md 6.3). */
#define MSG_RESTORE_SKEW_MS (5 * 60 * 1000)

struct msg_restore {
    uint64_t epoch;      /* grows with every restore: 1 to 2^53 - 1 */
    int64_t target_ms;   /* the point restored to, ms since the Unix epoch */
    int64_t restored_ms; /* when the restored database took writes again (>= target_ms) */
    int64_t ts_ms;       /* when it was published */
};

/* Writes r (borrowed) as a JSON payload into buf (buflen bytes) with a NUL; *outlen gets the
 * length. Returns MSG_OK, MSG_ERR_FULL or MSG_ERR_INVAL (epoch out of range, restored before
 * target, a time outside 1970 to 2099). */
int msg_restore_encode(const struct msg_restore *r, char *buf, size_t buflen, size_t *outlen);

/* Validates payload (len bytes, borrowed) as a restore announcement: every rule of 6.3,
 * `restored` not before `target` (9.7). Fills caller-owned *out. Returns MSG_OK, MSG_ERR_JSON,
 * MSG_ERR_SCHEMA or MSG_ERR_NOMEM, with err naming the member. */
int msg_restore_parse(const void *payload, size_t len, struct msg_restore *out, char *err,
                      size_t errlen);

#endif
