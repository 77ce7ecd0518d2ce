/* msg_secret.c -- passwords as PBKDF2-SHA512 text hashes, constant-time compares: see
 * msg_secret.h. */
#include "msg_secret.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "msg_err.h"
#include "msg_hex.h"

#define SALT_BYTES 16
#define PBKDF2_BYTES 64

bool msg_secret_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

void msg_secret_wipe(void *p, size_t n)
{
    OPENSSL_cleanse(p, n);
}

static int pbkdf2(const char *secret, size_t len, const unsigned char *salt, unsigned iterations,
                  unsigned char out[PBKDF2_BYTES])
{
    return PKCS5_PBKDF2_HMAC(secret, (int)len, salt, SALT_BYTES, (int)iterations, EVP_sha512(),
                             PBKDF2_BYTES, out) == 1
               ? MSG_OK
               : MSG_ERR_IO;
}

int msg_secret_password_hash(const char *secret, size_t len, unsigned iterations, char *out,
                             size_t outlen)
{
    unsigned char salt[SALT_BYTES];
    unsigned char dk[PBKDF2_BYTES];
    char salthex[2 * SALT_BYTES + 1];
    char dkhex[2 * PBKDF2_BYTES + 1];
    int rc = MSG_ERR_INVAL;
    int n;

    memset(dk, 0, sizeof(dk));
    memset(dkhex, 0, sizeof(dkhex));
    if (iterations < MSG_SECRET_PBKDF2_MIN_ITER || iterations > MSG_SECRET_PBKDF2_MAX_ITER ||
        outlen < MSG_SECRET_HASH_MAX + 1 || len > MSG_SECRET_PASSWORD_MAX) {
        goto out;
    }
    rc = MSG_ERR_IO;
    if (RAND_bytes(salt, sizeof(salt)) != 1) {
        goto out;
    }
    rc = pbkdf2(secret, len, salt, iterations, dk);
    if (rc != MSG_OK) {
        goto out;
    }
    msg_hex_encode(salt, sizeof(salt), salthex);
    msg_hex_encode(dk, sizeof(dk), dkhex);
    n = snprintf(out, outlen, MSG_SECRET_PBKDF2_PREFIX "%u$%s$%s", iterations, salthex, dkhex);
    rc = n > 0 && (size_t)n < outlen ? MSG_OK : MSG_ERR_INVAL;
out:
    msg_secret_wipe(dk, sizeof(dk));
    msg_secret_wipe(dkhex, sizeof(dkhex));
    return rc;
}

bool msg_secret_is_password_hash(const char *hash)
{
    return strncmp(hash, MSG_SECRET_PBKDF2_PREFIX, strlen(MSG_SECRET_PBKDF2_PREFIX)) == 0;
}

int msg_secret_password_verify(const char *hash, const char *secret, size_t len)
{
    unsigned char salt[SALT_BYTES];
    unsigned char want[PBKDF2_BYTES];
    unsigned char got[PBKDF2_BYTES];
    const char *p = NULL;
    char *end = NULL;
    unsigned long iter;
    int rc = MSG_SECRET_BAD_HASH;

    memset(got, 0, sizeof(got));
    if (!msg_secret_is_password_hash(hash)) {
        goto out;
    }
    if (len > MSG_SECRET_PASSWORD_MAX) {
        rc = MSG_SECRET_MISMATCH;
        goto out;
    }
    p = hash + strlen(MSG_SECRET_PBKDF2_PREFIX);
    if (*p < '1' || *p > '9') {
        goto out;
    }
    errno = 0;
    iter = strtoul(p, &end, 10);
    if (errno != 0 || iter < MSG_SECRET_PBKDF2_MIN_ITER || iter > MSG_SECRET_PBKDF2_MAX_ITER ||
        *end != '$') {
        goto out;
    }
    p = end + 1;
    if (strlen(p) != 2 * SALT_BYTES + 1 + 2 * PBKDF2_BYTES || p[2 * SALT_BYTES] != '$' ||
        msg_hex_decode_any(p, 2 * sizeof(salt), salt, sizeof(salt), NULL) != MSG_OK ||
        msg_hex_decode_any(p + 2 * SALT_BYTES + 1, 2 * sizeof(want), want, sizeof(want), NULL) !=
            MSG_OK) {
        goto out;
    }
    if (pbkdf2(secret, len, salt, (unsigned)iter, got) != MSG_OK) {
        goto out;
    }
    rc = msg_secret_equal(want, got, sizeof(want)) ? MSG_SECRET_MATCH : MSG_SECRET_MISMATCH;
out:
    msg_secret_wipe(got, sizeof(got));
    return rc;
}
