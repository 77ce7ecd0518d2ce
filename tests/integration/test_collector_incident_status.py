#!/usr/bin/python3
"""test_collector_incident_status.py -- camera incidents are upserted by event id and an older
update never overwrites a newer one; device status moves by conn (higher wins, at the same conn
offline wins) whatever the arrival order, and every status lands in the history once; a birth
or will sent while no collector runs still arrives (status is not a shared subscription, so the
retained messages reach each collector when it connects).
"""
import json
import time
import uuid

import paho.mqtt.client as mqtt

from collector_support import H, env_for, metric, run_tests, wait_for
from testdevice import ts_now


def incident(d, seq, state, ts, **extra):
    body = {"station": d.station, "event": "1772437265.250311-k2x8lq", "state": state,
            "type": "stalled_vehicle", "start": "2026-03-02T07:41:05.250Z"}
    body.update(extra)
    return d.reading(seq, stream="incident", ts=ts, body=body)


def test_older_incident_update_never_overwrites_a_newer_one():
    with env_for("incident") as env:
        env.collector()
        d = env.device("gw-inc-01", "traffic", "cam-inc-01")
        d.send_doc(incident(d, 1, "new", "2026-03-02T07:41:05.250Z", confidence=0.5),
                   stream="incident")
        d.send_doc(incident(d, 2, "update", "2026-03-02T07:50:00.000Z", confidence=0.9),
                   stream="incident")
        assert d.wait_all_acked(30)
        # an update taken earlier (07:45) arrives late: it is stored in the history only
        d.send_doc(incident(d, 3, "update", "2026-03-02T07:45:00.000Z", confidence=0.1),
                   stream="incident")
        assert d.wait_all_acked(30)
        row = env.sql("SELECT state, confidence, seq FROM pantau.incident")
        assert row == [("update", 0.9, 2)], row
        assert env.scalar("SELECT count(*) FROM pantau.incident_update") == 3
        d.send_doc(incident(d, 4, "end", "2026-03-02T07:58:40.000Z",
                            end="2026-03-02T07:58:40.000Z"), stream="incident")
        assert d.wait_all_acked(30)
        row = env.sql("SELECT state, end_at IS NOT NULL, seq FROM pantau.incident")
        assert row == [("end", True, 4)], row
        # out of order inside one batch too: newest by ts wins
        d2 = env.device("gw-inc-02", "traffic", "cam-inc-02")
        for seq, ts, conf in ((1, "2026-03-02T08:10:00.000Z", 0.3),
                              (2, "2026-03-02T08:30:00.000Z", 0.7),
                              (3, "2026-03-02T08:20:00.000Z", 0.5)):
            d2.send_doc(incident(d2, seq, "update", ts, confidence=conf, event="ev-b"),
                        stream="incident")
        assert d2.wait_all_acked(30)
        row = env.sql("SELECT confidence, seq FROM pantau.incident WHERE event_id = 'ev-b'")
        assert row == [(0.7, 2)], row


def status(d, state, conn):
    return json.dumps({"state": state, "conn": conn, "store": d.store, "ts": ts_now(),
                       "clock_synced": True}).encode()


def current(env, device_id):
    rows = env.sql("SELECT state, conn FROM pantau.device_status WHERE device_id = %s",
                   device_id)
    return rows[0] if rows else None


def test_device_status_is_ordered_by_conn_not_by_arrival():
    with env_for("status") as env:
        env.collector()
        d = env.device("gw-st-01", "flood", "st-st-01", birth=False)

        def publish(state, conn, expect):
            d.send_raw("status", status(d, state, conn))
            wait_for(lambda: env.scalar(
                "SELECT count(*) FROM pantau.device_status_history WHERE device_id = %s"
                " AND conn = %s AND state = %s", d.device_id, conn, state) == 1, 20,
                "status %s/%d in the history" % (state, conn))
            assert current(env, d.device_id) == expect, (state, conn,
                                                         current(env, d.device_id))

        publish("online", 5, ("online", 5))
        publish("offline", 4, ("online", 5))    # an old will arriving late
        publish("online", 3, ("online", 5))
        publish("offline", 5, ("offline", 5))   # same conn: offline wins
        publish("online", 5, ("offline", 5))    # ... and is not undone by a late birth
        publish("online", 6, ("online", 6))
        # a status sent again is not a second history row (online/5 came twice above too)
        d.send_raw("status", status(d, "online", 6))
        d.send(1)
        assert d.wait_all_acked(20)
        assert env.scalar("SELECT count(*) FROM pantau.device_status_history") == 5


def retained(env, topic):
    """The retained payload of topic as a new subscriber gets it (b"" if none within 2 s)."""
    got = []
    cl = mqtt.Client(client_id="probe-%s" % uuid.uuid4().hex[:8], protocol=mqtt.MQTTv5)
    cl.on_message = lambda client, userdata, msg: got.append(bytes(msg.payload))
    cl.connect("127.0.0.1", env.mqtt_port)
    cl.loop_start()
    try:
        cl.subscribe(topic, qos=1)
        deadline = time.monotonic() + 2
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        cl.loop_stop()
        cl.disconnect()
    return got[0] if got else b""


def test_birth_published_again_updates_the_counters_of_the_same_connection():
    """An agent republishes its retained birth (same conn) as its backlog and counters change:
    device_status follows; history keeps one row per (conn, state); an older conn still loses."""
    with env_for("statuscounters") as env:
        env.collector()
        d = env.device("gw-stc-01", "flood", "st-stc-01", birth=False)

        def birth(conn, backlog, rejected):
            doc = json.loads(status(d, "online", conn))
            doc.update(backlog=backlog, rejected=rejected, dropped=0)
            d.send_raw("status", json.dumps(doc).encode())

        def counters():
            rows = env.sql("SELECT conn, backlog, rejected FROM pantau.device_status"
                           " WHERE device_id = %s", d.device_id)
            return rows[0] if rows else None

        birth(5, 900, 0)
        wait_for(lambda: counters() == (5, 900, 0), 20, "the first birth")
        birth(5, 120, 2)
        wait_for(lambda: counters() == (5, 120, 2), 20, "the counters of the same connection")
        birth(4, 7, 7)   # an older connection's birth, arriving late: ignored
        birth(5, 0, 3)
        wait_for(lambda: counters() == (5, 0, 3), 20, "the latest counters")
        assert env.sql("SELECT conn FROM pantau.device_status_history WHERE device_id = %s"
                       " AND state = 'online' ORDER BY 1", d.device_id) == [(4,), (5,)]


def test_status_sent_while_no_collector_runs_reaches_device_status():
    with env_for("statusoutage") as env:
        c = env.collector()
        a = env.device("gw-sto-01", "flood", "st-sto-01", conn=1)
        wait_for(lambda: current(env, a.device_id) == ("online", 1), 20, "a online")
        assert c.stop() == 0
        # a full collector outage: a goes away without DISCONNECT (the broker publishes its
        # retained will), b is born; no collector is subscribed to see either
        a.crash()
        b = env.device("gw-sto-02", "flood", "st-sto-02", conn=3)
        wait_for(lambda: b'"offline"' in retained(env, "pantau/v1/gw-sto-01/status") and
                 b'"online"' in retained(env, "pantau/v1/gw-sto-02/status"), 20,
                 "the will and the birth retained by the broker")
        c.start()
        wait_for(lambda: current(env, a.device_id) == ("offline", 1) and
                 current(env, b.device_id) == ("online", 3), 20,
                 "the will and the birth sent during the outage (retained) in device_status")
        # a second collector takes every status message too: the copies are harmless
        port = H.free_port()
        env.collector("collector-2", metrics_port=port)
        b.send_raw("status", status(b, "online", 4))
        wait_for(lambda: current(env, b.device_id) == ("online", 4), 20, "b online/4")
        # collector-2 got the two retained ones and the new one
        wait_for(lambda: metric(port, "status_stored_total") >= 3, 20, "collector-2's copies")
        rows = env.sql("SELECT device_id, state, conn FROM pantau.device_status_history"
                       " ORDER BY 1, 3, 2")
        assert rows == [("gw-sto-01", "offline", 1), ("gw-sto-01", "online", 1),
                        ("gw-sto-02", "online", 3), ("gw-sto-02", "online", 4)], rows


if __name__ == "__main__":
    run_tests(globals())
