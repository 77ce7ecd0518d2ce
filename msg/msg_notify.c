/* msg_notify.c -- sd_notify(3)'s datagram to $NOTIFY_SOCKET, and the watchdog interval of
 * sd_watchdog_enabled(3) (msg_notify.h). */
#include "msg_notify.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "msg_err.h"

int msg_notify_to(const char *socket_name, const char *state, char *err, size_t errlen)
{
    struct sockaddr_un addr;
    size_t name_len = 0;
    socklen_t addr_len = 0;
    ssize_t sent = 0;
    int fd = -1;
    int rc = MSG_OK;

    if (socket_name == NULL || socket_name[0] == '\0') {
        goto out;
    }
    name_len = strlen(socket_name);
    if ((socket_name[0] != '/' && socket_name[0] != '@') || name_len >= sizeof(addr.sun_path)) {
        snprintf(err, errlen,
                 "notify: NOTIFY_SOCKET is not an absolute path or @name (or "
                 "longer than %zu bytes)",
                 sizeof(addr.sun_path) - 1);
        rc = MSG_ERR_INVAL;
        goto out;
    }
    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path, socket_name, name_len);
    addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + name_len);
    if (socket_name[0] == '@') {
        addr.sun_path[0] = '\0'; /* abstract: the length, not a NUL, ends the name */
    } else {
        addr_len++; /* a path: count its NUL, as sd_notify does */
    }
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "notify: socket: %s", strerror(errno));
        rc = MSG_ERR_IO;
        goto out;
    }
    do {
        sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (const struct sockaddr *)&addr,
                      addr_len);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0) {
        snprintf(err, errlen, "notify: send to %s: %s", socket_name, strerror(errno));
        rc = MSG_ERR_IO;
        goto out;
    }
out:
    if (fd >= 0) {
        close(fd);
    }
    return rc;
}

int msg_notify(const char *state, char *err, size_t errlen)
{
    return msg_notify_to(getenv("NOTIFY_SOCKET"), state, err, errlen);
}

/* A whole decimal number without sign or white space into *out; false for anything else. */
static bool parse_u64(const char *s, uint64_t *out)
{
    char *end = NULL;
    uintmax_t v = 0;

    if (s[0] < '0' || s[0] > '9') {
        return false;
    }
    errno = 0;
    v = strtoumax(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > UINT64_MAX) {
        return false;
    }
    *out = (uint64_t)v;
    return true;
}

int msg_notify_watchdog_from(const char *usec_var, const char *pid_var, pid_t self, uint64_t *usec)
{
    uint64_t u = 0;
    uint64_t pid = 0;

    *usec = 0;
    if (usec_var == NULL) {
        return MSG_OK; /* no watchdog */
    }
    /* sd_watchdog_enabled: 0 and USEC_INFINITY (2^64 - 1) are not intervals */
    if (!parse_u64(usec_var, &u) || u == 0 || u == UINT64_MAX) {
        return MSG_ERR_INVAL;
    }
    if (pid_var != NULL) {
        if (!parse_u64(pid_var, &pid) || pid == 0 || pid > (uint64_t)INT32_MAX) {
            return MSG_ERR_INVAL;
        }
        if ((pid_t)pid != self) {
            return MSG_OK; /* the watchdog is another process's */
        }
    }
    *usec = u;
    return MSG_OK;
}

int msg_notify_watchdog(uint64_t *usec)
{
    return msg_notify_watchdog_from(getenv("WATCHDOG_USEC"), getenv("WATCHDOG_PID"), getpid(),
                                    usec);
}
