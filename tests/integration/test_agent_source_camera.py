#!/usr/bin/python3
"""test_agent_source_camera.py -- the camera source against real inputs: a FIFO, a Unix stream
socket with several writers, and a file being appended and rotated. Count lines become one
`traffic` reading per station, lane and interval (ts = the interval's start, every class);
incident lines become `incident` readings; malformed and late lines are counted, logged and
skipped.

The source runs in agent-source-driver (see test_agent_source_flood.py), whose emit validates
every reading with the contract library before printing it.
"""
import json
import os
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_agent_source_flood import Driver, H  # noqa: E402

INTERVAL = 2


def ts_text(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (
        int(round(t * 1000)) % 1000)


def fresh_interval():
    """The start of an interval with at least 1 s of it left (so lines land in it)."""
    now = time.time()
    start = int(now) - int(now) % INTERVAL
    if now - start > INTERVAL - 1:
        start += INTERVAL
    return start


def count(cls, lane="eastbound", n=None, speed=None, ts=None, station=None):
    line = {"kind": "count", "class": cls, "lane": lane}
    if n is not None:
        line["count"] = n
    if speed is not None:
        line["speed_kmh"] = speed
    if ts is not None:
        line["ts"] = ts_text(ts)
    if station is not None:
        line["station"] = station
    return (json.dumps(line) + "\n").encode()


def traffic(d, start, lane="eastbound"):
    want = ts_text(start)
    return [r for s, r in d.readings() if s == "traffic" and r["ts"] == want and
            r["lane"] == lane]


def test_fifo_counts_incidents_and_bad_lines():
    work = H.workdir("camera-fifo")
    fifo = os.path.join(work, "camera.fifo")
    d = Driver(work, "fifo", [("camera", {
        "input": "fifo", "path": fifo, "station": "cam-kalimalang-01",
        "interval": "%ds" % INTERVAL, "grace": "1s"})], device="gw-atcs-01").start()
    H.wait_until(lambda: "reading fifo" in d.log(), 20, "the source to make the FIFO")
    start = fresh_interval()
    with open(fifo, "wb", buffering=0) as w:
        w.write(count("car", speed=40, ts=start + 0.1) + count("car", n=2, speed=10, ts=start) +
                count("motorcycle", n=5, ts=start + 0.2) + count("bicycle", ts=start + 0.3) +
                count("bus", lane="westbound", ts=start))
        bad = [b"not json\n", b'{"kind":"count"}\n', b'{"kind":"count","class":"tank"}\n',
               b'{"kind":"count","class":"car","seq":1}\n', b'{"kind":"count","class":"car"\n',
               b'{"kind":"count","class":"car","lane":"Lane 1"}\n']
        for line in bad:
            w.write(line)
        w.write(count("car", ts=time.time() - 3600))   # late: its interval closed long ago
        w.write((json.dumps({
            "kind": "incident", "event": "1772437265.250311-k2x8lq", "state": "new",
            "type": "stalled_vehicle", "start": ts_text(start), "confidence": 0.82,
            "snapshot": "nvr://cam-kalimalang-01/1772437265.jpg"}) + "\n").encode())
    H.wait_until(lambda: traffic(d, start) and traffic(d, start, "westbound"), 20,
                 "the interval's traffic readings")
    east = traffic(d, start)
    assert len(east) == 1, east
    r = east[0]
    assert r["station"] == "cam-kalimalang-01" and r["interval_s"] == INTERVAL
    assert r["counts"] == {"motorcycle": 5, "car": 3, "bus": 0, "truck": 0, "nonmotor": 1}, r
    assert r["speed_kmh"] == 20.0, r
    assert traffic(d, start, "westbound")[0]["counts"]["bus"] == 1
    incidents = [r for s, r in d.readings() if s == "incident"]
    assert len(incidents) == 1, incidents
    assert incidents[0]["event"] == "1772437265.250311-k2x8lq"
    assert incidents[0]["snapshot"] == "nvr://cam-kalimalang-01/1772437265.jpg"
    assert incidents[0]["station"] == "cam-kalimalang-01"
    H.wait_until(lambda: d.log().count("bad line:") >= len(bad), 20, "each bad line logged")
    H.wait_until(lambda: "count skipped: late" in d.log(), 20, "the late count logged")
    assert d.stop() == 0
    assert "7 bad inputs (1 late counts)" in d.log(), "totals on close"
    # no interval was reported twice
    seen = [(r["ts"], r["lane"]) for s, r in d.readings() if s == "traffic"]
    assert len(seen) == len(set(seen)), seen


def test_socket_several_writers():
    work = H.workdir("camera-sock")
    path = os.path.join(work, "camera.sock")
    d = Driver(work, "sock", [("camera", {
        "input": "socket", "path": path, "mode": "0600", "interval": "%ds" % INTERVAL,
        "grace": "1s"})], device="gw-atcs-01").start()
    H.wait_until(lambda: os.path.exists(path), 20, "the socket")
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    start = fresh_interval()
    writers = []
    for i in range(3):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        writers.append(s)
    # interleaved pieces of lines from three writers
    for rep in range(4):
        for i, s in enumerate(writers):
            line = count("truck", station="cam-%d" % (rep % 2), ts=start + 0.01 * i)
            s.sendall(line[:7])
        for i, s in enumerate(writers):
            line = count("truck", station="cam-%d" % (rep % 2), ts=start + 0.01 * i)
            s.sendall(line[7:])
    writers[0].sendall(b'{"kind":"count","cl')   # cut off by the writer closing
    # a whole last line without its newline still counts when its writer closes (issue 10:
    # the larva source's rule, now the shared socket server's for both sources)
    writers[1].sendall(count("bus", lane="westbound", station="cam-0", ts=start).rstrip(b"\n"))
    for s in writers:
        s.close()

    def both():
        rs = [r for s, r in d.readings() if s == "traffic" and r["ts"] == ts_text(start) and
              r["lane"] == "eastbound"]
        return rs if len(rs) == 2 else None
    rs = H.wait_until(both, 20, "one reading per station")
    for r in rs:
        assert r["counts"]["truck"] == 6, r
    H.wait_until(lambda: "truncated line" in d.log(), 20, "the cut line counted")
    west = H.wait_until(lambda: traffic(d, start, "westbound"), 20, "the unterminated line")
    assert west[0]["station"] == "cam-0" and west[0]["counts"]["bus"] == 1, west
    assert d.stop() == 0
    assert not os.path.exists(path), "the socket is removed on close"


def test_file_tail_survives_rotation():
    work = H.workdir("camera-file")
    path = os.path.join(work, "analytics.log")
    with open(path, "wb") as f:
        f.write(count("bus", n=100, station="cam-old"))   # before the source: not read
    d = Driver(work, "file", [("camera", {
        "input": "file", "path": path, "station": "cam-file", "interval": "%ds" % INTERVAL,
        "grace": "1s"})], device="gw-atcs-01").start()
    H.wait_until(lambda: "reading file" in d.log(), 20, "the source to open the file")
    start = fresh_interval()
    with open(path, "ab") as f:
        f.write(count("car", ts=start) + count("car", ts=start))
    # logrotate's default: rename, then a new file; what the old file holds is still read
    os.rename(path, path + ".1")
    with open(path, "wb") as f:
        f.write(count("car", ts=start) + count("motorcycle", ts=start))
    rs = H.wait_until(lambda: [r for s, r in d.readings() if r["ts"] == ts_text(start)], 20,
                      "the interval's reading")
    assert len(rs) == 1, rs
    assert rs[0]["station"] == "cam-file"
    assert rs[0]["counts"]["car"] == 3 and rs[0]["counts"]["motorcycle"] == 1, rs
    assert all(r["station"] != "cam-old" for _, r in d.readings())
    assert d.stop() == 0


def test_store_failure_keeps_readings_in_order():
    work = H.workdir("camera-storefail")
    fifo = os.path.join(work, "camera.fifo")
    fail = os.path.join(work, "store-fails")
    d = Driver(work, "storefail", [("camera", {
        "input": "fifo", "path": fifo, "station": "cam-1", "interval": "%ds" % INTERVAL,
        "grace": "1s"})], device="gw-atcs-01", extra="fail_file %s\n" % fail).start()
    H.wait_until(lambda: "reading fifo" in d.log(), 20, "the source to make the FIFO")
    open(fail, "w").close()
    start = fresh_interval()
    states = ["new", "update", "update", "end"]
    with open(fifo, "wb", buffering=0) as w:
        w.write(count("car", ts=start))
        for i, state in enumerate(states):
            line = {"kind": "incident", "event": "ev-1", "state": state, "type": "accident",
                    "start": ts_text(start), "confidence": 0.5 + i / 10}
            if state == "end":
                line["end"] = ts_text(start + 1)
            w.write((json.dumps(line) + "\n").encode())
    H.wait_until(lambda: "the store takes no readings" in d.log(), 20, "the failure noticed")
    assert d.readings() == []
    os.unlink(fail)
    H.wait_until(lambda: len(d.readings()) == 5, 20, "the kept readings stored")
    rs = d.readings()
    assert [r["state"] for s, r in rs if s == "incident"] == states, rs
    assert [r["confidence"] for s, r in rs if s == "incident"] == [0.5, 0.6, 0.7, 0.8]
    assert [r["counts"]["car"] for s, r in rs if s == "traffic"] == [1]
    assert "the store takes readings again" in d.log()
    assert d.stop() == 0


if __name__ == "__main__":
    H.run_tests(globals())
