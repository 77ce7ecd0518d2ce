/* bench_loadgen.c -- the collector benchmark's devices: N MQTT 5 connections (libmosquitto,
 * one thread, poll() over every socket) publishing realistic flood readings (about 200 bytes
 * of JSON) at QoS 1 to pantau/v1/<device>/flood.
 *
 * Each device keeps a window of readings in flight. In `puback` mode a reading leaves the
 * window on its PUBACK (the load for a subscriber that only counts, or for py_bridge.py); in
 * `ack` mode only when the collector's end-to-end acknowledgement covers it, as a device does
 * (protocol.md 11): unacknowledged readings are resent (replay true) after --resend-ms. With
 * --rate the devices publish that many readings a second in total, evenly; otherwise as fast
 * as their windows allow. Ends after --per-device readings each (all freed), or --duration s.
 *
 * Prints key=value lines: connect_s, published, freed, resends, ack_msgs, elapsed_s, rate, and
 * in ack mode the publish-to-acknowledgement latency p50_ms/p99_ms/max_ms.
 *
 *   bench_loadgen --port P --devices 1000 --prefix gw-bench- --per-device 60 --window 32
 *                 --mode ack|puback [--rate R] [--duration S] [--store-seed X]
 *                 [--first-seq N] [--resend-ms MS]
 *
 * A benchmark tool (tests/bench/collector/bench_collector.py builds and runs it), not a test.
 * Not for: anything but loopback benchmarking (no TLS, no authentication). */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <mosquitto.h>

#define WINDOW_MAX 256

struct slot {
    bool busy;
    int mid;
    uint64_t seq;
    int64_t first_us; /* first publish */
    int64_t last_us;  /* last (re)send */
};

struct gen;

struct dev {
    struct gen *g; /* the generator it belongs to (libmosquitto's userdata is the dev) */
    struct mosquitto *m;
    char id[64];
    char store[37];
    char topic[96];
    char ack_topic[96];
    char station[80];
    uint64_t next_seq;
    uint64_t published; /* new readings */
    int inflight;
    bool connected;
    bool subscribed;
    struct slot slots[WINDOW_MAX];
};

struct gen {
    struct dev *devs;
    int ndev;
    int window;
    bool ack_mode;
    long long per_device;
    double rate;
    double duration_s;
    long long resend_ms;
    uint64_t published;
    uint64_t freed;
    uint64_t resends;
    uint64_t ack_msgs;
    double *lat_ms; /* ack mode: one per freed reading */
    size_t nlat;
    size_t caplat;
    int64_t start_us;
};

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void wall_ts(char out[96])
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(out, 96, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

static void make_uuid(unsigned long long seed, int i, char out[37])
{
    unsigned long long a = seed * 6364136223846793005ULL + (unsigned long long)i * 1442695040888963407ULL;
    unsigned long long b = a * 6364136223846793005ULL + 1;

    snprintf(out, 37, "%08llx-%04llx-4%03llx-8%03llx-%012llx", a >> 32, (a >> 16) & 0xffff,
             a & 0xfff, (b >> 52) & 0xfff, b & 0xffffffffffffULL);
}

static int send_reading(struct gen *g, struct dev *d, struct slot *s, bool replay)
{
    char ts[96];
    char payload[512];
    int n;
    int rc;

    wall_ts(ts);
    n = snprintf(payload, sizeof(payload),
                 "{\"store\":\"%s\",\"seq\":%" PRIu64 ",\"ts\":\"%s\",\"clock_synced\":true,"
                 "\"replay\":%s,\"boot\":3,\"mono_ms\":%" PRIu64 ",\"station\":\"%s\","
                 "\"level_cm\":%.1f,\"rise_cm_h\":%.1f,\"rain_mm\":0.4,\"battery_v\":12.61}",
                 d->store, s->seq, ts, replay ? "true" : "false", 86400000 + s->seq * 1000,
                 d->station, 300.0 + (double)(s->seq % 500) + 0.5, (double)(s->seq % 40) - 20.0);
    rc = mosquitto_publish_v5(d->m, &s->mid, d->topic, n, payload, 1, false, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        return -1;
    }
    s->last_us = now_us();
    (void)g;
    return 0;
}

static void free_slot(struct gen *g, struct dev *d, struct slot *s)
{
    if (g->ack_mode && g->nlat < g->caplat) {
        g->lat_ms[g->nlat++] = (double)(now_us() - s->first_us) / 1000.0;
    }
    s->busy = false;
    d->inflight--;
    g->freed++;
}

static void on_connect(struct mosquitto *m, void *obj, int rc, int flags,
                       const mosquitto_property *props)
{
    struct dev *d = obj;

    (void)flags;
    (void)props;
    if (rc != 0) {
        fprintf(stderr, "loadgen: %s refused: %s\n", d->id, mosquitto_reason_string(rc));
        return;
    }
    d->connected = true;
    mosquitto_subscribe_v5(m, NULL, d->ack_topic, 0, 0, NULL);
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int qos_count,
                         const int *granted, const mosquitto_property *props)
{
    struct dev *d = obj;

    (void)m;
    (void)mid;
    (void)qos_count;
    (void)granted;
    (void)props;
    d->subscribed = true;
}

static void on_publish(struct mosquitto *m, void *obj, int mid, int reason,
                       const mosquitto_property *props)
{
    struct dev *d = obj;
    struct gen *g = d->g;

    (void)m;
    (void)props;
    (void)reason;
    if (g->ack_mode) {
        return;
    }
    for (int i = 0; i < g->window; i++) {
        if (d->slots[i].busy && d->slots[i].mid == mid) {
            free_slot(g, d, &d->slots[i]);
            return;
        }
    }
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
    struct dev *d = obj;
    struct gen *g = d->g;
    cJSON *doc = NULL;
    const cJSON *item;

    (void)m;
    (void)props;
    g->ack_msgs++;
    doc = cJSON_ParseWithLength(msg->payload, (size_t)msg->payloadlen);
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
        cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(item, "ranges"))
        {
            double lo = cJSON_GetArrayItem(r, 0)->valuedouble;
            double hi = cJSON_GetArrayItem(r, 1)->valuedouble;

            for (int i = 0; i < g->window; i++) {
                struct slot *s = &d->slots[i];

                if (s->busy && (double)s->seq >= lo && (double)s->seq <= hi) {
                    free_slot(g, d, s);
                }
            }
        }
    }
    cJSON_Delete(doc);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;

    return x < y ? -1 : x > y ? 1 : 0;
}

static void usage(void)
{
    fprintf(stderr, "Usage: bench_loadgen --port P [--devices N] [--prefix S] [--per-device K]\n"
                    "       [--window W] [--mode ack|puback] [--rate R] [--duration S]\n"
                    "       [--store-seed X] [--first-seq N] [--resend-ms MS]\n");
}

int main(int argc, char **argv)
{
    struct gen g;
    const char *prefix = "gw-bench-";
    long port = 0;
    unsigned long long seed = 1;
    unsigned long long first_seq = 1;
    struct pollfd *pfd = NULL;
    int64_t t_connect;
    int64_t last_misc;
    int64_t last_resend_check = 0;
    double credit = 0;
    int rr = 0;
    int rc = 1;

    memset(&g, 0, sizeof(g));
    g.ndev = 1000;
    g.window = 32;
    g.per_device = 60;
    g.resend_ms = 10000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (v == NULL) {
            usage();
            return 2;
        }
        if (strcmp(a, "--port") == 0) {
            port = strtol(v, NULL, 10);
        } else if (strcmp(a, "--devices") == 0) {
            g.ndev = (int)strtol(v, NULL, 10);
        } else if (strcmp(a, "--prefix") == 0) {
            prefix = v;
        } else if (strcmp(a, "--per-device") == 0) {
            g.per_device = strtoll(v, NULL, 10);
        } else if (strcmp(a, "--window") == 0) {
            g.window = (int)strtol(v, NULL, 10);
        } else if (strcmp(a, "--mode") == 0) {
            g.ack_mode = strcmp(v, "ack") == 0;
        } else if (strcmp(a, "--rate") == 0) {
            g.rate = strtod(v, NULL);
        } else if (strcmp(a, "--duration") == 0) {
            g.duration_s = strtod(v, NULL);
        } else if (strcmp(a, "--store-seed") == 0) {
            seed = strtoull(v, NULL, 10);
        } else if (strcmp(a, "--first-seq") == 0) {
            first_seq = strtoull(v, NULL, 10);
        } else if (strcmp(a, "--resend-ms") == 0) {
            g.resend_ms = strtoll(v, NULL, 10);
        } else {
            usage();
            return 2;
        }
        i++;
    }
    if (port <= 0 || g.ndev <= 0 || g.window <= 0 || g.window > WINDOW_MAX) {
        usage();
        return 2;
    }
    mosquitto_lib_init();
    g.devs = calloc((size_t)g.ndev, sizeof(*g.devs));
    pfd = calloc((size_t)g.ndev, sizeof(*pfd));
    g.caplat = g.duration_s > 0 ? (size_t)(g.rate * g.duration_s * 1.2 + 100000)
                                : (size_t)g.ndev * (size_t)g.per_device;
    g.lat_ms = g.ack_mode ? calloc(g.caplat, sizeof(double)) : NULL;
    if (g.devs == NULL || pfd == NULL || (g.ack_mode && g.lat_ms == NULL)) {
        fprintf(stderr, "loadgen: out of memory\n");
        goto out;
    }
    t_connect = now_us();
    for (int i = 0; i < g.ndev; i++) {
        struct dev *d = &g.devs[i];

        snprintf(d->id, sizeof(d->id), "%s%04d", prefix, i);
        snprintf(d->station, sizeof(d->station), "st-%s", d->id);
        snprintf(d->topic, sizeof(d->topic), "pantau/v1/%s/flood", d->id);
        snprintf(d->ack_topic, sizeof(d->ack_topic), "pantau/v1/%s/ack", d->id);
        make_uuid(seed, i, d->store);
        d->g = &g;
        d->next_seq = first_seq;
        d->m = mosquitto_new(d->id, true, d);
        if (d->m == NULL) {
            fprintf(stderr, "loadgen: mosquitto_new: %s\n", strerror(errno));
            goto out;
        }
        mosquitto_int_option(d->m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
        mosquitto_connect_v5_callback_set(d->m, on_connect);
        mosquitto_subscribe_v5_callback_set(d->m, on_subscribe);
        mosquitto_publish_v5_callback_set(d->m, on_publish);
        mosquitto_message_v5_callback_set(d->m, on_message);
        if (mosquitto_connect(d->m, "127.0.0.1", (int)port, 60) != MOSQ_ERR_SUCCESS) {
            fprintf(stderr, "loadgen: connect %s: %s\n", d->id, strerror(errno));
            goto out;
        }
    }
    last_misc = now_us();
    for (;;) {
        int ready = 0;
        int64_t now = now_us();
        bool done;

        /* I/O on every socket */
        for (int i = 0; i < g.ndev; i++) {
            pfd[i].fd = mosquitto_socket(g.devs[i].m);
            pfd[i].events = (short)(POLLIN | (mosquitto_want_write(g.devs[i].m) ? POLLOUT : 0));
            pfd[i].revents = 0;
        }
        /* poll returns at once on traffic; the timeout only paces an idle loop */
        if (poll(pfd, (nfds_t)g.ndev, 10) < 0 && errno != EINTR) {
            perror("loadgen: poll");
            goto out;
        }
        for (int i = 0; i < g.ndev; i++) {
            if (pfd[i].revents & (POLLIN | POLLERR | POLLHUP)) {
                mosquitto_loop_read(g.devs[i].m, 64);
            }
            if (pfd[i].revents & POLLOUT) {
                mosquitto_loop_write(g.devs[i].m, 64);
            }
        }
        if (now - last_misc > 500000) {
            for (int i = 0; i < g.ndev; i++) {
                if (mosquitto_loop_misc(g.devs[i].m) == MOSQ_ERR_NO_CONN) {
                    mosquitto_reconnect(g.devs[i].m);
                }
            }
            last_misc = now;
        }
        if (g.start_us == 0) {
            for (int i = 0; i < g.ndev; i++) {
                ready += g.devs[i].subscribed ? 1 : 0;
            }
            if (ready < g.ndev) {
                if (now - t_connect > 60 * 1000000LL) {
                    fprintf(stderr, "loadgen: only %d of %d connected\n", ready, g.ndev);
                    goto out;
                }
                continue;
            }
            g.start_us = now_us();
            printf("connect_s=%.2f\n", (double)(g.start_us - t_connect) / 1e6);
            fflush(stdout);
        }
        /* publish: fill the windows (at --rate: as the credit allows) */
        if (g.rate > 0) {
            credit = g.rate * (double)(now - g.start_us) / 1e6 - (double)g.published;
        }
        for (int k = 0; k < g.ndev; k++) {
            struct dev *d = &g.devs[(rr + k) % g.ndev];

            while (d->inflight < g.window && (g.duration_s > 0 || (long long)d->published < g.per_device) &&
                   (g.rate <= 0 || credit >= 1.0)) {
                struct slot *s = NULL;

                for (int i = 0; i < g.window; i++) {
                    if (!d->slots[i].busy) {
                        s = &d->slots[i];
                        break;
                    }
                }
                s->busy = true;
                s->seq = d->next_seq++;
                s->first_us = now_us();
                d->inflight++;
                d->published++;
                g.published++;
                credit -= 1.0;
                send_reading(&g, d, s, false);
                if (g.rate > 0) {
                    break; /* evenly over the devices */
                }
            }
            if (g.rate > 0 && credit < 1.0) {
                rr = (rr + k + 1) % g.ndev;
                break;
            }
        }
        /* resend what waited too long for its acknowledgement (checked every 100 ms) */
        if (g.ack_mode && now - last_resend_check > 100000) {
            last_resend_check = now;
            for (int i = 0; i < g.ndev; i++) {
                struct dev *d = &g.devs[i];

                for (int j = 0; j < g.window && d->inflight > 0; j++) {
                    struct slot *s = &d->slots[j];

                    if (s->busy && now - s->last_us > g.resend_ms * 1000) {
                        g.resends++;
                        send_reading(&g, d, s, true);
                    }
                }
            }
        }
        if (g.duration_s > 0) {
            done = (double)(now - g.start_us) / 1e6 >= g.duration_s;
            if (done) {
                /* let what is in flight be freed, at most a few seconds */
                int64_t until = now_us() + 5000000;

                while (g.freed < g.published && now_us() < until) {
                    for (int i = 0; i < g.ndev; i++) {
                        mosquitto_loop(g.devs[i].m, 0, 64);
                    }
                }
            }
        } else {
            done = g.freed >= (uint64_t)g.ndev * (uint64_t)g.per_device;
        }
        if (done) {
            break;
        }
        if ((double)(now - g.start_us) / 1e6 > 900) {
            fprintf(stderr, "loadgen: giving up after 900 s\n");
            break;
        }
    }
    {
        double el = (double)(now_us() - g.start_us) / 1e6;
        /* at --duration, the rate is over the publishing time (not the drain at the end) */
        double span = g.duration_s > 0 && el > g.duration_s ? g.duration_s : el;

        printf("published=%" PRIu64 "\nfreed=%" PRIu64 "\nresends=%" PRIu64 "\nack_msgs=%" PRIu64
               "\nelapsed_s=%.3f\nrate=%.1f\n",
               g.published, g.freed, g.resends, g.ack_msgs, el, (double)g.freed / span);
        if (g.ack_mode && g.nlat > 0) {
            qsort(g.lat_ms, g.nlat, sizeof(double), cmp_double);
            printf("p50_ms=%.1f\np99_ms=%.1f\nmax_ms=%.1f\n", g.lat_ms[g.nlat / 2],
                   g.lat_ms[(size_t)((double)g.nlat * 0.99)], g.lat_ms[g.nlat - 1]);
        }
    }
    rc = g.freed >= g.published ? 0 : 1;
out:
    if (g.devs != NULL) {
        for (int i = 0; i < g.ndev; i++) {
            if (g.devs[i].m != NULL) {
                mosquitto_disconnect(g.devs[i].m);
                mosquitto_destroy(g.devs[i].m);
            }
        }
    }
    free(g.devs);
    free(pfd);
    free(g.lat_ms);
    mosquitto_lib_cleanup();
    return rc;
}
