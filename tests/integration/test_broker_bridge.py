#!/usr/bin/python3
"""test_broker_bridge.py -- brokers per district (issue 15, item 4): real pantau-agent
processes connect to two edge brokers, each mosquitto 2.0.11 with pantau_broker.so (the shipped
deploy/mosquitto.conf) and the shipped bridge lines of deploy/mosquitto-edge.conf, bridged to a
central broker (the same plugin) where the real pantau-collector subscribes. The bridges log in
with accounts of role `bridge` (schema/030). Acknowledgements and the collectors' retained
health travel back over the bridges.

- the central plugin's door for a bridge: it may publish a valid reading of an enrolled device
  (PUBACK 0), not one of a device nobody enrolled, not a device's reading of a stream its kind
  may not send, not an invalid one (station not bound), not an ack or a health message; it may
  read acks and health, not the readings; a device account may not act as a bridge;
- a reading the edge's plugin refuses (a station not bound to the device) is passed on
  pantau/v1/_sys/rejected over the bridge and stored once as a dead letter at the centre;
- four agents (two per edge) stream readings; mid-stream the central broker is stopped and
  started again (both bridge links cut and restored: the edges queue, the collector reconnects),
  then one edge broker is killed -9 and started again (its agents reconnect, what it held is
  resent by them): every reading of every device is stored exactly once, and every device is
  acknowledged in the end (its store empties), which it only is if the acks crossed the bridge,
  and resends only happen while it reads a collector's health (over the bridge too).

The test changes only places in the shipped bridge lines (address, the bridge's account, no
TLS on the loopback) and restart_timeout (1 2: reconnect within seconds, not 2 to 30 s).
"""

import os
import sqlite3
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import broker_support as B  # noqa: E402
import pantau_harness as H  # noqa: E402
from agent_support import Agent, assert_exactly_once, ledger_seqs, simulator  # noqa: E402
from broker_policy_support import check_sanitizer, flood, start_collector, user  # noqa: E402

EDGE_CONF = os.path.join(B.SOURCE, "deploy", "mosquitto-edge.conf")
TLS_KEYS = ("bridge_cafile", "bridge_tls_version")
PER_DEVICE = 60          # readings each agent takes (3 a second: about 20 s of stream)


def bridge_lines(central_port, name, password):
    """deploy/mosquitto-edge.conf's lines with this test's places."""
    lines = []
    seen = set()
    with open(EDGE_CONF) as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            key, _, value = line.partition(" ")
            seen.add(key)
            if key in TLS_KEYS:
                continue                 # the test's central listener is plain TCP on loopback
            if key == "address":
                value = "127.0.0.1:%d" % central_port
            elif key in ("remote_clientid", "remote_username"):
                value = name
            elif key == "remote_password":
                value = password
            elif key == "local_clientid":
                value = name + ".local"
            elif key == "restart_timeout":
                value = "1 2"
            lines.append("%s %s" % (key, value))
    # what the shipped file must say (issue 15: MQTT 5, QoS 1, a session kept while down)
    shipped = [ln for ln in lines if ln.split(" ", 1)[0] not in ("address", "remote_password")]
    for want in ("bridge_protocol_version mqttv50", "cleansession false",
                 "local_cleansession false", "notifications false",
                 "topic pantau/v1/+/flood out 1", "topic pantau/v1/+/status out 1",
                 "topic pantau/v1/_sys/rejected out 1", "topic pantau/v1/+/ack in 1",
                 "topic pantau/v1/_sys/health/+ in 1", "topic pantau/v1/_sys/restore in 1"):
        assert want in shipped, "deploy/mosquitto-edge.conf lacks %r" % want
    assert set(TLS_KEYS) <= seen, "deploy/mosquitto-edge.conf: the bridge should use TLS"
    return "\n".join(lines)


class Edge:
    """An edge broker: deploy/mosquitto.conf with pantau_broker.so on the central's database
    (its own registry snapshot), plus the bridge to the central broker."""

    def __init__(self, central, name):
        self.name = name
        self.password = user(central, name, "bridge")
        root = H.workdir("bridge-edge-%s" % name)
        opts = dict(central.plugin_opts)
        opts["snapshot_file"] = os.path.join(root, "registry.snapshot")
        self.mosq = H.Mosquitto(os.path.join(root, "mosquitto"),
                                extra=bridge_lines(central.port, name, self.password),
                                allow_anonymous=False, plugins=[(B.plugin_path(), opts)],
                                deploy=True)
        self.root = root
        self.mqtt_port = self.mosq.port
        H.watch_log("edge %s stderr" % name, os.path.join(self.mosq.root, "stderr.log"))
        self.mosq.start()

    def log(self):
        try:
            with open(self.mosq.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


def device(central, edge, device_id, station):
    """A flood gateway enrolled by pantau-admin, its key in a file; waits until the edge's
    plugin knows it. Returns the key file's path."""
    secret = central.add_device(device_id, "flood_gateway", stations=[station])
    H.wait_until(lambda: connack(edge.mqtt_port, device_id, secret) == 0, 15,
                 "edge %s to know %s" % (edge.name, device_id), interval=0.2)
    path = os.path.join(edge.root, "%s.secret" % device_id)
    with open(path, "w") as f:
        f.write(secret + "\n")
    os.chmod(path, 0o600)
    return path


def connack(port, name, password, **kw):
    c = B.RawClient(port, name, name, password, **kw)
    try:
        return c.connect()
    finally:
        c.disconnect()


def store_held(a):
    db = sqlite3.connect("file:%s?mode=ro" % a.store, uri=True, timeout=10)
    try:
        return db.execute("SELECT count(*) FROM reading").fetchone()[0]
    finally:
        db.close()


def check_bridge_door(central):
    """What the central plugin lets an account of role bridge do, on a raw connection."""
    password = user(central, "bridge-door", "bridge")
    central.add_device("gw-door-1", "flood_gateway", stations=["st-door-1"])
    central.add_station("st-door-x")
    c = B.RawClient(central.port, "bridge-door", "bridge-door", password, clean_start=False)
    H.wait_until(lambda: c.connect() == 0 or c.close(), 15, "the bridge account to log in",
                 interval=0.3)
    try:
        H.wait_until(lambda: c.publish("pantau/v1/gw-door-1/flood",
                                       flood(1, "st-door-1")) == 0, 10,
                     "a bridged reading of an enrolled device to pass", interval=0.3)
        assert c.publish("pantau/v1/gw-nobody/flood", flood(2, "st-door-1")) == 0x87
        assert c.publish("pantau/v1/gw-door-1/larva", flood(3, "st-door-1")) == 0x87
        assert c.publish("pantau/v1/gw-door-1/flood", flood(4, "st-door-x")) == 0x87, \
            "a reading for a station not bound to its device passed the bridge"
        assert c.publish("pantau/v1/gw-door-1/flood", flood(5, "st-door-1"),
                         retain=True) == 0x87
        assert c.publish("pantau/v1/gw-door-1/ack", b'{"ts":"x","acks":[]}') == 0x87
        assert c.publish("pantau/v1/_sys/health/bridge-door",
                         b'{"collector":"bridge-door","state":"online","db":"up",'
                         b'"ts":"2026-02-11T03:15:00.000Z"}', retain=True) == 0x87
        assert c.subscribe("pantau/v1/+/ack") < 0x80
        assert c.subscribe("pantau/v1/_sys/health/+") < 0x80
        assert c.subscribe("pantau/v1/_sys/restore") < 0x80
        assert c.subscribe("pantau/v1/+/flood") == 0x87
        assert c.subscribe("$share/pantau-collectors/pantau/v1/+/ack") == 0x87
    finally:
        c.close()
    # a device's own account cannot pass readings of another device the bridge's way
    secret = central.secrets["gw-door-1"]
    d = B.RawClient(central.port, "gw-door-1", "gw-door-1", secret)
    assert d.connect() == 0
    try:
        assert d.publish("pantau/v1/gw-nobody/flood", flood(6, "st-door-1")) == 0x87
    finally:
        d.close()
    # the valid one was stored (by the collector), the refused ones were not
    H.wait_until(lambda: ledger_seqs(central, "gw-door-1") == [1], 20,
                 "the bridged reading to be stored")
    assert ledger_seqs(central, "gw-nobody") == []


def test_readings_through_two_edges_exactly_once_across_cuts_and_an_edge_crash():
    t0 = time.monotonic()
    central = B.BrokerEnv("bridge-central")
    H.on_exit(central.close)
    start_collector(central, "collector-1")
    check_bridge_door(central)
    edges = [Edge(central, "bridge-kec-a"), Edge(central, "bridge-kec-b")]
    for e in edges:
        H.wait_until(lambda: "Connecting bridge" in e.log() and
                     central.scalar("SELECT 1") == 1, 20, "edge %s's bridge" % e.name)
    # what the edge's plugin refuses becomes a dead letter at the centre (rejected, bridged)
    refused_key = device(central, edges[1], "gw-br-dl", "st-br-dl")
    with open(refused_key) as f:
        d = B.RawClient(edges[1].mqtt_port, "gw-br-dl", "gw-br-dl", f.read().strip())
    assert d.connect() == 0
    central.add_station("st-br-unbound")
    assert d.publish("pantau/v1/gw-br-dl/flood", flood(1, "st-br-unbound")) == 0x87
    d.close()
    H.wait_until(lambda: B.dead_letters(central, "gw-br-dl", "source, category"), 20,
                 "the edge's refusal as a dead letter at the centre")
    assert B.dead_letters(central, "gw-br-dl", "source, category") == [("broker", "station")], \
        B.dead_letters(central, "gw-br-dl", "source, category")
    agents = []
    for i, e in enumerate(edges):
        for j in (1, 2):
            dev = "gw-br-%d%d" % (i + 1, j)
            st = "st-br-%d%d" % (i + 1, j)
            key = device(central, e, dev, st)
            a = Agent(e, dev, sources=[simulator(flood=st, rate=3, count=PER_DEVICE,
                                                 seed=10 * i + j)],
                      mqtt_username=dev, mqtt_password_file=key, device_kind="flood_gateway",
                      publish_rate="4.5", publish_burst="25")
            agents.append((e, a.start()))

    def stored(dev):
        return len(ledger_seqs(central, dev))

    # readings flow through both edges
    H.wait_until(lambda: all(stored(a.device_id) >= 5 for _, a in agents), 30,
                 "readings of every device through the edges")
    # the bridge links are cut and restored mid-stream: the central broker goes down for 4 s
    before = {a.device_id: stored(a.device_id) for _, a in agents}
    assert all(n < PER_DEVICE for n in before.values()), ("not mid-stream", before)
    central.stop_broker()
    time.sleep(4)
    central.start_broker()
    H.wait_until(lambda: all(stored(a.device_id) >= 20 for _, a in agents), 40,
                 "readings again after the central broker came back")
    # edge a is killed -9 and started again, mid-stream too
    edge_a = edges[0]
    assert any(stored(a.device_id) < PER_DEVICE for e, a in agents if e is edge_a)
    edge_a.mosq.kill9()
    time.sleep(2)
    edge_a.mosq.start()
    # every reading of every device stored, once; every device acknowledged (its store empty)
    for _, a in agents:
        H.wait_until(lambda: stored(a.device_id) >= PER_DEVICE, 60,
                     "%d readings of %s" % (PER_DEVICE, a.device_id))
    for _, a in agents:
        H.wait_until(lambda: store_held(a) == 0, 40,
                     "%s's store to empty (acknowledged over the bridge)" % a.device_id)
        assert_exactly_once(central, a.device_id, PER_DEVICE)
    # the bridges carried them: no device ever connected to the central broker
    clog = central.broker_log()
    for _, a in agents:
        assert (" as %s (" % a.device_id) not in clog, \
            "%s connected to the central broker" % a.device_id
        assert (" as %s (" % a.device_id) in edges[0].log() + edges[1].log()
    # the bridges kept their sessions at the central broker (cleansession false: Clean Start 0)
    for e in edges:
        assert (" as %s (p5, c0," % e.name) in clog, "bridge %s without a kept session" % e.name
    for e, a in agents:
        assert a.stop() == 0
    print("bridge test: %d readings through two edges, %.1f s" % (
        PER_DEVICE * len(agents), time.monotonic() - t0))
    check_sanitizer(central)
    for e in edges:
        e.mosq.stop()


if __name__ == "__main__":
    H.run_tests(globals())
