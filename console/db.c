/* db.c -- the pool of libpq connections with a bounded wait: see db.h. */
#include "db.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "msg_err.h"

#define DB_POOL_MAX 64

struct db_pool {
    const struct console_config *cfg; /* borrowed */
    const char *conninfo;             /* borrowed: one of cfg's */
    pthread_mutex_t mu;
    pthread_cond_t freed; /* signalled when a connection is given back */
    int size;
    PGconn *conns[DB_POOL_MAX]; /* NULL: to be made by the next borrower */
    bool busy[DB_POOL_MAX];
    struct db_stats stats;
};

struct db_pool *db_pool_new(const struct console_config *cfg, const char *conninfo, char *err,
                            size_t errlen)
{
    struct db_pool *p = calloc(1, sizeof(*p));
    pthread_condattr_t ca;

    if (p == NULL) {
        snprintf(err, errlen, "db: out of memory");
        return NULL;
    }
    p->cfg = cfg;
    p->conninfo = conninfo;
    p->size = (int)cfg->db_pool_size;
    if (p->size > DB_POOL_MAX) {
        p->size = DB_POOL_MAX;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->freed, &ca);
    pthread_condattr_destroy(&ca);
    return p;
}

void db_pool_free(struct db_pool *p)
{
    int i;

    if (p == NULL) {
        return;
    }
    for (i = 0; i < p->size; i++) {
        if (p->conns[i] != NULL) {
            PQfinish(p->conns[i]);
        }
    }
    pthread_cond_destroy(&p->freed);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

static PGconn *connect_to(const struct console_config *cfg, const char *conninfo, char *err,
                          size_t errlen)
{
    char timeout[32];
    char options[64];
    const char *keys[6];
    const char *vals[6];
    PGconn *c = NULL;
    int n = 0;

    snprintf(timeout, sizeof(timeout), "%lld", cfg->db_connect_timeout_ms / 1000);
    snprintf(options, sizeof(options), "-c statement_timeout=%lld", cfg->db_statement_timeout_ms);
    keys[n] = "dbname";
    vals[n++] = conninfo;
    keys[n] = "connect_timeout";
    vals[n++] = timeout;
    keys[n] = "options";
    vals[n++] = options;
    keys[n] = "application_name";
    vals[n++] = "pantau-console";
    if (cfg->db_password[0] != '\0') {
        keys[n] = "password";
        vals[n++] = cfg->db_password;
    }
    keys[n] = NULL;
    vals[n] = NULL;
    /* expand_dbname: the first "dbname" is the whole conninfo; later keys override it */
    c = PQconnectdbParams(keys, vals, 1);
    if (c == NULL || PQstatus(c) != CONNECTION_OK) {
        snprintf(err, errlen, "db: connect: %s", c != NULL ? PQerrorMessage(c) : "out of memory");
        err[strcspn(err, "\n")] = '\0';
        PQfinish(c);
        return NULL;
    }
    return c;
}

PGconn *db_connect(const struct console_config *cfg, char *err, size_t errlen)
{
    return connect_to(cfg, cfg->db_conninfo, err, errlen);
}

/* Borrows a connection: waits at most db_wait for a free slot, then (outside the lock) makes
 * the slot's connection if it has none. Returns the slot, or -1 with err set. */
static int borrow(struct db_pool *p, char *err, size_t errlen)
{
    struct timespec deadline;
    int slot = -1;
    int i;
    int rc = 0;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += p->cfg->db_wait_ms / 1000;
    deadline.tv_nsec += (p->cfg->db_wait_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&p->mu);
    while (slot < 0 && rc != ETIMEDOUT) {
        for (i = 0; i < p->size && slot < 0; i++) {
            if (!p->busy[i]) {
                slot = i;
            }
        }
        if (slot < 0) {
            rc = pthread_cond_timedwait(&p->freed, &p->mu, &deadline);
        }
    }
    if (slot < 0) {
        p->stats.waits_timed++;
        pthread_mutex_unlock(&p->mu);
        snprintf(err, errlen, "db: no free connection within %lld ms", p->cfg->db_wait_ms);
        return -1;
    }
    p->busy[slot] = true;
    pthread_mutex_unlock(&p->mu);
    if (p->conns[slot] != NULL && PQstatus(p->conns[slot]) != CONNECTION_OK) {
        PQfinish(p->conns[slot]);
        p->conns[slot] = NULL;
    }
    if (p->conns[slot] == NULL) {
        p->conns[slot] = connect_to(p->cfg, p->conninfo, err, errlen);
        pthread_mutex_lock(&p->mu);
        p->stats.connects++;
        pthread_mutex_unlock(&p->mu);
        if (p->conns[slot] == NULL) {
            pthread_mutex_lock(&p->mu);
            p->busy[slot] = false;
            p->stats.errors++;
            pthread_cond_signal(&p->freed);
            pthread_mutex_unlock(&p->mu);
            return -1;
        }
    }
    return slot;
}

static void give_back(struct db_pool *p, int slot, bool failed)
{
    if (failed && PQstatus(p->conns[slot]) != CONNECTION_OK) {
        PQfinish(p->conns[slot]);
        p->conns[slot] = NULL;
    }
    pthread_mutex_lock(&p->mu);
    p->busy[slot] = false;
    p->stats.calls++;
    if (failed) {
        p->stats.errors++;
    }
    pthread_cond_signal(&p->freed);
    pthread_mutex_unlock(&p->mu);
}

PGresult *db_query(struct db_pool *p, const char *sql, int nparams, const char *const *values,
                   char *err, size_t errlen)
{
    PGresult *res = NULL;
    int slot = borrow(p, err, errlen);
    bool failed;

    if (slot < 0) {
        return NULL;
    }
    res = PQexecParams(p->conns[slot], sql, nparams, NULL, values, NULL, NULL, 0);
    failed = res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK;
    if (failed && PQstatus(p->conns[slot]) != CONNECTION_OK) {
        /* A pooled connection whose server went away (a restart, pg_terminate_backend) looks
         * fine until used: the first call on it fails. Once on a new connection, so that the
         * first request after the database is back does not fail too (nothing ran on the dead
         * one, or the call is a read or an acknowledgement, which says "done already"). */
        PQclear(res);
        res = NULL;
        give_back(p, slot, true);
        slot = borrow(p, err, errlen);
        if (slot < 0) {
            return NULL;
        }
        res = PQexecParams(p->conns[slot], sql, nparams, NULL, values, NULL, NULL, 0);
        failed = res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK;
    }
    if (res == NULL) {
        snprintf(err, errlen, "db: %s", PQerrorMessage(p->conns[slot]));
        err[strcspn(err, "\n")] = '\0';
    }
    give_back(p, slot, failed);
    return res;
}

/* HTTP status of a failed call, from its SQLSTATE. */
static int status_of(const char *state)
{
    static const struct {
        const char *state;
        int status;
    } map[] = {
        {"42501", 403}, /* insufficient_privilege: the function refused this account */
        {"P0002", 404}, /* no_data_found */
        {"22023", 400}, /* invalid_parameter_value */
        {"22P02", 400}, /* invalid_text_representation */
        {"22007", 400}, /* invalid_datetime_format */
        {"22008", 400}, /* datetime_field_overflow */
        {"55000", 409}, /* object_not_in_prerequisite_state: done already */
        {"42883", 503}, /* undefined_function: this database lacks the view's migration */
        {"3F000", 503}, /* invalid_schema_name: no pantau_console at all */
        {"57014", 503}, /* query_canceled: statement_timeout */
        {"57P01", 503}, /* admin_shutdown */
        {"53300", 503}, /* too_many_connections */
    };
    size_t i;

    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcmp(map[i].state, state) == 0) {
            return map[i].status;
        }
    }
    return state[0] == '0' && state[1] == '8' ? 503 : 500; /* class 08: connection */
}

int db_call(struct db_pool *p, const char *sql, int nparams, const char *const *values,
            struct db_result *out)
{
    PGresult *res = NULL;
    const char *v = NULL;
    int rc = MSG_OK;

    memset(out, 0, sizeof(*out));
    res = db_query(p, sql, nparams, values, out->message, sizeof(out->message));
    if (res == NULL) {
        out->http_status = 503;
        rc = MSG_ERR_DB;
        goto out;
    }
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        v = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        snprintf(out->sqlstate, sizeof(out->sqlstate), "%s", v != NULL ? v : "08000");
        v = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        snprintf(out->message, sizeof(out->message), "%s",
                 v != NULL ? v : "the database connection failed");
        out->http_status = status_of(out->sqlstate);
        rc = out->http_status == 503 ? MSG_ERR_DB : MSG_OK;
        goto out;
    }
    if (PQntuples(res) != 1 || PQnfields(res) != 1 || PQgetisnull(res, 0, 0)) {
        snprintf(out->message, sizeof(out->message), "the function returned no value");
        out->http_status = 500;
        goto out;
    }
    out->json = strdup(PQgetvalue(res, 0, 0));
    if (out->json == NULL) {
        snprintf(out->message, sizeof(out->message), "out of memory");
        out->http_status = 500;
        goto out;
    }
    out->http_status = 200;
out:
    PQclear(res);
    return rc;
}

void db_pool_stats(struct db_pool *p, struct db_stats *out)
{
    pthread_mutex_lock(&p->mu);
    *out = p->stats;
    pthread_mutex_unlock(&p->mu);
}

void db_replica_status(struct db_pool *p, struct db_replica *out)
{
    char err[MSG_ERRLEN] = "";
    PGresult *res = NULL;

    memset(out, 0, sizeof(*out));
    res = db_query(
        p,
        "SELECT pg_is_in_recovery(),"
        " EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE pid IS NOT NULL),"
        " CASE WHEN NOT pg_is_in_recovery()"
        " OR pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0"
        " ELSE greatest(0, coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()),"
        " 0)) END::float8,"
        " coalesce(greatest(0, pg_wal_lsn_diff(pg_last_wal_receive_lsn(),"
        " pg_last_wal_replay_lsn())), 0)::float8",
        0, NULL, err, sizeof(err));
    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        log_msg(LOG_WARNING, "console: the read database's replication state: %s",
                res != NULL ? PQresultErrorMessage(res) : err);
        goto out;
    }
    out->up = true;
    out->in_recovery = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    out->streaming = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    out->lag_s = strtod(PQgetvalue(res, 0, 2), NULL);
    out->lag_bytes = strtod(PQgetvalue(res, 0, 3), NULL);
out:
    PQclear(res);
}
