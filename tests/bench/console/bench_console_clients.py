#!/usr/bin/python3
"""bench_console_clients.py -- pantau-console's memory and CPU with many browsers connected
(issue 12: "the server's memory and CPU with 50 browsers connected").

    PANTAU_BUILD_DIR=build /usr/bin/python3 tests/bench/console/bench_console_clients.py [N] [SECONDS]

One pantau-console against a fresh database (tests/integration/console_support.py), 20 gauges.
In the same run, first with one page open, then with N pages (default 50; tabs of one headless
Chromium, each its own page with its own event stream, each on its own loopback address
127.0.0.k and logged in as its own account: over HTTP/1.1 a browser keeps at most six
connections per host, and each page's event stream holds one, so N tabs on one host would
stall after six; console/README.md): for SECONDS (default 60) a reading is
committed every 2 s, so every page gets a `data` event and fetches the map again, as on the
operation center's wall. Printed: the console's CPU (user + system, from /proc) per second of
the window, its resident memory at the end (VmRSS) and its peak (VmHWM), the streams it counts
(`/metrics`), and the db calls it answered; the N-page figures beside the one-page ones.
"""
import os
import re
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "harness"))

import console_support as C  # noqa: E402
import pantau_harness as H  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def mem_kb(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def metric(w, name):
    text = urllib.request.urlopen(w.url("/metrics"), timeout=5).read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def window(w, pid, seconds, level):
    """Commits a reading every 2 s for seconds; returns (cpu s per s, map requests)."""
    maps0 = metric(w, "pantau_console_db_calls_total")
    c0, t0 = cpu_s(pid), time.monotonic()
    i = 0
    while time.monotonic() - t0 < seconds:
        w.readings([("bench-g%02d" % (i % 20), level + (i % 7))])
        i += 1
        time.sleep(2)
    c1, t1 = cpu_s(pid), time.monotonic()
    maps1 = metric(w, "pantau_console_db_calls_total")
    return (c1 - c0) / (t1 - t0), maps1 - maps0


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 60
    w = C.ConsoleWorld("bench-clients", max_sse_clients=n + 16, max_connections=n * 4 + 64,
                       listen_address="0.0.0.0", db_pool_size=4,
                       login_address_attempts_per_min=n * 2 + 20)
    for g in range(20):
        w.gauge("bench-g%02d" % g)
    w.readings([("bench-g%02d" % g, 60) for g in range(20)])
    pw = w.add_user("wall", "dashboard")
    pid = w.proc.proc.pid
    b = w.browser()
    w.login(b, "wall", pw)
    b.get(w.url("/#/peta"))
    time.sleep(3)
    base_rss = mem_kb(pid, "VmRSS")
    one_cpu, one_maps = window(w, pid, seconds, 70)
    one_streams = metric(w, "pantau_console_sse_clients")
    for i in range(2, n + 1):
        user = "wall%02d" % i
        upw = w.add_user(user, "dashboard")
        host = "http://127.0.0.%d:%d" % (i, w.port)
        b.switch_to.new_window("tab")
        b.get(host + "/login.html")
        H.wait_until(lambda: b.find_element(C.By.ID, "username").is_displayed(), 15, "login")
        b.find_element(C.By.ID, "username").send_keys(user)
        b.find_element(C.By.ID, "password").send_keys(upw)
        b.find_element(C.By.ID, "login-submit").click()
        H.wait_until(lambda: user in b.find_element(C.By.ID, "user").text, 30, user)
        b.get(host + "/#/peta")
    H.wait_until(lambda: metric(w, "pantau_console_sse_clients") >= n, 120,
                 "%d event streams" % n)
    time.sleep(3)
    many_cpu, many_maps = window(w, pid, seconds, 90)
    streams = metric(w, "pantau_console_sse_clients")
    rss, hwm = mem_kb(pid, "VmRSS"), mem_kb(pid, "VmHWM")
    with open("/proc/%d/status" % pid) as f:
        threads = int(re.search(r"Threads:\s+(\d+)", f.read()).group(1))
    print("pages  streams  console CPU (s/s)  db calls  RSS (MB)")
    print("%5d  %7d  %17.4f  %11d  %8.1f" % (1, one_streams, one_cpu, one_maps, base_rss / 1024))
    print("%5d  %7d  %17.4f  %11d  %8.1f  (peak %.1f MB, %d threads)" % (
        n, streams, many_cpu, many_maps, rss / 1024, hwm / 1024, threads))
    print("ratio %d pages / 1 page: CPU %.1f, db calls %.1f, RSS %.2f" % (
        n, many_cpu / one_cpu if one_cpu else float("nan"),
        many_maps / one_maps if one_maps else float("nan"), rss / base_rss))
    print("load average at end: %s" % open("/proc/loadavg").read().strip())


if __name__ == "__main__":
    main()
