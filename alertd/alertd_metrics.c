/* alertd_metrics.c -- a minimal Prometheus /metrics responder: see alertd_metrics.h. */
#include "alertd_metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int alertd_metrics_open(const char *address, long long port, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    socklen_t len = 0;
    int one = 1;
    int fd = -1;

    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, address, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((unsigned short)port);
        len = sizeof(*in4);
    } else if (inet_pton(AF_INET6, address, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((unsigned short)port);
        len = sizeof(*in6);
    } else {
        snprintf(err, errlen, "metrics: '%s' is not an IP address", address);
        goto fail;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "metrics: socket: %s", strerror(errno));
        goto fail;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 8) != 0) {
        snprintf(err, errlen, "metrics: listen on %s:%lld: %s", address, port, strerror(errno));
        goto fail;
    }
    return fd;
fail:
    if (fd >= 0) {
        close(fd);
    }
    return -1;
}

void alertd_metrics_serve(int fd, const char *body)
{
    struct timeval tv = {1, 0};
    char req[1024];
    char head[160];
    size_t blen = strlen(body);
    int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    int hlen;

    if (c < 0) {
        return;
    }
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (recv(c, req, sizeof(req), 0) > 0) {
        hlen = snprintf(head, sizeof(head),
                        "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                        "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                        blen);
        if (hlen > 0 && send(c, head, (size_t)hlen, MSG_NOSIGNAL) == hlen) {
            send(c, body, blen, MSG_NOSIGNAL);
        }
    }
    close(c);
}
