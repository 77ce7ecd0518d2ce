-- 005_ops: dead letters, broker credentials, retention. Administrators only.
CREATE TABLE pantau_ops.dead_letter (
    id bigserial PRIMARY KEY,
    received_at timestamptz NOT NULL,
    source text NOT NULL DEFAULT 'collector' CHECK (source IN ('collector', 'broker')),
    topic text NOT NULL,
    payload bytea NOT NULL,
    payload_size integer,
    reason text NOT NULL,
    detail text,
    device_id text,
    store_id uuid,
    seq bigint,
    stream text,
    collector_id text
);
CREATE INDEX dead_letter_received ON pantau_ops.dead_letter (received_at);
CREATE INDEX dead_letter_key ON pantau_ops.dead_letter (device_id, store_id, seq)
    WHERE seq IS NOT NULL;
COMMENT ON TABLE pantau_ops.dead_letter IS 'A message that was not stored as a reading, kept whole with the reason; administrators only';
COMMENT ON COLUMN pantau_ops.dead_letter.id IS 'Row id';
COMMENT ON COLUMN pantau_ops.dead_letter.received_at IS 'When it was received';
COMMENT ON COLUMN pantau_ops.dead_letter.source IS 'collector (failed validation or a clash there) or broker (refused at the door, protocol.md 7.2)';
COMMENT ON COLUMN pantau_ops.dead_letter.topic IS 'The raw topic';
COMMENT ON COLUMN pantau_ops.dead_letter.payload IS 'The raw payload bytes';
COMMENT ON COLUMN pantau_ops.dead_letter.payload_size IS 'Size of the payload as received, bytes';
COMMENT ON COLUMN pantau_ops.dead_letter.reason IS 'Category: topic, json, schema, registry, clash, db, ...';
COMMENT ON COLUMN pantau_ops.dead_letter.detail IS 'What exactly failed (member, value, rule)';
COMMENT ON COLUMN pantau_ops.dead_letter.device_id IS 'Device, where the topic gives it';
COMMENT ON COLUMN pantau_ops.dead_letter.store_id IS 'Store id, where the payload gives it';
COMMENT ON COLUMN pantau_ops.dead_letter.seq IS 'Sequence number, where the payload gives it';
COMMENT ON COLUMN pantau_ops.dead_letter.stream IS 'Stream, where the topic gives it';
COMMENT ON COLUMN pantau_ops.dead_letter.collector_id IS 'The collector that stored it';

CREATE TABLE pantau_ops.account (
    username text PRIMARY KEY CHECK (username ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    role text NOT NULL CHECK (role IN ('device', 'collector', 'dashboard', 'admin', 'officer')),
    device_id text REFERENCES pantau.device ON UPDATE CASCADE ON DELETE CASCADE,
    secret_kind text NOT NULL CHECK (secret_kind IN ('device_key', 'password')),
    secret_hash text NOT NULL,
    enabled boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'device') = (device_id IS NOT NULL))
);
COMMENT ON TABLE pantau_ops.account IS 'Who may connect to the broker, with a hash of the secret (never the secret)';
COMMENT ON COLUMN pantau_ops.account.username IS 'MQTT username (a device''s is its device id)';
COMMENT ON COLUMN pantau_ops.account.role IS 'device, collector, dashboard, admin or officer';
COMMENT ON COLUMN pantau_ops.account.device_id IS 'For role device: the device it is';
COMMENT ON COLUMN pantau_ops.account.secret_kind IS 'device_key (generated, 256 bits: keyed hash) or password (chosen by a person: slow salted hash)';
COMMENT ON COLUMN pantau_ops.account.secret_hash IS 'The hash in its own self-describing format';
COMMENT ON COLUMN pantau_ops.account.enabled IS 'False: refused, and disconnected if connected';
COMMENT ON COLUMN pantau_ops.account.created_at IS 'When the row was made';
COMMENT ON COLUMN pantau_ops.account.updated_at IS 'When the row last changed';
CREATE TRIGGER account_touch BEFORE UPDATE ON pantau_ops.account
    FOR EACH ROW EXECUTE FUNCTION pantau.touch_updated_at();

-- The broker plugins LISTEN on pantau_account and reload; a device switched off must be refused
-- within seconds, so a change to pantau.device.enabled notifies too.
CREATE FUNCTION pantau_ops.notify_account() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('pantau_account', TG_TABLE_NAME);
    RETURN NULL;
END
$$;
CREATE TRIGGER account_notify AFTER INSERT OR UPDATE OR DELETE ON pantau_ops.account
    FOR EACH STATEMENT EXECUTE FUNCTION pantau_ops.notify_account();
CREATE TRIGGER device_notify AFTER INSERT OR UPDATE OR DELETE ON pantau.device
    FOR EACH STATEMENT EXECUTE FUNCTION pantau_ops.notify_account();
CREATE TRIGGER device_station_notify AFTER INSERT OR UPDATE OR DELETE ON pantau.device_station
    FOR EACH STATEMENT EXECUTE FUNCTION pantau_ops.notify_account();

CREATE TABLE pantau_ops.retention (
    table_name regclass PRIMARY KEY,
    keep interval NOT NULL CHECK (keep > interval '0')
);
COMMENT ON TABLE pantau_ops.retention IS 'How long rows are kept: whole month partitions older than keep are dropped by pantau.apply_retention()';
COMMENT ON COLUMN pantau_ops.retention.table_name IS 'A table in pantau.partitioned_table, or pantau_ops.dead_letter';
COMMENT ON COLUMN pantau_ops.retention.keep IS 'How long to keep its rows, by reading time (received_at for dead letters)';
INSERT INTO pantau_ops.retention VALUES
    ('pantau.flood_reading', interval '10 years'),
    ('pantau.traffic_count', interval '5 years'),
    ('pantau.incident_update', interval '5 years'),
    ('pantau_pii.larva_inspection', interval '2 years'),
    ('pantau.larva_container', interval '5 years'),
    ('pantau_ops.dead_letter', interval '90 days');

CREATE FUNCTION pantau.apply_retention(at timestamptz DEFAULT now())
RETURNS integer LANGUAGE plpgsql AS $$
-- Drops the month partitions whose whole month is older than the table's keep, and deletes dead
-- letters older than theirs. The DEFAULT partitions are never dropped. Returns partitions dropped.
DECLARE
    r record;
    dropped integer := 0;
    upper_bound timestamptz;
BEGIN
    FOR r IN
        SELECT rt.keep, c.oid::regclass AS part,
               pg_get_expr(c.relpartbound, c.oid) AS bound
        FROM pantau_ops.retention rt
        JOIN pg_inherits i ON i.inhparent = rt.table_name
        JOIN pg_class c ON c.oid = i.inhrelid
    LOOP
        CONTINUE WHEN r.bound = 'DEFAULT';
        upper_bound := substring(r.bound FROM 'TO \(''([^'']+)''\)')::timestamptz;
        IF upper_bound <= at - r.keep THEN
            EXECUTE format('DROP TABLE %s', r.part);
            dropped := dropped + 1;
        END IF;
    END LOOP;
    DELETE FROM pantau_ops.dead_letter
        WHERE received_at < at - (SELECT keep FROM pantau_ops.retention
                                  WHERE table_name = 'pantau_ops.dead_letter'::regclass);
    RETURN dropped;
END
$$;
COMMENT ON FUNCTION pantau.apply_retention(timestamptz) IS 'Drops month partitions older than pantau_ops.retention says, deletes old dead letters';
