/* agent_config.h -- pantau-agent's configuration: keys, defaults, loading and checking.
 *
 * One `key value` file (mosquitto.conf's format, read by msg/conf.h) fills one struct
 * agent_config: the device's identity, the store and its limits, the broker connection, the
 * reliability knobs (window, timeouts, replay rate, refusal retries), and one `[source <name>]`
 * section per source the agent runs. A section's keys come from that source's own table
 * (struct agent_source.keys of agent_source.h), so a typo inside a section is an error naming
 * the file, the line and the key; the section's config struct is kept here, inline, as bytes
 * (struct agent_config_source) that the source reads back as its own struct.
 *
 * Everything is checked here, each source's own check included, before anything connects, so
 * that `--check` and a real start agree. The MQTT password lives in a file the config names
 * (password_file); it is read into the struct and never printed.
 *
 * Not for: run-time state (agent.h), the sources themselves (agent_source.h). Loading
 * allocates nothing: the struct is large (some 70 KiB) but self-contained, so keep it off
 * small stacks. */
#ifndef AGENT_CONFIG_H
#define AGENT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "agent_clock.h"
#include "agent_source.h"
#include "agent_store.h"
#include "msg_err.h"
#include "msg_topic.h"

#define AGENT_PATH_MAX 1024
#define AGENT_HOST_MAX 255
#define AGENT_SECRET_MAX 256
#define AGENT_SOURCES_MAX 8          /* `[source ...]` sections in one file */
#define AGENT_SOURCE_CONF_MAX 8192   /* bytes of one source's config struct */

enum agent_jitter {
    AGENT_JITTER_FULL,          /* sleep = random(0, min(max, min_ms * 2^attempt)) */
    AGENT_JITTER_DECORRELATED,  /* sleep = min(max, random(min_ms, previous * 3)) */
};

/* One `[source <name>]` section: the source and its loaded config struct. */
struct agent_config_source {
    const struct agent_source *source;   /* from agent_source_find: static storage */
    unsigned line;                       /* the section's line in the file, for messages */
    union {
        max_align_t align;               /* the source casts bytes to its own struct */
        unsigned char bytes[AGENT_SOURCE_CONF_MAX];
    } conf;                              /* source->conf_size bytes in use */
};

struct agent_config {
    char path[AGENT_PATH_MAX];           /* the file it was loaded from */
    char device_id[MSG_ID_MAX + 1];      /* client id, MQTT username, topic level */
    char log_level[16];
    char clock_sync_name[16];            /* auto, synced or unsynced */
    enum agent_clock_sync clock_sync;    /* from clock_sync_name */

    /* the store (agent_store.h) */
    char store_path[AGENT_PATH_MAX];
    long long store_max_readings;
    long long store_max_bytes;
    long long store_max_age_ms;          /* 0: no age limit */
    long long store_max_rejected;
    long long store_keep_acked_ms;       /* 0: acknowledged readings are not kept */

    /* the broker */
    char mqtt_host[AGENT_HOST_MAX + 1];
    long long mqtt_port;
    long long mqtt_keepalive_ms;
    long long mqtt_connect_timeout_ms;
    bool tls;
    char tls_cafile[AGENT_PATH_MAX];     /* "" : the system's CA store */
    char tls_certfile[AGENT_PATH_MAX];   /* client certificate ("" : none) */
    char tls_keyfile[AGENT_PATH_MAX];
    bool tls_verify_hostname;
    char mqtt_username[MSG_ID_MAX + 1];  /* "" : no username (e.g. the certificate's CN) */
    char mqtt_password[AGENT_SECRET_MAX];/* first line of password_file; secret */
    long long reconnect_min_ms;
    long long reconnect_max_ms;
    char reconnect_jitter_name[16];
    enum agent_jitter reconnect_jitter;  /* from reconnect_jitter_name */

    /* readings in flight, resends, replay */
    long long window;                    /* readings published and not yet acknowledged */
    long long ack_timeout_initial_ms;    /* before any publish-to-ack time was measured */
    long long ack_timeout_min_ms;        /* floor of the adaptive timeout */
    long long ack_timeout_max_ms;        /* ceiling, also of its backoff */
    long long resend_rate;               /* resends per second, at most */
    long long replay_rate;               /* backlog readings per second */
    long long backlog_delay_ms;          /* publish-to-acknowledgement time the backlog's
                                          * readings in flight are kept under (agent_backlog
                                          * of agent_window.h); 0: off */
    long long live_ms;                   /* a reading taken this recently and not behind a
                                          * backlog goes out as live (replay false) */
    long long refuse_tries;              /* refusals of a reading, at least, before it may be
                                          * moved to the rejected list */
    long long refuse_backoff_ms;         /* first wait after a refusal; doubles each time */
    long long refuse_backoff_max_ms;     /* ... up to this */
    long long refuse_give_up_ms;         /* a reading refused (and not acknowledged) for this
                                          * long since its first refusal is rejected */
    /* pacing: one token bucket for every publish (protocol.md 8, 7.3) */
    char device_kind[24];                /* flood_gateway, traffic_gateway, handheld; "": the
                                          * lowest limit of them all */
    double publish_rate;                 /* messages per second; 0: from device_kind */
    long long publish_burst;             /* messages at once; 0: from device_kind */
    long long status_min_interval_ms;    /* republish the status at most this often */
    char stations[MSG_STATUS_STATIONS_MAX * (MSG_ID_MAX + 2) + 1];   /* station ids, blanks
                                                                       * or commas between */
    long long station_silence_ms;        /* a station this long without a reading is offline;
                                          * 0: derived from its gaps (agent.h) */
    long long summary_interval_ms;       /* one INFO line of counters */
    char metrics_textfile[AGENT_PATH_MAX]; /* node_exporter textfile (.prom); "": none */
    long long metrics_interval_ms;       /* rewritten this often */
    long long source_backoff_min_ms;     /* reopening a source that failed */
    long long source_backoff_max_ms;

    size_t n_sources;
    struct agent_config_source sources[AGENT_SOURCES_MAX];
};

/* Loads path (borrowed) into *cfg (caller-owned; everything is copied in, nothing allocated).
 * Runs every source's check. Returns MSG_OK, MSG_ERR_IO (the file cannot be read; err names
 * it) or MSG_ERR_CONFIG (err reads "FILE:LINE: KEY: why", or names the section or key that is
 * missing or inconsistent). */
int agent_config_load(const char *path, struct agent_config *cfg, char *err, size_t errlen);

/* Splits cfg's `stations` (borrowed) into ids[] (caller-owned, room for
 * MSG_STATUS_STATIONS_MAX; NULL: only check) and *n (may be NULL). Returns MSG_OK, or
 * MSG_ERR_CONFIG with err naming the bad id or saying there are too many. */
int agent_config_stations(const struct agent_config *cfg, char (*ids)[MSG_ID_MAX + 1],
                          size_t *n, char *err, size_t errlen);

/* The store limits of cfg (borrowed), for agent_store_open. */
void agent_config_store_limits(const struct agent_config *cfg, struct agent_store_limits *out);

/* The broker's documented message limit of a device kind (protocol.md section 8, the numbers
 * of deploy/mosquitto.conf), and the pacing the agent takes from it. */
struct agent_pacing {
    const char *kind;        /* static; "any" when device_kind is empty */
    double limit_rate;       /* the broker's: messages per second per device */
    double limit_burst;
    double rate;             /* the agent's: publish_rate, or AGENT_PACE_RATE_SHARE of the limit */
    double burst;            /* publish_burst, or AGENT_PACE_BURST_SHARE of the limit's burst */
};

#define AGENT_PACE_RATE_SHARE 0.9    /* of the broker's rate: room for clock drift */
#define AGENT_PACE_BURST_SHARE 0.5   /* of its burst: room for a network stall that delivers
                                      * what was sent apart at once */

/* The pacing of cfg (borrowed; device_kind checked by agent_config_load) into *out. */
void agent_config_pacing(const struct agent_config *cfg, struct agent_pacing *out);

/* Writes every key with its default and help to f, in the config file's own syntax, and each
 * known source's section keys. */
void agent_config_print(FILE *f);

/* Log level named by cfg->log_level, as a syslog priority (LOG_ERR .. LOG_DEBUG). */
int agent_config_log_level(const struct agent_config *cfg);

#endif
