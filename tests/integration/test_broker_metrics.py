#!/usr/bin/python3
"""test_broker_metrics.py -- the broker plugin's counters for Prometheus (issue 14, item 6):
plugin_opt_metrics_textfile, a textfile for node_exporter written by a thread of the plugin's
own (broker-plugins/promfile.c), with Debian's promtool, node_exporter and Prometheus.
- a real mosquitto with pantau_broker.so (deploy/mosquitto.conf as shipped, the textfile set)
  writes the file, whole, with every module's series; `promtool check metrics` finds nothing
  against Prometheus' naming rules in it;
- the counters follow what happens: a device accepted, a wrong secret refused (by reason);
- a real node_exporter serves the file without a scrape error, and a real Prometheus scraping
  it under the shipped job `pantau-broker` with the shipped rules has every pantau_broker_
  metric that the rules name, and PantauBrokerLoginsRefused fires (its `for:` at 0s) after a
  burst of wrong secrets.
"""
import os
import re
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import broker_support as B  # noqa: E402
from test_prometheus import Prometheus, rule_metrics  # noqa: E402

H = B.H


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def sample(text, series):
    """The value of one series line in exposition text, or None."""
    m = re.search(r"^%s (\S+)$" % re.escape(series), text, re.M)
    return float(m.group(1)) if m else None


def test_textfile_follows_the_counters_and_prometheus_reads_it():
    textdir = H.workdir("broker-metrics-text")
    path = os.path.join(textdir, "pantau_broker.prom")
    env = B.BrokerEnv("metrics", plugin_opts={"metrics_textfile": path})
    env.add_device("gw-met-01", stations=["st-met-01"])
    secret = env.secrets["gw-met-01"]
    env.wait_connack("gw-met-01", "gw-met-01", secret, B.RC_SUCCESS)
    assert env.connack("gw-met-01", "gw-met-01", "0" * 64) == B.RC_NOT_AUTHORIZED

    accepted = "pantau_broker_devauth_accepted_total"
    bad = 'pantau_broker_devauth_refused_total{reason="bad_secret"}'
    H.wait_until(lambda: (sample(read(path), accepted) or 0) >= 1 and
                 (sample(read(path), bad) or 0) >= 1, 20,
                 "the textfile counting one accepted and one bad secret")
    text = read(path)
    for module in ("devauth", "devacl", "payval"):
        assert "# TYPE pantau_broker_%s_" % module in text, (module, text)
    assert "pantau_broker_payval_refused_total{reason=" in text, text
    assert not os.path.exists(path + ".tmp")
    r = subprocess.run(["promtool", "check", "metrics"], input=text, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "", r.stdout

    node_port = H.free_port()
    H.Program("node-exporter", [
        "prometheus-node-exporter", "--collector.disable-defaults", "--collector.textfile",
        "--collector.textfile.directory=%s" % textdir,
        "--web.listen-address=127.0.0.1:%d" % node_port], env.root).start()

    def served():
        try:
            body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % node_port,
                                          timeout=5).read().decode()
        except OSError:
            return None
        return body if accepted in body else None

    body = H.wait_until(served, 30, "node_exporter serving the broker's textfile")
    assert sample(body, "node_textfile_scrape_error") == 0, body

    prom = Prometheus(env.root, {"pantau-broker": "127.0.0.1:%d" % node_port}).start()
    wanted = sorted(n for n in rule_metrics() if n.startswith("pantau_broker_"))
    assert wanted, "the shipped rules name no metric of the broker"

    def scraped():
        return all(prom.query('count({__name__="%s"})' % n) for n in wanted) or None

    H.wait_until(scraped, 60, "every pantau_broker_ metric of the rules scraped: %s" % wanted)
    assert "PantauBrokerLoginsRefused" not in prom.firing()
    for _ in range(12):
        env.connack("gw-met-01", "gw-met-01", "1" * 64)
    H.wait_until(lambda: "PantauBrokerLoginsRefused" in prom.firing() or None, 60,
                 "PantauBrokerLoginsRefused firing")


if __name__ == "__main__":
    H.run_tests(globals())
