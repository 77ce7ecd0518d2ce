#!/usr/bin/python3
"""demo_watch.py -- the demo's console: prints every reading, status and health message that
crosses the broker, one line each (cut to 200 characters), and every alert delivered on MQTT
as it is raised, acknowledged and resolved, until stopped.

It logs in like any other client of pantau's broker: with an account (here one of role
collector, which may read the device streams) whose password it reads from a file, never from
the command line. It subscribes without a shared group, so it takes nothing away from the
collectors, and it acknowledges nothing. With --alert-user it also reads the alert tree
(`pantau/v1/_sys/alert/#`, docs/protocol.md section 12) as a unit's console does: with a
dashboard account (the role that may read alerts), a persistent session (nothing published
while it is away is missed), QoS 1.

    demo_watch.py --port MQTT_PORT --user NAME --password-file FILE
                  [--alert-user NAME --alert-password-file FILE]
"""
import argparse
import json
import signal
import sys

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.packettypes import PacketTypes

TOPICS = ["pantau/v1/+/flood", "pantau/v1/+/traffic", "pantau/v1/+/incident",
          "pantau/v1/+/larva", "pantau/v1/+/dropped", "pantau/v1/+/status",
          "pantau/v1/_sys/health/+", "pantau/v1/_sys/rejected"]
ALERT_TOPIC = "pantau/v1/_sys/alert/#"
SIAGA = {1: "Siaga 1 (Awas)", 2: "Siaga 2 (Siaga)", 3: "Siaga 3 (Waspada)", 4: "Siaga 4 (normal)"}


def read_password(path):
    with open(path) as f:
        return f.readline().strip()


def clean(text):
    """Text from the broker as one printable line (no control or bidi characters)."""
    return "".join(c if c.isprintable() and not 0x200B <= ord(c) <= 0x206F else "?"
                   for c in text)


def alert_line(topic, payload, retained):
    """One line per alert delivery: the unit told, the step, what and where."""
    try:
        a = json.loads(payload.decode("utf-8"))
        what = [a.get("kind", "?"), a.get("subject", "?")]
        if a.get("level") is not None and str(a.get("kind", "")).startswith("flood_level"):
            what.append(SIAGA.get(a["level"], "level %s" % a["level"]))
        if a.get("rise_cm") is not None:
            what.append("+%g cm in %d min" % (round(float(a["rise_cm"]), 1),
                                              int(a.get("rise_window_s") or 0) // 60))
        step = a.get("event", "?")
        if a.get("by") and a["by"] != "pantau":
            step += " by %s" % a["by"]
        if a.get("note"):
            step += ": %s" % a["note"]
        line = "ALERT to %-6s #%s %-12s %s%s" % (
            a.get("unit", "?"), a.get("alert_id", "?"), a.get("state", "?"), " ".join(
                str(w) for w in what), " -- " + step)
    except (ValueError, AttributeError, TypeError):
        line = "ALERT %s %s" % (topic, payload[:150])
    if retained:
        line += " (retained: the state when the console connected)"
    return clean(line)[:240]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password-file", required=True)
    ap.add_argument("--alert-user")
    ap.add_argument("--alert-password-file")
    args = ap.parse_args()
    if (args.alert_user is None) != (args.alert_password_file is None):
        ap.error("--alert-user and --alert-password-file go together")
    password = read_password(args.password_file)

    def on_connect(client, _userdata, _flags, rc, _props=None):
        if rc != 0:
            print("watch: refused by the broker: %s" % rc, flush=True)
            return
        client.subscribe([(t, 0) for t in TOPICS])

    def on_message(_client, _userdata, msg):
        text = msg.payload.decode("utf-8", "replace")
        print(("%s %s" % (msg.topic, text))[:200], flush=True)

    client = mqtt.Client(client_id=args.user, protocol=mqtt.MQTTv5)
    client.username_pw_set(args.user, password)
    client.on_connect = on_connect
    client.on_message = on_message

    console = None
    if args.alert_user is not None:
        def on_console_connect(client, _userdata, _flags, rc, _props=None):
            if rc != 0:
                print("watch: alert console refused by the broker: %s" % rc, flush=True)
                return
            client.subscribe(ALERT_TOPIC, qos=1)

        def on_alert(_client, _userdata, msg):
            print(alert_line(msg.topic, msg.payload, msg.retain), flush=True)

        console = mqtt.Client(client_id=args.alert_user, protocol=mqtt.MQTTv5)
        console.username_pw_set(args.alert_user, read_password(args.alert_password_file))
        console.on_connect = on_console_connect
        console.on_message = on_alert
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600       # a persistent session: nothing missed
        console.connect("127.0.0.1", args.port, keepalive=30, clean_start=False,
                        properties=props)
        console.loop_start()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    client.connect("127.0.0.1", args.port, keepalive=30)
    try:
        client.loop_forever(retry_first_connection=True)
    except KeyboardInterrupt:
        pass
    finally:
        if console is not None:
            console.loop_stop()


if __name__ == "__main__":
    main()
