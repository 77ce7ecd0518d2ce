/* refusal.c -- refused messages passed on pantau/v1/_sys/rejected: see refusal.h. */
#include "refusal.h"

#include <string.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <openssl/evp.h>

#include "msg_topic.h"

int refusal_forward(struct refusal_scratch *s, const char *device, const char *topic,
                    const char *reason, const void *payload, size_t len, int64_t now_ms)
{
    return refusal_forward_as(s, -1, device, topic, reason, payload, len, now_ms);
}

int refusal_forward_as(struct refusal_scratch *s, int category, const char *device,
                       const char *topic, const char *reason, const void *payload, size_t len,
                       int64_t now_ms)
{
    char rtopic[MSG_TOPIC_MAX + 1];
    size_t outlen = 0;
    unsigned int hlen = 0;

    if (device == NULL || !msg_id_valid(device, strlen(device))) {
        return MOSQ_ERR_INVAL;
    }
    if (payload == NULL) {
        payload = ""; /* mosquitto passes NULL for an empty payload; memcpy must not get it */
        len = 0;
    }
    memset(&s->r, 0, sizeof(s->r));
    s->r.ts_ms = now_ms;
    memcpy(s->r.device, device, strlen(device) + 1);
    msg_rejected_set_text(s->r.topic, sizeof(s->r.topic), topic, topic ? strlen(topic) : 0,
                          MSG_REJECTED_TOPIC_MAX);
    msg_rejected_set_text(s->r.reason, sizeof(s->r.reason), reason, reason ? strlen(reason) : 0,
                          MSG_REJECTED_REASON_MAX);
    msg_rejected_set_payload(&s->r, payload, len);
    /* the whole payload's hash: two oversize messages that share their first 8192 bytes are
     * two dead letters (protocol.md 7.2) */
    if (EVP_Digest(payload, len, s->r.sha256, &hlen, EVP_sha256(), NULL) != 1 ||
        hlen != MSG_REJECTED_SHA256_LEN) {
        return MOSQ_ERR_INVAL;
    }
    s->r.has_sha256 = true;
    if (msg_rejected_category_name(category) != NULL) {
        s->r.has_category = true;
        s->r.category = category;
    }
    if (msg_rejected_encode(&s->r, s->buf, sizeof(s->buf), &outlen) != MSG_OK) {
        return MOSQ_ERR_INVAL;
    }
    if (msg_topic_format(rtopic, sizeof(rtopic), MSG_STREAM_REJECTED, NULL) != MSG_OK) {
        return MOSQ_ERR_INVAL;
    }
    return mosquitto_broker_publish_copy(NULL, rtopic, (int)outlen, s->buf, 1, false, NULL);
}
