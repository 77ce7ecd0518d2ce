#!/usr/bin/python3
"""bench_alert_latency.py -- issue 11's alert benchmark: publish-to-alert latency and the
collector's cost of alerting, in one run on this machine. Not a test (ctest does not run it).

    PANTAU_BUILD_DIR=build /usr/bin/python3 tests/bench/alerts/bench_alert_latency.py \\
        [--probes 40] [--rounds 3] [--devices 200] [--per-device 100] [--load-s 30]

The pieces: PostgreSQL (fsync on, its own cluster), mosquitto, pantau-collector, pantau-alertd
with deploy/alertd.conf's settings as shipped (poll_interval 5 s: it is woken by NOTIFY), a
webhook receiver and an MQTT subscriber on pantau/v1/_sys/alert/# (tests/integration/
alertd_support.py), a probe device (tests/harness/testdevice.py) and the collector benchmark's
load generator (tests/bench/collector/bench_loadgen.c, started as bench_collector.py does, by
its Bench class). The broker is bench_collector.py's plain mosquitto: the load generator does
not log in, so pantau's plugin is not on this path (its cost: docs/benchmarks.md, "Broker").

1. idle: one probe reading at a time from gateway gw-probe (gauge st-probe, 81/151/201 cm,
   fall dwell 0), alternating 50 and 100 cm, so that each reading raises a flood_level alert;
   time from just before its PUBLISH to the `raised` delivery of that alert (matched by the
   reading's seq in the body's evidence) at the MQTT subscriber and at the webhook receiver.
2. throughput, alternated rounds (order rotated): the load generator's `ack` mode
   (bench_collector.py's "collector" round: every reading held until acknowledged after
   COMMIT) with alerting `off` (the queue triggers of 013/015 on the facts tables disabled with
   ALTER TABLE ... DISABLE TRIGGER, alertd stopped), `on` (triggers enabled, alertd evaluating
   what they queue, as deployed) and `queue` (the triggers only: alertd stopped during the
   round; the collector's own cost). After an on or queue round alertd works on the backlog
   for --drain-s (after a queue round: its evaluation rate, queue items per second), then the
   queue is emptied (TRUNCATE) so that each round starts alike. The load's gauges have
   thresholds above its levels and no rate-of-rise alert: the engine does its whole
   evaluation and raises nothing.
3. loaded: the probes again while the load generator sends at half the median rate of the
   "on" rounds.
Prints each round, then p50/p99/max, where the time went (from the rows' own clocks), the ratio
of the medians, and the load average. Figures: docs/benchmarks.md, "Alerts: latency and the
collector's cost".
"""
import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "tests", "harness"))
sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))
sys.path.insert(0, os.path.join(SOURCE, "tests", "bench", "collector"))

import psycopg2  # noqa: E402

import bench_collector as BC  # noqa: E402
import pantau_harness as H  # noqa: E402
from alertd_support import Receiver, Subscriber  # noqa: E402
from testdevice import TestDevice  # noqa: E402

FACT_TRIGGERS = [("pantau.flood_reading", "alert_queue"),
                 ("pantau.reading_ledger", "alert_queue"),
                 ("pantau.reading_ledger", "alert_queue_rules"),
                 ("pantau_pii.larva_inspection", "alert_queue"),
                 ("pantau.incident_update", "alert_queue"),
                 ("pantau.traffic_count", "alert_queue")]


class AlertBench(BC.Bench):
    """bench_collector.Bench's pieces (loadgen, start_collector, collector round) on a cluster
    with the whole schema, without its Python bridge's database."""

    def __init__(self, args):
        import tempfile
        self.args = args
        self.root = tempfile.mkdtemp(prefix="pantau-bench-alerts-")
        os.chmod(self.root, 0o755)
        self.bin = os.path.join(self.root, "bin")
        BC.build_tools(self.bin)
        self.collector_bin = H.binary("collector", "pantau-collector")
        self.pg = H.PgCluster(os.path.join(self.root, "pg")).start()
        self.pg_settings()
        self.dsn = self.pg.create_database("bench")
        H.apply_schema(self.dsn)
        if args.pg_statements:
            self.pg.query("bench", "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            self.pg.query("postgres", "ALTER SYSTEM SET pg_stat_statements.track = 'all'")
            self.pg.query("postgres", "SELECT pg_reload_conf()")
        self.mq = H.Mosquitto(os.path.join(self.root, "mq"),
                              extra="max_queued_messages 1000000\nmax_inflight_messages 0\n"
                                    "max_keepalive 600\n").start()
        self.port = self.mq.port
        self.db = psycopg2.connect(self.dsn)
        self.db.autocommit = True
        with open(os.path.join(self.root, "db.pass"), "w") as f:
            f.write("unused\n")
        self.seed = 1000
        self.alertd = None
        ids = ["%s%04d" % (args.prefix, i) for i in range(args.devices)] + ["gw-probe"]
        with self.db.cursor() as cur:
            cur.executemany("INSERT INTO pantau.device (device_id, kind, enabled)"
                            " VALUES (%s, 'flood_gateway', true)", [(d,) for d in ids])
            cur.executemany("INSERT INTO pantau.station (station_id, kind)"
                            " VALUES (%s, 'flood_gauge')", [(station_of(d),) for d in ids])
            cur.executemany("INSERT INTO pantau.device_station (device_id, station_id, valid)"
                            " VALUES (%s, %s, tstzrange('2000-01-01', NULL))",
                            [(d, station_of(d)) for d in ids])
            # the load's levels (300..800 cm) stay under its thresholds; the probe's cross 81
            cur.executemany("INSERT INTO pantau.gauge_threshold (station_id, quantity, valid,"
                            " siaga3_from, siaga2_from, siaga1_from) VALUES (%s, 'level_cm',"
                            " '[2020-01-01,)', %s, %s, %s)",
                            [(station_of(d),) + ((81, 151, 201) if d == "gw-probe"
                                                 else (1000, 1100, 1200)) for d in ids])
            cur.execute("UPDATE pantau_alert.flood_setting SET rise_short_cm = 100000,"
                        " rise_long_cm = 100000 WHERE station_id IS NULL")
            cur.execute("INSERT INTO pantau_alert.flood_setting (station_id, valid, fall_margin,"
                        " fall_dwell) VALUES ('st-probe', '(,)', 0, interval '0')")
            cur.execute("DELETE FROM pantau_alert.route")
            cur.execute("DELETE FROM pantau_alert.escalation")
            cur.execute("INSERT INTO pantau_alert.route (kind_pattern, unit_id, channel) VALUES"
                        " ('flood\\_%%', 'bpbd', 'mqtt'), ('flood\\_%%', 'bpbd', 'webhook')")
        self.receiver = Receiver()
        self.subscriber = Subscriber(self.port)
        self.probe = TestDevice("gw-probe", "127.0.0.1", self.port, stream="flood",
                                station="st-probe").start()
        self.probe_level = 100
        self.seg = {}                # phase -> segment -> [seconds]
        self.depth = {}              # phase -> [pantau_alert.pending rows after each probe]
        self.phase = "warm-up"

    # ---- alerting on and off ------------------------------------------------------------

    def triggers(self, on):
        with self.db.cursor() as cur:
            for table, name in FACT_TRIGGERS:
                cur.execute("ALTER TABLE %s %s TRIGGER %s"
                            % (table, "ENABLE" if on else "DISABLE", name))

    def start_alertd(self):
        conf = os.path.join(self.root, "alertd.conf")
        settings = {}
        with open(os.path.join(SOURCE, "deploy", "alertd.conf")) as f:
            for line in f:
                parts = line.split(None, 1)
                if parts and not parts[0].startswith("#") and len(parts) == 2:
                    settings[parts[0]] = parts[1].strip()
        settings.update({"db_conninfo": self.dsn, "mqtt_host": "127.0.0.1",
                         "mqtt_port": self.port,
                         "webhook_url": "http://127.0.0.1:%d/hook" % self.receiver.port})
        settings.pop("db_password_file", None)
        if self.args.evaluate_batch:
            settings["evaluate_batch"] = str(self.args.evaluate_batch)
        with open(conf, "w") as f:
            for k, v in settings.items():
                f.write("%s %s\n" % (k, v))
        self.alertd = H.Program("alertd", [H.binary("alertd", "pantau-alertd"), "-c", conf],
                                self.root).start()

    def stop_alertd(self):
        if self.alertd is not None:
            self.alertd.stop()
            self.alertd = None

    # ---- probes ---------------------------------------------------------------------------

    def probe_once(self, timeout=20.0):
        """One probe reading; (mqtt_s, webhook_s) from just before its PUBLISH to the
        delivery of the alert it raised (None: not within timeout)."""
        self.probe_level = 50 if self.probe_level == 100 else 100
        nm, nw = len(self.subscriber.arrivals), len(self.receiver.arrivals)
        t0w = time.time()
        t0 = time.monotonic()
        seq = self.probe.send(1, level_cm=float(self.probe_level))[0]
        got = {}
        deadline = t0 + timeout
        while len(got) < 2 and time.monotonic() < deadline:
            with self.subscriber.lock:
                msgs = list(zip(self.subscriber.messages[nm:], self.subscriber.arrivals[nm:]))
            for (topic, body, retain), at in msgs:
                if "mqtt" not in got and is_alert_of(body, seq):
                    got["mqtt"] = at - t0
            with self.receiver.lock:
                reqs = list(zip(self.receiver.requests[nw:], self.receiver.arrivals[nw:]))
            for (key, raw, sig), at in reqs:
                if "webhook" not in got and is_alert_of(BC_json(raw), seq):
                    got["webhook"] = at - t0
            time.sleep(0.002)
        self.segments(seq, t0w, got)
        return got.get("mqtt"), got.get("webhook")

    def segments(self, seq, t0w, got):
        """Where the time went, from the rows' clocks (one machine, one clock): PUBLISH to
        received_at (broker, collector intake), to stored_at (the collector's batch wait: its
        transaction's now()), to raised_at (its transaction, COMMIT, NOTIFY, alertd's wake and
        evaluate: now() of the evaluating transaction), to delivered_at (now() of the delivery
        transaction: the wait for the deliverer), to the receiver."""
        with self.db.cursor() as cur:
            cur.execute("SELECT extract(epoch FROM l.received_at), extract(epoch FROM"
                        " l.stored_at), extract(epoch FROM a.raised_at), d.channel,"
                        " extract(epoch FROM d.delivered_at)"
                        " FROM pantau.reading_ledger l, pantau_alert.delivery d"
                        " JOIN pantau_alert.alert a USING (alert_id)"
                        " WHERE l.device_id = 'gw-probe' AND l.store_id = %s AND l.seq = %s"
                        " AND d.body ->> 'station_id' = 'st-probe'"
                        " AND d.body ->> 'event' = 'raised' AND jsonb_path_exists(d.body,"
                        " '$.evidence.readings[*] ? (@.seq == $s)', jsonb_build_object('s', %s))",
                        (self.probe.store, seq, seq))
            rows = cur.fetchall()
        for rec, stored, raised, channel, delivered in rows:
            if delivered is None or channel not in got:
                continue
            seg = self.seg.setdefault(self.phase, {})
            for name, value in (("publish>received", float(rec) - t0w),
                                ("received>stored", float(stored) - float(rec)),
                                ("stored>raised", float(raised) - float(stored)),
                                ("raised>delivery txn " + channel,
                                 float(delivered) - float(raised)),
                                ("delivery txn>receiver " + channel,
                                 t0w + got[channel] - float(delivered))):
                seg.setdefault(name, []).append(value)

    def probes(self, n, gap=0.3, until=None, timeout=20.0):
        """n probes, one after the other; none started after monotonic `until`."""
        mq, wh, lost = [], [], 0
        for _ in range(n):
            if until is not None and time.monotonic() >= until:
                break
            m, w = self.probe_once(timeout)
            if m is None or w is None:
                lost += 1
            if m is not None:
                mq.append(m)
            if w is not None:
                wh.append(w)
            self.depth.setdefault(self.phase, []).append(self.pending())
            time.sleep(gap)
        return mq, wh, lost

    def pending(self):
        with self.db.cursor() as cur:
            cur.execute("SELECT count(*) FROM pantau_alert.pending")
            return cur.fetchone()[0]

    def drain(self, seconds):
        """Lets alertd (running) work on the flood queue for at most `seconds`; returns (queue
        items it took, seconds), then empties the queue (TRUNCATE) so that every round starts
        alike: a backlog left by a full-speed round would take minutes to evaluate here."""
        before = self.pending()
        t0 = time.monotonic()
        while self.pending() > 0 and time.monotonic() - t0 < seconds:
            time.sleep(0.1)
        took, secs = before - self.pending(), time.monotonic() - t0
        with self.db.cursor() as cur:
            cur.execute("TRUNCATE pantau_alert.pending")
        return took, secs

    def close(self):
        self.probe.stop(offline=False)
        self.subscriber.close()
        self.stop_alertd()
        BC.Bench.close(self)


def station_of(device_id):
    """bench_loadgen names its devices <prefix>NNNN and their gauges st-<prefix>NNNN."""
    return "st-probe" if device_id == "gw-probe" else "st-" + device_id


def BC_json(raw):
    import json
    return json.loads(raw)


def is_alert_of(body, seq):
    if body.get("event") != "raised" or body.get("station_id") != "st-probe":
        return False
    readings = (body.get("evidence") or {}).get("readings") or []
    return any(r.get("seq") == seq for r in readings)


def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def show(label, mq, wh, lost):
    """late: probes whose alert did not reach both receivers within the probe's timeout."""
    print("%-8s mqtt    n=%3d p50 %6.0f ms  p99 %6.0f ms  max %6.0f ms" % (
        label, len(mq), 1000 * pct(mq, 50), 1000 * pct(mq, 99), 1000 * max(mq or [0])))
    print("%-8s webhook n=%3d p50 %6.0f ms  p99 %6.0f ms  max %6.0f ms   late: %d" % (
        label, len(wh), 1000 * pct(wh, 50), 1000 * pct(wh, 99), 1000 * max(wh or [0]), lost),
        flush=True)


def show_segments(b, phase):
    for name, values in sorted(b.seg.get(phase, {}).items(), key=lambda kv: SEG_ORDER.index(
            kv[0].split(" ")[0] if " " not in kv[0] else kv[0].rsplit(" ", 1)[0])):
        print("  %-34s p50 %6.0f ms  p99 %6.0f ms" % (name, 1000 * pct(values, 50),
                                                      1000 * pct(values, 99)))


def show_statements(b, top=25):
    """pg_stat_statements: the statements by total execution time (nested ones included)."""
    with b.db.cursor() as cur:
        cur.execute("SELECT calls, total_exec_time, mean_exec_time, rows,"
                    " regexp_replace(query, '\\s+', ' ', 'g')"
                    " FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT %s", (top,))
        print("pg_stat_statements, top %d by total time:" % top)
        print("  %9s %10s %9s %9s  query" % ("calls", "total ms", "mean ms", "rows"))
        for calls, total, mean, rows, query in cur.fetchall():
            print("  %9d %10.0f %9.3f %9d  %s" % (calls, total, mean, rows, query[:150]))
    sys.stdout.flush()


SEG_ORDER = ["publish>received", "received>stored", "stored>raised", "raised>delivery txn",
             "delivery txn>receiver"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--probes", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=3, help="throughput rounds per side")
    ap.add_argument("--devices", type=int, default=200)
    ap.add_argument("--prefix", default="gw-bench-")
    ap.add_argument("--per-device", type=int, default=100)
    ap.add_argument("--window", type=int, default=32)
    ap.add_argument("--load-s", type=int, default=30, help="the loaded probes' load duration")
    ap.add_argument("--evaluate-batch", type=int, default=0,
                    help="alertd's evaluate_batch (0: deploy/alertd.conf's)")
    ap.add_argument("--drain-s", type=float, default=10,
                    help="after a round with the triggers on: alertd's time on its backlog")
    ap.add_argument("--pg-statements", action="store_true",
                    help="pg_stat_statements (track all: the statements inside evaluate() and"
                         " the queue triggers too); the top statements by total time are"
                         " printed at the end")
    ap.add_argument("--pg-setting", action="append", default=[], metavar="NAME=VALUE",
                    help="ALTER SYSTEM before the run (repeatable)")
    args = ap.parse_args()
    args.tuned = []
    b = AlertBench(args)
    t_start = time.monotonic()
    try:
        print("load average at start: %.2f %.2f %.2f" % os.getloadavg(), flush=True)
        # 1. idle
        proc, _ = b.start_collector()
        b.start_alertd()
        b.probes(3)   # warm-up: first connections, first plans
        b.phase = "idle"
        idle = b.probes(args.probes)
        show("idle", *idle)
        show_segments(b, "idle")
        b.stop_collector(proc)
        # 2. throughput, alternated
        # off: no queue triggers, no alertd; on: both (as deployed); queue: the triggers
        # only (alertd stopped during the round, then started and timed emptying the queue:
        # the collector's own cost, and the evaluation's rate)
        rows = {"off": [], "on": [], "queue": []}
        sides = [("off", "on", "queue"), ("queue", "on", "off"), ("on", "off", "queue")]
        for r in range(args.rounds):
            for side in sides[r % 3]:
                b.stop_alertd()
                b.triggers(side != "off")
                if side == "on":
                    b.start_alertd()
                if args.pg_statements:
                    b.db.cursor().execute("SELECT pg_stat_statements_reset()")
                res = b.collector()
                if args.pg_statements:
                    print("round %d %s:" % (r + 1, side))
                    show_statements(b, top=8)
                extra = ""
                res["eval_rate"] = None
                if side != "off":
                    queued = b.pending()
                    if b.alertd is None:
                        b.start_alertd()
                    took, secs = b.drain(args.drain_s)
                    extra = "  queue at end %d items" % queued
                    if side == "queue" and secs > 0:
                        # items of this round: readings / items is how many each covers
                        res["eval_rate"] = took / secs
                        extra += "; alertd then took %d in %.1f s: %.0f items/s" % (
                            took, secs, took / secs)
                rows[side].append(res)
                print("round %d %-5s %7.0f readings/s  collector %.2f CPU  pg %.2f CPU"
                      "  load %.2f%s" % (r + 1, side, res["rate"], res["collector_cpu"],
                                         res["pg_cpu"], os.getloadavg()[0], extra), flush=True)
        b.triggers(True)
        if b.alertd is None:
            b.start_alertd()
        b.drain(0)
        on = statistics.median(x["rate"] for x in rows["on"])
        off = statistics.median(x["rate"] for x in rows["off"])
        qu = statistics.median(x["rate"] for x in rows["queue"])
        ev = [x["eval_rate"] for x in rows["queue"] if x.get("eval_rate")]
        print("throughput median: off %.0f, on %.0f (on/off %.3f), queue only %.0f"
              " (queue/off %.3f) readings/s; evaluation median %.0f queue items/s" % (
                  off, on, on / off, qu, qu / off, statistics.median(ev) if ev else 0),
              flush=True)
        # 3. loaded: half the median peak with alerting on
        rate = on / 2
        proc, _ = b.start_collector()
        gen = b.loadgen("ack", rate=rate, duration=args.load_s,
                        first_seq=args.per_device * (2 * args.rounds + 1) + 1)
        time.sleep(2)
        la = os.getloadavg()[0]
        b.phase = "loaded"
        loaded = b.probes(args.probes, until=time.monotonic() + args.load_s - 2, timeout=10.0)
        gen.wait(900)
        g = BC.keyvals(gen.out)
        b.stop_collector(proc)
        print("load: %.0f readings/s asked, %.0f sent (loadgen), load average %.2f" % (
            rate, g.get("rate", float("nan")), la))
        show("loaded", *loaded)
        d = b.depth.get("loaded", [0])
        print("  alert queue (pantau_alert.pending) after each probe: median %d, max %d" % (
            statistics.median(d), max(d)))
        show_segments(b, "loaded")
        print("run %.0f s; load average at end: %.2f %.2f %.2f" % (
            (time.monotonic() - t_start,) + os.getloadavg()), flush=True)
        if args.pg_statements:
            show_statements(b)
    finally:
        b.close()


if __name__ == "__main__":
    main()
