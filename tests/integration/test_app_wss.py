#!/usr/bin/python3
"""test_app_wss.py -- the officers' app over wss:// (protocol.md 13): deploy/mosquitto.conf's
WebSocket listener with its TLS settings as shipped (tls_version, no client certificate), the
certificate files those of a CA made for the test (app_support.make_tls: a server certificate
for 127.0.0.1 signed by it), in a real headless chromium.

How chromium trusts the test certificate: `--ignore-certificate-errors-spki-list=<base64
SHA-256 of the server certificate's public key>`, a pin of that one key (Chromium skips the
chain check for a chain holding that key, and for no other); not `--ignore-certificate-errors`,
which would accept any certificate. The test shows the pin is what makes the difference: the
same profile without it cannot connect (the handshake fails on the unknown CA, the report stays
"tersimpan di ponsel" and nothing reaches the database), and with the pin of another key it
cannot either; with the right pin the report is stored once and shown "tersimpan di POC".
Then English is chosen at the foot of the page: the list reads "stored at the POC", and still
does when the page is opened again.
(A per-test NSS database with the CA, the other way, needs certutil (libnss3-tools), which the
build machine does not have.)
"""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from selenium.webdriver.support.ui import Select  # noqa: E402

from app_support import (STATE_SAVED, STATE_STORED, AppWorld, Browser, H,  # noqa: E402
                         make_tls, spki_sha256)


def test_a_report_is_stored_once_over_wss_with_the_test_certificate_pinned():
    tls = make_tls(H.workdir("app-wss-pki"))
    other = make_tls(H.workdir("app-wss-other-pki"))
    w = AppWorld("wss", tls_files=tls)
    assert w.ws_url.startswith("wss://")
    code = w.enrol_phone("hh-wss-01")
    profile = w.profile("p1")

    # no pin: the test CA is not trusted, nothing gets through
    b = Browser(profile).start()
    b.open(w.site.url)
    b.enrol(code)
    b.sign_in("jmt-0412")
    b.fill(kelurahan="32.75.01.1002", rw=3, rt=5, address="Jl. Mawar No. 1",
           containers=[("bath_tub", "indoor", 2, 1)], actions=["drain"])
    assert "disimpan di ponsel" in b.save()
    time.sleep(6)
    assert "Terhubung" not in b.text("#net"), b.text("#net")
    assert b.outbox() == [(1, STATE_SAVED)], b.outbox()
    assert w.stored_count("hh-wss-01") == 0
    b.quit()

    # the pin of another key: still refused
    b = Browser(profile, ["--ignore-certificate-errors-spki-list=%s"
                          % spki_sha256(other["certfile"])]).start()
    b.open(w.site.url)
    time.sleep(6)
    assert "Terhubung" not in b.text("#net"), b.text("#net")
    assert w.stored_count("hh-wss-01") == 0
    b.quit()

    # the pin of the test server's key: connected over TLS, stored once
    b = Browser(profile, ["--ignore-certificate-errors-spki-list=%s"
                          % spki_sha256(tls["certfile"])]).start()
    b.open(w.site.url)
    H.wait_until(lambda: "Terhubung" in b.text("#net"), 30,
                 "the app to connect over wss (net: %s)" % b.text("#net"))
    H.wait_until(lambda: b.outbox() == [(1, STATE_STORED)], 30,
                 "the report stored (shown: %s)" % b.outbox())
    got = w.inspections("hh-wss-01")
    assert list(got) == [1] and got[1][0] == "jmt-0412" and got[1][-1] == [
        ("bath_tub", "indoor", 2, 1)], got
    assert w.dead_letters("hh-wss-01") == 0

    # English, chosen at the foot of the page, kept on the phone (i18n/en.json)
    Select(b.q("#lang")).select_by_value("en")
    H.wait_until(lambda: b.js("return document.documentElement.lang") == "en"
                 and b.outbox() == [(1, "stored at the POC")], 20,
                 "the page in English")
    assert b.text("#signout") == "Sign out"
    b.open(w.site.url)
    assert b.outbox() == [(1, "stored at the POC")], b.outbox()
    b.quit()


if __name__ == "__main__":
    H.run_tests(globals())
