/* msg_health.h -- a collector's health message (protocol.md 6.2), retained on
 * pantau/v1/_sys/health/<collector>: whether it is online and can commit to PostgreSQL.
 *
 * The collector encodes it (birth, every change, every 60 s, and its last will); the agent
 * parses it to decide whether resending and replay may run.
 *
 * Not for: the decision itself (the agent's), device status (msg_event.h). No allocation beyond
 * cJSON's tree during a parse. */
#ifndef MSG_HEALTH_H
#define MSG_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg_err.h"
#include "msg_topic.h"

enum msg_db_state {
    MSG_DB_UP,
    MSG_DB_DOWN,
    MSG_DB_UNKNOWN,
};

struct msg_health {
    char collector[MSG_ID_MAX + 1];
    bool online;                 /* "state": "online" (else "offline", the last will) */
    enum msg_db_state db;
    int64_t ts_ms;
};

/* Writes h (borrowed) as a JSON payload into buf (buflen bytes) with a NUL; *outlen gets the
 * length. Returns MSG_OK, MSG_ERR_FULL or MSG_ERR_INVAL (bad collector id or db value). */
int msg_health_encode(const struct msg_health *h, char *buf, size_t buflen, size_t *outlen);

/* Validates payload (len bytes, borrowed) as the health message of topic (borrowed, from
 * msg_topic_parse, stream MSG_STREAM_HEALTH): every rule of 6.2, and `collector` equal to the
 * topic's last level (9.6). Fills caller-owned *out. Returns MSG_OK, MSG_ERR_TOPIC (not a health
 * topic), MSG_ERR_JSON, MSG_ERR_SCHEMA or MSG_ERR_NOMEM, with err naming the member. */
int msg_health_parse(const struct msg_topic *topic, const void *payload, size_t len,
                     struct msg_health *out, char *err, size_t errlen);

/* "up", "down", "unknown"; "?" outside the enum. */
const char *msg_db_state_name(enum msg_db_state s);

#endif
