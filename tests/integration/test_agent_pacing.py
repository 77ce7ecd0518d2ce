#!/usr/bin/python3
"""test_agent_pacing.py -- the shipped agent and the shipped broker agree on the message rate
(issue 9, item 3; protocol.md sections 7.3 and 8).

Both sides run as shipped: the broker with deploy/mosquitto.conf's settings and plugin options
(broker_support.BrokerEnv), the agent with deploy/agent.conf's keys but for the places (host,
port, store, TLS files, password file) and the device's own id, kind and stations.

- for each device kind the broker limits (plugin_opt_rate_<kind>), the shipped agent paces every
  publish below that limit (its start line states its pacing and the limit it assumes; both
  are checked against deploy/mosquitto.conf), and a day's backlog of that kind replays in a
  bounded time at that pacing (the computation below);
- a gateway of each kind comes back after a 24-hour outage (its store filled with a backlog
  taken 24 h ago while no broker was reachable) and every reading is stored exactly once, none
  rejected, and the broker's payval counter `rate_limit` stays 0;
- an agent paced above the broker's limit is refused for rate, and with the shipped refusal
  settings every refused reading is tried again and stored, none rejected (PUBACK 0x87 alone
  never gives a reading up).

Replay time at the shipped pacing (0.9 of the kind's rate, half its burst): a flood gauge at one
reading a minute holds 1,440 readings after a day, about 5.3 minutes at 4.5/s; a camera
gateway with 20 cameras, 2 directions and 15-minute counts (one traffic message is one camera,
one direction, one interval: protocol.md 4.3) holds 20 x 2 x 96 = 3,840, about 3.6 minutes at
18/s; a handheld with 300 inspections, about 2.8 minutes at 1.8/s. The broker's own limit
makes any agent take at least (N - burst) / rate: 4.6, 3.0 and 1.7 minutes. The test runs the
three devices at once (the limits are per device) with 200 readings of the flood gateway, 960
of the camera gateway and 150 of the handheld (three to eight times the agent's own burst, half
the broker's, so the steady rate and not the burst decides), about one minute (the
rate-refusal case adds 45 s: one 40 s backoff); the whole day is the computation of the first
test.
"""

import calendar
import os
import re
import sqlite3
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import broker_support as B  # noqa: E402
import pantau_harness as H  # noqa: E402
from agent_support import Agent, assert_exactly_once, ledger_seqs, simulator  # noqa: E402
from broker_policy_support import AgentWorld, check_sanitizer, start_collector  # noqa: E402

KINDS = ("flood_gateway", "traffic_gateway", "handheld")
# keys of deploy/agent.conf that name places on the device, replaced here
PLACES = {"device_id", "mqtt_host", "mqtt_port", "store_path", "tls", "tls_cafile",
          "tls_certfile", "tls_keyfile", "mqtt_username", "mqtt_password_file", "stations"}
DAY = {"flood_gateway": 1440, "traffic_gateway": 20 * 2 * 96, "handheld": 300}
SLICE = {"flood_gateway": 200, "traffic_gateway": 960, "handheld": 150}

_state = {}


def shipped_agent_keys():
    """The top-level keys of deploy/agent.conf ({key: value}, before any [source])."""
    keys = {}
    with open(os.path.join(B.SOURCE, "deploy", "agent.conf")) as f:
        for line in f:
            line = line.strip()
            if line.startswith("["):
                break
            if not line or line.startswith("#"):
                continue
            key, _, value = line.partition(" ")
            keys[key] = value.strip()
    return keys


def broker_rate(kind):
    """deploy/mosquitto.conf's plugin_opt_rate_<kind>: (per second, burst)."""
    text = H.deploy_plugin_options()["rate_" + kind]
    m = re.fullmatch(r"([0-9.]+)/([smh]) burst ([0-9]+)", text.strip())
    assert m, "rate_%s %r" % (kind, text)
    per = {"s": 1.0, "m": 60.0, "h": 3600.0}[m.group(2)]
    return float(m.group(1)) / per, float(m.group(3))


def shipped_agent(w, dev, kind, port, stations=(), sources=(), secret_file=None, store=None):
    """pantau-agent with deploy/agent.conf's keys, but for the places and the device."""
    a = Agent(w, dev, sources=sources, store=store, label="%s-%s" % (dev, port))
    keys = {k: v for k, v in shipped_agent_keys().items() if k not in PLACES}
    if "device_kind" in keys:
        keys["device_kind"] = kind
    keys.update({"device_id": dev, "mqtt_host": "127.0.0.1", "mqtt_port": port,
                 "store_path": a.store, "tls": "false"})
    if stations:
        keys["stations"] = " ".join(stations)
    if secret_file:
        keys.update(mqtt_username=dev, mqtt_password_file=secret_file)
    a.settings = keys
    a.write_conf()
    return a


def pacing_line(a):
    """(rate, burst, kind, limit rate, limit burst) from the agent's start line, or None."""
    m = re.search(r"publishing at most ([0-9.e+]+)/s burst ([0-9]+) \(device_kind (\S+): the "
                  r"broker's limit ([0-9.e+]+)/s burst ([0-9]+)", a.run_log())
    if m is None:
        return None
    return (float(m.group(1)), float(m.group(2)), m.group(3), float(m.group(4)),
            float(m.group(5)))


def store_query(path, query):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
    try:
        return db.execute(query).fetchall()
    finally:
        db.close()


def world():
    if not _state:
        env = B.BrokerEnv("agent-pacing")   # deploy/mosquitto.conf's limits, as shipped
        H.on_exit(env.close)
        collector = start_collector(env, "collector-1")
        _state.update(env=env, world=AgentWorld(env), collector=collector)
    return _state["env"], _state["world"]


def test_shipped_agent_paces_under_the_shipped_broker_limit_of_each_kind():
    env, w = world()
    closed = H.free_port()   # nothing listens: the agent only opens its store and says its pacing
    for kind in KINDS:
        limit_rate, limit_burst = broker_rate(kind)
        a = shipped_agent(w, "pace-%s" % kind.replace("_", "-"), kind, closed).start()
        line = H.wait_until(lambda: pacing_line(a), 20, "%s: the agent's pacing line" % kind)
        assert a.stop() == 0
        rate, burst, said_kind, said_rate, said_burst = line
        assert said_kind == kind, (kind, line)
        # the limit the agent assumes is the one the broker ships
        assert (said_rate, said_burst) == (limit_rate, limit_burst), (kind, line,
                                                                       (limit_rate, limit_burst))
        # every publish goes under it, with room for the network bunching what went apart
        assert rate < limit_rate, (kind, rate, limit_rate)
        assert burst < limit_burst, (kind, burst, limit_burst)
        # a day's backlog (live readings go on meanwhile) catches up within minutes, and the
        # broker could not take it much faster
        replay_s = (DAY[kind] - 1) / rate
        floor_s = max(0.0, DAY[kind] - limit_burst) / limit_rate
        print("%s: a day is %d readings; replay at %.3g/s burst %d: %.0f s (the broker's "
              "limit %.3g/s burst %d allows no less than %.0f s)" %
              (kind, DAY[kind], rate, burst, replay_s, limit_rate, limit_burst, floor_s))
        assert replay_s < 600, (kind, replay_s)
        assert replay_s < 1.5 * floor_s + 60, (kind, replay_s, floor_s)


def counters_after(env, wall):
    """payval's retained counters if they were made after wall (Unix seconds), else None."""
    s = env.stats("payval")
    made = calendar.timegm(time.strptime(s["ts"][:19], "%Y-%m-%dT%H:%M:%S"))
    return s if made > wall + 1 else None


def enrol(env, dev, kind, stations):
    secret = env.add_device(dev, kind, stations=stations)
    env.wait_connack(dev, dev, secret, 0)
    path = os.path.join(env.root, "%s.secret" % dev)
    with open(path, "w") as f:
        f.write(secret + "\n")
    os.chmod(path, 0o600)
    return path


def test_each_kind_back_after_a_day_offline_stores_everything_none_rejected():
    env, w = world()
    day_ago = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 86400))
    cams = ["cam-pc-%02d" % i for i in range(1, 21)]
    devices = [
        # kind, device, stations, the simulator's keys
        ("flood_gateway", "gw-pc-flood", ["st-pc-flood"], {"flood": "st-pc-flood"}),
        ("traffic_gateway", "gw-pc-atcs", cams,   # 20 cameras: the status names 16 of them
         {"traffic": " ".join(cams), "traffic_lanes": "inbound outbound",
          "traffic_interval_s": 900}),
        ("handheld", "hh-pc-01", [], {"larva": "32.75.01.1002"}),
    ]
    closed = H.free_port()
    runs = []
    for kind, dev, stations, sim in devices:
        secret = enrol(env, dev, kind, stations)
        n = SLICE[kind]
        # the outage: a day ago the gateway took its readings and reached no broker
        named = stations if kind == "flood_gateway" else ()
        fill = shipped_agent(w, dev, kind, closed, stations=named, secret_file=secret,
                             sources=[simulator(rate=2000, count=n, start=day_ago, **sim)])
        fill.start()
        H.wait_until(lambda: store_query(fill.store, "SELECT count(*) FROM reading")[0][0] >= n,
                     60, "%s: %d readings in the store" % (dev, n))
        assert fill.stop() == 0
        held = store_query(fill.store, "SELECT count(*), min(seq), max(seq) FROM reading")[0]
        assert held == (n, 1, n), (dev, held)
        # back: the same store, the real broker, no source (only the backlog)
        a = shipped_agent(w, dev, kind, env.port, stations=named, secret_file=secret,
                          store=fill.store)
        runs.append((kind, dev, n, a))
    t0 = time.monotonic()
    for _, _, _, a in runs:
        a.start()

    def done(kind, dev, n, a, out):
        rate = (pacing_line(a) or broker_rate(kind))[0]
        deadline = 1.5 * n / rate + 60
        H.wait_until(lambda: len(ledger_seqs(w, dev)) == n, deadline,
                     "%s (%s): all %d readings stored" % (dev, kind, n))
        out[dev] = time.monotonic() - t0

    took, errors = {}, []

    def run(args):
        try:
            done(*args, took)
        except BaseException as e:   # noqa: B902 -- reported below, with the others
            errors.append(e)

    threads = [threading.Thread(target=run, args=(r,)) for r in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    end = time.time()
    rate_limit = env.stats("payval")["refused_by_reason"]["rate_limit"]
    logs = {dev: a.run_log() for _, dev, _, a in runs}
    for kind, dev, n, a in runs:
        print("%s (%s): %d readings stored in %.0f s" % (dev, kind, n, took.get(dev, -1)))
    if errors:
        raise AssertionError("%s; payval rate_limit=%d; refusals: %s" % (
            errors[0], rate_limit, {d: t.count("broker refused") for d, t in logs.items()}))
    for kind, dev, n, a in runs:
        assert_exactly_once(w, dev, n)
        H.wait_until(lambda: store_query(a.store, "SELECT count(*) FROM reading")[0][0] == 0,
                     30, "%s: the store to empty (acknowledged)" % dev)
        assert store_query(a.store, "SELECT count(*) FROM rejected")[0][0] == 0, dev
        assert "rejected for good" not in logs[dev], dev
        assert "broker refused" not in logs[dev], (dev, logs[dev].count("broker refused"))
        assert a.stop() == 0
    # the broker refused nothing for rate: its retained counters (every second), made after
    # the last reading was stored
    stats = H.wait_until(lambda: counters_after(env, end), 20, "payval counters after the end")
    assert stats["refused_by_reason"]["rate_limit"] == 0, stats


def test_rate_refusals_are_tried_again_until_stored_never_rejected():
    """An agent paced above the broker's limit (a broker tightened below what the device was
    set up for) is refused for rate: with the shipped refusal settings (refuse_tries,
    refuse_backoff_ms, refuse_give_up_ms) every refused reading is tried again after its wait
    and stored; none goes to the rejected list."""
    env, w = world()
    dev, n = "gw-pc-over", 400
    cams = ["cam-pc-over-%02d" % i for i in range(1, 11)]
    secret = enrol(env, dev, "traffic_gateway", cams)
    closed = H.free_port()
    day_ago = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 86400))
    fill = shipped_agent(w, dev, "traffic_gateway", closed, secret_file=secret,
                         sources=[simulator(traffic=" ".join(cams), rate=2000, count=n,
                                            start=day_ago, traffic_interval_s=900)])
    fill.start()
    H.wait_until(lambda: store_query(fill.store, "SELECT count(*) FROM reading")[0][0] >= n,
                 60, "%d readings in the store" % n)
    assert fill.stop() == 0
    a = shipped_agent(w, dev, "traffic_gateway", env.port, secret_file=secret, store=fill.store)
    if "device_kind" in a.settings:
        # 100/s against the broker's 20/s burst 200: about 120 of 400 refused for rate
        a.settings.update(publish_rate="100", publish_burst="100")
        a.write_conf()
    a.start()
    H.wait_until(lambda: len(ledger_seqs(w, dev)) == n, 150,
                 "all %d readings stored after their refusals" % n)
    assert_exactly_once(w, dev, n)
    H.wait_until(lambda: store_query(a.store, "SELECT count(*) FROM reading")[0][0] == 0, 30,
                 "the store to empty (acknowledged)")
    log = a.run_log()
    assert "broker refused" in log, "no refusal: the test did not exceed the broker's rate"
    assert store_query(a.store, "SELECT count(*) FROM rejected")[0][0] == 0
    assert "rejected for good" not in log
    assert a.stop() == 0


def test_no_sanitizer_report_from_the_broker_or_collector():
    env, _ = world()
    check_sanitizer(env)
    assert _state["collector"].running()
    assert _state["collector"].sanitizer_report() is None


if __name__ == "__main__":
    H.run_tests(globals())
