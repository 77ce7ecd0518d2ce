#!/usr/bin/python3
"""bench_outage.py -- issue 15 item 2: a day-long outage, the whole city back at once.

One command (builds nothing: run cmake --build first), prints figures, stops by itself:

    PANTAU_BUILD_DIR=build /usr/bin/python3 tests/bench/scale/bench_outage.py
    (--cameras 500 --gauges 20 --phones 300 --hours 24 are the defaults: the city)

Every device is a real pantau-agent process (the shipped pacing of its kind, the shipped
timeouts and window) with the simulator as its source, logging in with its key to mosquitto
with pantau's plugin (deploy/mosquitto.conf's limits); one pantau-collector (shipped batch and
ack settings); PostgreSQL 15 in its own cluster with track_commit_timestamp on, so that every
reading's commit time is known (pg_xact_commit_timestamp of its ledger row).

The city (../shared/DOMAIN.md): --cameras traffic gateways (one camera, 3 lanes, counts every
300 s, incidents), --gauges flood gateways (a gauge read every --flood-interval, default 60 s),
--phones handhelds (Jumantik inspections, --inspections a day each). Their stores are filled
first with --hours of readings by bench_outage_fill (the agent's simulator on an accelerated
clock, written through the agent's own store module: the rows the agent writes), then every
agent is started at once against the running broker: the network is back for all.

Figures, from T0 (the first agent started):
- the backlog remaining (readings issued before T0 not yet committed) every second, and when
  it reached 0 (overall and per kind);
- live lag: readings taken after T0, from the time taken (a gauge's and a phone's ts, a
  camera count's ts + its interval) to the commit of the transaction that stored it; per
  second of commit: count, p99 and max; the worst of all;
- every (device, store, seq) issued accounted: stored once (ledger row and facts row), none
  missing, none twice;
- CPU seconds of the broker, the collector, PostgreSQL and all agents during the drain, and the
  load average.
--csv FILE writes the per-second curves.
"""

import argparse
import concurrent.futures
import datetime
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
os.environ.setdefault("PANTAU_SOURCE_DIR", SOURCE)
os.environ.setdefault("PANTAU_BUILD_DIR", os.path.join(SOURCE, "build"))
sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))
sys.path.insert(0, os.path.join(SOURCE, "tests", "harness"))

import broker_support as B  # noqa: E402
import pantau_harness as H  # noqa: E402
from agent_support import Agent  # noqa: E402
from broker_policy_support import AgentWorld, start_collector  # noqa: E402

BUILD = os.environ["PANTAU_BUILD_DIR"]
FILL = os.path.join(BUILD, "tests", "bench", "bench_outage_fill")
TRAFFIC_INTERVAL_S = 300
LANES = "northbound southbound eastbound"
KELURAHAN = "32.75.01.1002"

# the shipped agent settings (deploy/agent.conf and the defaults) over agent_support's fast
# test timeouts and unpaced publishing
SHIPPED_AGENT = {
    "publish_rate": "0", "publish_burst": "0",
    "ack_timeout_initial_ms": "10s", "ack_timeout_min_ms": "2s", "ack_timeout_max_ms": "120s",
    "reconnect_min_ms": "1s", "reconnect_max_ms": "60s",
    "status_min_interval_ms": "5s", "summary_interval_ms": "60s", "log_level": "notice",
}
SHIPPED_COLLECTOR = {"batch_ms": "100ms", "ack_interval_ms": "200ms", "backoff_min_ms": "1s",
                     "backoff_max_ms": "30s", "summary_interval_ms": "60s"}


def log(msg):
    print("[outage %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z")


def pct(values, p):
    v = sorted(values)
    if not v:
        return None
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def cpu_of(pids):
    """utime + stime in seconds of these processes (and their waited-for children)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15]) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


def postgres_pids(cluster):
    """The postmaster of this cluster and its children (not the other clusters here)."""
    cluster._paths()
    try:
        with open(os.path.join(cluster.data, "postmaster.pid")) as f:
            master = int(f.readline())
    except (OSError, ValueError):
        return []
    pids = [master]
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == master:
            pids.append(int(name))
    return pids


class Device:
    def __init__(self, dev_id, kind, sim, station=None):
        self.id = dev_id
        self.kind = kind          # traffic_gateway, flood_gateway, handheld
        self.sim = sim            # the simulator section's keys
        self.station = station
        self.agent = None
        self.store = None
        self.backlog_last = 0     # the last seq the fill issued
        self.backlog = 0


class Outage:
    def __init__(self, args):
        self.args = args
        self.devices = []
        self.env = None
        self.collector = None
        self.figures = {}

    def city(self):
        a = self.args
        for i in range(a.cameras):
            self.devices.append(Device(
                "gw-cam-%03d" % (i + 1), "traffic_gateway",
                {"seed": 1000 + i, "traffic_stations": "cam-%03d" % (i + 1),
                 "traffic_lanes": LANES, "traffic_interval_s": TRAFFIC_INTERVAL_S,
                 "traffic_incidents": "true"}, "cam-%03d" % (i + 1)))
        for i in range(a.gauges):
            self.devices.append(Device(
                "gw-flood-%02d" % (i + 1), "flood_gateway",
                {"seed": 2000 + i, "flood_stations": "gauge-%02d" % (i + 1),
                 "flood_interval": "%ds" % a.flood_interval}, "gauge-%02d" % (i + 1)))
        for i in range(a.phones):
            # larva_houses: each house once a week, so inspections a day x 7
            self.devices.append(Device(
                "hh-jmt-%03d" % (i + 1), "handheld",
                {"seed": 3000 + i, "larva_kelurahan": KELURAHAN,
                 "larva_houses": a.inspections * 7}))

    def setup(self):
        t0 = time.monotonic()
        env = B.BrokerEnv("outage", own_cluster=True, start=False)
        H.on_exit(env.close)
        self.env = env
        env.cluster.query("postgres", "ALTER SYSTEM SET track_commit_timestamp = on")
        env.cluster.restart()
        env.start_broker()
        world = AgentWorld(env)

        def register(d):
            stations = [d.station] if d.station else []
            secret = env.add_device(d.id, d.kind, stations=stations)
            path = os.path.join(env.root, "%s.secret" % d.id)
            with open(path, "w") as f:
                f.write(secret + "\n")
            os.chmod(path, 0o600)
            return path

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            secrets = list(pool.map(register, self.devices))
        log("%d devices registered in %.0f s" % (len(self.devices), time.monotonic() - t0))
        # the broker reloads its registry every 2 s (TEST_TIMING): wait for the last account
        last = self.devices[-1]
        env.wait_connack(last.id, last.id, env.secrets[last.id], 0, timeout=60)
        for d, secret in zip(self.devices, secrets):
            conf = dict(SHIPPED_AGENT)
            conf.update({"device_kind": d.kind, "mqtt_username": d.id,
                         "mqtt_password_file": secret})
            if self.args.agent_conf:
                conf.update(dict(kv.split("=", 1) for kv in self.args.agent_conf))
            d.agent = Agent(world, d.id, sources=[("simulator", dict(d.sim))], **conf)
            d.store = d.agent.store
        self.collector = start_collector(env, "collector-1", **SHIPPED_COLLECTOR)
        self.figures["setup_s"] = time.monotonic() - t0

    def fill(self, t_back):
        """Each store gets --hours of readings ending at t_back."""
        t0 = time.monotonic()
        start = iso(t_back - self.args.hours * 3600)

        def one(d):
            sim = dict(d.sim)
            sim["start"] = start
            path = os.path.join(self.env.root, "%s.fill.conf" % d.id)
            saved = d.agent.sources
            d.agent.sources = [("simulator", sim)]
            d.agent.conf_path, live_path = path, d.agent.conf_path
            d.agent.write_conf()
            d.agent.conf_path = live_path
            d.agent.sources = saved
            r = subprocess.run([FILL, "-c", path, "--hours", str(self.args.hours)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               timeout=600)
            if r.returncode != 0:
                raise RuntimeError("%s: fill failed: %s" % (d.id, r.stdout))
            kv = dict(x.split("=", 1) for x in r.stdout.split())
            d.backlog = int(kv["readings"])
            d.backlog_last = int(kv["last_seq"])

        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            list(pool.map(one, self.devices))
        total = sum(d.backlog for d in self.devices)
        self.figures["backlog"] = total
        self.figures["fill_s"] = time.monotonic() - t0
        by = {}
        for d in self.devices:
            by[d.kind] = by.get(d.kind, 0) + d.backlog
        self.figures["backlog_by_kind"] = by
        log("stores filled in %.0f s: %d readings (%s)" % (
            self.figures["fill_s"], total, ", ".join("%s %d" % kv for kv in sorted(by.items()))))

    def run(self):
        a = self.args
        self.city()
        self.setup()
        # the stores hold the day up to the moment the agents start (they would have been
        # taking readings offline until then)
        t_back = time.time() + 5 + len(self.devices) * 0.15
        self.fill(t_back)
        while time.time() < t_back:
            time.sleep(0.2)
        cpu_pids = {"broker": [self.env.mosq.proc.pid], "collector": [self.collector.proc.pid]}
        pg = postgres_pids(self.env.cluster)
        cpu0 = {k: cpu_of(v) for k, v in cpu_pids.items()}
        pg0 = cpu_of(pg)
        load0 = open("/proc/loadavg").read().split()[0]
        T0 = time.time()
        for d in self.devices:
            d.agent.start()
        spawn_s = time.time() - T0
        log("%d agents started in %.1f s" % (len(self.devices), spawn_s))
        self.figures["spawn_s"] = spawn_s
        agent_pids = [d.agent.proc.pid for d in self.devices]
        # wait until every backlog is committed, and --live-s more of live readings
        deadline = T0 + a.timeout
        total = self.figures["backlog"]
        done_at = None
        while time.time() < deadline:
            got = self.backlog_committed()
            log("backlog committed %d of %d (%.0f s)" % (got, total, time.time() - T0))
            if got >= total and done_at is None:
                done_at = time.time()
            if done_at is not None and time.time() >= done_at + a.live_s:
                break
            time.sleep(5)
        t_end = time.time()
        cpu = {k: cpu_of(v) - cpu0[k] for k, v in cpu_pids.items()}
        cpu["postgres"] = cpu_of(postgres_pids(self.env.cluster)) - pg0
        cpu["agents"] = cpu_of(agent_pids)
        self.figures["cpu_s"] = cpu
        self.figures["window_s"] = t_end - T0
        self.figures["load"] = (load0, open("/proc/loadavg").read().split()[0])
        for d in self.devices:   # SIGTERM to all, then wait for each
            if d.agent.running():
                d.agent.proc.send_signal(signal.SIGTERM)
        for d in self.devices:
            rc = d.agent.stop(timeout=60)
            if rc != 0:
                log("%s exited %s on SIGTERM" % (d.id, rc))
        self.figures["account"] = self.account()
        self.curves(T0)

    def backlog_committed(self):
        return self.env.scalar("SELECT count(*) FROM pantau.reading_ledger l JOIN backlog_cut c"
                               " USING (device_id) WHERE l.seq <= c.last_seq") \
            if self.cut_table() else 0

    def cut_table(self):
        if getattr(self, "_cut", False):
            return True
        self.env.sql("CREATE TABLE IF NOT EXISTS public.backlog_cut (device_id text PRIMARY KEY,"
                     " kind text, last_seq bigint)")
        rows = ",".join(self.env.db().cursor().mogrify("(%s,%s,%s)", (d.id, d.kind, d.backlog_last))
                        .decode() for d in self.devices)
        self.env.sql("INSERT INTO public.backlog_cut VALUES " + rows + " ON CONFLICT DO NOTHING")
        self._cut = True
        return True

    def store_state(self, d):
        db = sqlite3.connect("file:%s?mode=ro" % d.store, uri=True, timeout=10)
        try:
            store_id, next_seq = db.execute(
                "SELECT store_id, next_seq FROM store_state WHERE id = 1").fetchone()
            held = db.execute("SELECT count(*) FROM reading").fetchone()[0]
        finally:
            db.close()
        return store_id, next_seq, held

    def account(self):
        """Every (device, store, seq) issued: stored once (a ledger row and one facts row),
        or still held by its agent (issued in the last moments: not lost); else lost."""
        env = self.env
        out = {"issued": 0, "stored": 0, "held": 0, "dead": 0, "dropped": 0, "lost": 0,
               "duplicated": 0, "examples": []}
        facts = {}
        for table, stream in (("pantau.flood_reading", "flood"),
                              ("pantau.traffic_count", "traffic")):
            for dev, store, seq, n in env.sql("SELECT device_id, store_id::text, seq, count(*)"
                                              " FROM %s GROUP BY 1, 2, 3" % table):
                facts[(dev, store, seq)] = n
        ledger = {}
        for dev, store, seq, stream, outcome in env.sql(
                "SELECT device_id, store_id::text, seq, stream, outcome"
                " FROM pantau.reading_ledger"):
            ledger[(dev, store, seq)] = (stream, outcome)
        for d in self.devices:
            store_id, next_seq, held = self.store_state(d)
            out["issued"] += next_seq - 1
            out["held"] += held
            for seq in range(1, next_seq):
                key = (d.id, store_id, seq)
                got = ledger.get(key)
                if got is None:
                    continue
                stream, outcome = got
                if outcome != "stored":
                    out["dead"] += 1
                    continue
                out["stored"] += 1
                if stream in ("flood", "traffic"):
                    n = facts.get(key, 0)
                    if n != 1:
                        if n == 0:
                            out["lost"] += 1
                        else:
                            out["duplicated"] += 1
                        out["examples"].append((key, stream, n))
            missing = (next_seq - 1) - sum(1 for s in range(1, next_seq)
                                           if (d.id, store_id, s) in ledger)
            # a reading not in the ledger must still be in its store (held), else it is lost
            if missing > held:
                out["lost"] += missing - held
                out["examples"].append((d.id, "missing", missing, "held", held))
        out["examples"] = out["examples"][:10]
        return out

    def curves(self, T0):
        env = self.env
        rows = env.sql(
            "SELECT l.device_id, c.kind, l.seq <= c.last_seq, l.stream,"
            " extract(epoch FROM l.ts), extract(epoch FROM pg_xact_commit_timestamp(l.xmin)),"
            " extract(epoch FROM l.received_at)"
            " FROM pantau.reading_ledger l JOIN public.backlog_cut c USING (device_id)")
        total = self.figures["backlog"]
        per_s = {}
        kind_done = {}
        live = []
        for dev, kind, is_backlog, stream, ts, committed, received in rows:
            if committed is None:
                continue
            s = int(float(committed) - T0)
            if is_backlog:
                per_s[s] = per_s.get(s, 0) + 1
                kind_done[kind] = max(kind_done.get(kind, 0), float(committed) - T0)
            elif stream != "incident":
                taken = float(ts) + (TRAFFIC_INTERVAL_S if stream == "traffic" else 0)
                live.append((s, float(committed) - taken, kind, float(received) - taken))
        last = max(per_s) if per_s else 0
        remaining = total
        curve = []
        for s in range(0, last + 1):
            remaining -= per_s.get(s, 0)
            curve.append((s, remaining, per_s.get(s, 0)))
        by_s = {}
        for s, lag, kind, _ in live:
            by_s.setdefault(s, []).append(lag)
        lags = [x[1] for x in live]
        self.figures["backlog_done_s"] = (last + 1) if per_s else None
        self.figures["backlog_done_by_kind_s"] = kind_done
        self.figures["live"] = {"n": len(lags), "p50": pct(lags, 50), "p99": pct(lags, 99),
                                "max": max(lags) if lags else None,
                                "over_5s": sum(1 for x in lags if x > 5.0)}
        # where the time went: taken to the collector's receipt (the agent, its publish, the
        # broker's queue), and receipt to commit (the collector's batch, the transaction)
        to_rx = [x[3] for x in live]
        rx_commit = [x[1] - x[3] for x in live]
        self.figures["live_split"] = (pct(to_rx, 99), max(to_rx) if to_rx else None,
                                      pct(rx_commit, 99), max(rx_commit) if rx_commit else None)
        self.figures["live_by_kind"] = {}
        for kind in ("traffic_gateway", "flood_gateway", "handheld"):
            k = [x[1] for x in live if x[2] == kind]
            self.figures["live_by_kind"][kind] = (len(k), pct(k, 99), max(k) if k else None)
        drain = [c for c in curve if c[2] > 0]
        self.figures["peak_rate"] = max(c[2] for c in curve) if curve else 0
        self.figures["mean_rate"] = total / float(last + 1) if per_s else 0
        self.curve = curve
        self.live_by_s = by_s
        if self.args.csv:
            with open(self.args.csv, "w") as f:
                f.write("second,backlog_remaining,backlog_committed,live_n,live_p99_s,live_max_s\n")
                end = max(last, max(by_s) if by_s else 0)
                rem = total
                for s in range(0, end + 1):
                    rem -= per_s.get(s, 0)
                    v = by_s.get(s, [])
                    f.write("%d,%d,%d,%d,%s,%s\n" % (
                        s, rem, per_s.get(s, 0), len(v),
                        "%.3f" % pct(v, 99) if v else "", "%.3f" % max(v) if v else ""))
        del drain

    def report(self):
        f = self.figures
        a = self.args
        print()
        print("## A day-long outage: %d cameras, %d gauges, %d phones (real pantau-agents)" % (
            a.cameras, a.gauges, a.phones))
        print()
        print("| what | figure |")
        print("| --- | --- |")
        print("| backlog (readings issued in the %g h before T0) | %d (%s) |" % (
            a.hours, f["backlog"], ", ".join("%s %d" % kv for kv in sorted(
                f["backlog_by_kind"].items()))))
        print("| agents started (T0 to the last spawned) | %.1f s |" % f["spawn_s"])
        print("| backlog all committed | %s s after T0 |" % f["backlog_done_s"])
        print("| ... by kind (last backlog commit) | %s |" % ", ".join(
            "%s %.0f s" % (k, v) for k, v in sorted(f["backlog_done_by_kind_s"].items())))
        print("| backlog committed per second: mean over the drain, peak second | %.0f, %d |" % (
            f["mean_rate"], f["peak_rate"]))
        lv = f["live"]
        if lv["n"]:
            print("| live readings (taken after T0, incidents aside): n, p50, p99, max lag "
                  "taken to commit | %d, %.2f s, %.2f s, %.2f s; over 5 s: %d |" % (
                      lv["n"], lv["p50"], lv["p99"], lv["max"], lv["over_5s"]))
        if lv["n"]:
            print("| ... of which taken to received by the collector (p99, max), received to"
                  " commit (p99, max) | %.2f s, %.2f s; %.2f s, %.2f s |" % f["live_split"])
        for kind, (n, p99, mx) in f["live_by_kind"].items():
            if n:
                print("| ... %s: n, p99, max | %d, %.2f s, %.2f s |" % (kind, n, p99, mx))
        cpu = f["cpu_s"]
        print("| CPU s over %.0f s: broker, collector, PostgreSQL, agents | %.1f, %.1f, %.1f, "
              "%.1f |" % (f["window_s"], cpu["broker"], cpu["collector"], cpu["postgres"],
                          cpu["agents"]))
        n = max(1, f["account"]["stored"])
        print("| CPU per committed reading: broker, collector, PostgreSQL, agents | %.0f, %.0f,"
              " %.0f, %.0f us |" % tuple(1e6 * cpu[k] / n for k in
                                          ("broker", "collector", "postgres", "agents")))
        print("| load average at T0, at the end | %s, %s |" % f["load"])
        acc = f["account"]
        print("| accounted: issued, stored once, still held, dead, lost, duplicated | %d, %d, %d,"
              " %d, %d, %d |" % (acc["issued"], acc["stored"], acc["held"], acc["dead"],
                                 acc["lost"], acc["duplicated"]))
        if acc["examples"]:
            print("examples: %s" % acc["examples"])
        print()
        print("Backlog remaining (every 5 s) and live lag per second of commit (n, p99, max):")
        print()
        print("| s | backlog remaining | committed that second | live n | live p99 s |"
              " live max s |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: |")
        by_s = self.live_by_s
        end = max([c[0] for c in self.curve] + list(by_s))
        rem = {c[0]: c[1] for c in self.curve}
        com = {c[0]: c[2] for c in self.curve}
        for s in range(0, end + 1):
            v = by_s.get(s, [])
            if s % 5 != 0 and not v:
                continue
            print("| %d | %s | %s | %d | %s | %s |" % (
                s, rem.get(s, 0), com.get(s, 0), len(v),
                "%.2f" % pct(v, 99) if v else "", "%.2f" % max(v) if v else ""))
        ok = acc["lost"] == 0 and acc["duplicated"] == 0
        return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    p.add_argument("--cameras", type=int, default=500)
    p.add_argument("--gauges", type=int, default=20)
    p.add_argument("--phones", type=int, default=300)
    p.add_argument("--hours", type=float, default=24.0)
    p.add_argument("--flood-interval", type=int, default=60, help="s between a gauge's readings")
    p.add_argument("--inspections", type=int, default=25, help="a phone's inspections a day")
    p.add_argument("--live-s", type=float, default=20.0,
                   help="s of live readings measured after the backlog is committed")
    p.add_argument("--timeout", type=float, default=900.0, help="give up after this many s")
    p.add_argument("--agent-conf", action="append", default=[],
                   help="KEY=VALUE for every agent's config (e.g. backlog_window=...)")
    p.add_argument("--csv", help="write the per-second curves here")
    args = p.parse_args()
    if not os.access(FILL, os.X_OK):
        sys.exit("no %s: cmake --build build --target bench_outage_fill pantau-agent "
                 "pantau-collector" % FILL)
    o = Outage(args)
    o.run()
    sys.exit(o.report())


if __name__ == "__main__":
    main()
