-- 010_dead_letter_ops: dead letters an operator can use (issue 9 item 13, protocol.md 7.2).
--
-- A dead letter gets its category from a closed set (the reason column keeps the finer code the
-- collector wrote, such as 'rejected' or 'registry'), the size and SHA-256 of its payload as the
-- device sent it (the broker cuts a payload at 8192 bytes but sends the whole one's size and hash
-- with it), and two views for operators. pantau-admin's dead-list and dead-show read them.
--
-- The category of a row inserted without one is derived from its reason and detail by
-- pantau_ops.dead_letter_category(), the same function that fills the rows stored before this
-- migration: one mapping, not two.

CREATE FUNCTION pantau_ops.dead_letter_category(reason text, detail text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN reason IN ('json', 'schema', 'topic', 'station', 'identity', 'clash', 'db')
            THEN reason
        WHEN reason = 'invalid' THEN 'schema'
        WHEN reason = 'registry' THEN CASE
            WHEN detail LIKE 'station %' THEN 'station'
            WHEN detail LIKE '% may not publish %' THEN 'topic'
            ELSE 'identity' END
        WHEN reason = 'rejected' THEN CASE
            WHEN detail LIKE 'refused by the broker: station%' THEN 'station'
            WHEN detail ~ '(JSON|exceeds 8192|too deep|nest|payload cut to)' THEN 'json'
            ELSE 'schema' END
    END
$$;
COMMENT ON FUNCTION pantau_ops.dead_letter_category(text, text) IS 'The category of a dead letter stored without one, from its reason and detail (rows from before migration 010, and inserts that name no category); NULL for a reason it does not know, which the NOT NULL of dead_letter.category then refuses';

ALTER TABLE pantau_ops.dead_letter ADD COLUMN category text
    CHECK (category IN ('json', 'schema', 'topic', 'station', 'identity', 'clash', 'db'));
ALTER TABLE pantau_ops.dead_letter ADD COLUMN payload_sha256 bytea
    CHECK (payload_sha256 IS NULL OR octet_length(payload_sha256) = 32);

UPDATE pantau_ops.dead_letter
SET category = pantau_ops.dead_letter_category(reason, detail),
    payload_sha256 = CASE WHEN payload_size IS NULL OR payload_size = octet_length(payload)
                          THEN sha256(payload) END;
UPDATE pantau_ops.dead_letter SET category = 'schema' WHERE category IS NULL;
ALTER TABLE pantau_ops.dead_letter ALTER COLUMN category SET NOT NULL;

CREATE FUNCTION pantau_ops.dead_letter_fill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.category IS NULL THEN
        NEW.category := pantau_ops.dead_letter_category(NEW.reason, NEW.detail);
    END IF;
    IF NEW.payload_size IS NULL THEN
        NEW.payload_size := octet_length(NEW.payload);
    END IF;
    IF NEW.payload_sha256 IS NULL AND NEW.payload_size = octet_length(NEW.payload) THEN
        NEW.payload_sha256 := sha256(NEW.payload);
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION pantau_ops.dead_letter_fill() IS 'Fills what an insert into dead_letter left out: category (dead_letter_category), payload_size (the bytes given) and payload_sha256 (when the payload is whole)';
CREATE TRIGGER dead_letter_fill BEFORE INSERT ON pantau_ops.dead_letter
    FOR EACH ROW EXECUTE FUNCTION pantau_ops.dead_letter_fill();

COMMENT ON COLUMN pantau_ops.dead_letter.category IS 'Why, as a closed set (protocol.md 7.2): json (not I-JSON, larger than 8192 bytes or nested too deep), schema (JSON that breaks the contract of sections 4 and 5), topic (a topic outside section 3, or a stream the device''s kind may not publish), station (a station not bound to the device at the reading''s time), identity (a device unknown to the registry or disabled, or a topic of another device), clash (other content under a (device, store, seq) already stored), db (a row the database itself refused). A rate-limited message is never a dead letter (the device sends it again)';
COMMENT ON COLUMN pantau_ops.dead_letter.reason IS 'The code the collector gave: topic, json, schema, station, registry (refused by the collector''s copy of the registry), rejected (refused by the broker, protocol.md 7.2), clash, db; category is the closed set to filter on';
COMMENT ON COLUMN pantau_ops.dead_letter.payload IS 'The raw payload bytes, at most the first 8192 (a larger payload is cut: payload_size and payload_sha256 describe the whole)';
COMMENT ON COLUMN pantau_ops.dead_letter.payload_size IS 'Size of the payload as the device sent it, bytes: larger than octet_length(payload) when it was cut at 8192 bytes (for rows stored before migration 010 it may be the size after the cut)';
COMMENT ON COLUMN pantau_ops.dead_letter.payload_sha256 IS 'SHA-256 of the whole payload as the device sent it (for a cut payload, the hash the broker computed before the cut); NULL when that is not known (a payload cut before migration 010, or cut by a collector without the broker''s hash)';

CREATE INDEX dead_letter_device_time ON pantau_ops.dead_letter (device_id, received_at);
CREATE INDEX dead_letter_category_time ON pantau_ops.dead_letter (category, received_at);

CREATE VIEW pantau_ops.dead_letter_list AS
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
       topic
FROM pantau_ops.dead_letter;
COMMENT ON VIEW pantau_ops.dead_letter_list IS 'Every dead letter without its payload, for operators (pantau-admin dead-list): category, device, time (UTC and WIB), size as sent and as stored, whether it was cut, the whole payload''s SHA-256; pantau-admin dead-show ID prints one with its payload';

CREATE VIEW pantau_ops.dead_letter_recent AS
SELECT device_id,
       category,
       count(*) AS dead_letters,
       min(received_at) AS first_at,
       max(received_at) AS last_at,
       max(coalesce(payload_size, octet_length(payload))) AS largest_size
FROM pantau_ops.dead_letter
WHERE received_at > now() - interval '24 hours'
GROUP BY device_id, category;
COMMENT ON VIEW pantau_ops.dead_letter_recent IS 'Dead letters of the last 24 hours per device (NULL: not known) and category: how many, first and last, the largest payload as sent; a device that suddenly has many is worth a look';

GRANT SELECT ON pantau_ops.dead_letter_list, pantau_ops.dead_letter_recent TO pantau_admin;
