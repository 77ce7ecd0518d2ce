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
 * Several clients may be connected at once (sockserver.h: 8 here; one more is answered
 * `error busy: ...`); each line is handled on its own. The reading's time is when the line
 * was read. Not for: `pantau-agent report` (agent_report.c), which writes to the store itself
 * and works while the agent is stopped. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_source.h"
#include "badlog.h"
#include "larva_input.h"
#include "linebuf.h"
#include "log.h"
#include "sockserver.h"

#define LARVA_CLIENTS_MAX 8

struct larva_conf {
    char path[AGENT_SOCKSERVER_PATH_MAX];
    char mode[8];
};

static const struct conf_key larva_keys[] = {
    {"path", CONF_STR, NULL, offsetof(struct larva_conf, path), AGENT_SOCKSERVER_PATH_MAX, 0, 0,
     "the Unix socket that takes one inspection per line"},
    {"mode", CONF_STR, "0660", offsetof(struct larva_conf, mode), 8, 0, 0,
     "the socket's file mode (octal)"},
    CONF_END,
};

struct larva {
    struct larva_conf conf;
    const struct agent_emit *emit;
    struct badlog bad;
    struct agent_sockserver *server;
    unsigned long long stored, refused, failed;
};

static int larva_check(const void *confp, char *err, size_t errlen)
{
    const struct larva_conf *c = confp;

    return agent_sockserver_check(c->path, c->mode, err, errlen);
}

/* One inspection line from the client on fd, answered; false when the client is to be dropped
 * (it does not read its answers). A last line without a newline is still one inspection: the
 * writer may have shut down only its sending side and wait for the answer. */
static bool on_line(void *ctx, int fd, const char *line, size_t len, bool unterminated)
{
    struct larva *l = ctx;
    char why[MSG_ERRLEN] = "";
    char reply[MSG_ERRLEN + 16];
    struct msg_event ev;
    int rc;

    (void)unterminated;
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
            return agent_sockserver_reply(fd, "ok");
        }
        if (rc != MSG_ERR_SCHEMA && rc != MSG_ERR_JSON) {
            l->failed++;
            log_msg(LOG_WARNING, "larva: %s: inspection not stored: %s", l->conf.path, why);
            snprintf(reply, sizeof(reply), "error store: %s", why);
            return agent_sockserver_reply(fd, reply);
        }
    }
    l->refused++;
    badlog_add(&l->bad, "inspection refused", why);
    snprintf(reply, sizeof(reply), "error %s", why);
    return agent_sockserver_reply(fd, reply);
}

static bool on_too_long(void *ctx, int fd)
{
    struct larva *l = ctx;

    l->refused++;
    badlog_add(&l->bad, "inspection refused", "line too long");
    return agent_sockserver_reply(fd, "error line: longer than 8192 bytes");
}

static void larva_close(void *state);

static int larva_open(void **state, const void *confp, const struct agent_emit *emit,
                      char *err, size_t errlen)
{
    struct larva *l = NULL;
    struct agent_sockserver_conf sc;
    char who[96];
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
    snprintf(who, sizeof(who), "larva: %.80s", l->conf.path);
    badlog_init(&l->bad, who);
    memset(&sc, 0, sizeof(sc));
    sc.who = "larva";
    sc.path = l->conf.path;
    sc.mode = l->conf.mode;
    sc.clients = LARVA_CLIENTS_MAX;
    sc.busy = "error busy: too many clients, try again";
    sc.on_line = on_line;
    sc.on_too_long = on_too_long;
    sc.ctx = l;
    rc = agent_sockserver_open(&l->server, &sc, err, errlen);
    if (rc != MSG_OK) {
        goto fail;
    }
    log_msg(LOG_NOTICE, "larva: taking inspections on %s", l->conf.path);
    *state = l;
    return MSG_OK;
fail:
    larva_close(l);
    return rc;
}

static int larva_poll(void *state, int64_t now_ms, struct agent_source_wait *wait, char *err,
                      size_t errlen)
{
    struct larva *l = state;
    int rc = agent_sockserver_poll(l->server, err, errlen);

    if (rc != MSG_OK) {
        return rc;
    }
    wait->fd = agent_sockserver_fd(l->server);
    wait->next_ms = badlog_tick(&l->bad, now_ms);
    return MSG_OK;
}

static void larva_close(void *state)
{
    struct larva *l = state;

    if (l == NULL) {
        return;
    }
    agent_sockserver_close(l->server);
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
