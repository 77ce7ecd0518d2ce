/* agent_intake.c -- how readings come into the engine: the source thread that runs the
 * configured sources, emit (the function every source hands its readings to), and the
 * stations' health those readings tell.
 *
 * The source thread opens each source, polls it when its fd is readable or its deadline
 * passed, and reopens a failed one after a backoff (one that says MSG_ERR_CONFIG never).
 * emit completes a reading's envelope, validates it, appends it to the store and notes its
 * station, under store_lock, and wakes the engine.
 *
 * Not for: the sources themselves (agent_source.h, the source files) or sending (agent_send.c);
 * the struct and the ownership rules are in agent_int.h. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "agent_clock.h"
#include "agent_int.h"
#include "log.h"
#include "msg_clock.h"
#include "msg_binding.h"
#include "msg_event.h"

#define STATION_GAP_MIN_MS 1000      /* closer readings are one burst (a camera's lanes) */
#define STATION_SILENCE_MIN_MS 10000 /* a derived silence is never shorter */
/* a derived silence before a second reading shows a gap: the longest interval a traffic
 * reading may have */
#define STATION_SILENCE_FIRST_MS 3600000

/* ---- stations' health ------------------------------------------------------------------ */

/* A reading of ev's station came at mono_ms. The store lock is held. */
static void station_heard(struct agent *a, const struct msg_event *ev, int64_t mono_ms)
{
    const char *id = msg_binding_station(ev);
    struct agent_station *st = NULL;

    if (id == NULL || id[0] == '\0') {
        return;
    }
    for (size_t i = 0; i < a->n_stations; i++) {
        if (strcmp(a->stations[i].id, id) == 0) {
            st = &a->stations[i];
            break;
        }
    }
    if (st == NULL) {
        if (a->n_stations >= MSG_STATUS_STATIONS_MAX) {
            if (!a->stations_full_logged) {
                a->stations_full_logged = true;
                log_msg(LOG_WARNING,
                        "agent: station %s: more than %d stations, its health is "
                        "not reported",
                        id, MSG_STATUS_STATIONS_MAX);
            }
            return;
        }
        st = &a->stations[a->n_stations++];
        memset(st, 0, sizeof(*st));
        snprintf(st->id, sizeof(st->id), "%s", id);
        st->last_ms = -1;
    }
    if (st->last_ms >= 0 && mono_ms - st->last_ms >= STATION_GAP_MIN_MS) {
        st->gaps[st->n_gaps % AGENT_STATION_GAPS] = mono_ms - st->last_ms;
        st->n_gaps++;
    }
    st->last_ms = mono_ms;
}

/* How long st may stay without a reading and still be online. The store lock is held. */
static int64_t station_silence(const struct agent *a, const struct agent_station *st)
{
    int64_t longest = 0;

    if (a->cfg->station_silence_ms > 0) {
        return a->cfg->station_silence_ms;
    }
    if (st->n_gaps == 0) {
        return STATION_SILENCE_FIRST_MS;
    }
    for (size_t i = 0; i < AGENT_STATION_GAPS && i < st->n_gaps; i++) {
        if (st->gaps[i] > longest) {
            longest = st->gaps[i];
        }
    }
    return 3 * longest > STATION_SILENCE_MIN_MS ? 3 * longest : STATION_SILENCE_MIN_MS;
}

static bool station_online(const struct agent *a, const struct agent_station *st, int64_t now)
{
    return st->last_ms >= 0 && now - st->last_ms <= station_silence(a, st);
}

/* Marks the status dirty when a station's health changed; returns when the next one may change
 * (INT64_MAX: none). Engine thread. */
int64_t agent_intake_stations_check(struct agent *a, int64_t now)
{
    int64_t next = INT64_MAX;

    pthread_mutex_lock(&a->store_lock);
    for (size_t i = 0; i < a->n_stations; i++) {
        struct agent_station *st = &a->stations[i];
        bool online = station_online(a, st, now);
        int64_t silence = station_silence(a, st);

        if (online != st->reported_online) {
            st->reported_online = online;
            a->status_dirty = true;
            if (online) {
                log_msg(LOG_NOTICE, "agent: station %s is online", st->id);
            } else if (st->last_ms >= 0) {
                log_msg(LOG_WARNING, "agent: station %s is offline: no reading for %" PRId64 " s",
                        st->id, (now - st->last_ms) / 1000);
            }
        }
        if (online && st->last_ms + silence + 1 < next) {
            next = st->last_ms + silence + 1;
        }
    }
    pthread_mutex_unlock(&a->store_lock);
    return next;
}

/* Fills st's stations with each one's health at now and records it as reported. */
void agent_intake_stations_status(struct agent *a, struct msg_status *st, int64_t now)
{
    pthread_mutex_lock(&a->store_lock);
    for (size_t i = 0; i < a->n_stations; i++) {
        bool up = station_online(a, &a->stations[i], now);

        memcpy(st->stations[i].id, a->stations[i].id, sizeof(st->stations[i].id));
        st->stations[i].online = up;
        a->stations[i].reported_online = up;
    }
    st->n_stations = a->n_stations;
    st->has_stations = a->n_stations > 0;
    pthread_mutex_unlock(&a->store_lock);
}

/* ---- emit: any source thread ----------------------------------------------------------- */

int agent_intake_emit(void *ctx, const struct msg_event *in, char *err, size_t errlen)
{
    struct agent *a = ctx;
    struct msg_event ev;
    struct agent_clock_now now;
    int rc;

    ev = *in;
    agent_clock_read(a->cfg->clock_sync, &now);
    memcpy(ev.device_id, a->cfg->device_id, sizeof(ev.device_id));
    memcpy(ev.env.store_id, a->store_id, sizeof(ev.env.store_id));
    ev.env.seq = 1; /* the store assigns the real one; any valid value validates */
    ev.env.replay = false;
    ev.env.clock_synced = now.synced;
    ev.env.has_boot = true;
    ev.env.boot = a->boot;
    if (ev.env.ts_ms == 0) {
        ev.env.ts_ms = now.wall_ms;
        ev.env.has_mono = true;
        ev.env.mono_ms = now.mono_ms;
    } else {
        ev.env.has_mono = false; /* the source's own time: our mono_ms would not match */
        ev.env.mono_ms = 0;
    }
    atomic_fetch_add(&a->emitted, 1);
    rc = msg_event_validate(&ev, err, errlen);
    if (rc != MSG_OK) {
        atomic_fetch_add(&a->invalid, 1);
        return rc;
    }
    pthread_mutex_lock(&a->store_lock);
    rc = agent_store_append(a->store, &ev, 1, err, errlen);
    if (rc == MSG_OK) {
        station_heard(a, &ev, now.mono_ms);
    }
    pthread_mutex_unlock(&a->store_lock);
    if (rc == MSG_OK) {
        atomic_fetch_add(&a->appended, 1);
        agent_ring_wake(a);
    }
    return rc;
}

/* ---- the source thread ---------------------------------------------------------------- */

static void source_try_open(struct agent *a, struct agent_source_run *r, int64_t now, uint64_t *rng)
{
    char err[MSG_ERRLEN] = "";
    int rc;

    rc = r->cs->source->open(&r->state, r->cs->conf.bytes, &a->emit, err, sizeof(err));
    if (rc == MSG_OK) {
        r->open = true;
        r->wait.fd = -1;
        r->wait.next_ms = now;
        msg_backoff_reset(&r->backoff);
        log_msg(LOG_NOTICE, "agent: source %s opened", r->cs->source->name);
        return;
    }
    r->state = NULL;
    if (rc == MSG_ERR_CONFIG) {
        r->dead = true;
        log_msg(LOG_ERR, "agent: source %s cannot run: %s", r->cs->source->name, err);
        return;
    }
    r->next_open_ms = now + msg_backoff_next(&r->backoff, agent_rand_next(rng));
    log_msg(LOG_WARNING, "agent: source %s did not open: %s; retry in %" PRId64 " ms",
            r->cs->source->name, err, r->next_open_ms - now);
}

static void source_close(struct agent_source_run *r)
{
    if (r->open) {
        r->cs->source->close(r->state);
    }
    r->state = NULL;
    r->open = false;
}

/* Polls an open source whose fd is readable or whose deadline passed; a failed one is closed
 * and reopened after its backoff. */
static void source_poll(struct agent_source_run *r, int64_t now, uint64_t *rng)
{
    char err[MSG_ERRLEN] = "";

    r->wait.fd = -1;
    r->wait.next_ms = INT64_MAX;
    if (r->cs->source->poll(r->state, now, &r->wait, err, sizeof(err)) != MSG_OK) {
        source_close(r);
        r->next_open_ms = now + msg_backoff_next(&r->backoff, agent_rand_next(rng));
        log_msg(LOG_WARNING, "agent: source %s failed: %s; reopening in %" PRId64 " ms",
                r->cs->source->name, err, r->next_open_ms - now);
    }
}

void *agent_intake_main(void *arg)
{
    struct agent *a = arg;
    struct pollfd fds[AGENT_SOURCES_MAX + 1];
    size_t idx[AGENT_SOURCES_MAX + 1];
    uint64_t rng = a->src_rng; /* this thread's own: a->rng is the engine's */

    for (size_t i = 0; i < a->n_runs; i++) {
        a->runs[i].next_open_ms = 0;
    }
    while (!atomic_load(&a->src_stop)) {
        int64_t now = msg_clock_mono_ms();
        int64_t next = now + 60000;
        nfds_t nfds = 0;
        int timeout;

        for (size_t i = 0; i < a->n_runs; i++) {
            struct agent_source_run *r = &a->runs[i];

            if (r->dead) {
                continue;
            }
            if (!r->open && now >= r->next_open_ms) {
                source_try_open(a, r, now, &rng);
            }
            if (r->open && r->wait.fd < 0 && now >= r->wait.next_ms) {
                source_poll(r, now, &rng);
            }
            if (r->open) {
                if (r->wait.next_ms < next) {
                    next = r->wait.next_ms;
                }
                if (r->wait.fd >= 0) {
                    fds[nfds].fd = r->wait.fd;
                    fds[nfds].events = POLLIN;
                    fds[nfds].revents = 0;
                    idx[nfds] = i;
                    nfds++;
                }
            } else if (!r->dead && r->next_open_ms < next) {
                next = r->next_open_ms;
            }
        }
        fds[nfds].fd = a->src_stop_fd;
        fds[nfds].events = POLLIN;
        fds[nfds].revents = 0;
        idx[nfds] = SIZE_MAX;
        nfds++;
        now = msg_clock_mono_ms();
        timeout = next <= now ? 0 : (next - now > 60000 ? 60000 : (int)(next - now));
        if (poll(fds, nfds, timeout) < 0 && errno != EINTR) {
            log_msg(LOG_ERR, "agent: source thread: poll: %s", strerror(errno));
            break;
        }
        now = msg_clock_mono_ms();
        for (nfds_t k = 0; k < nfds; k++) {
            struct agent_source_run *r;

            if (idx[k] == SIZE_MAX || fds[k].revents == 0) {
                continue;
            }
            r = &a->runs[idx[k]];
            if (!r->open) {
                continue;
            }
            source_poll(r, now, &rng);
        }
        /* a source whose deadline passed while it also waits on an fd: poll it next round */
        for (size_t i = 0; i < a->n_runs; i++) {
            struct agent_source_run *r = &a->runs[i];

            if (r->open && r->wait.fd >= 0 && now >= r->wait.next_ms) {
                r->wait.fd = -1;
            }
        }
    }
    for (size_t i = 0; i < a->n_runs; i++) {
        source_close(&a->runs[i]);
    }
    return NULL;
}
