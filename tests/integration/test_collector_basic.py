#!/usr/bin/python3
"""test_collector_basic.py -- readings from several devices are stored exactly once and every
device is acknowledged for every seq; health, metrics and a clean SIGTERM.

Run: PANTAU_BUILD_DIR=build /usr/bin/python3 tests/integration/test_collector_basic.py
"""
import json
import urllib.request

import paho.mqtt.client as mqtt

from collector_support import H, env_for, metric, run_tests, wait_for


def test_readings_from_many_devices_stored_once_and_all_acked():
    with env_for("basic") as env:
        metrics_port = H.free_port()
        c = env.collector(metrics_port=metrics_port)
        floods = [env.device("gw-flood-%02d" % i, "flood", "st-flood-%02d" % i)
                  for i in range(4)]
        traffic = env.device("gw-atcs-01", "traffic", "cam-01")
        hand = env.device("hh-01", "larva")
        sent = 0
        for d in floods:
            d.send(300)
            sent += 300
        traffic.send(200)
        traffic.send(20, stream="incident")
        hand.send(50)
        hand.send(1, stream="dropped")
        sent += 271
        for d in floods + [traffic, hand]:
            assert d.wait_all_acked(60), "%s: unacked %s" % (d.device_id, d.unacked()[:10])
            assert d.acked == d.sent, d.device_id
            assert not d.dead, "%s: dead %s" % (d.device_id, sorted(d.dead)[:10])
        assert env.scalar("SELECT count(*) FROM pantau.reading_ledger") == sent
        assert env.scalar("SELECT count(*) FROM pantau.flood_reading") == 1200
        assert env.scalar("SELECT count(*) FROM pantau.traffic_count") == 200
        assert env.scalar("SELECT count(*) FROM pantau.incident_update") == 20
        assert env.scalar("SELECT count(*) FROM pantau.incident") == 20
        assert env.scalar("SELECT count(*) FROM pantau_pii.larva_inspection") == 50
        assert env.scalar("SELECT count(*) FROM pantau.larva_container") == 50
        assert env.scalar("SELECT count(*) FROM pantau.dropped_range") == 1
        assert env.scalar("SELECT count(*) FROM pantau_ops.dead_letter") == 0
        # a flood reading's facts as sent
        seq = 17
        doc = floods[0].docs[seq][1]
        row = env.sql("SELECT station_id, level_cm, battery_v FROM pantau.flood_reading"
                      " WHERE device_id = %s AND seq = %s", floods[0].device_id, seq)
        assert row == [(doc["station"], doc["level_cm"], doc["battery_v"])], row
        # metrics
        assert metric(metrics_port, "readings_stored_total") == sent
        assert metric(metrics_port, "batch_seconds_count") >= 1
        assert metric(metrics_port, "acks_sent_total") >= 6
        assert c.stop() == 0


def retained_health(port, collector_id, timeout=10):
    """The retained health document of collector_id, as a new subscriber sees it."""
    got = {}
    client = mqtt.Client(client_id="health-reader", protocol=mqtt.MQTTv5)
    client.on_message = lambda cl, ud, msg: got.setdefault("doc", json.loads(msg.payload))
    client.connect("127.0.0.1", port, clean_start=True)
    client.subscribe("pantau/v1/_sys/health/%s" % collector_id, 1)
    client.loop_start()
    try:
        wait_for(lambda: "doc" in got, timeout, "retained health of %s" % collector_id)
    finally:
        client.loop_stop()
        client.disconnect()
    return got["doc"]


def test_health_is_retained_and_says_offline_after_sigterm():
    with env_for("health") as env:
        c = env.collector("collector-h1")
        wait_for(lambda: retained_health(env.mqtt_port, "collector-h1").get("db") == "up", 10,
                 "health db up")
        doc = retained_health(env.mqtt_port, "collector-h1")
        assert doc["collector"] == "collector-h1" and doc["state"] == "online", doc
        assert c.stop() == 0
        doc = retained_health(env.mqtt_port, "collector-h1")
        assert doc["state"] == "offline", doc


def test_sigterm_commits_the_batch_in_hand_and_acks_it():
    with env_for("sigterm") as env:
        # a long batch window: the readings are still in hand when SIGTERM comes
        port = H.free_port()
        c = env.collector(batch_ms="30s", batch_rows=5000, metrics_port=port)
        d = env.device("gw-term-01", "flood", "st-term-01", resend_timeout=600)
        d.send(100)
        wait_for(lambda: metric(port, "messages_received_total") >= 100, 20,
                 "100 messages in the collector")
        assert metric(port, "readings_stored_total") == 0
        assert not d.acked
        assert c.stop() == 0
        assert d.wait_all_acked(10), "unacked after SIGTERM: %s" % d.unacked()[:10]
        assert env.scalar("SELECT count(*) FROM pantau.reading_ledger") == 100


def summary_totals(log):
    """Sums the per-interval counts of the collector's INFO summary lines."""
    totals = {}
    for line in log.splitlines():
        if "collector: last 1s:" not in line:
            continue
        for key in ("received", "stored", "duplicates", "dead_letters", "batches", "acks"):
            totals[key] = totals.get(key, 0) + int(line.split(" %s=" % key)[1].split()[0])
    return totals


def test_every_counter_of_the_issue_is_exported_and_summarised_in_the_log():
    with env_for("observe") as env:
        port = H.free_port()
        c = env.collector(metrics_port=port, summary_interval_ms="1s")
        d = env.device("gw-obs-01", "flood", "st-obs-01", resend_timeout=600)
        d.send(20)
        assert d.wait_all_acked(20)
        d.resend(3)
        d.send_raw("flood", b"not json")
        wait_for(lambda: metric(port, "dead_letters_total") == 1 and
                 metric(port, "readings_duplicate_total") == 1, 20, "the duplicate, the dead letter")
        text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                      timeout=5).read().decode()
        # issue 3 item 8: received, stored, duplicates, dead letters, batches, batch latency,
        # buffer depth, database errors, acknowledgements sent
        want = {"messages_received_total": 23, "readings_stored_total": 20,
                "readings_duplicate_total": 1, "dead_letters_total": 1, "db_errors_total": 0,
                "intake_messages": 0}
        for name, value in want.items():
            assert metric(port, name) == value, (name, metric(port, name))
        for name in ("batches_total", "batch_seconds_count", "acks_sent_total"):
            assert metric(port, name) >= 1, name
        assert metric(port, "batch_seconds_sum") > 0 and metric(port, "intake_bytes") == 0
        assert 'pantau_collector_batch_seconds_bucket{le="+Inf"}' in text
        assert "# TYPE pantau_collector_readings_stored_total counter" in text
        # one INFO line per interval; summed, they give the same totals (23 received: the
        # 22 readings and the device's birth)
        wait_for(lambda: summary_totals(c.run_log()).get("dead_letters") == 1 and
                 summary_totals(c.run_log()).get("stored") == 20, 20, "the summary lines")
        totals = summary_totals(c.run_log())
        assert totals["received"] == 23 and totals["duplicates"] == 1, totals
        assert totals["batches"] == metric(port, "batches_total"), totals
        assert c.stop() == 0


if __name__ == "__main__":
    run_tests(globals())
