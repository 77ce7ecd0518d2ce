/* agent_notify.c -- sd_notify(3)'s datagram to $NOTIFY_SOCKET (agent_notify.h). */
#include "agent_notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "msg_err.h"

int agent_notify_to(const char *socket_name, const char *state, char *err, size_t errlen)
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

int agent_notify(const char *state, char *err, size_t errlen)
{
    return agent_notify_to(getenv("NOTIFY_SOCKET"), state, err, errlen);
}
