/* msg_write.c -- bounded text writer, number formatting, quoting: see msg_write.h. */
#include "msg_write.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg_err.h"
#include "msg_time.h"

void msg_buf_init(struct msg_buf *b, char *p, size_t cap)
{
    b->p = p;
    b->cap = cap;
    b->len = 0;
    b->full = cap == 0;
    if (cap > 0) {
        p[0] = '\0';
    }
}

void msg_buf_raw(struct msg_buf *b, const char *s, size_t n)
{
    if (b->cap == 0) {
        return;
    }
    if (n >= b->cap - b->len) {   /* keep one byte for the NUL */
        n = b->cap - 1 - b->len;
        b->full = true;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void msg_buf_str(struct msg_buf *b, const char *s)
{
    msg_buf_raw(b, s, strlen(s));
}

void msg_buf_u64(struct msg_buf *b, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof(tmp);

    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    msg_buf_raw(b, tmp + i, sizeof(tmp) - i);
}

void msg_buf_i64(struct msg_buf *b, int64_t v)
{
    if (v < 0) {
        msg_buf_raw(b, "-", 1);
        msg_buf_u64(b, (uint64_t)0 - (uint64_t)v);
    } else {
        msg_buf_u64(b, (uint64_t)v);
    }
}

/* printf's %g writes the locale's decimal point; JSON wants '.'. The output of %g holds only
 * digits, '-', '+', 'e' and the decimal point, so any other run of bytes is the decimal point. */
static void fix_decimal_point(char *s)
{
    char *w = s;
    bool in_point = false;

    for (const char *r = s; *r != '\0'; r++) {
        bool keep = (*r >= '0' && *r <= '9') || *r == '-' || *r == '+' || *r == 'e';

        if (keep) {
            *w++ = *r;
            in_point = false;
        } else if (!in_point) {
            *w++ = '.';
            in_point = true;
        }
    }
    *w = '\0';
}

const char *msg_num_format(double v, bool shortest, char out[MSG_NUM_MAX])
{
    if (v == 0) {
        v = 0;   /* -0 and 0 are the same number: spell both "0" */
    }
    if (shortest) {
        for (int prec = 15; prec < 17; prec++) {
            snprintf(out, MSG_NUM_MAX, "%.*g", prec, v);
            fix_decimal_point(out);
            if (strtod(out, NULL) == v) {   /* a locale without '.' just gets 17 digits */
                return out;
            }
        }
    }
    snprintf(out, MSG_NUM_MAX, "%.17g", v);
    fix_decimal_point(out);
    return out;
}

void msg_buf_num(struct msg_buf *b, double v, bool shortest)
{
    char tmp[MSG_NUM_MAX];

    msg_buf_str(b, msg_num_format(v, shortest, tmp));
}

void msg_buf_json_str(struct msg_buf *b, const char *s)
{
    const char *run = s;

    msg_buf_raw(b, "\"", 1);
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\') {
            msg_buf_raw(b, run, (size_t)(s - run));
            msg_buf_raw(b, "\\", 1);
            run = s;   /* the quote or backslash itself goes out with the next run */
        }
    }
    msg_buf_raw(b, run, (size_t)(s - run));
    msg_buf_raw(b, "\"", 1);
}

void msg_buf_json_key(struct msg_buf *b, bool *first, const char *name)
{
    if (!*first) {
        msg_buf_raw(b, ",", 1);
    }
    *first = false;
    msg_buf_json_str(b, name);
    msg_buf_raw(b, ":", 1);
}

void msg_buf_json_ts(struct msg_buf *b, int64_t ms)
{
    char ts[MSG_TIME_LEN + 1];

    msg_time_format(ms, ts);
    msg_buf_raw(b, "\"", 1);
    msg_buf_raw(b, ts, MSG_TIME_LEN);
    msg_buf_raw(b, "\"", 1);
}

int msg_buf_finish(struct msg_buf *b, size_t *outlen)
{
    if (b->full) {
        if (b->cap > 0) {
            b->p[0] = '\0';
        }
        return MSG_ERR_FULL;
    }
    if (outlen != NULL) {
        *outlen = b->len;
    }
    return MSG_OK;
}

const char *msg_quote(const char *s, size_t len, char out[MSG_QUOTE_MAX])
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        size_t need = (c >= 0x20 && c < 0x7f) ? 1 : 4;

        if (o + need > MSG_QUOTE_MAX - 4) {   /* room for "..." and the NUL */
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (need == 1) {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return out;
}

void msg_path_format(const struct msg_path *p, char *out, size_t outlen)
{
    const struct msg_path *chain[40];   /* deeper levels than this are left out */
    struct msg_buf b;
    size_t n = 0;

    msg_buf_init(&b, out, outlen);
    for (; p != NULL && n < sizeof(chain) / sizeof(chain[0]); p = p->up) {
        chain[n++] = p;
    }
    while (n > 0) {
        n--;
        msg_path_append(&b, chain[n]->name, chain[n]->index);
    }
}

void msg_path_append(struct msg_buf *b, const char *name, size_t index)
{
    char q[MSG_QUOTE_MAX];

    if (name != NULL) {
        if (b->len > 0) {
            msg_buf_raw(b, ".", 1);
        }
        msg_buf_str(b, msg_quote(name, strlen(name), q));
    } else {
        msg_buf_raw(b, "[", 1);
        msg_buf_u64(b, index);
        msg_buf_raw(b, "]", 1);
    }
}
