#!/usr/bin/python3
"""bench_agent_footprint.py -- pantau-agent's footprint (issue 4, "Footprint"), each figure
beside a reference measured in the same run. Prints a Markdown table for docs/benchmarks.md.

    /usr/bin/python3 tests/bench/agent/bench_agent_footprint.py [--rounds 3] [--backlog 100000]
                                                               [--seconds 20] [--no-callgrind]
                                                               [--idle-seconds 120]
                                                               [--idle-interval 60] [--idle-only]

Needs build/ (PANTAU_BUILD_DIR) with pantau-agent, pantau-collector and bench_paho_idle. Starts
its own PostgreSQL (the harness's private cluster), mosquitto (plain and TLS listeners, a CA
made with openssl) and collector:

1. resident memory with TLS at 10 readings per second (simulator): the agent's VmRSS (median of
   one sample a second) and VmHWM, beside bench_paho_idle, a bare paho MQTTAsync client that
   only connects over the same TLS listener; rounds interleaved, medians; then resident KiB per
   mapping (libraries, heap, anonymous) of both from /proc/<pid>/smaps at each round's end;
2. resident memory holding a backlog of N readings (broker down), then the replay of that
   backlog to the broker and the collector: readings per second from the broker's return until
   the ledger holds all N, beside the broker's raw QoS 1 rate (mosquitto_pub -q 1 -l, N
   messages of the same size, no subscriber);
3. idle CPU at a gauge's cadence (issue 9, item 10): the agent with the simulator at one flood
   reading per --idle-interval over TLS, beside bench_paho_idle on the same listener; utime +
   stime (/proc/<pid>/stat) of each over --idle-seconds after both settled, as a share of one
   core, and the agent's engine wake-ups (its summary's `wakeups`) per second (goal: under 1 %
   of a core). --idle-only runs this part alone;
4. CPU instructions per reading (valgrind --tool=callgrind, repeatable): the marginal cost,
   (Ir at 4 N - Ir at N) / 3 N with N = 1000, for the agent (simulator to acknowledged) and for
   mosquitto_pub publishing the same number of QoS 1 messages.
"""
import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))
os.environ.setdefault("PANTAU_SOURCE_DIR", SOURCE)
os.environ.setdefault("PANTAU_BUILD_DIR", os.path.join(SOURCE, "build"))

from agent_support import Agent, ledger_count, simulator  # noqa: E402
from collector_support import BUILD, H, CollectorEnv, wait_for  # noqa: E402


def status_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def smaps_rss(pid):
    """Rss in KiB per mapping name (a library's path by its base name; [heap], [stack] and
    unnamed anonymous mappings as [anon]), from /proc/<pid>/smaps."""
    per = {}
    name = None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            parts = line.split()
            if not parts[0].endswith(":"):
                name = os.path.basename(parts[5]) if len(parts) > 5 else "[anon]"
                if name.startswith("[stack"):
                    name = "[stack]"
            elif parts[0] == "Rss:":
                per[name] = per.get(name, 0) + int(parts[1])
    return per


def make_ca(d):
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def ossl(*a):
        subprocess.run(["openssl"] + list(a), cwd=d, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    ossl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
         "-subj", "/CN=bench-ca")
    with open(os.path.join(d, "ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    ossl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    ossl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext")
    for n in os.listdir(d):
        os.chmod(os.path.join(d, n), 0o644)


def cpu_seconds(pid):
    """utime + stime of pid (all threads), in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_round(env, tls_port, ca, seconds, interval, k):
    """CPU share of the agent at one reading per interval s and of a bare paho client."""
    dev = "gw-fp-idle-%d" % k
    env.register(dev, "flood_gateway", ["st-fp-idle-%d" % k])
    agent = Agent(env, dev, mqtt_port=tls_port, tls="true", tls_cafile=ca,
                  summary_interval_ms="%ds" % seconds,
                  sources=[simulator(flood="st-fp-idle-%d" % k, rate=0,
                                     flood_interval="%ds" % interval)])
    agent.start()
    idle = subprocess.Popen([os.path.join(BUILD, "edge-agent", "bench_paho_idle"),
                             "ssl://127.0.0.1:%d" % tls_port, "idle-cpu-%d" % k, ca],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert idle.stdout.readline().strip() == b"connected"
    wait_for(lambda: ledger_count(env, dev) >= 1, 60, "the first reading stored")
    time.sleep(2)
    n0 = len(re.findall(r"summary: .*? wakeups=(\d+)", agent.run_log()))
    wait_for(lambda: len(re.findall(r"summary: .*? wakeups=(\d+)", agent.run_log())) > n0,
             seconds + 30, "a summary line")
    a0, i0, t0 = cpu_seconds(agent.proc.pid), cpu_seconds(idle.pid), time.monotonic()
    stored0 = ledger_count(env, dev)
    time.sleep(seconds)
    a1, i1, t1 = cpu_seconds(agent.proc.pid), cpu_seconds(idle.pid), time.monotonic()
    stored = ledger_count(env, dev) - stored0
    wake = wait_for(lambda: (len(re.findall(r"summary: .*? wakeups=(\d+)", agent.run_log())) >
                             n0 + 1) and [int(n) for n in re.findall(
                                 r"summary: .*? wakeups=(\d+)", agent.run_log())],
                    seconds + 30, "the next summary line")
    idle.terminate()
    idle.wait(10)
    assert agent.stop() == 0
    return {"agent": (a1 - a0) / (t1 - t0), "idle": (i1 - i0) / (t1 - t0), "stored": stored,
            "wakeups": (wake[n0 + 1] - wake[n0]) / float(seconds)}


def summary(agent, key):
    found = re.findall(r"summary: .*?\b%s=(\d+)" % key, agent.run_log())
    return int(found[-1]) if found else None


def tls_round(env, tls_port, ca, seconds, k):
    dev = "gw-fp-tls-%d" % k
    env.register(dev, "flood_gateway", ["st-fp-tls-%d" % k])
    agent = Agent(env, dev, mqtt_port=tls_port, tls="true", tls_cafile=ca,
                  sources=[simulator(flood="st-fp-tls-%d" % k, rate=10)])
    agent.start()
    idle = subprocess.Popen([os.path.join(BUILD, "edge-agent", "bench_paho_idle"),
                             "ssl://127.0.0.1:%d" % tls_port, "idle-%d" % k, ca],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert idle.stdout.readline().strip() == b"connected"
    wait_for(lambda: "connected to broker ssl://" in agent.run_log(), 30, "agent over TLS")
    a_rss, i_rss, a_anon, i_anon = [], [], [], []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        a_rss.append(status_kib(agent.proc.pid, "VmRSS"))
        i_rss.append(status_kib(idle.pid, "VmRSS"))
        a_anon.append(status_kib(agent.proc.pid, "RssAnon"))
        i_anon.append(status_kib(idle.pid, "RssAnon"))
        time.sleep(1.0)
    stored = ledger_count(env, dev)
    a_maps, i_maps = smaps_rss(agent.proc.pid), smaps_rss(idle.pid)
    out = {"agent_rss": statistics.median(a_rss), "idle_rss": statistics.median(i_rss),
           "agent_anon": statistics.median(a_anon), "idle_anon": statistics.median(i_anon),
           "agent_hwm": status_kib(agent.proc.pid, "VmHWM"),
           "idle_hwm": status_kib(idle.pid, "VmHWM"), "stored": stored,
           "agent_maps": a_maps, "idle_maps": i_maps}
    idle.terminate()
    idle.wait(10)
    assert agent.stop() == 0
    return out


def backlog_round(env, n, k):
    dev = "gw-fp-bl-%d" % k
    env.register(dev, "flood_gateway", ["st-fp-bl-%d" % k])
    env.mosq.kill9()
    agent = Agent(env, dev, summary_interval_ms="1s", window=2000, replay_rate=100000,
                  store_max_readings=n + 1000, reconnect_min_ms="100ms",
                  reconnect_max_ms="200ms",
                  sources=[simulator(flood="st-fp-bl-%d" % k, rate=100000, count=n)])
    agent.start()
    t0 = time.monotonic()
    wait_for(lambda: (summary(agent, "emitted") or 0) >= n and
             (summary(agent, "held") or 0) >= n, 1200, "%d readings held" % n)
    build_s = time.monotonic() - t0
    held = {"rss": status_kib(agent.proc.pid, "VmRSS"),
            "hwm": status_kib(agent.proc.pid, "VmHWM"),
            "anon": status_kib(agent.proc.pid, "RssAnon")}
    env.mosq.start()
    t0 = time.monotonic()
    wait_for(lambda: ledger_count(env, dev) >= n, 1200, "%d readings stored" % n)
    replay_s = time.monotonic() - t0
    after = {"rss": status_kib(agent.proc.pid, "VmRSS"),
             "hwm": status_kib(agent.proc.pid, "VmHWM"),
             "anon": status_kib(agent.proc.pid, "RssAnon")}
    assert agent.stop() == 0
    return {"build_s": build_s, "held": held, "replay_s": replay_s, "rate": n / replay_s,
            "after": after}


def raw_broker_rate(port, n, size=280):
    payload = ("x" * (size - 1)) + "\n"
    with tempfile.NamedTemporaryFile("w", delete=False) as f:
        for _ in range(n):
            f.write(payload)
        path = f.name
    t0 = time.monotonic()
    with open(path) as inp:
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-q", "1",
                        "-V", "mqttv5", "-t", "bench/raw", "-l"], stdin=inp, check=True)
    dt = time.monotonic() - t0
    os.unlink(path)
    return n / dt


def callgrind_ir(argv, run, out):
    """Runs argv under callgrind; run(proc) drives it and ends it; returns total Ir."""
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out] + argv
    proc = run(cmd)
    proc.wait(600)
    with open(out) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1])
    raise RuntimeError("no totals in %s" % out)


def agent_ir(env, n, k, workdir):
    dev = "gw-fp-cg-%d" % k
    env.register(dev, "flood_gateway", ["st-fp-cg-%d" % k])
    agent = Agent(env, dev, ack_timeout_initial_ms="60s", ack_timeout_min_ms="30s",
                  ack_timeout_max_ms="120s", summary_interval_ms="60s",
                  sources=[simulator(flood="st-fp-cg-%d" % k, rate=500, count=n)])

    def run(cmd):
        log = open(agent.log_path, "ab")
        p = subprocess.Popen(cmd + ["-c", agent.conf_path], stdout=log, stderr=log)
        log.close()
        wait_for(lambda: ledger_count(env, dev) >= n, 600, "%d stored under callgrind" % n)
        wait_for(lambda: p.poll() is None, 5, "agent alive")
        p.terminate()
        return p
    return callgrind_ir([os.path.join(BUILD, "edge-agent", "pantau-agent")], run,
                        os.path.join(workdir, "cg-agent-%d.out" % k))


def pub_ir(port, n, k, workdir):
    path = os.path.join(workdir, "lines-%d" % k)
    with open(path, "w") as f:
        for _ in range(n):
            f.write("x" * 279 + "\n")

    def run(cmd):
        inp = open(path)
        p = subprocess.Popen(cmd, stdin=inp)
        inp.close()
        return p
    return callgrind_ir(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-q", "1",
                         "-V", "mqttv5", "-t", "bench/raw", "-l"], run,
                        os.path.join(workdir, "cg-pub-%d.out" % k))


def print_idle(args, idle, header=True):
    med = statistics.median
    if header:
        print("| what | agent | reference | ratio |")
        print("| --- | --- | --- | --- |")
    a, i = med(r["agent"] for r in idle), med(r["idle"] for r in idle)
    print("| CPU, TLS, one reading per %d s (median of %d rounds of %d s) | %.3f %% of a core "
          "(%.1f engine wake-ups/s) | %.3f %% (bare paho client, TLS, connected) | %s |" %
          (args.idle_interval, args.rounds, args.idle_seconds, 100 * a,
           med(r["wakeups"] for r in idle), 100 * i, "%.1f" % (a / i) if i > 0 else "-"))
    if header:
        print()
        print("raw: idle=%s" % idle)


def main():
    # SIGTERM becomes SystemExit, so that the harness's at-exit cleanups stop the servers
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--backlog-rounds", type=int, default=1)
    ap.add_argument("--backlog", type=int, default=100000)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--idle-seconds", type=int, default=120)
    ap.add_argument("--idle-interval", type=int, default=60)
    ap.add_argument("--idle-only", action="store_true")
    args = ap.parse_args()

    pki = tempfile.mkdtemp(prefix="pantau-fp-pki-")
    os.chmod(pki, 0o755)
    make_ca(pki)
    tls_port = H.free_port()
    extra = ("listener %d 127.0.0.1\ncafile %s/ca.pem\ncertfile %s/server.pem\n"
             "keyfile %s/server.key\n" % (tls_port, pki, pki, pki))
    env = CollectorEnv("bench-fp", broker_extra=extra)
    ok = False
    try:
        env.collector()
        idle = [idle_round(env, tls_port, pki + "/ca.pem", args.idle_seconds, args.idle_interval,
                           k) for k in range(args.rounds)]
        if args.idle_only:
            ok = True
            return print_idle(args, idle)
        tls = [tls_round(env, tls_port, pki + "/ca.pem", args.seconds, k)
               for k in range(args.rounds)]
        backlog = [backlog_round(env, args.backlog, k) for k in range(args.backlog_rounds)]
        raw = [raw_broker_rate(env.mqtt_port, args.backlog) for _ in range(args.backlog_rounds)]
        ir = None
        if not args.no_callgrind:
            a1, a4 = agent_ir(env, 1000, 1, env.root), agent_ir(env, 4000, 4, env.root)
            p1, p4 = pub_ir(env.mqtt_port, 1000, 1, env.root), pub_ir(env.mqtt_port, 4000, 4,
                                                                   env.root)
            ir = {"agent": (a4 - a1) / 3000.0, "pub": (p4 - p1) / 3000.0}
        ok = True
    finally:
        env.close(ok)

    med = statistics.median
    print("| what | agent | reference | ratio |")
    print("| --- | --- | --- | --- |")
    print_idle(args, idle, header=False)
    ar, ir_ = med(t["agent_rss"] for t in tls), med(t["idle_rss"] for t in tls)
    ah, ih = med(t["agent_hwm"] for t in tls), med(t["idle_hwm"] for t in tls)
    print("| VmRSS, TLS, 10 readings/s (median of %d rounds of %d s) | %.1f MiB | %.1f MiB "
          "(bare paho client, TLS, connected) | %.2f |" % (args.rounds, args.seconds,
                                                          ar / 1024, ir_ / 1024, ar / ir_))
    print("| VmHWM, same runs | %.1f MiB | %.1f MiB | %.2f |" % (ah / 1024, ih / 1024, ah / ih))
    aa, ia = med(t["agent_anon"] for t in tls), med(t["idle_anon"] for t in tls)
    print("| RssAnon (private: heap, stacks; the rest of VmRSS is shared library pages), same "
          "runs | %.1f MiB | %.1f MiB | %.2f |" % (aa / 1024, ia / 1024, aa / ia))
    hr = med(b["held"]["rss"] for b in backlog)
    hh = med(b["held"]["hwm"] for b in backlog)
    print("| VmRSS / VmHWM holding %d readings offline | %.1f / %.1f MiB | %.1f MiB (bare paho "
          "client, above) | %.2f |" % (args.backlog, hr / 1024, hh / 1024, ir_ / 1024, hr / ir_))
    han = med(b["held"]["anon"] for b in backlog)
    print("| RssAnon holding them | %.1f MiB | %.1f MiB | %.2f |" % (han / 1024, ia / 1024,
                                                                   han / ia))
    ra = med(b["after"]["hwm"] for b in backlog)
    raa = med(b["after"]["anon"] for b in backlog)
    print("| VmHWM / RssAnon after replaying them | %.1f / %.1f MiB | | |" % (ra / 1024,
                                                                          raa / 1024))
    rate = med(b["rate"] for b in backlog)
    rraw = med(raw)
    print("| replay of %d readings to broker + collector, readings/s | %.0f | %.0f (broker's raw "
          "QoS 1 rate, mosquitto_pub -q 1 -l, no subscriber) | %.2f |" % (args.backlog, rate,
                                                                          rraw, rate / rraw))
    if ir is not None:
        print("| CPU instructions per reading (callgrind, marginal, simulator to acknowledged) "
              "| %.0f | %.0f (mosquitto_pub per QoS 1 message) | %.1f |" % (
                  ir["agent"], ir["pub"], ir["agent"] / ir["pub"]))
    print()
    print("Resident KiB per mapping, TLS, 10 readings/s (medians of the rounds' last samples):")
    print()
    print("| mapping | agent | bare paho client |")
    print("| --- | --- | --- |")
    names = set()
    for t in tls:
        names.update(t["agent_maps"])
        names.update(t["idle_maps"])
    rows = []
    for n in names:
        a = med(t["agent_maps"].get(n, 0) for t in tls)
        i = med(t["idle_maps"].get(n, 0) for t in tls)
        if a >= 16 or i >= 16:
            rows.append((a, i, n))
    for a, i, n in sorted(rows, reverse=True):
        print("| %s | %d | %d |" % (n, a, i))
    print()
    maps = [(t.pop("agent_maps"), t.pop("idle_maps")) for t in tls]
    del maps
    print("raw: idle=%s tls=%s backlog=%s raw=%s ir=%s" % (idle, tls, backlog, raw, ir))


if __name__ == "__main__":
    main()
