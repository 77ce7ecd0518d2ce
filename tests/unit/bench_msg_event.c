/* bench_msg_event.c -- rough single-thread throughput of msg_event_parse() (and of the
 * canonical form the collector hashes) on the flood example of docs/protocol.md.
 *
 *   bench_msg_event [SECONDS]      (default 3)
 *
 * Prints messages per second. Built with the unit tests, not run by CTest. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msg_event.h"

static const char topic[] = "pantau/v1/gw-p2c-01/flood";
static const char payload[] =
    "{\"store\":\"6f1c2b0e-9a57-4d1e-8d0c-3a1f2e4b5c6d\",\"seq\":1042,\"ts\":"
    "\"2026-02-11T03:15:00.000Z\",\n \"clock_synced\":true,\"replay\":false,\"boot\":311,"
    "\"mono_ms\":86400123,\n \"station\":\"p2c-kali-bekasi\",\"distance_cm\":412.5,"
    "\"offset_cm\":1050,\"level_cm\":637.5,\n \"rise_cm_h\":42.0,\"rain_mm\":3.2,"
    "\"battery_v\":12.61}";

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? strtod(argv[1], NULL) : 3.0;
    struct msg_event ev;
    char err[MSG_ERRLEN];
    char canon[MSG_CANONICAL_MAX];
    size_t len = 0;
    long n = 0;
    double t0;
    double t1;

    if (msg_event_parse(topic, strlen(topic), payload, strlen(payload), &ev, err,
                        sizeof(err)) != MSG_OK) {
        fprintf(stderr, "bench_msg_event: example refused: %s\n", err);
        return 1;
    }
    t0 = now();
    do {
        for (int i = 0; i < 1000; i++) {
            msg_event_parse(topic, strlen(topic), payload, strlen(payload), &ev, err,
                            sizeof(err));
        }
        n += 1000;
        t1 = now();
    } while (t1 - t0 < seconds);
    printf("msg_event_parse: %.0f messages/s (%zu-byte flood example, %.2f us each)\n",
           (double)n / (t1 - t0), strlen(payload), (t1 - t0) / (double)n * 1e6);
    n = 0;
    t0 = now();
    do {
        for (int i = 0; i < 1000; i++) {
            msg_event_canonical(&ev, canon, sizeof(canon), &len);
        }
        n += 1000;
        t1 = now();
    } while (t1 - t0 < seconds / 3);
    printf("msg_event_canonical: %.0f events/s (%zu bytes)\n", (double)n / (t1 - t0), len);
    return 0;
}
