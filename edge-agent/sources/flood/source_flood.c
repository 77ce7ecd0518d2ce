/* source_flood.c -- the flood source: a distance sensor (ultrasonic, radar) read from a serial
 * line or from a command's output, turned into water-level readings (protocol.md 4.2).
 *
 *   [source flood]
 *   station     p2c-kali-bekasi
 *   device      /dev/ttyUSB0       # or: command /usr/local/bin/read-distance --port 3
 *   baud        9600
 *   format      cm                 # cm, mm or json (json_member, json_unit)
 *   offset_cm   1050               # mounting height over the gauge zero
 *   interval    60s
 *   median      5
 *   rise_window 15m
 *
 * Serial: the device is opened non-blocking in raw mode (termios) at the configured speed; a
 * FIFO is accepted too (opened read-write, so that writers may come and go). Every line is one
 * sample. Command: the command is run (argv split by cmdline.h, posix_spawnp, never a shell)
 * once per interval with a timeout; every line of its output is one sample.
 *
 * Each sample goes into a median filter of the last `median` samples; at each interval with a
 * new sample, one reading is emitted: distance_cm (the median), offset_cm, level_cm = offset_cm
 * - distance_cm (DOMAIN.md), and rise_cm_h once the least-squares slope over rise_window is
 * known (sensor_line.h). Malformed lines are counted, logged (badlog.h) and skipped. The serial
 * device going away (EOF, EIO) is MSG_ERR_IO: the agent reopens it with backoff. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "agent_source.h"
#include "badlog.h"
#include "cmdline.h"
#include "emitq.h"
#include "linebuf.h"
#include "log.h"
#include "msg_clock.h"
#include "msg_topic.h"
#include "sensor_line.h"

extern char **environ;

#define FLOOD_PATH_MAX 256
#define FLOOD_COMMAND_MAX 1024

struct flood_conf {
    char station[MSG_ID_MAX + 1];
    char device[FLOOD_PATH_MAX];
    char command[FLOOD_COMMAND_MAX];
    long long baud;
    char format[8];
    char json_member[SENSOR_MEMBER_MAX + 1];
    char json_unit[4];
    double offset_cm;
    long long interval_ms;
    long long median;
    long long rise_window_ms;
    long long command_timeout_ms;
};

#define STR_KEY(k, def, field, help)                                                            \
    {k, CONF_STR, def, offsetof(struct flood_conf, field),                                      \
     sizeof(((struct flood_conf *)0)->field), 0, 0, help}

static const struct conf_key flood_keys[] = {
    STR_KEY("station", NULL, station, "station id of the gauge (protocol.md section 2)"),
    STR_KEY("device", "", device, "serial device (or FIFO) the sensor writes lines to"),
    STR_KEY("command", "", command, "instead of device: command printing the distance "
            "(argv, no shell)"),
    {"baud", CONF_INT, "9600", offsetof(struct flood_conf, baud), sizeof(long long), 1200,
     230400, "serial speed: 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400"},
    STR_KEY("format", "cm", format, "line format: cm, mm (a bare number) or json"),
    STR_KEY("json_member", "distance", json_member, "json: member (dotted path) holding the "
            "distance"),
    STR_KEY("json_unit", "mm", json_unit, "json: unit of that member: mm, cm or m"),
    {"offset_cm", CONF_DOUBLE, NULL, offsetof(struct flood_conf, offset_cm), sizeof(double),
     -10000, 100000, "sensor mounting height over the gauge zero, cm"},
    {"interval", CONF_MS, "60s", offsetof(struct flood_conf, interval_ms), sizeof(long long),
     100, 86400000, "one reading per interval"},
    {"median", CONF_INT, "5", offsetof(struct flood_conf, median), sizeof(long long), 1,
     SENSOR_MEDIAN_MAX, "median of the last N samples (spike filter)"},
    {"rise_window", CONF_MS, "15m", offsetof(struct flood_conf, rise_window_ms),
     sizeof(long long), 1000, 86400000, "rate of rise: least-squares slope over this window"},
    {"command_timeout", CONF_MS, "10s", offsetof(struct flood_conf, command_timeout_ms),
     sizeof(long long), 100, 3600000, "command: killed if it runs longer"},
    CONF_END,
};

struct flood {
    struct flood_conf conf;
    const struct agent_emit *emit;
    struct sensor_line_format fmt;
    struct sensor_median median;
    struct sensor_rise rise;
    struct linebuf lines;
    struct badlog bad;
    char argbuf[FLOOD_COMMAND_MAX];
    char *argv[CMDLINE_ARGS_MAX + 1];
    int fd;                 /* serial device, or the command's stdout pipe; -1 */
    bool is_tty;            /* fd is a serial device (a tty) */
    pid_t child;            /* the running command, or 0 */
    int64_t child_deadline; /* CLOCK_MONOTONIC ms */
    bool child_eof;         /* its stdout reached EOF; waiting to reap it */
    int64_t next_sample_ms; /* next interval boundary */
    bool fresh;             /* a sample arrived since the last reading */
    struct msg_event ev;    /* the reading being made */
    struct emitq queue;     /* readings kept while the store fails */
    unsigned long long samples, timeouts, failures;
};

static int baud_speed(long long baud, speed_t *out)
{
    static const struct {
        long long baud;
        speed_t speed;
    } speeds[] = {
        {1200, B1200},   {2400, B2400},   {4800, B4800},     {9600, B9600},
        {19200, B19200}, {38400, B38400}, {57600, B57600}, {115200, B115200},
        {230400, B230400},
    };

    for (size_t i = 0; i < sizeof(speeds) / sizeof(speeds[0]); i++) {
        if (speeds[i].baud == baud) {
            *out = speeds[i].speed;
            return MSG_OK;
        }
    }
    return MSG_ERR_CONFIG;
}

static int flood_check(const void *confp, char *err, size_t errlen)
{
    const struct flood_conf *c = confp;
    struct sensor_line_format fmt;
    char buf[FLOOD_COMMAND_MAX];
    char *argv[CMDLINE_ARGS_MAX + 1];
    size_t argc = 0;
    speed_t sp;

    if (!msg_id_valid(c->station, strlen(c->station))) {
        snprintf(err, errlen, "station: not a station id (a-z 0-9 . _ -, 1 to 64)");
        return MSG_ERR_CONFIG;
    }
    if ((c->device[0] == '\0') == (c->command[0] == '\0')) {
        snprintf(err, errlen, "device, command: exactly one of them must be set");
        return MSG_ERR_CONFIG;
    }
    if (baud_speed(c->baud, &sp) != MSG_OK) {
        snprintf(err, errlen, "baud: %lld is not a standard speed", c->baud);
        return MSG_ERR_CONFIG;
    }
    if (sensor_format_parse(c->format, c->json_member, c->json_unit, &fmt, err, errlen) !=
        MSG_OK) {
        return MSG_ERR_CONFIG;
    }
    if (c->command[0] != '\0') {
        if (cmdline_split(c->command, buf, sizeof(buf), argv, &argc, err, errlen) != MSG_OK) {
            return MSG_ERR_CONFIG;
        }
        if (c->command_timeout_ms > c->interval_ms) {
            snprintf(err, errlen, "command_timeout: longer than interval");
            return MSG_ERR_CONFIG;
        }
    }
    return MSG_OK;
}

static int open_device(struct flood *f, char *err, size_t errlen)
{
    struct termios tio;
    struct stat st;
    speed_t sp = B9600;
    int fd;

    fd = open(f->conf.device, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "flood: cannot open %s: %s", f->conf.device, strerror(errno));
        return MSG_ERR_IO;
    }
    if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode)) {
        /* read-write: the FIFO never reads as EOF when its writer goes, so writers come and go */
        close(fd);
        fd = open(f->conf.device, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) {
            snprintf(err, errlen, "flood: cannot open %s: %s", f->conf.device,
                     strerror(errno));
            return MSG_ERR_IO;
        }
    } else if (isatty(fd)) {
        (void)baud_speed(f->conf.baud, &sp);
        if (tcgetattr(fd, &tio) != 0) {
            snprintf(err, errlen, "flood: %s: tcgetattr: %s", f->conf.device, strerror(errno));
            close(fd);
            return MSG_ERR_IO;
        }
        cfmakeraw(&tio);   /* 8 bits, no parity, no echo, no line editing, no XON/XOFF */
        tio.c_cflag &= ~(tcflag_t)(CSTOPB | CRTSCTS);   /* 1 stop bit, no RTS/CTS */
        tio.c_cflag |= CLOCAL | CREAD;
        tio.c_cc[VMIN] = 1;   /* with O_NONBLOCK: EAGAIN when empty, 0 only on a hangup */
        tio.c_cc[VTIME] = 0;
        cfsetispeed(&tio, sp);
        cfsetospeed(&tio, sp);
        if (tcsetattr(fd, TCSANOW, &tio) != 0) {
            snprintf(err, errlen, "flood: %s: tcsetattr: %s", f->conf.device, strerror(errno));
            close(fd);
            return MSG_ERR_IO;
        }
        tcflush(fd, TCIFLUSH);   /* a half line from before we opened it is not a sample */
        f->is_tty = true;
    } else if (!S_ISCHR(st.st_mode)) {
        snprintf(err, errlen, "flood: %s is neither a serial device nor a FIFO",
                 f->conf.device);
        close(fd);
        return MSG_ERR_CONFIG;
    }
    f->fd = fd;
    return MSG_OK;
}

static int flood_open(void **state, const void *confp, const struct agent_emit *emit, char *err,
                      size_t errlen)
{
    struct flood *f = NULL;
    char who[96];
    size_t argc = 0;
    int rc;

    *state = NULL;
    rc = flood_check(confp, err, errlen);
    if (rc != MSG_OK) {
        goto fail;
    }
    f = calloc(1, sizeof(*f));
    if (f == NULL) {
        snprintf(err, errlen, "flood: out of memory");
        rc = MSG_ERR_NOMEM;
        goto fail;
    }
    memcpy(&f->conf, confp, sizeof(f->conf));
    f->emit = emit;
    f->fd = -1;
    (void)sensor_format_parse(f->conf.format, f->conf.json_member, f->conf.json_unit, &f->fmt,
                              err, errlen);
    (void)sensor_median_init(&f->median, (size_t)f->conf.median);
    sensor_rise_init(&f->rise, f->conf.rise_window_ms);
    linebuf_init(&f->lines);
    snprintf(who, sizeof(who), "flood: station=%s", f->conf.station);
    badlog_init(&f->bad, who);
    emitq_init(&f->queue);
    if (f->conf.command[0] != '\0') {
        (void)cmdline_split(f->conf.command, f->argbuf, sizeof(f->argbuf), f->argv, &argc, err,
                            errlen);
        f->next_sample_ms = msg_clock_mono_ms();   /* the first run at once */
    } else {
        rc = open_device(f, err, errlen);
        if (rc != MSG_OK) {
            goto fail;
        }
        f->next_sample_ms = msg_clock_mono_ms() + f->conf.interval_ms;
    }
    log_msg(LOG_NOTICE, "flood: station=%s: reading %s %s every %lld ms", f->conf.station,
            f->conf.command[0] != '\0' ? "command" : "device",
            f->conf.command[0] != '\0' ? f->argv[0] : f->conf.device, f->conf.interval_ms);
    *state = f;
    return MSG_OK;
fail:
    free(f);
    return rc;
}

static void sample_line(struct flood *f, const char *line, size_t len)
{
    char why[MSG_ERRLEN];
    double d = 0;

    if (sensor_line_parse(&f->fmt, line, len, &d, why, sizeof(why)) != MSG_OK) {
        badlog_add(&f->bad, "malformed line", why);
        return;
    }
    sensor_median_push(&f->median, d);
    f->samples++;
    f->fresh = true;
}

/* Feeds bytes to the line splitter and samples every complete line. */
static void feed(struct flood *f, const char *data, size_t n)
{
    size_t pos = 0;
    const char *line = NULL;
    size_t len = 0;
    enum linebuf_result r;

    for (;;) {
        r = linebuf_next(&f->lines, data, n, &pos, &line, &len);
        if (r == LINEBUF_NONE) {
            break;
        }
        if (r == LINEBUF_TOO_LONG) {
            badlog_add(&f->bad, "malformed line", "line too long");
        } else if (len > SENSOR_LINE_MAX) {
            badlog_add(&f->bad, "malformed line", "line too long");
        } else {
            sample_line(f, line, len);
        }
    }
}

static double round2(double v)
{
    return round(v * 100.0) / 100.0;
}

/* Hands the reading to the agent, or keeps it while the store fails (emitq.h). */
static void offer(struct flood *f, int64_t now)
{
    char why[MSG_ERRLEN] = "";

    if (emitq_offer(&f->queue, f->emit, &f->ev, now, f->bad.who, why, sizeof(why)) != MSG_OK) {
        badlog_add(&f->bad, "reading refused by the validator", why);
    }
}

static void make_reading(struct flood *f, int64_t now)
{
    struct msg_flood *fl = &f->ev.u.flood;
    double d = 0;
    double rise = 0;

    if (!f->fresh || !sensor_median_value(&f->median, &d)) {
        return;
    }
    f->fresh = false;
    memset(&f->ev, 0, sizeof(f->ev));
    f->ev.stream = MSG_STREAM_FLOOD;
    snprintf(f->ev.device_id, sizeof(f->ev.device_id), "%s",
             f->emit->device_id != NULL ? f->emit->device_id : "");
    f->ev.env.ts_ms = 0;   /* now */
    snprintf(fl->station, sizeof(fl->station), "%s", f->conf.station);
    fl->has_distance = true;
    fl->distance_cm = round2(d);
    fl->offset_cm = f->conf.offset_cm;
    fl->has_level = true;
    fl->level_cm = round2(f->conf.offset_cm - fl->distance_cm);
    sensor_rise_push(&f->rise, now, fl->level_cm);
    if (sensor_rise_value(&f->rise, &rise)) {
        fl->has_rise = true;
        fl->rise_cm_h = round2(rise);
    }
    offer(f, now);
}

static int spawn(struct flood *f, int64_t now, char *err, size_t errlen)
{
    posix_spawn_file_actions_t fa;
    int pipefd[2] = {-1, -1};
    pid_t pid = 0;
    int rc;

    if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) != 0) {
        snprintf(err, errlen, "flood: pipe: %s", strerror(errno));
        return MSG_ERR_IO;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
    rc = posix_spawnp(&pid, f->argv[0], &fa, NULL, f->argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pipefd[1]);
    if (rc != 0) {
        close(pipefd[0]);
        f->failures++;
        badlog_add(&f->bad, "command failed", strerror(rc));
        (void)err;
        (void)errlen;
        return MSG_OK;   /* a missing program is counted, and tried again next interval */
    }
    f->fd = pipefd[0];
    f->child = pid;
    f->child_eof = false;
    f->child_deadline = now + f->conf.command_timeout_ms;
    linebuf_init(&f->lines);
    return MSG_OK;
}

/* The command ended (or was killed): its last line without a newline is a line too. */
static void command_done(struct flood *f, int status, bool killed, int64_t now)
{
    const char *line = NULL;
    size_t len = 0;
    char why[64];

    if (f->fd >= 0) {
        close(f->fd);
        f->fd = -1;
    }
    f->child = 0;
    if (killed) {
        f->timeouts++;
        snprintf(why, sizeof(why), "killed after %lld ms", f->conf.command_timeout_ms);
        badlog_add(&f->bad, "command timed out", why);
        linebuf_init(&f->lines);
        return;
    }
    if (linebuf_flush(&f->lines, &line, &len)) {
        sample_line(f, line, len);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        f->failures++;
        snprintf(why, sizeof(why), "exit status %d",
                 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        badlog_add(&f->bad, "command failed", why);
    }
    make_reading(f, now);
}

/* Whether a tty's other end hung up (a USB adapter unplugged). */
static bool hung_up(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};

    return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR | POLLNVAL)) != 0;
}

static int read_fd(struct flood *f, bool *eof, char *err, size_t errlen)
{
    char buf[4096];

    *eof = false;
    for (int i = 0; i < 64; i++) {   /* bounded: other sources get their turn */
        ssize_t n = read(f->fd, buf, sizeof(buf));

        if (n > 0) {
            feed(f, buf, (size_t)n);
            continue;
        }
        if (n == 0 && f->is_tty && !hung_up(f->fd)) {
            return MSG_OK;   /* a tty in raw mode reads 0 when empty, even non-blocking */
        }
        if (n == 0) {
            *eof = true;
            return MSG_OK;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return MSG_OK;
        }
        snprintf(err, errlen, "flood: read %s: %s",
                 f->child != 0 ? "command output" : f->conf.device, strerror(errno));
        return MSG_ERR_IO;
    }
    return MSG_OK;
}

static int poll_command(struct flood *f, int64_t now, char *err, size_t errlen)
{
    int status = 0;
    bool eof = false;
    pid_t r;
    int rc;

    if (f->child != 0 && !f->child_eof && f->fd >= 0) {
        rc = read_fd(f, &eof, err, errlen);
        if (rc != MSG_OK || eof) {
            f->child_eof = true;
            close(f->fd);
            f->fd = -1;
        }
    }
    if (f->child != 0) {
        r = waitpid(f->child, &status, WNOHANG);
        if (r == f->child && f->child_eof) {
            command_done(f, status, false, now);
        } else if (r == f->child) {
            /* exited, but its output may still be in the pipe: drain it first */
            (void)read_fd(f, &eof, err, errlen);
            command_done(f, status, false, now);
        } else if (now >= f->child_deadline) {
            kill(f->child, SIGKILL);
            (void)waitpid(f->child, &status, 0);
            command_done(f, status, true, now);
        }
    }
    if (f->child == 0 && now >= f->next_sample_ms) {
        f->next_sample_ms += f->conf.interval_ms;
        if (f->next_sample_ms <= now) {
            f->next_sample_ms = now + f->conf.interval_ms;
        }
        return spawn(f, now, err, errlen);
    }
    return MSG_OK;
}

static int poll_device(struct flood *f, int64_t now, char *err, size_t errlen)
{
    const char *line = NULL;
    size_t len = 0;
    bool eof = false;
    int rc;

    rc = read_fd(f, &eof, err, errlen);
    if (rc == MSG_OK && eof) {
        snprintf(err, errlen, "flood: %s: end of input (device gone)", f->conf.device);
        rc = MSG_ERR_IO;
    }
    if (rc != MSG_OK) {
        if (linebuf_flush(&f->lines, &line, &len)) {
            badlog_add(&f->bad, "malformed line", "truncated line (device went away)");
        }
        return rc;
    }
    if (now >= f->next_sample_ms) {
        f->next_sample_ms += f->conf.interval_ms;
        if (f->next_sample_ms <= now) {
            f->next_sample_ms = now + f->conf.interval_ms;
        }
        make_reading(f, now);
    }
    return MSG_OK;
}

static int flood_poll(void *state, int64_t now, struct agent_source_wait *wait, char *err,
                      size_t errlen)
{
    struct flood *f = state;
    int64_t next;
    int rc;

    emitq_flush(&f->queue, f->emit, now, f->bad.who);
    if (f->conf.command[0] != '\0') {
        rc = poll_command(f, now, err, errlen);
    } else {
        rc = poll_device(f, now, err, errlen);
    }
    next = badlog_tick(&f->bad, now);
    if (f->next_sample_ms < next) {
        next = f->next_sample_ms;
    }
    if (f->child != 0 && f->child_deadline < next) {
        next = f->child_deadline;
    }
    if (f->child != 0 && f->child_eof && now + 10 < next) {
        next = now + 10;   /* reaping a command whose output ended */
    }
    if (emitq_next(&f->queue) < next) {
        next = emitq_next(&f->queue);
    }
    wait->fd = f->fd;
    wait->next_ms = next;
    return rc;
}

static void flood_close(void *state)
{
    struct flood *f = state;
    int status = 0;

    if (f == NULL) {
        return;
    }
    if (f->child != 0) {
        kill(f->child, SIGKILL);
        (void)waitpid(f->child, &status, 0);
    }
    if (f->fd >= 0) {
        close(f->fd);
    }
    if (f->queue.n > 0) {
        log_msg(LOG_ERR, "flood: station=%s: %zu readings the store did not take are lost on "
                "close", f->conf.station, f->queue.n);
    }
    log_msg(LOG_NOTICE, "flood: station=%s: closed: %llu samples, %llu readings stored, %llu "
            "bad inputs, %llu refused, %llu command timeouts, %llu command failures",
            f->conf.station, f->samples, (unsigned long long)f->queue.stored,
            (unsigned long long)f->bad.total, (unsigned long long)f->queue.refused,
            f->timeouts, f->failures);
    free(f);
}

const struct agent_source agent_source_flood = {
    .name = "flood",
    .summary = "water level from a distance sensor on a serial line or a command's output",
    .keys = flood_keys,
    .conf_size = sizeof(struct flood_conf),
    .check = flood_check,
    .open = flood_open,
    .poll = flood_poll,
    .close = flood_close,
};
