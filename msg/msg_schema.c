/* msg_schema.c -- table-driven member checks: see msg_schema.h. */
#include "msg_schema.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "msg_err.h"
#include "msg_event.h"
#include "msg_json.h"
#include "msg_range.h"
#include "msg_time.h"
#include "msg_topic.h"
#include "msg_utf8.h"
#include "msg_wilayah.h"

#define EXT_NAME_MAX 30      /* characters after "x_" */

int msg_schema_fail(const struct msg_path *path, char *err, size_t errlen, const char *fmt, ...)
{
    char where[MSG_PATH_TEXT_MAX];
    int w = 0;
    va_list ap;

    msg_path_format(path, where, sizeof(where));
    if (where[0] != '\0') {
        w = snprintf(err, errlen, "%s: ", where);
    }
    if (w >= 0 && (size_t)w < errlen) {
        va_start(ap, fmt);
        vsnprintf(err + w, errlen - (size_t)w, fmt, ap);
        va_end(ap);
    }
    return MSG_ERR_SCHEMA;
}

int msg_schema_want_object(const cJSON *item, const struct msg_path *path, char *err,
                           size_t errlen)
{
    const char *type = msg_json_type_name(item);

    if (cJSON_IsObject(item)) {
        return MSG_OK;
    }
    if (path == NULL) {
        return msg_schema_fail(NULL, err, errlen, "payload is %s %s, not an object",
                               type[0] == 'a' || type[0] == 'o' ? "an" : "a", type);
    }
    return msg_schema_fail(path, err, errlen, "expected an object, got %s", type);
}

int msg_schema_want_array(const cJSON *item, const struct msg_path *path, size_t min, size_t max,
                          const char *what, size_t *count, char *err, size_t errlen)
{
    size_t n = 0;

    if (!cJSON_IsArray(item)) {
        return msg_schema_fail(path, err, errlen, "expected an array, got %s",
                               msg_json_type_name(item));
    }
    for (const cJSON *c = item->child; c != NULL; c = c->next) {
        n++;
    }
    if (n < min || n > max) {
        return msg_schema_fail(path, err, errlen, "%zu %s, expected %zu to %zu", n, what, min,
                               max);
    }
    *count = n;
    return MSG_OK;
}

bool msg_schema_is_extension(const char *name)
{
    size_t n;

    if (name[0] != 'x' || name[1] != '_') {
        return false;
    }
    for (n = 0; name[2 + n] != '\0'; n++) {
        char c = name[2 + n];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') || n >= EXT_NAME_MAX) {
            return false;
        }
    }
    return n >= 1;
}

static bool is_hex_lower(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool msg_schema_is_store_id(const char *s)
{
    for (size_t i = 0; i < MSG_STORE_ID_LEN; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;

        if (dash ? s[i] != '-' : !is_hex_lower(s[i])) {
            return false;
        }
    }
    return s[MSG_STORE_ID_LEN] == '\0';
}

/* 1 to max characters from a-z 0-9 . _ - (upper: also A-Z; colon: also ':'), the first a letter
 * or digit. */
static bool token_valid(const char *s, size_t len, size_t max, bool upper, bool colon)
{
    if (len == 0 || len > max) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     (upper && c >= 'A' && c <= 'Z');

        if (!alnum && (i == 0 || !(c == '.' || c == '_' || c == '-' || (colon && c == ':')))) {
            return false;
        }
    }
    return true;
}

static const char *a_type(enum msg_mtype t)
{
    switch (t) {
    case MSG_M_BOOL:
        return "a boolean";
    case MSG_M_NUM:
        return "a number";
    case MSG_M_INT:
    case MSG_M_I64:
    case MSG_M_U64:
        return "an integer";
    default:
        return "a string";
    }
}

static int check_number(const struct msg_member *m, const cJSON *item, const struct msg_path *path,
                        double *out, char *err, size_t errlen)
{
    char num[MSG_NUM_MAX];
    char lo[MSG_NUM_MAX];
    char hi[MSG_NUM_MAX];
    double v = item->valuedouble;

    if (!isfinite(v)) {
        return msg_schema_fail(path, err, errlen, "number is out of the range of a double");
    }
    if (m->type != MSG_M_NUM && v != floor(v)) {
        return msg_schema_fail(path, err, errlen, "%s is not an integer",
                               msg_num_format(v, true, num));
    }
    if (v < m->min || v > m->max) {
        return msg_schema_fail(path, err, errlen, "%s out of range %s..%s",
                               msg_num_format(v, true, num), msg_num_format(m->min, true, lo),
                               msg_num_format(m->max, true, hi));
    }
    *out = v == 0 ? 0 : v;   /* -0 is stored as 0 */
    return MSG_OK;
}

static int check_enum(const struct msg_member *m, const char *s, void *field,
                      const struct msg_path *path, char *err, size_t errlen)
{
    char list[160];
    size_t o = 0;
    char q[MSG_QUOTE_MAX];

    for (int i = 0; m->names[i] != NULL; i++) {
        if (strcmp(s, m->names[i]) == 0) {
            memcpy(field, &i, sizeof(i));
            return MSG_OK;
        }
    }
    list[0] = '\0';
    for (int i = 0; m->names[i] != NULL && o < sizeof(list); i++) {
        int w = snprintf(list + o, sizeof(list) - o, "%s%s", i > 0 ? ", " : "", m->names[i]);

        if (w < 0) {
            break;
        }
        o += (size_t)w;
    }
    return msg_schema_fail(path, err, errlen, "'%s' is not one of %s",
                           msg_quote(s, strlen(s), q), list);
}

/* Strings of every kind: the checks that depend on the kind, then the copy. */
static int check_string(const struct msg_member *m, const char *s, void *field,
                        const struct msg_path *path, char *err, size_t errlen)
{
    size_t len = strlen(s);
    size_t ncp = 0;
    size_t bad = 0;
    const char *why = NULL;
    char q[MSG_QUOTE_MAX];
    char terr[MSG_ERRLEN];
    int64_t ms = 0;

    switch (m->type) {
    case MSG_M_STORE:
        if (!msg_schema_is_store_id(s)) {
            return msg_schema_fail(path, err, errlen,
                                   "'%s' is not a store id (lower-case UUID 8-4-4-4-12)",
                                   msg_quote(s, len, q));
        }
        break;
    case MSG_M_TS:
        if (msg_time_parse(s, len, &ms, terr, sizeof(terr)) != MSG_OK) {
            return msg_schema_fail(path, err, errlen, "'%s' is not a timestamp: %s",
                                   msg_quote(s, len, q), terr);
        }
        memcpy(field, &ms, sizeof(ms));
        return MSG_OK;
    case MSG_M_ID:
        if (!msg_id_valid(s, len)) {
            return msg_schema_fail(path, err, errlen,
                                   "'%s' is not an id (1-64 of a-z 0-9 . _ -, first a-z or 0-9)",
                                   msg_quote(s, len, q));
        }
        break;
    case MSG_M_LANE:
        if (!token_valid(s, len, MSG_LANE_MAX, false, false)) {
            return msg_schema_fail(path, err, errlen,
                                   "'%s' is not a lane (1-32 of a-z 0-9 . _ -, first a-z or 0-9)",
                                   msg_quote(s, len, q));
        }
        break;
    case MSG_M_EVENT_ID:
        if (!token_valid(s, len, MSG_EVENT_ID_MAX, true, true)) {
            return msg_schema_fail(path, err, errlen,
                                   "'%s' is not an event id (1-64 of A-Z a-z 0-9 . _ : -, first "
                                   "a letter or digit)",
                                   msg_quote(s, len, q));
        }
        break;
    case MSG_M_KELURAHAN:
        if (!msg_kelurahan_valid(s, len)) {
            return msg_schema_fail(path, err, errlen,
                                   "'%s' is not a kelurahan code of Kota Bekasi",
                                   msg_quote(s, len, q));
        }
        break;
    case MSG_M_TEXT:
        if (!msg_utf8_text(s, len, &ncp, &bad, &why)) {
            return msg_schema_fail(path, err, errlen, "%s at byte %zu of the string", why, bad);
        }
        if ((double)ncp < m->min || (double)ncp > m->max) {
            return msg_schema_fail(path, err, errlen, "%zu code points, expected %.0f to %.0f",
                                   ncp, m->min, m->max);
        }
        break;
    case MSG_M_ID_TEXT:
        if (!msg_utf8_id_text(s, len, &ncp, &bad, &why)) {
            uint32_t cp = 0;

            if (msg_utf8_decode((const unsigned char *)s + bad, len - bad, &cp, NULL) > 0 &&
                msg_utf8_is_invisible(cp)) {
                return msg_schema_fail(path, err, errlen,
                                       "invisible character U+%04X at byte %zu: an id may not "
                                       "hold format or invisible characters",
                                       (unsigned)cp, bad);
            }
            return msg_schema_fail(path, err, errlen, "%s at byte %zu of the string", why, bad);
        }
        if ((double)ncp < m->min || (double)ncp > m->max) {
            return msg_schema_fail(path, err, errlen, "%zu code points, expected %.0f to %.0f",
                                   ncp, m->min, m->max);
        }
        break;
    case MSG_M_ENUM:
        return check_enum(m, s, field, path, err, errlen);
    default:
        return msg_schema_fail(path, err, errlen, "internal: not a string type");
    }
    if (len >= m->size) {   /* the limits above keep this from happening */
        return msg_schema_fail(path, err, errlen, "string of %zu bytes is too long", len);
    }
    memcpy(field, s, len + 1);
    return MSG_OK;
}

static int value(const struct msg_member *m, const cJSON *item, void *base,
                 const struct msg_path *path, char *err, size_t errlen);

int msg_schema_value(const struct msg_member *m, const cJSON *item, void *base,
                     const struct msg_path *path, char *err, size_t errlen)
{
    int rc = value(m, item, base, path, err, errlen);
    size_t used;

    if (rc != MSG_OK && m->hint != NULL && errlen > 0) {
        used = strlen(err);
        snprintf(err + used, errlen - used, " (%s)", m->hint);
    }
    return rc;
}

static int value(const struct msg_member *m, const cJSON *item, void *base,
                 const struct msg_path *path, char *err, size_t errlen)
{
    char *field = (char *)base + m->off;
    double v = 0;
    int rc;

    if (m->type == MSG_M_CUSTOM) {
        return m->custom(m, item, base, path, err, errlen);
    }
    switch (m->type) {
    case MSG_M_BOOL:
        if (!cJSON_IsBool(item)) {
            break;
        }
        *(bool *)(void *)field = cJSON_IsTrue(item);
        return MSG_OK;
    case MSG_M_NUM:
    case MSG_M_INT:
    case MSG_M_I64:
    case MSG_M_U64:
        if (!cJSON_IsNumber(item)) {
            break;
        }
        rc = check_number(m, item, path, &v, err, errlen);
        if (rc != MSG_OK) {
            return rc;
        }
        if (m->type == MSG_M_NUM) {
            memcpy(field, &v, sizeof(v));
        } else if (m->type == MSG_M_INT) {
            int i = (int)v;

            memcpy(field, &i, sizeof(i));
        } else if (m->type == MSG_M_I64) {
            int64_t i = (int64_t)v;

            memcpy(field, &i, sizeof(i));
        } else {
            uint64_t u = (uint64_t)v;

            memcpy(field, &u, sizeof(u));
        }
        return MSG_OK;
    default:
        if (!cJSON_IsString(item)) {
            break;
        }
        return check_string(m, item->valuestring, field, path, err, errlen);
    }
    return msg_schema_fail(path, err, errlen, "expected %s, got %s", a_type(m->type),
                           msg_json_type_name(item));
}

static int check_extension(const cJSON *item, const struct msg_path *path, char *err,
                           size_t errlen)
{
    size_t ncp = 0;
    size_t bad = 0;
    const char *why = NULL;

    if (cJSON_IsNumber(item)) {
        if (!isfinite(item->valuedouble)) {
            return msg_schema_fail(path, err, errlen, "number is out of the range of a double");
        }
        return MSG_OK;
    }
    if (cJSON_IsBool(item) || cJSON_IsNull(item)) {
        return MSG_OK;
    }
    if (cJSON_IsString(item)) {
        if (!msg_utf8_text(item->valuestring, strlen(item->valuestring), &ncp, &bad, &why)) {
            return msg_schema_fail(path, err, errlen, "%s at byte %zu of the string", why, bad);
        }
        if (ncp > MSG_EXT_TEXT_MAX) {
            return msg_schema_fail(path, err, errlen,
                                   "extension string of %zu code points, at most %d", ncp,
                                   MSG_EXT_TEXT_MAX);
        }
        return MSG_OK;
    }
    return msg_schema_fail(path, err, errlen,
                           "extension value must be a string, number, boolean or null, got %s",
                           msg_json_type_name(item));
}

int msg_schema_object(const cJSON *obj, const struct msg_member *table, size_t n, bool allow_ext,
                      void *base, const struct msg_path *path, uint64_t *seen, char *err,
                      size_t errlen)
{
    struct msg_path mp = {path, NULL, 0};
    uint64_t present = 0;
    size_t next = 0;   /* where the lookup starts: just after the last member found */
    int rc;

    if (n > MSG_MEMBERS_MAX) {
        snprintf(err, errlen, "internal: member table of %zu entries (at most %d)", n,
                 MSG_MEMBERS_MAX);
        return MSG_ERR_INVAL;
    }
    rc = msg_schema_want_object(obj, path, err, errlen);
    if (rc != MSG_OK) {
        return rc;
    }
    for (const cJSON *c = obj->child; c != NULL; c = c->next) {
        const char *name = c->string != NULL ? c->string : "";
        size_t i = n;

        mp.name = name;
        /* Names in a table are distinct, so where the search starts does not change what it
         * finds; members mostly come in table order (the encoders write them so), and then
         * the first entry tried is the one. */
        for (size_t k = 0; k < n; k++) {
            size_t j = next + k < n ? next + k : next + k - n;

            if (table[j].name[0] == name[0] && strcmp(table[j].name, name) == 0) {
                i = j;
                break;
            }
        }
        if (i == n) {
            if (allow_ext && msg_schema_is_extension(name)) {
                rc = check_extension(c, &mp, err, errlen);
                if (rc != MSG_OK) {
                    return rc;
                }
                continue;
            }
            return msg_schema_fail(&mp, err, errlen, "unknown member");
        }
        if (present & ((uint64_t)1 << i)) {
            return msg_schema_fail(&mp, err, errlen, "duplicate member name");
        }
        present |= (uint64_t)1 << i;
        next = i + 1 < n ? i + 1 : 0;
        rc = msg_schema_value(&table[i], c, base, &mp, err, errlen);
        if (rc != MSG_OK) {
            return rc;
        }
        if (table[i].has_off != MSG_NO_HAS) {
            *(bool *)(void *)((char *)base + table[i].has_off) = true;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (table[i].required && !(present & ((uint64_t)1 << i))) {
            mp.name = table[i].name;
            return msg_schema_fail(&mp, err, errlen, "missing (required)");
        }
    }
    if (seen != NULL) {
        *seen = present;
    }
    return MSG_OK;
}

int msg_schema_range(const cJSON *item, const struct msg_path *path, uint64_t *first,
                     uint64_t *last, char *err, size_t errlen)
{
    static const struct msg_member seq = {
        .name = "seq", .type = MSG_M_U64, .min = 1, .max = (double)MSG_SEQ_MAX,
        .off = 0, .size = sizeof(uint64_t), .has_off = MSG_NO_HAS,
    };
    uint64_t pair[2] = {0, 0};
    struct msg_path ip = {path, NULL, 0};
    const cJSON *c;
    int count = 0;
    int rc;

    if (!cJSON_IsArray(item)) {
        return msg_schema_fail(path, err, errlen, "expected a pair [first, last], got %s",
                               msg_json_type_name(item));
    }
    count = cJSON_GetArraySize(item);
    if (count != 2) {
        return msg_schema_fail(path, err, errlen, "expected a pair [first, last], got %d item%s",
                               count, count == 1 ? "" : "s");
    }
    c = item->child;
    for (int i = 0; i < 2; i++, c = c->next) {
        ip.index = (size_t)i;
        rc = msg_schema_value(&seq, c, &pair[i], &ip, err, errlen);
        if (rc != MSG_OK) {
            return rc;
        }
    }
    *first = pair[0];
    *last = pair[1];
    return MSG_OK;
}

int msg_schema_ranges(const cJSON *item, const struct msg_path *path, struct msg_range *out,
                      size_t max, size_t *n, char *err, size_t errlen)
{
    struct msg_path ip = {path, NULL, 0};
    size_t count = 0;
    int rc;

    rc = msg_schema_want_array(item, path, 1, max, "ranges", &count, err, errlen);
    if (rc != MSG_OK) {
        return rc;
    }
    count = 0;
    for (const cJSON *c = item->child; c != NULL; c = c->next, count++) {
        struct msg_range *r = &out[count];

        ip.index = count;
        rc = msg_schema_range(c, &ip, &r->first, &r->last, err, errlen);
        if (rc != MSG_OK) {
            return rc;
        }
        if (r->first > r->last) {
            return msg_schema_fail(&ip, err, errlen, "first %" PRIu64 " > last %" PRIu64,
                                   r->first, r->last);
        }
        if (count > 0 && r->first <= out[count - 1].last) {
            return msg_schema_fail(&ip, err, errlen,
                                   "[%" PRIu64 ",%" PRIu64 "] is not above the previous range "
                                   "[%" PRIu64 ",%" PRIu64 "] (ranges ascend, no overlap)",
                                   r->first, r->last, out[count - 1].first, out[count - 1].last);
        }
    }
    *n = count;
    return MSG_OK;
}

void msg_schema_emit_ranges(const struct msg_range *r, size_t n, struct msg_buf *b)
{
    msg_buf_raw(b, "[", 1);
    for (size_t i = 0; i < n; i++) {
        msg_buf_raw(b, i > 0 ? ",[" : "[", i > 0 ? 2 : 1);
        msg_buf_u64(b, r[i].first);
        msg_buf_raw(b, ",", 1);
        msg_buf_u64(b, r[i].last);
        msg_buf_raw(b, "]", 1);
    }
    msg_buf_raw(b, "]", 1);
}

/* Whether the member is present in base (optional strings: when not empty). */
static bool has_value(const struct msg_member *m, const void *base)
{
    const char *field = (const char *)base + m->off;

    if (m->has_off != MSG_NO_HAS) {
        return *(const bool *)(const void *)((const char *)base + m->has_off);
    }
    if (m->required) {
        return true;
    }
    switch (m->type) {
    case MSG_M_STORE:
    case MSG_M_ID:
    case MSG_M_LANE:
    case MSG_M_EVENT_ID:
    case MSG_M_TEXT:
    case MSG_M_ID_TEXT:
    case MSG_M_KELURAHAN:
        return field[0] != '\0';
    default:
        return true;
    }
}

static int emit_value(const struct msg_member *m, const void *base, struct msg_buf *b,
                      enum msg_enc_mode mode)
{
    const char *field = (const char *)base + m->off;
    double d;
    int i;
    int64_t i64;
    uint64_t u64;

    switch (m->type) {
    case MSG_M_BOOL:
        msg_buf_str(b, *(const bool *)(const void *)field ? "true" : "false");
        return MSG_OK;
    case MSG_M_NUM:
        memcpy(&d, field, sizeof(d));
        if (!isfinite(d)) {
            return MSG_ERR_INVAL;
        }
        msg_buf_num(b, d, mode == MSG_ENC_PAYLOAD);
        return MSG_OK;
    case MSG_M_INT:
        memcpy(&i, field, sizeof(i));
        msg_buf_i64(b, i);
        return MSG_OK;
    case MSG_M_I64:
        memcpy(&i64, field, sizeof(i64));
        msg_buf_i64(b, i64);
        return MSG_OK;
    case MSG_M_U64:
        memcpy(&u64, field, sizeof(u64));
        msg_buf_u64(b, u64);
        return MSG_OK;
    case MSG_M_TS:
        memcpy(&i64, field, sizeof(i64));
        msg_buf_json_ts(b, i64);
        return MSG_OK;
    case MSG_M_ENUM:
        memcpy(&i, field, sizeof(i));
        for (int k = 0; m->names[k] != NULL; k++) {
            if (k == i) {
                msg_buf_json_str(b, m->names[k]);
                return MSG_OK;
            }
        }
        return MSG_ERR_INVAL;
    case MSG_M_CUSTOM:
        return m->emit(m, base, b, mode);
    default:
        if (memchr(field, '\0', m->size) == NULL) {
            return MSG_ERR_INVAL;
        }
        msg_buf_json_str(b, field);
        return MSG_OK;
    }
}

int msg_schema_encode(const struct msg_member *table, size_t n, const void *base,
                      struct msg_buf *b, enum msg_enc_mode mode)
{
    bool first = true;
    int rc;

    msg_buf_raw(b, "{", 1);
    for (size_t k = 0; k < n; k++) {
        const struct msg_member *m = &table[k];

        if ((mode == MSG_ENC_CANONICAL && m->transient) || !has_value(m, base)) {
            continue;
        }
        msg_buf_json_key(b, &first, m->name);
        rc = emit_value(m, base, b, mode);
        if (rc != MSG_OK) {
            return rc;
        }
    }
    msg_buf_raw(b, "}", 1);
    return MSG_OK;
}
