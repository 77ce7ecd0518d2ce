-- 024_maintenance: the maintenance that runs itself (issue 14, item 3).
--
-- One call, pantau_ops.maintain(at), does everything a day needs, on the data's clock `at`
-- (now() by default; a test passes a time years ahead to see what a day then would do):
--   1. month partitions from a month before `at` to three after (the collector also makes them
--      at start and daily; both paths call the same rule, ensure_partitions_at);
--   2. retention (pantau_ops.retention): month partitions wholly older than their table's keep
--      are dropped, rows of the DEFAULT partition and of unpartitioned tables older than keep
--      are deleted (apply_retention_counts: the rule apply_retention() now calls too);
--   3. personal data (pantau_ops.pii_retention): the columns that say who or where a person is
--      are emptied once older than their keep, long before the inspection itself goes (UU PDP
--      27/2022: personal data no longer than its purpose needs; the aggregates stay);
--   4. a row in pantau_ops.maintenance_run with what it did and how long it took.
-- The systemd timer deploy/pantau-maintain.timer runs `pantau-admin maintain` daily; the row
-- and the program's one log line are how an operator sees it ran (docs/operations.md).

-- ---- retention of unpartitioned tables: by which column --------------------------------------
ALTER TABLE pantau_ops.retention ADD COLUMN time_column name NOT NULL DEFAULT 'ts';
COMMENT ON COLUMN pantau_ops.retention.time_column IS 'The column whose time decides a row''s age (ts: the reading''s time)';
UPDATE pantau_ops.retention SET time_column = 'received_at'
    WHERE table_name = 'pantau_ops.dead_letter'::regclass;
INSERT INTO pantau_ops.retention (table_name, keep, time_column) VALUES
    ('pantau.device_status_history', interval '1 year', 'received_at');
COMMENT ON TABLE pantau_ops.retention IS 'How long rows are kept: month partitions wholly older than keep are dropped, older rows of a DEFAULT partition or an unpartitioned table deleted (pantau.apply_retention_counts)';

CREATE TABLE pantau_ops.pii_retention (
    table_name regclass NOT NULL,
    column_name name NOT NULL,
    keep interval NOT NULL CHECK (keep > interval '0'),
    PRIMARY KEY (table_name, column_name)
);
COMMENT ON COLUMN pantau_ops.pii_retention.table_name IS 'A table with a ts column holding personal data';
COMMENT ON COLUMN pantau_ops.pii_retention.column_name IS 'A column of it that says who or where a person is';
COMMENT ON COLUMN pantau_ops.pii_retention.keep IS 'How long the value is kept, by the row''s ts';
COMMENT ON TABLE pantau_ops.pii_retention IS 'Personal data emptied (set NULL) once older than keep by the row''s ts; the row itself stays until pantau_ops.retention''s keep';
-- A larva inspection's address, GPS and the officer's note: a year covers the follow-up of a
-- positive house (PSN visits, fogging, a case investigation), the RT/RW stay for the indices.
INSERT INTO pantau_ops.pii_retention VALUES
    ('pantau_pii.larva_inspection', 'address', interval '1 year'),
    ('pantau_pii.larva_inspection', 'lat', interval '1 year'),
    ('pantau_pii.larva_inspection', 'lon', interval '1 year'),
    ('pantau_pii.larva_inspection', 'note', interval '1 year');

CREATE TABLE pantau_ops.maintenance_run (
    run_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL,
    started_at timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    partitions_made integer NOT NULL,
    partitions_dropped integer NOT NULL,
    rows_deleted bigint NOT NULL,
    pii_cleared bigint NOT NULL
);
COMMENT ON COLUMN pantau_ops.maintenance_run.run_id IS 'The run''s number';
COMMENT ON COLUMN pantau_ops.maintenance_run.at IS 'The data''s clock the run used (now(), or pantau-admin maintain --at)';
COMMENT ON COLUMN pantau_ops.maintenance_run.started_at IS 'When the run started (the database''s clock)';
COMMENT ON COLUMN pantau_ops.maintenance_run.finished_at IS 'When it finished, just before its commit';
COMMENT ON COLUMN pantau_ops.maintenance_run.partitions_made IS 'Month partitions made ahead';
COMMENT ON COLUMN pantau_ops.maintenance_run.partitions_dropped IS 'Month partitions dropped by retention';
COMMENT ON COLUMN pantau_ops.maintenance_run.rows_deleted IS 'Rows deleted by retention outside month partitions (DEFAULT partitions, unpartitioned tables)';
COMMENT ON COLUMN pantau_ops.maintenance_run.pii_cleared IS 'Rows whose personal data was emptied';
COMMENT ON TABLE pantau_ops.maintenance_run IS 'One row per pantau_ops.maintain() that committed: the data''s clock it used, when it ran and what it did';

-- ---- 1. partitions on a given clock ------------------------------------------------------------
CREATE FUNCTION pantau.ensure_partitions_at(at timestamptz, months_back integer DEFAULT 1,
                                            months_ahead integer DEFAULT 3)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
-- Makes the month partitions from months_back before at's month to months_ahead after it, and
-- a DEFAULT partition, for every table in pantau.partitioned_table. Rows already sitting in the
-- default partition for a month being made are moved into it. Returns how many were made.
DECLARE
    t regclass;
    sch text;
    rel text;
    def text;
    part text;
    m date;
    made integer := 0;
    moved bigint;
BEGIN
    IF at IS NULL THEN
        RAISE EXCEPTION 'ensure_partitions_at: at is required' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR t IN SELECT table_name FROM pantau.partitioned_table ORDER BY 1 LOOP
        SELECT n.nspname, c.relname INTO sch, rel
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = t;
        def := rel || '_default';
        IF to_regclass(format('%I.%I', sch, def)) IS NULL THEN
            EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s DEFAULT', sch, def, t);
        END IF;
        FOR i IN -months_back .. months_ahead LOOP
            m := (date_trunc('month', at AT TIME ZONE 'UTC') + make_interval(months => i))::date;
            part := format('%s_y%sm%s', rel, to_char(m, 'YYYY'), to_char(m, 'MM'));
            CONTINUE WHEN to_regclass(format('%I.%I', sch, part)) IS NOT NULL;
            EXECUTE format('SELECT count(*) FROM %I.%I WHERE ts >= %L AND ts < %L',
                           sch, def, m, (m + interval '1 month')::date) INTO moved;
            IF moved > 0 THEN
                -- a partition may not be made while the default holds rows for its range
                EXECUTE format('ALTER TABLE %s DETACH PARTITION %I.%I', t, sch, def);
                EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                               sch, part, t, m, (m + interval '1 month')::date);
                EXECUTE format('INSERT INTO %I.%I SELECT * FROM %I.%I WHERE ts >= %L AND ts < %L',
                               sch, part, sch, def, m, (m + interval '1 month')::date);
                EXECUTE format('DELETE FROM %I.%I WHERE ts >= %L AND ts < %L',
                               sch, def, m, (m + interval '1 month')::date);
                EXECUTE format('ALTER TABLE %s ATTACH PARTITION %I.%I DEFAULT', t, sch, def);
            ELSE
                EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                               sch, part, t, m, (m + interval '1 month')::date);
            END IF;
            made := made + 1;
        END LOOP;
    END LOOP;
    RETURN made;
END
$$;
REVOKE EXECUTE ON FUNCTION pantau.ensure_partitions_at(timestamptz, integer, integer) FROM PUBLIC;
COMMENT ON FUNCTION pantau.ensure_partitions_at(timestamptz, integer, integer) IS 'Makes month partitions around at''s month (and the DEFAULT partition); returns how many';

-- The collector's call (007 grants it to pantau_ingest): the same rule on today's clock.
CREATE OR REPLACE FUNCTION pantau.ensure_partitions(months_back integer DEFAULT 1,
                                                    months_ahead integer DEFAULT 3)
RETURNS integer LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT pantau.ensure_partitions_at(now(), months_back, months_ahead);
$$;

-- ---- 2. retention ------------------------------------------------------------------------------
CREATE FUNCTION pantau.apply_retention_counts(at timestamptz DEFAULT now(),
                                              OUT partitions_dropped integer,
                                              OUT rows_deleted bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
-- For every table in pantau_ops.retention: a partitioned table loses its month partitions
-- whose whole month is older than keep, and the rows of its DEFAULT partition older than keep;
-- an unpartitioned table loses its rows older than keep by time_column.
DECLARE
    r record;
    p record;
    upper_bound timestamptz;
    n bigint;
BEGIN
    partitions_dropped := 0;
    rows_deleted := 0;
    IF at IS NULL THEN
        RAISE EXCEPTION 'apply_retention: at is required' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR r IN SELECT rt.table_name, rt.keep, rt.time_column, c.relkind
             FROM pantau_ops.retention rt JOIN pg_class c ON c.oid = rt.table_name
             ORDER BY rt.table_name::text LOOP
        IF r.relkind <> 'p' THEN
            EXECUTE format('DELETE FROM %s WHERE %I < $1', r.table_name, r.time_column)
                USING at - r.keep;
            GET DIAGNOSTICS n = ROW_COUNT;
            rows_deleted := rows_deleted + n;
            CONTINUE;
        END IF;
        FOR p IN SELECT c.oid::regclass AS part, pg_get_expr(c.relpartbound, c.oid) AS bound
                 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                 WHERE i.inhparent = r.table_name LOOP
            IF p.bound = 'DEFAULT' THEN
                EXECUTE format('DELETE FROM %s WHERE %I < $1', p.part, r.time_column)
                    USING at - r.keep;
                GET DIAGNOSTICS n = ROW_COUNT;
                rows_deleted := rows_deleted + n;
                CONTINUE;
            END IF;
            upper_bound := substring(p.bound FROM 'TO \(''([^'']+)''\)')::timestamptz;
            IF upper_bound <= at - r.keep THEN
                EXECUTE format('DROP TABLE %s', p.part);
                partitions_dropped := partitions_dropped + 1;
            END IF;
        END LOOP;
    END LOOP;
END
$$;
REVOKE EXECUTE ON FUNCTION pantau.apply_retention_counts(timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION pantau.apply_retention_counts(timestamptz) IS 'Retention by pantau_ops.retention at the given time: partitions dropped and rows deleted';

CREATE OR REPLACE FUNCTION pantau.apply_retention(at timestamptz DEFAULT now())
RETURNS integer LANGUAGE sql AS $$
    SELECT partitions_dropped FROM pantau.apply_retention_counts(at);
$$;

-- ---- 3. personal data --------------------------------------------------------------------------
CREATE FUNCTION pantau.clear_personal_data(at timestamptz DEFAULT now())
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
-- Empties every column of pantau_ops.pii_retention in the rows older than its keep (by ts)
-- that still hold a value. Returns the rows changed.
DECLARE
    r record;
    n bigint;
    total bigint := 0;
BEGIN
    IF at IS NULL THEN
        RAISE EXCEPTION 'clear_personal_data: at is required' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR r IN SELECT table_name, keep,
                    string_agg(format('%I = NULL', column_name), ', ' ORDER BY column_name) AS sets,
                    string_agg(format('%I IS NOT NULL', column_name), ' OR ' ORDER BY column_name)
                        AS held
             FROM pantau_ops.pii_retention GROUP BY table_name, keep
             ORDER BY table_name::text, keep LOOP
        EXECUTE format('UPDATE %s SET %s WHERE ts < $1 AND (%s)', r.table_name, r.sets, r.held)
            USING at - r.keep;
        GET DIAGNOSTICS n = ROW_COUNT;
        total := total + n;
    END LOOP;
    RETURN total;
END
$$;
REVOKE EXECUTE ON FUNCTION pantau.clear_personal_data(timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION pantau.clear_personal_data(timestamptz) IS 'Empties personal data older than pantau_ops.pii_retention says; returns rows changed';

-- ---- 4. the day's run --------------------------------------------------------------------------
CREATE FUNCTION pantau_ops.maintain(at timestamptz DEFAULT now(), months_ahead integer DEFAULT 3)
RETURNS pantau_ops.maintenance_run
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog SET lock_timeout = '30s' AS $$
-- One transaction: a failure leaves nothing half done and no run row (the caller logs the
-- error; the timer tries again the next day, and the partitions ahead cover the months between).
-- Two runs at once wait for each other (an advisory lock) rather than race on DROP TABLE.
DECLARE
    run pantau_ops.maintenance_run;
BEGIN
    IF months_ahead IS NULL OR months_ahead < 1 OR months_ahead > 24 THEN
        RAISE EXCEPTION 'maintain: months_ahead must be 1 to 24' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('pantau_ops.maintain'));
    run.at := coalesce(at, now());
    run.started_at := clock_timestamp();
    run.partitions_made := pantau.ensure_partitions_at(run.at, 1, months_ahead);
    SELECT c.partitions_dropped, c.rows_deleted INTO run.partitions_dropped, run.rows_deleted
        FROM pantau.apply_retention_counts(run.at) c;
    run.pii_cleared := pantau.clear_personal_data(run.at);
    run.finished_at := clock_timestamp();
    INSERT INTO pantau_ops.maintenance_run (at, started_at, finished_at, partitions_made,
                                            partitions_dropped, rows_deleted, pii_cleared)
        VALUES (run.at, run.started_at, run.finished_at, run.partitions_made,
                run.partitions_dropped, run.rows_deleted, run.pii_cleared)
        RETURNING * INTO run;
    RETURN run;
END
$$;
REVOKE EXECUTE ON FUNCTION pantau_ops.maintain(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pantau_ops.maintain(timestamptz, integer) TO pantau_admin;
GRANT SELECT ON pantau_ops.maintenance_run TO pantau_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON pantau_ops.pii_retention TO pantau_admin;
COMMENT ON FUNCTION pantau_ops.maintain(timestamptz, integer) IS 'The daily maintenance on the data''s clock at: partitions ahead, retention, personal data; returns its run row';
