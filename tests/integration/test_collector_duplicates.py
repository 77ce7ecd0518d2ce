#!/usr/bin/python3
"""test_collector_duplicates.py -- exactly once: a resent reading is stored once and acknowledged
again; the same key with other content is a clash (dead letter 'clash'), acknowledged but not
as dead, since a copy of the reading is stored (`dead` holds only readings of which no copy was
stored, protocol.md 6.1, issue 9 item 5); both also when the copies meet inside one batch.
"""
from collector_support import env_for, run_tests, wait_for


def test_resent_reading_is_stored_once_and_acked_twice():
    with env_for("dup") as env:
        env.collector()
        d = env.device("gw-dup-01", "flood", "st-dup-01")
        d.send(50)
        assert d.wait_all_acked(30)
        for seq in (1, 25, 50):
            d.resend(seq)
        assert d.wait_acks([1, 25, 50], 30, times=2), d.ack_count
        assert d.wait_all_acked(30)
        assert env.scalar("SELECT count(*) FROM pantau.reading_ledger") == 50
        assert env.scalar("SELECT count(*) FROM pantau.flood_reading") == 50
        assert env.scalar("SELECT count(*) FROM pantau_ops.dead_letter") == 0
        assert not d.dead
        # the stored reading is the first send: replay false
        assert env.scalar("SELECT replay FROM pantau.reading_ledger WHERE seq = 25") is False


def test_same_key_other_content_is_a_clash_dead_letter_acked_not_dead():
    with env_for("clash") as env:
        env.collector()
        d = env.device("gw-clash-01", "flood", "st-clash-01")
        d.send(10)
        assert d.wait_all_acked(30)
        original = env.scalar("SELECT level_cm FROM pantau.flood_reading WHERE seq = 7")
        other = d.reading(7, level_cm=1.25)
        d.send_doc(other)
        assert d.wait_acks([7], 30, times=2)
        assert 7 not in d.dead, "a copy of seq 7 is stored: not dead"
        rows = env.sql("SELECT reason, device_id, store_id::text, seq, stream,"
                       " convert_from(payload, 'UTF8')::jsonb->>'level_cm'"
                       " FROM pantau_ops.dead_letter")
        assert rows == [("clash", d.device_id, d.store, 7, "flood", "1.25")], rows
        # the stored reading is untouched
        assert env.scalar("SELECT level_cm FROM pantau.flood_reading WHERE seq = 7") == original
        assert env.scalar("SELECT count(*) FROM pantau.reading_ledger") == 10


def test_copies_inside_one_batch_settle_to_one_row_and_one_clash_not_dead_9_5():
    with env_for("dupbatch") as env:
        # one big batch window so that the copies meet in one transaction
        c = env.collector(batch_ms="1s", batch_rows=5000)
        d = env.device("gw-dupb-01", "flood", "st-dupb-01", resend_timeout=600)
        d.send(20)
        d.resend(5)
        d.resend(6)
        d.send_doc(d.reading(9, level_cm=2.5))   # a clash of seq 9 in the same batch
        # copies in one batch are acknowledged in one message: coalesced, not twice
        assert d.wait_all_acked(30), d.unacked()
        # issue 9 item 5: seq 9 has a stored copy, so the clash does not make it dead
        assert not d.dead, d.dead
        assert env.scalar("SELECT count(*) FROM pantau.reading_ledger") == 20
        assert env.scalar("SELECT count(*) FROM pantau_ops.dead_letter WHERE reason = 'clash'"
                          " AND seq = 9") == 1
        assert env.scalar("SELECT count(*) FROM pantau_ops.dead_letter") == 1
        assert c.stop() == 0


def test_two_collectors_writing_the_same_readings_store_each_once_without_deadlock():
    with env_for("samekeys") as env:
        # different share groups: both collectors receive every reading and race for the
        # same ledger keys, in batches of different sizes
        a = env.collector("collector-a", share_group="group-a", batch_rows=700)
        b = env.collector("collector-b", share_group="group-b", batch_rows=300)
        devices = [env.device("gw-same-%02d" % i, "flood", "st-same-%02d" % i,
                              resend_timeout=600) for i in range(4)]
        for _ in range(10):
            for d in devices:
                d.send(200)
        for d in devices:
            assert d.wait_all_acked(60), d.unacked()[:10]
            assert not d.dead
        assert env.scalar("SELECT count(*) FROM pantau.reading_ledger") == 8000
        assert env.scalar("SELECT count(*) FROM pantau.flood_reading") == 8000
        wait_for(lambda: all(d.wait_acks(range(1, 2001), 1, times=2) for d in devices), 30,
                 "every reading acknowledged by both collectors")
        for c in (a, b):
            assert "deadlock" not in c.log(), c.id
        assert a.stop() == 0 and b.stop() == 0


if __name__ == "__main__":
    run_tests(globals())
