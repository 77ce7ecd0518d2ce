#!/usr/bin/python3
"""test_console_config.py -- pantau-console's command line: a bad config exits 2 naming
file:line and the key (before anything listens or connects), --check validates and exits 0 or
2, the sample config (deploy/console.conf.example) passes, TLS serves HTTPS, --print-config, --help and
--version exit 0; with no database the console still serves its page and answers the API with
503 and a JSON error (never a blank page), /metrics counts it, and SIGTERM exits 0. Needs no
servers.
"""
import http.client
import json
import os
import re
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import pantau_harness as H  # noqa: E402

WEB = os.path.join(H.SOURCE_DIR, "console", "web")


def binary():
    return H.binary("console", "pantau-console")


def run(*args, timeout=20):
    p = subprocess.run([binary()] + list(args), capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def write(tmp, name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def base(tmp):
    secret = write(tmp, "db.pass", "s3cret-db-pw\n")
    return ("db_conninfo host=127.0.0.1 port=1 dbname=pantau user=console\n"
            "db_password_file %s\n"
            "web_dir %s\n" % (secret, WEB))


def test_check_of_a_good_config_exits_0():
    with tempfile.TemporaryDirectory() as tmp:
        conf = write(tmp, "c.conf", base(tmp))
        rc, out, err = run("-c", conf, "--check")
        assert rc == 0 and "configuration is valid" in out, (rc, out, err)
        assert "s3cret-db-pw" not in out + err


def test_bad_config_exits_2_naming_file_line_and_key():
    cases = [("listen_port 70000\n", "listen_port"),
             ("session_idle_timeout 5 fortnights\n", "session_idle_timeout"),
             ("login_attempts_per_min many\n", "login_attempts_per_min"),
             ("log_level chatty\n", "log_level"),
             ("web_dir /nonexistent/console\n", "web_dir"),
             ("tile_url ftp://tiles/{z}/{x}/{y}.png\n", "tile_url"),
             ("tls_cert /etc/hostname\n", "tls_cert"),
             ("max_sse_clients 9999\n", "max_sse_clients"),
             ("listen_prot 8080\n", "listen_prot")]
    with tempfile.TemporaryDirectory() as tmp:
        for text, key in cases:
            conf = write(tmp, "c.conf", base(tmp) + "# comment\n" + text)
            line = 4 + text.count("\n")
            if key == "web_dir":
                # web_dir given twice is an error of its own; replace the first instead
                conf = write(tmp, "c.conf", base(tmp).replace(WEB, "/nonexistent/console")
                             + "# comment\n")
                line = 3
            for args in (["-c", conf, "--check"], ["-c", conf]):
                rc, out, err = run(*args)
                want = "%s:%d: %s" % (conf, line, key)
                assert rc == 2 and want in err, (text, args, rc, err)
                assert "s3cret-db-pw" not in out + err
        conf = write(tmp, "c.conf", "web_dir %s\n" % WEB)
        rc, out, err = run("-c", conf, "--check")
        assert rc == 2 and "db_conninfo" in err, err


def test_the_sample_config_passes_check():
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(H.SOURCE_DIR, "deploy", "console.conf.example")) as f:
            text = f.read()
        conf = write(tmp, "console.conf", text.replace("/usr/share/pantau/console", WEB))
        rc, out, err = run("-c", conf, "--check")
        assert rc == 0, (rc, out, err)


def test_usage_print_config_help_and_version():
    rc, out, err = run()
    assert rc == 2 and "Usage: pantau-console" in err, err
    rc, out, err = run("--bogus")
    assert rc == 2 and "unknown option" in err, err
    rc, out, err = run("--print-config")
    assert rc == 0 and re.search(r"^#session_idle_timeout +30m ", out, re.M), out
    rc, out, err = run("--help")
    assert rc == 0 and out.startswith("Usage: pantau-console") and "tile_url" in out, out
    rc, out, err = run("--version")
    assert rc == 0 and out.startswith("pantau-console "), out


def get(url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def test_no_database_serves_the_page_and_answers_503_then_sigterm_exits_0():
    root = H.workdir("console-nodb")
    port = H.free_port()
    conf = write(root, "c.conf", base(root) + "listen_port %d\ndb_wait 200ms\n" % port)
    prog = H.Program("console-nodb", [binary(), "-c", conf], root).start()
    H.wait_until(lambda: H.port_open(port), 20, "the console listening")
    url = "http://127.0.0.1:%d" % port
    status, hdrs, body = get(url + "/")
    assert status == 200 and "<nav" in body and hdrs["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in hdrs["Content-Security-Policy"]
    status, hdrs, body = get(url + "/lib/leaflet/leaflet.js")
    assert status == 200 and hdrs["Content-Type"].startswith("text/javascript"), status
    status, hdrs, body = get(url + "/lib/chart.js/chart.esm.js")
    assert status == 200, status
    for bad in ("/../etc/passwd", "/lib/../../etc/passwd", "/.git/config", "/js/%2e%2e/x",
                "/lib/jquery/jquery.js", "/lib/leaflet/../jquery/jquery.js"):
        assert get(url + bad)[0] == 404, bad
    status, _, body = get(url + "/api/login", json.dumps({"username": "a", "password": "b"})
                          .encode(), {"Content-Type": "application/json"})
    assert status == 503 and json.loads(body)["error"] == "database_unavailable", (status, body)
    status, _, body = get(url + "/api/alerts")
    assert status == 401 and json.loads(body)["error"] == "not_logged_in", (status, body)
    status, _, text = get(url + "/metrics")
    assert status == 200 and 'pantau_console_requests_total{code="503"} 1' in text, text
    assert "pantau_console_listening 0" in text, text
    time.sleep(0.2)
    assert prog.stop() == 0
    assert "s3cret-db-pw" not in prog.output()


def test_tls_serves_https_with_the_configured_certificate():
    root = H.workdir("console-tls")
    cert, key = os.path.join(root, "c.crt"), os.path.join(root, "c.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    port = H.free_port()
    conf = write(root, "c.conf", base(root) + "listen_port %d\ntls_cert %s\ntls_key %s\n"
                 % (port, cert, key))
    prog = H.Program("console-tls", [binary(), "-c", conf], root).start()
    H.wait_until(lambda: H.port_open(port), 20, "the console listening")
    ctx = ssl.create_default_context(cafile=cert)
    ctx.check_hostname = False
    with urllib.request.urlopen("https://127.0.0.1:%d/login.html" % port, context=ctx,
                                timeout=10) as r:
        assert r.status == 200 and "login-form" in r.read().decode()
    # plain HTTP on the TLS port gets no page
    try:
        urllib.request.urlopen("http://127.0.0.1:%d/login.html" % port, timeout=5).read()
        raise AssertionError("plain HTTP answered on the TLS port")
    except (urllib.error.URLError, ConnectionError, http.client.HTTPException, OSError):
        pass
    assert prog.stop() == 0


if __name__ == "__main__":
    H.run_tests(globals())
