-- 016_alert_delivery: routing, the delivery outbox and escalation (issue 11, second step;
-- docs/alerts.md, alertd/README.md).
--
-- Who hears of an alert is data an operator edits:
--   unit        the units that act (BPBD, the health office, the transport office, ...)
--   route       kind pattern + area (kelurahan or kecamatan, NULL for all) -> unit, channel,
--               and how long the unit has to acknowledge before the alert escalates
--   escalation  unit -> next unit (and channel): where an unacknowledged alert goes next
--
-- The outbox (delivery) is written in the SAME transaction that pages an alert: a trigger on
-- alert_event makes one row per alert x unit x channel when an alert is raised or paged as
-- news, and one more per unit and channel already told for each later step (acknowledged,
-- resolved), so the receivers hear the whole life of what they were told. An alert recorded
-- as past (news false) is delivered to nobody. Whatever dies when, a paged alert has its rows
-- (they commit with it) and a row stays pending until a deliverer has it confirmed (MQTT
-- PUBACK, HTTP 2xx) and marks it in the transaction that holds its row lock: a crash before
-- that mark delivers it again with the same idempotency key.
--
-- pantau-alertd claims rows with delivery_claim() (FOR UPDATE SKIP LOCKED, in its own
-- transaction, held while it delivers them), marks each with delivery_done() or
-- delivery_retry(), and calls escalate(now()) on a timer.

-- ---- who acts ----------------------------------------------------------------------------------

CREATE TABLE pantau_alert.unit (
    unit_id text PRIMARY KEY CHECK (unit_id ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
    name text NOT NULL,
    note text NOT NULL DEFAULT ''
);
COMMENT ON TABLE pantau_alert.unit IS 'A unit that acts on alerts (and reads them on its own MQTT subtree pantau/v1/_sys/alert/<unit_id>/#)';
COMMENT ON COLUMN pantau_alert.unit.unit_id IS 'Short id, one MQTT topic level: a-z 0-9 _ -, up to 32';
COMMENT ON COLUMN pantau_alert.unit.name IS 'The unit''s name';
COMMENT ON COLUMN pantau_alert.unit.note IS 'What it does, whom to call';

INSERT INTO pantau_alert.unit (unit_id, name, note) VALUES
    ('poc', 'Patriot Operation Center', 'the operation center: sees everything, last step of escalation'),
    ('bpbd', 'BPBD Kota Bekasi', 'disaster management: the flood desk'),
    ('sda', 'Dinas Bina Marga dan Sumber Daya Air', 'water resources: gauges, pumps, sluices'),
    ('dinkes', 'Dinas Kesehatan', 'health office and its rapid-response unit (URC); larva reports'),
    ('dishub', 'Dinas Perhubungan', 'transport office: traffic incidents and congestion');

CREATE TABLE pantau_alert.route (
    route_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind_pattern text NOT NULL,
    area_code text,
    unit_id text NOT NULL REFERENCES pantau_alert.unit,
    channel text NOT NULL CHECK (channel IN ('mqtt', 'webhook')),
    escalate_after interval CHECK (escalate_after > interval '0'),
    enabled boolean NOT NULL DEFAULT true,
    CHECK (area_code IS NULL OR area_code ~ '^32\.75\.[0-9]{2}(\.[0-9]{4})?$'),
    UNIQUE NULLS NOT DISTINCT (kind_pattern, area_code, unit_id, channel)
);
COMMENT ON TABLE pantau_alert.route IS 'Routing an operator edits: an alert goes to every unit and channel of the enabled routes whose kind pattern and area match it (read when the alert is paged)';
COMMENT ON COLUMN pantau_alert.route.route_id IS 'Row id';
COMMENT ON COLUMN pantau_alert.route.kind_pattern IS 'LIKE pattern on alert.kind: ''flood\_%'', ''larva_positive'', ''%''';
COMMENT ON COLUMN pantau_alert.route.area_code IS 'Kelurahan or kecamatan code the alert must lie in (its area_code, else its station''s kelurahan); NULL: everywhere';
COMMENT ON COLUMN pantau_alert.route.unit_id IS 'The unit told';
COMMENT ON COLUMN pantau_alert.route.channel IS 'mqtt (pantau/v1/_sys/alert/<unit>/..., retained per subject) or webhook (HTTP POST)';
COMMENT ON COLUMN pantau_alert.route.escalate_after IS 'Not acknowledged within this time after it was paged: the alert goes on to the unit''s next units (escalation); NULL: never';
COMMENT ON COLUMN pantau_alert.route.enabled IS 'False: the route is kept but not used';

-- Defaults: every unit hears its own kinds on MQTT, the operation center everything. Webhooks
-- and escalation times are the operator's to add (their URL is alertd's configuration).
INSERT INTO pantau_alert.route (kind_pattern, unit_id, channel) VALUES
    ('%', 'poc', 'mqtt'),
    ('flood\_%', 'bpbd', 'mqtt'),
    ('flood\_%', 'sda', 'mqtt'),
    ('larva\_%', 'dinkes', 'mqtt'),
    ('traffic\_%', 'dishub', 'mqtt'),
    ('traffic_incident', 'bpbd', 'mqtt');

CREATE TABLE pantau_alert.escalation (
    unit_id text NOT NULL REFERENCES pantau_alert.unit,
    next_unit_id text NOT NULL REFERENCES pantau_alert.unit,
    channel text NOT NULL CHECK (channel IN ('mqtt', 'webhook')),
    escalate_after interval CHECK (escalate_after > interval '0'),
    PRIMARY KEY (unit_id, next_unit_id, channel),
    CHECK (unit_id <> next_unit_id)
);
COMMENT ON TABLE pantau_alert.escalation IS 'Where an alert goes when a unit has not acknowledged it in time (route.escalate_after, or this table''s escalate_after for a unit reached by escalation)';
COMMENT ON COLUMN pantau_alert.escalation.unit_id IS 'The unit that did not acknowledge';
COMMENT ON COLUMN pantau_alert.escalation.next_unit_id IS 'The unit told next';
COMMENT ON COLUMN pantau_alert.escalation.channel IS 'On which channel the next unit is told';
COMMENT ON COLUMN pantau_alert.escalation.escalate_after IS 'The next unit''s own time to acknowledge before the alert goes on from it; NULL: no further step';

INSERT INTO pantau_alert.escalation (unit_id, next_unit_id, channel) VALUES
    ('bpbd', 'poc', 'mqtt'), ('sda', 'bpbd', 'mqtt'), ('dinkes', 'poc', 'mqtt'),
    ('dishub', 'poc', 'mqtt');

-- ---- which unit has which alert ----------------------------------------------------------------

CREATE TABLE pantau_alert.alert_unit (
    alert_id bigint NOT NULL REFERENCES pantau_alert.alert,
    unit_id text NOT NULL REFERENCES pantau_alert.unit,
    step smallint NOT NULL DEFAULT 0 CHECK (step >= 0),
    routed_at timestamptz NOT NULL DEFAULT now(),
    escalate_at timestamptz,
    escalated_at timestamptz,
    PRIMARY KEY (alert_id, unit_id)
);
CREATE INDEX alert_unit_due ON pantau_alert.alert_unit (escalate_at)
    WHERE escalate_at IS NOT NULL AND escalated_at IS NULL;
COMMENT ON TABLE pantau_alert.alert_unit IS 'The units an alert was routed or escalated to, and when it escalates from each';
COMMENT ON COLUMN pantau_alert.alert_unit.alert_id IS 'The alert';
COMMENT ON COLUMN pantau_alert.alert_unit.unit_id IS 'The unit';
COMMENT ON COLUMN pantau_alert.alert_unit.step IS '0: routed; n: reached by the n-th escalation step';
COMMENT ON COLUMN pantau_alert.alert_unit.routed_at IS 'When the unit got it (the paging or escalating transaction''s now())';
COMMENT ON COLUMN pantau_alert.alert_unit.escalate_at IS 'Still open (not acknowledged, not resolved) at this time: escalate() passes it on; NULL: never';
COMMENT ON COLUMN pantau_alert.alert_unit.escalated_at IS 'When escalate() looked at it after escalate_at (passed on, or found acknowledged or resolved)';

-- ---- the outbox --------------------------------------------------------------------------------

CREATE TABLE pantau_alert.delivery (
    delivery_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key text NOT NULL UNIQUE,
    alert_id bigint NOT NULL REFERENCES pantau_alert.alert,
    event_id bigint NOT NULL REFERENCES pantau_alert.alert_event,
    unit_id text NOT NULL REFERENCES pantau_alert.unit,
    channel text NOT NULL CHECK (channel IN ('mqtt', 'webhook')),
    body jsonb NOT NULL,
    retain boolean NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz,
    delivered_at timestamptz,
    last_error text,
    UNIQUE (alert_id, event_id, unit_id, channel),
    CHECK ((status = 'delivered') = (delivered_at IS NOT NULL))
);
CREATE INDEX delivery_due ON pantau_alert.delivery (channel, next_attempt_at, delivery_id)
    WHERE status = 'pending';
COMMENT ON TABLE pantau_alert.delivery IS 'The outbox: one row per alert step x unit x channel, written in the transaction that made the step; pending until a deliverer has it confirmed (MQTT PUBACK, HTTP 2xx)';
COMMENT ON COLUMN pantau_alert.delivery.delivery_id IS 'Order of delivery';
COMMENT ON COLUMN pantau_alert.delivery.idempotency_key IS '<alert_id>.<event_id>.<unit_id>.<channel>: the same for every attempt, so that a receiver drops a repeat (HTTP header Idempotency-Key, MQTT body)';
COMMENT ON COLUMN pantau_alert.delivery.alert_id IS 'The alert';
COMMENT ON COLUMN pantau_alert.delivery.event_id IS 'The step of its life this row tells (raised, paged, escalated, acknowledged, resolved)';
COMMENT ON COLUMN pantau_alert.delivery.unit_id IS 'The unit told';
COMMENT ON COLUMN pantau_alert.delivery.channel IS 'mqtt or webhook';
COMMENT ON COLUMN pantau_alert.delivery.body IS 'The message as sent, made once when the row was written (schema/json/alert.json): every attempt sends the same';
COMMENT ON COLUMN pantau_alert.delivery.retain IS 'MQTT: publish retained (the subject''s current state); false when a newer news alert of the same subject and kind exists';
COMMENT ON COLUMN pantau_alert.delivery.status IS 'pending, delivered (confirmed), failed (given up after the deliverer''s longest retry time)';
COMMENT ON COLUMN pantau_alert.delivery.attempts IS 'Attempts that ended (a deliverer killed during one does not count it)';
COMMENT ON COLUMN pantau_alert.delivery.created_at IS 'When the row was written (with the step)';
COMMENT ON COLUMN pantau_alert.delivery.next_attempt_at IS 'Not tried before this time (capped exponential backoff)';
COMMENT ON COLUMN pantau_alert.delivery.last_attempt_at IS 'When the last attempt ended';
COMMENT ON COLUMN pantau_alert.delivery.delivered_at IS 'When it was confirmed';
COMMENT ON COLUMN pantau_alert.delivery.last_error IS 'Why the last attempt failed';

-- 'escalated' joins the lifecycle (whatever else the check allows is kept).
DO $$
DECLARE
    c record;
BEGIN
    SELECT conname, pg_get_constraintdef(oid) AS def INTO c FROM pg_constraint
    WHERE conrelid = 'pantau_alert.alert_event'::regclass AND contype = 'c'
      AND pg_get_constraintdef(oid) LIKE '%''raised''%';
    IF c.def NOT LIKE '%''escalated''%' THEN
        EXECUTE format('ALTER TABLE pantau_alert.alert_event DROP CONSTRAINT %I', c.conname);
        EXECUTE format('ALTER TABLE pantau_alert.alert_event ADD CONSTRAINT %I %s', c.conname,
                       replace(c.def, 'ARRAY[', 'ARRAY[''escalated''::text, '));
    END IF;
END
$$;
COMMENT ON COLUMN pantau_alert.alert_event.event IS 'raised, paged (an alert recorded as past became news), escalated (to the unit in note), acknowledged or resolved';

-- ---- writing the outbox ------------------------------------------------------------------------

CREATE FUNCTION pantau_alert.json_time(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;
COMMENT ON FUNCTION pantau_alert.json_time(timestamptz) IS 'A time as the protocol writes it: RFC 3339, UTC, three decimals, Z (whatever the session''s TimeZone)';

CREATE FUNCTION pantau_alert.alert_area(a pantau_alert.alert) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT coalesce(a.area_code,
                    (SELECT s.kelurahan_code FROM pantau.station s
                     WHERE s.station_id = a.station_id))
$$;
COMMENT ON FUNCTION pantau_alert.alert_area(pantau_alert.alert) IS 'Where an alert lies, for routing: its area_code, else its station''s kelurahan';

CREATE FUNCTION pantau_alert.delivery_body(a pantau_alert.alert, e pantau_alert.alert_event,
                                           unit text, chan text, step smallint)
RETURNS jsonb LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'idempotency_key', format('%s.%s.%s.%s', a.alert_id, e.event_id, unit, chan),
        'alert_id', a.alert_id,
        'event', e.event,
        'event_at', pantau_alert.json_time(e.at),
        'by', e.by,
        'note', e.note,
        'unit', unit,
        'step', step,
        'kind', a.kind,
        'subject', a.subject,
        'station_id', a.station_id,
        'device_id', a.device_id,
        'area_code', pantau_alert.alert_area(a),
        'rw', a.rw,
        'ref', a.ref,
        'level', a.level,
        'previous_level', a.previous_level,
        'rise_window_s', extract(epoch FROM a.rise_window)::integer,
        'rise_cm', a.rise_cm,
        'condition_time', pantau_alert.json_time(a.condition_time),
        'raised_at', pantau_alert.json_time(a.raised_at),
        'paged_at', pantau_alert.json_time(a.paged_at),
        'state', CASE e.event WHEN 'acknowledged' THEN 'acknowledged'
                              WHEN 'resolved' THEN 'resolved' ELSE a.state END,
        'evidence', jsonb_build_object(
            'readings', coalesce((
                SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                           'device_id', r -> 'device_id', 'store_id', r -> 'store_id',
                           'seq', r -> 'seq',
                           'ts_best', pantau_alert.json_time((r ->> 'ts_best')::timestamptz),
                           'value', r -> 'value')))
                FROM jsonb_array_elements(CASE jsonb_typeof(a.evidence -> 'readings')
                                              WHEN 'array' THEN a.evidence -> 'readings'
                                              ELSE '[]'::jsonb END) r), '[]'::jsonb),
            'thresholds', a.evidence -> 'thresholds')))
$$;
COMMENT ON FUNCTION pantau_alert.delivery_body(pantau_alert.alert, pantau_alert.alert_event, text, text, smallint) IS 'The message of one delivery (schema/json/alert.json): the alert as of this step, and its evidence in short (the readings'' keys, best times and values; thresholds)';

-- One outbox row (nothing when the unit already has this step on this channel).
CREATE FUNCTION pantau_alert.deliver_to(a pantau_alert.alert, e pantau_alert.alert_event,
                                        unit text, chan text, step smallint)
RETURNS void LANGUAGE sql SET search_path = pg_catalog AS $$
    INSERT INTO pantau_alert.delivery (idempotency_key, alert_id, event_id, unit_id, channel,
                                       body, retain)
    VALUES (format('%s.%s.%s.%s', a.alert_id, e.event_id, unit, chan), a.alert_id, e.event_id,
            unit, chan, pantau_alert.delivery_body(a, e, unit, chan, step),
            NOT EXISTS (SELECT 1 FROM pantau_alert.alert b
                        WHERE b.subject = a.subject AND b.kind = a.kind
                          AND b.alert_id > a.alert_id AND b.news))
    ON CONFLICT DO NOTHING
$$;
COMMENT ON FUNCTION pantau_alert.deliver_to(pantau_alert.alert, pantau_alert.alert_event, text, text, smallint) IS 'Writes one outbox row for a step of an alert to a unit on a channel (idempotent)';

CREATE FUNCTION pantau_alert.route_event() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    a pantau_alert.alert;
    area text;
    kec text;
    r record;
BEGIN
    SELECT * INTO a FROM pantau_alert.alert x WHERE x.alert_id = NEW.alert_id;
    IF NOT a.news THEN
        RETURN NULL;                -- recorded as past: nobody is paged
    END IF;
    IF NEW.event IN ('raised', 'paged') THEN
        area := pantau_alert.alert_area(a);
        SELECT k.kecamatan_code INTO kec FROM pantau.kelurahan k WHERE k.code = area;
        FOR r IN
            SELECT rt.unit_id, rt.channel,
                   min(rt.escalate_after) OVER (PARTITION BY rt.unit_id) AS after
            FROM pantau_alert.route rt
            WHERE rt.enabled AND a.kind LIKE rt.kind_pattern
              AND (rt.area_code IS NULL OR rt.area_code = area OR rt.area_code = kec)
            ORDER BY rt.unit_id, rt.channel
        LOOP
            INSERT INTO pantau_alert.alert_unit (alert_id, unit_id, step, escalate_at)
            VALUES (a.alert_id, r.unit_id, 0, NEW.at + r.after)
            ON CONFLICT DO NOTHING;
            PERFORM pantau_alert.deliver_to(a, NEW, r.unit_id, r.channel, 0::smallint);
        END LOOP;
    ELSIF NEW.event IN ('acknowledged', 'resolved') THEN
        -- every unit and channel told of the alert hears how it goes on
        FOR r IN
            SELECT DISTINCT d.unit_id, d.channel, u.step
            FROM pantau_alert.delivery d
            JOIN pantau_alert.alert_unit u ON u.alert_id = d.alert_id AND u.unit_id = d.unit_id
            WHERE d.alert_id = a.alert_id
            ORDER BY d.unit_id, d.channel
        LOOP
            PERFORM pantau_alert.deliver_to(a, NEW, r.unit_id, r.channel, r.step);
        END LOOP;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION pantau_alert.route_event() IS 'Trigger (row, after insert on alert_event): a news alert raised or paged is routed (alert_unit, one outbox row per matching unit and channel); acknowledged and resolved go to every unit and channel already told. In the transaction that made the step';
CREATE TRIGGER route_event AFTER INSERT ON pantau_alert.alert_event
    FOR EACH ROW EXECUTE FUNCTION pantau_alert.route_event();

-- ---- escalation --------------------------------------------------------------------------------

CREATE FUNCTION pantau_alert.escalate(at_time timestamptz DEFAULT now()) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    due record;
    nxt record;
    a pantau_alert.alert;
    e pantau_alert.alert_event;
    steps integer := 0;
    waited interval;
BEGIN
    FOR due IN
        SELECT u.alert_id, u.unit_id, u.step, u.escalate_at, u.routed_at
        FROM pantau_alert.alert_unit u
        WHERE u.escalate_at <= at_time AND u.escalated_at IS NULL
        ORDER BY u.escalate_at, u.alert_id, u.unit_id
        FOR UPDATE SKIP LOCKED
    LOOP
        UPDATE pantau_alert.alert_unit u SET escalated_at = at_time
        WHERE u.alert_id = due.alert_id AND u.unit_id = due.unit_id;
        -- the alert's row lock: an acknowledgement commits before or after, never between
        SELECT * INTO a FROM pantau_alert.alert x WHERE x.alert_id = due.alert_id FOR UPDATE;
        CONTINUE WHEN a.state <> 'open';
        waited := due.escalate_at - due.routed_at;
        FOR nxt IN
            SELECT s.next_unit_id, min(s.escalate_after) AS after,
                   array_agg(s.channel ORDER BY s.channel) AS channels
            FROM pantau_alert.escalation s
            WHERE s.unit_id = due.unit_id
            GROUP BY s.next_unit_id
            ORDER BY s.next_unit_id
        LOOP
            INSERT INTO pantau_alert.alert_unit (alert_id, unit_id, step, routed_at, escalate_at)
            VALUES (a.alert_id, nxt.next_unit_id, due.step + 1, at_time, at_time + nxt.after)
            ON CONFLICT DO NOTHING;
            CONTINUE WHEN NOT FOUND;        -- the unit has it already
            INSERT INTO pantau_alert.alert_event (alert_id, event, note)
            VALUES (a.alert_id, 'escalated',
                    format('to %s: not acknowledged by %s within %s', nxt.next_unit_id,
                           due.unit_id, waited))
            RETURNING * INTO e;
            FOR i IN 1 .. array_length(nxt.channels, 1) LOOP
                PERFORM pantau_alert.deliver_to(a, e, nxt.next_unit_id, nxt.channels[i],
                                                (due.step + 1)::smallint);
            END LOOP;
            steps := steps + 1;
        END LOOP;
    END LOOP;
    RETURN steps;
END
$$;
COMMENT ON FUNCTION pantau_alert.escalate(timestamptz) IS 'Passes every alert still open at its unit''s escalate_at (<= at_time) on to the unit''s next units (escalation): an escalated event and their outbox rows; returns the units reached. SKIP LOCKED: any number of callers. pantau-alertd calls it on a timer';

-- ---- claiming and marking deliveries -----------------------------------------------------------

CREATE FUNCTION pantau_alert.delivery_claim(chan text, max_rows integer)
RETURNS TABLE (delivery_id bigint, idempotency_key text, alert_id bigint, unit_id text,
               kind text, subject text, retain boolean, attempts integer,
               created_at timestamptz, body text)
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT d.delivery_id, d.idempotency_key, d.alert_id, d.unit_id, a.kind, a.subject,
           d.retain, d.attempts, d.created_at, d.body::text
    FROM pantau_alert.delivery d
    JOIN pantau_alert.alert a ON a.alert_id = d.alert_id
    WHERE d.status = 'pending' AND d.channel = chan AND d.next_attempt_at <= now()
    ORDER BY d.delivery_id
    LIMIT max_rows
    FOR UPDATE OF d SKIP LOCKED
$$;
COMMENT ON FUNCTION pantau_alert.delivery_claim(text, integer) IS 'Claims up to max_rows due pending deliveries of a channel, oldest first: their row locks (FOR UPDATE SKIP LOCKED) hold until the caller''s transaction ends, so deliverers share the outbox and a killed one leaves its rows pending';

CREATE FUNCTION pantau_alert.delivery_done(d_id bigint) RETURNS boolean
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    UPDATE pantau_alert.delivery d
    SET status = 'delivered', delivered_at = now(), last_attempt_at = now(),
        attempts = d.attempts + 1, last_error = NULL
    WHERE d.delivery_id = d_id AND d.status = 'pending'
    RETURNING true
$$;
COMMENT ON FUNCTION pantau_alert.delivery_done(bigint) IS 'Marks a claimed delivery confirmed (PUBACK, HTTP 2xx)';

CREATE FUNCTION pantau_alert.delivery_retry(d_id bigint, error text, retry_after interval,
                                            give_up_after interval)
RETURNS text LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    UPDATE pantau_alert.delivery d
    SET attempts = d.attempts + 1, last_attempt_at = now(), last_error = left(error, 1000),
        next_attempt_at = now() + retry_after,
        status = CASE WHEN now() - d.created_at >= give_up_after THEN 'failed' ELSE 'pending' END
    WHERE d.delivery_id = d_id AND d.status = 'pending'
    RETURNING d.status
$$;
COMMENT ON FUNCTION pantau_alert.delivery_retry(bigint, text, interval, interval) IS 'Records a failed attempt of a claimed delivery: tried again after retry_after, or failed once give_up_after has passed since it was written; returns the new status';

-- ---- privileges --------------------------------------------------------------------------------
-- pantau_alertd (a NOLOGIN group like 001's; the operator grants the alert service's login
-- user into it): evaluates, escalates, claims and marks deliveries, and nothing else. The
-- functions run as their owner; evaluate() becomes SECURITY DEFINER for this.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pantau_alertd') THEN
        CREATE ROLE pantau_alertd NOLOGIN;
    END IF;
END
$$;
ALTER FUNCTION pantau_alert.evaluate(integer) SECURITY DEFINER;
REVOKE ALL ON FUNCTION pantau_alert.json_time(timestamptz),
    pantau_alert.alert_area(pantau_alert.alert),
    pantau_alert.delivery_body(pantau_alert.alert, pantau_alert.alert_event, text, text, smallint),
    pantau_alert.deliver_to(pantau_alert.alert, pantau_alert.alert_event, text, text, smallint),
    pantau_alert.route_event(), pantau_alert.escalate(timestamptz),
    pantau_alert.delivery_claim(text, integer), pantau_alert.delivery_done(bigint),
    pantau_alert.delivery_retry(bigint, text, interval, interval) FROM PUBLIC;
GRANT USAGE ON SCHEMA pantau_alert TO pantau_alertd;
GRANT EXECUTE ON FUNCTION pantau_alert.evaluate(integer), pantau_alert.escalate(timestamptz),
    pantau_alert.delivery_claim(text, integer), pantau_alert.delivery_done(bigint),
    pantau_alert.delivery_retry(bigint, text, interval, interval) TO pantau_alertd;
GRANT SELECT ON pantau_alert.unit, pantau_alert.route, pantau_alert.escalation,
    pantau_alert.alert_unit, pantau_alert.delivery TO pantau_analyst;
GRANT EXECUTE ON FUNCTION pantau_alert.json_time(timestamptz) TO pantau_analyst;
GRANT ALL ON pantau_alert.unit, pantau_alert.route, pantau_alert.escalation,
    pantau_alert.alert_unit, pantau_alert.delivery TO pantau_admin;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA pantau_alert TO pantau_admin;
