/* agent_metrics.h -- the agent's Prometheus metrics as a node_exporter textfile (issue 14,
 * item 6): what a gateway's own monitoring reads without reaching the broker or the database
 * (its store filling, its backlog, whether it is connected and its clock synced).
 *
 * The engine fills a struct agent_metrics every metrics_interval_ms and once more as it stops;
 * agent_metrics_render makes the exposition text (every series labelled with the device id),
 * agent_metrics_write puts it in place atomically (a temporary file beside it, then rename), so
 * that node_exporter's textfile collector never reads half a file. Names follow Prometheus'
 * conventions: `_total` counters, base units (bytes, seconds), `pantau_agent_` prefix.
 *
 * Not for: the status message (protocol.md 5: the same figures travel to the collector there). */
#ifndef PANTAU_AGENT_METRICS_H
#define PANTAU_AGENT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What one file says (all borrowed strings). */
struct agent_metrics {
    const char *device_id; /* a device id (protocol.md 2: no quoting needed) */
    const char *version;   /* the agent's name and version, for pantau_agent_info */
    bool connected;        /* to the broker now */
    bool clock_synced;     /* the readings' clock_synced now */
    uint64_t held;         /* readings in the store, not yet acknowledged */
    uint64_t held_bytes;   /* their payload bytes */
    uint64_t kept;         /* acknowledged readings kept for a restore (keep_acked_ms) */
    uint64_t kept_bytes;   /* their payload bytes */
    uint64_t limit_readings;
    uint64_t limit_bytes;
    uint64_t file_bytes; /* the store's files on disk (database and its WAL) */
    uint64_t acked;      /* readings acknowledged and deleted, since the store was made */
    uint64_t rejected;   /* readings refused for good, since the store was made */
    uint64_t dropped;    /* readings the store dropped (full, too old), since it was made */
    uint64_t published;  /* first sends, this run */
    uint64_t replayed;   /* of which from the backlog */
    uint64_t resent;     /* resends after a timeout, this run */
    uint64_t refusals;   /* PUBACKs >= 0x80, this run */
    uint64_t connects;   /* connections made, this run */
    double start_time_s; /* when this run started, Unix seconds */
};

/* Writes the exposition text of m into buf (len bytes, NUL-terminated). Returns the bytes
 * written without the NUL, or 0 when it does not fit. */
size_t agent_metrics_render(const struct agent_metrics *m, char *buf, size_t len);

/* Puts text (len bytes) in the file path (borrowed; must end in ".prom"): written to
 * "<path>.tmp" in the same folder, then renamed over path. Returns 0, or -1 with why in err. */
int agent_metrics_write(const char *path, const char *text, size_t len, char *err, size_t errlen);

#endif
