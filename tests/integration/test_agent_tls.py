#!/usr/bin/python3
"""test_agent_tls.py -- the agent over TLS, against a real mosquitto with two TLS listeners
made for the test (a CA and certificates from the openssl command):

- with a client certificate (require_certificate, use_identity_as_username: the broker takes
  the certificate's CN, the device id, as the username), readings reach the database;
- with a username and password over TLS (password from a file the config names), it
  connects; with a wrong password the broker refuses it (CONNACK 0x86) and the agent keeps
  retrying with backoff, never logging the password.
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from agent_support import Agent, Watcher, ledger_count, simulator  # noqa: E402
from collector_support import H, env_for, run_tests, wait_for  # noqa: E402


def openssl(*args, cwd):
    r = subprocess.run(["openssl"] + list(args), cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    assert r.returncode == 0, r.stdout.decode(errors="replace")


def make_pki(d):
    """ca.pem, server.pem/key (localhost, 127.0.0.1), client.pem/key (CN gw-tls-01)."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=pantau-test-ca", cwd=d)
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for name, cn, ext in (("server", "localhost", ["-extfile", "server.ext"]),
                          ("client", "gw-tls-01", [])):
        openssl("req", *ec, "-keyout", name + ".key", "-out", name + ".csr",
                "-subj", "/CN=" + cn, cwd=d)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", name + ".pem", "-days", "2", *ext, cwd=d)
    for name in os.listdir(d):
        os.chmod(os.path.join(d, name), 0o644)


def test_tls_with_client_certificate_and_with_password():
    d = H.workdir("agent-tls")
    make_pki(d)
    pwfile = os.path.join(d, "mosquitto.passwd")
    r = subprocess.run(["mosquitto_passwd", "-c", "-b", pwfile, "gw-tls-02", "s3cret-tls"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    assert r.returncode == 0, r.stdout
    os.chmod(pwfile, 0o644)
    cert_port, pw_port = H.free_port(), H.free_port()
    tls = ("cafile {d}/ca.pem\ncertfile {d}/server.pem\nkeyfile {d}/server.key\n"
           "tls_version tlsv1.2\n").format(d=d)
    extra = ("password_file {pw}\n"
             "listener {cp} 127.0.0.1\n{tls}require_certificate true\n"
             "use_identity_as_username true\n"
             "listener {pp} 127.0.0.1\n{tls}").format(pw=pwfile, cp=cert_port, pp=pw_port,
                                                      tls=tls)
    with env_for("agent-tls", broker_extra=extra) as env:
        env.register("gw-tls-01", "flood_gateway", ["st-tls-01"])
        env.register("gw-tls-02", "flood_gateway", ["st-tls-02"])
        env.collector()
        w1 = Watcher(env.mqtt_port, "gw-tls-01").start()
        w2 = Watcher(env.mqtt_port, "gw-tls-02").start()

        # 1. client certificate
        a1 = Agent(env, "gw-tls-01", mqtt_port=cert_port, tls="true",
                   tls_cafile=d + "/ca.pem", tls_certfile=d + "/client.pem",
                   tls_keyfile=d + "/client.key",
                   sources=[simulator(flood="st-tls-01", rate=10)])
        a1.start()
        wait_for(lambda: "connected to broker ssl://127.0.0.1:%d" % cert_port in a1.run_log(),
                 30, "the certificate agent to connect")
        wait_for(lambda: ledger_count(env, "gw-tls-01") >= 10, 30, "readings over TLS stored")
        assert (w1.last_status("online") or {}).get("conn", 0) >= 1
        assert a1.stop() == 0

        # 2. username and password over TLS: a wrong password first
        bad = os.path.join(d, "bad.pass")
        with open(bad, "w") as f:
            f.write("not-the-password\n")
        a2 = Agent(env, "gw-tls-02", label="gw-tls-02-bad", mqtt_port=pw_port, tls="true",
                   tls_cafile=d + "/ca.pem", mqtt_password_file=bad,
                   sources=[simulator(flood="st-tls-02", rate=10)])
        a2.start()
        wait_for(lambda: a2.run_log().count("failed") >= 2, 30, "refused connects, retried")
        assert "connected to broker" not in a2.run_log()
        assert "not-the-password" not in a2.log()
        assert a2.stop() == 0

        good = os.path.join(d, "good.pass")
        with open(good, "w") as f:
            f.write("s3cret-tls\n")
        a3 = Agent(env, "gw-tls-02", mqtt_port=pw_port, tls="true", tls_cafile=d + "/ca.pem",
                   mqtt_password_file=good, store=a2.store,
                   sources=[simulator(flood="st-tls-02", rate=10)])
        a3.start()
        wait_for(lambda: "connected to broker ssl://" in a3.run_log(), 30,
                 "the password agent to connect")
        wait_for(lambda: ledger_count(env, "gw-tls-02") >= 10, 30, "readings stored")
        assert "s3cret-tls" not in a3.log()
        assert a3.stop() == 0
        w1.stop()
        w2.stop()


if __name__ == "__main__":
    run_tests(globals())
