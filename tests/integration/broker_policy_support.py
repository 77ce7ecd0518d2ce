"""broker_policy_support.py -- what the broker policy tests share (devacl, payval; not a test).

Builds on broker_support.py (BrokerEnv: a real mosquitto with pantau_broker.so, a real
PostgreSQL, accounts made with pantau-admin): payloads of the protocol, waiting for the plugin's
counters on $SYS/pantau/<module>, clients with a role, and the real collector
(build*/collector/pantau-collector, through collector_support.Collector) logged in with its own
collector account.

    env = BrokerEnv("acl")
    secret = env.add_device("gw-1", "flood_gateway", stations=["st-1"])
    c = env.client("gw-1", secret)
    assert c.publish("pantau/v1/gw-1/flood", flood(1, "st-1")) in OK
    wait_stats(env, "devacl", lambda s: s["denied_by_reason"]["foreign"] >= 1)
"""

import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import broker_support as B  # noqa: E402
import pantau_harness as H  # noqa: E402

STORE = "6f1c2b0e-9a57-4d1e-8d0c-3a1f2e4b5c6d"
TS = "2026-02-11T03:15:00.000Z"
# PUBACK codes of an accepted QoS 1 message: success, or "no matching subscribers"
OK = (0x00, 0x10)
REFUSED = B.RC_NOT_AUTHORIZED


def now_ts():
    """The current time as a protocol timestamp (UTC, milliseconds)."""
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (int(t * 1000) % 1000)


def flood(seq, station, ts=None, store=STORE, **extra):
    """A valid flood reading; ts defaults to now, so that it lies inside a binding made by
    pantau-admin device-add (valid from then on) whether or not the broker has seen
    BrokerEnv.add_device's backdating of it yet."""
    body = {"store": store, "seq": seq, "ts": ts or now_ts(), "clock_synced": True,
            "replay": False, "station": station, "level_cm": 637.5}
    body.update(extra)
    return json.dumps(body, separators=(",", ":"))


def status(state="online", conn=1, store=STORE, ts=TS):
    return json.dumps({"state": state, "conn": conn, "store": store, "ts": ts,
                       "clock_synced": True}, separators=(",", ":"))


def larva(seq, store="9d8c7b6a-5f4e-4d3c-8b2a-19f8e7d6c5b4"):
    return json.dumps({"store": store, "seq": seq, "ts": "2026-01-19T02:30:12.345Z",
                       "clock_synced": True, "replay": False, "inspector": "jmt-0412",
                       "building": "house", "kelurahan": "32.75.01.1002", "rw": 3, "rt": 5,
                       "larvae_found": False, "containers": []}, separators=(",", ":"))


def wait_stats(env, module, pred, timeout=20, what=None):
    """Polls the retained counters on $SYS/pantau/<module> until pred(counters) holds; returns
    them. The plugin publishes them every plugin_opt_stats_interval (1 s in BrokerEnv)."""
    last = {}

    def probe():
        last["s"] = env.stats(module, timeout=5)
        return pred(last["s"])

    try:
        H.wait_until(probe, timeout, what or "counters of %s" % module, interval=0.3)
    except H.WaitTimeout as e:
        raise AssertionError("%s; last counters: %s" % (e, json.dumps(last.get("s"))))
    return last["s"]


def user(env, name, role):
    """An account of role with a password; waits until the broker knows it. Returns the
    password."""
    password = env.add_user(name, role)
    env.wait_connack(name, name, password, 0)
    return password


def device(env, device_id, kind="flood_gateway", stations=()):
    """A device account; waits until the broker knows it. Returns its secret."""
    secret = env.add_device(device_id, kind, stations=stations)
    env.wait_connack(device_id, device_id, secret, 0)
    return secret


def subscriber(env, name, password, filters, qos=1):
    """A connected client of account name subscribed to filters (every SUBACK must grant)."""
    c = env.client(name, password)
    for f in filters:
        rc = c.subscribe(f, qos)
        assert rc < 0x80, "%s: SUBSCRIBE %s refused (0x%02x)" % (name, f, rc)
    return c


def drain(client, topic, timeout):
    """Every message on topic that arrives until none came for timeout seconds."""
    got = []
    while True:
        m = client.recv(timeout, topic=topic)
        if m is None:
            return got
        got.append(m)


def log_has(env, text, timeout=10):
    """Waits until the broker's log contains text."""
    H.wait_until(lambda: text in env.broker_log(), timeout, "broker log line %r" % text)


def check_sanitizer(env):
    mark = env.sanitizer_report()
    assert mark is None, "sanitizer report in the broker's output: %s" % mark


class CollectorWorld:
    """What collector_support.Collector expects of its env, for a BrokerEnv: a folder, the
    broker's port and a DSN for a pantau_ingest role."""

    def __init__(self, env):
        env.sql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname ="
                " 'pantau_collector_test') THEN CREATE ROLE pantau_collector_test LOGIN;"
                " END IF; EXCEPTION WHEN unique_violation OR duplicate_object THEN NULL; END $$")
        env.sql("GRANT pantau_ingest TO pantau_collector_test")
        self.root = env.root
        self.mqtt_port = env.port
        self.collector_dsn = env.dsn.replace("user=postgres", "user=pantau_collector_test")


class AgentWorld:
    """What agent_support.Agent expects of its env, for a BrokerEnv: a folder and the broker's
    port; sql and scalar for agent_support's ledger helpers."""

    def __init__(self, env):
        self.env = env
        self.root = env.root
        self.mqtt_port = env.port

    def sql(self, query, *args):
        return self.env.sql(query, *args)

    def scalar(self, query, *args):
        return self.env.scalar(query, *args)


def start_collector(env, collector_id="collector-1", **conf):
    """The real pantau-collector, logged in as its own collector account."""
    import collector_support as CS
    password = user(env, collector_id, "collector")
    pw_file = os.path.join(env.root, "%s.mqtt-password" % collector_id)
    with open(pw_file, "w") as f:
        f.write(password + "\n")
    c = CS.Collector(CollectorWorld(env), collector_id, mqtt_username=collector_id,
                     mqtt_password_file=pw_file, **conf)
    c.start()
    H.on_exit(c.kill9)
    H.wait_until(lambda: "subscribed as group" in c.run_log(), 30,
                 "%s to subscribe" % collector_id)
    return c


def wait_rows(env, query, want, *args, timeout=30):
    """Polls a count(*) query until it returns want; returns it."""
    return H.wait_until(lambda: env.scalar(query, *args) == want or None, timeout,
                        "%s = %s" % (query, want)) and want


