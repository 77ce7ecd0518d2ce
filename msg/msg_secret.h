/* msg_secret.h -- a person's password as pantau stores it, and the constant-time helpers that
 * go with it (OpenSSL libcrypto). One rule, one function: the broker plugin (through
 * broker-plugins/secret.c), pantau-admin and pantau-console make and check passwords here.
 *
 * The stored text form is
 *
 *   pbkdf2-sha512$i=<iterations>$<salt: 32 hex digits>$<128 hex digits>
 *
 * with at least MSG_SECRET_PBKDF2_MIN_ITER iterations. Comparisons are constant-time
 * (CRYPTO_memcmp); buffers that held a secret are cleansed (OPENSSL_cleanse).
 *
 * Not for: device keys (keyed HMAC with the broker's server key: broker-plugins/secret.h), or
 * logging: no function here logs, and none copies a secret anywhere it is not asked to. */
#ifndef MSG_SECRET_H
#define MSG_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#define MSG_SECRET_PBKDF2_PREFIX "pbkdf2-sha512$i="
#define MSG_SECRET_PBKDF2_MIN_ITER 100000
#define MSG_SECRET_PBKDF2_MAX_ITER 10000000u
#define MSG_SECRET_PASSWORD_MAX 1024 /* longest password accepted, bytes */
#define MSG_SECRET_HASH_MAX 255      /* a hash's text form, without NUL */

/* Results of msg_secret_password_verify. */
enum {
    MSG_SECRET_MATCH = 0,
    MSG_SECRET_MISMATCH = 1,
    MSG_SECRET_BAD_HASH = 2, /* the stored text is not a PBKDF2 hash of this form */
};

/* Hashes the password secret (borrowed, len bytes) with a new random salt into out (outlen >=
 * MSG_SECRET_HASH_MAX + 1). iterations in [MSG_SECRET_PBKDF2_MIN_ITER, _MAX_ITER]. Returns
 * MSG_OK, MSG_ERR_INVAL (bad iterations, short out, long password) or MSG_ERR_IO (no random
 * bytes, or OpenSSL failed). */
int msg_secret_password_hash(const char *secret, size_t len, unsigned iterations, char *out,
                             size_t outlen);

/* Whether hash (borrowed) starts like a PBKDF2 hash of this form. */
bool msg_secret_is_password_hash(const char *hash);

/* Checks the password secret (borrowed, len bytes) against the stored text hash (borrowed).
 * Returns MSG_SECRET_MATCH, MSG_SECRET_MISMATCH (also for a password longer than
 * MSG_SECRET_PASSWORD_MAX) or MSG_SECRET_BAD_HASH. Costs the hash's iterations (about 100 ms
 * at 210,000 here): callers limit how often a client may ask. */
int msg_secret_password_verify(const char *hash, const char *secret, size_t len);

/* Constant-time equality of two n-byte buffers (borrowed). */
bool msg_secret_equal(const void *a, const void *b, size_t n);

/* Overwrites n bytes at p (a secret's buffer) so that the compiler cannot skip it. */
void msg_secret_wipe(void *p, size_t n);

#endif
