/* msg_write.h -- internal to msg/: a bounded text writer for the JSON payloads and canonical
 * forms that msg/ produces, locale-proof number formatting, and quoting of input that an error
 * message echoes.
 *
 * Not for: programs outside msg/ (use the encoders of msg_event.h, msg_ack.h, ...). The writer
 * never allocates: it writes into the caller's buffer and remembers when it ran out of room. */
#ifndef MSG_WRITE_H
#define MSG_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MSG_NUM_MAX 32     /* bytes of a formatted number, NUL included */
#define MSG_QUOTE_MAX 72   /* bytes of a quoted excerpt, NUL included: a whole id fits */

/* p always holds a NUL-terminated text (once cap > 0): what was written, cut where it no
 * longer fitted. Encoders call msg_buf_finish(), which refuses a cut text; error messages may
 * use the cut text as it is. */
struct msg_buf {
    char *p;        /* borrowed from the caller */
    size_t cap;     /* bytes at p, NUL included */
    size_t len;     /* bytes written so far (without NUL) */
    bool full;      /* something did not fit: the text is incomplete */
};

void msg_buf_init(struct msg_buf *b, char *p, size_t cap);
void msg_buf_raw(struct msg_buf *b, const char *s, size_t n);
void msg_buf_str(struct msg_buf *b, const char *s);
void msg_buf_u64(struct msg_buf *b, uint64_t v);
void msg_buf_i64(struct msg_buf *b, int64_t v);
/* shortest: the fewest digits that read back to v (for payloads); else always 17 significant
 * digits (for canonical forms, where the spelling must not depend on anything but v). */
void msg_buf_num(struct msg_buf *b, double v, bool shortest);
/* A JSON string: quotes, and escapes for '"' and '\\' (strings in msg/ never hold controls). */
void msg_buf_json_str(struct msg_buf *b, const char *s);
/* `"name":`, preceded by ',' unless *first (which it then clears). */
void msg_buf_json_key(struct msg_buf *b, bool *first, const char *name);
/* A timestamp in quotes. */
void msg_buf_json_ts(struct msg_buf *b, int64_t ms);
/* Sets *outlen (if not NULL) to the length and returns MSG_OK; or, if something did not fit,
 * empties the text and returns MSG_ERR_FULL. */
int msg_buf_finish(struct msg_buf *b, size_t *outlen);

/* Where a value sits in a document, as a chain from the innermost level outwards; lives on the
 * stack of the functions that walk the document, and is only formatted when there is an
 * error to report. */
struct msg_path {
    const struct msg_path *up;   /* enclosing level, or NULL at the top */
    const char *name;            /* member name (NUL-terminated), or NULL for an array item */
    size_t index;                /* array items */
};

#define MSG_PATH_TEXT_MAX 96     /* bytes of a formatted path, NUL included */

/* "containers[2].positive" (names quoted as by msg_quote); "" for NULL. Cut to outlen. */
void msg_path_format(const struct msg_path *p, char *out, size_t outlen);

/* Appends one level to a path being written: ".name" (no dot at the start) or "[index]". */
void msg_path_append(struct msg_buf *b, const char *name, size_t index);

/* Formats a finite double as JSON would spell it ("650", "12.5", "1e+20"), with '.' whatever
 * the locale. Returns out. */
const char *msg_num_format(double v, bool shortest, char out[MSG_NUM_MAX]);

/* An excerpt of s (len bytes, any content) that is safe to put into err: printable ASCII kept,
 * other bytes as \xNN, cut with "..." to fit MSG_QUOTE_MAX. Returns out. */
const char *msg_quote(const char *s, size_t len, char out[MSG_QUOTE_MAX]);

#endif
