/* bench_sub_paho.c -- the counting subscriber of bench_sub_mosq.c, with paho MQTTAsync 1.3
 * instead of libmosquitto: MQTT 5, clean start, QoS 1, $share/<group>/pantau/v1/+/flood,
 * persistence off. messageArrived counts and frees (MQTTAsync_freeMessage, MQTTAsync_free)
 * and returns 1. The other side of the comparison of issue 3 item 9.
 *
 *   bench_sub_paho PORT COUNT [GROUP]
 *
 * Same output as bench_sub_mosq. A benchmark tool, not a test. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <MQTTAsync.h>

struct counter {
    atomic_ullong n;
    atomic_llong first_us;
    atomic_llong last_us;
    atomic_int subscribed; /* 1 subscribed, -1 failed */
    MQTTAsync client;
    char topic[256];
};

static long long now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int on_message(void *context, char *topic, int topic_len, MQTTAsync_message *m)
{
    struct counter *c = context;
    long long t = now_us();

    (void)topic_len;
    if (atomic_fetch_add(&c->n, 1) == 0) {
        atomic_store(&c->first_us, t);
    }
    atomic_store(&c->last_us, t);
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
}

static void on_subscribed(void *context, MQTTAsync_successData5 *r)
{
    struct counter *c = context;

    (void)r;
    atomic_store(&c->subscribed, 1);
}

static void on_failed(void *context, MQTTAsync_failureData5 *r)
{
    struct counter *c = context;

    fprintf(stderr, "bench_sub_paho: failed: %s\n",
            r != NULL && r->message != NULL ? r->message : "?");
    atomic_store(&c->subscribed, -1);
}

static void on_connected(void *context, MQTTAsync_successData5 *r)
{
    struct counter *c = context;
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;

    (void)r;
    ro.onSuccess5 = on_subscribed;
    ro.onFailure5 = on_failed;
    ro.context = c;
    if (MQTTAsync_subscribe(c->client, c->topic, 1, &ro) != MQTTASYNC_SUCCESS) {
        atomic_store(&c->subscribed, -1);
    }
}

int main(int argc, char **argv)
{
    struct counter c;
    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer5;
    MQTTAsync_connectOptions opts = MQTTAsync_connectOptions_initializer5;
    char uri[64];
    unsigned long long want;
    unsigned long long seen = 0;
    long long idle_since;
    struct timespec tick = {0, 10 * 1000 * 1000};
    int rc = 1;

    if (argc < 3) {
        fprintf(stderr, "Usage: bench_sub_paho PORT COUNT [GROUP]\n");
        return 2;
    }
    memset(&c, 0, sizeof(c));
    snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%s", argv[1]);
    want = strtoull(argv[2], NULL, 10);
    snprintf(c.topic, sizeof(c.topic), "$share/%s/pantau/v1/+/flood", argc > 3 ? argv[3] : "bench");
    if (MQTTAsync_createWithOptions(&c.client, uri, "bench-sub-paho", MQTTCLIENT_PERSISTENCE_NONE,
                                    NULL, &co) != MQTTASYNC_SUCCESS) {
        return 1;
    }
    MQTTAsync_setCallbacks(c.client, &c, NULL, on_message, NULL);
    opts.cleanstart = 1;
    opts.onSuccess5 = on_connected;
    opts.onFailure5 = on_failed;
    opts.context = &c;
    if (MQTTAsync_connect(c.client, &opts) != MQTTASYNC_SUCCESS) {
        goto out;
    }
    while (atomic_load(&c.subscribed) == 0) {
        nanosleep(&tick, NULL);
    }
    if (atomic_load(&c.subscribed) < 0) {
        goto out;
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
        rc = n >= want ? 0 : 1;
    }
out:
    MQTTAsync_destroy(&c.client);
    return rc;
}
