/* agent_store.h -- the edge agent's durable store: every reading from the moment it is taken
 * until the collector's commit acknowledgement covers it (protocol.md section 11).
 *
 * One SQLite database file (Debian's libsqlite3) in the agent's state directory, in WAL mode
 * with synchronous=FULL, so that a reading whose append returned MSG_OK survives a power cut,
 * not only a crash. Each call is one transaction: an append of several readings, or an
 * acknowledgement of many ranges, costs one fsync, not one per reading.
 *
 * The store owns the identity of what it holds:
 * - its store id, a random lower-case UUID made when the file is created (a new SD card, a
 *   deleted file: a new store id, and seq starts again at 1);
 * - the sequence numbers: strictly increasing, never reused, also after a crash or a power cut
 *   (the next seq is kept in the same transaction as the rows that use it);
 * - the boot counter, which counts system boots, not process starts: the store keeps the
 *   kernel's boot id (/proc/sys/kernel/random/boot_id), and an agent_store_open with
 *   count_boot true that finds a different one increments the counter (the first counted boot
 *   is 1). Readings taken in this boot carry it with mono_ms, milliseconds since that boot
 *   (agent_clock.h, CLOCK_BOOTTIME), so that the collector can correct an unsynchronised
 *   clock (protocol.md 4.1). Each held reading also keeps the boot and the time since boot at
 *   which it was stored, beside the wall clock, so that how long it has been held (a send's
 *   `replay`) survives a step of the wall clock such as the first synchronisation after a
 *   boot (agent_store_row's held);
 * - the connection counter (agent_store_next_conn, durably, before every connection attempt).
 *
 * It is bounded by a number of readings, a size in bytes and an age: an append that would go
 * over drops the oldest readings first, and in the same transaction appends a `dropped`
 * reading (protocol.md 4.6, reason store_full or max_age) listing their sequence numbers, so
 * that a drop is never silent and never lost. Dropped readings are counted (agent_store_stats).
 * When it must drop, it drops 1 % of the limit more than it needs (a full store then makes a
 * `dropped` reading every hundredth of its size, not one per append). The store's own
 * `dropped` readings are kept in preference to ordinary ones and never expire. One that no
 * scan of the agent (the process that opened with count_boot) has handed out yet, or that was
 * handed out but not marked sent within a minute (the agent is offline), is replaced by the
 * next one, which lists its ranges and its own seq too,
 * so that a full store offline for weeks holds a few `dropped` readings, not thousands.
 * Readings in flight are not dropped nor replaced: a reading that a scan of this handle handed
 * out less than merge_after_ms ago may be at the collector already, and must not be reported
 * dropped too; and they give the store room over its limits while they are out (one reading
 * each, up to 1,024, and a tenth of its bytes), so that a full store sending its backlog does
 * not drop its newest readings to keep the ones about to be acknowledged. Past that room the
 * oldest go, in flight or not. Readings taken with an unsynchronised
 * clock (clock_synced false) are never dropped by age, only by the count and size limits.
 * The file stays bounded as well: free pages are reused, released when they pile up
 * (auto_vacuum=INCREMENTAL), and the WAL is truncated after checkpoints.
 *
 * Readings the broker refused for good (protocol.md 7.3) move to a bounded list of rejected
 * readings (agent_store_reject); when that list overflows, its oldest are dropped and reported
 * with reason `rejected`. An acknowledgement that covers a rejected reading (the collector
 * stored it as a dead letter) removes it from that list too.
 *
 * Acknowledged readings can be kept for a while (keep_acked_ms), for a restore of the
 * collector's database to a point in time, which loses what was committed after that point:
 * protocol.md 6.3. An acknowledgement then moves a reading to a list of kept ones instead of
 * deleting it. Kept readings are not held: not scanned, not counted in held or the backlog,
 * never dropped nor reported dropped (they are stored). They go when their window is over,
 * and first, oldest first, when held and kept together are over max_readings or max_bytes: a
 * held reading never makes room for a kept one. agent_store_restore takes those the restore
 * may have lost back into the held readings.
 *
 * A file of an older schema version is upgraded in place when it is opened (its readings kept;
 * what older rows did not record counts as unknown); a newer one is refused.
 *
 * A file that SQLite finds damaged when it is opened (SQLITE_CORRUPT, SQLITE_NOTADB, or a
 * failing quick_check) is moved aside as `<path>.corrupt-<UTC time>` (with its WAL), logged,
 * and replaced by a new store with a new store id: the agent keeps working.
 *
 * Not thread-safe by itself: one call at a time on a handle, like the SQLite connection it
 * wraps (and a scan's fn must not call the store: the scan's statement is still running). The
 * one place that shares a handle between threads, the agent's engine (its source threads append
 * through emit while the engine scans, marks and deletes), serialises every call with its own
 * store_lock, which also makes an append and the bookkeeping that goes with it one step
 * (agent_int.h). Separate handles, in threads or in processes (`report`), need no lock of ours:
 * SQLite's file locking and the busy timeout order them.
 *
 * Several processes may open the same file: `pantau-agent report` appends a Jumantik
 * inspection while the agent runs (SQLite's locking, with a busy timeout). The running agent
 * sees such rows through agent_store_scan.
 *
 * Not for: MQTT, the window of readings in flight, replay policy (the engine decides what to send
 * when; the store only keeps and hands out rows). */
#ifndef AGENT_STORE_H
#define AGENT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent_clock.h"
#include "msg_event.h"
#include "msg_history.h"
#include "msg_range.h"

struct agent_store;

struct agent_store_limits {
    int64_t max_readings;   /* readings held (not counting rejected ones); > 0 */
    int64_t max_bytes;      /* payload bytes held; > 0 */
    int64_t max_age_ms;     /* readings taken longer ago than this are dropped; 0: no limit */
    int64_t max_rejected;   /* rejected readings kept; > 0 */
    int64_t keep_acked_ms;  /* acknowledged readings are kept this long after their
                             * acknowledgement, for a restore of the database (see above);
                             * 0: none are kept from now on */
};

/* One held reading, as agent_store_scan hands it out. */
struct agent_store_row {
    uint64_t seq;
    enum msg_stream stream;
    int64_t ts_ms;          /* when it was taken (the envelope's ts) */
    int64_t stored_ms;      /* wall-clock ms when it was appended */
    struct msg_history_held held;   /* how long it has been held at this scan, by the wall
                                     * clock and, if it was stored in this boot, by the time
                                     * since boot (CLOCK_BOOTTIME, immune to clock steps):
                                     * for msg_history_replay_held, the send's `replay` */
    uint64_t sends;         /* times it was published so far (agent_store_mark_sent) */
    const char *payload;    /* the payload as encoded at append time (replay false); borrowed,
                             * valid only during the callback */
    size_t payload_len;
};

struct agent_store_stats {
    uint64_t held;          /* readings held, not yet acknowledged */
    uint64_t held_bytes;    /* their payload bytes */
    uint64_t first_seq;     /* oldest held seq, 0 if none */
    uint64_t last_seq;      /* last seq assigned, 0 if none */
    uint64_t rejected;      /* readings moved to the rejected list, in total */
    uint64_t rejected_held; /* of which still in the list */
    uint64_t dropped;       /* seqs the store has reported as dropped, in total: ordinary
                             * readings dropped (store_full, max_age, rejected) and its own
                             * `dropped` readings replaced by a later one (whose ranges list
                             * their seqs); so the number of seqs in the ranges of all its
                             * `dropped` readings, held or sent. Kept in the file. */
    uint64_t acked;         /* readings deleted on acknowledgement, in total */
    uint64_t boot;          /* this process's boot counter */
    uint64_t conn;          /* the last connection counter handed out */
    /* added for the engine and `report` (not in the first version of this header): */
    bool boot_current;      /* boot is this system boot's (the stored boot id is the kernel's):
                             * readings may carry boot and mono_ms */
    uint64_t file_bytes;    /* the database file and its WAL on disk, bytes */
    /* added for restores (protocol.md 6.3): */
    uint64_t kept;          /* acknowledged readings kept (not held, not sent) */
    uint64_t kept_bytes;    /* their payload bytes */
    uint64_t restore_epoch; /* the last restore acted on (agent_store_restore); 0: none */
};

/* What agent_store_open_opts takes beyond agent_store_open's arguments. */
struct agent_store_options {
    struct agent_store_limits limits;
    bool count_boot;                  /* as agent_store_open's */
    enum agent_clock_sync clock_sync; /* clock_synced of the store's own `dropped` readings,
                                       * and whether append may expire by age (only with a
                                       * synchronised clock) */
    const char *boot_id;              /* borrowed for the call; NULL: the kernel's (tests set
                                       * their own) */
    int busy_timeout_ms;              /* waiting for another process's lock; 0: 5000 */
    int64_t merge_after_ms;           /* a reading handed out by a scan is in flight this
                                       * long (not dropped); an own `dropped` reading not
                                       * marked sent this long after it was made may be
                                       * replaced; 0: 60000 */
};

/* Opens (or creates, with a new store id) the store at path (borrowed). Returns MSG_OK with
 * *out set (caller frees with agent_store_close), or MSG_ERR_IO / MSG_ERR_DB with err naming
 * the file and SQLite's reason. count_boot: true in the agent (counts a new system boot, see
 * above), false for `pantau-agent report` and tools. A damaged file is moved aside and
 * replaced (see above): that open returns MSG_OK with a new store id. */
int agent_store_open(const char *path, const struct agent_store_limits *lim, bool count_boot,
                     struct agent_store **out, char *err, size_t errlen);

/* agent_store_open with options (opt borrowed): the same results. agent_store_open is this
 * with clock_sync AGENT_CLOCK_AUTO, the kernel's boot id and the default busy timeout. */
int agent_store_open_opts(const char *path, const struct agent_store_options *opt,
                          struct agent_store **out, char *err, size_t errlen);

/* Closes the store; NULL is a no-op. */
void agent_store_close(struct agent_store *s);

/* The store id (static for the store's lifetime, 36 characters). */
const char *agent_store_id(const struct agent_store *s);

/* Appends n readings in one transaction. For each, the store fills evs[i].env.store_id and
 * evs[i].env.seq (the caller filled the rest of the envelope and the body), encodes it with
 * msg_event_encode (replay false) and keeps the payload. Drops the oldest readings first if
 * the limits need it (see above). Returns MSG_OK (all durable), MSG_ERR_FULL (a single payload
 * larger than max_bytes), MSG_ERR_INVAL, or MSG_ERR_DB (nothing was written). */
int agent_store_append(struct agent_store *s, struct msg_event *evs, size_t n, char *err,
                       size_t errlen);

/* Calls fn for up to max held readings with seq > after_seq, in ascending seq order; fn
 * returns false to stop early. Returns MSG_OK or MSG_ERR_DB. Rows are borrowed during fn,
 * which must not call the store (its statement is still running). */
typedef bool (*agent_store_row_fn)(void *ctx, const struct agent_store_row *row);
int agent_store_scan(struct agent_store *s, uint64_t after_seq, size_t max, agent_store_row_fn fn,
                     void *ctx, char *err, size_t errlen);

/* The same for the newest: up to max held readings with seq > after_seq, in descending seq
 * order (live readings go out before the backlog). */
int agent_store_scan_newest(struct agent_store *s, uint64_t after_seq, size_t max,
                            agent_store_row_fn fn, void *ctx, char *err, size_t errlen);

/* Records that these seqs were published once more (n of them, one transaction; for the
 * replay flag and the counters). Returns MSG_OK or MSG_ERR_DB. */
int agent_store_mark_sent(struct agent_store *s, const uint64_t *seqs, size_t n, char *err,
                          size_t errlen);

/* Deletes every held reading that the ranges cover (n ranges of an acknowledgement for this
 * store, borrowed; ranges covering nothing held are ignored), in one transaction. *deleted
 * (may be NULL) gets how many were deleted. Returns MSG_OK or MSG_ERR_DB. */
int agent_store_ack(struct agent_store *s, const struct msg_range *ranges, size_t n,
                    uint64_t *deleted, char *err, size_t errlen);

/* A restore of the database (protocol.md 6.3), once per epoch: if epoch is greater than the
 * last one acted on, takes back into the held readings every kept reading acknowledged from
 * from_ms to to_ms (the wall clock at its acknowledgement), and every kept reading whose
 * acknowledgement time came from an unsynchronised clock, and records epoch, in one
 * transaction. They are held again as they were (the same payload, sends 1, when they were
 * stored), so the engine sends them with the backlog. *taken (may be NULL) gets how many.
 * An epoch not above the last: nothing, *taken 0. Returns MSG_OK or MSG_ERR_DB. */
int agent_store_restore(struct agent_store *s, uint64_t epoch, int64_t from_ms, int64_t to_ms,
                        uint64_t *taken, char *err, size_t errlen);

/* Moves the held reading seq to the rejected list with reason (borrowed text), dropping the
 * list's oldest (and appending a `dropped` reading with reason rejected) if it is full.
 * Returns MSG_OK, MSG_ERR_INVAL (seq not held) or MSG_ERR_DB. */
int agent_store_reject(struct agent_store *s, uint64_t seq, const char *reason, char *err,
                       size_t errlen);

/* Drops held readings taken before now_ms - max_age_ms (reported as a `dropped` reading with
 * reason max_age). The agent calls it now and then; append applies it too. */
int agent_store_expire(struct agent_store *s, int64_t now_ms, char *err, size_t errlen);

/* Increments the connection counter durably and returns the new value in *conn (before every
 * connection attempt: protocol.md section 5). Returns MSG_OK or MSG_ERR_DB. */
int agent_store_next_conn(struct agent_store *s, uint64_t *conn, char *err, size_t errlen);

/* Gives back the page cache's unused pages (sqlite3_db_release_memory): for the agent once a
 * big scan is over (a replay), so that the cache of a 100,000-reading backlog does not stay
 * resident; the cache fills again (up to 512 KiB) as it is used. Cannot fail. */
void agent_store_shrink(struct agent_store *s);

/* Fills *st. Returns MSG_OK or MSG_ERR_DB. */
int agent_store_stats(struct agent_store *s, struct agent_store_stats *st, char *err,
                      size_t errlen);

#endif
