"""Broker authentication without PostgreSQL: known devices keep connecting while the database is
down, also after a broker restart (the snapshot file); a torn snapshot file is ignored (fail
closed); the plugin logs the outage once and recovers by itself. The test has its own
PostgreSQL cluster, which it stops and starts."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import broker_support as B  # noqa: E402

H = B.H


def count(text, needle):
    return text.count(needle)


def test_postgres_down_then_restart_then_torn_file_then_recovery():
    e = B.BrokerEnv("auth-dbdown", own_cluster=True, plugin_opts={"reload_ms": "500"})
    dev = e.add_device("gw-known-01", "flood_gateway", stations=["st-known"])
    pw = e.add_user("analyst-known", "dashboard", iterations=100000)
    e.wait_connack("gw-known-01", "gw-known-01", dev, B.RC_SUCCESS)
    e.wait_connack("analyst-known", "analyst-known", pw, B.RC_SUCCESS)
    assert e.stats()["registry_db_ok"] is True
    assert os.path.exists(e.snapshot)

    # 1. PostgreSQL stops: known accounts still connect, unknown ones are refused
    e.cluster.stop()
    H.wait_until(lambda: e.stats()["registry_db_ok"] is False, 20, "the plugin to see the outage")
    assert e.connack("gw-known-01", "gw-known-01", dev) == B.RC_SUCCESS
    assert e.connack("analyst-known", "analyst-known", pw) == B.RC_SUCCESS
    assert e.connack("gw-stranger", "gw-stranger", dev) == B.RC_NOT_AUTHORIZED
    # several reload attempts later (every 0.25 to 10 s), still one line for the outage
    H.wait_until(lambda: count(e.broker_log(), "PostgreSQL unreachable") >= 1, 10,
                 "the outage logged")
    c = e.client("gw-known-01", dev)
    assert not c.wait_closed(3.0)            # connected devices are not kicked for it either
    assert count(e.broker_log(), "PostgreSQL unreachable") == 1
    c.disconnect()

    # 2. the broker restarts while PostgreSQL is still down: the snapshot file serves
    e.restart_broker()
    assert e.connack("gw-known-01", "gw-known-01", dev) == B.RC_SUCCESS
    assert e.connack("analyst-known", "analyst-known", pw) == B.RC_SUCCESS
    assert e.connack("gw-stranger", "gw-stranger", dev) == B.RC_NOT_AUTHORIZED
    s = e.stats()
    assert s["registry_from_file"] is True and s["registry_db_ok"] is False
    assert s["registry_accounts"] >= 3

    # 3. a torn snapshot file is ignored: nobody gets in (fail closed)
    e.stop_broker()
    good = open(e.snapshot, "rb").read()
    with open(e.snapshot, "wb") as f:
        f.write(good[:len(good) // 2])
    e.start_broker()
    assert e.connack("gw-known-01", "gw-known-01", dev) == B.RC_NOT_AUTHORIZED
    assert "snapshot file ignored" in e.broker_log()

    # 4. PostgreSQL is back: the plugin reloads by itself (backoff at most 10 s)
    e.cluster.start()
    e.wait_connack("gw-known-01", "gw-known-01", dev, B.RC_SUCCESS, timeout=30)
    assert "registry loaded from PostgreSQL" in e.broker_log()
    new = e.add_device("gw-new-02", "flood_gateway", stations=["st-new"])
    e.wait_connack("gw-new-02", "gw-new-02", new, B.RC_SUCCESS, timeout=10)
    # the file is whole again, and private
    text = open(e.snapshot, "rb").read()
    assert text.startswith(b"pantau-regcache 2\n") and b"\nsum " in text   # 018: version 2
    assert b"gw-new-02" in text
    assert os.stat(e.snapshot).st_mode & 0o077 == 0
    for s in e.secrets.values():
        assert s not in e.broker_log() and s.encode() not in text
    assert e.sanitizer_report() is None
    B.check_no_secrets(e)
    e.close()


if __name__ == "__main__":
    H.run_tests(globals())
