/* test_msg_daemon.c -- unit tests of msg/msg_daemon.c: the daemons' command line (what runs,
 * what exits with 0 and what with 2) and their signals. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "msg_daemon.h"
#include "tinytest.h"

static int usages; /* calls of the callbacks below, per test */
static int configs;
static volatile sig_atomic_t stopped;

static void usage(FILE *f)
{
    (void)f;
    usages++;
}

static void print_config(FILE *f)
{
    (void)f;
    configs++;
}

static void on_stop(int sig)
{
    stopped = sig;
}

static const struct msg_daemon_cli cli = {"pantau-test", "9.9", usage, print_config};

/* msg_daemon_args on the NULL-terminated list of arguments after the program name. */
static int args(const char *const *list, const char **path, bool *check)
{
    char *argv[8] = {(char *)"pantau-test"};
    int argc = 1;

    for (; *list != NULL; list++) {
        argv[argc++] = (char *)*list;
    }
    usages = 0;
    configs = 0;
    return msg_daemon_args(&cli, argc, argv, path, check);
}

static void test_runs_with_a_config(void)
{
    const char *path = NULL;
    bool check = true;

    TEST_CHECK(args((const char *const[]){"-c", "a.conf", NULL}, &path, &check) == MSG_DAEMON_RUN);
    TEST_CHECK(path != NULL && strcmp(path, "a.conf") == 0 && !check);
    TEST_CHECK(args((const char *const[]){"--check", "--config=b.conf", NULL}, &path, &check) ==
               MSG_DAEMON_RUN);
    TEST_CHECK(path != NULL && strcmp(path, "b.conf") == 0 && check);
    TEST_CHECK(args((const char *const[]){"--config", "c.conf", NULL}, &path, &check) ==
               MSG_DAEMON_RUN);
    TEST_CHECK(strcmp(path, "c.conf") == 0 && usages == 0 && configs == 0);
}

static void test_exits_0_after_help_version_print_config(void)
{
    const char *path;
    bool check;

    TEST_CHECK(args((const char *const[]){"-c", "a.conf", "--help", NULL}, &path, &check) == 0);
    TEST_CHECK(usages == 1 && configs == 1);
    TEST_CHECK(args((const char *const[]){"--print-config", NULL}, &path, &check) == 0);
    TEST_CHECK(usages == 0 && configs == 1);
    TEST_CHECK(args((const char *const[]){"-V", NULL}, &path, &check) == 0);
    TEST_CHECK(usages == 0 && configs == 0);
}

static void test_exits_2_on_bad_usage(void)
{
    const char *path;
    bool check;

    TEST_CHECK(args((const char *const[]){NULL}, &path, &check) == 2); /* no -c */
    TEST_CHECK(usages == 1);
    TEST_CHECK(args((const char *const[]){"-c", NULL}, &path, &check) == 2);
    TEST_CHECK(usages == 1);
    TEST_CHECK(args((const char *const[]){"-c", "a.conf", "--bogus", NULL}, &path, &check) == 2);
    TEST_CHECK(usages == 1 && configs == 0);
    TEST_CHECK(args((const char *const[]){"--check", NULL}, &path, &check) == 2);
}

static void test_signals_ask_to_stop(void)
{
    stopped = 0;
    TEST_CHECK(msg_daemon_signals(on_stop) == 0);
    TEST_CHECK(raise(SIGTERM) == 0);
    TEST_CHECK(stopped == SIGTERM);
    TEST_CHECK(raise(SIGINT) == 0);
    TEST_CHECK(stopped == SIGINT);
    TEST_CHECK(raise(SIGPIPE) == 0); /* ignored: still here */
    TEST_CHECK(stopped == SIGINT);
}

TEST_LIST = {
    {"runs_with_a_config", test_runs_with_a_config},
    {"exits_0_after_help_version_print_config", test_exits_0_after_help_version_print_config},
    {"exits_2_on_bad_usage", test_exits_2_on_bad_usage},
    {"signals_ask_to_stop", test_signals_ask_to_stop},
    {NULL, NULL},
};
