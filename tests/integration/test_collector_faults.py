#!/usr/bin/python3
"""test_collector_faults.py -- exactly once through failures. While devices send, each test
breaks something: kill -9 the collector several times, restart (and kill -9) PostgreSQL,
kill -9 the broker, run two collectors and kill one. After each, once the traffic settles:
every reading is in the ledger and in its facts table exactly once, and every device has been
acknowledged for every seq (the devices resend what stays unacknowledged, as protocol.md 11
asks).
"""
import os
import random
import threading
import time

from collector_support import H, env_for, metric, run_tests, wait_for

PER_DEVICE = 1500


def pump(devices, n, pause=0.05, chunk=10, **fields):
    """Sends n readings from each device in the background, chunk at a time (about 7 s for
    1500 readings: the faults below strike while readings are on their way)."""
    def run(d):
        left = n
        while left > 0:
            k = min(chunk, left)
            d.send(k, **fields)
            left -= k
            time.sleep(pause)
    threads = [threading.Thread(target=run, args=(d,), daemon=True) for d in devices]
    for t in threads:
        t.start()
    return threads


def settle_and_check(env, devices, n, timeout=120):
    for d in devices:
        assert d.wait_all_acked(timeout), "%s: %d unacked, e.g. %s" % (
            d.device_id, len(d.unacked()), d.unacked()[:10])
        assert d.acked >= set(range(1, n + 1)), d.device_id
        assert not d.dead, "%s: dead %s" % (d.device_id, sorted(d.dead)[:10])
    total = n * len(devices)
    assert env.scalar("SELECT count(*) FROM pantau.reading_ledger") == total
    assert env.scalar("SELECT count(*) FROM pantau.flood_reading") == total
    for d in devices:
        got = env.scalar("SELECT count(DISTINCT seq) FROM pantau.flood_reading"
                         " WHERE device_id = %s", d.device_id)
        assert got == n, (d.device_id, got)
    assert env.scalar("SELECT count(*) FROM pantau_ops.dead_letter") == 0


def try_start(pg):
    try:
        pg.start()
        return True
    except Exception:  # noqa: BLE001 - the harness raises while the old server lingers
        time.sleep(0.5)
        return False


def make_devices(env, k, prefix):
    return [env.device("%s-%02d" % (prefix, i), "flood", "st-%s-%02d" % (prefix, i),
                       resend_timeout=1.5, resend_max=5) for i in range(k)]


def test_kill9_collector_repeatedly_while_devices_send():
    rng = random.Random(7)
    with env_for("kill-collector") as env:
        c = env.collector()
        devices = make_devices(env, 3, "gw-k9")
        threads = pump(devices, PER_DEVICE)
        for _ in range(4):
            time.sleep(rng.uniform(0.3, 1.5))
            c.kill9()
            time.sleep(rng.uniform(0.0, 0.5))
            c.start()
        for t in threads:
            t.join()
        settle_and_check(env, devices, PER_DEVICE)


def test_postgresql_restart_and_kill9_while_devices_send():
    with env_for("pg-restart", own_cluster=True) as env:
        c = env.collector()
        devices = make_devices(env, 3, "gw-pg")
        watcher = env.device("gw-pg-watch", "flood", "st-pg-watch")
        threads = pump(devices, PER_DEVICE)
        time.sleep(1.0)
        env.pg.stop()
        wait_for(lambda: "database is down" in c.run_log(), 30, "the collector to see it")
        assert watcher.wait_health("collector-1", "down", 20), watcher.health
        time.sleep(2.0)
        env.pg.start()
        assert watcher.wait_health("collector-1", "up", 60), watcher.health
        time.sleep(0.5)
        env.pg.kill9()
        time.sleep(1.0)
        # the killed postmaster's children take a moment to go: retry the start
        wait_for(lambda: try_start(env.pg), 60, "PostgreSQL to start after kill -9")
        for t in threads:
            t.join()
        settle_and_check(env, devices, PER_DEVICE)
        assert c.running()


def test_kill9_broker_and_restart_while_devices_send():
    with env_for("kill-broker") as env:
        c = env.collector()
        devices = make_devices(env, 3, "gw-mq")
        threads = pump(devices, PER_DEVICE)
        time.sleep(1.0)
        env.mosq.kill9()
        time.sleep(1.0)
        env.mosq.start()
        for t in threads:
            t.join()
        settle_and_check(env, devices, PER_DEVICE)
        assert c.running()
        assert c.run_log().count("connected to broker") >= 2


def test_two_collectors_share_the_load_and_one_is_killed():
    with env_for("two-collectors") as env:
        port_a, port_b = H.free_port(), H.free_port()
        a = env.collector("collector-a", metrics_port=port_a)
        b = env.collector("collector-b", metrics_port=port_b)
        devices = make_devices(env, 4, "gw-2c")
        threads = pump(devices, PER_DEVICE)
        # both take part (the shared subscription splits the traffic), then b dies
        wait_for(lambda: metric(port_a, "readings_stored_total") > 200 and
                 metric(port_b, "readings_stored_total") > 200, 30, "both collectors storing")
        b.kill9()
        for t in threads:
            t.join()
        settle_and_check(env, devices, PER_DEVICE)
        assert a.running()


def test_collector_started_while_database_and_broker_are_down_catches_up():
    with env_for("cold-start", own_cluster=True) as env:
        devices = make_devices(env, 2, "gw-cold")
        watcher = env.device("gw-cold-watch", "flood", "st-cold-watch", start=False)
        env.pg.stop()
        env.mosq.kill9()
        c = env.collector(start=False)
        c.start(wait_db=False)
        wait_for(lambda: "database is down" in c.run_log(), 30, "db down at start")
        env.mosq.start()
        for d in devices:
            assert d.connected.wait(30), d.device_id
        watcher.start()
        assert watcher.wait_health("collector-1", "down", 30), watcher.health
        for d in devices:
            d.send(300)
        time.sleep(1.0)
        assert not any(d.acked for d in devices)
        env.pg.start()
        settle_and_check(env, devices, 300)
        assert watcher.wait_health("collector-1", "up", 30), watcher.health
        # it retried with back-off all along, and logged once per state change: one "down"
        # (however many attempts failed), one "up"
        log = c.run_log()
        assert log.count("database is down") == 1 and log.count("database is up") == 1, [
            line for line in log.splitlines() if "database is" in line]


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_database_outage_holds_memory_flat_and_resumes_by_itself():
    with env_for("outage", own_cluster=True) as env:
        port = H.free_port()
        c = env.collector(intake_bytes=1048576, batch_bytes=262144, batch_rows=500,
                          intake_wait_ms="200ms", metrics_port=port)
        devices = make_devices(env, 3, "gw-out")
        for d in devices:
            d.send(100)
        for d in devices:
            assert d.wait_all_acked(30)
        env.pg.stop()
        # bulky readings (an extension member pads them) while the database is away: far more
        # than the intake buffer holds
        threads = pump(devices, PER_DEVICE, pause=0.02, chunk=20, x_pad="p" * 190)
        wait_for(lambda: metric(port, "db_up") == 0, 30, "db_up 0")
        wait_for(lambda: metric(port, "intake_dropped_total") > 0, 60,
                 "the full intake buffer to push back")
        peak_intake = 0
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            peak_intake = max(peak_intake, metric(port, "intake_bytes"))
            time.sleep(0.1)
        assert peak_intake <= 1048576 + 65536, peak_intake
        if not os.environ.get("PANTAU_SANITIZE", "0") in ("1", "ON", "TRUE"):
            assert rss_kib(c.proc.pid) < 64 * 1024, rss_kib(c.proc.pid)
        for t in threads:
            t.join()
        assert not any(set(range(101, 101 + PER_DEVICE)) <= d.acked for d in devices)
        env.pg.start()
        settle_and_check(env, devices, 100 + PER_DEVICE, timeout=180)
        assert "database is up" in c.run_log().split("database is down")[-1]
        # the outage was counted: failed connections or statements
        assert metric(port, "db_errors_total") >= 1, metric(port, "db_errors_total")


if __name__ == "__main__":
    run_tests(globals())
