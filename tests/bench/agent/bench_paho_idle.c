/* bench_paho_idle.c -- the reference for pantau-agent's resident memory: a bare paho MQTTAsync
 * client (MQTT 5, the same library and TLS settings as the agent) that connects, subscribes to
 * nothing, publishes nothing and stays connected until SIGTERM. tests/bench/agent/
 * bench_agent_footprint.py reads its VmRSS and VmHWM beside the agent's.
 *
 *   bench_paho_idle URI CLIENT_ID [CAFILE]     e.g. ssl://127.0.0.1:8883 idle-1 ca.pem
 *
 * Prints "connected" on stdout once CONNACK came; exits 0 after SIGTERM, 1 if it cannot connect. */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <MQTTAsync.h>

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

struct idle {
    atomic_int state;     /* 0 connecting, 1 connected, -1 failed (written by paho's thread) */
};

static void on_ok(void *ctx, MQTTAsync_successData5 *d)
{
    struct idle *c = ctx;

    (void)d;
    atomic_store(&c->state, 1);
}

static void on_fail(void *ctx, MQTTAsync_failureData5 *d)
{
    struct idle *c = ctx;

    (void)d;
    atomic_store(&c->state, -1);
}

static int on_message(void *ctx, char *topic, int len, MQTTAsync_message *m)
{
    (void)ctx;
    (void)len;
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
}

int main(int argc, char **argv)
{
    MQTTAsync_createOptions copts = MQTTAsync_createOptions_initializer5;
    MQTTAsync_connectOptions opts = MQTTAsync_connectOptions_initializer5;
    MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
    MQTTAsync client = NULL;
    struct idle c;
    struct timespec pause = {0, 50 * 1000 * 1000};
    int status = 1;

    if (argc < 3) {
        fprintf(stderr, "usage: bench_paho_idle URI CLIENT_ID [CAFILE]\n");
        return 2;
    }
    atomic_init(&c.state, 0);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    copts.sendWhileDisconnected = 0;
    if (MQTTAsync_createWithOptions(&client, argv[1], argv[2], MQTTCLIENT_PERSISTENCE_NONE, NULL,
                                    &copts) != MQTTASYNC_SUCCESS) {
        fprintf(stderr, "bench_paho_idle: cannot create the client\n");
        return 1;
    }
    MQTTAsync_setCallbacks(client, &c, NULL, on_message, NULL);
    opts.cleanstart = 1;
    opts.keepAliveInterval = 30;
    opts.onSuccess5 = on_ok;
    opts.onFailure5 = on_fail;
    opts.context = &c;
    if (argc >= 4) {
        ssl.trustStore = argv[3];
        ssl.enableServerCertAuth = 1;
        ssl.verify = 1;
        ssl.sslVersion = MQTT_SSL_VERSION_TLS_1_2;
        opts.ssl = &ssl;
    }
    if (MQTTAsync_connect(client, &opts) != MQTTASYNC_SUCCESS) {
        fprintf(stderr, "bench_paho_idle: connect not started\n");
        goto out;
    }
    while (atomic_load(&c.state) == 0 && !stop_flag) {
        nanosleep(&pause, NULL);
    }
    if (atomic_load(&c.state) != 1) {
        fprintf(stderr, "bench_paho_idle: connect failed\n");
        goto out;
    }
    printf("connected\n");
    fflush(stdout);
    while (!stop_flag) {
        nanosleep(&pause, NULL);
    }
    status = 0;
out:
    MQTTAsync_destroy(&client);
    return status;
}
