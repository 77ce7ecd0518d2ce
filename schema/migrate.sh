#!/usr/bin/env bash
# migrate.sh -- bring a PostgreSQL database up to pantau's schema, in place.
#
#   schema/migrate.sh "host=127.0.0.1 port=5432 dbname=pantau user=postgres"
#   PGHOST=... PGDATABASE=... schema/migrate.sh
#
# Applies the numbered migrations schema/NNN_name.sql that the database has not had yet, in
# order, each in its own transaction, and records each in pantau.schema_migration with the
# sha256 of its file. Running it again applies nothing; a migration file changed after it was
# applied is an error that names the file (write a new migration instead). Then it syncs the
# reference data (schema/data/bekasi_wilayah.csv) and makes the month partitions ahead.
# Needs a role that may create schemas, roles and extensions (the database owner or superuser).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
conninfo=${1:-}
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
psql_cmd=(psql -X -q -v ON_ERROR_STOP=1 --no-psqlrc)
[ -n "$conninfo" ] && psql_cmd+=("$conninfo")

run() { "${psql_cmd[@]}" "$@"; }

run -c "CREATE SCHEMA IF NOT EXISTS pantau;
CREATE TABLE IF NOT EXISTS pantau.schema_migration (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    sha256     text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now());
COMMENT ON TABLE pantau.schema_migration IS 'Migrations applied by schema/migrate.sh, one row each';
COMMENT ON COLUMN pantau.schema_migration.version IS 'The number NNN of schema/NNN_name.sql';
COMMENT ON COLUMN pantau.schema_migration.name IS 'The file name';
COMMENT ON COLUMN pantau.schema_migration.sha256 IS 'sha256 of the file as applied (hex)';
COMMENT ON COLUMN pantau.schema_migration.applied_at IS 'When it was applied'" >/dev/null

applied=0
for file in "$here"/[0-9][0-9][0-9]_*.sql; do
    name=$(basename "$file")
    version=$((10#${name%%_*}))
    sum=$(sha256sum "$file" | cut -d' ' -f1)
    have=$(run -t -A -c "SELECT sha256 FROM pantau.schema_migration WHERE version = $version")
    if [ -n "$have" ]; then
        if [ "$have" != "$sum" ]; then
            echo "migrate: $name was changed after it was applied (sha256 $have in the database," \
                 "$sum on disk): write a new migration instead" >&2
            exit 1
        fi
        continue
    fi
    # the file and its record in one transaction: a failed migration leaves no trace
    { cat "$file"
      printf "\nINSERT INTO pantau.schema_migration (version, name, sha256) VALUES (%d, '%s', '%s');\n" \
          "$version" "$name" "$sum"
    } | run --single-transaction -f - >/dev/null || { echo "migrate: $name failed" >&2; exit 1; }
    echo "migrate: applied $name"
    applied=$((applied + 1))
done

# Reference data: upserted every time, so a corrected data file reaches every database.
(cd "$here" && run --single-transaction >/dev/null) <<'SQL'
CREATE TEMP TABLE wilayah_in (code text, name text, level text) ON COMMIT DROP;
\copy wilayah_in FROM 'data/bekasi_wilayah.csv' WITH (FORMAT csv, HEADER true)
INSERT INTO pantau.kecamatan (code, name)
    SELECT code, name FROM wilayah_in WHERE level = 'kecamatan'
    ON CONFLICT (code) DO UPDATE SET name = excluded.name;
INSERT INTO pantau.kelurahan (code, name, kecamatan_code)
    SELECT code, name, substr(code, 1, 8) FROM wilayah_in WHERE level = 'kelurahan'
    ON CONFLICT (code) DO UPDATE SET name = excluded.name, kecamatan_code = excluded.kecamatan_code;
SQL
run -c "SELECT pantau.ensure_partitions(12, 3)" >/dev/null
echo "migrate: up to date ($applied applied)"
