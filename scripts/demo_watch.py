#!/usr/bin/python3
"""demo_watch.py -- the demo's console: prints every reading, status and health message that
crosses the broker, one line each (cut to 200 characters), until stopped.

It logs in like any other client of pantau's broker: with an account (here one of role
collector, which may read the device streams) whose password it reads from a file, never from
the command line. It subscribes without a shared group, so it takes nothing away from the
collectors, and it acknowledges nothing.

    demo_watch.py --port MQTT_PORT --user NAME --password-file FILE
"""
import argparse
import signal
import sys

import paho.mqtt.client as mqtt

TOPICS = ["pantau/v1/+/flood", "pantau/v1/+/traffic", "pantau/v1/+/incident",
          "pantau/v1/+/larva", "pantau/v1/+/dropped", "pantau/v1/+/status",
          "pantau/v1/_sys/health/+", "pantau/v1/_sys/rejected"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password-file", required=True)
    args = ap.parse_args()
    with open(args.password_file) as f:
        password = f.readline().strip()

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
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    client.connect("127.0.0.1", args.port, keepalive=30)
    try:
        client.loop_forever(retry_first_connection=True)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
