-- 015_alert_rules: the larva, traffic, silent-gauge and system rules of issue 11 (docs/alerts.md),
-- in the design of 013: queue triggers in the writer's own transaction (SECURITY DEFINER, fixed
-- search_path: the collector's role needs no new right), rules as versioned data with defaults,
-- evaluation inside PostgreSQL from committed rows, a row lock per subject that serialises the
-- evaluators, and keys that make a second raise impossible.
--
--   larva_positive      an inspection with larvae (larvae_found, or a container with positive
--                       > 0): area_code = kelurahan, rw, ref = the inspection's key
--                       device/store/seq; evidence RT/RW, building, containers; never the
--                       address, GPS or inspector (personal data: the health role looks the key up)
--   larva_abj           a kelurahan-week (WIB, ISO week) with ABJ below 95 % among at least
--                       larva_min_houses houses; ref = the week ('2026-W49')
--   larva_house_index   an RW-week with HI above 10 % (the fogging trigger), same minimum
--   traffic_incident    a camera incident of a listed type; its updates and its end update and
--                       resolve the same alert; road flooding carries "also": ["flood"]
--   traffic_congestion  level of service E or F on a camera for traffic_congestion_after
--                       (15 min); resolved after traffic_congestion_clear (15 min) at D or better
--   flood_silent        (evaluate_time) a gauge with no reading for flood_silent_multiple (3)
--                       times its cadence; level = its last Siaga level
--   system_*            (evaluate_time) a gateway offline, a growing backlog, dead letters faster
--                       than a rate. system_service_down is left to the delivery program: the
--                       database records no heartbeat of the collectors (and cannot see itself
--                       down)
--
-- The level of service formula was inline in pantau_report.traffic_los_hour (006, 009): it is
-- now pantau.traffic_pcu / traffic_flow / traffic_ds / traffic_los, used by that view (made
-- again here, same columns) and by the congestion rule.
--
-- Performance: flood_values_since and evaluate_rise of 013 are made again (same results, 013's
-- tests unchanged): the live path of a gauge with 43k readings went from about 130 ms per queue
-- item to about 10 (figures in docs/alerts.md).

-- ---- settings: versioned data with defaults ------------------------------------------------------

CREATE TABLE pantau_alert.rule_setting (
    name text NOT NULL CHECK (name ~ '^[a-z0-9_]+$'),
    scope text NOT NULL DEFAULT '',
    valid tstzrange NOT NULL,
    value jsonb NOT NULL,
    note text NOT NULL DEFAULT '',
    EXCLUDE USING gist (name WITH =, scope WITH =, valid WITH &&)
);
COMMENT ON TABLE pantau_alert.rule_setting IS 'Settings of the larva, traffic, silent-gauge and system rules, versioned (valid): scope '''' is the default; a row with a scope (an alert subject such as station:<id>, device:<id>, area:<code>) overrides it for that subject. Read with pantau_alert.setting_at()';
COMMENT ON COLUMN pantau_alert.rule_setting.name IS 'The setting (docs/alerts.md lists them)';
COMMENT ON COLUMN pantau_alert.rule_setting.scope IS '''''for the default, else the subject it applies to (station:<id>, device:<id>, area:<code>)';
COMMENT ON COLUMN pantau_alert.rule_setting.valid IS 'When in force: [from, to)';
COMMENT ON COLUMN pantau_alert.rule_setting.value IS 'The value as JSON: a number, an interval as text (''15 minutes''), or an array';
COMMENT ON COLUMN pantau_alert.rule_setting.note IS 'Why (decision, source)';

INSERT INTO pantau_alert.rule_setting (name, valid, value, note) VALUES
    ('larva_min_houses', '(,)', '10',
     'an index counts from 10 houses inspected in the area-week: below that one house moves ABJ '
     'by 10 points or more (1 of 9 is 11 %), so the index says more about the sample than the '
     'area; 10 is about half of one coordinator''s round (20-25 houses, DOMAIN.md)'),
    ('larva_abj_below', '(,)', '95', 'ABJ target >= 95 % (Kemenkes): below raises larva_abj'),
    ('larva_hi_above', '(,)', '10', 'HI over 10 % triggers fogging (DOMAIN.md): raises larva_house_index'),
    ('traffic_incident_types', '(,)', '["accident", "road_flooding", "stalled_vehicle", "wrong_way"]',
     'incident types that raise traffic_incident (issue 11)'),
    ('traffic_incident_flood_types', '(,)', '["road_flooding"]',
     'incident types routed to the flood desk too: evidence also = ["flood"]'),
    ('traffic_congestion_after', '(,)', '"15 minutes"',
     'level of service E or F this long raises traffic_congestion'),
    ('traffic_congestion_clear', '(,)', '"15 minutes"',
     'level of service D or better this long resolves it (hysteresis: a short dip is the same episode)'),
    ('flood_silent_multiple', '(,)', '3', 'a gauge is silent after this many times its cadence'),
    ('flood_cadence_siaga4', '(,)', '"60 minutes"', 'DKI procedure: hourly at Siaga 4 (DOMAIN.md)'),
    ('flood_cadence_siaga3', '(,)', '"30 minutes"', 'DKI procedure: every 30 min at Siaga 3'),
    ('flood_cadence_siaga2', '(,)', '"15 minutes"', 'DKI procedure: every 15 min at Siaga 2'),
    ('flood_cadence_siaga1', '(,)', '"5 minutes"', 'DKI procedure: every 5 min at Siaga 1'),
    ('gateway_offline_after', '(,)', '"10 minutes"',
     'a gateway offline this long raises system_gateway_offline (ours: a reconnect takes seconds)'),
    ('dead_letter_window', '(,)', '"10 minutes"', 'dead letters are counted over this window'),
    ('dead_letter_max', '(,)', '50',
     'more than this many dead letters within the window raises system_dead_letters (ours)'),
    ('backlog_window', '(,)', '"30 minutes"',
     'a device''s backlog that has not fallen for this long ...'),
    ('backlog_min_growth', '(,)', '100', '... and grew by at least this many readings raises system_backlog');

CREATE FUNCTION pantau_alert.setting_at(setting text, subject text, at timestamptz)
RETURNS jsonb LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT s.value FROM pantau_alert.rule_setting s
    WHERE s.name = setting AND s.scope IN ('', coalesce(subject, '')) AND s.valid @> at
    ORDER BY s.scope DESC
    LIMIT 1
$$;
COMMENT ON FUNCTION pantau_alert.setting_at(text, text, timestamptz) IS 'A rule setting in force at a time: the subject''s own row, else the default (NULL: neither)';

CREATE FUNCTION pantau_alert.setting_num(setting text, subject text, at timestamptz)
RETURNS double precision LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT (pantau_alert.setting_at(setting, subject, at) #>> '{}')::double precision
$$;
COMMENT ON FUNCTION pantau_alert.setting_num(text, text, timestamptz) IS 'A numeric rule setting (pantau_alert.setting_at)';

CREATE FUNCTION pantau_alert.setting_interval(setting text, subject text, at timestamptz)
RETURNS interval LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT (pantau_alert.setting_at(setting, subject, at) #>> '{}')::interval
$$;
COMMENT ON FUNCTION pantau_alert.setting_interval(text, text, timestamptz) IS 'An interval rule setting (pantau_alert.setting_at)';

-- ---- per-subject state: the row evaluators lock ----------------------------------------------------

CREATE TABLE pantau_alert.subject_state (
    subject text NOT NULL,
    rule text NOT NULL,
    since timestamptz,
    value double precision,
    data jsonb,
    evaluated_at timestamptz,
    PRIMARY KEY (subject, rule)
);
COMMENT ON TABLE pantau_alert.subject_state IS 'One row per subject and rule of 015 (a kelurahan''s larva, a camera''s incidents or congestion, a gauge''s silence, a device''s status or backlog, the pipe''s dead letters): the row every evaluator locks (FOR UPDATE) before it evaluates that subject, and what a time-driven rule remembers between two calls';
COMMENT ON COLUMN pantau_alert.subject_state.subject IS 'As pantau_alert.alert.subject without #ref: station:<id>, device:<id>, area:<code>, pantau';
COMMENT ON COLUMN pantau_alert.subject_state.rule IS 'larva, incident, congestion, silent, offline, backlog, dead_letters';
COMMENT ON COLUMN pantau_alert.subject_state.since IS 'backlog: since when the backlog has not fallen; dead_letters: since when the rate has been above the limit (NULL: not above)';
COMMENT ON COLUMN pantau_alert.subject_state.value IS 'backlog: the backlog last seen';
COMMENT ON COLUMN pantau_alert.subject_state.data IS 'backlog: {"base": the backlog at since}';
COMMENT ON COLUMN pantau_alert.subject_state.evaluated_at IS 'backlog, dead_letters: when since or the value last changed';

CREATE FUNCTION pantau_alert.lock_subject(subj text, rule_name text)
RETURNS pantau_alert.subject_state LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    st pantau_alert.subject_state;
BEGIN
    SELECT * INTO st FROM pantau_alert.subject_state s
    WHERE s.subject = subj AND s.rule = rule_name FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO pantau_alert.subject_state (subject, rule) VALUES (subj, rule_name)
        ON CONFLICT DO NOTHING;
        SELECT * INTO st FROM pantau_alert.subject_state s
        WHERE s.subject = subj AND s.rule = rule_name FOR UPDATE;
    END IF;
    RETURN st;
END
$$;
COMMENT ON FUNCTION pantau_alert.lock_subject(text, text) IS 'Locks (FOR UPDATE, made if missing) the subject_state row of a subject and rule until the end of the transaction: one evaluator per subject at a time';

-- ---- the second work queue ----------------------------------------------------------------------

CREATE TABLE pantau_alert.pending_rule (
    pending_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rule text NOT NULL CHECK (rule IN ('larva', 'incident', 'congestion')),
    station_id text,
    ref text,
    since timestamptz NOT NULL,
    queued_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE pantau_alert.pending_rule IS 'Work for the rules of 015 (pantau_alert.evaluate() claims it with the flood queue): filled by triggers in the writer''s own transaction, claimed with DELETE ... SKIP LOCKED';
COMMENT ON COLUMN pantau_alert.pending_rule.pending_id IS 'Queue order';
COMMENT ON COLUMN pantau_alert.pending_rule.rule IS 'larva (an inspection), incident (a camera incident), congestion (a camera''s counts)';
COMMENT ON COLUMN pantau_alert.pending_rule.station_id IS 'incident, congestion: the camera';
COMMENT ON COLUMN pantau_alert.pending_rule.ref IS 'larva: the inspection key device_id/store_id/seq; incident: the event id';
COMMENT ON COLUMN pantau_alert.pending_rule.since IS 'Earliest best time affected (congestion: evaluated again from here on)';
COMMENT ON COLUMN pantau_alert.pending_rule.queued_at IS 'When the transaction that queued it ran';

CREATE FUNCTION pantau_alert.queue_larva_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    INSERT INTO pantau_alert.pending_rule (rule, ref, since)
    SELECT 'larva', n.device_id || '/' || n.store_id || '/' || n.seq,
           coalesce(pantau.reading_best_time(l.ts, l.clock_synced, l.ts_corrected,
                                             l.received_at), n.ts)
    FROM new_rows n
    LEFT JOIN pantau.reading_ledger l
           ON l.device_id = n.device_id AND l.store_id = n.store_id AND l.seq = n.seq;
    IF FOUND THEN
        PERFORM pg_notify('pantau_alert_pending', '');
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION pantau_alert.queue_larva_insert() IS 'Trigger (statement, on pantau_pii.larva_inspection): queues each new inspection (its containers are written in the same transaction, before the evaluator can claim it)';
CREATE TRIGGER alert_queue AFTER INSERT ON pantau_pii.larva_inspection
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pantau_alert.queue_larva_insert();

CREATE FUNCTION pantau_alert.queue_incident_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    INSERT INTO pantau_alert.pending_rule (rule, station_id, ref, since)
    SELECT 'incident', n.station_id, n.event_id, min(n.ts)
    FROM new_rows n
    GROUP BY n.station_id, n.event_id;
    IF FOUND THEN
        PERFORM pg_notify('pantau_alert_pending', '');
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION pantau_alert.queue_incident_insert() IS 'Trigger (statement, on pantau.incident_update): queues each incident (camera, event id) of the statement';
CREATE TRIGGER alert_queue AFTER INSERT ON pantau.incident_update
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pantau_alert.queue_incident_insert();

CREATE FUNCTION pantau_alert.queue_traffic_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    INSERT INTO pantau_alert.pending_rule (rule, station_id, since)
    SELECT 'congestion', n.station_id,
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
COMMENT ON FUNCTION pantau_alert.queue_traffic_insert() IS 'Trigger (statement, on pantau.traffic_count): queues each camera of the statement at the earliest best time among its new counts';
CREATE TRIGGER alert_queue AFTER INSERT ON pantau.traffic_count
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pantau_alert.queue_traffic_insert();

-- A ts_corrected set later moves a count's or an inspection's best time (013's trigger does the
-- flood readings).
CREATE FUNCTION pantau_alert.queue_rule_ledger_update() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    INSERT INTO pantau_alert.pending_rule (rule, station_id, ref, since)
    SELECT 'congestion', t.station_id, NULL,
           min(least(pantau.reading_best_time(o.ts, o.clock_synced, o.ts_corrected,
                                              o.received_at),
                     pantau.reading_best_time(n.ts, n.clock_synced, n.ts_corrected,
                                              n.received_at)))
    FROM new_rows n
    JOIN old_rows o ON o.device_id = n.device_id AND o.store_id = n.store_id AND o.seq = n.seq
    JOIN pantau.traffic_count t
      ON t.device_id = n.device_id AND t.store_id = n.store_id AND t.seq = n.seq
    WHERE n.stream = 'traffic' AND n.ts_corrected IS DISTINCT FROM o.ts_corrected
    GROUP BY t.station_id
    UNION ALL
    SELECT 'larva', NULL, n.device_id || '/' || n.store_id || '/' || n.seq,
           pantau.reading_best_time(n.ts, n.clock_synced, n.ts_corrected, n.received_at)
    FROM new_rows n
    JOIN old_rows o ON o.device_id = n.device_id AND o.store_id = n.store_id AND o.seq = n.seq
    WHERE n.stream = 'larva' AND n.ts_corrected IS DISTINCT FROM o.ts_corrected;
    IF FOUND THEN
        PERFORM pg_notify('pantau_alert_pending', '');
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION pantau_alert.queue_rule_ledger_update() IS 'Trigger (statement, on pantau.reading_ledger): a traffic count whose ts_corrected changed queues its camera from the earlier of its old and new best time; a larva inspection queues itself again';
CREATE TRIGGER alert_queue_rules AFTER UPDATE ON pantau.reading_ledger
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pantau_alert.queue_rule_ledger_update();

CREATE INDEX incident_update_event ON pantau.incident_update (station_id, event_id);
-- a count by its key (the ledger trigger above and traffic_intervals' corrected counts), as
-- flood_reading_key and larva_container_key: without it a join from the ledger scans the table
CREATE INDEX traffic_count_key ON pantau.traffic_count (device_id, store_id, seq);

-- ---- level of service, written once ------------------------------------------------------------
-- Extracted from pantau_report.traffic_los_hour (006, 009), where it was inline; the view below
-- uses these now, and so does the congestion rule. Plain SQL, no SET: inlined in the view.

CREATE FUNCTION pantau.traffic_pcu(motorcycle integer, car integer, bus integer, truck integer)
RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 0.25 * coalesce(motorcycle, 0) + coalesce(car, 0) + 1.2 * coalesce(bus, 0)
           + 1.3 * coalesce(truck, 0)
$$;
COMMENT ON FUNCTION pantau.traffic_pcu(integer, integer, integer, integer) IS 'Light-vehicle equivalents (pcu) of a count, PKJI 2023 urban: motorcycle 0.25, car 1.0, bus 1.2, truck 1.3; non-motorised excluded (NULL counts as 0)';

CREATE FUNCTION pantau.traffic_flow(pcu numeric, observed_s double precision)
RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT pcu * 3600.0 / nullif(observed_s, 0)
$$;
COMMENT ON FUNCTION pantau.traffic_flow(numeric, double precision) IS 'Flow q in pcu per hour of pcu counted over observed_s seconds (per lane: the intervals summed over lanes / the lanes)';

CREATE FUNCTION pantau.traffic_ds(pcu numeric, observed_s double precision,
                                  capacity_pcu_h double precision)
RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT pantau.traffic_flow(pcu, observed_s) / capacity_pcu_h
$$;
COMMENT ON FUNCTION pantau.traffic_ds(numeric, double precision, double precision) IS 'Degree of saturation DS = q / C (PKJI 2023), q from pantau.traffic_flow';

CREATE FUNCTION pantau.traffic_los(ds double precision, speed_kmh double precision)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN ds IS NULL THEN NULL
                WHEN ds <= 0.6 AND coalesce(speed_kmh >= 80, true) THEN 'A'
                WHEN ds <= 0.7 AND coalesce(speed_kmh >= 40, true) THEN 'B'
                WHEN ds <= 0.8 AND coalesce(speed_kmh >= 30, true) THEN 'C'
                WHEN ds <= 0.9 AND coalesce(speed_kmh >= 25, true) THEN 'D'
                WHEN ds <= 1.0 AND coalesce(speed_kmh > 15, true) THEN 'E'
                ELSE 'F' END
$$;
COMMENT ON FUNCTION pantau.traffic_los(double precision, double precision) IS 'Level of service A-F from DS and the average speed (KM 14/2006); without a speed from DS alone';
GRANT EXECUTE ON FUNCTION pantau.traffic_pcu(integer, integer, integer, integer),
                          pantau.traffic_flow(numeric, double precision),
                          pantau.traffic_ds(numeric, double precision, double precision),
                          pantau.traffic_los(double precision, double precision)
    TO pantau_analyst, pantau_admin;

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
           sum(pantau.traffic_pcu(t.motorcycle, t.car, t.bus, t.truck)) AS pcu,
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
           pantau.traffic_flow(p.pcu, p.observed_s) AS q_pcu_h,
           s.capacity_pcu_h,
           pantau.traffic_ds(p.pcu, p.observed_s, s.capacity_pcu_h) AS ds
    FROM per_hour p
    JOIN pantau.station s USING (station_id)
)
SELECT station_id, hour_wib, motorcycle, car, bus, truck, nonmotor,
       round(q_pcu_h::numeric, 1) AS q_pcu_h,
       capacity_pcu_h,
       round(ds::numeric, 3) AS ds,
       round(speed_kmh::numeric, 1) AS speed_kmh,
       pantau.traffic_los(ds, speed_kmh) AS los
FROM q;
COMMENT ON VIEW pantau_report.traffic_los_hour IS 'Per camera and hour (WIB) of the best time of each count (its interval''s start: ts_corrected where set, else ts when clock_synced, else received_at): counts, flow q in pcu/h, degree of saturation DS = q/C, weighted average speed (km/h) and level of service A-F (pantau.traffic_pcu, traffic_flow, traffic_ds, traffic_los: the same functions as the congestion alert)';

-- ---- the event log: an incident's update ----------------------------------------------------------

ALTER TABLE pantau_alert.alert_event DROP CONSTRAINT alert_event_event_check;
ALTER TABLE pantau_alert.alert_event ADD CONSTRAINT alert_event_event_check
    CHECK (event IN ('raised', 'paged', 'updated', 'acknowledged', 'resolved'));
COMMENT ON COLUMN pantau_alert.alert_event.event IS 'raised, paged (an alert recorded as past became news), updated (new evidence for the same alert: an incident''s update), acknowledged or resolved';

CREATE FUNCTION pantau_alert.resolve_by_engine(a_id bigint, why text)
RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    UPDATE pantau_alert.alert SET state = 'resolved', resolved_by = 'pantau', resolved_at = now(),
                                  resolved_note = why
    WHERE alert_id = a_id AND state <> 'resolved';
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM pantau_alert.announce(a_id, 'resolved', why);
    RETURN true;
END
$$;
COMMENT ON FUNCTION pantau_alert.resolve_by_engine(bigint, text) IS 'The engine resolves an alert whose condition cleared (false: already resolved), logged as by pantau';

CREATE FUNCTION pantau_alert.raise(a pantau_alert.alert, note text)
RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    a_id bigint;
BEGIN
    INSERT INTO pantau_alert.alert (kind, station_id, device_id, area_code, rw, ref, level,
                                    condition_time, condition_until, evidence, news, paged_at)
    VALUES (a.kind, a.station_id, a.device_id, a.area_code, a.rw, a.ref, a.level,
            a.condition_time, a.condition_until, a.evidence, a.news,
            CASE WHEN a.news THEN now() END)
    ON CONFLICT DO NOTHING
    RETURNING alert_id INTO a_id;
    IF a_id IS NOT NULL THEN
        PERFORM pantau_alert.announce(a_id, 'raised', note);
    END IF;
    RETURN a_id;
END
$$;
COMMENT ON FUNCTION pantau_alert.raise(pantau_alert.alert, text) IS 'Records an alert of the 015 rules (kind, subject columns, level, condition_time/until, evidence, news) and announces it; NULL when its key exists already (one per change)';

CREATE FUNCTION pantau_alert.open_alert(subj text, alert_kind text)
RETURNS pantau_alert.alert LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT * FROM pantau_alert.alert a
    WHERE a.subject = subj AND a.kind = alert_kind AND a.state <> 'resolved'
    ORDER BY a.condition_time DESC
    LIMIT 1
$$;
COMMENT ON FUNCTION pantau_alert.open_alert(text, text) IS 'The open (or acknowledged) alert of a subject and kind, the latest; NULL columns when none';

-- ---- larva ---------------------------------------------------------------------------------------

-- Houses inspected and positive in a kelurahan (and RW) during [ws, we) of best time, found by
-- ts through the area index and, for corrected or unsynchronised inspections, the ledger's
-- partial indexes (as flood_values_since). As pantau_report.larva_index_week: houses only,
-- positive = larvae_found.
CREATE FUNCTION pantau_alert.larva_houses(kel text, rw_no integer, ws timestamptz,
                                          we timestamptz, OUT houses bigint,
                                          OUT positive bigint)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
BEGIN
    -- PL/pgSQL for a plan cached per session whose inspections meet the ledger by key (as a
    -- SQL function its generic plan hashed the whole ledger: 150 ms)
    WITH k AS MATERIALIZED (
        SELECT i.device_id, i.store_id, i.seq, i.rw, i.building, i.larvae_found
        FROM pantau_pii.larva_inspection i
        WHERE i.kelurahan = kel AND i.ts >= ws AND i.ts < we
        UNION
        SELECT i.device_id, i.store_id, i.seq, i.rw, i.building, i.larvae_found
        FROM (SELECT l.device_id, l.store_id, l.seq
              FROM pantau.reading_ledger l
              WHERE (l.ts_corrected >= ws AND l.ts_corrected < we)
                 OR (l.ts_corrected IS NULL AND NOT l.clock_synced AND l.received_at >= ws
                     AND l.received_at < we)
              OFFSET 0) l
        JOIN pantau_pii.larva_inspection i
          ON i.device_id = l.device_id AND i.store_id = l.store_id AND i.seq = l.seq
        WHERE i.kelurahan = kel
    )
    SELECT count(*), count(*) FILTER (WHERE k.larvae_found)
    INTO houses, positive
    FROM k
    CROSS JOIN LATERAL (
        SELECT pantau.reading_best_time(x.ts, x.clock_synced, x.ts_corrected,
                                        x.received_at) AS best
        FROM pantau.reading_ledger x
        WHERE x.device_id = k.device_id AND x.store_id = k.store_id AND x.seq = k.seq
        OFFSET 0) l
    WHERE (rw_no IS NULL OR k.rw = rw_no) AND k.building = 'house'
      AND l.best >= ws AND l.best < we;
END
$$;
COMMENT ON FUNCTION pantau_alert.larva_houses(text, integer, timestamptz, timestamptz) IS 'Houses inspected and houses with larvae in a kelurahan (an RW of it when rw_no is given) with best time in [ws, we): the counts of pantau_report.larva_index_week for one area-week';

-- One area-week index (ABJ of a kelurahan, rw_no NULL; HI of an RW) after an inspection of it
-- was stored (caller holds the kelurahan's lock).
CREATE FUNCTION pantau_alert.evaluate_larva_area(kel text, rw_no integer, ws timestamptz,
                                                 week text, trigger jsonb, is_news boolean)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    c record;
    min_houses double precision;
    limit_pct double precision;
    holds boolean;
    a_kind text := CASE WHEN rw_no IS NULL THEN 'larva_abj' ELSE 'larva_house_index' END;
    subj text := 'area:' || kel || coalesce('/rw' || rw_no, '') || '#' || week;
    a pantau_alert.alert;
    ev jsonb;
BEGIN
    SELECT * INTO c FROM pantau_alert.larva_houses(kel, rw_no, ws, ws + interval '7 days');
    min_houses := pantau_alert.setting_num('larva_min_houses', 'area:' || kel, ws);
    IF rw_no IS NULL THEN
        limit_pct := pantau_alert.setting_num('larva_abj_below', 'area:' || kel, ws);
        -- ABJ = (houses - positive) / houses x 100 < limit, in integers of the counts
        holds := c.houses >= min_houses AND (c.houses - c.positive) * 100.0 < limit_pct * c.houses;
    ELSE
        limit_pct := pantau_alert.setting_num('larva_hi_above', 'area:' || kel, ws);
        holds := c.houses >= min_houses AND c.positive * 100.0 > limit_pct * c.houses;
    END IF;
    ev := jsonb_build_object('houses_inspected', c.houses, 'houses_positive', c.positive,
                             'abj_pct', round(100.0 * (c.houses - c.positive)
                                              / nullif(c.houses, 0), 1),
                             'hi_pct', round(100.0 * c.positive / nullif(c.houses, 0), 1),
                             'min_houses', min_houses,
                             CASE WHEN rw_no IS NULL THEN 'abj_below' ELSE 'hi_above' END,
                             limit_pct, 'week', week, 'week_start', ws,
                             'inspection', trigger);
    -- one alert per area-week: its condition_time is the week's start
    SELECT * INTO a FROM pantau_alert.alert x
    WHERE x.subject = subj AND x.kind = a_kind AND x.condition_time = ws;
    IF holds THEN
        IF a.alert_id IS NULL THEN
            a.kind := a_kind;
            a.area_code := kel;
            a.rw := rw_no;
            a.ref := week;
            a.condition_time := ws;
            a.evidence := ev;
            a.news := is_news;
            PERFORM pantau_alert.raise(a, CASE WHEN rw_no IS NULL
                                               THEN format('ABJ %s %% in %s', ev ->> 'abj_pct', week)
                                               ELSE format('HI %s %% in RW %s, %s',
                                                           ev ->> 'hi_pct', rw_no, week) END);
        ELSE
            UPDATE pantau_alert.alert x SET evidence = ev WHERE x.alert_id = a.alert_id;
            PERFORM pantau_alert.page_if_news(a.alert_id, is_news);
        END IF;
    ELSIF a.alert_id IS NOT NULL AND a.state <> 'resolved' THEN
        UPDATE pantau_alert.alert x SET evidence = ev WHERE x.alert_id = a.alert_id;
        PERFORM pantau_alert.resolve_by_engine(
            a.alert_id, CASE WHEN c.houses < min_houses THEN 'fewer houses than the minimum'
                             WHEN rw_no IS NULL THEN format('ABJ back to %s %%', ev ->> 'abj_pct')
                             ELSE format('HI back to %s %%', ev ->> 'hi_pct') END);
    END IF;
END
$$;
COMMENT ON FUNCTION pantau_alert.evaluate_larva_area(text, integer, timestamptz, text, jsonb, boolean) IS 'larva_abj (rw_no NULL: the kelurahan-week''s ABJ below larva_abj_below) or larva_house_index (the RW-week''s HI above larva_hi_above), counted from larva_min_houses houses: one alert per area-week (condition_time = the week''s start), evidence updated, paged when a news inspection shows it, resolved when the index recovers within the week';

-- One inspection (key 'device/store/seq'); caller holds its kelurahan's lock.
CREATE FUNCTION pantau_alert.evaluate_larva(inspection text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    i record;
    containers jsonb;
    pos integer;
    ws timestamptz;
    week text;
    subj text;
    a pantau_alert.alert;
    a_id bigint;
    trig jsonb;
BEGIN
    SELECT x.device_id, x.store_id, x.seq, x.kelurahan, x.rw, x.rt, x.building, x.larvae_found,
           pantau.reading_best_time(l.ts, l.clock_synced, l.ts_corrected, l.received_at)
               AS ts_best,
           pantau.reading_is_history(l.replay, l.ts, l.clock_synced, l.ts_corrected,
                                     l.received_at, 0) AS history
    INTO i
    FROM pantau_pii.larva_inspection x
    JOIN pantau.reading_ledger l USING (device_id, store_id, seq)
    WHERE x.device_id = split_part(inspection, '/', 1)
      AND x.store_id = split_part(inspection, '/', 2)::uuid
      AND x.seq = split_part(inspection, '/', 3)::bigint;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT coalesce(jsonb_agg(jsonb_build_object('type', k.type, 'location', k.location,
                                                 'inspected', k.inspected,
                                                 'positive', k.positive)
                              ORDER BY k.type, k.location), '[]'),
           coalesce(sum(k.positive), 0)
    INTO containers, pos
    FROM pantau.larva_container k
    WHERE k.device_id = i.device_id AND k.store_id = i.store_id AND k.seq = i.seq;
    -- never the address, the GPS or the inspector: the key is for the health role
    trig := jsonb_build_object('key', inspection, 'ts_best', i.ts_best, 'history', i.history,
                               'rw', i.rw, 'rt', i.rt, 'building', i.building,
                               'larvae_found', i.larvae_found);
    IF i.larvae_found OR pos > 0 THEN
        subj := 'area:' || i.kelurahan || '/rw' || i.rw || '#' || inspection;
        SELECT * INTO a FROM pantau_alert.alert x
        WHERE x.subject = subj AND x.kind = 'larva_positive';
        IF a.alert_id IS NULL THEN
            a.kind := 'larva_positive';
            a.area_code := i.kelurahan;
            a.rw := i.rw;
            a.ref := inspection;
            a.condition_time := i.ts_best;
            a.evidence := trig || jsonb_build_object('containers', containers,
                                                     'containers_positive', pos);
            a.news := NOT i.history;
            a_id := pantau_alert.raise(a, format('larvae found, RT %s/RW %s (%s)', i.rt, i.rw,
                                                 i.building));
            IF a_id IS NOT NULL AND i.history THEN
                -- an inspection from a backlog: recorded as past, nothing to page later
                PERFORM pantau_alert.resolve_by_engine(a_id, 'history: recorded, not paged');
            END IF;
        END IF;
    END IF;
    ws := date_trunc('week', i.ts_best AT TIME ZONE 'Asia/Jakarta') AT TIME ZONE 'Asia/Jakarta';
    week := to_char(i.ts_best AT TIME ZONE 'Asia/Jakarta', 'IYYY-"W"IW');
    PERFORM pantau_alert.evaluate_larva_area(i.kelurahan, NULL, ws, week, trig, NOT i.history);
    PERFORM pantau_alert.evaluate_larva_area(i.kelurahan, i.rw, ws, week, trig, NOT i.history);
END
$$;
COMMENT ON FUNCTION pantau_alert.evaluate_larva(text) IS 'One inspection: larva_positive when it found larvae (evidence RT/RW, building, containers; never the address, GPS or inspector), then its kelurahan-week''s ABJ and its RW-week''s HI';

-- ---- traffic -------------------------------------------------------------------------------------

CREATE FUNCTION pantau_alert.evaluate_incident(station text, event text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    inc pantau.incident;
    u record;
    types jsonb;
    flood_types jsonb;
    subj text := 'station:' || station || '#' || event;
    a pantau_alert.alert;
    ev jsonb;
    is_news boolean;
BEGIN
    SELECT * INTO inc FROM pantau.incident x WHERE x.station_id = station AND x.event_id = event;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT count(*) AS updates,
           min(pantau.reading_best_time(l.ts, l.clock_synced, l.ts_corrected, l.received_at))
               AS first_best,
           bool_or(NOT pantau.reading_is_history(l.replay, l.ts, l.clock_synced,
                                                 l.ts_corrected, l.received_at, 0)) AS any_news
    INTO u
    FROM pantau.incident_update x
    JOIN pantau.reading_ledger l USING (device_id, store_id, seq)
    WHERE x.station_id = station AND x.event_id = event;
    SELECT * INTO a FROM pantau_alert.alert x
    WHERE x.subject = subj AND x.kind = 'traffic_incident';
    types := pantau_alert.setting_at('traffic_incident_types', 'station:' || station,
                                     u.first_best);
    IF a.alert_id IS NULL AND NOT coalesce(types ? inc.type, false) THEN
        RETURN;
    END IF;
    flood_types := pantau_alert.setting_at('traffic_incident_flood_types', 'station:' || station,
                                           u.first_best);
    ev := jsonb_build_object('event_id', inc.event_id, 'type', inc.type, 'state', inc.state,
                             'start_at', inc.start_at, 'end_at', inc.end_at,
                             'confidence', inc.confidence, 'snapshot', inc.snapshot,
                             'lane', inc.lane, 'updates', u.updates,
                             'latest', jsonb_build_object('device_id', inc.device_id,
                                                          'store_id', inc.store_id,
                                                          'seq', inc.seq, 'ts', inc.ts))
          || CASE WHEN coalesce(flood_types ? inc.type, false)
                  THEN '{"also": ["flood"]}'::jsonb ELSE '{}'::jsonb END;
    -- news: a news update shows it while it is still on
    is_news := coalesce(u.any_news, false) AND inc.state <> 'end';
    IF a.alert_id IS NULL THEN
        a.kind := 'traffic_incident';
        a.station_id := station;
        a.ref := event;
        a.condition_time := u.first_best;
        a.evidence := ev;
        a.news := is_news;
        a.alert_id := pantau_alert.raise(a, format('%s at %s', inc.type, station));
    ELSIF a.evidence IS DISTINCT FROM ev THEN
        UPDATE pantau_alert.alert x SET evidence = ev WHERE x.alert_id = a.alert_id;
        IF inc.state <> 'end' THEN
            -- (the end is logged as the alert's resolution below)
            INSERT INTO pantau_alert.alert_event (alert_id, event, note)
            VALUES (a.alert_id, 'updated', format('%s, %s', inc.type, inc.state));
        END IF;
        PERFORM pantau_alert.page_if_news(a.alert_id, is_news);
    END IF;
    IF a.alert_id IS NOT NULL AND inc.state = 'end' THEN
        PERFORM pantau_alert.resolve_by_engine(a.alert_id, 'the incident ended');
    END IF;
END
$$;
COMMENT ON FUNCTION pantau_alert.evaluate_incident(text, text) IS 'A camera incident (pantau.incident, its updates): one traffic_incident alert for a type in traffic_incident_types, updated (event updated) by each later update, resolved by its end; also = ["flood"] for traffic_incident_flood_types. Caller holds the camera''s lock';

-- The counts of one camera with best time from `since` on, one row per interval start (lanes
-- summed as in pantau_report.traffic_los_hour), with the level of service of pantau.traffic_los.
-- (PL/pgSQL, not SQL: a SQL function is planned at each call with its arguments unknown, and
-- that plan hashed the camera's whole history, 200 ms; here the plan is cached per session and
-- each count meets its ledger row by key.)
CREATE FUNCTION pantau_alert.traffic_intervals(station text, since timestamptz)
RETURNS TABLE (ts_best timestamptz, ts_end timestamptz, ds double precision,
               speed_kmh double precision, los text, news boolean, counts bigint)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
BEGIN
    RETURN QUERY
    WITH k AS MATERIALIZED (
        SELECT t.device_id, t.store_id, t.seq, t.ts, t.interval_s, t.lane, t.motorcycle, t.car,
               t.bus, t.truck, t.speed_kmh
        FROM pantau.traffic_count t
        WHERE t.station_id = station AND t.ts >= since
        UNION ALL
        -- taken before `since` with a later best time: ts_corrected, or an unsynchronised clock
        SELECT t.device_id, t.store_id, t.seq, t.ts, t.interval_s, t.lane, t.motorcycle, t.car,
               t.bus, t.truck, t.speed_kmh
        FROM (SELECT l.device_id, l.store_id, l.seq
              FROM pantau.reading_ledger l
              WHERE l.ts_corrected >= since
                 OR (l.ts_corrected IS NULL AND NOT l.clock_synced AND l.received_at >= since)
              OFFSET 0) l
        JOIN pantau.traffic_count t
          ON t.device_id = l.device_id AND t.store_id = l.store_id AND t.seq = l.seq
        WHERE t.station_id = station AND t.ts < since
    ), c AS (
        SELECT k.*, l.best, l.history
        FROM k
        CROSS JOIN LATERAL (
            SELECT pantau.reading_best_time(x.ts, x.clock_synced, x.ts_corrected,
                                            x.received_at) AS best,
                   pantau.reading_is_history(x.replay, x.ts, x.clock_synced, x.ts_corrected,
                                             x.received_at, k.interval_s) AS history
            FROM pantau.reading_ledger x
            WHERE x.device_id = k.device_id AND x.store_id = k.store_id AND x.seq = k.seq
            OFFSET 0) l
    ), per AS (
        SELECT c.best,
               max(c.interval_s) AS interval_s,
               sum(pantau.traffic_pcu(c.motorcycle, c.car, c.bus, c.truck)) AS pcu,
               sum(c.interval_s)::double precision / count(DISTINCT c.lane) AS observed_s,
               sum(c.speed_kmh * (coalesce(c.motorcycle, 0) + coalesce(c.car, 0)
                                  + coalesce(c.bus, 0) + coalesce(c.truck, 0)))
                   / nullif(sum(CASE WHEN c.speed_kmh IS NOT NULL
                                     THEN coalesce(c.motorcycle, 0) + coalesce(c.car, 0)
                                          + coalesce(c.bus, 0) + coalesce(c.truck, 0) END), 0)
                   AS speed_kmh,
               bool_or(NOT c.history) AS news,
               count(*) AS counts
        FROM c
        WHERE c.best >= since
        GROUP BY c.best
    )
    SELECT p.best, p.best + make_interval(secs => p.interval_s),
           pantau.traffic_ds(p.pcu, p.observed_s, s.capacity_pcu_h), p.speed_kmh,
           pantau.traffic_los(pantau.traffic_ds(p.pcu, p.observed_s, s.capacity_pcu_h),
                              p.speed_kmh),
           p.news, p.counts
    FROM per p
    JOIN pantau.station s ON s.station_id = station
    ORDER BY p.best;
END
$$;
COMMENT ON FUNCTION pantau_alert.traffic_intervals(text, timestamptz) IS 'A camera''s counts with best time >= since, one row per interval start: lanes summed as in pantau_report.traffic_los_hour, DS and level of service by pantau.traffic_ds / traffic_los, news when any of its counts is (pantau.reading_is_history with the interval)';

CREATE FUNCTION pantau_alert.record_congestion(station text, first_ts timestamptz,
                                               last_ts timestamptz, ev jsonb,
                                               is_news boolean, over boolean,
                                               clear interval)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    a pantau_alert.alert;
BEGIN
    -- the same episode: an alert of the camera overlapping it (within the clearing dwell)
    SELECT * INTO a FROM pantau_alert.alert x
    WHERE x.subject = 'station:' || station AND x.kind = 'traffic_congestion'
      AND x.condition_time <= last_ts AND x.condition_until + clear > first_ts
    ORDER BY x.condition_time
    LIMIT 1;
    IF a.alert_id IS NULL THEN
        a.kind := 'traffic_congestion';
        a.station_id := station;
        a.condition_time := first_ts;
        a.condition_until := last_ts;
        a.evidence := ev;
        a.news := is_news AND NOT over;
        a.alert_id := pantau_alert.raise(a, format('level of service %s since %s',
                                                   ev ->> 'los', first_ts));
    ELSE
        UPDATE pantau_alert.alert x
        SET condition_until = greatest(x.condition_until, last_ts),
            evidence = x.evidence || jsonb_build_object('latest', ev -> 'latest')
        WHERE x.alert_id = a.alert_id;
        PERFORM pantau_alert.page_if_news(a.alert_id, is_news AND NOT over);
    END IF;
    IF over AND a.alert_id IS NOT NULL THEN
        PERFORM pantau_alert.resolve_by_engine(a.alert_id, format(
            'level of service D or better for %s', clear));
    END IF;
END
$$;
COMMENT ON FUNCTION pantau_alert.record_congestion(text, timestamptz, timestamptz, jsonb, boolean, boolean, interval) IS 'Records one congestion episode of a camera: the alert already recorded for it (overlapping within the clearing dwell) or a new one; resolves it when it is over';

-- Congestion of one camera from `since` on (caller holds the camera's lock). An episode begins
-- when intervals of LOS E or F cover traffic_congestion_after without a break (a gap of more
-- than one interval breaks it) and ends when intervals of D or better cover
-- traffic_congestion_clear.
CREATE FUNCTION pantau_alert.evaluate_congestion(station text, since timestamptz)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    after_iv interval := pantau_alert.setting_interval('traffic_congestion_after',
                                                       'station:' || station, since);
    clear interval := pantau_alert.setting_interval('traffic_congestion_clear',
                                                    'station:' || station, since);
    r record;
    run_start timestamptz;
    run_end timestamptz;
    good_start timestamptz;
    ep_open boolean := false;
    ep_first timestamptz;
    ep_last timestamptz;
    ep_news boolean;
    ep_ev jsonb;
    iv jsonb;
BEGIN
    -- start far enough back to see the episode `since` may belong to
    FOR r IN SELECT * FROM pantau_alert.traffic_intervals(station,
                                                          since - 2 * (after_iv + clear)) LOOP
        CONTINUE WHEN r.los IS NULL;
        iv := jsonb_build_object('ts_best', r.ts_best, 'ds', round(r.ds::numeric, 3),
                                 'speed_kmh', round(r.speed_kmh::numeric, 1), 'los', r.los,
                                 'news', r.news);
        IF r.los IN ('E', 'F') THEN
            IF run_start IS NULL OR r.ts_best > run_end + (r.ts_end - r.ts_best) THEN
                run_start := r.ts_best;
            END IF;
            run_end := r.ts_end;
            good_start := NULL;
            IF ep_open THEN
                ep_last := r.ts_end;
                ep_news := ep_news OR r.news;
                ep_ev := jsonb_set(ep_ev, '{latest}', iv);
            ELSIF run_end - run_start >= after_iv THEN
                ep_open := true;
                ep_first := run_start;
                ep_last := run_end;
                ep_news := r.news;
                ep_ev := jsonb_build_object('los', r.los, 'after', after_iv, 'clear', clear,
                                            'run_from', run_start, 'first', iv, 'latest', iv);
            END IF;
        ELSE
            run_start := NULL;
            IF good_start IS NULL THEN
                good_start := r.ts_best;
            END IF;
            IF ep_open AND r.ts_end - good_start >= clear THEN
                PERFORM pantau_alert.record_congestion(station, ep_first, ep_last, ep_ev,
                                                       ep_news, true, clear);
                ep_open := false;
            END IF;
        END IF;
    END LOOP;
    IF ep_open THEN
        PERFORM pantau_alert.record_congestion(station, ep_first, ep_last, ep_ev, ep_news, false,
                                               clear);
    END IF;
END
$$;
COMMENT ON FUNCTION pantau_alert.evaluate_congestion(text, timestamptz) IS 'traffic_congestion of a camera from its counts: an episode from traffic_congestion_after of LOS E/F to traffic_congestion_clear of D or better, one alert each (news when a news count shows it still on). Caller holds the camera''s lock';

-- ---- the rules' queue ----------------------------------------------------------------------------

CREATE FUNCTION pantau_alert.evaluate_rules(max_items integer DEFAULT 1000) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    w record;
    items integer := 0;
BEGIN
    -- picked once (MATERIALIZED), as in evaluate(); the DELETE runs to completion before the
    -- first row is returned (a data-modifying WITH always does), then subjects are locked in
    -- one order: two evaluators wait for each other, never deadlock
    FOR w IN
        WITH pick AS MATERIALIZED (
            SELECT q.pending_id FROM pantau_alert.pending_rule q
            ORDER BY q.pending_id LIMIT max_items
            FOR UPDATE SKIP LOCKED
        ), claimed AS (
            DELETE FROM pantau_alert.pending_rule p USING pick
            WHERE p.pending_id = pick.pending_id
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
COMMENT ON FUNCTION pantau_alert.evaluate_rules(integer) IS 'Claims up to max_items items of pending_rule (SKIP LOCKED), locks each subject (a kelurahan for larva, a camera for incidents and congestion) in subject order and evaluates it. Returns the items claimed. Called by evaluate()';

-- ---- time-driven rules: evaluate_time(now), called by the delivery program on a timer ---------

-- Silent gauges. The cadence a gauge owes is the DKI procedure's for its last Siaga level
-- (flood_cadence_siaga4..1: 60, 30, 15, 5 min), or its own median interval over its last 10
-- readings when that is longer: a gauge that reports every 15 min is not silent after 5 at
-- Siaga 1, and one that reports every minute is held to the procedure. Silent = no reading
-- for flood_silent_multiple (3) times that cadence, judged at `at` against the best time of the
-- latest reading evaluated (gauge_state.evaluated_to) while no reading of it waits in the
-- queue. Louder at Siaga 2 and 1: the alert carries the level (routing and escalation key on
-- kind and level) and evidence.loud = true, and their shorter cadence makes it come sooner.
CREATE FUNCTION pantau_alert.evaluate_silent(at timestamptz)
RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    g record;
    gs pantau_alert.gauge_state;
    subj text;
    cadence interval;
    observed interval;
    owed interval;
    mult double precision;
    queued boolean;
    a pantau_alert.alert;
    n integer := 0;
BEGIN
    FOR g IN
        SELECT s.station_id FROM pantau_alert.gauge_state s
        WHERE s.evaluated_to IS NOT NULL
          AND (s.evaluated_to < at - interval '5 minutes'
               OR EXISTS (SELECT 1 FROM pantau_alert.alert x
                          WHERE x.subject = 'station:' || s.station_id
                            AND x.kind = 'flood_silent' AND x.state <> 'resolved'))
        ORDER BY s.station_id
    LOOP
        subj := 'station:' || g.station_id;
        PERFORM pantau_alert.lock_subject(subj, 'silent');
        SELECT * INTO gs FROM pantau_alert.gauge_state s WHERE s.station_id = g.station_id;
        queued := EXISTS (SELECT 1 FROM pantau_alert.pending p WHERE p.station_id = g.station_id);
        a := pantau_alert.open_alert(subj, 'flood_silent');
        IF a.alert_id IS NOT NULL THEN
            IF queued OR gs.evaluated_to > a.condition_time THEN
                IF pantau_alert.resolve_by_engine(a.alert_id, 'readings resumed') THEN
                    n := n + 1;
                END IF;
            END IF;
            CONTINUE;
        END IF;
        CONTINUE WHEN queued;
        cadence := pantau_alert.setting_interval('flood_cadence_siaga' || coalesce(gs.level, 4),
                                                 subj, at);
        SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x.gap) INTO observed
        FROM (SELECT f.ts - lag(f.ts) OVER (ORDER BY f.ts) AS gap
              FROM (SELECT f.ts FROM pantau.flood_reading f
                    WHERE f.station_id = g.station_id AND f.ts <= gs.evaluated_to
                    ORDER BY f.ts DESC LIMIT 11) f) x
        WHERE x.gap IS NOT NULL;
        owed := greatest(cadence, observed);
        mult := pantau_alert.setting_num('flood_silent_multiple', subj, at);
        CONTINUE WHEN owed IS NULL OR mult IS NULL OR at - gs.evaluated_to < mult * owed;
        a.kind := 'flood_silent';
        a.station_id := g.station_id;
        a.level := gs.level;
        a.condition_time := gs.evaluated_to;
        a.evidence := jsonb_build_object(
            'last_reading', jsonb_build_object('device_id', gs.evaluated_device_id,
                                               'store_id', gs.evaluated_store_id,
                                               'seq', gs.evaluated_seq,
                                               'ts_best', gs.evaluated_to),
            'level', gs.level, 'cadence', cadence, 'observed_interval', observed,
            'multiple', mult, 'silent_for', at - gs.evaluated_to, 'at', at,
            'loud', coalesce(gs.level <= 2, false));
        a.news := true;
        IF pantau_alert.raise(a, format('no reading for %s (Siaga %s)',
                                        date_trunc('second', at - gs.evaluated_to),
                                        coalesce(gs.level::text, '?'))) IS NOT NULL THEN
            n := n + 1;
        END IF;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION pantau_alert.evaluate_silent(timestamptz) IS 'flood_silent: a gauge with no reading for flood_silent_multiple times its cadence (the DKI cadence of its last Siaga level, or its median interval when longer), judged at `at`; level = its last level, evidence.loud at Siaga 2 and 1; resolved when readings resume. Returns alerts raised or resolved';

CREATE FUNCTION pantau_alert.evaluate_gateways(at timestamptz)
RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    g record;
    ds pantau.device_status;
    subj text;
    after_iv interval;
    a pantau_alert.alert;
    n integer := 0;
BEGIN
    FOR g IN
        SELECT d.device_id FROM pantau.device d
        JOIN pantau.device_status s USING (device_id)
        WHERE d.kind IN ('flood_gateway', 'traffic_gateway')
          AND (s.state = 'offline'
               OR EXISTS (SELECT 1 FROM pantau_alert.alert x
                          WHERE x.subject = 'device:' || d.device_id
                            AND x.kind = 'system_gateway_offline' AND x.state <> 'resolved'))
        ORDER BY d.device_id
    LOOP
        subj := 'device:' || g.device_id;
        PERFORM pantau_alert.lock_subject(subj, 'offline');
        SELECT * INTO ds FROM pantau.device_status s WHERE s.device_id = g.device_id;
        a := pantau_alert.open_alert(subj, 'system_gateway_offline');
        IF a.alert_id IS NOT NULL THEN
            IF ds.state = 'online' THEN
                IF pantau_alert.resolve_by_engine(a.alert_id,
                                                  format('online again (conn %s)', ds.conn)) THEN
                    n := n + 1;
                END IF;
            END IF;
            CONTINUE;
        END IF;
        after_iv := pantau_alert.setting_interval('gateway_offline_after', subj, at);
        -- offline since the collector applied its last will
        CONTINUE WHEN ds.state <> 'offline' OR at - ds.updated_at < after_iv;
        a.kind := 'system_gateway_offline';
        a.device_id := g.device_id;
        a.condition_time := ds.updated_at;
        a.evidence := jsonb_build_object('offline_since', ds.updated_at, 'conn', ds.conn,
                                         'agent', ds.agent, 'backlog', ds.backlog,
                                         'stations', ds.stations, 'after', after_iv, 'at', at);
        a.news := true;
        IF pantau_alert.raise(a, format('offline since %s', ds.updated_at)) IS NOT NULL THEN
            n := n + 1;
        END IF;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION pantau_alert.evaluate_gateways(timestamptz) IS 'system_gateway_offline: a flood or traffic gateway (not a handheld: officers go offline by design) whose status has been offline for gateway_offline_after (since the collector applied its last will, device_status.updated_at); resolved when it is online again. Returns alerts raised or resolved';

CREATE FUNCTION pantau_alert.evaluate_dead_letters(at timestamptz)
RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    win interval := pantau_alert.setting_interval('dead_letter_window', 'pantau', at);
    most double precision := pantau_alert.setting_num('dead_letter_max', 'pantau', at);
    cnt bigint;
    st pantau_alert.subject_state;
    reasons jsonb;
    a pantau_alert.alert;
    n integer := 0;
BEGIN
    st := pantau_alert.lock_subject('pantau', 'dead_letters');
    SELECT count(*) INTO cnt FROM pantau_ops.dead_letter d
    WHERE d.received_at > at - win AND d.received_at <= at;
    a := pantau_alert.open_alert('pantau', 'system_dead_letters');
    -- the episode (above the rate since `since`) is the alert's key: a person who resolves it
    -- while the rate is still high is not paged again for the same episode
    IF (cnt > most) <> (st.since IS NOT NULL) THEN
        st.since := CASE WHEN cnt > most THEN at END;
        UPDATE pantau_alert.subject_state s SET since = st.since, evaluated_at = at
        WHERE s.subject = 'pantau' AND s.rule = 'dead_letters';
    END IF;
    IF cnt > most AND a.alert_id IS NULL THEN
        SELECT jsonb_object_agg(x.reason, x.n) INTO reasons
        FROM (SELECT d.reason, count(*) AS n FROM pantau_ops.dead_letter d
              WHERE d.received_at > at - win AND d.received_at <= at GROUP BY d.reason) x;
        a.kind := 'system_dead_letters';
        a.condition_time := st.since;
        a.evidence := jsonb_build_object('count', cnt, 'window', win, 'max', most,
                                         'by_reason', reasons, 'at', at);
        a.news := true;
        IF pantau_alert.raise(a, format('%s dead letters within %s', cnt, win)) IS NOT NULL THEN
            n := n + 1;
        END IF;
    ELSIF cnt <= most AND a.alert_id IS NOT NULL THEN
        IF pantau_alert.resolve_by_engine(a.alert_id,
                                          format('%s dead letters within %s', cnt, win)) THEN
            n := n + 1;
        END IF;
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION pantau_alert.evaluate_dead_letters(timestamptz) IS 'system_dead_letters: more than dead_letter_max dead letters received within dead_letter_window before `at` (subject pantau); resolved when the count within the window is back at or under it. Returns alerts raised or resolved';

-- A device's backlog (device_status.backlog, readings stored on it and not yet acknowledged)
-- that keeps growing: it has not fallen for backlog_window and grew by backlog_min_growth
-- meanwhile. The samples are what each call sees (subject_state keeps the base).
CREATE FUNCTION pantau_alert.evaluate_backlog(at timestamptz)
RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    g record;
    st pantau_alert.subject_state;
    subj text;
    win interval;
    growth double precision;
    base double precision;
    a pantau_alert.alert;
    n integer := 0;
BEGIN
    FOR g IN
        SELECT s.device_id, s.backlog, s.updated_at FROM pantau.device_status s
        WHERE s.backlog IS NOT NULL
        ORDER BY s.device_id
    LOOP
        subj := 'device:' || g.device_id;
        st := pantau_alert.lock_subject(subj, 'backlog');
        a := pantau_alert.open_alert(subj, 'system_backlog');
        IF st.since IS NULL OR g.backlog < st.value THEN
            -- first sample, or it fell: growth is measured from here
            UPDATE pantau_alert.subject_state s
            SET since = at, value = g.backlog, data = jsonb_build_object('base', g.backlog),
                evaluated_at = at
            WHERE s.subject = subj AND s.rule = 'backlog';
            IF a.alert_id IS NOT NULL AND st.since IS NOT NULL THEN
                IF pantau_alert.resolve_by_engine(a.alert_id, format('backlog falling: %s',
                                                                     g.backlog)) THEN
                    n := n + 1;
                END IF;
            END IF;
            CONTINUE;
        END IF;
        UPDATE pantau_alert.subject_state s SET value = g.backlog, evaluated_at = at
        WHERE s.subject = subj AND s.rule = 'backlog' AND s.value IS DISTINCT FROM g.backlog;
        CONTINUE WHEN a.alert_id IS NOT NULL;
        win := pantau_alert.setting_interval('backlog_window', subj, at);
        growth := pantau_alert.setting_num('backlog_min_growth', subj, at);
        base := (st.data ->> 'base')::double precision;
        CONTINUE WHEN at - st.since < win OR g.backlog - base < growth;
        a.kind := 'system_backlog';
        a.device_id := g.device_id;
        a.condition_time := st.since;
        a.evidence := jsonb_build_object('backlog', g.backlog, 'base', base, 'since', st.since,
                                         'window', win, 'min_growth', growth,
                                         'reported_at', g.updated_at, 'at', at);
        a.news := true;
        IF pantau_alert.raise(a, format('backlog %s, up from %s since %s', g.backlog, base,
                                        st.since)) IS NOT NULL THEN
            n := n + 1;
        END IF;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION pantau_alert.evaluate_backlog(timestamptz) IS 'system_backlog: a device whose reported backlog has not fallen for backlog_window and grew by backlog_min_growth meanwhile (samples: what each call sees; subject_state keeps since and base); resolved when it falls. Returns alerts raised or resolved';

CREATE FUNCTION pantau_alert.evaluate_time(at timestamptz DEFAULT now())
RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    -- rules in one order, subjects in one order within each: evaluators never deadlock
    RETURN pantau_alert.evaluate_silent(at) + pantau_alert.evaluate_gateways(at)
         + pantau_alert.evaluate_dead_letters(at) + pantau_alert.evaluate_backlog(at);
END
$$;
COMMENT ON FUNCTION pantau_alert.evaluate_time(timestamptz) IS 'The time-driven rules at `at` (default now()): flood_silent, system_gateway_offline, system_dead_letters, system_backlog. Returns the alerts raised or resolved. The delivery program calls it on a timer (e.g. every 30 s), in its own transaction; any number of callers at once is safe (a row lock per subject, one order). system_service_down is not here: nothing in the database records the collectors'' heartbeat, and a database that is down runs nothing: the delivery program judges both from its connection';

-- ---- evaluate(): 013's flood queue, then the rules' queue ------------------------------------------

CREATE OR REPLACE FUNCTION pantau_alert.evaluate(max_items integer DEFAULT 1000) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    stations text[];
    sinces timestamptz[];
    items integer;
    i integer;
    a_id bigint;
BEGIN
    -- the flood queue, as in 013
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
        -- a silent gauge speaks again
        FOR a_id IN
            SELECT a.alert_id FROM pantau_alert.alert a
            JOIN pantau_alert.gauge_state s ON s.station_id = stations[i]
            WHERE a.subject = 'station:' || stations[i] AND a.kind = 'flood_silent'
              AND a.state <> 'resolved' AND s.evaluated_to > a.condition_time
        LOOP
            PERFORM pantau_alert.resolve_by_engine(a_id, 'readings resumed');
        END LOOP;
    END LOOP;
    -- then the rules of 015 (their own queue, their own subjects: no lock order between the two)
    RETURN items + pantau_alert.evaluate_rules(max_items);
END
$$;
COMMENT ON FUNCTION pantau_alert.evaluate(integer) IS 'Claims up to max_items items of each queue (SKIP LOCKED: evaluators share them): the flood queue (013: locks each gauge''s state in station order, level history, flood_level and flood_rise alerts; resolves a flood_silent alert when readings resume) and the rules'' queue (pantau_alert.evaluate_rules: larva, incidents, congestion). NOTIFY pantau_alert per news alert. Returns the items claimed (0: both queues empty). Call it in its own transaction, in a loop, woken by NOTIFY pantau_alert_pending';
-- ---- performance: the live path (docs/alerts.md has the figures) -----------------------------
-- 013 wrote flood_values_since in SQL: a SQL function is planned afresh at each call with its
-- arguments unknown, and that generic plan hashed every reading of the gauge (40 ms at 43k
-- readings). In PL/pgSQL the plans are cached per session and the keys found first, each
-- joined to the view by its own key (a nested loop): a few ms. Same rows, same columns.
CREATE OR REPLACE FUNCTION pantau_alert.flood_values_since(station text, since timestamptz)
RETURNS SETOF pantau_alert.flood_value LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
DECLARE
    d text[];
    s uuid[];
    q bigint[];
    t timestamptz[];
BEGIN
    SELECT array_agg(k.device_id), array_agg(k.store_id), array_agg(k.seq), array_agg(k.ts)
    INTO d, s, q, t
    FROM (
        SELECT f.device_id, f.store_id, f.seq, f.ts
        FROM pantau.flood_reading f
        WHERE f.station_id = station AND f.ts >= since
        UNION
        SELECT f.device_id, f.store_id, f.seq, f.ts
        FROM (SELECT l.device_id, l.store_id, l.seq
              FROM pantau.reading_ledger l
              WHERE l.ts_corrected >= since
                 OR (l.ts_corrected IS NULL AND NOT l.clock_synced AND l.received_at >= since)
              OFFSET 0) l
        JOIN pantau.flood_reading f
          ON f.device_id = l.device_id AND f.store_id = l.store_id AND f.seq = l.seq
        WHERE f.station_id = station
    ) k;
    IF d IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT v.*
    FROM unnest(d, s, q, t) AS k(device_id, store_id, seq, ts)
    CROSS JOIN LATERAL (
        SELECT v.* FROM pantau_alert.flood_value v
        WHERE v.device_id = k.device_id AND v.store_id = k.store_id AND v.seq = k.seq
          AND v.ts = k.ts AND v.station_id = station
        OFFSET 0
    ) v
    WHERE v.ts_best >= since;
END
$$;
COMMENT ON FUNCTION pantau_alert.flood_values_since(text, timestamptz) IS 'pantau_alert.flood_value of one gauge with ts_best >= since, found by ts (index, partitions) and, for corrected or unsynchronised readings, by the ledger''s partial indexes; then each joined to the view by its key (PL/pgSQL since 015: plans cached per session)';

-- 013's evaluate_rise scanned back over the whole window for every reading it looked at
-- (O(readings x window): 60 x 60 steps for a gauge reporting each minute); the same result
-- by a sliding-window minimum.
CREATE OR REPLACE FUNCTION pantau_alert.evaluate_rise(station text, since timestamptz)
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
    uni boolean[] := ARRAY[true, true];
    dq1 integer[] := '{}';
    dq2 integer[] := '{}';
    h1 integer := 1;
    t1 integer := 0;
    h2 integer := 1;
    t2 integer := 0;
    lo_k integer[] := ARRAY[NULL, NULL]::integer[];
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
    -- a window the same for every reading (no settings change within them): its lowest level
    -- by a sliding-window minimum (a deque of indices with rising levels, the latest of equal
    -- levels kept: the reading the scan below would pick), O(n) instead of O(n x window)
    FOR i IN 1 .. n LOOP
        FOR k IN 1 .. 2 LOOP
            IF wins[i][k] IS NULL OR wins[i][k] <> wins[1][k] THEN
                uni[k] := false;
            END IF;
        END LOOP;
    END LOOP;
    FOR i IN 1 .. n LOOP
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
        CONTINUE WHEN ts[i] < since - maxw;
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
COMMENT ON FUNCTION pantau_alert.evaluate_rise(text, timestamptz) IS 'Rate of rise of a gauge for its readings from `since` on: one flood_rise alert per episode and window; resolves the episodes that are over. Called by evaluate() with the gauge_state row locked. (015: the lowest level of a window by a sliding-window minimum when the window is the same for every reading loaded; same result as 013''s scan)';

-- ---- privileges --------------------------------------------------------------------------------
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA pantau_alert FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pantau_alert.siaga_of(double precision, double precision,
                                                double precision, double precision),
                          pantau_alert.flood_setting_at(text, timestamptz),
                          pantau_alert.reading_json(pantau_alert.flood_value),
                          pantau_alert.setting_at(text, text, timestamptz),
                          pantau_alert.setting_num(text, text, timestamptz),
                          pantau_alert.setting_interval(text, text, timestamptz)
    TO pantau_analyst, pantau_admin;
GRANT SELECT ON pantau_alert.rule_setting, pantau_alert.subject_state TO pantau_analyst;
GRANT ALL ON ALL TABLES IN SCHEMA pantau_alert TO pantau_admin;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA pantau_alert TO pantau_admin;
