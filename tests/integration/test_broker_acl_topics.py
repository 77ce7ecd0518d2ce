"""test_broker_acl_topics.py -- devacl against a real mosquitto 2.0.11 with pantau_broker.so:
who may publish, subscribe to and read which topics (issue 5 item 2; protocol.md 3, 7.1).

One broker and database for the file (accounts per test). Every refusal is asserted as the
reason code the client gets (PUBACK / SUBACK 0x87) and, where it matters, as what another
client does or does not receive and what the counters on $SYS/pantau/devacl say.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import broker_support as B  # noqa: E402
import pantau_harness as H  # noqa: E402
from broker_policy_support import (OK, REFUSED, check_sanitizer, device, drain, flood,  # noqa: E402
                                   larva, log_has, status, subscriber, user, wait_stats)

_env = None


def env():
    global _env
    if _env is None:
        _env = B.BrokerEnv("acl-topics")
        H.on_exit(_env.close)
    return _env


def test_device_publishes_only_on_its_own_topics():
    e = env()
    sa = device(e, "gw-a", stations=["st-a"])
    device(e, "gw-b", stations=["st-b"])
    col = subscriber(e, "collector-t1", user(e, "collector-t1", "collector"),
                     ["pantau/v1/+/flood"])
    a = e.client("gw-a", sa)
    assert a.publish("pantau/v1/gw-a/flood", flood(1, "st-a")) in OK
    assert a.publish("pantau/v1/gw-b/flood", flood(2, "st-b")) == REFUSED
    got = drain(col, None, 1.0)
    assert [m[0] for m in got] == ["pantau/v1/gw-a/flood"], got
    s = wait_stats(e, "devacl", lambda s: s["denied_by_reason"]["foreign"] >= 1)
    assert s["allowed"] >= 1
    log_has(e, "devacl: denied publish by user=gw-a on 'pantau/v1/gw-b/flood': "
               "topic belongs to device 'gw-b' (foreign)")


def test_flood_gauge_cannot_send_a_larva_report():
    e = env()
    s = device(e, "gw-l", stations=["st-l"])
    c = e.client("gw-l", s)
    assert c.publish("pantau/v1/gw-l/larva", larva(1)) == REFUSED
    h = device(e, "hh-l", kind="handheld")
    assert e.client("hh-l", h).publish("pantau/v1/hh-l/larva", larva(1)) in OK
    wait_stats(e, "devacl", lambda s: s["denied_by_reason"]["stream"] >= 1)


def test_retained_only_on_status():
    e = env()
    s = device(e, "gw-r", stations=["st-r"])
    c = e.client("gw-r", s)
    assert c.publish("pantau/v1/gw-r/flood", flood(1, "st-r"), retain=True) == REFUSED
    assert c.publish("pantau/v1/gw-r/status", status(conn=3), retain=True) in OK
    # a fresh subscriber gets the retained status, and no retained reading
    d = subscriber(e, "dash-r", user(e, "dash-r", "dashboard"), ["pantau/v1/gw-r/status"])
    m = d.recv(5, topic="pantau/v1/gw-r/status")
    assert m is not None and m[3], "the retained status was not kept: %r" % (m,)
    coll = subscriber(e, "collector-r", user(e, "collector-r", "collector"),
                      ["pantau/v1/gw-r/flood"])
    assert coll.recv(1.0, topic="pantau/v1/gw-r/flood") is None
    wait_stats(e, "devacl", lambda s: s["denied_by_reason"]["retain"] >= 1)


def test_device_subscribes_only_to_its_acks_and_health():
    e = env()
    s = device(e, "gw-s", stations=["st-s"])
    c = e.client("gw-s", s)
    assert c.subscribe("pantau/v1/gw-s/ack") == 1
    assert c.subscribe("pantau/v1/_sys/health/+") == 1
    assert c.subscribe("pantau/v1/_sys/health/collector-1") == 1
    for f in ("pantau/v1/gw-other/ack", "pantau/v1/+/ack", "#", "pantau/v1/gw-s/#",
              "$share/g/pantau/v1/gw-s/ack", "pantau/v1/+/flood", "$SYS/#"):
        assert c.subscribe(f) == REFUSED, f
    # and it reads only what it may: a collector's ack to another device does not reach it
    cp = user(e, "collector-s", "collector")
    col = e.client("collector-s", cp)
    assert col.publish("pantau/v1/gw-other/ack", b'{"x":1}') in OK
    assert col.publish("pantau/v1/gw-s/ack", b'{"x":2}') in OK
    m = c.recv(5, topic="pantau/v1/gw-s/ack")
    assert m is not None and m[1] == b'{"x":2}'
    assert c.recv(0.5, topic="pantau/v1/gw-other/ack") is None
    wait_stats(e, "devacl", lambda s: s["denied_by_reason"]["filter"] >= 6 and
               s["denied_by_reason"]["share"] >= 1)


def test_dashboard_cannot_join_the_collectors_group():
    e = env()
    s = device(e, "gw-d", stations=["st-d"])
    dp = user(e, "dash-d", "dashboard")
    dash = e.client("dash-d", dp)
    assert dash.subscribe("$share/pantau-collectors/pantau/v1/+/flood") == REFUSED
    assert dash.subscribe("$share/dash/pantau/v1/+/status") == REFUSED
    assert dash.subscribe("pantau/v1/+/flood") == REFUSED
    assert dash.publish("pantau/v1/gw-d/status", status()) == REFUSED
    assert dash.subscribe("pantau/v1/+/status") == 1
    assert dash.subscribe("$SYS/pantau/#") == 1
    # the collectors' group still gets every reading: nothing was diverted
    col = subscriber(e, "collector-d", user(e, "collector-d", "collector"),
                     ["$share/pantau-collectors/pantau/v1/+/flood"])
    g = e.client("gw-d", s)
    for seq in range(1, 11):
        assert g.publish("pantau/v1/gw-d/flood", flood(seq, "st-d")) in OK
    got = drain(col, "pantau/v1/gw-d/flood", 1.0)
    assert len(got) == 10, "the collector got %d of 10" % len(got)
    assert dash.recv(0.5, topic="pantau/v1/gw-d/flood") is None
    wait_stats(e, "devacl", lambda s: s["denied_by_reason"]["share"] >= 2 and
               s["denied_by_reason"]["role"] >= 1)


def test_only_the_broker_writes_rejected_and_other_topics_are_refused():
    e = env()
    s = device(e, "gw-x", stations=["st-x"])
    c = e.client("gw-x", s)
    cp = user(e, "collector-x", "collector")
    col = e.client("collector-x", cp)
    for topic in ("pantau/v1/_sys/rejected", "pantau/v1/_sys/health/gw-x", "pantau/v1/gw-x/ack",
                  "pantau/v1/gw-x/rain", "pantau/v2/gw-x/flood", "pantau/other", "x/y",
                  "pantau/v1/gw-x/flood/extra"):
        assert c.publish(topic, b"{}") == REFUSED, topic
    for topic in ("pantau/v1/_sys/rejected", "pantau/v1/gw-x/flood",
                  "pantau/v1/_sys/health/collector-other"):
        assert col.publish(topic, b"{}") == REFUSED, topic


def test_ids_with_wildcards_or_control_characters_are_refused():
    """A client id with '+', '#', '/' or a control character is never the username, which is
    an id: either the connection or every publish is refused, and nothing gets through."""
    e = env()
    s = device(e, "gw-i", stations=["st-i"])
    col = subscriber(e, "collector-i", user(e, "collector-i", "collector"),
                     ["pantau/v1/+/flood"])
    for cid in ("gw-i+", "gw-i#", "gw-i/x", "gw-i\x01", "gw-i\x7f"):
        c = B.RawClient(e.port, cid, "gw-i", s)
        rc = c.connect()
        if rc == 0:
            try:
                assert c.publish("pantau/v1/gw-i/flood", flood(1, "st-i")) == REFUSED, repr(cid)
            except B.Closed:
                pass
        c.disconnect()
    assert col.recv(1.0, topic="pantau/v1/gw-i/flood") is None


def test_client_id_takeover_is_refused():
    """gw-t2, with its own good secret, takes gw-t1's client id: it must not get in, and
    gw-t1 stays connected and keeps publishing."""
    e = env()
    s1 = device(e, "gw-t1", stations=["st-t1"])
    s2 = device(e, "gw-t2", stations=["st-t2"])
    owner = e.client("gw-t1", s1)
    intruder = B.RawClient(e.port, "gw-t1", "gw-t2", s2)
    rc = intruder.connect()
    if rc == 0:
        try:
            assert intruder.publish("pantau/v1/gw-t2/flood", flood(1, "st-t2")) == REFUSED
        except B.Closed:
            pass
    intruder.disconnect()
    assert owner.ping() < 5
    assert owner.publish("pantau/v1/gw-t1/flood", flood(1, "st-t1")) in OK


def test_no_sanitizer_report_nor_secret_in_any_log():
    """Last: the plugin's sanitizer build (if this is one) reported nothing in this file, and
    no secret or hash made here is in any log."""
    check_sanitizer(env())
    B.check_no_secrets(env())


if __name__ == "__main__":
    H.run_tests(globals())
