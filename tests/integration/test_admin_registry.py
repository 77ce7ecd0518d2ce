"""test_admin_registry.py -- pantau-admin's registry commands keep history (issue 9 item 9).

Stations, gauge mounts, thresholds and bindings are given the time they take effect
(--from/--at, RFC 3339); a change ends the version in force there and opens the next; nothing is
deleted. Against a real PostgreSQL, the real broker with pantau_broker.so and the real
pantau-collector: a backlog taken before enrolment is stored, not dead-lettered; a gateway swap
keeps both periods; device-remove keeps the record; pantau_report.flood_level uses the offset and
thresholds valid at each reading's time; every bad argument is refused with its name.

pantau-admin runs as a login role in pantau_admin, as an operator's would. One broker, database
and collector for the file.
"""

import datetime as dt
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import psycopg2  # noqa: E402

import broker_support as B  # noqa: E402
import pantau_harness as H  # noqa: E402
from broker_policy_support import OK, REFUSED, check_sanitizer, start_collector  # noqa: E402

ADMIN_ROLE = "pantau_admin_test"
STORE = "3b0c8e7a-2f41-4c55-9a1e-7d2b6c4e8f10"
_state = {}


def world():
    if not _state:
        e = B.BrokerEnv("admin-reg")
        H.on_exit(e.close)
        e.sql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '%s')"
              " THEN CREATE ROLE %s LOGIN; END IF;"
              " EXCEPTION WHEN unique_violation OR duplicate_object THEN NULL; END $$"
              % (ADMIN_ROLE, ADMIN_ROLE))
        e.sql("GRANT pantau_admin TO %s" % ADMIN_ROLE)
        col = start_collector(e, "collector-1")
        _state.update(env=e, collector=col,
                      dsn=e.dsn.replace("user=postgres", "user=%s" % ADMIN_ROLE))
    return _state["env"]


def adm(*args, want=0):
    """pantau-admin as the pantau_admin role; asserts its exit status; returns the result."""
    e = world()
    argv = [B.admin_path(), "--db", _state["dsn"]] + list(args)
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=120)
    with open(os.path.join(e.root, "admin.log"), "a") as f:
        f.write("$ pantau-admin %s\n[exit %d]\n--- stdout\n%s--- stderr\n%s" % (
            " ".join(args), r.returncode, r.stdout, r.stderr))
    assert r.returncode == want, "pantau-admin %s: exit %d, not %d: %s%s" % (
        " ".join(args), r.returncode, want, r.stdout, r.stderr)
    return r


def utc(t):
    """A datetime as an argument: 2026-12-01T00:00:00Z."""
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def wire(t):
    """A datetime as a protocol timestamp (milliseconds, Z)."""
    t = t.astimezone(dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def now():
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def days_ago(n):
    return now() - dt.timedelta(days=n)


def flood(seq, station, ts, level_cm=637.5, **extra):
    body = {"store": STORE, "seq": seq, "ts": wire(ts), "clock_synced": True, "replay": True,
            "station": station, "level_cm": level_cm}
    body.update(extra)
    return json.dumps(body, separators=(",", ":"))


def bindings(device_id=None, station_id=None):
    """(device, station, lower, upper) rows, oldest first."""
    return [tuple(r) for r in world().sql(
        "SELECT device_id, station_id, lower(valid), upper(valid) FROM pantau.device_station"
        " WHERE (%s::text IS NULL OR device_id = %s) AND (%s::text IS NULL OR station_id = %s)"
        " ORDER BY lower(valid), device_id", device_id, device_id, station_id, station_id)]


def enrol(device_id, station, since):
    """device-add with --station and --from (the secret is kept for the log checks); waits until
    the broker's registry holds the binding from `since`. Returns the secret."""
    e = world()
    r = adm("device-add", device_id, "--kind", "flood_gateway", "--station", station, "--from",
            utc(since), "--key-file", e.key_file)
    secret = r.stdout.strip()
    assert len(secret) == 64, r
    e.secrets[device_id] = secret
    e.hash_log += [x[0] for x in e.sql(
        "SELECT secret_hash FROM pantau_ops.account WHERE username = %s", device_id)]
    e.wait_connack(device_id, device_id, secret, 0)
    broker_knows(device_id, station, since)
    return secret


def broker_knows(device_id, station, since):
    """Waits until the broker's registry binds device_id to station from `since`: the snapshot
    file has the line, and then the broker has installed that load (the background thread writes
    the file before the broker's tick installs what it read: $SYS/pantau/devauth's
    registry_loaded_ms, taken after the write, says when)."""
    line = "B %s %s %d " % (device_id, station, int(since.timestamp() * 1000))
    written = []

    def known():
        try:
            with open(world().snapshot) as f:
                if line not in f.read():
                    return False
            written.append(os.stat(world().snapshot).st_mtime_ns // 1000000)
            return True
        except OSError:
            return False
    H.wait_until(known, 20, "the broker to load %r" % line)
    H.wait_until(lambda: world().stats("devauth")["registry_loaded_ms"] >= written[-1], 20,
                 "the broker to install the load that wrote %r" % line)


def stored(device_id, seq):
    return world().scalar("SELECT count(*) FROM pantau.flood_reading WHERE device_id = %s"
                          " AND seq = %s", device_id, seq)


def dead_letters(device_id):
    return world().scalar("SELECT count(*) FROM pantau_ops.dead_letter WHERE device_id = %s",
                          device_id)


# ---- stations ----------------------------------------------------------------------------------

def test_stations_are_added_changed_and_listed():
    e = world()
    kel = e.scalar("SELECT min(code) FROM pantau.kelurahan")
    adm("station-add", "st-a1", "--kind", "flood_gauge", "--name", "Kali Bekasi at P2C",
        "--lat", "-6.2351", "--lon", "106.9921", "--kelurahan", kel, "--datum", "gauge_zero")
    adm("station-add", "cam-a1", "--kind", "traffic_camera", "--capacity", "2900",
        "--name", "Jl. Ahmad Yani")
    row = e.sql("SELECT kind, name, lat, lon, kelurahan_code, datum, capacity_pcu_h"
                " FROM pantau.station WHERE station_id = 'st-a1'")[0]
    assert row == ("flood_gauge", "Kali Bekasi at P2C", -6.2351, 106.9921, kel, "gauge_zero",
                   None), row
    adm("station-update", "st-a1", "--name", "Kali Bekasi (P2C)", "--datum", "mdpl")
    row = e.sql("SELECT name, lat, datum FROM pantau.station WHERE station_id = 'st-a1'")[0]
    assert row == ("Kali Bekasi (P2C)", -6.2351, "mdpl"), row
    again = adm("station-add", "st-a1", "--kind", "flood_gauge", want=1)
    assert "exists already" in again.stderr, again.stderr
    listing = adm("station-list").stdout
    assert "st-a1" in listing and "cam-a1" in listing and "2900 PCU/h" in listing, listing
    # a camera has no datum, a gauge no road capacity: checked against the stored kind
    r = adm("station-update", "cam-a1", "--datum", "mdpl", want=2)
    assert "--datum 'mdpl': only a flood_gauge" in r.stderr, r.stderr


# ---- bindings ----------------------------------------------------------------------------------

def test_backlog_taken_before_enrolment_is_stored():
    """device-add --from a past time: a reading taken after it and before the enrolment passes
    the broker and is stored, where a binding from now would dead-letter it."""
    e = world()
    adm("station-add", "st-b1", "--kind", "flood_gauge")
    since = days_ago(3)
    secret = enrol("gw-b1", "st-b1", since)
    assert bindings("gw-b1") == [("gw-b1", "st-b1", since, None)], bindings("gw-b1")
    c = e.client("gw-b1", secret)
    assert c.publish("pantau/v1/gw-b1/flood", flood(1, "st-b1", days_ago(2))) in OK
    H.wait_until(lambda: stored("gw-b1", 1) == 1, 30, "the backlog reading to be stored")
    # before the --from time it is still refused: the binding says from when, no earlier
    assert c.publish("pantau/v1/gw-b1/flood", flood(2, "st-b1", days_ago(4))) == REFUSED
    H.wait_until(lambda: dead_letters("gw-b1") == 1, 30, "the dead letter of seq 2")
    assert stored("gw-b1", 2) == 0


def test_bind_from_the_past_fills_only_the_unbound_period():
    """device-bind --from a past time for a device bound since its enrolment: the earlier
    period is added beside the existing row, which stays as it was."""
    e = world()
    adm("station-add", "st-b2", "--kind", "flood_gauge")
    enrolled = now()
    secret = enrol("gw-b2", "st-b2", enrolled)
    since = days_ago(5)
    r = adm("device-bind", "gw-b2", "st-b2", "--from", utc(since))
    assert "gw-b2 speaks for st-b2 from %s" % wire(since) in r.stderr, r.stderr
    assert bindings("gw-b2") == [("gw-b2", "st-b2", since, enrolled),
                                 ("gw-b2", "st-b2", enrolled, None)], bindings("gw-b2")
    broker_knows("gw-b2", "st-b2", since)
    c = e.client("gw-b2", secret)
    assert c.publish("pantau/v1/gw-b2/flood", flood(1, "st-b2", days_ago(4))) in OK
    H.wait_until(lambda: stored("gw-b2", 1) == 1, 30, "the backlog reading to be stored")
    # the same again changes nothing
    r = adm("device-bind", "gw-b2", "st-b2", "--from", utc(since))
    assert "nothing changed" in r.stderr, r.stderr
    assert len(bindings("gw-b2")) == 2
    # the binding is in two pieces now: ending it inside the first would leave the second
    r = adm("device-unbind", "gw-b2", "st-b2", "--at", utc(days_ago(3)), want=1)
    assert "gw-b2 speaks for st-b2 again from %s" % wire(enrolled) in r.stderr, r.stderr
    assert len(bindings("gw-b2")) == 2


def test_gateway_swap_keeps_both_periods():
    e = world()
    adm("station-add", "st-s1", "--kind", "flood_gauge")
    t0 = days_ago(10)
    old = enrol("gw-old", "st-s1", t0)
    c = e.client("gw-old", old)
    assert c.publish("pantau/v1/gw-old/flood", flood(1, "st-s1", days_ago(8))) in OK
    H.wait_until(lambda: stored("gw-old", 1) == 1, 30, "the old gateway's reading")
    # its binding cannot end before a reading it stored: that reading is the evidence
    r = adm("device-unbind", "gw-old", "st-s1", "--at", utc(days_ago(9)), want=1)
    assert "1 reading of gw-old for st-s1 taken at or after" in r.stderr, r.stderr
    assert bindings("gw-old") == [("gw-old", "st-s1", t0, None)]
    # the swap at T: the old one's period ends there, the new one's begins there
    swap = days_ago(6)
    r = adm("device-unbind", "gw-old", "st-s1", "--at", utc(swap))
    assert "gw-old no longer speaks for st-s1 from %s" % wire(swap) in r.stderr, r.stderr
    new = enrol("gw-new", "st-s1", swap)
    assert bindings(station_id="st-s1") == [("gw-old", "st-s1", t0, swap),
                                            ("gw-new", "st-s1", swap, None)]
    n = e.client("gw-new", new)
    assert n.publish("pantau/v1/gw-new/flood", flood(1, "st-s1", days_ago(5))) in OK
    H.wait_until(lambda: stored("gw-new", 1) == 1, 30, "the new gateway's backlog reading")
    history = adm("history", "st-s1").stdout
    assert "binding    %s %s device gw-old" % (wire(t0), wire(swap)) in history, history
    assert "binding    %s -" % wire(swap) in history and "device gw-new" in history, history
    # a time at which it is not bound: nothing to end
    r = adm("device-unbind", "gw-old", "st-s1", "--at", utc(days_ago(1)), want=1)
    assert "gw-old does not speak for st-s1 at" in r.stderr, r.stderr


def test_device_remove_keeps_the_record():
    """device-remove ends the bindings instead of deleting them, and keeps the device row,
    disabled (only commands that existed before are used, so the old behaviour shows here)."""
    e = world()
    e.add_station("st-r1")
    r = adm("device-add", "gw-r1", "--kind", "flood_gateway", "--station", "st-r1",
            "--key-file", e.key_file)
    e.secrets["gw-r1"] = r.stdout.strip()
    since = bindings("gw-r1")[0][2]
    r = adm("device-remove", "gw-r1")
    rows = bindings("gw-r1")
    assert len(rows) == 1 and rows[0][2] == since and rows[0][3] is not None, rows
    assert rows[0][3] <= dt.datetime.now(dt.timezone.utc), rows
    assert e.sql("SELECT 1 FROM pantau_ops.account WHERE username = 'gw-r1'") == []
    assert e.sql("SELECT enabled FROM pantau.device WHERE device_id = 'gw-r1'") == [(False,)]
    assert "1 binding ended" in r.stderr and "stays, disabled" in r.stderr, r.stderr
    # a device with no history at all goes entirely
    r = adm("device-add", "gw-r2", "--kind", "flood_gateway", "--key-file", e.key_file)
    e.secrets["gw-r2"] = r.stdout.strip()
    adm("device-remove", "gw-r2")
    assert e.sql("SELECT 1 FROM pantau.device WHERE device_id = 'gw-r2'") == []


# ---- mounts and thresholds ---------------------------------------------------------------------

def test_mounts_and_thresholds_keep_every_period_and_flood_level_uses_each():
    e = world()
    adm("station-add", "st-m1", "--kind", "flood_gauge")
    m0, m1, m2 = days_ago(300), days_ago(200), days_ago(100)
    adm("mount-set", "st-m1", "500", "--from", utc(m0))
    # an offset (+07:00, WIB) is read as the same instant in UTC
    wib = m2.astimezone(dt.timezone(dt.timedelta(hours=7))).strftime("%Y-%m-%dT%H:%M:%S+07:00")
    r = adm("mount-set", "st-m1", "520", "--from", wib)
    assert "ends at %s" % wire(m2) in r.stderr, r.stderr
    # a correction between the two: the first ends at m1, the new one runs until m2
    adm("mount-set", "st-m1", "510", "--from", utc(m1))
    mounts = e.sql("SELECT lower(valid), upper(valid), offset_cm FROM pantau.gauge_mount"
                   " WHERE station_id = 'st-m1' ORDER BY lower(valid)")
    assert mounts == [(m0, m1, 500.0), (m1, m2, 510.0), (m2, None, 520.0)], mounts
    r = adm("mount-set", "st-m1", "510", "--from", utc(m1 + dt.timedelta(days=1)))
    assert "nothing changed" in r.stderr, r.stderr
    r = adm("mount-set", "st-m1", "515", "--from", utc(m1), want=1)
    assert "has a mount from %s already" % wire(m1) in r.stderr, r.stderr
    adm("threshold-set", "st-m1", "--siaga3", "300", "--siaga2", "400", "--siaga1", "500",
        "--from", utc(m0), "--source", "BBWS Citarum 2025")
    adm("threshold-set", "st-m1", "--siaga3", "280", "--siaga2", "350", "--siaga1", "420",
        "--from", utc(m2))
    thresholds = e.sql("SELECT lower(valid), upper(valid), siaga3_from, siaga1_from, source"
                       " FROM pantau.gauge_threshold WHERE station_id = 'st-m1'"
                       " ORDER BY lower(valid)")
    assert thresholds == [(m0, m2, 300.0, 500.0, "BBWS Citarum 2025"),
                          (m2, None, 280.0, 420.0, "")], thresholds
    mounts_after = e.sql("SELECT count(*) FROM pantau.gauge_mount WHERE station_id = 'st-m1'")
    assert mounts_after == [(3,)]
    # readings in each period, through the broker and the collector
    secret = enrol("gw-m1", "st-m1", m0)
    c = e.client("gw-m1", secret)
    for seq, t in ((1, m0), (2, m1), (3, m2)):
        ts = t + dt.timedelta(days=10)
        assert c.publish("pantau/v1/gw-m1/flood",
                         flood(seq, "st-m1", ts, level_cm=430, distance_cm=100,
                               offset_cm=530)) in OK
    H.wait_until(lambda: e.scalar("SELECT count(*) FROM pantau.flood_reading"
                                  " WHERE device_id = 'gw-m1'") == 3, 30, "three readings")
    levels = e.sql("SELECT seq, level_registry_cm, siaga FROM pantau_report.flood_level"
                   " WHERE device_id = 'gw-m1' ORDER BY seq")
    assert levels == [(1, 400.0, 2), (2, 410.0, 2), (3, 420.0, 1)], levels
    history = adm("history", "st-m1").stdout
    for line in ("mount      %s %s offset_cm 500" % (wire(m0), wire(m1)),
                 "mount      %s %s offset_cm 510" % (wire(m1), wire(m2)),
                 "mount      %s -" % wire(m2),
                 "threshold  %s %s level_cm siaga3 300 siaga2 400 siaga1 500 source "
                 "'BBWS Citarum 2025'" % (wire(m0), wire(m2))):
        assert line in history, "%r not in\n%s" % (line, history)
    # a camera has no mount
    adm("station-add", "cam-m1", "--kind", "traffic_camera")
    r = adm("mount-set", "cam-m1", "100", want=1)
    assert "cam-m1 is a traffic_camera" in r.stderr, r.stderr


# ---- refusals ----------------------------------------------------------------------------------

BAD = [
    # (argv, the words the message must hold)
    (["mount-set", "st-x", "abc"], "mount-set: OFFSET_CM 'abc': not a number"),
    (["mount-set", "st-x", "nan"], "OFFSET_CM 'nan': not a number"),
    (["mount-set", "st-x", "0x10"], "OFFSET_CM '0x10': not a number"),
    (["mount-set", "st-x", "1e9"], "OFFSET_CM '1e9': not in -10000..100000 cm"),
    (["mount-set", "st-x", ""], "OFFSET_CM '': not a number"),
    (["mount-set", "St-X", "10"], "mount-set: STATION 'St-X': not an id"),
    (["mount-set", "st-x"], "mount-set: wrong number of arguments"),
    (["mount-set", "st-x", "10", "--from", "2026-13-01T00:00:00Z"],
     "--from '2026-13-01T00:00:00Z': month 13"),
    (["mount-set", "st-x", "10", "--from", "2026-02-30T00:00:00Z"],
     "--from '2026-02-30T00:00:00Z': day 30 does not exist"),
    (["mount-set", "st-x", "10", "--from", "2026-12-01"], "--from '2026-12-01': not an RFC 3339"),
    (["mount-set", "st-x", "10", "--from", "2026-12-01T00:00:00"],
     "--from '2026-12-01T00:00:00': not an RFC 3339 time"),
    (["mount-set", "st-x", "10", "--from", "2026-12-01T00:00:00.1234Z"],
     "more than 3 decimals"),
    (["mount-set", "st-x", "10", "--from", "2026-12-01T00:00:00+24:00"],
     "--from '2026-12-01T00:00:00+24:00': offset +24:00 out of range"),
    (["mount-set", "st-x", "10", "--from", "1969-12-31T23:00:00Z"], "--from '1969-12-31T23"),
    (["mount-set", "st-x", "10", "--from", "1970-01-01T06:00:00+07:00"],
     "outside 1970..2099"),
    (["mount-set", "st-x", "10", "--from", "now"], "--from 'now'"),
    (["mount-set", "st-x", "10", "--from", "2026-12-01T00:00:00Z", "--from",
      "2026-12-02T00:00:00Z"], "--from given twice"),
    (["mount-set", "st-x", "10", "--at", "2026-12-01T00:00:00Z"], "mount-set: --at does not"),
    (["device-bind", "Bad/Id", "st-x"], "device-bind: ID 'Bad/Id': not an id"),
    (["device-bind", "gw-x", "st x"], "device-bind: STATION 'st x': not an id"),
    (["device-bind", "gw-x", "st-x", "--from", "yesterday"], "device-bind: --from 'yesterday'"),
    (["device-bind", "gw-x", "st-x", "--at", "2026-12-01T00:00:00Z"], "--at does not apply"),
    (["device-unbind", "gw-x", "st-x", "--at", "2026-12-01 00:00"], "--at '2026-12-01 00:00'"),
    (["device-unbind", "gw-x", "st-x", "--from", "2026-12-01T00:00:00Z"],
     "device-unbind: --from does not apply"),
    (["device-add", "gw-x", "--kind", "flood_gateway", "--station", "st-x", "--from", "soon"],
     "device-add: --from 'soon'"),
    (["device-add", "gw-x", "--kind", "flood_gateway", "--from", "2026-12-01T00:00:00Z"],
     "device-add: --from is when its --station bindings start, and none is given"),
    (["device-add", "gw-x", "--kind", "flood_gateway", "--at", "2026-12-01T00:00:00Z"],
     "device-add: --at does not apply"),
    (["user-add", "rina", "--role", "admin", "--siaga1", "3"], "user-add: --siaga1 does not"),
    (["threshold-set", "st-x", "--siaga3", "300", "--siaga2", "200", "--siaga1", "500"],
     "threshold-set: --siaga2 '200': not above --siaga3 300"),
    (["threshold-set", "st-x", "--siaga3", "300", "--siaga2", "400", "--siaga1", "400"],
     "--siaga1 '400': not above --siaga2 400"),
    (["threshold-set", "st-x", "--siaga3", "300", "--siaga2", "400"], "--siaga1 is needed"),
    (["threshold-set", "st-x", "--siaga3", "x", "--siaga2", "400", "--siaga1", "500"],
     "--siaga3 'x': not a number"),
    (["threshold-set", "st-x", "--siaga3", "1", "--siaga2", "2", "--siaga1", "3",
      "--quantity", "volume"], "--quantity 'volume': not level_cm or discharge_m3s"),
    (["threshold-set", "st-x", "--siaga3", "1", "--siaga2", "2", "--siaga1", "3",
      "--source", "BB\x01WS"], "--source 'BB\\x01WS': not text"),
    (["threshold-set", "st-x", "--siaga3", "1", "--siaga2", "2", "--siaga1", "3",
      "--source", "x" * 201], "--source 'xxxx"),
    (["station-add", "st-x", "--kind", "river"], "--kind 'river': not flood_gauge or"),
    (["station-add", "st-x"], "station-add: --kind flood_gauge or traffic_camera is needed"),
    (["station-add", "st-x", "--kind", "flood_gauge", "--lat", "12"],
     "--lat '12': not in -11..6 degrees"),
    (["station-add", "st-x", "--kind", "flood_gauge", "--lon", "abc"], "--lon 'abc': not a"),
    (["station-add", "st-x", "--kind", "flood_gauge", "--kelurahan", "32.75.99.9999"],
     "--kelurahan '32.75.99.9999': not a kelurahan code"),
    (["station-add", "st-x", "--kind", "flood_gauge", "--datum", "sea"],
     "--datum 'sea': not gauge_zero or mdpl"),
    (["station-add", "st-x", "--kind", "traffic_camera", "--datum", "mdpl"],
     "--datum 'mdpl': only a flood_gauge"),
    (["station-add", "st-x", "--kind", "flood_gauge", "--capacity", "100"],
     "--capacity '100': only a traffic_camera"),
    (["station-add", "st-x", "--kind", "traffic_camera", "--capacity", "-5"],
     "--capacity '-5': not in"),
    (["station-add", "st-x", "--kind", "flood_gauge", "--name", "a\nb"], "--name 'a\\x0ab'"),
    (["station-update", "st-x"], "station-update: nothing to change"),
    (["station-update", "st-x", "--kind", "traffic_camera"], "station-update: --kind does not"),
    (["history", "St!"], "history: STATION 'St!': not an id"),
    (["station-list", "x"], "station-list: wrong number of arguments"),
]


def registry_rows():
    return world().sql(
        "SELECT (SELECT count(*) FROM pantau.station), (SELECT count(*) FROM pantau.device),"
        " (SELECT count(*) FROM pantau.device_station), (SELECT count(*) FROM pantau.gauge_mount),"
        " (SELECT count(*) FROM pantau.gauge_threshold),"
        " (SELECT count(*) FROM pantau_ops.account)")[0]


def test_every_bad_argument_is_refused_naming_it():
    e = world()
    before = registry_rows()
    for argv, words in BAD:
        extra = ["--key-file", e.key_file] if argv[0] == "device-add" else []
        r = adm(*(argv + extra), want=2)
        assert words in r.stderr, "%r: %r not in %r" % (argv, words, r.stderr)
        assert r.stdout == "", (argv, r.stdout)
    assert registry_rows() == before, "a refused command changed the registry"


def test_what_the_database_refuses_is_said_in_words():
    adm("station-add", "st-w1", "--kind", "flood_gauge")
    adm("station-add", "cam-w1", "--kind", "traffic_camera")
    enrol("gw-w1", "st-w1", days_ago(1))
    r = adm("device-bind", "gw-w1", "no-such-station", want=1)
    assert "device-bind: no station no-such-station" in r.stderr, r.stderr
    r = adm("device-bind", "no-such-gw", "st-w1", want=1)
    assert "device-bind: no device no-such-gw" in r.stderr, r.stderr
    r = adm("device-bind", "gw-w1", "cam-w1", want=1)
    assert "gw-w1 is a flood_gateway and cannot speak for cam-w1, a traffic_camera" in r.stderr
    r = adm("mount-set", "no-such-station", "10", want=1)
    assert "mount-set: no station no-such-station" in r.stderr, r.stderr
    r = adm("history", "no-such-station", want=1)
    assert "no station no-such-station" in r.stderr, r.stderr


def test_an_overlap_made_at_the_same_time_is_said_in_words():
    """Another transaction adds a mount while mount-set runs: the EXCLUDE constraint refuses
    mount-set's row, and the message names the station and the period, not the constraint."""
    e = world()
    adm("station-add", "st-c1", "--kind", "flood_gauge")
    t1, t2 = days_ago(20), days_ago(10)
    other = psycopg2.connect(e.dsn)
    try:
        with other.cursor() as cur:
            cur.execute("INSERT INTO pantau.gauge_mount (station_id, valid, offset_cm)"
                        " VALUES ('st-c1', tstzrange(%s, NULL), 300)", (t1,))
        p = subprocess.Popen([B.admin_path(), "--db", _state["dsn"], "mount-set", "st-c1", "310",
                              "--from", utc(t2)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        H.on_exit(p.kill)
        H.wait_until(lambda: e.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO pantau.gauge_mount%'") > 0,
            30, "mount-set to wait for the other transaction")
        other.commit()
    finally:
        other.close()
    out, err = p.communicate(timeout=60)
    assert p.returncode == 1, (p.returncode, out, err)
    assert ("station st-c1 already has another version over part of the period from %s"
            % wire(t2)) in err, err
    assert "exclusion" not in err and "conflicting key" not in err, err
    assert e.sql("SELECT offset_cm FROM pantau.gauge_mount WHERE station_id = 'st-c1'") == [(300,)]


def test_no_sanitizer_report_nor_secret_in_any_log():
    check_sanitizer(world())
    B.check_no_secrets(world())


if __name__ == "__main__":
    H.run_tests(globals())
