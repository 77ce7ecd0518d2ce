#!/usr/bin/python3
"""bench_app.py -- figures of the officers' app (issue 13) against the real pipeline
(tests/integration/app_support.AppWorld: mosquitto with pantau's plugin and a WebSocket
listener, pantau-collector, PostgreSQL; headless chromium). Not a test: it prints figures.

    PANTAU_BUILD_DIR=build /usr/bin/python3 app/tools/bench_app.py [N_ONLINE] [N_QUEUED]

1. save -> "stored at the POC", online: N_ONLINE (default 40) reports filed through the form
   one after the other; per report, the time from the tap on "save" (the record's saved_ms)
   to the acknowledgement that marked it stored (acked_ms), both the page's clock: p50, p99,
   max.
2. a day offline: N_QUEUED (default 500) reports put in the outbox through the app's own
   outbox.save() while offline, their saved_ms moved a day back (so they are sent with
   `replay` true, after the health check, as a backlog), then the network on: the time until
   every one is stored, and the rate; every one must be in PostgreSQL once.
"""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))

from app_support import AppWorld, Browser, H  # noqa: E402

QUEUE_JS = """
var n = arguments[0], done = arguments[arguments.length - 1];
Promise.all([import('./js/db.js'), import('./js/outbox.js')]).then(async function (m) {
  var db = await m[0].open(), dayAgo = Date.now() - 24 * 3600 * 1000;
  var officer = (await m[0].getMeta(db, 'officer')).id;
  for (var i = 0; i < n; i++) {
    var ts = new Date(dayAgo + i * 60000).toISOString();
    await m[1].save(db, 'bench-' + i, function (store, seq) {
      return {store: store, seq: seq, ts: ts, clock_synced: true, inspector: officer,
              building: 'house', kelurahan: '32.75.03.1001', rw: 4, rt: 1 + i % 20,
              larvae_found: false, containers: [{type: 'bucket', location: 'outdoor',
              inspected: 2, positive: 0}], actions: ['drain']};
    });
  }
  var tx = db.transaction('outbox', 'readwrite'), st = tx.objectStore('outbox');
  var all = st.getAll();
  all.onsuccess = function () {
    all.result.forEach(function (r) { if (r.form_id.startsWith('bench-')) {
      r.saved_ms = dayAgo; st.put(r); } });
  };
  tx.oncomplete = function () { done(n); };
}).catch(function (e) { done('error: ' + e); });
"""


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))]


def main():
    n_online = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    n_queued = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    w = AppWorld("bench")
    code = w.enrol_phone("hh-bench-01", officers=("jmt-bench",))
    b = Browser(w.profile("bench")).start()
    b.open(w.site.url)
    b.enrol(code)
    b.sign_in("jmt-bench")
    H.wait_until(lambda: "Terhubung" in b.text("#net"), 30, "the app to connect")
    for i in range(n_online):
        b.fill(kelurahan="32.75.03.1001", rw=4, rt=1 + i % 20,
               containers=[("bath_tub", "indoor", 1, 0)], actions=["drain"])
        b.save()
    H.wait_until(lambda: sum(1 for r in b.held().values() if r["state"] == "stored")
                 == n_online, 120, "the online reports stored")
    lat = [(r["acked_ms"] - r["saved_ms"]) / 1000.0 for r in b.held().values()]
    print("online: %d reports, save -> stored at the POC: p50 %.3f s, p99 %.3f s, max %.3f s"
          % (len(lat), pct(lat, 50), pct(lat, 99), max(lat)))
    b.offline(True)
    H.wait_until(lambda: "Luring" in b.text("#net"), 10, "offline")
    b.driver.set_script_timeout(600)
    t0 = time.monotonic()
    got = b.driver.execute_async_script(QUEUE_JS, n_queued)
    assert got == n_queued, got
    print("queued: %d reports saved in %.1f s" % (n_queued, time.monotonic() - t0))
    t0 = time.monotonic()
    b.offline(False)
    total = n_online + n_queued
    H.wait_until(lambda: w.stored_count("hh-bench-01") == total, 1200,
                 "all %d stored" % total, interval=1)
    t_db = time.monotonic() - t0
    H.wait_until(lambda: sum(1 for r in b.held().values() if r["state"] == "stored") == total,
                 120, "all shown stored", interval=1)
    t_phone = time.monotonic() - t0
    print("a day offline: %d queued reports all in PostgreSQL %.1f s after the network came "
          "back (%.2f reports/s), all marked stored on the phone after %.1f s"
          % (n_queued, t_db, n_queued / t_db, t_phone))
    assert len(w.inspections("hh-bench-01")) == total
    b.quit()


if __name__ == "__main__":
    try:
        main()
    finally:
        H._run_cleanups()
