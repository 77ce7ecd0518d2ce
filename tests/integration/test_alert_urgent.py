#!/usr/bin/python3
"""test_alert_urgent.py -- an alert-worthy change jumps the queue (schema/026_alert_urgent.sql,
docs/alerts.md "Urgent first (026)"), against a real PostgreSQL 15 with the schema applied.

- the queue trigger marks a gauge's item urgent exactly when a new reading leaves the gauge's
  calm band: at the next threshold (81 cm at Siaga 4: 80.9 is routine, 81 urgent), below the
  fall line of its level (Siaga 3 at 81 cm, margin 10: 71 routine, 70.9 urgent), a rise of the
  window's lowest level + 30 cm, a rise of 30 cm within one statement, a gauge never evaluated;
- with a backlog of routine readings of 40 gauges queued before it, a reading that crosses
  Siaga 3 is raised (and NOTIFY pantau_alert sent) by the first evaluate(5) call, while the
  backlog is still queued; the backlog then drains with no alert and nothing is raised twice;
- a routine call stops between two gauges when urgent work is committed meanwhile: the rest of
  its batch stays queued and the next call takes the urgent work first;
- a larva-positive inspection and a crash (a camera's accident) queued behind routine
  congestion work are raised by the first call too.
Without 026 the first evaluate(5) claims the five oldest routine items and raises nothing.
"""
import datetime
import os
import sys
import threading
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import pantau_harness as h  # noqa: E402
import psycopg2  # noqa: E402
from alerts_support import AlertsDb, at, notified  # noqa: E402

DB = AlertsDb("alurgent")
DSN = DB.dsn
sql, evaluate, listener = DB.sql, DB.evaluate, DB.listener
STORE = str(uuid.UUID(int=26))
SEQ = {}
KEL = "32.75.01.1001"


def next_seq(device):
    SEQ[device] = SEQ.get(device, 0) + 1
    return SEQ[device]


def gauge(station):
    sql("INSERT INTO pantau.station (station_id, kind) VALUES (%s, 'flood_gauge')", station)
    sql("INSERT INTO pantau.gauge_threshold (station_id, quantity, valid, siaga3_from,"
        " siaga2_from, siaga1_from) VALUES (%s, 'level_cm', '[2020-01-01,)', 81, 151, 201)",
        station)


def ledger(cur, device, seq, stream, ts):
    cur.execute("INSERT INTO pantau.reading_ledger (device_id, store_id, seq, stream, ts,"
                " clock_synced, replay, content_sha256, received_at) VALUES (%s, %s, %s, %s,"
                " %s, true, false, sha256(%s), %s)",
                (device, STORE, seq, stream, ts, ("%s/%s" % (device, seq)).encode(),
                 ts + datetime.timedelta(seconds=10)))


def store(rows):
    """rows: [(station, minute, level_cm)], one transaction as the collector writes them (one
    statement of facts: the queue trigger sees them together)."""
    conn = psycopg2.connect(DSN)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SET LOCAL ROLE pantau_ingest")
            facts = []
            for station, minute, level in rows:
                device = "gw-" + station
                seq = next_seq(device)
                ledger(cur, device, seq, "flood", at(minute))
                facts.append((device, seq, station, at(minute), level))
            cur.execute("INSERT INTO pantau.flood_reading (device_id, store_id, seq, station_id,"
                        " ts, level_cm) SELECT d, %s::uuid, q, st, t, v FROM unnest(%s::text[],"
                        " %s::bigint[], %s::text[], %s::timestamptz[], %s::float8[])"
                        " AS x(d, q, st, t, v)",
                        (STORE, [f[0] for f in facts], [f[1] for f in facts],
                         [f[2] for f in facts], [f[3] for f in facts], [f[4] for f in facts]))
    finally:
        conn.close()


def queued(station):
    """The urgent flags of a gauge's queue items, in queue order."""
    return [r[0] for r in sql("SELECT urgent FROM pantau_alert.pending WHERE station_id = %s"
                              " ORDER BY pending_id", station)]


def level_alerts(station):
    return sql("SELECT level, news FROM pantau_alert.alert WHERE station_id = %s"
               " AND kind = 'flood_level' ORDER BY alert_id", station)


def test_the_trigger_marks_a_reading_urgent_at_the_calm_bands_edges():
    gauge("ur-band")
    evaluate()                                  # the new thresholds' item (routine)
    store([("ur-band", 0, 50)])
    assert queued("ur-band") == [True]          # no reading evaluated yet: no band
    evaluate()
    assert sql("SELECT calm_lo, calm_hi, calm_rise_from, calm_rise_cm FROM"
               " pantau_alert.gauge_state WHERE station_id = 'ur-band'") == [
                   (float("-inf"), 81.0, 80.0, 30.0)]
    store([("ur-band", 1, 79.9)])               # below 81 and the lowest (50) + 30
    store([("ur-band", 2, 80.0)])               # the lowest level + 30: a rise may start
    assert queued("ur-band") == [False, True]
    evaluate()
    sql("UPDATE pantau_alert.flood_setting SET rise_short_cm = 1000, rise_long_cm = 1000"
        " WHERE station_id IS NULL")          # queues the gauge again (routine), rise off
    evaluate()
    store([("ur-band", 3, 80.9)])
    store([("ur-band", 4, 81)])                 # Siaga 3
    assert queued("ur-band") == [False, True]
    evaluate()
    assert [a[0] for a in level_alerts("ur-band")] == [3]
    # at Siaga 3 the fall line is 81 - 10: 71 is not below it, 70.9 is (a fall may start)
    store([("ur-band", 5, 71)])
    store([("ur-band", 6, 70.9)])
    assert queued("ur-band") == [False, True]
    evaluate()
    # rises of 1000 cm: a statement rising 20 cm among its own readings is routine
    store([("ur-band", 7, 100), ("ur-band", 8, 120)])
    assert queued("ur-band") == [False]
    sql("UPDATE pantau_alert.flood_setting SET rise_short_cm = 30, rise_long_cm = 50"
        " WHERE station_id IS NULL")
    evaluate()
    store([("ur-band", 200, 81)])               # the windows (60 min) hold only this one
    evaluate()
    assert sql("SELECT calm_rise_from FROM pantau_alert.gauge_state"
               " WHERE station_id = 'ur-band'") == [(111.0,)]
    store([("ur-band", 201, 81), ("ur-band", 202, 110.9)])  # 29.9 within the statement
    store([("ur-band", 203, 75), ("ur-band", 204, 105)])    # 30 (under 111 itself)
    assert queued("ur-band") == [False, True]
    evaluate()


def test_a_crossing_reading_is_raised_before_a_routine_backlog_is_drained():
    routine = ["ur-r%02d" % i for i in range(40)]
    for st in routine + ["ur-probe"]:
        gauge(st)
    store([(st, 100, 50) for st in routine + ["ur-probe"]])
    evaluate()
    listen = listener()
    # the backlog: three statements of routine readings of every gauge, queued first
    for k in range(3):
        store([(st, 101 + k, 50 + k) for st in routine])
    store([("ur-probe", 104, 100)])              # Siaga 3, last in the queue
    assert sql("SELECT count(*) FILTER (WHERE urgent), count(*) FROM pantau_alert.pending") == [
        (1, 121)]
    first = sql("SELECT pantau_alert.evaluate(5)")[0][0]
    got = sql("SELECT alert_id, level, previous_level, news FROM pantau_alert.alert"
              " WHERE station_id = 'ur-probe' AND kind = 'flood_level' AND level = 3")
    assert [g[1:] for g in got] == [(3, 4, True)], got
    # (and its rises: 50 cm in 4 minutes meets both windows)
    heard = notified(listen)
    assert heard == [r[0] for r in sql("SELECT alert_id FROM pantau_alert.alert WHERE station_id"
                                       " = 'ur-probe' ORDER BY alert_id")], (heard, got)
    assert got[0][0] in heard and len(heard) == 3, heard
    # raised with the backlog still queued: the call took only the urgent gauge's work
    assert first == 1 and sql("SELECT count(*) FROM pantau_alert.pending") == [(120,)], first
    evaluate()
    assert sql("SELECT count(*) FROM pantau_alert.pending") == [(0,)]
    assert sql("SELECT count(*) FROM pantau_alert.alert WHERE station_id LIKE 'ur-r%%'"
               " AND level <> 4") == [(0,)]
    assert level_alerts("ur-probe") == [(3, True)]
    assert notified(listen, 0.2) == []
    # every gauge evaluated to its latest reading: nothing of the backlog was skipped
    assert sql("SELECT count(*) FROM pantau_alert.gauge_state WHERE station_id LIKE 'ur-r%%'"
               " AND evaluated_to = %s", at(103)) == [(40,)]
    listen.close()


def test_a_routine_call_stops_between_two_gauges_when_urgent_work_comes_in():
    routine = ["ur-y%02d" % i for i in range(6)]
    for st in routine + ["ur-yprobe"]:
        gauge(st)
    store([(st, 300, 50) for st in routine + ["ur-yprobe"]])
    evaluate()
    store([(st, 301, 51) for st in routine])
    holder = psycopg2.connect(DSN)
    worker = psycopg2.connect(DSN)
    try:
        # the routine call will wait at its second gauge, held here
        holder.cursor().execute("SELECT 1 FROM pantau_alert.gauge_state WHERE station_id ="
                                " 'ur-y01' FOR UPDATE")
        done = []
        cur = worker.cursor()
        t = threading.Thread(target=lambda: (cur.execute("SELECT pantau_alert.evaluate(50)"),
                                             done.append(cur.fetchone()[0]), worker.commit()))
        t.start()
        h.wait_until(lambda: sql("SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted",
                                 worker.get_backend_pid()) == [(1,)], 10,
                     "the routine call waiting at ur-y01")
        store([("ur-yprobe", 302, 100)])         # urgent, committed while the call runs
        holder.commit()
        t.join(10)
        # two gauges evaluated, then it stopped: the other four still queued, in order
        assert done == [2], done
        assert sql("SELECT station_id, urgent FROM pantau_alert.pending ORDER BY pending_id") == [
            (st, False) for st in routine[2:]] + [("ur-yprobe", True)]
    finally:
        holder.close()
        worker.close()
    assert sql("SELECT pantau_alert.evaluate(50)") == [(1,)]     # the urgent one first
    assert level_alerts("ur-yprobe") == [(3, True)]
    evaluate()
    assert sql("SELECT count(*) FROM pantau_alert.gauge_state WHERE station_id LIKE 'ur-y0%%'"
               " AND evaluated_to = %s", at(301)) == [(6,)]


def incident(station, event, ts):
    device = "cam-" + station
    seq = next_seq(device)
    conn = psycopg2.connect(DSN)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SET LOCAL ROLE pantau_ingest")
            ledger(cur, device, seq, "incident", ts)
            cur.execute("INSERT INTO pantau.incident_update (device_id, store_id, seq,"
                        " station_id, event_id, state, type, start_at, confidence, snapshot,"
                        " ts) VALUES (%s, %s, %s, %s, %s, 'new', 'accident', %s, 0.9,"
                        " 'snap/1.jpg', %s)", (device, STORE, seq, station, event, ts, ts))
            cur.execute("INSERT INTO pantau.incident (station_id, event_id, state, type,"
                        " start_at, confidence, snapshot, ts, seq, device_id, store_id)"
                        " VALUES (%s, %s, 'new', 'accident', %s, 0.9, 'snap/1.jpg', %s, %s,"
                        " %s, %s)", (station, event, ts, ts, seq, device, STORE))
    finally:
        conn.close()


def inspection(ts):
    device = "hp-ur"
    seq = next_seq(device)
    conn = psycopg2.connect(DSN)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SET LOCAL ROLE pantau_ingest")
            ledger(cur, device, seq, "larva", ts)
            cur.execute("INSERT INTO pantau_pii.larva_inspection (device_id, store_id, seq, ts,"
                        " inspector, building, kelurahan, rw, rt, larvae_found) VALUES (%s, %s,"
                        " %s, %s, 'kader', 'house', %s, 3, 1, true)",
                        (device, STORE, seq, ts, KEL))
    finally:
        conn.close()
    return "%s/%s/%s" % (device, STORE, seq)


def test_a_larva_positive_house_and_a_crash_do_not_wait_behind_routine_work():
    sql("INSERT INTO pantau.station (station_id, kind, capacity_pcu_h) VALUES ('ur-cam',"
        " 'traffic_camera', 1000)")
    routine = ["ur-q%02d" % i for i in range(10)]
    for st in routine:
        gauge(st)
    store([(st, 200, 50) for st in routine])
    evaluate()
    # routine work of both queues first: flood readings, a camera's counts to judge
    store([(st, 201, 51) for st in routine])
    sql("INSERT INTO pantau_alert.pending_rule (rule, station_id, since)"
        " SELECT 'congestion', 'ur-cam', %s FROM generate_series(1, 20)", at(200))
    key = inspection(at(202))
    incident("ur-cam", "crash-1", at(202))
    first = sql("SELECT pantau_alert.evaluate(5)")[0][0]
    assert sql("SELECT kind, ref FROM pantau_alert.alert WHERE kind IN ('larva_positive',"
               " 'traffic_incident') ORDER BY kind") == [
                   ("larva_positive", key), ("traffic_incident", "crash-1")]
    assert first == 2, first
    assert sql("SELECT (SELECT count(*) FROM pantau_alert.pending),"
               " (SELECT count(*) FROM pantau_alert.pending_rule)") == [(10, 20)]
    evaluate()
    assert sql("SELECT count(*) FROM pantau_alert.alert WHERE kind IN ('larva_positive',"
               " 'traffic_incident')") == [(2,)]


if __name__ == "__main__":
    sys.exit(h.run_tests(globals()))
