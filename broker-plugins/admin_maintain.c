/* admin_maintain.c -- pantau-admin's `maintain`: see admin_maintain.h. */
#include "admin_maintain.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "admin_common.h"

/* The run's row in words; the duration from the database's own clock. */
static const char maintain_sql[] =
    "SELECT run_id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
    " partitions_made, partitions_dropped, rows_deleted, pii_cleared,"
    " round(extract(epoch FROM finished_at - started_at) * 1000)::bigint"
    " FROM pantau_ops.maintain(coalesce($1::timestamptz, now()))";

bool admin_maintain_command_is(const char *cmd)
{
    return strcmp(cmd, "maintain") == 0;
}

int admin_maintain_run(const struct admin_registry_opts *reg, const char *conninfo, int argc,
                       char **argv)
{
    struct admin_registry_time at = {0};
    const char *params[1] = {NULL};
    PGconn *conn = NULL;
    PGresult *res = NULL;
    const char *extra;
    int rc;

    (void)argv;
    if (argc != 1) {
        return admin_usage_fail("maintain: takes no arguments, only --at TIME");
    }
    extra = admin_registry_option_given(reg, ADMIN_REGISTRY_OPT_AT);
    if (extra != NULL) {
        return admin_usage_fail("maintain: %s does not apply", extra);
    }
    rc = admin_registry_time_opt(reg, ADMIN_REGISTRY_OPT_AT, "maintain", &at);
    if (rc != 0) {
        return rc;
    }
    if (at.given) {
        params[0] = at.text;
    }
    rc = 1;
    conn = PQconnectdb(conninfo != NULL ? conninfo : "");
    if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "pantau-admin: maintain: cannot connect to PostgreSQL: %s",
                conn != NULL ? PQerrorMessage(conn) : "out of memory\n");
        goto out;
    }
    res = PQexecParams(conn, maintain_sql, 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        fprintf(stderr, "pantau-admin: maintain: failed, nothing changed: %s",
                PQerrorMessage(conn));
        goto out;
    }
    printf("maintain: run %s at %s: %s partitions made, %s dropped, %s rows deleted, "
           "personal data cleared in %s rows, %s ms\n",
           PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
           PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 4), PQgetvalue(res, 0, 5),
           PQgetvalue(res, 0, 6));
    rc = 0;
out:
    PQclear(res);
    PQfinish(conn);
    return rc;
}
