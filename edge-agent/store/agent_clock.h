/* agent_clock.h -- what the edge agent knows about time when it takes a reading.
 *
 * A reading's envelope (protocol.md 4.1) carries its wall-clock time `ts`, whether that clock
 * was synchronised (`clock_synced`) and, for the collector's time correction, milliseconds since
 * the system booted (`mono_ms`, with the store's boot counter `boot`). This module reads all
 * three at once: the wall time from CLOCK_REALTIME, the synchronisation state from adjtimex(2)
 * (synchronised when the call does not return TIME_ERROR and STA_UNSYNC is clear), and the time
 * since boot from CLOCK_BOOTTIME (which, unlike CLOCK_MONOTONIC, keeps counting while the
 * system is suspended, so that it stays "ms since that boot").
 *
 * The synchronisation state can be forced (a test; a host whose clock is right without NTP,
 * e.g. set from GPS by hand): enum agent_clock_sync, which the agent's config exposes.
 *
 * Shared by the agent's engine, its store (the `dropped` readings it makes itself) and
 * `pantau-agent report`. Pure apart from the clocks and /proc: no allocation, no global state.
 *
 * The clocks are read through msg_clock.h (shared by every program); this module adds what is
 * the agent's own: the synchronisation state and the kernel's boot id.
 *
 * Not for: timers and deadlines inside the agent (use msg_clock_mono_ms, CLOCK_MONOTONIC),
 * timestamps on the wire (msg_time.h), setting the clock. */
#ifndef AGENT_CLOCK_H
#define AGENT_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>


#define AGENT_CLOCK_BOOT_ID_LEN 36   /* the kernel's boot id: a UUID, without NUL */

/* How clock_synced is decided. */
enum agent_clock_sync {
    AGENT_CLOCK_AUTO,       /* adjtimex(2) says */
    AGENT_CLOCK_SYNCED,     /* always synchronised */
    AGENT_CLOCK_UNSYNCED,   /* never synchronised */
};

struct agent_clock_now {
    int64_t wall_ms;    /* CLOCK_REALTIME, ms since the Unix epoch */
    bool synced;        /* whether wall_ms comes from a synchronised clock */
    uint64_t mono_ms;   /* CLOCK_BOOTTIME, ms since this system booted */
};

/* Fills caller-owned *out now, deciding `synced` as mode says. Never fails: a clock that cannot
 * be read (it cannot on Linux) gives 0 and synced false. */
void agent_clock_read(enum agent_clock_sync mode, struct agent_clock_now *out);

/* Whether the kernel says the clock is synchronised (adjtimex(2), read only). */
bool agent_clock_kernel_synced(void);

/* Reads the kernel's boot id (/proc/sys/kernel/random/boot_id, a new random UUID at each
 * boot) into out, NUL-terminated. Returns MSG_OK, or MSG_ERR_IO with err naming the file. */
int agent_clock_boot_id(char out[AGENT_CLOCK_BOOT_ID_LEN + 1], char *err, size_t errlen);

/* Reads "auto", "synced" or "unsynced" (borrowed) into *mode. Returns MSG_OK or
 * MSG_ERR_CONFIG. For the agent's config key. */
int agent_clock_sync_from_name(const char *name, enum agent_clock_sync *mode);

/* The name of mode as agent_clock_sync_from_name reads it; "?" outside the enum. */
const char *agent_clock_sync_name(enum agent_clock_sync mode);

#endif
