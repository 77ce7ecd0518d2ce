/* msg_topic.h -- the topic scheme of protocol.md section 3, and the identifiers of section 2.
 *
 *   pantau/v1/<device>/<stream>       stream: flood traffic incident larva dropped status ack
 *   pantau/v1/_sys/health/<collector>
 *   pantau/v1/_sys/rejected
 *   pantau/v1/_sys/restore
 *   pantau/v1/_sys/alert/<unit>/<kind>/<subject>   (pantau-alertd; msg_topic_alert_*)
 *
 * Shared by the broker plugins (who may publish where) and the collector (what a topic means),
 * so both read topics with the same code. Also says which device kind may publish which stream,
 * and gives the one subscription filter of each stream (msg_topic_filter), so that no program
 * spells a topic of this tree by hand.
 *
 * Not for: reading subscription filters (+ and # are never valid in a topic here; the broker's
 * broker-plugins/subfilter.c reads filters), payloads. No I/O, no allocation. */
#ifndef MSG_TOPIC_H
#define MSG_TOPIC_H

#include <stdbool.h>
#include <stddef.h>

#include "msg_err.h"

#define MSG_ID_MAX 64     /* device, station and collector ids: bytes, without NUL */
#define MSG_TOPIC_MAX 256 /* bytes of a topic of this protocol, without NUL */
#define MSG_TOPIC_PREFIX "pantau/v1/"

enum msg_stream {
    MSG_STREAM_FLOOD,
    MSG_STREAM_TRAFFIC,
    MSG_STREAM_INCIDENT,
    MSG_STREAM_LARVA,
    MSG_STREAM_DROPPED,
    MSG_STREAM_STATUS,
    MSG_STREAM_ACK,
    MSG_STREAM_HEALTH,
    MSG_STREAM_REJECTED,
    MSG_STREAM_RESTORE, /* the database was restored to a point in time (protocol.md 6.3) */
};
#define MSG_STREAM_COUNT 10

enum msg_device_kind {
    MSG_KIND_FLOOD_GATEWAY,
    MSG_KIND_TRAFFIC_GATEWAY,
    MSG_KIND_HANDHELD,
};
#define MSG_KIND_COUNT 3

struct msg_topic {
    enum msg_stream stream;
    char device_id[MSG_ID_MAX + 1];    /* empty for the _sys topics */
    char collector_id[MSG_ID_MAX + 1]; /* set for MSG_STREAM_HEALTH only, else empty */
};

/* Borrows topic (len bytes, NUL not required); fills caller-owned *out. Returns MSG_OK, or
 * MSG_ERR_TOPIC with err naming the offending level ("topic level 4 'rain': unknown stream"). */
int msg_topic_parse(const char *topic, size_t len, struct msg_topic *out, char *err, size_t errlen);

/* Writes the topic of stream s into buf (buflen bytes, NUL included). id (borrowed) is the
 * device id for device streams, the collector id for MSG_STREAM_HEALTH, and ignored (may be
 * NULL) for MSG_STREAM_REJECTED and MSG_STREAM_RESTORE. Returns MSG_OK, MSG_ERR_INVAL (bad id or stream) or
 * MSG_ERR_FULL (buf too small; MSG_TOPIC_MAX + 1 always suffices). */
int msg_topic_format(char *buf, size_t buflen, enum msg_stream s, const char *id);

/* The filter of every topic of stream s: "pantau/v1/+/<stream>" (every device) for a device
 * stream, "pantau/v1/_sys/health/+" (every collector) for MSG_STREAM_HEALTH, and the topic itself
 * for MSG_STREAM_REJECTED and MSG_STREAM_RESTORE; NULL for a value outside the enum. Static storage. */
const char *msg_topic_filter(enum msg_stream s);

/* Whether topic (len bytes, borrowed, NUL not required) is a topic of stream s: the answer of
 * msg_topic_parse (MSG_OK and that stream) without its error text, for one stream. */
bool msg_topic_is_stream(const char *topic, size_t len, enum msg_stream s);

/* The device of a topic pantau/v1/<device>/... (len bytes, borrowed) whose level 3 is an id,
 * whatever the levels after it are (a dead letter's device): copied into out, returns true.
 * Else out is "" and returns false. */
bool msg_topic_device(const char *topic, size_t len, char out[MSG_ID_MAX + 1]);

/* The last level of topic (borrowed, NUL-terminated), where a device topic names its stream; ""
 * for a topic without '/'. Points into topic. */
const char *msg_topic_last_level(const char *topic);

/* "flood", ..., "health", "rejected", "restore"; "?" for a value outside the enum. Static
 * storage. */
const char *msg_stream_name(enum msg_stream s);

/* Reads a stream name (borrowed, one of the ten above). Returns MSG_OK or MSG_ERR_INVAL. */
int msg_stream_from_name(const char *name, enum msg_stream *out);

/* flood, traffic, incident, larva and dropped: messages that are readings (section 3). */
bool msg_stream_is_reading(enum msg_stream s);

/* Whether s (len bytes, borrowed) is a device, station or collector id (section 2): 1 to 64
 * characters from a-z 0-9 . _ -, starting with a-z or 0-9. */
bool msg_id_valid(const char *s, size_t len);

/* Reads "flood_gateway", "traffic_gateway" or "handheld" (borrowed, len bytes). Returns MSG_OK
 * or MSG_ERR_INVAL. */
int msg_device_kind_from_name(const char *name, size_t len, enum msg_device_kind *out);

/* "flood_gateway", ...; "?" outside the enum. Static storage. */
const char *msg_device_kind_name(enum msg_device_kind k);

/* The table of section 3: whether a device of kind k may publish on stream s. */
bool msg_kind_may_publish(enum msg_device_kind k, enum msg_stream s);

/* Alerts (protocol.md, "Alerts"): pantau/v1/_sys/alert/<unit>/<kind>/<subject>, published by
 * pantau-alertd (QoS 1, the current state of each subject and kind retained). Not a device
 * stream: no device publishes there, and msg_topic_parse does not read these topics.
 *   unit     a unit id: 1-32 of a-z 0-9 _ -, starting with a-z or 0-9 (pantau_alert.unit)
 *   kind     an alert kind: 1-32 of a-z 0-9 _ (flood_level, larva_positive, ...)
 *   subject  the alert's subject made one topic level (msg_topic_alert_subject) */
#define MSG_UNIT_MAX 32          /* unit id bytes, without NUL */
#define MSG_ALERT_KIND_MAX 32    /* alert kind bytes, without NUL */
#define MSG_ALERT_SUBJECT_MAX 96 /* subject level bytes, without NUL */
#define MSG_TOPIC_ALERT_PREFIX MSG_TOPIC_PREFIX "_sys/alert/"

/* Whether s (len bytes, borrowed) is a unit id. */
bool msg_unit_valid(const char *s, size_t len);

/* Writes the topic level of an alert's subject (borrowed, e.g. "station:katulampa",
 * "area:32.75.01.1001/rw5#2026-W49") into out: lower case, every character outside
 * a-z 0-9 . _ - becomes '-', cut at MSG_ALERT_SUBJECT_MAX bytes ("station-katulampa").
 * Returns MSG_OK, or MSG_ERR_INVAL for an empty subject. The exact subject is in the body. */
int msg_topic_alert_subject(const char *subject, char out[MSG_ALERT_SUBJECT_MAX + 1]);

/* Writes the topic of an alert for unit (borrowed) into buf (buflen bytes, NUL included).
 * Returns MSG_OK, MSG_ERR_INVAL (bad unit, kind or empty subject) or MSG_ERR_FULL (buf too
 * small; MSG_TOPIC_MAX + 1 always suffices). */
int msg_topic_alert_format(char *buf, size_t buflen, const char *unit, const char *kind,
                           const char *subject);

/* Whether topic (len bytes, borrowed, NUL not required) is an alert topic as
 * msg_topic_alert_format writes them: a unit, a kind and a subject level of a-z 0-9 . _ -
 * (1 to MSG_ALERT_SUBJECT_MAX bytes). For the broker, which lets pantau-alertd publish there. */
bool msg_topic_is_alert(const char *topic, size_t len);

/* The subscription filter of one unit's alerts, "pantau/v1/_sys/alert/<unit>/#", or of all
 * alerts ("pantau/v1/_sys/alert/#") when unit is NULL. Returns MSG_OK, MSG_ERR_INVAL or
 * MSG_ERR_FULL, as msg_topic_alert_format. */
int msg_topic_alert_filter(char *buf, size_t buflen, const char *unit);

#endif
