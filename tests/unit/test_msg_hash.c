/* test_msg_hash.c -- unit tests of msg/msg_hash.c: FNV-1a 64 against the published test
 * vectors, the continuation and field forms, and the 32-bit fold.
 *
 * The field form's values are written by the broker's regcache into its snapshot file (an
 * account's version) and compared with the values a later broker computes: the vectors below
 * were computed with the formula regcache.c used before msg_hash existed, and must not change. */
#include <stdint.h>
#include <string.h>

#include "msg_hash.h"
#include "tinytest.h"

static void test_fnv1a_64_test_vectors(void)
{
    static const struct {
        const char *in;
        uint64_t want;
    } cases[] = {
        /* from the FNV test suite (isthe.com/chongo/tech/comp/fnv, test_fnv.c) */
        {"", UINT64_C(0xcbf29ce484222325)},
        {"a", UINT64_C(0xaf63dc4c8601ec8c)},
        {"foobar", UINT64_C(0x85944171f73967e8)},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        TEST_CHECK(msg_hash_of(cases[i].in) == cases[i].want);
        TEST_MSG("case '%s'", cases[i].in);
        TEST_CHECK(msg_hash_bytes(MSG_HASH_INIT, cases[i].in, strlen(cases[i].in)) ==
                   cases[i].want);
        TEST_CHECK(msg_hash_str(MSG_HASH_INIT, cases[i].in) == cases[i].want);
    }
    TEST_CHECK(MSG_HASH_INIT == UINT64_C(0xcbf29ce484222325));
}

static void test_continuation_equals_one_pass(void)
{
    uint64_t h = msg_hash_str(MSG_HASH_INIT, "foo");

    TEST_CHECK(msg_hash_str(h, "bar") == msg_hash_of("foobar"));
    TEST_CHECK(msg_hash_bytes(msg_hash_bytes(MSG_HASH_INIT, "foob", 4), "ar", 2) ==
               msg_hash_of("foobar"));
    /* bytes above 0x7f hash as unsigned */
    TEST_CHECK(msg_hash_bytes(MSG_HASH_INIT, "\xff", 1) ==
               ((MSG_HASH_INIT ^ UINT64_C(0xff)) * UINT64_C(1099511628211)));
}

static void test_fields_are_separated_and_stable(void)
{
    uint64_t ab_c = msg_hash_field(msg_hash_field(MSG_HASH_INIT, "ab"), "c");
    uint64_t a_bc = msg_hash_field(msg_hash_field(MSG_HASH_INIT, "a"), "bc");
    uint64_t h = MSG_HASH_INIT;

    TEST_CHECK(ab_c != a_bc);
    /* regcache's account versions (see the file comment): bit-identical for ever */
    TEST_CHECK(ab_c == UINT64_C(0x20ba9b3025a8b421));
    TEST_CHECK(a_bc == UINT64_C(0xa0a3542c19b900ab));
    h = msg_hash_field(h, "gw-1");
    h = msg_hash_field(h, "device");
    h = msg_hash_field(h, "");
    TEST_CHECK(h == UINT64_C(0x53efe48d0d50db22));
    TEST_CHECK(msg_hash_field(MSG_HASH_INIT, "a") == msg_hash_bytes(MSG_HASH_INIT, "a\xff", 2));
}

static void test_fold32(void)
{
    TEST_CHECK(msg_hash_fold32(UINT64_C(0x0000000100000002)) == UINT32_C(3));
    TEST_CHECK(msg_hash_fold32(UINT64_C(0xffffffff00000000)) == UINT32_C(0xffffffff));
    TEST_CHECK(msg_hash_fold32(UINT64_C(0x1234567812345678)) == 0);
}

TEST_LIST = {
    {"fnv1a_64_test_vectors", test_fnv1a_64_test_vectors},
    {"continuation_equals_one_pass", test_continuation_equals_one_pass},
    {"fields_are_separated_and_stable", test_fields_are_separated_and_stable},
    {"fold32", test_fold32},
    {NULL, NULL},
};
