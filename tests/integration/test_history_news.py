#!/usr/bin/python3
"""test_history_news.py -- history and news (protocol.md 4.1 "History and news", issue 9 item
7), against a real PostgreSQL, mosquitto, collector and, where the device's half is tested, the
real pantau-agent:

- the lateness L is one number: MSG_HISTORY_LATENESS_MS (msg/msg_history.h) equals
  pantau.history_lateness() (schema/012_history.sql);
- the database's half (pantau.reading_is_history): replay, or received more than L after the
  best time (a traffic count: after its interval's end); an unsynchronised reading without a
  corrected time is judged by replay alone; the views count it;
- the agent's half: a live reading whose first copy was lost (the collector away for seconds)
  and which arrives on a resend is news (replay false); a backlog held longer than L is history
  (replay true) and one held a minute is news; readings with an old ts are history by the
  collector's judgment though the agent sent them at once.
"""
import datetime
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from agent_support import (Agent, Watcher, age_store, ledger_count,  # noqa: E402
                           simulator)
from collector_support import env_for, run_tests, wait_for  # noqa: E402
from testdevice import ts_now  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
HEADER = os.path.join(ROOT, "msg", "msg_history.h")


def lateness_ms_in_header():
    with open(HEADER) as f:
        found = re.findall(r"#define MSG_HISTORY_LATENESS_MS INT64_C\((\d+)\)", f.read())
    assert len(found) == 1, "MSG_HISTORY_LATENESS_MS not found once in %s" % HEADER
    return int(found[0])


def history_by_seq(env, device_id):
    return dict(env.sql("SELECT seq, pantau.reading_is_history(l) FROM pantau.reading_ledger l"
                        " WHERE device_id = %s", device_id))


def replay_by_seq(env, device_id):
    return dict(env.sql("SELECT seq, replay FROM pantau.reading_ledger WHERE device_id = %s",
                        device_id))


def send_as_replay(dev, doc):
    """Publishes doc with replay true only (the test device sets replay on its later sends)."""
    dev.docs[doc["seq"]] = (dev.stream, doc)
    dev.resend(doc["seq"])


def test_lateness_of_c_and_sql_agree_and_the_database_judges_by_best_time():
    with env_for("history-sql") as env:
        lateness = env.scalar("SELECT (extract(epoch FROM pantau.history_lateness()) * 1000)"
                              "::bigint")
        assert lateness == lateness_ms_in_header() == 300000, lateness
        # the rule itself, at its edges (args: replay, ts, clock_synced, ts_corrected,
        # received_at, span_s)
        rule = "pantau.reading_is_history(%s, %s::timestamptz, %s, %s::timestamptz," \
               " '2026-02-11T03:20:00Z'::timestamptz, %s)"
        cases = [
            ((False, "2026-02-11T03:15:00Z", True, None, 0), False),       # exactly L: news
            ((False, "2026-02-11T03:14:59.999Z", True, None, 0), True),    # L + 1 ms
            ((True, "2026-02-11T03:19:59Z", True, None, 0), True),         # the device says
            ((False, "2026-02-11T03:10:00Z", True, None, 300), False),     # interval ends 03:15
            ((False, "2026-02-11T03:09:59Z", True, None, 300), True),
            ((False, "1970-01-01T00:00:00Z", False, None, 0), False),      # replay alone
            ((True, "1970-01-01T00:00:00Z", False, None, 0), True),
            ((False, "1970-01-01T00:00:00Z", False, "2026-02-11T03:14:00Z", 0), True),
            ((False, "1970-01-01T00:00:00Z", False, "2026-02-11T03:19:00Z", 0), False),
            ((False, "2026-02-11T03:00:00Z", False, None, 0), False),      # untrusted ts
        ]
        for args, want in cases:
            assert env.scalar("SELECT " + rule, *args) is want, (args, want)
        env.collector()
        fl = env.device("gw-hist-01", "flood", "st-hist-01")
        # synchronised clock: judged by replay and by ts
        fl.send_doc(fl.reading(1, ts=ts_now()))                      # news
        fl.send_doc(fl.reading(2, ts=ts_now(-60)))                   # a minute late: news
        fl.send_doc(fl.reading(3, ts=ts_now(-600)))                  # 10 minutes: history
        send_as_replay(fl, fl.reading(4, ts=ts_now()))               # the device says history
        # unsynchronised, nothing to correct it (boot 9 has no synced reading): replay alone
        fl.send_doc(fl.reading(5, ts="1970-01-01T00:04:31.000Z", clock_synced=False, boot=9,
                               mono_ms=271000))                      # news
        send_as_replay(fl, fl.reading(6, ts="1970-01-01T00:04:32.000Z", clock_synced=False,
                                      boot=9, mono_ms=272000))       # history
        # unsynchronised of boot 7, corrected by a synced reading of boot 7: by the corrected
        # time, which says 10 minutes before now for seq 7 and 1 s for seq 8
        mono = 86400000
        fl.send_doc(fl.reading(7, ts="1970-01-01T00:05:00.000Z", clock_synced=False, boot=7,
                               mono_ms=mono - 600000))
        fl.send_doc(fl.reading(8, ts="1970-01-01T00:14:59.000Z", clock_synced=False, boot=7,
                               mono_ms=mono - 1000))
        fl.send_doc(fl.reading(9, ts=ts_now(), boot=7, mono_ms=mono))
        assert fl.wait_all_acked(30)
        # a traffic count is taken when its interval (300 s here) ends
        tr = env.device("gw-hist-02", "traffic", "cam-hist-01")
        tr.send_doc(tr.reading(1, ts=ts_now(-300)))                  # just ended: news
        tr.send_doc(tr.reading(2, ts=ts_now(-900)))                  # ended 10 min ago: history
        assert tr.wait_all_acked(30)

        got = history_by_seq(env, "gw-hist-01")
        assert got == {1: False, 2: False, 3: True, 4: True, 5: False, 6: True, 7: True,
                       8: False, 9: False}, got
        assert replay_by_seq(env, "gw-hist-01")[7] is False   # history by time, not by flag
        assert history_by_seq(env, "gw-hist-02") == {1: False, 2: True}
        # the views count and show it by the same function
        assert env.scalar("SELECT sum(history) FROM pantau_report.device_reading_hour"
                          " WHERE device_id = 'gw-hist-01'") == 4
        assert env.scalar("SELECT sum(history) FROM pantau_report.device_reading_hour"
                          " WHERE device_id = 'gw-hist-02'") == 1
        shown = dict(env.sql("SELECT seq, history FROM pantau_report.flood_level"
                             " WHERE device_id = 'gw-hist-01'"))
        assert shown == got, shown
        fl.stop()
        tr.stop()


def test_agent_resend_of_a_lost_first_copy_is_news():
    dev, st = "gw-hist-03", "st-hist-03"
    with env_for("history-resend") as env:
        env.register(dev, "flood_gateway", [st])
        coll = env.collector()
        watcher = Watcher(env.mqtt_port, dev).start()
        agent = Agent(env, dev, sources=[simulator(flood=st, rate=5, count=60)])
        agent.start()
        wait_for(lambda: ledger_count(env, dev) >= 5, 30, "the first readings stored")
        coll.stop()
        stored = env.scalar("SELECT max(seq) FROM pantau.reading_ledger WHERE device_id = %s",
                            dev)
        # live readings go out while no collector listens: the broker drops them
        wait_for(lambda: any(m.doc["seq"] > stored + 10 for m in watcher.readings()), 30,
                 "10 readings published with no collector")
        lost = sorted({m.doc["seq"] for m in watcher.readings() if m.doc["seq"] > stored})
        assert ledger_count(env, dev) == stored
        coll.start()
        wait_for(lambda: ledger_count(env, dev) == 60, 60, "all 60 readings stored")
        sends = {}
        for m in watcher.readings():
            sends.setdefault(m.doc["seq"], []).append(m.doc["replay"])
        resent = [s for s in lost if len(sends[s]) >= 2]
        assert len(resent) >= 10, sends
        # held seconds, not minutes: every send of them says news, and so does the ledger
        assert not any(any(sends[s]) for s in resent), {s: sends[s] for s in resent}
        replay = replay_by_seq(env, dev)
        history = history_by_seq(env, dev)
        assert not any(replay[s] for s in resent), replay
        assert not any(history.values()), history
        assert agent.stop() == 0
        watcher.stop()


def test_agent_backlog_is_history_when_held_longer_than_the_lateness():
    dev, st = "gw-hist-04", "st-hist-04"
    with env_for("history-backlog") as env:
        env.register(dev, "flood_gateway", [st])
        env.collector()
        env.mosq.kill9()
        agent = Agent(env, dev, sources=[simulator(flood=st, rate=20, count=20)],
                      summary_interval_ms="1s")
        agent.start()
        wait_for(lambda: re.search(r"summary: held=20\b", agent.run_log()), 30,
                 "20 readings held with the broker away")
        agent.kill9()
        # an outage of 10 minutes for seqs 1..10 and of one minute for 11..20
        age_store(agent.store, 10, range(1, 11))
        age_store(agent.store, 1, range(11, 21))
        env.mosq.start()
        agent.sources = []
        agent.write_conf()
        agent.start()
        wait_for(lambda: ledger_count(env, dev) == 20, 60, "all 20 readings stored")
        replay = replay_by_seq(env, dev)
        history = history_by_seq(env, dev)
        want = {s: s <= 10 for s in range(1, 21)}
        assert replay == want, replay
        assert history == want, history
        assert agent.stop() == 0


def test_agent_readings_of_an_old_ts_are_history_by_the_collector():
    dev, st = "gw-hist-05", "st-hist-05"
    start = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1))
    with env_for("history-oldts") as env:
        env.register(dev, "flood_gateway", [st])
        env.collector()
        agent = Agent(env, dev, sources=[simulator(flood=st, rate=5, count=5,
                                                   start=start.strftime(
                                                       "%Y-%m-%dT%H:%M:%S.000Z"))])
        agent.start()
        wait_for(lambda: ledger_count(env, dev) == 5, 30, "5 readings stored")
        # sent at once: the agent says news; taken an hour ago by ts: history
        assert set(replay_by_seq(env, dev).values()) == {False}
        assert set(history_by_seq(env, dev).values()) == {True}
        assert agent.stop() == 0


if __name__ == "__main__":
    run_tests(globals())
