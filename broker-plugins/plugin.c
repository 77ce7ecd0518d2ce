/* plugin.c -- pantau_broker.so, pantau's mosquitto 2.0 plugin: the entry points and the wiring
 * of its modules (plugin_module.h): devauth, then devacl and payval when they are built in.
 *
 * Build: broker-plugins/CMakeLists.txt (target pantau_broker, a MODULE without the lib prefix).
 * Enable (deploy/mosquitto.conf; per_listener_settings false):
 *
 *   plugin /usr/lib/pantau/pantau_broker.so
 *   plugin_opt_db_conninfo host=/run/postgresql dbname=pantau user=pantau_broker
 *   plugin_opt_snapshot_file /var/lib/pantau/broker-registry.snapshot
 *   plugin_opt_key_file /etc/pantau/broker-device.key
 *
 * Options read here: db_conninfo (libpq connection string of a pantau_broker role; its
 * password belongs in a passfile, never here: it is not logged), snapshot_file (the regcache's
 * local copy; required) and reload_ms (full reload at least this often; default 5000). Every
 * option must be listed by this file or a module, or init fails naming it (fail closed). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg_err.h"
#include "plugin_module.h"

static const struct plugin_module *const modules[] = {
    &plugin_module_devauth,
#ifdef PANTAU_HAVE_DEVACL
    &plugin_module_devacl,
#endif
#ifdef PANTAU_HAVE_PAYVAL
    &plugin_module_payval,
#endif
};
#define N_MODULES (sizeof(modules) / sizeof(modules[0]))

static const char *const plugin_keys[] = {"db_conninfo", "snapshot_file", "reload_ms", NULL};

struct plugin {
    mosquitto_plugin_id_t *pid;
    struct regcache *rc;
    void *state[N_MODULES];
    size_t started;                     /* modules[0..started) are running */
};

static bool key_listed(const char *const *keys, const char *key)
{
    for (; keys != NULL && *keys != NULL; keys++) {
        if (strcmp(*keys, key) == 0) {
            return true;
        }
    }
    return false;
}

/* Every option known to someone, and none given twice. */
static int check_keys(struct mosquitto_opt *opts, int n, char *err, size_t errlen)
{
    bool known;
    size_t m;
    int i;
    int j;

    for (i = 0; i < n; i++) {
        known = key_listed(plugin_keys, opts[i].key);
        for (m = 0; m < N_MODULES && !known; m++) {
            known = key_listed(modules[m]->keys, opts[i].key);
        }
        if (!known) {
            snprintf(err, errlen, "unknown option plugin_opt_%s", opts[i].key);
            return MOSQ_ERR_INVAL;
        }
        for (j = 0; j < i; j++) {
            if (strcmp(opts[i].key, opts[j].key) == 0) {
                snprintf(err, errlen, "option plugin_opt_%s given twice", opts[i].key);
                return MOSQ_ERR_INVAL;
            }
        }
    }
    return MOSQ_ERR_SUCCESS;
}

static int read_config(struct mosquitto_opt *opts, int n, struct regcache_config *cfg, char *err,
                       size_t errlen)
{
    const char *conninfo = NULL;
    const char *snapshot = NULL;
    const char *reload = NULL;
    char *end = NULL;
    long long ms;
    int i;

    memset(cfg, 0, sizeof(*cfg));
    cfg->reload_ms = 5000;
    for (i = 0; i < n; i++) {
        if (strcmp(opts[i].key, "db_conninfo") == 0) {
            conninfo = opts[i].value;
        } else if (strcmp(opts[i].key, "snapshot_file") == 0) {
            snapshot = opts[i].value;
        } else if (strcmp(opts[i].key, "reload_ms") == 0) {
            reload = opts[i].value;
        }
    }
    if (conninfo == NULL || conninfo[0] == '\0') {
        snprintf(err, errlen, "plugin_opt_db_conninfo is required");
        return MOSQ_ERR_INVAL;
    }
    if (strlen(conninfo) >= sizeof(cfg->conninfo)) {
        snprintf(err, errlen, "plugin_opt_db_conninfo is longer than %zu bytes",
                 sizeof(cfg->conninfo) - 1);
        return MOSQ_ERR_INVAL;
    }
    if (snapshot == NULL || snapshot[0] == '\0') {
        snprintf(err, errlen, "plugin_opt_snapshot_file is required");
        return MOSQ_ERR_INVAL;
    }
    if (strlen(snapshot) >= sizeof(cfg->snapshot_path) - 8) {
        snprintf(err, errlen, "plugin_opt_snapshot_file is too long");
        return MOSQ_ERR_INVAL;
    }
    if (reload != NULL) {
        errno = 0;
        ms = strtoll(reload, &end, 10);
        if (errno != 0 || end == reload || *end != '\0' || ms < 100 || ms > 3600000) {
            snprintf(err, errlen, "plugin_opt_reload_ms: '%s' is not a number of ms in "
                     "[100, 3600000]", reload);
            return MOSQ_ERR_INVAL;
        }
        cfg->reload_ms = ms;
    }
    memcpy(cfg->conninfo, conninfo, strlen(conninfo) + 1);
    memcpy(cfg->snapshot_path, snapshot, strlen(snapshot) + 1);
    return MOSQ_ERR_SUCCESS;
}

/* regcache's hook: an account went from enabled to disabled or removed, or got a new secret.
 * Runs in the TICK callback that refreshed the cache (devauth's). */
static void kick(void *ctx, const char *username)
{
    (void)ctx;
    mosquitto_log_printf(MOSQ_LOG_NOTICE,
                         "pantau_broker: account %s disabled, removed or given a new secret: "
                         "disconnecting it",
                         username);
    mosquitto_kick_client_by_username(username, false);
}

static void plugin_free(struct plugin *p)
{
    size_t m;

    if (p == NULL) {
        return;
    }
    for (m = p->started; m > 0; m--) {
        modules[m - 1]->stop(p->state[m - 1], p->pid);
    }
    regcache_free(p->rc);
    free(p);
}

int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
    (void)supported_version_count;
    (void)supported_versions;
    return 5;
}

int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata,
                          struct mosquitto_opt *options, int option_count)
{
    struct regcache_config cfg;
    struct plugin *p = NULL;
    char err[MSG_ERRLEN] = "";
    int rc;

    *userdata = NULL;
    rc = check_keys(options, option_count, err, sizeof(err));
    if (rc != MOSQ_ERR_SUCCESS) {
        goto fail;
    }
    rc = read_config(options, option_count, &cfg, err, sizeof(err));
    if (rc != MOSQ_ERR_SUCCESS) {
        goto fail;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        snprintf(err, sizeof(err), "out of memory");
        rc = MOSQ_ERR_NOMEM;
        goto fail;
    }
    p->pid = identifier;
    p->rc = regcache_new(&cfg, err, sizeof(err));
    if (p->rc == NULL) {
        rc = MOSQ_ERR_UNKNOWN;
        goto fail;
    }
    regcache_on_gone(p->rc, kick, NULL);
    for (p->started = 0; p->started < N_MODULES; p->started++) {
        rc = modules[p->started]->start(&p->state[p->started], identifier, p->rc, options,
                                        option_count, err, sizeof(err));
        if (rc != MOSQ_ERR_SUCCESS) {
            goto fail;
        }
    }
    mosquitto_log_printf(MOSQ_LOG_NOTICE, "pantau_broker: started with %zu modules", N_MODULES);
    *userdata = p;
    return MOSQ_ERR_SUCCESS;
fail:
    mosquitto_log_printf(MOSQ_LOG_ERR, "pantau_broker: init failed: %s", err);
    plugin_free(p);
    return rc == MOSQ_ERR_SUCCESS ? MOSQ_ERR_INVAL : rc;
}

int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options, int option_count)
{
    (void)options;
    (void)option_count;
    plugin_free(userdata);
    return MOSQ_ERR_SUCCESS;
}
