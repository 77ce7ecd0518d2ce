"""The test harness itself: the shared PostgreSQL answers, databases come and go, and a private
mosquitto carries an MQTT 5 QoS 1 message, survives kill -9 and a restart on the same port."""
import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import pantau_harness as h  # noqa: E402
import paho.mqtt.client as mqtt  # noqa: E402


def test_shared_postgres_is_15_and_makes_databases():
    pg = h.shared_cluster()
    version = pg.query("postgres", "SHOW server_version")[0][0]
    assert version.startswith("15."), version
    dsn = pg.create_database("harness_selftest")
    assert "harness_selftest" in dsn
    assert pg.query("harness_selftest", "SELECT current_database()")[0][0] == "harness_selftest"
    pg.drop_database("harness_selftest")
    names = [r[0] for r in pg.query("postgres", "SELECT datname FROM pg_database")]
    assert "harness_selftest" not in names, names


def _client(port, cid, on_message=None):
    c = mqtt.Client(client_id=cid, protocol=mqtt.MQTTv5)
    got = threading.Event()
    c.on_connect = lambda *a, **k: got.set()
    if on_message:
        c.on_message = on_message
    c.connect("127.0.0.1", port)
    c.loop_start()
    h.wait_until(got.is_set, 10, "CONNACK for %s" % cid)
    return c


def _round_trip(port, payload):
    received = []
    sub = _client(port, "selftest-sub", lambda c, u, m: received.append(m.payload))
    subscribed = threading.Event()
    sub.on_subscribe = lambda *a, **k: subscribed.set()
    sub.subscribe("pantau/selftest", qos=1)
    h.wait_until(subscribed.is_set, 10, "SUBACK")
    pub = _client(port, "selftest-pub")
    info = pub.publish("pantau/selftest", payload, qos=1)
    info.wait_for_publish(10)
    h.wait_until(lambda: payload in received, 10, "the message to arrive")
    for c in (pub, sub):
        c.disconnect()
        c.loop_stop()


def test_mosquitto_round_trip_kill9_and_restart():
    work = h.workdir("harness")
    broker = h.Mosquitto(os.path.join(work, "mq")).start()
    _round_trip(broker.port, b"first")
    port = broker.port
    broker.kill9()
    assert not h.port_open(port)
    broker.start()
    assert broker.port == port
    _round_trip(broker.port, b"second")
    broker.stop()
    assert "mosquitto version 2.0" in broker.log_tail(200), broker.log_tail()


def test_wait_until_times_out_naming_what():
    try:
        h.wait_until(lambda: False, 0.2, "the impossible")
    except h.WaitTimeout as e:
        assert "the impossible" in str(e)
    else:
        raise AssertionError("wait_until did not time out")


if __name__ == "__main__":
    h.run_tests(globals())
