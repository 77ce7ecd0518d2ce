/* admin_common.h -- what every command of pantau-admin shares (admin.c, admin_registry.c,
 * admin_redrive.c, admin_alert.c, admin_cert.c): the one way a bad argument is reported, and
 * the one way a statement is run and its failure said.
 *
 * Not for: the broker plugin (admin*.c are pantau-admin's alone). */
#ifndef ADMIN_COMMON_H
#define ADMIN_COMMON_H

#include <libpq-fe.h>

/* Prints "pantau-admin: <fmt...>" and the hint to --help on stderr; returns 2, the exit status
 * of bad usage, so that a caller can `return admin_usage_fail(...)`. */
int admin_usage_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs sql with n text parameters (params borrowed; NULL: SQL NULL) on conn. Returns the
 * result (caller frees with PQclear), or NULL after printing "pantau-admin: <what>: <the
 * server's message>" on stderr. */
PGresult *admin_exec(PGconn *conn, const char *what, const char *sql, int n,
                     const char *const *params);

#endif
