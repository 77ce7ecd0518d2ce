-- 021_console: what the operation-center console (pantau-console, issue 12) may do, and the
-- functions it calls (console/README.md).
--
-- The console logs in to PostgreSQL as a member of the NOLOGIN group pantau_console (like 016's
-- pantau_alertd: the operator grants the console's login user into it). That group has USAGE on
-- schema pantau_console and EXECUTE on its functions, and nothing else: every page is one call
-- of a function here, which runs as its owner (SECURITY DEFINER) and decides from the account
-- named in its first argument `who` (the person logged in to the console) what that person may
-- see and do. The server checks the role as well, but a viewer is refused here too, so a bug in
-- the server cannot let a viewer acknowledge.
--
-- Console accounts are pantau_ops.account rows with secret_kind 'password':
--   admin, dashboard  the operation center: see everything, acknowledge and resolve
--   unit              a unit's desk: sees and acts on the alerts routed to its unit (016)
--   viewer            (new) reads everything a dashboard reads and acts on nothing
-- device, collector and officer accounts are refused. Personal data (addresses, GPS of houses)
-- only for admin and for accounts of a unit marked health (pantau_alert.unit.health).

-- ---- accounts ----------------------------------------------------------------------------------

ALTER TABLE pantau_ops.account DROP CONSTRAINT account_role_check;
ALTER TABLE pantau_ops.account ADD CONSTRAINT account_role_check
    CHECK (role IN ('device', 'collector', 'dashboard', 'admin', 'officer', 'unit', 'viewer'));
COMMENT ON COLUMN pantau_ops.account.role IS 'device, collector, dashboard, admin, officer, unit or viewer (the console''s read-only account)';

ALTER TABLE pantau_alert.unit ADD COLUMN health boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN pantau_alert.unit.health IS 'A health unit: its accounts may see personal data (addresses, GPS of houses) in the console';
UPDATE pantau_alert.unit SET health = true WHERE unit_id = 'dinkes';

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pantau_console') THEN
        CREATE ROLE pantau_console NOLOGIN;
    END IF;
END
$$;

CREATE SCHEMA pantau_console;
COMMENT ON SCHEMA pantau_console IS 'The console''s functions: one per API call, each returning json, each deciding from its first argument (the person logged in) what may be seen or done';

-- ---- who is asking -----------------------------------------------------------------------------

CREATE TYPE pantau_console.viewer AS (
    username text,
    role text,
    unit_id text,
    health boolean,
    may_act boolean,
    sees_all boolean
);
COMMENT ON TYPE pantau_console.viewer IS 'A console account as the functions see it';
COMMENT ON COLUMN pantau_console.viewer.username IS 'The account';
COMMENT ON COLUMN pantau_console.viewer.role IS 'admin, dashboard, unit or viewer';
COMMENT ON COLUMN pantau_console.viewer.unit_id IS 'For role unit: its unit';
COMMENT ON COLUMN pantau_console.viewer.health IS 'May see personal data (admin, or a unit marked health)';
COMMENT ON COLUMN pantau_console.viewer.may_act IS 'May acknowledge and resolve (admin, dashboard, unit)';
COMMENT ON COLUMN pantau_console.viewer.sees_all IS 'Sees every unit''s alerts (admin, dashboard, viewer)';

CREATE FUNCTION pantau_console.viewer_of(who text) RETURNS pantau_console.viewer
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    v pantau_console.viewer;
BEGIN
    SELECT a.username, a.role, a.unit_id,
           a.role = 'admin' OR coalesce(u.health, false),
           a.role IN ('admin', 'dashboard', 'unit'),
           a.role IN ('admin', 'dashboard', 'viewer')
    INTO v
    FROM pantau_ops.account a LEFT JOIN pantau_alert.unit u ON u.unit_id = a.unit_id
    WHERE a.username = who AND a.enabled AND a.secret_kind = 'password'
      AND a.role IN ('admin', 'dashboard', 'unit', 'viewer');
    IF NOT FOUND THEN
        RAISE EXCEPTION 'console: % is not an enabled console account', coalesce(who, 'NULL')
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN v;
END
$$;
COMMENT ON FUNCTION pantau_console.viewer_of(text) IS 'The console account who (enabled, a password, role admin, dashboard, unit or viewer), or insufficient_privilege';

CREATE FUNCTION pantau_console.login_info(username text)
RETURNS TABLE (secret_hash text, role text, unit_id text, enabled boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT a.secret_hash, a.role, a.unit_id, a.enabled
    FROM pantau_ops.account a
    WHERE a.username = login_info.username AND a.secret_kind = 'password'
$$;
COMMENT ON FUNCTION pantau_console.login_info(text) IS 'For the console''s login: the password hash, role, unit and whether enabled of a password account (no row: no such account, or not a password account). The console decides which roles it accepts';

CREATE FUNCTION pantau_console.me(who text) RETURNS json
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    v pantau_console.viewer := pantau_console.viewer_of(who);
BEGIN
    RETURN json_build_object(
        'user', v.username, 'role', v.role, 'unit', v.unit_id,
        'unit_name', (SELECT u.name FROM pantau_alert.unit u WHERE u.unit_id = v.unit_id),
        'health', v.health, 'may_act', v.may_act, 'sees_all', v.sees_all,
        'as_of', pantau_alert.json_time(now()));
END
$$;
COMMENT ON FUNCTION pantau_console.me(text) IS 'The account logged in: {user, role, unit, unit_name, health, may_act, sees_all, as_of}';

-- ---- alerts ------------------------------------------------------------------------------------

CREATE FUNCTION pantau_console.may_see_alert(v pantau_console.viewer, a_id bigint) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT v.sees_all OR EXISTS (SELECT 1 FROM pantau_alert.alert_unit au
                                 WHERE au.alert_id = a_id AND au.unit_id = v.unit_id)
$$;
COMMENT ON FUNCTION pantau_console.may_see_alert(pantau_console.viewer, bigint) IS 'Whether the account sees the alert: the operation center and viewers all, a unit those routed or escalated to it';

CREATE FUNCTION pantau_console.alert_json(a pantau_alert.alert, v pantau_console.viewer)
RETURNS json LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT json_build_object(
        'alert_id', a.alert_id, 'kind', a.kind, 'subject', a.subject,
        'station_id', a.station_id,
        'station_name', (SELECT s.name FROM pantau.station s WHERE s.station_id = a.station_id),
        'device_id', a.device_id, 'area_code', pantau_alert.alert_area(a),
        'area_name', (SELECT k.name FROM pantau.kelurahan k
                      WHERE k.code = pantau_alert.alert_area(a)),
        'rw', a.rw, 'ref', a.ref, 'level', a.level, 'previous_level', a.previous_level,
        'rise_cm', a.rise_cm,
        'rise_window_min', (extract(epoch FROM a.rise_window) / 60)::integer,
        'condition_time', pantau_alert.json_time(a.condition_time),
        'raised_at', pantau_alert.json_time(a.raised_at),
        'paged_at', pantau_alert.json_time(a.paged_at), 'news', a.news, 'state', a.state,
        'note', (SELECT e.note FROM pantau_alert.alert_event e
                 WHERE e.alert_id = a.alert_id AND e.event = 'raised'
                 ORDER BY e.event_id LIMIT 1),
        'acknowledged_by', a.acknowledged_by,
        'acknowledged_at', pantau_alert.json_time(a.acknowledged_at),
        'acknowledged_note', a.acknowledged_note,
        'resolved_by', a.resolved_by, 'resolved_at', pantau_alert.json_time(a.resolved_at),
        'resolved_note', a.resolved_note,
        'units', (SELECT coalesce(json_agg(au.unit_id ORDER BY au.unit_id), '[]'::json)
                  FROM pantau_alert.alert_unit au WHERE au.alert_id = a.alert_id),
        'may_act', v.may_act AND a.state <> 'resolved')
$$;
COMMENT ON FUNCTION pantau_console.alert_json(pantau_alert.alert, pantau_console.viewer) IS 'An alert as the console shows it (no personal data: alerts carry none beyond an area and RW)';

CREATE FUNCTION pantau_console.alerts(who text, state_filter text DEFAULT 'open') RETURNS json
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    v pantau_console.viewer := pantau_console.viewer_of(who);
    items json;
BEGIN
    IF state_filter IS NULL OR state_filter NOT IN ('open', 'all') THEN
        RAISE EXCEPTION 'alerts: state must be open or all, not %', coalesce(state_filter, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- loudest first: open before acknowledged before resolved; Siaga 1 before 2 ...; a flood
    -- before the rest, the level itself before its rise; the newest change first
    SELECT coalesce(json_agg(pantau_console.alert_json(x, v)
                             ORDER BY CASE x.state WHEN 'open' THEN 0
                                                   WHEN 'acknowledged' THEN 1 ELSE 2 END,
                                      x.level NULLS LAST,
                                      x.kind NOT LIKE 'flood\_%',
                                      x.kind <> 'flood_level',
                                      x.condition_time DESC, x.alert_id DESC), '[]'::json)
    INTO items
    FROM pantau_alert.alert x
    WHERE x.alert_id IN (SELECT a.alert_id FROM pantau_alert.alert a
                         WHERE (state_filter = 'all' OR a.state <> 'resolved')
                           AND pantau_console.may_see_alert(v, a.alert_id)
                         ORDER BY a.state = 'resolved', a.condition_time DESC
                         LIMIT 500);
    RETURN json_build_object('as_of', pantau_alert.json_time(now()), 'state', state_filter,
                             'may_act', v.may_act, 'alerts', items);
END
$$;
COMMENT ON FUNCTION pantau_console.alerts(text, text) IS 'The alerts the account sees (state open: not resolved; all: also resolved, up to 500), loudest first: {as_of, state, may_act, alerts: [...]}';

CREATE FUNCTION pantau_console.act(who text, a_id bigint, what text, note text) RETURNS json
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    v pantau_console.viewer := pantau_console.viewer_of(who);
    a pantau_alert.alert;
    done boolean;
BEGIN
    IF NOT v.may_act THEN
        RAISE EXCEPTION 'console: % (role %) may not % alerts', v.username, v.role, what
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF note IS NULL OR length(note) > 1000 THEN
        RAISE EXCEPTION 'console: a note is up to 1000 characters'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO a FROM pantau_alert.alert WHERE alert_id = a_id;
    IF NOT FOUND OR NOT pantau_console.may_see_alert(v, a_id) THEN
        RAISE EXCEPTION 'console: no alert % for %', a_id, v.username
            USING ERRCODE = 'no_data_found';
    END IF;
    IF what = 'acknowledge' THEN
        done := pantau_alert.acknowledge(a_id, v.username, note);
    ELSE
        done := pantau_alert.resolve(a_id, v.username, note);
    END IF;
    IF NOT done THEN
        RAISE EXCEPTION 'console: alert % is % already', a_id, a.state
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    PERFORM pg_notify('pantau_alert', a_id::text);        -- every console shows it at commit
    SELECT * INTO a FROM pantau_alert.alert WHERE alert_id = a_id;
    RETURN json_build_object('done', true, 'alert', pantau_console.alert_json(a, v));
END
$$;
COMMENT ON FUNCTION pantau_console.act(text, bigint, text, text) IS 'acknowledge or resolve for the console, through pantau_alert.acknowledge/resolve with the account as the person: refused (insufficient_privilege) for a viewer, no_data_found for an alert the account does not see, object_not_in_prerequisite_state when already done; NOTIFY pantau_alert with the id';

CREATE FUNCTION pantau_console.acknowledge(who text, alert_id bigint, note text DEFAULT '')
RETURNS json LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT pantau_console.act(who, alert_id, 'acknowledge', note)
$$;
COMMENT ON FUNCTION pantau_console.acknowledge(text, bigint, text) IS 'The account acknowledges an open alert it sees, with a note: {done, alert}';

CREATE FUNCTION pantau_console.resolve(who text, alert_id bigint, note text DEFAULT '')
RETURNS json LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT pantau_console.act(who, alert_id, 'resolve', note)
$$;
COMMENT ON FUNCTION pantau_console.resolve(text, bigint, text) IS 'The account resolves an alert it sees, with a note: {done, alert}';

-- ---- privileges --------------------------------------------------------------------------------
-- Only the API's functions are the console's; the helpers are not (they run inside them).
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA pantau_console FROM PUBLIC;
GRANT USAGE ON SCHEMA pantau_console TO pantau_console, pantau_admin;
GRANT EXECUTE ON FUNCTION pantau_console.login_info(text), pantau_console.me(text),
    pantau_console.alerts(text, text), pantau_console.acknowledge(text, bigint, text),
    pantau_console.resolve(text, bigint, text) TO pantau_console;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA pantau_console TO pantau_admin;
