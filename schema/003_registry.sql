-- 003_registry: devices, stations, which device may speak for which station and when, gauge
-- mounting offsets and alert thresholds. Versioned rows carry a validity range `valid`
-- ([from, to)); an EXCLUDE constraint forbids two versions of the same thing at one time.
CREATE TABLE pantau.device (
    device_id text PRIMARY KEY CHECK (device_id ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    kind text NOT NULL CHECK (kind IN ('flood_gateway', 'traffic_gateway', 'handheld')),
    description text NOT NULL DEFAULT '',
    enabled boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE pantau.device IS 'A device that publishes: a gateway or a handheld (protocol.md section 3)';
COMMENT ON COLUMN pantau.device.device_id IS 'Device id: MQTT username, client id and topic level';
COMMENT ON COLUMN pantau.device.kind IS 'flood_gateway, traffic_gateway or handheld: sets which streams it may publish';
COMMENT ON COLUMN pantau.device.description IS 'Free text for operators';
COMMENT ON COLUMN pantau.device.enabled IS 'False: the broker refuses it and the collector dead-letters its readings';
COMMENT ON COLUMN pantau.device.created_at IS 'When the row was made';
COMMENT ON COLUMN pantau.device.updated_at IS 'When the row last changed';

CREATE TABLE pantau.station (
    station_id text PRIMARY KEY CHECK (station_id ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    kind text NOT NULL CHECK (kind IN ('flood_gauge', 'traffic_camera')),
    name text NOT NULL DEFAULT '',
    lat double precision CHECK (lat BETWEEN -11 AND 6),
    lon double precision CHECK (lon BETWEEN 95 AND 141),
    kelurahan_code text REFERENCES pantau.kelurahan (code),
    datum text CHECK (datum IN ('gauge_zero', 'mdpl')),
    capacity_pcu_h double precision CHECK (capacity_pcu_h > 0),
    CHECK (kind = 'flood_gauge' OR datum IS NULL),
    CHECK (kind = 'traffic_camera' OR capacity_pcu_h IS NULL)
);
COMMENT ON TABLE pantau.station IS 'A place measured: a river gauge or a traffic camera';
COMMENT ON COLUMN pantau.station.station_id IS 'Station id, as in the payloads'' station member';
COMMENT ON COLUMN pantau.station.kind IS 'flood_gauge or traffic_camera';
COMMENT ON COLUMN pantau.station.name IS 'Name, e.g. Kali Bekasi at P2C';
COMMENT ON COLUMN pantau.station.lat IS 'Latitude, WGS 84 degrees';
COMMENT ON COLUMN pantau.station.lon IS 'Longitude, WGS 84 degrees';
COMMENT ON COLUMN pantau.station.kelurahan_code IS 'The kelurahan it stands in';
COMMENT ON COLUMN pantau.station.datum IS 'Gauges: what level_cm is measured against: gauge_zero (staff gauge) or mdpl (metres above sea level, in cm)';
COMMENT ON COLUMN pantau.station.capacity_pcu_h IS 'Cameras: road capacity C in light-vehicle equivalents per hour (PKJI 2023), for the degree of saturation';

CREATE TABLE pantau.device_station (
    device_id text NOT NULL REFERENCES pantau.device ON UPDATE CASCADE,
    station_id text NOT NULL REFERENCES pantau.station ON UPDATE CASCADE,
    valid tstzrange NOT NULL DEFAULT tstzrange(now(), NULL),
    EXCLUDE USING gist (device_id WITH =, station_id WITH =, valid WITH &&)
);
COMMENT ON TABLE pantau.device_station IS 'Which device may speak for which station, and when (a backlog survives a gateway swap)';
COMMENT ON COLUMN pantau.device_station.device_id IS 'The device';
COMMENT ON COLUMN pantau.device_station.station_id IS 'The station it may report for';
COMMENT ON COLUMN pantau.device_station.valid IS 'When (reading time ts): [from, to), to NULL = still';

CREATE TABLE pantau.gauge_mount (
    station_id text NOT NULL REFERENCES pantau.station ON UPDATE CASCADE,
    valid tstzrange NOT NULL,
    offset_cm double precision NOT NULL CHECK (offset_cm BETWEEN -10000 AND 100000),
    EXCLUDE USING gist (station_id WITH =, valid WITH &&)
);
COMMENT ON TABLE pantau.gauge_mount IS 'A distance sensor''s mounting height over the gauge zero, per period';
COMMENT ON COLUMN pantau.gauge_mount.station_id IS 'The gauge';
COMMENT ON COLUMN pantau.gauge_mount.valid IS 'When it was mounted so: [from, to)';
COMMENT ON COLUMN pantau.gauge_mount.offset_cm IS 'Mounting height over the gauge zero, cm: level_cm = offset_cm - distance_cm';

CREATE TABLE pantau.gauge_threshold (
    station_id text NOT NULL REFERENCES pantau.station ON UPDATE CASCADE,
    quantity text NOT NULL CHECK (quantity IN ('level_cm', 'discharge_m3s')),
    valid tstzrange NOT NULL,
    siaga3_from double precision NOT NULL,
    siaga2_from double precision NOT NULL,
    siaga1_from double precision NOT NULL,
    source text NOT NULL DEFAULT '',
    CHECK (siaga3_from < siaga2_from AND siaga2_from < siaga1_from),
    EXCLUDE USING gist (station_id WITH =, quantity WITH =, valid WITH &&)
);
COMMENT ON TABLE pantau.gauge_threshold IS 'Alert thresholds of a gauge, per period: below siaga3_from is Siaga 4 (normal); Siaga 1 is the highest';
COMMENT ON COLUMN pantau.gauge_threshold.station_id IS 'The gauge';
COMMENT ON COLUMN pantau.gauge_threshold.quantity IS 'What the thresholds apply to: level_cm (cm) or discharge_m3s (m3/s)';
COMMENT ON COLUMN pantau.gauge_threshold.valid IS 'When these thresholds were in force: [from, to)';
COMMENT ON COLUMN pantau.gauge_threshold.siaga3_from IS 'Lowest value that is Siaga 3 (in the unit of quantity)';
COMMENT ON COLUMN pantau.gauge_threshold.siaga2_from IS 'Lowest value that is Siaga 2';
COMMENT ON COLUMN pantau.gauge_threshold.siaga1_from IS 'Lowest value that is Siaga 1 (highest alert)';
COMMENT ON COLUMN pantau.gauge_threshold.source IS 'Where the thresholds come from (agency, decree)';

CREATE FUNCTION pantau.touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
CREATE TRIGGER device_touch BEFORE UPDATE ON pantau.device
    FOR EACH ROW EXECUTE FUNCTION pantau.touch_updated_at();
