/* http.c -- the console's HTTP server: routing table, login, CSRF, SSE, static files,
 * /metrics. See http.h and console/README.md. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "log.h"
#include "msg_err.h"
#include "msg_json.h"
#include "msg_secret.h"

#ifndef PANTAU_VERSION
#define PANTAU_VERSION "0.1.0"
#endif

#define HTTP_BODY_MAX 8192 /* a POST body: a login or a note */
#define HTTP_PARAMS_MAX 4  /* query parameters of one API function */
#define HTTP_CODES 600     /* status codes counted for /metrics */
#define HTTP_TLS_FILE_MAX 65536
#define HTTP_VALUE_MAX 128 /* a query parameter's value */
#define HTTP_CSP_MAX (CONSOLE_URL_MAX + 512)

enum param_type {
    P_ID,   /* a station id: ^[a-z0-9][a-z0-9._-]{0,63}$ */
    P_INT,  /* a decimal integer in [min, max] */
    P_ENUM, /* one of the |-separated words in `words` */
    P_DATE, /* YYYY-MM-DD (PostgreSQL checks the calendar) */
};

struct param {
    const char *name; /* NULL: end of the list */
    enum param_type type;
    const char *def; /* when absent: this value; NULL: required; "": SQL NULL */
    long long min;
    long long max;
    const char *words;
};

/* GET /api/<name> -> one SQL function; $1 is always the account logged in. A route marked
 * `replica` reads from db_read_conninfo when one is set (a streaming replica: its functions are
 * STABLE, they only read); the others stay on the primary: me and alerts are small, and an
 * alert list must show an acknowledgement made a moment ago on the primary. */
struct route {
    const char *name;
    const char *sql;
    bool replica;
    struct param params[HTTP_PARAMS_MAX + 1];
};

static const struct route routes[] = {
    {"me", "SELECT pantau_console.me($1)", false, {{NULL, P_ID, NULL, 0, 0, NULL}}},
    {"alerts",
     "SELECT pantau_console.alerts($1, $2)",
     false,
     {{"state", P_ENUM, "open", 0, 0, "open|all"}, {NULL, P_ID, NULL, 0, 0, NULL}}},
    /* the views' functions come with schema/022 (VIEWS); without it: 503 not_available */
    {"map", "SELECT pantau_console.map($1)", true, {{NULL, P_ID, NULL, 0, 0, NULL}}},
    {"gauge",
     "SELECT pantau_console.gauge($1, $2, $3::integer)",
     true,
     {{"station", P_ID, NULL, 0, 0, NULL},
      {"hours", P_INT, "24", 1, 744, NULL},
      {NULL, P_ID, NULL, 0, 0, NULL}}},
    {"traffic",
     "SELECT pantau_console.traffic($1, $2::integer)",
     true,
     {{"hours", P_INT, "24", 1, 744, NULL}, {NULL, P_ID, NULL, 0, 0, NULL}}},
    {"jumantik",
     "SELECT pantau_console.jumantik($1, $2::date)",
     true,
     {{"week", P_DATE, "", 0, 0, NULL}, {NULL, P_ID, NULL, 0, 0, NULL}}},
    {"system", "SELECT pantau_console.system($1)", true, {{NULL, P_ID, NULL, 0, 0, NULL}}},
};

/* POST /api/alerts/<id>/<action> */
static const struct {
    const char *action;
    const char *sql;
} acts[] = {
    {"ack", "SELECT pantau_console.acknowledge($1, $2::bigint, $3)"},
    {"resolve", "SELECT pantau_console.resolve($1, $2::bigint, $3)"},
};

static const struct {
    const char *ext;
    const char *type;
} content_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json; charset=utf-8"},
    {".map", "application/json; charset=utf-8"},
    {".png", "image/png"},
    {".svg", "image/svg+xml"},
    {".ico", "image/x-icon"},
    {".mp3", "audio/mpeg"},
    {".ogg", "audio/ogg"},
    {".wav", "audio/wav"},
    {".woff2", "font/woff2"},
    {".txt", "text/plain; charset=utf-8"},
};

struct http {
    const struct console_config *cfg; /* borrowed */
    struct db_pool *pool;             /* borrowed: the primary */
    struct db_pool *read_pool;        /* borrowed: a replica, or pool itself */
    struct auth *auth;                /* borrowed */
    struct events *ev;                /* borrowed */
    struct MHD_Daemon *d;
    char *tls_cert; /* PEM text (MHD keeps pointers to them) */
    char *tls_key;
    char web_dir[PATH_MAX];
    char lib_dir[PATH_MAX];
    char csp[HTTP_CSP_MAX];
    atomic_uint_fast64_t requests[HTTP_CODES];
};

/* One request's state (MHD's con_cls): the POST body gathered over the upload calls. */
struct req {
    size_t len;
    bool too_big;
    char body[HTTP_BODY_MAX + 1];
};

/* ---- answers ------------------------------------------------------------------------------- */

static void common_headers(struct http *h, struct MHD_Response *r)
{
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Content-Security-Policy", h->csp);
}

static enum MHD_Result queue(struct http *h, struct MHD_Connection *conn, unsigned status,
                             struct MHD_Response *r)
{
    enum MHD_Result ret;

    common_headers(h, r);
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    if (status < HTTP_CODES) {
        atomic_fetch_add(&h->requests[status], 1);
    }
    return ret;
}

/* Answers status with a copy of text (borrowed) as content_type. */
static enum MHD_Result answer(struct http *h, struct MHD_Connection *conn, unsigned status,
                              const char *content_type, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);

    if (r == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", content_type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    return queue(h, conn, status, r);
}

static enum MHD_Result answer_json(struct http *h, struct MHD_Connection *conn, unsigned status,
                                   const char *json)
{
    return answer(h, conn, status, "application/json; charset=utf-8", json);
}

/* {"error": code, "detail": detail} with status; retry_after > 0 adds Retry-After. */
static enum MHD_Result answer_error_retry(struct http *h, struct MHD_Connection *conn,
                                          unsigned status, const char *code, const char *detail,
                                          long long retry_after)
{
    cJSON *o = cJSON_CreateObject();
    char *text = NULL;
    char num[32];
    struct MHD_Response *r = NULL;
    enum MHD_Result ret = MHD_NO;

    if (o == NULL || cJSON_AddStringToObject(o, "error", code) == NULL ||
        cJSON_AddStringToObject(o, "detail", detail) == NULL) {
        goto out;
    }
    text = cJSON_PrintUnformatted(o);
    if (text == NULL) {
        goto out;
    }
    r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_COPY);
    if (r == NULL) {
        goto out;
    }
    MHD_add_response_header(r, "Content-Type", "application/json; charset=utf-8");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (retry_after > 0) {
        snprintf(num, sizeof(num), "%lld", retry_after);
        MHD_add_response_header(r, "Retry-After", num);
    }
    ret = queue(h, conn, status, r);
out:
    cJSON_free(text);
    cJSON_Delete(o);
    return ret;
}

static enum MHD_Result answer_error(struct http *h, struct MHD_Connection *conn, unsigned status,
                                    const char *code, const char *detail)
{
    return answer_error_retry(h, conn, status, code, detail, 0);
}

/* The outcome of a database call as the API answers it. */
static enum MHD_Result answer_db(struct http *h, struct MHD_Connection *conn,
                                 const struct db_result *res)
{
    const char *code = "internal";

    switch (res->http_status) {
    case 200:
        return answer_json(h, conn, 200, res->json);
    case 400:
        code = "bad_request";
        break;
    case 403:
        code = "forbidden";
        break;
    case 404:
        code = "not_found";
        break;
    case 409:
        code = "conflict";
        break;
    case 503:
        code = strcmp(res->sqlstate, "42883") == 0 || strcmp(res->sqlstate, "3F000") == 0
                   ? "not_available"
                   : "database_unavailable";
        break;
    default:
        break;
    }
    if (res->http_status >= 500) {
        log_msg(LOG_WARNING, "console: database call: %s %s", res->sqlstate, res->message);
    }
    return answer_error(h, conn, (unsigned)res->http_status, code, res->message);
}

/* ---- sessions ------------------------------------------------------------------------------ */

static void client_address(struct MHD_Connection *conn, char *out, size_t outlen)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;

    snprintf(out, outlen, "unknown");
    if (sa == NULL) {
        return;
    }
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)outlen);
    } else if (sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)outlen);
    }
}

static bool session_of(struct http *h, struct MHD_Connection *conn, struct auth_session *s)
{
    const char *cookie = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, "pantau_session");

    return auth_session_get(h->auth, cookie, s);
}

static bool body_is_json(struct MHD_Connection *conn)
{
    const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");

    return ct != NULL && strncmp(ct, "application/json", 16) == 0;
}

/* The string member name of doc, or NULL. Borrowed from doc. */
static const char *member(const cJSON *doc, const char *name)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(doc, name);

    return cJSON_IsString(m) ? m->valuestring : NULL;
}

static enum MHD_Result do_login(struct http *h, struct MHD_Connection *conn, struct req *rq)
{
    struct auth_session s;
    cJSON *doc = NULL;
    cJSON *o = NULL;
    char *text = NULL;
    char err[MSG_ERRLEN] = "";
    char addr[INET6_ADDRSTRLEN + 1];
    char cookie[AUTH_TOKEN_HEX + 128];
    const char *user = NULL;
    const char *pass = NULL;
    long long retry = 0;
    struct MHD_Response *r = NULL;
    enum MHD_Result ret = MHD_NO;

    memset(&s, 0, sizeof(s));
    if (msg_json_parse(rq->body, rq->len, HTTP_BODY_MAX, 4, &doc, err, sizeof(err)) != MSG_OK ||
        !cJSON_IsObject(doc)) {
        ret = answer_error(h, conn, 400, "bad_request", "the body is not a JSON object");
        goto out;
    }
    user = member(doc, "username");
    pass = member(doc, "password");
    if (user == NULL || pass == NULL) {
        ret = answer_error(h, conn, 400, "bad_request", "username and password are required");
        goto out;
    }
    client_address(conn, addr, sizeof(addr));
    switch (auth_login(h->auth, addr, user, pass, strlen(pass), &s, &retry)) {
    case AUTH_OK:
        break;
    case AUTH_SLOWED:
        ret = answer_error_retry(h, conn, 429, "too_many_attempts",
                                 "too many login attempts: try again later", retry);
        goto out;
    case AUTH_DB:
        ret = answer_error(h, conn, 503, "database_unavailable", "the database does not answer");
        goto out;
    case AUTH_REFUSED:
    default:
        ret = answer_error(h, conn, 401, "login_refused", "wrong user name or password");
        goto out;
    }
    o = cJSON_CreateObject();
    if (o == NULL || cJSON_AddStringToObject(o, "user", s.username) == NULL ||
        cJSON_AddStringToObject(o, "role", s.role) == NULL ||
        (s.unit[0] != '\0' ? cJSON_AddStringToObject(o, "unit", s.unit)
                           : cJSON_AddNullToObject(o, "unit")) == NULL ||
        cJSON_AddStringToObject(o, "csrf", s.csrf) == NULL) {
        goto out;
    }
    text = cJSON_PrintUnformatted(o);
    if (text == NULL) {
        goto out;
    }
    r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_COPY);
    if (r == NULL) {
        goto out;
    }
    snprintf(cookie, sizeof(cookie), "pantau_session=%s; Path=/; HttpOnly; SameSite=Strict%s", s.id,
             h->cfg->tls_cert[0] != '\0' || h->cfg->behind_https ? "; Secure" : "");
    MHD_add_response_header(r, "Set-Cookie", cookie);
    MHD_add_response_header(r, "Content-Type", "application/json; charset=utf-8");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    ret = queue(h, conn, 200, r);
out:
    if (pass != NULL) {
        msg_secret_wipe((void *)pass, strlen(pass));
    }
    msg_secret_wipe(rq->body, rq->len);
    msg_secret_wipe(&s, sizeof(s));
    cJSON_free(text);
    cJSON_Delete(o);
    cJSON_Delete(doc);
    return ret;
}

static enum MHD_Result do_logout(struct http *h, struct MHD_Connection *conn,
                                 const struct auth_session *s)
{
    struct MHD_Response *r = NULL;
    static const char body[] = "{\"done\":true}";

    auth_logout(h->auth, s->id);
    r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
    if (r == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(r, "Set-Cookie",
                            "pantau_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    MHD_add_response_header(r, "Content-Type", "application/json; charset=utf-8");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    return queue(h, conn, 200, r);
}

/* ---- the routing table --------------------------------------------------------------------- */

struct arg_check {
    const struct route *route;
    const char *unknown; /* the first query parameter the route does not take */
};

static enum MHD_Result on_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                              const char *value)
{
    struct arg_check *ac = cls;
    const struct param *p;

    (void)kind;
    (void)value;
    for (p = ac->route->params; p->name != NULL; p++) {
        if (strcmp(p->name, key) == 0) {
            return MHD_YES;
        }
    }
    ac->unknown = key;
    return MHD_NO;
}

static bool word_in(const char *v, const char *words)
{
    size_t n = strlen(v);
    const char *p = words;

    while (n > 0 && *p != '\0') {
        size_t w = strcspn(p, "|");

        if (w == n && strncmp(p, v, n) == 0) {
            return true;
        }
        p += w;
        if (*p == '|') {
            p++;
        }
    }
    return false;
}

/* Checks v (borrowed) against p; err says why not. */
static bool param_ok(const struct param *p, const char *v, char *err, size_t errlen)
{
    size_t i;
    size_t n = strlen(v);
    long long x;
    char *end = NULL;

    switch (p->type) {
    case P_ID:
        if (n == 0 || n > 64 || !((v[0] >= 'a' && v[0] <= 'z') || (v[0] >= '0' && v[0] <= '9'))) {
            break;
        }
        for (i = 0; i < n; i++) {
            char c = v[i];

            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                  c == '-')) {
                goto bad;
            }
        }
        return true;
    case P_INT:
        if (n == 0 || n > 9 || v[0] == '-' || v[0] == '+' || v[0] == ' ') {
            break;
        }
        errno = 0;
        x = strtoll(v, &end, 10);
        if (errno != 0 || *end != '\0' || x < p->min || x > p->max) {
            break;
        }
        return true;
    case P_ENUM:
        if (word_in(v, p->words)) {
            return true;
        }
        break;
    case P_DATE:
        if (n == 10 && v[4] == '-' && v[7] == '-') {
            for (i = 0; i < n; i++) {
                if (i != 4 && i != 7 && (v[i] < '0' || v[i] > '9')) {
                    goto bad;
                }
            }
            return true;
        }
        break;
    }
bad:
    switch (p->type) {
    case P_ID:
        snprintf(err, errlen, "%s: not a station id", p->name);
        break;
    case P_INT:
        snprintf(err, errlen, "%s: not a whole number from %lld to %lld", p->name, p->min, p->max);
        break;
    case P_ENUM:
        snprintf(err, errlen, "%s: one of %s", p->name, p->words);
        break;
    case P_DATE:
        snprintf(err, errlen, "%s: not a date YYYY-MM-DD", p->name);
        break;
    }
    return false;
}

static enum MHD_Result do_route(struct http *h, struct MHD_Connection *conn,
                                const struct auth_session *s, const struct route *rt)
{
    const char *values[HTTP_PARAMS_MAX + 1];
    struct arg_check ac = {rt, NULL};
    struct db_result res;
    char err[MSG_ERRLEN] = "";
    enum MHD_Result ret;
    int n = 0;
    const struct param *p;

    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, on_arg, &ac);
    if (ac.unknown != NULL) {
        snprintf(err, sizeof(err), "%s takes no parameter '%.64s'", rt->name, ac.unknown);
        return answer_error(h, conn, 400, "bad_request", err);
    }
    values[n++] = s->username;
    for (p = rt->params; p->name != NULL; p++) {
        const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, p->name);

        if (v == NULL) {
            if (p->def == NULL) {
                snprintf(err, sizeof(err), "%s is required", p->name);
                return answer_error(h, conn, 400, "bad_request", err);
            }
            values[n++] = p->def[0] != '\0' ? p->def : NULL;
            continue;
        }
        if (strlen(v) > HTTP_VALUE_MAX || !param_ok(p, v, err, sizeof(err))) {
            if (err[0] == '\0') {
                snprintf(err, sizeof(err), "%s is too long", p->name);
            }
            return answer_error(h, conn, 400, "bad_request", err);
        }
        values[n++] = v;
    }
    db_call(rt->replica ? h->read_pool : h->pool, rt->sql, n, values, &res);
    ret = answer_db(h, conn, &res);
    free(res.json);
    return ret;
}

/* POST /api/alerts/<id>/<action>: the path after "/api/alerts/". */
static enum MHD_Result do_act(struct http *h, struct MHD_Connection *conn,
                              const struct auth_session *s, const char *rest, struct req *rq)
{
    char id[24];
    const char *slash = strchr(rest, '/');
    size_t idlen = slash != NULL ? (size_t)(slash - rest) : 0;
    const char *values[3];
    const char *note = "";
    cJSON *doc = NULL;
    char err[MSG_ERRLEN] = "";
    struct db_result res;
    enum MHD_Result ret = MHD_NO;
    size_t i;
    size_t k;

    memset(&res, 0, sizeof(res));
    if (idlen == 0 || idlen >= sizeof(id) - 1) {
        return answer_error(h, conn, 404, "not_found", "no such API path");
    }
    for (i = 0; i < idlen; i++) {
        if (rest[i] < '0' || rest[i] > '9') {
            return answer_error(h, conn, 404, "not_found", "no such API path");
        }
    }
    memcpy(id, rest, idlen);
    id[idlen] = '\0';
    for (k = 0; k < sizeof(acts) / sizeof(acts[0]); k++) {
        if (strcmp(slash + 1, acts[k].action) == 0) {
            break;
        }
    }
    if (k == sizeof(acts) / sizeof(acts[0])) {
        return answer_error(h, conn, 404, "not_found", "no such API path");
    }
    if (!auth_may_act(s)) {
        return answer_error(h, conn, 403, "forbidden", "this account may only read");
    }
    if (rq->len > 0) {
        if (msg_json_parse(rq->body, rq->len, HTTP_BODY_MAX, 4, &doc, err, sizeof(err)) != MSG_OK ||
            !cJSON_IsObject(doc)) {
            ret = answer_error(h, conn, 400, "bad_request", "the body is not a JSON object");
            goto out;
        }
        if (cJSON_GetObjectItemCaseSensitive(doc, "note") != NULL) {
            note = member(doc, "note");
            if (note == NULL) {
                ret = answer_error(h, conn, 400, "bad_request", "note is not a string");
                goto out;
            }
        }
    }
    values[0] = s->username;
    values[1] = id;
    values[2] = note;
    db_call(h->pool, acts[k].sql, 3, values, &res);
    if (res.http_status == 200) {
        log_msg(LOG_NOTICE, "console: %s %s alert %s", s->username,
                k == 0 ? "acknowledged" : "resolved", id);
    }
    ret = answer_db(h, conn, &res);
out:
    free(res.json);
    cJSON_Delete(doc);
    return ret;
}

static enum MHD_Result do_events(struct http *h, struct MHD_Connection *conn)
{
    const char *last = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Last-Event-ID");
    struct MHD_Response *r = events_stream(h->ev, conn, last);

    if (r == NULL) {
        return answer_error(h, conn, 503, "busy", "too many live streams");
    }
    MHD_add_response_header(r, "Content-Type", "text/event-stream; charset=utf-8");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Accel-Buffering", "no"); /* nginx: pass each event on */
    return queue(h, conn, 200, r);
}

static enum MHD_Result do_config(struct http *h, struct MHD_Connection *conn)
{
    cJSON *o = cJSON_CreateObject();
    char *text = NULL;
    enum MHD_Result ret = MHD_NO;

    if (o == NULL || cJSON_AddStringToObject(o, "tile_url", h->cfg->tile_url) == NULL ||
        cJSON_AddStringToObject(o, "version", PANTAU_VERSION) == NULL) {
        goto out;
    }
    text = cJSON_PrintUnformatted(o);
    if (text != NULL) {
        ret = answer_json(h, conn, 200, text);
    }
out:
    cJSON_free(text);
    cJSON_Delete(o);
    return ret;
}

/* GET /api/session: who is logged in and the CSRF token, from the session (no SQL): the page
 * asks it first and shows the login when it gets 401. */
static enum MHD_Result do_session(struct http *h, struct MHD_Connection *conn,
                                  const struct auth_session *s)
{
    cJSON *o = cJSON_CreateObject();
    char *text = NULL;
    enum MHD_Result ret = MHD_NO;

    if (o == NULL || cJSON_AddStringToObject(o, "user", s->username) == NULL ||
        cJSON_AddStringToObject(o, "role", s->role) == NULL ||
        (s->unit[0] != '\0' ? cJSON_AddStringToObject(o, "unit", s->unit)
                            : cJSON_AddNullToObject(o, "unit")) == NULL ||
        cJSON_AddBoolToObject(o, "may_act", auth_may_act(s)) == NULL ||
        cJSON_AddStringToObject(o, "csrf", s->csrf) == NULL ||
        cJSON_AddStringToObject(o, "tile_url", h->cfg->tile_url) == NULL) {
        goto out;
    }
    text = cJSON_PrintUnformatted(o);
    if (text != NULL) {
        ret = answer_json(h, conn, 200, text);
    }
out:
    cJSON_free(text);
    cJSON_Delete(o);
    return ret;
}

static enum MHD_Result do_api(struct http *h, struct MHD_Connection *conn, const char *method,
                              const char *path, struct req *rq)
{
    bool post = strcmp(method, "POST") == 0;
    struct auth_session s;
    const char *csrf = NULL;
    size_t i;

    if (!post && strcmp(method, "GET") != 0) {
        return answer_error(h, conn, 405, "method_not_allowed", "GET or POST");
    }
    if (post && rq->too_big) {
        return answer_error(h, conn, 413, "too_large", "the body is larger than 8 KiB");
    }
    if (post && !body_is_json(conn)) {
        return answer_error(h, conn, 415, "unsupported_media_type",
                            "POST bodies are application/json");
    }
    if (post && strcmp(path, "login") == 0) {
        return do_login(h, conn, rq);
    }
    if (!post && strcmp(path, "config") == 0) {
        return do_config(h, conn);
    }
    if (!session_of(h, conn, &s)) {
        return answer_error(h, conn, 401, "not_logged_in", "log in first");
    }
    if (post) {
        csrf = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-CSRF-Token");
        if (!auth_csrf_ok(&s, csrf)) {
            return answer_error(h, conn, 403, "csrf", "missing or wrong X-CSRF-Token");
        }
        if (strcmp(path, "logout") == 0) {
            return do_logout(h, conn, &s);
        }
        if (strncmp(path, "alerts/", 7) == 0) {
            return do_act(h, conn, &s, path + 7, rq);
        }
        return answer_error(h, conn, 404, "not_found", "no such API path");
    }
    if (strcmp(path, "events") == 0) {
        return do_events(h, conn);
    }
    if (strcmp(path, "session") == 0) {
        return do_session(h, conn, &s);
    }
    for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (strcmp(routes[i].name, path) == 0) {
            return do_route(h, conn, &s, &routes[i]);
        }
    }
    return answer_error(h, conn, 404, "not_found", "no such API path");
}

/* ---- /metrics ------------------------------------------------------------------------------ */

/* The replica's lines (db_read_conninfo set): its pool's counters and its replication state,
 * asked of it now. Writes at most size bytes to buf; returns what it wrote. */
static size_t replica_metrics(struct http *h, char *buf, size_t size)
{
    struct db_stats ds;
    struct db_replica r;
    int n;

    db_pool_stats(h->read_pool, &ds);
    db_replica_status(h->read_pool, &r);
    n = snprintf(
        buf, size,
        "# TYPE pantau_console_read_db_calls_total counter\n"
        "pantau_console_read_db_calls_total %" PRIu64 "\n"
        "# TYPE pantau_console_read_db_errors_total counter\n"
        "pantau_console_read_db_errors_total %" PRIu64 "\n"
        "# HELP pantau_console_read_db_up Whether db_read_conninfo's database answered\n"
        "# TYPE pantau_console_read_db_up gauge\npantau_console_read_db_up %d\n"
        "# HELP pantau_console_replica_in_recovery Whether it is a standby (replaying WAL)\n"
        "# TYPE pantau_console_replica_in_recovery gauge\npantau_console_replica_in_recovery %d\n"
        "# HELP pantau_console_replica_streaming Whether its WAL receiver is connected\n"
        "# TYPE pantau_console_replica_streaming gauge\npantau_console_replica_streaming %d\n",
        ds.calls, ds.errors, r.up ? 1 : 0, r.in_recovery ? 1 : 0, r.streaming ? 1 : 0);
    if (n < 0 || (size_t)n >= size) {
        return n < 0 ? 0 : size;
    }
    if (r.up) {
        int m = snprintf(buf + n, size - (size_t)n,
                         "# HELP pantau_console_replica_lag_seconds Now minus the commit time of"
                         " the last transaction replayed (0: all received is replayed)\n"
                         "# TYPE pantau_console_replica_lag_seconds gauge\n"
                         "pantau_console_replica_lag_seconds %.3f\n"
                         "# HELP pantau_console_replica_lag_bytes WAL received, not replayed\n"
                         "# TYPE pantau_console_replica_lag_bytes gauge\n"
                         "pantau_console_replica_lag_bytes %.0f\n",
                         r.lag_s, r.lag_bytes);
        if (m < 0) {
            m = 0;
        }
        n += m;
    }
    return (size_t)n < size ? (size_t)n : size;
}

static enum MHD_Result do_metrics(struct http *h, struct MHD_Connection *conn)
{
    char buf[16384];
    size_t len = 0;
    struct auth_stats as;
    struct db_stats ds;
    struct events_stats es;
    int n;
    int code;

    auth_stats_get(h->auth, &as);
    db_pool_stats(h->pool, &ds);
    events_stats_get(h->ev, &es);
    n = snprintf(buf, sizeof(buf),
                 "# HELP pantau_console_requests_total HTTP answers by status code\n"
                 "# TYPE pantau_console_requests_total counter\n");
    len = n > 0 ? (size_t)n : 0;
    for (code = 100; code < HTTP_CODES && len < sizeof(buf); code++) {
        uint64_t v = atomic_load(&h->requests[code]);

        if (v > 0) {
            n = snprintf(buf + len, sizeof(buf) - len,
                         "pantau_console_requests_total{code=\"%d\"} %" PRIu64 "\n", code, v);
            len += n > 0 ? (size_t)n : 0;
        }
    }
    if (len < sizeof(buf)) {
        n = snprintf(
            buf + len, sizeof(buf) - len,
            "# TYPE pantau_console_sessions gauge\npantau_console_sessions %" PRIu64 "\n"
            "# TYPE pantau_console_sse_clients gauge\npantau_console_sse_clients %" PRIu64 "\n"
            "# TYPE pantau_console_events_total counter\npantau_console_events_total %" PRIu64 "\n"
            "# TYPE pantau_console_notifications_total counter\n"
            "pantau_console_notifications_total %" PRIu64 "\n"
            "# TYPE pantau_console_listening gauge\npantau_console_listening %d\n"
            "# TYPE pantau_console_db_calls_total counter\npantau_console_db_calls_total %" PRIu64
            "\n"
            "# TYPE pantau_console_db_errors_total counter\n"
            "pantau_console_db_errors_total %" PRIu64 "\n"
            "# TYPE pantau_console_db_wait_timeouts_total counter\n"
            "pantau_console_db_wait_timeouts_total %" PRIu64 "\n"
            "# TYPE pantau_console_logins_total counter\npantau_console_logins_total %" PRIu64 "\n"
            "# TYPE pantau_console_login_refusals_total counter\n"
            "pantau_console_login_refusals_total %" PRIu64 "\n"
            "# TYPE pantau_console_login_slowed_total counter\n"
            "pantau_console_login_slowed_total %" PRIu64 "\n",
            as.sessions, es.clients, es.events, es.notifications, es.listening ? 1 : 0, ds.calls,
            ds.errors, ds.waits_timed, as.logins, as.refused, as.slowed);
        len += n > 0 ? (size_t)n : 0;
    }
    if (h->read_pool != h->pool && len < sizeof(buf)) {
        len += replica_metrics(h, buf + len, sizeof(buf) - len);
    }
    if (len >= sizeof(buf)) {
        len = sizeof(buf) - 1;
    }
    buf[len] = '\0';
    return answer(h, conn, 200, "text/plain; version=0.0.4; charset=utf-8", buf);
}

/* ---- static files -------------------------------------------------------------------------- */

static const char *content_type_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    size_t i;

    for (i = 0; dot != NULL && i < sizeof(content_types) / sizeof(content_types[0]); i++) {
        if (strcmp(dot, content_types[i].ext) == 0) {
            return content_types[i].type;
        }
    }
    return "application/octet-stream";
}

/* Whether rel (a path below a served folder, without the leading /) may name a file: letters,
 * digits and . _ - / only, no empty, "." or ".." segment, nothing hidden. */
static bool rel_path_ok(const char *rel)
{
    const char *seg = rel;
    size_t i;

    if (rel[0] == '\0' || strlen(rel) > 512) {
        return false;
    }
    for (i = 0; rel[i] != '\0'; i++) {
        char c = rel[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == '/')) {
            return false;
        }
    }
    while (*seg != '\0') {
        if (seg[0] == '/' || seg[0] == '.') {
            return false; /* empty segment, ".", "..", hidden file */
        }
        seg += strcspn(seg, "/");
        if (*seg == '/') {
            seg++;
            if (*seg == '\0') {
                return false;
            }
        }
    }
    return true;
}

/* The folders of js_lib_dir the page uses (Debian's libjs-leaflet with its markercluster, and
 * libjs-chart.js); the rest of /usr/share/javascript is not served. */
static const char *const lib_folders[] = {"leaflet/", "chart.js/"};

static bool lib_allowed(const char *rel)
{
    size_t i;

    for (i = 0; i < sizeof(lib_folders) / sizeof(lib_folders[0]); i++) {
        if (strncmp(rel, lib_folders[i], strlen(lib_folders[i])) == 0) {
            return true;
        }
    }
    return false;
}

static enum MHD_Result do_file(struct http *h, struct MHD_Connection *conn, const char *url)
{
    char path[PATH_MAX];
    char real[PATH_MAX];
    const char *base = h->web_dir;
    const char *rel = url + 1;
    struct stat st;
    struct MHD_Response *r = NULL;
    int fd = -1;
    int n;

    if (strcmp(url, "/") == 0) {
        rel = "index.html";
    } else if (strncmp(url, "/lib/", 5) == 0) {
        base = h->lib_dir;
        rel = url + 5;
        if (!lib_allowed(rel)) {
            return answer_error(h, conn, 404, "not_found", "no such library");
        }
    }
    if (!rel_path_ok(rel)) {
        return answer_error(h, conn, 404, "not_found", "no such file");
    }
    n = snprintf(path, sizeof(path), "%s/%s", base, rel);
    if (n < 0 || (size_t)n >= sizeof(path) || realpath(path, real) == NULL ||
        strncmp(real, base, strlen(base)) != 0 || real[strlen(base)] != '/') {
        return answer_error(h, conn, 404, "not_found", "no such file");
    }
    fd = open(real, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0) {
            close(fd);
        }
        return answer_error(h, conn, 404, "not_found", "no such file");
    }
    r = MHD_create_response_from_fd((uint64_t)st.st_size, fd); /* takes fd */
    if (r == NULL) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", content_type_of(real));
    /* the page is small and changes with every release: the browser asks again each time */
    MHD_add_response_header(r, "Cache-Control", base == h->lib_dir ? "max-age=86400" : "no-cache");
    return queue(h, conn, 200, r);
}

/* ---- libmicrohttpd's callbacks ------------------------------------------------------------- */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct http *h = cls;
    struct req *rq = *con_cls;

    (void)version;
    if (rq == NULL) {
        rq = calloc(1, sizeof(*rq));
        if (rq == NULL) {
            return MHD_NO;
        }
        *con_cls = rq;
        if (strcmp(method, "POST") == 0) {
            return MHD_YES; /* the body comes in the next calls */
        }
    }
    if (*upload_data_size > 0) {
        if (rq->len + *upload_data_size > HTTP_BODY_MAX) {
            rq->too_big = true;
        } else {
            memcpy(rq->body + rq->len, upload_data, *upload_data_size);
            rq->len += *upload_data_size;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    rq->body[rq->len] = '\0';
    if (strncmp(url, "/api/", 5) == 0) {
        return do_api(h, conn, method, url + 5, rq);
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        return answer_error(h, conn, 405, "method_not_allowed", "GET");
    }
    if (strcmp(url, "/metrics") == 0) {
        return do_metrics(h, conn);
    }
    return do_file(h, conn, url);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct req *rq = *con_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (rq != NULL) {
        msg_secret_wipe(rq, sizeof(*rq)); /* may hold a password */
        free(rq);
    }
    *con_cls = NULL;
}

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    log_vmsg(LOG_WARNING, fmt, ap);
}

/* Reads a whole PEM file into a new NUL-terminated string (caller frees with free). */
static char *read_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t n = 0;

    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    buf = malloc(HTTP_TLS_FILE_MAX + 1);
    if (buf != NULL) {
        n = fread(buf, 1, HTTP_TLS_FILE_MAX, f);
        buf[n] = '\0';
    }
    fclose(f);
    if (buf == NULL || n == 0 || n == HTTP_TLS_FILE_MAX) {
        snprintf(err, errlen, "%s: empty, unreadable or larger than 64 KiB", path);
        free(buf);
        return NULL;
    }
    return buf;
}

/* The Content-Security-Policy: everything from this server, the map tiles from tile_url's
 * origin. */
static void make_csp(struct http *h)
{
    char origin[CONSOLE_URL_MAX] = "";
    const char *u = h->cfg->tile_url;
    const char *host = NULL;

    if (strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0) {
        host = strstr(u, "://") + 3;
        snprintf(origin, sizeof(origin), " %.*s", (int)(host - u + strcspn(host, "/")), u);
    }
    snprintf(h->csp, sizeof(h->csp),
             "default-src 'self'; img-src 'self' data: blob:%s; style-src 'self' "
             "'unsafe-inline'; script-src 'self'; connect-src 'self'; media-src 'self' data:; "
             "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
             origin);
}

struct http *http_new(const struct console_config *cfg, struct db_pool *pool,
                      struct db_pool *read_pool, struct auth *auth, struct events *ev, char *err,
                      size_t errlen)
{
    struct http *h = calloc(1, sizeof(*h));
    struct sockaddr_in sa;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;

    if (h == NULL) {
        snprintf(err, errlen, "http: out of memory");
        return NULL;
    }
    h->cfg = cfg;
    h->pool = pool;
    h->read_pool = read_pool;
    h->auth = auth;
    h->ev = ev;
    for (int i = 0; i < HTTP_CODES; i++) {
        atomic_init(&h->requests[i], 0);
    }
    if (realpath(cfg->web_dir, h->web_dir) == NULL ||
        realpath(cfg->js_lib_dir, h->lib_dir) == NULL) {
        snprintf(err, errlen, "http: web_dir or js_lib_dir: %s", strerror(errno));
        goto fail;
    }
    make_csp(h);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)cfg->listen_port);
    if (inet_pton(AF_INET, cfg->listen_address, &sa.sin_addr) != 1) {
        snprintf(err, errlen, "http: listen_address %s is not an IPv4 address",
                 cfg->listen_address);
        goto fail;
    }
    if (cfg->tls_cert[0] != '\0') {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            snprintf(err, errlen, "http: this libmicrohttpd has no TLS: use nginx in front");
            goto fail;
        }
        h->tls_cert = read_file(cfg->tls_cert, err, errlen);
        h->tls_key = h->tls_cert != NULL ? read_file(cfg->tls_key, err, errlen) : NULL;
        if (h->tls_key == NULL) {
            goto fail;
        }
        flags |= MHD_USE_TLS;
    }
    /* the logger first: libmicrohttpd uses its own for whatever an earlier option says */
    h->d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)cfg->threads, MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, 120u, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        /* without TLS these two are the end of the list */
        h->tls_cert != NULL ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, h->tls_cert,
        MHD_OPTION_HTTPS_MEM_KEY, h->tls_key, MHD_OPTION_END);
    if (h->d == NULL) {
        snprintf(err, errlen, "http: cannot listen on %s:%lld (taken, or no permission)",
                 cfg->listen_address, cfg->listen_port);
        goto fail;
    }
    return h;
fail:
    http_free(h);
    return NULL;
}

void http_free(struct http *h)
{
    if (h == NULL) {
        return;
    }
    if (h->d != NULL) {
        MHD_stop_daemon(h->d);
    }
    if (h->tls_key != NULL) {
        msg_secret_wipe(h->tls_key, strlen(h->tls_key));
    }
    free(h->tls_key);
    free(h->tls_cert);
    free(h);
}
