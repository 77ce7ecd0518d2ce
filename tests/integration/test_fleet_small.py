#!/usr/bin/python3
"""test_fleet_small.py -- issue 15 item 1 at CI size: 400 devices (fleet.c, one process, one
epoll loop) on one mosquitto with pantau_broker.so and one pantau-collector; the broker is
killed (-9) and restarted; every device comes back with the reference agent's jittered backoff
and every reading it took is stored exactly once.

The devices log in with their own device keys (real accounts), publish at shortened cadences
(a camera's two lanes, a gauge and an inspection every 10 s, so that the outage holds readings
of every kind), keep each reading until the collector acknowledges it and resend after the
reconnect. The full benchmark (10,000 devices, TLS, the figures): tests/bench/scale/
bench_fleet.py, docs/scaling.md "One machine: 10,000 devices". Runs alone (it loads the
machine): PANTAU_SERIAL_TESTS in tests/CMakeLists.txt.
"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bench", "scale"))

import bench_fleet as F  # noqa: E402
import pantau_harness as H  # noqa: E402

DEVICES = 400


def test_fleet_broker_kill():
    def log(msg):
        print("  " + msg, flush=True)

    run = F.FleetRun("fleet-small", DEVICES, ramp_s=5.0, log=log,
                     cadence={"traffic-s": 10, "flood-s": 10, "handheld-s": 10})
    try:
        run.start_fleet()
        run.wait_all_up(60)
        time.sleep(12)
        before = run.last()
        assert before["acked"] > 0 and before["refused_pub"] == 0, before
        t_kill = run.kill_broker()
        time.sleep(4)
        t_restart = run.restart_broker()
        all_up = run.wait_all_up(60, after=t_restart)
        fig = F.storm_figures(run, t_kill, t_restart, all_up, 60)
        log("storm: %s" % " ".join("%s=%.4g" % kv for kv in fig.items()))
        # the outage held readings (taken and not acknowledged when the broker came back),
        # and every device connected again, each at least once since the restart
        assert fig["pending_at_restart"] > 0, fig
        assert fig["connects"] >= DEVICES, fig
        assert run.broker_hwm[0] > 0
        time.sleep(3)
        acc = run.finish(drain_s=60)
        log("accounting: %s" % acc)
        log("fleet: %s" % run.final)
        assert acc["devices"] == DEVICES, acc
        assert acc["issued"] > 3 * DEVICES, acc
        assert acc["lost"] == 0 and not acc["lost_examples"], acc
        assert acc["duplicated"] == 0 and not acc["dup_examples"], acc
        assert acc["held_by_fleet"] == 0 and acc["dead"] == 0, acc
        assert acc["dead_letters"] == 0 and acc["unknown_stores"] == 0, acc
        assert acc["stored"] == acc["issued"], acc
        assert run.final["resends"] > 0, run.final      # the outage's readings went again
        assert run.final["window_full"] == 0, run.final
    finally:
        run.close()


if __name__ == "__main__":
    H.run_tests(globals())
