-- 028_restore: the point-in-time restores of this database (issue 14 item 4).
--
-- scripts/pantau-backup.sh restore writes one row once the restored cluster takes writes: the
-- point it was restored to and the timeline the restore began. A restore always begins a new
-- timeline, higher than every timeline in the archive, so `epoch` (the timeline) grows with
-- every restore, also with a restore to a time before an earlier restore (whose row is then not
-- in the restored database, but whose timeline is still in the archive's history).
--
-- What was committed after `target` and before the cluster was lost is not in the database.
-- The devices hold no copy of what was acknowledged meanwhile; protocol.md 6.3 is how the
-- collector announces a row of this table and the devices send again what they kept.

CREATE TABLE pantau_ops.restore (
    epoch bigint PRIMARY KEY CHECK (epoch >= 1),
    target timestamptz NOT NULL,
    restored_at timestamptz NOT NULL DEFAULT now(),
    CHECK (restored_at >= target)
);
COMMENT ON TABLE pantau_ops.restore IS 'One row per point-in-time restore of this database (scripts/pantau-backup.sh restore; protocol.md 6.3)';
COMMENT ON COLUMN pantau_ops.restore.epoch IS 'The timeline the restore began: higher for every later restore';
COMMENT ON COLUMN pantau_ops.restore.target IS 'The point restored to: every transaction committed at or before it is here, none after';
COMMENT ON COLUMN pantau_ops.restore.restored_at IS 'When the restored database took writes again';

-- The newest restore, for the collector's announcement (protocol.md 6.3).
CREATE VIEW pantau_ops.restore_latest AS
    SELECT epoch, target, restored_at FROM pantau_ops.restore ORDER BY epoch DESC LIMIT 1;
COMMENT ON VIEW pantau_ops.restore_latest IS 'The newest restore (the highest epoch), or no row if the database was never restored';
COMMENT ON COLUMN pantau_ops.restore_latest.epoch IS 'The restore''s timeline (pantau_ops.restore.epoch)';
COMMENT ON COLUMN pantau_ops.restore_latest.target IS 'The point restored to';
COMMENT ON COLUMN pantau_ops.restore_latest.restored_at IS 'When the restored database took writes again';

GRANT SELECT ON pantau_ops.restore, pantau_ops.restore_latest TO pantau_ingest, pantau_admin;
