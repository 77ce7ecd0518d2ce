#!/usr/bin/python3
"""test_collector_acks.py -- an acknowledgement that would exceed the protocol's limits (65536
bytes, 16 stores, 1000 ranges per list: protocol.md 6.1 and 8) is split into several messages,
each valid by the contract (the C validator pantau-msgcheck and schema/json/ack.json), whose
union covers exactly the seqs committed, with the dead ones marked.
"""
import json
import os
import subprocess
import threading
import uuid

import jsonschema
import paho.mqtt.client as mqtt

from collector_support import BUILD, SOURCE, env_for, run_tests, wait_for
from testdevice import ts_now

MSGCHECK = os.path.join(BUILD, "msg", "pantau-msgcheck")
BASE = 10 ** 12          # 13-digit seqs: long ranges, so that 64 KiB is reached


def ack_validator():
    def load(name):
        with open(os.path.join(SOURCE, "schema", "json", name)) as f:
            return json.load(f)
    ack, defs = load("ack.json"), load("defs.json")
    store = {s["$id"]: s for s in (ack, defs)}
    resolver = jsonschema.RefResolver(base_uri=ack["$id"], referrer=ack, store=store)
    return jsonschema.Draft202012Validator(ack, resolver=resolver)


def c_valid(topic, payload):
    p = subprocess.run([MSGCHECK, topic], input=payload, capture_output=True, timeout=30)
    return p.returncode == 0, p.stdout.decode(errors="replace")[:300]


def test_ack_over_the_limits_is_split_into_valid_messages_covering_every_seq():
    with env_for("acksplit") as env:
        device, station = "gw-acksplit-01", "st-acksplit-01"
        env.register(device, "flood_gateway", [station])
        # one drain every 10 s: everything below is committed between two drains
        env.collector(ack_interval_ms="10s", batch_rows=5000, batch_ms="500ms")
        acks = []
        got = threading.Condition()
        topic = "pantau/v1/%s/ack" % device

        def on_message(client, userdata, msg):
            with got:
                acks.append(bytes(msg.payload))
                got.notify_all()

        cl = mqtt.Client(client_id=device, protocol=mqtt.MQTTv5)
        cl.on_message = on_message
        cl.connect("127.0.0.1", env.mqtt_port)
        cl.loop_start()
        try:
            sub = cl.subscribe(topic, qos=0)
            assert sub[0] == mqtt.MQTT_ERR_SUCCESS

            def publish(store, seq, **extra):
                doc = {"store": store, "seq": seq, "ts": ts_now(), "clock_synced": True,
                       "replay": False, "station": station, "level_cm": 321.5}
                doc.update(extra)
                return cl.publish("pantau/v1/%s/flood" % device, json.dumps(doc), qos=1)

            # a probe: its acknowledgement marks a drain, so the next one is 10 s away
            probe = str(uuid.uuid4())
            publish(probe, 1).wait_for_publish(10)
            wait_for(lambda: any(probe.encode() in a for a in acks), 30, "the probe's ack")
            with got:
                del acks[:]
            # 4 stores x 1100 isolated seqs (1100 ranges each, 35 KB a store), some of them
            # dead letters, and 20 more stores with one reading each (over 16 stores)
            want, dead = {}, {}
            big = [str(uuid.uuid4()) for _ in range(4)]
            small = [str(uuid.uuid4()) for _ in range(20)]
            last = None
            for store in big:
                want[store], dead[store] = set(), set()
                for k in range(1100):
                    seq = BASE + 2 * k + 1
                    if k % 97 == 0:
                        last = publish(store, seq, levl_cm=1)    # unknown member: dead
                        dead[store].add(seq)
                    else:
                        last = publish(store, seq)
                    want[store].add(seq)
            for store in small:
                last = publish(store, 7)
                want[store], dead[store] = {7}, set()
            last.wait_for_publish(30)

            def covered():
                seen = {}
                for a in acks:
                    for item in json.loads(a)["acks"]:
                        for first, last_ in item["ranges"]:
                            seen.setdefault(item["store"], set()).update(
                                range(first, last_ + 1))
                return all(want[s] <= seen.get(s, set()) for s in want)
            wait_for(lambda: covered(), 60, "acknowledgements covering every seq")
            with got:
                msgs = list(acks)
        finally:
            cl.loop_stop()
            cl.disconnect()

        validator = ack_validator()
        ranges, deads, total_ranges = {}, {}, 0
        for m in msgs:
            assert len(m) <= 65536, len(m)
            ok, why = c_valid(topic, m)
            assert ok, why
            doc = json.loads(m)
            errors = list(validator.iter_errors(doc))
            assert not errors, errors[0].message
            assert 1 <= len(doc["acks"]) <= 16
            for item in doc["acks"]:
                assert len(item["ranges"]) <= 1000 and len(item.get("dead", [])) <= 1000
                total_ranges += len(item["ranges"])
                for first, last_ in item["ranges"]:
                    ranges.setdefault(item["store"], set()).update(range(first, last_ + 1))
                for first, last_ in item.get("dead", []):
                    deads.setdefault(item["store"], set()).update(range(first, last_ + 1))
        # 4,420 ranges of up to 32 bytes cannot go in fewer than 3 messages of 64 KiB
        assert len(msgs) >= 3, len(msgs)
        assert total_ranges >= 4420, total_ranges
        assert ranges == want, "acknowledged seqs differ from those committed"
        assert {s: v for s, v in deads.items() if v} == {s: v for s, v in dead.items() if v}
        assert env.scalar("SELECT count(*) FROM pantau.reading_ledger WHERE outcome = 'stored'"
                          ) == 1 + sum(len(w - dead[s]) for s, w in want.items())


def _ts_ms(ts):
    """A protocol timestamp (YYYY-MM-DDTHH:MM:SS.mmmZ) as Unix ms."""
    import calendar
    import time as _t
    secs = calendar.timegm(_t.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S"))
    return secs * 1000 + int(ts[20:23])


def test_acks_to_one_device_are_coalesced_at_most_every_ack_interval():
    """Many small batches (batch_ms 20 ms) while a device sends steadily: it gets one
    acknowledgement per ack_interval_ms at most (by the collector's own send times, the acks'
    `ts`), far fewer messages than batches or readings, and every reading is acknowledged."""
    import time
    with env_for("ackcoalesce") as env:
        env.collector(ack_interval_ms="500ms", batch_ms="20ms", batch_rows=50)
        d = env.device("gw-ackco-01", "flood", "st-ackco-01")
        t0 = time.monotonic()
        for _ in range(30):          # 600 readings over about 3 s
            d.send(20)
            time.sleep(0.1)
        assert d.wait_all_acked(60), d.unacked()[:10]
        elapsed = time.monotonic() - t0
        acks = [a for a in list(d.acks) if any(i.get("store") == d.store
                                                  for i in a.get("acks", []))]
        times = sorted(_ts_ms(a["ts"]) for a in acks)
        gaps = [b - a for a, b in zip(times, times[1:])]
        # 200 ms of slack for the collector's timer; never two messages inside one interval
        assert all(g >= 300 for g in gaps), gaps
        assert len(acks) <= elapsed / 0.5 + 2, (len(acks), elapsed)
        assert len(acks) < 600 / 10, len(acks)


if __name__ == "__main__":
    run_tests(globals())
