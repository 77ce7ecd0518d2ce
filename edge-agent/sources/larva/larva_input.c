/* larva_input.c -- a Jumantik inspection without its envelope (see larva_input.h). */
#include "larva_input.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "msg_json.h"
#include "msg_topic.h"
#include "msg_write.h"

#define LARVA_PLACEHOLDER_DEVICE "handheld"
#define LARVA_PLACEHOLDER_STORE "00000000-0000-4000-8000-000000000000"
#define LARVA_PLACEHOLDER_TS "2000-01-01T00:00:00.000Z"
#define LARVA_PLACEHOLDER_TS_MS INT64_C(946684800000)

static const char *const envelope_members[] = {
    "store", "seq", "ts", "clock_synced", "replay", "boot", "mono_ms", NULL,
};

int larva_input_from_json(const char *buf, size_t len, struct msg_larva *out, char *err,
                          size_t errlen)
{
    struct msg_topic topic;
    struct msg_event ev;
    cJSON *doc = NULL;
    int rc;

    rc = msg_json_parse(buf, len, MSG_PAYLOAD_MAX, MSG_DEPTH_DEVICE, &doc, err, errlen);
    if (rc != MSG_OK) {
        goto out;
    }
    if (!cJSON_IsObject(doc)) {
        snprintf(err, errlen, "inspection is %s, not an object", msg_json_type_name(doc));
        rc = MSG_ERR_SCHEMA;
        goto out;
    }
    for (size_t i = 0; envelope_members[i] != NULL; i++) {
        if (cJSON_GetObjectItemCaseSensitive(doc, envelope_members[i]) != NULL) {
            snprintf(err, errlen, "%s: not allowed in an inspection (the agent sets the "
                     "envelope)", envelope_members[i]);
            rc = MSG_ERR_SCHEMA;
            goto out;
        }
    }
    if (cJSON_AddStringToObject(doc, "store", LARVA_PLACEHOLDER_STORE) == NULL ||
        cJSON_AddNumberToObject(doc, "seq", 1) == NULL ||
        cJSON_AddStringToObject(doc, "ts", LARVA_PLACEHOLDER_TS) == NULL ||
        cJSON_AddBoolToObject(doc, "clock_synced", 1) == NULL ||
        cJSON_AddBoolToObject(doc, "replay", 0) == NULL) {
        snprintf(err, errlen, "out of memory");
        rc = MSG_ERR_NOMEM;
        goto out;
    }
    memset(&topic, 0, sizeof(topic));
    topic.stream = MSG_STREAM_LARVA;
    snprintf(topic.device_id, sizeof(topic.device_id), "%s", LARVA_PLACEHOLDER_DEVICE);
    rc = msg_event_from_json(doc, &topic, &ev, err, errlen);
    if (rc == MSG_OK) {
        *out = ev.u.larva;
    }
out:
    cJSON_Delete(doc);
    return rc;
}

int larva_input_building_from_name(const char *name, enum msg_building *out)
{
    for (int i = MSG_BUILDING_HOUSE; i <= MSG_BUILDING_INSTITUTION; i++) {
        if (strcmp(msg_building_name((enum msg_building)i), name) == 0) {
            *out = (enum msg_building)i;
            return MSG_OK;
        }
    }
    return MSG_ERR_INVAL;
}

int larva_input_type_from_name(const char *name, enum msg_container_type *out)
{
    for (int i = MSG_CONTAINER_BATH_TUB; i <= MSG_CONTAINER_OTHER; i++) {
        if (strcmp(msg_container_type_name((enum msg_container_type)i), name) == 0) {
            *out = (enum msg_container_type)i;
            return MSG_OK;
        }
    }
    return MSG_ERR_INVAL;
}

int larva_input_location_from_name(const char *name, enum msg_container_location *out)
{
    for (int i = MSG_LOCATION_INDOOR; i <= MSG_LOCATION_OUTDOOR; i++) {
        if (strcmp(msg_container_location_name((enum msg_container_location)i), name) == 0) {
            *out = (enum msg_container_location)i;
            return MSG_OK;
        }
    }
    return MSG_ERR_INVAL;
}

/* A count 0..1000 (the contract's range) written in decimal digits only. */
static int read_count(const char *s, int *out)
{
    char *end = NULL;
    long v;

    if (s[0] < '0' || s[0] > '9') {
        return MSG_ERR_INVAL;
    }
    v = strtol(s, &end, 10);
    if (*end != '\0' || v < 0 || v > 1000) {
        return MSG_ERR_INVAL;
    }
    *out = (int)v;
    return MSG_OK;
}

int larva_input_container_parse(const char *spec, struct msg_container *out, char *err,
                                size_t errlen)
{
    char buf[128];
    char q[MSG_QUOTE_MAX];
    char *part[4] = {NULL, NULL, NULL, NULL};
    char *p = buf;
    size_t n = 0;

    memset(out, 0, sizeof(*out));
    msg_quote(spec, strlen(spec), q);
    if (strlen(spec) >= sizeof(buf)) {
        snprintf(err, errlen, "container '%s': too long", q);
        return MSG_ERR_SCHEMA;
    }
    memcpy(buf, spec, strlen(spec) + 1);
    while (n < 4) {
        char *colon = strchr(p, ':');

        part[n++] = p;
        if (colon == NULL || n == 4) {
            break;
        }
        *colon = '\0';
        p = colon + 1;
    }
    if (n != 4 || strchr(part[3], ':') != NULL) {
        snprintf(err, errlen, "container '%s': must read TYPE:LOCATION:INSPECTED:POSITIVE", q);
        return MSG_ERR_SCHEMA;
    }
    if (larva_input_type_from_name(part[0], &out->type) != MSG_OK) {
        snprintf(err, errlen, "container '%s': type is not a container type", q);
        return MSG_ERR_SCHEMA;
    }
    if (larva_input_location_from_name(part[1], &out->location) != MSG_OK) {
        snprintf(err, errlen, "container '%s': location is not indoor or outdoor", q);
        return MSG_ERR_SCHEMA;
    }
    if (read_count(part[2], &out->inspected) != MSG_OK) {
        snprintf(err, errlen, "container '%s': inspected is not an integer 0..1000", q);
        return MSG_ERR_SCHEMA;
    }
    if (read_count(part[3], &out->positive) != MSG_OK) {
        snprintf(err, errlen, "container '%s': positive is not an integer 0..1000", q);
        return MSG_ERR_SCHEMA;
    }
    return MSG_OK;
}

int larva_input_actions_parse(const char *list, unsigned *out, char *err, size_t errlen)
{
    const char *p = list;

    *out = 0;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
        char q[MSG_QUOTE_MAX];
        int found = -1;

        for (int a = 0; a < MSG_ACTION_COUNT; a++) {
            const char *name = msg_action_name((enum msg_action)a);

            if (strlen(name) == n && strncmp(name, p, n) == 0) {
                found = a;
                break;
            }
        }
        if (found < 0) {
            snprintf(err, errlen, "actions: '%s' is not an action", msg_quote(p, n, q));
            return MSG_ERR_SCHEMA;
        }
        if (*out & (1u << found)) {
            snprintf(err, errlen, "actions: '%s' given twice", msg_quote(p, n, q));
            return MSG_ERR_SCHEMA;
        }
        *out |= 1u << found;
        if (comma == NULL) {
            return MSG_OK;
        }
        p = comma + 1;
    }
}

void larva_input_derive(struct msg_larva *l)
{
    l->larvae_found = false;
    for (size_t i = 0; i < l->n_containers; i++) {
        if (l->containers[i].positive > 0) {
            l->larvae_found = true;
        }
    }
}

int larva_input_check(const struct msg_larva *l, char *err, size_t errlen)
{
    struct msg_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.stream = MSG_STREAM_LARVA;
    snprintf(ev.device_id, sizeof(ev.device_id), "%s", LARVA_PLACEHOLDER_DEVICE);
    snprintf(ev.env.store_id, sizeof(ev.env.store_id), "%s", LARVA_PLACEHOLDER_STORE);
    ev.env.seq = 1;
    ev.env.ts_ms = LARVA_PLACEHOLDER_TS_MS;
    ev.env.clock_synced = true;
    ev.u.larva = *l;
    return msg_event_validate(&ev, err, errlen);
}
