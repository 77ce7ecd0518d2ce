#!/usr/bin/python3
"""test_alertd_unit_webhook.py -- a unit's own webhook (issue 11: "an HTTP POST per delivery to a
configured URL (how a city connects its messaging gateway or ticketing)"; a unit may have its
own). pantau-alertd's config gives a unit a `[unit <id>]` section with its webhook_url and
webhook_secret_file (alertd/README.md says why there and not in a table):

- each unit's webhook deliveries reach its own receiver, once, signed with its own key (or not
  signed, without one); a unit without a section goes to the global webhook_url;
- one unit's receiver down holds back no other unit's deliveries; it gets every one of its own
  afterwards, once;
- without a global webhook_url, a unit with no section of its own gets nothing and its rows say
  why (last_error);
- config errors name file:line:key ([unit] with a bad URL, a unit twice, an unknown section).
"""
import hashlib
import hmac
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import pantau_harness as H  # noqa: E402
from alertd_support import AlertWorld, Receiver, signature_ok, wait_for  # noqa: E402

BPBD_SECRET = "bpbd-own-key"


def signed_by(secret, body, header):
    return header == "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def unit_world(name):
    w = AlertWorld(name)
    own = {"bpbd": Receiver(), "sda": Receiver()}
    key = os.path.join(w.root, "bpbd.key")
    with open(key, "w") as f:
        f.write(BPBD_SECRET + "\n")
    sections = ("[unit bpbd]\nwebhook_url http://127.0.0.1:%d/bpbd\nwebhook_secret_file %s\n"
                "[unit sda]\nwebhook_url http://127.0.0.1:%d/sda\n"
                % (own["bpbd"].port, key, own["sda"].port))
    for unit in ("bpbd", "sda", "dishub"):
        w.route(unit, "webhook")
    return w, own, sections


def test_each_unit_hears_on_its_own_webhook_once():
    w, own, sections = unit_world("unithook")
    w.alertd(sections=sections)
    w.flood(["uh-1", "uh-2", "uh-3"])
    wait_for(lambda: len(w.deliveries()) == 9 and w.pending() == 0, 30, "9 deliveries")
    time.sleep(0.5)   # a repeat would come within the poll interval
    want = {u: {d[0] for d in w.deliveries("webhook") if d[4] == u}
            for u in ("bpbd", "sda", "dishub")}
    assert all(len(k) == 3 for k in want.values()), want
    assert sorted(own["bpbd"].keys()) == sorted(want["bpbd"]), own["bpbd"].keys()
    assert sorted(own["sda"].keys()) == sorted(want["sda"]), own["sda"].keys()
    # a unit without a section of its own: the global webhook_url
    assert sorted(w.receiver.keys()) == sorted(want["dishub"]), w.receiver.keys()
    assert all(signed_by(BPBD_SECRET, body, sig) for _, body, sig in own["bpbd"].requests)
    assert all(sig is None for _, _, sig in own["sda"].requests), own["sda"].requests
    assert all(signature_ok(body, sig) for _, body, sig in w.receiver.requests)
    assert {b["unit"] for b in own["bpbd"].bodies()} == {"bpbd"}


def test_one_units_receiver_down_holds_back_no_other():
    w, own, sections = unit_world("unitdown")
    own["bpbd"].stop()                 # connection refused
    w.alertd(sections=sections, retry_min="300ms", retry_max="600ms")
    w.flood(["ud-%d" % i for i in range(4)])
    # the others get theirs while bpbd's receiver is down
    wait_for(lambda: len(own["sda"].keys()) == 4 and len(w.receiver.keys()) == 4, 30,
             "sda's and dishub's deliveries")
    bpbd = [d for d in w.deliveries("webhook") if d[4] == "bpbd"]
    assert len(bpbd) == 4 and all(d[1] == "pending" for d in bpbd), bpbd
    wait_for(lambda: any((d[2] or 0) >= 2 for d in w.deliveries("webhook") if d[4] == "bpbd"),
             20, "bpbd's failed attempts")
    # a new alert meanwhile reaches sda at once, whatever bpbd's backlog
    w.flood(["ud-late"])
    wait_for(lambda: len(own["sda"].keys()) == 5, 10, "sda's delivery of the late alert")
    own["bpbd"].start()
    wait_for(lambda: w.pending() == 0, 30, "bpbd's deliveries after its receiver is back")
    want = sorted(d[0] for d in w.deliveries("webhook") if d[4] == "bpbd")
    assert sorted(own["bpbd"].keys()) == want and len(want) == 5, own["bpbd"].keys()
    assert len(own["sda"].keys()) == 5 and len(w.receiver.keys()) == 5


def test_a_unit_with_no_webhook_of_its_own_and_no_global_one_says_why():
    w = AlertWorld("unitnone", webhook=False)
    r = Receiver()
    w.route("bpbd", "webhook")
    w.route("poc", "webhook")
    w.alertd(sections="[unit bpbd]\nwebhook_url http://127.0.0.1:%d/\n" % r.port)
    w.flood(["un-1"])
    wait_for(lambda: len(r.keys()) == 1, 20, "bpbd's delivery")
    wait_for(lambda: [d for d in w.deliveries() if d[4] == "poc" and d[3]], 20, "poc's error")
    (poc,) = [d for d in w.deliveries() if d[4] == "poc"]
    assert poc[1] == "pending" and "no webhook_url for unit 'poc'" in poc[3], poc


def check(text):
    root = H.workdir("alertd-unitconf")
    path = os.path.join(root, "a.conf")
    with open(path, "w") as f:
        f.write("db_conninfo dbname=x\nmqtt false\n" + text)
    r = subprocess.run([H.binary("alertd", "pantau-alertd"), "-c", path, "--check"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    return r.returncode, r.stderr.decode(), path


def test_unit_sections_are_checked():
    rc, err, path = check("[unit bpbd]\nwebhook_url https://x.example/a\n")
    assert rc == 0, err
    rc, err, path = check("[unit bpbd]\n[unit sda]\nwebhook_url http://a/\n")
    assert rc == 2 and "webhook_url" in err and "[unit bpbd]" in err, err
    rc, err, path = check("[unit bpbd]\n\nwebhook_url ftp://x.example/\n")
    assert rc == 2 and "%s:5: webhook_url:" % path in err and "[unit bpbd]" in err, err
    rc, err, path = check("[unit bpbd]\nwebhook_url http://a/\n[unit bpbd]\n"
                          "webhook_url http://b/\n")
    assert rc == 2 and "%s:5:" % path in err and "twice" in err, err
    rc, err, path = check("[unit Not A Unit]\nwebhook_url http://a/\n")
    assert rc == 2 and "%s:3:" % path in err, err
    rc, err, path = check("[source x]\nwebhook_url http://a/\n")
    assert rc == 2 and "only [unit <id>]" in err, err


if __name__ == "__main__":
    H.run_tests(globals())
