#!/usr/bin/python3
"""test_collector_deadletters.py -- a dead letter is stored once however often its message
arrives (issue 3 item 3, protocol.md 7.2, schema/008): by (device, store, seq) and content
where the body gives them, else by a hash of topic and raw bytes; other content under the same
key is a row of its own; broker-refused messages likewise, within a per-device rate limit. A
reading that went to the dead letters is settled in the ledger (outcome dead_letter), so a
resend is acknowledged (as dead) from the ledger and the gap view does not count it.
"""
import base64
import json

from collector_support import env_for, metric, run_tests, wait_for, H

STORE = "0d9c8b7a-6f5e-4d3c-8b2a-19f8e7d6c5b4"


def dead_rows(env):
    return env.sql("SELECT reason, device_id, seq, source, payload, dedup_key IS NOT NULL"
                   " FROM pantau_ops.dead_letter ORDER BY id")


def test_same_invalid_message_three_times_is_one_dead_letter():
    with env_for("dlsame") as env:
        port = H.free_port()
        env.collector(metrics_port=port)
        d = env.device("gw-dl-01", "flood", "st-dl-01", store=STORE, resend_timeout=600)
        bad = dict(d.reading(5), levl_cm=1)             # unknown member: store and seq known
        raw = json.dumps(bad, separators=(",", ":")).encode()
        for _ in range(3):                               # one batch, most likely
            d.send_raw("flood", raw, keep_seq=5)
        assert d.wait_acks([5], 30)
        assert d.dead == {5}
        # again in later batches, and once as a device resends it (replay true)
        d.send_raw("flood", raw, keep_seq=5)
        assert d.wait_acks([5], 30, times=2), d.ack_count
        d.send_raw("flood", json.dumps(dict(bad, replay=True)).encode(), keep_seq=5)
        assert d.wait_acks([5], 30, times=3), d.ack_count
        # garbage without store or seq: deduplicated by topic and bytes
        for _ in range(3):
            d.send_raw("flood", b"\xff not json at all")
        d.send_raw("traffic", b"\xff not json at all")  # another topic: another row
        wait_for(lambda: metric(port, "dead_letters_total") >= 9, 30, "nine dead letters seen")
        rows = dead_rows(env)
        assert sorted((r[0], r[1], r[2] or 0) for r in rows) == [
            ("json", d.device_id, 0), ("json", d.device_id, 0), ("schema", d.device_id, 5)], rows
        assert all(r[5] for r in rows), "every new dead letter has a dedup_key"
        assert sorted(bytes(r[4]) for r in rows if r[0] == "json") == [
            b"\xff not json at all"] * 2
        assert bytes([r for r in rows if r[0] == "schema"][0][4]) == raw   # the first copy
        # the reading is settled in the ledger once, as a dead letter
        assert env.sql("SELECT seq, outcome, replay FROM pantau.reading_ledger") == [
            (5, "dead_letter", False)]


def test_same_key_with_other_bad_content_is_a_second_row():
    with env_for("dlother") as env:
        env.collector()
        d = env.device("gw-dl-02", "flood", "st-dl-02", resend_timeout=600)
        first = json.dumps(dict(d.reading(7), levl_cm=1)).encode()
        other = json.dumps(dict(d.reading(7), levl_cm=2)).encode()
        for payload in (first, other, first, other):
            d.send_raw("flood", payload, keep_seq=7)
        assert d.wait_acks([7], 30) and d.dead == {7}
        wait_for(lambda: len(dead_rows(env)) >= 2, 30, "two dead letters")
        # clashes: a stored reading, then two other contents under its key, each twice
        d.send(1)                                           # seq 8, stored
        assert d.wait_acks([8], 30)
        clash_a = d.reading(8, level_cm=11.5)
        clash_b = d.reading(8, level_cm=22.5)
        copies = [json.dumps(doc).encode() for doc in
                  (clash_a, clash_b, clash_a, dict(clash_b, replay=True))]
        for n, payload in enumerate(copies):
            d.send_raw("flood", payload, keep_seq=8)
            assert d.wait_acks([8], 30, times=n + 2), d.ack_count
        assert 8 not in d.dead, "seq 8 has a stored copy: its clashes are not dead"
        # a valid content under seq 7, whose reading went to the dead letters: a clash with
        # no copy stored, so dead (protocol.md 6.1)
        d.dead.clear()
        d.send_raw("flood", json.dumps(d.reading(7, level_cm=3.5)).encode(), keep_seq=7)
        assert d.wait_acks([7], 30, times=2), d.ack_count
        assert 7 in d.dead
        rows = env.sql("SELECT reason, seq, count(*) FROM pantau_ops.dead_letter"
                       " GROUP BY 1, 2 ORDER BY 1, 2")
        assert rows == [("clash", 7, 1), ("clash", 8, 2), ("schema", 7, 2)], rows
        assert env.sql("SELECT seq, outcome FROM pantau.reading_ledger ORDER BY 1") == [
            (7, "dead_letter"), (8, "stored")]


def test_resend_of_a_dead_lettered_reading_is_acked_from_the_ledger():
    with env_for("dlledger") as env:
        port = H.free_port()
        env.collector(registry_refresh_ms="200ms", metrics_port=port)
        d = env.device("gw-dl-03", "flood", "st-dl-03a", resend_timeout=600)
        d.send(1)                                              # seq 1 stored
        d.send(1, station="st-dl-03b")                         # seq 2: station not bound
        d.send(1)                                              # seq 3 stored
        assert d.wait_all_acked(30) and d.dead == {2}
        assert env.sql("SELECT seq, outcome FROM pantau.reading_ledger ORDER BY 1") == [
            (1, "stored"), (2, "dead_letter"), (3, "stored")]
        # the gap view does not count the dead-lettered reading as missing
        assert env.scalar("SELECT count(*) FROM pantau_report.reading_gap"
                          " WHERE device_id = %s", d.device_id) == 0
        assert env.scalar("SELECT sum(dead_letters)"
                          " FROM pantau_report.device_reading_hour WHERE device_id = %s",
                          d.device_id) == 1
        assert env.scalar("SELECT sum(readings) FROM pantau_report.device_reading_hour"
                          " WHERE device_id = %s", d.device_id) == 2
        # the station is bound now; a resend of seq 2 is valid, but seq 2 is settled: it is
        # acknowledged as dead from the ledger, not stored as a reading after all
        env.sql("INSERT INTO pantau.station (station_id, kind) VALUES ('st-dl-03b',"
                " 'flood_gauge') ON CONFLICT DO NOTHING")
        env.sql("INSERT INTO pantau.device_station (device_id, station_id, valid)"
                " VALUES (%s, 'st-dl-03b', tstzrange('2000-01-01', NULL))", d.device_id)
        loads = metric(port, "registry_loads_total")
        wait_for(lambda: metric(port, "registry_loads_total") >= loads + 2, 10,
                 "the registry reloaded")
        d.dead.clear()
        d.resend(2)
        assert d.wait_acks([2], 30, times=2)
        assert d.dead == {2}
        assert env.scalar("SELECT count(*) FROM pantau.flood_reading") == 2
        assert env.scalar("SELECT count(*) FROM pantau_ops.dead_letter") == 1
        assert env.scalar("SELECT count(*) FROM pantau.reading_ledger") == 3


def rejected_msg(device, payload, reason="levl_cm: unknown member", ts=None):
    return json.dumps({"ts": ts or "2026-02-11T03:19:00.010Z", "device": device,
                       "topic": "pantau/v1/%s/flood" % device, "reason": reason,
                       "payload_b64": base64.b64encode(payload).decode()}).encode()


def test_broker_refused_messages_are_deduplicated_and_rate_limited():
    with env_for("dlbroker") as env:
        port = H.free_port()
        env.collector(metrics_port=port, rejected_burst=5, rejected_per_minute=0.01)
        sender = env.device("gw-dl-sys", "flood", "st-dl-sys", resend_timeout=600)
        a = env.device("gw-dl-a", "flood", "st-dl-a", resend_timeout=600)
        b = env.device("gw-dl-b", "flood", "st-dl-b", resend_timeout=600)
        c = env.device("gw-dl-c", "flood", "st-dl-c", resend_timeout=600)
        rej = "pantau/v1/_sys/rejected"
        # a and b hold the readings the broker refused (set before anything is sent: the
        # test device ignores acknowledgements of seqs it never held)
        with a.lock:
            a.sent.add(1)
            a.next_seq = 2
        with b.lock:
            b.sent.update(range(1, 21))
            b.next_seq = 21
        # a: the same refused reading three times (the broker's time stamp differs): one row
        bad_a = json.dumps(dict(a.reading(1), levl_cm=5)).encode()
        for i in range(3):
            sender.send_raw(None, rejected_msg(a.device_id, bad_a,
                                               ts="2026-02-11T03:19:0%d.000Z" % i), topic=rej)
        # b: 20 different refused readings, burst 5 and almost no refill: 5 stored
        for seq in range(1, 21):
            bad_b = json.dumps(dict(b.reading(seq), levl_cm=5)).encode()
            sender.send_raw(None, rejected_msg(b.device_id, bad_b), topic=rej)
        # c is not held back by b
        bad_c = json.dumps(dict(c.reading(1), levl_cm=5)).encode()
        sender.send_raw(None, rejected_msg(c.device_id, bad_c), topic=rej)
        wait_for(lambda: metric(port, "rejected_limited_total") == 15 and
                 metric(port, "dead_letters_total") >= 9, 30, "15 limited, 9 dead letters")
        rows = env.sql("SELECT device_id, source, reason, count(*) FROM pantau_ops.dead_letter"
                       " GROUP BY 1, 2, 3 ORDER BY 1")
        assert rows == [("gw-dl-a", "broker", "rejected", 1), ("gw-dl-b", "broker", "rejected", 5),
                        ("gw-dl-c", "broker", "rejected", 1)], rows
        # what was stored is acknowledged as dead; what was over the limit is not
        assert a.wait_acks([1], 30) and a.dead == {1}
        assert b.wait_acks(range(1, 6), 30) and b.dead == set(range(1, 6))
        assert not (b.acked & set(range(6, 21))), sorted(b.acked)


def test_ingest_role_cannot_read_details_change_or_delete_dead_letters():
    # a redrive (schema/011) lets pantau_ingest read a dead letter's key and payload and set
    # redriven_at; never its detail, never another column, never a DELETE
    with env_for("dlpriv") as env:
        role = "SET ROLE pantau_collector_test; "    # a member of pantau_ingest (the env's)
        for stmt in ("SELECT * FROM pantau_ops.dead_letter",
                     "SELECT detail FROM pantau_ops.dead_letter",
                     "UPDATE pantau_ops.dead_letter SET reason = 'x'",
                     "UPDATE pantau_ops.dead_letter SET payload = 'x'",
                     "DELETE FROM pantau_ops.dead_letter"):
            try:
                env.sql(role + stmt)
            except Exception as e:  # noqa: BLE001 - psycopg2's InsufficientPrivilege
                assert "permission denied" in str(e), e
            else:
                raise AssertionError("pantau_ingest may: %s" % stmt)
            finally:
                env.conn.close()
                env.conn = None
        # ... and INSERT ON CONFLICT DO NOTHING, all the collector needs, works
        for payload in ("x", "y"):
            env.sql(role + "INSERT INTO pantau_ops.dead_letter (received_at, topic, payload,"
                    " reason, dedup_key) VALUES (now(), 't', %s, 'json', sha256('k'))"
                    " ON CONFLICT DO NOTHING", payload)
            env.conn.close()
            env.conn = None
        assert env.scalar("SELECT count(*) FROM pantau_ops.dead_letter") == 1
        # the SQL of a clash's key (sink_sql.h) is deadkey.h's keyed formula: the value that
        # tests/unit/test_collector_deadkey.c checks on the C side
        assert env.scalar(
            "SELECT encode(sha256(convert_to('key:' || 'gw-1' || '/' ||"
            " '6f1c2b0e-9a57-4d1e-8d0c-3a1f2e4b5c6d'::uuid || '/' || 42::bigint || ':', 'UTF8')"
            " || decode(repeat('00', 32), 'hex')), 'hex')") == (
            "1e8b58e61b85f76787df33669bbba9e8cafd25b8f62c099651dc6228f99de673")


if __name__ == "__main__":
    run_tests(globals())
