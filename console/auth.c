/* auth.c -- logins, sessions, CSRF tokens, attempt limits: see auth.h. */
#include "auth.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "log.h"
#include "msg_bucket.h"
#include "msg_clock.h"
#include "msg_err.h"
#include "msg_ratetable.h"
#include "msg_secret.h"

#define AUTH_TOKEN_BYTES 32
#define AUTH_RATE_ENTRIES 4096 /* user names and addresses remembered by the limits */
#define AUTH_DUMMY_ITER 210000 /* like pantau-admin's default: the same cost as a real one */

struct slot {
    bool used;
    int64_t last_ms;
    struct auth_session s;
};

struct auth {
    const struct console_config *cfg; /* borrowed */
    struct db_pool *pool;             /* borrowed */
    pthread_mutex_t mu;               /* guards everything below */
    struct slot *slots;               /* cfg->max_sessions */
    size_t nslots;
    struct msg_ratetable *by_user;
    struct msg_ratetable *by_addr;
    struct msg_bucket_rate user_rate;
    struct msg_bucket_rate addr_rate;
    char dummy_hash[MSG_SECRET_HASH_MAX + 1];
    struct auth_stats stats;
};

struct auth *auth_new(const struct console_config *cfg, struct db_pool *pool, char *err,
                      size_t errlen)
{
    struct auth *a = calloc(1, sizeof(*a));

    if (a == NULL) {
        goto fail;
    }
    a->cfg = cfg;
    a->pool = pool;
    pthread_mutex_init(&a->mu, NULL);
    a->nslots = (size_t)cfg->max_sessions;
    a->slots = calloc(a->nslots, sizeof(*a->slots));
    a->by_user = msg_ratetable_new(AUTH_RATE_ENTRIES);
    a->by_addr = msg_ratetable_new(AUTH_RATE_ENTRIES);
    if (a->slots == NULL || a->by_user == NULL || a->by_addr == NULL) {
        goto fail;
    }
    a->user_rate.per_s = (double)cfg->login_attempts_per_min / 60.0;
    a->user_rate.burst = (double)cfg->login_attempts_per_min;
    a->addr_rate.per_s = (double)cfg->login_address_attempts_per_min / 60.0;
    a->addr_rate.burst = (double)cfg->login_address_attempts_per_min;
    if (msg_secret_password_hash("pantau-console", 14, AUTH_DUMMY_ITER, a->dummy_hash,
                                 sizeof(a->dummy_hash)) != MSG_OK) {
        snprintf(err, errlen, "auth: cannot make the dummy hash (OpenSSL)");
        auth_free(a);
        return NULL;
    }
    return a;
fail:
    snprintf(err, errlen, "auth: out of memory");
    auth_free(a);
    return NULL;
}

void auth_free(struct auth *a)
{
    if (a == NULL) {
        return;
    }
    if (a->slots != NULL) {
        msg_secret_wipe(a->slots, a->nslots * sizeof(*a->slots));
    }
    free(a->slots);
    msg_ratetable_free(a->by_user);
    msg_ratetable_free(a->by_addr);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

static int token_new(char out[AUTH_TOKEN_HEX + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[AUTH_TOKEN_BYTES];
    size_t i;

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        return MSG_ERR_IO;
    }
    for (i = 0; i < sizeof(raw); i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 0x0f];
    }
    out[AUTH_TOKEN_HEX] = '\0';
    msg_secret_wipe(raw, sizeof(raw));
    return MSG_OK;
}

/* Takes one attempt from the user's and the address's buckets (under a->mu). Returns 0, or
 * the seconds to wait when either is empty (then neither is charged). */
static long long take_attempt(struct auth *a, const char *addr, const char *username)
{
    int64_t now = msg_clock_mono_ms();
    struct msg_ratetable_entry *u = msg_ratetable_get(a->by_user, username);
    struct msg_ratetable_entry *ip = msg_ratetable_get(a->by_addr, addr);
    int64_t wait_ms = 0;
    int64_t w;

    if (u == NULL || ip == NULL) {
        return 60; /* cannot happen with a non-empty key; refuse rather than let it through */
    }
    w = msg_bucket_wait_ms(&u->b[0], &a->user_rate, now);
    wait_ms = w > wait_ms ? w : wait_ms;
    w = msg_bucket_wait_ms(&ip->b[0], &a->addr_rate, now);
    wait_ms = w > wait_ms ? w : wait_ms;
    if (wait_ms > 0) {
        return (wait_ms + 999) / 1000;
    }
    msg_bucket_spend(&u->b[0], &a->user_rate, now);
    msg_bucket_spend(&ip->b[0], &a->addr_rate, now);
    return 0;
}

static bool role_accepted(const char *role)
{
    return strcmp(role, "admin") == 0 || strcmp(role, "dashboard") == 0 ||
           strcmp(role, "unit") == 0 || strcmp(role, "viewer") == 0;
}

/* Stores s as a new session (under a->mu): a free slot, an expired one, or the least
 * recently used. */
static void store(struct auth *a, const struct auth_session *s)
{
    int64_t now = msg_clock_mono_ms();
    size_t pick = 0;
    size_t i;

    for (i = 0; i < a->nslots; i++) {
        if (!a->slots[i].used || now - a->slots[i].last_ms > a->cfg->session_idle_timeout_ms) {
            pick = i;
            break;
        }
        if (a->slots[i].last_ms < a->slots[pick].last_ms) {
            pick = i;
        }
    }
    a->slots[pick].used = true;
    a->slots[pick].last_ms = now;
    a->slots[pick].s = *s;
}

/* Whether s can be an account's user name (pantau_ops.account: ^[a-z0-9][a-z0-9._-]{0,63}$). */
static bool username_shape(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

        if (i >= AUTH_USER_MAX || !(alnum || (i > 0 && (c == '.' || c == '_' || c == '-')))) {
            return false;
        }
    }
    return i > 0;
}

enum auth_outcome auth_login(struct auth *a, const char *addr, const char *username,
                             const char *password, size_t len, struct auth_session *out,
                             long long *retry_after_s)
{
    const char *params[1] = {username};
    char err[MSG_ERRLEN] = "";
    PGresult *res = NULL;
    const char *hash = a->dummy_hash;
    enum auth_outcome outcome = AUTH_REFUSED;
    bool known = false;
    long long wait_s;
    int v;

    memset(out, 0, sizeof(*out));
    *retry_after_s = 0;
    if (!username_shape(username)) { /* cannot be an account (schema/005): never logged */
        pthread_mutex_lock(&a->mu);
        a->stats.refused++;
        pthread_mutex_unlock(&a->mu);
        return AUTH_REFUSED;
    }
    pthread_mutex_lock(&a->mu);
    wait_s = take_attempt(a, addr, username);
    if (wait_s > 0) {
        a->stats.slowed++;
    }
    pthread_mutex_unlock(&a->mu);
    if (wait_s > 0) {
        *retry_after_s = wait_s;
        log_msg(LOG_INFO, "console: login of '%s' from %s slowed: retry in %lld s", username, addr,
                wait_s);
        return AUTH_SLOWED;
    }
    res = db_query(a->pool,
                   "SELECT secret_hash, role, coalesce(unit_id, ''), enabled "
                   "FROM pantau_console.login_info($1)",
                   1, params, err, sizeof(err));
    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
        log_msg(LOG_WARNING, "console: login of '%s': database: %s", username,
                res != NULL ? PQresultErrorMessage(res) : err);
        outcome = AUTH_DB;
        goto out;
    }
    if (PQntuples(res) == 1) {
        known = true;
        hash = PQgetvalue(res, 0, 0);
    }
    /* the PBKDF2 work is done for unknown names too, so that time does not tell them apart */
    v = msg_secret_password_verify(hash, password, len);
    if (!known || v != MSG_SECRET_MATCH) {
        goto out;
    }
    if (strcmp(PQgetvalue(res, 0, 3), "t") != 0 || !role_accepted(PQgetvalue(res, 0, 1))) {
        log_msg(LOG_INFO, "console: login of '%s' refused: disabled or role %s", username,
                PQgetvalue(res, 0, 1));
        goto out;
    }
    if (token_new(out->id) != MSG_OK || token_new(out->csrf) != MSG_OK) {
        log_msg(LOG_ERR, "console: no random bytes from OpenSSL");
        outcome = AUTH_DB;
        goto out;
    }
    snprintf(out->username, sizeof(out->username), "%s", username);
    snprintf(out->role, sizeof(out->role), "%s", PQgetvalue(res, 0, 1));
    snprintf(out->unit, sizeof(out->unit), "%s", PQgetvalue(res, 0, 2));
    outcome = AUTH_OK;
out:
    PQclear(res);
    pthread_mutex_lock(&a->mu);
    if (outcome == AUTH_OK) {
        store(a, out);
        a->stats.logins++;
    } else if (outcome == AUTH_REFUSED) {
        a->stats.refused++;
    }
    pthread_mutex_unlock(&a->mu);
    if (outcome == AUTH_OK) {
        log_msg(LOG_NOTICE, "console: %s (%s) logged in from %s", out->username, out->role, addr);
    } else if (outcome == AUTH_REFUSED) {
        log_msg(LOG_INFO, "console: login of '%s' from %s refused", username, addr);
        memset(out, 0, sizeof(*out));
    }
    return outcome;
}

static bool token_shape(const char *t)
{
    size_t i;

    if (t == NULL) {
        return false;
    }
    for (i = 0; i < AUTH_TOKEN_HEX; i++) {
        if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f'))) {
            return false;
        }
    }
    return t[AUTH_TOKEN_HEX] == '\0';
}

bool auth_session_get(struct auth *a, const char *cookie, struct auth_session *out)
{
    int64_t now = msg_clock_mono_ms();
    bool found = false;
    size_t i;

    if (!token_shape(cookie)) {
        return false;
    }
    pthread_mutex_lock(&a->mu);
    /* every slot is compared, in constant time: neither the order nor the timing of a
     * lookup tells an attacker how much of a guessed id was right */
    for (i = 0; i < a->nslots; i++) {
        bool same = msg_secret_equal(a->slots[i].s.id, cookie, AUTH_TOKEN_HEX);

        if (a->slots[i].used && same && !found) {
            if (now - a->slots[i].last_ms > a->cfg->session_idle_timeout_ms) {
                a->slots[i].used = false; /* idle too long: ended */
                msg_secret_wipe(&a->slots[i].s, sizeof(a->slots[i].s));
            } else {
                a->slots[i].last_ms = now;
                *out = a->slots[i].s;
                found = true;
            }
        }
    }
    pthread_mutex_unlock(&a->mu);
    return found;
}

void auth_logout(struct auth *a, const char *id)
{
    size_t i;

    if (!token_shape(id)) {
        return;
    }
    pthread_mutex_lock(&a->mu);
    for (i = 0; i < a->nslots; i++) {
        if (a->slots[i].used && msg_secret_equal(a->slots[i].s.id, id, AUTH_TOKEN_HEX)) {
            a->slots[i].used = false;
            msg_secret_wipe(&a->slots[i].s, sizeof(a->slots[i].s));
        }
    }
    pthread_mutex_unlock(&a->mu);
}

bool auth_csrf_ok(const struct auth_session *s, const char *token)
{
    return token_shape(token) && msg_secret_equal(s->csrf, token, AUTH_TOKEN_HEX);
}

bool auth_may_act(const struct auth_session *s)
{
    return strcmp(s->role, "admin") == 0 || strcmp(s->role, "dashboard") == 0 ||
           strcmp(s->role, "unit") == 0;
}

void auth_stats_get(struct auth *a, struct auth_stats *out)
{
    int64_t now = msg_clock_mono_ms();
    size_t i;

    pthread_mutex_lock(&a->mu);
    *out = a->stats;
    out->sessions = 0;
    for (i = 0; i < a->nslots; i++) {
        if (a->slots[i].used && now - a->slots[i].last_ms <= a->cfg->session_idle_timeout_ms) {
            out->sessions++;
        }
    }
    pthread_mutex_unlock(&a->mu);
}
