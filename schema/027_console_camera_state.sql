-- 027_console_camera_state: the cameras' hour kept at ingest, so that the console's map
-- (pantau_console.map, GET /api/map) reads 500 cameras' state in a few milliseconds
-- (docs/benchmarks.md, "Console: the map's first render and commit to screen").
--
-- 022's cameras_now(at) found every camera's counts of the hour before `at` with one index range
-- per camera on pantau.traffic_count and one ledger lookup per count (for its best time): 500
-- ranges and about 4,000 lookups per call, 0.25 to 1.5 s of the map's time on this machine. Here
-- the collector's own transaction keeps two small tables, as 013's gauge_state is kept for the
-- gauges:
--   camera_recent  every count whose best time is within the last 2 hours (a few per camera),
--                  with its best time, so an hour is a scan of a few thousand rows;
--   camera_state   one row per camera: its latest count by reported time and the end of that
--                  count's interval by best time (a silent camera's "no data since ...").
-- Triggers (statement level, SECURITY DEFINER: pantau_ingest has no rights here) on
-- INSERT INTO pantau.traffic_count and on a ts_corrected set later on pantau.reading_ledger
-- keep both; counts that arrive with a best time older than 2 hours (a replayed backlog) are
-- only considered for camera_state. cameras_now(at) reads them when `at` is within the last
-- hour (every caller passes now()); for an older `at` it runs 022's scan, kept as
-- cameras_scan(at) (tests/integration/test_console_views_sql.py compares the two).
--
-- Commit to screen (console/README.md, "Live updates"): pantau_console.map_stations(who, ids)
-- answers GET /api/map?stations=a,b with those stations alone (the same json as map()'s
-- `stations`), for a page that knows which stations changed.

-- ---- the tables -------------------------------------------------------------------------------------

CREATE TABLE pantau_console.camera_recent (
    device_id text NOT NULL,
    store_id uuid NOT NULL,
    seq bigint NOT NULL,
    station_id text NOT NULL,
    ts timestamptz NOT NULL,
    best timestamptz NOT NULL,
    interval_s integer NOT NULL,
    lane text NOT NULL,
    motorcycle integer,
    car integer,
    bus integer,
    truck integer,
    speed_kmh double precision,
    PRIMARY KEY (device_id, store_id, seq)
);
CREATE INDEX camera_recent_station_best ON pantau_console.camera_recent (station_id, best);
CREATE INDEX camera_recent_best ON pantau_console.camera_recent (best);
COMMENT ON TABLE pantau_console.camera_recent IS 'A traffic count whose best time is within the last 2 hours (kept by triggers at ingest, 027): what cameras_now() reads for the map and traffic views';
COMMENT ON COLUMN pantau_console.camera_recent.device_id IS 'Device that sent the count (key of pantau.traffic_count and the ledger)';
COMMENT ON COLUMN pantau_console.camera_recent.store_id IS 'Store id of the count';
COMMENT ON COLUMN pantau_console.camera_recent.seq IS 'Sequence number of the count';
COMMENT ON COLUMN pantau_console.camera_recent.station_id IS 'The camera';
COMMENT ON COLUMN pantau_console.camera_recent.ts IS 'Start of the interval as reported (pantau.traffic_count.ts)';
COMMENT ON COLUMN pantau_console.camera_recent.best IS 'Best time of the count (pantau.reading_best_time of its ledger row)';
COMMENT ON COLUMN pantau_console.camera_recent.interval_s IS 'Length of the interval, s';
COMMENT ON COLUMN pantau_console.camera_recent.lane IS 'Lane or direction';
COMMENT ON COLUMN pantau_console.camera_recent.motorcycle IS 'Motorcycles counted';
COMMENT ON COLUMN pantau_console.camera_recent.car IS 'Cars counted';
COMMENT ON COLUMN pantau_console.camera_recent.bus IS 'Buses counted';
COMMENT ON COLUMN pantau_console.camera_recent.truck IS 'Trucks counted';
COMMENT ON COLUMN pantau_console.camera_recent.speed_kmh IS 'Average speed, km/h';

CREATE TABLE pantau_console.camera_state (
    station_id text PRIMARY KEY,
    device_id text NOT NULL,
    store_id uuid NOT NULL,
    seq bigint NOT NULL,
    ts timestamptz NOT NULL,
    last_end timestamptz NOT NULL
);
COMMENT ON TABLE pantau_console.camera_state IS 'A camera''s latest count by reported time (kept by triggers at ingest, 027): when a camera is silent, the end of that interval is its "no data since"';
COMMENT ON COLUMN pantau_console.camera_state.station_id IS 'The camera';
COMMENT ON COLUMN pantau_console.camera_state.device_id IS 'Device of the latest count';
COMMENT ON COLUMN pantau_console.camera_state.store_id IS 'Store id of the latest count';
COMMENT ON COLUMN pantau_console.camera_state.seq IS 'Sequence number of the latest count';
COMMENT ON COLUMN pantau_console.camera_state.ts IS 'Start of the latest count''s interval as reported (the latest by this column wins)';
COMMENT ON COLUMN pantau_console.camera_state.last_end IS 'End of that interval by best time (best time + interval_s)';

REVOKE ALL ON pantau_console.camera_recent, pantau_console.camera_state FROM PUBLIC;
GRANT SELECT ON pantau_console.camera_recent, pantau_console.camera_state TO pantau_admin;

-- ---- kept at ingest -----------------------------------------------------------------------------------

-- One statement's counts (with their best times) into both tables: in camera_recent when the best
-- time is within the last 2 hours (a count seen again, its best time moved, is updated), in
-- camera_state when it is the camera's latest by reported time. Rows are written in station
-- order, so two collectors cannot deadlock on camera_state.
CREATE FUNCTION pantau_console.camera_keep(counts jsonb) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    WITH c AS MATERIALIZED (
        SELECT * FROM jsonb_to_recordset(counts) AS x (
            device_id text, store_id uuid, seq bigint, station_id text, ts timestamptz,
            best timestamptz, interval_s integer, lane text, motorcycle integer, car integer,
            bus integer, truck integer, speed_kmh double precision)
    ), fresh AS (
        INSERT INTO pantau_console.camera_recent AS r
            (device_id, store_id, seq, station_id, ts, best, interval_s, lane, motorcycle, car,
             bus, truck, speed_kmh)
        SELECT c.device_id, c.store_id, c.seq, c.station_id, c.ts, c.best, c.interval_s,
               c.lane, c.motorcycle, c.car, c.bus, c.truck, c.speed_kmh
        FROM c
        WHERE c.best >= now() - interval '2 hours'
        ORDER BY c.station_id, c.device_id, c.store_id, c.seq
        ON CONFLICT (device_id, store_id, seq) DO UPDATE SET best = excluded.best
        RETURNING r.station_id
    ), latest AS (
        SELECT DISTINCT ON (c.station_id) c.station_id, c.device_id, c.store_id, c.seq, c.ts,
               c.best + make_interval(secs => c.interval_s) AS last_end
        FROM c
        ORDER BY c.station_id, c.ts DESC, c.seq DESC
    )
    INSERT INTO pantau_console.camera_state AS s
        (station_id, device_id, store_id, seq, ts, last_end)
    SELECT * FROM latest ORDER BY station_id
    ON CONFLICT (station_id) DO UPDATE
        SET device_id = excluded.device_id, store_id = excluded.store_id, seq = excluded.seq,
            ts = excluded.ts, last_end = excluded.last_end
        WHERE (excluded.ts, excluded.seq) >= (s.ts, s.seq);
$$;
COMMENT ON FUNCTION pantau_console.camera_keep(jsonb) IS 'Keeps camera_recent (counts with best time in the last 2 hours) and camera_state (each camera''s latest count by reported time) for the counts given as a json array of pantau.traffic_count rows with their best time `best`; called by the ingest triggers (027)';

CREATE FUNCTION pantau_console.camera_keep_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    -- only what either table keeps goes on (a replayed backlog of a day: its latest count per
    -- camera): the counts of the last 2 hours, and each camera's latest
    PERFORM pantau_console.camera_keep((
        SELECT jsonb_agg(to_jsonb(c))
        FROM (SELECT n.*, pantau.reading_best_time(l.ts, l.clock_synced, l.ts_corrected,
                                                   l.received_at) AS best,
                     row_number() OVER (PARTITION BY n.station_id
                                        ORDER BY n.ts DESC, n.seq DESC) AS latest
              FROM new_rows n
              JOIN pantau.reading_ledger l
                ON l.device_id = n.device_id AND l.store_id = n.store_id
               AND l.seq = n.seq) c
        WHERE c.latest = 1 OR c.best >= now() - interval '2 hours'));
    -- counts that aged out, of the cameras of this statement only (two collectors do not wait
    -- on each other's cameras); a camera that falls silent keeps its last few rows
    DELETE FROM pantau_console.camera_recent r
    WHERE r.station_id IN (SELECT DISTINCT n.station_id FROM new_rows n)
      AND r.best < now() - interval '2 hours';
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION pantau_console.camera_keep_insert() IS 'Trigger (statement, on pantau.traffic_count): camera_keep() for the new counts (with the best time of their ledger rows), and their cameras'' counts older than 2 hours out of camera_recent';
CREATE TRIGGER console_camera AFTER INSERT ON pantau.traffic_count
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pantau_console.camera_keep_insert();

CREATE FUNCTION pantau_console.camera_keep_ledger() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    counts jsonb;
BEGIN
    SELECT jsonb_agg(to_jsonb(t) || jsonb_build_object('best',
               pantau.reading_best_time(n.ts, n.clock_synced, n.ts_corrected, n.received_at)))
    INTO counts
    FROM new_rows n
    JOIN old_rows o ON o.device_id = n.device_id AND o.store_id = n.store_id AND o.seq = n.seq
    JOIN pantau.traffic_count t
      ON t.device_id = n.device_id AND t.store_id = n.store_id AND t.seq = n.seq
    WHERE n.stream = 'traffic'
      AND (n.ts_corrected, n.clock_synced, n.received_at)
          IS DISTINCT FROM (o.ts_corrected, o.clock_synced, o.received_at);
    IF counts IS NOT NULL THEN
        -- their rows go, and come back with the new best time when it is within the 2 hours
        DELETE FROM pantau_console.camera_recent r
        USING jsonb_to_recordset(counts) AS x (device_id text, store_id uuid, seq bigint)
        WHERE r.device_id = x.device_id AND r.store_id = x.store_id AND r.seq = x.seq;
        PERFORM pantau_console.camera_keep(counts);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION pantau_console.camera_keep_ledger() IS 'Trigger (statement, on pantau.reading_ledger): a traffic count whose best time changed (ts_corrected set later) is kept again by camera_keep()';
CREATE TRIGGER console_camera AFTER UPDATE ON pantau.reading_ledger
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pantau_console.camera_keep_ledger();

-- ---- the cameras now ---------------------------------------------------------------------------------

-- 022's cameras_now, unchanged, under a new name: an `at` older than an hour, and the check of
-- the kept tables against the facts (tests/integration/test_console_views_sql.py).
CREATE FUNCTION pantau_console.cameras_scan(at timestamptz)
RETURNS TABLE (station_id text, now jsonb) LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    -- (022) Every camera's hour before `at`, in one statement (500 cameras: one plan, one index range
    -- per camera): counts with best time in (at - 1 hour, at], found by ts and, for corrected
    -- or unsynchronised ones, through the ledger's partial indexes (as traffic_intervals);
    -- the hour's flow, DS and weighted speed as pantau_report.traffic_los_hour computes an
    -- hour, the level of service by pantau.traffic_los.
    WITH cam AS (
        SELECT s.station_id, s.capacity_pcu_h FROM pantau.station s
        WHERE s.kind = 'traffic_camera'
    ), late AS MATERIALIZED (
        SELECT t.station_id, t.device_id, t.store_id, t.seq, t.ts, t.interval_s, t.lane,
               t.motorcycle, t.car, t.bus, t.truck, t.speed_kmh
        FROM (SELECT l.device_id, l.store_id, l.seq
              FROM pantau.reading_ledger l
              WHERE l.ts_corrected >= at - interval '1 hour'
                 OR (l.ts_corrected IS NULL AND NOT l.clock_synced
                     AND l.received_at >= at - interval '1 hour')
              OFFSET 0) l
        JOIN pantau.traffic_count t
          ON t.device_id = l.device_id AND t.store_id = l.store_id AND t.seq = l.seq
        WHERE t.ts < at - interval '1 hour'
    ), k AS (
        SELECT t.station_id, t.device_id, t.store_id, t.seq, t.ts, t.interval_s, t.lane,
               t.motorcycle, t.car, t.bus, t.truck, t.speed_kmh
        FROM cam
        CROSS JOIN LATERAL (
            SELECT x.* FROM pantau.traffic_count x
            WHERE x.station_id = cam.station_id AND x.ts >= at - interval '1 hour'
              AND x.ts <= at) t
        UNION ALL
        SELECT * FROM late
    ), c AS (
        SELECT k.*, b.best
        FROM k
        CROSS JOIN LATERAL (
            SELECT pantau.reading_best_time(l.ts, l.clock_synced, l.ts_corrected,
                                            l.received_at) AS best
            FROM pantau.reading_ledger l
            WHERE l.device_id = k.device_id AND l.store_id = k.store_id AND l.seq = k.seq) b
        WHERE b.best > at - interval '1 hour' AND b.best <= at
    ), h AS (
        SELECT c.station_id,
               sum(pantau.traffic_pcu(c.motorcycle, c.car, c.bus, c.truck)) AS pcu,
               sum(c.interval_s)::double precision / count(DISTINCT c.lane) AS observed_s,
               sum(c.speed_kmh * (coalesce(c.motorcycle, 0) + coalesce(c.car, 0)
                                  + coalesce(c.bus, 0) + coalesce(c.truck, 0)))
                   / nullif(sum(CASE WHEN c.speed_kmh IS NOT NULL
                                     THEN coalesce(c.motorcycle, 0) + coalesce(c.car, 0)
                                          + coalesce(c.bus, 0) + coalesce(c.truck, 0) END), 0)
                   AS speed,
               count(DISTINCT c.best) AS intervals,
               max(c.best + make_interval(secs => c.interval_s)) AS last_end
        FROM c
        GROUP BY c.station_id
    ), d AS (
        SELECT cam.station_id, h.speed, h.intervals, h.last_end,
               pantau.traffic_ds(h.pcu, h.observed_s, cam.capacity_pcu_h) AS ds
        FROM cam LEFT JOIN h ON h.station_id = cam.station_id
    ), last_any AS (
        -- a camera without counts in that hour: the end of its latest interval ever
        SELECT d.station_id, x.t
        FROM d
        CROSS JOIN LATERAL (
            SELECT pantau.reading_best_time(l.ts, l.clock_synced, l.ts_corrected, l.received_at)
                       + make_interval(secs => t.interval_s) AS t
            FROM pantau.traffic_count t
            JOIN pantau.reading_ledger l
              ON l.device_id = t.device_id AND l.store_id = t.store_id AND l.seq = t.seq
            WHERE t.station_id = d.station_id
            ORDER BY t.ts DESC
            LIMIT 1) x
        WHERE d.last_end IS NULL
    ), inc AS (
        SELECT n.station_id,
               jsonb_agg(jsonb_build_object(
                   'event_id', n.event_id, 'type', n.type, 'state', n.state,
                   'start_at', pantau_alert.json_time(n.start_at),
                   'confidence', n.confidence, 'lane', n.lane,
                   'as_of', pantau_alert.json_time(n.ts)) ORDER BY n.start_at DESC) AS j
        FROM pantau.incident n
        WHERE n.state <> 'end'
        GROUP BY n.station_id
    )
    SELECT d.station_id, jsonb_build_object(
        'ds', round(d.ds::numeric, 3), 'speed_kmh', round(d.speed::numeric, 1),
        'los', pantau.traffic_los(d.ds, d.speed), 'intervals', coalesce(d.intervals, 0),
        'silent', d.last_end IS NULL,
        'incidents', coalesce(inc.j, '[]'::jsonb),
        'last_reading', pantau_alert.json_time(coalesce(d.last_end, la.t)),
        'as_of', pantau_alert.json_time(coalesce(d.last_end, la.t)))
    FROM d
    LEFT JOIN last_any la ON la.station_id = d.station_id
    LEFT JOIN inc ON inc.station_id = d.station_id
$$;
COMMENT ON FUNCTION pantau_console.cameras_scan(timestamptz) IS 'Every camera at a time, as json, from the facts (022''s cameras_now: one index range per camera, one ledger lookup per count); cameras_now() reads the same from camera_recent and camera_state';

CREATE OR REPLACE FUNCTION pantau_console.cameras_now(at timestamptz)
RETURNS TABLE (station_id text, now jsonb) LANGUAGE plpgsql STABLE
SET search_path = pg_catalog AS $$
#variable_conflict use_column
BEGIN
    IF at < now() - interval '1 hour' OR at > now() THEN
        -- camera_recent holds the last 2 hours by best time: an older hour is read from the facts
        RETURN QUERY SELECT * FROM pantau_console.cameras_scan(at);
        RETURN;
    END IF;
    RETURN QUERY
    WITH cam AS (
        SELECT s.station_id, s.capacity_pcu_h FROM pantau.station s
        WHERE s.kind = 'traffic_camera'
    ), h AS (
        SELECT c.station_id,
               sum(pantau.traffic_pcu(c.motorcycle, c.car, c.bus, c.truck)) AS pcu,
               sum(c.interval_s)::double precision / count(DISTINCT c.lane) AS observed_s,
               sum(c.speed_kmh * (coalesce(c.motorcycle, 0) + coalesce(c.car, 0)
                                  + coalesce(c.bus, 0) + coalesce(c.truck, 0)))
                   / nullif(sum(CASE WHEN c.speed_kmh IS NOT NULL
                                     THEN coalesce(c.motorcycle, 0) + coalesce(c.car, 0)
                                          + coalesce(c.bus, 0) + coalesce(c.truck, 0) END), 0)
                   AS speed,
               count(DISTINCT c.best) AS intervals,
               max(c.best + make_interval(secs => c.interval_s)) AS last_end
        FROM pantau_console.camera_recent c
        WHERE c.best > at - interval '1 hour' AND c.best <= at
        GROUP BY c.station_id
    ), d AS (
        SELECT cam.station_id, h.speed, h.intervals, h.last_end,
               pantau.traffic_ds(h.pcu, h.observed_s, cam.capacity_pcu_h) AS ds
        FROM cam LEFT JOIN h ON h.station_id = cam.station_id
    ), inc AS (
        SELECT n.station_id,
               jsonb_agg(jsonb_build_object(
                   'event_id', n.event_id, 'type', n.type, 'state', n.state,
                   'start_at', pantau_alert.json_time(n.start_at),
                   'confidence', n.confidence, 'lane', n.lane,
                   'as_of', pantau_alert.json_time(n.ts)) ORDER BY n.start_at DESC) AS j
        FROM pantau.incident n
        WHERE n.state <> 'end'
        GROUP BY n.station_id
    )
    SELECT d.station_id, jsonb_build_object(
        'ds', round(d.ds::numeric, 3), 'speed_kmh', round(d.speed::numeric, 1),
        'los', pantau.traffic_los(d.ds, d.speed), 'intervals', coalesce(d.intervals, 0),
        'silent', d.last_end IS NULL,
        'incidents', coalesce(inc.j, '[]'::jsonb),
        'last_reading', pantau_alert.json_time(coalesce(d.last_end, cs.last_end)),
        'as_of', pantau_alert.json_time(coalesce(d.last_end, cs.last_end)))
    FROM d
    LEFT JOIN pantau_console.camera_state cs ON cs.station_id = d.station_id
    LEFT JOIN inc ON inc.station_id = d.station_id;
END
$$;
COMMENT ON FUNCTION pantau_console.cameras_now(timestamptz) IS 'Every camera at a time, as json: the flow, DS, weighted speed and level of service of the hour before (by best time; pantau.traffic_ds, traffic_los), its intervals, its open incidents, silent (no count in that hour), and as_of (end of its latest interval); read from camera_recent and camera_state (027) when `at` is within the last hour, else from the facts (cameras_scan)';

-- ---- a gauge now ---------------------------------------------------------------------------------------

-- 022's gauge_now(), the same json, reading less. It read every reading of the last 2 hours in
-- full through flood_series() (about 120 rows of a gauge read each minute, each joined to its
-- ledger row and reading again) to use two of them; and flood_series, a SQL function with its
-- own search_path, is never inlined: its statement was planned again on every call (partitions
-- of flood_reading and the ledger: most of the 20 gauges' time under load). Now: the latest
-- reading among those of the last 15 minutes (else of the 2 hours, as before) by best time, and
-- only that one joined to its ledger row and reading; for the rise, the best time and level
-- alone of the earliest reading in the hour before it (flood_values_since). Generic plans (as
-- 019 does for flood_values_since): the same shapes every call, partitions pruned at run time.
CREATE OR REPLACE FUNCTION pantau_console.gauge_now(station text, at timestamptz)
RETURNS json LANGUAGE plpgsql STABLE
SET search_path = pg_catalog SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    r record;
    first record;
    last_best timestamptz;
    rise double precision;
    cadence interval;
    mult double precision;
    subj text := 'station:' || station;
    since timestamptz;
BEGIN
    FOREACH since IN ARRAY ARRAY[at - interval '15 minutes', at - interval '2 hours'] LOOP
        -- as pantau_console.flood_series() gives a reading, for the latest one only
        SELECT v.ts_best, v.level_cm, f.discharge_m3s, v.quantity, v.value,
               CASE WHEN v.value IS NOT NULL
                    THEN pantau_alert.siaga_of(v.value, v.siaga3_from, v.siaga2_from,
                                               v.siaga1_from) END AS siaga,
               v.history, l.ts_corrected IS NOT NULL AS corrected,
               l.ts_corrected IS NULL AND NOT l.clock_synced AS unsynced, f.rise_cm_h, v.seq
        INTO r
        FROM (SELECT * FROM pantau_alert.flood_values_since(station, since) x
              WHERE x.ts_best <= at
              ORDER BY x.ts_best DESC, x.seq DESC
              LIMIT 1) v
        JOIN pantau.reading_ledger l
          ON l.device_id = v.device_id AND l.store_id = v.store_id AND l.seq = v.seq
        JOIN pantau.flood_reading f
          ON f.device_id = v.device_id AND f.store_id = v.store_id AND f.seq = v.seq
         AND f.ts = v.ts;
        EXIT WHEN r.ts_best IS NOT NULL;
    END LOOP;
    IF r.ts_best IS NULL THEN
        last_best := pantau_console.flood_last(station);
    ELSE
        last_best := r.ts_best;
        -- the earliest reading with a level in the hour before the latest (and in the 2 hours)
        SELECT v.ts_best, v.level_cm INTO first
        FROM pantau_alert.flood_values_since(
                 station, greatest(r.ts_best - interval '1 hour', at - interval '2 hours')) v
        WHERE v.level_cm IS NOT NULL AND (v.ts_best, v.seq) < (r.ts_best, r.seq)
        ORDER BY v.ts_best, v.seq
        LIMIT 1;
        IF first.ts_best IS NOT NULL AND first.ts_best < r.ts_best THEN
            rise := (r.level_cm - first.level_cm)
                    / (extract(epoch FROM r.ts_best - first.ts_best) / 3600.0);
        END IF;
    END IF;
    cadence := pantau_alert.setting_interval('flood_cadence_siaga' || coalesce(r.siaga, 4), subj, at);
    mult := pantau_alert.setting_num('flood_silent_multiple', subj, at);
    RETURN json_build_object(
        'level_cm', r.level_cm, 'discharge_m3s', r.discharge_m3s, 'quantity', r.quantity,
        'value', r.value, 'siaga', r.siaga,
        'rise_cm_h', round(coalesce(rise, r.rise_cm_h)::numeric, 1),
        'rise_from', CASE WHEN rise IS NOT NULL THEN 'readings'
                          WHEN r.rise_cm_h IS NOT NULL THEN 'device' END,
        'trend', CASE WHEN coalesce(rise, r.rise_cm_h) IS NULL THEN NULL
                      WHEN coalesce(rise, r.rise_cm_h) >= 5 THEN 'rising'
                      WHEN coalesce(rise, r.rise_cm_h) <= -5 THEN 'falling'
                      ELSE 'steady' END,
        'late', r.history, 'corrected', r.corrected, 'unsynced', r.unsynced,
        'silent', last_best IS NULL OR at - last_best > mult * cadence,
        'silent_after_s', extract(epoch FROM mult * cadence)::integer,
        'last_reading', pantau_alert.json_time(last_best),
        'as_of', pantau_alert.json_time(last_best));
END
$$;
COMMENT ON FUNCTION pantau_console.gauge_now(text, timestamptz) IS 'A gauge at a time, as json: latest reading (15 minutes back, else 2 hours) with level, Siaga, rise over the hour before it (cm/h from the readings, else the device''s), trend (rising/falling >= 5 cm/h), flags, silent (no reading for flood_silent_multiple x the cadence of its level), last_reading and as_of (its best time)';

-- ---- the map ---------------------------------------------------------------------------------------

-- 022's map(), the same json: the devices of every station and the week's houses of every
-- kelurahan each in one statement instead of a call per station (520) and per kelurahan (56).
CREATE OR REPLACE FUNCTION pantau_console.map(who text)
RETURNS json LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog SET jit = off AS $$
DECLARE
    acc pantau_console.viewer;
    at timestamptz := now();
    ws timestamptz := pantau_console.week_start(now());
    result json;
BEGIN
    acc := pantau_console.viewer_of(who);
    WITH st AS (
        SELECT s.*, kl.name AS kelurahan_name, kc.code AS kecamatan_code,
               kc.name AS kecamatan_name
        FROM pantau.station s
        LEFT JOIN pantau.kelurahan kl ON kl.code = s.kelurahan_code
        LEFT JOIN pantau.kecamatan kc ON kc.code = kl.kecamatan_code
    ), dev AS (
        -- every station's devices in one pass (022 called devices_of() once per station)
        SELECT ds.station_id,
               json_agg(json_build_object(
                   'device_id', d.device_id, 'enabled', d.enabled,
                   'state', coalesce(s.state, 'unknown'),
                   'station_state', s.stations ->> ds.station_id,
                   'clock_synced', s.clock_synced, 'backlog', s.backlog,
                   'since', pantau_alert.json_time(s.ts),
                   'as_of', pantau_alert.json_time(s.updated_at)) ORDER BY d.device_id) AS j
        FROM pantau.device_station ds
        JOIN pantau.device d ON d.device_id = ds.device_id
        LEFT JOIN pantau.device_status s ON s.device_id = ds.device_id
        WHERE ds.valid @> at
        GROUP BY ds.station_id
    ), stations AS (
        SELECT json_agg(json_build_object(
                   'station_id', st.station_id, 'kind', st.kind, 'name', st.name,
                   'lat', st.lat, 'lon', st.lon, 'kelurahan_code', st.kelurahan_code,
                   'kelurahan_name', st.kelurahan_name, 'kecamatan_name', st.kecamatan_name,
                   'gauge', CASE WHEN st.kind = 'flood_gauge'
                                 THEN pantau_console.gauge_now(st.station_id, at) END,
                   'camera', cn.now,
                   'devices', coalesce(dev.j, '[]'::json))
                   ORDER BY st.kind, st.station_id) AS j
        FROM st
        LEFT JOIN pantau_console.cameras_now(at) cn ON cn.station_id = st.station_id
        LEFT JOIN dev ON dev.station_id = st.station_id
    ), insp AS MATERIALIZED (
        -- the week's inspections of every kelurahan at once, found as larva_houses() finds one
        -- kelurahan's (by ts, and corrected or unsynchronised ones through the ledger's partial
        -- indexes; 022 called it once per kelurahan: 56 calls)
        SELECT i.device_id, i.store_id, i.seq, i.kelurahan, i.building, i.larvae_found
        FROM pantau_pii.larva_inspection i
        WHERE i.ts >= ws AND i.ts < ws + interval '7 days'
        UNION
        SELECT i.device_id, i.store_id, i.seq, i.kelurahan, i.building, i.larvae_found
        FROM (SELECT l.device_id, l.store_id, l.seq
              FROM pantau.reading_ledger l
              WHERE (l.ts_corrected >= ws AND l.ts_corrected < ws + interval '7 days')
                 OR (l.ts_corrected IS NULL AND NOT l.clock_synced AND l.received_at >= ws
                     AND l.received_at < ws + interval '7 days')
              OFFSET 0) l
        JOIN pantau_pii.larva_inspection i
          ON i.device_id = l.device_id AND i.store_id = l.store_id AND i.seq = l.seq
    ), houses AS (
        SELECT k.kelurahan, count(*) AS houses, count(*) FILTER (WHERE k.larvae_found) AS positive
        FROM insp k
        JOIN pantau.reading_ledger x
          ON x.device_id = k.device_id AND x.store_id = k.store_id AND x.seq = k.seq
        WHERE k.building = 'house'
          AND pantau.reading_best_time(x.ts, x.clock_synced, x.ts_corrected, x.received_at)
              >= ws
          AND pantau.reading_best_time(x.ts, x.clock_synced, x.ts_corrected, x.received_at)
              < ws + interval '7 days'
        GROUP BY k.kelurahan
    ), kel AS (
        SELECT kl.code, kl.name, kc.code AS kecamatan_code, kc.name AS kecamatan_name,
               (SELECT avg(s.lat) FROM pantau.station s WHERE s.kelurahan_code = kl.code) AS lat,
               (SELECT avg(s.lon) FROM pantau.station s WHERE s.kelurahan_code = kl.code) AS lon,
               coalesce(h.houses, 0) AS houses, coalesce(h.positive, 0) AS positive
        FROM pantau.kelurahan kl
        JOIN pantau.kecamatan kc ON kc.code = kl.kecamatan_code
        LEFT JOIN houses h ON h.kelurahan = kl.code
    ), kelurahan AS (
        SELECT json_agg(json_build_object(
                   'code', k.code, 'name', k.name, 'kecamatan_code', k.kecamatan_code,
                   'kecamatan_name', k.kecamatan_name, 'lat', k.lat, 'lon', k.lon,
                   'houses_inspected', k.houses, 'houses_positive', k.positive,
                   'abj_pct', round(100.0 * (k.houses - k.positive) / nullif(k.houses, 0), 1),
                   'target_pct', 95,
                   'as_of', pantau_alert.json_time(at)) ORDER BY k.code) AS j
        FROM kel k
    ), kecamatan AS (
        SELECT json_agg(json_build_object(
                   'code', kc.code, 'name', kc.name,
                   'lat', coalesce(p.lat, (pantau_console.kecamatan_label(kc.code)).lat),
                   'lon', coalesce(p.lon, (pantau_console.kecamatan_label(kc.code)).lon))
                   ORDER BY kc.code) AS j
        FROM pantau.kecamatan kc
        LEFT JOIN LATERAL (
            SELECT avg(s.lat) AS lat, avg(s.lon) AS lon
            FROM pantau.station s
            JOIN pantau.kelurahan kl ON kl.code = s.kelurahan_code
            WHERE kl.kecamatan_code = kc.code AND s.lat IS NOT NULL) p ON true
    ), devices AS (
        -- gateways that are offline (handhelds go offline by design) or never reported
        SELECT json_agg(json_build_object(
                   'device_id', d.device_id, 'kind', d.kind, 'enabled', d.enabled,
                   'state', coalesce(s.state, 'unknown'),
                   'since', pantau_alert.json_time(s.ts),
                   'stations', (SELECT json_agg(x.station_id ORDER BY x.station_id)
                                FROM pantau.device_station x
                                WHERE x.device_id = d.device_id AND x.valid @> at),
                   'as_of', pantau_alert.json_time(s.updated_at)) ORDER BY d.device_id) AS j
        FROM pantau.device d
        LEFT JOIN pantau.device_status s ON s.device_id = d.device_id
        WHERE d.kind <> 'handheld' AND coalesce(s.state, 'unknown') <> 'online'
    )
    SELECT json_build_object(
        'generated_at', pantau_alert.json_time(at),
        'week', to_char(ws AT TIME ZONE 'Asia/Jakarta', 'YYYY-MM-DD'),
        'stations', coalesce((SELECT j FROM stations), '[]'::json),
        'kelurahan', coalesce((SELECT j FROM kelurahan), '[]'::json),
        'kecamatan', coalesce((SELECT j FROM kecamatan), '[]'::json),
        'devices_down', coalesce((SELECT j FROM devices), '[]'::json))
    INTO result;
    RETURN result;
END
$$;
COMMENT ON FUNCTION pantau_console.map(text) IS 'The map (GET /api/map): every station with position, kind, names; gauges with level, Siaga, rise and trend, silent; cameras with the last hour''s level of service and open incidents (cameras_now: camera_recent, 027); the devices of each station; every kelurahan''s ABJ of the current week (WIB) with a position where it has stations; kecamatan label positions; gateways offline or never seen. Every item has as_of';

-- ---- what is there already ------------------------------------------------------------------------------

-- the counts of the last 2 hours by best time (as cameras_scan finds an hour), and every
-- camera's latest count (one index range each, once)
INSERT INTO pantau_console.camera_recent
    (device_id, store_id, seq, station_id, ts, best, interval_s, lane, motorcycle, car, bus,
     truck, speed_kmh)
SELECT k.device_id, k.store_id, k.seq, k.station_id, k.ts, k.best, k.interval_s, k.lane,
       k.motorcycle, k.car, k.bus, k.truck, k.speed_kmh
FROM (
    SELECT t.*, pantau.reading_best_time(l.ts, l.clock_synced, l.ts_corrected,
                                         l.received_at) AS best
    FROM pantau.traffic_count t
    JOIN pantau.reading_ledger l
      ON l.device_id = t.device_id AND l.store_id = t.store_id AND l.seq = t.seq
    WHERE t.ts >= now() - interval '2 hours'
    UNION
    SELECT t.*, pantau.reading_best_time(l.ts, l.clock_synced, l.ts_corrected,
                                         l.received_at) AS best
    FROM pantau.reading_ledger l
    JOIN pantau.traffic_count t
      ON t.device_id = l.device_id AND t.store_id = l.store_id AND t.seq = l.seq
    WHERE l.stream = 'traffic'
      AND (l.ts_corrected >= now() - interval '2 hours'
           OR (l.ts_corrected IS NULL AND NOT l.clock_synced
               AND l.received_at >= now() - interval '2 hours'))) k
WHERE k.best >= now() - interval '2 hours';

INSERT INTO pantau_console.camera_state (station_id, device_id, store_id, seq, ts, last_end)
SELECT s.station_id, x.device_id, x.store_id, x.seq, x.ts, x.last_end
FROM pantau.station s
CROSS JOIN LATERAL (
    SELECT t.device_id, t.store_id, t.seq, t.ts,
           pantau.reading_best_time(l.ts, l.clock_synced, l.ts_corrected, l.received_at)
               + make_interval(secs => t.interval_s) AS last_end
    FROM pantau.traffic_count t
    JOIN pantau.reading_ledger l
      ON l.device_id = t.device_id AND l.store_id = t.store_id AND l.seq = t.seq
    WHERE t.station_id = s.station_id
    ORDER BY t.ts DESC, t.seq DESC
    LIMIT 1) x
WHERE s.kind = 'traffic_camera';

REVOKE ALL ON FUNCTION pantau_console.cameras_scan(timestamptz),
    pantau_console.camera_keep(jsonb), pantau_console.camera_keep_insert(),
    pantau_console.camera_keep_ledger() FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA pantau_console TO pantau_admin;
