/* fuzz_agent_sensor.c -- libFuzzer target for the flood source's input: a distance sensor's
 * byte stream split into lines (linebuf.h) and each line read in the three formats
 * (sensor_line.h), and the command splitter (cmdline.h) on the same bytes.
 *
 * Input: one selector byte (how the stream is cut into reads), then the stream. Besides "no
 * crash, no leak, no undefined behaviour" it checks that every err is a printable line, that an
 * accepted distance is within 0..10000 cm, that no line handed out is longer than the limit,
 * and that the median stays within the samples' range. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cmdline.h"
#include "fuzz_check.h"
#include "linebuf.h"
#include "sensor_line.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct linebuf lb;

static void one_line(const char *line, size_t len, struct sensor_median *m, double *lo,
                     double *hi)
{
    static const char *const formats[] = {"cm", "mm", "json"};
    char err[MSG_ERRLEN];

    for (size_t k = 0; k < 3; k++) {
        struct sensor_line_format f;
        double d = -1;
        int rc;

        FUZZ_ASSERT(sensor_format_parse(formats[k], "a.b", "m", &f, err, sizeof(err)) ==
                    MSG_OK);
        memset(err, 'x', sizeof(err));
        err[0] = '\0';
        rc = sensor_line_parse(&f, line, len, &d, err, sizeof(err));
        fuzz_check_err(rc, err);
        if (rc == MSG_OK) {
            FUZZ_ASSERT(d >= 0 && d <= SENSOR_DISTANCE_MAX_CM);
            sensor_median_push(m, d);
            *lo = d < *lo ? d : *lo;
            *hi = d > *hi ? d : *hi;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    struct sensor_median m;
    double lo = 1e300, hi = -1e300, med = 0;
    size_t step;
    const char *line = NULL;
    size_t len = 0;

    if (size < 1) {
        return 0;
    }
    step = (size_t)data[0] + 1;
    in++;
    size--;
    FUZZ_ASSERT(sensor_median_init(&m, 5) == MSG_OK);
    linebuf_init(&lb);
    for (size_t off = 0; off < size; off += step) {
        size_t piece = size - off < step ? size - off : step;
        size_t pos = 0;
        enum linebuf_result r;

        for (;;) {
            r = linebuf_next(&lb, in + off, piece, &pos, &line, &len);
            if (r == LINEBUF_NONE) {
                break;
            }
            FUZZ_ASSERT(pos <= piece);
            if (r == LINEBUF_LINE) {
                FUZZ_ASSERT(len <= LINEBUF_LINE_MAX && line[len] == '\0');
                one_line(line, len, &m, &lo, &hi);
            }
        }
        FUZZ_ASSERT(pos == piece);
    }
    if (linebuf_flush(&lb, &line, &len)) {
        one_line(line, len, &m, &lo, &hi);
    }
    if (sensor_median_value(&m, &med)) {
        FUZZ_ASSERT(med >= lo && med <= hi);
    }
    if (size < 512) {
        char s[512];
        char buf[512];
        char *argv[CMDLINE_ARGS_MAX + 1];
        char err[MSG_ERRLEN];
        size_t argc = 0;
        int rc;

        memcpy(s, in, size);
        s[size] = '\0';
        err[0] = '\0';
        rc = cmdline_split(s, buf, sizeof(buf), argv, &argc, err, sizeof(err));
        fuzz_check_err(rc, err);
        if (rc == MSG_OK) {
            FUZZ_ASSERT(argc >= 1 && argc <= CMDLINE_ARGS_MAX && argv[argc] == NULL);
        }
    }
    return 0;
}
