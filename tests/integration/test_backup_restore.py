#!/usr/bin/python3
"""test_backup_restore.py -- backups and point-in-time restore (issue 14 item 4) with
scripts/pantau-backup.sh and pgBackRest, on the test's own PostgreSQL cluster.

Two flood gateways (real pantau-agent processes with the simulator) send through the broker to
the real collector. The test turns archiving on (`pantau-backup.sh setup`), takes a full backup,
lets more readings be stored, notes a point in time at which no transaction of the collector is
half done (a SHARE lock on the ledger: every commit is before it or after it), lets more be
stored, archives the current WAL (`check`), stops the collector, destroys the cluster (its data
directory deleted) and restores it to the point (`pantau-backup.sh restore --to`). The ledger
and the facts are then exactly the rows committed at the point: not one more, not one less.

The restore is recorded in pantau_ops.restore (epoch: the new timeline). Then the collector
comes back and announces it (retained, pantau/v1/_sys/restore, protocol.md 6.3); each agent
takes back the acknowledged readings it kept (store_keep_acked_ms, 24 h by default) from the
point on and sends them again with what it still held. At the end every reading each device
took is in the ledger exactly once (its key; no dead letters): the point's, the gap's
(committed after the point, acknowledged, lost with the cluster) and those never stored.
"""
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import psycopg2  # noqa: E402

from agent_support import Agent, Watcher, ledger_count, ledger_seqs, simulator  # noqa: E402
from collector_support import SOURCE, H, env_for, run_tests, wait_for  # noqa: E402

DEVICES = {"gw-bk-01": "st-bk-01", "gw-bk-02": "st-bk-02"}
RATE = 20          # readings per second per device
TOTAL = 1600       # per device: 80 s, longer than the test's phases
SCRIPT = os.path.join(SOURCE, "scripts", "pantau-backup.sh")


def pg_opts(pg):
    """The options PgCluster.start gives the postmaster (same port, socket and settings)."""
    return ("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=200 "
            "-c shared_buffers=128MB -c timezone=UTC" % (pg.port, pg.dir))


def pg_ctl_command(pg, action):
    """The shell command that starts the cluster as PgCluster does (the data directory on the
    postmaster's command line, which is how the harness finds it), or restarts it: a stop and
    such a start (`pg_ctl restart` would start it without -D)."""
    pg_ctl = ["runuser", "-u", "postgres", "--", H.PGBIN + "/pg_ctl", "-D", pg.data]
    start = pg_ctl + ["start", "-l", pg.log, "-w", "-t", "120", "-o", pg_opts(pg)]
    text = " ".join(shlex.quote(a) for a in start)
    if action == "restart":
        stop = pg_ctl + ["stop", "-m", "fast", "-w"]
        text = " ".join(shlex.quote(a) for a in stop) + " && " + text
    return text


def write_backup_conf(env, pg):
    """deploy/backup/pgbackrest.conf with this host's places: the repository, log and lock folders
    under the test's folder (owned by postgres), the cluster's data, port and socket."""
    base = os.path.join(env.root, "backup")
    os.makedirs(base, exist_ok=True)
    shutil.chown(base, "postgres", "postgres")
    places = {
        "repo1-path": os.path.join(base, "repo"),
        "log-path": os.path.join(base, "log"),
        "lock-path": os.path.join(base, "lock"),
        "pg1-path": pg.data,
        "pg1-port": str(pg.port),
        "pg1-socket-path": pg.dir,
    }
    with open(os.path.join(SOURCE, "deploy", "backup", "pgbackrest.conf")) as f:
        lines = f.read().splitlines()
    out = []
    for line in lines:
        key = line.split("=", 1)[0].strip()
        if "=" in line and key in places:
            line = "%s=%s" % (key, places.pop(key))
        out.append(line)
    assert not places, "deploy/backup/pgbackrest.conf lacks %s" % sorted(places)
    path = os.path.join(base, "pgbackrest.conf")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    os.chmod(path, 0o644)
    return path


def backup_tool(conf, *args):
    r = subprocess.run(["bash", SCRIPT, "--config", conf] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=300)
    text = r.stdout.decode(errors="replace")
    assert r.returncode == 0, "pantau-backup.sh %s: exit %d\n%s" % (
        " ".join(args), r.returncode, text[-4000:])
    return text


def table_rows(env):
    """The ledger, the facts and the dropped ranges of the test's devices, row by row."""
    out = {}
    for name, order in (("pantau.reading_ledger", "device_id, store_id, seq"),
                        ("pantau.flood_reading", "device_id, store_id, seq"),
                        ("pantau.dropped_range", "1")):
        out[name] = [r[0] for r in env.sql("SELECT t::text FROM %s t ORDER BY %s"
                                           % (name, order))]
    return out


def note_point(env):
    """(time, rows): a moment at which no transaction writing the ledger is open, and what was
    committed then. The SHARE lock waits for every writer of the ledger to end and keeps new
    ones waiting: each commit of the collector is before the lock or after the time."""
    conn = psycopg2.connect(env.dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("LOCK TABLE pantau.reading_ledger IN SHARE MODE")
            rows = {}
            for name, order in (("pantau.reading_ledger", "device_id, store_id, seq"),
                                ("pantau.flood_reading", "device_id, store_id, seq"),
                                ("pantau.dropped_range", "1")):
                cur.execute("SELECT t::text FROM %s t ORDER BY %s" % (name, order))
                rows[name] = [r[0] for r in cur.fetchall()]
            cur.execute("SELECT clock_timestamp()::text")
            when = cur.fetchone()[0]
        conn.commit()
    finally:
        conn.close()
    return when, rows


def store_state(path):
    db = sqlite3.connect(path, timeout=30)
    try:
        next_seq = db.execute("SELECT next_seq FROM store_state").fetchone()[0]
        held = db.execute("SELECT count(*) FROM reading").fetchone()[0]
    finally:
        db.close()
    return next_seq, held


def test_restore_to_a_point_in_time_then_devices_resend():
    with env_for("backup", own_cluster=True) as env:
        pg = env.pg
        conf = write_backup_conf(env, pg)
        out = backup_tool(conf, "setup", "--restart-command", pg_ctl_command(pg, "restart"))
        assert "restarting PostgreSQL" in out, out
        assert env.scalar("SHOW archive_mode") == "on"

        for dev, st in DEVICES.items():
            env.register(dev, "flood_gateway", [st])
        c = env.collector()
        watchers = {dev: Watcher(env.mqtt_port, dev).start() for dev in DEVICES}
        agents = {}
        for dev, st in DEVICES.items():
            agents[dev] = Agent(env, dev, window=20, resend_rate=200, replay_rate=400,
                                sources=[simulator(flood=st, rate=RATE, count=TOTAL)])
            agents[dev].start()
        total = lambda: sum(ledger_count(env, d) for d in DEVICES)  # noqa: E731
        wait_for(lambda: total() >= 40, 60, "the first readings stored")

        out = backup_tool(conf, "backup", "--type", "full")
        at_backup = total()
        # after the backup: what the restore must replay from the archived WAL
        wait_for(lambda: total() >= at_backup + 80, 60, "readings stored after the backup")
        point, at_point = note_point(env)
        n_point = len(at_point["pantau.reading_ledger"])
        assert n_point >= at_backup + 80
        wait_for(lambda: total() >= n_point + 80, 60, "readings stored after the point")
        backup_tool(conf, "check")           # the WAL up to now is in the repository

        assert c.stop() == 0
        before = {d: set(ledger_seqs(env, d)) for d in DEVICES}
        assert sum(len(s) for s in before.values()) >= n_point + 80

        # the disaster: the server dies and its data are gone
        pg.kill9()
        assert not H.port_open(pg.port)
        shutil.rmtree(pg.data)
        assert not os.path.exists(pg.data)
        out = backup_tool(conf, "restore", "--to", point, "--database", env.dbname,
                          "--start-command", pg_ctl_command(pg, "start"))
        assert "restored to" in out, out
        # the restore's row (schema/028), from which the collector announces it (protocol.md
        # 6.3): the new timeline is its epoch
        assert env.sql("SELECT epoch, target = %s::timestamptz, restored_at >= target"
                       " FROM pantau_ops.restore_latest", point) == [(2, True, True)]

        restored = table_rows(env)
        for name, rows in at_point.items():
            assert restored[name] == rows, (
                "%s after the restore: %d rows, at the point %d; first difference: %s" % (
                    name, len(restored[name]), len(rows),
                    next(iter(set(restored[name]) ^ set(rows)), None)))
        assert env.scalar("SELECT pg_is_in_recovery()") is False
        at_point_seqs = {d: set(ledger_seqs(env, d)) for d in DEVICES}

        # the collector again: the devices resend what they hold
        c.start()
        for dev, agent in agents.items():
            wait_for(lambda: store_state(agent.store) == (TOTAL + 1, 0), 180,
                     "%s: every reading taken and its store emptied" % dev)
        for dev in DEVICES:
            seqs = ledger_seqs(env, dev)
            assert len(seqs) == len(set(seqs)), "%s: a seq twice in the ledger" % dev
            final = set(seqs)
            everything = set(range(1, TOTAL + 1))
            lost_point = at_point_seqs[dev] - final
            assert not lost_point, "%s: restored readings gone: %s" % (dev,
                                                                       sorted(lost_point)[:5])
            # the gap: committed after the point, acknowledged, lost with the cluster; the
            # agent kept them (store_keep_acked_ms) and sent them again after the announcement
            gap = before[dev] - at_point_seqs[dev]
            assert gap, "%s: nothing was committed after the point" % dev
            missing = everything - final
            assert not missing, "%s: %d readings missing, %d of them from the gap, e.g. %s" % (
                dev, len(missing), len(missing & gap), sorted(missing)[:10])
            assert final == everything, "%s: unexpected seqs %s" % (dev, sorted(final -
                                                                              everything)[:5])
            taken = [int(n) for n in re.findall(
                r"database was restored \(epoch 2\): sending again (\d+)",
                agents[dev].run_log())]
            # once per epoch; what the collector had not acknowledged when it stopped was
            # still held, so it may be fewer than the gap
            assert len(taken) == 1 and taken[0] > 0, (
                "%s: the agent took back %s kept readings for a gap of %d" % (dev, taken,
                                                                              len(gap)))
            agents[dev].stop()
        dead = env.scalar("SELECT count(*) FROM pantau_ops.dead_letter")
        assert dead == 0, "%d dead letters after the resends" % dead
        print("backup_restore: %d readings at the point; %d committed after it and lost with "
              "the cluster, all sent again and stored once" % (
                  n_point, sum(len(before[d] - at_point_seqs[d]) for d in DEVICES)))
        for w in watchers.values():
            w.stop()


if __name__ == "__main__":
    run_tests(globals())
