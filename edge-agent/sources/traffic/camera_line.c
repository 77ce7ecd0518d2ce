/* camera_line.c -- a camera analytics line: counts or an incident (see camera_line.h). */
#include "camera_line.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "msg_json.h"
#include "msg_time.h"
#include "msg_topic.h"
#include "msg_write.h"

#define CAMERA_DEPTH 2
#define CAMERA_PLACEHOLDER_DEVICE "camera"
#define CAMERA_PLACEHOLDER_STORE "00000000-0000-4000-8000-000000000000"

/* The envelope is the agent's: a camera line never carries it. */
static const char *const envelope_members[] = {
    "store", "seq", "clock_synced", "replay", "boot", "mono_ms", NULL,
};

int camera_vclass_from_name(const char *name, enum msg_vclass *out)
{
    static const struct {
        const char *name;
        enum msg_vclass v;
    } names[] = {
        {"motorcycle", MSG_VCLASS_MOTORCYCLE},
        {"car", MSG_VCLASS_CAR},
        {"bus", MSG_VCLASS_BUS},
        {"truck", MSG_VCLASS_TRUCK},
        {"nonmotor", MSG_VCLASS_NONMOTOR},
        {"bicycle", MSG_VCLASS_NONMOTOR},
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(names[i].name, name) == 0) {
            *out = names[i].v;
            return MSG_OK;
        }
    }
    return MSG_ERR_INVAL;
}

static bool is_extension(const char *name)
{
    size_t n = strlen(name);

    if (n < 3 || n > 32 || strncmp(name, "x_", 2) != 0) {
        return false;
    }
    for (size_t i = 2; i < n; i++) {
        char c = name[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
            return false;
        }
    }
    return true;
}

static int read_id(const cJSON *doc, const char *name, const char *def, size_t max, char *out,
                   size_t outlen, char *err, size_t errlen)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(doc, name);
    const char *s = def;

    if (item != NULL) {
        if (!cJSON_IsString(item)) {
            snprintf(err, errlen, "%s: %s, not a string", name, msg_json_type_name(item));
            return MSG_ERR_SCHEMA;
        }
        s = item->valuestring;
    }
    if (s[0] == '\0') {
        snprintf(err, errlen, "%s: missing (and no default in the config)", name);
        return MSG_ERR_SCHEMA;
    }
    if (strlen(s) > max || !msg_id_valid(s, strlen(s))) {
        char q[MSG_QUOTE_MAX];

        snprintf(err, errlen, "%s: '%s' is not an id (a-z 0-9 . _ -, 1 to %zu)", name,
                 msg_quote(s, strlen(s), q), max);
        return MSG_ERR_SCHEMA;
    }
    snprintf(out, outlen, "%s", s);
    return MSG_OK;
}

/* Every member of doc is one of known (NULL-terminated) or an extension (x_...): a count and a
 * lane line check theirs alike. */
static int check_members(const cJSON *doc, const char *const *known, char *err, size_t errlen)
{
    const cJSON *m;
    char q[MSG_QUOTE_MAX];

    for (m = doc->child; m != NULL; m = m->next) {
        bool ok = is_extension(m->string);

        for (size_t i = 0; !ok && known[i] != NULL; i++) {
            ok = strcmp(known[i], m->string) == 0;
        }
        if (!ok) {
            snprintf(err, errlen, "%s: unknown member", msg_quote(m->string, strlen(m->string), q));
            return MSG_ERR_SCHEMA;
        }
    }
    return MSG_OK;
}

/* The station and the lane of a count or lane line, each from the line or else the config's
 * default. */
static int read_place(const cJSON *doc, const char *def_station, const char *def_lane,
                      char *station, size_t station_len, char *lane, size_t lane_len, char *err,
                      size_t errlen)
{
    int rc;

    rc = read_id(doc, "station", def_station, MSG_ID_MAX, station, station_len, err, errlen);
    if (rc != MSG_OK) {
        return rc;
    }
    return read_id(doc, "lane", def_lane, MSG_LANE_MAX, lane, lane_len, err, errlen);
}

static int parse_count(const cJSON *doc, const char *def_station, const char *def_lane,
                       struct camera_line *out, char *err, size_t errlen)
{
    static const char *const known[] = {"kind",  "ts",    "station",   "lane",
                                        "class", "count", "speed_kmh", NULL};
    struct camera_count *c = &out->count;
    const cJSON *item;
    int rc;

    rc = check_members(doc, known, err, errlen);
    if (rc != MSG_OK) {
        return rc;
    }
    rc = read_place(doc, def_station, def_lane, c->station, sizeof(c->station), c->lane,
                    sizeof(c->lane), err, errlen);
    if (rc != MSG_OK) {
        return rc;
    }
    item = cJSON_GetObjectItemCaseSensitive(doc, "class");
    if (item == NULL) {
        snprintf(err, errlen, "class: missing");
        return MSG_ERR_SCHEMA;
    }
    if (!cJSON_IsString(item) || camera_vclass_from_name(item->valuestring, &c->vclass) != MSG_OK) {
        snprintf(err, errlen,
                 "class: not one of motorcycle, car, bus, truck, nonmotor, "
                 "bicycle");
        return MSG_ERR_SCHEMA;
    }
    c->count = 1;
    item = cJSON_GetObjectItemCaseSensitive(doc, "count");
    if (item != NULL) {
        double v = cJSON_IsNumber(item) ? item->valuedouble : -1;

        if (!cJSON_IsNumber(item) || v != floor(v) || v < 1 || v > CAMERA_COUNT_MAX) {
            snprintf(err, errlen, "count: must be an integer 1..%d", CAMERA_COUNT_MAX);
            return MSG_ERR_SCHEMA;
        }
        c->count = (int64_t)v;
    }
    item = cJSON_GetObjectItemCaseSensitive(doc, "speed_kmh");
    if (item != NULL) {
        if (!cJSON_IsNumber(item) || !(item->valuedouble >= 0 && item->valuedouble <= 300)) {
            snprintf(err, errlen, "speed_kmh: must be a number 0..300");
            return MSG_ERR_SCHEMA;
        }
        c->has_speed = true;
        c->speed_kmh = item->valuedouble;
    }
    return MSG_OK;
}

/* A number member in lo..hi, if present: *has says whether it was. */
static int read_number(const cJSON *doc, const char *name, double lo, double hi, bool *has,
                       double *out, char *err, size_t errlen)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(doc, name);

    *has = false;
    if (item == NULL) {
        return MSG_OK;
    }
    if (!cJSON_IsNumber(item) || !(item->valuedouble >= lo && item->valuedouble <= hi)) {
        snprintf(err, errlen, "%s: must be a number %g..%g", name, lo, hi);
        return MSG_ERR_SCHEMA;
    }
    *has = true;
    *out = item->valuedouble;
    return MSG_OK;
}

/* A lane line: the detection zone's occupancy and the queue, as the camera measured them. */
static int parse_lane(const cJSON *doc, const char *def_station, const char *def_lane,
                      struct camera_line *out, char *err, size_t errlen)
{
    static const char *const known[] = {"kind",          "ts",      "station", "lane",
                                        "occupancy_pct", "queue_m", NULL};
    struct camera_lane *l = &out->lane;
    int rc;

    rc = check_members(doc, known, err, errlen);
    if (rc != MSG_OK) {
        return rc;
    }
    rc = read_place(doc, def_station, def_lane, l->station, sizeof(l->station), l->lane,
                    sizeof(l->lane), err, errlen);
    if (rc != MSG_OK) {
        return rc;
    }
    rc = read_number(doc, "occupancy_pct", 0, 100, &l->has_occupancy, &l->occupancy_pct, err,
                     errlen);
    if (rc != MSG_OK) {
        return rc;
    }
    rc = read_number(doc, "queue_m", 0, 10000, &l->has_queue, &l->queue_m, err, errlen);
    if (rc != MSG_OK) {
        return rc;
    }
    if (!l->has_occupancy && !l->has_queue) {
        snprintf(err, errlen, "occupancy_pct, queue_m: a lane line needs at least one");
        return MSG_ERR_SCHEMA;
    }
    return MSG_OK;
}

/* The incident body goes through the contract's own validator: the line with a placeholder
 * envelope, without kind and ts. */
static int parse_incident(cJSON *doc, const char *def_station, struct camera_line *out, char *err,
                          size_t errlen)
{
    struct msg_topic topic;
    struct msg_event ev;
    int rc;

    cJSON_DeleteItemFromObjectCaseSensitive(doc, "kind");
    cJSON_DeleteItemFromObjectCaseSensitive(doc, "ts");
    if (cJSON_GetObjectItemCaseSensitive(doc, "station") == NULL && def_station[0] != '\0') {
        if (cJSON_AddStringToObject(doc, "station", def_station) == NULL) {
            return MSG_ERR_NOMEM;
        }
    }
    if (cJSON_AddStringToObject(doc, "store", CAMERA_PLACEHOLDER_STORE) == NULL ||
        cJSON_AddNumberToObject(doc, "seq", 1) == NULL ||
        cJSON_AddStringToObject(doc, "ts", "2000-01-01T00:00:00.000Z") == NULL ||
        cJSON_AddBoolToObject(doc, "clock_synced", 1) == NULL ||
        cJSON_AddBoolToObject(doc, "replay", 0) == NULL) {
        return MSG_ERR_NOMEM;
    }
    memset(&topic, 0, sizeof(topic));
    topic.stream = MSG_STREAM_INCIDENT;
    snprintf(topic.device_id, sizeof(topic.device_id), "%s", CAMERA_PLACEHOLDER_DEVICE);
    rc = msg_event_from_json(doc, &topic, &ev, err, errlen);
    if (rc != MSG_OK) {
        return rc;
    }
    out->incident = ev.u.incident;
    return MSG_OK;
}

int camera_line_parse(const char *line, size_t len, const char *def_station, const char *def_lane,
                      struct camera_line *out, char *err, size_t errlen)
{
    cJSON *doc = NULL;
    const cJSON *kind;
    const cJSON *ts;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = msg_json_parse(line, len, CAMERA_LINE_MAX, CAMERA_DEPTH, &doc, err, errlen);
    if (rc != MSG_OK) {
        goto out;
    }
    if (!cJSON_IsObject(doc)) {
        snprintf(err, errlen, "line is %s, not an object", msg_json_type_name(doc));
        rc = MSG_ERR_SCHEMA;
        goto out;
    }
    for (size_t i = 0; envelope_members[i] != NULL; i++) {
        if (cJSON_GetObjectItemCaseSensitive(doc, envelope_members[i]) != NULL) {
            snprintf(err, errlen,
                     "%s: not allowed in a camera line (the agent sets the "
                     "envelope)",
                     envelope_members[i]);
            rc = MSG_ERR_SCHEMA;
            goto out;
        }
    }
    ts = cJSON_GetObjectItemCaseSensitive(doc, "ts");
    if (ts != NULL) {
        char why[MSG_ERRLEN];

        if (!cJSON_IsString(ts) || msg_time_parse(ts->valuestring, strlen(ts->valuestring),
                                                  &out->ts_ms, why, sizeof(why)) != MSG_OK) {
            snprintf(err, errlen, "ts: not a timestamp YYYY-MM-DDTHH:MM:SS.mmmZ");
            rc = MSG_ERR_SCHEMA;
            goto out;
        }
    }
    kind = cJSON_GetObjectItemCaseSensitive(doc, "kind");
    if (kind == NULL) {
        snprintf(err, errlen, "kind: missing");
        rc = MSG_ERR_SCHEMA;
        goto out;
    }
    if (cJSON_IsString(kind) && strcmp(kind->valuestring, "count") == 0) {
        out->kind = CAMERA_LINE_COUNT;
        rc = parse_count(doc, def_station, def_lane, out, err, errlen);
    } else if (cJSON_IsString(kind) && strcmp(kind->valuestring, "lane") == 0) {
        out->kind = CAMERA_LINE_LANE;
        rc = parse_lane(doc, def_station, def_lane, out, err, errlen);
    } else if (cJSON_IsString(kind) && strcmp(kind->valuestring, "incident") == 0) {
        out->kind = CAMERA_LINE_INCIDENT;
        rc = parse_incident(doc, def_station, out, err, errlen);
    } else {
        snprintf(err, errlen, "kind: not one of count, lane, incident");
        rc = MSG_ERR_SCHEMA;
    }
out:
    cJSON_Delete(doc);
    return rc;
}
