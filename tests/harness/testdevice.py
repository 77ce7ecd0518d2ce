"""testdevice.py -- a pantau device that follows docs/protocol.md, for tests and benchmarks.

A TestDevice is one MQTT 5 client (paho-mqtt 1.6, run with /usr/bin/python3) acting as one field
device: it connects with Clean Start and its device id as client id, publishes a retained birth
(status online, `conn`) and sets a retained will (offline, same `conn`), subscribes to its ack
topic and to the collectors' health, and publishes readings at QoS 1. It keeps every reading
until an acknowledgement (protocol.md 6.1) covers it and resends (replay=true) what stays
unacknowledged past a timeout, with backoff, as section 11 asks. It records what came back:
which seqs were acknowledged, how often, and which were reported dead.

Its "store" is memory, not a disk: enough for tests of the collector and the broker, where the
device itself does not crash. A test that needs a device restart makes a new TestDevice with the
same device_id, store and next seq.

    dev = TestDevice("gw-test-01", "127.0.0.1", port, stream="flood", station="st-test-01")
    dev.start()
    dev.send(100)                       # 100 flood readings, seq 1..100
    assert dev.wait_all_acked(30)
    dev.stop()

Readings for every stream are made by make_body(stream, ...); tests may pass their own body.
Invalid payloads go out with send_raw(), which can keep them pending too (keep_seq) when the
test expects an acknowledgement for them.
"""

import json
import threading
import time
import uuid
from datetime import datetime, timezone

import paho.mqtt.client as mqtt

READING_STREAMS = ("flood", "traffic", "incident", "larva", "dropped")


def ts_now(offset_s=0.0):
    """The protocol's timestamp form: YYYY-MM-DDTHH:MM:SS.mmmZ, UTC."""
    t = datetime.fromtimestamp(time.time() + offset_s, tz=timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def make_body(stream, seq, station=None, **extra):
    """Stream-specific members of a valid reading (the envelope is added by the device)."""
    if stream == "flood":
        body = {"station": station, "level_cm": float(300 + seq % 500) + 0.5,
                "battery_v": 12.5}
    elif stream == "traffic":
        body = {"station": station, "interval_s": 300, "lane": "eastbound",
                "counts": {"motorcycle": seq % 1000, "car": 10, "bus": 1}, "speed_kmh": 23.5}
    elif stream == "incident":
        body = {"station": station, "event": "ev-%d" % seq, "state": "new",
                "type": "stalled_vehicle", "start": ts_now(-60), "confidence": 0.8}
    elif stream == "larva":
        body = {"inspector": "jmt-0412", "building": "house", "kelurahan": "32.75.01.1002",
                "rw": 3, "rt": 5, "larvae_found": True,
                "containers": [{"type": "jar", "location": "indoor", "inspected": 2,
                                "positive": 1}],
                "actions": ["drain"]}
    elif stream == "dropped":
        body = {"reason": "store_full", "ranges": [[max(1, seq - 1), max(1, seq - 1)]]}
    else:
        raise ValueError("not a reading stream: %s" % stream)
    body.update(extra)
    return body


class Held:
    """One reading the device holds until it is acknowledged."""

    __slots__ = ("seq", "stream", "doc", "raw", "sent_at", "sends")

    def __init__(self, seq, stream, doc, raw):
        self.seq = seq
        self.stream = stream
        self.doc = doc        # dict, or None for a raw (invalid) payload
        self.raw = raw        # bytes sent for a raw payload
        self.sent_at = time.monotonic()   # not due for a resend before its first send
        self.sends = 0


class TestDevice:
    __test__ = False  # not a pytest class

    def __init__(self, device_id, host, port, stream="flood", station=None, store=None,
                 first_seq=1, conn=1, resend_timeout=3.0, resend_max=20.0,
                 respect_health=False, window=None, username=None, password=None,
                 birth=True, keepalive=30):
        self.device_id = device_id
        self.host = host
        self.port = port
        self.stream = stream
        self.station = station
        self.store = store or str(uuid.uuid4())
        self.next_seq = first_seq
        self.conn = conn
        self.resend_timeout = resend_timeout
        self.resend_max = resend_max
        self.respect_health = respect_health
        self.window = window
        self.birth = birth
        self.keepalive = keepalive
        self.lock = threading.Condition()
        self.pending = {}          # seq -> Held
        self.docs = {}             # seq -> the reading document first sent (for resend())
        self.sent = set()          # every seq ever published
        self.acked = set()         # seqs covered by some acknowledgement
        self.dead = set()          # seqs reported dead
        self.ack_count = {}        # seq -> how many acknowledgements covered it
        self.acks = []             # every ack message, decoded
        self.health = {}           # collector id -> last health document
        self.resends = 0
        self.connected = threading.Event()
        self.connects = 0
        self._stop = threading.Event()
        self._resender = None
        self.client = mqtt.Client(client_id=device_id, protocol=mqtt.MQTTv5)
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(0.2, 2)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self._set_will()

    # ---- connection --------------------------------------------------------------------

    def _status(self, state):
        return {"state": state, "conn": self.conn, "store": self.store, "ts": ts_now(),
                "clock_synced": True, "agent": "testdevice 1"}

    def _set_will(self):
        self.client.will_set("pantau/v1/%s/status" % self.device_id,
                             json.dumps(self._status("offline")), qos=1, retain=True)

    def _on_connect(self, client, userdata, flags, rc, properties=None):
        if rc != 0:
            return
        client.subscribe([("pantau/v1/%s/ack" % self.device_id, 0),
                          ("pantau/v1/_sys/health/+", 1)])
        if self.birth:
            client.publish("pantau/v1/%s/status" % self.device_id,
                           json.dumps(self._status("online")), qos=1, retain=True)
        self.connects += 1
        self.connected.set()

    def _on_disconnect(self, client, userdata, rc, properties=None):
        self.connected.clear()
        # conn is incremented before every connection attempt (protocol.md 5)
        self.conn += 1
        self._set_will()

    def start(self, wait=10.0):
        self.client.connect_async(self.host, self.port, keepalive=self.keepalive,
                                  clean_start=True)
        self.client.loop_start()
        if not self.connected.wait(wait):
            raise RuntimeError("%s: no CONNACK within %.0f s" % (self.device_id, wait))
        self._resender = threading.Thread(target=self._resend_loop, daemon=True)
        self._resender.start()
        return self

    def stop(self, offline=True):
        """Leaves cleanly: a status offline (the will is not sent on a clean DISCONNECT)."""
        self._stop.set()
        if offline and self.connected.is_set():
            info = self.client.publish("pantau/v1/%s/status" % self.device_id,
                                       json.dumps(self._status("offline")), qos=1, retain=True)
            try:
                info.wait_for_publish(5)
            except (RuntimeError, ValueError):
                pass
        self.client.disconnect()
        self.client.loop_stop()

    def crash(self):
        """Goes away without DISCONNECT, so that the broker publishes the will."""
        self._stop.set()
        sock = self.client.socket()
        self.client.loop_stop()
        if sock is not None:
            sock.close()

    # ---- readings ----------------------------------------------------------------------

    def reading(self, seq, stream=None, ts=None, clock_synced=True, replay=False, boot=None,
                mono_ms=None, body=None, **extra):
        stream = stream or self.stream
        doc = {"store": self.store, "seq": seq, "ts": ts or ts_now(),
               "clock_synced": clock_synced, "replay": replay}
        if boot is not None:
            doc["boot"] = boot
        if mono_ms is not None:
            doc["mono_ms"] = mono_ms
        station = extra.pop("station", self.station)
        doc.update(body if body is not None else make_body(stream, seq, station, **extra))
        return doc

    def _wait_window(self):
        if self.window is None:
            return
        with self.lock:
            while len(self.pending) >= self.window and not self._stop.is_set():
                self.lock.wait(0.5)

    def send_doc(self, doc, stream=None):
        """Publishes a reading document (its seq must be this device's) and holds it."""
        stream = stream or self.stream
        self._wait_window()
        held = Held(doc["seq"], stream, dict(doc), None)
        with self.lock:
            self.pending[held.seq] = held
            self.docs.setdefault(held.seq, (stream, dict(doc)))
            self.sent.add(held.seq)
            self.next_seq = max(self.next_seq, held.seq + 1)
        self._publish(held)
        return held.seq

    def send(self, n=1, stream=None, **kw):
        """Takes and publishes n new readings; returns their seqs."""
        seqs = []
        for _ in range(n):
            with self.lock:
                seq = self.next_seq
                self.next_seq += 1
            seqs.append(self.send_doc(self.reading(seq, stream=stream, **kw), stream=stream))
        return seqs

    def resend(self, seq, hold=True):
        """Sends reading seq again exactly as first sent, with replay=true (a duplicate)."""
        stream, doc = self.docs[seq]
        held = Held(seq, stream, dict(doc), None)
        held.sends = 1
        with self.lock:
            self.sent.add(seq)
            self.next_seq = max(self.next_seq, seq + 1)
            if hold:
                self.pending[seq] = held
        return self._publish(held)

    def send_raw(self, stream, payload, keep_seq=None, topic=None):
        """Publishes payload bytes as they are. keep_seq: hold it like a reading with that seq
        (resent unchanged until acknowledged), for payloads that name a store and a seq."""
        if isinstance(payload, str):
            payload = payload.encode()
        topic = topic or "pantau/v1/%s/%s" % (self.device_id, stream)
        if keep_seq is None:
            return self.client.publish(topic, payload, qos=1)
        held = Held(keep_seq, stream, None, payload)
        with self.lock:
            self.pending[keep_seq] = held
            self.sent.add(keep_seq)
            self.next_seq = max(self.next_seq, keep_seq + 1)
        return self._publish(held, topic=topic)

    def _publish(self, held, topic=None):
        if held.doc is not None:
            doc = held.doc
            doc["replay"] = held.sends > 0
            payload = json.dumps(doc, separators=(",", ":"))
        else:
            payload = held.raw
        topic = topic or "pantau/v1/%s/%s" % (self.device_id, held.stream)
        held.sent_at = time.monotonic()
        held.sends += 1
        return self.client.publish(topic, payload, qos=1)

    def resend_allowed(self):
        if not self.respect_health:
            return True
        with self.lock:
            return any(h.get("state") == "online" and h.get("db") == "up"
                       for h in self.health.values())

    def _resend_loop(self):
        while not self._stop.wait(0.2):
            if not self.connected.is_set() or not self.resend_allowed():
                continue
            now = time.monotonic()
            due = []
            with self.lock:
                for held in self.pending.values():
                    timeout = min(self.resend_timeout * (2 ** max(0, held.sends - 1)),
                                  self.resend_max)
                    if now - held.sent_at >= timeout:
                        due.append(held)
            for held in due:
                with self.lock:
                    if held.seq not in self.pending:
                        continue
                self.resends += 1
                self._publish(held)

    # ---- acknowledgements and health -----------------------------------------------------

    def _on_message(self, client, userdata, msg):
        try:
            doc = json.loads(msg.payload)
        except ValueError:
            return
        if msg.topic.startswith("pantau/v1/_sys/health/"):
            with self.lock:
                self.health[msg.topic.rsplit("/", 1)[1]] = doc
            return
        with self.lock:
            self.acks.append(doc)
            top = self.next_seq - 1
            for item in doc.get("acks", []):
                if item.get("store") != self.store:
                    continue
                for first, last in item.get("ranges", []):
                    for seq in range(max(first, 1), min(last, top) + 1):
                        self.acked.add(seq)
                        self.ack_count[seq] = self.ack_count.get(seq, 0) + 1
                        self.pending.pop(seq, None)
                for first, last in item.get("dead", []):
                    for seq in range(max(first, 1), min(last, top) + 1):
                        self.dead.add(seq)
            self.lock.notify_all()

    def unacked(self):
        with self.lock:
            return sorted(self.pending)

    def wait_all_acked(self, timeout):
        """True once every reading sent is acknowledged (polls with a deadline)."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while self.pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.lock.wait(min(left, 0.5))
        return True

    def wait_acks(self, seqs, timeout, times=1):
        """True once each seq in seqs was covered by at least `times` acknowledgements."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while any(self.ack_count.get(s, 0) < times for s in seqs):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.lock.wait(min(left, 0.5))
        return True

    def wait_health(self, collector, db, timeout):
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                h = self.health.get(collector)
                if h is not None and h.get("db") == db and h.get("state") == "online":
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.lock.wait(min(left, 0.5))
