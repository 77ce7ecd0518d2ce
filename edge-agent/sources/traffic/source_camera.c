/* source_camera.c -- the camera source: a camera's (or NVR's) analytics as JSON lines
 * (camera_line.h) from a named pipe, a Unix stream socket (several writers at once) or a file
 * being appended (tail -f, surviving rotation), turned into `traffic` readings (counts per
 * interval, lane and class: traffic_agg.h) and `incident` readings (protocol.md 4.3, 4.4).
 *
 *   [source camera]
 *   input     socket             # fifo, socket or file
 *   path      /run/pantau/camera.sock
 *   mode      0660               # socket: its file mode
 *   station   cam-kalimalang-01  # default for lines without one
 *   lane      all                # default for count lines without one
 *   interval  300s
 *   grace     5s
 *
 * The socket (sockserver.h) takes up to 16 writers at once; a last line that a writer closes
 * without its newline still counts. Only a reference to a snapshot travels (the incident's
 * `snapshot`); the image stays on the camera box. Lines that break the format are counted,
 * logged (badlog.h) and skipped. A count for an interval that has closed is counted as late
 * and skipped. Readings of closed intervals that the store could not take (MSG_ERR_DB,
 * MSG_ERR_IO) are kept and offered again. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent_source.h"
#include "badlog.h"
#include "camera_line.h"
#include "emitq.h"
#include "linebuf.h"
#include "log.h"
#include "msg_clock.h"
#include "msg_topic.h"
#include "sockserver.h"
#include "traffic_agg.h"

#define CAMERA_PATH_MAX AGENT_SOCKSERVER_PATH_MAX   /* a socket's sun_path */
#define CAMERA_CLIENTS_MAX 16
#define CAMERA_FILE_POLL_MS 250      /* a file has no readiness: it is looked at this often */

enum camera_input {
    CAMERA_INPUT_FIFO,
    CAMERA_INPUT_SOCKET,
    CAMERA_INPUT_FILE,
};

struct camera_conf {
    char input[8];
    char path[CAMERA_PATH_MAX];
    char mode[8];
    char station[MSG_ID_MAX + 1];
    char lane[MSG_LANE_MAX + 1];
    long long interval_ms;
    long long grace_ms;
    bool from_start;
};

#define STR_KEY(k, def, field, help)                                                            \
    {k, CONF_STR, def, offsetof(struct camera_conf, field),                                     \
     sizeof(((struct camera_conf *)0)->field), 0, 0, help}

static const struct conf_key camera_keys[] = {
    STR_KEY("input", NULL, input, "fifo, socket or file"),
    STR_KEY("path", NULL, path, "the FIFO, socket or file (created if it is a FIFO or socket)"),
    STR_KEY("mode", "0660", mode, "socket or FIFO: file mode (octal) when created"),
    STR_KEY("station", "", station, "station id for lines that carry none"),
    STR_KEY("lane", "all", lane, "lane for count lines that carry none"),
    {"interval", CONF_MS, "300s", offsetof(struct camera_conf, interval_ms), sizeof(long long),
     1000, 3600000, "counts are aggregated per interval (whole seconds, 1 s to 1 h)"},
    {"grace", CONF_MS, "5s", offsetof(struct camera_conf, grace_ms), sizeof(long long), 0,
     600000, "an interval closes this long after its end"},
    {"from_start", CONF_BOOL, "false", offsetof(struct camera_conf, from_start), sizeof(bool), 0,
     0, "file: read what is already in it (else only what is appended)"},
    CONF_END,
};

struct camera {
    struct camera_conf conf;
    enum camera_input input;
    const struct agent_emit *emit;
    struct traffic_agg agg;
    struct badlog bad;
    int fd;                  /* FIFO or file */
    struct agent_sockserver *server;   /* socket: the listener and its writers */
    struct linebuf lines;    /* FIFO and file */
    ino_t ino;               /* file: the inode being read, to notice rotation */
    off_t off;               /* file: bytes read so far */
    struct emitq queue;      /* readings kept while the store fails */
    int64_t now_mono;        /* CLOCK_MONOTONIC ms of the current poll */
    unsigned long long counts, late;
};

static int input_from_name(const char *s, enum camera_input *out)
{
    if (strcmp(s, "fifo") == 0) {
        *out = CAMERA_INPUT_FIFO;
    } else if (strcmp(s, "socket") == 0) {
        *out = CAMERA_INPUT_SOCKET;
    } else if (strcmp(s, "file") == 0) {
        *out = CAMERA_INPUT_FILE;
    } else {
        return MSG_ERR_CONFIG;
    }
    return MSG_OK;
}

static int camera_check(const void *confp, char *err, size_t errlen)
{
    const struct camera_conf *c = confp;
    enum camera_input in;
    int rc;

    if (input_from_name(c->input, &in) != MSG_OK) {
        snprintf(err, errlen, "input: '%.8s' is not one of fifo, socket, file", c->input);
        return MSG_ERR_CONFIG;
    }
    rc = agent_sockserver_check(c->path, c->mode, err, errlen);   /* the same keys for all */
    if (rc != MSG_OK) {
        return rc;
    }
    if (c->station[0] != '\0' && !msg_id_valid(c->station, strlen(c->station))) {
        snprintf(err, errlen, "station: not a station id");
        return MSG_ERR_CONFIG;
    }
    if (!msg_id_valid(c->lane, strlen(c->lane))) {
        snprintf(err, errlen, "lane: not a lane id (a-z 0-9 . _ -)");
        return MSG_ERR_CONFIG;
    }
    if (c->interval_ms % 1000 != 0) {
        snprintf(err, errlen, "interval: must be whole seconds");
        return MSG_ERR_CONFIG;
    }
    return MSG_OK;
}

static int open_fifo(struct camera *c, char *err, size_t errlen)
{
    struct stat st;
    mode_t mode = 0660;

    (void)agent_sockserver_mode_parse(c->conf.mode, &mode);
    if (mkfifo(c->conf.path, mode) == 0) {
        (void)chmod(c->conf.path, mode);   /* the mode as configured, whatever the umask */
    } else if (errno != EEXIST) {
        snprintf(err, errlen, "camera: mkfifo %s: %s", c->conf.path, strerror(errno));
        return MSG_ERR_IO;
    }
    /* read-write: never EOF when a writer goes, so writers come and go */
    c->fd = open(c->conf.path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (c->fd < 0) {
        snprintf(err, errlen, "camera: open %s: %s", c->conf.path, strerror(errno));
        return MSG_ERR_IO;
    }
    if (fstat(c->fd, &st) != 0 || !S_ISFIFO(st.st_mode)) {
        snprintf(err, errlen, "camera: %s is not a FIFO", c->conf.path);
        return MSG_ERR_CONFIG;
    }
    return MSG_OK;
}

static int open_file(struct camera *c, bool from_start, char *err, size_t errlen)
{
    struct stat st;

    c->fd = open(c->conf.path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (c->fd < 0) {
        snprintf(err, errlen, "camera: open %s: %s", c->conf.path, strerror(errno));
        return MSG_ERR_IO;
    }
    if (fstat(c->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "camera: %s is not a regular file", c->conf.path);
        return MSG_ERR_IO;
    }
    c->ino = st.st_ino;
    c->off = 0;
    if (!from_start) {
        c->off = lseek(c->fd, 0, SEEK_END);
    }
    linebuf_init(&c->lines);
    return MSG_OK;
}

static void camera_close(void *state);
static int open_socket(struct camera *c, char *err, size_t errlen);

static int camera_open(void **state, const void *confp, const struct agent_emit *emit,
                       char *err, size_t errlen)
{
    struct camera *c = NULL;
    char who[96];
    int rc;

    *state = NULL;
    rc = camera_check(confp, err, errlen);
    if (rc != MSG_OK) {
        return rc;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        snprintf(err, errlen, "camera: out of memory");
        return MSG_ERR_NOMEM;
    }
    memcpy(&c->conf, confp, sizeof(c->conf));
    c->emit = emit;
    c->fd = -1;
    (void)input_from_name(c->conf.input, &c->input);
    (void)traffic_agg_init(&c->agg, c->conf.interval_ms, c->conf.grace_ms);
    emitq_init(&c->queue);
    linebuf_init(&c->lines);
    snprintf(who, sizeof(who), "camera: %.80s", c->conf.path);
    badlog_init(&c->bad, who);
    if (c->input == CAMERA_INPUT_FIFO) {
        rc = open_fifo(c, err, errlen);
    } else if (c->input == CAMERA_INPUT_SOCKET) {
        rc = open_socket(c, err, errlen);
    } else {
        rc = open_file(c, c->conf.from_start, err, errlen);
    }
    if (rc != MSG_OK) {
        camera_close(c);
        return rc;
    }
    log_msg(LOG_NOTICE, "camera: reading %s %s, counts per %lld s", c->conf.input,
            c->conf.path, c->conf.interval_ms / 1000);
    *state = c;
    return MSG_OK;
}

/* Hands a reading to the agent (or keeps it while the store fails: emitq.h). */
static void offer(struct camera *c, struct msg_event *ev, const char *what)
{
    char why[MSG_ERRLEN] = "";

    snprintf(ev->device_id, sizeof(ev->device_id), "%s",
             c->emit->device_id != NULL ? c->emit->device_id : "");
    if (emitq_offer(&c->queue, c->emit, ev, c->now_mono, c->bad.who, why, sizeof(why)) !=
        MSG_OK) {
        badlog_add(&c->bad, what, why);
    }
}

/* One line; unterminated: its writer closed the socket before the newline (a whole line is
 * still taken; one it cut off is counted as truncated). */
static void handle_line(struct camera *c, const char *line, size_t len, bool unterminated)
{
    static const char what[] = "bad line";
    struct camera_line cl;
    struct msg_event ev;
    char why[MSG_ERRLEN] = "";
    size_t cut = 0;
    int64_t now = msg_clock_wall_ms();
    int rc;

    if (len == 0) {
        return;   /* blank lines are allowed (keep-alives) */
    }
    if (unterminated) {
        cut = (size_t)snprintf(why, sizeof(why), "truncated line (the writer closed mid-line): ");
    }
    rc = camera_line_parse(line, len, c->conf.station, c->conf.lane, &cl, why + cut,
                           sizeof(why) - cut);
    if (rc != MSG_OK) {
        badlog_add(&c->bad, what, why);
        return;
    }
    if (cl.kind == CAMERA_LINE_COUNT) {
        rc = traffic_agg_add(&c->agg, cl.count.station, cl.count.lane, cl.count.vclass,
                             cl.count.count, cl.count.has_speed, cl.count.speed_kmh,
                             cl.ts_ms != 0 ? cl.ts_ms : now, now, why, sizeof(why));
        if (rc != MSG_OK) {
            if (strncmp(why, "late", 4) == 0) {
                c->late++;
            }
            badlog_add(&c->bad, "count skipped", why);
            return;
        }
        c->counts += (unsigned long long)cl.count.count;
        return;
    }
    if (cl.kind == CAMERA_LINE_LANE) {
        rc = traffic_agg_lane(&c->agg, cl.lane.station, cl.lane.lane, cl.lane.has_occupancy,
                              cl.lane.occupancy_pct, cl.lane.has_queue, cl.lane.queue_m,
                              cl.ts_ms != 0 ? cl.ts_ms : now, now, why, sizeof(why));
        if (rc != MSG_OK) {
            if (strncmp(why, "late", 4) == 0) {
                c->late++;
            }
            badlog_add(&c->bad, "lane state skipped", why);
        }
        return;
    }
    memset(&ev, 0, sizeof(ev));
    ev.stream = MSG_STREAM_INCIDENT;
    ev.env.ts_ms = cl.ts_ms;   /* 0: now */
    ev.u.incident = cl.incident;
    offer(c, &ev, "incident refused by the validator");
}

static void feed(struct camera *c, struct linebuf *lb, const char *data, size_t n)
{
    size_t pos = 0;
    const char *line = NULL;
    size_t len = 0;
    enum linebuf_result r;

    for (;;) {
        r = linebuf_next(lb, data, n, &pos, &line, &len);
        if (r == LINEBUF_NONE) {
            break;
        }
        if (r == LINEBUF_TOO_LONG) {
            badlog_add(&c->bad, "bad line", "line too long");
        } else {
            handle_line(c, line, len, false);
        }
    }
}

/* The socket's writers (sockserver.h); they get no replies, so none is ever dropped here. */
static bool on_socket_line(void *ctx, int fd, const char *line, size_t len, bool unterminated)
{
    (void)fd;
    handle_line(ctx, line, len, unterminated);
    return true;
}

static bool on_socket_too_long(void *ctx, int fd)
{
    struct camera *c = ctx;

    (void)fd;
    badlog_add(&c->bad, "bad line", "line too long");
    return true;
}

static int open_socket(struct camera *c, char *err, size_t errlen)
{
    struct agent_sockserver_conf sc;

    memset(&sc, 0, sizeof(sc));
    sc.who = "camera";
    sc.path = c->conf.path;
    sc.mode = c->conf.mode;
    sc.clients = CAMERA_CLIENTS_MAX;
    sc.on_line = on_socket_line;
    sc.on_too_long = on_socket_too_long;
    sc.ctx = c;
    return agent_sockserver_open(&c->server, &sc, err, errlen);
}

/* Reads fd until it would block (bounded). Returns 1 at EOF, 0 when drained, -1 on error. */
static int drain(struct camera *c, int fd, struct linebuf *lb, off_t *off)
{
    char buf[8192];

    for (int i = 0; i < 64; i++) {
        ssize_t n = read(fd, buf, sizeof(buf));

        if (n > 0) {
            if (off != NULL) {
                *off += n;
            }
            feed(c, lb, buf, (size_t)n);
            continue;
        }
        if (n == 0) {
            return 1;
        }
        if (errno == EINTR) {
            continue;
        }
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
    }
    return 0;
}

static int poll_file(struct camera *c, char *err, size_t errlen)
{
    struct stat now_st;
    struct stat fd_st;
    int r;

    if (fstat(c->fd, &fd_st) == 0 && fd_st.st_size < c->off) {
        /* truncated in place (copytruncate): start again from its beginning */
        lseek(c->fd, 0, SEEK_SET);
        c->off = 0;
        linebuf_init(&c->lines);
    }
    r = drain(c, c->fd, &c->lines, &c->off);
    if (r < 0) {
        snprintf(err, errlen, "camera: read %s: %s", c->conf.path, strerror(errno));
        return MSG_ERR_IO;
    }
    if (stat(c->conf.path, &now_st) == 0 && now_st.st_ino != c->ino) {
        /* rotated: the old file was read to its end above; the new one is read from its
         * start (everything in it was appended after the rotation) */
        (void)drain(c, c->fd, &c->lines, &c->off);
        close(c->fd);
        c->fd = -1;
        return open_file(c, true, err, errlen);
    }
    return MSG_OK;
}

/* Emits the readings of every interval that has closed. */
static void close_intervals(struct camera *c, int64_t now)
{
    int i;

    for (;;) {
        struct msg_event ev;

        i = traffic_agg_due(&c->agg, now);
        if (i < 0) {
            break;
        }
        memset(&ev, 0, sizeof(ev));
        ev.stream = MSG_STREAM_TRAFFIC;
        traffic_agg_reading(&c->agg, i, &ev.u.traffic, &ev.env.ts_ms);
        traffic_agg_remove(&c->agg, i);
        offer(c, &ev, "traffic reading refused by the validator");
    }
}

static int camera_poll(void *state, int64_t now_mono, struct agent_source_wait *wait,
                       char *err, size_t errlen)
{
    struct camera *c = state;
    int64_t wall;
    int64_t next_close;
    int64_t next;
    int rc = MSG_OK;

    c->now_mono = now_mono;
    emitq_flush(&c->queue, c->emit, now_mono, c->bad.who);
    if (c->input == CAMERA_INPUT_FIFO) {
        if (drain(c, c->fd, &c->lines, NULL) < 0) {
            snprintf(err, errlen, "camera: read %s: %s", c->conf.path, strerror(errno));
            rc = MSG_ERR_IO;
        }
    } else if (c->input == CAMERA_INPUT_SOCKET) {
        rc = agent_sockserver_poll(c->server, err, errlen);
    } else {
        rc = poll_file(c, err, errlen);
    }
    wall = msg_clock_wall_ms();
    close_intervals(c, wall);
    next = badlog_tick(&c->bad, now_mono);
    next_close = traffic_agg_next_close(&c->agg);
    if (next_close != INT64_MAX) {
        int64_t in = next_close - wall;

        in = in < 0 ? 0 : in;
        if (now_mono + in < next) {
            next = now_mono + in;
        }
    }
    if (emitq_next(&c->queue) < next) {
        next = emitq_next(&c->queue);
    }
    if (c->input == CAMERA_INPUT_FILE && now_mono + CAMERA_FILE_POLL_MS < next) {
        next = now_mono + CAMERA_FILE_POLL_MS;
    }
    wait->fd = c->input == CAMERA_INPUT_SOCKET ? agent_sockserver_fd(c->server)
               : c->input == CAMERA_INPUT_FIFO ? c->fd
                                               : -1;
    wait->next_ms = next;
    return rc;
}

static void camera_close(void *state)
{
    struct camera *c = state;

    if (c == NULL) {
        return;
    }
    agent_sockserver_close(c->server);
    if (c->fd >= 0) {
        close(c->fd);
    }
    if (c->queue.n > 0) {
        log_msg(LOG_ERR, "camera: %s: %zu readings the store did not take are lost on close",
                c->conf.path, c->queue.n);
    }
    log_msg(LOG_NOTICE, "camera: %s: closed: %llu vehicles counted, %llu readings stored, "
            "%llu bad inputs (%llu late counts), %llu refused", c->conf.path, c->counts,
            (unsigned long long)c->queue.stored, (unsigned long long)c->bad.total, c->late,
            (unsigned long long)c->queue.refused);
    free(c);
}

const struct agent_source agent_source_camera = {
    .name = "camera",
    .summary = "traffic counts and incidents from a camera's JSON lines (FIFO, socket, file)",
    .keys = camera_keys,
    .conf_size = sizeof(struct camera_conf),
    .check = camera_check,
    .open = camera_open,
    .poll = camera_poll,
    .close = camera_close,
};
