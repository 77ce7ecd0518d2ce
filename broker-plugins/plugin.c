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
 * option must be listed by this file's table or a module's, or init fails naming it (fail
 * closed). plugin_opts_read, here, is the one reader of plugin_opt_ lines (plugin_module.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msg_err.h"
#include "plugin_module.h"

static const struct plugin_module *const modules[] = {
    &plugin_module_devauth,
    &plugin_module_devacl,
    &plugin_module_payval,
};
#define N_MODULES (sizeof(modules) / sizeof(modules[0]))

/* plugin.c's own options: the regcache's, and the metrics textfile. */
struct plugin_config {
    struct regcache_config cache;
    char metrics_textfile[512];
};

static const struct conf_key plugin_options[] = {
    {"db_conninfo", CONF_STR, NULL, offsetof(struct plugin_config, cache.conninfo),
     sizeof(((struct regcache_config *)0)->conninfo), 0, 0,
     "libpq connection string of a pantau_broker role (its password in a passfile)"},
    /* 8 bytes left for the suffix of regcache's temporary file */
    {"snapshot_file", CONF_STR, NULL, offsetof(struct plugin_config, cache.snapshot_path),
     sizeof(((struct regcache_config *)0)->snapshot_path) - 8, 0, 0,
     "the regcache's local copy of the registry"},
    {"reload_ms", CONF_INT, "5000", offsetof(struct plugin_config, cache.reload_ms),
     sizeof(long long), 100, 3600000, "full reload of the registry at least this often, ms"},
    {"metrics_textfile", CONF_STR, "", offsetof(struct plugin_config, metrics_textfile),
     sizeof(((struct plugin_config *)0)->metrics_textfile) - 8, 0, 0,
     "the modules' counters as a Prometheus textfile for node_exporter (a .prom file, written "
     "by a thread of its own at each stats_interval); empty: none"},
    CONF_END,
};

struct plugin {
    mosquitto_plugin_id_t *pid;
    struct promfile *pf;
    struct regcache *rc;
    void *state[N_MODULES];
    size_t started;                     /* modules[0..started) are running */
};

static bool key_listed(const struct conf_key *table, const char *key)
{
    for (; table != NULL && table->key != NULL; table++) {
        if (strcmp(table->key, key) == 0) {
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
        known = key_listed(plugin_options, opts[i].key);
        for (m = 0; m < N_MODULES && !known; m++) {
            known = key_listed(modules[m]->options, opts[i].key);
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

/* The value of key in opts[0..n), or NULL. */
static const char *opt_value(const struct mosquitto_opt *opts, int n, const char *key)
{
    int i;

    for (i = 0; i < n; i++) {
        if (opts[i].key != NULL && strcmp(opts[i].key, key) == 0) {
            return opts[i].value != NULL ? opts[i].value : "";
        }
    }
    return NULL;
}

int plugin_opts_read(const struct conf_key *table, void *obj, const struct mosquitto_opt *opts,
                     int n, char *err, size_t errlen)
{
    char why[MSG_ERRLEN] = "";
    const char *value;
    size_t i;

    if (conf_defaults(table, obj, why, sizeof(why)) != MSG_OK) {
        snprintf(err, errlen, "pantau_broker: internal: %s", why);
        return MOSQ_ERR_INVAL;
    }
    for (i = 0; table[i].key != NULL; i++) {
        value = opt_value(opts, n, table[i].key);
        if (value == NULL) {
            if (table[i].def == NULL) {
                snprintf(err, errlen, "plugin_opt_%s is required (%s)", table[i].key,
                         table[i].help);
                return MOSQ_ERR_INVAL;
            }
            continue;
        }
        /* conf's "KEY: why" (a missing value too) becomes "plugin_opt_KEY: why" */
        if (conf_set(table, obj, table[i].key, value, why, sizeof(why)) != MSG_OK) {
            snprintf(err, errlen, "plugin_opt_%s", why);
            return MOSQ_ERR_INVAL;
        }
    }
    return MOSQ_ERR_SUCCESS;
}

int plugin_opts_rate(const char *key, const char *text, struct msg_bucket_rate *out, char *err,
                     size_t errlen)
{
    char why[MSG_ERRLEN] = "";

    if (msg_bucket_rate_parse(text, out, why, sizeof(why)) != MSG_OK) {
        snprintf(err, errlen, "plugin_opt_%s: %s", key, why);
        return MOSQ_ERR_INVAL;
    }
    return MOSQ_ERR_SUCCESS;
}

int plugin_callbacks_register(mosquitto_plugin_id_t *pid, const char *module,
                              const struct plugin_callback *cbs, void *state, char *err,
                              size_t errlen)
{
    size_t i;
    int rc;

    for (i = 0; cbs[i].cb != NULL; i++) {
        rc = mosquitto_callback_register(pid, cbs[i].event, cbs[i].cb, NULL, state);
        if (rc != MOSQ_ERR_SUCCESS) {
            snprintf(err, errlen, "%s: cannot register %s: %s", module, cbs[i].what,
                     mosquitto_strerror(rc));
            for (; i > 0; i--) {
                mosquitto_callback_unregister(pid, cbs[i - 1].event, cbs[i - 1].cb, NULL);
            }
            return rc;
        }
    }
    return MOSQ_ERR_SUCCESS;
}

void plugin_callbacks_unregister(mosquitto_plugin_id_t *pid, const struct plugin_callback *cbs)
{
    size_t n = 0;

    while (cbs[n].cb != NULL) {
        n++;
    }
    for (; n > 0; n--) {
        mosquitto_callback_unregister(pid, cbs[n - 1].event, cbs[n - 1].cb, NULL);
    }
}

const struct msg_bucket_rate plugin_log_rate = {1.0 / 60.0, 5.0};

bool plugin_log_take(struct msg_ratetable_entry *e, int bucket, int64_t now_ms,
                     uint64_t *suppressed, const char *what, char *more, size_t morelen)
{
    more[0] = '\0';
    if (e == NULL) {
        return true;
    }
    if (!msg_bucket_take(&e->b[bucket], &plugin_log_rate, now_ms)) {
        e->suppressed++;
        (*suppressed)++;
        return false;
    }
    if (e->suppressed > 0) {
        snprintf(more, morelen, " (%" PRIu64 " more %s not logged)", e->suppressed, what);
        e->suppressed = 0;
    }
    return true;
}

void plugin_log_forget(const struct msg_ratetable_entry *e, const char *module, const char *who,
                       const char *what)
{
    if (e->suppressed > 0) {
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "%s: %s=%s: %" PRIu64 " more %s not logged", module,
                             who, e->key, e->suppressed, what);
    }
}

bool plugin_refusal_pass(struct refusal_scratch *s, struct msg_bucket *b,
                         const struct msg_bucket_rate *rate, int64_t now_ms, int category,
                         const char *device, const char *topic, const char *reason,
                         const void *payload, size_t len)
{
    if (b == NULL || !msg_bucket_take(b, rate, now_ms)) {
        return false;
    }
    return refusal_forward_as(s, category, device, topic, reason, payload, len,
                              msg_clock_wall_ms()) == MOSQ_ERR_SUCCESS;
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
    promfile_free(p->pf);
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
    struct plugin_config cfg;
    struct plugin *p = NULL;
    char err[MSG_ERRLEN] = "";
    int rc;

    *userdata = NULL;
    rc = check_keys(options, option_count, err, sizeof(err));
    if (rc != MOSQ_ERR_SUCCESS) {
        goto fail;
    }
    memset(&cfg, 0, sizeof(cfg));
    rc = plugin_opts_read(plugin_options, &cfg, options, option_count, err, sizeof(err));
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
    if (cfg.metrics_textfile[0] != '\0') {
        p->pf = promfile_new(cfg.metrics_textfile, err, sizeof(err));
        if (p->pf == NULL) {
            rc = MOSQ_ERR_INVAL;
            goto fail;
        }
    }
    p->rc = regcache_new(&cfg.cache, err, sizeof(err));
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
        if (modules[p->started]->metrics != NULL) {
            modules[p->started]->metrics(p->state[p->started], p->pf);
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
