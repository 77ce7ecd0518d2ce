#!/usr/bin/python3
"""test_app_offline.py -- the officers' web app (app/, issue 13) in a real headless chromium
against the real pipeline: mosquitto with pantau_broker.so and deploy's WebSocket listener,
pantau-collector, PostgreSQL (app_support.AppWorld). What a person sees is asserted: the
states in the outbox list ("tersimpan di POC"), the messages beside the fields.

- a phone enrolled with `pantau-admin enrol-phone`, an officer signed in: a report is stored
  at the POC once, with its containers, actions and the officer's id, and shown "tersimpan di
  POC"; then its address and GPS are gone from the phone;
- 20 reports filed with the network off (DevTools emulation; nothing reaches the database),
  the browser closed, the app's web server stopped (a real cut: the app must come from its
  service worker's cache), the browser started again on the same profile: the 20 are listed
  "tersimpan di ponsel"; network on: every one is in pantau_pii.larva_inspection exactly once
  with every container and action, and every one shows "tersimpan di POC";
- a double tap on "save" files one report;
- an invalid entry (more positive than inspected containers, RT 0) is refused on the phone
  with a message beside each field at fault, and nothing is saved or sent;
- `pantau-admin enrol-phone` makes a handheld device with a device key, records it as a phone
  carrying its --officer accounts and prints its code once (with each officer's password
  hash); it refuses an enrolled id, a URL that is not ws:// or wss://, another kind, stations,
  no --officer, and an officer that is not an enabled officer account.
"""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from app_support import (STATE_SAVED, STATE_STORED, AppWorld, Browser, H,  # noqa: E402
                         check_no_secrets, officer_verifier)

OFFICER = "jmt-0412"
_state = {}


def world():
    if not _state:
        _state["w"] = AppWorld("offline")
    return _state["w"]


def phone(w, device_id, profile):
    """An enrolled phone with the officer signed in: (Browser, its code)."""
    code = w.enrol_phone(device_id)
    b = Browser(w.profile(profile)).start()
    b.open(w.site.url)
    b.enrol(code)
    b.sign_in(OFFICER)
    return b


def report(i):
    """The i-th report of a round: a varied house, its containers and actions."""
    containers = [("bath_tub", "indoor", 1 + i % 3, i % 2), ("bucket", "outdoor", 2, 0)]
    if i % 4 == 0:
        containers.append(("used_goods", "outdoor", 5, 1))
    actions = ["drain", "cover"] if i % 2 else ["larvicide"]
    return dict(kelurahan="32.75.01.1002", rw=3, rt=1 + i, address="Jl. Melati No. %d" % i,
                containers=containers, actions=actions)


def expected(r):
    found = any(c[3] > 0 for c in r["containers"])
    return (OFFICER, "house", r["kelurahan"], r["rw"], r["rt"], r["address"], None, None,
            found, r["actions"], sorted(r["containers"]))


def wait_states(b, n, state, timeout):
    H.wait_until(lambda: len(b.outbox()) == n and all(s == state for _, s in b.outbox()),
                 timeout, "%d reports shown '%s' (shown: %s)" % (n, state, b.outbox()))


def test_enrolled_phone_files_a_report_stored_once_with_the_officer_id():
    w = world()
    b = phone(w, "hh-app-01", "p1")
    H.wait_until(lambda: "Terhubung" in b.text("#net"), 30, "the app to connect")
    r = report(0)
    b.fill(**r)
    assert "disimpan di ponsel" in b.save()
    wait_states(b, 1, STATE_STORED, 30)
    got = w.inspections("hh-app-01")
    assert list(got.values()) == [expected(r)], got
    # stored: the address and GPS left the phone (UU PDP); the rest stays for her list
    held = list(b.held().values())
    assert len(held) == 1 and held[0]["state"] == "stored", held
    assert "address" not in held[0]["body"] and "lat" not in held[0]["body"], held[0]
    assert held[0]["body"]["kelurahan"] == "32.75.01.1002"
    b.quit()


def test_twenty_reports_filed_offline_survive_a_restart_and_are_stored_once():
    w = world()
    b = phone(w, "hh-app-02", "p2")
    H.wait_until(lambda: "Terhubung" in b.text("#net"), 30, "the app to connect")
    b.offline(True)
    H.wait_until(lambda: "Luring" in b.text("#net"), 10, "the app to see it is offline")
    reports = [report(i) for i in range(20)]
    for r in reports:
        b.fill(**r)
        if r is reports[-1]:
            b.screenshot("app-form", "#report")
        assert "disimpan di ponsel" in b.save()
    wait_states(b, 20, STATE_SAVED, 10)
    time.sleep(2)   # had anything leaked out, the collector would have stored it by now
    assert w.inspections("hh-app-02") == {}, "a report went out while offline"
    # close the browser; the app's web server goes too: the app comes back from the cache
    b.quit()
    w.site.stop()
    b = Browser(w.profile("p2")).start()
    b.offline(True)
    b.open(w.site.url)
    wait_states(b, 20, STATE_SAVED, 10)
    assert w.inspections("hh-app-02") == {}
    b.screenshot("app-outbox-offline", "#outbox")
    b.offline(False)
    wait_states(b, 20, STATE_STORED, 60)
    b.screenshot("app-outbox-stored", "#outbox")
    got = w.inspections("hh-app-02")
    assert sorted(got) == list(range(1, 21)), sorted(got)
    for seq, r in zip(range(1, 21), reports):
        assert got[seq] == expected(r), (seq, got[seq], expected(r))
    assert w.dead_letters("hh-app-02") == 0
    b.quit()
    w.site.start()


def test_a_double_tap_on_save_files_one_report():
    w = world()
    b = phone(w, "hh-app-03", "p3")
    b.fill(**report(1))
    # two taps as fast as a thumb can: both reach the page before the first save finishes
    b.js("var s = document.querySelector('#f-save'); s.click(); s.click();")
    H.wait_until(lambda: len(b.outbox()) >= 1, 10, "the report in the outbox")
    b.fill(**report(2))
    H.wait_until(lambda: b.q("#f-save").is_enabled(), 5, "the save button")
    from selenium.webdriver.common.action_chains import ActionChains
    ActionChains(b.driver).double_click(b.q("#f-save")).perform()
    H.wait_until(lambda: len(b.outbox()) >= 2, 10, "the second report in the outbox")
    wait_states(b, 2, STATE_STORED, 30)
    got = w.inspections("hh-app-03")
    assert sorted(got) == [1, 2], got
    assert len(b.held()) == 2
    b.quit()


def test_an_invalid_entry_is_refused_on_the_phone_and_never_sent():
    w = world()
    b = phone(w, "hh-app-04", "p4")
    b.fill(kelurahan="32.75.01.1002", rw=3, rt=0, containers=[("jar", "indoor", 1, 2)])
    msg = b.save()
    assert "belum bisa disimpan" in msg, msg
    assert "RT harus 1 sampai 999" in b.text("#err-rt")
    assert b.q("#f-rt").get_attribute("aria-invalid") == "true"
    row_err = b.text(".container-row .err")
    assert "tidak boleh lebih banyak" in row_err, row_err
    assert b.outbox() == [] and b.held() == {}
    # corrected, it goes
    box = b.q("#f-rt")
    box.clear()
    box.send_keys("7")
    box = b.q(".container-row .c-positive")
    box.clear()
    box.send_keys("1")
    assert "disimpan di ponsel" in b.save()
    wait_states(b, 1, STATE_STORED, 30)
    got = w.inspections("hh-app-04")
    assert [v[4] for v in got.values()] == [7], got
    assert w.dead_letters("hh-app-04") == 0
    b.quit()


def test_a_second_tab_leaves_the_sending_to_the_first_and_shows_the_same_states():
    w = world()
    b = phone(w, "hh-app-07", "p7")
    H.wait_until(lambda: "Terhubung" in b.text("#net"), 30, "the app to connect")
    first = b.driver.current_window_handle
    b.driver.switch_to.new_window("tab")
    b.open(w.site.url)
    H.wait_until(lambda: "tab lain" in b.text("#net"), 10, "the second tab to say so")
    b.fill(**report(3))
    assert "disimpan di ponsel" in b.save()
    wait_states(b, 1, STATE_STORED, 30)      # sent by the first tab, drawn in this one
    b.driver.close()
    b.driver.switch_to.window(first)
    wait_states(b, 1, STATE_STORED, 10)
    assert sorted(w.inspections("hh-app-07")) == [1]
    # one connection all along: the broker saw no client id taken over
    assert "Client hh-app-07 already connected" not in w.env.broker_log()
    b.quit()


def test_enrol_phone_makes_a_handheld_and_refuses_what_it_cannot_do():
    w = world()
    env = w.env
    code = w.enrol_phone("hh-app-05")
    assert env.sql("SELECT kind FROM pantau.device WHERE device_id = 'hh-app-05'") == [
        ("handheld",)]
    assert env.sql("SELECT role, secret_kind FROM pantau_ops.account"
                   " WHERE username = 'hh-app-05'") == [("device", "device_key")]
    key = code.split(";")[2]
    (officer_hash,) = env.sql("SELECT secret_hash FROM pantau_ops.account"
                              " WHERE username = %s", OFFICER)[0]
    assert len(key) == 64 and code == "pantau2;hh-app-05;%s;%s;%s:%s" % (
        key, w.ws_url, OFFICER, officer_verifier(officer_hash))
    assert officer_hash.split("$")[3] not in code   # the stored digest stays in the database
    assert env.sql("SELECT officer FROM pantau.phone_officer WHERE device_id = 'hh-app-05'") == [
        (OFFICER,)]
    again = env.admin("enrol-phone", "hh-app-05", "--key-file", env.key_file, "--url",
                      w.ws_url, "--officer", OFFICER, check=False)
    assert again.returncode == 1 and "has an account already" in again.stderr, again.stderr
    env.add_user("op-05", "dashboard", iterations=100000)
    off = ["--officer", OFFICER]
    for args, says in ((["--url", "http://x/"] + off, "not a ws:// or wss:// URL"),
                       (off, "needs --url"),
                       (["--url", "ws://a;b/"] + off, "';'"),
                       (["--url", w.ws_url, "--kind", "flood_gateway"] + off, "is a handheld"),
                       (["--url", w.ws_url, "--station", "st-1"] + off, "no station"),
                       (["--url", w.ws_url], "needs --officer"),
                       (["--url", w.ws_url, "--officer", "Jmt 1"], "not an account name"),
                       (["--url", w.ws_url] + off + off, "given twice")):
        r = env.admin("enrol-phone", "hh-app-06", "--key-file", env.key_file, *args,
                      check=False)
        assert r.returncode == 2 and says in r.stderr, (args, r.returncode, r.stderr)
    # an officer who is no officer account (none, another role): nothing is added
    for who in ("jmt-none", "op-05"):
        r = env.admin("enrol-phone", "hh-app-06", "--key-file", env.key_file, "--url",
                      w.ws_url, "--officer", who, check=False)
        assert r.returncode == 1 and "is not an enabled officer account" in r.stderr, r.stderr
        assert r.stdout == ""
    assert env.sql("SELECT 1 FROM pantau.device WHERE device_id = 'hh-app-06'") == []
    assert env.sql("SELECT 1 FROM pantau.phone WHERE device_id = 'hh-app-06'") == []
    # the key was printed once, inside the code, and is in no log; no stored hash either (the
    # officer's verifier aside)
    check_no_secrets(env)


if __name__ == "__main__":
    H.run_tests(globals())
