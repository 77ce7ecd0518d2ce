/* agent_store_torture.c -- the writer that tests/integration/test_agent_store_crash.py kills
 * with SIGKILL at random moments, and the reader that checks the store afterwards. Not a test
 * by itself (built by edge-agent/store.cmake).
 *
 *   agent_store_torture write PATH SEED   appends for ever; prints, each with one write(2)
 *                                         after the call returned:
 *                                           open STORE_ID LAST_SEQ BOOT
 *                                           A FIRST LAST     (appended, durable)
 *                                           K UPTO           (acked every seq <= UPTO that
 *                                                             the ack pattern names)
 *                                           C CONN           (a connection counter handed out)
 *   agent_store_torture dump PATH          prints `id STORE_ID`, `last LAST_SEQ`, `conn CONN`,
 *                                         `held N` and one `h SEQ` per held reading
 *
 * The ack pattern: the writer acknowledges exactly the seqs divisible by 3, so the checker
 * knows which printed seqs may be gone. Exit status: 0, or 1 with the reason on stderr. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent_store.h"
#include "msg_err.h"
#include "msg_event.h"
#include "msg_range.h"

#define TORTURE_ACK_EVERY 3   /* the ack pattern: seq % 3 == 0 */

/* One line "<tag> A[ B]" with one write(2): a kill never leaves half a line behind. */
static void say(char tag, uint64_t a, bool two, uint64_t b)
{
    char line[128];
    int n = two ? snprintf(line, sizeof(line), "%c %" PRIu64 " %" PRIu64 "\n", tag, a, b)
                : snprintf(line, sizeof(line), "%c %" PRIu64 "\n", tag, a);

    if (n > 0 && write(1, line, (size_t)n) != n) {
        exit(1);
    }
}

static uint64_t next_rand(uint64_t *x)
{
    uint64_t z;

    *x += UINT64_C(0x9e3779b97f4a7c15);
    z = *x;
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static struct agent_store_limits limits(void)
{
    struct agent_store_limits lim;

    lim.max_readings = 100000000;
    lim.max_bytes = INT64_C(100000000000);
    lim.max_age_ms = 0;
    lim.max_rejected = 1000;
    return lim;
}

static int do_write(const char *path, uint64_t seed)
{
    struct agent_store_limits lim = limits();
    struct agent_store *s = NULL;
    struct agent_store_stats st;
    struct msg_range acks[1000];
    struct msg_event evs[16];
    uint64_t marks[16];
    char err[MSG_ERRLEN] = "";
    uint64_t acked_upto;
    uint64_t rnd = seed;
    int rc;

    rc = agent_store_open(path, &lim, true, &s, err, sizeof(err));
    if (rc == MSG_OK) {
        rc = agent_store_stats(s, &st, err, sizeof(err));
    }
    if (rc != MSG_OK) {
        fprintf(stderr, "torture: %s\n", err);
        agent_store_close(s);
        return 1;
    }
    {
        char line[128];
        int n = snprintf(line, sizeof(line), "open %s %" PRIu64 " %" PRIu64 "\n",
                         agent_store_id(s), st.last_seq, st.boot);

        if (write(1, line, (size_t)n) != n) {
            return 1;
        }
    }
    acked_upto = st.last_seq;   /* earlier runs' seqs: the checker already judged them */
    for (;;) {
        size_t n = 1 + next_rand(&rnd) % 12;
        uint64_t r = next_rand(&rnd) % 100;
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        for (size_t i = 0; i < n; i++) {
            memset(&evs[i], 0, sizeof(evs[i]));
            evs[i].stream = MSG_STREAM_FLOOD;
            evs[i].env.ts_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
            evs[i].env.clock_synced = true;
            snprintf(evs[i].u.flood.station, sizeof(evs[i].u.flood.station), "st-%zu", i);
            evs[i].u.flood.has_level = true;
            evs[i].u.flood.level_cm = (double)(next_rand(&rnd) % 100000) / 100.0;
        }
        rc = agent_store_append(s, evs, n, err, sizeof(err));
        if (rc != MSG_OK) {
            break;
        }
        say('A', evs[0].env.seq, true, evs[n - 1].env.seq);
        if (r < 20) {
            /* acknowledge the pattern's seqs up to the newest */
            uint64_t upto = evs[n - 1].env.seq;
            size_t k = 0;

            for (uint64_t q = acked_upto + 1; q <= upto && k < 1000; q++) {
                if (q % TORTURE_ACK_EVERY == 0) {
                    acks[k].first = q;
                    acks[k].last = q;
                    k++;
                    upto = q;
                }
            }
            if (k > 0) {
                rc = agent_store_ack(s, acks, k, NULL, err, sizeof(err));
                if (rc != MSG_OK) {
                    break;
                }
                acked_upto = upto;
                say('K', upto, false, 0);
            }
        } else if (r < 40) {
            for (size_t i = 0; i < n; i++) {
                marks[i] = evs[i].env.seq;
            }
            rc = agent_store_mark_sent(s, marks, n, err, sizeof(err));
            if (rc != MSG_OK) {
                break;
            }
        } else if (r < 45) {
            uint64_t conn = 0;

            rc = agent_store_next_conn(s, &conn, err, sizeof(err));
            if (rc != MSG_OK) {
                break;
            }
            say('C', conn, false, 0);
        }
    }
    fprintf(stderr, "torture: %s\n", err);
    agent_store_close(s);
    return 1;
}

struct dump_ctx {
    uint64_t last;
    size_t n;
};

static bool print_row(void *ctx, const struct agent_store_row *row)
{
    struct dump_ctx *d = ctx;

    printf("h %" PRIu64 "\n", row->seq);
    d->last = row->seq;
    d->n++;
    return true;
}

static int do_dump(const char *path)
{
    struct agent_store_limits lim = limits();
    struct agent_store *s = NULL;
    struct agent_store_stats st;
    struct dump_ctx d = {0, 0};
    char err[MSG_ERRLEN] = "";
    int rc;

    rc = agent_store_open(path, &lim, false, &s, err, sizeof(err));
    if (rc == MSG_OK) {
        rc = agent_store_stats(s, &st, err, sizeof(err));
    }
    if (rc == MSG_OK) {
        printf("id %s\nlast %" PRIu64 "\nconn %" PRIu64 "\nheld %" PRIu64 "\n",
               agent_store_id(s), st.last_seq, st.conn, st.held);
    }
    while (rc == MSG_OK) {
        size_t before = d.n;

        rc = agent_store_scan(s, d.last, 10000, print_row, &d, err, sizeof(err));
        if (d.n == before) {
            break;
        }
    }
    agent_store_close(s);
    if (rc != MSG_OK) {
        fprintf(stderr, "torture: %s\n", err);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "write") == 0) {
        return do_write(argv[2], strtoull(argv[3], NULL, 10));
    }
    if (argc == 3 && strcmp(argv[1], "dump") == 0) {
        return do_dump(argv[2]);
    }
    fprintf(stderr, "usage: agent_store_torture write PATH SEED | dump PATH\n");
    return 2;
}
