/* agent_report.c -- `pantau-agent report`: one larva inspection into the agent's store (see
 * agent_report.h). */
#include "agent_report.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_clock.h"
#include "agent_config.h"
#include "agent_store.h"
#include "larva_input.h"
#include "log.h"
#include "msg_utf8.h"

#ifndef PANTAU_VERSION
#define PANTAU_VERSION "0.0.0"
#endif

enum {
    OPT_JSON = 256,
    OPT_INSPECTOR,
    OPT_BUILDING,
    OPT_KELURAHAN,
    OPT_RW,
    OPT_RT,
    OPT_ADDRESS,
    OPT_LAT,
    OPT_LON,
    OPT_CONTAINER,
    OPT_ACTIONS,
    OPT_NOTE,
    OPT_CHECK,
    OPT_HELP,
    OPT_VERSION,
};

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: pantau-agent report -c FILE (--json FILE|- | OPTION...)\n"
            "Queue one Jumantik larva inspection in the agent's store; prints its seq.\n"
            "\n"
            "  -c FILE               the agent's config (device_id, store_path)\n"
            "      --json FILE       the inspection as JSON (the contract's larva body\n"
            "                        without the envelope); - reads stdin\n"
            "      --inspector ID    the officer's enrolled id\n"
            "      --building B      house, public_place or institution\n"
            "      --kelurahan CODE  e.g. 32.75.01.1002\n"
            "      --rw N, --rt N    1 to 999\n"
            "      --address TEXT    street address\n"
            "      --lat X --lon Y   GPS, WGS 84 degrees (both or neither)\n"
            "      --container TYPE:LOCATION:INSPECTED:POSITIVE\n"
            "                        one per container type and location (repeat it);\n"
            "                        e.g. bath_tub:indoor:1:1 (larvae_found follows)\n"
            "      --actions a,b     PSN actions: drain, cover, recycle, larvicide, fish,\n"
            "                        repellent, net, plant, other\n"
            "      --note TEXT       free text\n"
            "      --check           validate only, store nothing\n"
            "      --help            this text\n"
            "      --version         the version\n"
            "\n"
            "Exit status: 0 stored, 1 the store failed, 2 bad usage, config or inspection.\n");
}

static int read_int(const char *name, const char *s, int *out, char *err, size_t errlen)
{
    char *end = NULL;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || errno != 0 || v < -1000000 || v > 1000000) {
        snprintf(err, errlen, "%s: not an integer (--%s)", name, name);
        return MSG_ERR_SCHEMA;
    }
    *out = (int)v;
    return MSG_OK;
}

static int read_double(const char *name, const char *s, double *out, char *err, size_t errlen)
{
    char *end = NULL;

    errno = 0;
    *out = strtod(s, &end);
    if (end == s || *end != '\0' || errno != 0) {
        snprintf(err, errlen, "%s: not a number (--%s)", name, name);
        return MSG_ERR_SCHEMA;
    }
    return MSG_OK;
}

/* A text option into a fixed field: valid text of at most max code points. */
static int read_text(const char *name, const char *s, char *out, size_t outlen, size_t max,
                     char *err, size_t errlen)
{
    size_t ncp = 0;

    if (!msg_utf8_text(s, strlen(s), &ncp, NULL, NULL)) {
        snprintf(err, errlen, "%s: not text (control characters or invalid UTF-8)", name);
        return MSG_ERR_SCHEMA;
    }
    if (ncp < 1 || ncp > max || strlen(s) >= outlen) {
        snprintf(err, errlen, "%s: must be 1 to %zu characters", name, max);
        return MSG_ERR_SCHEMA;
    }
    memcpy(out, s, strlen(s) + 1);
    return MSG_OK;
}

int agent_report_args_parse(int argc, char **argv, struct agent_report_args *out, char *err,
                            size_t errlen)
{
    static const struct option opts[] = {
        {"json", required_argument, NULL, OPT_JSON},
        {"inspector", required_argument, NULL, OPT_INSPECTOR},
        {"building", required_argument, NULL, OPT_BUILDING},
        {"kelurahan", required_argument, NULL, OPT_KELURAHAN},
        {"rw", required_argument, NULL, OPT_RW},
        {"rt", required_argument, NULL, OPT_RT},
        {"address", required_argument, NULL, OPT_ADDRESS},
        {"lat", required_argument, NULL, OPT_LAT},
        {"lon", required_argument, NULL, OPT_LON},
        {"container", required_argument, NULL, OPT_CONTAINER},
        {"actions", required_argument, NULL, OPT_ACTIONS},
        {"note", required_argument, NULL, OPT_NOTE},
        {"check", no_argument, NULL, OPT_CHECK},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    struct msg_larva *l = &out->larva;
    bool have_lat = false, have_lon = false, have_fields = false;
    bool have_inspector = false, have_building = false, have_kel = false;
    bool have_rw = false, have_rt = false;
    int rc = MSG_OK;
    int c;

    memset(out, 0, sizeof(*out));
    optind = 0;   /* GNU getopt: start afresh (also for a second call in a test) */
    opterr = 0;
    for (;;) {
        const char *v;

        c = getopt_long(argc, argv, "c:", opts, NULL);
        if (c == -1) {
            break;
        }
        v = optarg;
        have_fields = have_fields || (c >= OPT_INSPECTOR && c <= OPT_NOTE);
        switch (c) {
        case 'c':
            out->config = v;
            break;
        case OPT_JSON:
            out->json = v;
            break;
        case OPT_INSPECTOR:
            rc = read_text("inspector", v, l->inspector, sizeof(l->inspector),
                           MSG_INSPECTOR_MAX, err, errlen);
            have_inspector = true;
            break;
        case OPT_BUILDING:
            if (larva_input_building_from_name(v, &l->building) != MSG_OK) {
                snprintf(err, errlen, "building: not one of house, public_place, institution");
                rc = MSG_ERR_SCHEMA;
            }
            have_building = true;
            break;
        case OPT_KELURAHAN:
            if (strlen(v) >= sizeof(l->kelurahan)) {
                snprintf(err, errlen, "kelurahan: not a kelurahan code of Kota Bekasi");
                rc = MSG_ERR_SCHEMA;
            } else {
                memcpy(l->kelurahan, v, strlen(v) + 1);
            }
            have_kel = true;
            break;
        case OPT_RW:
            rc = read_int("rw", v, &l->rw, err, errlen);
            have_rw = true;
            break;
        case OPT_RT:
            rc = read_int("rt", v, &l->rt, err, errlen);
            have_rt = true;
            break;
        case OPT_ADDRESS:
            rc = read_text("address", v, l->address, sizeof(l->address), MSG_ADDRESS_MAX, err,
                           errlen);
            break;
        case OPT_NOTE:
            rc = read_text("note", v, l->note, sizeof(l->note), MSG_NOTE_MAX, err, errlen);
            break;
        case OPT_LAT:
            rc = read_double("lat", v, &l->lat, err, errlen);
            have_lat = true;
            break;
        case OPT_LON:
            rc = read_double("lon", v, &l->lon, err, errlen);
            have_lon = true;
            break;
        case OPT_CONTAINER:
            if (l->n_containers == MSG_LARVA_CONTAINERS_MAX) {
                snprintf(err, errlen, "containers: more than %d", MSG_LARVA_CONTAINERS_MAX);
                rc = MSG_ERR_SCHEMA;
                break;
            }
            rc = larva_input_container_parse(v, &l->containers[l->n_containers], err, errlen);
            l->n_containers++;
            break;
        case OPT_ACTIONS:
            rc = larva_input_actions_parse(v, &l->actions, err, errlen);
            l->has_actions = true;
            break;
        case OPT_CHECK:
            out->check = true;
            break;
        case OPT_HELP:
            out->help = true;
            break;
        case OPT_VERSION:
            out->version = true;
            break;
        default:
            if (optopt != 0 && optopt < 256) {
                snprintf(err, errlen, "-%c: unknown option or missing value", optopt);
            } else {
                snprintf(err, errlen, "%s: unknown option or missing value",
                         argv[optind - 1 < argc ? optind - 1 : argc - 1]);
            }
            return MSG_ERR_CONFIG;
        }
        if (rc != MSG_OK) {
            return rc;
        }
    }
    if (out->help || out->version) {
        return MSG_OK;
    }
    if (optind < argc) {
        snprintf(err, errlen, "%s: unexpected argument", argv[optind]);
        return MSG_ERR_CONFIG;
    }
    if (out->config == NULL) {
        snprintf(err, errlen, "-c FILE: the agent's config is required");
        return MSG_ERR_CONFIG;
    }
    if (out->json != NULL && have_fields) {
        snprintf(err, errlen, "--json: give the inspection as JSON or as options, not both");
        return MSG_ERR_CONFIG;
    }
    if (out->json != NULL) {
        return MSG_OK;
    }
    if (!have_fields) {
        snprintf(err, errlen, "no inspection: give --json FILE or the options (--help)");
        return MSG_ERR_CONFIG;
    }
    {
        static const char *const names[] = {"inspector", "building", "kelurahan", "rw", "rt"};
        const bool have[] = {have_inspector, have_building, have_kel, have_rw, have_rt};

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            if (!have[i]) {
                snprintf(err, errlen, "%s: missing (--%s)", names[i], names[i]);
                return MSG_ERR_SCHEMA;
            }
        }
    }
    if (have_lat != have_lon) {
        snprintf(err, errlen, "%s: missing (lat and lon come together)",
                 have_lat ? "lon" : "lat");
        return MSG_ERR_SCHEMA;
    }
    l->has_gps = have_lat;
    larva_input_derive(l);
    return larva_input_check(l, err, errlen);
}

/* Reads the --json input (a file or stdin) into buf; at most MSG_PAYLOAD_MAX bytes. */
static int read_json(const char *path, char *buf, size_t buflen, size_t *len, char *err,
                     size_t errlen)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    size_t n;
    int rc = MSG_OK;

    if (f == NULL) {
        snprintf(err, errlen, "--json: cannot open %s: %s", path, strerror(errno));
        return MSG_ERR_IO;
    }
    n = fread(buf, 1, buflen, f);
    if (ferror(f)) {
        snprintf(err, errlen, "--json: read %s: %s", path, strerror(errno));
        rc = MSG_ERR_IO;
    } else if (n == buflen) {
        snprintf(err, errlen, "inspection: more than %zu bytes", buflen - 1);
        rc = MSG_ERR_JSON;
    }
    if (f != stdin) {
        fclose(f);
    }
    *len = n;
    return rc;
}

int agent_report_main(int argc, char **argv)
{
    struct agent_report_args args;
    struct agent_config *cfg = NULL;
    struct agent_store *store = NULL;
    struct agent_store_options opt;
    struct agent_store_stats st;
    struct agent_clock_now now;
    struct msg_event ev;
    char err[MSG_ERRLEN] = "";
    char buf[MSG_PAYLOAD_MAX + 1];
    size_t len = 0;
    int status = 2;
    int rc;

    rc = agent_report_args_parse(argc, argv, &args, err, sizeof(err));
    if (rc == MSG_OK && args.help) {
        usage(stdout);
        return 0;
    }
    if (rc == MSG_OK && args.version) {
        printf("pantau-agent report %s\n", PANTAU_VERSION);
        return 0;
    }
    if (rc != MSG_OK) {
        fprintf(stderr, "pantau-agent report: %s\n", err);
        if (rc == MSG_ERR_CONFIG) {
            fprintf(stderr, "Try 'pantau-agent report --help'.\n");
        }
        return 2;
    }
    cfg = calloc(1, sizeof(*cfg));   /* some 70 KiB: not on the stack */
    if (cfg == NULL) {
        fprintf(stderr, "pantau-agent report: out of memory\n");
        return 1;
    }
    rc = agent_config_load(args.config, cfg, err, sizeof(err));
    if (rc != MSG_OK) {
        fprintf(stderr, "pantau-agent report: %s\n", err);
        status = 2;   /* a config that cannot be read is a config error too */
        goto out;
    }
    log_setup(agent_config_log_level(cfg), LOG_TO_AUTO);
    memset(&ev, 0, sizeof(ev));
    ev.stream = MSG_STREAM_LARVA;
    if (args.json != NULL) {
        rc = read_json(args.json, buf, sizeof(buf), &len, err, sizeof(err));
        if (rc == MSG_OK) {
            rc = larva_input_from_json(buf, len, &ev.u.larva, err, sizeof(err));
        }
        if (rc != MSG_OK) {
            fprintf(stderr, "pantau-agent report: %s\n", err);
            status = rc == MSG_ERR_NOMEM ? 1 : 2;
            goto out;
        }
    } else {
        ev.u.larva = args.larva;
    }
    if (args.check) {
        printf("inspection is valid\n");
        status = 0;
        goto out;
    }
    memset(&opt, 0, sizeof(opt));
    agent_config_store_limits(cfg, &opt.limits);
    opt.count_boot = false;
    opt.clock_sync = cfg->clock_sync;
    rc = agent_store_open_opts(cfg->store_path, &opt, &store, err, sizeof(err));
    if (rc == MSG_OK) {
        rc = agent_store_stats(store, &st, err, sizeof(err));
    }
    if (rc != MSG_OK) {
        fprintf(stderr, "pantau-agent report: %s\n", err);
        status = 1;
        goto out;
    }
    agent_clock_read(cfg->clock_sync, &now);
    memcpy(ev.device_id, cfg->device_id, sizeof(ev.device_id));
    memcpy(ev.env.store_id, agent_store_id(store), sizeof(ev.env.store_id));
    ev.env.seq = 1;   /* the store assigns the real one */
    ev.env.ts_ms = now.wall_ms;
    ev.env.clock_synced = now.synced;
    if (st.boot_current && st.boot > 0) {
        ev.env.has_boot = true;
        ev.env.boot = st.boot;
        ev.env.has_mono = true;
        ev.env.mono_ms = now.mono_ms;
    }
    rc = msg_event_validate(&ev, err, sizeof(err));
    if (rc != MSG_OK) {
        fprintf(stderr, "pantau-agent report: %s\n", err);
        status = 2;
        goto out;
    }
    rc = agent_store_append(store, &ev, 1, err, sizeof(err));
    if (rc != MSG_OK) {
        fprintf(stderr, "pantau-agent report: not stored: %s\n", err);
        status = rc == MSG_ERR_INVAL || rc == MSG_ERR_FULL ? 2 : 1;
        goto out;
    }
    printf("%llu\n", (unsigned long long)ev.env.seq);
    fflush(stdout);
    log_msg(LOG_NOTICE, "report: inspection stored seq=%llu store=%s",
            (unsigned long long)ev.env.seq, ev.env.store_id);
    status = 0;
out:
    agent_store_close(store);
    free(cfg);
    return status;
}
