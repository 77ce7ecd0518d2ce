-- 002_reference: the administrative regions of Kota Bekasi (Kemendagri codes; rows are loaded
-- from schema/data/bekasi_wilayah.csv by migrate.sh, never typed in) and Puskesmas catchments,
-- which are a dimension of their own (they do not follow kecamatan borders).
CREATE TABLE pantau.kecamatan (
    code text PRIMARY KEY CHECK (code ~ '^32\.75\.[0-9]{2}$'),
    name text NOT NULL
);
COMMENT ON TABLE pantau.kecamatan IS 'A kecamatan (district) of Kota Bekasi (32.75), Kemendagri code';
COMMENT ON COLUMN pantau.kecamatan.code IS 'Kemendagri code, e.g. 32.75.01';
COMMENT ON COLUMN pantau.kecamatan.name IS 'Name, e.g. Bekasi Timur';

CREATE TABLE pantau.kelurahan (
    code text PRIMARY KEY CHECK (code ~ '^32\.75\.[0-9]{2}\.[0-9]{4}$'),
    name text NOT NULL,
    kecamatan_code text NOT NULL REFERENCES pantau.kecamatan (code)
);
COMMENT ON TABLE pantau.kelurahan IS 'A kelurahan of Kota Bekasi, Kemendagri code (the suffixes have gaps)';
COMMENT ON COLUMN pantau.kelurahan.code IS 'Kemendagri code, e.g. 32.75.01.1002';
COMMENT ON COLUMN pantau.kelurahan.name IS 'Name, e.g. Margahayu';
COMMENT ON COLUMN pantau.kelurahan.kecamatan_code IS 'The kecamatan it belongs to';

CREATE TABLE pantau.puskesmas (
    puskesmas_id text PRIMARY KEY CHECK (puskesmas_id ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    name text NOT NULL
);
COMMENT ON TABLE pantau.puskesmas IS 'A Puskesmas (community health centre); health reporting runs through their catchments';
COMMENT ON COLUMN pantau.puskesmas.puskesmas_id IS 'pantau id of the Puskesmas';
COMMENT ON COLUMN pantau.puskesmas.name IS 'Name';

CREATE TABLE pantau.puskesmas_area (
    puskesmas_id text NOT NULL REFERENCES pantau.puskesmas,
    kelurahan_code text NOT NULL REFERENCES pantau.kelurahan (code),
    rw integer CHECK (rw BETWEEN 1 AND 999),
    UNIQUE NULLS NOT DISTINCT (kelurahan_code, rw)
);
COMMENT ON TABLE pantau.puskesmas_area IS 'Catchment: which Puskesmas serves a kelurahan, or one RW of it';
COMMENT ON COLUMN pantau.puskesmas_area.puskesmas_id IS 'The Puskesmas';
COMMENT ON COLUMN pantau.puskesmas_area.kelurahan_code IS 'The kelurahan served';
COMMENT ON COLUMN pantau.puskesmas_area.rw IS 'One RW of it, or NULL for the whole kelurahan';
