#!/usr/bin/python3
"""test_collector_incident_status.py -- camera incidents are upserted by event id and an older
update never overwrites a newer one; device status moves by conn (higher wins, at the same conn
offline wins) whatever the arrival order, and every status lands in the history once.
"""
import json

from collector_support import env_for, run_tests, wait_for
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


if __name__ == "__main__":
    run_tests(globals())
