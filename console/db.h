/* db.h -- pantau-console's PostgreSQL: a small pool of libpq connections for the API calls.
 *
 * An HTTP thread borrows a connection for one call and gives it back. It waits for one at
 * most db_wait (then the request gets 503), a connection is made with connect_timeout, and
 * every statement runs under statement_timeout: no HTTP thread is held on PostgreSQL without
 * a bound. A connection that failed is closed and made again by the next borrower.
 *
 * The one LISTEN connection is events.c's own (a thread that never serves a request).
 *
 * Not for: SQL text from requests. Callers pass constant SQL from their tables and the values
 * as parameters. */
#ifndef CONSOLE_DB_H
#define CONSOLE_DB_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "console_conf.h"

struct db_pool;

/* A pool of connections to conninfo (borrowed: cfg->db_conninfo, or cfg->db_read_conninfo for
 * the replica's pool) with cfg's password and timeouts (cfg borrowed: both must outlive the
 * pool). Connects lazily. Returns NULL with err set when out of memory. Caller frees with
 * db_pool_free. */
struct db_pool *db_pool_new(const struct console_config *cfg, const char *conninfo, char *err,
                            size_t errlen);

void db_pool_free(struct db_pool *p);

/* Connects with cfg's conninfo, password and timeouts, as the pool does (events.c's LISTEN
 * connection uses it too). Returns a connection in CONNECTION_OK (caller frees with PQfinish)
 * or NULL with err set. */
PGconn *db_connect(const struct console_config *cfg, char *err, size_t errlen);

/* The outcome of one call, as the API answers it. */
struct db_result {
    int http_status; /* 200, or 400/403/404/409/503/500 from the SQLSTATE */
    char *json;      /* the function's json (200), or NULL; caller frees with free() */
    char sqlstate[6];
    char message[256]; /* PostgreSQL's message (first line) or why no connection */
};

/* Runs sql (borrowed, constant) with nparams text values (borrowed; NULL is SQL NULL) and
 * expects one row of one column (the json) or an error. Fills *out (caller frees out->json).
 * Returns MSG_OK when PostgreSQL answered (out->http_status says how), MSG_ERR_DB when no
 * connection was free within db_wait or the database is unreachable (out->http_status 503). */
int db_call(struct db_pool *p, const char *sql, int nparams, const char *const *values,
            struct db_result *out);

/* Runs sql and hands the PGresult to the caller (caller frees with PQclear); NULL with err
 * set when there was no connection. For the login's row query. */
PGresult *db_query(struct db_pool *p, const char *sql, int nparams, const char *const *values,
                   char *err, size_t errlen);

/* Counters for /metrics. */
struct db_stats {
    uint64_t calls;
    uint64_t errors;      /* SQL errors and failed connections */
    uint64_t waits_timed; /* no connection free within db_wait */
    uint64_t connects;
};
void db_pool_stats(struct db_pool *p, struct db_stats *out);

/* A streaming replica's state, as its own functions tell it (pg_is_in_recovery,
 * pg_last_wal_receive_lsn/replay_lsn, pg_last_xact_replay_timestamp, pg_stat_wal_receiver):
 * readable by any account, no grant needed. */
struct db_replica {
    bool up;          /* the database answered */
    bool in_recovery; /* it is a standby (false: a primary, e.g. promoted, or misconfigured) */
    bool streaming;   /* its WAL receiver is connected to the primary */
    double lag_s;     /* now - commit time of the last transaction replayed; 0 when all that
                       * was received is replayed (an idle primary is not lag) */
    double lag_bytes; /* WAL received but not yet replayed */
};

/* Asks p's database (one call from the pool, under db_wait and statement_timeout) for *out. */
void db_replica_status(struct db_pool *p, struct db_replica *out);

#endif
