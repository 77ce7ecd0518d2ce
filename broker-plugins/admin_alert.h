/* admin_alert.h -- pantau-admin's alert commands (issue 11): what the alert rules in
 * PostgreSQL raised (schema/013 to 017, docs/alerts.md), and a person's acknowledge and
 * resolve, all through the database.
 *
 *   alert-list [--all] [--kind KIND]     open and acknowledged alerts (--all: resolved too),
 *                                        open first, loudest first (Siaga 1 before 2 ...)
 *   alert-show ID                        the alert, its evidence, its lifecycle, its deliveries
 *   alert-ack ID --by NAME [--note TEXT]     pantau_alert.acknowledge
 *   alert-resolve ID --by NAME [--note TEXT] pantau_alert.resolve
 *
 * Text from the database that a device or a person wrote (subjects, evidence, names, notes,
 * errors) is printed in its display form (msg_utf8_display).
 *
 * Not for: the rules, routing or delivery (pantau-alertd, schema/016). */
#ifndef ADMIN_ALERT_H
#define ADMIN_ALERT_H

#include <stdbool.h>

/* getopt_long values of the alert options, above admin.c's and admin_registry.h's. */
enum {
    ADMIN_ALERT_OPT_BY = 0x300,
    ADMIN_ALERT_OPT_NOTE,
    ADMIN_ALERT_OPT_ALL,
};

/* admin.c's longopts entries for the alert options. */
#define ADMIN_ALERT_LONGOPTS                                     \
    {"by", required_argument, NULL, ADMIN_ALERT_OPT_BY},         \
        {"note", required_argument, NULL, ADMIN_ALERT_OPT_NOTE}, \
    {                                                            \
        "all", no_argument, NULL, ADMIN_ALERT_OPT_ALL            \
    }

/* admin.c's --help lines for the alert commands and options. */
#define ADMIN_ALERT_USAGE_COMMANDS                                                       \
    "  alert-list [--all] [--kind KIND]\n"                                               \
    "                               open alerts, loudest first (--all: resolved too)\n"  \
    "  alert-show ID                an alert, its evidence, its events and deliveries\n" \
    "  alert-ack ID --by NAME [--note TEXT]\n"                                           \
    "                               acknowledge an open alert\n"                         \
    "  alert-resolve ID --by NAME [--note TEXT]\n"                                       \
    "                               resolve an alert\n"
#define ADMIN_ALERT_USAGE_OPTIONS                                                      \
    "      --by NAME                alert-ack, alert-resolve: who takes the step\n"    \
    "      --note TEXT              alert-ack, alert-resolve: a note for the record\n" \
    "      --all                    alert-list: resolved alerts too (--kind KIND: one kind)\n"

/* The alert options given (strings borrowed from argv; NULL: not given). */
struct admin_alert_opts {
    const char *by;
    const char *note;
    bool all;
};

/* True when cmd is one of the alert commands. */
bool admin_alert_command_is(const char *cmd);

/* True when c (a getopt_long value) is an alert option. */
bool admin_alert_option_is(int c);

/* Records option c with its argument arg (borrowed; NULL for --all) in opts. */
void admin_alert_option_set(struct admin_alert_opts *opts, int c, const char *arg);

/* The name of an alert option given in opts ("--by", ...), or NULL: for commands that take
 * none of them. */
const char *admin_alert_option_given(const struct admin_alert_opts *opts);

/* Runs alert command argv[0] with its arguments argv[1..argc-1] (borrowed), kind (--kind,
 * borrowed, NULL: not given) and opts, connecting with conninfo (NULL: libpq's defaults).
 * Returns 0 done, 1 the database failed or the step did not apply (the alert is not open,
 * already resolved, not found), 2 bad usage (after a message on stderr). */
int admin_alert_run(const struct admin_alert_opts *opts, const char *kind, const char *conninfo,
                    int argc, char **argv);

#endif
