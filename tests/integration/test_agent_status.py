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

The reference agent already ended a planned connection with DISCONNECT 0x04 before issue 9;
the first test fails when it disconnects with reason code 0 instead (checked by hand: the
device stays online in device_status).
"""
import os
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import paho.mqtt.client as mqtt  # noqa: E402

from agent_support import Agent, Message, simulator  # noqa: E402
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


if __name__ == "__main__":
    run_tests(globals())
