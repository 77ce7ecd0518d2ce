/* test_msg_hex.c -- unit tests of msg/msg_hex.c: lower-case hex to bytes, and where it stops. */
#include <string.h>

#include "msg_err.h"
#include "msg_hex.h"
#include "tinytest.h"

static void test_decodes_bytes(void)
{
    unsigned char out[4] = {0};
    size_t off = 99;

    TEST_CHECK(msg_hex_decode("00ff7a10", 8, out, sizeof(out), &off) == MSG_OK);
    TEST_CHECK(out[0] == 0x00 && out[1] == 0xff && out[2] == 0x7a && out[3] == 0x10);
    TEST_CHECK(off == 99); /* untouched on success */
    TEST_CHECK(msg_hex_decode("", 0, out, 0, NULL) == MSG_OK);
}

static void test_refuses_what_is_not_lower_case_hex(void)
{
    unsigned char out[4];
    size_t off = 0;

    TEST_CHECK(msg_hex_decode("00FF", 4, out, sizeof(out), &off) == MSG_ERR_INVAL);
    TEST_CHECK(off == 2);
    TEST_CHECK(msg_hex_decode("0g", 2, out, sizeof(out), &off) == MSG_ERR_INVAL);
    TEST_CHECK(off == 1);
    TEST_CHECK(msg_hex_decode("\\x00", 4, out, sizeof(out), &off) == MSG_ERR_INVAL);
    TEST_CHECK(off == 0);
    TEST_CHECK(msg_hex_decode("abc", 3, out, sizeof(out), &off) == MSG_ERR_INVAL);
    TEST_CHECK(off == 3);                                                 /* odd length */
    TEST_CHECK(msg_hex_decode("0011", 4, out, 1, NULL) == MSG_ERR_INVAL); /* no room */
}

static void test_encodes_lower_case_and_back(void)
{
    unsigned char in[256];
    unsigned char back[256];
    char text[2 * sizeof(in) + 1];

    for (size_t i = 0; i < sizeof(in); i++) {
        in[i] = (unsigned char)i;
    }
    memset(text, 'x', sizeof(text));
    msg_hex_encode(in, sizeof(in), text);
    TEST_CHECK(strlen(text) == 2 * sizeof(in));
    TEST_CHECK(memcmp(text, "000102", 6) == 0 && memcmp(text + 2 * 0xab, "abac", 4) == 0);
    TEST_CHECK(msg_hex_decode(text, strlen(text), back, sizeof(back), NULL) == MSG_OK);
    TEST_CHECK(memcmp(in, back, sizeof(in)) == 0);
    msg_hex_encode(in, 0, text);
    TEST_CHECK(text[0] == '\0');
}

static void test_decode_any_takes_either_case(void)
{
    unsigned char out[4];
    size_t off = 99;

    TEST_CHECK(msg_hex_decode_any("aBcD0f9E", 8, out, sizeof(out), NULL) == MSG_OK);
    TEST_CHECK(out[0] == 0xab && out[1] == 0xcd && out[2] == 0x0f && out[3] == 0x9e);
    TEST_CHECK(msg_hex_decode("aBcD", 4, out, sizeof(out), &off) == MSG_ERR_INVAL);
    TEST_CHECK(off == 1); /* the lower-case decoder refuses 'B' */
    TEST_CHECK(msg_hex_decode_any("0G", 2, out, sizeof(out), &off) == MSG_ERR_INVAL);
    TEST_CHECK(off == 1);
    TEST_CHECK(msg_hex_decode_any("0", 1, out, sizeof(out), &off) == MSG_ERR_INVAL);
    TEST_CHECK(off == 1);
}

TEST_LIST = {
    {"decodes_bytes", test_decodes_bytes},
    {"encodes_lower_case_and_back", test_encodes_lower_case_and_back},
    {"decode_any_takes_either_case", test_decode_any_takes_either_case},
    {"refuses_what_is_not_lower_case_hex", test_refuses_what_is_not_lower_case_hex},
    {NULL, NULL},
};
