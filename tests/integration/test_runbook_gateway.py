#!/usr/bin/python3
"""test_runbook_gateway.py -- docs/operations.md's "Add a gateway" and "Swap a gateway's SD
card", step by step with the same commands, against a real mosquitto with pantau's plugin, the
real collector and real pantau-agent processes:
- add a gateway: `pantau-admin station-add`, `device-add --station` (its secret printed once,
  kept in a file of mode 0600), the agent's config: its readings are stored once and
  acknowledged (its store empties);
- swap its SD card (the store is gone; the old card unreadable): `pantau-admin device-rotate`
  (the secret on the lost card no longer opens the broker), the agent started on a new card
  with the new secret: a new store id, its readings stored once beside the old store's, which
  stay as they were.
"""
import os
import sqlite3
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import broker_support as B  # noqa: E402
from agent_support import Agent, simulator  # noqa: E402
from broker_policy_support import AgentWorld, start_collector  # noqa: E402

H = B.H


def secret_file(env, name, secret):
    path = os.path.join(env.root, name)
    with open(path, "w") as f:
        f.write(secret + "\n")
    os.chmod(path, 0o600)
    return path


def store_id(agent):
    db = sqlite3.connect("file:%s?mode=ro" % agent.store, uri=True, timeout=10)
    try:
        return db.execute("SELECT store_id FROM store_state").fetchone()[0]
    finally:
        db.close()


def stored(env, dev):
    """{store id: sorted seqs} in the ledger for dev."""
    out = {}
    for store, seq in env.sql("SELECT store_id::text, seq FROM pantau.reading_ledger"
                              " WHERE device_id = %s ORDER BY seq", dev):
        out.setdefault(store, []).append(seq)
    return out


def held(agent):
    db = sqlite3.connect("file:%s?mode=ro" % agent.store, uri=True, timeout=10)
    try:
        return db.execute("SELECT count(*) FROM reading").fetchone()[0]
    finally:
        db.close()


def test_add_a_gateway_then_swap_its_sd_card():
    env = B.BrokerEnv("runbook")
    H.on_exit(env.close)
    w = AgentWorld(env)
    start_collector(env, "collector-1")
    dev, st = "gw-rb-01", "st-rb-01"

    # Add a gateway (docs/operations.md): the station, the device bound to it, its secret
    env.admin("station-add", st, "--kind", "flood_gauge", "--name", "Kali Bekasi RB",
              "--lat", "-6.24", "--lon", "106.99")
    r = env.admin("device-add", dev, "--kind", "flood_gateway", "--station", st,
                  "--from", "2000-01-01T00:00:00Z", "--key-file", env.key_file)
    first_secret = r.stdout.strip()
    assert len(first_secret) == 64, r.stdout
    env.wait_connack(dev, dev, first_secret, B.RC_SUCCESS)
    pw = secret_file(env, "agent-mqtt.pass", first_secret)
    a = Agent(w, dev, sources=[simulator(flood=st, rate=20, count=30)], mqtt_username=dev,
              mqtt_password_file=pw, label="card1").start()
    H.wait_until(lambda: sum(len(v) for v in stored(env, dev).values()) == 30, 60,
                 "the new gateway's 30 readings stored")
    H.wait_until(lambda: held(a) == 0, 30, "the first card's store empty (acknowledged)")
    old_store = store_id(a)
    assert a.stop() == 0

    # Swap its SD card: the old card (store, secret file) is gone; a new secret for the device
    r = env.admin("device-rotate", dev, "--key-file", env.key_file)
    new_secret = r.stdout.strip()
    assert len(new_secret) == 64 and new_secret != first_secret, r.stdout
    env.wait_connack(dev, dev, first_secret, B.RC_NOT_AUTHORIZED)
    pw = secret_file(env, "agent-mqtt.pass", new_secret)
    b = Agent(w, dev, sources=[simulator(flood=st, rate=20, count=25)], mqtt_username=dev,
              mqtt_password_file=pw, label="card2").start()
    H.wait_until(lambda: len(stored(env, dev)) == 2 and
                 min(len(v) for v in stored(env, dev).values()) == 25, 60,
                 "the new card's 25 readings stored under a new store id")
    H.wait_until(lambda: held(b) == 0, 30, "the new card's store empty (acknowledged)")
    new_store = store_id(b)
    assert new_store != old_store
    got = stored(env, dev)
    assert got[old_store] == list(range(1, 31)), got[old_store]
    assert got[new_store] == list(range(1, 26)), got[new_store]
    assert b.stop() == 0


if __name__ == "__main__":
    H.run_tests(globals())
