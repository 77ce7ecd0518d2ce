/* collector_config.h -- the collector's configuration: keys, defaults, loading and checking.
 *
 * One `key value` file (mosquitto.conf's format, read by msg/conf.h) fills one struct
 * collector_config. Everything is checked here, before anything connects, so that `--check` and
 * a real start agree. Secrets (the database password, the MQTT password) live in files that the
 * config names; they are read into the struct and never printed.
 *
 * Not for: run-time state (see collector.h). */
#ifndef COLLECTOR_CONFIG_H
#define COLLECTOR_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include "msg_err.h"

#define COLLECTOR_ID_MAX 64
#define COLLECTOR_HOST_MAX 255
#define COLLECTOR_PATH_MAX 4096
#define COLLECTOR_CONNINFO_MAX 1024
#define COLLECTOR_SECRET_MAX 256

struct collector_config {
    char collector_id[COLLECTOR_ID_MAX + 1];
    /* MQTT */
    char mqtt_host[COLLECTOR_HOST_MAX + 1];
    long long mqtt_port;
    long long mqtt_keepalive_ms;
    char mqtt_username[COLLECTOR_ID_MAX + 1];    /* "" = none */
    char mqtt_password[COLLECTOR_SECRET_MAX];    /* first line of mqtt_password_file; secret */
    bool mqtt_tls;                               /* TLS to the broker */
    char mqtt_tls_cafile[COLLECTOR_PATH_MAX];    /* "" = the system's CAs (/etc/ssl/certs) */
    char mqtt_tls_certfile[COLLECTOR_PATH_MAX];  /* client certificate; "" = none */
    char mqtt_tls_keyfile[COLLECTOR_PATH_MAX];   /* its key; with mqtt_tls_certfile */
    char share_group[COLLECTOR_ID_MAX + 1];
    /* PostgreSQL */
    char db_conninfo[COLLECTOR_CONNINFO_MAX]; /* libpq conninfo, without the password */
    char db_password[COLLECTOR_SECRET_MAX];   /* from db_password_file; secret */
    /* batching and acknowledgements */
    long long batch_rows;
    long long batch_bytes;
    long long batch_ms;
    long long ack_interval_ms;
    long long intake_bytes;
    long long intake_wait_ms;
    long long backoff_min_ms;
    long long backoff_max_ms;
    long long registry_refresh_ms;
    long long registry_miss_ms;
    long long health_interval_ms;
    long long summary_interval_ms;
    long long stop_timeout_ms;
    /* dead letters refused by the broker: a token bucket per device */
    double rejected_per_minute;
    long long rejected_burst;
    /* observability */
    char metrics_address[COLLECTOR_HOST_MAX + 1];
    long long metrics_port; /* 0 = no HTTP responder */
    char log_level[16];
};

/* Loads path (borrowed) into *cfg (caller-owned; everything is copied in). Returns MSG_OK,
 * MSG_ERR_IO (the file cannot be read; err names it) or MSG_ERR_CONFIG (err reads
 * "FILE:LINE: KEY: why", or names the key that is missing or inconsistent). */
int collector_config_load(const char *path, struct collector_config *cfg, char *err, size_t errlen);

/* Writes every key with its default and help to f, in the config file's own syntax. */
void collector_config_print(FILE *f);

/* Log level named by cfg->log_level, as a syslog priority (LOG_ERR .. LOG_DEBUG). */
int collector_config_log_level(const struct collector_config *cfg);

#endif
