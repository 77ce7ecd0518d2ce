#!/usr/bin/python3
"""chaos.py -- issue 15 item 3: the whole pipe under random kills, then every reading accounted.

One command, stops by itself (a benchmark, not a test; tests/integration/test_chaos_short.py
runs the same code for a minute in CI):

    /usr/bin/python3 tests/bench/chaos/chaos.py --duration 3600 --faults 1000 --seed 15

It runs, on this machine, the real programs of a deployment:
- PostgreSQL 15 in its own cluster (so that it can be stopped hard), the schema of schema/;
- mosquitto 2.0 with pantau's plugin (pantau_broker.so, the settings of deploy/mosquitto.conf,
  tests/integration/broker_support.BrokerEnv), devices logging in with their keys;
- two pantau-collector processes in one shared subscription group;
- --gateways pantau-agent flood gateways, each with the simulator source (--rate readings/s);
- one handheld pantau-agent with the larva source, and `pantau-agent report` called every
  --report-every seconds (a Jumantik inspection appended to its store, running or not).

For --duration seconds it makes --faults faults at random times (seed --seed): kill -9 of an
agent, a collector or the broker, or `pg_ctl stop -m immediate` of PostgreSQL; the harness plays
systemd (Restart=always, RestartSec): the dead process is started again after a random delay
of --restart-min..--restart-max seconds. A process that exits by itself is restarted the same
way and counted. Then the agents are stopped (SIGTERM) and started without the simulator, so
that nothing new is issued, and the harness waits (--settle-timeout) until every agent's store
is empty and every (device, store, seq) its store ever issued (1 .. next_seq - 1) is accounted
for: stored once (pantau.reading_ledger outcome stored, and its facts row), dead-lettered with
a reason (outcome dead_letter and a pantau_ops.dead_letter row), or reported dropped by its
device (pantau.dropped_range). Anything else is lost; two outcomes for one seq, or two facts
or dead-letter rows, are duplicates. Exit 0 only with 0 lost, 0 duplicated and every process
running at the end.
"""

import argparse
import heapq
import json
import os
import random
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
from agent_support import Agent, agent_binary, simulator  # noqa: E402
from broker_policy_support import AgentWorld, start_collector  # noqa: E402

KINDS = ("agent", "collector", "broker", "postgres")
REPORT_ARGS = ["--inspector", "jmt-0412", "--building", "house", "--kelurahan",
               "32.75.01.1002", "--rw", "3", "--rt", "5", "--container", "bath_tub:indoor:1:1"]


def log(msg):
    print("[chaos %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


class Proc:
    """One supervised process: a name, a kind, how to see it run, kill it and start it."""

    def __init__(self, name, kind, running, kill, start):
        self.name = name
        self.kind = kind
        self.running = running
        self.kill = kill
        self.start = start
        self.down = False            # killed (or exited), its restart is scheduled
        self.kills = 0
        self.self_exits = 0
        self.restarts = 0


class Chaos:
    def __init__(self, seed=15, duration=3600.0, faults=1000, gateways=6, rate=5.0,
                 restart_min=0.5, restart_max=3.0, settle_timeout=600.0, report_every=5.0,
                 weights=None, name="chaos"):
        self.seed = seed
        self.rng = random.Random(seed)
        self.duration = duration
        self.faults = faults
        self.gateways = gateways
        self.rate = rate
        self.restart_min = restart_min
        self.restart_max = restart_max
        self.settle_timeout = settle_timeout
        self.report_every = report_every
        self.weights = weights or {"agent": 4, "collector": 3, "broker": 2, "postgres": 2}
        self.name = name
        self.env = None
        self.agents = []
        self.handheld = None
        self.collectors = []
        self.procs = []
        self.events = []             # (time from start, what, process name)
        self.fault_count = {k: 0 for k in KINDS}
        self.reports_ok = 0
        self.reports_failed = 0
        self.figures = {}

    # ---- the world ---------------------------------------------------------------------------

    def setup(self):
        t0 = time.monotonic()
        # The broker's per-device rate limit keeps its deploy/ ratio to the cadence: a flood
        # gateway's 5/s is 300 times a gauge's one reading a minute. At --rate 5/s a limit of
        # 5/s leaves a gateway no room to catch up after an outage: its backlog is refused
        # (0x87), retried with the agent's growing backoff, and an hour of faults ends with
        # hundreds of readings still waiting in the stores (the first hour-long run).
        limit = "%g/s burst %d" % (10 * self.rate, max(50, int(100 * self.rate)))
        env = B.BrokerEnv(self.name, own_cluster=True,
                          plugin_opts={"rate_flood_gateway": limit})
        H.on_exit(env.close)
        self.env = env
        world = AgentWorld(env)
        for i in range(2):
            c = start_collector(env, "collector-%d" % (i + 1))
            self.collectors.append(c)
        for i in range(self.gateways):
            dev = "gw-chaos-%02d" % (i + 1)
            secret = self.secret_file(dev, env.add_device(dev, "flood_gateway",
                                                          stations=["st-chaos-%02d" % (i + 1)]))
            a = Agent(world, dev, sources=[simulator(flood="st-chaos-%02d" % (i + 1),
                                                     rate=self.rate, count=0, seed=self.seed + i)],
                      mqtt_username=dev, mqtt_password_file=secret)
            self.agents.append(a)
        if self.report_every > 0:
            dev = "hh-chaos-01"
            secret = self.secret_file(dev, env.add_device(dev, "handheld"))
            sock = os.path.join(env.root, "larva.sock")
            self.handheld = Agent(world, dev, sources=[("larva", {"path": sock, "mode": "0600"})],
                                  mqtt_username=dev, mqtt_password_file=secret)
            self.agents.append(self.handheld)
        for a in self.agents:
            env.wait_connack(a.device_id, a.device_id, self.secret_of(a), 0)
            a.start()
        for a in self.agents:
            self.procs.append(Proc(a.label, "agent", a.running, a.kill9, a.start))
        for c in self.collectors:
            self.procs.append(Proc(c.id, "collector", c.running, c.kill9,
                                   lambda c=c: c.start(wait_db=False)))
        self.procs.append(Proc("mosquitto", "broker", env.mosq.running, env.mosq.kill9,
                               env.start_broker))
        cluster = env.cluster
        self.procs.append(Proc("postgres", "postgres", cluster.running,
                               lambda: cluster.stop("immediate"), cluster.start))
        self.figures["setup_s"] = time.monotonic() - t0
        log("world up in %.1f s: %d gateways at %.1f readings/s, %s, 2 collectors, broker :%d,"
            " postgres :%d, root %s" % (self.figures["setup_s"], self.gateways, self.rate,
                                        "a handheld" if self.handheld else "no handheld",
                                        env.port, cluster.port, env.root))

    def secret_file(self, dev, secret):
        path = os.path.join(self.env.root, "%s.secret" % dev)
        with open(path, "w") as f:
            f.write(secret + "\n")
        os.chmod(path, 0o600)
        return path

    def secret_of(self, a):
        return self.env.secrets[a.device_id]

    def report(self):
        """One Jumantik inspection into the handheld's store (the agent may be down)."""
        try:
            r = subprocess.run([agent_binary(), "report", "-c", self.handheld.conf_path]
                               + REPORT_ARGS, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=30)
            ok = r.returncode == 0
        except subprocess.TimeoutExpired:
            ok = False
        if ok:
            self.reports_ok += 1
        else:
            self.reports_failed += 1

    # ---- the faults --------------------------------------------------------------------------

    def fault_times(self):
        """faults moments in [0, duration), uniform at random, sorted."""
        return sorted(self.rng.uniform(0, self.duration) for _ in range(self.faults))

    def pick(self):
        """A running process to hit, by kind weight; None if none runs."""
        live = [p for p in self.procs if not p.down and p.running()]
        if not live:
            return None
        kinds = sorted({p.kind for p in live})
        weights = [self.weights.get(k, 1) for k in kinds]
        kind = self.rng.choices(kinds, weights)[0]
        return self.rng.choice([p for p in live if p.kind == kind])

    def note(self, t0, what, p):
        self.events.append((round(time.monotonic() - t0, 3), what, p.name))

    def restart(self, t0, p):
        try:
            p.start()
            p.down = False
            p.restarts += 1
            self.note(t0, "start", p)
            return True
        except Exception as e:       # e.g. PostgreSQL not yet answering: systemd tries again
            self.note(t0, "start-failed", p)
            log("%s did not start (%s); again shortly" % (p.name, str(e).splitlines()[0]))
            return False

    def run_faults(self):
        t0 = time.monotonic()
        times = self.fault_times()
        restarts = []                # heap of (due, seq, process)
        n = 0
        next_report = self.report_every if self.handheld else None
        end = self.duration
        while True:
            now = time.monotonic() - t0
            # systemd: a process that exited by itself is started again after RestartSec
            for p in self.procs:
                if not p.down and not p.running():
                    p.down = True
                    p.self_exits += 1
                    self.note(t0, "exited", p)
                    log("%s exited by itself; restart scheduled" % p.name)
                    heapq.heappush(restarts, (now + self.delay(), n, p))
                    n += 1
            while restarts and restarts[0][0] <= now:
                _, _, p = heapq.heappop(restarts)
                if not self.restart(t0, p):
                    heapq.heappush(restarts, (now + self.delay(), n, p))
                    n += 1
            if now >= end:
                if not restarts:
                    break
                time.sleep(0.05)
                continue
            if times and times[0] <= now:
                times.pop(0)
                p = self.pick()
                if p is not None:
                    p.kill()
                    p.down = True
                    p.kills += 1
                    self.fault_count[p.kind] += 1
                    self.note(t0, "kill", p)
                    heapq.heappush(restarts, (now + self.delay(), n, p))
                    n += 1
                continue
            if next_report is not None and now >= next_report:
                self.report()
                next_report += self.report_every
                continue
            if int(now) % 60 == 0 and int(now) != getattr(self, "_last_progress", -1):
                self._last_progress = int(now)
                load = os.getloadavg()[0]
                self.figures.setdefault("load1", []).append(load)
                log("t=%4d s: faults %s, load average %.2f" % (now, json.dumps(self.fault_count),
                                                              load))
            time.sleep(0.02)
        self.figures["chaos_s"] = time.monotonic() - t0
        self.figures["events"] = list(self.events)

    def delay(self):
        return self.rng.uniform(self.restart_min, self.restart_max)

    # ---- the end: settle, account ------------------------------------------------------------

    def all_running(self):
        return [p.name for p in self.procs if not p.running()]

    def quiesce(self):
        """The agents stop issuing: each is stopped (SIGTERM) and started with no reading
        source but an idle larva socket, so its store drains and next_seq stays."""
        for a in self.agents:
            rc = a.stop(timeout=60)
            if rc != 0:
                log("%s exited %s on SIGTERM" % (a.label, rc))
            sock = os.path.join(self.env.root, "%s.idle.sock" % a.label)
            a.sources = [("larva", {"path": sock, "mode": "0600"})]
            a.write_conf()
            a.start()

    def store_state(self, a):
        db = sqlite3.connect("file:%s?mode=ro" % a.store, uri=True, timeout=10)
        try:
            store_id, next_seq = db.execute(
                "SELECT store_id, next_seq FROM store_state WHERE id = 1").fetchone()
            held = db.execute("SELECT count(*) FROM reading").fetchone()[0]
            rejected = [r[0] for r in db.execute("SELECT seq FROM rejected")]
        finally:
            db.close()
        return store_id, next_seq, held, rejected

    def account(self):
        """Every (device, store, seq) issued, by outcome; and the duplicates."""
        env = self.env
        out = {"issued": 0, "stored": 0, "dead": 0, "dropped": 0, "lost": 0, "duplicated": 0,
               "held": 0, "rejected_in_store": 0, "lost_examples": [], "dup_examples": []}
        for a in self.agents:
            store_id, next_seq, held, rejected = self.store_state(a)
            issued = set(range(1, next_seq))
            out["issued"] += len(issued)
            out["held"] += held
            out["rejected_in_store"] += len(rejected)
            ledger = env.sql("SELECT seq, outcome FROM pantau.reading_ledger"
                             " WHERE device_id = %s AND store_id = %s", a.device_id, store_id)
            stored = {s for s, o in ledger if o == "stored"}
            dead_ledger = {s for s, o in ledger if o == "dead_letter"}
            letters = env.sql("SELECT seq, reason FROM pantau_ops.dead_letter WHERE device_id = %s"
                              " AND store_id = %s AND seq IS NOT NULL", a.device_id, store_id)
            letter_count = {}
            for s, reason in letters:
                if reason:
                    letter_count[s] = letter_count.get(s, 0) + 1
            dead = {s for s in dead_ledger | set(letter_count) if s in letter_count}
            dropped = set()
            for first, last in env.sql("SELECT first_seq, last_seq FROM pantau.dropped_range"
                                       " WHERE device_id = %s AND store_id = %s",
                                       a.device_id, store_id):
                dropped.update(range(first, last + 1))
            facts = self.facts(a.device_id, store_id)
            dups = set()
            dups |= {s for s, k in facts.items() if k > 1}
            dups |= {s for s, k in letter_count.items() if k > 1}
            dups |= stored & (dead | dropped)
            dups |= dead & dropped
            # a stored flood reading has its facts row (the ledger says stored, the row is gone:
            # lost); larva inspections live in pantau_pii (checked by the ledger alone)
            missing_facts = set()
            if a is not self.handheld:
                missing_facts = {s for s in stored if s not in facts}
            accounted = stored | dead | dropped
            lost = (issued - accounted) | missing_facts
            extra = accounted - issued
            out["stored"] += len(stored & issued)
            out["dead"] += len((dead - stored) & issued)
            out["dropped"] += len((dropped - stored - dead) & issued)
            out["lost"] += len(lost) + len(extra)
            out["duplicated"] += len(dups)
            if lost or extra:
                out["lost_examples"].append((a.device_id, store_id, sorted(lost | extra)[:20]))
            if dups:
                out["dup_examples"].append((a.device_id, store_id, sorted(dups)[:20]))
        out["dead_reasons"] = dict(env.sql("SELECT reason, count(*) FROM pantau_ops.dead_letter"
                                           " GROUP BY reason ORDER BY reason"))
        return out

    def facts(self, device_id, store_id):
        return dict(self.env.sql("SELECT seq, count(*) FROM pantau.flood_reading"
                                 " WHERE device_id = %s AND store_id = %s GROUP BY seq",
                                 device_id, store_id))

    def back(self, timeout):
        """Every process came back by itself after the last fault, as a deployment would see
        it: each collector reached the database and subscribed in its current run, and each
        agent delivers a reading it issued after the chaos ended (through the broker, a
        collector and PostgreSQL that were all killed, with no help). Returns the names that
        did not, after timeout seconds."""
        marks = {}
        for a in self.agents:
            if a is self.handheld:
                self.report()
            marks[a.device_id] = (a, self.store_state(a)[0], self.store_state(a)[1])

        def pending():
            out = [c.id for c in self.collectors
                   if "database is up" not in c.run_log()
                   or "subscribed as group" not in c.run_log()]
            for dev, (a, store_id, next_seq) in marks.items():
                top = self.env.scalar("SELECT coalesce(max(seq), 0) FROM pantau.reading_ledger"
                                      " WHERE device_id = %s AND store_id = %s", dev, store_id)
                if top < next_seq - (1 if a is self.handheld else 0) or not a.running():
                    out.append(a.label)
            return out
        t0 = time.monotonic()
        left = None
        while time.monotonic() - t0 < timeout:
            try:
                left = pending()
            except Exception as e:   # the database still recovering
                left = ["postgres (%s)" % str(e).splitlines()[0]]
            if not left:
                break
            time.sleep(0.5)
        self.figures["back_s"] = time.monotonic() - t0
        return left

    def settle(self):
        """Waits until every store is empty and every issued seq is accounted for; returns the
        final accounting and the seconds it took."""
        t0 = time.monotonic()
        down = self.all_running()
        if down:
            log("not running after the last restart: %s" % down)
        self.figures["down_at_end"] = down
        self.figures["not_back"] = self.back(min(self.settle_timeout, 180.0))
        if self.figures["not_back"]:
            log("not back by themselves: %s" % self.figures["not_back"])
        self.quiesce()
        last = None
        while True:
            try:
                last = self.account()
                if last["held"] == 0 and last["lost"] == 0:
                    break
            except Exception as e:   # the database still recovering
                log("accounting: %s" % str(e).splitlines()[0])
            if time.monotonic() - t0 > self.settle_timeout:
                log("settle timed out after %.0f s" % self.settle_timeout)
                break
            time.sleep(1.0)
        self.figures["settle_s"] = time.monotonic() - t0
        self.figures["down_after_settle"] = self.all_running()
        self.figures["account"] = last
        return last

    # ---- the whole run -----------------------------------------------------------------------

    def run(self):
        self.setup()
        log("chaos: %d faults over %.0f s, seed %d, restart after %.1f..%.1f s" % (
            self.faults, self.duration, self.seed, self.restart_min, self.restart_max))
        self.run_faults()
        log("chaos over after %.1f s; settling" % self.figures["chaos_s"])
        self.settle()
        self.figures["faults"] = dict(self.fault_count)
        self.figures["self_exits"] = {p.name: p.self_exits for p in self.procs if p.self_exits}
        self.figures["reports"] = {"ok": self.reports_ok, "failed": self.reports_failed}
        return self.figures

    def ok(self):
        acc = self.figures.get("account") or {}
        return (acc.get("lost") == 0 and acc.get("duplicated") == 0 and acc.get("held") == 0
                and not self.figures.get("down_at_end") and not self.figures.get("not_back")
                and not self.figures.get("down_after_settle"))

    def summary(self):
        f = self.figures
        acc = f.get("account") or {}
        lines = [
            "seed %d, %d gateways at %.1f readings/s + handheld reports every %.0f s,"
            " 2 collectors, 1 broker, 1 PostgreSQL" % (self.seed, self.gateways, self.rate,
                                                        self.report_every),
            "chaos %.0f s: faults %d (%s)" % (
                f.get("chaos_s", 0), sum(self.fault_count.values()),
                ", ".join("%s %d" % (k, self.fault_count[k]) for k in KINDS)),
            "processes that exited by themselves (restarted like systemd): %s" % (
                f.get("self_exits") or "none"),
            "not running at the end of chaos: %s; after settling: %s" % (
                f.get("down_at_end") or "none", f.get("down_after_settle") or "none"),
            "back by themselves after the chaos in %.1f s (collectors subscribed, every agent"
            " delivering new readings); not back: %s" % (f.get("back_s", 0),
                                                         f.get("not_back") or "none"),
            "reports: %d appended, %d failed (store busy)" % (self.reports_ok,
                                                              self.reports_failed),
            "readings issued %d: stored %d, dead-lettered %d %s, dropped by device %d" % (
                acc.get("issued", 0), acc.get("stored", 0), acc.get("dead", 0),
                json.dumps(acc.get("dead_reasons", {})), acc.get("dropped", 0)),
            "lost %d, duplicated %d, still held %d, in agents' rejected lists %d" % (
                acc.get("lost", -1), acc.get("duplicated", -1), acc.get("held", -1),
                acc.get("rejected_in_store", 0)),
            "load average (1 min) during the chaos: %s" % (
                "%.1f to %.1f" % (min(f["load1"]), max(f["load1"])) if f.get("load1") else "-"),
            "time to settle %.1f s (agents restarted without the simulator, stores empty,"
            " every seq accounted)" % f.get("settle_s", 0),
        ]
        for ex in acc.get("lost_examples", []):
            lines.append("LOST %s store %s seqs %s" % ex)
        for ex in acc.get("dup_examples", []):
            lines.append("DUPLICATED %s store %s seqs %s" % ex)
        lines.append("RESULT: %s" % ("ok (0 lost, 0 duplicated, every process back)"
                                     if self.ok() else "FAILED"))
        return "\n".join(lines)

    def write_events(self, path):
        with open(path, "w") as f:
            json.dump({"seed": self.seed, "figures": {k: v for k, v in self.figures.items()
                                                      if k != "events"},
                       "events": self.events}, f, indent=1, default=str)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=3600.0, help="seconds of chaos")
    ap.add_argument("--faults", type=int, default=1000, help="faults over the duration")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--gateways", type=int, default=6)
    ap.add_argument("--rate", type=float, default=5.0, help="readings/s per gateway")
    ap.add_argument("--restart-min", type=float, default=0.5)
    ap.add_argument("--restart-max", type=float, default=3.0)
    ap.add_argument("--report-every", type=float, default=5.0,
                    help="seconds between `pantau-agent report` calls (0: no handheld)")
    ap.add_argument("--settle-timeout", type=float, default=600.0)
    ap.add_argument("--events", help="write the fault sequence and figures as JSON here")
    args = ap.parse_args()
    chaos = Chaos(seed=args.seed, duration=args.duration, faults=args.faults,
                  gateways=args.gateways, rate=args.rate, restart_min=args.restart_min,
                  restart_max=args.restart_max, settle_timeout=args.settle_timeout,
                  report_every=args.report_every)
    try:
        chaos.run()
    finally:
        if args.events:
            chaos.write_events(args.events)
        print(chaos.summary(), flush=True)
        print("load average at the end: %s" % " ".join(
            "%.2f" % x for x in os.getloadavg()), flush=True)
    sys.exit(0 if chaos.ok() else 1)


if __name__ == "__main__":
    main()
