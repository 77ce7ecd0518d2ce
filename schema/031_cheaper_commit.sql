-- 031_cheaper_commit: the flood queue trigger reads the ledger only where a reading's best time
-- is not its own ts (issue 15, "A cheaper commit"; docs/benchmarks.md "Collector: a cheaper
-- commit (issue 15)").
--
-- Measured (bench_collector.py --pg-statements, 60,000 flood readings a round): since 026 the
-- collector's flood insert costs 13 to 15 buffer hits per reading against 7 before, the most
-- of any statement of a batch. Its AFTER INSERT trigger (019, 026) looks up every new
-- reading's ledger row by the primary key (a descent of the ledger's largest index and a heap
-- fetch, about 4 hits) for pantau.reading_best_time(). For nearly every reading that is its
-- ts: best time is ts_corrected where set, else ts when clock_synced, else received_at
-- (schema/009), and the facts row's ts is the ledger's (the collector writes both from the
-- same staged row, in one transaction). Now the lookup goes through a partial index of the
-- ledger rows whose best time is something else (an unsynchronised clock, or a correction
-- set): for a synchronised reading it is an empty probe of a small index, and the reading's
-- own ts stands, exactly as coalesce(ts_best, n.ts) gave before.
--
-- The queue rows, the urgent flag and the NOTIFY are 026's, unchanged. The index costs
-- nothing for a synchronised reading (its row is not in it) and one entry for an
-- unsynchronised one or one corrected later (those already enter reading_ledger_unsynced or
-- reading_ledger_ts_corrected, so such an update was never HOT).

CREATE INDEX reading_ledger_offtime ON pantau.reading_ledger (device_id, store_id, seq)
    WHERE NOT clock_synced OR ts_corrected IS NOT NULL;
COMMENT ON INDEX pantau.reading_ledger_offtime IS 'The ledger rows whose best time is not their ts (an unsynchronised clock, or ts_corrected set), by key: the flood queue trigger''s lookup (031)';

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
            -- (the predicate of reading_ledger_offtime, written out so that the plan uses it)
            SELECT pantau.reading_best_time(l.ts, l.clock_synced, l.ts_corrected,
                                            l.received_at) AS ts_best
            FROM pantau.reading_ledger l
            WHERE l.device_id = n.device_id AND l.store_id = n.store_id AND l.seq = n.seq
              AND (NOT l.clock_synced OR l.ts_corrected IS NOT NULL)
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
COMMENT ON FUNCTION pantau_alert.queue_flood_insert() IS 'Trigger (statement, on pantau.flood_reading): queues each gauge of the statement at the earliest best time among its new readings (the ledger row by its key only where the best time is not ts: reading_ledger_offtime, 031), urgent when a new reading is outside the gauge''s calm band (026), and wakes the evaluators (NOTIFY pantau_alert_pending, sent at commit)';
