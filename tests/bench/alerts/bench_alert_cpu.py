#!/usr/bin/python3
"""bench_alert_cpu.py -- the CPU an alert evaluation costs per reading, and the queue trigger's
cost per statement of the collector, measured by the backends' own CPU time (/proc/PID/stat of
the PostgreSQL backend), so that the figure does not depend on what else the machine runs.
Not a test (ctest does not run it).

    /usr/bin/python3 tests/bench/alerts/bench_alert_cpu.py DSN [--setup] [--rounds 5]
        [--per 20] [--gauges 200]

DSN: a database with the schema applied (schema/migrate.sh), on this machine (the backends'
/proc entries are read). --setup adds the gauges (st-cpu-NNNN, thresholds above the levels,
rise alerts off: the whole evaluation runs and raises nothing, as bench_alert_latency.py's
load). Each round: one transaction as the collector writes it (the ledger, then one INSERT of
`per` readings for every gauge into pantau.flood_reading: the queue trigger runs in it), then
pantau_alert.evaluate(1000) until the queue is empty, in a second session. Prints the
evaluating backend's CPU per reading and per gauge visited, and the writer's statement time
with the trigger (median of the rounds).
"""
import argparse
import hashlib
import os
import random
import statistics
import time

import psycopg2

STORE = "33333333-3333-3333-3333-333333333333"


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dsn")
    ap.add_argument("--setup", action="store_true")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--per", type=int, default=20, help="readings per gauge per round")
    ap.add_argument("--gauges", type=int, default=200)
    args = ap.parse_args()
    db = psycopg2.connect(args.dsn)
    db.autocommit = True
    cur = db.cursor()
    ids = ["gw-cpu-%04d" % i for i in range(args.gauges)]
    if args.setup:
        cur.executemany("INSERT INTO pantau.device (device_id, kind, enabled)"
                        " VALUES (%s, 'flood_gateway', true)", [(d,) for d in ids])
        cur.executemany("INSERT INTO pantau.station (station_id, kind)"
                        " VALUES (%s, 'flood_gauge')", [("st-" + d,) for d in ids])
        cur.executemany("INSERT INTO pantau.device_station (device_id, station_id, valid)"
                        " VALUES (%s, %s, tstzrange('2000-01-01', NULL))",
                        [(d, "st-" + d) for d in ids])
        cur.executemany("INSERT INTO pantau.gauge_threshold (station_id, quantity, valid,"
                        " siaga3_from, siaga2_from, siaga1_from) VALUES (%s, 'level_cm',"
                        " '[2020-01-01,)', 1000, 1100, 1200)", [("st-" + d,) for d in ids])
        cur.executemany("INSERT INTO pantau_alert.flood_setting (station_id, valid,"
                        " rise_short_cm, rise_long_cm) VALUES (%s, '(,)', 100000, 100000)",
                        [("st-" + d,) for d in ids])
    cur.execute("SELECT coalesce(max(seq), 0) FROM pantau.reading_ledger"
                " WHERE device_id = %s", (ids[0],))
    seq0 = cur.fetchone()[0]
    ev = psycopg2.connect(args.dsn)
    ev.autocommit = True
    ec = ev.cursor()
    ec.execute("SELECT pg_backend_pid()")
    ev_pid = ec.fetchone()[0]
    rnd = random.Random(seq0)
    stmt, per_reading, per_visit = [], [], []
    for r in range(args.rounds):
        now = time.time()
        led, fl = [], []
        for k in range(args.per):
            seq = seq0 + r * args.per + k + 1
            ts = now - 0.001 * (args.per - k)
            for d in ids:
                led.append((d, STORE, seq, ts, hashlib.sha256(b"%s%d" % (d.encode(), seq))
                            .digest(), ts))
                fl.append((d, STORE, seq, "st-" + d, ts, 300 + 500 * rnd.random()))
        cur.execute("BEGIN")
        cur.execute(b"INSERT INTO pantau.reading_ledger (device_id, store_id, seq, stream, ts,"
                    b" clock_synced, replay, content_sha256, received_at) VALUES " + b",".join(
                        cur.mogrify("(%s,%s,%s,'flood',to_timestamp(%s),true,false,%s,"
                                    "to_timestamp(%s))", x) for x in led))
        values = b",".join(cur.mogrify("(%s,%s,%s,%s,to_timestamp(%s),%s)", x) for x in fl)
        t0 = time.monotonic()
        cur.execute(b"INSERT INTO pantau.flood_reading (device_id, store_id, seq, station_id,"
                    b" ts, level_cm) VALUES " + values)
        stmt.append(time.monotonic() - t0)
        cur.execute("COMMIT")
        c0, visits = cpu_s(ev_pid), 0
        while True:
            ec.execute("SELECT pantau_alert.evaluate(1000)")
            n = ec.fetchone()[0]
            if n == 0:
                break
            visits += n
        c = cpu_s(ev_pid) - c0
        per_reading.append(c / len(fl))
        per_visit.append(c / max(visits, 1))
        print("round %d: %d readings, evaluation %.2f CPU s (%.0f us per reading, %.1f ms per"
              " queue item), flood_reading INSERT with its trigger %.0f ms; load %.1f" % (
                  r + 1, len(fl), c, 1e6 * c / len(fl), 1e3 * c / max(visits, 1),
                  1e3 * stmt[-1], os.getloadavg()[0]), flush=True)
    m = statistics.median(per_reading)
    print("median: %.0f us CPU per reading evaluated (%.0f readings/s per core), %.0f ms per"
          " INSERT of %d readings" % (1e6 * m, 1 / m if m > 0 else float("inf"),
                                      1e3 * statistics.median(stmt), len(fl)))


if __name__ == "__main__":
    main()
