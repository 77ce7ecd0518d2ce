"""test_broker_payload_deadletter.py -- payval with the real collector (issue 5 items 3 and 4):
a message that breaks the contract, or names a station the device is not bound to at the
reading's ts, is refused at the door with PUBACK 0x87, passed on pantau/v1/_sys/rejected, and
stored by pantau-collector as a dead letter once, however often it is sent; never as a reading.

One broker, database and collector for the file.
"""

import base64
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import broker_support as B  # noqa: E402
import collector_support as CS  # noqa: E402
import pantau_harness as H  # noqa: E402
from broker_policy_support import (OK, REFUSED, check_sanitizer, device, flood,  # noqa: E402
                                   start_collector, wait_stats)

_state = {}


def world():
    if not _state:
        e = B.BrokerEnv("payload-dl")
        H.on_exit(e.close)
        port = H.free_port()
        col = start_collector(e, "collector-1", metrics_port=port)
        _state.update(env=e, collector=col, metrics=port)
    return _state["env"]


def dead_letters(e, device_id):
    return B.dead_letters(e, device_id, "source, reason, detail, seq, payload")


def readings(e, device_id):
    return e.scalar("SELECT count(*) FROM pantau.flood_reading WHERE device_id = %s", device_id)


def received(n):
    """Waits until the collector took at least n messages from the broker in all."""
    H.wait_until(lambda: (CS.metric(_state["metrics"], "messages_received_total") or 0) >= n,
                 30, "the collector to receive %d messages" % n)


def test_invalid_payload_is_refused_passed_on_and_stored_once():
    e = world()
    s = device(e, "gw-p1", stations=["st-p1"])
    c = e.client("gw-p1", s)
    before = e.stats("payval")
    base = CS.metric(_state["metrics"], "messages_received_total") or 0
    bad = flood(5, "st-p1", levl_cm=650)             # unknown member (protocol.md 4.0)
    for _ in range(3):
        assert c.publish("pantau/v1/gw-p1/flood", bad) == REFUSED
    wait_stats(e, "payval", lambda st: st["forwarded"] >= before["forwarded"] + 3 and
               st["refused_by_reason"]["schema"] >= before["refused_by_reason"]["schema"] + 3)
    received(base + 3)
    # a good reading after them, stored: the collector is past the refused ones
    assert c.publish("pantau/v1/gw-p1/flood", flood(6, "st-p1")) in OK
    H.wait_until(lambda: readings(e, "gw-p1") == 1, 30, "the good reading to be stored")
    H.wait_until(lambda: len(dead_letters(e, "gw-p1")) >= 1, 30, "the dead letter")
    rows = dead_letters(e, "gw-p1")
    assert len(rows) == 1, "one dead letter for three sends of (gw-p1, store, 5): %r" % rows
    source, reason, detail, seq, payload = rows[0]
    assert source == "broker" and seq == 5, rows[0]
    assert "levl_cm" in (detail or "") + reason, rows[0]
    assert bytes(payload) == bad.encode()
    assert e.scalar("SELECT count(*) FROM pantau.flood_reading WHERE device_id = 'gw-p1'"
                    " AND seq = 5") == 0


def test_station_not_bound_is_refused_and_stored_as_a_dead_letter():
    e = world()
    s = e.add_device("gw-p2", stations=["st-p2"])
    e.add_station("st-other")
    e.add_station("st-past")
    e.sql("INSERT INTO pantau.device_station (device_id, station_id, valid) VALUES"
          " ('gw-p2', 'st-past', tstzrange('2000-01-01', '2020-01-01'))")
    # the broker reloads the whole registry: once it knows a device made after the binding,
    # it knows the binding
    device(e, "gw-p2-later")
    c = e.client("gw-p2", s)
    assert c.publish("pantau/v1/gw-p2/flood",
                     flood(1, "st-past", ts="2010-06-01T00:00:00.000Z")) in OK
    assert c.publish("pantau/v1/gw-p2/flood", flood(2, "st-other")) == REFUSED
    assert c.publish("pantau/v1/gw-p2/flood", flood(3, "st-past")) == REFUSED   # 2026
    assert c.publish("pantau/v1/gw-p2/flood", flood(4, "st-p2")) in OK
    H.wait_until(lambda: len(dead_letters(e, "gw-p2")) == 2, 30, "two dead letters")
    H.wait_until(lambda: readings(e, "gw-p2") == 2, 30, "two readings")
    rows = dead_letters(e, "gw-p2")
    assert sorted(r[3] for r in rows) == [2, 3], rows
    assert all("not bound" in (r[2] or "") + r[1] for r in rows), rows
    stored = sorted(r[0] for r in e.sql("SELECT seq FROM pantau.flood_reading"
                                        " WHERE device_id = 'gw-p2'"))
    assert stored == [1, 4], stored
    wait_stats(e, "payval", lambda st: st["refused_by_reason"]["station"] >= 2)


def test_not_json_is_refused_and_passed_on_whole():
    e = world()
    s = device(e, "gw-p3", stations=["st-p3"])
    c = e.client("gw-p3", s)
    watch_pw = e.add_user("collector-watch", "collector")
    e.wait_connack("collector-watch", "collector-watch", watch_pw, 0)
    w = e.client("collector-watch", watch_pw)
    assert w.subscribe("pantau/v1/_sys/rejected") == 1
    raw = b"\xff\xfe not json"
    assert c.publish("pantau/v1/gw-p3/flood", raw) == REFUSED
    m = w.recv(10, topic="pantau/v1/_sys/rejected")
    assert m is not None
    rej = json.loads(m[1])
    assert rej["device"] == "gw-p3" and base64.b64decode(rej["payload_b64"]) == raw, rej
    H.wait_until(lambda: len(dead_letters(e, "gw-p3")) == 1, 30, "the dead letter")
    assert readings(e, "gw-p3") == 0
    assert _state["collector"].running()


def test_no_sanitizer_report_nor_secret_in_any_log():
    """Last: the plugin's sanitizer build (if this is one) reported nothing in this file, and
    no secret or hash made here is in any log."""
    check_sanitizer(world())
    B.check_no_secrets(world())


if __name__ == "__main__":
    H.run_tests(globals())
