/* sensor_line.c -- distance sensor lines, median filter, rate of rise (see sensor_line.h). */
#include "sensor_line.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "msg_err.h"
#include "msg_json.h"
#include "msg_utf8.h"
#include "msg_write.h"

#define SENSOR_JSON_DEPTH 4
#define SENSOR_NUMBER_MAX 32   /* characters of a bare number */

int sensor_format_parse(const char *format, const char *member, const char *unit,
                        struct sensor_line_format *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->cm_per_unit = 1.0;
    if (strcmp(format, "cm") == 0) {
        out->format = SENSOR_FORMAT_CM;
        return MSG_OK;
    }
    if (strcmp(format, "mm") == 0) {
        out->format = SENSOR_FORMAT_MM;
        return MSG_OK;
    }
    if (strcmp(format, "json") != 0) {
        snprintf(err, errlen, "format: '%.16s' is not one of cm, mm, json", format);
        return MSG_ERR_CONFIG;
    }
    out->format = SENSOR_FORMAT_JSON;
    if (member[0] == '\0' || strlen(member) > SENSOR_MEMBER_MAX || member[0] == '.' ||
        member[strlen(member) - 1] == '.' || strstr(member, "..") != NULL) {
        snprintf(err, errlen, "json_member: must be a member name or a dotted path of 1 to %d "
                 "bytes", SENSOR_MEMBER_MAX);
        return MSG_ERR_CONFIG;
    }
    memcpy(out->member, member, strlen(member) + 1);
    if (strcmp(unit, "mm") == 0) {
        out->cm_per_unit = 0.1;
    } else if (strcmp(unit, "cm") == 0) {
        out->cm_per_unit = 1.0;
    } else if (strcmp(unit, "m") == 0) {
        out->cm_per_unit = 100.0;
    } else {
        snprintf(err, errlen, "json_unit: '%.16s' is not one of mm, cm, m", unit);
        return MSG_ERR_CONFIG;
    }
    return MSG_OK;
}

/* A bare decimal: optional '-', digits, optionally '.' and digits. */
static int parse_number(const char *s, size_t len, double *out, char *err, size_t errlen)
{
    char num[SENSOR_NUMBER_MAX + 1];
    char q[MSG_QUOTE_MAX];
    size_t i = 0;
    size_t digits = 0;
    char *end = NULL;

    while (len > 0 && (s[0] == ' ' || s[0] == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t')) {
        len--;
    }
    if (len == 0) {
        snprintf(err, errlen, "empty line");
        return MSG_ERR_INVAL;
    }
    if (len > SENSOR_NUMBER_MAX) {
        snprintf(err, errlen, "not a number: '%s'", msg_quote(s, len, q));
        return MSG_ERR_INVAL;
    }
    if (s[i] == '-') {
        i++;
    }
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        i++;
        digits++;
    }
    if (digits > 0 && i < len && s[i] == '.') {
        size_t frac = 0;

        i++;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            i++;
            frac++;
        }
        if (frac == 0) {
            digits = 0;
        }
    }
    if (digits == 0 || i != len) {
        snprintf(err, errlen, "not a number: '%s'", msg_quote(s, len, q));
        return MSG_ERR_INVAL;
    }
    memcpy(num, s, len);
    num[len] = '\0';
    *out = strtod(num, &end);   /* the grammar above is a subset of strtod's, in any locale
                                 * whose decimal point is '.'; the agent keeps the C locale */
    if (end != num + len || !isfinite(*out)) {
        snprintf(err, errlen, "not a number: '%s'", msg_quote(s, len, q));
        return MSG_ERR_INVAL;
    }
    return MSG_OK;
}

/* The member at a dotted path, or NULL; *missing_at names the first level not found. */
static const cJSON *find_path(const cJSON *doc, const char *path, char *missing,
                              size_t missinglen)
{
    char part[SENSOR_MEMBER_MAX + 1];
    const cJSON *cur = doc;
    const char *p = path;

    while (*p != '\0') {
        const char *dot = strchr(p, '.');
        size_t n = dot != NULL ? (size_t)(dot - p) : strlen(p);

        memcpy(part, p, n);
        part[n] = '\0';
        if (!cJSON_IsObject(cur)) {
            snprintf(missing, missinglen, "member '%s': not inside an object", path);
            return NULL;
        }
        cur = cJSON_GetObjectItemCaseSensitive(cur, part);
        if (cur == NULL) {
            snprintf(missing, missinglen, "member '%s': missing", path);
            return NULL;
        }
        p += n;
        if (*p == '.') {
            p++;
        }
    }
    return cur;
}

static int parse_json(const struct sensor_line_format *f, const char *line, size_t len,
                      double *out, char *err, size_t errlen)
{
    char why[MSG_ERRLEN];
    cJSON *doc = NULL;
    const cJSON *item;
    int rc;

    rc = msg_json_parse(line, len, SENSOR_LINE_MAX, SENSOR_JSON_DEPTH, &doc, why, sizeof(why));
    if (rc != MSG_OK) {
        snprintf(err, errlen, "not a JSON line: %s", why);
        rc = rc == MSG_ERR_NOMEM ? MSG_ERR_NOMEM : MSG_ERR_INVAL;
        goto out;
    }
    if (!cJSON_IsObject(doc)) {
        snprintf(err, errlen, "not a JSON object but %s", msg_json_type_name(doc));
        rc = MSG_ERR_INVAL;
        goto out;
    }
    item = find_path(doc, f->member, err, errlen);
    if (item == NULL) {
        rc = MSG_ERR_INVAL;
        goto out;
    }
    if (!cJSON_IsNumber(item)) {
        snprintf(err, errlen, "member '%s': %s, not a number", f->member,
                 msg_json_type_name(item));
        rc = MSG_ERR_INVAL;
        goto out;
    }
    *out = item->valuedouble * f->cm_per_unit;
    rc = MSG_OK;
out:
    cJSON_Delete(doc);
    return rc;
}

int sensor_line_parse(const struct sensor_line_format *f, const char *line, size_t len,
                      double *distance_cm, char *err, size_t errlen)
{
    char num[MSG_NUM_MAX];
    size_t bad = 0;
    const char *why = NULL;
    double v = 0;
    int rc;

    if (len > SENSOR_LINE_MAX) {
        snprintf(err, errlen, "line of %zu bytes exceeds %d", len, SENSOR_LINE_MAX);
        return MSG_ERR_INVAL;
    }
    while (len > 0 && (line[0] == ' ' || line[0] == '\t')) {   /* blanks around are allowed */
        line++;
        len--;
    }
    while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t')) {
        len--;
    }
    if (!msg_utf8_text(line, len, NULL, &bad, &why)) {
        snprintf(err, errlen, "not text at byte %zu: %s", bad, why != NULL ? why : "invalid");
        return MSG_ERR_INVAL;
    }
    if (f->format == SENSOR_FORMAT_JSON) {
        rc = parse_json(f, line, len, &v, err, errlen);
    } else {
        rc = parse_number(line, len, &v, err, errlen);
        if (f->format == SENSOR_FORMAT_MM) {
            v /= 10.0;
        }
    }
    if (rc != MSG_OK) {
        return rc;
    }
    if (!(v >= 0.0 && v <= SENSOR_DISTANCE_MAX_CM)) {
        snprintf(err, errlen, "distance %s cm out of range 0..%g", msg_num_format(v, true, num),
                 SENSOR_DISTANCE_MAX_CM);
        return MSG_ERR_INVAL;
    }
    *distance_cm = v;
    return MSG_OK;
}

int sensor_median_init(struct sensor_median *m, size_t window)
{
    memset(m, 0, sizeof(*m));
    if (window < 1 || window > SENSOR_MEDIAN_MAX) {
        return MSG_ERR_INVAL;
    }
    m->cap = window;
    return MSG_OK;
}

void sensor_median_push(struct sensor_median *m, double v)
{
    m->v[m->next] = v;
    m->next = (m->next + 1) % m->cap;
    if (m->n < m->cap) {
        m->n++;
    }
}

bool sensor_median_value(const struct sensor_median *m, double *out)
{
    double s[SENSOR_MEDIAN_MAX];

    if (m->n == 0) {
        return false;
    }
    memcpy(s, m->v, m->n * sizeof(s[0]));   /* the first n slots are the ones in use */
    for (size_t i = 1; i < m->n; i++) {     /* insertion sort: n <= 31 */
        double x = s[i];
        size_t j = i;

        while (j > 0 && s[j - 1] > x) {
            s[j] = s[j - 1];
            j--;
        }
        s[j] = x;
    }
    if (m->n % 2 == 1) {
        *out = s[m->n / 2];
    } else {
        *out = (s[m->n / 2 - 1] + s[m->n / 2]) / 2.0;
    }
    return true;
}

void sensor_rise_init(struct sensor_rise *r, int64_t window_ms)
{
    r->head = 0;
    r->n = 0;
    r->window_ms = window_ms;
}

void sensor_rise_push(struct sensor_rise *r, int64_t t_ms, double level_cm)
{
    size_t tail;

    if (r->n > 0 && t_ms < r->t_ms[(r->head + r->n - 1) % SENSOR_RISE_MAX]) {
        return;
    }
    while (r->n > 0 && r->t_ms[r->head] < t_ms - r->window_ms) {
        r->head = (r->head + 1) % SENSOR_RISE_MAX;
        r->n--;
    }
    if (r->n == SENSOR_RISE_MAX) {
        r->head = (r->head + 1) % SENSOR_RISE_MAX;
        r->n--;
    }
    tail = (r->head + r->n) % SENSOR_RISE_MAX;
    r->t_ms[tail] = t_ms;
    r->level[tail] = level_cm;
    r->n++;
}

bool sensor_rise_value(const struct sensor_rise *r, double *cm_per_h)
{
    int64_t t0;
    double mt = 0, my = 0, sxy = 0, sxx = 0;
    double slope;

    if (r->n < 3) {
        return false;
    }
    t0 = r->t_ms[r->head];
    if (r->t_ms[(r->head + r->n - 1) % SENSOR_RISE_MAX] - t0 < r->window_ms / 4) {
        return false;
    }
    for (size_t i = 0; i < r->n; i++) {
        size_t k = (r->head + i) % SENSOR_RISE_MAX;

        mt += (double)(r->t_ms[k] - t0) / 3600000.0;   /* hours since the oldest sample */
        my += r->level[k];
    }
    mt /= (double)r->n;
    my /= (double)r->n;
    for (size_t i = 0; i < r->n; i++) {
        size_t k = (r->head + i) % SENSOR_RISE_MAX;
        double dt = (double)(r->t_ms[k] - t0) / 3600000.0 - mt;

        sxy += dt * (r->level[k] - my);
        sxx += dt * dt;
    }
    if (sxx <= 0) {
        return false;
    }
    slope = sxy / sxx;
    if (!isfinite(slope) || slope < -10000.0 || slope > 10000.0) {
        return false;
    }
    *cm_per_h = slope;
    return true;
}
