/* admin_common.c -- what every command of pantau-admin shares (see admin_common.h). */
#include "admin_common.h"

#include <stdarg.h>
#include <stdio.h>

int admin_usage_fail(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "pantau-admin: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'pantau-admin --help'.\n");
    return 2;
}

PGresult *admin_exec(PGconn *conn, const char *what, const char *sql, int n,
                     const char *const *params)
{
    PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        fprintf(stderr, "pantau-admin: %s: %s", what, PQerrorMessage(conn));
        PQclear(res);
        return NULL;
    }
    return res;
}
