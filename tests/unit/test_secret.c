/* test_secret.c -- device keys, password hashes and the server key file
 * (broker-plugins/secret.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "msg_err.h"
#include "secret.h"
#include "tinytest.h"

static char tmpdir[64];

static const char *tmp_path(const char *name)
{
    static char path[128];

    if (tmpdir[0] == '\0') {
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/pantau-secret-XXXXXX");
        if (mkdtemp(tmpdir) == NULL) {
            perror("mkdtemp");
            abort();
        }
    }
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    return path;
}

static void make_key(struct secret_key *k, const char *name)
{
    char err[MSG_ERRLEN] = "";
    const char *p = tmp_path(name);

    unlink(p);
    TEST_CHECK(secret_key_create(p, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(secret_key_load(p, k, err, sizeof(err)) == MSG_OK);
    TEST_MSG("%s", err);
}

static bool all_hex(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return false;
        }
    }
    return s[n] == '\0';
}

static void test_device_key_new(void)
{
    char a[SECRET_DEVICE_KEY_LEN + 1];
    char b[SECRET_DEVICE_KEY_LEN + 1];
    char small[10];

    TEST_CHECK(secret_device_key_new(a, sizeof(a)) == MSG_OK);
    TEST_CHECK(secret_device_key_new(b, sizeof(b)) == MSG_OK);
    TEST_CHECK(strlen(a) == 64 && all_hex(a, 64));           /* 256 bits */
    TEST_CHECK(strcmp(a, b) != 0);
    TEST_CHECK(secret_device_key_new(small, sizeof(small)) == MSG_ERR_INVAL);
}

static void test_device_key_hash_verify(void)
{
    struct secret_key k1;
    struct secret_key k2;
    char secret[SECRET_DEVICE_KEY_LEN + 1];
    char hash[SECRET_HASH_MAX + 1];
    char cut[SECRET_HASH_MAX + 1];

    make_key(&k1, "k1");
    make_key(&k2, "k2");
    TEST_CHECK(strcmp(k1.id, k2.id) != 0);
    TEST_CHECK(secret_device_key_new(secret, sizeof(secret)) == MSG_OK);
    TEST_CHECK(secret_hash_device_key(&k1, secret, strlen(secret), hash, sizeof(hash)) == MSG_OK);
    TEST_CHECK(strncmp(hash, "hmac-sha256$k=", 14) == 0);
    TEST_CHECK(strncmp(hash + 14, k1.id, 8) == 0 && hash[22] == '$');
    TEST_CHECK(strlen(hash) == 14 + 8 + 1 + 64);
    TEST_CHECK(strstr(hash, secret) == NULL);                 /* the hash is not the secret */
    TEST_CHECK(secret_hash_kind(hash) == SECRET_KIND_HMAC);
    TEST_CHECK(secret_verify(&k1, hash, secret, strlen(secret)) == SECRET_MATCH);
    secret[0] = secret[0] == 'a' ? 'b' : 'a';
    TEST_CHECK(secret_verify(&k1, hash, secret, strlen(secret)) == SECRET_MISMATCH);
    TEST_CHECK(secret_verify(&k1, hash, "", 0) == SECRET_MISMATCH);
    /* made with another server key: not a wrong secret but a wrong key file */
    TEST_CHECK(secret_verify(&k2, hash, secret, strlen(secret)) == SECRET_BAD_HASH);
    TEST_CHECK(secret_verify(NULL, hash, secret, strlen(secret)) == SECRET_BAD_HASH);
    memcpy(cut, hash, sizeof(cut));
    cut[strlen(cut) - 1] = '\0';
    TEST_CHECK(secret_verify(&k1, cut, secret, strlen(secret)) == SECRET_BAD_HASH);
    memcpy(cut, hash, sizeof(cut));
    cut[30] = 'z';
    TEST_CHECK(secret_verify(&k1, cut, secret, strlen(secret)) == SECRET_BAD_HASH);
}

static void test_password_hash_verify(void)
{
    char h1[SECRET_HASH_MAX + 1];
    char h2[SECRET_HASH_MAX + 1];
    char bad[SECRET_HASH_MAX + 1];
    const char *pw = "Kali-Bekasi 630cm";
    char *p;

    TEST_CHECK(secret_hash_password(pw, strlen(pw), 99999, h1, sizeof(h1)) == MSG_ERR_INVAL);
    TEST_CHECK(secret_hash_password(pw, strlen(pw), 100000, h1, sizeof(h1)) == MSG_OK);
    TEST_CHECK(secret_hash_password(pw, strlen(pw), 100000, h2, sizeof(h2)) == MSG_OK);
    TEST_CHECK(strncmp(h1, "pbkdf2-sha512$i=100000$", 23) == 0);
    TEST_CHECK(strlen(h1) == 23 + 32 + 1 + 128 && strlen(h1) <= SECRET_HASH_MAX);
    TEST_CHECK(strcmp(h1, h2) != 0);                          /* salted */
    TEST_CHECK(strchr(h1, ' ') == NULL);
    TEST_CHECK(secret_hash_kind(h1) == SECRET_KIND_PBKDF2);
    TEST_CHECK(secret_verify(NULL, h1, pw, strlen(pw)) == SECRET_MATCH);
    TEST_CHECK(secret_verify(NULL, h2, pw, strlen(pw)) == SECRET_MATCH);
    TEST_CHECK(secret_verify(NULL, h1, "Kali-Bekasi 631cm", 17) == SECRET_MISMATCH);
    TEST_CHECK(secret_verify(NULL, h1, pw, strlen(pw) - 1) == SECRET_MISMATCH);
    /* a lowered iteration count in the stored text changes the result, never passes */
    memcpy(bad, h1, sizeof(bad));
    p = strstr(bad, "i=100000");
    memcpy(p, "i=100001", 8);
    TEST_CHECK(secret_verify(NULL, bad, pw, strlen(pw)) == SECRET_MISMATCH);
    memcpy(p, "i=099999", 8);
    TEST_CHECK(secret_verify(NULL, bad, pw, strlen(pw)) == SECRET_BAD_HASH);
    memcpy(p, "i=000100", 8);
    TEST_CHECK(secret_verify(NULL, bad, pw, strlen(pw)) == SECRET_BAD_HASH);
    TEST_CHECK(secret_verify(NULL, "pbkdf2-sha512$i=100000$zz", pw, strlen(pw)) ==
               SECRET_BAD_HASH);
    TEST_CHECK(secret_verify(NULL, "plain", pw, strlen(pw)) == SECRET_BAD_HASH);
    TEST_CHECK(secret_verify(NULL, "", pw, strlen(pw)) == SECRET_BAD_HASH);
    TEST_CHECK(secret_hash_kind("sha256$abc") == SECRET_KIND_NONE);
}

static void test_password_too_long(void)
{
    char hash[SECRET_HASH_MAX + 1];
    char *big = calloc(1, SECRET_PASSWORD_MAX + 2);

    TEST_CHECK(big != NULL);
    memset(big, 'a', SECRET_PASSWORD_MAX + 1);
    TEST_CHECK(secret_hash_password(big, SECRET_PASSWORD_MAX + 1, 100000, hash, sizeof(hash)) ==
               MSG_ERR_INVAL);
    TEST_CHECK(secret_hash_password(big, SECRET_PASSWORD_MAX, 100000, hash, sizeof(hash)) ==
               MSG_OK);
    TEST_CHECK(secret_verify(NULL, hash, big, SECRET_PASSWORD_MAX + 1) == SECRET_MISMATCH);
    free(big);
}

static void test_key_file_checks(void)
{
    struct secret_key k;
    char err[MSG_ERRLEN] = "";
    const char *p = tmp_path("key-mode");
    FILE *f;

    unlink(p);
    TEST_CHECK(secret_key_create(p, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(secret_key_create(p, err, sizeof(err)) == MSG_ERR_IO);   /* no overwrite */
    TEST_CHECK(strstr(err, p) != NULL);
    chmod(p, 0644);
    TEST_CHECK(secret_key_load(p, &k, err, sizeof(err)) == MSG_ERR_CONFIG);
    TEST_CHECK(strstr(err, p) != NULL && strstr(err, "group or others") != NULL);
    TEST_MSG("err: %s", err);

    p = tmp_path("key-short");
    unlink(p);
    f = fopen(p, "w");
    TEST_CHECK(f != NULL);
    fputs("0123456789abcdef-not-a-key-SECRETISH\n", f);
    fclose(f);
    chmod(p, 0600);
    TEST_CHECK(secret_key_load(p, &k, err, sizeof(err)) == MSG_ERR_CONFIG);
    /* the error names the file, never its content */
    TEST_CHECK(strstr(err, p) != NULL && strstr(err, "SECRETISH") == NULL);
    TEST_CHECK(secret_key_load(tmp_path("absent"), &k, err, sizeof(err)) == MSG_ERR_IO);
    TEST_CHECK(strstr(err, "absent") != NULL);
}

static void test_digest_and_equal(void)
{
    unsigned char key[32] = {1, 2, 3};
    unsigned char d1[SECRET_DIGEST_BYTES];
    unsigned char d2[SECRET_DIGEST_BYTES];

    secret_digest(key, sizeof(key), "ab", 2, "c", 1, d1);
    secret_digest(key, sizeof(key), "a", 1, "bc", 2, d2);
    TEST_CHECK(!secret_equal(d1, d2, sizeof(d1)));           /* the split is part of it */
    secret_digest(key, sizeof(key), "ab", 2, "c", 1, d2);
    TEST_CHECK(secret_equal(d1, d2, sizeof(d1)));
    key[0] = 9;
    secret_digest(key, sizeof(key), "ab", 2, "c", 1, d2);
    TEST_CHECK(!secret_equal(d1, d2, sizeof(d1)));
}

TEST_LIST = {
    {"device_key_new", test_device_key_new},
    {"device_key_hash_verify", test_device_key_hash_verify},
    {"password_hash_verify", test_password_hash_verify},
    {"password_too_long", test_password_too_long},
    {"key_file_checks", test_key_file_checks},
    {"digest_and_equal", test_digest_and_equal},
    {NULL, NULL},
};
