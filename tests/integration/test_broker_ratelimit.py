"""test_broker_ratelimit.py -- payval's per-device token buckets (issue 5 item 4) and the
budget of refused messages a device may have passed on pantau/v1/_sys/rejected (item 3), on a
real mosquitto with pantau_broker.so.

The broker runs with small buckets set by plugin options (the syntax operators use):
flood gateways 2/s burst 5, traffic gateways 100/s burst 100, handhelds 1/s burst 3, refused
messages 1/h burst 3: each kind gets its own rate. A burst beyond the bucket gets
PUBACK 0x87, the counters on $SYS/pantau/payval say why, and a device sending garbage has at
most its budget forwarded.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import broker_support as B  # noqa: E402
import pantau_harness as H  # noqa: E402
from broker_policy_support import (OK, REFUSED, check_sanitizer, device, drain, flood,  # noqa: E402
                                   larva, log_has, now_ts, subscriber, user, wait_stats)

_env = None


def env():
    global _env
    if _env is None:
        _env = B.BrokerEnv("ratelimit", plugin_opts={
            "rate_flood_gateway": "2/s burst 5",
            "rate_traffic_gateway": "100/s burst 100",
            "rate_handheld": "1/s burst 3",
            "rejected_rate": "1/h burst 3",
        })
        H.on_exit(_env.close)
    return _env


def test_burst_beyond_the_bucket_is_refused():
    e = env()
    s = device(e, "gw-rl1", stations=["st-rl1"])
    col = subscriber(e, "collector-rl", user(e, "collector-rl", "collector"),
                     ["pantau/v1/+/flood", "pantau/v1/_sys/rejected"])
    c = e.client("gw-rl1", s)
    codes = [c.publish("pantau/v1/gw-rl1/flood", flood(seq, "st-rl1")) for seq in range(1, 31)]
    accepted = sum(1 for rc in codes if rc in OK)
    refused = sum(1 for rc in codes if rc == REFUSED)
    assert accepted + refused == 30, codes
    # the burst of 5, and what 2/s adds while the 30 go out (well under a second here)
    assert 5 <= accepted <= 8, "accepted %d of 30: %s" % (accepted, codes)
    assert codes[:5] == [codes[0]] * 5 and codes[0] in OK, codes
    st = wait_stats(e, "payval", lambda st: st["refused_by_reason"]["rate_limit"] >= refused)
    assert st["refused_by_reason"]["rate_limit"] == refused, st
    got = drain(col, "pantau/v1/gw-rl1/flood", 1.0)
    assert len(got) == accepted
    # over the rate is not a content refusal: nothing forwarded
    assert col.recv(0.3, topic="pantau/v1/_sys/rejected") is None
    log_has(e, "payval: refused message by device=gw-rl1 on 'pantau/v1/gw-rl1/flood': "
               "over 2/s burst 5 (rate_limit)")
    # the bucket refills: after a pause (polled, not slept) the device gets through again
    H.wait_until(lambda: c.publish("pantau/v1/gw-rl1/flood", flood(99, "st-rl1")) in OK, 5,
                 "the bucket to refill", interval=0.6)


def test_other_devices_are_not_slowed_by_a_runaway_one():
    e = env()
    s1 = device(e, "gw-rl2", stations=["st-rl2"])
    s2 = device(e, "gw-rl3", stations=["st-rl3"])
    a = e.client("gw-rl2", s1)
    b = e.client("gw-rl3", s2)
    runaway = [a.publish("pantau/v1/gw-rl2/flood", flood(seq, "st-rl2")) for seq in range(1, 21)]
    assert runaway.count(REFUSED) >= 12, runaway
    # gw-rl3's five fit its own bucket, whatever gw-rl2 did
    codes = [b.publish("pantau/v1/gw-rl3/flood", flood(seq, "st-rl3")) for seq in range(1, 6)]
    assert all(rc in OK for rc in codes), codes
    st = wait_stats(e, "payval", lambda st: st["accepted"] >= 5)
    assert st["devices_evicted"] == 0, st


def test_rejected_forwarding_stays_within_the_device_budget():
    e = env()
    s = device(e, "cam-rl", kind="traffic_gateway", stations=["cam-st-rl"])
    watch = subscriber(e, "collector-rlw", user(e, "collector-rlw", "collector"),
                       ["pantau/v1/_sys/rejected"])
    c = e.client("cam-rl", s)
    before = e.stats("payval")
    for i in range(10):
        assert c.publish("pantau/v1/cam-rl/traffic", b"garbage %d" % i) == REFUSED
    st = wait_stats(e, "payval", lambda st: st["not_forwarded"] >= before["not_forwarded"] + 7)
    assert st["forwarded"] - before["forwarded"] <= 3 + 1, (before, st)
    got = [json.loads(m[1]) for m in drain(watch, "pantau/v1/_sys/rejected", 1.0)]
    mine = [g for g in got if g["device"] == "cam-rl"]
    assert len(mine) == 3, "forwarded %d of 10 (budget: burst 3): %r" % (len(mine), mine)
    assert st["refused_by_reason"]["json"] >= 10, st


def traffic(seq, station):
    return json.dumps({"store": "2a4b6c8d-0e1f-4a2b-9c3d-4e5f6a7b8c9d", "seq": seq,
                       "ts": now_ts(), "clock_synced": True, "replay": False,
                       "station": station, "interval_s": 300, "lane": "eastbound",
                       "counts": {"motorcycle": 412, "car": 133, "bus": 4, "truck": 11,
                                  "nonmotor": 2}}, separators=(",", ":"))


def test_traffic_gateway_gets_its_own_rate():
    """30 at once: a flood gateway gets 5 to 8 through (above), a traffic gateway all 30."""
    e = env()
    s = device(e, "cam-rk1", kind="traffic_gateway", stations=["cam-st-rk1"])
    c = e.client("cam-rk1", s)
    codes = [c.publish("pantau/v1/cam-rk1/traffic", traffic(seq, "cam-st-rk1"))
             for seq in range(1, 31)]
    assert all(rc in OK for rc in codes), codes


def test_handheld_gets_its_own_rate():
    """A handheld's bucket is 1/s burst 3: of 10 larva reports at once 3 or 4 pass."""
    e = env()
    s = device(e, "hh-rk1", kind="handheld")
    c = e.client("hh-rk1", s)
    codes = [c.publish("pantau/v1/hh-rk1/larva", larva(seq)) for seq in range(1, 11)]
    accepted = sum(1 for rc in codes if rc in OK)
    assert 3 <= accepted <= 4 and codes[:3] == [codes[0]] * 3 and codes[0] in OK, codes
    assert codes.count(REFUSED) == 10 - accepted, codes
    log_has(e, "payval: refused message by device=hh-rk1 on 'pantau/v1/hh-rk1/larva': "
               "over 1/s burst 3 (rate_limit)")


def test_refusals_are_logged_at_most_five_per_device_and_minute():
    """payval logs a device's refusals with a bucket of its own (burst 5, 1 a minute): 12 bad
    payloads give 5 log lines and 7 counted in log_suppressed; another device's refusal is
    still logged."""
    e = env()
    s = device(e, "cam-lg1", kind="traffic_gateway", stations=["cam-st-lg1"])
    s2 = device(e, "cam-lg2", kind="traffic_gateway", stations=["cam-st-lg2"])
    c = e.client("cam-lg1", s)
    before = e.stats("payval")
    for i in range(12):
        assert c.publish("pantau/v1/cam-lg1/traffic", b"not json %d" % i) == REFUSED
    line = "payval: refused message by device=cam-lg1 on"
    st = wait_stats(e, "payval", lambda st: st["log_suppressed"] >=
                    before["log_suppressed"] + 7)
    # (>=: the counters published before may not have held earlier tests' last refusals yet)
    H.wait_until(lambda: e.broker_log().count(line) >= 5, 10, "five log lines of cam-lg1")
    assert e.broker_log().count(line) == 5, "cam-lg1 logged %d times" % (
        e.broker_log().count(line))
    c2 = e.client("cam-lg2", s2)
    assert c2.publish("pantau/v1/cam-lg2/traffic", b"not json") == REFUSED
    log_has(e, "payval: refused message by device=cam-lg2 on")
    assert e.broker_log().count(line) == 5


def test_no_sanitizer_report_nor_secret_in_any_log():
    """Last: the plugin's sanitizer build (if this is one) reported nothing in this file, and
    no secret or hash made here is in any log."""
    check_sanitizer(env())
    B.check_no_secrets(env())


if __name__ == "__main__":
    H.run_tests(globals())
