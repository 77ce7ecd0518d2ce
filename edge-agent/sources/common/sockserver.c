/* sockserver.c -- the Unix stream socket server of the agent's socket sources: bind with a
 * mode, one epoll over the listener and a fixed table of clients, a line buffer per client
 * (sockserver.h says what it does and who owns what). */
#include "sockserver.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "linebuf.h"
#include "log.h"
#include "msg_err.h"

#define WHO_MAX 32

struct client {
    int fd; /* -1: slot free */
    struct linebuf lines;
};

struct agent_sockserver {
    char who[WHO_MAX];
    char path[AGENT_SOCKSERVER_PATH_MAX];
    const char *busy; /* borrowed from the conf (a literal) */
    bool (*on_line)(void *ctx, int fd, const char *line, size_t len, bool unterminated);
    bool (*on_too_long)(void *ctx, int fd);
    void *ctx;
    int fd;                  /* the listener */
    int epfd;                /* the listener (data.u32 = n) and the clients (their slot) */
    bool bound;              /* the socket file is ours to unlink */
    size_t n;                /* slots in clients[] */
    struct client clients[]; /* n of them */
};

int agent_sockserver_mode_parse(const char *text, mode_t *out)
{
    char *end = NULL;
    long v = strtol(text, &end, 8);

    if (end == text || *end != '\0' || v < 0 || v > 0777) {
        return MSG_ERR_CONFIG;
    }
    *out = (mode_t)v;
    return MSG_OK;
}

int agent_sockserver_check(const char *path, const char *mode, char *err, size_t errlen)
{
    mode_t m;

    if (path[0] != '/' || strlen(path) >= AGENT_SOCKSERVER_PATH_MAX) {
        snprintf(err, errlen, "path: must be an absolute path of at most %d bytes",
                 AGENT_SOCKSERVER_PATH_MAX - 1);
        return MSG_ERR_CONFIG;
    }
    if (agent_sockserver_mode_parse(mode, &m) != MSG_OK) {
        snprintf(err, errlen, "mode: not an octal file mode");
        return MSG_ERR_CONFIG;
    }
    return MSG_OK;
}

/* Binds s->path with the mode, listens and makes the epoll set. */
static int bind_listen(struct agent_sockserver *s, mode_t mode, char *err, size_t errlen)
{
    struct sockaddr_un sa;
    struct epoll_event ev;
    struct stat st;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->path);
    if (lstat(s->path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "%s: %s exists and is not a socket", s->who, s->path);
            return MSG_ERR_CONFIG;
        }
        unlink(s->path); /* a socket a previous run left behind */
    }
    s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd >= 0 && bind(s->fd, (const struct sockaddr *)&sa, sizeof(sa)) == 0) {
        s->bound = true;
    }
    if (!s->bound || chmod(s->path, mode) != 0 || listen(s->fd, (int)s->n) != 0) {
        snprintf(err, errlen, "%s: socket %s: %s", s->who, s->path, strerror(errno));
        return MSG_ERR_IO;
    }
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.u32 = (uint32_t)s->n; /* the listener */
    if (s->epfd < 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->fd, &ev) != 0) {
        snprintf(err, errlen, "%s: epoll: %s", s->who, strerror(errno));
        return MSG_ERR_IO;
    }
    return MSG_OK;
}

int agent_sockserver_open(struct agent_sockserver **out, const struct agent_sockserver_conf *conf,
                          char *err, size_t errlen)
{
    struct agent_sockserver *s = NULL;
    mode_t mode = 0;
    int rc;

    *out = NULL;
    if (conf->clients == 0 || conf->clients > AGENT_SOCKSERVER_CLIENTS_MAX ||
        conf->on_line == NULL || conf->on_too_long == NULL) {
        snprintf(err, errlen, "%s: socket server: bad conf (clients %zu)", conf->who,
                 conf->clients);
        return MSG_ERR_INVAL;
    }
    rc = agent_sockserver_check(conf->path, conf->mode, err, errlen);
    if (rc != MSG_OK) {
        return rc;
    }
    (void)agent_sockserver_mode_parse(conf->mode, &mode);
    s = calloc(1, sizeof(*s) + conf->clients * sizeof(s->clients[0]));
    if (s == NULL) {
        snprintf(err, errlen, "%s: out of memory", conf->who);
        rc = MSG_ERR_NOMEM;
        goto fail;
    }
    snprintf(s->who, sizeof(s->who), "%s", conf->who);
    snprintf(s->path, sizeof(s->path), "%s", conf->path);
    s->busy = conf->busy;
    s->on_line = conf->on_line;
    s->on_too_long = conf->on_too_long;
    s->ctx = conf->ctx;
    s->fd = -1;
    s->epfd = -1;
    s->n = conf->clients;
    for (size_t i = 0; i < s->n; i++) {
        s->clients[i].fd = -1;
    }
    rc = bind_listen(s, mode, err, errlen);
    if (rc != MSG_OK) {
        goto fail;
    }
    *out = s;
    return MSG_OK;
fail:
    agent_sockserver_close(s);
    return rc;
}

bool agent_sockserver_reply(int fd, const char *text)
{
    char line[MSG_ERRLEN + 16];
    int n = snprintf(line, sizeof(line), "%s\n", text);
    size_t len = n < 0 ? 0 : (size_t)n >= sizeof(line) ? sizeof(line) - 1 : (size_t)n;

    if (len == 0) {
        return false;
    }
    line[len - 1] = '\n';
    return send(fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)len;
}

static void drop(struct agent_sockserver *s, size_t i)
{
    epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->clients[i].fd, NULL);
    close(s->clients[i].fd);
    s->clients[i].fd = -1;
}

static void accept_clients(struct agent_sockserver *s)
{
    for (;;) {
        struct epoll_event ev;
        size_t slot = s->n;
        int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0) {
            return;
        }
        for (size_t i = 0; i < s->n; i++) {
            if (s->clients[i].fd < 0) {
                slot = i;
                break;
            }
        }
        if (slot == s->n) {
            log_msg(LOG_WARNING, "%s: %s: more than %zu clients, one refused", s->who, s->path,
                    s->n);
            if (s->busy != NULL) {
                (void)agent_sockserver_reply(fd, s->busy);
            }
            close(fd);
            continue;
        }
        memset(&ev, 0, sizeof(ev));
        ev.events = EPOLLIN;
        ev.data.u32 = (uint32_t)slot;
        if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            close(fd);
            continue;
        }
        s->clients[slot].fd = fd;
        linebuf_init(&s->clients[slot].lines);
    }
}

/* Hands the complete lines of data (n bytes, borrowed) to the owner; false: drop the client. */
static bool feed(struct agent_sockserver *s, struct client *c, const char *data, size_t n)
{
    size_t pos = 0;
    const char *line = NULL;
    size_t len = 0;
    enum linebuf_result r;
    bool keep;

    for (;;) {
        r = linebuf_next(&c->lines, data, n, &pos, &line, &len);
        if (r == LINEBUF_NONE) {
            return true;
        }
        if (r == LINEBUF_TOO_LONG) {
            keep = s->on_too_long(s->ctx, c->fd);
        } else {
            keep = s->on_line(s->ctx, c->fd, line, len, false);
        }
        if (!keep) {
            return false;
        }
    }
}

/* Reads what client i sent; false when it is to be dropped (closed, failed, or refused by a
 * callback). */
static bool read_client(struct agent_sockserver *s, size_t i)
{
    struct client *c = &s->clients[i];
    char buf[8192];

    for (int k = 0; k < AGENT_SOCKSERVER_READS_MAX; k++) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
        const char *line = NULL;
        size_t len = 0;

        if (n > 0) {
            if (!feed(s, c, buf, (size_t)n)) {
                return false;
            }
            continue;
        }
        if (n == 0) {
            /* the client shut down its sending side (it may still wait for a reply) */
            if (linebuf_flush(&c->lines, &line, &len)) {
                (void)s->on_line(s->ctx, c->fd, line, len, true);
            }
            return false;
        }
        if (errno == EINTR) {
            continue;
        }
        return errno == EAGAIN || errno == EWOULDBLOCK;
    }
    return true;
}

int agent_sockserver_poll(struct agent_sockserver *s, char *err, size_t errlen)
{
    struct epoll_event evs[AGENT_SOCKSERVER_CLIENTS_MAX + 1];
    int n = epoll_wait(s->epfd, evs, (int)s->n + 1, 0);

    if (n < 0 && errno != EINTR) {
        snprintf(err, errlen, "%s: epoll_wait: %s", s->who, strerror(errno));
        return MSG_ERR_IO;
    }
    for (int k = 0; k < n; k++) {
        uint32_t i = evs[k].data.u32;

        if (i == s->n) {
            accept_clients(s);
        } else if (s->clients[i].fd >= 0 && !read_client(s, i)) {
            drop(s, i);
        }
    }
    return MSG_OK;
}

int agent_sockserver_fd(const struct agent_sockserver *s)
{
    return s->epfd;
}

void agent_sockserver_close(struct agent_sockserver *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        if (s->clients[i].fd >= 0) {
            close(s->clients[i].fd);
        }
    }
    if (s->epfd >= 0) {
        close(s->epfd);
    }
    if (s->fd >= 0) {
        close(s->fd);
    }
    if (s->bound) {
        unlink(s->path);
    }
    free(s);
}
