"""bench_broker_connect.py -- MQTT 5 connects per second with pantau_broker.so's authentication,
against plain mosquitto (allow_anonymous true, no plugin) in the same run.

    PANTAU_BUILD_DIR=build /usr/bin/python3 tests/bench/broker/bench_broker_connect.py [rounds]

One client connects, waits for the CONNACK and disconnects, again and again, on a plain socket
(tests/integration/broker_support.RawClient), so that the figures are connect round trips of
the broker, not of a client library. Modes, interleaved in each round:

  plain           mosquitto without the plugin, anonymous, the same client id each time
  plain new ids   the same, a different client id each time (what "device cold" costs
                  mosquitto itself: a new entry in its client table)
  device cold     pantau_broker.so, a different device account each time (one HMAC-SHA256)
  device again    the same device over and over
  person cold     a different person each time, never verified before: one PBKDF2-SHA512
                  (100,000 iterations) each; the slow-check budget is raised for this run
                  (slow_checks_per_sec 1000) so that the cost shows, not the budget
  person cached   the same person over and over (a cache hit: one HMAC of the password)

Prints the median connects per second of each mode over the rounds and its ratio to plain, as a
Markdown table for docs/benchmarks.md. Starts its own PostgreSQL when not run under ctest.
Accounts are made directly in SQL with the same hash formats as pantau-admin (making 3,000
device accounts through 3,000 pantau-admin runs would dominate the run).
"""

import hashlib
import hmac
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration"))

import broker_support as B  # noqa: E402
from psycopg2.extras import execute_values  # noqa: E402

H = B.H

DEVICE_CONNECTS = 1000     # per round and mode
PERSON_COLD = 25           # PBKDF2 logins per round (about 0.1 s each)
PERSON_CACHED = 1000
ITERATIONS = 100000


def server_key(path):
    return bytes.fromhex(open(path).readline().strip())


def device_hash(key, secret):
    kid = hashlib.sha256(key).hexdigest()[:8]
    return "hmac-sha256$k=%s$%s" % (kid, hmac.new(key, secret.encode(), "sha256").hexdigest())


def password_hash(pw):
    salt = os.urandom(16)
    dk = hashlib.pbkdf2_hmac("sha512", pw.encode(), salt, ITERATIONS)
    return "pbkdf2-sha512$i=%d$%s$%s" % (ITERATIONS, salt.hex(), dk.hex())


def connects(port, creds):
    """Sequential connects with creds [(client_id, username, password)]; connects/s."""
    t0 = time.monotonic()
    for cid, user, pw in creds:
        c = B.RawClient(port, cid, user, pw)
        rc = c.connect()
        if rc != 0:
            raise AssertionError("connect as %s refused: %s" % (user, rc))
        c.disconnect()
    return len(creds) / (time.monotonic() - t0)


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    e = B.BrokerEnv("bench-connect", plugin_opts={
        "slow_checks_per_sec": "1000", "slow_burst": "1000", "stats_interval": "10",
        "reload_ms": "60000"})
    key = server_key(e.key_file)
    devices = []
    rows = []
    for i in range(DEVICE_CONNECTS * rounds):
        name = "gw-bench-%05d" % i
        secret = os.urandom(32).hex()
        devices.append((name, name, secret))
        rows.append((name, device_hash(key, secret)))
    with e.db().cursor() as cur:
        execute_values(cur, "INSERT INTO pantau.device (device_id, kind) VALUES %s",
                       [(r[0], "flood_gateway") for r in rows], page_size=100000)
        execute_values(cur, "INSERT INTO pantau_ops.account (username, role, device_id,"
                       " secret_kind, secret_hash) VALUES %s",
                       [(r[0], "device", r[0], "device_key", r[1]) for r in rows],
                       page_size=100000)
    people = []
    with e.db().cursor() as cur:
        for i in range(PERSON_COLD * rounds + 1):
            name = "person-bench-%03d" % i
            pw = "pw-%s" % os.urandom(8).hex()
            cur.execute("INSERT INTO pantau_ops.account (username, role, secret_kind, secret_hash)"
                        " VALUES (%s, 'dashboard', 'password', %s)", (name, password_hash(pw)))
            people.append((name, name, pw))
    e.wait_connack(devices[-1][0], devices[-1][1], devices[-1][2], 0, timeout=60)
    cached_person = people.pop()
    e.wait_connack(*cached_person, 0)

    plain = H.Mosquitto(os.path.join(e.root, "plain"), allow_anonymous=True).start()
    results = {m: [] for m in ("plain", "plain new ids", "device cold", "device again",
                               "person cold", "person cached")}
    for r in range(rounds):
        results["plain"].append(connects(plain.port, [("gw-plain", None, None)] *
                                         DEVICE_CONNECTS))
        results["plain new ids"].append(connects(plain.port, [
            ("gw-plain-%d-%d" % (r, i), None, None) for i in range(DEVICE_CONNECTS)]))
        results["device cold"].append(connects(
            e.port, devices[r * DEVICE_CONNECTS:(r + 1) * DEVICE_CONNECTS]))
        results["device again"].append(connects(e.port, [devices[0]] * DEVICE_CONNECTS))
        results["person cold"].append(connects(
            e.port, people[r * PERSON_COLD:(r + 1) * PERSON_COLD]))
        results["person cached"].append(connects(e.port, [cached_person] * PERSON_CACHED))
    plain.stop()
    s = e.stats()
    e.close()

    base = statistics.median(results["plain"])
    print("| mode | connects/s (median of %d rounds) | ratio to plain |" % rounds)
    print("| --- | ---: | ---: |")
    for mode, vals in results.items():
        med = statistics.median(vals)
        print("| %s | %.0f | %.2f |" % (mode, med, med / base))
    print()
    print("devauth counters: accepted %d, slow checks %d, cache hits %d, fast checks %d" % (
        s["accepted"], s["slow_checks"], s["cache_hits"], s["fast_checks"]))


if __name__ == "__main__":
    main()
