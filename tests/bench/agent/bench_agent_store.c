/* bench_agent_store.c -- what the edge agent's store costs per reading: appends per second and
 * bytes written to the disk per reading, for transactions of 1, 10 and 100 readings.
 *
 *   bench_agent_store [ROUNDS [READINGS [DIR]]]     defaults: 5 rounds, 2000 readings, "."
 *
 * Each round, for each transaction size in turn (interleaved, so that a noisy neighbour hits
 * all of them alike), appends READINGS flood readings to a fresh store in DIR, and then does
 * the same with the reference: the same payload bytes appended to a plain file with one
 * fdatasync per transaction (the floor of any durable log). Bytes written are the process's
 * write_bytes from /proc/self/io (what reached the block layer: SQLite's WAL, checkpoints into
 * the database file, and the file system's own metadata are not in it; the page writes are),
 * and its wchar (bytes passed to write(2)). Write amplification = write_bytes / payload bytes.
 * Prints medians over the rounds.
 *
 * Then the backlog the issue sizes the agent for: 100,000 readings appended (transactions of
 * 100), the process's resident memory (VmRSS) before and after, the file size, the time to
 * scan the whole backlog oldest first in pages of 500 (as a replay does) and to acknowledge it
 * in ranges of 1,000 readings.
 *
 * A benchmark, not a test: it always exits 0 unless it cannot run. */
#include <fcntl.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent_store.h"
#include "msg_clock.h"
#include "msg_err.h"
#include "msg_event.h"
#include "msg_range.h"

#define MAX_ROUNDS 50
#define N_SIZES 3

static const size_t txn_sizes[N_SIZES] = {1, 10, 100};

struct io {
    uint64_t wchar;
    uint64_t write_bytes;
};

static struct io read_io(void)
{
    struct io io = {0, 0};
    char line[128];
    FILE *f = fopen("/proc/self/io", "r");

    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        unsigned long long v;

        if (sscanf(line, "wchar: %llu", &v) == 1) {
            io.wchar = v;
        } else if (sscanf(line, "write_bytes: %llu", &v) == 1) {
            io.write_bytes = v;
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return io;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct msg_event reading(uint64_t i)
{
    struct msg_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.stream = MSG_STREAM_FLOOD;
    ev.env.ts_ms = msg_clock_wall_ms();
    ev.env.clock_synced = true;
    ev.env.has_boot = true;
    ev.env.boot = 12;
    ev.env.has_mono = true;
    ev.env.mono_ms = 86400123 + i;
    snprintf(ev.u.flood.station, sizeof(ev.u.flood.station), "p2c-kali-bekasi");
    ev.u.flood.has_distance = true;
    ev.u.flood.offset_cm = 1050;
    ev.u.flood.distance_cm = 692.3 - (double)(i % 100) / 10.0;
    ev.u.flood.has_level = true;
    ev.u.flood.level_cm = 357.7 + (double)(i % 100) / 10.0;
    ev.u.flood.has_rise = true;
    ev.u.flood.rise_cm_h = 1.2;
    ev.u.flood.has_battery = true;
    ev.u.flood.battery_v = 12.61;
    return ev;
}

struct result {
    double per_s;
    double write_bytes;   /* per reading */
    double wchar;         /* per reading */
    double payload;       /* per reading */
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One round of the store: n readings in transactions of txn. */
static int run_store(const char *dir, size_t txn, size_t n, int round, struct result *r)
{
    struct agent_store_limits lim = {10000000, INT64_C(10000000000), 0, 1000, 0};
    struct msg_event evs[100];
    struct agent_store *s = NULL;
    struct agent_store_stats st;
    char path[512], side[520], err[MSG_ERRLEN] = "";
    struct io before, after;
    double t0, t1;
    int rc;

    snprintf(path, sizeof(path), "%s/bench-store-%zu-%d.db", dir, txn, round);
    unlink(path);
    rc = agent_store_open(path, &lim, true, &s, err, sizeof(err));
    if (rc != MSG_OK) {
        fprintf(stderr, "bench: %s\n", err);
        return rc;
    }
    before = read_io();
    t0 = now_s();
    for (size_t done = 0; done < n && rc == MSG_OK; done += txn) {
        for (size_t i = 0; i < txn; i++) {
            evs[i] = reading(done + i);
        }
        rc = agent_store_append(s, evs, txn, err, sizeof(err));
    }
    t1 = now_s();
    after = read_io();
    if (rc == MSG_OK) {
        rc = agent_store_stats(s, &st, err, sizeof(err));
    }
    if (rc != MSG_OK) {
        fprintf(stderr, "bench: %s\n", err);
    } else {
        r->per_s = (double)n / (t1 - t0);
        r->write_bytes = (double)(after.write_bytes - before.write_bytes) / (double)n;
        r->wchar = (double)(after.wchar - before.wchar) / (double)n;
        r->payload = (double)st.held_bytes / (double)n;
    }
    agent_store_close(s);
    snprintf(side, sizeof(side), "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", path);
    unlink(side);
    unlink(path);
    return rc;
}

/* The reference: the same payloads appended to a flat file, one fdatasync per transaction. */
static int run_reference(const char *dir, size_t txn, size_t n, int round, struct result *r)
{
    char path[512];
    char buf[100 * (MSG_PAYLOAD_MAX + 1)];
    struct io before, after;
    uint64_t payload = 0;
    double t0, t1;
    int fd;
    int rc = MSG_OK;

    snprintf(path, sizeof(path), "%s/bench-flat-%zu-%d.log", dir, txn, round);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    if (fd < 0) {
        perror(path);
        return MSG_ERR_IO;
    }
    before = read_io();
    t0 = now_s();
    for (size_t done = 0; done < n && rc == MSG_OK; done += txn) {
        size_t used = 0;

        for (size_t i = 0; i < txn; i++) {
            struct msg_event ev = reading(done + i);
            size_t len = 0;

            snprintf(ev.env.store_id, sizeof(ev.env.store_id),
                     "6f1c2b0e-9a57-4d1e-8d0c-3a1f2e4b5c6d");
            ev.env.seq = done + i + 1;
            msg_event_encode(&ev, buf + used, sizeof(buf) - used, &len);
            buf[used + len] = '\n';
            used += len + 1;
            payload += len;
        }
        if (write(fd, buf, used) != (ssize_t)used || fdatasync(fd) != 0) {
            perror(path);
            rc = MSG_ERR_IO;
        }
    }
    t1 = now_s();
    after = read_io();
    close(fd);
    unlink(path);
    r->per_s = (double)n / (t1 - t0);
    r->write_bytes = (double)(after.write_bytes - before.write_bytes) / (double)n;
    r->wchar = (double)(after.wchar - before.wchar) / (double)n;
    r->payload = (double)payload / (double)n;
    return rc;
}

static long rss_kib(void)
{
    char line[128];
    long kib = -1;
    FILE *f = fopen("/proc/self/status", "r");

    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) {
            break;
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return kib;
}

struct scan_ctx {
    uint64_t last;
    uint64_t bytes;
    size_t n;
};

static bool count_row(void *ctx, const struct agent_store_row *row)
{
    struct scan_ctx *c = ctx;

    c->last = row->seq;
    c->bytes += row->payload_len;
    c->n++;
    return true;
}

static int run_backlog(const char *dir)
{
    struct agent_store_limits lim = {200000, INT64_C(1000000000), 0, 1000, 0};
    struct agent_store *s = NULL;
    struct agent_store_stats st;
    struct agent_store_stats after_ack;
    struct msg_event evs[100];
    struct msg_range ranges[100];
    struct scan_ctx c = {0, 0, 0};
    char path[512], side[520], err[MSG_ERRLEN] = "";
    long rss0, rss1, rss2;
    double t0, t1, t2, t3;
    const size_t total = 100000;
    size_t before;
    int rc;

    snprintf(path, sizeof(path), "%s/bench-backlog.db", dir);
    unlink(path);
    rss0 = rss_kib();
    rc = agent_store_open(path, &lim, true, &s, err, sizeof(err));
    t0 = now_s();
    for (size_t done = 0; done < total && rc == MSG_OK; done += 100) {
        for (size_t i = 0; i < 100; i++) {
            evs[i] = reading(done + i);
        }
        rc = agent_store_append(s, evs, 100, err, sizeof(err));
    }
    t1 = now_s();
    rss1 = rss_kib();
    do {
        before = c.n;
        if (rc == MSG_OK) {
            rc = agent_store_scan(s, c.last, 500, count_row, &c, err, sizeof(err));
        }
    } while (rc == MSG_OK && c.n > before);
    t2 = now_s();
    rss2 = rss_kib();
    if (rc == MSG_OK) {
        rc = agent_store_stats(s, &st, err, sizeof(err));
    }
    for (uint64_t first = 1; rc == MSG_OK && first <= total; first += 100 * 1000) {
        for (size_t i = 0; i < 100; i++) {
            ranges[i].first = first + i * 1000;
            ranges[i].last = first + i * 1000 + 999;
        }
        rc = agent_store_ack(s, ranges, 100, NULL, err, sizeof(err));
    }
    t3 = now_s();
    if (rc == MSG_OK) {
        rc = agent_store_stats(s, &after_ack, err, sizeof(err));
    }
    if (rc != MSG_OK) {
        fprintf(stderr, "bench: backlog: %s\n", err);
    } else {
        printf("backlog: %zu readings appended in %.2f s (%.0f/s); file %.1f MiB; VmRSS %ld KiB "
               "before open, %ld after the appends, %ld after the scan\n",
               total, t1 - t0, (double)total / (t1 - t0), (double)st.file_bytes / 1048576.0, rss0,
               rss1, rss2);
        printf("backlog: scanned %zu readings (%.1f MiB of payload) oldest first in pages of "
               "500 in %.3f s (%.0f/s); acknowledged in ranges of 1000 in %.3f s, file then "
               "%.1f MiB\n",
               c.n, (double)c.bytes / 1048576.0, t2 - t1, (double)c.n / (t2 - t1), t3 - t2,
               (double)after_ack.file_bytes / 1048576.0);
    }
    agent_store_close(s);
    snprintf(side, sizeof(side), "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", path);
    unlink(side);
    unlink(path);
    return rc;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 5;
    size_t n = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 2000;
    const char *dir = argc > 3 ? argv[3] : ".";
    static struct result store[N_SIZES][MAX_ROUNDS];
    static struct result ref[N_SIZES][MAX_ROUNDS];
    double v[MAX_ROUNDS];

    if (rounds < 1 || rounds > MAX_ROUNDS || n < 100 || n % 100 != 0) {
        fprintf(stderr, "usage: bench_agent_store [ROUNDS 1..50 [READINGS, a multiple of 100 "
                        "[DIR]]]\n");
        return 2;
    }
    for (int round = 0; round < rounds; round++) {
        for (int k = 0; k < N_SIZES; k++) {
            if (run_store(dir, txn_sizes[k], n, round, &store[k][round]) != MSG_OK ||
                run_reference(dir, txn_sizes[k], n, round, &ref[k][round]) != MSG_OK) {
                return 1;
            }
        }
    }
    printf("bench_agent_store: %d rounds of %zu flood readings per transaction size, in %s\n",
           rounds, n, dir);
    printf("%-34s %5s %12s %14s %12s %12s %8s\n", "what", "txn", "readings/s", "write_bytes/r",
           "wchar/r", "payload/r", "ampl.");
    for (int k = 0; k < N_SIZES; k++) {
        for (int which = 0; which < 2; which++) {
            struct result *res = which == 0 ? ref[k] : store[k];
            double per_s, wb, wc, pl;

            for (int i = 0; i < rounds; i++) {
                v[i] = res[i].per_s;
            }
            per_s = median(v, rounds);
            for (int i = 0; i < rounds; i++) {
                v[i] = res[i].write_bytes;
            }
            wb = median(v, rounds);
            for (int i = 0; i < rounds; i++) {
                v[i] = res[i].wchar;
            }
            wc = median(v, rounds);
            for (int i = 0; i < rounds; i++) {
                v[i] = res[i].payload;
            }
            pl = median(v, rounds);
            printf("%-34s %5zu %12.0f %14.0f %12.0f %12.0f %8.2f\n",
                   which == 0 ? "reference: flat file + fdatasync" : "agent_store_append",
                   txn_sizes[k], per_s, wb, wc, pl, pl > 0 ? wb / pl : 0);
        }
        {
            double rs[MAX_ROUNDS];

            for (int i = 0; i < rounds; i++) {
                rs[i] = store[k][i].per_s / ref[k][i].per_s;
            }
            printf("%-34s %5zu %12.2f\n", "ratio store / reference (per round)", txn_sizes[k],
                   median(rs, rounds));
        }
    }
    return run_backlog(dir) == MSG_OK ? 0 : 1;
}
