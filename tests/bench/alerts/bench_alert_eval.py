#!/usr/bin/python3
"""bench_alert_eval.py -- cost of the alert engine's live path (docs/alerts.md "Performance").

    bench_alert_eval.py DSN [--generate] [--rounds N]

--generate fills a database that has the schema (schema/migrate.sh) with 20 gauges x 30 days of
one reading a minute (864k readings; levels crossing Siaga 3 and 2 now and then) and evaluates
them all once. Then each round stores one new reading per gauge as the collector does (one
transaction each, pantau_ingest) and times pantau_alert.evaluate(1) per queue item in one
long-lived session (as pantau-alertd runs it), and the parts it spends its time in. Prints
mean, p50 and p99 in ms."""
import statistics
import sys
import time

import psycopg2

GAUGES = 20
DAYS = 30


def generate(conn):
    with conn, conn.cursor() as cur:
        cur.execute("""
INSERT INTO pantau.station (station_id, kind) SELECT 'pg' || g, 'flood_gauge'
FROM generate_series(1, %(g)s) g;
INSERT INTO pantau.gauge_threshold (station_id, quantity, valid, siaga3_from, siaga2_from,
                                    siaga1_from)
SELECT 'pg' || g, 'level_cm', '[2020-01-01,)', 81, 151, 201 FROM generate_series(1, %(g)s) g;
INSERT INTO pantau.reading_ledger (device_id, store_id, seq, stream, ts, clock_synced, replay,
                                   content_sha256, received_at)
SELECT 'gw' || g, '00000000-0000-0000-0000-000000000001', m + 1, 'flood',
       date_trunc('minute', now()) - interval '%(d)s days' + m * interval '1 minute', true,
       false, sha256(('x' || g || '-' || m)::bytea),
       date_trunc('minute', now()) - interval '%(d)s days' + m * interval '1 minute'
       + interval '10 s'
FROM generate_series(1, %(g)s) g, generate_series(0, %(d)s * 1440 - 1) m;
INSERT INTO pantau.flood_reading (device_id, store_id, seq, station_id, ts, level_cm)
SELECT 'gw' || g, '00000000-0000-0000-0000-000000000001', m + 1, 'pg' || g,
       date_trunc('minute', now()) - interval '%(d)s days' + m * interval '1 minute',
       100 + 60 * sin(m / 700.0 + g) + (m %% 7)
FROM generate_series(1, %(g)s) g, generate_series(0, %(d)s * 1440 - 1) m;
""", {"g": GAUGES, "d": DAYS})
    conn.autocommit = True
    conn.cursor().execute("ANALYZE")
    conn.autocommit = False
    t = time.monotonic()
    with conn, conn.cursor() as cur:
        cur.execute("SELECT pantau_alert.evaluate(100000)")
    print("full evaluation of %d readings: %.1f s" % (GAUGES * DAYS * 1440,
                                                       time.monotonic() - t))


def store(conn, g, seq, level):
    with conn, conn.cursor() as cur:
        cur.execute("SET LOCAL ROLE pantau_ingest")
        cur.execute("INSERT INTO pantau.reading_ledger (device_id, store_id, seq, stream, ts,"
                    " clock_synced, replay, content_sha256, received_at) VALUES (%s,"
                    " '00000000-0000-0000-0000-000000000001', %s, 'flood', clock_timestamp(),"
                    " true, false, sha256(%s), clock_timestamp())",
                    ("gw%d" % g, seq, ("live-%d-%d" % (g, seq)).encode()))
        cur.execute("INSERT INTO pantau.flood_reading (device_id, store_id, seq, station_id, ts,"
                    " level_cm) SELECT device_id, store_id, seq, %s, ts, %s FROM"
                    " pantau.reading_ledger WHERE device_id = %s AND store_id ="
                    " '00000000-0000-0000-0000-000000000001' AND seq = %s",
                    ("pg%d" % g, level, "gw%d" % g, seq))


def figures(name, ms):
    ms = sorted(ms)
    print("%-28s n=%-4d mean %6.2f ms  p50 %6.2f ms  p99 %6.2f ms" % (
        name, len(ms), statistics.mean(ms), ms[len(ms) // 2], ms[min(len(ms) - 1,
                                                                      int(len(ms) * 0.99))]))


def main():
    dsn = sys.argv[1]
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 10
    writer = psycopg2.connect(dsn)
    evaluator = psycopg2.connect(dsn)
    if "--generate" in sys.argv:
        generate(writer)
    with writer, writer.cursor() as cur:
        cur.execute("SELECT count(*) FROM pantau.flood_reading")
        print("readings: %d" % cur.fetchone()[0])
        cur.execute("SELECT max(seq) FROM pantau.reading_ledger WHERE device_id = 'gw1'")
        seq = cur.fetchone()[0]
    per_item = []
    parts = {"flood_values_since (live)": [], "evaluate_level (live)": [],
             "evaluate_rise (live)": []}
    for r in range(rounds):
        seq += 1
        for g in range(1, GAUGES + 1):
            store(writer, g, seq, 120 + (r % 3))
        for g in range(1, GAUGES + 1):
            t = time.monotonic()
            with evaluator, evaluator.cursor() as cur:
                cur.execute("SELECT pantau_alert.evaluate(1)")
            per_item.append((time.monotonic() - t) * 1000)
        # the parts, on gauge 1, rolled back
        with evaluator.cursor() as cur:
            for name, q in [("flood_values_since (live)", "SELECT count(*) FROM"
                             " pantau_alert.flood_values_since('pg1', now() - interval '1 min')"),
                            ("evaluate_level (live)",
                             "SELECT pantau_alert.evaluate_level('pg1', now())"),
                            ("evaluate_rise (live)",
                             "SELECT pantau_alert.evaluate_rise('pg1', now())")]:
                t = time.monotonic()
                cur.execute(q)
                parts[name].append((time.monotonic() - t) * 1000)
        evaluator.rollback()
    figures("evaluate(1) per queue item", per_item)
    for name, ms in parts.items():
        figures(name, ms)


if __name__ == "__main__":
    main()
