/* collector.h -- the collector's wiring: MQTT in, PostgreSQL out, acknowledgements back.
 *
 *   libmosquitto thread   on_message copies each message into the intake ring (intake.h);
 *                         when the ring is full it waits, so the broker is read no faster than
 *                         the database writes (back-pressure).
 *   database thread       takes messages from the ring, runs topic -> JSON -> event -> registry
 *                         -> batch (ingest()), flushes the batch (pgsink.h) at batch_rows rows
 *                         or batch_ms, retries with back-off while the database is away, and
 *                         after each commit adds the committed seqs to the ack set (ackset.h).
 *   caller's thread       collector_run(): every ack_interval_ms publishes the coalesced
 *                         acknowledgements, publishes the retained health on every change and
 *                         every health_interval_ms, logs an INFO summary every minute, and on
 *                         a stop request shuts down in order (commit the batch in hand, send
 *                         its acknowledgements, publish health offline, disconnect).
 *   metrics thread        serves GET /metrics (metrics.h), if metrics_port is set.
 *
 * Not for: command-line handling or exit codes (main.c). */
#ifndef COLLECTOR_H
#define COLLECTOR_H

#include <signal.h>
#include <stddef.h>

#include "collector_config.h"
#include "msg_err.h"

struct collector;

/* A collector for cfg (borrowed; copied in). Nothing connects yet. Returns NULL with err set
 * on failure. Caller frees with collector_free(). */
struct collector *collector_new(const struct collector_config *cfg, char *err, size_t errlen);

/* Runs until *stop becomes non-zero (set by main's signal handler), then shuts down in order.
 * Returns MSG_OK after a clean stop, or an error code with err set if the collector could not
 * go on (the broker connection could not be set up, a thread failed). */
int collector_run(struct collector *c, volatile sig_atomic_t *stop, char *err, size_t errlen);

/* NULL is a no-op. */
void collector_free(struct collector *c);

#endif
