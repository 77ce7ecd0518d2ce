-- 012_history: history and news, written once (issue 9 item 7, protocol.md 4.1 "History and
-- news"). Alerts page only for news (issue 11); the views count history by the same function.
--
-- A reading is HISTORY when it reached the collector more than the lateness L after it was
-- taken (L = pantau.history_lateness(), 5 minutes; msg/msg_history.h has the same number for
-- devices, and tests/integration/test_history_news.py checks that the two agree); else it is
-- NEWS. "Taken" is the reading's best time (pantau.reading_best_time, 009), and for a traffic
-- count the end of its interval (ts + interval_s: a count exists only once its interval is
-- over). Two judges, each with the clock it can trust, and a reading is history if either says
-- so:
--   the device: replay true = it sent the reading more than L after taking it, by its own
--     clock (a backlog replayed after an outage); false = the first send, or a resend within
--     L (a live reading whose first copy was lost is news);
--   the database: received_at more than L after the best time (+ interval). A reading of an
--     unsynchronised clock without a corrected time has no best time but received_at, so it
--     is judged by replay alone.
-- The collector computes nothing for this: the ledger holds every input. A ts_corrected set
-- later (a synchronised reading of the same boot arriving after it) can only make the time
-- test apply where it could not before; for a reading whose device follows 4.1 the two judges
-- agree but for transit time and clock skew.

CREATE FUNCTION pantau.history_lateness() RETURNS interval
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT interval '5 minutes'
$$;
COMMENT ON FUNCTION pantau.history_lateness() IS 'L of protocol.md 4.1 "History and news": a reading that reaches the collector more than this after it was taken is history, not news (5 minutes; MSG_HISTORY_LATENESS_MS in msg/msg_history.h is the same number)';

CREATE FUNCTION pantau.reading_is_history(replay boolean, ts timestamptz, clock_synced boolean,
                                          ts_corrected timestamptz, received_at timestamptz,
                                          span_s integer)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT replay
        OR ((ts_corrected IS NOT NULL OR clock_synced)
            AND received_at - pantau.reading_best_time(ts, clock_synced, ts_corrected,
                                                       received_at)
                - make_interval(secs => coalesce(span_s, 0))
                > pantau.history_lateness())
$$;
COMMENT ON FUNCTION pantau.reading_is_history(boolean, timestamptz, boolean, timestamptz, timestamptz, integer) IS 'The one definition of history (protocol.md 4.1 "History and news"), from a ledger row''s columns: replay (the device sent it more than pantau.history_lateness() after taking it), or received_at more than pantau.history_lateness() after its best time (pantau.reading_best_time) plus span_s (a traffic count''s interval_s: it is taken when its interval ends; NULL or 0 otherwise). A reading of an unsynchronised clock with no ts_corrected is judged by replay alone. Not history = news: what an alert may page for';

CREATE FUNCTION pantau.reading_is_history(l pantau.reading_ledger) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT pantau.reading_is_history(
        l.replay, l.ts, l.clock_synced, l.ts_corrected, l.received_at,
        CASE WHEN l.stream = 'traffic' THEN
            (SELECT t.interval_s FROM pantau.traffic_count t
             WHERE t.device_id = l.device_id AND t.store_id = l.store_id AND t.seq = l.seq
               AND t.ts = l.ts)
        END)
$$;
COMMENT ON FUNCTION pantau.reading_is_history(pantau.reading_ledger) IS 'pantau.reading_is_history of a whole ledger row (SELECT ... FROM pantau.reading_ledger l WHERE pantau.reading_is_history(l)): looks up a traffic count''s interval_s itself. For views and the alert engine';

COMMENT ON COLUMN pantau.reading_ledger.replay IS 'replay of the copy stored (the first to arrive): true when the device sent it more than pantau.history_lateness() after taking it (protocol.md 4.1). The device''s half of the judgment only: whether a reading is history or news is pantau.reading_is_history(), never this column alone';

-- The views are replaced in place (same columns, same order, new ones at the end), so the
-- grants of 007_privileges.sql stay as they were.

CREATE OR REPLACE VIEW pantau_report.device_reading_hour AS
SELECT device_id,
       date_trunc('hour', pantau.reading_best_time(ts, clock_synced, ts_corrected, received_at)
                          AT TIME ZONE 'Asia/Jakarta') AS hour_wib,
       count(*) FILTER (WHERE outcome = 'stored') AS readings,
       count(*) FILTER (WHERE replay AND outcome = 'stored') AS replayed,
       count(*) FILTER (WHERE NOT clock_synced AND outcome = 'stored') AS clock_unsynced,
       count(*) FILTER (WHERE outcome = 'dead_letter') AS dead_letters,
       count(*) FILTER (WHERE outcome = 'stored' AND pantau.reading_is_history(l)) AS history
FROM pantau.reading_ledger l
GROUP BY 1, 2;
COMMENT ON VIEW pantau_report.device_reading_hour IS 'Readings stored per device and hour (WIB) of best time (ts_corrected where set, else ts when clock_synced, else received_at); replayed: of them sent with replay true (the device''s judgment alone); clock_unsynced: taken with an unsynchronised clock; dead_letters: its readings that went to the dead letters; history: stored readings that are history by pantau.reading_is_history (protocol.md 4.1), the rest being news';

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
       l.received_at,
       pantau.reading_is_history(l.replay, l.ts, l.clock_synced, l.ts_corrected,
                                 l.received_at, 0) AS history
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
COMMENT ON VIEW pantau_report.flood_level IS 'Flood readings with envelope, level recomputed from the registry''s mounting offset (level_registry_cm = offset - distance, cm) and Siaga 1-4 from the thresholds valid at the best time ts_best (pantau.reading_best_time: ts_corrected where set, else ts when clock_synced, else received_at, when the collector received it); ts is the time as reported; history: the reading is history, not news (pantau.reading_is_history, protocol.md 4.1; replay is the device''s half of that judgment)';

-- flood_latest is SELECT * of flood_level: made again so that it has history too.
CREATE OR REPLACE VIEW pantau_report.flood_latest AS
SELECT DISTINCT ON (station_id) *
FROM pantau_report.flood_level
ORDER BY station_id, ts_best DESC, seq DESC;
COMMENT ON VIEW pantau_report.flood_latest IS 'The latest reading of each gauge by best time (ts_best: ts_corrected where set, else ts when clock_synced, else received_at) with its Siaga status (4 normal .. 1 highest) at that time, and whether it is history (pantau.reading_is_history)';
