#!/usr/bin/python3
"""test_app_db_down.py -- the officers' app (app/, issue 13) while the collector's database is
down, in a real headless chromium against the real pipeline on its own PostgreSQL cluster
(app_support.AppWorld(own_cluster=True)): reports filed meanwhile are sent, taken by the broker
and shown "terkirim, menunggu POC" -- never "tersimpan di POC", since nothing committed them --
and once PostgreSQL is back every one is in pantau_pii.larva_inspection exactly once and shown
"tersimpan di POC".
"""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from app_support import STATE_STORED, AppWorld, Browser, H  # noqa: E402

OFFICER = "jmt-0412"


def test_reports_filed_while_the_database_is_down_are_stored_once_when_it_is_back():
    w = AppWorld("db-down", own_cluster=True)
    code = w.enrol_phone("hh-dbdown-01")
    b = Browser(w.profile("d1")).start()
    b.open(w.site.url)
    b.enrol(code)
    b.sign_in(OFFICER)
    H.wait_until(lambda: "Terhubung" in b.text("#net"), 30, "the app to connect")
    w.env.cluster.stop("fast")
    for i in range(6):
        b.fill(kelurahan="32.75.12.1004", rw=9, rt=1 + i,
               containers=[("tank", "indoor", 1, 0), ("flower_vase", "indoor", 2, i % 2)],
               actions=["drain"])
        assert "disimpan di ponsel" in b.save()
    H.wait_until(lambda: len(b.outbox()) == 6 and
                 all(s.startswith("terkirim") for _, s in b.outbox()), 20,
                 "6 reports sent (shown: %s)" % b.outbox())
    time.sleep(5)   # a while down: nothing may be shown stored
    assert all(s.startswith("terkirim") for _, s in b.outbox()), b.outbox()
    w.env.cluster.start()
    H.wait_until(lambda: len(b.outbox()) == 6 and all(s == STATE_STORED for _, s in b.outbox()),
                 75, "6 reports stored (shown: %s)" % b.outbox())
    got = w.inspections("hh-dbdown-01")
    assert sorted(got) == [1, 2, 3, 4, 5, 6], sorted(got)
    assert got[2][-1] == [("flower_vase", "indoor", 2, 1), ("tank", "indoor", 1, 0)], got[2]
    assert w.dead_letters("hh-dbdown-01") == 0
    b.quit()


if __name__ == "__main__":
    H.run_tests(globals())
