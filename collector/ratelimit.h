/* ratelimit.h -- a token bucket per device, for the dead letters the broker passes on
 * (pantau/v1/_sys/rejected, protocol.md 7.2): a hostile or broken device cannot fill the
 * dead-letter table, even if the broker's own budget were misconfigured.
 *
 * Each device has a bucket of `burst` tokens that refills at `per_minute` tokens a minute; a
 * message that finds its bucket empty is not stored (the caller counts it). Buckets live in a
 * fixed table of RATELIMIT_SLOTS entries (open addressing, RATELIMIT_PROBE probes); when every
 * probed slot is taken, the one unused for longest is given to the new device, so memory is
 * fixed whatever the number of device ids.
 *
 * Not for: readings (they are acknowledged and so stop by themselves). One thread only (the
 * database thread). */
#ifndef RATELIMIT_H
#define RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define RATELIMIT_SLOTS 4096
#define RATELIMIT_PROBE 16

struct ratelimit;

/* A limiter of burst tokens refilled at per_minute a minute (both > 0). Returns NULL if out of
 * memory. Caller frees with ratelimit_free(). */
struct ratelimit *ratelimit_new(double per_minute, double burst);
void ratelimit_free(struct ratelimit *r);

/* Takes one token of device_id (borrowed) at now_ms (a monotonic clock). Returns true if there
 * was one (store the message), false if the bucket is empty. */
bool ratelimit_take(struct ratelimit *r, const char *device_id, int64_t now_ms);

#endif
