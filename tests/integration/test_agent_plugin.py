#!/usr/bin/python3
"""test_agent_plugin.py -- the real pieces together: pantau-agent through pantau's own broker
plugin to the real collector (issues 4 and 5).

One BrokerEnv for the file (a real mosquitto with pantau_broker.so, allow_anonymous false, a
fresh database), the real pantau-collector logged in with its collector account (username =
collector_id), and real pantau-agent processes logging in with device keys made by
pantau-admin (mqtt_password_file). A collector-role account watches the devices' retained
status topic (a collector may read status, not the devices' whole tree). The agent's SQLite
store is read directly (read-only queries) to see what it still holds and what it rejected.

- a flood gateway's simulator readings are stored exactly once and acknowledged (the store
  empties, the ledger has every seq once);
- birth and last will pass the plugin: online reaches pantau.device_status, and after kill -9
  the broker publishes the will (offline, same conn), which the collector records;
- readings for a station the device is not bound to get PUBACK 0x87; the broker passes the
  first FWD refusals on (plugin_opt_rejected_rate), the collector stores each as a broker dead
  letter once and acknowledges it as dead (protocol.md 6.1), so the agent forgets it; the rest
  are retried refuse_tries times and end in the agent's rejected list, counted in the status's
  `rejected`; every seq is stored, dead-lettered or rejected, once; the readings behind flow;
- a disabled device is disconnected by the broker within 10 s, notices it, and keeps its
  readings; enabled again, it reconnects by itself and its backlog is delivered once.
"""

import os
import re
import sqlite3
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import broker_support as B  # noqa: E402
import pantau_harness as H  # noqa: E402
from agent_support import Agent, Watcher, assert_exactly_once, ledger_seqs, simulator  # noqa: E402
from broker_policy_support import AgentWorld, check_sanitizer, start_collector, user  # noqa: E402

_state = {}
FWD = 5              # refused messages the broker passes on per device (then 1 an hour)


class StatusWatcher(Watcher):
    """agent_support's Watcher on the device's status topic only, as a collector-role account
    whose username is the watcher's client id (the plugin wants them equal)."""

    def _on_connect(self, client, userdata, flags, rc, properties=None):
        if rc == 0:
            client.subscribe([("pantau/v1/%s/status" % self.device_id, 1)])
            self.connected.set()


def world():
    if not _state:
        # a small budget of refused messages passed on to the collector: the first refusals
        # become dead letters (acknowledged as dead), the rest end in the agent's rejected list
        env = B.BrokerEnv("agent-plugin", plugin_opts={"rejected_rate": "1/h burst %d" % FWD})
        H.on_exit(env.close)
        collector = start_collector(env, "collector-1")
        _state.update(env=env, world=AgentWorld(env), collector=collector)
    return _state["env"], _state["world"]


def device(env, device_id, stations):
    """A flood gateway enrolled by pantau-admin; its secret in a file for the agent; waits
    until the broker knows it. Returns the secret file's path."""
    secret = env.add_device(device_id, "flood_gateway", stations=stations)
    env.wait_connack(device_id, device_id, secret, 0)
    path = os.path.join(env.root, "%s.secret" % device_id)
    with open(path, "w") as f:
        f.write(secret + "\n")
    os.chmod(path, 0o600)
    return path


def watcher(env, device_id):
    name = "watch-%s-%d" % (device_id, os.getpid())
    password = user(env, name, "collector")
    return StatusWatcher(env.port, device_id, username=name, password=password).start()


def agent(w, device_id, secret_file, sources, **conf):
    a = Agent(w, device_id, sources=sources, mqtt_username=device_id,
              mqtt_password_file=secret_file, **conf)
    return a.start()


def store_query(a, query):
    """Rows of a read-only query on the agent's SQLite store (WAL: readable while it runs)."""
    db = sqlite3.connect("file:%s?mode=ro" % a.store, uri=True, timeout=10)
    try:
        return db.execute(query).fetchall()
    finally:
        db.close()


def store_held(a):
    return store_query(a, "SELECT count(*) FROM reading")[0][0]


def store_rejected(a):
    return sorted(r[0] for r in store_query(a, "SELECT seq FROM rejected"))


def device_status(env, device_id):
    rows = env.sql("SELECT state, conn, backlog, rejected FROM pantau.device_status"
                   " WHERE device_id = %s", device_id)
    return rows[0] if rows else None


def dead_letters(env, device_id):
    return B.dead_letters(env, device_id, "source, seq, reason, detail", order="seq")


def test_readings_stored_once_acknowledged_then_birth_and_will():
    env, w = world()
    dev = "gw-ap-01"
    total = 40
    secret = device(env, dev, ["st-ap-01"])
    watch = watcher(env, dev)
    a = agent(w, dev, secret, [simulator(flood="st-ap-01", rate=20, count=total)])
    H.wait_until(lambda: len(ledger_seqs(w, dev)) == total, 60, "%d readings stored" % total)
    assert_exactly_once(w, dev, total)
    # acknowledged: the store empties
    H.wait_until(lambda: store_held(a) == 0, 30, "the agent's store to empty")
    assert store_rejected(a) == []
    # the birth passed the plugin and reached pantau.device_status
    birth = H.wait_until(lambda: watch.last_status("online"), 20, "the retained birth")
    conn = birth["conn"]
    H.wait_until(lambda: (device_status(env, dev) or ("",))[0] == "online", 20,
                 "device_status online")
    assert device_status(env, dev)[1] == conn, (device_status(env, dev), birth)
    # kill -9: the broker publishes the will (offline, same conn), the collector records it
    a.kill9()
    will = H.wait_until(lambda: watch.last_status("offline"), 20, "the will (offline status)")
    assert will["conn"] == conn, (will, birth)
    H.wait_until(lambda: (device_status(env, dev) or ())[:2] == ("offline", conn), 20,
                 "device_status offline with conn %d" % conn)
    hist = env.sql("SELECT state FROM pantau.device_status_history WHERE device_id = %s"
                   " AND conn = %s ORDER BY received_at", dev, conn)
    assert [r[0] for r in hist][-1:] == ["offline"], hist
    a.check_clean()
    watch.stop()


def test_unbound_station_refused_rejected_dead_letter_once_rest_flows():
    env, w = world()
    dev = "gw-ap-02"
    total = 40
    secret = device(env, dev, ["st-ap-02"])
    env.add_station("st-ap-02x")            # a known gauge the device is not bound to
    watch = watcher(env, dev)
    a = agent(w, dev, secret, [simulator(flood="st-ap-02 st-ap-02x", rate=10, count=total)],
              window=4, refuse_tries=3, refuse_give_up_ms="0", refuse_backoff_ms="300ms")
    H.wait_until(lambda: "rejected for good" in a.run_log(), 40, "a first rejection")
    log = a.run_log()
    first = int(re.search(r"reading seq=(\d+) \(flood\) rejected for good", log).group(1))
    assert "reason 0x87" in log, "no PUBACK 0x87 in the agent's log"
    tries = re.findall(r"broker refused seq=%d \(reason 0x87\), try (\d) " % first, log)
    assert tries == ["1", "2"], tries

    def settled():
        st = watch.last_status("online")
        if st is None or st.get("backlog") != 0:
            return None
        if len(ledger_seqs(w, dev)) + st.get("rejected", 0) != total:
            return None
        return st
    st = H.wait_until(settled, 60, "every reading stored, dead-lettered or rejected, backlog 0")
    assert store_held(a) == 0
    outcome = dict(env.sql("SELECT seq, outcome FROM pantau.reading_ledger WHERE device_id = %s",
                           dev))
    stored = sorted(s for s, o in outcome.items() if o == "stored")
    rows = dead_letters(env, dev)
    dead = [r[1] for r in rows]
    rejected = store_rejected(a)
    # every seq once: stored, or stored as a broker dead letter (acknowledged as dead), or
    # rejected for good after its tries
    assert len(dead) == len(set(dead)), "a dead letter stored twice: %s" % dead
    assert sorted(stored + dead + rejected) == list(range(1, total + 1)), (stored, dead, rejected)
    assert sorted(s for s, o in outcome.items() if o == "dead_letter") == dead, (outcome, dead)
    assert 1 <= len(dead) <= FWD, dead
    assert len(rejected) >= 10 and len(stored) >= 10, (rejected, stored)
    assert st["rejected"] == len(rejected), (st, rejected)
    assert first in rejected
    # the readings behind the refused ones flowed
    assert any(s > first for s in stored), (first, stored[-5:])
    # the refused readings are the unbound station's, passed on by the broker with its reason
    bound = env.sql("SELECT DISTINCT station_id FROM pantau.flood_reading WHERE device_id = %s",
                    dev)
    assert bound == [("st-ap-02",)], bound
    assert all(r[0] == "broker" for r in rows), rows
    assert all("not bound" in (r[3] or "") + (r[2] or "") for r in rows), rows[:3]
    assert a.stop() == 0
    watch.stop()


def test_disabled_device_disconnected_keeps_backlog_delivered_once_when_enabled():
    env, w = world()
    dev = "gw-ap-03"
    total = 200
    secret = device(env, dev, ["st-ap-03"])
    a = agent(w, dev, secret, [simulator(flood="st-ap-03", rate=5, count=total)])
    H.wait_until(lambda: len(ledger_seqs(w, dev)) >= 5, 30, "the first readings stored")
    kicked = "Client %s been disconnected by administrative action" % dev
    assert kicked not in env.broker_log()
    env.set_enabled(dev, False)
    t0 = time.monotonic()
    H.wait_until(lambda: kicked in env.broker_log(), 10,
                 "the broker to disconnect the disabled device")
    print("disabled device disconnected by the broker after %.2f s" % (time.monotonic() - t0))
    # the agent notices the broker's DISCONNECT (0x98, administrative action: paho 1.3 reports
    # it only through MQTTAsync_setDisconnected) and keeps trying, refused, with backoff
    H.wait_until(lambda: "disconnected by broker" in a.run_log(), 10,
                 "the agent to notice the broker's disconnect")
    # while disabled: the readings it takes stay in its store, none reach the database
    at_disable = len(ledger_seqs(w, dev))
    H.wait_until(lambda: (store_query(a, "SELECT max(seq) FROM reading")[0][0] or 0) >=
                 at_disable + 10, 30, "10 more readings taken while disabled")
    assert a.running()
    assert len(ledger_seqs(w, dev)) <= at_disable + 4, "readings got through while disabled"
    held = [r[0] for r in store_query(a, "SELECT seq FROM reading")]
    top = max(held)
    assert set(ledger_seqs(w, dev)) | set(held) >= set(range(1, top + 1)), "a reading lost"
    env.set_enabled(dev, True)
    # enabled again, it reconnects by itself (no restart) and delivers its backlog once
    connects = a.run_log().count("connected to broker")
    H.wait_until(lambda: a.run_log().count("connected to broker") > connects, 20,
                 "the agent to reconnect once enabled")
    H.wait_until(lambda: len(ledger_seqs(w, dev)) == total, 90,
                 "all %d readings stored" % total)
    H.wait_until(lambda: store_held(a) == 0, 30, "the agent's store to empty")
    assert_exactly_once(w, dev, total)
    assert store_rejected(a) == []
    assert a.stop() == 0


def test_no_sanitizer_report_from_the_broker_or_collector():
    env, _ = world()
    check_sanitizer(env)
    assert _state["collector"].running()
    assert _state["collector"].sanitizer_report() is None


if __name__ == "__main__":
    H.run_tests(globals())
