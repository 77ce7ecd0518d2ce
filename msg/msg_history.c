/* msg_history.c -- history and news: see msg_history.h. */
#include "msg_history.h"

bool msg_history_replay(int64_t taken_ms, int64_t now_ms)
{
    if (now_ms < taken_ms) {
        return true;   /* the clock went back: age unknown */
    }
    /* now_ms >= taken_ms, so the difference cannot overflow unless it exceeds INT64_MAX,
     * which only a taken_ms near INT64_MIN gives: compare without subtracting then */
    if (taken_ms < 0 && now_ms > INT64_MAX + taken_ms) {
        return true;
    }
    return now_ms - taken_ms > MSG_HISTORY_LATENESS_MS;
}

bool msg_history_replay_held(const struct msg_history_held *h)
{
    switch (h->boot) {
    case MSG_HISTORY_BOOT_SAME:
        return msg_history_replay(h->stored_boot_ms, h->now_boot_ms);
    case MSG_HISTORY_BOOT_OTHER:
        if (h->stored_synced && h->now_synced) {
            return msg_history_replay(h->stored_wall_ms, h->now_wall_ms);
        }
        return true;   /* across a reboot, with a wall clock that was not true at one end */
    case MSG_HISTORY_BOOT_UNKNOWN:
    default:
        return msg_history_replay(h->stored_wall_ms, h->now_wall_ms);
    }
}
