/* service_watch.h -- what pantau-alertd knows of the collectors' health, for the alert
 * system_service_down (docs/alerts.md, schema/018).
 *
 * Each collector publishes, retained, on pantau/v1/_sys/health/<collector> whether it is online
 * and whether it can commit to PostgreSQL (protocol.md 6.2); its last will says offline.
 * alertd subscribes to pantau/v1/_sys/health/+ and hands every message to
 * service_watch_health() (libmosquitto's thread). The run loop (alertd's thread) takes what is
 * to be reported with service_watch_due() and, once PostgreSQL took it
 * (pantau_alert.service_state), marks it with service_watch_done(). A change is reported once;
 * a collector that is down is reported again every `repeat_ms`, so that PostgreSQL sees the
 * outage last and raises the alert once it has lasted service_down_after. Judging the time and
 * keeping the alert once is PostgreSQL's (the subject's row lock, the alert's key), not ours:
 * any number of alertd instances may report the same outage.
 *
 * Down: "state":"offline", or "db":"down". Up: online with "db":"up". "db":"unknown" (a
 * collector that has not tried its database yet) changes nothing.
 *
 * Threads: every function takes the watch's own mutex; none calls out while holding it.
 * Not for: the SQL call (alertd.c), the MQTT connection (alertd.c). */
#ifndef SERVICE_WATCH_H
#define SERVICE_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg_err.h"
#include "msg_topic.h"

#define SERVICE_WATCH_MAX 256 /* collectors tracked; more are logged and ignored */
#define SERVICE_WATCH_WHY_MAX 63

/* One report for PostgreSQL: a copy, owned by the caller. */
struct service_report {
    char collector[MSG_ID_MAX + 1];
    bool up;
    int64_t seen_wall_ms;                /* when this state was first seen (wall clock) */
    char why[SERVICE_WATCH_WHY_MAX + 1]; /* "offline", "database down" or "" */
    uint64_t seq;                        /* the state's number, for service_watch_done */
};

struct service_watch;

/* A watch that repeats a down state every repeat_ms (> 0). NULL when out of memory. Caller
 * frees with service_watch_free. */
struct service_watch *service_watch_new(int64_t repeat_ms);

/* NULL is a no-op. */
void service_watch_free(struct service_watch *w);

/* A message on topic (borrowed, NUL-terminated) with payload (len bytes, borrowed), seen at
 * now_wall_ms. Records a change of state. Returns MSG_OK (recorded, or no change),
 * MSG_ERR_TOPIC (not a health topic), MSG_ERR_JSON / MSG_ERR_SCHEMA (not a valid health
 * message, err names the member) or MSG_ERR_FULL (too many collectors). */
int service_watch_health(struct service_watch *w, const char *topic, const void *payload,
                         size_t len, int64_t now_wall_ms, char *err, size_t errlen);

/* Fills out (max entries, caller-owned) with the reports due at now_mono_ms: every change not
 * yet reported, and every collector down whose last report is repeat_ms old. Returns how many.
 * A report stays due until service_watch_done. */
size_t service_watch_due(struct service_watch *w, int64_t now_mono_ms, struct service_report *out,
                         size_t max);

/* PostgreSQL took r (borrowed) at now_mono_ms: not due again unless the state changed since
 * (r->seq) or, while down, after repeat_ms. */
void service_watch_done(struct service_watch *w, const struct service_report *r,
                        int64_t now_mono_ms);

#endif
