#!/usr/bin/python3
"""test_console_nginx.py -- pantau-console behind Debian's nginx as shipped
(deploy/nginx/pantau-console.conf: TLS, HTTP/2, the console on loopback in plain HTTP with
behind_https true), in a real Chromium that trusts the test's certificate by its key
(--ignore-certificate-errors-spki-list):
- the pages come over HTTP/2, and eight console pages open in one browser all have their live
  stream on (over HTTP/1.1 a browser holds six connections per host: the seventh page would
  wait for ever, console/README.md);
- a new reading reaches every one of the eight pages through its own live stream (each
  fetches its map again);
- the session cookie is Secure through the proxy; /metrics is not passed on (403).
"""
import http.client
import os
import re
import ssl
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import console_support as C  # noqa: E402
from app_support import make_tls, spki_sha256  # noqa: E402

H = C.H
PAGES = 8


def nginx_conf(root, port, console_port, tls):
    """The shipped server block with this test's port, certificate and console, in a main
    config of its own under root (nginx -p root)."""
    text = open(os.path.join(H.SOURCE_DIR, "deploy", "nginx", "pantau-console.conf")).read()
    text, n = re.subn(r"listen 443 ssl http2;", "listen 127.0.0.1:%d ssl http2;" % port, text)
    assert n == 1, "the shipped config has no `listen 443 ssl http2`"
    text = re.sub(r"\n\s*listen \[::\]:443 ssl http2;", "", text)
    text = text.replace("/etc/pantau/tls/console.crt", tls["certfile"])
    text = text.replace("/etc/pantau/tls/console.key", tls["keyfile"])
    text, n = re.subn(r"proxy_pass http://127\.0\.0\.1:8080;",
                      "proxy_pass http://127.0.0.1:%d;" % console_port, text)
    assert n == 1, "the shipped config does not pass to 127.0.0.1:8080"
    with open(os.path.join(root, "pantau-console.conf"), "w") as f:
        f.write(text)
    main = os.path.join(root, "nginx.conf")
    with open(main, "w") as f:
        f.write("user root;\nworker_processes 1;\npid %s/nginx.pid;\n"
                "error_log %s/error.log info;\nevents {}\nhttp {\n"
                "    access_log %s/access.log;\n"
                "    client_body_temp_path %s/body;\n    proxy_temp_path %s/proxy;\n"
                "    include pantau-console.conf;\n}\n" % ((root,) * 5))
    return main


def test_eight_live_pages_over_http2_behind_nginx():
    w = C.ConsoleWorld("nginx", behind_https="true")
    password = w.add_user("wati", "dashboard")
    w.gauge("st-ng-01")
    root = H.workdir("nginx")
    tls = make_tls(os.path.join(root, "tls"))
    port = H.free_port()
    main = nginx_conf(root, port, w.port, tls)
    r = subprocess.run(["nginx", "-t", "-p", root, "-c", main], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=30)
    assert r.returncode == 0, r.stdout
    H.Program("nginx", ["nginx", "-p", root, "-c", main, "-g", "daemon off;"], root).start()
    H.wait_until(lambda: H.port_open(port), 20, "nginx listening on %d" % port)
    base = "https://127.0.0.1:%d" % port

    # without a browser: the cookie is Secure through the proxy, /metrics is not passed on
    ctx = ssl.create_default_context(cafile=tls["cafile"])
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
    conn.request("POST", "/api/login", body='{"username":"wati","password":"%s"}' % password,
                 headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 200, resp.status
    cookie = resp.getheader("Set-Cookie", "")
    assert cookie.startswith("pantau_session=") and "; Secure" in cookie, cookie
    conn.request("GET", "/metrics")
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 403, resp.status
    conn.close()

    drv = w.browser(args=("--ignore-certificate-errors-spki-list=%s" %
                          spki_sha256(tls["certfile"]),))
    w.login(drv, "wati", password, base=base)
    proto = drv.execute_script(
        "return performance.getEntriesByType('navigation')[0].nextHopProtocol")
    assert proto == "h2", proto
    first = drv.current_window_handle
    handles = [first]
    for _ in range(PAGES - 1):
        drv.switch_to.new_window("tab")
        drv.get(base + "/#/peta")
        handles.append(drv.current_window_handle)

    def live_on(handle):
        drv.switch_to.window(handle)
        return drv.execute_script(
            "var e = document.getElementById('live'); return e && e.dataset.state")

    for i, handle in enumerate(handles):
        H.wait_until(lambda: live_on(handle) == "on", 30,
                     "page %d of %d with its live stream on" % (i + 1, PAGES))
    # every page's own stream tells it of a new reading: it fetches its view again
    def map_fetches(handle):
        drv.switch_to.window(handle)
        return drv.execute_script(
            "return performance.getEntriesByType('resource')"
            ".filter(function (e) { return e.name.indexOf('/api/map') >= 0; }).length")

    before = {h: map_fetches(h) for h in handles}
    assert all(n >= 1 for n in before.values()), before
    w.readings([("st-ng-01", 50)])
    for i, handle in enumerate(handles):
        H.wait_until(lambda: map_fetches(handle) > before[handle], 30,
                     "page %d of %d fetching the map again after the new reading" % (
                         i + 1, PAGES))

if __name__ == "__main__":
    H.run_tests(globals())
