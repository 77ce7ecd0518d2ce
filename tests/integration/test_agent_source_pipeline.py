#!/usr/bin/python3
"""test_agent_source_pipeline.py -- the field sources inside the real pantau-agent, end to end
to PostgreSQL through mosquitto and the collector: a flood sensor on a pseudo-terminal (good
lines become pantau.flood_reading rows with distance, offset, level; malformed ones are
counted and never reach the database) and a camera's socket (counts become one
pantau.traffic_count row per interval and lane, an incident a pantau.incident row with its
snapshot reference).
"""
import json
import os
import pty
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from agent_support import Agent, ledger_count  # noqa: E402
from collector_support import env_for, run_tests, wait_for  # noqa: E402


def test_flood_sensor_on_a_pty_reaches_the_database():
    dev, st = "gw-p2c-01", "p2c-kali-bekasi"
    with env_for("agent-src-flood") as env:
        env.register(dev, "flood_gateway", [st])
        env.collector()
        master, slave = pty.openpty()
        try:
            agent = Agent(env, dev, log_level="debug", sources=[("flood", {
                "station": st, "device": os.ttyname(slave), "format": "mm",
                "offset_cm": "1050", "interval": "200ms", "median": "1"})])
            agent.start()
            wait_for(lambda: "reading device" in agent.log(), 30, "the flood source open")
            os.write(master, b"4125\r\n")
            wait_for(lambda: ledger_count(env, dev) >= 1, 60, "the first reading stored")
            os.write(master, b"garbage\n99999999\n{\"distance\":1}\n4000\n")
            wait_for(lambda: env.scalar("SELECT count(*) FROM pantau.flood_reading WHERE"
                                        " device_id = %s AND distance_cm = 400", dev) >= 1,
                     60, "the reading after the malformed lines stored")
            rows = env.sql("SELECT DISTINCT distance_cm, offset_cm, level_cm FROM"
                           " pantau.flood_reading WHERE device_id = %s ORDER BY 1", dev)
            assert rows == [(400.0, 1050.0, 650.0), (412.5, 1050.0, 637.5)], rows
            assert agent.log().count("malformed line") >= 3
            assert env.scalar("SELECT count(*) FROM pantau_ops.dead_letter WHERE"
                              " device_id = %s", dev) == 0
            assert agent.stop() == 0
        finally:
            os.close(master)
            os.close(slave)


def test_camera_socket_reaches_the_database():
    dev, st = "gw-atcs-kalimalang", "cam-kalimalang-01"
    with env_for("agent-src-camera") as env:
        env.register(dev, "traffic_gateway", [st])
        env.collector()
        path = os.path.join(env.root, "camera.sock")
        agent = Agent(env, dev, sources=[("camera", {
            "input": "socket", "path": path, "station": st, "lane": "eastbound",
            "interval": "2s", "grace": "1s"})])
        agent.start()
        wait_for(lambda: os.path.exists(path), 30, "the camera socket")
        now = time.time()
        start = int(now) - int(now) % 2
        if now - start > 1:
            start += 2
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start)) + ".000Z"
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        lines = [{"kind": "count", "class": "car", "ts": ts, "speed_kmh": 30},
                 {"kind": "count", "class": "car", "ts": ts, "speed_kmh": 50},
                 {"kind": "count", "class": "motorcycle", "count": 7, "ts": ts},
                 {"kind": "incident", "event": "1772437265.250311-k2x8lq", "state": "new",
                  "type": "stalled_vehicle", "start": ts, "confidence": 0.82,
                  "snapshot": "nvr://cam-kalimalang-01/1772437265.jpg"}]
        s.sendall("".join(json.dumps(x) + "\n" for x in lines).encode() + b"oops\n")
        s.close()
        wait_for(lambda: env.sql("SELECT car, motorcycle, bus, speed_kmh, interval_s, lane"
                                 " FROM pantau.traffic_count WHERE device_id = %s", dev), 60,
                 "the traffic row")
        rows = env.sql("SELECT car, motorcycle, bus, speed_kmh, interval_s, lane FROM"
                       " pantau.traffic_count WHERE device_id = %s", dev)
        assert rows == [(2, 7, 0, 40.0, 2, "eastbound")], rows
        wait_for(lambda: env.sql("SELECT snapshot FROM pantau.incident WHERE station_id = %s",
                                 st), 60, "the incident row")
        inc = env.sql("SELECT event_id, state, type, snapshot FROM pantau.incident WHERE"
                      " station_id = %s", st)
        assert inc == [("1772437265.250311-k2x8lq", "new", "stalled_vehicle",
                        "nvr://cam-kalimalang-01/1772437265.jpg")], inc
        assert agent.stop() == 0
        assert "1 bad inputs" in agent.log()


if __name__ == "__main__":
    run_tests(globals())
