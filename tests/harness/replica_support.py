"""replica_support.py -- a PostgreSQL 15 primary and its streaming replica for tests and
benchmarks (issue 15, item 5), as an operator makes them (docs/operations.md, "A streaming
replica for the console and analysts"): the primary runs deploy/postgresql/primary.conf, the
replica is made by Debian's pg_basebackup -R (as the postgres user, into a folder it owns, with
a physical replication slot) and runs deploy/postgresql/replica.conf (hot_standby on).

    primary = primary_cluster(root + "/primary")          # a PgCluster, started
    dsn = primary.schema_database("t1")
    replica = ReplicaCluster(root + "/replica", primary).start()
    replica.wait_caught_up()
    replica.query("t1", "SELECT count(*) FROM pantau.reading_ledger")

Nothing here changes pantau_harness.py; a ReplicaCluster is a PgCluster whose start() makes the
data folder with pg_basebackup instead of initdb. `wrap` runs the replica's postmaster (and so
every backend it forks) under a prefix command, e.g. ["chrt", "--idle", "0"]: the benchmark's
stand-in for "the replica has a machine of its own".
"""

import os
import re
import shutil
import subprocess
import time

import pantau_harness as H

DEPLOY_PG = os.path.join(H.SOURCE_DIR, "deploy", "postgresql")
SLOT = "pantau_replica"


def deploy_settings(name):
    """deploy/postgresql/<name>.conf as [(key, value)] in file order."""
    out = []
    with open(os.path.join(DEPLOY_PG, name + ".conf")) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            m = re.match(r"^(\w+)\s*=\s*(.+)$", line)
            if m is None:
                raise ValueError("deploy/postgresql/%s.conf: %r" % (name, line))
            out.append((m.group(1), m.group(2).strip().strip("'")))
    return out


def _options(settings):
    return " ".join("-c %s=%s" % (k, v) for k, v in settings)


class PrimaryCluster(H.PgCluster):
    """A PgCluster with deploy/postgresql/primary.conf's settings (and any `extra` ones)."""

    def __init__(self, root, port=None, extra=()):
        super().__init__(root, port)
        self.extra = list(extra)

    def _pg_ctl(self, *args, check=True, timeout=120):
        args = list(args)
        if args and args[0] == "start":
            i = args.index("-o") + 1
            args[i] += " " + _options(deploy_settings("primary") + self.extra)
        return super()._pg_ctl(*args, check=check, timeout=timeout)


def primary_cluster(root, port=None, extra=()):
    """A started primary, stopped at exit."""
    pg = PrimaryCluster(root, port, extra).start()
    H.on_exit(lambda: pg.stop("immediate"))
    return pg


class ReplicaCluster(H.PgCluster):
    """A hot standby of primary (a PgCluster): pg_basebackup -R -X stream -C -S SLOT as the
    postgres user, then deploy/postgresql/replica.conf. Stopped at exit; the primary's slot
    is dropped then too."""

    def __init__(self, root, primary, port=None, wrap=(), extra=(), slot=SLOT):
        super().__init__(root, port)
        self.primary = primary
        self.wrap = list(wrap)
        self.extra = list(extra)
        self.slot = slot
        self.basebackup_s = None

    def _pg_ctl(self, *args, check=True, timeout=120):
        args = list(args)
        if args and args[0] == "start":
            i = args.index("-o") + 1
            args[i] += " " + _options(deploy_settings("replica") + self.extra)
        if not self.wrap or not args or args[0] != "start":
            return super()._pg_ctl(*args, check=check, timeout=timeout)
        argv = self.wrap + H._as_postgres([H.PGBIN + "/pg_ctl", "-D", self.data] + args)
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError("pg_ctl %s failed: %s\n--- server log ---\n%s" % (
                " ".join(args), r.stdout.decode(errors="replace"), H.tail(self.log)))
        return r

    def basebackup(self):
        """The data folder, copied from the running primary as an operator does it."""
        self._paths()
        if os.path.exists(self.data):
            shutil.rmtree(self.data)
        self.primary.query("postgres", "SELECT pg_drop_replication_slot(slot_name) FROM"
                           " pg_replication_slots WHERE slot_name = %s", self.slot)
        t0 = time.monotonic()
        r = subprocess.run(H._as_postgres([
            H.PGBIN + "/pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary.port),
            "-U", "postgres", "-D", self.data, "-R", "-X", "stream", "-C", "-S", self.slot,
            "-c", "fast", "--no-sync"]),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
        if r.returncode != 0:
            raise RuntimeError("pg_basebackup failed: %s" % r.stdout.decode(errors="replace"))
        self.basebackup_s = time.monotonic() - t0
        # the copy's postmaster.opts and log name are the primary's: not ours
        for name in ("postmaster.opts",):
            path = os.path.join(self.data, name)
            if os.path.exists(path):
                os.unlink(path)

    def start(self):
        self._paths()
        if not os.path.exists(os.path.join(self.data, "standby.signal")):
            self.basebackup()
        if self.running():
            self._pg_ctl("stop", "-m", "immediate", check=False)
        opts = ("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=200 "
                "-c shared_buffers=128MB -c timezone=UTC" % (self.port, self.dir))
        self._pg_ctl("start", "-w", "-t", "120", "-l", self.log, "-o", opts)
        H.wait_until(lambda: self._answers(), 60,
                     "the replica on port %d to accept read-only connections" % self.port)
        H.on_exit(self._gone)
        return self

    def _answers(self):
        try:
            return self.query("postgres", "SELECT pg_is_in_recovery()") == [(True,)]
        except Exception:
            return False

    def _gone(self):
        self.stop("immediate")
        try:
            self.primary.query("postgres", "SELECT pg_drop_replication_slot(slot_name) FROM"
                               " pg_replication_slots WHERE slot_name = %s AND NOT active",
                               self.slot)
        except Exception:
            pass

    # ---- replication --------------------------------------------------------------------------

    def streaming(self):
        """Whether the primary lists this replica as streaming."""
        rows = self.primary.query("postgres", "SELECT state FROM pg_stat_replication r JOIN"
                                  " pg_replication_slots s ON s.active_pid = r.pid"
                                  " WHERE s.slot_name = %s", self.slot)
        return rows == [("streaming",)]

    def wait_caught_up(self, timeout=60):
        """Waits until the replica has replayed everything the primary wrote until now."""
        lsn = self.primary.query("postgres", "SELECT pg_current_wal_lsn()::text")[0][0]

        def replayed():
            got = self.query("postgres", "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), %s)"
                             " >= 0", lsn)
            return got == [(True,)]

        H.wait_until(replayed, timeout, "the replica to replay up to %s" % lsn, interval=0.05)

    def lag(self):
        """(seconds, bytes) as the primary's pg_stat_replication reports them for this replica
        (replay_lag, sent - replayed)."""
        rows = self.primary.query(
            "postgres", "SELECT coalesce(extract(epoch FROM r.replay_lag), 0)::float8,"
            " pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn)::float8"
            " FROM pg_stat_replication r JOIN pg_replication_slots s ON s.active_pid = r.pid"
            " WHERE s.slot_name = %s", self.slot)
        return rows[0] if rows else (None, None)


def apply_primary_settings(pg):
    """deploy/postgresql/primary.conf on a running PgCluster made by pantau_harness (ALTER
    SYSTEM, reload): those that need a restart must hold already (PostgreSQL 15's defaults)."""
    for key, value in deploy_settings("primary"):
        ctx = pg.query("postgres", "SELECT context FROM pg_settings WHERE name = %s", key)[0][0]
        if ctx == "postmaster":
            now = pg.query("postgres", "SELECT current_setting(%s)", key)[0][0]
            if now != value:
                raise RuntimeError("primary: %s is %s, deploy/postgresql/primary.conf says %s"
                                   " (a restart setting)" % (key, now, value))
            continue
        pg.query("postgres", "ALTER SYSTEM SET %s = '%s'" % (key, value))
    pg.query("postgres", "SELECT pg_reload_conf()")
