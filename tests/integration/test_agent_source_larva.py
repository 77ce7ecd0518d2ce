#!/usr/bin/python3
"""test_agent_source_larva.py -- the larva source on a real Unix socket: one Jumantik
inspection per line, each answered `ok` (stored) or `error <member>: <reason>` (refused,
nothing stored), several clients at once, the socket's mode from the config.

The source runs in agent-source-driver (see test_agent_source_flood.py), whose emit adds the
envelope and validates the whole message with the contract library, as the agent does.
"""
import json
import os
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_agent_source_flood import Driver, H  # noqa: E402

GOOD = {"inspector": "jmt-0412", "building": "house", "kelurahan": "32.75.01.1002", "rw": 3,
        "rt": 5, "address": "Jl. Melati No. 12", "lat": -6.2416, "lon": 107.0012,
        "larvae_found": True,
        "containers": [{"type": "bath_tub", "location": "indoor", "inspected": 1, "positive": 1},
                       {"type": "bucket", "location": "outdoor", "inspected": 3, "positive": 0}],
        "actions": ["drain", "cover"]}


class Client:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(20)
        self.s.connect(path)
        self.f = self.s.makefile("rb")

    def ask(self, raw):
        self.s.sendall(raw)
        return self.f.readline().decode().rstrip("\n")

    def close(self):
        self.f.close()
        self.s.close()


def test_inspections_answered_ok_or_error_naming_the_member():
    work = H.workdir("larva")
    path = os.path.join(work, "larva.sock")
    d = Driver(work, "larva", [("larva", {"path": path, "mode": "0620"})],
               device="hh-margahayu-07").start()
    H.wait_until(lambda: os.path.exists(path), 20, "the socket")
    assert oct(os.stat(path).st_mode & 0o777) == "0o620"
    a = Client(path)
    b = Client(path)
    assert a.ask((json.dumps(GOOD) + "\n").encode()) == "ok"
    cases = [
        (dict(GOOD, containers=[{"type": "jar", "location": "indoor", "inspected": 1,
                                 "positive": 2}]), "error containers[0].positive:"),
        (dict(GOOD, larvae_found=False), "error larvae_found:"),
        ({k: v for k, v in GOOD.items() if k != "rt"}, "error rt:"),
        (dict(GOOD, kelurahan="32.75.07.1001"), "error kelurahan:"),
        (dict(GOOD, seq=5), "error seq: not allowed"),
        (dict(GOOD, colour="red"), "error colour:"),
    ]
    for body, want in cases:
        got = b.ask((json.dumps(body) + "\n").encode())
        assert got.startswith(want), (got, want)
    got = a.ask(b'{"inspector":\n')
    assert got.startswith("error "), got
    # the second client is still served after the first one's garbage
    assert b.ask((json.dumps(dict(GOOD, rt=6, note="kedua")) + "\r\n").encode()) == "ok"
    a.close()
    b.close()
    # a writer that sends its last line without a newline and shuts down its side
    c = Client(path)
    c.s.sendall(json.dumps(dict(GOOD, rt=7)).encode())
    c.s.shutdown(socket.SHUT_WR)
    assert c.f.readline().decode().rstrip("\n") == "ok"
    c.close()
    larva = [r for s, r in d.readings() if s == "larva"]
    assert [r["rt"] for r in larva] == [5, 6, 7], larva
    assert larva[0]["containers"] == GOOD["containers"]
    assert larva[1]["note"] == "kedua"
    assert d.stop() == 0
    log = d.log()
    assert "3 inspections stored, 7 refused" in log, "totals on close"
    assert not os.path.exists(path)


if __name__ == "__main__":
    H.run_tests(globals())
