/* test_agent_cmdline.c -- unit tests of edge-agent/cmdline.c: a command split into argv
 * without a shell; shell syntax stays literal. */
#include <stdio.h>
#include <string.h>

#include "cmdline.h"
#include "msg_err.h"
#include "tinytest.h"

struct split_case {
    const char *in;
    int rc;
    const char *words;   /* joined with '|', or a piece of err */
};

static const struct split_case cases[] = {
    {"/usr/bin/read-sensor --port 3", MSG_OK, "/usr/bin/read-sensor|--port|3"},
    {"  cat   /dev/x  ", MSG_OK, "cat|/dev/x"},
    {"echo 'a b' \"c d\" e\\ f", MSG_OK, "echo|a b|c d|e f"},
    {"echo $(reboot); rm -rf / `x` > y", MSG_OK, "echo|$(reboot);|rm|-rf|/|`x`|>|y"},
    {"echo '' x", MSG_OK, "echo||x"},
    {"echo 'it''s'", MSG_OK, "echo|its"},
    {"echo \"a\\\"b\"", MSG_OK, "echo|a\"b"},
    {"", MSG_ERR_CONFIG, "empty"},
    {"   ", MSG_ERR_CONFIG, "empty"},
    {"echo 'open", MSG_ERR_CONFIG, "unterminated"},
    {"echo x\\", MSG_ERR_CONFIG, "backslash"},
};

static void test_split(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[256];
        char *argv[CMDLINE_ARGS_MAX + 1];
        char joined[256] = "";
        char err[MSG_ERRLEN] = "";
        size_t argc = 0;
        size_t used = 0;
        int rc = cmdline_split(cases[i].in, buf, sizeof(buf), argv, &argc, err, sizeof(err));

        TEST_CHECK(rc == cases[i].rc);
        TEST_MSG("case %zu '%s': rc %d err '%s'", i, cases[i].in, rc, err);
        if (rc != MSG_OK) {
            TEST_CHECK(strstr(err, cases[i].words) != NULL);
            TEST_MSG("case %zu: err '%s'", i, err);
            continue;
        }
        TEST_CHECK(argv[argc] == NULL);
        for (size_t k = 0; k < argc; k++) {
            used += (size_t)snprintf(joined + used, sizeof(joined) - used, "%s%s",
                                     k > 0 ? "|" : "", argv[k]);
        }
        TEST_CHECK(strcmp(joined, cases[i].words) == 0);
        TEST_MSG("case %zu: '%s'", i, joined);
    }
}

static void test_too_many_words(void)
{
    char in[256] = "";
    char buf[256];
    char *argv[CMDLINE_ARGS_MAX + 1];
    char err[MSG_ERRLEN] = "";
    size_t argc = 0;
    size_t used = 0;

    for (int i = 0; i < CMDLINE_ARGS_MAX; i++) {
        used += (size_t)snprintf(in + used, sizeof(in) - used, "a ");
    }
    TEST_CHECK(cmdline_split(in, buf, sizeof(buf), argv, &argc, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(argc == CMDLINE_ARGS_MAX);
    snprintf(in + used, sizeof(in) - used, "b");
    TEST_CHECK(cmdline_split(in, buf, sizeof(buf), argv, &argc, err, sizeof(err)) ==
               MSG_ERR_CONFIG);
    TEST_CHECK(strstr(err, "more than") != NULL);
}

TEST_LIST = {
    {"split", test_split},
    {"too_many_words", test_too_many_words},
    {NULL, NULL},
};
