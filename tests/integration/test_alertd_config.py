#!/usr/bin/python3
"""test_alertd_config.py -- pantau-alertd's command line: a bad config exits 2 naming file:line
and the key (before anything connects), --check validates and exits 0 or 2, --print-config,
--help and --version exit 0, and a database that is not there is waited out (logged, with
backoff) until SIGTERM, which exits 0. Needs no servers.
"""
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import pantau_harness as H  # noqa: E402


def binary():
    return H.binary("alertd", "pantau-alertd")


def run(*args, timeout=20):
    p = subprocess.run([binary()] + list(args), capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def write(tmp, name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def base(tmp):
    secret = write(tmp, "hook.key", "hmac-s3cret\n")
    return ("alertd_id alertd-1\n"
            "db_conninfo host=127.0.0.1 port=1 dbname=pantau\n"
            "webhook_url http://127.0.0.1:1/hook\n"
            "webhook_secret_file %s\n" % secret)


def test_check_of_a_good_config_exits_0():
    with tempfile.TemporaryDirectory() as tmp:
        conf = write(tmp, "a.conf", base(tmp))
        rc, out, err = run("-c", conf, "--check")
        assert rc == 0 and "configuration is valid" in out, (rc, out, err)
        assert "hmac-s3cret" not in out + err


def test_bad_config_exits_2_naming_file_line_and_key():
    cases = [("webhook_timeout 5 fortnights\n", "webhook_timeout"),
             ("mqtt_port 99999\n", "mqtt_port"),
             ("delivery_batch many\n", "delivery_batch"),
             ("retry_min 10s\nretry_max 1s\n", "retry_max"),
             ("log_level chatty\n", "log_level"),
             ("webhook_urll http://x/\n", "webhook_urll")]
    with tempfile.TemporaryDirectory() as tmp:
        for text, key in cases:
            conf = write(tmp, "a.conf", base(tmp) + "# comment\n" + text)
            line = 5 + text.count("\n")
            for args in (["-c", conf, "--check"], ["-c", conf]):
                rc, out, err = run(*args)
                want = "%s:%d: %s" % (conf, line, key)
                assert rc == 2 and want in err, (text, args, rc, err)
                assert "hmac-s3cret" not in out + err
        conf = write(tmp, "a.conf", base(tmp).replace("http://127.0.0.1:1/hook", "ftp://x/"))
        rc, out, err = run("-c", conf, "--check")
        assert rc == 2 and "%s:3: webhook_url" % conf in err, err
        conf = write(tmp, "a.conf", "alertd_id alertd-1\n")
        rc, out, err = run("-c", conf, "--check")
        assert rc == 2 and "db_conninfo" in err, err


def test_the_sample_config_passes_check():
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(H.SOURCE_DIR, "deploy", "alertd.conf")) as f:
            text = f.read()
        secret = write(tmp, "db.pass", "pw\n")
        conf = write(tmp, "alertd.conf", text.replace("/etc/pantau/alertd-db.pass", secret))
        rc, out, err = run("-c", conf, "--check")
        assert rc == 0, (rc, out, err)


def test_usage_print_config_help_and_version():
    rc, out, err = run()
    assert rc == 2 and "Usage: pantau-alertd" in err, err
    rc, out, err = run("--bogus")
    assert rc == 2 and "unknown option" in err, err
    rc, out, err = run("--print-config")
    assert rc == 0 and "webhook_url" in out and re.search(r"^#retry_max +10m ", out, re.M), out
    rc, out, err = run("--help")
    assert rc == 0 and out.startswith("Usage: pantau-alertd") and "give_up_after" in out, out
    rc, out, err = run("--version")
    assert rc == 0 and out.startswith("pantau-alertd "), out


def test_no_database_is_waited_out_and_sigterm_exits_0():
    root = H.workdir("alertd-nodb")
    port = H.free_port()
    conf = write(root, "a.conf", base(root) + "mqtt false\nbackoff_min 50ms\nbackoff_max 200ms\n"
                 "metrics_port %d\n" % port)
    prog = H.Program("alertd-nodb", [binary(), "-c", conf], root).start()
    H.wait_until(lambda: prog.output().count("database not reachable") >= 3, 20,
                 "retries logged")
    assert prog.running()
    # the Prometheus responder says so
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5).read().decode()
    assert "pantau_alertd_db_up 0\n" in text, text
    assert 'pantau_alertd_deliveries_total{channel="webhook"} 0\n' in text, text
    time.sleep(0.2)
    assert prog.stop() == 0
    assert "hmac-s3cret" not in prog.output()


if __name__ == "__main__":
    H.run_tests(globals())
