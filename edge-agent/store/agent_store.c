/* agent_store.c -- the edge agent's durable SQLite store: see agent_store.h.
 *
 * Schema (PRAGMA user_version 3; a file is created as version 1 and brought up by the same
 * upgrades that an existing file of an older version gets, in place, see upgrade_sql):
 *   store_state  one row: store id, next seq, boot counter and boot id, connection counter,
 *                what is held (kept by triggers, so that `report` appending from another
 *                process keeps them right too), and the totals of dropped, acked, rejected.
 *   reading      seq INTEGER PRIMARY KEY (the rowid: scans walk it in order with LIMIT, never
 *                load the backlog), the payload and its bookkeeping; own_drop is 0 for an
 *                ordinary reading and 1 + enum msg_drop_reason for the store's own `dropped`
 *                readings; age_ms is ts_ms for readings taken with a synchronised clock and
 *                NULL otherwise (what max_age judges); version 2 adds when it was stored
 *                by the other clocks: stored_boot (the boot counter, NULL if the store did
 *                not know this boot's), stored_boot_ms (CLOCK_BOOTTIME in that boot) and
 *                stored_synced (whether stored_ms came from a synchronised clock), all NULL,
 *                "unknown", in rows from before the upgrade. What a send's `replay` is
 *                measured with (msg_history_replay_held).
 *   rejected     the bounded list of readings the broker refused for good.
 *   kept         (version 3) acknowledged readings kept for keep_acked_ms after their
 *                acknowledgement (acked_ms, and acked_synced: whether that time came from a
 *                synchronised clock), so that a restore of the database can have them back
 *                (agent_store_restore, protocol.md 6.3); store_state's kept and kept_bytes
 *                count them (triggers) and restore_epoch is the last restore acted on.
 *
 * Every call is one transaction (BEGIN IMMEDIATE: the write lock is taken at the start, so a
 * second process waits in the busy handler instead of failing half-way), in WAL mode with
 * synchronous=FULL: one fsync of the WAL per call, and a commit that returned is on the disk.
 * The page cache is small (AGENT_STORE_CACHE_KIB), memory maps are off. */
#include "agent_store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "agent_clock.h"
#include "log.h"
#include "msg_err.h"
#include "msg_event.h"
#include "msg_range.h"
#include "msg_time.h"
#include "msg_topic.h"

#define AGENT_STORE_VERSION 3
#define AGENT_STORE_CACHE_KIB 512          /* SQLite's page cache, per connection */
/* Pages of 1 KiB, not SQLite's 4 KiB: a transaction of one reading touches three pages (its
 * leaf, the state row, the age index), and each goes into the WAL whole. With 1 KiB pages a
 * single append writes about half the bytes (bench_agent_store, docs/benchmarks.md); larger
 * payloads (a long larva report) simply use overflow pages. Set when a file is created. */
#define AGENT_STORE_PAGE_SIZE 1024
#define AGENT_STORE_WAL_LIMIT 1048576      /* WAL truncated to this after a checkpoint */
#define AGENT_STORE_BUSY_MS 5000
#define AGENT_STORE_CHUNK 256              /* victims looked up per query */
#define AGENT_STORE_MERGE_MS 60000         /* default of merge_after_ms */
#define AGENT_STORE_FREE_MIN 256           /* free pages kept before releasing any */
#define AGENT_STORE_REASON_MAX 200         /* bytes of a rejection reason kept */
#define AGENT_STORE_HANDED_MAX 1024        /* hand-outs remembered (see struct handed) */
/* Upper bound of a `dropped` payload with n ranges: the envelope and members (about 190
 * bytes with boot and mono_ms) plus "[first,last]," of two 16-digit numbers per range. */
#define DROP_PAYLOAD_BOUND(n) (256 + 36 * (int64_t)(n))

enum stmt_id {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_STATE,
    ST_SET_NEXT,
    ST_ADD_TOTALS,
    ST_NEXT_CONN,
    ST_INSERT,
    ST_OLDEST,
    ST_DELETE,
    ST_DELETE_RANGE,
    ST_REJ_DELETE_RANGE,
    ST_SCAN_UP,
    ST_SCAN_DOWN,
    ST_MARK,
    ST_MIN_AGE,
    ST_EXPIRED,
    ST_LAST_DROP,
    ST_GET_ROW,
    ST_REJ_INSERT,
    ST_REJ_OLDEST,
    ST_REJ_DELETE,
    ST_MIN_SEQ,
    ST_FREELIST,
    ST_PAGES,
    ST_KEEP,
    ST_KEPT_STATE,
    ST_KEPT_EXPIRE,
    ST_KEPT_TRIM,
    ST_UNKEEP,
    ST_UNKEEP_DELETE,
    ST_SET_EPOCH,
    ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_STATE] = "SELECT next_seq, held, held_bytes, boot, conn, dropped_total, acked_total,"
                 " rejected_total, rejected_held, boot_id FROM store_state WHERE id = 1",
    [ST_SET_NEXT] = "UPDATE store_state SET next_seq = ?1 WHERE id = 1",
    [ST_ADD_TOTALS] = "UPDATE store_state SET dropped_total = dropped_total + ?1,"
                      " acked_total = acked_total + ?2, rejected_total = rejected_total + ?3"
                      " WHERE id = 1",
    [ST_NEXT_CONN] = "UPDATE store_state SET conn = conn + 1 WHERE id = 1",
    [ST_INSERT] = "INSERT INTO reading (seq, stream, ts_ms, age_ms, stored_ms, sends, own_drop,"
                  " bytes, payload, stored_boot, stored_boot_ms, stored_synced)"
                  " VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, ?8, ?9, ?10, ?11)",
    [ST_OLDEST] = "SELECT seq, bytes FROM reading WHERE own_drop = 0 AND seq > ?2"
                  " ORDER BY seq LIMIT ?1",
    [ST_DELETE] = "DELETE FROM reading WHERE seq = ?1",
    [ST_DELETE_RANGE] = "DELETE FROM reading WHERE seq BETWEEN ?1 AND ?2",
    [ST_REJ_DELETE_RANGE] = "DELETE FROM rejected WHERE seq BETWEEN ?1 AND ?2",
    [ST_SCAN_UP] = "SELECT seq, stream, ts_ms, stored_ms, sends, payload, stored_boot,"
                   " stored_boot_ms, stored_synced FROM reading"
                   " WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    [ST_SCAN_DOWN] = "SELECT seq, stream, ts_ms, stored_ms, sends, payload, stored_boot,"
                     " stored_boot_ms, stored_synced FROM reading"
                     " WHERE seq > ?1 ORDER BY seq DESC LIMIT ?2",
    [ST_MARK] = "UPDATE reading SET sends = sends + 1 WHERE seq = ?1",
    [ST_MIN_AGE] = "SELECT min(age_ms) FROM reading WHERE age_ms IS NOT NULL AND own_drop = 0",
    [ST_EXPIRED] = "SELECT seq FROM reading WHERE age_ms IS NOT NULL AND own_drop = 0"
                   " AND age_ms < ?1 ORDER BY age_ms LIMIT ?2",
    /* "own_drop > 0" lets the planner use the partial index (a bound ?1 does not) */
    [ST_LAST_DROP] = "SELECT seq, payload FROM reading WHERE own_drop = ?1 AND own_drop > 0"
                     " AND sends = 0 AND (seq > ?3 OR stored_ms <= ?2)"
                     " ORDER BY seq DESC LIMIT 1",
    [ST_GET_ROW] = "SELECT stream, ts_ms, stored_ms, sends, bytes, payload FROM reading"
                   " WHERE seq = ?1",
    [ST_REJ_INSERT] = "INSERT INTO rejected (seq, stream, ts_ms, stored_ms, rejected_ms, sends,"
                      " reason, bytes, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [ST_REJ_OLDEST] = "SELECT seq FROM rejected ORDER BY seq LIMIT ?1",
    [ST_REJ_DELETE] = "DELETE FROM rejected WHERE seq = ?1",
    [ST_MIN_SEQ] = "SELECT min(seq) FROM reading",
    [ST_FREELIST] = "PRAGMA freelist_count",
    [ST_PAGES] = "PRAGMA page_count",
    [ST_KEEP] = "INSERT OR IGNORE INTO kept (seq, stream, ts_ms, age_ms, stored_ms, own_drop, bytes,"
                " payload, stored_boot, stored_boot_ms, stored_synced, acked_ms, acked_synced)"
                " SELECT seq, stream, ts_ms, age_ms, stored_ms, own_drop, bytes, payload,"
                " stored_boot, stored_boot_ms, stored_synced, ?3, ?4 FROM reading"
                " WHERE seq BETWEEN ?1 AND ?2",
    [ST_KEPT_STATE] = "SELECT kept, kept_bytes, restore_epoch FROM store_state WHERE id = 1",
    [ST_KEPT_EXPIRE] = "DELETE FROM kept WHERE acked_ms < ?1",
    [ST_KEPT_TRIM] = "DELETE FROM kept WHERE seq IN (SELECT seq FROM kept ORDER BY seq LIMIT ?1)",
    [ST_UNKEEP] = "INSERT OR IGNORE INTO reading (seq, stream, ts_ms, age_ms, stored_ms, sends,"
                  " own_drop, bytes, payload, stored_boot, stored_boot_ms, stored_synced)"
                  " SELECT seq, stream, ts_ms, age_ms, stored_ms, 1, own_drop, bytes, payload,"
                  " stored_boot, stored_boot_ms, stored_synced FROM kept"
                  " WHERE acked_synced = 0 OR acked_ms BETWEEN ?1 AND ?2",
    [ST_UNKEEP_DELETE] = "DELETE FROM kept WHERE acked_synced = 0 OR acked_ms BETWEEN ?1 AND ?2",
    [ST_SET_EPOCH] = "UPDATE store_state SET restore_epoch = ?1 WHERE id = 1",
};

/* Version 1, as first shipped: a new file starts here and takes every upgrade below. */
static const char schema_sql[] =
    "CREATE TABLE store_state ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " store_id TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " next_seq INTEGER NOT NULL,"
    " boot INTEGER NOT NULL,"
    " boot_id TEXT NOT NULL,"
    " conn INTEGER NOT NULL,"
    " held INTEGER NOT NULL,"
    " held_bytes INTEGER NOT NULL,"
    " rejected_held INTEGER NOT NULL,"
    " dropped_total INTEGER NOT NULL,"
    " acked_total INTEGER NOT NULL,"
    " rejected_total INTEGER NOT NULL);"
    "CREATE TABLE reading ("
    " seq INTEGER PRIMARY KEY,"
    " stream INTEGER NOT NULL,"
    " ts_ms INTEGER NOT NULL,"
    " age_ms INTEGER,"
    " stored_ms INTEGER NOT NULL,"
    " sends INTEGER NOT NULL,"
    " own_drop INTEGER NOT NULL,"
    " bytes INTEGER NOT NULL,"
    " payload BLOB NOT NULL);"
    "CREATE INDEX reading_age ON reading (age_ms) WHERE age_ms IS NOT NULL AND own_drop = 0;"
    "CREATE INDEX reading_own_drop ON reading (own_drop, seq) WHERE own_drop > 0;"
    "CREATE TABLE rejected ("
    " seq INTEGER PRIMARY KEY,"
    " stream INTEGER NOT NULL,"
    " ts_ms INTEGER NOT NULL,"
    " stored_ms INTEGER NOT NULL,"
    " rejected_ms INTEGER NOT NULL,"
    " sends INTEGER NOT NULL,"
    " reason TEXT NOT NULL,"
    " bytes INTEGER NOT NULL,"
    " payload BLOB NOT NULL);"
    "CREATE TRIGGER reading_held_add AFTER INSERT ON reading BEGIN"
    " UPDATE store_state SET held = held + 1, held_bytes = held_bytes + NEW.bytes"
    " WHERE id = 1; END;"
    "CREATE TRIGGER reading_held_del AFTER DELETE ON reading BEGIN"
    " UPDATE store_state SET held = held - 1, held_bytes = held_bytes - OLD.bytes"
    " WHERE id = 1; END;"
    "CREATE TRIGGER rejected_held_add AFTER INSERT ON rejected BEGIN"
    " UPDATE store_state SET rejected_held = rejected_held + 1 WHERE id = 1; END;"
    "CREATE TRIGGER rejected_held_del AFTER DELETE ON rejected BEGIN"
    " UPDATE store_state SET rejected_held = rejected_held - 1 WHERE id = 1; END;";

/* upgrade_sql[v - 1] brings a file of version v to v + 1, in the transaction of the open that
 * finds it. Only ever appended to: a file of any older version takes every step after its own. */
static const char *const upgrade_sql[AGENT_STORE_VERSION - 1] = {
    /* 1 -> 2: when a reading was stored by the boot-time clock, for `replay` (NULL: unknown,
     * such a row is measured by the wall clock as before) */
    "ALTER TABLE reading ADD COLUMN stored_boot INTEGER;"
    "ALTER TABLE reading ADD COLUMN stored_boot_ms INTEGER;"
    "ALTER TABLE reading ADD COLUMN stored_synced INTEGER;",
    /* 2 -> 3: acknowledged readings kept for a restore of the database (protocol.md 6.3) */
    "CREATE TABLE kept ("
    " seq INTEGER PRIMARY KEY,"
    " stream INTEGER NOT NULL,"
    " ts_ms INTEGER NOT NULL,"
    " age_ms INTEGER,"
    " stored_ms INTEGER NOT NULL,"
    " own_drop INTEGER NOT NULL,"
    " bytes INTEGER NOT NULL,"
    " payload BLOB NOT NULL,"
    " stored_boot INTEGER,"
    " stored_boot_ms INTEGER,"
    " stored_synced INTEGER,"
    " acked_ms INTEGER NOT NULL,"
    " acked_synced INTEGER NOT NULL);"
    "CREATE INDEX kept_acked ON kept (acked_ms);"
    "ALTER TABLE store_state ADD COLUMN kept INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE store_state ADD COLUMN kept_bytes INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE store_state ADD COLUMN restore_epoch INTEGER NOT NULL DEFAULT 0;"
    "CREATE TRIGGER kept_add AFTER INSERT ON kept BEGIN"
    " UPDATE store_state SET kept = kept + 1, kept_bytes = kept_bytes + NEW.bytes"
    " WHERE id = 1; END;"
    "CREATE TRIGGER kept_del AFTER DELETE ON kept BEGIN"
    " UPDATE store_state SET kept = kept - 1, kept_bytes = kept_bytes - OLD.bytes"
    " WHERE id = 1; END;",
};

/* The readings a scan of this process handed out lately (a ring, newest overwriting oldest).
 * A reading handed out within merge_after_ms is in flight: published, or about to be,
 * and its mark (sends + 1) may still wait in the agent's batch. The store does not drop it to
 * make room, nor replace it if it is an own `dropped` reading: the collector may be storing it
 * right now, and reporting it dropped as well would be false. */
struct handed {
    uint64_t seq[AGENT_STORE_HANDED_MAX];
    uint64_t mono_ms[AGENT_STORE_HANDED_MAX];
    size_t next;
};

struct agent_store {
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
    char *path;
    char store_id[MSG_STORE_ID_LEN + 1];
    struct agent_store_limits lim;
    enum agent_clock_sync clock_sync;
    int64_t merge_after_ms;
    uint64_t handed_max;     /* highest seq a scan handed out in this process (the agent's;
                              * MSG_SEQ_MAX in other processes) */
    uint64_t boot;
    bool boot_current;
    struct handed handed;
};

/* What one transaction knows of the state row, and what it changes. */
struct txn {
    uint64_t next_seq;
    int64_t held;
    int64_t held_bytes;
    int64_t rejected_held;
    uint64_t dropped;        /* ordinary readings dropped in this transaction */
    uint64_t acked;
    uint64_t rejected;
    bool deleted_any;        /* worth checking the free pages */
    struct agent_clock_now now;
};

/* A `dropped` reading being collected. */
struct drop_batch {
    enum msg_drop_reason reason;
    struct msg_range storage[MSG_DROPPED_RANGES_MAX];
    struct msg_rangeset rs;
    uint64_t count;          /* ordinary readings in it (not replaced `dropped` readings) */
    bool tried_merge;        /* looked for an unsent one to replace */
};

/* ---- small helpers ---- */

static int db_fail(struct agent_store *s, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "agent store: %s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
    return MSG_ERR_DB;
}

static sqlite3_stmt *stmt(struct agent_store *s, enum stmt_id id)
{
    sqlite3_stmt *q = s->st[id];

    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return q;
}

/* Runs a statement that returns no rows (or whose rows are ignored). */
static int run(struct agent_store *s, enum stmt_id id, char *err, size_t errlen)
{
    int rc = sqlite3_step(s->st[id]);

    sqlite3_reset(s->st[id]);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        return db_fail(s, stmt_sql[id], err, errlen);
    }
    return MSG_OK;
}

static void rollback(struct agent_store *s)
{
    char ignored[8];

    if (!sqlite3_get_autocommit(s->db)) {
        stmt(s, ST_ROLLBACK);
        run(s, ST_ROLLBACK, ignored, sizeof(ignored));
    }
}

static int begin(struct agent_store *s, struct txn *t, char *err, size_t errlen)
{
    sqlite3_stmt *q;
    int rc;

    memset(t, 0, sizeof(*t));
    agent_clock_read(s->clock_sync, &t->now);
    stmt(s, ST_BEGIN);
    rc = run(s, ST_BEGIN, err, errlen);
    if (rc != MSG_OK) {
        return rc;
    }
    q = stmt(s, ST_STATE);
    if (sqlite3_step(q) != SQLITE_ROW) {
        rc = db_fail(s, "reading the store state", err, errlen);
        sqlite3_reset(q);
        rollback(s);
        return rc;
    }
    t->next_seq = (uint64_t)sqlite3_column_int64(q, 0);
    t->held = sqlite3_column_int64(q, 1);
    t->held_bytes = sqlite3_column_int64(q, 2);
    t->rejected_held = sqlite3_column_int64(q, 8);
    sqlite3_reset(q);
    return MSG_OK;
}

/* Re-reads what the triggers keep (held, held_bytes, rejected_held) within a transaction. */
static int reread(struct agent_store *s, struct txn *t, char *err, size_t errlen)
{
    sqlite3_stmt *q = stmt(s, ST_STATE);

    if (sqlite3_step(q) != SQLITE_ROW) {
        sqlite3_reset(q);
        return db_fail(s, "reading the store state", err, errlen);
    }
    t->held = sqlite3_column_int64(q, 1);
    t->held_bytes = sqlite3_column_int64(q, 2);
    t->rejected_held = sqlite3_column_int64(q, 8);
    sqlite3_reset(q);
    return MSG_OK;
}

static int64_t pragma_int(struct agent_store *s, enum stmt_id id)
{
    sqlite3_stmt *q = stmt(s, id);
    int64_t v = -1;

    if (sqlite3_step(q) == SQLITE_ROW) {
        v = sqlite3_column_int64(q, 0);
    }
    sqlite3_reset(q);
    return v;
}

/* Releases free pages when they pile up (after a large acknowledgement), inside the
 * transaction that freed them; returns whether it did. A full store that churns reuses its
 * free pages instead. */
static bool release_free_pages(struct agent_store *s)
{
    int64_t free_pages = pragma_int(s, ST_FREELIST);
    int64_t pages = pragma_int(s, ST_PAGES);
    char sql[64];

    if (free_pages < AGENT_STORE_FREE_MIN || free_pages * 4 < pages) {
        return false;
    }
    snprintf(sql, sizeof(sql), "PRAGMA incremental_vacuum(%" PRId64 ")",
             free_pages - AGENT_STORE_FREE_MIN / 2);
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        log_msg(LOG_WARNING, "agent store: %s: releasing %" PRId64 " free pages: %s", s->path,
                free_pages, sqlite3_errmsg(s->db));
        return false;
    }
    return true;
}

static int commit(struct agent_store *s, struct txn *t, char *err, size_t errlen)
{
    sqlite3_stmt *q;
    bool released = false;
    int rc;

    q = stmt(s, ST_SET_NEXT);
    sqlite3_bind_int64(q, 1, (sqlite3_int64)t->next_seq);
    rc = run(s, ST_SET_NEXT, err, errlen);
    if (rc == MSG_OK && (t->dropped | t->acked | t->rejected) != 0) {
        q = stmt(s, ST_ADD_TOTALS);
        sqlite3_bind_int64(q, 1, (sqlite3_int64)t->dropped);
        sqlite3_bind_int64(q, 2, (sqlite3_int64)t->acked);
        sqlite3_bind_int64(q, 3, (sqlite3_int64)t->rejected);
        rc = run(s, ST_ADD_TOTALS, err, errlen);
    }
    if (rc == MSG_OK && t->deleted_any) {
        released = release_free_pages(s);
    }
    if (rc == MSG_OK) {
        stmt(s, ST_COMMIT);
        rc = run(s, ST_COMMIT, err, errlen);
    }
    if (rc == MSG_OK && released) {
        /* Copy the WAL into the file now and empty it (not at the next automatic checkpoint,
         * which would leave a WAL as large as what was freed until the one after), so that
         * both shrink. Rare (a large acknowledgement); a reader in another process may make
         * it wait up to the busy timeout, or leave it to the automatic checkpoints. */
        sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    }
    if (rc != MSG_OK) {
        rollback(s);
    }
    return rc;
}

static int delete_seq(struct agent_store *s, uint64_t seq, char *err, size_t errlen)
{
    sqlite3_stmt *q = stmt(s, ST_DELETE);

    sqlite3_bind_int64(q, 1, (sqlite3_int64)seq);
    return run(s, ST_DELETE, err, errlen);
}

/* Inserts one encoded reading. */
static int insert_row(struct agent_store *s, struct txn *t, const struct msg_event *ev,
                      int own_drop, const char *payload, size_t len, char *err, size_t errlen)
{
    sqlite3_stmt *q = stmt(s, ST_INSERT);

    sqlite3_bind_int64(q, 1, (sqlite3_int64)ev->env.seq);
    sqlite3_bind_int(q, 2, (int)ev->stream);
    sqlite3_bind_int64(q, 3, ev->env.ts_ms);
    if (ev->env.clock_synced && own_drop == 0) {
        sqlite3_bind_int64(q, 4, ev->env.ts_ms);
    } else {
        sqlite3_bind_null(q, 4);
    }
    sqlite3_bind_int64(q, 5, t->now.wall_ms);
    sqlite3_bind_int(q, 6, own_drop);
    sqlite3_bind_int64(q, 7, (sqlite3_int64)len);
    sqlite3_bind_blob(q, 8, payload, (int)len, SQLITE_STATIC);
    if (s->boot_current) {
        sqlite3_bind_int64(q, 9, (sqlite3_int64)s->boot);
        sqlite3_bind_int64(q, 10, (sqlite3_int64)t->now.mono_ms);
    } else {
        sqlite3_bind_null(q, 9);
        sqlite3_bind_null(q, 10);
    }
    sqlite3_bind_int(q, 11, t->now.synced ? 1 : 0);
    return run(s, ST_INSERT, err, errlen);
}

/* ---- readings in flight ---- */

static void handed_note(struct handed *h, uint64_t seq, uint64_t mono_ms)
{
    h->seq[h->next] = seq;
    h->mono_ms[h->next] = mono_ms;
    h->next = (h->next + 1) % AGENT_STORE_HANDED_MAX;
}

/* Whether a scan of s handed seq out within merge_after_ms before now_mono_ms. */
static bool in_flight(const struct agent_store *s, uint64_t seq, uint64_t now_mono_ms)
{
    const struct handed *h = &s->handed;

    for (size_t i = 0; i < AGENT_STORE_HANDED_MAX; i++) {
        if (h->seq[i] == seq && h->mono_ms[i] + (uint64_t)s->merge_after_ms > now_mono_ms) {
            return true;
        }
    }
    return false;
}

/* ---- the store's own `dropped` readings ---- */

static void batch_init(struct drop_batch *b, enum msg_drop_reason reason)
{
    b->reason = reason;
    msg_rangeset_init(&b->rs, b->storage, MSG_DROPPED_RANGES_MAX);
    b->count = 0;
    b->tried_merge = false;
}

/* Writes the batch as a `dropped` reading with the next seq, and empties it. */
static int batch_flush(struct agent_store *s, struct txn *t, struct drop_batch *b, char *err,
                       size_t errlen)
{
    struct msg_event ev;
    char payload[MSG_PAYLOAD_MAX + 1];
    size_t len = 0;
    int rc;

    if (b->rs.n == 0) {
        return MSG_OK;
    }
    memset(&ev, 0, sizeof(ev));
    ev.stream = MSG_STREAM_DROPPED;
    memcpy(ev.env.store_id, s->store_id, sizeof(ev.env.store_id));
    ev.env.seq = t->next_seq++;
    ev.env.ts_ms = t->now.wall_ms < MSG_TIME_MIN_MS ? MSG_TIME_MIN_MS : t->now.wall_ms;
    ev.env.clock_synced = t->now.synced;
    ev.env.replay = false;
    if (s->boot_current) {
        ev.env.has_boot = true;
        ev.env.boot = s->boot;
        ev.env.has_mono = true;
        ev.env.mono_ms = t->now.mono_ms;
    }
    ev.u.dropped.reason = b->reason;
    ev.u.dropped.n_ranges = b->rs.n;
    memcpy(ev.u.dropped.ranges, b->rs.r, b->rs.n * sizeof(b->rs.r[0]));
    rc = msg_event_encode(&ev, payload, sizeof(payload), &len);
    if (rc != MSG_OK) {
        snprintf(err, errlen, "agent store: %s: encoding a dropped reading: %s", s->path,
                 msg_strerror(rc));
        return MSG_ERR_INVAL;
    }
    rc = insert_row(s, t, &ev, 1 + (int)b->reason, payload, len, err, errlen);
    if (rc != MSG_OK) {
        return rc;
    }
    t->held++;
    t->held_bytes += (int64_t)len;
    log_msg(LOG_ERR, "agent store: dropped %" PRIu64 " readings (%s), seq %" PRIu64
            "..%" PRIu64 " in %zu ranges, reported as seq %" PRIu64,
            b->count, msg_drop_reason_name(b->reason), b->rs.r[0].first,
            b->rs.r[b->rs.n - 1].last, b->rs.n, ev.env.seq);
    batch_init(b, b->reason);
    b->tried_merge = true;   /* the one just written is not replaced in this transaction */
    return MSG_OK;
}

/* Before the first drop of a batch: if an own `dropped` reading of the same reason was never
 * sent, take its ranges and its own seq into the batch and delete it, so that the new one
 * replaces it. "Never sent": no scan of this process has handed it out (so the agent cannot
 * have published it), or it was handed out but not marked sent within merge_after_ms (the
 * agent chose not to send it: it is offline). */
static int batch_merge(struct agent_store *s, struct txn *t, struct drop_batch *b, char *err,
                       size_t errlen)
{
    sqlite3_stmt *q = stmt(s, ST_LAST_DROP);
    struct msg_event ev;
    char perr[MSG_ERRLEN];
    uint64_t seq = 0;
    bool found = false;
    int rc = MSG_OK;

    b->tried_merge = true;
    sqlite3_bind_int(q, 1, 1 + (int)b->reason);
    sqlite3_bind_int64(q, 2, t->now.wall_ms - s->merge_after_ms);
    sqlite3_bind_int64(q, 3, (sqlite3_int64)s->handed_max);
    if (sqlite3_step(q) == SQLITE_ROW) {
        char topic[MSG_TOPIC_MAX + 1];
        const void *p = sqlite3_column_blob(q, 1);
        int n = sqlite3_column_bytes(q, 1);

        seq = (uint64_t)sqlite3_column_int64(q, 0);
        found = p != NULL &&
                msg_topic_format(topic, sizeof(topic), MSG_STREAM_DROPPED, "agent-store") ==
                    MSG_OK &&
                msg_event_parse(topic, strlen(topic), p, (size_t)n, &ev, perr, sizeof(perr)) ==
                    MSG_OK &&
                ev.stream == MSG_STREAM_DROPPED;
    }
    sqlite3_reset(q);
    if (!found || in_flight(s, seq, t->now.mono_ms)) {
        return MSG_OK;
    }
    for (size_t i = 0; i < ev.u.dropped.n_ranges; i++) {
        rc = msg_rangeset_add_range(&b->rs, ev.u.dropped.ranges[i].first,
                                    ev.u.dropped.ranges[i].last);
        if (rc != MSG_OK) {
            msg_rangeset_clear(&b->rs);   /* cannot happen: it held at most as many */
            return MSG_OK;
        }
    }
    if (!msg_rangeset_fits(&b->rs, seq, seq)) {
        msg_rangeset_clear(&b->rs);       /* full already: leave it, start a new one */
        return MSG_OK;
    }
    msg_rangeset_add(&b->rs, seq);
    t->dropped++;   /* the replaced report's own seq is now reported as dropped too */
    rc = delete_seq(s, seq, err, errlen);
    if (rc == MSG_OK) {
        t->deleted_any = true;
        rc = reread(s, t, err, errlen);
    }
    return rc;
}

/* Drops the ordinary reading seq (bytes long) into batch b. */
static int drop_one(struct agent_store *s, struct txn *t, struct drop_batch *b, uint64_t seq,
                    char *err, size_t errlen)
{
    int rc;

    if (!b->tried_merge && b->rs.n == 0) {
        rc = batch_merge(s, t, b, err, errlen);
        if (rc != MSG_OK) {
            return rc;
        }
    }
    if (!msg_rangeset_fits(&b->rs, seq, seq)) {
        rc = batch_flush(s, t, b, err, errlen);
        if (rc != MSG_OK) {
            return rc;
        }
    }
    msg_rangeset_add(&b->rs, seq);
    b->count++;
    t->dropped++;
    t->deleted_any = true;
    return delete_seq(s, seq, err, errlen);
}

/* How many readings scans handed out within merge_after_ms before now_mono_ms (an upper bound
 * of those in flight: a reading handed out twice, or acknowledged since, counts too). */
static int64_t flight_count(const struct agent_store *s, uint64_t now_mono_ms)
{
    const struct handed *h = &s->handed;
    int64_t n = 0;

    for (size_t i = 0; i < AGENT_STORE_HANDED_MAX; i++) {
        if (h->seq[i] != 0 && h->mono_ms[i] + (uint64_t)s->merge_after_ms > now_mono_ms) {
            n++;
        }
    }
    return n;
}

/* Whether what is held, plus the `dropped` reading that b would become, fits in the limits
 * less the slack (1 % of each), plus the room of the readings in flight (flight rows, and a
 * tenth of the bytes if there are any). */
static bool within_limits(const struct agent_store *s, const struct txn *t,
                          const struct drop_batch *b, int64_t flight, bool with_slack)
{
    int64_t rows = t->held + (b->rs.n > 0 ? 1 : 0);
    int64_t bytes = t->held_bytes + (b->rs.n > 0 ? DROP_PAYLOAD_BOUND(b->rs.n + 1) : 0);
    int64_t max_rows = s->lim.max_readings + flight;
    int64_t max_bytes = s->lim.max_bytes + (flight > 0 ? s->lim.max_bytes / 10 : 0);

    if (with_slack) {
        max_rows -= s->lim.max_readings / 100;
        max_bytes -= s->lim.max_bytes / 100;
    }
    return rows <= max_rows && bytes <= max_bytes;
}

/* Drops the oldest ordinary readings until the limits hold (with 1 % slack once it has to
 * drop at all), reporting them with reason store_full. Readings in flight are left alone, and
 * give the store room over its limits while they are out (they are about to be acknowledged:
 * dropping newer readings to make room for them would lose the newest instead of the oldest);
 * if only they are left and the store is still over, the oldest go, in flight or not. */
static int enforce_limits(struct agent_store *s, struct txn *t, char *err, size_t errlen)
{
    struct drop_batch b;
    uint64_t victims[AGENT_STORE_CHUNK];
    uint64_t after = 0;
    int64_t flight;
    bool spare_in_flight = true;
    size_t nv;
    int rc = MSG_OK;

    batch_init(&b, MSG_DROP_STORE_FULL);
    /* Most appends are within the limits without the room of what is in flight: the ring of
     * hand-outs is counted only when it matters (the room only ever widens the limits). */
    if (within_limits(s, t, &b, 0, false)) {
        return MSG_OK;
    }
    flight = flight_count(s, t->now.mono_ms);
    if (within_limits(s, t, &b, flight, false)) {
        return MSG_OK;
    }
    while (!within_limits(s, t, &b, flight, true)) {
        sqlite3_stmt *q = stmt(s, ST_OLDEST);

        nv = 0;
        sqlite3_bind_int(q, 1, AGENT_STORE_CHUNK);
        sqlite3_bind_int64(q, 2, (sqlite3_int64)after);
        while (nv < AGENT_STORE_CHUNK && sqlite3_step(q) == SQLITE_ROW) {
            victims[nv++] = (uint64_t)sqlite3_column_int64(q, 0);
        }
        sqlite3_reset(q);
        if (nv == 0 && after > 0 && spare_in_flight) {
            spare_in_flight = false;   /* every ordinary reading left is in flight */
            after = 0;
            continue;
        }
        if (nv == 0) {
            /* Only the store's own `dropped` readings are left: kept over the limit. */
            log_msg(LOG_WARNING, "agent store: %s: over its limits with only dropped "
                    "reports held (%" PRId64 " readings, %" PRId64 " bytes)", s->path, t->held,
                    t->held_bytes);
            break;
        }
        after = victims[nv - 1];
        for (size_t i = 0; i < nv && !within_limits(s, t, &b, flight, true); i++) {
            if (spare_in_flight && in_flight(s, victims[i], t->now.mono_ms)) {
                continue;
            }
            rc = drop_one(s, t, &b, victims[i], err, errlen);
            if (rc == MSG_OK) {
                rc = reread(s, t, err, errlen);
            }
            if (rc != MSG_OK) {
                return rc;
            }
        }
    }
    return batch_flush(s, t, &b, err, errlen);
}

/* Drops ordinary readings taken (with a synchronised clock) before cutoff_ms, reason max_age. */
static int expire_txn(struct agent_store *s, struct txn *t, int64_t cutoff_ms, char *err,
                         size_t errlen)
{
    struct drop_batch b;
    uint64_t victims[AGENT_STORE_CHUNK];
    sqlite3_stmt *q;
    size_t nv;
    size_t n_dropped;
    int64_t min_age = 0;
    bool any = false;
    int rc = MSG_OK;

    q = stmt(s, ST_MIN_AGE);
    if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL) {
        any = true;
        min_age = sqlite3_column_int64(q, 0);
    }
    sqlite3_reset(q);
    if (!any || min_age >= cutoff_ms) {
        return MSG_OK;
    }
    batch_init(&b, MSG_DROP_MAX_AGE);
    do {
        q = stmt(s, ST_EXPIRED);
        nv = 0;
        sqlite3_bind_int64(q, 1, cutoff_ms);
        sqlite3_bind_int(q, 2, AGENT_STORE_CHUNK);
        while (nv < AGENT_STORE_CHUNK && sqlite3_step(q) == SQLITE_ROW) {
            victims[nv++] = (uint64_t)sqlite3_column_int64(q, 0);
        }
        sqlite3_reset(q);
        n_dropped = 0;
        for (size_t i = 0; i < nv && rc == MSG_OK; i++) {
            if (in_flight(s, victims[i], t->now.mono_ms)) {
                continue;   /* it expires at a later call, once it is no longer in flight */
            }
            rc = drop_one(s, t, &b, victims[i], err, errlen);
            n_dropped++;
        }
    } while (rc == MSG_OK && nv == AGENT_STORE_CHUNK && n_dropped > 0);
    if (rc == MSG_OK) {
        rc = batch_flush(s, t, &b, err, errlen);
    }
    if (rc == MSG_OK) {
        rc = reread(s, t, err, errlen);
    }
    return rc;
}

/* ---- open, create, recover ---- */

static int make_store_id(char out[MSG_STORE_ID_LEN + 1], char *err, size_t errlen)
{
    unsigned char b[16];
    size_t got = 0;

    while (got < sizeof(b)) {
        ssize_t n = getrandom(b + got, sizeof(b) - got, 0);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            snprintf(err, errlen, "agent store: getrandom: %s", strerror(errno));
            return MSG_ERR_IO;
        }
        got += (size_t)n;
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);   /* version 4: random */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);   /* RFC 4122 variant */
    snprintf(out, MSG_STORE_ID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
    return MSG_OK;
}

/* Whether SQLite's code says the file is damaged or not a database. */
static bool is_damage(int sqlite_rc)
{
    int primary = sqlite_rc & 0xff;

    return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB;
}

static int exec(struct agent_store *s, const char *sql, int *sqlite_rc, char *err, size_t errlen)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

    *sqlite_rc = rc;
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "agent store: %s: %.60s: %s", s->path, sql, sqlite3_errmsg(s->db));
        return MSG_ERR_DB;
    }
    return MSG_OK;
}

/* Creates the schema and the state row if the file has none; checks the version otherwise.
 * Then the boot counter. Sets *damaged when SQLite says the file is damaged. */
static int setup(struct agent_store *s, const struct agent_store_options *opt, bool *damaged,
                 char *err, size_t errlen)
{
    char sql[512];
    char boot_id[AGENT_CLOCK_BOOT_ID_LEN + 1] = "";
    char stored_boot_id[AGENT_CLOCK_BOOT_ID_LEN + 1] = "";
    sqlite3_stmt *q = NULL;
    int64_t version = -1;
    int64_t tables = 0;
    int src = SQLITE_OK;
    int rc;

    *damaged = false;
    snprintf(sql, sizeof(sql),
             "PRAGMA page_size = %d; PRAGMA auto_vacuum = INCREMENTAL; PRAGMA journal_mode = WAL;"
             " PRAGMA synchronous = FULL; PRAGMA cache_size = -%d;"
             " PRAGMA journal_size_limit = %d; PRAGMA mmap_size = 0;"
             " PRAGMA foreign_keys = OFF;",
             AGENT_STORE_PAGE_SIZE, AGENT_STORE_CACHE_KIB, AGENT_STORE_WAL_LIMIT);
    rc = exec(s, sql, &src, err, errlen);
    if (rc != MSG_OK) {
        goto out;
    }
    rc = exec(s, "BEGIN IMMEDIATE", &src, err, errlen);
    if (rc != MSG_OK) {
        goto out;
    }
    src = sqlite3_prepare_v2(s->db,
                             "SELECT (SELECT count(*) FROM sqlite_master WHERE type = 'table'),"
                             " (SELECT user_version FROM pragma_user_version)",
                             -1, &q, NULL);
    if (src == SQLITE_OK) {
        src = sqlite3_step(q);
    }
    if (src != SQLITE_ROW) {
        rc = db_fail(s, "reading the schema", err, errlen);
        goto out;
    }
    src = SQLITE_OK;
    tables = sqlite3_column_int64(q, 0);
    version = sqlite3_column_int64(q, 1);
    sqlite3_finalize(q);
    q = NULL;
    if (tables == 0) {
        char id[MSG_STORE_ID_LEN + 1];
        struct agent_clock_now now;

        rc = make_store_id(id, err, errlen);
        if (rc != MSG_OK) {
            goto out;
        }
        agent_clock_read(AGENT_CLOCK_AUTO, &now);
        rc = exec(s, schema_sql, &src, err, errlen);
        if (rc != MSG_OK) {
            goto out;
        }
        snprintf(sql, sizeof(sql),
                 "INSERT INTO store_state VALUES (1, '%s', %" PRId64 ", 1, 0, '', 0, 0, 0, 0,"
                 " 0, 0, 0);",
                 id, now.wall_ms);
        rc = exec(s, sql, &src, err, errlen);
        if (rc != MSG_OK) {
            goto out;
        }
        version = 1;
        log_msg(LOG_NOTICE, "agent store: created %s, store=%s", s->path, id);
    } else if (version < 1 || version > AGENT_STORE_VERSION) {
        snprintf(err, errlen, "agent store: %s: schema version %" PRId64 ", this agent knows "
                 "1 to %d", s->path, version, AGENT_STORE_VERSION);
        rc = MSG_ERR_DB;
        goto out;
    }
    if (version < AGENT_STORE_VERSION) {
        int64_t from = version;

        for (; version < AGENT_STORE_VERSION; version++) {
            rc = exec(s, upgrade_sql[version - 1], &src, err, errlen);
            if (rc != MSG_OK) {
                goto out;
            }
        }
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d;", AGENT_STORE_VERSION);
        rc = exec(s, sql, &src, err, errlen);
        if (rc != MSG_OK) {
            goto out;
        }
        if (tables != 0) {
            log_msg(LOG_NOTICE, "agent store: %s: schema upgraded from version %" PRId64
                    " to %d", s->path, from, AGENT_STORE_VERSION);
        }
    }
    /* Boot counter: a different kernel boot id than the stored one is a new boot. */
    if (opt->boot_id != NULL) {
        snprintf(boot_id, sizeof(boot_id), "%s", opt->boot_id);
    } else if (agent_clock_boot_id(boot_id, err, errlen) != MSG_OK) {
        log_msg(LOG_WARNING, "%s: the boot counter stays as it is", err);
        boot_id[0] = '\0';
    }
    src = sqlite3_prepare_v2(s->db, "SELECT store_id, boot, boot_id FROM store_state WHERE id = 1",
                             -1, &q, NULL);
    if (src == SQLITE_OK) {
        src = sqlite3_step(q);
    }
    if (src != SQLITE_ROW || sqlite3_column_bytes(q, 0) != MSG_STORE_ID_LEN) {
        rc = db_fail(s, "reading the store state", err, errlen);
        if (src == SQLITE_DONE || src == SQLITE_ROW) {
            src = SQLITE_CORRUPT;   /* tables without their state row: damaged */
        }
        goto out;
    }
    src = SQLITE_OK;
    memcpy(s->store_id, sqlite3_column_text(q, 0), MSG_STORE_ID_LEN);
    s->store_id[MSG_STORE_ID_LEN] = '\0';
    s->boot = (uint64_t)sqlite3_column_int64(q, 1);
    snprintf(stored_boot_id, sizeof(stored_boot_id), "%s",
             (const char *)sqlite3_column_text(q, 2));
    sqlite3_finalize(q);
    q = NULL;
    s->boot_current = boot_id[0] != '\0' && strcmp(boot_id, stored_boot_id) == 0;
    if (opt->count_boot && boot_id[0] != '\0' && !s->boot_current) {
        s->boot++;
        snprintf(sql, sizeof(sql), "UPDATE store_state SET boot = %" PRIu64 ", boot_id = '%s'"
                 " WHERE id = 1", s->boot, boot_id);
        rc = exec(s, sql, &src, err, errlen);
        if (rc != MSG_OK) {
            goto out;
        }
        s->boot_current = true;
        log_msg(LOG_NOTICE, "agent store: %s: boot %" PRIu64 " (a new system boot)", s->path,
                s->boot);
    }
    rc = exec(s, "COMMIT", &src, err, errlen);
    if (rc != MSG_OK) {
        goto out;
    }
    /* The whole file, once per open: a damaged page is found now, not in the middle of a
     * replay. */
    src = sqlite3_prepare_v2(s->db, "PRAGMA quick_check(1)", -1, &q, NULL);
    if (src == SQLITE_OK) {
        src = sqlite3_step(q);
    }
    if (src != SQLITE_ROW) {
        rc = db_fail(s, "quick_check", err, errlen);
        goto out;
    }
    src = SQLITE_OK;
    if (strcmp((const char *)sqlite3_column_text(q, 0), "ok") != 0) {
        snprintf(err, errlen, "agent store: %s: quick_check: %.120s", s->path,
                 (const char *)sqlite3_column_text(q, 0));
        src = SQLITE_CORRUPT;
        rc = MSG_ERR_DB;
        goto out;
    }
    rc = MSG_OK;
out:
    if (q != NULL) {
        int frc = sqlite3_finalize(q);

        if (src == SQLITE_OK && frc != SQLITE_OK) {
            src = frc;
        }
    }
    if (rc != MSG_OK) {
        if (src == SQLITE_OK) {
            src = sqlite3_extended_errcode(s->db);
        }
        *damaged = is_damage(src);
        if (!sqlite3_get_autocommit(s->db)) {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        }
    }
    return rc;
}

static void close_db(struct agent_store *s)
{
    for (int i = 0; i < ST_COUNT; i++) {
        sqlite3_finalize(s->st[i]);
        s->st[i] = NULL;
    }
    sqlite3_close(s->db);
    s->db = NULL;
}

/* Moves a damaged file (and its WAL) aside as <path>.corrupt-<time>, removes its -shm. */
static int move_aside(const char *path, char *err, size_t errlen)
{
    char stamp[32];
    char from[4200];
    char to[4200];
    struct tm tm;
    time_t now = time(NULL);
    int rc = MSG_OK;

    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    snprintf(to, sizeof(to), "%s.corrupt-%s", path, stamp);
    if (rename(path, to) != 0) {
        snprintf(err, errlen, "agent store: moving damaged %s aside to %s: %s", path, to,
                 strerror(errno));
        rc = MSG_ERR_IO;
        goto out;
    }
    snprintf(from, sizeof(from), "%s-wal", path);
    snprintf(to, sizeof(to), "%s.corrupt-%s-wal", path, stamp);
    if (rename(from, to) != 0 && errno != ENOENT) {
        log_msg(LOG_WARNING, "agent store: moving %s aside: %s", from, strerror(errno));
    }
    snprintf(from, sizeof(from), "%s-shm", path);
    if (unlink(from) != 0 && errno != ENOENT) {
        log_msg(LOG_WARNING, "agent store: removing %s: %s", from, strerror(errno));
    }
    log_msg(LOG_ERR, "agent store: %s is damaged: moved aside as %s.corrupt-%s; a new store "
            "replaces it (its unacknowledged readings are in the old file)", path, path, stamp);
out:
    return rc;
}

static int open_db(struct agent_store *s, const struct agent_store_options *opt, bool *damaged,
                   char *err, size_t errlen)
{
    int src;
    int rc;

    *damaged = false;
    src = sqlite3_open_v2(s->path, &s->db,
                          SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (src != SQLITE_OK) {
        snprintf(err, errlen, "agent store: %s: cannot open: %s", s->path,
                 s->db != NULL ? sqlite3_errmsg(s->db) : sqlite3_errstr(src));
        *damaged = is_damage(src);
        return src == SQLITE_CANTOPEN ? MSG_ERR_IO : MSG_ERR_DB;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, opt->busy_timeout_ms > 0 ? opt->busy_timeout_ms
                                                         : AGENT_STORE_BUSY_MS);
    rc = setup(s, opt, damaged, err, errlen);
    if (rc != MSG_OK) {
        return rc;
    }
    for (int i = 0; i < ST_COUNT; i++) {
        src = sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
                                 NULL);
        if (src != SQLITE_OK) {
            *damaged = is_damage(src);
            return db_fail(s, stmt_sql[i], err, errlen);
        }
    }
    return MSG_OK;
}

int agent_store_open_opts(const char *path, const struct agent_store_options *opt,
                          struct agent_store **out, char *err, size_t errlen)
{
    struct agent_store *s = NULL;
    const struct agent_store_limits *lim = &opt->limits;
    bool damaged = false;
    int rc;

    *out = NULL;
    if (lim->max_readings < 1 || lim->max_bytes < 1 || lim->max_age_ms < 0 ||
        lim->max_rejected < 1) {
        snprintf(err, errlen, "agent store: %s: limits must be positive (max_readings %" PRId64
                 ", max_bytes %" PRId64 ", max_age_ms %" PRId64 ", max_rejected %" PRId64 ")",
                 path, lim->max_readings, lim->max_bytes, lim->max_age_ms, lim->max_rejected);
        rc = MSG_ERR_INVAL;
        goto fail;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        rc = MSG_ERR_NOMEM;
        snprintf(err, errlen, "agent store: out of memory");
        goto fail;
    }
    s->path = strdup(path);
    if (s->path == NULL) {
        rc = MSG_ERR_NOMEM;
        snprintf(err, errlen, "agent store: out of memory");
        goto fail;
    }
    s->lim = *lim;
    s->clock_sync = opt->clock_sync;
    s->merge_after_ms = opt->merge_after_ms > 0 ? opt->merge_after_ms : AGENT_STORE_MERGE_MS;
    /* Another process than the agent (`report`) cannot know what the agent's scans handed
     * out: for it, every report counts as handed out (replaced only after merge_after_ms). */
    s->handed_max = opt->count_boot ? 0 : MSG_SEQ_MAX;
    rc = open_db(s, opt, &damaged, err, errlen);
    if (rc != MSG_OK && damaged) {
        log_msg(LOG_ERR, "%s", err);
        close_db(s);
        rc = move_aside(path, err, errlen);
        if (rc != MSG_OK) {
            goto fail;
        }
        rc = open_db(s, opt, &damaged, err, errlen);
    }
    if (rc != MSG_OK) {
        goto fail;
    }
    *out = s;
    return MSG_OK;
fail:
    agent_store_close(s);
    return rc;
}

int agent_store_open(const char *path, const struct agent_store_limits *lim, bool count_boot,
                     struct agent_store **out, char *err, size_t errlen)
{
    struct agent_store_options opt;

    memset(&opt, 0, sizeof(opt));
    opt.limits = *lim;
    opt.count_boot = count_boot;
    opt.clock_sync = AGENT_CLOCK_AUTO;
    return agent_store_open_opts(path, &opt, out, err, errlen);
}

void agent_store_shrink(struct agent_store *s)
{
    sqlite3_db_release_memory(s->db);
}

void agent_store_close(struct agent_store *s)
{
    if (s == NULL) {
        return;
    }
    if (s->db != NULL) {
        close_db(s);
    }
    free(s->path);
    free(s);
}

const char *agent_store_id(const struct agent_store *s)
{
    return s->store_id;
}

/* ---- the calls ---- */

/* Keeps the kept acknowledged readings within their window and within what the limits leave
 * after the held ones: those acknowledged longer than keep_acked_ms ago go (with a window of
 * 0, none by age: `report` and tools leave the agent's alone), then the oldest
 * while held + kept is over max_readings or max_bytes. Kept readings never make a held one go,
 * and going is no drop (they are stored). In t's transaction. */
static int trim_kept(struct agent_store *s, struct txn *t, char *err, size_t errlen)
{
    sqlite3_stmt *q;
    int rc;

    if (s->lim.keep_acked_ms > 0) {
        q = stmt(s, ST_KEPT_EXPIRE);
        sqlite3_bind_int64(q, 1, (sqlite3_int64)(t->now.wall_ms - s->lim.keep_acked_ms));
        rc = run(s, ST_KEPT_EXPIRE, err, errlen);
        if (rc != MSG_OK) {
            return rc;
        }
        if (sqlite3_changes(s->db) > 0) {
            t->deleted_any = true;
        }
    }
    rc = reread(s, t, err, errlen);
    for (int rounds = 0; rc == MSG_OK && rounds < 1000000; rounds++) {
        int64_t kept = 0;
        int64_t kept_bytes = 0;
        int64_t over;

        q = stmt(s, ST_KEPT_STATE);
        if (sqlite3_step(q) != SQLITE_ROW) {
            sqlite3_reset(q);
            return db_fail(s, "reading the kept readings' count", err, errlen);
        }
        kept = sqlite3_column_int64(q, 0);
        kept_bytes = sqlite3_column_int64(q, 1);
        sqlite3_reset(q);
        over = t->held + kept - s->lim.max_readings;
        if (over <= 0 && t->held_bytes + kept_bytes > s->lim.max_bytes) {
            over = AGENT_STORE_CHUNK;
        }
        if (over <= 0 || kept == 0) {
            break;
        }
        q = stmt(s, ST_KEPT_TRIM);
        sqlite3_bind_int64(q, 1, (sqlite3_int64)(over < AGENT_STORE_CHUNK * 16 ? over
                                                 : AGENT_STORE_CHUNK * 16));
        rc = run(s, ST_KEPT_TRIM, err, errlen);
        t->deleted_any = true;
    }
    return rc;
}

int agent_store_append(struct agent_store *s, struct msg_event *evs, size_t n, char *err,
                       size_t errlen)
{
    char payload[MSG_PAYLOAD_MAX + 1];
    struct txn t;
    size_t len = 0;
    int rc;

    if (n == 0) {
        return MSG_OK;
    }
    rc = begin(s, &t, err, errlen);
    if (rc != MSG_OK) {
        goto out;
    }
    if (s->lim.max_age_ms > 0 && t.now.synced) {
        rc = expire_txn(s, &t, t.now.wall_ms - s->lim.max_age_ms, err, errlen);
        if (rc != MSG_OK) {
            goto out;
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct msg_event *ev = &evs[i];

        if (!msg_stream_is_reading(ev->stream)) {
            snprintf(err, errlen, "agent store: reading %zu of %zu: stream %s is not a reading",
                     i + 1, n, msg_stream_name(ev->stream));
            rc = MSG_ERR_INVAL;
            goto out;
        }
        if (t.next_seq > MSG_SEQ_MAX) {
            snprintf(err, errlen, "agent store: %s: sequence numbers exhausted", s->path);
            rc = MSG_ERR_FULL;
            goto out;
        }
        memcpy(ev->env.store_id, s->store_id, sizeof(ev->env.store_id));
        ev->env.seq = t.next_seq++;
        ev->env.replay = false;
        rc = msg_event_encode(ev, payload, sizeof(payload), &len);
        if (rc != MSG_OK || len > MSG_PAYLOAD_MAX) {
            snprintf(err, errlen, "agent store: reading %zu of %zu (%s): cannot be encoded: %s",
                     i + 1, n, msg_stream_name(ev->stream),
                     rc != MSG_OK ? msg_strerror(rc) : "larger than 8192 bytes");
            rc = MSG_ERR_INVAL;
            goto out;
        }
        if ((int64_t)len > s->lim.max_bytes) {
            snprintf(err, errlen, "agent store: reading %zu of %zu: %zu bytes, more than "
                     "max_bytes %" PRId64, i + 1, n, len, s->lim.max_bytes);
            rc = MSG_ERR_FULL;
            goto out;
        }
        rc = insert_row(s, &t, ev, 0, payload, len, err, errlen);
        if (rc != MSG_OK) {
            goto out;
        }
        t.held++;
        t.held_bytes += (int64_t)len;
    }
    rc = enforce_limits(s, &t, err, errlen);
    if (rc != MSG_OK) {
        goto out;
    }
    rc = trim_kept(s, &t, err, errlen);
    if (rc != MSG_OK) {
        goto out;
    }
    rc = commit(s, &t, err, errlen);
out:
    if (rc != MSG_OK) {
        rollback(s);
    }
    return rc;
}

/* row->held from the scan's columns 3 (stored_ms) and 6 to 8 (the other clocks) and now. */
static void held_fill(const struct agent_store *s, sqlite3_stmt *q,
                      const struct agent_clock_now *now, struct agent_store_row *row)
{
    struct msg_history_held *h = &row->held;

    memset(h, 0, sizeof(*h));
    h->stored_wall_ms = row->stored_ms;
    h->now_wall_ms = now->wall_ms;
    h->now_synced = now->synced;
    if (sqlite3_column_type(q, 8) == SQLITE_NULL) {
        h->boot = MSG_HISTORY_BOOT_UNKNOWN;   /* stored before the store kept its clocks */
        return;
    }
    h->stored_synced = sqlite3_column_int(q, 8) != 0;
    if (s->boot_current && sqlite3_column_type(q, 6) != SQLITE_NULL &&
        sqlite3_column_type(q, 7) != SQLITE_NULL &&
        (uint64_t)sqlite3_column_int64(q, 6) == s->boot) {
        h->boot = MSG_HISTORY_BOOT_SAME;
        h->stored_boot_ms = sqlite3_column_int64(q, 7);
        h->now_boot_ms = (int64_t)now->mono_ms;
    } else {
        h->boot = MSG_HISTORY_BOOT_OTHER;
    }
}

static int scan(struct agent_store *s, enum stmt_id id, uint64_t after_seq, size_t max,
                agent_store_row_fn fn, void *ctx, char *err, size_t errlen)
{
    struct agent_clock_now now;
    sqlite3_stmt *q;
    bool have_now = false;
    int src;
    int rc = MSG_OK;

    if (max == 0) {
        return MSG_OK;
    }
    q = stmt(s, id);
    sqlite3_bind_int64(q, 1, (sqlite3_int64)(after_seq > MSG_SEQ_MAX ? MSG_SEQ_MAX : after_seq));
    sqlite3_bind_int64(q, 2, max > (size_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)max);
    for (;;) {
        struct agent_store_row row;

        src = sqlite3_step(q);
        if (src == SQLITE_DONE) {
            break;
        }
        if (src != SQLITE_ROW) {
            rc = db_fail(s, "scanning readings", err, errlen);
            break;
        }
        row.seq = (uint64_t)sqlite3_column_int64(q, 0);
        row.stream = (enum msg_stream)sqlite3_column_int(q, 1);
        row.ts_ms = sqlite3_column_int64(q, 2);
        row.stored_ms = sqlite3_column_int64(q, 3);
        row.sends = (uint64_t)sqlite3_column_int64(q, 4);
        row.payload = sqlite3_column_blob(q, 5);
        row.payload_len = (size_t)sqlite3_column_bytes(q, 5);
        if (row.payload == NULL) {
            row.payload = "";
        }
        if (!have_now) {
            agent_clock_read(s->clock_sync, &now);   /* once a scan, the same for each row */
            have_now = true;
        }
        held_fill(s, q, &now, &row);
        handed_note(&s->handed, row.seq, now.mono_ms);
        if (row.seq > s->handed_max) {
            s->handed_max = row.seq;
        }
        if (!fn(ctx, &row)) {
            break;
        }
    }
    sqlite3_reset(q);
    return rc;
}

int agent_store_scan(struct agent_store *s, uint64_t after_seq, size_t max, agent_store_row_fn fn,
                     void *ctx, char *err, size_t errlen)
{
    return scan(s, ST_SCAN_UP, after_seq, max, fn, ctx, err, errlen);
}

int agent_store_scan_newest(struct agent_store *s, uint64_t after_seq, size_t max,
                            agent_store_row_fn fn, void *ctx, char *err, size_t errlen)
{
    return scan(s, ST_SCAN_DOWN, after_seq, max, fn, ctx, err, errlen);
}

int agent_store_mark_sent(struct agent_store *s, const uint64_t *seqs, size_t n, char *err,
                          size_t errlen)
{
    struct txn t;
    int rc;

    if (n == 0) {
        return MSG_OK;
    }
    rc = begin(s, &t, err, errlen);
    for (size_t i = 0; rc == MSG_OK && i < n; i++) {
        sqlite3_stmt *q = stmt(s, ST_MARK);

        sqlite3_bind_int64(q, 1, (sqlite3_int64)(seqs[i] > MSG_SEQ_MAX ? 0 : seqs[i]));
        rc = run(s, ST_MARK, err, errlen);
    }
    if (rc == MSG_OK) {
        rc = commit(s, &t, err, errlen);
    }
    if (rc != MSG_OK) {
        rollback(s);
    }
    return rc;
}

int agent_store_ack(struct agent_store *s, const struct msg_range *ranges, size_t n,
                    uint64_t *deleted, char *err, size_t errlen)
{
    struct txn t;
    uint64_t total = 0;
    int rc;

    if (deleted != NULL) {
        *deleted = 0;
    }
    if (n == 0) {
        return MSG_OK;
    }
    rc = begin(s, &t, err, errlen);
    for (size_t i = 0; rc == MSG_OK && i < n; i++) {
        sqlite3_stmt *q;
        uint64_t first = ranges[i].first;
        uint64_t last = ranges[i].last > MSG_SEQ_MAX ? MSG_SEQ_MAX : ranges[i].last;

        if (first > last) {
            continue;
        }
        if (s->lim.keep_acked_ms > 0) {
            q = stmt(s, ST_KEEP);
            sqlite3_bind_int64(q, 1, (sqlite3_int64)first);
            sqlite3_bind_int64(q, 2, (sqlite3_int64)last);
            sqlite3_bind_int64(q, 3, (sqlite3_int64)t.now.wall_ms);
            sqlite3_bind_int(q, 4, t.now.synced ? 1 : 0);
            rc = run(s, ST_KEEP, err, errlen);
            if (rc != MSG_OK) {
                break;
            }
        }
        q = stmt(s, ST_DELETE_RANGE);
        sqlite3_bind_int64(q, 1, (sqlite3_int64)first);
        sqlite3_bind_int64(q, 2, (sqlite3_int64)last);
        rc = run(s, ST_DELETE_RANGE, err, errlen);
        if (rc != MSG_OK) {
            break;
        }
        total += (uint64_t)sqlite3_changes(s->db);
        q = stmt(s, ST_REJ_DELETE_RANGE);
        sqlite3_bind_int64(q, 1, (sqlite3_int64)first);
        sqlite3_bind_int64(q, 2, (sqlite3_int64)last);
        rc = run(s, ST_REJ_DELETE_RANGE, err, errlen);
    }
    if (rc == MSG_OK) {
        t.acked = total;
        t.deleted_any = total > 0;
        rc = trim_kept(s, &t, err, errlen);
    }
    if (rc == MSG_OK) {
        rc = commit(s, &t, err, errlen);
    }
    if (rc != MSG_OK) {
        rollback(s);
    } else if (deleted != NULL) {
        *deleted = total;
    }
    return rc;
}

int agent_store_reject(struct agent_store *s, uint64_t seq, const char *reason, char *err,
                       size_t errlen)
{
    char why[AGENT_STORE_REASON_MAX + 1];
    struct drop_batch b;
    uint64_t victims[AGENT_STORE_CHUNK];
    struct txn t;
    sqlite3_stmt *q;
    sqlite3_stmt *ins;
    int src;
    int rc;

    snprintf(why, sizeof(why), "%s", reason != NULL ? reason : "");
    rc = begin(s, &t, err, errlen);
    if (rc != MSG_OK) {
        goto out;
    }
    q = stmt(s, ST_GET_ROW);
    sqlite3_bind_int64(q, 1, (sqlite3_int64)(seq > MSG_SEQ_MAX ? 0 : seq));
    src = sqlite3_step(q);
    if (src != SQLITE_ROW) {
        sqlite3_reset(q);
        if (src == SQLITE_DONE) {
            snprintf(err, errlen, "agent store: reject seq %" PRIu64 ": not held", seq);
            rc = MSG_ERR_INVAL;
        } else {
            rc = db_fail(s, "reading a held reading", err, errlen);
        }
        goto out;
    }
    ins = stmt(s, ST_REJ_INSERT);
    sqlite3_bind_int64(ins, 1, (sqlite3_int64)seq);
    sqlite3_bind_int(ins, 2, sqlite3_column_int(q, 0));
    sqlite3_bind_int64(ins, 3, sqlite3_column_int64(q, 1));
    sqlite3_bind_int64(ins, 4, sqlite3_column_int64(q, 2));
    sqlite3_bind_int64(ins, 5, t.now.wall_ms);
    sqlite3_bind_int64(ins, 6, sqlite3_column_int64(q, 3));
    sqlite3_bind_text(ins, 7, why, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 8, sqlite3_column_int64(q, 4));
    sqlite3_bind_blob(ins, 9, sqlite3_column_blob(q, 5), sqlite3_column_bytes(q, 5),
                      SQLITE_TRANSIENT);
    sqlite3_reset(q);   /* after the copy: the blob belonged to q's row */
    rc = run(s, ST_REJ_INSERT, err, errlen);
    if (rc == MSG_OK) {
        rc = delete_seq(s, seq, err, errlen);
    }
    if (rc != MSG_OK) {
        goto out;
    }
    t.rejected = 1;
    log_msg(LOG_WARNING, "agent store: seq %" PRIu64 " moved to the rejected list: %s", seq,
            why);
    rc = reread(s, &t, err, errlen);
    if (rc != MSG_OK) {
        goto out;
    }
    /* The list is bounded: its oldest go, reported with reason rejected. */
    batch_init(&b, MSG_DROP_REJECTED);
    while (rc == MSG_OK && t.rejected_held > s->lim.max_rejected) {
        int64_t over = t.rejected_held - s->lim.max_rejected;
        size_t nv = 0;

        q = stmt(s, ST_REJ_OLDEST);
        sqlite3_bind_int64(q, 1, over < AGENT_STORE_CHUNK ? over : AGENT_STORE_CHUNK);
        while (nv < AGENT_STORE_CHUNK && sqlite3_step(q) == SQLITE_ROW) {
            victims[nv++] = (uint64_t)sqlite3_column_int64(q, 0);
        }
        sqlite3_reset(q);
        if (nv == 0) {
            break;
        }
        for (size_t i = 0; rc == MSG_OK && i < nv; i++) {
            if (!b.tried_merge && b.rs.n == 0) {
                rc = batch_merge(s, &t, &b, err, errlen);
            }
            if (rc == MSG_OK && !msg_rangeset_fits(&b.rs, victims[i], victims[i])) {
                rc = batch_flush(s, &t, &b, err, errlen);
            }
            if (rc == MSG_OK) {
                msg_rangeset_add(&b.rs, victims[i]);
                b.count++;
                t.dropped++;
                q = stmt(s, ST_REJ_DELETE);
                sqlite3_bind_int64(q, 1, (sqlite3_int64)victims[i]);
                rc = run(s, ST_REJ_DELETE, err, errlen);
            }
        }
        if (rc == MSG_OK) {
            rc = reread(s, &t, err, errlen);
        }
    }
    if (rc == MSG_OK) {
        rc = batch_flush(s, &t, &b, err, errlen);
    }
    if (rc == MSG_OK) {
        rc = enforce_limits(s, &t, err, errlen);   /* the `dropped` reading takes room too */
    }
    if (rc == MSG_OK) {
        rc = commit(s, &t, err, errlen);
    }
out:
    if (rc != MSG_OK) {
        rollback(s);
    }
    return rc;
}

int agent_store_expire(struct agent_store *s, int64_t now_ms, char *err, size_t errlen)
{
    struct txn t;
    int rc;

    if (s->lim.max_age_ms <= 0) {
        return MSG_OK;
    }
    rc = begin(s, &t, err, errlen);
    if (rc == MSG_OK) {
        rc = expire_txn(s, &t, now_ms - s->lim.max_age_ms, err, errlen);
    }
    if (rc == MSG_OK) {
        rc = enforce_limits(s, &t, err, errlen);
    }
    if (rc == MSG_OK) {
        rc = commit(s, &t, err, errlen);
    }
    if (rc != MSG_OK) {
        rollback(s);
    }
    return rc;
}

int agent_store_next_conn(struct agent_store *s, uint64_t *conn, char *err, size_t errlen)
{
    struct txn t;
    sqlite3_stmt *q;
    int rc;

    rc = begin(s, &t, err, errlen);
    if (rc == MSG_OK) {
        stmt(s, ST_NEXT_CONN);
        rc = run(s, ST_NEXT_CONN, err, errlen);
    }
    if (rc == MSG_OK) {
        q = stmt(s, ST_STATE);
        if (sqlite3_step(q) == SQLITE_ROW) {
            *conn = (uint64_t)sqlite3_column_int64(q, 4);
        } else {
            rc = db_fail(s, "reading the connection counter", err, errlen);
        }
        sqlite3_reset(q);
    }
    if (rc == MSG_OK) {
        rc = commit(s, &t, err, errlen);
    }
    if (rc != MSG_OK) {
        rollback(s);
    }
    return rc;
}

static uint64_t file_size(const char *path, const char *suffix)
{
    char p[4200];
    struct stat sb;

    snprintf(p, sizeof(p), "%s%s", path, suffix);
    if (stat(p, &sb) != 0) {
        return 0;
    }
    return (uint64_t)sb.st_size;
}

int agent_store_restore(struct agent_store *s, uint64_t epoch, int64_t from_ms, int64_t to_ms,
                        uint64_t *taken, char *err, size_t errlen)
{
    struct txn t;
    sqlite3_stmt *q;
    uint64_t n = 0;
    uint64_t seen;
    int rc;

    if (taken != NULL) {
        *taken = 0;
    }
    rc = begin(s, &t, err, errlen);
    if (rc != MSG_OK) {
        return rc;
    }
    q = stmt(s, ST_KEPT_STATE);
    if (sqlite3_step(q) != SQLITE_ROW) {
        sqlite3_reset(q);
        rc = db_fail(s, "reading the restore epoch", err, errlen);
        goto out;
    }
    seen = (uint64_t)sqlite3_column_int64(q, 2);
    sqlite3_reset(q);
    if (epoch <= seen) {
        rc = commit(s, &t, err, errlen);
        goto out;
    }
    q = stmt(s, ST_UNKEEP);
    sqlite3_bind_int64(q, 1, (sqlite3_int64)from_ms);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)to_ms);
    rc = run(s, ST_UNKEEP, err, errlen);
    if (rc != MSG_OK) {
        goto out;
    }
    n = (uint64_t)sqlite3_changes(s->db);
    q = stmt(s, ST_UNKEEP_DELETE);
    sqlite3_bind_int64(q, 1, (sqlite3_int64)from_ms);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)to_ms);
    rc = run(s, ST_UNKEEP_DELETE, err, errlen);
    if (rc != MSG_OK) {
        goto out;
    }
    q = stmt(s, ST_SET_EPOCH);
    sqlite3_bind_int64(q, 1, (sqlite3_int64)epoch);
    rc = run(s, ST_SET_EPOCH, err, errlen);
    if (rc == MSG_OK) {
        rc = commit(s, &t, err, errlen);
    }
out:
    if (rc != MSG_OK) {
        rollback(s);
    } else if (taken != NULL) {
        *taken = n;
    }
    return rc;
}

int agent_store_stats(struct agent_store *s, struct agent_store_stats *st, char *err,
                      size_t errlen)
{
    sqlite3_stmt *q;
    int rc = MSG_OK;

    memset(st, 0, sizeof(*st));
    q = stmt(s, ST_STATE);
    if (sqlite3_step(q) != SQLITE_ROW) {
        rc = db_fail(s, "reading the store state", err, errlen);
        sqlite3_reset(q);
        goto out;
    }
    st->last_seq = (uint64_t)sqlite3_column_int64(q, 0) - 1;
    st->held = (uint64_t)sqlite3_column_int64(q, 1);
    st->held_bytes = (uint64_t)sqlite3_column_int64(q, 2);
    st->conn = (uint64_t)sqlite3_column_int64(q, 4);
    st->dropped = (uint64_t)sqlite3_column_int64(q, 5);
    st->acked = (uint64_t)sqlite3_column_int64(q, 6);
    st->rejected = (uint64_t)sqlite3_column_int64(q, 7);
    st->rejected_held = (uint64_t)sqlite3_column_int64(q, 8);
    sqlite3_reset(q);
    q = stmt(s, ST_KEPT_STATE);
    if (sqlite3_step(q) == SQLITE_ROW) {
        st->kept = (uint64_t)sqlite3_column_int64(q, 0);
        st->kept_bytes = (uint64_t)sqlite3_column_int64(q, 1);
        st->restore_epoch = (uint64_t)sqlite3_column_int64(q, 2);
    }
    sqlite3_reset(q);
    q = stmt(s, ST_MIN_SEQ);
    if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL) {
        st->first_seq = (uint64_t)sqlite3_column_int64(q, 0);
    }
    sqlite3_reset(q);
    st->boot = s->boot;
    st->boot_current = s->boot_current;
    st->file_bytes = file_size(s->path, "") + file_size(s->path, "-wal");
out:
    return rc;
}
