#!/usr/bin/python3
"""bench_replica.py -- heavy analyst queries on a streaming replica against the ingest rate
(issue 15, item 5). One command:

    PANTAU_BUILD_DIR=build /usr/bin/python3 tests/bench/scale/bench_replica.py \\
        [--rounds 3] [--seconds 20] [--devices 500] [--analysts 4] [--history 2000000]

Sets up, on this machine: a PostgreSQL 15 primary (deploy/postgresql/primary.conf, fsync on)
with pantau's schema and a history of --history flood readings (ledger and facts rows, the last
30 days) for the analysts to scan; its streaming replica made by pg_basebackup -R
(deploy/postgresql/replica.conf: hot_standby, hot_standby_feedback on,
max_standby_streaming_delay 30s; tests/harness/replica_support.py); mosquitto; one real
pantau-collector (the shipped defaults) and bench_loadgen (tests/bench/collector/: --devices
MQTT 5 connections, each reading held until the collector's acknowledgement covers it, as a
device does), publishing as fast as the acknowledgements allow.

Each round runs these conditions one after the other, in an order rotated per round (the
machine is shared: noise hits all alike), each --seconds of ingest:
  none      ingest alone;
  replica   --analysts connections (an account in pantau_analyst) run heavy queries in a loop
            on the replica (full scans and aggregations over flood_reading and reading_ledger);
  primary   the same queries on the primary (the contrast);
each in two layouts of the two CPUs:
  pinned    the primary's side (its PostgreSQL, the collector, the broker, the load generator)
            on CPU 0, the replica (replay, and the analysts' backends it forks) on CPU 1: the
            stand-in for "the replica has a machine of its own" (memory, caches and the disk
            are still shared);
  shared    everything on both CPUs: a replica on the same machine.
With --rate R the devices publish R readings a second in total (a city's load, not the peak):
then the question is whether ingest keeps that rate and its latency.
Ingest rate: the collector's readings_stored_total over the window (the first 3 s left out);
p99 publish-to-acknowledgement from the load generator; the replica's lag (its own functions,
as pantau-console reports it) at most over the window; analyst queries done and cancelled;
CPU seconds per second of the primary's and the replica's PostgreSQL (ended backends and
parallel workers included), of the primary's side (its PostgreSQL, collector, broker, load
generator), and of everything else on the primary's CPU (pinned: CPU 0; shared: the machine
less the replica), other users' work included (the machine is shared). Then per condition
the median of the rounds and the median of the per-round ratios to `none` of its layout. Not a test.
Figures and the command: docs/scaling.md, "Beyond one machine: three collectors and a replica".
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "tests", "harness"))
sys.path.insert(0, os.path.join(SOURCE, "tests", "bench", "collector"))

import bench_collector as BC  # noqa: E402
import pantau_harness as H  # noqa: E402
import psycopg2  # noqa: E402
import replica_support as R  # noqa: E402

CONDITIONS = ["none", "replica", "primary"]
LAYOUTS = ["pinned", "shared"]
ANALYST = "analyst_bench"
# what an analyst runs: scans and aggregations over the facts and the ledger (no index helps)
QUERIES = [
    "SELECT station_id, date_trunc('day', ts), avg(level_cm), max(level_cm), count(*)"
    " FROM pantau.flood_reading GROUP BY 1, 2",
    "SELECT device_id, count(*), min(ts), max(ts), count(DISTINCT store_id)"
    " FROM pantau.reading_ledger GROUP BY 1",
    "SELECT percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY level_cm)"
    " FROM pantau.flood_reading",
    "SELECT date_trunc('hour', l.received_at), count(*), avg(f.level_cm)"
    " FROM pantau.reading_ledger l JOIN pantau.flood_reading f"
    " USING (device_id, store_id, seq) GROUP BY 1",
]
LAG_SQL = ("SELECT CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM"
           " pg_last_wal_replay_lsn() THEN 0 ELSE greatest(0, coalesce(extract(epoch FROM"
           " now() - pg_last_xact_replay_timestamp()), 0)) END::float8,"
           " coalesce(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()),"
           " 0)::float8")


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def tree_pids(pg):
    """The postmaster of cluster pg and its children."""
    with open(os.path.join(pg.data, "postmaster.pid")) as f:
        master = int(f.readline())
    pids = [master]
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == master:
                    pids.append(int(pid))
        except (OSError, ValueError):
            continue
    return pids


def reaped_cpu_s(pid):
    """cutime + cstime of a process: the CPU of its children it has reaped (a postmaster's
    backends and parallel workers that ended)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def tree_cpu(pg):
    """CPU seconds of cluster pg: its processes now, and those that ended (reaped by it)."""
    pids = tree_pids(pg)
    total = reaped_cpu_s(pids[0])
    for pid in pids:
        try:
            total += BC.cpu_s(pid)
        except OSError:
            pass
    return total


def cpu_busy():
    """{cpu index: busy seconds} from /proc/stat (user, nice, system, irq, softirq, steal)."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            parts = line.split()
            if parts[0].startswith("cpu") and parts[0] != "cpu":
                v = [int(x) for x in parts[1:9]]
                out[int(parts[0][3:])] = (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / \
                    os.sysconf("SC_CLK_TCK")
    return out


def set_affinity(pids, cpus):
    """Every thread of pids on cpus (a set); processes forked later inherit it."""
    for pid in pids:
        try:
            tids = [int(t) for t in os.listdir("/proc/%d/task" % pid)]
        except OSError:
            continue
        for tid in tids:
            try:
                os.sched_setaffinity(tid, cpus)
            except OSError:
                pass


class Analysts:
    """n connections running QUERIES in a loop on dsn until stopped."""

    def __init__(self, dsn, n):
        self.dsn = dsn
        self.stop_ev = threading.Event()
        self.done = 0
        self.cancelled = 0
        self.errors = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True)
                        for i in range(n)]
        self.ready = threading.Barrier(n + 1)

    def run(self, i):
        conn = psycopg2.connect(self.dsn)
        conn.autocommit = True
        cur = conn.cursor()
        self.ready.wait()
        k = i
        while not self.stop_ev.is_set():
            try:
                cur.execute(QUERIES[k % len(QUERIES)])
                cur.fetchall()
                with self.lock:
                    self.done += 1
            except psycopg2.Error as e:
                with self.lock:
                    if e.pgcode == "40001":      # canceled: conflict with recovery
                        self.cancelled += 1
                    else:
                        self.errors.append(str(e).strip()[:200])
                if conn.closed:
                    break
            k += 1
        conn.close()

    def start(self):
        for t in self.threads:
            t.start()
        self.ready.wait()
        return self

    def stop(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join(600)


class Bench:
    def __init__(self, args):
        self.args = args
        self.root = tempfile.mkdtemp(prefix="pantau-bench-replica-")
        os.chmod(self.root, 0o755)
        self.bin = os.path.join(self.root, "bin")
        BC.build_tools(self.bin)
        self.seed = 5000
        t0 = time.monotonic()
        self.primary = R.PrimaryCluster(os.path.join(self.root, "primary")).start()
        H.on_exit(lambda: self.primary.stop("immediate"))
        self.dsn = self.primary.create_database("bench")
        H.apply_schema(self.dsn)
        self.db = psycopg2.connect(self.dsn)
        self.db.autocommit = True
        self.register()
        self.history()
        self.sql("CREATE ROLE %s LOGIN" % ANALYST)
        self.sql("GRANT pantau_analyst TO %s" % ANALYST)
        self.sql("VACUUM ANALYZE")
        size = self.scalar("SELECT pg_size_pretty(pg_database_size('bench'))")
        print("primary: schema, %d devices, %d rows of history (%s) in %.0f s" % (
            args.devices, args.history, size, time.monotonic() - t0), flush=True)
        self.replica = R.ReplicaCluster(os.path.join(self.root, "replica"), self.primary)
        self.replica.start()
        H.wait_until(self.replica.streaming, 60, "the replica to stream")
        print("replica: pg_basebackup -R in %.1f s, streaming" % self.replica.basebackup_s,
              flush=True)
        self.mq = H.Mosquitto(os.path.join(self.root, "mq"),
                              extra="max_queued_messages 1000000\nmax_inflight_messages 0\n"
                                    "max_keepalive 600\n").start()
        self.collector, self.mport = self.start_collector()

    def sql(self, q, *a):
        with self.db.cursor() as cur:
            cur.execute(q, a or None)

    def scalar(self, q, *a):
        with self.db.cursor() as cur:
            cur.execute(q, a or None)
            return cur.fetchone()[0]

    def register(self):
        ids = ["%s%04d" % (self.args.prefix, i) for i in range(self.args.devices)]
        with self.db.cursor() as cur:
            cur.executemany("INSERT INTO pantau.device (device_id, kind, enabled)"
                            " VALUES (%s, 'flood_gateway', true)", [(d,) for d in ids])
            cur.executemany("INSERT INTO pantau.station (station_id, kind)"
                            " VALUES (%s, 'flood_gauge')", [("st-" + d,) for d in ids])
            cur.executemany("INSERT INTO pantau.device_station (device_id, station_id, valid)"
                            " VALUES (%s, %s, tstzrange('2000-01-01', NULL))",
                            [(d, "st-" + d) for d in ids])

    def history(self):
        """--history readings of the devices over the last 30 days, as stored rows."""
        n = self.args.history
        step = 30 * 86400.0 / max(n, 1)
        common = ("FROM generate_series(1, %d) g, LATERAL (SELECT '%s' || lpad((g %% %d)::text,"
                  " 4, '0') AS dev, now() - interval '30 days' + g * %f * interval '1 second'"
                  " AS ts) x" % (n, self.args.prefix, self.args.devices, step))
        self.sql("INSERT INTO pantau.reading_ledger (device_id, store_id, seq, stream, ts,"
                 " clock_synced, replay, content_sha256, received_at, stored_at)"
                 " SELECT dev, '00000000-0000-4000-8000-000000000001', g, 'flood', ts, true,"
                 " false, sha256(g::text::bytea), ts, ts " + common)
        self.sql("INSERT INTO pantau.flood_reading (device_id, store_id, seq, station_id, ts,"
                 " level_cm, battery_v) SELECT dev, '00000000-0000-4000-8000-000000000001', g,"
                 " 'st-' || dev, ts, 100 + 80 * sin(g / 5000.0), 12.6 " + common)

    def start_collector(self):
        mport = H.free_port()
        with open(os.path.join(self.root, "db.pass"), "w") as f:
            f.write("unused\n")
        settings = {"collector_id": "bench", "mqtt_host": "127.0.0.1",
                    "mqtt_port": self.mq.port, "db_conninfo": self.dsn,
                    "db_password_file": os.path.join(self.root, "db.pass"),
                    "metrics_port": mport, "log_level": "notice"}
        path = os.path.join(self.root, "collector.conf")
        with open(path, "w") as f:
            for k, v in settings.items():
                f.write("%s %s\n" % (k, v))
        log = open(os.path.join(self.root, "collector.log"), "ab")
        proc = subprocess.Popen(H._dying_with_us([H.binary("collector", "pantau-collector"),
                                                  "-c", path]), stdout=log, stderr=log)
        log.close()
        H.wait_until(lambda: self.up(mport), 30, "collector up")
        return proc, mport

    def metric(self, name):
        text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.mport,
                                      timeout=5).read()
        for line in text.decode().splitlines():
            if line.startswith("pantau_collector_%s " % name):
                return float(line.split()[1])
        return 0.0

    def up(self, mport):
        self.mport = mport
        try:
            return self.metric("db_up") == 1 and self.metric("mqtt_connected") == 1
        except OSError:
            return False

    def side_cpu(self, gen):
        """CPU seconds of the collector, the broker and the load generator now."""
        total = 0.0
        for pid in (self.collector.pid, self.mq.proc.pid, gen.proc.pid):
            try:
                total += BC.cpu_s(pid)
            except OSError:
                pass
        return total

    def lag(self):
        return self.replica.query("bench", LAG_SQL)[0]

    def layout(self, name):
        """pinned: the primary's side (PostgreSQL, collector, broker, load generator) on CPU 0,
        the replica (replay and the backends it forks) on CPU 1; shared: all on both."""
        both = set(range(os.cpu_count()))
        side = {0} if name == "pinned" else both
        set_affinity(tree_pids(self.primary) + [self.collector.pid, self.mq.proc.pid], side)
        set_affinity(tree_pids(self.replica), {1} if name == "pinned" else both)
        return side

    def condition(self, layout, name):
        """One window of ingest under condition name in layout; returns its figures."""
        a = self.args
        self.replica.wait_caught_up(120)
        analysts = None
        side = self.layout(layout)
        if name != "none":
            pg = self.primary if name == "primary" else self.replica
            analysts = Analysts(pg.dsn("bench", ANALYST), a.analysts).start()
            time.sleep(2)
        lagmax = [0.0, 0.0]
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                try:
                    s, b = self.lag()
                    lagmax[0] = max(lagmax[0], s)
                    lagmax[1] = max(lagmax[1], b)
                except psycopg2.Error:
                    pass
                time.sleep(0.5)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        self.seed += 1
        gen = BC.Child([os.path.join(self.bin, "bench_loadgen"), "--port", str(self.mq.port),
                        "--devices", str(a.devices), "--prefix", a.prefix,
                        "--window", str(a.window), "--mode", "ack",
                        "--store-seed", str(self.seed), "--per-device", "1000000000",
                        "--duration", str(a.seconds)] +
                       (["--rate", "%.0f" % a.rate] if a.rate else []))
        set_affinity([gen.proc.pid], side)
        time.sleep(3)
        s0, t0 = self.metric("readings_stored_total"), time.monotonic()
        p0, r0 = tree_cpu(self.primary), tree_cpu(self.replica)
        own0 = self.side_cpu(gen)
        b0 = cpu_busy()
        q0 = analysts.done if analysts else 0
        time.sleep(max(a.seconds - 3.5, 1))
        s1, t1 = self.metric("readings_stored_total"), time.monotonic()
        p1, r1 = tree_cpu(self.primary), tree_cpu(self.replica)
        own1 = self.side_cpu(gen)
        b1 = cpu_busy()
        q1 = analysts.done if analysts else 0
        gen.wait(600)
        g = BC.keyvals(gen.out)
        stop.set()
        sampler.join()
        if analysts:
            analysts.stop()
        el = t1 - t0
        out = {"rate": (s1 - s0) / el, "p99_ms": g.get("p99_ms", float("nan")),
               "lag_s": lagmax[0], "lag_kib": lagmax[1] / 1024,
               "queries_s": (q1 - q0) / el,
               "cancelled": analysts.cancelled if analysts else 0,
               "errors": len(analysts.errors) if analysts else 0,
               "pg_cpu": (p1 - p0) / el, "replica_cpu": (r1 - r0) / el, "load": loadavg(),
               # the primary's side: all its processes; the others: what else ran on its CPU
               # (pinned: CPU 0) or on the machine (shared), other users' work included
               "side_cpu": (own1 - own0 + p1 - p0) / el,
               "others_cpu": ((b1[0] - b0[0]) if layout == "pinned" else
                              sum(b1.values()) - sum(b0.values())) / el
               - (own1 - own0 + p1 - p0) / el
               - (0 if layout == "pinned" else (r1 - r0) / el)}
        if analysts and analysts.errors:
            print("  analyst errors: %s" % analysts.errors[:3], flush=True)
        return out

    def close(self):
        self.collector.terminate()
        self.collector.wait(60)
        self.mq.stop()
        self.replica.stop("immediate")
        self.primary.stop("immediate")
        if not os.environ.get("PANTAU_KEEP"):
            shutil.rmtree(self.root, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=20, help="ingest per condition")
    ap.add_argument("--devices", type=int, default=500)
    ap.add_argument("--prefix", default="gw-bench-")
    ap.add_argument("--window", type=int, default=16, help="readings in flight per device")
    ap.add_argument("--analysts", type=int, default=4, help="parallel analyst connections")
    ap.add_argument("--history", type=int, default=2000000, help="stored readings to scan")
    ap.add_argument("--rate", type=float, default=0,
                    help="readings a second in total (0: as fast as acknowledgements allow)")
    ap.add_argument("--layouts", default=",".join(LAYOUTS), help="pinned,shared")
    args = ap.parse_args()
    if os.cpu_count() < 2 and "pinned" in args.layouts:
        ap.error("the pinned layout needs two CPUs")
    conds = [(lay, c) for lay in args.layouts.split(",") for c in CONDITIONS]
    print("bench_replica: %s, %d cores, load %s; ingest %s" % (
        time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), os.cpu_count(), loadavg(),
        "at %.0f/s" % args.rate if args.rate else "at its peak"), flush=True)
    b = Bench(args)
    res = {c: [] for c in conds}
    try:
        for r in range(args.rounds):
            order = conds[r % len(conds):] + conds[:r % len(conds)]
            for c in order:
                x = b.condition(*c)
                res[c].append(x)
                print("round %d %-15s ingest %7.0f/s  ack p99 %6.0f ms  lag max %5.2f s"
                      " %8.0f KiB  analyst queries %5.2f/s cancelled %d errors %d  CPU primary"
                      " %.2f replica %.2f side %.2f others %.2f  load %s" % (
                          r + 1, "/".join(c), x["rate"], x["p99_ms"], x["lag_s"], x["lag_kib"],
                          x["queries_s"], x["cancelled"], x["errors"], x["pg_cpu"],
                          x["replica_cpu"], x["side_cpu"], x["others_cpu"], x["load"]),
                      flush=True)
    finally:
        b.close()
    print("\nmedians over %d rounds (ratio: median of the per-round ratios to none):" %
          args.rounds)
    for c in conds:
        xs = res[c]
        line = "  %-15s ingest %7.0f/s" % ("/".join(c), statistics.median(x["rate"] for x in xs))
        base = res.get((c[0], "none"))
        if base and c[1] != "none":
            ratios = [x["rate"] / n["rate"] for x, n in zip(xs, base)]
            line += " (x%.3f)" % statistics.median(ratios)
        else:
            line += "         "
        line += ("  ack p99 %5.0f ms  lag max %5.2f s  analyst queries %5.2f/s  cancelled %d"
                 "  CPU primary %.2f replica %.2f side %.2f others %.2f"
                 "  readings per side CPU s %.0f" % (
                     statistics.median(x["p99_ms"] for x in xs),
                     max(x["lag_s"] for x in xs),
                     statistics.median(x["queries_s"] for x in xs),
                     sum(x["cancelled"] for x in xs),
                     statistics.median(x["pg_cpu"] for x in xs),
                     statistics.median(x["replica_cpu"] for x in xs),
                     statistics.median(x["side_cpu"] for x in xs),
                     statistics.median(x["others_cpu"] for x in xs),
                     statistics.median(x["rate"] / max(x["side_cpu"], 1e-6) for x in xs)))
        print(line)
    print("load at the end: %s" % loadavg())


if __name__ == "__main__":
    main()
