/* admin_registry.h -- pantau-admin's commands for the registry and its history: stations,
 * gauge mounting offsets, Siaga thresholds, and which device may speak for which station,
 * each with the time it takes effect (schema/003_registry.sql).
 *
 * History is never deleted. A versioned row (binding, mount, threshold) is ended at a time and
 * a new one opened, in one transaction; a row that was once in force is never removed or given
 * another value, since it is the evidence of who measured what and against which offset.
 *
 *   station-add ID --kind flood_gauge|traffic_camera [--name ..] [--lat ..] [--lon ..]
 *                  [--kelurahan CODE] [--datum gauge_zero|mdpl] [--capacity PCU_H]
 *   station-update ID [the same options but --kind]     station-list
 *   device-bind ID STATION [--from TIME]                bound from TIME (default now) on
 *   device-unbind ID STATION [--at TIME]                the binding valid at TIME ends there
 *   mount-set STATION OFFSET_CM [--from TIME]           a new offset from TIME on
 *   threshold-set STATION --siaga3 A --siaga2 B --siaga1 C [--quantity Q] [--from TIME]
 *                 [--source TEXT]
 *   history STATION (also station-show)                 the station and every period
 *
 * Every argument is checked here, before the database, and a refusal names it (exit 2). TIME is
 * RFC 3339 (2026-12-01T00:00:00Z, 2026-12-01T07:00:00+07:00, up to milliseconds).
 *
 * Not for: accounts, secrets and the device rows themselves (admin.c), dead letters. */
#ifndef ADMIN_REGISTRY_H
#define ADMIN_REGISTRY_H

#include <getopt.h>
#include <stdbool.h>

#include <libpq-fe.h>

#include "msg_time.h"

/* getopt_long values of this module's options, after every single-character value. */
enum admin_registry_opt {
    ADMIN_REGISTRY_OPT_FROM = 0x200,
    ADMIN_REGISTRY_OPT_AT,
    ADMIN_REGISTRY_OPT_NAME,
    ADMIN_REGISTRY_OPT_LAT,
    ADMIN_REGISTRY_OPT_LON,
    ADMIN_REGISTRY_OPT_KELURAHAN,
    ADMIN_REGISTRY_OPT_DATUM,
    ADMIN_REGISTRY_OPT_CAPACITY,
    ADMIN_REGISTRY_OPT_SIAGA3,
    ADMIN_REGISTRY_OPT_SIAGA2,
    ADMIN_REGISTRY_OPT_SIAGA1,
    ADMIN_REGISTRY_OPT_QUANTITY,
    ADMIN_REGISTRY_OPT_SOURCE,
    ADMIN_REGISTRY_OPT_KIND,          /* admin.c's --kind, copied in by the caller */
    ADMIN_REGISTRY_OPT_END
};

#define ADMIN_REGISTRY_NOPTS (ADMIN_REGISTRY_OPT_END - ADMIN_REGISTRY_OPT_FROM)

/* The rows of this module's options for the caller's getopt_long table. */
#define ADMIN_REGISTRY_LONGOPTS                                                  \
    {"from", required_argument, NULL, ADMIN_REGISTRY_OPT_FROM},                  \
    {"at", required_argument, NULL, ADMIN_REGISTRY_OPT_AT},                      \
    {"name", required_argument, NULL, ADMIN_REGISTRY_OPT_NAME},                  \
    {"lat", required_argument, NULL, ADMIN_REGISTRY_OPT_LAT},                    \
    {"lon", required_argument, NULL, ADMIN_REGISTRY_OPT_LON},                    \
    {"kelurahan", required_argument, NULL, ADMIN_REGISTRY_OPT_KELURAHAN},        \
    {"datum", required_argument, NULL, ADMIN_REGISTRY_OPT_DATUM},                \
    {"capacity", required_argument, NULL, ADMIN_REGISTRY_OPT_CAPACITY},          \
    {"siaga3", required_argument, NULL, ADMIN_REGISTRY_OPT_SIAGA3},              \
    {"siaga2", required_argument, NULL, ADMIN_REGISTRY_OPT_SIAGA2},              \
    {"siaga1", required_argument, NULL, ADMIN_REGISTRY_OPT_SIAGA1},              \
    {"quantity", required_argument, NULL, ADMIN_REGISTRY_OPT_QUANTITY},          \
    {"source", required_argument, NULL, ADMIN_REGISTRY_OPT_SOURCE}

/* The lines of this module's commands and options for the caller's --help. */
#define ADMIN_REGISTRY_USAGE_COMMANDS                                                          \
    "  station-add ID --kind KIND [--name TEXT] [--lat DEG] [--lon DEG] [--kelurahan CODE]\n"  \
    "              [--datum DATUM] [--capacity PCU_H]\n"                                      \
    "                               add a flood_gauge or a traffic_camera\n"                  \
    "  station-update ID [--name TEXT] [--lat DEG] ...\n"                                     \
    "                               change the details given (not the kind)\n"               \
    "  station-list                 stations, their devices and offset now\n"                 \
    "  history STATION              the station's bindings, mounts and thresholds with\n"     \
    "                               their periods (also: station-show STATION)\n"             \
    "  mount-set STATION OFFSET_CM [--from TIME]\n"                                            \
    "                               the gauge's mounting offset from TIME on\n"               \
    "  threshold-set STATION --siaga3 A --siaga2 B --siaga1 C [--quantity Q] [--from TIME]\n"  \
    "              [--source TEXT]\n"                                                         \
    "                               Siaga thresholds from TIME on (Q: level_cm, the\n"        \
    "                               default, or discharge_m3s)\n"

#define ADMIN_REGISTRY_USAGE_OPTIONS                                                           \
    "      --from TIME              when a binding, mount or threshold starts (RFC 3339,\n"   \
    "                               e.g. 2026-12-01T00:00:00Z; default now); the version\n"   \
    "                               in force then ends there, nothing is deleted\n"           \
    "      --at TIME                when device-unbind ends the binding (default now)\n"      \
    "      --name, --lat, --lon, --kelurahan, --datum (gauge_zero or mdpl), --capacity\n"     \
    "                               a station's details (--capacity: cameras, PCU/h)\n"       \
    "      --siaga3/--siaga2/--siaga1 N, --quantity Q, --source TEXT   thresholds\n"

/* What the caller's getopt loop stores for this module: the arguments of the options above,
 * borrowed from argv (they live as long as main's argv). */
struct admin_registry_opts {
    const char *value[ADMIN_REGISTRY_NOPTS];
};

/* A time of the command line, checked and put in the protocol's form (UTC, milliseconds). */
struct admin_registry_time {
    bool given;                     /* false: the option was absent, the caller uses now */
    char text[MSG_TIME_LEN + 1];    /* "" when not given */
};

/* Whether c is the getopt_long value of one of this module's options. */
bool admin_registry_option_is(int c);

/* Stores arg (borrowed from argv) for option c. Returns 0, or 2 after printing a usage error
 * if the option was given twice. */
int admin_registry_option_set(struct admin_registry_opts *o, int c, const char *arg);

/* The name ("--at") of the first option of o that was given, other than `except`
 * (ADMIN_REGISTRY_OPT_END: none excepted), or NULL: for commands that take none of them. */
const char *admin_registry_option_given(const struct admin_registry_opts *o,
                                        enum admin_registry_opt except);

/* Whether cmd is one of this module's commands. */
bool admin_registry_command_is(const char *cmd);

/* Runs command argv[0] with argc - 1 arguments: checks every argument and option (exit 2 with a
 * message naming the bad one), then connects with conninfo (borrowed; NULL: the PG*
 * environment) and does the work in one transaction. Returns the exit status: 0 done, 1 the
 * database failed or refused (the message says why in words), 2 bad usage. */
int admin_registry_run(const struct admin_registry_opts *o, const char *conninfo, int argc,
                       char **argv);

/* Reads option `opt` of o as a time for command cmd (both borrowed, for the message) into
 * *out. Returns 0 (also when the option is absent: out->given false), or 2 after printing a
 * message naming the option and its value. */
int admin_registry_time_opt(const struct admin_registry_opts *o, enum admin_registry_opt opt,
                            const char *cmd, struct admin_registry_time *out);

/* Inside the caller's transaction on conn (borrowed): lets device_id speak for station_id from
 * `from` on (now when not given), filling only the periods not bound yet, after checking that
 * both exist and that their kinds go together. Prints what it did or why not, prefixed
 * "pantau-admin: <cmd>: ". Returns 0 or 1. */
int admin_registry_bind(PGconn *conn, const char *cmd, const char *device_id,
                        const char *station_id, const struct admin_registry_time *from);

/* Inside the caller's transaction on conn (borrowed): ends every binding of device_id that is in
 * force now (device-remove); those that start later stay. *ended (may be NULL) gets how many.
 * Returns 0, or 1 after printing what failed. */
int admin_registry_bindings_end_now(PGconn *conn, const char *device_id, long *ended);

#endif
