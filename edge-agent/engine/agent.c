/* agent.c -- pantau-agent's engine: see agent.h for what it does and why.
 *
 * This file holds the engine's loop and its lifecycle (agent_new, agent_run, agent_free and the
 * stop). The engine's other files, behind the private agent_int.h (which says who owns what):
 * agent_ring.c (paho's thread -> engine), agent_intake.c (the source thread, emit, stations),
 * agent_send.c (publishing and the tick), agent_conn.c (the connection, acknowledgements,
 * health, refusals).
 *
 * Not for: deciding what to send (agent_send.c) or acting on paho's events (agent_conn.c). */
#include "agent.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <MQTTAsync.h>

#include "agent_clock.h"
#include "agent_int.h"
#include "log.h"
#include "msg_clock.h"
#include "msg_topic.h"

#define DISCONNECT_WAIT_MS 3000

/* ---- the loop and the lifecycle ------------------------------------------------------- */

static void drain_events(struct agent *a, int64_t now)
{
    struct agent_ev e;
    uint64_t n;

    if (read(a->wake_fd, &n, sizeof(n)) < 0) {
        /* EAGAIN: nothing was written */
    }
    while (agent_ring_pop(a, &e)) {
        agent_conn_handle_event(a, &e, now);
        free(e.buf);
    }
}

static void shut_down(struct agent *a)
{
    int64_t deadline;

    if (a->src_started) {
        uint64_t one = 1;

        atomic_store(&a->src_stop, true);
        if (write(a->src_stop_fd, &one, sizeof(one)) < 0) {
            /* the thread also checks the flag */
        }
        pthread_join(a->src_thread, NULL);
        a->src_started = false;
    }
    agent_send_mark_flush(a);
    if (a->conn_state == AGENT_CONN_UP) {
        MQTTAsync_disconnectOptions dopts = MQTTAsync_disconnectOptions_initializer5;

        /* 0x04: the broker publishes our will, the retained offline status (protocol.md 5) */
        dopts.reasonCode = MQTTREASONCODE_DISCONNECT_WITH_WILL_MESSAGE;
        dopts.timeout = DISCONNECT_WAIT_MS;
        dopts.onSuccess5 = agent_ring_on_disconnected;
        dopts.onFailure5 = agent_ring_on_disconnect_fail;
        dopts.context = a;
        if (MQTTAsync_disconnect(a->client, &dopts) == MQTTASYNC_SUCCESS) {
            a->conn_state = AGENT_CONN_CLOSING;
            deadline = msg_clock_mono_ms() + DISCONNECT_WAIT_MS + 500;
            while (a->conn_state == AGENT_CONN_CLOSING && msg_clock_mono_ms() < deadline) {
                struct pollfd p = {.fd = a->wake_fd, .events = POLLIN};

                if (poll(&p, 1, 100) >= 0) {
                    drain_events(a, msg_clock_mono_ms());
                }
            }
        }
        log_msg(LOG_NOTICE,
                "agent: disconnected from broker %s (offline status left by the "
                "will)",
                a->uri);
    }
}

int agent_run(struct agent *a, const volatile sig_atomic_t *stop, char *err, size_t errlen)
{
    sigset_t waitmask;
    int rc = MSG_OK;

    sigemptyset(&waitmask);
    if (a->n_runs > 0) {
        if (pthread_create(&a->src_thread, NULL, agent_intake_main, a) != 0) {
            snprintf(err, errlen, "agent: cannot start the source thread");
            return MSG_ERR_NOMEM;
        }
        a->src_started = true;
    }
    a->next_connect_ms = msg_clock_mono_ms();
    a->next_summary_ms = msg_clock_mono_ms() + a->cfg->summary_interval_ms;
    a->next_metrics_ms = msg_clock_mono_ms();
    a->start_wall_s = (double)msg_clock_wall_ms() / 1000.0;
    while (!*stop) {
        int64_t now = msg_clock_mono_ms();
        int64_t next;
        struct timespec ts;
        struct pollfd p = {.fd = a->wake_fd, .events = POLLIN};

        a->wakeups++;
        drain_events(a, now);
        if (a->conn_state == AGENT_CONN_IDLE && now >= a->next_connect_ms) {
            agent_conn_start(a, now);
        }
        rc = agent_send_tick(a, now);
        if (rc != MSG_OK) {
            snprintf(err, errlen, "agent: the store failed; stopping");
            break;
        }
        next = agent_send_next_deadline(a, now);
        now = msg_clock_mono_ms();
        if (next < now) {
            next = now;
        }
        if (next - now > 60000) {
            next = now + 60000;
        }
        ts.tv_sec = (time_t)((next - now) / 1000);
        ts.tv_nsec = (long)((next - now) % 1000) * 1000000L;
        if (ppoll(&p, 1, &ts, &waitmask) < 0 && errno != EINTR) {
            snprintf(err, errlen, "agent: ppoll: %s", strerror(errno));
            rc = MSG_ERR_IO;
            break;
        }
    }
    shut_down(a);
    if (rc == MSG_OK) {
        agent_send_refresh_stats(a, msg_clock_mono_ms(), true);
        agent_send_summary(a);
        if (a->cfg->metrics_textfile[0] != '\0') {
            agent_send_metrics(a); /* disconnected, the store as it stays */
        }
        log_msg(LOG_NOTICE, "agent: stopped: held=%" PRIu64 " last_seq=%" PRIu64, a->stats.held,
                a->stats.last_seq);
    }
    return rc;
}

int agent_new(const struct agent_config *cfg, struct agent **out, char *err, size_t errlen)
{
    MQTTAsync_createOptions opts = MQTTAsync_createOptions_initializer5;
    char ids[MSG_STATUS_STATIONS_MAX][MSG_ID_MAX + 1];
    struct agent_store_options sopt;
    struct agent *a = NULL;
    int rc = MSG_OK;

    *out = NULL;
    a = calloc(1, sizeof(*a));
    if (a == NULL) {
        snprintf(err, errlen, "agent: out of memory");
        return MSG_ERR_NOMEM;
    }
    a->cfg = cfg;
    a->wake_fd = -1;
    a->src_stop_fd = -1;
    pthread_mutex_init(&a->store_lock, NULL);
    pthread_mutex_init(&a->ring.lock, NULL);
    if (getrandom(&a->rng, sizeof(a->rng), 0) != (ssize_t)sizeof(a->rng)) {
        a->rng = (uint64_t)msg_clock_mono_ms() ^ (uint64_t)getpid() << 32;
    }
    a->src_rng = agent_rand_next(&a->rng);
    a->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    a->src_stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (a->wake_fd < 0 || a->src_stop_fd < 0) {
        snprintf(err, errlen, "agent: eventfd: %s", strerror(errno));
        rc = MSG_ERR_IO;
        goto fail;
    }
    /* the configured clock_sync (not the kernel's answer) says whether the clock is set: it
     * marks the store's own readings and judges a backlog held across a reboot (history) */
    memset(&sopt, 0, sizeof(sopt));
    agent_config_store_limits(cfg, &sopt.limits);
    sopt.count_boot = true;
    sopt.clock_sync = cfg->clock_sync;
    rc = agent_store_open_opts(cfg->store_path, &sopt, &a->store, err, errlen);
    if (rc != MSG_OK) {
        goto fail;
    }
    memcpy(a->store_id, agent_store_id(a->store), sizeof(a->store_id) - 1);
    a->store_id[MSG_STORE_ID_LEN] = '\0';
    rc = agent_store_stats(a->store, &a->stats, err, errlen);
    if (rc != MSG_OK) {
        goto fail;
    }
    a->boot = a->stats.boot;
    a->logged_dropped = a->stats.dropped;
    a->status_held = a->stats.held;
    a->frontier = a->stats.last_seq;
    a->stations_next_ms = INT64_MAX;
    /* checked by agent_config_load already */
    if (agent_config_stations(cfg, ids, &a->n_stations, err, errlen) != MSG_OK) {
        rc = MSG_ERR_CONFIG;
        goto fail;
    }
    for (size_t i = 0; i < a->n_stations; i++) {
        memcpy(a->stations[i].id, ids[i], sizeof(a->stations[i].id));
        a->stations[i].last_ms = -1; /* offline until its first reading */
    }
    a->ack = msg_ack_new(MSG_ACK_RANGES_MAX);
    a->win = agent_window_new((size_t)cfg->window, AGENT_REFUSED_MAX);
    if (a->ack == NULL || a->win == NULL) {
        snprintf(err, errlen, "agent: out of memory");
        rc = MSG_ERR_NOMEM;
        goto fail;
    }
    agent_rto_init(&a->rto, cfg->ack_timeout_initial_ms, cfg->ack_timeout_min_ms,
                   cfg->ack_timeout_max_ms);
    msg_backoff_init(&a->reconnect, cfg->reconnect_min_ms, cfg->reconnect_max_ms,
                     cfg->reconnect_jitter == AGENT_JITTER_DECORRELATED ? MSG_BACKOFF_DECORRELATED
                                                                        : MSG_BACKOFF_FULL);
    agent_backlog_init(&a->backlog, cfg->backlog_delay_ms, (double)(cfg->window - cfg->window / 4));
    agent_config_pacing(cfg, &a->pacing);
    agent_bucket_init(&a->publish_bucket, a->pacing.rate, a->pacing.burst, msg_clock_mono_ms());
    a->publish_reserve = floor(a->pacing.burst / 4.0);
    a->again_ms = INT64_MAX;
    agent_bucket_init(&a->replay_bucket, (double)cfg->replay_rate,
                      (double)cfg->replay_rate / 10.0 + 1.0, msg_clock_mono_ms());
    agent_bucket_init(&a->resend_bucket, (double)cfg->resend_rate,
                      (double)cfg->resend_rate / 10.0 + 1.0, msg_clock_mono_ms());
    for (int s = 0; s < MSG_STREAM_COUNT; s++) {
        if (msg_stream_is_reading((enum msg_stream)s) || s == MSG_STREAM_STATUS) {
            if (msg_topic_format(a->topics[s], sizeof(a->topics[s]), (enum msg_stream)s,
                                 cfg->device_id) != MSG_OK) {
                snprintf(err, errlen, "agent: no topic for device '%s'", cfg->device_id);
                rc = MSG_ERR_INVAL;
                goto fail;
            }
        }
    }
    if (msg_topic_format(a->ack_topic, sizeof(a->ack_topic), MSG_STREAM_ACK, cfg->device_id) !=
        MSG_OK) {
        snprintf(err, errlen, "agent: no ack topic for device '%s'", cfg->device_id);
        rc = MSG_ERR_INVAL;
        goto fail;
    }
    snprintf(a->health_filter, sizeof(a->health_filter), "%s", msg_topic_filter(MSG_STREAM_HEALTH));
    snprintf(a->restore_topic, sizeof(a->restore_topic), "%s",
             msg_topic_filter(MSG_STREAM_RESTORE));
    if (cfg->mqtt_username[0] != '\0') {
        snprintf(a->username, sizeof(a->username), "%s", cfg->mqtt_username);
    } else if (cfg->mqtt_password[0] != '\0') {
        snprintf(a->username, sizeof(a->username), "%s", cfg->device_id);
    }
    snprintf(a->uri, sizeof(a->uri), "%s://%s:%lld", cfg->tls ? "ssl" : "tcp", cfg->mqtt_host,
             cfg->mqtt_port);
    /* no offline buffer: the store is the truth. paho also counts publishes queued while
     * connected (waiting for the broker's receive maximum) against maxBufferedMessages: room
     * for the whole window and a few status messages. */
    opts.sendWhileDisconnected = 0;
    opts.maxBufferedMessages = (int)cfg->window + 16;
    rc = MQTTAsync_createWithOptions(&a->client, a->uri, cfg->device_id,
                                     MQTTCLIENT_PERSISTENCE_NONE, NULL, &opts);
    if (rc != MQTTASYNC_SUCCESS) {
        snprintf(err, errlen, "agent: MQTT client for %s: paho %d", a->uri, rc);
        a->client = NULL;
        rc = MSG_ERR_INVAL;
        goto fail;
    }
    rc = MQTTAsync_setCallbacks(a->client, a, agent_ring_on_lost, agent_ring_on_message,
                                agent_ring_on_delivered);
    if (rc == MQTTASYNC_SUCCESS) {
        rc = MQTTAsync_setDisconnected(a->client, a, agent_ring_on_server_disconnect);
    }
    if (rc != MQTTASYNC_SUCCESS) {
        snprintf(err, errlen, "agent: MQTT callbacks: paho %d", rc);
        rc = MSG_ERR_INVAL;
        goto fail;
    }
    a->emit.fn = agent_intake_emit;
    a->emit.ctx = a;
    a->emit.device_id = cfg->device_id;
    for (size_t i = 0; i < cfg->n_sources; i++) {
        struct agent_source_run *r = &a->runs[a->n_runs++];

        r->cs = &cfg->sources[i];
        r->wait.fd = -1;
        r->wait.next_ms = INT64_MAX;
        msg_backoff_init(&r->backoff, cfg->source_backoff_min_ms, cfg->source_backoff_max_ms,
                         MSG_BACKOFF_FULL);
    }
    log_msg(LOG_NOTICE,
            "agent: %s for device %s, store %s (%s): held=%" PRIu64 " last_seq=%" PRIu64
            " boot=%" PRIu64 ", %zu sources",
            AGENT_NAME, cfg->device_id, cfg->store_path, a->store_id, a->stats.held,
            a->stats.last_seq, a->boot, a->n_runs);
    log_msg(LOG_NOTICE,
            "agent: publishing at most %.3g/s burst %.0f (device_kind %s: the "
            "broker's limit %.3g/s burst %.0f, protocol.md 8); replay at most %lld/s, resends "
            "%lld/s",
            a->pacing.rate, a->pacing.burst, a->pacing.kind, a->pacing.limit_rate,
            a->pacing.limit_burst, cfg->replay_rate, cfg->resend_rate);
    *out = a;
    return MSG_OK;
fail:
    agent_free(a);
    return rc;
}

void agent_free(struct agent *a)
{
    struct agent_ev e;

    if (a == NULL) {
        return;
    }
    if (a->client != NULL) {
        MQTTAsync_destroy(&a->client);
    }
    while (agent_ring_pop(a, &e)) {
        free(e.buf);
    }
    agent_store_close(a->store);
    agent_window_free(a->win);
    msg_ack_free(a->ack);
    if (a->wake_fd >= 0) {
        close(a->wake_fd);
    }
    if (a->src_stop_fd >= 0) {
        close(a->src_stop_fd);
    }
    pthread_mutex_destroy(&a->store_lock);
    pthread_mutex_destroy(&a->ring.lock);
    free(a);
}
