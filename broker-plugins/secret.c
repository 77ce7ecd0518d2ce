/* secret.c -- device keys (HMAC-SHA256 with a server key) and passwords (PBKDF2-SHA512), with
 * OpenSSL libcrypto. See secret.h for the text forms. Passwords are msg/msg_secret.c's: the
 * console checks them with the same function. */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "msg_err.h"
#include "msg_hex.h"
#include "msg_secret.h"

#define HMAC_PREFIX "hmac-sha256$k="
#define PBKDF2_PREFIX MSG_SECRET_PBKDF2_PREFIX

bool secret_equal(const void *a, const void *b, size_t n)
{
    return msg_secret_equal(a, b, n);
}

void secret_wipe(void *p, size_t n)
{
    msg_secret_wipe(p, n);
}

static void key_id(struct secret_key *k)
{
    unsigned char d[SHA256_DIGEST_LENGTH];

    SHA256(k->key, sizeof(k->key), d);
    msg_hex_encode(d, 4, k->id);
}

int secret_key_load(const char *path, struct secret_key *out, char *err, size_t errlen)
{
    char line[256];
    struct stat st;
    FILE *f = NULL;
    size_t len;
    int rc = MSG_ERR_IO;

    memset(out, 0, sizeof(*out));
    f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "key file %s: %s", path, strerror(errno));
        goto out;
    }
    if (fstat(fileno(f), &st) != 0) {
        snprintf(err, errlen, "key file %s: %s", path, strerror(errno));
        goto out;
    }
    rc = MSG_ERR_CONFIG;
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        snprintf(err, errlen, "key file %s: readable by group or others (chmod 600)", path);
        goto out;
    }
    if (fgets(line, sizeof(line), f) == NULL) {
        snprintf(err, errlen, "key file %s: empty", path);
        goto out;
    }
    len = strcspn(line, "\r\n");
    if (len != 2 * SECRET_KEY_BYTES ||
        msg_hex_decode_any(line, 2 * SECRET_KEY_BYTES, out->key, SECRET_KEY_BYTES, NULL) !=
            MSG_OK) {
        snprintf(err, errlen, "key file %s: first line is not %d hex digits", path,
                 2 * SECRET_KEY_BYTES);
        goto out;
    }
    key_id(out);
    rc = MSG_OK;
out:
    secret_wipe(line, sizeof(line));
    if (f != NULL) {
        fclose(f);
    }
    if (rc != MSG_OK) {
        secret_wipe(out, sizeof(*out));
    }
    return rc;
}

int secret_key_create(const char *path, char *err, size_t errlen)
{
    unsigned char key[SECRET_KEY_BYTES];
    char text[2 * SECRET_KEY_BYTES + 2];
    int fd = -1;
    int rc = MSG_ERR_IO;
    size_t len;

    if (RAND_bytes(key, sizeof(key)) != 1) {
        snprintf(err, errlen, "key file %s: no random bytes from OpenSSL", path);
        goto out;
    }
    msg_hex_encode(key, sizeof(key), text);
    len = strlen(text);
    text[len++] = '\n';
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "key file %s: %s", path, strerror(errno));
        goto out;
    }
    if (write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
        snprintf(err, errlen, "key file %s: write: %s", path, strerror(errno));
        goto out;
    }
    rc = MSG_OK;
out:
    if (fd >= 0 && close(fd) != 0 && rc == MSG_OK) {
        snprintf(err, errlen, "key file %s: close: %s", path, strerror(errno));
        rc = MSG_ERR_IO;
    }
    secret_wipe(key, sizeof(key));
    secret_wipe(text, sizeof(text));
    return rc;
}

int secret_device_key_new(char *buf, size_t buflen)
{
    unsigned char raw[SECRET_KEY_BYTES];

    if (buflen < SECRET_DEVICE_KEY_LEN + 1) {
        return MSG_ERR_INVAL;
    }
    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        return MSG_ERR_IO;
    }
    msg_hex_encode(raw, sizeof(raw), buf);
    secret_wipe(raw, sizeof(raw));
    return MSG_OK;
}

static void hmac_raw(const struct secret_key *key, const char *secret, size_t len,
                     unsigned char out[SHA256_DIGEST_LENGTH])
{
    unsigned int outlen = SHA256_DIGEST_LENGTH;

    HMAC(EVP_sha256(), key->key, (int)sizeof(key->key), (const unsigned char *)secret, len, out,
         &outlen);
}

int secret_hash_device_key(const struct secret_key *key, const char *secret, size_t len,
                           char *out, size_t outlen)
{
    unsigned char mac[SHA256_DIGEST_LENGTH];
    char hex[2 * SHA256_DIGEST_LENGTH + 1];
    int n;

    if (key == NULL || outlen < SECRET_HASH_MAX + 1 || len > SECRET_PASSWORD_MAX) {
        return MSG_ERR_INVAL;
    }
    hmac_raw(key, secret, len, mac);
    msg_hex_encode(mac, sizeof(mac), hex);
    n = snprintf(out, outlen, HMAC_PREFIX "%s$%s", key->id, hex);
    secret_wipe(mac, sizeof(mac));
    return n > 0 && (size_t)n < outlen ? MSG_OK : MSG_ERR_INVAL;
}

/* Passwords: one rule for every program, msg/msg_secret.c. */
int secret_hash_password(const char *secret, size_t len, unsigned iterations, char *out,
                         size_t outlen)
{
    return msg_secret_password_hash(secret, len, iterations, out, outlen);
}

enum secret_kind secret_hash_kind(const char *hash)
{
    if (strncmp(hash, HMAC_PREFIX, strlen(HMAC_PREFIX)) == 0) {
        return SECRET_KIND_HMAC;
    }
    if (strncmp(hash, PBKDF2_PREFIX, strlen(PBKDF2_PREFIX)) == 0) {
        return SECRET_KIND_PBKDF2;
    }
    return SECRET_KIND_NONE;
}

static int verify_hmac(const struct secret_key *key, const char *hash, const char *secret,
                       size_t len)
{
    unsigned char want[SHA256_DIGEST_LENGTH];
    unsigned char got[SHA256_DIGEST_LENGTH];
    const char *p = hash + strlen(HMAC_PREFIX);
    int rc = SECRET_BAD_HASH;

    /* <8 hex key id>$<64 hex> and nothing after */
    if (key == NULL || strlen(p) != 8 + 1 + 2 * SHA256_DIGEST_LENGTH || p[8] != '$' ||
        msg_hex_decode_any(p + 9, 2 * sizeof(want), want, sizeof(want), NULL) != MSG_OK ||
        memcmp(p, key->id, 8) != 0) {
        goto out;
    }
    hmac_raw(key, secret, len, got);
    rc = secret_equal(want, got, sizeof(want)) ? SECRET_MATCH : SECRET_MISMATCH;
out:
    secret_wipe(got, sizeof(got));
    return rc;
}

int secret_verify(const struct secret_key *key, const char *hash, const char *secret,
                  size_t len)
{
    if (len > SECRET_PASSWORD_MAX) {
        return SECRET_MISMATCH;
    }
    switch (secret_hash_kind(hash)) {
    case SECRET_KIND_HMAC:
        return verify_hmac(key, hash, secret, len);
    case SECRET_KIND_PBKDF2:
        switch (msg_secret_password_verify(hash, secret, len)) {
        case MSG_SECRET_MATCH:
            return SECRET_MATCH;
        case MSG_SECRET_MISMATCH:
            return SECRET_MISMATCH;
        default:
            return SECRET_BAD_HASH;
        }
    case SECRET_KIND_NONE:
        break;
    }
    return SECRET_BAD_HASH;
}

void secret_digest(const unsigned char *key, size_t keylen, const char *a, size_t alen,
                   const char *b, size_t blen, unsigned char out[SECRET_DIGEST_BYTES])
{
    unsigned char buf[SECRET_PASSWORD_MAX * 2 + 1];
    unsigned int outlen = SECRET_DIGEST_BYTES;

    /* both parts are bounded by the callers (an id and a password); cut, never overflow */
    if (alen > SECRET_PASSWORD_MAX) {
        alen = SECRET_PASSWORD_MAX;
    }
    if (blen > SECRET_PASSWORD_MAX) {
        blen = SECRET_PASSWORD_MAX;
    }
    memcpy(buf, a, alen);
    buf[alen] = 0;
    memcpy(buf + alen + 1, b, blen);
    HMAC(EVP_sha256(), key, (int)keylen, buf, alen + 1 + blen, out, &outlen);
    secret_wipe(buf, alen + 1 + blen);
}
