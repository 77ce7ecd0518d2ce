/* source_larva.c -- the larva source: a local Unix stream socket taking Jumantik inspections
 * from a form app on the handheld, one JSON object per line (the contract's larva body
 * without the envelope: larva_input.h), each answered with one line:
 *
 *   ok                              stored durably (the agent will send it)
 *   error <member>: <reason>        refused, nothing stored ("error rt: missing")
 *   error store: <reason>           the store could not take it now; send it again later
 *
 *   [source larva]
 *   path  /run/pantau/larva.sock
 *   mode  0660                      # who may report: the socket's group
 *
 * Several clients may be connected at once; each line is handled on its own. The reading's
 * time is when the line was read. Not for: `pantau-agent report` (agent_report.c), which
 * writes to the store itself and works while the agent is stopped. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent_source.h"
#include "badlog.h"
#include "larva_input.h"
#include "linebuf.h"
#include "log.h"

#define LARVA_PATH_MAX 108
#define LARVA_CLIENTS_MAX 8

struct larva_conf {
    char path[LARVA_PATH_MAX];
    char mode[8];
};

static const struct conf_key larva_keys[] = {
    {"path", CONF_STR, NULL, offsetof(struct larva_conf, path), LARVA_PATH_MAX, 0, 0,
     "the Unix socket that takes one inspection per line"},
    {"mode", CONF_STR, "0660", offsetof(struct larva_conf, mode), 8, 0, 0,
     "the socket's file mode (octal)"},
    CONF_END,
};

struct larva_client {
    int fd;
    struct linebuf lines;
};

struct larva {
    struct larva_conf conf;
    const struct agent_emit *emit;
    struct badlog bad;
    int fd;
    int epfd;
    struct larva_client clients[LARVA_CLIENTS_MAX];
    unsigned long long stored, refused, failed;
};

static int mode_from_text(const char *s, mode_t *out)
{
    char *end = NULL;
    long v = strtol(s, &end, 8);

    if (end == s || *end != '\0' || v < 0 || v > 0777) {
        return MSG_ERR_CONFIG;
    }
    *out = (mode_t)v;
    return MSG_OK;
}

static int larva_check(const void *confp, char *err, size_t errlen)
{
    const struct larva_conf *c = confp;
    mode_t m;

    if (c->path[0] != '/') {
        snprintf(err, errlen, "path: must be an absolute path of at most %d bytes",
                 LARVA_PATH_MAX - 1);
        return MSG_ERR_CONFIG;
    }
    if (mode_from_text(c->mode, &m) != MSG_OK) {
        snprintf(err, errlen, "mode: not an octal file mode");
        return MSG_ERR_CONFIG;
    }
    return MSG_OK;
}

static void larva_close(void *state);

static int larva_open(void **state, const void *confp, const struct agent_emit *emit,
                      char *err, size_t errlen)
{
    struct larva *l = NULL;
    struct sockaddr_un sa;
    struct epoll_event ev;
    struct stat st;
    char who[96];
    mode_t mode = 0660;
    int rc;

    *state = NULL;
    rc = larva_check(confp, err, errlen);
    if (rc != MSG_OK) {
        return rc;
    }
    l = calloc(1, sizeof(*l));
    if (l == NULL) {
        snprintf(err, errlen, "larva: out of memory");
        return MSG_ERR_NOMEM;
    }
    memcpy(&l->conf, confp, sizeof(l->conf));
    l->emit = emit;
    l->fd = -1;
    l->epfd = -1;
    for (size_t i = 0; i < LARVA_CLIENTS_MAX; i++) {
        l->clients[i].fd = -1;
    }
    snprintf(who, sizeof(who), "larva: %.80s", l->conf.path);
    badlog_init(&l->bad, who);
    (void)mode_from_text(l->conf.mode, &mode);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", l->conf.path);
    if (lstat(l->conf.path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "larva: %s exists and is not a socket", l->conf.path);
            rc = MSG_ERR_CONFIG;
            goto fail;
        }
        unlink(l->conf.path);
    }
    l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (l->fd < 0 || bind(l->fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        chmod(l->conf.path, mode) != 0 || listen(l->fd, LARVA_CLIENTS_MAX) != 0) {
        snprintf(err, errlen, "larva: socket %s: %s", l->conf.path, strerror(errno));
        rc = MSG_ERR_IO;
        goto fail;
    }
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.u32 = LARVA_CLIENTS_MAX;
    if (l->epfd < 0 || epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->fd, &ev) != 0) {
        snprintf(err, errlen, "larva: epoll: %s", strerror(errno));
        rc = MSG_ERR_IO;
        goto fail;
    }
    log_msg(LOG_NOTICE, "larva: taking inspections on %s", l->conf.path);
    *state = l;
    return MSG_OK;
fail:
    larva_close(l);
    return rc;
}

/* The answer line; a client that does not read its answers is dropped. */
static bool answer(int fd, const char *text)
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

static bool handle_line(struct larva *l, int fd, const char *line, size_t len)
{
    char why[MSG_ERRLEN] = "";
    char reply[MSG_ERRLEN + 16];
    struct msg_event ev;
    int rc;

    if (len == 0) {
        return true;
    }
    memset(&ev, 0, sizeof(ev));
    rc = larva_input_from_json(line, len, &ev.u.larva, why, sizeof(why));
    if (rc == MSG_OK) {
        ev.stream = MSG_STREAM_LARVA;
        snprintf(ev.device_id, sizeof(ev.device_id), "%s",
                 l->emit->device_id != NULL ? l->emit->device_id : "");
        rc = l->emit->fn(l->emit->ctx, &ev, why, sizeof(why));
        if (rc == MSG_OK) {
            l->stored++;
            return answer(fd, "ok");
        }
        if (rc != MSG_ERR_SCHEMA && rc != MSG_ERR_JSON) {
            l->failed++;
            log_msg(LOG_WARNING, "larva: %s: inspection not stored: %s", l->conf.path, why);
            snprintf(reply, sizeof(reply), "error store: %s", why);
            return answer(fd, reply);
        }
    }
    l->refused++;
    badlog_add(&l->bad, "inspection refused", why);
    snprintf(reply, sizeof(reply), "error %s", why);
    return answer(fd, reply);
}

static void drop_client(struct larva *l, size_t i)
{
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, l->clients[i].fd, NULL);
    close(l->clients[i].fd);
    l->clients[i].fd = -1;
}

static void accept_clients(struct larva *l)
{
    for (;;) {
        struct epoll_event ev;
        size_t slot = LARVA_CLIENTS_MAX;
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0) {
            return;
        }
        for (size_t s = 0; s < LARVA_CLIENTS_MAX; s++) {
            if (l->clients[s].fd < 0) {
                slot = s;
                break;
            }
        }
        if (slot == LARVA_CLIENTS_MAX) {
            (void)answer(fd, "error busy: too many clients, try again");
            close(fd);
            continue;
        }
        memset(&ev, 0, sizeof(ev));
        ev.events = EPOLLIN;
        ev.data.u32 = (uint32_t)slot;
        if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            close(fd);
            continue;
        }
        l->clients[slot].fd = fd;
        linebuf_init(&l->clients[slot].lines);
    }
}

/* Reads what client i sent; false when it is to be dropped. */
static bool read_client(struct larva *l, size_t i)
{
    struct larva_client *c = &l->clients[i];
    char buf[8192];

    for (int k = 0; k < 16; k++) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
        size_t pos = 0;
        const char *line = NULL;
        size_t len = 0;
        enum linebuf_result r;

        if (n == 0) {
            if (linebuf_flush(&c->lines, &line, &len)) {
                /* the last line without a newline: still one inspection; the writer may
                 * have shut down only its sending side and wait for the answer */
                (void)handle_line(l, c->fd, line, len);
            }
            return false;
        }
        if (n < 0) {
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        }
        for (;;) {
            bool ok;

            r = linebuf_next(&c->lines, buf, (size_t)n, &pos, &line, &len);
            if (r == LINEBUF_NONE) {
                break;
            }
            if (r == LINEBUF_TOO_LONG) {
                l->refused++;
                badlog_add(&l->bad, "inspection refused", "line too long");
                ok = answer(c->fd, "error line: longer than 8192 bytes");
            } else {
                ok = handle_line(l, c->fd, line, len);
            }
            if (!ok) {
                return false;
            }
        }
    }
    return true;
}

static int larva_poll(void *state, int64_t now_ms, struct agent_source_wait *wait, char *err,
                      size_t errlen)
{
    struct larva *l = state;
    struct epoll_event evs[LARVA_CLIENTS_MAX + 1];
    int n = epoll_wait(l->epfd, evs, LARVA_CLIENTS_MAX + 1, 0);

    if (n < 0 && errno != EINTR) {
        snprintf(err, errlen, "larva: epoll_wait: %s", strerror(errno));
        return MSG_ERR_IO;
    }
    for (int k = 0; k < n; k++) {
        uint32_t i = evs[k].data.u32;

        if (i == LARVA_CLIENTS_MAX) {
            accept_clients(l);
        } else if (l->clients[i].fd >= 0 && !read_client(l, i)) {
            drop_client(l, i);
        }
    }
    wait->fd = l->epfd;
    wait->next_ms = badlog_tick(&l->bad, now_ms);
    return MSG_OK;
}

static void larva_close(void *state)
{
    struct larva *l = state;

    if (l == NULL) {
        return;
    }
    for (size_t i = 0; i < LARVA_CLIENTS_MAX; i++) {
        if (l->clients[i].fd >= 0) {
            close(l->clients[i].fd);
        }
    }
    if (l->epfd >= 0) {
        close(l->epfd);
    }
    if (l->fd >= 0) {
        close(l->fd);
        unlink(l->conf.path);
    }
    log_msg(LOG_NOTICE, "larva: %s: closed: %llu inspections stored, %llu refused, %llu not "
            "stored", l->conf.path, l->stored, l->refused, l->failed);
    free(l);
}

const struct agent_source agent_source_larva = {
    .name = "larva",
    .summary = "Jumantik inspections, one JSON line each, on a local Unix socket",
    .keys = larva_keys,
    .conf_size = sizeof(struct larva_conf),
    .check = larva_check,
    .open = larva_open,
    .poll = larva_poll,
    .close = larva_close,
};
