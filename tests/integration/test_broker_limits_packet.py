"""test_broker_limits_packet.py -- the broker's maximum packet size (issue 5 item 2; audit item 3).

BrokerEnv runs mosquitto with deploy/mosquitto.conf's max_packet_size (67584: an
acknowledgement of 65536 bytes, its topic and headers, protocol.md section 8). What mosquitto
2.0.11 really does with it (lib/packet_mosq.c, packet__read): it announces the limit in CONNACK
(Maximum Packet Size, property 0x27), and when a packet's remaining length + 1 exceeds it, it
sends an MQTT 5 client DISCONNECT with reason code 0x95 (packet too large) before reading the
payload and closes the connection. So the largest packet it takes has a remaining length of
max_packet_size - 1 (the fixed header's varint is not counted); the plugin never sees a
larger one.
"""

import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import broker_support as B  # noqa: E402
import pantau_harness as H  # noqa: E402
from broker_policy_support import (OK, check_sanitizer, device, flood, user)  # noqa: E402

_env = None
ACK_TOPIC = "pantau/v1/gw-pk1/ack"


def env():
    global _env
    if _env is None:
        _env = B.BrokerEnv("limits-packet")
        H.on_exit(_env.close)
        _env.device_secret = device(_env, "gw-pk1", stations=["st-pk1"])
        _env.collector_pw = user(_env, "collector-pk", "collector")
    return _env


def payload_for(topic, remaining):
    """A payload that makes a QoS 1 PUBLISH on topic (no properties) have this remaining
    length: topic (2 + its bytes), packet id (2), properties length (1), payload."""
    return b"x" * (remaining - (2 + len(topic.encode()) + 2 + 1))


def connack_max_packet_size(c):
    """The Maximum Packet Size property (0x27) of c's CONNACK, or None."""
    props = c.connack_props
    pos = 0
    while pos < len(props):
        pid = props[pos]
        pos += 1
        if pid == 0x27:
            return struct.unpack("!I", props[pos:pos + 4])[0]
        if pid in (0x11, 0x27):
            pos += 4
        elif pid in (0x21, 0x22, 0x13):
            pos += 2
        elif pid in (0x24, 0x25, 0x28, 0x29, 0x2A):
            pos += 1
        else:
            return None                  # a property this reader does not walk: not ours
    return None


def test_test_broker_uses_the_deploy_limit():
    e = env()
    assert e.max_packet_size == int(B.deploy_setting("max_packet_size")) == 67584
    c = e.client("collector-pk", e.collector_pw)
    assert connack_max_packet_size(c) == e.max_packet_size


def test_maximal_acknowledgement_passes():
    """A collector's acknowledgement of 65536 bytes (the protocol's limit) reaches the device,
    and so does the largest packet mosquitto takes (remaining length max_packet_size - 1)."""
    e = env()
    dev = e.client("gw-pk1", e.device_secret)
    assert dev.subscribe(ACK_TOPIC) < 0x80
    col = e.client("collector-pk", e.collector_pw)
    ack = b"x" * 65536
    assert col.publish(ACK_TOPIC, ack) in OK
    m = dev.recv(10, topic=ACK_TOPIC)
    assert m is not None and len(m[1]) == 65536, "the 65536-byte ack did not arrive whole"
    biggest = payload_for(ACK_TOPIC, e.max_packet_size - 1)
    assert col.publish(ACK_TOPIC, biggest) in OK
    m = dev.recv(10, topic=ACK_TOPIC)
    assert m is not None and m[1] == biggest
    assert col.ping() < 5 and dev.ping() < 5


def test_oversized_publish_is_refused_with_0x95():
    """One byte more: DISCONNECT 0x95 and the connection closed, for a collector and for a
    device alike; nothing is delivered and other clients carry on."""
    e = env()
    dev = e.client("gw-pk1", e.device_secret)
    assert dev.subscribe(ACK_TOPIC) < 0x80
    col = e.client("collector-pk", e.collector_pw)
    try:
        col.publish(ACK_TOPIC, payload_for(ACK_TOPIC, e.max_packet_size))
        raise AssertionError("an oversized PUBLISH was acknowledged")
    except B.Closed as closed:
        assert closed.reason == B.RC_PACKET_TOO_LARGE, "closed with reason %s" % closed.reason
    assert dev.recv(1.0, topic=ACK_TOPIC) is None
    gw = e.client("gw-pk1", e.device_secret, client_id="gw-pk1")
    topic = "pantau/v1/gw-pk1/flood"
    try:
        gw.publish(topic, payload_for(topic, e.max_packet_size + 1000))
        raise AssertionError("an oversized device PUBLISH was acknowledged")
    except B.Closed as closed:
        assert closed.reason == B.RC_PACKET_TOO_LARGE, "closed with reason %s" % closed.reason
    again = e.client("gw-pk1", e.device_secret)
    assert again.publish(topic, flood(1, "st-pk1")) in OK
    H.wait_until(lambda: "oversize packet" in e.broker_log(), 10,
                 "mosquitto to log the oversize packet")


def test_no_sanitizer_report_nor_secret_in_any_log():
    """Last: the plugin's sanitizer build (if this is one) reported nothing in this file, and
    no secret or hash made here is in any log."""
    check_sanitizer(env())
    B.check_no_secrets(env())


if __name__ == "__main__":
    H.run_tests(globals())
