/* msgcheck.c -- pantau-msgcheck: validates one message the way the collector and the broker do.
 *
 *   pantau-msgcheck TOPIC [FILE]
 *
 * Reads the payload's raw bytes from FILE (or standard input), then validates them for TOPIC
 * with the same code path as the collector: msg_event_parse() for device messages, and
 * msg_ack_parse(), msg_health_parse() or msg_rejected_parse() for the other topics.
 * Prints "ok <stream>" and exits 0 if the message is valid; prints "invalid: <code>: <reason>"
 * to standard output and exits 1 if it is not (an unknown topic included); exits 2 on a usage
 * error or an unreadable FILE. Used by tests/integration/test_protocol_examples.py, and by
 * anyone who writes a device and wants to know why the broker refuses it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg_ack.h"
#include "msg_err.h"
#include "msg_event.h"
#include "msg_health.h"
#include "msg_restore.h"
#include "msg_rejected.h"
#include "msg_topic.h"

#define PROG "pantau-msgcheck"
#ifndef PANTAU_VERSION
#define PANTAU_VERSION "unknown"
#endif

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: " PROG " TOPIC [FILE]\n"
            "Validate one pantau message (payload from FILE, or standard input) for TOPIC.\n"
            "\n"
            "  -h, --help     show this help and exit\n"
            "  -V, --version  show the version and exit\n"
            "\n"
            "Exit status: 0 valid (prints \"ok <stream>\"), 1 invalid (prints\n"
            "\"invalid: <code>: <reason>\"), 2 usage error or unreadable FILE.\n");
}

/* Reads all of f into a buffer (caller frees with free). Returns MSG_OK, MSG_ERR_IO or
 * MSG_ERR_NOMEM. */
static int read_all(FILE *f, char **out, size_t *len)
{
    char *buf = NULL;
    size_t cap = 0;
    size_t n = 0;
    int rc = MSG_OK;

    for (;;) {
        size_t got;

        if (n == cap) {
            char *bigger;

            cap = cap == 0 ? 16384 : cap * 2;
            bigger = realloc(buf, cap);
            if (bigger == NULL) {
                rc = MSG_ERR_NOMEM;
                goto out;
            }
            buf = bigger;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            break;
        }
    }
    if (ferror(f)) {
        rc = MSG_ERR_IO;
    }
out:
    if (rc != MSG_OK) {
        free(buf);
        buf = NULL;
        n = 0;
    }
    *out = buf;
    *len = n;
    return rc;
}

/* Validates payload for topic; err gets the reason. */
static int check(const char *topic, const char *payload, size_t len, enum msg_stream *stream,
                 char *err, size_t errlen)
{
    struct msg_topic t;
    struct msg_event *ev = NULL;
    struct msg_ack *ack = NULL;
    struct msg_health health;
    struct msg_restore restore;
    struct msg_rejected *rej = NULL;
    int rc;

    rc = msg_topic_parse(topic, strlen(topic), &t, err, errlen);
    if (rc != MSG_OK) {
        goto out;
    }
    *stream = t.stream;
    switch (t.stream) {
    case MSG_STREAM_ACK:
        ack = msg_ack_new(MSG_ACK_RANGES_MAX);
        rc = ack == NULL ? MSG_ERR_NOMEM : msg_ack_parse(payload, len, ack, err, errlen);
        break;
    case MSG_STREAM_HEALTH:
        rc = msg_health_parse(&t, payload, len, &health, err, errlen);
        break;
    case MSG_STREAM_RESTORE:
        rc = msg_restore_parse(payload, len, &restore, err, errlen);
        break;
    case MSG_STREAM_REJECTED:
        rej = malloc(sizeof(*rej));
        rc = rej == NULL ? MSG_ERR_NOMEM : msg_rejected_parse(payload, len, rej, err, errlen);
        break;
    default:
        ev = malloc(sizeof(*ev));
        rc = ev == NULL ? MSG_ERR_NOMEM
                        : msg_event_parse(topic, strlen(topic), payload, len, ev, err, errlen);
        break;
    }
    if (rc == MSG_ERR_NOMEM && err[0] == '\0') {
        snprintf(err, errlen, "out of memory");
    }
out:
    free(ev);
    msg_ack_free(ack);
    free(rej);
    return rc;
}

int main(int argc, char **argv)
{
    const char *topic = NULL;
    const char *path = NULL;
    char *payload = NULL;
    size_t len = 0;
    char err[MSG_ERRLEN] = "";
    enum msg_stream stream = MSG_STREAM_FLOOD;
    FILE *f = stdin;
    int status = 2;
    int rc;

    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc >= 2 && (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0)) {
        printf(PROG " " PANTAU_VERSION "\n");
        return 0;
    }
    if (argc < 2 || argc > 3 || (argv[1][0] == '-' && argv[1][1] != '\0')) {
        usage(stderr);
        return 2;
    }
    topic = argv[1];
    if (argc == 3 && strcmp(argv[2], "-") != 0) {
        path = argv[2];
        f = fopen(path, "rb");
        if (f == NULL) {
            fprintf(stderr, PROG ": cannot open %s: %s\n", path, strerror(errno));
            return 2;
        }
    }
    rc = read_all(f, &payload, &len);
    if (rc != MSG_OK) {
        fprintf(stderr, PROG ": cannot read %s: %s\n", path != NULL ? path : "standard input",
                rc == MSG_ERR_NOMEM ? "out of memory" : strerror(errno));
        goto out;
    }
    rc = check(topic, payload != NULL ? payload : "", len, &stream, err, sizeof(err));
    if (rc == MSG_OK) {
        printf("ok %s\n", msg_stream_name(stream));
        status = 0;
    } else {
        printf("invalid: %s: %s\n", msg_errname(rc), err);
        status = 1;
    }
out:
    if (f != stdin) {
        fclose(f);
    }
    free(payload);
    return status;
}
