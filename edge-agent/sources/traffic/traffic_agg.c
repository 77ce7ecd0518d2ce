/* traffic_agg.c -- counts per interval, station, lane and class (see traffic_agg.h). */
#include "traffic_agg.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "msg_err.h"
#include "msg_time.h"
#include "msg_topic.h"

int traffic_agg_init(struct traffic_agg *a, int64_t interval_ms, int64_t grace_ms)
{
    memset(a, 0, sizeof(*a));
    if (interval_ms < 1000 || interval_ms > 3600000 || interval_ms % 1000 != 0 || grace_ms < 0) {
        return MSG_ERR_INVAL;
    }
    a->interval_ms = interval_ms;
    a->grace_ms = grace_ms;
    return MSG_OK;
}

int64_t traffic_agg_align(int64_t ts_ms, int64_t interval_ms)
{
    return ts_ms - ts_ms % interval_ms;
}

static bool lane_valid(const char *s)
{
    size_t n = strlen(s);

    /* the lane's alphabet is the id's (protocol.md section 2), at most 32 characters */
    return n <= MSG_LANE_MAX && msg_id_valid(s, n);
}

/* The open bin of (station, lane) for ts_ms, made if need be; NULL with err and *rc set. */
static struct traffic_bin *bin_for(struct traffic_agg *a, const char *station, const char *lane,
                                   int64_t ts_ms, int64_t now_ms, int *rc, char *err,
                                   size_t errlen)
{
    char when[MSG_TIME_LEN + 1];
    struct traffic_bin *b = NULL;
    int64_t start;

    *rc = MSG_ERR_INVAL;
    if (!msg_id_valid(station, strlen(station))) {
        snprintf(err, errlen, "station: not a station id");
        return NULL;
    }
    if (!lane_valid(lane)) {
        snprintf(err, errlen, "lane: not a lane id (a-z 0-9 . _ -, 1 to %d)", MSG_LANE_MAX);
        return NULL;
    }
    if (ts_ms < 0 || ts_ms > MSG_TIME_MAX_MS) {
        snprintf(err, errlen, "ts: out of range");
        return NULL;
    }
    start = traffic_agg_align(ts_ms, a->interval_ms);
    if (start + a->interval_ms + a->grace_ms <= now_ms) {
        msg_time_format(start, when);
        snprintf(err, errlen, "late: the interval starting %s has closed", when);
        return NULL;
    }
    if (ts_ms > now_ms + TRAFFIC_AGG_FUTURE_MS) {
        msg_time_format(ts_ms, when);
        snprintf(err, errlen, "ts: %s is in the future", when);
        return NULL;
    }
    for (size_t i = 0; i < TRAFFIC_AGG_BINS_MAX; i++) {
        struct traffic_bin *c = &a->bins[i];

        if (c->used && c->start_ms == start && strcmp(c->station, station) == 0 &&
            strcmp(c->lane, lane) == 0) {
            b = c;
            break;
        }
        if (!c->used && b == NULL) {
            b = c;   /* the first free one, unless the bin exists further on */
        }
    }
    if (b == NULL) {
        snprintf(err, errlen, "more than %d station, lane and interval bins open",
                 TRAFFIC_AGG_BINS_MAX);
        *rc = MSG_ERR_FULL;
        return NULL;
    }
    if (!b->used) {
        memset(b, 0, sizeof(*b));
        b->used = true;
        snprintf(b->station, sizeof(b->station), "%s", station);
        snprintf(b->lane, sizeof(b->lane), "%s", lane);
        b->start_ms = start;
    }
    *rc = MSG_OK;
    return b;
}

int traffic_agg_add(struct traffic_agg *a, const char *station, const char *lane,
                    enum msg_vclass v, int64_t n, bool has_speed, double speed_kmh,
                    int64_t ts_ms, int64_t now_ms, char *err, size_t errlen)
{
    struct traffic_bin *b;
    int rc;

    if ((int)v < 0 || (int)v >= MSG_VCLASS_COUNT || n < 1 || n > TRAFFIC_AGG_COUNT_MAX) {
        snprintf(err, errlen, "count: %lld out of range 1..%d", (long long)n,
                 TRAFFIC_AGG_COUNT_MAX);
        return MSG_ERR_INVAL;
    }
    b = bin_for(a, station, lane, ts_ms, now_ms, &rc, err, errlen);
    if (b == NULL) {
        return rc;
    }
    if (b->counts[v] + n > TRAFFIC_AGG_COUNT_MAX) {
        snprintf(err, errlen, "count: more than %d in one interval", TRAFFIC_AGG_COUNT_MAX);
        return MSG_ERR_INVAL;
    }
    b->counts[v] += n;
    if (has_speed && isfinite(speed_kmh) && speed_kmh >= 0 && speed_kmh <= 300) {
        b->speed_sum += speed_kmh * (double)n;
        b->speed_n += n;
    }
    return MSG_OK;
}

int traffic_agg_lane(struct traffic_agg *a, const char *station, const char *lane,
                     bool has_occupancy, double occupancy_pct, bool has_queue, double queue_m,
                     int64_t ts_ms, int64_t now_ms, char *err, size_t errlen)
{
    struct traffic_bin *b;
    int rc;

    if ((has_occupancy && !(occupancy_pct >= 0 && occupancy_pct <= 100)) ||
        (has_queue && !(queue_m >= 0 && queue_m <= 10000))) {
        snprintf(err, errlen, "occupancy_pct or queue_m out of range");
        return MSG_ERR_INVAL;
    }
    b = bin_for(a, station, lane, ts_ms, now_ms, &rc, err, errlen);
    if (b == NULL) {
        return rc;
    }
    if (has_occupancy) {
        b->occupancy_sum += occupancy_pct;
        b->occupancy_n++;
    }
    if (has_queue && (!b->has_queue || queue_m > b->queue_max)) {
        b->has_queue = true;
        b->queue_max = queue_m;
    }
    return MSG_OK;
}

int traffic_agg_due(const struct traffic_agg *a, int64_t now_ms)
{
    int best = -1;

    for (size_t i = 0; i < TRAFFIC_AGG_BINS_MAX; i++) {
        const struct traffic_bin *b = &a->bins[i];

        if (b->used && b->start_ms + a->interval_ms + a->grace_ms <= now_ms &&
            (best < 0 || b->start_ms < a->bins[best].start_ms)) {
            best = (int)i;
        }
    }
    return best;
}

void traffic_agg_reading(const struct traffic_agg *a, int i, struct msg_traffic *out,
                         int64_t *ts_ms)
{
    const struct traffic_bin *b = &a->bins[i];

    memset(out, 0, sizeof(*out));
    snprintf(out->station, sizeof(out->station), "%s", b->station);
    snprintf(out->lane, sizeof(out->lane), "%s", b->lane);
    out->interval_s = (int)(a->interval_ms / 1000);
    for (int k = 0; k < MSG_VCLASS_COUNT; k++) {
        out->counts[k] = b->counts[k];
    }
    if (b->speed_n > 0) {
        out->has_speed = true;
        out->speed_kmh = round(b->speed_sum / (double)b->speed_n * 10.0) / 10.0;
    }
    if (b->occupancy_n > 0) {
        out->has_occupancy = true;
        out->occupancy_pct = round(b->occupancy_sum / (double)b->occupancy_n * 10.0) / 10.0;
    }
    if (b->has_queue) {
        out->has_queue = true;
        out->queue_m = round(b->queue_max * 10.0) / 10.0;
    }
    *ts_ms = b->start_ms;
}

void traffic_agg_remove(struct traffic_agg *a, int i)
{
    a->bins[i].used = false;
}

int64_t traffic_agg_next_close(const struct traffic_agg *a)
{
    int64_t next = INT64_MAX;

    for (size_t i = 0; i < TRAFFIC_AGG_BINS_MAX; i++) {
        const struct traffic_bin *b = &a->bins[i];

        if (b->used && b->start_ms + a->interval_ms + a->grace_ms < next) {
            next = b->start_ms + a->interval_ms + a->grace_ms;
        }
    }
    return next;
}
