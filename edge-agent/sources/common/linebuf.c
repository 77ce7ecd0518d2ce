/* linebuf.c -- lines out of a byte stream (see linebuf.h). */
#include "linebuf.h"

#include <string.h>

void linebuf_init(struct linebuf *lb)
{
    lb->len = 0;
    lb->skipping = false;
    lb->buf[0] = '\0';
}

enum linebuf_result linebuf_next(struct linebuf *lb, const char *data, size_t n, size_t *pos,
                                 const char **line, size_t *len)
{
    while (*pos < n) {
        const char *start = data + *pos;
        size_t avail = n - *pos;
        const char *nl = memchr(start, '\n', avail);
        size_t take = nl != NULL ? (size_t)(nl - start) : avail;

        if (lb->skipping) {
            *pos += nl != NULL ? take + 1 : take;
            if (nl != NULL) {
                lb->skipping = false;
            }
            continue;
        }
        if (lb->len + take > LINEBUF_LINE_MAX) {
            /* the rest of this line is skipped; its newline (if here) ends the skipping */
            lb->len = 0;
            lb->skipping = nl == NULL;
            *pos += nl != NULL ? take + 1 : take;
            return LINEBUF_TOO_LONG;
        }
        memcpy(lb->buf + lb->len, start, take);
        lb->len += take;
        *pos += take;
        if (nl == NULL) {
            return LINEBUF_NONE;
        }
        (*pos)++;   /* the newline */
        if (lb->len > 0 && lb->buf[lb->len - 1] == '\r') {
            lb->len--;
        }
        lb->buf[lb->len] = '\0';
        *line = lb->buf;
        *len = lb->len;
        lb->len = 0;
        return LINEBUF_LINE;
    }
    return LINEBUF_NONE;
}

bool linebuf_flush(struct linebuf *lb, const char **line, size_t *len)
{
    bool pending = lb->len > 0 && !lb->skipping;

    if (pending) {
        if (lb->buf[lb->len - 1] == '\r') {
            lb->len--;
        }
        lb->buf[lb->len] = '\0';
        *line = lb->buf;
        *len = lb->len;
    }
    lb->len = 0;
    lb->skipping = false;
    return pending;
}
