/* devauth.c -- MOSQ_EVT_BASIC_AUTH against the regcache; see devauth.h for the rules. */
#include "devauth.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "msg_err.h"
#include "msg_time.h"
#include "msg_topic.h"
#include "plugin_module.h"
#include "secret.h"

#define STATS_TOPIC "$SYS/pantau/devauth"
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

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- options ---- */

static const char *const devauth_keys[] = {
    "key_file", "slow_checks_per_sec", "slow_burst", "fail_max", "fail_window_s",
    "cache_ttl_s", "cache_max", "stats_interval", NULL,
};

static const char *opt_get(struct mosquitto_opt *opts, int n, const char *key)
{
    int i;

    for (i = 0; i < n; i++) {
        if (strcmp(opts[i].key, key) == 0) {
            return opts[i].value;
        }
    }
    return NULL;
}

/* An integer option in [min, max], or def when absent. */
static int opt_long(struct mosquitto_opt *opts, int n, const char *key, long def, long min,
                    long max, long *out, char *err, size_t errlen)
{
    const char *v = opt_get(opts, n, key);
    char *end = NULL;
    long x;

    *out = def;
    if (v == NULL) {
        return MOSQ_ERR_SUCCESS;
    }
    errno = 0;
    x = strtol(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || x < min || x > max) {
        snprintf(err, errlen, "plugin_opt_%s: '%s' is not an integer in [%ld, %ld]", key, v, min,
                 max);
        return MOSQ_ERR_INVAL;
    }
    *out = x;
    return MOSQ_ERR_SUCCESS;
}

/* ---- the user table ---- */

static size_t name_hash(const char *s)
{
    uint64_t h = 14695981039346656037ull;

    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return (size_t)h;
}

/* The entry of username, made if absent (NULL when the table is full even after a reset). */
static struct user_entry *user_get(struct devauth *da, const char *username, bool make)
{
    size_t mask = da->n_slots - 1;
    size_t i = name_hash(username) & mask;
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
    int64_t now = mono_ms();
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
    int64_t now = mono_ms();

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
    int64_t now = mono_ms();
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
            e->ok_expires_ms = mono_ms() + da->cache_ttl_ms;
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
        return true;
    case REGCACHE_ROLE_OFFICER:
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

size_t devauth_stats_json(const void *state, char *buf, size_t buflen)
{
    const struct devauth *da = state;
    struct regcache_info info;
    struct timespec now;
    char ts[MSG_TIME_LEN + 1];
    uint64_t refused = 0;
    size_t len = 0;
    int n;
    int r;

    regcache_info(da->rc, &info);
    clock_gettime(CLOCK_REALTIME, &now);
    msg_time_format((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000, ts);
    for (r = 0; r < DEVAUTH_REASON_COUNT; r++) {
        refused += da->c.refused[r];
    }
    /* module, ts, the refusals by reason and log_suppressed as devacl's and payval's have
     * them (protocol.md 7.4); the flat refused_<reason> members are kept for older readers */
    n = snprintf(buf, buflen,
                 "{\"module\":\"devauth\",\"ts\":\"%s\",\"accepted\":%" PRIu64
                 ",\"refused\":%" PRIu64 ",\"refused_by_reason\":{",
                 ts, da->c.accepted, refused);
    if (n < 0 || (size_t)n >= buflen) {
        return 0;
    }
    len = (size_t)n;
    for (r = 0; r < DEVAUTH_REASON_COUNT; r++) {
        n = snprintf(buf + len, buflen - len, "%s\"%s\":%" PRIu64, r > 0 ? "," : "",
                     reason_names[r], da->c.refused[r]);
        if (n < 0 || (size_t)n >= buflen - len) {
            return 0;
        }
        len += (size_t)n;
    }
    n = snprintf(buf + len, buflen - len, "},\"log_suppressed\":%" PRIu64, da->c.log_suppressed);
    if (n < 0 || (size_t)n >= buflen - len) {
        return 0;
    }
    len += (size_t)n;
    for (r = 0; r < DEVAUTH_REASON_COUNT; r++) {
        n = snprintf(buf + len, buflen - len, ",\"refused_%s\":%" PRIu64, reason_names[r],
                     da->c.refused[r]);
        if (n < 0 || (size_t)n >= buflen - len) {
            return 0;
        }
        len += (size_t)n;
    }
    n = snprintf(buf + len, buflen - len,
                 ",\"cache_hits\":%" PRIu64 ",\"slow_checks\":%" PRIu64
                 ",\"fast_checks\":%" PRIu64 ",\"registry_accounts\":%zu"
                 ",\"registry_db_ok\":%s,\"registry_from_file\":%s"
                 ",\"registry_loaded_ms\":%" PRId64 "}",
                 da->c.cache_hits, da->c.slow_checks, da->c.fast_checks, info.accounts,
                 info.db_ok ? "true" : "false", info.from_file ? "true" : "false",
                 info.loaded_ms);
    if (n < 0 || (size_t)n >= buflen - len) {
        return 0;
    }
    return len + (size_t)n;
}

static int on_tick(int event, void *event_data, void *userdata)
{
    struct devauth *da = userdata;
    char json[2048];
    size_t len;
    int64_t now;

    (void)event;
    (void)event_data;                   /* 2.0.11 leaves its fields zero: we read the clock */
    regcache_refresh(da->rc, NULL, NULL);
    now = mono_ms();
    if (now < da->next_stats_ms) {
        return MOSQ_ERR_SUCCESS;
    }
    da->next_stats_ms = now + da->stats_interval_ms;
    da->unknown_logs = 0;
    len = devauth_stats_json(da, json, sizeof(json));
    if (len > 0) {
        mosquitto_broker_publish_copy(NULL, STATS_TOPIC, (int)len, json, 0, true, NULL);
    }
    return MOSQ_ERR_SUCCESS;
}

void devauth_counters_get(const void *state, struct devauth_counters *out)
{
    const struct devauth *da = state;

    *out = da->c;
}

/* ---- start and stop ---- */

static void devauth_stop(void *state, mosquitto_plugin_id_t *pid)
{
    struct devauth *da = state;

    if (da == NULL) {
        return;
    }
    mosquitto_callback_unregister(pid, MOSQ_EVT_BASIC_AUTH, on_basic_auth, NULL);
    mosquitto_callback_unregister(pid, MOSQ_EVT_TICK, on_tick, NULL);
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
    struct devauth *da = NULL;
    char kerr[MSG_ERRLEN] = "";
    const char *key_file;
    long v;
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
    key_file = opt_get(opts, n, "key_file");
    if (key_file == NULL) {
        snprintf(err, errlen, "plugin_opt_key_file is required (the server key of device keys)");
        goto fail;
    }
    if (secret_key_load(key_file, &da->key, kerr, sizeof(kerr)) != MSG_OK) {
        snprintf(err, errlen, "plugin_opt_key_file: %s", kerr);
        goto fail;
    }
    if (opt_long(opts, n, "slow_checks_per_sec", 4, 1, 1000, &v, err, errlen) != 0) {
        goto fail;
    }
    da->slow_per_sec = (double)v;
    if (opt_long(opts, n, "slow_burst", 4, 1, 1000, &v, err, errlen) != 0) {
        goto fail;
    }
    da->slow_burst = (double)v;
    if (opt_long(opts, n, "fail_max", 5, 1, 1000000, &v, err, errlen) != 0) {
        goto fail;
    }
    da->fail_max = (unsigned)v;
    if (opt_long(opts, n, "fail_window_s", 60, 1, 86400, &v, err, errlen) != 0) {
        goto fail;
    }
    da->fail_window_ms = (int64_t)v * 1000;
    if (opt_long(opts, n, "cache_ttl_s", 3600, 0, 7 * 86400, &v, err, errlen) != 0) {
        goto fail;
    }
    da->cache_ttl_ms = (int64_t)v * 1000;
    if (opt_long(opts, n, "cache_max", 16384, 16, 4 * 1024 * 1024, &v, err, errlen) != 0) {
        goto fail;
    }
    da->cache_max = (size_t)v;
    if (opt_long(opts, n, "stats_interval", 10, 1, 86400, &v, err, errlen) != 0) {
        goto fail;
    }
    da->stats_interval_ms = (int64_t)v * 1000;
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
    da->tokens_ms = mono_ms();
    da->next_stats_ms = 0;              /* publish on the first tick */
    r = mosquitto_callback_register(pid, MOSQ_EVT_BASIC_AUTH, on_basic_auth, NULL, da);
    if (r != MOSQ_ERR_SUCCESS) {
        snprintf(err, errlen, "devauth: cannot register the auth callback (%d)", r);
        goto fail;
    }
    r = mosquitto_callback_register(pid, MOSQ_EVT_TICK, on_tick, NULL, da);
    if (r != MOSQ_ERR_SUCCESS) {
        mosquitto_callback_unregister(pid, MOSQ_EVT_BASIC_AUTH, on_basic_auth, NULL);
        snprintf(err, errlen, "devauth: cannot register the tick callback (%d)", r);
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

const struct plugin_module plugin_module_devauth = {
    .name = "devauth",
    .keys = devauth_keys,
    .start = devauth_start,
    .stop = devauth_stop,
};
