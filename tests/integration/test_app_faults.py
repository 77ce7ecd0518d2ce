#!/usr/bin/python3
"""test_app_faults.py -- the officers' app (app/, issue 13) when the servers fail, in a real
headless chromium against the real pipeline (app_support.AppWorld):

- the broker killed (kill -9) while reports are sent and taken (PUBACK) but not yet stored: the
  collector is frozen (SIGSTOP), so the broker holds them when it dies and they are lost with
  it. The app did not forget them on the PUBACK: once the broker and the collector are back, it
  sends them again, and every report is in pantau_pii.larva_inspection exactly once, shown
  "tersimpan di POC";
- a phone revoked (`pantau-admin device-disable`) is disconnected and refused; the page says so
  and its reports stay on the phone, "tersimpan di ponsel"; enabled again, they are stored once.
"""

import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from app_support import STATE_SAVED, STATE_STORED, AppWorld, Browser, H  # noqa: E402

OFFICER = "jmt-0412"
_state = {}


def world():
    if not _state:
        _state["w"] = AppWorld("faults", registry_refresh_ms="1s")
    return _state["w"]


def phone(w, device_id, profile):
    code = w.enrol_phone(device_id)
    b = Browser(w.profile(profile)).start()
    b.open(w.site.url)
    b.enrol(code)
    b.sign_in(OFFICER)
    H.wait_until(lambda: "Terhubung" in b.text("#net"), 30, "the app to connect")
    return b


def file_reports(b, first, n):
    for i in range(first, first + n):
        b.fill(kelurahan="32.75.07.1007", rw=2, rt=1 + i,
               containers=[("drum", "outdoor", 2, i % 2), ("jar", "indoor", 1, 0)],
               actions=["cover"])
        assert "disimpan di ponsel" in b.save()


def wait_shown(b, n, state, timeout):
    H.wait_until(lambda: len(b.outbox()) == n and all(s == state for _, s in b.outbox()),
                 timeout, "%d reports shown '%s' (shown: %s)" % (n, state, b.outbox()))


def test_reports_taken_by_a_broker_that_is_killed_are_sent_again_and_stored_once():
    w = world()
    b = phone(w, "hh-fault-01", "f1")
    file_reports(b, 0, 5)
    wait_shown(b, 5, STATE_STORED, 30)
    # the collector frozen: the broker takes the next reports (PUBACK) and holds them
    w.collector.proc.send_signal(signal.SIGSTOP)
    try:
        file_reports(b, 5, 5)
        H.wait_until(lambda: sum(1 for _, s in b.outbox() if s.startswith("terkirim")) == 5,
                     15, "5 reports sent and taken by the broker (shown: %s)" % b.outbox())
        assert w.stored_count("hh-fault-01") == 5
        w.env.mosq.kill9()
    finally:
        w.collector.proc.send_signal(signal.SIGCONT)
    time.sleep(1)
    assert sum(1 for _, s in b.outbox() if s.startswith("terkirim")) == 5, b.outbox()
    w.env.start_broker()
    file_reports(b, 10, 2)
    wait_shown(b, 12, STATE_STORED, 75)
    got = w.inspections("hh-fault-01")
    assert sorted(got) == list(range(1, 13)), sorted(got)
    assert got[8][4] == 8 and got[8][-1] == [("drum", "outdoor", 2, 1), ("jar", "indoor", 1, 0)]
    assert w.dead_letters("hh-fault-01") == 0
    b.quit()


def test_a_revoked_phone_is_refused_and_keeps_its_reports_until_enabled_again():
    w = world()
    b = phone(w, "hh-fault-02", "f2")
    w.env.admin("device-disable", "hh-fault-02")
    H.wait_until(lambda: "ditolak server" in b.text("#net"), 30,
                 "the page to say the phone is refused (net: %s)" % b.text("#net"))
    assert "Laporan tetap di ponsel" in b.text("#net")
    file_reports(b, 0, 3)
    time.sleep(3)
    wait_shown(b, 3, STATE_SAVED, 5)
    assert "ditolak server" in b.text("#net")
    assert w.stored_count("hh-fault-02") == 0
    # enabled again while the phone is offline. The broker learns it at once (NOTIFY), the
    # collector at its next registry reload (registry_refresh_ms: 1 s in this world, 10 s as
    # shipped), and a reading that reaches the collector before that is dead-lettered as
    # "disabled" and acknowledged dead (protocol 6.1) -- shown "ditolak POC" on the phone. So
    # the phone comes back once both know.
    b.offline(True)
    w.env.admin("device-enable", "hh-fault-02")
    w.env.wait_connack("hh-fault-02", "hh-fault-02", w.env.secrets["hh-fault-02"], 0)
    time.sleep(2)   # two of the collector's reloads (nothing to poll: it logs none)
    b.offline(False)
    wait_shown(b, 3, STATE_STORED, 60)
    assert "Terhubung" in b.text("#net")
    assert sorted(w.inspections("hh-fault-02")) == [1, 2, 3]
    b.quit()


if __name__ == "__main__":
    H.run_tests(globals())
