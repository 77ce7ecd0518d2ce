/* console_conf.h -- pantau-console's configuration: keys, defaults, loading and checking.
 *
 * One `key value` file (mosquitto.conf's format, read by msg/conf.h) fills one struct
 * console_config. Everything is checked here, before anything listens or connects, so that
 * `--check` and a real start agree; errors read "FILE:LINE: KEY: why". The database password
 * lives in a file the config names and is never printed.
 *
 * Not for: run-time state (http.h, auth.h, db.h). */
#ifndef CONSOLE_CONF_H
#define CONSOLE_CONF_H

#include <stdbool.h>
#include <stdio.h>

#include "msg_err.h"

#define CONSOLE_PATH_MAX 1024
#define CONSOLE_CONNINFO_MAX 1024
#define CONSOLE_SECRET_MAX 256
#define CONSOLE_HOST_MAX 255
#define CONSOLE_URL_MAX 1024

struct console_config {
    char listen_address[CONSOLE_HOST_MAX + 1];
    long long listen_port;
    long long threads;         /* MHD's thread pool */
    long long max_connections; /* browsers' connections, SSE streams included */
    long long max_sse_clients;
    char web_dir[CONSOLE_PATH_MAX];    /* console/web: the page */
    char js_lib_dir[CONSOLE_PATH_MAX]; /* Debian's /usr/share/javascript, served at /lib/ */
    char tls_cert[CONSOLE_PATH_MAX];   /* "" = plain HTTP (behind nginx) */
    char tls_key[CONSOLE_PATH_MAX];
    bool behind_https; /* browsers reach it over HTTPS through a proxy: cookies get Secure */
    char tile_url[CONSOLE_URL_MAX]; /* "" = no base tiles */
    /* PostgreSQL */
    char db_conninfo[CONSOLE_CONNINFO_MAX];
    /* the map and views' reads: a streaming replica ("" = db_conninfo); same password */
    char db_read_conninfo[CONSOLE_CONNINFO_MAX];
    char db_password[CONSOLE_SECRET_MAX]; /* from db_password_file; secret */
    long long db_pool_size;
    long long db_wait_ms;
    long long db_statement_timeout_ms;
    long long db_connect_timeout_ms;
    /* people */
    long long session_idle_timeout_ms;
    long long max_sessions;
    long long login_attempts_per_min;         /* per user name */
    long long login_address_attempts_per_min; /* per client address */
    /* live updates */
    long long sse_keepalive_ms;
    long long sse_coalesce_ms;
    char log_level[16];
};

/* Loads path (borrowed) into *cfg (caller-owned). Returns MSG_OK, MSG_ERR_IO (the file cannot
 * be read; err names it) or MSG_ERR_CONFIG (err reads "FILE:LINE: KEY: why", or "FILE: KEY:
 * why" for a key left at its default). */
int console_config_load(const char *path, struct console_config *cfg, char *err, size_t errlen);

/* Writes every key with its default and help to f, in the config file's own syntax. */
void console_config_print(FILE *f);

/* Log level named by cfg->log_level, as a syslog priority. */
int console_config_log_level(const struct console_config *cfg);

/* Zeroes the secrets of cfg. */
void console_config_wipe(struct console_config *cfg);

#endif
