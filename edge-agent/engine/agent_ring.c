/* agent_ring.c -- the engine's event ring and paho's callbacks: what paho's threads hand to
 * the engine.
 *
 * paho runs these callbacks on its own threads; each only copies what it got into a bounded
 * ring (AGENT_RING_EVENTS events, AGENT_RING_BYTES of payloads, the excess counted and
 * dropped) or counts a PUBACK, and wakes the engine through its eventfd. The engine takes the
 * events in its loop (agent.c) and acts on them (agent_conn.c).
 *
 * Not for: deciding anything (every decision is the engine's, on its own thread); the struct
 * and the ownership rules are in agent_int.h. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <MQTTAsync.h>

#include "agent_int.h"
#include "msg_ack.h"
#include "msg_topic.h"

#define MQTT_PACKET_PUBACK 4 /* packet_type of paho's failure data (MQTT's own number) */

/* ---- the event ring ------------------------------------------------------------------- */

void agent_ring_wake(struct agent *a)
{
    uint64_t one = 1;

    if (write(a->wake_fd, &one, sizeof(one)) < 0) {
        /* an eventfd at its maximum is already readable: nothing to do */
    }
}

/* Takes ownership of e->buf (freed if the ring is full). Any thread. */
static void push(struct agent *a, struct agent_ev *e)
{
    struct agent_ring *r = &a->ring;
    bool ok = false;

    pthread_mutex_lock(&r->lock);
    if (r->n < AGENT_RING_EVENTS && r->bytes + e->len <= AGENT_RING_BYTES) {
        r->ev[(r->head + r->n) % AGENT_RING_EVENTS] = *e;
        r->n++;
        r->bytes += e->len;
        ok = true;
    } else {
        r->dropped++;
    }
    pthread_mutex_unlock(&r->lock);
    if (!ok) {
        free(e->buf);
        return;
    }
    agent_ring_wake(a);
}

bool agent_ring_pop(struct agent *a, struct agent_ev *out)
{
    struct agent_ring *r = &a->ring;
    bool ok = false;

    pthread_mutex_lock(&r->lock);
    if (r->n > 0) {
        *out = r->ev[r->head];
        r->head = (r->head + 1) % AGENT_RING_EVENTS;
        r->n--;
        r->bytes -= out->len;
        ok = true;
    }
    pthread_mutex_unlock(&r->lock);
    return ok;
}

/* Events that did not fit, in total. */
uint64_t agent_ring_dropped(struct agent *a)
{
    uint64_t dropped;

    pthread_mutex_lock(&a->ring.lock);
    dropped = a->ring.dropped;
    pthread_mutex_unlock(&a->ring.lock);
    return dropped;
}

/* ---- paho callbacks: paho's thread; they only queue ---------------------------------- */

void agent_ring_on_connect_ok(void *ctx, MQTTAsync_successData5 *d)
{
    struct agent_ev e = {.type = AGENT_EV_CONNECTED};

    (void)d;
    push(ctx, &e);
}

void agent_ring_on_connect_fail(void *ctx, MQTTAsync_failureData5 *d)
{
    struct agent_ev e = {.type = AGENT_EV_CONNECT_FAILED};

    if (d != NULL) {
        e.code = d->code;
        e.reason = (int)d->reasonCode;
    }
    push(ctx, &e);
}

void agent_ring_on_lost(void *ctx, char *cause)
{
    struct agent_ev e = {.type = AGENT_EV_LOST};

    (void)cause; /* paho passes NULL in 1.3 */
    push(ctx, &e);
}

/* The broker sent DISCONNECT (an administrative kick of a disabled device, a session taken
 * over, a server shutting down). paho 1.3 reports it here only, not through connectionLost:
 * without this the agent would believe itself connected for ever. */
void agent_ring_on_server_disconnect(void *ctx, MQTTProperties *props, enum MQTTReasonCodes reason)
{
    struct agent_ev e = {.type = AGENT_EV_LOST};

    (void)props;
    e.reason = (int)reason;
    push(ctx, &e);
}

/* A publish failed. Only a refusal (a PUBACK with reason code >= 0x80) matters: the others
 * are publishes cut off by a lost connection (paho fails every one of them, a window's worth
 * at once), which the engine handles by clearing its window on AGENT_EV_LOST. A successful PUBACK
 * needs no event either (no onSuccess5): the reading is kept until the acknowledgement. */
void agent_ring_on_pub_fail(void *ctx, MQTTAsync_failureData5 *d)
{
    struct agent_ev e = {.type = AGENT_EV_PUB_FAILED};

    if (d == NULL || d->packet_type != MQTT_PACKET_PUBACK || d->reasonCode < 0x80) {
        return;
    }
    e.token = d->token;
    e.code = d->code;
    e.reason = (int)d->reasonCode;
    e.packet = d->packet_type;
    push(ctx, &e);
}

void agent_ring_on_disconnected(void *ctx, MQTTAsync_successData5 *d)
{
    struct agent_ev e = {.type = AGENT_EV_DISCONNECTED};

    (void)d;
    push(ctx, &e);
}

void agent_ring_on_disconnect_fail(void *ctx, MQTTAsync_failureData5 *d)
{
    struct agent_ev e = {.type = AGENT_EV_DISCONNECTED};

    (void)d;
    push(ctx, &e);
}

/* A PUBACK came (success or refusal): one more slot in paho's in-flight list. */
void agent_ring_on_delivered(void *ctx, MQTTAsync_token token)
{
    struct agent *a = ctx;

    (void)token;
    atomic_fetch_add(&a->pubacks, 1);
    agent_ring_wake(a);
}

/* Copies the topic and payload into the ring; frees paho's message (STYLE.md 5). */
int agent_ring_on_message(void *ctx, char *topic, int topic_len, MQTTAsync_message *m)
{
    struct agent_ev e = {.type = AGENT_EV_MESSAGE};
    size_t tlen = topic_len > 0 ? (size_t)topic_len : strlen(topic);
    size_t plen = m->payloadlen > 0 ? (size_t)m->payloadlen : 0;

    if (tlen <= MSG_TOPIC_MAX && plen <= MSG_ACK_PAYLOAD_MAX) {
        e.buf = malloc(tlen + 1 + plen + 1);
        if (e.buf != NULL) {
            memcpy(e.buf, topic, tlen);
            e.buf[tlen] = '\0';
            if (plen > 0) {
                memcpy(e.buf + tlen + 1, m->payload, plen);
            }
            e.buf[tlen + 1 + plen] = '\0';
            e.topic_len = tlen;
            e.len = plen;
            push(ctx, &e);
        }
    }
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
}
