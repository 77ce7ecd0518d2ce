/* pgsink.c -- batches into PostgreSQL: see pgsink.h.
 *
 * One transaction per batch, one query string per transaction (the simple-query protocol runs
 * its statements in order and libpq hands us each result):
 *
 *   BEGIN;
 *   COPY pantau_stage_reading FROM STDIN;    -- readings and status messages
 *   COPY pantau_stage_dead FROM STDIN;       -- dead letters found before the database
 *   <the statements of sink_sql>;            -- ledger, facts, incidents, status, dead letters
 *   SELECT ord, outcome ...;                 -- new / duplicate / clash per staged reading
 *   COMMIT
 *
 * The staged rows are sorted by (device, store, seq) and the ledger INSERT takes them in that
 * order, so two collectors writing overlapping batches lock ledger keys in the same order and
 * cannot deadlock; incidents and device status are upserted in key order for the same reason.
 * Two copies of one key inside a batch are settled here before COPY: an identical copy takes
 * the outcome of the first, a different one is a clash. */
#include "pgsink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deadkey.h"
#include "log.h"
#include "msg_clock.h"
#include "msg_deadcat.h"
#include "msg_time.h"
#include "msg_topic.h"
#include "sink_sql.h"

#define COPY_CHUNK (256 * 1024) /* bytes handed to PQputCopyData at a time */
#define DETAIL_MAX 256

enum row_kind {
    ROW_READING,
    ROW_STATUS,
    ROW_DEAD,
};

enum row_state {
    ROW_PENDING,  /* not committed yet */
    ROW_DONE,     /* committed, not reported yet */
    ROW_REPORTED, /* committed and reported by pgsink_take_done */
    ROW_LOST,     /* could not be stored even as a dead letter (logged); not reported */
};

/* How one attempt at a transaction failed. */
enum fail_kind {
    FAIL_NONE,
    FAIL_DATA,  /* a row's data: split the batch */
    FAIL_RETRY, /* deadlock or serialization failure: try the same again */
    FAIL_CONN,  /* connection or server: reconnect, back off */
};

struct row {
    enum row_kind kind;
    enum row_state state;
    enum pgsink_outcome outcome;
    enum msg_stream stream;
    bool has_key;
    bool from_broker; /* dead letters: refused by the broker */
    bool twin;        /* same key and content as the row before it */
    bool local_clash; /* same key as the row before it, other content */
    bool ledger;      /* dead letters: the reading gets a ledger row (outcome dead_letter) */
    bool has_dkey;    /* dead letters: dkey is set */
    unsigned char dkey[DEADKEY_LEN]; /* dead letters: dedup_key (deadkey.h) */
    uint32_t ord;     /* index in rows[], returned by the classification */
    char device_id[MSG_ID_MAX + 1];
    struct msg_envelope env; /* status rows: store_id, ts_ms, clock_synced; seq = conn */
    unsigned char sha[PGSINK_SHA256_LEN];
    int64_t recv_us;
    size_t topic_off; /* raw bytes in the arena */
    size_t topic_len;
    size_t payload_off;
    size_t payload_len;
    size_t payload_len_orig;
    char stream_name[16];           /* dead letters: the topic's last level, if known */
    bool has_whole_sha;             /* dead letters: whole_sha is set */
    unsigned char whole_sha[DEADKEY_LEN]; /* dead letters: SHA-256 of the whole payload */
    char reason[PGSINK_REASON_MAX]; /* dead letters */
    char category[PGSINK_CATEGORY_MAX]; /* dead letters; "" lets the database derive it */
    char detail[DETAIL_MAX];
    struct msg_flood flood; /* flood readings: the members, so that SQL need not parse JSON */
};

struct pgsink {
    char *conninfo;
    char *password;
    char *collector_id;
    struct pgsink_limits lim;
    struct metrics *m;
    PGconn *conn;
    struct row *rows; /* [0, nrows) */
    size_t nrows;
    size_t npending;
    char *arena; /* raw topics and payloads */
    size_t arena_used;
    size_t arena_cap;
    uint32_t *idx; /* scratch: pending rows in write order */
    char *copy;    /* scratch: COPY text, COPY_CHUNK + one row */
    size_t copy_used;
    size_t copy_cap;
    char *q_read; /* scratch: the transaction's query with readings (query_build) */
    size_t q_read_cap;
    char *q_dead;            /* the transaction's query with dead letters only */
    long long redrive;       /* the redrive request of the batch (pgsink_set_redrive); 0: none */
    char errbuf[MSG_ERRLEN]; /* the last failure's database message */
};

/* ---- life cycle -------------------------------------------------------------------------- */

/* The whole query string of a transaction with dead letters only: BEGIN, the COPY, the
 * statements, COMMIT. Caller frees with free(). */
static char *query_dead(void)
{
    size_t len = strlen(sink_dead_sql) + 256;
    char *q = malloc(len);

    if (q != NULL) {
        snprintf(q, len, "BEGIN; COPY pantau_stage_dead FROM STDIN;\n%s;\nCOMMIT", sink_dead_sql);
    }
    return q;
}

/* The room query_build needs at most: every statement. */
static size_t query_read_cap(void)
{
    size_t len = 256 + sizeof(sink_redrive_pre_sql) + sizeof(SINK_REDRIVE_POST_FMT) + 32;

    for (size_t i = 0; i < sizeof(sink_batch_stmts) / sizeof(sink_batch_stmts[0]); i++) {
        len += strlen(sink_batch_stmts[i].sql) + 2;
    }
    return len;
}

/* The query of a transaction with readings into s->q_read: BEGIN, the COPYs (the dead letters'
 * if dead), the statements of sink_batch_stmts that need is for (sink_sql.h), COMMIT; in a
 * redrive, the redrive's statements around them. */
static void query_build(struct pgsink *s, unsigned need, bool dead)
{
    size_t used = 0;
    int n = snprintf(s->q_read, s->q_read_cap, "BEGIN; COPY pantau_stage_reading FROM STDIN;%s\n",
                     dead ? " COPY pantau_stage_dead FROM STDIN;" : "");

    used = n > 0 ? (size_t)n : 0;
    if (s->redrive != 0) {
        n = snprintf(s->q_read + used, s->q_read_cap - used, "%s;\n", sink_redrive_pre_sql);
        used += n > 0 ? (size_t)n : 0;
    }
    for (size_t i = 0; i < sizeof(sink_batch_stmts) / sizeof(sink_batch_stmts[0]); i++) {
        const struct sink_stmt *st = &sink_batch_stmts[i];

        if (st->need == 0 || (st->need & need) != 0) {
            n = snprintf(s->q_read + used, s->q_read_cap - used, "%s;\n", st->sql);
            used += n > 0 ? (size_t)n : 0;
        }
    }
    if (s->redrive != 0) {
        n = snprintf(s->q_read + used, s->q_read_cap - used, SINK_REDRIVE_POST_FMT ";\n",
                     s->redrive);
        used += n > 0 ? (size_t)n : 0;
    }
    snprintf(s->q_read + used, s->q_read_cap - used, "COMMIT");
}

struct pgsink *pgsink_new(const char *conninfo, const char *password, const char *collector_id,
                          const struct pgsink_limits *lim, struct metrics *m)
{
    struct pgsink *s = calloc(1, sizeof(*s));

    if (s == NULL) {
        return NULL;
    }
    s->lim = *lim;
    s->m = m;
    s->conninfo = strdup(conninfo);
    s->password = strdup(password != NULL ? password : "");
    s->collector_id = strdup(collector_id);
    s->rows = calloc(lim->rows, sizeof(*s->rows));
    s->idx = calloc(lim->rows, sizeof(*s->idx));
    s->arena_cap = lim->bytes + 2 * (size_t)lim->rows;
    s->arena = malloc(s->arena_cap);
    s->copy_cap = 2 * COPY_CHUNK;
    s->copy = malloc(s->copy_cap);
    s->q_read_cap = query_read_cap();
    s->q_read = malloc(s->q_read_cap);
    s->q_dead = query_dead();
    if (s->conninfo == NULL || s->password == NULL || s->collector_id == NULL || s->rows == NULL ||
        s->idx == NULL || s->arena == NULL || s->copy == NULL || s->q_read == NULL ||
        s->q_dead == NULL) {
        pgsink_free(s);
        return NULL;
    }
    return s;
}

void pgsink_free(struct pgsink *s)
{
    if (s == NULL) {
        return;
    }
    if (s->conn != NULL) {
        PQfinish(s->conn);
    }
    if (s->password != NULL) {
        memset(s->password, 0, strlen(s->password));
    }
    free(s->password);
    free(s->conninfo);
    free(s->collector_id);
    free(s->rows);
    free(s->idx);
    free(s->arena);
    free(s->copy);
    free(s->q_read);
    free(s->q_dead);
    free(s);
}

bool pgsink_connected(const struct pgsink *s)
{
    return s->conn != NULL && PQstatus(s->conn) == CONNECTION_OK;
}

static void disconnect(struct pgsink *s)
{
    if (s->conn != NULL) {
        PQfinish(s->conn);
        s->conn = NULL;
    }
}

/* The database's one-line message for res (or the connection), without its trailing newline. */
static void pg_message(struct pgsink *s, const PGresult *res, char *out, size_t outlen)
{
    const char *msg = res != NULL ? PQresultErrorMessage(res) : "";
    size_t n;

    if (msg == NULL || msg[0] == '\0') {
        msg = s->conn != NULL ? PQerrorMessage(s->conn) : "no connection";
    }
    snprintf(out, outlen, "%s", msg);
    n = strcspn(out, "\n");
    out[n] = '\0';
}

PGconn *pgsink_conn(struct pgsink *s, char *err, size_t errlen)
{
    /* later entries override earlier ones: our defaults, then the operator's conninfo, then
     * the password from its file */
    const char *keys[] = {"application_name",
                          "connect_timeout",
                          "keepalives",
                          "keepalives_idle",
                          "keepalives_interval",
                          "keepalives_count",
                          "dbname",
                          "password",
                          NULL};
    const char *vals[] = {"pantau-collector",
                          "5",
                          "1",
                          "10",
                          "5",
                          "3",
                          s->conninfo,
                          s->password[0] != '\0' ? s->password : NULL,
                          NULL};
    PGresult *res = NULL;

    if (s->conn != NULL && PQstatus(s->conn) == CONNECTION_OK) {
        return s->conn;
    }
    disconnect(s);
    if (vals[7] == NULL) {
        keys[7] = NULL;
    }
    s->conn = PQconnectdbParams(keys, vals, 1);
    if (s->conn == NULL || PQstatus(s->conn) != CONNECTION_OK) {
        char msg[MSG_ERRLEN];

        pg_message(s, NULL, msg, sizeof(msg));
        snprintf(err, errlen, "pgsink: connect: %s", msg);
        disconnect(s);
        return NULL;
    }
    res = PQexec(s->conn, sink_session_sql);
    if (PQresultStatus(res) == PGRES_COMMAND_OK) {
        const char *params[1] = {s->collector_id};

        PQclear(res);
        res = PQexecParams(s->conn, "SELECT set_config('pantau.collector_id', $1, false)", 1, NULL,
                           params, NULL, NULL, 0);
    }
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
        char msg[MSG_ERRLEN];

        pg_message(s, res, msg, sizeof(msg));
        snprintf(err, errlen, "pgsink: preparing the session (staging tables): %s", msg);
        PQclear(res);
        disconnect(s);
        return NULL;
    }
    PQclear(res);
    return s->conn;
}

int pgsink_ensure_partitions(struct pgsink *s, char *err, size_t errlen)
{
    PGresult *res = NULL;
    char msg[MSG_ERRLEN];
    int rc = MSG_OK;

    if (pgsink_conn(s, err, errlen) == NULL) {
        return MSG_ERR_DB;
    }
    res = PQexec(s->conn, "SELECT pantau.ensure_partitions()");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pg_message(s, res, msg, sizeof(msg));
        snprintf(err, errlen, "pgsink: pantau.ensure_partitions(): %s", msg);
        rc = MSG_ERR_DB;
        if (PQstatus(s->conn) != CONNECTION_OK) {
            disconnect(s);
        }
    }
    PQclear(res);
    return rc;
}

int pgsink_ping(struct pgsink *s, char *err, size_t errlen)
{
    PGresult *res = NULL;
    char msg[MSG_ERRLEN];
    int rc = MSG_OK;

    if (pgsink_conn(s, err, errlen) == NULL) {
        return MSG_ERR_DB;
    }
    res = PQexec(s->conn, "SELECT 1");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pg_message(s, res, msg, sizeof(msg));
        snprintf(err, errlen, "pgsink: ping: %s", msg);
        disconnect(s);
        rc = MSG_ERR_DB;
    }
    PQclear(res);
    return rc;
}

/* ---- the batch --------------------------------------------------------------------------- */

size_t pgsink_pending(const struct pgsink *s)
{
    return s->npending;
}

bool pgsink_has_room(const struct pgsink *s, size_t topic_len, size_t payload_len)
{
    return s->nrows < s->lim.rows && s->arena_used + topic_len + payload_len + 2 <= s->arena_cap;
}

static struct row *new_row(struct pgsink *s, const char *topic, size_t topic_len,
                           const char *payload, size_t payload_len, size_t payload_len_orig,
                           int64_t recv_us)
{
    struct row *r;

    if (!pgsink_has_room(s, topic_len, payload_len)) {
        return NULL;
    }
    r = &s->rows[s->nrows];
    memset(r, 0, offsetof(struct row, reason));
    r->reason[0] = '\0';
    r->category[0] = '\0';
    r->detail[0] = '\0';
    r->ord = (uint32_t)s->nrows;
    r->state = ROW_PENDING;
    r->recv_us = recv_us;
    r->topic_off = s->arena_used;
    r->topic_len = topic_len;
    memcpy(s->arena + s->arena_used, topic, topic_len);
    s->arena_used += topic_len;
    s->arena[s->arena_used++] = '\0';
    r->payload_off = s->arena_used;
    r->payload_len = payload_len;
    r->payload_len_orig = payload_len_orig;
    if (payload_len > 0) {
        memcpy(s->arena + s->arena_used, payload, payload_len);
    }
    s->arena_used += payload_len;
    s->arena[s->arena_used++] = '\0';
    s->nrows++;
    s->npending++;
    return r;
}

int pgsink_add_event(struct pgsink *s, const struct msg_event *ev,
                     const unsigned char sha256[PGSINK_SHA256_LEN], const char *topic,
                     size_t topic_len, const char *payload, size_t payload_len,
                     size_t payload_len_orig, int64_t recv_us)
{
    struct row *r = new_row(s, topic, topic_len, payload, payload_len, payload_len_orig, recv_us);

    if (r == NULL) {
        return MSG_ERR_FULL;
    }
    r->stream = ev->stream;
    memcpy(r->device_id, ev->device_id, sizeof(r->device_id));
    if (ev->stream == MSG_STREAM_STATUS) {
        r->kind = ROW_STATUS;
        memcpy(r->env.store_id, ev->u.status.store_id, sizeof(r->env.store_id));
        r->env.ts_ms = ev->u.status.ts_ms;
        r->env.clock_synced = ev->u.status.clock_synced;
        r->env.seq = ev->u.status.conn; /* only for sorting; status has no seq */
        return MSG_OK;
    }
    r->kind = ROW_READING;
    r->has_key = true;
    r->env = ev->env;
    if (ev->stream == MSG_STREAM_FLOOD) {
        r->flood = ev->u.flood;
    }
    memcpy(r->sha, sha256, PGSINK_SHA256_LEN);
    return MSG_OK;
}

int pgsink_add_dead(struct pgsink *s, const char *topic, size_t topic_len, const char *payload,
                    size_t payload_len, size_t payload_len_orig, int64_t recv_us,
                    const char *reason, const char *detail, const struct pgsink_dead_key *key)
{
    struct row *r = new_row(s, topic, topic_len, payload, payload_len, payload_len_orig, recv_us);

    if (r == NULL) {
        return MSG_ERR_FULL;
    }
    r->kind = ROW_DEAD;
    r->stream = MSG_STREAM_COUNT; /* none */
    snprintf(r->reason, sizeof(r->reason), "%s", reason);
    snprintf(r->detail, sizeof(r->detail), "%s", detail != NULL ? detail : "");
    if (key != NULL) {
        if (key->device_id != NULL && msg_id_valid(key->device_id, strlen(key->device_id))) {
            memcpy(r->device_id, key->device_id, strlen(key->device_id) + 1);
        }
        if (key->store_id != NULL && strlen(key->store_id) == MSG_STORE_ID_LEN) {
            memcpy(r->env.store_id, key->store_id, MSG_STORE_ID_LEN + 1);
        }
        r->env.seq = key->seq;
        if (key->stream != NULL && strlen(key->stream) < sizeof(r->stream_name)) {
            memcpy(r->stream_name, key->stream, strlen(key->stream) + 1);
        }
        r->from_broker = key->from_broker;
        if (key->category != NULL && strlen(key->category) < sizeof(r->category)) {
            memcpy(r->category, key->category, strlen(key->category) + 1);
        }
        if (key->whole_sha != NULL && payload_len_orig > payload_len) {
            memcpy(r->whole_sha, key->whole_sha, DEADKEY_LEN);
            r->has_whole_sha = true;
        }
    }
    r->has_key = r->device_id[0] != '\0' && r->env.store_id[0] != '\0' && r->env.seq > 0;
    if (r->has_key && key->content != NULL) {
        memcpy(r->sha, key->content, DEADKEY_LEN);
        r->has_dkey = deadkey_keyed(r->device_id, r->env.store_id, r->env.seq, r->sha, r->dkey) ==
                      MSG_OK;
        if (key->env != NULL && r->stream_name[0] != '\0') {
            char store[MSG_STORE_ID_LEN + 1];

            memcpy(store, r->env.store_id, sizeof(store));
            r->env = *key->env;
            memcpy(r->env.store_id, store, sizeof(store));
            r->env.seq = key->seq;
            r->ledger = true;
        }
    } else if (r->has_whole_sha) {
        r->has_dkey = deadkey_whole(topic, topic_len, r->whole_sha, r->dkey) == MSG_OK;
    } else {
        r->has_dkey = deadkey_raw(topic, topic_len, payload, payload_len, r->dkey) == MSG_OK;
    }
    return MSG_OK;
}

void pgsink_take_done(struct pgsink *s, pgsink_done_fn fn, void *ctx)
{
    bool all = true;

    for (size_t i = 0; i < s->nrows; i++) {
        struct row *r = &s->rows[i];
        struct pgsink_done d;

        if (r->state == ROW_PENDING) {
            all = false;
            continue;
        }
        if (r->state != ROW_DONE) {
            continue;
        }
        d.outcome = r->outcome;
        d.has_key = r->has_key;
        d.device_id = r->device_id;
        d.store_id = r->env.store_id;
        d.seq = r->env.seq;
        d.recv_us = r->recv_us;
        fn(ctx, &d);
        r->state = ROW_REPORTED;
    }
    if (all) {
        s->nrows = 0;
        s->npending = 0;
        s->arena_used = 0;
    }
}

void pgsink_set_redrive(struct pgsink *s, long long request)
{
    s->redrive = request;
}

void pgsink_discard(struct pgsink *s)
{
    s->nrows = 0;
    s->npending = 0;
    s->arena_used = 0;
}

/* ---- COPY text --------------------------------------------------------------------------- */

static void copy_raw(struct pgsink *s, const char *p, size_t n)
{
    memcpy(s->copy + s->copy_used, p, n);
    s->copy_used += n;
}

static void copy_str(struct pgsink *s, const char *p)
{
    copy_raw(s, p, strlen(p));
}

/* A text value in COPY's text format: backslash, tab, newline and CR escaped. */
static void copy_text(struct pgsink *s, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];

        switch (ch) {
        case '\\':
            copy_raw(s, "\\\\", 2);
            break;
        case '\t':
            copy_raw(s, "\\t", 2);
            break;
        case '\n':
            copy_raw(s, "\\n", 2);
            break;
        case '\r':
            copy_raw(s, "\\r", 2);
            break;
        default:
            s->copy[s->copy_used++] = ch;
        }
    }
}

/* A bytea value in COPY's text format: \\x and hex digits. */
static void copy_hex(struct pgsink *s, const unsigned char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";

    copy_raw(s, "\\\\x", 3);
    for (size_t i = 0; i < n; i++) {
        s->copy[s->copy_used++] = hex[p[i] >> 4];
        s->copy[s->copy_used++] = hex[p[i] & 15];
    }
}

/* The decimal digits of v into b (at least width digits, zero padded; b holds 24 bytes, no
 * NUL); returns their number. printf's cost (locale, varargs) showed in the profile. */
static size_t fmt_u64(char *b, uint64_t v, size_t width)
{
    char t[24];
    size_t n = 0;

    do {
        t[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v != 0 || n < width);
    for (size_t i = 0; i < n; i++) {
        b[i] = t[n - 1 - i];
    }
    return n;
}

static void copy_u64(struct pgsink *s, uint64_t v)
{
    char b[24];

    copy_raw(s, b, fmt_u64(b, v, 1));
}

static void copy_ts_ms(struct pgsink *s, int64_t ms)
{
    char b[MSG_TIME_LEN + 1];

    msg_time_format(ms, b);
    copy_raw(s, b, MSG_TIME_LEN);
}

/* A receive time in microseconds as an ISO timestamp PostgreSQL reads. */
static void copy_ts_us(struct pgsink *s, int64_t us)
{
    static const char sep[] = "-- ::";
    time_t secs = (time_t)(us / 1000000);
    long frac = (long)((us % 1000000 + 1000000) % 1000000);
    struct tm tm;
    int f[5];
    char b[96];
    size_t n;

    gmtime_r(&secs, &tm);
    if (tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
        snprintf(b, sizeof(b), "%04d-%02d-%02d %02d:%02d:%02d.%06ld+00", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
        copy_str(s, b);
        return;
    }
    /* YYYY-MM-DD HH:MM:SS.uuuuuu+00, without printf */
    f[0] = tm.tm_mon + 1;
    f[1] = tm.tm_mday;
    f[2] = tm.tm_hour;
    f[3] = tm.tm_min;
    f[4] = tm.tm_sec;
    n = fmt_u64(b, (uint64_t)(tm.tm_year + 1900), 4);
    for (size_t i = 0; i < 5; i++) {
        b[n++] = sep[i];
        n += fmt_u64(b + n, (uint64_t)f[i], 2);
    }
    b[n++] = '.';
    n += fmt_u64(b + n, (uint64_t)frac, 6);
    memcpy(b + n, "+00", 3);
    copy_raw(s, b, n + 3);
}

/* A float8 in COPY text that reads back as the same double, or NULL. A reading's numbers
 * mostly have a few decimals (123.4 cm, 3.87 V): when v is exactly the double nearest to
 * k / 10^d for an integer k (|k| < 2^53, d <= 6), the digits of k with d decimals are written,
 * which PostgreSQL's float8in (correctly rounded, like that division of two exact doubles)
 * reads back as v itself; anything else (and zero, for its sign) goes through %.17g. */
static void copy_f8(struct pgsink *s, bool has, double v)
{
    static const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6};
    char b[40];

    copy_raw(s, "\t", 1);
    if (!has) {
        copy_raw(s, "\\N", 2);
        return;
    }
    if (v != 0 && v > -1e9 && v < 1e9) {
        for (size_t d = 0; d < sizeof(p10) / sizeof(p10[0]); d++) {
            double x = v * p10[d];
            int64_t k = (int64_t)(x < 0 ? x - 0.5 : x + 0.5);

            if ((double)k / p10[d] == v) {
                uint64_t m = k < 0 ? (uint64_t)(-k) : (uint64_t)k;
                size_t n = fmt_u64(b, m, d + 1);

                if (k < 0) {
                    copy_raw(s, "-", 1);
                }
                copy_raw(s, b, n - d);
                if (d > 0) {
                    copy_raw(s, ".", 1);
                    copy_raw(s, b + n - d, d);
                }
                return;
            }
        }
    }
    copy_str(s, (snprintf(b, sizeof(b), "%.17g", v), b));
}

/* One line of pantau_stage_reading (column order: sink_sql.h). */
static void copy_reading(struct pgsink *s, const struct row *r)
{
    copy_u64(s, r->ord);
    copy_raw(s, "\t", 1);
    copy_str(s, msg_stream_name(r->stream));
    copy_raw(s, "\t", 1);
    copy_str(s, r->device_id);
    copy_raw(s, "\t", 1);
    copy_str(s, r->env.store_id);
    copy_raw(s, "\t", 1);
    if (r->kind == ROW_READING) {
        copy_u64(s, r->env.seq);
    } else {
        copy_raw(s, "\\N", 2);
    }
    copy_raw(s, "\t", 1);
    copy_ts_ms(s, r->env.ts_ms);
    copy_raw(s, "\t", 1);
    copy_str(s, r->env.clock_synced ? "t" : "f");
    copy_raw(s, "\t", 1);
    copy_str(s, r->env.replay ? "t" : "f");
    copy_raw(s, "\t", 1);
    if (r->env.has_boot) {
        copy_u64(s, r->env.boot);
    } else {
        copy_raw(s, "\\N", 2);
    }
    copy_raw(s, "\t", 1);
    if (r->env.has_mono) {
        copy_u64(s, r->env.mono_ms);
    } else {
        copy_raw(s, "\\N", 2);
    }
    copy_raw(s, "\t", 1);
    if (r->kind == ROW_READING) {
        copy_hex(s, r->sha, PGSINK_SHA256_LEN);
    } else {
        copy_raw(s, "\\N", 2);
    }
    copy_raw(s, "\t", 1);
    copy_text(s, s->arena + r->payload_off, r->payload_len);
    copy_raw(s, "\t", 1);
    copy_text(s, s->arena + r->topic_off, r->topic_len);
    copy_raw(s, "\t", 1);
    copy_ts_us(s, r->recv_us);
    if (r->kind == ROW_READING && r->stream == MSG_STREAM_FLOOD) {
        const struct msg_flood *f = &r->flood;

        copy_raw(s, "\t", 1);
        copy_str(s, f->station);
        copy_f8(s, f->has_level, f->level_cm);
        copy_f8(s, f->has_discharge, f->discharge_m3s);
        copy_f8(s, f->has_distance, f->distance_cm);
        copy_f8(s, f->has_distance, f->offset_cm);
        copy_f8(s, f->has_rise, f->rise_cm_h);
        copy_f8(s, f->has_rain, f->rain_mm);
        copy_f8(s, f->has_battery, f->battery_v);
    } else {
        copy_str(s, "\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N");
    }
    copy_raw(s, "\n", 1);
}

/* The last columns of a line of pantau_stage_dead: category (NULL: the database derives
 * it from reason and detail) and the whole payload's hash, and the end of the line. */
static void copy_dead_tail(struct pgsink *s, const struct row *r, const char *category)
{
    copy_raw(s, "\t", 1);
    if (category != NULL && category[0] != '\0') {
        copy_str(s, category);
    } else {
        copy_raw(s, "\\N", 2);
    }
    copy_raw(s, "\t", 1);
    if (r->has_whole_sha) {
        copy_hex(s, r->whole_sha, DEADKEY_LEN);
    } else {
        copy_raw(s, "\\N", 2);
    }
    copy_raw(s, "\n", 1);
}

/* One line of pantau_stage_dead (column order: sink_sql.h). */
static void copy_dead(struct pgsink *s, const struct row *r, const char *reason,
                      const char *category, const char *detail, const unsigned char *dkey,
                      bool ledger)
{
    copy_u64(s, r->ord);
    copy_raw(s, "\t", 1);
    if (r->device_id[0] != '\0') {
        copy_str(s, r->device_id);
    } else {
        copy_raw(s, "\\N", 2);
    }
    copy_raw(s, "\t", 1);
    if (r->env.store_id[0] != '\0') {
        copy_str(s, r->env.store_id);
    } else {
        copy_raw(s, "\\N", 2);
    }
    copy_raw(s, "\t", 1);
    if (r->env.seq > 0 && r->kind != ROW_STATUS) {
        copy_u64(s, r->env.seq);
    } else {
        copy_raw(s, "\\N", 2);
    }
    copy_raw(s, "\t", 1);
    if (r->kind != ROW_DEAD) {
        copy_str(s, msg_stream_name(r->stream));
    } else if (r->stream_name[0] != '\0') {
        copy_text(s, r->stream_name, strlen(r->stream_name));
    } else {
        copy_raw(s, "\\N", 2);
    }
    copy_raw(s, "\t", 1);
    copy_text(s, s->arena + r->topic_off, r->topic_len);
    copy_raw(s, "\t", 1);
    copy_hex(s, (const unsigned char *)s->arena + r->payload_off, r->payload_len);
    copy_raw(s, "\t", 1);
    copy_u64(s, r->payload_len_orig);
    copy_raw(s, "\t", 1);
    copy_text(s, reason, strlen(reason));
    copy_raw(s, "\t", 1);
    copy_text(s, detail, strlen(detail));
    copy_raw(s, "\t", 1);
    copy_ts_us(s, r->recv_us);
    copy_raw(s, "\t", 1);
    copy_str(s, r->from_broker ? "broker" : "collector");
    copy_raw(s, "\t", 1);
    if (dkey != NULL) {
        copy_hex(s, dkey, DEADKEY_LEN);
    } else {
        copy_raw(s, "\\N", 2);
    }
    if (!ledger) {
        copy_str(s, "\tf\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N");
        copy_dead_tail(s, r, category);
        return;
    }
    copy_str(s, "\tt\t");
    copy_ts_ms(s, r->env.ts_ms);
    copy_raw(s, "\t", 1);
    copy_str(s, r->env.clock_synced ? "t" : "f");
    copy_raw(s, "\t", 1);
    copy_str(s, r->env.replay ? "t" : "f");
    copy_raw(s, "\t", 1);
    if (r->env.has_boot) {
        copy_u64(s, r->env.boot);
    } else {
        copy_raw(s, "\\N", 2);
    }
    copy_raw(s, "\t", 1);
    if (r->env.has_mono) {
        copy_u64(s, r->env.mono_ms);
    } else {
        copy_raw(s, "\\N", 2);
    }
    copy_raw(s, "\t", 1);
    copy_hex(s, r->sha, PGSINK_SHA256_LEN);
    copy_dead_tail(s, r, category);
}

static int put_copy(struct pgsink *s, bool end)
{
    if (s->copy_used > 0 && PQputCopyData(s->conn, s->copy, (int)s->copy_used) != 1) {
        return -1;
    }
    s->copy_used = 0;
    if (end && PQputCopyEnd(s->conn, NULL) != 1) {
        return -1;
    }
    return 0;
}

/* Makes room for need more bytes of COPY text: sends what is there, grows if still short. */
static int reserve(struct pgsink *s, size_t need)
{
    char *p;

    if (s->copy_used + need <= s->copy_cap) {
        return 0;
    }
    if (put_copy(s, false) != 0) {
        return -1;
    }
    if (need <= s->copy_cap) {
        return 0;
    }
    p = realloc(s->copy, need);
    if (p == NULL) {
        return -1;
    }
    s->copy = p;
    s->copy_cap = need;
    return 0;
}

/* ---- one transaction --------------------------------------------------------------------- */

static int cmp_key(const struct row *a, const struct row *b)
{
    int c = strcmp(a->device_id, b->device_id);

    if (c != 0) {
        return c;
    }
    c = strcmp(a->env.store_id, b->env.store_id);
    if (c != 0) {
        return c;
    }
    if (a->env.seq != b->env.seq) {
        return a->env.seq < b->env.seq ? -1 : 1;
    }
    return 0;
}

/* Write order: readings by key (then arrival), then status messages by device, then dead
 * letters in arrival order. qsort_r's context is the rows array. */
static int cmp_rows(const void *pa, const void *pb, void *ctx)
{
    const struct row *rows = ctx;
    const struct row *a = &rows[*(const uint32_t *)pa];
    const struct row *b = &rows[*(const uint32_t *)pb];
    int c;

    if (a->kind != b->kind) {
        return (int)a->kind - (int)b->kind;
    }
    if (a->kind != ROW_DEAD) {
        c = cmp_key(a, b);
        if (c != 0) {
            return c;
        }
    }
    return a->ord < b->ord ? -1 : a->ord > b->ord ? 1 : 0;
}

/* Marks twins and local clashes among the readings of idx[0..n) (sorted). */
static void settle_twins(struct pgsink *s, const uint32_t *idx, size_t n)
{
    const struct row *rep = NULL;

    for (size_t i = 0; i < n; i++) {
        struct row *r = &s->rows[idx[i]];

        r->twin = false;
        r->local_clash = false;
        if (r->kind != ROW_READING) {
            continue;
        }
        if (rep != NULL && cmp_key(rep, r) == 0) {
            if (memcmp(rep->sha, r->sha, PGSINK_SHA256_LEN) == 0) {
                r->twin = true;
            } else {
                r->local_clash = true;
            }
            continue;
        }
        rep = r;
    }
}

/* Sorts out what a failed result means. */
static enum fail_kind failure_of(struct pgsink *s, const PGresult *res)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    if (s->conn == NULL || PQstatus(s->conn) != CONNECTION_OK || state == NULL) {
        return FAIL_CONN;
    }
    if (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0 ||
        strncmp(state, "P0", 2) == 0) {
        return FAIL_DATA;
    }
    if (strncmp(state, "40", 2) == 0) {
        return FAIL_RETRY;
    }
    return FAIL_CONN;
}

/* Writes idx[0..n) in one transaction. Returns FAIL_NONE after COMMIT (outcomes set, rows
 * ROW_DONE), else the kind of failure with s->errbuf set (nothing committed). */
static enum fail_kind write_once(struct pgsink *s, const uint32_t *idx, size_t n)
{
    const char *query;
    size_t nread = 0;
    size_t ndead = 0;
    unsigned need = 0;
    enum fail_kind fail = FAIL_NONE;
    int copies = 0;
    PGresult *res = NULL;
    int64_t t0_us = msg_clock_mono_us();

    settle_twins(s, idx, n);
    for (size_t i = 0; i < n; i++) {
        const struct row *r = &s->rows[idx[i]];

        if (r->kind == ROW_DEAD || r->local_clash) {
            ndead++;
        } else if (!r->twin) {
            nread++;
            need |= SINK_NEED(r->stream);
            if (r->stream != MSG_STREAM_STATUS && r->env.has_boot && r->env.has_mono) {
                need |= r->env.clock_synced ? SINK_NEED_SYNCED : SINK_NEED_UNSYNCED;
            }
        }
    }
    if (nread > 0) {
        query_build(s, need, ndead > 0);
        query = s->q_read;
    } else {
        query = s->q_dead;
    }
    if (PQsendQuery(s->conn, query) != 1) {
        pg_message(s, NULL, s->errbuf, sizeof(s->errbuf));
        return FAIL_CONN;
    }
    for (res = PQgetResult(s->conn); res != NULL; res = PQgetResult(s->conn)) {
        ExecStatusType st = PQresultStatus(res);

        if (st == PGRES_COPY_IN) {
            bool dead_copy = copies == 1 || nread == 0;
            int prc = 0;

            copies++;
            for (size_t i = 0; i < n && prc == 0; i++) {
                const struct row *r = &s->rows[idx[i]];

                prc = reserve(s, 4 * (r->topic_len + r->payload_len) + 4 * DETAIL_MAX + 768);
                if (prc != 0) {
                    break;
                }
                if (dead_copy && r->kind == ROW_DEAD) {
                    copy_dead(s, r, r->reason, r->category, r->detail,
                              r->has_dkey ? r->dkey : NULL, r->ledger);
                } else if (dead_copy && r->local_clash) {
                    unsigned char key[DEADKEY_LEN];
                    bool keyed = deadkey_keyed(r->device_id, r->env.store_id, r->env.seq, r->sha,
                                               key) == MSG_OK;

                    copy_dead(s, r, "clash", msg_deadcat_name(MSG_DEADCAT_CLASH),
                              "same (device, store, seq) as another copy in the "
                              "same batch, with other content",
                              keyed ? key : NULL, false);
                } else if (!dead_copy && r->kind != ROW_DEAD && !r->twin && !r->local_clash) {
                    copy_reading(s, r);
                }
                if (s->copy_used >= COPY_CHUNK) {
                    prc = put_copy(s, false);
                }
            }
            if (prc != 0 || put_copy(s, true) != 0) {
                pg_message(s, NULL, s->errbuf, sizeof(s->errbuf));
                fail = FAIL_CONN;
            }
        } else if (st == PGRES_TUPLES_OK && fail == FAIL_NONE) {
            /* the classification: ord, outcome ('n' new, 'd' duplicate, 'c' clash) */
            for (int i = 0; i < PQntuples(res); i++) {
                unsigned long ord = strtoul(PQgetvalue(res, i, 0), NULL, 10);
                char o = PQgetvalue(res, i, 1)[0];

                if (ord < s->nrows) {
                    s->rows[ord].outcome = o == 'n'   ? PGSINK_NEW
                                           : o == 'c' ? PGSINK_CLASH
                                           : o == 'k' ? PGSINK_CLASH_DEAD
                                           : o == 'x' ? PGSINK_DEAD
                                                      : PGSINK_DUPLICATE;
                }
            }
        } else if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && fail == FAIL_NONE) {
            fail = failure_of(s, res);
            pg_message(s, res, s->errbuf, sizeof(s->errbuf));
        }
        PQclear(res);
    }
    if (fail == FAIL_NONE && PQtransactionStatus(s->conn) != PQTRANS_IDLE) {
        snprintf(s->errbuf, sizeof(s->errbuf), "transaction did not end (status %d)",
                 (int)PQtransactionStatus(s->conn));
        fail = FAIL_CONN;
    }
    if (fail != FAIL_NONE) {
        if (s->conn != NULL && PQstatus(s->conn) == CONNECTION_OK &&
            PQtransactionStatus(s->conn) != PQTRANS_IDLE) {
            PQclear(PQexec(s->conn, "ROLLBACK"));
        }
        if (fail == FAIL_CONN) {
            disconnect(s);
        }
        return fail;
    }
    /* committed: settle every row of the transaction */
    for (size_t i = 0; i < n; i++) {
        struct row *r = &s->rows[idx[i]];

        if (r->kind == ROW_DEAD) {
            r->outcome = PGSINK_DEAD;
        } else if (r->kind == ROW_STATUS) {
            r->outcome = PGSINK_STATUS;
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct row *r = &s->rows[idx[i]];

        if (r->twin || r->local_clash) {
            /* the first copy's outcome decides: stored now means this copy is a duplicate;
             * a clash is acknowledged as dead only if no copy of the key is stored (6.1) */
            size_t j = i;
            enum pgsink_outcome first;

            while (j > 0 && (s->rows[idx[j]].twin || s->rows[idx[j]].local_clash)) {
                j--;
            }
            first = s->rows[idx[j]].outcome;
            if (r->twin) {
                r->outcome = first == PGSINK_NEW ? PGSINK_DUPLICATE : first;
            } else {
                r->outcome = first == PGSINK_DEAD || first == PGSINK_CLASH_DEAD
                                 ? PGSINK_CLASH_DEAD
                                 : PGSINK_CLASH;
            }
        }
        r->state = ROW_DONE;
        s->npending--;
    }
    atomic_fetch_add(&s->m->batches, 1);
    metrics_batch_observe(s->m, msg_clock_mono_us() - t0_us);
    return FAIL_NONE;
}

/* Writes idx[0..n), splitting on data errors down to the row at fault. Returns FAIL_NONE when
 * every row is settled (committed, or lost and logged), else the failure that stopped it. */
static enum fail_kind write_rows(struct pgsink *s, uint32_t *idx, size_t n)
{
    enum fail_kind f;
    struct row *r;

    if (n == 0) {
        return FAIL_NONE;
    }
    f = write_once(s, idx, n);
    for (int again = 0; f == FAIL_RETRY && again < 5; again++) {
        f = write_once(s, idx, n); /* a deadlock or serialization failure: just retry */
    }
    if (f != FAIL_DATA) {
        return f;
    }
    if (n > 1) {
        atomic_fetch_add(&s->m->batch_splits, 1);
        f = write_rows(s, idx, n / 2);
        if (f != FAIL_NONE) {
            return f;
        }
        return write_rows(s, idx + n / 2, n - n / 2);
    }
    /* one row at fault: it becomes a dead letter carrying the database's message */
    r = &s->rows[idx[0]];
    if (r->kind != ROW_DEAD) {
        log_msg(LOG_DEBUG, "pgsink: row refused by the database, device=%s seq=%llu: %s",
                r->device_id, (unsigned long long)r->env.seq, s->errbuf);
        if (r->kind == ROW_STATUS) {
            r->has_key = false;
        }
        snprintf(r->stream_name, sizeof(r->stream_name), "%s", msg_stream_name(r->stream));
        /* a reading keeps its envelope and canonical content: a ledger row (dead_letter), so
         * that its resends are acknowledged from the ledger without failing again */
        r->ledger = r->kind == ROW_READING;
        if (r->ledger) {
            r->has_dkey =
                deadkey_keyed(r->device_id, r->env.store_id, r->env.seq, r->sha, r->dkey) == MSG_OK;
        } else {
            r->has_dkey = deadkey_raw(s->arena + r->topic_off, r->topic_len,
                                      s->arena + r->payload_off, r->payload_len, r->dkey) == MSG_OK;
        }
        r->kind = ROW_DEAD;
        snprintf(r->reason, sizeof(r->reason), "db");
        snprintf(r->category, sizeof(r->category), "%s", msg_deadcat_name(MSG_DEADCAT_DB));
        snprintf(r->detail, sizeof(r->detail), "%s", s->errbuf);
        f = write_once(s, idx, 1);
        if (f != FAIL_DATA) {
            return f;
        }
    }
    if (r->ledger) {
        r->ledger = false; /* the ledger refused the row itself: the dead letter alone */
        f = write_once(s, idx, 1);
        if (f != FAIL_DATA) {
            return f;
        }
    }
    log_msg(LOG_ERR,
            "pgsink: cannot store even as a dead letter, device=%s seq=%llu "
            "topic=%.100s: %s",
            r->device_id[0] ? r->device_id : "-", (unsigned long long)r->env.seq,
            s->arena + r->topic_off, s->errbuf);
    r->state = ROW_LOST;
    s->npending--;
    return FAIL_NONE;
}

int pgsink_flush(struct pgsink *s, char *err, size_t errlen)
{
    size_t n = 0;
    enum fail_kind f;

    if (s->npending == 0) {
        return MSG_OK;
    }
    if (pgsink_conn(s, err, errlen) == NULL) {
        return MSG_ERR_DB;
    }
    for (size_t i = 0; i < s->nrows; i++) {
        if (s->rows[i].state == ROW_PENDING) {
            s->idx[n++] = (uint32_t)i;
        }
    }
    qsort_r(s->idx, n, sizeof(*s->idx), cmp_rows, s->rows);
    f = write_rows(s, s->idx, n);
    if (f != FAIL_NONE) {
        snprintf(err, errlen, "pgsink: batch of %zu rows: %s", n, s->errbuf);
        return MSG_ERR_DB;
    }
    return MSG_OK;
}
