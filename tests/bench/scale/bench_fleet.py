#!/usr/bin/python3
"""bench_fleet.py -- issue 15 item 1: 10,000 devices on one machine, and the broker killed.

    PANTAU_BUILD_DIR=build /usr/bin/python3 tests/bench/scale/bench_fleet.py \\
        [--devices 10000] [--tls-devices 2000] [--warm-s 120] [--down-s 10] [--rounds 1]

One mosquitto with pantau_broker.so (deploy/mosquitto.conf as shipped: its limits and plugin
options, stats_interval and reload_ms too), ONE pantau-collector (shipped batch and ack
settings) and PostgreSQL, all on this machine; the devices are fleet.c (compiled here), one
process holding every connection from one epoll loop (libmosquitto without its threads). Each
device logs in with its own device key (a real account in pantau_ops.account with the
HMAC-SHA256 hash pantau-admin makes, a pantau.device row of its kind, its station bound),
plain TCP (the TLS round: the 8884 listener of deploy/mosquitto.conf, the password one, with a
test CA made as the tests make it).

The city's mix (Bekasi's plan, about 500 cameras, tens of gauges and hundreds of phones, scaled
to the count): 60 % traffic_gateway (a camera, two lanes, one count per lane every 60 s: the
shortest interval of ../shared/DOMAIN.md), 10 % flood_gateway (a gauge reading every 60 s),
30 % handheld (a larva inspection every 120 s, an officer on a round; over MQTT/TCP as a
gateway's `pantau-agent report` sends them). --mix changes it.

A round: every device connects (spread over --ramp-s) and publishes at its cadence; after
--warm-s the broker is killed (-9) and restarted --down-s later; every device reconnects with
the reference agent's backoff (fleet.c's header). Measured: the time until all are connected
again (from the restart), the time until every reading taken before that moment is
acknowledged (stored: an acknowledgement follows COMMIT), connects per second in the storm,
the broker's peak memory (VmHWM of the new process, and of the first one before the kill), the
plugin's devauth counters (fast checks, slow checks, slow-budget refusals). Then --after-s more
seconds, the fleet stops taking readings and drains, and every (device, store, seq) it ever
took is looked up: stored once in pantau.reading_ledger and its facts table (flood_reading,
traffic_count, pantau_pii.larva_inspection), none lost, none twice, no dead letter.

Not a test (ctest does not run it); tests/integration/test_fleet_small.py is the CI-sized one,
built on the FleetRun class here. Figures and the command: docs/scaling.md, "One machine:
10,000 devices".
"""
import argparse
import hashlib
import hmac
import os
import re
import resource
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "tests", "harness"))
sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))

import broker_support as B  # noqa: E402
import broker_policy_support as P  # noqa: E402
import pantau_harness as H  # noqa: E402
from psycopg2.extras import execute_values  # noqa: E402

CFLAGS = ["-std=c11", "-D_GNU_SOURCE", "-O2", "-Wall", "-Wextra", "-Werror", "-Wshadow",
          "-Wstrict-prototypes", "-Wmissing-prototypes", "-Wformat=2", "-Wvla"]
KINDS = {"traffic": "traffic_gateway", "flood": "flood_gateway", "handheld": "handheld"}
STATION_KIND = {"traffic_gateway": "traffic_camera", "flood_gateway": "flood_gauge"}
# the shipped timing (deploy/mosquitto.conf), not BrokerEnv's faster test timing
SHIPPED_TIMING = {"stats_interval": H.deploy_plugin_options()["stats_interval"],
                  "reload_ms": H.deploy_plugin_options()["reload_ms"]}


def build_fleet(bindir):
    os.makedirs(bindir, exist_ok=True)
    exe = os.path.join(bindir, "fleet")
    subprocess.run(["cc"] + CFLAGS + ["-o", exe, os.path.join(HERE, "fleet.c"), "-lmosquitto",
                                      "-lcjson", "-lssl", "-lcrypto"], check=True)
    return exe


def raise_nofile(need):
    """Soft RLIMIT_NOFILE to the hard limit: mosquitto and the fleet inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < need:
        raise RuntimeError("RLIMIT_NOFILE hard limit %d is below %d" % (hard, need))
    return hard


def proc_status(pid, key):
    """A kB field of /proc/<pid>/status (VmHWM, VmRSS), or 0."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_s(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def listen_overflows():
    """The kernel's count of connections dropped because a listener's accept queue was full
    (TcpExt ListenOverflows: the whole machine's, so other programs' count too)."""
    with open("/proc/net/netstat") as f:
        rows = [line.split() for line in f if line.startswith("TcpExt:")]
    return int(dict(zip(rows[0][1:], rows[1][1:])).get("ListenOverflows", 0))


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def device_hash(key, secret):
    kid = hashlib.sha256(key).hexdigest()[:8]
    return "hmac-sha256$k=%s$%s" % (kid, hmac.new(key, secret.encode(), "sha256").hexdigest())


def parse_mix(text, n):
    """"traffic=60,flood=10,handheld=30" -> [(kind, count)] summing to n."""
    parts = [p.split("=") for p in text.split(",") if p]
    total = sum(float(w) for _, w in parts)
    out, given = [], 0
    for i, (k, w) in enumerate(parts):
        c = n - given if i == len(parts) - 1 else int(round(n * float(w) / total))
        out.append((KINDS[k], c))
        given += c
    return out


class FleetRun:
    """One world (database, broker with the plugin, one collector) and one fleet of devices.

        r = FleetRun("fleet", devices=400, log=print)
        r.start_fleet(); r.wait_all_up(120)
        ...; r.kill_broker(); r.restart_broker(); r.wait_all_up(...)
        acc = r.finish()       # stop, drain, account for every (device, store, seq)
    """

    def __init__(self, name, devices, mix="traffic=60,flood=10,handheld=30", tls=False,
                 ramp_s=20.0, cadence=None, log=print, shipped_timing=True,
                 per_process=5000):
        self.log = log
        self.n = devices
        raise_nofile(devices + 200)
        self.env = B.BrokerEnv(name, plugin_opts=SHIPPED_TIMING if shipped_timing else None,
                               start=False, extra=self._tls_extra(tls))
        self.root = self.env.root
        self.env.start_broker(timeout=60)
        if tls:
            H.wait_until(lambda: H.port_open(self.tls_port), 30, "the TLS listener")
        self.port = self.tls_port if tls else self.env.port
        self.cafile = self.tls_files["cafile"] if tls else None
        self.fleet_bin = build_fleet(os.path.join(self.root, "bin"))
        self.cadence = cadence or {}
        self.ramp_s = ramp_s
        self.per_process = per_process
        self.lines = []            # fleet status lines, as dicts
        self.final = {}
        self.fleet = None
        self.broker_hwm = []       # (label, kB) of each broker process before it went
        self.make_devices(parse_mix(mix, devices))
        self.collector = P.start_collector(self.env, "collector-fleet", batch_ms="100ms",
                                           ack_interval_ms="200ms", backoff_min_ms="250ms",
                                           backoff_max_ms="30s", registry_miss_ms="1s",
                                           log_level="notice", summary_interval_ms="60s")

    def _tls_extra(self, tls):
        if not tls:
            return ""
        import app_support
        d = os.path.join(H.workdir("fleet-tls"), "pki")
        self.tls_files = app_support.make_tls(d)
        text, self.tls_port = B.deploy_listener(8884, self.tls_files)
        return text

    # ---- setup ----

    def make_devices(self, mix):
        key = bytes.fromhex(open(self.env.key_file).readline().strip())
        devs, i = [], 0
        for kind, count in mix:
            prefix = {"traffic_gateway": "cam", "flood_gateway": "gw",
                      "handheld": "hh"}[kind]
            for _ in range(count):
                name = "%s-fleet-%05d" % (prefix, i)
                station = "st-%s" % name if kind in STATION_KIND else "-"
                devs.append((name, kind, os.urandom(32).hex(), station))
                i += 1
        self.devices = devs
        self.kinds = {k: c for k, c in mix}
        t0 = time.monotonic()
        with self.env.db().cursor() as cur:
            execute_values(cur, "INSERT INTO pantau.device (device_id, kind) VALUES %s",
                           [(d[0], d[1]) for d in devs], page_size=5000)
            execute_values(cur, "INSERT INTO pantau.station (station_id, kind) VALUES %s",
                           [(d[3], STATION_KIND[d[1]]) for d in devs if d[3] != "-"],
                           page_size=5000)
            execute_values(cur, "INSERT INTO pantau.device_station (device_id, station_id, valid)"
                           " VALUES %s", [(d[0], d[3], "[2000-01-01,)") for d in devs
                                          if d[3] != "-"], page_size=5000)
            execute_values(cur, "INSERT INTO pantau_ops.account (username, role, device_id,"
                           " secret_kind, secret_hash) VALUES %s",
                           [(d[0], "device", d[0], "device_key", device_hash(key, d[2]))
                            for d in devs], page_size=5000)
        # the broker knows them once the last one may connect (a NOTIFY reloads its registry)
        last = devs[-1]
        self.env.wait_connack(last[0], last[0], last[2], 0, timeout=120)
        self.log("accounts: %d devices (%s) made in %.1f s" % (
            len(devs), ", ".join("%s %d" % kc for kc in mix), time.monotonic() - t0))

    # ---- the fleet ----

    def start_fleet(self, seed=None):
        """Starts the fleet: as many fleet.c processes as the descriptor limit needs
        (libmosquitto holds 3 descriptors per client: its socket and a socket pair), each
        with its share of the devices; their status lines are summed (self.lines)."""
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        per = min(self.per_process, (hard - 200) // 3)
        chunks = [self.devices[i:i + per] for i in range(0, len(self.devices), per)]
        seed = seed or int(time.time())
        self.fleets, self.latest = [], [None] * len(chunks)
        self.lock = threading.Lock()
        self.readers = []
        for k, chunk in enumerate(chunks):
            devfile = os.path.join(self.root, "devices-%d.txt" % k)
            with open(devfile, "w") as f:
                for d in chunk:
                    f.write("%s %s %s %s\n" % d)
            argv = [self.fleet_bin, "--port", str(self.port), "--devices", devfile,
                    "--seed", str(seed + 7919 * k), "--ramp-s", str(self.ramp_s),
                    "--out", os.path.join(self.root, "fleet-%d.out" % k)]
            if self.cafile:
                argv += ["--cafile", self.cafile]
            for key, v in self.cadence.items():
                argv += ["--%s" % key, str(v)]
            err = os.path.join(self.root, "fleet-%d.stderr" % k)
            H.watch_log("fleet %d stderr" % k, err)
            with open(err, "wb") as ef:
                p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=ef)
            self.fleets.append(p)
            t = threading.Thread(target=self._read, args=(k, p), daemon=True)
            t.start()
            self.readers.append(t)
        H.on_exit(self._kill_fleet)
        self.fleet = self.fleets[0]
        self.log("fleet: %d processes of up to %d devices" % (len(chunks), per))
        self.t_start = time.monotonic()

    def _kill_fleet(self):
        for p in getattr(self, "fleets", []):
            if p.poll() is None:
                p.kill()
                p.wait(10)

    def _read(self, k, proc):
        status = open(os.path.join(self.root, "fleet-%d.status" % k), "w")
        for raw in proc.stdout:
            line = raw.decode(errors="replace").strip()
            status.write(line + "\n")
            if line.startswith("S "):
                s = {key: float(v) for key, v in re.findall(r"(\w+)=([-\d.]+)", line)}
                with self.lock:
                    self.latest[k] = s
                    if all(x is not None for x in self.latest):
                        agg = {key: sum(x[key] for x in self.latest) for key in s}
                        agg["t"] = s["t"]
                        olds = [x["oldest"] for x in self.latest if x["oldest"] >= 0]
                        agg["oldest"] = min(olds) if olds else -1.0
                        self.lines.append(agg)
            else:
                m = re.match(r"^(\w+)=([-\d.]+)$", line)
                if m:
                    with self.lock:
                        key, v = m.group(1), float(m.group(2))
                        if key == "fleet_hwm_kib":
                            self.final[key] = max(self.final.get(key, 0), v)
                        else:
                            self.final[key] = self.final.get(key, 0) + v
        status.close()

    def last(self):
        return self.lines[-1] if self.lines else {}

    def wait_line(self, pred, timeout, what, after=0.0):
        """The first status line (t > after) for which pred holds; waits for it."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            while seen < len(self.lines):
                s = self.lines[seen]
                seen += 1
                if s["t"] > after and pred(s):
                    return s
            for p in self.fleets:
                if p.poll() is not None:
                    raise AssertionError("a fleet process exited (%s) while waiting for %s" % (
                        p.returncode, what))
            if time.monotonic() > deadline:
                raise AssertionError("%s: not within %d s; last: %s" % (what, timeout,
                                                                       self.last()))
            time.sleep(0.05)

    def wait_all_up(self, timeout, after=0.0):
        return self.wait_line(lambda s: s["up"] >= self.n, timeout,
                              "all %d devices connected" % self.n, after)

    # ---- the broker ----

    def broker_pid(self):
        return self.env.mosq.proc.pid

    def kill_broker(self):
        pid = self.broker_pid()
        self.broker_hwm.append(proc_status(pid, "VmHWM"))
        t = time.monotonic()
        self.env.mosq.kill9()
        return t

    def restart_broker(self):
        self.env.start_broker(timeout=60)
        return time.monotonic()

    def devauth(self):
        return self.env.stats("devauth", timeout=30)

    # ---- the end ----

    def finish(self, drain_s=300):
        """Stops the fleet (no more readings), waits until every reading it took is
        acknowledged, then accounts for every (device, store, seq) in the database."""
        for p in self.fleets:
            p.stdin.write(b"stop\n")
            p.stdin.flush()
        deadline = time.monotonic() + drain_s
        for p in self.fleets:
            try:
                p.wait(max(1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.stdin.write(b"quit\n")
                p.stdin.flush()
                p.wait(30)
        for t in self.readers:
            t.join(10)
        return self.account()

    def account(self):
        out = {"devices": 0, "issued": 0, "stored": 0, "lost": 0, "duplicated": 0, "dead": 0,
               "held_by_fleet": 0, "lost_examples": [], "dup_examples": []}
        issued = {}
        lines = []
        for k in range(len(self.fleets)):
            with open(os.path.join(self.root, "fleet-%d.out" % k)) as f:
                lines += f.readlines()
        if True:
            for line in lines:
                dev, store, last, acked, held, dead = line.split()
                issued[(dev, store)] = int(last)
                out["held_by_fleet"] += int(held)
                out["dead"] += int(dead)
        out["devices"] = len(issued)
        out["issued"] = sum(issued.values())
        ledger = {(d, s): (n, nd, lo, hi) for d, s, n, nd, lo, hi in self.env.sql(
            "SELECT device_id, store_id::text, count(*), count(DISTINCT seq), min(seq), max(seq)"
            " FROM pantau.reading_ledger WHERE outcome = 'stored' GROUP BY 1, 2")}
        facts = {}
        for table in ("pantau.flood_reading", "pantau.traffic_count",
                      "pantau_pii.larva_inspection"):
            for d, s, n, nd in self.env.sql(
                    "SELECT device_id, store_id::text, count(*), count(DISTINCT seq) FROM %s"
                    " GROUP BY 1, 2" % table):
                facts[(d, s)] = (n, nd)
        for key, last in issued.items():
            n, nd, lo, hi = ledger.get(key, (0, 0, None, None))
            fn, fnd = facts.get(key, (0, 0))
            out["stored"] += nd
            lost = max(0, last - nd) + max(0, nd - fnd)     # not in the ledger, or no facts row
            dup = (n - nd) + (fn - fnd)
            if lost:
                out["lost"] += lost
                if len(out["lost_examples"]) < 10:
                    out["lost_examples"].append((key, last, n, nd, lo, hi, fn))
            if dup:
                out["duplicated"] += dup
                if len(out["dup_examples"]) < 10:
                    out["dup_examples"].append((key, n, nd, fn, fnd))
        extra = set(ledger) - set(issued)
        out["unknown_stores"] = len(extra)
        out["dead_letters"] = self.env.scalar("SELECT count(*) FROM pantau_ops.dead_letter")
        return out

    def close(self):
        self._kill_fleet()
        try:
            self.collector.stop(60)
        except AssertionError:
            pass
        self.env.close()


def storm_figures(run, t_kill, t_restart, all_up, timeout):
    """After a restart: the time to all connected, to every reading taken before that stored,
    connects per second (mean over the storm, and the best second)."""
    t_all = all_up["t"]
    caught = run.wait_line(lambda s: s["oldest"] < 0 or s["oldest"] > t_all, timeout,
                           "every reading taken before all were back stored", after=t_all)
    storm = [s for s in run.lines if t_restart <= s["t"] <= t_all + 0.5]
    per_s = []
    j = 0
    for i, s in enumerate(storm):
        while storm[j]["t"] < s["t"] - 1.0:
            j += 1
        if s["t"] - storm[j]["t"] >= 0.7:
            per_s.append((s["connects"] - storm[j]["connects"]) / (s["t"] - storm[j]["t"]))
    before = max((s for s in run.lines if s["t"] <= t_restart), key=lambda s: s["t"])
    health = next((s["t"] for s in run.lines if s["t"] > t_restart and s["healthy"] > 0),
                  caught["t"])
    # the share of the devices back by when: the connects since the restart
    share = {}
    for q in (0.5, 0.9, 0.99):
        share[q] = next((s["t"] - t_restart for s in storm
                         if s["connects"] - storm[0]["connects"] >= q * run.n), t_all - t_restart)
    return {"all_up_s": t_all - t_restart, "collector_health_s": health - t_restart,
            "back_50_s": share[0.5], "back_90_s": share[0.9], "back_99_s": share[0.99], "all_up_from_kill_s": t_all - t_kill,
            "stored_s": caught["t"] - t_restart, "stored_from_kill_s": caught["t"] - t_kill,
            "connects": all_up["connects"] - before["connects"],
            "connects_per_s_mean": (all_up["connects"] - before["connects"]) /
            max(t_all - t_restart, 1e-3),
            "connects_per_s_peak": max(per_s) if per_s else 0.0,
            "pending_at_restart": before["pending"], "connect_fails": all_up["connect_fails"] -
            before["connect_fails"], "connect_timeouts": all_up["connect_timeouts"] -
            before["connect_timeouts"], "refused_conn": all_up["refused_conn"]}


def one_round(args, name, devices, tls, log):
    run = FleetRun(name, devices, mix=args.mix, tls=tls, ramp_s=args.ramp_s, log=log,
                   cadence={"traffic-s": args.traffic_s, "flood-s": args.flood_s,
                            "handheld-s": args.handheld_s,
                            "reconnect-max-ms": args.reconnect_max_ms})
    res = {}
    try:
        res["idle_rss_mib"] = proc_status(run.broker_pid(), "VmRSS") / 1024
        t0 = time.monotonic()
        run.start_fleet()
        first = run.wait_all_up(args.connect_timeout)
        res["first_connect_s"] = first["t"] - t0
        log("%s: all %d connected %.1f s after the fleet started (ramp %.0f s); load %s" % (
            name, devices, res["first_connect_s"], args.ramp_s, loadavg()))
        # steady state: the broker's memory and CPU at the cadence
        b0, t_b0 = cpu_s(run.broker_pid()), time.monotonic()
        time.sleep(args.warm_s)
        res["steady_broker_cpu"] = (cpu_s(run.broker_pid()) - b0) / (time.monotonic() - t_b0)
        res["steady_rss_mib"] = proc_status(run.broker_pid(), "VmRSS") / 1024
        s = run.last()
        res["steady_pending"] = s["pending"]
        log("%s: steady %.0f s: taken %d, acked %d, pending %d, broker RSS %.1f MiB, broker"
            " CPU %.2f cores; load %s" % (name, args.warm_s, s["taken"], s["acked"],
                                           s["pending"], res["steady_rss_mib"],
                                           res["steady_broker_cpu"], loadavg()))
        auth = []          # devauth's counters of each restarted broker, read before it goes
        for r in range(args.rounds):
            if r > 0:
                auth.append(run.devauth())
            t_kill = run.kill_broker()
            res.setdefault("hwm_before_kill_mib", []).append(run.broker_hwm[-1] / 1024)
            time.sleep(args.down_s)
            t_restart = run.restart_broker()
            lo0 = listen_overflows()
            pid = run.broker_pid()
            c0 = cpu_s(pid)
            all_up = run.wait_all_up(args.storm_timeout, after=t_restart)
            storm_cpu = cpu_s(pid) - c0
            fig = storm_figures(run, t_kill, t_restart, all_up, args.storm_timeout)
            fig["storm_broker_cpu_s"] = storm_cpu
            fig["listen_overflows"] = listen_overflows() - lo0
            fig["hwm_after_mib"] = proc_status(pid, "VmHWM") / 1024
            time.sleep(args.after_s)
            fig["hwm_after_settle_mib"] = proc_status(pid, "VmHWM") / 1024
            fig["rss_settled_mib"] = proc_status(pid, "VmRSS") / 1024
            res.setdefault("storms", []).append(fig)
            log("%s: storm %d: %s; load %s" % (name, r + 1, " ".join(
                "%s=%.4g" % (k, v) for k, v in fig.items()), loadavg()))
        auth.append(run.devauth())
        res["auth"] = {k: sum(a.get(k, 0) for a in auth) for k in (
            "accepted", "refused", "fast_checks", "slow_checks", "cache_hits")}
        res["auth"]["slow_budget"] = sum(a["refused_by_reason"]["slow_budget"] for a in auth)
        acc = run.finish(drain_s=args.drain_s)
        res["account"] = acc
        res["fleet"] = dict(run.final)
        log("%s: fleet: %s" % (name, " ".join("%s=%.0f" % kv for kv in run.final.items())))
        log("%s: accounting: %s" % (name, acc))
    finally:
        run.close()
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=10000)
    ap.add_argument("--tls-devices", type=int, default=2000, help="0: no TLS round")
    ap.add_argument("--mix", default="traffic=60,flood=10,handheld=30")
    ap.add_argument("--ramp-s", type=float, default=60.0, help="first connects spread over")
    ap.add_argument("--warm-s", type=float, default=90.0, help="steady state before the kill")
    ap.add_argument("--down-s", type=float, default=10.0, help="broker down this long")
    ap.add_argument("--after-s", type=float, default=30.0, help="after all are back")
    ap.add_argument("--rounds", type=int, default=1, help="kills per world")
    ap.add_argument("--connect-timeout", type=float, default=600)
    ap.add_argument("--storm-timeout", type=float, default=600)
    ap.add_argument("--drain-s", type=float, default=300)
    ap.add_argument("--skip-plain", action="store_true")
    ap.add_argument("--traffic-s", type=float, default=60, help="a camera's count interval")
    ap.add_argument("--flood-s", type=float, default=60, help="a gauge's reading interval")
    ap.add_argument("--handheld-s", type=float, default=120, help="an inspection every")
    ap.add_argument("--reconnect-max-ms", type=int, default=60000,
                    help="the devices' reconnect_max_ms (the agent's default: 60000)")
    args = ap.parse_args()

    def log(msg):
        print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)

    log("load %s; RLIMIT_NOFILE hard %d" % (loadavg(), resource.getrlimit(
        resource.RLIMIT_NOFILE)[1]))
    results = {}
    if not args.skip_plain:
        results["tcp"] = one_round(args, "fleet-tcp", args.devices, False, log)
    if args.tls_devices:
        results["tls"] = one_round(args, "fleet-tls", args.tls_devices, True, log)
    print()
    for name, res in results.items():
        st = res["storms"]
        acc = res["account"]
        print("%s: %d devices: first connect %.1f s; broker RSS %.1f MiB before the fleet,"
              " %.1f MiB steady (%.1f KiB per device), CPU %.3f cores" % (
                  name, acc["devices"], res["first_connect_s"], res["idle_rss_mib"],
                  res["steady_rss_mib"], 1024 * (res["steady_rss_mib"] - res["idle_rss_mib"]) /
                  acc["devices"], res["steady_broker_cpu"]))
        for k in ("all_up_s", "back_50_s", "back_90_s", "back_99_s", "stored_s",
                  "collector_health_s", "all_up_from_kill_s", "stored_from_kill_s",
                  "connects_per_s_mean", "connects_per_s_peak", "hwm_after_settle_mib",
                  "storm_broker_cpu_s", "connect_timeouts", "listen_overflows"):
            print("  %-22s median %.2f (rounds: %s)" % (k, statistics.median(x[k] for x in st),
                                                        ", ".join("%.2f" % x[k] for x in st)))
        print("  broker VmHWM before the kill: %s MiB" % ", ".join(
            "%.1f" % v for v in res["hwm_before_kill_mib"]))
        a = res["auth"]
        print("  devauth of the restarted brokers (all storms): accepted %d, fast checks %d,"
              " slow checks %d, cache hits %d, refused %d (slow_budget %d)" % (
                  a["accepted"], a["fast_checks"], a["slow_checks"], a["cache_hits"],
                  a["refused"], a["slow_budget"]))
        print("  readings: issued %d, stored %d, lost %d, duplicated %d, dead letters %d,"
              " held by the fleet %d" % (acc["issued"], acc["stored"], acc["lost"],
                                         acc["duplicated"], acc["dead_letters"],
                                         acc["held_by_fleet"]))
        print("  fleet: resends %d, refused publishes %d, connect failures %d, VmHWM %.0f MiB"
              % (res["fleet"].get("resends", 0), res["fleet"].get("refused_pub", 0),
                 res["fleet"].get("connect_fails", 0),
                 res["fleet"].get("fleet_hwm_kib", 0) / 1024))
    print("load %s" % loadavg())
    bad = [n for n, r in results.items() if r["account"]["lost"] or r["account"]["duplicated"]
           or r["account"]["held_by_fleet"]]
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
