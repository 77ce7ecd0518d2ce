#!/usr/bin/python3
"""test_app_officer.py -- who filed the report is proven (app/README.md "Signing in", protocol.md
4.5 and 13, schema/029), in a real headless chromium and at the collector.

- a phone enrolled with `pantau-admin enrol-phone --officer jmt-0412 --officer jmt-0413`: an
  officer the phone does not carry and a wrong password are refused at sign-in with a message,
  and no form is shown; jmt-0412 with her password signs in and her report is stored with her
  id; jmt-0413 signs in with the network off (the phone holds her verifier) and her report,
  sent when the network is back, is stored with her id;
- the same officer's account disabled at the POC (`pantau-admin user-disable`): once the
  collector has read the registry again (registry_refresh_ms, 1 s here), her next report is
  refused (a dead letter whose detail names the inspector and the phone) and shown "ditolak
  POC" on the phone, never stored;
- at the collector, with the phone's own key (protocol 4.5, no browser): the phone's officer is
  stored, another id and an officer of another phone are dead letters (reason registry,
  category identity, the rule in the detail), each acknowledged dead; an officer put on the
  phone a moment ago is stored at once (the miss reloads the registry); a handheld that is no
  phone (pantau-agent report) is not checked;
- a phone disabled and enabled again is stored at once, though the collector read the registry
  while it was disabled (it used to dead-letter it as "disabled" until the next periodic
  reload, 10 s as shipped; the registry_refresh_ms here is 10 minutes, so only the fix helps).
"""

import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import broker_support as B  # noqa: E402
from app_support import STATE_STORED, AppWorld, Browser, H  # noqa: E402
from broker_policy_support import larva  # noqa: E402

_state = {}
STORE = "9d8c7b6a-5f4e-4d3c-8b2a-19f8e7d6c5b4"


def world():
    """The browser's world: the collector reloads its registry every second (10 s as
    shipped), so an officer disabled at the POC is refused a second later."""
    if "w" not in _state:
        _state["w"] = AppWorld("officer", registry_refresh_ms="1s")
    return _state["w"]


def lag_world():
    """No periodic registry reload during a test: what the collector finds, it finds by the
    reload that a miss causes."""
    if "lag" not in _state:
        _state["lag"] = AppWorld("officer-lag", registry_refresh_ms="600s")
    return _state["lag"]


def house(rt):
    return dict(kelurahan="32.75.01.1002", rw=3, rt=rt, address="Jl. Kenanga No. %d" % rt,
                containers=[("bath_tub", "indoor", 1, 0)], actions=["drain"])


def inspectors(w, device_id):
    return {seq: v[0] for seq, v in w.inspections(device_id).items()}


def test_only_the_phones_officers_sign_in_and_their_reports_are_stored():
    w = world()
    code = w.enrol_phone("hh-off-01", officers=("jmt-0412", "jmt-0413"))
    w.officer("jmt-0500")          # an officer of no phone here
    b = Browser(w.profile("p1")).start()
    b.open(w.site.url)
    b.enrol(code)
    says = b.sign_in("jmt-0500", expect_form=False)
    assert "bukan petugas ponsel ini" in says, says
    says = b.sign_in("jmt-0412", password="bukan-sandinya", expect_form=False)
    assert says == "Kata sandi salah.", says
    assert not b.visible("#larva-form")
    b.sign_in("jmt-0412")
    H.wait_until(lambda: "Terhubung" in b.text("#net"), 30, "the app to connect")
    b.fill(**house(1))
    assert "disimpan di ponsel" in b.save()
    H.wait_until(lambda: b.outbox() == [(1, STATE_STORED)], 30,
                 "report 1 stored (shown: %s)" % b.outbox())
    assert inspectors(w, "hh-off-01") == {1: "jmt-0412"}

    # another officer signs in on the same phone with the network off: her verifier is there
    b.tap(b.q("#signout"))
    b.offline(True)
    b.sign_in("jmt-0413")
    assert "Petugas: jmt-0413" in b.text("body")
    b.fill(**house(2))
    assert "disimpan di ponsel" in b.save()
    time.sleep(2)
    assert inspectors(w, "hh-off-01") == {1: "jmt-0412"}
    b.offline(False)
    H.wait_until(lambda: dict(b.outbox()).get(2) == STATE_STORED, 60,
                 "report 2 stored (shown: %s)" % b.outbox())
    assert inspectors(w, "hh-off-01") == {1: "jmt-0412", 2: "jmt-0413"}

    # her account disabled at the POC: the phone still signs her in (it cannot know), the
    # collector refuses what she files once it has read the registry again, and says why
    w.env.admin("user-disable", "jmt-0413")
    time.sleep(1.5)                            # registry_refresh_ms here: 1 s
    b.fill(**house(3))
    said = b.save()
    assert "disimpan di ponsel" in said, said
    try:
        H.wait_until(lambda: dict(b.outbox()).get(3, "").startswith("ditolak POC"), 60,
                     "report 3 refused")
    except H.WaitTimeout:
        raise AssertionError("report 3 not refused: save said %r; shown: %s; stored: %s;"
                             " dead: %s" % (said, b.outbox(), inspectors(w, "hh-off-01"),
                                            B.dead_letters(w.env, "hh-off-01", "seq, detail")))
    assert inspectors(w, "hh-off-01") == {1: "jmt-0412", 2: "jmt-0413"}
    dead = B.dead_letters(w.env, "hh-off-01", "seq, reason, category, detail")
    assert len(dead) == 1 and dead[0][:3] == (3, "registry", "identity"), dead
    assert "inspector 'jmt-0413' is not an officer of phone 'hh-off-01'" in dead[0][3], dead
    b.quit()


def publish_larva(c, acks, seq, inspector):
    payload = json.loads(larva(seq, STORE))
    payload["inspector"] = inspector
    assert c.publish("pantau/v1/%s/larva" % c.client_id,
                     json.dumps(payload, separators=(",", ":"))) < 0x80
    acks.wait([seq], "the acknowledgement of %d" % seq)


def test_the_collector_stores_a_phones_officers_only():
    w = lag_world()
    env = w.env
    code = w.enrol_phone("hh-off-02", officers=("jmt-0412",))
    w.enrol_phone("hh-off-03", officers=("jmt-0600",))
    key = code.split(";")[2]
    c = env.client("hh-off-02", key)
    acks = B.Acks(c, "hh-off-02", STORE)
    publish_larva(c, acks, 1, "jmt-0412")
    publish_larva(c, acks, 2, "jmt-9999")      # no such account
    publish_larva(c, acks, 3, "jmt-0600")      # an officer of another phone
    assert acks.dead == {2, 3}, acks.dead
    assert inspectors(w, "hh-off-02") == {1: "jmt-0412"}
    dead = B.dead_letters(env, "hh-off-02", "seq, reason, category, detail")
    assert [d[:3] for d in dead] == [(2, "registry", "identity"), (3, "registry", "identity")]
    assert "inspector 'jmt-9999' is not an officer of phone 'hh-off-02'" in dead[0][3], dead
    assert "inspector 'jmt-0600' is not an officer of phone 'hh-off-02'" in dead[1][3], dead

    # put on the phone a moment ago (what the view allows): found by the miss's reload
    env.sql("INSERT INTO pantau.phone_officer (device_id, officer) VALUES ('hh-off-02',"
            " 'jmt-0600')")
    time.sleep(1.5)                            # registry_miss_ms: 1 s
    publish_larva(c, acks, 4, "jmt-0600")
    assert 4 not in acks.dead and inspectors(w, "hh-off-02")[4] == "jmt-0600"

    # a handheld that is not a phone (a gateway's pantau-agent report): not checked
    secret = env.add_device("hh-agent-01", kind="handheld")
    env.wait_connack("hh-agent-01", "hh-agent-01", secret, 0)
    g = env.client("hh-agent-01", secret)
    gacks = B.Acks(g, "hh-agent-01", STORE)
    publish_larva(g, gacks, 1, "jmt-9999")
    assert gacks.dead == set() and inspectors(w, "hh-agent-01") == {1: "jmt-9999"}


def test_a_phone_enabled_again_is_stored_at_once():
    w = lag_world()
    env = w.env
    code = w.enrol_phone("hh-off-04", officers=("jmt-0412",))
    key = code.split(";")[2]
    env.admin("device-disable", "hh-off-04")
    env.wait_connack("hh-off-04", "hh-off-04", key, 0x87)
    # the collector reads the registry while the phone is disabled (a new device's first
    # message is a miss, which reloads it)
    secret = env.add_device("hh-agent-02", kind="handheld")
    env.wait_connack("hh-agent-02", "hh-agent-02", secret, 0)
    g = env.client("hh-agent-02", secret)
    gacks = B.Acks(g, "hh-agent-02", STORE)
    publish_larva(g, gacks, 1, "jmt-0412")
    env.admin("device-enable", "hh-off-04")
    env.wait_connack("hh-off-04", "hh-off-04", key, 0)
    time.sleep(1.5)                            # registry_miss_ms: 1 s since that reload
    c = env.client("hh-off-04", key)
    acks = B.Acks(c, "hh-off-04", STORE)
    publish_larva(c, acks, 1, "jmt-0412")
    assert acks.dead == set(), B.dead_letters(env, "hh-off-04", "seq, detail")
    assert inspectors(w, "hh-off-04") == {1: "jmt-0412"}


if __name__ == "__main__":
    H.run_tests(globals())
