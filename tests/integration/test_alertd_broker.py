#!/usr/bin/python3
"""test_alertd_broker.py -- pantau-alertd through mosquitto with pantau's plugin (deploy/
mosquitto.conf's settings, tests/integration/broker_support.py): alertd logs in with a
collector account (pantau-admin user-add alertd-1 --role collector) and may publish the alert
tree, retained, at QoS 1; a dashboard account (a unit's console) reads it; a device may not
publish there. The delivery is marked only after the broker's PUBACK.
"""
import json
import os
import sys
import threading
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import paho.mqtt.client as mqtt  # noqa: E402

import pantau_harness as H  # noqa: E402
from alertd_support import wait_for  # noqa: E402
from broker_support import BrokerEnv  # noqa: E402


def test_alertd_publishes_through_the_plugin_and_a_dashboard_reads_it():
    env = BrokerEnv("alertd")
    try:
        alertd_pw = env.add_user("alertd-1", "collector")
        dash_pw = env.add_user("bpbd-console", "dashboard")
        env.sql("DELETE FROM pantau_alert.route")
        env.sql("INSERT INTO pantau_alert.route (kind_pattern, unit_id, channel)"
                " VALUES ('flood\\_%%', 'bpbd', 'mqtt')")
        env.sql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname ="
                " 'pantau_alertd_test') THEN CREATE ROLE pantau_alertd_test LOGIN;"
                " END IF; EXCEPTION WHEN unique_violation OR duplicate_object THEN NULL; END $$")
        env.sql("GRANT pantau_alertd TO pantau_alertd_test")
        got, lock = [], threading.Lock()

        def on_message(client, userdata, msg):
            with lock:
                got.append((msg.topic, json.loads(msg.payload)))

        sub = mqtt.Client(client_id="bpbd-console", protocol=mqtt.MQTTv5)
        sub.username_pw_set("bpbd-console", dash_pw)
        sub.on_message = on_message
        sub.connect("127.0.0.1", env.port)
        sub.subscribe("pantau/v1/_sys/alert/bpbd/#", qos=1)
        sub.loop_start()
        H.on_exit(sub.loop_stop)
        root = env.root
        with open(os.path.join(root, "alertd-mqtt.pass"), "w") as f:
            f.write(alertd_pw + "\n")
        conf = os.path.join(root, "alertd.conf")
        with open(conf, "w") as f:
            f.write("alertd_id alertd-1\n"
                    "db_conninfo %s\n" % env.dsn.replace("user=postgres",
                                                         "user=pantau_alertd_test")
                    + "mqtt_host 127.0.0.1\nmqtt_port %d\n" % env.port
                    + "mqtt_username alertd-1\n"
                    "mqtt_password_file %s\n" % os.path.join(root, "alertd-mqtt.pass")
                    + "poll_interval 200ms\nlog_level debug\n")
        prog = H.Program("alertd", [H.binary("alertd", "pantau-alertd"), "-c", conf],
                         root).start()
        # a gauge and two readings as the collector writes them: Siaga 4, then 3
        env.sql("INSERT INTO pantau.station (station_id, kind) VALUES ('br-1', 'flood_gauge')")
        env.sql("INSERT INTO pantau.gauge_threshold (station_id, quantity, valid, siaga3_from,"
                " siaga2_from, siaga1_from) VALUES ('br-1', 'level_cm',"
                " tstzrange('2020-01-01', NULL), 81, 151, 201)")
        store = str(uuid.uuid4())
        for seq, level in ((1, 75), (2, 100)):
            env.sql("BEGIN; SET LOCAL ROLE pantau_ingest;"
                    " INSERT INTO pantau.reading_ledger (device_id, store_id, seq, stream, ts,"
                    " clock_synced, replay, content_sha256, received_at) VALUES ('gw-br', %s,"
                    " %s, 'flood', now() - interval '1 second', true, false,"
                    " sha256('x'::bytea), now());"
                    " INSERT INTO pantau.flood_reading (device_id, store_id, seq, station_id, ts,"
                    " level_cm) SELECT 'gw-br', %s, %s, 'br-1', ts, %s"
                    " FROM pantau.reading_ledger WHERE device_id = 'gw-br' AND seq = %s; COMMIT",
                    store, seq, store, seq, level, seq)
        wait_for(lambda: got, 20, "the alert at the dashboard")
        assert got[0][0] == "pantau/v1/_sys/alert/bpbd/flood_level/station-br-1", got
        assert got[0][1]["level"] == 3
        wait_for(lambda: env.sql("SELECT status FROM pantau_alert.delivery") == [("delivered",)],
                 10, "the delivery marked after the PUBACK")
        assert prog.stop() == 0
        # a device may not publish there
        secret = env.add_device("gw-x", "flood_gateway", stations=[])
        env.wait_connack("gw-x", "gw-x", secret, 0)
        c = env.client("gw-x", secret)
        assert c.publish("pantau/v1/_sys/alert/bpbd/flood_level/station-br-1", b"{}") >= 0x80
    finally:
        env.close()


if __name__ == "__main__":
    H.run_tests(globals())
