#!/usr/bin/python3
"""test_agent_db_down.py -- the database down (the test's own PostgreSQL, stopped as the
collector's fault tests do): the agent keeps taking readings and sends new ones live, but
holds its backlog and resends nothing (no seq published a second time, and no replay=true
publish of the backlog, which the test ages past the lateness of protocol.md 4.1, reaches a
subscriber) while the collector's retained health says db down; when the health says up
again, it resends and replays, and every reading ends up stored exactly once with the store
emptied.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from agent_support import (Agent, Watcher, age_store, assert_exactly_once,  # noqa: E402
                           held_now, ledger_count, simulator)
from collector_support import env_for, run_tests, wait_for  # noqa: E402

DEV, ST = "gw-db-01", "st-db-01"
GRACE = 1.0   # s: a publish the agent sent just before it saw the health change


def health_at(watcher, db):
    """Arrival time of the first health message saying db (newest run of that state)."""
    t = None
    for m in watcher.snapshot():
        if m.topic.startswith("pantau/v1/_sys/health/") and m.doc is not None:
            if m.doc.get("state") == "online" and m.doc.get("db") == db:
                t = m.at if t is None else t
            else:
                t = None
    return t


def sent_again(watcher, after, before=None):
    """Seqs published again (a resend or a replay) in (after, before): replay alone no longer
    tells a resend within the lateness from a first send (protocol.md 4.1)."""
    seen = set()
    again = []
    for m in watcher.readings():
        seq = m.doc["seq"]
        if seq in seen and m.at > after and (before is None or m.at < before):
            again.append(seq)
        seen.add(seq)
    return again


def test_backlog_held_while_database_down_then_sent():
    total = 500   # 25 s at 20/s
    with env_for("agent-dbdown", own_cluster=True) as env:
        env.register(DEV, "flood_gateway", [ST])
        c = env.collector()
        watcher = Watcher(env.mqtt_port, DEV).start()
        agent = Agent(env, DEV, window=20, replay_rate=200, resend_rate=50,
                      sources=[simulator(flood=ST, rate=20, count=total)])
        agent.start()
        wait_for(lambda: ledger_count(env, DEV) >= 40, 30, "the first readings stored")
        env.pg.stop()
        wait_for(lambda: "database is down" in c.run_log(), 30, "the collector to see it")
        t_down = wait_for(lambda: health_at(watcher, "down"), 30, "health db down")
        wait_for(lambda: "resending and replay held" in agent.run_log(), 10,
                 "the agent to hold resends")
        age_store(agent.store, 10)   # what it holds now is history if it goes out
        # while it is down: new readings still go out live, nothing is resent or replayed
        n_before = len(watcher.readings())
        wait_for(lambda: len(watcher.readings()) >= n_before + 15, 30, "live readings meanwhile")
        held = wait_for(lambda: (held_now(watcher) or 0) >= 100 and held_now(watcher), 30,
                        "100 readings held in the store")
        bad = [m.doc["seq"] for m in watcher.readings()
               if m.doc["replay"] and m.at > t_down + GRACE]
        bad += sent_again(watcher, t_down + GRACE)
        assert not bad, "resent into the outage: %s" % bad[:10]
        live = [m for m in watcher.readings() if not m.doc["replay"] and m.at > t_down + GRACE]
        assert live, "no live reading sent during the outage"

        env.pg.start()
        t_up = wait_for(lambda: health_at(watcher, "up"), 60, "health db up")
        bad = [m.doc["seq"] for m in watcher.readings()
               if m.doc["replay"] and t_down + GRACE < m.at < t_up]
        bad += sent_again(watcher, t_down + GRACE, t_up)
        assert not bad, "resent into the outage: %s" % bad[:10]
        wait_for(lambda: ledger_count(env, DEV) == total, 120, "all %d stored" % total)
        assert_exactly_once(env, DEV, total)
        # what the collector had taken in during the outage it commits and acknowledges by
        # itself; the rest the agent sends again now (resends, replay)
        assert held >= 100
        wait_for(lambda: held_now(watcher) == 0, 30, "status backlog 0")
        assert "resending and replay allowed" in agent.run_log().split(
            "resending and replay held")[-1]
        assert agent.stop() == 0
        watcher.stop()


if __name__ == "__main__":
    run_tests(globals())
