-- 018: a broker account of a unit (issue 11). A unit's console logs in with an account of role
-- `unit`, which names its unit: the broker lets it read only pantau/v1/_sys/alert/<unit_id>/#
-- (docs/protocol.md 12, broker-plugins/devacl.c). A `dashboard` (the operation center) still
-- reads every unit's alerts.

ALTER TABLE pantau_ops.account DROP CONSTRAINT account_role_check;
ALTER TABLE pantau_ops.account ADD CONSTRAINT account_role_check
    CHECK (role IN ('device', 'collector', 'dashboard', 'admin', 'officer', 'unit'));
ALTER TABLE pantau_ops.account
    ADD COLUMN unit_id text REFERENCES pantau_alert.unit ON UPDATE CASCADE ON DELETE RESTRICT;
ALTER TABLE pantau_ops.account ADD CONSTRAINT account_unit_check
    CHECK ((role = 'unit') = (unit_id IS NOT NULL));
COMMENT ON COLUMN pantau_ops.account.role IS 'device, collector, dashboard, admin, officer or unit';
COMMENT ON COLUMN pantau_ops.account.unit_id IS 'For role unit: the unit whose alerts it reads (pantau/v1/_sys/alert/<unit_id>/#); a unit with accounts cannot be removed';

-- ---- system_service_down: a collector down -----------------------------------------------------
-- Nothing in PostgreSQL records a collector's heartbeat, and a database that is down runs
-- nothing, so the state is observed outside: pantau-alertd reads each collector's retained
-- health (protocol.md 6.2, pantau/v1/_sys/health/<collector>) and reports every change, and
-- while a collector is down again every time_rules_interval, to service_state(). The decision
-- is taken here, under the subject's row lock, from committed rows: one alert per outage
-- (subject 'pantau#<collector>', condition_time = when the outage was first reported, so the
-- table's key alert_one_per_change makes a second raise impossible whoever reports it and
-- however often), raised once the outage has lasted service_down_after, resolved when the
-- collector reports itself online with its database up. docs/alerts.md.

INSERT INTO pantau_alert.rule_setting (name, valid, value, note) VALUES
    ('service_down_after', '(,)', '"2 minutes"',
     'a collector offline (its last will) or without its database this long raises '
     'system_service_down (ours: a collector publishes its health at least every 60 s and a '
     'restart takes seconds)');

CREATE FUNCTION pantau_alert.service_state(collector_id text, up boolean, seen_at timestamptz,
                                           why text DEFAULT '')
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    subj text;
    st pantau_alert.subject_state;
    a pantau_alert.alert;
    after_iv interval;
BEGIN
    IF collector_id IS NULL OR collector_id !~ '^[a-z0-9][a-z0-9._-]{0,63}$' THEN
        RAISE EXCEPTION 'service_state: % is not a collector id', coalesce(collector_id, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF up IS NULL OR seen_at IS NULL THEN
        RAISE EXCEPTION 'service_state: up and seen_at are required'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    subj := 'pantau#' || collector_id;
    st := pantau_alert.lock_subject(subj, 'service');
    a := pantau_alert.open_alert(subj, 'system_service_down');
    IF up THEN
        UPDATE pantau_alert.subject_state SET since = NULL, evaluated_at = now(),
               data = jsonb_build_object('up', true, 'seen_at', seen_at)
        WHERE subject = subj AND rule = 'service';
        IF a.alert_id IS NOT NULL
           AND pantau_alert.resolve_by_engine(a.alert_id,
                   format('%s up again (online, database up) at %s', collector_id,
                          pantau_alert.json_time(seen_at))) THEN
            RETURN 1;
        END IF;
        RETURN 0;
    END IF;
    -- down: the outage starts at its first report (a later report keeps that start)
    IF st.since IS NULL THEN
        st.since := least(seen_at, now());
    END IF;
    UPDATE pantau_alert.subject_state SET since = st.since, evaluated_at = now(),
           data = jsonb_build_object('up', false, 'seen_at', seen_at, 'why', why)
    WHERE subject = subj AND rule = 'service';
    IF a.alert_id IS NOT NULL THEN
        RETURN 0;                                  -- this outage's alert is open already
    END IF;
    after_iv := coalesce(pantau_alert.setting_interval('service_down_after', subj, now()),
                         interval '2 minutes');
    IF now() - st.since < after_iv THEN
        RETURN 0;
    END IF;
    a.kind := 'system_service_down';
    a.ref := collector_id;
    a.condition_time := st.since;
    a.evidence := jsonb_build_object('collector', collector_id, 'down_since', st.since,
                                     'why', why, 'after', after_iv, 'at', now());
    a.news := true;
    IF pantau_alert.raise(a, format('%s down since %s: %s', collector_id,
                                    pantau_alert.json_time(st.since), why)) IS NOT NULL THEN
        RETURN 1;
    END IF;
    RETURN 0;                                      -- raised before for this outage (its key)
END
$$;
COMMENT ON FUNCTION pantau_alert.service_state(text, boolean, timestamptz, text) IS 'system_service_down: pantau-alertd reports a collector''s state from its retained health (protocol.md 6.2): up (online, database up) resolves the open alert; down (offline, or its database down; why says which) starts an outage at seen_at (or keeps the one started) and raises one alert (subject pantau#<collector>, condition_time the outage''s start) once it has lasted service_down_after. Returns alerts raised or resolved (0 or 1). Any number of callers: a row lock per subject, one alert per outage by the table''s key';
REVOKE ALL ON FUNCTION pantau_alert.service_state(text, boolean, timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pantau_alert.service_state(text, boolean, timestamptz, text)
    TO pantau_alertd, pantau_admin;
