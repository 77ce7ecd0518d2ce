/* stats.c -- the $SYS/pantau/<module> counters of the plugin's modules: see stats.h. */
#include "stats.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "msg_time.h"
#include "plugin_module.h"

/* Appends to buf at *len; false once it no longer fits (buf is then of no use). */
static bool put(char *buf, size_t buflen, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool put(char *buf, size_t buflen, size_t *len, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (*len >= buflen) {
        return false;
    }
    va_start(ap, fmt);
    n = vsnprintf(buf + *len, buflen - *len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= buflen - *len) {
        return false;
    }
    *len += (size_t)n;
    return true;
}

static bool put_reasons(char *buf, size_t buflen, size_t *len, const struct stats_member *m,
                        const struct stats_reasons *r)
{
    uint64_t total = 0;
    size_t k;

    switch (m->type) {
    case STATS_TOTAL:
        for (k = 0; k < r->n; k++) {
            total += r->counts[k];
        }
        return put(buf, buflen, len, ",\"%s\":%" PRIu64, m->name, total);
    case STATS_BY_REASON:
        if (!put(buf, buflen, len, ",\"%s\":{", m->name)) {
            return false;
        }
        for (k = 0; k < r->n; k++) {
            if (!put(buf, buflen, len, "%s\"%s\":%" PRIu64, k > 0 ? "," : "", r->names[k],
                     r->counts[k])) {
                return false;
            }
        }
        return put(buf, buflen, len, "}");
    case STATS_EACH_REASON:
        for (k = 0; k < r->n; k++) {
            if (!put(buf, buflen, len, ",\"%s%s\":%" PRIu64, m->name, r->names[k], r->counts[k])) {
                return false;
            }
        }
        return true;
    default:
        return false;
    }
}

size_t stats_json(const char *module, int64_t wall_ms, const struct stats_reasons *reasons,
                  const struct stats_member *members, size_t n_members, char *buf, size_t buflen)
{
    char ts[MSG_TIME_LEN + 1];
    size_t len = 0;
    bool ok;
    size_t i;

    msg_time_format(wall_ms, ts);
    ok = put(buf, buflen, &len, "{\"module\":\"%s\",\"ts\":\"%s\"", module, ts);
    for (i = 0; ok && i < n_members; i++) {
        const struct stats_member *m = &members[i];

        switch (m->type) {
        case STATS_U64:
            ok = put(buf, buflen, &len, ",\"%s\":%" PRIu64, m->name, m->u);
            break;
        case STATS_I64:
            ok = put(buf, buflen, &len, ",\"%s\":%" PRId64, m->name, m->i);
            break;
        case STATS_BOOL:
            ok = put(buf, buflen, &len, ",\"%s\":%s", m->name, m->u != 0 ? "true" : "false");
            break;
        default:
            ok = reasons != NULL && put_reasons(buf, buflen, &len, m, reasons);
            break;
        }
    }
    ok = ok && put(buf, buflen, &len, "}");
    return ok ? len : 0;
}

void stats_publish(const char *module, const struct stats_reasons *reasons,
                   const struct stats_member *members, size_t n_members)
{
    char buf[STATS_JSON_MAX];
    char topic[64];
    size_t len;

    len = stats_json(module, msg_clock_wall_ms(), reasons, members, n_members, buf, sizeof(buf));
    if (len == 0) {
        mosquitto_log_printf(MOSQ_LOG_WARNING, "%s: counters do not fit %zu bytes", module,
                             sizeof(buf));
        return;
    }
    snprintf(topic, sizeof(topic), STATS_TOPIC_PREFIX "%s", module);
    mosquitto_broker_publish_copy(NULL, topic, (int)len, buf, 0, true, NULL);
}

bool stats_due(int64_t *next_ms, int64_t every_ms, int64_t now_ms)
{
    if (now_ms < *next_ms) {
        return false;
    }
    *next_ms = now_ms + every_ms;
    return true;
}
