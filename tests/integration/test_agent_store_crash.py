#!/usr/bin/python3
"""test_agent_store_crash.py -- kill -9 the edge agent's store at random moments in a loop of
writes: each time the store opens again, keeps its store id, never reuses a sequence number,
and has lost nothing that was committed and not acknowledged.

The writer is tests/unit/agent_store_torture.c (built as edge-agent/agent_store_torture). It
prints a line after each call returned: `A first last` (appended, durable), `K upto` (acked the
seqs divisible by 3 up to upto), `C conn` (a connection counter). The test lets it run for a
random number of lines, kills it with SIGKILL, and then reads the store with
`agent_store_torture dump`. The random choices come from a fixed seed, printed below
(PANTAU_CRASH_SEED overrides it to replay a failure).

Run: PANTAU_BUILD_DIR=build /usr/bin/python3 tests/integration/test_agent_store_crash.py
"""
import os
import random
import select
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import pantau_harness as H  # noqa: E402

KILLS = 30
DEADLINE_S = 120          # the whole loop, so that a stuck writer cannot eat the CI budget
ACK_EVERY = 3             # the writer's ack pattern


def read_lines(proc, want, timeout, buf=b""):
    """Lines from proc's stdout until `want` of them arrived (or timeout): complete lines only."""
    lines = []
    deadline = time.monotonic() + timeout
    fd = proc.stdout.fileno()
    while len(lines) < want:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buf += chunk
        *done, buf = buf.split(b"\n")
        lines.extend(line.decode() for line in done)
    return lines, buf


def drain(proc, buf):
    """The complete lines left in the pipe after the writer died."""
    rest = buf + proc.stdout.read()
    return [line.decode() for line in rest.split(b"\n")[:-1]]


def dump(torture, path):
    r = subprocess.run([torture, "dump", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    assert r.returncode == 0, "dump failed (rc %d): %s" % (r.returncode, r.stderr.decode())
    info = {"seqs": set()}
    for line in r.stdout.decode().splitlines():
        key, value = line.split(" ", 1)
        if key == "h":
            info["seqs"].add(int(value))
        elif key == "id":
            info["id"] = value
        else:
            info[key] = int(value)
    assert len(info["seqs"]) == info["held"], \
        "the store counts %d held, a scan finds %d" % (info["held"], len(info["seqs"]))
    return info, r.stderr.decode()


def test_kill9_in_a_loop_of_writes_loses_and_reuses_nothing():
    seed = int(os.environ.get("PANTAU_CRASH_SEED", "20261201"))
    print("seed %d (set PANTAU_CRASH_SEED to replay)" % seed)
    rnd = random.Random(seed)
    torture = H.binary("edge-agent", "agent_store_torture")
    work = H.workdir("store-crash")
    path = os.path.join(work, "agent.db")
    store_id = None
    printed_max = 0          # the highest seq any run printed
    must_hold = set()        # printed, not in the ack pattern: must be held for ever
    acked = set()            # in the ack pattern and acked by a K line: must be gone
    last_conn = 0
    kills = 0
    unprinted = 0            # kills after a commit (in its fsync) and before its line
    started = time.monotonic()
    while kills < KILLS:
        assert time.monotonic() - started < DEADLINE_S, \
            "only %d kills within %d s" % (kills, DEADLINE_S)
        want = rnd.randint(1, 120)
        proc = subprocess.Popen([torture, "write", path, str(rnd.getrandbits(32))],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            lines, buf = read_lines(proc, want, 30)
            # then a random moment more (0 to 5 ms): the writer is somewhere in its loop
            more, buf = read_lines(proc, 1 << 30, rnd.uniform(0, 0.005), buf)
            lines += more
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
            lines += drain(proc, buf)
            err = proc.stderr.read().decode()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        assert lines and lines[0].startswith("open "), \
            "run %d: the writer did not open the store: %r %s" % (kills, lines[:3], err)
        assert proc.returncode == -signal.SIGKILL, \
            "run %d: the writer exited by itself (rc %s): %s" % (kills, proc.returncode, err)
        _, run_id, open_last, _boot = lines[0].split()
        open_last = int(open_last)
        if store_id is None:
            store_id = run_id
        assert run_id == store_id, "run %d: a new store id %s (was %s): the store was lost" % (
            kills, run_id, store_id)
        assert open_last >= printed_max, \
            "run %d: the store says last seq %d, but %d was printed before" % (
                kills, open_last, printed_max)
        first_new = None
        for line in lines[1:]:
            tag, *vals = line.split()
            if tag == "A":
                first, last = int(vals[0]), int(vals[1])
                assert first > printed_max and first > open_last, \
                    "run %d: seq %d reused (printed up to %d, store said %d at open)" % (
                        kills, first, printed_max, open_last)
                first_new = first if first_new is None else first_new
                printed_max = last
                for q in range(first, last + 1):
                    if q % ACK_EVERY != 0:
                        must_hold.add(q)
            elif tag == "K":
                upto = int(vals[0])
                acked.update(q for q in range(open_last + 1, upto + 1) if q % ACK_EVERY == 0)
            elif tag == "C":
                conn = int(vals[0])
                assert conn > last_conn, "run %d: connection counter %d after %d" % (
                    kills, conn, last_conn)
                last_conn = conn
        info, dump_err = dump(torture, path)
        assert info["id"] == store_id, "run %d: dump sees store %s" % (kills, info["id"])
        assert info["last"] >= printed_max, "run %d: last seq %d below printed %d" % (
            kills, info["last"], printed_max)
        assert info["conn"] >= last_conn
        held = info["seqs"]
        lost = sorted(must_hold - held)
        assert not lost, "run %d: %d committed, unacknowledged readings lost: %s" % (
            kills, len(lost), lost[:20])
        back = sorted(acked & held)
        assert not back, "run %d: acknowledged readings back: %s" % (kills, back[:20])
        beyond = [q for q in held if q > info["last"] or q < 1]
        assert not beyond, "run %d: held seqs beyond the last assigned: %s" % (kills, beyond)
        assert "damaged" not in dump_err, dump_err
        if info["last"] > printed_max:
            unprinted += 1
        kills += 1
    print("%d kills in %.1f s (%d of them after a commit, before its line); last seq printed "
          "%d, %d readings that must stay held" % (kills, time.monotonic() - started, unprinted,
                                         printed_max, len(must_hold)))


if __name__ == "__main__":
    H.run_tests(globals())
