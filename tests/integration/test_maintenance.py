#!/usr/bin/python3
"""test_maintenance.py -- the maintenance that runs itself (issue 14, item 3): `pantau-admin
maintain [--at TIME]` (deploy/pantau-maintain.timer runs it daily) against a real PostgreSQL 15
with the schema applied, pantau-admin logged in as a member of pantau_admin.

The clock that moves is the data's (--at), not the machine's: each step asks what the daily run
would do on a later day, with the retention periods the schema ships (pantau_ops.retention,
pantau_ops.pii_retention: a larva inspection's address, GPS and note a year, the inspection two
years, its containers five, flood readings ten, dead letters 90 days, device status history a
year).

- partitions are made three months ahead of the run's day;
- a dead letter goes after 90 days, not before;
- a larva inspection's address, GPS and note are emptied after a year, its RT/RW, building
  and containers stay; a second run changes nothing more;
- after two years the inspection's month partition is dropped, its containers (five years)
  and the flood readings (ten) stay;
- a row older than its keep that sits in a DEFAULT partition is deleted too;
- every run leaves one row in pantau_ops.maintenance_run with what it did, and the program
  prints the same in one line;
- a role that is not pantau_admin is refused and nothing changes; bad usage exits 2.
"""
import datetime
import os
import re
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import broker_support as B  # noqa: E402
import pantau_harness as h  # noqa: E402
import psycopg2  # noqa: E402

PG, DSN = h.fresh_database("maint")
ADMIN_ROLE = "pantau_maint_test"
OTHER_ROLE = "pantau_maint_nobody"
STORE = str(uuid.UUID(int=24))
UTC = datetime.timezone.utc
# a fixed day in the middle of a month, so that "a year later" never falls on a month's edge
T0 = datetime.datetime.now(UTC).replace(day=15, hour=12, minute=0, second=0, microsecond=0)


def sql(query, *args):
    conn = psycopg2.connect(DSN)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(query, args or None)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


for role, member in ((ADMIN_ROLE, True), (OTHER_ROLE, False)):
    sql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '%s')"
        " THEN CREATE ROLE %s LOGIN; END IF;"
        " EXCEPTION WHEN unique_violation OR duplicate_object THEN NULL; END $$" % (role, role))
    if member:
        sql("GRANT pantau_admin TO %s" % role)
ADMIN_DSN = DSN.replace("user=postgres", "user=%s" % ADMIN_ROLE)
OTHER_DSN = DSN.replace("user=postgres", "user=%s" % OTHER_ROLE)
assert ADMIN_DSN != DSN, DSN


def wire(t):
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def maintain(at=None, want=0, dsn=None):
    argv = [B.admin_path(), "--db", dsn or ADMIN_DSN, "maintain"]
    if at is not None:
        argv += ["--at", wire(at)]
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=120)
    assert r.returncode == want, "pantau-admin maintain --at %s: exit %d, not %d:\n%s%s" % (
        at, r.returncode, want, r.stdout, r.stderr)
    if want != 0:
        return r
    m = re.fullmatch(r"maintain: run (\d+) at (\S+): (\d+) partitions made, (\d+) dropped, "
                     r"(\d+) rows deleted, personal data cleared in (\d+) rows, (\d+) ms\n",
                     r.stdout)
    assert m, r.stdout
    run = dict(zip(("run", "at", "made", "dropped", "deleted", "cleared", "ms"),
                   [int(m.group(1)), m.group(2)] + [int(g) for g in m.groups()[2:]]))
    # the line says what the run's row says
    row = sql("SELECT partitions_made, partitions_dropped, rows_deleted, pii_cleared,"
              " to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
              " FROM pantau_ops.maintenance_run WHERE run_id = %s", run["run"])
    assert row == [(run["made"], run["dropped"], run["deleted"], run["cleared"], run["at"])], (
        row, run)
    if at is not None:
        assert run["at"] == at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"), run
    return run


def ledger(device, seq, ts, stream):
    sql("INSERT INTO pantau.reading_ledger (device_id, store_id, seq, stream, ts, clock_synced,"
        " replay, content_sha256, received_at) VALUES (%s, %s, %s, %s, %s, true, false,"
        " sha256(%s::bytea), now())", device, STORE, seq, stream, ts, str(seq).encode())


def seed():
    """Readings written as the collector writes them (ledger, then facts) at T0."""
    ledger("hh-maint", 1, T0, "larva")
    sql("INSERT INTO pantau_pii.larva_inspection (device_id, store_id, seq, ts, inspector,"
        " building, kelurahan, rw, rt, address, lat, lon, larvae_found, actions, note)"
        " VALUES ('hh-maint', %s, 1, %s, 'jmt-07', 'house', '32.75.01.1002', 3, 4,"
        " 'Jl. Melati 12', -6.25, 106.99, true, ARRAY['drain'], 'pemilik: Bu Sari')",
        STORE, T0)
    sql("INSERT INTO pantau.larva_container (device_id, store_id, seq, ts, type, location,"
        " inspected, positive) VALUES ('hh-maint', %s, 1, %s, 'bak_mandi', 'indoor', 2, 1)",
        STORE, T0)
    ledger("gw-maint", 1, T0, "flood")
    sql("INSERT INTO pantau.flood_reading (device_id, store_id, seq, station_id, ts, level_cm)"
        " VALUES ('gw-maint', %s, 1, 'st-maint', %s, 120)", STORE, T0)
    # a reading eleven years old: no month partition is ever made for it, it sits in DEFAULT
    ledger("gw-maint", 2, T0 - datetime.timedelta(days=11 * 366), "flood")
    sql("INSERT INTO pantau.flood_reading (device_id, store_id, seq, station_id, ts, level_cm)"
        " VALUES ('gw-maint', %s, 2, 'st-maint', %s, 80)", STORE,
        T0 - datetime.timedelta(days=11 * 366))
    sql("INSERT INTO pantau_ops.dead_letter (received_at, topic, reason, detail, payload)"
        " VALUES (%s, 'pantau/v1/gw-maint/flood', 'invalid', 'test', 'x')", T0)


def inspection():
    return sql("SELECT rw, rt, building, address, lat, lon, note FROM pantau_pii.larva_inspection"
               " WHERE device_id = 'hh-maint'")


def count(table):
    return sql("SELECT count(*) FROM %s" % table)[0][0]


def month_part(table, t):
    return sql("SELECT to_regclass(%s) IS NOT NULL",
               "%s_y%04dm%02d" % (table, t.year, t.month))[0][0]


def test_a_year_on_personal_data_goes_then_the_inspection_then_nothing_else():
    seed()
    assert count("pantau_ops.dead_letter") == 1
    assert count("pantau.flood_reading") == 2
    # today: the partitions exist already; the eleven-year-old reading is past its ten years
    run = maintain()
    assert run["dropped"] == 0 and run["cleared"] == 0, run
    assert run["deleted"] == 1, run
    assert count("pantau.flood_reading") == 1
    # 89 days on: the dead letter stays; 91 days on it goes
    run = maintain(T0 + datetime.timedelta(days=89))
    assert (run["deleted"], run["cleared"]) == (0, 0), run
    assert count("pantau_ops.dead_letter") == 1
    run = maintain(T0 + datetime.timedelta(days=91))
    assert (run["deleted"], run["cleared"]) == (1, 0), run
    assert count("pantau_ops.dead_letter") == 0
    # partitions three months ahead of the run's day
    ahead = T0 + datetime.timedelta(days=91 + 92)
    assert month_part("pantau.flood_reading", ahead), ahead
    # 364 days on: personal data still there; 366 days on: emptied, the facts stay
    run = maintain(T0 + datetime.timedelta(days=364))
    assert run["cleared"] == 0 and inspection()[0][3] == "Jl. Melati 12", (run, inspection())
    run = maintain(T0 + datetime.timedelta(days=366))
    assert run["cleared"] == 1, run
    assert inspection() == [(3, 4, "house", None, None, None, None)], inspection()
    assert count("pantau.larva_container") == 1
    run = maintain(T0 + datetime.timedelta(days=367))
    assert run["cleared"] == 0, run
    # two years and two months on: the inspection's month partition is dropped; its
    # containers (five years) and the flood reading (ten) stay
    assert month_part("pantau_pii.larva_inspection", T0)
    run = maintain(T0 + datetime.timedelta(days=2 * 365 + 62))
    assert run["dropped"] >= 1, run
    assert not month_part("pantau_pii.larva_inspection", T0)
    assert count("pantau_pii.larva_inspection") == 0
    assert count("pantau.larva_container") == 1
    assert count("pantau.flood_reading") == 1
    assert month_part("pantau.flood_reading", T0)
    runs = sql("SELECT count(*) FROM pantau_ops.maintenance_run")[0][0]
    assert runs == 7, runs


def test_a_role_without_pantau_admin_is_refused_and_nothing_changes():
    before = sql("SELECT count(*) FROM pantau_ops.maintenance_run")[0][0]
    r = maintain(T0 + datetime.timedelta(days=20 * 365), want=1, dsn=OTHER_DSN)
    assert "permission denied" in r.stderr and "nothing changed" in r.stderr, r.stderr
    assert sql("SELECT count(*) FROM pantau_ops.maintenance_run")[0][0] == before
    assert month_part("pantau.flood_reading", T0)


def test_bad_usage_exits_2_before_connecting():
    for args, want in ((["maintain", "--at", "yesterday"], "--at 'yesterday'"),
                       (["maintain", "now"], "takes no arguments"),
                       (["maintain", "--id", "3"], "takes only --at"),
                       (["maintain", "--from", "2026-01-01T00:00:00Z"], "--from")):
        r = subprocess.run([B.admin_path(), "--db", "host=192.0.2.1 connect_timeout=30"] + args,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=20)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
        assert want in r.stderr, (args, r.stderr)


if __name__ == "__main__":
    h.run_tests(globals())
