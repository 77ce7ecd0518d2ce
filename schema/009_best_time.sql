-- 009_best_time: the analysts' views judge every reading at its best time (issue 9 item 2), and
-- the broker reads station kinds (issue 9 item 1).
--
-- The best time of a reading, written once in pantau.reading_best_time():
--   ts_corrected where the collector set it (protocol.md 4.1: recomputed from a synchronised
--   reading of the same boot), else ts when the device's clock was synchronised, else the time
--   the collector received the reading (reading_ledger.received_at): a reading taken before the
--   clock was set says 1970, and the moment it arrived is the nearest time known.
-- So a gateway without NTP gets its Siaga level (the mount and thresholds valid at the best
-- time) and counts as "latest" once its time is corrected, and even before that at the time it
-- came in, instead of being filed under 1970.
--
-- The views are replaced in place (CREATE OR REPLACE: same columns, same order), so the grants
-- of 007_privileges.sql stay as they were. Only columns added at the end are new.

CREATE FUNCTION pantau.reading_best_time(ts timestamptz, clock_synced boolean,
                                         ts_corrected timestamptz, received_at timestamptz)
RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN ts_corrected IS NOT NULL THEN ts_corrected
                WHEN clock_synced THEN ts
                ELSE received_at END
$$;
COMMENT ON FUNCTION pantau.reading_best_time(timestamptz, boolean, timestamptz, timestamptz) IS 'The best time known of a reading (protocol.md 4.1), from its ledger row: ts_corrected where set, else ts when clock_synced, else received_at (when the collector received it). Every analyst view uses it';

-- The broker's registry cache (broker-plugins/regcache.c) checks that a station's kind fits the
-- stream (flood: a gauge; traffic and incident: a camera) as the collector does: it reads the
-- kind of each bound station, and nothing else of pantau.station.
GRANT SELECT (station_id, kind) ON pantau.station TO pantau_broker;

CREATE OR REPLACE VIEW pantau_report.flood_level AS
SELECT f.station_id,
       f.ts,
       l.ts_corrected,
       b.ts_best,
       l.clock_synced,
       l.replay,
       f.level_cm,
       m.offset_cm - f.distance_cm AS level_registry_cm,
       f.discharge_m3s,
       f.distance_cm,
       f.offset_cm,
       f.rise_cm_h,
       f.rain_mm,
       f.battery_v,
       s.siaga,
       'Siaga ' || s.siaga AS siaga_label,
       f.device_id,
       f.store_id,
       f.seq,
       l.received_at
FROM pantau.flood_reading f
JOIN pantau.reading_ledger l USING (device_id, store_id, seq)
CROSS JOIN LATERAL (SELECT pantau.reading_best_time(l.ts, l.clock_synced, l.ts_corrected,
                                                    l.received_at) AS ts_best) b
LEFT JOIN pantau.gauge_mount m ON m.station_id = f.station_id AND m.valid @> b.ts_best
LEFT JOIN LATERAL (
    SELECT CASE WHEN v >= t.siaga1_from THEN 1
                WHEN v >= t.siaga2_from THEN 2
                WHEN v >= t.siaga3_from THEN 3
                ELSE 4 END AS siaga
    FROM pantau.gauge_threshold t
    CROSS JOIN LATERAL (SELECT CASE t.quantity
                                   WHEN 'level_cm' THEN coalesce(f.level_cm,
                                                                 m.offset_cm - f.distance_cm)
                                   ELSE f.discharge_m3s END AS v) q
    WHERE t.station_id = f.station_id AND t.valid @> b.ts_best AND q.v IS NOT NULL
    ORDER BY t.quantity = 'level_cm' DESC
    LIMIT 1
) s ON true;
COMMENT ON VIEW pantau_report.flood_level IS 'Flood readings with envelope, level recomputed from the registry''s mounting offset (level_registry_cm = offset - distance, cm) and Siaga 1-4 from the thresholds valid at the best time ts_best (pantau.reading_best_time: ts_corrected where set, else ts when clock_synced, else received_at, when the collector received it); ts is the time as reported';

CREATE OR REPLACE VIEW pantau_report.flood_latest AS
SELECT DISTINCT ON (station_id) *
FROM pantau_report.flood_level
ORDER BY station_id, ts_best DESC, seq DESC;
COMMENT ON VIEW pantau_report.flood_latest IS 'The latest reading of each gauge by best time (ts_best: ts_corrected where set, else ts when clock_synced, else received_at) with its Siaga status (4 normal .. 1 highest) at that time';

CREATE OR REPLACE VIEW pantau_report.larva_index_week AS
WITH i AS (
    SELECT i.*,
           pantau.reading_best_time(l.ts, l.clock_synced, l.ts_corrected, l.received_at)
               AS ts_best
    FROM pantau_pii.larva_inspection i
    JOIN pantau.reading_ledger l USING (device_id, store_id, seq)
), h AS (
    SELECT i.kelurahan,
           date_trunc('week', i.ts_best AT TIME ZONE 'Asia/Jakarta')::date AS week,
           count(*) AS houses_inspected,
           count(*) FILTER (WHERE i.larvae_found) AS houses_positive
    FROM i
    WHERE i.building = 'house'
    GROUP BY 1, 2
), c AS (
    SELECT i.kelurahan,
           date_trunc('week', i.ts_best AT TIME ZONE 'Asia/Jakarta')::date AS week,
           sum(k.inspected) AS containers_inspected,
           sum(k.positive) AS containers_positive
    FROM i
    JOIN pantau.larva_container k USING (device_id, store_id, seq)
    WHERE i.building = 'house'
    GROUP BY 1, 2
)
SELECT h.kelurahan AS kelurahan_code,
       kl.name AS kelurahan_name,
       h.week,
       h.houses_inspected,
       h.houses_positive,
       round(100.0 * (h.houses_inspected - h.houses_positive) / h.houses_inspected, 1) AS abj_pct,
       round(100.0 * h.houses_positive / h.houses_inspected, 1) AS hi_pct,
       coalesce(c.containers_inspected, 0) AS containers_inspected,
       coalesce(c.containers_positive, 0) AS containers_positive,
       CASE WHEN coalesce(c.containers_inspected, 0) > 0
            THEN round(100.0 * c.containers_positive / c.containers_inspected, 1) END AS ci_pct,
       round(100.0 * coalesce(c.containers_positive, 0) / h.houses_inspected, 1) AS bi
FROM h
LEFT JOIN c USING (kelurahan, week)
JOIN pantau.kelurahan kl ON kl.code = h.kelurahan;
COMMENT ON VIEW pantau_report.larva_index_week IS 'Larva indices per kelurahan and ISO week (WIB) of the best time of each inspection (ts_corrected where set, else ts when clock_synced, else received_at), houses only: ABJ (target >= 95 %), HI, CI, BI, with the raw counts';

CREATE OR REPLACE VIEW pantau_report.larva_rt_week AS
SELECT i.kelurahan AS kelurahan_code,
       i.rw,
       i.rt,
       date_trunc('week', pantau.reading_best_time(l.ts, l.clock_synced, l.ts_corrected,
                                                   l.received_at)
                          AT TIME ZONE 'Asia/Jakarta')::date AS week,
       i.building,
       count(*) AS inspections,
       count(*) FILTER (WHERE i.larvae_found) AS with_larvae
FROM pantau_pii.larva_inspection i
JOIN pantau.reading_ledger l USING (device_id, store_id, seq)
GROUP BY 1, 2, 3, 4, 5;
COMMENT ON VIEW pantau_report.larva_rt_week IS 'Inspections per kelurahan, RW, RT, week (WIB, of the best time: ts_corrected where set, else ts when clock_synced, else received_at) and building type: counts only, no addresses, names or GPS';

CREATE OR REPLACE VIEW pantau_report.traffic_los_hour AS
WITH per_hour AS (
    SELECT t.station_id,
           date_trunc('hour', pantau.reading_best_time(l.ts, l.clock_synced, l.ts_corrected,
                                                       l.received_at)
                              AT TIME ZONE 'Asia/Jakarta') AS hour_wib,
           sum(coalesce(t.motorcycle, 0)) AS motorcycle,
           sum(coalesce(t.car, 0)) AS car,
           sum(coalesce(t.bus, 0)) AS bus,
           sum(coalesce(t.truck, 0)) AS truck,
           sum(coalesce(t.nonmotor, 0)) AS nonmotor,
           sum(0.25 * coalesce(t.motorcycle, 0) + coalesce(t.car, 0) + 1.2 * coalesce(t.bus, 0)
               + 1.3 * coalesce(t.truck, 0)) AS pcu,
           sum(t.interval_s)::double precision / count(DISTINCT t.lane) AS observed_s,
           sum(t.speed_kmh * (coalesce(t.motorcycle, 0) + coalesce(t.car, 0)
                              + coalesce(t.bus, 0) + coalesce(t.truck, 0)))
               / nullif(sum(CASE WHEN t.speed_kmh IS NOT NULL
                                 THEN coalesce(t.motorcycle, 0) + coalesce(t.car, 0)
                                      + coalesce(t.bus, 0) + coalesce(t.truck, 0) END), 0)
               AS speed_kmh
    FROM pantau.traffic_count t
    JOIN pantau.reading_ledger l USING (device_id, store_id, seq)
    GROUP BY 1, 2
), q AS (
    SELECT p.*,
           p.pcu * 3600.0 / nullif(p.observed_s, 0) AS q_pcu_h,
           s.capacity_pcu_h
    FROM per_hour p
    JOIN pantau.station s USING (station_id)
), d AS (
    SELECT q.*, q.q_pcu_h / q.capacity_pcu_h AS ds FROM q
)
SELECT station_id, hour_wib, motorcycle, car, bus, truck, nonmotor,
       round(q_pcu_h::numeric, 1) AS q_pcu_h,
       capacity_pcu_h,
       round(ds::numeric, 3) AS ds,
       round(speed_kmh::numeric, 1) AS speed_kmh,
       CASE WHEN ds IS NULL THEN NULL
            WHEN ds <= 0.6 AND coalesce(speed_kmh >= 80, true) THEN 'A'
            WHEN ds <= 0.7 AND coalesce(speed_kmh >= 40, true) THEN 'B'
            WHEN ds <= 0.8 AND coalesce(speed_kmh >= 30, true) THEN 'C'
            WHEN ds <= 0.9 AND coalesce(speed_kmh >= 25, true) THEN 'D'
            WHEN ds <= 1.0 AND coalesce(speed_kmh > 15, true) THEN 'E'
            ELSE 'F' END AS los
FROM d;
COMMENT ON VIEW pantau_report.traffic_los_hour IS 'Per camera and hour (WIB) of the best time of each count (its interval''s start: ts_corrected where set, else ts when clock_synced, else received_at): counts, flow q in pcu/h, degree of saturation DS = q/C, weighted average speed (km/h) and level of service A-F';

CREATE OR REPLACE VIEW pantau_report.device_reading_hour AS
SELECT device_id,
       date_trunc('hour', pantau.reading_best_time(ts, clock_synced, ts_corrected, received_at)
                          AT TIME ZONE 'Asia/Jakarta') AS hour_wib,
       count(*) FILTER (WHERE outcome = 'stored') AS readings,
       count(*) FILTER (WHERE replay AND outcome = 'stored') AS replayed,
       count(*) FILTER (WHERE NOT clock_synced AND outcome = 'stored') AS clock_unsynced,
       count(*) FILTER (WHERE outcome = 'dead_letter') AS dead_letters
FROM pantau.reading_ledger
GROUP BY 1, 2;
COMMENT ON VIEW pantau_report.device_reading_hour IS 'Readings stored per device and hour (WIB) of best time (ts_corrected where set, else ts when clock_synced, else received_at), with how many came as replays and with an unsynchronised clock, and how many of its readings went to the dead letters';

-- reading_gap works on sequence numbers only: no time in it to correct.
COMMENT ON VIEW pantau_report.reading_gap IS 'Runs of sequence numbers never stored (first_seq..last_seq); dropped_by_device when the device reported the whole run as dropped. By sequence number, not time';

-- Which time a binding is judged at (protocol.md 4.1, msg/msg_binding.c).
COMMENT ON COLUMN pantau.device_station.valid IS 'When: [from, to), to NULL = still. A reading is judged at its ts when clock_synced, else at the time the broker and the collector received it (protocol.md 4.1)';
