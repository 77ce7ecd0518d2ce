/* test_msg_err.c -- unit tests of msg/msg_err.c: every code has a name and a description. */
#include <string.h>

#include "msg_err.h"
#include "tinytest.h"

static void test_names(void)
{
    static const struct {
        int rc;
        const char *name;
    } rows[] = {
        {MSG_OK, "MSG_OK"},
        {MSG_ERR_NOMEM, "MSG_ERR_NOMEM"},
        {MSG_ERR_INVAL, "MSG_ERR_INVAL"},
        {MSG_ERR_TOPIC, "MSG_ERR_TOPIC"},
        {MSG_ERR_JSON, "MSG_ERR_JSON"},
        {MSG_ERR_SCHEMA, "MSG_ERR_SCHEMA"},
        {MSG_ERR_IO, "MSG_ERR_IO"},
        {MSG_ERR_DB, "MSG_ERR_DB"},
        {MSG_ERR_FULL, "MSG_ERR_FULL"},
        {MSG_ERR_CONFIG, "MSG_ERR_CONFIG"},
        {MSG_ERR_CLASH, "MSG_ERR_CLASH"},
    };

    TEST_CHECK(MSG_OK == 0);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        TEST_CHECK(rows[i].rc == (int)i);   /* positive, dense, in this order */
        TEST_CHECK(strcmp(msg_errname(rows[i].rc), rows[i].name) == 0);
        TEST_CHECK(msg_strerror(rows[i].rc)[0] != '\0');
        for (size_t j = 0; j < i; j++) {
            TEST_CHECK(strcmp(msg_strerror(rows[i].rc), msg_strerror(rows[j].rc)) != 0);
        }
    }
    TEST_CHECK(strcmp(msg_errname(-1), "MSG_ERR_UNKNOWN") == 0);
    TEST_CHECK(strcmp(msg_errname(11), "MSG_ERR_UNKNOWN") == 0);
    TEST_CHECK(strcmp(msg_strerror(1000), "unknown error") == 0);
}

TEST_LIST = {
    {"names_and_descriptions", test_names},
    {NULL, NULL},
};
