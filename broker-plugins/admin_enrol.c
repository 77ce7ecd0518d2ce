/* admin_enrol.c -- pantau-admin enrol-phone's code (see admin_enrol.h). */
#include "admin_enrol.h"

#include <string.h>

#include <openssl/sha.h>

#include "msg_err.h"
#include "msg_hex.h"
#include "msg_secret.h"

#include "admin_common.h"

int admin_enrol_url_check(const char *url)
{
    size_t len;
    size_t skip;

    if (url == NULL) {
        return admin_usage_fail("enrol-phone needs --url (the broker's WebSocket: wss://...)");
    }
    len = strlen(url);
    if (strncmp(url, "wss://", 6) == 0) {
        skip = 6;
    } else if (strncmp(url, "ws://", 5) == 0) {
        skip = 5;
    } else {
        return admin_usage_fail("--url: '%s' is not a ws:// or wss:// URL", url);
    }
    if (len <= skip || len > ADMIN_ENROL_URL_MAX) {
        return admin_usage_fail("--url: '%s' has no host, or is over %d characters", url,
                                ADMIN_ENROL_URL_MAX);
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)url[i];

        if (c <= 0x20 || c >= 0x7f || c == ';') {
            return admin_usage_fail("--url: a space, ';' or a character outside printable "
                                    "ASCII at position %zu of '%s'",
                                    i + 1, url);
        }
    }
    return 0;
}

int admin_enrol_officers_check(const char *const *officers, int n)
{
    if (n == 0) {
        return admin_usage_fail("enrol-phone needs --officer USER (an account of role officer "
                                "the phone carries), once or more");
    }
    for (int i = 0; i < n; i++) {
        if (strlen(officers[i]) == 0 || strlen(officers[i]) > 64 ||
            strspn(officers[i], "abcdefghijklmnopqrstuvwxyz0123456789._-") != strlen(officers[i])) {
            return admin_usage_fail("--officer: '%s' is not an account name", officers[i]);
        }
        for (int j = 0; j < i; j++) {
            if (strcmp(officers[i], officers[j]) == 0) {
                return admin_usage_fail("--officer: '%s' given twice", officers[i]);
            }
        }
    }
    return 0;
}

/* The phone's verifier of the stored password hash (msg_secret.h's form, borrowed) into out
 * (ADMIN_ENROL_VERIFIER_MAX + 1 bytes): "<iterations>$<salt hex>$<SHA-256 of the PBKDF2
 * output, hex>". Returns 0, or -1 if hash is not of that form. */
static int officer_verifier(const char *hash, char *out)
{
    const char *p = NULL;
    const char *salt = NULL;
    const char *dk = NULL;
    unsigned char dk_bytes[64];
    unsigned char salt_bytes[16];
    unsigned char sum[SHA256_DIGEST_LENGTH];
    size_t ilen;
    int rc = -1;

    memset(dk_bytes, 0, sizeof(dk_bytes));
    if (!msg_secret_is_password_hash(hash)) {
        goto out;
    }
    p = hash + strlen(MSG_SECRET_PBKDF2_PREFIX);
    salt = strchr(p, '$');
    dk = salt != NULL ? strchr(salt + 1, '$') : NULL;
    if (dk == NULL) {
        goto out;
    }
    ilen = (size_t)(salt - p);
    if (ilen < 1 || ilen > 8 || strspn(p, "0123456789") != ilen || dk - salt - 1 != 32 ||
        strlen(dk + 1) != 128 ||
        msg_hex_decode_any(salt + 1, 32, salt_bytes, sizeof(salt_bytes), NULL) != MSG_OK ||
        msg_hex_decode_any(dk + 1, 128, dk_bytes, sizeof(dk_bytes), NULL) != MSG_OK) {
        goto out;
    }
    SHA256(dk_bytes, sizeof(dk_bytes), sum);
    memcpy(out, p, ilen);
    out[ilen] = '$';
    msg_hex_encode(salt_bytes, sizeof(salt_bytes), out + ilen + 1);
    out[ilen + 33] = '$';
    msg_hex_encode(sum, sizeof(sum), out + ilen + 34);
    rc = 0;
out:
    msg_secret_wipe(dk_bytes, sizeof(dk_bytes));
    return rc;
}

int admin_enrol_officers_add(PGconn *conn, const char *device_id, const char *const *officers,
                             int n, char (*verifiers)[ADMIN_ENROL_VERIFIER_MAX + 1])
{
    const char *p[2] = {device_id, NULL};
    PGresult *res = NULL;
    int rc = 1;

    res = admin_exec(conn, "recording the phone",
                     "INSERT INTO pantau.phone (device_id) VALUES ($1)", 1, p);
    if (res == NULL) {
        goto out;
    }
    for (int i = 0; i < n; i++) {
        PQclear(res);
        p[1] = officers[i];
        res = admin_exec(conn, "reading the officer",
                         "SELECT role, enabled, secret_kind, secret_hash FROM pantau_ops.account "
                         "WHERE username = $1",
                         1, &p[1]);
        if (res == NULL) {
            goto out;
        }
        if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "officer") != 0 ||
            strcmp(PQgetvalue(res, 0, 1), "t") != 0 ||
            strcmp(PQgetvalue(res, 0, 2), "password") != 0 ||
            officer_verifier(PQgetvalue(res, 0, 3), verifiers[i]) != 0) {
            fprintf(stderr,
                    "pantau-admin: enrol-phone: '%s' is not an enabled officer account with a "
                    "password (pantau-admin user-add %s --role officer)\n",
                    officers[i], officers[i]);
            goto out;
        }
        PQclear(res);
        res = admin_exec(conn, "putting the officer on the phone",
                         "INSERT INTO pantau.phone_officer (device_id, officer) VALUES ($1, $2)", 2,
                         p);
        if (res == NULL) {
            goto out;
        }
    }
    rc = 0;
out:
    PQclear(res);
    return rc;
}

void admin_enrol_print(FILE *f, const char *device_id, const char *secret, const char *url,
                       const char *const *officers, int n,
                       char (*verifiers)[ADMIN_ENROL_VERIFIER_MAX + 1])
{
    fprintf(f, "pantau2;%s;%s;%s", device_id, secret, url);
    for (int i = 0; i < n; i++) {
        fprintf(f, ";%s:%s", officers[i], verifiers[i]);
    }
    fputc('\n', f);
}
