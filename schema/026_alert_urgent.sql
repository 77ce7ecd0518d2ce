-- 026_alert_urgent: an alert-worthy change jumps the queue (issue 11: p99 from commit to
-- delivery under 1 s at half the collector's peak; docs/alerts.md "Urgent first (026)",
-- docs/benchmarks.md "Alerts").
--
-- Measured before (019, docs/benchmarks.md "019 on a quiet machine"): at 6,610 readings/s a
-- reading that changed its gauge's Siaga level waited p50 4.2 s in the queue behind the other
-- gauges' routine readings (evaluate() claims in queue order), then one evaluate(50)
-- transaction before its delivery. Now:
--   1. The queue trigger marks a gauge's item `urgent` when one of its new readings may change
--      something: a value outside the gauge's calm band (gauge_state.calm_*: at or above the
--      next higher threshold, below the fall line of its level, at or above the lowest level
--      its rise windows hold + the smaller rise) or a rise within the statement itself, or a
--      gauge without a band yet. Cheap: one aggregate per gauge of the statement and one
--      gauge_state row by its key, no threshold, mount or settings lookup per reading.
--   2. evaluate() claims the urgent items first (with the other items of their gauges: one
--      evaluation reads them all) and the urgent items of the rules' queue (larva
--      inspections, camera incidents: rare and always news to someone); a call that found
--      urgent work evaluates only that, so it is short, and pantau-alertd delivers right after
--      a call that raised something (it hears NOTIFY pantau_alert at its commit). Routine work
--      (the flood queue in order, congestion counts) is taken only by a call that found no
--      urgent work, and that call stops between two gauges when urgent work has come in
--      meanwhile (the rest stays queued in its order): urgent work waits for one routine
--      gauge's evaluation, not for a batch of them.
--   3. After each evaluation of a gauge its calm band is written with the rest of its state
--      (one UPDATE, as 019), from the thresholds and settings of its last reading (the live
--      case has them in hand), the mount then, its level and its rise state.
-- Exactly once and news-not-history are unchanged: the urgent flag only changes the order in
-- which items are claimed; each gauge is evaluated by 019's code under the same row lock, from
-- the same state, with the same keys. A band that is out of date (a threshold, mount or
-- settings version that starts after the latest reading) only makes an item routine or urgent
-- when it need not be; never an alert more or less.

-- ---- the queues ----------------------------------------------------------------------------------

ALTER TABLE pantau_alert.pending ADD COLUMN urgent boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN pantau_alert.pending.urgent IS 'A new reading of the item may change the gauge''s level or raise a rise (outside gauge_state''s calm band; 026): evaluate() claims urgent items first';
CREATE INDEX pending_urgent ON pantau_alert.pending (pending_id) WHERE urgent;
-- larva inspections and camera incidents before congestion counts
CREATE INDEX pending_rule_urgent ON pantau_alert.pending_rule (pending_id)
    WHERE rule <> 'congestion';

ALTER TABLE pantau_alert.gauge_state
    ADD COLUMN calm_quantity text,
    ADD COLUMN calm_offset double precision,
    ADD COLUMN calm_lo double precision,
    ADD COLUMN calm_hi double precision,
    ADD COLUMN calm_rise_from double precision,
    ADD COLUMN calm_rise_cm double precision;
COMMENT ON COLUMN pantau_alert.gauge_state.calm_quantity IS 'The quantity of the thresholds at the latest reading evaluated (level_cm, discharge_m3s): what calm_lo and calm_hi are in (026)';
COMMENT ON COLUMN pantau_alert.gauge_state.calm_offset IS 'The mounting offset (cm) at the latest reading evaluated: a reading''s level is level_cm, else this - distance_cm (026)';
COMMENT ON COLUMN pantau_alert.gauge_state.calm_lo IS 'Calm band (026): a value below this (the fall line of the current level: its threshold - fall_margin; -infinity at Siaga 4) may start or end a fall: urgent. NULL: no band (no level yet): every reading is urgent';
COMMENT ON COLUMN pantau_alert.gauge_state.calm_hi IS 'Calm band (026): a value at or above this (the next higher threshold; infinity at Siaga 1) raises the level: urgent';
COMMENT ON COLUMN pantau_alert.gauge_state.calm_rise_from IS 'A level (cm) at or above this may meet a rate-of-rise rule (the lowest level the rise windows hold + the smaller rise): urgent (026). NULL: no rise state';
COMMENT ON COLUMN pantau_alert.gauge_state.calm_rise_cm IS 'The smaller rise of the two windows (cm): new readings of one statement that rise this much among themselves are urgent (026)';

-- The flood queue trigger of 019 (each reading's ledger row by its key), and the urgent flag:
-- per gauge of the statement the lowest and highest of each quantity, against the gauge's
-- calm band (one row by its key).
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
COMMENT ON FUNCTION pantau_alert.queue_flood_insert() IS 'Trigger (statement, on pantau.flood_reading): queues each gauge of the statement at the earliest best time among its new readings (each reading''s ledger row by its key, 019), urgent when a new reading is outside the gauge''s calm band (026), and wakes the evaluators (NOTIFY pantau_alert_pending, sent at commit)';

-- ---- the calm band -------------------------------------------------------------------------------

-- What evaluate_gauge() writes with the rest of its state, in the same UPDATE: from the
-- thresholds and settings of the last reading it read (the live case hands them over: no
-- lookup), else looked up at the latest reading evaluated.
CREATE FUNCTION pantau_alert.calm_band(station text, last pantau_alert.live_reading,
                                       OUT quantity text, OUT offset_cm double precision,
                                       OUT siaga3_from double precision,
                                       OUT siaga2_from double precision,
                                       OUT siaga1_from double precision,
                                       OUT fall_margin double precision,
                                       OUT rise_cm double precision)
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    at timestamptz;
    t record;
    s record;
BEGIN
    IF last IS NOT NULL AND (last.v).quantity IS NOT NULL THEN
        at := (last.v).ts_best;
        quantity := (last.v).quantity;
        siaga3_from := (last.v).siaga3_from;
        siaga2_from := (last.v).siaga2_from;
        siaga1_from := (last.v).siaga1_from;
        fall_margin := last.fall_margin;
        rise_cm := least(last.rise_short_cm, last.rise_long_cm);
    ELSE
        SELECT g.evaluated_to INTO at FROM pantau_alert.gauge_state g
        WHERE g.station_id = station;
        IF at IS NULL THEN
            RETURN;
        END IF;
        -- the thresholds the view would take (level_cm first)
        SELECT x.quantity, x.siaga3_from, x.siaga2_from, x.siaga1_from INTO t
        FROM pantau.gauge_threshold x
        WHERE x.station_id = station AND x.valid @> at
        ORDER BY x.quantity = 'level_cm' DESC LIMIT 1;
        SELECT * INTO s FROM pantau_alert.flood_setting_at(station, at);
        quantity := t.quantity;
        siaga3_from := t.siaga3_from;
        siaga2_from := t.siaga2_from;
        siaga1_from := t.siaga1_from;
        fall_margin := s.fall_margin;
        rise_cm := least(s.rise_short_cm, s.rise_long_cm);
    END IF;
    SELECT x.offset_cm INTO offset_cm FROM pantau.gauge_mount x
    WHERE x.station_id = station AND x.valid @> at LIMIT 1;
END
$$;
COMMENT ON FUNCTION pantau_alert.calm_band(text, pantau_alert.live_reading) IS 'What a gauge''s calm band (gauge_state.calm_*, 026) is made from: the thresholds, fall margin and smaller rise of its last reading evaluated (given by the live case, else looked up at gauge_state.evaluated_to) and its mounting offset then. evaluate_gauge() writes the band';

-- ---- one gauge, as 019's evaluate() evaluated it ---------------------------------------------------

-- The body of 019's loop, unchanged, and the calm band after it. Returns the gauge's other
-- queue items it dropped (read by this evaluation). Caller holds nothing of the gauge yet.
CREATE FUNCTION pantau_alert.evaluate_gauge(station text, sinces timestamptz[], xids xid8[])
RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    gs pantau_alert.gauge_state;
    snap pg_snapshot;
    since timestamptz;
    a_id bigint;
    read_from timestamptz;
    rs jsonb;
    vs pantau_alert.flood_value[];
    rows pantau_alert.live_reading[];
    n integer := 0;
    b record;
    dropped integer;
BEGIN
    SELECT * INTO gs FROM pantau_alert.gauge_state s WHERE s.station_id = station
    FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO pantau_alert.gauge_state (station_id) VALUES (station)
        ON CONFLICT DO NOTHING;
        SELECT * INTO gs FROM pantau_alert.gauge_state s WHERE s.station_id = station
        FOR UPDATE;
    END IF;
    -- what this evaluation reads is at least what this snapshot sees
    snap := pg_current_snapshot();
    -- items the last evaluation of the gauge read (committed before its snapshot, from its
    -- since on) need nothing more; the others are evaluated from the earliest of them
    SELECT min(x.since) INTO since
    FROM unnest(sinces, xids) AS x(since, xid)
    WHERE NOT (gs.eval_snapshot IS NOT NULL AND x.since >= gs.eval_since
               AND pg_visible_in_snapshot(x.xid, gs.eval_snapshot));
    IF since IS NULL THEN
        RETURN 0;
    END IF;
    -- the live case: the new readings are read once, for both rules
    rows := NULL;
    n := 0;
    IF gs.evaluated_to IS NOT NULL AND since > gs.evaluated_to
       AND (gs.rise_state -> 'k' ->> 0)::timestamptz = gs.evaluated_to
       AND gs.rise_state -> 'k' ->> 1 = gs.evaluated_device_id
       AND (gs.rise_state -> 'k' ->> 2)::uuid = gs.evaluated_store_id
       AND (gs.rise_state -> 'k' ->> 3)::bigint = gs.evaluated_seq
    THEN
        SELECT array_agg(v ORDER BY v.ts_best, v.device_id, v.store_id, v.seq) INTO vs
        FROM pantau_alert.flood_values_since(station, gs.evaluated_to) v
        WHERE (v.ts_best, v.device_id, v.store_id, v.seq)
              > (gs.evaluated_to, gs.evaluated_device_id, gs.evaluated_store_id,
                 gs.evaluated_seq);
        n := coalesce(array_length(vs, 1), 0);
        IF n = 0 THEN
            rows := '{}';
        ELSIF NOT EXISTS (
            SELECT 1 FROM pantau_alert.flood_setting f
            WHERE (f.station_id IS NULL OR f.station_id = station)
              AND ((lower(f.valid) > (vs[1]).ts_best AND lower(f.valid) <= (vs[n]).ts_best)
                   OR (upper(f.valid) > (vs[1]).ts_best
                       AND upper(f.valid) <= (vs[n]).ts_best)))
        THEN
            SELECT array_agg(ROW(vs[i], s.fall_margin, s.fall_dwell, s.rise_short_cm,
                                 s.rise_short_window, s.rise_long_cm,
                                 s.rise_long_window)::pantau_alert.live_reading
                             ORDER BY i)
            INTO rows
            FROM generate_series(1, n) AS i
            CROSS JOIN pantau_alert.flood_setting_at(station, (vs[1]).ts_best) s;
        ELSE
            SELECT array_agg(ROW(vs[i], s.fall_margin, s.fall_dwell, s.rise_short_cm,
                                 s.rise_short_window, s.rise_long_cm,
                                 s.rise_long_window)::pantau_alert.live_reading
                             ORDER BY i)
            INTO rows
            FROM generate_series(1, n) AS i
            CROSS JOIN LATERAL pantau_alert.flood_setting_at(station, (vs[i]).ts_best) s;
        END IF;
    END IF;
    PERFORM pantau_alert.evaluate_level_rows(station, since, rows);
    rs := pantau_alert.evaluate_rise_rows(station, since, rows);
    -- a silent gauge speaks again
    FOR a_id IN
        SELECT a.alert_id FROM pantau_alert.alert a
        JOIN pantau_alert.gauge_state s ON s.station_id = station
        WHERE a.subject = 'station:' || station AND a.kind = 'flood_silent'
          AND a.state <> 'resolved' AND s.evaluated_to > a.condition_time
    LOOP
        PERFORM pantau_alert.resolve_by_engine(a_id, 'readings resumed');
    END LOOP;
    -- with the calm band (026): the level after this evaluation against the thresholds of its
    -- last reading; the lowest level the rise windows hold (the deques of the rise state)
    -- plus the smaller rise
    SELECT * INTO b FROM pantau_alert.calm_band(station, CASE WHEN n > 0 THEN rows[n] END);
    UPDATE pantau_alert.gauge_state s
    SET eval_snapshot = snap, eval_since = since, rise_state = rs,
        calm_quantity = b.quantity, calm_offset = b.offset_cm,
        calm_hi = CASE WHEN s.evaluated_to IS NULL THEN NULL
                       WHEN b.quantity IS NULL THEN 'infinity'
                       WHEN s.level = 4 THEN b.siaga3_from WHEN s.level = 3 THEN b.siaga2_from
                       WHEN s.level = 2 THEN b.siaga1_from WHEN s.level = 1 THEN 'infinity'
                  END,
        calm_lo = CASE WHEN s.evaluated_to IS NULL THEN NULL
                       WHEN b.quantity IS NULL THEN '-infinity'
                       WHEN s.level = 4 THEN '-infinity'
                       WHEN s.level = 3 THEN b.siaga3_from - coalesce(b.fall_margin, 0)
                       WHEN s.level = 2 THEN b.siaga2_from - coalesce(b.fall_margin, 0)
                       WHEN s.level = 1 THEN b.siaga1_from - coalesce(b.fall_margin, 0)
                  END,
        calm_rise_cm = b.rise_cm,
        calm_rise_from = b.rise_cm + (SELECT min((e ->> 1)::double precision)
                                      FROM jsonb_array_elements(rs -> 'c') e)
    WHERE s.station_id = station;
    read_from := since;
    -- what else of this gauge waits and was read now: claimed and dropped
    WITH done AS (
        DELETE FROM pantau_alert.pending p
        WHERE p.pending_id IN (
            SELECT q.pending_id FROM pantau_alert.pending q
            WHERE q.station_id = station AND q.since >= read_from
              AND pg_visible_in_snapshot(q.queued_xid, snap)
            FOR UPDATE SKIP LOCKED)
        RETURNING 1
    )
    SELECT count(*) INTO dropped FROM done;
    RETURN dropped;
END
$$;
COMMENT ON FUNCTION pantau_alert.evaluate_gauge(text, timestamptz[], xid8[]) IS 'One gauge''s claimed queue items (their since and queued_xid), as 019''s evaluate() evaluated them: locks gauge_state, drops what the last evaluation read, evaluates the level and rise rules, resolves flood_silent, then writes the calm band with its state (026) and drops the gauge''s other items this evaluation read. Returns those dropped. Called by evaluate() in station order';

-- ---- the rules' queue: urgent first ----------------------------------------------------------------

CREATE FUNCTION pantau_alert.evaluate_rules(max_items integer, urgent_only boolean)
RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    w record;
    items integer := 0;
BEGIN
    -- 015's evaluate_rules, with the larva inspections and camera incidents claimed first
    -- (urgent_only: only those)
    FOR w IN
        WITH hot AS MATERIALIZED (
            SELECT q.pending_id FROM pantau_alert.pending_rule q
            WHERE q.rule <> 'congestion'
            ORDER BY q.pending_id LIMIT max_items
            FOR UPDATE SKIP LOCKED
        ), rest AS MATERIALIZED (
            SELECT q.pending_id FROM pantau_alert.pending_rule q
            WHERE NOT urgent_only
            ORDER BY q.pending_id LIMIT greatest(max_items - (SELECT count(*) FROM hot), 0)
            FOR UPDATE SKIP LOCKED
        ), claimed AS (
            DELETE FROM pantau_alert.pending_rule p
            WHERE p.pending_id IN (SELECT pending_id FROM hot UNION SELECT pending_id FROM rest)
            RETURNING p.rule, p.station_id, p.ref, p.since
        )
        SELECT CASE WHEN c.rule = 'larva' THEN 'area:' || coalesce(i.kelurahan, '?')
                    ELSE 'station:' || c.station_id END AS lock_subject,
               c.rule, c.station_id, c.ref, min(c.since) AS since, count(*) AS n
        FROM claimed c
        LEFT JOIN pantau_pii.larva_inspection i
               ON i.device_id = CASE WHEN c.rule = 'larva' THEN split_part(c.ref, '/', 1) END
              AND i.store_id = CASE WHEN c.rule = 'larva'
                                    THEN split_part(c.ref, '/', 2)::uuid END
              AND i.seq = CASE WHEN c.rule = 'larva' THEN split_part(c.ref, '/', 3)::bigint END
        GROUP BY 1, 2, 3, 4
        ORDER BY 1, 2, 3, 4
    LOOP
        items := items + w.n;
        PERFORM pantau_alert.lock_subject(w.lock_subject, w.rule);
        IF w.rule = 'larva' THEN
            PERFORM pantau_alert.evaluate_larva(w.ref);
        ELSIF w.rule = 'incident' THEN
            PERFORM pantau_alert.evaluate_incident(w.station_id, w.ref);
        ELSE
            PERFORM pantau_alert.evaluate_congestion(w.station_id, w.since);
        END IF;
    END LOOP;
    RETURN items;
END
$$;
COMMENT ON FUNCTION pantau_alert.evaluate_rules(integer, boolean) IS 'Claims up to max_items items of pending_rule (SKIP LOCKED), larva inspections and camera incidents first, congestion counts after them unless urgent_only (026); locks each subject in subject order and evaluates it (as 015''s evaluate_rules). Returns the items claimed. Called by evaluate()';

-- ---- evaluate(): urgent work first ------------------------------------------------------------------

CREATE OR REPLACE FUNCTION pantau_alert.evaluate(max_items integer DEFAULT 1000) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    w record;
    items integer := 0;
    urgent integer := 0;
    hot_rules boolean;
    routine boolean := false;
    yielded boolean := false;
    ids bigint[];
    stations text[];
    sinces timestamptz[];
    xids xid8[];
BEGIN
    -- 1. the urgent flood items, and (up to max_items in all) the other items of their gauges:
    --    one evaluation reads them all (an item left is dropped after it when the evaluation
    --    read it, else evaluated later from its own since: the same answer either way)
    WITH hot AS MATERIALIZED (
        SELECT q.pending_id, q.station_id FROM pantau_alert.pending q
        WHERE q.urgent
        ORDER BY q.pending_id LIMIT max_items
        FOR UPDATE SKIP LOCKED
    ), also AS MATERIALIZED (
        SELECT q.pending_id FROM pantau_alert.pending q
        WHERE q.station_id IN (SELECT h.station_id FROM hot h) AND NOT q.urgent
        ORDER BY q.pending_id LIMIT greatest(max_items - (SELECT count(*) FROM hot), 0)
        FOR UPDATE SKIP LOCKED
    ), claimed AS (
        DELETE FROM pantau_alert.pending p
        WHERE p.pending_id IN (SELECT h.pending_id FROM hot h
                               UNION SELECT a.pending_id FROM also a)
        RETURNING p.station_id, p.since, p.queued_xid
    )
    SELECT array_agg(c.station_id), array_agg(c.since), array_agg(c.queued_xid)
    INTO stations, sinces, xids FROM claimed c;
    urgent := coalesce(array_length(stations, 1), 0);
    -- 2. no urgent flood item: the flood queue in order, unless the rules' queue has urgent
    --    work (a larva inspection, an incident: they do not wait for a routine batch). The
    --    items are locked, not yet claimed: each gauge's are claimed when it is evaluated, and
    --    the call stops between two gauges once urgent work has come in meanwhile (each
    --    statement here sees what was committed before it): the rest stays queued, in its
    --    order, for the next call, which takes the urgent work first. So urgent work waits
    --    for one routine gauge's evaluation, not for a whole batch.
    hot_rules := EXISTS (SELECT 1 FROM pantau_alert.pending_rule q WHERE q.rule <> 'congestion');
    IF urgent = 0 AND NOT hot_rules THEN
        routine := true;
        WITH pick AS MATERIALIZED (
            SELECT q.pending_id, q.station_id, q.since, q.queued_xid
            FROM pantau_alert.pending q
            ORDER BY q.pending_id LIMIT max_items
            FOR UPDATE SKIP LOCKED
        )
        SELECT array_agg(c.pending_id), array_agg(c.station_id), array_agg(c.since),
               array_agg(c.queued_xid)
        INTO ids, stations, sinces, xids FROM pick c;
    END IF;
    -- gauges in one order, so that two evaluators wait for each other, never deadlock
    FOR w IN
        SELECT x.station_id, array_agg(x.since) AS sinces, array_agg(x.xid) AS xids,
               array_agg(x.id) AS ids, count(*) AS n
        FROM unnest(stations, sinces, xids, coalesce(ids, '{}'))
             AS x(station_id, since, xid, id)
        GROUP BY x.station_id ORDER BY x.station_id
    LOOP
        IF routine THEN
            IF items > 0 AND (EXISTS (SELECT 1 FROM pantau_alert.pending q WHERE q.urgent)
                              OR EXISTS (SELECT 1 FROM pantau_alert.pending_rule q
                                         WHERE q.rule <> 'congestion')) THEN
                yielded := true;
                EXIT;
            END IF;
            DELETE FROM pantau_alert.pending p WHERE p.pending_id = ANY (w.ids);
        END IF;
        items := items + w.n + pantau_alert.evaluate_gauge(w.station_id, w.sinces, w.xids);
    END LOOP;
    -- 3. the rules of 015 (their own queue, their own subjects: no lock order between the
    --    two): urgent items first; routine ones only in a call that found no urgent work
    RETURN items + pantau_alert.evaluate_rules(max_items, urgent > 0 OR hot_rules OR yielded);
END
$$;
COMMENT ON FUNCTION pantau_alert.evaluate(integer) IS 'Claims up to max_items items of each queue (SKIP LOCKED: evaluators share them), urgent work first (026): the urgent flood items (a reading outside its gauge''s calm band) with their gauges'' other items, and the larva inspections and camera incidents of the rules'' queue; routine items (the flood queue in order, congestion counts) only in a call that found no urgent work, and such a call stops between two gauges when urgent work comes in (the rest stays queued). Each gauge as 019 evaluated it (pantau_alert.evaluate_gauge, in station order: level history, flood_level and flood_rise alerts, flood_silent resolved when readings resume), then the rules (pantau_alert.evaluate_rules). NOTIFY pantau_alert per news alert. Returns the items claimed (0: both queues empty). Call it in its own transaction, in a loop, woken by NOTIFY pantau_alert_pending';

-- CREATE OR REPLACE keeps the grants, not the attributes (evaluate() says SECURITY DEFINER
-- above); the new functions as the other internal ones: pantau_admin only
REVOKE ALL ON FUNCTION pantau_alert.evaluate(integer), pantau_alert.queue_flood_insert(),
    pantau_alert.calm_band(text, pantau_alert.live_reading), pantau_alert.evaluate_gauge(text, timestamptz[], xid8[]),
    pantau_alert.evaluate_rules(integer, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pantau_alert.evaluate(integer) TO pantau_alertd, pantau_admin;
GRANT EXECUTE ON FUNCTION pantau_alert.calm_band(text, pantau_alert.live_reading),
    pantau_alert.evaluate_gauge(text, timestamptz[], xid8[]),
    pantau_alert.evaluate_rules(integer, boolean) TO pantau_admin;
