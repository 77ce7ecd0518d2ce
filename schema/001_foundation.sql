-- 001_foundation: schemas, extensions and the group roles every later migration grants to.
--
-- pantau         reference data, registry, reading ledger, facts without personal data
-- pantau_pii     Jumantik inspections: addresses, GPS and inspectors are personal data under
--                UU PDP 27/2022; only pantau_health (and admin) read them
-- pantau_ops     dead letters and credentials: administrators only
-- pantau_report  views for analysts: aggregates, no personal data
--
-- Roles are NOLOGIN groups (cluster-wide, so made only if missing); login users are granted
-- into them by the operator: pantau_ingest (the collector), pantau_broker (the broker plugins),
-- pantau_analyst, pantau_health (analyst + personal data), pantau_admin.
CREATE EXTENSION IF NOT EXISTS btree_gist;   -- EXCLUDE constraints on (id, validity range)

CREATE SCHEMA IF NOT EXISTS pantau_pii;
CREATE SCHEMA IF NOT EXISTS pantau_ops;
CREATE SCHEMA IF NOT EXISTS pantau_report;
COMMENT ON SCHEMA pantau IS 'pantau: reference data, device registry, reading ledger, facts';
COMMENT ON SCHEMA pantau_pii IS 'Personal data (UU PDP 27/2022): larva inspections; pantau_health only';
COMMENT ON SCHEMA pantau_ops IS 'Dead letters and credentials; pantau_admin only';
COMMENT ON SCHEMA pantau_report IS 'Views for analysts: aggregates without personal data';

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['pantau_ingest', 'pantau_broker', 'pantau_analyst',
                             'pantau_health', 'pantau_admin'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
$$;
GRANT pantau_analyst TO pantau_health;
REVOKE ALL ON SCHEMA pantau_pii, pantau_ops FROM PUBLIC;
