"""test_console_views_sql.py -- issue 12: the console's data functions (schema/022_console_views.sql
and 027) against a real PostgreSQL 15, with expectations computed by hand from the rows seeded here:
Siaga levels by the thresholds valid at each reading's best time, rise and trend, late and
clock-corrected readings, a silent gauge's "no data since", a camera's level of service and
open incident, kelurahan ABJ/HI/CI/BI and the RW that need fogging, sequence gaps with their
times, dead letters by reason, the collectors' state; personal data (address, GPS, inspector)
only for admin and a health unit; only the console's group may call them, and only for a
console account. Schema through schema/migrate.sh."""
import datetime
import json
import os
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import pantau_harness as h  # noqa: E402
import psycopg2  # noqa: E402

PG, DSN = h.fresh_database("console_views")
UTC = datetime.timezone.utc
NOW = datetime.datetime.now(UTC)
STORE = str(uuid.UUID(int=0x1222))
K1 = "32.75.01.1002"      # Margahayu
K2 = "32.75.01.1001"      # Bekasijaya
WEEK = "2026-11-02"       # a Monday (WIB) in the past


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


def call(fn, *args):
    placeholders = ", ".join(["%s"] * len(args))
    return sql("SELECT pantau_console.%s(%s)" % (fn, placeholders), *args)[0][0]


def ago(**kw):
    return NOW - datetime.timedelta(**kw)


def t(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


def same_ms(text, when):
    """A protocol time (ms precision) names this instant."""
    assert text is not None, "no time where %s was expected" % when
    assert abs((t(text) - when).total_seconds()) < 0.002, (text, when)


def ledger(device, seq, stream, ts, received_at=None, synced=True, corrected=None):
    sql("INSERT INTO pantau.reading_ledger (device_id, store_id, seq, stream, ts, ts_corrected,"
        " clock_synced, replay, content_sha256, received_at) VALUES"
        " (%s, %s, %s, %s, %s, %s, %s, false, sha256(%s::bytea), %s)",
        device, STORE, seq, stream, ts, corrected, synced, ("%s/%d" % (device, seq)).encode(),
        received_at or ts)


def flood(device, seq, station, ts, level, **kw):
    ledger(device, seq, "flood", ts, **kw)
    sql("INSERT INTO pantau.flood_reading (device_id, store_id, seq, station_id, ts, level_cm)"
        " VALUES (%s, %s, %s, %s, %s, %s)", device, STORE, seq, station, ts, level)


def count(device, seq, station, ts, car, speed):
    ledger(device, seq, "traffic", ts, received_at=ts + datetime.timedelta(seconds=900))
    sql("INSERT INTO pantau.traffic_count (device_id, store_id, seq, station_id, ts, interval_s,"
        " lane, car, speed_kmh) VALUES (%s, %s, %s, %s, %s, 900, 'east', %s, %s)",
        device, STORE, seq, station, ts, car, speed)


def inspection(seq, ts, kel, rw, larvae, building="house", containers=5, positive=0,
               address=None, lat=None, lon=None, synced=True, corrected=None):
    ledger("hh-1", seq, "larva", ts, synced=synced, corrected=corrected,
           received_at=(corrected or ts) + datetime.timedelta(seconds=30))
    sql("INSERT INTO pantau_pii.larva_inspection (device_id, store_id, seq, ts, inspector,"
        " building, kelurahan, rw, rt, address, lat, lon, larvae_found) VALUES"
        " ('hh-1', %s, %s, %s, 'jmt-77', %s, %s, %s, 2, %s, %s, %s, %s)",
        STORE, seq, ts, building, kel, rw, address, lat, lon, larvae)
    sql("INSERT INTO pantau.larva_container (device_id, store_id, seq, ts, type, location,"
        " inspected, positive) VALUES ('hh-1', %s, %s, %s, 'drum', 'indoor', %s, %s)",
        STORE, seq, ts, containers, positive)


def seed():
    sql("INSERT INTO pantau.device (device_id, kind) VALUES ('gw-g1', 'flood_gateway'),"
        " ('gw-g2', 'flood_gateway'), ('gw-c1', 'traffic_gateway'), ('hh-1', 'handheld')")
    sql("INSERT INTO pantau.station (station_id, kind, name, lat, lon, kelurahan_code, datum,"
        " capacity_pcu_h) VALUES"
        " ('g1', 'flood_gauge', 'Kali Satu', -6.25, 107.0, %s, 'gauge_zero', NULL),"
        " ('g2', 'flood_gauge', 'Kali Dua', -6.26, 107.01, %s, 'gauge_zero', NULL),"
        " ('c1', 'traffic_camera', 'Jalan Satu', -6.24, 107.02, %s, NULL, 2000)", K1, K1, K2)
    sql("INSERT INTO pantau.device_station (device_id, station_id, valid) VALUES"
        " ('gw-g1', 'g1', '[2020-01-01,)'), ('gw-g2', 'g2', '[2020-01-01,)'),"
        " ('gw-c1', 'c1', '[2020-01-01,)')")
    # the thresholds of g1 changed 12 hours ago: Siaga 2 from 151 cm before, from 140 after
    sql("INSERT INTO pantau.gauge_threshold (station_id, quantity, valid, siaga3_from,"
        " siaga2_from, siaga1_from) VALUES"
        " ('g1', 'level_cm', tstzrange('2020-01-01', %s), 81, 151, 201),"
        " ('g1', 'level_cm', tstzrange(%s, NULL), 81, 140, 201),"
        " ('g2', 'level_cm', '[2020-01-01,)', 81, 151, 201)", ago(hours=12), ago(hours=12))
    flood("gw-g1", 1, "g1", ago(hours=13), 145)           # old thresholds: Siaga 3
    flood("gw-g1", 2, "g1", ago(minutes=50), 100)
    flood("gw-g1", 5, "g1", ago(minutes=20), 130,          # arrived 15 min late: history
          received_at=ago(minutes=5))
    flood("gw-g1", 6, "g1", ago(minutes=5), 160)           # new thresholds: Siaga 2
    # a reading of a clock never set (1970), corrected to 35 minutes ago
    flood("gw-g1", 7, "g1", datetime.datetime(1970, 1, 1, 0, 2, tzinfo=UTC), 120,
          synced=False, corrected=ago(minutes=35), received_at=ago(minutes=34))
    flood("gw-g2", 1, "g2", ago(hours=30), 50)             # silent since
    sql("INSERT INTO pantau.device_status (device_id, state, conn, store_id, ts, clock_synced,"
        " backlog, stations, updated_at) VALUES"
        " ('gw-g1', 'online', 3, %s, %s, true, 0, '{\"g1\": \"online\"}', %s),"
        " ('gw-g2', 'offline', 9, %s, %s, true, 12, NULL, %s),"
        " ('gw-c1', 'online', 1, %s, %s, true, 0, NULL, %s)",
        STORE, ago(hours=2), ago(hours=2), STORE, ago(hours=31), ago(hours=29),
        STORE, ago(hours=3), ago(hours=3))
    # camera: four 15-minute counts of 100 cars at 50 km/h in the last hour: q = 400 pcu/h,
    # DS = 400 / 2000 = 0.2, speed 50 >= 40: level of service B
    for i, m in enumerate((55, 40, 25, 10)):
        count("gw-c1", i + 1, "c1", ago(minutes=m), 100, 50.0)
    sql("INSERT INTO pantau.incident (station_id, event_id, state, type, start_at, ts, seq,"
        " device_id, store_id, confidence) VALUES"
        " ('c1', 'ev-1', 'new', 'accident', %s, %s, 9, 'gw-c1', %s, 0.9),"
        " ('c1', 'ev-0', 'end', 'stalled_vehicle', %s, %s, 8, 'gw-c1', %s, 0.8)",
        ago(minutes=7), ago(minutes=7), STORE, ago(hours=5), ago(hours=4), STORE)
    # larva, week of 2026-11-02 (WIB): K1 20 houses, 2 with larvae (RW 3: 2 of 10, RW 4: 0 of
    # 10), 5 containers each, 1 positive in each house with larvae; one of them an inspection
    # of a clock never set, corrected into the week; a public place with larvae (not a house)
    base = datetime.datetime(2026, 11, 3, 2, 0, tzinfo=UTC)      # Tuesday 09:00 WIB
    seq = 1
    for rw in (3, 4):
        for i in range(10):
            larvae = rw == 3 and i < 2
            if rw == 3 and i == 0:
                inspection(seq, datetime.datetime(1970, 1, 1, tzinfo=UTC), K1, rw, True,
                           positive=1, synced=False, corrected=base)
            else:
                inspection(seq, base + datetime.timedelta(minutes=seq), K1, rw, larvae,
                           positive=1 if larvae else 0)
            seq += 1
    inspection(seq, base, K1, 3, True, building="public_place", positive=3)
    seq += 1
    for i in range(10):                                         # K2: 10 houses, none
        inspection(seq, base + datetime.timedelta(hours=1, minutes=i), K2, 1, False)
        seq += 1
    # the week before and after do not count
    inspection(seq, datetime.datetime(2026, 11, 1, 16, 59, tzinfo=UTC), K2, 1, True, positive=1)
    seq += 1
    inspection(seq, datetime.datetime(2026, 11, 9, 17, 0, tzinfo=UTC), K2, 1, True, positive=1)
    seq += 1
    # today: a house with larvae, with an address and GPS (personal data)
    inspection(seq, ago(seconds=20), K2, 6, True, positive=2, address="Jl. Melati 5 (rahasia)",
               lat=-6.2411, lon=107.0011)
    # dead letters: three in the last 24 hours, one older
    for i, hours in enumerate((1, 2, 3, 30)):
        sql("INSERT INTO pantau_ops.dead_letter (received_at, topic, payload, reason, device_id)"
            " VALUES (%s, 'pantau/v1/gw-g1/flood', 'x', %s, 'gw-g1')",
            ago(hours=hours), "schema" if i < 2 else "json")
    sql("INSERT INTO pantau_alert.subject_state (subject, rule, since, data) VALUES"
        " ('pantau#col-1', 'service', %s, %s)", ago(minutes=4),
        json.dumps({"up": False, "seen_at": ago(minutes=1).isoformat(), "why": "database down"}))
    sql("INSERT INTO pantau_ops.account (username, role, secret_kind, secret_hash, unit_id)"
        " VALUES ('adm', 'admin', 'password', 'x', NULL), ('ops', 'dashboard', 'password', 'x',"
        " NULL), ('look', 'viewer', 'password', 'x', NULL), ('kes', 'unit', 'password', 'x',"
        " 'dinkes'), ('banjir', 'unit', 'password', 'x', 'bpbd'),"
        " ('off', 'viewer', 'password', 'x', NULL)")
    sql("UPDATE pantau_ops.account SET enabled = false WHERE username = 'off'")
    sql("INSERT INTO pantau_ops.account (username, role, device_id, secret_kind, secret_hash)"
        " VALUES ('gw-g1', 'device', 'gw-g1', 'device_key', 'x')")


seed()


def station(m, sid):
    return next(s for s in m["stations"] if s["station_id"] == sid)


def test_map_every_station_with_siaga_rise_los_and_freshness():
    m = call("map", "ops")
    assert sorted(s["station_id"] for s in m["stations"]) == ["c1", "g1", "g2"]
    g1 = station(m, "g1")["gauge"]
    # latest by best time is seq 6, 160 cm: Siaga 2 by the thresholds valid then (140)
    assert (g1["level_cm"], g1["siaga"], g1["silent"]) == (160, 2, False), g1
    same_ms(g1["as_of"], ago(minutes=5))
    # rise over the hour before it: 100 cm 50 min ago -> 160 cm: 60 cm in 45 min = 80 cm/h
    assert (g1["rise_cm_h"], g1["trend"], g1["rise_from"]) == (80.0, "rising", "readings"), g1
    g2 = station(m, "g2")["gauge"]
    assert g2["silent"] is True and g2["siaga"] is None, g2
    same_ms(g2["last_reading"], ago(hours=30))
    c1 = station(m, "c1")["camera"]
    assert (c1["los"], c1["ds"], c1["speed_kmh"], c1["intervals"]) == ("B", 0.2, 50.0, 4), c1
    assert [i["event_id"] for i in c1["incidents"]] == ["ev-1"], c1
    same_ms(c1["as_of"], ago(minutes=10) + datetime.timedelta(seconds=900))
    assert station(m, "g1")["devices"][0]["state"] == "online"
    assert station(m, "g1")["devices"][0]["station_state"] == "online"
    assert [d["device_id"] for d in m["devices_down"]] == ["gw-g2"], m["devices_down"]
    assert len(m["kelurahan"]) == 56 and len(m["kecamatan"]) == 12
    k2 = next(k for k in m["kelurahan"] if k["code"] == K2)
    # this week in K2: today's one house, with larvae: ABJ 0
    assert (k2["houses_inspected"], k2["houses_positive"], k2["abj_pct"]) == (1, 1, 0.0), k2
    assert k2["lat"] == -6.24 and k2["kecamatan_name"] == "Bekasi Timur", k2
    assert all(k["lat"] is not None for k in m["kecamatan"]), m["kecamatan"]
    assert "Jl. Melati" not in json.dumps(m)


def test_gauge_points_flags_threshold_bands_and_silence():
    g = call("gauge", "look", "g1", 24)
    pts = [(p["level_cm"], p["siaga"], p["late"], p["corrected"]) for p in g["points"]]
    # by best time: 13 h ago 145 (Siaga 3 by the old thresholds: 151), 50 min 100, the
    # corrected 1970 reading 35 min 120, the late one 20 min 130, 5 min 160 (Siaga 2 by 140)
    assert pts == [(145, 3, False, False), (100, 3, False, False), (120, 3, False, True),
                   (130, 3, True, False), (160, 2, False, False)], pts
    same_ms(g["points"][2]["t"], ago(minutes=35))
    bands = [(b["siaga2_from"], b["from"], b["to"]) for b in g["thresholds"]]
    assert [b[0] for b in bands] == [151, 140], bands
    same_ms(bands[0][1], t(g["from"]))
    same_ms(bands[0][2], ago(hours=12))
    same_ms(bands[1][1], ago(hours=12))
    assert g["now"]["siaga"] == 2 and g["now"]["silent"] is False
    assert g["gateway"][0]["device_id"] == "gw-g1"
    week = call("gauge", "look", "g1", 168)
    assert week["bucket_s"] == 600 and max(p["level_cm"] for p in week["points"]) == 160
    silent = call("gauge", "look", "g2", 24)
    assert silent["points"] == [] and silent["now"]["silent"] is True, silent
    same_ms(silent["now"]["last_reading"], ago(hours=30))
    for station in ("c1", "nope"):                          # a camera, nothing
        try:
            call("gauge", "look", station, 24)
        except psycopg2.errors.NoDataFound:
            continue
        raise AssertionError("gauge(%s) answered" % station)


def test_gauge_alert_history_by_unit():
    # a Siaga 2 alert of g1 routed to BPBD: the operation center and BPBD see it, the health
    # unit does not (021's may_see_alert), in the gauge page's history
    aid = sql("INSERT INTO pantau_alert.alert (kind, station_id, level, previous_level,"
              " condition_time, evidence, news) VALUES ('flood_level', 'g1', 2, 3, %s, '{}',"
              " false) RETURNING alert_id", ago(minutes=5))[0][0]
    sql("INSERT INTO pantau_alert.alert_unit (alert_id, unit_id) VALUES (%s, 'bpbd')", aid)
    for who, sees in (("ops", True), ("look", True), ("banjir", True), ("kes", False)):
        alerts = call("gauge", who, "g1", 24)["alerts"]
        assert ([a["alert_id"] for a in alerts] == [aid]) == sees, (who, alerts)
    a = call("gauge", "ops", "g1", 24)["alerts"][0]
    assert (a["kind"], a["level"], a["previous_level"], a["state"]) == \
        ("flood_level", 2, 3, "open"), a
    same_ms(a["condition_time"], ago(minutes=5))


def test_traffic_hours_incidents_and_worst():
    tr = call("traffic", "ops", 3)
    c1 = next(c for c in tr["cameras"] if c["station_id"] == "c1")
    assert sum(hh["car"] for hh in c1["hours"]) == 400, c1["hours"]
    assert c1["now"]["los"] == "B"
    assert tr["worst"][0]["station_id"] == "c1" and tr["worst"][0]["ds"] == 0.2
    inc = [(i["event_id"], i["state"]) for i in tr["incidents"]]
    assert inc == [("ev-1", "new")], inc        # the ended one ended before the range
    assert len(call("traffic", "ops", 6)["incidents"]) == 2


def test_jumantik_indices_fogging_and_personal_data():
    j = call("jumantik", "adm", WEEK)
    assert j["week"] == WEEK and j["target_abj_pct"] == 95
    k1 = next(k for k in j["kelurahan"] if k["code"] == K1)
    # 20 houses (the corrected 1970 one included; the public place not), 2 with larvae:
    # ABJ 18/20 = 90.0, HI 10.0; containers 2 of 100: CI 2.0; BI 2 per 20 houses = 10.0
    assert (k1["houses_inspected"], k1["houses_positive"], k1["abj_pct"], k1["hi_pct"],
            k1["containers_inspected"], k1["containers_positive"], k1["ci_pct"], k1["bi"],
            k1["meets_target"]) == (20, 2, 90.0, 10.0, 100, 2, 2.0, 10.0, False), k1
    k2 = next(k for k in j["kelurahan"] if k["code"] == K2)
    assert (k2["houses_inspected"], k2["abj_pct"], k2["meets_target"]) == (10, 100.0, True), k2
    # RW 3 of K1: 2 of 10 houses, HI 20 % > 10 % from 10 houses: fogging; RW 4 (0 %) not
    assert [(f["kelurahan_code"], f["rw"], f["hi_pct"]) for f in j["fogging_rw"]] == \
        [(K1, 3, 20.0)], j["fogging_rw"]
    # today's positive house: address and GPS for admin and the health unit only
    for who, sees in (("adm", True), ("kes", True), ("ops", False), ("look", False),
                      ("banjir", False)):
        today = call("jumantik", who, None)["positives_today"]
        assert today["count"] == 1, (who, today)
        item = today["inspections"][0]
        assert (item["kelurahan_code"], item["rw"], item["rt"]) == (K2, 6, 2), item
        text = json.dumps(today)
        assert ("Jl. Melati" in text) == sees and ("107.0011" in text) == sees, (who, text)
        assert ("jmt-77" in text) == sees, (who, text)
    assert call("jumantik", "look", WEEK)["personal"] is False


def test_system_devices_gaps_with_times_dead_letters_collectors():
    s = call("system", "look")
    g1 = next(d for d in s["devices"] if d["device_id"] == "gw-g1")
    assert (g1["state"], g1["last_seq"], g1["gaps"], g1["missing"]) == ("online", 7, 1, 2), g1
    same_ms(g1["last_reading"], ago(minutes=5))             # seq 6 (seq 7 is older)
    same_ms(g1["last_seen"], ago(minutes=5))                # seq 5 and 6 arrived then
    hh = next(d for d in s["devices"] if d["device_id"] == "hh-1")
    assert hh["state"] == "unknown" and hh["last_seq"] == 34, hh      # no status: any store
    same_ms(hh["last_seen"], ago(seconds=20) + datetime.timedelta(seconds=30))
    gaps = [x for x in s["gaps"] if x["device_id"] == "gw-g1"]
    assert [(x["first_seq"], x["last_seq"], x["missing"]) for x in gaps] == [(3, 4, 2)], gaps
    # lost between the reading of 50 minutes ago (seq 2) and that of 20 minutes ago (seq 5)
    same_ms(gaps[0]["after"], ago(minutes=50))
    same_ms(gaps[0]["before"], ago(minutes=20))
    assert (s["devices_online"], s["devices_total"]) == (2, 4), s
    dead = s["dead_letters"]
    assert dead["total"] == 3, dead
    assert [(r["category"], r["count"]) for r in dead["by_reason"]] == \
        [("schema", 2), ("json", 1)], dead
    col = s["collectors"]
    assert [(c["collector_id"], c["up"], c["why"]) for c in col] == \
        [("col-1", False, "database down")], col
    same_ms(col[0]["down_since"], ago(minutes=4))
    assert s["database"]["up"] is True and s["database"]["size_bytes"] > 0


def test_only_console_accounts_and_only_through_the_console_group():
    for who in ("gw-g1", "off", "nobody", None):
        try:
            call("map", who)
        except psycopg2.errors.InsufficientPrivilege:
            continue
        raise AssertionError("%s was let in" % who)
    # the console's group calls the functions and reads nothing directly
    m = sql("SELECT pantau_console.map('look')", role="pantau_console")[0][0]
    assert len(m["stations"]) == 3
    assert sql("SELECT pantau_console.system('look') IS NOT NULL", role="pantau_console")
    try:
        sql("SELECT count(*) FROM pantau.station", role="pantau_console")
    except psycopg2.errors.InsufficientPrivilege:
        pass
    else:
        raise AssertionError("pantau_console read pantau.station")
    try:
        sql("SELECT pantau_console.gauge_now('g1', now())", role="pantau_console")
    except psycopg2.errors.InsufficientPrivilege:
        pass
    else:
        raise AssertionError("pantau_console called a helper")


def cameras_kept_and_scanned():
    """Every camera's state now read from the kept tables (027) and from the facts (022's
    scan), in one statement (one now())."""
    rows = sql("SELECT a.station_id, a.now, b.now FROM pantau_console.cameras_now(now()) a"
               " FULL JOIN pantau_console.cameras_scan(now()) b USING (station_id)"
               " ORDER BY 1")
    for sid, kept, scanned in rows:
        assert kept == scanned, "%s: kept %s, from the facts %s" % (sid, kept, scanned)
    return {sid: kept for sid, kept, _ in rows}


def test_cameras_kept_at_ingest_match_the_facts():
    """027: the counts of the last 2 hours and each camera's latest, kept by triggers in the
    collector's transaction (as pantau_ingest), give the same state as 022's scan, also when a
    count arrives late, with an unset clock, and when its clock is corrected later."""
    c1 = cameras_kept_and_scanned()["c1"]
    assert (c1["los"], c1["intervals"]) == ("B", 4), c1
    sql("INSERT INTO pantau.device (device_id, kind) VALUES ('gw-c2', 'traffic_gateway')")
    sql("INSERT INTO pantau.station (station_id, kind, name, lat, lon, kelurahan_code,"
        " capacity_pcu_h) VALUES ('c2', 'traffic_camera', 'Jalan Dua', -6.23, 107.03, %s,"
        " 1000)", K2)

    def ingest(seq, ts, received_at, synced=True):
        sql("INSERT INTO pantau.reading_ledger (device_id, store_id, seq, stream, ts,"
            " clock_synced, replay, content_sha256, received_at) VALUES ('gw-c2', %s, %s,"
            " 'traffic', %s, %s, false, sha256(%s::bytea), %s)",
            STORE, seq, ts, synced, ("c2/%d" % seq).encode(), received_at, role="pantau_ingest")
        sql("INSERT INTO pantau.traffic_count (device_id, store_id, seq, station_id, ts,"
            " interval_s, lane, car, speed_kmh) VALUES ('gw-c2', %s, %s, 'c2', %s, 900, 'west',"
            " 200, 30)", STORE, seq, ts, role="pantau_ingest")

    def c2():
        return cameras_kept_and_scanned()["c2"]

    # a backlog of 5 hours ago: not in the hour, but the camera's latest ("no data since")
    ingest(1, ago(hours=5), ago(minutes=1))
    got = c2()
    assert got["silent"] is True and got["los"] is None, got
    same_ms(got["last_reading"], ago(hours=5) + datetime.timedelta(seconds=900))
    # a clock never set: timed by its arrival 20 minutes ago, so in the hour
    ingest(2, datetime.datetime(1970, 1, 1, tzinfo=UTC), ago(minutes=20), synced=False)
    got = c2()
    assert got["silent"] is False and got["intervals"] == 1, got
    # its clock corrected later to 3 hours ago: out of the hour; then to 30 minutes ago: back
    for corrected, silent in ((ago(hours=3), True), (ago(minutes=30), False)):
        sql("UPDATE pantau.reading_ledger SET ts_corrected = %s WHERE device_id = 'gw-c2'"
            " AND seq = 2", corrected, role="pantau_ingest")
        got = c2()
        assert got["silent"] is silent, (corrected, got)
    kept = sql("SELECT count(*) FROM pantau_console.camera_recent WHERE station_id = 'c2'")
    assert kept == [(1,)], kept
    # the console's group reads none of it directly
    try:
        sql("SELECT count(*) FROM pantau_console.camera_recent", role="pantau_console")
    except psycopg2.errors.InsufficientPrivilege:
        pass
    else:
        raise AssertionError("pantau_console read camera_recent")


if __name__ == "__main__":
    h.run_tests(globals())
