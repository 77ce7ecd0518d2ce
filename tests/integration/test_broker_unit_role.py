#!/usr/bin/python3
"""test_broker_unit_role.py -- a unit's console (an account of role `unit`, schema/018,
`pantau-admin user-add NAME --role unit --unit UNIT`) through mosquitto with pantau's plugin:
it reads its own unit's alerts (pantau/v1/_sys/alert/<unit>/#, also those published while it
was away, on a persistent session) and nothing else: not another unit's alerts, not device
data. Alerts are published as pantau-alertd publishes them, by its collector account (QoS 1,
retained). A registry snapshot written before 018 (version 1) still loads while PostgreSQL is
down, and is rewritten as version 2 when PostgreSQL is back.
"""
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import broker_support as B  # noqa: E402

H = B.H

BPBD_TOPIC = "pantau/v1/_sys/alert/bpbd/flood_level/station-br-1"
DINKES_TOPIC = "pantau/v1/_sys/alert/dinkes/larva_positive/area-32.75.01.1001-rw3"


def alert(unit, kind, key):
    return json.dumps({"idempotency_key": key, "unit": unit, "kind": kind}).encode()


def add_unit_user(env, name, unit):
    password = "pw-%s-secret" % name
    env.admin("user-add", name, "--role", "unit", "--unit", unit, "--password-file", "-",
              input=password + "\n")
    env.secrets[name] = password
    return password


def as_version_1(text):
    """The snapshot text as a broker before 018 wrote it: version 1, A lines without the unit
    field, no unit accounts (version 1 could not hold one), its own sum."""
    lines = text.decode().split("\n")
    assert lines[0] == "pantau-regcache 2", lines[0]
    body = ["pantau-regcache 1"]
    for line in lines[1:]:
        if line.startswith("sum ") or not line:
            continue
        f = line.split(" ")
        if f[0] == "A":
            assert len(f) == 10, line
            if f[2] == "unit":
                continue
            assert f[9] == "-", line
            line = " ".join(f[:9])
        body.append(line)
    out = ("\n".join(body) + "\n").encode()
    return out + b"sum " + hashlib.sha256(out).hexdigest().encode() + b"\n"


def test_unit_account_reads_only_its_own_alerts_and_an_old_snapshot_loads():
    e = B.BrokerEnv("unit-role", own_cluster=True, plugin_opts={"reload_ms": "500"})
    try:
        # pantau-admin: the unit goes with role unit, is a unit id, and exists
        r = e.admin("user-add", "c-x", "--role", "unit", "--password-file", "-",
                    input="pw-whatever-1\n", check=False)
        assert r.returncode == 2 and "--role unit needs --unit" in r.stderr, r.stderr
        r = e.admin("user-add", "c-x", "--role", "unit", "--unit", "BPBD", "--password-file",
                    "-", input="pw-whatever-1\n", check=False)
        assert r.returncode == 2 and "not a unit id" in r.stderr, r.stderr
        r = e.admin("user-add", "c-x", "--role", "dashboard", "--unit", "bpbd",
                    "--password-file", "-", input="pw-whatever-1\n", check=False)
        assert r.returncode == 2 and "only for role unit" in r.stderr, r.stderr
        r = e.admin("user-add", "c-x", "--role", "unit", "--unit", "nosuchunit",
                    "--password-file", "-", input="pw-whatever-1\n", check=False)
        assert r.returncode == 1, r.stderr             # the foreign key on pantau_alert.unit
        assert e.sql("SELECT 1 FROM pantau_ops.account WHERE username = 'c-x'") == []

        alertd_pw = e.add_user("alertd-1", "collector")
        bpbd_pw = add_unit_user(e, "console-bpbd", "bpbd")
        dinkes_pw = add_unit_user(e, "console-dinkes", "dinkes")
        assert e.sql("SELECT role, unit_id FROM pantau_ops.account"
                     " WHERE username = 'console-bpbd'") == [("unit", "bpbd")]
        # pantau-admin list names a unit account's unit (UNIT column), '-' for the others
        rows = {line.split()[0]: line.split()[1:3] for line in
                e.admin("list").stdout.splitlines()[1:]}
        assert rows["console-bpbd"] == ["unit", "bpbd"], rows
        assert rows["console-dinkes"] == ["unit", "dinkes"], rows
        assert rows["alertd-1"] == ["collector", "-"], rows
        e.wait_connack("console-bpbd", "console-bpbd", bpbd_pw, B.RC_SUCCESS)
        e.wait_connack("alertd-1", "alertd-1", alertd_pw, B.RC_SUCCESS)

        # the bpbd console, on a persistent session (protocol.md 12.1)
        bpbd = e.client("console-bpbd", bpbd_pw, clean_start=False, session_expiry=3600)
        assert bpbd.subscribe("pantau/v1/_sys/alert/bpbd/#", 1) == 1
        for refused in ("pantau/v1/_sys/alert/dinkes/#", "pantau/v1/_sys/alert/#",
                        "pantau/v1/_sys/alert/+/flood_level/#", "pantau/v1/+/flood",
                        "pantau/v1/+/status", "pantau/v1/_sys/health/+", "$SYS/#", "#",
                        "$share/g/pantau/v1/_sys/alert/bpbd/#"):
            assert bpbd.subscribe(refused, 1) == B.RC_NOT_AUTHORIZED, refused
        assert bpbd.publish(BPBD_TOPIC, b"{}", retain=True) == B.RC_NOT_AUTHORIZED

        alertd = e.client("alertd-1", alertd_pw)
        assert alertd.publish(BPBD_TOPIC, alert("bpbd", "flood_level", "1.1.bpbd.mqtt"),
                              retain=True) == 0
        # (0x10: no subscriber yet, accepted and retained)
        assert alertd.publish(DINKES_TOPIC, alert("dinkes", "larva_positive",
                                                  "2.2.dinkes.mqtt"), retain=True) == 0x10
        m = bpbd.recv(10)
        assert m is not None and m[0] == BPBD_TOPIC, m
        assert json.loads(m[1])["idempotency_key"] == "1.1.bpbd.mqtt"
        assert bpbd.recv(2) is None                    # not the dinkes alert

        # the dinkes console gets its own alert, retained, and not bpbd's
        dinkes = e.client("console-dinkes", dinkes_pw)
        assert dinkes.subscribe("pantau/v1/_sys/alert/dinkes/#", 1) == 1
        m = dinkes.recv(10)
        assert m is not None and m[0] == DINKES_TOPIC and m[3], m
        assert dinkes.subscribe("pantau/v1/_sys/alert/bpbd/#", 1) == B.RC_NOT_AUTHORIZED
        assert dinkes.recv(1) is None
        dinkes.disconnect()

        # bpbd's console away: what is published meanwhile waits in its session
        bpbd.disconnect()
        assert alertd.publish(BPBD_TOPIC, alert("bpbd", "flood_level", "1.2.bpbd.mqtt"),
                              retain=True) == 0
        assert alertd.publish(DINKES_TOPIC, alert("dinkes", "larva_positive",
                                                  "2.3.dinkes.mqtt"), retain=True) == 0x10
        bpbd = e.client("console-bpbd", bpbd_pw, clean_start=False, session_expiry=3600)
        m = bpbd.recv(10)
        assert m is not None and json.loads(m[1])["idempotency_key"] == "1.2.bpbd.mqtt", m
        assert bpbd.recv(2) is None
        bpbd.disconnect()
        alertd.disconnect()

        # the role changes with pantau-admin: a dashboard again reads every unit's alerts
        r = e.admin("user-role", "console-dinkes", "unit", check=False)
        assert r.returncode == 2 and "--unit" in r.stderr, r.stderr
        e.admin("user-role", "console-dinkes", "dashboard")
        assert e.sql("SELECT role, unit_id FROM pantau_ops.account"
                     " WHERE username = 'console-dinkes'") == [("dashboard", None)]

        # a snapshot written before 018 (version 1) loads while PostgreSQL is down
        assert e.stats()["registry_db_ok"] is True     # (makes the admin account stats() reads)
        H.wait_until(lambda: open(e.snapshot, "rb").read().startswith(b"pantau-regcache 2\n"),
                     10, "a version 2 snapshot")
        H.wait_until(lambda: b" console-dinkes dashboard " in open(e.snapshot, "rb").read(),
                     10, "the new role in the snapshot")
        e.stop_broker()
        e.cluster.stop()
        with open(e.snapshot, "rb") as f:
            old = as_version_1(f.read())
        with open(e.snapshot, "wb") as f:
            f.write(old)
        e.start_broker()
        assert "(version 1, no unit accounts" in e.broker_log()
        assert "snapshot file ignored" not in e.broker_log()
        assert e.connack("alertd-1", "alertd-1", alertd_pw) == B.RC_SUCCESS
        assert e.connack("console-dinkes", "console-dinkes", dinkes_pw) == B.RC_SUCCESS
        # the unit account is not in it: refused until PostgreSQL is back (fail closed)
        assert e.connack("console-bpbd", "console-bpbd", bpbd_pw) == B.RC_NOT_AUTHORIZED
        s = e.stats()
        assert s["registry_from_file"] is True and s["registry_db_ok"] is False

        # PostgreSQL back: the registry is loaded again and the file rewritten as version 2
        e.cluster.start()
        e.wait_connack("console-bpbd", "console-bpbd", bpbd_pw, B.RC_SUCCESS, timeout=30)
        H.wait_until(lambda: open(e.snapshot, "rb").read().startswith(b"pantau-regcache 2\n"),
                     10, "the snapshot rewritten as version 2")
        bpbd = e.client("console-bpbd", bpbd_pw, clean_start=False, session_expiry=3600)
        assert bpbd.subscribe("pantau/v1/_sys/alert/dinkes/#", 1) == B.RC_NOT_AUTHORIZED
        bpbd.disconnect()
        assert e.sanitizer_report() is None
        e.check_no_secrets()
    finally:
        e.close()


if __name__ == "__main__":
    H.run_tests(globals())
