/* msg_json.c -- strict I-JSON lexer, then cJSON, then a duplicate/finite walk: see msg_json.h.
 * msg_json_doc_parse builds the tree in the lexer's own pass instead, into struct msg_json_doc:
 * the same nodes cJSON 1.7.15 would make (parse_value, parse_string, parse_number and the
 * linking of parse_array/parse_object), with numbers read as cJSON reads them (strtod on the
 * token, with the locale's decimal point) except where a shorter exact path gives the same
 * double (below). tests/fuzz/fuzz_msg_json_doc.c compares the two trees node by node.
 *
 * The lexer is recursive descent over the bytes. Its recursion is bounded by maxdepth
 * (<= MSG_JSON_DEPTH_MAX), which it checks before it descends, so "[[[[..." costs nothing. It
 * keeps one frame per open container (the current member name or item index) only to say
 * where an error is. Everything it accepts, cJSON 1.7.15 parses to the same values: the lexer
 * refuses the inputs where cJSON would differ (NUL escapes, numbers longer than cJSON's 63-byte
 * copy, a BOM that cJSON would skip). */
#include "msg_json.h"

#include <float.h>
#include <limits.h>
#include <locale.h>
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
    uint64_t names[4];          /* objects, when building: a Bloom filter of the member names */
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
    struct msg_json_doc *doc;   /* where the tree is built, or NULL to check only */
    bool full;                  /* doc ran out of room: the check goes on, the building stops */
    bool escaped;               /* the string just read holds a backslash escape */
    bool suspect;               /* the tree built holds a duplicate name or a non-finite number */
    uint64_t num_m;             /* the number just read: its digits as an integer (mod 2^64), */
    int num_digits;             /* how many digits that is, */
    long num_e10;               /* the power of ten to scale it by, */
    bool num_neg;               /* and its sign */
    cJSON *made;                /* node of the value just read (NULL when not building) */
};

/* Bytes that a string holds as they are: printable ASCII but '"' and '\\'. */
static const unsigned char plain_byte[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,
};

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* ---- building the tree in struct msg_json_doc ---- */

static cJSON *node_new(struct lexer *lx, int type)
{
    cJSON *n;

    if (lx->doc == NULL || lx->full) {
        return NULL;
    }
    if (lx->doc->nodes_used >= MSG_JSON_DOC_NODES) {
        lx->full = true;
        return NULL;
    }
    n = &lx->doc->nodes[lx->doc->nodes_used++];
    memset(n, 0, sizeof(*n));
    n->type = type;
    return n;
}

static void put_utf8(char *out, size_t *o, uint32_t cp)
{
    if (cp < 0x80) {
        out[(*o)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*o)++] = (char)(0xC0 | (cp >> 6));
        out[(*o)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out[(*o)++] = (char)(0xE0 | (cp >> 12));
        out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*o)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        out[(*o)++] = (char)(0xF0 | (cp >> 18));
        out[(*o)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*o)++] = (char)(0x80 | (cp & 0x3F));
    }
}

static int hex4(const unsigned char *p, uint32_t *out);

/* The decoded text of the string whose raw bytes (between the quotes, already checked by
 * lex_string) are s[0..n), as a NUL-terminated copy in doc's text; NULL when not building or
 * out of room. Decoding never lengthens: an escape gives at most as many bytes as it spells. */
static char *text_new(struct lexer *lx, const unsigned char *s, size_t n, size_t *outlen)
{
    char *out;
    size_t o = 0;

    if (lx->doc == NULL || lx->full) {
        return NULL;
    }
    if (MSG_JSON_DOC_TEXT - lx->doc->text_used < n + 1) {
        lx->full = true;
        return NULL;
    }
    out = lx->doc->text + lx->doc->text_used;
    if (!lx->escaped) {
        memcpy(out, s, n);
        o = n;
    } else {
        for (size_t i = 0; i < n;) {
            uint32_t cp = 0;
            uint32_t lo = 0;

            if (s[i] != '\\') {
                out[o++] = (char)s[i++];
                continue;
            }
            if (s[i + 1] != 'u') {
                out[o++] = (char)s[i + 1];   /* '"', '\\' or '/': lex_string allows no other */
                i += 2;
                continue;
            }
            (void)hex4(s + i + 2, &cp);
            i += 6;
            if (cp >= 0xD800 && cp <= 0xDBFF) {   /* lex_string saw its low half follow */
                (void)hex4(s + i + 2, &lo);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            }
            put_utf8(out, &o, cp);
        }
    }
    out[o] = '\0';
    lx->doc->text_used += o + 1;
    *outlen = o;
    return out;
}

/* The double of the number token s[0..n) that lex_number accepted, as cJSON 1.7.15 reads it:
 * strtod on a copy of the token with '.' replaced by the locale's decimal point. When its
 * digits make an integer m of at most 15 digits (so m < 2^53) and the exponent is within
 * 10^-22..10^22, both m and the power of ten are exact doubles and one IEEE multiplication or
 * division rounds correctly, so the result is strtod's to the bit (Clinger's fast path); that
 * needs double arithmetic without excess precision (FLT_EVAL_METHOD 0, as on x86-64 and
 * arm64). lex_number has left the digits, their count and the exponent in lx. */
static double number_value(const struct lexer *lx, const unsigned char *s, size_t n)
{
    static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    char tmp[MSG_JSON_NUMBER_MAX + 1];
    const char *point = NULL;

#if FLT_EVAL_METHOD == 0
    if (lx->num_digits <= 15 && lx->num_e10 >= -22 && lx->num_e10 <= 22) {
        double d = (double)lx->num_m;

        d = lx->num_e10 < 0 ? d / pow10[-lx->num_e10] : d * pow10[lx->num_e10];
        return lx->num_neg ? -d : d;
    }
#else
    (void)lx;
    (void)pow10;
#endif
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    point = localeconv()->decimal_point;
    for (size_t k = 0; k < n; k++) {
        if (tmp[k] == '.') {
            tmp[k] = point != NULL && point[0] != '\0' ? point[0] : '.';
        }
    }
    return strtod(tmp, NULL);
}

static void number_node(struct lexer *lx, size_t start, size_t end)
{
    cJSON *n = node_new(lx, cJSON_Number);

    lx->made = n;
    if (n == NULL) {
        return;
    }
    n->valuedouble = number_value(lx, lx->s + start, end - start);
    if (!isfinite(n->valuedouble)) {
        lx->suspect = true;   /* the walk names it */
    }
    if (n->valuedouble >= INT_MAX) {
        n->valueint = INT_MAX;
    } else if (n->valuedouble <= (double)INT_MIN) {
        n->valueint = INT_MIN;
    } else {
        n->valueint = (int)n->valuedouble;
    }
}

/* Records the hash of child's member name and whether an earlier member of obj has the same
 * name (then the walk finds and names the duplicate, as for cJSON's tree). The frame's filter
 * of 256 bits says at once that most names are new; only the others are compared with every
 * earlier member (hash, then bytes). */
static void note_name(struct lexer *lx, struct frame *f, const cJSON *obj, const cJSON *child,
                      size_t len)
{
    const unsigned char *p = (const unsigned char *)child->string;
    uint32_t h = (uint32_t)len;
    uint64_t bit;

    /* a cheap hash (length, first, middle and last bytes, mixed): a collision costs only a
     * comparison with the earlier members, never a wrong answer */
    if (len > 0) {
        h = h * 31u + p[0];
        h = h * 31u + p[len / 2];
        h = h * 31u + p[len - 1];
    }
    h *= 2654435761u;
    lx->doc->name_hash[child - lx->doc->nodes] = h;
    bit = (uint64_t)1 << ((h >> 24) & 63);
    if ((f->names[(h >> 30) & 3] & bit) == 0) {
        f->names[(h >> 30) & 3] |= bit;
        return;
    }
    for (const cJSON *c = obj->child; c != NULL && !lx->suspect; c = c->next) {
        if (lx->doc->name_hash[c - lx->doc->nodes] == h && strcmp(c->string, child->string) == 0) {
            lx->suspect = true;
        }
    }
}

/* Appends child (NULL when not building) to container c's children; *tail is the last one. */
static void node_link(cJSON *c, cJSON **tail, cJSON *child)
{
    if (c == NULL || child == NULL) {
        return;
    }
    if (*tail == NULL) {
        c->child = child;
    } else {
        (*tail)->next = child;
        child->prev = *tail;
    }
    *tail = child;
}

/* cJSON points the first child's prev at the last child. */
static void node_close(cJSON *c, cJSON *tail)
{
    if (c != NULL && c->child != NULL) {
        c->child->prev = tail;
    }
}

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

static void skip_ws_run(struct lexer *lx)
{
    while (lx->pos < lx->len) {
        unsigned char c = lx->s[lx->pos];

        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            break;
        }
        lx->pos++;
    }
}

/* Compact JSON has no white space between tokens: that case costs one comparison. */
static inline void skip_ws(struct lexer *lx)
{
    if (lx->pos < lx->len && lx->s[lx->pos] > ' ') {
        return;
    }
    skip_ws_run(lx);
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

    lx->escaped = false;
    for (;;) {
        unsigned char c;

        /* fast path: printable ASCII other than '"' and '\\' */
        while (pos < len && plain_byte[s[pos]]) {
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
            lx->escaped = true;
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
    uint64_t m = 0;            /* the digits, for number_value */
    int digits = 0;
    long frac_digits = 0;
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
            m = m * 10 + (uint64_t)(s[pos] - '0');
            pos++;
            int_digits++;
        }
        digits = (int)int_digits;
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
            m = m * 10 + (uint64_t)(s[pos] - '0');
            digits++;
            frac_digits++;
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
    lx->num_m = m;
    lx->num_digits = digits;
    lx->num_e10 = (exp_neg ? -exp : exp) - frac_digits;
    lx->num_neg = s[start] == '-';
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
    memset(f->names, 0, sizeof(f->names));
    lx->pos++;
    return MSG_OK;
}

static int lex_object(struct lexer *lx)
{
    cJSON *obj = node_new(lx, cJSON_Object);
    cJSON *tail = NULL;
    char *key = NULL;
    size_t key_len = 0;
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
        lx->made = obj;
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
        key = text_new(lx, f->key, f->keylen, &key_len);
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
        if (lx->made != NULL) {
            lx->made->string = key;
            note_name(lx, f, obj, lx->made, key_len);
        }
        node_link(obj, &tail, lx->made);
        f->index++;
        skip_ws(lx);
        if (lx->pos >= lx->len) {
            return lex_truncated(lx);
        }
        if (lx->s[lx->pos] == '}') {
            lx->pos++;
            lx->depth--;
            node_close(obj, tail);
            lx->made = obj;
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
    cJSON *arr = node_new(lx, cJSON_Array);
    cJSON *tail = NULL;
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
        lx->made = arr;
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
        node_link(arr, &tail, lx->made);
        skip_ws(lx);
        if (lx->pos >= lx->len) {
            return lex_truncated(lx);
        }
        if (lx->s[lx->pos] == ']') {
            lx->pos++;
            lx->depth--;
            node_close(arr, tail);
            lx->made = arr;
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
    static const int types[] = {cJSON_True, cJSON_False, cJSON_NULL};
    size_t end = lx->pos;
    char q[MSG_QUOTE_MAX];

    while (end < lx->len && is_word(lx->s[end]) && end - lx->pos < 8) {
        end++;
    }
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        size_t n = strlen(words[i]);

        if (end - lx->pos == n && memcmp(lx->s + lx->pos, words[i], n) == 0) {
            lx->pos = end;
            lx->made = node_new(lx, types[i]);
            if (lx->made != NULL && types[i] == cJSON_True) {
                lx->made->valueint = 1;
            }
            return MSG_OK;
        }
    }
    return lex_fail(lx, lx->pos, "invalid literal '%s'", word_at(lx, lx->pos, q));
}

/* A string value: checked, then (when building) a node with its decoded text. */
static int lex_string_value(struct lexer *lx)
{
    size_t start = lx->pos;
    int rc;

    rc = lex_string(lx);
    if (rc != MSG_OK || lx->doc == NULL) {
        return rc;
    }
    lx->made = node_new(lx, cJSON_String);
    if (lx->made != NULL) {
        size_t n = 0;

        lx->made->valuestring = text_new(lx, lx->s + start + 1, lx->pos - start - 2, &n);
        if (lx->made->valuestring == NULL) {
            lx->made = NULL;
        }
    }
    return MSG_OK;
}

static int lex_number_value(struct lexer *lx)
{
    size_t start = lx->pos;
    int rc;

    rc = lex_number(lx);
    if (rc != MSG_OK || lx->doc == NULL) {
        return rc;
    }
    number_node(lx, start, lx->pos);
    return MSG_OK;
}

static int lex_value(struct lexer *lx)
{
    unsigned char c;
    char q[MSG_QUOTE_MAX];

    lx->made = NULL;
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
        return lex_string_value(lx);
    case '-':
        return lex_number_value(lx);
    default:
        break;
    }
    if (is_digit(c)) {
        return lex_number_value(lx);
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

/* The lexer over buf, building into doc when doc is not NULL (*root gets the tree, or NULL if
 * doc was too small; *suspect whether the walk could find something wrong with it). */
static int lex_run(const char *buf, size_t len, size_t maxlen, int maxdepth,
                   struct msg_json_doc *doc, cJSON **root, bool *suspect, char *err,
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
    lx.doc = doc;
    lx.full = false;
    lx.escaped = false;
    lx.suspect = false;
    lx.made = NULL;
    rc = lex_value(&lx);
    if (rc != MSG_OK) {
        return rc;
    }
    skip_ws(&lx);
    if (lx.pos < lx.len) {
        return lex_fail(&lx, lx.pos, "data after the end of the JSON value (trailing garbage)");
    }
    if (root != NULL) {
        *root = lx.full ? NULL : lx.made;
        *suspect = lx.suspect;
    }
    return MSG_OK;
}

int msg_json_check(const char *buf, size_t len, size_t maxlen, int maxdepth, char *err,
                   size_t errlen)
{
    return lex_run(buf, len, maxlen, maxdepth, NULL, NULL, NULL, err, errlen);
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
                if (names[i][0] == names[j][0] && strcmp(names[i], names[j]) == 0) {
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

/* cJSON's tree of buf, which the lexer accepted, checked by the walk (caller frees *out with
 * cJSON_Delete). */
static int cjson_tree(const char *buf, size_t len, cJSON **out, char *err, size_t errlen)
{
    cJSON *doc = NULL;
    const char *end = NULL;
    int rc;

    *out = NULL;
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

int msg_json_parse(const char *buf, size_t len, size_t maxlen, int maxdepth, cJSON **out,
                   char *err, size_t errlen)
{
    int rc;

    *out = NULL;
    rc = msg_json_check(buf, len, maxlen, maxdepth, err, errlen);
    if (rc != MSG_OK) {
        return rc;
    }
    return cjson_tree(buf, len, out, err, errlen);
}

int msg_json_doc_parse(struct msg_json_doc *doc, const char *buf, size_t len, size_t maxlen,
                       int maxdepth, char *err, size_t errlen)
{
    cJSON *root = NULL;
    bool suspect = false;
    int rc;

    doc->root = NULL;
    doc->heap = NULL;
    doc->nodes_used = 0;
    doc->text_used = 0;
    rc = lex_run(buf, len, maxlen, maxdepth, doc, &root, &suspect, err, errlen);
    if (rc != MSG_OK) {
        return rc;
    }
    if (root == NULL) {
        /* more values or text than doc holds: the lexer has checked it, cJSON builds it */
        rc = cjson_tree(buf, len, &doc->heap, err, errlen);
        doc->root = doc->heap;
        return rc;
    }
    /* The walk finds nothing in a tree without a duplicate name or a non-finite number: the
     * lexer looked for both as it built it. Otherwise the walk finds the first in its order
     * and names it in the same words as for cJSON's tree. */
    rc = suspect ? walk(root, NULL, err, errlen) : MSG_OK;
    if (rc == MSG_OK) {
        doc->root = root;
    }
    return rc;
}

void msg_json_doc_release(struct msg_json_doc *doc)
{
    cJSON_Delete(doc->heap);
    doc->heap = NULL;
    doc->root = NULL;
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
