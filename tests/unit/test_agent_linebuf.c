/* test_agent_linebuf.c -- unit tests of edge-agent/linebuf.c: lines out of a byte stream that
 * arrives in arbitrary pieces, CRLF, too-long lines skipped to their newline, a truncated last
 * line. */
#include <stdio.h>
#include <string.h>

#include "linebuf.h"
#include "tinytest.h"

/* Feeds text in pieces of `step` bytes; collects lines as "a|b|" with '!' for a too-long one. */
static void split(const char *text, size_t n, size_t step, char *out, size_t outlen)
{
    static struct linebuf lb;
    size_t used = 0;

    linebuf_init(&lb);
    out[0] = '\0';
    for (size_t off = 0; off < n; off += step) {
        size_t piece = n - off < step ? n - off : step;
        size_t pos = 0;
        const char *line = NULL;
        size_t len = 0;
        enum linebuf_result r;

        for (;;) {
            r = linebuf_next(&lb, text + off, piece, &pos, &line, &len);
            if (r == LINEBUF_NONE) {
                break;
            }
            used += (size_t)snprintf(out + used, outlen - used, "%.*s|",
                                     r == LINEBUF_LINE ? (int)len : 1,
                                     r == LINEBUF_LINE ? line : "!");
        }
    }
    {
        const char *line = NULL;
        size_t len = 0;

        if (linebuf_flush(&lb, &line, &len)) {
            snprintf(out + used, outlen - used, "[%.*s]", (int)len, line);
        }
    }
}

static void test_pieces(void)
{
    const char *text = "12.5\n\r\n13\r\n14";
    char out[256];

    for (size_t step = 1; step <= strlen(text); step++) {
        split(text, strlen(text), step, out, sizeof(out));
        TEST_CHECK(strcmp(out, "12.5||13|[14]") == 0);
        TEST_MSG("step %zu: '%s'", step, out);
    }
}

static void test_too_long_skipped_to_newline(void)
{
    static char text[LINEBUF_LINE_MAX * 3];
    char out[256];
    size_t n = 0;

    memcpy(text, "ok1\n", 4);
    n = 4;
    memset(text + n, 'x', LINEBUF_LINE_MAX + 100);
    n += LINEBUF_LINE_MAX + 100;
    memcpy(text + n, "\nok2\n", 5);
    n += 5;
    for (size_t step = 1000; step <= n; step += 3000) {
        split(text, n, step, out, sizeof(out));
        TEST_CHECK(strcmp(out, "ok1|!|ok2|") == 0);
        TEST_MSG("step %zu: '%s'", step, out);
    }
}

static void test_exactly_max(void)
{
    static char text[LINEBUF_LINE_MAX + 2];
    static struct linebuf lb;
    size_t pos = 0;
    const char *line = NULL;
    size_t len = 0;

    memset(text, 'y', LINEBUF_LINE_MAX);
    text[LINEBUF_LINE_MAX] = '\n';
    linebuf_init(&lb);
    TEST_CHECK(linebuf_next(&lb, text, LINEBUF_LINE_MAX + 1, &pos, &line, &len) ==
               LINEBUF_LINE);
    TEST_CHECK(len == LINEBUF_LINE_MAX);
}

TEST_LIST = {
    {"pieces", test_pieces},
    {"too_long_skipped_to_newline", test_too_long_skipped_to_newline},
    {"exactly_max", test_exactly_max},
    {NULL, NULL},
};
