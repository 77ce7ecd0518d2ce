/* agent_config.c -- pantau-agent's configuration: see agent_config.h. */
#include "agent_config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"

#define OFF(field) offsetof(struct agent_config, field)
#define SZ(field) sizeof(((struct agent_config *)0)->field)
#define STR(key, def, help) {#key, CONF_STR, def, OFF(key), SZ(key), 0, 0, help}
#define INT(key, def, lo, hi, help) {#key, CONF_INT, def, OFF(key), SZ(key), lo, hi, help}
#define MS(key, def, lo, hi, help) {#key, CONF_MS, def, OFF(key), SZ(key), lo, hi, help}
#define BOOL(key, def, help) {#key, CONF_BOOL, def, OFF(key), SZ(key), 0, 0, help}

#define DAY_MS 86400000.0

/* The broker's message limit per device kind, as protocol.md section 8 states it and
 * deploy/mosquitto.conf sets it (plugin_opt_rate_<kind>; tests/integration/
 * test_agent_pacing.py checks that the three agree). */
static const struct {
    const char *kind;
    double rate;
    double burst;
} agent_kind_limits[] = {
    {"flood_gateway", 5.0, 50.0},
    {"traffic_gateway", 20.0, 200.0},
    {"handheld", 2.0, 100.0},
};
#define KINDS (sizeof(agent_kind_limits) / sizeof(agent_kind_limits[0]))

static const struct conf_key agent_keys[] = {
    STR(device_id, NULL, "this device's id: MQTT client id, username and topic level"),
    STR(log_level, "info", "err, warning, notice, info or debug"),
    {"clock_sync", CONF_STR, "auto", OFF(clock_sync_name), SZ(clock_sync_name), 0, 0,
     "clock_synced of readings: auto (adjtimex), synced or unsynced"},

    STR(store_path, "/var/lib/pantau-agent/agent.db", "the SQLite store (StateDirectory=)"),
    INT(store_max_readings, "1000000", 1, 1e12, "readings held before the oldest are dropped"),
    INT(store_max_bytes, "268435456", 8192, 1e13, "payload bytes held before dropping"),
    MS(store_max_age_ms, "0", 0, 3650 * DAY_MS, "drop readings older than this; 0: no limit"),
    INT(store_max_rejected, "1000", 1, 1e9, "refused readings kept in the rejected list"),
    MS(store_keep_acked_ms, "24h", 0, 3650 * DAY_MS,
       "acknowledged readings kept this long, for a restore of the database (protocol.md 6.3);"
       " 0: none"),

    STR(mqtt_host, NULL, "the broker's host name or address"),
    INT(mqtt_port, "1883", 1, 65535, "the broker's port (8883 for TLS by convention)"),
    MS(mqtt_keepalive_ms, "30s", 1000, 3600000, "MQTT keep-alive interval"),
    MS(mqtt_connect_timeout_ms, "10s", 100, 600000, "give up a connection attempt after this"),
    BOOL(tls, "false", "connect with TLS"),
    STR(tls_cafile, "", "CA certificates (PEM) to verify the broker; empty: the system's"),
    STR(tls_certfile, "", "client certificate (PEM), with tls_keyfile"),
    STR(tls_keyfile, "", "the client certificate's private key (PEM)"),
    BOOL(tls_verify_hostname, "true", "check the broker's certificate against mqtt_host"),
    STR(mqtt_username, "", "MQTT username; empty: the device id when a password is set"),
    {"mqtt_password_file", CONF_SECRET_FILE, "", OFF(mqtt_password), SZ(mqtt_password), 0, 0,
     "file whose first line is the MQTT password (never in this file)"},
    MS(reconnect_min_ms, "1s", 10, 3600000, "shortest wait before reconnecting"),
    MS(reconnect_max_ms, "60s", 10, 86400000, "longest wait before reconnecting"),
    {"reconnect_jitter", CONF_STR, "full", OFF(reconnect_jitter_name), SZ(reconnect_jitter_name),
     0, 0, "full or decorrelated (jittered exponential backoff)"},

    INT(window, "500", 1, 10000, "readings published and not yet acknowledged, at most"),
    MS(ack_timeout_initial_ms, "10s", 10, 3600000, "resend timeout before any measurement"),
    MS(ack_timeout_min_ms, "2s", 10, 3600000, "floor of the adaptive resend timeout"),
    MS(ack_timeout_max_ms, "120s", 10, 86400000, "ceiling of the resend timeout and backoff"),
    INT(resend_rate, "20", 1, 100000, "resends of timed-out readings per second, at most"),
    INT(replay_rate, "200", 1, 1000000, "backlog readings replayed per second"),
    MS(backlog_delay_ms, "2s", 0, 3600000, "the backlog keeps fewer readings in flight when "
       "acknowledgements take longer than this after the publish, so that live readings are "
       "not queued behind it; 0: off"),
    MS(live_ms, "10s", 0, 3600000, "a reading this fresh and never sent goes out as live"),
    INT(refuse_tries, "5", 1, 1000, "refusals of a reading, at least, before it is rejected"),
    MS(refuse_backoff_ms, "40s", 10, 86400000, "wait after the first refusal; doubles each time"),
    MS(refuse_backoff_max_ms, "1h", 10, 86400000, "longest wait between two tries of a refused "
       "reading"),
    MS(refuse_give_up_ms, "48h", 0, 365 * DAY_MS, "a reading refused this long since its first "
       "refusal, without an acknowledgement, goes to the rejected list"),
    STR(device_kind, "", "flood_gateway, traffic_gateway or handheld: the broker's message limit "
        "of that kind (protocol.md 8) sets the publish pacing; empty: the lowest of them"),
    {"publish_rate", CONF_DOUBLE, "0", OFF(publish_rate), SZ(publish_rate), 0, 1e6,
     "messages per second, every publish (live, replay, resends, status); 0: 0.9 of the kind's"},
    INT(publish_burst, "0", 0, 1e6, "messages at once, every publish; 0: half the kind's burst"),
    MS(status_min_interval_ms, "5s", 100, 3600000, "republish the status at most this often"),
    STR(stations, "", "station ids this gateway serves (blanks or commas), offline in the "
        "status until their first reading; others are added as their readings come"),
    MS(station_silence_ms, "0", 0, 86400000, "a station without a reading this long is "
       "offline in the status; 0: three times its longest recent gap, at least 10 s"),
    MS(summary_interval_ms, "60s", 1000, 86400000, "one line of counters this often"),
    STR(metrics_textfile, "", "Prometheus metrics for node_exporter's textfile collector "
        "(a path ending in .prom, in a folder the agent may write); empty: none"),
    MS(metrics_interval_ms, "15s", 1000, 3600000, "rewrite metrics_textfile this often"),
    MS(source_backoff_min_ms, "1s", 10, 3600000, "first wait before reopening a failed source"),
    MS(source_backoff_max_ms, "60s", 10, 86400000, "longest wait before reopening a source"),
    CONF_END,
};

/* The `[source <name>]` callback of conf_load: a new entry whose bytes the source's keys fill. */
static const struct conf_key *on_section(void *ctx, const char *name, const char *arg,
                                         void **obj, char *err, size_t errlen)
{
    struct agent_config *cfg = ctx;
    const struct agent_source *src = NULL;
    struct agent_config_source *slot = NULL;

    if (strcmp(name, "source") != 0) {
        snprintf(err, errlen, "unknown section '%s' (only [source <name>])", name);
        return NULL;
    }
    src = agent_source_find(arg);
    if (src == NULL) {
        snprintf(err, errlen, "unknown source '%s'", arg);
        return NULL;
    }
    if (cfg->n_sources >= AGENT_SOURCES_MAX) {
        snprintf(err, errlen, "more than %d sources", AGENT_SOURCES_MAX);
        return NULL;
    }
    if (src->conf_size > AGENT_SOURCE_CONF_MAX || src->keys == NULL) {
        snprintf(err, errlen, "internal: source '%s' has a config of %zu bytes (max %d)", arg,
                 src->conf_size, AGENT_SOURCE_CONF_MAX);
        return NULL;
    }
    slot = &cfg->sources[cfg->n_sources++];
    memset(slot, 0, sizeof(*slot));
    slot->source = src;
    *obj = slot->conf.bytes;
    return src->keys;
}

/* Fails with "FILE:LINE: KEY: why" (why is a printf format; LINE where a line before any
 * section sets key). */
static int bad(const struct agent_config *cfg, const char *key, char *err, size_t errlen,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int bad(const struct agent_config *cfg, const char *key, char *err, size_t errlen,
               const char *fmt, ...)
{
    char why[MSG_ERRLEN];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    conf_key_error(err, errlen, cfg->path, key, "%s", why); /* names the line, as conf_load */
    return MSG_ERR_CONFIG;
}

int agent_config_stations(const struct agent_config *cfg, char (*ids)[MSG_ID_MAX + 1],
                          size_t *count, char *err, size_t errlen)
{
    const char *p = cfg->stations;
    size_t n = 0;

    while (*p != '\0') {
        size_t len = strcspn(p, " \t,");

        if (len > 0) {
            if (len > MSG_ID_MAX || !msg_id_valid(p, len)) {
                snprintf(err, errlen, "'%.*s' is not a station id (1 to 64 of a-z 0-9 . _ -)",
                         (int)(len > MSG_ID_MAX ? MSG_ID_MAX : len), p);
                return MSG_ERR_CONFIG;
            }
            if (n >= MSG_STATUS_STATIONS_MAX) {
                snprintf(err, errlen, "more than %d stations (a status carries at most %d)",
                         MSG_STATUS_STATIONS_MAX, MSG_STATUS_STATIONS_MAX);
                return MSG_ERR_CONFIG;
            }
            if (ids != NULL) {
                memcpy(ids[n], p, len);
                ids[n][len] = '\0';
            }
            n++;
            p += len;
        } else {
            p++;
        }
    }
    if (count != NULL) {
        *count = n;
    }
    return MSG_OK;
}

/* Rules between keys, after the file was read. */
static int check_all(struct agent_config *cfg, char *err, size_t errlen)
{
    char why[MSG_ERRLEN];
    int level = 0;

    if (!msg_id_valid(cfg->device_id, strlen(cfg->device_id))) {
        return bad(cfg, "device_id", err, errlen,
                   "'%s' is not a device id (1 to 64 of a-z 0-9 . _ -)", cfg->device_id);
    }
    if (cfg->mqtt_username[0] != '\0' &&
        !msg_id_valid(cfg->mqtt_username, strlen(cfg->mqtt_username))) {
        return bad(cfg, "mqtt_username", err, errlen, "'%s' is not a device id",
                   cfg->mqtt_username);
    }
    if (log_level_from_name(cfg->log_level, &level) != MSG_OK) {
        return bad(cfg, "log_level", err, errlen,
                   "'%s' is not err, warning, notice, info or debug", cfg->log_level);
    }
    if (agent_clock_sync_from_name(cfg->clock_sync_name, &cfg->clock_sync) != MSG_OK) {
        return bad(cfg, "clock_sync", err, errlen, "'%s' is not auto, synced or unsynced",
                   cfg->clock_sync_name);
    }
    if (strcmp(cfg->reconnect_jitter_name, "full") == 0) {
        cfg->reconnect_jitter = AGENT_JITTER_FULL;
    } else if (strcmp(cfg->reconnect_jitter_name, "decorrelated") == 0) {
        cfg->reconnect_jitter = AGENT_JITTER_DECORRELATED;
    } else {
        return bad(cfg, "reconnect_jitter", err, errlen, "'%s' is not full or decorrelated",
                   cfg->reconnect_jitter_name);
    }
    if (cfg->reconnect_min_ms > cfg->reconnect_max_ms) {
        return bad(cfg, "reconnect_min_ms", err, errlen, "%lld ms exceeds reconnect_max_ms %lld ms",
                   cfg->reconnect_min_ms, cfg->reconnect_max_ms);
    }
    if (cfg->ack_timeout_min_ms > cfg->ack_timeout_max_ms) {
        return bad(cfg, "ack_timeout_min_ms", err, errlen,
                   "%lld ms exceeds ack_timeout_max_ms %lld ms", cfg->ack_timeout_min_ms,
                   cfg->ack_timeout_max_ms);
    }
    if (cfg->ack_timeout_initial_ms < cfg->ack_timeout_min_ms ||
        cfg->ack_timeout_initial_ms > cfg->ack_timeout_max_ms) {
        return bad(cfg, "ack_timeout_initial_ms", err, errlen,
                   "%lld ms is outside ack_timeout_min_ms..ack_timeout_max_ms (%lld..%lld ms)",
                   cfg->ack_timeout_initial_ms, cfg->ack_timeout_min_ms,
                   cfg->ack_timeout_max_ms);
    }
    if (cfg->device_kind[0] != '\0') {
        size_t k = 0;

        while (k < KINDS && strcmp(agent_kind_limits[k].kind, cfg->device_kind) != 0) {
            k++;
        }
        if (k == KINDS) {
            return bad(cfg, "device_kind", err, errlen,
                       "'%s' is not flood_gateway, traffic_gateway or handheld",
                       cfg->device_kind);
        }
    }
    if (cfg->refuse_backoff_ms > cfg->refuse_backoff_max_ms) {
        return bad(cfg, "refuse_backoff_ms", err, errlen,
                   "%lld ms exceeds refuse_backoff_max_ms %lld ms", cfg->refuse_backoff_ms,
                   cfg->refuse_backoff_max_ms);
    }
    if (agent_config_stations(cfg, NULL, NULL, why, sizeof(why)) != MSG_OK) {
        return bad(cfg, "stations", err, errlen, "%s", why);
    }
    if (cfg->source_backoff_min_ms > cfg->source_backoff_max_ms) {
        return bad(cfg, "source_backoff_min_ms", err, errlen,
                   "%lld ms exceeds source_backoff_max_ms %lld ms", cfg->source_backoff_min_ms,
                   cfg->source_backoff_max_ms);
    }
    if (cfg->tls_certfile[0] != '\0' && cfg->tls_keyfile[0] == '\0') {
        return bad(cfg, "tls_certfile", err, errlen, "needs tls_keyfile too");
    }
    if (cfg->tls_keyfile[0] != '\0' && cfg->tls_certfile[0] == '\0') {
        return bad(cfg, "tls_keyfile", err, errlen, "needs tls_certfile too");
    }
    if (!cfg->tls && cfg->tls_cafile[0] != '\0') {
        return bad(cfg, "tls_cafile", err, errlen, "set without tls true");
    }
    if (!cfg->tls && cfg->tls_certfile[0] != '\0') {
        return bad(cfg, "tls_certfile", err, errlen, "set without tls true");
    }
    if (cfg->metrics_textfile[0] != '\0') {
        size_t n = strlen(cfg->metrics_textfile);
        char dir[AGENT_PATH_MAX];
        const char *slash = strrchr(cfg->metrics_textfile, '/');

        if (n < 6 || strcmp(cfg->metrics_textfile + n - 5, ".prom") != 0) {
            return bad(cfg, "metrics_textfile", err, errlen,
                       "'%s' does not end in .prom (node_exporter reads only those)",
                       cfg->metrics_textfile);
        }
        if (slash == NULL) {
            snprintf(dir, sizeof(dir), ".");
        } else {
            int dlen = slash == cfg->metrics_textfile ? 1 : (int)(slash - cfg->metrics_textfile);

            snprintf(dir, sizeof(dir), "%.*s", dlen, cfg->metrics_textfile);
        }
        if (access(dir, W_OK) != 0) {
            return bad(cfg, "metrics_textfile", err, errlen, "cannot write in '%s': %s", dir,
                       strerror(errno));
        }
    }
    /* The TLS files are read only when connecting: a missing one would otherwise pass
     * --check and then fail at every connection attempt. */
    const struct {
        const char *key;
        const char *path;
    } tls_files[] = {
        {"tls_cafile", cfg->tls_cafile},
        {"tls_certfile", cfg->tls_certfile},
        {"tls_keyfile", cfg->tls_keyfile},
    };
    for (size_t i = 0; i < sizeof(tls_files) / sizeof(tls_files[0]); i++) {
        if (tls_files[i].path[0] != '\0' && access(tls_files[i].path, R_OK) != 0) {
            return bad(cfg, tls_files[i].key, err, errlen, "cannot read '%s': %s",
                       tls_files[i].path, strerror(errno));
        }
    }
    for (size_t i = 0; i < cfg->n_sources; i++) {
        const struct agent_config_source *s = &cfg->sources[i];

        if (s->source->check == NULL) {
            continue;
        }
        why[0] = '\0';
        if (s->source->check(s->conf.bytes, why, sizeof(why)) != MSG_OK) {
            snprintf(err, errlen, "%s:%u: [source %s]: %s", cfg->path, s->line,
                     s->source->name, why);
            return MSG_ERR_CONFIG;
        }
    }
    return MSG_OK;
}

/* The line of each `[source ...]` section, for check messages (conf_load does not say). */
static void find_section_lines(struct agent_config *cfg)
{
    FILE *f = fopen(cfg->path, "r");
    char line[1100];
    unsigned lineno = 0;
    size_t k = 0;

    if (f == NULL) {
        return;
    }
    while (k < cfg->n_sources && fgets(line, sizeof(line), f) != NULL) {
        const char *p = line;

        lineno++;
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (*p == '[') {
            cfg->sources[k++].line = lineno;
        }
    }
    fclose(f);
}

int agent_config_load(const char *path, struct agent_config *cfg, char *err, size_t errlen)
{
    int rc;

    memset(cfg, 0, sizeof(*cfg));
    if (strlen(path) >= sizeof(cfg->path)) {
        snprintf(err, errlen, "config path longer than %zu bytes", sizeof(cfg->path) - 1);
        return MSG_ERR_CONFIG;
    }
    memcpy(cfg->path, path, strlen(path) + 1);
    rc = conf_load(path, agent_keys, cfg, on_section, cfg, err, errlen);
    if (rc != MSG_OK) {
        goto out;
    }
    find_section_lines(cfg);
    rc = check_all(cfg, err, errlen);
out:
    if (rc != MSG_OK) {
        memset(cfg->mqtt_password, 0, sizeof(cfg->mqtt_password));
    }
    return rc;
}

void agent_config_store_limits(const struct agent_config *cfg, struct agent_store_limits *out)
{
    out->max_readings = cfg->store_max_readings;
    out->max_bytes = cfg->store_max_bytes;
    out->max_age_ms = cfg->store_max_age_ms;
    out->max_rejected = cfg->store_max_rejected;
    out->keep_acked_ms = cfg->store_keep_acked_ms;
}

void agent_config_pacing(const struct agent_config *cfg, struct agent_pacing *out)
{
    memset(out, 0, sizeof(*out));
    out->kind = "any";
    for (size_t k = 0; k < KINDS; k++) {
        if (cfg->device_kind[0] == '\0') {
            /* no kind: the lowest rate and burst of all, safe for any device */
            if (k == 0 || agent_kind_limits[k].rate < out->limit_rate) {
                out->limit_rate = agent_kind_limits[k].rate;
            }
            if (k == 0 || agent_kind_limits[k].burst < out->limit_burst) {
                out->limit_burst = agent_kind_limits[k].burst;
            }
        } else if (strcmp(agent_kind_limits[k].kind, cfg->device_kind) == 0) {
            out->kind = agent_kind_limits[k].kind;
            out->limit_rate = agent_kind_limits[k].rate;
            out->limit_burst = agent_kind_limits[k].burst;
        }
    }
    out->rate = cfg->publish_rate > 0 ? cfg->publish_rate
                                      : out->limit_rate * AGENT_PACE_RATE_SHARE;
    out->burst = cfg->publish_burst > 0 ? (double)cfg->publish_burst
                                        : floor(out->limit_burst * AGENT_PACE_BURST_SHARE);
    if (out->burst < 1.0) {
        out->burst = 1.0;
    }
}

void agent_config_print(FILE *f)
{
    fprintf(f, "# pantau-agent configuration: `key value` lines, # comments\n");
    conf_print(f, agent_keys);
    for (size_t i = 0; agent_sources[i] != NULL; i++) {
        const struct agent_source *s = agent_sources[i];

        fprintf(f, "\n# [source %s]: %s\n", s->name, s->summary != NULL ? s->summary : "");
        if (s->keys != NULL) {
            conf_print(f, s->keys);
        }
    }
}

int agent_config_log_level(const struct agent_config *cfg)
{
    int level = LOG_INFO;

    if (log_level_from_name(cfg->log_level, &level) != MSG_OK) {
        level = LOG_INFO;
    }
    return level;
}
