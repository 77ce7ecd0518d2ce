#!/usr/bin/python3
"""test_chaos_short.py -- issue 15 item 3 in CI: the chaos harness of tests/bench/chaos/chaos.py
(the same code) for 5 minutes (4.5 of faults, then the checks) with 55 faults and a fixed seed.

Real pantau-agent gateways (simulator source) and a handheld (`pantau-agent report`), two
pantau-collector processes in one shared group, mosquitto with pantau's plugin and PostgreSQL in
its own cluster; at random moments one of them is killed with SIGKILL (PostgreSQL: pg_ctl stop
-m immediate) and started again after 0.5 to 2 s, as systemd's Restart=always would. Then:
- every process is back by itself: both collectors reach the database and subscribe again,
  every agent delivers a reading issued after the chaos through the restarted pipe;
- every (device, store, seq) any store issued is stored once, dead-lettered with a reason, or
  reported dropped by its device: 0 lost, 0 duplicated, every store empty.
The seed fixes the fault moments and kinds (the harness prints them when it fails); the full
hour and its figures: docs/benchmarks.md, "Chaos".
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bench", "chaos"))
sys.path.insert(0, HERE)

from chaos import Chaos  # noqa: E402  (puts tests/harness on the path)
import pantau_harness as H  # noqa: E402

SEED = 1515


def test_chaos_short_nothing_lost_nothing_twice_everything_back():
    chaos = Chaos(seed=SEED, duration=270.0, faults=55, gateways=3, rate=5.0,
                  restart_min=0.5, restart_max=2.0, settle_timeout=40.0, report_every=5.0,
                  name="chaos-short")
    chaos.run()
    summary = chaos.summary()
    print(summary)
    acc = chaos.figures["account"]
    assert sum(chaos.fault_count.values()) == 55, (chaos.fault_count, summary)
    assert acc["issued"] > 2000, summary         # the gateways really ran through it
    assert acc["lost"] == 0, "readings lost (seed %d):\n%s\nevents %s" % (
        SEED, summary, chaos.events)
    assert acc["duplicated"] == 0, "readings duplicated (seed %d):\n%s\nevents %s" % (
        SEED, summary, chaos.events)
    assert acc["held"] == 0, summary
    assert not chaos.figures["not_back"], summary
    assert not chaos.figures["down_at_end"] and not chaos.figures["down_after_settle"], summary
    assert chaos.ok(), summary


if __name__ == "__main__":
    H.run_tests(globals())
