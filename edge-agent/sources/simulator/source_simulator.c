/* source_simulator.c -- the `simulator` source: realistic flood, traffic and larva readings for
 * the demo and for load tests, the same sequence for the same seed.
 *
 *   [source simulator]
 *   seed 7
 *   flood_stations p2c-kali-bekasi cileungsi-01   # water levels with flood waves
 *   traffic_stations cam-kalimalang-01            # counts per lane and interval, incidents
 *   larva_kelurahan 32.75.01.1002 32.75.07.1007   # weekly Jumantik inspections ("all": 56)
 *   rate 500                                      # load test: 500 readings/s in total
 *   count 100000                                  # then stop
 *   flood_wave_period 8m                          # demo: one fixed wave every 8 min ...
 *   flood_wave_peak_cm 240                        # ... up to 240 cm (Siaga 3, 2, 1 and back)
 *   traffic_crash_after 2m                        # demo: an accident on the first camera
 *
 * Models (DOMAIN.md):
 * - flood: a baseline near 350 cm (Kali Bekasi at P2C) with small noise; now and then a flood
 *   wave that rises fast (80 to 200 cm an hour, as the Cileungsi's 200 -> 350 cm in one hour)
 *   and falls four to eight times slower, up to Siaga 2 levels (630 cm and more); rain during
 *   the rise; distance_cm against the mounting offset, level_cm, rise_cm_h, battery_v on a
 *   solar day cycle.
 * - traffic: per camera and lane a capacity, a demand that follows the day in WIB (UTC+7) with
 *   rush hours 07-09 and 16-19, counts per class with an urban mix (motorcycles about two thirds),
 *   speed falling with the volume/capacity ratio, occupancy and queue; now and then an
 *   incident (new, updates, end) with a stable event id.
 * - larva: houses (and some public places and institutions) in the given kelurahan, each
 *   inspected once a week; containers typical of Bekasi homes; 5 to 15 % of houses positive
 *   (per kelurahan); PSN actions; the contract's rules hold by construction.
 *
 * - demo (flood_wave_period, traffic_crash_after): instead of random waves, every gauge runs the
 *   same wave from its first reading on, period P: a quarter rising linearly from the baseline
 *   (flood_baseline_cm, exact) to flood_wave_peak_cm, a quarter at the peak, a quarter falling
 *   linearly, a quarter at the baseline; so that a demo sees a gauge cross Siaga 3, 2, 1 and
 *   back within minutes. The first lane of the first camera reports an accident (new, updates,
 *   end 5 minutes later) at its first count traffic_crash_after from the start, whether
 *   traffic_incidents is on or not.
 *
 * Time: readings are due at their interval (or, with `rate`, at 1/rate s apart, taking the
 * stations in turn) on the poll's CLOCK_MONOTONIC ms. A reading's ts is when it was made: the
 * real clock read as its sample is taken (for traffic, the start of the interval that just
 * ended on the wall clock), never the time it was due, so that a simulator that falls behind
 * (a rate above what the store absorbs, a stalled poll) sends readings whose ts is now and
 * latencies measured with it mean something (issue 9, item 11). Behind, `rate` catches up
 * (its total is the point of a load test) with readings made now; a station on its interval
 * skips the samples it missed, as a real gauge that was not running took none. With `start`,
 * a simulated clock starts there at the first poll and runs with the polls, and a sample's
 * ts is its due time on it (tests: then the readings depend only on the seed, the config and
 * the poll times). All randomness comes from a xoshiro256** generator in the state, seeded
 * with splitmix64 from `seed`.
 *
 * Not for: the envelope (the agent fills store, seq, clock_synced, boot, mono_ms), MQTT. */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_clock.h"
#include "agent_source.h"
#include "conf.h"
#include "log.h"
#include "msg_err.h"
#include "msg_event.h"
#include "msg_time.h"
#include "msg_topic.h"
#include "msg_wilayah.h"

#define SIM_LIST_MAX 1024        /* bytes of a list key's value */
#define SIM_STATIONS_MAX 32      /* flood or traffic stations */
#define SIM_LANES_MAX 4
#define SIM_KELURAHAN_MAX 56
#define SIM_BATCH_MAX 1000       /* readings per poll at most (catching up after a stall) */
#define SIM_WEEK_MS INT64_C(604800000)
#define SIM_WIB_MS INT64_C(25200000)   /* UTC+7 */
#define SIM_CRASH_MS INT64_C(300000)   /* traffic_crash_after: how long the accident lasts */
#define SIM_WAKE_EARLY_MS INT64_C(1000) /* a poll this early on the wall clock is on time */

struct sim_config {
    long long seed;
    char start[MSG_TIME_LEN + 2];
    double rate;
    long long count;
    char flood_stations[SIM_LIST_MAX];
    long long flood_interval_ms;
    double flood_offset_cm;
    double flood_baseline_cm;
    long long flood_wave_every_ms;
    long long flood_wave_period_ms;
    double flood_wave_peak_cm;
    char traffic_stations[SIM_LIST_MAX];
    char traffic_lanes[SIM_LIST_MAX];
    long long traffic_interval_s;
    bool traffic_incidents;
    long long traffic_crash_after_ms;
    char larva_kelurahan[SIM_LIST_MAX];
    long long larva_houses;
    long long larva_rw;
    long long larva_rt;
};

#define KEY(name, type, def, field, lo, hi, help)                  \
    {                                                              \
        name, type, def, offsetof(struct sim_config, field),       \
            sizeof(((struct sim_config *)0)->field), lo, hi, help  \
    }

static const struct conf_key sim_keys[] = {
    KEY("seed", CONF_INT, "1", seed, 0, 9007199254740991.0,
        "seed of the generator: the same seed gives the same readings"),
    KEY("start", CONF_STR, "", start, 0, 0,
        "simulated wall time at the first poll (YYYY-MM-DDTHH:MM:SS.mmmZ); empty: the clock"),
    KEY("rate", CONF_DOUBLE, "0", rate, 0, 100000,
        "readings per second in total, stations in turn (0: each at its interval)"),
    KEY("count", CONF_INT, "0", count, 0, 9007199254740991.0,
        "stop after this many readings (0: never)"),
    KEY("flood_stations", CONF_STR, "", flood_stations, 0, 0,
        "flood gauges to simulate, station ids separated by spaces or commas"),
    KEY("flood_interval", CONF_MS, "60s", flood_interval_ms, 100, 86400000,
        "time between two readings of a gauge"),
    KEY("flood_offset_cm", CONF_DOUBLE, "1050", flood_offset_cm, 100, 10000,
        "sensor mounting height over the gauge zero, cm"),
    KEY("flood_baseline_cm", CONF_DOUBLE, "350", flood_baseline_cm, 0, 5000,
        "normal water level, cm (Kali Bekasi at P2C: about 350)"),
    KEY("flood_wave_every", CONF_MS, "6h", flood_wave_every_ms, 1000, 31536000000.0,
        "mean time between two flood waves at a gauge"),
    KEY("flood_wave_period", CONF_MS, "0", flood_wave_period_ms, 0, 31536000000.0,
        "demo: a fixed wave of this period on every gauge instead of random ones (0: off)"),
    KEY("flood_wave_peak_cm", CONF_DOUBLE, "240", flood_wave_peak_cm, 0, 5000,
        "demo: the level at the top of the fixed wave, cm"),
    KEY("traffic_stations", CONF_STR, "", traffic_stations, 0, 0,
        "cameras to simulate, station ids separated by spaces or commas"),
    KEY("traffic_lanes", CONF_STR, "inbound outbound", traffic_lanes, 0, 0,
        "lanes or directions of every camera (1 to 4)"),
    KEY("traffic_interval_s", CONF_INT, "300", traffic_interval_s, 1, 3600,
        "length of a counting interval, s (typically 60, 300 or 900)"),
    KEY("traffic_incidents", CONF_BOOL, "true", traffic_incidents, 0, 0,
        "whether cameras report incidents now and then"),
    KEY("traffic_crash_after", CONF_MS, "0", traffic_crash_after_ms, 0, 31536000000.0,
        "demo: the first camera reports an accident this long after the start (0: never)"),
    KEY("larva_kelurahan", CONF_STR, "", larva_kelurahan, 0, 0,
        "kelurahan codes whose houses are inspected, separated by spaces or commas; all: 56"),
    KEY("larva_houses", CONF_INT, "100", larva_houses, 1, 1000000,
        "houses per kelurahan, each inspected once a week"),
    KEY("larva_rw", CONF_INT, "12", larva_rw, 1, 999, "RW per kelurahan"),
    KEY("larva_rt", CONF_INT, "8", larva_rt, 1, 999, "RT per RW"),
    CONF_END,
};

enum sim_kind {
    SIM_FLOOD,
    SIM_TRAFFIC,
    SIM_LARVA,
};

struct sim_rng {
    uint64_t s[4];
};

struct sim_flood {
    double baseline_cm;
    double offset_cm;
    bool in_wave;
    int64_t wave_start_ms;       /* simulated wall ms */
    double wave_amp_cm;
    int64_t wave_rise_ms;
    int64_t wave_fall_ms;
    double rain_mm_h;
    int64_t next_wave_ms;
    bool has_prev;
    int64_t prev_ms;
    double prev_level_cm;        /* without noise */
    int64_t wave_t0_ms;          /* flood_wave_period: the first reading's time */
};

struct sim_traffic {
    int lane;                    /* index into lanes */
    double capacity_vph;
    double free_speed_kmh;
    bool incident_active;
    char incident_id[MSG_EVENT_ID_MAX + 1];
    enum msg_incident_type incident_type;
    int64_t incident_start_ms;
    int64_t incident_end_ms;     /* planned */
    double incident_confidence;
    bool incident_pending;       /* an incident reading is due after this tick's counts */
    enum msg_incident_state incident_state;
    bool crash_planned;          /* traffic_crash_after: this lane's accident is still to come */
};

struct sim_larva {
    char kelurahan[MSG_KELURAHAN_LEN + 1];
    double positive_share;       /* share of houses with larvae, 0.05 to 0.15 */
};

/* One thing that makes readings: a gauge, a camera's lane, a kelurahan. */
struct sim_unit {
    enum sim_kind kind;
    char station[MSG_ID_MAX + 1];
    int64_t next_us;             /* due, in us since the first poll */
    int64_t interval_us;
    union {
        struct sim_flood flood;
        struct sim_traffic traffic;
        struct sim_larva larva;
    } u;
};

struct sim_state {
    struct sim_config conf;
    const struct agent_emit *emit;   /* borrowed for the source's lifetime */
    struct sim_rng rng;
    char lanes[SIM_LANES_MAX][MSG_LANE_MAX + 1];
    size_t n_lanes;
    struct sim_unit *units;
    size_t n_units;
    size_t turn;                     /* rate mode: the unit whose turn it is */
    bool started;
    int64_t t0_mono_ms;
    int64_t t0_wall_ms;
    int64_t rate_next_us;            /* rate mode: next reading due */
    double rate_step_us;
    double rate_acc_us;
    uint64_t made;                   /* readings emitted (accepted or not) */
    uint64_t refused;                /* emit said no */
    uint64_t incident_counter;
};

/* ---- the generator: xoshiro256** seeded by splitmix64 (public-domain algorithms) ---- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z;

    *x += UINT64_C(0x9e3779b97f4a7c15);
    z = *x;
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static void rng_seed(struct sim_rng *r, uint64_t seed)
{
    uint64_t x = seed;

    for (int i = 0; i < 4; i++) {
        r->s[i] = splitmix64(&x);
    }
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct sim_rng *r)
{
    uint64_t result = rotl(r->s[1] * 5, 7) * 9;
    uint64_t t = r->s[1] << 17;

    r->s[2] ^= r->s[0];
    r->s[3] ^= r->s[1];
    r->s[1] ^= r->s[2];
    r->s[0] ^= r->s[3];
    r->s[2] ^= t;
    r->s[3] = rotl(r->s[3], 45);
    return result;
}

/* Uniform in [0, 1). */
static double rng_unit(struct sim_rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static double rng_range(struct sim_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * rng_unit(r);
}

/* Uniform integer in [lo, hi]. */
static int64_t rng_int(struct sim_rng *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(rng_unit(r) * (double)(hi - lo + 1));
}

static bool rng_chance(struct sim_rng *r, double p)
{
    return rng_unit(r) < p;
}

/* About normal, mean 0 and deviation 1 (the sum of four uniforms: cheap, bounded). */
static double rng_normal(struct sim_rng *r)
{
    return (rng_unit(r) + rng_unit(r) + rng_unit(r) + rng_unit(r) - 2.0) * 1.7320508075688772;
}

static double rng_exponential(struct sim_rng *r, double mean)
{
    return -mean * log(1.0 - rng_unit(r));
}

/* v rounded to `decimals` decimals, as the nearest double to the decimal (so that it prints
 * short: 357.7, not 357.70000000000005). */
static double round_dec(double v, int decimals)
{
    double scale = 1;

    for (int i = 0; i < decimals; i++) {
        scale *= 10;
    }
    return round(v * scale) / scale;
}

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* ---- configuration ---- */

/* Splits a list value into items of at most itemsize - 1 bytes; calls fn for each. */
static int list_each(const char *list, const char *key, char *err, size_t errlen,
                     int (*fn)(void *ctx, const char *item, char *err, size_t errlen), void *ctx)
{
    char item[SIM_LIST_MAX];
    size_t i = 0;
    int rc;

    while (list[i] != '\0') {
        size_t n = 0;

        while (list[i] == ' ' || list[i] == ',' || list[i] == '\t') {
            i++;
        }
        while (list[i] != '\0' && list[i] != ' ' && list[i] != ',' && list[i] != '\t') {
            item[n++] = list[i++];
        }
        item[n] = '\0';
        if (n == 0) {
            continue;
        }
        rc = fn(ctx, item, err, errlen);
        if (rc != MSG_OK) {
            size_t used = strlen(err);

            snprintf(err + used, errlen > used ? errlen - used : 0, " (key %s)", key);
            return rc;
        }
    }
    return MSG_OK;
}

struct list_count {
    size_t n;
    size_t max;
    int what;                /* 0: station id, 1: lane, 2: kelurahan code */
};

static int check_item(void *ctx, const char *item, char *err, size_t errlen)
{
    struct list_count *lc = ctx;
    size_t len = strlen(item);

    if (lc->what == 0 && !msg_id_valid(item, len)) {
        snprintf(err, errlen, "simulator: '%.64s' is not a station id", item);
        return MSG_ERR_CONFIG;
    }
    if (lc->what == 1 && (len > MSG_LANE_MAX || !msg_id_valid(item, len))) {
        snprintf(err, errlen, "simulator: '%.64s' is not a lane", item);
        return MSG_ERR_CONFIG;
    }
    if (lc->what == 2 && strcmp(item, "all") == 0) {
        lc->n += msg_kelurahan_count() - 1;   /* and one more below */
    } else if (lc->what == 2 && !msg_kelurahan_valid(item, len)) {
        snprintf(err, errlen, "simulator: '%.64s' is not a kelurahan code of Kota Bekasi", item);
        return MSG_ERR_CONFIG;
    }
    lc->n++;
    if (lc->n > lc->max) {
        snprintf(err, errlen, "simulator: more than %zu items", lc->max);
        return MSG_ERR_CONFIG;
    }
    return MSG_OK;
}

static int sim_check(const void *confp, char *err, size_t errlen)
{
    const struct sim_config *c = confp;
    struct list_count flood = {0, SIM_STATIONS_MAX, 0};
    struct list_count traffic = {0, SIM_STATIONS_MAX, 0};
    struct list_count lanes = {0, SIM_LANES_MAX, 1};
    struct list_count kel = {0, SIM_KELURAHAN_MAX, 2};
    int64_t start_ms;
    int rc;

    if (c->start[0] != '\0' &&
        msg_time_parse(c->start, strlen(c->start), &start_ms, err, errlen) != MSG_OK) {
        size_t used = strlen(err);

        snprintf(err + used, errlen > used ? errlen - used : 0, " (key start)");
        return MSG_ERR_CONFIG;
    }
    rc = list_each(c->flood_stations, "flood_stations", err, errlen, check_item, &flood);
    if (rc != MSG_OK) {
        return rc;
    }
    rc = list_each(c->traffic_stations, "traffic_stations", err, errlen, check_item, &traffic);
    if (rc != MSG_OK) {
        return rc;
    }
    rc = list_each(c->traffic_lanes, "traffic_lanes", err, errlen, check_item, &lanes);
    if (rc != MSG_OK) {
        return rc;
    }
    rc = list_each(c->larva_kelurahan, "larva_kelurahan", err, errlen, check_item, &kel);
    if (rc != MSG_OK) {
        return rc;
    }
    if (traffic.n > 0 && lanes.n == 0) {
        snprintf(err, errlen, "simulator: traffic_lanes: at least one lane is needed");
        return MSG_ERR_CONFIG;
    }
    if (flood.n + traffic.n + kel.n == 0) {
        snprintf(err, errlen, "simulator: nothing to simulate: set flood_stations, "
                              "traffic_stations or larva_kelurahan");
        return MSG_ERR_CONFIG;
    }
    if (c->flood_baseline_cm + 400 > c->flood_offset_cm) {
        snprintf(err, errlen, "simulator: flood_offset_cm: %g leaves no room above the "
                              "baseline %g for flood waves (needs 400 cm more)",
                 c->flood_offset_cm, c->flood_baseline_cm);
        return MSG_ERR_CONFIG;
    }
    if (c->flood_wave_period_ms > 0 &&
        (c->flood_wave_peak_cm <= c->flood_baseline_cm ||
         c->flood_wave_peak_cm > c->flood_offset_cm - 20)) {
        snprintf(err, errlen, "simulator: flood_wave_peak_cm: %g must lie above the baseline %g "
                              "and at least 20 cm under flood_offset_cm %g",
                 c->flood_wave_peak_cm, c->flood_baseline_cm, c->flood_offset_cm);
        return MSG_ERR_CONFIG;
    }
    return MSG_OK;
}

/* ---- building the units ---- */

struct unit_builder {
    struct sim_state *st;
    enum sim_kind kind;
};

static void flood_init(struct sim_state *st, struct sim_unit *u)
{
    struct sim_flood *f = &u->u.flood;

    f->baseline_cm = st->conf.flood_baseline_cm + rng_range(&st->rng, -20, 20);
    if (st->conf.flood_wave_period_ms > 0) {
        f->baseline_cm = st->conf.flood_baseline_cm;   /* the fixed wave's levels are exact */
    }
    f->offset_cm = st->conf.flood_offset_cm;
    f->in_wave = false;
    f->next_wave_ms = -1;        /* set at the first sample: relative to the simulated clock */
    f->has_prev = false;
    u->interval_us = st->conf.flood_interval_ms * 1000;
}

static int add_unit(void *ctx, const char *item, char *err, size_t errlen)
{
    struct unit_builder *b = ctx;
    struct sim_state *st = b->st;
    struct sim_unit *u;

    (void)err;
    (void)errlen;
    if (b->kind == SIM_LARVA && strcmp(item, "all") == 0) {
        for (size_t i = 0; i < msg_kelurahan_count(); i++) {
            add_unit(ctx, msg_kelurahan_code(i), err, errlen);
        }
        return MSG_OK;
    }
    if (b->kind == SIM_TRAFFIC) {
        for (size_t lane = 0; lane < st->n_lanes; lane++) {
            u = &st->units[st->n_units++];
            memset(u, 0, sizeof(*u));
            u->kind = SIM_TRAFFIC;
            snprintf(u->station, sizeof(u->station), "%s", item);
            u->u.traffic.lane = (int)lane;
            u->u.traffic.crash_planned = st->conf.traffic_crash_after_ms > 0 && st->n_units == 1;
            u->u.traffic.capacity_vph = rng_range(&st->rng, 1400, 2200);
            u->u.traffic.free_speed_kmh = rng_range(&st->rng, 45, 65);
            u->interval_us = st->conf.traffic_interval_s * 1000000;
        }
        return MSG_OK;
    }
    u = &st->units[st->n_units++];
    memset(u, 0, sizeof(*u));
    u->kind = b->kind;
    if (b->kind == SIM_FLOOD) {
        snprintf(u->station, sizeof(u->station), "%s", item);
        flood_init(st, u);
    } else {
        snprintf(u->u.larva.kelurahan, sizeof(u->u.larva.kelurahan), "%s", item);
        u->u.larva.positive_share = rng_range(&st->rng, 0.05, 0.15);
        u->interval_us = SIM_WEEK_MS * 1000 / st->conf.larva_houses;
        if (u->interval_us < 1) {
            u->interval_us = 1;
        }
    }
    return MSG_OK;
}

static int add_lane(void *ctx, const char *item, char *err, size_t errlen)
{
    struct sim_state *st = ctx;

    (void)err;
    (void)errlen;
    snprintf(st->lanes[st->n_lanes++], MSG_LANE_MAX + 1, "%s", item);
    return MSG_OK;
}

static void sim_close(void *state)
{
    struct sim_state *st = state;

    if (st == NULL) {
        return;
    }
    if (st->made > 0) {
        log_msg(LOG_INFO, "simulator: stopped after %llu readings, %llu refused",
                (unsigned long long)st->made, (unsigned long long)st->refused);
    }
    free(st->units);
    free(st);
}

static int sim_open(void **state, const void *confp, const struct agent_emit *emit, char *err,
                    size_t errlen)
{
    struct sim_state *st = NULL;
    struct unit_builder b;
    size_t max_units = SIM_STATIONS_MAX + SIM_STATIONS_MAX * SIM_LANES_MAX + SIM_KELURAHAN_MAX;
    int rc;

    *state = NULL;
    rc = sim_check(confp, err, errlen);
    if (rc != MSG_OK) {
        goto fail;
    }
    st = calloc(1, sizeof(*st));
    if (st == NULL) {
        rc = MSG_ERR_NOMEM;
        snprintf(err, errlen, "simulator: out of memory");
        goto fail;
    }
    memcpy(&st->conf, confp, sizeof(st->conf));
    st->emit = emit;
    rng_seed(&st->rng, (uint64_t)st->conf.seed);
    st->units = calloc(max_units, sizeof(*st->units));
    if (st->units == NULL) {
        rc = MSG_ERR_NOMEM;
        snprintf(err, errlen, "simulator: out of memory");
        goto fail;
    }
    list_each(st->conf.traffic_lanes, "traffic_lanes", err, errlen, add_lane, st);
    b.st = st;
    b.kind = SIM_FLOOD;
    list_each(st->conf.flood_stations, "flood_stations", err, errlen, add_unit, &b);
    b.kind = SIM_TRAFFIC;
    list_each(st->conf.traffic_stations, "traffic_stations", err, errlen, add_unit, &b);
    b.kind = SIM_LARVA;
    list_each(st->conf.larva_kelurahan, "larva_kelurahan", err, errlen, add_unit, &b);
    if (st->conf.rate > 0) {
        st->rate_step_us = 1e6 / st->conf.rate;
    }
    *state = st;
    return MSG_OK;
fail:
    sim_close(st);
    return rc;
}

/* ---- the models ---- */

static double flood_wave_cm(const struct sim_flood *f, int64_t t_ms)
{
    double x;

    if (!f->in_wave || t_ms < f->wave_start_ms) {
        return 0;
    }
    t_ms -= f->wave_start_ms;
    if (t_ms < f->wave_rise_ms) {
        x = (double)t_ms / (double)f->wave_rise_ms;
        return f->wave_amp_cm * (1 - cos(M_PI * x)) / 2;
    }
    x = (double)(t_ms - f->wave_rise_ms) / (double)f->wave_fall_ms;
    if (x >= 1) {
        return 0;
    }
    return f->wave_amp_cm * (1 - x) * (1 - x);
}

/* flood_wave_period: the fixed wave's level (without noise) t_ms after its start. */
static double flood_fixed_wave_cm(const struct sim_state *st, const struct sim_flood *f,
                                  int64_t t_ms)
{
    int64_t period = st->conf.flood_wave_period_ms;
    double x = (double)(t_ms % period) / (double)period;
    double span = st->conf.flood_wave_peak_cm - f->baseline_cm;

    if (x < 0.25) {
        return f->baseline_cm + span * x * 4;
    }
    if (x < 0.5) {
        return st->conf.flood_wave_peak_cm;
    }
    if (x < 0.75) {
        return st->conf.flood_wave_peak_cm - span * (x - 0.5) * 4;
    }
    return f->baseline_cm;
}

static void flood_advance(struct sim_state *st, struct sim_flood *f, int64_t t_ms)
{
    double mean_ms = (double)st->conf.flood_wave_every_ms;

    if (f->next_wave_ms < 0) {
        f->next_wave_ms = t_ms + (int64_t)rng_exponential(&st->rng, mean_ms);
    }
    if (f->in_wave && t_ms >= f->wave_start_ms + f->wave_rise_ms + f->wave_fall_ms) {
        f->in_wave = false;
        f->next_wave_ms = t_ms + (int64_t)rng_exponential(&st->rng, mean_ms);
    }
    if (!f->in_wave && t_ms >= f->next_wave_ms) {
        double rise_cm_h = rng_range(&st->rng, 80, 200);

        f->in_wave = true;
        f->wave_start_ms = t_ms;
        f->wave_amp_cm = rng_range(&st->rng, 100, 330);
        f->wave_rise_ms = (int64_t)(f->wave_amp_cm / rise_cm_h * 3600000.0);
        f->wave_fall_ms = (int64_t)((double)f->wave_rise_ms * rng_range(&st->rng, 4, 8));
        f->rain_mm_h = rng_range(&st->rng, 10, 60);
    }
}

static void make_flood(struct sim_state *st, struct sim_unit *u, int64_t t_ms,
                       struct msg_event *ev)
{
    struct sim_flood *f = &u->u.flood;
    struct msg_flood *fl = &ev->u.flood;
    double level;
    double noisy;
    double day;
    bool raining;

    if (st->conf.flood_wave_period_ms > 0) {
        if (!f->has_prev) {
            f->wave_t0_ms = t_ms;
        }
        level = flood_fixed_wave_cm(st, f, t_ms - f->wave_t0_ms);
        /* rain while the water rises */
        raining = (t_ms - f->wave_t0_ms) % st->conf.flood_wave_period_ms <
                  st->conf.flood_wave_period_ms / 4;
        f->rain_mm_h = 40;
    } else {
        flood_advance(st, f, t_ms);
        level = f->baseline_cm + flood_wave_cm(f, t_ms);
        raining = f->in_wave && t_ms < f->wave_start_ms + f->wave_rise_ms * 3 / 2;
    }
    noisy = clamp(level + 0.6 * rng_normal(&st->rng), 0, f->offset_cm - 20);
    ev->stream = MSG_STREAM_FLOOD;
    snprintf(fl->station, sizeof(fl->station), "%s", u->station);
    fl->has_distance = true;
    fl->offset_cm = f->offset_cm;
    fl->distance_cm = round_dec(f->offset_cm - noisy, 1);
    fl->has_level = true;
    fl->level_cm = round_dec(f->offset_cm - fl->distance_cm, 1);
    if (f->has_prev && t_ms > f->prev_ms) {
        fl->has_rise = true;
        fl->rise_cm_h = round_dec(clamp((level - f->prev_level_cm) /
                                           ((double)(t_ms - f->prev_ms) / 3600000.0),
                                       -10000, 10000),
                                 1);
        if (fl->rise_cm_h == 0) {
            fl->rise_cm_h = 0;   /* never -0 */
        }
    }
    if (raining && f->has_prev) {
        double hours = (double)(t_ms - f->prev_ms) / 3600000.0;

        fl->has_rain = true;
        fl->rain_mm = round_dec(clamp(f->rain_mm_h * hours * rng_range(&st->rng, 0.5, 1.5),
                                     0, 1000),
                               1);
    }
    /* A solar-charged battery: highest in the afternoon (WIB), lowest before dawn. */
    day = sin(2 * M_PI * (double)((t_ms + SIM_WIB_MS - 6 * 3600000) % 86400000) / 86400000.0);
    fl->has_battery = true;
    fl->battery_v = round_dec(12.5 + 0.6 * day + 0.02 * rng_normal(&st->rng), 2);
    f->has_prev = true;
    f->prev_ms = t_ms;
    f->prev_level_cm = level;
}

/* Demand over capacity across the day, WIB hours h in [0, 24): a night floor, the day, and the
 * rush hours 07-09 and 16-19. */
static double traffic_profile(double h)
{
    double day = (h >= 5 && h <= 23) ? sin(M_PI * (h - 5) / 18) : 0;
    double morning = exp(-0.5 * ((h - 7.9) / 0.7) * ((h - 7.9) / 0.7));
    double evening = exp(-0.5 * ((h - 17.5) / 1.0) * ((h - 17.5) / 1.0));

    return 0.06 + 0.45 * day + 0.45 * morning + 0.42 * evening;
}

static const double vclass_share[MSG_VCLASS_COUNT] = {
    [MSG_VCLASS_MOTORCYCLE] = 0.68,
    [MSG_VCLASS_CAR] = 0.24,
    [MSG_VCLASS_BUS] = 0.015,
    [MSG_VCLASS_TRUCK] = 0.045,
    [MSG_VCLASS_NONMOTOR] = 0.02,
};

/* traffic_crash_after: the planned accident begins at t_ms on this lane. */
static void crash_begin(struct sim_state *st, struct sim_traffic *tr, int64_t t_ms)
{
    tr->crash_planned = false;
    tr->incident_active = true;
    tr->incident_pending = true;
    tr->incident_state = MSG_INCIDENT_NEW;
    tr->incident_type = MSG_INCIDENT_ACCIDENT;
    tr->incident_start_ms = t_ms;
    tr->incident_end_ms = t_ms + SIM_CRASH_MS;
    tr->incident_confidence = 0.9;
    st->incident_counter++;
    snprintf(tr->incident_id, sizeof(tr->incident_id), "%lld.000000-crash%llu",
             (long long)(t_ms / 1000), (unsigned long long)st->incident_counter % 10);
}

static void make_traffic(struct sim_state *st, struct sim_unit *u, int64_t t_ms,
                         struct msg_event *ev)
{
    struct sim_traffic *tr = &u->u.traffic;
    struct msg_traffic *tc = &ev->u.traffic;
    int64_t interval_ms = st->conf.traffic_interval_s * 1000;
    int64_t start_ms = t_ms - interval_ms;
    double h = (double)((start_ms + SIM_WIB_MS) % 86400000) / 3600000.0;
    double x = traffic_profile(h) * rng_range(&st->rng, 0.9, 1.1);
    double mean;
    double speed;

    if (start_ms < 0) {
        start_ms = 0;
    }
    if (tr->incident_active) {
        x *= 1.15;   /* an incident holds traffic up */
    }
    mean = tr->capacity_vph * x * (double)st->conf.traffic_interval_s / 3600.0;
    ev->stream = MSG_STREAM_TRAFFIC;
    ev->env.ts_ms = start_ms;
    snprintf(tc->station, sizeof(tc->station), "%s", u->station);
    snprintf(tc->lane, sizeof(tc->lane), "%s", st->lanes[tr->lane]);
    tc->interval_s = (int)st->conf.traffic_interval_s;
    for (int c = 0; c < MSG_VCLASS_COUNT; c++) {
        double m = mean * vclass_share[c];
        double n = m + sqrt(m) * rng_normal(&st->rng);

        tc->counts[c] = (int64_t)clamp(round(n), 0, 1000000);
    }
    speed = tr->free_speed_kmh * (1 - 0.85 * clamp(x, 0, 1.05) * clamp(x, 0, 1.05));
    tc->has_speed = true;
    tc->speed_kmh = round_dec(clamp(speed + 1.5 * rng_normal(&st->rng), 3, 120), 1);
    tc->has_occupancy = true;
    tc->occupancy_pct = round_dec(clamp(100 * (0.05 + 0.6 * x * x) + rng_normal(&st->rng),
                                       0, 98),
                                 1);
    tc->has_queue = true;
    tc->queue_m = x > 0.75 ? round(clamp((x - 0.75) * 900 + 20 * rng_normal(&st->rng), 0, 2000))
                           : 0;

    /* Incidents: rare, likelier in heavy traffic; updates while they last, then the end. */
    tr->incident_pending = false;
    if (tr->crash_planned && !tr->incident_active &&
        t_ms >= st->t0_wall_ms + st->conf.traffic_crash_after_ms) {
        crash_begin(st, tr, t_ms);
        return;
    }
    if (!st->conf.traffic_incidents && !tr->incident_active) {
        return;   /* (an accident of traffic_crash_after still runs its course) */
    }
    if (tr->incident_active) {
        tr->incident_pending = true;
        if (t_ms >= tr->incident_end_ms) {
            tr->incident_state = MSG_INCIDENT_END;
        } else if (rng_chance(&st->rng, 0.5)) {
            tr->incident_state = MSG_INCIDENT_UPDATE;
        } else {
            tr->incident_pending = false;
        }
    } else if (rng_chance(&st->rng, x > 0.9 ? 0.02 : 0.005)) {
        static const enum msg_incident_type types[] = {
            MSG_INCIDENT_CONGESTION, MSG_INCIDENT_CONGESTION, MSG_INCIDENT_STALLED_VEHICLE,
            MSG_INCIDENT_STALLED_VEHICLE, MSG_INCIDENT_ACCIDENT, MSG_INCIDENT_ILLEGAL_PARKING,
            MSG_INCIDENT_ILLEGAL_PARKING, MSG_INCIDENT_WRONG_WAY, MSG_INCIDENT_ROAD_FLOODING,
            MSG_INCIDENT_OTHER,
        };
        static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
        char tag[7];

        for (size_t i = 0; i < 6; i++) {
            tag[i] = alnum[rng_int(&st->rng, 0, 35)];
        }
        tag[6] = '\0';
        tr->incident_active = true;
        tr->incident_pending = true;
        tr->incident_state = MSG_INCIDENT_NEW;
        tr->incident_type = types[rng_int(&st->rng, 0, (int64_t)(sizeof(types) /
                                                                 sizeof(types[0])) - 1)];
        tr->incident_start_ms = t_ms - rng_int(&st->rng, 0, interval_ms);
        tr->incident_end_ms = t_ms + rng_int(&st->rng, 5 * 60000, 60 * 60000);
        tr->incident_confidence = rng_range(&st->rng, 0.55, 0.95);
        st->incident_counter++;
        snprintf(tr->incident_id, sizeof(tr->incident_id), "%lld.%06lld-%s",
                 (long long)(tr->incident_start_ms / 1000),
                 (long long)(rng_int(&st->rng, 0, 999999)), tag);
    }
}

static void make_incident(struct sim_state *st, struct sim_unit *u, int64_t t_ms,
                          struct msg_event *ev)
{
    struct sim_traffic *tr = &u->u.traffic;
    struct msg_incident *in = &ev->u.incident;

    ev->stream = MSG_STREAM_INCIDENT;
    ev->env.ts_ms = tr->incident_state == MSG_INCIDENT_NEW ? tr->incident_start_ms : t_ms;
    snprintf(in->station, sizeof(in->station), "%s", u->station);
    snprintf(in->event, sizeof(in->event), "%s", tr->incident_id);
    in->state = tr->incident_state;
    in->type = tr->incident_type;
    in->start_ms = tr->incident_start_ms;
    if (tr->incident_state == MSG_INCIDENT_END) {
        in->has_end = true;
        in->end_ms = t_ms;
        tr->incident_active = false;
    }
    tr->incident_confidence = clamp(tr->incident_confidence + rng_range(&st->rng, -0.03, 0.05),
                                    0.5, 0.99);
    in->has_confidence = true;
    in->confidence = round_dec(tr->incident_confidence, 2);
    snprintf(in->snapshot, sizeof(in->snapshot), "sim://%s/%s.jpg", u->station,
             tr->incident_id);
    snprintf(in->lane, sizeof(in->lane), "%s", st->lanes[tr->lane]);
}

/* Containers a Bekasi house may have, how likely, how many of them at most. */
struct container_kind {
    enum msg_container_type type;
    enum msg_container_location location;
    double present;
    int max;
};

static const struct container_kind containers[] = {
    {MSG_CONTAINER_BATH_TUB, MSG_LOCATION_INDOOR, 0.85, 1},
    {MSG_CONTAINER_WC_TUB, MSG_LOCATION_INDOOR, 0.30, 1},
    {MSG_CONTAINER_BUCKET, MSG_LOCATION_INDOOR, 0.50, 3},
    {MSG_CONTAINER_BUCKET, MSG_LOCATION_OUTDOOR, 0.35, 3},
    {MSG_CONTAINER_DRUM, MSG_LOCATION_OUTDOOR, 0.25, 2},
    {MSG_CONTAINER_JAR, MSG_LOCATION_INDOOR, 0.20, 2},
    {MSG_CONTAINER_TANK, MSG_LOCATION_OUTDOOR, 0.15, 1},
    {MSG_CONTAINER_DISPENSER_TRAY, MSG_LOCATION_INDOOR, 0.35, 1},
    {MSG_CONTAINER_FRIDGE_TRAY, MSG_LOCATION_INDOOR, 0.40, 1},
    {MSG_CONTAINER_FLOWER_VASE, MSG_LOCATION_INDOOR, 0.25, 3},
    {MSG_CONTAINER_BIRD_DISH, MSG_LOCATION_OUTDOOR, 0.15, 2},
    {MSG_CONTAINER_USED_GOODS, MSG_LOCATION_OUTDOOR, 0.30, 6},
    {MSG_CONTAINER_TREE_HOLE, MSG_LOCATION_OUTDOOR, 0.05, 1},
    {MSG_CONTAINER_LEAF_AXIL, MSG_LOCATION_OUTDOOR, 0.05, 2},
    {MSG_CONTAINER_COCONUT_SHELL, MSG_LOCATION_OUTDOOR, 0.04, 2},
};

static const char *const streets[] = {
    "Melati", "Mawar", "Kenanga", "Cempaka", "Anggrek", "Flamboyan", "Dahlia", "Kamboja",
    "Nusantara", "Pahlawan", "Merdeka", "Raya Narogong", "Cut Mutia", "Pramuka",
};

static void make_larva(struct sim_state *st, struct sim_unit *u, int64_t t_ms,
                       struct msg_event *ev)
{
    struct msg_larva *lv = &ev->u.larva;
    double b = rng_unit(&st->rng);
    int scale = 1;
    size_t n = 0;

    ev->stream = MSG_STREAM_LARVA;
    ev->env.ts_ms = t_ms;
    snprintf(lv->kelurahan, sizeof(lv->kelurahan), "%s", u->u.larva.kelurahan);
    lv->rw = (int)rng_int(&st->rng, 1, st->conf.larva_rw);
    lv->rt = (int)rng_int(&st->rng, 1, st->conf.larva_rt);
    /* One Jumantik coordinator per RW: the id says kelurahan and RW, never a name. */
    snprintf(lv->inspector, sizeof(lv->inspector), "jmt-%s-%03d", u->u.larva.kelurahan + 9,
             lv->rw);
    if (b < 0.90) {
        lv->building = MSG_BUILDING_HOUSE;
    } else if (b < 0.96) {
        lv->building = MSG_BUILDING_PUBLIC_PLACE;
        scale = 3;
    } else {
        lv->building = MSG_BUILDING_INSTITUTION;
        scale = 4;
    }
    if (rng_chance(&st->rng, 0.5)) {
        snprintf(lv->address, sizeof(lv->address), "Jl. %s No. %d",
                 streets[rng_int(&st->rng, 0, (int64_t)(sizeof(streets) / sizeof(streets[0])) -
                                                  1)],
                 (int)rng_int(&st->rng, 1, 150));
    }
    if (rng_chance(&st->rng, 0.7)) {
        lv->has_gps = true;
        lv->lat = round_dec(rng_range(&st->rng, -6.38, -6.17), 5);
        lv->lon = round_dec(rng_range(&st->rng, 106.90, 107.05), 5);
    }
    for (size_t i = 0; i < sizeof(containers) / sizeof(containers[0]); i++) {
        if (rng_chance(&st->rng, containers[i].present)) {
            struct msg_container *c = &lv->containers[n++];

            c->type = containers[i].type;
            c->location = containers[i].location;
            c->inspected = (int)rng_int(&st->rng, 1, containers[i].max * scale);
            c->positive = 0;
        }
    }
    if (n == 0) {
        lv->containers[0].type = MSG_CONTAINER_BATH_TUB;
        lv->containers[0].location = MSG_LOCATION_INDOOR;
        lv->containers[0].inspected = 1;
        lv->containers[0].positive = 0;
        n = 1;
    }
    lv->n_containers = n;
    lv->larvae_found = false;
    if (rng_chance(&st->rng, u->u.larva.positive_share)) {
        int spots = rng_chance(&st->rng, 0.25) ? 2 : 1;

        for (int k = 0; k < spots; k++) {
            struct msg_container *c = &lv->containers[rng_int(&st->rng, 0, (int64_t)n - 1)];

            c->positive = (int)rng_int(&st->rng, 1, c->inspected);
        }
        lv->larvae_found = true;
    }
    lv->has_actions = true;
    lv->actions = 0;
    if (rng_chance(&st->rng, 0.7)) {
        lv->actions |= 1u << MSG_ACTION_DRAIN;
    }
    if (rng_chance(&st->rng, 0.5)) {
        lv->actions |= 1u << MSG_ACTION_COVER;
    }
    if (rng_chance(&st->rng, 0.3)) {
        lv->actions |= 1u << MSG_ACTION_RECYCLE;
    }
    if (lv->larvae_found && rng_chance(&st->rng, 0.5)) {
        lv->actions |= 1u << MSG_ACTION_LARVICIDE;
    }
    if (lv->larvae_found && rng_chance(&st->rng, 1)) {
        lv->actions |= 1u << MSG_ACTION_FISH;
    }
    if (rng_chance(&st->rng, 0.08)) {
        lv->actions |= 1u << MSG_ACTION_REPELLENT;
    }
}

/* ---- the poll loop ---- */

static bool done(const struct sim_state *st)
{
    return st->conf.count > 0 && st->made >= (uint64_t)st->conf.count;
}

static void emit_one(struct sim_state *st, struct msg_event *ev)
{
    char err[MSG_ERRLEN] = "";
    int rc;

    if (done(st)) {
        return;
    }
    if (st->emit->device_id != NULL) {
        snprintf(ev->device_id, sizeof(ev->device_id), "%s", st->emit->device_id);
    }
    st->made++;
    rc = st->emit->fn(st->emit->ctx, ev, err, sizeof(err));
    if (rc != MSG_OK) {
        st->refused++;
        log_msg(LOG_DEBUG, "simulator: %s reading refused: %s", msg_stream_name(ev->stream),
                err);
    }
}

/* One sample of unit u at simulated wall time t_ms: one reading, or two (counts and an
 * incident). */
static void sample(struct sim_state *st, struct sim_unit *u, int64_t t_ms)
{
    struct msg_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.env.ts_ms = t_ms;
    switch (u->kind) {
    case SIM_FLOOD:
        make_flood(st, u, t_ms, &ev);
        emit_one(st, &ev);
        break;
    case SIM_TRAFFIC:
        make_traffic(st, u, t_ms, &ev);
        emit_one(st, &ev);
        if (u->u.traffic.incident_pending) {
            memset(&ev, 0, sizeof(ev));
            make_incident(st, u, t_ms, &ev);
            emit_one(st, &ev);
        }
        break;
    case SIM_LARVA:
        make_larva(st, u, t_ms, &ev);
        emit_one(st, &ev);
        break;
    }
}

static void start(struct sim_state *st, int64_t now_ms)
{
    struct agent_clock_now clk;
    char err[MSG_ERRLEN];

    st->started = true;
    st->t0_mono_ms = now_ms;
    agent_clock_read(AGENT_CLOCK_AUTO, &clk);
    st->t0_wall_ms = clk.wall_ms;
    if (st->conf.start[0] != '\0') {
        /* checked by sim_check at open: it parses */
        msg_time_parse(st->conf.start, strlen(st->conf.start), &st->t0_wall_ms, err,
                       sizeof(err));
    }
    for (size_t i = 0; i < st->n_units; i++) {
        struct sim_unit *u = &st->units[i];

        if (u->kind == SIM_TRAFFIC) {
            /* The first count comes when the first whole interval on the wall clock ends. */
            int64_t iv = st->conf.traffic_interval_s * 1000;

            u->next_us = (iv - st->t0_wall_ms % iv) * 1000;
        } else if (u->kind == SIM_LARVA) {
            u->next_us = (int64_t)(rng_unit(&st->rng) * (double)u->interval_us);
        } else {
            u->next_us = 0;   /* a gauge reads at once */
        }
    }
    st->rate_next_us = 0;
}

/* The wall time of a sample due at due_us (us since the first poll): with `start`, simulated
 * time (only the seed, the config and the poll times decide it); without, the real clock as
 * the sample is made, however late it is (the readings follow the clock when it is set, NTP
 * after a boot without a real-time clock). A traffic count on its interval is stamped with
 * the interval that ended last on the wall clock (make_traffic takes the end). */
static int64_t sample_wall_ms(const struct sim_state *st, const struct sim_unit *u,
                              int64_t due_us)
{
    struct agent_clock_now clk;

    if (st->conf.start[0] != '\0') {
        return st->t0_wall_ms + due_us / 1000;
    }
    agent_clock_read(AGENT_CLOCK_AUTO, &clk);
    if (u->kind == SIM_TRAFFIC && st->conf.rate <= 0) {
        int64_t iv = st->conf.traffic_interval_s * 1000;
        /* the poll is due at the boundary on the monotonic clock, which may wake a hair
         * before it on the wall clock: that is still the interval that ends now, not the one
         * before (which would stamp this count an interval early, on the previous one's) */
        int64_t w = clk.wall_ms + (iv / 2 < SIM_WAKE_EARLY_MS ? iv / 2 : SIM_WAKE_EARLY_MS);

        return w - w % iv;
    }
    return clk.wall_ms;
}

static int sim_poll(void *state, int64_t now_ms, struct agent_source_wait *wait, char *err,
                    size_t errlen)
{
    struct sim_state *st = state;
    int64_t now_us;
    int64_t next_us = INT64_MAX;
    size_t batch = 0;

    (void)err;
    (void)errlen;
    wait->fd = -1;
    wait->next_ms = INT64_MAX;
    if (!st->started) {
        start(st, now_ms);
    }
    now_us = (now_ms - st->t0_mono_ms) * 1000;
    if (st->conf.rate > 0) {
        while (!done(st) && st->rate_next_us <= now_us && batch < SIM_BATCH_MAX) {
            struct sim_unit *u = &st->units[st->turn];

            st->turn = (st->turn + 1) % st->n_units;
            sample(st, u, sample_wall_ms(st, u, st->rate_next_us));
            st->rate_acc_us += st->rate_step_us;
            st->rate_next_us += (int64_t)st->rate_acc_us;
            st->rate_acc_us -= (double)(int64_t)st->rate_acc_us;
            batch++;
        }
        next_us = st->rate_next_us;
    } else {
        for (;;) {
            struct sim_unit *due = NULL;

            for (size_t i = 0; i < st->n_units; i++) {
                if (due == NULL || st->units[i].next_us < due->next_us) {
                    due = &st->units[i];
                }
            }
            if (due == NULL || done(st)) {
                break;
            }
            if (due->next_us > now_us || batch >= SIM_BATCH_MAX) {
                next_us = due->next_us;
                break;
            }
            sample(st, due, sample_wall_ms(st, due, due->next_us));
            due->next_us += due->interval_us;
            if (st->conf.start[0] == '\0' && due->next_us <= now_us) {
                /* missed samples are not made up with readings stamped now */
                due->next_us += ((now_us - due->next_us) / due->interval_us + 1) *
                                due->interval_us;
            }
            batch++;
        }
    }
    if (!done(st) && next_us != INT64_MAX) {
        int64_t ms = st->t0_mono_ms + (next_us + 999) / 1000;

        wait->next_ms = ms > now_ms ? ms : now_ms;
    }
    return MSG_OK;
}

const struct agent_source agent_source_simulator = {
    .name = "simulator",
    .summary = "realistic flood, traffic and larva readings for demos and load tests",
    .keys = sim_keys,
    .conf_size = sizeof(struct sim_config),
    .check = sim_check,
    .open = sim_open,
    .poll = sim_poll,
    .close = sim_close,
};
