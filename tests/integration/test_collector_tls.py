#!/usr/bin/python3
"""test_collector_tls.py -- a remote collector reaches the broker over TLS: a real mosquitto with
a TLS listener (a CA and a server certificate made with the openssl command for the test) and a
password file; the collector verifies the broker's certificate, logs in with its username and a
password from a file, and stores and acknowledges what devices send on the plain listener. A
collector that does not trust the broker's CA never connects; TLS files it cannot read are a
configuration error naming the key.
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from collector_support import H, env_for, run_tests, wait_for  # noqa: E402
from test_agent_tls import make_pki  # noqa: E402


def broker_with_tls(d):
    """mosquitto config lines: a password file with collector-1, a TLS listener; its port."""
    pwfile = os.path.join(d, "mosquitto.passwd")
    r = subprocess.run(["mosquitto_passwd", "-c", "-b", pwfile, "collector-1", "tls-pw-c1"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    assert r.returncode == 0, r.stdout
    os.chmod(pwfile, 0o644)
    port = H.free_port()
    extra = ("password_file {pw}\nlistener {p} 127.0.0.1\ncafile {d}/ca.pem\n"
             "certfile {d}/server.pem\nkeyfile {d}/server.key\ntls_version tlsv1.2\n").format(
                 pw=pwfile, p=port, d=d)
    return extra, port


def test_collector_over_tls_with_a_password():
    d = H.workdir("collector-tls")
    make_pki(d)
    extra, tls_port = broker_with_tls(d)
    pw = os.path.join(d, "collector.pass")
    with open(pw, "w") as f:
        f.write("tls-pw-c1\n")
    with env_for("collector-tls", broker_extra=extra) as env:
        c = env.collector(mqtt_port=tls_port, mqtt_tls="true", mqtt_tls_cafile=d + "/ca.pem",
                          mqtt_username="collector-1", mqtt_password_file=pw)
        wait_for(lambda: "connected to broker" in c.log(), 30, "the collector to connect over TLS")
        dev = env.device("gw-tls-c1", "flood", "st-tls-c1")
        dev.send(100)
        assert dev.wait_all_acked(60), "unacked: %s" % dev.unacked()[:10]
        assert env.scalar("SELECT count(*) FROM pantau.reading_ledger") == 100
        assert "tls-pw-c1" not in c.log()
        c.stop()


def test_collector_that_does_not_trust_the_broker_never_connects():
    d = H.workdir("collector-tls-untrusted")
    make_pki(d)
    other = os.path.join(d, "other")
    os.makedirs(other)
    make_pki(other)   # another CA: the broker's certificate is not signed by it
    extra, tls_port = broker_with_tls(d)
    pw = os.path.join(d, "collector.pass")
    with open(pw, "w") as f:
        f.write("tls-pw-c1\n")
    with env_for("collector-tls-untrusted", broker_extra=extra) as env:
        c = env.collector(mqtt_port=tls_port, mqtt_tls="true",
                          mqtt_tls_cafile=other + "/ca.pem", mqtt_username="collector-1",
                          mqtt_password_file=pw, start=False)
        c.start(wait_db=False)
        dev = env.device("gw-tls-c2", "flood", "st-tls-c2")
        dev.send(5)
        # it keeps trying (and failing the handshake): nothing is stored or acknowledged
        wait_for(lambda: "OpenSSL Error" in H.tail(env.mosq.log, 200), 30,
                 "the broker to see a failed TLS handshake")
        assert c.running()
        assert env.scalar("SELECT count(*) FROM pantau.reading_ledger") == 0
        assert not dev.acked
        c.stop()


def test_collector_reconnects_after_a_failed_tls_handshake():
    """A reconnect whose TLS handshake fails (the broker back for a while with a certificate the
    collector does not trust) and the broker right again: the collector connects by itself and
    stores what came meanwhile. libmosquitto's own thread (mosquitto_loop_start) ends for good
    on MOSQ_ERR_TLS; the collector's loop (msg/mosq_loop.c) retries every failure."""
    d = H.workdir("collector-tls-again")
    make_pki(d)
    other = os.path.join(d, "other")
    os.makedirs(other)
    make_pki(other)
    extra, tls_port = broker_with_tls(d)
    pw = os.path.join(d, "collector.pass")
    with open(pw, "w") as f:
        f.write("tls-pw-c1\n")
    with env_for("collector-tls-again", broker_extra=extra) as env:
        c = env.collector(mqtt_port=tls_port, mqtt_tls="true", mqtt_tls_cafile=d + "/ca.pem",
                          mqtt_username="collector-1", mqtt_password_file=pw)
        wait_for(lambda: "connected to broker" in c.log(), 30, "the collector to connect")
        # the broker comes back with another CA's certificate: the handshake fails
        env.mosq.stop()
        good = env.mosq.extra
        env.mosq.extra = good.replace(d + "/server.", other + "/server.")
        assert env.mosq.extra != good
        env.mosq.start()
        wait_for(lambda: "OpenSSL Error" in H.tail(env.mosq.log, 200), 60,
                 "a failed TLS handshake at the broker")
        # the broker right again: the collector must come back by itself
        env.mosq.stop()
        env.mosq.extra = good
        env.mosq.start()
        dev = env.device("gw-tls-again", "flood", "st-tls-again")
        dev.send(20)
        assert dev.wait_all_acked(90), "unacked after the broker was right again: %s\n%s" % (
            dev.unacked()[:10], c.log()[-2000:])
        assert c.running()
        c.stop()


def test_tls_files_it_cannot_read_are_a_config_error():
    d = H.workdir("collector-tls-conf")
    conf = os.path.join(d, "c.conf")
    with open(conf, "w") as f:
        f.write("collector_id collector-1\ndb_conninfo dbname=x\nmqtt_tls true\n"
                "mqtt_tls_cafile /nonexistent/ca.pem\n")
    r = subprocess.run([os.path.join(os.environ.get("PANTAU_BUILD_DIR", "build"), "collector",
                                     "pantau-collector"), "-c", conf, "--check"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 2, out
    assert "%s:4: mqtt_tls_cafile" % conf in out and "cannot read" in out, out


if __name__ == "__main__":
    run_tests(globals())
