/* traffic_agg.h -- vehicle counts aggregated per interval, station, lane and class into the
 * contract's `traffic` readings (protocol.md 4.3), for the camera and Frigate sources.
 *
 * Intervals are aligned to the wall clock: an interval of 300 s starts at 00:00, 00:05, ...
 * UTC (start = floor(ts / interval) * interval), and the reading's ts is the interval's start.
 * An interval closes `grace` after its end (so that events the camera sends a little late
 * still count); then it is handed out once, with all five classes (0 where none was seen) and
 * the mean speed of the detections that carried one, and, where the camera reported its lane's
 * state (traffic_agg_lane), the mean of its occupancy samples and the longest queue. An event
 * for an interval that has closed (late), or more than TRAFFIC_AGG_FUTURE_MS in the future (a
 * camera clock far off), is refused and counted by the caller. Intervals with no event give no reading.
 *
 * Not for: I/O, threads (the Frigate source guards it with its own mutex), incidents. No
 * allocation: a fixed table of TRAFFIC_AGG_BINS_MAX open (station, lane, interval) bins. */
#ifndef TRAFFIC_AGG_H
#define TRAFFIC_AGG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg_event.h"

#define TRAFFIC_AGG_BINS_MAX 128
#define TRAFFIC_AGG_FUTURE_MS 60000
#define TRAFFIC_AGG_COUNT_MAX 1000000   /* the contract's largest count */

struct traffic_bin {
    bool used;
    char station[MSG_ID_MAX + 1];
    char lane[MSG_LANE_MAX + 1];
    int64_t start_ms;
    int64_t counts[MSG_VCLASS_COUNT];
    double speed_sum;        /* km/h, weighted by count */
    int64_t speed_n;
    double occupancy_sum;    /* %, of occupancy_n samples */
    int64_t occupancy_n;
    bool has_queue;
    double queue_max;        /* m */
};

struct traffic_agg {
    int64_t interval_ms;     /* 1000 to 3600000, whole seconds */
    int64_t grace_ms;
    struct traffic_bin bins[TRAFFIC_AGG_BINS_MAX];
};

/* interval_ms: whole seconds, 1 s to 3600 s. Returns MSG_OK or MSG_ERR_INVAL. */
int traffic_agg_init(struct traffic_agg *a, int64_t interval_ms, int64_t grace_ms);

/* The start of the interval that holds ts_ms (ms since the epoch, >= 0). */
int64_t traffic_agg_align(int64_t ts_ms, int64_t interval_ms);

/* Counts n vehicles of class v at station and lane (borrowed, copied; valid ids), seen at
 * ts_ms (wall-clock ms), with their mean speed if has_speed. now_ms is the wall clock.
 * Returns MSG_OK; MSG_ERR_INVAL with err saying why (late: the interval has closed; in the
 * future; a bad id or count); MSG_ERR_FULL (no free bin). */
int traffic_agg_add(struct traffic_agg *a, const char *station, const char *lane,
                    enum msg_vclass v, int64_t n, bool has_speed, double speed_kmh,
                    int64_t ts_ms, int64_t now_ms, char *err, size_t errlen);

/* A lane's state at station and lane (borrowed, copied; valid ids), measured at ts_ms: the
 * detection zone's occupancy (0..100 %) if has_occupancy, the queue (0..10000 m) if has_queue.
 * The interval's reading carries the mean occupancy and the longest queue. Returns as
 * traffic_agg_add. */
int traffic_agg_lane(struct traffic_agg *a, const char *station, const char *lane,
                     bool has_occupancy, double occupancy_pct, bool has_queue, double queue_m,
                     int64_t ts_ms, int64_t now_ms, char *err, size_t errlen);

/* The index of a bin whose interval has closed at now_ms (the oldest first), or -1. */
int traffic_agg_due(const struct traffic_agg *a, int64_t now_ms);

/* Fills *out (caller-owned) with bin i's reading body and *ts_ms with its start. */
void traffic_agg_reading(const struct traffic_agg *a, int i, struct msg_traffic *out,
                         int64_t *ts_ms);

/* Frees bin i once its reading was handed on. */
void traffic_agg_remove(struct traffic_agg *a, int i);

/* Wall-clock ms at which the next bin closes; INT64_MAX if none is open. */
int64_t traffic_agg_next_close(const struct traffic_agg *a);

#endif
