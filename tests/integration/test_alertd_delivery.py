#!/usr/bin/python3
"""test_alertd_delivery.py -- pantau-alertd (issue 11, step 2) against a real PostgreSQL 15 with
the schema applied, a real mosquitto and a webhook receiver in this process
(tests/integration/alertd_support.py):

- a flood reading pushed through evaluate (by alertd itself, woken by NOTIFY) reaches an MQTT
  subscriber and the webhook exactly once, signed, with a body that validates against
  schema/json/alert.json; the subject's state is retained; acknowledging it tells both again;
- the webhook receiver fails (500), times out and so receives the same delivery twice: every
  delivery arrives, with the same idempotency key on every attempt;
- alertd killed (kill -9) in the middle of deliveries and restarted: nothing lost, repeats only
  with the same idempotency key (distinct keys == expected);
- two alertd at once deliver each alert exactly once (they share the outbox);
- a receiver down for a while gets every delivery afterwards;
- an unacknowledged alert escalates to the next unit after its set time; an acknowledged one
  does not;
- the time-driven rules run on alertd's own timer: a gateway offline for longer than its set
  time reaches its unit once, and resolves when the gateway is back;
- SIGTERM finishes the delivery in hand (marks it) and exits 0;
- the role pantau_alertd may evaluate (queues and time), escalate, claim and mark deliveries,
  and nothing else.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import jsonschema  # noqa: E402
import psycopg2  # noqa: E402
import psycopg2.errors  # noqa: E402

import pantau_harness as H  # noqa: E402
from alertd_support import ALERT_SCHEMA, AlertWorld, Subscriber, signature_ok, wait_for  # noqa

SCHEMA_DIR = os.path.dirname(ALERT_SCHEMA)


def validator():
    store = {}
    for name in os.listdir(SCHEMA_DIR):
        with open(os.path.join(SCHEMA_DIR, name)) as f:
            doc = json.load(f)
        store[doc["$id"]] = doc
    schema = store["https://pantau.example/schema/v1/alert.json"]
    resolver = jsonschema.RefResolver(schema["$id"], schema, store=store)
    return jsonschema.Draft202012Validator(schema, resolver=resolver)


def test_a_flood_alert_reaches_mqtt_and_the_webhook_exactly_once():
    w = AlertWorld("once")
    w.route("bpbd", "mqtt")
    w.route("bpbd", "webhook")
    alertd = w.alertd()
    w.flood(["once-1"])
    wait_for(lambda: len(w.receiver.keys()) >= 1 and len(w.subscriber.keys()) >= 1, 20,
             "the alert at the webhook and on MQTT")
    (alert_id,) = w.alert_ids()
    event_id = w.sql("SELECT event_id FROM pantau_alert.alert_event WHERE alert_id = %s"
                     " AND event = 'raised'", alert_id)[0][0]
    wait_for(lambda: w.pending() == 0, 10, "both deliveries marked")
    time.sleep(1.0)  # a second delivery would come within the poll interval (200 ms)
    assert w.receiver.keys() == ["%d.%d.bpbd.webhook" % (alert_id, event_id)], w.receiver.keys()
    assert w.subscriber.keys() == ["%d.%d.bpbd.mqtt" % (alert_id, event_id)], w.subscriber.keys()
    key, body, sig = w.receiver.requests[0]
    assert signature_ok(body, sig), sig
    v = validator()
    doc = json.loads(body)
    errors = [e.message for e in v.iter_errors(doc)]
    assert not errors, errors
    assert (doc["kind"], doc["level"], doc["previous_level"], doc["state"], doc["event"],
            doc["unit"], doc["subject"]) == ("flood_level", 3, 4, "open", "raised", "bpbd",
                                             "station:once-1"), doc
    topic, mdoc, _ = w.subscriber.messages[0]
    assert topic == "pantau/v1/_sys/alert/bpbd/flood_level/station-once-1", topic
    assert not [e.message for e in v.iter_errors(mdoc)]
    assert [d[1:3] for d in w.deliveries()] == [("delivered", 1), ("delivered", 1)]
    # the subject's state is retained: a console that connects later sees it
    late = Subscriber(w.mosq.port, "pantau/v1/_sys/alert/bpbd/#")
    wait_for(lambda: late.messages, 10, "the retained alert")
    assert bool(late.messages[0][2]) and late.messages[0][1]["alert_id"] == alert_id
    # acknowledging tells every unit and channel that was told
    w.sql("SELECT pantau_alert.acknowledge(%s, 'budi', 'on our way')", alert_id)
    wait_for(lambda: len(w.receiver.keys()) == 2 and len(w.subscriber.keys()) == 2, 20,
             "the acknowledgement on both channels")
    assert w.receiver.bodies()[1]["state"] == "acknowledged"
    assert w.receiver.bodies()[1]["by"] == "budi"
    assert alertd.stop() == 0
    assert "stopped" in alertd.output()


def test_the_webhook_fails_times_out_and_answers_twice_with_one_key():
    w = AlertWorld("retry")
    w.route("bpbd", "webhook")
    # 500, then an answer that comes after alertd's 1 s timeout (the receiver did the work),
    # then 200
    w.receiver.script = [500, ("slow", 2.0, 200), 200]
    w.alertd()
    w.flood(["retry-1"])
    wait_for(lambda: w.deliveries() and w.deliveries()[0][1] == "delivered", 30,
             "the delivery after two failures")
    keys = w.receiver.keys()
    assert len(keys) == 3 and len(set(keys)) == 1, keys
    (key, status, attempts, last_error, unit) = w.deliveries()[0]
    assert (key, status, attempts, last_error) == (keys[0], "delivered", 3, None)
    # the body is the same on every attempt
    assert len({r[1] for r in w.receiver.requests}) == 1


def test_alertd_killed_mid_delivery_loses_nothing_and_repeats_only_with_the_same_key():
    n = 12
    w = AlertWorld("kill", default=("slow", 0.25, 200))
    w.route("bpbd", "mqtt")
    w.route("bpbd", "webhook")
    alertd = w.alertd(delivery_batch=5)
    w.flood(["kill-%02d" % i for i in range(n)])
    wait_for(lambda: len(w.receiver.keys()) >= 3, 30, "the first webhook deliveries")
    alertd.kill9()
    got_before = len(w.receiver.keys())
    assert got_before < n, "all delivered before the kill: make the receiver slower"
    w.receiver.default = 200
    w.alertd(name="alertd-2")
    wait_for(lambda: w.pending() == 0, 60, "every delivery after the restart")
    expected_hook = {d[0] for d in w.deliveries("webhook")}
    expected_mqtt = {d[0] for d in w.deliveries("mqtt")}
    assert len(expected_hook) == n and len(expected_mqtt) == n
    assert set(w.receiver.keys()) == expected_hook, sorted(w.receiver.keys())
    wait_for(lambda: set(w.subscriber.keys()) == expected_mqtt, 10, "every MQTT delivery")
    assert all(d[1] == "delivered" for d in w.deliveries())


def test_two_alertd_at_once_deliver_each_alert_exactly_once():
    n = 16
    w = AlertWorld("two", default=("slow", 0.05, 200))
    w.route("bpbd", "mqtt")
    w.route("bpbd", "webhook")
    w.alertd(name="alertd-a", delivery_batch=3)
    w.alertd(name="alertd-b", delivery_batch=3)
    w.flood(["two-%02d" % i for i in range(n)])
    wait_for(lambda: len(w.deliveries()) == 2 * n and w.pending() == 0, 60,
             "every delivery")
    time.sleep(0.5)
    hook = w.receiver.keys()
    assert len(hook) == n and len(set(hook)) == n, sorted(hook)
    wait_for(lambda: len(w.subscriber.keys()) >= n, 10, "every MQTT delivery")
    time.sleep(0.5)
    mq = w.subscriber.keys()
    assert len(mq) == n and len(set(mq)) == n, sorted(mq)
    # both took part (SKIP LOCKED shares the outbox)
    logs = [p.output() for p in w.procs]
    assert all("delivered" in log for log in logs), "one instance delivered nothing"


def test_a_receiver_down_for_a_while_gets_every_delivery_afterwards():
    n = 5
    w = AlertWorld("down")
    w.route("dishub", "webhook")
    w.route("bpbd", "webhook")
    w.receiver.stop()          # connection refused
    w.alertd()
    w.flood(["down-%d" % i for i in range(n)])
    wait_for(lambda: len(w.deliveries()) == 2 * n, 20, "the outbox rows")
    wait_for(lambda: any((d[2] or 0) >= 2 for d in w.deliveries()), 20, "failed attempts")
    assert all(d[1] == "pending" for d in w.deliveries()), w.deliveries()
    assert any(d[3] and "webhook" in d[3] for d in w.deliveries()), w.deliveries()
    w.receiver.start()
    wait_for(lambda: w.pending() == 0, 30, "every delivery after the receiver is back")
    keys = w.receiver.keys()
    assert sorted(set(keys)) == sorted(d[0] for d in w.deliveries()), keys
    assert len(keys) == 2 * n, keys   # a refused connection delivered nothing: no repeats


def test_an_unacknowledged_alert_escalates_after_its_set_time():
    w = AlertWorld("escalate", webhook=False)
    w.route("bpbd", "mqtt", escalate_after="2 seconds")
    w.sql("INSERT INTO pantau_alert.escalation (unit_id, next_unit_id, channel)"
          " VALUES ('bpbd', 'poc', 'mqtt')")
    w.alertd()
    w.flood(["esc-1", "esc-2"])
    wait_for(lambda: len(w.alert_ids()) == 2, 20, "two alerts")
    a1, a2 = w.alert_ids()
    assert w.sql("SELECT pantau_alert.acknowledge(%s, 'siti', 'seen')", a2) == [(True,)]
    wait_for(lambda: any(m[0].startswith("pantau/v1/_sys/alert/poc/") for m in
                         w.subscriber.messages), 20, "the escalation to poc")
    time.sleep(1.0)
    to_poc = [m for m in w.subscriber.messages if m[0].startswith("pantau/v1/_sys/alert/poc/")]
    assert [(m[1]["alert_id"], m[1]["event"], m[1]["step"]) for m in to_poc] == [
        (a1, "escalated", 1)], to_poc
    assert w.sql("SELECT count(*) FROM pantau_alert.alert_event WHERE event = 'escalated'"
                 " AND alert_id = %s", a2) == [(0,)]
    routed = w.sql("SELECT alert_id, unit_id, step FROM pantau_alert.alert_unit"
                   " ORDER BY alert_id, step")
    assert routed == [(a1, "bpbd", 0), (a1, "poc", 1), (a2, "bpbd", 0)], routed
    # waited at least the set time
    waited = w.sql("SELECT e.at - a.paged_at FROM pantau_alert.alert_event e JOIN"
                   " pantau_alert.alert a USING (alert_id) WHERE e.event = 'escalated'")[0][0]
    assert waited.total_seconds() >= 2.0, waited


def test_alertd_runs_the_time_driven_rules_on_its_timer():
    w = AlertWorld("timed", webhook=False)
    w.route("poc", "mqtt", kind="system\\_%")
    w.sql("INSERT INTO pantau.device (device_id, kind) VALUES ('gw-quiet', 'flood_gateway')")
    w.sql("INSERT INTO pantau.device_status (device_id, state, conn, updated_at)"
          " VALUES ('gw-quiet', 'offline', 3, now() - interval '20 minutes')")
    w.alertd(time_rules_interval="200ms")
    wait_for(lambda: any(m[1].get("kind") == "system_gateway_offline"
                         for m in w.subscriber.messages), 20, "the gateway-offline alert")
    w.sql("UPDATE pantau.device_status SET state = 'online', conn = 4, updated_at = now()"
          " WHERE device_id = 'gw-quiet'")
    wait_for(lambda: any(m[1].get("kind") == "system_gateway_offline" and
                         m[1].get("event") == "resolved" for m in w.subscriber.messages), 20,
             "its resolution")
    time.sleep(1.0)   # several more rounds of the timer: nothing new
    got = [(m[0].split("/")[4], m[1]["event"]) for m in w.subscriber.messages
           if m[1].get("kind") == "system_gateway_offline"]
    assert got == [("poc", "raised"), ("poc", "resolved")], got
    assert w.sql("SELECT count(*) FROM pantau_alert.alert WHERE kind = 'system_gateway_offline'"
                 ) == [(1,)]


def test_sigterm_finishes_the_delivery_in_hand():
    w = AlertWorld("sigterm", default=("slow", 1.5, 200))
    w.route("bpbd", "webhook")
    alertd = w.alertd(webhook_timeout="5s")
    w.flood(["term-1", "term-2", "term-3"])
    wait_for(lambda: len(w.receiver.keys()) >= 1, 20, "the first POST")
    assert alertd.stop() == 0
    # what the receiver got is marked delivered; nothing was sent and left unmarked
    delivered = {d[0] for d in w.deliveries() if d[1] == "delivered"}
    assert set(w.receiver.keys()) == delivered and len(delivered) >= 1, (
        w.receiver.keys(), w.deliveries())
    assert len(delivered) < 3, "all sent: the stop came too late to show anything"
    assert "stopped" in alertd.output()


def test_the_alertd_role_may_evaluate_escalate_and_deliver_and_nothing_else():
    w = AlertWorld("role", webhook=False)
    conn = psycopg2.connect(w.alertd_dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pantau_alert.evaluate(10), pantau_alert.escalate(now()),"
                        " pantau_alert.evaluate_time(now())")
            cur.execute("SELECT count(*) FROM pantau_alert.delivery_claim('mqtt', 5)")
            cur.execute("SELECT pantau_alert.delivery_done(1), pantau_alert.delivery_retry("
                        "1, 'x', '1 second', '1 hour')")
        for query in ("SELECT * FROM pantau_alert.alert",
                      "SELECT * FROM pantau_alert.delivery",
                      "UPDATE pantau_alert.delivery SET status = 'delivered'",
                      "INSERT INTO pantau_alert.route (kind_pattern, unit_id, channel)"
                      " VALUES ('%', 'poc', 'mqtt')",
                      "SELECT pantau_alert.acknowledge(1, 'x', 'y')",
                      "SELECT * FROM pantau.flood_reading"):
            with conn.cursor() as cur:
                try:
                    cur.execute(query)
                except psycopg2.errors.InsufficientPrivilege:
                    continue
                raise AssertionError("pantau_alertd may: %s" % query)
    finally:
        conn.close()


if __name__ == "__main__":
    H.run_tests(globals())
