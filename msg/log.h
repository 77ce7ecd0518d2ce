/* log.h -- one-line log messages to stderr, for the collector and the edge agent.
 *
 * Levels are syslog's priorities, and this header takes their names from <syslog.h>:
 * LOG_ERR (3), LOG_WARNING (4), LOG_NOTICE (5), LOG_INFO (6), LOG_DEBUG (7), as redis's
 * serverLogRaw() maps its own. A message is printed when its level is at or below the threshold
 * set by log_setup() (default LOG_INFO). Each message is written with one write(2), so lines from
 * different threads do not interleave.
 *
 * Under systemd (LOG_TO_SYSTEMD, or LOG_TO_AUTO with JOURNAL_STREAM set) a line reads
 * "<N>text" so that journald keeps the level; otherwise "2026-02-11T03:15:00.000Z notice: text".
 * LOG_TO_SYSLOG sends the messages to syslog(3) instead (the caller may call openlog() first).
 *
 * Not for: broker plugins (they use mosquitto_log_printf), payload bodies, secrets. */
#ifndef PANTAU_LOG_H
#define PANTAU_LOG_H

#include <stdarg.h>
#include <syslog.h>   /* LOG_ERR ... LOG_DEBUG */

#define LOG_TO_AUTO 0      /* systemd mode if the environment has JOURNAL_STREAM, else plain */
#define LOG_TO_STDERR 1    /* plain lines with a time stamp and level name */
#define LOG_TO_SYSTEMD 2   /* "<N>" prefix, no time stamp (journald adds its own) */
#define LOG_TO_SYSLOG 3    /* syslog(3) */

#define LOG_LINE_MAX 1024  /* longer messages are cut and end in "..." */

/* Sets the threshold (LOG_ERR..LOG_DEBUG; other values are clamped) and where lines go (one of
 * LOG_TO_*). Call it from main before starting threads; until then LOG_INFO and LOG_TO_AUTO. */
void log_setup(int level, int dest);

/* Reads "err", "warning", "notice", "info" or "debug" (borrowed) into *level. Returns MSG_OK or
 * MSG_ERR_CONFIG. For config files and --log-level options. */
int log_level_from_name(const char *name, int *level);

/* Whether a message of this level would be printed (to skip building expensive arguments). */
int log_enabled(int level);

/* Formats and writes one line; newlines and other control characters in the text become
 * spaces. Safe from any thread. */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#endif
