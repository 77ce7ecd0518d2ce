/* test_msg_file.c -- unit tests of msg/msg_file.c: a file replaced whole, its mode, refusing
 * to replace, and a failed write leaving the old content and no temporary file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "msg_err.h"
#include "msg_file.h"
#include "tinytest.h"

/* A new empty folder under /tmp into dir (len bytes). */
static void new_dir(char *dir, size_t len)
{
    snprintf(dir, len, "/tmp/test_msg_file.XXXXXX");
    TEST_CHECK(mkdtemp(dir) != NULL);
}

/* The content of path into buf (len bytes, NUL-terminated); its length, or -1. */
static long slurp(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "rb");
    size_t n;

    if (f == NULL) {
        return -1;
    }
    n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
    return (long)n;
}

static void test_writes_and_replaces_whole(void)
{
    char dir[64];
    char path[128];
    char tmp[140];
    char buf[64];
    char err[256];
    struct stat st;

    new_dir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/a.prom", dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    TEST_CHECK(msg_file_write_atomic(path, "first\n", 6, 0640, 0, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(slurp(path, buf, sizeof(buf)) == 6 && strcmp(buf, "first\n") == 0);
    TEST_CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640);
    TEST_CHECK(msg_file_write_atomic(path, "2", 1, 0600, MSG_FILE_SYNC, err, sizeof(err)) ==
               MSG_OK);
    TEST_CHECK(slurp(path, buf, sizeof(buf)) == 1 && strcmp(buf, "2") == 0);
    TEST_CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    TEST_CHECK(access(tmp, F_OK) != 0);
    TEST_CHECK(msg_file_write_atomic(path, "", 0, 0600, 0, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(slurp(path, buf, sizeof(buf)) == 0);
    unlink(path);
    rmdir(dir);
}

static void test_excl_refuses_an_existing_file(void)
{
    char dir[64];
    char path[128];
    char buf[64];
    char err[256];

    new_dir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/ca.key", dir);
    TEST_CHECK(msg_file_write_atomic(path, "key", 3, 0600, MSG_FILE_EXCL | MSG_FILE_SYNC, err,
                                     sizeof(err)) == MSG_OK);
    err[0] = '\0';
    TEST_CHECK(msg_file_write_atomic(path, "other", 5, 0600, MSG_FILE_EXCL, err, sizeof(err)) ==
               MSG_ERR_INVAL);
    TEST_CHECK(strstr(err, path) != NULL && strstr(err, "exists") != NULL);
    TEST_MSG("err: %s", err);
    TEST_CHECK(slurp(path, buf, sizeof(buf)) == 3 && strcmp(buf, "key") == 0);
    unlink(path);
    rmdir(dir);
}

static void test_failure_leaves_the_old_file(void)
{
    char dir[64];
    char path[128];
    char sub[128];
    char buf[64];
    char err[256];

    new_dir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/missing/x", dir);
    err[0] = '\0';
    TEST_CHECK(msg_file_write_atomic(path, "x", 1, 0600, 0, err, sizeof(err)) == MSG_ERR_IO);
    TEST_CHECK(strstr(err, "missing/x.tmp") != NULL);
    TEST_MSG("err: %s", err);
    /* a folder in the way of the rename: the old content stays, no temporary file is left */
    snprintf(sub, sizeof(sub), "%s/snap", dir);
    TEST_CHECK(mkdir(sub, 0700) == 0);
    snprintf(path, sizeof(path), "%s/snap/inner", dir);
    TEST_CHECK(msg_file_write_atomic(path, "old", 3, 0600, 0, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(msg_file_write_atomic(sub, "new", 3, 0600, 0, err, sizeof(err)) == MSG_ERR_IO);
    TEST_CHECK(strstr(err, "rename") != NULL);
    TEST_MSG("err: %s", err);
    snprintf(path, sizeof(path), "%s/snap.tmp", dir);
    TEST_CHECK(access(path, F_OK) != 0);
    snprintf(path, sizeof(path), "%s/snap/inner", dir);
    TEST_CHECK(slurp(path, buf, sizeof(buf)) == 3 && strcmp(buf, "old") == 0);
    unlink(path);
    rmdir(sub);
    rmdir(dir);
}

TEST_LIST = {
    {"writes_and_replaces_whole", test_writes_and_replaces_whole},
    {"excl_refuses_an_existing_file", test_excl_refuses_an_existing_file},
    {"failure_leaves_the_old_file", test_failure_leaves_the_old_file},
    {NULL, NULL},
};
