/* mosq_loop.h -- libmosquitto's network loop in a thread of ours, for the programs that speak
 * MQTT through libmosquitto (the collector, alertd): every failure is logged and retried with
 * backoff, for as long as the program runs.
 *
 * Why not mosquitto_loop_start(): 2.0.11's thread runs mosquitto_loop_forever, which returns
 * for good on MOSQ_ERR_TLS, _PROTOCOL, _NOMEM, _AUTH and others (lib/loop.c): one failed TLS
 * handshake during a reconnect (a broker stopped mid-handshake, a certificate not trusted for a
 * while) and the program would never connect again, silently.
 *
 * Use: set the callbacks, make the first connection (mosquitto_connect...), then
 * mosq_loop_start (it sets mosquitto_threaded_set). To stop: mosq_loop_stop, which ends the
 * thread (never reconnecting after a stop was asked), sends DISCONNECT (reason 0) after what is
 * queued, and writes it all in the caller's thread for at most drain_ms.
 *
 * Not for: the agent (paho-mqtt-c) or the broker plugin. Links libmosquitto: its own library,
 * pantau_mosqloop, so that pantau_msg stays free of it. */
#ifndef PANTAU_MOSQ_LOOP_H
#define PANTAU_MOSQ_LOOP_H

#include <pthread.h>
#include <stdbool.h>

#include <mosquitto.h>

struct mosq_loop {
    struct mosquitto *mosq; /* borrowed: the caller destroys it after mosq_loop_stop */
    char who[64];           /* the program's name in log lines ("collector") */
    char where[300];        /* host:port, for log lines */
    int tick_ms;            /* one mosquitto_loop call waits at most this */
    long long backoff_min_ms;
    long long backoff_max_ms;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* signalled on stop, so that a backoff wait ends at once */
    bool stopping;       /* under lock */
    bool started;
};

/* Starts the thread for mosq (borrowed, connected or not: the thread reconnects), logging as who
 * ("collector") about host:port. Returns MOSQ_ERR_SUCCESS or a pthread failure as MOSQ_ERR_ERRNO. */
int mosq_loop_start(struct mosq_loop *l, struct mosquitto *mosq, const char *who, const char *host,
                    long long port);

/* Ends the thread (at most one tick), then disconnects (reason 0: a last will is not sent) and
 * writes what is queued until the connection closes or drain_ms passed. Safe on a loop never
 * started (then it does nothing: no connection to end). */
void mosq_loop_stop(struct mosq_loop *l, int drain_ms);

#endif
