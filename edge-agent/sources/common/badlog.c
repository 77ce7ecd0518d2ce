/* badlog.c -- counted, rate-limited logging of bad input (see badlog.h). */
#include "badlog.h"

#include <stdio.h>

#include "log.h"

void badlog_init(struct badlog *b, const char *who)
{
    snprintf(b->who, sizeof(b->who), "%s", who);
    b->total = 0;
    b->reported = 0;
    b->next_ms = 0;
    b->last[0] = '\0';
}

void badlog_add(struct badlog *b, const char *what, const char *why)
{
    b->total++;
    snprintf(b->last, sizeof(b->last), "%s: %s", what, why);
    log_msg(LOG_DEBUG, "%s: %s: %s", b->who, what, why);
}

int64_t badlog_tick(struct badlog *b, int64_t now_ms)
{
    if (b->total == b->reported) {
        return INT64_MAX;
    }
    if (now_ms < b->next_ms) {
        return b->next_ms;
    }
    log_msg(LOG_INFO, "%s: %llu bad inputs skipped since the last report (%llu in total); "
            "last: %s", b->who, (unsigned long long)(b->total - b->reported),
            (unsigned long long)b->total, b->last);
    b->reported = b->total;
    b->next_ms = now_ms + BADLOG_SUMMARY_MS;
    return INT64_MAX;
}
