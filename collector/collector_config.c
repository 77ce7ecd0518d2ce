/* collector_config.c -- the collector's config keys and their checks: see collector_config.h. */
#include "collector_config.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "msg_topic.h"

#define KEY(name, type, def, field, lo, hi, help)                       \
    {                                                                   \
        name, type, def, offsetof(struct collector_config, field),      \
            sizeof(((struct collector_config *)0)->field), lo, hi, help \
    }

static const struct conf_key collector_keys[] = {
    KEY("collector_id", CONF_STR, NULL, collector_id, 0, 0,
        "this collector's id (health topic, MQTT client id); unique per collector"),
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
    KEY("share_group", CONF_STR, "pantau-collectors", share_group, 0, 0,
        "MQTT 5 shared-subscription group; collectors in one group split the traffic"),
    KEY("db_conninfo", CONF_STR, NULL, db_conninfo, 0, 0,
        "libpq connection string, without the password"),
    KEY("db_password_file", CONF_SECRET_FILE, "", db_password, 0, 0,
        "file whose first line is the database password (none: peer or trust authentication)"),
    KEY("batch_rows", CONF_INT, "2000", batch_rows, 1, 20000, "readings per transaction, at most"),
    KEY("batch_bytes", CONF_INT, "4194304", batch_bytes, 262144, 268435456,
        "payload bytes per transaction, at most"),
    KEY("batch_ms", CONF_MS, "100ms", batch_ms, 1, 60000,
        "longest a reading waits for its batch to fill"),
    KEY("ack_interval_ms", CONF_MS, "200ms", ack_interval_ms, 10, 10000,
        "acknowledgements to one device are sent at most this often"),
    KEY("intake_bytes", CONF_INT, "8388608", intake_bytes, 1048576, 1073741824,
        "size of the intake buffer between the broker and the database, bytes"),
    KEY("intake_wait_ms", CONF_MS, "5s", intake_wait_ms, 10, 600000,
        "how long a message waits for room in a full intake buffer before it is left to "
        "its device to resend"),
    KEY("backoff_min_ms", CONF_MS, "250ms", backoff_min_ms, 10, 600000,
        "first retry delay after a database failure"),
    KEY("backoff_max_ms", CONF_MS, "30s", backoff_max_ms, 10, 3600000,
        "longest retry delay after database failures"),
    KEY("registry_refresh_ms", CONF_MS, "10s", registry_refresh_ms, 100, 3600000,
        "how often the cached device registry is reloaded"),
    KEY("registry_miss_ms", CONF_MS, "1s", registry_miss_ms, 0, 3600000,
        "an unknown device or station reloads the registry, at most this often"),
    KEY("health_interval_ms", CONF_MS, "60s", health_interval_ms, 1000, 60000,
        "health is published on every change and at least this often"),
    KEY("summary_interval_ms", CONF_MS, "60s", summary_interval_ms, 1000, 3600000,
        "interval of the INFO summary line"),
    KEY("stop_timeout_ms", CONF_MS, "10s", stop_timeout_ms, 0, 600000,
        "on SIGTERM, how long to try to commit the batch in hand"),
    KEY("rejected_per_minute", CONF_DOUBLE, "60", rejected_per_minute, 0.001, 1000000,
        "broker-refused messages stored per device and minute (token bucket refill)"),
    KEY("rejected_burst", CONF_INT, "100", rejected_burst, 1, 1000000,
        "broker-refused messages a device may have stored at once (token bucket size)"),
    KEY("metrics_address", CONF_STR, "127.0.0.1", metrics_address, 0, 0,
        "address of the Prometheus /metrics responder"),
    KEY("metrics_port", CONF_INT, "0", metrics_port, 0, 65535,
        "port of the Prometheus /metrics responder (0: off)"),
    KEY("log_level", CONF_STR, "notice", log_level, 0, 0, "err, warning, notice, info or debug"),
    CONF_END,
};

int collector_config_log_level(const struct collector_config *cfg)
{
    int level = LOG_NOTICE;

    if (log_level_from_name(cfg->log_level, &level) != MSG_OK) {
        return LOG_NOTICE;
    }
    return level;
}

int collector_config_load(const char *path, struct collector_config *cfg, char *err, size_t errlen)
{
    int level = 0;
    int rc;

    memset(cfg, 0, sizeof(*cfg));
    rc = conf_load(path, collector_keys, cfg, NULL, NULL, err, errlen);
    if (rc != MSG_OK) {
        goto out;
    }
    rc = MSG_ERR_CONFIG;
    if (!msg_id_valid(cfg->collector_id, strlen(cfg->collector_id))) {
        conf_key_error(err, errlen, path, "collector_id", "not an id (1-64 of a-z 0-9 . _ -)");
        goto out;
    }
    /* pantau's broker plugin takes the username as the identity, wants the client id (the
     * collector id) to equal it, and lets a collector publish health only under its own id. */
    if (cfg->mqtt_username[0] != '\0' && strcmp(cfg->mqtt_username, cfg->collector_id) != 0) {
        conf_key_error(err, errlen, path, "mqtt_username",
                       "must equal collector_id (the broker binds the client id and the health "
                       "topic to the username)");
        goto out;
    }
    if ((cfg->mqtt_tls_certfile[0] != '\0') != (cfg->mqtt_tls_keyfile[0] != '\0')) {
        conf_key_error(err, errlen, path,
                       cfg->mqtt_tls_certfile[0] != '\0' ? "mqtt_tls_certfile" : "mqtt_tls_keyfile",
                       "mqtt_tls_certfile and mqtt_tls_keyfile go together");
        goto out;
    }
    if (!cfg->mqtt_tls && (cfg->mqtt_tls_cafile[0] != '\0' || cfg->mqtt_tls_certfile[0] != '\0')) {
        conf_key_error(err, errlen, path,
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
                char why[COLLECTOR_PATH_MAX + 64];

                snprintf(why, sizeof(why), "cannot read '%s': %s", paths[i], strerror(errno));
                conf_key_error(err, errlen, path, keys[i], "%s", why);
                goto out;
            }
        }
    }
    if (!msg_id_valid(cfg->share_group, strlen(cfg->share_group))) {
        conf_key_error(err, errlen, path, "share_group", "not an id (1-64 of a-z 0-9 . _ -)");
        goto out;
    }
    if (cfg->backoff_max_ms < cfg->backoff_min_ms) {
        conf_key_error(err, errlen, path, "backoff_max_ms", "must not be below backoff_min_ms");
        goto out;
    }
    if (cfg->intake_bytes < cfg->batch_bytes / 4) {
        conf_key_error(err, errlen, path, "intake_bytes",
                       "must be at least a quarter of batch_bytes");
        goto out;
    }
    if (strstr(cfg->db_conninfo, "password") != NULL) {
        conf_key_error(err, errlen, path, "db_conninfo",
                       "must not hold the password (use db_password_file)");
        goto out;
    }
    if (log_level_from_name(cfg->log_level, &level) != MSG_OK) {
        conf_key_error(err, errlen, path, "log_level",
                       "not one of err, warning, notice, info, debug");
        goto out;
    }
    rc = MSG_OK;
out:
    if (rc != MSG_OK) {
        memset(cfg->db_password, 0, sizeof(cfg->db_password));
        memset(cfg->mqtt_password, 0, sizeof(cfg->mqtt_password));
    }
    return rc;
}

void collector_config_print(FILE *f)
{
    conf_print(f, collector_keys);
}
