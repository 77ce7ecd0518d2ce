/* console_conf.c -- pantau-console's config keys and their checks: see console_conf.h. */
#include "console_conf.h"

#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

#include "conf.h"
#include "log.h"
#include "msg_secret.h"

#define KEY(name, type, def, field, lo, hi, help)                     \
    {                                                                 \
        name, type, def, offsetof(struct console_config, field),      \
            sizeof(((struct console_config *)0)->field), lo, hi, help \
    }

static const struct conf_key console_keys[] = {
    KEY("listen_address", CONF_STR, "127.0.0.1", listen_address, 0, 0,
        "IPv4 address the console listens on (behind nginx: 127.0.0.1)"),
    KEY("listen_port", CONF_INT, "8080", listen_port, 1, 65535, "TCP port of the console"),
    KEY("threads", CONF_INT, "4", threads, 1, 64,
        "HTTP threads (libmicrohttpd's pool; a login's password check holds one ~0.1 s)"),
    KEY("max_connections", CONF_INT, "512", max_connections, 8, 100000,
        "browser connections at most, live streams included"),
    KEY("max_sse_clients", CONF_INT, "256", max_sse_clients, 1, 100000,
        "live update streams (/api/events) at most"),
    KEY("web_dir", CONF_STR, "/usr/share/pantau/console", web_dir, 0, 0,
        "folder of the page (console/web in the source tree)"),
    KEY("js_lib_dir", CONF_STR, "/usr/share/javascript", js_lib_dir, 0, 0,
        "Debian's JavaScript libraries (libjs-leaflet, libjs-chart.js), served at /lib/"),
    KEY("tls_cert", CONF_STR, "", tls_cert, 0, 0,
        "PEM certificate for HTTPS (empty: plain HTTP, behind nginx for TLS)"),
    KEY("tls_key", CONF_STR, "", tls_key, 0, 0, "PEM private key of tls_cert"),
    KEY("behind_https", CONF_BOOL, "false", behind_https, 0, 0,
        "browsers reach the console over HTTPS through a proxy (nginx): its cookies get Secure"),
    KEY("tile_url", CONF_STR, "", tile_url, 0, 0,
        "map tiles, e.g. https://tiles.example/{z}/{x}/{y}.png (empty: no base map)"),
    KEY("db_conninfo", CONF_STR, NULL, db_conninfo, 0, 0,
        "libpq connection string, without the password (a user in pantau_console)"),
    KEY("db_read_conninfo", CONF_STR, "", db_read_conninfo, 0, 0,
        "libpq connection string of a streaming replica for the map and views (GET /api/map,"
        " gauge, traffic, jumantik, system); empty: they read db_conninfo too. Logins, alerts,"
        " acknowledgements and live updates always use db_conninfo"),
    KEY("db_password_file", CONF_SECRET_FILE, "", db_password, 0, 0,
        "file whose first line is the database password (none: peer or trust authentication);"
        " for db_read_conninfo too"),
    KEY("db_pool_size", CONF_INT, "4", db_pool_size, 1, 64,
        "database connections for requests (as many again to db_read_conninfo when set)"),
    KEY("db_wait", CONF_MS, "2s", db_wait_ms, 10, 60000,
        "longest a request waits for a free database connection (then 503)"),
    KEY("db_statement_timeout", CONF_MS, "5s", db_statement_timeout_ms, 100, 600000,
        "longest one API call may run in PostgreSQL (then 503)"),
    KEY("db_connect_timeout", CONF_MS, "3s", db_connect_timeout_ms, 2000, 60000,
        "longest a connection to PostgreSQL may take (whole seconds)"),
    KEY("session_idle_timeout", CONF_MS, "30m", session_idle_timeout_ms, 1000, 604800000LL,
        "a session unused this long is logged out"),
    KEY("max_sessions", CONF_INT, "1000", max_sessions, 1, 100000,
        "sessions at most (the least recently used goes)"),
    KEY("login_attempts_per_min", CONF_INT, "5", login_attempts_per_min, 1, 1000,
        "login attempts per user name and minute (a burst of as many)"),
    KEY("login_address_attempts_per_min", CONF_INT, "20", login_address_attempts_per_min, 1, 10000,
        "login attempts per client address and minute (a burst of as many)"),
    KEY("sse_keepalive", CONF_MS, "15s", sse_keepalive_ms, 1000, 600000,
        "a comment on every live stream this often (keeps proxies from closing it)"),
    KEY("sse_coalesce", CONF_MS, "500ms", sse_coalesce_ms, 10, 60000,
        "at most one `data` event per this time (new readings committed)"),
    KEY("log_level", CONF_STR, "notice", log_level, 0, 0, "err, warning, notice, info or debug"),
    CONF_END,
};

int console_config_log_level(const struct console_config *cfg)
{
    int level = LOG_NOTICE;

    if (log_level_from_name(cfg->log_level, &level) != MSG_OK) {
        return LOG_NOTICE;
    }
    return level;
}

static bool is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Checks of meaning, after the syntax: each error names the line that set the key. */
static int check(const char *path, const struct console_config *cfg, char *err, size_t errlen)
{
    int level;

    if (log_level_from_name(cfg->log_level, &level) != MSG_OK) {
        conf_key_error(err, errlen, path, "log_level",
                       "'%s' is not err, warning, notice, info or debug", cfg->log_level);
        return MSG_ERR_CONFIG;
    }
    if (!is_dir(cfg->web_dir)) {
        conf_key_error(err, errlen, path, "web_dir", "%s is not a folder", cfg->web_dir);
        return MSG_ERR_CONFIG;
    }
    if (!is_dir(cfg->js_lib_dir)) {
        conf_key_error(err, errlen, path, "js_lib_dir", "%s is not a folder", cfg->js_lib_dir);
        return MSG_ERR_CONFIG;
    }
    if ((cfg->tls_cert[0] == '\0') != (cfg->tls_key[0] == '\0')) {
        conf_key_error(err, errlen, path, cfg->tls_cert[0] == '\0' ? "tls_key" : "tls_cert",
                       "tls_cert and tls_key go together");
        return MSG_ERR_CONFIG;
    }
    if (cfg->tls_cert[0] != '\0' && !is_file(cfg->tls_cert)) {
        conf_key_error(err, errlen, path, "tls_cert", "%s is not a file", cfg->tls_cert);
        return MSG_ERR_CONFIG;
    }
    if (cfg->tls_key[0] != '\0' && !is_file(cfg->tls_key)) {
        conf_key_error(err, errlen, path, "tls_key", "%s is not a file", cfg->tls_key);
        return MSG_ERR_CONFIG;
    }
    if (cfg->tile_url[0] != '\0' && strncmp(cfg->tile_url, "https://", 8) != 0 &&
        strncmp(cfg->tile_url, "http://", 7) != 0 && cfg->tile_url[0] != '/') {
        conf_key_error(err, errlen, path, "tile_url",
                       "'%s' is not an http(s) URL or a path on this server", cfg->tile_url);
        return MSG_ERR_CONFIG;
    }
    if (cfg->tile_url[0] != '\0' && strpbrk(cfg->tile_url, " \"'<>;") != NULL) {
        conf_key_error(err, errlen, path, "tile_url", "has a space, a quote, <, > or ;");
        return MSG_ERR_CONFIG;
    }
    if (cfg->max_sse_clients > cfg->max_connections) {
        conf_key_error(err, errlen, path, "max_sse_clients",
                       "%lld is more than max_connections (%lld)", cfg->max_sse_clients,
                       cfg->max_connections);
        return MSG_ERR_CONFIG;
    }
    return MSG_OK;
}

int console_config_load(const char *path, struct console_config *cfg, char *err, size_t errlen)
{
    int rc;

    memset(cfg, 0, sizeof(*cfg));
    rc = conf_load(path, console_keys, cfg, NULL, NULL, err, errlen);
    if (rc != MSG_OK) {
        return rc;
    }
    return check(path, cfg, err, errlen);
}

void console_config_print(FILE *f)
{
    conf_print(f, console_keys);
}

void console_config_wipe(struct console_config *cfg)
{
    msg_secret_wipe(cfg->db_password, sizeof(cfg->db_password));
}
