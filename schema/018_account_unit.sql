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
