/* redrive.c -- redrive requests done by the collector: see redrive.h. */
#include "redrive.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "msg_deadcat.h"
#include "msg_hex.h"
#include "msg_topic.h"
#include "redrive_tally.h"

#define REDRIVE_PAGE 256 /* dead letters read at a time: page_sql's LIMIT */
#define REDRIVE_PAGE_SQL "256"
#define REDRIVE_RESULT_MAX 4096

/* The dead letters of request $1 not redriven yet (the request's filters; d.*) */
#define REDRIVE_MATCH                                                                          \
    " FROM pantau_ops.dead_letter d JOIN pantau_ops.redrive_request q ON q.id = $1::bigint"   \
    " WHERE d.redriven_at IS NULL AND (q.device_id IS NULL OR d.device_id = q.device_id)"      \
    " AND (q.category IS NULL OR d.category = q.category)"                                     \
    " AND (q.since IS NULL OR d.received_at >= q.since)"                                       \
    " AND (q.until IS NULL OR d.received_at < q.until)"                                        \
    " AND (q.dead_letter_id IS NULL OR d.id = q.dead_letter_id)"

/* Why a matching dead letter is not tried at all; NULL: it is tried */
#define REDRIVE_SKIP_WHY                                                                       \
    "CASE WHEN d.category IN ('json', 'schema', 'clash') THEN d.category"                      \
    " || ': the cause is in the message itself, it cannot go away'"                            \
    " WHEN d.device_id IS NULL OR d.store_id IS NULL OR d.seq IS NULL"                         \
    " THEN 'no (device, store, seq): not a reading with a key'"                                \
    " WHEN coalesce(d.payload_size, octet_length(d.payload)) > octet_length(d.payload)"        \
    " THEN 'cut at 8192 bytes' END"

static const char claim_sql[] =
    "UPDATE pantau_ops.redrive_request r SET state = 'running', claimed_by = $1,"
    " claimed_at = now()"
    " WHERE r.id = (SELECT id FROM pantau_ops.redrive_request"
    "  WHERE state = 'pending' OR (state = 'running' AND claimed_at < now() - interval '2 min')"
    "  ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)"
    " RETURNING r.id::text, r.dry_run, coalesce(r.examined, 0), coalesce(r.stored, 0),"
    " coalesce(r.already_stored, 0), coalesce(r.still_refused, 0), coalesce(r.progress, 0),"
    " coalesce(r.result->'refused', '[]')";

static const char page_sql[] =
    "SELECT d.id::text, d.topic, encode(d.payload, 'hex'),"
    " (extract(epoch FROM d.received_at) * 1000000)::bigint::text" REDRIVE_MATCH
    " AND (" REDRIVE_SKIP_WHY ") IS NULL AND d.id > $2::bigint"
    " ORDER BY d.id LIMIT " REDRIVE_PAGE_SQL;

static const char alive_sql[] =
    "UPDATE pantau_ops.redrive_request SET claimed_at = now(), examined = $2::integer,"
    " stored = $3::integer, already_stored = $4::integer, still_refused = $5::integer,"
    " progress = $6::bigint, result = jsonb_build_object('refused', $7::jsonb)"
    " WHERE id = $1::bigint";

static const char giveback_sql[] =
    "UPDATE pantau_ops.redrive_request SET state = 'pending', claimed_by = NULL,"
    " claimed_at = NULL WHERE id = $1::bigint AND state = 'running'";

static const char finish_sql[] =
    "WITH sk AS (SELECT " REDRIVE_SKIP_WHY " AS why, count(*) AS n" REDRIVE_MATCH
    " GROUP BY 1),"
    " k AS (SELECT coalesce(sum(n), 0)::integer AS n, coalesce(jsonb_agg(jsonb_build_object("
    "  'why', why, 'count', n) ORDER BY why), '[]') AS groups FROM sk WHERE why IS NOT NULL)"
    " UPDATE pantau_ops.redrive_request r SET state = 'done', finished_at = now(),"
    " examined = $2::integer, stored = $3::integer, already_stored = $4::integer,"
    " still_refused = $5::integer, skipped = k.n,"
    " result = jsonb_build_object('refused', $6::jsonb, 'skipped', k.groups)"
    " FROM k WHERE r.id = $1::bigint";

/* The request in hand, between steps. */
struct redrive {
    bool active;  /* a request is claimed and not finished */
    char id[24];  /* its id */
    bool dry_run;
    char last[24]; /* the last dead letter id read */
    struct redrive_tally t;
    char payload[MSG_PAYLOAD_MAX + 1];
};

/* One step's context. */
struct run {
    const struct redrive_env *e;
    struct redrive *rd;
    PGconn *conn;
};

/* PQexecParams with text parameters; NULL with err set unless the result is ok. */
static PGresult *query(PGconn *conn, const char *what, const char *sql, int n,
                       const char *const *params, char *err, size_t errlen)
{
    PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        const char *m = PQresultErrorMessage(res);

        snprintf(err, errlen, "redrive: %s: %.*s", what,
                 (int)(m != NULL && strlen(m) > 0 ? strcspn(m, "\n") : 0), m != NULL ? m : "");
        PQclear(res);
        return NULL;
    }
    return res;
}

/* pgsink_done_fn: how each redriven reading fared. */
static void on_done(void *ctx, const struct pgsink_done *d)
{
    struct redrive_tally *t = ctx;

    switch (d->outcome) {
    case PGSINK_NEW:
        t->stored++;
        break;
    case PGSINK_DUPLICATE:
        t->already++; /* this content is stored under its key already */
        break;
    case PGSINK_CLASH:
    case PGSINK_CLASH_DEAD:
        /* other content is stored under its key: never a second reading for it */
        redrive_tally_refused(t, msg_deadcat_name(MSG_DEADCAT_CLASH),
                              "other content is stored under its (device, store, seq)");
        break;
    case PGSINK_DEAD:
    case PGSINK_STATUS:
        redrive_tally_refused(t, msg_deadcat_name(MSG_DEADCAT_DB),
                              "refused by the database (see the db dead letter)");
        break;
    }
}

/* The counts as text parameters $2..$5 of alive_sql and finish_sql. */
static void counts_text(const struct redrive_tally *t, char counts[4][24])
{
    snprintf(counts[0], 24, "%ld", t->examined);
    snprintf(counts[1], 24, "%ld", t->stored);
    snprintf(counts[2], 24, "%ld", t->already);
    snprintf(counts[3], 24, "%ld", t->refused);
}

/* Writes the batch in redrive mode; the batch is empty afterwards, whatever happened. Then the
 * request's progress (counts, refusals, last dead letter done), which also says the collector
 * is alive. */
static int flush(struct run *r, char *err, size_t errlen)
{
    struct redrive *rd = r->rd;
    char counts[4][24];
    char groups[REDRIVE_RESULT_MAX];
    const char *p[7];
    PGresult *res;
    int rc = MSG_OK;

    if (pgsink_pending(r->e->sink) > 0) {
        pgsink_set_redrive(r->e->sink, strtoll(rd->id, NULL, 10));
        rc = pgsink_flush(r->e->sink, err, errlen);
        pgsink_take_done(r->e->sink, on_done, &rd->t);
        pgsink_set_redrive(r->e->sink, 0);
        if (rc != MSG_OK) {
            pgsink_discard(r->e->sink);
            return rc;
        }
    }
    r->conn = pgsink_conn(r->e->sink, err, errlen);
    if (r->conn == NULL) {
        return MSG_ERR_DB;
    }
    counts_text(&rd->t, counts);
    p[0] = rd->id;
    for (int i = 0; i < 4; i++) {
        p[i + 1] = counts[i];
    }
    if (redrive_tally_json(&rd->t, groups, sizeof(groups)) != MSG_OK) {
        snprintf(groups, sizeof(groups), "[]");
    }
    p[5] = rd->last;
    p[6] = groups;
    res = query(r->conn, "heartbeat", alive_sql, 7, p, err, errlen);
    if (res == NULL) {
        return MSG_ERR_DB;
    }
    PQclear(res);
    return MSG_OK;
}

/* One dead letter: checked again, and into the batch if it passes now. */
static int one(struct run *r, const char *topic, const char *hex, const char *recv,
               char *err, size_t errlen)
{
    struct redrive *rd = r->rd;
    const struct msg_event *ev = NULL;
    unsigned char sha[PGSINK_SHA256_LEN];
    const char *category = NULL;
    char why[MSG_ERRLEN] = "";
    size_t n = strlen(hex) / 2;
    int64_t recv_us = strtoll(recv, NULL, 10);
    int rc;

    rd->t.examined++;
    if (n > MSG_PAYLOAD_MAX) {
        redrive_tally_refused(&rd->t, msg_deadcat_name(MSG_DEADCAT_JSON),
                              "payload larger than 8192 bytes");
        return MSG_OK;
    }
    if (msg_hex_decode(hex, 2 * n, (unsigned char *)rd->payload, n, NULL) != MSG_OK) {
        redrive_tally_refused(&rd->t, msg_deadcat_name(MSG_DEADCAT_DB),
                              "payload from the database is not hex");
        return MSG_OK;
    }
    rd->payload[n] = '\0';
    rc = r->e->check(r->e->ctx, topic, strlen(topic), rd->payload, n, recv_us, &ev, sha,
                     &category, why, sizeof(why));
    if (rc == MSG_ERR_NOMEM) {
        rd->t.examined--; /* tried again on the next step */
        snprintf(err, errlen, "redrive: out of memory");
        return rc;
    }
    if (rc != MSG_OK) {
        redrive_tally_refused(&rd->t, category, why);
        return MSG_OK;
    }
    if (rd->dry_run) {
        rd->t.stored++;
        return MSG_OK;
    }
    rc = pgsink_add_event(r->e->sink, ev, sha, topic, strlen(topic), rd->payload, n, n, recv_us);
    if (rc == MSG_ERR_FULL) {
        rc = flush(r, err, errlen);
        if (rc != MSG_OK) {
            return rc;
        }
        rc = pgsink_add_event(r->e->sink, ev, sha, topic, strlen(topic), rd->payload, n, n,
                              recv_us);
    }
    if (rc != MSG_OK) {
        snprintf(err, errlen, "redrive: a reading does not fit an empty batch");
        return MSG_ERR_FULL;
    }
    return MSG_OK;
}

/* Claims a pending request into rd, with the counts a collector before it left (a request
 * given back or taken over), and reloads the registry. Returns MSG_OK (rd->active says
 * whether one was claimed) or MSG_ERR_DB. */
static int claim(struct run *r, char *err, size_t errlen)
{
    struct redrive *rd = r->rd;
    const char *p[1] = {r->e->collector_id};
    PGresult *res = query(r->conn, "claiming a request", claim_sql, 1, p, err, errlen);

    if (res == NULL) {
        return MSG_ERR_DB;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        return MSG_OK;
    }
    memset(&rd->t, 0, sizeof(rd->t));
    snprintf(rd->id, sizeof(rd->id), "%s", PQgetvalue(res, 0, 0));
    rd->dry_run = PQgetvalue(res, 0, 1)[0] == 't';
    rd->t.examined = strtol(PQgetvalue(res, 0, 2), NULL, 10);
    rd->t.stored = strtol(PQgetvalue(res, 0, 3), NULL, 10);
    rd->t.already = strtol(PQgetvalue(res, 0, 4), NULL, 10);
    rd->t.refused = strtol(PQgetvalue(res, 0, 5), NULL, 10);
    snprintf(rd->last, sizeof(rd->last), "%s", PQgetvalue(res, 0, 6));
    if (redrive_tally_load_json(&rd->t, PQgetvalue(res, 0, 7)) != MSG_OK) {
        log_msg(LOG_WARNING, "collector: redrive request=%s: its refusals so far cannot be read",
                rd->id);
    }
    rd->active = true;
    PQclear(res);
    log_msg(LOG_NOTICE, "collector: redrive request=%s claimed%s", rd->id,
            rd->dry_run ? " (dry run)" : "");
    if (registry_load(r->e->reg, r->conn, err, errlen) != MSG_OK) {
        return MSG_ERR_DB;
    }
    return MSG_OK;
}

/* Writes the request's result: done. */
static int finish(struct run *r, char *err, size_t errlen)
{
    struct redrive *rd = r->rd;
    char counts[4][24];
    char result[REDRIVE_RESULT_MAX];
    const char *p[6];
    PGresult *res;

    if (redrive_tally_json(&rd->t, result, sizeof(result)) != MSG_OK) {
        snprintf(result, sizeof(result), "[]");
    }
    counts_text(&rd->t, counts);
    p[0] = rd->id;
    for (int i = 0; i < 4; i++) {
        p[i + 1] = counts[i];
    }
    p[5] = result;
    res = query(r->conn, "writing the result", finish_sql, 6, p, err, errlen);
    if (res == NULL) {
        return MSG_ERR_DB;
    }
    PQclear(res);
    rd->active = false;
    log_msg(LOG_NOTICE,
            "collector: redrive request=%s%s: examined=%ld stored=%ld already_stored=%ld "
            "still_refused=%ld",
            rd->id, rd->dry_run ? " (dry run)" : "", rd->t.examined, rd->t.stored,
            rd->t.already, rd->t.refused);
    return MSG_OK;
}

/* One page of the request in hand; finishes it after its last page. */
static int page(struct run *r, char *err, size_t errlen)
{
    struct redrive *rd = r->rd;
    const char *p[2] = {rd->id, rd->last};
    PGresult *res = query(r->conn, "reading dead letters", page_sql, 2, p, err, errlen);
    int rows;
    int rc = MSG_OK;

    if (res == NULL) {
        return MSG_ERR_DB;
    }
    rows = PQntuples(res);
    for (int i = 0; i < rows && rc == MSG_OK; i++) {
        rc = one(r, PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), err,
                 errlen);
        if (rc == MSG_OK) {
            snprintf(rd->last, sizeof(rd->last), "%s", PQgetvalue(res, i, 0));
        }
    }
    PQclear(res);
    if (rc == MSG_OK) {
        rc = flush(r, err, errlen);
    }
    if (rc == MSG_OK && rows < REDRIVE_PAGE) {
        rc = finish(r, err, errlen);
    }
    return rc;
}

struct redrive *redrive_new(void)
{
    return calloc(1, sizeof(struct redrive));
}

void redrive_free(struct redrive *rd)
{
    free(rd);
}

bool redrive_active(const struct redrive *rd)
{
    return rd->active;
}

void redrive_give_back(struct redrive *rd, const struct redrive_env *e)
{
    char err[MSG_ERRLEN];
    const char *p[1] = {rd->id};
    PGconn *conn;

    pgsink_discard(e->sink);
    if (!rd->active) {
        return;
    }
    rd->active = false;
    conn = pgsink_conn(e->sink, err, sizeof(err));
    if (conn != NULL) {
        PQclear(query(conn, "giving back", giveback_sql, 1, p, err, sizeof(err)));
    }
}

int redrive_step(struct redrive *rd, const struct redrive_env *e, char *err, size_t errlen)
{
    struct run r = {e, rd, NULL};
    int rc;

    r.conn = pgsink_conn(e->sink, err, errlen);
    if (r.conn == NULL) {
        return MSG_ERR_DB; /* a request in hand stays in hand: the next step goes on */
    }
    if (!rd->active) {
        rc = claim(&r, err, errlen);
        if (rc != MSG_OK || !rd->active) {
            if (rc != MSG_OK && rd->active) {
                log_msg(LOG_WARNING, "collector: redrive request=%s given back: %s", rd->id,
                        err);
                redrive_give_back(rd, e);
            }
            return rc;
        }
    }
    rc = page(&r, err, errlen);
    if (rc != MSG_OK) {
        log_msg(LOG_WARNING, "collector: redrive request=%s given back: %s", rd->id, err);
        redrive_give_back(rd, e);
    }
    return rc;
}
