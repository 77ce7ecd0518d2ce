"""bench_broker_throughput.py -- broker throughput at QoS 1 with pantau_broker.so loaded (every
publish through devacl and payval: identity, topic binding, msg_event_parse, station binding,
rate limit; every delivery through devacl's READ check) against plain mosquitto without it
(allow_anonymous true), same load, same run.

    PANTAU_BUILD_DIR=build /usr/bin/python3 tests/bench/broker/bench_broker_throughput.py \
        [rounds] [devices] [per_device] [window]

The load (bench_broker_throughput.c, compiled here into $PANTAU_BUILD_DIR/bench-bin): N device
connections publishing valid flood readings (about 330 bytes) at QoS 1, each keeping `window`
in flight, and one QoS 1 subscriber in a shared group, as the collectors subscribe; a run ends
when every reading is acknowledged and delivered. Both brokers get `max_queued_messages 100000`
so that neither drops. Rounds interleave the two brokers, alternating which goes first. With
the plugin, the device kind's rate limit is raised out of the way (this measures the checks,
not the limit) and the subscriber logs in as a collector account.

Prints the readings per second of each run, then a Markdown table for docs/benchmarks.md:
median rate of each broker, the ratio of the medians and the median of per-round ratios.
Starts its own PostgreSQL when not run under ctest. Accounts are made directly in SQL with the
same hash format as pantau-admin (bench_broker_connect.py's helpers).
"""

import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration"))
sys.path.insert(0, HERE)

import broker_support as B  # noqa: E402
from bench_broker_connect import device_hash, server_key  # noqa: E402
from psycopg2.extras import execute_values  # noqa: E402

H = B.H
CFLAGS = ["-std=c11", "-D_GNU_SOURCE", "-O2", "-Wall", "-Wextra", "-Werror", "-Wshadow",
          "-Wstrict-prototypes", "-Wmissing-prototypes", "-Wformat=2", "-Wvla"]
EXTRA = "max_queued_messages 100000\nmax_inflight_messages 100\n"
PREFIX = "gw-tp-"


def build_tool():
    bindir = os.path.join(B.BUILD, "bench-bin")
    os.makedirs(bindir, exist_ok=True)
    exe = os.path.join(bindir, "bench_broker_throughput")
    subprocess.run(["cc"] + CFLAGS + ["-o", exe, os.path.join(HERE, "bench_broker_throughput.c"),
                                      "-lmosquitto"], check=True)
    return exe


def cpu_s(pid):
    """(utime, stime) of a running process, seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tck = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tck, int(fields[12]) / tck


def run(exe, port, devices, per_device, window, secrets=None, sub=None):
    argv = [exe, "--port", str(port), "--devices", str(devices), "--prefix", PREFIX,
            "--per-device", str(per_device), "--window", str(window), "--timeout", "300"]
    if secrets:
        argv += ["--secrets", secrets]
    if sub:
        argv += ["--sub-user", sub[0], "--sub-pass", sub[1]]
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=400)
    if r.returncode != 0:
        raise RuntimeError("load failed (%d): %s %s" % (r.returncode, r.stdout, r.stderr))
    out = dict(line.split("=", 1) for line in r.stdout.split())
    if int(out["refused"]) != 0 or int(out["received"]) < int(out["accepted"]):
        raise RuntimeError("not a clean run: %s" % out)
    return float(out["rate"]), int(out["accepted"])


def make_accounts(e, devices):
    """devices flood gateways with their accounts and stations in e's database, and a collector
    account; waits until e's broker admits them. Returns (the secrets file, (sub user, pass))."""
    key = server_key(e.key_file)
    secrets_path = os.path.join(e.root, "secrets.txt")
    names = ["%s%d" % (PREFIX, i) for i in range(devices)]
    secrets = [os.urandom(32).hex() for _ in names]
    with open(secrets_path, "w") as f:
        f.write("".join(s + "\n" for s in secrets))
    with e.db().cursor() as cur:
        execute_values(cur, "INSERT INTO pantau.device (device_id, kind) VALUES %s",
                       [(n, "flood_gateway") for n in names])
        execute_values(cur, "INSERT INTO pantau.station (station_id, kind) VALUES %s",
                       [("st-" + n, "flood_gauge") for n in names])
        execute_values(cur, "INSERT INTO pantau.device_station (device_id, station_id, valid)"
                       " VALUES %s", [(n, "st-" + n, "[2000-01-01,)") for n in names])
        execute_values(cur, "INSERT INTO pantau_ops.account (username, role, device_id,"
                       " secret_kind, secret_hash) VALUES %s",
                       [(n, "device", n, "device_key", device_hash(key, s))
                        for n, s in zip(names, secrets)])
    sub = ("collector-bench", e.add_user("collector-bench", "collector"))
    e.wait_connack(names[-1], names[-1], secrets[-1], 0, timeout=60)
    e.wait_connack(sub[0], sub[0], sub[1], 0, timeout=60)
    return secrets_path, sub


def main():
    args = [int(a) for a in sys.argv[1:]]
    rounds, devices, per_device, window = (args + [7, 50, 400, 16][len(args):])[:4]
    exe = build_tool()
    e = B.BrokerEnv("bench-throughput", extra=EXTRA, plugin_opts={
        "rate_flood_gateway": "1000000/s burst 1000000", "stats_interval": "10",
        "reload_ms": "60000"})
    secrets_path, sub = make_accounts(e, devices)
    plain = H.Mosquitto(os.path.join(e.root, "plain"), allow_anonymous=True, extra=EXTRA).start()

    rates = {"plain": [], "plugin": []}
    cpu_us = {"plain": [], "plugin": []}      # the broker's CPU time per reading
    user_us = {"plain": [], "plugin": []}     # of which in user space (the plugin's share)
    for r in range(rounds):
        order = ("plain", "plugin") if r % 2 == 0 else ("plugin", "plain")
        for which in order:
            pid = plain.proc.pid if which == "plain" else e.mosq.proc.pid
            c0 = cpu_s(pid)
            if which == "plain":
                rate, n = run(exe, plain.port, devices, per_device, window)
            else:
                rate, n = run(exe, e.port, devices, per_device, window, secrets_path, sub)
            c1 = cpu_s(pid)
            user = (c1[0] - c0[0]) * 1e6 / n
            cpu = (c1[0] - c0[0] + c1[1] - c0[1]) * 1e6 / n
            rates[which].append(rate)
            cpu_us[which].append(cpu)
            user_us[which].append(user)
            print("round %d %-6s %9.0f readings/s  broker CPU %6.1f us/reading (user %5.1f)" % (
                r + 1, which, rate, cpu, user), flush=True)
    plain.stop()
    e.close()

    mp = statistics.median(rates["plain"])
    mq = statistics.median(rates["plugin"])
    ratios = [q / p for p, q in zip(rates["plain"], rates["plugin"])]
    print()
    print("%d rounds, %d devices x %d readings, window %d" % (rounds, devices, per_device,
                                                             window))
    print()
    print("| broker | readings/s (median) | broker CPU per reading (median) | of which user |")
    print("| --- | ---: | ---: | ---: |")
    print("| reference: mosquitto 2.0.11, no plugin | %.0f | %.1f us | %.1f us |" % (
        mp, statistics.median(cpu_us["plain"]), statistics.median(user_us["plain"])))
    print("| mosquitto 2.0.11 + pantau_broker.so | %.0f | %.1f us | %.1f us |" % (
        mq, statistics.median(cpu_us["plugin"]), statistics.median(user_us["plugin"])))
    print()
    print("Ratio of the medians: %.2f; median of the per-round ratios: %.2f (min %.2f, max %.2f)"
          % (mq / mp, statistics.median(ratios), min(ratios), max(ratios)))
    cp = statistics.median(cpu_us["plain"])
    cq = statistics.median(cpu_us["plugin"])
    print("Broker CPU per reading (median): plain %.1f us, with the plugin %.1f us; plain / "
          "plugin %.2f (the throughput a saturated broker core would keep)" % (cp, cq, cp / cq))


if __name__ == "__main__":
    main()
