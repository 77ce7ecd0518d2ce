/* stats.h -- the counters of pantau_broker.so's modules on $SYS/pantau/<module> (protocol.md
 * 7.4), written and published by one function for devauth, devacl and payval, and the interval
 * gate their ticks use.
 *
 * A module describes its object as a list of members in the order they appear: plain numbers
 * and booleans, and three kinds that read the module's refusals by reason (a names table and
 * its counters): their sum ("refused": 2), the object of them ("refused_by_reason": {...}) and
 * one flat member each ("refused_bad_secret": 1, ...). The writer adds "module" and "ts" (the
 * wall clock, protocol.md 4.1) in front, so every object starts alike:
 *
 *   {"module":"payval","ts":"2026-02-11T03:15:00.000Z","accepted":5,...}
 *
 * The same members as Prometheus text (stats_prometheus), for the plugin's textfile (promfile.h):
 * pantau_broker_<module>_<name>_total for a counter, pantau_broker_<module>_<name> for a gauge
 * or a boolean (0 or 1), and the refusals as one counter labelled by reason
 * (pantau_broker_payval_refused_total{reason="schema"}); the sum and the flat members of the
 * reasons are the JSON's only (Prometheus sums labels itself).
 *
 * Also the option stats_interval (STATS_INTERVAL_OPTION), which every module reads the same way.
 *
 * Not for: what a module counts, or when it refuses (the modules). No allocation; publishing
 * (mosquitto_broker_publish_copy) is for the broker's thread only. */
#ifndef STATS_H
#define STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"

#define STATS_TOPIC_PREFIX "$SYS/pantau/"
#define STATS_JSON_MAX 2048 /* bytes of one object, NUL included */
#define STATS_PROM_MAX 8192 /* bytes of one module's Prometheus text, NUL included */

struct promfile;

enum stats_type {
    STATS_U64,         /* "name":u, a counter */
    STATS_GAUGE,       /* "name":u, a gauge (how many now) */
    STATS_I64,         /* "name":i */
    STATS_BOOL,        /* "name":true or false (u != 0) */
    STATS_TOTAL,       /* "name": the sum of the reasons' counters */
    STATS_BY_REASON,   /* "name":{"<reason>":n,...} */
    STATS_EACH_REASON, /* "<name><reason>":n,... (name is a prefix, e.g. "refused_") */
};

struct stats_member {
    const char *name; /* static storage */
    enum stats_type type;
    uint64_t u;
    int64_t i;
};

#define STATS_U64_MEMBER(name, v)           \
    {                                       \
        (name), STATS_U64, (uint64_t)(v), 0 \
    }
#define STATS_GAUGE_MEMBER(name, v)           \
    {                                         \
        (name), STATS_GAUGE, (uint64_t)(v), 0 \
    }
#define STATS_I64_MEMBER(name, v)          \
    {                                      \
        (name), STATS_I64, 0, (int64_t)(v) \
    }
#define STATS_BOOL_MEMBER(name, v)           \
    {                                        \
        (name), STATS_BOOL, (v) ? 1u : 0u, 0 \
    }
#define STATS_REASONS_MEMBER(name, type) \
    {                                    \
        (name), (type), 0, 0             \
    }

/* A module's refusals by reason: names[k] counted counts[k], k < n (both borrowed). */
struct stats_reasons {
    const char *const *names;
    const uint64_t *counts;
    size_t n;
};

/* Writes module's object (module, the members[0..n_members) and reasons borrowed) at wall-clock
 * wall_ms into buf (buflen bytes, NUL included). Returns its length, or 0 if it does not fit. */
size_t stats_json(const char *module, int64_t wall_ms, const struct stats_reasons *reasons,
                  const struct stats_member *members, size_t n_members, char *buf, size_t buflen);

/* Writes module's members (as stats_json's) as Prometheus exposition text into buf (buflen
 * bytes, NUL included). Returns its length, or 0 if it does not fit. An I64 member is a gauge;
 * one named "*_ms" is a wall-clock time, given as "*_timestamp_seconds" (Prometheus' unit). */
size_t stats_prometheus(const char *module, const struct stats_reasons *reasons,
                        const struct stats_member *members, size_t n_members, char *buf,
                        size_t buflen);

/* Writes module's object at the wall clock's now and publishes it retained on
 * $SYS/pantau/<module> (QoS 0, mosquitto copies it); one that does not fit STATS_JSON_MAX bytes
 * is logged as a warning and not published. With a textfile (pf, borrowed; NULL: none), puts
 * the same as Prometheus text there too. Broker thread only. */
void stats_publish(struct promfile *pf, const char *module, const struct stats_reasons *reasons,
                   const struct stats_member *members, size_t n_members);

/* The interval gate of a tick: true (and *next_ms moved to now_ms + every_ms) once now_ms has
 * reached *next_ms, false before. A *next_ms of 0 (or of the start's now) fires on the first
 * tick. Times in ms of one monotonic clock. */
bool stats_due(int64_t *next_ms, int64_t every_ms, int64_t now_ms);

/* The option stats_interval in a module's option table (plugin_module.h): seconds between two
 * publications, an integer 1 to 86400, 10 by default, into the long long field of type. */
#define STATS_INTERVAL_OPTION(type, field)                                                    \
    {                                                                                         \
        "stats_interval", CONF_INT, "10", offsetof(type, field), sizeof(long long), 1, 86400, \
            "seconds between two publications of the counters on $SYS/pantau/<module>"        \
    }

#endif
