"""bench_broker_metrics.py -- the broker's throughput with the plugin's Prometheus textfile on
(plugin_opt_metrics_textfile, written every second: stats_interval 1, ten times the shipped
rate) against the same plugin with it off, same load, same run (issue 14, item 6: goal at
least 0.97).

    PANTAU_BUILD_DIR=build /usr/bin/python3 tests/bench/broker/bench_broker_metrics.py \\
        [rounds] [devices] [per_device] [window]

The load is bench_broker_throughput.py's (N flood gateways at QoS 1 through devacl and payval,
one collector subscriber in a shared group); both brokers are mosquitto 2.0.11 with
pantau_broker.so and deploy/mosquitto.conf's settings on one database, stats_interval 1 on
both. Rounds interleave the two, alternating which goes first. Prints each run, then a
Markdown table: median rate of each, the ratio of the medians and the median of the per-round
ratios, and the broker's CPU per reading.
"""

import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration"))
sys.path.insert(0, HERE)

import broker_support as B  # noqa: E402
from bench_broker_throughput import EXTRA, build_tool, cpu_s, make_accounts, run  # noqa: E402

H = B.H


def main():
    args = [int(a) for a in sys.argv[1:]]
    rounds, devices, per_device, window = (args + [7, 50, 400, 16][len(args):])[:4]
    exe = build_tool()
    opts = {"rate_flood_gateway": "1000000/s burst 1000000", "stats_interval": "1",
            "reload_ms": "60000"}
    off = B.BrokerEnv("bench-metrics", extra=EXTRA, plugin_opts=opts)
    secrets_path, sub = make_accounts(off, devices)
    textfile = os.path.join(off.root, "text", "pantau_broker.prom")
    os.makedirs(os.path.dirname(textfile))
    on_opts = dict(off.plugin_opts, metrics_textfile=textfile,
                   snapshot_file=os.path.join(off.root, "on.snapshot"))
    on = H.Mosquitto(os.path.join(off.root, "on"), extra=EXTRA, allow_anonymous=False,
                     plugins=[(B.plugin_path(), on_opts)], deploy=True).start()
    off.wait_connack(sub[0], sub[0], sub[1], 0, timeout=60)   # the off broker, as made
    brokers = {"off": off.mosq, "on": on}

    rates = {"off": [], "on": []}
    cpu_us = {"off": [], "on": []}
    for r in range(rounds):
        order = ("off", "on") if r % 2 == 0 else ("on", "off")
        for which in order:
            m = brokers[which]
            c0 = cpu_s(m.proc.pid)
            rate, n = run(exe, m.port, devices, per_device, window, secrets_path, sub)
            c1 = cpu_s(m.proc.pid)
            cpu = (c1[0] - c0[0] + c1[1] - c0[1]) * 1e6 / n
            rates[which].append(rate)
            cpu_us[which].append(cpu)
            print("round %d metrics %-3s %9.0f readings/s  broker CPU %6.1f us/reading" % (
                r + 1, which, rate, cpu), flush=True)
    assert os.path.getsize(textfile) > 0, "the textfile was never written"
    on.stop()
    off.close()

    m_off = statistics.median(rates["off"])
    m_on = statistics.median(rates["on"])
    ratios = [b / a for a, b in zip(rates["off"], rates["on"])]
    print()
    print("%d rounds, %d devices x %d readings, window %d, stats_interval 1 s" % (
        rounds, devices, per_device, window))
    print()
    print("| broker (mosquitto 2.0.11 + pantau_broker.so) | readings/s (median) |"
          " broker CPU per reading (median) |")
    print("| --- | ---: | ---: |")
    print("| reference: metrics_textfile off | %.0f | %.1f us |" % (
        m_off, statistics.median(cpu_us["off"])))
    print("| metrics_textfile on | %.0f | %.1f us |" % (m_on, statistics.median(cpu_us["on"])))
    print()
    print("Ratio of the medians (on / off): %.3f; median of the per-round ratios: %.3f "
          "(min %.2f, max %.2f)" % (m_on / m_off, statistics.median(ratios), min(ratios),
                                    max(ratios)))
    c_off = statistics.median(cpu_us["off"])
    c_on = statistics.median(cpu_us["on"])
    print("Broker CPU per reading (median): off %.1f us, on %.1f us; off / on %.3f (the "
          "throughput a saturated broker core would keep with the textfile on)" % (
              c_off, c_on, c_off / c_on))


if __name__ == "__main__":
    main()
