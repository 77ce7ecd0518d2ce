/* admin_alert.c -- pantau-admin's alert commands: see admin_alert.h. */
#include "admin_alert.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "admin_common.h"
#include "msg_utf8.h"

#define NAME_MAX_BYTES 200  /* --by */
#define NOTE_MAX_BYTES 2000 /* --note */
#define KIND_MAX_BYTES 64   /* --kind */
#define TIME_SQL(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

bool admin_alert_command_is(const char *cmd)
{
    return strcmp(cmd, "alert-list") == 0 || strcmp(cmd, "alert-show") == 0 ||
           strcmp(cmd, "alert-ack") == 0 || strcmp(cmd, "alert-resolve") == 0;
}

bool admin_alert_option_is(int c)
{
    return c == ADMIN_ALERT_OPT_BY || c == ADMIN_ALERT_OPT_NOTE || c == ADMIN_ALERT_OPT_ALL;
}

void admin_alert_option_set(struct admin_alert_opts *opts, int c, const char *arg)
{
    if (c == ADMIN_ALERT_OPT_BY) {
        opts->by = arg;
    } else if (c == ADMIN_ALERT_OPT_NOTE) {
        opts->note = arg;
    } else if (c == ADMIN_ALERT_OPT_ALL) {
        opts->all = true;
    }
}

const char *admin_alert_option_given(const struct admin_alert_opts *opts)
{
    if (opts->by != NULL) {
        return "--by";
    }
    if (opts->note != NULL) {
        return "--note";
    }
    if (opts->all) {
        return "--all";
    }
    return NULL;
}

/* Prints s (borrowed, any bytes) in its display form, then suffix. */
static void put_text(const char *s, const char *suffix)
{
    size_t len = strlen(s);
    char small[256];
    char *buf = small;
    size_t need = msg_utf8_display(s, len, small, sizeof(small));

    if (need >= sizeof(small)) {
        buf = malloc(need + 1);
        if (buf == NULL) {
            fputs("(out of memory)", stdout);
            fputs(suffix, stdout);
            return;
        }
        msg_utf8_display(s, len, buf, need + 1);
    }
    fputs(buf, stdout);
    fputs(suffix, stdout);
    if (buf != small) {
        free(buf);
    }
}

/* A "label: value" line, the value in its display form. */
static void field(const char *label, const char *value)
{
    printf("%s: ", label);
    put_text(value, "\n");
}

/* Checks an alert id (a positive integer that fits a bigint) into out. Returns 0 or 2. */
static int parse_id(const char *cmd, const char *s, char *out, size_t outlen)
{
    char *end = NULL;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] < '1' || s[0] > '9' || v > INT64_MAX) {
        return admin_usage_fail("%s: '%s' is not an alert id (a positive integer)", cmd, s);
    }
    snprintf(out, outlen, "%llu", v);
    return 0;
}

/* Checks text given to an option: not empty (unless may_be_empty), at most max bytes, valid
 * UTF-8 without control characters. Returns 0 or 2. */
static int check_text(const char *cmd, const char *opt, const char *s, size_t max,
                      bool may_be_empty)
{
    size_t len = strlen(s);
    char probe[8];

    if (len == 0 && !may_be_empty) {
        return admin_usage_fail("%s: %s must not be empty", cmd, opt);
    }
    if (len > max) {
        return admin_usage_fail("%s: %s is longer than %zu bytes", cmd, opt, max);
    }
    /* the display form equals the text only when nothing needed an escape (a backslash is
     * copied as is) */
    if (msg_utf8_display(s, len, probe, sizeof(probe)) != len) {
        return admin_usage_fail("%s: %s holds a control or invisible character or bytes that "
                                "are not UTF-8",
                                cmd, opt);
    }
    return 0;
}

static int alert_list(PGconn *conn, const struct admin_alert_opts *opts, const char *kind)
{
    const char *p[2] = {opts->all ? "true" : "false", kind};
    PGresult *res =
        admin_exec(conn, "alert-list",
                   "SELECT alert_id::text, kind, subject, coalesce(level::text, '-'), " TIME_SQL(
                       "raised_at") ", state, CASE WHEN news THEN '' ELSE ' (past)' END"
                                    " FROM pantau_alert.alert"
                                    " WHERE ($1::boolean OR state <> 'resolved')"
                                    " AND ($2::text IS NULL OR kind = $2)"
                                    " ORDER BY CASE state WHEN 'open' THEN 0"
                                    " WHEN 'acknowledged' THEN 1 ELSE 2 END,"
                                    " coalesce(level, 5), raised_at DESC, alert_id DESC",
                   2, p);

    if (res == NULL) {
        return 1;
    }
    printf("%-8s %-24s %-32s %-5s %-20s %s\n", "ID", "KIND", "SUBJECT", "LEVEL", "RAISED", "STATE");
    for (int i = 0; i < PQntuples(res); i++) {
        char subject[256];

        msg_utf8_display(PQgetvalue(res, i, 2), strlen(PQgetvalue(res, i, 2)), subject,
                         sizeof(subject));
        printf("%-8s %-24s %-32s %-5s %-20s %s%s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
               subject, PQgetvalue(res, i, 3), PQgetvalue(res, i, 4), PQgetvalue(res, i, 5),
               PQgetvalue(res, i, 6));
    }
    printf("(%d alert%s)\n", PQntuples(res), PQntuples(res) == 1 ? "" : "s");
    PQclear(res);
    return 0;
}

static int show_events(PGconn *conn, const char *id)
{
    const char *p[1] = {id};
    PGresult *res =
        admin_exec(conn, "alert-show",
                   "SELECT event_id::text, event, " TIME_SQL("at") ", by, note"
                                                                   " FROM pantau_alert.alert_event"
                                                                   " WHERE alert_id = $1::bigint"
                                                                   " ORDER BY event_id",
                   1, p);

    if (res == NULL) {
        return 1;
    }
    printf("events:\n");
    for (int i = 0; i < PQntuples(res); i++) {
        printf("  %s %s %s by ", PQgetvalue(res, i, 0), PQgetvalue(res, i, 2),
               PQgetvalue(res, i, 1));
        put_text(PQgetvalue(res, i, 3), PQgetvalue(res, i, 4)[0] != '\0' ? ": " : "\n");
        if (PQgetvalue(res, i, 4)[0] != '\0') {
            put_text(PQgetvalue(res, i, 4), "\n");
        }
    }
    PQclear(res);
    return 0;
}

static int show_deliveries(PGconn *conn, const char *id)
{
    const char *p[1] = {id};
    PGresult *res =
        admin_exec(conn, "alert-show",
                   "SELECT event_id::text, unit_id, channel, status, attempts::text,"
                   " coalesce(" TIME_SQL(
                       "delivered_at") ", '-'), coalesce(last_error, '')"
                                       " FROM pantau_alert.delivery WHERE alert_id = $1::bigint"
                                       " ORDER BY delivery_id",
                   1, p);

    if (res == NULL) {
        return 1;
    }
    printf("deliveries:\n");
    for (int i = 0; i < PQntuples(res); i++) {
        const char *err = PQgetvalue(res, i, 6);

        printf("  event %s to ", PQgetvalue(res, i, 0));
        put_text(PQgetvalue(res, i, 1), "");
        printf(" by %s: %s, %s attempt%s, delivered %s", PQgetvalue(res, i, 2),
               PQgetvalue(res, i, 3), PQgetvalue(res, i, 4),
               strcmp(PQgetvalue(res, i, 4), "1") == 0 ? "" : "s", PQgetvalue(res, i, 5));
        if (err[0] != '\0') {
            printf(", last error: ");
            put_text(err, "");
        }
        putchar('\n');
    }
    PQclear(res);
    return 0;
}

static int alert_show(PGconn *conn, const char *id)
{
    static const char *const labels[] = {
        "kind",
        "subject",
        "level",
        "previous level",
        "rise",
        "condition time",
        "condition until",
        "raised",
        "news",
        "paged",
        "state",
        "acknowledged by",
        "acknowledged at",
        "acknowledged note",
        "resolved by",
        "resolved at",
        "resolved note",
        "evidence",
    };
    const char *p[1] = {id};
    PGresult *res = admin_exec(
        conn, "alert-show",
        "SELECT kind, subject, coalesce(level::text, '-'), coalesce(previous_level::text, '-'),"
        " CASE WHEN rise_window IS NULL THEN '-' ELSE rise_cm::text || ' cm in ' ||"
        " rise_window::text END, " TIME_SQL(
            "condition_time") ","
                              " coalesce(" TIME_SQL("condition_until") ", '-'), " TIME_SQL(
                                  "raised_at") ","
                                               " CASE WHEN news THEN 'yes' ELSE 'no (past)' END,"
                                               " coalesce(" TIME_SQL(
                                                   "paged_at") ", '-'), state, coalesce(acknowledged_by, '-'),"
                                                               " coalesce(" TIME_SQL(
                                                                   "acknowledged_at") ", '-'), coalesce(acknowledged_note, '-'),"
                                                                                      " coalesce(resolved_by, '-'), coalesce(" TIME_SQL(
                                                                                          "resolved_at") ", '-'),"
                                                                                                         " coalesce(resolved_note, '-'), evidence::text"
                                                                                                         " FROM pantau_alert.alert WHERE alert_id = $1::bigint",
        1, p);
    int rc = 1;

    if (res == NULL) {
        return 1;
    }
    if (PQntuples(res) != 1) {
        fprintf(stderr, "pantau-admin: alert-show: no alert %s\n", id);
        goto out;
    }
    printf("alert: %s\n", id);
    for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
        field(labels[i], PQgetvalue(res, 0, (int)i));
    }
    if (show_events(conn, id) != 0 || show_deliveries(conn, id) != 0) {
        goto out;
    }
    rc = 0;
out:
    PQclear(res);
    return rc;
}

/* alert-ack and alert-resolve: the person's step through pantau_alert's function. */
static int alert_step(PGconn *conn, const char *cmd, const char *id,
                      const struct admin_alert_opts *opts)
{
    bool ack = strcmp(cmd, "alert-ack") == 0;
    const char *p[3] = {id, opts->by, opts->note != NULL ? opts->note : ""};
    PGresult *res =
        admin_exec(conn, cmd,
                   ack ? "SELECT pantau_alert.acknowledge($1::bigint, $2, $3),"
                         " (SELECT state FROM pantau_alert.alert WHERE alert_id = $1::bigint)"
                       : "SELECT pantau_alert.resolve($1::bigint, $2, $3),"
                         " (SELECT state FROM pantau_alert.alert WHERE alert_id = $1::bigint)",
                   3, p);
    int rc = 1;

    if (res == NULL) {
        return 1;
    }
    if (PQgetisnull(res, 0, 1)) {
        fprintf(stderr, "pantau-admin: %s: no alert %s\n", cmd, id);
    } else if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
        fprintf(stderr, "pantau-admin: %s: alert %s is %s: nothing done\n", cmd, id,
                PQgetvalue(res, 0, 1));
    } else {
        printf("alert %s %s by ", id, ack ? "acknowledged" : "resolved");
        put_text(opts->by, "\n");
        rc = 0;
    }
    PQclear(res);
    return rc;
}

/* Checks the command line of argv[0] (usage errors: 2), else 0. */
static int check_usage(const struct admin_alert_opts *opts, const char *kind, int argc, char **argv,
                       char *id, size_t idlen)
{
    const char *cmd = argv[0];
    bool list = strcmp(cmd, "alert-list") == 0;
    bool step = strcmp(cmd, "alert-ack") == 0 || strcmp(cmd, "alert-resolve") == 0;
    int rc;

    if (list) {
        if (argc != 1) {
            return admin_usage_fail("%s: takes no arguments, only options (got '%s')", cmd,
                                    argv[1]);
        }
        if (opts->by != NULL || opts->note != NULL) {
            return admin_usage_fail("%s: %s does not apply", cmd,
                                    opts->by != NULL ? "--by" : "--note");
        }
        if (kind != NULL) {
            return check_text(cmd, "--kind", kind, KIND_MAX_BYTES, false);
        }
        return 0;
    }
    if (argc != 2) {
        return admin_usage_fail("%s: takes one alert id (got %d arguments)", cmd, argc - 1);
    }
    if (kind != NULL || opts->all) {
        return admin_usage_fail("%s: %s does not apply", cmd, kind != NULL ? "--kind" : "--all");
    }
    rc = parse_id(cmd, argv[1], id, idlen);
    if (rc != 0) {
        return rc;
    }
    if (!step) {
        if (opts->by != NULL || opts->note != NULL) {
            return admin_usage_fail("%s: %s does not apply", cmd,
                                    opts->by != NULL ? "--by" : "--note");
        }
        return 0;
    }
    if (opts->by == NULL) {
        return admin_usage_fail("%s: --by NAME is required (who takes the step)", cmd);
    }
    rc = check_text(cmd, "--by", opts->by, NAME_MAX_BYTES, false);
    if (rc == 0 && opts->note != NULL) {
        rc = check_text(cmd, "--note", opts->note, NOTE_MAX_BYTES, true);
    }
    return rc;
}

int admin_alert_run(const struct admin_alert_opts *opts, const char *kind, const char *conninfo,
                    int argc, char **argv)
{
    const char *cmd = argv[0];
    char id[24] = "";
    PGconn *conn = NULL;
    int rc;

    rc = check_usage(opts, kind, argc, argv, id, sizeof(id));
    if (rc != 0) {
        return rc;
    }
    rc = 1;
    conn = PQconnectdb(conninfo != NULL ? conninfo : "");
    if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "pantau-admin: cannot connect to PostgreSQL: %s",
                conn != NULL ? PQerrorMessage(conn) : "out of memory\n");
        goto out;
    }
    if (strcmp(cmd, "alert-list") == 0) {
        rc = alert_list(conn, opts, kind);
    } else if (strcmp(cmd, "alert-show") == 0) {
        rc = alert_show(conn, id);
    } else {
        rc = alert_step(conn, cmd, id, opts);
    }
out:
    PQfinish(conn);
    return rc;
}
