/* agent_report.h -- `pantau-agent report`: one Jumantik larva inspection, from a form app on
 * the handheld or typed by hand, validated and queued durably in the agent's own store.
 *
 *   pantau-agent report -c FILE --json FILE|-
 *   pantau-agent report -c FILE --inspector ID --building B --kelurahan CODE --rw N --rt N
 *       [--address TEXT] [--lat X --lon Y] [--container TYPE:LOCATION:INSPECTED:POSITIVE]...
 *       [--actions a,b] [--note TEXT]
 *
 * The inspection is the contract's larva body (larva_input.h: the same validation as the
 * larva socket), larvae_found derived from the containers when given as options. It opens
 * the store named by the agent's config itself (agent_store_open_opts with count_boot false:
 * the store is safe for two processes), adds the envelope from agent_clock (ts, clock_synced,
 * and boot with mono_ms when the store's boot counter is this system boot's), appends it in one
 * transaction and prints the seq it was stored under. The running agent sends it (its scans
 * see new rows); if the agent is stopped, it goes out when it starts.
 *
 * Exit status: 0 stored (or, with --check, valid); 1 the store failed; 2 bad usage, bad config
 * or an invalid inspection (the message names the member: "rt: missing (--rt)").
 *
 * Not for: the larva socket (source_larva.c), MQTT. */
#ifndef AGENT_REPORT_H
#define AGENT_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "msg_event.h"

/* What the command line says; strings are borrowed from argv. */
struct agent_report_args {
    const char *config;      /* -c FILE */
    const char *json;        /* --json FILE or "-" (stdin); NULL when given as options */
    bool check;              /* --check: validate, store nothing */
    bool help;
    bool version;
    struct msg_larva larva;  /* from the options (when json is NULL), larvae_found derived */
};

/* Reads argv (argc entries, argv[0] is "report"; borrowed) into caller-owned *out. Checks the
 * options' syntax and, for an inspection given as options, the inspection itself
 * (larva_input_check). Returns MSG_OK, MSG_ERR_CONFIG (bad usage: err says which option) or
 * MSG_ERR_SCHEMA (an invalid inspection: err names the member). Resets getopt's optind. */
int agent_report_args_parse(int argc, char **argv, struct agent_report_args *out, char *err,
                            size_t errlen);

/* The command: argv[0] is "report". Returns the exit status (0, 1 or 2). */
int agent_report_main(int argc, char **argv);

#endif
