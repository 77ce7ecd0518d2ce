/* msg_json.c -- strict I-JSON lexer, then cJSON, then a duplicate/finite walk: see msg_json.h.
 *
 * The lexer is recursive descent over the bytes. Its recursion is bounded by maxdepth
 * (<= MSG_JSON_DEPTH_MAX), which it checks before it descends, so "[[[[..." costs nothing. It
 * keeps one frame per open container (the current member name or item index) only to say
 * where an error is. Everything it accepts, cJSON 1.7.15 parses to the same values: the lexer
 * refuses the inputs where cJSON would differ (NUL escapes, numbers longer than cJSON's 63-byte
 * copy, a BOM that cJSON would skip). */
#include "msg_json.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg_utf8.h"
#include "msg_write.h"

#define SMALL_OBJECT 16       /* members compared pairwise; larger objects are sorted */
#define DOUBLE_MAX_EXP10 309  /* 10^309 > DBL_MAX; 10^308 < DBL_MAX */

struct frame {
    const unsigned char *key;   /* raw bytes of the member being read (objects), or NULL */
    size_t keylen;
    size_t index;               /* item being read (arrays) */
    bool object;
};

struct lexer {
    const unsigned char *s;
    size_t len;
    size_t pos;
    int depth;                  /* containers open */
    int maxdepth;
    struct frame fr[MSG_JSON_DEPTH_MAX];
    char *err;
    size_t errlen;
};

/* "containers[2].type" for the frames open now. */
static void lexer_path(const struct lexer *lx, char *out, size_t outlen)
{
    struct msg_buf b;

    msg_buf_init(&b, out, outlen);
    for (int i = 0; i < lx->depth; i++) {
        const struct frame *f = &lx->fr[i];
        char q[MSG_QUOTE_MAX];

        if (f->object) {
            if (f->key == NULL) {
                break;
            }
            if (b.len > 0) {
                msg_buf_raw(&b, ".", 1);
            }
            msg_buf_str(&b, msg_quote((const char *)f->key, f->keylen, q));
        } else {
            msg_path_append(&b, NULL, f->index);
        }
    }
}

static int lex_fail(struct lexer *lx, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int lex_fail(struct lexer *lx, size_t at, const char *fmt, ...)
{
    char path[MSG_PATH_TEXT_MAX];
    int w;
    va_list ap;

    lexer_path(lx, path, sizeof(path));
    if (path[0] != '\0') {
        w = snprintf(lx->err, lx->errlen, "byte %zu at %s: ", at, path);
    } else {
        w = snprintf(lx->err, lx->errlen, "byte %zu: ", at);
    }
    if (w > 0 && (size_t)w < lx->errlen) {
        va_start(ap, fmt);
        vsnprintf(lx->err + w, lx->errlen - (size_t)w, fmt, ap);
        va_end(ap);
    }
    return MSG_ERR_JSON;
}

static int lex_truncated(struct lexer *lx)
{
    return lex_fail(lx, lx->len, "unexpected end of input (truncated)");
}

static void skip_ws(struct lexer *lx)
{
    while (lx->pos < lx->len) {
        unsigned char c = lx->s[lx->pos];

        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            break;
        }
        lx->pos++;
    }
}

static bool is_word(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '+' || c == '-' || c == '.';
}

/* The run of word characters at pos, quoted for a message. */
static const char *word_at(const struct lexer *lx, size_t pos, char q[MSG_QUOTE_MAX])
{
    size_t end = pos;

    while (end < lx->len && end - pos < 24 && is_word(lx->s[end])) {
        end++;
    }
    if (end == pos) {
        end = pos + 1;
    }
    return msg_quote((const char *)lx->s + pos, end - pos, q);
}

static int hex4(const unsigned char *p, uint32_t *out)
{
    uint32_t v = 0;

    for (int i = 0; i < 4; i++) {
        unsigned char c = p[i];

        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= (uint32_t)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            v |= (uint32_t)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            v |= (uint32_t)(c - 'A' + 10);
        } else {
            return -1;
        }
    }
    *out = v;
    return 0;
}

/* A \uXXXX escape (and its low surrogate) at pos (the backslash); advances pos past it. */
static int lex_unicode_escape(struct lexer *lx)
{
    size_t at = lx->pos;
    uint32_t cp = 0;
    uint32_t lo = 0;

    if (lx->len - at < 6) {
        return lex_truncated(lx);
    }
    if (hex4(lx->s + at + 2, &cp) != 0) {
        return lex_fail(lx, at, "invalid \\u escape (four hex digits expected)");
    }
    if (cp >= 0xDC00 && cp <= 0xDFFF) {
        return lex_fail(lx, at, "lone surrogate \\u%04X in string", (unsigned)cp);
    }
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (lx->len - at < 12 || lx->s[at + 6] != '\\' || lx->s[at + 7] != 'u' ||
            hex4(lx->s + at + 8, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF) {
            return lex_fail(lx, at, "lone surrogate \\u%04X in string", (unsigned)cp);
        }
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        lx->pos += 6;
    }
    if (msg_utf8_is_control(cp)) {
        return lex_fail(lx, at, "control character U+%04X in string", (unsigned)cp);
    }
    if (msg_utf8_is_nonchar(cp)) {
        return lex_fail(lx, at, "Unicode noncharacter U+%04X in string", (unsigned)cp);
    }
    lx->pos += 6;
    return MSG_OK;
}

/* A string at pos (the opening quote); advances pos past the closing quote. */
static int lex_string(struct lexer *lx)
{
    const unsigned char *s = lx->s;
    size_t len = lx->len;
    size_t pos = lx->pos + 1;
    int rc;

    for (;;) {
        unsigned char c;

        /* fast path: printable ASCII other than '"' and '\\' */
        while (pos < len && s[pos] >= 0x20 && s[pos] < 0x7f && s[pos] != '"' && s[pos] != '\\') {
            pos++;
        }
        if (pos >= len) {
            lx->pos = pos;
            return lex_truncated(lx);
        }
        c = s[pos];
        if (c == '"') {
            lx->pos = pos + 1;
            return MSG_OK;
        }
        if (c == '\\') {
            unsigned char e;

            if (pos + 1 >= len) {
                return lex_truncated(lx);
            }
            e = s[pos + 1];
            if (e == '"' || e == '\\' || e == '/') {
                pos += 2;
                continue;
            }
            if (e == 'u') {
                lx->pos = pos;
                rc = lex_unicode_escape(lx);
                if (rc != MSG_OK) {
                    return rc;
                }
                pos = lx->pos;
                continue;
            }
            if (e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
                return lex_fail(lx, pos, "control character (escaped as \\%c) in string", e);
            }
            return lex_fail(lx, pos, "invalid escape '\\%c' in string",
                            e >= 0x20 && e < 0x7f ? e : '?');
        }
        if (c < 0x20 || c == 0x7f) {
            return lex_fail(lx, pos, "control character 0x%02X in string", c);
        }
        {
            uint32_t cp = 0;
            const char *why = NULL;
            size_t n = msg_utf8_decode(s + pos, len - pos, &cp, &why);

            if (n == 0) {
                return lex_fail(lx, pos, "invalid UTF-8 (%s) in string", why);
            }
            if (msg_utf8_is_nonchar(cp)) {
                return lex_fail(lx, pos, "Unicode noncharacter U+%04X in string", (unsigned)cp);
            }
            pos += n;
        }
    }
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* A number at pos; advances pos past it. The grammar of RFC 8259 section 6, plus: at most
 * MSG_JSON_NUMBER_MAX characters, and no magnitude of 10^309 or more. */
static int lex_number(struct lexer *lx)
{
    const unsigned char *s = lx->s;
    size_t len = lx->len;
    size_t start = lx->pos;
    size_t pos = start;
    long int_digits = 0;       /* significant digits before the point */
    long frac_zeros = 0;       /* zeros after the point before the first non-zero digit */
    bool nonzero = false;
    long exp = 0;
    bool exp_neg = false;
    char q[MSG_QUOTE_MAX];

    if (s[pos] == '-') {
        pos++;
        if (pos >= len) {
            return lex_truncated(lx);
        }
        if (!is_digit(s[pos])) {
            return lex_fail(lx, start, "invalid number '%s' (digit expected after '-')",
                            word_at(lx, start, q));
        }
    }
    if (s[pos] == '0') {
        pos++;
        if (pos < len && is_digit(s[pos])) {
            return lex_fail(lx, start, "leading zero in number '%s'", word_at(lx, start, q));
        }
    } else {
        while (pos < len && is_digit(s[pos])) {
            pos++;
            int_digits++;
        }
        nonzero = true;
    }
    if (pos < len && s[pos] == '.') {
        pos++;
        if (pos >= len) {
            return lex_truncated(lx);
        }
        if (!is_digit(s[pos])) {
            return lex_fail(lx, start, "invalid number '%s' (digit expected after '.')",
                            word_at(lx, start, q));
        }
        while (pos < len && is_digit(s[pos])) {
            if (!nonzero && s[pos] == '0') {
                frac_zeros++;
            } else {
                nonzero = true;
            }
            pos++;
        }
    }
    if (pos < len && (s[pos] == 'e' || s[pos] == 'E')) {
        pos++;
        if (pos < len && (s[pos] == '+' || s[pos] == '-')) {
            exp_neg = s[pos] == '-';
            pos++;
        }
        if (pos >= len) {
            return lex_truncated(lx);
        }
        if (!is_digit(s[pos])) {
            return lex_fail(lx, start, "invalid number '%s' (digit expected in exponent)",
                            word_at(lx, start, q));
        }
        while (pos < len && is_digit(s[pos])) {
            if (exp < 100000) {
                exp = exp * 10 + (s[pos] - '0');
            }
            pos++;
        }
    }
    if (pos - start > MSG_JSON_NUMBER_MAX) {
        return lex_fail(lx, start, "number of %zu characters (at most %d)", pos - start,
                        MSG_JSON_NUMBER_MAX);
    }
    /* The value lies in [10^(e10-1), 10^e10): certainly infinite as a double from e10 = 310.
     * The one decade in between (e10 = 309) is left to the tree walk's isfinite(). */
    if (nonzero) {
        long e10 = (int_digits > 0 ? int_digits : -frac_zeros) + (exp_neg ? -exp : exp);

        if (e10 > DOUBLE_MAX_EXP10) {
            return lex_fail(lx, start, "number '%s' is out of the range of a double",
                            msg_quote((const char *)s + start, pos - start, q));
        }
    }
    lx->pos = pos;
    return MSG_OK;
}

static int lex_value(struct lexer *lx);

static int open_container(struct lexer *lx, bool object)
{
    struct frame *f;

    if (lx->depth >= lx->maxdepth) {
        return lex_fail(lx, lx->pos, "nesting deeper than %d levels", lx->maxdepth);
    }
    f = &lx->fr[lx->depth++];
    f->key = NULL;
    f->keylen = 0;
    f->index = 0;
    f->object = object;
    lx->pos++;
    return MSG_OK;
}

static int lex_object(struct lexer *lx)
{
    struct frame *f;
    size_t key_start;
    int rc;

    rc = open_container(lx, true);
    if (rc != MSG_OK) {
        return rc;
    }
    f = &lx->fr[lx->depth - 1];
    skip_ws(lx);
    if (lx->pos < lx->len && lx->s[lx->pos] == '}') {
        lx->pos++;
        lx->depth--;
        return MSG_OK;
    }
    for (;;) {
        f->key = NULL;
        if (lx->pos >= lx->len) {
            return lex_truncated(lx);
        }
        if (lx->s[lx->pos] != '"') {
            if (lx->s[lx->pos] == '}' && f->index > 0) {
                return lex_fail(lx, lx->pos, "trailing comma in object");
            }
            return lex_fail(lx, lx->pos, "member name in double quotes expected");
        }
        key_start = lx->pos;
        rc = lex_string(lx);
        if (rc != MSG_OK) {
            return rc;
        }
        f->key = lx->s + key_start + 1;
        f->keylen = lx->pos - key_start - 2;
        skip_ws(lx);
        if (lx->pos >= lx->len) {
            return lex_truncated(lx);
        }
        if (lx->s[lx->pos] != ':') {
            return lex_fail(lx, lx->pos, "':' expected after member name");
        }
        lx->pos++;
        rc = lex_value(lx);
        if (rc != MSG_OK) {
            return rc;
        }
        f->index++;
        skip_ws(lx);
        if (lx->pos >= lx->len) {
            return lex_truncated(lx);
        }
        if (lx->s[lx->pos] == '}') {
            lx->pos++;
            lx->depth--;
            return MSG_OK;
        }
        if (lx->s[lx->pos] != ',') {
            return lex_fail(lx, lx->pos, "',' or '}' expected after member");
        }
        lx->pos++;
        skip_ws(lx);
    }
}

static int lex_array(struct lexer *lx)
{
    struct frame *f;
    int rc;

    rc = open_container(lx, false);
    if (rc != MSG_OK) {
        return rc;
    }
    f = &lx->fr[lx->depth - 1];
    skip_ws(lx);
    if (lx->pos < lx->len && lx->s[lx->pos] == ']') {
        lx->pos++;
        lx->depth--;
        return MSG_OK;
    }
    for (;;) {
        skip_ws(lx);
        if (lx->pos < lx->len && lx->s[lx->pos] == ']' && f->index > 0) {
            return lex_fail(lx, lx->pos, "trailing comma in array");
        }
        rc = lex_value(lx);
        if (rc != MSG_OK) {
            return rc;
        }
        skip_ws(lx);
        if (lx->pos >= lx->len) {
            return lex_truncated(lx);
        }
        if (lx->s[lx->pos] == ']') {
            lx->pos++;
            lx->depth--;
            return MSG_OK;
        }
        if (lx->s[lx->pos] != ',') {
            return lex_fail(lx, lx->pos, "',' or ']' expected after item");
        }
        lx->pos++;
        f->index++;
    }
}

static int lex_literal(struct lexer *lx)
{
    static const char *const words[] = {"true", "false", "null"};
    size_t end = lx->pos;
    char q[MSG_QUOTE_MAX];

    while (end < lx->len && is_word(lx->s[end]) && end - lx->pos < 8) {
        end++;
    }
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        size_t n = strlen(words[i]);

        if (end - lx->pos == n && memcmp(lx->s + lx->pos, words[i], n) == 0) {
            lx->pos = end;
            return MSG_OK;
        }
    }
    return lex_fail(lx, lx->pos, "invalid literal '%s'", word_at(lx, lx->pos, q));
}

static int lex_value(struct lexer *lx)
{
    unsigned char c;
    char q[MSG_QUOTE_MAX];

    skip_ws(lx);
    if (lx->pos >= lx->len) {
        return lex_truncated(lx);
    }
    c = lx->s[lx->pos];
    switch (c) {
    case '{':
        return lex_object(lx);
    case '[':
        return lex_array(lx);
    case '"':
        return lex_string(lx);
    case '-':
        return lex_number(lx);
    default:
        break;
    }
    if (is_digit(c)) {
        return lex_number(lx);
    }
    if (c == '+') {
        return lex_fail(lx, lx->pos, "invalid number '%s' (leading '+')", word_at(lx, lx->pos, q));
    }
    if (c == '.') {
        return lex_fail(lx, lx->pos, "invalid number '%s' (digit expected before '.')",
                        word_at(lx, lx->pos, q));
    }
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
        return lex_literal(lx);
    }
    if (c >= 0x20 && c < 0x7f) {
        return lex_fail(lx, lx->pos, "unexpected character '%c'", c);
    }
    return lex_fail(lx, lx->pos, "unexpected byte 0x%02X", c);
}

int msg_json_check(const char *buf, size_t len, size_t maxlen, int maxdepth, char *err,
                   size_t errlen)
{
    struct lexer lx;
    int rc;

    if (maxdepth < 1 || maxdepth > MSG_JSON_DEPTH_MAX) {
        snprintf(err, errlen, "maxdepth %d outside 1..%d", maxdepth, MSG_JSON_DEPTH_MAX);
        return MSG_ERR_INVAL;
    }
    if (len > maxlen) {
        snprintf(err, errlen, "payload of %zu bytes exceeds %zu", len, maxlen);
        return MSG_ERR_JSON;
    }
    if (len == 0) {
        snprintf(err, errlen, "empty payload (truncated?)");
        return MSG_ERR_JSON;
    }
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) {
        snprintf(err, errlen, "byte 0: byte-order mark (not allowed in I-JSON)");
        return MSG_ERR_JSON;
    }
    lx.s = (const unsigned char *)buf;
    lx.len = len;
    lx.pos = 0;
    lx.depth = 0;
    lx.maxdepth = maxdepth;
    lx.err = err;
    lx.errlen = errlen;
    rc = lex_value(&lx);
    if (rc != MSG_OK) {
        return rc;
    }
    skip_ws(&lx);
    if (lx.pos < lx.len) {
        return lex_fail(&lx, lx.pos, "data after the end of the JSON value (trailing garbage)");
    }
    return MSG_OK;
}

/* ---- the walk over cJSON's tree ---- */

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first name that appears twice among obj's members, or NULL. */
static const char *find_duplicate(const cJSON *obj, int *rc)
{
    const char *small[SMALL_OBJECT];
    const char **names = small;
    const char *dup = NULL;
    size_t n = 0;

    for (const cJSON *c = obj->child; c != NULL; c = c->next) {
        n++;
    }
    if (n > SMALL_OBJECT) {
        names = malloc(n * sizeof(*names));
        if (names == NULL) {
            *rc = MSG_ERR_NOMEM;
            return NULL;
        }
    }
    n = 0;
    for (const cJSON *c = obj->child; c != NULL; c = c->next) {
        names[n++] = c->string != NULL ? c->string : "";
    }
    if (n <= SMALL_OBJECT) {
        for (size_t i = 0; i < n && dup == NULL; i++) {
            for (size_t j = i + 1; j < n; j++) {
                if (strcmp(names[i], names[j]) == 0) {
                    dup = names[i];
                    break;
                }
            }
        }
    } else {
        qsort(names, n, sizeof(*names), cmp_names);
        for (size_t i = 1; i < n; i++) {
            if (strcmp(names[i - 1], names[i]) == 0) {
                dup = names[i];
                break;
            }
        }
    }
    if (names != small) {
        free(names);
    }
    return dup;
}

static int walk(const cJSON *item, const struct msg_path *path, char *err, size_t errlen)
{
    char where[MSG_PATH_TEXT_MAX];
    char q[MSG_QUOTE_MAX];
    struct msg_path child;
    size_t i = 0;
    int rc = MSG_OK;

    if (cJSON_IsNumber(item) && !isfinite(item->valuedouble)) {
        msg_path_format(path, where, sizeof(where));
        snprintf(err, errlen, "%s%snumber is out of the range of a double", where,
                 where[0] != '\0' ? ": " : "");
        return MSG_ERR_JSON;
    }
    if (cJSON_IsObject(item)) {
        const char *dup = find_duplicate(item, &rc);

        if (rc != MSG_OK) {
            snprintf(err, errlen, "out of memory checking member names");
            return rc;
        }
        if (dup != NULL) {
            msg_path_format(path, where, sizeof(where));
            snprintf(err, errlen, "%s%sduplicate member name '%s'", where,
                     where[0] != '\0' ? ": " : "", msg_quote(dup, strlen(dup), q));
            return MSG_ERR_JSON;
        }
    }
    if (!cJSON_IsObject(item) && !cJSON_IsArray(item)) {
        return MSG_OK;
    }
    child.up = path;
    for (const cJSON *c = item->child; c != NULL; c = c->next, i++) {
        child.name = cJSON_IsObject(item) ? (c->string != NULL ? c->string : "") : NULL;
        child.index = i;
        rc = walk(c, &child, err, errlen);
        if (rc != MSG_OK) {
            return rc;
        }
    }
    return MSG_OK;
}

int msg_json_parse(const char *buf, size_t len, size_t maxlen, int maxdepth, cJSON **out,
                   char *err, size_t errlen)
{
    cJSON *doc = NULL;
    const char *end = NULL;
    int rc;

    *out = NULL;
    rc = msg_json_check(buf, len, maxlen, maxdepth, err, errlen);
    if (rc != MSG_OK) {
        goto out;
    }
    doc = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    if (doc == NULL) {
        /* The lexer accepted it, so cJSON can only have failed to allocate. */
        snprintf(err, errlen, "cJSON could not build the tree (out of memory?) at byte %zu",
                 end != NULL ? (size_t)(end - buf) : (size_t)0);
        rc = MSG_ERR_NOMEM;
        goto out;
    }
    rc = walk(doc, NULL, err, errlen);
    if (rc != MSG_OK) {
        goto out;
    }
    *out = doc;
    doc = NULL;
out:
    cJSON_Delete(doc);
    return rc;
}

const char *msg_json_type_name(const cJSON *item)
{
    if (item == NULL || cJSON_IsInvalid(item)) {
        return "nothing";
    }
    if (cJSON_IsBool(item)) {
        return "boolean";
    }
    if (cJSON_IsNull(item)) {
        return "null";
    }
    if (cJSON_IsNumber(item)) {
        return "number";
    }
    if (cJSON_IsString(item)) {
        return "string";
    }
    if (cJSON_IsArray(item)) {
        return "array";
    }
    if (cJSON_IsObject(item)) {
        return "object";
    }
    return "raw";
}
