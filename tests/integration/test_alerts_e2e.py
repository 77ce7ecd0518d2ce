#!/usr/bin/python3
"""test_alerts_e2e.py -- issue 11 end to end, every real part at once: mosquitto with pantau's
plugin (broker_support.BrokerEnv), two pantau-collector processes on the shared subscription,
PostgreSQL, pantau-alertd (logged in through the plugin with a collector account), a webhook
receiver (alertd_support.Receiver), a unit's console (a dashboard account subscribed to
pantau/v1/_sys/alert/bpbd/#) and a LISTEN pantau_alert connection.

Four flood gateways publish a flood wave through Siaga 3, 2, 1 and back to 4 (readings as a
device sends them: QoS 1, kept until acknowledged, resent with the same store/seq). Meanwhile
alertd is killed (-9) and restarted three times and collector-1 once. At the end:

- each gauge has exactly its six level changes as news alerts (3, 2, 1, 2, 3, 4), nothing past;
- every outbox row is delivered; at each receiver (webhook, MQTT) the distinct idempotency keys
  are exactly the rows of that channel in pantau_alert.delivery (a repeat only with the same
  key), and every news alert was told on both routes;
- every NOTIFY pantau_alert id is a news alert, each announced once, and all were announced;
- nothing is left pending (queues, outbox);
- a reading delivered again (same device/store/seq) raises nothing and delivers nothing more.
"""
import collections
import json
import os
import select
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "harness"))

import psycopg2  # noqa: E402

import pantau_harness as H  # noqa: E402
from alertd_support import SECRET, Receiver, Subscriber, signature_ok, wait_for  # noqa: E402
from broker_policy_support import device, start_collector, user  # noqa: E402
from broker_support import BrokerEnv  # noqa: E402
from testdevice import TestDevice  # noqa: E402

GAUGES = 4
# the wave: each level taken STEP s apart; the fall dwell is 1 s, so each falling level is held
# by readings spanning more than the dwell (margin 10 cm: 180 < 201 - 10, 140 < 141, 60 < 71)
WAVE = [50, 100, 170, 220, 220, 180, 180, 180, 180, 140, 140, 140, 140, 60, 60, 60, 60]
STEP = 0.45
WANT_LEVELS = [3, 2, 1, 2, 3, 4]


def prompt_publish(dev, held, topic=None):
    """TestDevice._publish, but a resend within seconds of taking the reading keeps replay
    false, as protocol.md 4.1 says (true only past history_lateness): these are news."""
    doc = held.doc
    doc["replay"] = False
    payload = json.dumps(doc, separators=(",", ":"))
    held.sent_at = time.monotonic()
    held.sends += 1
    return dev.client.publish(topic or "pantau/v1/%s/%s" % (dev.device_id, held.stream),
                              payload, qos=1)


class Listener:
    """LISTEN pantau_alert on its own connection; records every payload."""

    def __init__(self, dsn):
        self.ids = []
        self.stop_flag = threading.Event()
        self.conn = psycopg2.connect(dsn)
        self.conn.autocommit = True
        with self.conn.cursor() as cur:
            cur.execute("LISTEN pantau_alert")
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        H.on_exit(self.close)

    def _run(self):
        while not self.stop_flag.is_set():
            if select.select([self.conn], [], [], 0.2) == ([], [], []):
                continue
            self.conn.poll()
            while self.conn.notifies:
                self.ids.append(int(self.conn.notifies.pop(0).payload))

    def close(self):
        self.stop_flag.set()
        self.thread.join(5)
        self.conn.close()


def alertd_conf(env, receiver, password):
    root = env.root
    with open(os.path.join(root, "alertd-mqtt.pass"), "w") as f:
        f.write(password + "\n")
    with open(os.path.join(root, "webhook.secret"), "w") as f:
        f.write(SECRET + "\n")
    conf = os.path.join(root, "alertd.conf")
    settings = {
        "alertd_id": "alertd-1",
        "db_conninfo": env.dsn.replace("user=postgres", "user=pantau_alertd_test"),
        "mqtt_host": "127.0.0.1",
        "mqtt_port": env.port,
        "mqtt_username": "alertd-1",
        "mqtt_password_file": os.path.join(root, "alertd-mqtt.pass"),
        "puback_timeout": "3s",
        "poll_interval": "200ms",
        "escalate_interval": "1s",
        "retry_min": "200ms",
        "retry_max": "1s",
        "backoff_min": "100ms",
        "backoff_max": "1s",
        "webhook_url": "http://127.0.0.1:%d/hook" % receiver.port,
        "webhook_secret_file": os.path.join(root, "webhook.secret"),
        "webhook_timeout": "2s",
        "webhook_connect_timeout": "1s",
        "log_level": "info",
    }
    with open(conf, "w") as f:
        for key, value in settings.items():
            f.write("%s %s\n" % (key, value))
    return conf


def test_a_flood_wave_through_two_collectors_and_a_killed_alertd_is_told_once():
    env = BrokerEnv("alerts-e2e")
    try:
        run(env)
    finally:
        env.close()


def run(env):
    t0 = time.monotonic()
    env.sql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname ="
            " 'pantau_alertd_test') THEN CREATE ROLE pantau_alertd_test LOGIN;"
            " END IF; EXCEPTION WHEN unique_violation OR duplicate_object THEN NULL; END $$")
    env.sql("GRANT pantau_alertd TO pantau_alertd_test")
    env.sql("DELETE FROM pantau_alert.route")
    env.sql("DELETE FROM pantau_alert.escalation")
    env.sql("INSERT INTO pantau_alert.route (kind_pattern, unit_id, channel) VALUES"
            " ('%%', 'bpbd', 'mqtt'), ('%%', 'bpbd', 'webhook')")
    stations = ["e2e-%d" % i for i in range(GAUGES)]
    secrets = {}
    for i, st in enumerate(stations):
        secrets[st] = device(env, "gw-e2e-%d" % i, "flood_gateway", stations=[st])
        env.sql("INSERT INTO pantau.gauge_threshold (station_id, quantity, valid, siaga3_from,"
                " siaga2_from, siaga1_from) VALUES (%s, 'level_cm',"
                " tstzrange('2020-01-01', NULL), 81, 151, 201)", st)
        # a short dwell for the test; the rate-of-rise rule out of the way (its own tests)
        env.sql("INSERT INTO pantau_alert.flood_setting (station_id, valid, fall_dwell,"
                " rise_short_cm, rise_long_cm) VALUES (%s, '(,)', interval '1 second', 1000,"
                " 1000)", st)
    collectors = [start_collector(env, "collector-1"), start_collector(env, "collector-2")]
    alertd_pw = user(env, "alertd-1", "collector")
    console_pw = user(env, "bpbd-console", "dashboard")
    receiver = Receiver()
    console = Subscriber(env.port, "pantau/v1/_sys/alert/bpbd/#", username="bpbd-console",
                         password=console_pw)
    listener = Listener(env.dsn)
    conf = alertd_conf(env, receiver, alertd_pw)
    alertd = H.Program("alertd", [H.binary("alertd", "pantau-alertd"), "-c", conf], env.root)
    H.on_exit(alertd.kill9)
    alertd.start()

    devices = []
    for i, st in enumerate(stations):
        d = TestDevice("gw-e2e-%d" % i, "127.0.0.1", env.port, stream="flood", station=st,
                       username="gw-e2e-%d" % i, password=secrets[st], resend_timeout=2.0)
        d._publish = (lambda dev: (lambda held, topic=None: prompt_publish(dev, held, topic)))(d)
        d.start()
        H.on_exit(lambda d=d: d.stop(offline=False))
        devices.append(d)

    # the wave, with the kills on the way
    kills = {2: "alertd", 5: "collector-1", 8: "alertd", 9: "collector-1 back", 12: "alertd"}
    for step, level in enumerate(WAVE):
        for d in devices:
            d.send(1, level_cm=float(level))
        what = kills.get(step)
        if what == "alertd":
            time.sleep(0.1)
            alertd.kill9()
            alertd.start()
        elif what == "collector-1":
            collectors[0].kill9()
        elif what == "collector-1 back":
            collectors[0].start()
        time.sleep(STEP)
    for d in devices:
        assert d.wait_all_acked(40), "%s: unacknowledged %s" % (d.device_id, d.unacked())

    def settled():
        return env.sql("SELECT (SELECT count(*) FROM pantau_alert.pending)"
                       " + (SELECT count(*) FROM pantau_alert.pending_rule)"
                       " + (SELECT count(*) FROM pantau_alert.delivery"
                       "    WHERE status <> 'delivered')")[0][0] == 0

    def keys(channel):
        return [r[0] for r in env.sql("SELECT idempotency_key FROM pantau_alert.delivery"
                                      " WHERE channel = %s", channel)]

    def told():
        return (settled() and set(receiver.keys()) == set(keys("webhook"))
                and set(console.keys()) == set(keys("mqtt")))

    wait_for(told, 30, "every delivery at its receiver")
    check(env, stations, receiver, console, listener)

    # a reading delivered twice: the same device/store/seq again (the 220 that made Siaga 1)
    before = env.sql("SELECT (SELECT count(*) FROM pantau_alert.alert),"
                     " (SELECT count(*) FROM pantau_alert.delivery),"
                     " (SELECT count(*) FROM pantau_alert.alert_event)")
    for d in devices:
        d.resend(4)
    for d in devices:
        assert d.wait_acks([4], 15, times=2), "%s: no second ack of seq 4" % d.device_id
    time.sleep(1.5)
    wait_for(settled, 10, "the queues empty again")
    assert env.sql("SELECT (SELECT count(*) FROM pantau_alert.alert),"
                   " (SELECT count(*) FROM pantau_alert.delivery),"
                   " (SELECT count(*) FROM pantau_alert.alert_event)") == before
    time.sleep(0.5)
    check(env, stations, receiver, console, listener)
    assert env.sql("SELECT count(*) FROM pantau.reading_ledger WHERE device_id LIKE 'gw-e2e-%%'"
                   " AND outcome = 'stored'")[0][0] == GAUGES * len(WAVE)

    assert alertd.stop() == 0
    for c in collectors:
        assert c.sanitizer_report() is None
    sys.stderr.write("test_alerts_e2e: %.1f s, %d webhook requests, %d MQTT messages,"
                     " %d NOTIFY\n" % (time.monotonic() - t0, len(receiver.keys()),
                                       len(console.keys()), len(listener.ids)))


def check(env, stations, receiver, console, listener):
    # the alerts: six level changes per gauge, all news, in order
    for st in stations:
        levels = [r[0] for r in env.sql(
            "SELECT level FROM pantau_alert.alert WHERE station_id = %s AND kind = 'flood_level'"
            " AND news ORDER BY condition_time", st)]
        assert levels == WANT_LEVELS, (st, levels)
    past = env.sql("SELECT alert_id, kind, station_id FROM pantau_alert.alert WHERE NOT news")
    assert past == [], past
    news = [r[0] for r in env.sql("SELECT alert_id FROM pantau_alert.alert WHERE news"
                                  " ORDER BY alert_id")]
    assert len(news) == len(WANT_LEVELS) * len(stations), news
    # the outbox: all delivered, each news alert told on both routes
    assert env.sql("SELECT status, count(*) FROM pantau_alert.delivery GROUP BY status") == [
        ("delivered", env.sql("SELECT count(*) FROM pantau_alert.delivery")[0][0])]
    for channel, got in (("webhook", receiver.keys()), ("mqtt", console.keys())):
        rows = [r[0] for r in env.sql("SELECT idempotency_key FROM pantau_alert.delivery"
                                      " WHERE channel = %s", channel)]
        assert len(set(got)) == len(rows) and set(got) == set(rows), (channel, got, rows)
        assert env.sql("SELECT count(DISTINCT alert_id) FROM pantau_alert.delivery d"
                       " JOIN pantau_alert.alert_event e USING (event_id, alert_id)"
                       " WHERE d.channel = %s AND e.event = 'raised'", channel)[0][0] == len(news)
    for key, body, sig in receiver.requests:
        assert signature_ok(body, sig), key
    # NOTIFY: each news alert once, nothing else
    counts = collections.Counter(listener.ids)
    assert set(counts) == set(news), (sorted(counts), news)
    assert max(counts.values()) == 1, [i for i, n in counts.items() if n > 1]


if __name__ == "__main__":
    H.run_tests(globals())
