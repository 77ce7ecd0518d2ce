#!/usr/bin/python3
"""check_alert_incremental.py -- 019's incremental evaluation gives 015's answers: the same
noisy readings (a random walk with jumps, 3 days at 2 minutes, thresholds 81/151/201, rise
30 cm / 15 min and 50 cm / 60 min) on two gauges, A evaluated after every 1 to 9 readings (the
live path: gauge_state.rise_state and the saved level state), B once at the end (the full
path); prints whether their alerts (kind, levels, window, rise, condition times, evidence) and
level histories are the same. Not a test (ctest does not run it); docs/alerts.md,
"Performance (019)".

    /usr/bin/python3 tests/bench/alerts/check_alert_incremental.py DSN SEED [w]

DSN: a scratch database with the schema applied (it adds two gauges named after SEED); w: a
settings version from the middle on with another short window (20 min, 25 cm).
"""
import sys, random, datetime, hashlib
import psycopg2
dsn = sys.argv[1]; seed = int(sys.argv[2]); window_change = len(sys.argv) > 3
db = psycopg2.connect(dsn); db.autocommit = True; cur = db.cursor()
STORE = '22222222-2222-2222-2222-222222222222'
tag = "eq%d%s" % (seed, "w" if window_change else "")
A, B = "st-%sa" % tag, "st-%sb" % tag
for st in (A, B):
    d = "gw-" + st
    cur.execute("INSERT INTO pantau.device (device_id, kind, enabled) VALUES (%s, 'flood_gateway', true)", (d,))
    cur.execute("INSERT INTO pantau.station (station_id, kind) VALUES (%s, 'flood_gauge')", (st,))
    cur.execute("INSERT INTO pantau.device_station (device_id, station_id, valid) VALUES (%s, %s, tstzrange('2000-01-01', NULL))", (d, st))
    cur.execute("INSERT INTO pantau.gauge_threshold (station_id, quantity, valid, siaga3_from, siaga2_from, siaga1_from) VALUES (%s, 'level_cm', '[2020-01-01,)', 81, 151, 201)", (st,))
    cur.execute("INSERT INTO pantau_alert.flood_setting (station_id, valid, rise_short_cm, rise_long_cm) VALUES (%s, '(,)', 30, 50)", (st,))
rnd = random.Random(seed)
t0 = datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)
level = 60.0
rows = []
for i in range(3 * 24 * 60 // 2):
    level += rnd.gauss(0, 3) + (rnd.random() < 0.02) * rnd.uniform(10, 40) - (level > 220) * 5
    level = max(0.0, level)
    rows.append((t0 + datetime.timedelta(minutes=2 * i), round(level, 1)))
if window_change:
    mid = rows[len(rows) // 2][0]
    for st in (A, B):
        cur.execute("UPDATE pantau_alert.flood_setting SET valid = tstzrange(NULL, %s) WHERE station_id = %s", (mid, st))
        cur.execute("INSERT INTO pantau_alert.flood_setting (station_id, valid, rise_short_cm, rise_short_window, rise_long_cm) VALUES (%s, tstzrange(%s, NULL), 25, interval '20 minutes', 50)", (st, mid))
    cur.execute("TRUNCATE pantau_alert.pending")

def store(st, chunk, seq0):
    d = "gw-" + st
    cur.execute("BEGIN")
    for k, (ts, lv) in enumerate(chunk):
        seq = seq0 + k
        cur.execute("INSERT INTO pantau.reading_ledger (device_id, store_id, seq, stream, ts, clock_synced, replay, content_sha256, received_at) VALUES (%s,%s,%s,'flood',%s,true,false,%s,%s)", (d, STORE, seq, ts, hashlib.sha256(b"%d" % seq).digest(), ts + datetime.timedelta(seconds=5)))
    cur.execute("INSERT INTO pantau.flood_reading (device_id, store_id, seq, station_id, ts, level_cm) SELECT %s, %s, x.seq, %s, x.ts, x.lv FROM unnest(%s::bigint[], %s::timestamptz[], %s::float8[]) x(seq, ts, lv)", (d, STORE, st, [seq0 + k for k in range(len(chunk))], [c[0] for c in chunk], [c[1] for c in chunk]))
    cur.execute("COMMIT")

def evaluate():
    while True:
        cur.execute("SELECT pantau_alert.evaluate(1000)")
        if cur.fetchone()[0] == 0:
            return
evaluate()
i = 0
while i < len(rows):
    n = rnd.randint(1, 9)
    store(A, rows[i:i + n], i + 1)
    evaluate()
    i += n
store(B, rows, 1)
evaluate()
def alerts(st):
    cur.execute("SELECT kind, level, previous_level, rise_window, rise_cm, condition_time, condition_until, (evidence - 'readings')::text, jsonb_path_query_array(evidence, '$.readings[*].seq')::text FROM pantau_alert.alert WHERE station_id = %s ORDER BY kind, rise_window, condition_time", (st,))
    return cur.fetchall()
def levels(st):
    cur.execute("SELECT level, from_ts, to_ts FROM pantau_alert.gauge_level WHERE station_id = %s ORDER BY from_ts", (st,))
    return cur.fetchall()
a, b = alerts(A), alerts(B)
print(tag, "alerts A %d B %d, rises %d, levels A %d B %d" % (len(a), len(b), sum(1 for x in a if x[0] == 'flood_rise'), len(levels(A)), len(levels(B))))
print("same alerts:", a == b, " same levels:", levels(A) == levels(B))
if a != b:
    for x, y in zip(a, b):
        if x != y:
            print("A", x); print("B", y); break
