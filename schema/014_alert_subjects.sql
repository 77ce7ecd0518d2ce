-- 014_alert_subjects: what an alert can be about, beyond a gauge (issue 11, docs/alerts.md).
--
-- 013 made alerts of the flood rules, whose subject is always a gauge. The larva, traffic and
-- system rules raise alerts about other things: an inspection (a house, by RT/RW), a
-- kelurahan-week, an RW, a camera's incident, a gateway, the pipe itself. Every alert now has
-- one SUBJECT, made from what it is about (a generated column, so no rule can spell it
-- differently), and the key that makes a second raise impossible is
-- (subject, kind, rise_window, condition_time): one change per subject, rule and time.
--
--   station_id  a gauge or a camera            subject 'station:<id>'
--   device_id   a gateway or a handheld        subject 'device:<id>'
--   area_code   a kelurahan (or kecamatan) code, with rw for an RW
--                                              subject 'area:<code>' or 'area:<code>/rw<n>'
--   ref         what the rule names inside its subject: an incident's event_id, an
--               inspection's key, an ISO week ('2026-W49'); appended as '#<ref>'
--   none        the pipe itself (a collector, the database): subject 'pantau'
--
-- Routing (by kind and area) reads area_code, or the station's kelurahan when it is NULL.

ALTER TABLE pantau_alert.alert DROP CONSTRAINT alert_kind_check;
ALTER TABLE pantau_alert.alert ADD CONSTRAINT alert_kind_check CHECK (kind IN (
    'flood_level', 'flood_rise', 'flood_silent',
    'larva_positive', 'larva_abj', 'larva_house_index',
    'traffic_incident', 'traffic_congestion',
    'system_gateway_offline', 'system_backlog', 'system_service_down', 'system_dead_letters'));

-- 013's check tied `level` to flood_level alone; a silent gauge carries its last level too.
ALTER TABLE pantau_alert.alert DROP CONSTRAINT alert_check;
ALTER TABLE pantau_alert.alert ADD CONSTRAINT alert_flood_level_shape
    CHECK (kind <> 'flood_level' OR (level IS NOT NULL AND rise_window IS NULL));
ALTER TABLE pantau_alert.alert ADD CONSTRAINT alert_flood_rise_shape
    CHECK (kind <> 'flood_rise' OR rise_window IS NOT NULL);
ALTER TABLE pantau_alert.alert ADD CONSTRAINT alert_rise_window_only_rise
    CHECK (kind = 'flood_rise' OR rise_window IS NULL);

ALTER TABLE pantau_alert.alert ALTER COLUMN station_id DROP NOT NULL;
ALTER TABLE pantau_alert.alert
    ADD COLUMN device_id text,
    ADD COLUMN area_code text,
    ADD COLUMN rw smallint CHECK (rw BETWEEN 1 AND 999),
    ADD COLUMN ref text,
    ADD CONSTRAINT alert_rw_in_area CHECK (rw IS NULL OR area_code IS NOT NULL),
    ADD CONSTRAINT alert_flood_has_station
        CHECK (kind NOT LIKE 'flood\_%' OR station_id IS NOT NULL);
ALTER TABLE pantau_alert.alert ADD COLUMN subject text NOT NULL GENERATED ALWAYS AS (
    CASE
        WHEN station_id IS NOT NULL THEN 'station:' || station_id
        WHEN device_id IS NOT NULL THEN 'device:' || device_id
        WHEN area_code IS NOT NULL THEN 'area:' || area_code || COALESCE('/rw' || rw::text, '')
        ELSE 'pantau'
    END || COALESCE('#' || ref, '')) STORED;

ALTER TABLE pantau_alert.alert
    DROP CONSTRAINT alert_station_id_kind_rise_window_condition_time_key;
ALTER TABLE pantau_alert.alert ADD CONSTRAINT alert_one_per_change
    UNIQUE NULLS NOT DISTINCT (subject, kind, rise_window, condition_time);
CREATE INDEX alert_open_subject ON pantau_alert.alert (subject, kind) WHERE state <> 'resolved';

COMMENT ON TABLE pantau_alert.alert IS 'One alert per real change (docs/alerts.md). Unique (subject, kind, rise_window, condition_time): one change per subject, rule and triggering best time, however often it is evaluated';
COMMENT ON COLUMN pantau_alert.alert.kind IS 'The rule: flood_level, flood_rise, flood_silent; larva_positive, larva_abj, larva_house_index; traffic_incident, traffic_congestion; system_gateway_offline, system_backlog, system_service_down, system_dead_letters';
COMMENT ON COLUMN pantau_alert.alert.station_id IS 'Subject: the gauge or camera (NULL when the alert is about something else)';
COMMENT ON COLUMN pantau_alert.alert.device_id IS 'Subject: the gateway or handheld (system alerts about one device)';
COMMENT ON COLUMN pantau_alert.alert.area_code IS 'Subject or place: a kelurahan (or kecamatan) code of pantau.kelurahan / pantau.kecamatan; routing uses it, else the station''s kelurahan';
COMMENT ON COLUMN pantau_alert.alert.rw IS 'Subject: the RW within area_code (larva_house_index; larva_positive carries the inspection''s RW)';
COMMENT ON COLUMN pantau_alert.alert.ref IS 'What the rule names within its subject: an incident''s event_id, an inspection''s key device/store/seq, an ISO week';
COMMENT ON COLUMN pantau_alert.alert.subject IS 'What the alert is about, one text made from station_id, device_id, area_code/rw and ref (generated): station:<id>, device:<id>, area:<code>[/rw<n>], pantau; then #<ref>';
