#!/usr/bin/python3
"""test_alerts_flood.py -- flood alerts evaluated inside PostgreSQL (schema/013_alerts.sql,
docs/alerts.md, issue 11 first step), against a real PostgreSQL 15 with the schema applied by
schema/migrate.sh. Readings are written as the collector writes them: as pantau_ingest, ledger
rows first (ON CONFLICT DO NOTHING RETURNING the keys), facts for the keys that came back, in
one transaction; the queue triggers fire in that transaction.

- every rule at its boundaries with hand-computed expectations (Katulampa's thresholds 81 / 151
  / 201 cm: exactly 81 is Siaga 3, 80 is not; falling needs 30 minutes below threshold - 10 cm);
- a level oscillating around a threshold (and around a fall line) for an hour: one alert;
- a 6-hour backlog replayed: no page for a flood that receded, one page for a gauge still at
  Siaga 1 (and exactly one NOTIFY);
- thresholds changed mid-stream apply from their valid-from time;
- the same reading twice, evaluating twice, two evaluators at once, two collectors and two
  evaluators racing: one alert per change;
- rate of rise: 30 cm in 15 minutes raises, 29 does not; 50 in an hour raises, 49 does not; a
  steady rise is one alert per window, not one per reading;
- ts_corrected set later re-queues the gauge; the collector's role fires every trigger and sees
  nothing of pantau_alert;
- the real collector (pantau-collector through mosquitto) queues its readings unchanged: a news
  alert and its NOTIFY.
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
from collector_support import env_for, wait_for  # noqa: E402
from testdevice import ts_now  # noqa: E402
from alerts_support import BASE, MIN, UTC, AlertsDb, at, notified  # noqa: E402, F401

DB = AlertsDb("alerts")
PG, DSN = DB.pg, DB.dsn
sql, evaluate, listener = DB.sql, DB.evaluate, DB.listener
STORE = str(uuid.UUID(int=11))


def gauge(station, s3=81, s2=151, s1=201, since="2020-01-01"):
    sql("INSERT INTO pantau.station (station_id, kind) VALUES (%s, 'flood_gauge')", station)
    sql("INSERT INTO pantau.gauge_threshold (station_id, quantity, valid, siaga3_from,"
        " siaga2_from, siaga1_from) VALUES (%s, 'level_cm', tstzrange(%s, NULL), %s, %s, %s)",
        station, since, s3, s2, s1)


SEQ = {}


def store(rows, conn=None):
    """rows: [(station, device, ts, level, replay, received_at or None = ts + 10 s, seq or None)].
    Writes them as the collector does (one transaction, as pantau_ingest). Returns the keys
    stored (a reading already in the ledger is not stored again)."""
    own = conn is None
    conn = conn or psycopg2.connect(DSN)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SET LOCAL ROLE pantau_ingest")
            staged = []
            for station, device, ts, level, replay, received, seq in rows:
                if seq is None:
                    seq = SEQ[device] = SEQ.get(device, 0) + 1
                staged.append((device, STORE, seq, ts, replay, str(level).encode(),
                               received or ts + datetime.timedelta(seconds=10), station, level))
            staged.sort()
            cur.execute(
                "INSERT INTO pantau.reading_ledger (device_id, store_id, seq, stream, ts,"
                " clock_synced, replay, content_sha256, received_at)"
                " SELECT d, s::uuid, q, 'flood', t, true, r, sha256(c), rcv FROM unnest("
                "%s::text[], %s::text[], %s::bigint[], %s::timestamptz[], %s::boolean[],"
                " %s::bytea[], %s::timestamptz[]) AS x(d, s, q, t, r, c, rcv)"
                " ORDER BY d, s, q ON CONFLICT DO NOTHING RETURNING device_id, seq",
                ([r[0] for r in staged], [r[1] for r in staged], [r[2] for r in staged],
                 [r[3] for r in staged], [r[4] for r in staged],
                 [psycopg2.Binary(r[5]) for r in staged], [r[6] for r in staged]))
            came_back = set(cur.fetchall())
            facts = [r for r in staged if (r[0], r[2]) in came_back]
            if facts:
                cur.execute(
                    "INSERT INTO pantau.flood_reading (device_id, store_id, seq, station_id, ts,"
                    " level_cm) SELECT d, s::uuid, q, st, t, v FROM unnest(%s::text[],"
                    " %s::text[], %s::bigint[], %s::text[], %s::timestamptz[],"
                    " %s::float8[]) AS x(d, s, q, st, t, v)",
                    ([r[0] for r in facts], [r[1] for r in facts], [r[2] for r in facts],
                     [r[7] for r in facts], [r[3] for r in facts], [r[8] for r in facts]))
            return sorted(came_back)
    finally:
        if own:
            conn.close()


def reading(station, ts, level, device=None, replay=False, received=None, seq=None):
    return store([(station, device or "gw-" + station, ts, level, replay, received, seq)])


def alerts(station, kind="flood_level"):
    return sql("SELECT level, previous_level, condition_time, news, state"
               " FROM pantau_alert.alert WHERE station_id = %s AND kind = %s"
               " ORDER BY condition_time", station, kind)


def levels(station):
    return sql("SELECT level, from_ts, to_ts FROM pantau_alert.gauge_level"
               " WHERE station_id = %s ORDER BY from_ts", station)


def rises(station):
    return sql("SELECT extract(epoch FROM rise_window)::int / 60, rise_cm, condition_time, news"
               " FROM pantau_alert.alert WHERE station_id = %s AND kind = 'flood_rise'"
               " ORDER BY rise_window, condition_time", station)


def test_levels_at_their_boundaries_rise_at_once_fall_after_margin_and_dwell():
    gauge("al-k")
    # rising: 80 is Siaga 4, exactly 81 is 3, 150 still 3, 151 is 2, 200 still 2, 201 is 1
    for i, level in enumerate([80, 81, 150, 151, 200, 201]):
        reading("al-k", at(i), level)
        evaluate()
    t1 = at(5)
    assert [(a[0], a[1], a[2]) for a in alerts("al-k")] == [
        (3, 4, at(1)), (2, 3, at(3)), (1, 2, t1)], alerts("al-k")
    # each was news when raised; the later change resolved the earlier
    assert [(a[3], a[4]) for a in alerts("al-k")] == [
        (True, "resolved"), (True, "resolved"), (True, "open")]
    assert levels("al-k") == [(4, at(0), at(1)), (3, at(1), at(3)), (2, at(3), at(5)),
                              (1, at(5), None)]
    # falling from Siaga 1 needs readings below 201 - 10 = 191 for 30 minutes:
    # 191 is not below (and clears nothing), 190.9 is: the dwell starts at 190.9
    reading("al-k", at(10), 191)
    reading("al-k", at(20), 190.9)         # dwell from minute 20
    reading("al-k", at(30), 160)
    reading("al-k", at(49), 160)           # 29 minutes: still Siaga 1
    evaluate()
    assert sql("SELECT level, fall_level, fall_since FROM pantau_alert.gauge_state"
               " WHERE station_id = 'al-k'") == [(1, 2, at(20))]
    assert len(alerts("al-k")) == 3
    reading("al-k", at(50), 160)           # 30 minutes below: falls to 2, the highest seen
    evaluate()
    got = alerts("al-k")
    assert [(a[0], a[1], a[2], a[3]) for a in got[3:]] == [(2, 1, at(50), True)], got
    assert got[2][4] == "resolved", got
    ev = sql("SELECT evidence FROM pantau_alert.alert WHERE station_id = 'al-k'"
             " AND condition_time = %s", at(50))[0][0]
    assert [r["value"] for r in ev["readings"]] == [190.9, 160], ev
    assert ev["thresholds"] == {"siaga3_from": 81, "siaga2_from": 151, "siaga1_from": 201}
    # back to normal: below 81 - 10 = 71 for 30 minutes falls straight to 4
    for m in (60, 70, 80, 90):
        reading("al-k", at(m), 70.9)
    evaluate()
    got = alerts("al-k")
    assert [(a[0], a[1], a[2], a[3], a[4]) for a in got[4:]] == [
        (4, 2, at(90), True, "resolved")], got
    assert sql("SELECT count(*) FROM pantau_alert.alert WHERE station_id = 'al-k'"
               " AND kind = 'flood_level' AND state <> 'resolved'") == [(0,)]
    # 80 -> 150 cm in 2 minutes was a rise too, over both windows, one episode each
    assert [(r[0], r[2]) for r in rises("al-k")] == [(15, at(2)), (60, at(2))]
    # the level history has no hole and no overlap
    segs = levels("al-k")
    assert all(a[2] == b[1] for a, b in zip(segs, segs[1:])), segs
    assert [s[0] for s in segs] == [4, 3, 2, 1, 2, 4], segs


def test_a_level_oscillating_around_a_threshold_for_an_hour_is_one_alert():
    gauge("al-osc")
    for m in range(60):                    # 80, 81, 80, 81 ... each minute, evaluated live
        reading("al-osc", at(m), 80 if m % 2 == 0 else 81)
        evaluate()
    assert [(a[0], a[2]) for a in alerts("al-osc")] == [(3, at(1))], alerts("al-osc")
    # at Siaga 2, hovering at the fall line: 140 is below 151 - 10, 141 is not
    reading("al-osc", at(60), 151)
    evaluate()
    for m in range(61, 121):
        reading("al-osc", at(m), 140 if m % 2 else 141)
        evaluate()
    assert [(a[0], a[2]) for a in alerts("al-osc")] == [(3, at(1)), (2, at(60))]
    for m in range(121, 152):
        reading("al-osc", at(m), 140)
    evaluate()
    assert [(a[0], a[2]) for a in alerts("al-osc")] == [(3, at(1)), (2, at(60)), (3, at(151))]
    assert sql("SELECT count(*) FROM pantau_alert.alert_event e JOIN pantau_alert.alert a"
               " USING (alert_id) WHERE a.station_id = 'al-osc' AND e.event = 'raised'"
               " AND a.kind = 'flood_level'") == [(3,)]


def test_a_six_hour_backlog_pages_only_for_the_flood_still_on():
    now = sql("SELECT date_trunc('minute', now())")[0][0]
    start = now - datetime.timedelta(hours=6)
    gauge("al-gone")
    gauge("al-still")

    def profile(minute, stays):
        if minute < 60:
            return 60.0
        if minute < 120:
            return 60.0 + (minute - 60) * 200.0 / 60      # 60 -> 260 in an hour
        if stays or minute < 180:
            return 260.0
        if minute < 240:
            return 260.0 - (minute - 180) * 200.0 / 60
        return 60.0

    listen = listener()
    # the gateway was cut off for 6 hours; its store replays every 5-minute reading now, in
    # batches, replay true, ts as taken (old), received now
    for first in range(0, 360, 60):
        rows = []
        for m in range(first, first + 60, 5):
            ts = start + m * MIN
            rows.append(("al-gone", "gw-gone", ts, profile(m, False), True, now, None))
            rows.append(("al-still", "gw-still", ts, profile(m, True), True, now, None))
        store(rows)
        evaluate(max_items=7)              # evaluators keep up with the replay
    # the level history of the past is complete
    # gone: 60 cm, then +200 cm in an hour (81 at minute 70, 151 at 90, 201 at 105), 260 for
    # an hour, down again: below 191 from minute 205, 30 minutes later (235) it falls to the
    # highest level seen meanwhile (2), then below 71 from 240: Siaga 4 at 270
    assert [(s[0], s[1]) for s in levels("al-gone")] == [
        (lv, start + m * MIN) for lv, m in [(4, 0), (3, 70), (2, 90), (1, 105), (2, 235),
                                            (4, 270)]], levels("al-gone")
    assert [s[0] for s in levels("al-still")] == [4, 3, 2, 1], levels("al-still")
    # all recorded, none paged, every reading being history: gone 5 level changes, still 3,
    # and one rise episode per window each
    assert sql("SELECT count(*), count(*) FILTER (WHERE news) FROM pantau_alert.alert"
               " WHERE station_id IN ('al-gone', 'al-still')") == [(12, 0)], sql(
        "SELECT station_id, kind, level, condition_time, news FROM pantau_alert.alert"
        " WHERE station_id IN ('al-gone', 'al-still') ORDER BY 1, 4")
    assert notified(listen, 0.2) == []
    # live readings again (news): the receded flood pages nothing, the one at Siaga 1 pages once
    store([("al-gone", "gw-gone", now, 60.0, False, None, None),
           ("al-still", "gw-still", now, 260.0, False, None, None)])
    evaluate()
    paged = sql("SELECT alert_id, station_id, kind, level FROM pantau_alert.alert"
                " WHERE station_id IN ('al-gone', 'al-still') AND news")
    assert [p[1:] for p in paged] == [("al-still", "flood_level", 1)], paged
    assert notified(listen) == [paged[0][0]]
    assert sql("SELECT event FROM pantau_alert.alert_event WHERE alert_id = %s"
               " ORDER BY event_id", paged[0][0]) == [("raised",), ("paged",)]
    # more live readings page nothing more
    store([("al-still", "gw-still", now + MIN, 261.0, False, None, None)])
    evaluate()
    assert notified(listen, 0.2) == []
    assert sql("SELECT count(*) FROM pantau_alert.alert WHERE station_id = 'al-still'"
               " AND news") == [(1,)]
    listen.close()


def test_thresholds_changed_mid_stream_apply_from_their_valid_from():
    gauge("al-thr")
    for m in range(0, 60, 10):
        reading("al-thr", at(m), 75)
    evaluate()
    assert alerts("al-thr") == []
    # a new version from minute 30: Siaga 3 from 71; 75 is Siaga 3 from then, not before
    conn = psycopg2.connect(DSN)
    with conn, conn.cursor() as cur:
        cur.execute("UPDATE pantau.gauge_threshold SET valid = tstzrange(lower(valid), %s)"
                    " WHERE station_id = 'al-thr'", (at(30),))
        cur.execute("INSERT INTO pantau.gauge_threshold (station_id, quantity, valid,"
                    " siaga3_from, siaga2_from, siaga1_from) VALUES ('al-thr', 'level_cm',"
                    " tstzrange(%s, NULL), 71, 141, 191)", (at(30),))
    conn.close()
    assert sql("SELECT min(since) FROM pantau_alert.pending WHERE station_id = 'al-thr'") == [
        (at(30),)]
    evaluate()
    assert [(a[0], a[1], a[2]) for a in alerts("al-thr")] == [(3, 4, at(30))]
    assert levels("al-thr") == [(4, at(0), at(30)), (3, at(30), None)]
    # the report view agrees reading by reading
    assert sql("SELECT array_agg(siaga ORDER BY ts_best) FROM pantau_report.flood_level"
               " WHERE station_id = 'al-thr'") == [([4, 4, 4, 3, 3, 3],)]


def test_the_same_reading_twice_and_evaluating_twice_give_one_alert():
    gauge("al-dup")
    assert reading("al-dup", at(0), 100, seq=1) == [("gw-al-dup", 1)]
    assert reading("al-dup", at(0), 100, seq=1) == []          # the ledger refuses it
    evaluate()
    evaluate()
    sql("INSERT INTO pantau_alert.pending (station_id, since) VALUES ('al-dup', '-infinity'),"
        " ('al-dup', %s)", at(0))
    assert evaluate() == 2
    assert [(a[0], a[2]) for a in alerts("al-dup")] == [(3, at(0))]
    assert sql("SELECT count(*) FROM pantau_alert.alert_event e JOIN pantau_alert.alert a"
               " USING (alert_id) WHERE a.station_id = 'al-dup'") == [(1,)]


def test_two_evaluators_at_once_wait_for_each_other():
    gauge("al-two")
    reading("al-two", at(0), 150)
    evaluate()                              # the gauge's state row exists from here on
    reading("al-two", at(1), 210)           # queued by the trigger ...
    sql("INSERT INTO pantau_alert.pending (station_id, since) VALUES ('al-two', '-infinity')")
    a = psycopg2.connect(DSN)
    b = psycopg2.connect(DSN)
    try:
        ca = a.cursor()
        ca.execute("SELECT pantau_alert.evaluate(1)")   # claims the first, holds the gauge
        got = ca.fetchone()
        assert got == (1,), (got, sql("SELECT * FROM pantau_alert.pending"))
        done = []
        t = threading.Thread(target=lambda: (b.cursor().execute(
            "SELECT pantau_alert.evaluate(10)"), b.commit(), done.append(1)))
        t.start()
        t.join(1.0)
        assert done == [], "the second evaluator did not wait for the gauge's lock"
        # it waits for the row of gauge_state (a row lock's waiter holds its tuple lock)
        assert sql("SELECT relation::regclass::text FROM pg_locks WHERE pid = %s"
                   " AND locktype = 'tuple'", b.get_backend_pid()) == [
                       ("pantau_alert.gauge_state",)], sql(
            "SELECT locktype, relation::regclass::text, mode, granted FROM pg_locks WHERE pid = %s",
            b.get_backend_pid())
        a.commit()
        t.join(10)
        assert done == [1]
    finally:
        a.close()
        b.close()
    assert [(a_[0], a_[2]) for a_ in alerts("al-two")] == [(3, at(0)), (1, at(1))]


def test_an_evaluator_killed_mid_transaction_leaves_no_trace_and_the_work_is_done_once():
    gauge("al-kill")
    listen = listener()
    reading("al-kill", at(0), 205)
    victim = psycopg2.connect(DSN)
    cur = victim.cursor()
    cur.execute("SELECT pantau_alert.evaluate(1000)")      # evaluated, not committed
    assert cur.fetchone()[0] >= 1
    pid = victim.get_backend_pid()
    assert sql("SELECT pg_terminate_backend(%s)", pid) == [(True,)]   # the session dies
    h.wait_until(lambda: sql("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", pid)
                 == [(0,)], 10, "the killed evaluator gone")
    victim.close()
    # nothing of it remains, no NOTIFY went out, and the work is still queued
    assert alerts("al-kill") == [] and levels("al-kill") == []
    assert notified(listen, 0.2) == []
    assert sql("SELECT count(*) FROM pantau_alert.pending WHERE station_id = 'al-kill'")[0][0] >= 1
    evaluate()
    got = sql("SELECT alert_id, level, news FROM pantau_alert.alert WHERE station_id = 'al-kill'"
              " AND kind = 'flood_level'")
    assert [g[1:] for g in got] == [(1, True)], got
    assert notified(listen) == [got[0][0]]
    listen.close()


def test_late_data_moving_a_change_earlier_is_the_same_change():
    gauge("al-late")
    reading("al-late", at(0), 60, device="gw-late-a")
    reading("al-late", at(2), 90, device="gw-late-a")
    evaluate()
    assert [(a[0], a[2]) for a in alerts("al-late")] == [(3, at(2))]
    # the other gateway's reading of minute 1 arrives late: Siaga 3 began at minute 1
    reading("al-late", at(1), 85, device="gw-late-b", replay=True, received=at(30))
    evaluate()
    assert levels("al-late") == [(4, at(0), at(1)), (3, at(1), None)]
    assert [(a[0], a[2]) for a in alerts("al-late")] == [(3, at(2))]
    assert sql("SELECT count(*) FROM pantau_alert.gauge_level WHERE station_id = 'al-late'"
               " AND alert_id IS NOT NULL") == [(1,)]


def test_two_collectors_and_two_evaluators_racing_give_each_change_once():
    gauge("al-race")
    # two devices for one gauge, a reading each 30 s, 60 -> 260 cm over an hour (3.33 cm/min),
    # committed in small batches by two collector threads while two evaluators loop
    rows = {"gw-race-a": [], "gw-race-b": []}
    for i in range(120):
        dev = "gw-race-a" if i % 2 == 0 else "gw-race-b"
        rows[dev].append(("al-race", dev, at(i / 2.0), 60 + i * 200.0 / 120, False, None, None))
    stop = threading.Event()
    errors = []

    def collect(dev):
        conn = psycopg2.connect(DSN)
        try:
            for k in range(0, len(rows[dev]), 3):
                store(rows[dev][k:k + 3], conn)
        except Exception as e:      # noqa: BLE001 - reported by the main thread
            errors.append(e)
        finally:
            conn.close()

    def evaluator():
        conn = psycopg2.connect(DSN)
        try:
            while not stop.is_set():
                with conn, conn.cursor() as cur:
                    cur.execute("SELECT pantau_alert.evaluate(2)")
        except Exception as e:      # noqa: BLE001
            errors.append(e)
        finally:
            conn.close()

    threads = [threading.Thread(target=collect, args=(d,)) for d in rows]
    evaluators = [threading.Thread(target=evaluator) for _ in range(2)]
    for t in threads + evaluators:
        t.start()
    for t in threads:
        t.join(120)
    stop.set()
    for t in evaluators:
        t.join(60)
    evaluate()
    assert errors == [], errors
    # levels by hand: 60 + i * 5/3 >= 81 first at i = 13 (81.67), >= 151 at i = 55 (151.67),
    # >= 201 at i = 85 (201.67); reading i is at minute i / 2. The history is exact; an alert
    # keeps the time it was raised at, which can be a reading later when the other device's
    # reading came late (it is the same change, linked to its segment)
    assert levels("al-race") == [(4, at(0), at(6.5)), (3, at(6.5), at(27.5)),
                                 (2, at(27.5), at(42.5)), (1, at(42.5), None)]
    got = alerts("al-race")
    assert [(a[0], a[1]) for a in got] == [(3, 4), (2, 3), (1, 2)], got
    for a, exact in zip(got, (6.5, 27.5, 42.5)):
        assert at(exact) <= a[2] <= at(exact + 2), (a, exact)
    assert sql("SELECT count(DISTINCT alert_id) FROM pantau_alert.gauge_level"
               " WHERE station_id = 'al-race'") == [(3,)]
    # the rise: 3.33 cm/min: 30 cm in 15 min first at minute 9 (i = 18: 90 - 60); 50 cm in
    # 60 min at minute 15 (i = 30: 110 - 60); one alert each: the episode lasts to the end
    got = rises("al-race")
    assert [r[0] for r in got] == [15, 60], got
    for r, exact in zip(got, (9, 15)):
        assert at(exact) <= r[2] <= at(exact + 2), (r, exact)
    assert sql("SELECT count(*) FROM pantau_alert.alert_event e JOIN pantau_alert.alert a"
               " USING (alert_id) WHERE a.station_id = 'al-race' AND e.event = 'raised'") == [
                   (5,)]


def test_rate_of_rise_at_its_boundaries():
    for st, first, later, minutes in [("al-r30", 100, 130, 15), ("al-r29", 100, 129, 15),
                                      ("al-r50", 100, 150, 60), ("al-r49", 100, 149, 60),
                                      ("al-r16", 100, 130, 16)]:
        gauge(st, 1000, 2000, 3000)        # no level change in the way
        reading(st, at(0), first)
        reading(st, at(minutes), later)
    evaluate()
    assert [(r[0], r[1], r[2], r[3]) for r in rises("al-r30")] == [(15, 30.0, at(15), True)]
    assert rises("al-r29") == []
    assert [(r[0], r[1], r[2]) for r in rises("al-r50")] == [(60, 50.0, at(60))]
    assert rises("al-r49") == []
    assert rises("al-r16") == []           # 30 cm in 16 min: neither window
    ev = sql("SELECT evidence FROM pantau_alert.alert WHERE station_id = 'al-r30'")[0][0]
    assert [(r["seq"], r["level_cm"]) for r in ev["readings"]] == [(1, 100), (2, 130)], ev
    # a steady rise of 2 cm a minute for an hour: one alert per window, not one per reading
    gauge("al-steady", 1000, 2000, 3000)
    for m in range(61):
        reading("al-steady", at(m), 100 + 2 * m)
        evaluate()
    assert [(r[0], r[2]) for r in rises("al-steady")] == [(15, at(15)), (60, at(25))]
    # the rise stops: a window later the episode is over and resolved
    reading("al-steady", at(76), 220)
    evaluate()
    assert sql("SELECT extract(epoch FROM rise_window)::int / 60, state FROM pantau_alert.alert"
               " WHERE station_id = 'al-steady' ORDER BY rise_window") == [
                   (15, "resolved"), (60, "open")]
    # a new rise later is a new episode
    reading("al-steady", at(90), 250)
    evaluate()
    assert [(r[0], r[2]) for r in rises("al-steady")] == [(15, at(15)), (15, at(90)),
                                                          (60, at(25))]


def test_per_gauge_settings_override_the_defaults_from_their_valid_from():
    gauge("al-set", 1000, 2000, 3000)
    sql("INSERT INTO pantau_alert.flood_setting (station_id, valid, rise_short_cm) VALUES"
        " ('al-set', tstzrange(%s, NULL), 20)", at(30))
    assert sql("SELECT rise_short_cm, rise_short_window, rise_long_cm, fall_margin"
               " FROM pantau_alert.flood_setting_at('al-set', %s)", at(0)) == [
                   (30.0, datetime.timedelta(minutes=15), 50.0, 10.0)]
    assert sql("SELECT rise_short_cm, rise_long_cm FROM pantau_alert.flood_setting_at("
               "'al-set', %s)", at(30)) == [(20.0, 50.0)]
    for m, level in [(0, 100), (15, 125), (30, 125), (45, 145)]:
        reading("al-set", at(m), level)
    evaluate()
    # 25 cm in 15 min at minute 15: no (30 then); 20 cm in 15 min at minute 45: yes (20 now)
    assert [(r[0], r[2]) for r in rises("al-set")] == [(15, at(45))]
    # a settings change applies from its valid-from like a threshold change: 25 cm from the
    # start makes minute 15 a rise (a new episode); what was recorded stays
    sql("UPDATE pantau_alert.flood_setting SET valid = tstzrange(%s, NULL), rise_short_cm = 25"
        " WHERE station_id = 'al-set'", at(0))
    assert sql("SELECT since FROM pantau_alert.pending WHERE station_id = 'al-set'") == [
        (at(0),)]
    evaluate()
    assert [(r[0], r[2]) for r in rises("al-set")] == [(15, at(15)), (15, at(45))]


def test_ts_corrected_set_later_queues_the_gauge_from_its_earlier_time():
    gauge("al-cor")
    conn = psycopg2.connect(DSN)
    with conn, conn.cursor() as cur:
        cur.execute("SET LOCAL ROLE pantau_ingest")
        cur.execute("INSERT INTO pantau.reading_ledger (device_id, store_id, seq, stream, ts,"
                    " clock_synced, replay, content_sha256, received_at) VALUES ('gw-cor', %s,"
                    " 1, 'flood', '1970-01-01T00:00:07Z', false, false, sha256('c'), %s)",
                    (STORE, at(100)))
        cur.execute("INSERT INTO pantau.flood_reading (device_id, store_id, seq, station_id,"
                    " ts, level_cm) VALUES ('gw-cor', %s, 1, 'al-cor',"
                    " '1970-01-01T00:00:07Z', 160)", (STORE,))
    evaluate()
    assert [(a[0], a[2]) for a in alerts("al-cor")] == [(2, at(100))]   # at received_at
    with conn, conn.cursor() as cur:
        cur.execute("SET LOCAL ROLE pantau_ingest")
        cur.execute("UPDATE pantau.reading_ledger SET ts_corrected = %s WHERE device_id ="
                    " 'gw-cor'", (at(97),))
    conn.close()
    assert sql("SELECT since FROM pantau_alert.pending WHERE station_id = 'al-cor'") == [
        (at(97),)]
    evaluate()
    # the change moved to the corrected time; it is the same change: no second alert
    assert levels("al-cor") == [(2, at(97), None)]
    assert [(a[0], a[2]) for a in alerts("al-cor")] == [(2, at(100))]


def denied(query, role):
    try:
        sql(query, role=role)
    except psycopg2.errors.InsufficientPrivilege:
        return True
    return False


def test_the_collectors_role_fires_the_queue_and_sees_nothing_else():
    assert denied("SELECT * FROM pantau_alert.alert", "pantau_ingest")
    assert denied("SELECT * FROM pantau_alert.pending", "pantau_ingest")
    assert denied("SELECT pantau_alert.evaluate(1)", "pantau_ingest")
    assert not denied("SELECT * FROM pantau_alert.alert", "pantau_analyst")
    assert denied("SELECT pantau_alert.evaluate(1)", "pantau_analyst")
    # every reading above was stored as pantau_ingest; an unregistered station is queued too
    # and evaluated to nothing
    reading("al-unknown", at(0), 500)
    assert sql("SELECT count(*) FROM pantau_alert.pending WHERE station_id = 'al-unknown'") == [
        (1,)]
    evaluate()
    assert alerts("al-unknown") == [] and levels("al-unknown") == []


def test_acknowledge_and_resolve_by_a_person_are_logged():
    gauge("al-ack")
    reading("al-ack", at(0), 151)
    evaluate()
    (aid,), = sql("SELECT alert_id FROM pantau_alert.alert WHERE station_id = 'al-ack'")
    assert sql("SELECT pantau_alert.acknowledge(%s, 'budi (BPBD)', 'team sent')", aid) == [
        (True,)]
    assert sql("SELECT pantau_alert.acknowledge(%s, 'budi (BPBD)', 'again')", aid) == [(False,)]
    assert sql("SELECT pantau_alert.resolve(%s, 'sari', 'checked on site')", aid) == [(True,)]
    assert sql("SELECT state, acknowledged_by, resolved_by, resolved_note FROM"
               " pantau_alert.alert WHERE alert_id = %s", aid) == [
                   ("resolved", "budi (BPBD)", "sari", "checked on site")]
    assert sql("SELECT event, by FROM pantau_alert.alert_event WHERE alert_id = %s"
               " ORDER BY event_id", aid) == [("raised", "pantau"),
                                              ("acknowledged", "budi (BPBD)"),
                                              ("resolved", "sari")]


def test_evaluating_every_gauge_again_from_the_start_changes_nothing():
    # the live path goes on from the saved state; a full replay must agree with it
    def snapshot():
        return (sql("SELECT station_id, level, from_ts, to_ts, alert_id, evidence::text"
                    " FROM pantau_alert.gauge_level ORDER BY 1, 3"),
                sql("SELECT alert_id, kind, station_id, level, condition_time, news, state"
                    " FROM pantau_alert.alert ORDER BY 1"),
                sql("SELECT count(*) FROM pantau_alert.alert_event"),
                sql("SELECT station_id, level, level_since, fall_level, fall_since,"
                    " evaluated_to FROM pantau_alert.gauge_state ORDER BY 1"))
    before = snapshot()
    assert len(before[1]) > 40, before[1]
    sql("INSERT INTO pantau_alert.pending (station_id, since)"
        " SELECT station_id, '-infinity' FROM pantau_alert.gauge_state")
    evaluate()
    after = snapshot()
    for b, a in zip(before, after):
        assert a == b, [x for x in a if x not in b]


def test_the_real_collector_queues_its_readings_and_a_news_alert_is_notified():
    with env_for("alerts-collector") as env:
        env.collector()
        dev = env.device("gw-al-col", "flood", "st-al-col")
        env.sql("INSERT INTO pantau.gauge_threshold (station_id, quantity, valid, siaga3_from,"
                " siaga2_from, siaga1_from) VALUES ('st-al-col', 'level_cm',"
                " '[2020-01-01,)', 81, 151, 201)")
        conn = psycopg2.connect(env.dsn)
        conn.autocommit = True
        conn.cursor().execute("LISTEN pantau_alert")
        dev.send_doc(dev.reading(1, ts=ts_now(-120), level_cm=80.0))
        dev.send_doc(dev.reading(2, ts=ts_now(-60), level_cm=151.0))
        assert dev.wait_all_acked(30)
        wait_for(lambda: env.scalar("SELECT count(*) FROM pantau_alert.pending"
                                    " WHERE station_id = 'st-al-col'") >= 1, 10, "queued")
        while env.scalar("SELECT pantau_alert.evaluate(100)") > 0:
            pass
        got = env.sql("SELECT alert_id, level, previous_level, news FROM pantau_alert.alert"
                      " WHERE station_id = 'st-al-col' AND kind = 'flood_level'")
        assert [g[1:] for g in got] == [(2, 4, True)], got
        # and the rise (71 cm in a minute), one per window: every news alert once on NOTIFY
        news = [i for (i,) in env.sql("SELECT alert_id FROM pantau_alert.alert"
                                      " WHERE station_id = 'st-al-col' AND news"
                                      " ORDER BY alert_id")]
        assert len(news) == 3 and got[0][0] in news, news
        assert sorted(notified(conn, 5.0)) == news
        conn.close()
        dev.stop()


def test_every_table_and_column_of_pantau_alert_has_a_comment():
    missing = sql("""
        SELECT c.relname || coalesce('.' || a.attname, '')
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                                 AND c.relkind IN ('r', 'p')
        WHERE n.nspname = 'pantau_alert' AND c.relkind IN ('r', 'p', 'v')
          AND (CASE WHEN a.attname IS NULL THEN obj_description(c.oid, 'pg_class')
                    ELSE col_description(c.oid, a.attnum) END) IS NULL""")
    assert missing == [], missing
    assert sql("""SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                  WHERE n.nspname = 'pantau_alert'
                    AND obj_description(p.oid, 'pg_proc') IS NULL""") == []


if __name__ == "__main__":
    h.run_tests(globals())
