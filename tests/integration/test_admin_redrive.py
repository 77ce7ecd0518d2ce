"""test_admin_redrive.py -- pantau-admin redrive (issue 9 items 9 and 13): dead letters whose cause
is gone are validated again by a collector and stored.

A device publishes a flood reading for a station it is not bound to at the reading's time: the
broker refuses it and passes it on, the collector dead-letters it (category station) and
acknowledges it as dead. The operator binds the station from the past (device-bind --from) and
runs `pantau-admin redrive --device ...`: the reading is stored (flood_reading, the report's
flood_level), its ledger row says stored, the dead letter says redriven; the device's later
resend is acknowledged as stored, not dead. A second redrive stores nothing more; a dead letter
whose cause is still there stays; json and schema dead letters are never redriven and the
output says so; bad arguments are refused naming the argument; with two collectors each
request is done by one.

One broker, database and collector for the file (a second collector for the last test).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import broker_support as B  # noqa: E402
import pantau_harness as H  # noqa: E402
from broker_policy_support import (OK, REFUSED, STORE, device, flood,  # noqa: E402
                                   start_collector)

TS = "2026-02-11T03:15:00.000Z"  # the readings' time: before the binding added later
_state = {}


def world():
    if not _state:
        e = B.BrokerEnv("admin-redrive")
        H.on_exit(e.close)
        col = start_collector(e, "collector-1")
        _state.update(env=e, collector=col)
    return _state["env"]


def dead(e, device_id):
    return B.dead_letters(e, device_id,
                          "seq, category, redriven_at IS NOT NULL, redrive_request", order="seq")


def report(stdout):
    """pantau-admin redrive's output as {label: value} of its 'label: value' lines, and the
    indented group lines."""
    fields = {}
    groups = []
    for line in stdout.splitlines():
        if line.startswith("  "):
            groups.append(line.strip())
        elif ": " in line:
            k, v = line.split(": ", 1)
            fields[k] = v
    return fields, groups


def test_redrive_stores_a_dead_letter_once_its_binding_exists_9_9():
    e = world()
    s = device(e, "gw-rd", stations=["st-rd-home"])
    e.add_station("st-rd-new")
    e.add_station("st-rd-never")
    c = e.client("gw-rd", s)
    acks = B.Acks(c, "gw-rd", STORE)
    later = flood(1, "st-rd-new", ts=TS)              # bound later, from the past
    never = flood(2, "st-rd-never", ts=TS)            # never bound: stays
    nan = flood(3, "st-rd-home", ts=TS, level_cm=12345.5).replace("12345.5", "NaN")  # json
    schema = flood(4, "st-rd-home", ts=TS, levl_cm=1)  # schema
    for p in (later, never, nan, schema):
        assert c.publish("pantau/v1/gw-rd/flood", p) == REFUSED, p
    acks.wait([1, 2, 3, 4], "dead acknowledgements of seqs 1 to 4")
    assert acks.dead == {1, 2, 3, 4}, acks.dead
    H.wait_until(lambda: len(dead(e, "gw-rd")) == 4, 30, "four dead letters")
    assert [r[:3] for r in dead(e, "gw-rd")] == [
        (1, "station", False), (2, "station", False), (3, "json", False), (4, "schema", False)]

    # before the binding: a dry run finds nothing to store
    r = e.admin("redrive", "--device", "gw-rd", "--dry-run")
    fields, groups = report(r.stdout)
    assert fields["would be stored"] == "0" and fields["still refused"] == "2", r.stdout
    assert any(g.startswith("2 station") and "not bound" in g for g in groups), r.stdout

    e.admin("device-bind", "gw-rd", "st-rd-new", "--from", "2026-02-01T00:00:00Z")
    r = e.admin("redrive", "--device", "gw-rd", "--dry-run")
    fields, _ = report(r.stdout)
    assert fields["would be stored"] == "1", r.stdout
    assert e.scalar("SELECT count(*) FROM pantau.flood_reading WHERE device_id = 'gw-rd'") == 0

    r = e.admin("redrive", "--device", "gw-rd")
    fields, groups = report(r.stdout)
    assert (fields["examined"], fields["stored"], fields["already stored"],
            fields["still refused"], fields["not redriven"]) == ("2", "1", "0", "1", "2"), r.stdout
    assert any(g.startswith("1 station") and "st-rd-never" in g for g in groups), r.stdout
    assert any(g.startswith("1 json") and "cannot go away" in g for g in groups), r.stdout
    assert any(g.startswith("1 schema") and "cannot go away" in g for g in groups), r.stdout
    request = e.scalar("SELECT max(id) FROM pantau_ops.redrive_request")

    # stored: facts, the report's view, the ledger; the dead letter says redriven
    assert e.sql("SELECT seq, station_id, level_cm FROM pantau.flood_reading"
                 " WHERE device_id = 'gw-rd'") == [(1, "st-rd-new", 637.5)]
    assert e.sql("SELECT seq, station_id FROM pantau_report.flood_level"
                 " WHERE device_id = 'gw-rd'") == [(1, "st-rd-new")]
    ledger = e.sql("SELECT seq, outcome FROM pantau.reading_ledger WHERE device_id = 'gw-rd'"
                   " ORDER BY seq")
    assert ledger == [(1, "stored"), (2, "dead_letter"), (3, "dead_letter"),
                      (4, "dead_letter")], ledger
    assert dead(e, "gw-rd") == [(1, "station", True, request), (2, "station", False, None),
                                (3, "json", False, None), (4, "schema", False, None)]

    # the device's resend is acknowledged as stored, not dead (the broker lets it through now
    # that the binding covers its time; until it has reloaded, it may refuse it once more)
    acks.acked.clear()
    acks.dead.clear()
    H.wait_until(lambda: c.publish("pantau/v1/gw-rd/flood", later) in OK, 30,
                 "the broker to accept the resend")
    acks.acked.clear()
    acks.dead.clear()
    assert c.publish("pantau/v1/gw-rd/flood", later) in OK
    acks.wait([1], "the acknowledgement of the resend")
    assert 1 not in acks.dead, acks.dead
    assert e.scalar("SELECT count(*) FROM pantau.flood_reading WHERE device_id = 'gw-rd'") == 1

    # a second redrive stores nothing more; the dead letter whose cause is there stays
    r = e.admin("redrive", "--device", "gw-rd")
    fields, _ = report(r.stdout)
    assert (fields["examined"], fields["stored"], fields["still refused"]) == ("1", "0", "1"), \
        r.stdout
    assert e.scalar("SELECT count(*) FROM pantau.flood_reading WHERE device_id = 'gw-rd'") == 1
    assert [r[:3] for r in dead(e, "gw-rd")] == [
        (1, "station", True), (2, "station", False), (3, "json", False), (4, "schema", False)]
    # a json dead letter asked for by id is not redriven either, and the output says why
    json_id = e.scalar("SELECT id FROM pantau_ops.dead_letter WHERE device_id = 'gw-rd'"
                       " AND seq = 3")
    r = e.admin("redrive", "--id", str(json_id))
    fields, groups = report(r.stdout)
    assert (fields["examined"], fields["not redriven"]) == ("0", "1"), r.stdout
    assert groups == ["1 json: the cause is in the message itself, it cannot go away"], r.stdout


def test_redrive_never_stores_a_second_reading_under_a_stored_key_9_9():
    e = world()
    s = device(e, "gw-rc", stations=["st-rc-home"])
    e.add_station("st-rc-new")
    c = e.client("gw-rc", s)
    acks = B.Acks(c, "gw-rc", STORE)
    assert c.publish("pantau/v1/gw-rc/flood", flood(5, "st-rc-home", ts=TS)) in OK
    acks.wait([5], "the acknowledgement of seq 5")
    # other content under the stored key, refused at the door for its station
    assert c.publish("pantau/v1/gw-rc/flood", flood(5, "st-rc-new", ts=TS)) == REFUSED
    H.wait_until(lambda: len(dead(e, "gw-rc")) == 1, 30, "the dead letter")
    e.admin("device-bind", "gw-rc", "st-rc-new", "--from", "2026-02-01T00:00:00Z")
    r = e.admin("redrive", "--device", "gw-rc")
    fields, groups = report(r.stdout)
    assert (fields["examined"], fields["stored"], fields["still refused"]) == ("1", "0", "1"), \
        r.stdout
    assert any(g.startswith("1 clash") for g in groups), r.stdout
    assert e.sql("SELECT seq, station_id FROM pantau.flood_reading WHERE device_id = 'gw-rc'") \
        == [(5, "st-rc-home")]
    assert e.sql("SELECT seq, outcome FROM pantau.reading_ledger WHERE device_id = 'gw-rc'") \
        == [(5, "stored")]
    assert [r[:3] for r in dead(e, "gw-rc") if r[1] == "station"] == [(5, "station", False)]


def test_redrive_refuses_bad_arguments_naming_them_9_9():
    e = world()
    for args, name in ((["redrive", "--device", "GW BAD"], "--device"),
                       (["redrive", "--category", "rate"], "--category"),
                       (["redrive", "--since", "yesterday"], "--since"),
                       (["redrive", "--until", "2026-02-30"], "--until"),
                       (["redrive", "--since", "2026-02-11", "--until", "2026-02-10"], "--until"),
                       (["redrive", "--id", "abc"], "--id"),
                       (["redrive", "--id", "0"], "--id"),
                       (["redrive", "--id", "-3"], "--id"),
                       (["redrive", "--timeout", "0"], "--timeout"),
                       (["redrive", "--timeout", "5s"], "--timeout"),
                       (["redrive", "--reason", "rejected"], "--reason"),
                       (["redrive", "--limit", "5"], "--limit"),
                       (["redrive", "gw-rd"], "redrive"),
                       (["dead-list", "--dry-run"], "--dry-run"),
                       (["dead-list", "--id", "3"], "--id")):
        r = e.admin(*args, check=False)
        assert r.returncode == 2 and name in r.stderr, (args, r.returncode, r.stderr)
    assert e.scalar("SELECT count(*) FROM pantau_ops.redrive_request"
                    " WHERE requested_at > now() - interval '1 minute'"
                    " AND device_id = 'GW BAD'") == 0


def test_two_collectors_never_both_do_one_request_9_9():
    e = world()
    second = start_collector(e, "collector-2")
    try:
        for _ in range(4):
            r = e.admin("redrive", "--device", "gw-nobody", "--dry-run")
            assert "examined: 0" in r.stdout, r.stdout
        ids = [row[0] for row in e.sql("SELECT id FROM pantau_ops.redrive_request"
                                       " WHERE device_id = 'gw-nobody' ORDER BY id")]
        assert len(ids) == 4
        logs = _state["collector"].run_log() + second.run_log()
        for i in ids:
            assert logs.count("redrive request=%d claimed" % i) == 1, (i, logs)
        assert e.scalar("SELECT count(*) FROM pantau_ops.redrive_request"
                        " WHERE device_id = 'gw-nobody' AND state = 'done'") == 4
        # a request whose collector died (no sign of life for minutes) is taken over, and goes
        # on from the counts and refusals it left
        taken = e.scalar(
            "INSERT INTO pantau_ops.redrive_request (device_id, dry_run, state, claimed_by,"
            " claimed_at, examined, stored, already_stored, still_refused, progress, result)"
            " VALUES ('gw-nobody', true, 'running', 'collector-gone', now() - interval '5 min',"
            " 7, 2, 0, 5, 0, '{\"refused\": [{\"category\": \"station\", \"count\": 5,"
            " \"example\": \"earlier\"}]}') RETURNING id")
        H.wait_until(lambda: e.scalar("SELECT state FROM pantau_ops.redrive_request"
                                      " WHERE id = %s", taken) == "done", 30,
                     "the request to be taken over")
        row = e.sql("SELECT claimed_by, examined, stored, still_refused, result->'refused'"
                    " FROM pantau_ops.redrive_request WHERE id = %s", taken)[0]
        assert row[0] in ("collector-1", "collector-2") and row[1:4] == (7, 2, 5), row
        assert row[4] == [{"category": "station", "count": 5, "example": "earlier"}], row
    finally:
        second.stop()


def test_no_secrets_logged_and_no_sanitizer_reports():
    B.check_no_secrets(world())


if __name__ == "__main__":
    H.run_tests(globals())
