#!/usr/bin/python3
"""test_agent_store_full.py -- the store full while the broker is away: the oldest readings
are dropped and counted, and the `dropped` reading that reports them (protocol.md 4.6)
reaches the database (pantau.dropped_range) once the broker is back. Every seq the store
handed out is then accounted for: stored as a reading, or listed in a dropped range, and the
status's `dropped` equals the number of seqs listed in those ranges.
"""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from agent_support import Agent, Watcher, held_now, ledger_seqs, simulator  # noqa: E402
from collector_support import env_for, run_tests, wait_for  # noqa: E402

DEV, ST = "gw-full-01", "st-full-01"


def summary(agent, key):
    found = re.findall(r"summary: .*?\b%s=(\d+)" % key, agent.run_log())
    return int(found[-1]) if found else None


def test_store_full_drops_oldest_and_reports_them():
    cap = 50
    with env_for("agent-full") as env:
        env.register(DEV, "flood_gateway", [ST])
        env.collector()
        watcher = Watcher(env.mqtt_port, DEV).start()
        env.mosq.kill9()   # no broker from the start: everything piles up
        agent = Agent(env, DEV, store_max_readings=cap, summary_interval_ms="1s",
                      sources=[simulator(flood=ST, rate=50, count=400)])
        agent.start()
        wait_for(lambda: (summary(agent, "dropped") or 0) >= 100, 30, "100 readings dropped")
        assert (summary(agent, "held") or 0) <= cap
        assert "dropped" in agent.run_log() and "store full" in agent.run_log()
        env.mosq.start()
        wait_for(lambda: env.scalar("SELECT count(*) FROM pantau.dropped_range"
                                    " WHERE device_id = %s", DEV) > 0, 60,
                 "a dropped range stored")
        # wait for the simulator's 400 (it runs on after the broker is back, into a store still
        # full: what the agent sends then is in flight, neither dropped nor reported dropped)
        # and the store to empty
        wait_for(lambda: held_now(watcher) == 0 and (summary(agent, "emitted") or 0) >= 400,
                 60, "backlog 0 after all 400 readings")
        assert agent.stop() == 0
        last = agent.last_seq()
        stored = set(ledger_seqs(env, DEV))
        dropped = set()
        for first, last_r, reason in env.sql("SELECT first_seq, last_seq, reason FROM"
                                             " pantau.dropped_range WHERE device_id = %s", DEV):
            assert reason == "store_full", reason
            dropped.update(range(first, last_r + 1))
        assert not stored & dropped, sorted(stored & dropped)[:10]
        assert stored | dropped == set(range(1, last + 1)), (
            sorted(set(range(1, last + 1)) - stored - dropped)[:10])
        n_dropped_msgs = env.scalar("SELECT count(*) FROM pantau.reading_ledger"
                                    " WHERE device_id = %s AND stream = 'dropped'", DEV)
        assert n_dropped_msgs >= 1
        assert len(dropped) >= 100
        # the status's `dropped` counts the seqs the device reported as dropped: the ordinary
        # readings and the `dropped` reports replaced by a later one, which the ranges above
        # list too; once the backlog is 0 the last status says exactly that many
        st = watcher.last_status("online")
        assert st["dropped"] == len(dropped) and st["backlog"] == 0, (st, len(dropped))
        watcher.stop()


if __name__ == "__main__":
    run_tests(globals())
