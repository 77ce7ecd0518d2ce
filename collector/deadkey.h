/* deadkey.h -- what a dead letter is, for deduplication and for the ledger (issue 3 item 3,
 * schema/008_dead_letter_dedup.sql).
 *
 * A message stored as a dead letter is stored once however often it arrives: the collector
 * gives each one a dedup_key (SHA-256) and inserts ON CONFLICT DO NOTHING against a unique
 * index. The key is
 *   keyed    (device, store and seq known)
 *            SHA-256("key:<device>/<store>/<seq>:" || content), where content is 32 bytes: the
 *            canonical content_sha256 of a valid reading (a clash, a registry or database
 *            refusal), or for a body that failed validation SHA-256("body:" || the payload
 *            re-serialised by cJSON without its top-level `replay` member), so that a resend
 *            (replay true) is the same dead letter and other content under the key is another;
 *   raw      SHA-256("raw:" || topic || NUL || payload bytes) otherwise.
 * pgsink's SQL computes the keyed form for clashes found in the database with the same
 * formula (sink_sql.h), so both agree.
 *
 * deadkey_salvage() reads from an invalid payload what is still readable: store and seq (for
 * the acknowledgement and the key) and the envelope (for a ledger row with outcome
 * dead_letter). A payload that is not JSON as a whole (NaN, cut at 8192 bytes, a syntax error
 * after the envelope) is read member by member from its start up to the first place that
 * cannot be read (protocol.md 7.3): store and seq must each be there once, a store id and a
 * positive integer, or neither is taken; ts, clock_synced and replay likewise (once, in their
 * forms) for the envelope, boot and mono_ms if they read as integers.
 *
 * A payload the broker cut at 8192 bytes is keyed on the SHA-256 of the whole payload that
 * the broker sent with it (msg_rejected.h), never on the bytes that are left: with store and
 * seq, as the content of the keyed form; without, as
 *   whole    SHA-256("whole:" || topic || NUL || SHA-256 of the whole payload),
 * so that two oversize messages with the same first 8192 bytes are two dead letters.
 *
 * Not for: validation (msg_event_parse) or deciding what is a dead letter (collector.c).
 * Allocates only inside a call (cJSON); thread-safe apart from cJSON's last-error pointer. */
#ifndef DEADKEY_H
#define DEADKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg_err.h"
#include "msg_event.h"

#define DEADKEY_LEN 32

/* What deadkey_salvage() could read from a payload. */
struct deadkey_salvage {
    char store_id[MSG_STORE_ID_LEN + 1]; /* "" if not readable */
    uint64_t seq;                        /* 0 if not readable */
    bool has_envelope;                   /* store, seq, ts, clock_synced and replay readable */
    struct msg_envelope env;             /* valid when has_envelope (boot, mono_ms optional) */
    unsigned char body_sha[DEADKEY_LEN]; /* the content hash of the body (see above) */
};

/* Reads payload (len bytes, borrowed, any content) into caller-owned *out. Returns MSG_OK, or
 * MSG_ERR_NOMEM / MSG_ERR_INVAL (no SHA-256) with *out still usable as "nothing readable". */
int deadkey_salvage(const char *payload, size_t len, struct deadkey_salvage *out);

/* The keyed dedup key of (device_id, store_id, seq) (borrowed) and content into out. Returns
 * MSG_OK or MSG_ERR_INVAL (no SHA-256 in libcrypto). */
int deadkey_keyed(const char *device_id, const char *store_id, uint64_t seq,
                  const unsigned char content[DEADKEY_LEN], unsigned char out[DEADKEY_LEN]);

/* The whole dedup key of topic (borrowed) and the SHA-256 of a whole payload into out.
 * Returns MSG_OK or MSG_ERR_INVAL. */
int deadkey_whole(const char *topic, size_t topic_len, const unsigned char whole[DEADKEY_LEN],
                  unsigned char out[DEADKEY_LEN]);

/* The raw dedup key of topic and payload (borrowed) into out. Returns MSG_OK or MSG_ERR_INVAL. */
int deadkey_raw(const char *topic, size_t topic_len, const char *payload, size_t payload_len,
                unsigned char out[DEADKEY_LEN]);

#endif
