#!/usr/bin/python3
"""test_alertd_service_down.py -- system_service_down (issue 11, docs/alerts.md): pantau-alertd
reads each collector's retained health (protocol.md 6.2) through mosquitto with pantau's plugin
and reports it to pantau_alert.service_state (schema/018), which raises the alert once a
collector has been down for service_down_after and resolves it when the collector is back.
Here: the real pantau-collector, killed (its last will says offline) and started again; two
alertd instances report the same outage; the alert is raised once, delivered once to the
operation center's unit console (a `unit` account of poc), and resolved once.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import broker_support as B  # noqa: E402
from broker_policy_support import start_collector, user  # noqa: E402

H = B.H

SUBJECT = "pantau#collector-1"


def start_alertd(env, alertd_id):
    password = user(env, alertd_id, "collector")
    pw_file = os.path.join(env.root, "%s-mqtt.pass" % alertd_id)
    with open(pw_file, "w") as f:
        f.write(password + "\n")
    conf = os.path.join(env.root, "%s.conf" % alertd_id)
    with open(conf, "w") as f:
        f.write("alertd_id %s\n" % alertd_id
                + "db_conninfo %s\n" % env.dsn.replace("user=postgres", "user=pantau_alertd_test")
                + "mqtt_host 127.0.0.1\nmqtt_port %d\n" % env.port
                + "mqtt_username %s\nmqtt_password_file %s\n" % (alertd_id, pw_file)
                + "poll_interval 200ms\ntime_rules_interval 300ms\nlog_level debug\n")
    prog = H.Program(alertd_id, [H.binary("alertd", "pantau-alertd"), "-c", conf],
                     env.root).start()
    return prog


def alerts(env):
    return env.sql("SELECT alert_id, state, condition_time, raised_at, evidence->>'why'"
                   " FROM pantau_alert.alert WHERE kind = 'system_service_down'"
                   " AND subject = %s ORDER BY alert_id", SUBJECT)


def events(env):
    return [r[0] for r in env.sql(
        "SELECT e.event FROM pantau_alert.alert_event e JOIN pantau_alert.alert a USING (alert_id)"
        " WHERE a.kind = 'system_service_down' ORDER BY e.event_id")]


def test_collector_down_raises_once_and_back_resolves():
    env = B.BrokerEnv("service-down")
    try:
        env.sql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname ="
                " 'pantau_alertd_test') THEN CREATE ROLE pantau_alertd_test LOGIN;"
                " END IF; EXCEPTION WHEN unique_violation OR duplicate_object THEN NULL; END $$")
        env.sql("GRANT pantau_alertd TO pantau_alertd_test")
        env.sql("UPDATE pantau_alert.rule_setting SET value = '\"3 seconds\"'"
                " WHERE name = 'service_down_after'")
        env.sql("DELETE FROM pantau_alert.route")
        env.sql("INSERT INTO pantau_alert.route (kind_pattern, unit_id, channel)"
                " VALUES ('system\\_%%', 'poc', 'mqtt')")
        # the operation center's console: a unit account of poc, persistent session
        env.admin("user-add", "console-poc", "--role", "unit", "--unit", "poc",
                  "--password-file", "-", input="pw-console-poc-1\n")
        env.secrets["console-poc"] = "pw-console-poc-1"
        env.wait_connack("console-poc", "console-poc", "pw-console-poc-1", 0)
        console = env.client("console-poc", "pw-console-poc-1", clean_start=False,
                             session_expiry=3600)
        assert console.subscribe("pantau/v1/_sys/alert/poc/#", 1) == 1

        col = start_collector(env, "collector-1")
        a1 = start_alertd(env, "alertd-1")
        a2 = start_alertd(env, "alertd-2")
        # both report the collector up (a subject_state row, no alert)
        H.wait_until(lambda: env.sql(
            "SELECT data->>'up' FROM pantau_alert.subject_state"
            " WHERE subject = %s AND rule = 'service'", SUBJECT) == [("true",)], 20,
            "the collector reported up")
        assert alerts(env) == []

        # the collector dies: its will says offline; nothing before service_down_after
        col.kill9()
        t_down = time.time()
        H.wait_until(lambda: env.sql(
            "SELECT data->>'up' FROM pantau_alert.subject_state"
            " WHERE subject = %s AND rule = 'service'", SUBJECT) == [("false",)], 20,
            "the collector reported down")
        H.wait_until(lambda: alerts(env), 20, "system_service_down raised")
        rows = alerts(env)
        assert len(rows) == 1, rows
        alert_id, state, cond, raised, why = rows[0]
        assert state == "open" and why == "offline", rows
        assert (raised - cond).total_seconds() >= 3.0, rows          # service_down_after
        assert time.time() - t_down >= 3.0
        # two alertd instances keep reporting the outage: still one alert, one raise
        time.sleep(2.0)    # several report rounds of both (time_rules_interval 300 ms)
        assert len(alerts(env)) == 1 and events(env) == ["raised"], (alerts(env), events(env))

        # the collector is back: resolved once
        col.start()
        H.wait_until(lambda: alerts(env)[0][1] == "resolved", 30, "system_service_down resolved")
        time.sleep(1.0)
        assert len(alerts(env)) == 1 and events(env) == ["raised", "resolved"], events(env)
        note = env.scalar("SELECT resolved_note FROM pantau_alert.alert WHERE alert_id = %s",
                          alert_id)
        assert "collector-1 up again" in note, note

        # the poc console got the raise and the resolution, each once
        got = []
        deadline = time.monotonic() + 20
        while len(got) < 2 and time.monotonic() < deadline:
            m = console.recv(1)
            if m is not None:
                got.append(json.loads(m[1]))
        assert [g["event"] for g in got] == ["raised", "resolved"], got
        assert all(g["kind"] == "system_service_down" and g["subject"] == SUBJECT for g in got)
        assert len({g["idempotency_key"] for g in got}) == 2
        assert console.recv(2) is None
        logs = ""
        for prog in (a1, a2):
            with open(prog.log, errors="replace") as f:
                logs += f.read()
        assert logs.count("system_service_down raised for collector=collector-1") == 1, logs
        assert logs.count("system_service_down resolved for collector=collector-1") == 1
        assert a1.stop() == 0 and a2.stop() == 0
        col.stop()
    finally:
        env.close()


if __name__ == "__main__":
    H.run_tests(globals())
