/* admin.c -- pantau-admin: the broker's accounts in PostgreSQL (pantau_ops.account, pantau.device,
 * pantau.device_station): add, disable, enable and remove devices and people, set a role,
 * rotate a device's secret, list; and the dead letters (pantau_ops.dead_letter): list them by
 * device, category, reason and time, show one decoded. Run it with an administrator's role
 * (pantau_admin). Stations, mounts, thresholds and bindings over time: admin_registry.c.
 *
 * A dead letter's payload, topic and detail are printed as text that cannot mislead a screen:
 * bytes that are not UTF-8 as \xHH, control characters, invisible and bidirectional format
 * characters (U+200B, U+202E, ...) as \uXXXX (\u{XXXXX} above U+FFFF), a backslash doubled.
 *
 * A new device secret (256 random bits) is printed once, alone on stdout, and only its keyed
 * hash is stored: nothing can show it again. A person's password is read from a prompt on the
 * terminal, or from a file (--password-file), never from the command line, and stored as a
 * PBKDF2-SHA512 hash. Hashes are never printed.
 *
 * Exit status: 0 done, 1 the database or a file failed, 2 bad usage. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "admin_alert.h"
#include "admin_cert.h"
#include "admin_maintain.h"
#include "admin_common.h"
#include "admin_enrol.h"
#include "admin_redrive.h"
#include "admin_registry.h"
#include "msg_deadcat.h"
#include "msg_err.h"
#include "msg_hex.h"
#include "msg_time.h"
#include "msg_topic.h"
#include "msg_utf8.h"
#include "secret.h"

#ifndef PANTAU_VERSION
#define PANTAU_VERSION "0"
#endif

#define MAX_STATIONS 64
#define PASSWORD_MIN 8
#define DEAD_LIMIT_DEFAULT 100
#define DEAD_LIMIT_MAX 100000
#define DEAD_DETAIL_COLUMNS 80

/* long options without a short one */
enum {
    OPT_DEVICE = 0x100,
    OPT_CATEGORY,
    OPT_REASON,
    OPT_SINCE,
    OPT_UNTIL,
    OPT_LIMIT,
    OPT_ID,
    OPT_UNIT,
    OPT_DRY_RUN,
    OPT_TIMEOUT,
    OPT_URL,
    OPT_OFFICER,
};

struct admin {
    const char *conninfo;
    const char *key_file;
    const char *password_file;
    const char *kind;
    const char *role;
    const char *unit; /* --unit: the unit of a unit account (schema/018) */
    const char *description;
    const char *stations[MAX_STATIONS];
    int n_stations;
    unsigned iterations;
    struct admin_registry_opts reg;   /* --from, --at, --name, ... (admin_registry.h) */
    struct admin_alert_opts alert;    /* --by, --note, --all (admin_alert.h) */
    struct admin_cert_opts cert;      /* --ca, --out, --days, --server, --crl (admin_cert.h) */
    const char *dl_device; /* dead-list filters (NULL: any) */
    const char *dl_category;
    const char *dl_reason;
    const char *dl_since;
    const char *dl_until;
    const char *dl_limit;
    const char *rd_id; /* redrive: --id, --timeout (NULL: not given), --dry-run */
    const char *rd_timeout;
    bool rd_dry_run;
    const char *enrol_url; /* enrol-phone --url (admin_enrol.h); NULL otherwise */
    const char *enrol_officers[ADMIN_ENROL_OFFICERS_MAX]; /* enrol-phone --officer */
    int n_enrol_officers;
    PGconn *conn;
};

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: pantau-admin [OPTION]... COMMAND [ARG]...\n"
            "Manage who may connect to pantau's broker (accounts in PostgreSQL) and the\n"
            "registry's stations, bindings, mounts and thresholds over time.\n"
            "\n"
            "Commands:\n"
            "  key-new FILE                 make the broker's server key file (mode 0600)\n"
            "  device-add ID --kind KIND [--station S]... [--from TIME] [--description TEXT]\n"
            "                               add a device and its account; prints its secret once\n"
            "  device-rotate ID             new secret for a device; prints it once\n"
            "  device-bind ID STATION [--from TIME]\n"
            "                               let the device speak for STATION from TIME on\n"
            "  device-unbind ID STATION [--at TIME]\n"
            "                               end the binding in force at TIME there\n"
            "  device-disable ID            refuse the device (and disconnect it)\n"
            "  device-enable ID\n"
            "  device-remove ID             remove its account and end its bindings now; the\n"
            "                               device row stays, disabled, if bindings or readings\n"
            "                               refer to it (history is never deleted)\n"
            ADMIN_ENROL_USAGE_COMMANDS
            ADMIN_REGISTRY_USAGE_COMMANDS
            ADMIN_ALERT_USAGE_COMMANDS
            ADMIN_CERT_USAGE_COMMANDS
            "  user-add NAME --role ROLE [--unit UNIT]\n"
            "                               add a person or program: collector, dashboard,\n"
            "                               admin, officer, unit (a unit's console, which\n"
            "                               reads only that unit's alerts: --unit UNIT) or\n"
            "                               viewer (the operation center's console, read only)\n"
            "                               or bridge (a district's edge broker, protocol.md 7.1)\n"
            "                               the password is asked for\n"
            "  user-password NAME           set a new password\n"
            "  user-role NAME ROLE [--unit UNIT]\n"
            "                               set the role\n"
            "  user-disable NAME, user-enable NAME, user-remove NAME\n"
            "  list                         accounts, without secrets or hashes\n"
            "  dead-list [--device ID] [--category CAT] [--reason CODE] [--since TIME]\n"
            "            [--until TIME] [--limit N]\n"
            "                               dead letters, newest first (default 100)\n"
            "  dead-show ID                 one dead letter with its payload, decoded\n"
            "  redrive [--device ID] [--category CAT] [--since TIME] [--until TIME] [--id N]\n"
            "          [--dry-run] [--timeout SECONDS]\n"
            "                               have a collector validate the matching dead letters\n"
            "                               again and store those whose cause is gone (e.g. a\n"
            "                               binding added with --from); prints what it did\n"
            "  maintain [--at TIME]         the daily maintenance: partitions ahead, retention,\n"
            "                               personal data past its keep; on the data's clock\n"
            "                               TIME (default now); prints what it did\n"
            "\n"
            "Options:\n"
            "  -d, --db CONNINFO            libpq connection string (default: PG* environment)\n"
            "  -k, --key-file FILE          the broker's server key (device-add, device-rotate)\n"
            "      --kind KIND              flood_gateway, traffic_gateway or handheld\n"
            "                               (station-add: flood_gauge or traffic_camera)\n"
            "      --station STATION        a station the new device reports for (repeatable)\n"
            "      --description TEXT       free text for operators\n"
            "      --role ROLE              the role of a new user\n"
            "      --unit UNIT              the unit of a unit account (pantau_alert.unit)\n"
            "      --password-file FILE     read the password from FILE's first line ('-': stdin)\n"
            "      --iterations N           PBKDF2-SHA512 iterations (default %d, at least %d)\n"
            ADMIN_ENROL_USAGE_OPTIONS
            ADMIN_REGISTRY_USAGE_OPTIONS
            ADMIN_ALERT_USAGE_OPTIONS
            ADMIN_CERT_USAGE_OPTIONS
            "      --device ID              dead-list: of this device\n"
            "      --category CAT           dead-list: json, schema, topic, station, identity,\n"
            "                               clash or db\n"
            "      --reason CODE            dead-list: the collector's reason code (rejected,\n"
            "                               registry, ...)\n"
            "      --since TIME, --until TIME\n"
            "                               dead-list: received at or after, before TIME (UTC:\n"
            "                               YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[.mmm]Z)\n"
            "      --limit N                dead-list: at most N rows (1 to 100000)\n"
            "                               (--device, --category, --since, --until: redrive too)\n"
            "      --id N                   redrive: only dead letter N\n"
            "      --dry-run                redrive: validate and count, store nothing\n"
            "      --timeout SECONDS        redrive: wait this long for a collector (default 60)\n"
            "  -h, --help                   show this help and exit\n"
            "  -V, --version                show the version and exit\n"
            "\n"
            "Exit status: 0 done, 1 the database or a file failed, 2 bad usage.\n",
            SECRET_PBKDF2_DEFAULT_ITER, SECRET_PBKDF2_MIN_ITER);
}

static bool id_ok(const char *s)
{
    return s != NULL && msg_id_valid(s, strlen(s));
}

static int db_open(struct admin *ad)
{
    ad->conn = PQconnectdb(ad->conninfo != NULL ? ad->conninfo : "");
    if (ad->conn == NULL || PQstatus(ad->conn) != CONNECTION_OK) {
        fprintf(stderr, "pantau-admin: cannot connect to PostgreSQL: %s",
                ad->conn ? PQerrorMessage(ad->conn) : "out of memory\n");
        return 1;
    }
    return 0;
}

/* Runs sql with n text parameters; returns the result (caller frees with PQclear) or NULL after
 * printing what failed. */
static PGresult *run(struct admin *ad, const char *what, const char *sql, int n,
                     const char *const *params)
{
    PGresult *res = PQexecParams(ad->conn, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        fprintf(stderr, "pantau-admin: %s: %s", what, PQerrorMessage(ad->conn));
        PQclear(res);
        return NULL;
    }
    return res;
}

static int exec_ok(struct admin *ad, const char *what, const char *sql, int n,
                   const char *const *params, long *rows)
{
    PGresult *res = run(ad, what, sql, n, params);

    if (res == NULL) {
        return 1;
    }
    if (rows != NULL) {
        *rows = strtol(PQcmdTuples(res)[0] ? PQcmdTuples(res) : "0", NULL, 10);
    }
    PQclear(res);
    return 0;
}

/* ---- secrets ---- */

/* A new device key into secret, its hash into hash. */
static int new_device_secret(struct admin *ad, char *secret, size_t slen, char *hash,
                             size_t hlen)
{
    struct secret_key key;
    char err[MSG_ERRLEN] = "";
    int rc = 1;

    if (ad->key_file == NULL) {
        fprintf(stderr, "pantau-admin: --key-file is needed to hash a device secret\n");
        return 2;
    }
    if (secret_key_load(ad->key_file, &key, err, sizeof(err)) != MSG_OK) {
        fprintf(stderr, "pantau-admin: %s\n", err);
        goto out;
    }
    if (secret_device_key_new(secret, slen) != MSG_OK ||
        secret_hash_device_key(&key, secret, strlen(secret), hash, hlen) != MSG_OK) {
        fprintf(stderr, "pantau-admin: cannot make a device secret (OpenSSL)\n");
        goto out;
    }
    rc = 0;
out:
    secret_wipe(&key, sizeof(key));
    return rc;
}

static int read_line_from(FILE *f, char *buf, size_t len)
{
    size_t n;

    if (fgets(buf, (int)len, f) == NULL) {
        return -1;
    }
    n = strcspn(buf, "\r\n");
    if (buf[n] == '\0' && n == len - 1) {
        return -1;                     /* longer than the buffer */
    }
    buf[n] = '\0';
    return 0;
}

/* Reads a password from the terminal without echo, twice. */
static int prompt_password(char *buf, size_t len)
{
    char again[SECRET_PASSWORD_MAX + 2];
    struct termios old;
    struct termios quiet;
    FILE *tty = NULL;
    bool restore = false;
    int rc = -1;

    tty = fopen("/dev/tty", "r+");
    if (tty == NULL) {
        fprintf(stderr, "pantau-admin: no terminal to ask for the password: use "
                        "--password-file\n");
        goto out;
    }
    if (tcgetattr(fileno(tty), &old) == 0) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        restore = tcsetattr(fileno(tty), TCSAFLUSH, &quiet) == 0;
    }
    fprintf(tty, "Password: ");
    fflush(tty);
    if (read_line_from(tty, buf, len) != 0) {
        goto out;
    }
    fprintf(tty, "\nAgain: ");
    fflush(tty);
    if (read_line_from(tty, again, sizeof(again)) != 0) {
        goto out;
    }
    fprintf(tty, "\n");
    if (strcmp(buf, again) != 0) {
        fprintf(stderr, "pantau-admin: the passwords differ\n");
        goto out;
    }
    rc = 0;
out:
    if (restore) {
        tcsetattr(fileno(tty), TCSAFLUSH, &old);
    }
    if (tty != NULL) {
        fclose(tty);
    }
    secret_wipe(again, sizeof(again));
    return rc;
}

static int get_password_hash(struct admin *ad, char *hash, size_t hlen)
{
    char pw[SECRET_PASSWORD_MAX + 2];
    FILE *f = NULL;
    int rc = 1;

    if (ad->password_file != NULL) {
        f = strcmp(ad->password_file, "-") == 0 ? stdin : fopen(ad->password_file, "r");
        if (f == NULL) {
            fprintf(stderr, "pantau-admin: password file %s: %s\n", ad->password_file,
                    strerror(errno));
            goto out;
        }
        if (read_line_from(f, pw, sizeof(pw)) != 0) {
            fprintf(stderr, "pantau-admin: password file %s: no line of at most %d bytes\n",
                    ad->password_file, SECRET_PASSWORD_MAX);
            goto out;
        }
    } else if (prompt_password(pw, sizeof(pw)) != 0) {
        goto out;
    }
    if (strlen(pw) < PASSWORD_MIN) {
        fprintf(stderr, "pantau-admin: a password needs at least %d characters\n", PASSWORD_MIN);
        rc = 2;
        goto out;
    }
    if (secret_hash_password(pw, strlen(pw), ad->iterations, hash, hlen) != MSG_OK) {
        fprintf(stderr, "pantau-admin: cannot hash the password (OpenSSL)\n");
        goto out;
    }
    rc = 0;
out:
    if (f != NULL && f != stdin) {
        fclose(f);
    }
    secret_wipe(pw, sizeof(pw));
    return rc;
}

/* ---- commands ---- */

static int tx(struct admin *ad, const char *sql)
{
    return exec_ok(ad, sql, sql, 0, NULL, NULL);
}

static int device_add(struct admin *ad, const char *id)
{
    char officer_verifiers[ADMIN_ENROL_OFFICERS_MAX][ADMIN_ENROL_VERIFIER_MAX + 1];
    char secret[SECRET_DEVICE_KEY_LEN + 1];
    char hash[SECRET_HASH_MAX + 1];
    struct admin_registry_time from;
    enum msg_device_kind kind;
    const char *p[4];
    PGresult *res = NULL;
    long added = 0;
    int rc;
    int i;

    if (!id_ok(id)) {
        return admin_usage_fail("'%s' is not a device id (protocol.md section 2)", id);
    }
    if (ad->kind == NULL || msg_device_kind_from_name(ad->kind, strlen(ad->kind), &kind) != 0) {
        return admin_usage_fail("device-add needs --kind flood_gateway, traffic_gateway or handheld%s",
                          "");
    }
    for (i = 0; i < ad->n_stations; i++) {
        if (!id_ok(ad->stations[i])) {
            return admin_usage_fail("'%s' is not a station id", ad->stations[i]);
        }
    }
    rc = admin_registry_time_opt(&ad->reg, ADMIN_REGISTRY_OPT_FROM, "device-add", &from);
    if (rc != 0) {
        return rc;
    }
    if (from.given && ad->n_stations == 0) {
        return admin_usage_fail("device-add: --from is when its --station bindings start, and none "
                          "is given%s", "");
    }
    rc = new_device_secret(ad, secret, sizeof(secret), hash, sizeof(hash));
    if (rc != 0) {
        goto out;
    }
    rc = db_open(ad);
    if (rc != 0) {
        goto out;
    }
    rc = 1;
    if (tx(ad, "BEGIN") != 0) {
        goto out;
    }
    p[0] = id;
    p[1] = ad->kind;
    p[2] = ad->description != NULL ? ad->description : "";
    /* A device already in the registry (imported from an asset list, say) without an
     * account is enrolled: it gets its account, if its kind is the one given. */
    if (exec_ok(ad, "adding the device",
                "INSERT INTO pantau.device (device_id, kind, description) VALUES ($1, $2, $3) "
                "ON CONFLICT (device_id) DO NOTHING",
                3, p, &added) != 0) {
        goto out;
    }
    if (added == 0) {
        res = run(ad, "reading the registered device",
                  "SELECT d.kind, EXISTS (SELECT 1 FROM pantau_ops.account a "
                  "WHERE a.device_id = d.device_id) FROM pantau.device d WHERE d.device_id = $1",
                  1, p);
        if (res == NULL) {
            goto out;
        }
        if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), ad->kind) != 0) {
            fprintf(stderr, "pantau-admin: adding the device: %s is registered with kind %s, "
                    "not %s\n", id, PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "(none)",
                    ad->kind);
            goto out;
        }
        if (strcmp(PQgetvalue(res, 0, 1), "t") == 0) {
            fprintf(stderr, "pantau-admin: adding the device: %s has an account already "
                    "(device-rotate gives it a new secret)\n", id);
            goto out;
        }
    }
    p[1] = hash;
    if (exec_ok(ad, "adding its account",
                "INSERT INTO pantau_ops.account (username, role, device_id, secret_kind, "
                "secret_hash) VALUES ($1, 'device', $1, 'device_key', $2)",
                2, p, NULL) != 0) {
        goto out;
    }
    for (i = 0; i < ad->n_stations; i++) {
        if (admin_registry_bind(ad->conn, "device-add", id, ad->stations[i], &from) != 0) {
            goto out;
        }
    }
    if (ad->enrol_url != NULL &&
        admin_enrol_officers_add(ad->conn, id, ad->enrol_officers, ad->n_enrol_officers,
                                 officer_verifiers) != 0) {
        goto out;
    }
    if (tx(ad, "COMMIT") != 0) {
        goto out;
    }
    if (ad->enrol_url != NULL) {
        fprintf(stderr, "pantau-admin: phone %s enrolled (handheld). Its enrolment code "
                        "follows on stdout, once: it holds its key and cannot be shown again.\n",
                id);
        admin_enrol_print(stdout, id, secret, ad->enrol_url, ad->enrol_officers,
                          ad->n_enrol_officers, officer_verifiers);
        fflush(stdout);
        rc = 0;
        goto out;
    }
    fprintf(stderr,
            "pantau-admin: device %s added (%s, %d station%s). Its secret follows on stdout, "
            "once: it cannot be shown again.\n",
            id, ad->kind, ad->n_stations, ad->n_stations == 1 ? "" : "s");
    printf("%s\n", secret);
    fflush(stdout);
    rc = 0;
out:
    PQclear(res);
    secret_wipe(secret, sizeof(secret));
    secret_wipe(hash, sizeof(hash));
    return rc;
}

static int device_rotate(struct admin *ad, const char *id)
{
    char secret[SECRET_DEVICE_KEY_LEN + 1];
    char hash[SECRET_HASH_MAX + 1];
    const char *p[2];
    long rows = 0;
    int rc;

    if (!id_ok(id)) {
        return admin_usage_fail("'%s' is not a device id", id);
    }
    rc = new_device_secret(ad, secret, sizeof(secret), hash, sizeof(hash));
    if (rc != 0) {
        goto out;
    }
    rc = db_open(ad);
    if (rc != 0) {
        goto out;
    }
    rc = 1;
    p[0] = id;
    p[1] = hash;
    if (exec_ok(ad, "rotating the secret",
                "UPDATE pantau_ops.account SET secret_hash = $2, secret_kind = 'device_key' "
                "WHERE username = $1 AND role = 'device'",
                2, p, &rows) != 0) {
        goto out;
    }
    if (rows != 1) {
        fprintf(stderr, "pantau-admin: device-rotate: no device account %s\n", id);
        goto out;
    }
    fprintf(stderr, "pantau-admin: new secret for %s follows on stdout, once; the old one no "
                    "longer works.\n", id);
    printf("%s\n", secret);
    fflush(stdout);
    rc = 0;
out:
    secret_wipe(secret, sizeof(secret));
    secret_wipe(hash, sizeof(hash));
    return rc;
}

static int simple_update(struct admin *ad, const char *what, const char *sql, const char *a,
                         const char *b, const char *done)
{
    const char *p[2] = {a, b};
    long rows = 0;

    if (db_open(ad) != 0) {
        return 1;
    }
    if (exec_ok(ad, what, sql, b != NULL ? 2 : 1, p, &rows) != 0) {
        return 1;
    }
    if (rows < 1) {
        fprintf(stderr, "pantau-admin: %s: no such account or binding: %s\n", what, a);
        return 1;
    }
    fprintf(stderr, "pantau-admin: %s %s\n", a, done);
    return 0;
}

static int device_remove(struct admin *ad, const char *id)
{
    const char *p[1] = {id};
    PGresult *res = NULL;
    long rows = 0;
    long ended = 0;
    bool kept = false;
    int rc = 1;

    if (db_open(ad) != 0) {
        return 1;
    }
    if (tx(ad, "BEGIN") != 0) {
        goto out;
    }
    if (exec_ok(ad, "removing the account",
                "DELETE FROM pantau_ops.account WHERE device_id = $1", 1, p, NULL) != 0 ||
        admin_registry_bindings_end_now(ad->conn, id, &ended) != 0 ||
        tx(ad, "SAVEPOINT keep") != 0) {
        goto out;
    }
    res = PQexecParams(ad->conn, "DELETE FROM pantau.device WHERE device_id = $1", 1, NULL, p,
                       NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_COMMAND_OK) {
        rows = strtol(PQcmdTuples(res), NULL, 10);
    } else {
        /* bindings (the record of what it spoke for) or readings refer to it: keep the row,
         * switched off */
        kept = true;
        if (tx(ad, "ROLLBACK TO SAVEPOINT keep") != 0 ||
            exec_ok(ad, "disabling the device",
                    "UPDATE pantau.device SET enabled = false WHERE device_id = $1", 1, p,
                    &rows) != 0) {
            goto out;
        }
    }
    if (rows < 1) {
        fprintf(stderr, "pantau-admin: device-remove: no device %s\n", id);
        goto out;
    }
    if (tx(ad, "COMMIT") != 0) {
        goto out;
    }
    fprintf(stderr, "pantau-admin: device %s removed%s; %ld binding%s ended now\n", id,
            kept ? " (its row stays, disabled: its bindings or readings refer to it)" : "",
            ended, ended == 1 ? "" : "s");
    rc = 0;
out:
    PQclear(res);
    return rc;
}

static bool person_role(const char *role)
{
    static const char *const roles[] = {"collector", "dashboard", "admin", "officer", "unit",
                                        "viewer",    "bridge"};
    size_t i;

    for (i = 0; role != NULL && i < sizeof(roles) / sizeof(roles[0]); i++) {
        if (strcmp(role, roles[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* --unit goes with role unit and with no other (schema/018: a unit account names its unit);
 * the unit id rule is msg_unit_valid's (the topic level it reads). Returns 0 or 2 (usage). */
static int user_unit_check(const struct admin *ad, const char *cmd, const char *role)
{
    bool is_unit = strcmp(role, "unit") == 0;

    if (is_unit && ad->unit == NULL) {
        fprintf(stderr, "pantau-admin: %s: --role unit needs --unit UNIT\n", cmd);
        return 2;
    }
    if (!is_unit && ad->unit != NULL) {
        fprintf(stderr, "pantau-admin: %s: --unit is only for role unit, not %s\n", cmd, role);
        return 2;
    }
    if (is_unit && !msg_unit_valid(ad->unit, strlen(ad->unit))) {
        fprintf(stderr,
                "pantau-admin: %s: --unit '%s' is not a unit id (1-32 of a-z 0-9 _ -, starting "
                "with a letter or digit)\n",
                cmd, ad->unit);
        return 2;
    }
    return 0;
}

static int user_add(struct admin *ad, const char *name)
{
    char hash[SECRET_HASH_MAX + 1];
    const char *p[4];
    int rc;

    if (!id_ok(name)) {
        return admin_usage_fail("'%s' is not a username (protocol.md section 2 id form)", name);
    }
    if (!person_role(ad->role)) {
        return admin_usage_fail(
            "user-add needs --role collector, dashboard, admin, officer, unit, viewer or bridge%s", "");
    }
    rc = user_unit_check(ad, "user-add", ad->role);
    if (rc != 0) {
        return rc;
    }
    rc = get_password_hash(ad, hash, sizeof(hash));
    if (rc != 0) {
        goto out;
    }
    rc = db_open(ad);
    if (rc != 0) {
        goto out;
    }
    p[0] = name;
    p[1] = ad->role;
    p[2] = hash;
    p[3] = ad->unit; /* NULL: no unit */
    rc = exec_ok(ad, "adding the user",
                 "INSERT INTO pantau_ops.account (username, role, secret_kind, secret_hash, "
                 "unit_id) VALUES ($1, $2, 'password', $3, $4)",
                 4, p, NULL);
    if (rc == 0) {
        fprintf(stderr, "pantau-admin: user %s added (%s%s%s)\n", name, ad->role,
                ad->unit != NULL ? " of unit " : "", ad->unit != NULL ? ad->unit : "");
    }
out:
    secret_wipe(hash, sizeof(hash));
    return rc;
}

/* user-role NAME ROLE [--unit UNIT]: the unit is set with role unit and cleared otherwise. */
static int user_role(struct admin *ad, const char *name, const char *role)
{
    const char *p[3] = {name, role, ad->unit};
    long rows = 0;
    int rc;

    if (!person_role(role)) {
        return admin_usage_fail(
            "'%s' is not a role: collector, dashboard, admin, officer, unit, viewer or bridge", role);
    }
    rc = user_unit_check(ad, "user-role", role);
    if (rc != 0) {
        return rc;
    }
    if (db_open(ad) != 0) {
        return 1;
    }
    if (exec_ok(ad, "user-role",
                "UPDATE pantau_ops.account SET role = $2, unit_id = $3 WHERE username = $1 "
                "AND role <> 'device'",
                3, p, &rows) != 0) {
        return 1;
    }
    if (rows < 1) {
        fprintf(stderr, "pantau-admin: user-role: no such account or binding: %s\n", name);
        return 1;
    }
    fprintf(stderr, "pantau-admin: %s has a new role\n", name);
    return 0;
}

static int user_password(struct admin *ad, const char *name)
{
    char hash[SECRET_HASH_MAX + 1];
    int rc;

    rc = get_password_hash(ad, hash, sizeof(hash));
    if (rc == 0) {
        rc = simple_update(ad, "setting the password",
                           "UPDATE pantau_ops.account SET secret_hash = $2, "
                           "secret_kind = 'password' WHERE username = $1 AND role <> 'device'",
                           name, hash, "has a new password");
    }
    secret_wipe(hash, sizeof(hash));
    return rc;
}

static int list(struct admin *ad)
{
    PGresult *res;
    int i;

    if (db_open(ad) != 0) {
        return 1;
    }
    res = run(ad, "listing accounts",
              "SELECT a.username, a.role, coalesce(a.unit_id, '-'), coalesce(a.device_id, '-'),"
              " coalesce(d.kind, '-'),"
              " CASE WHEN a.enabled AND coalesce(d.enabled, true) THEN 'yes' ELSE 'no' END,"
              " a.secret_kind,"
              " coalesce((SELECT string_agg(station_id, ',' ORDER BY station_id)"
              "  FROM pantau.device_station s WHERE s.device_id = a.device_id"
              "  AND s.valid @> now()), '-')"
              " FROM pantau_ops.account a LEFT JOIN pantau.device d USING (device_id)"
              " ORDER BY a.username",
              0, NULL);
    if (res == NULL) {
        return 1;
    }
    /* UNIT: the unit whose alerts a `unit` account reads (schema/018) */
    printf("%-24s %-10s %-10s %-24s %-16s %-7s %-10s %s\n", "USERNAME", "ROLE", "UNIT", "DEVICE",
           "KIND", "ENABLED", "SECRET", "STATIONS");
    for (i = 0; i < PQntuples(res); i++) {
        printf("%-24s %-10s %-10s %-24s %-16s %-7s %-10s %s\n", PQgetvalue(res, i, 0),
               PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
               PQgetvalue(res, i, 4), PQgetvalue(res, i, 5), PQgetvalue(res, i, 6),
               PQgetvalue(res, i, 7));
    }
    PQclear(res);
    return 0;
}

/* ---- dead letters ---- */

/* Prints s (len bytes, any content) to f as text that shows what it is (see the top of this
 * file: msg_utf8_display's escapes, and the C ones), at most max_cols characters of output if
 * max_cols > 0 ("..." after a cut; an escape counts as its length). */
static void print_escaped(FILE *f, const unsigned char *s, size_t len, size_t max_cols)
{
    size_t cols = 0;

    for (size_t i = 0; i < len;) {
        char out[MSG_UTF8_DISPLAY_CP_MAX + 1];
        bool escaped = false;
        size_t n = msg_utf8_display_cp((const char *)s + i, len - i, MSG_UTF8_DISPLAY_C, out,
                                       &escaped);
        size_t w = escaped ? strlen(out) : 1;

        if (max_cols > 0 && cols + w > max_cols - 3) {
            fputs("...", f);
            return;
        }
        fputs(out, f);
        cols += w;
        i += n;
    }
}

/* A time for --since/--until: YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or YYYY-MM-DDTHH:MM:SS.mmmZ
 * (UTC), as the protocol's timestamp into out. */
static bool dead_time(const char *s, char out[MSG_TIME_LEN + 1])
{
    char buf[MSG_TIME_LEN + 1];
    char err[MSG_ERRLEN];
    size_t len = strlen(s);
    int64_t ms = 0;

    if (len == 10) {
        snprintf(buf, sizeof(buf), "%sT00:00:00.000Z", s);
    } else if (len == 20 && s[19] == 'Z') {
        snprintf(buf, sizeof(buf), "%.19s.000Z", s);
    } else if (len == MSG_TIME_LEN) {
        snprintf(buf, sizeof(buf), "%s", s);
    } else {
        return false;
    }
    if (msg_time_parse(buf, strlen(buf), &ms, err, sizeof(err)) != MSG_OK) {
        return false;
    }
    msg_time_format(ms, out);
    return true;
}

/* Checks the dead-list options; prints what is wrong, naming the option. */
static int dead_list_check(struct admin *ad, char since[MSG_TIME_LEN + 1],
                           char until[MSG_TIME_LEN + 1], char limit[24])
{
    char *end = NULL;
    unsigned long n = DEAD_LIMIT_DEFAULT;
    size_t i;

    if (ad->dl_device != NULL && !id_ok(ad->dl_device)) {
        return admin_usage_fail("--device: '%s' is not a device id", ad->dl_device);
    }
    if (ad->dl_category != NULL && msg_deadcat_find(ad->dl_category) < 0) {
        return admin_usage_fail("--category: '%s' is not a category: json, schema, topic, station, "
                          "identity, clash or db",
                          ad->dl_category);
    }
    if (ad->dl_reason != NULL) {
        size_t len = strlen(ad->dl_reason);
        bool ok = len >= 1 && len <= 31;

        for (i = 0; ok && i < len; i++) {
            ok = (ad->dl_reason[i] >= 'a' && ad->dl_reason[i] <= 'z') || ad->dl_reason[i] == '_';
        }
        if (!ok) {
            return admin_usage_fail("--reason: '%s' is not a reason code (1 to 31 lower-case letters "
                              "or '_')",
                              ad->dl_reason);
        }
    }
    if (ad->dl_since != NULL && !dead_time(ad->dl_since, since)) {
        return admin_usage_fail("--since: '%s' is not a time (UTC: YYYY-MM-DD or "
                          "YYYY-MM-DDTHH:MM:SS[.mmm]Z)",
                          ad->dl_since);
    }
    if (ad->dl_until != NULL && !dead_time(ad->dl_until, until)) {
        return admin_usage_fail("--until: '%s' is not a time (UTC: YYYY-MM-DD or "
                          "YYYY-MM-DDTHH:MM:SS[.mmm]Z)",
                          ad->dl_until);
    }
    if (ad->dl_since != NULL && ad->dl_until != NULL && strcmp(until, since) <= 0) {
        return admin_usage_fail("--until: '%s' is not after --since '%s'", ad->dl_until,
                          ad->dl_since);
    }
    if (ad->dl_limit != NULL) {
        errno = 0;
        n = strtoul(ad->dl_limit, &end, 10);
        if (errno != 0 || end == ad->dl_limit || *end != '\0' || ad->dl_limit[0] == '-' ||
            n < 1 || n > DEAD_LIMIT_MAX) {
            return admin_usage_fail("--limit: '%s' is not a number from 1 to %d", ad->dl_limit,
                              DEAD_LIMIT_MAX);
        }
    }
    snprintf(limit, 24, "%lu", n);
    return 0;
}

static int dead_list(struct admin *ad)
{
    char since[MSG_TIME_LEN + 1] = "";
    char until[MSG_TIME_LEN + 1] = "";
    char limit[24] = "";
    const char *p[6];
    PGresult *res = NULL;
    int rc;

    rc = dead_list_check(ad, since, until, limit);
    if (rc != 0) {
        return rc;
    }
    if (db_open(ad) != 0) {
        return 1;
    }
    p[0] = ad->dl_device;
    p[1] = ad->dl_category;
    p[2] = ad->dl_reason;
    p[3] = ad->dl_since != NULL ? since : NULL;
    p[4] = ad->dl_until != NULL ? until : NULL;
    p[5] = limit;
    res = run(ad, "listing dead letters",
              "SELECT id, to_char(received_at AT TIME ZONE 'UTC',"
              " 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), category, reason,"
              " coalesce(device_id, '-'), coalesce(stream, '-'), coalesce(seq::text, '-'),"
              " payload_size::text || CASE WHEN cut THEN '(cut)' ELSE '' END,"
              " coalesce(detail, '')"
              " FROM pantau_ops.dead_letter_list"
              " WHERE ($1::text IS NULL OR device_id = $1) AND ($2::text IS NULL OR category = $2)"
              " AND ($3::text IS NULL OR reason = $3)"
              " AND ($4::timestamptz IS NULL OR received_at >= $4)"
              " AND ($5::timestamptz IS NULL OR received_at < $5)"
              " ORDER BY received_at DESC, id DESC LIMIT $6::integer",
              6, p);
    if (res == NULL) {
        return 1;
    }
    printf("%-8s %-24s %-8s %-8s %-24s %-9s %-8s %-11s %s\n", "ID", "RECEIVED (UTC)",
           "CATEGORY", "REASON", "DEVICE", "STREAM", "SEQ", "SIZE", "DETAIL");
    for (int i = 0; i < PQntuples(res); i++) {
        const char *detail = PQgetvalue(res, i, 8);

        printf("%-8s %-24s %-8s %-8s %-24s %-9s %-8s %-11s ", PQgetvalue(res, i, 0),
               PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
               PQgetvalue(res, i, 4), PQgetvalue(res, i, 5), PQgetvalue(res, i, 6),
               PQgetvalue(res, i, 7));
        print_escaped(stdout, (const unsigned char *)detail, strlen(detail),
                      DEAD_DETAIL_COLUMNS);
        putchar('\n');
    }
    fprintf(stderr, "pantau-admin: %d dead letter(s)\n", PQntuples(res));
    PQclear(res);
    return 0;
}

/* One field of dead-show: its name and value, escaped. */
static void show_field(const char *name, const char *value)
{
    printf("%-15s ", name);
    print_escaped(stdout, (const unsigned char *)value, strlen(value), 0);
    putchar('\n');
}

static int dead_show(struct admin *ad, const char *id)
{
    static const char *const names[] = {"id:",      "received:", "source:", "collector:",
                                        "category:", "reason:",   "detail:", "device:",
                                        "store:",    "seq:",      "stream:", "topic:",
                                        "size:",     "stored:",   "sha256:"};
    const char *p[1] = {id};
    PGresult *res = NULL;
    unsigned char *bytes = NULL;
    const char *hex;
    size_t n;
    char *end = NULL;
    unsigned long long v;
    int rc = 1;

    errno = 0;
    v = strtoull(id, &end, 10);
    if (errno != 0 || end == id || *end != '\0' || id[0] < '1' || id[0] > '9' ||
        v > INT64_MAX) {
        return admin_usage_fail("dead-show: '%s' is not a dead letter id (a positive integer)", id);
    }
    if (db_open(ad) != 0) {
        return 1;
    }
    res = run(ad, "reading the dead letter",
              "SELECT id::text, to_char(received_at AT TIME ZONE 'UTC',"
              " 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), source, coalesce(collector_id, '-'),"
              " category, reason, coalesce(detail, '-'), coalesce(device_id, '-'),"
              " coalesce(store_id::text, '-'), coalesce(seq::text, '-'), coalesce(stream, '-'),"
              " topic, coalesce(payload_size, octet_length(payload))::text || ' bytes as sent',"
              " octet_length(payload)::text || ' bytes' || CASE WHEN"
              " coalesce(payload_size, octet_length(payload)) > octet_length(payload)"
              " THEN ' (cut: the first ' || octet_length(payload) || ')' ELSE '' END,"
              " coalesce(encode(payload_sha256, 'hex'), '-'), encode(payload, 'hex')"
              " FROM pantau_ops.dead_letter WHERE id = $1::bigint",
              1, p);
    if (res == NULL) {
        goto out;
    }
    if (PQntuples(res) != 1) {
        fprintf(stderr, "pantau-admin: dead-show: no dead letter with id %s\n", id);
        goto out;
    }
    for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++) {
        show_field(names[i], PQgetvalue(res, 0, i));
    }
    hex = PQgetvalue(res, 0, 15);
    n = strlen(hex) / 2;
    bytes = malloc(n + 1);
    if (bytes == NULL) {
        fprintf(stderr, "pantau-admin: dead-show: out of memory\n");
        goto out;
    }
    if (msg_hex_decode(hex, 2 * n, bytes, n, NULL) != MSG_OK) {
        fprintf(stderr, "pantau-admin: dead-show: the payload from the database is not hex\n");
        goto out;
    }
    printf("%-15s ", "payload:");
    print_escaped(stdout, bytes, n, 0);
    putchar('\n');
    rc = 0;
out:
    free(bytes);
    PQclear(res);
    return rc;
}

static int redrive(struct admin *ad)
{
    struct admin_redrive_req req;
    char since[MSG_TIME_LEN + 1] = "";
    char until[MSG_TIME_LEN + 1] = "";
    char limit[24] = "";
    int rc;

    if (ad->dl_reason != NULL) {
        return admin_usage_fail("redrive: --reason does not apply (use --category)");
    }
    if (ad->dl_limit != NULL) {
        return admin_usage_fail("redrive: --limit does not apply");
    }
    rc = dead_list_check(ad, since, until, limit);
    if (rc != 0) {
        return rc;
    }
    memset(&req, 0, sizeof(req));
    rc = admin_redrive_args(ad->rd_id, ad->rd_timeout, &req);
    if (rc != 0) {
        return rc;
    }
    req.device = ad->dl_device;
    req.category = ad->dl_category;
    req.since = ad->dl_since != NULL ? since : NULL;
    req.until = ad->dl_until != NULL ? until : NULL;
    req.dry_run = ad->rd_dry_run;
    req.print_escaped = print_escaped;
    if (db_open(ad) != 0) {
        return 1;
    }
    return admin_redrive_run(ad->conn, &req);
}

/* enrol-phone ID --url URL: device-add of a handheld that prints an enrolment code
 * (admin_enrol.h) instead of the bare secret. */
static int enrol_phone(struct admin *ad, int argc, const char *id)
{
    int rc;

    if (argc != 2) {
        return admin_usage_fail("enrol-phone: wrong number of arguments");
    }
    if (ad->kind != NULL && strcmp(ad->kind, "handheld") != 0) {
        return admin_usage_fail("enrol-phone: a phone is a handheld, not %s", ad->kind);
    }
    if (ad->n_stations > 0) {
        return admin_usage_fail("enrol-phone: a phone reports for no station (--station)");
    }
    rc = admin_enrol_url_check(ad->enrol_url);
    if (rc != 0) {
        return rc;
    }
    rc = admin_enrol_officers_check(ad->enrol_officers, ad->n_enrol_officers);
    if (rc != 0) {
        return rc;
    }
    ad->kind = "handheld";
    return device_add(ad, id);
}

static int dispatch(struct admin *ad, int argc, char **argv)
{
    const char *cmd = argv[0];
    const char *a = argc > 1 ? argv[1] : NULL;
    const char *b = argc > 2 ? argv[2] : NULL;
    char err[MSG_ERRLEN] = "";
    const char *extra;
    int want = 2;

    if (admin_registry_command_is(cmd)) {
        if (ad->kind != NULL &&
            admin_registry_option_set(&ad->reg, ADMIN_REGISTRY_OPT_KIND, ad->kind) != 0) {
            return 2;
        }
        return admin_registry_run(&ad->reg, ad->conninfo, argc, argv);
    }
    if (admin_cert_command_is(cmd)) {
        if (ad->alert.by != NULL || ad->alert.all || ad->rd_id != NULL ||
            ad->rd_timeout != NULL || ad->rd_dry_run ||
            admin_registry_option_given(&ad->reg, ADMIN_REGISTRY_OPT_END) != NULL) {
            return admin_usage_fail("%s: an option given does not apply (--help)", cmd);
        }
        return admin_cert_run(&ad->cert, ad->dl_device, ad->alert.note, ad->conninfo, argc,
                              argv);
    }
    if (admin_cert_option_given(&ad->cert) != NULL) {
        return admin_usage_fail("%s: %s does not apply", cmd, admin_cert_option_given(&ad->cert));
    }
    if (admin_maintain_command_is(cmd)) {
        if (ad->rd_id != NULL || ad->rd_timeout != NULL || ad->rd_dry_run ||
            admin_alert_option_given(&ad->alert) != NULL) {
            return admin_usage_fail("maintain: takes only --at TIME");
        }
        return admin_maintain_run(&ad->reg, ad->conninfo, argc, argv);
    }
    extra = admin_registry_option_given(&ad->reg, strcmp(cmd, "device-add") == 0
                                                      ? ADMIN_REGISTRY_OPT_FROM
                                                      : ADMIN_REGISTRY_OPT_END);
    if (extra != NULL) {
        return admin_usage_fail("%s: %s does not apply", cmd, extra);
    }
    if (strcmp(cmd, "redrive") != 0 &&
        (ad->rd_id != NULL || ad->rd_timeout != NULL || ad->rd_dry_run)) {
        return admin_usage_fail("%s: %s does not apply", cmd,
                          ad->rd_id != NULL        ? "--id"
                          : ad->rd_timeout != NULL ? "--timeout"
                                                   : "--dry-run");
    }
    if (strcmp(cmd, "enrol-phone") == 0) {
        return enrol_phone(ad, argc, a);
    }
    if (ad->enrol_url != NULL || ad->n_enrol_officers > 0) {
        return admin_usage_fail("%s: %s does not apply", cmd,
                                ad->enrol_url != NULL ? "--url" : "--officer");
    }
    if (admin_alert_command_is(cmd)) {
        return admin_alert_run(&ad->alert, ad->kind, ad->conninfo, argc, argv);
    }
    if (admin_alert_option_given(&ad->alert) != NULL) {
        return admin_usage_fail("%s: %s does not apply", cmd, admin_alert_option_given(&ad->alert));
    }
    if (strcmp(cmd, "redrive") == 0) {
        if (argc != 1) {
            return admin_usage_fail("redrive: takes no arguments, only options (got '%s')", a);
        }
        return redrive(ad);
    }
    if (strcmp(cmd, "list") == 0 || strcmp(cmd, "dead-list") == 0) {
        want = 1;
    } else if (strcmp(cmd, "user-role") == 0) {
        want = 3;
    }
    if (argc != want) {
        return admin_usage_fail("%s: wrong number of arguments", cmd);
    }
    if (strcmp(cmd, "list") == 0) {
        return list(ad);
    }
    if (strcmp(cmd, "dead-list") == 0) {
        return dead_list(ad);
    }
    if (strcmp(cmd, "dead-show") == 0) {
        return dead_show(ad, a);
    }
    if (strcmp(cmd, "key-new") == 0) {
        if (secret_key_create(a, err, sizeof(err)) != MSG_OK) {
            fprintf(stderr, "pantau-admin: %s\n", err);
            return 1;
        }
        fprintf(stderr, "pantau-admin: server key written to %s (mode 0600)\n", a);
        return 0;
    }
    if (strcmp(cmd, "device-add") == 0) {
        return device_add(ad, a);
    }
    if (strcmp(cmd, "device-rotate") == 0) {
        return device_rotate(ad, a);
    }
    if (strcmp(cmd, "device-remove") == 0) {
        return device_remove(ad, a);
    }
    if (strcmp(cmd, "device-disable") == 0 || strcmp(cmd, "device-enable") == 0) {
        return simple_update(ad, cmd,
                             strcmp(cmd, "device-disable") == 0
                                 ? "UPDATE pantau.device SET enabled = false WHERE device_id = $1"
                                 : "UPDATE pantau.device SET enabled = true WHERE device_id = $1",
                             a, NULL,
                             strcmp(cmd, "device-disable") == 0 ? "disabled" : "enabled");
    }
    if (strcmp(cmd, "user-add") == 0) {
        return user_add(ad, a);
    }
    if (strcmp(cmd, "user-password") == 0) {
        return user_password(ad, a);
    }
    if (strcmp(cmd, "user-role") == 0) {
        return user_role(ad, a, b);
    }
    if (strcmp(cmd, "user-disable") == 0 || strcmp(cmd, "user-enable") == 0) {
        return simple_update(ad, cmd,
                             strcmp(cmd, "user-disable") == 0
                                 ? "UPDATE pantau_ops.account SET enabled = false "
                                   "WHERE username = $1"
                                 : "UPDATE pantau_ops.account SET enabled = true "
                                   "WHERE username = $1",
                             a, NULL,
                             strcmp(cmd, "user-disable") == 0 ? "disabled" : "enabled");
    }
    if (strcmp(cmd, "user-remove") == 0) {
        return simple_update(ad, cmd,
                             "DELETE FROM pantau_ops.account WHERE username = $1 "
                             "AND role <> 'device'",
                             a, NULL, "removed");
    }
    return admin_usage_fail("unknown command '%s'", cmd);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'd'},
        {"key-file", required_argument, NULL, 'k'},
        {"kind", required_argument, NULL, 'K'},
        {"station", required_argument, NULL, 'S'},
        {"description", required_argument, NULL, 'D'},
        {"role", required_argument, NULL, 'R'},
        {"unit", required_argument, NULL, OPT_UNIT},
        {"password-file", required_argument, NULL, 'P'},
        {"iterations", required_argument, NULL, 'I'},
        {"device", required_argument, NULL, OPT_DEVICE},
        {"category", required_argument, NULL, OPT_CATEGORY},
        {"reason", required_argument, NULL, OPT_REASON},
        {"since", required_argument, NULL, OPT_SINCE},
        {"until", required_argument, NULL, OPT_UNTIL},
        {"limit", required_argument, NULL, OPT_LIMIT},
        {"id", required_argument, NULL, OPT_ID},
        {"dry-run", no_argument, NULL, OPT_DRY_RUN},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"url", required_argument, NULL, OPT_URL},
        {"officer", required_argument, NULL, OPT_OFFICER},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        ADMIN_REGISTRY_LONGOPTS,
        ADMIN_ALERT_LONGOPTS,
        ADMIN_CERT_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    struct admin ad;
    char *end = NULL;
    unsigned long it;
    int c;
    int rc;

    memset(&ad, 0, sizeof(ad));
    ad.iterations = SECRET_PBKDF2_DEFAULT_ITER;
    for (;;) {
        c = getopt_long(argc, argv, "d:k:hV", longopts, NULL);
        if (c == -1) {
            break;
        }
        switch (c) {
        case 'd':
            ad.conninfo = optarg;
            break;
        case 'k':
            ad.key_file = optarg;
            break;
        case 'K':
            ad.kind = optarg;
            break;
        case 'S':
            if (ad.n_stations == MAX_STATIONS) {
                return admin_usage_fail("at most %s --station options", "64");
            }
            ad.stations[ad.n_stations++] = optarg;
            break;
        case 'D':
            ad.description = optarg;
            break;
        case 'R':
            ad.role = optarg;
            break;
        case OPT_UNIT:
            ad.unit = optarg;
            break;
        case 'P':
            ad.password_file = optarg;
            break;
        case 'I':
            errno = 0;
            it = strtoul(optarg, &end, 10);
            if (errno != 0 || *end != '\0' || it < SECRET_PBKDF2_MIN_ITER || it > 10000000) {
                return admin_usage_fail("--iterations: '%s' is not a number from 100000 to 10000000",
                                  optarg);
            }
            ad.iterations = (unsigned)it;
            break;
        case OPT_DEVICE:
            ad.dl_device = optarg;
            break;
        case OPT_CATEGORY:
            ad.dl_category = optarg;
            break;
        case OPT_REASON:
            ad.dl_reason = optarg;
            break;
        case OPT_SINCE:
            ad.dl_since = optarg;
            break;
        case OPT_UNTIL:
            ad.dl_until = optarg;
            break;
        case OPT_LIMIT:
            ad.dl_limit = optarg;
            break;
        case OPT_ID:
            ad.rd_id = optarg;
            break;
        case OPT_DRY_RUN:
            ad.rd_dry_run = true;
            break;
        case OPT_TIMEOUT:
            ad.rd_timeout = optarg;
            break;
        case OPT_URL:
            ad.enrol_url = optarg;
            break;
        case OPT_OFFICER:
            if (ad.n_enrol_officers == ADMIN_ENROL_OFFICERS_MAX) {
                return admin_usage_fail("at most %d --officer options", ADMIN_ENROL_OFFICERS_MAX);
            }
            ad.enrol_officers[ad.n_enrol_officers++] = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("pantau-admin %s\n", PANTAU_VERSION);
            return 0;
        default:
            if (admin_alert_option_is(c)) {
                admin_alert_option_set(&ad.alert, c, optarg);
                break;
            }
            if (admin_cert_option_is(c)) {
                admin_cert_option_set(&ad.cert, c, optarg);
                break;
            }
            if (admin_registry_option_is(c)) {
                if (admin_registry_option_set(&ad.reg, c, optarg) != 0) {
                    return 2;
                }
                break;
            }
            fprintf(stderr, "Try 'pantau-admin --help'.\n");
            return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    rc = dispatch(&ad, argc - optind, argv + optind);
    PQfinish(ad.conn);
    return rc;
}
