/* agent_metrics.c -- the agent's metrics textfile: see agent_metrics.h. */
#include "agent_metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "msg_err.h"
#include "msg_file.h"

/* A bounded writer: the text so far, and whether everything fitted. */
struct mtext {
    char *buf;
    size_t len;
    size_t used;
    bool full;
};

static void put(struct mtext *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct mtext *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (t->full) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(t->buf + t->used, t->len - t->used, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= t->len - t->used) {
        t->full = true;
        return;
    }
    t->used += (size_t)n;
}

static void series(struct mtext *t, const char *type, const char *name, const char *help,
                   const char *device, uint64_t v)
{
    put(t, "# HELP pantau_agent_%s %s\n# TYPE pantau_agent_%s %s\n", name, help, name, type);
    put(t, "pantau_agent_%s{device=\"%s\"} %" PRIu64 "\n", name, device, v);
}

size_t agent_metrics_render(const struct agent_metrics *m, char *buf, size_t len)
{
    struct mtext t = {buf, len, 0, len == 0};
    const char *d = m->device_id;

    if (len == 0) {
        return 0;
    }
    buf[0] = '\0';
    put(&t, "# HELP pantau_agent_info The agent's version.\n# TYPE pantau_agent_info gauge\n");
    put(&t, "pantau_agent_info{device=\"%s\",version=\"%s\"} 1\n", d, m->version);
    put(&t, "# HELP pantau_agent_start_time_seconds When this run of the agent started.\n"
            "# TYPE pantau_agent_start_time_seconds gauge\n");
    put(&t, "pantau_agent_start_time_seconds{device=\"%s\"} %.3f\n", d, m->start_time_s);
    series(&t, "gauge", "connected", "1 while connected to the broker.", d, m->connected);
    series(&t, "gauge", "clock_synced",
           "1 while the clock is synchronised (readings' clock_synced).", d, m->clock_synced);
    series(&t, "gauge", "backlog_readings", "Readings in the store, not yet acknowledged.", d,
           m->held);
    series(&t, "gauge", "backlog_bytes", "Payload bytes of the readings in the store.", d,
           m->held_bytes);
    series(&t, "gauge", "kept_readings",
           "Acknowledged readings kept for a restore of the database (store_keep_acked_ms).", d,
           m->kept);
    series(&t, "gauge", "kept_bytes", "Payload bytes of the kept readings.", d, m->kept_bytes);
    series(&t, "gauge", "store_limit_readings",
           "Readings the store holds before it drops the oldest (store_max_readings).", d,
           m->limit_readings);
    series(&t, "gauge", "store_limit_bytes",
           "Payload bytes the store holds before it drops the oldest (store_max_bytes).", d,
           m->limit_bytes);
    series(&t, "gauge", "store_file_bytes", "Bytes of the store's files on disk (with its WAL).", d,
           m->file_bytes);
    series(&t, "counter", "readings_acknowledged_total",
           "Readings the collector acknowledged, since the store was made.", d, m->acked);
    series(&t, "counter", "readings_rejected_total",
           "Readings the broker refused for good, since the store was made.", d, m->rejected);
    series(&t, "counter", "readings_dropped_total",
           "Readings the store dropped (full, too old), since it was made.", d, m->dropped);
    series(&t, "counter", "published_total", "Readings sent for the first time, this run.", d,
           m->published);
    series(&t, "counter", "replayed_total", "Of those, sent from the backlog, this run.", d,
           m->replayed);
    series(&t, "counter", "resent_total", "Readings sent again after a timeout, this run.", d,
           m->resent);
    series(&t, "counter", "refusals_total", "PUBACKs refusing a reading, this run.", d,
           m->refusals);
    series(&t, "counter", "connects_total", "Connections made to the broker, this run.", d,
           m->connects);
    return t.full ? 0 : t.used;
}

int agent_metrics_write(const char *path, const char *text, size_t len, char *err, size_t errlen)
{
    size_t plen = strlen(path);

    if (plen < 6 || strcmp(path + plen - 5, ".prom") != 0) {
        snprintf(err, errlen, "'%s' is not a .prom file name", path);
        return -1;
    }
    /* node_exporter reads *.prom only: the temporary path.tmp is never half-read */
    return msg_file_write_atomic(path, text, len, 0644, 0, err, errlen) == MSG_OK ? 0 : -1;
}
