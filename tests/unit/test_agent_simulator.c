/* test_agent_simulator.c -- the `simulator` source (edge-agent/source_simulator.c): every
 * reading passes the contract, the same seed gives the same readings, intervals, rate and count,
 * flood waves, rush hours, larva shares, and config errors naming the key. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent_source.h"
#include "conf.h"
#include "msg_clock.h"
#include "msg_err.h"
#include "msg_event.h"
#include "msg_hash.h"
#include "msg_time.h"
#include "tinytest.h"

extern const struct agent_source agent_source_simulator;

#define MAX_KEEP 20000

/* What the test's emit collects: one hash per reading (of its payload), and some figures. */
struct collect {
    uint64_t seq;
    size_t n;
    size_t invalid;
    char first_err[MSG_ERRLEN];
    size_t per_stream[MSG_STREAM_COUNT];
    uint64_t hashes[MAX_KEEP];
    struct msg_event *keep;      /* the first MAX_KEEP events, as emitted */
};

static int on_emit(void *ctx, const struct msg_event *in, char *err, size_t errlen)
{
    struct collect *c = ctx;
    struct msg_event ev = *in;
    char buf[MSG_PAYLOAD_MAX + 1];
    size_t len = 0;
    int rc;

    snprintf(ev.env.store_id, sizeof(ev.env.store_id), "6f1c2b0e-9a57-4d1e-8d0c-3a1f2e4b5c6d");
    ev.env.seq = ++c->seq;
    ev.env.clock_synced = true;
    if (ev.env.ts_ms == 0) {
        ev.env.ts_ms = 1767225600000;   /* what the agent would fill in */
    }
    rc = msg_event_validate(&ev, err, errlen);
    if (rc != MSG_OK) {
        if (c->invalid++ == 0) {
            snprintf(c->first_err, sizeof(c->first_err), "%s: %s", msg_stream_name(ev.stream),
                     err);
        }
        return rc;
    }
    if ((unsigned)ev.stream < MSG_STREAM_COUNT) {
        c->per_stream[ev.stream]++;
    }
    if (msg_event_encode(&ev, buf, sizeof(buf), &len) == MSG_OK && c->n < MAX_KEEP) {
        c->hashes[c->n] = msg_hash_bytes(MSG_HASH_INIT, buf, len);
        if (c->keep != NULL) {
            c->keep[c->n] = ev;
        }
    }
    c->n++;
    return MSG_OK;
}

/* Loads config text into a fresh config buffer of the source's size. */
static void *load_conf(const char *text, char *err, size_t errlen, int *rc)
{
    char path[] = "/tmp/test_agent_simulator_XXXXXX";
    void *conf = calloc(1, agent_source_simulator.conf_size);
    int fd = mkstemp(path);
    FILE *f;

    if (fd < 0 || conf == NULL) {
        *rc = MSG_ERR_IO;
        free(conf);
        return NULL;
    }
    f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    *rc = conf_load(path, agent_source_simulator.keys, conf, NULL, NULL, err, errlen);
    unlink(path);
    if (*rc == MSG_OK && agent_source_simulator.check != NULL) {
        *rc = agent_source_simulator.check(conf, err, errlen);
    }
    return conf;
}

/* Runs the source from config text, polling every step_ms from 0 until it stops or until_ms. */
static int run(const char *text, struct collect *c, int64_t step_ms, int64_t until_ms,
               int64_t *last_wait)
{
    char err[MSG_ERRLEN] = "";
    struct agent_emit emit = {on_emit, c, "gw-sim-01"};
    struct agent_source_wait w = {-1, 0};
    void *state = NULL;
    void *conf;
    int rc;

    conf = load_conf(text, err, sizeof(err), &rc);
    TEST_CHECK(rc == MSG_OK);
    TEST_MSG("config: %s", err);
    if (rc != MSG_OK) {
        free(conf);
        return rc;
    }
    rc = agent_source_simulator.open(&state, conf, &emit, err, sizeof(err));
    TEST_CHECK(rc == MSG_OK);
    TEST_MSG("open: %s", err);
    for (int64_t t = 0; rc == MSG_OK && t <= until_ms; t += step_ms) {
        rc = agent_source_simulator.poll(state, t, &w, err, sizeof(err));
        TEST_CHECK(w.next_ms == INT64_MAX || w.next_ms >= t);
        if (w.next_ms == INT64_MAX) {
            break;
        }
    }
    if (last_wait != NULL) {
        *last_wait = w.next_ms;
    }
    agent_source_simulator.close(state);
    free(conf);
    return rc;
}

static const char *const mixed =
    "seed 42\n"
    "start 2026-03-02T00:00:00.000Z\n"
    "rate 2000\n"
    "count 6000\n"
    "flood_stations p2c-kali-bekasi, cileungsi-01 cikeas-01\n"
    "traffic_stations cam-kalimalang-01 cam-bulak-kapal\n"
    "traffic_lanes eastbound westbound\n"
    "larva_kelurahan 32.75.01.1002 32.75.07.1007 32.75.03.1001\n";

static void test_thousands_of_readings_all_valid(void)
{
    struct collect *c = calloc(1, sizeof(*c));
    int64_t last = 0;

    TEST_CHECK(run(mixed, c, 10, 60000, &last) == MSG_OK);
    TEST_CHECK(c->invalid == 0);
    TEST_MSG("%zu invalid, first: %s", c->invalid, c->first_err);
    TEST_CHECK(c->n == 6000);
    TEST_MSG("n=%zu", c->n);
    TEST_CHECK(last == INT64_MAX);   /* count reached: nothing more to wait for */
    TEST_CHECK(c->per_stream[MSG_STREAM_FLOOD] > 1000);
    TEST_CHECK(c->per_stream[MSG_STREAM_TRAFFIC] > 1000);
    TEST_CHECK(c->per_stream[MSG_STREAM_LARVA] > 1000);
    TEST_MSG("flood %zu traffic %zu incident %zu larva %zu", c->per_stream[MSG_STREAM_FLOOD],
             c->per_stream[MSG_STREAM_TRAFFIC], c->per_stream[MSG_STREAM_INCIDENT],
             c->per_stream[MSG_STREAM_LARVA]);
    free(c);
}

static void test_same_seed_same_readings_other_seed_others(void)
{
    struct collect *a = calloc(1, sizeof(*a));
    struct collect *b = calloc(1, sizeof(*b));
    struct collect *d = calloc(1, sizeof(*d));
    char other[1024];
    size_t same = 0;

    snprintf(other, sizeof(other), "%s", mixed);
    memcpy(strstr(other, "seed 42"), "seed 43", 7);
    run(mixed, a, 7, 60000, NULL);
    run(mixed, b, 7, 60000, NULL);
    run(other, d, 7, 60000, NULL);
    TEST_CHECK(a->n == 6000 && b->n == 6000 && d->n == 6000);
    TEST_CHECK(memcmp(a->hashes, b->hashes, sizeof(a->hashes[0]) * a->n) == 0);
    for (size_t i = 0; i < a->n && i < d->n; i++) {
        same += a->hashes[i] == d->hashes[i];
    }
    TEST_CHECK(same < a->n / 10);
    TEST_MSG("%zu of %zu readings equal with another seed", same, a->n);
    free(a);
    free(b);
    free(d);
}

static void test_intervals_without_rate(void)
{
    struct collect *c = calloc(1, sizeof(*c));
    char err[MSG_ERRLEN] = "";
    struct agent_emit emit = {on_emit, c, "gw-sim-01"};
    struct agent_source_wait w;
    void *state = NULL;
    int rc;
    void *conf = load_conf("start 2026-03-02T00:00:00.000Z\n"
                           "flood_stations a-1 b-2\nflood_interval 60s\n",
                           err, sizeof(err), &rc);

    TEST_CHECK(rc == MSG_OK);
    TEST_CHECK(agent_source_simulator.open(&state, conf, &emit, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(agent_source_simulator.poll(state, 1000, &w, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(c->n == 2);            /* a gauge reads at once */
    TEST_CHECK(w.fd == -1 && w.next_ms == 61000);
    TEST_MSG("next_ms %" PRId64, w.next_ms);
    TEST_CHECK(agent_source_simulator.poll(state, 60999, &w, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(c->n == 2);
    TEST_CHECK(agent_source_simulator.poll(state, 61000, &w, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(c->n == 4);
    /* a stall of ten minutes: the missed samples come at once, each with its own time */
    TEST_CHECK(agent_source_simulator.poll(state, 661000, &w, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(c->n == 24);
    TEST_CHECK(w.next_ms == 721000);
    agent_source_simulator.close(state);
    free(conf);
    free(c);
}

static void test_ts_follows_the_real_clock_without_start(void)
{
    struct collect *c = calloc(1, sizeof(*c));
    char err[MSG_ERRLEN] = "";
    struct agent_emit emit = {on_emit, c, "gw-sim-01"};
    struct agent_source_wait w;
    void *state = NULL;
    int64_t wall;
    int rc;
    void *conf = load_conf("flood_stations a-1\nflood_interval 60s\n", err, sizeof(err), &rc);

    c->keep = calloc(MAX_KEEP, sizeof(*c->keep));
    TEST_CHECK(rc == MSG_OK);
    TEST_CHECK(agent_source_simulator.open(&state, conf, &emit, err, sizeof(err)) == MSG_OK);
    wall = msg_clock_wall_ms();
    TEST_CHECK(agent_source_simulator.poll(state, 5000, &w, err, sizeof(err)) == MSG_OK);
    /* a poll 10 minutes later (on the monotonic clock) is 10 samples late: the gauge was not
     * running, so it makes one reading, stamped now, and the next on its old phase */
    TEST_CHECK(agent_source_simulator.poll(state, 5000 + 600000, &w, err, sizeof(err)) ==
               MSG_OK);
    TEST_CHECK(c->n == 2);
    TEST_MSG("n %zu", c->n);
    TEST_CHECK(w.next_ms == 5000 + 660000);
    TEST_MSG("next_ms %" PRId64, w.next_ms);
    TEST_CHECK(c->keep[0].env.ts_ms > wall - 2000 && c->keep[0].env.ts_ms < wall + 2000);
    TEST_CHECK(c->keep[1].env.ts_ms > wall - 2000 && c->keep[1].env.ts_ms < wall + 2000);
    TEST_MSG("ts %" PRId64 " %" PRId64 " wall %" PRId64, c->keep[0].env.ts_ms,
             c->keep[1].env.ts_ms, wall);
    agent_source_simulator.close(state);
    free(conf);
    free(c->keep);
    free(c);
}

/* Issue 9, item 11: with a rate above what the poller keeps up with (the agent's store), the
 * readings made late carry the time they were made, not the time they were due. */
static void test_rate_behind_stamps_readings_now(void)
{
    struct collect *c = calloc(1, sizeof(*c));
    char err[MSG_ERRLEN] = "";
    struct agent_emit emit = {on_emit, c, "gw-sim-01"};
    struct agent_source_wait w;
    void *state = NULL;
    int64_t wall;
    int64_t lo = INT64_MAX;
    int64_t hi = 0;
    int rc;
    void *conf = load_conf("flood_stations a-1 b-2\ntraffic_stations cam-1\n"
                           "traffic_incidents false\nrate 1000\n", err, sizeof(err), &rc);

    c->keep = calloc(MAX_KEEP, sizeof(*c->keep));
    TEST_CHECK(rc == MSG_OK);
    TEST_CHECK(agent_source_simulator.open(&state, conf, &emit, err, sizeof(err)) == MSG_OK);
    wall = msg_clock_wall_ms();
    TEST_CHECK(agent_source_simulator.poll(state, 0, &w, err, sizeof(err)) == MSG_OK);
    /* the next poll comes 20 s late: 20,000 readings are due, a batch of them is made now */
    TEST_CHECK(agent_source_simulator.poll(state, 20000, &w, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(c->n > 500);
    TEST_MSG("n %zu", c->n);
    TEST_CHECK(w.next_ms == 20000);   /* still behind: poll again at once */
    for (size_t i = 0; i < c->n && i < MAX_KEEP; i++) {
        int64_t ts = c->keep[i].env.ts_ms;

        if (c->keep[i].stream == MSG_STREAM_TRAFFIC) {
            ts += (int64_t)c->keep[i].u.traffic.interval_s * 1000;   /* ts: the start */
        }
        lo = ts < lo ? ts : lo;
        hi = ts > hi ? ts : hi;
    }
    TEST_CHECK(lo > wall - 2000 && hi < wall + 5000);
    TEST_MSG("ts from %" PRId64 " to %" PRId64 ", wall at the start %" PRId64, lo, hi, wall);
    agent_source_simulator.close(state);
    free(conf);
    free(c->keep);
    free(c);
}

static void test_flood_waves_rise_fast_fall_slowly(void)
{
    struct collect *c = calloc(1, sizeof(*c));
    double lo = 1e9, hi = -1e9, max_rise = 0, min_rise = 0;
    size_t rain = 0;

    c->keep = calloc(MAX_KEEP, sizeof(*c->keep));
    /* 10 days of one gauge every 60 s: 14,400 readings, waves about every 12 h */
    run("seed 5\nstart 2026-02-01T00:00:00.000Z\nflood_stations p2c-kali-bekasi\n"
        "flood_interval 60s\nflood_wave_every 12h\ncount 14400\n",
        c, 60000, 14400LL * 60000, NULL);
    TEST_CHECK(c->n == 14400);
    for (size_t i = 0; i < c->n && i < MAX_KEEP; i++) {
        const struct msg_flood *f = &c->keep[i].u.flood;

        TEST_CHECK(f->has_level && f->has_distance && f->has_battery);
        TEST_CHECK(f->level_cm == f->offset_cm - f->distance_cm ||
                   (f->level_cm - (f->offset_cm - f->distance_cm)) < 1e-6);
        lo = f->level_cm < lo ? f->level_cm : lo;
        hi = f->level_cm > hi ? f->level_cm : hi;
        if (f->has_rise) {
            max_rise = f->rise_cm_h > max_rise ? f->rise_cm_h : max_rise;
            min_rise = f->rise_cm_h < min_rise ? f->rise_cm_h : min_rise;
        }
        rain += f->has_rain;
        TEST_CHECK(f->battery_v > 11.5 && f->battery_v < 13.5);
    }
    TEST_CHECK(lo > 310 && lo < 380);    /* the baseline near 350 cm */
    TEST_CHECK(hi > lo + 100);           /* at least one real wave */
    TEST_CHECK(max_rise > 60 && max_rise < 350);   /* fast rise */
    TEST_CHECK(-min_rise < max_rise / 2);          /* slower fall */
    TEST_CHECK(rain > 10);
    TEST_MSG("level %.1f..%.1f, rise %.1f..%.1f cm/h, %zu with rain", lo, hi, min_rise, max_rise,
             rain);
    free(c->keep);
    free(c);
}

/* flood_wave_period: the fixed wave, period 8 min, baseline 60, peak 240 (the demo's gauges:
 * Siaga 3 from 81, 2 from 151, 1 from 201). Hand-computed levels every 30 s: the rise's
 * quarter (0 to 2 min) is 60 + 180 x (t / 2 min), the peak holds from 2 to 4 min, the fall's
 * quarter 240 - 180 x ((t - 4 min) / 2 min), then 60 until 8 min, and again. The noise is at
 * most 0.6 x 2 x sqrt(3) = 2.08 cm. */
static void test_flood_fixed_wave_siaga_3_2_1_and_back(void)
{
    static const double want[] = {
        60, 105, 150, 195, 240, 240, 240, 240, 240, 195, 150, 105, 60, 60, 60, 60, /* 0-7.5 */
        60, 105, 150, 195, 240,                                                     /* 8-10 */
    };
    const size_t n = sizeof(want) / sizeof(want[0]);
    struct collect *c = calloc(1, sizeof(*c));
    size_t rain = 0;

    c->keep = calloc(MAX_KEEP, sizeof(*c->keep));
    run("seed 9\nstart 2026-03-02T00:00:00.000Z\nflood_stations sim-gauge-01\n"
        "flood_interval 30s\nflood_baseline_cm 60\nflood_offset_cm 800\n"
        "flood_wave_period 8m\nflood_wave_peak_cm 240\ncount 21\n",
        c, 30000, 20LL * 30000, NULL);
    TEST_CHECK(c->n == n && c->invalid == 0);
    TEST_MSG("%zu readings, %s", c->n, c->first_err);
    for (size_t i = 0; i < c->n && i < n; i++) {
        const struct msg_flood *f = &c->keep[i].u.flood;

        TEST_CHECK(c->keep[i].env.ts_ms == 1772409600000LL + (int64_t)i * 30000);
        TEST_CHECK(f->level_cm > want[i] - 2.2 && f->level_cm < want[i] + 2.2);
        TEST_MSG("reading %zu (%.1f min): %.1f cm, want %.0f", i, (double)i / 2, f->level_cm,
                 want[i]);
        rain += f->has_rain;
    }
    TEST_CHECK(rain == 3 + 4);   /* while rising, after the first reading: 0.5-1.5, 8-9.5 */
    TEST_MSG("%zu with rain", rain);
    free(c->keep);
    free(c);
}

/* traffic_crash_after: the first camera's first lane reports an accident at its first count
 * 10 minutes after the start (17:10, counts end each minute), ended at the first count 5
 * minutes later (17:15), with incidents otherwise off: no other incident. */
static void test_traffic_crash_after(void)
{
    struct collect *c = calloc(1, sizeof(*c));
    size_t incidents = 0, news = 0, ends = 0;
    char id[MSG_EVENT_ID_MAX + 1] = "";

    c->keep = calloc(MAX_KEEP, sizeof(*c->keep));
    run("seed 3\nstart 2026-03-01T17:00:00.000Z\ntraffic_stations cam-1 cam-2\n"
        "traffic_interval_s 60\ntraffic_incidents false\ntraffic_crash_after 10m\n",
        c, 60000, 30LL * 60000, NULL);
    TEST_CHECK(c->invalid == 0);
    TEST_MSG("%s", c->first_err);
    for (size_t i = 0; i < c->n && i < MAX_KEEP; i++) {
        const struct msg_event *ev = &c->keep[i];
        const struct msg_incident *in = &ev->u.incident;

        if (ev->stream != MSG_STREAM_INCIDENT) {
            continue;
        }
        incidents++;
        TEST_CHECK(strcmp(in->station, "cam-1") == 0 && strcmp(in->lane, "inbound") == 0);
        TEST_CHECK(in->type == MSG_INCIDENT_ACCIDENT);
        TEST_CHECK(in->start_ms == 1772384400000LL + 10 * 60000);   /* 17:10 */
        if (id[0] == '\0') {
            snprintf(id, sizeof(id), "%s", in->event);
        }
        TEST_CHECK(strcmp(id, in->event) == 0);
        if (in->state == MSG_INCIDENT_NEW) {
            news++;
            TEST_CHECK(ev->env.ts_ms == in->start_ms);
        } else if (in->state == MSG_INCIDENT_END) {
            ends++;
            TEST_CHECK(in->has_end && in->end_ms == 1772384400000LL + 15 * 60000);  /* 17:15 */
        }
    }
    TEST_CHECK(news == 1 && ends == 1 && incidents >= 2 && incidents <= 7);
    TEST_MSG("%zu incident readings, %zu new, %zu end", incidents, news, ends);
    free(c->keep);
    free(c);
}

static void test_traffic_rush_hours_and_class_mix(void)
{
    struct collect *c = calloc(1, sizeof(*c));
    double rush = 0, night = 0, moto = 0, all = 0;
    int n_rush = 0, n_night = 0;
    size_t incidents = 0;

    c->keep = calloc(MAX_KEEP, sizeof(*c->keep));
    /* 00:00 WIB is 17:00 UTC; two days of 5-minute counts on one camera, one lane */
    run("seed 9\nstart 2026-03-01T17:00:00.000Z\ntraffic_stations cam-1\ntraffic_lanes in\n"
        "traffic_interval_s 300\n",
        c, 300000, 2LL * 86400000, NULL);
    TEST_CHECK(c->n >= 576);
    for (size_t i = 0; i < c->n && i < MAX_KEEP; i++) {
        const struct msg_event *ev = &c->keep[i];
        int64_t wib_h = ((ev->env.ts_ms + 7 * 3600000) % 86400000) / 3600000;
        double total = 0;

        if (ev->stream == MSG_STREAM_INCIDENT) {
            incidents++;
            continue;
        }
        TEST_CHECK(ev->stream == MSG_STREAM_TRAFFIC && ev->u.traffic.interval_s == 300);
        TEST_CHECK(ev->env.ts_ms % 300000 == 0);   /* the interval's start */
        for (int k = 0; k < MSG_VCLASS_COUNT; k++) {
            total += (double)ev->u.traffic.counts[k];
        }
        moto += (double)ev->u.traffic.counts[MSG_VCLASS_MOTORCYCLE];
        all += total;
        if (wib_h >= 7 && wib_h < 9) {
            rush += total;
            n_rush++;
        } else if (wib_h >= 1 && wib_h < 4) {
            night += total;
            n_night++;
        }
    }
    TEST_CHECK(n_rush > 0 && n_night > 0);
    TEST_CHECK(rush / n_rush > 3 * (night / n_night));
    TEST_MSG("rush %.1f night %.1f per interval", rush / n_rush, night / n_night);
    TEST_CHECK(moto / all > 0.6 && moto / all < 0.75);
    TEST_MSG("motorcycles %.2f", moto / all);
    free(c->keep);
    free(c);
}

static void test_incidents_new_update_end_same_event(void)
{
    struct collect *c = calloc(1, sizeof(*c));
    size_t news = 0, ends = 0;

    c->keep = calloc(MAX_KEEP, sizeof(*c->keep));
    run("seed 3\nstart 2026-03-01T17:00:00.000Z\ntraffic_stations cam-1 cam-2\n"
        "traffic_interval_s 60\ncount 15000\n",
        c, 60000, 30LL * 86400000, NULL);
    for (size_t i = 0; i < c->n && i < MAX_KEEP; i++) {
        const struct msg_event *ev = &c->keep[i];
        size_t j;

        if (ev->stream != MSG_STREAM_INCIDENT) {
            continue;
        }
        if (ev->u.incident.state == MSG_INCIDENT_NEW) {
            news++;
        }
        if (ev->u.incident.state != MSG_INCIDENT_END) {
            continue;
        }
        ends++;
        /* its new came before, with the same event id, station and start */
        for (j = 0; j < i; j++) {
            const struct msg_event *e = &c->keep[j];

            if (e->stream == MSG_STREAM_INCIDENT && e->u.incident.state == MSG_INCIDENT_NEW &&
                strcmp(e->u.incident.event, ev->u.incident.event) == 0) {
                break;
            }
        }
        TEST_CHECK(j < i);
        TEST_CHECK(j < i && strcmp(c->keep[j].u.incident.station, ev->u.incident.station) == 0 &&
                   c->keep[j].u.incident.start_ms == ev->u.incident.start_ms);
    }
    TEST_CHECK(news >= 5 && ends >= 5 && ends <= news);
    TEST_MSG("%zu new, %zu end", news, ends);
    free(c->keep);
    free(c);
}

static void test_larva_share_positive_and_rules(void)
{
    struct collect *c = calloc(1, sizeof(*c));
    size_t positive = 0, houses = 0;

    c->keep = calloc(MAX_KEEP, sizeof(*c->keep));
    run("seed 11\nstart 2026-01-05T00:00:00.000Z\nlarva_kelurahan all\nrate 1000\ncount 10000\n",
        c, 100, 60000, NULL);
    TEST_CHECK(c->n == 10000 && c->invalid == 0);
    TEST_MSG("%s", c->first_err);
    for (size_t i = 0; i < c->n && i < MAX_KEEP; i++) {
        const struct msg_larva *l = &c->keep[i].u.larva;

        if (l->building == MSG_BUILDING_HOUSE) {
            houses++;
            positive += l->larvae_found;
        }
    }
    TEST_CHECK(houses > 8000);
    TEST_CHECK(positive > houses / 20 && positive < houses * 15 / 100);
    TEST_MSG("%zu of %zu houses positive", positive, houses);
    free(c->keep);
    free(c);
}

static void test_config_errors_name_the_key(void)
{
    static const struct {
        const char *text;
        const char *needle;
    } cases[] = {
        {"seed 1\n", "flood_stations"},
        {"flood_stations p2c/kali\n", "flood_stations"},
        {"larva_kelurahan 32.75.07.1001\n", "larva_kelurahan"},
        {"traffic_stations cam-1\ntraffic_lanes Lane_A\n", "traffic_lanes"},
        {"flood_stations a\nstart 2026-02-30T00:00:00.000Z\n", "start"},
        {"flood_stations a\nflood_offset_cm 500\n", "flood_offset_cm"},
        {"flood_stations a\nrate -1\n", "rate"},
        {"flood_stations a\nlevl 1\n", "levl"},
        {"flood_stations a\nflood_baseline_cm 60\nflood_offset_cm 800\nflood_wave_period 8m\n"
         "flood_wave_peak_cm 50\n",
         "flood_wave_peak_cm"},
        {"flood_stations a\nflood_wave_period 8x\n", "flood_wave_period"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[MSG_ERRLEN] = "";
        int rc;
        void *conf = load_conf(cases[i].text, err, sizeof(err), &rc);

        TEST_CHECK(rc == MSG_ERR_CONFIG);
        TEST_CHECK(strstr(err, cases[i].needle) != NULL);
        TEST_MSG("case %zu: rc %d err '%s'", i, rc, err);
        free(conf);
    }
}

TEST_LIST = {
    {"thousands_of_readings_all_valid", test_thousands_of_readings_all_valid},
    {"same_seed_same_readings_other_seed_others", test_same_seed_same_readings_other_seed_others},
    {"intervals_without_rate", test_intervals_without_rate},
    {"ts_follows_the_real_clock_without_start", test_ts_follows_the_real_clock_without_start},
    {"rate_behind_stamps_readings_now", test_rate_behind_stamps_readings_now},
    {"flood_waves_rise_fast_fall_slowly", test_flood_waves_rise_fast_fall_slowly},
    {"flood_fixed_wave_siaga_3_2_1_and_back", test_flood_fixed_wave_siaga_3_2_1_and_back},
    {"traffic_crash_after", test_traffic_crash_after},
    {"traffic_rush_hours_and_class_mix", test_traffic_rush_hours_and_class_mix},
    {"incidents_new_update_end_same_event", test_incidents_new_update_end_same_event},
    {"larva_share_positive_and_rules", test_larva_share_positive_and_rules},
    {"config_errors_name_the_key", test_config_errors_name_the_key},
    {NULL, NULL},
};
