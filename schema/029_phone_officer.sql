-- 029_phone_officer: which officers a Jumantik officer's phone may carry (issue 13; protocol.md
-- 4.5 and 13, app/README.md "Signing in").
--
-- A device enrolled with `pantau-admin enrol-phone ... --officer ID` is a phone (pantau.phone)
-- and lists its officers (pantau.phone_officer: accounts of role officer). The collector stores a
-- larva inspection from a phone only if its `inspector` is an enabled officer account on that
-- phone's list (pantau.phone_officer_allowed); any other is a dead letter (reason registry,
-- category identity). A device that is not a phone (a gateway's `pantau-agent report`) is not
-- checked: its `inspector` is what the device said.

CREATE TABLE pantau.phone (
    device_id text PRIMARY KEY REFERENCES pantau.device ON UPDATE CASCADE ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE pantau.phone IS 'A device enrolled as an officer''s phone (pantau-admin enrol-phone): its larva inspections are stored only for the officers of pantau.phone_officer';
COMMENT ON COLUMN pantau.phone.device_id IS 'The phone (a handheld device)';
COMMENT ON COLUMN pantau.phone.created_at IS 'When it was enrolled';

CREATE TABLE pantau.phone_officer (
    device_id text NOT NULL REFERENCES pantau.phone ON UPDATE CASCADE ON DELETE CASCADE,
    officer text NOT NULL REFERENCES pantau_ops.account ON UPDATE CASCADE ON DELETE CASCADE,
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (device_id, officer)
);
COMMENT ON TABLE pantau.phone_officer IS 'The officers a phone may carry: an inspection whose inspector is not here (or whose account is disabled or not of role officer) is a dead letter';
COMMENT ON COLUMN pantau.phone_officer.device_id IS 'The phone';
COMMENT ON COLUMN pantau.phone_officer.officer IS 'The officer''s account (role officer), the inspector of her reports';
COMMENT ON COLUMN pantau.phone_officer.added_at IS 'When the officer was put on the phone';

CREATE VIEW pantau.phone_officer_allowed AS
SELECT po.device_id, po.officer
FROM pantau.phone_officer po
JOIN pantau_ops.account a ON a.username = po.officer
WHERE a.role = 'officer' AND a.enabled;
COMMENT ON VIEW pantau.phone_officer_allowed IS 'The (phone, officer) pairs the collector accepts: enabled accounts of role officer (without their secrets)';
COMMENT ON COLUMN pantau.phone_officer_allowed.device_id IS 'The phone';
COMMENT ON COLUMN pantau.phone_officer_allowed.officer IS 'An officer it may carry';

GRANT SELECT ON pantau.phone, pantau.phone_officer_allowed TO pantau_ingest;
GRANT SELECT ON pantau.phone, pantau.phone_officer, pantau.phone_officer_allowed TO pantau_analyst;
GRANT ALL ON pantau.phone, pantau.phone_officer, pantau.phone_officer_allowed TO pantau_admin;
