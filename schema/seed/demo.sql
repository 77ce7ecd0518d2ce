-- demo.sql -- a small registry for the demo (scripts/demo.sh) and by-hand trials; idempotent.
-- Not applied by migrate.sh: a real deployment enrols its own devices and stations.
-- Ids follow docs/protocol.md's examples, plus simulated gateways and handhelds.
INSERT INTO pantau.device (device_id, kind, description) VALUES
    ('gw-p2c-01', 'flood_gateway', 'P2C confluence gauge gateway'),
    ('gw-bendung-01', 'flood_gateway', 'Bendung Bekasi discharge gateway'),
    ('gw-atcs-kalimalang', 'traffic_gateway', 'ATCS box Kalimalang, two cameras'),
    ('hh-margahayu-07', 'handheld', 'Jumantik handheld, Margahayu'),
    ('gw-sim-flood-01', 'flood_gateway', 'simulated flood gateway'),
    ('gw-sim-flood-02', 'flood_gateway', 'simulated flood gateway'),
    ('gw-sim-flood-03', 'flood_gateway', 'simulated flood gateway'),
    ('gw-sim-traffic-01', 'traffic_gateway', 'simulated camera gateway'),
    ('gw-sim-traffic-02', 'traffic_gateway', 'simulated camera gateway'),
    ('hh-sim-01', 'handheld', 'simulated Jumantik handheld'),
    ('hh-sim-02', 'handheld', 'simulated Jumantik handheld'),
    ('hh-sim-03', 'handheld', 'simulated Jumantik handheld')
ON CONFLICT (device_id) DO NOTHING;

INSERT INTO pantau.station (station_id, kind, name, lat, lon, kelurahan_code, datum,
                            capacity_pcu_h) VALUES
    ('p2c-kali-bekasi', 'flood_gauge', 'Kali Bekasi at P2C', -6.2745, 106.9876,
     '32.75.09.1001', 'gauge_zero', NULL),
    ('bendung-bekasi', 'flood_gauge', 'Bendung Bekasi', -6.2352, 106.9990, '32.75.01.1002',
     'gauge_zero', NULL),
    ('cam-kalimalang-01', 'traffic_camera', 'Kalimalang eastbound', -6.2480, 106.9760,
     '32.75.02.1003', NULL, 2900),
    ('cam-kalimalang-02', 'traffic_camera', 'Kalimalang westbound', -6.2482, 106.9762,
     '32.75.02.1003', NULL, 2900),
    ('sim-gauge-01', 'flood_gauge', 'simulated gauge 1', -6.30, 106.98, '32.75.09.1002', 'gauge_zero', NULL),
    ('sim-gauge-02', 'flood_gauge', 'simulated gauge 2', -6.31, 106.99, '32.75.09.1003', 'gauge_zero', NULL),
    ('sim-gauge-03', 'flood_gauge', 'simulated gauge 3', -6.32, 107.00, '32.75.10.1001', 'gauge_zero', NULL),
    ('sim-cam-01', 'traffic_camera', 'simulated camera 1', -6.24, 107.00, '32.75.01.1001', NULL, 2900),
    ('sim-cam-02', 'traffic_camera', 'simulated camera 2', -6.24, 107.01, '32.75.01.1001', NULL, 2900),
    ('sim-cam-03', 'traffic_camera', 'simulated camera 3', -6.25, 107.02, '32.75.04.1001', NULL, 3300),
    ('sim-cam-04', 'traffic_camera', 'simulated camera 4', -6.25, 107.03, '32.75.04.1001', NULL, 3300)
ON CONFLICT (station_id) DO NOTHING;

INSERT INTO pantau.device_station (device_id, station_id, valid)
SELECT d, s, tstzrange('2020-01-01', NULL)
FROM (VALUES ('gw-p2c-01', 'p2c-kali-bekasi'), ('gw-bendung-01', 'bendung-bekasi'),
             ('gw-atcs-kalimalang', 'cam-kalimalang-01'), ('gw-atcs-kalimalang', 'cam-kalimalang-02'),
             ('gw-sim-flood-01', 'sim-gauge-01'), ('gw-sim-flood-02', 'sim-gauge-02'),
             ('gw-sim-flood-03', 'sim-gauge-03'), ('gw-sim-traffic-01', 'sim-cam-01'),
             ('gw-sim-traffic-01', 'sim-cam-02'), ('gw-sim-traffic-02', 'sim-cam-03'),
             ('gw-sim-traffic-02', 'sim-cam-04')) AS b (d, s)
WHERE NOT EXISTS (SELECT 1 FROM pantau.device_station x WHERE x.device_id = b.d AND x.station_id = b.s);

INSERT INTO pantau.gauge_mount (station_id, valid, offset_cm)
SELECT s, tstzrange('2020-01-01', NULL), o
FROM (VALUES ('p2c-kali-bekasi', 1050.0), ('sim-gauge-01', 800.0), ('sim-gauge-02', 800.0),
             ('sim-gauge-03', 900.0)) AS m (s, o)
WHERE NOT EXISTS (SELECT 1 FROM pantau.gauge_mount x WHERE x.station_id = m.s);

-- Thresholds: the Katulampa table (DKI Dinas PU) stands in for gauges without an official one;
-- Bendung Bekasi by discharge (Siap 200, Siaga 300, Awas 400 m3/s, mapped to Siaga 3/2/1).
INSERT INTO pantau.gauge_threshold (station_id, quantity, valid, siaga3_from, siaga2_from,
                                    siaga1_from, source)
SELECT s, q, tstzrange('2020-01-01', NULL), a, b, c, src
FROM (VALUES ('p2c-kali-bekasi', 'level_cm', 450.0, 550.0, 630.0, 'demo values (no official table found)'),
             ('bendung-bekasi', 'discharge_m3s', 200.0, 300.0, 400.0, 'BBWS, Bendung Bekasi'),
             ('sim-gauge-01', 'level_cm', 81.0, 151.0, 201.0, 'Katulampa table, demo'),
             ('sim-gauge-02', 'level_cm', 81.0, 151.0, 201.0, 'Katulampa table, demo'),
             ('sim-gauge-03', 'level_cm', 81.0, 151.0, 201.0, 'Katulampa table, demo')) AS t (s, q, a, b, c, src)
WHERE NOT EXISTS (SELECT 1 FROM pantau.gauge_threshold x WHERE x.station_id = t.s);

-- Alerts (issue 11): the demo drives sim-gauge-01 through Siaga 3, 2, 1 and back every 8
-- minutes (scripts/demo.sh, the simulator's flood_wave_period). Falling waits 20 s below
-- (threshold - 10 cm) there instead of the default 30 minutes, so that the fall is seen in
-- the demo; every other setting is the default.
INSERT INTO pantau_alert.flood_setting (station_id, valid, fall_dwell, note)
SELECT 'sim-gauge-01', tstzrange('2020-01-01', NULL), interval '20 seconds',
       'demo: a short dwell so that the demo wave falls back within minutes'
WHERE NOT EXISTS (SELECT 1 FROM pantau_alert.flood_setting x WHERE x.station_id = 'sim-gauge-01');
