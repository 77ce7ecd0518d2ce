/* admin_maintain.h -- pantau-admin's `maintain` (issue 14): the daily maintenance, one
 * transaction in PostgreSQL (schema/024: pantau_ops.maintain): month partitions ahead,
 * retention by pantau_ops.retention, personal data emptied by pantau_ops.pii_retention, and a
 * row in pantau_ops.maintenance_run. deploy/pantau-maintain.timer runs it daily.
 *
 *   maintain [--at TIME]     on the data's clock TIME (default now: a test, or an operator
 *                            checking what a day ahead would drop, passes a later time)
 *
 * Prints one line with what the run did; a failure prints PostgreSQL's message and exits 1
 * (the timer's unit then shows as failed; nothing was half done).
 *
 * Not for: choosing the periods (they are rows in the tables above, edited in SQL). */
#ifndef ADMIN_MAINTAIN_H
#define ADMIN_MAINTAIN_H

#include <stdbool.h>

#include "admin_registry.h"

/* True when cmd is `maintain`. */
bool admin_maintain_command_is(const char *cmd);

/* Runs `maintain` (argv[0]) with no further arguments (argc 1) and --at from reg (borrowed;
 * the only registry option it takes), connecting with conninfo (NULL: libpq's defaults).
 * Returns 0 done, 1 the database failed, 2 bad usage (after a message on stderr). */
int admin_maintain_run(const struct admin_registry_opts *reg, const char *conninfo, int argc,
                       char **argv);

#endif
