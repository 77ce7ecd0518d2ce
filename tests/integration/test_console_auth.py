#!/usr/bin/python3
"""test_console_auth.py -- who may use pantau-console (issue 12: "People log in with the
accounts pantau already has ... sessions in HttpOnly, SameSite cookies, CSRF protection on
every change, login attempts limited").

Against a real PostgreSQL with the schema, pantau-console logging in as a member of
pantau_console, accounts made by pantau-admin, and headless Chromium:
- a person logs in through the login page and the header names them and their role;
- a wrong password is refused (401, and the page says so), and repeated attempts are slowed
  (429 with Retry-After) per user name, even with the right password, while another user
  from the same address still logs in; one address guessing many names is slowed too;
- the session cookie is HttpOnly and SameSite=Strict, and 256 random bits;
- a POST without the CSRF token (or with another session's) is refused 403 and changes nothing;
- a device or officer account cannot log in; a disabled account cannot;
- logout ends the session (the API answers 401 afterwards); so does a session unused for
  session_idle_timeout, and a restart of the console.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import console_support as C  # noqa: E402
import pantau_harness as H  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

LIMITS = {"login_attempts_per_min": 3, "login_address_attempts_per_min": 1000}
W = C.ConsoleWorld("auth", **LIMITS)
PASSWORDS = {}


def test_login_page_logs_in_and_the_header_names_the_person():
    pw = PASSWORDS["rina"] = W.add_user("rina", "dashboard")
    b = W.browser()
    W.login(b, "Rina ", pw)                     # typed as people do: the page lower-cases
    header = b.find_element(By.ID, "user").text
    assert "rina" in header and "operator" in header, header
    # the page is in Bahasa Indonesia by default
    assert "Peringatan" in b.find_element(By.TAG_NAME, "nav").text
    W.screenshot(b, "login-done")


def test_wrong_password_is_refused_and_repeated_ones_are_slowed():
    pw = W.add_user("budi", "dashboard")
    b = W.browser(390, 844)
    W.login(b, "budi", "not-the-password", expect_ok=False)
    C.wait_text(b, "salah", 10, css="#login-error")
    assert "login.html" in b.current_url
    # two more wrong ones use up the user's 3 attempts a minute
    for _ in range(2):
        status, _, body = W.api("POST", "/api/login", {"username": "budi", "password": "x"})
        assert status == 401, (status, body)
        assert body["error"] == "login_refused", body
    status, hdrs, body = W.api("POST", "/api/login", {"username": "budi", "password": pw})
    assert status == 429, (status, body)
    assert int(hdrs["retry-after"]) >= 1, hdrs
    # the page says to wait
    W.login(b, "budi", pw, expect_ok=False)
    C.wait_text(b, "Terlalu banyak", 10, css="#login-error")
    # another user from the same address is not slowed by budi's attempts
    pw2 = W.add_user("citra", "viewer")
    W.session("citra", pw2)
    _, _, metrics = W.api("GET", "/metrics")
    slowed = [l for l in metrics.splitlines() if l.startswith("pantau_console_login_slowed_total")]
    assert int(slowed[0].split()[1]) >= 2, slowed


def test_one_address_guessing_many_names_is_slowed():
    pw = W.add_user("joko", "dashboard")
    W.stop()
    W.start(login_attempts_per_min=3, login_address_attempts_per_min=4)
    try:
        statuses = [W.api("POST", "/api/login", {"username": "guess%d" % i, "password": "x"})[0]
                    for i in range(4)]
        assert statuses == [401] * 4, statuses
        status, hdrs, body = W.api("POST", "/api/login", {"username": "joko", "password": pw})
        assert status == 429 and body["error"] == "too_many_attempts", (status, body)
        assert int(hdrs["retry-after"]) >= 1, hdrs
    finally:
        W.stop()
        W.start(**LIMITS)


def test_session_cookie_is_httponly_samesite_and_random():
    w2 = W
    pw = w2.add_user("dewi", "admin")
    status, hdrs, body = w2.api("POST", "/api/login", {"username": "dewi", "password": pw})
    assert status == 200, body
    cookie = hdrs["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie, cookie
    value = cookie.split(";")[0].split("=", 1)[1]
    assert len(value) == 64 and int(value, 16) >= 0, value
    assert body["user"] == "dewi" and body["role"] == "admin" and len(body["csrf"]) == 64, body
    second = w2.session("dewi", pw)
    assert second.cookie != value and second.csrf != body["csrf"]
    # the browser's script cannot read the cookie
    b = w2.browser()
    w2.login(b, "dewi", pw)
    assert "pantau_session" not in b.execute_script("return document.cookie")


def test_post_without_the_csrf_token_is_refused_and_changes_nothing():
    pw = W.add_user("eko", "dashboard")
    s = W.session("eko", pw)
    alert = W.raise_flood("csrf-g1", 210)
    status, _, body = W.api("POST", "/api/alerts/%d/ack" % alert, {"note": "x"}, session=s,
                            csrf=False)
    assert (status, body["error"]) == (403, "csrf"), (status, body)
    status, _, body = W.api("POST", "/api/alerts/%d/ack" % alert, {"note": "x"}, session=s,
                            csrf=False, headers={"X-CSRF-Token": "0" * 64})
    assert (status, body["error"]) == (403, "csrf"), (status, body)
    # a form post (not JSON) is refused before anything else
    status, _, _ = W.api("POST", "/api/alerts/%d/ack" % alert, None, session=s,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 415, status
    assert W.alert_state(alert)[0] == "open"
    # another session's token does not do either
    other = W.session("rina", PASSWORDS["rina"])
    status, _, body = W.api("POST", "/api/alerts/%d/ack" % alert, {"note": "x"}, session=s,
                            csrf=False, headers={"X-CSRF-Token": other.csrf})
    assert (status, body["error"]) == (403, "csrf"), (status, body)
    assert W.alert_state(alert)[0] == "open"
    # with the token it goes through
    status, _, body = W.api("POST", "/api/alerts/%d/ack" % alert, {"note": "ok"}, session=s)
    assert status == 200 and body["alert"]["acknowledged_by"] == "eko", (status, body)


def test_device_officer_and_disabled_accounts_cannot_log_in():
    W.sql("INSERT INTO pantau_ops.account (username, role, secret_kind, secret_hash)"
          " SELECT 'fajar-officer', 'officer', 'password', secret_hash FROM pantau_ops.account"
          " WHERE username = 'rina'")
    pw = W.add_user("gita", "dashboard")
    W.sql("UPDATE pantau_ops.account SET enabled = false WHERE username = 'gita'")
    for user, password in (("gita", pw), ("nobody", "x"), ("fajar-officer", PASSWORDS["rina"]),
                           ("RINA", PASSWORDS["rina"]), ("x" * 65, "x")):
        status, _, body = W.api("POST", "/api/login", {"username": user, "password": password})
        assert (status, body["error"]) == (401, "login_refused"), (user, status, body)
    # a name with a line break (a forged log line) is refused before it is looked at
    status, _, body = W.api("POST", "/api/login", {"username": "rina\nforged", "password": "x"})
    assert status in (400, 401), (status, body)


def test_logout_ends_the_session():
    pw = W.add_user("hana", "viewer")
    s = W.session("hana", pw)
    assert W.api("GET", "/api/me", session=s)[0] == 200
    status, hdrs, _ = W.api("POST", "/api/logout", {}, session=s)
    assert status == 200 and "Max-Age=0" in hdrs["set-cookie"], hdrs
    status, _, body = W.api("GET", "/api/me", session=s)
    assert (status, body["error"]) == (401, "not_logged_in"), (status, body)


def test_the_routing_table_checks_parameters_and_names_a_missing_function():
    s = W.session("rina", PASSWORDS["rina"])
    bad = ["/api/alerts?state=closed", "/api/alerts?stat=open", "/api/gauge",
           "/api/gauge?station=Kali%20Bekasi", "/api/gauge?station=g1&hours=0",
           "/api/gauge?station=g1&hours=745", "/api/gauge?station=g1&hours=24;DROP",
           "/api/jumantik?week=2026-13", "/api/traffic?hours=-1"]
    for path in bad:
        status, _, body = W.api("GET", path, session=s)
        assert (status, body["error"]) == (400, "bad_request"), (path, status, body)
    # a function the database does not have (yet): 503 with a JSON error, the server lives on
    have = {r[0] for r in W.sql("SELECT proname FROM pg_proc p JOIN pg_namespace n"
                                " ON n.oid = p.pronamespace WHERE nspname = 'pantau_console'")}
    for name, path in (("map", "/api/map"), ("gauge", "/api/gauge?station=g1&hours=168"),
                       ("traffic", "/api/traffic"), ("jumantik", "/api/jumantik?week=2026-12-07"),
                       ("system", "/api/system")):
        status, _, body = W.api("GET", path, session=s)
        if name in have:
            assert status in (200, 400, 404), (path, status, body)
        else:
            assert (status, body["error"]) == (503, "not_available"), (path, status, body)
    assert W.api("GET", "/api/nothing", session=s)[0] == 404
    assert W.api("GET", "/api/me", session=s)[2]["user"] == "rina"


def test_an_idle_session_ends_and_a_restart_logs_everybody_out():
    pw = W.add_user("indra", "dashboard")
    s = W.session("indra", pw)
    # sessions live in memory: a restart ends them (the page shows the login again)
    assert W.stop() == 0
    W.start(session_idle_timeout="1s", **LIMITS)
    assert W.api("GET", "/api/me", session=s)[0] == 401
    s = W.session("indra", pw)
    for _ in range(3):                         # used within the timeout: kept
        time.sleep(0.5)
        assert W.api("GET", "/api/me", session=s)[0] == 200
    time.sleep(1.3)
    status, _, body = W.api("GET", "/api/me", session=s)
    assert (status, body["error"]) == (401, "not_logged_in"), (status, body)


def test_reloading_the_page_again_and_again_keeps_it_answering():
    """A wall screen reloads: each page's live stream must end with the page. Before live.js
    closed its EventSource on pagehide, Chromium kept the stream of each page left (six
    connections per host), and the fifth reload waited for ever on its own requests."""
    pw = W.add_user("reloader", "dashboard")
    b = W.browser()
    W.login(b, "reloader", pw)
    for i in range(8):
        b.get(W.url("/?reload=%d#/peringatan" % i))
        got = b.execute_async_script("""const done = arguments[0];
          fetch('/api/me', {credentials: 'same-origin'}).then((r) => done(r.status))
            .catch((e) => done('error ' + e));
          setTimeout(() => done('no answer in 5 s'), 5000);""")
        assert got == 200, "reload %d: %s" % (i, got)


if __name__ == "__main__":
    H.run_tests(globals())
