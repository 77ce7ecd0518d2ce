"""test_broker_config.py -- the demo and the tests run the shipped broker, and protocol.md
states its limits (issue 9 item 8).

Before: scripts/demo.sh wrote a mosquitto.conf of its own with no max_packet_size (CONNACK
announced no Maximum Packet Size, a 70,000-byte PUBLISH got PUBACK 0x87 instead of
DISCONNECT 0x95) and another max_queued_messages; the tests' brokers took max_packet_size alone
from deploy/mosquitto.conf; section 8 of protocol.md gave no rate limit, no Receive Maximum.
Now one function (pantau_harness.deploy_broker_lines) makes both configs from
deploy/mosquitto.conf, changing places only; broker_conf_differences() says what a config
changes, and the numbers of section 8 are read back and compared with the shipped file.
"""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import broker_support as B  # noqa: E402
import pantau_harness as H  # noqa: E402
from broker_policy_support import OK, check_sanitizer, device, flood  # noqa: E402

SERVERS = os.path.join(H.SOURCE_DIR, "scripts", "servers.py")
DEMO = os.path.join(H.SOURCE_DIR, "scripts", "demo.sh")
PROTOCOL = os.path.join(H.SOURCE_DIR, "docs", "protocol.md")

_env = None


def env():
    global _env
    if _env is None:
        _env = B.BrokerEnv("config")
        H.on_exit(_env.close)
    return _env


def demo_conf(e, port):
    """What scripts/demo.sh runs: servers.py broker-conf with the demo's places (here this
    test's database, snapshot and key). Returns the config's path."""
    root = H.workdir("demo-broker")
    r = subprocess.run(
        [sys.executable, SERVERS, "broker-conf", "--root", root, "--mqtt-port", str(port),
         "--plugin", B.plugin_path(),
         "--place", "db_conninfo=%s" % e.broker_dsn,
         "--place", "snapshot_file=%s" % os.path.join(root, "registry.snapshot"),
         "--place", "key_file=%s" % e.key_file],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def connack_props(c):
    """The CONNACK properties of c that this test reads: {id: value}."""
    props, pos, out = c.connack_props, 0, {}
    sizes = {0x27: 4, 0x11: 4, 0x21: 2, 0x22: 2, 0x13: 2, 0x24: 1, 0x25: 1, 0x28: 1, 0x29: 1,
             0x2A: 1}
    while pos < len(props):
        pid = props[pos]
        pos += 1
        if pid not in sizes:
            break
        out[pid] = int.from_bytes(props[pos:pos + sizes[pid]], "big")
        pos += sizes[pid]
    return out


def test_demo_broker_config_is_the_shipped_one():
    e = env()
    with open(demo_conf(e, H.free_port())) as f:
        text = f.read()
    assert H.broker_conf_differences(text) == []
    # demo.sh makes its broker's config with servers.py broker-conf and writes none of its own
    with open(DEMO) as f:
        demo = f.read()
    assert "servers.py broker-conf" in demo
    for setting in ("listener ", "max_", "plugin_opt_", "allow_anonymous", "persistence"):
        assert ("printf '%s" % setting) not in demo, "demo.sh writes %r itself" % setting


def test_test_broker_config_is_the_shipped_one():
    """BrokerEnv differs only in its places and the timing the tests shorten; a test that sets
    an option (here a rate) shows up as a difference."""
    e = env()
    e.mosq.write_conf()
    with open(e.mosq.conf) as f:
        text = f.read()
    assert H.broker_conf_differences(text, allowed_options=H.BROKER_TIMING_OPTIONS) == []
    assert H.broker_conf_differences(text) != []           # stats_interval 1, reload_ms 2000
    changed = text.replace("plugin_opt_rate_handheld 2/s burst 100",
                           "plugin_opt_rate_handheld 9/s burst 9")
    assert changed != text
    assert H.broker_conf_differences(changed, allowed_options=H.BROKER_TIMING_OPTIONS) == [
        "plugin_opt_rate_handheld 9/s burst 9, shipped 2/s burst 100"]
    assert "max_packet_size 1000" in "\n".join(
        H.broker_conf_differences(text.replace("max_packet_size 67584", "max_packet_size 1000")))


def test_demo_broker_announces_and_enforces_the_limits():
    """The demo's broker, run: CONNACK announces Maximum Packet Size, Receive Maximum and
    Maximum QoS as shipped; a 70,000-byte PUBLISH gets DISCONNECT 0x95, not PUBACK 0x87."""
    e = env()
    secret = device(e, "gw-cf1", stations=["st-cf1"])
    port = H.free_port()
    conf = demo_conf(e, port)
    with open(os.path.join(os.path.dirname(conf), "stderr.log"), "ab") as err:
        proc = subprocess.Popen([H.MOSQUITTO, "-c", conf], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err)
    H.on_exit(lambda: proc.poll() is None and (proc.kill(), proc.wait(10)))
    H.wait_until(lambda: proc.poll() is None and H.port_open(port), 20, "the demo's broker")
    H.wait_until(lambda: B.RawClient(port, "gw-cf1", "gw-cf1", secret).connect() == 0, 20,
                 "gw-cf1 to be known to the demo's broker", interval=0.3)
    c = B.RawClient(port, "gw-cf1", "gw-cf1", secret)
    assert c.connect() == 0
    props = connack_props(c)
    assert props.get(0x27) == int(B.deploy_setting("max_packet_size")) == 67584, props
    assert props.get(0x21) == int(B.deploy_setting("max_inflight_messages")) == 100, props
    assert props.get(0x24) == 1, props
    assert c.publish("pantau/v1/gw-cf1/flood", flood(1, "st-cf1")) in OK
    try:
        c.publish("pantau/v1/gw-cf1/flood", b"x" * 70000)
        raise AssertionError("a 70,000-byte PUBLISH was acknowledged")
    except B.Closed as closed:
        assert closed.reason == B.RC_PACKET_TOO_LARGE, "closed with reason %s" % closed.reason
    proc.terminate()
    proc.wait(20)


def section(text, title):
    start = text.index("\n## %s" % title)
    return text[start:text.index("\n## ", start + 1)]


def rate_text(rate):
    """"5/s burst 50" as protocol.md writes it: "5/s, burst 50"."""
    m = re.fullmatch(r"([0-9.]+)/([smh]) burst ([0-9]+)", rate)
    assert m, "rate %r" % rate
    return "%s/%s, burst %s" % m.groups()


def test_protocol_section_8_states_the_shipped_limits():
    with open(PROTOCOL) as f:
        s8 = section(f.read(), "8. Limits")
    rows = {line.split("|")[1].strip(): line.split("|")[2].strip()
            for line in s8.splitlines() if line.startswith("| ")}
    opts = H.deploy_plugin_options()

    def row(start):
        found = [v for k, v in rows.items() if k.startswith(start)]
        assert len(found) == 1, "section 8 has no single row starting %r" % start
        return found[0]

    rates = row("messages a device publishes")
    for kind in ("flood_gateway", "traffic_gateway", "handheld"):
        want = "`%s` %s" % (kind, rate_text(opts["rate_" + kind]))
        assert want in rates, "section 8 does not say %r (shipped: %s)" % (
            want, opts["rate_" + kind])
    assert row("a device's refused messages").startswith(rate_text(opts["rejected_rate"]))
    assert row("a device's last wills").startswith(rate_text(opts["will_rate"]))
    assert row("QoS 1 PUBLISHes").startswith("%s, announced in CONNACK as Receive Maximum" %
                                             B.deploy_setting("max_inflight_messages"))
    assert row("any MQTT packet").startswith("%s bytes, announced as Maximum Packet Size" %
                                             B.deploy_setting("max_packet_size"))
    assert "Maximum QoS 1" in rows["QoS"]
    for address, settings in H.deploy_broker()["listeners"]:
        assert ("max_qos", "1") in settings, "listener %s without max_qos 1" % address


def test_no_sanitizer_report_nor_secret_in_any_log():
    check_sanitizer(env())
    B.check_no_secrets(env())


if __name__ == "__main__":
    H.run_tests(globals())
