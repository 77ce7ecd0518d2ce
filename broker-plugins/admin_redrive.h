/* admin_redrive.h -- pantau-admin redrive: asks the collectors to validate matching dead
 * letters again and store those whose cause is gone (schema/011_redrive.sql), waits for one
 * to do it and prints what happened.
 *
 *   redrive [--device ID] [--category CAT] [--since TIME] [--until TIME] [--id N] [--dry-run]
 *           [--timeout SECONDS]
 *
 * The request is a row of pantau_ops.redrive_request; a collector claims it, checks each dead
 * letter with its own code (the registry now, judged at the dead letter's receive time) and
 * writes the counts. pantau-admin never writes a reading itself. If no collector takes the
 * request before the timeout, it stays pending (a collector does it when it comes) and the
 * command exits 1 saying so.
 *
 * Not for: listing or showing dead letters (admin.c's dead-list, dead-show). */
#ifndef ADMIN_REDRIVE_H
#define ADMIN_REDRIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <libpq-fe.h>

#define ADMIN_REDRIVE_TIMEOUT_DEFAULT 60 /* seconds */
#define ADMIN_REDRIVE_TIMEOUT_MAX 86400

/* A request, its arguments checked (all borrowed; NULL: no such filter). */
struct admin_redrive_req {
    const char *device;   /* a valid device id */
    const char *category; /* one of schema/010's categories */
    const char *since;    /* protocol time form (UTC, ms) */
    const char *until;
    char id[24];          /* --id as digits, "" when not given */
    bool dry_run;
    long timeout_s;
    /* prints text that came from a device safely (admin.c's escaping); borrowed */
    void (*print_escaped)(FILE *f, const unsigned char *s, size_t len, size_t max_cols);
};

/* Checks --id and --timeout (either may be NULL: not given) into req. Returns 0, or 2 after
 * printing a message that names the option and its value. */
int admin_redrive_args(const char *id, const char *timeout, struct admin_redrive_req *req);

/* Records the request through conn (borrowed, connected), waits for a collector and prints
 * the outcome. Returns 0 done, 1 the database failed or the timeout passed. */
int admin_redrive_run(PGconn *conn, const struct admin_redrive_req *req);

#endif
