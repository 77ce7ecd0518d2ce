/* alertd_config.h -- pantau-alertd's configuration: keys, defaults, loading and checking.
 *
 * One `key value` file (mosquitto.conf's format, read by msg/conf.h) fills one struct
 * alertd_config. Everything is checked here, before anything connects, so that `--check` and a
 * real start agree. Secrets (the database password, the MQTT password, the webhook's HMAC key)
 * live in files that the config names; they are read into the struct and never printed.
 * Sections `[unit <id>]` (after the keys) give a unit its own webhook_url and
 * webhook_secret_file; the unit's webhook deliveries go there instead of to webhook_url.
 *
 * Not for: run-time state (see alertd.h). */
#ifndef ALERTD_CONFIG_H
#define ALERTD_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include "msg_err.h"

#define ALERTD_ID_MAX 64
#define ALERTD_HOST_MAX 255
#define ALERTD_URL_MAX 2048
#define ALERTD_CONNINFO_MAX 1024
#define ALERTD_SECRET_MAX 256
#define ALERTD_PATH_MAX 1024
#define ALERTD_UNITS_MAX 32 /* [unit <id>] sections */

/* A unit's own webhook: a `[unit <id>]` section (alertd/README.md says why in the config). */
struct alertd_unit_webhook {
    char unit[ALERTD_ID_MAX + 1];
    char url[ALERTD_URL_MAX];
    char secret[ALERTD_SECRET_MAX]; /* "" = unsigned; secret */
};

struct alertd_config {
    char alertd_id[ALERTD_ID_MAX + 1];
    /* PostgreSQL */
    char db_conninfo[ALERTD_CONNINFO_MAX]; /* libpq conninfo, without the password */
    char db_password[ALERTD_SECRET_MAX];   /* from db_password_file; secret */
    /* MQTT */
    bool mqtt; /* deliver the mqtt channel */
    char mqtt_host[ALERTD_HOST_MAX + 1];
    long long mqtt_port;
    long long mqtt_keepalive_ms;
    char mqtt_username[ALERTD_ID_MAX + 1]; /* "" = none */
    char mqtt_password[ALERTD_SECRET_MAX]; /* first line of mqtt_password_file; secret */
    long long puback_timeout_ms;
    bool mqtt_tls;                           /* TLS to the broker, its certificate verified */
    char mqtt_tls_cafile[ALERTD_PATH_MAX];   /* "" = the system's CAs */
    char mqtt_tls_certfile[ALERTD_PATH_MAX]; /* client certificate; "" = none */
    char mqtt_tls_keyfile[ALERTD_PATH_MAX];
    /* webhook */
    char webhook_url[ALERTD_URL_MAX];       /* "" = the webhook channel is not delivered */
    char webhook_secret[ALERTD_SECRET_MAX]; /* HMAC-SHA256 key; "" = unsigned; secret */
    long long webhook_timeout_ms;
    long long webhook_connect_timeout_ms;
    struct alertd_unit_webhook units[ALERTD_UNITS_MAX]; /* its own URL for a unit */
    size_t nunits;
    /* the loop */
    long long evaluate_batch;
    long long delivery_batch;
    long long poll_interval_ms;
    long long escalate_interval_ms;
    long long time_rules_interval_ms;
    long long retry_min_ms;
    long long retry_max_ms;
    long long give_up_after_ms;
    long long backoff_min_ms;
    long long backoff_max_ms;
    long long summary_interval_ms;
    /* observability */
    char metrics_address[ALERTD_HOST_MAX + 1];
    long long metrics_port; /* 0 = no HTTP responder */
    char log_level[16];
};

/* Loads path (borrowed) into *cfg (caller-owned; everything is copied in). Returns MSG_OK,
 * MSG_ERR_IO (the file cannot be read; err names it) or MSG_ERR_CONFIG (err reads
 * "FILE:LINE: KEY: why", or "FILE: KEY: why" for a key left at its default). */
int alertd_config_load(const char *path, struct alertd_config *cfg, char *err, size_t errlen);

/* Writes every key with its default and help to f, in the config file's own syntax. */
void alertd_config_print(FILE *f);

/* Log level named by cfg->log_level, as a syslog priority (LOG_ERR .. LOG_DEBUG). */
int alertd_config_log_level(const struct alertd_config *cfg);

/* Zeroes every secret of cfg. */
void alertd_config_wipe(struct alertd_config *cfg);

#endif
