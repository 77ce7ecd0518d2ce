-- 008_dead_letter_dedup: a dead letter is stored once, however often its message arrives
-- (issue 3 item 3, protocol.md 7.2); ledger rows for readings that went to the dead letters.
--
-- The collector computes dedup_key (SHA-256, see the column comment) and inserts with
-- INSERT ... ORDER BY dedup_key ON CONFLICT (dedup_key) DO NOTHING: that needs only the INSERT
-- privilege pantau_ingest already has, so the role still cannot read, change or delete dead
-- letters. Rows from before this migration keep a NULL key (not deduplicated; a unique index
-- allows any number of NULLs).
ALTER TABLE pantau_ops.dead_letter ADD COLUMN dedup_key bytea
    CHECK (dedup_key IS NULL OR octet_length(dedup_key) = 32);
CREATE UNIQUE INDEX dead_letter_dedup ON pantau_ops.dead_letter (dedup_key);
COMMENT ON COLUMN pantau_ops.dead_letter.dedup_key IS 'SHA-256 that makes a message one dead letter however often it arrives (collector/README.md): where device, store and seq are known, of ''key:<device>/<store>/<seq>:'' and the content hash (the reading''s canonical content_sha256 when it is valid, else SHA-256 of ''body:'' and the payload re-serialised without its replay member), so a clash or other content under the same key is a row of its own; else of ''raw:'', the topic, a NUL and the raw payload bytes. NULL for rows stored before migration 008';

-- A reading whose key is known and whose envelope could be read is settled in the ledger as
-- outcome 'dead_letter' (collector/README.md says which): a resend is then acknowledged from
-- the ledger (as dead), and the gap views do not count it as missing.
COMMENT ON COLUMN pantau.reading_ledger.outcome IS 'stored (in the facts tables) or dead_letter (in pantau_ops.dead_letter: a body that failed validation with a readable envelope, a reading refused by the registry, or a row the database refused; a clash is not here, its key belongs to the reading stored first); content_sha256 is then the canonical content of a valid reading, or SHA-256 of ''body:'' and the payload without its replay member';

CREATE OR REPLACE VIEW pantau_report.device_reading_hour AS
SELECT device_id,
       date_trunc('hour', coalesce(ts_corrected, ts) AT TIME ZONE 'Asia/Jakarta') AS hour_wib,
       count(*) FILTER (WHERE outcome = 'stored') AS readings,
       count(*) FILTER (WHERE replay AND outcome = 'stored') AS replayed,
       count(*) FILTER (WHERE NOT clock_synced AND outcome = 'stored') AS clock_unsynced,
       count(*) FILTER (WHERE outcome = 'dead_letter') AS dead_letters
FROM pantau.reading_ledger
GROUP BY 1, 2;
COMMENT ON VIEW pantau_report.device_reading_hour IS 'Readings stored per device and hour of reading time (WIB), with how many came as replays and with an unsynchronised clock, and how many of its readings went to the dead letters';

-- Time correction (protocol.md 4.1) looks, for each new synchronised reading, for the unsynchronised
-- and not yet corrected readings of its boot: an index of those only, so that a device that is
-- always synchronised costs one empty probe per batch instead of a scan of its boot's history.
CREATE INDEX reading_ledger_uncorrected ON pantau.reading_ledger (device_id, store_id, boot)
    WHERE NOT clock_synced AND ts_corrected IS NULL AND mono_ms IS NOT NULL;
