"""test_broker_ratelimit.py -- payval's per-device token buckets (issue 5 item 4) and the
budget of refused messages a device may have passed on pantau/v1/_sys/rejected (item 3), on a
real mosquitto with pantau_broker.so.

The broker runs with small buckets set by plugin options (the syntax operators use):
flood gateways 2/s burst 5, refused messages 1/h burst 3. A burst beyond the bucket gets
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
                                   log_has, subscriber, user, wait_stats)

_env = None


def env():
    global _env
    if _env is None:
        _env = B.BrokerEnv("ratelimit", plugin_opts={
            "rate_flood_gateway": "2/s burst 5",
            "rate_traffic_gateway": "100/s burst 100",
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


def test_no_sanitizer_report_from_the_broker():
    """Last: the plugin's sanitizer build (if this is one) reported nothing in this file."""
    check_sanitizer(env())


if __name__ == "__main__":
    H.run_tests(globals())
