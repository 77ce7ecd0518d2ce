"""test_broker_deadletter_ops.py -- refusals at the broker with the real collector (issue 9 items
4 and 13, protocol.md 7.2 and 7.3):

- a refused reading whose store and seq can still be read (NaN, cut short, a bad `ts`, larger
  than 8192 bytes) is a dead letter keyed on them and acknowledged as dead; one whose seq
  cannot be read is a dead letter without a key and is not acknowledged;
- a dead letter has a category from a closed set, the payload's size as the device sent it and
  the SHA-256 of the whole payload (the broker sends both on pantau/v1/_sys/rejected), and an
  oversize payload is keyed on that hash: two that share their first 8192 bytes are two;
- pantau-admin lists dead letters by device, category, reason and time, shows one decoded
  (escaped where it is not UTF-8 or would mislead a screen), and refuses bad input naming the
  argument.

One broker, database and collector for the file.
"""

import base64
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import broker_support as B  # noqa: E402
import pantau_harness as H  # noqa: E402
from broker_policy_support import (OK, REFUSED, STORE, check_sanitizer, device, flood,  # noqa: E402
                                   start_collector, user)

_state = {}


def world():
    if not _state:
        e = B.BrokerEnv("deadletter-ops")
        H.on_exit(e.close)
        port = H.free_port()
        col = start_collector(e, "collector-1", metrics_port=port)
        _state.update(env=e, collector=col, metrics=port)
    return _state["env"]


def dead_letters(e, device_id):
    return B.dead_letters(e, device_id, "seq, category, reason, payload_size,"
                          " octet_length(payload), encode(payload_sha256, 'hex'), payload")


def test_refused_readings_with_a_readable_key_are_acked_as_dead_9_4():
    e = world()
    s = device(e, "gw-d4", stations=["st-d4"])
    c = e.client("gw-d4", s)
    acks = B.Acks(c, "gw-d4", STORE)
    nan = flood(1, "st-d4", level_cm=12345.5).replace("12345.5", "NaN")
    cut = flood(2, "st-d4")[:-7]
    bad_ts = flood(3, "st-d4", ts="2026-02-11 03:15:00")
    big = flood(4, "st-d4", x_pad="a" * 9000)
    bad_seq = flood(5, "st-d4").replace('"seq":5', '"seq":"5"')
    for payload in (nan, cut, bad_ts, big, bad_seq):
        assert c.publish("pantau/v1/gw-d4/flood", payload) == REFUSED, payload[:80]
    assert c.publish("pantau/v1/gw-d4/flood", flood(6, "st-d4")) in OK
    acks.wait([1, 2, 3, 4, 6], "acknowledgements of seqs 1 to 4 and 6")
    assert acks.dead == {1, 2, 3, 4}, acks.dead
    assert 5 not in acks.acked
    H.wait_until(lambda: len(dead_letters(e, "gw-d4")) == 5, 30, "five dead letters")
    rows = {bytes(r[6]): r for r in dead_letters(e, "gw-d4")}
    assert [rows[p.encode()[:8192]][:2] for p in (nan, cut, bad_ts, big, bad_seq)] == [
        (1, "json"), (2, "json"), (3, "schema"), (4, "json"), (None, "schema")], rows.values()
    assert e.scalar("SELECT count(*) FROM pantau.flood_reading WHERE device_id = 'gw-d4'") == 1
    # where the whole envelope could be read too, the reading is settled in the ledger as a
    # dead letter (so the gap views do not count it as missing)
    assert e.sql("SELECT seq, outcome FROM pantau.reading_ledger WHERE device_id = 'gw-d4'"
                 " ORDER BY seq") == [(1, "dead_letter"), (2, "dead_letter"),
                                      (4, "dead_letter"), (6, "stored")]


def test_oversize_payloads_are_keyed_on_their_whole_hash_with_the_size_sent_9_13():
    e = world()
    s = device(e, "gw-d13", stations=["st-d13"])
    c = e.client("gw-d13", s)
    head = flood(7, "st-d13", x_pad="b" * 9000)[:-2]
    keyed = [head + tail + '"}' for tail in ("x", "y")]          # 9000+ bytes, same first 8192
    raw = [b"z" * 10000, b"z" * 9999 + b"!"]                     # no store or seq at all
    for payload in keyed + raw + keyed[:1] + raw[:1]:            # each of the first two again
        assert c.publish("pantau/v1/gw-d13/flood", payload) == REFUSED
    H.wait_until(lambda: len(dead_letters(e, "gw-d13")) == 4, 30, "four dead letters")
    rows = dead_letters(e, "gw-d13")
    want = [(7, "json", len(p), 8192, hashlib.sha256(p if isinstance(p, bytes) else
                                                     p.encode()).hexdigest())
            for p in keyed] + [(None, "json", 10000, 8192, hashlib.sha256(p).hexdigest())
                               for p in raw]
    assert sorted((r[0] or 0, r[3]) for r in rows) == sorted((w[0] or 0, w[2]) for w in want)
    assert sorted([r[:2] + r[3:6] for r in rows], key=str) == sorted(
        [(w[0], w[1], w[2], w[3], w[4]) for w in want], key=str), rows
    # and the resends added nothing: one more message after them proves they were handled
    assert c.publish("pantau/v1/gw-d13/flood", flood(8, "st-d13", levl_cm=1)) == REFUSED
    H.wait_until(lambda: len(dead_letters(e, "gw-d13")) == 5, 30, "the fifth dead letter")


def test_rejected_message_carries_category_size_and_hash_9_13():
    e = world()
    s = device(e, "gw-dcat", stations=["st-dcat"])
    e.add_station("st-dcat-other")
    c = e.client("gw-dcat", s)
    watch_pw = user(e, "collector-watch", "collector")
    w = e.client("collector-watch", watch_pw)
    assert w.subscribe("pantau/v1/_sys/rejected") == 1
    schema = flood(1, "st-dcat", levl_cm=650)
    station = flood(2, "st-dcat-other")
    for payload in (schema, station):
        assert c.publish("pantau/v1/gw-dcat/flood", payload) == REFUSED
    got = []
    for _ in range(2):
        m = w.recv(10, topic="pantau/v1/_sys/rejected")
        assert m is not None
        got.append(json.loads(m[1]))
    assert [(g["category"], g["size"], g["sha256"]) for g in got] == [
        (cat, len(p), hashlib.sha256(p.encode()).hexdigest())
        for cat, p in (("schema", schema), ("station", station))], got
    assert base64.b64decode(got[1]["payload_b64"]) == station.encode()
    H.wait_until(lambda: len(dead_letters(e, "gw-dcat")) == 2, 30, "two dead letters")
    assert sorted(r[:4] for r in dead_letters(e, "gw-dcat")) == [
        (1, "schema", "rejected", len(schema)), (2, "station", "rejected", len(station))]


def test_admin_lists_and_shows_dead_letters_9_13():
    e = world()
    s = device(e, "gw-dadm", stations=["st-dadm"])
    c = e.client("gw-dadm", s)
    sly = b'{"store":"' + STORE.encode() + b'","seq":9,"note":"a\xe2\x80\xaeb\tc\\\\",\xff'
    assert c.publish("pantau/v1/gw-dadm/flood", sly) == REFUSED
    assert c.publish("pantau/v1/gw-dadm/flood", flood(10, "st-dadm", levl_cm=1)) == REFUSED
    H.wait_until(lambda: len(dead_letters(e, "gw-dadm")) == 2, 30, "two dead letters")
    out = e.admin("dead-list", "--device", "gw-dadm").stdout.splitlines()
    assert out[0].split()[:3] == ["ID", "RECEIVED", "(UTC)"], out
    assert len(out) == 3, out
    assert sorted(line.split()[2] for line in out[1:]) == ["json", "schema"], out
    out = e.admin("dead-list", "--device", "gw-dadm", "--category", "json").stdout.splitlines()
    assert len(out) == 2 and "gw-dadm" in out[1], out
    assert len(e.admin("dead-list", "--reason", "rejected", "--device", "gw-dadm",
                       "--limit", "1").stdout.splitlines()) == 2
    assert len(e.admin("dead-list", "--device", "gw-dadm", "--since",
                       "2099-01-01").stdout.splitlines()) == 1
    assert len(e.admin("dead-list", "--device", "gw-dadm", "--since", "2000-01-01T00:00:00Z",
                       "--until", "2099-12-31T23:59:59.999Z").stdout.splitlines()) == 3
    dead_id = e.scalar("SELECT id FROM pantau_ops.dead_letter WHERE device_id = 'gw-dadm'"
                       " AND seq = 9")
    shown = e.admin("dead-show", str(dead_id)).stdout
    fields = dict(line.split(None, 1) for line in shown.splitlines())
    assert fields["category:"] == "json" and fields["device:"] == "gw-dadm", shown
    assert fields["size:"] == "%d bytes as sent" % len(sly), shown
    assert fields["sha256:"] == hashlib.sha256(sly).hexdigest(), shown
    assert fields["payload:"] == ('{"store":"%s","seq":9,"note":"a\\u202Eb\\tc\\\\\\\\",\\xFF'
                                  % STORE), fields["payload:"]
    # bad input is refused (exit 2) with a message naming the argument
    for args, name in ((["dead-list", "--device", "GW BAD"], "--device"),
                       (["dead-list", "--category", "rate"], "--category"),
                       (["dead-list", "--reason", "Bad-Reason"], "--reason"),
                       (["dead-list", "--since", "yesterday"], "--since"),
                       (["dead-list", "--until", "2026-02-30"], "--until"),
                       (["dead-list", "--since", "2026-02-11", "--until", "2026-02-10"],
                        "--until"),
                       (["dead-list", "--limit", "0"], "--limit"),
                       (["dead-list", "--limit", "12x"], "--limit"),
                       (["dead-show", "abc"], "dead-show"),
                       (["dead-show", "0"], "dead-show"),
                       (["dead-show"], "dead-show")):
        r = e.admin(*args, check=False)
        assert r.returncode == 2 and name in r.stderr, (args, r.returncode, r.stderr)
    r = e.admin("dead-show", "987654321", check=False)
    assert r.returncode == 1 and "no dead letter with id 987654321" in r.stderr, r.stderr


def test_no_sanitizer_report_nor_secret_in_any_log():
    check_sanitizer(world())
    B.check_no_secrets(world())


if __name__ == "__main__":
    H.run_tests(globals())
