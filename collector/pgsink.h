/* pgsink.h -- the batch in hand and its way into PostgreSQL: COPY, statements, bisect, reconnect.
 *
 * The database thread adds rows (validated readings, status messages, dead letters) to the
 * batch; pgsink_flush() writes them in one transaction: COPY into TEMP staging tables (created
 * once per connection, ON COMMIT DELETE ROWS), then one multi-statement query that inserts the
 * readings into the ledger (ON CONFLICT DO NOTHING, keys sorted so that two collectors cannot
 * deadlock), their facts for the keys that were new, upserts incidents and device status, stores
 * dead letters (clashes included) and returns how each staged reading fared: new, duplicate or
 * clash. The ledger is the authority for "stored once".
 *
 * A batch that fails for its data (SQLSTATE class 22, 23 or a trigger's exception) is split in
 * two and each half written on its own, down to the one row at fault, which becomes a dead
 * letter carrying the database's error: one bad row never holds up the others. Any other failure
 * (connection lost, server restarting, deadlock) keeps the whole batch in hand: the caller backs
 * off and calls pgsink_flush() again, which reconnects first.
 *
 * After a flush (even a failed one, since a split batch commits in parts) pgsink_take_done()
 * reports each committed row once, for acknowledgements and counters.
 *
 * One thread only (the database thread). Memory: the batch's rows and raw bytes are bounded by
 * the limits given to pgsink_new(); nothing grows past them.
 * Not for: validation (collector.c runs msg_event_parse and the registry checks first). */
#ifndef PGSINK_H
#define PGSINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "metrics.h"
#include "msg_err.h"
#include "msg_event.h"

#define PGSINK_SHA256_LEN 32
#define PGSINK_REASON_MAX 32 /* dead-letter reason code, e.g. "schema" */
#define PGSINK_CATEGORY_MAX 16 /* dead-letter category (schema/010), e.g. "station" */

/* How a committed row fared. */
enum pgsink_outcome {
    PGSINK_NEW,       /* reading stored now */
    PGSINK_DUPLICATE, /* reading stored before, same content */
    PGSINK_CLASH,     /* other content than the copy stored under its key (before, or
                       * earlier in the batch): stored as a dead letter, yet a copy of the
                       * reading is stored, so it is not acknowledged as dead */
    PGSINK_CLASH_DEAD, /* other content than a copy under its key that went to the dead
                        * letters itself: no copy is stored, acknowledged as dead */
    PGSINK_DEAD,      /* stored as a dead letter (invalid, refused by the registry, ...), or
                       * found in the ledger as one (a resend of a dead-lettered reading) */
    PGSINK_STATUS,    /* a status message, applied */
};

/* One committed row, as pgsink_take_done() reports it; strings borrowed for the call. */
struct pgsink_done {
    enum pgsink_outcome outcome;
    bool has_key; /* device, store and seq are known: acknowledge */
    const char *device_id;
    const char *store_id;
    uint64_t seq;
    int64_t recv_us; /* when the message arrived */
};

typedef void (*pgsink_done_fn)(void *ctx, const struct pgsink_done *d);

struct pgsink_limits {
    size_t rows;  /* rows per batch */
    size_t bytes; /* raw topic and payload bytes per batch */
};

struct pgsink;

/* A sink for conninfo and password (both borrowed; copied in; the password is never logged);
 * collector_id (borrowed, copied) goes into the dead letters it stores. Does not connect yet.
 * m (borrowed, must outlive the sink) receives batch counters. Returns NULL if out of memory.
 * Caller frees with pgsink_free(). */
struct pgsink *pgsink_new(const char *conninfo, const char *password, const char *collector_id,
                          const struct pgsink_limits *lim, struct metrics *m);
void pgsink_free(struct pgsink *s);

/* The open connection, connecting (and preparing the session) first if needed; NULL with err
 * set if that fails. Borrowed: valid until the next pgsink call. For the registry's queries. */
PGconn *pgsink_conn(struct pgsink *s, char *err, size_t errlen);

/* Whether the batch has room for one more message of topic_len + payload_len raw bytes. */
bool pgsink_has_room(const struct pgsink *s, size_t topic_len, size_t payload_len);

/* Rows in the batch not yet committed. */
size_t pgsink_pending(const struct pgsink *s);

/* Adds a validated reading or status message ev (borrowed) with its raw topic and payload
 * (borrowed; copied) and, for readings, the SHA-256 of msg_event_canonical(). Returns MSG_OK
 * or MSG_ERR_FULL (no room: flush first). */
int pgsink_add_event(struct pgsink *s, const struct msg_event *ev,
                     const unsigned char sha256[PGSINK_SHA256_LEN], const char *topic,
                     size_t topic_len, const char *payload, size_t payload_len,
                     size_t payload_len_orig, int64_t recv_us);

/* What a dead letter knows beyond its raw bytes; every field may be empty/zero. */
struct pgsink_dead_key {
    const char *device_id; /* "" if unknown */
    const char *store_id;  /* "" if unknown */
    uint64_t seq;          /* 0 if unknown */
    const char *stream;    /* "" if unknown */
    bool from_broker;      /* refused by the broker (pantau/v1/_sys/rejected) */
    /* borrowed, DEADKEY_LEN bytes or NULL: the content hash for the keyed dedup key
     * (deadkey.h); without it, or without device, store and seq, the raw key is used */
    const unsigned char *content;
    /* borrowed or NULL: the reading's envelope, when the topic names a reading stream of the
     * device and the body gives store, seq, ts, clock_synced and replay. The reading then gets
     * a ledger row with outcome dead_letter and content_sha256 = content (which must be set) */
    const struct msg_envelope *env;
    /* the category (schema/010: json, schema, topic, station, identity, clash, db); NULL or
     * "" lets the database derive it from reason and detail */
    const char *category;
    /* borrowed, DEADKEY_LEN bytes or NULL: the SHA-256 of the whole payload when the broker
     * cut it (payload_len_orig > payload_len); such a payload without store and seq is keyed
     * on it (deadkey_whole), never on the bytes that are left */
    const unsigned char *whole_sha;
};

/* Adds a dead letter: the raw topic and payload (borrowed; copied; payload_len_orig is the
 * size the broker delivered), reason (a short code such as "json") and detail (the validator's
 * or the registry's message). It is stored once however often it comes (its dedup_key,
 * deadkey.h). Returns MSG_OK or MSG_ERR_FULL. */
int pgsink_add_dead(struct pgsink *s, const char *topic, size_t topic_len, const char *payload,
                    size_t payload_len, size_t payload_len_orig, int64_t recv_us,
                    const char *reason, const char *detail, const struct pgsink_dead_key *key);

/* Writes every pending row (see above). Returns MSG_OK when all are committed, or MSG_ERR_DB
 * with err set when some are not (they stay in the batch; call again after a back-off). */
int pgsink_flush(struct pgsink *s, char *err, size_t errlen);

/* Reports each row committed since the last call to fn (ctx passed through), once; when every
 * row of the batch is committed, empties the batch. */
void pgsink_take_done(struct pgsink *s, pgsink_done_fn fn, void *ctx);

/* Redrive mode (redrive.h): while request is not 0, each transaction of a flush also turns the
 * ledger rows of its staged readings from dead_letter to stored (the facts then follow as for a
 * new key) and marks the dead letters of the keys it stored as redriven by request. Set it on
 * an empty batch of redriven readings only, and back to 0 after the flush. */
void pgsink_set_redrive(struct pgsink *s, long long request);

/* Drops every row of the batch, committed or not, without reporting it (a redrive that could
 * not finish: its request is claimed again later). */
void pgsink_discard(struct pgsink *s);

/* Runs pantau.ensure_partitions() (month partitions ahead; the schema asks the collector to
 * run it daily). Returns MSG_OK or MSG_ERR_DB with err set. */
int pgsink_ensure_partitions(struct pgsink *s, char *err, size_t errlen);

/* Connects if needed and runs a trivial query: whether the database answers now. Returns
 * MSG_OK or MSG_ERR_DB with err set (the connection is then closed). */
int pgsink_ping(struct pgsink *s, char *err, size_t errlen);

/* Whether the connection is open (it is closed after a connection-level failure). */
bool pgsink_connected(const struct pgsink *s);

#endif
