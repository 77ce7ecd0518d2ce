"""alertd_support.py -- what the pantau-alertd tests share (not a test itself).

An AlertWorld is one test's world: its own database (schema/migrate.sh) on the shared
PostgreSQL cluster, a mosquitto on a free port, a webhook receiver (a Python http.server in a
thread, whose answers the test scripts), an MQTT subscriber on pantau/v1/_sys/alert/#, the
routes the test names, and pantau-alertd processes with a generated config. alertd logs in as
a member of pantau_alertd, as in production, so that a missing grant fails here.

Readings are written as the collector writes them (as pantau_ingest, ledger rows first), so
the queue triggers of 013 fire and alertd evaluates them itself.
"""
import datetime
import hashlib
import hmac
import http.server
import json
import os
import socketserver
import sys
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "harness"))

import paho.mqtt.client as mqtt  # noqa: E402
import psycopg2  # noqa: E402

import pantau_harness as H  # noqa: E402

UTC = datetime.timezone.utc
STORE = str(uuid.UUID(int=16))
SECRET = "test-hmac-secret"
ALERT_SCHEMA = os.path.join(H.SOURCE_DIR, "schema", "json", "alert.json")


def wait_for(fn, timeout, what):
    """Polls fn until it returns something true; raises with `what` on the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(0.05)


class Receiver:
    """A webhook receiver on 127.0.0.1. `script` is a list of answers used in order, one per
    request, then `default`: an int status, ("slow", seconds, status) answers after a delay
    (recorded first: a receiver that did the work and answered too late), or "drop" (closes
    the connection without an answer). Every request is recorded as (key, body, signature)."""

    def __init__(self, default=200):
        self.requests = []
        self.arrivals = []           # time.monotonic() of each request, same order
        self.script = []
        self.default = default
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with receiver.lock:
                    receiver.requests.append((self.headers.get("Idempotency-Key"), body,
                                              self.headers.get("X-Pantau-Signature")))
                    receiver.arrivals.append(time.monotonic())
                    answer = receiver.script.pop(0) if receiver.script else receiver.default
                if answer == "drop":
                    self.close_connection = True
                    return
                if isinstance(answer, tuple):
                    time.sleep(answer[1])
                    answer = answer[2]
                self.send_response(answer)
                self.send_header("Content-Length", "0")
                self.end_headers()

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.port = H.free_port()
        self.Server = Server
        self.Handler = Handler
        self.server = None
        self.start()
        H.on_exit(self.stop)

    def start(self):
        self.server = self.Server(("127.0.0.1", self.port), self.Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def keys(self):
        with self.lock:
            return [r[0] for r in self.requests]

    def bodies(self):
        with self.lock:
            return [json.loads(r[1]) for r in self.requests]


class Subscriber:
    """An MQTT 5 client subscribed to the alert tree (or a unit's subtree) at QoS 1; with a
    username (a dashboard account through pantau's plugin, client id = username)."""

    def __init__(self, port, topic_filter="pantau/v1/_sys/alert/#", client_id=None,
                 username=None, password=None):
        self.messages = []
        self.arrivals = []           # time.monotonic() of each message, same order
        self.lock = threading.Lock()
        self.client = mqtt.Client(client_id=client_id or username or
                                  "sub-" + uuid.uuid4().hex[:8], protocol=mqtt.MQTTv5)
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(topic_filter, qos=1)
        self.client.loop_start()
        H.on_exit(self.close)

    def _on_message(self, client, userdata, msg):
        with self.lock:
            self.messages.append((msg.topic, json.loads(msg.payload), msg.retain))
            self.arrivals.append(time.monotonic())

    def keys(self):
        with self.lock:
            return [m[1]["idempotency_key"] for m in self.messages]

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def commit_readings(dsn, seqs, store, rows):
    """Flood readings taken now (news) written as the collector writes them: as pantau_ingest,
    ledger then facts, one transaction. rows: [(station, level_cm)], each from device
    gw-<station> with the next seq of seqs ({device: last seq}, updated) in store."""
    conn = psycopg2.connect(dsn)
    now = datetime.datetime.now(UTC)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SET LOCAL ROLE pantau_ingest")
            for i, (station, level) in enumerate(rows):
                device = "gw-" + station
                seq = seqs[device] = seqs.get(device, 0) + 1
                ts = now - datetime.timedelta(seconds=2) + datetime.timedelta(milliseconds=i)
                cur.execute(
                    "INSERT INTO pantau.reading_ledger (device_id, store_id, seq, stream, ts,"
                    " clock_synced, replay, content_sha256, received_at) VALUES (%s, %s,"
                    " %s, 'flood', %s, true, false, sha256(%s::bytea), %s)",
                    (device, store, seq, ts, str(level).encode(), now))
                cur.execute(
                    "INSERT INTO pantau.flood_reading (device_id, store_id, seq,"
                    " station_id, ts, level_cm) VALUES (%s, %s, %s, %s, %s, %s)",
                    (device, store, seq, station, ts, level))
    finally:
        conn.close()


class AlertWorld:
    def __init__(self, name, webhook=True, pg=None, broker_extra="", **receiver_args):
        """pg: a cluster of the test's own (H.PgCluster) to stop and start; else the shared.
        broker_extra: lines appended to the broker's config (a TLS listener)."""
        self.root = H.workdir("alertd-" + name)
        self.pg, self.dsn = H.fresh_database("alertd_" + name.replace("-", "_"), pg=pg)
        self.conn = None
        self.seq = {}
        self.procs = []
        self.sql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname ="
                 " 'pantau_alertd_test') THEN CREATE ROLE pantau_alertd_test LOGIN;"
                 " END IF; EXCEPTION WHEN unique_violation OR duplicate_object THEN NULL; END $$")
        self.sql("GRANT pantau_alertd TO pantau_alertd_test")
        self.alertd_dsn = self.dsn.replace("user=postgres", "user=pantau_alertd_test")
        # the test's own routes: the shipped defaults would send to every unit
        self.sql("DELETE FROM pantau_alert.route")
        self.sql("DELETE FROM pantau_alert.escalation")
        self.mosq = H.Mosquitto(os.path.join(self.root, "mosquitto"),
                                extra=broker_extra).start()
        self.receiver = Receiver(**receiver_args) if webhook else None
        self.subscriber = Subscriber(self.mosq.port)
        with open(os.path.join(self.root, "secret"), "w") as f:
            f.write(SECRET + "\n")

    # ---- database ---------------------------------------------------------------------------

    def sql(self, query, *args):
        for attempt in (1, 2):
            try:
                if self.conn is None or self.conn.closed:
                    self.conn = psycopg2.connect(self.dsn)
                    self.conn.autocommit = True
                with self.conn.cursor() as cur:
                    cur.execute(query, args or None)
                    return cur.fetchall() if cur.description else []
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                self.conn = None
                if attempt == 2:
                    raise
        return []

    def route(self, unit, channel, kind="flood\\_%", area=None, escalate_after=None):
        self.sql("INSERT INTO pantau_alert.route (kind_pattern, area_code, unit_id, channel,"
                 " escalate_after) VALUES (%s, %s, %s, %s, %s::interval)",
                 kind, area, unit, channel, escalate_after)

    def gauge(self, station, s3=81, s2=151, s1=201):
        self.sql("INSERT INTO pantau.station (station_id, kind) VALUES (%s, 'flood_gauge')",
                 station)
        self.sql("INSERT INTO pantau.gauge_threshold (station_id, quantity, valid, siaga3_from,"
                 " siaga2_from, siaga1_from) VALUES (%s, 'level_cm', tstzrange('2020-01-01',"
                 " NULL), %s, %s, %s)", station, s3, s2, s1)

    def readings(self, rows):
        """rows: [(station, level)], taken now (news), one transaction as the collector."""
        commit_readings(self.dsn, self.seq, STORE, rows)

    def flood(self, stations):
        """Each station: a first reading at Siaga 4, then one at Siaga 3 (one alert each)."""
        for s in stations:
            self.gauge(s)
        self.readings([(s, 75) for s in stations])   # 25 cm: no rise alert
        self.readings([(s, 100) for s in stations])

    def alert_ids(self):
        return [r[0] for r in self.sql("SELECT alert_id FROM pantau_alert.alert WHERE news"
                                       " ORDER BY alert_id")]

    def deliveries(self, channel=None):
        return self.sql("SELECT idempotency_key, status, attempts, last_error, unit_id"
                        " FROM pantau_alert.delivery WHERE %s IS NULL OR channel = %s"
                        " ORDER BY delivery_id", channel, channel)

    def pending(self):
        return self.sql("SELECT count(*) FROM pantau_alert.delivery"
                        " WHERE status = 'pending'")[0][0]

    # ---- alertd -----------------------------------------------------------------------------

    def conf(self, name="alertd", sections="", **overrides):
        """The config of an alertd; sections: text appended after the keys ([unit <id>])."""
        settings = {
            "alertd_id": name,
            "db_conninfo": self.alertd_dsn,
            "mqtt_host": "127.0.0.1",
            "mqtt_port": self.mosq.port,
            "puback_timeout": "3s",
            "poll_interval": "200ms",
            "escalate_interval": "200ms",
            "retry_min": "200ms",
            "retry_max": "1s",
            "backoff_min": "100ms",
            "backoff_max": "1s",
            "summary_interval": "5s",
            "log_level": "debug",
        }
        if self.receiver is not None:
            settings.update({
                "webhook_url": "http://127.0.0.1:%d/hook" % self.receiver.port,
                "webhook_secret_file": os.path.join(self.root, "secret"),
                "webhook_timeout": "1s",
                "webhook_connect_timeout": "1s",
            })
        settings.update(overrides)
        path = os.path.join(self.root, "%s.conf" % name)
        with open(path, "w") as f:
            f.write("# generated by alertd_support.py\n")
            for key, value in settings.items():
                f.write("%s %s\n" % (key, value))
            f.write(sections)
        return path

    def alertd(self, name="alertd", sections="", **overrides):
        prog = H.Program(name, [H.binary("alertd", "pantau-alertd"), "-c",
                                self.conf(name, sections, **overrides)], self.root)
        self.procs.append(prog)
        return prog.start()


def signature_ok(body, header):
    want = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return header == want
