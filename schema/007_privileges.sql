-- 007_privileges: what each role may do.
--   pantau_ingest   the collector: inserts readings, ledger rows, dead letters; updates only the
--                   current-state tables; reads the registry and ledger; no DELETE anywhere
--   pantau_broker   the broker plugins: read credentials and the registry, nothing else
--   pantau_analyst  read pantau_report and the non-personal tables of pantau
--   pantau_health   analyst + the personal data of pantau_pii
--   pantau_admin    everything
GRANT USAGE ON SCHEMA pantau TO pantau_ingest, pantau_broker, pantau_analyst, pantau_admin;
GRANT USAGE ON SCHEMA pantau_report TO pantau_analyst, pantau_admin;
GRANT USAGE ON SCHEMA pantau_pii TO pantau_ingest, pantau_health, pantau_admin;
GRANT USAGE ON SCHEMA pantau_ops TO pantau_ingest, pantau_broker, pantau_admin;

GRANT SELECT ON pantau.device, pantau.station, pantau.device_station, pantau.gauge_mount,
    pantau.gauge_threshold, pantau.kelurahan, pantau.kecamatan TO pantau_ingest;
GRANT SELECT, INSERT ON pantau.reading_ledger, pantau.dropped_range, pantau.flood_reading,
    pantau.traffic_count, pantau.incident_update, pantau.larva_container,
    pantau.device_status_history TO pantau_ingest;
GRANT UPDATE (ts_corrected) ON pantau.reading_ledger TO pantau_ingest;
GRANT SELECT, INSERT, UPDATE ON pantau.incident, pantau.device_status TO pantau_ingest;
GRANT INSERT ON pantau_pii.larva_inspection TO pantau_ingest;
GRANT INSERT ON pantau_ops.dead_letter TO pantau_ingest;
GRANT USAGE ON SEQUENCE pantau_ops.dead_letter_id_seq TO pantau_ingest;
-- ensure_partitions runs as its owner (SECURITY DEFINER): the collector may make partitions
-- without owning the tables.
REVOKE EXECUTE ON FUNCTION pantau.ensure_partitions(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pantau.ensure_partitions(integer, integer) TO pantau_ingest;

GRANT SELECT ON pantau_ops.account, pantau.device, pantau.device_station TO pantau_broker;

GRANT SELECT ON ALL TABLES IN SCHEMA pantau TO pantau_analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA pantau_report TO pantau_analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA pantau_pii TO pantau_health;

GRANT ALL ON ALL TABLES IN SCHEMA pantau, pantau_pii, pantau_ops, pantau_report TO pantau_admin;
GRANT ALL ON ALL SEQUENCES IN SCHEMA pantau_ops TO pantau_admin;

-- The partitions made later by ensure_partitions inherit nothing: access goes through the
-- partitioned parent, which is what the grants above cover.
DO $$
BEGIN
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO pantau_ingest', current_database());
END
$$;
