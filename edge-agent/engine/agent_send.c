/* agent_send.c -- what the engine sends and when: publishing readings and the status, and the
 * tick that decides what goes now (live readings, resends, tries after a refusal, the backlog,
 * the status) under the pacing, the window and paho's in-flight limit; and when to look again.
 *
 * Also the store calls the tick makes (send records, statistics, expiry) and the summary.
 *
 * Not for: the connection and what comes back over it (agent_conn.c), the arithmetic of the
 * window, timeouts and buckets (agent_window.c); the struct and the ownership rules are in
 * agent_int.h. */
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <MQTTAsync.h>

#include "agent_clock.h"
#include "agent_int.h"
#include "log.h"
#include "msg_history.h"

#define STATS_EVERY_MS 1000 /* agent_store_stats at most this often */
#define STORE_POLL_MS 1000  /* look for rows other processes appended */
#define EXPIRE_EVERY_MS 60000
/* publishes handed to paho and not yet PUBACKed: paho keeps the rest in a command list it
 * walks per send, so a window's worth queued there would slow it down */
#define PAHO_INFLIGHT_MAX 64

/* ---- the store, under its lock (engine thread) ---------------------------------------- */

void agent_send_mark_flush(struct agent *a)
{
    char err[MSG_ERRLEN];

    if (a->n_mark == 0) {
        return;
    }
    pthread_mutex_lock(&a->store_lock);
    if (agent_store_mark_sent(a->store, a->mark, a->n_mark, err, sizeof(err)) != MSG_OK) {
        log_msg(LOG_WARNING, "agent: recording %zu sends: %s", a->n_mark, err);
    }
    pthread_mutex_unlock(&a->store_lock);
    a->n_mark = 0;
}

/* Called inside store scans (the store lock held): only records; agent_send_tick() flushes. */
static void mark_add(struct agent *a, uint64_t seq, int64_t now)
{
    if (a->n_mark == 0) {
        a->mark_due_ms = now + 1000;
    }
    if (a->n_mark < AGENT_MARK_MAX) {
        a->mark[a->n_mark++] = seq;
    }
}

int agent_send_refresh_stats(struct agent *a, int64_t now, bool force)
{
    char err[MSG_ERRLEN];
    int rc;

    if (!force && now - a->stats_ms < STATS_EVERY_MS) {
        return MSG_OK;
    }
    pthread_mutex_lock(&a->store_lock);
    rc = agent_store_stats(a->store, &a->stats, err, sizeof(err));
    pthread_mutex_unlock(&a->store_lock);
    if (rc != MSG_OK) {
        log_msg(LOG_ERR, "agent: store statistics: %s", err);
        return rc;
    }
    a->stats_ms = now;
    if (a->stats.dropped > a->logged_dropped) {
        log_msg(LOG_WARNING,
                "agent: the store dropped %" PRIu64 " of its oldest readings "
                "(%" PRIu64 " in total): store full or too old",
                a->stats.dropped - a->logged_dropped, a->stats.dropped);
        a->logged_dropped = a->stats.dropped;
    }
    return MSG_OK;
}

/* ---- publishing (engine thread) ------------------------------------------------------- */

/* Publishes paho would take now without queueing them behind its in-flight limit. */
static size_t paho_room(struct agent *a)
{
    uint64_t done = atomic_load(&a->pubacks) - a->pubacks_base;
    uint64_t out = a->handed > done ? a->handed - done : 0;

    return out >= PAHO_INFLIGHT_MAX ? 0 : PAHO_INFLIGHT_MAX - (size_t)out;
}

/* Publishes payload for seq on its stream's topic with replay set as asked, and records the
 * token in slot. Returns MSG_OK or MSG_ERR_IO (paho refused: not connected, queue full). */
static int publish_reading(struct agent *a, struct agent_slot *slot, const char *payload,
                           size_t len, bool replay, int64_t now)
{
    MQTTAsync_message m = MQTTAsync_message_initializer;
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    const char *out = payload;
    size_t out_len = len;
    int rc;

    if (paho_room(a) == 0 || a->n_mark >= AGENT_MARK_MAX) {
        return MSG_ERR_FULL; /* after the next PUBACK, or once the tick recorded the sends */
    }
    if (replay) {
        /* the store keeps the first send's text (replay false); flip the flag. The envelope
         * comes first in the encoder's order and a string cannot hold an unescaped quote, so
         * the first match is the envelope's member. */
        static const char from[] = "\"replay\":false";
        static const char to[] = "\"replay\":true";
        const char *p = memmem(payload, len, from, sizeof(from) - 1);

        if (p != NULL && len + 1 < sizeof(a->pubbuf)) {
            size_t head = (size_t)(p - payload);
            size_t tail = len - head - (sizeof(from) - 1);

            memcpy(a->pubbuf, payload, head);
            memcpy(a->pubbuf + head, to, sizeof(to) - 1);
            memcpy(a->pubbuf + head + sizeof(to) - 1, p + sizeof(from) - 1, tail);
            out = a->pubbuf;
            out_len = head + sizeof(to) - 1 + tail;
        }
    }
    m.payload = (void *)out;
    m.payloadlen = (int)out_len;
    m.qos = 1;
    m.retained = 0;
    ro.onFailure5 = agent_ring_on_pub_fail;
    ro.context = a;
    rc = MQTTAsync_sendMessage(a->client, a->topics[slot->stream], &m, &ro);
    if (rc != MQTTASYNC_SUCCESS) {
        log_msg(LOG_DEBUG, "agent: publish seq=%" PRIu64 " not queued: paho %d", slot->seq, rc);
        return MSG_ERR_IO;
    }
    a->handed++;
    slot->token = ro.token;
    slot->sends++;
    slot->sent_ms = now;
    if (slot->sends == 1) {
        slot->first_sent_ms = now;
    }
    slot->due_ms = now + agent_rto_timeout(&a->rto, slot->sends);
    mark_add(a, slot->seq, now);
    return MSG_OK;
}

int agent_send_status(struct agent *a, bool online, int64_t now)
{
    struct msg_status st;
    struct agent_clock_now clk;
    MQTTAsync_message m = MQTTAsync_message_initializer;
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    char buf[4096]; /* 16 stations of 64 characters and the rest */
    size_t len = 0;
    int rc;

    memset(&st, 0, sizeof(st));
    agent_clock_read(a->cfg->clock_sync, &clk);
    st.state = online ? MSG_STATE_ONLINE : MSG_STATE_OFFLINE;
    st.conn = a->conn;
    memcpy(st.store_id, a->store_id, sizeof(st.store_id));
    st.ts_ms = clk.wall_ms;
    st.clock_synced = clk.synced;
    snprintf(st.agent, sizeof(st.agent), "%s", AGENT_NAME);
    st.has_backlog = true;
    st.backlog = a->stats.held;
    st.has_rejected = true;
    st.rejected = a->stats.rejected;
    st.has_dropped = true;
    st.dropped = a->stats.dropped;
    if (online) {
        agent_intake_stations_status(a, &st, now);
    }
    rc = msg_status_encode(&st, buf, sizeof(buf), &len);
    if (rc != MSG_OK) {
        log_msg(LOG_ERR, "agent: status message: %s", msg_strerror(rc));
        return rc;
    }
    m.payload = buf;
    m.payloadlen = (int)len;
    m.qos = 1;
    m.retained = 1;
    ro.context = a;
    rc = MQTTAsync_sendMessage(a->client, a->topics[MSG_STREAM_STATUS], &m, &ro);
    if (rc != MQTTASYNC_SUCCESS) {
        a->status_ms = now; /* try again after the interval, not at once (a busy loop) */
        return MSG_ERR_IO;
    }
    a->handed++;
    a->status_ms = now;
    a->status_held = a->stats.held;
    a->status_rejected = a->stats.rejected;
    a->status_dropped = a->stats.dropped;
    a->status_dirty = false;
    return MSG_OK;
}

/* ---- the tick: what to send now (engine thread) --------------------------------------- */

struct scan_ctx {
    struct agent *a;
    int64_t now;
    int64_t wall_ms;
    size_t budget; /* publishes allowed */
    size_t sent;
    uint64_t last_seq; /* highest (live) or last (backlog) seq seen */
    size_t seen;
    bool stopped; /* the budget ran out before the rows did */
    bool beyond;  /* backlog: the scan reached a row above the frontier */
    bool backlog;
    bool paced; /* live: stopped for want of a publish token */
    int rc;
};

/* `replay` of a send of row now (protocol.md 4.1, "History and news"): true when the reading
 * has been held longer than the lateness since it entered the store, whichever path sends it.
 * The store measures the time held by the time since boot when the reading was stored in this
 * boot (a step of the wall clock, such as NTP's first answer after a boot without a real-time
 * clock, does not move it), else by the wall clock if it was synchronised at both ends, else
 * the age is unknown (held across a reboot): msg_history_replay_held decides. So the first
 * send, and a resend or a backlog within the lateness (a lost first copy, a short outage), are
 * news; a backlog held longer is history. */
static bool row_replay(const struct agent_store_row *row)
{
    return msg_history_replay_held(&row->held);
}

/* Live path (scan_newest: descending): fresh, never-sent readings go out at once. */
static bool scan_live(void *ctx, const struct agent_store_row *row)
{
    struct scan_ctx *c = ctx;
    struct agent *a = c->a;
    struct agent_slot *slot;

    c->seen++;
    if (row->seq > c->last_seq) {
        c->last_seq = row->seq;
    }
    if (row->sends > 0 || c->wall_ms - row->stored_ms > a->cfg->live_ms ||
        agent_window_find(a->win, row->seq) != NULL) {
        return true; /* not live: the backlog path takes it, oldest first */
    }
    if (c->sent >= c->budget) {
        c->stopped = true; /* a live reading waits for room: look again next time */
        return false;
    }
    if (agent_bucket_wait_ms(&a->publish_bucket, c->now) > 0) {
        c->stopped = true; /* the pacing (protocol.md 8): once a token is there */
        c->paced = true;
        return false;
    }
    slot = agent_window_add(a->win, row->seq, row->stream);
    if (slot == NULL) {
        c->stopped = true;
        return false;
    }
    c->rc = publish_reading(a, slot, row->payload, row->payload_len, row_replay(row), c->now);
    if (c->rc != MSG_OK) {
        agent_window_remove(a->win, slot);
        c->stopped = true;
        return false;
    }
    agent_bucket_take(&a->publish_bucket, c->now);
    a->cnt.published++;
    a->cnt.live++;
    c->sent++;
    return true;
}

/* Backlog path (scan: ascending): everything held and not in flight. */
static bool scan_backlog(void *ctx, const struct agent_store_row *row)
{
    struct scan_ctx *c = ctx;
    struct agent *a = c->a;
    struct agent_slot *slot;

    if (row->seq > a->frontier) {
        c->stopped = false;
        c->beyond = true;
        return false; /* newer than the live path has looked at: live first */
    }
    c->seen++;
    if (agent_window_find(a->win, row->seq) != NULL) {
        c->last_seq = row->seq;
        return true; /* in flight or waiting after a refusal */
    }
    /* the backlog leaves the bucket's reserve to live readings and the status */
    if (c->sent >= c->budget ||
        agent_bucket_wait_above_ms(&a->publish_bucket, c->now, a->publish_reserve) > 0 ||
        !agent_bucket_take(&a->replay_bucket, c->now)) {
        c->stopped = true;
        return false;
    }
    slot = agent_window_add(a->win, row->seq, row->stream);
    if (slot == NULL) {
        c->stopped = true;
        return false;
    }
    if (publish_reading(a, slot, row->payload, row->payload_len, row_replay(row), c->now) !=
        MSG_OK) {
        agent_window_remove(a->win, slot);
        c->rc = MSG_ERR_IO;
        c->stopped = true;
        return false;
    }
    agent_bucket_take_above(&a->publish_bucket, c->now, a->publish_reserve);
    c->last_seq = row->seq;
    a->cnt.published++;
    a->cnt.replayed++;
    c->sent++;
    return true;
}

/* Resend path: one held reading by seq. */
struct one_ctx {
    uint64_t seq;
    bool found;
    struct agent *a;
    struct agent_slot *slot;
    int64_t now;
    int rc;
};

static bool scan_one(void *ctx, const struct agent_store_row *row)
{
    struct one_ctx *c = ctx;

    if (row->seq == c->seq) {
        c->found = true;
        c->rc =
            publish_reading(c->a, c->slot, row->payload, row->payload_len, row_replay(row), c->now);
    }
    return false;
}

/* Publishes slot's reading again. Returns false if it is no longer held. */
static bool resend_slot(struct agent *a, struct agent_slot *s, int64_t now)
{
    struct one_ctx c = {.seq = s->seq, .a = a, .slot = s, .now = now, .rc = MSG_OK};
    char err[MSG_ERRLEN];
    int rc;

    pthread_mutex_lock(&a->store_lock);
    rc = agent_store_scan(a->store, s->seq - 1, 1, scan_one, &c, err, sizeof(err));
    pthread_mutex_unlock(&a->store_lock);
    if (rc != MSG_OK) {
        log_msg(LOG_WARNING, "agent: reading seq=%" PRIu64 " for a resend: %s", s->seq, err);
        return true;
    }
    if (!c.found) {
        agent_window_remove(a->win, s); /* acknowledged or dropped meanwhile */
        return false;
    }
    return c.rc == MSG_OK;
}

static void send_live(struct agent *a, int64_t now, int64_t wall)
{
    struct scan_ctx c = {.a = a, .now = now, .wall_ms = wall, .rc = MSG_OK};
    uint64_t appended = atomic_load(&a->appended);
    size_t room = agent_window_room(a->win);
    size_t paho = paho_room(a);
    char err[MSG_ERRLEN];
    int rc;

    if (room == 0 || paho == 0 || (appended == a->seen_appended && now < a->next_store_poll_ms)) {
        return;
    }
    a->next_store_poll_ms = now + STORE_POLL_MS;
    c.budget = room < paho ? room : paho;
    c.last_seq = a->frontier;
    pthread_mutex_lock(&a->store_lock);
    /* newest first; rows in flight are skipped, so ask for them too */
    rc = agent_store_scan_newest(a->store, a->frontier, room + a->win->n_sent, scan_live, &c, err,
                                 sizeof(err));
    pthread_mutex_unlock(&a->store_lock);
    if (rc != MSG_OK) {
        log_msg(LOG_WARNING, "agent: reading new rows: %s", err);
        return;
    }
    a->seen_appended = appended;
    if (c.paced) {
        a->next_store_poll_ms = now + agent_bucket_wait_ms(&a->publish_bucket, now);
    }
    if (!c.stopped) {
        /* every row above the frontier was sent or is not live (or, beyond what the scan
         * returned, older than those): the backlog path takes what is left, oldest first */
        if (c.last_seq != a->frontier) {
            a->backlog_idle = false;
        }
        a->frontier = c.last_seq;
    }
}

/* While resends are held (no collector with its database up), a reading whose timeout ran out
 * gives its place in the window to new live readings, which go out whatever the health says:
 * it stays in the store, and the backlog scan takes it again once resending is allowed. */
static void evict_expired(struct agent *a, int64_t now)
{
    for (size_t i = 0; i < a->win->n_slots; i++) {
        struct agent_slot *s = &a->win->slots[i];

        if (s->state != AGENT_SLOT_SENT || now < s->due_ms) {
            continue;
        }
        if (s->seq <= a->backlog_cursor) {
            a->backlog_cursor = s->seq - 1;
        }
        a->backlog_idle = false;
        agent_window_remove(a->win, s);
    }
}

static void send_refused(struct agent *a, int64_t now)
{
    for (size_t i = 0; i < a->win->n_slots; i++) {
        struct agent_slot *s = &a->win->slots[i];

        if (s->state != AGENT_SLOT_REFUSED || now < s->due_ms) {
            continue;
        }
        if (paho_room(a) == 0 ||
            agent_bucket_wait_above_ms(&a->publish_bucket, now, a->publish_reserve) > 0 ||
            !agent_window_retry(a->win, s)) {
            return;
        }
        if (resend_slot(a, s, now)) {
            agent_bucket_take_above(&a->publish_bucket, now, a->publish_reserve);
            a->cnt.resent++;
        }
    }
}

static void send_resends(struct agent *a, int64_t now)
{
    for (size_t i = 0; i < a->win->n_slots; i++) {
        struct agent_slot *s = &a->win->slots[i];

        if (s->state != AGENT_SLOT_SENT || now < s->due_ms) {
            continue;
        }
        if (paho_room(a) == 0 ||
            agent_bucket_wait_above_ms(&a->publish_bucket, now, a->publish_reserve) > 0 ||
            !agent_bucket_take(&a->resend_bucket, now)) {
            return;
        }
        if (resend_slot(a, s, now)) {
            agent_bucket_take_above(&a->publish_bucket, now, a->publish_reserve);
            a->cnt.resent++;
            log_msg(LOG_DEBUG, "agent: resent seq=%" PRIu64 " (send %u)", s->seq, s->sends);
        }
    }
}

static void send_backlog(struct agent *a, int64_t now)
{
    struct scan_ctx c = {.a = a, .now = now, .backlog = true, .rc = MSG_OK};
    size_t room = agent_window_room(a->win);
    size_t reserve = (size_t)(a->cfg->window / 4);
    size_t allowed = agent_backlog_room(&a->backlog, a->win->n_sent);
    size_t limit;
    char err[MSG_ERRLEN];
    int rc;

    if (a->backlog_idle || room <= reserve || allowed == 0 ||
        agent_bucket_wait_ms(&a->replay_bucket, now) > 0 ||
        agent_bucket_wait_above_ms(&a->publish_bucket, now, a->publish_reserve) > 0) {
        return; /* a full backlog window: an acknowledgement wakes the engine */
    }
    c.budget = room - reserve;
    if (allowed < c.budget) {
        c.budget = allowed; /* the queues ahead are long: fewer backlog readings in flight */
    }
    c.last_seq = a->backlog_cursor;
    limit = c.budget + a->win->n_sent + a->win->n_refused;
    pthread_mutex_lock(&a->store_lock);
    rc = agent_store_scan(a->store, a->backlog_cursor, limit, scan_backlog, &c, err, sizeof(err));
    pthread_mutex_unlock(&a->store_lock);
    if (rc != MSG_OK) {
        log_msg(LOG_WARNING, "agent: reading the backlog: %s", err);
        return;
    }
    a->backlog_cursor = c.last_seq;
    if (c.sent > 0 && !a->replaying) {
        a->replaying = true;
        log_msg(LOG_NOTICE,
                "agent: backlog replay started: %" PRIu64 " readings held, "
                "%lld per second",
                a->stats.held, a->cfg->replay_rate);
    }
    /* nothing more up to the frontier: the rows ran out before the limit, or the scan reached
     * the live path's rows. Until the frontier moves or the cursor goes back, a scan would
     * find nothing, so agent_send_next_deadline() arms no backlog wake (issue 9, item 10: it
     * used to look again at once, for as long as the held count was a second old). */
    if (!c.stopped && (c.beyond || c.seen < limit)) {
        a->backlog_idle = true;
    }
    if (!c.stopped && (c.sent == 0 || a->backlog_idle) && a->replaying) {
        a->replaying = false;
        log_msg(LOG_NOTICE,
                "agent: backlog replay done: %" PRIu64 " readings replayed in "
                "total",
                a->cnt.replayed);
        /* the replay's page cache and freed heap go back to the system (footprint) */
        pthread_mutex_lock(&a->store_lock);
        agent_store_shrink(a->store);
        pthread_mutex_unlock(&a->store_lock);
        malloc_trim(0);
    }
}

static void maybe_status(struct agent *a, int64_t now)
{
    uint64_t held = a->stats.held;
    uint64_t diff = held > a->status_held ? held - a->status_held : a->status_held - held;
    uint64_t notable = a->status_held / 10 < 10 ? 10 : a->status_held / 10;

    if (a->stats.rejected != a->status_rejected || a->stats.dropped != a->status_dropped ||
        diff >= notable || ((held == 0) != (a->status_held == 0))) {
        a->status_dirty = true;
    }
    if (a->status_dirty && now - a->status_ms >= a->cfg->status_min_interval_ms) {
        int64_t wait = agent_bucket_wait_ms(&a->publish_bucket, now);

        if (wait > 0) {
            /* no token: look again when there is one (next_deadline: status_ms + interval) */
            a->status_ms = now - a->cfg->status_min_interval_ms + wait;
            return;
        }
        agent_bucket_take(&a->publish_bucket, now);
        agent_send_status(a, true, now);
    }
}

void agent_send_summary(struct agent *a)
{
    uint64_t dropped_events = agent_ring_dropped(a);

    log_msg(LOG_INFO,
            "agent: summary: held=%" PRIu64 " emitted=%" PRIu64 " invalid=%" PRIu64
            " published=%" PRIu64 " live=%" PRIu64 " replayed=%" PRIu64 " resent=%" PRIu64
            " acked=%" PRIu64 " dead=%" PRIu64 " refusals=%" PRIu64 " rejected=%" PRIu64
            " dropped=%" PRIu64 " inflight=%zu refused_waiting=%zu let_go=%" PRIu64
            " rto_ms=%" PRId64 " connected=%s health=%s"
            " lost_events=%" PRIu64 " wakeups=%" PRIu64 " backlog_window=%.0f"
            " backlog_cuts=%" PRIu64,
            a->stats.held, (uint64_t)atomic_load(&a->emitted), (uint64_t)atomic_load(&a->invalid),
            a->cnt.published, a->cnt.live, a->cnt.replayed, a->cnt.resent, a->cnt.acked,
            a->cnt.dead, a->cnt.refusals, a->stats.rejected, a->stats.dropped, a->win->n_sent,
            a->win->n_refused, a->cnt.let_go, agent_rto_timeout(&a->rto, 1),
            a->conn_state == AGENT_CONN_UP ? "yes" : "no", a->resend_ok ? "ok" : "held",
            dropped_events, a->wakeups, a->backlog.target_ms > 0 ? a->backlog.cwnd : a->backlog.max,
            a->backlog.cuts);
    /* free heap pages left in the middle of glibc's arenas (paho's threads, bursts) go back */
    malloc_trim(0);
}

/* The bytes of the store's files: the database and its write-ahead log. */
static uint64_t store_file_bytes(const char *path)
{
    char wal[AGENT_PATH_MAX + 8];
    struct stat st;
    uint64_t n = 0;

    if (stat(path, &st) == 0) {
        n += (uint64_t)st.st_size;
    }
    snprintf(wal, sizeof(wal), "%s-wal", path);
    if (stat(wal, &st) == 0) {
        n += (uint64_t)st.st_size;
    }
    return n;
}

void agent_send_metrics(struct agent *a)
{
    struct agent_metrics m;
    struct agent_clock_now clk;
    char text[8192];
    char err[MSG_ERRLEN];
    size_t len;

    agent_clock_read(a->cfg->clock_sync, &clk);
    memset(&m, 0, sizeof(m));
    m.device_id = a->cfg->device_id;
    m.version = AGENT_NAME;
    m.connected = a->conn_state == AGENT_CONN_UP;
    m.clock_synced = clk.synced;
    m.held = a->stats.held;
    m.held_bytes = a->stats.held_bytes;
    m.kept = a->stats.kept;
    m.kept_bytes = a->stats.kept_bytes;
    m.limit_readings = (uint64_t)a->cfg->store_max_readings;
    m.limit_bytes = (uint64_t)a->cfg->store_max_bytes;
    m.file_bytes = store_file_bytes(a->cfg->store_path);
    m.acked = a->stats.acked;
    m.rejected = a->stats.rejected;
    m.dropped = a->stats.dropped;
    m.published = a->cnt.published;
    m.replayed = a->cnt.replayed;
    m.resent = a->cnt.resent;
    m.refusals = a->cnt.refusals;
    m.connects = a->cnt.connects;
    m.start_time_s = a->start_wall_s;
    len = agent_metrics_render(&m, text, sizeof(text));
    if (len == 0) {
        snprintf(err, sizeof(err), "the metrics do not fit %zu bytes", sizeof(text));
    } else if (agent_metrics_write(a->cfg->metrics_textfile, text, len, err, sizeof(err)) == 0) {
        a->metrics_failing = false;
        return;
    }
    if (!a->metrics_failing) {
        log_msg(LOG_WARNING, "agent: metrics_textfile: %s", err);
    }
    a->metrics_failing = true;
}

int agent_send_tick(struct agent *a, int64_t now)
{
    struct agent_clock_now clk;
    char err[MSG_ERRLEN];

    if (agent_send_refresh_stats(a, now, false) != MSG_OK) {
        return MSG_ERR_DB;
    }
    if (a->conn_state == AGENT_CONN_UP) {
        agent_clock_read(AGENT_CLOCK_SYNCED, &clk);
        if (!a->resend_ok) {
            evict_expired(a, now);
        }
        send_live(a, now, clk.wall_ms);
        if (a->resend_ok && now >= a->again_ms) {
            /* refused readings let go when the window was full of refusals: the backlog
             * pass goes back for them (and sends only what is neither acknowledged nor in
             * flight) */
            if (a->again_seq - 1 < a->backlog_cursor) {
                a->backlog_cursor = a->again_seq - 1;
            }
            a->backlog_idle = false;
            a->again_ms = INT64_MAX;
            a->again_seq = 0;
        }
        if (a->resend_ok) {
            send_refused(a, now);
            send_resends(a, now);
            send_backlog(a, now);
        }
        a->stations_next_ms = agent_intake_stations_check(a, now);
        maybe_status(a, now);
    }
    if (a->n_mark > 0 && (now >= a->mark_due_ms || a->n_mark >= AGENT_MARK_MAX / 2 ||
                          a->conn_state != AGENT_CONN_UP)) {
        agent_send_mark_flush(a);
    }
    if (now >= a->next_expire_ms) {
        a->next_expire_ms = now + EXPIRE_EVERY_MS;
        if (a->cfg->store_max_age_ms > 0) {
            agent_clock_read(AGENT_CLOCK_SYNCED, &clk);
            pthread_mutex_lock(&a->store_lock);
            if (agent_store_expire(a->store, clk.wall_ms, err, sizeof(err)) != MSG_OK) {
                log_msg(LOG_WARNING, "agent: expiring old readings: %s", err);
            }
            pthread_mutex_unlock(&a->store_lock);
        }
    }
    if (now >= a->next_summary_ms) {
        a->next_summary_ms = now + a->cfg->summary_interval_ms;
        agent_send_summary(a);
    }
    if (a->cfg->metrics_textfile[0] != '\0' && now >= a->next_metrics_ms) {
        a->next_metrics_ms = now + a->cfg->metrics_interval_ms;
        agent_send_metrics(a);
    }
    return MSG_OK;
}

/* When the engine must look again without an event. */
int64_t agent_send_next_deadline(struct agent *a, int64_t now)
{
    int64_t next = a->next_summary_ms;

#define EARLIER(t)        \
    do {                  \
        if ((t) < next) { \
            next = (t);   \
        }                 \
    } while (0)

    EARLIER(a->next_expire_ms);
    if (a->cfg->metrics_textfile[0] != '\0') {
        EARLIER(a->next_metrics_ms);
    }
    if (a->n_mark >= AGENT_MARK_MAX / 2) {
        EARLIER(now);
    } else if (a->n_mark > 0) {
        EARLIER(a->mark_due_ms);
    }
    if (a->conn_state == AGENT_CONN_IDLE) {
        EARLIER(a->next_connect_ms);
    }
    if (a->conn_state == AGENT_CONN_UP) {
        if (agent_window_room(a->win) > 0 && paho_room(a) > 0) {
            EARLIER(a->next_store_poll_ms); /* else an ack or a PUBACK wakes the engine */
        }
        if (a->status_dirty) {
            EARLIER(a->status_ms + a->cfg->status_min_interval_ms);
        }
        EARLIER(a->stats_ms + STATS_EVERY_MS);
        EARLIER(a->stations_next_ms);
        if (a->resend_ok && paho_room(a) > 0) {
            /* with paho full, its next PUBACK wakes the engine (agent_ring_on_delivered);
             * everything below waits for a publish token above the reserve too, or the loop
             * would spin */
            int64_t pace_at =
                now + agent_bucket_wait_above_ms(&a->publish_bucket, now, a->publish_reserve);
            int64_t resend_at = now + agent_bucket_wait_ms(&a->resend_bucket, now);
            int64_t replay_at = now + agent_bucket_wait_ms(&a->replay_bucket, now);

            if (resend_at < pace_at) {
                resend_at = pace_at;
            }
            if (replay_at < pace_at) {
                replay_at = pace_at;
            }
            for (size_t i = 0; i < a->win->n_slots; i++) {
                const struct agent_slot *s = &a->win->slots[i];

                if (s->state == AGENT_SLOT_REFUSED && agent_window_room(a->win) > 0) {
                    /* a full window: an ack makes room and wakes */
                    EARLIER(s->due_ms > pace_at ? s->due_ms : pace_at);
                } else if (s->state == AGENT_SLOT_SENT) {
                    /* a due resend waits for its token too, or the loop would spin */
                    EARLIER(s->due_ms > resend_at ? s->due_ms : resend_at);
                }
            }
            if (!a->backlog_idle && a->stats.held > a->win->n_sent + a->win->n_refused &&
                agent_window_room(a->win) > (size_t)(a->cfg->window / 4) &&
                agent_backlog_room(&a->backlog, a->win->n_sent) > 0) {
                EARLIER(replay_at);
            }
            EARLIER(a->again_ms);
        }
    }
#undef EARLIER
    return next;
}
