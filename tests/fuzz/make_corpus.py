#!/usr/bin/python3
"""Seed corpora and a dictionary for the fuzz targets, from the examples of docs/protocol.md.

Usage: make_corpus.py PROTOCOL_MD OUTDIR

Writes OUTDIR/msg_event/ (one file per example: TOPIC, a newline, the payload), OUTDIR/msg_ack/
(one selector byte, then the payload: 0 ack, 1 health, 2 rejected, 4 restore, 3 every example as bare
JSON), OUTDIR/msg.dict (libFuzzer dictionary: member names, enum values, literals) and
OUTDIR/stamp. Standard library only; run with Debian's /usr/bin/python3.
"""
import hashlib
import json
import os
import re
import sys

MARKER = re.compile(r"^<!-- example (valid|invalid|semantic) ([a-z_]+) topic=(\S+)"
                    r"(?: reason=(\S+))? -->$")
SELECTOR = {"ack": 0, "health": 1, "rejected": 2, "restore": 4}


def examples(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for i, line in enumerate(lines):
        m = MARKER.match(line)
        if not m or i + 1 >= len(lines) or lines[i + 1] != "```json":
            continue
        end = i + 2
        while end < len(lines) and lines[end] != "```":
            end += 1
        yield m.group(2), m.group(3), "\n".join(lines[i + 2:end]).encode("utf-8")


def words(value, out):
    if isinstance(value, dict):
        for key, item in value.items():
            out.add(key)
            words(item, out)
    elif isinstance(value, list):
        for item in value:
            words(item, out)
    elif isinstance(value, str) and len(value) <= 40:
        out.add(value)


def write(directory, data):
    os.makedirs(directory, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def main():
    protocol, outdir = sys.argv[1], sys.argv[2]
    tokens = {"true", "false", "null", "pantau/v1/", "_sys/health/", "x_", "\\u0000",
              "\\ud800", "\\udc00", "1e400", "-0", "9007199254740991", "9007199254740992"}
    # every enum value of the contract, also those no example shows
    tokens.update("online offline up down unknown new update end accident stalled_vehicle "
                  "road_flooding congestion illegal_parking wrong_way other house public_place "
                  "institution bath_tub wc_tub drum jar bucket tank bird_dish flower_vase "
                  "dispenser_tray fridge_tray used_goods tree_hole leaf_axil coconut_shell indoor "
                  "outdoor drain cover recycle larvicide fish repellent net plant store_full "
                  "max_age rejected corrupt motorcycle car bus truck nonmotor".split())
    count = 0
    for stream, topic, payload in examples(protocol):
        count += 1
        if stream in SELECTOR:
            write(os.path.join(outdir, "msg_ack"), bytes([SELECTOR[stream]]) + payload)
        else:
            write(os.path.join(outdir, "msg_event"), topic.encode() + b"\n" + payload)
        write(os.path.join(outdir, "msg_ack"), b"\x03" + payload)
        tokens.add(stream)
        try:
            words(json.loads(payload), tokens)
        except ValueError:
            pass
    if count == 0:
        sys.exit("make_corpus.py: no examples in %s" % protocol)
    with open(os.path.join(outdir, "msg.dict"), "w", encoding="utf-8") as f:
        for token in sorted(tokens):
            escaped = "".join(c if 0x20 <= ord(c) < 0x7f and c not in "\"\\" else
                              "\\x%02x" % b for c in token for b in c.encode("utf-8"))
            f.write('"%s"\n' % escaped)
    with open(os.path.join(outdir, "stamp"), "w") as f:
        f.write("%d examples\n" % count)


if __name__ == "__main__":
    main()
