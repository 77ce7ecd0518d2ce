#!/usr/bin/python3
"""servers.py -- start or stop the private PostgreSQL (and mosquitto) of a test run or a demo.

    servers.py start --root DIR [--no-mosquitto] [--pg-port N] [--mqtt-port N]
    servers.py stop  --root DIR
    servers.py status --root DIR
    servers.py broker-conf --root DIR --mqtt-port N --plugin SO --place KEY=VALUE...

`start` leaves DIR/env with PGHOST, PGPORT, PGUSER, MQTT_PORT and PANTAU_PG_ROOT lines, for
`source` in shell and for tests/harness/pantau_harness.py. Servers a killed run left behind are
stopped before new ones start. mosquitto is started detached (its pid in DIR/mosquitto.pid), so
that it outlives this command; `stop` ends it. The mosquitto of `start` is a plain one (no
plugin, anonymous), for tests of the clients alone.

`broker-conf` writes DIR/mosquitto.conf for the broker the demo runs with pantau's plugin:
deploy/mosquitto.conf itself on 127.0.0.1:N (pantau_harness.deploy_broker_lines, the function
the tests' brokers use too), only its places changed: the plugin's file SO, and each --place
(db_conninfo, snapshot_file, key_file). Every limit and every other plugin option is the
shipped one (issue 9 item 8; tests/integration/test_broker_config.py).
"""
import argparse
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "harness"))
import pantau_harness as h  # noqa: E402


def stop_mosquitto(root):
    pidfile = os.path.join(root, "mosquitto.pid")
    if not os.path.exists(pidfile):
        return
    with open(pidfile) as f:
        pid = int(f.read().strip() or 0)
    os.unlink(pidfile)
    if pid <= 0:
        return
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            if b"mosquitto" not in f.read():
                return          # the pid was reused by something else
        os.kill(pid, signal.SIGTERM)
        h.wait_until(lambda: not h._pid_alive(pid), 20, "mosquitto %d to stop" % pid)
    except (OSError, h.WaitTimeout):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def start(args):
    root = os.path.abspath(args.root)
    os.makedirs(root, exist_ok=True)
    stop_mosquitto(root)
    pg = h.PgCluster(os.path.join(root, "pg"), args.pg_port)
    pg.start()
    lines = ["PANTAU_PG_ROOT=%s" % pg.root, "PGHOST=127.0.0.1", "PGPORT=%d" % pg.port,
             "PGUSER=postgres"]
    print("servers: PostgreSQL 15 on 127.0.0.1:%d (data %s)" % (pg.port, pg.data))
    if not args.no_mosquitto:
        mq = h.Mosquitto(os.path.join(root, "mosquitto"), args.mqtt_port,
                         extra=args.mosquitto_extra or "")
        mq.write_conf()
        stderr_log = os.path.join(mq.root, "stderr.log")
        with open(stderr_log, "ab") as err:
            proc = subprocess.Popen([h.MOSQUITTO, "-c", mq.conf], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=err,
                                    start_new_session=True)
        with open(os.path.join(root, "mosquitto.pid"), "w") as f:
            f.write("%d\n" % proc.pid)
        try:
            h.wait_until(lambda: proc.poll() is None and h.port_open(mq.port), 20,
                         "mosquitto on port %d" % mq.port)
        except h.WaitTimeout:
            sys.exit("servers: mosquitto did not start (exit %s):\n%s\n%s" % (
                proc.poll(), h.tail(stderr_log), mq.log_tail()))
        mq.proc = None          # detached: the atexit cleanup must not kill it
        lines.append("MQTT_PORT=%d" % mq.port)
        print("servers: mosquitto on 127.0.0.1:%d (log %s)" % (mq.port, mq.log))
    with open(os.path.join(root, "env"), "w") as f:
        f.write("\n".join(lines) + "\n")


def broker_conf(args):
    root = os.path.abspath(args.root)
    places = {}
    for item in args.place or []:
        key, sep, value = item.partition("=")
        if not sep or key not in h.BROKER_PLACE_OPTIONS:
            sys.exit("servers: --place %r: want KEY=VALUE with KEY one of %s" % (
                item, ", ".join(sorted(h.BROKER_PLACE_OPTIONS))))
        places[key] = value
    if args.mqtt_port is None or args.plugin is None:
        sys.exit("servers: broker-conf needs --mqtt-port and --plugin")
    mq = h.Mosquitto(root, args.mqtt_port, plugins=[(args.plugin, h.deploy_broker_options(places))],
                     deploy=True)
    mq.write_conf()
    print(mq.conf)


def stop(args):
    root = os.path.abspath(args.root)
    stop_mosquitto(root)
    pg = h.PgCluster(os.path.join(root, "pg"))
    pg.stop()
    env = os.path.join(root, "env")
    if os.path.exists(env):
        os.unlink(env)
    print("servers: stopped (%s)" % root)


def mosquitto_pid(root):
    """The pid of the mosquitto that `start` left running under root, else None."""
    try:
        with open(os.path.join(root, "mosquitto.pid")) as f:
            pid = int(f.read().strip() or 0)
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            alive = b"mosquitto" in f.read() and h._pid_alive(pid)
    except (OSError, ValueError):
        return None
    return pid if alive else None


def status(args):
    """Prints what runs under root (and the env file); exits 0 only if all of it runs."""
    root = os.path.abspath(args.root)
    env_file = os.path.join(root, "env")
    env = h.read_env(env_file) if os.path.exists(env_file) else {}
    pg = h.PgCluster(os.path.join(root, "pg"))
    pg_up = pg.running()
    print("postgres: %s" % ("running on 127.0.0.1:%s" % env.get("PGPORT", "?") if pg_up
                            else "stopped"))
    mq_pid = mosquitto_pid(root)
    if mq_pid:
        print("mosquitto: running on 127.0.0.1:%s (pid %d)" % (env.get("MQTT_PORT", "?"), mq_pid))
    else:
        print("mosquitto: %s" % ("not started (--no-mosquitto)" if env and "MQTT_PORT" not in env
                                 else "stopped"))
    up = pg_up and (mq_pid is not None or (env and "MQTT_PORT" not in env))
    sys.exit(0 if up else 1)


def main():
    ap = argparse.ArgumentParser(description="private servers for pantau's tests and demo")
    ap.add_argument("command", choices=["start", "stop", "status", "broker-conf"])
    ap.add_argument("--root", required=True)
    ap.add_argument("--no-mosquitto", action="store_true")
    ap.add_argument("--pg-port", type=int)
    ap.add_argument("--mqtt-port", type=int)
    ap.add_argument("--mosquitto-extra", help="lines appended to mosquitto.conf")
    ap.add_argument("--plugin", help="broker-conf: the plugin's file")
    ap.add_argument("--place", action="append",
                    help="broker-conf: KEY=VALUE, a plugin option naming a place on this host")
    args = ap.parse_args()
    {"start": start, "stop": stop, "status": status,
     "broker-conf": broker_conf}[args.command](args)


if __name__ == "__main__":
    main()
