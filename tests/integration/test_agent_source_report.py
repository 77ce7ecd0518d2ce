#!/usr/bin/python3
"""test_agent_source_report.py -- Jumantik inspections end to end through the real programs:
`pantau-agent report` (options, a JSON file, stdin) appends to the agent's own store while
the agent is stopped and while it runs, an invalid inspection exits 2 naming the member and
stores nothing, and the larva socket source answers `ok`; the agent then delivers every one
to PostgreSQL through mosquitto and the collector (pantau_pii.larva_inspection).
"""
import json
import os
import socket
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from agent_support import Agent, agent_binary, ledger_count  # noqa: E402
from collector_support import env_for, run_tests, wait_for  # noqa: E402

DEV = "hh-margahayu-07"
BASE = ["--inspector", "jmt-0412", "--building", "house", "--kelurahan", "32.75.01.1002",
        "--rw", "3"]
BODY = {"inspector": "jmt-0999", "building": "public_place", "kelurahan": "32.75.07.1007",
        "rw": 1, "rt": 2, "larvae_found": False, "containers": [], "actions": ["cover"]}


def report(agent, *args, stdin=None):
    r = subprocess.run([agent_binary(), "report", "-c", agent.conf_path] + list(args),
                       input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def inspections(env):
    return env.sql("SELECT seq, inspector, rt, larvae_found, note FROM"
                   " pantau_pii.larva_inspection WHERE device_id = %s ORDER BY seq", DEV)


def test_report_and_socket_inspections_reach_the_database():
    with env_for("agent-report") as env:
        env.register(DEV, "handheld")
        env.collector()
        sock = os.path.join(env.root, "larva.sock")
        agent = Agent(env, DEV, sources=[("larva", {"path": sock, "mode": "0600"})])

        # the agent is stopped: report opens the store itself
        rc, out, err = report(agent, *BASE, "--rt", "5", "--container", "bath_tub:indoor:1:1",
                              "--container", "bucket:outdoor:3:0", "--actions", "drain,cover",
                              "--note", "sudah dikuras", "--lat", "-6.2416", "--lon",
                              "107.0012")
        assert rc == 0, (rc, out, err)
        first = int(out.strip())
        path = os.path.join(env.root, "inspection.json")
        with open(path, "w") as f:
            json.dump(BODY, f)
        rc, out, err = report(agent, "--json", path)
        assert rc == 0 and int(out.strip()) == first + 1, (rc, out, err)
        # invalid: exit 2, the member named, nothing stored
        for args, want in [
                (BASE, "rt: missing"),
                (BASE + ["--rt", "5", "--container", "jar:indoor:1:2"],
                 "containers[0].positive"),
                (BASE + ["--rt", "5", "--lat", "-6.2"], "lon"),
                (["--json", "-"], "seq: not allowed")]:
            rc, out, err = report(agent, *args, stdin=json.dumps(dict(BODY, seq=9)).encode())
            assert rc == 2, (args, rc, out, err)
            assert want in err, (args, err)
            assert out == "", "nothing stored, no seq printed"
        rc, out, err = report(agent, "--json", "-",
                              stdin=json.dumps(dict(BODY, rt=3)).encode())
        assert rc == 0 and int(out.strip()) == first + 2, (rc, out, err)

        agent.start()
        wait_for(lambda: ledger_count(env, DEV) == 3, 60, "the three reports delivered")
        # while the agent runs: report appends beside it, and its scans pick the row up
        rc, out, err = report(agent, *BASE, "--rt", "8")
        assert rc == 0 and int(out.strip()) >= first + 3, (rc, out, err)
        wait_for(lambda: os.path.exists(sock), 30, "the larva socket")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(sock)
        f = s.makefile("rb")
        s.sendall((json.dumps(dict(BODY, rt=9, note="lewat soket")) + "\n").encode())
        assert f.readline() == b"ok\n"
        s.sendall((json.dumps(dict(BODY, rt=0)) + "\n").encode())
        assert f.readline().decode().startswith("error rt:")
        f.close()
        s.close()
        wait_for(lambda: ledger_count(env, DEV) == 5, 60, "all five inspections delivered")
        rows = inspections(env)
        assert [r[2] for r in rows] == [5, 2, 3, 8, 9], rows
        assert rows[0][1] == "jmt-0412" and rows[0][3] is True and rows[0][4] == "sudah dikuras"
        assert rows[1][1] == "jmt-0999" and rows[1][3] is False
        assert rows[4][4] == "lewat soket"
        containers = env.sql("SELECT type, location, inspected, positive FROM"
                             " pantau.larva_container WHERE device_id = %s AND seq = %s"
                             " ORDER BY type", DEV, first)
        assert containers == [("bath_tub", "indoor", 1, 1), ("bucket", "outdoor", 3, 0)], \
            containers
        assert agent.stop() == 0


if __name__ == "__main__":
    run_tests(globals())
