/* msg_health.c -- collector health messages: see msg_health.h. */
#include "msg_health.h"

#include <stdio.h>
#include <string.h>

#include "msg_event.h"
#include "msg_json.h"
#include "msg_schema.h"
#include "msg_write.h"

_Static_assert(sizeof(enum msg_db_state) == sizeof(int), "enum size");

static const char *const db_names[] = {"up", "down", "unknown", NULL};
static const char *const state_names[] = {"online", "offline", NULL};

/* "state" is an enum on the wire and a bool in the struct. */
static int check_state(const struct msg_member *m, const cJSON *item, void *base,
                       const struct msg_path *path, char *err, size_t errlen)
{
    static const struct msg_member state = {
        "state", MSG_M_ENUM, true, false, 0, 0, 0, sizeof(int), MSG_NO_HAS, state_names, NULL,
        NULL, NULL,
    };
    int v = 0;
    int rc;

    (void)m;
    rc = msg_schema_value(&state, item, &v, path, err, errlen);
    if (rc == MSG_OK) {
        ((struct msg_health *)base)->online = v == 0;
    }
    return rc;
}

static int emit_state(const struct msg_member *m, const void *base, struct msg_buf *b,
                      enum msg_enc_mode mode)
{
    (void)m;
    (void)mode;
    msg_buf_json_str(b, state_names[((const struct msg_health *)base)->online ? 0 : 1]);
    return MSG_OK;
}

static const struct msg_member health_members[] = {
    {"collector", MSG_M_ID, true, false, 0, 0, offsetof(struct msg_health, collector),
     sizeof(((struct msg_health *)0)->collector), MSG_NO_HAS, NULL, NULL, NULL, NULL},
    {"state", MSG_M_CUSTOM, true, false, 0, 0, 0, 0, MSG_NO_HAS, NULL, check_state, emit_state,
     NULL},
    {"db", MSG_M_ENUM, true, false, 0, 0, offsetof(struct msg_health, db), sizeof(int),
     MSG_NO_HAS, db_names, NULL, NULL, NULL},
    {"ts", MSG_M_TS, true, false, 0, 0, offsetof(struct msg_health, ts_ms), sizeof(int64_t),
     MSG_NO_HAS, NULL, NULL, NULL, NULL},
};

const char *msg_db_state_name(enum msg_db_state s)
{
    return (unsigned)s <= MSG_DB_UNKNOWN ? db_names[s] : "?";
}

int msg_health_encode(const struct msg_health *h, char *buf, size_t buflen, size_t *outlen)
{
    struct msg_buf b;
    int rc;

    if (memchr(h->collector, '\0', sizeof(h->collector)) == NULL ||
        !msg_id_valid(h->collector, strlen(h->collector))) {
        return MSG_ERR_INVAL;
    }
    msg_buf_init(&b, buf, buflen);
    rc = msg_schema_encode(health_members, sizeof(health_members) / sizeof(health_members[0]), h,
                           &b, MSG_ENC_PAYLOAD);
    if (rc != MSG_OK) {
        return rc;
    }
    return msg_buf_finish(&b, outlen);
}

int msg_health_parse(const struct msg_topic *topic, const void *payload, size_t len,
                     struct msg_health *out, char *err, size_t errlen)
{
    struct msg_path cp = {NULL, "collector", 0};
    cJSON *doc = NULL;
    char q[MSG_QUOTE_MAX];
    int rc;

    memset(out, 0, sizeof(*out));
    if (topic->stream != MSG_STREAM_HEALTH) {
        snprintf(err, errlen, "topic stream '%s' is not health", msg_stream_name(topic->stream));
        rc = MSG_ERR_TOPIC;
        goto out;
    }
    rc = msg_json_parse(payload, len, MSG_PAYLOAD_MAX, MSG_DEPTH_DEVICE, &doc, err, errlen);
    if (rc != MSG_OK) {
        goto out;
    }
    rc = msg_schema_object(doc, health_members, sizeof(health_members) / sizeof(health_members[0]),
                           true, out, NULL, NULL, err, errlen);
    if (rc != MSG_OK) {
        goto out;
    }
    if (strcmp(out->collector, topic->collector_id) != 0) {
        rc = msg_schema_fail(&cp, err, errlen, "'%s' differs from the topic's collector '%s'",
                             out->collector,
                             msg_quote(topic->collector_id, strlen(topic->collector_id), q));
    }
out:
    cJSON_Delete(doc);
    return rc;
}
