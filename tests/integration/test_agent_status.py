#!/usr/bin/python3
"""test_agent_status.py -- the agent's status against a real broker, collector and database
(protocol.md section 5; issue 9, item 6).

- A planned stop (SIGTERM) says offline: pantau.device_status turns offline with the stopped
  connection's conn. Restarted, the device is online with a higher conn, and the retained
  status topic holds that birth, not the stale offline of the stop.
- The will path: after kill -9 the broker still holds the dead connection (keepalive); the
  restarted agent takes its client id over, the broker publishes the old will (offline, lower
  conn) and then the agent's birth follows: device_status and the retained topic end online
  with the new conn.

- Station health (issue 9, item 15): a traffic gateway with a camera source on a FIFO and two
  configured stations: the one that sends is online in the status, the one that never sent is
  offline; when the camera stops sending, the status is published again with it offline
  (derived silence: three times its gaps, at least 10 s), and online again when it resumes.
  Its lane lines' occupancy and queue reach pantau.traffic_count.

The reference agent already ended a planned connection with DISCONNECT 0x04 before issue 9;
the first test fails when it disconnects with reason code 0 instead (checked by hand: the
device stays online in device_status).
"""
import json
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import paho.mqtt.client as mqtt  # noqa: E402

from agent_support import Agent, Message, Watcher, simulator  # noqa: E402
from collector_support import env_for, run_tests, wait_for  # noqa: E402


def device_status(env, device_id):
    rows = env.sql("SELECT state, conn FROM pantau.device_status WHERE device_id = %s",
                   device_id)
    return rows[0] if rows else None


def retained_status(port, device_id, wait=3.0):
    """The retained message on the device's status topic, read by a new subscriber (None if
    there is none)."""
    got = []
    done = threading.Event()
    client = mqtt.Client(client_id="retained-%s-%d" % (device_id, os.getpid()),
                         protocol=mqtt.MQTTv5)

    def on_connect(c, userdata, flags, rc, properties=None):
        c.subscribe("pantau/v1/%s/status" % device_id, 1)

    def on_message(c, userdata, msg):
        if msg.retain:
            got.append(Message(msg.topic, msg.payload, msg.retain))
            done.set()

    client.on_connect = on_connect
    client.on_message = on_message
    client.connect("127.0.0.1", port, keepalive=30, clean_start=True)
    client.loop_start()
    done.wait(wait)
    client.disconnect()
    client.loop_stop()
    return got[-1].doc if got else None


def test_planned_stop_says_offline_and_restart_replaces_it():
    dev, st = "gw-status-01", "st-status-01"
    with env_for("agent-status-stop") as env:
        env.register(dev, "flood_gateway", [st])
        env.collector()
        agent = Agent(env, dev, sources=[simulator(flood=st, rate=0, flood_interval="5s")])
        agent.start()
        first = wait_for(lambda: (device_status(env, dev) or ("",))[0] == "online" and
                         device_status(env, dev), 30, "device_status online")
        assert agent.stop() == 0
        wait_for(lambda: device_status(env, dev) == ("offline", first[1]), 30,
                 "device_status offline with conn %d after SIGTERM" % first[1])
        assert "disconnected from broker" in agent.run_log()
        doc = retained_status(env.mqtt_port, dev)
        assert doc is not None and doc["state"] == "offline" and doc["conn"] == first[1], doc

        agent.start()
        second = wait_for(lambda: (device_status(env, dev) or ("",))[0] == "online" and
                          device_status(env, dev), 30, "device_status online again")
        assert second[1] > first[1], (first, second)
        doc = retained_status(env.mqtt_port, dev)
        assert doc is not None, "no retained status after the restart"
        assert doc["state"] == "online" and doc["conn"] == second[1], doc
        assert agent.stop() == 0


def test_will_after_kill_then_birth_wins():
    dev, st = "gw-status-02", "st-status-02"
    with env_for("agent-status-will") as env:
        env.register(dev, "flood_gateway", [st])
        env.collector()
        agent = Agent(env, dev, mqtt_keepalive_ms="60s",
                      sources=[simulator(flood=st, rate=0, flood_interval="5s")])
        agent.start()
        first = wait_for(lambda: (device_status(env, dev) or ("",))[0] == "online" and
                         device_status(env, dev), 30, "device_status online")
        agent.kill9()   # the broker keeps the connection until keepalive or a takeover
        agent.start()
        wait_for(lambda: "connected to broker" in agent.run_log(), 30, "the agent back")
        second = wait_for(lambda: (device_status(env, dev) or ("", 0))[1] > first[1] and
                          device_status(env, dev), 30, "device_status with a higher conn")
        assert second[0] == "online", (first, second)
        hist = env.sql("SELECT state FROM pantau.device_status_history WHERE device_id = %s"
                       " AND conn = %s", dev, first[1])
        assert ("offline",) in hist, "the old connection's will was published: %s" % hist
        doc = retained_status(env.mqtt_port, dev)
        assert doc is not None and doc["state"] == "online" and doc["conn"] == second[1], doc
        assert agent.stop() == 0


def camera_lines(station, t):
    """One interval's worth of input: counts and the lane's state, stamped t."""
    ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (int(t * 1000) % 1000)
    lines = [{"kind": "count", "station": station, "lane": "eastbound", "class": "car",
              "count": 3, "speed_kmh": 30, "ts": ts},
             {"kind": "lane", "station": station, "lane": "eastbound", "occupancy_pct": 40.0,
              "queue_m": 25, "ts": ts},
             {"kind": "lane", "station": station, "lane": "eastbound", "occupancy_pct": 20.0,
              "queue_m": 60, "ts": ts}]
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def stations_of(watcher):
    doc = watcher.last_status("online")
    return None if doc is None else doc.get("stations")


def test_camera_that_stops_sending_turns_offline_in_the_status():
    dev, cam, quiet = "gw-status-cam", "cam-status-01", "cam-status-02"
    with env_for("agent-status-cam") as env:
        env.register(dev, "traffic_gateway", [cam, quiet])
        env.collector()
        watcher = Watcher(env.mqtt_port, dev).start()
        fifo = os.path.join(env.root, "camera.fifo")
        agent = Agent(env, dev, stations="%s %s" % (cam, quiet),
                      sources=[("camera", {"input": "fifo", "path": fifo, "station": cam,
                                           "interval": "2s", "grace": "1s"})])
        agent.start()
        wait_for(lambda: stations_of(watcher) is not None, 30, "a birth with stations")
        birth = stations_of(watcher)
        assert birth == {cam: "offline", quiet: "offline"}, birth   # nothing heard yet
        wait_for(lambda: os.path.exists(fifo), 20, "the FIFO")
        w = open(fifo, "wb", buffering=0)
        try:
            for _ in range(5):            # five intervals of input, one reading each
                w.write(camera_lines(cam, time.time()))
                time.sleep(2)
            wait_for(lambda: (stations_of(watcher) or {}).get(cam) == "online", 30,
                     "the camera online in the status")
            assert stations_of(watcher)[quiet] == "offline", stations_of(watcher)
            rows = wait_for(lambda: env.sql(
                "SELECT occupancy_pct, queue_m, car FROM pantau.traffic_count"
                " WHERE device_id = %s AND station_id = %s", dev, cam), 30,
                "traffic counts stored")
            assert all(r == (30.0, 60.0, 3) for r in rows), rows
            # the camera goes dark: no line for well over three gaps of 2 s (and 10 s)
            t_dark = time.monotonic()
            wait_for(lambda: (stations_of(watcher) or {}).get(cam) == "offline", 40,
                     "the camera offline in the status")
            dark_for = time.monotonic() - t_dark
            assert dark_for >= 5, "offline after only %.1f s" % dark_for
            assert "station %s is offline" % cam in agent.run_log()
            w.write(camera_lines(cam, time.time()))   # back
            wait_for(lambda: (stations_of(watcher) or {}).get(cam) == "online", 30,
                     "the camera online again")
        finally:
            w.close()
        assert agent.stop() == 0
        watcher.stop()


if __name__ == "__main__":
    run_tests(globals())
