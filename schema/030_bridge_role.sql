-- 030: the bridge role (issue 15, "Brokers per district"). A district's edge broker (mosquitto
-- with pantau_broker.so, deploy/mosquitto-edge.conf) bridges to the central broker and logs in
-- there with an account of role bridge: it may publish the reading streams and status of
-- registered, enabled devices (each checked as the device itself would be) and the edge
-- plugin's pantau/v1/_sys/rejected, and read acknowledgements and the collectors' health
-- (protocol.md 7.1, broker-plugins/README.md "Bridges"). A password account, like a collector's.
ALTER TABLE pantau_ops.account DROP CONSTRAINT account_role_check;
ALTER TABLE pantau_ops.account ADD CONSTRAINT account_role_check
    CHECK (role IN ('device', 'collector', 'dashboard', 'admin', 'officer', 'unit', 'viewer',
                    'bridge'));
COMMENT ON COLUMN pantau_ops.account.role IS 'device, collector, dashboard, admin, officer, unit, viewer (the console''s read-only account) or bridge (a district''s edge broker)';
