/* secret.h -- the two kinds of broker secret and their stored hashes (OpenSSL libcrypto).
 *
 * A device key is generated here (256 random bits, written as 64 lower-case hex digits) and
 * stored as a keyed hash with a server-side key that never leaves the broker host:
 *
 *   hmac-sha256$k=<key id: 8 hex digits>$<64 hex digits>
 *
 * A key of 256 random bits cannot be guessed, so one HMAC is as strong as a slow hash, and a
 * broker restart can check 10,000 reconnects in well under a second. The key id (the first 4
 * bytes of SHA-256 of the server key) tells a wrong key file from a wrong secret.
 *
 * A person's password is stored with a salted slow hash:
 *
 *   pbkdf2-sha512$i=<iterations>$<salt: 32 hex digits>$<128 hex digits>
 *
 * with at least SECRET_PBKDF2_MIN_ITER iterations. Comparisons are constant-time
 * (CRYPTO_memcmp). The text forms contain no white space and fit REGCACHE_HASH_MAX.
 *
 * Shared by the broker plugin (devauth.c verifies) and pantau-admin (admin.c makes). Passwords
 * are made and checked by msg/msg_secret.h (the console checks them too): the constants below
 * equal its MSG_SECRET_* ones.
 * Not for: storing or logging secrets: no function here logs, and buffers that held a secret
 * are cleansed (OPENSSL_cleanse) before they are released. */
#ifndef SECRET_H
#define SECRET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SECRET_KEY_BYTES 32              /* server key and device keys: 256 bits */
#define SECRET_DEVICE_KEY_LEN 64         /* a device key as text: hex digits, without NUL */
#define SECRET_HASH_MAX 255              /* a hash's text form, without NUL */
#define SECRET_PBKDF2_MIN_ITER 100000
#define SECRET_PBKDF2_DEFAULT_ITER 210000  /* OWASP 2023 figure for PBKDF2-HMAC-SHA512 */
#define SECRET_PASSWORD_MAX 1024         /* longest password accepted, bytes */
#define SECRET_DIGEST_BYTES 32

enum secret_kind {
    SECRET_KIND_NONE,                    /* not a hash this module knows */
    SECRET_KIND_HMAC,                    /* hmac-sha256$... (device key) */
    SECRET_KIND_PBKDF2,                  /* pbkdf2-sha512$... (password) */
};

/* Results of secret_verify. */
enum {
    SECRET_MATCH = 0,
    SECRET_MISMATCH = 1,
    SECRET_BAD_HASH = 2,                 /* stored text is malformed, or made with another key */
};

/* The server key. */
struct secret_key {
    unsigned char key[SECRET_KEY_BYTES];
    char id[9];                          /* 8 hex digits: first 4 bytes of SHA-256(key) */
};

/* Reads a server key from path (borrowed): a file whose first line is 64 hex digits. The file
 * must not be readable by group or others. Fills *out. Returns MSG_OK, MSG_ERR_IO or
 * MSG_ERR_CONFIG with err naming the file (never its content). */
int secret_key_load(const char *path, struct secret_key *out, char *err, size_t errlen);

/* Makes a new server key file at path (borrowed), mode 0600; refuses to overwrite. Returns
 * MSG_OK or MSG_ERR_IO with err naming the file. */
int secret_key_create(const char *path, char *err, size_t errlen);

/* Fills buf (at least SECRET_DEVICE_KEY_LEN + 1 bytes) with a new device key as text, from
 * the OpenSSL CSPRNG. Returns MSG_OK or MSG_ERR_IO. */
int secret_device_key_new(char *buf, size_t buflen);

/* Hash texts into out (outlen >= SECRET_HASH_MAX + 1). secret is borrowed (len bytes).
 * iterations >= SECRET_PBKDF2_MIN_ITER. Return MSG_OK, MSG_ERR_INVAL or MSG_ERR_IO. */
int secret_hash_device_key(const struct secret_key *key, const char *secret, size_t len,
                           char *out, size_t outlen);
int secret_hash_password(const char *secret, size_t len, unsigned iterations, char *out,
                         size_t outlen);

/* The kind of a stored hash text (borrowed). */
enum secret_kind secret_hash_kind(const char *hash);

/* Checks secret (borrowed, len bytes) against the stored text hash (borrowed). key (borrowed)
 * is needed for HMAC hashes and may be NULL otherwise. Returns SECRET_MATCH, SECRET_MISMATCH
 * or SECRET_BAD_HASH. A PBKDF2 hash costs its iterations (about 100 ms at 210,000 here). */
int secret_verify(const struct secret_key *key, const char *hash, const char *secret,
                  size_t len);

/* HMAC-SHA256 of (a, alen) 0x00 (b, blen) with key (keylen bytes), into out: a digest that
 * stands for a presented secret in caches without being it. */
void secret_digest(const unsigned char *key, size_t keylen, const char *a, size_t alen,
                   const char *b, size_t blen, unsigned char out[SECRET_DIGEST_BYTES]);

/* Constant-time equality of two n-byte buffers. */
bool secret_equal(const void *a, const void *b, size_t n);

/* Overwrites n bytes at p (a secret's buffer) so the compiler cannot skip it. */
void secret_wipe(void *p, size_t n);

#endif
