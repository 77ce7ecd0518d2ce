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

TEST_LIST = {
    {"decodes_bytes", test_decodes_bytes},
    {"refuses_what_is_not_lower_case_hex", test_refuses_what_is_not_lower_case_hex},
    {NULL, NULL},
};
