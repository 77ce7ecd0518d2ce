/* metrics.h -- the collector's counters, their Prometheus text form, and a tiny HTTP responder.
 *
 * Counters are C11 atomics, bumped by any thread without a lock. metrics_render() writes the
 * Prometheus text exposition format (names pantau_collector_<what>_<unit>, counters ending in
 * _total, times in seconds). The responder is one thread running poll() on one listening socket:
 * it answers `GET /metrics` and nothing else, one short request at a time, with a timeout, so a
 * slow scraper can delay the next scrape but never the data path.
 *
 * Not for: logging (the per-minute INFO summary is written by collector.c from these counters). */
#ifndef METRICS_H
#define METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "msg_err.h"

#define METRICS_BATCH_BUCKETS 12

struct metrics {
    atomic_uint_fast64_t messages_received;  /* every MQTT message taken from the broker */
    atomic_uint_fast64_t intake_dropped;     /* left to the device: intake full too long */
    atomic_uint_fast64_t readings_stored;    /* new readings committed */
    atomic_uint_fast64_t readings_duplicate; /* already in the ledger, same content */
    atomic_uint_fast64_t readings_clash;     /* already in the ledger, other content */
    atomic_uint_fast64_t dead_letters;       /* messages settled as dead letters (a repeat of a
                                              * stored one is counted, not stored again) */
    atomic_uint_fast64_t rejected_limited;   /* broker-refused messages over their device's rate
                                              * limit: not stored */
    atomic_uint_fast64_t status_stored;      /* status messages committed */
    atomic_uint_fast64_t batches;            /* transactions committed */
    atomic_uint_fast64_t batch_splits;       /* a failed batch cut in two to find a bad row */
    atomic_uint_fast64_t db_errors;          /* failed statements or connections */
    atomic_uint_fast64_t acks_sent;          /* ack messages published */
    atomic_uint_fast64_t registry_loads;     /* registry reloads */
    atomic_uint_fast64_t batch_us_sum;       /* commit latency, microseconds */
    atomic_uint_fast64_t batch_buckets[METRICS_BATCH_BUCKETS]; /* cumulative at render time */
    atomic_int db_up; /* 1 while the last transaction committed */
    atomic_int mqtt_connected;
    atomic_uint_fast64_t intake_messages; /* gauges, set by the database thread */
    atomic_uint_fast64_t intake_bytes;
};

/* Records one committed batch's latency. */
void metrics_batch_observe(struct metrics *m, int64_t micros);

/* Writes the text exposition into buf (borrowed, len bytes). Returns the length written (the
 * text is cut, still NUL-terminated, if buf is too small). */
size_t metrics_render(const struct metrics *m, char *buf, size_t len);

struct metrics_http;

/* Listens on address:port (borrowed) and serves m (borrowed: it must outlive the responder)
 * from its own thread. Returns NULL with err set if the socket cannot be bound.
 * Caller frees with metrics_http_close(). */
struct metrics_http *metrics_http_open(const char *address, int port, const struct metrics *m,
                                       char *err, size_t errlen);

/* Stops the thread and closes the socket; NULL is a no-op. */
void metrics_http_close(struct metrics_http *h);

#endif
