#!/usr/bin/python3
"""bench_collector.py -- end-to-end throughput of pantau-collector: readings published by test
devices (QoS 1) until every one is acknowledged after its commit, on this machine, with
PostgreSQL's fsync on. Prints readings/s, batch latency and the collector's peak RSS.

    PANTAU_BUILD_DIR=/tmp/build-collector /usr/bin/python3 tests/bench/collector/bench_collector.py \
        [--readings 60000] [--devices 12] [--procs 3] [--batch-rows 2000]

Everything runs on loopback: a private PostgreSQL cluster and mosquitto (pantau_harness), one
collector, and --procs publisher processes each driving devices/procs test devices. The target
is 15,000 readings/s end to end on the 2-core reference machine. Not a test (ctest does not run
it): a benchmark to run by hand.
"""
import argparse
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "tests", "harness"))
sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))

import pantau_harness as H  # noqa: E402


def publisher(port, device_ids, per_device, window, start_evt, result_q):
    from testdevice import TestDevice
    devs = [TestDevice(d, "127.0.0.1", port, stream="flood", station="st-" + d,
                       resend_timeout=30, resend_max=60, window=window).start()
            for d in device_ids]
    start_evt.wait()
    t0 = time.monotonic()

    def run(dev):
        left = per_device
        while left > 0:
            k = min(100, left)
            dev.send(k)
            left -= k
    threads = [threading.Thread(target=run, args=(d,)) for d in devs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = all(d.wait_all_acked(300) for d in devs)
    t1 = time.monotonic()
    result_q.put((ok, t0, t1, sum(d.resends for d in devs)))
    for d in devs:
        d.stop(offline=False)


def metric(port, name):
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5).read()
    for line in text.decode().splitlines():
        if line.startswith("pantau_collector_%s " % name):
            return float(line.split()[1])
    return 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--readings", type=int, default=60000)
    ap.add_argument("--devices", type=int, default=12)
    ap.add_argument("--procs", type=int, default=3)
    ap.add_argument("--window", type=int, default=2000)
    ap.add_argument("--batch-rows", type=int, default=2000)
    ap.add_argument("--batch-ms", default="100ms")
    args = ap.parse_args()
    binary = H.binary("collector", "pantau-collector")
    root = tempfile.mkdtemp(prefix="pantau-bench-")
    os.chmod(root, 0o755)
    pg = H.PgCluster(os.path.join(root, "pg")).start()
    dsn = pg.create_database("bench")
    H.apply_schema(dsn)
    mq = H.Mosquitto(os.path.join(root, "mq"), extra="max_queued_messages 100000\n"
                     "max_inflight_messages 0\n").start()
    import psycopg2
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    ids = ["gw-bench-%03d" % i for i in range(args.devices)]
    with conn.cursor() as cur:
        for d in ids:
            cur.execute("INSERT INTO pantau.device (device_id, kind, enabled)"
                        " VALUES (%s, 'flood_gateway', true)", (d,))
            cur.execute("INSERT INTO pantau.station (station_id, kind)"
                        " VALUES (%s, 'flood_gauge')", ("st-" + d,))
            cur.execute("INSERT INTO pantau.device_station (device_id, station_id, valid)"
                        " VALUES (%s, %s, tstzrange('2000-01-01', NULL))", (d, "st-" + d))
    mport = H.free_port()
    with open(os.path.join(root, "pass"), "w") as f:
        f.write("x\n")
    conf = os.path.join(root, "collector.conf")
    with open(conf, "w") as f:
        f.write("collector_id bench\nmqtt_host 127.0.0.1\nmqtt_port %d\n"
                "db_conninfo %s\ndb_password_file %s/pass\nbatch_rows %d\nbatch_ms %s\n"
                "metrics_port %d\nlog_level notice\n"
                % (mq.port, dsn, root, args.batch_rows, args.batch_ms, mport))
    log = open(os.path.join(root, "collector.log"), "wb")
    proc = subprocess.Popen([binary, "-c", conf], stdout=log, stderr=log)
    H.wait_until(lambda: metric(mport, "db_up") == 1, 30, "collector up")
    per_device = args.readings // args.devices
    start_evt = multiprocessing.Event()
    q = multiprocessing.Queue()
    chunks = [ids[i::args.procs] for i in range(args.procs)]
    procs = [multiprocessing.Process(target=publisher,
                                     args=(mq.port, ch, per_device, args.window, start_evt, q))
             for ch in chunks]
    for p in procs:
        p.start()
    time.sleep(2)
    peak = [0]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            with open("/proc/%d/status" % proc.pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        peak[0] = max(peak[0], int(line.split()[1]))
            time.sleep(0.2)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start_evt.set()
    results = [q.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    stop.set()
    total = per_device * args.devices
    t0 = min(r[1] for r in results)
    t1 = max(r[2] for r in results)
    ok = all(r[0] for r in results)
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pantau.reading_ledger")
        stored = cur.fetchone()[0]
    batches = metric(mport, "batches_total")
    bsum = metric(mport, "batch_seconds_sum")
    print("readings %d, stored %d, all acked: %s, resends %d" % (
        total, stored, ok, sum(r[3] for r in results)))
    print("end to end: %.1f s, %.0f readings/s" % (t1 - t0, total / (t1 - t0)))
    print("batches %d, mean %.1f rows, mean commit %.1f ms" % (
        batches, stored / max(batches, 1), 1000 * bsum / max(batches, 1)))
    print("collector peak RSS %.1f MiB, messages received %d, not taken (intake full) %d" % (
        peak[0] / 1024.0, metric(mport, "messages_received_total"),
        metric(mport, "intake_dropped_total")))
    proc.terminate()
    proc.wait(30)
    mq.stop()
    pg.stop()
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
