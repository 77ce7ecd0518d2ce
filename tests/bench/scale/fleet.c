/* fleet.c -- the devices of bench_fleet.py (issue 15 item 1): thousands of MQTT 5 device
 * connections in one process, libmosquitto clients driven from one epoll loop without their
 * threads (mosquitto_socket, mosquitto_loop_read/write/misc, mosquitto_connect_async).
 *
 * Each device behaves as the reference agent does on the wire (edge-agent/README.md,
 * protocol.md 11): client id = username = device id, its device key as password, Clean Start,
 * a retained last will (offline, a new connection counter per attempt) and a retained birth
 * (online) after each CONNACK; it subscribes to its ack topic, the collectors' health and the
 * restore announcement; it takes readings at its kind's cadence and keeps each one until a
 * collector's acknowledgement covers it. A reading's first send goes out whatever the health
 * says; resends (after an ack timeout of 10 s doubling to 120 s, and everything unacknowledged
 * after a reconnect) only while a collector's retained health says online with db up. Every
 * publish is paced by a token bucket at 0.9 of its kind's broker limit with half its burst.
 * Reconnects wait the agent's jittered backoff: msg/msg_backoff.c's full jitter, 1 + random %
 * min(60 s, 1 s * 2^n), n the failures since the last CONNACK (agent_config.c: reconnect_min_ms
 * 1s, reconnect_max_ms 60s, reconnect_jitter full); a connection attempt is given up after 10 s
 * (mqtt_connect_timeout_ms); keepalive 30 s.
 *
 * Kinds and cadences (../shared/DOMAIN.md): traffic_gateway, one camera with --lanes traffic
 * counts per --traffic-s interval; flood_gateway, a gauge reading every --flood-s; handheld, a
 * larva inspection every --handheld-s. Readings are rebuilt from (device, seq, time taken), so
 * every resend carries the same content (only `replay` may change: true when sent more than
 * 5 minutes after it was taken).
 *
 *   fleet --host H --port P --devices FILE [--cafile CA] [--seed N] [--ramp-s S]
 *         [--traffic-s 60] [--lanes 2] [--flood-s 60] [--handheld-s 120] [--status-ms 250]
 *         [--reconnect-min-ms 1000] [--reconnect-max-ms 60000] [--out FILE]
 *
 * FILE has one device a line: `<id> <kind> <secret> <station or ->`. With --cafile the
 * connections use TLS (one shared SSL_CTX that trusts CA). Commands on stdin: `stop` (take no
 * more readings; exit once every held reading is acknowledged), `quit`. Every --status-ms it
 * prints a line `S t=<monotonic s> up=... connecting=... taken=... acked=... pending=...
 * oldest=<monotonic s of the oldest reading held, -1: none> ...`; at the end key=value lines
 * and, with --out, one line per device: `<id> <store> <last seq taken> <acked> <held> <dead>`.
 *
 * A benchmark tool (tests/bench/scale/bench_fleet.py builds and runs it), not a test. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <mosquitto.h>
#include <openssl/ssl.h>

#define FLEET_WINDOW 128
#define FLEET_HEALTH_MAX 4
#define FLEET_LATENESS_MS 300000
#define FLEET_RECONNECT_MIN_MS 1000
#define FLEET_RECONNECT_MAX_MS 60000
#define FLEET_CONNECT_TIMEOUT_MS 10000
#define FLEET_KEEPALIVE_S 30
#define FLEET_ACK_TIMEOUT_MS 10000
#define FLEET_ACK_TIMEOUT_MAX_MS 120000
#define FLEET_REFUSE_BACKOFF_MS 40000
#define FLEET_STDIN_TAG UINT32_MAX

enum fleet_kind {
    FLEET_FLOOD,
    FLEET_TRAFFIC,
    FLEET_HANDHELD,
};

enum fleet_state {
    FLEET_IDLE,
    FLEET_CONNECTING,
    FLEET_UP,
};

/* the broker's per-kind message limits (deploy/mosquitto.conf, protocol.md 8) */
static const struct {
    const char *name;
    double rate;
    double burst;
} fleet_limits[] = {
    [FLEET_FLOOD] = {"flood_gateway", 5.0, 50.0},
    [FLEET_TRAFFIC] = {"traffic_gateway", 20.0, 200.0},
    [FLEET_HANDHELD] = {"handheld", 2.0, 100.0},
};

struct slot {
    uint64_t seq;
    int64_t take_ms; /* monotonic */
    int64_t wall_ms; /* the reading's ts */
    int64_t sent_ms; /* last send on this connection; 0: not sent on it */
    int64_t rto_ms;
    int64_t refused_until;
    int mid;
    int lane;
    unsigned sends;
};

struct fleet;

struct dev {
    struct fleet *f;
    struct mosquitto *m;
    char id[72];
    char station[72];
    char secret[80];
    char store[40];
    char topic[100];
    char ack_topic[100];
    char status_topic[100];
    enum fleet_kind kind;
    enum fleet_state state;
    int fd; /* registered in epoll, or -1 */
    bool fd_out;
    bool subscribed;
    bool resend_ok;
    bool fresh;       /* no connect since mosquitto_new or _reinitialise */
    unsigned attempt; /* reconnect failures since the last CONNACK */
    int64_t next_connect_ms;
    int64_t connect_start_ms;
    int64_t last_misc_ms;
    uint64_t conn;
    uint64_t next_seq;
    uint64_t acked;
    uint64_t dead;
    int64_t next_take_ms;
    double tokens;
    int64_t bucket_ms;
    int n_health;
    uint32_t health_id[FLEET_HEALTH_MAX];
    bool health_up[FLEET_HEALTH_MAX];
    int n;
    struct slot slots[FLEET_WINDOW];
};

struct fleet {
    struct dev *devs;
    int ndev;
    int ep;
    const char *host;
    int port;
    SSL_CTX *ssl;
    uint64_t rng;
    int64_t traffic_ms;
    int lanes;
    int64_t flood_ms;
    int64_t handheld_ms;
    int64_t reconnect_min_ms;
    int64_t reconnect_max_ms;
    bool stopping;
    bool quit;
    /* counters */
    uint64_t taken;
    uint64_t acked;
    uint64_t resends;
    uint64_t sends;
    uint64_t connects;
    uint64_t connect_fails;
    uint64_t refused_conn;
    uint64_t refused_pub;
    uint64_t lost_conn;
    uint64_t window_full;
    uint64_t ack_msgs;
    uint64_t timeouts;
    uint64_t connect_timeouts;
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fmt_ts(int64_t ms, char out[96])
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&s, &tm);
    snprintf(out, 96, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 2685821657736338717ULL;
}

static void make_uuid(unsigned long long seed, int i, char out[40])
{
    unsigned long long a =
        seed * 6364136223846793005ULL + (unsigned long long)(i + 1) * 1442695040888963407ULL;
    unsigned long long b = a * 6364136223846793005ULL + 1;

    snprintf(out, 40, "%08llx-%04llx-4%03llx-8%03llx-%012llx", a >> 32, (a >> 16) & 0xffff,
             a & 0xfff, (b >> 52) & 0xfff, b & 0xffffffffffffULL);
}

/* msg/msg_backoff.c, MSG_BACKOFF_FULL: 1 + random % min(max, base * 2^attempt) */
static int64_t backoff_next(struct dev *d)
{
    int64_t cap = d->f->reconnect_min_ms;

    for (unsigned i = 0; i < d->attempt && cap < d->f->reconnect_max_ms; i++) {
        cap *= 2;
    }
    if (cap > d->f->reconnect_max_ms) {
        cap = d->f->reconnect_max_ms;
    }
    d->attempt++;
    return 1 + (int64_t)(rng_next(&d->f->rng) % (uint64_t)cap);
}

static void schedule_reconnect(struct dev *d, int64_t now)
{
    d->state = FLEET_IDLE;
    d->subscribed = false;
    d->resend_ok = false;
    d->n_health = 0;
    for (int i = 0; i < d->n; i++) {
        d->slots[i].sent_ms = 0; /* agent_window_clear_sent */
    }
    d->next_connect_ms = now + backoff_next(d);
}

/* ---- epoll registration: after every libmosquitto call on d ---------------------------- */

static void sync_fd(struct dev *d)
{
    int fd = mosquitto_socket(d->m);
    bool out = fd >= 0 && mosquitto_want_write(d->m);
    struct epoll_event ev;

    if (fd != d->fd) {
        /* a closed socket has left the epoll set by itself */
        d->fd = -1;
        if (fd < 0) {
            return;
        }
        memset(&ev, 0, sizeof(ev));
        ev.events = EPOLLIN | (out ? EPOLLOUT : 0);
        ev.data.u32 = (uint32_t)(d - d->f->devs);
        if (epoll_ctl(d->f->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            fprintf(stderr, "fleet: epoll add %s: %s\n", d->id, strerror(errno));
            return;
        }
        d->fd = fd;
        d->fd_out = out;
        return;
    }
    if (fd >= 0 && out != d->fd_out) {
        memset(&ev, 0, sizeof(ev));
        ev.events = EPOLLIN | (out ? EPOLLOUT : 0);
        ev.data.u32 = (uint32_t)(d - d->f->devs);
        if (epoll_ctl(d->f->ep, EPOLL_CTL_MOD, fd, &ev) == 0) {
            d->fd_out = out;
        }
    }
}

/* ---- payloads ------------------------------------------------------------------------- */

static int reading_payload(const struct dev *d, const struct slot *s, bool replay, char *buf,
                           size_t len)
{
    char ts[96];
    uint64_t q = s->seq;

    fmt_ts(s->wall_ms, ts);
    switch (d->kind) {
    case FLEET_FLOOD:
        return snprintf(buf, len,
                        "{\"store\":\"%s\",\"seq\":%" PRIu64 ",\"ts\":\"%s\",\"clock_synced\":true,"
                        "\"replay\":%s,\"station\":\"%s\",\"level_cm\":%.1f,\"rise_cm_h\":%.1f,"
                        "\"rain_mm\":%.1f,\"battery_v\":12.61}",
                        d->store, q, ts, replay ? "true" : "false", d->station,
                        300.0 + (double)(q % 500) + 0.5, (double)(q % 40) - 20.0,
                        (double)(q % 7) * 0.4);
    case FLEET_TRAFFIC:
        return snprintf(buf, len,
                        "{\"store\":\"%s\",\"seq\":%" PRIu64 ",\"ts\":\"%s\",\"clock_synced\":true,"
                        "\"replay\":%s,\"station\":\"%s\",\"interval_s\":%d,\"lane\":\"%s\","
                        "\"counts\":{\"motorcycle\":%d,\"car\":%d,\"bus\":%d,\"truck\":%d,"
                        "\"nonmotor\":%d},\"speed_kmh\":%.1f,\"occupancy_pct\":%.1f}",
                        d->store, q, ts, replay ? "true" : "false", d->station,
                        (int)(d->f->traffic_ms / 1000), s->lane == 0 ? "northbound" : "southbound",
                        (int)(q * 7 % 400), (int)(q * 3 % 150), (int)(q % 5), (int)(q % 13),
                        (int)(q % 3), 15.0 + (double)(q % 40), (double)(q % 90));
    case FLEET_HANDHELD:
        return snprintf(buf, len,
                        "{\"store\":\"%s\",\"seq\":%" PRIu64 ",\"ts\":\"%s\",\"clock_synced\":true,"
                        "\"replay\":%s,\"inspector\":\"jmt-%s\",\"building\":\"house\","
                        "\"kelurahan\":\"32.75.01.1002\",\"rw\":%d,\"rt\":%d,"
                        "\"larvae_found\":%s,\"containers\":[{\"type\":\"bath_tub\","
                        "\"location\":\"indoor\",\"inspected\":1,\"positive\":%d},"
                        "{\"type\":\"bucket\",\"location\":\"outdoor\",\"inspected\":3,"
                        "\"positive\":0}]}",
                        d->store, q, ts, replay ? "true" : "false", d->id, (int)(q % 20) + 1,
                        (int)(q % 12) + 1, q % 10 == 0 ? "true" : "false", q % 10 == 0 ? 1 : 0);
    }
    return -1;
}

static int status_payload(const struct dev *d, bool online, char *buf, size_t len)
{
    char ts[96];

    fmt_ts(wall_ms(), ts);
    if (!online) {
        return snprintf(buf, len,
                        "{\"state\":\"offline\",\"conn\":%" PRIu64 ",\"store\":\"%s\","
                        "\"ts\":\"%s\",\"clock_synced\":true}",
                        d->conn, d->store, ts);
    }
    return snprintf(buf, len,
                    "{\"state\":\"online\",\"conn\":%" PRIu64 ",\"store\":\"%s\",\"ts\":\"%s\","
                    "\"clock_synced\":true,\"agent\":\"pantau fleet bench\",\"backlog\":%d}",
                    d->conn, d->store, ts, d->n);
}

/* ---- the token bucket: 0.9 of the kind's rate, half its burst ------------------------- */

static void bucket_fill(struct dev *d, int64_t now)
{
    double rate = 0.9 * fleet_limits[d->kind].rate;
    double burst = fleet_limits[d->kind].burst / 2;

    d->tokens += rate * (double)(now - d->bucket_ms) / 1000.0;
    if (d->tokens > burst) {
        d->tokens = burst;
    }
    d->bucket_ms = now;
}

/* ---- connection ----------------------------------------------------------------------- */

static void start_connect(struct dev *d, int64_t now)
{
    char will[256];
    int n;
    int rc;

    d->conn++;
    n = status_payload(d, false, will, sizeof(will));
    mosquitto_will_set_v5(d->m, d->status_topic, n, will, 1, true, NULL);
    d->state = FLEET_CONNECTING;
    d->connect_start_ms = now;
    d->last_misc_ms = now;
    if (d->fresh) {
        d->fresh = false;
        rc = mosquitto_connect_async(d->m, d->f->host, d->f->port, FLEET_KEEPALIVE_S);
    } else {
        rc = mosquitto_reconnect_async(d->m);
    }
    if (rc != MOSQ_ERR_SUCCESS) {
        d->f->connect_fails++;
        sync_fd(d);
        schedule_reconnect(d, now);
        return;
    }
    sync_fd(d);
}

static void on_connect(struct mosquitto *m, void *obj, int rc, int flags,
                       const mosquitto_property *props)
{
    struct dev *d = obj;
    char *subs[3];
    char health[] = "pantau/v1/_sys/health/+";
    char restore[] = "pantau/v1/_sys/restore";
    char birth[256];
    int n;

    (void)flags;
    (void)props;
    if (rc != 0) {
        d->f->refused_conn++;
        return; /* the broker closes it: on_disconnect schedules the next try */
    }
    d->state = FLEET_UP;
    d->attempt = 0; /* msg_backoff_reset */
    d->f->connects++;
    subs[0] = d->ack_topic;
    subs[1] = health;
    subs[2] = restore;
    mosquitto_subscribe_multiple(m, NULL, 3, subs, 1, 0, NULL);
    /* the birth goes now whatever the bucket holds; what follows pays it back */
    n = status_payload(d, true, birth, sizeof(birth));
    mosquitto_publish_v5(m, NULL, d->status_topic, n, birth, 1, true, NULL);
    d->tokens -= 1.0;
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc, const mosquitto_property *props)
{
    struct dev *d = obj;

    (void)m;
    (void)rc;
    (void)props;
    if (d->state == FLEET_UP) {
        d->f->lost_conn++;
    } else {
        d->f->connect_fails++;
    }
    schedule_reconnect(d, now_ms());
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int qos_count, const int *granted,
                         const mosquitto_property *props)
{
    struct dev *d = obj;

    (void)m;
    (void)mid;
    (void)props;
    for (int i = 0; i < qos_count; i++) {
        if (granted[i] >= 0x80) {
            fprintf(stderr, "fleet: %s: subscription %d refused (0x%02x)\n", d->id, i, granted[i]);
        }
    }
    d->subscribed = true;
}

static void on_publish(struct mosquitto *m, void *obj, int mid, int reason,
                       const mosquitto_property *props)
{
    struct dev *d = obj;

    (void)m;
    (void)props;
    if (reason < 0x80) {
        return;
    }
    /* refused (0x87: a rate limit or the content): tried again later, as the agent does */
    d->f->refused_pub++;
    for (int i = 0; i < d->n; i++) {
        if (d->slots[i].mid == mid && d->slots[i].sends > 0) {
            d->slots[i].refused_until = now_ms() + FLEET_REFUSE_BACKOFF_MS;
            d->slots[i].sent_ms = 0;
            return;
        }
    }
}

static uint32_t hash_name(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s != '\0'; s++) {
        h = (h ^ (uint8_t)*s) * 16777619u;
    }
    return h;
}

static void handle_health(struct dev *d, const char *topic, const void *payload, int len)
{
    const char *name = topic + strlen("pantau/v1/_sys/health/");
    uint32_t id = hash_name(name);
    bool up = false;
    int i;
    cJSON *doc = NULL;

    if (len > 0) {
        const cJSON *st;
        const cJSON *db;

        doc = cJSON_ParseWithLength(payload, (size_t)len);
        st = cJSON_GetObjectItemCaseSensitive(doc, "state");
        db = cJSON_GetObjectItemCaseSensitive(doc, "db");
        up = cJSON_IsString(st) && strcmp(st->valuestring, "online") == 0 && cJSON_IsString(db) &&
             strcmp(db->valuestring, "up") == 0;
        cJSON_Delete(doc);
    }
    for (i = 0; i < d->n_health; i++) {
        if (d->health_id[i] == id) {
            break;
        }
    }
    if (i == d->n_health && d->n_health < FLEET_HEALTH_MAX) {
        d->health_id[d->n_health++] = id;
    }
    if (i < d->n_health) {
        d->health_up[i] = up;
    }
    d->resend_ok = false;
    for (i = 0; i < d->n_health; i++) {
        d->resend_ok = d->resend_ok || d->health_up[i];
    }
}

static void forget(struct dev *d, double lo, double hi, bool dead)
{
    int k = 0;

    for (int i = 0; i < d->n; i++) {
        const struct slot *s = &d->slots[i];

        if ((double)s->seq >= lo && (double)s->seq <= hi) {
            if (!dead) {
                d->acked++;
                d->f->acked++;
            }
            continue;
        }
        d->slots[k++] = *s;
    }
    d->n = k;
}

static void handle_ack(struct dev *d, const void *payload, int len)
{
    cJSON *doc = cJSON_ParseWithLength(payload, (size_t)len);
    const cJSON *item;

    d->f->ack_msgs++;
    if (doc == NULL) {
        return;
    }
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(doc, "acks"))
    {
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(item, "store");
        const cJSON *r;

        if (!cJSON_IsString(st) || strcmp(st->valuestring, d->store) != 0) {
            continue;
        }
        /* dead letters first: counted apart (none are expected) */
        cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(item, "dead"))
        {
            double lo = cJSON_GetArrayItem(r, 0)->valuedouble;
            double hi = cJSON_GetArrayItem(r, 1)->valuedouble;
            int before = d->n;

            forget(d, lo, hi, true);
            d->dead += (uint64_t)(before - d->n);
        }
        cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(item, "ranges"))
        {
            forget(d, cJSON_GetArrayItem(r, 0)->valuedouble, cJSON_GetArrayItem(r, 1)->valuedouble,
                   false);
        }
    }
    cJSON_Delete(doc);
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
    struct dev *d = obj;

    (void)m;
    (void)props;
    if (strcmp(msg->topic, d->ack_topic) == 0) {
        handle_ack(d, msg->payload, msg->payloadlen);
    } else if (strncmp(msg->topic, "pantau/v1/_sys/health/", 22) == 0) {
        handle_health(d, msg->topic, msg->payload, msg->payloadlen);
    }
}

/* The options and callbacks of d's client (again after mosquitto_reinitialise). */
static void client_options(struct dev *d)
{
    mosquitto_int_option(d->m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(d->m, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_username_pw_set(d->m, d->id, d->secret);
    if (d->f->ssl != NULL) {
        SSL_CTX_up_ref(d->f->ssl); /* each client frees its reference */
        mosquitto_void_option(d->m, MOSQ_OPT_SSL_CTX, d->f->ssl);
        mosquitto_int_option(d->m, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0);
    }
    mosquitto_connect_v5_callback_set(d->m, on_connect);
    mosquitto_disconnect_v5_callback_set(d->m, on_disconnect);
    mosquitto_subscribe_v5_callback_set(d->m, on_subscribe);
    mosquitto_publish_v5_callback_set(d->m, on_publish);
    mosquitto_message_v5_callback_set(d->m, on_message);
}

/* ---- readings ------------------------------------------------------------------------- */

static void take(struct dev *d, int64_t now)
{
    int per = d->kind == FLEET_TRAFFIC ? d->f->lanes : 1;
    int64_t every = d->kind == FLEET_TRAFFIC ? d->f->traffic_ms
                    : d->kind == FLEET_FLOOD ? d->f->flood_ms
                                             : d->f->handheld_ms;

    while (!d->f->stopping && now >= d->next_take_ms) {
        int64_t w = wall_ms();

        for (int lane = 0; lane < per; lane++) {
            struct slot *s;

            if (d->n >= FLEET_WINDOW) {
                d->f->window_full++;
                break;
            }
            s = &d->slots[d->n++];
            memset(s, 0, sizeof(*s));
            s->seq = d->next_seq++;
            s->take_ms = now;
            s->wall_ms = w;
            s->rto_ms = FLEET_ACK_TIMEOUT_MS;
            s->lane = lane;
            d->f->taken++;
        }
        d->next_take_ms += every;
    }
}

static void send_due(struct dev *d, int64_t now)
{
    char buf[1024];

    if (d->state != FLEET_UP) {
        return;
    }
    bucket_fill(d, now);
    for (int i = 0; i < d->n && d->tokens >= 1.0; i++) {
        struct slot *s = &d->slots[i];
        bool first = s->sends == 0;
        bool due;
        int len;

        if (s->refused_until > now) {
            continue;
        }
        if (first) {
            due = true;
        } else if (s->sent_ms == 0) {
            due = d->resend_ok;
        } else {
            due = d->resend_ok && now - s->sent_ms >= s->rto_ms;
            if (due) {
                d->f->timeouts++;
                s->rto_ms = s->rto_ms * 2 > FLEET_ACK_TIMEOUT_MAX_MS ? FLEET_ACK_TIMEOUT_MAX_MS
                                                                     : s->rto_ms * 2;
            }
        }
        if (!due) {
            continue;
        }
        len = reading_payload(d, s, now - s->take_ms > FLEET_LATENESS_MS, buf, sizeof(buf));
        if (len <= 0 || (size_t)len >= sizeof(buf)) {
            fprintf(stderr, "fleet: %s: payload too long\n", d->id);
            continue;
        }
        if (mosquitto_publish_v5(d->m, &s->mid, d->topic, len, buf, 1, false, NULL) !=
            MOSQ_ERR_SUCCESS) {
            return;
        }
        if (!first) {
            d->f->resends++;
        }
        d->f->sends++;
        s->sends++;
        s->sent_ms = now;
        d->tokens -= 1.0;
    }
}

/* A connection attempt that failed (refused, or no CONNACK within mqtt_connect_timeout_ms):
 * the client is made anew and the next try waits its backoff. libmosquitto 2.0.11 drives a
 * pending TLS handshake, and notices a refused TLS connect, only in mosquitto_loop(), whose
 * select() cannot take descriptors above FD_SETSIZE: a new client leaves nothing of the failed
 * attempt to the next one. Its socket closes, and leaves epoll. */
static void give_up_connect(struct dev *d, int64_t now)
{
    d->f->connect_fails++;
    mosquitto_reinitialise(d->m, d->id, true, d);
    client_options(d);
    d->fresh = true;
    sync_fd(d);
    schedule_reconnect(d, now);
}

static void tick(struct dev *d, int64_t now)
{
    take(d, now);
    if (d->state == FLEET_IDLE && now >= d->next_connect_ms) {
        start_connect(d, now);
        return;
    }
    if (d->state == FLEET_CONNECTING && now - d->connect_start_ms > FLEET_CONNECT_TIMEOUT_MS) {
        d->f->connect_timeouts++;
        give_up_connect(d, now);
        return;
    }
    if (d->state != FLEET_IDLE && now - d->last_misc_ms >= 1000) {
        d->last_misc_ms = now;
        mosquitto_loop_misc(d->m);
        sync_fd(d);
        if (d->state == FLEET_IDLE) {
            return;
        }
    }
    send_due(d, now);
    sync_fd(d);
}

/* ---- setup ---------------------------------------------------------------------------- */

static int load_devices(struct fleet *f, const char *path, unsigned long long seed)
{
    FILE *in = fopen(path, "r");
    char line[512];
    int cap = 1024;
    int rc = -1;

    if (in == NULL) {
        fprintf(stderr, "fleet: %s: %s\n", path, strerror(errno));
        return -1;
    }
    f->devs = calloc((size_t)cap, sizeof(*f->devs));
    if (f->devs == NULL) {
        goto out;
    }
    while (fgets(line, sizeof(line), in) != NULL) {
        char id[72];
        char kind[32];
        char secret[80];
        char station[72];
        struct dev *d;
        int k;

        if (sscanf(line, "%71s %31s %79s %71s", id, kind, secret, station) != 4) {
            continue;
        }
        if (f->ndev == cap) {
            struct dev *more = realloc(f->devs, (size_t)cap * 2 * sizeof(*f->devs));

            if (more == NULL) {
                goto out;
            }
            memset(more + cap, 0, (size_t)cap * sizeof(*more));
            f->devs = more;
            cap *= 2;
        }
        d = &f->devs[f->ndev];
        for (k = 0; k < 3; k++) {
            if (strcmp(kind, fleet_limits[k].name) == 0) {
                break;
            }
        }
        if (k == 3) {
            fprintf(stderr, "fleet: %s: unknown kind %s\n", id, kind);
            goto out;
        }
        d->kind = (enum fleet_kind)k;
        snprintf(d->id, sizeof(d->id), "%s", id);
        snprintf(d->secret, sizeof(d->secret), "%s", secret);
        snprintf(d->station, sizeof(d->station), "%s", station);
        snprintf(d->topic, sizeof(d->topic), "pantau/v1/%s/%s", id,
                 k == FLEET_FLOOD     ? "flood"
                 : k == FLEET_TRAFFIC ? "traffic"
                                      : "larva");
        snprintf(d->ack_topic, sizeof(d->ack_topic), "pantau/v1/%s/ack", id);
        snprintf(d->status_topic, sizeof(d->status_topic), "pantau/v1/%s/status", id);
        make_uuid(seed, f->ndev, d->store);
        f->ndev++;
    }
    rc = f->ndev > 0 ? 0 : -1;
out:
    fclose(in);
    return rc;
}

static int setup_clients(struct fleet *f, double ramp_s)
{
    int64_t now = now_ms();

    for (int i = 0; i < f->ndev; i++) {
        struct dev *d = &f->devs[i];
        int64_t every = d->kind == FLEET_TRAFFIC ? f->traffic_ms
                        : d->kind == FLEET_FLOOD ? f->flood_ms
                                                 : f->handheld_ms;

        d->f = f;
        d->fd = -1;
        d->fresh = true;
        d->next_seq = 1;
        d->bucket_ms = now;
        d->tokens = fleet_limits[d->kind].burst / 2;
        /* spread the first connects over the ramp and the readings over their cadence */
        d->next_connect_ms = now + (int64_t)(rng_next(&f->rng) % (uint64_t)(ramp_s * 1000 + 1));
        d->next_take_ms = now + (int64_t)(rng_next(&f->rng) % (uint64_t)every);
        d->m = mosquitto_new(d->id, true, d);
        if (d->m == NULL) {
            fprintf(stderr, "fleet: mosquitto_new: %s\n", strerror(errno));
            return -1;
        }
        client_options(d);
    }
    return 0;
}

static void status_line(struct fleet *f, int64_t now)
{
    int up = 0;
    int connecting = 0;
    int healthy = 0;
    uint64_t pending = 0;
    int64_t oldest = -1;

    for (int i = 0; i < f->ndev; i++) {
        const struct dev *d = &f->devs[i];

        up += d->state == FLEET_UP && d->subscribed ? 1 : 0;
        connecting += d->state == FLEET_CONNECTING ? 1 : 0;
        healthy += d->resend_ok ? 1 : 0;
        pending += (uint64_t)d->n;
        if (d->n > 0 && (oldest < 0 || d->slots[0].take_ms < oldest)) {
            oldest = d->slots[0].take_ms;
        }
    }
    printf("S t=%.3f up=%d connecting=%d healthy=%d taken=%" PRIu64 " acked=%" PRIu64
           " pending=%" PRIu64 " oldest=%.3f sends=%" PRIu64 " resends=%" PRIu64
           " connects=%" PRIu64 " connect_fails=%" PRIu64 " refused_conn=%" PRIu64
           " refused_pub=%" PRIu64 " lost_conn=%" PRIu64 " window_full=%" PRIu64
           " connect_timeouts=%" PRIu64 "\n",
           (double)now / 1000.0, up, connecting, healthy, f->taken, f->acked, pending,
           oldest < 0 ? -1.0 : (double)oldest / 1000.0, f->sends, f->resends, f->connects,
           f->connect_fails, f->refused_conn, f->refused_pub, f->lost_conn, f->window_full,
           f->connect_timeouts);
    fflush(stdout);
}

static void read_stdin(struct fleet *f)
{
    char buf[256];
    ssize_t n = read(0, buf, sizeof(buf) - 1);

    if (n <= 0) {
        f->quit = true; /* the script went away */
        return;
    }
    buf[n] = '\0';
    if (strstr(buf, "stop") != NULL) {
        f->stopping = true;
    }
    if (strstr(buf, "quit") != NULL) {
        f->quit = true;
    }
}

static uint64_t total_pending(const struct fleet *f)
{
    uint64_t p = 0;

    for (int i = 0; i < f->ndev; i++) {
        p += (uint64_t)f->devs[i].n;
    }
    return p;
}

static void vm_hwm(char out[64])
{
    FILE *st = fopen("/proc/self/status", "r");
    char line[256];

    snprintf(out, 64, "0");
    if (st == NULL) {
        return;
    }
    while (fgets(line, sizeof(line), st) != NULL) {
        if (strncmp(line, "VmHWM:", 6) == 0) {
            snprintf(out, 64, "%ld", strtol(line + 6, NULL, 10));
        }
    }
    fclose(st);
}

static int write_out(const struct fleet *f, const char *path)
{
    FILE *o = fopen(path, "w");

    if (o == NULL) {
        fprintf(stderr, "fleet: %s: %s\n", path, strerror(errno));
        return -1;
    }
    for (int i = 0; i < f->ndev; i++) {
        const struct dev *d = &f->devs[i];

        fprintf(o, "%s %s %" PRIu64 " %" PRIu64 " %d %" PRIu64 "\n", d->id, d->store,
                d->next_seq - 1, d->acked, d->n, d->dead);
    }
    return fclose(o) == 0 ? 0 : -1;
}

static void usage(void)
{
    fprintf(stderr, "Usage: fleet --host H --port P --devices FILE [--cafile CA] [--seed N]\n"
                    "       [--ramp-s S] [--traffic-s S] [--lanes N] [--flood-s S]\n"
                    "       [--handheld-s S] [--status-ms MS] [--reconnect-min-ms MS]\n"
                    "       [--reconnect-max-ms MS] [--out FILE]\n");
}

int main(int argc, char **argv)
{
    struct fleet f;
    const char *devices = NULL;
    const char *cafile = NULL;
    const char *out = NULL;
    unsigned long long seed = 1;
    double ramp_s = 10;
    long status_ms = 250;
    struct epoll_event evs[512];
    struct epoll_event ev;
    struct rlimit rl;
    int64_t last_tick = 0;
    int64_t last_status = 0;
    char hwm[64];
    int rc = 1;

    memset(&f, 0, sizeof(f));
    f.ep = -1;
    f.host = "127.0.0.1";
    f.traffic_ms = 60000;
    f.lanes = 2;
    f.flood_ms = 60000;
    f.handheld_ms = 120000;
    f.reconnect_min_ms = FLEET_RECONNECT_MIN_MS;
    f.reconnect_max_ms = FLEET_RECONNECT_MAX_MS;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (v == NULL) {
            usage();
            return 2;
        }
        if (strcmp(a, "--host") == 0) {
            f.host = v;
        } else if (strcmp(a, "--port") == 0) {
            f.port = (int)strtol(v, NULL, 10);
        } else if (strcmp(a, "--devices") == 0) {
            devices = v;
        } else if (strcmp(a, "--cafile") == 0) {
            cafile = v;
        } else if (strcmp(a, "--seed") == 0) {
            seed = strtoull(v, NULL, 10);
        } else if (strcmp(a, "--ramp-s") == 0) {
            ramp_s = strtod(v, NULL);
        } else if (strcmp(a, "--traffic-s") == 0) {
            f.traffic_ms = (int64_t)(strtod(v, NULL) * 1000);
        } else if (strcmp(a, "--lanes") == 0) {
            f.lanes = (int)strtol(v, NULL, 10);
        } else if (strcmp(a, "--flood-s") == 0) {
            f.flood_ms = (int64_t)(strtod(v, NULL) * 1000);
        } else if (strcmp(a, "--handheld-s") == 0) {
            f.handheld_ms = (int64_t)(strtod(v, NULL) * 1000);
        } else if (strcmp(a, "--reconnect-min-ms") == 0) {
            f.reconnect_min_ms = strtoll(v, NULL, 10);
        } else if (strcmp(a, "--reconnect-max-ms") == 0) {
            f.reconnect_max_ms = strtoll(v, NULL, 10);
        } else if (strcmp(a, "--status-ms") == 0) {
            status_ms = strtol(v, NULL, 10);
        } else if (strcmp(a, "--out") == 0) {
            out = v;
        } else {
            usage();
            return 2;
        }
        i++;
    }
    if (devices == NULL || f.port <= 0 || f.lanes < 1 || f.lanes > 2 || f.traffic_ms < 1000 ||
        f.flood_ms < 1000 || f.handheld_ms < 1000 || ramp_s < 0 || status_ms < 10 ||
        f.reconnect_min_ms < 1 || f.reconnect_max_ms < f.reconnect_min_ms) {
        usage();
        return 2;
    }
    /* three descriptors per device (its socket and libmosquitto's socket pair) */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    f.rng = seed * 0x9E3779B97F4A7C15ULL + 1;
    mosquitto_lib_init();
    if (load_devices(&f, devices, seed) != 0) {
        fprintf(stderr, "fleet: no devices in %s\n", devices);
        goto out;
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)f.ndev * 3 + 64) {
        fprintf(stderr, "fleet: RLIMIT_NOFILE %lu is too low for %d devices\n",
                (unsigned long)rl.rlim_cur, f.ndev);
        goto out;
    }
    if (cafile != NULL) {
        f.ssl = SSL_CTX_new(TLS_client_method());
        if (f.ssl == NULL || SSL_CTX_load_verify_locations(f.ssl, cafile, NULL) != 1) {
            fprintf(stderr, "fleet: cannot load CA %s\n", cafile);
            goto out;
        }
        SSL_CTX_set_min_proto_version(f.ssl, TLS1_2_VERSION);
        SSL_CTX_set_verify(f.ssl, SSL_VERIFY_PEER, NULL);
    }
    f.ep = epoll_create1(EPOLL_CLOEXEC);
    if (f.ep < 0 || setup_clients(&f, ramp_s) != 0) {
        goto out;
    }
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.u32 = FLEET_STDIN_TAG;
    epoll_ctl(f.ep, EPOLL_CTL_ADD, 0, &ev);
    printf("devices=%d\n", f.ndev);
    fflush(stdout);
    while (!f.quit) {
        int64_t now;
        int n = epoll_wait(f.ep, evs, (int)(sizeof(evs) / sizeof(evs[0])), 20);

        if (n < 0 && errno != EINTR) {
            perror("fleet: epoll_wait");
            goto out;
        }
        for (int i = 0; i < n; i++) {
            struct dev *d;

            if (evs[i].data.u32 == FLEET_STDIN_TAG) {
                read_stdin(&f);
                continue;
            }
            d = &f.devs[evs[i].data.u32];
            if (d->fd < 0) {
                continue;
            }
            if (d->state == FLEET_CONNECTING && (evs[i].events & (EPOLLERR | EPOLLHUP))) {
                /* a refused connect (with TLS, libmosquitto's handshake took the error and
                 * waits on a dead socket): the agent (paho) hears of it at once */
                give_up_connect(d, now_ms());
                continue;
            }
            /* a TLS handshake whose TCP connect was still pending is driven by SSL_read on
             * writability too (libmosquitto drives it from mosquitto_loop() only) */
            if ((evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) ||
                (f.ssl != NULL && d->state == FLEET_CONNECTING)) {
                mosquitto_loop_read(d->m, 16);
            }
            if (mosquitto_socket(d->m) >= 0 && (evs[i].events & (EPOLLOUT | EPOLLERR))) {
                mosquitto_loop_write(d->m, 16);
            }
            sync_fd(d);
        }
        now = now_ms();
        if (now - last_tick >= 50) {
            last_tick = now;
            for (int i = 0; i < f.ndev; i++) {
                tick(&f.devs[i], now);
            }
        }
        if (now - last_status >= status_ms) {
            last_status = now;
            status_line(&f, now);
        }
        if (f.stopping && total_pending(&f) == 0) {
            break;
        }
    }
    status_line(&f, now_ms());
    vm_hwm(hwm);
    printf("taken=%" PRIu64 "\nacked=%" PRIu64 "\npending=%" PRIu64 "\nresends=%" PRIu64
           "\ntimeouts=%" PRIu64 "\nconnects=%" PRIu64 "\nconnect_fails=%" PRIu64
           "\nrefused_conn=%" PRIu64 "\nrefused_pub=%" PRIu64 "\nwindow_full=%" PRIu64
           "\nack_msgs=%" PRIu64 "\nfleet_hwm_kib=%s\n",
           f.taken, f.acked, total_pending(&f), f.resends, f.timeouts, f.connects, f.connect_fails,
           f.refused_conn, f.refused_pub, f.window_full, f.ack_msgs, hwm);
    fflush(stdout);
    rc = 0;
    if (out != NULL && write_out(&f, out) != 0) {
        rc = 1;
    }
out:
    if (f.devs != NULL) {
        for (int i = 0; i < f.ndev; i++) {
            if (f.devs[i].m != NULL) {
                mosquitto_destroy(f.devs[i].m);
            }
        }
    }
    free(f.devs);
    if (f.ep >= 0) {
        close(f.ep);
    }
    SSL_CTX_free(f.ssl);
    mosquitto_lib_cleanup();
    return rc;
}
