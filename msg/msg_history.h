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
 * clock of the device (the reference agent: the wall clock when the reading entered its store,
 * and now). True (history) when now_ms - taken_ms > MSG_HISTORY_LATENESS_MS, and when now_ms is
 * before taken_ms: the clock stepped back in between, the age is not known, and a reading of
 * unknown age is not news. */
bool msg_history_replay(int64_t taken_ms, int64_t now_ms);

#endif
