/* regcache.c -- the broker's in-memory registry (regcache.h), kept in step with PostgreSQL by a
 * background thread.
 *
 * One text form serves both sources: the thread turns the rows it reads into the text of a
 * snapshot file, and a snapshot is only ever made by parsing such a text, whether it came from
 * PostgreSQL a moment ago or from the file at start. So the file cannot say anything that a
 * load could not, and both paths are checked the same way.
 *
 *   pantau-regcache 2
 *   A <username> <role> <secret_kind> <enabled 0|1> <device_id|-> <kind|-> <version> <hash>
 *     <unit_id|->
 *   B <device_id> <station_id> <from_ms|-> <to_ms|-> <station kind>
 *   sum <SHA-256 of every byte before this line, hex>
 *
 * (The A line is one line; its last field, the unit of a `unit` account (schema/018), came with
 * version 2. A version 1 file, as a broker before 018 wrote it, is still read: its A lines have
 * 9 fields and no account of role unit, which version 1 could not hold. It is rewritten as
 * version 2 at the first load from PostgreSQL.)
 *
 * (A B line without its station kind, as an older broker wrote them, is read with the kind
 * unknown: such a binding fits no stream, so readings for it are refused until the first load
 * from PostgreSQL. Logins are not affected.)
 *
 * A file whose last line is not a matching sum (a torn write, an editor) is ignored.
 *
 * Threads: the background thread owns conn and writes the file; the broker thread owns the
 * installed snapshot; the mutex guards only the hand-over slot, the state flags and the queue
 * of log lines (mosquitto's logging is not thread-safe: the broker thread prints them). */
#include "regcache.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/sha.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>

#include "msg_backoff.h"
#include "msg_clock.h"
#include "msg_err.h"
#include "msg_file.h"
#include "msg_hash.h"

#define FILE_MAGIC "pantau-regcache 2\n"
#define FILE_MAGIC_V1 "pantau-regcache 1\n" /* still read: no unit field */
#define FILE_MAX (64 * 1024 * 1024)          /* a snapshot file larger than this is refused */
#define LOGQ_LINES 16
#define LOGQ_LEN 300
#define FIRST_LOAD_WAIT_MS 3000              /* regcache_new waits this long for PostgreSQL */
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 10000

struct snapshot {
    struct regcache_account *accounts;       /* sorted by username (strcmp) */
    size_t n_accounts;
    struct msg_binding *bindings;            /* grouped by device, accounts point into it */
    size_t n_bindings;
    unsigned char sum[SHA256_DIGEST_LENGTH]; /* of its text */
    int64_t loaded_ms;
    bool from_file;
    int version;                             /* of the text it was parsed from: 1 or 2 */
};

struct logline {
    int level;
    char text[LOGQ_LEN];
};

struct regcache {
    struct regcache_config cfg;
    /* broker thread only */
    struct snapshot *installed;
    uint64_t generation;
    void (*on_gone)(void *ctx, const char *username);
    void *on_gone_ctx;
    /* guarded by mu */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct snapshot *pending;
    bool db_ok;
    bool first_done;                         /* the thread's first attempt is over */
    struct logline logq[LOGQ_LINES];
    size_t logq_n;
    size_t logq_dropped;
    /* background thread only */
    PGconn *conn;
    unsigned char file_sum[SHA256_DIGEST_LENGTH];   /* what the file holds now */
    bool have_file_sum;
    int state;                               /* -1 unknown, 0 down, 1 up: logs on change */
    /* both: set once */
    int stop_pipe[2];
    pthread_t thread;
    bool thread_started;
};

/* Any thread: queues a log line for the broker thread. */
static void qlog(struct regcache *rc, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void qlog(struct regcache *rc, int level, const char *fmt, ...)
{
    va_list ap;

    pthread_mutex_lock(&rc->mu);
    if (rc->logq_n < LOGQ_LINES) {
        rc->logq[rc->logq_n].level = level;
        va_start(ap, fmt);
        vsnprintf(rc->logq[rc->logq_n].text, LOGQ_LEN, fmt, ap);
        va_end(ap);
        rc->logq_n++;
    } else {
        rc->logq_dropped++;
    }
    pthread_mutex_unlock(&rc->mu);
}

/* ---- growing text buffer ---- */

struct buf {
    char *p;
    size_t len;
    size_t cap;
    bool failed;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
    size_t cap;
    char *p;

    if (b->failed) {
        return;
    }
    if (b->len + n + 1 > b->cap) {
        cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        p = realloc(b->p, cap);
        if (p == NULL) {
            b->failed = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

static void buf_free(struct buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

static void hexsum(const unsigned char sum[SHA256_DIGEST_LENGTH], char out[65])
{
    static const char hx[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        out[2 * i] = hx[sum[i] >> 4];
        out[2 * i + 1] = hx[sum[i] & 15];
    }
    out[64] = '\0';
}

/* Appends the sum line to a text that ends in a newline, and gives the sum. */
static void buf_seal(struct buf *b, unsigned char sum[SHA256_DIGEST_LENGTH])
{
    char hex[65];

    SHA256((const unsigned char *)b->p, b->len, sum);
    hexsum(sum, hex);
    buf_str(b, "sum ");
    buf_str(b, hex);
    buf_str(b, "\n");
}

/* ---- parsing a snapshot text ---- */

static const char *const role_names[] = {"device", "collector", "dashboard", "admin", "officer",
                                          "unit", "viewer",    "bridge"};

static int role_from_name(const char *s, enum regcache_role *out)
{
    size_t i;

    for (i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++) {
        if (strcmp(s, role_names[i]) == 0) {
            *out = (enum regcache_role)i;
            return 0;
        }
    }
    return -1;
}

/* Splits line (modified in place) at single spaces into at most max fields. Returns count. */
static size_t split(char *line, char **fields, size_t max)
{
    size_t n = 0;
    char *p = line;
    char *sp;

    while (n < max) {
        fields[n++] = p;
        sp = strchr(p, ' ');
        if (sp == NULL) {
            break;
        }
        *sp = '\0';
        p = sp + 1;
    }
    return n;
}

static int parse_i64(const char *s, int64_t dash, int64_t *out)
{
    char *end = NULL;
    long long v;

    if (strcmp(s, "-") == 0) {
        *out = dash;
        return 0;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0') {
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end = NULL;
    unsigned long long v;

    if (*s < '0' || *s > '9') {
        return -1;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0') {
        return -1;
    }
    *out = v;
    return 0;
}

struct tmp_binding {
    char device_id[MSG_ID_MAX + 1];
    struct msg_binding b;
};

static int cmp_account(const void *a, const void *b)
{
    const struct regcache_account *x = a;
    const struct regcache_account *y = b;

    return strcmp(x->username, y->username);
}

static int cmp_tmp_binding(const void *a, const void *b)
{
    const struct tmp_binding *x = a;
    const struct tmp_binding *y = b;
    int c = strcmp(x->device_id, y->device_id);

    if (c != 0) {
        return c;
    }
    c = strcmp(x->b.station_id, y->b.station_id);
    if (c != 0) {
        return c;
    }
    return x->b.from_ms < y->b.from_ms ? -1 : x->b.from_ms > y->b.from_ms;
}

static void snapshot_free(struct snapshot *s)
{
    if (s == NULL) {
        return;
    }
    free(s->accounts);
    free(s->bindings);
    free(s);
}

static bool id_ok(const char *s)
{
    return msg_id_valid(s, strlen(s));
}

static bool hash_ok(const char *s)
{
    size_t i;
    size_t n = strlen(s);

    if (n == 0 || n > REGCACHE_HASH_MAX) {
        return false;
    }
    for (i = 0; i < n; i++) {
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f) {
            return false;
        }
    }
    return true;
}

/* An A line of a file of the given version (1: 9 fields, no unit; 2: 10 fields). */
static int parse_account(char **f, size_t nf, int version, struct regcache_account *a,
                         char *err, size_t errlen)
{
    size_t want = version == 1 ? 9 : 10;

    memset(a, 0, sizeof(*a));
    if (nf != want) {
        snprintf(err, errlen, "account line has %zu fields, not %zu", nf, want);
        return -1;
    }
    if (!id_ok(f[1])) {
        snprintf(err, errlen, "account line: bad username");
        return -1;
    }
    memcpy(a->username, f[1], strlen(f[1]) + 1);
    if (role_from_name(f[2], &a->role) != 0) {
        snprintf(err, errlen, "account %s: bad role", a->username);
        return -1;
    }
    if (strcmp(f[3], "device_key") == 0) {
        a->secret_kind = REGCACHE_SECRET_DEVICE_KEY;
    } else if (strcmp(f[3], "password") == 0) {
        a->secret_kind = REGCACHE_SECRET_PASSWORD;
    } else {
        snprintf(err, errlen, "account %s: bad secret kind", a->username);
        return -1;
    }
    if (strcmp(f[4], "0") != 0 && strcmp(f[4], "1") != 0) {
        snprintf(err, errlen, "account %s: bad enabled flag", a->username);
        return -1;
    }
    a->enabled = f[4][0] == '1';
    if (a->role == REGCACHE_ROLE_DEVICE) {
        if (!id_ok(f[5]) || msg_device_kind_from_name(f[6], strlen(f[6]), &a->kind) != MSG_OK) {
            snprintf(err, errlen, "account %s: bad device id or kind", a->username);
            return -1;
        }
        memcpy(a->device_id, f[5], strlen(f[5]) + 1);
    } else if (strcmp(f[5], "-") != 0 || strcmp(f[6], "-") != 0) {
        snprintf(err, errlen, "account %s: a device for a role that has none", a->username);
        return -1;
    }
    if (parse_u64(f[7], &a->version) != 0) {
        snprintf(err, errlen, "account %s: bad version", a->username);
        return -1;
    }
    if (!hash_ok(f[8])) {
        snprintf(err, errlen, "account %s: bad hash field", a->username);
        return -1;
    }
    memcpy(a->secret_hash, f[8], strlen(f[8]) + 1);
    if (version == 1) {
        if (a->role == REGCACHE_ROLE_UNIT) {
            snprintf(err, errlen, "account %s: a unit account in a version 1 file", a->username);
            return -1;
        }
        return 0;
    }
    if (a->role == REGCACHE_ROLE_UNIT) {
        if (!msg_unit_valid(f[9], strlen(f[9]))) {
            snprintf(err, errlen, "account %s: bad unit", a->username);
            return -1;
        }
        memcpy(a->unit_id, f[9], strlen(f[9]) + 1);
    } else if (strcmp(f[9], "-") != 0) {
        snprintf(err, errlen, "account %s: a unit for a role that has none", a->username);
        return -1;
    }
    return 0;
}

static int parse_binding(char **f, size_t nf, struct tmp_binding *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    if ((nf != 5 && nf != 6) || !id_ok(f[1]) || !id_ok(f[2]) ||
        parse_i64(f[3], INT64_MIN, &t->b.from_ms) != 0 ||
        parse_i64(f[4], INT64_MAX, &t->b.to_ms) != 0) {
        snprintf(err, errlen, "bad binding line");
        return -1;
    }
    t->b.kind = nf == 6 ? msg_station_kind_from_name(f[5]) : MSG_STATION_UNKNOWN;
    if (nf == 6 && t->b.kind == MSG_STATION_UNKNOWN) {
        snprintf(err, errlen, "bad station kind in binding line");
        return -1;
    }
    memcpy(t->device_id, f[1], strlen(f[1]) + 1);
    memcpy(t->b.station_id, f[2], strlen(f[2]) + 1);
    return 0;
}

/* Parses text (len bytes; modified in place) into a new snapshot. Returns NULL with err set
 * when the text is torn, fails its sum or breaks the format. Caller frees with
 * snapshot_free. */
static struct snapshot *snapshot_parse(char *text, size_t len, char *err, size_t errlen)
{
    struct snapshot *s = NULL;
    struct tmp_binding *tmp = NULL;
    unsigned char sum[SHA256_DIGEST_LENGTH];
    char hex[65];
    char *fields[11];
    char *line;
    char *nl;
    char *sumline;
    size_t body;
    size_t na = 0;
    size_t nb = 0;
    size_t i;
    size_t j;
    size_t nf;
    int version = 0;

    if (len >= strlen(FILE_MAGIC) && memcmp(text, FILE_MAGIC, strlen(FILE_MAGIC)) == 0) {
        version = 2;
    } else if (len >= strlen(FILE_MAGIC_V1) &&
               memcmp(text, FILE_MAGIC_V1, strlen(FILE_MAGIC_V1)) == 0) {
        version = 1;
    } else {
        snprintf(err, errlen, "not a pantau-regcache 1 or 2 file");
        goto fail;
    }
    if (text[len - 1] != '\n' || memchr(text, '\0', len) != NULL) {
        snprintf(err, errlen, "torn: no final newline");
        goto fail;
    }
    /* the last line is the sum of everything before it */
    text[len - 1] = '\0';
    sumline = strrchr(text, '\n');
    text[len - 1] = '\n';
    if (sumline == NULL) {
        snprintf(err, errlen, "torn: no sum line");
        goto fail;
    }
    sumline++;
    body = (size_t)(sumline - text);
    SHA256((const unsigned char *)text, body, sum);
    hexsum(sum, hex);
    if (len - body != 4 + 64 + 1 || memcmp(sumline, "sum ", 4) != 0 ||
        memcmp(sumline + 4, hex, 64) != 0) {
        snprintf(err, errlen, "torn or altered: checksum does not match");
        goto fail;
    }
    for (line = text; line < sumline; line = nl + 1) {
        nl = strchr(line, '\n');
        if (line[0] == 'A') {
            na++;
        } else if (line[0] == 'B') {
            nb++;
        }
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        goto nomem;
    }
    s->accounts = calloc(na ? na : 1, sizeof(*s->accounts));
    s->bindings = calloc(nb ? nb : 1, sizeof(*s->bindings));
    tmp = calloc(nb ? nb : 1, sizeof(*tmp));
    if (s->accounts == NULL || s->bindings == NULL || tmp == NULL) {
        goto nomem;
    }
    memcpy(s->sum, sum, sizeof(sum));
    s->version = version;
    line = text + strlen(FILE_MAGIC); /* both versions' first lines are as long */
    for (; line < sumline; line = nl + 1) {
        nl = strchr(line, '\n');
        *nl = '\0';
        nf = split(line, fields, 11);
        if (strcmp(fields[0], "A") == 0) {
            if (parse_account(fields, nf, version, &s->accounts[s->n_accounts], err, errlen) != 0) {
                goto fail;
            }
            s->n_accounts++;
        } else if (strcmp(fields[0], "B") == 0) {
            if (parse_binding(fields, nf, &tmp[s->n_bindings], err, errlen) != 0) {
                goto fail;
            }
            s->n_bindings++;
        } else {
            snprintf(err, errlen, "unknown line type");
            goto fail;
        }
        *nl = '\n';
    }
    qsort(s->accounts, s->n_accounts, sizeof(*s->accounts), cmp_account);
    for (i = 1; i < s->n_accounts; i++) {
        if (strcmp(s->accounts[i - 1].username, s->accounts[i].username) == 0) {
            snprintf(err, errlen, "account %s twice", s->accounts[i].username);
            goto fail;
        }
    }
    qsort(tmp, s->n_bindings, sizeof(*tmp), cmp_tmp_binding);
    for (i = 0; i < s->n_bindings; i++) {
        s->bindings[i] = tmp[i].b;
    }
    /* each device account points at its device's run of bindings */
    for (i = 0; i < s->n_accounts; i++) {
        struct regcache_account *a = &s->accounts[i];
        size_t lo = 0;
        size_t hi = s->n_bindings;

        if (a->role != REGCACHE_ROLE_DEVICE) {
            continue;
        }
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;

            if (strcmp(tmp[mid].device_id, a->device_id) < 0) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        for (j = lo; j < s->n_bindings && strcmp(tmp[j].device_id, a->device_id) == 0; j++) {
        }
        a->bindings = j > lo ? &s->bindings[lo] : NULL;
        a->n_bindings = j - lo;
    }
    free(tmp);
    return s;
nomem:
    snprintf(err, errlen, "out of memory");
fail:
    free(tmp);
    snapshot_free(s);
    return NULL;
}

/* ---- the snapshot file ---- */

/* Reads path into a new snapshot; *absent set when there is no file. */
static struct snapshot *file_load(const char *path, bool *absent, char *err, size_t errlen)
{
    struct snapshot *s = NULL;
    struct stat st;
    char *text = NULL;
    size_t got = 0;
    ssize_t r;
    int fd;

    *absent = false;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *absent = errno == ENOENT;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) != 0 || st.st_size <= 0 || st.st_size > FILE_MAX) {
        snprintf(err, errlen, "%s: empty, unreadable or too large", path);
        goto out;
    }
    text = malloc((size_t)st.st_size + 1);
    if (text == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    while (got < (size_t)st.st_size) {
        r = read(fd, text + got, (size_t)st.st_size - got);
        if (r <= 0) {
            break;
        }
        got += (size_t)r;
    }
    text[got] = '\0';
    s = snapshot_parse(text, got, err, errlen);
out:
    if (fd >= 0) {
        close(fd);
    }
    free(text);
    return s;
}


/* ---- loading from PostgreSQL (background thread) ---- */

static const char SQL_ACCOUNTS[] =
    "SELECT a.username, a.role, a.secret_kind, a.secret_hash,"
    " (a.enabled AND coalesce(d.enabled, true))::int,"
    " coalesce(a.device_id, '-'), coalesce(d.kind, '-'),"
    " a.updated_at::text, coalesce(d.updated_at::text, ''), coalesce(a.unit_id, '-')"
    " FROM pantau_ops.account a LEFT JOIN pantau.device d ON d.device_id = a.device_id";

/* The bindings as the collector reads them (MSG_BINDING_SQL: bounds in whole ms, rounded up;
 * an open or infinite end NULL, written '-'; empty ranges left out). */
static const char SQL_BINDINGS[] = MSG_BINDING_SQL;

static bool field_ok(const char *s)
{
    return s[0] != '\0' && strpbrk(s, " \t\r\n") == NULL;
}

/* Reads the registry into the text form. Returns MSG_OK or MSG_ERR_DB with err set. Rows a
 * snapshot cannot hold (a hash with white space) are left out and counted in *skipped: such an
 * account cannot log in (fail closed). */
static int db_read(PGconn *conn, struct buf *b, size_t *skipped, char *err, size_t errlen)
{
    PGresult *res = NULL;
    char line[1024];
    uint64_t v;
    int i;
    int n;
    int rc = MSG_ERR_DB;

    *skipped = 0;
    res = PQexec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        snprintf(err, errlen, "BEGIN: %s", PQerrorMessage(conn));
        goto out;
    }
    PQclear(res);
    res = PQexec(conn, SQL_ACCOUNTS);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) != 10) {
        snprintf(err, errlen, "reading pantau_ops.account: %s", PQerrorMessage(conn));
        goto out;
    }
    buf_str(b, FILE_MAGIC);
    n = PQntuples(res);
    for (i = 0; i < n; i++) {
        const char *user = PQgetvalue(res, i, 0);
        const char *hash = PQgetvalue(res, i, 3);
        int f;

        if (!field_ok(user) || !field_ok(hash) || strlen(hash) > REGCACHE_HASH_MAX ||
            !field_ok(PQgetvalue(res, i, 5)) || !field_ok(PQgetvalue(res, i, 6)) ||
            !field_ok(PQgetvalue(res, i, 9))) {
            (*skipped)++;
            continue;
        }
        /* the version: written into the snapshot file, so msg_hash_field's values must
         * never change (test_msg_hash.c holds them) */
        v = MSG_HASH_INIT;
        for (f = 0; f < 9; f++) {
            v = msg_hash_field(v, PQgetvalue(res, i, f));
        }
        /* the unit (018) only where there is one: other accounts keep their version */
        if (strcmp(PQgetvalue(res, i, 9), "-") != 0) {
            v = msg_hash_field(v, PQgetvalue(res, i, 9));
        }
        snprintf(line, sizeof(line), "A %s %s %s %s %s %s %" PRIu64 " %s %s\n", user,
                 PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 4),
                 PQgetvalue(res, i, 5), PQgetvalue(res, i, 6), v, hash, PQgetvalue(res, i, 9));
        buf_str(b, line);
    }
    PQclear(res);
    res = PQexec(conn, SQL_BINDINGS);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) != 5) {
        snprintf(err, errlen, "reading pantau.device_station: %s", PQerrorMessage(conn));
        goto out;
    }
    n = PQntuples(res);
    for (i = 0; i < n; i++) {
        if (!field_ok(PQgetvalue(res, i, 0)) || !field_ok(PQgetvalue(res, i, 1)) ||
            msg_station_kind_from_name(PQgetvalue(res, i, 4)) == MSG_STATION_UNKNOWN) {
            continue;
        }
        snprintf(line, sizeof(line), "B %s %s %s %s %s\n", PQgetvalue(res, i, 0),
                 PQgetvalue(res, i, 1), PQgetisnull(res, i, 2) ? "-" : PQgetvalue(res, i, 2),
                 PQgetisnull(res, i, 3) ? "-" : PQgetvalue(res, i, 3), PQgetvalue(res, i, 4));
        buf_str(b, line);
    }
    PQclear(res);
    res = PQexec(conn, "COMMIT");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        snprintf(err, errlen, "COMMIT: %s", PQerrorMessage(conn));
        goto out;
    }
    if (b->failed) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    rc = MSG_OK;
out:
    PQclear(res);
    return rc;
}

static void strip_newlines(char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '\n' || *s == '\r') {
            *s = ' ';
        }
    }
}

static void set_state(struct regcache *rc, bool ok, const char *why)
{
    int s = ok ? 1 : 0;
    char detail[LOGQ_LEN - 80];

    pthread_mutex_lock(&rc->mu);
    rc->db_ok = ok;
    pthread_mutex_unlock(&rc->mu);
    if (s == rc->state) {
        return;
    }
    rc->state = s;
    if (ok) {
        qlog(rc, MOSQ_LOG_NOTICE, "regcache: registry loaded from PostgreSQL");
    } else {
        snprintf(detail, sizeof(detail), "%s", why);
        strip_newlines(detail);
        qlog(rc, MOSQ_LOG_WARNING,
             "regcache: PostgreSQL unreachable, serving the last snapshot: %s", detail);
    }
}

/* One load: read, and if anything changed, write the file and hand the snapshot over. */
static int load_once(struct regcache *rc)
{
    struct buf b = {NULL, 0, 0, false};
    struct snapshot *s = NULL;
    unsigned char sum[SHA256_DIGEST_LENGTH];
    char err[MSG_ERRLEN] = "";
    char ferr[1280] = "";  /* holds two paths */
    size_t skipped = 0;
    int r;

    r = db_read(rc->conn, &b, &skipped, err, sizeof(err));
    if (r != MSG_OK) {
        goto out;
    }
    buf_seal(&b, sum);
    if (b.failed) {
        r = MSG_ERR_NOMEM;
        snprintf(err, sizeof(err), "out of memory");
        goto out;
    }
    if (rc->have_file_sum && memcmp(sum, rc->file_sum, sizeof(sum)) == 0) {
        goto out;                    /* nothing changed */
    }
    if (msg_file_write_atomic(rc->cfg.snapshot_path, b.p, b.len, 0600, MSG_FILE_SYNC, ferr,
                              sizeof(ferr)) == MSG_OK) {
        memcpy(rc->file_sum, sum, sizeof(sum));
        rc->have_file_sum = true;
    } else {
        qlog(rc, MOSQ_LOG_WARNING, "regcache: cannot write the snapshot file: %s", ferr);
    }
    s = snapshot_parse(b.p, b.len, err, sizeof(err));
    if (s == NULL) {
        r = MSG_ERR_DB;
        goto out;
    }
    s->loaded_ms = msg_clock_wall_ms();
    if (skipped > 0) {
        qlog(rc, MOSQ_LOG_WARNING,
             "regcache: %zu accounts left out (malformed id or hash): they cannot log in",
             skipped);
    }
    pthread_mutex_lock(&rc->mu);
    snapshot_free(rc->pending);
    rc->pending = s;
    pthread_mutex_unlock(&rc->mu);
out:
    buf_free(&b);
    if (r != MSG_OK) {
        set_state(rc, false, err);
    } else {
        set_state(rc, true, "");
    }
    return r;
}

static bool connect_db(struct regcache *rc)
{
    /* defaults first: the operator's conninfo (expanded from dbname) overrides them. A hung
     * or vanished server must not hold the thread (and the broker's shutdown, which joins it)
     * for long: bounded connects and statements, TCP keepalives on the idle LISTEN socket. */
    const char *keys[] = {"application_name", "connect_timeout", "keepalives_idle",
                          "keepalives_interval", "keepalives_count", "options", "dbname", NULL};
    const char *vals[] = {"pantau-broker", "5", "10", "5", "3",
                          "-c statement_timeout=10000", rc->cfg.conninfo, NULL};
    PGresult *res = NULL;
    bool ok = false;

    rc->conn = PQconnectdbParams(keys, vals, 1);
    if (rc->conn == NULL || PQstatus(rc->conn) != CONNECTION_OK) {
        set_state(rc, false, rc->conn ? PQerrorMessage(rc->conn) : "out of memory");
        goto out;
    }
    res = PQexec(rc->conn, "LISTEN pantau_account");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        set_state(rc, false, PQerrorMessage(rc->conn));
        goto out;
    }
    ok = true;
out:
    PQclear(res);
    if (!ok) {
        PQfinish(rc->conn);
        rc->conn = NULL;
    }
    return ok;
}

static void first_done(struct regcache *rc)
{
    pthread_mutex_lock(&rc->mu);
    if (!rc->first_done) {
        rc->first_done = true;
        pthread_cond_broadcast(&rc->cond);
    }
    pthread_mutex_unlock(&rc->mu);
}

/* Waits up to ms for the stop pipe or (fd >= 0) fd. Returns -1 stop, 1 fd readable, 0 time. */
static int wait_for(struct regcache *rc, int fd, int64_t ms)
{
    struct pollfd p[2];
    int n = 1;
    int r;

    p[0].fd = rc->stop_pipe[0];
    p[0].events = POLLIN;
    if (fd >= 0) {
        p[1].fd = fd;
        p[1].events = POLLIN;
        n = 2;
    }
    if (ms < 0) {
        ms = 0;
    }
    r = poll(p, (nfds_t)n, (int)(ms > 60000 ? 60000 : ms));
    if (r <= 0) {
        return 0;
    }
    if (p[0].revents != 0) {
        return -1;
    }
    return 1;
}

/* Frees every notification libpq holds; returns whether there was one. */
static bool drain_notifies(PGconn *conn)
{
    bool any = false;
    PGnotify *note = PQnotifies(conn);

    while (note != NULL) {
        any = true;
        PQfreemem(note);
        note = PQnotifies(conn);
    }
    return any;
}

static void *thread_main(void *arg)
{
    struct regcache *rc = arg;
    struct msg_backoff backoff;
    int64_t next_load = 0;
    int w;

    msg_backoff_init(&backoff, BACKOFF_MIN_MS, BACKOFF_MAX_MS, MSG_BACKOFF_NONE);
    for (;;) {
        if (rc->conn == NULL) {
            if (!connect_db(rc)) {
                first_done(rc);
                if (wait_for(rc, -1, msg_backoff_next(&backoff, 0)) < 0) {
                    break;
                }
                continue;
            }
            next_load = 0;
        }
        if (msg_clock_mono_ms() >= next_load) {
            if (load_once(rc) != MSG_OK || PQstatus(rc->conn) != CONNECTION_OK) {
                PQfinish(rc->conn);
                rc->conn = NULL;
                first_done(rc);
                if (wait_for(rc, -1, msg_backoff_next(&backoff, 0)) < 0) {
                    break;
                }
                continue;
            }
            msg_backoff_reset(&backoff);
            next_load = msg_clock_mono_ms() + rc->cfg.reload_ms;
            first_done(rc);
        }
        /* a NOTIFY that came during the load's own queries is already in libpq's list, and
         * the socket will not wake us for it: look there before sleeping */
        if (drain_notifies(rc->conn)) {
            next_load = 0;
            continue;
        }
        w = wait_for(rc, PQsocket(rc->conn), next_load - msg_clock_mono_ms());
        if (w < 0) {
            break;
        }
        if (w == 0) {
            continue;
        }
        if (PQconsumeInput(rc->conn) != 1) {
            set_state(rc, false, PQerrorMessage(rc->conn));
            PQfinish(rc->conn);
            rc->conn = NULL;
            continue;
        }
        if (drain_notifies(rc->conn)) {
            next_load = 0;           /* reload now: a statement's changes are committed */
        }
    }
    PQfinish(rc->conn);
    rc->conn = NULL;
    return NULL;
}

/* ---- public ---- */

struct regcache *regcache_new(const struct regcache_config *cfg, char *err, size_t errlen)
{
    struct regcache *rc = NULL;
    struct snapshot *s = NULL;
    struct timespec until;
    char ferr[1280] = "";  /* holds two paths */
    bool absent = false;
    bool mu_made = false;
    bool cond_made = false;
    int64_t deadline;

    rc = calloc(1, sizeof(*rc));
    if (rc == NULL) {
        snprintf(err, errlen, "regcache: out of memory");
        goto fail;
    }
    rc->cfg = *cfg;
    rc->state = -1;
    rc->stop_pipe[0] = -1;
    rc->stop_pipe[1] = -1;
    if (cfg->reload_ms <= 0 || cfg->snapshot_path[0] == '\0') {
        snprintf(err, errlen, "regcache: reload_ms must be > 0 and a snapshot path is needed");
        goto fail;
    }
    if (pthread_mutex_init(&rc->mu, NULL) != 0) {
        snprintf(err, errlen, "regcache: pthread_mutex_init failed");
        goto fail;
    }
    mu_made = true;
    if (pthread_cond_init(&rc->cond, NULL) != 0) {
        snprintf(err, errlen, "regcache: pthread_cond_init failed");
        goto fail;
    }
    cond_made = true;
    if (pipe2(rc->stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        snprintf(err, errlen, "regcache: pipe: %s", strerror(errno));
        goto fail;
    }
    s = file_load(cfg->snapshot_path, &absent, ferr, sizeof(ferr));
    if (s != NULL) {
        s->from_file = true;
        s->loaded_ms = msg_clock_wall_ms();
        rc->installed = s;
        rc->generation = 1;
        mosquitto_log_printf(MOSQ_LOG_NOTICE,
                             "regcache: %zu accounts from the snapshot file %s (version %d%s)",
                             s->n_accounts, cfg->snapshot_path, s->version,
                             s->version == 1 ? ", no unit accounts: rewritten as version 2 at "
                                               "the first load from PostgreSQL"
                                             : "");
    } else if (!absent) {
        mosquitto_log_printf(MOSQ_LOG_WARNING, "regcache: snapshot file ignored: %s", ferr);
    }
    if (pthread_create(&rc->thread, NULL, thread_main, rc) != 0) {
        snprintf(err, errlen, "regcache: cannot start its thread");
        goto fail;
    }
    rc->thread_started = true;
    /* Give PostgreSQL a moment, so that a fresh broker knows its accounts at once; the broker
     * is not serving yet. After that, it never waits. */
    deadline = msg_clock_wall_ms() + FIRST_LOAD_WAIT_MS;
    until.tv_sec = (time_t)(deadline / 1000);
    until.tv_nsec = (long)(deadline % 1000) * 1000000;
    pthread_mutex_lock(&rc->mu);
    while (!rc->first_done) {
        if (pthread_cond_timedwait(&rc->cond, &rc->mu, &until) != 0) {
            break;
        }
    }
    pthread_mutex_unlock(&rc->mu);
    regcache_refresh(rc, NULL, NULL);
    return rc;
fail:
    if (rc != NULL) {
        if (rc->stop_pipe[0] >= 0) {
            close(rc->stop_pipe[0]);
            close(rc->stop_pipe[1]);
        }
        if (cond_made) {
            pthread_cond_destroy(&rc->cond);
        }
        if (mu_made) {
            pthread_mutex_destroy(&rc->mu);
        }
        snapshot_free(rc->installed);
        free(rc);
    }
    return NULL;
}

void regcache_free(struct regcache *rc)
{
    char c = 1;

    if (rc == NULL) {
        return;
    }
    if (rc->thread_started) {
        if (write(rc->stop_pipe[1], &c, 1) != 1) {
            mosquitto_log_printf(MOSQ_LOG_WARNING, "regcache: cannot signal its thread");
        }
        pthread_join(rc->thread, NULL);
    }
    close(rc->stop_pipe[0]);
    close(rc->stop_pipe[1]);
    snapshot_free(rc->pending);
    snapshot_free(rc->installed);
    pthread_cond_destroy(&rc->cond);
    pthread_mutex_destroy(&rc->mu);
    free(rc);
}

static const struct regcache_account *find_in(const struct snapshot *s, const char *username)
{
    struct regcache_account key;
    size_t n = strlen(username);

    if (s == NULL || n > MSG_ID_MAX) {
        return NULL;
    }
    memcpy(key.username, username, n + 1);
    return bsearch(&key, s->accounts, s->n_accounts, sizeof(key), cmp_account);
}

static void announce_gone(struct regcache *rc, const struct snapshot *old,
                          const struct snapshot *new_s,
                          void (*gone)(void *ctx, const char *username), void *ctx)
{
    const struct regcache_account *a;
    size_t i;

    if (old == NULL || (gone == NULL && rc->on_gone == NULL)) {
        return;
    }
    for (i = 0; i < old->n_accounts; i++) {
        if (!old->accounts[i].enabled) {
            continue;
        }
        a = find_in(new_s, old->accounts[i].username);
        if (a != NULL && a->enabled) {
            /* a new secret: whoever is connected with the old one goes too (the hook only) */
            if (rc->on_gone != NULL && strcmp(a->secret_hash, old->accounts[i].secret_hash) != 0) {
                rc->on_gone(rc->on_gone_ctx, old->accounts[i].username);
            }
            continue;
        }
        if (rc->on_gone != NULL) {
            rc->on_gone(rc->on_gone_ctx, old->accounts[i].username);
        }
        if (gone != NULL) {
            gone(ctx, old->accounts[i].username);
        }
    }
}

bool regcache_refresh(struct regcache *rc, void (*gone)(void *ctx, const char *username),
                      void *ctx)
{
    struct logline lines[LOGQ_LINES];
    struct snapshot *s;
    size_t nlines;
    size_t dropped;
    size_t i;

    pthread_mutex_lock(&rc->mu);
    s = rc->pending;
    rc->pending = NULL;
    nlines = rc->logq_n;
    memcpy(lines, rc->logq, nlines * sizeof(lines[0]));
    dropped = rc->logq_dropped;
    rc->logq_n = 0;
    rc->logq_dropped = 0;
    pthread_mutex_unlock(&rc->mu);
    for (i = 0; i < nlines; i++) {
        mosquitto_log_printf(lines[i].level, "%s", lines[i].text);
    }
    if (dropped > 0) {
        mosquitto_log_printf(MOSQ_LOG_WARNING, "regcache: %zu log lines dropped", dropped);
    }
    if (s == NULL) {
        return false;
    }
    announce_gone(rc, rc->installed, s, gone, ctx);
    snapshot_free(rc->installed);
    rc->installed = s;
    rc->generation++;
    return true;
}

const struct regcache_account *regcache_find(const struct regcache *rc, const char *username)
{
    if (rc == NULL || username == NULL) {
        return NULL;
    }
    return find_in(rc->installed, username);
}

void regcache_info(const struct regcache *rc, struct regcache_info *out)
{
    struct regcache *m = (struct regcache *)rc;   /* the mutex only */

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&m->mu);
    out->db_ok = rc->db_ok;
    pthread_mutex_unlock(&m->mu);
    if (rc->installed != NULL) {
        out->accounts = rc->installed->n_accounts;
        out->loaded_ms = rc->installed->loaded_ms;
        out->from_file = rc->installed->from_file;
    }
}

void regcache_on_gone(struct regcache *rc, void (*gone)(void *ctx, const char *username),
                      void *ctx)
{
    rc->on_gone = gone;
    rc->on_gone_ctx = ctx;
}

uint64_t regcache_generation(const struct regcache *rc)
{
    return rc->generation;
}
