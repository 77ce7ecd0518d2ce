/* redrive.c -- redrive requests done by the collector: see redrive.h. */
#include "redrive.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
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
    " RETURNING r.id::text, r.dry_run";

static const char page_sql[] =
    "SELECT d.id::text, d.topic, encode(d.payload, 'hex'),"
    " (extract(epoch FROM d.received_at) * 1000000)::bigint::text" REDRIVE_MATCH
    " AND (" REDRIVE_SKIP_WHY ") IS NULL AND d.id > $2::bigint"
    " ORDER BY d.id LIMIT " REDRIVE_PAGE_SQL;

static const char alive_sql[] =
    "UPDATE pantau_ops.redrive_request SET claimed_at = now() WHERE id = $1::bigint";

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

struct run {
    const struct redrive_env *e;
    PGconn *conn;
    char id[24];
    bool dry_run;
    struct redrive_tally t;
    char *payload; /* MSG_PAYLOAD_MAX + 1 */
};

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

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
        redrive_tally_refused(t, "clash", "other content is stored under its (device, store, "
                                          "seq)");
        break;
    case PGSINK_DEAD:
    case PGSINK_STATUS:
        redrive_tally_refused(t, "db", "refused by the database (see the db dead letter)");
        break;
    }
}

/* Writes the batch in redrive mode; the batch is empty afterwards, whatever happened. */
static int flush(struct run *r, char *err, size_t errlen)
{
    const char *p[1] = {r->id};
    PGresult *res;
    int rc;

    if (pgsink_pending(r->e->sink) == 0) {
        return MSG_OK;
    }
    pgsink_set_redrive(r->e->sink, strtoll(r->id, NULL, 10));
    rc = pgsink_flush(r->e->sink, err, errlen);
    pgsink_take_done(r->e->sink, on_done, &r->t);
    pgsink_set_redrive(r->e->sink, 0);
    if (rc != MSG_OK) {
        pgsink_discard(r->e->sink);
        return rc;
    }
    r->conn = pgsink_conn(r->e->sink, err, errlen);
    if (r->conn == NULL) {
        return MSG_ERR_DB;
    }
    res = query(r->conn, "heartbeat", alive_sql, 1, p, err, errlen);
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
    const struct msg_event *ev = NULL;
    unsigned char sha[PGSINK_SHA256_LEN];
    const char *category = NULL;
    char why[MSG_ERRLEN] = "";
    size_t n = strlen(hex) / 2;
    int64_t recv_us = strtoll(recv, NULL, 10);
    int rc;

    if (n > MSG_PAYLOAD_MAX) {
        redrive_tally_refused(&r->t, "json", "payload larger than 8192 bytes");
        return MSG_OK;
    }
    for (size_t i = 0; i < n; i++) {
        r->payload[i] = (char)(hex_nibble(hex[2 * i]) << 4 | hex_nibble(hex[2 * i + 1]));
    }
    r->payload[n] = '\0';
    r->t.examined++;
    rc = r->e->check(r->e->ctx, topic, strlen(topic), r->payload, n, recv_us, &ev, sha,
                     &category, why, sizeof(why));
    if (rc == MSG_ERR_NOMEM) {
        snprintf(err, errlen, "redrive: out of memory");
        return rc;
    }
    if (rc != MSG_OK) {
        redrive_tally_refused(&r->t, category, why);
        return MSG_OK;
    }
    if (r->dry_run) {
        r->t.stored++;
        return MSG_OK;
    }
    rc = pgsink_add_event(r->e->sink, ev, sha, topic, strlen(topic), r->payload, n, n, recv_us);
    if (rc == MSG_ERR_FULL) {
        rc = flush(r, err, errlen);
        if (rc != MSG_OK) {
            return rc;
        }
        rc = pgsink_add_event(r->e->sink, ev, sha, topic, strlen(topic), r->payload, n, n,
                              recv_us);
    }
    if (rc != MSG_OK) {
        snprintf(err, errlen, "redrive: a reading does not fit an empty batch");
        return MSG_ERR_FULL;
    }
    return MSG_OK;
}

/* The request r->id: page through its dead letters, then write its result. */
static int perform(struct run *r, char *err, size_t errlen)
{
    char last[24] = "0";
    char counts[4][24];
    char result[REDRIVE_RESULT_MAX];
    const char *p[6];
    PGresult *res = NULL;
    int rc = MSG_OK;

    if (registry_load(r->e->reg, r->conn, err, errlen) != MSG_OK) {
        return MSG_ERR_DB;
    }
    for (;;) {
        int rows;

        p[0] = r->id;
        p[1] = last;
        res = query(r->conn, "reading dead letters", page_sql, 2, p, err, errlen);
        if (res == NULL) {
            return MSG_ERR_DB;
        }
        rows = PQntuples(res);
        for (int i = 0; i < rows && rc == MSG_OK; i++) {
            rc = one(r, PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), err,
                     errlen);
            snprintf(last, sizeof(last), "%s", PQgetvalue(res, i, 0));
        }
        PQclear(res);
        res = NULL;
        if (rc == MSG_OK) {
            rc = flush(r, err, errlen); /* also marks them: the next page starts after */
        }
        if (rc != MSG_OK) {
            return rc;
        }
        if (rows < REDRIVE_PAGE) {
            break;
        }
    }
    if (redrive_tally_json(&r->t, result, sizeof(result)) != MSG_OK) {
        snprintf(result, sizeof(result), "[]");
    }
    snprintf(counts[0], sizeof(counts[0]), "%ld", r->t.examined);
    snprintf(counts[1], sizeof(counts[1]), "%ld", r->t.stored);
    snprintf(counts[2], sizeof(counts[2]), "%ld", r->t.already);
    snprintf(counts[3], sizeof(counts[3]), "%ld", r->t.refused);
    p[0] = r->id;
    p[1] = counts[0];
    p[2] = counts[1];
    p[3] = counts[2];
    p[4] = counts[3];
    p[5] = result;
    res = query(r->conn, "writing the result", finish_sql, 6, p, err, errlen);
    if (res == NULL) {
        return MSG_ERR_DB;
    }
    PQclear(res);
    log_msg(LOG_NOTICE,
            "collector: redrive request=%s%s: examined=%ld stored=%ld already_stored=%ld "
            "still_refused=%ld",
            r->id, r->dry_run ? " (dry run)" : "", r->t.examined, r->t.stored, r->t.already,
            r->t.refused);
    return MSG_OK;
}

int redrive_poll(const struct redrive_env *e, int *done, char *err, size_t errlen)
{
    struct run r;
    const char *p[1];
    PGresult *res = NULL;
    int rc;

    if (done != NULL) {
        *done = 0;
    }
    memset(&r, 0, sizeof(r));
    r.e = e;
    r.conn = pgsink_conn(e->sink, err, errlen);
    if (r.conn == NULL) {
        return MSG_ERR_DB;
    }
    p[0] = e->collector_id;
    res = query(r.conn, "claiming a request", claim_sql, 1, p, err, errlen);
    if (res == NULL) {
        return MSG_ERR_DB;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        return MSG_OK;
    }
    snprintf(r.id, sizeof(r.id), "%s", PQgetvalue(res, 0, 0));
    r.dry_run = PQgetvalue(res, 0, 1)[0] == 't';
    PQclear(res);
    log_msg(LOG_NOTICE, "collector: redrive request=%s claimed%s", r.id,
            r.dry_run ? " (dry run)" : "");
    r.payload = malloc(MSG_PAYLOAD_MAX + 1);
    if (r.payload == NULL) {
        snprintf(err, errlen, "redrive: out of memory");
        rc = MSG_ERR_NOMEM;
    } else {
        rc = perform(&r, err, errlen);
    }
    free(r.payload);
    if (rc != MSG_OK) {
        char ignored[MSG_ERRLEN];

        pgsink_discard(e->sink);
        log_msg(LOG_WARNING, "collector: redrive request=%s not finished, given back: %s", r.id,
                err);
        r.conn = pgsink_conn(e->sink, ignored, sizeof(ignored));
        p[0] = r.id;
        if (r.conn != NULL) {
            PQclear(query(r.conn, "giving back", giveback_sql, 1, p, ignored, sizeof(ignored)));
        }
        return rc == MSG_ERR_NOMEM ? rc : MSG_ERR_DB;
    }
    if (done != NULL) {
        *done = 1;
    }
    return MSG_OK;
}
