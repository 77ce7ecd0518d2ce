-- 025_device_cert: the certificates pantau-admin issues from the project's CA (issue 14, item 2).
--
-- The CA's key stays in the administrator's CA folder (pantau-admin ca-init); this table is the
-- record of what was issued from it and what was revoked, from which pantau-admin writes the
-- certificate revocation list (CRL) that the broker's certificate listener loads (`crlfile`,
-- deploy/mosquitto.conf): a revoked certificate then fails the TLS handshake, before MQTT.
-- docs/operations.md "Device certificates".

CREATE TABLE pantau_ops.device_cert (
    serial text PRIMARY KEY CHECK (serial ~ '^[0-9A-F]{2,64}$'),
    ca_sha256 text NOT NULL CHECK (ca_sha256 ~ '^[0-9a-f]{64}$'),
    kind text NOT NULL CHECK (kind IN ('device', 'server')),
    device_id text REFERENCES pantau.device ON UPDATE CASCADE ON DELETE RESTRICT,
    common_name text NOT NULL,
    sha256 text NOT NULL UNIQUE CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    not_before timestamptz NOT NULL,
    not_after timestamptz NOT NULL,
    issued_at timestamptz NOT NULL DEFAULT now(),
    issued_by text NOT NULL DEFAULT current_user,
    revoked_at timestamptz,
    revoked_by text,
    revoked_reason text,
    CHECK ((kind = 'device') = (device_id IS NOT NULL)),
    CHECK (kind <> 'device' OR common_name = device_id),
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);
CREATE INDEX device_cert_device ON pantau_ops.device_cert (device_id);
CREATE INDEX device_cert_revoked ON pantau_ops.device_cert (ca_sha256) WHERE revoked_at IS NOT NULL;
COMMENT ON TABLE pantau_ops.device_cert IS 'Certificates issued by pantau-admin from the project CA, and their revocation (the CRL is made from it)';
COMMENT ON COLUMN pantau_ops.device_cert.serial IS 'The certificate''s serial number, upper-case hex';
COMMENT ON COLUMN pantau_ops.device_cert.ca_sha256 IS 'SHA-256 of the issuing CA certificate (DER), lower-case hex: which CA''s CRL lists it';
COMMENT ON COLUMN pantau_ops.device_cert.kind IS 'device (a client certificate whose CN is the device id) or server (the broker''s)';
COMMENT ON COLUMN pantau_ops.device_cert.device_id IS 'For a device certificate: the device';
COMMENT ON COLUMN pantau_ops.device_cert.common_name IS 'The subject CN (a device''s id; a server''s host name)';
COMMENT ON COLUMN pantau_ops.device_cert.sha256 IS 'SHA-256 of the certificate (DER), lower-case hex';
COMMENT ON COLUMN pantau_ops.device_cert.not_before IS 'Valid from';
COMMENT ON COLUMN pantau_ops.device_cert.not_after IS 'Valid until';
COMMENT ON COLUMN pantau_ops.device_cert.issued_at IS 'When pantau-admin issued it';
COMMENT ON COLUMN pantau_ops.device_cert.issued_by IS 'The database role that issued it';
COMMENT ON COLUMN pantau_ops.device_cert.revoked_at IS 'When it was revoked (NULL: it is not)';
COMMENT ON COLUMN pantau_ops.device_cert.revoked_by IS 'The database role that revoked it';
COMMENT ON COLUMN pantau_ops.device_cert.revoked_reason IS 'Why, in the administrator''s words';

GRANT SELECT, INSERT, UPDATE ON pantau_ops.device_cert TO pantau_admin;
