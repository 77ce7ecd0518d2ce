#!/usr/bin/python3
"""test_agent_offline.py -- the edge agent through broker outages, against a real mosquitto, a
real PostgreSQL and the real collector:

- kill -9 of the agent while the broker is down (readings waiting in its store), then the
  broker and the agent again: every reading is in pantau.reading_ledger exactly once, the ones
  taken offline marked replay (held longer than the lateness of protocol.md 4.1: the test
  ages the store by 10 minutes), and the store is empty once acknowledged (status backlog 0);
- the broker down for a while with the agent running (its store aged the same way): the
  backlog goes out oldest first with replay true at the configured rate, live readings
  (replay false) go out meanwhile instead of waiting behind it, and everything is
  acknowledged and deleted. (A backlog held less than the lateness is news, replay false:
  test_history_news.py.)
"""
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from agent_support import (Agent, Watcher, age_store, assert_exactly_once,  # noqa: E402
                           held_now, ledger_count, simulator)
from collector_support import env_for, run_tests, wait_for  # noqa: E402


def summary_held(agent):
    """held= of the agent's newest summary line in this run (None before the first)."""
    found = re.findall(r"summary: held=(\d+)", agent.run_log())
    return int(found[-1]) if found else None


def test_kill9_while_broker_down_then_restart_delivers_each_reading_once():
    dev, st = "gw-off-01", "st-off-01"
    with env_for("agent-kill9") as env:
        env.register(dev, "flood_gateway", [st])
        env.collector()
        watcher = Watcher(env.mqtt_port, dev).start()
        agent = Agent(env, dev, sources=[simulator(flood=st, rate=40)],
                      summary_interval_ms="1s")
        agent.start()
        wait_for(lambda: ledger_count(env, dev) >= 40, 30, "the first readings stored")
        env.mosq.kill9()
        seen_online = max(m.doc["seq"] for m in watcher.readings())
        # readings keep coming into the store while the broker is away
        wait_for(lambda: (summary_held(agent) or 0) >= 150, 30, "150 readings held offline")
        agent.kill9()
        age_store(agent.store, 10)   # an outage longer than the lateness: history
        env.mosq.start()
        # the same store, no source this time: exactly what was stored must arrive
        agent.sources = []
        agent.write_conf()
        agent.start()
        wait_for(lambda: agent.last_seq() is not None and "last_seq=" in agent.run_log(), 20,
                 "the agent to open its store")
        last = agent.last_seq()
        assert last >= seen_online + 100, (last, seen_online)
        wait_for(lambda: ledger_count(env, dev) == last, 90, "all %d readings stored" % last)
        assert_exactly_once(env, dev, last)
        # taken offline, first sent after the restart, held > L: replay true
        fresh = env.scalar("SELECT count(*) FROM pantau.reading_ledger WHERE device_id = %s"
                           " AND seq > %s AND NOT replay", dev, seen_online + 1)
        assert fresh == 0, "%d readings taken offline were stored as live" % fresh
        wait_for(lambda: held_now(watcher) == 0, 30, "status backlog 0 (the store is empty)")
        assert agent.stop() == 0
        assert "stopped: held=0 " in agent.run_log(), agent.run_log()[-2000:]
        # the clean stop leaves the retained offline status (the will, by DISCONNECT 0x04)
        wait_for(lambda: (watcher.last_status() or {}).get("state") == "offline", 10,
                 "the offline status after SIGTERM")
        watcher.stop()


def test_backlog_replays_oldest_first_at_its_rate_beside_live_readings():
    dev, st = "gw-off-02", "st-off-02"
    total = 900   # 18 s of readings at 50/s; the broker is away for about 6 s of them
    with env_for("agent-replay") as env:
        env.register(dev, "flood_gateway", [st])
        env.collector()
        watcher = Watcher(env.mqtt_port, dev).start()
        agent = Agent(env, dev, sources=[simulator(flood=st, rate=50, count=total)],
                      summary_interval_ms="1s", replay_rate=100, window=40,
                      reconnect_min_ms="300ms", reconnect_max_ms="1s")
        agent.start()
        wait_for(lambda: ledger_count(env, dev) >= 50, 30, "the first readings stored")
        env.mosq.kill9()
        wait_for(lambda: (summary_held(agent) or 0) >= 300, 30, "300 readings held offline")
        age_store(agent.store, 10)   # held longer than the lateness: the backlog is history
        env.mosq.start()
        wait_for(lambda: ledger_count(env, dev) == total, 90, "all %d readings stored" % total)
        assert_exactly_once(env, dev, total)
        wait_for(lambda: held_now(watcher) == 0, 30, "status backlog 0: acknowledged, deleted")
        assert "backlog replay done" in agent.run_log()
        assert agent.stop() == 0
        assert "stopped: held=0 " in agent.run_log()

        msgs = watcher.readings()
        first_seen = {}
        for m in msgs:
            first_seen.setdefault(m.doc["seq"], m)
        backlog = [m for m in msgs if m.doc["replay"] and first_seen[m.doc["seq"]] is m]
        assert len(backlog) >= 250, len(backlog)
        seqs = [m.doc["seq"] for m in backlog]
        assert seqs == sorted(seqs), "backlog not oldest first: %s" % seqs[:40]
        # at the configured rate (100/s), not all at once
        span = backlog[-1].at - backlog[0].at
        assert span >= 0.7 * len(backlog) / 100.0, (span, len(backlog))
        # live readings went out while the backlog was still replaying, not after it
        live_during = [m for m in msgs if not m.doc["replay"] and
                       backlog[0].at < m.at < backlog[-1].at]
        assert len(live_during) >= 20, len(live_during)
        assert min(m.doc["seq"] for m in live_during) > seqs[0]
        watcher.stop()


def test_large_backlog_replays_in_bulk():
    """Regression: a replay of more than 4096 readings in a second (the batch of send records)
    once deadlocked the engine on its own store lock."""
    dev, st = "gw-off-03", "st-off-03"
    total = 8000
    with env_for("agent-bulk") as env:
        env.register(dev, "flood_gateway", [st])
        env.collector()
        env.mosq.kill9()
        agent = Agent(env, dev, summary_interval_ms="1s", window=2000, replay_rate=50000,
                      sources=[simulator(flood=st, rate=100000, count=total)])
        agent.start()
        wait_for(lambda: (summary_held(agent) or 0) >= total, 120, "%d readings held" % total)
        env.mosq.start()
        t0 = time.monotonic()
        wait_for(lambda: ledger_count(env, dev) == total, 120, "all %d stored" % total)
        took = time.monotonic() - t0
        assert_exactly_once(env, dev, total)
        wait_for(lambda: summary_held(agent) == 0, 30, "the store emptied")
        assert agent.stop() == 0
        print("replayed %d readings in %.1f s" % (total, took))


if __name__ == "__main__":
    run_tests(globals())
