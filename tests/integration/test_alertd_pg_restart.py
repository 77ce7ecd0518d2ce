#!/usr/bin/python3
"""test_alertd_pg_restart.py -- pantau-alertd survives a PostgreSQL restart (issue 11: "exactly
once ... whatever happens: ... a database restart").

A cluster of the test's own (the shared one serves other tests) with alertd running, alerts
being raised and delivered on MQTT and to a webhook receiver that answers slowly (so that
deliveries are in hand); PostgreSQL is stopped hard (`pg_ctl stop -m immediate`: no
checkpoint, every backend gone at once) mid-stream, kept down a few seconds and started again
(crash recovery); more alerts are raised after it. Then:

- alertd logged the outage (a warning per failed reconnect, with its backoff growing), came
  back ("connected to the database") and went on by itself: it was never restarted;
- every alert raised before, during the stop and after reached both receivers, and each
  delivery's idempotency key was counted once at each receiver per alert: the set of keys is
  the outbox's, one per alert and channel. A delivery whose receiver answered but whose mark
  the database lost in the stop is sent again with the same key (at least once on the wire,
  alertd/README.md): such repeats are bounded by what was in hand (one batch per channel);
- a LISTEN pantau_alert client (reconnected after the restart) heard each alert raised while
  it listened once;
- its metrics said pantau_alertd_db_up 0 during the outage and 1 after.
"""
import collections
import os
import select
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import psycopg2  # noqa: E402

import pantau_harness as H  # noqa: E402
from alertd_support import AlertWorld, wait_for  # noqa: E402


class Listener:
    """LISTEN pantau_alert on its own connection; payloads (alert ids) as they come."""

    def __init__(self, dsn):
        self.conn = psycopg2.connect(dsn)
        self.conn.autocommit = True
        with self.conn.cursor() as cur:
            cur.execute("LISTEN pantau_alert")
        self.heard = []

    def poll(self, seconds):
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            if select.select([self.conn], [], [], 0.05)[0]:
                self.conn.poll()
                while self.conn.notifies:
                    self.heard.append(int(self.conn.notifies.pop(0).payload))

    def close(self):
        try:
            self.conn.close()
        except psycopg2.Error:
            pass


def metric(port, name):
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5).read()
    for line in text.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def test_a_postgresql_restart_under_alertd_loses_and_repeats_nothing():
    root = H.workdir("alertd-pg-restart-cluster")
    cluster = H.PgCluster(os.path.join(root, "pg")).start()
    H.on_exit(lambda: cluster.stop("immediate"))
    w = AlertWorld("pgrestart", pg=cluster, default=("slow", 0.15, 200))
    w.route("bpbd", "mqtt")
    w.route("bpbd", "webhook")
    metrics_port = H.free_port()
    alertd = w.alertd(delivery_batch=4, backoff_min="200ms", backoff_max="2s",
                      metrics_address="127.0.0.1", metrics_port=metrics_port)
    listener = Listener(w.dsn)
    H.on_exit(listener.close)

    # before: 8 gauges, each a first reading at Siaga 4 and one at Siaga 3 (one alert each)
    before = ["pgr-a%02d" % i for i in range(8)]
    w.flood(before)
    wait_for(lambda: len(w.receiver.keys()) >= 2, 30, "the first webhook deliveries")
    listener.poll(0.2)
    # mid-stream: deliveries in hand (the receiver takes 150 ms a POST)
    assert len(w.receiver.keys()) < len(before), "all delivered before the stop: slow it down"
    cluster.stop("immediate")
    assert not cluster.running()
    listener.close()
    wait_for(lambda: alertd.output().count("database not reachable") >= 3, 30,
             "alertd's warnings about the database")
    assert metric(metrics_port, "pantau_alertd_db_up") == 0
    assert alertd.running(), "alertd gave up on the database"
    log = alertd.output()
    # the backoff grows between warnings (200 ms, 400 ms, ...)
    delays = [int(line.split("retrying in ")[1].split()[0]) for line in log.splitlines()
              if "database not reachable" in line]
    assert delays[:3] == sorted(delays[:3]) and delays[1] > delays[0], delays
    cluster.start()
    listener = Listener(w.dsn)
    H.on_exit(listener.close)
    wait_for(lambda: alertd.output().count("connected to the database") >= 2, 30,
             "alertd back on the database")
    # after: 8 more gauges, while the backlog of the first is still being delivered
    after = ["pgr-b%02d" % i for i in range(8)]
    w.flood(after)
    ids = wait_for(lambda: len(w.alert_ids()) == 16 and w.alert_ids(), 60, "16 alerts")
    wait_for(lambda: w.pending() == 0, 90, "every delivery after the restart")
    listener.poll(1.0)
    expected_hook = {d[0] for d in w.deliveries("webhook")}
    expected_mqtt = {d[0] for d in w.deliveries("mqtt")}
    assert len(expected_hook) == 16 and len(expected_mqtt) == 16
    assert all(d[1] == "delivered" for d in w.deliveries()), w.deliveries()
    wait_for(lambda: set(w.subscriber.keys()) == expected_mqtt, 20, "every MQTT delivery")
    time.sleep(1.0)   # a late repeat would come within the poll interval
    hook = collections.Counter(w.receiver.keys())
    mqtt = collections.Counter(w.subscriber.keys())
    assert set(hook) == expected_hook, sorted(hook)
    assert set(mqtt) == expected_mqtt, sorted(mqtt)
    # one key per alert and channel; a repeat only of what was in hand at the stop
    assert len({k.split(".")[0] for k in hook}) == 16
    assert sum(n - 1 for n in hook.values()) <= 4, hook
    assert sum(n - 1 for n in mqtt.values()) <= 4, mqtt
    # NOTIFY: each alert paged while the listener listened, once
    heard = collections.Counter(listener.heard)
    assert all(n == 1 for n in heard.values()), heard
    assert set(heard) <= set(ids), (heard, ids)
    assert {a for a in ids if w.sql("SELECT station_id FROM pantau_alert.alert WHERE alert_id"
                                    " = %s", a)[0][0] in after} <= set(heard), (heard, ids)
    assert metric(metrics_port, "pantau_alertd_db_up") == 1
    assert alertd.running()
    assert alertd.stop() == 0
    print("restart: webhook repeats %d, mqtt repeats %d, notify heard %d" % (
        sum(n - 1 for n in hook.values()), sum(n - 1 for n in mqtt.values()), len(heard)))


if __name__ == "__main__":
    H.run_tests(globals())
