/* intake.h -- the collector's bounded intake buffer: a byte ring of raw MQTT messages.
 *
 * libmosquitto's network thread (the producer) copies each message's topic and payload into the
 * ring in on_message; the database thread (the consumer) reads them in arrival order, turns them
 * into rows and releases them. The ring has a fixed size chosen at start, so a slow or absent
 * database never makes the collector grow: when the ring is full, intake_put() waits (the
 * network thread then stops reading from the broker: back-pressure) and gives up after its
 * timeout, leaving the caller to decide.
 *
 * Exactly one producer thread and one consumer thread. No allocation after intake_new().
 * Not for: parsing or validation (see collector.c), or anything that must survive a restart
 * (a message in the ring is not yet acknowledged, so its device still holds it). */
#ifndef INTAKE_H
#define INTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg_err.h"

#define INTAKE_TOPIC_KEEP 512     /* bytes of a topic kept (longer ones are invalid anyway) */
#define INTAKE_PAYLOAD_KEEP 65536 /* bytes of a payload kept (longer ones are invalid anyway) */
#define INTAKE_BYTES_MIN (4 * (INTAKE_TOPIC_KEEP + INTAKE_PAYLOAD_KEEP + 64))

/* One message as the consumer sees it. The pointers point into the ring and stay valid until
 * intake_pop(). topic and payload are NUL-terminated copies (the NUL is not counted). */
struct intake_item {
    const char *topic;
    size_t topic_len;      /* bytes kept, <= INTAKE_TOPIC_KEEP */
    size_t topic_len_orig; /* bytes the broker sent */
    const char *payload;
    size_t payload_len;      /* bytes kept, <= INTAKE_PAYLOAD_KEEP */
    size_t payload_len_orig; /* bytes the broker sent */
    int64_t recv_us;         /* receive time, microseconds since the Unix epoch */
};

struct intake;

/* A ring of `bytes` bytes (at least INTAKE_BYTES_MIN). Returns NULL on allocation failure.
 * Caller frees with intake_free(). */
struct intake *intake_new(size_t bytes);
void intake_free(struct intake *q);

/* Copies topic and payload (both borrowed; longer ones are cut to the KEEP limits, keeping the
 * original lengths) into the ring, waiting up to wait_ms for room. Returns MSG_OK, or
 * MSG_ERR_FULL if there was no room in time or the ring was closed. Producer thread only. */
int intake_put(struct intake *q, const char *topic, size_t topic_len, const void *payload,
               size_t payload_len, int64_t recv_us, long wait_ms);

/* Fills *out with the oldest message, waiting up to wait_ms for one. Returns true if it did,
 * false if the ring stayed empty (or was closed). The item stays in the ring until
 * intake_pop(). Consumer thread only. */
bool intake_peek(struct intake *q, struct intake_item *out, long wait_ms);

/* Releases the message returned by the last successful intake_peek(). Consumer thread only. */
void intake_pop(struct intake *q);

/* Wakes both sides' waits (used on shutdown); a closed ring refuses new messages. */
void intake_close(struct intake *q);

/* Messages and bytes held now; any thread. */
void intake_depth(struct intake *q, size_t *messages, size_t *bytes);

#endif
