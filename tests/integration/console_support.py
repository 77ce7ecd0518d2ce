"""console_support.py -- what the pantau-console tests share (not a test itself).

A ConsoleWorld is one test's world: its own database (schema/migrate.sh) on the shared
PostgreSQL cluster, a pantau-console on a free port with a generated config (logging in to
PostgreSQL as a member of pantau_console, as in production, so that a missing grant fails
here), console accounts made with pantau-admin user-add (as an operator makes them; the
`viewer` role, which pantau-admin does not offer, is set in SQL afterwards), and headless
Chromium browsers (Debian's chromium and chromium-driver through python3-selenium) that log
in through the login page like a person.

    w = ConsoleWorld("auth")
    pw = w.add_user("rina", "dashboard")
    b = w.browser()                      # 1920x1080; w.browser(390, 844) for a phone
    w.login(b, "rina", pw)               # waits for the console's header to name her
    w.api("GET", "/api/alerts", session=w.session("rina", pw))

Alerts are raised as in production: flood readings written as the collector writes them (as
pantau_ingest, ledger rows first), then pantau_alert.evaluate() as the alert service calls it.
Screenshots of what a test looked at go to docs/console/<name>.png when PANTAU_SCREENSHOTS=1.
"""
import datetime
import http.client
import json
import os
import subprocess
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "harness"))

import psycopg2  # noqa: E402
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

import alertd_support as A  # noqa: E402
import broker_support as B  # noqa: E402
import pantau_harness as H  # noqa: E402

UTC = datetime.timezone.utc
STORE = str(uuid.UUID(int=21))
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"
CONSOLE_ROLE = "pantau_console_test"
SCREENSHOT_DIR = os.path.join(H.SOURCE_DIR, "docs", "console")


def console_path():
    return H.binary("console", "pantau-console")


class Session:
    """A logged-in API client (no browser): the cookie and the CSRF token."""

    def __init__(self, port, cookie, csrf, body):
        self.port = port
        self.cookie = cookie
        self.csrf = csrf
        self.body = body


class ConsoleWorld:
    def __init__(self, name, start=True, **conf):
        self.name = name
        self.root = H.workdir("console-" + name)
        self.pg, self.dsn = H.fresh_database("console_" + name.replace("-", "_"))
        self.conn = None
        self.seq = {}
        self.browsers = []
        self.proc = None
        self.port = None
        self.sql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s)"
                 " THEN CREATE ROLE " + CONSOLE_ROLE + " LOGIN; END IF;"
                 " EXCEPTION WHEN unique_violation OR duplicate_object THEN NULL; END $$",
                 CONSOLE_ROLE)
        self.sql("GRANT pantau_console TO " + CONSOLE_ROLE)
        self.console_dsn = self.dsn.replace("user=postgres", "user=" + CONSOLE_ROLE)
        assert self.console_dsn != self.dsn, self.dsn
        if start:
            self.start(**conf)

    # ---- database ---------------------------------------------------------------------------

    def sql(self, query, *args):
        for attempt in (1, 2):
            try:
                if self.conn is None or self.conn.closed:
                    self.conn = psycopg2.connect(self.dsn)
                    self.conn.autocommit = True
                with self.conn.cursor() as cur:
                    cur.execute(query, args or None)
                    return cur.fetchall() if cur.description else []
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                self.conn = None
                if attempt == 2:
                    raise
        return []

    def admin(self, *args, input=None):
        argv = [B.admin_path(), "--db", self.dsn] + list(args)
        r = subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=120)
        if r.returncode != 0:
            raise AssertionError("pantau-admin %s failed (%d): %s" % (
                " ".join(args), r.returncode, r.stderr))
        return r

    def add_user(self, name, role, unit=None, password=None):
        """A console account with a password, made by pantau-admin user-add (password on
        stdin, the minimum iterations so that tests stay fast). Returns the password."""
        password = password or "pw-" + uuid.uuid4().hex[:12]
        args = ["user-add", name, "--role", role, "--password-file", "-", "--iterations",
                "100000"]
        if unit:
            args += ["--unit", unit]
        self.admin(*args, input=password + "\n")
        got = self.sql("SELECT role FROM pantau_ops.account WHERE username = %s", name)
        assert got == [(role,)], (name, role, got)
        return password

    def gauge(self, station, name=None, s3=81, s2=151, s1=201, kelurahan="32.75.01.1001"):
        self.sql("INSERT INTO pantau.station (station_id, kind, name, lat, lon, kelurahan_code)"
                 " VALUES (%s, 'flood_gauge', %s, -6.24, 106.99, %s)",
                 station, name or station, kelurahan)
        self.sql("INSERT INTO pantau.gauge_threshold (station_id, quantity, valid, siaga3_from,"
                 " siaga2_from, siaga1_from) VALUES (%s, 'level_cm', tstzrange('2020-01-01',"
                 " NULL), %s, %s, %s)", station, s3, s2, s1)

    def readings(self, rows):
        """rows: [(station, level_cm)] taken now, one transaction as the collector writes."""
        A.commit_readings(self.dsn, self.seq, STORE, rows)

    def evaluate(self):
        """Runs the alert rules as pantau-alertd does, until the queue is empty."""
        for _ in range(20):
            if self.sql("SELECT pantau_alert.evaluate()")[0][0] == 0:
                return
        raise AssertionError("pantau_alert.evaluate() kept finding work")

    def raise_flood(self, station, level_cm, **gauge):
        """A gauge (made if new) read at Siaga 4 and then at level_cm; returns the id of the
        newest flood_level alert of the station."""
        if not self.sql("SELECT 1 FROM pantau.station WHERE station_id = %s", station):
            self.gauge(station, **gauge)
            self.readings([(station, 50)])
            self.evaluate()
        self.readings([(station, level_cm)])
        self.evaluate()
        rows = self.sql("SELECT alert_id FROM pantau_alert.alert WHERE station_id = %s"
                        " AND kind = 'flood_level' ORDER BY alert_id DESC LIMIT 1", station)
        assert rows, "no flood_level alert for %s at %s cm" % (station, level_cm)
        return rows[0][0]

    def alert_state(self, alert_id):
        return self.sql("SELECT state, acknowledged_by, acknowledged_note FROM"
                        " pantau_alert.alert WHERE alert_id = %s", alert_id)[0]

    # ---- pantau-console ---------------------------------------------------------------------

    def conf_text(self, **overrides):
        settings = {
            "listen_address": "127.0.0.1",
            "listen_port": self.port,
            "web_dir": os.path.join(H.SOURCE_DIR, "console", "web"),
            "js_lib_dir": "/usr/share/javascript",
            "db_conninfo": self.console_dsn,
            "db_pool_size": 3,
            "threads": 4,
            "sse_keepalive": "2s",
            "log_level": "info",
        }
        settings.update(overrides)
        return "".join("%s %s\n" % (k, v) for k, v in settings.items() if v is not None)

    def write_conf(self, name="console.conf", **overrides):
        path = os.path.join(self.root, name)
        with open(path, "w") as f:
            f.write(self.conf_text(**overrides))
        return path

    def start(self, **overrides):
        self.port = H.free_port()
        path = self.write_conf(**overrides)
        self.proc = H.Program("pantau-console", [console_path(), "-c", path],
                              self.root).start()
        H.wait_until(lambda: self.proc.running() and H.port_open(self.port), 20,
                     "pantau-console listening on %d" % self.port)
        return self

    def stop(self):
        return self.proc.stop() if self.proc else None

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    # ---- HTTP without a browser -------------------------------------------------------------

    def api(self, method, path, body=None, session=None, csrf=True, headers=None):
        """One request; returns (status, headers dict (lower-case names), parsed JSON or
        text)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        hdrs = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        if session is not None:
            hdrs["Cookie"] = "pantau_session=" + session.cookie
            if csrf and method == "POST":
                hdrs["X-CSRF-Token"] = session.csrf
        hdrs.update(headers or {})
        try:
            conn.request(method, path, body=data, headers=hdrs)
            r = conn.getresponse()
            raw = r.read().decode("utf-8", "replace")
            got = {k.lower(): v for k, v in r.getheaders()}
        finally:
            conn.close()
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = raw
        return r.status, got, parsed

    def session(self, username, password):
        """Logs in through POST /api/login; returns a Session (fails the test when refused)."""
        status, hdrs, body = self.api("POST", "/api/login",
                                      {"username": username, "password": password})
        assert status == 200, "login of %s: %s %s" % (username, status, body)
        cookie = hdrs.get("set-cookie", "")
        assert cookie.startswith("pantau_session="), cookie
        return Session(self.port, cookie.split(";")[0].split("=", 1)[1], body["csrf"], body)

    # ---- browsers ---------------------------------------------------------------------------

    def browser(self, width=1920, height=1080, args=()):
        """A headless Chromium of width x height (and Chromium's args), closed at exit."""
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                    "--window-size=%d,%d" % (width, height), "--disable-gpu",
                    "--no-first-run", "--no-default-browser-check",
                    "--autoplay-policy=no-user-gesture-required") + tuple(args):
            opts.add_argument(arg)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        log = os.path.join(self.root, "chromedriver-%d.log" % len(self.browsers))
        drv = webdriver.Chrome(service=Service(CHROMEDRIVER, log_output=log), options=opts)
        drv.set_page_load_timeout(30)
        # headless Chromium keeps windows at least 500 px wide: a phone's width is emulated
        # (the viewport, touch and the mobile flag, as DevTools' device mode does)
        drv.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1,
            "mobile": width < 800})
        self.browsers.append(drv)
        H.on_exit(lambda: quit_quietly(drv))
        return drv

    def login(self, drv, username, password, expect_ok=True, base=None):
        """Logs in through the login page as a person does (at base, e.g. a proxy's
        https://host:port, instead of the console's own port)."""
        drv.get((base + "/login.html") if base else self.url("/login.html"))
        H.wait_until(lambda: drv.find_element(By.ID, "username").is_displayed(), 15,
                     "the login form")
        drv.find_element(By.ID, "username").clear()
        drv.find_element(By.ID, "username").send_keys(username)
        drv.find_element(By.ID, "password").send_keys(password)
        drv.find_element(By.ID, "login-submit").click()
        if expect_ok:
            H.wait_until(lambda: username.strip().lower() in drv.find_element(By.ID, "user").text,
                         15, "the console's header to name %s" % username)

    def screenshot(self, drv, name):
        """docs/console/<name>.png when PANTAU_SCREENSHOTS=1."""
        if os.environ.get("PANTAU_SCREENSHOTS") == "1":
            os.makedirs(SCREENSHOT_DIR, exist_ok=True)
            drv.save_screenshot(os.path.join(SCREENSHOT_DIR, name + ".png"))


def quit_quietly(drv):
    try:
        drv.quit()
    except Exception:  # a browser that died already
        pass


def visible_text(drv):
    return drv.find_element(By.TAG_NAME, "body").text


def wait_text(drv, text, timeout=15, css="body"):
    """Waits until the element matched by css shows text (as a person reads it)."""
    return H.wait_until(lambda: text in drv.find_element(By.CSS_SELECTOR, css).text, timeout,
                        "%r on the page" % text)


def no_horizontal_scroll(drv):
    return drv.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth + 1")


def now_ms():
    return int(time.time() * 1000)
