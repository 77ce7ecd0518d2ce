/* metrics.c -- counters, Prometheus text and the /metrics responder: see metrics.h. */
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define METRICS_TEXT_MAX 16384
#define METRICS_REQUEST_MAX 2048
#define METRICS_IO_TIMEOUT_MS 2000

/* Upper bounds of the latency buckets, seconds; the last bucket is +Inf. */
static const double batch_le[METRICS_BATCH_BUCKETS] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 0.0,
};

struct metrics_http {
    int listen_fd;
    int wake[2]; /* a pipe: writing to it ends the thread's poll() */
    pthread_t thread;
    const struct metrics *m;
};

void metrics_batch_observe(struct metrics *m, int64_t micros)
{
    double s = (double)micros / 1e6;
    size_t i;

    if (micros < 0) {
        micros = 0;
    }
    atomic_fetch_add(&m->batch_us_sum, (uint_fast64_t)micros);
    for (i = 0; i < METRICS_BATCH_BUCKETS - 1; i++) {
        if (s <= batch_le[i]) {
            break;
        }
    }
    atomic_fetch_add(&m->batch_buckets[i], 1);
}

struct text {
    char *buf;
    size_t len;
    size_t used;
};

__attribute__((format(printf, 2, 3))) static void put(struct text *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (t->used + 1 >= t->len) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(t->buf + t->used, t->len - t->used, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    t->used += (size_t)n;
    if (t->used >= t->len) {
        t->used = t->len - 1;
    }
}

static void counter(struct text *t, const char *name, const char *help,
                    const atomic_uint_fast64_t *v)
{
    put(t, "# HELP pantau_collector_%s %s\n# TYPE pantau_collector_%s counter\n", name, help, name);
    put(t, "pantau_collector_%s %llu\n", name, (unsigned long long)atomic_load(v));
}

static void gauge(struct text *t, const char *name, const char *help, unsigned long long v)
{
    put(t, "# HELP pantau_collector_%s %s\n# TYPE pantau_collector_%s gauge\n", name, help, name);
    put(t, "pantau_collector_%s %llu\n", name, v);
}

size_t metrics_render(const struct metrics *m, char *buf, size_t len)
{
    struct text t = {buf, len, 0};
    unsigned long long cum = 0;
    unsigned long long count = 0;

    if (len == 0) {
        return 0;
    }
    buf[0] = '\0';
    counter(&t, "messages_received_total", "MQTT messages taken from the broker.",
            &m->messages_received);
    counter(&t, "intake_dropped_total",
            "Messages left to their device to resend: the intake buffer stayed full.",
            &m->intake_dropped);
    counter(&t, "readings_stored_total", "New readings committed.", &m->readings_stored);
    counter(&t, "readings_duplicate_total", "Readings already stored with the same content.",
            &m->readings_duplicate);
    counter(&t, "readings_clash_total", "Readings already stored with other content.",
            &m->readings_clash);
    counter(&t, "dead_letters_total",
            "Messages settled as dead letters (a repeat of a stored one is not stored again).",
            &m->dead_letters);
    counter(&t, "rejected_limited_total",
            "Messages refused by the broker over their device's rate limit: not stored.",
            &m->rejected_limited);
    counter(&t, "status_stored_total", "Device status messages committed.", &m->status_stored);
    counter(&t, "batches_total", "Transactions committed.", &m->batches);
    counter(&t, "batch_splits_total", "Failed batches split to isolate a bad row.",
            &m->batch_splits);
    counter(&t, "db_errors_total", "Failed database connections or statements.", &m->db_errors);
    counter(&t, "acks_sent_total", "Acknowledgement messages published.", &m->acks_sent);
    counter(&t, "registry_loads_total", "Reloads of the cached device registry.",
            &m->registry_loads);
    put(&t, "# HELP pantau_collector_batch_seconds Time to write and commit one batch.\n"
            "# TYPE pantau_collector_batch_seconds histogram\n");
    for (size_t i = 0; i < METRICS_BATCH_BUCKETS; i++) {
        cum += (unsigned long long)atomic_load(&m->batch_buckets[i]);
        if (i < METRICS_BATCH_BUCKETS - 1) {
            put(&t, "pantau_collector_batch_seconds_bucket{le=\"%g\"} %llu\n", batch_le[i], cum);
        } else {
            put(&t, "pantau_collector_batch_seconds_bucket{le=\"+Inf\"} %llu\n", cum);
        }
    }
    count = cum;
    put(&t, "pantau_collector_batch_seconds_sum %.6f\n",
        (double)atomic_load(&m->batch_us_sum) / 1e6);
    put(&t, "pantau_collector_batch_seconds_count %llu\n", count);
    gauge(&t, "intake_messages", "Messages waiting in the intake buffer.",
          (unsigned long long)atomic_load(&m->intake_messages));
    gauge(&t, "intake_bytes", "Bytes held by the intake buffer.",
          (unsigned long long)atomic_load(&m->intake_bytes));
    gauge(&t, "db_up", "1 while the database commits.", (unsigned long long)atomic_load(&m->db_up));
    gauge(&t, "mqtt_connected", "1 while connected to the broker.",
          (unsigned long long)atomic_load(&m->mqtt_connected));
    return t.used;
}

/* Waits until fd is ready for events, at most METRICS_IO_TIMEOUT_MS. */
static int wait_fd(int fd, short events)
{
    struct pollfd p = {fd, events, 0};

    return poll(&p, 1, METRICS_IO_TIMEOUT_MS) == 1 ? 0 : -1;
}

static void write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w;

        if (wait_fd(fd, POLLOUT) != 0) {
            return;
        }
        w = send(fd, s, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                continue;
            }
            return;
        }
        s += w;
        n -= (size_t)w;
    }
}

/* Reads one request head (up to the blank line) and answers it. */
static void serve(struct metrics_http *h, int fd)
{
    char req[METRICS_REQUEST_MAX + 1];
    char head[256];
    char *body = NULL;
    size_t used = 0;
    size_t blen;
    const char *status = "404 Not Found";

    while (used < METRICS_REQUEST_MAX) {
        ssize_t r;

        if (wait_fd(fd, POLLIN) != 0) {
            goto out;
        }
        r = recv(fd, req + used, METRICS_REQUEST_MAX - used, 0);
        if (r <= 0) {
            if (r < 0 && (errno == EINTR || errno == EAGAIN)) {
                continue;
            }
            goto out;
        }
        used += (size_t)r;
        req[used] = '\0';
        if (strstr(req, "\r\n\r\n") != NULL || strstr(req, "\n\n") != NULL) {
            break;
        }
    }
    req[used] = '\0';
    body = malloc(METRICS_TEXT_MAX);
    if (body == NULL) {
        goto out;
    }
    if (strncmp(req, "GET /metrics ", 13) == 0 || strncmp(req, "GET /metrics?", 13) == 0) {
        status = "200 OK";
        blen = metrics_render(h->m, body, METRICS_TEXT_MAX);
    } else if (strncmp(req, "GET ", 4) == 0) {
        blen = (size_t)snprintf(body, METRICS_TEXT_MAX, "not found: try /metrics\n");
    } else {
        status = "405 Method Not Allowed";
        blen = (size_t)snprintf(body, METRICS_TEXT_MAX, "only GET /metrics\n");
    }
    snprintf(head, sizeof(head),
             "HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
             "Content-Length: %zu\r\nConnection: close\r\n\r\n",
             status, blen);
    write_all(fd, head, strlen(head));
    write_all(fd, body, blen);
out:
    free(body);
}

static void *http_main(void *arg)
{
    struct metrics_http *h = arg;

    for (;;) {
        struct pollfd p[2] = {{h->listen_fd, POLLIN, 0}, {h->wake[0], POLLIN, 0}};
        int fd;

        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        if (p[1].revents != 0) {
            break;
        }
        if ((p[0].revents & POLLIN) == 0) {
            continue;
        }
        fd = accept4(h->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            continue;
        }
        serve(h, fd);
        close(fd);
    }
    return NULL;
}

struct metrics_http *metrics_http_open(const char *address, int port, const struct metrics *m,
                                       char *err, size_t errlen)
{
    struct metrics_http *h = NULL;
    struct sockaddr_in sa;
    int one = 1;

    h = calloc(1, sizeof(*h));
    if (h == NULL) {
        snprintf(err, errlen, "metrics: out of memory");
        goto fail;
    }
    h->listen_fd = -1;
    h->wake[0] = -1;
    h->wake[1] = -1;
    h->m = m;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, address, &sa.sin_addr) != 1) {
        snprintf(err, errlen, "metrics: '%s' is not an IPv4 address", address);
        goto fail;
    }
    h->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (h->listen_fd < 0) {
        snprintf(err, errlen, "metrics: socket: %s", strerror(errno));
        goto fail;
    }
    setsockopt(h->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(h->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(h->listen_fd, 16) != 0) {
        snprintf(err, errlen, "metrics: cannot listen on %s:%d: %s", address, port,
                 strerror(errno));
        goto fail;
    }
    if (pipe2(h->wake, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "metrics: pipe: %s", strerror(errno));
        goto fail;
    }
    if (pthread_create(&h->thread, NULL, http_main, h) != 0) {
        snprintf(err, errlen, "metrics: cannot start the responder thread");
        goto fail;
    }
    return h;
fail:
    if (h != NULL) {
        if (h->listen_fd >= 0) {
            close(h->listen_fd);
        }
        if (h->wake[0] >= 0) {
            close(h->wake[0]);
            close(h->wake[1]);
        }
        free(h);
    }
    return NULL;
}

void metrics_http_close(struct metrics_http *h)
{
    char one = 1;

    if (h == NULL) {
        return;
    }
    if (write(h->wake[1], &one, 1) != 1) {
        /* the thread still ends when the pipe closes below; join first needs it awake */
    }
    pthread_join(h->thread, NULL);
    close(h->listen_fd);
    close(h->wake[0]);
    close(h->wake[1]);
    free(h);
}
