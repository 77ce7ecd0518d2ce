#!/usr/bin/python3
"""test_alertd_tls.py -- pantau-alertd reaches the broker over TLS (issue 11; the same keys as the
collector's: mqtt_tls, mqtt_tls_cafile, mqtt_tls_certfile, mqtt_tls_keyfile). A real mosquitto
with a TLS listener that requires a client certificate (a CA, a server and a client certificate
made with the openssl command for the test, tests/integration/test_agent_tls.py):

- alertd verifies the broker's certificate, presents its own, and an alert it raises reaches a
  subscriber (on the broker's plain listener) once;
- the broker restarted under it: alertd reconnects over TLS by itself and delivers what was
  raised meanwhile;
- an alertd that does not trust the broker's CA never connects (it says so and keeps trying):
  its MQTT deliveries stay pending, nothing is published;
- TLS files it cannot read, a certificate without its key and TLS files without mqtt_tls are
  configuration errors naming file:line: key (exit 2).
"""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "harness"))
import pantau_harness as H  # noqa: E402
from alertd_support import AlertWorld, Subscriber, wait_for  # noqa: E402
from test_agent_tls import make_pki  # noqa: E402


def tls_world(name):
    d = H.workdir(name + "-pki")
    make_pki(d)
    port = H.free_port()
    extra = ("listener {p} 127.0.0.1\ncafile {d}/ca.pem\ncertfile {d}/server.pem\n"
             "keyfile {d}/server.key\ntls_version tlsv1.2\nrequire_certificate true\n").format(
                 p=port, d=d)
    w = AlertWorld(name, webhook=False, broker_extra=extra)
    w.route("bpbd", "mqtt")
    return w, d, port


def test_alertd_delivers_over_tls_with_a_client_certificate():
    w, d, port = tls_world("alertdtls")
    alertd = w.alertd(mqtt_port=port, mqtt_tls="true", mqtt_tls_cafile=d + "/ca.pem",
                      mqtt_tls_certfile=d + "/client.pem", mqtt_tls_keyfile=d + "/client.key")
    w.flood(["tls-1"])
    wait_for(lambda: w.subscriber.keys(), 30, "the alert over TLS")
    wait_for(lambda: w.pending() == 0, 10, "the delivery marked")
    time.sleep(0.5)
    (key,) = [d[0] for d in w.deliveries("mqtt")]
    assert w.subscriber.keys() == [key], w.subscriber.keys()
    assert "connected to the broker" in alertd.output()
    # the broker saw a TLS client: its plain port was not used by alertd
    assert "New client connected from 127.0.0.1" in H.tail(w.mosq.log, 400)
    assert alertd.stop() == 0


def test_alertd_reconnects_over_tls_after_the_broker_restarts():
    w, d, port = tls_world("alertdtlsre")
    alertd = w.alertd(mqtt_port=port, mqtt_tls="true", mqtt_tls_cafile=d + "/ca.pem",
                      mqtt_tls_certfile=d + "/client.pem", mqtt_tls_keyfile=d + "/client.key")
    w.flood(["tlsre-1"])
    wait_for(lambda: len(w.subscriber.keys()) == 1, 30, "the first alert over TLS")
    w.subscriber.close()
    w.mosq.stop()
    w.flood(["tlsre-2"])            # raised while the broker is down: waits in the outbox
    wait_for(lambda: "reconnecting in" in alertd.output(), 20, "alertd to see the broker gone")
    wait_for(lambda: len(w.deliveries("mqtt")) == 2, 20, "the second outbox row")
    assert w.pending() == 1
    w.mosq.start()
    late = Subscriber(w.mosq.port, "pantau/v1/_sys/alert/#")
    wait_for(lambda: w.pending() == 0, 60, "the delivery after the broker is back")
    keys = [k for k in [d[0] for d in w.deliveries("mqtt")]]
    # the retained state of both subjects, the second delivered once after the restart
    wait_for(lambda: set(late.keys()) == set(keys), 20, "both subjects' retained alerts")
    assert alertd.output().count("connected to the broker") >= 2
    assert alertd.stop() == 0


def test_alertd_that_does_not_trust_the_broker_never_connects():
    w, d, port = tls_world("alertdtlsno")
    other = os.path.join(d, "other")
    os.makedirs(other)
    make_pki(other)   # another CA: the broker's certificate is not signed by it
    alertd = w.alertd(mqtt_port=port, mqtt_tls="true", mqtt_tls_cafile=other + "/ca.pem",
                      mqtt_tls_certfile=other + "/client.pem",
                      mqtt_tls_keyfile=other + "/client.key")
    w.flood(["tlsno-1"])
    wait_for(lambda: w.deliveries("mqtt"), 20, "the outbox row")
    # every attempt fails, and says why (libmosquitto's thread retries after the first)
    wait_for(lambda: alertd.output().count("certificate verify failed") >= 2, 30,
             "alertd's failed TLS connects")
    time.sleep(1.0)
    assert alertd.running()
    assert [d[1] for d in w.deliveries("mqtt")] == ["pending"]
    assert w.subscriber.keys() == []
    assert "connected to the broker" not in alertd.output()


def check(text):
    root = H.workdir("alertd-tlsconf")
    path = os.path.join(root, "a.conf")
    with open(path, "w") as f:
        f.write("db_conninfo dbname=x\n" + text)
    r = subprocess.run([H.binary("alertd", "pantau-alertd"), "-c", path, "--check"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    return r.returncode, r.stderr.decode(), path


def test_tls_config_errors_name_the_line():
    d = H.workdir("alertd-tlsconf-pki")
    make_pki(d)
    rc, err, _ = check("mqtt_tls true\nmqtt_tls_cafile %s/ca.pem\n" % d)
    assert rc == 0, err
    rc, err, path = check("mqtt_tls true\nmqtt_tls_cafile /nonexistent/ca.pem\n")
    assert rc == 2 and "%s:3: mqtt_tls_cafile" % path in err and "cannot read" in err, err
    rc, err, path = check("mqtt_tls true\nmqtt_tls_certfile %s/client.pem\n" % d)
    assert rc == 2 and "%s:3: mqtt_tls_certfile" % path in err and "together" in err, err
    rc, err, path = check("mqtt_tls_cafile %s/ca.pem\n" % d)
    assert rc == 2 and "%s:2: mqtt_tls_cafile" % path in err and "without mqtt_tls" in err, err


if __name__ == "__main__":
    H.run_tests(globals())
