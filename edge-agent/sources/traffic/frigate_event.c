/* frigate_event.c -- Frigate's event messages read and mapped (see frigate_event.h). */
#include "frigate_event.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "camera_line.h"
#include "msg_time.h"
#include "msg_topic.h"
#include "msg_utf8.h"
#include "msg_write.h"

#define FRIGATE_ITEM_MAX 160

/* Splits list at blanks and commas; calls fn on each item. */
static int each_item(const char *key, const char *list, int (*fn)(void *ctx, const char *item,
                                                                  char *err, size_t errlen),
                     void *ctx, char *err, size_t errlen)
{
    const char *p = list;

    while (*p != '\0') {
        char item[FRIGATE_ITEM_MAX + 1];
        size_t n;
        int rc;

        p += strspn(p, " \t,");
        n = strcspn(p, " \t,");
        if (n == 0) {
            break;
        }
        if (n > FRIGATE_ITEM_MAX) {
            snprintf(err, errlen, "%s: an item is longer than %d bytes", key, FRIGATE_ITEM_MAX);
            return MSG_ERR_CONFIG;
        }
        memcpy(item, p, n);
        item[n] = '\0';
        rc = fn(ctx, item, err, errlen);
        if (rc != MSG_OK) {
            char why[MSG_ERRLEN];
            char q[MSG_QUOTE_MAX];

            snprintf(why, sizeof(why), "%s", err);
            snprintf(err, errlen, "%s: '%s': %s", key, msg_quote(item, n, q), why);
            return MSG_ERR_CONFIG;
        }
        p += n;
    }
    return MSG_OK;
}

/* A Frigate name: 1 to FRIGATE_NAME_MAX printable ASCII bytes other than '=', '@', '+'. */
static bool name_ok(const char *s, size_t n)
{
    if (n < 1 || n > FRIGATE_NAME_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c <= ' ' || c >= 0x7f || c == '=' || c == '@' || c == '+' || c == ',') {
            return false;
        }
    }
    return true;
}

static int add_camera(void *ctx, const char *item, char *err, size_t errlen)
{
    struct frigate_map *m = ctx;
    const char *eq = strchr(item, '=');
    struct frigate_camera *c;

    if (eq == NULL || !name_ok(item, (size_t)(eq - item)) ||
        !msg_id_valid(eq + 1, strlen(eq + 1))) {
        snprintf(err, errlen, "must read CAMERA=STATION (a station id)");
        return MSG_ERR_CONFIG;
    }
    if (m->n_cameras == FRIGATE_CAMERAS_MAX) {
        snprintf(err, errlen, "more than %d cameras", FRIGATE_CAMERAS_MAX);
        return MSG_ERR_CONFIG;
    }
    c = &m->cameras[m->n_cameras++];
    memcpy(c->camera, item, (size_t)(eq - item));
    c->camera[eq - item] = '\0';
    snprintf(c->station, sizeof(c->station), "%s", eq + 1);
    return MSG_OK;
}

static int add_class(void *ctx, const char *item, char *err, size_t errlen)
{
    struct frigate_map *m = ctx;
    const char *eq = strchr(item, '=');
    struct frigate_class *c;
    enum msg_vclass v;

    if (eq == NULL || !name_ok(item, (size_t)(eq - item)) ||
        camera_vclass_from_name(eq + 1, &v) != MSG_OK) {
        snprintf(err, errlen, "must read LABEL=CLASS (motorcycle, car, bus, truck, nonmotor)");
        return MSG_ERR_CONFIG;
    }
    if (m->n_classes == FRIGATE_CLASSES_MAX) {
        snprintf(err, errlen, "more than %d labels", FRIGATE_CLASSES_MAX);
        return MSG_ERR_CONFIG;
    }
    c = &m->classes[m->n_classes++];
    memcpy(c->label, item, (size_t)(eq - item));
    c->label[eq - item] = '\0';
    c->vclass = v;
    return MSG_OK;
}

static int incident_type_from_name(const char *name, enum msg_incident_type *out)
{
    for (int t = MSG_INCIDENT_ACCIDENT; t <= MSG_INCIDENT_OTHER; t++) {
        if (strcmp(msg_incident_type_name((enum msg_incident_type)t), name) == 0) {
            *out = (enum msg_incident_type)t;
            return MSG_OK;
        }
    }
    return MSG_ERR_INVAL;
}

static int add_rule(void *ctx, const char *item, char *err, size_t errlen)
{
    struct frigate_map *m = ctx;
    const char *eq = strchr(item, '=');
    struct frigate_rule r;
    char lhs[FRIGATE_ITEM_MAX + 1];
    char *plus;
    char *at;

    memset(&r, 0, sizeof(r));
    if (eq == NULL || incident_type_from_name(eq + 1, &r.type) != MSG_OK) {
        snprintf(err, errlen, "must read LABEL[@ZONE][+stationary]=TYPE with an incident "
                 "type of the contract");
        return MSG_ERR_CONFIG;
    }
    memcpy(lhs, item, (size_t)(eq - item));
    lhs[eq - item] = '\0';
    plus = strchr(lhs, '+');
    if (plus != NULL) {
        if (strcmp(plus, "+stationary") != 0) {
            snprintf(err, errlen, "the only condition is +stationary");
            return MSG_ERR_CONFIG;
        }
        *plus = '\0';
        r.stationary = true;
    }
    at = strchr(lhs, '@');
    if (at != NULL) {
        *at = '\0';
        if (!name_ok(at + 1, strlen(at + 1))) {
            snprintf(err, errlen, "bad zone name");
            return MSG_ERR_CONFIG;
        }
        snprintf(r.zone, sizeof(r.zone), "%s", at + 1);
    }
    if (!name_ok(lhs, strlen(lhs))) {
        snprintf(err, errlen, "bad label");
        return MSG_ERR_CONFIG;
    }
    snprintf(r.label, sizeof(r.label), "%s", lhs);
    if (m->n_rules == FRIGATE_RULES_MAX) {
        snprintf(err, errlen, "more than %d rules", FRIGATE_RULES_MAX);
        return MSG_ERR_CONFIG;
    }
    m->rules[m->n_rules++] = r;
    return MSG_OK;
}

int frigate_map_parse(const char *cameras, const char *classes, const char *incidents,
                      const char *snapshot, struct frigate_map *out, char *err, size_t errlen)
{
    int rc;

    memset(out, 0, sizeof(*out));
    rc = each_item("cameras", cameras, add_camera, out, err, errlen);
    if (rc == MSG_OK && out->n_cameras == 0) {
        snprintf(err, errlen, "cameras: at least one CAMERA=STATION");
        rc = MSG_ERR_CONFIG;
    }
    if (rc == MSG_OK) {
        rc = each_item("classes", classes, add_class, out, err, errlen);
    }
    if (rc == MSG_OK) {
        rc = each_item("incidents", incidents, add_rule, out, err, errlen);
    }
    if (rc != MSG_OK) {
        return rc;
    }
    if (strlen(snapshot) > FRIGATE_TEMPLATE_MAX || !msg_utf8_text(snapshot, strlen(snapshot),
                                                                  NULL, NULL, NULL)) {
        snprintf(err, errlen, "snapshot: a template of at most %d bytes of text",
                 FRIGATE_TEMPLATE_MAX);
        return MSG_ERR_CONFIG;
    }
    snprintf(out->snapshot, sizeof(out->snapshot), "%s", snapshot);
    return MSG_OK;
}

static int get_name(const cJSON *obj, const char *side, const char *name, bool required,
                    char *out, size_t outlen, char *err, size_t errlen)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

    out[0] = '\0';
    if (item == NULL || cJSON_IsNull(item)) {
        if (required) {
            snprintf(err, errlen, "%s.%s: missing", side, name);
            return MSG_ERR_SCHEMA;
        }
        return MSG_OK;
    }
    if (!cJSON_IsString(item) || strlen(item->valuestring) >= outlen ||
        strlen(item->valuestring) == 0) {
        snprintf(err, errlen, "%s.%s: not a string of 1 to %zu bytes", side, name, outlen - 1);
        return MSG_ERR_SCHEMA;
    }
    memcpy(out, item->valuestring, strlen(item->valuestring) + 1);
    return MSG_OK;
}

/* A time in seconds since the epoch (a float) into ms. */
static int get_time(const cJSON *obj, const char *side, const char *name, bool *has,
                    int64_t *ms, char *err, size_t errlen)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

    *has = false;
    if (item == NULL || cJSON_IsNull(item)) {
        return MSG_OK;
    }
    if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble) || item->valuedouble < 0 ||
        item->valuedouble * 1000.0 > (double)MSG_TIME_MAX_MS) {
        snprintf(err, errlen, "%s.%s: not a time in seconds since 1970", side, name);
        return MSG_ERR_SCHEMA;
    }
    *ms = (int64_t)llround(item->valuedouble * 1000.0);
    *has = true;
    return MSG_OK;
}

static bool get_bool(const cJSON *obj, const char *name)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, name));
}

int frigate_event_parse(const char *payload, size_t len, struct frigate_event *out, char *err,
                        size_t errlen)
{
    const cJSON *type;
    const cJSON *obj;
    const cJSON *zones;
    const cJSON *score;
    const char *side = "after";
    cJSON *doc = NULL;
    bool has_start = false;
    int rc = MSG_ERR_SCHEMA;

    memset(out, 0, sizeof(*out));
    if (len > FRIGATE_PAYLOAD_MAX) {
        snprintf(err, errlen, "message of %zu bytes exceeds %d", len, FRIGATE_PAYLOAD_MAX);
        return MSG_ERR_JSON;
    }
    /* Frigate is a trusted local program: cJSON's own parser (bounded length) is enough; what
     * is kept is checked member by member below */
    doc = cJSON_ParseWithLength(payload, len);
    if (doc == NULL) {
        snprintf(err, errlen, "not JSON (%zu bytes)", len);
        return MSG_ERR_JSON;
    }
    if (!cJSON_IsObject(doc)) {
        snprintf(err, errlen, "not a JSON object");
        goto out;
    }
    type = cJSON_GetObjectItemCaseSensitive(doc, "type");
    if (!cJSON_IsString(type)) {
        snprintf(err, errlen, "type: missing or not a string");
        goto out;
    }
    if (strcmp(type->valuestring, "new") == 0) {
        out->type = FRIGATE_NEW;
    } else if (strcmp(type->valuestring, "update") == 0) {
        out->type = FRIGATE_UPDATE;
    } else if (strcmp(type->valuestring, "end") == 0) {
        out->type = FRIGATE_END;
    } else {
        snprintf(err, errlen, "type: not one of new, update, end");
        goto out;
    }
    obj = cJSON_GetObjectItemCaseSensitive(doc, "after");
    if (!cJSON_IsObject(obj)) {
        obj = cJSON_GetObjectItemCaseSensitive(doc, "before");
        side = "before";
    }
    if (!cJSON_IsObject(obj)) {
        snprintf(err, errlen, "after: missing (and no before)");
        goto out;
    }
    rc = get_name(obj, side, "id", true, out->id, sizeof(out->id), err, errlen);
    if (rc == MSG_OK) {
        rc = get_name(obj, side, "camera", true, out->camera, sizeof(out->camera), err, errlen);
    }
    if (rc == MSG_OK) {
        rc = get_name(obj, side, "label", true, out->label, sizeof(out->label), err, errlen);
    }
    if (rc == MSG_OK) {
        rc = get_time(obj, side, "start_time", &has_start, &out->start_ms, err, errlen);
    }
    if (rc == MSG_OK && !has_start) {
        snprintf(err, errlen, "%s.start_time: missing", side);
        rc = MSG_ERR_SCHEMA;
    }
    if (rc == MSG_OK) {
        rc = get_time(obj, side, "end_time", &out->has_end, &out->end_ms, err, errlen);
    }
    if (rc != MSG_OK) {
        goto out;
    }
    score = cJSON_GetObjectItemCaseSensitive(obj, "top_score");
    if (!cJSON_IsNumber(score)) {
        score = cJSON_GetObjectItemCaseSensitive(obj, "score");
    }
    if (cJSON_IsNumber(score) && score->valuedouble >= 0 && score->valuedouble <= 1) {
        out->has_score = true;
        out->score = score->valuedouble;
    }
    out->has_snapshot = get_bool(obj, "has_snapshot");
    out->stationary = get_bool(obj, "stationary");
    out->false_positive = get_bool(obj, "false_positive");
    zones = cJSON_GetObjectItemCaseSensitive(obj, "current_zones");
    if (cJSON_IsArray(zones)) {
        const cJSON *z;

        cJSON_ArrayForEach(z, zones) {
            if (out->n_zones < FRIGATE_ZONES_MAX && cJSON_IsString(z) &&
                strlen(z->valuestring) <= FRIGATE_NAME_MAX) {
                snprintf(out->zones[out->n_zones], sizeof(out->zones[0]), "%s",
                         z->valuestring);
                out->n_zones++;
            }
        }
    }
    rc = MSG_OK;
out:
    cJSON_Delete(doc);
    return rc;
}

static bool in_zone(const struct frigate_event *ev, const char *zone)
{
    if (zone[0] == '\0') {
        return true;
    }
    for (size_t i = 0; i < ev->n_zones; i++) {
        if (strcmp(ev->zones[i], zone) == 0) {
            return true;
        }
    }
    return false;
}

/* The event id of the contract: 1 to 64 of A-Z a-z 0-9 . _ : -, starting with a letter or
 * digit (protocol.md section 2). */
static bool event_id_ok(const char *s)
{
    size_t n = strlen(s);

    if (n < 1 || n > MSG_EVENT_ID_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != ':' && c != '-'))) {
            return false;
        }
    }
    return true;
}

/* Expands the snapshot template; false if the result does not fit. */
static bool expand(const char *tmpl, const struct frigate_event *ev, const char *station,
                   char *out, size_t outlen)
{
    size_t used = 0;
    const char *p = tmpl;

    while (*p != '\0') {
        const char *value = NULL;
        size_t skip = 0;
        size_t n;

        if (strncmp(p, "{camera}", 8) == 0) {
            value = ev->camera;
            skip = 8;
        } else if (strncmp(p, "{id}", 4) == 0) {
            value = ev->id;
            skip = 4;
        } else if (strncmp(p, "{station}", 9) == 0) {
            value = station;
            skip = 9;
        } else if (strncmp(p, "{label}", 7) == 0) {
            value = ev->label;
            skip = 7;
        }
        if (value == NULL) {
            value = p;
            skip = 1;
            n = 1;
        } else {
            n = strlen(value);
        }
        if (used + n >= outlen) {
            return false;
        }
        memcpy(out + used, value, n);
        used += n;
        p += skip;
    }
    out[used] = '\0';
    return true;
}

int frigate_event_map(const struct frigate_map *m, const struct frigate_event *ev,
                      bool was_incident, enum msg_incident_type prev_type,
                      struct frigate_action *out, char *err, size_t errlen)
{
    const struct frigate_rule *rule = NULL;
    const char *station = NULL;
    struct msg_incident *inc = &out->inc;
    char q[MSG_QUOTE_MAX];

    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < m->n_cameras; i++) {
        if (strcmp(m->cameras[i].camera, ev->camera) == 0) {
            station = m->cameras[i].station;
        }
    }
    if (station == NULL) {
        snprintf(err, errlen, "camera '%s' is not in cameras",
                 msg_quote(ev->camera, strlen(ev->camera), q));
        return MSG_ERR_SCHEMA;
    }
    if (ev->false_positive) {
        return MSG_OK;
    }
    if (ev->type == FRIGATE_NEW) {
        for (size_t i = 0; i < m->n_classes; i++) {
            if (strcmp(m->classes[i].label, ev->label) == 0) {
                out->count = true;
                out->vclass = m->classes[i].vclass;
                out->count_ts_ms = ev->start_ms;
                snprintf(out->station, sizeof(out->station), "%s", station);
            }
        }
    }
    for (size_t i = 0; i < m->n_rules && rule == NULL; i++) {
        const struct frigate_rule *r = &m->rules[i];

        if (strcmp(r->label, ev->label) == 0 && in_zone(ev, r->zone) &&
            (!r->stationary || ev->stationary)) {
            rule = r;
        }
    }
    if (rule == NULL && !was_incident) {
        return MSG_OK;
    }
    if (!event_id_ok(ev->id)) {
        snprintf(err, errlen, "id '%s' is not an event id of the contract",
                 msg_quote(ev->id, strlen(ev->id), q));
        return MSG_ERR_SCHEMA;
    }
    out->incident = true;
    snprintf(inc->station, sizeof(inc->station), "%s", station);
    snprintf(inc->event, sizeof(inc->event), "%s", ev->id);
    inc->type = was_incident ? prev_type : rule->type;
    inc->state = ev->type == FRIGATE_END ? MSG_INCIDENT_END
                 : was_incident          ? MSG_INCIDENT_UPDATE
                                         : MSG_INCIDENT_NEW;
    inc->start_ms = ev->start_ms;
    if (inc->state == MSG_INCIDENT_END) {
        inc->has_end = true;
        inc->end_ms = ev->has_end ? ev->end_ms : ev->start_ms;
        if (inc->end_ms < inc->start_ms) {
            snprintf(err, errlen, "end_time before start_time");
            out->incident = false;
            return MSG_ERR_SCHEMA;
        }
    }
    if (ev->has_score) {
        inc->has_confidence = true;
        inc->confidence = ev->score;
    }
    if (ev->has_snapshot && m->snapshot[0] != '\0') {
        size_t ncp = 0;

        /* too long, or not text (a camera name with control characters): the incident goes
         * without its reference rather than not at all */
        if (!expand(m->snapshot, ev, station, inc->snapshot, sizeof(inc->snapshot)) ||
            !msg_utf8_text(inc->snapshot, strlen(inc->snapshot), &ncp, NULL, NULL) ||
            ncp > MSG_SNAPSHOT_MAX) {
            inc->snapshot[0] = '\0';
        }
    }
    return MSG_OK;
}
