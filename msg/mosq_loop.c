/* mosq_loop.c -- libmosquitto's network loop in a thread of ours: see mosq_loop.h. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, pthread_condattr_setclock */
#include "mosq_loop.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <mqtt_protocol.h>

#include "log.h"
#include "msg_backoff.h"
#include "msg_clock.h"

#define MOSQ_LOOP_TICK_MS 100

static bool stopping(struct mosq_loop *l)
{
    bool s;

    pthread_mutex_lock(&l->lock);
    s = l->stopping;
    pthread_mutex_unlock(&l->lock);
    return s;
}

/* Waits ms or until a stop is asked; returns false when a stop was asked. */
static bool wait_ms(struct mosq_loop *l, long long ms)
{
    struct timespec ts;
    bool s;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&l->lock);
    while (!l->stopping) {
        if (pthread_cond_timedwait(&l->cond, &l->lock, &ts) == ETIMEDOUT) {
            break;
        }
    }
    s = l->stopping;
    pthread_mutex_unlock(&l->lock);
    return !s;
}

static void *loop_main(void *arg)
{
    struct mosq_loop *l = arg;
    struct msg_backoff bo;

    msg_backoff_init(&bo, l->backoff_min_ms, l->backoff_max_ms, MSG_BACKOFF_NONE);
    while (!stopping(l)) {
        int rc = mosquitto_loop(l->mosq, l->tick_ms, 1);

        if (rc == MOSQ_ERR_SUCCESS) {
            msg_backoff_reset(&bo);
            continue;
        }
        /* lost, refused, TLS, protocol: wait, then try again, whatever the error was */
        while (rc != MOSQ_ERR_SUCCESS) {
            long long delay = msg_backoff_next(&bo, 0);

            if (stopping(l)) {
                return NULL;
            }
            log_msg(LOG_WARNING, "%s: broker %s: %s, reconnecting in %lld ms", l->who, l->where,
                    rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc), delay);
            if (!wait_ms(l, delay)) {
                return NULL;
            }
            rc = mosquitto_reconnect(l->mosq);
        }
    }
    return NULL;
}

/* After a stop: writes what is queued until the connection closes or drain_ms passed. */
static void drain(struct mosq_loop *l, int drain_ms)
{
    int64_t deadline = msg_clock_mono_ms() + drain_ms;

    while (msg_clock_mono_ms() < deadline) {
        if (mosquitto_loop(l->mosq, MOSQ_LOOP_TICK_MS, 1) != MOSQ_ERR_SUCCESS) {
            return;
        }
    }
}

int mosq_loop_start(struct mosq_loop *l, struct mosquitto *mosq, const char *who, const char *host,
                    long long port)
{
    memset(l, 0, sizeof(*l));
    l->mosq = mosq;
    snprintf(l->who, sizeof(l->who), "%s", who);
    snprintf(l->where, sizeof(l->where), "%s:%lld", host, port);
    l->tick_ms = MOSQ_LOOP_TICK_MS;
    l->backoff_min_ms = 500;
    l->backoff_max_ms = 30000;
    pthread_mutex_init(&l->lock, NULL);
    {
        pthread_condattr_t ca;

        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&l->cond, &ca);
        pthread_condattr_destroy(&ca);
    }
    mosquitto_threaded_set(mosq, true);
    if (pthread_create(&l->thread, NULL, loop_main, l) != 0) {
        pthread_cond_destroy(&l->cond);
        pthread_mutex_destroy(&l->lock);
        return MOSQ_ERR_ERRNO;
    }
    l->started = true;
    return MOSQ_ERR_SUCCESS;
}

void mosq_loop_stop(struct mosq_loop *l, int drain_ms)
{
    if (!l->started) {
        return;
    }
    pthread_mutex_lock(&l->lock);
    l->stopping = true;
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->lock);
    pthread_join(l->thread, NULL);
    /* the thread is gone: the DISCONNECT is queued after what the caller published last, and
     * written here with it */
    mosquitto_disconnect_v5(l->mosq, MQTT_RC_NORMAL_DISCONNECTION, NULL);
    drain(l, drain_ms);
    l->started = false;
    pthread_cond_destroy(&l->cond);
    pthread_mutex_destroy(&l->lock);
}
