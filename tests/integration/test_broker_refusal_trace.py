"""test_broker_refusal_trace.py -- refusals for a device's topic or identity leave a trace (issue 9
item 13, protocol.md 7.2 and 7.3), with the real broker and collector.

devacl refuses a device's PUBLISH on a stream its kind may not use, on another device's topic,
retained, at QoS 0, from a connection made with Clean Start 0, or from an account that is
disabled or unknown (a TLS certificate identity: mosquitto 2.0.11 never runs the password hook
for it, so it connects and every check is refused). Each is passed on pantau/v1/_sys/rejected
with category `topic` or `identity` and `device` the authenticated identity (never the topic's
device), within the device's budget of refused messages (plugin_opt_rejected_rate), and the
collector stores it as a dead letter, keyed on (device, store, seq) where the payload gives
them and acknowledged as dead on the sender's own acknowledgement topic. A disabled account
with a password cannot connect at all (devauth: CONNACK 0x86/0x87), so it publishes nothing.

One broker (with deploy/mosquitto.conf's client certificate listener), database and collector
for the file.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import broker_support as B  # noqa: E402
import pantau_harness as H  # noqa: E402
from broker_policy_support import (OK, REFUSED, STORE, check_sanitizer, device, flood,  # noqa: E402
                                   start_collector, wait_stats)
from test_broker_acl_tls import TlsClient, client_cert, make_pki  # noqa: E402

_state = {}


def world():
    if not _state:
        d = H.workdir("broker-refusal-trace-pki")
        make_pki(d)
        files = {"cafile": os.path.join(d, "ca.crt"), "certfile": os.path.join(d, "server.crt"),
                 "keyfile": os.path.join(d, "server.key")}
        cert_conf, tls_port = B.deploy_listener(8883, files)
        e = B.BrokerEnv("refusal-trace", extra=cert_conf)
        H.on_exit(e.close)
        H.wait_until(lambda: H.port_open(tls_port), 20, "the TLS listener")
        col = start_collector(e, "collector-1")
        _state.update(env=e, collector=col, dir=d, tls_port=tls_port)
    return _state["env"]


def tls_client(cn):
    world()
    d = _state["dir"]
    cert, key = client_cert(d, cn)
    c = TlsClient(_state["tls_port"], cn, cert, key, os.path.join(d, "ca.crt"))
    rc = c.connect()
    assert rc == 0, "TLS connect as %s: CONNACK %s" % (cn, rc)
    _state["env"].clients.append(c)
    return c


def dead_letters(e, device_id):
    """(seq, category, reason, topic, store_id) of device_id's dead letters, oldest first."""
    return B.dead_letters(e, device_id, "seq, category, reason, topic, store_id::text")


def test_topic_refusals_are_dead_letters_acked_as_dead_9_13():
    e = world()
    s = device(e, "gw-tr1", stations=["st-tr1"])
    device(e, "gw-tr2", stations=["st-tr2"])
    c = e.client("gw-tr1", s)
    acks = B.Acks(c, "gw-tr1", STORE)
    before = wait_stats(e, "devacl", lambda st: True)
    # a flood gateway on traffic (its kind may not), on another device's topic, a retained
    # reading, a reading at QoS 0: refused by devacl, each passed on
    assert c.publish("pantau/v1/gw-tr1/traffic", flood(1, "st-tr1")) == REFUSED
    assert c.publish("pantau/v1/gw-tr2/flood", flood(2, "st-tr2")) == REFUSED
    assert c.publish("pantau/v1/gw-tr1/flood", flood(3, "st-tr1"), retain=True) == REFUSED
    assert c.publish("pantau/v1/gw-tr1/flood", flood(4, "st-tr1"), qos=0) is None
    assert c.publish("pantau/v1/gw-tr1/flood", flood(5, "st-tr1")) in OK
    acks.wait([1, 2, 3, 4, 5], "acknowledgements of seqs 1 to 5 on gw-tr1's own ack topic")
    assert acks.dead == {1, 2, 3, 4}, acks.dead
    H.wait_until(lambda: len(dead_letters(e, "gw-tr1")) == 4, 30, "four dead letters")
    rows = sorted(dead_letters(e, "gw-tr1"))
    assert [r[:4] for r in rows] == [
        (1, "topic", "rejected", "pantau/v1/gw-tr1/traffic"),
        (2, "identity", "rejected", "pantau/v1/gw-tr2/flood"),
        (3, "topic", "rejected", "pantau/v1/gw-tr1/flood"),
        (4, "topic", "rejected", "pantau/v1/gw-tr1/flood")], rows
    assert all(r[4] == STORE for r in rows), rows
    # the topic's device is not the sender: nothing is put on gw-tr2's account
    assert dead_letters(e, "gw-tr2") == []
    assert e.scalar("SELECT count(*) FROM pantau.flood_reading WHERE device_id = 'gw-tr1'") == 1
    wait_stats(e, "devacl", lambda st: st["forwarded"] >= before["forwarded"] + 4,
               what="devacl's forwarded counter")


def test_a_session_kept_publish_is_an_identity_dead_letter_9_13():
    e = world()
    s = device(e, "gw-tr3", stations=["st-tr3"])
    c = e.client("gw-tr3", s, clean_start=False)
    assert c.publish("pantau/v1/gw-tr3/flood", flood(1, "st-tr3")) == REFUSED
    # it cannot read its acknowledgements either (Clean Start 0 may do nothing)
    assert c.subscribe("pantau/v1/gw-tr3/ack") == REFUSED
    H.wait_until(lambda: len(dead_letters(e, "gw-tr3")) == 1, 30, "a dead letter")
    assert [r[:3] for r in dead_letters(e, "gw-tr3")] == [(1, "identity", "rejected")]


def test_disabled_and_unknown_certificate_identities_leave_dead_letters_9_13():
    e = world()
    s = device(e, "gw-tr4", stations=["st-tr4"])
    e.set_enabled("gw-tr4", False)
    # with its password it cannot even connect: nothing to trace
    H.wait_until(lambda: e.connack("gw-tr4", "gw-tr4", s) in (B.RC_BAD_USERNAME_OR_PASSWORD,
                                                               B.RC_NOT_AUTHORIZED), 15,
                 "gw-tr4's CONNACK to refuse it")
    c = tls_client("gw-tr4")
    assert c.publish("pantau/v1/gw-tr4/flood", flood(1, "st-tr4")) == REFUSED
    nobody = tls_client("gw-tr-nobody")
    assert nobody.publish("pantau/v1/gw-tr-nobody/flood", flood(1, "st-x")) == REFUSED
    H.wait_until(lambda: len(dead_letters(e, "gw-tr4")) == 1, 30, "gw-tr4's dead letter")
    assert [r[:3] for r in dead_letters(e, "gw-tr4")] == [(1, "identity", "rejected")]
    H.wait_until(lambda: len(dead_letters(e, "gw-tr-nobody")) == 1, 30,
                 "gw-tr-nobody's dead letter")
    assert [r[:3] for r in dead_letters(e, "gw-tr-nobody")] == [(1, "identity", "rejected")]


def test_retries_are_bounded_by_the_refusal_budget_9_13():
    e = world()
    s = device(e, "gw-tr5", stations=["st-tr5"])
    c = e.client("gw-tr5", s)
    before = wait_stats(e, "devacl", lambda st: True)
    # a device set up wrongly retries its traffic readings: deploy/mosquitto.conf gives a
    # device 20 refused messages at once, then 10 a minute
    n = 40
    payloads = [flood(seq, "st-tr5") for seq in (1, 2, 3, 4)]
    for i in range(n):
        assert c.publish("pantau/v1/gw-tr5/traffic", payloads[i % 4]) == REFUSED
    after = wait_stats(e, "devacl",
                       lambda st: st["forwarded"] + st["not_forwarded"] >=
                       before["forwarded"] + before["not_forwarded"] + n,
                       what="devacl's forwarding counters")
    held = after["not_forwarded"] - before["not_forwarded"]
    assert held >= 10, (before, after)
    # the four readings are four dead letters, however often each came
    H.wait_until(lambda: len(dead_letters(e, "gw-tr5")) >= 4, 30, "four dead letters")
    assert sorted(r[:2] for r in dead_letters(e, "gw-tr5")) == [
        (seq, "topic") for seq in (1, 2, 3, 4)]


def test_no_sanitizer_report_nor_secret_in_any_log():
    check_sanitizer(world())
    B.check_no_secrets(world())


if __name__ == "__main__":
    H.run_tests(globals())
