/* msg_clock.c -- the clocks in ms and us: see msg_clock.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* CLOCK_BOOTTIME; some targets (tests/fuzz) define it for every file */
#endif

#include "msg_clock.h"

#include <errno.h>
#include <time.h>

static int64_t read_us(clockid_t id)
{
    struct timespec ts;

    if (clock_gettime(id, &ts) != 0) {
        return 0;
    }
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t read_ms(clockid_t id)
{
    struct timespec ts;

    if (clock_gettime(id, &ts) != 0) {
        return 0;
    }
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t msg_clock_mono_ms(void)
{
    return read_ms(CLOCK_MONOTONIC);
}

int64_t msg_clock_wall_ms(void)
{
    return read_ms(CLOCK_REALTIME);
}

int64_t msg_clock_boot_ms(void)
{
    return read_ms(CLOCK_BOOTTIME);
}

int64_t msg_clock_mono_us(void)
{
    return read_us(CLOCK_MONOTONIC);
}

int64_t msg_clock_wall_us(void)
{
    return read_us(CLOCK_REALTIME);
}

void msg_clock_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}
