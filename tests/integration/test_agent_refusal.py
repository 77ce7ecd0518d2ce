#!/usr/bin/python3
"""test_agent_refusal.py -- a reading the broker keeps refusing ends in the rejected list after
its retries, and the readings behind it flow.

The broker's ACL (acl_file) lets the device publish flood readings but not traffic; the
simulator makes both. mosquitto 2.0 answers a denied QoS 1 publish of an MQTT 5 client with
PUBACK reason 0x87 (not authorized), which the agent sees (paho's onFailure5 for a PUBACK) and
retries with backoff refuse_tries times before agent_store_reject. The flood readings are
stored meanwhile, every seq is either in the ledger or counted as rejected in the retained
status, and nothing is left in the store.
"""
import os
import re
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from agent_support import Agent, Watcher, ledger_seqs, simulator  # noqa: E402
from collector_support import env_for, run_tests, wait_for  # noqa: E402

DEV = "gw-ref-01"

ACL = """# anonymous clients (the collector, the test's watcher): everything
topic readwrite #

# the device: its flood and status streams, not traffic
user %(dev)s
topic write pantau/v1/%(dev)s/flood
topic write pantau/v1/%(dev)s/dropped
topic write pantau/v1/%(dev)s/status
topic read pantau/v1/%(dev)s/ack
topic read pantau/v1/_sys/health/+
""" % {"dev": DEV}


def test_refused_readings_are_retried_then_rejected_without_blocking_the_rest():
    total = 60
    acl_dir = tempfile.mkdtemp(prefix="pantau-acl-")
    acl = os.path.join(acl_dir, "acl")
    with open(acl, "w") as f:
        f.write(ACL)
    os.chmod(acl_dir, 0o755)
    os.chmod(acl, 0o644)
    with env_for("agent-refuse", broker_extra="acl_file %s\n" % acl) as env:
        env.register(DEV, "flood_gateway", ["st-ref-01"])
        env.collector()
        watcher = Watcher(env.mqtt_port, DEV).start()
        # refuse_give_up_ms 0: given up after the tries alone (shipped: 48 h of refusals)
        agent = Agent(env, DEV, mqtt_username=DEV, window=4, refuse_tries=3,
                      refuse_give_up_ms="0", refuse_backoff_ms="300ms",
                      sources=[simulator(flood="st-ref-01", traffic="cam-ref-01", rate=10,
                                         count=total, traffic_lanes="eastbound")])
        agent.start()
        # the first rejection: by then, flood readings taken after the refused one are stored
        wait_for(lambda: "rejected for good" in agent.run_log(), 30, "a first rejection")
        first = int(re.search(r"reading seq=(\d+) \(traffic\) rejected for good",
                              agent.run_log()).group(1))
        stored_then = ledger_seqs(env, DEV)
        assert any(s > first for s in stored_then), (first, stored_then[-5:])
        assert "reason 0x87" in agent.run_log()
        tries = re.findall(r"broker refused seq=%d \(reason 0x87\), try (\d) " % first,
                           agent.run_log())
        assert tries == ["1", "2"], tries

        # everything settles: each seq is stored (flood) or rejected (traffic), none held
        def settled():
            st = watcher.last_status("online")
            if st is None or st.get("backlog") != 0:
                return False
            return len(ledger_seqs(env, DEV)) + st.get("rejected", 0) == total
        wait_for(settled, 60, "every reading stored or rejected, backlog 0")
        st = watcher.last_status("online")
        stored = ledger_seqs(env, DEV)
        assert st["rejected"] >= 10 and len(stored) >= 10, (st, len(stored))
        streams = env.sql("SELECT DISTINCT stream FROM pantau.reading_ledger"
                          " WHERE device_id = %s", DEV)
        assert streams == [("flood",)], streams
        rejected_seqs = sorted(set(range(1, total + 1)) - set(stored))
        assert len(rejected_seqs) == st["rejected"]
        assert agent.run_log().count("rejected for good") == st["rejected"]
        # never resent for ever: each refused reading was refused refuse_tries times (the
        # agent's log names every try) and then rejected once
        log = agent.run_log()
        for seq in rejected_seqs:
            tries = re.findall(r"broker refused seq=%d \(reason 0x87\), try (\d) " % seq, log)
            assert tries == ["1", "2"], (seq, tries)
            assert log.count("reading seq=%d (traffic) rejected for good" % seq) == 1, seq
        # and the broker let none of them through
        sent = {}
        for m in watcher.readings("traffic"):
            sent[m.doc["seq"]] = sent.get(m.doc["seq"], 0) + 1
        assert not sent, "the broker let traffic through: %s" % sorted(sent)[:5]
        assert agent.stop() == 0
        watcher.stop()


if __name__ == "__main__":
    run_tests(globals())
