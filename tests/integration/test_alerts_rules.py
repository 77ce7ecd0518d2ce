#!/usr/bin/python3
"""test_alerts_rules.py -- the larva, traffic, silent-gauge and system rules of issue 11
(schema/015_alert_rules.sql, docs/alerts.md), against a real PostgreSQL 15 with the schema
applied by schema/migrate.sh. Readings are written as the collector writes them: as
pantau_ingest, ledger rows first, facts for the keys that came back, in one transaction; the
queue triggers fire in that transaction.

- every rule at its boundaries with hand-computed expectations: ABJ exactly 95 % does not raise,
  below does; HI exactly 10 % does not, above does; fewer houses than the minimum count nothing;
  LOS E for 14 minutes does not raise, 15 does, D for 14 minutes does not resolve, 15 does; a
  gauge silent for just under 3x its cadence does not raise, 3x does (louder at Siaga 1); a
  gateway offline 10 minutes, 50 / 51 dead letters in 10 minutes, a backlog grown by 99 / 100;
- an incident with updates and its end is one alert, updated and resolved; road flooding is
  flagged for the flood desk;
- a backlog of larva reports (history) pages nothing, a live report later pages the area once;
- two evaluators at once give one alert per change (the second waits for the subject's lock);
- the address, GPS and inspector of an inspection never reach pantau_alert.
"""
import datetime
import decimal
import os
import sys
import threading
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import pantau_harness as h  # noqa: E402
import psycopg2  # noqa: E402
from alerts_support import BASE, MIN, UTC, AlertsDb, at, notified  # noqa: E402, F401

DB = AlertsDb("alrules")
PG, DSN = DB.pg, DB.dsn
sql, evaluate, listener = DB.sql, DB.evaluate, DB.listener
STORE = str(uuid.UUID(int=15))
KEL = ["32.75.01.1001", "32.75.01.1002", "32.75.01.1003", "32.75.01.1004", "32.75.02.1001"]
ADDRESS = "Jl. Rahasia Pribadi 7"
LAT, LON = -6.2468531, 106.9914137


SEQ = {}


def next_seq(device):
    SEQ[device] = SEQ.get(device, 0) + 1
    return SEQ[device]


def ledger(cur, device, seq, stream, ts, replay, received):
    cur.execute("INSERT INTO pantau.reading_ledger (device_id, store_id, seq, stream, ts,"
                " clock_synced, replay, content_sha256, received_at) VALUES (%s, %s, %s, %s,"
                " %s, true, %s, sha256(%s), %s) ON CONFLICT DO NOTHING RETURNING seq",
                (device, STORE, seq, stream, ts, replay, ("%s/%s" % (device, seq)).encode(),
                 received or ts + datetime.timedelta(seconds=10)))
    return cur.fetchone() is not None


def inspect(kel, rw, larvae, ts, rt=1, building="house", containers=None, replay=False,
            received=None, device="hp-1", conn=None):
    """One Jumantik inspection as the collector stores it; returns its key."""
    seq = next_seq(device)
    own = conn is None
    conn = conn or psycopg2.connect(DSN)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SET LOCAL ROLE pantau_ingest")
            if ledger(cur, device, seq, "larva", ts, replay, received):
                cur.execute("INSERT INTO pantau_pii.larva_inspection (device_id, store_id, seq,"
                            " ts, inspector, building, kelurahan, rw, rt, address, lat, lon,"
                            " larvae_found) VALUES (%s, %s, %s, %s, 'kader-siti', %s, %s, %s,"
                            " %s, %s, %s, %s, %s)",
                            (device, STORE, seq, ts, building, kel, rw, rt, ADDRESS, LAT, LON,
                             larvae))
                for ctype, loc, inspected, positive in containers or []:
                    cur.execute("INSERT INTO pantau.larva_container (device_id, store_id, seq,"
                                " ts, type, location, inspected, positive) VALUES (%s, %s, %s,"
                                " %s, %s, %s, %s, %s)",
                                (device, STORE, seq, ts, ctype, loc, inspected, positive))
    finally:
        if own:
            conn.close()
    return "%s/%s/%s" % (device, STORE, seq)


def alerts(kind, subject_like="%"):
    return sql("SELECT subject, news, state, condition_time, evidence FROM pantau_alert.alert"
               " WHERE kind = %s AND subject LIKE %s ORDER BY alert_id", kind, subject_like)


# ---- larva ---------------------------------------------------------------------------------------

def test_a_positive_inspection_is_one_alert_with_rt_rw_and_building_only():
    listen = listener()
    key = inspect(KEL[0], 4, True, at(60), rt=7, building="house",
                  containers=[("drum", "outdoor", 2, 1), ("bath_tub", "indoor", 1, 0)])
    inspect(KEL[0], 4, False, at(61), rt=7)
    evaluate()
    got = sql("SELECT area_code, rw, ref, subject, news, state, condition_time, evidence"
              " FROM pantau_alert.alert WHERE kind = 'larva_positive' AND area_code = %s",
              KEL[0])
    assert len(got) == 1, got
    area, rw, ref, subject, news, state, cond, ev = got[0]
    assert (area, rw, ref, news, state, cond) == (KEL[0], 4, key, True, "open", at(60)), got
    assert subject == "area:%s/rw4#%s" % (KEL[0], key)
    assert (ev["rt"], ev["rw"], ev["building"], ev["containers_positive"]) == (7, 4, "house", 1)
    assert ev["containers"][1] == {"type": "drum", "location": "outdoor", "inspected": 2,
                                   "positive": 1}, ev
    assert notified(listen) == [sql("SELECT alert_id FROM pantau_alert.alert WHERE ref = %s",
                                    key)[0][0]]
    # a container with larvae counts even when the officer did not tick larvae_found
    key2 = inspect(KEL[0], 5, False, at(62), containers=[("jar", "indoor", 1, 1)])
    # evaluating again (the same item queued twice) changes nothing
    sql("INSERT INTO pantau_alert.pending_rule (rule, ref, since) VALUES ('larva', %s, %s)",
        key2, at(62))
    evaluate()
    assert [a[0] for a in alerts("larva_positive", "area:%s/%%" % KEL[0])] == [
        "area:%s/rw4#%s" % (KEL[0], key), "area:%s/rw5#%s" % (KEL[0], key2)]
    listen.close()


def test_abj_exactly_95_does_not_raise_below_does_and_recovery_resolves():
    kel = KEL[1]
    # 20 houses, 1 with larvae: ABJ = 19 / 20 = 95 % exactly: not below
    for i in range(20):
        inspect(kel, 1 + i % 4, i == 0, at(i), rt=1 + i % 3)
    # a public place with larvae is not a house: no effect on ABJ
    inspect(kel, 1, True, at(20), building="public_place")
    evaluate()
    assert alerts("larva_abj", "area:%s#%%" % kel) == []
    # the 21st house has larvae: 19 / 21 = 90.5 %: below 95, one alert for the kelurahan-week
    inspect(kel, 2, True, at(30))
    evaluate()
    got = alerts("larva_abj", "area:%s#%%" % kel)
    assert [(g[0], g[1], g[2], g[3]) for g in got] == [
        ("area:%s#2026-W45" % kel, True, "open", BASE - datetime.timedelta(hours=7))], got
    ev = got[0][4]
    assert (ev["houses_inspected"], ev["houses_positive"], ev["abj_pct"]) == (21, 2, 90.5), ev
    # one more positive: the same alert, its evidence updated
    inspect(kel, 3, True, at(31))
    evaluate()
    got = alerts("larva_abj", "area:%s#%%" % kel)
    assert len(got) == 1 and got[0][4]["houses_positive"] == 3, got
    # recovery within the week: 3 of 60 houses = ABJ 95 % exactly: resolved
    for i in range(38):
        inspect(kel, 1 + i % 4, False, at(40 + i))
    evaluate()
    got = alerts("larva_abj", "area:%s#%%" % kel)
    assert len(got) == 1 and got[0][2] == "resolved", got
    assert (got[0][4]["houses_inspected"], got[0][4]["abj_pct"]) == (60, 95.0), got[0][4]
    # the report view says the same numbers
    assert sql("SELECT houses_inspected, houses_positive, abj_pct FROM"
               " pantau_report.larva_index_week WHERE kelurahan_code = %s", kel) == [
                   (60, 3, 95.0)]


def test_fewer_houses_than_the_minimum_count_nothing():
    kel = KEL[2]
    assert sql("SELECT pantau_alert.setting_num('larva_min_houses', 'area:' || %s, %s)",
               kel, at(0)) == [(10.0,)]
    # 9 houses, 5 with larvae (ABJ 44 %, HI 56 %): below the minimum of 10 houses
    for i in range(9):
        inspect(kel, 1, i < 5, at(i))
    evaluate()
    assert alerts("larva_abj", "area:%s#%%" % kel) == []
    assert alerts("larva_house_index", "area:%s/%%" % kel) == []
    # the 10th (no larvae): 10 houses, ABJ 50 %, HI 50 % in RW 1: both raise
    inspect(kel, 1, False, at(9))
    evaluate()
    assert [a[0] for a in alerts("larva_abj", "area:%s#%%" % kel)] == ["area:%s#2026-W45" % kel]
    assert [a[0] for a in alerts("larva_house_index", "area:%s/%%" % kel)] == [
        "area:%s/rw1#2026-W45" % kel]


def test_house_index_exactly_10_does_not_raise_above_does():
    kel = KEL[3]
    # RW 6: 20 houses, 2 with larvae: HI = 10 % exactly: not above. The kelurahan's ABJ is
    # 90 % (with RW 7's 10 clean houses: 28 / 30 = 93.3 %): larva_abj, not the RW's HI
    for i in range(20):
        inspect(kel, 6, i < 2, at(i))
    for i in range(10):
        inspect(kel, 7, False, at(30 + i))
    evaluate()
    assert alerts("larva_house_index", "area:%s/%%" % kel) == []
    assert len(alerts("larva_abj", "area:%s#%%" % kel)) == 1
    # a 21st house with larvae in RW 6: 3 / 21 = 14.3 %: above 10
    inspect(kel, 6, True, at(50))
    evaluate()
    got = alerts("larva_house_index", "area:%s/%%" % kel)
    assert [(g[0], g[1]) for g in got] == [("area:%s/rw6#2026-W45" % kel, True)], got
    assert (got[0][4]["houses_inspected"], got[0][4]["hi_pct"]) == (21, 14.3)
    assert sql("SELECT rw, ref FROM pantau_alert.alert WHERE kind = 'larva_house_index'"
               " AND area_code = %s", kel) == [(6, "2026-W45")]
    # the next week is a week of its own
    week2 = at(7 * 24 * 60)
    for i in range(10):
        inspect(kel, 6, i < 2, week2 + i * MIN)
    evaluate()
    assert [g[0] for g in alerts("larva_house_index", "area:%s/%%" % kel)] == [
        "area:%s/rw6#2026-W45" % kel, "area:%s/rw6#2026-W46" % kel]


def test_a_backlog_of_larva_reports_pages_nothing_and_a_live_report_pages_the_area_once():
    kel = KEL[4]
    listen = listener()
    late = at(3 * 24 * 60)            # received three days later, replayed by the app
    for i in range(12):
        inspect(kel, 2, i < 4, at(i), replay=True, received=late, device="hp-offline")
    evaluate()
    pos = alerts("larva_positive", "area:%s/%%" % kel)
    assert len(pos) == 4 and all(not p[1] and p[2] == "resolved" for p in pos), pos
    got = alerts("larva_abj", "area:%s#%%" % kel) + alerts("larva_house_index",
                                                           "area:%s/%%" % kel)
    assert [(g[1], g[2]) for g in got] == [(False, "open"), (False, "open")], got
    assert notified(listen, 0.3) == []
    # a live inspection of the same week shows the indices still bad: paged, once each
    inspect(kel, 2, False, at(100))
    evaluate()
    inspect(kel, 2, False, at(101))
    evaluate()
    got = sql("SELECT alert_id FROM pantau_alert.alert WHERE area_code = %s AND news"
              " ORDER BY alert_id", kel)
    assert len(got) == 2, got
    assert sorted(notified(listen)) == [g[0] for g in got]
    assert sql("SELECT count(*) FROM pantau_alert.alert_event WHERE event = 'paged'"
               " AND alert_id IN (SELECT alert_id FROM pantau_alert.alert WHERE area_code = %s)",
               kel) == [(2,)]
    listen.close()


def test_the_address_gps_and_inspector_never_reach_pantau_alert():
    inspect(KEL[0], 9, True, at(500), rt=3, containers=[("drum", "outdoor", 1, 1)])
    evaluate()
    tables = [t for (t,) in sql("SELECT c.relname FROM pg_class c JOIN pg_namespace n"
                                " ON n.oid = c.relnamespace WHERE n.nspname = 'pantau_alert'"
                                " AND c.relkind IN ('r', 'p')")]
    assert "alert" in tables and "subject_state" in tables, tables
    for t in tables:
        leaked = sql("SELECT count(*) FROM pantau_alert.%s x WHERE x::text LIKE '%%Rahasia%%'"
                     " OR x::text LIKE '%%6.2468%%' OR x::text LIKE '%%106.991%%'"
                     " OR x::text LIKE '%%kader-siti%%'" % t)
        assert leaked == [(0,)], t
    assert sql("SELECT count(*) FROM pantau_alert.alert WHERE kind = 'larva_positive'"
               " AND area_code = %s AND rw = 9", KEL[0]) == [(1,)]
    # the analyst reads the alerts (and the key), not the inspection behind it
    assert sql("SELECT count(*) FROM pantau_alert.alert WHERE rw = 9",
               role="pantau_analyst") == [(1,)]
    try:
        sql("SELECT address FROM pantau_pii.larva_inspection", role="pantau_analyst")
        assert False, "the analyst read an address"
    except psycopg2.errors.InsufficientPrivilege:
        pass


# ---- traffic -------------------------------------------------------------------------------------

def camera(station, capacity=1000):
    sql("INSERT INTO pantau.station (station_id, kind, capacity_pcu_h) VALUES (%s,"
        " 'traffic_camera', %s)", station, capacity)


def incident(station, event, state, itype, ts, start, end=None, device="cam-gw", replay=False,
             received=None, confidence=0.9):
    seq = next_seq(device)
    conn = psycopg2.connect(DSN)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SET LOCAL ROLE pantau_ingest")
            if ledger(cur, device, seq, "incident", ts, replay, received):
                cur.execute("INSERT INTO pantau.incident_update (device_id, store_id, seq,"
                            " station_id, event_id, state, type, start_at, end_at, confidence,"
                            " snapshot, ts) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
                            " 'snap/1.jpg', %s)",
                            (device, STORE, seq, station, event, state, itype, start, end,
                             confidence, ts))
                cur.execute("INSERT INTO pantau.incident AS i (station_id, event_id, state,"
                            " type, start_at, end_at, confidence, snapshot, ts, seq, device_id,"
                            " store_id) VALUES (%s, %s, %s, %s, %s, %s, %s, 'snap/1.jpg', %s,"
                            " %s, %s, %s) ON CONFLICT (station_id, event_id) DO UPDATE SET"
                            " state = excluded.state, type = excluded.type, end_at ="
                            " excluded.end_at, confidence = excluded.confidence, ts ="
                            " excluded.ts, seq = excluded.seq WHERE (excluded.ts, excluded.seq)"
                            " > (i.ts, i.seq)",
                            (station, event, state, itype, start, end, confidence, ts, seq,
                             device, STORE))
    finally:
        conn.close()


def test_an_incident_with_updates_and_its_end_is_one_alert():
    camera("cam-inc")
    listen = listener()
    incident("cam-inc", "ev-1", "new", "accident", at(0), at(0))
    evaluate()
    incident("cam-inc", "ev-1", "update", "accident", at(2), at(0), confidence=0.95)
    evaluate()
    incident("cam-inc", "ev-1", "update", "accident", at(4), at(0), confidence=0.97)
    evaluate()
    got = sql("SELECT alert_id, station_id, ref, news, state, condition_time, evidence"
              " FROM pantau_alert.alert WHERE kind = 'traffic_incident'"
              " AND station_id = 'cam-inc'")
    assert len(got) == 1, got
    aid, st, ref, news, state, cond, ev = got[0]
    assert (st, ref, news, state, cond) == ("cam-inc", "ev-1", True, "open", at(0))
    assert (ev["type"], ev["state"], ev["updates"], ev["confidence"]) == (
        "accident", "update", 3, 0.97), ev
    assert "also" not in ev
    incident("cam-inc", "ev-1", "end", "accident", at(9), at(0), end=at(9))
    evaluate()
    assert sql("SELECT count(*), min(state) FROM pantau_alert.alert WHERE"
               " kind = 'traffic_incident' AND station_id = 'cam-inc'") == [(1, "resolved")]
    assert [e for (e,) in sql("SELECT event FROM pantau_alert.alert_event WHERE alert_id = %s"
                              " ORDER BY event_id", aid)] == [
        "raised", "updated", "updated", "resolved"]
    assert notified(listen) == [aid]       # raised once; updates are events of the same alert
    # road flooding goes to the flood desk too; illegal parking raises nothing
    incident("cam-inc", "ev-2", "new", "road_flooding", at(20), at(20))
    incident("cam-inc", "ev-3", "new", "illegal_parking", at(20), at(20))
    evaluate()
    got = sql("SELECT ref, evidence -> 'also' FROM pantau_alert.alert WHERE"
              " kind = 'traffic_incident' AND station_id = 'cam-inc' ORDER BY ref")
    assert got == [("ev-1", None), ("ev-2", ["flood"])], got
    # an incident known only from a replay that has already ended: recorded, not paged
    incident("cam-inc", "ev-4", "new", "stalled_vehicle", at(30), at(30), replay=True,
             received=at(300))
    incident("cam-inc", "ev-4", "end", "stalled_vehicle", at(40), at(30), end=at(40),
             replay=True, received=at(300))
    evaluate()
    assert sql("SELECT news, state FROM pantau_alert.alert WHERE ref = 'ev-4'") == [
        (False, "resolved")]
    listen.close()


def counts(station, minutes, cars, speed=None, lanes=("n",), device="cam-gw"):
    """One count per lane per minute in `minutes`, `cars` cars each (capacity 1000 pcu/h and
    one lane: DS = cars x 60 / 1000)."""
    conn = psycopg2.connect(DSN)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SET LOCAL ROLE pantau_ingest")
            for m in minutes:
                for lane in lanes:
                    seq = next_seq(device)
                    if ledger(cur, device, seq, "traffic", at(m), False,
                              at(m) + datetime.timedelta(seconds=70)):
                        cur.execute("INSERT INTO pantau.traffic_count (device_id, store_id, seq,"
                                    " station_id, ts, interval_s, lane, car, speed_kmh)"
                                    " VALUES (%s, %s, %s, %s, %s, 60, %s, %s, %s)",
                                    (device, STORE, seq, station, at(m), lane, cars, speed))
    finally:
        conn.close()


def test_the_level_of_service_is_the_one_of_the_report_view():
    assert sql("SELECT pantau.traffic_los(0.9, NULL), pantau.traffic_los(0.96, NULL),"
               " pantau.traffic_los(1.0, 16), pantau.traffic_los(1.0, 15),"
               " pantau.traffic_los(0.5, 79), pantau.traffic_los(0.5, 80)") == [
                   ("D", "E", "E", "F", "B", "A")]
    camera("cam-view")
    # 16 cars a minute on one lane: q = 960 pcu/h, DS 0.96: E; a bus and a truck weigh 1.2, 1.3
    counts("cam-view", range(60, 120), 16)
    assert sql("SELECT q_pcu_h, ds, los FROM pantau_report.traffic_los_hour"
               " WHERE station_id = 'cam-view'") == [(960.0, decimal.Decimal("0.960"), "E")]
    assert sql("SELECT pantau.traffic_pcu(4, 1, 1, 1)") == [(4.5,)]


def test_congestion_e_for_14_minutes_does_not_raise_15_does_and_clears_after_15_at_d():
    camera("cam-14")
    camera("cam-15")
    # 16 cars a minute: LOS E; 14 cars: DS 0.84, D
    counts("cam-14", range(0, 14), 16)
    counts("cam-14", range(14, 40), 14)
    counts("cam-15", range(0, 15), 16)
    counts("cam-15", range(15, 29), 14)     # 14 minutes at D: still congested
    evaluate()
    assert alerts("traffic_congestion", "station:cam-14") == []
    got = alerts("traffic_congestion", "station:cam-15")
    assert [(g[1], g[2], g[3]) for g in got] == [(True, "open", at(0))], got
    assert got[0][4]["los"] == "E"
    counts("cam-15", [29], 14)              # the 15th minute at D: resolved
    evaluate()
    got = alerts("traffic_congestion", "station:cam-15")
    assert [(g[2], g[3]) for g in got] == [("resolved", at(0))], got
    # E again later: a new episode; an F minute in between E ones is the same run
    counts("cam-15", range(60, 70), 16)
    counts("cam-15", [70], 30)
    counts("cam-15", range(71, 75), 16)
    evaluate()
    got = alerts("traffic_congestion", "station:cam-15")
    assert [(g[2], g[3]) for g in got] == [("resolved", at(0)), ("open", at(60))], got
    # counts of a camera arriving one lane at a time are one interval
    camera("cam-lanes")
    counts("cam-lanes", range(0, 15), 16, lanes=("n", "s"))
    evaluate()
    assert len(alerts("traffic_congestion", "station:cam-lanes")) == 1


# ---- time-driven: silent gauges, gateways, dead letters, backlog ---------------------------------

T0 = datetime.datetime(2027, 1, 4, 0, 0, tzinfo=UTC)     # ahead of every other test's times


def gauge_readings(station, times, level):
    conn = psycopg2.connect(DSN)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SET LOCAL ROLE pantau_ingest")
            for ts in times:
                seq = next_seq("gw-" + station)
                if ledger(cur, "gw-" + station, seq, "flood", ts, False, None):
                    cur.execute("INSERT INTO pantau.flood_reading (device_id, store_id, seq,"
                                " station_id, ts, level_cm) VALUES (%s, %s, %s, %s, %s, %s)",
                                ("gw-" + station, STORE, seq, station, ts, level))
    finally:
        conn.close()


def evaluate_time(when):
    return sql("SELECT pantau_alert.evaluate_time(%s)", when)[0][0]


def test_a_gauge_silent_for_3x_its_cadence_raises_louder_at_siaga_1():
    for st in ("sil-4", "sil-1", "sil-slow"):
        sql("INSERT INTO pantau.station (station_id, kind) VALUES (%s, 'flood_gauge')", st)
        sql("INSERT INTO pantau.gauge_threshold (station_id, quantity, valid, siaga3_from,"
            " siaga2_from, siaga1_from) VALUES (%s, 'level_cm', '[2020-01-01,)', 81, 151, 201)",
            st)
    minute = [T0 + i * MIN for i in range(20)]
    last = minute[-1]
    gauge_readings("sil-4", minute, 50)                    # Siaga 4: hourly, 3 h
    gauge_readings("sil-1", minute, 250)                   # Siaga 1: 5 min, 15 min
    gauge_readings("sil-slow", [T0 + i * 15 * MIN for i in range(6)], 250)   # every 15 min
    evaluate()
    second = datetime.timedelta(seconds=1)
    evaluate_time(last + 15 * MIN - second)
    assert alerts("flood_silent", "station:sil-%") == []
    evaluate_time(last + 15 * MIN)
    got = sql("SELECT station_id, level, condition_time, news, evidence -> 'loud'"
              " FROM pantau_alert.alert WHERE kind = 'flood_silent' ORDER BY station_id")
    assert got == [("sil-1", 1, last, True, True)], got
    # its own 15-minute interval is longer than the procedure's 5: 45 minutes
    slow_last = T0 + 75 * MIN
    evaluate_time(slow_last + 45 * MIN - second)
    assert len(alerts("flood_silent", "station:sil-slow")) == 0
    evaluate_time(slow_last + 45 * MIN)
    assert len(alerts("flood_silent", "station:sil-slow")) == 1
    evaluate_time(last + 3 * 60 * MIN - second)
    assert alerts("flood_silent", "station:sil-4") == []
    evaluate_time(last + 3 * 60 * MIN)
    evaluate_time(last + 4 * 60 * MIN)                     # still silent: the same alert
    got = sql("SELECT level, condition_time, evidence -> 'loud', evidence ->> 'cadence'"
              " FROM pantau_alert.alert WHERE kind = 'flood_silent' AND station_id = 'sil-4'")
    assert got == [(4, last, False, "01:00:00")], got
    # readings resume: resolved by the evaluator at once
    gauge_readings("sil-1", [last + 30 * MIN], 250)
    evaluate()
    assert [a[2] for a in alerts("flood_silent", "station:sil-1")] == ["resolved"]
    assert [a[2] for a in alerts("flood_silent", "station:sil-4")] == ["open"]


def device(dev, kind="flood_gateway"):
    sql("INSERT INTO pantau.device (device_id, kind) VALUES (%s, %s)", dev, kind)


def status(dev, state, conn_no, when, backlog=None):
    sql("INSERT INTO pantau.device_status AS ds (device_id, state, conn, backlog, updated_at)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (device_id) DO UPDATE SET state ="
        " excluded.state, conn = excluded.conn, backlog = excluded.backlog, updated_at ="
        " excluded.updated_at", dev, state, conn_no, backlog, when, role="pantau_ingest")


def test_a_gateway_offline_for_10_minutes_raises_and_online_resolves():
    g0 = T0 + 10 * 24 * 60 * MIN
    device("gw-off")
    device("hp-off", "handheld")
    status("gw-off", "offline", 3, g0)
    status("hp-off", "offline", 1, g0)
    evaluate_time(g0 + 10 * MIN - datetime.timedelta(seconds=1))
    assert alerts("system_gateway_offline") == []
    evaluate_time(g0 + 10 * MIN)
    evaluate_time(g0 + 20 * MIN)
    got = alerts("system_gateway_offline")
    assert [(g[0], g[1], g[2], g[3]) for g in got] == [("device:gw-off", True, "open", g0)], got
    status("gw-off", "online", 4, g0 + 21 * MIN)
    evaluate_time(g0 + 22 * MIN)
    assert [g[2] for g in alerts("system_gateway_offline")] == ["resolved"]


def test_dead_letters_faster_than_the_rate():
    d0 = datetime.datetime(2025, 6, 1, tzinfo=UTC)
    for i in range(50):
        sql("INSERT INTO pantau_ops.dead_letter (received_at, topic, payload, reason)"
            " VALUES (%s, 'pantau/v1/x', 'x', 'schema')", d0 + i * datetime.timedelta(seconds=10))
    end = d0 + 10 * MIN        # the window (end - 10 min, end] holds all 50 but the first
    evaluate_time(d0 + 9 * MIN)
    assert alerts("system_dead_letters") == []              # 50 within 10 min: not more
    sql("INSERT INTO pantau_ops.dead_letter (received_at, topic, payload, reason)"
        " VALUES (%s, 'pantau/v1/x', 'x', 'json')", d0 + 9 * MIN)
    evaluate_time(d0 + 9 * MIN)
    got = alerts("system_dead_letters")
    assert [(g[0], g[2]) for g in got] == [("pantau", "open")], got
    assert got[0][4]["count"] == 51 and got[0][4]["by_reason"] == {"schema": 50, "json": 1}
    # a person resolves it while the rate is still high: not raised again for this episode
    assert sql("SELECT pantau_alert.resolve(%s, 'ops', 'known: a bad firmware')",
               sql("SELECT alert_id FROM pantau_alert.alert WHERE kind = 'system_dead_letters'"
                   )[0][0]) == [(True,)]
    evaluate_time(d0 + 9 * MIN + datetime.timedelta(seconds=30))
    assert len(alerts("system_dead_letters")) == 1
    evaluate_time(end + 30 * MIN)
    assert [g[2] for g in alerts("system_dead_letters")] == ["resolved"]
    # a new episode later is a new alert
    for i in range(51):
        sql("INSERT INTO pantau_ops.dead_letter (received_at, topic, payload, reason)"
            " VALUES (%s, 'pantau/v1/x', 'x', 'schema')", end + 60 * MIN)
    evaluate_time(end + 61 * MIN)
    assert [g[2] for g in alerts("system_dead_letters")] == ["resolved", "open"]
    evaluate_time(end + 90 * MIN)
    assert [g[2] for g in alerts("system_dead_letters")] == ["resolved", "resolved"]


def test_a_backlog_that_keeps_growing():
    b0 = T0 + 20 * 24 * 60 * MIN
    device("gw-bl")
    for minute, backlog in [(0, 100), (10, 150), (30, 199)]:
        status("gw-bl", "online", 1, b0 + minute * MIN, backlog)
        evaluate_time(b0 + minute * MIN)
    assert alerts("system_backlog") == []                   # grew by 99 in 30 minutes
    status("gw-bl", "online", 1, b0 + 31 * MIN, 200)
    evaluate_time(b0 + 31 * MIN)
    got = alerts("system_backlog")
    assert [(g[0], g[2], g[3]) for g in got] == [("device:gw-bl", "open", b0)], got
    status("gw-bl", "online", 1, b0 + 40 * MIN, 180)
    evaluate_time(b0 + 40 * MIN)
    assert [g[2] for g in alerts("system_backlog")] == ["resolved"]


# ---- exactly once --------------------------------------------------------------------------------

def test_two_evaluators_at_once_give_one_alert_per_change():
    kel = KEL[0]
    key = inspect(kel, 11, True, at(900))
    sql("INSERT INTO pantau_alert.pending_rule (rule, ref, since) VALUES ('larva', %s, %s)",
        key, at(900))
    a = psycopg2.connect(DSN)
    b = psycopg2.connect(DSN)
    try:
        ca = a.cursor()
        ca.execute("SELECT pantau_alert.evaluate_rules(1)")    # holds the kelurahan's lock
        assert ca.fetchone() == (1,)
        done = []
        t = threading.Thread(target=lambda: (b.cursor().execute(
            "SELECT pantau_alert.evaluate_rules(10)"), b.commit(), done.append(1)))
        t.start()
        t.join(1.0)
        assert done == [], "the second evaluator did not wait for the subject's lock"
        assert sql("SELECT relation::regclass::text FROM pg_locks WHERE pid = %s"
                   " AND locktype = 'tuple'", b.get_backend_pid()) == [
                       ("pantau_alert.subject_state",)]
        a.commit()
        t.join(10)
        assert done == [1]
    finally:
        a.close()
        b.close()
    assert len(alerts("larva_positive", "%%#%s" % key)) == 1
    # the time-driven rules too: two callers at once, one alert
    g0 = T0 + 30 * 24 * 60 * MIN
    device("gw-two")
    status("gw-two", "offline", 1, g0)
    errors = []

    def tick():
        try:
            evaluate_time(g0 + 11 * MIN)
        except Exception as e:      # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == [], errors
    assert len(alerts("system_gateway_offline", "device:gw-two")) == 1


def test_two_collectors_and_two_evaluators_racing_give_each_alert_once():
    kel = "32.75.02.1002"
    week = at(14 * 24 * 60)                # 2026-W47, a week of its own
    # 40 houses of one RW from two handhelds, every 5th with larvae: 8 positive, ABJ 80 %,
    # HI 20 %; committed one by one by two collector threads while two evaluators loop
    rows = {"hp-race-a": [], "hp-race-b": []}
    for i in range(40):
        rows["hp-race-a" if i % 2 == 0 else "hp-race-b"].append((i % 5 == 0, week + i * MIN))
    stop = threading.Event()
    errors = []
    listen = listener()

    def collect(dev):
        conn = psycopg2.connect(DSN)
        try:
            for larvae, ts in rows[dev]:
                inspect(kel, 8, larvae, ts, device=dev, conn=conn)
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

    collectors = [threading.Thread(target=collect, args=(d,)) for d in rows]
    evaluators = [threading.Thread(target=evaluator) for _ in range(2)]
    for t in collectors + evaluators:
        t.start()
    for t in collectors:
        t.join(120)
    stop.set()
    for t in evaluators:
        t.join(60)
    evaluate()
    assert errors == [], errors
    got = sql("SELECT kind, count(*), count(*) FILTER (WHERE news) FROM pantau_alert.alert"
              " WHERE area_code = %s GROUP BY kind ORDER BY kind", kel)
    assert got == [("larva_abj", 1, 1), ("larva_house_index", 1, 1),
                   ("larva_positive", 8, 8)], got
    ev = sql("SELECT evidence FROM pantau_alert.alert WHERE area_code = %s"
             " AND kind = 'larva_abj'", kel)[0][0]
    assert (ev["houses_inspected"], ev["houses_positive"], ev["abj_pct"]) == (40, 8, 80.0), ev
    ids = [i for (i,) in sql("SELECT alert_id FROM pantau_alert.alert WHERE area_code = %s"
                             " ORDER BY alert_id", kel)]
    assert sorted(notified(listen, 2.0)) == ids
    assert sql("SELECT count(*) FROM pantau_alert.alert_event e JOIN pantau_alert.alert a"
               " USING (alert_id) WHERE a.area_code = %s AND e.event IN ('raised', 'paged')",
               kel) == [(10,)]
    listen.close()


def test_the_collectors_role_fires_every_queue_and_sees_nothing_of_pantau_alert():
    for q in ("SELECT * FROM pantau_alert.pending_rule", "SELECT * FROM pantau_alert.subject_state",
              "SELECT pantau_alert.evaluate_time(now())"):
        try:
            sql(q, role="pantau_ingest")
            assert False, q
        except psycopg2.errors.InsufficientPrivilege:
            pass
    # every reading above was written as pantau_ingest; nothing is left queued
    evaluate()
    assert sql("SELECT count(*) FROM pantau_alert.pending_rule") == [(0,)]


if __name__ == "__main__":
    h.run_tests(globals())
