#!/usr/bin/python3
"""test_agent_source_flood.py -- the flood source against real inputs: a pseudo-terminal (a
serial sensor, raw mode), a FIFO with JSON lines, and a command run every interval (argv, no
shell, with a timeout). Good lines become readings (distance, offset, level = offset -
distance); malformed ones are counted, logged and skipped; the device going away makes the
source reopen it.

The sources run in agent-source-driver (tests/integration/agent_source_driver.c), which opens
them with a collecting emit that validates every reading with the contract library and prints
it; when the agent store is built in, a run also appends the readings to a real store.
"""
import json
import os
import pty
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.environ.get("PANTAU_SOURCE_DIR",
                                               os.path.join(HERE, "..", "..")),
                                "tests", "harness"))
import pantau_harness as H  # noqa: E402

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


class Driver:
    """agent-source-driver with a generated config; stdout (readings) and stderr (log) in
    files."""

    def __init__(self, work, name, sections, device="gw-test-01", extra=""):
        self.conf = os.path.join(work, name + ".conf")
        self.out = os.path.join(work, name + ".out")
        self.err = os.path.join(work, name + ".log")
        with open(self.conf, "w") as f:
            f.write("device_id %s\n%s\n" % (device, extra))
            for src, keys in sections:
                f.write("[source %s]\n" % src)
                for k, v in keys.items():
                    f.write("%s %s\n" % (k, v))
        H.watch_log(name, self.err)
        self.proc = None
        H.on_exit(self.kill)

    def start(self):
        out = open(self.out, "wb")
        err = open(self.err, "wb")
        self.proc = subprocess.Popen(
            [H.binary("edge-agent", "agent-source-driver"), "-c", self.conf,
             "--log-level", "debug"], stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        out.close()
        err.close()
        return self

    def readings(self):
        with open(self.out) as f:
            return [(line.split(" ", 1)[0], json.loads(line.split(" ", 1)[1]))
                    for line in f if line.strip()]

    def log(self):
        with open(self.err, errors="replace") as f:
            return f.read()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(30)
        self.proc = None
        log = self.log()
        for mark in SANITIZER_MARKS:
            assert mark not in log, "sanitizer report in the driver's log"
        return rc

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def test_pty_good_and_malformed_lines():
    work = H.workdir("flood-pty")
    master, slave = pty.openpty()
    d = Driver(work, "pty", [("flood", {
        "station": "p2c-kali-bekasi", "device": os.ttyname(slave), "baud": "9600",
        "format": "cm", "offset_cm": "1050", "interval": "200ms", "median": "1"})]).start()
    try:
        H.wait_until(lambda: "reading device" in d.log(), 20, "the source to open the pty")
        os.write(master, b"412.5\r\n")
        H.wait_until(lambda: any(r["distance_cm"] == 412.5 for _, r in d.readings()), 20,
                     "a reading of 412.5 cm")
        bad = [b"abc\n", b"99999\n", b"4\xff2\n", b"1" * 2000 + b"\n", b"{\"d\":1}\n", b"\n"]
        for line in bad:
            os.write(master, line)
        os.write(master, b"400\n")
        H.wait_until(lambda: any(r["distance_cm"] == 400 for _, r in d.readings()), 20,
                     "a reading of 400 cm after the malformed lines")
        H.wait_until(lambda: d.log().count("malformed line") >= len(bad), 20,
                     "each malformed line logged")
        H.wait_until(lambda: "bad inputs skipped" in d.log(), 20, "the INFO summary")
        readings = d.readings()
        for stream, r in readings:
            assert stream == "flood"
            assert r["station"] == "p2c-kali-bekasi"
            assert r["offset_cm"] == 1050
            assert abs(r["level_cm"] - (1050 - r["distance_cm"])) < 1e-9, r
            assert r["distance_cm"] in (412.5, 400), r   # nothing malformed got through
        # the device goes away: counted as an I/O error, the source is closed and reopened
        os.close(master)
        master = None
        H.wait_until(lambda: "reopening" in d.log(), 20, "the source to notice the device left")
        H.wait_until(lambda: "6 bad inputs" in d.log(), 20, "the totals on close")
        assert d.stop() == 0
    finally:
        if master is not None:
            os.close(master)
        os.close(slave)


def test_fifo_json_lines_median_and_rise():
    work = H.workdir("flood-fifo")
    fifo = os.path.join(work, "sensor.fifo")
    os.mkfifo(fifo)
    d = Driver(work, "fifo", [("flood", {
        "station": "p2c-kali-bekasi", "device": fifo, "format": "json",
        "json_member": "sensor.distance", "json_unit": "mm", "offset_cm": "1000",
        "interval": "100ms", "median": "3", "rise_window": "2s"})]).start()
    H.wait_until(lambda: "reading device" in d.log(), 20, "the source to open the FIFO")
    with open(fifo, "wb", buffering=0) as w:
        # a spike between two good samples: the median of 3 keeps it out
        w.write(b'{"sensor":{"distance":5000}}\n{"sensor":{"distance":5000}}\n')
        H.wait_until(lambda: d.readings(), 20, "a first reading")
        w.write(b'{"sensor":{"distance":100}}\n')
        w.write(b'{"sensor":{"distance":"5000"}}\n{"sensor":{"dist":5000}}\n{"sensor":')
        w.write(b'\n')
        # the water rises 1 mm per 100 ms: 3600 cm/h
        for i in range(40):
            w.write(b'{"sensor":{"distance":%d}}\n' % (5000 - i))
            time.sleep(0.1)   # pacing the simulated sensor, not waiting for a result
    H.wait_until(lambda: any("rise_cm_h" in r for _, r in d.readings()), 20,
                 "a reading with rise_cm_h")
    readings = [r for _, r in d.readings()]
    assert all(r["distance_cm"] >= 490 for r in readings), "the 10 cm spike reached a reading"
    rises = [r["rise_cm_h"] for r in readings if "rise_cm_h" in r]
    assert any(3000 < x < 4200 for x in rises), rises
    H.wait_until(lambda: d.log().count("malformed line") >= 3, 20, "3 malformed lines logged")
    assert d.stop() == 0


def test_command_output_timeout_and_no_shell():
    work = H.workdir("flood-cmd")
    marker = os.path.join(work, "injected")
    d = Driver(work, "cmd", [
        ("flood", {"station": "st-echo", "command": "/bin/echo 4125", "format": "mm",
                   "offset_cm": "500", "interval": "200ms", "median": "1",
                   "command_timeout": "150ms"}),
        ("flood", {"station": "st-inject", "command": "/bin/echo 1; touch %s" % marker,
                   "offset_cm": "500", "interval": "200ms", "median": "1",
                   "command_timeout": "150ms"}),
        ("flood", {"station": "st-slow", "command": "/bin/sleep 5", "offset_cm": "500",
                   "interval": "300ms", "median": "1", "command_timeout": "200ms"}),
    ]).start()
    H.wait_until(lambda: len([r for _, r in d.readings() if r["station"] == "st-echo"]) >= 3,
                 20, "three readings from the command")
    H.wait_until(lambda: "command timed out" in d.log(), 20, "the slow command killed")
    H.wait_until(lambda: "station=st-inject: malformed line: not a number: '1; touch" in
                 d.log(), 20, "the injection attempt read as one malformed line")
    for _, r in d.readings():
        assert r["station"] == "st-echo", r
        assert r["distance_cm"] == 412.5 and r["level_cm"] == 87.5, r
    assert not os.path.exists(marker), "the command went through a shell"
    assert d.stop() == 0


if __name__ == "__main__":
    H.run_tests(globals())
