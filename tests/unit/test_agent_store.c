/* test_agent_store.c -- the edge agent's SQLite store (edge-agent/agent_store.c): create and
 * reopen, append/scan/scan_newest/ack/mark_sent/reject/expire/next_conn/stats, the store id,
 * seqs never reused, limits with their `dropped` readings, the rejected list, a damaged file,
 * the boot counter, two handles appending at once, what a scan hands out for a send's `replay`
 * (the boot-time clock, immune to a wall clock step) and the upgrade of a version-1 file.
 *
 * The files live in a fresh folder under the working directory (the build tree: a real file
 * system, so that fsync and WAL behave as on a gateway). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "agent_store.h"
#include "msg_clock.h"
#include "msg_err.h"
#include "msg_event.h"
#include "msg_range.h"
#include "tinytest.h"

static char dir[256];
static int file_no;

/* At exit: removes the test's folder if every check held (kept for a look otherwise). */
static void remove_dir(void)
{
    DIR *d;
    struct dirent *e;
    char p[600];

    if (tt_failures > 0 || dir[0] == '\0' || strcmp(dir, "/tmp") == 0) {
        return;
    }
    d = opendir(dir);
    for (e = d != NULL ? readdir(d) : NULL; e != NULL; e = readdir(d)) {
        if (e->d_name[0] != '.') {
            snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
            unlink(p);
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    rmdir(dir);
}

/* A new path in the test's folder. */
static const char *new_path(char *buf, size_t len)
{
    if (dir[0] == '\0') {
        snprintf(dir, sizeof(dir), "test_agent_store.XXXXXX");
        if (mkdtemp(dir) == NULL) {
            snprintf(dir, sizeof(dir), "/tmp");
        }
        atexit(remove_dir);
    }
    snprintf(buf, len, "%s/store-%d.db", dir, ++file_no);
    return buf;
}

static struct agent_store_options opts(int64_t max_readings, int64_t max_bytes)
{
    struct agent_store_options o;

    memset(&o, 0, sizeof(o));
    o.limits.max_readings = max_readings;
    o.limits.max_bytes = max_bytes;
    o.limits.max_age_ms = 0;
    o.limits.max_rejected = 100;
    o.count_boot = true;
    o.clock_sync = AGENT_CLOCK_SYNCED;
    o.boot_id = "00000000-0000-4000-8000-000000000001";
    return o;
}

static struct agent_store *open_or_die(const char *path, const struct agent_store_options *o)
{
    struct agent_store *s = NULL;
    char err[MSG_ERRLEN] = "";
    int rc = agent_store_open_opts(path, o, &s, err, sizeof(err));

    TEST_CHECK(rc == MSG_OK && s != NULL);
    TEST_MSG("open %s: %s", path, err);
    return s;
}

static struct msg_event flood(double level, int64_t ts_ms)
{
    struct msg_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.stream = MSG_STREAM_FLOOD;
    snprintf(ev.device_id, sizeof(ev.device_id), "gw-test");
    ev.env.ts_ms = ts_ms;
    ev.env.clock_synced = true;
    ev.env.replay = true;   /* the store must write false */
    snprintf(ev.u.flood.station, sizeof(ev.u.flood.station), "p2c-kali-bekasi");
    ev.u.flood.has_level = true;
    ev.u.flood.level_cm = level;
    return ev;
}

static int append_n(struct agent_store *s, size_t n, int64_t ts_ms)
{
    struct msg_event evs[100];
    char err[MSG_ERRLEN] = "";
    int rc;

    for (size_t i = 0; i < n; i++) {
        evs[i] = flood(350 + (double)i, ts_ms);
    }
    rc = agent_store_append(s, evs, n, err, sizeof(err));
    TEST_CHECK(rc == MSG_OK);
    TEST_MSG("append %zu: %s", n, err);
    return rc;
}

/* Every held row, parsed back. */
struct held {
    size_t n;
    uint64_t seq[4096];
    uint64_t sends[4096];
    enum msg_stream stream[4096];
    size_t bad;
    char bad_err[MSG_ERRLEN];
    size_t n_drop;
    struct msg_event drop[16];
};

static bool collect(void *ctx, const struct agent_store_row *row)
{
    struct held *h = ctx;
    struct msg_event ev;
    char topic[64];
    char err[MSG_ERRLEN];

    snprintf(topic, sizeof(topic), "pantau/v1/gw-test/%s", msg_stream_name(row->stream));
    if (msg_event_parse(topic, strlen(topic), row->payload, row->payload_len, &ev, err,
                        sizeof(err)) != MSG_OK ||
        ev.env.seq != row->seq || ev.env.replay) {
        if (h->bad++ == 0) {
            snprintf(h->bad_err, sizeof(h->bad_err), "seq %" PRIu64 ": %.200s", row->seq, err);
        }
    }
    if (row->stream == MSG_STREAM_DROPPED && h->n_drop < 16) {
        h->drop[h->n_drop++] = ev;
    }
    if (h->n < 4096) {
        h->seq[h->n] = row->seq;
        h->sends[h->n] = row->sends;
        h->stream[h->n] = row->stream;
        h->n++;
    }
    return true;
}

static void scan_all(struct agent_store *s, struct held *h)
{
    char err[MSG_ERRLEN] = "";

    memset(h, 0, sizeof(*h));
    TEST_CHECK(agent_store_scan(s, 0, 100000, collect, h, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(h->bad == 0);
    TEST_MSG("%zu rows do not parse back: %s", h->bad, h->bad_err);
}

static struct agent_store_stats stats(struct agent_store *s)
{
    struct agent_store_stats st;
    char err[MSG_ERRLEN] = "";

    TEST_CHECK(agent_store_stats(s, &st, err, sizeof(err)) == MSG_OK);
    return st;
}

static bool is_uuid_v4_lower(const char *id)
{
    if (strlen(id) != 36 || id[14] != '4') {
        return false;
    }
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;

        if (dash ? id[i] != '-' : !((id[i] >= '0' && id[i] <= '9') ||
                                    (id[i] >= 'a' && id[i] <= 'f'))) {
            return false;
        }
    }
    return strchr("89ab", id[19]) != NULL;
}

static void test_create_reopen_and_store_id(void)
{
    char p1[300], p2[300];
    struct agent_store_options o = opts(1000, 1000000);
    struct agent_store *a = open_or_die(new_path(p1, sizeof(p1)), &o);
    struct agent_store *b = open_or_die(new_path(p2, sizeof(p2)), &o);
    char id[40];
    struct agent_store_stats st;

    if (a == NULL || b == NULL) {
        return;
    }
    TEST_CHECK(is_uuid_v4_lower(agent_store_id(a)));
    TEST_MSG("id %s", agent_store_id(a));
    TEST_CHECK(strcmp(agent_store_id(a), agent_store_id(b)) != 0);
    snprintf(id, sizeof(id), "%s", agent_store_id(a));
    st = stats(a);
    TEST_CHECK(st.held == 0 && st.first_seq == 0 && st.last_seq == 0 && st.conn == 0);
    TEST_CHECK(st.boot == 1 && st.boot_current);
    TEST_CHECK(st.file_bytes > 0);
    agent_store_close(a);
    agent_store_close(b);
    a = open_or_die(p1, &o);
    TEST_CHECK(a != NULL && strcmp(agent_store_id(a), id) == 0);
    agent_store_close(a);
    agent_store_close(NULL);
}

static void test_bad_limits_and_path(void)
{
    char p[300];
    struct agent_store_options o = opts(0, 1000);
    struct agent_store *s = NULL;
    char err[MSG_ERRLEN] = "";

    TEST_CHECK(agent_store_open_opts(new_path(p, sizeof(p)), &o, &s, err, sizeof(err)) ==
               MSG_ERR_INVAL);
    TEST_CHECK(s == NULL && strstr(err, "max_readings") != NULL);
    o = opts(10, 100000);
    TEST_CHECK(agent_store_open_opts("/nonexistent-dir/x/store.db", &o, &s, err, sizeof(err)) ==
               MSG_ERR_IO);
    TEST_CHECK(strstr(err, "/nonexistent-dir/x/store.db") != NULL);
    TEST_MSG("err %s", err);
}

static void test_append_scan_ack_mark(void)
{
    char p[300], err[MSG_ERRLEN] = "";
    struct agent_store_options o = opts(1000, 1000000);
    struct agent_store *s = open_or_die(new_path(p, sizeof(p)), &o);
    struct msg_event evs[10];
    struct held *h = calloc(1, sizeof(*h));
    struct msg_range acks[] = {{2, 4}, {8, 8}, {100, 200}};
    uint64_t marks[] = {1, 5, 5, 9999};
    uint64_t deleted = 0;
    struct agent_store_stats st;

    if (s == NULL) {
        free(h);
        return;
    }
    for (int i = 0; i < 10; i++) {
        evs[i] = flood(300 + i, msg_clock_wall_ms());
    }
    TEST_CHECK(agent_store_append(s, evs, 10, err, sizeof(err)) == MSG_OK);
    for (int i = 0; i < 10; i++) {
        TEST_CHECK(evs[i].env.seq == (uint64_t)i + 1);
        TEST_CHECK(strcmp(evs[i].env.store_id, agent_store_id(s)) == 0);
        TEST_CHECK(!evs[i].env.replay);
    }
    scan_all(s, h);
    TEST_CHECK(h->n == 10 && h->seq[0] == 1 && h->seq[9] == 10);
    /* newest first, limited */
    memset(h, 0, sizeof(*h));
    TEST_CHECK(agent_store_scan_newest(s, 0, 3, collect, h, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(h->n == 3 && h->seq[0] == 10 && h->seq[1] == 9 && h->seq[2] == 8);
    memset(h, 0, sizeof(*h));
    TEST_CHECK(agent_store_scan_newest(s, 8, 100, collect, h, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(h->n == 2 && h->seq[0] == 10 && h->seq[1] == 9);
    memset(h, 0, sizeof(*h));
    TEST_CHECK(agent_store_scan(s, 5, 100, collect, h, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(h->n == 5 && h->seq[0] == 6 && h->seq[4] == 10);
    /* mark_sent counts sends; unknown seqs are ignored */
    TEST_CHECK(agent_store_mark_sent(s, marks, 4, err, sizeof(err)) == MSG_OK);
    scan_all(s, h);
    TEST_CHECK(h->sends[0] == 1 && h->sends[1] == 0 && h->sends[4] == 2);
    /* ack: ranges, also one covering nothing held */
    TEST_CHECK(agent_store_ack(s, acks, 3, &deleted, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(deleted == 4);
    TEST_CHECK(agent_store_ack(s, acks, 3, &deleted, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(deleted == 0);
    st = stats(s);
    TEST_CHECK(st.held == 6 && st.acked == 4 && st.first_seq == 1 && st.last_seq == 10);
    TEST_CHECK(st.held_bytes > 6 * 100 && st.held_bytes < 6 * 300);
    scan_all(s, h);
    TEST_CHECK(h->n == 6 && h->seq[1] == 5 && h->seq[2] == 6 && h->seq[3] == 7 &&
               h->seq[4] == 9);
    /* a scan that stops early */
    agent_store_close(s);
    free(h);
}

static bool stop_after_two(void *ctx, const struct agent_store_row *row)
{
    size_t *n = ctx;

    (void)row;
    return ++*n < 2;
}

static void test_scan_stops_when_fn_says(void)
{
    char p[300], err[MSG_ERRLEN] = "";
    struct agent_store_options o = opts(1000, 1000000);
    struct agent_store *s = open_or_die(new_path(p, sizeof(p)), &o);
    size_t n = 0;

    if (s == NULL) {
        return;
    }
    append_n(s, 5, msg_clock_wall_ms());
    TEST_CHECK(agent_store_scan(s, 0, 100, stop_after_two, &n, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(n == 2);
    agent_store_close(s);
}

/* Shrinking gives back the page cache's heap (SQLite's own count of it falls) and the store
 * works as before afterwards. */
static void test_shrink_releases_cache_and_keeps_working(void)
{
    char p[300];
    struct agent_store_options o = opts(100000, 100000000);
    struct agent_store *s = open_or_die(new_path(p, sizeof(p)), &o);
    struct held *h = calloc(1, sizeof(*h));
    sqlite3_int64 before;
    sqlite3_int64 after;

    if (s == NULL || h == NULL) {
        agent_store_close(s);
        free(h);
        return;
    }
    for (int i = 0; i < 20; i++) {
        append_n(s, 100, msg_clock_wall_ms());   /* at most 100 at a time */
    }
    scan_all(s, h);
    before = sqlite3_memory_used();
    agent_store_shrink(s);
    after = sqlite3_memory_used();
    TEST_CHECK(after < before - 64 * 1024);
    TEST_MSG("SQLite heap %lld before, %lld after", (long long)before, (long long)after);
    append_n(s, 3, msg_clock_wall_ms());
    scan_all(s, h);
    TEST_CHECK(h->n == 2003 && stats(s).held == 2003);
    TEST_MSG("held %zu", h->n);
    agent_store_close(s);
    free(h);
}

static void test_seq_never_reused_across_reopen(void)
{
    char p[300], err[MSG_ERRLEN] = "";
    struct agent_store_options o = opts(1000, 1000000);
    struct agent_store *s = open_or_die(new_path(p, sizeof(p)), &o);
    struct msg_range all = {1, 1000};
    struct msg_event ev = flood(1, msg_clock_wall_ms());

    if (s == NULL) {
        return;
    }
    append_n(s, 7, msg_clock_wall_ms());
    TEST_CHECK(agent_store_ack(s, &all, 1, NULL, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(stats(s).held == 0 && stats(s).last_seq == 7);
    agent_store_close(s);
    s = open_or_die(p, &o);
    if (s == NULL) {
        return;
    }
    TEST_CHECK(agent_store_append(s, &ev, 1, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(ev.env.seq == 8);
    agent_store_close(s);
}

static void test_next_conn_durable(void)
{
    char p[300], err[MSG_ERRLEN] = "";
    struct agent_store_options o = opts(1000, 1000000);
    struct agent_store *s = open_or_die(new_path(p, sizeof(p)), &o);
    uint64_t c = 0;

    if (s == NULL) {
        return;
    }
    TEST_CHECK(agent_store_next_conn(s, &c, err, sizeof(err)) == MSG_OK && c == 1);
    TEST_CHECK(agent_store_next_conn(s, &c, err, sizeof(err)) == MSG_OK && c == 2);
    agent_store_close(s);
    s = open_or_die(p, &o);
    TEST_CHECK(s != NULL && agent_store_next_conn(s, &c, err, sizeof(err)) == MSG_OK && c == 3);
    TEST_CHECK(stats(s).conn == 3);
    agent_store_close(s);
}

/* The store's `dropped` readings in h: reason, the seqs they list, and that every range lies
 * below the reading's own seq. */
static uint64_t dropped_listed(const struct held *h, enum msg_drop_reason reason,
                               struct msg_rangeset *into)
{
    uint64_t total = 0;

    for (size_t i = 0; i < h->n_drop; i++) {
        const struct msg_event *d = &h->drop[i];

        TEST_CHECK(d->u.dropped.reason == reason);
        TEST_CHECK(d->u.dropped.n_ranges >= 1 && d->u.dropped.n_ranges <= 100);
        for (size_t k = 0; k < d->u.dropped.n_ranges; k++) {
            TEST_CHECK(d->u.dropped.ranges[k].last < d->env.seq);
            total += d->u.dropped.ranges[k].last - d->u.dropped.ranges[k].first + 1;
            if (into != NULL) {
                msg_rangeset_add_range(into, d->u.dropped.ranges[k].first,
                                       d->u.dropped.ranges[k].last);
            }
        }
    }
    return total;
}

/* Every seq 1..last is either held or listed in exactly one `dropped` reading's ranges
 * (nothing is acknowledged in the tests that call this). */
static void check_accounted(const struct held *h, uint64_t last)
{
    struct msg_range storage[1600];
    struct msg_rangeset rs;
    size_t k = 0;
    uint64_t listed = 0;

    msg_rangeset_init(&rs, storage, 1600);
    for (size_t i = 0; i < h->n_drop; i++) {
        for (size_t r = 0; r < h->drop[i].u.dropped.n_ranges; r++) {
            listed += h->drop[i].u.dropped.ranges[r].last - h->drop[i].u.dropped.ranges[r].first
                      + 1;
            msg_rangeset_add_range(&rs, h->drop[i].u.dropped.ranges[r].first,
                                   h->drop[i].u.dropped.ranges[r].last);
        }
    }
    TEST_CHECK(listed == msg_rangeset_count(&rs));   /* no seq reported twice */
    for (uint64_t seq = 1; seq <= last; seq++) {
        bool held = k < h->n && h->seq[k] == seq;
        bool dropped = msg_rangeset_contains(&rs, seq);

        if (held) {
            k++;
        }
        TEST_CHECK(held != dropped);
        TEST_MSG("seq %" PRIu64 ": held %d, reported dropped %d", seq, held, dropped);
    }
}

static void test_max_readings_drops_oldest_and_reports(void)
{
    char p[300];
    struct agent_store_options o = opts(10, 1000000);
    struct agent_store *s = open_or_die(new_path(p, sizeof(p)), &o);
    struct held *h = calloc(1, sizeof(*h));
    struct agent_store_stats st;
    uint64_t listed;

    if (s == NULL) {
        free(h);
        return;
    }
    for (int i = 0; i < 10; i++) {
        append_n(s, 1, msg_clock_wall_ms());
    }
    TEST_CHECK(stats(s).dropped == 0 && stats(s).held == 10);
    append_n(s, 3, msg_clock_wall_ms());   /* 13 readings and a report in 10: the 4 oldest go */
    st = stats(s);
    TEST_CHECK(st.held == 10);
    TEST_CHECK(st.dropped == 4);
    TEST_MSG("held %" PRIu64 " dropped %" PRIu64, st.held, st.dropped);
    scan_all(s, h);
    TEST_CHECK(h->n_drop == 1);
    TEST_CHECK(h->seq[0] == 5);   /* the oldest kept */
    TEST_CHECK(h->stream[h->n - 1] == MSG_STREAM_DROPPED && h->seq[h->n - 1] == 14);
    listed = dropped_listed(h, MSG_DROP_STORE_FULL, NULL);
    TEST_CHECK(listed == 4);
    TEST_CHECK(h->drop[0].u.dropped.ranges[0].first == 1 &&
               h->drop[0].u.dropped.ranges[0].last == 4);
    check_accounted(h, 14);
    /* More appends. What the scan handed out (readings 5..13 and report 14) is in flight for a
     * minute: none of it is dropped or replaced, and it gives the store room for 10 more. Past
     * that, the new readings, never handed out, are the oldest not in flight: they go, and
     * their reports replace each other: one more report. */
    for (int i = 0; i < 20; i++) {
        append_n(s, 1, msg_clock_wall_ms());
    }
    scan_all(s, h);
    st = stats(s);
    TEST_CHECK(h->seq[0] == 5 && h->seq[9] == 14 && h->stream[9] == MSG_STREAM_DROPPED);
    TEST_CHECK(h->n_drop == 2);
    TEST_CHECK(st.held == 20);
    TEST_MSG("held %" PRIu64, st.held);
    TEST_CHECK(st.dropped == dropped_listed(h, MSG_DROP_STORE_FULL, NULL));
    TEST_MSG("held %" PRIu64 " dropped %" PRIu64 " reports %zu", st.held, st.dropped, h->n_drop);
    check_accounted(h, st.last_seq);
    agent_store_close(s);
    free(h);
}

static void test_reports_handed_out_and_unsent_are_merged_later(void)
{
    char p[300];
    struct agent_store_options o = opts(10, 1000000);
    struct agent_store *s;
    struct held *h = calloc(1, sizeof(*h));
    struct agent_store_stats st;

    o.merge_after_ms = 1;   /* a report handed out but unsent for 1 ms: the agent is offline */
    s = open_or_die(new_path(p, sizeof(p)), &o);
    if (s == NULL) {
        free(h);
        return;
    }
    for (int i = 0; i < 60; i++) {
        struct timespec pause = {0, 2000000};

        append_n(s, 1, msg_clock_wall_ms());
        scan_all(s, h);             /* the agent looks at everything... */
        nanosleep(&pause, NULL);    /* ...and sends nothing */
    }
    st = stats(s);
    scan_all(s, h);
    TEST_CHECK(h->n_drop == 1);     /* one report, not fifty */
    TEST_MSG("%zu reports", h->n_drop);
    /* 2 for the first report, then 1 each, and the 49 replaced reports' own seqs */
    TEST_CHECK(st.held <= 10 && st.dropped == 51 + 49);
    TEST_CHECK(st.dropped == dropped_listed(h, MSG_DROP_STORE_FULL, NULL));
    TEST_MSG("held %" PRIu64 " dropped %" PRIu64, st.held, st.dropped);
    check_accounted(h, st.last_seq);
    agent_store_close(s);
    free(h);
}

/* The agent reconnects with a full store and sends all it holds, newest first, while new
 * readings keep coming and are sent too: nothing in flight is dropped (it may be at the
 * collector already), the store goes over its limit for as long as they are in flight, and
 * once they are acknowledged it is back within it. */
static void test_readings_in_flight_are_not_dropped(void)
{
    char p[300];
    struct agent_store_options o = opts(10, 1000000);
    struct agent_store *s = open_or_die(new_path(p, sizeof(p)), &o);
    struct held *h = calloc(1, sizeof(*h));
    struct agent_store_stats st;
    struct msg_range first24 = {1, 24};
    char err[MSG_ERRLEN];

    if (s == NULL) {
        free(h);
        return;
    }
    for (int i = 0; i < 10; i++) {
        append_n(s, 1, msg_clock_wall_ms());
    }
    for (int i = 0; i < 15; i++) {
        scan_all(s, h);   /* everything held goes out... */
        append_n(s, 1, msg_clock_wall_ms());   /* ...and a new reading comes */
    }
    st = stats(s);
    TEST_CHECK(st.dropped == 0);
    TEST_CHECK(st.held == 25);
    TEST_MSG("held %" PRIu64 " dropped %" PRIu64, st.held, st.dropped);
    TEST_CHECK(agent_store_ack(s, &first24, 1, NULL, err, sizeof(err)) == MSG_OK);
    append_n(s, 1, msg_clock_wall_ms());
    st = stats(s);
    TEST_CHECK(st.dropped == 0 && st.held == 2);
    TEST_MSG("held %" PRIu64 " dropped %" PRIu64, st.held, st.dropped);
    agent_store_close(s);
    free(h);
}

static void test_report_process_leaves_young_reports_alone(void)
{
    char p[300];
    struct agent_store_options o = opts(10, 1000000);
    struct agent_store *agent = open_or_die(new_path(p, sizeof(p)), &o);
    struct agent_store *report;
    struct held *h = calloc(1, sizeof(*h));

    o.count_boot = false;
    report = open_or_die(p, &o);
    if (agent == NULL || report == NULL) {
        free(h);
        agent_store_close(agent);
        agent_store_close(report);
        return;
    }
    for (int i = 0; i < 11; i++) {
        append_n(agent, 1, msg_clock_wall_ms());   /* full: one report, which the agent may send */
    }
    append_n(report, 1, msg_clock_wall_ms());      /* `report` cannot know whether it was sent */
    append_n(agent, 1, msg_clock_wall_ms());       /* the agent knows its report is not sent yet */
    scan_all(agent, h);
    TEST_CHECK(h->n_drop == 2);
    TEST_MSG("%zu reports", h->n_drop);
    check_accounted(h, stats(agent).last_seq);
    agent_store_close(report);
    agent_store_close(agent);
    free(h);
}

static void test_max_bytes_and_oversized(void)
{
    char p[300], err[MSG_ERRLEN] = "";
    struct agent_store_options o = opts(100000, 4000);
    struct agent_store *s = open_or_die(new_path(p, sizeof(p)), &o);
    struct agent_store_stats st;
    struct msg_event big;

    if (s == NULL) {
        return;
    }
    for (int i = 0; i < 60; i++) {
        append_n(s, 1, msg_clock_wall_ms());
    }
    st = stats(s);
    TEST_CHECK(st.held_bytes <= 4000);
    TEST_CHECK(st.dropped > 0);
    TEST_MSG("held_bytes %" PRIu64 " dropped %" PRIu64, st.held_bytes, st.dropped);
    agent_store_close(s);
    /* a reading larger than max_bytes: MSG_ERR_FULL, nothing written */
    o = opts(100000, 150);
    s = open_or_die(new_path(p, sizeof(p)), &o);
    if (s == NULL) {
        return;
    }
    big = flood(1, msg_clock_wall_ms());
    big.u.flood.has_battery = big.u.flood.has_rain = big.u.flood.has_rise = true;
    big.u.flood.has_distance = true;
    big.u.flood.distance_cm = 1234.5678;
    big.u.flood.offset_cm = 2000.25;
    TEST_CHECK(agent_store_append(s, &big, 1, err, sizeof(err)) == MSG_ERR_FULL);
    TEST_CHECK(strstr(err, "max_bytes") != NULL);
    TEST_CHECK(stats(s).held == 0 && stats(s).last_seq == 0);
    agent_store_close(s);
}

static void test_max_age_expires_synced_readings_only(void)
{
    char p[300], err[MSG_ERRLEN] = "";
    struct agent_store_options o = opts(1000, 1000000);
    struct agent_store *s;
    struct held *h = calloc(1, sizeof(*h));
    struct msg_event unsynced = flood(1, 1000);   /* 1970: a clock never set */
    int64_t now = msg_clock_wall_ms();

    o.limits.max_age_ms = 3600000;
    s = open_or_die(new_path(p, sizeof(p)), &o);
    if (s == NULL) {
        free(h);
        return;
    }
    unsynced.env.clock_synced = false;
    append_n(s, 3, now - 2 * 3600000);   /* seq 1..3: too old already... */
    /* ...but append expires before it inserts, so they are held until the next call */
    TEST_CHECK(agent_store_append(s, &unsynced, 1, err, sizeof(err)) == MSG_OK);   /* seq 4 */
    scan_all(s, h);
    TEST_CHECK(h->n_drop == 1 && dropped_listed(h, MSG_DROP_MAX_AGE, NULL) == 3);
    TEST_CHECK(h->n == 2 && h->seq[0] == 4 && h->seq[1] == 5);
    TEST_CHECK(stats(s).dropped == 3);
    append_n(s, 2, now - 30 * 60000);    /* seq 6, 7: half an hour old */
    TEST_CHECK(agent_store_expire(s, now, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(stats(s).held == 4);
    TEST_CHECK(agent_store_expire(s, now + 3600000, err, sizeof(err)) == MSG_OK);
    scan_all(s, h);
    /* 6 and 7 went; the unsynced reading and the first report stay */
    TEST_CHECK(stats(s).dropped == 5);
    TEST_CHECK(h->n == 3 && h->seq[0] == 4 && h->seq[1] == 5 && h->seq[2] == 8);
    TEST_CHECK(h->n_drop == 2);
    agent_store_close(s);
    free(h);
}

static void test_reject_and_rejected_overflow(void)
{
    char p[300], err[MSG_ERRLEN] = "";
    struct agent_store_options o = opts(1000, 1000000);
    struct agent_store *s;
    struct held *h = calloc(1, sizeof(*h));
    struct agent_store_stats st;
    struct msg_range r = {3, 3};

    o.limits.max_rejected = 2;
    s = open_or_die(new_path(p, sizeof(p)), &o);
    if (s == NULL) {
        free(h);
        return;
    }
    append_n(s, 6, msg_clock_wall_ms());
    TEST_CHECK(agent_store_reject(s, 2, "PUBACK 0x87, 5 tries", err, sizeof(err)) == MSG_OK);
    TEST_CHECK(agent_store_reject(s, 2, "again", err, sizeof(err)) == MSG_ERR_INVAL);
    TEST_CHECK(strstr(err, "not held") != NULL);
    TEST_CHECK(agent_store_reject(s, 99, "x", err, sizeof(err)) == MSG_ERR_INVAL);
    st = stats(s);
    TEST_CHECK(st.held == 5 && st.rejected == 1 && st.rejected_held == 1 && st.dropped == 0);
    TEST_CHECK(agent_store_reject(s, 3, "x", err, sizeof(err)) == MSG_OK);
    TEST_CHECK(agent_store_reject(s, 4, "x", err, sizeof(err)) == MSG_OK);   /* 2 goes */
    st = stats(s);
    TEST_CHECK(st.rejected == 3 && st.rejected_held == 2 && st.dropped == 1);
    scan_all(s, h);
    TEST_CHECK(h->n_drop == 1 && dropped_listed(h, MSG_DROP_REJECTED, NULL) == 1);
    TEST_CHECK(h->drop[0].u.dropped.ranges[0].first == 2);
    TEST_CHECK(h->n == 4);   /* 1, 5, 6 and the report */
    /* an acknowledgement covering a rejected reading takes it off the list */
    TEST_CHECK(agent_store_ack(s, &r, 1, NULL, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(stats(s).rejected_held == 1);
    agent_store_close(s);
    free(h);
}

static bool any_corrupt_copy(const char *path)
{
    const char *base = strrchr(path, '/') + 1;
    char prefix[300];
    DIR *d = opendir(dir);
    struct dirent *e;
    bool found = false;

    snprintf(prefix, sizeof(prefix), "%s.corrupt-", base);
    for (e = d != NULL ? readdir(d) : NULL; e != NULL; e = readdir(d)) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
            found = true;
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    return found;
}

static void test_damaged_file_moved_aside_new_store(void)
{
    char p[300], err[MSG_ERRLEN] = "", id[40];
    struct agent_store_options o = opts(10000, 10000000);
    struct agent_store *s;
    char junk[8192];
    struct stat sb;
    int fd;

    /* not a database at all */
    memset(junk, 'x', sizeof(junk));
    fd = open(new_path(p, sizeof(p)), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    TEST_CHECK(fd >= 0 && write(fd, junk, sizeof(junk)) == (ssize_t)sizeof(junk));
    close(fd);
    s = open_or_die(p, &o);
    TEST_CHECK(s != NULL && any_corrupt_copy(p));
    TEST_CHECK(s != NULL && append_n(s, 1, msg_clock_wall_ms()) == MSG_OK && stats(s).last_seq == 1);
    agent_store_close(s);

    /* a real store whose pages are damaged after it was closed */
    s = open_or_die(new_path(p, sizeof(p)), &o);
    if (s == NULL) {
        return;
    }
    for (int i = 0; i < 30; i++) {
        append_n(s, 100, msg_clock_wall_ms());
    }
    snprintf(id, sizeof(id), "%s", agent_store_id(s));
    agent_store_close(s);   /* the last connection checkpoints: all in the main file */
    TEST_CHECK(stat(p, &sb) == 0 && sb.st_size > 65536);
    fd = open(p, O_WRONLY);
    memset(junk, 0x5a, sizeof(junk));
    TEST_CHECK(pwrite(fd, junk, sizeof(junk), 4096 * 3) == (ssize_t)sizeof(junk));
    TEST_CHECK(pwrite(fd, junk, 512, 4096 + 100) == 512);
    close(fd);
    s = NULL;
    TEST_CHECK(agent_store_open_opts(p, &o, &s, err, sizeof(err)) == MSG_OK);
    TEST_MSG("err %s", err);
    TEST_CHECK(s != NULL && strcmp(agent_store_id(s), id) != 0);   /* a new store */
    TEST_CHECK(any_corrupt_copy(p));
    TEST_CHECK(s != NULL && stats(s).held == 0);
    TEST_CHECK(s != NULL && append_n(s, 2, msg_clock_wall_ms()) == MSG_OK);
    agent_store_close(s);
}

static void test_boot_counter_counts_system_boots(void)
{
    char p[300];
    struct agent_store_options o = opts(100, 100000);
    struct agent_store *s;

    o.boot_id = "aaaaaaaa-0000-4000-8000-000000000000";
    s = open_or_die(new_path(p, sizeof(p)), &o);
    TEST_CHECK(s != NULL && stats(s).boot == 1 && stats(s).boot_current);
    agent_store_close(s);
    s = open_or_die(p, &o);   /* the same boot: a process restart is not a boot */
    TEST_CHECK(s != NULL && stats(s).boot == 1);
    agent_store_close(s);
    o.boot_id = "bbbbbbbb-0000-4000-8000-000000000000";
    s = open_or_die(p, &o);
    TEST_CHECK(s != NULL && stats(s).boot == 2 && stats(s).boot_current);
    agent_store_close(s);
    o.count_boot = false;     /* `report` after a reboot, before the agent: counts nothing */
    o.boot_id = "cccccccc-0000-4000-8000-000000000000";
    s = open_or_die(p, &o);
    TEST_CHECK(s != NULL && stats(s).boot == 2 && !stats(s).boot_current);
    agent_store_close(s);
    o.boot_id = "bbbbbbbb-0000-4000-8000-000000000000";
    s = open_or_die(p, &o);
    TEST_CHECK(s != NULL && stats(s).boot == 2 && stats(s).boot_current);
    agent_store_close(s);
    o.count_boot = true;
    o.boot_id = NULL;         /* the kernel's own */
    s = open_or_die(p, &o);
    TEST_CHECK(s != NULL && stats(s).boot == 3 && stats(s).boot_current);
    agent_store_close(s);
}

/* ---- how long a reading has been held (`replay`): the boot-time clock, schema version 2 ---- */

/* Runs sql on the file at path through a second connection (as a tool, or a test's fake). */
static void sql_on(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    char *msg = NULL;
    int rc = sqlite3_open(path, &db);

    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    }
    TEST_CHECK(rc == SQLITE_OK);
    TEST_MSG("%s: %s: %s", path, sql, msg != NULL ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    sqlite3_close(db);
}

static int64_t int_on(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    int64_t v = -1;

    if (sqlite3_open(path, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW) {
        v = sqlite3_column_int64(q, 0);
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    return v;
}

/* The first row a scan hands out, copied (payload up to 200 bytes). */
struct first_row {
    bool found;
    struct agent_store_row row;
    char payload[201];
};

static bool take_first(void *ctx, const struct agent_store_row *row)
{
    struct first_row *f = ctx;

    f->found = true;
    f->row = *row;
    snprintf(f->payload, sizeof(f->payload), "%.*s", (int)row->payload_len, row->payload);
    f->row.payload = f->payload;
    return false;
}

static struct first_row scan_seq(struct agent_store *s, uint64_t seq)
{
    struct first_row f;
    char err[MSG_ERRLEN] = "";

    memset(&f, 0, sizeof(f));
    TEST_CHECK(agent_store_scan(s, seq - 1, 1, take_first, &f, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(f.found && f.row.seq == seq);
    TEST_MSG("seq %" PRIu64 ": %s", seq, err);
    return f;
}

/* The `replay` of a send now of the held reading seq, as the agent's row_replay decides. */
static bool replay_of(struct agent_store *s, uint64_t seq)
{
    struct first_row f = scan_seq(s, seq);

    return msg_history_replay_held(&f.row.held);
}

static void test_replay_by_boot_time_survives_a_wall_clock_step(void)
{
    char p[300];
    char sql[200];
    struct agent_store_options o = opts(100, 100000);
    struct agent_store *s = open_or_die(new_path(p, sizeof(p)), &o);
    struct first_row f;

    if (s == NULL) {
        return;
    }
    append_n(s, 2, msg_clock_wall_ms());
    f = scan_seq(s, 1);
    TEST_CHECK(f.row.held.boot == MSG_HISTORY_BOOT_SAME && f.row.held.stored_synced);
    TEST_CHECK(!msg_history_replay_held(&f.row.held));   /* just stored: news */
    /* The wall clock stepped forward from 1970 after the reading was stored (NTP's first
     * answer on a Pi without a real-time clock): stored_ms says 56 years. */
    sql_on(p, "UPDATE reading SET stored_ms = 40000 WHERE seq = 1");
    /* ... or back by a day (a saved time restored at boot, ahead of the true one) */
    snprintf(sql, sizeof(sql), "UPDATE reading SET stored_ms = %" PRId64 " WHERE seq = 2",
             msg_clock_wall_ms() + INT64_C(86400000));
    sql_on(p, sql);
    for (uint64_t seq = 1; seq <= 2; seq++) {
        f = scan_seq(s, seq);
        TEST_CHECK(msg_history_replay(f.row.stored_ms, f.row.held.now_wall_ms));   /* wall: no */
        TEST_CHECK(!msg_history_replay_held(&f.row.held));   /* news: held for milliseconds */
        TEST_MSG("seq %" PRIu64 " was judged by the wall clock", seq);
    }
    /* Held 10 minutes by the boot-time clock: history, whatever the wall clock says. */
    snprintf(sql, sizeof(sql), "UPDATE reading SET stored_boot_ms = stored_boot_ms - %" PRId64
             ", stored_ms = %" PRId64 " WHERE seq = 2", INT64_C(600000), msg_clock_wall_ms());
    sql_on(p, sql);
    TEST_CHECK(replay_of(s, 2));
    agent_store_close(s);
}

static void test_replay_across_a_reboot(void)
{
    char p[300];
    char sql[200];
    struct agent_store_options o = opts(100, 100000);
    struct agent_store *s = open_or_die(new_path(p, sizeof(p)), &o);
    struct first_row f;

    if (s == NULL) {
        return;
    }
    append_n(s, 1, msg_clock_wall_ms());   /* seq 1: synchronised clock */
    agent_store_close(s);
    o.clock_sync = AGENT_CLOCK_UNSYNCED;
    s = open_or_die(p, &o);
    if (s == NULL) {
        return;
    }
    append_n(s, 1, msg_clock_wall_ms());   /* seq 2: stored before NTP answered */
    agent_store_close(s);
    /* a reboot: a new kernel boot id; the clock is synchronised again */
    o.clock_sync = AGENT_CLOCK_SYNCED;
    o.boot_id = "00000000-0000-4000-8000-000000000002";
    s = open_or_die(p, &o);
    if (s == NULL) {
        return;
    }
    TEST_CHECK(stats(s).boot == 2);
    f = scan_seq(s, 1);
    TEST_CHECK(f.row.held.boot == MSG_HISTORY_BOOT_OTHER);
    TEST_CHECK(!msg_history_replay_held(&f.row.held));   /* synchronised at both ends, 0 s */
    snprintf(sql, sizeof(sql), "UPDATE reading SET stored_ms = stored_ms - %" PRId64
             " WHERE seq = 1", MSG_HISTORY_LATENESS_MS + 1000);
    sql_on(p, sql);
    TEST_CHECK(replay_of(s, 1));                         /* and longer than L: history */
    f = scan_seq(s, 2);
    TEST_CHECK(f.row.held.boot == MSG_HISTORY_BOOT_OTHER && !f.row.held.stored_synced);
    TEST_CHECK(msg_history_replay_held(&f.row.held));    /* age unknown: history */
    agent_store_close(s);
    /* After the reboot, before NTP answers: even seq 1 is of unknown age. */
    o.clock_sync = AGENT_CLOCK_UNSYNCED;
    s = open_or_die(p, &o);
    if (s == NULL) {
        return;
    }
    sql_on(p, "UPDATE reading SET stored_ms = stored_ms + 301000 WHERE seq = 1");
    TEST_CHECK(replay_of(s, 1));
    /* A reading stored in this boot with the clock unsynchronised: by the boot-time clock. */
    append_n(s, 1, msg_clock_wall_ms());
    f = scan_seq(s, 3);
    TEST_CHECK(f.row.held.boot == MSG_HISTORY_BOOT_SAME && !f.row.held.stored_synced);
    TEST_CHECK(!msg_history_replay_held(&f.row.held));
    agent_store_close(s);
}

/* The schema of version 1, as the agent shipped it before it kept the boot-time clock. */
static const char schema_v1[] =
    "CREATE TABLE store_state ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " store_id TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " next_seq INTEGER NOT NULL,"
    " boot INTEGER NOT NULL,"
    " boot_id TEXT NOT NULL,"
    " conn INTEGER NOT NULL,"
    " held INTEGER NOT NULL,"
    " held_bytes INTEGER NOT NULL,"
    " rejected_held INTEGER NOT NULL,"
    " dropped_total INTEGER NOT NULL,"
    " acked_total INTEGER NOT NULL,"
    " rejected_total INTEGER NOT NULL);"
    "CREATE TABLE reading ("
    " seq INTEGER PRIMARY KEY,"
    " stream INTEGER NOT NULL,"
    " ts_ms INTEGER NOT NULL,"
    " age_ms INTEGER,"
    " stored_ms INTEGER NOT NULL,"
    " sends INTEGER NOT NULL,"
    " own_drop INTEGER NOT NULL,"
    " bytes INTEGER NOT NULL,"
    " payload BLOB NOT NULL);"
    "CREATE INDEX reading_age ON reading (age_ms) WHERE age_ms IS NOT NULL AND own_drop = 0;"
    "CREATE INDEX reading_own_drop ON reading (own_drop, seq) WHERE own_drop > 0;"
    "CREATE TABLE rejected ("
    " seq INTEGER PRIMARY KEY,"
    " stream INTEGER NOT NULL,"
    " ts_ms INTEGER NOT NULL,"
    " stored_ms INTEGER NOT NULL,"
    " rejected_ms INTEGER NOT NULL,"
    " sends INTEGER NOT NULL,"
    " reason TEXT NOT NULL,"
    " bytes INTEGER NOT NULL,"
    " payload BLOB NOT NULL);"
    "CREATE TRIGGER reading_held_add AFTER INSERT ON reading BEGIN"
    " UPDATE store_state SET held = held + 1, held_bytes = held_bytes + NEW.bytes"
    " WHERE id = 1; END;"
    "CREATE TRIGGER reading_held_del AFTER DELETE ON reading BEGIN"
    " UPDATE store_state SET held = held - 1, held_bytes = held_bytes - OLD.bytes"
    " WHERE id = 1; END;"
    "CREATE TRIGGER rejected_held_add AFTER INSERT ON rejected BEGIN"
    " UPDATE store_state SET rejected_held = rejected_held + 1 WHERE id = 1; END;"
    "CREATE TRIGGER rejected_held_del AFTER DELETE ON rejected BEGIN"
    " UPDATE store_state SET rejected_held = rejected_held - 1 WHERE id = 1; END;"
    "INSERT INTO store_state VALUES (1, '0badc0de-0000-4000-8000-00000000d00d', 1, 8, 3,"
    " '00000000-0000-4000-8000-000000000001', 12, 0, 0, 0, 2, 5, 0);"
    "PRAGMA user_version = 1;";

static void test_upgrade_from_version_1_keeps_readings(void)
{
    char p[300];
    char sql[600];
    struct agent_store_options o = opts(100, 100000);
    struct agent_store *s;
    struct first_row f;
    struct agent_store_stats st;
    int64_t now = msg_clock_wall_ms();

    new_path(p, sizeof(p));
    sql_on(p, "PRAGMA page_size = 1024; PRAGMA auto_vacuum = INCREMENTAL;"
              " PRAGMA journal_mode = WAL;");
    sql_on(p, schema_v1);
    /* two readings held by the old agent: seq 6 stored 10 s ago, seq 7 an hour ago */
    snprintf(sql, sizeof(sql),
             "INSERT INTO reading VALUES (6, %d, %" PRId64 ", %" PRId64 ", %" PRId64
             ", 1, 0, 5, 'six!!');"
             "INSERT INTO reading VALUES (7, %d, %" PRId64 ", NULL, %" PRId64
             ", 0, 0, 7, 'seven!!');",
             (int)MSG_STREAM_FLOOD, now - 10000, now - 10000, now - 10000,
             (int)MSG_STREAM_FLOOD, now - INT64_C(3600000), now - INT64_C(3600000));
    sql_on(p, sql);
    TEST_CHECK(int_on(p, "PRAGMA user_version") == 1);
    s = open_or_die(p, &o);   /* the same boot id as the file's: boot stays 3 */
    if (s == NULL) {
        return;
    }
    TEST_CHECK(int_on(p, "PRAGMA user_version") == 3);
    TEST_CHECK(strcmp(agent_store_id(s), "0badc0de-0000-4000-8000-00000000d00d") == 0);
    st = stats(s);
    TEST_CHECK(st.held == 2 && st.held_bytes == 12 && st.first_seq == 6 && st.last_seq == 7);
    TEST_CHECK(st.boot == 3 && st.boot_current && st.conn == 12 && st.dropped == 2 &&
               st.acked == 5);
    f = scan_seq(s, 6);
    TEST_CHECK(f.row.stream == MSG_STREAM_FLOOD && f.row.ts_ms == now - 10000 &&
               f.row.stored_ms == now - 10000 && f.row.sends == 1);
    TEST_CHECK(f.row.payload_len == 5 && strcmp(f.payload, "six!!") == 0);
    /* what the old rows did not record is unknown: measured by the wall clock, as before */
    TEST_CHECK(f.row.held.boot == MSG_HISTORY_BOOT_UNKNOWN);
    TEST_CHECK(!msg_history_replay_held(&f.row.held));
    f = scan_seq(s, 7);
    TEST_CHECK(f.row.payload_len == 7 && strcmp(f.payload, "seven!!") == 0);
    TEST_CHECK(f.row.held.boot == MSG_HISTORY_BOOT_UNKNOWN);
    TEST_CHECK(msg_history_replay_held(&f.row.held));
    /* the sequence goes on; a new reading keeps the boot-time clock */
    append_n(s, 1, now);
    f = scan_seq(s, 8);
    TEST_CHECK(f.row.held.boot == MSG_HISTORY_BOOT_SAME);
    TEST_CHECK(int_on(p, "SELECT count(*) FROM reading WHERE stored_boot = 3"
                         " AND stored_boot_ms IS NOT NULL AND stored_synced = 1") == 1);
    agent_store_close(s);
    /* reopened: no second upgrade, nothing lost */
    s = open_or_die(p, &o);
    TEST_CHECK(s != NULL && stats(s).held == 3);
    agent_store_close(s);
    /* a version this agent does not know is refused, the file left alone */
    sql_on(p, "PRAGMA user_version = 4");
    {
        char err[MSG_ERRLEN] = "";

        s = NULL;
        TEST_CHECK(agent_store_open_opts(p, &o, &s, err, sizeof(err)) == MSG_ERR_DB && s == NULL);
        TEST_CHECK(strstr(err, "schema version 4") != NULL);
        TEST_MSG("%s", err);
    }
    TEST_CHECK(int_on(p, "SELECT count(*) FROM reading") == 3);
}

struct writer {
    const char *path;
    int rc;
    uint64_t seqs[1000];
    size_t n;
};

static void *write_loop(void *arg)
{
    struct writer *w = arg;
    struct agent_store_options o = opts(100000, 100000000);
    struct agent_store *s = NULL;
    char err[MSG_ERRLEN] = "";

    o.count_boot = false;
    w->rc = agent_store_open_opts(w->path, &o, &s, err, sizeof(err));
    for (int i = 0; w->rc == MSG_OK && i < 100; i++) {
        struct msg_event evs[5];

        for (int k = 0; k < 5; k++) {
            evs[k] = flood(k, msg_clock_wall_ms());
        }
        w->rc = agent_store_append(s, evs, 5, err, sizeof(err));
        for (int k = 0; w->rc == MSG_OK && k < 5; k++) {
            w->seqs[w->n++] = evs[k].env.seq;
        }
    }
    if (w->rc != MSG_OK) {
        fprintf(stderr, "writer: %s\n", err);
    }
    agent_store_close(s);
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static void test_two_handles_append_at_once(void)
{
    char p[300];
    struct agent_store_options o = opts(100000, 100000000);
    struct agent_store *s = open_or_die(new_path(p, sizeof(p)), &o);
    struct writer *w = calloc(2, sizeof(*w));
    uint64_t *all = calloc(2000, sizeof(*all));
    pthread_t th[2];
    size_t n = 0;

    agent_store_close(s);   /* created; now two other handles */
    for (int i = 0; i < 2; i++) {
        w[i].path = p;
        pthread_create(&th[i], NULL, write_loop, &w[i]);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        TEST_CHECK(w[i].rc == MSG_OK && w[i].n == 500);
        for (size_t k = 0; k < w[i].n; k++) {
            all[n++] = w[i].seqs[k];
        }
    }
    qsort(all, n, sizeof(all[0]), cmp_u64);
    for (size_t k = 0; k < n; k++) {
        TEST_CHECK(all[k] == k + 1);   /* every seq once: 1..1000 */
    }
    s = open_or_die(p, &o);
    TEST_CHECK(s != NULL && stats(s).held == 1000 && stats(s).last_seq == 1000);
    agent_store_close(s);
    free(w);
    free(all);
}

static void test_file_stays_bounded_when_full_and_churning(void)
{
    char p[300], err[MSG_ERRLEN] = "";
    struct agent_store_options o = opts(2000, 100000000);
    struct agent_store *s = open_or_die(new_path(p, sizeof(p)), &o);
    uint64_t after_fill, after_churn, after_ack;
    struct msg_range all = {1, MSG_SEQ_MAX};

    if (s == NULL) {
        return;
    }
    for (int i = 0; i < 40; i++) {
        append_n(s, 100, msg_clock_wall_ms());
    }
    after_fill = stats(s).file_bytes;
    for (int i = 0; i < 200; i++) {
        append_n(s, 100, msg_clock_wall_ms());
    }
    after_churn = stats(s).file_bytes;
    TEST_CHECK(stats(s).held <= 2000);
    TEST_CHECK(after_churn < after_fill * 3 / 2 + 1100000);   /* + at most the WAL's limit */
    TEST_MSG("file %" PRIu64 " after filling, %" PRIu64 " after churning", after_fill,
             after_churn);
    /* a big acknowledgement releases the pages, at once */
    TEST_CHECK(agent_store_ack(s, &all, 1, NULL, err, sizeof(err)) == MSG_OK);
    after_ack = stats(s).file_bytes;
    TEST_CHECK(after_ack < after_fill / 2);
    TEST_MSG("file %" PRIu64 " right after the ack (was %" PRIu64 ")", after_ack, after_fill);
    append_n(s, 1, msg_clock_wall_ms());
    agent_store_close(s);
    s = open_or_die(p, &o);
    after_ack = stats(s).file_bytes;
    TEST_CHECK(after_ack < after_fill / 2);
    TEST_MSG("file %" PRIu64 " after the ack (was %" PRIu64 ")", after_ack, after_fill);
    agent_store_close(s);
}

static void test_append_rejects_non_readings(void)
{
    char p[300], err[MSG_ERRLEN] = "";
    struct agent_store_options o = opts(100, 100000);
    struct agent_store *s = open_or_die(new_path(p, sizeof(p)), &o);
    struct msg_event evs[2];

    if (s == NULL) {
        return;
    }
    evs[0] = flood(1, msg_clock_wall_ms());
    evs[1] = flood(2, msg_clock_wall_ms());
    evs[1].stream = MSG_STREAM_STATUS;
    TEST_CHECK(agent_store_append(s, evs, 2, err, sizeof(err)) == MSG_ERR_INVAL);
    TEST_CHECK(strstr(err, "reading 2 of 2") != NULL);
    TEST_CHECK(stats(s).held == 0 && stats(s).last_seq == 0);   /* nothing of the batch */
    agent_store_close(s);
}

/* Acknowledged readings are kept for a restore (protocol.md 6.3): not held, not scanned; a
 * restore of a new epoch takes back exactly those acknowledged in its window, once, unchanged;
 * the collector's resend then acknowledges them again. */
static void test_restore_takes_back_kept_readings_once(void)
{
    char p[300], err[MSG_ERRLEN] = "";
    struct agent_store_options o = opts(1000, 1000000);
    struct agent_store *s;
    struct held *h = calloc(1, sizeof(*h));
    struct msg_range first[] = {{1, 4}};
    struct msg_range second[] = {{5, 8}};
    uint64_t deleted = 0;
    uint64_t taken = 99;
    int64_t t0;
    int64_t t1;
    struct agent_store_stats st;

    o.limits.keep_acked_ms = 3600 * 1000;
    s = open_or_die(new_path(p, sizeof(p)), &o);
    if (s == NULL || h == NULL) {
        free(h);
        agent_store_close(s);
        return;
    }
    append_n(s, 10, msg_clock_wall_ms());
    TEST_CHECK(agent_store_ack(s, first, 1, &deleted, err, sizeof(err)) == MSG_OK && deleted == 4);
    t0 = msg_clock_wall_ms();
    /* the first four were acknowledged before the point: move their time back an hour less a
     * minute, inside the window but before the restore's */
    sql_on(p, "UPDATE kept SET acked_ms = acked_ms - 3540000");
    TEST_CHECK(agent_store_ack(s, second, 1, &deleted, err, sizeof(err)) == MSG_OK && deleted == 4);
    t1 = msg_clock_wall_ms();
    st = stats(s);
    TEST_CHECK(st.held == 2 && st.kept == 8 && st.kept_bytes > 8 * 100 && st.acked == 8);
    TEST_CHECK(st.restore_epoch == 0);
    scan_all(s, h);
    TEST_CHECK(h->n == 2 && h->seq[0] == 9);   /* kept readings are not held */
    /* a restore whose window covers the second acknowledgement only */
    TEST_CHECK(agent_store_restore(s, 2, t0 - 1000, t1 + 1000, &taken, err, sizeof(err)) ==
               MSG_OK);
    TEST_MSG("%s", err);
    TEST_CHECK(taken == 4);
    st = stats(s);
    TEST_CHECK(st.held == 6 && st.kept == 4 && st.restore_epoch == 2);
    scan_all(s, h);
    TEST_CHECK(h->n == 6 && h->seq[0] == 5 && h->seq[3] == 8 && h->sends[0] == 1);
    /* the same epoch again (the retained message at each connect), or an older one: nothing */
    TEST_CHECK(agent_store_restore(s, 2, 0, INT64_MAX, &taken, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(taken == 0 && stats(s).held == 6);
    TEST_CHECK(agent_store_restore(s, 1, 0, INT64_MAX, &taken, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(taken == 0);
    /* their acknowledgement (as duplicates) keeps them again; the epoch survives a reopen */
    TEST_CHECK(agent_store_ack(s, second, 1, &deleted, err, sizeof(err)) == MSG_OK && deleted == 4);
    agent_store_close(s);
    s = open_or_die(p, &o);
    if (s == NULL) {
        free(h);
        return;
    }
    st = stats(s);
    TEST_CHECK(st.held == 2 && st.kept == 8 && st.restore_epoch == 2);
    /* a later restore with a window over everything takes all eight back */
    TEST_CHECK(agent_store_restore(s, 3, 0, INT64_MAX, &taken, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(taken == 8 && stats(s).held == 10 && stats(s).kept == 0);
    agent_store_close(s);
    free(h);
}

/* Kept readings give way: past their window, and first when the store is full (never a held
 * one for them), and going is not a drop. An acknowledgement time of an unsynchronised clock
 * is taken back by any restore. */
static void test_kept_readings_go_first_and_are_never_dropped(void)
{
    char p[300], err[MSG_ERRLEN] = "";
    struct agent_store_options o = opts(20, 1000000);
    struct agent_store *s;
    struct msg_range all[] = {{1, 15}};
    uint64_t deleted = 0;
    uint64_t taken = 0;
    struct agent_store_stats st;

    o.limits.keep_acked_ms = 3600 * 1000;
    s = open_or_die(new_path(p, sizeof(p)), &o);
    if (s == NULL) {
        return;
    }
    append_n(s, 15, msg_clock_wall_ms());
    TEST_CHECK(agent_store_ack(s, all, 1, &deleted, err, sizeof(err)) == MSG_OK && deleted == 15);
    st = stats(s);
    TEST_CHECK(st.held == 0 && st.kept == 15);
    /* 12 new readings: held 12 + kept 15 > 20, so the 7 oldest kept go, no held reading */
    append_n(s, 12, msg_clock_wall_ms());
    st = stats(s);
    TEST_CHECK(st.held == 12 && st.kept == 8 && st.dropped == 0);
    TEST_MSG("held %" PRIu64 " kept %" PRIu64 " dropped %" PRIu64, st.held, st.kept, st.dropped);
    TEST_CHECK(int_on(p, "SELECT min(seq) FROM kept") == 8);
    /* past the window: gone at the next transaction that trims */
    sql_on(p, "UPDATE kept SET acked_ms = acked_ms - 7200000 WHERE seq < 12");
    append_n(s, 1, msg_clock_wall_ms());
    st = stats(s);
    TEST_CHECK(st.kept == 4 && st.dropped == 0);
    /* an acknowledgement timed by an unsynchronised clock is outside no window */
    sql_on(p, "UPDATE kept SET acked_synced = 0 WHERE seq = 12");
    TEST_CHECK(agent_store_restore(s, 5, 0, 1, &taken, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(taken == 1 && stats(s).held == 14);
    agent_store_close(s);
    /* keep_acked_ms 0 (`report`, or an agent configured so): nothing is kept, none expired */
    o.limits.keep_acked_ms = 0;
    s = open_or_die(p, &o);
    if (s == NULL) {
        return;
    }
    TEST_CHECK(agent_store_ack(s, all, 1, &deleted, err, sizeof(err)) == MSG_OK);
    st = stats(s);
    TEST_CHECK(st.kept == 3 && st.held == 13);
    agent_store_close(s);
}

TEST_LIST = {
    {"create_reopen_and_store_id", test_create_reopen_and_store_id},
    {"bad_limits_and_path", test_bad_limits_and_path},
    {"append_scan_ack_mark", test_append_scan_ack_mark},
    {"scan_stops_when_fn_says", test_scan_stops_when_fn_says},
    {"shrink_releases_cache_and_keeps_working", test_shrink_releases_cache_and_keeps_working},
    {"seq_never_reused_across_reopen", test_seq_never_reused_across_reopen},
    {"next_conn_durable", test_next_conn_durable},
    {"max_readings_drops_oldest_and_reports", test_max_readings_drops_oldest_and_reports},
    {"reports_handed_out_and_unsent_are_merged_later",
     test_reports_handed_out_and_unsent_are_merged_later},
    {"report_process_leaves_young_reports_alone",
     test_report_process_leaves_young_reports_alone},
    {"max_bytes_and_oversized", test_max_bytes_and_oversized},
    {"max_age_expires_synced_readings_only", test_max_age_expires_synced_readings_only},
    {"reject_and_rejected_overflow", test_reject_and_rejected_overflow},
    {"damaged_file_moved_aside_new_store", test_damaged_file_moved_aside_new_store},
    {"boot_counter_counts_system_boots", test_boot_counter_counts_system_boots},
    {"two_handles_append_at_once", test_two_handles_append_at_once},
    {"file_stays_bounded_when_full_and_churning", test_file_stays_bounded_when_full_and_churning},
    {"readings_in_flight_are_not_dropped", test_readings_in_flight_are_not_dropped},
    {"append_rejects_non_readings", test_append_rejects_non_readings},
    {"replay_by_boot_time_survives_a_wall_clock_step",
     test_replay_by_boot_time_survives_a_wall_clock_step},
    {"replay_across_a_reboot", test_replay_across_a_reboot},
    {"upgrade_from_version_1_keeps_readings", test_upgrade_from_version_1_keeps_readings},
    {"restore_takes_back_kept_readings_once", test_restore_takes_back_kept_readings_once},
    {"kept_readings_go_first_and_are_never_dropped",
     test_kept_readings_go_first_and_are_never_dropped},
    {NULL, NULL},
};
