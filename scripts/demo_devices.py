#!/usr/bin/python3
"""demo_devices.py -- stand-in field devices for scripts/demo.sh while pantau-agent is not built.

One protocol-following test device (tests/harness/testdevice.py: keeps each reading until the
collector acknowledges it, resends otherwise) per device of the demo registry
(schema/seed/demo.sql), each sending a reading of its stream every few seconds until stopped.

    demo_devices.py --port MQTT_PORT [--every 5]
"""
import argparse
import os
import random
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "harness"))
from testdevice import TestDevice  # noqa: E402

DEVICES = [  # device, stream, station (as in schema/seed/demo.sql)
    ("gw-sim-flood-01", "flood", "sim-gauge-01"),
    ("gw-sim-flood-02", "flood", "sim-gauge-02"),
    ("gw-sim-flood-03", "flood", "sim-gauge-03"),
    ("gw-sim-traffic-01", "traffic", "sim-cam-01"),
    ("gw-sim-traffic-02", "traffic", "sim-cam-03"),
    ("hh-sim-01", "larva", None),
    ("hh-sim-02", "larva", None),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--every", type=float, default=5.0, help="seconds between readings")
    args = ap.parse_args()
    running = [True]
    signal.signal(signal.SIGTERM, lambda *a: running.__setitem__(0, False))
    signal.signal(signal.SIGINT, lambda *a: running.__setitem__(0, False))
    devices = []
    for device_id, stream, station in DEVICES:
        d = TestDevice(device_id, args.host, args.port, stream=stream, station=station)
        d.start()
        devices.append(d)
    print("demo_devices: %d devices sending every %.0f s" % (len(devices), args.every),
          flush=True)
    while running[0]:
        for d in devices:
            d.send(1)
        deadline = time.monotonic() + args.every * random.uniform(0.8, 1.2)
        while running[0] and time.monotonic() < deadline:
            time.sleep(0.1)
    for d in devices:
        d.stop()
    print("demo_devices: stopped; unacknowledged readings: %d"
          % sum(len(d.unacked()) for d in devices), flush=True)


if __name__ == "__main__":
    main()
