"""alerts_support.py -- what the alert-rule tests share (test_alerts_flood.py,
test_alerts_rules.py; not a test itself): one database with the schema applied by
schema/migrate.sh, plain SQL on it, draining pantau_alert.evaluate(), a LISTEN pantau_alert
connection and the alert ids it heard, and the fixed past the tests' readings are dated in
(news is judged by received_at - best time, not by now).

    db = AlertsDb("alerts")          # a fresh database in the shared cluster
    db.sql("SELECT ...", arg, role="pantau_ingest")
    db.evaluate()                    # until the queues are empty; returns the items evaluated
"""
import datetime
import os
import select
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import pantau_harness as h  # noqa: E402
import psycopg2  # noqa: E402

UTC = datetime.timezone.utc
# a fixed past Monday (07:00 WIB)
BASE = datetime.datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
MIN = datetime.timedelta(minutes=1)


def at(minutes):
    """BASE + minutes."""
    return BASE + minutes * MIN


class AlertsDb:
    def __init__(self, prefix):
        self.pg, self.dsn = h.fresh_database(prefix)

    def sql(self, query, *args, role=None):
        """One statement in its own transaction (as role, if given); its rows or None."""
        conn = psycopg2.connect(self.dsn)
        try:
            with conn, conn.cursor() as cur:
                if role:
                    cur.execute("SET ROLE " + role)
                cur.execute(query, args or None)
                return cur.fetchall() if cur.description else None
        finally:
            conn.close()

    def evaluate(self, max_items=1000):
        """pantau_alert.evaluate(max_items) until it returns 0; the items evaluated."""
        total = 0
        while True:
            n = self.sql("SELECT pantau_alert.evaluate(%s)", max_items)[0][0]
            if n == 0:
                return total
            total += n

    def listener(self):
        """A connection that LISTENs on pantau_alert (caller closes it)."""
        conn = psycopg2.connect(self.dsn)
        conn.autocommit = True
        conn.cursor().execute("LISTEN pantau_alert")
        return conn


def notified(conn, wait=1.0):
    """The alert ids conn (a listener) heard, waiting up to `wait` s for the first."""
    ids = []
    select.select([conn], [], [], wait)
    conn.poll()
    while conn.notifies:
        ids.append(int(conn.notifies.pop(0).payload))
    return ids
