"""Broker authentication, basics: a real mosquitto with pantau_broker.so and a real PostgreSQL.

Who may connect (device keys, people's passwords), what is refused with which CONNACK reason
code, that ids are checked before any lookup, that the plugin's options fail closed, and that
neither the broker's log nor pantau-admin ever shows a secret or a hash.
"""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import broker_support as B  # noqa: E402

H = B.H
ENV = None


def env():
    global ENV
    if ENV is None:
        ENV = B.BrokerEnv("auth-basic")
        ENV.device_secret = ENV.add_device("gw-p2c-01", "flood_gateway", stations=["p2c-kali"])
        ENV.other_secret = ENV.add_device("gw-cam-02", "traffic_gateway", stations=["cam-02"])
        ENV.person_pw = ENV.add_user("analyst-rina", "dashboard", iterations=100000)
        # every account is known to the broker (LISTEN/NOTIFY) before the tests start
        ENV.wait_connack("gw-p2c-01", "gw-p2c-01", ENV.device_secret, B.RC_SUCCESS)
        ENV.wait_connack("analyst-rina", "analyst-rina", ENV.person_pw, B.RC_SUCCESS)
    return ENV


def test_device_key_accepted():
    e = env()
    assert e.connack("gw-p2c-01", "gw-p2c-01", e.device_secret) == B.RC_SUCCESS
    c = e.client("gw-cam-02", e.other_secret)
    assert c.ping() < 5


def test_person_password_accepted():
    e = env()
    assert e.connack("analyst-rina", "analyst-rina", e.person_pw) == B.RC_SUCCESS


def test_wrong_secret_refused():
    e = env()
    wrong = e.device_secret[:-1] + ("0" if e.device_secret[-1] != "0" else "1")
    assert e.connack("gw-p2c-01", "gw-p2c-01", wrong) == B.RC_NOT_AUTHORIZED
    assert e.connack("gw-p2c-01", "gw-p2c-01", "") == B.RC_NOT_AUTHORIZED
    assert e.connack("gw-p2c-01", "gw-p2c-01", None) == B.RC_NOT_AUTHORIZED
    # one device's key does not open another device
    assert e.connack("gw-cam-02", "gw-cam-02", e.device_secret) == B.RC_NOT_AUTHORIZED
    assert e.connack("analyst-rina", "analyst-rina", e.person_pw + "x") == B.RC_NOT_AUTHORIZED
    # a person's password hash is never checked as a device key, nor the other way round
    assert e.connack("analyst-rina", "analyst-rina", e.device_secret) == B.RC_NOT_AUTHORIZED


def test_unknown_and_anonymous_refused():
    e = env()
    assert e.connack("gw-unknown-9", "gw-unknown-9", e.device_secret) == B.RC_NOT_AUTHORIZED
    assert e.connack("gw-unknown-9", None, None) == B.RC_NOT_AUTHORIZED


def test_client_id_must_equal_username():
    e = env()
    before = e.stats()["refused_client_id_mismatch"]
    # a device logging in with its own credentials but another device's client id
    assert e.connack("gw-cam-02", "gw-p2c-01", e.device_secret) == B.RC_NOT_AUTHORIZED
    assert e.connack("gw-p2c-01x", "gw-p2c-01", e.device_secret) == B.RC_NOT_AUTHORIZED
    # an empty client id makes mosquitto assign one, which is not the username either
    assert e.connack("", "gw-p2c-01", e.device_secret) != B.RC_SUCCESS
    H.wait_until(lambda: e.stats()["refused_client_id_mismatch"] >= before + 2, 10,
                 "the client id refusals counted")


def test_owner_not_kicked_by_its_own_id_taken():
    e = env()
    owner = e.client("gw-cam-02", e.other_secret)
    # another authenticated account trying the owner's client id is refused, and the owner
    # stays connected (mosquitto would otherwise disconnect it and hand over its session)
    assert e.connack("gw-cam-02", "analyst-rina", e.person_pw) == B.RC_NOT_AUTHORIZED
    assert not owner.wait_closed(1.0)
    assert owner.ping() < 5
    owner.disconnect()


def test_ids_with_wildcards_or_separators_refused():
    e = env()
    before = e.stats()
    # mosquitto passes these to the plugin, which refuses them (0x87)
    bad = ["gw+1", "gw#1", "gw/p2c", "pantau/v1/gw-p2c-01", "gw p2c", "GW-P2C-01", "_sys",
           "x" * 65, "gw-\u00e9"]
    for name in bad:
        assert e.connack(name, name, e.device_secret) == B.RC_NOT_AUTHORIZED, name
        assert e.connack("gw-p2c-01", name, e.device_secret) == B.RC_NOT_AUTHORIZED, name
        assert e.connack(name, "gw-p2c-01", e.device_secret) == B.RC_NOT_AUTHORIZED, name
    # control characters: mosquitto's own UTF-8 check may refuse them first; refused either way
    for name in ("gw\tp2c", "gw\x01", "gw\x7f"):
        assert e.connack(name, name, e.device_secret) != B.RC_SUCCESS, repr(name)
        assert e.connack("gw-p2c-01", name, e.device_secret) != B.RC_SUCCESS, repr(name)
    after = H.wait_until(lambda: (lambda s: s if s["refused_bad_id"] >= before["refused_bad_id"]
                                  + 3 * len(bad) else None)(e.stats()), 10, "bad ids counted")
    # refused before any lookup: none of them counted as an unknown user
    assert after["refused_unknown_user"] == before["refused_unknown_user"]


def test_counters_on_sys_topic():
    e = env()
    s = e.stats()
    for key in ("accepted", "refused_unknown_user", "refused_bad_secret", "refused_disabled",
                "refused_client_id_mismatch", "refused_bad_id", "refused_rate_limited",
                "refused_slow_budget", "cache_hits", "slow_checks", "registry_accounts"):
        assert key in s, key
    assert s["accepted"] >= 3 and s["refused_bad_secret"] >= 1
    # the members devacl's and payval's counters have too (protocol.md 7.4)
    assert s["module"] == "devauth" and s["ts"].endswith("Z")
    assert s["refused"] == sum(s["refused_by_reason"].values())
    assert s["refused_by_reason"]["bad_secret"] == s["refused_bad_secret"]
    assert "log_suppressed" in s
    assert s["registry_db_ok"] is True and s["registry_accounts"] >= 3
    # a person who logged in before is answered from the cache
    n = s["cache_hits"]
    assert e.connack("analyst-rina", "analyst-rina", e.person_pw) == B.RC_SUCCESS
    H.wait_until(lambda: e.stats()["cache_hits"] > n, 10, "a cache hit counted")


def test_admin_prints_secret_once():
    e = env()
    r = e.admin("device-add", "gw-once-03", "--kind", "handheld", "--key-file", e.key_file)
    secret = r.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", secret), r.stdout
    assert "once" in r.stderr and secret not in r.stderr
    e.secrets["gw-once-03"] = secret
    listing = e.admin("list").stdout
    assert "gw-once-03" in listing and "handheld" in listing
    for s in e.secrets.values():
        assert s not in listing
    for h in e.hashes():
        assert h not in listing and h.split("$")[-1] not in listing
    # nothing stored is the secret itself
    assert secret not in "".join(e.hashes())
    # a rotation prints a new one, and the old one stops working
    e.wait_connack("gw-once-03", "gw-once-03", secret, B.RC_SUCCESS)
    new = e.admin("device-rotate", "gw-once-03", "--key-file", e.key_file).stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", new) and new != secret
    e.secrets["gw-once-03-new"] = new
    e.wait_connack("gw-once-03", "gw-once-03", secret, B.RC_NOT_AUTHORIZED)
    assert e.connack("gw-once-03", "gw-once-03", new) == B.RC_SUCCESS


def test_admin_enrols_a_registered_device_of_its_kind():
    """A device already in the registry (no account yet) is enrolled by device-add; a kind other
    than the registered one is refused, and so is a second device-add."""
    e = env()
    e.sql("INSERT INTO pantau.device (device_id, kind) VALUES ('gw-known-04', 'flood_gateway')")
    wrong = e.admin("device-add", "gw-known-04", "--kind", "handheld", "--key-file", e.key_file,
                    check=False)
    assert wrong.returncode == 1 and "registered with kind flood_gateway" in wrong.stderr, wrong
    assert wrong.stdout.strip() == ""
    assert e.scalar("SELECT count(*) FROM pantau_ops.account WHERE username = 'gw-known-04'") == 0
    secret = e.admin("device-add", "gw-known-04", "--kind", "flood_gateway", "--key-file",
                     e.key_file).stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", secret)
    e.secrets["gw-known-04"] = secret
    e.wait_connack("gw-known-04", "gw-known-04", secret, B.RC_SUCCESS)
    again = e.admin("device-add", "gw-known-04", "--kind", "flood_gateway", "--key-file",
                    e.key_file, check=False)
    assert again.returncode == 1 and "has an account already" in again.stderr, again
    assert again.stdout.strip() == ""
    assert e.connack("gw-known-04", "gw-known-04", secret) == B.RC_SUCCESS


def test_admin_errors_and_usage():
    e = env()
    r = e.admin("device-add", "Bad/Id", "--kind", "handheld", "--key-file", e.key_file,
                check=False)
    assert r.returncode == 2 and "Bad/Id" in r.stderr
    r = e.admin("device-add", "gw-p2c-01", "--kind", "flood_gateway", "--key-file", e.key_file,
                check=False)
    assert r.returncode == 1 and "adding the device" in r.stderr and r.stdout == ""
    r = e.admin("user-add", "rt-05", "--role", "wizard", "--password-file", "-", input="x" * 12,
                check=False)
    assert r.returncode == 2 and "role" in r.stderr
    r = e.admin("user-add", "rt-05", "--role", "officer", "--password-file", "-",
                input="short\n", check=False)
    assert r.returncode == 2 and "at least" in r.stderr
    r = subprocess.run([B.admin_path(), "--db", "host=127.0.0.1 port=1 dbname=x", "list"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert r.returncode == 1 and "cannot connect to PostgreSQL" in r.stderr
    r = subprocess.run([B.admin_path(), "--help"], stdout=subprocess.PIPE, text=True)
    assert r.returncode == 0 and r.stdout.startswith("Usage: pantau-admin")
    r = subprocess.run([B.admin_path(), "--version"], stdout=subprocess.PIPE, text=True)
    assert r.returncode == 0 and r.stdout.startswith("pantau-admin ")
    r = subprocess.run([B.admin_path(), "frobnicate"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    assert r.returncode == 2


def test_officer_has_no_mqtt_access():
    """Audit item 4: an officer account (protocol.md 7.1: no MQTT access) is refused with its
    right password, before any password hash is computed (slow_checks does not move)."""
    e = env()
    pw = e.add_user("officer-wati", "officer", iterations=100000)
    before = e.stats()

    def refused_for_its_role():
        # until the broker has it, it is refused as unknown_user
        assert e.connack("officer-wati", "officer-wati", pw) == B.RC_NOT_AUTHORIZED
        return (e.stats()["refused_by_reason"]["no_mqtt_role"] >
                before["refused_by_reason"]["no_mqtt_role"])
    H.wait_until(refused_for_its_role, 20, "the officer refused for its role", interval=0.5)
    assert e.connack("officer-wati", "officer-wati", pw + "x") == B.RC_NOT_AUTHORIZED
    after = e.stats()
    assert after["slow_checks"] == before["slow_checks"], (before, after)
    assert after["refused_no_mqtt_role"] == after["refused_by_reason"]["no_mqtt_role"]


def test_no_secret_or_hash_in_any_log():
    e = env()
    e.stats()    # the admin account exists too
    B.check_no_secrets(e)
    assert B.SANITIZER_MARKS[0] not in e.broker_log()


def test_options_fail_closed():
    e = env()
    for opts, needle in (({"bogus_knob": "1"}, "plugin_opt_bogus_knob"),
                         ({"key_file": None}, "plugin_opt_key_file"),
                         ({"snapshot_file": None}, "plugin_opt_snapshot_file"),
                         ({"slow_checks_per_sec": "fast"}, "plugin_opt_slow_checks_per_sec")):
        bad = e.other_broker(opts)
        assert not e.start_other(bad), "mosquitto started with %s" % opts
        H.wait_until(lambda: needle in open(bad.log, errors="replace").read(), 10,
                     "the log to name %s" % needle)
        bad.stop()
    assert e.connack("gw-p2c-01", "gw-p2c-01", e.device_secret) == B.RC_SUCCESS


if __name__ == "__main__":
    H.run_tests(globals())
