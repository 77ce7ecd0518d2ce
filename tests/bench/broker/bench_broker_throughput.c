/* bench_broker_throughput.c -- the load of the broker throughput benchmark: N device
 * connections (MQTT 5, libmosquitto, one thread, poll() over every socket) publishing valid
 * flood readings at QoS 1 on pantau/v1/<device>/flood, each with a window of readings in
 * flight, and one subscriber (QoS 1, a shared subscription as the collectors use) that counts
 * what the broker delivers.
 *
 * The clock starts when every connection is up and the subscription granted, and stops when
 * every reading got its PUBACK and every accepted one reached the subscriber. Prints key=value
 * lines: published, accepted, refused, received, elapsed_s, rate (readings a second, end to end).
 *
 *   bench_broker_throughput --port P --devices 50 --prefix gw-tp- --per-device 400
 *       --window 16 [--secrets FILE] [--sub-user U --sub-pass PW] [--timeout S]
 *
 * FILE holds one device secret a line, in device order (device i is <prefix><i>, bound to
 * station st-<prefix><i>); without it the devices send no password (plain mosquitto).
 * A benchmark tool (tests/bench/broker/bench_broker_throughput.py builds and runs it), not a
 * test. Not for: anything but loopback benchmarking. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>

#define SECRET_MAX 128

struct bench;

struct conn {
    struct bench *b;
    struct mosquitto *m;
    char id[64];
    char station[80];
    char store[37];
    bool connected;
    bool failed;
    uint64_t next_seq; /* next reading to publish */
    uint64_t sent;     /* published */
    uint64_t done;     /* PUBACKed */
    int in_flight;
};

struct bench {
    int port;
    int devices;
    const char *prefix;
    uint64_t per_device;
    int window;
    const char *secrets_path;
    const char *sub_user;
    const char *sub_pass;
    double timeout_s;
    struct conn *dev;
    struct conn sub;
    bool subscribed;
    uint64_t accepted;
    uint64_t refused;
    uint64_t received;
};

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void publish_next(struct conn *c)
{
    char payload[400];
    char topic[128];
    int n;
    int rc;

    while (c->in_flight < c->b->window && c->sent < c->b->per_device) {
        n = snprintf(payload, sizeof(payload),
                     "{\"store\":\"%s\",\"seq\":%" PRIu64 ",\"ts\":\"2026-02-11T03:15:00.000Z\","
                     "\"clock_synced\":true,\"replay\":false,\"boot\":311,\"mono_ms\":86400123,"
                     "\"station\":\"%s\",\"distance_cm\":412.5,\"offset_cm\":1050,"
                     "\"level_cm\":637.5,\"rise_cm_h\":42.0,\"rain_mm\":3.2,\"battery_v\":12.61}",
                     c->store, c->next_seq, c->station);
        snprintf(topic, sizeof(topic), "pantau/v1/%s/flood", c->id);
        rc = mosquitto_publish_v5(c->m, NULL, topic, n, payload, 1, false, NULL);
        if (rc != MOSQ_ERR_SUCCESS) {
            fprintf(stderr, "publish %s: %s\n", c->id, mosquitto_strerror(rc));
            c->failed = true;
            return;
        }
        c->next_seq++;
        c->sent++;
        c->in_flight++;
    }
}

static void on_connect(struct mosquitto *m, void *obj, int rc, int flags,
                       const mosquitto_property *props)
{
    struct conn *c = obj;

    (void)m;
    (void)flags;
    (void)props;
    if (rc != 0) {
        fprintf(stderr, "connect %s refused: %s\n", c->id, mosquitto_reason_string(rc));
        c->failed = true;
        return;
    }
    c->connected = true;
}

static void on_publish(struct mosquitto *m, void *obj, int mid, int reason,
                       const mosquitto_property *props)
{
    struct conn *c = obj;

    (void)m;
    (void)mid;
    (void)props;
    c->in_flight--;
    c->done++;
    if (reason >= 0x80) {
        c->b->refused++;
    } else {
        c->b->accepted++;
    }
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *granted,
                         const mosquitto_property *props)
{
    struct conn *c = obj;

    (void)m;
    (void)mid;
    (void)props;
    if (n < 1 || granted[0] >= 0x80) {
        fprintf(stderr, "subscribe refused\n");
        c->failed = true;
        return;
    }
    c->b->subscribed = true;
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
    struct conn *c = obj;

    (void)m;
    (void)msg;
    (void)props;
    c->b->received++;
}

static int conn_open(struct bench *b, struct conn *c, const char *id, const char *user,
                     const char *pass)
{
    int rc;

    c->b = b;
    snprintf(c->id, sizeof(c->id), "%s", id);
    c->m = mosquitto_new(id, true, c);
    if (c->m == NULL) {
        return -1;
    }
    mosquitto_int_option(c->m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_connect_v5_callback_set(c->m, on_connect);
    mosquitto_publish_v5_callback_set(c->m, on_publish);
    mosquitto_subscribe_v5_callback_set(c->m, on_subscribe);
    mosquitto_message_v5_callback_set(c->m, on_message);
    if (user != NULL) {
        mosquitto_username_pw_set(c->m, user, pass);
    }
    rc = mosquitto_connect(c->m, "127.0.0.1", b->port, 60);
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "connect %s: %s\n", id, mosquitto_strerror(rc));
        return -1;
    }
    return 0;
}

/* One poll() over every socket, then libmosquitto's read, write and housekeeping. */
static int pump(struct bench *b, struct pollfd *pfd, struct conn **who, int timeout_ms)
{
    int n = 0;

    for (int i = -1; i < b->devices; i++) {
        struct conn *c = i < 0 ? &b->sub : &b->dev[i];

        pfd[n].fd = mosquitto_socket(c->m);
        pfd[n].events = POLLIN | (mosquitto_want_write(c->m) ? POLLOUT : 0);
        pfd[n].revents = 0;
        who[n] = c;
        n++;
    }
    if (poll(pfd, (nfds_t)n, timeout_ms) < 0 && errno != EINTR) {
        perror("poll");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        struct conn *c = who[i];

        if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) {
            if (mosquitto_loop_read(c->m, 1) != MOSQ_ERR_SUCCESS) {
                c->failed = true;
            }
        }
        if (pfd[i].revents & POLLOUT) {
            if (mosquitto_loop_write(c->m, 1) != MOSQ_ERR_SUCCESS) {
                c->failed = true;
            }
        }
        mosquitto_loop_misc(c->m);
    }
    return 0;
}

static bool all(struct bench *b, bool (*pred)(const struct conn *))
{
    for (int i = 0; i < b->devices; i++) {
        if (!pred(&b->dev[i])) {
            return false;
        }
    }
    return true;
}

static bool is_connected(const struct conn *c)
{
    return c->connected;
}

static bool is_done(const struct conn *c)
{
    return c->done >= c->b->per_device;
}

static bool any_failed(struct bench *b)
{
    if (b->sub.failed) {
        return true;
    }
    for (int i = 0; i < b->devices; i++) {
        if (b->dev[i].failed) {
            return true;
        }
    }
    return false;
}

static int parse_args(struct bench *b, int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i];
        const char *v = argv[i + 1];

        if (strcmp(k, "--port") == 0) {
            b->port = (int)strtol(v, NULL, 10);
        } else if (strcmp(k, "--devices") == 0) {
            b->devices = (int)strtol(v, NULL, 10);
        } else if (strcmp(k, "--prefix") == 0) {
            b->prefix = v;
        } else if (strcmp(k, "--per-device") == 0) {
            b->per_device = strtoull(v, NULL, 10);
        } else if (strcmp(k, "--window") == 0) {
            b->window = (int)strtol(v, NULL, 10);
        } else if (strcmp(k, "--secrets") == 0) {
            b->secrets_path = v;
        } else if (strcmp(k, "--sub-user") == 0) {
            b->sub_user = v;
        } else if (strcmp(k, "--sub-pass") == 0) {
            b->sub_pass = v;
        } else if (strcmp(k, "--timeout") == 0) {
            b->timeout_s = strtod(v, NULL);
        } else {
            fprintf(stderr, "unknown option %s\n", k);
            return -1;
        }
    }
    if (b->port <= 0 || b->devices < 1 || b->devices > 10000 || b->per_device < 1 ||
        b->window < 1 || b->prefix == NULL) {
        fprintf(stderr, "usage: bench_broker_throughput --port P --devices N --prefix X "
                        "--per-device M --window W [--secrets FILE] [--sub-user U --sub-pass "
                        "PW] [--timeout S]\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct bench b;
    struct pollfd *pfd = NULL;
    struct conn **who = NULL;
    char(*secrets)[SECRET_MAX] = NULL;
    char id[64];
    FILE *f = NULL;
    int64_t t0;
    int64_t deadline;
    double elapsed;
    int status = 1;

    memset(&b, 0, sizeof(b));
    b.timeout_s = 120;
    if (parse_args(&b, argc, argv) != 0) {
        return 2;
    }
    mosquitto_lib_init();
    b.dev = calloc((size_t)b.devices, sizeof(*b.dev));
    pfd = calloc((size_t)b.devices + 1, sizeof(*pfd));
    who = calloc((size_t)b.devices + 1, sizeof(*who));
    secrets = calloc((size_t)b.devices, sizeof(*secrets));
    if (b.dev == NULL || pfd == NULL || who == NULL || secrets == NULL) {
        goto out;
    }
    if (b.secrets_path != NULL) {
        f = fopen(b.secrets_path, "r");
        if (f == NULL) {
            perror(b.secrets_path);
            goto out;
        }
        for (int i = 0; i < b.devices; i++) {
            if (fgets(secrets[i], SECRET_MAX, f) == NULL) {
                fprintf(stderr, "%s: fewer than %d secrets\n", b.secrets_path, b.devices);
                goto out;
            }
            secrets[i][strcspn(secrets[i], "\r\n")] = '\0';
        }
    }
    if (conn_open(&b, &b.sub, b.sub_user ? b.sub_user : "bench-sub", b.sub_user, b.sub_pass) != 0) {
        goto out;
    }
    for (int i = 0; i < b.devices; i++) {
        struct conn *c = &b.dev[i];

        snprintf(id, sizeof(id), "%s%d", b.prefix, i);
        snprintf(c->station, sizeof(c->station), "st-%s", id);
        snprintf(c->store, sizeof(c->store), "6f1c2b0e-9a57-4d1e-8d0c-%012x", i);
        c->next_seq = 1;
        if (conn_open(&b, c, id, id, b.secrets_path ? secrets[i] : NULL) != 0) {
            goto out;
        }
    }
    deadline = now_us() + (int64_t)(b.timeout_s * 1e6);
    while (!(b.sub.connected && all(&b, is_connected))) {
        if (any_failed(&b) || now_us() > deadline || pump(&b, pfd, who, 100) != 0) {
            fprintf(stderr, "not every connection came up\n");
            goto out;
        }
    }
    mosquitto_subscribe_v5(b.sub.m, NULL, "$share/bench/pantau/v1/+/flood", 1, 0, NULL);
    while (!b.subscribed) {
        if (any_failed(&b) || now_us() > deadline || pump(&b, pfd, who, 100) != 0) {
            fprintf(stderr, "no subscription\n");
            goto out;
        }
    }
    t0 = now_us();
    while (!(all(&b, is_done) && b.received >= b.accepted)) {
        for (int i = 0; i < b.devices; i++) {
            publish_next(&b.dev[i]);
        }
        if (any_failed(&b) || now_us() > deadline || pump(&b, pfd, who, 100) != 0) {
            fprintf(stderr, "run did not finish: accepted=%" PRIu64 " received=%" PRIu64 "\n",
                    b.accepted, b.received);
            goto out;
        }
    }
    elapsed = (double)(now_us() - t0) / 1e6;
    printf("published=%" PRIu64 "\naccepted=%" PRIu64 "\nrefused=%" PRIu64 "\nreceived=%" PRIu64
           "\nelapsed_s=%.4f\nrate=%.1f\n",
           b.per_device * (uint64_t)b.devices, b.accepted, b.refused, b.received, elapsed,
           (double)(b.accepted + b.refused) / elapsed);
    status = 0;
out:
    if (f != NULL) {
        fclose(f);
    }
    if (b.dev != NULL) {
        for (int i = 0; i < b.devices; i++) {
            if (b.dev[i].m != NULL) {
                mosquitto_disconnect(b.dev[i].m);
                mosquitto_destroy(b.dev[i].m);
            }
        }
    }
    if (b.sub.m != NULL) {
        mosquitto_disconnect(b.sub.m);
        mosquitto_destroy(b.sub.m);
    }
    free(b.dev);
    free(pfd);
    free(who);
    free(secrets);
    mosquitto_lib_cleanup();
    return status;
}
