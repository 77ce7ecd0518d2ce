"""Broker authentication, revocation: a disabled or removed account is refused within 10 s and a
connected client of it is disconnected within 10 s (real mosquitto with pantau_broker.so, real
PostgreSQL; changes made with pantau-admin, as an operator would)."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import broker_support as B  # noqa: E402

H = B.H
ENV = None
LIMIT = 10.0      # seconds, issue 5


def env():
    global ENV
    if ENV is None:
        # reload_ms long: the changes must arrive by NOTIFY, as in production they do at once
        ENV = B.BrokerEnv("auth-revoke", plugin_opts={"reload_ms": "60000"})
    return ENV


def connected(e, name, secret):
    e.wait_connack(name, name, secret, B.RC_SUCCESS)
    return e.client(name, secret)


def test_disabled_device_refused_and_disconnected():
    e = env()
    secret = e.add_device("gw-off-01", "flood_gateway", stations=["st-off"])
    c = connected(e, "gw-off-01", secret)
    t0 = time.monotonic()
    e.admin("device-disable", "gw-off-01")
    assert c.wait_closed(LIMIT), "connected device not disconnected within %ss" % LIMIT
    took = time.monotonic() - t0
    print("disconnected %.2f s after pantau-admin device-disable started" % took)
    assert took < LIMIT
    e.wait_connack("gw-off-01", "gw-off-01", secret, B.RC_NOT_AUTHORIZED, timeout=LIMIT)
    H.wait_until(lambda: e.stats()["refused_disabled"] >= 1, 10, "refused_disabled counted")
    assert "account gw-off-01 disabled, removed or given a new secret" in e.broker_log()
    # enabled again: it connects again
    e.admin("device-enable", "gw-off-01")
    e.wait_connack("gw-off-01", "gw-off-01", secret, B.RC_SUCCESS, timeout=LIMIT)


def test_removed_device_refused_and_disconnected():
    e = env()
    secret = e.add_device("gw-gone-02", "traffic_gateway", stations=["cam-gone"])
    c = connected(e, "gw-gone-02", secret)
    e.admin("device-remove", "gw-gone-02")
    assert c.wait_closed(LIMIT), "connected device not disconnected within %ss" % LIMIT
    e.wait_connack("gw-gone-02", "gw-gone-02", secret, B.RC_NOT_AUTHORIZED, timeout=LIMIT)
    assert e.sql("SELECT 1 FROM pantau_ops.account WHERE username = 'gw-gone-02'") == []


def test_disabled_person_refused_and_disconnected_also_when_cached():
    e = env()
    pw = e.add_user("analyst-off", "dashboard", iterations=100000)
    e.wait_connack("analyst-off", "analyst-off", pw, B.RC_SUCCESS)
    c = e.client("analyst-off", pw)         # the second login is a cache hit
    e.admin("user-disable", "analyst-off")
    assert c.wait_closed(LIMIT)
    # the cached verification does not outlive the change
    e.wait_connack("analyst-off", "analyst-off", pw, B.RC_NOT_AUTHORIZED, timeout=LIMIT)
    e.admin("user-enable", "analyst-off")
    e.wait_connack("analyst-off", "analyst-off", pw, B.RC_SUCCESS, timeout=LIMIT)
    e.admin("user-remove", "analyst-off")
    e.wait_connack("analyst-off", "analyst-off", pw, B.RC_NOT_AUTHORIZED, timeout=LIMIT)


def test_new_password_replaces_cached_one():
    e = env()
    pw = e.add_user("analyst-pw", "dashboard", iterations=100000)
    e.wait_connack("analyst-pw", "analyst-pw", pw, B.RC_SUCCESS)
    new = "another-long-password"
    e.admin("user-password", "analyst-pw", "--password-file", "-", "--iterations", "100000",
            input=new + "\n")
    e.secrets["analyst-pw-new"] = new
    e.wait_connack("analyst-pw", "analyst-pw", new, B.RC_SUCCESS, timeout=LIMIT)
    assert e.connack("analyst-pw", "analyst-pw", pw) == B.RC_NOT_AUTHORIZED


def test_rotated_device_key_disconnects_the_old_one():
    e = env()
    old = e.add_device("gw-rot-05", "flood_gateway", stations=["st-rot"])
    c = connected(e, "gw-rot-05", old)
    new = e.admin("device-rotate", "gw-rot-05", "--key-file", e.key_file).stdout.strip()
    e.secrets["gw-rot-05-new"] = new
    assert c.wait_closed(LIMIT), "a client with the old key stayed connected"
    e.wait_connack("gw-rot-05", "gw-rot-05", old, B.RC_NOT_AUTHORIZED, timeout=LIMIT)
    assert e.connack("gw-rot-05", "gw-rot-05", new) == B.RC_SUCCESS


def test_others_stay_connected():
    e = env()
    keep = e.add_device("gw-keep-03", "flood_gateway", stations=["st-keep"])
    drop = e.add_device("gw-drop-04", "flood_gateway", stations=["st-drop"])
    ck = connected(e, "gw-keep-03", keep)
    cd = connected(e, "gw-drop-04", drop)
    e.admin("device-disable", "gw-drop-04")
    assert cd.wait_closed(LIMIT)
    assert not ck.wait_closed(0.5)
    assert ck.ping() < 5


def test_no_sanitizer_report_nor_secret_in_any_log():
    """Last: the plugin's sanitizer build (if this is one) reported nothing in this file, and
    no secret or hash made here is in any log."""
    e = env()
    assert e.sanitizer_report() is None
    B.check_no_secrets(e)


if __name__ == "__main__":
    H.run_tests(globals())
