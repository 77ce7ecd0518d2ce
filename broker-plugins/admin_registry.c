/* admin_registry.c -- pantau-admin's registry commands: stations, gauge mounts, thresholds and
 * bindings with the time they take effect, never deleting history (admin_registry.h).
 *
 * A command runs in three steps: the arguments are checked here (exit 2, naming the bad one),
 * then one transaction does the work, then it says what changed. Versioned rows follow one
 * rule: a change from time T ends the version in force at T there and opens the new one from T
 * to the start of the next version (or for ever); the station's row is locked first, so two
 * operators changing one station queue up instead of failing on the EXCLUDE constraints. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_common.h"
#include "admin_registry.h"
#include "msg_err.h"
#include "msg_topic.h"
#include "msg_utf8.h"
#include "msg_wilayah.h"

#define TEXT_MAX 200           /* code points of a station name or threshold source */
#define SHOWN_MAX 80           /* bytes of a bad argument quoted in a message */
#define NUM_LEN 32
#define TEXT_OID 25            /* every parameter is sent as text and cast in SQL */
#define MAX_PARAMS 9

/* A timestamptz as the protocol writes it; the session's time zone is UTC. */
#define TS_OUT(x) "to_char(" x ", 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
/* The time a command acts at: --from/--at (a text parameter), else the transaction's now(). */
#define AT(p) "coalesce(" p "::timestamptz, now())"

#define OPT_BIT(o) (1u << ((o) - ADMIN_REGISTRY_OPT_FROM))

static const char *const opt_names[ADMIN_REGISTRY_NOPTS] = {
    "--from", "--at",     "--name",   "--lat",      "--lon",    "--kelurahan", "--datum",
    "--capacity", "--siaga3", "--siaga2", "--siaga1", "--quantity", "--source", "--kind",
};

/* One command's checked arguments and its connection. */
struct reg_cmd {
    const char *name;                      /* the command, for messages */
    const struct admin_registry_opts *o;   /* borrowed from the caller */
    const char *id;                        /* device or station id (argv[1]) */
    const char *station;                   /* the station (argv[2] for device-*) */
    struct admin_registry_time at;         /* --from or --at */
    char offset[NUM_LEN];                  /* mount-set's OFFSET_CM, as a number's text */
    char siaga[3][NUM_LEN];                /* threshold-set: siaga3, siaga2, siaga1 */
    char lat[NUM_LEN];
    char lon[NUM_LEN];
    char capacity[NUM_LEN];
    const char *quantity;
    PGconn *conn;
};

struct command {
    const char *name;
    int nargs;                             /* arguments after the command's name */
    const char *synopsis;
    unsigned opts;                         /* OPT_BITs of the options it takes */
    int (*check)(struct reg_cmd *c, char **argv);
    int (*work)(struct reg_cmd *c);
};

/* ---- messages ---- */

/* s (borrowed) made safe to print: at most SHOWN_MAX bytes, control bytes as \xNN. */
static const char *shown(const char *s, char *buf, size_t len)
{
    size_t i;
    size_t n = 0;

    for (i = 0; s != NULL && s[i] != '\0' && n + 5 < len && i < SHOWN_MAX; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (ch < 0x20 || ch == 0x7f) {
            n += (size_t)snprintf(buf + n, len - n, "\\x%02x", ch);
        } else {
            buf[n++] = (char)ch;
        }
    }
    buf[n] = '\0';
    if (s != NULL && s[i] != '\0') {
        snprintf(buf + n, len - n, "...");
    }
    return buf;
}

/* Free text from the database (borrowed) on stdout, then a newline: control bytes as \xNN, so
 * that a name cannot move the cursor or fake a line of the listing. */
static void put_text_line(const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;

        if (ch < 0x20 || ch == 0x7f) {
            printf("\\x%02x", ch);
        } else {
            putchar(ch);
        }
    }
    putchar('\n');
}

/* "CMD: LABEL 'VALUE': why" with exit status 2. */
static int bad_arg(const struct reg_cmd *c, const char *label, const char *value, const char *why)
{
    char buf[SHOWN_MAX * 4 + 8];

    return admin_usage_fail("%s: %s '%s': %s", c->name, label, shown(value, buf, sizeof(buf)), why);
}

static const char *opt(const struct reg_cmd *c, enum admin_registry_opt which)
{
    return c->o->value[which - ADMIN_REGISTRY_OPT_FROM];
}

/* ---- checking arguments ---- */

static int id_arg(const struct reg_cmd *c, const char *label, const char *s)
{
    if (!msg_id_valid(s, strlen(s))) {
        return bad_arg(c, label, s, "not an id (1 to 64 of a-z 0-9 . _ -, protocol.md "
                                    "section 2)");
    }
    return 0;
}

/* A finite decimal number in lo..hi into out (as text for SQL). */
static int num_arg(const struct reg_cmd *c, const char *label, const char *s, double lo,
                   double hi, const char *unit, char out[NUM_LEN])
{
    char why[96];
    char *end = NULL;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (s[0] == '\0' || end == s || *end != '\0' || s[0] == ' ' || s[0] == '\t' ||
        strpbrk(s, "xXnNiI") != NULL) {
        return bad_arg(c, label, s, "not a number");
    }
    if (errno == ERANGE || !isfinite(v) || v < lo || v > hi) {
        snprintf(why, sizeof(why), "not in %g..%g%s%s", lo, hi, unit[0] ? " " : "", unit);
        return bad_arg(c, label, s, why);
    }
    snprintf(out, NUM_LEN, "%.17g", v);
    return 0;
}

/* Free text for operators: UTF-8 without control characters, at most TEXT_MAX code points. */
static int text_arg(const struct reg_cmd *c, const char *label, const char *s)
{
    char why[96];
    const char *problem = NULL;
    size_t ncp = 0;
    size_t off = 0;

    if (!msg_utf8_text(s, strlen(s), &ncp, &off, &problem)) {
        snprintf(why, sizeof(why), "not text (byte %zu: %s)", off + 1,
                 problem != NULL ? problem : "invalid");
        return bad_arg(c, label, s, why);
    }
    if (ncp > TEXT_MAX) {
        snprintf(why, sizeof(why), "longer than %d characters", TEXT_MAX);
        return bad_arg(c, label, s, why);
    }
    return 0;
}

static bool digits(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    return true;
}

/* RFC 3339: YYYY-MM-DD(T|t| )HH:MM:SS[.f{1,3}](Z|z|+HH:MM|-HH:MM), 1970 to 2099 in UTC. The
 * date and time are checked by msg_time_parse (the protocol's own parser), the offset here. */
static int time_parse(const char *s, struct admin_registry_time *out, char *why, size_t whylen)
{
    static const char form[] = "not an RFC 3339 time such as 2026-12-01T00:00:00Z or "
                               "2026-12-01T07:00:00+07:00";
    char wire[MSG_TIME_LEN + 1];
    char err[MSG_ERRLEN] = "";
    size_t len = strlen(s);
    size_t i = 19;
    size_t nfrac = 0;
    int64_t ms = 0;
    int64_t off_min = 0;

    if (len < 20 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
        !digits(s + 8, 2) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        !digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2) || s[16] != ':' ||
        !digits(s + 17, 2)) {
        snprintf(why, whylen, "%s", form);
        return 2;
    }
    memcpy(wire, s, 10);
    wire[10] = 'T';
    memcpy(wire + 11, s + 11, 8);
    memcpy(wire + 19, ".000Z", 6);
    if (s[i] == '.') {
        i++;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (nfrac == 3) {
                snprintf(why, whylen, "more than 3 decimals (pantau keeps milliseconds)");
                return 2;
            }
            wire[20 + nfrac] = s[i];
            nfrac++;
            i++;
        }
        if (nfrac == 0) {
            snprintf(why, whylen, "%s", form);
            return 2;
        }
    }
    if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == len) {
        off_min = 0;
    } else if ((s[i] == '+' || s[i] == '-') && i + 6 == len && digits(s + i + 1, 2) &&
               s[i + 3] == ':' && digits(s + i + 4, 2)) {
        int oh = (s[i + 1] - '0') * 10 + (s[i + 2] - '0');
        int om = (s[i + 4] - '0') * 10 + (s[i + 5] - '0');

        if (oh > 23 || om > 59) {
            snprintf(why, whylen, "offset %.6s out of range", s + i);
            return 2;
        }
        off_min = (s[i] == '-' ? -1 : 1) * (int64_t)(oh * 60 + om);
    } else {
        snprintf(why, whylen, "%s (it needs Z or an offset such as +07:00)", form);
        return 2;
    }
    if (msg_time_parse(wire, MSG_TIME_LEN, &ms, err, sizeof(err)) != MSG_OK) {
        snprintf(why, whylen, "%s", err);
        return 2;
    }
    ms -= off_min * 60000;
    if (ms < MSG_TIME_MIN_MS || ms > MSG_TIME_MAX_MS) {
        snprintf(why, whylen, "outside 1970..2099 in UTC");
        return 2;
    }
    msg_time_format(ms, out->text);
    out->given = true;
    return 0;
}

int admin_registry_time_opt(const struct admin_registry_opts *o, enum admin_registry_opt which,
                            const char *cmd, struct admin_registry_time *out)
{
    const char *s = o->value[which - ADMIN_REGISTRY_OPT_FROM];
    char why[160];
    char buf[SHOWN_MAX * 4 + 8];

    memset(out, 0, sizeof(*out));
    if (s == NULL) {
        return 0;
    }
    if (time_parse(s, out, why, sizeof(why)) != 0) {
        return admin_usage_fail("%s: %s '%s': %s", cmd, opt_names[which - ADMIN_REGISTRY_OPT_FROM],
                         shown(s, buf, sizeof(buf)), why);
    }
    return 0;
}

/* ---- the database ---- */

static const char *when(const struct reg_cmd *c)
{
    return c->at.given ? c->at.text : NULL;
}

static bool sqlstate_is(const PGresult *res, const char *code)
{
    const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);

    return st != NULL && strcmp(st, code) == 0;
}

/* Runs sql with n text parameters (NULL: SQL NULL). Returns the result (caller frees with
 * PQclear), or NULL after printing what failed; an overlap refused by an EXCLUDE constraint
 * (someone changed the same station at the same time) is said in words. */
static PGresult *q(struct reg_cmd *c, const char *what, const char *sql, int n,
                   const char *const *p)
{
    static const Oid types[MAX_PARAMS] = {TEXT_OID, TEXT_OID, TEXT_OID, TEXT_OID, TEXT_OID,
                                          TEXT_OID, TEXT_OID, TEXT_OID, TEXT_OID};
    PGresult *res = PQexecParams(c->conn, sql, n, types, p, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);

    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        return res;
    }
    if (sqlstate_is(res, "23P01")) {
        fprintf(stderr, "pantau-admin: %s: %s: station %s already has another version over "
                "part of the period from %s (changed by someone else at the same time?); see "
                "'pantau-admin history %s' and try again\n", c->name, what,
                c->station != NULL ? c->station : c->id,
                c->at.given ? c->at.text : "now", c->station != NULL ? c->station : c->id);
    } else {
        fprintf(stderr, "pantau-admin: %s: %s: %s", c->name, what, PQerrorMessage(c->conn));
    }
    PQclear(res);
    return NULL;
}

/* The station's kind ("flood_gauge", "traffic_camera") into kind, locking its row until the
 * end of the transaction. Returns 0, or 1 after printing that it does not exist. */
static int station_lock(struct reg_cmd *c, const char *station, char *kind, size_t kindlen)
{
    const char *p[1] = {station};
    PGresult *res = q(c, "reading the station",
                      "SELECT kind FROM pantau.station WHERE station_id = $1 FOR NO KEY UPDATE",
                      1, p);
    int rc = 1;

    if (res == NULL) {
        return 1;
    }
    if (PQntuples(res) != 1) {
        fprintf(stderr, "pantau-admin: %s: no station %s (station-add makes it)\n", c->name,
                station);
        goto out;
    }
    snprintf(kind, kindlen, "%s", PQgetvalue(res, 0, 0));
    rc = 0;
out:
    PQclear(res);
    return rc;
}

/* "from A on" or "from A until B" for a period whose upper bound is upper ("-": open). */
static void period_print(const char *lower, const char *upper)
{
    if (upper[0] == '-') {
        fprintf(stderr, "from %s on", lower);
    } else {
        fprintf(stderr, "from %s until %s", lower, upper);
    }
}

static int bind_in(struct reg_cmd *c, const char *device_id, const char *station_id)
{
    const char *p[3] = {device_id, station_id, when(c)};
    char skind[32] = "";
    const char *want = NULL;
    PGresult *res = NULL;
    int rc = 1;
    int i;

    if (station_lock(c, station_id, skind, sizeof(skind)) != 0) {
        return 1;
    }
    res = q(c, "reading the device", "SELECT kind FROM pantau.device WHERE device_id = $1", 1,
            p);
    if (res == NULL) {
        goto out;
    }
    if (PQntuples(res) != 1) {
        fprintf(stderr, "pantau-admin: %s: no device %s (device-add makes it)\n", c->name,
                device_id);
        goto out;
    }
    if (strcmp(PQgetvalue(res, 0, 0), "flood_gateway") == 0) {
        want = "flood_gauge";
    } else if (strcmp(PQgetvalue(res, 0, 0), "traffic_gateway") == 0) {
        want = "traffic_camera";
    }
    if (want == NULL || strcmp(want, skind) != 0) {
        fprintf(stderr, "pantau-admin: %s: %s is a %s and cannot speak for %s, a %s (a flood "
                "gateway reports for flood gauges, a traffic gateway for traffic cameras)\n",
                c->name, device_id, PQgetvalue(res, 0, 0), station_id, skind);
        goto out;
    }
    PQclear(res);
    /* only the periods from then on that no binding covers yet: the rows already there stay
     * as they are (ranges are [from, to), so adjacent rows do not overlap) */
    res = q(c, "binding the station",
            "INSERT INTO pantau.device_station (device_id, station_id, valid) "
            "SELECT $1, $2, g FROM unnest(tstzmultirange(tstzrange(" AT("$3") ", NULL)) - "
            "coalesce((SELECT range_agg(valid) FROM pantau.device_station "
            "WHERE device_id = $1 AND station_id = $2), '{}'::tstzmultirange)) AS g "
            "RETURNING " TS_OUT("lower(valid)") ", coalesce(" TS_OUT("upper(valid)") ", '-')",
            3, p);
    if (res == NULL) {
        goto out;
    }
    if (PQntuples(res) == 0) {
        fprintf(stderr, "pantau-admin: %s: %s speaks for %s from %s on already: nothing "
                "changed\n", c->name, device_id, station_id, c->at.given ? c->at.text : "now");
    }
    for (i = 0; i < PQntuples(res); i++) {
        fprintf(stderr, "pantau-admin: %s: %s speaks for %s ", c->name, device_id, station_id);
        period_print(PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
        fprintf(stderr, "\n");
    }
    rc = 0;
out:
    PQclear(res);
    return rc;
}

int admin_registry_bind(PGconn *conn, const char *cmd, const char *device_id,
                        const char *station_id, const struct admin_registry_time *from)
{
    struct reg_cmd c;

    memset(&c, 0, sizeof(c));
    c.name = cmd;
    c.conn = conn;
    c.id = device_id;
    c.station = station_id;
    if (from != NULL) {
        c.at = *from;
    }
    return bind_in(&c, device_id, station_id);
}

int admin_registry_bindings_end_now(PGconn *conn, const char *device_id, long *ended)
{
    struct reg_cmd c;
    const char *p[1] = {device_id};
    PGresult *res;

    memset(&c, 0, sizeof(c));
    c.name = "device-remove";
    c.conn = conn;
    c.id = device_id;
    res = q(&c, "ending its bindings",
            "UPDATE pantau.device_station SET valid = tstzrange(lower(valid), now()) "
            "WHERE device_id = $1 AND valid @> now() "
            "AND (lower_inf(valid) OR lower(valid) < now())",
            1, p);
    if (res == NULL) {
        return 1;
    }
    if (ended != NULL) {
        *ended = strtol(PQcmdTuples(res)[0] != '\0' ? PQcmdTuples(res) : "0", NULL, 10);
    }
    PQclear(res);
    return 0;
}

/* ---- commands: checks ---- */

static int check_station_opts(struct reg_cmd *c, const char *kind)
{
    const char *name = opt(c, ADMIN_REGISTRY_OPT_NAME);
    const char *lat = opt(c, ADMIN_REGISTRY_OPT_LAT);
    const char *lon = opt(c, ADMIN_REGISTRY_OPT_LON);
    const char *kel = opt(c, ADMIN_REGISTRY_OPT_KELURAHAN);
    const char *datum = opt(c, ADMIN_REGISTRY_OPT_DATUM);
    const char *cap = opt(c, ADMIN_REGISTRY_OPT_CAPACITY);
    int rc = 0;

    if (name != NULL) {
        rc = text_arg(c, "--name", name);
    }
    if (rc == 0 && lat != NULL) {
        rc = num_arg(c, "--lat", lat, -11, 6, "degrees (Indonesia)", c->lat);
    }
    if (rc == 0 && lon != NULL) {
        rc = num_arg(c, "--lon", lon, 95, 141, "degrees (Indonesia)", c->lon);
    }
    if (rc == 0 && kel != NULL && !msg_kelurahan_valid(kel, strlen(kel))) {
        rc = bad_arg(c, "--kelurahan", kel, "not a kelurahan code of Kota Bekasi "
                                            "(e.g. 32.75.01.1002)");
    }
    if (rc == 0 && datum != NULL && strcmp(datum, "gauge_zero") != 0 &&
        strcmp(datum, "mdpl") != 0) {
        rc = bad_arg(c, "--datum", datum, "not gauge_zero or mdpl");
    }
    if (rc == 0 && datum != NULL && kind != NULL && strcmp(kind, "flood_gauge") != 0) {
        rc = bad_arg(c, "--datum", datum, "only a flood_gauge has a datum");
    }
    if (rc == 0 && cap != NULL) {
        rc = num_arg(c, "--capacity", cap, 1, 1000000, "PCU/h", c->capacity);
    }
    if (rc == 0 && cap != NULL && kind != NULL && strcmp(kind, "traffic_camera") != 0) {
        rc = bad_arg(c, "--capacity", cap, "only a traffic_camera has a road capacity");
    }
    return rc;
}

static int check_station_add(struct reg_cmd *c, char **argv)
{
    const char *kind = opt(c, ADMIN_REGISTRY_OPT_KIND);
    int rc;

    c->id = argv[1];
    rc = id_arg(c, "ID", c->id);
    if (rc != 0) {
        return rc;
    }
    if (kind == NULL) {
        return admin_usage_fail("%s: --kind flood_gauge or traffic_camera is needed", c->name);
    }
    if (strcmp(kind, "flood_gauge") != 0 && strcmp(kind, "traffic_camera") != 0) {
        return bad_arg(c, "--kind", kind, "not flood_gauge or traffic_camera");
    }
    return check_station_opts(c, kind);
}

static int check_station_update(struct reg_cmd *c, char **argv)
{
    int i;
    int rc;

    c->id = argv[1];
    rc = id_arg(c, "ID", c->id);
    if (rc != 0) {
        return rc;
    }
    for (i = 0; i < ADMIN_REGISTRY_NOPTS; i++) {
        if (c->o->value[i] != NULL) {
            return check_station_opts(c, NULL);
        }
    }
    return admin_usage_fail("%s: nothing to change (give --name, --lat, --lon, --kelurahan, --datum "
                     "or --capacity)", c->name);
}

static int check_none(struct reg_cmd *c, char **argv)
{
    (void)c;
    (void)argv;
    return 0;
}

static int check_station(struct reg_cmd *c, char **argv)
{
    c->id = argv[1];
    c->station = argv[1];
    return id_arg(c, "STATION", c->id);
}

static int check_binding(struct reg_cmd *c, char **argv)
{
    int rc;

    c->id = argv[1];
    c->station = argv[2];
    rc = id_arg(c, "ID", c->id);
    if (rc == 0) {
        rc = id_arg(c, "STATION", c->station);
    }
    if (rc == 0) {
        rc = admin_registry_time_opt(c->o, strcmp(c->name, "device-bind") == 0
                                               ? ADMIN_REGISTRY_OPT_FROM
                                               : ADMIN_REGISTRY_OPT_AT,
                                     c->name, &c->at);
    }
    return rc;
}

static int check_mount(struct reg_cmd *c, char **argv)
{
    int rc = check_station(c, argv);

    if (rc == 0) {
        rc = num_arg(c, "OFFSET_CM", argv[2], -10000, 100000, "cm", c->offset);
    }
    if (rc == 0) {
        rc = admin_registry_time_opt(c->o, ADMIN_REGISTRY_OPT_FROM, c->name, &c->at);
    }
    return rc;
}

static int check_threshold(struct reg_cmd *c, char **argv)
{
    static const enum admin_registry_opt which[3] = {
        ADMIN_REGISTRY_OPT_SIAGA3, ADMIN_REGISTRY_OPT_SIAGA2, ADMIN_REGISTRY_OPT_SIAGA1};
    static const char *const label[3] = {"--siaga3", "--siaga2", "--siaga1"};
    double v[3];
    char why[96];
    int rc = check_station(c, argv);
    int i;

    for (i = 0; rc == 0 && i < 3; i++) {
        if (opt(c, which[i]) == NULL) {
            return admin_usage_fail("%s: %s is needed (--siaga3, --siaga2 and --siaga1 together)",
                             c->name, label[i]);
        }
        rc = num_arg(c, label[i], opt(c, which[i]), -10000, 100000, "", c->siaga[i]);
        v[i] = rc == 0 ? strtod(c->siaga[i], NULL) : 0;
    }
    for (i = 1; rc == 0 && i < 3; i++) {
        if (!(v[i - 1] < v[i])) {
            snprintf(why, sizeof(why), "not above %s %s (Siaga 1 is the highest level)",
                     label[i - 1], opt(c, which[i - 1]));
            return bad_arg(c, label[i], opt(c, which[i]), why);
        }
    }
    c->quantity = opt(c, ADMIN_REGISTRY_OPT_QUANTITY) != NULL ? opt(c, ADMIN_REGISTRY_OPT_QUANTITY)
                                                            : "level_cm";
    if (rc == 0 && strcmp(c->quantity, "level_cm") != 0 &&
        strcmp(c->quantity, "discharge_m3s") != 0) {
        return bad_arg(c, "--quantity", c->quantity, "not level_cm or discharge_m3s");
    }
    if (rc == 0 && opt(c, ADMIN_REGISTRY_OPT_SOURCE) != NULL) {
        rc = text_arg(c, "--source", opt(c, ADMIN_REGISTRY_OPT_SOURCE));
    }
    if (rc == 0) {
        rc = admin_registry_time_opt(c->o, ADMIN_REGISTRY_OPT_FROM, c->name, &c->at);
    }
    return rc;
}

/* ---- commands: work ---- */

static const char *nonempty(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

static int do_station_add(struct reg_cmd *c)
{
    const char *p[8] = {c->id,
                        opt(c, ADMIN_REGISTRY_OPT_KIND),
                        opt(c, ADMIN_REGISTRY_OPT_NAME),
                        nonempty(c->lat),
                        nonempty(c->lon),
                        opt(c, ADMIN_REGISTRY_OPT_KELURAHAN),
                        opt(c, ADMIN_REGISTRY_OPT_DATUM),
                        nonempty(c->capacity)};
    PGresult *res;
    long rows;

    res = q(c, "adding the station",
            "INSERT INTO pantau.station (station_id, kind, name, lat, lon, kelurahan_code, "
            "datum, capacity_pcu_h) VALUES ($1, $2, coalesce($3, ''), $4::float8, $5::float8, "
            "$6, $7, $8::float8) ON CONFLICT (station_id) DO NOTHING",
            8, p);
    if (res == NULL) {
        return 1;
    }
    rows = strtol(PQcmdTuples(res)[0] != '\0' ? PQcmdTuples(res) : "0", NULL, 10);
    PQclear(res);
    if (rows != 1) {
        fprintf(stderr, "pantau-admin: %s: station %s exists already (station-update changes "
                "its details)\n", c->name, c->id);
        return 1;
    }
    fprintf(stderr, "pantau-admin: station %s added (%s)\n", c->id, p[1]);
    return 0;
}

static int do_station_update(struct reg_cmd *c)
{
    const char *p[7] = {c->id,
                        opt(c, ADMIN_REGISTRY_OPT_NAME),
                        nonempty(c->lat),
                        nonempty(c->lon),
                        opt(c, ADMIN_REGISTRY_OPT_KELURAHAN),
                        opt(c, ADMIN_REGISTRY_OPT_DATUM),
                        nonempty(c->capacity)};
    char kind[32] = "";
    PGresult *res;
    int rc;

    if (station_lock(c, c->id, kind, sizeof(kind)) != 0) {
        return 1;
    }
    rc = check_station_opts(c, kind);        /* --datum and --capacity against its kind */
    if (rc != 0) {
        return rc;
    }
    res = q(c, "changing the station",
            "UPDATE pantau.station SET name = coalesce($2, name), "
            "lat = coalesce($3::float8, lat), lon = coalesce($4::float8, lon), "
            "kelurahan_code = coalesce($5, kelurahan_code), datum = coalesce($6, datum), "
            "capacity_pcu_h = coalesce($7::float8, capacity_pcu_h) WHERE station_id = $1",
            7, p);
    if (res == NULL) {
        return 1;
    }
    PQclear(res);
    fprintf(stderr, "pantau-admin: station %s changed\n", c->id);
    return 0;
}

static int do_station_list(struct reg_cmd *c)
{
    PGresult *res;
    int i;

    res = q(c, "listing stations",
            "SELECT s.station_id, s.kind, coalesce(s.lat::text, '-'), coalesce(s.lon::text, '-'),"
            " coalesce(s.kelurahan_code, '-'),"
            " coalesce(s.datum, s.capacity_pcu_h::text || ' PCU/h', '-'),"
            " coalesce((SELECT string_agg(ds.device_id, ',' ORDER BY ds.device_id)"
            "  FROM pantau.device_station ds WHERE ds.station_id = s.station_id"
            "  AND ds.valid @> now()), '-'),"
            " coalesce((SELECT m.offset_cm::text FROM pantau.gauge_mount m"
            "  WHERE m.station_id = s.station_id AND m.valid @> now()), '-'),"
            " s.name FROM pantau.station s ORDER BY s.station_id",
            0, NULL);
    if (res == NULL) {
        return 1;
    }
    printf("%-24s %-14s %-10s %-10s %-13s %-16s %-24s %-9s %s\n", "STATION", "KIND", "LAT", "LON",
           "KELURAHAN", "DATUM/CAPACITY", "DEVICES", "OFFSET_CM", "NAME");
    for (i = 0; i < PQntuples(res); i++) {
        printf("%-24s %-14s %-10s %-10s %-13s %-16s %-24s %-9s ", PQgetvalue(res, i, 0),
               PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
               PQgetvalue(res, i, 4), PQgetvalue(res, i, 5), PQgetvalue(res, i, 6),
               PQgetvalue(res, i, 7));
        put_text_line(PQgetvalue(res, i, 8));
    }
    PQclear(res);
    return 0;
}

static int do_history(struct reg_cmd *c)
{
    const char *p[1] = {c->id};
    PGresult *res;
    int i;

    res = q(c, "reading the station",
            "SELECT kind, coalesce(lat::text, '-'), coalesce(lon::text, '-'),"
            " coalesce(kelurahan_code, '-'), coalesce(datum, capacity_pcu_h::text || ' PCU/h',"
            " '-'), quote_literal(name) FROM pantau.station WHERE station_id = $1",
            1, p);
    if (res == NULL) {
        return 1;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        fprintf(stderr, "pantau-admin: %s: no station %s\n", c->name, c->id);
        return 1;
    }
    printf("station %s: %s, lat %s, lon %s, kelurahan %s, datum/capacity %s, name ", c->id,
           PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
           PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 4));
    put_text_line(PQgetvalue(res, 0, 5));
    PQclear(res);
    res = q(c, "reading the history",
            "SELECT what, coalesce(" TS_OUT("lower(valid)") ", '-'),"
            " coalesce(" TS_OUT("upper(valid)") ", '-'), detail FROM ("
            " SELECT 1 AS o, 'binding' AS what, valid, 'device ' || device_id AS detail"
            " FROM pantau.device_station WHERE station_id = $1"
            " UNION ALL SELECT 2, 'mount', valid, 'offset_cm ' || offset_cm"
            " FROM pantau.gauge_mount WHERE station_id = $1"
            " UNION ALL SELECT 3, 'threshold', valid, quantity || ' siaga3 ' || siaga3_from ||"
            " ' siaga2 ' || siaga2_from || ' siaga1 ' || siaga1_from ||"
            " CASE WHEN source <> '' THEN ' source ' || quote_literal(source) ELSE '' END"
            " FROM pantau.gauge_threshold WHERE station_id = $1) h"
            " ORDER BY o, lower(valid) NULLS FIRST, detail",
            1, p);
    if (res == NULL) {
        return 1;
    }
    printf("%-10s %-24s %-24s %s\n", "WHAT", "FROM", "TO", "DETAIL");
    for (i = 0; i < PQntuples(res); i++) {
        printf("%-10s %-24s %-24s ", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
               PQgetvalue(res, i, 2));
        put_text_line(PQgetvalue(res, i, 3));
    }
    PQclear(res);
    return 0;
}

static int do_bind(struct reg_cmd *c)
{
    return bind_in(c, c->id, c->station);
}

static int do_unbind(struct reg_cmd *c)
{
    const char *p[3] = {c->id, c->station, when(c)};
    const char *at = c->at.given ? c->at.text : "now";
    char kind[32] = "";
    PGresult *res = NULL;
    int rc = 1;

    if (station_lock(c, c->station, kind, sizeof(kind)) != 0) {
        return 1;
    }
    res = q(c, "reading the binding",
            "SELECT coalesce(" TS_OUT("lower(valid)") ", '-'), lower(valid) = " AT("$3")
            " FROM pantau.device_station"
            " WHERE device_id = $1 AND station_id = $2 AND valid @> " AT("$3"),
            3, p);
    if (res == NULL) {
        goto out;
    }
    if (PQntuples(res) != 1) {
        fprintf(stderr, "pantau-admin: %s: %s does not speak for %s at %s: nothing to end "
                "(see 'pantau-admin history %s')\n", c->name, c->id, c->station, at,
                c->station);
        goto out;
    }
    if (strcmp(PQgetvalue(res, 0, 1), "t") == 0) {
        fprintf(stderr, "pantau-admin: %s: the binding of %s to %s starts at %s: ending it "
                "there would erase it from the record; end it later\n", c->name, c->id,
                c->station, at);
        goto out;
    }
    PQclear(res);
    /* a later period (device-bind --from fills only what is not bound, so a binding can be
     * in pieces) cannot be ended at T without deleting it: say so instead of half-doing it */
    res = q(c, "reading the later bindings",
            "SELECT " TS_OUT("min(lower(valid))") " FROM pantau.device_station"
            " WHERE device_id = $1 AND station_id = $2 AND lower(valid) > " AT("$3"),
            3, p);
    if (res == NULL) {
        goto out;
    }
    if (!PQgetisnull(res, 0, 0)) {
        fprintf(stderr, "pantau-admin: %s: %s speaks for %s again from %s (a later period, "
                "kept in the record): ending at %s would leave it in force; end the binding at "
                "a time after that period's start\n", c->name, c->id, c->station,
                PQgetvalue(res, 0, 0), at);
        goto out;
    }
    PQclear(res);
    /* what was stored under this binding from then on is evidence that it was in force; a
     * reading counts at its best time (pantau.reading_best_time, as the broker and the
     * collector judge bindings: protocol.md 4.1), not at a 1970 ts of an unset clock */
    res = q(c, "reading the readings after that time",
            "SELECT count(*), " TS_OUT("max(r.ts)") " FROM pantau.device_station b,"
            " LATERAL (SELECT pantau.reading_best_time(l.ts, l.clock_synced, l.ts_corrected,"
            "   l.received_at) AS ts FROM pantau.reading_ledger l"
            "  JOIN (SELECT device_id, store_id, seq FROM pantau.flood_reading"
            "   WHERE station_id = $2 AND device_id = $1"
            "   UNION ALL SELECT device_id, store_id, seq FROM pantau.traffic_count"
            "   WHERE station_id = $2 AND device_id = $1"
            "   UNION ALL SELECT device_id, store_id, seq FROM pantau.incident_update"
            "   WHERE station_id = $2 AND device_id = $1) f USING (device_id, store_id, seq)) r"
            " WHERE b.device_id = $1 AND b.station_id = $2 AND b.valid @> " AT("$3")
            " AND r.ts >= " AT("$3") " AND r.ts <@ b.valid",
            3, p);
    if (res == NULL) {
        goto out;
    }
    if (strcmp(PQgetvalue(res, 0, 0), "0") != 0) {
        fprintf(stderr, "pantau-admin: %s: %s reading%s of %s for %s taken at or after %s "
                "(the last at %s) %s stored under this binding: end it after them\n",
                c->name, PQgetvalue(res, 0, 0),
                strcmp(PQgetvalue(res, 0, 0), "1") == 0 ? "" : "s", c->id, c->station, at,
                PQgetvalue(res, 0, 1), strcmp(PQgetvalue(res, 0, 0), "1") == 0 ? "is" : "are");
        goto out;
    }
    PQclear(res);
    res = q(c, "ending the binding",
            "UPDATE pantau.device_station SET valid = tstzrange(lower(valid), " AT("$3") ")"
            " WHERE device_id = $1 AND station_id = $2 AND valid @> " AT("$3")
            " RETURNING coalesce(" TS_OUT("lower(valid)") ", '-'), " TS_OUT("upper(valid)"),
            3, p);
    if (res == NULL) {
        goto out;
    }
    fprintf(stderr, "pantau-admin: %s: %s no longer speaks for %s from %s (bound since %s: "
            "that period stays in the record)\n", c->name, c->id, c->station,
            PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 0));
    rc = 0;
out:
    PQclear(res);
    return rc;
}

/* What differs between gauge_mount and gauge_threshold for set_version(). Parameters: $1
 * the station, $2 the time (NULL: now), then the values. */
struct versioned {
    const char *what;          /* "mount" */
    const char *table;         /* "pantau.gauge_mount" */
    const char *key;           /* rows of the same thing: "station_id = $1 [AND ...]" */
    const char *same;          /* true when a row holds the new values */
    const char *value;         /* the row's values as text, for messages */
    const char *columns;       /* insert: the value columns after station_id, valid */
    const char *values;        /* insert: their parameters */
};

/* snprintf into sql, or false if it did not fit (the statements are fixed text: a bug). */
static bool sql_fits(int written, size_t size)
{
    if (written < 0 || (size_t)written >= size) {
        fprintf(stderr, "pantau-admin: internal error: a statement is too long\n");
        return false;
    }
    return true;
}

static int set_version(struct reg_cmd *c, const struct versioned *v, int n,
                       const char *const *p)
{
    char sql[1024];
    char kind[32] = "";
    char old_from[MSG_TIME_LEN + 8] = "";
    char old_value[256] = "";
    PGresult *res = NULL;
    int rc = 1;

    if (station_lock(c, c->id, kind, sizeof(kind)) != 0) {
        return 1;
    }
    if (strcmp(kind, "flood_gauge") != 0) {
        fprintf(stderr, "pantau-admin: %s: %s is a %s: mounts and thresholds are for flood "
                "gauges\n", c->name, c->id, kind);
        return 1;
    }
    if (!sql_fits(snprintf(sql, sizeof(sql),
                           "SELECT coalesce(" TS_OUT("lower(valid)") ", '-'),"
                           " lower(valid) = " AT("$2") ", %s, %s FROM %s"
                           " WHERE %s AND valid @> " AT("$2"),
                           v->same, v->value, v->table, v->key),
                  sizeof(sql))) {
        goto out;
    }
    res = q(c, "reading the version in force", sql, n, p);
    if (res == NULL) {
        goto out;
    }
    if (PQntuples(res) == 1) {
        snprintf(old_from, sizeof(old_from), "%s", PQgetvalue(res, 0, 0));
        snprintf(old_value, sizeof(old_value), "%s", PQgetvalue(res, 0, 3));
        if (strcmp(PQgetvalue(res, 0, 2), "t") == 0) {
            fprintf(stderr, "pantau-admin: %s: %s has this %s (%s) from %s already: nothing "
                    "changed\n", c->name, c->id, v->what, old_value, old_from);
            rc = 0;
            goto out;
        }
        if (strcmp(PQgetvalue(res, 0, 1), "t") == 0) {
            fprintf(stderr, "pantau-admin: %s: %s has a %s from %s already (%s): a version in "
                    "the record is never overwritten; give the new one a later --from\n",
                    c->name, c->id, v->what, old_from, old_value);
            goto out;
        }
        PQclear(res);
        if (!sql_fits(snprintf(sql, sizeof(sql),
                               "UPDATE %s SET valid = tstzrange(lower(valid), " AT("$2") ")"
                               " WHERE %s AND valid @> " AT("$2"),
                               v->table, v->key),
                      sizeof(sql))) {
            goto out;
        }
        res = q(c, "ending the version in force", sql, n, p);
        if (res == NULL) {
            goto out;
        }
    }
    PQclear(res);
    res = NULL;
    if (!sql_fits(snprintf(sql, sizeof(sql),
                           "INSERT INTO %s (station_id, valid, %s) SELECT $1,"
                           " tstzrange(" AT("$2") ", (SELECT min(lower(valid)) FROM %s"
                           " WHERE %s AND lower(valid) > " AT("$2") ")), %s"
                           " RETURNING " TS_OUT("lower(valid)") ","
                           " coalesce(" TS_OUT("upper(valid)") ", '-'), %s",
                           v->table, v->columns, v->table, v->key, v->values, v->value),
                  sizeof(sql))) {
        goto out;
    }
    res = q(c, "adding the new version", sql, n, p);
    if (res == NULL) {
        goto out;
    }
    fprintf(stderr, "pantau-admin: %s: %s: %s ", c->name, c->id, PQgetvalue(res, 0, 2));
    period_print(PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
    if (old_from[0] != '\0') {
        fprintf(stderr, " (the %s in force then, %s from %s, ends at %s and stays in the "
                "record)", v->what, old_value, old_from, PQgetvalue(res, 0, 0));
    }
    fprintf(stderr, "\n");
    rc = 0;
out:
    PQclear(res);
    return rc;
}

static int do_mount(struct reg_cmd *c)
{
    static const struct versioned mount = {
        .what = "mount",
        .table = "pantau.gauge_mount",
        .key = "station_id = $1",
        .same = "offset_cm = $3::float8",
        .value = "'offset_cm ' || offset_cm",
        .columns = "offset_cm",
        .values = "$3::float8",
    };
    const char *p[3] = {c->id, when(c), c->offset};

    return set_version(c, &mount, 3, p);
}

static int do_threshold(struct reg_cmd *c)
{
    static const struct versioned threshold = {
        .what = "threshold",
        .table = "pantau.gauge_threshold",
        .key = "station_id = $1 AND quantity = $3",
        .same = "siaga3_from = $4::float8 AND siaga2_from = $5::float8 AND "
                "siaga1_from = $6::float8 AND source = coalesce($7, '')",
        .value = "quantity || ' siaga3 ' || siaga3_from || ' siaga2 ' || siaga2_from || "
                 "' siaga1 ' || siaga1_from",
        .columns = "quantity, siaga3_from, siaga2_from, siaga1_from, source",
        .values = "$3, $4::float8, $5::float8, $6::float8, coalesce($7, '')",
    };
    const char *p[7] = {c->id,         when(c),      c->quantity,
                        c->siaga[0],   c->siaga[1],  c->siaga[2],
                        opt(c, ADMIN_REGISTRY_OPT_SOURCE)};

    return set_version(c, &threshold, 7, p);
}

/* ---- the table of commands ---- */

#define STATION_OPTS                                                                         \
    (OPT_BIT(ADMIN_REGISTRY_OPT_NAME) | OPT_BIT(ADMIN_REGISTRY_OPT_LAT) |                    \
     OPT_BIT(ADMIN_REGISTRY_OPT_LON) | OPT_BIT(ADMIN_REGISTRY_OPT_KELURAHAN) |               \
     OPT_BIT(ADMIN_REGISTRY_OPT_DATUM) | OPT_BIT(ADMIN_REGISTRY_OPT_CAPACITY))

static const struct command commands[] = {
    {"station-add", 1, "ID --kind KIND [--name ..] [--lat ..] ...",
     STATION_OPTS | OPT_BIT(ADMIN_REGISTRY_OPT_KIND), check_station_add, do_station_add},
    {"station-update", 1, "ID [--name ..] [--lat ..] ...", STATION_OPTS,
     check_station_update, do_station_update},
    {"station-list", 0, "", 0, check_none, do_station_list},
    {"history", 1, "STATION", 0, check_station, do_history},
    {"station-show", 1, "STATION", 0, check_station, do_history},
    {"device-bind", 2, "ID STATION [--from TIME]", OPT_BIT(ADMIN_REGISTRY_OPT_FROM),
     check_binding, do_bind},
    {"device-unbind", 2, "ID STATION [--at TIME]", OPT_BIT(ADMIN_REGISTRY_OPT_AT),
     check_binding, do_unbind},
    {"mount-set", 2, "STATION OFFSET_CM [--from TIME]", OPT_BIT(ADMIN_REGISTRY_OPT_FROM),
     check_mount, do_mount},
    {"threshold-set", 1,
     "STATION --siaga3 A --siaga2 B --siaga1 C [--quantity Q] [--from TIME] [--source TEXT]",
     OPT_BIT(ADMIN_REGISTRY_OPT_FROM) | OPT_BIT(ADMIN_REGISTRY_OPT_SIAGA3) |
         OPT_BIT(ADMIN_REGISTRY_OPT_SIAGA2) | OPT_BIT(ADMIN_REGISTRY_OPT_SIAGA1) |
         OPT_BIT(ADMIN_REGISTRY_OPT_QUANTITY) | OPT_BIT(ADMIN_REGISTRY_OPT_SOURCE),
     check_threshold, do_threshold},
};

static const struct command *command_find(const char *name)
{
    size_t i;

    for (i = 0; name != NULL && i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(commands[i].name, name) == 0) {
            return &commands[i];
        }
    }
    return NULL;
}

bool admin_registry_command_is(const char *cmd)
{
    return command_find(cmd) != NULL;
}

bool admin_registry_option_is(int c)
{
    return c >= ADMIN_REGISTRY_OPT_FROM && c < ADMIN_REGISTRY_OPT_END;
}

int admin_registry_option_set(struct admin_registry_opts *o, int c, const char *arg)
{
    int i = c - ADMIN_REGISTRY_OPT_FROM;

    if (o->value[i] != NULL) {
        return admin_usage_fail("%s given twice", opt_names[i]);
    }
    o->value[i] = arg;
    return 0;
}

const char *admin_registry_option_given(const struct admin_registry_opts *o,
                                        enum admin_registry_opt except)
{
    int i;

    for (i = 0; i < ADMIN_REGISTRY_NOPTS; i++) {
        if (o->value[i] != NULL && i != (int)except - ADMIN_REGISTRY_OPT_FROM) {
            return opt_names[i];
        }
    }
    return NULL;
}

static PGresult *plain(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);

    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        fprintf(stderr, "pantau-admin: %s: %s", sql, PQerrorMessage(conn));
        PQclear(res);
        return NULL;
    }
    return res;
}

int admin_registry_run(const struct admin_registry_opts *o, const char *conninfo, int argc,
                       char **argv)
{
    const struct command *cmd = command_find(argv[0]);
    struct reg_cmd c;
    PGresult *res = NULL;
    int rc;
    int i;

    if (cmd == NULL) {
        return admin_usage_fail("unknown command '%s'", argv[0]);
    }
    memset(&c, 0, sizeof(c));
    c.name = cmd->name;
    c.o = o;
    if (argc - 1 != cmd->nargs) {
        return admin_usage_fail("%s: wrong number of arguments (%s %s)", cmd->name, cmd->name,
                         cmd->synopsis);
    }
    for (i = 0; i < ADMIN_REGISTRY_NOPTS; i++) {
        if (o->value[i] != NULL && (cmd->opts & (1u << i)) == 0) {
            return admin_usage_fail("%s: %s does not apply (%s %s)", cmd->name, opt_names[i],
                             cmd->name, cmd->synopsis);
        }
    }
    rc = cmd->check(&c, argv);
    if (rc != 0) {
        return rc;
    }
    rc = 1;
    c.conn = PQconnectdb(conninfo != NULL ? conninfo : "");
    if (c.conn == NULL || PQstatus(c.conn) != CONNECTION_OK) {
        fprintf(stderr, "pantau-admin: cannot connect to PostgreSQL: %s",
                c.conn != NULL ? PQerrorMessage(c.conn) : "out of memory\n");
        goto out;
    }
    /* times are read and shown in UTC, whatever the server or the role says */
    res = plain(c.conn, "SET TIME ZONE 'UTC'");
    if (res == NULL) {
        goto out;
    }
    PQclear(res);
    res = plain(c.conn, "BEGIN");
    if (res == NULL) {
        goto out;
    }
    PQclear(res);
    res = NULL;
    rc = cmd->work(&c);
    if (rc != 0) {
        goto out;                      /* PQfinish rolls the transaction back */
    }
    res = plain(c.conn, "COMMIT");
    rc = res != NULL ? 0 : 1;
out:
    PQclear(res);
    PQfinish(c.conn);
    return rc;
}
