/* log.c -- one-line log messages to stderr or syslog: see log.h. */
#define _POSIX_C_SOURCE 200809L

#include "log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msg_clock.h"
#include "msg_err.h"
#include "msg_time.h"

/* The one exception to "no mutable globals outside main" (STYLE 6): every module logs, and
 * threading a logger through each call would clutter every signature for one int. main sets
 * both values once with log_setup() before it starts threads; they are atomics so that a late
 * log_setup() is still not a data race. -1 means "not decided yet" for the destination. */
static atomic_int log_threshold = LOG_INFO;
static atomic_int log_dest = -1;

static const char *const level_names[] = {
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

static int clamp_level(int level)
{
    if (level < LOG_ERR) {
        return LOG_ERR;
    }
    if (level > LOG_DEBUG) {
        return LOG_DEBUG;
    }
    return level;
}

static int resolve_dest(int dest)
{
    if (dest == LOG_TO_STDERR || dest == LOG_TO_SYSTEMD || dest == LOG_TO_SYSLOG) {
        return dest;
    }
    return getenv("JOURNAL_STREAM") != NULL ? LOG_TO_SYSTEMD : LOG_TO_STDERR;
}

void log_setup(int level, int dest)
{
    atomic_store(&log_threshold, clamp_level(level));
    atomic_store(&log_dest, resolve_dest(dest));
}

int log_level_from_name(const char *name, int *level)
{
    for (int i = LOG_ERR; i <= LOG_DEBUG; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *level = i;
            return MSG_OK;
        }
    }
    return MSG_ERR_CONFIG;
}

int log_enabled(int level)
{
    return clamp_level(level) <= atomic_load(&log_threshold);
}

void log_vmsg(int level, const char *fmt, va_list ap)
{
    char line[LOG_LINE_MAX + 64];
    size_t n = 0;
    size_t start;
    int dest;
    int w;

    level = clamp_level(level);
    if (level > atomic_load(&log_threshold)) {
        return;
    }
    dest = atomic_load(&log_dest);
    if (dest < 0) {
        dest = resolve_dest(LOG_TO_AUTO);   /* racing threads compute the same value */
        atomic_store(&log_dest, dest);
    }
    if (dest == LOG_TO_SYSTEMD) {
        w = snprintf(line, sizeof(line), "<%d>", level);
        n = (size_t)w;
    } else if (dest == LOG_TO_STDERR) {
        msg_time_format(msg_clock_wall_ms(), line);
        n = MSG_TIME_LEN;
        w = snprintf(line + n, sizeof(line) - n, " %s: ", level_names[level]);
        n += (size_t)w;
    }
    start = n;
    w = vsnprintf(line + n, LOG_LINE_MAX + 1 - n, fmt, ap);
    if (w < 0) {
        return;
    }
    if ((size_t)w > LOG_LINE_MAX - n) {
        n = LOG_LINE_MAX;
        memcpy(line + n - 3, "...", 3);
    } else {
        n += (size_t)w;
    }
    for (size_t i = start; i < n; i++) {
        unsigned char c = (unsigned char)line[i];

        if (c < 0x20 || c == 0x7f) {
            line[i] = ' ';
        }
    }
    if (dest == LOG_TO_SYSLOG) {
        line[n] = '\0';
        syslog(level, "%s", line + start);
        return;
    }
    line[n++] = '\n';
    if (write(STDERR_FILENO, line, n) < 0) {
        return;   /* nowhere left to report it */
    }
}

void log_msg(int level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
}
