/* msg_schema.h -- internal to msg/: table-driven checks of a JSON object's members.
 *
 * Each message type declares a const table of member specs (name, type, required, range,
 * offsetof the field it fills), the shape of fluent-bit's config maps. msg_schema_object() reads
 * an object's members once, in order: a member is looked up in the table (a linear scan: tables
 * are small), its value checked and stored; a member not in the table is an error unless it is
 * an extension (x_..., protocol.md 4.0) where the caller allows them; then missing required
 * members are errors. Rules between members (section 9) stay with each message type.
 *
 * Not for: programs outside msg/. No allocation. */
#ifndef MSG_SCHEMA_H
#define MSG_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "msg_range.h"
#include "msg_write.h"

enum msg_mtype {
    MSG_M_BOOL,        /* bool */
    MSG_M_NUM,         /* double, finite, min..max */
    MSG_M_INT,         /* int: integral (5 or 5.0), min..max */
    MSG_M_I64,         /* int64_t: integral, min..max */
    MSG_M_U64,         /* uint64_t: integral, min..max (max at most 2^53 - 1) */
    MSG_M_STORE,       /* char[MSG_STORE_ID_LEN + 1]: lower-case UUID */
    MSG_M_TS,          /* int64_t: timestamp, ms since the epoch */
    MSG_M_ID,          /* char[size]: device, station or collector id */
    MSG_M_LANE,        /* char[size]: lane */
    MSG_M_EVENT_ID,    /* char[size]: camera event id */
    MSG_M_TEXT,        /* char[size]: text of min..max code points */
    MSG_M_ID_TEXT,     /* char[size]: a free-form id: text of min..max code points without
                        * invisible characters (msg_utf8_id_text, protocol.md section 2) */
    MSG_M_ENUM,        /* an enum (int-sized): index of the value in names[] */
    MSG_M_KELURAHAN,   /* char[size]: kelurahan code */
    MSG_M_CUSTOM,      /* custom() checks and stores it, emit() writes it */
};

/* How msg_schema_encode writes values. */
enum msg_enc_mode {
    MSG_ENC_PAYLOAD,     /* a payload: numbers in their shortest round-trip spelling */
    MSG_ENC_CANONICAL,   /* content for hashing: 17 significant digits, transient members out */
};

#define MSG_NO_HAS ((size_t)-1)

struct msg_member {
    const char *name;
    enum msg_mtype type;
    bool required;
    bool transient;             /* not content: left out of the canonical form (`replay`) */
    double min;                 /* numbers: range; MSG_M_TEXT, MSG_M_ID_TEXT: code points */
    double max;
    size_t off;                 /* offsetof the field in base */
    size_t size;                /* sizeof the field */
    size_t has_off;             /* offsetof a bool set when the member is present, or MSG_NO_HAS */
    const char *const *names;   /* MSG_M_ENUM: the values' names, NULL-terminated */
    /* MSG_M_CUSTOM: checks item, the value of member m at path, and stores it into base */
    int (*custom)(const struct msg_member *m, const cJSON *item, void *base,
                  const struct msg_path *path, char *err, size_t errlen);
    /* MSG_M_CUSTOM: writes the value from base (MSG_OK, or MSG_ERR_INVAL for a bad value) */
    int (*emit)(const struct msg_member *m, const void *base, struct msg_buf *b,
                enum msg_enc_mode mode);
    const char *hint;           /* appended in parentheses to errors about the value, or NULL */
};

#define MSG_MEMBERS_MAX 64      /* entries of one table: presence is kept in a 64-bit set */

/* Checks the members of obj (at path; NULL for the payload itself) against table[0..n) and
 * fills base. Extensions are accepted (and checked, and ignored) if allow_ext. *seen (if not
 * NULL) gets bit i for each table[i] present. Returns MSG_OK or MSG_ERR_SCHEMA with err
 * "<path>: why". */
int msg_schema_object(const cJSON *obj, const struct msg_member *table, size_t n, bool allow_ext,
                      void *base, const struct msg_path *path, uint64_t *seen, char *err,
                      size_t errlen);

/* Writes the members of table[0..n) from base as a JSON object into b, in table order.
 * Optional members are written when their has_off flag is set (or, without one, when a string
 * is not empty). Returns MSG_OK, or MSG_ERR_INVAL for a value that cannot be written (an enum
 * out of range, a string without NUL, a number that is not finite); b->full tells of room. */
int msg_schema_encode(const struct msg_member *table, size_t n, const void *base,
                      struct msg_buf *b, enum msg_enc_mode mode);

/* Reads a list of 1 to max [first, last] pairs (item at path) into out[0..*n) and checks it
 * as protocol.md 9.5 says: first <= last, ascending, not overlapping. */
int msg_schema_ranges(const cJSON *item, const struct msg_path *path, struct msg_range *out,
                      size_t max, size_t *n, char *err, size_t errlen);

/* Writes out[0..n) as [[first,last],...]. */
void msg_schema_emit_ranges(const struct msg_range *r, size_t n, struct msg_buf *b);

/* Checks one value against m and stores it into base (for items of arrays). */
int msg_schema_value(const struct msg_member *m, const cJSON *item, void *base,
                     const struct msg_path *path, char *err, size_t errlen);

/* Checks that item is an object, else MSG_ERR_SCHEMA "<path> is an array, not an object". */
int msg_schema_want_object(const cJSON *item, const struct msg_path *path, char *err,
                           size_t errlen);

/* Checks that item is an array of min..max elements (called `what` in the error: "items",
 * "ranges") and sets *count to its size; else MSG_ERR_SCHEMA "<path>: 31 items, expected 0
 * to 30". */
int msg_schema_want_array(const cJSON *item, const struct msg_path *path, size_t min, size_t max,
                          const char *what, size_t *count, char *err, size_t errlen);

/* Writes "<path>: <message>" into err and returns MSG_ERR_SCHEMA. */
int msg_schema_fail(const struct msg_path *path, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Reads a [first, last] pair of seqs (item at path), checking types and ranges (not order). */
int msg_schema_range(const cJSON *item, const struct msg_path *path, uint64_t *first,
                     uint64_t *last, char *err, size_t errlen);

/* Whether name matches ^x_[a-z0-9_]{1,30}$. */
bool msg_schema_is_extension(const char *name);

/* Whether s is a lower-case canonical UUID (36 characters). */
bool msg_schema_is_store_id(const char *s);

#endif
