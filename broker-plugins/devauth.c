/* devauth.c -- MOSQ_EVT_BASIC_AUTH against the regcache; see devauth.h for the rules. */
#include "devauth.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "msg_err.h"
#include "msg_hash.h"
#include "msg_topic.h"
#include "plugin_module.h"
#include "secret.h"
#include "stats.h"

#define STATS_TOPIC STATS_TOPIC_PREFIX "devauth"
#define UNKNOWN_LOGS_PER_INTERVAL 10    /* refusals of names that have no entry */

/* What devauth remembers about one known username. */
struct user_entry {
    char username[MSG_ID_MAX + 1];      /* "" = free slot */
    unsigned fails;                     /* failed slow checks in the window */
    int64_t window_start_ms;
    int64_t last_log_ms;                /* INT64_MIN: never */
    bool has_ok;
    uint64_t ok_version;
    int64_t ok_expires_ms;
    unsigned char ok_digest[SECRET_DIGEST_BYTES];
};

struct devauth {
    struct promfile *pf; /* the textfile its counters go to as well; NULL: none */
    mosquitto_plugin_id_t *pid;
    struct regcache *rc;                /* borrowed from plugin.c */
    struct secret_key key;
    unsigned char digest_key[32];       /* random per process: digests mean nothing elsewhere */
    /* options */
    double slow_per_sec;
    double slow_burst;
    unsigned fail_max;
    int64_t fail_window_ms;
    int64_t cache_ttl_ms;
    size_t cache_max;
    int64_t stats_interval_ms;
    /* state, broker thread only */
    double tokens;
    int64_t tokens_ms;
    struct user_entry *users;           /* open addressing, n_slots a power of two */
    size_t n_slots;
    size_t n_used;
    int64_t next_stats_ms;
    int64_t interval_start_ms;
    unsigned unknown_logs;              /* in the current interval */
    struct devauth_counters c;
};

static const char *const reason_names[DEVAUTH_REASON_COUNT] = {
    "unknown_user", "bad_secret", "disabled", "client_id_mismatch",
    "bad_id", "rate_limited", "slow_budget", "bad_hash", "no_mqtt_role",
};

const char *devauth_reason_name(enum devauth_reason r)
{
    if ((unsigned)r >= DEVAUTH_REASON_COUNT) {
        return "?";
    }
    return reason_names[r];
}

/* ---- options ---- */

/* What plugin_opts_read fills from the plugin_opt_ lines (devauth.h lists them). */
struct devauth_options {
    char key_file[PATH_MAX];
    long long slow_per_sec;
    long long slow_burst;
    long long fail_max;
    long long fail_window_s;
    long long cache_ttl_s;
    long long cache_max;
    long long stats_interval_s;
};

#define DEVAUTH_INT(key, def, field, min, max, help)                                           \
    {(key), CONF_INT, (def), offsetof(struct devauth_options, field), sizeof(long long), (min),  \
     (max), (help)}

static const struct conf_key devauth_options[] = {
    {"key_file", CONF_STR, NULL, offsetof(struct devauth_options, key_file), PATH_MAX, 0, 0,
     "the server key of device keys"},
    DEVAUTH_INT("slow_checks_per_sec", "4", slow_per_sec, 1, 1000,
                "password checks per second, all users together"),
    DEVAUTH_INT("slow_burst", "4", slow_burst, 1, 1000, "the depth of that budget"),
    DEVAUTH_INT("fail_max", "5", fail_max, 1, 1000000,
                "failed password checks per user per window"),
    DEVAUTH_INT("fail_window_s", "60", fail_window_s, 1, 86400, "that window, seconds"),
    DEVAUTH_INT("cache_ttl_s", "3600", cache_ttl_s, 0, 7 * 86400,
                "how long a verified password is trusted, seconds"),
    DEVAUTH_INT("cache_max", "16384", cache_max, 16, 4 * 1024 * 1024,
                "users tracked for the cache and the failure limit"),
    STATS_INTERVAL_OPTION(struct devauth_options, stats_interval_s),
    CONF_END,
};

/* ---- the user table ---- */

/* The entry of username, made if absent (NULL when the table is full even after a reset). */
static struct user_entry *user_get(struct devauth *da, const char *username, bool make)
{
    size_t mask = da->n_slots - 1;
    size_t i = (size_t)msg_hash_of(username) & mask;
    struct user_entry *e;

    for (;;) {
        e = &da->users[i];
        if (e->username[0] == '\0') {
            break;
        }
        if (strcmp(e->username, username) == 0) {
            return e;
        }
        i = (i + 1) & mask;
    }
    if (!make) {
        return NULL;
    }
    if (da->n_used >= da->cache_max) {
        /* Full: start again. Only known accounts get entries, so this needs cache_max
         * accounts; what is lost is cached successes (more slow checks), not safety. */
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "devauth: user table full (%zu), cleared",
                             da->n_used);
        secret_wipe(da->users, da->n_slots * sizeof(*da->users));
        da->n_used = 0;
        return user_get(da, username, make);
    }
    memset(e, 0, sizeof(*e));
    memcpy(e->username, username, strlen(username) + 1);
    e->last_log_ms = INT64_MIN;
    da->n_used++;
    return e;
}

/* ---- refusals ---- */

static int refuse(struct devauth *da, enum devauth_reason r, const char *username,
                  const char *client_id, struct user_entry *e)
{
    int64_t now = msg_clock_mono_ms();
    bool log_it = false;

    da->c.refused[r]++;
    if (e != NULL) {
        if (e->last_log_ms == INT64_MIN || now - e->last_log_ms >= da->stats_interval_ms) {
            e->last_log_ms = now;
            log_it = true;
        }
    } else if (da->unknown_logs < UNKNOWN_LOGS_PER_INTERVAL) {
        da->unknown_logs++;
        log_it = true;
    }
    if (!log_it) {
        da->c.log_suppressed++;
    } else {
        /* only ids that passed msg_id_valid are printed: a mistyped password pasted into
         * the username field must not reach the log */
        mosquitto_log_printf(MOSQ_LOG_NOTICE,
                             "devauth: refused username=%s client_id=%s: %s (further refusals "
                             "of this kind counted on " STATS_TOPIC ")",
                             username ? username : "(invalid)", client_id ? client_id : "(invalid)",
                             devauth_reason_name(r));
    }
    return MOSQ_ERR_AUTH;
}

/* ---- the slow path ---- */

static bool take_token(struct devauth *da)
{
    int64_t now = msg_clock_mono_ms();

    da->tokens += (double)(now - da->tokens_ms) * da->slow_per_sec / 1000.0;
    da->tokens_ms = now;
    if (da->tokens > da->slow_burst) {
        da->tokens = da->slow_burst;
    }
    if (da->tokens < 1.0) {
        return false;
    }
    da->tokens -= 1.0;
    return true;
}

static int check_password(struct devauth *da, const struct regcache_account *a,
                          const char *password, const char *client_id)
{
    unsigned char digest[SECRET_DIGEST_BYTES];
    struct user_entry *e;
    int64_t now = msg_clock_mono_ms();
    size_t len = strlen(password);
    int v;
    int rc;

    secret_digest(da->digest_key, sizeof(da->digest_key), a->username, strlen(a->username),
                  password, len, digest);
    e = user_get(da, a->username, true);
    if (e != NULL && e->has_ok && e->ok_version == a->version && now < e->ok_expires_ms &&
        secret_equal(e->ok_digest, digest, sizeof(digest))) {
        da->c.cache_hits++;
        da->c.accepted++;
        rc = MOSQ_ERR_SUCCESS;
        goto out;
    }
    if (e != NULL && now - e->window_start_ms >= da->fail_window_ms) {
        e->fails = 0;
        e->window_start_ms = now;
    }
    if (e != NULL && e->fails >= da->fail_max) {
        rc = refuse(da, DEVAUTH_RATE_LIMITED, a->username, client_id, e);
        goto out;
    }
    if (!take_token(da)) {
        rc = refuse(da, DEVAUTH_SLOW_BUDGET, a->username, client_id, e);
        goto out;
    }
    da->c.slow_checks++;
    v = secret_verify(NULL, a->secret_hash, password, len);
    if (v == SECRET_MATCH) {
        if (e != NULL) {
            e->has_ok = true;
            e->ok_version = a->version;
            e->ok_expires_ms = msg_clock_mono_ms() + da->cache_ttl_ms;
            memcpy(e->ok_digest, digest, sizeof(digest));
            e->fails = 0;
        }
        da->c.accepted++;
        rc = MOSQ_ERR_SUCCESS;
        goto out;
    }
    if (e != NULL) {
        if (e->fails == 0) {
            e->window_start_ms = now;
        }
        e->fails++;
        e->has_ok = false;
    }
    rc = refuse(da, v == SECRET_BAD_HASH ? DEVAUTH_BAD_HASH : DEVAUTH_BAD_SECRET, a->username,
                client_id, e);
out:
    secret_wipe(digest, sizeof(digest));
    return rc;
}

/* ---- callbacks ---- */

/* Whether accounts of role may connect at all (protocol.md 7.1: an officer has none; a
 * handheld logs in with its device account). Decided before any hash is computed. */
static bool role_has_mqtt(enum regcache_role role)
{
    switch (role) {
    case REGCACHE_ROLE_DEVICE:
    case REGCACHE_ROLE_COLLECTOR:
    case REGCACHE_ROLE_DASHBOARD:
    case REGCACHE_ROLE_ADMIN:
    case REGCACHE_ROLE_UNIT:
    case REGCACHE_ROLE_BRIDGE: /* an edge broker's bridge (schema/030) */
        return true;
    case REGCACHE_ROLE_OFFICER:
    case REGCACHE_ROLE_VIEWER: /* the web console's read-only account (schema/021) */
        return false;
    }
    return false;
}

static int on_basic_auth(int event, void *event_data, void *userdata)
{
    struct mosquitto_evt_basic_auth *ed = event_data;
    struct devauth *da = userdata;
    const struct regcache_account *a;
    const char *username = ed->username;
    const char *client_id = mosquitto_client_id(ed->client);
    bool user_ok;
    bool id_ok;
    int v;

    (void)event;
    user_ok = username != NULL && msg_id_valid(username, strlen(username));
    id_ok = client_id != NULL && msg_id_valid(client_id, strlen(client_id));
    if (!user_ok || !id_ok) {
        return refuse(da, DEVAUTH_BAD_ID, user_ok ? username : NULL, id_ok ? client_id : NULL,
                      NULL);
    }
    if (strcmp(username, client_id) != 0) {
        return refuse(da, DEVAUTH_CLIENT_ID_MISMATCH, username, client_id,
                      user_get(da, username, false));
    }
    a = regcache_find(da->rc, username);
    if (a == NULL) {
        return refuse(da, DEVAUTH_UNKNOWN_USER, username, client_id, NULL);
    }
    if (!a->enabled) {
        return refuse(da, DEVAUTH_DISABLED, username, client_id, user_get(da, username, true));
    }
    if (!role_has_mqtt(a->role)) {
        return refuse(da, DEVAUTH_NO_MQTT_ROLE, username, client_id,
                      user_get(da, username, true));
    }
    if (ed->password == NULL || ed->password[0] == '\0') {
        return refuse(da, DEVAUTH_BAD_SECRET, username, client_id, user_get(da, username, true));
    }
    switch (a->secret_kind) {
    case REGCACHE_SECRET_DEVICE_KEY:
        if (secret_hash_kind(a->secret_hash) != SECRET_KIND_HMAC) {
            return refuse(da, DEVAUTH_BAD_HASH, username, client_id,
                          user_get(da, username, true));
        }
        da->c.fast_checks++;
        v = secret_verify(&da->key, a->secret_hash, ed->password, strlen(ed->password));
        if (v != SECRET_MATCH) {
            return refuse(da, v == SECRET_BAD_HASH ? DEVAUTH_BAD_HASH : DEVAUTH_BAD_SECRET,
                          username, client_id, user_get(da, username, true));
        }
        da->c.accepted++;
        return MOSQ_ERR_SUCCESS;
    case REGCACHE_SECRET_PASSWORD:
        if (secret_hash_kind(a->secret_hash) != SECRET_KIND_PBKDF2) {
            return refuse(da, DEVAUTH_BAD_HASH, username, client_id,
                          user_get(da, username, true));
        }
        return check_password(da, a, ed->password, client_id);
    }
    return refuse(da, DEVAUTH_BAD_HASH, username, client_id, NULL);
}

/* Publishes the counters on $SYS/pantau/devauth (protocol.md 7.4): module, ts, the refusals by
 * reason and log_suppressed as devacl's and payval's have them; the flat refused_<reason>
 * members are kept for older readers. info: the regcache's now (borrowed). */
static void publish_stats(const struct devauth *da, const struct regcache_info *info)
{
    const struct stats_reasons reasons = {reason_names, da->c.refused, DEVAUTH_REASON_COUNT};
    const struct stats_member members[] = {
        STATS_U64_MEMBER("accepted", da->c.accepted),
        STATS_REASONS_MEMBER("refused", STATS_TOTAL),
        STATS_REASONS_MEMBER("refused_by_reason", STATS_BY_REASON),
        STATS_U64_MEMBER("log_suppressed", da->c.log_suppressed),
        STATS_REASONS_MEMBER("refused_", STATS_EACH_REASON),
        STATS_U64_MEMBER("cache_hits", da->c.cache_hits),
        STATS_U64_MEMBER("slow_checks", da->c.slow_checks),
        STATS_U64_MEMBER("fast_checks", da->c.fast_checks),
        STATS_GAUGE_MEMBER("registry_accounts", info->accounts),
        STATS_BOOL_MEMBER("registry_db_ok", info->db_ok),
        STATS_BOOL_MEMBER("registry_from_file", info->from_file),
        STATS_I64_MEMBER("registry_loaded_ms", info->loaded_ms),
    };

    stats_publish(da->pf, "devauth", &reasons, members, sizeof(members) / sizeof(members[0]));
}

static int on_tick(int event, void *event_data, void *userdata)
{
    struct devauth *da = userdata;
    struct regcache_info info;

    (void)event;
    (void)event_data;                   /* 2.0.11 leaves its fields zero: we read the clock */
    regcache_refresh(da->rc, NULL, NULL);
    if (stats_due(&da->next_stats_ms, da->stats_interval_ms, msg_clock_mono_ms())) {
        da->unknown_logs = 0;
        regcache_info(da->rc, &info);
        publish_stats(da, &info);
    }
    return MOSQ_ERR_SUCCESS;
}

void devauth_counters_get(const void *state, struct devauth_counters *out)
{
    const struct devauth *da = state;

    *out = da->c;
}

/* ---- start and stop ---- */

static const struct plugin_callback devauth_callbacks[] = {
    {MOSQ_EVT_BASIC_AUTH, on_basic_auth, "the auth callback"},
    {MOSQ_EVT_TICK, on_tick, "the tick callback"},
    PLUGIN_CALLBACKS_END,
};

static void devauth_stop(void *state, mosquitto_plugin_id_t *pid)
{
    struct devauth *da = state;

    if (da == NULL) {
        return;
    }
    plugin_callbacks_unregister(pid, devauth_callbacks);
    if (da->users != NULL) {
        secret_wipe(da->users, da->n_slots * sizeof(*da->users));
        free(da->users);
    }
    secret_wipe(da, sizeof(*da));
    free(da);
}

static int devauth_start(void **state, mosquitto_plugin_id_t *pid, struct regcache *rc,
                         struct mosquitto_opt *opts, int n, char *err, size_t errlen)
{
    struct devauth_options o;
    struct devauth *da = NULL;
    char kerr[MSG_ERRLEN] = "";
    int r = MOSQ_ERR_INVAL;

    *state = NULL;
    da = calloc(1, sizeof(*da));
    if (da == NULL) {
        snprintf(err, errlen, "devauth: out of memory");
        r = MOSQ_ERR_NOMEM;
        goto fail;
    }
    da->pid = pid;
    da->rc = rc;
    r = plugin_opts_read(devauth_options, &o, opts, n, err, errlen);
    if (r != MOSQ_ERR_SUCCESS) {
        goto fail;
    }
    r = MOSQ_ERR_INVAL;
    if (secret_key_load(o.key_file, &da->key, kerr, sizeof(kerr)) != MSG_OK) {
        snprintf(err, errlen, "plugin_opt_key_file: %s", kerr);
        goto fail;
    }
    da->slow_per_sec = (double)o.slow_per_sec;
    da->slow_burst = (double)o.slow_burst;
    da->fail_max = (unsigned)o.fail_max;
    da->fail_window_ms = (int64_t)o.fail_window_s * 1000;
    da->cache_ttl_ms = (int64_t)o.cache_ttl_s * 1000;
    da->cache_max = (size_t)o.cache_max;
    da->stats_interval_ms = (int64_t)o.stats_interval_s * 1000;
    /* twice the entries, rounded up to a power of two: probes stay short */
    da->n_slots = 32;
    while (da->n_slots < 2 * da->cache_max) {
        da->n_slots *= 2;
    }
    da->users = calloc(da->n_slots, sizeof(*da->users));
    if (da->users == NULL) {
        snprintf(err, errlen, "devauth: out of memory for %zu users", da->cache_max);
        r = MOSQ_ERR_NOMEM;
        goto fail;
    }
    if (RAND_bytes(da->digest_key, sizeof(da->digest_key)) != 1) {
        snprintf(err, errlen, "devauth: no random bytes from OpenSSL");
        r = MOSQ_ERR_UNKNOWN;
        goto fail;
    }
    da->tokens = da->slow_burst;
    da->tokens_ms = msg_clock_mono_ms();
    da->next_stats_ms = 0;              /* publish on the first tick */
    r = plugin_callbacks_register(pid, "devauth", devauth_callbacks, da, err, errlen);
    if (r != MOSQ_ERR_SUCCESS) {
        goto fail;
    }
    mosquitto_log_printf(MOSQ_LOG_NOTICE,
                         "devauth: started, server key %s, %ld password checks per second",
                         da->key.id, (long)da->slow_per_sec);
    *state = da;
    return MOSQ_ERR_SUCCESS;
fail:
    if (da != NULL) {
        free(da->users);
        secret_wipe(da, sizeof(*da));
        free(da);
    }
    return r == MOSQ_ERR_SUCCESS ? MOSQ_ERR_INVAL : r;
}

static void devauth_metrics(void *state, struct promfile *pf)
{
    struct devauth *da = state;

    da->pf = pf;
}

const struct plugin_module plugin_module_devauth = {
    .name = "devauth",
    .options = devauth_options,
    .start = devauth_start,
    .stop = devauth_stop,
    .metrics = devauth_metrics,
};
