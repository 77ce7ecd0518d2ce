"""app_support.py -- what the officers' app tests share (not a test itself).

An AppWorld is the real pipeline for the app (app/README.md): a BrokerEnv (a real mosquitto
with pantau_broker.so and deploy/mosquitto.conf's settings, a fresh database) with one more
listener, deploy's WebSocket listener (8885) on a free port, its settings as shipped but
without TLS (the page is served from http://127.0.0.1, a secure context, so the app runs
unchanged; TLS on that listener is the shipped config's, not tested here); the real
pantau-collector logged in with its own account; phones enrolled with `pantau-admin
enrol-phone`. The app is assembled by app/build.sh into the build tree and served by
StaticSite, a small static HTTP server in a thread: it stands in for pantau-console's static
files, not for any pantau part. Browser is a headless Debian chromium driven by
python3-selenium with its own profile folder (--user-data-dir), so that a test can close it and
start it again with the same IndexedDB, service worker and cache.

    w = AppWorld("offline")
    code = w.enrol_phone("hh-test-01")         # carries officer jmt-0412 (an account made here)
    b = Browser(w.profile("p1")).start()
    b.open(w.site.url)
    b.enrol(code); b.sign_in("jmt-0412")       # with officer_password("jmt-0412")
    b.fill(kelurahan="32.75.01.1002", rw=3, rt=5, containers=[("bath_tub", "indoor", 1, 0)])
    b.save()
"""

import base64
import functools
import hashlib
import http.server
import os
import re
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import broker_support as B  # noqa: E402
import pantau_harness as H  # noqa: E402
from broker_policy_support import start_collector  # noqa: E402

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WS_PORT_SHIPPED = 8885
TLS_KEYS = ("cafile", "capath", "certfile", "keyfile", "tls_version", "ciphers",
            "ciphers_tls1.3", "crlfile")
STATE_STORED = "tersimpan di POC"     # i18n/id.json st_stored, what the officer reads
STATE_SAVED = "tersimpan di ponsel"   # st_saved


def app_inputs_digest():
    """A digest of what app/build.sh assembles: app/ and the contract files it copies."""
    import hashlib
    digest = hashlib.sha256()
    paths = [os.path.join(B.SOURCE, "schema", "json", "larva.json"),
             os.path.join(B.SOURCE, "schema", "json", "defs.json"),
             os.path.join(B.SOURCE, "schema", "data", "bekasi_wilayah.csv")]
    for base, dirs, files in os.walk(os.path.join(B.SOURCE, "app")):
        dirs[:] = sorted(d for d in dirs if d != "node_modules")
        paths.extend(os.path.join(base, f) for f in sorted(files))
    for path in paths:
        digest.update(path.encode() + b"\0")
        with open(path, "rb") as f:
            digest.update(f.read())
    return digest.hexdigest()


def build_app():
    """Assembles the app into $PANTAU_BUILD_DIR/app/web (app/build.sh) unless it is there
    from the same sources; returns the folder. Tests run two at a time: a file lock makes the
    second wait for the first's build instead of replacing the folder under it."""
    import fcntl
    out = os.path.join(B.BUILD, "app", "web")
    stamp = os.path.join(B.BUILD, "app", "web.sources")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(os.path.join(B.BUILD, "app", "build.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        want = app_inputs_digest()
        if os.path.isdir(out) and os.path.exists(stamp) and open(stamp).read() == want:
            return out
        r = subprocess.run(["bash", os.path.join(B.SOURCE, "app", "build.sh"), out],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=300)
        if r.returncode != 0:
            raise AssertionError("app/build.sh failed:\n%s" % r.stdout)
        with open(stamp, "w") as f:
            f.write(want)
    return out


def ws_listener_lines(port, tls_files=None):
    """deploy/mosquitto.conf's WebSocket listener as config lines on 127.0.0.1:port, its
    settings as shipped without the TLS files, or (tls_files: {"cafile": path, "certfile": ...,
    "keyfile": ...}) with its TLS settings as shipped, the files replaced by tls_files'."""
    settings = B.deploy_conf()[1][WS_PORT_SHIPPED]
    assert ("protocol", "websockets") in settings, "deploy's 8885 is not a websockets listener"
    lines = ["listener %d 127.0.0.1" % port]
    if tls_files is None:
        lines += ["%s %s" % kv for kv in settings if kv[0] not in TLS_KEYS]
    else:
        assert {"certfile", "keyfile"} <= {k for k, _ in settings}, "deploy's 8885 has no TLS"
        lines += ["%s %s" % (k, tls_files.get(k, v)) for k, v in settings]
    return "\n".join(lines)


def make_tls(d):
    """A test CA (ca.crt) and a server certificate for 127.0.0.1 signed by it (server.crt,
    server.key) in folder d, made with the openssl command; returns {"cafile", "certfile",
    "keyfile"} paths."""
    def openssl(*args):
        r = subprocess.run(["openssl"] + list(args), cwd=d, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=60)
        assert r.returncode == 0, "openssl %s: %s" % (" ".join(args), r.stdout)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    os.makedirs(d, exist_ok=True)
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
            "-subj", "/CN=pantau app test CA")
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "server.ext")
    return {k: os.path.join(d, f) for k, f in (("cafile", "ca.crt"), ("certfile", "server.crt"),
                                               ("keyfile", "server.key"))}


def spki_sha256(cert):
    """The base64 SHA-256 of certificate cert's SubjectPublicKeyInfo (DER), as Chromium's
    --ignore-certificate-errors-spki-list takes it."""
    pub = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-pubkey"],
                         stdout=subprocess.PIPE, check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub,
                         stdout=subprocess.PIPE, check=True).stdout
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def end_headers(self):
        # as a static file server would: the service worker script is always revalidated
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()


class StaticSite:
    """The app's files over HTTP on 127.0.0.1:port (fixed for the test: the origin owns the
    IndexedDB and the service worker). stop() and start() again to cut or give back the app
    shell's network."""

    def __init__(self, root, port=None):
        self.root = root
        self.port = port or H.free_port()
        self.url = "http://127.0.0.1:%d/" % self.port
        self.server = None
        self.thread = None
        H.on_exit(self.stop)

    def start(self):
        handler = functools.partial(_QuietHandler, directory=self.root)
        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


# an officer's verifier in an enrolment code (broker-plugins/admin_enrol.h)
VERIFIER_RE = re.compile(r";([a-z0-9._-]+):([0-9]+)\$([0-9a-f]{32})\$([0-9a-f]{64})")


def officer_verifier(secret_hash):
    """The verifier enrol-phone prints for a stored password hash: iterations, salt and the
    SHA-256 of the PBKDF2 output."""
    _, it, salt, dk = secret_hash.split("$")
    return "%s$%s$%s" % (it[2:], salt, hashlib.sha256(bytes.fromhex(dk)).hexdigest())


def check_no_secrets(env):
    """env.check_no_secrets() (no secret or hash in any log or message), with the one exception
    of enrol-phone: an officer's verifier (her hash's salt, iterations and a check that is not
    the stored digest) is printed in the enrolment code on stdout, each enrolment once."""
    text = env.admin_output()
    env.admin_output = lambda: VERIFIER_RE.sub(";<verifier>", text)
    try:
        env.check_no_secrets()
    finally:
        del env.admin_output


def officer_password(name):
    """The password the tests give officer name's account."""
    return "sandi-%s-rahasia" % name


class AppWorld:
    """Database, broker with the plugin and a WebSocket listener, the collector, the app."""

    def __init__(self, name, own_cluster=False, tls_files=None, **collector_conf):
        """tls_files (make_tls's): the WebSocket listener with TLS, as shipped (wss://)."""
        self.ws_port = H.free_port()
        self.env = B.BrokerEnv("app-%s" % name, own_cluster=own_cluster,
                               extra=ws_listener_lines(self.ws_port, tls_files))
        H.on_exit(self.env.close)
        self.collector = start_collector(self.env, "collector-1", **collector_conf)
        self.site = StaticSite(build_app()).start()
        self.ws_url = "%s://127.0.0.1:%d/" % ("ws" if tls_files is None else "wss", self.ws_port)

    def profile(self, name):
        path = os.path.join(self.env.root, "chromium-%s" % name)
        os.makedirs(path, exist_ok=True)
        return path

    def officer(self, name):
        """The officer account name (pantau-admin user-add --role officer, password
        officer_password(name)), made once."""
        if not self.env.scalar("SELECT count(*) FROM pantau_ops.account WHERE username = %s",
                               name):
            self.env.add_user(name, "officer", password=officer_password(name),
                              iterations=100000)
        return name

    def enrol_phone(self, device_id, officers=("jmt-0412",)):
        """pantau-admin enrol-phone: a handheld device and its account, carrying the officer
        accounts officers (made if needed); returns the one-time code it printed."""
        args = []
        for o in officers:
            args += ["--officer", self.officer(o)]
        r = self.env.admin("enrol-phone", device_id, "--key-file", self.env.key_file,
                           "--url", self.ws_url, *args)
        code = r.stdout.strip()
        assert code.startswith("pantau2;%s;" % device_id), "no code printed: %r" % r.stdout
        self.env.secrets[device_id] = code.split(";")[2]
        self.env.wait_connack(device_id, device_id, code.split(";")[2], 0)
        return code

    def inspections(self, device_id):
        """{seq: (inspector, building, kelurahan, rw, rt, address, lat, lon, larvae_found,
        actions, [(type, location, inspected, positive)])} stored for device_id; fails if a
        seq is stored twice."""
        rows = self.env.sql(
            "SELECT seq, inspector, building, kelurahan, rw, rt, address, lat, lon,"
            " larvae_found, actions FROM pantau_pii.larva_inspection WHERE device_id = %s"
            " ORDER BY seq", device_id)
        seqs = [r[0] for r in rows]
        assert len(seqs) == len(set(seqs)), "a report stored twice: %s" % seqs
        out = {}
        for r in rows:
            cont = self.env.sql(
                "SELECT type, location, inspected, positive FROM pantau.larva_container"
                " WHERE device_id = %s AND seq = %s ORDER BY type, location", device_id, r[0])
            out[r[0]] = tuple(r[1:]) + (sorted(cont),)
        return out

    def stored_count(self, device_id):
        return self.env.scalar("SELECT count(*) FROM pantau_pii.larva_inspection"
                               " WHERE device_id = %s", device_id)

    def dead_letters(self, device_id):
        return self.env.scalar("SELECT count(*) FROM pantau_ops.dead_letter WHERE device_id = %s",
                               device_id)


class Browser:
    """A headless chromium on a profile folder, driven by selenium."""

    def __init__(self, profile, extra_args=()):
        self.profile = profile
        self.extra_args = tuple(extra_args)
        self.driver = None

    def start(self):
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                    "--disable-gpu", "--user-data-dir=%s" % self.profile,
                    "--window-size=420,900", "--no-first-run",
                    "--disable-background-networking") + self.extra_args:
            opts.add_argument(arg)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
        self.driver.set_page_load_timeout(30)
        H.on_exit(self.quit)
        return self

    def quit(self):
        if self.driver is not None:
            try:
                self.driver.quit()
            except Exception:  # noqa: BLE001 - a browser already gone
                pass
            self.driver = None

    def offline(self, off):
        """DevTools network emulation for this tab (navigator.onLine and the 'offline' event
        follow it)."""
        self.driver.set_network_conditions(offline=off, latency=0, download_throughput=-1,
                                           upload_throughput=-1)

    def open(self, url, timeout=30):
        self.driver.get(url)
        H.wait_until(lambda: self.js("return document.body && document.body.dataset.ready")
                     == "true" or self.boot_error(), timeout, "the app to start")
        err = self.boot_error()
        assert not err, "the app failed to start: %s" % err

    def screenshot(self, name, css):
        """With PANTAU_APP_SCREENSHOTS set (a folder), saves the element css as <name>.png
        there (docs/app-*.png are made so); otherwise does nothing."""
        folder = os.environ.get("PANTAU_APP_SCREENSHOTS")
        if folder:
            os.makedirs(folder, exist_ok=True)
            self.q(css).screenshot(os.path.join(folder, name + ".png"))

    def console(self):
        """The page's console messages since the last call (for a failure's message)."""
        try:
            return [e.get("message") for e in self.driver.get_log("browser")]
        except Exception:  # noqa: BLE001 - a browser already gone
            return []

    def boot_error(self):
        return self.js("var p = document.querySelector('#boot-error');"
                       " return p && !p.hidden ? p.textContent : '';")

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def q(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def tap(self, element):
        """Scrolls element to the middle of the screen, as a thumb does, and taps it (the
        sticky "save" button covers the bottom of the screen)."""
        self.js("arguments[0].scrollIntoView({block: 'center'});", element)
        element.click()

    def text(self, css):
        return self.q(css).text

    def visible(self, css):
        return self.q(css).is_displayed()

    def enrol(self, code):
        box = self.q("#enrol-code")
        box.clear()
        box.send_keys(code)
        self.tap(self.q("#enrol-form button[type=submit]"))

    def sign_in(self, officer, password=None, expect_form=True):
        """Signs in as officer with password (officer_password(officer) if None); waits for
        the form, or (expect_form False) for the sign-in form's message, returned."""
        H.wait_until(lambda: self.visible("#signin-officer"), 10, "the sign-in form")
        for css, value in (("#signin-officer", officer),
                           ("#signin-password",
                            officer_password(officer) if password is None else password)):
            box = self.q(css)
            box.clear()
            box.send_keys(value)
        self.tap(self.q("#signin-form button[type=submit]"))
        if expect_form:
            H.wait_until(lambda: self.visible("#larva-form"), 20, "the form")
            return ""
        H.wait_until(lambda: self.text("#err-signin") not in ("", "Memeriksa kata sandi…"), 20,
                     "the sign-in's message")
        return self.text("#err-signin")

    def fill(self, kelurahan=None, rw=None, rt=None, address=None, building="house",
             containers=(), actions=()):
        """Fills the form as a person does (select, type, tap)."""
        if kelurahan is not None:
            Select(self.q("#f-kelurahan")).select_by_value(kelurahan)
        for css, value in (("#f-rw", rw), ("#f-rt", rt), ("#f-address", address)):
            if value is not None:
                box = self.q(css)
                box.clear()
                box.send_keys(str(value))
        self.tap(self.q("label[for=b-%s]" % building))
        for i, (ctype, location, inspected, positive) in enumerate(containers):
            self.tap(self.q("#f-add-container"))
            row = self.driver.find_elements(By.CSS_SELECTOR, ".container-row")[i]
            Select(row.find_element(By.CSS_SELECTOR, ".c-type")).select_by_value(ctype)
            Select(row.find_element(By.CSS_SELECTOR, ".c-location")).select_by_value(location)
            for cls, value in ((".c-inspected", inspected), (".c-positive", positive)):
                box = row.find_element(By.CSS_SELECTOR, cls)
                box.clear()
                box.send_keys(str(value))
        for a in actions:
            self.tap(self.q("label[for=a-%s]" % a))

    def save(self):
        """Taps "save"; returns the confirmation text or the form's error text (both are
        emptied first, so that the answer read is this tap's)."""
        # the button rests for 0.8 s after a save (one report per tap): a thumb waits for it
        H.wait_until(lambda: self.q("#f-save").is_enabled(), 5, "the save button")
        self.js("document.querySelector('#f-saved').textContent = '';"
                "document.querySelector('#f-message').textContent = '';")
        self.tap(self.q("#f-save"))
        H.wait_until(lambda: self.text("#f-saved") or self.text("#f-message"), 10,
                     "the save to answer")
        return self.text("#f-message") or self.text("#f-saved")

    def outbox(self):
        """[(seq, state text)] of the outbox list as shown, newest first (read at once: the
        list is redrawn as states change)."""
        rows = self.js("return Array.from(document.querySelectorAll('#outbox-list li'))"
                       ".map(function (li) { return [li.dataset.seq,"
                       " li.querySelector('.state').innerText]; });")
        return [(int(seq), state) for seq, state in rows]

    def held(self):
        """What the phone's IndexedDB holds: {seq: record} (read through the page)."""
        recs = self.driver.execute_async_script(
            "var done = arguments[0];"
            "var r = indexedDB.open('pantau-app');"
            "r.onsuccess = function () {"
            "  var g = r.result.transaction('outbox').objectStore('outbox').getAll();"
            "  g.onsuccess = function () { done(g.result); };"
            "  g.onerror = function () { done(null); }; };"
            "r.onerror = function () { done(null); };")
        return {rec["seq"]: rec for rec in recs or []}
