/* frigate_event.h -- Frigate NVR's `frigate/events` messages read and mapped onto the
 * contract, for the frigate source (source_frigate.c).
 *
 * Frigate publishes one JSON message per change of a tracked object: `type` new (the object is
 * no longer a false positive), update (a better snapshot, a zone change, stationary or moving
 * again) or end (end_time set), with the object's state `before` and `after` the change, both
 * carrying the same `id`, `camera`, `label`, `start_time`, `end_time`, `top_score`, `score`,
 * `has_snapshot`, `current_zones`, `stationary`, `false_positive` (Frigate's docs,
 * integrations/mqtt.md). The state used is `after` (`before` if there is no `after`); unknown
 * members are ignored (Frigate adds members between versions).
 *
 * The map (from the source's config):
 *   cameras    CAMERA=STATION ...      Frigate camera name -> station id (unmapped: refused)
 *   classes    LABEL=CLASS ...         Frigate labels counted as vehicles; default car=car
 *                                      motorcycle=motorcycle bus=bus truck=truck bicycle=nonmotor
 *   incidents  LABEL[@ZONE][+stationary]=TYPE ...   e.g. car@shoulder+stationary=stalled_vehicle
 *   snapshot   a template: {camera} {id} {station} {label}, e.g. frigate://{camera}/{id}.jpg
 *              (used only when the event has a snapshot; "" for none)
 * Items are separated by blanks or commas.
 *
 * What one event does (frigate_event_map): a `new` event of a counted label counts one vehicle
 * of its class at start_time; an event that matches an incident rule opens an incident
 * (state new; `end` if it first matches in Frigate's end message), one that opened an incident
 * updates it on every later message and ends it with Frigate's end (the caller remembers which
 * event ids opened an incident, and their type). Event ids must fit the contract's event id.
 *
 * Not for: MQTT, threads, aggregation (traffic_agg.h). No allocation beyond cJSON's tree,
 * freed before returning. */
#ifndef FRIGATE_EVENT_H
#define FRIGATE_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg_event.h"

#define FRIGATE_PAYLOAD_MAX 65536   /* bytes of an event message (they carry thumbnails in
                                     * some versions); longer ones are refused */
#define FRIGATE_NAME_MAX 63         /* camera, label and zone names */
#define FRIGATE_CAMERAS_MAX 16
#define FRIGATE_CLASSES_MAX 16
#define FRIGATE_RULES_MAX 16
#define FRIGATE_ZONES_MAX 16
#define FRIGATE_TEMPLATE_MAX 256

enum frigate_type {
    FRIGATE_NEW,
    FRIGATE_UPDATE,
    FRIGATE_END,
};

struct frigate_event {
    enum frigate_type type;
    char id[MSG_EVENT_ID_MAX + 1];
    char camera[FRIGATE_NAME_MAX + 1];
    char label[FRIGATE_NAME_MAX + 1];
    int64_t start_ms;
    bool has_end;
    int64_t end_ms;
    bool has_score;
    double score;                     /* top_score, else score */
    bool has_snapshot;
    bool stationary;
    bool false_positive;
    size_t n_zones;
    char zones[FRIGATE_ZONES_MAX][FRIGATE_NAME_MAX + 1];   /* current_zones */
};

struct frigate_camera {
    char camera[FRIGATE_NAME_MAX + 1];
    char station[MSG_ID_MAX + 1];
};

struct frigate_class {
    char label[FRIGATE_NAME_MAX + 1];
    enum msg_vclass vclass;
};

struct frigate_rule {
    char label[FRIGATE_NAME_MAX + 1];
    char zone[FRIGATE_NAME_MAX + 1];  /* "" : any zone */
    bool stationary;                  /* only while the object is stationary */
    enum msg_incident_type type;
};

struct frigate_map {
    size_t n_cameras;
    struct frigate_camera cameras[FRIGATE_CAMERAS_MAX];
    size_t n_classes;
    struct frigate_class classes[FRIGATE_CLASSES_MAX];
    size_t n_rules;
    struct frigate_rule rules[FRIGATE_RULES_MAX];
    char snapshot[FRIGATE_TEMPLATE_MAX + 1];
};

/* What an event asks for. */
struct frigate_action {
    bool count;                       /* count one vehicle */
    char station[MSG_ID_MAX + 1];
    enum msg_vclass vclass;
    int64_t count_ts_ms;              /* when it was first seen */
    bool incident;                    /* emit an incident reading */
    struct msg_incident inc;
};

/* Reads the config values (borrowed; see above) into *out. Returns MSG_OK or MSG_ERR_CONFIG
 * with err naming the key and the item ("incidents: 'car@x=meteor': ..."). */
int frigate_map_parse(const char *cameras, const char *classes, const char *incidents,
                      const char *snapshot, struct frigate_map *out, char *err,
                      size_t errlen);

/* Reads one message (len bytes, borrowed) into *out. Returns MSG_OK, MSG_ERR_JSON (not JSON,
 * too large) or MSG_ERR_SCHEMA (err names the member: "after.start_time: missing"). */
int frigate_event_parse(const char *payload, size_t len, struct frigate_event *out, char *err,
                        size_t errlen);

/* Maps ev (borrowed) with m (borrowed). was_incident: this event id opened an incident
 * before, of type prev_type. Fills caller-owned *out. Returns MSG_OK (out->count and
 * out->incident may both be false: nothing to do) or MSG_ERR_SCHEMA (unmapped camera, an id
 * the contract cannot carry, end before start), err saying why. */
int frigate_event_map(const struct frigate_map *m, const struct frigate_event *ev,
                      bool was_incident, enum msg_incident_type prev_type,
                      struct frigate_action *out, char *err, size_t errlen);

#endif
