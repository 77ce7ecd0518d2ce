-- 013_alerts: flood alerts, evaluated inside PostgreSQL (issue 11, first step; docs/alerts.md).
--
-- Where the rules run, and why: in PostgreSQL, as PL/pgSQL functions in the schema
-- pantau_alert, from committed rows only, in the same transaction that records the alert.
--   * Exactly once needs the decision and its record in one transaction with the data it was
--     made from: a unique key on the alert and a row lock on the gauge's state then make a
--     second raise impossible, whoever evaluates and however often.
--   * Any number of collectors and evaluators: the collector's own transaction queues the
--     work (a trigger, so the collector does not change); evaluators claim it with
--     DELETE ... FOR UPDATE SKIP LOCKED and serialise per gauge on a row lock of its state.
--   * kill -9 anywhere (collector, evaluator, the database) rolls the transaction back: the
--     queue row, the level history and the alert appear together or not at all.
-- A later program (pantau-alertd) calls pantau_alert.evaluate() in a loop woken by NOTIFY
-- pantau_alert_pending, and delivers the alerts announced on NOTIFY pantau_alert (MQTT,
-- webhook) from an outbox. Not in this migration.
--
-- The rules (all data, versioned like the registry):
--   level  the Siaga level of each reading from pantau.gauge_threshold valid at its best time
--          (pantau.reading_best_time), by the formula of pantau_report.flood_level. Rising to a
--          higher Siaga level is a change at once; falling needs every reading, for the dwell
--          time, below (the threshold of the current level - the fall margin): the gauge then
--          falls to the highest level seen during the dwell.
--   rise   level now - the lowest level in the window before it (both ends included) >= the
--          rise of the window (defaults: 30 cm in 15 min, 50 cm in 60 min): one alert per
--          episode (readings meeting the rule no further apart than the window).
--   news   an alert pages (news) only when a news reading (pantau.reading_is_history false)
--          shows its condition while it still holds now: the gauge's current level (or a rise
--          episode not over). Otherwise it is recorded as past (news false). An alert about
--          the past whose condition a news reading later confirms is paged then, once.

CREATE SCHEMA pantau_alert;
COMMENT ON SCHEMA pantau_alert IS 'Alerts: rules as data, the work queue, per-gauge state and level history, alerts and their lifecycle (013, docs/alerts.md)';

-- ---- the work queue ----------------------------------------------------------------------------

CREATE TABLE pantau_alert.pending (
    pending_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    station_id text NOT NULL,
    since timestamptz NOT NULL,
    queued_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE pantau_alert.pending IS 'Work for pantau_alert.evaluate(): a gauge to evaluate again from a best time on; filled by triggers in the writer''s own transaction (readings stored, ts_corrected set, thresholds changed), claimed with DELETE ... SKIP LOCKED';
COMMENT ON COLUMN pantau_alert.pending.pending_id IS 'Queue order';
COMMENT ON COLUMN pantau_alert.pending.station_id IS 'The gauge';
COMMENT ON COLUMN pantau_alert.pending.since IS 'Earliest best time affected (the gauge is evaluated again from here on)';
COMMENT ON COLUMN pantau_alert.pending.queued_at IS 'When the transaction that queued it ran';

-- Statement triggers with transition tables work on a partitioned table (PostgreSQL >= 11):
-- one queue row per station per statement, and none when ensure_partitions moves rows
-- between partitions (that inserts into a partition, not through the parent).
-- SECURITY DEFINER: the collector's role (pantau_ingest) has no rights in pantau_alert.
CREATE FUNCTION pantau_alert.queue_flood_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    INSERT INTO pantau_alert.pending (station_id, since)
    SELECT n.station_id,
           min(coalesce(pantau.reading_best_time(l.ts, l.clock_synced, l.ts_corrected,
                                                 l.received_at), n.ts))
    FROM new_rows n
    LEFT JOIN pantau.reading_ledger l
           ON l.device_id = n.device_id AND l.store_id = n.store_id AND l.seq = n.seq
    GROUP BY n.station_id;
    IF FOUND THEN
        PERFORM pg_notify('pantau_alert_pending', '');
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION pantau_alert.queue_flood_insert() IS 'Trigger (statement, on pantau.flood_reading): queues each gauge of the statement at the earliest best time among its new readings, and wakes the evaluators (NOTIFY pantau_alert_pending, sent at commit)';
CREATE TRIGGER alert_queue AFTER INSERT ON pantau.flood_reading
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pantau_alert.queue_flood_insert();

-- A ts_corrected set later moves a reading's best time: both the old and the new time are
-- affected. (Transition tables may not be combined with UPDATE OF column: the function
-- compares the column itself.)
CREATE FUNCTION pantau_alert.queue_ledger_update() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    INSERT INTO pantau_alert.pending (station_id, since)
    SELECT f.station_id,
           min(least(pantau.reading_best_time(o.ts, o.clock_synced, o.ts_corrected,
                                              o.received_at),
                     pantau.reading_best_time(n.ts, n.clock_synced, n.ts_corrected,
                                              n.received_at)))
    FROM new_rows n
    JOIN old_rows o ON o.device_id = n.device_id AND o.store_id = n.store_id AND o.seq = n.seq
    JOIN pantau.flood_reading f
      ON f.device_id = n.device_id AND f.store_id = n.store_id AND f.seq = n.seq
    WHERE n.stream = 'flood'
      AND n.ts_corrected IS DISTINCT FROM o.ts_corrected
    GROUP BY f.station_id;
    IF FOUND THEN
        PERFORM pg_notify('pantau_alert_pending', '');
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION pantau_alert.queue_ledger_update() IS 'Trigger (statement, on pantau.reading_ledger): a flood reading whose ts_corrected changed queues its gauge at the earlier of its old and new best time';
CREATE TRIGGER alert_queue AFTER UPDATE ON pantau.reading_ledger
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pantau_alert.queue_ledger_update();

-- A new threshold version applies from its valid-from: the gauge is evaluated again from the
-- earliest time whose thresholds changed (closing a version changes only its end).
CREATE FUNCTION pantau_alert.queue_threshold_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    since timestamptz;
BEGIN
    IF TG_OP = 'INSERT' THEN
        since := coalesce(lower(NEW.valid), '-infinity');
    ELSIF TG_OP = 'DELETE' THEN
        since := coalesce(lower(OLD.valid), '-infinity');
    ELSIF lower(OLD.valid) IS NOT DISTINCT FROM lower(NEW.valid)
          AND (OLD.station_id, OLD.quantity, OLD.siaga3_from, OLD.siaga2_from, OLD.siaga1_from)
              IS NOT DISTINCT FROM
              (NEW.station_id, NEW.quantity, NEW.siaga3_from, NEW.siaga2_from, NEW.siaga1_from)
    THEN
        since := least(coalesce(upper(OLD.valid), 'infinity'),
                       coalesce(upper(NEW.valid), 'infinity'));
    ELSE
        since := least(coalesce(lower(OLD.valid), '-infinity'),
                       coalesce(lower(NEW.valid), '-infinity'));
    END IF;
    IF since < 'infinity' THEN
        INSERT INTO pantau_alert.pending (station_id, since)
        SELECT DISTINCT s, since
        FROM unnest(CASE TG_OP WHEN 'INSERT' THEN ARRAY[NEW.station_id]
                               WHEN 'DELETE' THEN ARRAY[OLD.station_id]
                               ELSE ARRAY[OLD.station_id, NEW.station_id] END) s;
        PERFORM pg_notify('pantau_alert_pending', '');
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION pantau_alert.queue_threshold_change() IS 'Trigger (row, on pantau.gauge_threshold): queues the gauge from the earliest time whose thresholds changed';
CREATE TRIGGER alert_queue AFTER INSERT OR UPDATE OR DELETE ON pantau.gauge_threshold
    FOR EACH ROW EXECUTE FUNCTION pantau_alert.queue_threshold_change();

-- ---- rules as data -----------------------------------------------------------------------------

CREATE TABLE pantau_alert.flood_setting (
    station_id text REFERENCES pantau.station ON UPDATE CASCADE,
    valid tstzrange NOT NULL,
    fall_margin double precision CHECK (fall_margin >= 0),
    fall_dwell interval CHECK (fall_dwell >= interval '0'),
    rise_short_cm double precision CHECK (rise_short_cm > 0),
    rise_short_window interval CHECK (rise_short_window > interval '0'),
    rise_long_cm double precision CHECK (rise_long_cm > 0),
    rise_long_window interval CHECK (rise_long_window > interval '0'),
    note text NOT NULL DEFAULT '',
    CHECK (station_id IS NOT NULL
           OR (fall_margin IS NOT NULL AND fall_dwell IS NOT NULL AND rise_short_cm IS NOT NULL
               AND rise_short_window IS NOT NULL AND rise_long_cm IS NOT NULL
               AND rise_long_window IS NOT NULL)),
    EXCLUDE USING gist ((coalesce(station_id, '')) WITH =, valid WITH &&)
);
COMMENT ON TABLE pantau_alert.flood_setting IS 'Flood alert settings per period: the row with station_id NULL is the default; a gauge''s row overrides it column by column (NULL: the default''s value). Read with pantau_alert.flood_setting_at()';
COMMENT ON COLUMN pantau_alert.flood_setting.station_id IS 'The gauge; NULL: the defaults for every gauge';
COMMENT ON COLUMN pantau_alert.flood_setting.valid IS 'When these settings are in force: [from, to), judged at each reading''s best time';
COMMENT ON COLUMN pantau_alert.flood_setting.fall_margin IS 'Falling hysteresis: a reading counts as below a level only when under its threshold minus this (unit of the threshold''s quantity: cm or m3/s)';
COMMENT ON COLUMN pantau_alert.flood_setting.fall_dwell IS 'Falling hysteresis: how long the readings must stay below (threshold - margin) before the level falls';
COMMENT ON COLUMN pantau_alert.flood_setting.rise_short_cm IS 'Rate of rise, first window: a rise of at least this many cm within rise_short_window raises a flood_rise alert';
COMMENT ON COLUMN pantau_alert.flood_setting.rise_short_window IS 'Rate of rise, first window (default 15 minutes)';
COMMENT ON COLUMN pantau_alert.flood_setting.rise_long_cm IS 'Rate of rise, second window: cm within rise_long_window';
COMMENT ON COLUMN pantau_alert.flood_setting.rise_long_window IS 'Rate of rise, second window (default 60 minutes)';
COMMENT ON COLUMN pantau_alert.flood_setting.note IS 'Why (decision, agency)';
INSERT INTO pantau_alert.flood_setting (station_id, valid, fall_margin, fall_dwell, rise_short_cm,
                                        rise_short_window, rise_long_cm, rise_long_window, note)
VALUES (NULL, '(,)', 10, interval '30 minutes', 30, interval '15 minutes', 50, interval '1 hour',
        'defaults: rise per DOMAIN.md (estimate); margin and dwell ours');

-- A settings change applies from its valid-from like a threshold change: the gauge (the
-- defaults: every gauge evaluated so far) is evaluated again from there.
CREATE FUNCTION pantau_alert.queue_setting_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    since timestamptz;
    o pantau_alert.flood_setting;
    n pantau_alert.flood_setting;
BEGIN
    o := CASE WHEN TG_OP = 'INSERT' THEN NEW ELSE OLD END;
    n := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    IF TG_OP = 'UPDATE' AND lower(o.valid) IS NOT DISTINCT FROM lower(n.valid)
       AND (o.station_id, o.fall_margin, o.fall_dwell, o.rise_short_cm, o.rise_short_window,
            o.rise_long_cm, o.rise_long_window)
           IS NOT DISTINCT FROM
           (n.station_id, n.fall_margin, n.fall_dwell, n.rise_short_cm, n.rise_short_window,
            n.rise_long_cm, n.rise_long_window)
    THEN
        since := least(coalesce(upper(o.valid), 'infinity'),
                       coalesce(upper(n.valid), 'infinity'));
    ELSE
        since := least(coalesce(lower(o.valid), '-infinity'),
                       coalesce(lower(n.valid), '-infinity'));
    END IF;
    IF since < 'infinity' THEN
        INSERT INTO pantau_alert.pending (station_id, since)
        SELECT DISTINCT g.station_id, since
        FROM pantau_alert.gauge_state g
        WHERE o.station_id IS NULL OR n.station_id IS NULL
           OR g.station_id IN (o.station_id, n.station_id);
        IF FOUND THEN
            PERFORM pg_notify('pantau_alert_pending', '');
        END IF;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION pantau_alert.queue_setting_change() IS 'Trigger (row, on pantau_alert.flood_setting): queues the gauge (for the defaults: every gauge evaluated so far) from the earliest time whose settings changed';
CREATE TRIGGER alert_queue AFTER INSERT OR UPDATE OR DELETE ON pantau_alert.flood_setting
    FOR EACH ROW EXECUTE FUNCTION pantau_alert.queue_setting_change();

CREATE FUNCTION pantau_alert.flood_setting_at(station text, at timestamptz,
                                              OUT fall_margin double precision,
                                              OUT fall_dwell interval,
                                              OUT rise_short_cm double precision,
                                              OUT rise_short_window interval,
                                              OUT rise_long_cm double precision,
                                              OUT rise_long_window interval)
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT coalesce(o.fall_margin, d.fall_margin), coalesce(o.fall_dwell, d.fall_dwell),
           coalesce(o.rise_short_cm, d.rise_short_cm),
           coalesce(o.rise_short_window, d.rise_short_window),
           coalesce(o.rise_long_cm, d.rise_long_cm),
           coalesce(o.rise_long_window, d.rise_long_window)
    FROM (SELECT 1) one
    LEFT JOIN pantau_alert.flood_setting d ON d.station_id IS NULL AND d.valid @> at
    LEFT JOIN pantau_alert.flood_setting o ON o.station_id = station AND o.valid @> at
$$;
COMMENT ON FUNCTION pantau_alert.flood_setting_at(text, timestamptz) IS 'The flood settings of a gauge at a time: its own row''s values, else the defaults'' (NULL where neither has one)';

CREATE FUNCTION pantau_alert.siaga_of(v double precision, siaga3_from double precision,
                                      siaga2_from double precision,
                                      siaga1_from double precision)
RETURNS smallint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (CASE WHEN v IS NULL OR siaga3_from IS NULL THEN NULL
                 WHEN v >= siaga1_from THEN 1
                 WHEN v >= siaga2_from THEN 2
                 WHEN v >= siaga3_from THEN 3
                 ELSE 4 END)::smallint
$$;
COMMENT ON FUNCTION pantau_alert.siaga_of(double precision, double precision, double precision, double precision) IS 'Siaga level 1-4 of a value against thresholds (as pantau_report.flood_level: >= siaga3_from is 3, >= siaga2_from 2, >= siaga1_from 1)';

-- Every flood reading with what the rules need, by the formula of pantau_report.flood_level.
CREATE VIEW pantau_alert.flood_value AS
SELECT f.station_id,
       b.ts_best,
       f.device_id,
       f.store_id,
       f.seq,
       coalesce(f.level_cm, m.offset_cm - f.distance_cm) AS level_cm,
       t.quantity,
       t.v AS value,
       t.siaga3_from,
       t.siaga2_from,
       t.siaga1_from,
       pantau.reading_is_history(l.replay, l.ts, l.clock_synced, l.ts_corrected,
                                 l.received_at, 0) AS history,
       f.ts
FROM pantau.flood_reading f
JOIN pantau.reading_ledger l USING (device_id, store_id, seq)
CROSS JOIN LATERAL (SELECT pantau.reading_best_time(l.ts, l.clock_synced, l.ts_corrected,
                                                    l.received_at) AS ts_best) b
LEFT JOIN pantau.gauge_mount m ON m.station_id = f.station_id AND m.valid @> b.ts_best
LEFT JOIN LATERAL (
    SELECT t.quantity, q.v, t.siaga3_from, t.siaga2_from, t.siaga1_from
    FROM pantau.gauge_threshold t
    CROSS JOIN LATERAL (SELECT CASE t.quantity
                                   WHEN 'level_cm' THEN coalesce(f.level_cm,
                                                                 m.offset_cm - f.distance_cm)
                                   ELSE f.discharge_m3s END AS v) q
    WHERE t.station_id = f.station_id AND t.valid @> b.ts_best AND q.v IS NOT NULL
    ORDER BY t.quantity = 'level_cm' DESC
    LIMIT 1
) t ON true;
COMMENT ON VIEW pantau_alert.flood_value IS 'Flood readings as the rules see them: best time, level (cm, as in pantau_report.flood_level), the value and thresholds valid at the best time (NULL without thresholds), whether the reading is history (pantau.reading_is_history), and ts as reported (the partition key)';

-- The readings of one gauge from a best time on, without reading all its past: the best time
-- is ts (flood_reading's index and partitions) unless ts_corrected is set or the clock was not
-- synchronised; those few are found through two partial indexes of the ledger.
CREATE INDEX reading_ledger_ts_corrected ON pantau.reading_ledger (ts_corrected)
    WHERE ts_corrected IS NOT NULL;
CREATE INDEX reading_ledger_unsynced ON pantau.reading_ledger (received_at)
    WHERE ts_corrected IS NULL AND NOT clock_synced;
CREATE FUNCTION pantau_alert.flood_values_since(station text, since timestamptz)
RETURNS SETOF pantau_alert.flood_value LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    WITH k AS (
        SELECT f.device_id, f.store_id, f.seq, f.ts
        FROM pantau.flood_reading f
        WHERE f.station_id = station AND f.ts >= since
        UNION
        SELECT f.device_id, f.store_id, f.seq, f.ts
        FROM pantau.reading_ledger l
        JOIN pantau.flood_reading f
          ON f.device_id = l.device_id AND f.store_id = l.store_id AND f.seq = l.seq
        WHERE f.station_id = station
          AND (l.ts_corrected >= since
               OR (l.ts_corrected IS NULL AND NOT l.clock_synced AND l.received_at >= since))
    )
    SELECT v.*
    FROM k
    JOIN pantau_alert.flood_value v
      ON v.device_id = k.device_id AND v.store_id = k.store_id AND v.seq = k.seq
     AND v.ts = k.ts AND v.station_id = station
    WHERE v.ts_best >= since
$$;
COMMENT ON FUNCTION pantau_alert.flood_values_since(text, timestamptz) IS 'pantau_alert.flood_value of one gauge with ts_best >= since, found by ts (index, partitions) and, for corrected or unsynchronised readings, by the ledger''s partial indexes: an evaluation reads what changed, not the gauge''s whole past';

-- ---- state, level history, alerts --------------------------------------------------------------

CREATE TABLE pantau_alert.gauge_state (
    station_id text PRIMARY KEY,
    level smallint CHECK (level BETWEEN 1 AND 4),
    level_since timestamptz,
    fall_level smallint CHECK (fall_level BETWEEN 1 AND 4),
    fall_since timestamptz,
    fall_evidence jsonb,
    evaluated_to timestamptz,
    evaluated_device_id text,
    evaluated_store_id uuid,
    evaluated_seq bigint,
    evaluated_at timestamptz
);
COMMENT ON TABLE pantau_alert.gauge_state IS 'Per gauge: its current Siaga level after hysteresis, and the row every evaluator locks (FOR UPDATE) before it evaluates the gauge: one evaluator per gauge at a time';
COMMENT ON COLUMN pantau_alert.gauge_state.station_id IS 'The gauge';
COMMENT ON COLUMN pantau_alert.gauge_state.level IS 'Current Siaga level (4 normal .. 1 highest); NULL: no reading with thresholds yet';
COMMENT ON COLUMN pantau_alert.gauge_state.level_since IS 'Best time of the reading that made the current level';
COMMENT ON COLUMN pantau_alert.gauge_state.fall_level IS 'Falling candidate: the level the gauge falls to if the readings stay below (threshold - margin) for the dwell time; NULL: none';
COMMENT ON COLUMN pantau_alert.gauge_state.fall_since IS 'Best time of the first reading of the falling candidate';
COMMENT ON COLUMN pantau_alert.gauge_state.fall_evidence IS 'The first reading of the falling candidate (evidence of the fall)';
COMMENT ON COLUMN pantau_alert.gauge_state.evaluated_to IS 'Best time of the latest reading evaluated: work from a later time resumes from this state instead of the last change';
COMMENT ON COLUMN pantau_alert.gauge_state.evaluated_device_id IS 'Key of the latest reading evaluated (with evaluated_store_id, evaluated_seq)';
COMMENT ON COLUMN pantau_alert.gauge_state.evaluated_store_id IS 'Store id of that reading';
COMMENT ON COLUMN pantau_alert.gauge_state.evaluated_seq IS 'Sequence number of that reading';
COMMENT ON COLUMN pantau_alert.gauge_state.evaluated_at IS 'When it was last evaluated';

CREATE TABLE pantau_alert.alert (
    alert_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('flood_level', 'flood_rise')),
    station_id text NOT NULL,
    level smallint CHECK (level BETWEEN 1 AND 4),
    previous_level smallint CHECK (previous_level BETWEEN 1 AND 4),
    rise_window interval,
    rise_cm double precision,
    condition_time timestamptz NOT NULL,
    condition_until timestamptz,
    raised_at timestamptz NOT NULL DEFAULT now(),
    evidence jsonb NOT NULL,
    news boolean NOT NULL,
    paged_at timestamptz,
    state text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'acknowledged', 'resolved')),
    acknowledged_by text,
    acknowledged_at timestamptz,
    acknowledged_note text,
    resolved_by text,
    resolved_at timestamptz,
    resolved_note text,
    CHECK ((kind = 'flood_level') = (level IS NOT NULL AND rise_window IS NULL)),
    CHECK (news = (paged_at IS NOT NULL)),
    UNIQUE NULLS NOT DISTINCT (station_id, kind, rise_window, condition_time)
);
CREATE INDEX alert_open ON pantau_alert.alert (station_id, kind) WHERE state <> 'resolved';
COMMENT ON TABLE pantau_alert.alert IS 'One alert per real change (docs/alerts.md). Unique (station_id, kind, rise_window, condition_time): one change per gauge, rule and triggering best time, however often it is evaluated';
COMMENT ON COLUMN pantau_alert.alert.alert_id IS 'Alert id (the NOTIFY pantau_alert payload)';
COMMENT ON COLUMN pantau_alert.alert.kind IS 'flood_level (the Siaga level changed) or flood_rise (rate of rise over a window)';
COMMENT ON COLUMN pantau_alert.alert.station_id IS 'Subject: the gauge';
COMMENT ON COLUMN pantau_alert.alert.level IS 'flood_level: the new Siaga level (4 normal .. 1 highest); flood_rise: the level at the rise, if known';
COMMENT ON COLUMN pantau_alert.alert.previous_level IS 'flood_level: the level before; NULL for the first reading of a gauge';
COMMENT ON COLUMN pantau_alert.alert.rise_window IS 'flood_rise: the window (NULL for flood_level)';
COMMENT ON COLUMN pantau_alert.alert.rise_cm IS 'flood_rise: the rise within the window that raised it, cm';
COMMENT ON COLUMN pantau_alert.alert.condition_time IS 'Best time of the triggering reading (when the change happened)';
COMMENT ON COLUMN pantau_alert.alert.condition_until IS 'flood_rise: best time of the last reading of the episode meeting the rule';
COMMENT ON COLUMN pantau_alert.alert.raised_at IS 'When it was recorded (now() of the evaluating transaction)';
COMMENT ON COLUMN pantau_alert.alert.evidence IS 'Why: {"readings": [{device_id, store_id, seq, ts_best, value, history}...], thresholds or rule}';
COMMENT ON COLUMN pantau_alert.alert.news IS 'True: paged (a news reading showed the condition while it still held); false: recorded as past only';
COMMENT ON COLUMN pantau_alert.alert.paged_at IS 'When it became news and was announced (NOTIFY pantau_alert); NULL when never';
COMMENT ON COLUMN pantau_alert.alert.state IS 'open, acknowledged or resolved';
COMMENT ON COLUMN pantau_alert.alert.acknowledged_by IS 'Who acknowledged it';
COMMENT ON COLUMN pantau_alert.alert.acknowledged_at IS 'When';
COMMENT ON COLUMN pantau_alert.alert.acknowledged_note IS 'Their note';
COMMENT ON COLUMN pantau_alert.alert.resolved_by IS 'Who resolved it: a person, or pantau (the condition cleared)';
COMMENT ON COLUMN pantau_alert.alert.resolved_at IS 'When';
COMMENT ON COLUMN pantau_alert.alert.resolved_note IS 'Why';

CREATE TABLE pantau_alert.alert_event (
    event_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id bigint NOT NULL REFERENCES pantau_alert.alert,
    event text NOT NULL CHECK (event IN ('raised', 'paged', 'acknowledged', 'resolved')),
    at timestamptz NOT NULL DEFAULT now(),
    by text NOT NULL DEFAULT 'pantau',
    note text NOT NULL DEFAULT ''
);
CREATE INDEX alert_event_alert ON pantau_alert.alert_event (alert_id, event_id);
COMMENT ON TABLE pantau_alert.alert_event IS 'The lifecycle of every alert, one row per step, never changed';
COMMENT ON COLUMN pantau_alert.alert_event.event_id IS 'Order';
COMMENT ON COLUMN pantau_alert.alert_event.alert_id IS 'The alert';
COMMENT ON COLUMN pantau_alert.alert_event.event IS 'raised, paged (an alert recorded as past became news), acknowledged or resolved';
COMMENT ON COLUMN pantau_alert.alert_event.at IS 'When';
COMMENT ON COLUMN pantau_alert.alert_event.by IS 'Who: pantau (the engine) or a person';
COMMENT ON COLUMN pantau_alert.alert_event.note IS 'Details';

CREATE TABLE pantau_alert.gauge_level (
    station_id text NOT NULL,
    level smallint NOT NULL CHECK (level BETWEEN 1 AND 4),
    from_ts timestamptz NOT NULL,
    to_ts timestamptz,
    from_device_id text NOT NULL,
    from_store_id uuid NOT NULL,
    from_seq bigint NOT NULL,
    evidence jsonb NOT NULL,
    alert_id bigint REFERENCES pantau_alert.alert,
    PRIMARY KEY (station_id, from_ts),
    CHECK (to_ts > from_ts)
);
CREATE UNIQUE INDEX gauge_level_current ON pantau_alert.gauge_level (station_id)
    WHERE to_ts IS NULL;
CREATE UNIQUE INDEX gauge_level_alert ON pantau_alert.gauge_level (alert_id);
COMMENT ON TABLE pantau_alert.gauge_level IS 'The Siaga history of each gauge after hysteresis: one segment per level held, [from_ts, to_ts), by best time; made again from the earliest affected time when data arrives late, so complete whatever the order of arrival';
COMMENT ON COLUMN pantau_alert.gauge_level.station_id IS 'The gauge';
COMMENT ON COLUMN pantau_alert.gauge_level.level IS 'Siaga level held (4 normal .. 1 highest)';
COMMENT ON COLUMN pantau_alert.gauge_level.from_ts IS 'Best time of the reading that made the change';
COMMENT ON COLUMN pantau_alert.gauge_level.to_ts IS 'Best time of the next change; NULL: the current level';
COMMENT ON COLUMN pantau_alert.gauge_level.from_device_id IS 'Key of the reading that made the change (with from_store_id, from_seq)';
COMMENT ON COLUMN pantau_alert.gauge_level.from_store_id IS 'Store id of that reading';
COMMENT ON COLUMN pantau_alert.gauge_level.from_seq IS 'Sequence number of that reading';
COMMENT ON COLUMN pantau_alert.gauge_level.evidence IS 'The readings that made the change (for a fall: the first reading below as well) and the thresholds';
COMMENT ON COLUMN pantau_alert.gauge_level.alert_id IS 'The flood_level alert that records this change (NULL for a gauge''s first level when Siaga 4)';

-- ---- evaluation --------------------------------------------------------------------------------

CREATE FUNCTION pantau_alert.reading_json(r pantau_alert.flood_value)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('device_id', r.device_id, 'store_id', r.store_id, 'seq', r.seq,
                              'ts_best', r.ts_best, 'level_cm', r.level_cm,
                              'quantity', r.quantity, 'value', r.value, 'history', r.history)
$$;
COMMENT ON FUNCTION pantau_alert.reading_json(pantau_alert.flood_value) IS 'A reading as evidence: its key, best time, values and whether it is history';

CREATE FUNCTION pantau_alert.announce(a_id bigint, what text, note text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    INSERT INTO pantau_alert.alert_event (alert_id, event, note) VALUES (a_id, what, note);
    IF what IN ('raised', 'paged') THEN
        IF (SELECT news FROM pantau_alert.alert WHERE alert_id = a_id) THEN
            PERFORM pg_notify('pantau_alert', a_id::text);
        END IF;
    END IF;
END
$$;
COMMENT ON FUNCTION pantau_alert.announce(bigint, text, text) IS 'Logs a lifecycle event of an alert by the engine and, for a news alert raised or paged, sends NOTIFY pantau_alert with its id (delivered at commit)';

CREATE FUNCTION pantau_alert.page_if_news(a_id bigint, is_news boolean)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    IF is_news THEN
        UPDATE pantau_alert.alert SET news = true, paged_at = now()
        WHERE alert_id = a_id AND NOT news AND state <> 'resolved';
        IF FOUND THEN
            PERFORM pantau_alert.announce(a_id, 'paged', 'a news reading shows it still holds');
        END IF;
    END IF;
END
$$;
COMMENT ON FUNCTION pantau_alert.page_if_news(bigint, boolean) IS 'An alert recorded as past whose condition a news reading shows still holding becomes news, once';

-- The Siaga levels of one gauge from `since` on (caller holds the gauge_state lock).
CREATE FUNCTION pantau_alert.evaluate_level(station text, since timestamptz)
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
        SELECT v AS reading, v.ts_best, v.device_id, v.store_id, v.seq, v.value, v.siaga3_from,
               v.siaga2_from, v.siaga1_from, s.fall_margin, s.fall_dwell
        FROM pantau_alert.flood_values_since(station, k_ts) v
        CROSS JOIN LATERAL pantau_alert.flood_setting_at(v.station_id, v.ts_best) s
        WHERE v.value IS NOT NULL
          AND (v.ts_best, v.device_id, v.store_id, v.seq) > (k_ts, k_dev, k_store, k_seq)
        ORDER BY v.ts_best, v.device_id, v.store_id, v.seq
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
COMMENT ON FUNCTION pantau_alert.evaluate_level(text, timestamptz) IS 'Goes on from the state saved in gauge_state when `since` is after everything evaluated (the live case), else makes the Siaga history of a gauge again from the last change before `since` on; records one flood_level alert per change (matching the changes already recorded), pages and resolves. Called by evaluate() with the gauge_state row locked';

CREATE FUNCTION pantau_alert.record_rise(station text, win interval, rise_min double precision,
                                         first_ts timestamptz, last_ts timestamptz,
                                         rise double precision, level smallint,
                                         evidence jsonb, is_news boolean, over boolean)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    a pantau_alert.alert;
BEGIN
    SELECT * INTO a FROM pantau_alert.alert x
    WHERE x.station_id = station AND x.kind = 'flood_rise' AND x.rise_window = win
      AND x.condition_time <= last_ts AND x.condition_until >= first_ts - win
    ORDER BY x.condition_time
    LIMIT 1;
    IF FOUND THEN
        -- the same episode (seen again, or extended by later or late readings)
        UPDATE pantau_alert.alert x SET condition_until = greatest(x.condition_until, last_ts),
                                        rise_cm = greatest(x.rise_cm, rise)
        WHERE x.alert_id = a.alert_id;
        PERFORM pantau_alert.page_if_news(a.alert_id, is_news AND NOT over);
    ELSE
        INSERT INTO pantau_alert.alert (kind, station_id, level, rise_window, rise_cm,
                                        condition_time, condition_until, evidence, news, paged_at)
        VALUES ('flood_rise', station, level, win, rise, first_ts, last_ts,
                evidence || jsonb_build_object('rise_min_cm', rise_min, 'window', win),
                is_news AND NOT over, CASE WHEN is_news AND NOT over THEN now() END)
        ON CONFLICT DO NOTHING
        RETURNING * INTO a;
        IF a.alert_id IS NOT NULL THEN
            PERFORM pantau_alert.announce(a.alert_id, 'raised',
                                          format('rose %s cm within %s', rise, win));
        END IF;
    END IF;
END
$$;
COMMENT ON FUNCTION pantau_alert.record_rise(text, interval, double precision, timestamptz, timestamptz, double precision, smallint, jsonb, boolean, boolean) IS 'Records one rise episode of a gauge: the alert already recorded for it (overlapping within the window) or a new one';

-- Rate of rise of one gauge for the readings from `since` on (caller holds the lock).
CREATE FUNCTION pantau_alert.evaluate_rise(station text, since timestamptz)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog AS $$
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
BEGIN
    SELECT max(greatest(s.rise_short_window, s.rise_long_window)) INTO maxw
    FROM pantau_alert.flood_setting s;
    maxw := coalesce(maxw, interval '0');
    SELECT array_agg(v.ts_best ORDER BY v.ts_best, v.device_id, v.store_id, v.seq),
           array_agg(v.level_cm ORDER BY v.ts_best, v.device_id, v.store_id, v.seq),
           array_agg(v.history ORDER BY v.ts_best, v.device_id, v.store_id, v.seq),
           array_agg(pantau_alert.reading_json(v) ORDER BY v.ts_best, v.device_id, v.store_id,
                     v.seq),
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
    IF n > 0 THEN
        latest := ts[n];
    END IF;
    FOR i IN 1 .. n LOOP
        CONTINUE WHEN ts[i] < since - maxw;
        FOR k IN 1 .. 2 LOOP
            w := wins[i][k];
            c := mins[i][k];
            CONTINUE WHEN w IS NULL OR c IS NULL;
            -- the lowest level within [ts - w, ts]
            lo := i;
            j := i - 1;
            WHILE j >= 1 AND ts[j] >= ts[i] - w LOOP
                IF lv[j] < lv[lo] THEN
                    lo := j;
                END IF;
                j := j - 1;
            END LOOP;
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
    -- (latest: the gauge's latest reading, loaded above unless none is that recent)
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
END
$$;
COMMENT ON FUNCTION pantau_alert.evaluate_rise(text, timestamptz) IS 'Rate of rise of a gauge for its readings from `since` on: one flood_rise alert per episode and window; resolves the episodes that are over. Called by evaluate() with the gauge_state row locked';

CREATE FUNCTION pantau_alert.evaluate(max_items integer DEFAULT 1000) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    stations text[];
    sinces timestamptz[];
    items integer;
    i integer;
BEGIN
    -- the items to claim are picked once (MATERIALIZED): a LIMIT ... SKIP LOCKED subquery
    -- run again inside the DELETE would skip the rows this DELETE just removed and take more
    WITH pick AS MATERIALIZED (
        SELECT q.pending_id FROM pantau_alert.pending q
        ORDER BY q.pending_id LIMIT max_items
        FOR UPDATE SKIP LOCKED
    ), claimed AS (
        DELETE FROM pantau_alert.pending p USING pick
        WHERE p.pending_id = pick.pending_id
        RETURNING p.station_id, p.since
    ), per_station AS (
        SELECT c.station_id, min(c.since) AS since, count(*) AS n
        FROM claimed c GROUP BY c.station_id
    )
    SELECT array_agg(ps.station_id ORDER BY ps.station_id),
           array_agg(ps.since ORDER BY ps.station_id),
           coalesce(sum(ps.n), 0)
    INTO stations, sinces, items
    FROM per_station ps;
    -- gauges in one order: two evaluators wait for each other, never deadlock
    FOR i IN 1 .. coalesce(array_length(stations, 1), 0) LOOP
        PERFORM 1 FROM pantau_alert.gauge_state s WHERE s.station_id = stations[i] FOR UPDATE;
        IF NOT FOUND THEN
            INSERT INTO pantau_alert.gauge_state (station_id) VALUES (stations[i])
            ON CONFLICT DO NOTHING;
            PERFORM 1 FROM pantau_alert.gauge_state s WHERE s.station_id = stations[i]
            FOR UPDATE;
        END IF;
        PERFORM pantau_alert.evaluate_level(stations[i], sinces[i]);
        PERFORM pantau_alert.evaluate_rise(stations[i], sinces[i]);
    END LOOP;
    RETURN items;
END
$$;
COMMENT ON FUNCTION pantau_alert.evaluate(integer) IS 'Claims up to max_items queued items (SKIP LOCKED: evaluators share the queue), locks each gauge''s state in station order and evaluates it again from the earliest affected best time: level history, flood_level and flood_rise alerts, NOTIFY pantau_alert per news alert. Returns the items claimed (0: the queue was empty). Call it in its own transaction, in a loop, woken by NOTIFY pantau_alert_pending';

-- ---- people ------------------------------------------------------------------------------------

CREATE FUNCTION pantau_alert.acknowledge(a_id bigint, who text, note text DEFAULT '')
RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    UPDATE pantau_alert.alert SET state = 'acknowledged', acknowledged_by = who,
                                  acknowledged_at = now(), acknowledged_note = note
    WHERE alert_id = a_id AND state = 'open';
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    INSERT INTO pantau_alert.alert_event (alert_id, event, by, note)
    VALUES (a_id, 'acknowledged', who, note);
    RETURN true;
END
$$;
COMMENT ON FUNCTION pantau_alert.acknowledge(bigint, text, text) IS 'A person acknowledges an open alert (false: not open)';

CREATE FUNCTION pantau_alert.resolve(a_id bigint, who text, note text DEFAULT '')
RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    UPDATE pantau_alert.alert SET state = 'resolved', resolved_by = who, resolved_at = now(),
                                  resolved_note = note
    WHERE alert_id = a_id AND state <> 'resolved';
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    INSERT INTO pantau_alert.alert_event (alert_id, event, by, note)
    VALUES (a_id, 'resolved', who, note);
    RETURN true;
END
$$;
COMMENT ON FUNCTION pantau_alert.resolve(bigint, text, text) IS 'A person resolves an alert (false: already resolved)';

-- ---- privileges --------------------------------------------------------------------------------
-- The collector needs nothing here: the queue triggers run as their owner. Evaluating and
-- acknowledging is for pantau_admin until the alert service gets its own role (next step).
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA pantau_alert FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pantau_alert.siaga_of(double precision, double precision,
                                                double precision, double precision),
                          pantau_alert.flood_setting_at(text, timestamptz),
                          pantau_alert.reading_json(pantau_alert.flood_value)
    TO pantau_analyst, pantau_admin;
GRANT USAGE ON SCHEMA pantau_alert TO pantau_analyst, pantau_admin;
GRANT SELECT ON pantau_alert.flood_setting, pantau_alert.gauge_state, pantau_alert.gauge_level,
    pantau_alert.alert, pantau_alert.alert_event, pantau_alert.flood_value TO pantau_analyst;
GRANT ALL ON ALL TABLES IN SCHEMA pantau_alert TO pantau_admin;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA pantau_alert TO pantau_admin;
