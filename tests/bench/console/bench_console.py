#!/usr/bin/python3
"""bench_console.py -- the console's figures (issue 12, "Benchmark"). Prints a Markdown table for
docs/benchmarks.md.

    /usr/bin/python3 tests/bench/console/bench_console.py [--runs 5] [--latency 30] [--sql-only]

Starts its own PostgreSQL (the harness's private cluster) and fills it with a week of data of
the size the issue names: 500 cameras (50 traffic gateways, 15-minute counts on 2 lanes: 672k
counts), 20 gauges (one reading a minute: 202k readings), the 56 kelurahan (40 houses each this
week and last), every gateway with a status. Then:

1. the SQL of the map alone: pantau_console.map() (what GET /api/map runs), median of --runs;
   and of the other views (gauge 24 h and 7 days, traffic 24 h, jumantik, system);
2. first render of the map in Chromium (headless, 1920x1080, Debian's chromium and
   chromium-driver): from navigating to #/peta (logged in, the shell cached) until every one of
   the 520 stations has its marker on screen (a DOM marker, or a circle on the canvas listed under
   the map), and then two animation frames (painted); median of --runs fresh page loads. Beside
   it the floor: the same Chromium, the same server, a page with an empty Leaflet map of the same
   size (Leaflet loaded, the map created, painted), median of --runs;
3. commit to screen: a flood reading committed to the database that moves a gauge to another
   Siaga level, until that gauge's marker shows the new level in the browser, through the
   server's LISTEN, the SSE `data` event and the map's re-fetch; p50 and p99 of --latency
   changes (one at a time, each waiting for the screen).

Parts 2 and 3 need pantau-console (PANTAU_BUILD_DIR) and tests/integration/console_support.py;
--sql-only runs part 1 alone. Where schema 027 is applied, part 1 also times the cameras' state
from the kept tables (cameras_now) and from the facts (cameras_scan, 022's path) in the same run.
The load average is printed at the start and the end (the machine may be shared).
"""
import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "harness"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration"))
import pantau_harness as h  # noqa: E402
import psycopg2  # noqa: E402

SEED = r"""
INSERT INTO pantau.device (device_id, kind)
SELECT format('gw-g%s', lpad(i::text, 2, '0')), 'flood_gateway' FROM generate_series(1, 20) i
UNION ALL
SELECT format('gw-t%s', lpad(i::text, 2, '0')), 'traffic_gateway' FROM generate_series(1, 50) i;

WITH k AS (SELECT code, row_number() OVER (ORDER BY code) AS n FROM pantau.kelurahan)
INSERT INTO pantau.station (station_id, kind, name, lat, lon, kelurahan_code, datum,
                            capacity_pcu_h)
SELECT format('g%s', lpad(i::text, 2, '0')), 'flood_gauge', format('Pos %s', i),
       -6.38 + 0.18 * ((i * 37) % 100) / 100.0, 106.90 + 0.14 * ((i * 61) % 100) / 100.0,
       (SELECT code FROM k WHERE n = 1 + (i * 7) % 56), 'gauge_zero', NULL
FROM generate_series(1, 20) i
UNION ALL
SELECT format('cam%s', lpad(i::text, 3, '0')), 'traffic_camera', format('Kamera %s', i),
       -6.38 + 0.18 * ((i * 37) % 997) / 997.0, 106.90 + 0.14 * ((i * 61) % 991) / 991.0,
       (SELECT code FROM k WHERE n = 1 + i % 56), NULL, 2000 + (i % 5) * 500
FROM generate_series(1, 500) i;

INSERT INTO pantau.device_station (device_id, station_id, valid)
SELECT format('gw-g%s', lpad(i::text, 2, '0')), format('g%s', lpad(i::text, 2, '0')),
       '[2020-01-01,)'::tstzrange FROM generate_series(1, 20) i
UNION ALL
SELECT format('gw-t%s', lpad((1 + (i - 1) / 10)::text, 2, '0')),
       format('cam%s', lpad(i::text, 3, '0')), '[2020-01-01,)'::tstzrange FROM generate_series(1, 500) i;

INSERT INTO pantau.gauge_threshold (station_id, quantity, valid, siaga3_from, siaga2_from,
                                    siaga1_from)
SELECT format('g%s', lpad(i::text, 2, '0')), 'level_cm', '[2020-01-01,)', 81, 151, 201
FROM generate_series(1, 20) i;

-- gauges: one reading a minute for 7 days, a slow wave between 40 and 160 cm
CREATE TEMP TABLE fr AS
SELECT format('gw-g%s', lpad(g::text, 2, '0')) AS device_id,
       '00000000-0000-0000-0000-00000000c012'::uuid AS store_id, m + 1 AS seq,
       format('g%s', lpad(g::text, 2, '0')) AS station_id,
       date_trunc('minute', now()) - make_interval(mins => 10080 - m) AS ts,
       100 + 60 * sin((m + g * 97) / 720.0 * pi()) AS level_cm
FROM generate_series(1, 20) g, generate_series(0, 10079) m;
INSERT INTO pantau.reading_ledger (device_id, store_id, seq, stream, ts, clock_synced, replay,
                                   content_sha256, received_at)
SELECT device_id, store_id, seq, 'flood', ts, true, false,
       sha256(convert_to(device_id || seq, 'UTF8')), ts + interval '2 seconds' FROM fr;
INSERT INTO pantau.flood_reading (device_id, store_id, seq, station_id, ts, level_cm)
SELECT device_id, store_id, seq, station_id, ts, level_cm FROM fr;

-- cameras: 15-minute counts on 2 lanes for 7 days
CREATE TEMP TABLE tc AS
SELECT format('gw-t%s', lpad((1 + (c - 1) / 10)::text, 2, '0')) AS device_id,
       '00000000-0000-0000-0000-00000000c012'::uuid AS store_id,
       row_number() OVER (PARTITION BY (c - 1) / 10 ORDER BY q, c, lane) AS seq,
       format('cam%s', lpad(c::text, 3, '0')) AS station_id,
       date_trunc('hour', now()) - make_interval(mins => 15 * (672 - q)) AS ts,
       CASE lane WHEN 1 THEN 'in' ELSE 'out' END AS lane,
       (100 + (c * 13 + q * 7) % 200)::integer AS motorcycle,
       (50 + (c * 11 + q * 5) % 150)::integer AS car,
       ((c + q) % 6)::integer AS bus, ((c * 3 + q) % 9)::integer AS truck,
       (20 + (c * 7 + q) % 50)::double precision AS speed
FROM generate_series(1, 500) c, generate_series(0, 671) q, generate_series(1, 2) lane;
INSERT INTO pantau.reading_ledger (device_id, store_id, seq, stream, ts, clock_synced, replay,
                                   content_sha256, received_at)
SELECT device_id, store_id, seq, 'traffic', ts, true, false,
       sha256(convert_to(device_id || seq, 'UTF8')), ts + interval '905 seconds' FROM tc;
INSERT INTO pantau.traffic_count (device_id, store_id, seq, station_id, ts, interval_s, lane,
                                  motorcycle, car, bus, truck, speed_kmh)
SELECT device_id, store_id, seq, station_id, ts, 900, lane, motorcycle, car, bus, truck, speed
FROM tc;

-- larva: 40 houses per kelurahan this week and last (the first days of each)
INSERT INTO pantau.device (device_id, kind) VALUES ('hh-bench', 'handheld');
CREATE TEMP TABLE li AS
SELECT 'hh-bench'::text AS device_id, '00000000-0000-0000-0000-00000000c013'::uuid AS store_id,
       row_number() OVER (ORDER BY w, k.code, n) AS seq, k.code AS kelurahan,
       date_trunc('week', now() AT TIME ZONE 'Asia/Jakarta') AT TIME ZONE 'Asia/Jakarta'
           - make_interval(days => 7 * w) + make_interval(mins => n) AS ts,
       1 + n % 8 AS rw, 1 + n % 12 AS rt, (n * 7 + length(k.code)) % 19 = 0 AS larvae
FROM pantau.kelurahan k, generate_series(0, 1) w, generate_series(1, 40) n;
INSERT INTO pantau.reading_ledger (device_id, store_id, seq, stream, ts, clock_synced, replay,
                                   content_sha256, received_at)
SELECT device_id, store_id, seq, 'larva', ts, true, false,
       sha256(convert_to(device_id || seq, 'UTF8')), ts FROM li;
INSERT INTO pantau_pii.larva_inspection (device_id, store_id, seq, ts, inspector, building,
                                         kelurahan, rw, rt, address, larvae_found)
SELECT device_id, store_id, seq, ts, 'jmt', 'house', kelurahan, rw, rt, 'Jl. x', larvae FROM li;
INSERT INTO pantau.larva_container (device_id, store_id, seq, ts, type, location, inspected,
                                    positive)
SELECT device_id, store_id, seq, ts, 'drum', 'indoor', 4, CASE WHEN larvae THEN 1 ELSE 0 END
FROM li;

INSERT INTO pantau.device_status (device_id, state, conn, store_id, ts, clock_synced, backlog)
SELECT device_id, CASE WHEN device_id = 'gw-t50' THEN 'offline' ELSE 'online' END, 1,
       '00000000-0000-0000-0000-00000000c012', now() - interval '1 day', true, 0
FROM pantau.device WHERE kind <> 'handheld';
-- the queue the triggers filled is the alert engine's, which this benchmark does not run
DELETE FROM pantau_alert.pending;
DELETE FROM pantau_alert.pending_rule;
ANALYZE;
"""

ACCOUNTS = r"""
INSERT INTO pantau_ops.account (username, role, secret_kind, secret_hash)
VALUES ('bench-view', 'viewer', 'password', 'x') ON CONFLICT DO NOTHING;
"""

CAMERAS = [
    ("cameras now: kept tables (027)", "SELECT pantau_console.cameras_now(now())"),
    ("cameras now: from the facts (022's path)", "SELECT pantau_console.cameras_scan(now())"),
]

VIEWS = [
    ("map", "SELECT pantau_console.map('bench-view')"),
    ("gauge 24 h", "SELECT pantau_console.gauge('bench-view', 'g01', 24)"),
    ("gauge 7 days", "SELECT pantau_console.gauge('bench-view', 'g01', 168)"),
    ("traffic 24 h", "SELECT pantau_console.traffic('bench-view', 24)"),
    ("jumantik", "SELECT pantau_console.jumantik('bench-view', NULL)"),
    ("system", "SELECT pantau_console.system('bench-view')"),
]


def seed(dsn):
    t0 = time.monotonic()
    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(SEED)
            cur.execute(ACCOUNTS)
    finally:
        conn.close()
    return time.monotonic() - t0


def sql_times(dsn, runs):
    conn = psycopg2.connect(dsn)
    out = []
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            for name, q in VIEWS:
                ms = []
                size = 0
                for _ in range(runs):
                    t0 = time.perf_counter()
                    cur.execute(q.replace("SELECT ", "SELECT length(", 1) + "::text)")
                    size = cur.fetchone()[0]
                    ms.append((time.perf_counter() - t0) * 1000)
                out.append((name, statistics.median(ms), max(ms), size))
            cur.execute("SELECT to_regprocedure('pantau_console.cameras_scan(timestamptz)')"
                        " IS NOT NULL")
            if cur.fetchone()[0]:
                for name, q in CAMERAS:
                    ms = []
                    for _ in range(runs):
                        t0 = time.perf_counter()
                        cur.execute("SELECT count(*) FROM (%s) x" % q)
                        size = cur.fetchone()[0]
                        ms.append((time.perf_counter() - t0) * 1000)
                    out.append((name, statistics.median(ms), max(ms), size))
    finally:
        conn.close()
    return out


FIRST_RENDER_JS = """
const done = arguments[arguments.length - 1];
const want = arguments[0];
const t0 = Date.now();
function look() {
    const g = document.querySelectorAll('.v-gauge[data-station]').length;
    // cameras: DOM markers (before 027) or circles on the canvas, listed under the map
    const c = Math.max(document.querySelectorAll('.v-cam[data-station]').length,
                       document.querySelectorAll('.v-cam-all li[data-station]').length);
    if (g + c >= want) {
        // drawn: the canvas and the DOM are painted by the frame after the next
        requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now())));
    } else if (Date.now() - t0 > 50000) {
        done('gave up: ' + g + ' gauges, ' + c + ' cameras at ' + location.href + ': ' +
             document.body.innerText.slice(0, 300));
    } else {
        setTimeout(look, 10);
    }
}
look();
"""

WATCH_JS = """
window.__changes = [];
window.__last = undefined;
setInterval(() => {
    const e = document.querySelector('.v-gauge[data-station="g01"]');
    const v = e ? e.dataset.siaga : undefined;
    if (v !== window.__last) {
        window.__last = v;
        window.__changes.push([Date.now(), v]);
    }
}, 5);
"""


FLOOR_HTML = """<!DOCTYPE html>
<html lang="id"><head><meta charset="utf-8"><title>floor</title>
<link rel="stylesheet" href="/lib/leaflet/leaflet.css">
<script type="module" src="js/floor.js"></script></head>
<body style="margin:0"><div id="m" style="width:1400px;height:900px"></div></body></html>
"""

FLOOR_JS = """import * as L from '/lib/leaflet/leaflet.esm.js';
L.map(document.getElementById('m')).setView([-6.285, 106.98], 12);
requestAnimationFrame(() => requestAnimationFrame(() => { window.floorPainted = performance.now(); }));
"""

FLOOR_WAIT_JS = """
const done = arguments[arguments.length - 1];
(function look() {
    if (window.floorPainted) { done(window.floorPainted); } else { setTimeout(look, 10); }
})();
"""


def web_with_floor(root):
    """A copy of console/web with floor.html: an empty Leaflet map, served like the console."""
    import shutil
    web = os.path.join(root, "web-floor")
    shutil.copytree(os.path.join(h.SOURCE_DIR, "console", "web"), web)
    with open(os.path.join(web, "floor.html"), "w") as f:
        f.write(FLOOR_HTML)
    with open(os.path.join(web, "js", "floor.js"), "w") as f:
        f.write(FLOOR_JS)
    return web


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def browser_figures(w, args):
    """Parts 2 and 3 in Chromium against pantau-console."""
    import console_support as C
    w.start(db_pool_size=4, threads=4, web_dir=web_with_floor(w.root))
    pw = w.add_user("bench-ops", "dashboard")
    b = w.browser(1920, 1080)
    b.set_script_timeout(60)
    w.login(b, "bench-ops", pw)
    stations = 520
    firsts = []
    failed = []
    for i in range(args.runs):
        # a new document each time (a query string: a hash alone would not load the page)
        b.get(w.url("/?run=%d#/peta" % i))
        got = b.execute_async_script(FIRST_RENDER_JS, stations)
        if isinstance(got, str):
            failed.append(got)          # said, not hidden: printed under the table
        else:
            firsts.append(got)
        time.sleep(2)
    floors = []
    for i in range(args.runs):
        b.get(w.url("/floor.html?run=%d" % i))
        floors.append(b.execute_async_script(FLOOR_WAIT_JS))
        time.sleep(1)
    print()
    print("| first render of the map (%d stations, Chromium 1920x1080) | median ms | max ms |"
          % stations)
    print("| --- | ---: | ---: |")
    print("| navigation to every marker on screen | %.0f | %.0f |" % (
        statistics.median(firsts), max(firsts)))
    print("| floor: navigation to an empty Leaflet map painted | %.0f | %.0f |" % (
        statistics.median(floors), max(floors)))
    for f in failed:
        print("\nA run that did not finish: %s" % f[:300].replace("\n", " "))
    b.get(w.url("/?run=latency#/peta"))
    b.execute_async_script(FIRST_RENDER_JS, stations)
    b.execute_script(WATCH_JS)
    time.sleep(0.5)
    lat = []
    for i in range(args.latency):
        level = 215.0 if i % 2 == 0 else 60.0
        want = "1" if level > 200 else "4"
        seen = len(b.execute_script("return window.__changes"))
        w.readings([("g01", level)])
        committed = time.time() * 1000
        deadline = time.monotonic() + 15
        while True:
            ch = b.execute_script("return window.__changes")
            new = [c for c in ch[seen:] if c[1] == want]
            if new:
                lat.append(new[0][0] - committed)
                break
            if time.monotonic() > deadline:
                raise AssertionError("g01 did not turn Siaga %s within 15 s" % want)
            time.sleep(0.02)
        time.sleep(0.3)
    print()
    print("| reading commit to the marker on screen (%d changes) | p50 ms | p99 ms | max ms |"
          % len(lat))
    print("| --- | ---: | ---: | ---: |")
    print("| LISTEN -> SSE `data` -> GET /api/map -> marker | %.0f | %.0f | %.0f |" % (
        pct(lat, 50), pct(lat, 99), max(lat)))
    C.quit_quietly(b)


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--latency", type=int, default=30)
    ap.add_argument("--sql-only", action="store_true")
    args = ap.parse_args()
    w = None
    if args.sql_only:
        _, dsn = h.fresh_database("bench_console")
    else:
        import console_support as C
        w = C.ConsoleWorld("bench", start=False)
        dsn = w.dsn
    print("load average at the start: %s" % load_average(), file=sys.stderr)
    secs = seed(dsn)
    print("seeded in %.1f s: 500 cameras, 20 gauges, 56 kelurahan, a week" % secs,
          file=sys.stderr)
    print("| view (SQL function) | median ms | max ms | JSON bytes |")
    print("| --- | ---: | ---: | ---: |")
    for name, med, mx, size in sql_times(dsn, args.runs):
        print("| %s | %.0f | %.0f | %d |" % (name, med, mx, size))
    if w is not None:
        browser_figures(w, args)
    print("load average at the end: %s" % load_average(), file=sys.stderr)


if __name__ == "__main__":
    main()
