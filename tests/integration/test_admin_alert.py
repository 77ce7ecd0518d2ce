#!/usr/bin/python3
"""test_admin_alert.py -- pantau-admin's alert commands (issue 11, "Acknowledge and resolve from
pantau-admin"): alert-list, alert-show, alert-ack, alert-resolve, against a real PostgreSQL 15
with the schema applied, pantau-admin logged in as a member of pantau_admin.

Alerts are raised as in production: flood readings written as the collector writes them (as
pantau_ingest, ledger then facts, one transaction) and pantau_alert.evaluate(). Two gauges with
Katulampa's thresholds (81 / 151 / 201 cm): one read at 90 cm (Siaga 3), one at 210 (Siaga 1).

- alert-list shows open alerts loudest first (Siaga 1 before 3), --kind filters, a resolved
  alert only with --all and after the open ones;
- alert-show prints the row, its evidence, its events and its deliveries (the outbox rows);
- alert-ack / alert-resolve write the person, the note and an event through pantau_alert's
  functions; a second ack or resolve does nothing and exits 1; an unknown id exits 1;
- text from the database is shown in its display form (a right-to-left override escaped);
- bad usage exits 2 naming what is wrong, before connecting.
"""
import datetime
import os
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import broker_support as B  # noqa: E402
import pantau_harness as h  # noqa: E402
import psycopg2  # noqa: E402

PG, DSN = h.fresh_database("admalert")
ADMIN_ROLE = "pantau_admin_alert_test"
STORE = str(uuid.UUID(int=12))
NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def sql(query, *args):
    conn = psycopg2.connect(DSN)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(query, args or None)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


sql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '%s')"
    " THEN CREATE ROLE %s LOGIN; END IF;"
    " EXCEPTION WHEN unique_violation OR duplicate_object THEN NULL; END $$"
    % (ADMIN_ROLE, ADMIN_ROLE))
sql("GRANT pantau_admin TO %s" % ADMIN_ROLE)
ADMIN_DSN = DSN.replace("user=postgres", "user=%s" % ADMIN_ROLE)
assert ADMIN_DSN != DSN, DSN


def admin(*args, want=0, dsn=None):
    argv = [B.admin_path(), "--db", dsn or ADMIN_DSN] + list(args)
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=60)
    assert r.returncode == want, "pantau-admin %s: exit %d, not %d:\n%s%s" % (
        " ".join(args), r.returncode, want, r.stdout, r.stderr)
    return r


def gauge(station, s3=81, s2=151, s1=201):
    sql("INSERT INTO pantau.station (station_id, kind) VALUES (%s, 'flood_gauge')", station)
    sql("INSERT INTO pantau.gauge_threshold (station_id, quantity, valid, siaga3_from,"
        " siaga2_from, siaga1_from) VALUES (%s, 'level_cm', tstzrange('2020-01-01', NULL),"
        " %s, %s, %s)", station, s3, s2, s1)


def reading(station, seq, ts, level):
    """One live flood reading written as the collector writes it."""
    conn = psycopg2.connect(DSN)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SET LOCAL ROLE pantau_ingest")
            cur.execute("INSERT INTO pantau.reading_ledger (device_id, store_id, seq, stream, ts,"
                        " clock_synced, replay, content_sha256, received_at)"
                        " VALUES (%s, %s, %s, 'flood', %s, true, false, sha256(%s), %s)",
                        ("gw-" + station, STORE, seq, ts, psycopg2.Binary(str(level).encode()),
                         ts + datetime.timedelta(seconds=2)))
            cur.execute("INSERT INTO pantau.flood_reading (device_id, store_id, seq, station_id,"
                        " ts, level_cm) VALUES (%s, %s, %s, %s, %s, %s)",
                        ("gw-" + station, STORE, seq, station, ts, level))
    finally:
        conn.close()


def evaluate():
    while sql("SELECT pantau_alert.evaluate(1000)")[0][0] != 0:
        pass


def alert_id(station, level):
    return sql("SELECT alert_id FROM pantau_alert.alert WHERE station_id = %s AND level = %s"
               " AND kind = 'flood_level'", station, level)[0][0]


def listed(stdout):
    """alert-list's rows as [(id, kind, subject, level, state)]."""
    rows = []
    for line in stdout.splitlines()[1:]:
        if line.startswith("("):
            continue
        f = line.split()
        rows.append((int(f[0]), f[1], f[2], f[3], f[5]))
    return rows


_state = {}


def world():
    if not _state:
        gauge("aa-low")
        gauge("aa-high")
        reading("aa-low", 1, NOW - datetime.timedelta(minutes=3), 90)
        reading("aa-high", 1, NOW - datetime.timedelta(minutes=2), 210)
        evaluate()
        _state.update(low=alert_id("aa-low", 3), high=alert_id("aa-high", 1))
        # text in the evidence with a right-to-left override: shown escaped, never as is
        sql("UPDATE pantau_alert.alert SET evidence = evidence || jsonb_build_object('remark',"
            " 'gauge' || chr(8238) || 'xob') WHERE alert_id = %s", _state["high"])
    return _state


def test_list_shows_open_alerts_loudest_first():
    w = world()
    r = admin("alert-list")
    rows = listed(r.stdout)
    ids = [x[0] for x in rows]
    assert ids.index(w["high"]) < ids.index(w["low"]), r.stdout
    assert (w["high"], "flood_level", "station:aa-high", "1", "open") in rows, r.stdout
    assert (w["low"], "flood_level", "station:aa-low", "3", "open") in rows, r.stdout
    assert listed(admin("alert-list", "--kind", "flood_rise").stdout) == []
    assert len(listed(admin("alert-list", "--kind", "flood_level").stdout)) == 2


def test_show_prints_the_row_its_evidence_and_events():
    w = world()
    r = admin("alert-show", str(w["high"]))
    out = r.stdout
    assert "alert: %d\n" % w["high"] in out, out
    assert "kind: flood_level\n" in out and "level: 1\n" in out, out
    assert "state: open\n" in out and "news: yes\n" in out, out
    assert "evidence: {" in out and "210" in out, out
    assert "\u202e" not in out and "gauge\\u202Exob" in out, out
    assert "raised by pantau: Siaga 1" in out, out
    assert "deliveries:\n  event " in out and " to bpbd by mqtt: pending" in out, out
    admin("alert-show", "999999", want=1)


def test_ack_then_resolve_through_the_database():
    w = world()
    low = str(w["low"])
    r = admin("alert-ack", low, "--by", "Siti (BPBD)", "--note", "petugas dikirim")
    assert "alert %s acknowledged by Siti (BPBD)" % low in r.stdout, r.stdout
    assert sql("SELECT state, acknowledged_by, acknowledged_note FROM pantau_alert.alert"
               " WHERE alert_id = %s", w["low"]) == [
        ("acknowledged", "Siti (BPBD)", "petugas dikirim")]
    r = admin("alert-ack", low, "--by", "Budi", want=1)
    assert "is acknowledged: nothing done" in r.stderr, r.stderr
    rows = listed(admin("alert-list").stdout)
    assert [x[0] for x in rows] == [w["high"], w["low"]], rows     # open before acknowledged
    assert rows[1][4] == "acknowledged"

    r = admin("alert-resolve", low, "--by", "Siti (BPBD)")
    assert "alert %s resolved by Siti (BPBD)" % low in r.stdout, r.stdout
    assert sql("SELECT state, resolved_by, resolved_note FROM pantau_alert.alert"
               " WHERE alert_id = %s", w["low"]) == [("resolved", "Siti (BPBD)", "")]
    admin("alert-resolve", low, "--by", "Siti (BPBD)", want=1)
    admin("alert-ack", "999999", "--by", "x", want=1)
    assert sql("SELECT event, by, note FROM pantau_alert.alert_event WHERE alert_id = %s"
               " AND by <> 'pantau' ORDER BY event_id", w["low"]) == [
        ("acknowledged", "Siti (BPBD)", "petugas dikirim"), ("resolved", "Siti (BPBD)", "")]

    assert [x[0] for x in listed(admin("alert-list").stdout)] == [w["high"]]
    rows = listed(admin("alert-list", "--all").stdout)
    assert [x[0] for x in rows] == [w["high"], w["low"]] and rows[1][4] == "resolved", rows
    out = admin("alert-show", low).stdout
    assert "acknowledged by Siti (BPBD): petugas dikirim\n" in out, out
    assert "resolved by Siti (BPBD)\n" in out, out


def test_bad_usage_exits_2_naming_the_problem():
    bad = "dbname=none host=/nonexistent"                 # usage is checked before connecting
    cases = [
        (("alert-ack", "5"), "--by NAME is required"),
        (("alert-ack", "5", "--by", ""), "--by must not be empty"),
        (("alert-ack", "5", "--by", "a\nb"), "--by holds a control"),
        (("alert-resolve", "x", "--by", "a"), "'x' is not an alert id"),
        (("alert-resolve", "0", "--by", "a"), "'0' is not an alert id"),
        (("alert-show",), "takes one alert id"),
        (("alert-show", "1", "2"), "takes one alert id"),
        (("alert-show", "1", "--by", "a"), "--by does not apply"),
        (("alert-list", "x"), "takes no arguments"),
        (("alert-list", "--note", "n"), "--note does not apply"),
        (("alert-ack", "1", "--by", "a", "--all"), "--all does not apply"),
        (("list", "--by", "a"), "--by does not apply"),
    ]
    for args, want in cases:
        r = admin(*args, want=2, dsn=bad)
        assert want in r.stderr and "pantau-admin" in r.stderr, (args, r.stderr)


if __name__ == "__main__":
    h.run_tests(globals())
