#!/usr/bin/python3
"""test_demo_alerts.py -- the demo's alert part, run as a user runs it (issue 11: "the simulator
drives a flood wave through Siaga 3, 2, 1 and back, a positive larva report and a crash, and the
demo console prints the alerts as they are raised, acknowledged and resolved").

scripts/demo.sh itself, non-interactively, in a folder of the test's own (PANTAU_DEMO_ROOT),
on build/ as it is (PANTAU_DEMO_NO_BUILD) and with the one-minute wave (PANTAU_DEMO_FAST: the
wave and the accident of the shipped demo take 8 and 1 minutes). Its console (demo_watch.py,
on the alert tree with a dashboard account) must print: sim-gauge-01 raised at Siaga 3, 2 and
1, the Siaga 1 alert acknowledged by the demo's operator (pantau-admin alert-ack) and resolved
when the wave falls, a larva-positive house to Dinkes, the accident to Dishub; each step once per
unit. Then SIGTERM stops the demo and everything it started.

The demo runs the RelWithDebInfo tree build/ (it builds it itself otherwise): in another build
tree (the sanitizer run) the test says so and passes without running.
"""
import os
import re
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import pantau_harness as H  # noqa: E402

DEMO = os.path.join(H.SOURCE_DIR, "scripts", "demo.sh")
LINE = re.compile(r"^ALERT to (\S+)\s+#(\d+) (\S+)\s+(\S+) (\S+)(.*?) -- (\w+)")


def test_the_demo_console_prints_alerts_raised_acknowledged_and_resolved():
    if os.path.realpath(H.BUILD_DIR) != os.path.realpath(os.path.join(H.SOURCE_DIR, "build")):
        print("skipped: the demo runs build/, this is %s" % H.BUILD_DIR)
        return
    root = H.workdir("demo-alerts")
    env = dict(os.environ, PANTAU_DEMO_ROOT=os.path.join(root, "demo"),
               PANTAU_DEMO_NO_BUILD="1", PANTAU_DEMO_FAST="1")
    log_path = os.path.join(root, "demo.out")
    H.watch_log("demo", log_path)
    log = open(log_path, "w")
    proc = subprocess.Popen(["bash", DEMO], cwd=H.SOURCE_DIR, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    lines = []

    def read():
        for raw in proc.stdout:
            text = raw.decode("utf-8", "replace").rstrip("\n")
            log.write(text + "\n")
            log.flush()
            lines.append(text)

    def stop():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)   # the demo's trap stops what it started
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)

    H.on_exit(stop)
    reader = threading.Thread(target=read, daemon=True)
    reader.start()

    def steps():
        out = []
        for text in list(lines):
            m = LINE.match(text)
            if m and "(retained" not in text:
                unit, alert_id, state, kind, subject, what, event = m.groups()
                out.append((unit, int(alert_id), kind, subject, what.strip(), event))
        return out

    def seen():
        s = steps()
        flood = [x for x in s if x[2] == "flood_level" and x[3] == "station:sim-gauge-01"]
        raised = {x[4] for x in flood if x[5] == "raised" and x[0] == "bpbd"}
        acked = [x[1] for x in flood if x[5] == "acknowledged" and x[0] == "bpbd"]
        resolved = {x[1] for x in flood if x[5] == "resolved" and x[0] == "bpbd"}
        larva = any(x[2] == "larva_positive" and x[0] == "dinkes" and x[5] == "raised"
                    for x in s)
        crash = any(x[2] == "traffic_incident" and x[0] == "dishub" and x[5] == "raised"
                    for x in s)
        siaga = {"Siaga 3 (Waspada)", "Siaga 2 (Siaga)", "Siaga 1 (Awas)"} <= raised
        return siaga and acked and acked[0] in resolved and larva and crash

    started = time.monotonic()
    try:
        H.wait_until(lambda: seen() or proc.poll() is not None, 150,
                     "the demo console to show the wave, the ack and the resolution")
    except H.WaitTimeout:
        raise AssertionError("demo console after %.0f s:\n%s" % (
            time.monotonic() - started, "\n".join(lines[-80:])))
    assert proc.poll() is None, "the demo ended early:\n%s" % "\n".join(lines[-40:])
    took = time.monotonic() - started
    s = steps()
    # the acknowledgement is the demo operator's, by pantau-admin
    assert any(line.startswith("demo: $ pantau-admin alert-ack") for line in lines), lines
    ack = [x for x in s if x[5] == "acknowledged"]
    assert ack and all("Demo Operator (BPBD)" in t for t in lines
                       if " acknowledged by " in t), ack
    # each unit hears each step of each alert once
    keys = [(x[0], x[1], x[5]) for x in s]
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)
    # everything it started ends with it
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) in (0, 143), proc.returncode
    reader.join(10)
    assert any(line.startswith("demo: stopped") for line in lines), lines[-5:]
    print("demo: the wave, the ack and the resolution after %.0f s; %d console lines" % (
        took, len(s)))


if __name__ == "__main__":
    H.run_tests(globals())
