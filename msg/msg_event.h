/* msg_event.h -- a device's message, validated and normalized (protocol.md sections 4 and 5).
 *
 * msg_event_parse() is THE validator: the broker's payload plugin and the collector both call
 * it, so they cannot drift apart. It runs every stage in order: topic (msg_topic.h), the I-JSON
 * gate (msg_json.h: at most MSG_PAYLOAD_MAX bytes, MSG_DEPTH_DEVICE levels), then the members
 * against the contract of the topic's stream, from tables of member specs (name, type, range,
 * where it goes) plus the cross-member rules of section 9. The result is a struct msg_event
 * with fixed-size fields. Nothing is allocated: the JSON tree is built on the stack in the
 * lexer's pass (struct msg_json_doc); only a payload of more than MSG_JSON_DOC_NODES values
 * falls back to cJSON's heap tree, which is freed before it returns.
 *
 * Errors name the member: "containers[2].positive: 5 exceeds inspected 3", "level_cm: 1e+20 out
 * of range -10000..100000", "levl_cm: unknown member", "store: missing". Extension members
 * (x_...) are checked and ignored (not kept).
 *
 * Also here: the encoders the edge agent uses (a struct to a payload), and the canonical text
 * form of a message's content, which the collector hashes to tell a resend from a clash.
 *
 * Not for: acknowledgements, collector health and rejected messages (msg_ack.h, msg_health.h,
 * msg_rejected.h), or registry rules such as which station a device may report for. */
#ifndef MSG_EVENT_H
#define MSG_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "msg_err.h"
#include "msg_range.h"
#include "msg_topic.h"

#define MSG_PAYLOAD_MAX 8192           /* bytes of any payload of sections 4 to 7 */
#define MSG_DEPTH_DEVICE 3             /* nesting of a device's payload (section 8) */
#define MSG_STORE_ID_LEN 36            /* lower-case UUID, without NUL */
#define MSG_LANE_MAX 32                /* bytes */
#define MSG_EVENT_ID_MAX 64            /* bytes */
#define MSG_SNAPSHOT_MAX 512           /* code points */
#define MSG_INSPECTOR_MAX 64           /* code points */
#define MSG_ADDRESS_MAX 200            /* code points */
#define MSG_NOTE_MAX 200               /* code points */
#define MSG_AGENT_MAX 64               /* code points */
#define MSG_EXT_TEXT_MAX 200           /* code points of an extension's string value */
#define MSG_LARVA_CONTAINERS_MAX 30   /* 15 types x 2 locations, each at most once */
#define MSG_DROPPED_RANGES_MAX 100
#define MSG_STATUS_STATIONS_MAX 16
#define MSG_CANONICAL_MAX 8192         /* msg_event_canonical() never needs more */
#define MSG_CP_BYTES(n) ((n) * 4 + 1)  /* buffer for n code points of UTF-8 and a NUL */

/* The reading envelope (section 4.1). Zero for status messages, which carry their own. */
struct msg_envelope {
    char store_id[MSG_STORE_ID_LEN + 1];
    uint64_t seq;
    int64_t ts_ms;                     /* ms since the Unix epoch */
    bool clock_synced;
    bool replay;
    bool has_boot;
    uint64_t boot;
    bool has_mono;
    uint64_t mono_ms;
};

/* 4.2 */
struct msg_flood {
    char station[MSG_ID_MAX + 1];
    bool has_level;
    double level_cm;
    bool has_discharge;
    double discharge_m3s;
    bool has_distance;                 /* distance_cm and offset_cm come together */
    double distance_cm;
    double offset_cm;
    bool has_rise;
    double rise_cm_h;
    bool has_rain;
    double rain_mm;
    bool has_battery;
    double battery_v;
};

/* 4.3 */
enum msg_vclass {
    MSG_VCLASS_MOTORCYCLE,
    MSG_VCLASS_CAR,
    MSG_VCLASS_BUS,
    MSG_VCLASS_TRUCK,
    MSG_VCLASS_NONMOTOR,
};
#define MSG_VCLASS_COUNT 5

struct msg_traffic {
    char station[MSG_ID_MAX + 1];
    int interval_s;
    char lane[MSG_LANE_MAX + 1];
    int64_t counts[MSG_VCLASS_COUNT];  /* -1 where the class is absent */
    bool has_speed;
    double speed_kmh;
    bool has_occupancy;
    double occupancy_pct;
    bool has_queue;
    double queue_m;
};

/* 4.4 */
enum msg_incident_state {
    MSG_INCIDENT_NEW,
    MSG_INCIDENT_UPDATE,
    MSG_INCIDENT_END,
};

enum msg_incident_type {
    MSG_INCIDENT_ACCIDENT,
    MSG_INCIDENT_STALLED_VEHICLE,
    MSG_INCIDENT_ROAD_FLOODING,
    MSG_INCIDENT_CONGESTION,
    MSG_INCIDENT_ILLEGAL_PARKING,
    MSG_INCIDENT_WRONG_WAY,
    MSG_INCIDENT_OTHER,
};

struct msg_incident {
    char station[MSG_ID_MAX + 1];
    char event[MSG_EVENT_ID_MAX + 1];
    enum msg_incident_state state;
    enum msg_incident_type type;
    int64_t start_ms;
    bool has_end;                      /* exactly when state is MSG_INCIDENT_END */
    int64_t end_ms;
    bool has_confidence;
    double confidence;
    char snapshot[MSG_CP_BYTES(MSG_SNAPSHOT_MAX)];   /* "" if absent */
    char lane[MSG_LANE_MAX + 1];                     /* "" if absent */
};

/* 4.5 */
enum msg_building {
    MSG_BUILDING_HOUSE,
    MSG_BUILDING_PUBLIC_PLACE,
    MSG_BUILDING_INSTITUTION,
};

enum msg_container_type {
    MSG_CONTAINER_BATH_TUB,
    MSG_CONTAINER_WC_TUB,
    MSG_CONTAINER_DRUM,
    MSG_CONTAINER_JAR,
    MSG_CONTAINER_BUCKET,
    MSG_CONTAINER_TANK,
    MSG_CONTAINER_BIRD_DISH,
    MSG_CONTAINER_FLOWER_VASE,
    MSG_CONTAINER_DISPENSER_TRAY,
    MSG_CONTAINER_FRIDGE_TRAY,
    MSG_CONTAINER_USED_GOODS,
    MSG_CONTAINER_TREE_HOLE,
    MSG_CONTAINER_LEAF_AXIL,
    MSG_CONTAINER_COCONUT_SHELL,
    MSG_CONTAINER_OTHER,
};

enum msg_container_location {
    MSG_LOCATION_INDOOR,
    MSG_LOCATION_OUTDOOR,
};

/* PSN actions: bit (1u << MSG_ACTION_x) of struct msg_larva's actions. */
enum msg_action {
    MSG_ACTION_DRAIN,
    MSG_ACTION_COVER,
    MSG_ACTION_RECYCLE,
    MSG_ACTION_LARVICIDE,
    MSG_ACTION_FISH,
    MSG_ACTION_REPELLENT,
    MSG_ACTION_NET,
    MSG_ACTION_PLANT,
    MSG_ACTION_OTHER,
};
#define MSG_ACTION_COUNT 9

struct msg_container {
    enum msg_container_type type;
    enum msg_container_location location;
    int inspected;
    int positive;
};

struct msg_larva {
    char inspector[MSG_CP_BYTES(MSG_INSPECTOR_MAX)];
    enum msg_building building;
    char kelurahan[14];
    int rw;
    int rt;
    char address[MSG_CP_BYTES(MSG_ADDRESS_MAX)];     /* "" if absent */
    bool has_gps;                                    /* lat and lon come together */
    double lat;
    double lon;
    bool larvae_found;
    size_t n_containers;
    struct msg_container containers[MSG_LARVA_CONTAINERS_MAX];   /* in the payload's order */
    bool has_actions;                                /* the member was present (maybe []) */
    unsigned actions;                                /* bit set of enum msg_action */
    char note[MSG_CP_BYTES(MSG_NOTE_MAX)];           /* "" if absent */
};

/* 4.6 */
enum msg_drop_reason {
    MSG_DROP_STORE_FULL,
    MSG_DROP_MAX_AGE,
    MSG_DROP_REJECTED,
    MSG_DROP_CORRUPT,
};

struct msg_dropped {
    enum msg_drop_reason reason;
    size_t n_ranges;
    struct msg_range ranges[MSG_DROPPED_RANGES_MAX];  /* ascending, disjoint, below seq */
};

/* 5 (also used by msg_health.h for a collector's state) */
enum msg_state {
    MSG_STATE_ONLINE,
    MSG_STATE_OFFLINE,
};

struct msg_station_health {
    char id[MSG_ID_MAX + 1];
    bool online;
};

struct msg_status {
    enum msg_state state;
    uint64_t conn;
    char store_id[MSG_STORE_ID_LEN + 1];
    int64_t ts_ms;
    bool clock_synced;
    char agent[MSG_CP_BYTES(MSG_AGENT_MAX)];         /* "" if absent */
    bool has_backlog;
    uint64_t backlog;
    bool has_rejected;
    uint64_t rejected;
    bool has_dropped;
    uint64_t dropped;
    bool has_stations;                               /* the member was present (maybe {}) */
    size_t n_stations;
    struct msg_station_health stations[MSG_STATUS_STATIONS_MAX];  /* in the payload's order */
};

struct msg_event {
    enum msg_stream stream;            /* a reading stream, or MSG_STREAM_STATUS */
    char device_id[MSG_ID_MAX + 1];    /* from the topic */
    struct msg_envelope env;           /* readings only; all zero for status */
    union {
        struct msg_flood flood;
        struct msg_traffic traffic;
        struct msg_incident incident;
        struct msg_larva larva;
        struct msg_dropped dropped;
        struct msg_status status;
    } u;
};

/* Validates and normalizes doc (borrowed; cJSON's tree) as the payload of topic (borrowed,
 * from msg_topic_parse; its stream must be a reading stream or status) into caller-owned *out,
 * which borrows nothing from doc. Returns MSG_OK; MSG_ERR_SCHEMA with err naming the member;
 * MSG_ERR_TOPIC if the topic's stream is not a device message. It checks what the tree can
 * show; the byte-level I-JSON rules are msg_json_parse's, so call msg_event_parse on raw bytes. */
int msg_event_from_json(const cJSON *doc, const struct msg_topic *topic, struct msg_event *out,
                        char *err, size_t errlen);

/* Every stage on a raw message: topic (topic_len bytes, borrowed, NUL not needed), then the
 * I-JSON gate on payload (len bytes, borrowed), then msg_event_from_json. Fills caller-owned
 * *out. Returns MSG_OK, MSG_ERR_TOPIC (also for the ack, health and rejected topics: not a
 * device message), MSG_ERR_JSON (not I-JSON, too large, too deep), MSG_ERR_SCHEMA (valid JSON
 * that breaks the contract) or MSG_ERR_NOMEM; err says what and where. */
int msg_event_parse(const char *topic, size_t topic_len, const void *payload, size_t len,
                    struct msg_event *out, char *err, size_t errlen);

/* Writes ev (borrowed) as a compact JSON payload for its stream into buf (buflen bytes) with a
 * NUL, and its length (without the NUL) into *outlen. Members appear in the protocol's order;
 * absent optional members (has_x false, empty strings) are left out. Does not check ranges: use
 * msg_event_validate() for that. Returns MSG_OK, MSG_ERR_FULL (buf too small; MSG_PAYLOAD_MAX +
 * 1 bytes always suffice for a valid event) or MSG_ERR_INVAL (unknown stream or enum value). */
int msg_event_encode(const struct msg_event *ev, char *buf, size_t buflen, size_t *outlen);

/* msg_event_encode for a status message (the agent's birth and last will). */
int msg_status_encode(const struct msg_status *st, char *buf, size_t buflen, size_t *outlen);

/* Whether ev (borrowed) would pass msg_event_parse: encodes it and parses the result back.
 * Returns MSG_OK, or the code and err that msg_event_parse would give (MSG_ERR_JSON for a
 * payload over the size limit). For the agent, before it stores a reading. */
int msg_event_validate(const struct msg_event *ev, char *err, size_t errlen);

/* The canonical text of ev's content (borrowed), for hashing: `pantau/v1 <stream> "<device>"`
 * and the members as compact JSON in the protocol's order, numbers in one spelling (17
 * significant digits, -0 as 0), strings quoted and escaped as JSON (so the text reads back
 * unambiguously); `replay` and extension members left out. Two messages give
 * the same text exactly when they are the same reading: member order, white space, number
 * spelling (650, 650.0, 6.5e2), escapes and `replay` do not matter. The containers of a larva
 * report are a set keyed by (type, location) and actions a set: their order does not matter
 * either. Writes into buf (buflen bytes; MSG_CANONICAL_MAX suffices) with a NUL; *outlen gets
 * the length. Returns MSG_OK, MSG_ERR_FULL or MSG_ERR_INVAL (unknown stream). */
int msg_event_canonical(const struct msg_event *ev, char *buf, size_t buflen, size_t *outlen);

/* Names of the enums' values as on the wire ("stalled_vehicle"); "?" outside the enum. */
const char *msg_vclass_name(enum msg_vclass v);
const char *msg_incident_state_name(enum msg_incident_state s);
const char *msg_incident_type_name(enum msg_incident_type t);
const char *msg_building_name(enum msg_building b);
const char *msg_container_type_name(enum msg_container_type t);
const char *msg_container_location_name(enum msg_container_location l);
const char *msg_action_name(enum msg_action a);
const char *msg_drop_reason_name(enum msg_drop_reason r);
const char *msg_state_name(enum msg_state s);

#endif
