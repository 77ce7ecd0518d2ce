#!/usr/bin/python3
"""test_collector_late.py -- late data: the replay flag and clock_synced are stored as sent, and
readings taken before the clock was set get ts_corrected (protocol.md 4.1) from a synced
reading of the same device, store and boot, whichever of the two arrives first.
"""
import datetime

from collector_support import env_for, run_tests

SYNCED_TS = "2026-02-11T03:15:00.000Z"
SYNCED_MONO = 86400000


def corrected(mono):
    base = datetime.datetime(2026, 2, 11, 3, 15, tzinfo=datetime.timezone.utc)
    return base + datetime.timedelta(milliseconds=mono - SYNCED_MONO)


def test_unsynced_readings_get_ts_corrected_from_a_synced_one_of_their_boot():
    with env_for("late") as env:
        env.collector()
        d = env.device("gw-late-01", "flood", "st-late-01")
        # two unsynced readings of boot 7 (their ts is the 1970 clock) ...
        d.send_doc(d.reading(1, ts="1970-01-01T00:04:31.000Z", clock_synced=False, boot=7,
                             mono_ms=SYNCED_MONO - 60000))
        d.send_doc(d.reading(2, ts="1970-01-01T00:05:31.000Z", clock_synced=False, boot=7,
                             mono_ms=SYNCED_MONO - 1000))
        # ... an unsynced one of another boot, which nothing corrects ...
        d.send_doc(d.reading(3, ts="1970-01-01T00:00:10.000Z", clock_synced=False, boot=6,
                             mono_ms=10000))
        assert d.wait_all_acked(30)
        assert env.scalar("SELECT count(ts_corrected) FROM pantau.reading_ledger") == 0
        # ... then the synced reading of boot 7 corrects the earlier ones ...
        d.send_doc(d.reading(4, ts=SYNCED_TS, clock_synced=True, boot=7, mono_ms=SYNCED_MONO))
        assert d.wait_all_acked(30)
        # ... and a later unsynced one of boot 7 is corrected when it is stored
        d.send_doc(d.reading(5, ts="1970-01-01T00:06:31.000Z", clock_synced=False, boot=7,
                             mono_ms=SYNCED_MONO + 5000))
        assert d.wait_all_acked(30)
        rows = dict(env.sql("SELECT seq, ts_corrected FROM pantau.reading_ledger"))
        assert rows[1] == corrected(SYNCED_MONO - 60000), rows
        assert rows[2] == corrected(SYNCED_MONO - 1000), rows
        assert rows[3] is None, rows
        assert rows[4] is None, rows          # synced: its own ts is right
        assert rows[5] == corrected(SYNCED_MONO + 5000), rows
        synced = dict(env.sql("SELECT seq, clock_synced FROM pantau.reading_ledger"))
        assert synced == {1: False, 2: False, 3: False, 4: True, 5: False}, synced


def test_replay_flag_is_stored_as_first_received():
    with env_for("replay") as env:
        env.collector()
        d = env.device("gw-replay-01", "flood", "st-replay-01")
        d.send_doc(d.reading(1, replay=False))
        # a backlog reading whose first arrival here is a replay
        held_doc = d.reading(2)
        d.send_doc(held_doc)
        assert d.wait_all_acked(30)
        d.resend(1)
        assert d.wait_acks([1], 30, times=2)
        d3 = d.reading(3)
        d.docs[3] = ("flood", d3)
        d.resend(3)            # sent only as a replay
        assert d.wait_all_acked(30)
        rows = dict(env.sql("SELECT seq, replay FROM pantau.reading_ledger"))
        assert rows == {1: False, 2: False, 3: True}, rows


if __name__ == "__main__":
    run_tests(globals())
