"""pantau_harness.py -- real servers for pantau's tests, scripts and benchmarks.

Starts a real PostgreSQL 15 cluster and real mosquitto 2.0 brokers on loopback, on free ports,
with their data under a folder the caller names, and stops them again. No mocks: everything the
integration tests talk to is the program the operators run.

    from pantau_harness import PgCluster, Mosquitto, fresh_database, wait_until, run_tests

    pg = PgCluster("/tmp/x/pg").start()
    dsn = pg.create_database("t1"); apply_schema(dsn)
    broker = Mosquitto("/tmp/x/mq").start()
    wait_until(lambda: rows(dsn) == 10, 30, "10 rows stored")

Facts it handles: PostgreSQL refuses to run as root, so initdb and pg_ctl run as the `postgres`
user (Debian's package creates it) in a folder that user owns; Debian keeps them in
/usr/lib/postgresql/15/bin, off PATH. mosquitto started as root switches to the `mosquitto`
user unless its config says `user root`, and could then not write its own folder.

Run with Debian's /usr/bin/python3 (psycopg2, paho-mqtt); stdlib otherwise.
"""

import atexit
import hashlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

SOURCE_DIR = os.environ.get(
    "PANTAU_SOURCE_DIR",
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD_DIR = os.environ.get("PANTAU_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))
PGBIN = "/usr/lib/postgresql/15/bin"
MOSQUITTO = "/usr/sbin/mosquitto"

_cleanups = []          # callables run at exit, newest first
_logs = []              # (label, path) printed when a test fails


def _run_cleanups():
    while _cleanups:
        fn = _cleanups.pop()
        try:
            fn()
        except Exception as e:  # cleanup must go on
            print("harness: cleanup failed: %s" % e, file=sys.stderr)


atexit.register(_run_cleanups)


def on_exit(fn):
    """Runs fn when the process exits (also after a failed assertion); newest first."""
    _cleanups.append(fn)
    return fn


def watch_log(label, path):
    """Names a log file whose tail run_tests() prints when a test fails."""
    _logs.append((label, path))


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port, host="127.0.0.1"):
    try:
        socket.create_connection((host, port), 0.2).close()
        return True
    except OSError:
        return False


class WaitTimeout(AssertionError, TimeoutError):
    """wait_until() gave up: a failed expectation (AssertionError) that is also a timeout."""


def wait_until(predicate, timeout, what="condition", interval=0.05):
    """Polls predicate until it returns something true and returns that; raises WaitTimeout
    naming `what` after timeout seconds. Tests wait like this, never with a fixed sleep."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:  # e.g. a server still starting
            last_exc = e
        if time.monotonic() >= deadline:
            detail = " (last error: %s)" % last_exc if last_exc else ""
            raise WaitTimeout("timed out after %.1fs waiting for %s%s" % (timeout, what, detail))
        time.sleep(interval)


def tail(path, lines=40):
    try:
        with open(path, "rb") as f:
            data = f.read().decode("utf-8", "replace").splitlines()
        return "\n".join(data[-lines:])
    except OSError as e:
        return "(no log: %s)" % e


def _postgres_can_reach(path):
    """Whether the postgres user can traverse to path (a checkout under /root cannot)."""
    r = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", path],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return r.returncode == 0


def _postgres_owned_dir(root):
    """A folder the postgres user owns for a cluster named by root. Normally root itself; if
    postgres cannot reach root's parent (a checkout in /root), a folder under /var/tmp that
    root links to."""
    os.makedirs(root, exist_ok=True)
    if os.geteuid() != 0:
        return root
    if not _postgres_can_reach(root):
        digest = hashlib.sha1(os.path.abspath(root).encode()).hexdigest()[:12]
        real = os.path.join("/var/tmp", "pantau-pg-" + digest)
        os.makedirs(real, exist_ok=True)
        link = os.path.join(root, "cluster")
        if not os.path.islink(link):
            if os.path.exists(link):
                shutil.rmtree(link)
            os.symlink(real, link)
        root = real
    else:
        root = os.path.join(root, "cluster")
        os.makedirs(root, exist_ok=True)
    shutil.chown(root, "postgres", "postgres")
    return root


def _dying_with_us(argv):
    """argv run so that the kernel sends it SIGKILL when this process dies, even by SIGKILL,
    so that a killed test leaves no broker or program behind (util-linux's setpriv is part of
    every Debian). The death signal follows the *thread* that started the child: start
    servers and programs from the test's main thread."""
    if shutil.which("setpriv"):
        return ["setpriv", "--pdeathsig", "KILL", "--"] + list(argv)
    return list(argv)


def _as_postgres(argv):
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--"] + argv
    return argv


class PgCluster:
    """A private PostgreSQL 15 cluster: data, socket and log under root; TCP on 127.0.0.1:port.
    fsync stays on (the default), as in production. An existing cluster in root is reused, so
    that a second run starts in a second; a server a killed run left behind is stopped first."""

    def __init__(self, root, port=None):
        self.root = os.path.abspath(root)
        self.port = port or free_port()
        self.dir = None
        self.data = None
        self.log = None

    def _paths(self):
        if self.dir is None:
            self.dir = _postgres_owned_dir(self.root)
            self.data = os.path.join(self.dir, "data")
            self.log = os.path.join(self.dir, "postgres.log")
            watch_log("postgres", self.log)

    def _pg_ctl(self, *args, check=True, timeout=120):
        r = subprocess.run(_as_postgres([PGBIN + "/pg_ctl", "-D", self.data] + list(args)),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError("pg_ctl %s failed: %s\n--- server log ---\n%s" % (
                " ".join(args), r.stdout.decode(errors="replace"), tail(self.log)))
        return r

    def _postmaster_pid(self):
        """The pid of this cluster's postmaster if one runs, else None. A postmaster.pid that a
        killed run left behind is removed when its pid is dead or now belongs to another
        process (pg_ctl and the postmaster would take a live pid for a running server)."""
        pidfile = os.path.join(self.data, "postmaster.pid")
        try:
            with open(pidfile) as f:
                pid = int(f.readline().strip() or 0)
        except (OSError, ValueError):
            return None
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            argv = []
        try:   # a postmaster works in its data folder (`pg_ctl restart` drops -D from argv)
            cwd = os.readlink("/proc/%d/cwd" % pid)
        except OSError:
            cwd = None
        if pid > 0 and _pid_alive(pid) and (os.fsencode(self.data) in argv or
                                            cwd == os.path.realpath(self.data)):
            return pid
        try:
            os.unlink(pidfile)
        except OSError:
            pass
        return None

    def running(self):
        self._paths()
        if not os.path.exists(os.path.join(self.data, "PG_VERSION")):
            return False
        return self._postmaster_pid() is not None

    def start(self):
        self._paths()
        if not os.path.exists(os.path.join(self.data, "PG_VERSION")):
            if os.path.exists(self.data):
                shutil.rmtree(self.data)   # a half-made cluster from a killed initdb
            r = subprocess.run(_as_postgres([
                PGBIN + "/initdb", "-D", self.data, "-U", "postgres", "-A", "trust",
                "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions"]),
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
            if r.returncode != 0:
                raise RuntimeError("initdb failed: %s" % r.stdout.decode(errors="replace"))
        if self.running():
            self._pg_ctl("stop", "-m", "immediate", check=False)
        opts = ("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=200 "
                "-c shared_buffers=128MB -c timezone=UTC" % (self.port, self.dir))
        self._pg_ctl("start", "-w", "-t", "120", "-l", self.log, "-o", opts)
        wait_until(lambda: self.query("postgres", "SELECT 1") == [(1,)], 30,
                   "PostgreSQL on port %d to answer" % self.port)
        return self

    def stop(self, mode="fast"):
        self._paths()
        if self.running():
            self._pg_ctl("stop", "-w", "-m", mode, check=False)

    def restart(self):
        self.stop()
        return self.start()

    def kill9(self):
        """SIGKILL to the postmaster (its children end with it): a crash, not a shutdown."""
        self._paths()
        pid = self._postmaster_pid()
        if pid is None:
            raise RuntimeError("kill9: no postmaster runs for %s" % self.data)
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not _pid_alive(pid), 30, "postmaster %d to die" % pid)
        # pg_ctl's postmaster is a child of init, which may reap it a second or two later; a
        # postmaster started meanwhile takes the zombie for a live owner of the socket lock
        # file and refuses to start. Wait for the reaping; if it never comes, the lock files
        # are stale: remove them, as nothing runs there any more.
        try:
            wait_until(lambda: _pid_gone(pid), 15, "postmaster %d to be reaped" % pid)
        except WaitTimeout:
            for name in ("postmaster.pid", ".s.PGSQL.%d.lock" % self.port):
                path = os.path.join(self.data if name == "postmaster.pid" else self.dir, name)
                if os.path.exists(path):
                    os.unlink(path)
        # the backends see the postmaster gone and exit; wait so the port is free again
        wait_until(lambda: not port_open(self.port), 30, "port %d to close" % self.port)

    def dsn(self, dbname="postgres", user="postgres"):
        return "host=127.0.0.1 port=%d dbname=%s user=%s" % (self.port, dbname, user)

    def query(self, dbname, sql, *params):
        import psycopg2
        conn = psycopg2.connect(self.dsn(dbname), connect_timeout=5)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(sql, params or None)
                return cur.fetchall() if cur.description else None
        finally:
            conn.close()

    def create_database(self, name):
        self.query("postgres", 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
        self.query("postgres", 'CREATE DATABASE "%s"' % name)
        return self.dsn(name)

    def schema_database(self, name):
        """A new database `name` with the schema applied: a copy (CREATE DATABASE ...
        TEMPLATE) of a database that schema/migrate.sh migrated once in this cluster, for this
        content of schema/ (schema_template). What a copy does not carry, the database's own
        grant of 007_privileges, is granted again. Returns its dsn."""
        tmpl = self.schema_template()
        self.query("postgres", 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
        for attempt in range(50):
            try:
                self.query("postgres", 'CREATE DATABASE "%s" TEMPLATE "%s"' % (name, tmpl))
                break
            except Exception as e:   # another test's copy of the template at the same moment
                if "being accessed by other users" not in str(e) or attempt == 49:
                    raise
                time.sleep(0.1)
        self.query(name, 'GRANT TEMPORARY ON DATABASE "%s" TO pantau_ingest' % name)
        return self.dsn(name)

    def schema_template(self):
        """The name of the migrated template database for the files under schema/ now, made
        if missing. Tests run two at a time: a file lock in the cluster's folder lets one
        make it while the others wait."""
        import fcntl
        digest = hashlib.sha1()
        top = os.path.join(SOURCE_DIR, "schema")
        for base, dirs, files in sorted(os.walk(top)):
            dirs.sort()
            for fn in sorted(files):
                path = os.path.join(base, fn)
                digest.update(os.path.relpath(path, top).encode() + b"\0")
                with open(path, "rb") as f:
                    digest.update(f.read())
        digest.update(time.strftime("%Y-%m-%d", time.gmtime()).encode())   # partitions by day
        tmpl = "pantau_template_" + digest.hexdigest()[:12]
        with open(os.path.join(self.root, "schema-template.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not self.query("postgres", "SELECT 1 FROM pg_database WHERE datname = %s", tmpl):
                building = tmpl + "_new"
                apply_schema(self.create_database(building))
                self.query("postgres", 'ALTER DATABASE "%s" RENAME TO "%s"' % (building, tmpl))
        return tmpl

    def drop_database(self, name):
        self.query("postgres", 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)

    def log_tail(self, lines=40):
        self._paths()
        return tail(self.log, lines)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie child of ours counts as dead
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _pid_gone(pid):
    """Whether pid is gone altogether (not even a zombie awaiting its parent)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def shared_cluster():
    """The cluster the ctest fixture `servers` started (PANTAU_SERVERS_ENV names its env file).
    Outside ctest, starts a private one for this process and stops it at exit."""
    env_file = os.environ.get("PANTAU_SERVERS_ENV")
    if env_file and os.path.exists(env_file):
        env = read_env(env_file)
        pg = PgCluster(env["PANTAU_PG_ROOT"], int(env["PGPORT"]))
        pg._paths()
        return pg
    root = tempfile.mkdtemp(prefix="pantau-pg-")
    pg = PgCluster(root).start()
    on_exit(lambda: (pg.stop("immediate"), shutil.rmtree(root, ignore_errors=True)))
    return pg


def read_env(path):
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                env[k] = v
    return env


def apply_schema(dsn):
    """Applies schema/ with its own migrate command, as an operator would."""
    script = os.path.join(SOURCE_DIR, "schema", "migrate.sh")
    if not os.path.exists(script):
        raise RuntimeError("schema/migrate.sh does not exist")
    r = subprocess.run(["bash", script, dsn], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=300)
    if r.returncode != 0:
        raise RuntimeError("migrate.sh failed (%d):\n%s" % (r.returncode,
                                                          r.stdout.decode(errors="replace")))
    return r.stdout.decode(errors="replace")


def fresh_database(prefix="t", schema=True, pg=None):
    """A new database with the schema applied, in the shared cluster; dropped at exit.
    Returns (cluster, dsn)."""
    pg = pg or shared_cluster()
    name = "%s_%d_%d" % (prefix, os.getpid(), int(time.time() * 1000) % 100000000)
    dsn = pg.schema_database(name) if schema else pg.create_database(name)
    on_exit(lambda: pg.drop_database(name))
    return pg, dsn


# ---- the shipped broker configuration -----------------------------------------------------------
#
# The demo's broker and the tests' brokers with pantau's plugin run deploy/mosquitto.conf itself
# (issue 9 item 8): deploy_broker_lines() turns it into the config of a broker on one loopback
# port under a folder, changing only what names a place on this host (listeners, paths, the log,
# the user, the plugin's file and its database, snapshot and key file). Every limit and every
# other plugin option stays as shipped; a test that needs another value passes it explicitly,
# and broker_conf_differences() says what a config changes (tests/integration/
# test_broker_config.py checks the demo's and the tests' configs with it).

DEPLOY_MOSQUITTO_CONF = os.path.join(SOURCE_DIR, "deploy", "mosquitto.conf")
# mosquitto 2.0.11's listener settings (src/conf.c): they belong to the `listener` line above them
BROKER_LISTENER_KEYS = frozenset((
    "cafile", "capath", "certfile", "keyfile", "tls_version", "ciphers", "ciphers_tls1.3",
    "require_certificate", "use_identity_as_username", "use_subject_as_username",
    "use_username_as_clientid", "crlfile", "max_connections", "protocol", "socket_domain",
    "mount_point", "http_dir", "max_qos", "max_topic_alias", "bind_interface"))
# global settings that name a place (or say where and how much to log): a broker's own
BROKER_PLACE_KEYS = frozenset(("persistence_location", "log_dest", "log_type", "user",
                               "pid_file", "plugin"))
# plugin options that name a place on the host
BROKER_PLACE_OPTIONS = frozenset(("db_conninfo", "snapshot_file", "key_file"))
# plugin options a test may shorten: how often counters and the registry are refreshed, which
# no client can observe as a limit (the demo runs them as shipped too)
BROKER_TIMING_OPTIONS = frozenset(("stats_interval", "reload_ms"))


def broker_conf_parse(text):
    """A mosquitto config (text) as {"globals": [(key, value)], "listeners": [(address,
    [(key, value)])], "plugin": path or None, "plugin_opts": {key: value}} in file order; a
    listener's settings are the listener keys after its line, as mosquitto 2.0.11 applies
    them."""
    out = {"globals": [], "listeners": [], "plugin": None, "plugin_opts": {}}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(" ")
        value = value.strip()
        if key == "listener":
            out["listeners"].append((value, []))
        elif key in BROKER_LISTENER_KEYS and out["listeners"]:
            out["listeners"][-1][1].append((key, value))
        elif key == "plugin":
            out["plugin"] = value
        elif key.startswith("plugin_opt_"):
            out["plugin_opts"][key[len("plugin_opt_"):]] = value
        else:
            out["globals"].append((key, value))
    return out


def deploy_broker(path=None):
    """deploy/mosquitto.conf parsed by broker_conf_parse."""
    with open(path or DEPLOY_MOSQUITTO_CONF) as f:
        return broker_conf_parse(f.read())


def deploy_listener_settings(port=1883, path=None):
    """The settings of the deploy listener on port, [(key, value)]."""
    for address, settings in deploy_broker(path)["listeners"]:
        if address.split()[0] == str(port):
            return settings
    raise KeyError("deploy/mosquitto.conf has no listener %s" % port)


def deploy_plugin_options(path=None):
    """The plugin options of deploy/mosquitto.conf, {key: value} in file order."""
    return dict(deploy_broker(path)["plugin_opts"])


def deploy_broker_lines(port, root, verbose=False, path=None):
    """deploy/mosquitto.conf for a broker on 127.0.0.1:port with its persistence and log under
    root, without the plugin lines: its global settings (places replaced), then one listener
    with the settings of deploy's loopback listener (1883, plain TCP). A list of lines."""
    conf = deploy_broker(path)
    lines = ["# made from deploy/mosquitto.conf by pantau_harness.deploy_broker_lines"]
    for key, value in conf["globals"]:
        if key not in BROKER_PLACE_KEYS:
            lines.append("%s %s" % (key, value))
    lines += ["persistence_location %s/" % root, "log_dest file %s" % os.path.join(root,
                                                                              "mosquitto.log")]
    if verbose:
        lines.append("log_type all")
    else:
        lines += ["log_type %s" % v for k, v in conf["globals"] if k == "log_type"]
    if os.geteuid() == 0:
        lines.append("user root")  # else it switches to `mosquitto` and can't write root/
    lines.append("listener %d 127.0.0.1" % port)
    lines += ["%s %s" % kv for kv in deploy_listener_settings(1883, path)]
    return lines


def deploy_broker_options(places, timing=None, overrides=None, path=None):
    """deploy/mosquitto.conf's plugin options with places ({db_conninfo, snapshot_file,
    key_file}: this host's) and, for a test, shorter timing (BROKER_TIMING_OPTIONS only) and
    explicit overrides (a test of that option). Raises ValueError on a place or timing key that
    is not one."""
    opts = deploy_plugin_options(path)
    for key, value in places.items():
        if key not in BROKER_PLACE_OPTIONS:
            raise ValueError("plugin option %s is not a place" % key)
        opts[key] = value
    for key, value in (timing or {}).items():
        if key not in BROKER_TIMING_OPTIONS:
            raise ValueError("plugin option %s is not a timing option" % key)
        opts[key] = value
    for key, value in (overrides or {}).items():
        if value is None:
            opts.pop(key, None)
        else:
            opts[key] = value
    return opts


def broker_conf_differences(text, allowed_options=(), path=None):
    """What the config text changes from deploy/mosquitto.conf other than places: a list of
    sentences, empty when it runs the shipped settings. Its first listener is compared with
    deploy's loopback listener; plugin options in allowed_options may differ."""
    got, want = broker_conf_parse(text), deploy_broker(path)
    diffs = []

    def settings(conf):
        return sorted((k, v) for k, v in conf["globals"] if k not in BROKER_PLACE_KEYS)

    for kv in sorted(set(settings(want)) - set(settings(got))):
        diffs.append("missing or changed global setting: %s %s" % kv)
    for kv in sorted(set(settings(got)) - set(settings(want))):
        diffs.append("global setting not shipped: %s %s" % kv)
    if not got["listeners"]:
        diffs.append("no listener")
    elif sorted(got["listeners"][0][1]) != sorted(deploy_listener_settings(1883, path)):
        diffs.append("listener settings %s, shipped %s" % (got["listeners"][0][1],
                                                           deploy_listener_settings(1883, path)))
    if got["plugin"] is None:
        diffs.append("no plugin")
    for key in sorted(set(want["plugin_opts"]) | set(got["plugin_opts"])):
        if key in BROKER_PLACE_OPTIONS or key in allowed_options:
            continue
        if want["plugin_opts"].get(key) != got["plugin_opts"].get(key):
            diffs.append("plugin_opt_%s %s, shipped %s" % (key, got["plugin_opts"].get(key),
                                                          want["plugin_opts"].get(key)))
    return diffs


class Mosquitto:
    """A real mosquitto 2.0 on 127.0.0.1:port with its config, persistence and log under root.
    `extra` is appended to the generated config (ACL files, limits, ...). `plugins` lists
    plugins to load, each a path or (path, {option: value}), written as `plugin PATH` and
    `plugin_opt_<option> value` lines. `verbose` logs everything (`log_type all`). With
    `deploy` the config is deploy/mosquitto.conf's (deploy_broker_lines: its limits, its
    anonymous setting, its loopback listener's settings) with the plugins' lines after it;
    the plugin options are the caller's (deploy_broker_options makes the shipped ones)."""

    def __init__(self, root, port=None, extra="", allow_anonymous=True, plugins=(),
                 verbose=False, deploy=False):
        self.root = os.path.abspath(root)
        self.port = port or free_port()
        self.extra = extra
        self.allow_anonymous = allow_anonymous
        self.plugins = list(plugins)
        self.verbose = verbose
        self.deploy = deploy
        self.proc = None
        self.conf = os.path.join(self.root, "mosquitto.conf")
        self.log = os.path.join(self.root, "mosquitto.log")
        watch_log("mosquitto:%d" % self.port, self.log)
        on_exit(self.kill9)

    def write_conf(self):
        os.makedirs(self.root, exist_ok=True)
        if self.deploy:
            lines = deploy_broker_lines(self.port, self.root, self.verbose)
            for plugin in self.plugins:
                path, opts = (plugin, {}) if isinstance(plugin, str) else plugin
                lines.append("plugin %s" % path)
                lines += ["plugin_opt_%s %s" % (k, v) for k, v in opts.items()]
            with open(self.conf, "w") as f:
                f.write("\n".join(lines) + "\n" + self.extra + "\n")
            return
        lines = [
            "listener %d 127.0.0.1" % self.port,
            "allow_anonymous %s" % ("true" if self.allow_anonymous else "false"),
            "persistence true",
            "persistence_location %s/" % self.root,
            "log_dest file %s" % self.log,
            "connection_messages true",
        ]
        if self.verbose:
            lines.append("log_type all")
        else:
            lines += ["log_type error", "log_type warning", "log_type notice",
                      "log_type information"]
        if os.geteuid() == 0:
            lines.append("user root")  # else it switches to `mosquitto` and can't write root/
        for plugin in self.plugins:
            path, opts = (plugin, {}) if isinstance(plugin, str) else plugin
            lines.append("plugin %s" % path)
            lines += ["plugin_opt_%s %s" % (k, v) for k, v in opts.items()]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n" + self.extra + "\n")

    def start(self, timeout=20):
        self.write_conf()
        with open(os.path.join(self.root, "stderr.log"), "ab") as err:
            self.proc = subprocess.Popen(_dying_with_us([MOSQUITTO, "-c", self.conf]),
                                         stdout=subprocess.DEVNULL, stderr=err,
                                         stdin=subprocess.DEVNULL)
        try:
            wait_until(lambda: self.proc.poll() is None and port_open(self.port), timeout,
                       "mosquitto on port %d" % self.port)
        except WaitTimeout:
            raise RuntimeError("mosquitto did not start (exit %s):\n%s\n%s" % (
                self.proc.poll(), tail(os.path.join(self.root, "stderr.log")), tail(self.log)))
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(20)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(10)
            self.proc = None

    def kill9(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)
            self.proc = None

    def restart(self):
        self.stop()
        return self.start()

    def log_tail(self, lines=40):
        return tail(self.log, lines)


class Program:
    """One of our programs run as a child process, its stderr in a log file that is printed
    when a test fails. kill9() and stop() (SIGTERM, then wait) end it; it is killed at exit."""

    def __init__(self, label, argv, log_dir, env=None):
        self.label = label
        self.argv = argv
        self.log = os.path.join(log_dir, "%s.log" % label)
        self.env = env
        self.proc = None
        os.makedirs(log_dir, exist_ok=True)
        watch_log(label, self.log)
        on_exit(self.kill9)

    def start(self):
        env = dict(os.environ)
        env.update(self.env or {})
        with open(self.log, "ab") as f:
            self.proc = subprocess.Popen(_dying_with_us(self.argv), stdout=f,
                                         stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=env)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=30):
        """SIGTERM and wait; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                raise AssertionError("%s did not stop within %ds of SIGTERM" %
                                     (self.label, timeout))
        rc = self.proc.returncode
        self.proc = None
        return rc

    def kill9(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def output(self):
        return tail(self.log, 10000)


def binary(*parts):
    """Path of a program in the build tree; fails clearly when it was not built."""
    path = os.path.join(BUILD_DIR, *parts)
    if not os.path.exists(path):
        raise AssertionError("%s was not built (PANTAU_BUILD_DIR=%s)" % (path, BUILD_DIR))
    return path


def workdir(name):
    """A fresh scratch folder for one test, removed at exit unless PANTAU_KEEP is set."""
    base = os.path.join(BUILD_DIR, "test-work")
    os.makedirs(base, exist_ok=True)
    path = tempfile.mkdtemp(prefix=name + "-", dir=base)
    os.chmod(path, 0o755)
    if not os.environ.get("PANTAU_KEEP"):
        on_exit(lambda: shutil.rmtree(path, ignore_errors=True))
    return path


def run_tests(namespace, argv=None):
    """The tiny runner: runs every function named test_* in namespace (a module's globals()),
    in file order, or only those named on the command line. Prints one line per test and, for
    a failure, the traceback and the tail of every watched log. Exits 0 only if all passed."""
    argv = sys.argv[1:] if argv is None else argv
    # SIGTERM becomes SystemExit, so that the at-exit cleanups stop every server we started
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    tests = [(n, f) for n, f in namespace.items() if n.startswith("test_") and callable(f)]
    if argv:
        tests = [(n, f) for n, f in tests if n in argv]
        if not tests:
            print("no test named %s" % " ".join(argv))
            sys.exit(2)
    failed = 0
    for name, fn in tests:
        start = time.monotonic()
        del _logs[:]
        try:
            fn()
        except Exception:
            failed += 1
            print("FAIL %s (%.1fs)" % (name, time.monotonic() - start))
            traceback.print_exc(file=sys.stdout)
            for label, path in _logs:
                print("--- %s: %s (tail) ---" % (label, path))
                print(tail(path, 60))
        else:
            print("ok   %s (%.1fs)" % (name, time.monotonic() - start))
        sys.stdout.flush()
    print("%d passed, %d failed" % (len(tests) - failed, failed))
    _run_cleanups()
    sys.exit(1 if failed else 0)
