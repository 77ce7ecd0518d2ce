/* registry.c -- cached device registry: see registry.h.
 *
 * Devices sit in an array sorted by the query (ORDER BY device_id) with an open-addressing
 * index; each device's station bindings are a contiguous run of a second array. A load builds
 * a complete new copy and only then replaces the old one. */
#include "registry.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg_binding.h"
#include "msg_deadcat.h"
#include "msg_hash.h"
#include "msg_topic.h"

/* One row per (device, binding); devices without bindings come once with NULL station. The
 * bindings as the broker reads them (MSG_BINDING_SQL: bounds in whole ms, rounded up; an open end
 * NULL; empty ranges left out). */
static const char registry_sql[] =
    "SELECT d.device_id, d.kind, d.enabled, b.station_id, b.from_ms, b.to_ms, b.station_kind,"
    " EXISTS (SELECT 1 FROM pantau.phone p WHERE p.device_id = d.device_id)"
    " FROM pantau.device d LEFT JOIN (" MSG_BINDING_SQL ") b ON b.device_id = d.device_id"
    " ORDER BY d.device_id, b.from_ms NULLS FIRST";

/* The officers each phone may carry (schema/029), by phone: a contiguous run per device. */
static const char registry_officer_sql[] =
    "SELECT device_id, officer FROM pantau.phone_officer_allowed ORDER BY device_id, officer";

struct reg_device {
    char id[MSG_ID_MAX + 1];
    enum msg_device_kind kind;
    bool enabled;
    bool phone;   /* an officer's phone: its inspectors are checked (schema/029) */
    size_t first; /* bindings[first .. first + n) */
    size_t n;
    size_t ofirst; /* officers[ofirst .. ofirst + on) */
    size_t on;
};

struct reg_copy {
    struct reg_device *devices;
    size_t ndevices;
    struct msg_binding *bindings; /* judged by msg_binding_check, as the broker does */
    size_t nbindings;
    char (*officers)[MSG_ID_MAX + 1]; /* the phones' officers, a run per phone */
    size_t nofficers;
    size_t *index; /* device index + 1; 0 = empty slot */
    size_t nindex; /* a power of two, at least twice ndevices */
};

struct registry {
    struct reg_copy cur;
    bool loaded;
};

static void copy_free(struct reg_copy *c)
{
    free(c->devices);
    free(c->bindings);
    free(c->officers);
    free(c->index);
    memset(c, 0, sizeof(*c));
}

struct registry *registry_new(void)
{
    return calloc(1, sizeof(struct registry));
}

void registry_free(struct registry *r)
{
    if (r == NULL) {
        return;
    }
    copy_free(&r->cur);
    free(r);
}

bool registry_loaded(const struct registry *r)
{
    return r->loaded;
}

size_t registry_devices(const struct registry *r)
{
    return r->cur.ndevices;
}

static const struct reg_device *find(const struct reg_copy *c, const char *id)
{
    size_t i;

    if (c->nindex == 0) {
        return NULL;
    }
    i = (size_t)msg_hash_of(id) & (c->nindex - 1);
    while (c->index[i] != 0) {
        const struct reg_device *d = &c->devices[c->index[i] - 1];

        if (strcmp(d->id, id) == 0) {
            return d;
        }
        i = (i + 1) & (c->nindex - 1);
    }
    return NULL;
}

static int64_t ms_or(const PGresult *res, int row, int col, int64_t dflt)
{
    if (PQgetisnull(res, row, col)) {
        return dflt;
    }
    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* Reads the phones' officers into n (devices loaded). Returns MSG_OK, MSG_ERR_DB or
 * MSG_ERR_NOMEM with err set. */
static int load_officers(struct reg_copy *n, PGconn *conn, char *err, size_t errlen)
{
    PGresult *res = PQexec(conn, registry_officer_sql);
    int rows;
    int rc = MSG_OK;

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "registry: load officers: %s", PQresultErrorMessage(res));
        rc = MSG_ERR_DB;
        goto out;
    }
    rows = PQntuples(res);
    n->officers = calloc((size_t)rows + 1, sizeof(*n->officers));
    if (n->officers == NULL) {
        snprintf(err, errlen, "registry: out of memory for %d officers", rows);
        rc = MSG_ERR_NOMEM;
        goto out;
    }
    for (int i = 0; i < rows; i++) {
        struct reg_device *d = (struct reg_device *)find(n, PQgetvalue(res, i, 0));
        const char *officer = PQgetvalue(res, i, 1);

        if (d == NULL || strlen(officer) > MSG_ID_MAX) {
            continue; /* a device added since the first query, or not an inspector id */
        }
        if (d->on == 0) {
            d->ofirst = n->nofficers;
        }
        memcpy(n->officers[n->nofficers++], officer, strlen(officer) + 1);
        d->on++;
    }
out:
    PQclear(res);
    return rc;
}

int registry_load(struct registry *r, PGconn *conn, char *err, size_t errlen)
{
    struct reg_copy n;
    PGresult *res = NULL;
    int rows;
    int rc = MSG_OK;

    memset(&n, 0, sizeof(n));
    res = PQexec(conn, registry_sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "registry: load: %s", PQresultErrorMessage(res));
        rc = MSG_ERR_DB;
        goto out;
    }
    rows = PQntuples(res);
    n.devices = calloc((size_t)rows + 1, sizeof(*n.devices));
    n.bindings = calloc((size_t)rows + 1, sizeof(*n.bindings));
    n.nindex = 16;
    while (n.nindex < 2 * ((size_t)rows + 1)) {
        n.nindex *= 2;
    }
    n.index = calloc(n.nindex, sizeof(*n.index));
    if (n.devices == NULL || n.bindings == NULL || n.index == NULL) {
        snprintf(err, errlen, "registry: out of memory for %d rows", rows);
        rc = MSG_ERR_NOMEM;
        goto out;
    }
    for (int i = 0; i < rows; i++) {
        const char *id = PQgetvalue(res, i, 0);
        const char *kind = PQgetvalue(res, i, 1);
        struct reg_device *d = n.ndevices > 0 ? &n.devices[n.ndevices - 1] : NULL;

        if (strlen(id) > MSG_ID_MAX) {
            continue; /* cannot be a device id of the protocol */
        }
        if (d == NULL || strcmp(d->id, id) != 0) {
            size_t slot = (size_t)msg_hash_of(id) & (n.nindex - 1);

            d = &n.devices[n.ndevices++];
            memcpy(d->id, id, strlen(id) + 1);
            if (msg_device_kind_from_name(kind, strlen(kind), &d->kind) != MSG_OK) {
                d->enabled = false; /* a kind this collector does not know may publish nothing */
            } else {
                d->enabled = PQgetvalue(res, i, 2)[0] == 't';
            }
            d->phone = PQgetvalue(res, i, 7)[0] == 't';
            d->first = n.nbindings;
            d->n = 0;
            while (n.index[slot] != 0) {
                slot = (slot + 1) & (n.nindex - 1);
            }
            n.index[slot] = n.ndevices;
        }
        if (!PQgetisnull(res, i, 3) && strlen(PQgetvalue(res, i, 3)) <= MSG_ID_MAX) {
            struct msg_binding *b = &n.bindings[n.nbindings++];

            snprintf(b->station_id, sizeof(b->station_id), "%s", PQgetvalue(res, i, 3));
            b->from_ms = ms_or(res, i, 4, INT64_MIN);
            b->to_ms = ms_or(res, i, 5, INT64_MAX);
            b->kind = msg_station_kind_from_name(PQgetvalue(res, i, 6));
            d->n++;
        }
    }
    PQclear(res);
    res = NULL;
    rc = load_officers(&n, conn, err, errlen);
    if (rc != MSG_OK) {
        goto out;
    }
    copy_free(&r->cur);
    r->cur = n;
    memset(&n, 0, sizeof(n));
    r->loaded = true;
out:
    copy_free(&n);
    PQclear(res);
    return rc;
}

/* Whether inspector (borrowed) is on phone d's list (schema/029). */
static bool officer_allowed(const struct reg_copy *c, const struct reg_device *d,
                            const char *inspector)
{
    for (size_t i = 0; i < d->on; i++) {
        if (strcmp(c->officers[d->ofirst + i], inspector) == 0) {
            return true;
        }
    }
    return false;
}

int registry_check(const struct registry *r, const struct msg_event *ev, int64_t received_ms,
                   const char **category, char *err, size_t errlen)
{
    const struct reg_device *d = find(&r->cur, ev->device_id);
    enum msg_binding_verdict v;
    const char *unused = NULL;

    if (category == NULL) {
        category = &unused;
    }
    *category = msg_deadcat_name(MSG_DEADCAT_IDENTITY);

    if (d == NULL) {
        snprintf(err, errlen, "device '%s' is not in the registry", ev->device_id);
        return REGISTRY_MISS;
    }
    if (!d->enabled) {
        /* a miss, not a denial: a device enabled again a moment ago is found by the reload
         * that a miss causes, as a new one is (the broker knows it at once, by NOTIFY) */
        snprintf(err, errlen, "device '%s' is disabled", ev->device_id);
        return REGISTRY_MISS;
    }
    if (!msg_kind_may_publish(d->kind, ev->stream)) {
        *category = msg_deadcat_name(MSG_DEADCAT_TOPIC);
        snprintf(err, errlen, "device '%s' of kind %s may not publish %s", ev->device_id,
                 msg_device_kind_name(d->kind), msg_stream_name(ev->stream));
        return REGISTRY_DENY;
    }
    if (d->phone && ev->stream == MSG_STREAM_LARVA &&
        !officer_allowed(&r->cur, d, ev->u.larva.inspector)) {
        /* a miss: an officer put on the phone a moment ago is found by the reload */
        snprintf(err, errlen,
                 "inspector '%s' is not an officer of phone '%s' (pantau-admin enrol-phone "
                 "--officer; an enabled account of role officer)",
                 ev->u.larva.inspector, ev->device_id);
        return REGISTRY_MISS;
    }
    /* The corrected time (protocol.md 4.1) is computed in the database after the reading is
     * stored, so here, as at the broker, an unsynchronised reading is judged at its receive
     * time. */
    v = msg_binding_check(d->n > 0 ? &r->cur.bindings[d->first] : NULL, d->n, ev,
                          MSG_BINDING_NO_TIME, received_ms, err, errlen);
    *category = msg_deadcat_name(MSG_DEADCAT_STATION);
    switch (v) {
    case MSG_BINDING_OK:
        return REGISTRY_OK;
    case MSG_BINDING_KIND:
        return REGISTRY_DENY;
    default:
        return REGISTRY_MISS;
    }
}
