/* msg_topic.c -- the topic scheme: see msg_topic.h. */
#include "msg_topic.h"

#include <stdio.h>
#include <string.h>

#include "msg_write.h"

#define SYS_LEVEL "_sys"
#define HEALTH_PREFIX MSG_TOPIC_PREFIX SYS_LEVEL "/health/"
#define REJECTED_TOPIC MSG_TOPIC_PREFIX SYS_LEVEL "/rejected"
#define RESTORE_TOPIC MSG_TOPIC_PREFIX SYS_LEVEL "/restore"

static const char *const stream_names[MSG_STREAM_COUNT] = {
    "flood",  "traffic", "incident", "larva",    "dropped",
    "status", "ack",     "health",   "rejected", "restore",
};

/* In the order of stream_names (the unit test checks each against its name). */
static const char *const stream_filters[MSG_STREAM_COUNT] = {
    MSG_TOPIC_PREFIX "+/flood",
    MSG_TOPIC_PREFIX "+/traffic",
    MSG_TOPIC_PREFIX "+/incident",
    MSG_TOPIC_PREFIX "+/larva",
    MSG_TOPIC_PREFIX "+/dropped",
    MSG_TOPIC_PREFIX "+/status",
    MSG_TOPIC_PREFIX "+/ack",
    HEALTH_PREFIX "+",
    REJECTED_TOPIC,
    RESTORE_TOPIC,
};

static const char *const kind_names[MSG_KIND_COUNT] = {
    "flood_gateway",
    "traffic_gateway",
    "handheld",
};

/* Section 3: which kind may publish which stream. No device may publish ack, health, rejected
 * or restore (the collector and the broker write those). */
static const bool kind_streams[MSG_KIND_COUNT][MSG_STREAM_COUNT] = {
    [MSG_KIND_FLOOD_GATEWAY] =
        {[MSG_STREAM_FLOOD] = true, [MSG_STREAM_DROPPED] = true, [MSG_STREAM_STATUS] = true},
    [MSG_KIND_TRAFFIC_GATEWAY] = {[MSG_STREAM_TRAFFIC] = true,
                                  [MSG_STREAM_INCIDENT] = true,
                                  [MSG_STREAM_DROPPED] = true,
                                  [MSG_STREAM_STATUS] = true},
    [MSG_KIND_HANDHELD] =
        {[MSG_STREAM_LARVA] = true, [MSG_STREAM_DROPPED] = true, [MSG_STREAM_STATUS] = true},
};

const char *msg_stream_name(enum msg_stream s)
{
    if ((unsigned)s >= MSG_STREAM_COUNT) {
        return "?";
    }
    return stream_names[s];
}

/* Looks up name (len bytes) among the first n stream names. */
static int stream_lookup(const char *name, size_t len, size_t n, enum msg_stream *out)
{
    for (size_t i = 0; i < n; i++) {
        if (strlen(stream_names[i]) == len && memcmp(stream_names[i], name, len) == 0) {
            *out = (enum msg_stream)i;
            return MSG_OK;
        }
    }
    return MSG_ERR_INVAL;
}

int msg_stream_from_name(const char *name, enum msg_stream *out)
{
    return stream_lookup(name, strlen(name), MSG_STREAM_COUNT, out);
}

bool msg_stream_is_reading(enum msg_stream s)
{
    return s == MSG_STREAM_FLOOD || s == MSG_STREAM_TRAFFIC || s == MSG_STREAM_INCIDENT ||
           s == MSG_STREAM_LARVA || s == MSG_STREAM_DROPPED;
}

static bool id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

bool msg_id_valid(const char *s, size_t len)
{
    if (len == 0 || len > MSG_ID_MAX) {
        return false;
    }
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9'))) {
        return false;
    }
    for (size_t i = 1; i < len; i++) {
        if (!id_char(s[i])) {
            return false;
        }
    }
    return true;
}

int msg_device_kind_from_name(const char *name, size_t len, enum msg_device_kind *out)
{
    for (size_t i = 0; i < MSG_KIND_COUNT; i++) {
        if (strlen(kind_names[i]) == len && memcmp(kind_names[i], name, len) == 0) {
            *out = (enum msg_device_kind)i;
            return MSG_OK;
        }
    }
    return MSG_ERR_INVAL;
}

const char *msg_device_kind_name(enum msg_device_kind k)
{
    if ((unsigned)k >= MSG_KIND_COUNT) {
        return "?";
    }
    return kind_names[k];
}

bool msg_kind_may_publish(enum msg_device_kind k, enum msg_stream s)
{
    if ((unsigned)k >= MSG_KIND_COUNT || (unsigned)s >= MSG_STREAM_COUNT) {
        return false;
    }
    return kind_streams[k][s];
}

/* Why an id level is not an id, for the error message. */
static const char *id_problem(const char *s, size_t len)
{
    if (len > MSG_ID_MAX) {
        return "longer than 64 characters";
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+' || s[i] == '#') {
            return "wildcard in a publish topic";
        }
        if (s[i] >= 'A' && s[i] <= 'Z') {
            return "upper case";
        }
    }
    return "not an id (1-64 of a-z 0-9 . _ -, first a-z or 0-9)";
}

struct level {
    const char *s;
    size_t len;
};

#define LEVELS_MAX 6 /* one more than the longest valid topic, to report "too many" */

int msg_topic_parse(const char *topic, size_t len, struct msg_topic *out, char *err, size_t errlen)
{
    static const char *const level_names[LEVELS_MAX] = {
        "prefix", "version", "device", "stream", "", "",
    };
    struct level lv[LEVELS_MAX];
    size_t n = 0;
    size_t start = 0;
    char q[MSG_QUOTE_MAX];
    enum msg_stream s;

    memset(out, 0, sizeof(*out));
    if (len == 0) {
        snprintf(err, errlen, "topic is empty");
        return MSG_ERR_TOPIC;
    }
    if (len > MSG_TOPIC_MAX) {
        snprintf(err, errlen, "topic of %zu bytes exceeds %d", len, MSG_TOPIC_MAX);
        return MSG_ERR_TOPIC;
    }
    for (size_t i = 0; i <= len; i++) {
        if (i < len && topic[i] != '/') {
            continue;
        }
        if (n == LEVELS_MAX) {
            break;
        }
        lv[n].s = topic + start;
        lv[n].len = i - start;
        n++;
        start = i + 1;
    }
    for (size_t i = 0; i < n; i++) {
        if (lv[i].len == 0) {
            snprintf(err, errlen, "topic level %zu%s%s%s is empty", i + 1,
                     level_names[i][0] != '\0' ? " (" : "", level_names[i],
                     level_names[i][0] != '\0' ? ")" : "");
            return MSG_ERR_TOPIC;
        }
    }
    if (lv[0].len != 6 || memcmp(lv[0].s, "pantau", 6) != 0) {
        snprintf(err, errlen, "topic level 1 '%s': not 'pantau'", msg_quote(lv[0].s, lv[0].len, q));
        return MSG_ERR_TOPIC;
    }
    if (n < 2 || lv[1].len != 2 || memcmp(lv[1].s, "v1", 2) != 0) {
        snprintf(err, errlen, "topic level 2 (version) '%s': unknown version, expected 'v1'",
                 n < 2 ? "" : msg_quote(lv[1].s, lv[1].len, q));
        return MSG_ERR_TOPIC;
    }
    if (n < 4) {
        snprintf(err, errlen, "topic has %zu levels, expected pantau/v1/<device>/<stream>", n);
        return MSG_ERR_TOPIC;
    }
    if (lv[2].len == strlen(SYS_LEVEL) && memcmp(lv[2].s, SYS_LEVEL, lv[2].len) == 0) {
        if (lv[3].len == 8 && memcmp(lv[3].s, "rejected", 8) == 0) {
            if (n != 4) {
                snprintf(err, errlen, "topic level 5 '%s': too many levels after _sys/rejected",
                         msg_quote(lv[4].s, lv[4].len, q));
                return MSG_ERR_TOPIC;
            }
            out->stream = MSG_STREAM_REJECTED;
            return MSG_OK;
        }
        if (lv[3].len == 7 && memcmp(lv[3].s, "restore", 7) == 0) {
            if (n != 4) {
                snprintf(err, errlen, "topic level 5 '%s': too many levels after _sys/restore",
                         msg_quote(lv[4].s, lv[4].len, q));
                return MSG_ERR_TOPIC;
            }
            out->stream = MSG_STREAM_RESTORE;
            return MSG_OK;
        }
        if (lv[3].len == 6 && memcmp(lv[3].s, "health", 6) == 0) {
            if (n != 5) {
                snprintf(err, errlen,
                         n < 5 ? "topic lacks level 5 (collector) after _sys/health"
                               : "topic has too many levels after _sys/health");
                return MSG_ERR_TOPIC;
            }
            if (!msg_id_valid(lv[4].s, lv[4].len)) {
                snprintf(err, errlen, "topic level 5 (collector) '%s': %s",
                         msg_quote(lv[4].s, lv[4].len, q), id_problem(lv[4].s, lv[4].len));
                return MSG_ERR_TOPIC;
            }
            out->stream = MSG_STREAM_HEALTH;
            memcpy(out->collector_id, lv[4].s, lv[4].len);
            out->collector_id[lv[4].len] = '\0';
            return MSG_OK;
        }
        snprintf(err, errlen,
                 "topic level 4 '%s': not a _sys topic (health/<collector>, rejected, restore)",
                 msg_quote(lv[3].s, lv[3].len, q));
        return MSG_ERR_TOPIC;
    }
    if (!msg_id_valid(lv[2].s, lv[2].len)) {
        snprintf(err, errlen, "topic level 3 (device) '%s': %s", msg_quote(lv[2].s, lv[2].len, q),
                 id_problem(lv[2].s, lv[2].len));
        return MSG_ERR_TOPIC;
    }
    if (stream_lookup(lv[3].s, lv[3].len, MSG_STREAM_ACK + 1, &s) != MSG_OK) {
        snprintf(err, errlen, "topic level 4 (stream) '%s': unknown stream",
                 msg_quote(lv[3].s, lv[3].len, q));
        return MSG_ERR_TOPIC;
    }
    if (n > 4) {
        snprintf(err, errlen, "topic level 5 '%s': too many levels (stream is the last)",
                 msg_quote(lv[4].s, lv[4].len, q));
        return MSG_ERR_TOPIC;
    }
    out->stream = s;
    memcpy(out->device_id, lv[2].s, lv[2].len);
    out->device_id[lv[2].len] = '\0';
    return MSG_OK;
}

int msg_topic_format(char *buf, size_t buflen, enum msg_stream s, const char *id)
{
    int w;

    if ((unsigned)s >= MSG_STREAM_COUNT) {
        return MSG_ERR_INVAL;
    }
    if (s == MSG_STREAM_REJECTED) {
        w = snprintf(buf, buflen, REJECTED_TOPIC);
    } else if (s == MSG_STREAM_RESTORE) {
        w = snprintf(buf, buflen, RESTORE_TOPIC);
    } else {
        if (id == NULL || !msg_id_valid(id, strlen(id))) {
            return MSG_ERR_INVAL;
        }
        if (s == MSG_STREAM_HEALTH) {
            w = snprintf(buf, buflen, HEALTH_PREFIX "%s", id);
        } else {
            w = snprintf(buf, buflen, MSG_TOPIC_PREFIX "%s/%s", id, stream_names[s]);
        }
    }
    if (w < 0 || (size_t)w >= buflen) {
        if (buflen > 0) {
            buf[0] = '\0';
        }
        return MSG_ERR_FULL;
    }
    return MSG_OK;
}

const char *msg_topic_filter(enum msg_stream s)
{
    if ((unsigned)s >= MSG_STREAM_COUNT) {
        return NULL;
    }
    return stream_filters[s];
}

/* Whether s (len bytes) is exactly the NUL-terminated text. */
static bool equals(const char *s, size_t len, const char *text)
{
    return strlen(text) == len && memcmp(s, text, len) == 0;
}

/* What msg_topic_parse accepts, level by level: an id can hold no '/', so an id in level 3 (or
 * 5 of a health topic) followed by a stream name (or nothing) is a topic of exactly 4 (5)
 * levels; "_sys" is no id. Too long a topic cannot pass: ids have at most 64 bytes. */
bool msg_topic_is_stream(const char *topic, size_t len, enum msg_stream s)
{
    size_t plen = strlen(HEALTH_PREFIX);
    const char *slash;

    if ((unsigned)s >= MSG_STREAM_COUNT) {
        return false;
    }
    if (s == MSG_STREAM_REJECTED) {
        return equals(topic, len, REJECTED_TOPIC);
    }
    if (s == MSG_STREAM_RESTORE) {
        return equals(topic, len, RESTORE_TOPIC);
    }
    if (s == MSG_STREAM_HEALTH) {
        return len > plen && memcmp(topic, HEALTH_PREFIX, plen) == 0 &&
               msg_id_valid(topic + plen, len - plen);
    }
    plen = strlen(MSG_TOPIC_PREFIX);
    if (len <= plen || memcmp(topic, MSG_TOPIC_PREFIX, plen) != 0) {
        return false;
    }
    slash = memchr(topic + plen, '/', len - plen);
    if (slash == NULL || !msg_id_valid(topic + plen, (size_t)(slash - (topic + plen)))) {
        return false;
    }
    return equals(slash + 1, len - (size_t)(slash + 1 - topic), stream_names[s]);
}

bool msg_topic_device(const char *topic, size_t len, char out[MSG_ID_MAX + 1])
{
    size_t plen = strlen(MSG_TOPIC_PREFIX);
    const char *p;
    const char *end;

    out[0] = '\0';
    if (len <= plen || memcmp(topic, MSG_TOPIC_PREFIX, plen) != 0) {
        return false;
    }
    p = topic + plen;
    end = memchr(p, '/', len - plen);
    if (end == NULL) {
        end = topic + len;
    }
    if (!msg_id_valid(p, (size_t)(end - p))) {
        return false;
    }
    memcpy(out, p, (size_t)(end - p));
    out[end - p] = '\0';
    return true;
}

const char *msg_topic_last_level(const char *topic)
{
    const char *slash = strrchr(topic, '/');

    return slash != NULL ? slash + 1 : "";
}

/* ---- alerts ------------------------------------------------------------------------------- */

bool msg_unit_valid(const char *s, size_t len)
{
    if (len == 0 || len > MSG_UNIT_MAX) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok =
            (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && (c == '_' || c == '-'));

        if (!ok) {
            return false;
        }
    }
    return true;
}

static bool alert_kind_valid(const char *s)
{
    size_t len = strlen(s);

    if (len == 0 || len > MSG_ALERT_KIND_MAX) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
            return false;
        }
    }
    return true;
}

int msg_topic_alert_subject(const char *subject, char out[MSG_ALERT_SUBJECT_MAX + 1])
{
    size_t n = 0;

    out[0] = '\0';
    if (subject == NULL || subject[0] == '\0') {
        return MSG_ERR_INVAL;
    }
    for (size_t i = 0; subject[i] != '\0' && n < MSG_ALERT_SUBJECT_MAX; i++) {
        char c = subject[i];

        if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-')) {
            c = '-';
        }
        out[n++] = c;
    }
    out[n] = '\0';
    return MSG_OK;
}

int msg_topic_alert_format(char *buf, size_t buflen, const char *unit, const char *kind,
                           const char *subject)
{
    char level[MSG_ALERT_SUBJECT_MAX + 1];
    int w;

    if (buflen > 0) {
        buf[0] = '\0';
    }
    if (unit == NULL || !msg_unit_valid(unit, strlen(unit)) || kind == NULL ||
        !alert_kind_valid(kind) || msg_topic_alert_subject(subject, level) != MSG_OK) {
        return MSG_ERR_INVAL;
    }
    w = snprintf(buf, buflen, MSG_TOPIC_ALERT_PREFIX "%s/%s/%s", unit, kind, level);
    if (w < 0 || (size_t)w >= buflen) {
        if (buflen > 0) {
            buf[0] = '\0';
        }
        return MSG_ERR_FULL;
    }
    return MSG_OK;
}

int msg_topic_alert_filter(char *buf, size_t buflen, const char *unit)
{
    int w;

    if (buflen > 0) {
        buf[0] = '\0';
    }
    if (unit != NULL && !msg_unit_valid(unit, strlen(unit))) {
        return MSG_ERR_INVAL;
    }
    if (unit == NULL) {
        w = snprintf(buf, buflen, MSG_TOPIC_ALERT_PREFIX "#");
    } else {
        w = snprintf(buf, buflen, MSG_TOPIC_ALERT_PREFIX "%s/#", unit);
    }
    if (w < 0 || (size_t)w >= buflen) {
        if (buflen > 0) {
            buf[0] = '\0';
        }
        return MSG_ERR_FULL;
    }
    return MSG_OK;
}

bool msg_topic_is_alert(const char *topic, size_t len)
{
    size_t plen = strlen(MSG_TOPIC_ALERT_PREFIX);
    const char *p = topic + plen;
    const char *end = topic + len;
    const char *slash;
    char kind[MSG_ALERT_KIND_MAX + 1];
    size_t n;

    if (len <= plen || len > MSG_TOPIC_MAX || memcmp(topic, MSG_TOPIC_ALERT_PREFIX, plen) != 0) {
        return false;
    }
    slash = memchr(p, '/', (size_t)(end - p));
    if (slash == NULL || !msg_unit_valid(p, (size_t)(slash - p))) {
        return false;
    }
    p = slash + 1;
    slash = memchr(p, '/', (size_t)(end - p));
    n = slash != NULL ? (size_t)(slash - p) : 0;
    if (slash == NULL || n == 0 || n > MSG_ALERT_KIND_MAX) {
        return false;
    }
    memcpy(kind, p, n);
    kind[n] = '\0';
    if (!alert_kind_valid(kind)) {
        return false;
    }
    p = slash + 1;
    n = (size_t)(end - p);
    if (n == 0 || n > MSG_ALERT_SUBJECT_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = p[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-')) {
            return false;
        }
    }
    return true;
}
