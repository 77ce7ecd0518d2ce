-- 022_console_views: the data the console's views show (issue 12; console/README.md), as SQL
-- functions in schema pantau_console that return json, one call per API request:
--   map(who)                   every station with its state now, kelurahan ABJ, devices down
--   gauge(who, station, hours) a gauge's hydrograph, thresholds, rise, gateway, alerts
--   traffic(who, hours)        per camera and hour: counts, speed, DS, LOS; incidents; worst now
--   jumantik(who, week)        ABJ/HI/CI/BI per kelurahan and week, positives today, fogging RW
--   system(who)                the pipe's health: devices, gaps with times, dead letters, ...
-- `who` is the console account the server passes for the person logged in, checked by 021's
-- pantau_console.viewer_of (one rule for every console function); the function decides what
-- that account may see: personal data (addresses, GPS, inspectors of larva inspections) only
-- when viewer_of says health (admin, or a unit marked health). A unit account sees the alert
-- history of the alerts it may see (021's may_see_alert: those routed to its unit).
--
-- Rules kept here:
--   * every time is the protocol's UTC text (pantau_alert.json_time), and every item says how
--     fresh it is (`as_of`: the best time of the reading it comes from, or when the state was
--     recorded); the whole answer has `generated_at` (the transaction's now());
--   * readings are judged at their best time (pantau.reading_best_time, 009) and found the way
--     the alert rules find them (pantau_alert.flood_values_since, traffic_intervals,
--     larva_houses: by ts through the indexes, and corrected or unsynchronised readings
--     through the ledger's partial indexes), so no view scans a whole facts table;
--   * Siaga levels, level of service and the larva indices by the formulas already written
--     (pantau_alert.siaga_of, pantau.traffic_*, the counts of pantau_report.larva_index_week);
--   * SECURITY DEFINER with search_path pg_catalog: the console's login role (group
--     pantau_console, 021) may only EXECUTE these, and reads nothing directly;
--   * jit off: their plans are estimated dear (a lateral per station) but run in
--     milliseconds, and JIT compiling them cost seconds per call (bench_console.py: system()
--     3.6 s of its 4.2 s).

-- ---- readings, the way the rules find them -------------------------------------------------------

CREATE FUNCTION pantau_console.flood_series(station text, since timestamptz)
RETURNS TABLE (ts_best timestamptz, level_cm double precision,
               discharge_m3s double precision, quantity text, value double precision,
               siaga smallint, history boolean, corrected boolean, unsynced boolean,
               received_at timestamptz, rise_cm_h double precision, rain_mm double precision,
               battery_v double precision, device_id text, seq bigint)
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT v.ts_best, v.level_cm, f.discharge_m3s, v.quantity, v.value,
           CASE WHEN v.value IS NOT NULL
                THEN pantau_alert.siaga_of(v.value, v.siaga3_from, v.siaga2_from,
                                           v.siaga1_from) END,
           v.history, l.ts_corrected IS NOT NULL, l.ts_corrected IS NULL AND NOT l.clock_synced,
           l.received_at, f.rise_cm_h, f.rain_mm, f.battery_v, v.device_id, v.seq
    FROM pantau_alert.flood_values_since(station, since) v
    JOIN pantau.reading_ledger l
      ON l.device_id = v.device_id AND l.store_id = v.store_id AND l.seq = v.seq
    JOIN pantau.flood_reading f
      ON f.device_id = v.device_id AND f.store_id = v.store_id AND f.seq = v.seq
     AND f.ts = v.ts
$$;
COMMENT ON FUNCTION pantau_console.flood_series(text, timestamptz) IS 'A gauge''s readings with best time >= since (pantau_alert.flood_values_since): level, the value its thresholds apply to and its Siaga level (NULL without thresholds), history (late), corrected (ts_corrected set), unsynced (clock not synchronised and not corrected: timed by arrival)';

CREATE FUNCTION pantau_console.flood_last(station text)
RETURNS timestamptz LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    -- the best time of a gauge's latest reading by reported time: for a gauge silent for
    -- longer than the views look back ("no data since ...")
    SELECT pantau.reading_best_time(l.ts, l.clock_synced, l.ts_corrected, l.received_at)
    FROM pantau.flood_reading f
    JOIN pantau.reading_ledger l
      ON l.device_id = f.device_id AND l.store_id = f.store_id AND l.seq = f.seq
    WHERE f.station_id = station
    ORDER BY f.ts DESC
    LIMIT 1
$$;
COMMENT ON FUNCTION pantau_console.flood_last(text) IS 'Best time of a gauge''s latest reading by reported time (index station_id, ts); NULL: never a reading';

CREATE FUNCTION pantau_console.gauge_now(station text, at timestamptz)
RETURNS json LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
-- The state of a gauge at `at`: its latest reading within 2 hours (else the time of its last
-- reading ever), the rise over the hour before it (within those 2 hours), and whether it is silent by the alert rule's
-- cadence (flood_cadence_siaga<level> x flood_silent_multiple, 015).
DECLARE
    r record;
    first record;
    x record;
    last_best timestamptz;
    rise double precision;
    cadence interval;
    mult double precision;
    subj text := 'station:' || station;
BEGIN
    -- one read of the last 2 hours, newest first: the latest reading, then back to the first
    -- of the hour before it (for the rise); r and first start as all-NULL rows of the series
    SELECT * INTO r FROM pantau_console.flood_series(NULL, NULL) LIMIT 0;
    first := r;
    FOR x IN SELECT * FROM pantau_console.flood_series(station, at - interval '2 hours') s
             WHERE s.ts_best <= at ORDER BY s.ts_best DESC, s.seq DESC LOOP
        IF r.ts_best IS NULL THEN
            r := x;
        ELSIF x.ts_best >= r.ts_best - interval '1 hour' THEN
            IF x.level_cm IS NOT NULL THEN
                first := x;
            END IF;
        ELSE
            EXIT;
        END IF;
    END LOOP;
    IF r.ts_best IS NULL THEN
        last_best := pantau_console.flood_last(station);
    ELSE
        last_best := r.ts_best;
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
COMMENT ON FUNCTION pantau_console.gauge_now(text, timestamptz) IS 'A gauge at a time, as json: latest reading (2 hours back) with level, Siaga, rise over the hour before it (cm/h from the readings, else the device''s), trend (rising/falling >= 5 cm/h), flags, silent (no reading for flood_silent_multiple x the cadence of its level), last_reading and as_of (its best time)';

CREATE FUNCTION pantau_console.cameras_now(at timestamptz)
RETURNS TABLE (station_id text, now jsonb) LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    -- Every camera's hour before `at`, in one statement (500 cameras: one plan, one index range
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
COMMENT ON FUNCTION pantau_console.cameras_now(timestamptz) IS 'Every camera at a time, as json: the flow, DS, weighted speed and level of service of the hour before (by best time; pantau.traffic_ds, traffic_los), its intervals, its open incidents, silent (no count in that hour), and as_of (end of its latest interval)';

CREATE FUNCTION pantau_console.devices_of(station text, at timestamptz)
RETURNS json LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT coalesce(json_agg(json_build_object(
               'device_id', d.device_id, 'enabled', d.enabled,
               'state', coalesce(s.state, 'unknown'),
               'station_state', s.stations ->> station,
               'clock_synced', s.clock_synced, 'backlog', s.backlog,
               'since', pantau_alert.json_time(s.ts),
               'as_of', pantau_alert.json_time(s.updated_at)) ORDER BY d.device_id), '[]'::json)
    FROM pantau.device_station ds
    JOIN pantau.device d ON d.device_id = ds.device_id
    LEFT JOIN pantau.device_status s ON s.device_id = ds.device_id
    WHERE ds.station_id = station AND ds.valid @> at
$$;
COMMENT ON FUNCTION pantau_console.devices_of(text, timestamptz) IS 'The devices that may speak for a station at a time, with their status (online/offline/unknown, the station''s health as the gateway reported it, clock, backlog) and as_of (when the status was applied)';

CREATE FUNCTION pantau_console.week_start(at timestamptz)
RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    -- Monday 00:00 WIB of the week holding `at`, as pantau_report.larva_index_week cuts weeks
    SELECT date_trunc('week', at AT TIME ZONE 'Asia/Jakarta') AT TIME ZONE 'Asia/Jakarta'
$$;
COMMENT ON FUNCTION pantau_console.week_start(timestamptz) IS 'Start of the ISO week (Monday 00:00 WIB) holding a time';

-- Approximate label positions of the 12 kecamatan (estimate, for map labels only: the schema
-- has no boundaries). Where a kecamatan has stations, their mean position is used instead.
CREATE FUNCTION pantau_console.kecamatan_label(code text, OUT lat double precision,
                                               OUT lon double precision)
LANGUAGE sql IMMUTABLE AS $$
    SELECT v.lat, v.lon FROM (VALUES
        ('32.75.01', -6.245, 107.012), ('32.75.02', -6.243, 106.975),
        ('32.75.03', -6.200, 107.000), ('32.75.04', -6.262, 106.992),
        ('32.75.05', -6.282, 107.020), ('32.75.06', -6.200, 106.962),
        ('32.75.07', -6.330, 106.998), ('32.75.08', -6.280, 106.925),
        ('32.75.09', -6.305, 106.958), ('32.75.10', -6.365, 106.925),
        ('32.75.11', -6.305, 107.035), ('32.75.12', -6.292, 106.903)) AS v (code, lat, lon)
    WHERE v.code = kecamatan_label.code
$$;
COMMENT ON FUNCTION pantau_console.kecamatan_label(text) IS 'Approximate position for the label of a kecamatan (estimate; the schema has no boundaries)';

-- ---- the map ---------------------------------------------------------------------------------------

CREATE FUNCTION pantau_console.map(who text)
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
    ), stations AS (
        SELECT json_agg(json_build_object(
                   'station_id', st.station_id, 'kind', st.kind, 'name', st.name,
                   'lat', st.lat, 'lon', st.lon, 'kelurahan_code', st.kelurahan_code,
                   'kelurahan_name', st.kelurahan_name, 'kecamatan_name', st.kecamatan_name,
                   'gauge', CASE WHEN st.kind = 'flood_gauge'
                                 THEN pantau_console.gauge_now(st.station_id, at) END,
                   'camera', cn.now,
                   'devices', pantau_console.devices_of(st.station_id, at))
                   ORDER BY st.kind, st.station_id) AS j
        FROM st
        LEFT JOIN pantau_console.cameras_now(at) cn ON cn.station_id = st.station_id
    ), kel AS (
        SELECT kl.code, kl.name, kc.code AS kecamatan_code, kc.name AS kecamatan_name,
               (SELECT avg(s.lat) FROM pantau.station s WHERE s.kelurahan_code = kl.code) AS lat,
               (SELECT avg(s.lon) FROM pantau.station s WHERE s.kelurahan_code = kl.code) AS lon,
               h.houses, h.positive
        FROM pantau.kelurahan kl
        JOIN pantau.kecamatan kc ON kc.code = kl.kecamatan_code
        CROSS JOIN LATERAL pantau_alert.larva_houses(kl.code, NULL, ws, ws + interval '7 days') h
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
COMMENT ON FUNCTION pantau_console.map(text) IS 'The map (GET /api/map): every station with position, kind, names; gauges with level, Siaga, rise and trend, silent; cameras with the last hour''s level of service and open incidents; the devices of each station; every kelurahan''s ABJ of the current week (WIB) with a position where it has stations; kecamatan label positions; gateways offline or never seen. Every item has as_of';

-- ---- a gauge ---------------------------------------------------------------------------------------

CREATE FUNCTION pantau_console.gauge(who text, station text, hours integer)
RETURNS json LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog SET jit = off AS $$
DECLARE
    acc pantau_console.viewer;
    at timestamptz := now();
    since timestamptz;
    s record;
    bucket interval;
    result json;
BEGIN
    acc := pantau_console.viewer_of(who);
    IF hours IS NULL OR hours < 1 OR hours > 24 * 31 THEN
        RAISE EXCEPTION 'console: hours must be 1 .. 744, not %', coalesce(hours::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT x.*, kl.name AS kelurahan_name, kc.name AS kecamatan_name INTO s
    FROM pantau.station x
    LEFT JOIN pantau.kelurahan kl ON kl.code = x.kelurahan_code
    LEFT JOIN pantau.kecamatan kc ON kc.code = kl.kecamatan_code
    WHERE x.station_id = gauge.station AND x.kind = 'flood_gauge';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'console: no gauge %', coalesce(station, 'NULL')
            USING ERRCODE = 'no_data_found';          -- the server answers 404
    END IF;
    since := at - make_interval(hours => hours);
    -- at most about a thousand points: beyond a day, the highest reading of each 10 minutes
    bucket := CASE WHEN hours > 24 THEN interval '10 minutes' END;
    WITH r AS (
        SELECT * FROM pantau_console.flood_series(gauge.station, since) x WHERE x.ts_best <= at
    ), b AS (
        SELECT CASE WHEN bucket IS NULL THEN r.ts_best
                    ELSE date_bin(bucket, r.ts_best, timestamptz '2000-01-01') END AS t, r.*
        FROM r
    ), p AS (
        SELECT DISTINCT ON (b.t) b.t, b.ts_best, b.level_cm, b.discharge_m3s, b.value, b.siaga,
               bool_or(b.history) OVER w AS late, bool_or(b.corrected) OVER w AS corrected,
               bool_or(b.unsynced) OVER w AS unsynced, count(*) OVER w AS n, b.rain_mm,
               b.battery_v
        FROM b
        WINDOW w AS (PARTITION BY b.t)
        ORDER BY b.t, b.value DESC NULLS LAST, b.level_cm DESC NULLS LAST, b.ts_best
    )
    SELECT json_build_object(
        'generated_at', pantau_alert.json_time(at),
        'station', json_build_object('station_id', s.station_id, 'name', s.name, 'lat', s.lat,
                                     'lon', s.lon, 'kelurahan_code', s.kelurahan_code,
                                     'kelurahan_name', s.kelurahan_name,
                                     'kecamatan_name', s.kecamatan_name, 'datum', s.datum),
        'hours', hours, 'from', pantau_alert.json_time(since), 'to', pantau_alert.json_time(at),
        'bucket_s', extract(epoch FROM bucket)::integer,
        'now', pantau_console.gauge_now(gauge.station, at),
        'points', coalesce((SELECT json_agg(json_build_object(
                       't', pantau_alert.json_time(p.ts_best), 'level_cm', p.level_cm,
                       'discharge_m3s', p.discharge_m3s, 'value', p.value, 'siaga', p.siaga,
                       'late', p.late, 'corrected', p.corrected, 'unsynced', p.unsynced,
                       'readings', p.n, 'rain_mm', p.rain_mm, 'battery_v', p.battery_v)
                       ORDER BY p.ts_best) FROM p), '[]'::json),
        'thresholds', coalesce((SELECT json_agg(json_build_object(
                       'quantity', t.quantity,
                       'from', pantau_alert.json_time(greatest(lower(t.valid), since)),
                       'to', pantau_alert.json_time(least(coalesce(upper(t.valid), at), at)),
                       'siaga3_from', t.siaga3_from, 'siaga2_from', t.siaga2_from,
                       'siaga1_from', t.siaga1_from, 'source', t.source)
                       ORDER BY t.quantity, lower(t.valid))
                   FROM pantau.gauge_threshold t
                   WHERE t.station_id = gauge.station
                     AND t.valid && tstzrange(since, at, '[]')), '[]'::json),
        'gateway', pantau_console.devices_of(gauge.station, at),
        'alerts', coalesce((SELECT json_agg(json_build_object(
                       'alert_id', a.alert_id, 'kind', a.kind, 'level', a.level,
                       'previous_level', a.previous_level, 'rise_cm', a.rise_cm,
                       'condition_time', pantau_alert.json_time(a.condition_time),
                       'raised_at', pantau_alert.json_time(a.raised_at), 'news', a.news,
                       'state', a.state, 'acknowledged_by', a.acknowledged_by,
                       'acknowledged_at', pantau_alert.json_time(a.acknowledged_at),
                       'resolved_by', a.resolved_by,
                       'resolved_at', pantau_alert.json_time(a.resolved_at))
                       ORDER BY a.condition_time DESC, a.alert_id DESC)
                   FROM (SELECT * FROM pantau_alert.alert x
                         WHERE x.station_id = gauge.station
                           AND (x.state <> 'resolved' OR x.condition_time >= since
                                OR x.resolved_at >= since)
                           AND pantau_console.may_see_alert(acc, x.alert_id)
                         ORDER BY x.condition_time DESC, x.alert_id DESC
                         LIMIT 100) a), '[]'::json))
    INTO result;
    RETURN result;
END
$$;
COMMENT ON FUNCTION pantau_console.gauge(text, text, integer) IS 'A gauge''s page (GET /api/gauge): its hydrograph over the last `hours` by best time (beyond 24 hours the highest reading of each 10 minutes), each point flagged late (history), corrected, unsynced; the thresholds valid over the range as bands (from/to clipped to it); the state now (pantau_console.gauge_now: rise, trend, silent, last_reading); its gateway''s status; its alerts open or of the range (a unit account: its own unit''s). no_data_found (404) when no such gauge';

-- ---- traffic ---------------------------------------------------------------------------------------

CREATE FUNCTION pantau_console.traffic(who text, hours integer)
RETURNS json LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog SET jit = off AS $$
DECLARE
    acc pantau_console.viewer;
    at timestamptz := now();
    since timestamptz;
    result json;
BEGIN
    acc := pantau_console.viewer_of(who);
    IF hours IS NULL OR hours < 1 OR hours > 24 * 7 THEN
        RAISE EXCEPTION 'console: hours must be 1 .. 168, not %', coalesce(hours::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    since := date_trunc('hour', at - make_interval(hours => hours - 1));
    WITH cam AS (
        SELECT s.station_id, s.name, s.capacity_pcu_h, s.kelurahan_code, kl.name AS kelurahan_name
        FROM pantau.station s
        LEFT JOIN pantau.kelurahan kl ON kl.code = s.kelurahan_code
        WHERE s.kind = 'traffic_camera'
    ), nowc AS MATERIALIZED (
        SELECT cam.station_id, cam.name, cn.now AS o
        FROM cam JOIN pantau_console.cameras_now(at) cn ON cn.station_id = cam.station_id
    ), c AS MATERIALIZED (
        -- every count of the range at its best time, found as traffic_intervals finds them
        SELECT t.station_id, t.lane, t.interval_s, t.motorcycle, t.car, t.bus, t.truck,
               t.nonmotor, t.speed_kmh, b.best
        FROM (SELECT x.*
              FROM cam
              CROSS JOIN LATERAL (SELECT y.* FROM pantau.traffic_count y
                                  WHERE y.station_id = cam.station_id AND y.ts >= since) x
              UNION ALL
              SELECT x.*
              FROM (SELECT l.device_id, l.store_id, l.seq
                    FROM pantau.reading_ledger l
                    WHERE l.ts_corrected >= since
                       OR (l.ts_corrected IS NULL AND NOT l.clock_synced
                           AND l.received_at >= since)
                    OFFSET 0) l
              JOIN pantau.traffic_count x
                ON x.device_id = l.device_id AND x.store_id = l.store_id AND x.seq = l.seq
              WHERE x.ts < since AND x.station_id IN (SELECT station_id FROM cam)) t
        CROSS JOIN LATERAL (
            SELECT pantau.reading_best_time(l.ts, l.clock_synced, l.ts_corrected,
                                            l.received_at) AS best
            FROM pantau.reading_ledger l
            WHERE l.device_id = t.device_id AND l.store_id = t.store_id AND l.seq = t.seq) b
        WHERE b.best >= since AND b.best <= at
    ), h AS (
        SELECT c.station_id,
               date_trunc('hour', c.best AT TIME ZONE 'Asia/Jakarta') AS hour_wib,
               sum(coalesce(c.motorcycle, 0)) AS motorcycle, sum(coalesce(c.car, 0)) AS car,
               sum(coalesce(c.bus, 0)) AS bus, sum(coalesce(c.truck, 0)) AS truck,
               sum(coalesce(c.nonmotor, 0)) AS nonmotor,
               sum(pantau.traffic_pcu(c.motorcycle, c.car, c.bus, c.truck)) AS pcu,
               sum(c.interval_s)::double precision / count(DISTINCT c.lane) AS observed_s,
               sum(c.speed_kmh * (coalesce(c.motorcycle, 0) + coalesce(c.car, 0)
                                  + coalesce(c.bus, 0) + coalesce(c.truck, 0)))
                   / nullif(sum(CASE WHEN c.speed_kmh IS NOT NULL
                                     THEN coalesce(c.motorcycle, 0) + coalesce(c.car, 0)
                                          + coalesce(c.bus, 0) + coalesce(c.truck, 0) END), 0)
                   AS speed_kmh,
               max(c.best + make_interval(secs => c.interval_s)) AS last_end
        FROM c
        GROUP BY 1, 2
    ), hd AS (
        SELECT h.*, pantau.traffic_ds(h.pcu, h.observed_s, cam.capacity_pcu_h) AS ds
        FROM h JOIN cam USING (station_id)
    ), hj AS (
        SELECT hd.station_id,
               json_agg(json_build_object(
                   'hour', pantau_alert.json_time(hd.hour_wib AT TIME ZONE 'Asia/Jakarta'),
                   'motorcycle', hd.motorcycle, 'car', hd.car, 'bus', hd.bus,
                   'truck', hd.truck, 'nonmotor', hd.nonmotor,
                   'q_pcu_h', round(pantau.traffic_flow(hd.pcu, hd.observed_s)::numeric, 1),
                   'ds', round(hd.ds::numeric, 3),
                   'speed_kmh', round(hd.speed_kmh::numeric, 1),
                   'los', pantau.traffic_los(hd.ds, hd.speed_kmh),
                   'as_of', pantau_alert.json_time(hd.last_end)) ORDER BY hd.hour_wib) AS j
        FROM hd
        GROUP BY hd.station_id
    ), cams AS (
        SELECT json_agg(json_build_object(
                   'station_id', cam.station_id, 'name', cam.name,
                   'capacity_pcu_h', cam.capacity_pcu_h, 'kelurahan_name', cam.kelurahan_name,
                   'now', n.o, 'hours', coalesce(hj.j, '[]'::json))
                   ORDER BY cam.station_id) AS j
        FROM cam
        LEFT JOIN nowc n ON n.station_id = cam.station_id
        LEFT JOIN hj ON hj.station_id = cam.station_id
    ), inc AS (
        SELECT json_agg(json_build_object(
                   'station_id', n.station_id, 'event_id', n.event_id, 'type', n.type,
                   'state', n.state, 'start_at', pantau_alert.json_time(n.start_at),
                   'end_at', pantau_alert.json_time(n.end_at), 'confidence', n.confidence,
                   'lane', n.lane, 'snapshot', n.snapshot,
                   'updates', (SELECT json_agg(json_build_object(
                                   'state', u.state, 'type', u.type,
                                   'confidence', u.confidence,
                                   'ts', pantau_alert.json_time(u.ts)) ORDER BY u.ts, u.seq)
                               FROM pantau.incident_update u
                               WHERE u.station_id = n.station_id AND u.event_id = n.event_id),
                   'as_of', pantau_alert.json_time(n.ts))
                   ORDER BY n.state = 'end', n.start_at DESC) AS j
        FROM pantau.incident n
        WHERE n.state <> 'end' OR n.ts >= since
    ), worst AS (
        SELECT json_agg(json_build_object('station_id', x.station_id, 'name', x.name,
                                          'ds', x.o -> 'ds', 'los', x.o -> 'los',
                                          'speed_kmh', x.o -> 'speed_kmh', 'as_of', x.o -> 'as_of')
                        ORDER BY x.ds DESC, x.station_id) AS j
        FROM (SELECT n.*, (n.o ->> 'ds')::double precision AS ds FROM nowc n
              WHERE n.o ->> 'ds' IS NOT NULL
              ORDER BY (n.o ->> 'ds')::double precision DESC, n.station_id
              LIMIT 10) x
    )
    SELECT json_build_object(
        'generated_at', pantau_alert.json_time(at), 'hours', hours,
        'from', pantau_alert.json_time(since), 'to', pantau_alert.json_time(at),
        'cameras', coalesce((SELECT j FROM cams), '[]'::json),
        'incidents', coalesce((SELECT j FROM inc), '[]'::json),
        'worst', coalesce((SELECT j FROM worst), '[]'::json))
    INTO result;
    RETURN result;
END
$$;
COMMENT ON FUNCTION pantau_console.traffic(text, integer) IS 'Traffic (GET /api/traffic): per camera and hour (WIB) of the last `hours` (the current hour included), by best time: counts by class, flow, DS, weighted speed and level of service (pantau.traffic_*); its state now (pantau_console.cameras_now: the last hour, open incidents); incidents open or updated in the range with every update; the worst ten cameras by DS now';

-- ---- Jumantik --------------------------------------------------------------------------------------

CREATE FUNCTION pantau_console.larva_between(ws timestamptz, we timestamptz)
RETURNS TABLE (device_id text, store_id uuid, seq bigint, best timestamptz, kelurahan text,
               rw integer, rt integer, building text, larvae_found boolean, address text,
               lat double precision, lon double precision, inspector text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
BEGIN
    -- the inspections with best time in [ws, we), found as pantau_alert.larva_houses finds
    -- them (by ts, and corrected or unsynchronised ones through the ledger's partial indexes)
    RETURN QUERY
    WITH k AS MATERIALIZED (
        SELECT i.device_id, i.store_id, i.seq, i.ts
        FROM pantau_pii.larva_inspection i
        WHERE i.ts >= ws AND i.ts < we
        UNION
        SELECT i.device_id, i.store_id, i.seq, i.ts
        FROM (SELECT l.device_id, l.store_id, l.seq
              FROM pantau.reading_ledger l
              WHERE (l.ts_corrected >= ws AND l.ts_corrected < we)
                 OR (l.ts_corrected IS NULL AND NOT l.clock_synced AND l.received_at >= ws
                     AND l.received_at < we)
              OFFSET 0) l
        JOIN pantau_pii.larva_inspection i
          ON i.device_id = l.device_id AND i.store_id = l.store_id AND i.seq = l.seq
    )
    SELECT i.device_id, i.store_id, i.seq, b.best, i.kelurahan, i.rw, i.rt, i.building,
           i.larvae_found, i.address, i.lat, i.lon, i.inspector
    FROM k
    JOIN pantau_pii.larva_inspection i
      ON i.device_id = k.device_id AND i.store_id = k.store_id AND i.seq = k.seq AND i.ts = k.ts
    CROSS JOIN LATERAL (
        SELECT pantau.reading_best_time(x.ts, x.clock_synced, x.ts_corrected,
                                        x.received_at) AS best
        FROM pantau.reading_ledger x
        WHERE x.device_id = k.device_id AND x.store_id = k.store_id AND x.seq = k.seq
        OFFSET 0) b
    WHERE b.best >= ws AND b.best < we;
END
$$;
COMMENT ON FUNCTION pantau_console.larva_between(timestamptz, timestamptz) IS 'Larva inspections with best time in [ws, we), personal columns included: for the console''s functions, which drop them for accounts that may not see them';

CREATE FUNCTION pantau_console.jumantik(who text, week date)
RETURNS json LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog SET jit = off AS $$
DECLARE
    acc pantau_console.viewer;
    at timestamptz := now();
    ws timestamptz;
    today timestamptz := date_trunc('day', now() AT TIME ZONE 'Asia/Jakarta')
                         AT TIME ZONE 'Asia/Jakarta';
    min_houses double precision;
    hi_above double precision;
    abj_below double precision;
    result json;
BEGIN
    acc := pantau_console.viewer_of(who);
    ws := CASE WHEN week IS NULL THEN pantau_console.week_start(at)
               ELSE date_trunc('week', week::timestamp) AT TIME ZONE 'Asia/Jakarta' END;
    min_houses := pantau_alert.setting_num('larva_min_houses', NULL, ws);
    hi_above := pantau_alert.setting_num('larva_hi_above', NULL, ws);
    abj_below := pantau_alert.setting_num('larva_abj_below', NULL, ws);
    WITH i AS MATERIALIZED (
        SELECT * FROM pantau_console.larva_between(ws, ws + interval '7 days')
    ), c AS (
        SELECT i.kelurahan, sum(k.inspected) AS inspected, sum(k.positive) AS positive
        FROM i
        JOIN pantau.larva_container k
          ON k.device_id = i.device_id AND k.store_id = i.store_id AND k.seq = i.seq
        WHERE i.building = 'house'
        GROUP BY 1
    ), h AS (
        SELECT i.kelurahan, count(*) AS houses, count(*) FILTER (WHERE i.larvae_found) AS positive,
               max(i.best) AS last_best
        FROM i WHERE i.building = 'house'
        GROUP BY 1
    ), kel AS (
        SELECT json_agg(json_build_object(
                   'code', kl.code, 'name', kl.name, 'kecamatan_name', kc.name,
                   'houses_inspected', coalesce(h.houses, 0),
                   'houses_positive', coalesce(h.positive, 0),
                   'abj_pct', round(100.0 * (h.houses - h.positive) / nullif(h.houses, 0), 1),
                   'hi_pct', round(100.0 * h.positive / nullif(h.houses, 0), 1),
                   'containers_inspected', coalesce(c.inspected, 0),
                   'containers_positive', coalesce(c.positive, 0),
                   'ci_pct', round(100.0 * c.positive / nullif(c.inspected, 0), 1),
                   'bi', round(100.0 * coalesce(c.positive, 0) / nullif(h.houses, 0), 1),
                   'meets_target', CASE WHEN h.houses > 0
                                        THEN (h.houses - h.positive) * 100.0
                                             >= abj_below * h.houses END,
                   'enough_houses', coalesce(h.houses, 0) >= min_houses,
                   'as_of', pantau_alert.json_time(h.last_best))
                   ORDER BY kl.code) AS j
        FROM pantau.kelurahan kl
        JOIN pantau.kecamatan kc ON kc.code = kl.kecamatan_code
        LEFT JOIN h ON h.kelurahan = kl.code
        LEFT JOIN c ON c.kelurahan = kl.code
    ), rw AS (
        SELECT i.kelurahan, i.rw, count(*) AS houses,
               count(*) FILTER (WHERE i.larvae_found) AS positive, max(i.best) AS last_best
        FROM i WHERE i.building = 'house'
        GROUP BY 1, 2
    ), fog AS (
        SELECT json_agg(json_build_object(
                   'kelurahan_code', rw.kelurahan, 'kelurahan_name', kl.name, 'rw', rw.rw,
                   'houses_inspected', rw.houses, 'houses_positive', rw.positive,
                   'hi_pct', round(100.0 * rw.positive / rw.houses, 1),
                   'alert_id', (SELECT a.alert_id FROM pantau_alert.alert a
                                WHERE a.kind = 'larva_house_index' AND a.area_code = rw.kelurahan
                                  AND a.rw = rw.rw AND a.condition_time = ws
                                ORDER BY a.alert_id DESC LIMIT 1),
                   'as_of', pantau_alert.json_time(rw.last_best))
                   ORDER BY rw.positive * 1.0 / rw.houses DESC, rw.kelurahan, rw.rw) AS j
        FROM rw
        JOIN pantau.kelurahan kl ON kl.code = rw.kelurahan
        -- HI above larva_hi_above from larva_min_houses houses: the larva_house_index rule
        WHERE rw.houses >= min_houses AND rw.positive * 100.0 > hi_above * rw.houses
    ), pos AS (
        SELECT json_agg(json_build_object(
                   'kelurahan_code', t.kelurahan, 'kelurahan_name', kl.name, 'rw', t.rw,
                   'rt', t.rt, 'building', t.building,
                   't', pantau_alert.json_time(t.best),
                   'address', CASE WHEN acc.health THEN t.address END,
                   'lat', CASE WHEN acc.health THEN t.lat END,
                   'lon', CASE WHEN acc.health THEN t.lon END,
                   'inspector', CASE WHEN acc.health THEN t.inspector END)
                   ORDER BY t.best DESC) AS j,
               count(*) AS n
        FROM pantau_console.larva_between(today, today + interval '1 day') t
        JOIN pantau.kelurahan kl ON kl.code = t.kelurahan
        WHERE t.larvae_found
    )
    SELECT json_build_object(
        'generated_at', pantau_alert.json_time(at),
        'week', to_char(ws AT TIME ZONE 'Asia/Jakarta', 'YYYY-MM-DD'),
        'week_from', pantau_alert.json_time(ws),
        'week_to', pantau_alert.json_time(ws + interval '7 days'),
        'target_abj_pct', abj_below, 'hi_fogging_pct', hi_above, 'min_houses', min_houses,
        'personal', acc.health,
        'kelurahan', coalesce((SELECT j FROM kel), '[]'::json),
        'fogging_rw', coalesce((SELECT j FROM fog), '[]'::json),
        'positives_today', json_build_object(
            'day', to_char(today AT TIME ZONE 'Asia/Jakarta', 'YYYY-MM-DD'),
            'count', (SELECT n FROM pos),
            'inspections', coalesce((SELECT j FROM pos), '[]'::json),
            'as_of', pantau_alert.json_time(at)))
    INTO result;
    RETURN result;
END
$$;
COMMENT ON FUNCTION pantau_console.jumantik(text, date) IS 'Jumantik (GET /api/jumantik): per kelurahan for the ISO week (WIB) holding `week` (NULL: this week), by best time, houses only: ABJ, HI, CI, BI from the raw counts (as pantau_report.larva_index_week) against the target larva_abj_below; the RW whose HI is above larva_hi_above from larva_min_houses houses (fogging); today''s positive inspections with RW/RT, and their address, GPS and inspector only when the account may see personal data (personal)';

-- ---- the pipe's health -------------------------------------------------------------------------

CREATE FUNCTION pantau_console.system(who text)
RETURNS json LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog SET jit = off AS $$
DECLARE
    acc pantau_console.viewer;
    at timestamptz := now();
    result json;
BEGIN
    acc := pantau_console.viewer_of(who);
    WITH dev0 AS MATERIALIZED (
        -- the store a device numbers with now: its status's, else (no status ever) the store
        -- of the reading that arrived last
        SELECT d.device_id,
               coalesce(s.store_id,
                        (SELECT l.store_id FROM pantau.reading_ledger l
                         WHERE l.device_id = d.device_id
                         ORDER BY l.received_at DESC LIMIT 1)) AS store
        FROM pantau.device d
        LEFT JOIN pantau.device_status s ON s.device_id = d.device_id
    ), dev AS MATERIALIZED (
        SELECT d.device_id, d.kind, d.enabled, d.description, s.state, s.conn, d0.store AS store_id,
               s.ts, s.clock_synced, s.agent, s.backlog, s.rejected, s.dropped, s.stations,
               s.updated_at, lr.seq AS last_seq, lr.received_at AS last_received,
               lr.best AS last_best
        FROM pantau.device d
        JOIN dev0 d0 ON d0.device_id = d.device_id
        LEFT JOIN pantau.device_status s ON s.device_id = d.device_id
        LEFT JOIN LATERAL (
            -- its latest readings: the 100 highest sequence numbers of that store (primary
            -- key, backwards), of which the one that arrived last and the latest best time
            SELECT max(x.seq) AS seq, max(x.received_at) AS received_at, max(x.best) AS best
            FROM (SELECT l.seq, l.received_at,
                         pantau.reading_best_time(l.ts, l.clock_synced, l.ts_corrected,
                                                  l.received_at) AS best
                  FROM pantau.reading_ledger l
                  WHERE l.device_id = d.device_id AND l.store_id = d0.store
                  ORDER BY l.seq DESC LIMIT 100) x) lr ON true
    ), holes AS (
        -- the devices with a hole among the last 5000 numbers of their current store: fewer
        -- rows than the span of numbers (an index-only count); only these are read in full
        SELECT dev.device_id, dev.store_id, dev.last_seq
        FROM dev
        CROSS JOIN LATERAL (
            SELECT count(*) AS n, min(l.seq) AS lo
            FROM pantau.reading_ledger l
            WHERE l.device_id = dev.device_id AND l.store_id = dev.store_id
              AND l.seq > dev.last_seq - 5000) w
        WHERE dev.last_seq IS NOT NULL AND w.n < dev.last_seq - w.lo + 1
    ), gaps AS (
        -- runs of sequence numbers never stored among the last 5000 of each device's current
        -- store, with the best times of the readings on both sides ("lost at 02:00?")
        SELECT g.device_id, g.first_seq, g.last_seq, g.missing, g.after_best, g.before_best,
               g.before_received,
               EXISTS (SELECT 1 FROM pantau.dropped_range r
                       WHERE r.device_id = g.device_id AND r.store_id = g.store_id
                         AND r.first_seq <= g.first_seq AND r.last_seq >= g.last_seq)
                   AS dropped_by_device
        FROM (
            SELECT w.device_id, w.store_id, w.prev + 1 AS first_seq, w.seq - 1 AS last_seq,
                   w.seq - w.prev - 1 AS missing, w.prev_best AS after_best,
                   w.best AS before_best, w.received_at AS before_received
            FROM (
                SELECT x.device_id, x.store_id, x.seq, x.received_at, x.best,
                       lag(x.seq) OVER o AS prev, lag(x.best) OVER o AS prev_best,
                       min(x.seq) OVER (PARTITION BY x.device_id) AS lowest
                FROM (SELECT l.device_id, l.store_id, l.seq, l.received_at,
                             pantau.reading_best_time(l.ts, l.clock_synced, l.ts_corrected,
                                                      l.received_at) AS best
                      FROM holes
                      JOIN pantau.reading_ledger l
                        ON l.device_id = holes.device_id AND l.store_id = holes.store_id
                       AND l.seq > holes.last_seq - 5000) x
                WINDOW o AS (PARTITION BY x.device_id ORDER BY x.seq)) w
            WHERE w.prev IS NOT NULL AND w.seq > w.prev + 1) g
    ), devices AS (
        SELECT json_agg(json_build_object(
                   'device_id', dev.device_id, 'kind', dev.kind, 'enabled', dev.enabled,
                   'description', dev.description, 'state', coalesce(dev.state, 'unknown'),
                   'conn', dev.conn, 'store_id', dev.store_id,
                   'connected_at', pantau_alert.json_time(dev.ts),
                   'clock_synced', dev.clock_synced, 'agent', dev.agent,
                   'backlog', dev.backlog, 'rejected', dev.rejected, 'dropped', dev.dropped,
                   'stations', dev.stations,
                   'status_as_of', pantau_alert.json_time(dev.updated_at),
                   'last_seq', dev.last_seq,
                   'last_seen', pantau_alert.json_time(greatest(dev.last_received, dev.updated_at)),
                   'last_reading', pantau_alert.json_time(dev.last_best),
                   'gaps', (SELECT count(*) FROM gaps g WHERE g.device_id = dev.device_id),
                   'missing', (SELECT coalesce(sum(g.missing), 0) FROM gaps g
                               WHERE g.device_id = dev.device_id AND NOT g.dropped_by_device),
                   'as_of', pantau_alert.json_time(greatest(dev.last_received, dev.updated_at)))
                   ORDER BY dev.state = 'online', dev.device_id) AS j
        FROM dev
    ), gap_list AS (
        SELECT json_agg(json_build_object(
                   'device_id', g.device_id, 'first_seq', g.first_seq, 'last_seq', g.last_seq,
                   'missing', g.missing, 'dropped_by_device', g.dropped_by_device,
                   'after', pantau_alert.json_time(g.after_best),
                   'before', pantau_alert.json_time(g.before_best),
                   'as_of', pantau_alert.json_time(g.before_received))
                   ORDER BY g.before_best DESC, g.device_id) AS j
        FROM (SELECT * FROM gaps ORDER BY before_best DESC LIMIT 200) g
    ), dead AS (
        SELECT json_agg(json_build_object(
                   'category', d.category, 'reason', d.reason, 'count', d.n,
                   'devices', d.devices, 'last', pantau_alert.json_time(d.last_at),
                   'as_of', pantau_alert.json_time(at)) ORDER BY d.n DESC, d.category, d.reason)
                   AS j,
               sum(d.n) AS total
        FROM (SELECT x.category, x.reason, count(*) AS n, count(DISTINCT x.device_id) AS devices,
                     max(x.received_at) AS last_at
              FROM pantau_ops.dead_letter x
              WHERE x.received_at >= at - interval '24 hours'
              GROUP BY 1, 2) d
    ), collectors AS (
        SELECT json_agg(json_build_object(
                   'collector_id', substr(s.subject, length('pantau#') + 1),
                   'up', (s.data ->> 'up')::boolean, 'why', s.data ->> 'why',
                   'down_since', pantau_alert.json_time(s.since),
                   'as_of', pantau_alert.json_time((s.data ->> 'seen_at')::timestamptz))
                   ORDER BY s.subject) AS j
        FROM pantau_alert.subject_state s
        WHERE s.rule = 'service' AND s.subject LIKE 'pantau#%'
    )
    SELECT json_build_object(
        'generated_at', pantau_alert.json_time(at),
        'devices', coalesce((SELECT j FROM devices), '[]'::json),
        'devices_online', (SELECT count(*) FROM dev WHERE dev.state = 'online'),
        'devices_total', (SELECT count(*) FROM dev),
        'gaps', coalesce((SELECT j FROM gap_list), '[]'::json),
        'dead_letters', json_build_object(
            'window_h', 24, 'total', coalesce((SELECT total FROM dead), 0),
            'by_reason', coalesce((SELECT j FROM dead), '[]'::json),
            'as_of', pantau_alert.json_time(at)),
        'collectors', coalesce((SELECT j FROM collectors), '[]'::json),
        'database', json_build_object(
            'up', true, 'version', current_setting('server_version'),
            'started_at', pantau_alert.json_time(pg_postmaster_start_time()),
            'size_bytes', pg_database_size(current_database()),
            'connections', (SELECT count(*) FROM pg_stat_activity a
                            WHERE a.datname = current_database()),
            'alert_queue', (SELECT count(*) FROM pantau_alert.pending)
                           + (SELECT count(*) FROM pantau_alert.pending_rule),
            'alert_queue_oldest', pantau_alert.json_time(least(
                (SELECT min(p.queued_at) FROM pantau_alert.pending p),
                (SELECT min(p.queued_at) FROM pantau_alert.pending_rule p))),
            'deliveries_pending', (SELECT count(*) FROM pantau_alert.delivery d
                                   WHERE d.status = 'pending'),
            'deliveries_failed_24h', (SELECT count(*) FROM pantau_alert.delivery d
                                      WHERE d.status = 'failed'
                                        AND d.created_at >= at - interval '24 hours'),
            'as_of', pantau_alert.json_time(at)))
    INTO result;
    RETURN result;
END
$$;
COMMENT ON FUNCTION pantau_console.system(text) IS 'The pipe''s health (GET /api/system): every device with its status (online, connected_at, clock, backlog, rejected, dropped, its stations'' health), last_seen (the latest arrival among the 100 highest sequence numbers of its current store, the one of its status or else of its latest arrival; or its status), last_reading (the latest best time among them); sequence gaps among the last 5000 numbers of each current store with the best times on both sides (after, before) and whether the device dropped them itself; dead letters of the last 24 hours by category and reason; the collectors'' state as pantau-alertd last reported it (018); the database''s state and the alert queue and outbox. Every item has as_of';

-- ---- privileges --------------------------------------------------------------------------------

REVOKE ALL ON FUNCTION pantau_console.flood_series(text, timestamptz), pantau_console.flood_last(text),
    pantau_console.gauge_now(text, timestamptz), pantau_console.cameras_now(timestamptz),
    pantau_console.devices_of(text, timestamptz), pantau_console.week_start(timestamptz),
    pantau_console.kecamatan_label(text),
    pantau_console.larva_between(timestamptz, timestamptz),
    pantau_console.map(text), pantau_console.gauge(text, text, integer),
    pantau_console.traffic(text, integer), pantau_console.jumantik(text, date),
    pantau_console.system(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pantau_console.map(text), pantau_console.gauge(text, text, integer),
    pantau_console.traffic(text, integer), pantau_console.jumantik(text, date),
    pantau_console.system(text) TO pantau_console;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA pantau_console TO pantau_admin;
