#!/usr/bin/python3
"""test_replica.py -- many collectors and a database analysts cannot slow down (issue 15, item
5), CI-sized: a PostgreSQL 15 primary of the test's own (deploy/postgresql/primary.conf) and its
streaming replica made by pg_basebackup -R (deploy/postgresql/replica.conf, hot standby;
tests/harness/replica_support.py); mosquitto with pantau_broker.so (the shipped config).

- three real pantau-collector processes in one shared subscription group (the shipped
  share_group) take the readings of four real pantau-agent processes; each collector stores a
  share; mid-stream one collector is killed -9 and started again: every (device, seq) is stored
  exactly once and every device is acknowledged (its store empties);
- a real pantau-console with db_read_conninfo on the replica: its gauge view shows a reading
  committed on the primary once the replica replayed it, and not while the replica's replay is
  paused (so the view reads the replica); meanwhile an acknowledgement through the console
  succeeds (it writes on the primary; the replica would refuse it), and the alert list shows it
  at once (alerts read the primary);
- /metrics reports the replica: streaming, in recovery, lag 0 s when caught up; while replay is
  paused the lag grows (seconds and bytes), after resuming it is back near 0;
- a real Prometheus scrapes that console with the shipped rules (for: at 0 s): the replica's
  metrics are there, every rule evaluates, none fires; the replica stopped:
  PantauReplicaNotStreaming fires. (PantauReplicaLagging's 30 s boundary: promtool, in
  pantau-rules.test.yml.)
"""

import os
import sqlite3
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "harness"))

import broker_support as B  # noqa: E402
import collector_support as CS  # noqa: E402
import console_support as C  # noqa: E402
import pantau_harness as H  # noqa: E402
import replica_support as R  # noqa: E402
from agent_support import Agent, assert_exactly_once, ledger_seqs, simulator  # noqa: E402
from broker_policy_support import AgentWorld, start_collector  # noqa: E402
from test_prometheus import Prometheus  # noqa: E402

PER_DEVICE = 60          # readings each agent takes (3 a second: about 20 s of stream)
DEVICES = 4


def store_held(a):
    db = sqlite3.connect("file:%s?mode=ro" % a.store, uri=True, timeout=10)
    try:
        return db.execute("SELECT count(*) FROM reading").fetchone()[0]
    finally:
        db.close()


def console_metrics(world):
    status, _, text = world.api("GET", "/metrics")
    assert status == 200, (status, text)
    out = {}
    for line in text.splitlines():
        if line.startswith("pantau_console_") and " " in line:
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def console_world(env, replica):
    """console_support's ConsoleWorld on this test's primary (env's database), its console
    reading the map and views from the replica."""
    w = C.ConsoleWorld.__new__(C.ConsoleWorld)
    w.name = "replica"
    w.root = H.workdir("console-replica")
    w.pg, w.dsn = env.cluster, env.dsn
    w.conn, w.seq, w.browsers, w.proc, w.port = None, {}, [], None, None
    w.sql("CREATE ROLE " + C.CONSOLE_ROLE + " LOGIN")
    w.sql("GRANT pantau_console TO " + C.CONSOLE_ROLE)
    w.console_dsn = env.dsn.replace("user=postgres", "user=" + C.CONSOLE_ROLE)
    w.replica_dsn = "host=127.0.0.1 port=%d dbname=%s user=%s" % (
        replica.port, env.dbname, C.CONSOLE_ROLE)
    return w


def gauge_points(world, session, station):
    status, _, body = world.api("GET", "/api/gauge?station=%s&hours=2" % station,
                                session=session)
    assert status == 200, (status, body)
    return body["points"]


def test_three_collectors_one_killed_and_a_replica_for_the_console():
    t0 = time.monotonic()
    env = B.BrokerEnv("replica", own_cluster=True)
    H.on_exit(env.close)
    R.apply_primary_settings(env.cluster)
    replica = R.ReplicaCluster(os.path.join(env.root, "replica"), env.cluster).start()
    H.wait_until(replica.streaming, 30, "the replica to stream from the primary")
    world = console_world(env, replica)
    # the gauges the agents read (with thresholds, for the console's gauge view)
    stations = ["st-rep-%d" % i for i in range(1, DEVICES + 1)]
    for st in stations:
        world.gauge(st)
    password = world.add_user("rina", "dashboard")
    world.start(db_read_conninfo=world.replica_dsn)
    assert "the map and views read from db_read_conninfo" in open(world.proc.log).read()

    # three collectors in the shipped share group
    ports = [H.free_port() for _ in range(3)]
    cols = [start_collector(env, "collector-%d" % (i + 1), metrics_port=ports[i])
            for i in range(3)]
    for c in cols:
        assert "pantau-collectors" in c.run_log(), c.run_log()[-2000:]
    agents = []
    for i, st in enumerate(stations):
        dev = "gw-rep-%d" % (i + 1)
        secret = env.add_device(dev, "flood_gateway", stations=[st])
        env.wait_connack(dev, dev, secret, 0)
        key = os.path.join(env.root, "%s.secret" % dev)
        with open(key, "w") as f:
            f.write(secret + "\n")
        os.chmod(key, 0o600)
        a = Agent(AgentWorld(env), dev, sources=[simulator(flood=st, rate=3, count=PER_DEVICE,
                                                           seed=i + 1)],
                  mqtt_username=dev, mqtt_password_file=key, device_kind="flood_gateway")
        agents.append(a.start())

    def stored(dev):
        return len(ledger_seqs(env, dev))

    def col_stored(port):
        try:
            return CS.metric(port, "readings_stored_total") or 0
        except OSError:
            return 0

    H.wait_until(lambda: all(col_stored(p) >= 3 for p in ports), 30,
                 "every collector of the group to store a share")
    # collector-2 killed -9 mid-stream and started again
    assert all(stored(a.device_id) < PER_DEVICE for a in agents), "not mid-stream"
    cols[1].kill9()
    time.sleep(2)
    cols[1].start()
    for a in agents:
        H.wait_until(lambda: stored(a.device_id) >= PER_DEVICE, 60,
                     "%d readings of %s" % (PER_DEVICE, a.device_id))
    for a in agents:
        H.wait_until(lambda: store_held(a) == 0, 40, "%s's store to empty" % a.device_id)
        assert_exactly_once(env, a.device_id, PER_DEVICE)
    assert env.scalar("SELECT count(*) FROM pantau.flood_reading") == DEVICES * PER_DEVICE
    for a in agents:
        assert a.stop() == 0
    print("collectors: %d readings exactly once, %.1f s" % (DEVICES * PER_DEVICE,
                                                            time.monotonic() - t0))

    # the console reads the views from the replica: a reading committed on the primary shows
    # once replayed, and not while replay is paused
    replica.wait_caught_up()
    s = world.session("rina", password)
    st = stations[0]
    H.wait_until(lambda: len(gauge_points(world, s, st)) == PER_DEVICE, 20,
                 "the gauge view to show the %d readings of %s" % (PER_DEVICE, st))
    m = console_metrics(world)
    assert m["pantau_console_read_db_up"] == 1, m
    assert m["pantau_console_replica_in_recovery"] == 1, m
    assert m["pantau_console_replica_streaming"] == 1, m
    assert 0 <= m["pantau_console_replica_lag_seconds"] < 5, m
    assert m["pantau_console_replica_lag_bytes"] >= 0, m
    alert = world.raise_flood("st-rep-alert", 250)   # Siaga 1, on the primary
    replica.wait_caught_up()
    replica.query("postgres", "SELECT pg_wal_replay_pause()")
    try:
        world.seq["gw-" + st] = 1000
        world.readings([(st, 123.0)])   # committed on the primary, not replayed
        assert env.scalar("SELECT count(*) FROM pantau.flood_reading WHERE station_id = %s",
                          st) == PER_DEVICE + 1
        # writes go to the primary: an acknowledgement succeeds, the alert list shows it
        status, _, body = world.api("POST", "/api/alerts/%d/ack" % alert,
                                    {"note": "replica test"}, session=s)
        assert status == 200, (status, body)
        assert world.alert_state(alert)[0] == "acknowledged", world.alert_state(alert)
        status, _, body = world.api("GET", "/api/alerts?state=all", session=s)
        assert status == 200 and [a["state"] for a in body["alerts"]
                                  if a["alert_id"] == alert] == ["acknowledged"], body
        time.sleep(2)
        assert len(gauge_points(world, s, st)) == PER_DEVICE, "the view read the primary"
        m = console_metrics(world)
        assert m["pantau_console_replica_lag_seconds"] >= 1.5, m
        assert m["pantau_console_replica_lag_bytes"] > 0, m
        assert m["pantau_console_replica_streaming"] == 1, m
    finally:
        replica.query("postgres", "SELECT pg_wal_replay_resume()")
    H.wait_until(lambda: len(gauge_points(world, s, st)) == PER_DEVICE + 1, 20,
                 "the new reading in the console's gauge view once replayed")
    H.wait_until(lambda: console_metrics(world)["pantau_console_replica_lag_seconds"] < 1, 20,
                 "the lag back near 0")

    # Prometheus with the shipped rules: the metrics are scraped, nothing fires; the replica
    # gone: PantauReplicaNotStreaming
    prom = Prometheus(env.root, {"pantau-console": "127.0.0.1:%d" % world.port}).start()
    H.wait_until(lambda: prom.query("pantau_console_replica_lag_seconds") and
                 prom.query("pantau_console_replica_streaming == 1"), 60,
                 "the replica's metrics scraped")

    def evaluated():
        rules = [r for g in prom.rules() for r in g["rules"]]
        names = {r["name"] for r in rules}
        return {"PantauReplicaLagging", "PantauReplicaNotStreaming"} <= names and all(
            r["health"] == "ok" and not r["lastEvaluation"].startswith("0001")
            for r in rules) or None

    H.wait_until(evaluated, 30, "every rule evaluated without error")
    time.sleep(2)
    assert not [r for r in prom.query("ALERTS") if "Replica" in r["metric"]["alertname"]], \
        prom.query("ALERTS")
    replica.stop("fast")
    H.wait_until(lambda: "PantauReplicaNotStreaming" in prom.firing() or None, 60,
                 "PantauReplicaNotStreaming firing")
    assert "PantauReplicaLagging" not in prom.firing()
    assert world.stop() == 0
    for c in cols:
        assert c.stop() == 0
    print("replica test: %.1f s" % (time.monotonic() - t0))


if __name__ == "__main__":
    H.run_tests(globals())
