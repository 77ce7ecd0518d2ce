#!/usr/bin/python3
"""bench_collector.py -- the collector benchmark of issue 3 ("Performance"), side by side in one
run on this machine: load generator, mosquitto and PostgreSQL (fsync on) all local, 1,000
simulated devices (1,000 MQTT 5 connections) publishing realistic flood readings (about 200
bytes of JSON) at QoS 1.

    PANTAU_BUILD_DIR=build /usr/bin/python3 tests/bench/collector/bench_collector.py \\
        [--rounds 3] [--devices 1000] [--per-device 60] [--soak-s 600]

Each round runs, one after the other on the same broker (so that the machine's noise hits all
alike; the machine is shared), in this order:
  ceiling-mosq  the raw broker ceiling: the same load to a subscriber that only counts, with
                libmosquitto's threaded loop set up as the collector's (bench_sub_mosq.c);
  ceiling-paho  the same with paho MQTTAsync (bench_sub_paho.c): issue 3 item 9;
  collector     pantau-collector, end to end: the load generator holds each reading until the
                collector's acknowledgement covers it (after COMMIT), like a device;
  raw-copy      (issue 15) no MQTT: the same readings' facts rows COPYed into a table like
                pantau.flood_reading, 2,000 a transaction: PostgreSQL CPU per row; raw-copy-bare
                the same without indexes; raw-copy-ledger with a ledger row each as well;
  collector-ref, collector-notrig, collector-tuned  (with --ref-collector / --ref-sql, --notrig,
                --tuned) the reference collector or schema, the flood alert trigger off, other
                PostgreSQL settings;
  bridge        ../shared/peers/py_bridge.py as it is (only --topic, --device-level, --fields
                set, and where the servers are), commit per message: rows per second from its
                own received_at column.
Then, once: publish-to-commit latency at half the collector's median peak rate, and with
--soak-s a long run at that rate with the collector's resident memory sampled every 10 s.

The C tools (bench_loadgen.c, bench_sub_mosq.c, bench_sub_paho.c) are compiled by this script
with the project's warning flags. Prints per-round figures, then medians and ratios. Not a test
(ctest does not run it). Figures and the command: docs/benchmarks.md, "Collector".
"""
import argparse
import io
import os
import re
import resource
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
# ../shared/peers next to the checkout (a git worktree sits one level deeper: PANTAU_PEERS_DIR)
PEERS = os.environ.get("PANTAU_PEERS_DIR") or os.path.abspath(
    os.path.join(SOURCE, "..", "shared", "peers"))
sys.path.insert(0, os.path.join(SOURCE, "tests", "harness"))

import pantau_harness as H  # noqa: E402
import psycopg2  # noqa: E402

CFLAGS = ["-std=c11", "-D_GNU_SOURCE", "-O2", "-Wall", "-Wextra", "-Werror", "-Wshadow",
          "-Wstrict-prototypes", "-Wmissing-prototypes", "-Wformat=2", "-Wvla"]
TOOLS = {"bench_loadgen": ["-lmosquitto", "-lcjson"],
         "bench_sub_mosq": ["-lmosquitto", "-lpthread"],
         "bench_sub_paho": ["-lpaho-mqtt3a", "-lpthread"]}


def build_tools(bindir):
    os.makedirs(bindir, exist_ok=True)
    for name, libs in TOOLS.items():
        subprocess.run(["cc"] + CFLAGS + ["-o", os.path.join(bindir, name),
                                          os.path.join(HERE, name + ".c")] + libs, check=True)


def cpu_s(pid, reaped=False):
    """utime + stime of a running process, seconds; with reaped, plus cutime + cstime (its
    children that ended and were waited for)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    if reaped:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def child_cpu(fn):
    """Runs fn (which reaps exactly one child) and returns that child's CPU seconds."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    fn()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime


def keyvals(text):
    return {k: float(v) for k, v in re.findall(r"^(\w+)=([-\d.]+)$", text, re.M)}



def sql_of(spec):
    """The SQL of --new-sql / --ref-sql: a file, or FILE#FUNCTION for one function's CREATE
    statement (up to its closing `$$;`) out of a migration. Raises ValueError if not there."""
    path, _, function = spec.partition("#")
    with open(path) as f:
        text = f.read()
    if not function:
        return text
    m = re.search(r"^CREATE (?:OR REPLACE )?FUNCTION %s\(.*?^\$\$;$" % re.escape(function),
                  text, re.S | re.M)
    if not m:
        raise ValueError("%s: no CREATE FUNCTION %s ... $$; in it" % (path, function))
    return re.sub(r"^CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", m.group(0))


class Child:
    """A child process with its output kept."""

    def __init__(self, argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=None):
        self.proc = subprocess.Popen(argv, stdout=stdout, stderr=stderr, env=env)
        self.out = ""
        self.err = ""

    def wait(self, timeout):
        out, err = self.proc.communicate(timeout=timeout)
        self.out = out.decode() if out else ""
        self.err = err.decode(errors="replace") if err else ""
        return self.proc.returncode


class Bench:
    def __init__(self, args):
        self.args = args
        self.root = tempfile.mkdtemp(prefix="pantau-bench-")
        os.chmod(self.root, 0o755)
        self.bin = os.path.join(self.root, "bin")
        build_tools(self.bin)
        self.collector_bin = H.binary("collector", "pantau-collector")
        self.pg = H.PgCluster(os.path.join(self.root, "pg")).start()
        self.pg_settings()
        self.dsn = self.pg.create_database("bench")
        H.apply_schema(self.dsn)
        if args.pg_statements:
            self.pg.query("bench", "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        # raw-copy's tables: flood_reading's columns and CHECKs, its partitioning by ts (one
        # partition) and its two indexes (raw-copy); the same without indexes (raw-copy-bare)
        self.pg.query("bench", "CREATE SCHEMA bench_raw;"
                      " CREATE TABLE bench_raw.flood_copy (LIKE pantau.flood_reading"
                      " INCLUDING CONSTRAINTS INCLUDING DEFAULTS) PARTITION BY RANGE (ts);"
                      " CREATE TABLE bench_raw.flood_copy_all PARTITION OF bench_raw.flood_copy"
                      " FOR VALUES FROM ('2000-01-01') TO ('2100-01-01');"
                      " CREATE INDEX ON bench_raw.flood_copy (station_id, ts DESC);"
                      " CREATE INDEX ON bench_raw.flood_copy (device_id, store_id, seq);"
                      " CREATE TABLE bench_raw.flood_bare (LIKE pantau.flood_reading"
                      " INCLUDING CONSTRAINTS INCLUDING DEFAULTS) PARTITION BY RANGE (ts);"
                      " CREATE TABLE bench_raw.flood_bare_all PARTITION OF bench_raw.flood_bare"
                      " FOR VALUES FROM ('2000-01-01') TO ('2100-01-01');"
                      " CREATE TABLE bench_raw.ledger_copy (LIKE pantau.reading_ledger"
                      " INCLUDING ALL)")
        self.bridge_dsn = self.pg.create_database("bridge")
        with psycopg2.connect(self.bridge_dsn) as c, c.cursor() as cur:
            with open(os.path.join(PEERS, "py_bridge_schema.sql")) as f:
                cur.execute(f.read())
        self.mq = H.Mosquitto(os.path.join(self.root, "mq"),
                              extra="max_queued_messages 1000000\nmax_inflight_messages 0\n"
                                    "max_keepalive 600\n").start()
        self.port = self.mq.port
        self.db = psycopg2.connect(self.dsn)
        self.db.autocommit = True
        ids = ["%s%04d" % (args.prefix, i) for i in range(args.devices)]
        with self.db.cursor() as cur:
            cur.executemany("INSERT INTO pantau.device (device_id, kind, enabled)"
                            " VALUES (%s, 'flood_gateway', true)", [(d,) for d in ids])
            cur.executemany("INSERT INTO pantau.station (station_id, kind)"
                            " VALUES (%s, 'flood_gauge')", [("st-" + d,) for d in ids])
            cur.executemany("INSERT INTO pantau.device_station (device_id, station_id, valid)"
                            " VALUES (%s, %s, tstzrange('2000-01-01', NULL))",
                            [(d, "st-" + d) for d in ids])
        with open(os.path.join(self.root, "db.pass"), "w") as f:
            f.write("unused\n")
        self.seed = 1000
        self.bridge_seq = 1

    # ---- pieces --------------------------------------------------------------------------

    def loadgen(self, mode, per_device=None, rate=None, duration=None, first_seq=1,
                window=None):
        self.seed += 1
        argv = [os.path.join(self.bin, "bench_loadgen"), "--port", str(self.port),
                "--devices", str(self.args.devices), "--prefix", self.args.prefix,
                "--window", str(window or self.args.window), "--mode", mode,
                "--store-seed", str(self.seed), "--first-seq", str(first_seq),
                "--resend-ms", str(self.args.resend_ms)]
        if per_device is not None:
            argv += ["--per-device", str(per_device)]
        if rate is not None:
            argv += ["--rate", "%.0f" % rate]
        if duration is not None:
            argv += ["--duration", str(duration)]
        return Child(argv)

    def ceiling(self, lib):
        n = self.args.devices * self.args.per_device
        sub = Child([os.path.join(self.bin, "bench_sub_" + lib), str(self.port), str(n),
                     "bench-" + lib])
        H.wait_until(lambda: sub.proc.poll() is not None or self._ready(sub), 20,
                     "subscriber ready")
        broker0 = cpu_s(self.mq.proc.pid)
        sub0 = cpu_s(sub.proc.pid)
        gen = self.loadgen("puback", per_device=self.args.per_device)
        gen_cpu = child_cpu(lambda: gen.wait(600))
        # the subscriber's CPU from its rusage once reaped (the load generator is reaped
        # already, nothing else ends in between)
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        rc = sub.wait(120)
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        sub_cpu = (ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime) - sub0
        broker_cpu = cpu_s(self.mq.proc.pid) - broker0
        kv = keyvals(sub.out)
        g = keyvals(gen.out)
        if rc != 0:
            raise RuntimeError("subscriber %s: %s %s" % (lib, sub.out, sub.err[-500:]))
        return {"rate": kv["rate"], "received": kv["received"], "span_s": kv["first_to_last_s"],
                "broker_cpu": broker_cpu / kv["first_to_last_s"],
                "sub_cpu": sub_cpu / kv["first_to_last_s"], "gen_rate": g.get("rate"),
                "gen_cpu": gen_cpu / g["elapsed_s"], "sub_us_per_msg": 1e6 * sub_cpu / kv["received"],
                "broker_us": 1e6 * broker_cpu / kv["received"],
                "gen_us": 1e6 * gen_cpu / kv["received"]}

    @staticmethod
    def _ready(child):
        line = child.proc.stdout.readline()
        return line.strip() == b"ready"

    def metric(self, port, name):
        text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5).read()
        for line in text.decode().splitlines():
            if line.startswith("pantau_collector_%s " % name):
                return float(line.split()[1])
        return 0.0

    def start_collector(self, binary=None, **conf):
        mport = H.free_port()
        settings = {"collector_id": "bench", "mqtt_host": "127.0.0.1", "mqtt_port": self.port,
                    "db_conninfo": self.dsn, "db_password_file": self.root + "/db.pass",
                    "metrics_port": mport, "log_level": "notice"}
        settings.update(conf)
        path = os.path.join(self.root, "collector.conf")
        with open(path, "w") as f:
            for k, v in settings.items():
                f.write("%s %s\n" % (k, v))
        log = open(os.path.join(self.root, "collector.log"), "ab")
        proc = subprocess.Popen([binary or self.collector_bin, "-c", path], stdout=log,
                                stderr=log)
        log.close()
        H.wait_until(lambda: self._up(mport), 30, "collector up")
        return proc, mport

    def _up(self, mport):
        try:
            return self.metric(mport, "db_up") == 1 and self.metric(mport, "mqtt_connected") == 1
        except OSError:
            return False

    def stop_collector(self, proc):
        proc.terminate()
        proc.wait(60)

    def run_sql_file(self, path):
        """--new-sql / --ref-sql: SQL run on the bench database before a round of that kind
        (e.g. a trigger function of the schema before and after a migration), so that both
        versions run interleaved in one cluster). PATH#FUNCTION runs only the CREATE [OR
        REPLACE] FUNCTION FUNCTION statement of PATH (a migration: schema/026_...sql#
        pantau_alert.queue_flood_insert), so that no copy of a migration's function is kept."""
        if path:
            self.pg.query("bench", sql_of(path))

    def collector_notrig(self):
        """The new collector with the flood table's alert trigger (013, 019, 026, 031)
        disabled for the round: what the alert queue costs a reading at ingest."""
        self.run_sql_file(self.args.new_sql)
        self.pg.query("bench", "ALTER TABLE pantau.flood_reading DISABLE TRIGGER alert_queue")
        try:
            return self.collector()
        finally:
            self.pg.query("bench", "ALTER TABLE pantau.flood_reading ENABLE TRIGGER alert_queue")

    def collector(self, binary=None, sql=None):
        self.run_sql_file(sql)
        proc, mport = self.start_collector(binary)
        peak = [0]
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                peak[0] = max(peak[0], rss_kib(proc.pid))
                time.sleep(0.1)
        t = threading.Thread(target=sample, daemon=True)
        t.start()
        stored0 = self.metric(mport, "readings_stored_total")
        acks0 = self.metric(mport, "acks_sent_total")
        bsum0 = self.metric(mport, "batch_seconds_sum")
        pg0 = self.pg_cpu()
        broker0, coll0 = cpu_s(self.mq.proc.pid), cpu_s(proc.pid)
        gen = self.loadgen("ack", per_device=self.args.per_device)
        rcs = []
        gen_cpu = child_cpu(lambda: rcs.append(gen.wait(900)))
        rc = rcs[0]
        g = keyvals(gen.out)
        broker_cpu, coll_cpu = cpu_s(self.mq.proc.pid) - broker0, cpu_s(proc.pid) - coll0
        stored = self.metric(mport, "readings_stored_total") - stored0
        acks = self.metric(mport, "acks_sent_total") - acks0
        batches = self.metric(mport, "batches_total")
        bsum = self.metric(mport, "batch_seconds_sum") - bsum0
        pg_cpu = self.pg_cpu() - pg0
        stop.set()
        t.join()
        self.stop_collector(proc)
        if rc != 0:
            raise RuntimeError("loadgen (ack): %s %s" % (gen.out, gen.err[-500:]))
        el = g["elapsed_s"]
        return {"rate": g["rate"], "stored": stored, "acks_per_reading": acks / max(stored, 1),
                "ack_msgs_seen": g["ack_msgs"], "resends": g["resends"], "rss_mib": peak[0] / 1024,
                "broker_cpu": broker_cpu / el, "collector_cpu": coll_cpu / el,
                "gen_cpu": gen_cpu / el,
                "rows_per_batch": stored / max(batches, 1), "pg_cpu": pg_cpu / el,
                "txn_ms": 1000 * bsum / max(batches, 1),
                "broker_us": 1e6 * broker_cpu / max(stored, 1),
                "collector_us": 1e6 * coll_cpu / max(stored, 1),
                "pg_us": 1e6 * pg_cpu / max(stored, 1), "gen_us": 1e6 * gen_cpu / max(stored, 1)}

    def raw_copy(self, table, ledger=None):
        """The PostgreSQL floor of issue 15's first goal: the same readings (the facts columns
        of pantau.flood_reading, 1,000 devices x per-device rows) COPYed into table, 2,000 rows
        (the collector's batch_rows) per transaction, nothing else: no ledger, no staging, no
        trigger. PostgreSQL CPU (this cluster's processes) per row; the COPY text is made in
        Python before the clock starts. With ledger: each transaction also COPYs the readings'
        ledger rows into that table (reading_ledger's columns, keys and indexes): the floor
        of any design that writes a ledger row and a facts row per reading."""
        self.seed += 1
        ts = time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime())
        rows = []
        lrows = []
        for i in range(self.args.devices):
            dev = "%s%04d" % (self.args.prefix, i)
            store = "%08x-0000-4000-8000-%012x" % (self.seed, i)
            for q in range(1, self.args.per_device + 1):
                rows.append("%s\t%s\t%d\tst-%s\t%s\t%.1f\t\\N\t\\N\t\\N\t%.1f\t0.4\t12.61\n"
                            % (dev, store, q, dev, ts, 300.0 + q % 500 + 0.5, q % 40 - 20.0))
                lrows.append("%s\t%s\t%d\tflood\t%s\t\\N\tt\tf\t3\t%d\t\\\\x%064x\tstored"
                             "\t%s\t%s\n" % (dev, store, q, ts, 86400000 + q * 1000,
                                               (self.seed << 40) + i * 100000 + q, ts, ts))
        # readings arrive interleaved across devices, as the collector's batches hold them
        rows.sort(key=lambda r: int(r.split("\t")[2]))
        lrows.sort(key=lambda r: int(r.split("\t")[2]))
        batches = ["".join(rows[i:i + 2000]) for i in range(0, len(rows), 2000)]
        lbatches = ["".join(lrows[i:i + 2000]) for i in range(0, len(lrows), 2000)]
        conn = psycopg2.connect(self.dsn)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
            conn.commit()
            pg0 = self.pg_cpu()
            t0 = time.monotonic()
            for k, text in enumerate(batches):
                with conn.cursor() as cur:
                    if ledger:
                        cur.copy_expert("COPY %s FROM STDIN" % ledger, io.StringIO(lbatches[k]))
                    cur.copy_expert("COPY %s FROM STDIN" % table, io.StringIO(text))
                conn.commit()
            el = time.monotonic() - t0
            pg = self.pg_cpu() - pg0
        finally:
            conn.close()
        return {"rate": len(rows) / el, "rows": len(rows), "pg_cpu": pg / el,
                "pg_us": 1e6 * pg / len(rows)}

    def pg_cpu(self):
        """CPU seconds of this cluster's processes only: its postmaster (with the CPU of its
        children that have ended: an autovacuum worker that ends between two samples keeps
        its share) and the processes whose parent it is (other helpers' clusters on the
        machine are not counted)."""
        with open(os.path.join(self.pg.data, "postmaster.pid")) as f:
            master = int(f.readline())
        total = cpu_s(master, reaped=True)
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % pid) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                if ppid == master:
                    total += cpu_s(int(pid))
            except (OSError, ValueError):
                continue
        return total

    def pg_settings(self):
        """--pg-setting NAME=VALUE (repeatable) and --pg-statements: ALTER SYSTEM, then a
        restart (the harness's -c options, shared_buffers among them, still win)."""
        sets = list(self.args.pg_setting)
        if self.args.pg_statements:
            sets += ["shared_preload_libraries=pg_stat_statements"]
        if not sets:
            return
        for kv in sets:
            name, value = kv.split("=", 1)
            self.pg.query("postgres", "ALTER SYSTEM SET %s = '%s'" % (name, value))
        self.pg.restart()
        if self.args.pg_statements:
            self.pg.query("postgres", "ALTER SYSTEM SET pg_stat_statements.track_planning = on")
            self.pg.query("postgres", "SELECT pg_reload_conf()")
        print("PostgreSQL settings: " + ", ".join(sets), flush=True)

    def tuned(self, on):
        """--tuned NAME=VALUE (repeatable): settings PostgreSQL takes on reload, set for the
        collector-tuned rounds only (ALTER SYSTEM, reload) and reset after them, so that the
        same cluster runs both in one run."""
        for kv in self.args.tuned:
            name, value = kv.split("=", 1)
            if on:
                self.pg.query("postgres", "ALTER SYSTEM SET %s = '%s'" % (name, value))
            else:
                self.pg.query("postgres", "ALTER SYSTEM RESET %s" % name)
        self.pg.query("postgres", "SELECT pg_reload_conf()")
        self.pg.query("postgres", "SELECT pg_sleep(0.2)")

    def collector_tuned(self):
        self.tuned(True)
        try:
            return self.collector()
        finally:
            self.tuned(False)

    def statements(self, top=15):
        """pg_stat_statements since the last reset: the statements by total time."""
        with self.db.cursor() as cur:
            cur.execute("SELECT calls, total_exec_time, total_plan_time, rows,"
                        " shared_blks_hit + local_blks_hit, shared_blks_dirtied"
                        " + local_blks_dirtied, wal_bytes, left(regexp_replace(query, '\\s+',"
                        " ' ', 'g'), 90) FROM pg_stat_statements ORDER BY total_exec_time"
                        " + total_plan_time DESC LIMIT %s", (top,))
            rows = cur.fetchall()
        print("  calls  exec_ms  plan_ms    rows   blks_hit dirtied   wal_kB  statement")
        for r in rows:
            print("  %5d %8.0f %8.0f %7d %10d %7d %8.0f  %s" % (
                r[0], r[1], r[2], r[3], r[4], r[5], float(r[6]) / 1024, r[7]))

    def statements_reset(self):
        with self.db.cursor() as cur:
            cur.execute("SELECT pg_stat_statements_reset()")

    def bridge(self):
        n = self.args.devices * self.args.bridge_per_device
        first = self.bridge_seq
        self.bridge_seq += self.args.bridge_per_device
        with psycopg2.connect(self.bridge_dsn) as c, c.cursor() as cur:
            cur.execute("SELECT count(*) FROM flood_reading")
            before = cur.fetchone()[0]
        errpath = os.path.join(self.root, "bridge.stderr")
        err = open(errpath, "wb")
        proc = subprocess.Popen([sys.executable, os.path.join(PEERS, "py_bridge.py"),
                                 "--port", str(self.port), "--dsn", self.bridge_dsn,
                                 "--topic", "pantau/v1/+/flood", "--device-level", "2",
                                 "--fields", "seq,ts,level_cm,battery_v"],
                                stdout=subprocess.DEVNULL, stderr=err)
        err.close()
        H.wait_until(lambda: "subscribed" in open(errpath).read(), 30, "py_bridge subscribed")
        gen = self.loadgen("puback", per_device=self.args.bridge_per_device, first_seq=first)
        gen.wait(600)

        def count():
            with psycopg2.connect(self.bridge_dsn) as c, c.cursor() as cur:
                cur.execute("SELECT count(*) FROM flood_reading")
                return cur.fetchone()[0] - before
        H.wait_until(lambda: count() >= n, 900, "py_bridge to store %d rows" % n, interval=1)
        proc.terminate()
        proc.wait(60)
        with psycopg2.connect(self.bridge_dsn) as c, c.cursor() as cur:
            cur.execute("SELECT count(*), extract(epoch FROM max(received_at) - min(received_at))"
                        " FROM flood_reading WHERE seq >= %s", (first,))
            rows, span = cur.fetchone()
        # its session is persistent (clean_session=False): clear it (a clean connect with its
        # client id), or the broker would queue the next rounds' readings for it
        import paho.mqtt.client as mqtt
        cl = mqtt.Client(client_id="py-bridge", clean_session=True)
        cl.connect("127.0.0.1", self.port)
        cl.loop_start()
        H.wait_until(lambda: cl.is_connected(), 10, "session cleared")
        cl.disconnect()
        cl.loop_stop()
        return {"rate": (rows - 1) / float(span), "rows": rows}

    def batch_p99_s(self, mport):
        """The upper bound of the batch_seconds bucket that holds the 99th percentile."""
        text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport, timeout=5).read()
        buckets = [(float("inf") if le == "+Inf" else float(le), float(n)) for le, n in
                   re.findall(r'batch_seconds_bucket\{le="([^"]+)"\} (\S+)', text.decode())]
        total = buckets[-1][1]
        return next(le for le, n in buckets if n >= 0.99 * total)

    def latency(self, rate, config):
        """config: batch_ms, then optionally "+name=value" collector settings and "+ref" (the
        --ref-collector binary after --ref-sql; else --new-sql runs first): "100ms+ref",
        "100ms+ack_interval_ms=100ms"."""
        parts = config.split("+")
        conf = {"batch_ms": parts[0]}
        binary = None
        sql = self.args.new_sql
        for p in parts[1:]:
            if p == "ref":
                binary = self.args.ref_collector or None
                sql = self.args.ref_sql
            elif p == "refsql":
                sql = self.args.ref_sql
            elif p == "refbin":
                binary = self.args.ref_collector or None
            else:
                k, v = p.split("=", 1)
                conf[k] = v
        self.run_sql_file(sql)
        proc, mport = self.start_collector(binary, **conf)
        t0 = time.time()
        gen = self.loadgen("ack", rate=rate, duration=self.args.latency_s)
        gen.wait(900)   # at the end, what is still in flight is not waited for: rc ignored
        g = keyvals(gen.out)
        bsum = self.metric(mport, "batch_seconds_sum")
        bn = self.metric(mport, "batches_total")
        b99 = self.batch_p99_s(mport)
        self.stop_collector(proc)
        if "p50_ms" not in g:
            raise RuntimeError("loadgen (latency): %s %s" % (gen.out, gen.err[-500:]))
        with self.db.cursor() as cur:
            cur.execute("SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d),"
                        " percentile_cont(0.99) WITHIN GROUP (ORDER BY d), count(*)"
                        " FROM (SELECT extract(epoch FROM stored_at - ts) * 1000 AS d"
                        " FROM pantau.reading_ledger WHERE received_at >= to_timestamp(%s)) x",
                        (t0,))
            db50, db99, n = cur.fetchone()
        return {"rate": g["rate"], "ack_p50": g["p50_ms"], "ack_p99": g["p99_ms"],
                "ack_max": g["max_ms"], "txn_start_p50": db50, "txn_start_p99": db99,
                "n": n, "commit_mean_ms": 1000 * bsum / max(bn, 1), "txn_p99_ms": 1000 * b99}

    def soak(self, rate, seconds):
        proc, mport = self.start_collector()
        curve = []
        t0 = time.monotonic()
        gen = self.loadgen("ack", rate=rate, duration=seconds)
        while gen.proc.poll() is None:
            curve.append((time.monotonic() - t0, rss_kib(proc.pid) / 1024))
            try:
                gen.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        gen.wait(60)   # rc ignored: what is in flight at the end is not waited for
        curve.append((time.monotonic() - t0, rss_kib(proc.pid) / 1024))
        stored = self.metric(mport, "readings_stored_total")
        self.stop_collector(proc)
        return curve, keyvals(gen.out), stored

    def close(self):
        self.mq.stop()
        self.pg.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def med(rows, key):
    return statistics.median(r[key] for r in rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--prefix", default="gw-bench-")
    ap.add_argument("--per-device", type=int, default=60, help="readings per device and run")
    ap.add_argument("--bridge-per-device", type=int, default=10)
    ap.add_argument("--window", type=int, default=32, help="readings in flight per device")
    ap.add_argument("--latency-s", type=int, default=15)
    ap.add_argument("--resend-ms", type=int, default=10000,
                    help="the generator resends a reading unacknowledged this long (as new"
                         " content: a clash; raise it on an overloaded machine)")
    ap.add_argument("--soak-s", type=int, default=0, help="the memory curve run (600: 10 min)")
    ap.add_argument("--skip-bridge", action="store_true")
    ap.add_argument("--only", default="", help="comma-separated: run only these kinds")
    ap.add_argument("--batch-ms", default="100ms,20ms",
                    help="the collector's batch_ms values compared in the latency runs")
    ap.add_argument("--paired", action="store_true",
                    help="with --peak: each latency round at half a peak measured just before")
    ap.add_argument("--ref-collector", default="",
                    help="a second pantau-collector binary (e.g. an older commit's), run as"
                         " round kind collector-ref right after collector")
    ap.add_argument("--ref-sql", default="",
                    help="SQL file (or FILE#FUNCTION: that function's CREATE out of a migration) run"
                         " before each collector-ref round (the reference schema's functions);"
                         " the round runs without --ref-collector too")
    ap.add_argument("--new-sql", default="",
                    help="SQL file or FILE#FUNCTION run before each collector round (undoes"
                         " --ref-sql)")
    ap.add_argument("--notrig", action="store_true",
                    help="a round kind collector-notrig: the flood alert trigger disabled")
    ap.add_argument("--pg-setting", action="append", default=[],
                    help="NAME=VALUE for PostgreSQL (ALTER SYSTEM and restart); repeatable")
    ap.add_argument("--tuned", action="append", default=[],
                    help="NAME=VALUE (reloadable) for an extra round kind collector-tuned;"
                         " repeatable")
    ap.add_argument("--pg-statements", action="store_true",
                    help="load pg_stat_statements and print the collector's statements")
    ap.add_argument("--peak", type=float, default=0,
                    help="skip the rounds: latency (and soak) at half this rate")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))   # 1,000+ sockets per process
    if hard < args.devices + 100:
        sys.exit("RLIMIT_NOFILE %d is too low for %d connections" % (hard, args.devices))
    b = Bench(args)
    res = {"ceiling-mosq": [], "ceiling-paho": [], "raw-copy": [], "raw-copy-bare": [],
           "raw-copy-ledger": [],
           "collector": [], "collector-ref": [], "collector-notrig": [],
           "collector-tuned": [], "bridge": []}
    try:
        print("devices %d, readings per run %d (bridge %d), window %d, rounds %d" % (
            args.devices, args.devices * args.per_device, args.devices * args.bridge_per_device,
            args.window, args.rounds), flush=True)
        for r in range(0 if args.peak else args.rounds):
            for name, fn in (("ceiling-mosq", lambda: b.ceiling("mosq")),
                             ("ceiling-paho", lambda: b.ceiling("paho")),
                             ("raw-copy", lambda: b.raw_copy("bench_raw.flood_copy")),
                             ("raw-copy-bare", lambda: b.raw_copy("bench_raw.flood_bare")),
                             ("raw-copy-ledger", lambda: b.raw_copy("bench_raw.flood_copy",
                                                                    "bench_raw.ledger_copy")),
                             ("collector", lambda: b.collector(sql=args.new_sql)),
                             ("collector-ref", lambda: b.collector(args.ref_collector or None,
                                                                   sql=args.ref_sql)),
                             ("collector-notrig", b.collector_notrig),
                             ("collector-tuned", b.collector_tuned),
                             ("bridge", b.bridge)):
                if (name == "bridge" and args.skip_bridge) or (
                        name == "collector-ref" and not (args.ref_collector or args.ref_sql)) or (
                        name == "collector-notrig" and not args.notrig) or (
                        name == "collector-tuned" and not args.tuned) or (
                        args.only and name not in args.only.split(",")):
                    continue
                if args.pg_statements and name.startswith("collector"):
                    b.statements_reset()
                x = fn()
                res[name].append(x)
                if args.pg_statements and name.startswith("collector"):
                    b.statements()
                print("round %d %-13s %s" % (r + 1, name, " ".join(
                    "%s=%.3g" % (k, v) for k, v in x.items() if v is not None)), flush=True)
        if args.only:
            return
        if args.peak:
            latency_and_soak(b, args, args.peak)
            return
        ceil = med(res["ceiling-mosq"], "rate")
        paho = med(res["ceiling-paho"], "rate")
        coll = med(res["collector"], "rate")
        print("\nmedians over %d interleaved rounds:" % args.rounds)
        print("  raw broker ceiling, libmosquitto counting subscriber: %8.0f msg/s"
              " (broker CPU %.2f, subscriber CPU %.2f cores)" % (
                  ceil, med(res["ceiling-mosq"], "broker_cpu"),
                  med(res["ceiling-mosq"], "sub_cpu")))
        print("  raw broker ceiling, paho MQTTAsync counting subscriber: %8.0f msg/s"
              " (broker CPU %.2f, subscriber CPU %.2f cores)" % (
                  paho, med(res["ceiling-paho"], "broker_cpu"),
                  med(res["ceiling-paho"], "sub_cpu")))
        print("  collector end to end (committed and acknowledged):    %8.0f readings/s"
              " (broker CPU %.2f, collector CPU %.2f cores)" % (
                  coll, med(res["collector"], "broker_cpu"),
                  med(res["collector"], "collector_cpu")))
        c = res["collector"]
        print("  CPU per reading (us): collector %.1f, PostgreSQL %.1f, broker %.1f,"
              " generator %.1f; per relayed message in the ceiling: broker %.1f, subscriber %.1f,"
              " generator %.1f" % (
                  med(c, "collector_us"), med(c, "pg_us"), med(c, "broker_us"), med(c, "gen_us"),
                  med(res["ceiling-mosq"], "broker_us"), med(res["ceiling-mosq"], "sub_us_per_msg"),
                  med(res["ceiling-mosq"], "gen_us")))
        if res["collector-ref"]:
            r = res["collector-ref"]
            print("  reference collector (%s): %8.0f readings/s, ratio %.2f; CPU per reading"
                  " (us): collector %.1f, PostgreSQL %.1f, broker %.1f; new / reference %.2f" % (
                      args.ref_collector, med(r, "rate"), med(r, "rate") / ceil,
                      med(r, "collector_us"), med(r, "pg_us"), med(r, "broker_us"),
                      coll / med(r, "rate")))
        if res["collector-notrig"]:
            r = res["collector-notrig"]
            print("  collector without the flood alert trigger: %8.0f readings/s; CPU per reading"
                  " (us): collector %.1f, PostgreSQL %.1f; the trigger costs PostgreSQL %.1f us"
                  " a reading" % (med(r, "rate"), med(r, "collector_us"), med(r, "pg_us"),
                                  med(c, "pg_us") - med(r, "pg_us")))
        if res["collector-tuned"]:
            r = res["collector-tuned"]
            print("  collector with %s: %8.0f readings/s, ratio %.2f; CPU per reading (us):"
                  " collector %.1f, PostgreSQL %.1f, broker %.1f; tuned / default %.2f" % (
                      ", ".join(args.tuned), med(r, "rate"), med(r, "rate") / ceil,
                      med(r, "collector_us"), med(r, "pg_us"), med(r, "broker_us"),
                      med(r, "rate") / coll))
        if res["raw-copy"]:
            raw, bare = med(res["raw-copy"], "pg_us"), med(res["raw-copy-bare"], "pg_us")
            print("  raw COPY of the same readings' facts rows, 2,000 a transaction: PostgreSQL"
                  " %.1f us a row into a table like flood_reading (its two indexes), %.1f us"
                  " without indexes" % (raw, bare))
            print("  issue 15 goals, ratios of medians in this run:")
            print("    PostgreSQL per stored reading / raw COPY per row: %.2f (goal <= 2;"
                  " against the bare table %.2f)" % (med(c, "pg_us") / raw,
                                                      med(c, "pg_us") / bare))
            led = med(res["raw-copy-ledger"], "pg_us")
            print("    the floor of a ledger row and a facts row per reading (both COPYed, all"
                  " their indexes): %.1f us, %.2f x raw COPY; the collector's PostgreSQL is"
                  " %.2f x that floor" % (led, led / raw, med(c, "pg_us") / led))
            print("    collector per reading / counting subscriber per message: %.2f"
                  " (goal <= 1.0)" % (med(c, "collector_us")
                                      / med(res["ceiling-mosq"], "sub_us_per_msg")))
            if res["collector-ref"]:
                r = res["collector-ref"]
                print("    reference collector: PostgreSQL / raw COPY %.2f, collector /"
                      " subscriber %.2f, rate / ceiling %.2f" % (
                          med(r, "pg_us") / raw,
                          med(r, "collector_us") / med(res["ceiling-mosq"], "sub_us_per_msg"),
                          med(r, "rate") / ceil))
        print("  acknowledgement messages per stored reading:          %8.3f" %
              med(res["collector"], "acks_per_reading"))
        print("  collector peak RSS:                                    %8.1f MiB (max %.1f)" % (
            med(res["collector"], "rss_mib"), max(x["rss_mib"] for x in res["collector"])))
        print("  subscriber CPU per message: libmosquitto %.2f us, paho %.2f us" % (
            med(res["ceiling-mosq"], "sub_us_per_msg"), med(res["ceiling-paho"], "sub_us_per_msg")))
        print("  ratio collector / ceiling (libmosquitto): %.2f;  paho / libmosquitto: %.2f" % (
            coll / ceil, paho / ceil))
        if res["bridge"]:
            br = med(res["bridge"], "rate")
            print("  py_bridge.py (commit per message):                     %8.0f rows/s" % br)
            print("  ratio collector / py_bridge: %.1f" % (coll / br))
        latency_and_soak(b, args, coll)
    finally:
        b.close()


def latency_and_soak(b, args, coll):
    """Publish-to-commit latency at half of coll, rounds interleaved over the batch_ms values
    of --batch-ms, then the soak (--soak-s)."""
    configs = args.batch_ms.split(",")
    runs = {c: [] for c in configs}
    for r in range(args.rounds):
        if args.paired:
            # half of a peak measured just before, in the same conditions (the machine is shared)
            coll = b.collector()["rate"]
            print("latency round %d peak %.0f" % (r + 1, coll), flush=True)
        for bm in configs:
            lat = b.latency(coll / 2, bm)
            runs[bm].append(lat)
            print("latency round %d batch_ms %-6s %s" % (r + 1, bm, " ".join(
                "%s=%.4g" % (k, v) for k, v in lat.items())), flush=True)
    for bm in configs:
        x = runs[bm]
        print("\nlatency at half the peak (%.0f readings/s achieved), batch_ms %s,"
              " ack_interval_ms 200, medians of %d rounds:" % (med(x, "rate"), bm, len(x)))
        print("  publish to transaction start (ledger stored_at - ts):"
              " p50 %.1f ms, p99 %.1f ms" % (med(x, "txn_start_p50"), med(x, "txn_start_p99")))
        print("  transaction (BEGIN to COMMIT): mean %.1f ms, p99 <= %.0f ms (histogram bucket)"
              % (med(x, "commit_mean_ms"), med(x, "txn_p99_ms")))
        print("  so publish to commit: p50 about %.0f ms (+ mean transaction), p99 between %.0f"
              " and %.0f ms (+ 0 .. p99 transaction)" % (
                  med(x, "txn_start_p50") + med(x, "commit_mean_ms"), med(x, "txn_start_p99"),
                  med(x, "txn_start_p99") + med(x, "txn_p99_ms")))
        print("  publish to acknowledgement at the device (adds up to ack_interval_ms):"
              " p50 %.1f ms, p99 %.1f ms" % (med(x, "ack_p50"), med(x, "ack_p99")))
    if args.soak_s > 0:
        curve, g, stored = b.soak(coll / 2, args.soak_s)
        print("\nsoak: %d s at %.0f readings/s offered, %.0f achieved, %d stored, resends %d" % (
            args.soak_s, coll / 2, g.get("rate", 0), stored, g.get("resends", 0)))
        print("  collector RSS (MiB) every ~10 s: " + " ".join(
            "%.0fs:%.1f" % (t, m) for t, m in curve))
        rss = [m for _, m in curve[1:]]
        print("  min %.1f, max %.1f, first minute max %.1f, last minute max %.1f" % (
            min(rss), max(rss), max(rss[:6]), max(rss[-6:])))


if __name__ == "__main__":
    main()
