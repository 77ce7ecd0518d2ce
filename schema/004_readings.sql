-- 004_readings: the reading ledger and the facts.
--
-- The ledger has one row per reading ever stored, keyed by (device_id, store_id, seq): storing
-- a reading twice is impossible by construction (the facts tables are partitioned by time, and
-- PostgreSQL wants the partition key in every unique constraint of a partitioned table, so they
-- cannot say it themselves). Its content_sha256 tells a true duplicate from a clash, and the
-- sequence numbers it lacks are the gaps (pantau_report.reading_gap). The envelope of a reading
-- (replay, clock, boot, corrected time) lives here once, not in every facts table.
--
-- Facts tables are partitioned by month of the reading's time, each with a DEFAULT partition so
-- that no timestamp (1970 from a clock never set, 2099) can make a batch fail;
-- pantau.ensure_partitions() makes months ahead and moves stray rows out of the default.
CREATE TABLE pantau.reading_ledger (
    device_id text NOT NULL,
    store_id uuid NOT NULL,
    seq bigint NOT NULL CHECK (seq BETWEEN 1 AND 9007199254740991),
    stream text NOT NULL CHECK (stream IN ('flood', 'traffic', 'incident', 'larva', 'dropped')),
    ts timestamptz NOT NULL,
    ts_corrected timestamptz,
    clock_synced boolean NOT NULL,
    replay boolean NOT NULL,
    boot bigint,
    mono_ms bigint,
    content_sha256 bytea NOT NULL CHECK (octet_length(content_sha256) = 32),
    outcome text NOT NULL DEFAULT 'stored' CHECK (outcome IN ('stored', 'dead_letter')),
    received_at timestamptz NOT NULL,
    stored_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (device_id, store_id, seq)
);
CREATE INDEX reading_ledger_boot ON pantau.reading_ledger (device_id, store_id, boot)
    WHERE boot IS NOT NULL;
COMMENT ON TABLE pantau.reading_ledger IS 'One row per reading ever stored, keyed (device_id, store_id, seq): the authority for exactly-once and for gaps';
COMMENT ON COLUMN pantau.reading_ledger.device_id IS 'The device that sent it';
COMMENT ON COLUMN pantau.reading_ledger.store_id IS 'The device''s store that numbered it (a new SD card is a new store)';
COMMENT ON COLUMN pantau.reading_ledger.seq IS 'Sequence number within the store';
COMMENT ON COLUMN pantau.reading_ledger.stream IS 'flood, traffic, incident, larva or dropped';
COMMENT ON COLUMN pantau.reading_ledger.ts IS 'Time of the reading as the device reported it (UTC)';
COMMENT ON COLUMN pantau.reading_ledger.ts_corrected IS 'For a reading taken with an unsynchronised clock: the time recomputed from a synchronised reading of the same boot (protocol.md 4.1); NULL when not needed or not possible';
COMMENT ON COLUMN pantau.reading_ledger.clock_synced IS 'Whether the device''s clock was synchronised when it took the reading';
COMMENT ON COLUMN pantau.reading_ledger.replay IS 'True when the stored copy was a replay or resend (history, not news)';
COMMENT ON COLUMN pantau.reading_ledger.boot IS 'Device boot counter when taken';
COMMENT ON COLUMN pantau.reading_ledger.mono_ms IS 'Milliseconds since that boot when taken (monotonic clock), ms';
COMMENT ON COLUMN pantau.reading_ledger.content_sha256 IS 'SHA-256 of the reading''s canonical content (without replay): equal = duplicate, different = clash';
COMMENT ON COLUMN pantau.reading_ledger.outcome IS 'stored (in the facts tables) or dead_letter';
COMMENT ON COLUMN pantau.reading_ledger.received_at IS 'When the collector received it';
COMMENT ON COLUMN pantau.reading_ledger.stored_at IS 'When the transaction that stored it ran';

CREATE TABLE pantau.dropped_range (
    device_id text NOT NULL,
    store_id uuid NOT NULL,
    seq bigint NOT NULL,
    first_seq bigint NOT NULL,
    last_seq bigint NOT NULL,
    reason text NOT NULL CHECK (reason IN ('store_full', 'max_age', 'rejected', 'corrupt')),
    received_at timestamptz NOT NULL DEFAULT now(),
    CHECK (first_seq BETWEEN 1 AND last_seq),
    PRIMARY KEY (device_id, store_id, seq, first_seq)
);
COMMENT ON TABLE pantau.dropped_range IS 'Sequence numbers a device dropped itself (protocol.md 4.6): not lost in transit';
COMMENT ON COLUMN pantau.dropped_range.device_id IS 'The device';
COMMENT ON COLUMN pantau.dropped_range.store_id IS 'The store the numbers belong to';
COMMENT ON COLUMN pantau.dropped_range.seq IS 'Sequence number of the dropped message that reported the range';
COMMENT ON COLUMN pantau.dropped_range.first_seq IS 'First dropped sequence number (inclusive)';
COMMENT ON COLUMN pantau.dropped_range.last_seq IS 'Last dropped sequence number (inclusive)';
COMMENT ON COLUMN pantau.dropped_range.reason IS 'store_full, max_age, rejected (refused by the broker too often) or corrupt';
COMMENT ON COLUMN pantau.dropped_range.received_at IS 'When the collector stored the report';

CREATE TABLE pantau.flood_reading (
    device_id text NOT NULL,
    store_id uuid NOT NULL,
    seq bigint NOT NULL,
    station_id text NOT NULL,
    ts timestamptz NOT NULL,
    level_cm double precision CHECK (level_cm BETWEEN -10000 AND 100000),
    discharge_m3s double precision CHECK (discharge_m3s BETWEEN 0 AND 100000),
    distance_cm double precision CHECK (distance_cm BETWEEN 0 AND 10000),
    offset_cm double precision CHECK (offset_cm BETWEEN -10000 AND 100000),
    rise_cm_h double precision CHECK (rise_cm_h BETWEEN -10000 AND 10000),
    rain_mm double precision CHECK (rain_mm BETWEEN 0 AND 1000),
    battery_v double precision CHECK (battery_v BETWEEN 0 AND 100)
) PARTITION BY RANGE (ts);
COMMENT ON TABLE pantau.flood_reading IS 'A water-level reading of one gauge (protocol.md 4.2); envelope in reading_ledger; level against the registry''s mounting offset in pantau_report.flood_level';
COMMENT ON COLUMN pantau.flood_reading.device_id IS 'Device that sent it (with store_id, seq: the ledger key)';
COMMENT ON COLUMN pantau.flood_reading.store_id IS 'Store id of the reading';
COMMENT ON COLUMN pantau.flood_reading.seq IS 'Sequence number of the reading';
COMMENT ON COLUMN pantau.flood_reading.station_id IS 'The gauge';
COMMENT ON COLUMN pantau.flood_reading.ts IS 'When it was measured (UTC, as reported)';
COMMENT ON COLUMN pantau.flood_reading.level_cm IS 'Water level over the gauge zero as reported, cm';
COMMENT ON COLUMN pantau.flood_reading.discharge_m3s IS 'Discharge, m3/s (barrages)';
COMMENT ON COLUMN pantau.flood_reading.distance_cm IS 'Raw distance from the sensor down to the water, cm';
COMMENT ON COLUMN pantau.flood_reading.offset_cm IS 'Mounting height over the gauge zero as configured on the device, cm';
COMMENT ON COLUMN pantau.flood_reading.rise_cm_h IS 'Rate of rise computed by the device, cm per hour';
COMMENT ON COLUMN pantau.flood_reading.rain_mm IS 'Rain since the station''s previous reading, mm';
COMMENT ON COLUMN pantau.flood_reading.battery_v IS 'Supply voltage, V';
CREATE INDEX flood_reading_station_ts ON pantau.flood_reading (station_id, ts DESC);
CREATE INDEX flood_reading_key ON pantau.flood_reading (device_id, store_id, seq);

CREATE TABLE pantau.traffic_count (
    device_id text NOT NULL,
    store_id uuid NOT NULL,
    seq bigint NOT NULL,
    station_id text NOT NULL,
    ts timestamptz NOT NULL,
    interval_s integer NOT NULL CHECK (interval_s BETWEEN 1 AND 3600),
    lane text NOT NULL,
    motorcycle integer CHECK (motorcycle BETWEEN 0 AND 1000000),
    car integer CHECK (car BETWEEN 0 AND 1000000),
    bus integer CHECK (bus BETWEEN 0 AND 1000000),
    truck integer CHECK (truck BETWEEN 0 AND 1000000),
    nonmotor integer CHECK (nonmotor BETWEEN 0 AND 1000000),
    speed_kmh double precision CHECK (speed_kmh BETWEEN 0 AND 300),
    occupancy_pct double precision CHECK (occupancy_pct BETWEEN 0 AND 100),
    queue_m double precision CHECK (queue_m BETWEEN 0 AND 10000)
) PARTITION BY RANGE (ts);
COMMENT ON TABLE pantau.traffic_count IS 'Vehicle counts of one camera, lane and interval (protocol.md 4.3)';
COMMENT ON COLUMN pantau.traffic_count.device_id IS 'Device that sent it';
COMMENT ON COLUMN pantau.traffic_count.store_id IS 'Store id of the reading';
COMMENT ON COLUMN pantau.traffic_count.seq IS 'Sequence number of the reading';
COMMENT ON COLUMN pantau.traffic_count.station_id IS 'The camera';
COMMENT ON COLUMN pantau.traffic_count.ts IS 'Start of the interval (UTC)';
COMMENT ON COLUMN pantau.traffic_count.interval_s IS 'Length of the interval, s';
COMMENT ON COLUMN pantau.traffic_count.lane IS 'Lane or direction';
COMMENT ON COLUMN pantau.traffic_count.motorcycle IS 'Motorcycles counted (NULL: class not reported)';
COMMENT ON COLUMN pantau.traffic_count.car IS 'Cars counted';
COMMENT ON COLUMN pantau.traffic_count.bus IS 'Buses counted';
COMMENT ON COLUMN pantau.traffic_count.truck IS 'Trucks counted';
COMMENT ON COLUMN pantau.traffic_count.nonmotor IS 'Non-motorised vehicles counted (bicycles, carts)';
COMMENT ON COLUMN pantau.traffic_count.speed_kmh IS 'Average speed, km/h';
COMMENT ON COLUMN pantau.traffic_count.occupancy_pct IS 'Share of the interval the detection zone was occupied, %';
COMMENT ON COLUMN pantau.traffic_count.queue_m IS 'Longest queue seen, m';
CREATE INDEX traffic_count_station_ts ON pantau.traffic_count (station_id, ts DESC);

CREATE TABLE pantau.incident_update (
    device_id text NOT NULL,
    store_id uuid NOT NULL,
    seq bigint NOT NULL,
    station_id text NOT NULL,
    event_id text NOT NULL,
    state text NOT NULL CHECK (state IN ('new', 'update', 'end')),
    type text NOT NULL,
    start_at timestamptz NOT NULL,
    end_at timestamptz,
    confidence double precision CHECK (confidence BETWEEN 0 AND 1),
    snapshot text,
    lane text,
    ts timestamptz NOT NULL
) PARTITION BY RANGE (ts);
COMMENT ON TABLE pantau.incident_update IS 'Every update of a camera incident as received (protocol.md 4.4); current state in pantau.incident';
COMMENT ON COLUMN pantau.incident_update.device_id IS 'Device that sent it';
COMMENT ON COLUMN pantau.incident_update.store_id IS 'Store id of the reading';
COMMENT ON COLUMN pantau.incident_update.seq IS 'Sequence number of the reading';
COMMENT ON COLUMN pantau.incident_update.station_id IS 'The camera';
COMMENT ON COLUMN pantau.incident_update.event_id IS 'The camera''s id of the incident, the same on every update';
COMMENT ON COLUMN pantau.incident_update.state IS 'new, update or end';
COMMENT ON COLUMN pantau.incident_update.type IS 'accident, stalled_vehicle, road_flooding, congestion, illegal_parking, wrong_way or other';
COMMENT ON COLUMN pantau.incident_update.start_at IS 'When the incident began';
COMMENT ON COLUMN pantau.incident_update.end_at IS 'When it ended (state end)';
COMMENT ON COLUMN pantau.incident_update.confidence IS 'The analytics'' confidence, 0 to 1';
COMMENT ON COLUMN pantau.incident_update.snapshot IS 'Reference to the snapshot image (the image stays on the camera side)';
COMMENT ON COLUMN pantau.incident_update.lane IS 'Lane or direction';
COMMENT ON COLUMN pantau.incident_update.ts IS 'Time of this update (UTC)';

CREATE TABLE pantau.incident (
    station_id text NOT NULL,
    event_id text NOT NULL,
    state text NOT NULL CHECK (state IN ('new', 'update', 'end')),
    type text NOT NULL,
    start_at timestamptz NOT NULL,
    end_at timestamptz,
    confidence double precision,
    snapshot text,
    lane text,
    ts timestamptz NOT NULL,
    seq bigint NOT NULL,
    device_id text NOT NULL,
    store_id uuid NOT NULL,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (station_id, event_id)
);
COMMENT ON TABLE pantau.incident IS 'Current state of each camera incident: upserted by event id, an older update (by ts, then seq) never overwrites a newer one';
COMMENT ON COLUMN pantau.incident.station_id IS 'The camera';
COMMENT ON COLUMN pantau.incident.event_id IS 'The camera''s id of the incident';
COMMENT ON COLUMN pantau.incident.state IS 'new, update or end, from the newest update';
COMMENT ON COLUMN pantau.incident.type IS 'Incident type, from the newest update';
COMMENT ON COLUMN pantau.incident.start_at IS 'When it began';
COMMENT ON COLUMN pantau.incident.end_at IS 'When it ended, once ended';
COMMENT ON COLUMN pantau.incident.confidence IS 'Confidence, 0 to 1, from the newest update';
COMMENT ON COLUMN pantau.incident.snapshot IS 'Snapshot reference, from the newest update';
COMMENT ON COLUMN pantau.incident.lane IS 'Lane or direction';
COMMENT ON COLUMN pantau.incident.ts IS 'Time of the newest update applied';
COMMENT ON COLUMN pantau.incident.seq IS 'Sequence number of the newest update applied';
COMMENT ON COLUMN pantau.incident.device_id IS 'Device of the newest update applied';
COMMENT ON COLUMN pantau.incident.store_id IS 'Store of the newest update applied';
COMMENT ON COLUMN pantau.incident.first_seen_at IS 'When the first update of it was stored';
COMMENT ON COLUMN pantau.incident.updated_at IS 'When the row last changed';

CREATE TABLE pantau_pii.larva_inspection (
    device_id text NOT NULL,
    store_id uuid NOT NULL,
    seq bigint NOT NULL,
    ts timestamptz NOT NULL,
    inspector text NOT NULL,
    building text NOT NULL CHECK (building IN ('house', 'public_place', 'institution')),
    kelurahan text NOT NULL REFERENCES pantau.kelurahan (code),
    rw integer NOT NULL CHECK (rw BETWEEN 1 AND 999),
    rt integer NOT NULL CHECK (rt BETWEEN 1 AND 999),
    address text,
    lat double precision CHECK (lat BETWEEN -11 AND 6),
    lon double precision CHECK (lon BETWEEN 95 AND 141),
    larvae_found boolean NOT NULL,
    actions text[],
    note text
) PARTITION BY RANGE (ts);
COMMENT ON TABLE pantau_pii.larva_inspection IS 'One Jumantik inspection of one building (protocol.md 4.5); personal data (UU PDP 27/2022)';
COMMENT ON COLUMN pantau_pii.larva_inspection.device_id IS 'Handheld that sent it';
COMMENT ON COLUMN pantau_pii.larva_inspection.store_id IS 'Store id of the reading';
COMMENT ON COLUMN pantau_pii.larva_inspection.seq IS 'Sequence number of the reading';
COMMENT ON COLUMN pantau_pii.larva_inspection.ts IS 'When the inspection was made (UTC)';
COMMENT ON COLUMN pantau_pii.larva_inspection.inspector IS 'The officer''s enrolled id (personal data)';
COMMENT ON COLUMN pantau_pii.larva_inspection.building IS 'house, public_place or institution';
COMMENT ON COLUMN pantau_pii.larva_inspection.kelurahan IS 'Kelurahan code';
COMMENT ON COLUMN pantau_pii.larva_inspection.rw IS 'RW number';
COMMENT ON COLUMN pantau_pii.larva_inspection.rt IS 'RT number';
COMMENT ON COLUMN pantau_pii.larva_inspection.address IS 'Street address (personal data)';
COMMENT ON COLUMN pantau_pii.larva_inspection.lat IS 'Latitude, WGS 84 degrees (personal data)';
COMMENT ON COLUMN pantau_pii.larva_inspection.lon IS 'Longitude, WGS 84 degrees (personal data)';
COMMENT ON COLUMN pantau_pii.larva_inspection.larvae_found IS 'Whether larvae were found in any container';
COMMENT ON COLUMN pantau_pii.larva_inspection.actions IS 'PSN actions taken: drain, cover, recycle, larvicide, fish, repellent, net, plant, other';
COMMENT ON COLUMN pantau_pii.larva_inspection.note IS 'Free text';
CREATE INDEX larva_inspection_area_ts ON pantau_pii.larva_inspection (kelurahan, ts);
CREATE INDEX larva_inspection_key ON pantau_pii.larva_inspection (device_id, store_id, seq);

CREATE TABLE pantau.larva_container (
    device_id text NOT NULL,
    store_id uuid NOT NULL,
    seq bigint NOT NULL,
    ts timestamptz NOT NULL,
    type text NOT NULL,
    location text NOT NULL CHECK (location IN ('indoor', 'outdoor')),
    inspected integer NOT NULL CHECK (inspected BETWEEN 0 AND 1000),
    positive integer NOT NULL CHECK (positive BETWEEN 0 AND 1000),
    CHECK (positive <= inspected)
) PARTITION BY RANGE (ts);
COMMENT ON TABLE pantau.larva_container IS 'Containers of one type and location in one inspection: raw counts, no personal data';
COMMENT ON COLUMN pantau.larva_container.device_id IS 'Handheld that sent the inspection';
COMMENT ON COLUMN pantau.larva_container.store_id IS 'Store id of the inspection';
COMMENT ON COLUMN pantau.larva_container.seq IS 'Sequence number of the inspection';
COMMENT ON COLUMN pantau.larva_container.ts IS 'When the inspection was made (UTC), as in larva_inspection';
COMMENT ON COLUMN pantau.larva_container.type IS 'Container type (bath_tub, drum, jar, bucket, used_goods, ...)';
COMMENT ON COLUMN pantau.larva_container.location IS 'indoor or outdoor';
COMMENT ON COLUMN pantau.larva_container.inspected IS 'Containers of this type inspected';
COMMENT ON COLUMN pantau.larva_container.positive IS 'Of those, containers with larvae';
CREATE INDEX larva_container_key ON pantau.larva_container (device_id, store_id, seq);

CREATE TABLE pantau.device_status (
    device_id text PRIMARY KEY,
    state text NOT NULL CHECK (state IN ('online', 'offline')),
    conn bigint NOT NULL,
    store_id uuid,
    ts timestamptz,
    clock_synced boolean,
    agent text,
    backlog bigint,
    rejected bigint,
    dropped bigint,
    stations jsonb,
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE pantau.device_status IS 'Current status of each device from its birth and last-will messages; the higher conn wins, and with the same conn offline wins';
COMMENT ON COLUMN pantau.device_status.device_id IS 'The device';
COMMENT ON COLUMN pantau.device_status.state IS 'online or offline';
COMMENT ON COLUMN pantau.device_status.conn IS 'Connection counter of the message applied';
COMMENT ON COLUMN pantau.device_status.store_id IS 'The device''s current store';
COMMENT ON COLUMN pantau.device_status.ts IS 'Birth: when it connected; will: when that connection was made';
COMMENT ON COLUMN pantau.device_status.clock_synced IS 'Whether its clock was synchronised then';
COMMENT ON COLUMN pantau.device_status.agent IS 'Software name and version';
COMMENT ON COLUMN pantau.device_status.backlog IS 'Readings stored on the device and not yet acknowledged';
COMMENT ON COLUMN pantau.device_status.rejected IS 'Readings the broker refused for good, in total';
COMMENT ON COLUMN pantau.device_status.dropped IS 'Readings the device dropped itself, in total';
COMMENT ON COLUMN pantau.device_status.stations IS 'Health of the stations behind the gateway: {station id: online|offline}';
COMMENT ON COLUMN pantau.device_status.updated_at IS 'When the collector applied it';

CREATE TABLE pantau.device_status_history (
    device_id text NOT NULL,
    conn bigint NOT NULL,
    state text NOT NULL CHECK (state IN ('online', 'offline')),
    store_id uuid,
    ts timestamptz,
    clock_synced boolean,
    agent text,
    backlog bigint,
    rejected bigint,
    dropped bigint,
    stations jsonb,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (device_id, conn, state)
);
COMMENT ON TABLE pantau.device_status_history IS 'Every distinct status message (device, conn, state) as received';
COMMENT ON COLUMN pantau.device_status_history.device_id IS 'The device';
COMMENT ON COLUMN pantau.device_status_history.conn IS 'Connection counter';
COMMENT ON COLUMN pantau.device_status_history.state IS 'online (birth) or offline (last will)';
COMMENT ON COLUMN pantau.device_status_history.store_id IS 'The device''s store';
COMMENT ON COLUMN pantau.device_status_history.ts IS 'Time in the message';
COMMENT ON COLUMN pantau.device_status_history.clock_synced IS 'Whether its clock was synchronised';
COMMENT ON COLUMN pantau.device_status_history.agent IS 'Software name and version';
COMMENT ON COLUMN pantau.device_status_history.backlog IS 'Readings not yet acknowledged';
COMMENT ON COLUMN pantau.device_status_history.rejected IS 'Readings refused for good, in total';
COMMENT ON COLUMN pantau.device_status_history.dropped IS 'Readings dropped by the device, in total';
COMMENT ON COLUMN pantau.device_status_history.stations IS 'Station health reported';
COMMENT ON COLUMN pantau.device_status_history.received_at IS 'When the collector received it';

-- Partitions: one per month per facts table, named <table>_yYYYYmMM, and a DEFAULT.
CREATE TABLE pantau.partitioned_table (
    table_name regclass PRIMARY KEY
);
COMMENT ON TABLE pantau.partitioned_table IS 'The facts tables partitioned by month that ensure_partitions() and apply_retention() look after';
COMMENT ON COLUMN pantau.partitioned_table.table_name IS 'The partitioned table';
INSERT INTO pantau.partitioned_table VALUES
    ('pantau.flood_reading'), ('pantau.traffic_count'), ('pantau.incident_update'),
    ('pantau_pii.larva_inspection'), ('pantau.larva_container');

CREATE FUNCTION pantau.ensure_partitions(months_back integer DEFAULT 1,
                                         months_ahead integer DEFAULT 3)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
-- Makes the month partitions from months_back before this month to months_ahead after it, and
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
    FOR t IN SELECT table_name FROM pantau.partitioned_table ORDER BY 1 LOOP
        SELECT n.nspname, c.relname INTO sch, rel
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = t;
        def := rel || '_default';
        IF to_regclass(format('%I.%I', sch, def)) IS NULL THEN
            EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s DEFAULT', sch, def, t);
        END IF;
        FOR i IN -months_back .. months_ahead LOOP
            m := (date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => i))::date;
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
COMMENT ON FUNCTION pantau.ensure_partitions(integer, integer) IS 'Makes month partitions around now (and moves rows out of the default partition into them); idempotent; run by migrate.sh and daily by the collector';
