/* sink_sql.h -- the SQL of pgsink.c, in one place, so that it can be read against schema/.
 *
 * Included by pgsink.c only. Three texts:
 *   sink_session_sql  run once per connection: the TEMP staging tables (ON COMMIT DELETE ROWS)
 *   sink_batch_stmts  the statements of one batch, after the COPYs into the staging tables
 *                     (pgsink.c joins those that the batch needs with ";")
 *   sink_dead_sql     the statement of a batch that holds dead letters only
 *
 * Staging columns (the COPY text that pgsink.c writes follows this order exactly):
 *   pantau_stage_reading  ord, stream, device_id, store_id, seq (NULL for status), ts,
 *                         clock_synced, replay, boot, mono_ms, content_sha256, payload (the raw
 *                         JSON as received, already validated by msg_event_parse), topic,
 *                         received_at, and for flood readings the members as parsed
 *                         (f_station, f_level_cm, f_discharge_m3s, f_distance_cm,
 *                         f_offset_cm, f_rise_cm_h, f_rain_mm, f_battery_v; NULL otherwise):
 *                         the flood insert, the bulk of the traffic, then parses no JSON
 *   pantau_stage_dead     ord, device_id, store_id, seq, stream, topic, payload (raw bytes),
 *                         payload_size, reason, detail, received_at, source (collector or
 *                         broker), dedup_key (deadkey.h), ledger (whether the reading gets a
 *                         ledger row with outcome dead_letter), and for such rows ts,
 *                         clock_synced, replay, boot, mono_ms, content_sha256; then category
 *                         (schema/010) and payload_sha256 (the whole payload's hash when the
 *                         broker gave it for a payload it cut, else NULL: SQL hashes a whole
 *                         payload itself)
 *
 * The session sets pantau.collector_id (a custom setting) for the dead letters' collector_id.
 *
 * Facts are read from the validated payload with jsonb operators. Integer members go through
 * numeric (`5.0` is a valid integer on the wire). Every statement that takes row locks another
 * collector may also want takes them in key order (ledger by (device, store, seq), incidents by
 * (station, event), status by device), so two collectors cannot deadlock. */
#ifndef SINK_SQL_H
#define SINK_SQL_H

static const char sink_session_sql[] =
    "SET statement_timeout = '120s';"
    "CREATE TEMP TABLE IF NOT EXISTS pantau_stage_reading ("
    " ord integer NOT NULL, stream text NOT NULL, device_id text NOT NULL,"
    " store_id uuid NOT NULL, seq bigint, ts timestamptz NOT NULL,"
    " clock_synced boolean NOT NULL, replay boolean NOT NULL, boot bigint, mono_ms bigint,"
    " content_sha256 bytea, payload text NOT NULL, topic text NOT NULL,"
    " received_at timestamptz NOT NULL, f_station text, f_level_cm float8,"
    " f_discharge_m3s float8, f_distance_cm float8, f_offset_cm float8, f_rise_cm_h float8,"
    " f_rain_mm float8, f_battery_v float8) ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS pantau_stage_dead ("
    " ord integer NOT NULL, device_id text, store_id uuid, seq bigint, stream text,"
    " topic text NOT NULL, payload bytea NOT NULL, payload_size integer NOT NULL,"
    " reason text NOT NULL, detail text, received_at timestamptz NOT NULL,"
    " source text NOT NULL, dedup_key bytea, ledger boolean NOT NULL, ts timestamptz,"
    " clock_synced boolean, replay boolean, boot bigint, mono_ms bigint, content_sha256 bytea,"
    " category text, payload_sha256 bytea)"
    " ON COMMIT DELETE ROWS;"
    /* (no index: the keys come from the ledger's RETURNING, unique already, and every
     * statement that reads them joins the whole batch, by hash; an index cost three more
     * blocks per reading to maintain and was never the better plan) */
    "CREATE TEMP TABLE IF NOT EXISTS pantau_stage_new ("
    " device_id text NOT NULL, store_id uuid NOT NULL, seq bigint NOT NULL)"
    " ON COMMIT DELETE ROWS";

/* The staged readings that the ledger took as new, with their payload as jsonb. */
#define SINK_NEW(stream)                                            \
    " FROM pantau_stage_reading s"                                  \
    " JOIN pantau_stage_new USING (device_id, store_id, seq)"       \
    " CROSS JOIN LATERAL (SELECT s.payload::jsonb AS d OFFSET 0) j" \
    " WHERE s.stream = '" stream "'"

#define SINK_DEAD_INSERT                                                                     \
    "INSERT INTO pantau_ops.dead_letter (received_at, topic, payload, payload_size, reason," \
    " detail, device_id, store_id, seq, stream, source, collector_id, dedup_key, category," \
    " payload_sha256)"

/* The ledger rows (outcome dead_letter) of the staged dead letters whose reading is known:
 * sorted by key, like the readings' */
#define SINK_LEDGER_DEAD_ROWS                                                                 \
    " SELECT device_id, store_id, seq, stream, ts, clock_synced, replay, boot, mono_ms,"    \
    " content_sha256, 'dead_letter' AS outcome, received_at FROM pantau_stage_dead WHERE ledger"

#define SINK_LEDGER_COLUMNS                                                                  \
    "INSERT INTO pantau.reading_ledger (device_id, store_id, seq, stream, ts, clock_synced," \
    " replay, boot, mono_ms, content_sha256, outcome, received_at)"

/* The ledger row of staged reading s, looked up by its key: OFFSET 0 keeps the subquery from
 * being pulled up into a join that the planner could run as a hash join over the whole ledger
 * (a sequential scan of every reading ever stored, per batch); only keys that were not new in
 * this batch (duplicates, clashes: few) are looked up at all. */
#define SINK_LEDGER_ROW                                                                      \
    "SELECT l.content_sha256, l.outcome FROM pantau.reading_ledger l"                       \
    " WHERE l.device_id = s.device_id AND l.store_id = s.store_id AND l.seq = s.seq OFFSET 0"

/* Every dead letter of the batch, clashes found here and those staged, in one statement
 * sorted by dedup_key (two collectors storing the same dead letter lock its key in the same
 * order) and stored once: ON CONFLICT DO NOTHING against dead_letter_dedup needs only INSERT
 * (schema/008). A clash's key is deadkey.h's keyed form over the canonical content_sha256. */
#define SINK_DEAD_ALL                                                                          \
    SINK_DEAD_INSERT                                                                           \
    " SELECT received_at, topic, payload, payload_size, reason, detail, device_id, store_id," \
    " seq, stream, source, current_setting('pantau.collector_id', true), dedup_key,"          \
    " category, payload_sha256 FROM ("                                                        \
    "SELECT s.received_at, s.topic, convert_to(s.payload, 'UTF8') AS payload,"               \
    " octet_length(convert_to(s.payload, 'UTF8')) AS payload_size, 'clash' AS reason,"       \
    " 'stored before with other content (content_sha256 ' || encode(l.content_sha256, 'hex')" \
    " || ', this one ' || encode(s.content_sha256, 'hex') || ')' AS detail,"                 \
    " s.device_id, s.store_id, s.seq, s.stream, 'collector' AS source,"                      \
    " sha256(convert_to('key:' || s.device_id || '/' || s.store_id || '/' || s.seq || ':',"  \
    " 'UTF8') || s.content_sha256) AS dedup_key, 'clash' AS category,"                      \
    " sha256(convert_to(s.payload, 'UTF8')) AS payload_sha256"                                \
    " FROM (SELECT * FROM pantau_stage_reading s WHERE s.seq IS NOT NULL"                    \
    "  AND NOT EXISTS (SELECT 1 FROM pantau_stage_new n WHERE n.device_id = s.device_id"     \
    "  AND n.store_id = s.store_id AND n.seq = s.seq) OFFSET 0) s"                           \
    " CROSS JOIN LATERAL (" SINK_LEDGER_ROW ") l"                                            \
    " WHERE l.content_sha256 <> s.content_sha256"                                            \
    " UNION ALL"                                                                             \
    " SELECT d.received_at, d.topic, d.payload, d.payload_size, d.reason, d.detail,"         \
    " d.device_id, d.store_id, d.seq, d.stream, d.source, d.dedup_key, d.category,"          \
    " CASE WHEN d.payload_sha256 IS NOT NULL THEN d.payload_sha256"                           \
    " WHEN octet_length(d.payload) = d.payload_size THEN sha256(d.payload) END"              \
    " FROM pantau_stage_dead d) x"                                                           \
    " ORDER BY dedup_key, received_at ON CONFLICT DO NOTHING"

/* A statement of a batch and what it needs: it runs only when the batch holds a row that it
 * can touch (0: always). A flood-only batch so skips the six statements of the other
 * streams, the two of status and the unsynced-clock correction: PostgreSQL would plan and run each
 * of them (a scan of the staging table) for nothing, about a tenth of its time per batch. */
#define SINK_NEED(stream) (1u << (stream)) /* a new row of that stream (msg_event.h) */
#define SINK_NEED_UNSYNCED (1u << 16)      /* a reading with clock_synced false, boot, mono_ms */
#define SINK_NEED_SYNCED (1u << 17)        /* a reading with clock_synced true, boot, mono_ms */

struct sink_stmt {
    unsigned need; /* SINK_NEED* bits, any of which makes the statement run; 0: always */
    const char *sql;
};

/* clang-format off */
static const struct sink_stmt sink_batch_stmts[] = {
    {0,
    /* 1. the ledger: the authority for "stored once" */
    /* (with the dead letters' ledger rows in the same key order; a valid copy of a key
     * comes before a dead one, so it is the one stored) */
    "WITH ins AS (" SINK_LEDGER_COLUMNS
    " SELECT * FROM (SELECT device_id, store_id, seq, stream, ts, clock_synced, replay, boot,"
    "  mono_ms, content_sha256, 'stored' AS outcome, received_at"
    "  FROM pantau_stage_reading WHERE seq IS NOT NULL"
    "  UNION ALL" SINK_LEDGER_DEAD_ROWS ") k"
    " ORDER BY device_id, store_id, seq, outcome DESC"
    " ON CONFLICT DO NOTHING"
    " RETURNING device_id, store_id, seq, outcome)"
    " INSERT INTO pantau_stage_new SELECT device_id, store_id, seq FROM ins"
    " WHERE outcome = 'stored'"},
    {SINK_NEED(MSG_STREAM_FLOOD),
    /* 2. facts of the new readings */
    "INSERT INTO pantau.flood_reading (device_id, store_id, seq, station_id, ts, level_cm,"
    " discharge_m3s, distance_cm, offset_cm, rise_cm_h, rain_mm, battery_v)"
    " SELECT s.device_id, s.store_id, s.seq, s.f_station, s.ts, s.f_level_cm,"
    " s.f_discharge_m3s, s.f_distance_cm, s.f_offset_cm, s.f_rise_cm_h, s.f_rain_mm,"
    " s.f_battery_v"
    " FROM pantau_stage_reading s JOIN pantau_stage_new USING (device_id, store_id, seq)"
    " WHERE s.stream = 'flood'"},
    {SINK_NEED(MSG_STREAM_TRAFFIC),
    "INSERT INTO pantau.traffic_count (device_id, store_id, seq, station_id, ts, interval_s,"
    " lane, motorcycle, car, bus, truck, nonmotor, speed_kmh, occupancy_pct, queue_m)"
    " SELECT s.device_id, s.store_id, s.seq, d->>'station', s.ts,"
    " (d->>'interval_s')::numeric::int, d->>'lane',"
    " (d#>>'{counts,motorcycle}')::numeric::int, (d#>>'{counts,car}')::numeric::int,"
    " (d#>>'{counts,bus}')::numeric::int, (d#>>'{counts,truck}')::numeric::int,"
    " (d#>>'{counts,nonmotor}')::numeric::int, (d->>'speed_kmh')::float8,"
    " (d->>'occupancy_pct')::float8, (d->>'queue_m')::float8"
    SINK_NEW("traffic")},
    {SINK_NEED(MSG_STREAM_INCIDENT),
    "INSERT INTO pantau.incident_update (device_id, store_id, seq, station_id, event_id,"
    " state, type, start_at, end_at, confidence, snapshot, lane, ts)"
    " SELECT s.device_id, s.store_id, s.seq, d->>'station', d->>'event', d->>'state',"
    " d->>'type', (d->>'start')::timestamptz, (d->>'end')::timestamptz,"
    " (d->>'confidence')::float8, d->>'snapshot', d->>'lane', s.ts"
    SINK_NEW("incident")},
    /* the incident's current state: newest by (ts, seq) wins, whatever the arrival order */
    {SINK_NEED(MSG_STREAM_INCIDENT),
    "INSERT INTO pantau.incident AS i (station_id, event_id, state, type, start_at, end_at,"
    " confidence, snapshot, lane, ts, seq, device_id, store_id, updated_at)"
    " SELECT DISTINCT ON (d->>'station', d->>'event') d->>'station', d->>'event',"
    " d->>'state', d->>'type', (d->>'start')::timestamptz, (d->>'end')::timestamptz,"
    " (d->>'confidence')::float8, d->>'snapshot', d->>'lane', s.ts, s.seq, s.device_id,"
    " s.store_id, now()"
    SINK_NEW("incident")
    " ORDER BY d->>'station', d->>'event', s.ts DESC, s.seq DESC"
    " ON CONFLICT (station_id, event_id) DO UPDATE SET state = excluded.state,"
    " type = excluded.type, start_at = excluded.start_at, end_at = excluded.end_at,"
    " confidence = excluded.confidence, snapshot = excluded.snapshot, lane = excluded.lane,"
    " ts = excluded.ts, seq = excluded.seq, device_id = excluded.device_id,"
    " store_id = excluded.store_id, updated_at = excluded.updated_at"
    " WHERE (excluded.ts, excluded.seq) > (i.ts, i.seq)"},
    {SINK_NEED(MSG_STREAM_LARVA),
    "INSERT INTO pantau_pii.larva_inspection (device_id, store_id, seq, ts, inspector,"
    " building, kelurahan, rw, rt, address, lat, lon, larvae_found, actions, note)"
    " SELECT s.device_id, s.store_id, s.seq, s.ts, d->>'inspector', d->>'building',"
    " d->>'kelurahan', (d->>'rw')::numeric::int, (d->>'rt')::numeric::int, d->>'address',"
    " (d->>'lat')::float8, (d->>'lon')::float8, (d->>'larvae_found')::boolean,"
    " CASE WHEN d ? 'actions' THEN ARRAY(SELECT jsonb_array_elements_text(d->'actions'))"
    " END, d->>'note'"
    SINK_NEW("larva")},
    {SINK_NEED(MSG_STREAM_LARVA),
    "INSERT INTO pantau.larva_container (device_id, store_id, seq, ts, type, location,"
    " inspected, positive)"
    " SELECT s.device_id, s.store_id, s.seq, s.ts, c->>'type', c->>'location',"
    " (c->>'inspected')::numeric::int, (c->>'positive')::numeric::int"
    " FROM pantau_stage_reading s JOIN pantau_stage_new USING (device_id, store_id, seq)"
    " CROSS JOIN LATERAL (SELECT s.payload::jsonb AS d OFFSET 0) j"
    " CROSS JOIN LATERAL jsonb_array_elements(d->'containers') c"
    " WHERE s.stream = 'larva'"},
    {SINK_NEED(MSG_STREAM_DROPPED),
    "INSERT INTO pantau.dropped_range (device_id, store_id, seq, first_seq, last_seq, reason)"
    " SELECT s.device_id, s.store_id, s.seq, (r->>0)::numeric::bigint,"
    " (r->>1)::numeric::bigint, d->>'reason'"
    " FROM pantau_stage_reading s JOIN pantau_stage_new USING (device_id, store_id, seq)"
    " CROSS JOIN LATERAL (SELECT s.payload::jsonb AS d OFFSET 0) j"
    " CROSS JOIN LATERAL jsonb_array_elements(d->'ranges') r"
    " WHERE s.stream = 'dropped'"},
    /* 3. time correction (protocol.md 4.1): an unsynced reading with boot and mono_ms gets
     * ts(synced) - mono_ms(synced) + mono_ms(this) from a synced reading of the same device,
     * store and boot. New unsynced readings look for one (this batch's included) ... */
    {SINK_NEED_UNSYNCED,
    "UPDATE pantau.reading_ledger l"
    " SET ts_corrected = ref.ts + (s.mono_ms - ref.mono_ms) * interval '1 millisecond'"
    " FROM pantau_stage_reading s JOIN pantau_stage_new USING (device_id, store_id, seq)"
    " CROSS JOIN LATERAL (SELECT r.ts, r.mono_ms FROM pantau.reading_ledger r"
    "  WHERE r.device_id = s.device_id AND r.store_id = s.store_id AND r.boot = s.boot"
    "  AND r.clock_synced AND r.mono_ms IS NOT NULL AND r.outcome = 'stored' LIMIT 1) ref"
    " WHERE NOT s.clock_synced AND s.boot IS NOT NULL AND s.mono_ms IS NOT NULL"
    " AND l.device_id = s.device_id AND l.store_id = s.store_id AND l.seq = s.seq"},
    /* ... and a new synced reading corrects the older unsynced ones of its boot (rows another
     * collector is correcting at this moment are skipped, not waited for) */
    /* (the EXISTS is a one-time filter: while no reading anywhere waits for a correction, one
     * probe of reading_ledger_uncorrected skips the whole statement, instead of a probe per
     * boot of the batch; while any reading waits, it runs as it always did: issue 15) */
    {SINK_NEED_SYNCED,
    "WITH ref AS (SELECT DISTINCT ON (s.device_id, s.store_id, s.boot) s.device_id,"
    "  s.store_id, s.boot, s.ts, s.mono_ms"
    "  FROM pantau_stage_reading s JOIN pantau_stage_new USING (device_id, store_id, seq)"
    "  WHERE s.clock_synced AND s.boot IS NOT NULL AND s.mono_ms IS NOT NULL"
    "  AND EXISTS (SELECT 1 FROM pantau.reading_ledger w WHERE NOT w.clock_synced"
    "  AND w.ts_corrected IS NULL AND w.mono_ms IS NOT NULL)"
    "  ORDER BY s.device_id, s.store_id, s.boot, s.seq),"
    /* (the unsynced, uncorrected rows of a boot: the partial index reading_ledger_uncorrected
     * of schema/008, so a device that is always synced costs one empty probe, not a scan of
     * its boot's history) */
    " todo AS (SELECT u.device_id, u.store_id, u.seq, ref.ts, ref.mono_ms AS ref_mono"
    "  FROM ref CROSS JOIN LATERAL (SELECT l.device_id, l.store_id, l.seq"
    "  FROM pantau.reading_ledger l WHERE l.device_id = ref.device_id"
    "  AND l.store_id = ref.store_id AND l.boot = ref.boot"
    "  AND NOT l.clock_synced AND l.mono_ms IS NOT NULL AND l.ts_corrected IS NULL"
    "  AND l.outcome = 'stored' ORDER BY l.seq FOR UPDATE OF l SKIP LOCKED) u)"
    " UPDATE pantau.reading_ledger l"
    " SET ts_corrected = todo.ts + (l.mono_ms - todo.ref_mono) * interval '1 millisecond'"
    " FROM todo WHERE l.device_id = todo.device_id AND l.store_id = todo.store_id"
    " AND l.seq = todo.seq"},
    /* 4. device status (protocol.md 5): history once per (device, conn, state); the current
     * state only moves forward: higher conn wins, and at the same conn offline wins. A device
     * publishes its birth again during a connection when its backlog or counters change: the
     * same (conn, state) then updates the counters (the later arrival is the newer message:
     * one client's messages on one topic arrive in order). */
    {SINK_NEED(MSG_STREAM_STATUS),
    "INSERT INTO pantau.device_status_history (device_id, conn, state, store_id, ts,"
    " clock_synced, agent, backlog, rejected, dropped, stations, received_at)"
    " SELECT s.device_id, (d->>'conn')::numeric::bigint, d->>'state', s.store_id, s.ts,"
    " s.clock_synced, d->>'agent', (d->>'backlog')::numeric::bigint,"
    " (d->>'rejected')::numeric::bigint, (d->>'dropped')::numeric::bigint, d->'stations',"
    " s.received_at"
    " FROM pantau_stage_reading s CROSS JOIN LATERAL (SELECT s.payload::jsonb AS d OFFSET 0) j"
    " WHERE s.stream = 'status'"
    " ORDER BY s.device_id, 2, 3 ON CONFLICT DO NOTHING"},
    {SINK_NEED(MSG_STREAM_STATUS),
    "INSERT INTO pantau.device_status AS ds (device_id, state, conn, store_id, ts, clock_synced,"
    " agent, backlog, rejected, dropped, stations, updated_at)"
    " SELECT DISTINCT ON (s.device_id) s.device_id, d->>'state',"
    " (d->>'conn')::numeric::bigint, s.store_id, s.ts, s.clock_synced, d->>'agent',"
    " (d->>'backlog')::numeric::bigint, (d->>'rejected')::numeric::bigint,"
    " (d->>'dropped')::numeric::bigint, d->'stations', s.received_at"
    " FROM pantau_stage_reading s CROSS JOIN LATERAL (SELECT s.payload::jsonb AS d OFFSET 0) j"
    " WHERE s.stream = 'status'"
    " ORDER BY s.device_id, (d->>'conn')::numeric DESC, (d->>'state' = 'offline') DESC,"
    " s.received_at DESC"
    " ON CONFLICT (device_id) DO UPDATE SET state = excluded.state, conn = excluded.conn,"
    " store_id = excluded.store_id, ts = excluded.ts, clock_synced = excluded.clock_synced,"
    " agent = excluded.agent, backlog = excluded.backlog, rejected = excluded.rejected,"
    " dropped = excluded.dropped, stations = excluded.stations,"
    " updated_at = excluded.updated_at"
    " WHERE (excluded.conn, excluded.state = 'offline', excluded.updated_at)"
    " >= (ds.conn, ds.state = 'offline', ds.updated_at)"},
    /* 5. and 6. the dead letters: clashes (a key stored before with other content) and those
     * found before the database */
    {0, SINK_DEAD_ALL},
    {0,
    /* 7. how each staged reading fared: n new, d duplicate, x dead letter before (same
     * content, settled in the ledger as dead_letter: acknowledged as dead again), c clash
     * with a stored reading, k clash with a reading settled as dead_letter (no copy stored) */
    "SELECT s.ord, CASE WHEN n.seq IS NOT NULL THEN 'n'"
    " WHEN l.content_sha256 = s.content_sha256 AND l.outcome = 'dead_letter' THEN 'x'"
    " WHEN l.content_sha256 = s.content_sha256 THEN 'd'"
    " WHEN l.outcome = 'dead_letter' THEN 'k' ELSE 'c' END"
    " FROM pantau_stage_reading s"
    " LEFT JOIN pantau_stage_new n USING (device_id, store_id, seq)"
    " LEFT JOIN LATERAL (SELECT l.content_sha256, l.outcome FROM pantau.reading_ledger l"
    "  WHERE n.seq IS NULL AND l.device_id = s.device_id AND l.store_id = s.store_id"
    "  AND l.seq = s.seq OFFSET 0) l ON true"
    " WHERE s.seq IS NOT NULL"}};

/* Redrive (redrive.h, schema/011): in a batch of redriven dead letters only, run after the
 * COPY and before the ledger statement, the staged readings' ledger rows that say dead_letter
 * become stored with the envelope and content of the copy now stored, and their keys count as
 * new, so the facts statements store them as any new reading (the ledger insert then finds
 * the key taken and adds nothing). A key already stored is left alone: it is a duplicate or
 * a clash as in any batch, never stored twice. */
static const char sink_redrive_pre_sql[] =
    "WITH up AS (UPDATE pantau.reading_ledger l SET outcome = 'stored', ts = s.ts,"
    " clock_synced = s.clock_synced, replay = s.replay, boot = s.boot, mono_ms = s.mono_ms,"
    " content_sha256 = s.content_sha256, stored_at = now()"
    " FROM pantau_stage_reading s"
    " WHERE s.seq IS NOT NULL AND l.device_id = s.device_id AND l.store_id = s.store_id"
    " AND l.seq = s.seq AND l.outcome = 'dead_letter'"
    " RETURNING l.device_id, l.store_id, l.seq)"
    " INSERT INTO pantau_stage_new SELECT device_id, store_id, seq FROM up";

/* ... and last, the dead letter of each staged reading whose content the ledger now says is
 * stored (now, or before: a duplicate) is marked as redriven by the request (a printf format:
 * the request id); another content under the key (a clash, or a second refused content)
 * stays what it is */
#define SINK_REDRIVE_POST_FMT                                                                 \
    "UPDATE pantau_ops.dead_letter d SET redriven_at = now(), redrive_request = %lld"        \
    " FROM pantau_stage_reading s JOIN pantau.reading_ledger l"                              \
    " ON l.device_id = s.device_id AND l.store_id = s.store_id AND l.seq = s.seq"           \
    " AND l.outcome = 'stored' AND l.content_sha256 = s.content_sha256"                     \
    " WHERE d.device_id = s.device_id AND d.store_id = s.store_id AND d.seq = s.seq"        \
    " AND d.payload = convert_to(s.payload, 'UTF8') AND d.redriven_at IS NULL"              \
    " AND d.category IN ('topic', 'station', 'identity', 'db')"

static const char sink_dead_sql[] =
    SINK_LEDGER_COLUMNS SINK_LEDGER_DEAD_ROWS
    " ORDER BY device_id, store_id, seq ON CONFLICT DO NOTHING;"
    SINK_DEAD_ALL;
/* clang-format on */

#endif
