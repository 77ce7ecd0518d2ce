#!/usr/bin/python3
"""test_agent_source_frigate.py -- the frigate source against a real mosquitto standing in for
the broker on the camera box: Frigate's `frigate/events` messages (new / update / end with
before and after objects) become per-interval `traffic` counts (one vehicle per `new`) and,
for a stationary car in the shoulder zone, `incident` readings new, update and end with a
snapshot reference; bad and unmapped events are counted and skipped; the source reconnects
and subscribes again after the broker restarts.

The source runs in agent-source-driver (see test_agent_source_flood.py).
"""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_agent_source_flood import Driver, H  # noqa: E402
from test_agent_source_camera import INTERVAL, fresh_interval, ts_text  # noqa: E402

import paho.mqtt.client as mqtt  # noqa: E402


def event(kind, eid, label, start, camera="gerbang_timur", zones=(), stationary=False,
          end=None, snapshot=True, score=0.9):
    obj = {"id": eid, "camera": camera, "frame_time": start + 1, "label": label,
           "top_score": score, "false_positive": False, "start_time": start,
           "end_time": end, "score": score - 0.1, "box": [1, 2, 3, 4], "area": 4,
           "current_zones": list(zones), "entered_zones": list(zones), "thumbnail": None,
           "has_snapshot": snapshot, "has_clip": False, "stationary": stationary,
           "motionless_count": 0, "position_changes": 1}
    return json.dumps({"type": kind, "before": dict(obj, current_zones=[]), "after": obj})


class Publisher:
    def __init__(self, port):
        self.c = mqtt.Client(client_id="frigate-test", protocol=mqtt.MQTTv311)
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()

    def send(self, payload, topic="frigate/events"):
        info = self.c.publish(topic, payload, qos=1)
        info.wait_for_publish(10)

    def close(self):
        self.c.loop_stop()
        self.c.disconnect()


def test_frigate_events_counts_incidents_and_reconnect():
    work = H.workdir("frigate")
    broker = H.Mosquitto(os.path.join(work, "mq")).start()
    d = Driver(work, "frigate", [("frigate", {
        "host": "127.0.0.1", "port": str(broker.port),
        "cameras": "gerbang_timur=cam-kalimalang-01 gerbang_barat=cam-kalimalang-02",
        "incidents": "car@shoulder+stationary=stalled_vehicle",
        "snapshot": "frigate://{camera}/{id}.jpg", "lane": "eastbound",
        "interval": "%ds" % INTERVAL, "grace": "1s"})], device="gw-atcs-01").start()
    H.wait_until(lambda: d.log().count("frigate: connected to") >= 1, 20, "the source connected")
    pub = Publisher(broker.port)
    start = fresh_interval()
    t = start + 0.25
    for i, label in enumerate(["car", "car", "car", "bus", "bicycle", "person"]):
        pub.send(event("new", "%.6f-obj%d" % (t, i), label, t))
    pub.send(event("update", "%.6f-obj0" % t, "car", t))            # not counted again
    pub.send(event("new", "%.6f-objx" % t, "car", t, camera="belakang"))   # unmapped
    pub.send(b"{not json")
    pub.send(json.dumps({"type": "new", "after": {"camera": "gerbang_timur"}}))
    # the stalled car: new (counted), stationary on the shoulder (incident new), update, end
    sid = "%.6f-stall1" % t
    pub.send(event("new", sid, "car", t, camera="gerbang_barat"))
    pub.send(event("update", sid, "car", t, camera="gerbang_barat", zones=["shoulder"],
                   stationary=True))
    pub.send(event("update", sid, "car", t, camera="gerbang_barat", zones=["shoulder"],
                   stationary=True, score=0.95))
    pub.send(event("end", sid, "car", t, camera="gerbang_barat", zones=["shoulder"],
                   stationary=True, end=t + 40, score=0.95))

    def counts(station):
        rs = [r for s, r in d.readings() if s == "traffic" and r["ts"] == ts_text(start) and
              r["station"] == station]
        return rs[0]["counts"] if rs else None
    H.wait_until(lambda: counts("cam-kalimalang-01") and counts("cam-kalimalang-02"), 20,
                 "the interval's counts")
    assert counts("cam-kalimalang-01") == {"motorcycle": 0, "car": 3, "bus": 1, "truck": 0,
                                           "nonmotor": 1}, counts("cam-kalimalang-01")
    assert counts("cam-kalimalang-02")["car"] == 1
    for _, r in d.readings():
        if r.get("lane"):
            assert r["lane"] == "eastbound"
    incidents = [r for s, r in d.readings() if s == "incident"]
    assert [r["state"] for r in incidents] == ["new", "update", "end"], incidents
    for r in incidents:
        assert r["event"] == sid and r["station"] == "cam-kalimalang-02"
        assert r["type"] == "stalled_vehicle"
        assert r["start"] == ts_text(t)
        assert r["snapshot"] == "frigate://gerbang_barat/%s.jpg" % sid
    assert incidents[2]["end"] == ts_text(t + 40) and incidents[2]["confidence"] == 0.95
    H.wait_until(lambda: "event not mapped: camera 'belakang'" in d.log(), 20,
                 "the unmapped camera logged")
    H.wait_until(lambda: d.log().count("event not read") >= 2, 20, "the bad events logged")
    pub.close()

    # the camera box's broker restarts: the source reconnects and subscribes again
    broker.stop()
    H.wait_until(lambda: "frigate: lost" in d.log(), 20, "the source noticed")
    broker.start()
    H.wait_until(lambda: d.log().count("frigate: connected to") >= 2, 40, "reconnected")
    pub = Publisher(broker.port)
    t2 = time.time()
    sid2 = "%.6f-stall2" % t2
    pub.send(event("update", sid2, "car", t2, zones=["shoulder"], stationary=True))
    H.wait_until(lambda: any(r.get("event") == sid2 for _, r in d.readings()), 20,
                 "an incident after the reconnect")
    pub.close()
    assert d.stop() == 0
    assert "bad inputs" in d.log()


if __name__ == "__main__":
    H.run_tests(globals())
