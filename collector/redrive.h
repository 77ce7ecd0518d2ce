/* redrive.h -- redrive requests (schema/011_redrive.sql, pantau-admin redrive): dead letters
 * whose cause is gone, such as a station bound to the device later from a time in the past,
 * are validated again and stored after all.
 *
 * The database thread calls redrive_step() between batches (its batch empty). It claims one
 * pending request (FOR UPDATE SKIP LOCKED: two collectors never both do one; a request claimed
 * by a collector that then died is claimed again two minutes after its last sign of life),
 * reloads the registry, and takes the matching dead letters that are not redriven yet and have
 * a key (device, store, seq), in id order, a page per step; the progress so far goes into the
 * request's row after each page (a collector that takes the request over goes on from it).
 * Each goes through the collector's own checks (the check callback: msg_event_parse and
 * registry_check at the dead letter's receive time, the functions ingest() uses) and, if it
 * passes now, into the sink's batch like any reading; the batch is flushed in redrive mode
 * (pgsink_set_redrive): the ledger row turns from dead_letter to stored, the facts rows are
 * written and the dead letter is marked redriven, in one transaction per batch. A reading that
 * still fails stays a dead letter and is counted by category. Categories json, schema and
 * clash are never tried (the cause is the message itself) and are reported as skipped, as are
 * dead letters without a key or cut.
 * Nothing is acknowledged: the device was told "dead" long ago; its next resend of the key is
 * a duplicate of a stored reading and acknowledged as stored.
 *
 * One thread (the database thread). Not for: the normal data path (collector.c). */
#ifndef REDRIVE_H
#define REDRIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg_event.h"
#include "pgsink.h"
#include "registry.h"

/* The collector's checks of one stored message (topic, payload: borrowed) received at recv_us:
 * on MSG_OK *ev (the collector's scratch, borrowed until the next call) is the valid reading
 * and sha its canonical content's SHA-256; else *category (static) and err say why it is
 * refused. MSG_ERR_NOMEM: try later. */
typedef int (*redrive_check_fn)(void *ctx, const char *topic, size_t topic_len,
                                const char *payload, size_t payload_len, int64_t recv_us,
                                const struct msg_event **ev,
                                unsigned char sha[PGSINK_SHA256_LEN], const char **category,
                                char *err, size_t errlen);

struct redrive_env {
    struct pgsink *sink;      /* borrowed: the collector's, with an empty batch */
    struct registry *reg;     /* borrowed: reloaded before the request is done */
    const char *collector_id; /* borrowed: written as claimed_by */
    redrive_check_fn check;
    void *ctx; /* passed to check */
};

struct redrive;

/* An idle redrive (no request in hand). Returns NULL if out of memory. Caller frees with
 * redrive_free(). */
struct redrive *redrive_new(void);
void redrive_free(struct redrive *rd);

/* Whether a request is in hand (claimed, not finished): call redrive_step() again soon. */
bool redrive_active(const struct redrive *rd);

/* One step, with the sink's batch empty: claims a pending request if none is in hand, then
 * does one page of it (at most REDRIVE_PAGE dead letters, stored in one batch), and writes its
 * result after the last. Between steps the collector goes on with its own traffic, so a large
 * redrive never holds up the readings. Returns MSG_OK (redrive_active() says whether there is
 * more), or MSG_ERR_DB / MSG_ERR_NOMEM with err set: a request whose step failed is given back
 * as pending (when the database still answers) and the batch is empty again. */
int redrive_step(struct redrive *rd, const struct redrive_env *e, char *err, size_t errlen);

/* Gives the request in hand, if any, back as pending and empties the batch (the collector
 * stops). */
void redrive_give_back(struct redrive *rd, const struct redrive_env *e);

#endif
