/* admin.c -- pantau-admin: the broker's accounts in PostgreSQL (pantau_ops.account, pantau.device,
 * pantau.device_station): add, disable, enable and remove devices and people, set a role,
 * rotate a device's secret, list. Run it with an administrator's role (pantau_admin).
 * Stations, mounts, thresholds and bindings over time: admin_registry.c.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "admin_registry.h"
#include "msg_err.h"
#include "msg_topic.h"
#include "secret.h"

#ifndef PANTAU_VERSION
#define PANTAU_VERSION "0"
#endif

#define MAX_STATIONS 64
#define PASSWORD_MIN 8

struct admin {
    const char *conninfo;
    const char *key_file;
    const char *password_file;
    const char *kind;
    const char *role;
    const char *description;
    const char *stations[MAX_STATIONS];
    int n_stations;
    unsigned iterations;
    struct admin_registry_opts reg;   /* --from, --at, --name, ... (admin_registry.h) */
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
            ADMIN_REGISTRY_USAGE_COMMANDS
            "  user-add NAME --role ROLE    add a person or program: collector, dashboard,\n"
            "                               admin or officer; the password is asked for\n"
            "  user-password NAME           set a new password\n"
            "  user-role NAME ROLE          set the role\n"
            "  user-disable NAME, user-enable NAME, user-remove NAME\n"
            "  list                         accounts, without secrets or hashes\n"
            "\n"
            "Options:\n"
            "  -d, --db CONNINFO            libpq connection string (default: PG* environment)\n"
            "  -k, --key-file FILE          the broker's server key (device-add, device-rotate)\n"
            "      --kind KIND              flood_gateway, traffic_gateway or handheld\n"
            "                               (station-add: flood_gauge or traffic_camera)\n"
            "      --station STATION        a station the new device reports for (repeatable)\n"
            "      --description TEXT       free text for operators\n"
            "      --role ROLE              the role of a new user\n"
            "      --password-file FILE     read the password from FILE's first line ('-': stdin)\n"
            "      --iterations N           PBKDF2-SHA512 iterations (default %d, at least %d)\n"
            ADMIN_REGISTRY_USAGE_OPTIONS
            "  -h, --help                   show this help and exit\n"
            "  -V, --version                show the version and exit\n"
            "\n"
            "Exit status: 0 done, 1 the database or a file failed, 2 bad usage.\n",
            SECRET_PBKDF2_DEFAULT_ITER, SECRET_PBKDF2_MIN_ITER);
}

static int fail_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail_usage(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "pantau-admin: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'pantau-admin --help'.\n");
    return 2;
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
        return fail_usage("'%s' is not a device id (protocol.md section 2)", id);
    }
    if (ad->kind == NULL || msg_device_kind_from_name(ad->kind, strlen(ad->kind), &kind) != 0) {
        return fail_usage("device-add needs --kind flood_gateway, traffic_gateway or handheld%s",
                          "");
    }
    for (i = 0; i < ad->n_stations; i++) {
        if (!id_ok(ad->stations[i])) {
            return fail_usage("'%s' is not a station id", ad->stations[i]);
        }
    }
    rc = admin_registry_time_opt(&ad->reg, ADMIN_REGISTRY_OPT_FROM, "device-add", &from);
    if (rc != 0) {
        return rc;
    }
    if (from.given && ad->n_stations == 0) {
        return fail_usage("device-add: --from is when its --station bindings start, and none "
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
    if (tx(ad, "COMMIT") != 0) {
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
        return fail_usage("'%s' is not a device id", id);
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
    static const char *const roles[] = {"collector", "dashboard", "admin", "officer"};
    size_t i;

    for (i = 0; role != NULL && i < sizeof(roles) / sizeof(roles[0]); i++) {
        if (strcmp(role, roles[i]) == 0) {
            return true;
        }
    }
    return false;
}

static int user_add(struct admin *ad, const char *name)
{
    char hash[SECRET_HASH_MAX + 1];
    const char *p[3];
    int rc;

    if (!id_ok(name)) {
        return fail_usage("'%s' is not a username (protocol.md section 2 id form)", name);
    }
    if (!person_role(ad->role)) {
        return fail_usage("user-add needs --role collector, dashboard, admin or officer%s", "");
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
    rc = exec_ok(ad, "adding the user",
                 "INSERT INTO pantau_ops.account (username, role, secret_kind, secret_hash) "
                 "VALUES ($1, $2, 'password', $3)",
                 3, p, NULL);
    if (rc == 0) {
        fprintf(stderr, "pantau-admin: user %s added (%s)\n", name, ad->role);
    }
out:
    secret_wipe(hash, sizeof(hash));
    return rc;
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
              "SELECT a.username, a.role, coalesce(a.device_id, '-'), coalesce(d.kind, '-'),"
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
    printf("%-24s %-10s %-24s %-16s %-7s %-10s %s\n", "USERNAME", "ROLE", "DEVICE", "KIND",
           "ENABLED", "SECRET", "STATIONS");
    for (i = 0; i < PQntuples(res); i++) {
        printf("%-24s %-10s %-24s %-16s %-7s %-10s %s\n", PQgetvalue(res, i, 0),
               PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
               PQgetvalue(res, i, 4), PQgetvalue(res, i, 5), PQgetvalue(res, i, 6));
    }
    PQclear(res);
    return 0;
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
    extra = admin_registry_option_given(&ad->reg, strcmp(cmd, "device-add") == 0
                                                      ? ADMIN_REGISTRY_OPT_FROM
                                                      : ADMIN_REGISTRY_OPT_END);
    if (extra != NULL) {
        return fail_usage("%s: %s does not apply", cmd, extra);
    }
    if (strcmp(cmd, "list") == 0) {
        want = 1;
    } else if (strcmp(cmd, "user-role") == 0) {
        want = 3;
    }
    if (argc != want) {
        return fail_usage("%s: wrong number of arguments", cmd);
    }
    if (strcmp(cmd, "list") == 0) {
        return list(ad);
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
        if (!person_role(b)) {
            return fail_usage("'%s' is not a role: collector, dashboard, admin or officer", b);
        }
        return simple_update(ad, cmd,
                             "UPDATE pantau_ops.account SET role = $2 WHERE username = $1 "
                             "AND role <> 'device'",
                             a, b, "has a new role");
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
    return fail_usage("unknown command '%s'", cmd);
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
        {"password-file", required_argument, NULL, 'P'},
        {"iterations", required_argument, NULL, 'I'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        ADMIN_REGISTRY_LONGOPTS,
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
                return fail_usage("at most %s --station options", "64");
            }
            ad.stations[ad.n_stations++] = optarg;
            break;
        case 'D':
            ad.description = optarg;
            break;
        case 'R':
            ad.role = optarg;
            break;
        case 'P':
            ad.password_file = optarg;
            break;
        case 'I':
            errno = 0;
            it = strtoul(optarg, &end, 10);
            if (errno != 0 || *end != '\0' || it < SECRET_PBKDF2_MIN_ITER || it > 10000000) {
                return fail_usage("--iterations: '%s' is not a number from 100000 to 10000000",
                                  optarg);
            }
            ad.iterations = (unsigned)it;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("pantau-admin %s\n", PANTAU_VERSION);
            return 0;
        default:
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
