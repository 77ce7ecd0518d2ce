"""test_broker_limits_qos.py -- QoS 1 and Clean Start 1 are a device's MUST, and the broker
enforces them (issue 9 item 8; protocol.md sections 1 and 8).

Before: a device's QoS 0 PUBLISH was taken and delivered, a QoS 2 one too (PUBREC 0x00), and a
device connected with Clean Start 0 could publish and subscribe as any other. Now, with
deploy/mosquitto.conf's `max_qos 1` on every listener and devacl's checks
(mosquitto_client_clean_session, the QoS of the ACL check):
  - CONNACK announces Maximum QoS 1; a QoS 2 PUBLISH gets DISCONNECT 0x9B, a will of QoS 2
    CONNACK 0x9B (mosquitto itself, src/handle_publish.c and handle_connect.c);
  - a device's QoS 0 PUBLISH or will is refused: dropped, counted (denied_by_reason.qos);
  - a device connected with Clean Start 0 gets PUBACK and SUBACK 0x87 for everything;
  - a collector's QoS 0 acknowledgement still reaches the device.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import broker_support as B  # noqa: E402
import pantau_harness as H  # noqa: E402
from broker_policy_support import (OK, REFUSED, check_sanitizer, device, flood, log_has,  # noqa: E402
                                   status, subscriber, user, wait_stats)

_env = None
_watch = None
RC_QOS_NOT_SUPPORTED = 0x9B


def env():
    global _env, _watch
    if _env is None:
        _env = B.BrokerEnv("limits-qos")
        H.on_exit(_env.close)
        _env.collector_pw = user(_env, "collector-q", "collector")
        _watch = subscriber(_env, "collector-q", _env.collector_pw,
                            ["pantau/v1/+/flood", "pantau/v1/+/status"])
    return _env


def test_connack_announces_maximum_qos_1():
    e = env()
    s = device(e, "gw-q0", stations=["st-q0"])
    c = e.client("gw-q0", s)
    props, pos = c.connack_props, 0
    seen = {}
    while pos < len(props):
        pid = props[pos]
        size = {0x27: 4, 0x21: 2, 0x22: 2, 0x24: 1, 0x25: 1}.get(pid)
        if size is None:
            break
        seen[pid] = int.from_bytes(props[pos + 1:pos + 1 + size], "big")
        pos += 1 + size
    assert seen.get(0x24) == 1, "Maximum QoS in CONNACK: %s" % seen
    assert seen.get(0x21) == int(B.deploy_setting("max_inflight_messages")), seen


def test_qos_0_publish_of_a_device_is_refused():
    e = env()
    s = device(e, "gw-q1", stations=["st-q1"])
    c = e.client("gw-q1", s)
    before = e.stats("devacl")["denied_by_reason"]["qos"]
    assert c.publish("pantau/v1/gw-q1/flood", flood(1, "st-q1"), qos=0) is None
    wait_stats(e, "devacl", lambda st: st["denied_by_reason"]["qos"] == before + 1)
    log_has(e, "devacl: denied publish by user=gw-q1 on 'pantau/v1/gw-q1/flood': a device "
               "publishes at QoS 1 only, not QoS 0")
    # the same reading at QoS 1 passes, and it is the only one delivered
    assert c.publish("pantau/v1/gw-q1/flood", flood(2, "st-q1")) in OK
    m = _watch.recv(10, topic="pantau/v1/gw-q1/flood")
    assert m is not None and json.loads(m[1])["seq"] == 2, m
    assert _watch.recv(0.5, topic="pantau/v1/gw-q1/flood") is None


def test_qos_2_publish_is_refused_with_disconnect_0x9b():
    e = env()
    s = device(e, "gw-q2", stations=["st-q2"])
    c = e.client("gw-q2", s)
    try:
        c.publish("pantau/v1/gw-q2/flood", flood(1, "st-q2"), qos=2)
        raise AssertionError("a QoS 2 PUBLISH was acknowledged")
    except B.Closed as closed:
        assert closed.reason == RC_QOS_NOT_SUPPORTED, "closed with reason %s" % closed.reason
    assert _watch.recv(0.5, topic="pantau/v1/gw-q2/flood") is None


def test_will_of_qos_2_is_refused_at_connect_and_of_qos_0_when_sent():
    e = env()
    s = device(e, "gw-q3", stations=["st-q3"])
    topic = "pantau/v1/gw-q3/status"
    c = B.RawClient(e.port, "gw-q3", "gw-q3", s, will=(topic, status("offline", 3).encode(), 2,
                                                       True))
    assert c.connect() == RC_QOS_NOT_SUPPORTED
    before = e.stats("devacl")["denied_by_reason"]["qos"]
    c = B.RawClient(e.port, "gw-q3", "gw-q3", s, will=(topic, status("offline", 4).encode(), 0,
                                                       True))
    assert c.connect() == 0
    c.close()                                      # no DISCONNECT: the will is due
    wait_stats(e, "devacl", lambda st: st["denied_by_reason"]["qos"] == before + 1)
    assert _watch.recv(0.5, topic=topic) is None, "a will of QoS 0 was published"


def test_clean_start_0_device_may_do_nothing():
    e = env()
    s = device(e, "gw-q4", stations=["st-q4"])
    before = e.stats("devacl")["denied_by_reason"]["session"]
    c = B.RawClient(e.port, "gw-q4", "gw-q4", s, clean_start=False, session_expiry=3600)
    assert c.connect() == 0
    e.clients.append(c)
    assert c.publish("pantau/v1/gw-q4/flood", flood(1, "st-q4")) == REFUSED
    assert c.subscribe("pantau/v1/gw-q4/ack") == REFUSED
    assert c.publish("pantau/v1/gw-q4/status", status("online", 9), retain=True) == REFUSED
    wait_stats(e, "devacl", lambda st: st["denied_by_reason"]["session"] >= before + 3)
    log_has(e, "a device must connect with Clean Start 1")
    assert _watch.recv(0.5, topic="pantau/v1/gw-q4/flood") is None
    c.disconnect()
    # the same device with Clean Start 1 is served
    ok = e.client("gw-q4", s)
    assert ok.subscribe("pantau/v1/gw-q4/ack") == 1
    assert ok.publish("pantau/v1/gw-q4/flood", flood(2, "st-q4")) in OK


def test_collector_acks_at_qos_0_still_reach_the_device():
    e = env()
    s = device(e, "gw-q5", stations=["st-q5"])
    dev = e.client("gw-q5", s)
    assert dev.subscribe("pantau/v1/gw-q5/ack") == 1
    col = e.client("collector-q5", user(e, "collector-q5", "collector"))
    ack = json.dumps({"ts": "2026-02-11T03:15:00.412Z", "acks": [
        {"store": "6f1c2b0e-9a57-4d1e-8d0c-3a1f2e4b5c6d", "ranges": [[1, 2]]}]})
    assert col.publish("pantau/v1/gw-q5/ack", ack, qos=0) is None
    m = dev.recv(10, topic="pantau/v1/gw-q5/ack")
    assert m is not None and m[1] == ack.encode()


def test_no_sanitizer_report_nor_secret_in_any_log():
    check_sanitizer(env())
    B.check_no_secrets(env())


if __name__ == "__main__":
    H.run_tests(globals())
