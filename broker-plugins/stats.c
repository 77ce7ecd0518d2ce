/* stats.c -- the $SYS/pantau/<module> counters of the plugin's modules: see stats.h. */
#include "stats.h"

#include "promfile.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "msg_time.h"
#include "plugin_module.h"
#include "promfile.h"

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
        case STATS_GAUGE:
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

/* One series: "# HELP" and "# TYPE" (once per family, when type is not NULL) and the sample
 * line. */
static bool put_series(char *buf, size_t buflen, size_t *len, const char *module,
                       const char *name, const char *suffix, const char *type,
                       const char *labels, const char *value)
{
    bool ok = true;

    if (type != NULL) {
        ok = put(buf, buflen, len,
                 "# HELP pantau_broker_%s_%s%s The %s module's %s, as on $SYS/pantau/%s "
                 "(protocol.md 7.4).\n# TYPE pantau_broker_%s_%s%s %s\n",
                 module, name, suffix, module, name, module, module, name, suffix, type);
    }
    return ok && put(buf, buflen, len, "pantau_broker_%s_%s%s%s %s\n", module, name, suffix,
                     labels, value);
}

size_t stats_prometheus(const char *module, const struct stats_reasons *reasons,
                        const struct stats_member *members, size_t n_members, char *buf,
                        size_t buflen)
{
    char value[32];
    char labels[96];
    char name[64];
    size_t len = 0;
    bool ok = buflen > 0;

    if (ok) {
        buf[0] = '\0';
    }
    for (size_t i = 0; ok && i < n_members; i++) {
        const struct stats_member *m = &members[i];
        size_t nlen = strlen(m->name);

        switch (m->type) {
        case STATS_U64:
            snprintf(value, sizeof(value), "%" PRIu64, m->u);
            ok = put_series(buf, buflen, &len, module, m->name, "_total", "counter", "", value);
            break;
        case STATS_GAUGE:
        case STATS_BOOL:
            snprintf(value, sizeof(value), "%" PRIu64, m->type == STATS_BOOL ? (m->u != 0) : m->u);
            ok = put_series(buf, buflen, &len, module, m->name, "", "gauge", "", value);
            break;
        case STATS_I64:
            if (nlen > 3 && strcmp(m->name + nlen - 3, "_ms") == 0) {
                snprintf(name, sizeof(name), "%.*s", (int)(nlen - 3), m->name);
                snprintf(value, sizeof(value), "%" PRId64 ".%03d", m->i / 1000,
                         (int)(m->i % 1000 < 0 ? -(m->i % 1000) : m->i % 1000));
                ok = put_series(buf, buflen, &len, module, name, "_timestamp_seconds", "gauge",
                                "", value);
            } else {
                snprintf(value, sizeof(value), "%" PRId64, m->i);
                ok = put_series(buf, buflen, &len, module, m->name, "", "gauge", "", value);
            }
            break;
        case STATS_BY_REASON:
            /* "refused_by_reason" -> pantau_broker_<module>_refused_total{reason="..."} */
            ok = reasons != NULL && nlen > 10 &&
                 strcmp(m->name + nlen - 10, "_by_reason") == 0;
            snprintf(name, sizeof(name), "%.*s", (int)(nlen > 10 ? nlen - 10 : 0), m->name);
            for (size_t k = 0; ok && k < reasons->n; k++) {
                snprintf(labels, sizeof(labels), "{reason=\"%s\"}", reasons->names[k]);
                snprintf(value, sizeof(value), "%" PRIu64, reasons->counts[k]);
                ok = put_series(buf, buflen, &len, module, name, "_total",
                                k == 0 ? "counter" : NULL, labels, value);
            }
            break;
        default: /* STATS_TOTAL, STATS_EACH_REASON: the JSON's only */
            break;
        }
    }
    return ok ? len : 0;
}

void stats_publish(struct promfile *pf, const char *module, const struct stats_reasons *reasons,
                   const struct stats_member *members, size_t n_members)
{
    char buf[STATS_JSON_MAX];
    char prom[STATS_PROM_MAX];
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
    if (pf == NULL) {
        return;
    }
    len = stats_prometheus(module, reasons, members, n_members, prom, sizeof(prom));
    if (len == 0) {
        mosquitto_log_printf(MOSQ_LOG_WARNING, "%s: metrics do not fit %zu bytes", module,
                             sizeof(prom));
        return;
    }
    promfile_put(pf, module, prom, len);
}

bool stats_due(int64_t *next_ms, int64_t every_ms, int64_t now_ms)
{
    if (now_ms < *next_ms) {
        return false;
    }
    *next_ms = now_ms + every_ms;
    return true;
}
