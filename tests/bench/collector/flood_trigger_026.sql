-- bench_collector.py --ref-sql: the flood queue trigger function as schema/026_alert_urgent.sql
-- left it (before 031), for the reference rounds; flood_trigger_031.sql puts 031's back.
CREATE OR REPLACE FUNCTION pantau_alert.queue_flood_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    INSERT INTO pantau_alert.pending (station_id, since, urgent)
    SELECT s.station_id, s.since,
           g.station_id IS NULL OR g.calm_lo IS NULL
           OR coalesce(CASE WHEN g.calm_quantity = 'discharge_m3s' THEN s.lo_q
                            ELSE least(s.lo_l, g.calm_offset - s.hi_d) END < g.calm_lo, false)
           OR coalesce(CASE WHEN g.calm_quantity = 'discharge_m3s' THEN s.hi_q
                            ELSE greatest(s.hi_l, g.calm_offset - s.lo_d) END >= g.calm_hi,
                       false)
           OR coalesce(greatest(s.hi_l, g.calm_offset - s.lo_d) >= g.calm_rise_from, false)
           OR coalesce(greatest(s.hi_l, g.calm_offset - s.lo_d)
                       - least(s.lo_l, g.calm_offset - s.hi_d) >= g.calm_rise_cm, false)
    FROM (
        SELECT n.station_id, min(coalesce(b.ts_best, n.ts)) AS since,
               min(n.level_cm) AS lo_l, max(n.level_cm) AS hi_l,
               min(n.distance_cm) AS lo_d, max(n.distance_cm) AS hi_d,
               min(n.discharge_m3s) AS lo_q, max(n.discharge_m3s) AS hi_q
        FROM new_rows n
        LEFT JOIN LATERAL (
            SELECT pantau.reading_best_time(l.ts, l.clock_synced, l.ts_corrected,
                                            l.received_at) AS ts_best
            FROM pantau.reading_ledger l
            WHERE l.device_id = n.device_id AND l.store_id = n.store_id AND l.seq = n.seq
            LIMIT 1
        ) b ON true
        GROUP BY n.station_id
    ) s
    LEFT JOIN LATERAL (
        SELECT x.station_id, x.calm_quantity, x.calm_offset, x.calm_lo, x.calm_hi,
               x.calm_rise_from, x.calm_rise_cm
        FROM pantau_alert.gauge_state x WHERE x.station_id = s.station_id LIMIT 1
    ) g ON true;
    IF FOUND THEN
        PERFORM pg_notify('pantau_alert_pending', '');
    END IF;
    RETURN NULL;
END
$$;
