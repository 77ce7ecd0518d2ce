#!/usr/bin/python3
"""test_agent_config.py -- pantau-agent's command line and config errors: an unknown key, a
bad value, an unknown source and a bad key inside a source's section each exit 2 with a
message naming the file, the line and the key; --check passes a good file (exit 0) without
connecting anywhere; --help and --version exit 0; a bad option exits 2; a store that cannot
be opened is a runtime failure (exit 1). The sample deploy/agent.conf passes --check once its
paths point at files that exist. Under systemd (Type=notify) the agent sends READY=1 once its
store is open and STOPPING=1 on SIGTERM to $NOTIFY_SOCKET, without libsystemd.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from agent_support import agent_binary  # noqa: E402
from collector_support import H, run_tests  # noqa: E402

import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402


def run(*args, timeout=20):
    r = subprocess.run([agent_binary()] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout)
    return r.returncode, r.stdout.decode(errors="replace")


GOOD = """# a good config
device_id gw-conf-01
mqtt_host 127.0.0.1
mqtt_port 1
store_path {dir}/agent.db

[source simulator]
flood_stations st-conf-01
rate 5
"""


def write(dir, text, name="agent.conf"):
    path = os.path.join(dir, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def test_check_passes_a_good_file_and_connects_nowhere():
    d = H.workdir("agent-conf")
    path = write(d, GOOD.format(dir=d))
    rc, out = run("-c", path, "--check")
    assert rc == 0, out
    assert "OK" in out, out
    assert not os.path.exists(os.path.join(d, "agent.db")), "--check must not open the store"


BAD = [
    # (what, text appended to GOOD's top-level lines or a whole file, line, key, words)
    ("unknown key", "mqtt_hots 127.0.0.1\n", 6, "mqtt_hots", "unknown key"),
    ("bad value", "window lots\n", 6, "window", "not an integer"),
    ("out of range", "store_max_rejected 0\n", 6, "store_max_rejected", "out of range"),
    ("bad duration", "ack_timeout_min_ms 3 weeks\n", 6, "ack_timeout_min_ms", "duration"),
    ("bad jitter", "reconnect_jitter none\n", 6, "reconnect_jitter", "full or decorrelated"),
    ("missing CA file", "tls true\ntls_cafile /nonexistent/ca.pem\n", 7, "tls_cafile",
     "cannot read '/nonexistent/ca.pem'"),
    ("missing key file", "tls true\ntls_certfile /etc/hostname\ntls_keyfile /nonexistent/k\n", 8,
     "tls_keyfile", "cannot read '/nonexistent/k'"),
]


def test_config_errors_exit_2_naming_file_line_and_key():
    d = H.workdir("agent-conf")
    for what, line_text, line, key, words in BAD:
        top, sources = GOOD.format(dir=d).split("\n[source")
        text = top + line_text + "\n[source" + sources
        path = write(d, text)
        rc, out = run("-c", path, "--check")
        assert rc == 2, (what, rc, out)
        want = "%s:%d: %s" % (path, line, key)
        assert want in out, "%s: want %r in %r" % (what, want, out)
        assert words in out, (what, out)
        # the same file without --check: the same error, exit 2, before anything runs
        rc2, out2 = run("-c", path)
        assert rc2 == 2 and want in out2, (what, rc2, out2)


def test_unknown_source_and_bad_keys_inside_a_source():
    d = H.workdir("agent-conf")
    base = GOOD.format(dir=d).split("\n[source")[0]
    cases = [
        ("unknown source", base + "\n[source teleporter]\nrate 5\n", ":7: [source teleporter]",
         "unknown source"),
        ("bad key in source", base + "\n[source simulator]\nflood_stations st-1\nrat 5\n",
         ":9: rat", "unknown key in [source simulator]"),
        ("bad value in source", base + "\n[source simulator]\nrate fast\n", ":8: rate",
         "not a number"),
        ("device key in source", base + "\n[source simulator]\nwindow 5\n", ":8: window",
         "unknown key"),
    ]
    for what, text, where, words in cases:
        path = write(d, text)
        rc, out = run("-c", path, "--check")
        assert rc == 2, (what, rc, out)
        assert path + where in out, "%s: want %r in %r" % (what, path + where, out)
        assert words in out, (what, out)


def test_missing_password_file_and_missing_required_key():
    d = H.workdir("agent-conf")
    path = write(d, GOOD.format(dir=d).replace(
        "mqtt_port 1\n", "mqtt_port 1\nmqtt_password_file %s/nope.pass\n" % d))
    rc, out = run("-c", path, "--check")
    assert rc == 2 and "%s:5: mqtt_password_file" % path in out, out
    path = write(d, "device_id gw-conf-01\n")
    rc, out = run("-c", path, "--check")
    assert rc == 2 and "mqtt_host" in out and path in out, out
    rc, out = run("-c", os.path.join(d, "absent.conf"), "--check")
    assert rc == 2 and "absent.conf" in out, out


def test_password_is_never_printed():
    d = H.workdir("agent-conf")
    pw = write(d, "hunter2-secret\n", "mqtt.pass")
    path = write(d, GOOD.format(dir=d).replace(
        "mqtt_port 1\n", "mqtt_port 1\nmqtt_password_file %s\nwindow 0\n" % pw))
    rc, out = run("-c", path, "--check")
    assert rc == 2 and ":6: window" in out, out
    assert "hunter2" not in out


def test_help_version_and_bad_usage():
    rc, out = run("--help")
    assert rc == 0 and out.startswith("Usage: pantau-agent"), out
    assert "--check" in out and "report" in out
    rc, out = run("--version")
    assert rc == 0 and out.startswith("pantau-agent "), out
    rc, out = run("--no-such-option")
    assert rc == 2, out
    rc, out = run("-c", "/x", "surplus")
    assert rc == 2, out
    rc, out = run("--print-config")
    assert rc == 0 and "device_id" in out and "[source simulator]" in out, out


def test_store_that_cannot_be_opened_is_exit_1():
    d = H.workdir("agent-conf")
    path = write(d, GOOD.format(dir=d).replace(
        "store_path %s/agent.db" % d, "store_path %s/no/such/dir/agent.db" % d))
    rc, out = run("-c", path, timeout=30)
    assert rc == 1, (rc, out)
    assert "no/such/dir/agent.db" in out, out


def test_notify_socket_gets_ready_and_stopping():
    d = H.workdir("agent-conf")
    path = write(d, GOOD.format(dir=d))
    name = "@pantau-agent-notify-%d" % os.getpid()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name[1:])
    sock.settimeout(30)
    env = dict(os.environ, NOTIFY_SOCKET=name)
    proc = subprocess.Popen([agent_binary(), "-c", path], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env)
    try:
        assert sock.recv(4096) == b"READY=1"
        assert os.path.exists(os.path.join(d, "agent.db")), "READY=1 before the store is open"
        proc.send_signal(signal.SIGTERM)
        assert sock.recv(4096) == b"STOPPING=1"
        out = proc.communicate(timeout=30)[0].decode(errors="replace")
        assert proc.returncode == 0, (proc.returncode, out)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        sock.close()
    # no libsystemd (and the libraries it pulls in) in the agent
    libs = subprocess.run(["ldd", agent_binary()], stdout=subprocess.PIPE).stdout.decode()
    assert "libsystemd" not in libs and "libgcrypt" not in libs, libs


def test_sample_config_in_deploy_passes_check():
    d = H.workdir("agent-conf")
    with open(os.path.join(H.SOURCE_DIR, "deploy", "agent.conf")) as f:
        text = f.read()
    for name in ("ca.pem", "agent.crt", "agent.key"):
        write(d, "x\n", name)
        text = text.replace("/etc/pantau/%s" % name, os.path.join(d, name))
    text = text.replace("/var/lib/pantau-agent/agent.db", os.path.join(d, "agent.db"))
    path = write(d, text)
    rc, out = run("-c", path, "--check")
    assert rc == 0, out


if __name__ == "__main__":
    run_tests(globals())
