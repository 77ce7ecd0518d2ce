/* msg_clock.h -- the clocks every program reads, in milliseconds (or microseconds) as int64_t.
 *
 * - msg_clock_mono_ms: CLOCK_MONOTONIC, for timers, deadlines, rate limits and durations (it
 *   never jumps when the wall clock is set, and stops while the system is suspended);
 * - msg_clock_wall_ms: CLOCK_REALTIME, ms since the Unix epoch, for timestamps;
 * - msg_clock_boot_ms: CLOCK_BOOTTIME, ms since the system booted, counting suspended time too
 *   (the agent's `mono_ms` of protocol.md 4.1);
 * - msg_clock_mono_us, msg_clock_wall_us: the same as the first two in microseconds (durations
 *   of a batch, the collector's received-at times).
 *
 * A clock that cannot be read (on Linux these cannot) gives 0. No allocation, no state.
 *
 * Also msg_clock_sleep_ms: a pause that a signal does not cut short.
 *
 * Not for: timestamps on the wire (msg_time.h formats and parses them), whether the clock is
 * synchronised (the agent's agent_clock.h), absolute deadlines for pthread_cond_timedwait
 * (they need a struct timespec). */
#ifndef MSG_CLOCK_H
#define MSG_CLOCK_H

#include <stdint.h>

int64_t msg_clock_mono_ms(void);
int64_t msg_clock_wall_ms(void);
int64_t msg_clock_boot_ms(void);
int64_t msg_clock_mono_us(void);
int64_t msg_clock_wall_us(void);

/* Sleeps ms milliseconds (>= 0), going on after a signal (EINTR) until the time is up. */
void msg_clock_sleep_ms(long ms);

#endif
