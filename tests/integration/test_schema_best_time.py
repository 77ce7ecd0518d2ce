"""test_schema_best_time.py -- issue 9 item 2: the analysts' views judge a reading at its best
time (schema/009_best_time.sql, pantau.reading_best_time): ts_corrected where set, else ts when
the clock was synchronised, else when the collector received it. A gauge without NTP gets its
Siaga level and counts as latest, first at the time its reading came in and, once the time is
corrected, at the corrected time. Real PostgreSQL 15, schema through schema/migrate.sh."""
import datetime
import os
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import pantau_harness as h  # noqa: E402
import psycopg2  # noqa: E402

PG, DSN = h.fresh_database("best_time")
STORE = str(uuid.UUID(int=0x9009))
UTC = datetime.timezone.utc


def sql(query, *args, role=None):
    conn = psycopg2.connect(DSN)
    try:
        with conn, conn.cursor() as cur:
            if role:
                cur.execute("SET ROLE " + role)
            cur.execute(query, args or None)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


def t(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(UTC)


def ledger(device, seq, stream, ts, synced, received_at, boot=None, mono=None):
    sql("INSERT INTO pantau.reading_ledger (device_id, store_id, seq, stream, ts, clock_synced,"
        " replay, boot, mono_ms, content_sha256, received_at) VALUES"
        " (%s, %s, %s, %s, %s, %s, false, %s, %s, sha256(%s::bytea), %s)",
        device, STORE, seq, stream, ts, synced, boot, mono, ("%s/%d" % (device, seq)).encode(),
        received_at)


def flood(device, seq, station, ts, level, synced=True, received_at=None, boot=None,
          mono=None):
    ledger(device, seq, "flood", ts, synced, received_at or ts, boot, mono)
    sql("INSERT INTO pantau.flood_reading (device_id, store_id, seq, station_id, ts, level_cm)"
        " VALUES (%s, %s, %s, %s, %s, %s)", device, STORE, seq, station, ts, level)


def latest(station):
    return sql("SELECT seq, ts_best, siaga FROM pantau_report.flood_latest"
               " WHERE station_id = %s", station)


def test_unsynced_gauge_gets_siaga_and_is_latest_at_its_corrected_time():
    sql("INSERT INTO pantau.station (station_id, kind) VALUES ('st-bt', 'flood_gauge')")
    # thresholds changed at 00:05 UTC: before, 201 cm is Siaga 1; after, Siaga 2
    sql("INSERT INTO pantau.gauge_threshold (station_id, quantity, valid, siaga3_from,"
        " siaga2_from, siaga1_from) VALUES"
        " ('st-bt', 'level_cm', '[2026-01-01, 2026-05-01T00:05:00Z)', 81, 151, 201),"
        " ('st-bt', 'level_cm', '[2026-05-01T00:05:00Z,)', 81, 151, 301)")
    # a synchronised reading at 00:00, normal
    flood("gw-bt", 1, "st-bt", "2026-05-01T00:00:00Z", 80, boot=4, mono=600000)
    assert latest("st-bt") == [(1, t("2026-05-01T00:00:00Z"), 4)]
    # the gateway reboots without NTP: its next reading says 1970 and arrives at 00:30
    flood("gw-bt", 2, "st-bt", "1970-01-01T00:01:00Z", 201, synced=False,
          received_at="2026-05-01T00:30:00Z", boot=5, mono=60000)
    # not yet corrected: judged at the time received (the thresholds after 00:05: Siaga 2),
    # and it is the latest (by reading time 1970 it was neither)
    assert latest("st-bt") == [(2, t("2026-05-01T00:30:00Z"), 2)]
    # its boot's time is corrected to 00:03: latest still, Siaga 1 by the thresholds of 00:03
    sql("UPDATE pantau.reading_ledger SET ts_corrected = '2026-05-01T00:03:00Z'"
        " WHERE device_id = 'gw-bt' AND seq = 2")
    assert latest("st-bt") == [(2, t("2026-05-01T00:03:00Z"), 1)]
    assert sql("SELECT siaga_label FROM pantau_report.flood_level WHERE device_id = 'gw-bt'"
               " ORDER BY seq") == [("Siaga 4",), ("Siaga 1",)]
    # the analyst role reads it
    assert sql("SELECT count(*) FROM pantau_report.flood_latest WHERE station_id = 'st-bt'",
               role="pantau_analyst") == [(1,)]
    # a later synchronised reading at 00:10 is the latest again
    flood("gw-bt", 3, "st-bt", "2026-05-01T00:10:00Z", 100, boot=5, mono=480000)
    assert latest("st-bt") == [(3, t("2026-05-01T00:10:00Z"), 3)]


def test_device_hours_larva_weeks_and_traffic_hours_use_the_best_time():
    # an unsynchronised larva inspection (1970) received on Monday 2026-01-19, 09:00 WIB
    ledger("hh-bt", 1, "larva", "1970-01-01T00:04:31Z", False, "2026-01-19T02:00:00Z")
    sql("INSERT INTO pantau_pii.larva_inspection (device_id, store_id, seq, ts, inspector,"
        " building, kelurahan, rw, rt, larvae_found) VALUES ('hh-bt', %s, 1,"
        " '1970-01-01T00:04:31Z', 'jmt-1', 'house', '32.75.01.1002', 7, 9, false)", STORE)
    weeks = sql("SELECT week::text, inspections FROM pantau_report.larva_rt_week"
                " WHERE kelurahan_code = '32.75.01.1002' AND rw = 7 AND rt = 9")
    assert weeks == [("2026-01-19", 1)], weeks
    assert sql("SELECT week::text, houses_inspected FROM pantau_report.larva_index_week"
               " WHERE kelurahan_code = '32.75.01.1002' AND week < '2000-01-01'") == []
    assert ("2026-01-19", 1) in [(w, int(n)) for w, n in sql(
        "SELECT week::text, houses_inspected FROM pantau_report.larva_index_week"
        " WHERE kelurahan_code = '32.75.01.1002'")]
    # corrected into the week before
    sql("UPDATE pantau.reading_ledger SET ts_corrected = '2026-01-16T02:00:00Z'"
        " WHERE device_id = 'hh-bt' AND seq = 1")
    weeks = sql("SELECT week::text FROM pantau_report.larva_rt_week"
                " WHERE kelurahan_code = '32.75.01.1002' AND rw = 7 AND rt = 9")
    assert weeks == [("2026-01-12",)], weeks
    hours = sql("SELECT hour_wib::text, readings, clock_unsynced"
                " FROM pantau_report.device_reading_hour WHERE device_id = 'hh-bt'")
    assert hours == [("2026-01-16 09:00:00", 1, 1)], hours
    # a traffic count of an unsynchronised camera gateway, received at 08:20 WIB
    sql("INSERT INTO pantau.station (station_id, kind, capacity_pcu_h) VALUES"
        " ('cam-bt', 'traffic_camera', 2000)")
    ledger("gw-cam-bt", 1, "traffic", "1970-01-01T00:00:00Z", False, "2026-03-02T01:20:00Z")
    sql("INSERT INTO pantau.traffic_count (device_id, store_id, seq, station_id, ts,"
        " interval_s, lane, car) VALUES ('gw-cam-bt', %s, 1, 'cam-bt',"
        " '1970-01-01T00:00:00Z', 900, 'eastbound', 100)", STORE)
    hours = sql("SELECT hour_wib::text FROM pantau_report.traffic_los_hour"
                " WHERE station_id = 'cam-bt'")
    assert hours == [("2026-03-02 08:00:00",)], hours


def test_best_time_function_is_the_one_rule():
    f = "SELECT pantau.reading_best_time(%s, %s, %s, %s)"
    ts, corr, recv = (t("1970-01-01T00:00:00Z"), t("2026-05-01T00:03:00Z"),
                      t("2026-05-01T00:30:00Z"))
    assert sql(f, ts, False, corr, recv) == [(corr,)]
    assert sql(f, ts, False, None, recv) == [(recv,)]
    assert sql(f, recv, True, None, ts) == [(recv,)]
    assert sql(f, ts, True, corr, recv) == [(corr,)]   # a correction wins where one is set
    for view in ("flood_level", "flood_latest", "larva_index_week", "larva_rt_week",
                 "traffic_los_hour", "device_reading_hour"):
        comment = sql("SELECT obj_description(('pantau_report.' || %s)::regclass, 'pg_class')",
                      view)[0][0]
        assert "ts_corrected where set, else ts when clock_synced, else received_at" in comment, \
            (view, comment)


def test_broker_role_reads_station_kinds_only():
    """The broker's registry cache reads each bound station's kind (issue 9 item 1), and no
    other column of pantau.station."""
    sql("INSERT INTO pantau.station (station_id, kind, name) VALUES"
        " ('st-role', 'flood_gauge', 'Kali Bekasi')")
    assert ("st-role", "flood_gauge") in sql("SELECT station_id, kind FROM pantau.station",
                                             role="pantau_broker")
    try:
        sql("SELECT name FROM pantau.station", role="pantau_broker")
    except psycopg2.errors.InsufficientPrivilege:
        pass
    else:
        raise AssertionError("pantau_broker read pantau.station.name")


if __name__ == "__main__":
    h.run_tests(globals())
