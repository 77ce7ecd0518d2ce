#!/usr/bin/python3
"""test_agent_metrics.py -- the agent's Prometheus metrics as a node_exporter textfile (issue 14,
item 6: "the agent as a node_exporter textfile"), against a real broker, collector and
database.

- connected, with readings stored and acknowledged: the file says connected 1, backlog 0 once
  the acknowledgements came, readings_acknowledged_total as many as the ledger holds, the store's
  limits from the config, the store file's bytes;
- the broker stopped: connected 0 and the backlog grows as the source goes on; the backlog in
  the file is the store's own count;
- the agent stopped (SIGTERM): a last file is left with connected 0;
- the file is never half written (every read parses whole, every series has one value);
- `--check` refuses a metrics_textfile that is not a .prom file, or in a folder it cannot write,
  naming the file, the line and the key.
"""
import os
import re
import sqlite3
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from agent_support import Agent, agent_binary, ledger_count, simulator  # noqa: E402
from collector_support import env_for, run_tests, wait_for  # noqa: E402

LINE = re.compile(r'^(pantau_agent_[a-z_]+)\{device="([a-z0-9._-]+)"(?:,version="[^"]*")?\} '
                  r'([0-9.]+)$')


def read_metrics(path):
    """{name: value} of the file, checked whole: every line a comment or one series of the
    device, each name once, HELP and TYPE before it."""
    with open(path) as f:
        text = f.read()
    assert text.endswith("\n"), text[-200:]
    values, typed = {}, set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
            continue
        if line.startswith("# HELP "):
            continue
        m = LINE.match(line)
        assert m, "not a series of the device: %r" % line
        assert m.group(1) in typed, "no TYPE before %s" % m.group(1)
        assert m.group(1) not in values, "twice: %s" % m.group(1)
        values[m.group(1)] = float(m.group(3))
    return values


def store_held(path):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
    try:
        return db.execute("SELECT count(*) FROM reading").fetchone()[0]
    finally:
        db.close()


def test_connected_acknowledged_offline_growing_stopped_disconnected():
    dev, st = "gw-metrics-01", "st-metrics-01"
    with env_for("agent-metrics") as env:
        env.register(dev, "flood_gateway", [st])
        env.collector()
        prom = os.path.join(env.root, "textfile", "pantau-agent.prom")
        os.makedirs(os.path.dirname(prom))
        agent = Agent(env, dev, sources=[simulator(flood=st, rate=20)],
                      metrics_textfile=prom, metrics_interval_ms="1s",
                      store_max_readings="5000", store_max_bytes="10000000")
        agent.start()

        def acked_caught_up():
            m = read_metrics(prom) if os.path.exists(prom) else {}
            n = ledger_count(env, dev)
            if m.get("pantau_agent_connected") == 1 and n >= 40 and \
                    m.get("pantau_agent_readings_acknowledged_total", 0) >= 40:
                return m
            return None

        m = wait_for(acked_caught_up, 30, "metrics: connected, 40 readings acknowledged")
        assert m["pantau_agent_store_limit_readings"] == 5000, m
        assert m["pantau_agent_store_limit_bytes"] == 10000000, m
        assert m["pantau_agent_store_file_bytes"] > 0, m
        assert m["pantau_agent_clock_synced"] == 1, m   # clock_sync synced (agent_support)
        assert m["pantau_agent_connects_total"] >= 1, m
        assert m["pantau_agent_published_total"] >= m[
            "pantau_agent_readings_acknowledged_total"], m
        # acknowledged never exceeds what the ledger holds
        assert m["pantau_agent_readings_acknowledged_total"] <= ledger_count(env, dev), m
        assert m["pantau_agent_backlog_readings"] < 40, m   # 20/s, acknowledged as they go
        assert not os.path.exists(prom + ".tmp")

        # the broker goes away: disconnected, the backlog grows and is the store's count
        env.mosq.stop()
        offline = wait_for(lambda: (lambda m: m if m.get("pantau_agent_connected") == 0 and
                                    m["pantau_agent_backlog_readings"] >= 40 else None)(
                                        read_metrics(prom)), 30,
                           "metrics: disconnected with a backlog of 40")
        held = store_held(agent.store)
        assert abs(offline["pantau_agent_backlog_readings"] - held) <= 40, (offline, held)
        assert offline["pantau_agent_backlog_bytes"] > 0, offline

        # stopped: the last file says disconnected
        env.mosq.start()
        assert agent.stop() == 0
        last = read_metrics(prom)
        assert last["pantau_agent_connected"] == 0, last
        assert last["pantau_agent_backlog_readings"] == store_held(agent.store), last


def test_check_refuses_a_bad_metrics_textfile_naming_file_line_key():
    with env_for("agent-metrics-check") as env:
        for value, why in (("/tmp/pantau-agent.txt", "does not end in .prom"),
                           (os.path.join(env.root, "gone", "a.prom"), "cannot write in")):
            agent = Agent(env, "gw-metrics-02", metrics_textfile=value)
            r = subprocess.run([agent_binary(), "-c", agent.conf_path, "--check"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               timeout=30)
            assert r.returncode == 2, (value, r.returncode, r.stderr)
            lines = open(agent.conf_path).read().splitlines()
            lineno = next(i + 1 for i, l in enumerate(lines) if l.startswith("metrics_textfile"))
            want = "%s:%d: metrics_textfile" % (agent.conf_path, lineno)
            assert want in r.stderr and why in r.stderr, (want, why, r.stderr)


if __name__ == "__main__":
    run_tests(globals())
