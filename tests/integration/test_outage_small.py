#!/usr/bin/python3
"""test_outage_small.py -- issue 15 item 2 in CI size: agents back after an outage, each with a
backlog, beside live readings; the live readings are not queued behind the backlogs.

AGENTS real pantau-agents (unpaced, a window of 2,000, as a gateway on a broker without
rate limits) each hold BACKLOG flood readings (written by tests/bench/scale/bench_outage_fill:
the agent's simulator on an accelerated clock through the agent's own store module) when they
start at once against mosquitto (max_queued_messages as deploy/mosquitto.conf) and the real
collector; each also takes LIVE_RATE live readings a second. Together they offer the collector
more than it commits, so readings queue in the broker: before the backlog window
(backlog_delay_ms, edge-agent/engine/agent_window.h) each agent kept up to three quarters of its
window in flight, some 1,500 readings, and a live reading waited behind all of them. Checked:

- every backlog is committed (within BACKLOG_DEADLINE_S);
- live readings (taken after the agents started) are committed within LIVE_BOUND_S of being
  taken (ts to the ledger's stored_at, the transaction's start), p99 and max, while the backlog
  drains and after;
- the backlog window did its work: some agent's summary shows it below the window's share;
- exactly once: every (device, store, seq) each store issued is in the ledger once with one
  facts row, or (taken in the moment before its agent stopped) still held in its store.

OUTAGE_SMALL_BACKLOG_DELAY (a duration, e.g. 0 to switch the backlog window off) is for
showing that the test fails without it.
"""
import datetime
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from agent_support import Agent, simulator  # noqa: E402
from collector_support import BUILD, env_for, run_tests, wait_for  # noqa: E402

AGENTS = 24
BACKLOG = 2500           # readings per agent: a gauge read every second for about 42 minutes
LIVE_RATE = 4            # live readings a second per agent
BACKLOG_DEADLINE_S = 90
LIVE_BOUND_S = 5.0       # the goal of issue 15 (the backlog window: 2 s of queueing)
FILL = os.path.join(BUILD, "tests", "bench", "bench_outage_fill")


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z")


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def store_state(path):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
    try:
        store_id, next_seq = db.execute(
            "SELECT store_id, next_seq FROM store_state WHERE id = 1").fetchone()
        held = db.execute("SELECT count(*) FROM reading").fetchone()[0]
    finally:
        db.close()
    return store_id, next_seq, held


def test_live_readings_are_not_queued_behind_backlogs():
    assert os.access(FILL, os.X_OK), "no %s (cmake --build build)" % FILL
    delay = os.environ.get("OUTAGE_SMALL_BACKLOG_DELAY", "2s")
    with env_for("outage-small", broker_extra="max_queued_messages 20000\n") as env:
        env.collector(batch_ms="100ms", ack_interval_ms="200ms")
        agents = []
        cut = {}
        for i in range(AGENTS):
            dev, st = "gw-out-%02d" % (i + 1), "st-out-%02d" % (i + 1)
            env.register(dev, "flood_gateway", [st])
            a = Agent(env, dev, window=2000, replay_rate=1000000, backlog_delay_ms=delay,
                      log_level="info", summary_interval_ms="2s",
                      sources=[simulator(flood=st, rate=LIVE_RATE, seed=100 + i)])
            # the backlog: the same station read every second for BACKLOG seconds up to now
            fill = os.path.join(env.root, "%s.fill.conf" % dev)
            live = a.sources
            a.sources = [simulator(flood=st, rate=0, seed=100 + i, flood_interval="1s",
                                   start=iso(time.time() - BACKLOG))]
            a.conf_path, live_path = fill, a.conf_path
            a.write_conf()
            a.conf_path, a.sources = live_path, live
            r = subprocess.run([FILL, "-c", fill, "--hours", "%.6f" % (BACKLOG / 3600.0)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               timeout=60)
            assert r.returncode == 0, r.stdout
            kv = dict(x.split("=", 1) for x in r.stdout.split())
            assert int(kv["readings"]) >= BACKLOG - 2, r.stdout
            cut[dev] = int(kv["last_seq"])
            agents.append(a)
        total = sum(cut.values())
        env.sql("CREATE TABLE public.backlog_cut (device_id text PRIMARY KEY, last_seq bigint)")
        for dev, last in cut.items():
            env.sql("INSERT INTO public.backlog_cut VALUES (%s, %s)", dev, last)

        t0 = time.time()
        for a in agents:
            a.start()

        def backlog_done():
            return env.scalar("SELECT count(*) FROM pantau.reading_ledger l"
                              " JOIN public.backlog_cut c USING (device_id)"
                              " WHERE l.seq <= c.last_seq") >= total
        wait_for(backlog_done, BACKLOG_DEADLINE_S, "%d backlog readings committed" % total)
        drained_s = time.time() - t0
        time.sleep(5)   # live readings after the drain too
        for a in agents:   # SIGTERM to all, then wait for each
            a.proc.send_signal(signal.SIGTERM)
        for a in agents:
            assert a.stop() == 0
        summaries = [a.run_log() for a in agents]

        # every store issued 1 .. next_seq - 1: each stored once with one facts row, or still
        # held in its store (taken in the last moment before the agent stopped, never lost)
        for a in agents:
            store_id, next_seq, _ = store_state(a.store)
            db = sqlite3.connect("file:%s?mode=ro" % a.store, uri=True, timeout=10)
            try:
                held = {r[0] for r in db.execute("SELECT seq FROM reading")}
            finally:
                db.close()
            ledger = {s for (s,) in env.sql("SELECT seq FROM pantau.reading_ledger WHERE"
                                             " device_id = %s AND store_id = %s AND"
                                             " outcome = 'stored'", a.device_id, store_id)}
            issued = set(range(1, next_seq))
            assert ledger | held == issued, (a.device_id, sorted(issued - ledger - held)[:20])
            # (stored and still held: committed, its acknowledgement not back before the stop;
            # a restart would send it again and hear it acknowledged as a duplicate)
            assert len(held) <= 5, (a.device_id, "held at the end", len(held))
            facts = dict(env.sql("SELECT seq, count(*) FROM pantau.flood_reading WHERE"
                                 " device_id = %s AND store_id = %s GROUP BY seq",
                                 a.device_id, store_id))
            assert set(facts) == ledger, (a.device_id, len(facts), len(ledger))
            assert max(facts.values()) == 1, "%s: a reading stored twice" % a.device_id
            assert env.scalar("SELECT count(*) FROM pantau.reading_ledger WHERE device_id = %s",
                              a.device_id) == len(ledger), "%s: a dead letter" % a.device_id

        lags = env.sql(
            "SELECT extract(epoch FROM l.stored_at - l.ts), extract(epoch FROM l.stored_at)"
            " FROM pantau.reading_ledger l JOIN public.backlog_cut c USING (device_id)"
            " WHERE l.seq > c.last_seq AND l.stream = 'flood'")
        during = [float(x) for x, at in lags if float(at) <= t0 + drained_s]
        alll = [float(x) for x, _ in lags]
        assert len(during) >= AGENTS * LIVE_RATE * min(drained_s, 5) / 2, len(during)
        p99, worst = pct(alll, 99), max(alll)
        windows = [int(w) for s in summaries for w in re.findall(r"backlog_window=(\d+)", s)]
        cuts = [int(w) for s in summaries for w in re.findall(r"backlog_cuts=(\d+)", s)]
        print("%d agents, %d backlog readings committed in %.1f s (%.0f/s); %d live readings,"
              " %d while draining: taken to stored_at p50 %.2f s, p99 %.2f s, max %.2f s;"
              " backlog windows seen %d..%d, halvings %d" % (
                  AGENTS, total, drained_s, total / drained_s, len(alll), len(during),
                  pct(alll, 50), p99, worst, min(windows or [0]), max(windows or [0]),
                  sum(cuts)))
        assert worst <= LIVE_BOUND_S, "live readings waited up to %.2f s (p99 %.2f s)" % (
            worst, p99)
        if delay not in ("0", "0ms", "0s"):
            assert min(windows) < 1500, "the backlog window never went below its share"


if __name__ == "__main__":
    run_tests(globals())
