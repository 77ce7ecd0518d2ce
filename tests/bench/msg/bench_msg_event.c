/* bench_msg_event.c -- single-thread cost of validating one reading, against the floor.
 *
 *   bench_msg_event [ROUNDS] [SECONDS_PER_ROUND]      (default 5 rounds of 1 s)
 *
 * Measures, in the same run and interleaved round by round, on the flood example of
 * docs/protocol.md:
 *   reference  cJSON_ParseWithLength + cJSON_Delete: parsing alone, no validation at all
 *   parse      msg_event_parse: topic, the strict I-JSON lexer building the tree on the stack
 *              (struct msg_json_doc), validation, normalisation
 *   cjson      the same checks the way msg_event_parse made them before (until 2026-12-01):
 *              topic, the lexer, cJSON's allocated tree, the walk, msg_event_from_json,
 *              cJSON_Delete (msg_json_parse, which other callers still use)
 *   canonical  msg_event_canonical: the content text the collector hashes for clashes
 * and prints each round, then medians and the ratio parse / reference. Not run by CTest. */
#define _POSIX_C_SOURCE 200809L

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msg_event.h"
#include "msg_json.h"

#define BENCH_ROUNDS_MAX 50

static const char topic[] = "pantau/v1/gw-p2c-01/flood";
static const char payload[] =
    "{\"store\":\"6f1c2b0e-9a57-4d1e-8d0c-3a1f2e4b5c6d\",\"seq\":1042,\"ts\":"
    "\"2026-02-11T03:15:00.000Z\",\n \"clock_synced\":true,\"replay\":false,\"boot\":311,"
    "\"mono_ms\":86400123,\n \"station\":\"p2c-kali-bekasi\",\"distance_cm\":412.5,"
    "\"offset_cm\":1050,\"level_cm\":637.5,\n \"rise_cm_h\":42.0,\"rain_mm\":3.2,"
    "\"battery_v\":12.61}";

enum bench_kind { BENCH_REFERENCE, BENCH_PARSE, BENCH_CJSON, BENCH_CANONICAL, BENCH_KINDS };

static const char *const bench_names[BENCH_KINDS] = {
    "reference (cJSON parse only)", "msg_event_parse", "checks over cJSON's tree",
    "msg_event_canonical"};

/* msg_event_parse as it was: the lexer, then cJSON's tree, then the members. */
static int parse_with_cjson(struct msg_event *ev, char *err, size_t errlen)
{
    struct msg_topic t;
    cJSON *doc = NULL;
    int rc;

    rc = msg_topic_parse(topic, strlen(topic), &t, err, errlen);
    if (rc != MSG_OK) {
        return rc;
    }
    rc = msg_json_parse(payload, strlen(payload), MSG_PAYLOAD_MAX, MSG_DEPTH_DEVICE, &doc, err,
                        errlen);
    if (rc == MSG_OK) {
        rc = msg_event_from_json(doc, &t, ev, err, errlen);
    }
    cJSON_Delete(doc);
    return rc;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs one kind for about `seconds`; returns operations per second. */
static double run(enum bench_kind kind, double seconds, struct msg_event *ev)
{
    char err[MSG_ERRLEN];
    char canon[MSG_CANONICAL_MAX];
    size_t len = 0;
    size_t plen = strlen(payload);
    long n = 0;
    double t0 = now();
    double t1;

    do {
        for (int i = 0; i < 1000; i++) {
            if (kind == BENCH_REFERENCE) {
                cJSON_Delete(cJSON_ParseWithLength(payload, plen));
            } else if (kind == BENCH_PARSE) {
                msg_event_parse(topic, strlen(topic), payload, plen, ev, err, sizeof(err));
            } else if (kind == BENCH_CJSON) {
                parse_with_cjson(ev, err, sizeof(err));
            } else {
                msg_event_canonical(ev, canon, sizeof(canon), &len);
            }
        }
        n += 1000;
        t1 = now();
    } while (t1 - t0 < seconds);
    return (double)n / (t1 - t0);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;

    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? strtol(argv[1], NULL, 10) : 5;
    double seconds = argc > 2 ? strtod(argv[2], NULL) : 1.0;
    double rate[BENCH_KINDS][BENCH_ROUNDS_MAX];
    double median[BENCH_KINDS];
    struct msg_event ev;
    char err[MSG_ERRLEN];

    if (rounds < 1 || rounds > BENCH_ROUNDS_MAX || !(seconds > 0)) {
        fprintf(stderr, "usage: bench_msg_event [ROUNDS 1..%d] [SECONDS_PER_ROUND]\n",
                BENCH_ROUNDS_MAX);
        return 2;
    }
    if (msg_event_parse(topic, strlen(topic), payload, strlen(payload), &ev, err,
                        sizeof(err)) != MSG_OK ||
        parse_with_cjson(&ev, err, sizeof(err)) != MSG_OK) {
        fprintf(stderr, "bench_msg_event: example refused: %s\n", err);
        return 1;
    }
    printf("flood example: %zu bytes; %ld rounds of %.1f s, kinds interleaved\n",
           strlen(payload), rounds, seconds);
    for (long r = 0; r < rounds; r++) {
        for (int k = 0; k < BENCH_KINDS; k++) {
            rate[k][r] = run((enum bench_kind)k, seconds, &ev);
        }
        printf("round %ld: reference %.0f/s, parse %.0f/s, over cJSON %.0f/s, canonical %.0f/s\n",
               r + 1, rate[BENCH_REFERENCE][r], rate[BENCH_PARSE][r], rate[BENCH_CJSON][r],
               rate[BENCH_CANONICAL][r]);
    }
    for (int k = 0; k < BENCH_KINDS; k++) {
        qsort(rate[k], (size_t)rounds, sizeof(double), cmp_double);
        median[k] = rate[k][rounds / 2];
        printf("median %-30s %9.0f per s  %6.2f us each\n", bench_names[k], median[k],
               1e6 / median[k]);
    }
    printf("ratio parse / reference: %.2f (validation costs %.2fx a bare cJSON parse)\n",
           median[BENCH_PARSE] / median[BENCH_REFERENCE],
           median[BENCH_REFERENCE] / median[BENCH_PARSE]);
    printf("ratio parse / checks over cJSON's tree: %.2f\n",
           median[BENCH_PARSE] / median[BENCH_CJSON]);
    return 0;
}
