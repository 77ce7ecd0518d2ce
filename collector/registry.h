/* registry.h -- the collector's cached copy of the device registry, for checks before COPY.
 *
 * A reading is stored only if its device exists and is enabled, the device's kind may publish
 * the stream (protocol.md section 3) and, for readings that name a station, the registry binds
 * that station to the device and the station's kind fits the stream, by msg_binding_check()
 * (msg/msg_binding.h), the rule the broker applies too. Checking these in memory, before the batch
 * goes to PostgreSQL, keeps a message that would break a foreign key or a trigger from failing
 * its whole batch: it becomes a dead letter on its own.
 *
 * The cache is loaded with one query (registry_load) by the database thread, on its own
 * connection, every registry_refresh_ms and after a miss (at most every registry_miss_ms): a
 * device registered a moment ago is found at once. A failed load keeps the previous copy.
 *
 * Not for: the broker's own checks (its plugins read the registry themselves). One thread. */
#ifndef REGISTRY_H
#define REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "msg_err.h"
#include "msg_event.h"

/* registry_check() verdicts. */
enum {
    REGISTRY_OK = 0,
    REGISTRY_MISS, /* unknown or disabled device, station not bound, inspector not an officer
                    * of the phone: a reload may change this */
    REGISTRY_DENY, /* its kind may not publish this stream, station of the wrong kind */
};

struct registry;

/* An empty registry (registry_loaded() is false). Returns NULL if out of memory.
 * Caller frees with registry_free(). */
struct registry *registry_new(void);
void registry_free(struct registry *r);

/* Replaces the cache with the registry read through conn (borrowed). Returns MSG_OK, or
 * MSG_ERR_DB / MSG_ERR_NOMEM with err set (the previous copy is kept). */
int registry_load(struct registry *r, PGconn *conn, char *err, size_t errlen);

/* Whether a load has succeeded at least once. */
bool registry_loaded(const struct registry *r);

/* Devices in the cache. */
size_t registry_devices(const struct registry *r);

/* Checks ev (borrowed), received at received_ms (wall clock, ms since the Unix epoch), against
 * the cache. Returns REGISTRY_OK, or REGISTRY_MISS (unknown or disabled device, station not
 * bound then, inspector not an officer of the phone) / REGISTRY_DENY (stream not allowed,
 * station of the wrong kind) with err saying why
 * ("station: 'x' is not bound to device 'y' at ..."). The station binding is judged by
 * msg_binding_check(): at ts when the clock was synchronised, else at received_ms. On a refusal
 * *category (if category is not NULL) is the dead letter's category (schema/010): "identity"
 * (unknown or disabled device, an inspector the phone may not carry), "topic" (its kind may not publish the stream) or "station";
 * a static string. */
int registry_check(const struct registry *r, const struct msg_event *ev, int64_t received_ms,
                   const char **category, char *err, size_t errlen);

#endif
