#!/usr/bin/python3
"""test_collector_systemd.py -- the collector speaks systemd's notify protocol (Type=notify,
WatchdogSec in deploy/pantau-collector.service) without systemd: NOTIFY_SOCKET points at a Unix
datagram socket this test reads. READY=1 once it runs, STATUS= with the database state on every
change, WATCHDOG=1 at half of WATCHDOG_USEC (while the database thread is alive), STOPPING=1 on SIGTERM.
"""
import os
import socket
import time

from collector_support import env_for, run_tests, wait_for


class NotifySocket:
    """The receiving end of sd_notify(): every datagram, in order."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.setblocking(False)
        self.messages = []     # (monotonic time, text)

    def poll(self):
        while True:
            try:
                data = self.sock.recv(4096)
            except BlockingIOError:
                return self.messages
            self.messages.append((time.monotonic(), data.decode(errors="replace")))

    def lines(self):
        return [(t, line) for t, m in self.poll() for line in m.split("\n") if line]

    def close(self):
        self.sock.close()
        os.unlink(self.path)


def test_ready_status_watchdog_and_stopping_over_the_notify_socket():
    with env_for("notify") as env:
        ns = NotifySocket(os.path.join(env.root, "notify.sock"))
        try:
            c = env.collector(start=False)
            # WATCHDOG_USEC 1 s: the collector must ping every 500 ms
            c.start(extra_env={"NOTIFY_SOCKET": ns.path, "WATCHDOG_USEC": "1000000"})
            wait_for(lambda: any(l == "READY=1" for _, l in ns.lines()), 20, "READY=1")
            wait_for(lambda: any(l.startswith("STATUS=") and "database up" in l
                                 for _, l in ns.lines()), 20, "STATUS=... database up")
            wait_for(lambda: sum(l == "WATCHDOG=1" for _, l in ns.lines()) >= 6, 20,
                     "six watchdog pings")
            pings = [t for t, l in ns.lines() if l == "WATCHDOG=1"]
            gaps = [b - a for a, b in zip(pings, pings[1:])]
            # fed often enough for systemd (each gap under WATCHDOG_USEC), not in a busy loop
            assert max(gaps) < 1.0 and min(gaps) > 0.3, gaps
            ready_at = [t for t, l in ns.lines() if l == "READY=1"][0]
            assert pings[0] >= ready_at
            assert c.stop() == 0
            lines = [l for _, l in ns.lines()]
            assert "STOPPING=1" in lines, lines[-5:]
        finally:
            ns.close()


def test_status_says_when_the_database_is_down():
    with env_for("notifydown") as env:
        ns = NotifySocket(os.path.join(env.root, "notify.sock"))
        try:
            c = env.collector(start=False, db_conninfo="host=127.0.0.1 port=1 dbname=none"
                              " connect_timeout=1")
            c.start(wait_db=False, extra_env={"NOTIFY_SOCKET": ns.path})
            wait_for(lambda: any(l == "READY=1" for _, l in ns.lines()), 20, "READY=1")
            wait_for(lambda: any(l.startswith("STATUS=") and "database down" in l
                                 for _, l in ns.lines()), 20, "STATUS=... database down")
            # no WATCHDOG_USEC: no pings
            assert not any(l == "WATCHDOG=1" for _, l in ns.lines())
            assert c.stop() == 0
        finally:
            ns.close()


if __name__ == "__main__":
    run_tests(globals())
