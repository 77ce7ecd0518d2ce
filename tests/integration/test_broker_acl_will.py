"""test_broker_acl_will.py -- last wills (issue 5 item 2: "last-will messages do not pass the
message hook").

What mosquitto 2.0.11 does (src/context.c, context__send_will; src/handle_connect.c): a will is
not checked at CONNECT at all, and no plugin hook can see it there; it is checked once, by the
ACL hook (MOSQ_ACL_WRITE, with its topic, payload and retain flag) when the broker is about to
publish it, and it never passes MOSQ_EVT_MESSAGE. So devacl validates a will in that check: its
topic must be the device's own status topic and its payload a valid status (msg_event_parse). A
refused will is not published; one refused for its payload is passed on pantau/v1/_sys/rejected.
The tests connect with a will, drop the connection without DISCONNECT, and look at what a
collector account receives.

Issue 9 item 12 ("wills skip the door"): a will on a reading stream passed devacl (its topic is
the device's own) and never met payval, so an invalid one reached the collector, which
dead-lettered it, as often as the device could reconnect. devacl now tells a will from a
PUBLISH by the order of mosquitto's events (a PUBLISH's WRITE check is followed by the message
hook, a will's by its deliveries' READ checks) and judges it at its first delivery with
payval_check and the will budget (plugin_opt_will_rate); one refused for its content is passed
on within the refusal budget (plugin_opt_rejected_rate), so the dead letters a device can make
with wills are bounded. These tests run the real collector too.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import broker_support as B  # noqa: E402
import pantau_harness as H  # noqa: E402
from broker_policy_support import (check_sanitizer, device, flood, start_collector,  # noqa: E402
                                   status, subscriber, user, wait_stats, wait_rows, log_has)

_env = None
_watch = None
_collector = None


def env():
    """One broker for the file, and a collector account that watches status and rejected."""
    global _env, _watch
    if _env is None:
        _env = B.BrokerEnv("acl-will")
        H.on_exit(_env.close)
        _watch = subscriber(_env, "collector-w", user(_env, "collector-w", "collector"),
                            ["pantau/v1/+/status", "pantau/v1/_sys/rejected"])
    return _env


def collector():
    """The real pantau-collector on this file's broker (started once)."""
    global _collector
    if _collector is None:
        _collector = start_collector(env(), "collector-1")
    return _collector


def connect_with_will(e, device_id, secret, topic, payload, retain=True):
    c = B.RawClient(e.port, device_id, device_id, secret,
                    will=(topic, payload.encode(), 1, retain))
    assert c.connect() == 0
    return c


def drop(c):
    """Ends the connection without DISCONNECT: the broker sends the will."""
    c.close()


def test_valid_will_is_published():
    e = env()
    s = device(e, "gw-w1", stations=["st-w1"])
    c = connect_with_will(e, "gw-w1", s, "pantau/v1/gw-w1/status", status("offline", 5))
    drop(c)
    m = _watch.recv(10, topic="pantau/v1/gw-w1/status")
    assert m is not None, "the will was not published"
    assert json.loads(m[1])["state"] == "offline"


def test_will_on_a_foreign_topic_is_refused():
    e = env()
    device(e, "gw-w2", stations=["st-w2"])
    s = device(e, "gw-w3", stations=["st-w3"])
    before = e.stats("devacl")["denied_by_reason"]["foreign"]
    c = connect_with_will(e, "gw-w3", s, "pantau/v1/gw-w2/status", status("offline", 7))
    drop(c)
    wait_stats(e, "devacl", lambda st: st["denied_by_reason"]["foreign"] > before)
    log_has(e, "devacl: denied publish by user=gw-w3 on 'pantau/v1/gw-w2/status': "
               "topic belongs to device 'gw-w2' (foreign)")
    assert _watch.recv(0.5, topic="pantau/v1/gw-w2/status") is None, \
        "a will on another device's status topic was published"
    # passed on as a refusal of the sender's identity, under the sender (issue 9 item 13)
    m = _watch.recv(10, topic="pantau/v1/_sys/rejected")
    assert m is not None, "the refused will was not passed on _sys/rejected"
    rej = json.loads(m[1])
    assert (rej["device"], rej["topic"], rej["category"]) == (
        "gw-w3", "pantau/v1/gw-w2/status", "identity"), rej


def test_will_with_an_invalid_payload_is_refused_and_passed_on():
    e = env()
    s = device(e, "gw-w4", stations=["st-w4"])
    before = e.stats("devacl")
    bad = status("offline", 0)                 # conn 0 is out of range (protocol.md 5)
    c = connect_with_will(e, "gw-w4", s, "pantau/v1/gw-w4/status", bad)
    drop(c)
    st = wait_stats(e, "devacl", lambda st: st["denied_by_reason"]["payload"] >
                    before["denied_by_reason"]["payload"])
    assert st["forwarded"] > before["forwarded"]
    m = _watch.recv(10, topic="pantau/v1/_sys/rejected")
    assert m is not None, "the refused will was not passed on _sys/rejected"
    rej = json.loads(m[1])
    assert rej["device"] == "gw-w4" and rej["topic"] == "pantau/v1/gw-w4/status", rej
    assert "conn" in rej["reason"], rej
    import base64
    assert base64.b64decode(rej["payload_b64"]) == bad.encode()
    assert _watch.recv(0.5, topic="pantau/v1/gw-w4/status") is None, \
        "a will with an invalid payload was published"


def test_retained_will_on_a_reading_stream_is_refused():
    e = env()
    s = device(e, "gw-w5", stations=["st-w5"])
    before = e.stats("devacl")["denied_by_reason"]["retain"]
    c = connect_with_will(e, "gw-w5", s, "pantau/v1/gw-w5/flood", "{}", retain=True)
    drop(c)
    wait_stats(e, "devacl", lambda st: st["denied_by_reason"]["retain"] > before)


def dead_letters(e, device_id):
    return B.dead_letters(e, device_id, "source, reason, detail, seq")


def test_invalid_will_on_a_reading_stream_is_no_reading_and_its_dead_letters_are_bounded():
    """30 reconnects, each leaving an invalid flood reading (a different seq each time) as its
    will: none is stored as a reading, none reaches a subscriber, and at most the refusal
    budget (deploy/mosquitto.conf: 10/m, burst 20) become dead letters."""
    e = env()
    collector()
    s = device(e, "gw-w6", stations=["st-w6"])
    opts = e.plugin_opts["rejected_rate"]
    assert opts == "10/m burst 20", opts
    before = e.stats("devacl")
    n = 30
    for i in range(n):
        bad = flood(100 + i, "st-w6", levl_cm=650)        # unknown member (protocol.md 4.0)
        c = connect_with_will(e, "gw-w6", s, "pantau/v1/gw-w6/flood", bad, retain=False)
        drop(c)
        # one connection at a time: the next connect does not take over this one
        H.wait_until(lambda: e.broker_log().count("Client gw-w6 closed its connection") > i,
                     20, "connection %d to be closed" % (i + 1), interval=0.05)
    st = wait_stats(e, "devacl", lambda st: st["denied_by_reason"]["payload"] >=
                    before["denied_by_reason"]["payload"] + n and
                    st["wills_judged"] >= before["wills_judged"] + n)
    forwarded = st["forwarded"] - before["forwarded"]
    assert 20 <= forwarded <= 23, "forwarded %d of %d refused wills" % (forwarded, n)
    assert st["not_forwarded"] - before["not_forwarded"] == n - forwarded
    log_has(e, "devacl: denied publish by user=gw-w6 on 'pantau/v1/gw-w6/flood': last will: "
               "levl_cm")
    wait_rows(e, "SELECT count(*) FROM pantau_ops.dead_letter WHERE device_id = %s", forwarded,
              "gw-w6")
    rows = dead_letters(e, "gw-w6")
    assert all(r[0] == "broker" and "last will" in (r[2] or "") + r[1] for r in rows), rows
    assert e.scalar("SELECT count(*) FROM pantau.flood_reading WHERE device_id = 'gw-w6'") == 0
    assert _watch.recv(0.5, topic="pantau/v1/gw-w6/flood") is None, \
        "an invalid will was delivered"


def test_will_sent_on_a_takeover_is_judged_too():
    """The same device connecting again while its first connection is open: mosquitto sends
    the first connection's will from the new CONNECT (handle_connect.c), with no DISCONNECT
    event before it; it is judged all the same."""
    e = env()
    collector()
    s = device(e, "gw-w8", stations=["st-w8"])
    before = e.stats("devacl")
    first = connect_with_will(e, "gw-w8", s, "pantau/v1/gw-w8/flood",
                              flood(1, "st-w8", levl_cm=650), retain=False)
    second = e.client("gw-w8", s)
    st = wait_stats(e, "devacl", lambda st: st["wills_judged"] == before["wills_judged"] + 1 and
                    st["denied_by_reason"]["payload"] == before["denied_by_reason"]["payload"] + 1)
    assert st["forwarded"] == before["forwarded"] + 1
    assert first.wait_closed(10), "the first connection was not taken over"
    assert second.ping() < 5
    wait_rows(e, "SELECT count(*) FROM pantau_ops.dead_letter WHERE device_id = %s", 1, "gw-w8")
    assert e.scalar("SELECT count(*) FROM pantau.flood_reading WHERE device_id = 'gw-w8'") == 0
    assert _watch.recv(0.5, topic="pantau/v1/gw-w8/flood") is None


def test_valid_wills_still_work_within_the_will_budget():
    """A valid status will reaches the collector (device_status offline), and so does a valid
    reading left as a will (stored once, like a PUBLISH)."""
    e = env()
    col = collector()
    s = device(e, "gw-w7", stations=["st-w7"])
    c = connect_with_will(e, "gw-w7", s, "pantau/v1/gw-w7/status", status("offline", 41))
    drop(c)
    wait_rows(e, "SELECT count(*) FROM pantau.device_status WHERE device_id = %s"
                 " AND state = 'offline' AND conn = 41", 1, "gw-w7")
    c = connect_with_will(e, "gw-w7", s, "pantau/v1/gw-w7/flood", flood(7, "st-w7"),
                          retain=False)
    drop(c)
    wait_rows(e, "SELECT count(*) FROM pantau.flood_reading WHERE device_id = %s AND seq = 7",
              1, "gw-w7")
    assert dead_letters(e, "gw-w7") == []
    assert col.running()


def test_no_sanitizer_report_nor_secret_in_any_log():
    """Last: the plugin's sanitizer build (if this is one) reported nothing in this file, and
    no secret or hash made here is in any log."""
    check_sanitizer(env())
    B.check_no_secrets(env())


if __name__ == "__main__":
    H.run_tests(globals())
