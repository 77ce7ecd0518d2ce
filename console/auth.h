/* auth.h -- pantau-console's people: login against pantau_ops.account (PBKDF2 passwords,
 * msg/msg_secret.h), sessions, CSRF tokens and the limits on login attempts.
 *
 * A session is 256 random bits from OpenSSL (RAND_bytes) written as 64 hex digits: the value of
 * the HttpOnly, SameSite=Strict cookie `pantau_session`. Each session has its own CSRF token
 * (another 256 bits) that the page sends back in X-CSRF-Token on every POST. Sessions live in
 * memory only: a restart logs everybody out, which the page handles by showing the login.
 * Lookups and token checks compare in constant time. A session unused for
 * session_idle_timeout ends.
 *
 * Login attempts are limited by two token buckets (msg/msg_ratetable.h): one per user name,
 * one per client address, login_attempts_per_min each with a burst of as many. A user name
 * that does not exist costs the same PBKDF2 work as one that does.
 *
 * Thread-safe: every function may be called from any HTTP thread. */
#ifndef CONSOLE_AUTH_H
#define CONSOLE_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "console_conf.h"
#include "db.h"

#define AUTH_TOKEN_HEX 64 /* a session id or CSRF token as text, without NUL */
#define AUTH_USER_MAX 64
#define AUTH_ROLE_MAX 15
#define AUTH_UNIT_MAX 32

struct auth;

/* A copy of a session, for one request. */
struct auth_session {
    char id[AUTH_TOKEN_HEX + 1];
    char csrf[AUTH_TOKEN_HEX + 1];
    char username[AUTH_USER_MAX + 1];
    char role[AUTH_ROLE_MAX + 1];
    char unit[AUTH_UNIT_MAX + 1]; /* "" unless role unit */
};

/* Outcomes of auth_login. */
enum auth_outcome {
    AUTH_OK,      /* *out is the new session */
    AUTH_REFUSED, /* wrong user name or password, disabled, or a role the console refuses */
    AUTH_SLOWED,  /* too many attempts: *retry_after_s says when to try again */
    AUTH_DB,      /* the database did not answer: 503 */
};

/* cfg and pool are borrowed and must outlive the auth. Makes a dummy hash (one PBKDF2).
 * Returns NULL with err set. Caller frees with auth_free. */
struct auth *auth_new(const struct console_config *cfg, struct db_pool *pool, char *err,
                      size_t errlen);
void auth_free(struct auth *a);

/* Checks username and password (borrowed; password len bytes) from client address addr
 * (borrowed text). Fills *out on AUTH_OK. */
enum auth_outcome auth_login(struct auth *a, const char *addr, const char *username,
                             const char *password, size_t len, struct auth_session *out,
                             long long *retry_after_s);

/* Finds the session whose id is cookie (borrowed; NULL or malformed: none), updates its last
 * use and copies it to *out. Returns whether one was found (not expired). */
bool auth_session_get(struct auth *a, const char *cookie, struct auth_session *out);

/* Ends the session id (borrowed). */
void auth_logout(struct auth *a, const char *id);

/* Whether token (borrowed, may be NULL) is the session's CSRF token (constant time). */
bool auth_csrf_ok(const struct auth_session *s, const char *token);

/* Whether the role may acknowledge and resolve (admin, dashboard, unit). The database checks
 * it again (schema/021). */
bool auth_may_act(const struct auth_session *s);

struct auth_stats {
    uint64_t logins;
    uint64_t refused;
    uint64_t slowed;
    uint64_t sessions; /* now */
};
void auth_stats_get(struct auth *a, struct auth_stats *out);

#endif
