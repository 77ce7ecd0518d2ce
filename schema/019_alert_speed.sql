-- 019_alert_speed: the flood queue and evaluate() at the collector's rates (issue 11;
-- docs/alerts.md "Performance (019)", docs/benchmarks.md "Alerts: latency and the
-- collector's cost"). Same rules, same results, same tables and functions; what changes is
-- what they read.
--
-- Measured with pg_stat_statements (track all) under tests/bench/alerts/bench_alert_latency.py:
--   1. The queue triggers joined their transition table to reading_ledger by whatever plan the
--      session made first (PL/pgSQL keeps it): 20 to 35 ms per statement of the collector for
--      1,800 readings. Now each new
--      reading's ledger row is found by its key (a nested loop over the primary key whatever
--      the statistics say). Measured afterwards at the same load: 30 ms before, 34 ms now: the
--      plan no longer depends on the statistics; the cost (a lookup per reading, one queue
--      row per gauge and statement) stays.
--   2. Two of five queue items were evaluated again from the gauge's last level change (all
--      its readings since): evaluate() claims items in queue order, and an item whose readings
--      a previous evaluation had already read (they were committed between its claim and its
--      read) looked like late data (its `since` before evaluated_to). Now each evaluation
--      records the snapshot it read with and its `since` (gauge_state.eval_snapshot,
--      eval_since); an item whose transaction that snapshot saw and whose `since` is not
--      before eval_since was read by it: it is claimed and dropped, and so are, right after
--      the evaluation, the gauge's other items it has read (a backlog of a gauge is one
--      evaluation; a new reading does not wait behind the rest of it). Exact (by the
--      transaction's id, pending.queued_xid), not a guess by time.
--   3. evaluate_rise loaded the whole two windows (2 x 60 min) of readings through the view at
--      every call: thousands for a dense stream (a replayed backlog). Now it keeps what the
--      next call needs in gauge_state.rise_state: the readings that can still be a window's
--      lowest (the sliding-minimum deques of 015), the episode in progress per window and the
--      key of the last reading judged; a call whose readings all come after that key reads
--      only them. Anything else (late data, a window changed, no state) is the full path of
--      015, which writes the state again.
-- Exactly once and news-not-history are unchanged: the same row locks, keys and decisions.

-- ---- the queue ---------------------------------------------------------------------------------

ALTER TABLE pantau_alert.pending
    ADD COLUMN queued_xid xid8 NOT NULL DEFAULT pg_current_xact_id();
COMMENT ON COLUMN pantau_alert.pending.queued_xid IS 'The transaction that queued it (019): an evaluation whose snapshot saw it and that read from its since on has read its readings';
-- a gauge's items (evaluate() drops those its evaluation has read)
CREATE INDEX pending_station ON pantau_alert.pending (station_id, since);
-- a hot queue: vacuumed by count, not by a share of a table that is mostly empty
ALTER TABLE pantau_alert.pending SET (autovacuum_vacuum_scale_factor = 0,
                                      autovacuum_vacuum_threshold = 5000,
                                      autovacuum_analyze_scale_factor = 0,
                                      autovacuum_analyze_threshold = 5000);

-- The ledger row of each new reading by its key: LATERAL ... LIMIT 1 is never turned into a
-- join, so the plan is an index lookup per reading however many readings the ledger had when
-- the session planned it.
CREATE OR REPLACE FUNCTION pantau_alert.queue_flood_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    INSERT INTO pantau_alert.pending (station_id, since)
    SELECT n.station_id, min(coalesce(b.ts_best, n.ts))
    FROM new_rows n
    LEFT JOIN LATERAL (
        SELECT pantau.reading_best_time(l.ts, l.clock_synced, l.ts_corrected,
                                        l.received_at) AS ts_best
        FROM pantau.reading_ledger l
        WHERE l.device_id = n.device_id AND l.store_id = n.store_id AND l.seq = n.seq
        LIMIT 1
    ) b ON true
    GROUP BY n.station_id;
    IF FOUND THEN
        PERFORM pg_notify('pantau_alert_pending', '');
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION pantau_alert.queue_flood_insert() IS 'Trigger (statement, on pantau.flood_reading): queues each gauge of the statement at the earliest best time among its new readings (each reading''s ledger row by its key, 019), and wakes the evaluators (NOTIFY pantau_alert_pending, sent at commit)';

CREATE OR REPLACE FUNCTION pantau_alert.queue_larva_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    INSERT INTO pantau_alert.pending_rule (rule, ref, since)
    SELECT 'larva', n.device_id || '/' || n.store_id || '/' || n.seq, coalesce(b.ts_best, n.ts)
    FROM new_rows n
    LEFT JOIN LATERAL (
        SELECT pantau.reading_best_time(l.ts, l.clock_synced, l.ts_corrected,
                                        l.received_at) AS ts_best
        FROM pantau.reading_ledger l
        WHERE l.device_id = n.device_id AND l.store_id = n.store_id AND l.seq = n.seq
        LIMIT 1
    ) b ON true;
    IF FOUND THEN
        PERFORM pg_notify('pantau_alert_pending', '');
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION pantau_alert.queue_larva_insert() IS 'Trigger (statement, on pantau_pii.larva_inspection): queues each new inspection (its containers are written in the same transaction, before the evaluator can claim it); the ledger row by its key (019)';

CREATE OR REPLACE FUNCTION pantau_alert.queue_traffic_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    INSERT INTO pantau_alert.pending_rule (rule, station_id, since)
    SELECT 'congestion', n.station_id, min(coalesce(b.ts_best, n.ts))
    FROM new_rows n
    LEFT JOIN LATERAL (
        SELECT pantau.reading_best_time(l.ts, l.clock_synced, l.ts_corrected,
                                        l.received_at) AS ts_best
        FROM pantau.reading_ledger l
        WHERE l.device_id = n.device_id AND l.store_id = n.store_id AND l.seq = n.seq
        LIMIT 1
    ) b ON true
    GROUP BY n.station_id;
    IF FOUND THEN
        PERFORM pg_notify('pantau_alert_pending', '');
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION pantau_alert.queue_traffic_insert() IS 'Trigger (statement, on pantau.traffic_count): queues each camera of the statement at the earliest best time among its new counts (the ledger row by its key, 019)';

-- ---- what the last evaluation of a gauge read ---------------------------------------------------

ALTER TABLE pantau_alert.gauge_state
    ADD COLUMN eval_snapshot pg_snapshot,
    ADD COLUMN eval_since timestamptz,
    ADD COLUMN rise_state jsonb;
COMMENT ON COLUMN pantau_alert.gauge_state.eval_snapshot IS 'The snapshot the last evaluation took after it locked this row and before it read (019): a queue item whose transaction it saw, with since >= eval_since, has been read';
COMMENT ON COLUMN pantau_alert.gauge_state.eval_since IS 'The since the last evaluation read from (019): it read every reading it saw with a best time from here on';
COMMENT ON COLUMN pantau_alert.gauge_state.rise_state IS 'Rate of rise, what the next live call needs (019): {"k": [best time, device, store, seq] of the last reading judged, "w": the two windows, "c": [[best time, level_cm, reading json]...] the readings that can still be a window''s lowest, "ep": the episode in progress per window}; NULL: read the windows again';

-- ---- plans made once per session ----------------------------------------------------------------
-- 4. PL/pgSQL plans a statement with parameters afresh for each call while a custom plan looks
--    cheaper than the generic one, and flood_values_since's last statement (each key joined to
--    the view: flood_reading's partitions, the ledger, mount and thresholds) took 10 to 15 ms
--    to plan for 1 ms to run: most of an evaluation of a gauge with a few new readings. The
--    generic plans (the same shapes: index lookups by key, partitions pruned at run time) are
--    made once per session.
ALTER FUNCTION pantau_alert.flood_values_since(text, timestamptz)
    SET plan_cache_mode = force_generic_plan;

-- ---- one read of the new readings for both rules -----------------------------------------------
-- 5. In the live case evaluate_level and evaluate_rise each read the same new readings through
--    the view, and each looked up the settings of every reading (flood_setting_at): two thirds
--    of an evaluation. evaluate() now reads them once (with their settings: looked up once
--    when no settings version starts or ends among them) and hands them to both; the rules'
--    code is 013's and 015's, reading from that array instead. evaluate_level(station, since)
--    and evaluate_rise(station, since) read for themselves, as before.

CREATE TYPE pantau_alert.live_reading AS (
    v pantau_alert.flood_value,
    fall_margin double precision,
    fall_dwell interval,
    rise_short_cm double precision,
    rise_short_window interval,
    rise_long_cm double precision,
    rise_long_window interval
);
COMMENT ON TYPE pantau_alert.live_reading IS 'A reading as evaluate() hands it to the rules (019): the row of pantau_alert.flood_value and the flood settings at its best time';

CREATE FUNCTION pantau_alert.evaluate_level_rows(station text, since timestamptz,
                                                 rows pantau_alert.live_reading[])
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    restart pantau_alert.gauge_level;
    cur pantau_alert.gauge_level;
    g record;
    r record;
    a_id bigint;
    lvl smallint;
    q smallint;
    f smallint;
    v_fall_level smallint;
    v_fall_since timestamptz;
    v_fall_first jsonb;
    last_ts timestamptz;
    prev_level smallint;
    prev_from timestamptz;
    is_news boolean;
    k_ts timestamptz := '-infinity';
    k_dev text := '';
    k_store uuid := '00000000-0000-0000-0000-000000000000';
    k_seq bigint := 0;
    st pantau_alert.gauge_state;
    seg_from timestamptz := '-infinity';
BEGIN
    SELECT * INTO st FROM pantau_alert.gauge_state s WHERE s.station_id = station;
    SELECT * INTO cur FROM pantau_alert.gauge_level l
    WHERE l.station_id = station AND l.to_ts IS NULL;
    IF st.evaluated_to IS NOT NULL AND since > st.evaluated_to AND cur.from_ts IS NOT NULL THEN
        -- only readings after everything evaluated (the live case): go on from the state
        -- saved by the last evaluation
        lvl := st.level;
        v_fall_level := st.fall_level;
        v_fall_since := st.fall_since;
        v_fall_first := st.fall_evidence;
        k_ts := st.evaluated_to;
        k_dev := st.evaluated_device_id;
        k_store := st.evaluated_store_id;
        k_seq := st.evaluated_seq;
        seg_from := cur.from_ts;
    ELSE
    rows := NULL;   -- read for the live case only
    -- else the state right after the last change before `since` is (its level, no
    -- candidate): every change clears the falling candidate
    SELECT * INTO restart FROM pantau_alert.gauge_level l
    WHERE l.station_id = station AND l.from_ts < since ORDER BY l.from_ts DESC LIMIT 1;
    IF FOUND THEN
        DELETE FROM pantau_alert.gauge_level l
        WHERE l.station_id = station AND l.from_ts > restart.from_ts;
        UPDATE pantau_alert.gauge_level l SET to_ts = NULL
        WHERE l.station_id = station AND l.from_ts = restart.from_ts;
        lvl := restart.level;
        k_ts := restart.from_ts;
        k_dev := restart.from_device_id;
        k_store := restart.from_store_id;
        k_seq := restart.from_seq;
        seg_from := restart.from_ts;
    ELSE
        DELETE FROM pantau_alert.gauge_level l WHERE l.station_id = station;
    END IF;
    END IF;

    FOR r IN
        SELECT x.v AS reading, (x.v).ts_best, (x.v).device_id, (x.v).store_id, (x.v).seq,
               (x.v).value, (x.v).siaga3_from, (x.v).siaga2_from, (x.v).siaga1_from,
               x.fall_margin, x.fall_dwell
        FROM unnest(rows) x
        WHERE rows IS NOT NULL AND (x.v).value IS NOT NULL
          AND ((x.v).ts_best, (x.v).device_id, (x.v).store_id, (x.v).seq)
              > (k_ts, k_dev, k_store, k_seq)
        UNION ALL
        SELECT v AS reading, v.ts_best, v.device_id, v.store_id, v.seq, v.value, v.siaga3_from,
               v.siaga2_from, v.siaga1_from, s.fall_margin, s.fall_dwell
        FROM pantau_alert.flood_values_since(station, k_ts) v
        CROSS JOIN LATERAL pantau_alert.flood_setting_at(v.station_id, v.ts_best) s
        WHERE rows IS NULL AND v.value IS NOT NULL
          AND (v.ts_best, v.device_id, v.store_id, v.seq) > (k_ts, k_dev, k_store, k_seq)
        ORDER BY 2, 3, 4, 5
    LOOP
        q := pantau_alert.siaga_of(r.value, r.siaga3_from, r.siaga2_from, r.siaga1_from);
        f := NULL;
        IF lvl IS NULL OR q < lvl THEN
            f := q;              -- rising (or the first level): at once
        ELSE
            -- below the fall line of the current level: (threshold - margin)
            f := pantau_alert.siaga_of(r.value + coalesce(r.fall_margin, 0), r.siaga3_from,
                                       r.siaga2_from, r.siaga1_from);
            IF f > lvl THEN
                IF v_fall_since IS NULL THEN
                    v_fall_since := r.ts_best;
                    v_fall_level := f;
                    v_fall_first := pantau_alert.reading_json(r.reading);
                ELSE
                    v_fall_level := least(v_fall_level, f);
                END IF;
                IF r.ts_best - v_fall_since >= coalesce(r.fall_dwell, interval '0') THEN
                    f := v_fall_level;
                ELSE
                    f := NULL;
                END IF;
            ELSE
                v_fall_since := NULL;
                v_fall_level := NULL;
                f := NULL;
            END IF;
        END IF;
        IF f IS NOT NULL THEN
            -- a change at r: close the current segment, open one
            UPDATE pantau_alert.gauge_level l SET to_ts = r.ts_best
            WHERE l.station_id = station AND l.to_ts IS NULL AND l.from_ts < r.ts_best;
            INSERT INTO pantau_alert.gauge_level AS l (station_id, level, from_ts, from_device_id,
                                                  from_store_id, from_seq, evidence)
            VALUES (station, f, r.ts_best, r.device_id, r.store_id, r.seq,
                    jsonb_build_object(
                        'readings', CASE WHEN q < coalesce(lvl, 5) THEN
                                        jsonb_build_array(pantau_alert.reading_json(r.reading))
                                    ELSE jsonb_build_array(v_fall_first,
                                                           pantau_alert.reading_json(r.reading))
                                    END,
                        'thresholds', jsonb_build_object('siaga3_from', r.siaga3_from,
                                                         'siaga2_from', r.siaga2_from,
                                                         'siaga1_from', r.siaga1_from),
                        'rule', CASE WHEN q < coalesce(lvl, 5) THEN 'rise'
                                     ELSE 'fall' END,
                        'fall_margin', r.fall_margin,
                        'fall_dwell', r.fall_dwell))
            ON CONFLICT (station_id, from_ts) DO UPDATE
                SET level = excluded.level, from_device_id = excluded.from_device_id,
                    from_store_id = excluded.from_store_id, from_seq = excluded.from_seq,
                    evidence = excluded.evidence, to_ts = NULL, alert_id = NULL;
            lvl := f;
            v_fall_since := NULL;
            v_fall_level := NULL;
        END IF;
        last_ts := r.ts_best;
        k_ts := r.ts_best;
        k_dev := r.device_id;
        k_store := r.store_id;
        k_seq := r.seq;
    END LOOP;

    -- one flood_level alert per segment made again: an alert already recorded for the same
    -- change (same level, its time within this segment or the one before, not yet claimed by
    -- another segment) is that change, whatever moved its time
    FOR g IN
        SELECT l.*, lag(l.level) OVER w AS prev_level, lag(l.from_ts) OVER w AS prev_from
        FROM pantau_alert.gauge_level l
        WHERE l.station_id = station AND l.from_ts >= seg_from
        WINDOW w AS (ORDER BY l.from_ts)
        ORDER BY l.from_ts
    LOOP
        CONTINUE WHEN g.alert_id IS NOT NULL OR (g.prev_level IS NULL AND g.level = 4);
        prev_level := g.prev_level;
        prev_from := g.prev_from;
        IF g.to_ts IS NOT NULL THEN
            is_news := false;
        ELSIF g.level = 4 THEN
            is_news := NOT (g.evidence -> 'readings' -> -1 ->> 'history')::boolean;
        ELSE
            is_news := EXISTS (SELECT 1
                               FROM pantau_alert.flood_values_since(station, g.from_ts) v
                               WHERE v.value IS NOT NULL AND NOT v.history);
        END IF;
        SELECT a.alert_id INTO a_id FROM pantau_alert.alert a
        WHERE a.station_id = station AND a.kind = 'flood_level' AND a.level = g.level
          AND a.condition_time >= coalesce(prev_from, '-infinity')
          AND a.condition_time < coalesce(g.to_ts, 'infinity')
          AND NOT EXISTS (SELECT 1 FROM pantau_alert.gauge_level x WHERE x.alert_id = a.alert_id)
        ORDER BY a.condition_time
        LIMIT 1;
        IF NOT FOUND THEN
            INSERT INTO pantau_alert.alert (kind, station_id, level, previous_level,
                                            condition_time, evidence, news, paged_at)
            VALUES ('flood_level', station, g.level, prev_level, g.from_ts, g.evidence,
                    is_news, CASE WHEN is_news THEN now() END)
            ON CONFLICT DO NOTHING
            RETURNING alert_id INTO a_id;
            IF a_id IS NOT NULL THEN
                PERFORM pantau_alert.announce(
                    a_id, 'raised', format('Siaga %s (was %s)', g.level,
                                           coalesce('Siaga ' || prev_level, 'no reading')));
            ELSE
                -- the key exists but belongs to a change already claimed: nothing to add
                SELECT a.alert_id INTO a_id FROM pantau_alert.alert a
                WHERE a.station_id = station AND a.kind = 'flood_level'
                  AND a.condition_time = g.from_ts;
            END IF;
        ELSE
            PERFORM pantau_alert.page_if_news(a_id, is_news AND g.level < 4);
        END IF;
        UPDATE pantau_alert.gauge_level l SET alert_id = a_id
        WHERE l.station_id = station AND l.from_ts = g.from_ts
          AND NOT EXISTS (SELECT 1 FROM pantau_alert.gauge_level x WHERE x.alert_id = a_id);
    END LOOP;

    SELECT * INTO cur FROM pantau_alert.gauge_level l
    WHERE l.station_id = station AND l.to_ts IS NULL;
    IF FOUND AND cur.alert_id IS NOT NULL AND cur.level < 4
       AND NOT (SELECT a.news FROM pantau_alert.alert a WHERE a.alert_id = cur.alert_id) THEN
        -- the current level of a gauge known from history: paged when a news reading shows it
        PERFORM pantau_alert.page_if_news(cur.alert_id, EXISTS (
            SELECT 1 FROM pantau_alert.flood_values_since(station, cur.from_ts) v
            WHERE v.value IS NOT NULL AND NOT v.history));
    END IF;
    -- every other level alert of the gauge is over: the level changed since (Siaga 4, back to
    -- normal, is over as soon as it is recorded)
    FOR a_id, prev_level IN
        UPDATE pantau_alert.alert a
        SET state = 'resolved', resolved_by = 'pantau', resolved_at = now(),
            resolved_note = format('level now Siaga %s', cur.level)
        WHERE a.station_id = station AND a.kind = 'flood_level' AND a.state <> 'resolved'
          AND (a.level = 4 OR a.alert_id IS DISTINCT FROM cur.alert_id)
        RETURNING a.alert_id, a.level
    LOOP
        PERFORM pantau_alert.announce(a_id, 'resolved', format('level now Siaga %s', cur.level));
    END LOOP;

    UPDATE pantau_alert.gauge_state s
    SET level = cur.level, level_since = cur.from_ts,
        fall_level = v_fall_level, fall_since = v_fall_since, fall_evidence = v_fall_first,
        evaluated_to = CASE WHEN k_ts > '-infinity' THEN k_ts END,
        evaluated_device_id = k_dev, evaluated_store_id = k_store, evaluated_seq = k_seq,
        evaluated_at = now()
    WHERE s.station_id = station;
END
$$;
COMMENT ON FUNCTION pantau_alert.evaluate_level_rows(text, timestamptz, pantau_alert.live_reading[]) IS '013''s evaluate_level (the same code); in the live case it judges `rows` (the readings after the last one evaluated, read by evaluate()) instead of reading them again; NULL: reads them itself (019)';

CREATE OR REPLACE FUNCTION pantau_alert.evaluate_level(station text, since timestamptz)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    PERFORM pantau_alert.evaluate_level_rows(station, since, NULL);
END
$$;

-- ---- rate of rise: incremental ------------------------------------------------------------------

CREATE FUNCTION pantau_alert.evaluate_rise_rows(station text, since timestamptz,
                                                rows pantau_alert.live_reading[])
RETURNS jsonb LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    maxw interval;
    ts timestamptz[];
    lv double precision[];
    hist boolean[];
    ev jsonb[];
    lvls smallint[];
    wins interval[];
    mins double precision[];
    n integer;
    n0 integer := 0;
    i integer;
    j integer;
    k integer;
    lo integer;
    w interval;
    c double precision;
    rise double precision;
    ep_open boolean[] := ARRAY[false, false];
    ep_first timestamptz[] := ARRAY[NULL, NULL]::timestamptz[];
    ep_last timestamptz[] := ARRAY[NULL, NULL]::timestamptz[];
    ep_rise double precision[] := ARRAY[NULL, NULL]::double precision[];
    ep_news boolean[] := ARRAY[false, false];
    ep_win interval[] := ARRAY[NULL, NULL]::interval[];
    ep_min double precision[] := ARRAY[NULL, NULL]::double precision[];
    ep_level smallint[] := ARRAY[NULL, NULL]::smallint[];
    ep_ev jsonb[] := ARRAY[NULL, NULL]::jsonb[];
    latest timestamptz;
    a_id bigint;
    uni boolean[] := ARRAY[true, true];
    dq1 integer[] := '{}';
    dq2 integer[] := '{}';
    h1 integer := 1;
    t1 integer := 0;
    h2 integer := 1;
    t2 integer := 0;
    lo_k integer[] := ARRAY[NULL, NULL]::integer[];
    st jsonb;
    live boolean := false;
    sw interval[];
    k_ts timestamptz;
    k_dev text;
    k_store uuid;
    k_seq bigint;
    judge_from timestamptz;
    keep integer[];
    e jsonb;
    quiet boolean;
    hi double precision;
    low double precision;
    cmin double precision;
    nts timestamptz[];
    nlv double precision[];
    nhist boolean[];
    nev jsonb[];
    nlvls smallint[];
    nwins interval[];
    nmins double precision[];
BEGIN
    SELECT max(greatest(s.rise_short_window, s.rise_long_window)) INTO maxw
    FROM pantau_alert.flood_setting s;
    maxw := coalesce(maxw, interval '0');
    SELECT g.rise_state INTO st FROM pantau_alert.gauge_state g WHERE g.station_id = station;
    IF st IS NOT NULL AND since > (st -> 'k' ->> 0)::timestamptz THEN
        -- the live case: every reading to judge comes after the last one judged. The saved
        -- candidates stand for the readings before it (the lowest of any window ending
        -- later is among them), then the new readings
        live := true;
        k_ts := (st -> 'k' ->> 0)::timestamptz;
        k_dev := st -> 'k' ->> 1;
        k_store := (st -> 'k' ->> 2)::uuid;
        k_seq := (st -> 'k' ->> 3)::bigint;
        sw := ARRAY[(st -> 'w' ->> 0)::interval, (st -> 'w' ->> 1)::interval];
        SELECT array_agg((x ->> 0)::timestamptz ORDER BY o),
               array_agg((x ->> 1)::double precision ORDER BY o),
               array_agg(x -> 2 ORDER BY o)
        INTO ts, lv, ev
        FROM jsonb_array_elements(st -> 'c') WITH ORDINALITY AS c(x, o);
        n0 := coalesce(array_length(ts, 1), 0);
        -- (not judged: placeholders, no NULLs, so that an element is found by its offset)
        hist := array_fill(false, ARRAY[n0]);
        lvls := array_fill(0::smallint, ARRAY[n0]);
        wins := array_fill(NULL::interval, ARRAY[n0, 2]);
        FOR i IN 1 .. n0 LOOP
            wins[i][1] := sw[1];
            wins[i][2] := sw[2];
        END LOOP;
        mins := array_fill(0::double precision, ARRAY[n0, 2]);
        FOR k IN 1 .. 2 LOOP
            e := st -> 'ep' -> (k - 1);
            IF e IS NOT NULL AND jsonb_typeof(e) = 'object' THEN
                ep_open[k] := true;
                ep_win[k] := (e ->> 'win')::interval;
                ep_min[k] := (e ->> 'min')::double precision;
                ep_first[k] := (e ->> 'first')::timestamptz;
                ep_last[k] := (e ->> 'last')::timestamptz;
                ep_rise[k] := (e ->> 'rise')::double precision;
                ep_news[k] := (e ->> 'news')::boolean;
                ep_level[k] := (e ->> 'level')::smallint;
                ep_ev[k] := e -> 'ev';
            END IF;
        END LOOP;
        judge_from := '-infinity';
        SELECT array_agg((x.fv).ts_best ORDER BY x.o),
               array_agg((x.fv).level_cm ORDER BY x.o),
               array_agg((x.fv).history ORDER BY x.o),
               array_agg(pantau_alert.reading_json(x.fv) ORDER BY x.o),
               array_agg(pantau_alert.siaga_of((x.fv).value, (x.fv).siaga3_from,
                                               (x.fv).siaga2_from, (x.fv).siaga1_from)
                         ORDER BY x.o),
               array_agg(ARRAY[x.rise_short_window, x.rise_long_window] ORDER BY x.o),
               array_agg(ARRAY[x.rise_short_cm, x.rise_long_cm] ORDER BY x.o)
        INTO nts, nlv, nhist, nev, nlvls, nwins, nmins
        FROM (
            SELECT y.v AS fv, y.rise_short_window, y.rise_long_window, y.rise_short_cm,
                   y.rise_long_cm,
                   ((y.v).ts_best, (y.v).device_id, (y.v).store_id, (y.v).seq) AS o
            FROM unnest(rows) y
            WHERE rows IS NOT NULL
            UNION ALL
            SELECT v AS fv, s.rise_short_window, s.rise_long_window, s.rise_short_cm,
                   s.rise_long_cm, (v.ts_best, v.device_id, v.store_id, v.seq) AS o
            FROM pantau_alert.flood_values_since(station, k_ts) v
            CROSS JOIN LATERAL pantau_alert.flood_setting_at(v.station_id, v.ts_best) s
            WHERE rows IS NULL
        ) x
        WHERE (x.fv).level_cm IS NOT NULL
          AND ((x.fv).ts_best, (x.fv).device_id, (x.fv).store_id, (x.fv).seq)
              > (k_ts, k_dev, k_store, k_seq);
        ts := ts || nts;
        lv := lv || nlv;
        hist := hist || nhist;
        ev := ev || nev;
        lvls := lvls || nlvls;
        wins := wins || nwins;
        mins := mins || nmins;
        n := coalesce(array_length(ts, 1), 0);
        -- a window changed for a new reading: judge it all again (the full path below)
        FOR i IN n0 + 1 .. n LOOP
            IF wins[i][1] IS DISTINCT FROM sw[1] OR wins[i][2] IS DISTINCT FROM sw[2] THEN
                live := false;
            END IF;
        END LOOP;
        IF NOT live THEN
            ts := NULL; lv := NULL; hist := NULL; ev := NULL; lvls := NULL; wins := NULL;
            mins := NULL; n0 := 0;
            ep_open := ARRAY[false, false];
        END IF;
    END IF;
    IF NOT live THEN
        -- 015's full path: the two windows before `since` and everything after
        judge_from := since - maxw;
        SELECT array_agg(v.ts_best ORDER BY v.ts_best, v.device_id, v.store_id, v.seq),
               array_agg(v.level_cm ORDER BY v.ts_best, v.device_id, v.store_id, v.seq),
               array_agg(v.history ORDER BY v.ts_best, v.device_id, v.store_id, v.seq),
               array_agg(pantau_alert.reading_json(v) ORDER BY v.ts_best, v.device_id,
                         v.store_id, v.seq),
               array_agg(pantau_alert.siaga_of(v.value, v.siaga3_from, v.siaga2_from,
                                               v.siaga1_from)
                         ORDER BY v.ts_best, v.device_id, v.store_id, v.seq),
               array_agg(ARRAY[s.rise_short_window, s.rise_long_window]
                         ORDER BY v.ts_best, v.device_id, v.store_id, v.seq),
               array_agg(ARRAY[s.rise_short_cm, s.rise_long_cm]
                         ORDER BY v.ts_best, v.device_id, v.store_id, v.seq)
        INTO ts, lv, hist, ev, lvls, wins, mins
        FROM pantau_alert.flood_values_since(station, since - 2 * maxw) v
        CROSS JOIN LATERAL pantau_alert.flood_setting_at(v.station_id, v.ts_best) s
        WHERE v.level_cm IS NOT NULL;
        n := coalesce(array_length(ts, 1), 0);
    END IF;
    IF n > 0 THEN
        latest := ts[n];
    END IF;
    -- live: can any new reading meet the rule at all? Its rise is at most its level minus the
    -- lowest level loaded (every window's lowest is among them); when even the highest new
    -- level is not the smallest rise required above that, the rule is not met, nothing is
    -- judged and only the lowest candidates are kept (a backward pass: a reading stays while
    -- it is lower than every later one, the readings the deques of the forward pass keep)
    quiet := false;
    IF live THEN
        hi := NULL;
        low := NULL;
        cmin := NULL;
        FOR i IN 1 .. n LOOP
            low := least(low, lv[i]);
            IF i > n0 THEN
                hi := greatest(hi, lv[i]);
                cmin := least(cmin, mins[i][1], mins[i][2]);
            END IF;
        END LOOP;
        quiet := hi IS NULL OR cmin IS NULL OR hi - low < cmin;
    END IF;
    IF quiet THEN
        low := NULL;
        t1 := 0;
        t2 := 0;
        FOR i IN REVERSE n .. 1 LOOP
            EXIT WHEN ts[i] < ts[n] - greatest(sw[1], sw[2]);
            IF low IS NULL OR lv[i] < low THEN
                low := lv[i];
                IF ts[i] >= ts[n] - sw[1] THEN
                    t1 := t1 + 1;
                    dq1[t1] := i;
                END IF;
                IF ts[i] >= ts[n] - sw[2] THEN
                    t2 := t2 + 1;
                    dq2[t2] := i;
                END IF;
            END IF;
        END LOOP;
        -- in reading order, as the forward pass leaves them
        dq1 := ARRAY(SELECT dq1[x] FROM generate_series(t1, 1, -1) AS x);
        dq2 := ARRAY(SELECT dq2[x] FROM generate_series(t2, 1, -1) AS x);
        h1 := 1;
        h2 := 1;
        n0 := n;    -- judge nothing below
    END IF;
    -- (015) a window the same for every reading: its lowest level by a sliding-window minimum
    FOR i IN 1 .. n LOOP
        EXIT WHEN quiet;
        FOR k IN 1 .. 2 LOOP
            IF wins[i][k] IS NULL OR wins[i][k] <> wins[1][k] THEN
                uni[k] := false;
            END IF;
        END LOOP;
    END LOOP;
    FOR i IN 1 .. n LOOP
        EXIT WHEN quiet;
        IF uni[1] THEN
            WHILE t1 >= h1 AND lv[dq1[t1]] >= lv[i] LOOP
                t1 := t1 - 1;
            END LOOP;
            t1 := t1 + 1;
            dq1[t1] := i;
            WHILE ts[dq1[h1]] < ts[i] - wins[i][1] LOOP
                h1 := h1 + 1;
            END LOOP;
            lo_k[1] := dq1[h1];
        END IF;
        IF uni[2] THEN
            WHILE t2 >= h2 AND lv[dq2[t2]] >= lv[i] LOOP
                t2 := t2 - 1;
            END LOOP;
            t2 := t2 + 1;
            dq2[t2] := i;
            WHILE ts[dq2[h2]] < ts[i] - wins[i][2] LOOP
                h2 := h2 + 1;
            END LOOP;
            lo_k[2] := dq2[h2];
        END IF;
        -- judged: the new readings (live), or those from `since` - the longest window (full)
        CONTINUE WHEN i <= n0 OR ts[i] < judge_from;
        FOR k IN 1 .. 2 LOOP
            w := wins[i][k];
            c := mins[i][k];
            CONTINUE WHEN w IS NULL OR c IS NULL;
            -- the lowest level within [ts - w, ts]
            IF uni[k] THEN
                lo := lo_k[k];
            ELSE
                lo := i;
                j := i - 1;
                WHILE j >= 1 AND ts[j] >= ts[i] - w LOOP
                    IF lv[j] < lv[lo] THEN
                        lo := j;
                    END IF;
                    j := j - 1;
                END LOOP;
            END IF;
            rise := lv[i] - lv[lo];
            CONTINUE WHEN rise < c;
            IF ep_open[k] AND ep_win[k] = w AND ts[i] - ep_last[k] <= w THEN
                ep_last[k] := ts[i];
                ep_rise[k] := greatest(ep_rise[k], rise);
                ep_news[k] := ep_news[k] OR NOT hist[i];
            ELSE
                IF ep_open[k] THEN
                    PERFORM pantau_alert.record_rise(station, ep_win[k], ep_min[k], ep_first[k],
                                                     ep_last[k], ep_rise[k], ep_level[k],
                                                     ep_ev[k], ep_news[k],
                                                     latest - ep_last[k] > ep_win[k]);
                END IF;
                ep_open[k] := true;
                ep_win[k] := w;
                ep_min[k] := c;
                ep_first[k] := ts[i];
                ep_last[k] := ts[i];
                ep_rise[k] := rise;
                ep_news[k] := NOT hist[i];
                ep_level[k] := lvls[i];
                ep_ev[k] := jsonb_build_object('readings', jsonb_build_array(ev[lo], ev[i]));
            END IF;
        END LOOP;
    END LOOP;
    FOR k IN 1 .. 2 LOOP
        IF ep_open[k] THEN
            PERFORM pantau_alert.record_rise(station, ep_win[k], ep_min[k], ep_first[k],
                                             ep_last[k], ep_rise[k], ep_level[k], ep_ev[k],
                                             ep_news[k], latest - ep_last[k] > ep_win[k]);
        END IF;
    END LOOP;
    -- an episode is over once a window has passed without a reading meeting the rule
    FOR a_id IN
        UPDATE pantau_alert.alert a
        SET state = 'resolved', resolved_by = 'pantau', resolved_at = now(),
            resolved_note = 'the rise is over'
        WHERE a.station_id = station AND a.kind = 'flood_rise' AND a.state <> 'resolved'
          AND a.condition_until + a.rise_window < latest
        RETURNING a.alert_id
    LOOP
        PERFORM pantau_alert.announce(a_id, 'resolved', 'the rise is over');
    END LOOP;

    -- what the next live call needs: kept when both windows were the same for every reading
    -- and what was read covers the longest window before the last reading
    st := NULL;
    IF n > 0 AND uni[1] AND uni[2] AND wins[n][1] IS NOT NULL AND wins[n][2] IS NOT NULL
       AND (live OR ts[n] >= since - maxw) THEN
        -- both deques, in reading order, each reading once (plain PL/pgSQL: array elements
        -- by offset, no query over the arrays)
        e := '[]';
        i := h1;
        j := h2;
        WHILE i <= t1 OR j <= t2 LOOP
            IF j > t2 OR (i <= t1 AND dq1[i] <= dq2[j]) THEN
                k := dq1[i];
                i := i + 1;
                IF j <= t2 AND dq2[j] = k THEN
                    j := j + 1;
                END IF;
            ELSE
                k := dq2[j];
                j := j + 1;
            END IF;
            e := e || jsonb_build_array(jsonb_build_array(ts[k], lv[k], ev[k]));
        END LOOP;
        st := jsonb_build_object(
            'k', jsonb_build_array(ts[n], ev[n] ->> 'device_id', ev[n] ->> 'store_id',
                                   (ev[n] ->> 'seq')::bigint),
            'w', jsonb_build_array(wins[n][1], wins[n][2]),
            'c', e,
            'ep', jsonb_build_array(
                CASE WHEN ep_open[1] THEN jsonb_build_object(
                    'win', ep_win[1], 'min', ep_min[1], 'first', ep_first[1],
                    'last', ep_last[1], 'rise', ep_rise[1], 'news', ep_news[1],
                    'level', ep_level[1], 'ev', ep_ev[1]) END,
                CASE WHEN ep_open[2] THEN jsonb_build_object(
                    'win', ep_win[2], 'min', ep_min[2], 'first', ep_first[2],
                    'last', ep_last[2], 'rise', ep_rise[2], 'news', ep_news[2],
                    'level', ep_level[2], 'ev', ep_ev[2]) END));
    END IF;
    -- the caller writes it to gauge_state.rise_state
    RETURN st;
END
$$;
COMMENT ON FUNCTION pantau_alert.evaluate_rise_rows(text, timestamptz, pantau_alert.live_reading[]) IS 'Rate of rise of a gauge for its readings from `since` on: one flood_rise alert per episode and window; resolves the episodes that are over. Called by evaluate() with the gauge_state row locked. (015: the lowest level of a window by a sliding-window minimum; 019: when every reading to judge comes after the last one judged, goes on from gauge_state.rise_state and judges only the new readings: `rows` when given, else it reads them; same result). Returns the new rise_state, which the caller writes';

CREATE OR REPLACE FUNCTION pantau_alert.evaluate_rise(station text, since timestamptz)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    UPDATE pantau_alert.gauge_state g
    SET rise_state = pantau_alert.evaluate_rise_rows(station, since, NULL)
    WHERE g.station_id = station;
END
$$;
COMMENT ON FUNCTION pantau_alert.evaluate_rise(text, timestamptz) IS 'Rate of rise of a gauge for its readings from `since` on (pantau_alert.evaluate_rise_rows reading for itself, 019)';

-- ---- evaluate(): drops what the last evaluation of a gauge already read -------------------------

CREATE OR REPLACE FUNCTION pantau_alert.evaluate(max_items integer DEFAULT 1000) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    w record;
    items integer := 0;
    gs pantau_alert.gauge_state;
    snap pg_snapshot;
    since timestamptz;
    a_id bigint;
    read_from timestamptz;
    rs jsonb;
    vs pantau_alert.flood_value[];
    rows pantau_alert.live_reading[];
    n integer;
BEGIN
    -- the flood queue: picked once (MATERIALIZED), as in 013; gauges in one order, so that two
    -- evaluators wait for each other, never deadlock
    FOR w IN
        WITH pick AS MATERIALIZED (
            SELECT q.pending_id FROM pantau_alert.pending q
            ORDER BY q.pending_id LIMIT max_items
            FOR UPDATE SKIP LOCKED
        ), claimed AS (
            DELETE FROM pantau_alert.pending p USING pick
            WHERE p.pending_id = pick.pending_id
            RETURNING p.station_id, p.since, p.queued_xid
        )
        SELECT c.station_id, array_agg(c.since) AS sinces, array_agg(c.queued_xid) AS xids,
               count(*) AS n
        FROM claimed c GROUP BY c.station_id ORDER BY c.station_id
    LOOP
        items := items + w.n;
        SELECT * INTO gs FROM pantau_alert.gauge_state s WHERE s.station_id = w.station_id
        FOR UPDATE;
        IF NOT FOUND THEN
            INSERT INTO pantau_alert.gauge_state (station_id) VALUES (w.station_id)
            ON CONFLICT DO NOTHING;
            SELECT * INTO gs FROM pantau_alert.gauge_state s WHERE s.station_id = w.station_id
            FOR UPDATE;
        END IF;
        -- what this evaluation reads is at least what this snapshot sees (each statement
        -- after this one takes a later snapshot)
        snap := pg_current_snapshot();
        -- items the last evaluation of the gauge read (committed before its snapshot, from its
        -- since on) need nothing more; the others are evaluated from the earliest of them
        SELECT min(x.since) INTO since
        FROM unnest(w.sinces, w.xids) AS x(since, xid)
        WHERE NOT (gs.eval_snapshot IS NOT NULL AND x.since >= gs.eval_since
                   AND pg_visible_in_snapshot(x.xid, gs.eval_snapshot));
        CONTINUE WHEN since IS NULL;
        -- the live case (everything to judge comes after the last reading both rules judged):
        -- the new readings are read once, for both
        rows := NULL;
        IF gs.evaluated_to IS NOT NULL AND since > gs.evaluated_to
           AND (gs.rise_state -> 'k' ->> 0)::timestamptz = gs.evaluated_to
           AND gs.rise_state -> 'k' ->> 1 = gs.evaluated_device_id
           AND (gs.rise_state -> 'k' ->> 2)::uuid = gs.evaluated_store_id
           AND (gs.rise_state -> 'k' ->> 3)::bigint = gs.evaluated_seq
        THEN
            SELECT array_agg(v ORDER BY v.ts_best, v.device_id, v.store_id, v.seq) INTO vs
            FROM pantau_alert.flood_values_since(w.station_id, gs.evaluated_to) v
            WHERE (v.ts_best, v.device_id, v.store_id, v.seq)
                  > (gs.evaluated_to, gs.evaluated_device_id, gs.evaluated_store_id,
                     gs.evaluated_seq);
            n := coalesce(array_length(vs, 1), 0);
            IF n = 0 THEN
                rows := '{}';
            ELSIF NOT EXISTS (
                SELECT 1 FROM pantau_alert.flood_setting f
                WHERE (f.station_id IS NULL OR f.station_id = w.station_id)
                  AND ((lower(f.valid) > (vs[1]).ts_best AND lower(f.valid) <= (vs[n]).ts_best)
                       OR (upper(f.valid) > (vs[1]).ts_best
                           AND upper(f.valid) <= (vs[n]).ts_best)))
            THEN
                -- no settings version starts or ends among them: one lookup
                SELECT array_agg(ROW(vs[i], s.fall_margin, s.fall_dwell, s.rise_short_cm,
                                     s.rise_short_window, s.rise_long_cm,
                                     s.rise_long_window)::pantau_alert.live_reading
                                 ORDER BY i)
                INTO rows
                FROM generate_series(1, n) AS i
                CROSS JOIN pantau_alert.flood_setting_at(w.station_id, (vs[1]).ts_best) s;
            ELSE
                SELECT array_agg(ROW(vs[i], s.fall_margin, s.fall_dwell, s.rise_short_cm,
                                     s.rise_short_window, s.rise_long_cm,
                                     s.rise_long_window)::pantau_alert.live_reading
                                 ORDER BY i)
                INTO rows
                FROM generate_series(1, n) AS i
                CROSS JOIN LATERAL pantau_alert.flood_setting_at(w.station_id,
                                                                 (vs[i]).ts_best) s;
            END IF;
        END IF;
        PERFORM pantau_alert.evaluate_level_rows(w.station_id, since, rows);
        rs := pantau_alert.evaluate_rise_rows(w.station_id, since, rows);
        -- a silent gauge speaks again
        FOR a_id IN
            SELECT a.alert_id FROM pantau_alert.alert a
            JOIN pantau_alert.gauge_state s ON s.station_id = w.station_id
            WHERE a.subject = 'station:' || w.station_id AND a.kind = 'flood_silent'
              AND a.state <> 'resolved' AND s.evaluated_to > a.condition_time
        LOOP
            PERFORM pantau_alert.resolve_by_engine(a_id, 'readings resumed');
        END LOOP;
        UPDATE pantau_alert.gauge_state s
        SET eval_snapshot = snap, eval_since = since, rise_state = rs
        WHERE s.station_id = w.station_id;
        read_from := since;
        -- and what else of this gauge waits and was read now (a backlog of a gauge becomes
        -- one evaluation): claimed and dropped, so that a new reading does not wait behind it
        WITH done AS (
            DELETE FROM pantau_alert.pending p
            WHERE p.pending_id IN (
                SELECT q.pending_id FROM pantau_alert.pending q
                WHERE q.station_id = w.station_id AND q.since >= read_from
                  AND pg_visible_in_snapshot(q.queued_xid, snap)
                FOR UPDATE SKIP LOCKED)
            RETURNING 1
        )
        SELECT items + count(*) INTO items FROM done;
    END LOOP;
    -- then the rules of 015 (their own queue, their own subjects: no lock order between the two)
    RETURN items + pantau_alert.evaluate_rules(max_items);
END
$$;
COMMENT ON FUNCTION pantau_alert.evaluate(integer) IS 'Claims up to max_items items of each queue (SKIP LOCKED: evaluators share them): the flood queue (013: locks each gauge''s state in station order, level history, flood_level and flood_rise alerts; resolves a flood_silent alert when readings resume; 019: an item the gauge''s last evaluation already read is claimed and dropped) and the rules'' queue (pantau_alert.evaluate_rules: larva, incidents, congestion). NOTIFY pantau_alert per news alert. Returns the items claimed (0: both queues empty). Call it in its own transaction, in a loop, woken by NOTIFY pantau_alert_pending';

-- CREATE OR REPLACE keeps the grants (016: pantau_alertd, pantau_admin), not the
-- attributes: evaluate() says SECURITY DEFINER above; the privileges again, as 015/016 left them
REVOKE ALL ON FUNCTION pantau_alert.evaluate(integer),
    pantau_alert.evaluate_rise(text, timestamptz), pantau_alert.evaluate_level(text, timestamptz),
    pantau_alert.evaluate_level_rows(text, timestamptz, pantau_alert.live_reading[]),
    pantau_alert.evaluate_rise_rows(text, timestamptz, pantau_alert.live_reading[]),
    pantau_alert.queue_flood_insert(), pantau_alert.queue_larva_insert(),
    pantau_alert.queue_traffic_insert() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pantau_alert.evaluate(integer) TO pantau_alertd, pantau_admin;
GRANT EXECUTE ON FUNCTION pantau_alert.evaluate_rise(text, timestamptz),
    pantau_alert.evaluate_level(text, timestamptz),
    pantau_alert.evaluate_level_rows(text, timestamptz, pantau_alert.live_reading[]),
    pantau_alert.evaluate_rise_rows(text, timestamptz, pantau_alert.live_reading[])
    TO pantau_admin;
