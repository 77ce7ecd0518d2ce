/* msg_history.h -- history and news (protocol.md 4.1, "History and news"): the lateness L of
 * the contract and the device's half of the rule, which sets a reading's `replay` member.
 *
 * A reading is history when it reaches the collector more than L after it was taken; else it
 * is news. Two judge it, each with the clock it can trust:
 * - the device, by how long it has held the reading: `replay` true when it sends the reading
 *   more than L after taking it (a backlog replayed after an outage), false on the first send
 *   and on a resend within L (a live reading whose first copy was lost is still news);
 * - the collector's database, by the reading's best time: pantau.reading_is_history() in
 *   schema/012_history.sql is `replay`, or received_at more than L after the best time (for a
 *   traffic count, its interval's end). A reading of an unsynchronised clock with no corrected
 *   time is judged by `replay` alone.
 * L is MSG_HISTORY_LATENESS_MS here and pantau.history_lateness() there: one number, written
 * twice because C and SQL cannot share it; tests/integration/test_history_news.py checks that
 * they agree.
 *
 * Not for: the collector's judgment (SQL only: it needs the stored row), alerting. Pure: no
 * clock is read here, no allocation. */
#ifndef MSG_HISTORY_H
#define MSG_HISTORY_H

#include <stdbool.h>
#include <stdint.h>

#define MSG_HISTORY_LATENESS_MS INT64_C(300000)   /* L: 5 minutes */

/* The `replay` member of a send at now_ms of a reading taken at taken_ms, both ms on the same
 * clock of the device (the reference agent: see msg_history_replay_held, which chooses the
 * clock). True (history) when now_ms - taken_ms > MSG_HISTORY_LATENESS_MS, and when now_ms is
 * before taken_ms: the clock stepped back in between, the age is not known, and a reading of
 * unknown age is not news. */
bool msg_history_replay(int64_t taken_ms, int64_t now_ms);

/* How a device knows the boot in which it stored a reading, compared with the current one. */
enum msg_history_boot {
    MSG_HISTORY_BOOT_UNKNOWN,   /* not recorded (a store from before it recorded boots) */
    MSG_HISTORY_BOOT_SAME,      /* stored in this system boot: the boot-time clock is valid */
    MSG_HISTORY_BOOT_OTHER,     /* stored in an earlier boot (or the boot cannot be told) */
};

/* How long a device has held a reading, by both of its clocks: filled by its store. */
struct msg_history_held {
    enum msg_history_boot boot;
    int64_t stored_boot_ms;     /* ms since boot when stored (BOOT_SAME only) */
    int64_t now_boot_ms;        /* ms since the same boot now (BOOT_SAME only) */
    int64_t stored_wall_ms;     /* the wall clock when stored */
    int64_t now_wall_ms;        /* the wall clock now */
    bool stored_synced;         /* the wall clock was synchronised when stored (not for
                                 * BOOT_UNKNOWN) */
    bool now_synced;            /* the wall clock is synchronised now */
};

/* The `replay` member of a send of a reading held as *h says (borrowed), measured with the
 * clock that can be trusted; the device half of protocol.md 4.1:
 * - BOOT_SAME: by the time since boot (CLOCK_BOOTTIME on Linux), which no step of the wall
 *   clock moves: a reading stored 10 s ago is news although NTP set the clock from 1970 in
 *   between;
 * - BOOT_OTHER: held across a reboot (a power cut of unknown length): by the wall clock if it
 *   was synchronised both when stored and now (both ends are true times), else true: the age
 *   is unknown and at least a reboot long, and a reading of unknown age is not news;
 * - BOOT_UNKNOWN: by the wall clock (msg_history_replay), the rule before boots were kept.
 * Each measure is judged by msg_history_replay. */
bool msg_history_replay_held(const struct msg_history_held *h);

#endif
