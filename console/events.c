/* events.c -- one LISTEN connection, a ring of events, suspended SSE streams: see events.h. */
#include "events.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db.h"
#include "log.h"
#include "msg_backoff.h"
#include "msg_clock.h"
#include "msg_err.h"

#define EVENTS_RING 128
#define EVENTS_DATA_MAX 96
#define EVENTS_TICK_MS 250 /* the LISTEN thread wakes at least this often */

struct event {
    uint64_t id;
    char type[8]; /* "alert" or "data" */
    char data[EVENTS_DATA_MAX];
};

/* One browser's stream. Owned by its MHD response (freed by on_stream_free). */
struct stream {
    struct events *ev;
    struct MHD_Connection *conn; /* borrowed from MHD */
    uint64_t last_id;
    int64_t last_write_ms;
    bool started;
    bool waiting; /* in ev->waiting, suspended */
};

struct events {
    const struct console_config *cfg; /* borrowed */
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t mu; /* guards everything below */
    bool stop;
    bool closing;
    uint64_t next_id;
    struct event ring[EVENTS_RING]; /* ring[id % EVENTS_RING] */
    struct stream **waiting;        /* suspended streams, cfg->max_sse_clients at most */
    size_t nwaiting;
    size_t clients;
    int64_t last_data_ms;
    bool data_pending;
    int64_t last_keepalive_ms;
    struct events_stats stats;
};

/* Appends an event and resumes every suspended stream (under ev->mu). */
static void publish(struct events *ev, const char *type, const char *data)
{
    struct event *e = &ev->ring[ev->next_id % EVENTS_RING];
    size_t i;

    e->id = ev->next_id++;
    snprintf(e->type, sizeof(e->type), "%s", type);
    snprintf(e->data, sizeof(e->data), "%s", data);
    ev->stats.events++;
    for (i = 0; i < ev->nwaiting; i++) {
        ev->waiting[i]->waiting = false;
        MHD_resume_connection(ev->waiting[i]->conn);
    }
    ev->nwaiting = 0;
}

static void resume_all(struct events *ev)
{
    size_t i;

    for (i = 0; i < ev->nwaiting; i++) {
        ev->waiting[i]->waiting = false;
        MHD_resume_connection(ev->waiting[i]->conn);
    }
    ev->nwaiting = 0;
}

static bool id_digits(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        if (s[i] < '0' || s[i] > '9' || i >= 19) {
            return false;
        }
    }
    return i > 0;
}

/* Handles the notifications waiting on c (under nothing; takes ev->mu). */
static void drain(struct events *ev, PGconn *c)
{
    PGnotify *n = NULL;
    char data[EVENTS_DATA_MAX];

    for (n = PQnotifies(c); n != NULL; n = PQnotifies(c)) {
        pthread_mutex_lock(&ev->mu);
        ev->stats.notifications++;
        if (strcmp(n->relname, "pantau_alert") == 0 && id_digits(n->extra)) {
            snprintf(data, sizeof(data), "{\"alert_id\":%s}", n->extra);
            publish(ev, "alert", data);
        } else {
            ev->data_pending = true; /* pantau_alert_pending: sent by the tick, coalesced */
        }
        pthread_mutex_unlock(&ev->mu);
        PQfreemem(n);
    }
}

/* How long the LISTEN thread may wait for the socket: EVENTS_TICK_MS, or less when a coalesced
 * data event falls due sooner (so it goes out at sse_coalesce after the last one, not up to a
 * tick later). Takes ev->mu. */
static int wait_ms(struct events *ev)
{
    int64_t due;
    int ms = EVENTS_TICK_MS;

    pthread_mutex_lock(&ev->mu);
    if (ev->data_pending) {
        due = ev->last_data_ms + ev->cfg->sse_coalesce_ms - msg_clock_mono_ms();
        if (due < ms) {
            ms = due > 0 ? (int)due : 0;
        }
    }
    pthread_mutex_unlock(&ev->mu);
    return ms;
}

/* The timers (under ev->mu): the coalesced data event and the keepalive. */
static void tick(struct events *ev)
{
    int64_t now = msg_clock_mono_ms();
    char data[64];

    if (ev->data_pending && now - ev->last_data_ms >= ev->cfg->sse_coalesce_ms) {
        snprintf(data, sizeof(data), "{\"at\":%" PRId64 "}", msg_clock_wall_ms());
        publish(ev, "data", data);
        ev->data_pending = false;
        ev->last_data_ms = now;
    }
    if (now - ev->last_keepalive_ms >= ev->cfg->sse_keepalive_ms) {
        ev->last_keepalive_ms = now;
        resume_all(ev); /* each writes its comment when it is due */
    }
}

static bool stopping(struct events *ev)
{
    bool s;

    pthread_mutex_lock(&ev->mu);
    s = ev->stop;
    pthread_mutex_unlock(&ev->mu);
    return s;
}

static void set_listening(struct events *ev, bool on)
{
    pthread_mutex_lock(&ev->mu);
    if (on && !ev->stats.listening) {
        /* notifications may have been missed while down: every browser fetches again */
        ev->data_pending = true;
    }
    ev->stats.listening = on;
    pthread_mutex_unlock(&ev->mu);
}

static void *listen_thread(void *arg)
{
    struct events *ev = arg;
    struct msg_backoff bo;
    PGconn *c = NULL;
    PGresult *res = NULL;
    char err[MSG_ERRLEN];
    int64_t retry_at = 0;
    struct pollfd pfd;

    /* one connection: a short cap, so that pages are live again within 5 s of the database */
    msg_backoff_init(&bo, 250, 5000, MSG_BACKOFF_NONE);
    while (!stopping(ev)) {
        if (c == NULL && msg_clock_mono_ms() >= retry_at) {
            c = db_connect(ev->cfg, err, sizeof(err));
            if (c != NULL) {
                res = PQexec(c, "LISTEN pantau_alert; LISTEN pantau_alert_pending");
                if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                    snprintf(err, sizeof(err), "LISTEN: %s", PQerrorMessage(c));
                    PQfinish(c);
                    c = NULL;
                }
                PQclear(res);
                res = NULL;
            }
            if (c == NULL) {
                retry_at = msg_clock_mono_ms() + msg_backoff_next(&bo, 0);
                log_msg(LOG_WARNING, "console: live updates: %s", err);
            } else {
                msg_backoff_reset(&bo);
                log_msg(LOG_NOTICE, "console: listening on pantau_alert, pantau_alert_pending");
                set_listening(ev, true);
            }
        }
        if (c != NULL) {
            pfd.fd = PQsocket(c);
            pfd.events = POLLIN;
            pfd.revents = 0;
            if (poll(&pfd, 1, wait_ms(ev)) > 0) {
                if (PQconsumeInput(c) != 1) {
                    log_msg(LOG_WARNING, "console: live updates: connection lost: %s",
                            PQerrorMessage(c));
                    PQfinish(c);
                    c = NULL;
                    set_listening(ev, false);
                    retry_at = msg_clock_mono_ms() + msg_backoff_next(&bo, 0);
                } else {
                    drain(ev, c);
                }
            }
        } else {
            msg_clock_sleep_ms(EVENTS_TICK_MS);
        }
        pthread_mutex_lock(&ev->mu);
        tick(ev);
        pthread_mutex_unlock(&ev->mu);
    }
    PQfinish(c);
    return NULL;
}

struct events *events_new(const struct console_config *cfg, char *err, size_t errlen)
{
    struct events *ev = calloc(1, sizeof(*ev));

    if (ev == NULL) {
        snprintf(err, errlen, "events: out of memory");
        return NULL;
    }
    ev->cfg = cfg;
    ev->next_id = 1;
    ev->last_keepalive_ms = msg_clock_mono_ms();
    pthread_mutex_init(&ev->mu, NULL);
    ev->waiting = calloc((size_t)cfg->max_sse_clients, sizeof(*ev->waiting));
    if (ev->waiting == NULL) {
        snprintf(err, errlen, "events: out of memory");
        events_free(ev);
        return NULL;
    }
    if (pthread_create(&ev->thread, NULL, listen_thread, ev) != 0) {
        snprintf(err, errlen, "events: cannot start the LISTEN thread");
        events_free(ev);
        return NULL;
    }
    ev->thread_started = true;
    return ev;
}

void events_close(struct events *ev)
{
    if (ev == NULL) {
        return;
    }
    pthread_mutex_lock(&ev->mu);
    ev->stop = true;
    ev->closing = true;
    resume_all(ev);
    pthread_mutex_unlock(&ev->mu);
    if (ev->thread_started) {
        pthread_join(ev->thread, NULL);
        ev->thread_started = false;
    }
}

void events_free(struct events *ev)
{
    if (ev == NULL) {
        return;
    }
    events_close(ev);
    free(ev->waiting);
    pthread_mutex_destroy(&ev->mu);
    free(ev);
}

/* Writes into buf (max bytes) what stream s should get next (under ev->mu): the oldest event
 * after s->last_id, a reset `data` event when the ring moved past it, or a keepalive comment.
 * Returns the bytes written, 0 when there is nothing, -1 when an event does not fit. */
static ssize_t next_chunk(struct events *ev, struct stream *s, char *buf, size_t max)
{
    int64_t now = msg_clock_mono_ms();
    uint64_t oldest = ev->next_id > EVENTS_RING ? ev->next_id - EVENTS_RING : 1;
    const struct event *e = NULL;
    int n = 0;

    if (!s->started) {
        s->started = true;
        s->last_write_ms = now;
        n = snprintf(buf, max, "retry: 3000\n: pantau-console live updates\n\n");
    } else if (s->last_id + 1 < ev->next_id) {
        if (s->last_id + 1 < oldest) {
            /* missed more than the ring holds: one data event makes the page fetch again */
            s->last_id = ev->next_id - 1;
            n = snprintf(buf, max, "id: %" PRIu64 "\nevent: data\ndata: {\"reset\":true}\n\n",
                         s->last_id);
        } else {
            e = &ev->ring[(s->last_id + 1) % EVENTS_RING];
            n = snprintf(buf, max, "id: %" PRIu64 "\nevent: %s\ndata: %s\n\n", e->id, e->type,
                         e->data);
            s->last_id = e->id;
        }
    } else if (now - s->last_write_ms >= ev->cfg->sse_keepalive_ms) {
        n = snprintf(buf, max, ": keepalive\n\n");
    } else {
        return 0;
    }
    if (n < 0 || (size_t)n >= max) {
        return -1;
    }
    s->last_write_ms = now;
    return n;
}

static ssize_t on_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream *s = cls;
    struct events *ev = s->ev;
    ssize_t n;

    (void)pos;
    pthread_mutex_lock(&ev->mu);
    if (ev->closing) {
        pthread_mutex_unlock(&ev->mu);
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    n = next_chunk(ev, s, buf, max);
    if (n == 0 && !s->waiting && ev->nwaiting < (size_t)ev->cfg->max_sse_clients) {
        /* nothing new: give the thread back until an event, the keepalive or shutdown */
        s->waiting = true;
        ev->waiting[ev->nwaiting++] = s;
        MHD_suspend_connection(s->conn);
    }
    pthread_mutex_unlock(&ev->mu);
    if (n < 0) {
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    return n;
}

static void on_stream_free(void *cls)
{
    struct stream *s = cls;
    struct events *ev = s->ev;
    size_t i;

    pthread_mutex_lock(&ev->mu);
    for (i = 0; i < ev->nwaiting; i++) {
        if (ev->waiting[i] == s) {
            ev->waiting[i] = ev->waiting[--ev->nwaiting];
            break;
        }
    }
    ev->clients--;
    pthread_mutex_unlock(&ev->mu);
    free(s);
}

struct MHD_Response *events_stream(struct events *ev, struct MHD_Connection *conn,
                                   const char *last_event_id)
{
    struct MHD_Response *r = NULL;
    struct stream *s = NULL;
    unsigned long long last = 0;
    char *end = NULL;

    pthread_mutex_lock(&ev->mu);
    if (ev->closing || ev->clients >= (size_t)ev->cfg->max_sse_clients) {
        pthread_mutex_unlock(&ev->mu);
        return NULL;
    }
    ev->clients++;
    s = calloc(1, sizeof(*s));
    if (s != NULL) {
        s->ev = ev;
        s->conn = conn;
        s->last_id = ev->next_id - 1;
        if (last_event_id != NULL && id_digits(last_event_id)) {
            errno = 0;
            last = strtoull(last_event_id, &end, 10);
            if (errno == 0 && *end == '\0' && last < ev->next_id) {
                s->last_id = last;
            }
        }
    }
    pthread_mutex_unlock(&ev->mu);
    if (s == NULL) {
        goto fail;
    }
    r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, on_stream_read, s,
                                          on_stream_free);
    if (r == NULL) {
        goto fail;
    }
    return r;
fail:
    pthread_mutex_lock(&ev->mu);
    ev->clients--;
    pthread_mutex_unlock(&ev->mu);
    free(s);
    return NULL;
}

void events_stats_get(struct events *ev, struct events_stats *out)
{
    pthread_mutex_lock(&ev->mu);
    *out = ev->stats;
    out->clients = ev->clients;
    pthread_mutex_unlock(&ev->mu);
}
