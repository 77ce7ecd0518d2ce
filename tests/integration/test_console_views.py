"""test_console_views.py -- issue 12: the console's data views in a real browser (headless
Debian chromium through python3-selenium) against real servers: PostgreSQL with the schema,
mosquitto, pantau-collector and pantau-console, as tests/integration/console_support.py starts
them. What a person sees:

- the colours of Siaga, level of service and ABJ pass WCAG AA (4.5:1) for their text;
- the map shows every station (and says each gauge's Siaga in the list beside it);
- a flood reading at Siaga 2 published by a device through the broker and the collector turns
  that gauge's marker within a few seconds, without a reload (LISTEN -> SSE -> re-fetch);
- a silent gauge's page says "Tidak ada data sejak ..." with the time of its last reading;
- the map without a tile URL (and with a tile server that does not answer) is a plain
  background with the kecamatan names, never a broken page;
- the views fit 1920x1080 and a phone's 390x844 (no sideways scrolling);
- with PANTAU_SCREENSHOTS=1 the main views are saved under docs/console/.
"""
import datetime
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "harness"))
import console_support as C  # noqa: E402
import pantau_harness as H  # noqa: E402
from collector_support import CollectorEnv  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from testdevice import ts_now  # noqa: E402

UTC = datetime.timezone.utc
VIEWS_CSS = os.path.join(H.SOURCE_DIR, "console", "web", "css", "views.css")
GAUGES = [("pos-a", "Kali Bekasi Hulu", -6.28, 106.99), ("pos-b", "Kali Cikeas", -6.33, 106.97),
          ("pos-c", "Kali Sunter", -6.22, 107.01)]
CAMERAS = [("cam-a", "Jl. Ahmad Yani", -6.245, 106.995), ("cam-b", "Kalimalang", -6.248, 106.976)]


def luminance(hex_colour):
    rgb = [int(hex_colour[i:i + 2], 16) / 255.0 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a, b):
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_colours_pass_wcag_aa():
    text = open(VIEWS_CSS).read()
    pairs = dict(re.findall(r"--([a-z0-9-]+?)-bg:\s*(#[0-9a-f]{6})", text, re.I))
    fgs = dict(re.findall(r"--([a-z0-9-]+?)-fg:\s*(#[0-9a-f]{6})", text, re.I))
    names = ["siaga-1", "siaga-2", "siaga-3", "siaga-4", "siaga-none", "los-A", "los-F",
             "abj-ok", "abj-low", "down", "incident"]
    for n in names:
        assert n in pairs and n in fgs, "no colour pair for %s" % n
    for n, bg in pairs.items():
        ratio = contrast(bg, fgs[n])
        assert ratio >= 4.5, "%s: %s on %s is %.2f:1, below WCAG AA" % (n, fgs[n], bg, ratio)
    # Siaga 1 is not the colour of any other level
    assert len({pairs["siaga-%d" % i].lower() for i in (1, 2, 3, 4)}) == 4


def seed_stations(sql, silent_hours=30):
    """Gauges and cameras with positions; pos-c last read silent_hours ago."""
    for sid, name, lat, lon in GAUGES:
        sql("INSERT INTO pantau.station (station_id, kind, name, lat, lon, kelurahan_code, datum)"
            " VALUES (%s, 'flood_gauge', %s, %s, %s, '32.75.01.1002', 'gauge_zero')"
            " ON CONFLICT (station_id) DO UPDATE SET name = excluded.name, lat = excluded.lat,"
            " lon = excluded.lon, kelurahan_code = excluded.kelurahan_code", sid, name, lat, lon)
        sql("INSERT INTO pantau.gauge_threshold (station_id, quantity, valid, siaga3_from,"
            " siaga2_from, siaga1_from) VALUES (%s, 'level_cm', '[2020-01-01,)', 81, 151, 201)",
            sid)
    for sid, name, lat, lon in CAMERAS:
        sql("INSERT INTO pantau.station (station_id, kind, name, lat, lon, kelurahan_code,"
            " capacity_pcu_h) VALUES (%s, 'traffic_camera', %s, %s, %s, '32.75.02.1003', 2000)",
            sid, name, lat, lon)
    old = datetime.datetime.now(UTC) - datetime.timedelta(hours=silent_hours)
    sql("INSERT INTO pantau.device (device_id, kind) VALUES ('gw-old', 'flood_gateway')"
        " ON CONFLICT DO NOTHING")
    sql("INSERT INTO pantau.reading_ledger (device_id, store_id, seq, stream, ts, clock_synced,"
        " replay, content_sha256, received_at) VALUES ('gw-old', %s, 1, 'flood', %s, true,"
        " false, sha256('old'::bytea), %s)", C.STORE, old, old)
    sql("INSERT INTO pantau.flood_reading (device_id, store_id, seq, station_id, ts, level_cm)"
        " VALUES ('gw-old', %s, 1, 'pos-c', %s, 60)", C.STORE, old)
    return old


def marker(drv, station):
    els = drv.find_elements(By.CSS_SELECTOR, '.v-gauge[data-station="%s"]' % station)
    return els[0] if els else None


def marker_class(drv, station):
    m = marker(drv, station)
    return m.get_attribute("class") if m is not None else ""


def cameras_listed(drv):
    """The cameras the map lists for a screen reader (they are drawn on a canvas), as
    {station: level of service}."""
    return {e.get_attribute("data-station"): e.get_attribute("data-los")
            for e in drv.find_elements(By.CSS_SELECTOR, ".v-cam-all li[data-station]")}


PROBE_JS = """
const done = arguments[arguments.length - 1];
import('/js/map.js').then((m) => done(m.probeCamera(document.getElementById('view'),
                                                    arguments[0])))
    .catch((e) => done('probe failed: ' + e));
"""


def camera_pixel(drv, station):
    """The colour a person sees at the centre of a camera's circle on the map's canvas."""
    got = drv.execute_async_script(PROBE_JS, station)
    assert isinstance(got, dict), "camera %s is not on the canvas: %s" % (station, got)
    return got["colour"]


def wait_camera_colour(drv, station, css_name, timeout=10):
    """Waits until the camera's circle is painted in the colour of views.css's css_name (the
    canvas is drawn in the frame after the data, and again after the map's first zoom)."""
    want = css_colour(css_name)
    seen = []

    def painted():
        seen.append(camera_pixel(drv, station))
        return seen[-1] == want
    try:
        H.wait_until(painted, timeout, "camera %s painted %s (%s)" % (station, want, css_name))
    except H.WaitTimeout:
        raise AssertionError("camera %s is %s on the canvas, not %s (%s)" % (
            station, seen[-1] if seen else None, want, css_name))


def css_colour(name):
    return re.search(r"--%s:\s*(#[0-9a-f]{6})" % re.escape(name), open(VIEWS_CSS).read(),
                     re.I).group(1).lower()


OVERLAPS_JS = """
const hit = (a, b) => a.left < b.right && a.right > b.left && a.top < b.bottom && a.bottom > b.top;
const gauges = [...document.querySelectorAll('.v-gauge')];
const text = (n) => { const r = document.createRange(); r.selectNodeContents(n);
                     return r.getBoundingClientRect(); };
return [...document.querySelectorAll('.v-kec-label')].flatMap((n) => gauges
    .filter((g) => hit(text(n), g.getBoundingClientRect()))
    .map((g) => n.textContent + ' under ' + g.textContent));
"""


def list_item(drv, station):
    return drv.find_element(By.CSS_SELECTOR, '.v-gauge-list li[data-station="%s"]' % station)


def console_on(env):
    """A pantau-console on the collector environment's database (its cluster: outside ctest
    each environment starts its own), logging in as a member of pantau_console."""
    w = C.ConsoleWorld("views-" + env.name, start=False)
    env.sql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '%s')"
            " THEN CREATE ROLE %s LOGIN; END IF;"
            " EXCEPTION WHEN unique_violation OR duplicate_object THEN NULL; END $$"
            % (C.CONSOLE_ROLE, C.CONSOLE_ROLE))
    env.sql("GRANT pantau_console TO " + C.CONSOLE_ROLE)
    w.dsn = env.dsn
    w.console_dsn = env.dsn.replace("user=postgres", "user=" + C.CONSOLE_ROLE)
    w.conn = None
    return w


def test_map_every_station_and_a_siaga2_reading_turns_the_marker_live():
    env = CollectorEnv("views-live")
    ok = False
    try:
        seed_stations(env.sql)
        env.collector()
        dev = env.device("gw-live", "flood", "pos-a")
        dev.send_doc(dev.reading(1, ts=ts_now(-60), level_cm=60.0))
        assert dev.wait_all_acked(30)
        w = console_on(env)
        w.start()
        pw = w.add_user("rina", "dashboard")
        b = w.browser()
        w.login(b, "rina", pw)
        b.get(w.url("/#/peta"))
        H.wait_until(lambda: all(marker(b, s) is not None for s, _, _, _ in GAUGES), 20,
                     "a marker for every gauge")
        H.wait_until(lambda: sorted(cameras_listed(b)) == sorted(c[0] for c in CAMERAS), 10,
                     "every camera on the map")
        # no counts yet: each camera's circle is drawn in the colour of "no data"
        for cam in CAMERAS:
            wait_camera_colour(b, cam[0], "los-none-bg")
        assert "v-siaga-4" in marker_class(b, "pos-a"), marker_class(b, "pos-a")
        assert "Siaga 4" in list_item(b, "pos-a").text
        assert "v-siaga-none" in marker_class(b, "pos-c")         # silent
        C.wait_text(b, "Kali Bekasi Hulu", css=".v-gauge-list")
        C.wait_text(b, "Kali Cikeas", css=".v-gauge-list")
        w.screenshot(b, "map")
        marked = b.execute_script("window.__notReloaded = true; return true;")
        assert marked
        # a Siaga 2 reading, published by the device through the broker and the collector
        t0 = time.monotonic()
        dev.send_doc(dev.reading(2, ts=ts_now(-1), level_cm=160.0))
        H.wait_until(lambda: "v-siaga-2" in marker_class(b, "pos-a"), 10,
                     "pos-a's marker to turn Siaga 2")
        took = time.monotonic() - t0
        assert b.execute_script("return window.__notReloaded === true"), "the page reloaded"
        assert "160 cm" in marker(b, "pos-a").text, marker(b, "pos-a").text
        C.wait_text(b, "Siaga 2", css='.v-gauge-list li[data-station="pos-a"]')
        print("Siaga 2 on screen %.2f s after the publish" % took)
        assert took < 5, took
        ok = True
    finally:
        env.close(ok)


def world_with_stations(name, **conf):
    w = C.ConsoleWorld(name, **conf)
    old = seed_stations(w.sql)
    w.gauge("pos-d", name="Kali Baru", kelurahan="32.75.04.1001")
    w.readings([("pos-d", 120), ("pos-a", 90), ("pos-b", 210)])
    return w, old


def test_silent_gauge_says_no_data_since():
    w, old = world_with_stations("views-silent")
    pw = w.add_user("budi", "viewer")
    b = w.browser()
    w.login(b, "budi", pw)
    b.get(w.url("/#/pos/pos-c"))
    banner = H.wait_until(lambda: [e for e in b.find_elements(By.CSS_SELECTOR, ".v-silent")
                                   if e.is_displayed()], 15, "the silent banner")[0]
    wib = old.astimezone(datetime.timezone(datetime.timedelta(hours=7)))
    assert "Tidak ada data sejak" in banner.text, banner.text
    assert wib.strftime("%d/%m/%Y") in banner.text and "WIB" in banner.text, banner.text
    assert ("%02d.%02d" % (wib.hour, wib.minute)) in banner.text, banner.text
    w.screenshot(b, "gauge-silent")
    # a gauge that reports: the chart, its level, no banner; the 7-day range on a click
    b.get(w.url("/#/pos/pos-b"))
    C.wait_text(b, "210 cm", css=".v-cards")
    C.wait_text(b, "Siaga 1", css=".v-cards")
    assert not b.find_element(By.CSS_SELECTOR, ".v-silent").is_displayed()
    assert b.find_element(By.CSS_SELECTOR, ".v-chart canvas").size["height"] > 100
    b.find_element(By.CSS_SELECTOR, '.v-range button[data-hours="168"]').click()
    H.wait_until(lambda: b.find_element(By.CSS_SELECTOR, '.v-range button[data-hours="168"]')
                 .get_attribute("aria-pressed") == "true", 5, "the 7-day range")
    C.wait_text(b, "10 menit", css="figcaption")
    w.screenshot(b, "gauge")
    # no such gauge: said so (the API's 404), not a blank page
    b.get(w.url("/#/pos/tidak-ada"))
    C.wait_text(b, "Pos tidak-ada tidak ditemukan", css=".v-status")


def test_map_without_tiles_and_with_tiles_that_fail():
    dead = "127.0.0.1:%d" % H.free_port()            # a tile server that does not answer
    for tiles, name in (("", "none"), ("http://%s/{z}/{x}/{y}.png" % dead, "dead")):
        w, _ = world_with_stations("views-tiles-" + name, tile_url=tiles or None)
        pw = w.add_user("sari", "dashboard")
        b = w.browser()
        w.login(b, "sari", pw)
        b.get(w.url("/#/peta"))
        H.wait_until(lambda: marker(b, "pos-d") is not None, 20, "the markers")
        H.wait_until(lambda: b.find_elements(By.CSS_SELECTOR, ".v-map-plain"), 15,
                     "the plain background")
        # every kecamatan's name is on the map (those off the view's edge too)
        labels = H.wait_until(lambda: [e.get_attribute("textContent")
                                       for e in b.find_elements(By.CSS_SELECTOR, ".v-kec-label")],
                              10, "kecamatan names")
        assert "BEKASI TIMUR" in [x.upper() for x in labels], labels
        assert len(labels) == 12, labels
        # no kecamatan name under a gauge's level (they sit at the mean of their stations)
        H.wait_until(lambda: not b.execute_script(OVERLAPS_JS), 10,
                     "kecamatan names off the gauges")
        assert "Siaga 3" in list_item(b, "pos-d").text
        # no script error: the only failures are the dead tile server's
        severe = [e for e in b.get_log("browser") if e["level"] == "SEVERE"
                  and dead not in e["message"] and "favicon.ico" not in e["message"]]
        assert not severe, severe
        if not tiles:
            w.screenshot(b, "map-no-tiles")


def test_layout_desktop_and_phone_and_every_view():
    w, _ = world_with_stations("views-layout")
    w.sql("INSERT INTO pantau.incident (station_id, event_id, state, type, start_at, ts, seq,"
          " device_id, store_id, confidence) VALUES ('cam-a', 'ev-1', 'new', 'accident',"
          " now() - interval '3 minutes', now() - interval '3 minutes', 1, 'gw-old', %s, 0.9)",
          C.STORE)
    # three hours of 15-minute counts: Jl. Ahmad Yani near capacity and slow (DS 0.9 at
    # 22 km/h: level of service E), Kalimalang light (DS 0.2 at 55 km/h: B)
    now = datetime.datetime.now(UTC).replace(second=0, microsecond=0)
    seq = 10
    for q in range(1, 13):
        ts = now - datetime.timedelta(minutes=15 * q + 15)
        for cam, car, speed in (("cam-a", 450, 22.0), ("cam-b", 100, 55.0)):
            seq += 1
            w.sql("INSERT INTO pantau.reading_ledger (device_id, store_id, seq, stream, ts,"
                  " clock_synced, replay, content_sha256, received_at) VALUES ('gw-old', %s,"
                  " %s, 'traffic', %s, true, false, sha256(%s::bytea), %s)",
                  C.STORE, seq, ts, str(seq).encode(), ts + datetime.timedelta(seconds=905))
            w.sql("INSERT INTO pantau.traffic_count (device_id, store_id, seq, station_id, ts,"
                  " interval_s, lane, car, motorcycle, speed_kmh) VALUES ('gw-old', %s, %s, %s,"
                  " %s, 900, 'utara', %s, 0, %s)", C.STORE, seq, cam, ts, car, speed)
    pw = w.add_user("ayu", "admin")
    for width, height, tag in ((1920, 1080, "desktop"), (390, 844, "phone")):
        b = w.browser(width, height)
        w.login(b, "ayu", pw)
        for route, expect, shot in (("#/peta", "Kali Baru", "map"),
                                    ("#/pos/pos-d", "120 cm", "gauge"),
                                    ("#/lalu-lintas", "Jl. Ahmad Yani", "traffic"),
                                    ("#/jumantik", "Margahayu", "jumantik"),
                                    ("#/sistem", "gw-old", "system")):
            b.get(w.url("/" + route))
            C.wait_text(b, expect, css="#view")
            H.wait_until(lambda: "Diperbarui" in b.find_element(By.CSS_SELECTOR,
                                                                ".v-status").text,
                         10, "%s loaded" % route)
            assert C.no_horizontal_scroll(b), "%s scrolls sideways at %dx%d" % (
                route, width, height)
            if route == "#/peta":
                # the cameras in the colour of their level of service, on the canvas as in
                # the list a screen reader reads
                H.wait_until(lambda: cameras_listed(b) == {"cam-a": "E", "cam-b": "B"}, 10,
                             "the cameras' level of service")
                wait_camera_colour(b, "cam-a", "los-E-bg")
                wait_camera_colour(b, "cam-b", "los-B-bg")
                canvas = b.find_element(By.CSS_SELECTOR, ".v-map-canvas")
                assert canvas.size["height"] >= 300 and canvas.size["width"] >= 300, canvas.size
                assert canvas.rect["x"] + canvas.size["width"] <= b.execute_script(
                    "return window.innerWidth") + 1, (canvas.rect, canvas.size)
            if route == "#/lalu-lintas":
                C.wait_text(b, "Kecelakaan", css=".v-incidents")
                worst = b.find_element(By.CSS_SELECTOR, ".v-worst li").text
                assert "Jl. Ahmad Yani" in worst and " E" in worst, worst
            if tag == "desktop" or shot == "map":
                w.screenshot(b, "%s-%s" % (shot, tag) if tag == "phone" else shot)


if __name__ == "__main__":
    H.run_tests(globals())
