#!/usr/bin/python3
"""test_collector_config.py -- the command line: a bad config exits 2 naming file:line and the
key (before anything connects), --check validates and exits 0 or 2, --help and --version exit
0, a run-time failure to start exits 1. Needs no servers.
"""
import os
import subprocess
import tempfile

from collector_support import SOURCE, collector_binary, run_tests


def run(*args, timeout=20):
    p = subprocess.run([collector_binary()] + list(args), capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def write(tmp, name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def base(tmp):
    secret = write(tmp, "db.pass", "s3cret-pw\n")
    return ("collector_id collector-1\n"
            "db_conninfo host=127.0.0.1 port=1 dbname=pantau\n"
            "db_password_file %s\n" % secret)


def test_unknown_key_exits_2_naming_file_line_and_key():
    with tempfile.TemporaryDirectory() as tmp:
        conf = write(tmp, "c.conf", base(tmp) + "# comment\nbatch_rowz 10\n")
        for args in (["-c", conf], ["-c", conf, "--check"]):
            rc, out, err = run(*args)
            assert rc == 2, (args, rc, err)
            assert "%s:5: batch_rowz" % conf in err and "unknown key" in err, err


def test_bad_value_exits_2_naming_file_line_and_key():
    cases = [("mqtt_port 99999\n", "mqtt_port"), ("batch_rows ten\n", "batch_rows"),
             ("ack_interval_ms 5 fortnights\n", "ack_interval_ms"),
             ("log_level chatty\n", "log_level"), ("collector_id Bad/Id\n", None)]
    with tempfile.TemporaryDirectory() as tmp:
        for line, key in cases:
            text = base(tmp) + line if key else base(tmp).replace("collector_id collector-1\n",
                                                                  line)
            conf = write(tmp, "c.conf", text)
            rc, out, err = run("-c", conf, "--check")
            want = "%s:4: %s" % (conf, key) if key else "%s:1: collector_id" % conf
            assert rc == 2 and want in err, (line, rc, err)
            assert "s3cret-pw" not in err + out


def test_missing_secret_file_and_missing_config_exit_2():
    with tempfile.TemporaryDirectory() as tmp:
        conf = write(tmp, "c.conf", base(tmp).replace(os.path.join(tmp, "db.pass"),
                                                      os.path.join(tmp, "nope.pass")))
        rc, _, err = run("-c", conf, "--check")
        assert rc == 2 and "nope.pass" in err, err
        rc, _, err = run("-c", os.path.join(tmp, "absent.conf"))
        assert rc == 2 and "absent.conf" in err, err
        rc, _, err = run()
        assert rc == 2 and "Usage:" in err, err
        rc, _, err = run("--frobnicate")
        assert rc == 2 and "frobnicate" in err, err


def test_check_help_and_version():
    with tempfile.TemporaryDirectory() as tmp:
        conf = write(tmp, "c.conf", base(tmp))
        rc, out, err = run("-c", conf, "--check")
        assert rc == 0, err
        assert "s3cret-pw" not in out + err
        rc, out, _ = run("--help")
        assert rc == 0 and out.startswith("Usage: pantau-collector") and "db_conninfo" in out
        rc, out, _ = run("--version")
        assert rc == 0 and out.startswith("pantau-collector "), out


def test_sample_config_in_deploy_is_valid():
    sample = os.path.join(SOURCE, "deploy", "collector.conf")
    with tempfile.TemporaryDirectory() as tmp:
        secret = write(tmp, "db.pass", "x\n")
        with open(sample) as f:
            text = f.read().replace("/etc/pantau/collector-db.pass", secret)
        text = text.replace("/etc/pantau/collector-mqtt.pass", secret)
        assert "mqtt_username           collector-1" in text  # its account, as the broker wants
        rc, out, err = run("-c", write(tmp, "collector.conf", text), "--check")
        assert rc == 0, err


def test_unreachable_metrics_port_is_a_runtime_failure_exit_1():
    with tempfile.TemporaryDirectory() as tmp:
        conf = write(tmp, "c.conf", base(tmp) + "metrics_address 203.0.113.1\n"
                     "metrics_port 9\n")
        rc, _, err = run("-c", conf)
        assert rc == 1 and "metrics" in err, (rc, err)


if __name__ == "__main__":
    run_tests(globals())
