/* bench_sub_mosq.c -- a subscriber that only counts, with libmosquitto's threaded loop set up
 * as the collector sets it up (MQTT 5, clean start, receive maximum 65535, QoS 1, the shared
 * subscription $share/<group>/pantau/v1/+/flood): the raw broker ceiling of the collector
 * benchmark, and one side of the libmosquitto-against-paho comparison (issue 3 item 9).
 *
 *   bench_sub_mosq PORT COUNT [GROUP]
 *
 * Prints "ready" once subscribed, then after COUNT messages (or 20 s without any) received=,
 * first_to_last_s= and rate= lines, and exits 0 (1 if COUNT was not reached).
 * A benchmark tool, not a test. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mosquitto.h>

struct counter {
    atomic_ullong n;
    atomic_llong first_us;
    atomic_llong last_us;
    atomic_int subscribed;
    char topic[256];
};

static long long now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void on_connect(struct mosquitto *m, void *obj, int rc, int flags,
                       const mosquitto_property *props)
{
    struct counter *c = obj;

    (void)flags;
    (void)props;
    if (rc == 0) {
        mosquitto_subscribe_v5(m, NULL, c->topic, 1, 0, NULL);
    }
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *granted,
                         const mosquitto_property *props)
{
    struct counter *c = obj;

    (void)m;
    (void)mid;
    (void)n;
    (void)granted;
    (void)props;
    atomic_store(&c->subscribed, 1);
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
    struct counter *c = obj;
    long long t = now_us();

    (void)m;
    (void)msg;
    (void)props;
    if (atomic_fetch_add(&c->n, 1) == 0) {
        atomic_store(&c->first_us, t);
    }
    atomic_store(&c->last_us, t);
}

int main(int argc, char **argv)
{
    struct counter c;
    struct mosquitto *m = NULL;
    unsigned long long want;
    unsigned long long seen = 0;
    long long idle_since;
    int port;
    struct timespec tick = {0, 10 * 1000 * 1000};

    if (argc < 3) {
        fprintf(stderr, "Usage: bench_sub_mosq PORT COUNT [GROUP]\n");
        return 2;
    }
    port = (int)strtol(argv[1], NULL, 10);
    want = strtoull(argv[2], NULL, 10);
    memset(&c, 0, sizeof(c));
    snprintf(c.topic, sizeof(c.topic), "$share/%s/pantau/v1/+/flood", argc > 3 ? argv[3] : "bench");
    mosquitto_lib_init();
    m = mosquitto_new("bench-sub-mosq", true, &c);
    if (m == NULL) {
        return 1;
    }
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_int_option(m, MOSQ_OPT_RECEIVE_MAXIMUM, 65535);
    mosquitto_connect_v5_callback_set(m, on_connect);
    mosquitto_subscribe_v5_callback_set(m, on_subscribe);
    mosquitto_message_v5_callback_set(m, on_message);
    if (mosquitto_connect(m, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "bench_sub_mosq: cannot connect\n");
        return 1;
    }
    mosquitto_loop_start(m);
    while (!atomic_load(&c.subscribed)) {
        nanosleep(&tick, NULL);
    }
    printf("ready\n");
    fflush(stdout);
    idle_since = now_us();
    for (;;) {
        unsigned long long n = atomic_load(&c.n);

        if (n >= want) {
            break;
        }
        if (n != seen) {
            seen = n;
            idle_since = now_us();
        } else if (now_us() - idle_since > 20 * 1000000LL) {
            break;
        }
        nanosleep(&tick, NULL);
    }
    {
        unsigned long long n = atomic_load(&c.n);
        double span = (double)(atomic_load(&c.last_us) - atomic_load(&c.first_us)) / 1e6;

        printf("received=%llu\nfirst_to_last_s=%.3f\nrate=%.1f\n", n, span,
               span > 0 ? (double)n / span : 0.0);
        fflush(stdout);
        mosquitto_disconnect(m);
        mosquitto_loop_stop(m, false);
        mosquitto_destroy(m);
        mosquitto_lib_cleanup();
        return n >= want ? 0 : 1;
    }
}
