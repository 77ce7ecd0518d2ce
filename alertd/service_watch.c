/* service_watch.c -- the collectors' health as alertd saw it: see service_watch.h. */
#include "service_watch.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg_health.h"

struct watched {
    char collector[MSG_ID_MAX + 1];
    bool up;
    int64_t seen_wall_ms;
    char why[SERVICE_WATCH_WHY_MAX + 1];
    uint64_t seq;          /* grows with each change of state */
    uint64_t reported_seq; /* the last seq PostgreSQL took (0: none) */
    int64_t reported_mono_ms;
};

struct service_watch {
    pthread_mutex_t lock;
    int64_t repeat_ms;
    uint64_t next_seq;
    size_t n;
    struct watched c[SERVICE_WATCH_MAX];
};

struct service_watch *service_watch_new(int64_t repeat_ms)
{
    struct service_watch *w = calloc(1, sizeof(*w));

    if (w == NULL) {
        return NULL;
    }
    pthread_mutex_init(&w->lock, NULL);
    w->repeat_ms = repeat_ms > 0 ? repeat_ms : 1;
    w->next_seq = 1;
    return w;
}

void service_watch_free(struct service_watch *w)
{
    if (w == NULL) {
        return;
    }
    pthread_mutex_destroy(&w->lock);
    free(w);
}

/* The entry of collector, made if missing; NULL when the table is full. Under the lock. */
static struct watched *find_or_add(struct service_watch *w, const char *collector)
{
    size_t i;

    for (i = 0; i < w->n; i++) {
        if (strcmp(w->c[i].collector, collector) == 0) {
            return &w->c[i];
        }
    }
    if (w->n == SERVICE_WATCH_MAX) {
        return NULL;
    }
    memset(&w->c[w->n], 0, sizeof(w->c[w->n]));
    snprintf(w->c[w->n].collector, sizeof(w->c[w->n].collector), "%s", collector);
    return &w->c[w->n++];
}

int service_watch_health(struct service_watch *w, const char *topic, const void *payload,
                         size_t len, int64_t now_wall_ms, char *err, size_t errlen)
{
    struct msg_topic t;
    struct msg_health h;
    struct watched *c = NULL;
    const char *why = "";
    bool up;
    int rc;

    rc = msg_topic_parse(topic, strlen(topic), &t, err, errlen);
    if (rc != MSG_OK) {
        goto out;
    }
    if (t.stream != MSG_STREAM_HEALTH) {
        snprintf(err, errlen, "not a health topic");
        rc = MSG_ERR_TOPIC;
        goto out;
    }
    rc = msg_health_parse(&t, payload, len, &h, err, errlen);
    if (rc != MSG_OK) {
        goto out;
    }
    if (h.online && h.db == MSG_DB_UNKNOWN) {
        goto out; /* it has not tried its database yet: no news */
    }
    up = h.online && h.db == MSG_DB_UP;
    if (!h.online) {
        why = "offline";
    } else if (!up) {
        why = "database down";
    }
    pthread_mutex_lock(&w->lock);
    c = find_or_add(w, h.collector);
    if (c == NULL) {
        pthread_mutex_unlock(&w->lock);
        snprintf(err, errlen, "more than %d collectors", SERVICE_WATCH_MAX);
        rc = MSG_ERR_FULL;
        goto out;
    }
    /* a new state (or the first): offline and database down are one outage, its start kept */
    if (c->seq == 0 || c->up != up) {
        c->up = up;
        c->seen_wall_ms = now_wall_ms;
        c->seq = w->next_seq++;
    }
    snprintf(c->why, sizeof(c->why), "%s", why);
    pthread_mutex_unlock(&w->lock);
out:
    return rc;
}

size_t service_watch_due(struct service_watch *w, int64_t now_mono_ms, struct service_report *out,
                         size_t max)
{
    size_t i;
    size_t n = 0;

    pthread_mutex_lock(&w->lock);
    for (i = 0; i < w->n && n < max; i++) {
        const struct watched *c = &w->c[i];
        bool changed = c->reported_seq != c->seq;
        bool repeat = !c->up && now_mono_ms - c->reported_mono_ms >= w->repeat_ms;

        if (!changed && !repeat) {
            continue;
        }
        snprintf(out[n].collector, sizeof(out[n].collector), "%s", c->collector);
        out[n].up = c->up;
        out[n].seen_wall_ms = c->seen_wall_ms;
        snprintf(out[n].why, sizeof(out[n].why), "%s", c->why);
        out[n].seq = c->seq;
        n++;
    }
    pthread_mutex_unlock(&w->lock);
    return n;
}

void service_watch_done(struct service_watch *w, const struct service_report *r,
                        int64_t now_mono_ms)
{
    size_t i;

    pthread_mutex_lock(&w->lock);
    for (i = 0; i < w->n; i++) {
        if (strcmp(w->c[i].collector, r->collector) == 0) {
            if (w->c[i].reported_seq < r->seq) {
                w->c[i].reported_seq = r->seq;
            }
            w->c[i].reported_mono_ms = now_mono_ms;
            break;
        }
    }
    pthread_mutex_unlock(&w->lock);
}
