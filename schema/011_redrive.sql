-- 011_redrive: dead letters whose cause is gone are stored after all (issue 9 items 9 and 13).
--
-- An operator records a request (pantau-admin redrive); a collector claims it, validates each
-- matching dead letter again with the collector's own checks (the registry as it is now,
-- judged at the dead letter's receive time as ingest judges it) and stores those that pass
-- through the same statements as a batch: the facts rows, and the ledger row turned from
-- dead_letter to stored. A later resend of the same (device, store, seq) is then a duplicate
-- of a stored reading, acknowledged as stored. The collector stays the only writer of readings.
--
-- Dead letters of category json, schema or clash are never redriven (their cause is in the
-- message itself), nor those without a key (device, store, seq) or cut at 8192 bytes.
CREATE TABLE pantau_ops.redrive_request (
    id bigserial PRIMARY KEY,
    device_id text,
    category text CHECK (category IN ('json', 'schema', 'topic', 'station', 'identity', 'clash',
                                      'db')),
    since timestamptz,
    until timestamptz,
    dead_letter_id bigint,
    dry_run boolean NOT NULL DEFAULT false,
    requested_at timestamptz NOT NULL DEFAULT now(),
    requested_by text NOT NULL DEFAULT current_user,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done')),
    claimed_by text,
    claimed_at timestamptz,
    finished_at timestamptz,
    examined integer,
    stored integer,
    already_stored integer,
    still_refused integer,
    skipped integer,
    progress bigint,
    result jsonb,
    CHECK (until IS NULL OR since IS NULL OR until > since)
);
CREATE INDEX redrive_request_pending ON pantau_ops.redrive_request (id)
    WHERE state <> 'done';
COMMENT ON TABLE pantau_ops.redrive_request IS 'A request to validate matching dead letters again and store those whose cause is gone (pantau-admin redrive); a collector claims it (state running), does it and writes the counts (state done)';
COMMENT ON COLUMN pantau_ops.redrive_request.id IS 'Row id';
COMMENT ON COLUMN pantau_ops.redrive_request.device_id IS 'Only dead letters of this device (NULL: any)';
COMMENT ON COLUMN pantau_ops.redrive_request.category IS 'Only dead letters of this category (NULL: any)';
COMMENT ON COLUMN pantau_ops.redrive_request.since IS 'Only dead letters received at or after (NULL: any)';
COMMENT ON COLUMN pantau_ops.redrive_request.until IS 'Only dead letters received before (NULL: any)';
COMMENT ON COLUMN pantau_ops.redrive_request.dead_letter_id IS 'Only this dead letter (NULL: any)';
COMMENT ON COLUMN pantau_ops.redrive_request.dry_run IS 'Validate and count only: store nothing';
COMMENT ON COLUMN pantau_ops.redrive_request.requested_at IS 'When it was requested';
COMMENT ON COLUMN pantau_ops.redrive_request.requested_by IS 'The database role that requested it';
COMMENT ON COLUMN pantau_ops.redrive_request.state IS 'pending (no collector has it), running (claimed_by has it; claimed again by another collector when older than two minutes, for a collector that died) or done';
COMMENT ON COLUMN pantau_ops.redrive_request.claimed_by IS 'collector_id of the collector that does it';
COMMENT ON COLUMN pantau_ops.redrive_request.claimed_at IS 'When it was claimed';
COMMENT ON COLUMN pantau_ops.redrive_request.finished_at IS 'When it was done';
COMMENT ON COLUMN pantau_ops.redrive_request.examined IS 'Dead letters validated again';
COMMENT ON COLUMN pantau_ops.redrive_request.stored IS 'Stored now as readings (dry run: would be)';
COMMENT ON COLUMN pantau_ops.redrive_request.already_stored IS 'Found stored already under their key (not stored twice)';
COMMENT ON COLUMN pantau_ops.redrive_request.still_refused IS 'Refused again: they stay dead letters';
COMMENT ON COLUMN pantau_ops.redrive_request.skipped IS 'Matching dead letters not redriven at all: category json, schema or clash, no (device, store, seq), or cut';
COMMENT ON COLUMN pantau_ops.redrive_request.progress IS 'The id of the last dead letter done so far: a collector that takes the request over goes on after it (with the counts and refusals so far)';
COMMENT ON COLUMN pantau_ops.redrive_request.result IS '{"refused": [{"category", "count", "example"}], "skipped": [{"why", "count"}]}: the refusals grouped by category with one message each, and what was skipped and why';

ALTER TABLE pantau_ops.dead_letter ADD COLUMN redriven_at timestamptz;
ALTER TABLE pantau_ops.dead_letter ADD COLUMN redrive_request bigint
    REFERENCES pantau_ops.redrive_request ON DELETE SET NULL;
COMMENT ON COLUMN pantau_ops.dead_letter.redriven_at IS 'When a redrive stored its reading after all (its ledger row then says stored); NULL: still a dead letter';
COMMENT ON COLUMN pantau_ops.dead_letter.redrive_request IS 'The redrive request that stored it';

CREATE OR REPLACE VIEW pantau_ops.dead_letter_list AS
SELECT id,
       received_at,
       (received_at AT TIME ZONE 'Asia/Jakarta') AS received_wib,
       category,
       reason,
       source,
       device_id,
       stream,
       store_id,
       seq,
       coalesce(payload_size, octet_length(payload)) AS payload_size,
       octet_length(payload) AS stored_size,
       coalesce(payload_size, octet_length(payload)) > octet_length(payload) AS cut,
       encode(payload_sha256, 'hex') AS payload_sha256,
       detail,
       collector_id,
       topic,
       redriven_at,
       redrive_request
FROM pantau_ops.dead_letter;
COMMENT ON VIEW pantau_ops.dead_letter_list IS 'Every dead letter without its payload, for operators (pantau-admin dead-list): category, device, time (UTC and WIB), size as sent and as stored, whether it was cut, the whole payload''s SHA-256, and when a redrive stored it after all (redriven_at, redrive_request; NULL: still a dead letter); pantau-admin dead-show ID prints one with its payload';

-- pantau-admin waits for its request; collectors poll for pending ones (and may LISTEN)
CREATE FUNCTION pantau_ops.notify_redrive() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('pantau_redrive', NEW.id::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER redrive_request_notify AFTER INSERT OR UPDATE OF state
    ON pantau_ops.redrive_request FOR EACH ROW EXECUTE FUNCTION pantau_ops.notify_redrive();

-- The collector reads the dead letters it redrives and marks them; it turns a ledger row from
-- dead_letter to stored with the envelope and content of the copy it stores. Still no DELETE.
GRANT SELECT (id, received_at, topic, payload, payload_size, category, device_id, store_id, seq,
              stream, redriven_at),
    UPDATE (redriven_at, redrive_request) ON pantau_ops.dead_letter TO pantau_ingest;
GRANT UPDATE (outcome, ts, clock_synced, replay, boot, mono_ms, content_sha256, stored_at)
    ON pantau.reading_ledger TO pantau_ingest;
GRANT SELECT, UPDATE (state, claimed_by, claimed_at, finished_at, examined, stored,
                      already_stored, still_refused, skipped, progress, result)
    ON pantau_ops.redrive_request TO pantau_ingest;
GRANT ALL ON pantau_ops.redrive_request TO pantau_admin;
GRANT ALL ON SEQUENCE pantau_ops.redrive_request_id_seq TO pantau_admin;
