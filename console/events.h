/* events.h -- live updates: ONE LISTEN connection to PostgreSQL fanned out to every browser as
 * server-sent events (GET /api/events).
 *
 * A thread of its own holds the LISTEN connection (channels pantau_alert: an alert changed,
 * payload its id; pantau_alert_pending: facts were committed) and turns each notification into
 * an event in a small ring: `alert` ({"alert_id": N}) at once, `data` at most once per
 * sse_coalesce. Event ids increase for the life of the process, so a browser that reconnects
 * with Last-Event-ID gets what it missed from the ring (or one `data` event when the ring has
 * moved on: it fetches its view again either way).
 *
 * A stream holds no thread: its response is a libmicrohttpd content callback that writes what
 * is new and otherwise suspends its connection (MHD_suspend_connection). A new event, the
 * keepalive (a comment every sse_keepalive) or shutdown resumes every suspended stream. So 50
 * browsers are 50 sockets in epoll and 50 small structs, not 50 threads.
 *
 * Thread-safe. Not for: what a browser may see (the events carry ids only; the browser asks the
 * API, which checks its session). */
#ifndef CONSOLE_EVENTS_H
#define CONSOLE_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include <microhttpd.h>

#include "console_conf.h"

struct events;

/* cfg is borrowed (outlives the events). Starts the LISTEN thread (it connects and reconnects
 * on its own). Returns NULL with err set. Caller frees with events_free (after stopping the
 * HTTP daemon). */
struct events *events_new(const struct console_config *cfg, char *err, size_t errlen);

/* Stops the LISTEN thread and lets every stream end (resumes the suspended ones): call before
 * MHD_stop_daemon. */
void events_close(struct events *ev);

void events_free(struct events *ev);

/* A response for one browser's stream on connection conn (borrowed; the response is tied to
 * it), resuming after last_event_id (NULL or "": from now). Returns NULL when max_sse_clients
 * streams are open (then 503). The caller queues it and destroys its reference. */
struct MHD_Response *events_stream(struct events *ev, struct MHD_Connection *conn,
                                   const char *last_event_id);

struct events_stats {
    uint64_t clients; /* now */
    uint64_t events;  /* sent into the ring */
    uint64_t notifications;
    bool listening;
};
void events_stats_get(struct events *ev, struct events_stats *out);

#endif
