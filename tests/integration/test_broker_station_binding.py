"""test_broker_station_binding.py -- issue 9 item 1, against the real broker (pantau_broker.so)
and the real collector: the station binding is judged by one rule (msg/msg_binding.c) at both.

A reading taken before the clock was set (ts 1970, clock_synced false) is judged at the time
it was received and stored, not dead-lettered; a reading with clock_synced true is still judged
at its ts, so one from before the binding starts is refused; and a flood reading that names a
camera station is refused by the broker itself (before, only the collector checked the kind).

One broker, database and collector for the file.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import broker_support as B  # noqa: E402
import pantau_harness as H  # noqa: E402
from broker_policy_support import (OK, REFUSED, device, flood, start_collector,  # noqa: E402
                                   wait_stats)

_state = {}


def ts_of(t):
    """t (seconds since the epoch) as a protocol timestamp."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (int(t * 1000) % 1000)


def world():
    if not _state:
        e = B.BrokerEnv("binding")
        H.on_exit(e.close)
        col = start_collector(e, "collector-1", metrics_port=H.free_port())
        _state.update(env=e, collector=col)
    return _state["env"]


def stored(e, device_id):
    return sorted(r[0] for r in e.sql("SELECT seq FROM pantau.flood_reading"
                                      " WHERE device_id = %s", device_id))


def dead_letters(e, device_id):
    return B.dead_letters(e, device_id, "seq, source, reason, detail", order="seq")


def test_unsynced_1970_reading_is_stored_and_synced_one_before_the_binding_refused():
    e = world()
    # bound since an hour ago
    s = device(e, "gw-b1", stations=[])
    e.add_station("st-b1", "flood_gauge")
    e.sql("INSERT INTO pantau.device_station (device_id, station_id, valid) VALUES"
          " ('gw-b1', 'st-b1', tstzrange(now() - interval '1 hour', NULL))")
    device(e, "gw-b1-later")   # the broker has reloaded the registry with the binding
    c = e.client("gw-b1", s)
    early = flood(1, "st-b1", ts="1970-01-01T00:00:00.000Z", clock_synced=False, boot=3,
                  mono_ms=4000)
    assert c.publish("pantau/v1/gw-b1/flood", early) in OK
    two_hours_ago = ts_of(time.time() - 7200)
    before = flood(2, "st-b1", ts=two_hours_ago)
    assert c.publish("pantau/v1/gw-b1/flood", before) == REFUSED
    assert c.publish("pantau/v1/gw-b1/flood", flood(3, "st-b1")) in OK
    H.wait_until(lambda: stored(e, "gw-b1") == [1, 3], 30, "readings 1 and 3 stored")
    H.wait_until(lambda: len(dead_letters(e, "gw-b1")) == 1, 30, "the dead letter of 2")
    rows = dead_letters(e, "gw-b1")
    assert [r[0] for r in rows] == [2], rows
    assert rows[0][1] == "broker", rows
    assert "not bound to device 'gw-b1' at %s (its ts)" % two_hours_ago in (rows[0][3] or ""), \
        rows
    assert e.scalar("SELECT clock_synced FROM pantau.reading_ledger WHERE device_id = 'gw-b1'"
                    " AND seq = 1") is False
    assert e.scalar("SELECT outcome FROM pantau.reading_ledger WHERE device_id = 'gw-b1'"
                    " AND seq = 1") == "stored"


def test_flood_reading_for_a_camera_station_is_refused_by_the_broker():
    e = world()
    s = device(e, "gw-b2", stations=["st-b2"])
    e.add_station("cam-b2", "traffic_camera")
    e.sql("INSERT INTO pantau.device_station (device_id, station_id, valid) VALUES"
          " ('gw-b2', 'cam-b2', tstzrange('2000-01-01', NULL))")
    device(e, "gw-b2-later")
    before = e.stats("payval")
    c = e.client("gw-b2", s)
    assert c.publish("pantau/v1/gw-b2/flood", flood(1, "cam-b2")) == REFUSED
    assert c.publish("pantau/v1/gw-b2/flood", flood(2, "st-b2")) in OK
    wait_stats(e, "payval", lambda st: st["refused_by_reason"]["station"] >=
               before["refused_by_reason"]["station"] + 1)
    H.wait_until(lambda: stored(e, "gw-b2") == [2], 30, "reading 2 stored")
    H.wait_until(lambda: len(dead_letters(e, "gw-b2")) == 1, 30, "the dead letter of 1")
    seq, source, _, detail = dead_letters(e, "gw-b2")[0]
    assert seq == 1 and source == "broker", (seq, source, detail)
    assert "'cam-b2' is a traffic camera, not a station for flood readings" in detail, detail


if __name__ == "__main__":
    H.run_tests(globals())
