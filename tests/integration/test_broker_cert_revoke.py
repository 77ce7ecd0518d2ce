#!/usr/bin/python3
"""test_broker_cert_revoke.py -- device certificates from the project's CA, and revocation that
keeps a revoked certificate out entirely (issue 14, item 2: "Tested: a revoked certificate
cannot connect at all (today it connects and can do nothing)").

The PKI is pantau-admin's own (ca-init, cert-issue for the broker's host and for each device,
cert-revoke, cert-list), run as a member of pantau_admin. The broker runs deploy/mosquitto.conf's
certificate listener (8883) with its `crlfile` and its password listener (8884), only the ports
and file paths changed, with pantau's plugin.

- a device with its pantau-admin certificate connects and its reading arrives; one without an
  account can do nothing (the plugin, as before);
- crl-update (the daily timer) writes the CRL again, valid 30 days, still listing the revoked;
- cert-revoke writes a CRL listing the serial; until the broker's reload the certificate still
  gets in (the CRL is read at start and on reload); after the reload (SIGHUP, as
  `systemctl reload mosquitto` sends) the revoked certificate fails the TLS handshake: no
  CONNACK at all. Another device's certificate still connects and publishes, a foreign topic
  is still refused (the plugin survived the reload), and a password login on 8884 still works;
- a certificate that pantau-admin did not record (another CA) is refused at the handshake;
- the commands refuse what they must: a second ca-init over a CA, cert-issue for an unknown
  device, cert-revoke of an unknown serial; a role that is not pantau_admin cannot revoke.
"""
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import broker_support as B  # noqa: E402
import pantau_harness as H  # noqa: E402
from broker_policy_support import OK, REFUSED, check_sanitizer, device, flood, subscriber, user  # noqa: E402
from test_broker_acl_tls import TlsClient  # noqa: E402

_state = {}
ADMIN_ROLE = "pantau_cert_admin_test"


def admin(env, *args, want=0, role=ADMIN_ROLE):
    dsn = env.dsn.replace("user=postgres", "user=%s" % role)
    r = subprocess.run([B.admin_path(), "--db", dsn] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=60)
    assert r.returncode == want, "pantau-admin %s: exit %d, not %d\n%s%s" % (
        " ".join(args), r.returncode, want, r.stdout, r.stderr)
    return r


def world():
    if _state:
        return _state
    d = H.workdir("broker-cert-pki")
    ca, out = os.path.join(d, "ca"), os.path.join(d, "issued")
    # the broker needs its certificate before it starts: BrokerEnv(start=False) gives the
    # database first
    env = B.BrokerEnv("cert-revoke", start=False)
    H.on_exit(env.close)
    env.sql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '%s')"
            " THEN CREATE ROLE %s LOGIN; END IF;"
            " EXCEPTION WHEN unique_violation OR duplicate_object THEN NULL; END $$"
            % (ADMIN_ROLE, ADMIN_ROLE))
    env.sql("GRANT pantau_admin TO %s" % ADMIN_ROLE)
    r = admin(env, "ca-init", ca)
    assert "0 revoked" in r.stdout, r.stdout
    admin(env, "cert-issue", "127.0.0.1", "--server", "--ca", ca, "--out", out)
    files = {"cafile": os.path.join(ca, "ca.crt"),
             "certfile": os.path.join(out, "127.0.0.1.crt"),
             "keyfile": os.path.join(out, "127.0.0.1.key"),
             "crlfile": os.path.join(ca, "crl.pem")}
    cert_conf, tls_port = B.deploy_listener(8883, files)
    assert "crlfile %s" % files["crlfile"] in cert_conf, cert_conf
    pw_conf, pw_port = B.deploy_listener(8884, files)
    env.mosq.extra = (env.mosq.extra + "\n" if env.mosq.extra else "") + cert_conf + "\n" + pw_conf
    env.start_broker()
    H.wait_until(lambda: H.port_open(tls_port) and H.port_open(pw_port), 20, "TLS listeners")
    watch = subscriber(env, "collector-cert", user(env, "collector-cert", "collector"),
                       ["pantau/v1/+/flood"])
    _state.update(dir=d, ca=ca, out=out, env=env, port=tls_port, pw_port=pw_port, watch=watch)
    return _state


def issue(cn):
    s = world()
    r = admin(s["env"], "cert-issue", cn, "--ca", s["ca"], "--out", s["out"])
    m = re.search(r"serial ([0-9A-F]+)", r.stdout)
    assert m, r.stdout
    return m.group(1)


def connect(cn, certdir=None, cafile=None):
    """A TLS client with cn's certificate; returns (client, CONNACK code) or raises what the
    handshake raised."""
    s = world()
    certdir = certdir or s["out"]
    c = TlsClient(s["port"], cn, os.path.join(certdir, cn + ".crt"),
                  os.path.join(certdir, cn + ".key"), cafile or os.path.join(s["ca"], "ca.crt"))
    rc = c.connect()
    s["env"].clients.append(c)
    return c, rc


def handshake_refused(cn, certdir=None):
    """True when the broker ends the TLS handshake of cn's certificate (no CONNACK)."""
    try:
        c, rc = connect(cn, certdir)
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError, B.Closed, socket.timeout,
            OSError):
        return True
    return rc is None


def reload_broker():
    s = world()
    env = s["env"]
    before = open(env.stderr_path, errors="replace").read().count("Reloading config")
    os.kill(env.mosq.proc.pid, signal.SIGHUP)
    H.wait_until(lambda: open(env.stderr_path, errors="replace").read().count(
        "Reloading config") > before or open(env.mosq.log, errors="replace").read().count(
        "Reloading config") > before, 10, "the broker's reload", interval=0.1)
    time.sleep(0.5)
    assert env.mosq.running(), H.tail(env.stderr_path)


def test_device_with_its_pantau_admin_certificate_publishes():
    s = world()
    device(s["env"], "gw-cr1", stations=["st-cr1"])
    device(s["env"], "gw-cr2", stations=["st-cr2"])
    _state["serial1"] = issue("gw-cr1")
    issue("gw-cr2")
    c, rc = connect("gw-cr1")
    assert rc == 0, rc
    assert c.publish("pantau/v1/gw-cr1/flood", flood(1, "st-cr1")) in OK
    assert s["watch"].recv(5, topic="pantau/v1/gw-cr1/flood") is not None
    c.disconnect()
    listed = admin(s["env"], "cert-list", "--device", "gw-cr1").stdout
    assert _state["serial1"] in listed and " - " not in listed.splitlines()[0], listed


def test_revoked_certificate_cannot_connect_at_all_after_the_reload():
    s = world()
    env = s["env"]
    r = admin(env, "cert-revoke", _state["serial1"], "--ca", s["ca"], "--note", "gateway stolen")
    assert "1 revoked" in r.stdout, r.stdout
    crl = subprocess.run(["openssl", "crl", "-in", os.path.join(s["ca"], "crl.pem"), "-noout",
                          "-text"], stdout=subprocess.PIPE, text=True, check=True).stdout
    assert "Serial Number: %s" % _state["serial1"] in crl, crl
    reason = env.sql("SELECT revoked_reason, revoked_by FROM pantau_ops.device_cert"
                     " WHERE serial = %s", _state["serial1"])
    assert reason == [("gateway stolen", ADMIN_ROLE)], reason
    # the broker read its CRL at start: until the reload the certificate still gets in
    c, rc = connect("gw-cr1")
    assert rc == 0, rc
    c.disconnect()
    reload_broker()
    assert handshake_refused("gw-cr1"), "the revoked certificate still completed a handshake"
    # the other device is untouched, and the plugin still guards the topics
    c, rc = connect("gw-cr2")
    assert rc == 0, rc
    assert c.publish("pantau/v1/gw-cr2/flood", flood(1, "st-cr2")) in OK
    assert s["watch"].recv(5, topic="pantau/v1/gw-cr2/flood") is not None
    assert c.publish("pantau/v1/gw-cr1/flood", flood(2, "st-cr1")) == REFUSED
    # a password login over TLS on 8884 still goes through the plugin's password check
    pw = device(env, "gw-cr3", stations=["st-cr3"])
    t = TlsClient(s["pw_port"], "gw-cr3", None, None, os.path.join(s["ca"], "ca.crt"),
                  username="gw-cr3", password=pw)
    assert t.connect() == 0
    env.clients.append(t)
    bad = TlsClient(s["pw_port"], "gw-cr3", None, None, os.path.join(s["ca"], "ca.crt"),
                    username="gw-cr3", password="wrong")
    assert bad.connect() != 0
    # revoking again is refused: nothing left to revoke
    r = admin(env, "cert-revoke", _state["serial1"], "--ca", s["ca"], want=1)
    assert "not revoked already" in r.stderr, r.stderr


def crl_dates(path):
    """(lastUpdate, nextUpdate) of the CRL at path, as openssl prints them."""
    out = subprocess.run(["openssl", "crl", "-in", path, "-noout", "-lastupdate",
                          "-nextupdate"], stdout=subprocess.PIPE, text=True, check=True).stdout
    got = dict(line.split("=", 1) for line in out.strip().splitlines())
    return got["lastUpdate"], got["nextUpdate"]


def test_crl_update_renews_the_list_and_keeps_the_revoked():
    """What pantau-crl-update.timer runs daily: the CRL written again, valid for 30 days from
    now, still listing what was revoked; the broker reloaded with it refuses the revoked
    certificate and admits the others."""
    import calendar
    s = world()
    env = s["env"]
    path = os.path.join(s["ca"], "crl.pem")
    before = crl_dates(path)
    time.sleep(1.1)   # openssl prints whole seconds
    r = admin(env, "crl-update", "--ca", s["ca"])
    after = crl_dates(path)
    assert after[0] != before[0], (before, after, r.stdout)
    nxt = calendar.timegm(time.strptime(after[1].replace(" GMT", ""), "%b %d %H:%M:%S %Y"))
    assert abs(nxt - (time.time() + 30 * 86400)) < 3600, after
    crl = subprocess.run(["openssl", "crl", "-in", path, "-noout", "-text"],
                         stdout=subprocess.PIPE, text=True, check=True).stdout
    assert "Serial Number: %s" % _state["serial1"] in crl, crl
    reload_broker()
    assert handshake_refused("gw-cr1"), "the revoked certificate got in after crl-update"
    c, rc = connect("gw-cr2")
    assert rc == 0, rc
    c.disconnect()


def test_a_certificate_of_another_ca_is_refused_at_the_handshake():
    s = world()
    other = os.path.join(s["dir"], "other-ca")
    admin(s["env"], "ca-init", other)
    admin(s["env"], "cert-issue", "gw-cr2", "--ca", other, "--out",
          os.path.join(s["dir"], "other-issued"))
    assert handshake_refused("gw-cr2", os.path.join(s["dir"], "other-issued"))


def test_commands_refuse_what_they_must():
    s = world()
    env = s["env"]
    r = admin(env, "ca-init", s["ca"], want=1)
    assert "exists already" in r.stderr, r.stderr
    r = admin(env, "cert-issue", "gw-nobody", "--ca", s["ca"], "--out", s["out"], want=1)
    assert "no device gw-nobody" in r.stderr, r.stderr
    r = admin(env, "cert-revoke", "ABCDEF", "--ca", s["ca"], want=1)
    assert "no certificate" in r.stderr, r.stderr
    r = admin(env, "cert-revoke", "--ca", s["ca"], want=2)
    assert "SERIAL or --device" in r.stderr, r.stderr
    r = admin(env, "cert-issue", "gw-cr2", "--ca", s["ca"], want=2)
    assert "--out DIR is required" in r.stderr, r.stderr
    # a role without pantau_admin cannot revoke
    env.sql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname ="
            " 'pantau_cert_nobody') THEN CREATE ROLE pantau_cert_nobody LOGIN; END IF;"
            " EXCEPTION WHEN unique_violation OR duplicate_object THEN NULL; END $$")
    r = admin(env, "cert-revoke", "--device", "gw-cr2", "--ca", s["ca"], want=1,
              role="pantau_cert_nobody")
    assert "permission denied" in r.stderr, r.stderr
    assert env.scalar("SELECT count(*) FROM pantau_ops.device_cert WHERE device_id = 'gw-cr2'"
                      " AND revoked_at IS NOT NULL") == 0


def test_no_sanitizer_report_from_the_broker():
    check_sanitizer(world()["env"])


if __name__ == "__main__":
    H.run_tests(globals())
