/* alertd_config.c -- pantau-alertd's config keys and their checks: see alertd_config.h. */
#include "alertd_config.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "msg_topic.h"

#define KEY(name, type, def, field, lo, hi, help)                    \
    {                                                                \
        name, type, def, offsetof(struct alertd_config, field),      \
            sizeof(((struct alertd_config *)0)->field), lo, hi, help \
    }

static const struct conf_key alertd_keys[] = {
    KEY("alertd_id", CONF_STR, "alertd", alertd_id, 0, 0,
        "this alert service's id (MQTT client id, logs); unique per instance"),
    KEY("db_conninfo", CONF_STR, NULL, db_conninfo, 0, 0,
        "libpq connection string, without the password (a user in pantau_alertd)"),
    KEY("db_password_file", CONF_SECRET_FILE, "", db_password, 0, 0,
        "file whose first line is the database password (none: peer or trust authentication)"),
    KEY("mqtt", CONF_BOOL, "true", mqtt, 0, 0,
        "deliver the mqtt channel (false: its deliveries wait for another instance)"),
    KEY("mqtt_host", CONF_STR, "localhost", mqtt_host, 0, 0, "broker host name or address"),
    KEY("mqtt_port", CONF_INT, "1883", mqtt_port, 1, 65535, "broker TCP port"),
    KEY("mqtt_keepalive", CONF_MS, "30s", mqtt_keepalive_ms, 5000, 3600000,
        "MQTT keep-alive interval"),
    KEY("mqtt_username", CONF_STR, "", mqtt_username, 0, 0, "MQTT user name (empty: none)"),
    KEY("mqtt_password_file", CONF_SECRET_FILE, "", mqtt_password, 0, 0,
        "file whose first line is the MQTT password (none: no password)"),
    KEY("mqtt_tls", CONF_BOOL, "false", mqtt_tls, 0, 0,
        "TLS to the broker (the server's certificate is verified)"),
    KEY("mqtt_tls_cafile", CONF_STR, "", mqtt_tls_cafile, 0, 0,
        "CA certificates (PEM) that verify the broker; empty: the system's"),
    KEY("mqtt_tls_certfile", CONF_STR, "", mqtt_tls_certfile, 0, 0,
        "client certificate (PEM), with mqtt_tls_keyfile; empty: none"),
    KEY("mqtt_tls_keyfile", CONF_STR, "", mqtt_tls_keyfile, 0, 0,
        "the client certificate's private key (PEM)"),
    KEY("puback_timeout", CONF_MS, "10s", puback_timeout_ms, 100, 600000,
        "a published alert without PUBACK by then is tried again later"),
    KEY("webhook_url", CONF_STR, "", webhook_url, 0, 0,
        "http(s) URL every webhook delivery is POSTed to (empty: the webhook channel is not "
        "delivered)"),
    KEY("webhook_secret_file", CONF_SECRET_FILE, "", webhook_secret, 0, 0,
        "file whose first line is the HMAC-SHA256 key of the X-Pantau-Signature header "
        "(none: unsigned)"),
    KEY("webhook_timeout", CONF_MS, "10s", webhook_timeout_ms, 100, 600000,
        "longest a webhook POST may take, connection included"),
    KEY("webhook_connect_timeout", CONF_MS, "5s", webhook_connect_timeout_ms, 100, 600000,
        "longest the connection to the webhook may take"),
    KEY("evaluate_batch", CONF_INT, "50", evaluate_batch, 1, 100000,
        "queue items per pantau_alert.evaluate() call (one transaction; about a gauge each)"),
    KEY("delivery_batch", CONF_INT, "50", delivery_batch, 1, 10000,
        "deliveries claimed per transaction"),
    KEY("poll_interval", CONF_MS, "5s", poll_interval_ms, 10, 600000,
        "without a NOTIFY, evaluate and look for due deliveries this often"),
    KEY("escalate_interval", CONF_MS, "10s", escalate_interval_ms, 10, 3600000,
        "how often pantau_alert.escalate(now()) runs"),
    KEY("time_rules_interval", CONF_MS, "30s", time_rules_interval_ms, 10, 3600000,
        "how often pantau_alert.evaluate_time(now()) runs: silent gauges, offline gateways, "
        "the dead-letter rate, growing backlogs; and how often a collector that is down is "
        "reported again to pantau_alert.service_state"),
    KEY("retry_min", CONF_MS, "5s", retry_min_ms, 10, 86400000,
        "first retry delay of a failed delivery"),
    KEY("retry_max", CONF_MS, "10m", retry_max_ms, 10, 86400000,
        "longest retry delay of a failed delivery (the delay doubles up to this)"),
    KEY("give_up_after", CONF_MS, "48h", give_up_after_ms, 1000, 2592000000LL,
        "a delivery still failing this long after it was written is marked failed"),
    KEY("backoff_min", CONF_MS, "250ms", backoff_min_ms, 10, 600000,
        "first reconnect delay after a database failure"),
    KEY("backoff_max", CONF_MS, "30s", backoff_max_ms, 10, 3600000,
        "longest reconnect delay after database failures"),
    KEY("summary_interval", CONF_MS, "60s", summary_interval_ms, 1000, 3600000,
        "interval of the INFO summary line"),
    KEY("metrics_address", CONF_STR, "127.0.0.1", metrics_address, 0, 0,
        "address of the Prometheus /metrics responder"),
    KEY("metrics_port", CONF_INT, "0", metrics_port, 0, 65535,
        "port of the Prometheus /metrics responder (0: off)"),
    KEY("log_level", CONF_STR, "notice", log_level, 0, 0, "err, warning, notice, info or debug"),
    CONF_END,
};

#define UKEY(name, type, def, field, help)                               \
    {                                                                    \
        name, type, def, offsetof(struct alertd_unit_webhook, field),    \
            sizeof(((struct alertd_unit_webhook *)0)->field), 0, 0, help \
    }

/* The keys of a `[unit <id>]` section. */
static const struct conf_key unit_keys[] = {
    UKEY("webhook_url", CONF_STR, NULL, url,
         "http(s) URL this unit's webhook deliveries are POSTed to, instead of the global one"),
    UKEY("webhook_secret_file", CONF_SECRET_FILE, "", secret,
         "file whose first line is the HMAC-SHA256 key for this unit's URL (none: unsigned)"),
    CONF_END,
};

/* The `[unit <id>]` callback of conf_load: a new unit webhook. */
static const struct conf_key *on_section(void *ctx, const char *name, const char *arg, void **obj,
                                         char *err, size_t errlen)
{
    struct alertd_config *cfg = ctx;
    struct alertd_unit_webhook *u = NULL;

    if (strcmp(name, "unit") != 0) {
        snprintf(err, errlen, "unknown section '%s' (only [unit <id>])", name);
        return NULL;
    }
    if (!msg_id_valid(arg, strlen(arg)) || strlen(arg) > ALERTD_ID_MAX) {
        snprintf(err, errlen, "not a unit id (1-64 of a-z 0-9 . _ -)");
        return NULL;
    }
    for (size_t i = 0; i < cfg->nunits; i++) {
        if (strcmp(cfg->units[i].unit, arg) == 0) {
            snprintf(err, errlen, "unit given twice");
            return NULL;
        }
    }
    if (cfg->nunits >= ALERTD_UNITS_MAX) {
        snprintf(err, errlen, "more than %d units", ALERTD_UNITS_MAX);
        return NULL;
    }
    u = &cfg->units[cfg->nunits++];
    memset(u, 0, sizeof(*u));
    snprintf(u->unit, sizeof(u->unit), "%s", arg);
    *obj = u;
    return unit_keys;
}

/* The line of the key of section [unit <unit>] in path, or 0. */
static unsigned unit_key_line(const char *path, const char *unit, const char *key)
{
    FILE *f = fopen(path, "r");
    char line[ALERTD_URL_MAX + 100];
    char head[ALERTD_ID_MAX + 16];
    size_t klen = strlen(key);
    unsigned lineno = 0;
    unsigned found = 0;
    bool inside = false;

    if (f == NULL) {
        return 0;
    }
    snprintf(head, sizeof(head), "[unit %s]", unit);
    while (found == 0 && fgets(line, sizeof(line), f) != NULL) {
        const char *p = line;

        lineno++;
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (*p == '[') {
            inside = strncmp(p, head, strlen(head)) == 0;
        } else if (inside && strncmp(p, key, klen) == 0 && (p[klen] == ' ' || p[klen] == '\t')) {
            found = lineno;
        }
    }
    fclose(f);
    return found;
}

int alertd_config_log_level(const struct alertd_config *cfg)
{
    int level = LOG_NOTICE;

    if (log_level_from_name(cfg->log_level, &level) != MSG_OK) {
        return LOG_NOTICE;
    }
    return level;
}

/* The line of path that sets key, or 0 (a default): for errors that conf_load cannot see,
 * which concern a value's meaning rather than its syntax. */
static unsigned key_line(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    char line[ALERTD_URL_MAX + 100];
    size_t klen = strlen(key);
    unsigned lineno = 0;
    unsigned found = 0;

    if (f == NULL) {
        return 0;
    }
    while (found == 0 && fgets(line, sizeof(line), f) != NULL) {
        const char *p = line;

        lineno++;
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (*p == '[') {
            break; /* a section's keys are not the file's */
        }
        if (strncmp(p, key, klen) == 0 && (p[klen] == ' ' || p[klen] == '\t')) {
            found = lineno;
        }
    }
    fclose(f);
    return found;
}

/* err = "FILE:LINE: KEY: why" (or "FILE: KEY: why" for a key left at its default). */
static void key_error(char *err, size_t errlen, const char *path, const char *key, const char *why)
{
    unsigned line = key_line(path, key);

    if (line > 0) {
        snprintf(err, errlen, "%s:%u: %s: %s", path, line, key, why);
    } else {
        snprintf(err, errlen, "%s: %s: %s", path, key, why);
    }
}

void alertd_config_wipe(struct alertd_config *cfg)
{
    memset(cfg->db_password, 0, sizeof(cfg->db_password));
    memset(cfg->mqtt_password, 0, sizeof(cfg->mqtt_password));
    memset(cfg->webhook_secret, 0, sizeof(cfg->webhook_secret));
    for (size_t i = 0; i < ALERTD_UNITS_MAX; i++) {
        memset(cfg->units[i].secret, 0, sizeof(cfg->units[i].secret));
    }
}

int alertd_config_load(const char *path, struct alertd_config *cfg, char *err, size_t errlen)
{
    int level = 0;
    int rc;

    memset(cfg, 0, sizeof(*cfg));
    rc = conf_load(path, alertd_keys, cfg, on_section, cfg, err, errlen);
    if (rc != MSG_OK) {
        goto out;
    }
    rc = MSG_ERR_CONFIG;
    if (!msg_id_valid(cfg->alertd_id, strlen(cfg->alertd_id))) {
        key_error(err, errlen, path, "alertd_id", "not an id (1-64 of a-z 0-9 . _ -)");
        goto out;
    }
    if (strstr(cfg->db_conninfo, "password") != NULL) {
        key_error(err, errlen, path, "db_conninfo",
                  "must not hold the password (use db_password_file)");
        goto out;
    }
    if (cfg->webhook_url[0] != '\0' && strncmp(cfg->webhook_url, "http://", 7) != 0 &&
        strncmp(cfg->webhook_url, "https://", 8) != 0) {
        key_error(err, errlen, path, "webhook_url", "not an http:// or https:// URL");
        goto out;
    }
    if (cfg->webhook_url[0] == '\0' && cfg->webhook_secret[0] != '\0') {
        key_error(err, errlen, path, "webhook_secret_file", "set without webhook_url");
        goto out;
    }
    for (size_t i = 0; i < cfg->nunits; i++) {
        const char *url = cfg->units[i].url;

        if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
            snprintf(err, errlen, "%s:%u: webhook_url: not an http:// or https:// URL in [unit %s]",
                     path, unit_key_line(path, cfg->units[i].unit, "webhook_url"),
                     cfg->units[i].unit);
            goto out;
        }
    }
    if (!cfg->mqtt && cfg->webhook_url[0] == '\0' && cfg->nunits == 0) {
        key_error(err, errlen, path, "mqtt", "false and no webhook_url: nothing to deliver");
        goto out;
    }
    if ((cfg->mqtt_tls_certfile[0] != '\0') != (cfg->mqtt_tls_keyfile[0] != '\0')) {
        key_error(err, errlen, path,
                  cfg->mqtt_tls_certfile[0] != '\0' ? "mqtt_tls_certfile" : "mqtt_tls_keyfile",
                  "mqtt_tls_certfile and mqtt_tls_keyfile go together");
        goto out;
    }
    if (!cfg->mqtt_tls && (cfg->mqtt_tls_cafile[0] != '\0' || cfg->mqtt_tls_certfile[0] != '\0')) {
        key_error(err, errlen, path,
                  cfg->mqtt_tls_cafile[0] != '\0' ? "mqtt_tls_cafile" : "mqtt_tls_certfile",
                  "set without mqtt_tls true");
        goto out;
    }
    {
        const char *const keys[] = {"mqtt_tls_cafile", "mqtt_tls_certfile", "mqtt_tls_keyfile"};
        const char *const paths[] = {cfg->mqtt_tls_cafile, cfg->mqtt_tls_certfile,
                                     cfg->mqtt_tls_keyfile};

        for (size_t i = 0; i < 3; i++) {
            if (paths[i][0] != '\0' && access(paths[i], R_OK) != 0) {
                char why[ALERTD_PATH_MAX + 64];

                snprintf(why, sizeof(why), "cannot read '%s': %s", paths[i], strerror(errno));
                key_error(err, errlen, path, keys[i], why);
                goto out;
            }
        }
    }
    if (cfg->retry_max_ms < cfg->retry_min_ms) {
        key_error(err, errlen, path, "retry_max", "must not be below retry_min");
        goto out;
    }
    if (cfg->backoff_max_ms < cfg->backoff_min_ms) {
        key_error(err, errlen, path, "backoff_max", "must not be below backoff_min");
        goto out;
    }
    if (log_level_from_name(cfg->log_level, &level) != MSG_OK) {
        key_error(err, errlen, path, "log_level", "not one of err, warning, notice, info, debug");
        goto out;
    }
    rc = MSG_OK;
out:
    if (rc != MSG_OK) {
        alertd_config_wipe(cfg);
    }
    return rc;
}

void alertd_config_print(FILE *f)
{
    conf_print(f, alertd_keys);
    fprintf(f, "\n# A unit's own webhook: any number of sections, after the keys above.\n"
               "#[unit <unit id>]\n");
    for (size_t i = 0; unit_keys[i].key != NULL; i++) {
        fprintf(f, "#%-24s %-16s # %s\n", unit_keys[i].key,
                unit_keys[i].def == NULL ? "(required)" : unit_keys[i].def, unit_keys[i].help);
    }
}
