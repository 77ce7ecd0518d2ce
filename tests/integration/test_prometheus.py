#!/usr/bin/python3
"""test_prometheus.py -- pantau's monitoring as shipped in deploy/prometheus/ (issue 14, item 6),
with Debian's Prometheus, promtool and node_exporter against the real programs.

- `promtool check config` passes on the shipped prometheus.yml and `promtool check rules` and
  `promtool test rules` on the shipped rules (their boundaries: pantau-rules.test.yml);
- a real Prometheus scrapes a real collector, a real pantau-alertd, a real pantau-console and
  a gateway (a real
  pantau-agent's metrics_textfile read by a real node_exporter's textfile collector), with the
  shipped job names: every target up, and every metric the shipped rules name exists in what
  was scraped (a renamed metric would leave a rule that never fires);
- the shipped rules, evaluated by that Prometheus (their `for:` shortened to 0s, nothing else
  changed): while all is well none fires; the broker stopped: PantauGatewayOffline (the agent
  disconnected) and PantauCollectorBrokerDisconnected fire; the collector stopped:
  PantauCollectorDown and PantauNoCollectorUp fire; the console stopped: PantauConsoleDown.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "harness"))

import pantau_harness as H  # noqa: E402
from agent_support import Agent, ledger_count, simulator  # noqa: E402
from collector_support import env_for, run_tests, wait_for  # noqa: E402
from console_support import ConsoleWorld  # noqa: E402

DEPLOY = os.path.join(H.SOURCE_DIR, "deploy", "prometheus")


def promtool(*args, cwd=DEPLOY):
    r = subprocess.run(["promtool"] + list(args), cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=120)
    assert r.returncode == 0, "promtool %s:\n%s" % (" ".join(args), r.stdout)
    return r.stdout


def test_shipped_config_and_rules_pass_promtool():
    out = promtool("check", "rules", "pantau-rules.yml")
    assert "SUCCESS" in out, out
    out = promtool("test", "rules", "pantau-rules.test.yml")
    assert "SUCCESS" in out, out
    work = H.workdir("prom-check")
    shutil.copy(os.path.join(DEPLOY, "prometheus.yml"), work)
    shutil.copy(os.path.join(DEPLOY, "pantau-rules.yml"), work)
    out = promtool("check", "config", "prometheus.yml", cwd=work)
    assert "is valid prometheus config file" in out, out


def rule_metrics():
    """Every metric name in the shipped rules' expressions."""
    text = open(os.path.join(DEPLOY, "pantau-rules.yml")).read()
    exprs = re.findall(r"expr: (.*(?:\n {10}\S.*)*)", text)
    names = set()
    for e in exprs:
        e = re.sub(r'"[^"]*"', '""', e)   # not the label values (a file name)
        names.update(re.findall(r"\b((?:pantau|node)_[a-z_]+)\b", e))
    assert len(names) >= 12, names
    return names


def fast_rules(path):
    """The shipped rules with every `for:` at 0s (the expressions as shipped)."""
    text = open(os.path.join(DEPLOY, "pantau-rules.yml")).read()
    text, n = re.subn(r"for: \d+[smh]", "for: 0s", text)
    assert n >= 10, n
    with open(path, "w") as f:
        f.write(text)


class Prometheus:
    def __init__(self, root, targets):
        self.root = root
        self.port = H.free_port()
        shipped = open(os.path.join(DEPLOY, "prometheus.yml")).read()
        jobs = [j for j in re.findall(r"job_name: (\S+)", shipped) if j in targets]
        assert set(jobs) == set(targets), (jobs, targets)
        fast_rules(os.path.join(root, "pantau-rules.yml"))
        conf = ["global:", "  scrape_interval: 1s", "  evaluation_interval: 1s",
                "rule_files: [pantau-rules.yml]", "scrape_configs:"]
        for job in jobs:
            conf += ["  - job_name: %s" % job, "    static_configs:",
                     "      - targets: [\"%s\"]" % targets[job]]
        self.conf = os.path.join(root, "prometheus.yml")
        with open(self.conf, "w") as f:
            f.write("\n".join(conf) + "\n")
        self.prog = H.Program("prometheus", [
            "prometheus", "--config.file=%s" % self.conf,
            "--storage.tsdb.path=%s" % os.path.join(root, "tsdb"),
            "--web.listen-address=127.0.0.1:%d" % self.port], root)

    def start(self):
        self.prog.start()
        def ready():
            try:
                return urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % self.port,
                                              timeout=5).status == 200
            except OSError:
                return None

        wait_for(ready, 60, "prometheus ready")
        return self

    def query(self, q):
        url = "http://127.0.0.1:%d/api/v1/query?%s" % (
            self.port, urllib.parse.urlencode({"query": q}))
        doc = json.load(urllib.request.urlopen(url, timeout=10))
        assert doc["status"] == "success", doc
        return doc["data"]["result"]

    def rules(self):
        url = "http://127.0.0.1:%d/api/v1/rules" % self.port
        doc = json.load(urllib.request.urlopen(url, timeout=10))
        assert doc["status"] == "success", doc
        return doc["data"]["groups"]

    def firing(self):
        return {r["metric"]["alertname"] for r in self.query('ALERTS{alertstate="firing"}')}


def test_real_programs_scraped_and_the_rules_fire_when_things_break():
    dev, st = "gw-prom-01", "st-prom-01"
    with env_for("prometheus") as env:
        env.register(dev, "flood_gateway", [st])
        collector_port = H.free_port()
        col = env.collector(metrics_port=collector_port)
        # pantau-alertd with its metrics on, logged in as a member of pantau_alertd
        env.sql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname ="
                " 'pantau_alertd_test') THEN CREATE ROLE pantau_alertd_test LOGIN;"
                " END IF; EXCEPTION WHEN unique_violation OR duplicate_object THEN NULL; END $$")
        env.sql("GRANT pantau_alertd TO pantau_alertd_test")
        alertd_port = H.free_port()
        alertd_conf = os.path.join(env.root, "alertd.conf")
        with open(alertd_conf, "w") as f:
            f.write("alertd_id alertd-prom\ndb_conninfo %s\nmqtt_host 127.0.0.1\n"
                    "mqtt_port %d\nmetrics_port %d\n" % (
                        env.dsn.replace("user=postgres", "user=pantau_alertd_test"),
                        env.mqtt_port, alertd_port))
        alertd = H.Program("alertd", [H.binary("alertd", "pantau-alertd"), "-c", alertd_conf],
                           env.root).start()
        # the gateway: the agent writes its textfile, node_exporter serves it
        textdir = os.path.join(env.root, "textfile")
        os.makedirs(textdir)
        agent = Agent(env, dev, sources=[simulator(flood=st, rate=5)],
                      metrics_textfile=os.path.join(textdir, "pantau-agent.prom"),
                      metrics_interval_ms="1s")
        agent.start()
        node_port = H.free_port()
        H.Program("node-exporter", [
            "prometheus-node-exporter", "--collector.disable-defaults",
            "--collector.textfile", "--collector.filesystem",
            "--collector.textfile.directory=%s" % textdir,
            "--web.listen-address=127.0.0.1:%d" % node_port], env.root).start()
        wait_for(lambda: ledger_count(env, dev) >= 10, 30, "readings stored")

        # the operation center's console, on a database of its own
        console = ConsoleWorld("prom")
        prom = Prometheus(env.root, {
            "pantau-collector": "127.0.0.1:%d" % collector_port,
            "pantau-alertd": "127.0.0.1:%d" % alertd_port,
            "pantau-console": "127.0.0.1:%d" % console.port,
            "pantau-gateways": "127.0.0.1:%d" % node_port,
        }).start()

        def all_up():
            ups = {r["metric"]["job"]: r["value"][1] for r in prom.query("up")}
            return ups if len(ups) == 4 and set(ups.values()) == {"1"} else None

        wait_for(all_up, 60, "every target up")

        # the broker's (pantau_broker_*) are test_broker_metrics.py's: this broker has no plugin;
        # the replica's (pantau_console_replica_*) test_replica.py's: this console has none
        names = sorted(n for n in rule_metrics()
                       if not n.startswith(("pantau_broker_", "pantau_console_replica_")))

        def every_rule_metric_scraped():
            missing = [n for n in names if not prom.query('count({__name__="%s"})' % n)]
            return missing == [] or None

        try:
            wait_for(every_rule_metric_scraped, 30, "every metric of the rules scraped")
        except AssertionError:
            missing = [n for n in names if not prom.query('count({__name__="%s"})' % n)]
            raise AssertionError("the rules name metrics nobody exports: %s" % missing)
        # all well: the rules run and none fires (a few evaluations)
        def evaluated():
            groups = prom.rules()
            rules = [r for g in groups for r in g["rules"]]
            return len(groups) == 2 and len(rules) >= 20 and all(
                r["health"] == "ok" and not r["lastEvaluation"].startswith("0001")
                for r in rules) or None

        wait_for(evaluated, 30, "every rule evaluated without error")
        time.sleep(3)   # three more rounds
        assert prom.query("ALERTS") == [], prom.query("ALERTS")

        env.mosq.stop()
        wait_for(lambda: {"PantauGatewayOffline", "PantauCollectorBrokerDisconnected"} <=
                 prom.firing() or None, 60,
                 "PantauGatewayOffline and PantauCollectorBrokerDisconnected firing")
        col.stop()
        wait_for(lambda: {"PantauCollectorDown", "PantauNoCollectorUp"} <= prom.firing() or None,
                 60, "PantauCollectorDown and PantauNoCollectorUp firing")
        assert "PantauAlertdDown" not in prom.firing()
        console.stop()
        wait_for(lambda: "PantauConsoleDown" in prom.firing() or None, 60,
                 "PantauConsoleDown firing")
        assert agent.stop() == 0
        assert alertd.stop() == 0


if __name__ == "__main__":
    run_tests(globals())
