/* test_log.c -- unit tests of msg/log.c: levels, thresholds, the systemd "<N>" prefix, one line
 * per message. Standard error is redirected into a temporary file and read back. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "msg_err.h"
#include "tinytest.h"

/* Runs fn with stderr going to a file; returns what was written (static buffer). */
static const char *capture(void (*fn)(void))
{
    static char out[4096];
    char path[] = "/tmp/pantau-test-log-XXXXXX";
    int fd = mkstemp(path);
    int saved = dup(STDERR_FILENO);
    FILE *f = NULL;
    size_t n = 0;

    out[0] = '\0';
    if (fd < 0 || saved < 0) {
        return out;
    }
    dup2(fd, STDERR_FILENO);
    fn();
    dup2(saved, STDERR_FILENO);
    close(saved);
    f = fdopen(fd, "r");
    if (f != NULL) {
        rewind(f);
        n = fread(out, 1, sizeof(out) - 1, f);
        out[n] = '\0';
        fclose(f);
    }
    unlink(path);
    return out;
}

static void emit_levels(void)
{
    log_msg(LOG_ERR, "collector: err line key=%d", 1);
    log_msg(LOG_WARNING, "warning line");
    log_msg(LOG_NOTICE, "notice line");
    log_msg(LOG_INFO, "info line");
    log_msg(LOG_DEBUG, "debug line");
}

static void emit_multiline(void)
{
    log_msg(LOG_WARNING, "first\nsecond\tthird");
}

static void emit_long(void)
{
    char big[3000];

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    log_msg(LOG_ERR, "%s", big);
}

static void test_systemd_prefix_and_threshold(void)
{
    const char *out;

    log_setup(LOG_NOTICE, LOG_TO_SYSTEMD);
    out = capture(emit_levels);
    TEST_CHECK(strcmp(out, "<3>collector: err line key=1\n<4>warning line\n<5>notice line\n") ==
               0);
    TEST_MSG("got '%s'", out);
    log_setup(LOG_DEBUG, LOG_TO_SYSTEMD);
    out = capture(emit_levels);
    TEST_CHECK(strstr(out, "<7>debug line\n") != NULL);
    log_setup(LOG_ERR, LOG_TO_SYSTEMD);
    out = capture(emit_levels);
    TEST_CHECK(strcmp(out, "<3>collector: err line key=1\n") == 0);
    TEST_CHECK(log_enabled(LOG_ERR) && !log_enabled(LOG_WARNING));
}

static void test_one_line_per_message(void)
{
    const char *out;

    log_setup(LOG_INFO, LOG_TO_SYSTEMD);
    out = capture(emit_multiline);
    TEST_CHECK(strcmp(out, "<4>first second third\n") == 0);
    TEST_MSG("got '%s'", out);
    out = capture(emit_long);
    TEST_CHECK(strlen(out) == LOG_LINE_MAX + 1);
    TEST_CHECK(strcmp(out + LOG_LINE_MAX - 3, "...\n") == 0);
}

static void test_plain_mode(void)
{
    const char *out;

    log_setup(LOG_INFO, LOG_TO_STDERR);
    out = capture(emit_multiline);
    /* "2026-02-11T03:15:00.000Z warning: first second third" */
    TEST_CHECK(strlen(out) == 24 + strlen(" warning: first second third\n"));
    TEST_CHECK(out[4] == '-' && out[10] == 'T' && out[23] == 'Z');
    TEST_CHECK(strcmp(out + 24, " warning: first second third\n") == 0);
    TEST_MSG("got '%s'", out);
}

static void test_auto_detects_journald(void)
{
    const char *out;

    setenv("JOURNAL_STREAM", "8:12345", 1);
    log_setup(LOG_INFO, LOG_TO_AUTO);
    out = capture(emit_multiline);
    TEST_CHECK(strncmp(out, "<4>", 3) == 0);
    unsetenv("JOURNAL_STREAM");
    log_setup(LOG_INFO, LOG_TO_AUTO);
    out = capture(emit_multiline);
    TEST_CHECK(strncmp(out, "<4>", 3) != 0 && strstr(out, " warning: ") != NULL);
    TEST_MSG("got '%s'", out);
}

static void test_level_names(void)
{
    static const struct {
        const char *name;
        int level;
    } rows[] = {
        {"err", LOG_ERR},       {"warning", LOG_WARNING}, {"notice", LOG_NOTICE},
        {"info", LOG_INFO},     {"debug", LOG_DEBUG},
    };
    int level = -1;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        TEST_CHECK(log_level_from_name(rows[i].name, &level) == MSG_OK);
        TEST_CHECK(level == rows[i].level);
    }
    TEST_CHECK(log_level_from_name("crit", &level) == MSG_ERR_CONFIG);
    TEST_CHECK(log_level_from_name("INFO", &level) == MSG_ERR_CONFIG);
    TEST_CHECK(log_level_from_name("", &level) == MSG_ERR_CONFIG);
    TEST_CHECK(LOG_ERR == 3 && LOG_WARNING == 4 && LOG_NOTICE == 5 && LOG_INFO == 6 &&
               LOG_DEBUG == 7);
}

TEST_LIST = {
    {"systemd_prefix_and_threshold", test_systemd_prefix_and_threshold},
    {"one_line_per_message", test_one_line_per_message},
    {"plain_mode", test_plain_mode},
    {"auto_detects_journald", test_auto_detects_journald},
    {"level_names", test_level_names},
    {NULL, NULL},
};
