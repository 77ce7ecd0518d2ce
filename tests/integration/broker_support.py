"""broker_support.py -- what the broker plugin's integration tests share (not a test itself).

A BrokerEnv is one test's world: its own database (on the shared PostgreSQL cluster, or on its
own cluster when the test stops PostgreSQL), the schema from schema/migrate.sh, a login role in
pantau_broker for the plugin, a server key made by pantau-admin, and a real mosquitto on a free
port that loads build/broker-plugins/pantau_broker.so with the settings of deploy/mosquitto.conf
(pantau_harness.deploy_broker_lines: every limit and plugin option as shipped, but for the
places, the timing of TEST_TIMING and the plugin options the test passes). Accounts are
made with pantau-admin, as an operator would. RawClient is a small MQTT 5 client on a plain
socket, so that tests see every reason code (CONNACK, PUBACK, SUBACK, DISCONNECT) exactly, which
paho-mqtt 1.6 does not report for PUBACK; TestDevice (tests/harness/testdevice.py) and paho work
too, with env.port.

    env = BrokerEnv("auth")
    secret = env.add_device("gw-1", "flood_gateway", stations=["st-1"])
    assert env.connack("gw-1", "gw-1", secret) == 0
    c = env.client("gw-1", secret)               # connected RawClient
    assert c.publish("pantau/v1/gw-1/flood", b"{}") == 0x87
    env.close()

The plugin and pantau-admin come from $PANTAU_BUILD_DIR/broker-plugins/. A sanitizer build of
the plugin is loaded with its runtime preloaded into mosquitto (Debian's mosquitto is not built
with it); sanitizer_report() finds a report in the broker's stderr.

Stable API (the policy tests use it): BrokerEnv(name, own_cluster=False, plugin_opts=None,
extra="", start=True, verbose=False), .port, .dsn, .sql(), .scalar(), .admin(), .add_station(),
.add_device(), .add_user(), .set_enabled(), .connack(), .client(), .stats(), .broker_log(),
.restart_broker(), .stop_broker(), .start_broker(), .other_broker(), .start_other(),
.wait_connack(), .hashes(), .admin_output(), .sanitizer_report(), .close();
RawClient(port, client_id, username, password, ...) with .connect(), .publish(), .subscribe(),
.recv(), .wait_closed(), .ping(), .disconnect(), .close(); reason-code constants below;
Acks(client, device_id, store) with .acked, .dead, .poll(), .wait(); dead_letters(env,
device_id, columns, order="id").
"""

import json
import os
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("PANTAU_SOURCE_DIR", os.path.abspath(os.path.join(HERE, "..", "..")))
BUILD = os.environ.get("PANTAU_BUILD_DIR", os.path.join(SOURCE, "build"))
sys.path.insert(0, os.path.join(SOURCE, "tests", "harness"))

import psycopg2  # noqa: E402

import pantau_harness as H  # noqa: E402

# MQTT 5 reason codes the tests look for
RC_SUCCESS = 0x00
RC_UNSPECIFIED = 0x80
RC_BAD_USERNAME_OR_PASSWORD = 0x86
RC_NOT_AUTHORIZED = 0x87
RC_PACKET_TOO_LARGE = 0x95
RC_QUOTA_EXCEEDED = 0x97
RC_ADMINISTRATIVE_ACTION = 0x98

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "SUMMARY: UndefinedBehaviorSanitizer")

BROKER_ROLE = "pantau_broker_test"
TEST_TIMING = {"reload_ms": "2000", "stats_interval": "1"}   # H.BROKER_TIMING_OPTIONS
ADMIN_USER = "ops-admin"           # made on demand by stats()
KIND_STATION = {"flood_gateway": "flood_gauge", "traffic_gateway": "traffic_camera",
                "handheld": "flood_gauge"}


def plugin_path():
    path = os.environ.get("PANTAU_BROKER_PLUGIN") or os.path.join(BUILD, "broker-plugins",
                                                                  "pantau_broker.so")
    if not os.path.exists(path):
        raise RuntimeError("no plugin at %s (set PANTAU_BUILD_DIR)" % path)
    return path


def admin_path():
    path = os.environ.get("PANTAU_ADMIN") or os.path.join(BUILD, "broker-plugins",
                                                          "pantau-admin")
    if not os.access(path, os.X_OK):
        raise RuntimeError("no pantau-admin at %s (set PANTAU_BUILD_DIR)" % path)
    return path


def sanitizer_preload(so):
    """The sanitizer runtime that so needs preloaded into a program built without it, or None.
    gcc's -fsanitize=address makes so depend on libasan.so.N; clang's leaves __asan_ symbols
    undefined for the executable to provide (libclang_rt.asan-x86_64.so)."""
    out = subprocess.run(["ldd", so], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True).stdout
    for line in out.splitlines():
        if "libasan.so" in line and "=>" in line:
            return line.split("=>")[1].split("(")[0].strip()
    syms = subprocess.run(["nm", "-D", "--undefined-only", so], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True).stdout
    if "__asan_" in syms:
        for cc in ("clang", "clang-14", "clang-15", "clang-16"):
            if shutil.which(cc):
                p = subprocess.run([cc, "-print-file-name=libclang_rt.asan-x86_64.so"],
                                   stdout=subprocess.PIPE, text=True).stdout.strip()
                if os.path.exists(p):
                    return p
        raise RuntimeError("%s needs the ASan runtime, and no clang says where it is" % so)
    return None


# ---- a small MQTT 5 client ---------------------------------------------------------------------

class Closed(Exception):
    """The broker closed the connection (reason: its DISCONNECT reason code, or None)."""

    def __init__(self, reason=None):
        super().__init__("connection closed by the broker (reason %s)" % reason)
        self.reason = reason


def _varint(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _str(s):
    b = s.encode() if isinstance(s, str) else bytes(s)
    return struct.pack("!H", len(b)) + b


class RawClient:
    """One MQTT 5 connection on a plain socket; every call has a deadline (timeout seconds).
    Messages that arrive while waiting for an acknowledgement are kept for recv()."""

    def __init__(self, port, client_id, username=None, password=None, clean_start=True,
                 will=None, keepalive=60, timeout=10, host="127.0.0.1", session_expiry=None):
        self.port = port
        self.host = host
        self.client_id = client_id
        self.username = username
        self.password = password
        self.clean_start = clean_start
        self.will = will             # (topic, payload bytes, qos, retain) or None
        self.keepalive = keepalive
        self.timeout = timeout
        self.session_expiry = session_expiry
        self.sock = None
        self.buf = b""
        self.messages = []           # (topic, payload, qos, retain)
        self.next_id = 1
        self.closed_reason = None
        self.closed = False
        self.connack_props = b""

    # -- wire --

    def _send(self, ptype, body):
        self.sock.sendall(bytes([ptype]) + _varint(len(body)) + body)

    def _read_packet(self, deadline):
        """(first byte, body) of the next packet, or None at the deadline; raises Closed."""
        while True:
            pkt = self._parse()
            if pkt is not None:
                return pkt
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                return None
            try:
                data = self.sock.recv(65536)
            except (ConnectionResetError, OSError):
                data = b""
            if not data:
                self.closed = True
                raise Closed(self.closed_reason)
            self.buf += data

    def _parse(self):
        if len(self.buf) < 2:
            return None
        mult, length, i = 1, 0, 1
        while True:
            if i >= len(self.buf):
                return None
            b = self.buf[i]
            length += (b & 0x7F) * mult
            mult *= 128
            i += 1
            if not b & 0x80:
                break
        if len(self.buf) < i + length:
            return None
        first, body = self.buf[0], self.buf[i:i + length]
        self.buf = self.buf[i + length:]
        return first, body

    def _handle_other(self, first, body):
        """Keeps PUBLISHes (acknowledging QoS 1), notes DISCONNECT."""
        ptype = first >> 4
        if ptype == 3:
            qos = (first >> 1) & 3
            tlen = struct.unpack("!H", body[:2])[0]
            topic = body[2:2 + tlen].decode()
            pos = 2 + tlen
            if qos:
                pid = body[pos:pos + 2]
                pos += 2
                self._send(0x40, pid)
            plen, pos = self._read_varint(body, pos)
            pos += plen
            self.messages.append((topic, bytes(body[pos:]), qos, bool(first & 1)))
        elif ptype == 14:
            self.closed_reason = body[0] if body else 0
            self.closed = True

    @staticmethod
    def _read_varint(b, pos):
        mult, val = 1, 0
        while True:
            x = b[pos]
            pos += 1
            val += (x & 0x7F) * mult
            mult *= 128
            if not x & 0x80:
                return val, pos

    def _wait_for(self, ptype, pid=None):
        deadline = time.monotonic() + self.timeout
        while True:
            pkt = self._read_packet(deadline)
            if pkt is None:
                raise TimeoutError("no packet of type %d within %.1fs" % (ptype, self.timeout))
            first, body = pkt
            if first >> 4 == ptype and (pid is None or body[:2] == struct.pack("!H", pid)):
                return body
            self._handle_other(first, body)
            if self.closed:
                raise Closed(self.closed_reason)

    # -- API --

    def connect(self):
        """Sends CONNECT; returns the CONNACK reason code, or None if the broker closed the
        connection without one."""
        self.sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        flags = 0x02 if self.clean_start else 0
        payload = _str(self.client_id)
        if self.will is not None:
            topic, wpayload, wqos, wretain = self.will
            flags |= 0x04 | (wqos << 3) | (0x20 if wretain else 0)
            payload += _varint(0) + _str(topic) + _str(wpayload)
        if self.username is not None:
            flags |= 0x80
            payload += _str(self.username)
        if self.password is not None:
            flags |= 0x40
            payload += _str(self.password)
        props = b""
        if self.session_expiry is not None:
            props += b"\x11" + struct.pack("!I", self.session_expiry)
        body = (_str("MQTT") + bytes([5, flags]) + struct.pack("!H", self.keepalive) +
                _varint(len(props)) + props + payload)
        self._send(0x10, body)
        try:
            body = self._wait_for(2)
        except Closed:
            return None
        rc = body[1]
        if len(body) > 2:
            plen, pos = self._read_varint(body, 2)
            self.connack_props = bytes(body[pos:pos + plen])
        if rc >= 0x80:
            self.close()
        return rc

    def publish(self, topic, payload, qos=1, retain=False):
        """PUBLISH; for QoS 1 returns the PUBACK reason code (0 success, 0x87 refused), for
        QoS 0 None. Raises Closed if the broker disconnects instead."""
        if isinstance(payload, str):
            payload = payload.encode()
        first = 0x30 | (qos << 1) | (1 if retain else 0)
        body = _str(topic)
        pid = None
        if qos:
            pid = self.next_id
            self.next_id = self.next_id % 65535 + 1
            body += struct.pack("!H", pid)
        body += _varint(0) + payload
        self._send(first, body)
        if not qos:
            return None
        ack = self._wait_for(4, pid)
        return ack[2] if len(ack) > 2 else 0

    def subscribe(self, topic_filter, qos=1):
        """SUBSCRIBE one filter; returns its SUBACK reason code (granted QoS, or >= 0x80)."""
        pid = self.next_id
        self.next_id = self.next_id % 65535 + 1
        body = struct.pack("!H", pid) + _varint(0) + _str(topic_filter) + bytes([qos])
        self._send(0x82, body)
        ack = self._wait_for(9, pid)
        plen, pos = self._read_varint(ack, 2)
        return ack[pos + plen]

    def recv(self, timeout=5, topic=None):
        """The next message (topic, payload, qos, retain), on topic if given, or None."""
        deadline = time.monotonic() + timeout
        while True:
            for i, m in enumerate(self.messages):
                if topic is None or m[0] == topic:
                    return self.messages.pop(i)
            pkt = self._read_packet(deadline)
            if pkt is None:
                return None
            self._handle_other(*pkt)

    def ping(self):
        """PINGREQ; returns the round trip in seconds."""
        t = time.monotonic()
        self._send(0xC0, b"")
        self._wait_for(13)
        return time.monotonic() - t

    def wait_closed(self, timeout):
        """Whether the broker closed the connection within timeout seconds."""
        deadline = time.monotonic() + timeout
        try:
            while not self.closed:
                pkt = self._read_packet(deadline)
                if pkt is None:
                    return False
                self._handle_other(*pkt)
        except Closed:
            pass
        return True

    def disconnect(self):
        if self.sock is None:
            return
        try:
            self._send(0xE0, b"\x00")
        except OSError:
            pass
        self.close()

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None


class Acks:
    """The acknowledgements (protocol.md 6) a device's own subscription receives, as seq sets:
    acked (every acknowledged seq) and dead (those acknowledged as dead letters). client is a
    connected RawClient of the device; every acknowledgement must be for store."""

    def __init__(self, client, device_id, store):
        self.client = client
        self.store = store
        self.topic = "pantau/v1/%s/ack" % device_id
        self.acked = set()
        self.dead = set()
        assert client.subscribe(self.topic) < 0x80

    def poll(self):
        m = self.client.recv(0.2, topic=self.topic)
        while m is not None:
            for item in json.loads(m[1])["acks"]:
                assert item["store"] == self.store, item
                for first, last in item["ranges"]:
                    self.acked.update(range(first, last + 1))
                for first, last in item.get("dead", []):
                    self.dead.update(range(first, last + 1))
            m = self.client.recv(0, topic=self.topic)

    def wait(self, seqs, what):
        def probe():
            self.poll()
            return set(seqs) <= self.acked
        H.wait_until(probe, 30, what)


def dead_letters(env, device_id, columns, order="id"):
    """device_id's rows of pantau_ops.dead_letter as tuples of columns (an SQL select list),
    ordered by order (id: as they arrived). env: anything with BrokerEnv's sql()."""
    return env.sql("SELECT %s FROM pantau_ops.dead_letter WHERE device_id = %%s ORDER BY %s"
                   % (columns, order), device_id)


DEPLOY_CONF = H.DEPLOY_MOSQUITTO_CONF


def deploy_conf():
    """deploy/mosquitto.conf read as (global lines, {listener port: its lines}): each a list of
    (key, value) in file order (pantau_harness.deploy_broker: a listener's lines are the
    listener settings after its `listener` line, as mosquitto 2.0.11 applies them)."""
    conf = H.deploy_broker()
    listeners = {int(address.split()[0]): list(settings)
                 for address, settings in conf["listeners"]}
    return list(conf["globals"]), listeners


def deploy_setting(key):
    """The value of a global key of deploy/mosquitto.conf (the last one), or None."""
    values = [v for k, v in deploy_conf()[0] if k == key]
    return values[-1] if values else None


def deploy_listener(port, tls_files):
    """The settings of deploy/mosquitto.conf's listener `port` as config text for a test
    broker: `listener <free port> 127.0.0.1` and the same lines, the TLS file paths replaced
    from tls_files ({"cafile": path, ...}); `crlfile` is left out unless tls_files gives one
    (a test of revocation does: test_broker_cert_revoke.py). Returns (text, the port it listens
    on)."""
    lines = deploy_conf()[1][port]
    test_port = H.free_port()
    out = ["listener %d 127.0.0.1" % test_port]
    for key, value in lines:
        if key == "crlfile" and key not in tls_files:
            continue
        out.append("%s %s" % (key, tls_files.get(key, value)))
    return "\n".join(out), test_port


def check_no_secrets(env):
    """What every broker test calls at teardown: BrokerEnv.check_no_secrets()."""
    env.check_no_secrets()


# ---- the environment ---------------------------------------------------------------------------

class BrokerEnv:
    """Database + mosquitto with pantau_broker.so + accounts, for one test."""

    def __init__(self, name, own_cluster=False, plugin_opts=None, extra="", start=True,
                 verbose=False):
        self.name = name
        self.root = H.workdir("broker-%s" % name)
        self.own_cluster = own_cluster
        self.conn = None
        self.secrets = {}            # username -> secret made here (for log checks)
        self.hash_log = []           # every hash stored for them (rotated ones too)
        self.clients = []
        if own_cluster:
            self.cluster = H.PgCluster(os.path.join(self.root, "pg")).start()
            H.on_exit(lambda: self.cluster.stop("immediate"))
        else:
            self.cluster = H.shared_cluster()
        self.dbname = "broker_%s_%s" % (name.replace("-", "_"), uuid.uuid4().hex[:8])
        self.dsn = self.cluster.schema_database(self.dbname)
        if not own_cluster:
            H.on_exit(lambda: self.cluster.drop_database(self.dbname))
        # the plugin logs in as a member of pantau_broker, as in production
        self.sql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '%s')"
                 " THEN CREATE ROLE %s LOGIN; END IF;"
                 " EXCEPTION WHEN unique_violation OR duplicate_object THEN NULL; END $$"
                 % (BROKER_ROLE, BROKER_ROLE))
        self.sql("GRANT pantau_broker TO %s" % BROKER_ROLE)
        self.broker_dsn = self.dsn.replace("user=postgres", "user=%s" % BROKER_ROLE)
        self.key_file = os.path.join(self.root, "device.key")
        self.admin("key-new", self.key_file)
        self.snapshot = os.path.join(self.root, "registry.snapshot")
        # deploy/mosquitto.conf as shipped (issue 9 item 8): its limits, its loopback listener's
        # settings and its plugin options, with this test's places, counters every second and
        # the registry reloaded every 2 s (TEST_TIMING), and the options this test sets itself
        self.plugin_opts = H.deploy_broker_options(
            {"db_conninfo": self.broker_dsn, "snapshot_file": self.snapshot,
             "key_file": self.key_file}, timing=TEST_TIMING, overrides=plugin_opts)
        self.max_packet_size = int(deploy_setting("max_packet_size"))
        self.mosq = H.Mosquitto(os.path.join(self.root, "mosquitto"), extra=extra,
                                allow_anonymous=False,
                                plugins=[(plugin_path(), self.plugin_opts)], verbose=verbose,
                                deploy=True)
        self.port = self.mosq.port
        self.stderr_path = os.path.join(self.mosq.root, "stderr.log")
        H.watch_log("mosquitto stderr", self.stderr_path)
        if start:
            self.start_broker()

    # ---- database ----

    def db(self):
        if self.conn is None or self.conn.closed:
            self.conn = psycopg2.connect(self.dsn, connect_timeout=5)
            self.conn.autocommit = True
        return self.conn

    def sql(self, query, *args):
        """Rows of query (list of tuples); [] for statements without rows."""
        for attempt in (1, 2):
            try:
                with self.db().cursor() as cur:
                    cur.execute(query, args or None)
                    return cur.fetchall() if cur.description else []
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                self.conn = None
                if attempt == 2:
                    raise
        return []

    def scalar(self, query, *args):
        return self.sql(query, *args)[0][0]

    # ---- pantau-admin ----

    def admin(self, *args, input=None, check=True):
        """Runs pantau-admin with the test database; returns CompletedProcess (text)."""
        argv = [admin_path(), "--db", self.dsn if hasattr(self, "dsn") else ""] + list(args)
        r = subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=120)
        with open(os.path.join(self.root, "admin.log"), "a") as f:
            f.write("$ pantau-admin %s\n[exit %d]\n--- stdout\n%s--- stderr\n%s" % (
                " ".join(args), r.returncode, r.stdout, r.stderr))
        if check and r.returncode != 0:
            raise AssertionError("pantau-admin %s failed (%d): %s" % (
                " ".join(args), r.returncode, r.stderr))
        return r

    def admin_output(self):
        """Everything pantau-admin printed in this test."""
        try:
            with open(os.path.join(self.root, "admin.log")) as f:
                return f.read()
        except OSError:
            return ""

    def add_station(self, station_id, kind="flood_gauge"):
        self.sql("INSERT INTO pantau.station (station_id, kind) VALUES (%s, %s)"
                 " ON CONFLICT DO NOTHING", station_id, kind)

    def add_device(self, device_id, kind="flood_gateway", stations=(),
                   since="2000-01-01T00:00:00Z"):
        """A device and its account (pantau-admin device-add); stations are made if missing and
        bound from `since` (RFC 3339; default 2000, so readings of any test time pass; None:
        now). The binding is made with the account, in one transaction (device-add --from), so
        a broker that knows the account knows its bindings as they are meant to be.
        Returns the secret pantau-admin printed."""
        args = ["device-add", device_id, "--kind", kind, "--key-file", self.key_file]
        for st in stations:
            self.add_station(st, KIND_STATION.get(kind, "flood_gauge"))
            args += ["--station", st]
        if since is not None and stations:
            args += ["--from", since]
        r = self.admin(*args)
        secret = r.stdout.strip()
        assert len(secret) == 64, "pantau-admin printed no secret: %r" % r.stdout
        self.secrets[device_id] = secret
        self.hash_log += [r[0] for r in self.sql(
            "SELECT secret_hash FROM pantau_ops.account WHERE username = %s", device_id)]
        return secret

    def add_user(self, name, role, password=None, iterations=None):
        """A person's or program's account with a password (pantau-admin user-add, the
        password given on stdin). Returns the password."""
        password = password or "pw-" + uuid.uuid4().hex
        args = ["user-add", name, "--role", role, "--password-file", "-"]
        if iterations:
            args += ["--iterations", str(iterations)]
        self.admin(*args, input=password + "\n")
        self.secrets[name] = password
        self.hash_log += [r[0] for r in self.sql(
            "SELECT secret_hash FROM pantau_ops.account WHERE username = %s", name)]
        return password

    def set_enabled(self, username, enabled):
        """Enables or disables an account (a device's through its device row)."""
        dev = self.sql("SELECT device_id FROM pantau_ops.account WHERE username = %s", username)
        if dev and dev[0][0]:
            self.admin("device-enable" if enabled else "device-disable", dev[0][0])
        else:
            self.admin("user-enable" if enabled else "user-disable", username)

    def hashes(self):
        """Every stored secret hash, for log checks."""
        return [r[0] for r in self.sql("SELECT secret_hash FROM pantau_ops.account")]

    def check_no_secrets(self):
        """Teardown check of every broker test (check_no_secrets(env)): no secret or hash this
        BrokerEnv made appears in the broker's log (file and stderr), in pantau-admin's
        messages, or anywhere in its output other than the one line that printed a new device
        secret; the snapshot file (mode 0600) holds hashes, as it must, and no secret."""
        seen = set(self.hash_log)
        try:
            seen.update(self.hashes())
        except psycopg2.Error:
            pass                         # a test that stopped PostgreSQL: the ones seen so far
        logs = self.broker_log()
        admin = self.admin_output()
        runs = admin.split("$ pantau-admin ")[1:]
        admin_err = "\n".join(run.split("--- stderr\n", 1)[-1] for run in runs)
        admin_out = "\n".join(run.split("--- stdout\n", 1)[-1].split("--- stderr\n", 1)[0]
                              for run in runs)
        for name, secret in self.secrets.items():
            assert secret not in logs, "secret of %s in the broker log" % name
            assert secret not in admin_err, "secret of %s in pantau-admin's messages" % name
            assert admin_out.count(secret) <= 1, "secret of %s printed twice" % name
        parts = set()
        for h in seen:
            parts.add(h)
            parts.update(p for p in h.split("$")[2:] if len(p) >= 16)   # salt, digest
        for part in parts:
            assert part not in logs, "a hash (or its salt or digest) in the broker log"
            assert part not in admin, "a hash (or its salt or digest) in pantau-admin's output"
        if os.path.exists(self.snapshot):
            assert os.stat(self.snapshot).st_mode & 0o777 == 0o600, "snapshot not mode 0600"
            with open(self.snapshot, errors="replace") as f:
                snap = f.read()
            for name, secret in self.secrets.items():
                assert secret not in snap, "secret of %s in the snapshot file" % name

    # ---- broker ----

    def start_broker(self, timeout=30):
        preload = sanitizer_preload(plugin_path())
        saved = {k: os.environ.get(k) for k in ("LD_PRELOAD", "ASAN_OPTIONS")}
        if preload:
            os.environ["LD_PRELOAD"] = preload
            # mosquitto itself is not instrumented: leaks at its exit are not ours to judge
            os.environ["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=0"
        try:
            self.mosq.start(timeout=timeout)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        return self

    def other_broker(self, plugin_opts):
        """A second, unstarted mosquitto for this database with the plugin options changed
        (a value of None removes that option): for tests of bad configurations. Start it with
        start_other(); its log is .log of the returned object."""
        opts = dict(self.plugin_opts)
        for k, v in plugin_opts.items():
            if v is None:
                opts.pop(k, None)
            else:
                opts[k] = v
        root = H.workdir("broker-%s-other" % self.name)
        return H.Mosquitto(os.path.join(root, "mosquitto"), allow_anonymous=False,
                           plugins=[(plugin_path(), opts)])

    def start_other(self, mosq, timeout=10):
        """Runs mosq (from other_broker) with its config; True if it was still running after
        timeout seconds (then it is stopped), False if it exited (a refused configuration)."""
        mosq.write_conf()
        env = dict(os.environ)
        preload = sanitizer_preload(plugin_path())
        if preload:
            env["LD_PRELOAD"] = preload
            env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=0"
        with open(os.path.join(mosq.root, "stderr.log"), "ab") as err:
            p = subprocess.Popen([H.MOSQUITTO, "-c", mosq.conf], stdout=subprocess.DEVNULL,
                                 stderr=err, stdin=subprocess.DEVNULL, env=env)
        try:
            p.wait(timeout)
            return False
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)
            return True

    def stop_broker(self):
        self.mosq.stop()

    def restart_broker(self):
        self.mosq.stop()
        return self.start_broker()

    def broker_log(self):
        text = ""
        for path in (self.mosq.log, self.stderr_path):
            try:
                with open(path, errors="replace") as f:
                    text += f.read()
            except OSError:
                pass
        return text

    def sanitizer_report(self):
        text = self.broker_log()
        for mark in SANITIZER_MARKS:
            if mark in text:
                return mark
        return None

    # ---- clients ----

    def connack(self, client_id, username, password, **kw):
        """The CONNACK reason code of one connect (then disconnects), or None if the broker
        closed the connection without a CONNACK."""
        c = RawClient(self.port, client_id, username, password, **kw)
        try:
            return c.connect()
        finally:
            c.disconnect()

    def client(self, username, password, client_id=None, **kw):
        """A connected RawClient (client id = username unless given); fails on refusal."""
        c = RawClient(self.port, client_id or username, username, password, **kw)
        rc = c.connect()
        if rc != 0:
            raise AssertionError("connect as %s refused: CONNACK %s" % (username, rc))
        self.clients.append(c)
        return c

    def wait_connack(self, client_id, username, password, want, timeout=15):
        """Polls connect until the CONNACK reason code is want; returns seconds taken."""
        t0 = time.monotonic()
        H.wait_until(lambda: self.connack(client_id, username, password) == want, timeout,
                     "CONNACK %s for %s" % (want, username), interval=0.2)
        return time.monotonic() - t0

    def stats(self, module="devauth", timeout=10):
        """The retained counters of $SYS/pantau/<module> (a dict), read as an admin account
        made here on first use."""
        if ADMIN_USER not in self.secrets:
            self.add_user(ADMIN_USER, "admin")
            self.wait_connack(ADMIN_USER, ADMIN_USER, self.secrets[ADMIN_USER], 0)
        c = RawClient(self.port, ADMIN_USER, ADMIN_USER, self.secrets[ADMIN_USER])
        try:
            rc = c.connect()
            assert rc == 0, "admin connect refused: %s" % rc
            c.subscribe("$SYS/pantau/%s" % module, 0)
            m = c.recv(timeout, topic="$SYS/pantau/%s" % module)
            assert m is not None, "no $SYS/pantau/%s within %ss" % (module, timeout)
            return json.loads(m[1])
        finally:
            c.disconnect()

    def close(self):
        for c in self.clients:
            c.close()
        self.mosq.stop()
        if self.conn is not None:
            self.conn.close()
