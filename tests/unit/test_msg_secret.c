/* test_msg_secret.c -- unit tests of msg/msg_secret.c: the one password rule of pantau (the
 * broker plugin, pantau-admin and pantau-console check with it). */
#include <stdbool.h>
#include <string.h>

#include "msg_err.h"
#include "msg_secret.h"
#include "tinytest.h"

/* made independently (Python's hashlib.pbkdf2_hmac('sha512', ..., 100000, 64)): the text form
 * stored in pantau_ops.account must keep verifying whatever this file becomes */
static const char KNOWN[] = "pbkdf2-sha512$i=100000$000102030405060708090a0b0c0d0e0f$"
                            "8e05b0eb29bde50cfefd9da474d53737479c22fcacc39712323f679acdcbef33"
                            "b57f90e2d2a549d2d50679d62c3e28849991ec21f8e4c68f297b23469285cd59";
static const char KNOWN_PW[] = "kata-sandi-rahasia";

static void test_known_hash_verifies(void)
{
    TEST_CHECK(msg_secret_is_password_hash(KNOWN));
    TEST_CHECK(msg_secret_password_verify(KNOWN, KNOWN_PW, strlen(KNOWN_PW)) == MSG_SECRET_MATCH);
    TEST_CHECK(msg_secret_password_verify(KNOWN, "kata-sandi-rahasiA", 18) == MSG_SECRET_MISMATCH);
    TEST_CHECK(msg_secret_password_verify(KNOWN, KNOWN_PW, strlen(KNOWN_PW) - 1) ==
               MSG_SECRET_MISMATCH);
}

static void test_hash_then_verify_with_a_fresh_salt(void)
{
    char a[MSG_SECRET_HASH_MAX + 1];
    char b[MSG_SECRET_HASH_MAX + 1];

    TEST_CHECK(msg_secret_password_hash("pw", 2, 100000, a, sizeof(a)) == MSG_OK);
    TEST_CHECK(msg_secret_password_hash("pw", 2, 100000, b, sizeof(b)) == MSG_OK);
    TEST_CHECK(strncmp(a, "pbkdf2-sha512$i=100000$", 23) == 0);
    TEST_CHECK(strcmp(a, b) != 0); /* a new salt each time */
    TEST_CHECK(msg_secret_password_verify(a, "pw", 2) == MSG_SECRET_MATCH);
    TEST_CHECK(msg_secret_password_verify(b, "px", 2) == MSG_SECRET_MISMATCH);
}

static void test_refuses_bad_arguments(void)
{
    char out[MSG_SECRET_HASH_MAX + 1];
    char big[MSG_SECRET_PASSWORD_MAX + 2];

    memset(big, 'x', sizeof(big));
    TEST_CHECK(msg_secret_password_hash("pw", 2, 99999, out, sizeof(out)) == MSG_ERR_INVAL);
    TEST_CHECK(msg_secret_password_hash("pw", 2, 100000, out, 100) == MSG_ERR_INVAL);
    TEST_CHECK(msg_secret_password_hash(big, sizeof(big), 100000, out, sizeof(out)) ==
               MSG_ERR_INVAL);
    /* a password longer than the limit never matches (and costs no PBKDF2) */
    TEST_CHECK(msg_secret_password_verify(KNOWN, big, sizeof(big)) == MSG_SECRET_MISMATCH);
}

static void test_malformed_hashes_are_bad_hashes(void)
{
    static const char *const bad[] = {
        "",
        "hmac-sha256$k=01234567$00",
        "pbkdf2-sha512$i=99999$000102030405060708090a0b0c0d0e0f$00",
        "pbkdf2-sha512$i=0100000$000102030405060708090a0b0c0d0e0f$00",
        "pbkdf2-sha512$i=100000$000102030405060708090a0b0c0d0e0f$8e05",
        "pbkdf2-sha512$i=100000$0001020304050607$8e05b0eb29bde50cfefd9da474d53737",
        "pbkdf2-sha512$i=100000x000102030405060708090a0b0c0d0e0f$00",
        NULL,
    };
    char shifted[sizeof(KNOWN)];
    size_t i;

    for (i = 0; bad[i] != NULL; i++) {
        TEST_CHECK(msg_secret_password_verify(bad[i], "pw", 2) == MSG_SECRET_BAD_HASH);
        TEST_MSG("hash %zu: %s", i, bad[i]);
    }
    /* not hex where the digest is */
    memcpy(shifted, KNOWN, sizeof(KNOWN));
    shifted[sizeof(KNOWN) - 2] = 'g';
    TEST_CHECK(msg_secret_password_verify(shifted, KNOWN_PW, strlen(KNOWN_PW)) ==
               MSG_SECRET_BAD_HASH);
}

static void test_equal_and_wipe(void)
{
    char a[8] = "abcdefg";
    char b[8] = "abcdefg";

    TEST_CHECK(msg_secret_equal(a, b, sizeof(a)));
    b[6] = 'h';
    TEST_CHECK(!msg_secret_equal(a, b, sizeof(a)));
    TEST_CHECK(msg_secret_equal(a, b, 6));
    msg_secret_wipe(a, sizeof(a));
    TEST_CHECK(a[0] == 0 && a[7] == 0);
}

TEST_LIST = {
    {"known_hash_verifies", test_known_hash_verifies},
    {"hash_then_verify_with_a_fresh_salt", test_hash_then_verify_with_a_fresh_salt},
    {"refuses_bad_arguments", test_refuses_bad_arguments},
    {"malformed_hashes_are_bad_hashes", test_malformed_hashes_are_bad_hashes},
    {"equal_and_wipe", test_equal_and_wipe},
    {NULL, NULL},
};
