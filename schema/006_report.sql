-- 006_report: views for analysts. Days, weeks and hours are cut in WIB (Asia/Jakarta); the
-- views are owned by the migrating role, so analysts read them without reading the personal
-- data underneath (PostgreSQL checks a view's base tables as its owner).

-- Every flood reading with its envelope, the level recomputed from the registry's mounting
-- offset valid at the reading's time, and the Siaga status from the thresholds valid then.
CREATE VIEW pantau_report.flood_level AS
SELECT f.station_id,
       f.ts,
       l.ts_corrected,
       coalesce(l.ts_corrected, f.ts) AS ts_best,
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
       f.seq
FROM pantau.flood_reading f
JOIN pantau.reading_ledger l USING (device_id, store_id, seq)
LEFT JOIN pantau.gauge_mount m ON m.station_id = f.station_id AND m.valid @> f.ts
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
    WHERE t.station_id = f.station_id AND t.valid @> f.ts AND q.v IS NOT NULL
    ORDER BY t.quantity = 'level_cm' DESC
    LIMIT 1
) s ON true;
COMMENT ON VIEW pantau_report.flood_level IS 'Flood readings with envelope, level recomputed from the registry''s mounting offset (level_registry_cm = offset - distance, cm) and Siaga 1-4 from the thresholds valid at ts';

CREATE VIEW pantau_report.flood_latest AS
SELECT DISTINCT ON (station_id) *
FROM pantau_report.flood_level
ORDER BY station_id, ts DESC, seq DESC;
COMMENT ON VIEW pantau_report.flood_latest IS 'The latest reading of each gauge (by reading time) with its Siaga status (4 normal .. 1 highest)';

-- Jumantik indices from raw counts (DOMAIN.md): house-based indices count buildings of type
-- house; ABJ = houses without larvae / houses inspected x 100; HI = 100 - ABJ;
-- CI = positive containers / inspected containers x 100; BI = positive containers per 100 houses.
CREATE VIEW pantau_report.larva_index_week AS
WITH h AS (
    SELECT i.kelurahan,
           date_trunc('week', i.ts AT TIME ZONE 'Asia/Jakarta')::date AS week,
           count(*) AS houses_inspected,
           count(*) FILTER (WHERE i.larvae_found) AS houses_positive
    FROM pantau_pii.larva_inspection i
    WHERE i.building = 'house'
    GROUP BY 1, 2
), c AS (
    SELECT i.kelurahan,
           date_trunc('week', i.ts AT TIME ZONE 'Asia/Jakarta')::date AS week,
           sum(k.inspected) AS containers_inspected,
           sum(k.positive) AS containers_positive
    FROM pantau_pii.larva_inspection i
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
COMMENT ON VIEW pantau_report.larva_index_week IS 'Larva indices per kelurahan and ISO week (WIB), houses only: ABJ (target >= 95 %), HI, CI, BI, with the raw counts';

CREATE VIEW pantau_report.larva_rt_week AS
SELECT i.kelurahan AS kelurahan_code,
       i.rw,
       i.rt,
       date_trunc('week', i.ts AT TIME ZONE 'Asia/Jakarta')::date AS week,
       i.building,
       count(*) AS inspections,
       count(*) FILTER (WHERE i.larvae_found) AS with_larvae
FROM pantau_pii.larva_inspection i
GROUP BY 1, 2, 3, 4, 5;
COMMENT ON VIEW pantau_report.larva_rt_week IS 'Inspections per kelurahan, RW, RT, week (WIB) and building type: counts only, no addresses, names or GPS';

-- Traffic level of service per camera and hour (WIB). Light-vehicle equivalents (PKJI 2023,
-- urban): motorcycle 0.25, car 1.0, bus 1.2, truck 1.3; non-motorised excluded. q is pcu per
-- hour over the time observed (intervals summed per lane), DS = q / C, and the level of service
-- follows KM 14/2006 (speed and V/C); without a speed it follows V/C alone.
CREATE VIEW pantau_report.traffic_los_hour AS
WITH per_hour AS (
    SELECT t.station_id,
           date_trunc('hour', t.ts AT TIME ZONE 'Asia/Jakarta') AS hour_wib,
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
COMMENT ON VIEW pantau_report.traffic_los_hour IS 'Per camera and hour (WIB): counts, flow q in pcu/h, degree of saturation DS = q/C, weighted average speed (km/h) and level of service A-F';

CREATE VIEW pantau_report.device_reading_hour AS
SELECT device_id,
       date_trunc('hour', coalesce(ts_corrected, ts) AT TIME ZONE 'Asia/Jakarta') AS hour_wib,
       count(*) AS readings,
       count(*) FILTER (WHERE replay) AS replayed,
       count(*) FILTER (WHERE NOT clock_synced) AS clock_unsynced
FROM pantau.reading_ledger
GROUP BY 1, 2;
COMMENT ON VIEW pantau_report.device_reading_hour IS 'Readings stored per device and hour of reading time (WIB), with how many came as replays and with an unsynchronised clock';

-- Gaps: sequence numbers a store never delivered (between its stored ones, and before the
-- first), and whether the device reported them as dropped itself.
CREATE VIEW pantau_report.reading_gap AS
WITH runs AS (
    SELECT device_id, store_id, seq,
           lag(seq, 1, 0::bigint) OVER (PARTITION BY device_id, store_id ORDER BY seq) AS prev
    FROM pantau.reading_ledger
)
SELECT r.device_id, r.store_id,
       r.prev + 1 AS first_seq,
       r.seq - 1 AS last_seq,
       r.seq - r.prev - 1 AS missing,
       EXISTS (SELECT 1 FROM pantau.dropped_range d
               WHERE d.device_id = r.device_id AND d.store_id = r.store_id
                 AND d.first_seq <= r.prev + 1 AND d.last_seq >= r.seq - 1) AS dropped_by_device
FROM runs r
WHERE r.seq > r.prev + 1;
COMMENT ON VIEW pantau_report.reading_gap IS 'Runs of sequence numbers never stored (first_seq..last_seq); dropped_by_device when the device reported the whole run as dropped';
