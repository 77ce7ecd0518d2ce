"""The PostgreSQL schema (schema/*.sql through schema/migrate.sh) against a real PostgreSQL 15:
migrations, reference data, the ledger, partitions, current-state ordering, retention, roles,
comments, and the analysts' views on small hand-made data with hand-computed answers."""
import os
import shutil
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import pantau_harness as h  # noqa: E402
import psycopg2  # noqa: E402

SCHEMA = os.path.join(h.SOURCE_DIR, "schema")
PG, DSN = h.fresh_database("schema")
STORE = str(uuid.UUID(int=1))


def sql(query, *args, dsn=DSN, role=None):
    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            if role:
                cur.execute("SET ROLE " + role)
            cur.execute(query, args or None)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


def migrate(dsn, folder=SCHEMA):
    return subprocess.run(["bash", os.path.join(folder, "migrate.sh"), dsn],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def ledger(device, seq, stream="flood", ts="2026-02-11T03:00:00Z", synced=True, boot=None,
           mono=None, store=STORE):
    sql("INSERT INTO pantau.reading_ledger (device_id, store_id, seq, stream, ts, clock_synced,"
        " replay, boot, mono_ms, content_sha256, received_at) VALUES"
        " (%s, %s, %s, %s, %s, %s, false, %s, %s, sha256(%s::bytea), now())",
        device, store, seq, stream, ts, synced, boot, mono, str(seq).encode())


def test_migrate_twice_applies_nothing_the_second_time():
    r = migrate(DSN)
    assert r.returncode == 0, r.stdout
    assert "(0 applied)" in r.stdout and "migrate: applied" not in r.stdout, r.stdout
    versions = [v for (v,) in sql("SELECT version FROM pantau.schema_migration ORDER BY 1")]
    files = sorted(f for f in os.listdir(SCHEMA) if f[:3].isdigit() and f.endswith(".sql"))
    assert versions == [int(f[:3]) for f in files], (versions, files)


def test_upgrade_in_place_and_changed_migration_is_refused():
    work = h.workdir("schema-upgrade")
    folder = os.path.join(work, "schema")
    shutil.copytree(SCHEMA, folder)
    files = sorted(f for f in os.listdir(folder) if f[:3].isdigit() and f.endswith(".sql"))
    held = os.path.join(work, files[-1])
    shutil.move(os.path.join(folder, files[-1]), held)
    dsn = PG.create_database("schema_upgrade")
    try:
        r = migrate(dsn, folder)
        assert r.returncode == 0 and "applied %s" % files[-2] in r.stdout, r.stdout
        shutil.move(held, os.path.join(folder, files[-1]))
        r = migrate(dsn, folder)
        assert r.returncode == 0 and "(1 applied)" in r.stdout, r.stdout
        with open(os.path.join(folder, files[0]), "a") as f:
            f.write("\n-- edited after it was applied\n")
        r = migrate(dsn, folder)
        assert r.returncode != 0 and files[0] in r.stdout and "changed" in r.stdout, r.stdout
    finally:
        PG.drop_database("schema_upgrade")


def test_reference_data_has_12_kecamatan_and_56_kelurahan():
    assert sql("SELECT count(*) FROM pantau.kecamatan") == [(12,)]
    assert sql("SELECT count(*) FROM pantau.kelurahan") == [(56,)]
    assert sql("SELECT name FROM pantau.kelurahan WHERE code = '32.75.01.1002'") == [
        ("Margahayu",)]
    # the gaps are real: Bantargebang has no 1001
    assert sql("SELECT count(*) FROM pantau.kelurahan WHERE code = '32.75.07.1001'") == [(0,)]


def test_ledger_refuses_a_reading_stored_twice():
    ledger("gw-ledger", 1)
    try:
        ledger("gw-ledger", 1)
    except psycopg2.errors.UniqueViolation:
        pass
    else:
        raise AssertionError("the ledger took the same (device, store, seq) twice")
    rows = sql("INSERT INTO pantau.reading_ledger (device_id, store_id, seq, stream, ts,"
               " clock_synced, replay, content_sha256, received_at) VALUES ('gw-ledger', %s,"
               " 1, 'flood', now(), true, true, sha256('x'), now()) ON CONFLICT DO NOTHING"
               " RETURNING seq", STORE)
    assert rows == [], rows


def insert_flood(station, ts, device="gw-part", seq=1, level=100.0, distance=None,
                 offset=None):
    ledger(device, seq, ts=ts)
    sql("INSERT INTO pantau.flood_reading (device_id, store_id, seq, station_id, ts, level_cm,"
        " distance_cm, offset_cm) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        device, STORE, seq, station, ts, level, distance, offset)


def partition_of(table, device, seq):
    return sql("SELECT tableoid::regclass::text FROM %s WHERE device_id = %%s AND seq = %%s"
               % table, device, seq)[0][0]


def test_any_timestamp_lands_somewhere_and_strays_move_out_of_default():
    insert_flood("st-x", "1970-01-01T00:04:31Z", seq=1)
    insert_flood("st-x", "2099-12-31T23:59:59Z", seq=2)
    insert_flood("st-x", "2026-11-24T00:00:00Z", seq=3)
    assert partition_of("pantau.flood_reading", "gw-part", 1) == "pantau.flood_reading_default"
    assert partition_of("pantau.flood_reading", "gw-part", 2) == "pantau.flood_reading_default"
    # a month far ahead: in the default until ensure_partitions makes its partition
    far = sql("SELECT to_char(date_trunc('month', now()) + interval '8 months', 'YYYY-MM')")[0][0]
    insert_flood("st-x", far + "-15T12:00:00Z", seq=4)
    assert partition_of("pantau.flood_reading", "gw-part", 4) == "pantau.flood_reading_default"
    made = sql("SELECT pantau.ensure_partitions(0, 9)")[0][0]
    assert made >= 5, made          # months 4..9 ahead for each table
    want = "pantau.flood_reading_y%sm%s" % (far[:4], far[5:])
    assert partition_of("pantau.flood_reading", "gw-part", 4) == want
    assert sql("SELECT count(*) FROM pantau.flood_reading") == [(4,)]
    assert sql("SELECT pantau.ensure_partitions(0, 9)") == [(0,)]     # idempotent


def test_retention_drops_old_month_partitions_only():
    sql("SELECT pantau.ensure_partitions(0, 0)")
    month = sql("SELECT to_char(now(), 'YYYY') || 'm' || to_char(now(), 'MM')")[0][0]
    part = "pantau.traffic_count_y%s" % month
    assert sql("SELECT to_regclass(%s) IS NOT NULL", part) == [(True,)]
    assert sql("SELECT pantau.apply_retention(now())")[0][0] == 0
    dropped = sql("SELECT pantau.apply_retention(now() + interval '6 years')")[0][0]
    assert dropped >= 1, dropped
    assert sql("SELECT to_regclass(%s) IS NULL", part) == [(True,)]
    # the 10-year flood table keeps this month's partition; defaults are never dropped
    assert sql("SELECT to_regclass('pantau.flood_reading_y%s') IS NOT NULL" % month) == [(True,)]
    assert sql("SELECT to_regclass('pantau.traffic_count_default') IS NOT NULL") == [(True,)]
    sql("SELECT pantau.ensure_partitions(1, 3)")


INCIDENT_UPSERT = """
INSERT INTO pantau.incident AS i (station_id, event_id, state, type, start_at, end_at, ts, seq,
                                  device_id, store_id)
VALUES ('cam-1', 'ev-1', %s, 'stalled_vehicle', '2026-03-02T07:41:00Z', %s, %s, %s, 'gw-cam',
        '00000000-0000-0000-0000-000000000001')
ON CONFLICT (station_id, event_id) DO UPDATE SET
    state = excluded.state, end_at = excluded.end_at, ts = excluded.ts, seq = excluded.seq,
    updated_at = now()
WHERE (excluded.ts, excluded.seq) > (i.ts, i.seq)"""


def test_an_older_incident_update_never_overwrites_a_newer():
    sql(INCIDENT_UPSERT, "new", None, "2026-03-02T07:41:05Z", 10)
    sql(INCIDENT_UPSERT, "end", "2026-03-02T07:58:40Z", "2026-03-02T07:58:40Z", 12)
    sql(INCIDENT_UPSERT, "update", None, "2026-03-02T07:45:00Z", 11)    # late, older
    assert sql("SELECT state, seq FROM pantau.incident WHERE event_id = 'ev-1'") == [("end", 12)]


STATUS_APPLY = """
INSERT INTO pantau.device_status AS ds (device_id, state, conn) VALUES ('gw-st', %s, %s)
ON CONFLICT (device_id) DO UPDATE SET state = excluded.state, conn = excluded.conn,
    updated_at = now()
WHERE (excluded.conn, excluded.state = 'offline') > (ds.conn, ds.state = 'offline')"""


def test_an_old_offline_after_a_new_online_keeps_the_device_online():
    sql(STATUS_APPLY, "online", 17)
    sql(STATUS_APPLY, "offline", 17)
    sql(STATUS_APPLY, "online", 18)
    sql(STATUS_APPLY, "offline", 17)     # the will of connection 17 arrives late
    assert sql("SELECT state, conn FROM pantau.device_status WHERE device_id = 'gw-st'") == [
        ("online", 18)]
    sql(STATUS_APPLY, "offline", 18)
    assert sql("SELECT state FROM pantau.device_status WHERE device_id = 'gw-st'") == [
        ("offline",)]


def denied(query, role):
    try:
        sql(query, role=role)
    except psycopg2.errors.InsufficientPrivilege:
        return True
    return False


def test_roles_see_only_what_they_may():
    assert denied("SELECT * FROM pantau_pii.larva_inspection", "pantau_analyst")
    assert denied("SELECT * FROM pantau_ops.dead_letter", "pantau_analyst")
    assert denied("SELECT * FROM pantau_ops.account", "pantau_ingest")
    assert denied("DELETE FROM pantau.reading_ledger", "pantau_ingest")
    assert denied("DELETE FROM pantau.flood_reading", "pantau_ingest")
    assert denied("SELECT * FROM pantau.flood_reading", "pantau_broker")
    assert not denied("SELECT * FROM pantau_report.larva_index_week", "pantau_analyst")
    assert not denied("SELECT * FROM pantau_report.flood_latest", "pantau_analyst")
    assert not denied("SELECT * FROM pantau_pii.larva_inspection", "pantau_health")
    assert not denied("SELECT * FROM pantau_ops.account", "pantau_broker")
    assert not denied("SELECT pantau.ensure_partitions(1, 3)", "pantau_ingest")
    sql("INSERT INTO pantau_ops.dead_letter (received_at, topic, payload, reason)"
        " VALUES (now(), 't', 'x', 'json')", role="pantau_ingest")


def test_every_table_and_column_has_a_comment():
    missing = sql("""
        SELECT n.nspname || '.' || c.relname || coalesce('.' || a.attname, '')
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                                 AND c.relkind IN ('r', 'p')
        WHERE n.nspname IN ('pantau', 'pantau_pii', 'pantau_ops', 'pantau_report')
          AND c.relkind IN ('r', 'p', 'v')
          AND NOT c.relispartition
          AND (CASE WHEN a.attname IS NULL THEN obj_description(c.oid, 'pg_class')
                    ELSE col_description(c.oid, a.attnum) END) IS NULL
        ORDER BY 1""")
    assert missing == [], "no COMMENT on: %s" % ", ".join(m for (m,) in missing)


def test_flood_latest_siaga_at_the_katulampa_boundaries():
    sql("INSERT INTO pantau.station (station_id, kind) VALUES ('st-k', 'flood_gauge')")
    sql("INSERT INTO pantau.gauge_threshold (station_id, quantity, valid, siaga3_from,"
        " siaga2_from, siaga1_from) VALUES ('st-k', 'level_cm', '[2020-01-01,)', 81, 151, 201)")
    sql("INSERT INTO pantau.gauge_mount (station_id, valid, offset_cm) VALUES"
        " ('st-k', '[2020-01-01,)', 1000)")
    for i, (level, siaga) in enumerate([(80, 4), (81, 3), (150, 3), (151, 2), (200, 2),
                                        (201, 1)]):
        ts = "2026-05-01T00:%02d:00Z" % i
        insert_flood("st-k", ts, device="gw-k", seq=i + 1, level=level, distance=1000 - level,
                     offset=1000)
        got = sql("SELECT level_cm, level_registry_cm, siaga, siaga_label"
                  " FROM pantau_report.flood_latest WHERE station_id = 'st-k'")
        assert got == [(level, level, siaga, "Siaga %d" % siaga)], (level, got)


def test_larva_indices_from_raw_counts():
    store = str(uuid.UUID(int=7))
    houses = [  # (seq, larvae_found, containers [(inspected, positive)])
        (1, True, [(2, 1), (3, 1)]), (2, False, [(4, 0)]), (3, False, []), (4, True, [(1, 1)])]
    for seq, found, containers in houses:
        ts = "2026-01-19T02:%02d:00Z" % seq
        ledger("hh-ix", seq, stream="larva", ts=ts, store=store)
        sql("INSERT INTO pantau_pii.larva_inspection (device_id, store_id, seq, ts, inspector,"
            " building, kelurahan, rw, rt, larvae_found) VALUES ('hh-ix', %s, %s, %s, 'jmt-1',"
            " 'house', '32.75.01.1002', 3, 5, %s)", store, seq, ts, found)
        for n, (insp, pos) in enumerate(containers):
            sql("INSERT INTO pantau.larva_container (device_id, store_id, seq, ts, type,"
                " location, inspected, positive) VALUES ('hh-ix', %s, %s, %s, %s, 'indoor',"
                " %s, %s)", store, seq, ts, ["jar", "drum"][n], insp, pos)
    row = sql("SELECT houses_inspected, houses_positive, abj_pct, hi_pct, containers_inspected,"
              " containers_positive, ci_pct, bi FROM pantau_report.larva_index_week"
              " WHERE kelurahan_code = '32.75.01.1002' AND week = '2026-01-19'")
    # 4 houses, 2 with larvae: ABJ 50, HI 50; containers 10 inspected, 3 positive: CI 30;
    # BI = 3 positive containers per 4 houses x 100 = 75
    assert [tuple(float(x) for x in r) for r in row] == [(4, 2, 50.0, 50.0, 10, 3, 30.0, 75.0)]
    assert sql("SELECT inspections, with_larvae FROM pantau_report.larva_rt_week"
               " WHERE kelurahan_code = '32.75.01.1002' AND rw = 3 AND rt = 5") == [(4, 2)]


def test_traffic_level_of_service():
    sql("INSERT INTO pantau.station (station_id, kind, capacity_pcu_h) VALUES"
        " ('cam-los', 'traffic_camera', 2000)")
    # one lane, 4 x 15 min in the 08:00 WIB hour (01:00 UTC): each 100 cars + 200 motorcycles
    # = 150 pcu, so q = 600 pcu/h, DS = 0.3; speed 45 km/h -> not A (needs 80), B
    for i in range(4):
        ts = "2026-03-02T01:%02d:00Z" % (15 * i)
        ledger("gw-los", i + 1, stream="traffic", ts=ts)
        sql("INSERT INTO pantau.traffic_count (device_id, store_id, seq, station_id, ts,"
            " interval_s, lane, motorcycle, car, speed_kmh) VALUES ('gw-los', %s, %s,"
            " 'cam-los', %s, 900, 'eastbound', 200, 100, 45)", STORE, i + 1, ts)
    row = sql("SELECT hour_wib::text, q_pcu_h, ds, speed_kmh, los"
              " FROM pantau_report.traffic_los_hour WHERE station_id = 'cam-los'")
    assert [(r[0], float(r[1]), float(r[2]), float(r[3]), r[4]) for r in row] == [
        ("2026-03-02 08:00:00", 600.0, 0.3, 45.0, "B")], row


def test_reading_gap_finds_missing_and_dropped_runs():
    store = str(uuid.UUID(int=9))
    for seq in (1, 2, 5, 6, 10):
        ledger("gw-gap", seq, store=store)
    sql("INSERT INTO pantau.dropped_range (device_id, store_id, seq, first_seq, last_seq,"
        " reason) VALUES ('gw-gap', %s, 11, 7, 9, 'store_full')", store)
    gaps = sql("SELECT first_seq, last_seq, missing, dropped_by_device"
               " FROM pantau_report.reading_gap WHERE device_id = 'gw-gap' ORDER BY 1")
    assert gaps == [(3, 4, 2, False), (7, 9, 3, True)], gaps


if __name__ == "__main__":
    h.run_tests(globals())
