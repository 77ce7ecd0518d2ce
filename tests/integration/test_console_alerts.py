#!/usr/bin/python3
"""test_console_alerts.py -- the console's alerts, live, in real browsers (issue 12, "Alerts"
and "Tests in a real browser").

Alerts are raised as in production (flood readings written as the collector writes them, then
pantau_alert.evaluate()), pantau-console runs against the same database as a member of
pantau_console, and headless Chromium drives the page:
- an operator (dashboard) acknowledges an alert with a note in one browser, and a second
  browser, open on the alerts view, shows it acknowledged by that person without a reload
  (server-sent events from the console's one LISTEN connection);
- a new Siaga 1 flashes a banner naming the gauge on a page already open;
- with the database unreachable the page stays and says so (the API answers 503 with a JSON
  error), and when it is back the page fetches again by itself;
- a viewer sees the alerts but no button, its POST is refused 403 by the server, and the
  database refuses the same call as well;
- a unit account sees only the alerts routed to its unit and cannot act on the others;
- the live stream's ids increase, Last-Event-ID replays what a browser missed, `data`
  events are coalesced (one per 500 ms at most), and SIGTERM with streams open exits 0;
- the layout works at 1920x1080 and at a phone's 390x844: no horizontal scroll, every
  navigation link visible and usable.
"""
import http.client
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import console_support as C  # noqa: E402
import pantau_harness as H  # noqa: E402
import psycopg2  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

W = C.ConsoleWorld("alerts")
PW = {
    "rina": W.add_user("rina", "dashboard"),
    "budi": W.add_user("budi", "dashboard"),
    "vivi": W.add_user("vivi", "viewer"),
    "bpbd1": W.add_user("bpbd1", "unit", unit="bpbd"),
    "dishub1": W.add_user("dishub1", "unit", unit="dishub"),
}


def card(drv, alert_id):
    found = drv.find_elements(By.CSS_SELECTOR, '[data-alert-id="%d"]' % alert_id)
    return found[0] if found else None


def test_an_acknowledgement_in_one_browser_shows_in_another_without_reload():
    alert = W.raise_flood("kali-bekasi", 210, name="Kali Bekasi P.62")
    a = W.browser()
    b = W.browser()
    W.login(a, "rina", PW["rina"])
    W.login(b, "budi", PW["budi"])
    for drv in (a, b):
        drv.get(W.url("/#/peringatan"))
        H.wait_until(lambda d=drv: card(d, alert) is not None, 15, "the alert's card")
    H.wait_until(lambda: b.find_element(By.ID, "live").get_attribute("data-state") == "on", 15,
                 "browser b's live stream")
    b.execute_script("window.__noReload = 'still here'")
    c = card(a, alert)
    assert "Siaga 1" in c.text and "Kali Bekasi P.62" in c.text, c.text
    c.find_element(By.NAME, "note").send_keys("tim BPBD berangkat")
    c.find_element(By.CSS_SELECTOR, "button.ack").click()
    H.wait_until(lambda: W.alert_state(alert)[0] == "acknowledged", 10, "the acknowledgement")
    assert W.alert_state(alert)[1:] == ("rina", "tim BPBD berangkat"), W.alert_state(alert)
    # browser b: the card says who, without a reload
    H.wait_until(lambda: "Ditanggapi oleh rina" in (card(b, alert).text if card(b, alert) else ""),
                 10, "browser b to show the acknowledgement")
    assert b.execute_script("return window.__noReload") == "still here"
    assert "tim BPBD berangkat" in card(b, alert).text
    W.screenshot(a, "alerts")


def test_a_new_siaga_1_flashes_on_an_open_page():
    W.raise_flood("cikeas", 100, name="Cikeas Hulu")            # Siaga 3: no flash
    b = W.browser()
    W.login(b, "budi", PW["budi"])
    b.get(W.url("/#/sistem"))
    H.wait_until(lambda: b.find_element(By.ID, "live").get_attribute("data-state") == "on", 15,
                 "the live stream")
    time.sleep(0.5)  # the watcher's first look (what is open already) has answered
    assert not b.find_element(By.ID, "flash").is_displayed()
    W.raise_flood("cileungsi", 230, name="Cileungsi Jembatan")
    H.wait_until(lambda: b.find_element(By.ID, "flash").is_displayed(), 10, "the flash")
    text = b.find_element(By.ID, "flash").text
    assert "SIAGA 1" in text and "Cileungsi Jembatan" in text, text
    assert text.count("Cileungsi Jembatan") == 1, text      # its level and rise alerts: once
    W.screenshot(b, "siaga1-flash")


def test_a_viewer_sees_no_buttons_and_is_refused_by_server_and_database():
    alert = W.raise_flood("bojong", 215, name="Bojong Menteng")
    b = W.browser()
    W.login(b, "vivi", PW["vivi"])
    assert "hanya baca" in b.find_element(By.ID, "user").text
    b.get(W.url("/#/peringatan"))
    H.wait_until(lambda: card(b, alert) is not None, 15, "the alert's card")
    assert b.find_elements(By.CSS_SELECTOR, "button.ack, button.resolve") == []
    assert "Tanggapi" not in C.visible_text(b)
    s = W.session("vivi", PW["vivi"])
    for action in ("ack", "resolve"):
        status, _, body = W.api("POST", "/api/alerts/%d/%s" % (alert, action), {"note": "x"},
                                session=s)
        assert (status, body["error"]) == (403, "forbidden"), (status, body)
    # the database refuses it too, whoever calls
    try:
        W.sql("SELECT pantau_console.acknowledge('vivi', %s, 'x')", alert)
        raise AssertionError("the database let a viewer acknowledge")
    except psycopg2.errors.InsufficientPrivilege:
        pass
    assert W.alert_state(alert)[0] == "open"


def test_a_unit_sees_and_acts_only_on_its_own_units_alerts():
    alert = W.raise_flood("pekayon", 205, name="Pekayon")        # routed to bpbd, sda, poc
    other = W.session("dishub1", PW["dishub1"])
    status, _, body = W.api("GET", "/api/alerts?state=all", session=other)
    assert status == 200 and body["alerts"] == [], body
    status, _, body = W.api("POST", "/api/alerts/%d/ack" % alert, {"note": "x"}, session=other)
    assert status == 404, (status, body)
    mine = W.session("bpbd1", PW["bpbd1"])
    status, _, body = W.api("GET", "/api/alerts", session=mine)
    assert alert in [a["alert_id"] for a in body["alerts"]], body
    b = W.browser()
    W.login(b, "dishub1", PW["dishub1"])
    b.get(W.url("/#/peringatan"))
    C.wait_text(b, "Tidak ada peringatan terbuka", 15)
    status, _, body = W.api("POST", "/api/alerts/%d/resolve" % alert, {"note": "surut"},
                            session=mine)
    assert status == 200 and body["alert"]["state"] == "resolved", body
    status, _, body = W.api("POST", "/api/alerts/%d/resolve" % alert, {"note": "lagi"},
                            session=mine)
    assert (status, body["error"]) == (409, "conflict"), (status, body)


def read_events(resp, want, timeout, events=None):
    """Reads SSE lines until `want` events arrived (counting those in events, which it
    extends); returns [(id, type, data)]."""
    events, cur = (events if events is not None else []), {}
    deadline = time.monotonic() + timeout
    while len(events) < want:
        assert time.monotonic() < deadline, "only %d events: %s" % (len(events), events)
        line = resp.fp.readline().decode()
        if line in ("\n", "\r\n"):
            if "event" in cur:
                events.append((int(cur["id"]), cur["event"], cur.get("data", "")))
            cur = {}
        elif ":" in line and not line.startswith(":"):
            k, v = line.rstrip("\n").split(":", 1)
            cur[k] = v.strip()
    return events


def open_stream(session, last_id=None):
    conn = http.client.HTTPConnection("127.0.0.1", W.port, timeout=20)
    headers = {"Cookie": "pantau_session=" + session.cookie, "Accept": "text/event-stream"}
    if last_id is not None:
        headers["Last-Event-ID"] = str(last_id)
    conn.request("GET", "/api/events", headers=headers)
    resp = conn.getresponse()
    assert resp.status == 200 and resp.getheader("Content-Type").startswith("text/event-stream")
    return conn, resp


def test_the_live_stream_has_increasing_ids_and_resumes_after_last_event_id():
    s = W.session("rina", PW["rina"])
    a1 = W.raise_flood("s1", 210)
    a2 = W.raise_flood("s2", 210)
    conn, resp = open_stream(s)
    W.api("POST", "/api/alerts/%d/ack" % a1, {"note": ""}, session=s)
    # the acknowledgement's `alert` event (a `data` event of the readings raise_flood wrote may
    # come first: it is held for sse_coalesce and sent when due)
    got = read_events(resp, 1, 10)
    while not any(e[1] == "alert" and '"alert_id":%d' % a1 in e[2] for e in got) \
            and len(got) < 6:
        got = read_events(resp, len(got) + 1, 10, got)
    ids = [e[0] for e in got]
    assert ids == sorted(ids) and len(set(ids)) == len(ids), got
    alert_events = [e for e in got if e[1] == "alert"]
    assert alert_events and '"alert_id":%d' % a1 in alert_events[-1][2], got
    conn.close()
    # missed while away: replayed from the ring, in order, after the id the browser had
    W.api("POST", "/api/alerts/%d/ack" % a2, {"note": ""}, session=s)
    W.readings([("s1", 220)])                                   # facts: a `data` event
    time.sleep(1.0)
    conn, resp = open_stream(s, last_id=ids[-1])
    again = read_events(resp, 2, 10)
    conn.close()
    assert again[0][0] > ids[-1] and again[1][0] > again[0][0], (ids, again)
    assert ("alert", '{"alert_id":%d}' % a2) in [(e[1], e[2]) for e in again], again
    # without a session: refused
    status, _, body = W.api("GET", "/api/events")
    assert status == 401, (status, body)


def test_data_events_are_coalesced():
    s = W.session("rina", PW["rina"])
    W.gauge("coalesce-g")
    conn, resp = open_stream(s)
    events = []

    def reader():                               # (a thread: readline blocks between events)
        cur = {}
        try:
            for raw in resp.fp:
                line = raw.decode()
                if line in ("\n", "\r\n"):
                    if cur.get("event") == "data":
                        events.append(time.monotonic())
                    cur = {}
                elif ":" in line and not line.startswith(":"):
                    k, v = line.rstrip("\n").split(":", 1)
                    cur[k] = v.strip()
        except (OSError, ValueError):
            pass
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    time.sleep(0.3)                             # the stream's first chunk
    start = time.monotonic()
    for i in range(12):                         # 12 commits, each a NOTIFY pantau_alert_pending
        W.readings([("coalesce-g", 40 + i)])
    took = time.monotonic() - start
    time.sleep(1.5)
    conn.close()
    # at most one per 500 ms (sse_coalesce) over the commits and the time read after them
    got = list(events)
    assert 1 <= len(got) <= int((took + 1.5) / 0.5) + 1 < 12, (len(got), took)
    gaps = [b - a for a, b in zip(got, got[1:])]
    assert all(g > 0.35 for g in gaps), gaps


def test_database_down_the_page_says_so_and_recovers_by_itself():
    b = W.browser()
    W.login(b, "budi", PW["budi"])
    b.get(W.url("/#/peringatan"))
    C.wait_text(b, "Yang terbuka", 15, css="#view")
    H.wait_until(lambda: b.find_element(By.ID, "live").get_attribute("data-state") == "on", 15,
                 "the live stream")
    banner = b.find_element(By.ID, "banner")
    assert not banner.is_displayed()
    s = W.session("rina", PW["rina"])
    # the console's database login stops working (as when PostgreSQL is down or refuses it)
    W.sql("ALTER ROLE " + C.CONSOLE_ROLE + " NOLOGIN")
    try:
        W.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
              C.CONSOLE_ROLE)
        b.find_element(By.XPATH, "//button[text()='Semua']").click()
        H.wait_until(lambda: banner.is_displayed(), 15, "the banner")
        assert "Basis data tidak dapat dihubungi" in banner.text, banner.text
        assert "Yang terbuka" in C.visible_text(b)              # the page stays, never blank
        status, _, body = W.api("GET", "/api/alerts", session=s)
        assert (status, body["error"]) == (503, "database_unavailable"), (status, body)
    finally:
        W.sql("ALTER ROLE " + C.CONSOLE_ROLE + " LOGIN")
    # back: the LISTEN connection comes back, every page fetches again, the banner goes
    H.wait_until(lambda: not banner.is_displayed(), 40, "the banner to go by itself")
    W.screenshot(b, "database-down")


def test_sigterm_with_live_streams_open_exits_0_and_pages_say_so():
    b = W.browser()
    W.login(b, "rina", PW["rina"])
    H.wait_until(lambda: b.find_element(By.ID, "live").get_attribute("data-state") == "on", 15,
                 "the live stream")
    s = W.session("budi", PW["budi"])
    conn, resp = open_stream(s)
    start = time.monotonic()
    assert W.stop() == 0
    assert time.monotonic() - start < 10
    conn.close()
    H.wait_until(lambda: b.find_element(By.ID, "live").get_attribute("data-state") == "off", 10,
                 "the page to say the stream is down")
    assert "Terputus" in b.find_element(By.ID, "live").text


def layout_ok(width, height):
    if not W.proc.running():
        W.start()
    b = W.browser(width, height)
    W.login(b, "budi", PW["budi"])
    for route, title in (("peringatan", "Peringatan"), ("sistem", None), ("peta", None)):
        b.get(W.url("/#/" + route))
        H.wait_until(lambda: b.find_element(By.ID, "view").get_attribute("aria-busy") is None,
                     15, "the view %s" % route)
        assert C.no_horizontal_scroll(b), "horizontal scroll at %dx%d on #/%s" % (
            width, height, route)
    links = b.find_elements(By.CSS_SELECTOR, ".main-nav a")
    assert len(links) == 5 and all(l.is_displayed() for l in links), [l.text for l in links]
    for l in links:
        r = l.rect
        assert r["x"] >= 0 and r["x"] + r["width"] <= width and r["height"] >= 36, (l.text, r)
    links[1].click()                                             # Peringatan
    H.wait_until(lambda: "#/peringatan" in b.current_url, 5, "the alerts route")
    C.wait_text(b, "Yang terbuka", 10, css="#view")
    # the language switch: English, then back
    b.find_element(By.CSS_SELECTOR, "#lang option[value=en]").click()
    C.wait_text(b, "Alerts", 10, css="nav")
    C.wait_text(b, "Data as of", 10, css="#view")
    assert C.no_horizontal_scroll(b)
    W.screenshot(b, "alerts-%dx%d" % (width, height))
    b.find_element(By.CSS_SELECTOR, "#lang option[value=id]").click()
    C.wait_text(b, "Peringatan", 10, css="nav")


def test_layout_on_a_wall_screen():
    layout_ok(1920, 1080)


def test_layout_on_a_phone():
    layout_ok(390, 844)


if __name__ == "__main__":
    H.run_tests(globals())
