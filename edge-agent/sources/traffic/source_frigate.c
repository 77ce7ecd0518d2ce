/* source_frigate.c -- the frigate source: Frigate NVR's MQTT events (`frigate/events`) from
 * the broker on the camera box, counted into `traffic` readings and mapped into `incident`
 * readings (frigate_event.h), with only a snapshot reference travelling.
 *
 *   [source frigate]
 *   host        127.0.0.1           # the camera box's broker (not pantau's)
 *   port        1883
 *   username    pantau              # optional; password_file with it
 *   cameras     gerbang_timur=cam-kalimalang-01
 *   incidents   car@shoulder+stationary=stalled_vehicle
 *   snapshot    frigate://{camera}/{id}.jpg
 *   interval    300s
 *
 * The client is libmosquitto with its own network thread (mosquitto_loop_start), which
 * reconnects by itself with a backoff and subscribes again on every connect. Its on_message
 * runs on that thread: counts go into the interval table under a mutex (the agent's source
 * thread closes intervals in poll), incidents go to emit, which is thread-safe. Events that
 * cannot be read or mapped are counted and logged (badlog.h, guarded by the same mutex).
 *
 * Not for: the pantau broker (pantau-agent's own paho client), Frigate's snapshots
 * themselves (only the reference). */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mosquitto.h>

#include "agent_source.h"
#include "badlog.h"
#include "emitq.h"
#include "frigate_event.h"
#include "log.h"
#include "msg_clock.h"
#include "msg_topic.h"
#include "traffic_agg.h"

#define FRIGATE_HOST_MAX 255
#define FRIGATE_ACTIVE_MAX 64    /* event ids with an open incident */

struct frigate_conf {
    char host[FRIGATE_HOST_MAX + 1];
    long long port;
    char username[128];
    char password[256];
    char client_id[64];
    char topic[128];
    char cameras[1024];
    char classes[512];
    char incidents[1024];
    char snapshot[FRIGATE_TEMPLATE_MAX + 1];
    char lane[MSG_LANE_MAX + 1];
    long long interval_ms;
    long long grace_ms;
    long long keepalive_ms;
};

#define STR_KEY(k, def, field, help)                                                            \
    {k, CONF_STR, def, offsetof(struct frigate_conf, field),                                    \
     sizeof(((struct frigate_conf *)0)->field), 0, 0, help}

static const struct conf_key frigate_keys[] = {
    STR_KEY("host", "127.0.0.1", host, "the MQTT broker Frigate publishes to"),
    {"port", CONF_INT, "1883", offsetof(struct frigate_conf, port), sizeof(long long), 1, 65535,
     "its port"},
    STR_KEY("username", "", username, "MQTT username on that broker (\"\": none)"),
    {"password_file", CONF_SECRET_FILE, "", offsetof(struct frigate_conf, password),
     sizeof(((struct frigate_conf *)0)->password), 0, 0, "file whose first line is the password"},
    STR_KEY("client_id", "", client_id, "MQTT client id (\"\": pantau-<device>-frigate)"),
    STR_KEY("topic", "frigate/events", topic, "Frigate's events topic (topic_prefix/events)"),
    STR_KEY("cameras", NULL, cameras, "CAMERA=STATION ...: Frigate camera -> station id"),
    STR_KEY("classes", "car=car motorcycle=motorcycle bus=bus truck=truck bicycle=nonmotor",
            classes, "LABEL=CLASS ...: labels counted as vehicles"),
    STR_KEY("incidents", "", incidents, "LABEL[@ZONE][+stationary]=TYPE ...: incident rules"),
    STR_KEY("snapshot", "frigate://{camera}/{id}.jpg", snapshot,
            "snapshot reference template: {camera} {id} {station} {label}"),
    STR_KEY("lane", "all", lane, "lane of the traffic readings"),
    {"interval", CONF_MS, "300s", offsetof(struct frigate_conf, interval_ms), sizeof(long long),
     1000, 3600000, "counts are aggregated per interval (whole seconds)"},
    {"grace", CONF_MS, "5s", offsetof(struct frigate_conf, grace_ms), sizeof(long long), 0,
     600000, "an interval closes this long after its end"},
    {"keepalive", CONF_MS, "30s", offsetof(struct frigate_conf, keepalive_ms),
     sizeof(long long), 5000, 3600000, "MQTT keepalive"},
    CONF_END,
};

struct frigate_active {
    char id[MSG_EVENT_ID_MAX + 1];   /* "" : free */
    enum msg_incident_type type;
};

struct frigate {
    struct frigate_conf conf;
    struct frigate_map map;
    const struct agent_emit *emit;
    struct mosquitto *mosq;
    bool loop_started;
    pthread_mutex_t lock;            /* guards agg, bad, queue and the counters */
    struct traffic_agg agg;
    struct badlog bad;
    struct emitq queue;              /* readings kept while the store fails */
    struct frigate_active active[FRIGATE_ACTIVE_MAX];   /* the network thread's only */
    unsigned long long events, counted;
};

static int frigate_check(const void *confp, char *err, size_t errlen)
{
    const struct frigate_conf *c = confp;
    struct frigate_map *m = NULL;
    int rc;

    if (c->host[0] == '\0') {
        snprintf(err, errlen, "host: empty");
        return MSG_ERR_CONFIG;
    }
    if (!msg_id_valid(c->lane, strlen(c->lane)) || strlen(c->lane) > MSG_LANE_MAX) {
        snprintf(err, errlen, "lane: not a lane id");
        return MSG_ERR_CONFIG;
    }
    if (c->interval_ms % 1000 != 0) {
        snprintf(err, errlen, "interval: must be whole seconds");
        return MSG_ERR_CONFIG;
    }
    if (c->topic[0] == '\0' || strchr(c->topic, '#') != NULL || strchr(c->topic, '+') != NULL) {
        snprintf(err, errlen, "topic: one topic without wildcards");
        return MSG_ERR_CONFIG;
    }
    if (c->password[0] != '\0' && c->username[0] == '\0') {
        snprintf(err, errlen, "password_file: needs username");
        return MSG_ERR_CONFIG;
    }
    m = malloc(sizeof(*m));
    if (m == NULL) {
        snprintf(err, errlen, "out of memory");
        return MSG_ERR_NOMEM;
    }
    rc = frigate_map_parse(c->cameras, c->classes, c->incidents, c->snapshot, m, err, errlen);
    free(m);
    return rc;
}

/* Hands a reading to the agent or keeps it (emitq.h); the caller holds f->lock. */
static void offer(struct frigate *f, struct msg_event *ev, const char *what)
{
    char why[MSG_ERRLEN] = "";

    snprintf(ev->device_id, sizeof(ev->device_id), "%s",
             f->emit->device_id != NULL ? f->emit->device_id : "");
    if (emitq_offer(&f->queue, f->emit, ev, msg_clock_mono_ms(), "frigate", why, sizeof(why)) != MSG_OK) {
        badlog_add(&f->bad, what, why);
    }
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    struct frigate *f = obj;

    if (rc != 0) {
        log_msg(LOG_WARNING, "frigate: %s:%lld: connection refused: %s", f->conf.host,
                f->conf.port, mosquitto_connack_string(rc));
        return;
    }
    log_msg(LOG_NOTICE, "frigate: connected to %s:%lld, subscribing to %s", f->conf.host,
            f->conf.port, f->conf.topic);
    mosquitto_subscribe(mosq, NULL, f->conf.topic, 0);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
    struct frigate *f = obj;

    (void)mosq;
    if (rc != 0) {
        log_msg(LOG_WARNING, "frigate: lost %s:%lld, reconnecting", f->conf.host, f->conf.port);
    }
}

static struct frigate_active *find_active(struct frigate *f, const char *id)
{
    for (size_t i = 0; i < FRIGATE_ACTIVE_MAX; i++) {
        if (strcmp(f->active[i].id, id) == 0) {
            return &f->active[i];
        }
    }
    return NULL;
}

static void bad(struct frigate *f, const char *what, const char *why)
{
    pthread_mutex_lock(&f->lock);
    badlog_add(&f->bad, what, why);
    pthread_mutex_unlock(&f->lock);
}

/* One event, on the network thread. libmosquitto frees m when this returns. */
static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m)
{
    struct frigate *f = obj;
    struct frigate_event ev;
    struct frigate_action act;
    struct frigate_active *a;
    char why[MSG_ERRLEN] = "";
    int rc;

    (void)mosq;
    if (m->payloadlen < 0) {
        return;
    }
    rc = frigate_event_parse(m->payload, (size_t)m->payloadlen, &ev, why, sizeof(why));
    if (rc != MSG_OK) {
        bad(f, "event not read", why);
        return;
    }
    a = find_active(f, ev.id);
    rc = frigate_event_map(&f->map, &ev, a != NULL,
                           a != NULL ? a->type : MSG_INCIDENT_OTHER, &act, why, sizeof(why));
    if (rc != MSG_OK) {
        bad(f, "event not mapped", why);
        return;
    }
    pthread_mutex_lock(&f->lock);
    f->events++;
    if (act.count) {
        int64_t now = msg_clock_wall_ms();

        rc = traffic_agg_add(&f->agg, act.station, f->conf.lane, act.vclass, 1, false, 0,
                             act.count_ts_ms, now, why, sizeof(why));
        if (rc == MSG_OK) {
            f->counted++;
        } else {
            badlog_add(&f->bad, "count skipped", why);
        }
    }
    pthread_mutex_unlock(&f->lock);
    if (!act.incident) {
        return;
    }
    if (a == NULL && act.inc.state != MSG_INCIDENT_END) {
        a = find_active(f, "");
        if (a == NULL) {
            bad(f, "incident not tracked", "more than 64 open incidents; its updates are lost");
        } else {
            snprintf(a->id, sizeof(a->id), "%s", ev.id);
            a->type = act.inc.type;
        }
    } else if (a != NULL && act.inc.state == MSG_INCIDENT_END) {
        a->id[0] = '\0';
    }
    {
        struct msg_event e;

        memset(&e, 0, sizeof(e));
        e.stream = MSG_STREAM_INCIDENT;
        e.u.incident = act.inc;
        pthread_mutex_lock(&f->lock);
        offer(f, &e, "incident refused by the validator");
        pthread_mutex_unlock(&f->lock);
    }
}

static void frigate_close(void *state);

static int frigate_open(void **state, const void *confp, const struct agent_emit *emit,
                        char *err, size_t errlen)
{
    struct frigate *f = NULL;
    char id[MSG_ID_MAX + 32];
    int rc;

    *state = NULL;
    rc = frigate_check(confp, err, errlen);
    if (rc != MSG_OK) {
        return rc;
    }
    f = calloc(1, sizeof(*f));
    if (f == NULL) {
        snprintf(err, errlen, "frigate: out of memory");
        return MSG_ERR_NOMEM;
    }
    memcpy(&f->conf, confp, sizeof(f->conf));
    f->emit = emit;
    pthread_mutex_init(&f->lock, NULL);
    (void)frigate_map_parse(f->conf.cameras, f->conf.classes, f->conf.incidents,
                            f->conf.snapshot, &f->map, err, errlen);
    (void)traffic_agg_init(&f->agg, f->conf.interval_ms, f->conf.grace_ms);
    emitq_init(&f->queue);
    badlog_init(&f->bad, "frigate");
    if (f->conf.client_id[0] != '\0') {
        snprintf(id, sizeof(id), "%s", f->conf.client_id);
    } else {
        snprintf(id, sizeof(id), "pantau-%s-frigate",
                 emit->device_id != NULL ? emit->device_id : "agent");
    }
    /* Each frigate source calls it; it only sets up the network layer and may be called
     * again. Its counterpart mosquitto_lib_cleanup is never called: it is not reference
     * counted in every 2.0 release, so one source closing would pull the library from under
     * another (OpenSSL frees its own state at exit). */
    mosquitto_lib_init();
    f->mosq = mosquitto_new(id, true, f);
    if (f->mosq == NULL) {
        snprintf(err, errlen, "frigate: mosquitto_new: %s", strerror(errno));
        rc = MSG_ERR_NOMEM;
        goto fail;
    }
    mosquitto_connect_callback_set(f->mosq, on_connect);
    mosquitto_disconnect_callback_set(f->mosq, on_disconnect);
    mosquitto_message_callback_set(f->mosq, on_message);
    mosquitto_reconnect_delay_set(f->mosq, 1, 30, true);
    if (f->conf.username[0] != '\0') {
        mosquitto_username_pw_set(f->mosq, f->conf.username,
                                  f->conf.password[0] != '\0' ? f->conf.password : NULL);
    }
    /* asynchronous: a broker that is not up yet is retried by the loop thread */
    rc = mosquitto_connect_async(f->mosq, f->conf.host, (int)f->conf.port,
                                 (int)(f->conf.keepalive_ms / 1000));
    if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_ERRNO) {
        snprintf(err, errlen, "frigate: connect %s:%lld: %s", f->conf.host, f->conf.port,
                 mosquitto_strerror(rc));
        rc = rc == MOSQ_ERR_INVAL ? MSG_ERR_CONFIG : MSG_ERR_IO;
        goto fail;
    }
    rc = mosquitto_loop_start(f->mosq);
    if (rc != MOSQ_ERR_SUCCESS) {
        snprintf(err, errlen, "frigate: loop_start: %s", mosquitto_strerror(rc));
        rc = MSG_ERR_IO;
        goto fail;
    }
    f->loop_started = true;
    log_msg(LOG_NOTICE, "frigate: reading %s from %s:%lld for %zu cameras, counts per %lld s",
            f->conf.topic, f->conf.host, f->conf.port, f->map.n_cameras,
            f->conf.interval_ms / 1000);
    *state = f;
    return MSG_OK;
fail:
    frigate_close(f);
    return rc;
}

static int frigate_poll(void *state, int64_t now_mono, struct agent_source_wait *wait,
                        char *err, size_t errlen)
{
    struct frigate *f = state;
    int64_t wall = msg_clock_wall_ms();
    int64_t next;
    int64_t next_close;

    (void)err;
    (void)errlen;
    pthread_mutex_lock(&f->lock);
    emitq_flush(&f->queue, f->emit, now_mono, "frigate");
    for (;;) {
        struct msg_event ev;
        int i = traffic_agg_due(&f->agg, wall);

        if (i < 0) {
            break;
        }
        memset(&ev, 0, sizeof(ev));
        ev.stream = MSG_STREAM_TRAFFIC;
        traffic_agg_reading(&f->agg, i, &ev.u.traffic, &ev.env.ts_ms);
        traffic_agg_remove(&f->agg, i);
        offer(f, &ev, "traffic reading refused by the validator");
    }
    next = badlog_tick(&f->bad, now_mono);
    if (emitq_next(&f->queue) < next) {
        next = emitq_next(&f->queue);
    }
    next_close = traffic_agg_next_close(&f->agg);
    pthread_mutex_unlock(&f->lock);
    /* counts arrive on the network thread: look again at least every second */
    if (now_mono + 1000 < next) {
        next = now_mono + 1000;
    }
    if (next_close != INT64_MAX) {
        int64_t in = next_close - wall;

        if (now_mono + (in < 0 ? 0 : in) < next) {
            next = now_mono + (in < 0 ? 0 : in);
        }
    }
    wait->fd = -1;
    wait->next_ms = next;
    return MSG_OK;
}

static void frigate_close(void *state)
{
    struct frigate *f = state;

    if (f == NULL) {
        return;
    }
    if (f->mosq != NULL) {
        mosquitto_disconnect(f->mosq);
        if (f->loop_started) {
            mosquitto_loop_stop(f->mosq, true);
        }
        mosquitto_destroy(f->mosq);
    }
    if (f->queue.n > 0) {
        log_msg(LOG_ERR, "frigate: %zu readings the store did not take are lost on close",
                f->queue.n);
    }
    log_msg(LOG_NOTICE, "frigate: closed: %llu events, %llu vehicles counted, %llu readings "
            "stored, %llu bad inputs, %llu refused, %llu lost", f->events, f->counted,
            (unsigned long long)f->queue.stored, (unsigned long long)f->bad.total,
            (unsigned long long)f->queue.refused,
            (unsigned long long)(f->queue.dropped + f->queue.n));
    pthread_mutex_destroy(&f->lock);
    free(f);
}

const struct agent_source agent_source_frigate = {
    .name = "frigate",
    .summary = "traffic counts and incidents from Frigate NVR's MQTT events",
    .keys = frigate_keys,
    .conf_size = sizeof(struct frigate_conf),
    .check = frigate_check,
    .open = frigate_open,
    .poll = frigate_poll,
    .close = frigate_close,
};
