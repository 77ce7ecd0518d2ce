#!/usr/bin/python3
"""test_packages.py -- pantau's Debian packages on this machine: build, install, a reading end
to end through the installed programs, upgrade with edited conffiles, purge (issue 14 item 1).

Runs as root only (it installs packages with dpkg): otherwise it says why and exits 77, which
ctest reports as skipped. On a machine where pantau packages are installed, or /etc/pantau,
/var/lib/pantau or /var/lib/pantau-agent exist (an install from source), it fails at once with
the reason and changes nothing: it would replace, edit and purge them. CI runs it as root on
a fresh Debian 12, without systemd running.

1. `scripts/package.sh --nocheck` builds every package once with dpkg-buildpackage
   (DEB_BUILD_OPTIONS="nocheck parallel=2": the unit tests have run in their own ctest tests)
   and lintian must pass (errors and warnings fail; debian/*.lintian-overrides answer the rest).
2. `dpkg -i` of every package: `hardening-check` passes on every program and the plugin as
   installed, one system user per daemon, the units as deploy/ has them (hardening kept) and
   `systemd-analyze verify` clean, the conffiles in /etc/pantau, the broker's conf.d snippet
   inert (a mosquitto reading conf.d takes anonymous clients as before).
3. End to end with the installed programs and configs: a database migrated by the installed
   /usr/share/pantau/schema/migrate.sh, a mosquitto loading the installed pantau_broker.so,
   accounts made by the installed pantau-admin; /etc/pantau/collector.conf and
   /etc/pantau/agent.conf edited as an operator would (this broker, this database, the
   simulator); pantau-collector and pantau-agent started from /usr/bin as their system users
   (no systemd: setpriv, with the agent's StateDirectory made as systemd would). Every reading
   of the simulator reaches PostgreSQL once and the agent's store empties.
4. Upgrade: the same packages repacked with version 0.1.0+pkgtest1 (dpkg-deb -R, the version
   in DEBIAN/control changed, dpkg-deb -b: the binaries are the same, which is what an upgrade
   of the packaging needs, and it costs 2 s instead of a second build's 30 s or more; a
   rebuild with a changelog entry is `scripts/package.sh --version V`). The edited conffiles
   stay as edited (no .dpkg-dist, no .dpkg-new), the programs run again with them and the next
   readings arrive.
5. `dpkg --purge`: every file, folder, user and group the packages and their programs made is
   gone, and nothing else changed: the file lists of /etc, /var/lib, /usr and /lib are as
   before the install but for the operator's files the test wrote into /etc/pantau, which
   purge leaves alone (the test removes them itself).

Run: sudo PANTAU_BUILD_DIR=build /usr/bin/python3 tests/integration/test_packages.py
It prints the time of each step at the end: 78 s in all on the shared 2-core machine at a
quieter moment, 88 s at a load average of 7.5, 3.5 minutes at 13 (the package build and dpkg's
steps grow with the load; the build is 30-40 s of it when the machine is not contended).
"""

import glob
import os
import pwd
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
SOURCE = os.environ.get("PANTAU_SOURCE_DIR", os.path.abspath(os.path.join(HERE, "..", "..")))
sys.path.insert(0, os.path.join(SOURCE, "tests", "harness"))

SKIP = 77
PACKAGES = ["pantau-agent", "pantau-collector", "pantau-broker-plugin", "pantau-admin",
            "pantau-alertd", "pantau-console", "pantau-doc"]
USERS = ["pantau-agent", "pantau-collector", "pantau-alertd", "pantau-console",
         "pantau-maintain"]
VERSION = "0.1.0"
UPGRADE = "0.1.0+pkgtest1"
# the installed programs, for broker_support (pantau-admin, the plugin)
os.environ["PANTAU_ADMIN"] = "/usr/bin/pantau-admin"
os.environ["PANTAU_BROKER_PLUGIN"] = "/usr/lib/pantau/pantau_broker.so"
# what the packages install or make, all of which purge must remove
MADE = ["/etc/pantau/agent.conf", "/etc/pantau/collector.conf", "/etc/pantau/alertd.conf",
        "/etc/pantau/console.conf", "/etc/mosquitto/conf.d/pantau.conf", "/usr/lib/pantau",
        "/usr/share/pantau", "/usr/share/doc/pantau", "/var/lib/pantau", "/var/lib/pantau-agent",
        "/usr/bin/pantau-agent", "/usr/bin/pantau-admin",
        "/lib/systemd/system/pantau-agent.service",
        "/usr/lib/sysusers.d/pantau-agent.conf"]
# trees whose file lists must be the same before the install and after the purge; the package
# manager's own records and caches change with every install and are left out
WATCHED = ["/etc", "/var/lib", "/usr", "/lib"]
UNWATCHED = ["/var/lib/dpkg", "/var/lib/apt", "/var/lib/ucf", "/var/cache", "/var/lib/man-db",
             "/usr/share/man/index.db", "/var/lib/postgresql", "/var/lib/mosquitto",
             "/etc/ld.so.cache"]


def skip(why):
    print("SKIP test_packages: %s" % why)
    sys.exit(SKIP)


def refuse(why):
    """A machine this test must not touch: a failure that says why, not a skip (it skips
    only when not root), and nothing changed."""
    print("FAIL test_packages: %s; nothing was changed" % why)
    sys.exit(1)


if os.geteuid() != 0:
    skip("installs Debian packages with dpkg and needs root (CI runs it as root)")
for tool in ("dpkg-buildpackage", "lintian", "dh", "help2man", "hardening-check"):
    if not shutil.which(tool):
        raise SystemExit("test_packages: %s is missing: run scripts/deps.sh" % tool)


def installed_pantau():
    r = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${db:Status-Abbrev}\\n"] + PACKAGES,
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return [line.split()[0] for line in r.stdout.splitlines()
            if len(line.split()) > 1 and line.split()[1] != "un"]


if installed_pantau():
    refuse("pantau packages are installed on this machine (%s): the test would replace and purge"
         " them" % " ".join(installed_pantau()))

for path in ("/etc/pantau", "/var/lib/pantau", "/var/lib/pantau-agent"):
    if os.path.exists(path):
        refuse("%s exists (pantau installed from source here?): the test would write into it and"
             " purge would remove what the packages own" % path)

import pantau_harness as H  # noqa: E402
import broker_support as B  # noqa: E402
from broker_policy_support import user  # noqa: E402

_state = {}
TIMES = []


# dpkg runs with --force-unsafe-io (no fsync per file): a throwaway install on a test machine,
# and CI's time is short (the upgrade's dpkg took 18 s of fsyncs on a loaded machine)
def run(argv, check=True, timeout=600, **kw):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=timeout, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"),
                       **kw)
    if check and r.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s" % (" ".join(argv), r.returncode, r.stdout))
    return r


def timed(label, t0):
    TIMES.append((label, time.monotonic() - t0))


def file_list():
    """Every path under WATCHED but UNWATCHED, with its type (a set)."""
    seen = set()
    for top in WATCHED:
        for root, dirs, files in os.walk(top):
            if any(root == u or root.startswith(u + "/") for u in UNWATCHED):
                dirs[:] = []
                continue
            dirs[:] = [d for d in dirs if d != "__pycache__"]   # python's, on first import
            for name in dirs + files:
                path = os.path.join(root, name)
                if path not in UNWATCHED:
                    seen.add(path)
    return seen


def system_users():
    return {p.pw_name for p in pwd.getpwall()}


def purge_all():
    """At exit (also after a failure): no pantau package left behind on the machine."""
    left = installed_pantau()
    if left:
        subprocess.run(["dpkg", "--purge"] + left, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    for path in _state.get("operator_files", []):
        if os.path.exists(path):
            os.unlink(path)
    if os.path.isdir("/etc/pantau") and not os.listdir("/etc/pantau") and \
            "/etc/pantau" not in _state.get("before_files", {"/etc/pantau"}):
        os.rmdir("/etc/pantau")


def debs(directory, version):
    found = sorted(glob.glob(os.path.join(directory, "*_%s_*.deb" % version)))
    return [d for d in found if "-dbgsym_" not in d]


def setting(text, key, value):
    """text (a pantau config) with the first `key ...` line set to value (added if missing),
    or commented out (value None)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.split(None, 1)[:1] == [key]:
            lines[i] = "#" + line if value is None else "%-23s %s" % (key, value)
            return "\n".join(lines) + "\n"
    if value is None:
        return text
    head = [n for n, line in enumerate(lines) if line.startswith("[")]
    at = head[0] if head else len(lines)
    lines.insert(at, "%-23s %s" % (key, value))
    return "\n".join(lines) + "\n"


def secret_file(path, owner, text):
    """An operator's secret file: root:owner 0640."""
    with open(path, "w") as f:
        f.write(text + "\n")
    shutil.chown(path, "root", owner)
    os.chmod(path, 0o640)
    _state.setdefault("operator_files", []).append(path)


def as_user(name, argv):
    """argv run as the system user name, as its unit's User= would (the parent-death signal
    set after the switch, which clears it)."""
    return ["setpriv", "--reuid", name, "--regid", name, "--init-groups", "--",
            "setpriv", "--pdeathsig", "KILL", "--"] + argv


# ---- the steps ---------------------------------------------------------------------------------

def test_build_with_debian_tooling_and_lintian_clean():
    root = H.workdir("packages")
    _state["root"] = root
    t0 = time.monotonic()
    _state["before_files"] = file_list()
    _state["before_users"] = system_users()
    timed("file list", t0)
    H.on_exit(purge_all)
    out = os.path.join(root, "deb")
    t0 = time.monotonic()
    r = run(["bash", os.path.join(SOURCE, "scripts", "package.sh"), "--nocheck", "--out", out])
    timed("build + lintian", t0)
    print(r.stdout[-1500:])
    found = debs(out, VERSION)
    names = sorted(os.path.basename(d).split("_")[0] for d in found)
    assert names == sorted(PACKAGES), names
    with open(os.path.join(out, "lintian.log")) as f:
        report = f.read()
    assert not [ln for ln in report.splitlines() if ln[:2] in ("E:", "W:")], report
    _state["out"] = out


def test_install_users_units_conffiles():
    t0 = time.monotonic()
    run(["dpkg", "--force-unsafe-io", "-i"] + debs(_state["out"], VERSION))
    timed("install", t0)
    assert sorted(installed_pantau()) == sorted(PACKAGES), installed_pantau()
    for name in USERS:
        p = pwd.getpwnam(name)
        assert p.pw_uid < 1000 and p.pw_shell.endswith("nologin"), p
    st = os.stat("/var/lib/pantau/broker")
    assert pwd.getpwuid(st.st_uid).pw_name == "mosquitto" and st.st_mode & 0o777 == 0o700
    # the units are deploy/'s, byte for byte: the hardening as written there
    for unit in glob.glob(os.path.join(SOURCE, "deploy", "pantau-*.service")) + \
            glob.glob(os.path.join(SOURCE, "deploy", "pantau-*.timer")):
        installed = os.path.join("/lib/systemd/system", os.path.basename(unit))
        with open(unit, "rb") as a, open(installed, "rb") as b:
            assert a.read() == b.read(), "%s differs from %s" % (installed, unit)
    units = sorted(glob.glob("/lib/systemd/system/pantau-*"))
    assert len(units) == 8, units
    if shutil.which("systemd-analyze"):
        r = subprocess.run(["systemd-analyze", "verify"] + units, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=120)
        assert r.returncode == 0 and not r.stdout.strip(), r.stdout
    else:
        print("note: no systemd-analyze here, units not verified")
    r = run(["dpkg-query", "-W", "-f=${Conffiles}\\n"] + PACKAGES)
    conffiles = {line.split()[0] for line in r.stdout.splitlines() if line.strip()}
    assert conffiles == {"/etc/pantau/agent.conf", "/etc/pantau/collector.conf",
                         "/etc/pantau/alertd.conf", "/etc/pantau/console.conf",
                         "/etc/mosquitto/conf.d/pantau.conf"}, conffiles
    # the example configs and the scaling notes an operator needs for brokers per district
    for doc in ("/usr/share/doc/pantau-broker-plugin/examples/mosquitto.conf",
                "/usr/share/doc/pantau-broker-plugin/examples/mosquitto-edge.conf",
                "/usr/share/doc/pantau/scaling.md",
                "/usr/share/doc/pantau/examples/postgresql/replica.conf"):
        assert os.path.exists(doc) or os.path.exists(doc + ".gz"), doc
    # Debian's hardening on every program and the plugin, as installed; not control-flow
    # protection, which nothing linked on bookworm has (its glibc start files carry no
    # IBT/SHSTK note: Debian's own mosquitto fails that line too; debian/rules)
    elves = ["/usr/bin/pantau-%s" % p for p in ("agent", "collector", "alertd", "console",
                                                 "admin", "msgcheck")]
    r = run(["hardening-check", "--quiet", "--nocfprotection"] + elves +
            ["/usr/lib/pantau/pantau_broker.so"], check=False)
    assert r.returncode == 0, r.stdout
    # the shipped configs pass each program's own check where they need no secret file
    run(["/usr/bin/pantau-console", "-c", "/etc/pantau/console.conf", "--check"])
    run(["/usr/bin/pantau-agent", "--version"])


def test_broker_snippet_is_inert_until_enabled():
    with open("/etc/mosquitto/conf.d/pantau.conf") as f:
        text = f.read()
    active = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    assert active == [], active
    # enabled as the snippet says, it holds deploy/mosquitto.conf's settings but the three
    # Debian's mosquitto.conf makes itself
    enabled = [ln[1:] for ln in text.splitlines() if ln[1:2].isalpha() and ln[:1] == "#"]
    with open(os.path.join(SOURCE, "deploy", "mosquitto.conf")) as f:
        deploy = [ln for ln in f.read().splitlines() if ln[:1].isalpha()]
    own = ("persistence ", "persistence_location ", "log_dest ")
    assert enabled == [ln for ln in deploy if not ln.startswith(own)], enabled
    assert "plugin /usr/lib/pantau/pantau_broker.so" in enabled
    # a mosquitto that reads conf.d, as Debian's does, still takes what it took before
    root = os.path.join(_state["root"], "conf-d")
    port = H.free_port()
    mosq = H.Mosquitto(root, port=port, extra="include_dir /etc/mosquitto/conf.d\n")
    mosq.start()
    H.on_exit(mosq.stop)
    c = B.RawClient(port, "anon-pkg-test")
    assert c.connect() == 0, "an anonymous client refused with pantau.conf in conf.d"
    c.disconnect()
    mosq.stop()


def migrate_installed(dsn):
    """H.apply_schema with the installed migrations."""
    r = subprocess.run(["/usr/share/pantau/schema/migrate.sh", dsn], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=300)
    assert r.returncode == 0, "installed migrate.sh failed:\n%s" % r.stdout
    return r.stdout


def edit(path, changes, sections=None):
    """An operator's edit of an installed conffile: keys set, [source ...] sections replaced."""
    with open(path) as f:
        text = f.read()
    if sections is not None:
        text = text.split("\n[", 1)[0].rstrip("\n") + "\n" + sections
    for key, value in changes.items():
        text = setting(text, key, value)
    with open(path, "w") as f:
        f.write(text)
    return text


def start(label, user_name, argv):
    p = H.Program(label, as_user(user_name, argv), _state["root"])
    return p.start()


def ledger(env):
    return env.scalar("SELECT count(DISTINCT seq) FROM pantau.reading_ledger"
                      " WHERE device_id = 'gw-pkg-01'")


def run_pipeline(env, want):
    """The installed collector and agent with the installed configs, until the ledger holds
    want readings of gw-pkg-01, each once; both stopped with SIGTERM (exit 0)."""
    collector = start("collector", "pantau-collector",
                      ["/usr/bin/pantau-collector", "-c", "/etc/pantau/collector.conf"])
    H.wait_until(lambda: "subscribed as group" in open(collector.log).read(), 30,
                 "the installed collector to subscribe")
    agent = start("agent", "pantau-agent", ["/usr/bin/pantau-agent", "-c",
                                            "/etc/pantau/agent.conf"])
    try:
        H.wait_until(lambda: ledger(env) >= want, 60, "%d readings of gw-pkg-01 stored" % want)
        assert env.scalar("SELECT count(*) FROM pantau.reading_ledger WHERE device_id ="
                          " 'gw-pkg-01'") == want, "a reading stored twice"
        assert env.scalar("SELECT count(*) FROM pantau.flood_reading WHERE device_id ="
                          " 'gw-pkg-01'") == want
        assert env.scalar("SELECT count(*) FROM pantau_ops.dead_letter") == 0
        store = "/var/lib/pantau-agent/agent.db"
        H.wait_until(lambda: run(["sqlite3", "file:%s?mode=ro" % store,
                                  "SELECT count(*) FROM reading"]).stdout.strip() == "0", 30,
                     "the agent's store to empty (every reading acknowledged)")
        assert agent.stop() == 0, open(agent.log).read()[-2000:]
        assert collector.stop() == 0, open(collector.log).read()[-2000:]
    finally:
        # no process of theirs may outlive a failure: purge could not remove their users
        agent.kill9()
        collector.kill9()


def test_reading_end_to_end_through_installed_programs():
    t0 = time.monotonic()
    H.apply_schema = migrate_installed          # BrokerEnv migrates with the installed script
    env = B.BrokerEnv("packages")
    H.on_exit(env.close)
    _state["env"] = env
    assert env.scalar("SELECT count(*) FROM pantau.schema_migration") == len(
        glob.glob("/usr/share/pantau/schema/[0-9][0-9][0-9]_*.sql"))
    # the collector: its account, its database role (a member of pantau_ingest)
    env.sql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pkg_ingest')"
            " THEN CREATE ROLE pkg_ingest LOGIN; END IF; END $$")
    env.sql("GRANT pantau_ingest TO pkg_ingest")
    secret_file("/etc/pantau/collector-mqtt.pass", "pantau-collector",
                user(env, "collector-1", "collector"))
    secret_file("/etc/pantau/collector-db.pass", "pantau-collector", "unused-with-trust-auth")
    edit("/etc/pantau/collector.conf", {
        "mqtt_host": "127.0.0.1", "mqtt_port": env.port,
        "db_conninfo": env.dsn.replace("user=postgres", "user=pkg_ingest"),
        "metrics_port": H.free_port(), "log_level": "info"})
    # the agent: a flood gateway bound to its station, its key in a file
    secret = env.add_device("gw-pkg-01", "flood_gateway", stations=["st-pkg-01"])
    env.wait_connack("gw-pkg-01", "gw-pkg-01", secret, 0)
    secret_file("/etc/pantau/agent-mqtt.pass", "pantau-agent", secret)
    _state["agent_conf"] = edit("/etc/pantau/agent.conf", {
        "device_id": "gw-pkg-01", "stations": "st-pkg-01", "clock_sync": "synced",
        "mqtt_host": "127.0.0.1", "mqtt_port": env.port, "tls": "false", "tls_cafile": None,
        "tls_certfile": None, "tls_keyfile": None, "tls_verify_hostname": None,
        "mqtt_username": "gw-pkg-01", "mqtt_password_file": "/etc/pantau/agent-mqtt.pass"},
        sections="[source simulator]\nseed 7\nflood_stations st-pkg-01\nrate 20\ncount 30\n")
    with open("/etc/pantau/collector.conf") as f:
        _state["collector_conf"] = f.read()
    for prog, conf in (("pantau-agent", "agent"), ("pantau-collector", "collector")):
        run(as_user(prog, ["/usr/bin/" + prog, "-c", "/etc/pantau/%s.conf" % conf, "--check"]))
    # the agent's StateDirectory, as systemd makes it (StateDirectoryMode=0750)
    os.makedirs("/var/lib/pantau-agent", mode=0o750, exist_ok=True)
    shutil.chown("/var/lib/pantau-agent", "pantau-agent", "pantau-agent")
    run_pipeline(env, 30)
    timed("end to end", t0)


def repack(deb, version, out):
    """deb as version: the same files, the control's Version changed."""
    tree = os.path.join(out, os.path.basename(deb) + ".d")
    run(["dpkg-deb", "-R", deb, tree])
    control = os.path.join(tree, "DEBIAN", "control")
    with open(control) as f:
        text = f.read()
    assert "\nVersion: %s\n" % VERSION in text, text
    with open(control, "w") as f:
        f.write(text.replace("\nVersion: %s\n" % VERSION, "\nVersion: %s\n" % version))
    target = os.path.join(out, os.path.basename(deb).replace("_%s_" % VERSION,
                                                             "_%s_" % version))
    run(["dpkg-deb", "--root-owner-group", "-Zgzip", "-b", tree, target])
    shutil.rmtree(tree)
    return target


def test_upgrade_keeps_edited_conffiles():
    t0 = time.monotonic()
    out = os.path.join(_state["root"], "upgrade")
    os.makedirs(out)
    new = [repack(d, UPGRADE, out) for d in debs(_state["out"], VERSION)]
    timed("repack", t0)
    t0 = time.monotonic()
    r = run(["dpkg", "--force-unsafe-io", "--force-confold", "-i"] + new)
    timed("upgrade", t0)
    print(r.stdout)
    assert "dpkg-dist" not in r.stdout and "dpkg-new" not in r.stdout, r.stdout
    got = run(["dpkg-query", "-W", "-f=${Version}\\n"] + PACKAGES).stdout.split()
    assert got == [UPGRADE] * len(PACKAGES), got
    with open("/etc/pantau/agent.conf") as f:
        assert f.read() == _state["agent_conf"], "the edited agent.conf was not kept"
    with open("/etc/pantau/collector.conf") as f:
        assert f.read() == _state["collector_conf"], "the edited collector.conf was not kept"
    assert not glob.glob("/etc/pantau/*.dpkg-*"), glob.glob("/etc/pantau/*.dpkg-*")
    # the upgraded programs with the kept configs: the simulator's next 30 readings
    t0 = time.monotonic()
    run_pipeline(_state["env"], 60)
    timed("end to end after upgrade", t0)


def test_purge_removes_what_install_made_and_nothing_else():
    t0 = time.monotonic()
    run(["dpkg", "--force-unsafe-io", "--purge"] + PACKAGES)
    timed("purge", t0)
    assert installed_pantau() == [], installed_pantau()
    for path in MADE:
        assert not os.path.lexists(path), "%s left after purge" % path
    left = system_users() & set(USERS)
    assert not left, "users left after purge: %s" % sorted(left)
    # the operator's files in /etc/pantau are theirs: purge leaves them
    operator = _state.get("operator_files", [])
    for path in operator:
        assert os.path.exists(path), "purge removed the operator's %s" % path
        os.unlink(path)
    if os.path.isdir("/etc/pantau") and "/etc/pantau" not in _state["before_files"]:
        os.rmdir("/etc/pantau")
    after = file_list()
    gained = sorted(after - _state["before_files"])
    lost = sorted(_state["before_files"] - after)
    assert not gained, "left after purge: %s" % gained[:20]
    assert not lost, "removed by install/purge but not theirs: %s" % lost[:20]
    assert system_users() == _state["before_users"]
    print("times: " + ", ".join("%s %.1fs" % t for t in TIMES))


if __name__ == "__main__":
    H.run_tests(globals())
