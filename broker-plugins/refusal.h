/* refusal.h -- passing a device's message the broker refused (for its content: payval.c; for
 * its topic or the identity that sent it: devacl.c) on pantau/v1/_sys/rejected (protocol.md 7.2,
 * 7.3), so that the collector stores it as a dead letter.
 *
 * Encodes with msg_rejected_encode (the payload in base64, cut to its first 8192 bytes with
 * the reason saying so, with the size and SHA-256 of the whole payload and a category) and
 * publishes with mosquitto_broker_publish_copy: QoS 1, not retained.
 * mosquitto_broker_publish takes no lock, so call this on the broker's thread only (from a
 * plugin callback). Whether a device's budget allows it is the caller's decision.
 *
 * Not for: deciding what to refuse (devacl.c, payval.c), budgets (msg_ratetable.h). */
#ifndef REFUSAL_H
#define REFUSAL_H

#include <stddef.h>
#include <stdint.h>

#include "msg_rejected.h"

/* The default budget of refused messages one device may have passed on (the plugin option
 * rejected_rate): 20 at once, then 10 a minute. The rest are counted, not forwarded. */
#define REFUSAL_DEFAULT_RATE "10/m burst 20"

/* Room for one encoding: the message struct and its text. Caller-owned, reused between calls
 * (it is large, so a module keeps one in its state instead of on the stack). */
struct refusal_scratch {
    struct msg_rejected r;
    char buf[MSG_REJECTED_MSG_MAX + 1];
};

/* Publishes the refusal of payload (len bytes) on topic by device, with reason (all borrowed;
 * topic and reason may hold any bytes: they are made fit for the protocol), at wall-clock
 * now_ms. The message carries the payload's whole size and SHA-256 (computed here, before the
 * payload is cut to 8192 bytes) and, if category is one (enum msg_rejected_category; -1 for
 * none), the category. Returns MOSQ_ERR_SUCCESS or mosquitto's error (MOSQ_ERR_INVAL if the
 * device id is not an id or the hash cannot be computed). */
int refusal_forward_as(struct refusal_scratch *s, int category, const char *device,
                       const char *topic, const char *reason, const void *payload, size_t len,
                       int64_t now_ms);

/* refusal_forward_as() without a category (the collector then finds it from the payload). */
int refusal_forward(struct refusal_scratch *s, const char *device, const char *topic,
                    const char *reason, const void *payload, size_t len, int64_t now_ms);

#endif
