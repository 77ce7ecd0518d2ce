/* test_msg_notify.c -- msg_notify: the sd_notify datagram reaches a socket this test made,
 * by path and by abstract name; an unset socket is a no-op; bad names are refused; the
 * watchdog's interval is read as sd_watchdog_enabled(3) reads it, and WATCHDOG=1 arrives. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "msg_notify.h"
#include "msg_err.h"
#include "tinytest.h"

/* A datagram socket bound to name (a path, or "@..." abstract); -1 on failure. */
static int bind_dgram(const char *name)
{
    struct sockaddr_un addr;
    size_t len = strlen(name);
    socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        return -1;
    }
    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path, name, len);
    if (name[0] == '@') {
        addr.sun_path[0] = '\0';
    }
    if (bind(fd, (const struct sockaddr *)&addr, alen) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The next datagram on fd, NUL-terminated, into buf; its length or -1 (none within 2 s). */
static ssize_t read_dgram(int fd, char *buf, size_t len)
{
    struct timeval tv = {2, 0};
    ssize_t n = 0;

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    n = recv(fd, buf, len - 1, 0);
    buf[n < 0 ? 0 : n] = '\0';
    return n;
}

static void test_path_socket_gets_the_datagram(void)
{
    char dir[] = "/tmp/test_msg_notify.XXXXXX";
    char path[128];
    char buf[256];
    char err[MSG_ERRLEN] = "";
    int fd = -1;

    TEST_CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/notify", dir);
    fd = bind_dgram(path);
    TEST_CHECK(fd >= 0);
    TEST_CHECK(setenv("NOTIFY_SOCKET", path, 1) == 0);
    TEST_CHECK(msg_notify("READY=1", err, sizeof(err)) == MSG_OK);
    TEST_CHECK(read_dgram(fd, buf, sizeof(buf)) == 7);
    TEST_CHECK(strcmp(buf, "READY=1") == 0);
    TEST_CHECK(msg_notify("STOPPING=1", err, sizeof(err)) == MSG_OK);
    TEST_CHECK(read_dgram(fd, buf, sizeof(buf)) == 10);
    TEST_CHECK(strcmp(buf, "STOPPING=1") == 0);
    /* the variable stays for later calls and children, as sd_notify(0, ...) leaves it */
    TEST_CHECK(getenv("NOTIFY_SOCKET") != NULL);
    unsetenv("NOTIFY_SOCKET");
    close(fd);
    unlink(path);
    rmdir(dir);
}

static void test_abstract_socket_gets_the_datagram(void)
{
    char name[64];
    char buf[256];
    char err[MSG_ERRLEN] = "";
    int fd = -1;

    snprintf(name, sizeof(name), "@test_msg_notify/%ld", (long)getpid());
    fd = bind_dgram(name);
    TEST_CHECK(fd >= 0);
    TEST_CHECK(msg_notify_to(name, "READY=1\nSTATUS=store open", err, sizeof(err)) == MSG_OK);
    TEST_CHECK(read_dgram(fd, buf, sizeof(buf)) == 25);
    TEST_CHECK(strcmp(buf, "READY=1\nSTATUS=store open") == 0);
    close(fd);
}

static void test_unset_is_a_no_op(void)
{
    char err[MSG_ERRLEN] = "";

    unsetenv("NOTIFY_SOCKET");
    TEST_CHECK(msg_notify("READY=1", err, sizeof(err)) == MSG_OK);
    TEST_CHECK(msg_notify_to(NULL, "READY=1", err, sizeof(err)) == MSG_OK);
    TEST_CHECK(msg_notify_to("", "READY=1", err, sizeof(err)) == MSG_OK);
    TEST_CHECK(err[0] == '\0');
}

static void test_bad_names_are_refused(void)
{
    char err[MSG_ERRLEN] = "";
    char longname[200];

    TEST_CHECK(msg_notify_to("relative/path", "READY=1", err, sizeof(err)) == MSG_ERR_INVAL);
    TEST_CHECK(strstr(err, "NOTIFY_SOCKET") != NULL);
    memset(longname, 'a', sizeof(longname) - 1);
    longname[0] = '/';
    longname[sizeof(longname) - 1] = '\0';
    TEST_CHECK(msg_notify_to(longname, "READY=1", err, sizeof(err)) == MSG_ERR_INVAL);
    /* nobody listening: the send fails and says where */
    err[0] = '\0';
    TEST_CHECK(msg_notify_to("/nonexistent/pantau-notify", "READY=1", err, sizeof(err)) ==
               MSG_ERR_IO);
    TEST_CHECK(strstr(err, "/nonexistent/pantau-notify") != NULL);
}

static void test_watchdog_interval(void)
{
    uint64_t usec = 7;

    TEST_CHECK(msg_notify_watchdog_from(NULL, NULL, 100, &usec) == MSG_OK && usec == 0);
    TEST_CHECK(msg_notify_watchdog_from("1000000", NULL, 100, &usec) == MSG_OK && usec == 1000000);
    /* WATCHDOG_PID names this process, or another one (then there is none for us) */
    TEST_CHECK(msg_notify_watchdog_from("60000000", "100", 100, &usec) == MSG_OK &&
               usec == 60000000);
    TEST_CHECK(msg_notify_watchdog_from("60000000", "101", 100, &usec) == MSG_OK && usec == 0);
    TEST_CHECK(msg_notify_watchdog_from(NULL, "100", 100, &usec) == MSG_OK && usec == 0);
    /* what sd_watchdog_enabled refuses (-EINVAL): no interval */
    TEST_CHECK(msg_notify_watchdog_from("0", NULL, 100, &usec) == MSG_ERR_INVAL && usec == 0);
    TEST_CHECK(msg_notify_watchdog_from("18446744073709551615", NULL, 100, &usec) ==
                   MSG_ERR_INVAL &&
               usec == 0);
    TEST_CHECK(msg_notify_watchdog_from("18446744073709551614", NULL, 100, &usec) == MSG_OK &&
               usec == UINT64_C(18446744073709551614));
    TEST_CHECK(msg_notify_watchdog_from("99999999999999999999", NULL, 100, &usec) == MSG_ERR_INVAL);
    TEST_CHECK(msg_notify_watchdog_from("", NULL, 100, &usec) == MSG_ERR_INVAL);
    TEST_CHECK(msg_notify_watchdog_from("-5", NULL, 100, &usec) == MSG_ERR_INVAL);
    TEST_CHECK(msg_notify_watchdog_from("10s", NULL, 100, &usec) == MSG_ERR_INVAL);
    TEST_CHECK(msg_notify_watchdog_from("1000", "0", 100, &usec) == MSG_ERR_INVAL);
    TEST_CHECK(msg_notify_watchdog_from("1000", "abc", 100, &usec) == MSG_ERR_INVAL);
    /* the environment, with this process's pid */
    setenv("WATCHDOG_USEC", "2000000", 1);
    unsetenv("WATCHDOG_PID");
    TEST_CHECK(msg_notify_watchdog(&usec) == MSG_OK && usec == 2000000);
    unsetenv("WATCHDOG_USEC");
    TEST_CHECK(msg_notify_watchdog(&usec) == MSG_OK && usec == 0);
}

static void test_watchdog_ping_arrives(void)
{
    char name[64];
    char buf[256];
    char err[MSG_ERRLEN] = "";
    int fd = -1;

    snprintf(name, sizeof(name), "@test_msg_notify_wd/%ld", (long)getpid());
    fd = bind_dgram(name);
    TEST_CHECK(fd >= 0);
    TEST_CHECK(msg_notify_to(name, "WATCHDOG=1", err, sizeof(err)) == MSG_OK);
    TEST_CHECK(read_dgram(fd, buf, sizeof(buf)) == 10 && strcmp(buf, "WATCHDOG=1") == 0);
    TEST_CHECK(msg_notify_to(name, "STATUS=running, database up", err, sizeof(err)) == MSG_OK);
    TEST_CHECK(read_dgram(fd, buf, sizeof(buf)) > 0 &&
               strcmp(buf, "STATUS=running, database up") == 0);
    if (fd >= 0) {
        close(fd);
    }
}

TEST_LIST = {
    {"path_socket_gets_the_datagram", test_path_socket_gets_the_datagram},
    {"abstract_socket_gets_the_datagram", test_abstract_socket_gets_the_datagram},
    {"unset_is_a_no_op", test_unset_is_a_no_op},
    {"bad_names_are_refused", test_bad_names_are_refused},
    {"watchdog_interval", test_watchdog_interval},
    {"watchdog_ping_arrives", test_watchdog_ping_arrives},
    {NULL, NULL},
};
