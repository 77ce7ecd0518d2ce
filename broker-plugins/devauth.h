/* devauth.h -- who may connect: pantau_broker.so's MOSQ_EVT_BASIC_AUTH module (plugin_module.h).
 *
 * For each CONNECT with a username and password, on the broker thread:
 *   1. ids first, before any lookup: the username and the client id must be ids of
 *      protocol.md section 2 (so no + # / white space or control characters), and the client
 *      id must equal the username (else a client could take another device's id, kick it off
 *      and inherit its session);
 *   2. the account (regcache_find): unknown, disabled (account or its device), or of a role
 *      that has no MQTT access (officer: protocol.md 7.1): refused, before any hash is
 *      computed (so an officer's password costs the broker no PBKDF2);
 *   3. the secret: a device key by one HMAC-SHA256 (secret.h), always; a person's password by
 *      PBKDF2-SHA512 (about 100 ms of CPU on the broker's only thread), so only
 *        - when no cached success matches (username, a keyed digest of the presented password,
 *          the account's version) -- the password itself is never kept,
 *        - when the user has had fewer than fail_max failures in the last fail_window_s,
 *        - and when the global budget of slow checks (slow_checks_per_sec, a token bucket of
 *          slow_burst) has a token left.
 * Every refusal returns MOSQ_ERR_AUTH (MQTT 5 CONNACK 0x87, not authorized), is counted by
 * reason and logged at most once per user per stats interval, without secret or hash.
 *
 * On MOSQ_EVT_TICK (mosquitto 2.0.11 ticks on every pass of its main loop, which waits at most
 * 100 ms in epoll_wait) it installs a new registry snapshot (regcache_refresh: disabled and
 * removed accounts are kicked by plugin.c's hook) and, every stats_interval seconds, publishes
 * its counters as a retained JSON object on $SYS/pantau/devauth (members: protocol.md 7.4;
 * written by stats.h, as devacl's and payval's are).
 *
 * With TLS client certificates (use_identity_as_username) mosquitto never calls this hook:
 * devacl checks those identities against the regcache in the ACL hook.
 *
 * Options (plugin_opt_<key>):
 *   key_file             file with the server key of device-key hashes (required)
 *   slow_checks_per_sec  password checks per second, all users together (default 4)
 *   slow_burst           the bucket's depth (default 4)
 *   fail_max             failed password checks per user per window (default 5)
 *   fail_window_s        that window, seconds (default 60)
 *   cache_ttl_s          how long a verified password is trusted, seconds (default 3600)
 *   cache_max            users tracked for the cache and the failure limit (default 16384)
 *   stats_interval       seconds between counter publications (default 10)
 *
 * Not for: topics (devacl.c), payloads (payval.c), making hashes (secret.h, admin.c). */
#ifndef DEVAUTH_H
#define DEVAUTH_H

#include <stddef.h>
#include <stdint.h>

enum devauth_reason {
    DEVAUTH_UNKNOWN_USER,
    DEVAUTH_BAD_SECRET,
    DEVAUTH_DISABLED,
    DEVAUTH_CLIENT_ID_MISMATCH,
    DEVAUTH_BAD_ID,
    DEVAUTH_RATE_LIMITED,
    DEVAUTH_SLOW_BUDGET,
    DEVAUTH_BAD_HASH,                 /* the stored hash is malformed or of another key */
    DEVAUTH_NO_MQTT_ROLE,             /* a role without MQTT access (officer): before any hash */
};
#define DEVAUTH_REASON_COUNT 9

struct devauth_counters {
    uint64_t accepted;
    uint64_t refused[DEVAUTH_REASON_COUNT];
    uint64_t cache_hits;
    uint64_t slow_checks;
    uint64_t fast_checks;
    uint64_t log_suppressed;          /* refusals counted but not logged (per-user limit) */
};

/* "unknown_user", ...: the names used in logs and on $SYS/pantau/devauth. Static storage. */
const char *devauth_reason_name(enum devauth_reason r);

/* The counters of a running module; state is the pointer its start set (borrowed). */
void devauth_counters_get(const void *state, struct devauth_counters *out);

#endif
