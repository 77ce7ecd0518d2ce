"""test_broker_acl_tls.py -- clients that log in with a TLS client certificate (issue 5 item 2).

With `use_identity_as_username`, mosquitto 2.0.11 takes the certificate's CN as the username and
never calls the password hook (src/handle_connect.c: "Authentication assumed to be cleared"),
and nothing checks a connected client again. So devacl looks the account up on every check:
a certificate whose account is revoked, unknown, whose CN is not an id, or whose client id is
not its CN can connect, and can do nothing.

The broker runs deploy/mosquitto.conf's two TLS listeners, their lines taken from that file
(broker_support.deploy_listener), only the ports and file paths changed: 8883 (client
certificates, `use_username_as_clientid true`, so that a certificate asking for another
device's client id gets its own CN as client id and the owner stays connected: issue 5 audit
item 1) and 8884 (username and password over TLS, checked by devauth: audit item 2).

The test makes a CA, a server certificate and client certificates with openssl, and adds both
listeners to the broker of BrokerEnv (the plugin covers every listener).
"""

import json
import os
import select
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import broker_support as B  # noqa: E402
import pantau_harness as H  # noqa: E402
from broker_policy_support import (OK, REFUSED, check_sanitizer, device, drain,  # noqa: E402
                                   flood, subscriber, user, wait_stats)

_state = {}


def openssl(*args, cwd):
    r = subprocess.run(["openssl"] + list(args), cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=60)
    assert r.returncode == 0, "openssl %s: %s" % (" ".join(args), r.stdout)


def make_pki(d):
    """ca.crt, server.crt/key (127.0.0.1) and client certificates signed by the CA."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
            "-subj", "/CN=pantau test CA", cwd=d)
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost",
            cwd=d)
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "server.ext",
            cwd=d)


def client_cert(d, cn):
    name = cn.replace("+", "_plus_")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", name + ".key", "-out", name + ".csr",
            "-subj", "/CN=" + cn.replace("+", "\\+"), cwd=d)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", name + ".crt", "-days", "2", cwd=d)
    return os.path.join(d, name + ".crt"), os.path.join(d, name + ".key")


class TlsClient(B.RawClient):
    """RawClient over TLS: with a client certificate (no username or password: the CN is), or
    with none (cert None) and a username and password."""

    def __init__(self, port, client_id, cert, key, ca, username=None, password=None, **kw):
        super().__init__(port, client_id, username, password, **kw)
        self.ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
        if cert is not None:
            self.ctx.load_cert_chain(cert, key)

    def connect(self):
        orig = socket.create_connection

        def tls_connection(addr, timeout=None):
            return self.ctx.wrap_socket(orig(addr, timeout), server_hostname="127.0.0.1")

        socket.create_connection = tls_connection
        try:
            return super().connect()
        finally:
            socket.create_connection = orig

    def _read_packet(self, deadline):
        # decrypted bytes can wait inside the TLS layer, where select() does not see them
        while True:
            pkt = self._parse()
            if pkt is not None:
                return pkt
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if self.sock.pending() == 0:
                r, _, _ = select.select([self.sock], [], [], left)
                if not r:
                    return None
            try:
                data = self.sock.recv(65536)
            except ssl.SSLWantReadError:
                continue
            except (ConnectionResetError, OSError):
                data = b""
            if not data:
                self.closed = True
                raise B.Closed(self.closed_reason)
            self.buf += data


def world():
    if not _state:
        d = H.workdir("broker-tls-pki")
        make_pki(d)
        files = {"cafile": os.path.join(d, "ca.crt"), "certfile": os.path.join(d, "server.crt"),
                 "keyfile": os.path.join(d, "server.key")}
        cert_conf, tls_port = B.deploy_listener(8883, files)
        pw_conf, pw_port = B.deploy_listener(8884, files)
        env = B.BrokerEnv("acl-tls", extra=cert_conf + "\n" + pw_conf)
        H.on_exit(env.close)
        H.wait_until(lambda: H.port_open(tls_port) and H.port_open(pw_port), 20,
                     "the TLS listeners")
        watch = subscriber(env, "collector-tls", user(env, "collector-tls", "collector"),
                           ["pantau/v1/+/flood"])
        _state.update(dir=d, port=tls_port, pw_port=pw_port, env=env, watch=watch)
    return _state


def tls_client(cn, client_id=None):
    s = world()
    cert, key = client_cert(s["dir"], cn)
    c = TlsClient(s["port"], client_id or cn, cert, key, os.path.join(s["dir"], "ca.crt"))
    rc = c.connect()
    assert rc == 0, "TLS connect as %s: CONNACK %s" % (cn, rc)
    s["env"].clients.append(c)
    return c


def test_certificate_device_publishes_while_enabled():
    s = world()
    device(s["env"], "gw-c1", stations=["st-c1"])
    c = tls_client("gw-c1")
    assert c.publish("pantau/v1/gw-c1/flood", flood(1, "st-c1")) in OK
    m = s["watch"].recv(5, topic="pantau/v1/gw-c1/flood")
    assert m is not None, "the certificate device's reading did not arrive"
    _state["c1"] = c


def test_revoked_certificate_identity_is_denied_on_its_next_publish():
    s = world()
    e = s["env"]
    c = _state.get("c1") or tls_client("gw-c1")
    e.set_enabled("gw-c1", False)
    t0 = time.monotonic()
    seq = [10]

    def refused():
        seq[0] += 1
        try:
            return c.publish("pantau/v1/gw-c1/flood", flood(seq[0], "st-c1")) == REFUSED
        except B.Closed:
            return True                        # identity kicked it: refused as well
    H.wait_until(refused, 15, "the revoked certificate's publish to be refused", interval=0.2)
    assert time.monotonic() - t0 < 12, "revocation took %.1fs" % (time.monotonic() - t0)
    while s["watch"].recv(0.5, topic="pantau/v1/gw-c1/flood") is not None:
        pass                                   # what went through before the revocation
    # the certificate still connects (no password hook runs for it), and can do nothing
    again = tls_client("gw-c1")
    assert again.publish("pantau/v1/gw-c1/flood", flood(100, "st-c1")) == REFUSED
    assert again.subscribe("pantau/v1/gw-c1/ack") == REFUSED
    assert s["watch"].recv(1.0, topic="pantau/v1/gw-c1/flood") is None
    wait_stats(e, "devacl", lambda st: st["denied_by_reason"]["disabled"] >= 2)


def test_certificate_without_an_account_can_do_nothing():
    s = world()
    c = tls_client("gw-nobody")
    assert c.publish("pantau/v1/gw-nobody/flood", flood(1, "st-x")) == REFUSED
    assert c.subscribe("pantau/v1/gw-nobody/ack") == REFUSED
    wait_stats(s["env"], "devacl", lambda st: st["denied_by_reason"]["unknown_account"] >= 2)


def test_certificate_client_with_another_client_id_is_itself():
    """use_username_as_clientid on 8883: the client id becomes the CN, so gw-c2 asking for
    gw-c3's id is gw-c2, may speak for itself only, and gw-c3's own topic stays closed."""
    s = world()
    device(s["env"], "gw-c2", stations=["st-c2"])
    device(s["env"], "gw-c3", stations=["st-c3"])
    c = tls_client("gw-c2", client_id="gw-c3")
    assert c.publish("pantau/v1/gw-c3/flood", flood(1, "st-c3")) == REFUSED
    assert c.publish("pantau/v1/gw-c2/flood", flood(1, "st-c2")) in OK
    assert s["watch"].recv(5, topic="pantau/v1/gw-c2/flood") is not None
    assert s["watch"].recv(0.5, topic="pantau/v1/gw-c3/flood") is None
    wait_stats(s["env"], "devacl", lambda st: st["denied_by_reason"]["foreign"] >= 1)


def test_impostor_certificate_does_not_kick_the_owner_off():
    """Audit item 1: a valid certificate for gw-v2 connecting with client id gw-v1 used to get
    CONNACK 0 and kick the real gw-v1 off. The owner stays connected and keeps publishing."""
    s = world()
    device(s["env"], "gw-v1", stations=["st-v1"])
    device(s["env"], "gw-v2", stations=["st-v2"])
    owner = tls_client("gw-v1")
    assert owner.publish("pantau/v1/gw-v1/flood", flood(1, "st-v1")) in OK
    assert s["watch"].recv(5, topic="pantau/v1/gw-v1/flood") is not None
    impostor = tls_client("gw-v2", client_id="gw-v1")
    assert impostor.publish("pantau/v1/gw-v1/flood", flood(2, "st-v1")) == REFUSED
    assert not owner.wait_closed(1.0), "the owner was disconnected (reason %s)" % (
        owner.closed_reason,)
    for seq in (3, 4, 5):
        assert owner.publish("pantau/v1/gw-v1/flood", flood(seq, "st-v1")) in OK
    got = [json.loads(m[1])["seq"] for m in drain(s["watch"], "pantau/v1/gw-v1/flood", 1.0)]
    assert got == [3, 4, 5], "the owner's readings after the impostor: %s" % got
    assert owner.ping() < 5
    # the impostor acts as itself, in its own session
    assert impostor.publish("pantau/v1/gw-v2/flood", flood(1, "st-v2")) in OK
    assert s["watch"].recv(5, topic="pantau/v1/gw-v2/flood") is not None


def tls_password_client(username, password, client_id=None):
    s = world()
    c = TlsClient(s["pw_port"], client_id or username, None, None,
                  os.path.join(s["dir"], "ca.crt"), username=username, password=password)
    s["env"].clients.append(c)
    return c


def test_password_login_over_tls():
    """Audit item 2: the 8884 listener takes username and password over TLS, checked by the
    plugin like on 1883; 8883 refuses a client without a certificate."""
    s = world()
    e = s["env"]
    secret = device(e, "gw-pw1", stations=["st-pw1"])
    c = tls_password_client("gw-pw1", secret)
    assert c.connect() == B.RC_SUCCESS
    assert c.publish("pantau/v1/gw-pw1/flood", flood(1, "st-pw1")) in OK
    assert s["watch"].recv(5, topic="pantau/v1/gw-pw1/flood") is not None
    # a person's password, over TLS too
    pw = user(e, "analyst-tls", "dashboard")
    assert tls_password_client("analyst-tls", pw).connect() == B.RC_SUCCESS
    # wrong key, foreign client id, no password: refused by devauth
    before = e.stats()
    wrong = secret[:-1] + ("0" if secret[-1] != "0" else "1")
    assert tls_password_client("gw-pw1", wrong).connect() == B.RC_NOT_AUTHORIZED
    assert tls_password_client("gw-pw1", secret, client_id="gw-c1").connect() == \
        B.RC_NOT_AUTHORIZED
    assert tls_password_client("gw-pw1", None).connect() == B.RC_NOT_AUTHORIZED
    wait_stats(e, "devauth", lambda st: st["refused_by_reason"]["bad_secret"] >=
               before["refused_by_reason"]["bad_secret"] + 2 and
               st["refused_by_reason"]["client_id_mismatch"] >=
               before["refused_by_reason"]["client_id_mismatch"] + 1)
    # the certificate listener takes no password login
    nocert = TlsClient(s["port"], "gw-pw1", None, None, os.path.join(s["dir"], "ca.crt"),
                       username="gw-pw1", password=secret)
    e.clients.append(nocert)
    try:
        rc = nocert.connect()
    except (ssl.SSLError, OSError):
        rc = None                              # the TLS handshake itself refused
    assert rc in (None, B.RC_BAD_USERNAME_OR_PASSWORD), "8883 without a certificate: %s" % rc


def test_certificate_whose_cn_is_not_an_id_cannot_publish():
    s = world()
    c = tls_client("gw+c4")
    assert c.publish("pantau/v1/gw-c4/flood", flood(1, "st-c4")) == REFUSED
    wait_stats(s["env"], "devacl", lambda st: st["denied_by_reason"]["bad_id"] >= 1)
    assert s["watch"].recv(0.5, topic="pantau/v1/gw-c4/flood") is None


def test_no_sanitizer_report_nor_secret_in_any_log():
    """Last: the plugin's sanitizer build (if this is one) reported nothing in this file, and
    no secret or hash made here is in any log."""
    check_sanitizer(world()["env"])
    B.check_no_secrets(world()["env"])


if __name__ == "__main__":
    H.run_tests(globals())
