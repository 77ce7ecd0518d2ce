/* msg_event.c -- device messages: validation, normalization, encoding: see msg_event.h.
 *
 * Each stream is a const table of member specs (msg_schema.h) plus a function for the rules
 * between members (protocol.md section 9). The same tables drive the encoder and the canonical
 * form, so a payload written by msg_event_encode() reads back as the same event, and the
 * canonical text covers exactly the members the parser keeps. */
#include "msg_event.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "msg_json.h"
#include "msg_schema.h"
#include "msg_time.h"
#include "msg_write.h"

#define SEQ_MAX_D ((double)MSG_SEQ_MAX)   /* the bound as the schema compares it */

/* Enums are stored through an int (msg_schema.c): they must be int-sized. */
_Static_assert(sizeof(enum msg_incident_state) == sizeof(int), "enum size");
_Static_assert(sizeof(enum msg_incident_type) == sizeof(int), "enum size");
_Static_assert(sizeof(enum msg_building) == sizeof(int), "enum size");
_Static_assert(sizeof(enum msg_container_type) == sizeof(int), "enum size");
_Static_assert(sizeof(enum msg_container_location) == sizeof(int), "enum size");
_Static_assert(sizeof(enum msg_drop_reason) == sizeof(int), "enum size");
_Static_assert(sizeof(enum msg_state) == sizeof(int), "enum size");

/* ---- names of enum values, as on the wire (NULL-terminated for msg_schema) ---- */

static const char *const vclass_names[] = {
    "motorcycle", "car", "bus", "truck", "nonmotor", NULL,
};
static const char *const incident_state_names[] = {"new", "update", "end", NULL};
static const char *const incident_type_names[] = {
    "accident", "stalled_vehicle", "road_flooding", "congestion", "illegal_parking", "wrong_way",
    "other", NULL,
};
static const char *const building_names[] = {"house", "public_place", "institution", NULL};
static const char *const container_type_names[] = {
    "bath_tub", "wc_tub", "drum", "jar", "bucket", "tank", "bird_dish", "flower_vase",
    "dispenser_tray", "fridge_tray", "used_goods", "tree_hole", "leaf_axil", "coconut_shell",
    "other", NULL,
};
static const char *const location_names[] = {"indoor", "outdoor", NULL};
static const char *const action_names[] = {
    "drain", "cover", "recycle", "larvicide", "fish", "repellent", "net", "plant", "other", NULL,
};
static const char *const drop_reason_names[] = {
    "store_full", "max_age", "rejected", "corrupt", NULL,
};
static const char *const state_names[] = {"online", "offline", NULL};

#define N_NAMES(a) (sizeof(a) / sizeof((a)[0]) - 1)

static const char *name_of(const char *const *names, size_t n, int v)
{
    return v >= 0 && (size_t)v < n ? names[v] : "?";
}

const char *msg_vclass_name(enum msg_vclass v)
{
    return name_of(vclass_names, N_NAMES(vclass_names), (int)v);
}

const char *msg_incident_state_name(enum msg_incident_state s)
{
    return name_of(incident_state_names, N_NAMES(incident_state_names), (int)s);
}

const char *msg_incident_type_name(enum msg_incident_type t)
{
    return name_of(incident_type_names, N_NAMES(incident_type_names), (int)t);
}

const char *msg_building_name(enum msg_building b)
{
    return name_of(building_names, N_NAMES(building_names), (int)b);
}

const char *msg_container_type_name(enum msg_container_type t)
{
    return name_of(container_type_names, N_NAMES(container_type_names), (int)t);
}

const char *msg_container_location_name(enum msg_container_location l)
{
    return name_of(location_names, N_NAMES(location_names), (int)l);
}

const char *msg_action_name(enum msg_action a)
{
    return name_of(action_names, N_NAMES(action_names), (int)a);
}

const char *msg_drop_reason_name(enum msg_drop_reason r)
{
    return name_of(drop_reason_names, N_NAMES(drop_reason_names), (int)r);
}

const char *msg_state_name(enum msg_state s)
{
    return name_of(state_names, N_NAMES(state_names), (int)s);
}

/* ---- table helpers ---- */

#define FIELD(type, f) offsetof(type, f), sizeof(((type *)0)->f)
#define EV(f) FIELD(struct msg_event, f)
#define HAS(f) offsetof(struct msg_event, f)

/* name, type, required, min, max, field, presence flag */
#define M(name, type, req, lo, hi, f, has) \
    {name, type, req, false, lo, hi, EV(f), has, NULL, NULL, NULL, NULL}
#define M_ENUM(name, req, f, names) \
    {name, MSG_M_ENUM, req, false, 0, 0, EV(f), MSG_NO_HAS, names, NULL, NULL, NULL}
#define M_CUSTOM(name, req, has, check, emit) \
    {name, MSG_M_CUSTOM, req, false, 0, 0, 0, 0, has, NULL, check, emit, NULL}

/* Section 4.1; `replay` is the one member that may change between sends, so it is transient. */
#define ENVELOPE_MEMBERS                                                                    \
    M("store", MSG_M_STORE, true, 0, 0, env.store_id, MSG_NO_HAS),                          \
    M("seq", MSG_M_U64, true, 1, SEQ_MAX_D, env.seq, MSG_NO_HAS),                            \
    M("ts", MSG_M_TS, true, 0, 0, env.ts_ms, MSG_NO_HAS),                                    \
    M("clock_synced", MSG_M_BOOL, true, 0, 0, env.clock_synced, MSG_NO_HAS),                 \
    {"replay", MSG_M_BOOL, true, true, 0, 0, EV(env.replay), MSG_NO_HAS, NULL, NULL, NULL, NULL}, \
    M("boot", MSG_M_U64, false, 0, SEQ_MAX_D, env.boot, HAS(env.has_boot)),                  \
    M("mono_ms", MSG_M_U64, false, 0, SEQ_MAX_D, env.mono_ms, HAS(env.has_mono))

/* Bit of the member called name in a table's presence set (0 if there is none). */
static uint64_t bit_of(const struct msg_member *t, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (t[i].name[0] == name[0] && strcmp(t[i].name, name) == 0) {
            return (uint64_t)1 << i;
        }
    }
    return 0;
}

/* "a" and "b" come together or not at all. */
static int together(const struct msg_member *t, size_t n, uint64_t seen, const char *a,
                    const char *b, char *err, size_t errlen)
{
    bool has_a = (seen & bit_of(t, n, a)) != 0;
    bool has_b = (seen & bit_of(t, n, b)) != 0;
    struct msg_path p = {NULL, has_a ? b : a, 0};

    if (has_a == has_b) {
        return MSG_OK;
    }
    return msg_schema_fail(&p, err, errlen, "missing (%s and %s come together)", a, b);
}

/* ---- 4.2 flood ---- */

static const struct msg_member flood_members[] = {
    ENVELOPE_MEMBERS,
    M("station", MSG_M_ID, true, 0, 0, u.flood.station, MSG_NO_HAS),
    M("level_cm", MSG_M_NUM, false, -10000, 100000, u.flood.level_cm, HAS(u.flood.has_level)),
    M("discharge_m3s", MSG_M_NUM, false, 0, 100000, u.flood.discharge_m3s,
      HAS(u.flood.has_discharge)),
    M("distance_cm", MSG_M_NUM, false, 0, 10000, u.flood.distance_cm, HAS(u.flood.has_distance)),
    M("offset_cm", MSG_M_NUM, false, -10000, 100000, u.flood.offset_cm,
      HAS(u.flood.has_distance)),
    M("rise_cm_h", MSG_M_NUM, false, -10000, 10000, u.flood.rise_cm_h, HAS(u.flood.has_rise)),
    M("rain_mm", MSG_M_NUM, false, 0, 1000, u.flood.rain_mm, HAS(u.flood.has_rain)),
    M("battery_v", MSG_M_NUM, false, 0, 100, u.flood.battery_v, HAS(u.flood.has_battery)),
};

static int flood_rules(struct msg_event *ev, uint64_t seen, char *err, size_t errlen)
{
    const struct msg_member *t = flood_members;
    size_t n = sizeof(flood_members) / sizeof(flood_members[0]);
    struct msg_path p = {NULL, "level_cm", 0};

    if (!ev->u.flood.has_level && !ev->u.flood.has_discharge) {
        return msg_schema_fail(&p, err, errlen,
                               "missing (one of level_cm, discharge_m3s is required)");
    }
    return together(t, n, seen, "distance_cm", "offset_cm", err, errlen);
}

/* ---- 4.3 traffic ---- */

#define COUNT(name, cls)                                                                  \
    {name, MSG_M_I64, false, false, 0, 1000000, FIELD(struct msg_traffic, counts[cls]),   \
     MSG_NO_HAS, NULL, NULL, NULL, NULL}

static const struct msg_member count_members[MSG_VCLASS_COUNT] = {
    COUNT("motorcycle", MSG_VCLASS_MOTORCYCLE), COUNT("car", MSG_VCLASS_CAR),
    COUNT("bus", MSG_VCLASS_BUS),               COUNT("truck", MSG_VCLASS_TRUCK),
    COUNT("nonmotor", MSG_VCLASS_NONMOTOR),
};

static int check_counts(const struct msg_member *m, const cJSON *item, void *base,
                        const struct msg_path *path, char *err, size_t errlen)
{
    struct msg_traffic *tr = &((struct msg_event *)base)->u.traffic;
    uint64_t seen = 0;
    int rc;

    (void)m;
    for (size_t i = 0; i < MSG_VCLASS_COUNT; i++) {
        tr->counts[i] = -1;
    }
    rc = msg_schema_object(item, count_members, MSG_VCLASS_COUNT, false, tr, path, &seen, err,
                           errlen);
    if (rc != MSG_OK) {
        return rc;
    }
    if (seen == 0) {
        return msg_schema_fail(path, err, errlen,
                               "no vehicle class (at least one of motorcycle, car, bus, truck, "
                               "nonmotor)");
    }
    return MSG_OK;
}

static int emit_counts(const struct msg_member *m, const void *base, struct msg_buf *b,
                       enum msg_enc_mode mode)
{
    const struct msg_traffic *tr = &((const struct msg_event *)base)->u.traffic;
    bool first = true;

    (void)m;
    (void)mode;
    msg_buf_raw(b, "{", 1);
    for (size_t i = 0; i < MSG_VCLASS_COUNT; i++) {
        if (tr->counts[i] >= 0) {
            msg_buf_json_key(b, &first, vclass_names[i]);
            msg_buf_i64(b, tr->counts[i]);
        }
    }
    msg_buf_raw(b, "}", 1);
    return first ? MSG_ERR_INVAL : MSG_OK;
}

static const struct msg_member traffic_members[] = {
    ENVELOPE_MEMBERS,
    M("station", MSG_M_ID, true, 0, 0, u.traffic.station, MSG_NO_HAS),
    M("interval_s", MSG_M_INT, true, 1, 3600, u.traffic.interval_s, MSG_NO_HAS),
    M("lane", MSG_M_LANE, true, 0, 0, u.traffic.lane, MSG_NO_HAS),
    M_CUSTOM("counts", true, MSG_NO_HAS, check_counts, emit_counts),
    M("speed_kmh", MSG_M_NUM, false, 0, 300, u.traffic.speed_kmh, HAS(u.traffic.has_speed)),
    M("occupancy_pct", MSG_M_NUM, false, 0, 100, u.traffic.occupancy_pct,
      HAS(u.traffic.has_occupancy)),
    M("queue_m", MSG_M_NUM, false, 0, 10000, u.traffic.queue_m, HAS(u.traffic.has_queue)),
};

/* ---- 4.4 incident ---- */

static const struct msg_member incident_members[] = {
    ENVELOPE_MEMBERS,
    M("station", MSG_M_ID, true, 0, 0, u.incident.station, MSG_NO_HAS),
    M("event", MSG_M_EVENT_ID, true, 0, 0, u.incident.event, MSG_NO_HAS),
    M_ENUM("state", true, u.incident.state, incident_state_names),
    M_ENUM("type", true, u.incident.type, incident_type_names),
    M("start", MSG_M_TS, true, 0, 0, u.incident.start_ms, MSG_NO_HAS),
    M("end", MSG_M_TS, false, 0, 0, u.incident.end_ms, HAS(u.incident.has_end)),
    M("confidence", MSG_M_NUM, false, 0, 1, u.incident.confidence,
      HAS(u.incident.has_confidence)),
    M("snapshot", MSG_M_TEXT, false, 1, MSG_SNAPSHOT_MAX, u.incident.snapshot, MSG_NO_HAS),
    M("lane", MSG_M_LANE, false, 0, 0, u.incident.lane, MSG_NO_HAS),
};

static int incident_rules(struct msg_event *ev, uint64_t seen, char *err, size_t errlen)
{
    const struct msg_incident *in = &ev->u.incident;
    struct msg_path p = {NULL, "end", 0};
    char start[MSG_TIME_LEN + 1];
    char end[MSG_TIME_LEN + 1];

    (void)seen;
    if (in->state == MSG_INCIDENT_END && !in->has_end) {
        return msg_schema_fail(&p, err, errlen, "missing (required when state is end)");
    }
    if (in->state != MSG_INCIDENT_END && in->has_end) {
        return msg_schema_fail(&p, err, errlen, "only allowed when state is end (state is %s)",
                               incident_state_names[in->state]);
    }
    if (in->has_end && in->end_ms < in->start_ms) {
        msg_time_format(in->start_ms, start);
        msg_time_format(in->end_ms, end);
        return msg_schema_fail(&p, err, errlen, "%s is before start %s", end, start);
    }
    return MSG_OK;
}

/* ---- 4.5 larva ---- */

#define CM(name, type, lo, hi, f, names)                                             \
    {name, type, true, false, lo, hi, FIELD(struct msg_container, f), MSG_NO_HAS, names, NULL, \
     NULL, NULL}

static const struct msg_member container_members[] = {
    CM("type", MSG_M_ENUM, 0, 0, type, container_type_names),
    CM("location", MSG_M_ENUM, 0, 0, location, location_names),
    CM("inspected", MSG_M_INT, 0, 1000, inspected, NULL),
    CM("positive", MSG_M_INT, 0, 1000, positive, NULL),
};

static int check_containers(const struct msg_member *m, const cJSON *item, void *base,
                            const struct msg_path *path, char *err, size_t errlen)
{
    struct msg_larva *lv = &((struct msg_event *)base)->u.larva;
    struct msg_path ip = {path, NULL, 0};
    struct msg_path fp = {&ip, "positive", 0};
    uint32_t pairs = 0;   /* bit type * 2 + location for each (type, location) seen */
    size_t count = 0;
    size_t n = 0;
    int rc;

    (void)m;
    rc = msg_schema_want_array(item, path, 0, MSG_LARVA_CONTAINERS_MAX, "items", &count, err,
                               errlen);
    if (rc != MSG_OK) {
        return rc;
    }
    for (const cJSON *c = item->child; c != NULL; c = c->next, n++) {
        struct msg_container *ct = &lv->containers[n];
        uint32_t bit;

        ip.index = n;
        rc = msg_schema_object(c, container_members,
                               sizeof(container_members) / sizeof(container_members[0]), false,
                               ct, &ip, NULL, err, errlen);
        if (rc != MSG_OK) {
            return rc;
        }
        if (ct->positive > ct->inspected) {
            return msg_schema_fail(&fp, err, errlen, "%d exceeds inspected %d", ct->positive,
                                   ct->inspected);
        }
        bit = (uint32_t)1 << (ct->type * 2 + ct->location);
        if (pairs & bit) {
            size_t j = 0;

            while (lv->containers[j].type != ct->type ||
                   lv->containers[j].location != ct->location) {
                j++;
            }
            return msg_schema_fail(&ip, err, errlen,
                                   "type %s, location %s repeats containers[%zu] (one item per "
                                   "type and location)",
                                   container_type_names[ct->type], location_names[ct->location],
                                   j);
        }
        pairs |= bit;
    }
    lv->n_containers = n;
    return MSG_OK;
}

/* Index order of the containers: as stored for payloads, by (type, location) for the
 * canonical form, where the list is a set. */
static void container_order(const struct msg_larva *lv, enum msg_enc_mode mode,
                            size_t order[MSG_LARVA_CONTAINERS_MAX])
{
    for (size_t i = 0; i < lv->n_containers; i++) {
        size_t j = i;

        order[i] = i;
        if (mode != MSG_ENC_CANONICAL) {
            continue;
        }
        while (j > 0) {   /* insertion sort: at most MSG_LARVA_CONTAINERS_MAX items */
            const struct msg_container *a = &lv->containers[order[j - 1]];
            const struct msg_container *b = &lv->containers[order[j]];
            size_t t;

            if (a->type * 2 + a->location <= b->type * 2 + b->location) {
                break;
            }
            t = order[j - 1];
            order[j - 1] = order[j];
            order[j] = t;
            j--;
        }
    }
}

static int emit_containers(const struct msg_member *m, const void *base, struct msg_buf *b,
                           enum msg_enc_mode mode)
{
    const struct msg_larva *lv = &((const struct msg_event *)base)->u.larva;
    size_t order[MSG_LARVA_CONTAINERS_MAX];
    int rc;

    (void)m;
    if (lv->n_containers > MSG_LARVA_CONTAINERS_MAX) {
        return MSG_ERR_INVAL;
    }
    container_order(lv, mode, order);
    msg_buf_raw(b, "[", 1);
    for (size_t i = 0; i < lv->n_containers; i++) {
        if (i > 0) {
            msg_buf_raw(b, ",", 1);
        }
        rc = msg_schema_encode(container_members,
                               sizeof(container_members) / sizeof(container_members[0]),
                               &lv->containers[order[i]], b, mode);
        if (rc != MSG_OK) {
            return rc;
        }
    }
    msg_buf_raw(b, "]", 1);
    return MSG_OK;
}

static int check_actions(const struct msg_member *m, const cJSON *item, void *base,
                         const struct msg_path *path, char *err, size_t errlen)
{
    static const struct msg_member action = {
        "actions", MSG_M_ENUM, true, false, 0, 0, 0, sizeof(int), MSG_NO_HAS, action_names,
        NULL, NULL, NULL,
    };
    struct msg_larva *lv = &((struct msg_event *)base)->u.larva;
    struct msg_path ip = {path, NULL, 0};
    size_t count = 0;
    int a = 0;
    int rc;

    (void)m;
    /* distinct items: more than MSG_ACTION_COUNT must repeat one, which the loop reports */
    rc = msg_schema_want_array(item, path, 0, SIZE_MAX, "items", &count, err, errlen);
    if (rc != MSG_OK) {
        return rc;
    }
    lv->actions = 0;
    for (const cJSON *c = item->child; c != NULL; c = c->next, ip.index++) {
        rc = msg_schema_value(&action, c, &a, &ip, err, errlen);
        if (rc != MSG_OK) {
            return rc;
        }
        if (lv->actions & (1u << a)) {
            return msg_schema_fail(&ip, err, errlen, "'%s' repeated (actions are distinct)",
                                   action_names[a]);
        }
        lv->actions |= 1u << a;
    }
    return MSG_OK;
}

static int emit_actions(const struct msg_member *m, const void *base, struct msg_buf *b,
                        enum msg_enc_mode mode)
{
    const struct msg_larva *lv = &((const struct msg_event *)base)->u.larva;
    bool first = true;

    (void)m;
    (void)mode;
    if (lv->actions >> MSG_ACTION_COUNT) {
        return MSG_ERR_INVAL;
    }
    msg_buf_raw(b, "[", 1);
    for (int i = 0; i < MSG_ACTION_COUNT; i++) {
        if (lv->actions & (1u << i)) {
            if (!first) {
                msg_buf_raw(b, ",", 1);
            }
            first = false;
            msg_buf_json_str(b, action_names[i]);
        }
    }
    msg_buf_raw(b, "]", 1);
    return MSG_OK;
}

#define GPS_HINT "lat, lon: a position in Indonesia, lat -11..6, lon 95..141"

static const struct msg_member larva_members[] = {
    ENVELOPE_MEMBERS,
    M("inspector", MSG_M_ID_TEXT, true, 1, MSG_INSPECTOR_MAX, u.larva.inspector, MSG_NO_HAS),
    M_ENUM("building", true, u.larva.building, building_names),
    M("kelurahan", MSG_M_KELURAHAN, true, 0, 0, u.larva.kelurahan, MSG_NO_HAS),
    M("rw", MSG_M_INT, true, 1, 999, u.larva.rw, MSG_NO_HAS),
    M("rt", MSG_M_INT, true, 1, 999, u.larva.rt, MSG_NO_HAS),
    M("address", MSG_M_TEXT, false, 1, MSG_ADDRESS_MAX, u.larva.address, MSG_NO_HAS),
    {"lat", MSG_M_NUM, false, false, -11, 6, EV(u.larva.lat), HAS(u.larva.has_gps), NULL, NULL,
     NULL, GPS_HINT},
    {"lon", MSG_M_NUM, false, false, 95, 141, EV(u.larva.lon), HAS(u.larva.has_gps), NULL, NULL,
     NULL, GPS_HINT},
    M("larvae_found", MSG_M_BOOL, true, 0, 0, u.larva.larvae_found, MSG_NO_HAS),
    M_CUSTOM("containers", true, MSG_NO_HAS, check_containers, emit_containers),
    M_CUSTOM("actions", false, HAS(u.larva.has_actions), check_actions, emit_actions),
    M("note", MSG_M_TEXT, false, 1, MSG_NOTE_MAX, u.larva.note, MSG_NO_HAS),
};

static int larva_rules(struct msg_event *ev, uint64_t seen, char *err, size_t errlen)
{
    const struct msg_larva *lv = &ev->u.larva;
    struct msg_path p = {NULL, "larvae_found", 0};
    int rc;

    rc = together(larva_members, sizeof(larva_members) / sizeof(larva_members[0]), seen, "lat",
                  "lon", err, errlen);
    if (rc != MSG_OK) {
        return rc;
    }
    for (size_t i = 0; i < lv->n_containers; i++) {
        if (lv->containers[i].positive > 0) {
            if (lv->larvae_found) {
                return MSG_OK;
            }
            return msg_schema_fail(&p, err, errlen, "false, but containers[%zu] has %d positive",
                                   i, lv->containers[i].positive);
        }
    }
    if (lv->larvae_found) {
        return msg_schema_fail(&p, err, errlen, "true, but no container has a positive count");
    }
    return MSG_OK;
}

/* ---- 4.6 dropped ---- */

static int check_dropped_ranges(const struct msg_member *m, const cJSON *item, void *base,
                                const struct msg_path *path, char *err, size_t errlen)
{
    struct msg_dropped *d = &((struct msg_event *)base)->u.dropped;

    (void)m;
    return msg_schema_ranges(item, path, d->ranges, MSG_DROPPED_RANGES_MAX, &d->n_ranges, err,
                             errlen);
}

static int emit_dropped_ranges(const struct msg_member *m, const void *base, struct msg_buf *b,
                               enum msg_enc_mode mode)
{
    const struct msg_dropped *d = &((const struct msg_event *)base)->u.dropped;

    (void)m;
    (void)mode;
    if (d->n_ranges > MSG_DROPPED_RANGES_MAX) {
        return MSG_ERR_INVAL;
    }
    msg_schema_emit_ranges(d->ranges, d->n_ranges, b);
    return MSG_OK;
}

static const struct msg_member dropped_members[] = {
    ENVELOPE_MEMBERS,
    M_CUSTOM("ranges", true, MSG_NO_HAS, check_dropped_ranges, emit_dropped_ranges),
    M_ENUM("reason", true, u.dropped.reason, drop_reason_names),
};

static int dropped_rules(struct msg_event *ev, uint64_t seen, char *err, size_t errlen)
{
    const struct msg_dropped *d = &ev->u.dropped;
    struct msg_path p = {NULL, "ranges", 0};
    struct msg_path ip = {&p, NULL, 0};

    (void)seen;
    if (d->n_ranges > 0 && d->ranges[d->n_ranges - 1].last >= ev->env.seq) {
        ip.index = d->n_ranges - 1;
        return msg_schema_fail(&ip, err, errlen,
                               "[%" PRIu64 ",%" PRIu64 "] is not below the message's seq %" PRIu64,
                               d->ranges[ip.index].first, d->ranges[ip.index].last, ev->env.seq);
    }
    return MSG_OK;
}

/* ---- 5 status ---- */

static int check_stations(const struct msg_member *m, const cJSON *item, void *base,
                          const struct msg_path *path, char *err, size_t errlen)
{
    static const struct msg_member health = {
        "stations", MSG_M_ENUM, true, false, 0, 0, 0, sizeof(int), MSG_NO_HAS, state_names,
        NULL, NULL, NULL,
    };
    struct msg_status *st = base;
    struct msg_path sp = {path, NULL, 0};
    char q[MSG_QUOTE_MAX];
    size_t n = 0;
    int rc;

    (void)m;
    rc = msg_schema_want_object(item, path, err, errlen);
    if (rc != MSG_OK) {
        return rc;
    }
    for (const cJSON *c = item->child; c != NULL; c = c->next, n++) {
        struct msg_station_health *sh;
        const char *id = c->string != NULL ? c->string : "";
        size_t len = strlen(id);
        int state = 0;

        if (n == MSG_STATUS_STATIONS_MAX) {
            return msg_schema_fail(path, err, errlen, "more than %d members",
                                   MSG_STATUS_STATIONS_MAX);
        }
        sh = &st->stations[n];
        sp.name = id;
        if (!msg_id_valid(id, len)) {
            return msg_schema_fail(path, err, errlen,
                                   "'%s' is not a station id (1-64 of a-z 0-9 . _ -, first a-z "
                                   "or 0-9)",
                                   msg_quote(id, len, q));
        }
        rc = msg_schema_value(&health, c, &state, &sp, err, errlen);
        if (rc != MSG_OK) {
            return rc;
        }
        memcpy(sh->id, id, len + 1);
        sh->online = state == MSG_STATE_ONLINE;
    }
    st->n_stations = n;
    return MSG_OK;
}

static int emit_stations(const struct msg_member *m, const void *base, struct msg_buf *b,
                         enum msg_enc_mode mode)
{
    const struct msg_status *st = base;
    bool first = true;

    (void)m;
    (void)mode;
    if (st->n_stations > MSG_STATUS_STATIONS_MAX) {
        return MSG_ERR_INVAL;
    }
    msg_buf_raw(b, "{", 1);
    for (size_t i = 0; i < st->n_stations; i++) {
        if (memchr(st->stations[i].id, '\0', sizeof(st->stations[i].id)) == NULL) {
            return MSG_ERR_INVAL;
        }
        msg_buf_json_key(b, &first, st->stations[i].id);
        msg_buf_json_str(b, st->stations[i].online ? "online" : "offline");
    }
    msg_buf_raw(b, "}", 1);
    return MSG_OK;
}

/* Offsets into struct msg_status, which msg_status_encode() takes on its own. */
#define ST(name, type, req, lo, hi, f, has) \
    {name, type, req, false, lo, hi, FIELD(struct msg_status, f), has, NULL, NULL, NULL, NULL}
#define ST_HAS(f) offsetof(struct msg_status, f)

static const struct msg_member status_members[] = {
    {"state", MSG_M_ENUM, true, false, 0, 0, FIELD(struct msg_status, state), MSG_NO_HAS,
     state_names, NULL, NULL, NULL},
    ST("conn", MSG_M_U64, true, 1, SEQ_MAX_D, conn, MSG_NO_HAS),
    ST("store", MSG_M_STORE, true, 0, 0, store_id, MSG_NO_HAS),
    ST("ts", MSG_M_TS, true, 0, 0, ts_ms, MSG_NO_HAS),
    ST("clock_synced", MSG_M_BOOL, true, 0, 0, clock_synced, MSG_NO_HAS),
    ST("agent", MSG_M_TEXT, false, 1, MSG_AGENT_MAX, agent, MSG_NO_HAS),
    ST("backlog", MSG_M_U64, false, 0, SEQ_MAX_D, backlog, ST_HAS(has_backlog)),
    ST("rejected", MSG_M_U64, false, 0, SEQ_MAX_D, rejected, ST_HAS(has_rejected)),
    ST("dropped", MSG_M_U64, false, 0, SEQ_MAX_D, dropped, ST_HAS(has_dropped)),
    M_CUSTOM("stations", false, ST_HAS(has_stations), check_stations, emit_stations),
};

/* ---- the streams ---- */

struct stream_spec {
    const struct msg_member *members;
    size_t n;
    size_t base_off;   /* where in struct msg_event the table's offsets start */
    int (*rules)(struct msg_event *ev, uint64_t seen, char *err, size_t errlen);
};

#define SPEC(t, rules) {t, sizeof(t) / sizeof(t[0]), 0, rules}

static const struct stream_spec stream_specs[MSG_STREAM_COUNT] = {
    [MSG_STREAM_FLOOD] = SPEC(flood_members, flood_rules),
    [MSG_STREAM_TRAFFIC] = SPEC(traffic_members, NULL),
    [MSG_STREAM_INCIDENT] = SPEC(incident_members, incident_rules),
    [MSG_STREAM_LARVA] = SPEC(larva_members, larva_rules),
    [MSG_STREAM_DROPPED] = SPEC(dropped_members, dropped_rules),
    [MSG_STREAM_STATUS] = {status_members, sizeof(status_members) / sizeof(status_members[0]),
                           offsetof(struct msg_event, u.status), NULL},
};

static const struct stream_spec *spec_of(enum msg_stream s)
{
    if ((unsigned)s >= MSG_STREAM_COUNT || stream_specs[s].members == NULL) {
        return NULL;
    }
    return &stream_specs[s];
}

int msg_event_from_json(const cJSON *doc, const struct msg_topic *topic, struct msg_event *out,
                        char *err, size_t errlen)
{
    const struct stream_spec *spec = spec_of(topic->stream);
    uint64_t seen = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    if (spec == NULL) {
        snprintf(err, errlen, "topic stream '%s' is not a device message",
                 msg_stream_name(topic->stream));
        return MSG_ERR_TOPIC;
    }
    out->stream = topic->stream;
    memcpy(out->device_id, topic->device_id, sizeof(out->device_id));
    out->device_id[MSG_ID_MAX] = '\0';
    rc = msg_schema_object(doc, spec->members, spec->n, true, (char *)out + spec->base_off, NULL,
                           &seen, err, errlen);
    if (rc != MSG_OK) {
        return rc;
    }
    if (spec->rules != NULL) {
        rc = spec->rules(out, seen, err, errlen);
    }
    return rc;
}

int msg_event_parse(const char *topic, size_t topic_len, const void *payload, size_t len,
                    struct msg_event *out, char *err, size_t errlen)
{
    struct msg_topic t;
    struct msg_json_doc doc;   /* the tree without an allocation (about 25 KB of stack) */
    int rc;

    doc.root = NULL;
    doc.heap = NULL;
    rc = msg_topic_parse(topic, topic_len, &t, err, errlen);
    if (rc != MSG_OK) {
        goto out;
    }
    if (spec_of(t.stream) == NULL) {
        snprintf(err, errlen, "topic stream '%s' is not a device message",
                 msg_stream_name(t.stream));
        rc = MSG_ERR_TOPIC;
        goto out;
    }
    rc = msg_json_doc_parse(&doc, payload, len, MSG_PAYLOAD_MAX, MSG_DEPTH_DEVICE, err, errlen);
    if (rc != MSG_OK) {
        goto out;
    }
    rc = msg_event_from_json(doc.root, &t, out, err, errlen);
out:
    msg_json_doc_release(&doc);
    return rc;
}

static int encode(const struct msg_event *ev, struct msg_buf *b, enum msg_enc_mode mode)
{
    const struct stream_spec *spec = spec_of(ev->stream);

    if (spec == NULL) {
        return MSG_ERR_INVAL;
    }
    return msg_schema_encode(spec->members, spec->n, (const char *)ev + spec->base_off, b, mode);
}

int msg_event_encode(const struct msg_event *ev, char *buf, size_t buflen, size_t *outlen)
{
    struct msg_buf b;
    int rc;

    msg_buf_init(&b, buf, buflen);
    rc = encode(ev, &b, MSG_ENC_PAYLOAD);
    if (rc != MSG_OK) {
        return rc;
    }
    return msg_buf_finish(&b, outlen);
}

int msg_status_encode(const struct msg_status *st, char *buf, size_t buflen, size_t *outlen)
{
    const struct stream_spec *spec = &stream_specs[MSG_STREAM_STATUS];
    struct msg_buf b;
    int rc;

    msg_buf_init(&b, buf, buflen);
    rc = msg_schema_encode(spec->members, spec->n, st, &b, MSG_ENC_PAYLOAD);
    if (rc != MSG_OK) {
        return rc;
    }
    return msg_buf_finish(&b, outlen);
}

int msg_event_validate(const struct msg_event *ev, char *err, size_t errlen)
{
    char payload[MSG_PAYLOAD_MAX + 1];
    char topic[MSG_TOPIC_MAX + 1];
    struct msg_event back;
    size_t len = 0;
    int rc;

    rc = msg_topic_format(topic, sizeof(topic), ev->stream, ev->device_id);
    if (rc != MSG_OK) {
        snprintf(err, errlen, "no topic for stream %d and device id '%.64s'", (int)ev->stream,
                 memchr(ev->device_id, '\0', sizeof(ev->device_id)) ? ev->device_id : "?");
        return MSG_ERR_TOPIC;
    }
    rc = msg_event_encode(ev, payload, sizeof(payload), &len);
    if (rc == MSG_ERR_FULL) {
        snprintf(err, errlen, "payload exceeds %d bytes", MSG_PAYLOAD_MAX);
        return MSG_ERR_JSON;
    }
    if (rc != MSG_OK) {
        snprintf(err, errlen, "event cannot be encoded (an enum, string or number is invalid)");
        return rc;
    }
    return msg_event_parse(topic, strlen(topic), payload, len, &back, err, errlen);
}

int msg_event_canonical(const struct msg_event *ev, char *buf, size_t buflen, size_t *outlen)
{
    struct msg_buf b;
    int rc;

    msg_buf_init(&b, buf, buflen);
    if (spec_of(ev->stream) == NULL || memchr(ev->device_id, '\0', sizeof(ev->device_id)) == NULL) {
        return MSG_ERR_INVAL;
    }
    msg_buf_str(&b, "pantau/v1 ");
    msg_buf_str(&b, msg_stream_name(ev->stream));
    msg_buf_raw(&b, " ", 1);
    msg_buf_json_str(&b, ev->device_id);
    msg_buf_raw(&b, " ", 1);
    rc = encode(ev, &b, MSG_ENC_CANONICAL);
    if (rc != MSG_OK) {
        return rc;
    }
    return msg_buf_finish(&b, outlen);
}
