/* bench_outage_fill.c -- a day-long outage's backlog in a pantau-agent's store, in seconds: the
 * agent's own simulator source, driven on an accelerated clock, hands its readings to the
 * agent's own store module, with the envelope the agent's emit gives them.
 *
 *   bench_outage_fill -c AGENT.conf [--hours H] [--batch N]
 *
 * AGENT.conf is the agent's config (device_id, store_path, clock_sync, the store's limits) with
 * one `[source simulator]` section whose `start` is set (its simulated clock: the first sample
 * is taken at `start`). The tool polls the simulator with a monotonic time that runs from 0 to
 * H hours in steps of the simulator's own next deadline (so the day passes in the time the
 * samples take to make), and appends what it emits: the same rows the agent would have written
 * had it run offline for those hours (agent_intake_emit's envelope: the store id, seq from the
 * store, replay false, clock_synced from the clock, the store's boot, no mono_ms since the
 * simulator stamps its own ts), but up to N readings per transaction instead of one (the rows
 * are the same; only the fsyncs differ). The store is opened with count_boot as the agent opens
 * it, so that the agent started afterwards in this boot finds its own boot. What differs from a
 * real day: the store's `stored_ms` (and the time since boot) of each row is when this tool
 * wrote it, so the agent's `replay` flag is false for those held less than the lateness
 * (protocol.md 4.1); the rows and their payloads are otherwise what the agent stores.
 *
 * Prints `device=<id> store=<store id> readings=<n> first_seq=<a> last_seq=<b>` and exits 0; 1 on
 * a store or source failure, 2 on a bad config or usage.
 *
 * A benchmark tool (tests/bench/scale/bench_outage.py builds and runs it), not a test. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_clock.h"
#include "agent_config.h"
#include "agent_source.h"
#include "agent_store.h"
#include "log.h"
#include "msg_err.h"
#include "msg_event.h"

#define FILL_BATCH_MAX 1000

struct fill {
    const struct agent_config *cfg;
    struct agent_store *store;
    uint64_t boot;
    struct msg_event *buf; /* FILL_BATCH_MAX events */
    size_t n;
    size_t batch;
    uint64_t appended;
    uint64_t first_seq;
    uint64_t last_seq;
    int rc; /* the first failure of a flush */
    char err[MSG_ERRLEN];
};

static int flush(struct fill *f)
{
    int rc;

    if (f->n == 0) {
        return MSG_OK;
    }
    rc = agent_store_append(f->store, f->buf, f->n, f->err, sizeof(f->err));
    if (rc != MSG_OK) {
        return rc;
    }
    if (f->first_seq == 0) {
        f->first_seq = f->buf[0].env.seq;
    }
    f->last_seq = f->buf[f->n - 1].env.seq;
    f->appended += f->n;
    f->n = 0;
    return MSG_OK;
}

/* agent_intake_emit's envelope (engine/agent_intake.c), then a buffered append. */
static int on_emit(void *ctx, const struct msg_event *in, char *err, size_t errlen)
{
    struct fill *f = ctx;
    struct msg_event *ev = NULL;
    struct agent_clock_now now;
    int rc;

    if (f->rc != MSG_OK) {
        snprintf(err, errlen, "%s", f->err);
        return f->rc;
    }
    ev = &f->buf[f->n];
    *ev = *in;
    agent_clock_read(f->cfg->clock_sync, &now);
    memcpy(ev->device_id, f->cfg->device_id, sizeof(ev->device_id));
    memcpy(ev->env.store_id, agent_store_id(f->store), sizeof(ev->env.store_id));
    ev->env.seq = 1; /* the store assigns the real one */
    ev->env.replay = false;
    ev->env.clock_synced = now.synced;
    ev->env.has_boot = true;
    ev->env.boot = f->boot;
    if (ev->env.ts_ms == 0) {
        ev->env.ts_ms = now.wall_ms;
        ev->env.has_mono = true;
        ev->env.mono_ms = now.mono_ms;
    } else {
        ev->env.has_mono = false;
        ev->env.mono_ms = 0;
    }
    rc = msg_event_validate(ev, err, errlen);
    if (rc != MSG_OK) {
        return rc;
    }
    f->n++;
    if (f->n >= f->batch) {
        f->rc = flush(f);
        if (f->rc != MSG_OK) {
            snprintf(err, errlen, "%s", f->err);
            return f->rc;
        }
    }
    return MSG_OK;
}

static void usage(void)
{
    fprintf(stderr, "Usage: bench_outage_fill -c AGENT.conf [--hours H] [--batch N]\n");
}

int main(int argc, char **argv)
{
    struct agent_config *cfg = NULL;
    struct agent_store_options opt;
    struct agent_store_stats st;
    struct fill f;
    struct agent_emit emit;
    const struct agent_config_source *cs = NULL;
    const char *conf = NULL;
    void *state = NULL;
    double hours = 24.0;
    long batch = 200;
    int64_t t = 0;
    int64_t end_ms;
    char err[MSG_ERRLEN] = "";
    int status = 2;
    int rc;

    memset(&f, 0, sizeof(f));
    for (int i = 1; i < argc; i += 2) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (v != NULL && strcmp(argv[i], "-c") == 0) {
            conf = v;
        } else if (v != NULL && strcmp(argv[i], "--hours") == 0) {
            hours = strtod(v, NULL);
        } else if (v != NULL && strcmp(argv[i], "--batch") == 0) {
            batch = strtol(v, NULL, 10);
        } else {
            usage();
            return 2;
        }
    }
    if (conf == NULL || hours <= 0 || batch < 1 || batch > FILL_BATCH_MAX) {
        usage();
        return 2;
    }
    end_ms = (int64_t)(hours * 3600000.0);
    cfg = calloc(1, sizeof(*cfg));
    f.buf = calloc(FILL_BATCH_MAX, sizeof(*f.buf));
    if (cfg == NULL || f.buf == NULL) {
        fprintf(stderr, "bench_outage_fill: out of memory\n");
        status = 1;
        goto out;
    }
    rc = agent_config_load(conf, cfg, err, sizeof(err));
    if (rc != MSG_OK) {
        fprintf(stderr, "bench_outage_fill: %s\n", err);
        goto out;
    }
    log_setup(LOG_WARNING, LOG_TO_STDERR);
    for (size_t i = 0; i < cfg->n_sources; i++) {
        if (strcmp(cfg->sources[i].source->name, "simulator") == 0) {
            cs = &cfg->sources[i];
        }
    }
    if (cs == NULL) {
        fprintf(stderr, "bench_outage_fill: %s: no [source simulator] section\n", conf);
        goto out;
    }
    memset(&opt, 0, sizeof(opt));
    agent_config_store_limits(cfg, &opt.limits);
    opt.count_boot = true; /* as the agent opens it: the agent afterwards finds its boot */
    opt.clock_sync = cfg->clock_sync;
    status = 1;
    rc = agent_store_open_opts(cfg->store_path, &opt, &f.store, err, sizeof(err));
    if (rc == MSG_OK) {
        rc = agent_store_stats(f.store, &st, err, sizeof(err));
    }
    if (rc != MSG_OK) {
        fprintf(stderr, "bench_outage_fill: %s\n", err);
        goto out;
    }
    f.cfg = cfg;
    f.boot = st.boot;
    f.batch = (size_t)batch;
    emit.fn = on_emit;
    emit.ctx = &f;
    emit.device_id = cfg->device_id;
    rc = cs->source->open(&state, cs->conf.bytes, &emit, err, sizeof(err));
    if (rc != MSG_OK) {
        fprintf(stderr, "bench_outage_fill: opening the simulator: %s\n", err);
        goto out;
    }
    while (t < end_ms) {
        struct agent_source_wait wait;

        rc = cs->source->poll(state, t, &wait, err, sizeof(err));
        if (rc != MSG_OK || f.rc != MSG_OK) {
            fprintf(stderr, "bench_outage_fill: %s\n", f.rc != MSG_OK ? f.err : err);
            goto out;
        }
        if (wait.next_ms == INT64_MAX) {
            break; /* the simulator's count is reached */
        }
        t = wait.next_ms > t ? wait.next_ms : t + 1;
    }
    if (flush(&f) != MSG_OK) {
        fprintf(stderr, "bench_outage_fill: %s\n", f.err);
        goto out;
    }
    printf("device=%s store=%s readings=%llu first_seq=%llu last_seq=%llu\n", cfg->device_id,
           agent_store_id(f.store), (unsigned long long)f.appended, (unsigned long long)f.first_seq,
           (unsigned long long)f.last_seq);
    status = 0;
out:
    if (cs != NULL && state != NULL) {
        cs->source->close(state);
    }
    agent_store_close(f.store);
    free(f.buf);
    free(cfg);
    return status;
}
