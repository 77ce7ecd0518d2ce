/* sensor_line.h -- the pure parts of the flood source: one distance sensor line read into a
 * distance in cm, the median filter against spikes, and the rate of rise.
 *
 * Line formats (docs/agent-sources.md):
 *   cm    a bare decimal number per line, the distance in cm ("412.5")
 *   mm    a bare decimal number per line, the distance in mm ("4125")
 *   json  one JSON object per line (I-JSON, the contract's strict gate); a configured member
 *         (a dotted path for nested objects: "sensor.distance") holds the distance as a number
 *         in a configured unit (mm, cm or m)
 * Blanks around a bare number are allowed. A line that is not valid UTF-8, not a number, out of
 * 0..SENSOR_DISTANCE_MAX_CM, or longer than SENSOR_LINE_MAX bytes is refused with err saying
 * why (input bytes are never echoed raw: msg_quote escapes them).
 *
 * Not for: I/O, timing or the reading itself (source_flood.c). No allocation except cJSON's
 * tree for a JSON line, freed before the call returns. */
#ifndef SENSOR_LINE_H
#define SENSOR_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SENSOR_LINE_MAX 1024            /* bytes of a sensor line */
#define SENSOR_MEMBER_MAX 63            /* bytes of a JSON member path */
#define SENSOR_DISTANCE_MAX_CM 10000.0  /* the contract's range of distance_cm */
#define SENSOR_MEDIAN_MAX 31            /* largest median window */
#define SENSOR_RISE_MAX 1024            /* samples kept for the rate of rise */

enum sensor_format {
    SENSOR_FORMAT_CM,
    SENSOR_FORMAT_MM,
    SENSOR_FORMAT_JSON,
};

struct sensor_line_format {
    enum sensor_format format;
    char member[SENSOR_MEMBER_MAX + 1];   /* json: the member path */
    double cm_per_unit;                   /* json: 0.1 (mm), 1 (cm) or 100 (m) */
};

/* Reads a format name ("cm", "mm", "json"), and for json the member path and unit ("mm", "cm",
 * "m"), all borrowed, into *out. Returns MSG_OK or MSG_ERR_CONFIG with err naming the bad
 * value. */
int sensor_format_parse(const char *format, const char *member, const char *unit,
                        struct sensor_line_format *out, char *err, size_t errlen);

/* Reads one line (len bytes, borrowed, without its newline) into *distance_cm. Returns MSG_OK,
 * or MSG_ERR_INVAL with err saying why ("not a number: 'abc'", "invalid UTF-8 at byte 3",
 * "distance 12000 cm out of range 0..10000", "member 'distance': missing"). */
int sensor_line_parse(const struct sensor_line_format *f, const char *line, size_t len,
                      double *distance_cm, char *err, size_t errlen);

/* The median of the last n samples (a spike in one sample does not move it). */
struct sensor_median {
    double v[SENSOR_MEDIAN_MAX];
    size_t cap;     /* window, 1..SENSOR_MEDIAN_MAX */
    size_t n;       /* samples held, <= cap */
    size_t next;    /* where the next sample goes */
};

/* Returns MSG_OK, or MSG_ERR_INVAL for a window outside 1..SENSOR_MEDIAN_MAX. */
int sensor_median_init(struct sensor_median *m, size_t window);
void sensor_median_push(struct sensor_median *m, double v);
/* The median of the samples held (the mean of the middle two for an even count); false if
 * none is held yet. */
bool sensor_median_value(const struct sensor_median *m, double *out);

/* The rate of rise: the least-squares slope of level over time for the samples of the last
 * window_ms (at most SENSOR_RISE_MAX samples; older ones are forgotten first). Times are
 * CLOCK_MONOTONIC ms, so a clock step does not fake a flood wave. */
struct sensor_rise {
    int64_t t_ms[SENSOR_RISE_MAX];
    double level[SENSOR_RISE_MAX];
    size_t head;    /* index of the oldest sample */
    size_t n;
    int64_t window_ms;
};

void sensor_rise_init(struct sensor_rise *r, int64_t window_ms);
/* Adds a sample; t_ms must not go backwards (a sample older than the newest is ignored). */
void sensor_rise_push(struct sensor_rise *r, int64_t t_ms, double level_cm);
/* The slope in cm per hour, once it is known: at least 3 samples spanning at least a quarter of
 * the window. False until then, or if the slope is outside the contract's -10000..10000. */
bool sensor_rise_value(const struct sensor_rise *r, double *cm_per_h);

#endif
