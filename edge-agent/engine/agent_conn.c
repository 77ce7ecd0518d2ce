/* agent_conn.c -- the engine's connection and what comes back over it: connecting (with the
 * retained last will and the connection counter), coming up (subscriptions, the birth),
 * reconnecting after a backoff, and the events paho's callbacks queued: acknowledgements,
 * collectors' health, refusals and the connection's own changes.
 *
 * Not for: sending (agent_send.c) or paho's threads (agent_ring.c only queues); the struct and
 * the ownership rules are in agent_int.h. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <MQTTAsync.h>

#include "agent_clock.h"
#include "agent_int.h"
#include "log.h"
#include "msg_ack.h"
#include "msg_health.h"
#include "msg_restore.h"
#include "msg_topic.h"

/* ---- the connection (engine thread) --------------------------------------------------- */

static void schedule_reconnect(struct agent *a, int64_t now, const char *why)
{
    int64_t wait = msg_backoff_next(&a->reconnect, agent_rand_next(&a->rng));

    a->conn_state = AGENT_CONN_IDLE;
    a->next_connect_ms = now + wait;
    log_msg(LOG_WARNING, "agent: %s; reconnecting in %" PRId64 " ms", why, wait);
}

void agent_conn_start(struct agent *a, int64_t now)
{
    MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer5;
    MQTTAsync_willOptions will = MQTTAsync_willOptions_initializer;
    MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
    struct msg_status st;
    struct agent_clock_now clk;
    char err[MSG_ERRLEN];
    int rc;

    pthread_mutex_lock(&a->store_lock);
    rc = agent_store_next_conn(a->store, &a->conn, err, sizeof(err));
    pthread_mutex_unlock(&a->store_lock);
    if (rc != MSG_OK) {
        log_msg(LOG_ERR, "agent: connection counter: %s", err);
        schedule_reconnect(a, now, "cannot count the connection");
        return;
    }
    /* the retained last will: offline, this connection's counter and time (protocol.md 5) */
    memset(&st, 0, sizeof(st));
    agent_clock_read(a->cfg->clock_sync, &clk);
    st.state = MSG_STATE_OFFLINE;
    st.conn = a->conn;
    memcpy(st.store_id, a->store_id, sizeof(st.store_id));
    st.ts_ms = clk.wall_ms;
    st.clock_synced = clk.synced;
    if (msg_status_encode(&st, a->will_buf, sizeof(a->will_buf), &a->will_len) != MSG_OK) {
        schedule_reconnect(a, now, "cannot encode the last will");
        return;
    }
    will.topicName = a->topics[MSG_STREAM_STATUS];
    will.message = NULL;
    will.payload.data = a->will_buf;
    will.payload.len = (int)a->will_len;
    will.qos = 1;
    will.retained = 1;

    co.keepAliveInterval = (int)(a->cfg->mqtt_keepalive_ms / 1000);
    co.connectTimeout = (int)((a->cfg->mqtt_connect_timeout_ms + 999) / 1000);
    co.cleanstart = 1;         /* Session Expiry 0 is the default without the property */
    co.automaticReconnect = 0; /* our own backoff */
    co.will = &will;
    co.onSuccess5 = agent_ring_on_connect_ok;
    co.onFailure5 = agent_ring_on_connect_fail;
    co.context = a;
    if (a->username[0] != '\0') {
        co.username = a->username;
    }
    if (a->cfg->mqtt_password[0] != '\0') {
        co.password = a->cfg->mqtt_password;
    }
    if (a->cfg->tls) {
        ssl.trustStore = a->cfg->tls_cafile[0] != '\0' ? a->cfg->tls_cafile : NULL;
        ssl.keyStore = a->cfg->tls_certfile[0] != '\0' ? a->cfg->tls_certfile : NULL;
        ssl.privateKey = a->cfg->tls_keyfile[0] != '\0' ? a->cfg->tls_keyfile : NULL;
        ssl.enableServerCertAuth = 1;
        ssl.verify = a->cfg->tls_verify_hostname ? 1 : 0;
        ssl.sslVersion = MQTT_SSL_VERSION_TLS_1_2;
        co.ssl = &ssl;
    }
    rc = MQTTAsync_connect(a->client, &co);
    if (rc != MQTTASYNC_SUCCESS) {
        char why[sizeof(a->uri) + 64];

        snprintf(why, sizeof(why), "connect to %s not started (paho %d)", a->uri, rc);
        schedule_reconnect(a, now, why);
        return;
    }
    a->conn_state = AGENT_CONN_CONNECTING;
    log_msg(LOG_DEBUG, "agent: connecting to %s conn=%" PRIu64, a->uri, a->conn);
}

static void on_up(struct agent *a, int64_t now)
{
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    char *filters[3];
    int qos[3] = {1, 1, 1};
    int rc;

    a->conn_state = AGENT_CONN_UP;
    a->connected_ms = now;
    a->handed = 0;
    a->pubacks_base = atomic_load(&a->pubacks);
    a->cnt.connects++;
    msg_backoff_reset(&a->reconnect);
    log_msg(LOG_NOTICE, "agent: connected to broker %s conn=%" PRIu64 " device=%s", a->uri, a->conn,
            a->cfg->device_id);
    filters[0] = a->ack_topic;
    filters[1] = a->health_filter;
    filters[2] = a->restore_topic;
    ro.context = a;
    rc = MQTTAsync_subscribeMany(a->client, 3, filters, qos, &ro);
    if (rc != MQTTASYNC_SUCCESS) {
        log_msg(LOG_WARNING, "agent: subscribe to %s, %s and %s: paho %d", a->ack_topic,
                a->health_filter, a->restore_topic, rc);
    }
    /* collectors' health comes again as retained messages on this subscription */
    a->n_health = 0;
    a->resend_ok = false;
    agent_send_refresh_stats(a, now, true);
    /* the birth goes now whatever the bucket holds; what follows pays it back (the broker
     * counts it: protocol.md 8) */
    agent_bucket_spend(&a->publish_bucket, now);
    agent_send_status(a, true, now);
    /* everything held and not fresh goes out again as backlog: what was in flight is of
     * unknown fate. The frontier stays: readings taken during the outage and still fresh
     * (live_ms) go out live, the older ones with the backlog. */
    agent_window_clear_sent(a->win);
    a->backlog_cursor = 0;
    a->backlog_idle = false;
    a->next_store_poll_ms = now;
    /* a new path, perhaps a whole city reconnecting: the backlog starts small again */
    agent_backlog_init(&a->backlog, a->cfg->backlog_delay_ms,
                       (double)(a->cfg->window - a->cfg->window / 4));
}

/* ---- acknowledgements and health (engine thread) -------------------------------------- */

static void handle_ack(struct agent *a, const char *payload, size_t len, int64_t now)
{
    const struct msg_ack_store *mine;
    char err[MSG_ERRLEN];
    uint64_t deleted = 0;
    size_t in_flight;
    int rc;

    rc = msg_ack_parse(payload, len, a->ack, err, sizeof(err));
    if (rc != MSG_OK) {
        log_msg(LOG_DEBUG, "agent: acknowledgement ignored: %s", err);
        return;
    }
    mine = msg_ack_find(a->ack, a->store_id);
    if (mine == NULL || mine->ranges.n == 0) {
        return; /* another store's (an old SD card): not ours to delete */
    }
    pthread_mutex_lock(&a->store_lock);
    rc = agent_store_ack(a->store, mine->ranges.r, mine->ranges.n, &deleted, err, sizeof(err));
    pthread_mutex_unlock(&a->store_lock);
    if (rc != MSG_OK) {
        log_msg(LOG_ERR, "agent: deleting acknowledged readings: %s", err);
        return; /* kept: a later acknowledgement covers them again */
    }
    a->cnt.acked += deleted;
    a->cnt.dead += msg_rangeset_count(&mine->dead);
    in_flight = a->win->n_sent; /* as it was when these came back (for the backlog window) */
    for (size_t i = 0; i < a->win->n_slots; i++) {
        struct agent_slot *s = &a->win->slots[i];

        if (s->state == AGENT_SLOT_FREE ||
            !msg_ranges_contains(mine->ranges.r, mine->ranges.n, s->seq)) {
            continue;
        }
        if (s->state == AGENT_SLOT_SENT && s->sends == 1) {
            agent_rto_sample(&a->rto, now - s->first_sent_ms); /* Karn: first sends only */
            agent_backlog_sample(&a->backlog, now - s->first_sent_ms, now, in_flight);
        }
        agent_window_remove(a->win, s);
    }
    /* the held count must not stay the one from before the deletion: the backlog wake in
     * agent_send_next_deadline() compares it with what is in flight */
    agent_send_refresh_stats(a, now, true);
    /* the status follows in the tick (agent_send.c) once the backlog changed noticeably */
}

static bool health_allows(const struct agent *a)
{
    for (size_t i = 0; i < a->n_health; i++) {
        if (a->health[i].online && a->health[i].db == MSG_DB_UP) {
            return true;
        }
    }
    return false;
}

static void handle_health(struct agent *a, const struct msg_topic *t, const char *payload,
                          size_t len, int64_t now)
{
    struct msg_health h;
    struct agent_health *slot = NULL;
    char err[MSG_ERRLEN];
    bool was;

    if (len == 0) {
        /* a cleared retained message: that collector is gone */
        for (size_t i = 0; i < a->n_health; i++) {
            if (strcmp(a->health[i].collector, t->collector_id) == 0) {
                a->health[i] = a->health[--a->n_health];
                break;
            }
        }
        goto decide;
    }
    if (msg_health_parse(t, payload, len, &h, err, sizeof(err)) != MSG_OK) {
        log_msg(LOG_DEBUG, "agent: health message ignored: %s", err);
        return;
    }
    for (size_t i = 0; i < a->n_health; i++) {
        if (strcmp(a->health[i].collector, h.collector) == 0) {
            slot = &a->health[i];
        }
    }
    if (slot == NULL) {
        if (a->n_health >= AGENT_COLLECTORS_MAX) {
            return;
        }
        slot = &a->health[a->n_health++];
        memcpy(slot->collector, h.collector, sizeof(slot->collector));
        slot->online = !h.online; /* so that the first one is logged */
    }
    if (slot->online != h.online || slot->db != h.db) {
        log_msg(LOG_NOTICE, "agent: collector %s is %s, database %s", h.collector,
                h.online ? "online" : "offline", msg_db_state_name(h.db));
    }
    slot->online = h.online;
    slot->db = h.db;
decide:
    was = a->resend_ok;
    a->resend_ok = health_allows(a);
    if (was != a->resend_ok) {
        if (a->resend_ok) {
            /* resume at the configured rates, not with what piled up meanwhile */
            agent_bucket_drain(&a->replay_bucket, now);
            agent_bucket_drain(&a->resend_bucket, now);
            log_msg(LOG_NOTICE, "agent: resending and replay allowed (a collector has its "
                                "database up)");
        } else {
            log_msg(LOG_WARNING, "agent: resending and replay held: no collector says "
                                 "online with database up");
        }
    }
}

/* The database was restored to a point in time (protocol.md 6.3): once per epoch, the kept
 * readings acknowledged from target to restored (with the clocks' margin on each side) are held
 * again and go out with the backlog, at the replay rate and only while the health allows. The
 * collector stores those the restore lost and acknowledges all. */
static void handle_restore(struct agent *a, const char *payload, size_t len, int64_t now)
{
    struct msg_restore r;
    char err[MSG_ERRLEN];
    uint64_t taken = 0;
    int rc;

    if (len == 0) {
        return; /* cleared */
    }
    if (msg_restore_parse(payload, len, &r, err, sizeof(err)) != MSG_OK) {
        log_msg(LOG_DEBUG, "agent: restore announcement ignored: %s", err);
        return;
    }
    if (r.epoch <= a->stats.restore_epoch) {
        return; /* acted on (the retained message comes again with each connect) */
    }
    pthread_mutex_lock(&a->store_lock);
    rc = agent_store_restore(a->store, r.epoch, r.target_ms - MSG_RESTORE_SKEW_MS,
                             r.restored_ms + MSG_RESTORE_SKEW_MS, &taken, err, sizeof(err));
    pthread_mutex_unlock(&a->store_lock);
    if (rc != MSG_OK) {
        log_msg(LOG_ERR, "agent: taking back kept readings after a restore: %s", err);
        return; /* the epoch stays unrecorded: the next connect's retained message tries again */
    }
    a->cnt.restored += taken;
    log_msg(LOG_NOTICE,
            "agent: the database was restored (epoch %" PRIu64 "): sending again %" PRIu64
            " acknowledged readings it may have lost",
            r.epoch, taken);
    /* they are below the frontier: the backlog pass sends them */
    a->backlog_cursor = 0;
    a->backlog_idle = false;
    a->next_store_poll_ms = now;
    a->status_dirty = true;
    agent_send_refresh_stats(a, now, true);
}

static void handle_message(struct agent *a, const struct agent_ev *e, int64_t now)
{
    struct msg_topic t;
    char err[MSG_ERRLEN];
    const char *payload = e->buf + e->topic_len + 1;

    if (msg_topic_parse(e->buf, e->topic_len, &t, err, sizeof(err)) != MSG_OK) {
        return;
    }
    if (t.stream == MSG_STREAM_ACK && strcmp(t.device_id, a->cfg->device_id) == 0) {
        handle_ack(a, payload, e->len, now);
    } else if (t.stream == MSG_STREAM_HEALTH) {
        handle_health(a, &t, payload, e->len, now);
    } else if (t.stream == MSG_STREAM_RESTORE) {
        handle_restore(a, payload, e->len, now);
    }
}

/* A refused publish (protocol.md 7.3). PUBACK 0x87 is every refusal in mosquitto 2.0: the
 * device's message rate as well as the reading's content. So a refusal alone never gives a
 * reading up: it is tried again with capped backoff until the collector acknowledges it
 * (stored, or dead: a content refusal that the broker passed on becomes a dead letter and a
 * dead acknowledgement), and only one refused for refuse_give_up_ms since its first refusal,
 * at least refuse_tries times and never acknowledged meanwhile, goes to the rejected list.
 * A rate refusal cannot last that long: the agent paces under the limit and the broker's
 * bucket refills between two tries. */
static void handle_refusal(struct agent *a, struct agent_slot *s, int reason, int64_t now)
{
    char why[128];
    char err[MSG_ERRLEN];
    int64_t wait;
    int64_t refused_for;
    int rc;

    a->cnt.refusals++;
    s->refusals++;
    if (s->refusals == 1) {
        s->first_refused_ms = now;
    }
    refused_for = now - s->first_refused_ms;
    wait =
        msg_backoff_cap(a->cfg->refuse_backoff_ms, a->cfg->refuse_backoff_max_ms, s->refusals - 1);
    if (s->refusals < (unsigned)a->cfg->refuse_tries || refused_for < a->cfg->refuse_give_up_ms) {
        if (agent_window_refuse(a->win, s, now + wait)) {
            log_msg(LOG_INFO,
                    "agent: broker refused seq=%" PRIu64 " (reason 0x%02x), try %u "
                    "(refused for %" PRId64 " s); next in %" PRId64 " ms",
                    s->seq, (unsigned)reason, s->refusals, refused_for / 1000, wait);
            return;
        }
        /* the window is full of refused readings: let this one go, still held, and have a
         * backlog pass come back for it after its wait (its count starts again: it is never
         * given up early for want of a slot) */
        if (a->again_seq == 0 || s->seq < a->again_seq) {
            a->again_seq = s->seq;
        }
        if (now + wait < a->again_ms) {
            a->again_ms = now + wait;
        }
        log_msg(LOG_INFO,
                "agent: broker refused seq=%" PRIu64 " (reason 0x%02x), try %u; "
                "%d refused readings wait already, tried again in %" PRId64 " ms",
                s->seq, (unsigned)reason, s->refusals, AGENT_REFUSED_MAX, wait);
        a->cnt.let_go++;
        agent_window_remove(a->win, s);
        return;
    }
    snprintf(why, sizeof(why),
             "broker refused it %u times over %" PRId64 " s (PUBACK reason "
             "0x%02x), never acknowledged",
             s->refusals, refused_for / 1000, (unsigned)reason);
    pthread_mutex_lock(&a->store_lock);
    rc = agent_store_reject(a->store, s->seq, why, err, sizeof(err));
    pthread_mutex_unlock(&a->store_lock);
    if (rc != MSG_OK && rc != MSG_ERR_INVAL) {
        log_msg(LOG_ERR, "agent: moving seq=%" PRIu64 " to the rejected list: %s", s->seq, err);
        if (!agent_window_refuse(a->win, s, now + wait)) {
            agent_window_remove(a->win, s);
        }
        return;
    }
    log_msg(LOG_WARNING, "agent: reading seq=%" PRIu64 " (%s) rejected for good: %s", s->seq,
            msg_stream_name(s->stream), why);
    a->cnt.rejected++;
    agent_window_remove(a->win, s);
    a->status_dirty = true;
    agent_send_refresh_stats(a, now, true);
}

void agent_conn_handle_event(struct agent *a, struct agent_ev *e, int64_t now)
{
    struct agent_slot *s;

    switch (e->type) {
    case AGENT_EV_CONNECTED:
        if (a->conn_state == AGENT_CONN_CONNECTING) {
            on_up(a, now);
        }
        break;
    case AGENT_EV_CONNECT_FAILED:
        if (a->conn_state == AGENT_CONN_CONNECTING) {
            char why[sizeof(a->uri) + 128];

            snprintf(why, sizeof(why), "connect to %s failed (paho %d, reason 0x%02x)", a->uri,
                     e->code, (unsigned)e->reason);
            schedule_reconnect(a, now, why);
        }
        break;
    case AGENT_EV_LOST:
        if (a->conn_state == AGENT_CONN_UP || a->conn_state == AGENT_CONN_CONNECTING) {
            char why[sizeof(a->uri) + 128];

            agent_window_clear_sent(a->win);
            a->n_health = 0;
            a->resend_ok = false;
            if (e->reason != 0) {
                snprintf(why, sizeof(why),
                         "disconnected by broker %s (reason 0x%02x) after "
                         "%" PRId64 " s",
                         a->uri, (unsigned)e->reason, (now - a->connected_ms) / 1000);
            } else {
                snprintf(why, sizeof(why),
                         "disconnected from broker %s: connection lost "
                         "after %" PRId64 " s",
                         a->uri, (now - a->connected_ms) / 1000);
            }
            schedule_reconnect(a, now, why);
        }
        break;
    case AGENT_EV_PUB_FAILED:
        s = agent_window_find_token(a->win, e->token);
        if (s == NULL) {
            break;
        }
        handle_refusal(a, s, e->reason, now); /* agent_ring_on_pub_fail: refusals only */
        break;
    case AGENT_EV_MESSAGE:
        handle_message(a, e, now);
        break;
    case AGENT_EV_DISCONNECTED:
        a->conn_state = AGENT_CONN_IDLE;
        break;
    }
}
