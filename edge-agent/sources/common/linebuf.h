/* linebuf.h -- splits a byte stream into lines, for the agent's line-oriented sources (a serial
 * distance sensor, a command's output, a camera's pipe, socket or file, the larva socket).
 *
 * A line ends at '\n'; a '\r' before it is removed. A line longer than LINEBUF_LINE_MAX bytes
 * is reported once as too long and the rest of it is skipped up to the next newline, so that a
 * runaway writer costs one counted error, never a stall, a crash or unbounded memory. The
 * bytes themselves are not checked here (UTF-8 and content are the parsers' business).
 *
 * Not for: reading (callers do their own non-blocking read(2)). No allocation, no I/O. */
#ifndef LINEBUF_H
#define LINEBUF_H

#include <stdbool.h>
#include <stddef.h>

#define LINEBUF_LINE_MAX 8192   /* bytes of a line without its newline: a whole payload fits */

enum linebuf_result {
    LINEBUF_NONE,       /* data[*pos..n) consumed, no complete line */
    LINEBUF_LINE,       /* *line, *len: one line without its newline */
    LINEBUF_TOO_LONG,   /* a line went over LINEBUF_LINE_MAX; its rest will be skipped */
};

struct linebuf {
    char buf[LINEBUF_LINE_MAX + 1];
    size_t len;          /* bytes of the pending partial line */
    bool skipping;       /* inside a line that was too long, until its newline */
};

void linebuf_init(struct linebuf *lb);

/* Consumes bytes from data (n bytes, borrowed) starting at *pos, until a line is complete or
 * found too long, and advances *pos. For LINEBUF_LINE, *line (borrowed from lb, NUL-terminated,
 * valid until the next call) and *len describe the line. Call again until LINEBUF_NONE. */
enum linebuf_result linebuf_next(struct linebuf *lb, const char *data, size_t n, size_t *pos,
                                 const char **line, size_t *len);

/* At the end of the input: returns true if a partial line (no newline yet) was pending, with
 * *line and *len as above, and empties lb. A skipped too-long line is not returned again. */
bool linebuf_flush(struct linebuf *lb, const char **line, size_t *len);

#endif
