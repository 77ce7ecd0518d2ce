/* camera_line.h -- one line of a camera's analytics output (the `camera` source's input
 * format, docs/agent-sources.md): a JSON object per line, vehicle counts, a lane's state or an
 * incident.
 *
 *   {"kind":"count","station":"cam-kalimalang-01","lane":"eastbound","class":"car",
 *    "count":1,"speed_kmh":42.5,"ts":"2026-03-02T07:41:05.250Z"}
 *   {"kind":"lane","station":"cam-kalimalang-01","lane":"eastbound","occupancy_pct":41.0,
 *    "queue_m":120,"ts":"2026-03-02T07:41:05.250Z"}
 *   {"kind":"incident","station":"cam-kalimalang-01","event":"1772437265.250311-k2x8lq",
 *    "state":"new","type":"stalled_vehicle","start":"2026-03-02T07:41:05.250Z",
 *    "confidence":0.82,"snapshot":"nvr://cam-kalimalang-01/1772437265.jpg"}
 *
 * A count line: `class` one of motorcycle, car, bus, truck, nonmotor (bicycle is read as
 * nonmotor); `count` an integer 1 to 10000 (default 1: one detection); `speed_kmh` 0 to 300;
 * `station` and `lane` may be left to the source's configured defaults; `ts` (a protocol
 * timestamp) when the vehicle was seen, default: when the line was read. A lane line: the
 * detection zone's occupancy (`occupancy_pct` 0 to 100, % of the time since the camera's last
 * lane line) and the queue it sees (`queue_m` 0 to 10000), at least one; `station`, `lane`
 * and `ts` as for counts. An incident line is
 * the contract's incident body (protocol.md 4.4) plus `kind` and an optional `ts`, validated by
 * the contract library itself, so errors name the member ("end: missing", "type: ..."). The
 * line passes the contract's strict I-JSON gate; unknown members are refused, extension members
 * (x_...) accepted and ignored.
 *
 * Not for: I/O, aggregation (traffic_agg.h). Allocates only cJSON's tree, freed before
 * returning. */
#ifndef CAMERA_LINE_H
#define CAMERA_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg_event.h"

#define CAMERA_LINE_MAX MSG_PAYLOAD_MAX   /* bytes of one line */
#define CAMERA_COUNT_MAX 10000

enum camera_line_kind {
    CAMERA_LINE_COUNT,
    CAMERA_LINE_INCIDENT,
    CAMERA_LINE_LANE,
};

struct camera_count {
    char station[MSG_ID_MAX + 1];
    char lane[MSG_LANE_MAX + 1];
    enum msg_vclass vclass;
    int64_t count;
    bool has_speed;
    double speed_kmh;
};

struct camera_lane {
    char station[MSG_ID_MAX + 1];
    char lane[MSG_LANE_MAX + 1];
    bool has_occupancy;
    double occupancy_pct;
    bool has_queue;
    double queue_m;
};

struct camera_line {
    enum camera_line_kind kind;
    int64_t ts_ms;                    /* the line's ts; 0 if it had none */
    struct camera_count count;        /* kind CAMERA_LINE_COUNT */
    struct camera_lane lane;          /* kind CAMERA_LINE_LANE */
    struct msg_incident incident;     /* kind CAMERA_LINE_INCIDENT */
};

/* Reads line (len bytes, borrowed, without its newline) into caller-owned *out.
 * def_station and def_lane (borrowed; "" for none) fill a missing station or lane. Returns
 * MSG_OK, MSG_ERR_JSON (not I-JSON, err says where) or MSG_ERR_SCHEMA (err names the member),
 * or MSG_ERR_NOMEM. */
int camera_line_parse(const char *line, size_t len, const char *def_station,
                      const char *def_lane, struct camera_line *out, char *err, size_t errlen);

/* Reads a vehicle class name (borrowed): the contract's five, and "bicycle" as nonmotor.
 * Returns MSG_OK or MSG_ERR_INVAL. */
int camera_vclass_from_name(const char *name, enum msg_vclass *out);

#endif
