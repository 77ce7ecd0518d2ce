/* msg_hash.h -- FNV-1a, 64-bit (Fowler, Noll, Vo; the parameters of the IETF draft
 * draft-eastlake-fnv): the hash of every table keyed by a name (device ids, user names) and of
 * the broker's account versions.
 *
 * A hash is started from MSG_HASH_INIT and continued over any number of pieces, so that several
 * fields hash as one:
 *
 *     uint64_t h = MSG_HASH_INIT;
 *     h = msg_hash_field(h, username);
 *     h = msg_hash_field(h, role);
 *
 * msg_hash_field ends each field with the byte 0xff (which no UTF-8 text contains), so that
 * ("ab", "c") and ("a", "bc") differ. The broker's regcache writes such values into its
 * snapshot file (an account's `version`), so they must never change: the test vectors of
 * test_msg_hash.c hold them.
 *
 * Not for: anything an attacker must not be able to collide on purpose (a password, a content
 * digest: use SHA-256). No allocation, no state. */
#ifndef MSG_HASH_H
#define MSG_HASH_H

#include <stddef.h>
#include <stdint.h>

#define MSG_HASH_INIT UINT64_C(14695981039346656037) /* the FNV-1a 64 offset basis */

/* h continued over n bytes of p (borrowed). */
uint64_t msg_hash_bytes(uint64_t h, const void *p, size_t n);

/* h continued over the NUL-terminated string s (borrowed), without its NUL. */
uint64_t msg_hash_str(uint64_t h, const char *s);

/* h continued over s and then the separator byte 0xff. */
uint64_t msg_hash_field(uint64_t h, const char *s);

/* The FNV-1a 64 hash of s: msg_hash_str(MSG_HASH_INIT, s). */
uint64_t msg_hash_of(const char *s);

/* h folded to 32 bits (the high half XORed into the low), for a table indexed by 32 bits. */
uint32_t msg_hash_fold32(uint64_t h);

#endif
