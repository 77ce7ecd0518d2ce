#!/usr/bin/python3
"""Conformance of the wire contract: docs/protocol.md, schema/json/ and the C validator agree.

What it checks:
  - every schema in schema/json/ is valid draft 2020-12, resolves its $refs offline, documents
    every property, and its own `examples` validate; the kelurahan enum of defs.json is exactly
    the kelurahan codes of schema/data/bekasi_wilayah.csv;
  - every example of docs/protocol.md (a line `<!-- example KIND STREAM topic=T [reason=W] -->`
    followed by a ```json block) gets the verdict its KIND announces: `valid` passes the strict
    I-JSON loader + schema and the C validator; `invalid` fails both; `semantic` passes the
    loader + schema and fails the C validator (protocol section 9). For `invalid` and
    `semantic`, the C validator's reason text names the `reason=` word;
  - generated cases (mutations of every valid example: members dropped, wrong types, numeric
    boundaries taken from the schemas, unknown and extension members, string lengths,
    timestamps, raw-byte I-JSON edge cases, size limits) get the same verdict from the C
    validator as from the reference verdict here: strict loader + schema + the rules of
    protocol section 9 (which JSON Schema cannot express and the schemas do not fake; they are
    re-stated below as a test oracle only).

The C validator is <PANTAU_BUILD_DIR>/msg/pantau-msgcheck TOPIC (payload on stdin; exit 0 and
"ok <stream>", exit 1 and "invalid: <code>: <reason>", exit 2 on usage). Without it this test
fails; it never skips.

Run: /usr/bin/python3 tests/integration/test_protocol_examples.py [-v]
Environment: PANTAU_SOURCE_DIR (default: this file's repository), PANTAU_BUILD_DIR (default:
$PANTAU_SOURCE_DIR/build), PANTAU_TEST_VERBOSE=1 (same as -v).
Needs Debian's python3-jsonschema (4.10 or later); stdlib otherwise.
"""
import copy
import csv
import datetime
import json
import math
import os
import re
import subprocess
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urldefrag, urljoin

import jsonschema

SOURCE_DIR = os.environ.get("PANTAU_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD_DIR = os.environ.get("PANTAU_BUILD_DIR") or os.path.join(SOURCE_DIR, "build")
MSGCHECK = os.path.join(BUILD_DIR, "msg", "pantau-msgcheck")
PROTOCOL_MD = os.path.join(SOURCE_DIR, "docs", "protocol.md")
SCHEMA_DIR = os.path.join(SOURCE_DIR, "schema", "json")
WILAYAH_CSV = os.path.join(SOURCE_DIR, "schema", "data", "bekasi_wilayah.csv")
VERBOSE = "-v" in sys.argv[1:] or os.environ.get("PANTAU_TEST_VERBOSE") == "1"

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
ID_BASE = "https://pantau.example/schema/v1/"
STREAMS = ("flood", "traffic", "incident", "larva", "dropped", "status", "ack", "health",
           "rejected", "restore")
# Messages that pantau's own services send and no device does (protocol section 12): checked
# against their schema and the strict loader; the C validator reads device messages only.
OUTBOUND = ("alert",)
MIN_EXAMPLES = 30
MAX53 = 9007199254740991
SIZE_LIMIT = {"ack": 65536, "rejected": 16384}  # protocol section 8; every other message: 8192 bytes
DEFAULT_SIZE_LIMIT = 8192
PAYLOAD_SHOWN = 600                  # bytes of a payload printed with a disagreement (-v: all)


def log(*args):
    print(*args, flush=True)


def vlog(*args):
    if VERBOSE:
        print(*args, flush=True)


def short(data, limit=400):
    text = data.decode("utf-8", "backslashreplace") if isinstance(data, bytes) else str(data)
    return text if len(text) <= limit else text[:limit] + "...(%d bytes)" % len(data)


# ----------------------------------------------------------------------------------------------
# Strict I-JSON loader (protocol 4.0; RFC 7493)

class StrictError(Exception):
    pass


def _no_duplicates(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise StrictError("duplicate member name %r" % key)
        obj[key] = value
    return obj


def _no_constant(name):
    raise StrictError("%s is not JSON" % name)


def _finite_float(text):
    value = float(text)
    if math.isinf(value):
        raise StrictError("number %s is not finite as a double" % text[:40])
    return value


def _finite_int(text):
    value = int(text)
    try:
        if math.isinf(float(value)):
            raise OverflowError
    except OverflowError:
        raise StrictError("number %s... is not finite as a double" % text[:40]) from None
    return value


def _noncharacter(cp):
    return 0xFDD0 <= cp <= 0xFDEF or (cp & 0xFFFE) == 0xFFFE


def _check_code_points(value):
    """RFC 7493 2.1: no surrogates (json leaves an escaped lone one as is) and no
    noncharacters, in names and in values."""
    if isinstance(value, str):
        for ch in value:
            if 0xD800 <= ord(ch) <= 0xDFFF:
                raise StrictError("lone surrogate in string %r" % value[:40])
            if _noncharacter(ord(ch)):
                raise StrictError("noncharacter U+%04X in string" % ord(ch))
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_code_points(key)
            _check_code_points(item)
    elif isinstance(value, list):
        for item in value:
            _check_code_points(item)


def size_limit(stream):
    return SIZE_LIMIT.get(stream, DEFAULT_SIZE_LIMIT)


def load_strict(data, stream):
    """Bytes -> dict, or StrictError: UTF-8 without BOM, RFC 8259 grammar (json's C scanner),
    no duplicate names, no NaN/Infinity, finite numbers, no lone surrogates or noncharacters,
    an object at the top, within the stream's size limit."""
    if len(data) > size_limit(stream):
        raise StrictError("payload of %d bytes is over the %d-byte limit"
                          % (len(data), size_limit(stream)))
    if data.startswith(b"\xef\xbb\xbf"):
        raise StrictError("byte-order mark")
    try:
        text = data.decode("utf-8", "strict")
    except UnicodeDecodeError as exc:
        raise StrictError("not UTF-8: %s" % exc) from None
    try:
        doc = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant,
                         parse_float=_finite_float, parse_int=_finite_int)
    except json.JSONDecodeError as exc:
        raise StrictError("not JSON: %s" % exc) from None
    except RecursionError:
        raise StrictError("nested too deep") from None
    _check_code_points(doc)
    if not isinstance(doc, dict):
        raise StrictError("top level is %s, not an object" % type(doc).__name__)
    return doc


# ----------------------------------------------------------------------------------------------
# Schemas

def load_schemas():
    schemas = {}
    for name in sorted(os.listdir(SCHEMA_DIR)):
        if name.endswith(".json"):
            with open(os.path.join(SCHEMA_DIR, name), "rb") as f:
                schemas[name[:-5]] = load_strict_file(f.read(), name)
    return schemas


def load_strict_file(data, name):
    try:
        return json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates,
                          parse_constant=_no_constant)
    except (ValueError, StrictError) as exc:
        raise AssertionError("schema/json/%s: %s" % (name, exc)) from None


class SchemaSet:
    """All schema files, with $refs resolved from memory (no network): by $id, so relative
    references such as "defs.json#/$defs/seq" resolve against the referring file's $id."""

    def __init__(self):
        self.schemas = load_schemas()
        self.by_id = {s.get("$id"): s for s in self.schemas.values()}
        self.validators = {}
        for name, schema in self.schemas.items():
            resolver = jsonschema.RefResolver(base_uri=schema.get("$id", ""), referrer=schema,
                                              store=dict(self.by_id))
            self.validators[name] = jsonschema.Draft202012Validator(schema, resolver=resolver)

    def errors(self, stream, doc):
        """[(keyword, instance path, schema path, message)] for doc against the stream's schema."""
        out = []
        for err in self.validators[stream].iter_errors(doc):
            out.append((err.validator, "/" + "/".join(str(p) for p in err.absolute_path),
                        "/".join(str(p) for p in err.absolute_schema_path), err.message))
        return sorted(out, key=lambda e: (e[1], e[0]))

    def resolve(self, base_id, ref):
        """(schema fragment, its document's $id) for a $ref found in document base_id."""
        url, fragment = urldefrag(urljoin(base_id, ref))
        doc = self.by_id[url]
        node = doc
        for part in [p for p in fragment.split("/") if p]:
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node, url

    def flat(self, node, base_id):
        """A schema node with its $ref chain merged in (the referrer's keywords win): enough to
        read min/max, lengths, pattern, type and enum at one place of a document."""
        merged = {}
        seen = 0
        while isinstance(node, dict):
            for key, value in node.items():
                merged.setdefault(key, value)
            if "$ref" not in node or seen > 20:
                break
            node, base_id = self.resolve(base_id, node["$ref"])
            seen += 1
        merged.pop("$ref", None)
        merged["__base"] = base_id
        return merged

    def at(self, stream, path):
        """Flattened subschema that applies at path (keys and indexes) in a document of the
        stream, or None where the schema does not describe that place."""
        root = self.schemas[stream]
        node = self.flat(root, root["$id"])
        for part in path:
            base = node["__base"]
            child = None
            if isinstance(part, str):
                if part in node.get("properties", {}):
                    child = node["properties"][part]
                else:
                    for pattern, sub in node.get("patternProperties", {}).items():
                        if re.search(pattern, part):
                            child = sub
                            break
                    else:
                        extra = node.get("additionalProperties")
                        child = extra if isinstance(extra, dict) else None
            else:
                prefix = node.get("prefixItems", [])
                child = prefix[part] if part < len(prefix) else node.get("items")
                child = child if isinstance(child, dict) else None
            if child is None:
                return None
            node = self.flat(child, base)
        return node


# ----------------------------------------------------------------------------------------------
# Protocol section 9, re-stated as a test oracle (NOT part of the schemas)

def real_date(ts):
    try:
        datetime.date(int(ts[0:4]), int(ts[5:7]), int(ts[8:10]))
        return True
    except ValueError:
        return False


def ranges_errors(name, ranges):
    errs = []
    for first, last in ranges:
        if first > last:
            errs.append("%s: range [%s, %s] has first > last" % (name, first, last))
    for (_, last_a), (first_b, _) in zip(ranges, ranges[1:]):
        if not last_a < first_b:
            errs.append("%s: ranges not ascending or overlapping" % name)
    return errs


def semantic_errors(stream, topic, doc):
    """Rules of protocol section 9 (2 to 6) for a document that passed the schema, and one
    that section 9 does not list: an acknowledgement has one item per store (6.1)."""
    errs = []
    for key in ("ts", "start", "end", "target", "restored"):
        if isinstance(doc.get(key), str) and not real_date(doc[key]):
            errs.append("%s: no such date" % key)
    if stream == "incident" and "end" in doc and doc["end"] < doc["start"]:
        errs.append("end: before start")
    if stream == "larva":
        seen = set()
        for item in doc["containers"]:
            if item["positive"] > item["inspected"]:
                errs.append("containers: positive > inspected")
            key = (item["type"], item["location"])
            if key in seen:
                errs.append("containers: duplicate (type, location)")
            seen.add(key)
        if doc["larvae_found"] != any(i["positive"] > 0 for i in doc["containers"]):
            errs.append("larvae_found: disagrees with containers")
    if stream == "dropped":
        errs += ranges_errors("ranges", doc["ranges"])
        if any(last >= doc["seq"] for _, last in doc["ranges"]):
            errs.append("ranges: not below seq")
    if stream == "ack":
        stores = [item["store"] for item in doc["acks"]]
        if len(set(stores)) != len(stores):
            errs.append("acks: two items for one store (6.1: one per store id)")
        for item in doc["acks"]:
            errs += ranges_errors("ranges", item["ranges"])
            errs += ranges_errors("dead", item.get("dead", []))
            for first, last in item.get("dead", []):
                # "a subset of ranges": each seq of the dead range is in some range
                covered = first
                for r_first, r_last in item["ranges"]:
                    if r_first <= covered <= r_last:
                        covered = r_last + 1
                if covered <= last:
                    errs.append("dead: not inside ranges")
    if stream == "health" and doc["collector"] != topic.rsplit("/", 1)[-1]:
        errs.append("collector: differs from the topic")
    # timestamps of one form (4.1) compare as text
    if stream == "restore" and doc["restored"] < doc["target"]:
        errs.append("restored: before target")
    return errs


class Verdict:
    """Reference verdict: stage is None (valid), "strict", "schema" or "semantic"."""

    def __init__(self, stage=None, detail=""):
        self.stage = stage
        self.detail = detail

    @property
    def ok(self):
        return self.stage is None

    def __str__(self):
        return "valid" if self.ok else "invalid at %s (%s)" % (self.stage, self.detail)


def reference_verdict(schemas, stream, topic, data):
    try:
        doc = load_strict(data, stream)
    except StrictError as exc:
        return Verdict("strict", str(exc))
    errors = schemas.errors(stream, doc)
    if errors:
        return Verdict("schema", "; ".join("%s at %s" % (e[0], e[1]) for e in errors[:4]))
    sem = semantic_errors(stream, topic, doc)
    if sem:
        return Verdict("semantic", "; ".join(sem))
    return Verdict()


def topic_stream(topic):
    parts = topic.split("/")
    if parts[:2] != ["pantau", "v1"]:
        return None
    if parts[2:4] == ["_sys", "health"] and len(parts) == 5:
        return "health"
    if parts[2:] == ["_sys", "rejected"]:
        return "rejected"
    if parts[2:] == ["_sys", "restore"]:
        return "restore"
    if parts[2:4] == ["_sys", "alert"] and len(parts) == 7:
        return "alert"
    if len(parts) == 4 and parts[3] in STREAMS:
        return parts[3]
    return None


# ----------------------------------------------------------------------------------------------
# The C validator

class CResult:
    def __init__(self, rc, out, err):
        self.rc = rc
        self.out = out.decode("utf-8", "replace").strip()
        self.err = err.decode("utf-8", "replace").strip()

    @property
    def ok(self):
        return self.rc == 0

    @property
    def usable(self):
        return self.rc in (0, 1)

    def __str__(self):
        text = self.out or self.err
        return "exit %d: %s" % (self.rc, text[:300])


def require_msgcheck():
    if not os.access(MSGCHECK, os.X_OK):
        raise AssertionError("C validator not found or not executable: %s (set PANTAU_BUILD_DIR "
                             "to the build directory; this test never skips)" % MSGCHECK)


def run_c(topic, data):
    try:
        proc = subprocess.run([MSGCHECK, topic], input=data, capture_output=True, timeout=20)
    except subprocess.TimeoutExpired:
        return CResult(-1, b"", b"timeout after 20 s")
    return CResult(proc.returncode, proc.stdout, proc.stderr)


def run_c_all(cases):
    """cases: [(topic, data)] -> [CResult], in parallel."""
    workers = min(32, (os.cpu_count() or 2) * 2)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda c: run_c(c[0], c[1]), cases))


# ----------------------------------------------------------------------------------------------
# Examples of docs/protocol.md

MARKER = re.compile(r"^<!-- example (valid|invalid|semantic) ([a-z_]+) topic=(\S+)"
                    r"(?: reason=(\S+))? -->$")


class Example:
    def __init__(self, line, kind, stream, topic, reason, payload):
        self.line = line
        self.kind = kind
        self.stream = stream
        self.topic = topic
        self.reason = reason
        self.payload = payload

    def __str__(self):
        return "protocol.md:%d %s %s%s" % (self.line, self.kind, self.stream,
                                           " reason=" + self.reason if self.reason else "")


def extract_examples():
    with open(PROTOCOL_MD, "rb") as f:
        lines = f.read().decode("utf-8").split("\n")
    examples, problems = [], []
    for i, line in enumerate(lines):
        if line == "```json" and (i == 0 or not lines[i - 1].startswith("<!-- example")):
            problems.append("line %d: ```json block without an example marker" % (i + 1))
        if not line.startswith("<!-- example"):
            continue
        m = MARKER.match(line)
        if not m:
            problems.append("line %d: malformed example marker: %s" % (i + 1, line))
            continue
        if i + 1 >= len(lines) or lines[i + 1] != "```json":
            problems.append("line %d: example marker not followed by a ```json block" % (i + 1))
            continue
        end = i + 2
        while end < len(lines) and lines[end] != "```":
            end += 1
        if end >= len(lines):
            problems.append("line %d: ```json block never closed" % (i + 1))
            continue
        payload = "\n".join(lines[i + 2:end]).encode("utf-8")
        kind, stream, topic, reason = m.groups()
        if kind != "valid" and not reason:
            problems.append("line %d: %s example without reason=" % (i + 1, kind))
        examples.append(Example(i + 1, kind, stream, topic, reason, payload))
    return examples, problems


# ----------------------------------------------------------------------------------------------
# Generated cases

def dumps(doc):
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def walk(value, path=()):
    """Yield (path, value) for every place in a document (root excluded)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield path + (key,), item
            yield from walk(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield path + (index,), item
            yield from walk(item, path + (index,))


def objects(value, path=()):
    """Yield (path, dict) for every object, the root included."""
    if isinstance(value, dict):
        yield path, value
    if isinstance(value, (dict, list)):
        for key, item in (value.items() if isinstance(value, dict) else enumerate(value)):
            yield from objects(item, path + (key,))


def replaced(doc, path, value):
    out = copy.deepcopy(doc)
    node = out
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return out


def deleted(doc, path):
    out = copy.deepcopy(doc)
    node = out
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    return out


def json_type(value):
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return {str: "string", list: "array", dict: "object"}[type(value)]


TYPE_SAMPLES = ["x", 7, True, None, [], {}]
TIMESTAMPS = [
    "1970-01-01T00:00:00.000Z", "2099-12-31T23:59:59.999Z", "2100-01-01T00:00:00.000Z",
    "1969-12-31T23:59:59.999Z", "2026-02-11T24:00:00.000Z", "2026-02-11T23:59:60.000Z",
    "2026-02-11T23:60:00.000Z", "2026-02-11T03:15:00Z", "2026-02-11T03:15:00.00Z",
    "2026-02-11T03:15:00.0000Z", "2026-02-11T03:15:00.000+00:00", "2026-02-11t03:15:00.000z",
    "2026-02-11 03:15:00.000Z", "2024-02-29T00:00:00.000Z", "2000-02-29T00:00:00.000Z",
    "2026-02-29T00:00:00.000Z", "2026-04-31T00:00:00.000Z", "2026-13-01T00:00:00.000Z",
    "2026-00-10T00:00:00.000Z", "2026-01-00T00:00:00.000Z", "2026-01-32T00:00:00.000Z",
    "+2026-01-01T00:00:00.000Z", "2026-02-11T03:15:00.000Z\n", "",
]


def filler_for(sub):
    """A one-code-point character that the string schema's pattern accepts in bulk, or None."""
    pattern = sub.get("pattern")
    for ch in ("é", "a", "0"):
        if pattern is None or re.search(pattern, ch * 3):
            return ch
    return None


def number_cases(sub, value):
    lo, hi = sub.get("minimum"), sub.get("maximum")
    integer = sub.get("type") == "integer"
    out = []
    for bound, outward in ((lo, -1), (hi, 1)):
        if bound is None:
            continue
        if integer:
            # the bound, one past it, the bound written as 5.0, a non-integral value inside
            out += [bound, bound + outward, float(bound), bound - 0.5 * outward]
        else:
            out += [bound, float(bound), math.nextafter(float(bound), outward * math.inf),
                    bound + outward * 0.5]
            if bound == 0:
                out += [-0.0, 5e-324]
    return out


def generate(schemas, example):
    """[(label, data)] derived from one valid example."""
    stream = example.stream
    doc = load_strict(example.payload, stream)
    cases = []

    def add(label, new_doc):
        cases.append((label, dumps(new_doc)))

    add("re-encoded", doc)
    # members of the other streams, with values that are right where they belong
    for other in Context.examples():
        if other.kind == "valid" and other.stream != stream and other.stream in STREAMS:
            for key, value in load_strict(other.payload, other.stream).items():
                if key not in schemas.schemas[stream]["properties"] and not key.startswith("x_"):
                    add("member of %s: %s" % (other.stream, key), replaced(doc, (key,), value))
    # every member dropped, one at a time; unknown and extension members in every object
    for path, obj in objects(doc):
        for key in obj:
            add("drop %s" % "/".join(map(str, path + (key,))), deleted(doc, path + (key,)))
        where = "/".join(map(str, path)) or "(root)"
        add("unknown member in %s" % where, replaced(doc, path + ("zz_unknown",), 1))
        add("x_test in %s" % where, replaced(doc, path + ("x_test",), "t"))
        if not path:
            for name, value in (("x_" + "a" * 30, 1), ("x_" + "a" * 31, 1), ("x_", 1),
                                ("x_A", 1), ("X_test", 1), ("x-test", 1), ("x_a\n", 1),
                                ("x_test", 1.5), ("x_test", True), ("x_test", False),
                                ("x_test", None), ("x_test", -1e300), ("x_test", "é" * 200),
                                ("x_test", "é" * 201), ("x_test", ""), ("x_test", "a\u0001"),
                                ("x_test", "a\u007f"), ("x_test", "a\n"), ("x_test", []),
                                ("x_test", {}), ("x_test", [1]), ("x_test", {"a": 1})):
                add("extension %r=%r" % (name, value), replaced(doc, (name,), value))
    # wrong types, numeric boundaries and string lengths at every place
    for path, value in walk(doc):
        label = "/".join(map(str, path))
        for sample in TYPE_SAMPLES:
            if json_type(sample) != json_type(value):
                add("type %s=%s" % (label, json.dumps(sample)), replaced(doc, path, sample))
        sub = schemas.at(stream, path)
        if sub is None:
            continue
        if json_type(value) == "number":
            for number in number_cases(sub, value):
                add("bound %s=%r" % (label, number), replaced(doc, path, number))
        if isinstance(value, str):
            add("newline after %s" % label, replaced(doc, path, value + "\n"))
            add("upper-case %s" % label, replaced(doc, path, value.upper()))
            fill = filler_for(sub)
            if "maxLength" in sub and fill:
                for n in (sub["maxLength"], sub["maxLength"] + 1):
                    add("length %s=%d" % (label, n), replaced(doc, path, fill * n))
                    if fill == "é":      # astral: one code point, four UTF-8 bytes
                        add("length %s=%d astral" % (label, n),
                            replaced(doc, path, "\U0001F30A" * n))
            if sub.get("minLength", 0) > 0:
                add("empty %s" % label, replaced(doc, path, ""))
            if "enum" in sub:
                for member in sub["enum"]:
                    add("enum %s=%s" % (label, member), replaced(doc, path, member))
            if sub.get("title") == "Timestamp" or "T([01][0-9]|2[0-3])" in sub.get("pattern", ""):
                for ts in TIMESTAMPS:
                    add("timestamp %s=%r" % (label, ts), replaced(doc, path, ts))
    return cases


def raw_cases(example):
    """[(label, data)]: byte-level I-JSON edge cases built on one valid example."""
    stream = example.stream
    doc = load_strict(example.payload, stream)
    body = dumps(doc)
    assert body.endswith(b"}")
    inner = body[:-1]
    first_key = next(iter(doc))
    limit = size_limit(stream)

    def with_member(raw):
        return inner + b',"x_test":' + raw + b"}"

    cases = [
        ("BOM", b"\xef\xbb\xbf" + body),
        ("leading white space", b" \t\r\n" + body),
        ("trailing white space", body + b"\n \t\r\n"),
        ("trailing garbage", body + b"x"),
        ("two objects", body + body),
        ("trailing comma", inner + b",}"),
        ("comment", inner + b"/* c */}"),
        ("single quotes", inner + b",'x_test':1}"),
        ("duplicate member %s" % first_key,
         inner + b"," + json.dumps(first_key).encode() + b":"
         + json.dumps(doc[first_key]).encode() + b"}"),
        ("duplicate extension", inner + b',"x_test":1,"x_test":1}'),
        ("empty payload", b""),
        ("white space only", b"  "),
        ("top-level array", b"[" + body + b"]"),
        ("top-level string", b'"x"'),
        ("top-level number", b"1"),
        ("top-level null", b"null"),
        ("truncated", body[:-1]),
        ("deep nesting", with_member(b"[" * 3500 + b"]" * 3500)),
        ("nested 3 levels in extension", with_member(b"[[[1]]]")),
        ("latin-1 byte", with_member(b'"caf\xe9"')),
        ("invalid byte ff", with_member(b'"\xff"')),
        ("overlong slash", with_member(b'"\xc0\xaf"')),
        ("utf-8 surrogate", with_member(b'"\xed\xa0\x80"')),
        ("truncated utf-8", with_member(b'"\xe2\x82"')),
        ("code point above U+10FFFF", with_member(b'"\xf4\x90\x80\x80"')),
        ("raw utf-8 emoji", with_member('"\U0001F30A"'.encode())),
        ("escaped surrogate pair", with_member(b'"\\ud83c\\udf0a"')),
        ("escaped lone high surrogate", with_member(b'"\\ud800"')),
        ("escaped lone low surrogate", with_member(b'"\\udc00"')),
        ("escaped reversed pair", with_member(b'"\\udf0a\\ud83c"')),
        ("escaped noncharacter U+FFFE", with_member(b'"\\ufffe"')),
        ("escaped noncharacter U+FDD0", with_member(b'"\\ufdd0"')),
        ("raw noncharacter U+FFFF", with_member('"\uffff"'.encode())),
        ("raw noncharacter U+10FFFF", with_member('"\U0010ffff"'.encode())),
        ("escaped noncharacter pair U+1FFFE", with_member(b'"\\ud83f\\udffe"')),
        ("raw U+FFFD", with_member('"\ufffd"'.encode())),
        ("escaped NUL", with_member(b'"a\\u0000b"')),
        ("escaped U+001F", with_member(b'"\\u001f"')),
        ("escaped DEL", with_member(b'"\\u007f"')),
        ("escaped U+0080", with_member(b'"\\u0080"')),
        ("escaped newline", with_member(b'"\\n"')),
        ("raw tab in string", with_member(b'"a\tb"')),
        ("raw DEL in string", with_member(b'"a\x7fb"')),
        ("escaped solidus", with_member(b'"a\\/b"')),
        ("bad escape", with_member(b'"\\x41"')),
        ("short unicode escape", with_member(b'"\\u12"')),
        ("escaped key", inner + b',"x_\\u0074est":1}'),
        ("number 1e400", with_member(b"1e400")),
        ("number -1e400", with_member(b"-1e400")),
        ("number 1e-400", with_member(b"1e-400")),
        ("integer of 400 digits", with_member(b"1" * 400)),
        ("NaN", with_member(b"NaN")),
        ("Infinity", with_member(b"Infinity")),
        ("-Infinity", with_member(b"-Infinity")),
        ("leading zero", with_member(b"01")),
        ("leading plus", with_member(b"+1")),
        ("trailing dot", with_member(b"1.")),
        ("leading dot", with_member(b".5")),
        ("hex number", with_member(b"0x10")),
        ("exponent", with_member(b"1E+2")),
        ("minus zero", with_member(b"-0")),
        ("minus zero float", with_member(b"-0.0e-0")),
        ("True capitalised", with_member(b"True")),
        ("nul byte after object", body + b"\x00"),
        ("empty object", b"{}"),
        ("duplicate name spelt with an escape",
         inner + b"," + json.dumps(first_key, ensure_ascii=True).encode()[:-2]
         + ("\\u%04x" % ord(first_key[-1])).encode() + b'":'
         + json.dumps(doc[first_key]).encode() + b"}"),
        ("duplicate name in a nested object", with_member(b'{"a":1,"a":1}')),
    ]
    # numbers spelt differently: the same value must give the same verdict
    for key, value in doc.items():
        if isinstance(value, int) and not isinstance(value, bool) and key != first_key:
            member = json.dumps(key).encode()
            for spelling in (b"%de0" % value, b"%d.000" % value, b"%d.0000000000000001" % value,
                             b"%dE+0" % value, b"%d.4" % value, b"-0" if value == 0 else None,
                             b"%.3e" % value if value >= 1000 else None):
                if spelling is not None:
                    raw = body.replace(member + b":" + b"%d" % value, member + b":" + spelling, 1)
                    cases.append(("number %s=%s" % (key, spelling.decode()), raw))
        if isinstance(value, str) and "-" in value and key not in ("ts", "start", "end",
                                                                   "target", "restored"):
            member = json.dumps(key).encode()
            raw = body.replace(member + b":" + json.dumps(value).encode(),
                               member + b':"' + value.replace("-", "\\u002d").encode() + b'"', 1)
            cases.append(("escaped hyphen in %s" % key, raw))
    for pad, label in ((limit - len(body), "at the size limit"),
                       (limit - len(body) + 1, "one byte over the size limit")):
        cases.append(("white space %s (%d bytes)" % (label, limit), body + b" " * pad))
    return cases


def stream_cases(example):
    """[(label, data)]: list sizes and member combinations of one stream, on a valid example."""
    stream = example.stream
    doc = load_strict(example.payload, stream)
    store = "6f1c2b0e-9a57-4d1e-8d0c-3a1f2e4b5c6d"
    out = []

    def add(label, **changes):
        new = copy.deepcopy(doc)
        for key, value in changes.items():
            if value is DROP:
                new.pop(key, None)
            else:
                new[key] = value
        out.append((label, dumps(new)))

    def pairs(n, start=1, step=2):
        return [[start + step * i, start + step * i] for i in range(n)]

    if stream == "flood":
        add("distance without offset", offset_cm=DROP)
        add("offset without distance", distance_cm=DROP)
        add("discharge only", level_cm=DROP, distance_cm=DROP, offset_cm=DROP,
            discharge_m3s=0)
        add("level and discharge", discharge_m3s=100000)
        add("no level, no discharge", level_cm=DROP, discharge_m3s=DROP)
    elif stream == "traffic":
        add("counts empty", counts={})
        add("counts all five at the maximum",
            counts={k: 1000000 for k in ("motorcycle", "car", "bus", "truck", "nonmotor")})
        add("counts with an extension", counts={"car": 1, "x_test": 1})
        add("interval 5.0", interval_s=5.0)
    elif stream == "incident":
        add("state end without end", state="end", end=DROP)
        add("state update with end", state="update", end=doc["start"])
        add("state new with end", state="new", end=doc["start"])
        add("state end, end equal to start", state="end", end=doc["start"])
        add("snapshot of 512", snapshot="s" * 512)
        add("snapshot of 513", snapshot="s" * 513)
    elif stream == "larva":
        types = [t for t in ("bath_tub", "wc_tub", "drum", "jar", "bucket", "tank",
                             "bird_dish", "flower_vase", "dispenser_tray", "fridge_tray",
                             "used_goods", "tree_hole", "leaf_axil", "coconut_shell", "other")]
        distinct = [{"type": t, "location": loc, "inspected": 1, "positive": 0}
                    for t in types for loc in ("indoor", "outdoor")]
        add("30 distinct containers", containers=distinct, larvae_found=False)
        add("40 containers (10 repeated)", containers=distinct + distinct[:10],
            larvae_found=False)
        add("41 containers", containers=distinct + distinct[:11], larvae_found=False)
        add("container with an extension", larvae_found=False,
            containers=[{"type": "jar", "location": "indoor", "inspected": 1, "positive": 0,
                         "x_test": 1}])
        add("container without positive", larvae_found=False,
            containers=[{"type": "jar", "location": "indoor", "inspected": 1}])
        add("positive equal to inspected", larvae_found=True,
            containers=[{"type": "jar", "location": "indoor", "inspected": 1000,
                         "positive": 1000}])
        add("all nine actions", actions=["drain", "cover", "recycle", "larvicide", "fish",
                                         "repellent", "net", "plant", "other"])
        add("no actions", actions=[])
        add("lat without lon", lat=-6.2, lon=DROP)
        add("lon without lat", lon=107.0, lat=DROP)
        add("lat and lon at the corners", lat=-11, lon=141)
        add("note of 200", note="é" * 200)
        add("note of 201", note="é" * 201)
        add("empty note", note="")
    elif stream == "dropped":
        add("100 ranges", ranges=pairs(100), seq=1000)
        add("101 ranges", ranges=pairs(101), seq=1000)
        add("adjacent ranges", ranges=[[1, 5], [6, 9]], seq=10)
        add("range touching seq", ranges=[[1, 10]], seq=10)
        add("range of three numbers", ranges=[[1, 2, 3]], seq=10)
        add("range as object", ranges=[{"first": 1, "last": 2}], seq=10)
        add("no ranges", ranges=[])
        add("range of the largest seqs", seq=MAX53, ranges=[[MAX53 - 1, MAX53 - 1]])
    elif stream == "status":
        stations = {"st-%02d" % i: "online" for i in range(17)}
        add("16 stations", stations=dict(list(stations.items())[:16]))
        add("17 stations", stations=stations)
        add("no stations", stations={})
        add("station named like an extension", stations={"x_test": "online"})
        add("station value not a state", stations={"x_test": 1})
        for key in ("P2C", "_x", "a/b", "a+b", "a" * 64, "a" * 65, ""):
            add("station key %r" % key, stations={key: "offline"})
        add("agent of 64", agent="é" * 64)
        add("agent of 65", agent="é" * 65)
    elif stream == "ack":
        many = pairs(1000)
        add("16 stores", acks=[{"store": "%08x-9a57-4d1e-8d0c-3a1f2e4b5c6d" % i,
                                "ranges": [[1, 2]]} for i in range(16)])
        add("17 stores", acks=[{"store": "%08x-9a57-4d1e-8d0c-3a1f2e4b5c6d" % i,
                                "ranges": [[1, 2]]} for i in range(17)])
        add("1000 ranges, 1000 dead", acks=[{"store": store, "ranges": many, "dead": many}])
        add("1001 ranges", acks=[{"store": store, "ranges": pairs(1001)}])
        add("1001 dead", acks=[{"store": store, "ranges": [[1, 5000]], "dead": pairs(1001)}])
        add("no acks", acks=[])
        add("empty dead", acks=[{"store": store, "ranges": [[1, 2]], "dead": []}])
        add("dead equal to ranges", acks=[{"store": store, "ranges": [[1, 2]],
                                           "dead": [[1, 2]]}])
        add("dead outside ranges", acks=[{"store": store, "ranges": [[1, 2]],
                                          "dead": [[2, 3]]}])
        add("overlapping ranges", acks=[{"store": store, "ranges": [[1, 5], [5, 9]]}])
        add("adjacent ranges", acks=[{"store": store, "ranges": [[1, 5], [6, 9]]}])
        add("dead across adjacent ranges", acks=[{"store": store, "ranges": [[1, 5], [6, 9]],
                                                  "dead": [[4, 7]]}])
        add("two items for one store", acks=[{"store": store, "ranges": [[1, 5]]},
                                             {"store": store, "ranges": [[7, 9]]}])
        add("item with an extension", acks=[{"store": store, "ranges": [[1, 5]], "x_test": 1}])
    elif stream == "rejected":
        for b64 in ("", "ab==", "abc=", "abcd", "a===", "abc", "ab=c", "ab-_", "ab==ab==",
                    "YWJj\n", "A" * 10924, "A" * 10928):
            add("payload_b64 %s" % short(b64, 20), payload_b64=b64)
        add("topic of 256", topic="t" * 256)
        add("topic of 257", topic="t" * 257)
        add("reason of 200", reason="é" * 200)
        add("reason of 201", reason="é" * 201)
    elif stream == "health":
        add("collector of another topic", collector="collector-10")
    elif stream == "restore":
        add("restored before target", restored="2026-12-07T21:20:51.659Z")
        add("restored at target", restored="2026-12-07T21:20:51.660Z")
        add("epoch 0", epoch=0)
    return out


DROP = object()


# ----------------------------------------------------------------------------------------------
# Tests

class Context:
    _schemas = None
    _examples = None

    @classmethod
    def schemas(cls):
        if cls._schemas is None:
            cls._schemas = SchemaSet()
        return cls._schemas

    @classmethod
    def examples(cls):
        if cls._examples is None:
            examples, problems = extract_examples()
            if problems:
                raise AssertionError("docs/protocol.md: " + "; ".join(problems))
            if len(examples) < MIN_EXAMPLES:
                raise AssertionError("docs/protocol.md has %d examples, expected at least %d"
                                     % (len(examples), MIN_EXAMPLES))
            cls._examples = examples
        return cls._examples


def test_schema_files_are_valid_draft_2020_12():
    s = Context.schemas()
    missing = set(STREAMS + OUTBOUND + ("defs",)) - set(s.schemas)
    assert not missing, "schema/json/ lacks %s" % ", ".join(sorted(missing))
    extra = set(s.schemas) - set(STREAMS + OUTBOUND + ("defs",))
    assert not extra, "schema/json/ has unexpected files: %s" % ", ".join(sorted(extra))
    for name, schema in s.schemas.items():
        assert schema.get("$schema") == DRAFT_2020_12, "%s.json: $schema is not 2020-12" % name
        assert schema.get("$id") == ID_BASE + name + ".json", "%s.json: $id %r" % (
            name, schema.get("$id"))
        assert schema.get("title") and schema.get("description"), "%s.json: title" % name
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            raise AssertionError("%s.json is not a valid 2020-12 schema: %s at %s"
                                 % (name, exc.message, list(exc.absolute_path))) from None


def test_schema_refs_resolve_offline():
    s = Context.schemas()
    count = 0

    def visit(node, base, where):
        nonlocal count
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                try:
                    s.resolve(base, node["$ref"])
                except (KeyError, IndexError, TypeError):
                    raise AssertionError("%s: $ref %r does not resolve" % (where, node["$ref"]))
                count += 1
            for key, item in node.items():
                if key not in ("examples", "enum", "const"):
                    visit(item, base, where + "/" + key)
        elif isinstance(node, list):
            for index, item in enumerate(node):
                visit(item, base, "%s/%d" % (where, index))

    for name, schema in s.schemas.items():
        visit(schema, schema["$id"], name + ".json#")
    vlog("  %d $refs resolve" % count)


def test_schema_properties_are_documented():
    s = Context.schemas()
    undocumented = []

    def visit(node, where):
        if isinstance(node, dict):
            for key, sub in node.get("properties", {}).items():
                if not (isinstance(sub, dict) and sub.get("description")):
                    undocumented.append(where + "/properties/" + key)
            for key, item in node.items():
                # conditions (if, not, ...) restate members; they are documented where defined
                if key not in ("examples", "enum", "const", "if", "then", "else", "not",
                               "anyOf", "allOf", "oneOf", "dependentSchemas"):
                    visit(item, where + "/" + key)
        elif isinstance(node, list):
            for index, item in enumerate(node):
                visit(item, "%s/%d" % (where, index))

    for name, schema in s.schemas.items():
        visit(schema, name + ".json#")
    assert not undocumented, "properties without a description: " + ", ".join(undocumented)


def test_schema_examples_validate():
    s = Context.schemas()
    failures = []
    for stream in STREAMS + OUTBOUND:
        examples = s.schemas[stream].get("examples")
        if not examples:
            failures.append("%s.json has no examples" % stream)
            continue
        for index, doc in enumerate(examples):
            try:
                doc = load_strict(dumps(doc), stream)
            except StrictError as exc:
                failures.append("%s.json examples/%d: %s" % (stream, index, exc))
                continue
            for err in s.errors(stream, doc):
                failures.append("%s.json examples/%d: %s at %s: %s"
                                % (stream, index, err[0], err[1], err[3]))
    assert not failures, "\n    ".join(failures)


def test_schema_examples_are_the_protocol_examples():
    s = Context.schemas()
    for stream in STREAMS + OUTBOUND:
        documented = [load_strict(e.payload, stream) for e in Context.examples()
                      if e.kind == "valid" and e.stream == stream]
        assert s.schemas[stream]["examples"] == documented, (
            "%s.json: `examples` differ from the valid examples of docs/protocol.md (copy "
            "them over, in document order)" % stream)


def test_kelurahan_enum_matches_wilayah_csv():
    with open(WILAYAH_CSV, newline="", encoding="utf-8") as f:
        codes = [row["code"] for row in csv.DictReader(f) if row["level"] == "kelurahan"]
    assert len(codes) == 56, "bekasi_wilayah.csv has %d kelurahan, expected 56" % len(codes)
    enum = Context.schemas().schemas["defs"]["$defs"]["kelurahan"]["enum"]
    assert len(enum) == len(set(enum)), "kelurahan enum has duplicates"
    assert set(enum) == set(codes), "kelurahan enum differs from the CSV: only in enum %s, " \
        "only in CSV %s" % (sorted(set(enum) - set(codes)), sorted(set(codes) - set(enum)))


def test_protocol_examples_against_schema():
    s = Context.schemas()
    examples = Context.examples()
    failures = []
    kinds = {}
    for ex in examples:
        kinds[ex.kind] = kinds.get(ex.kind, 0) + 1
        if ex.stream not in STREAMS + OUTBOUND:
            failures.append("%s: unknown stream" % ex)
            continue
        if topic_stream(ex.topic) != ex.stream:
            failures.append("%s: topic %s is not a %s topic" % (ex, ex.topic, ex.stream))
        verdict = reference_verdict(s, ex.stream, ex.topic, ex.payload)
        vlog("  %-55s %s" % (ex, verdict))
        if ex.kind == "valid" and not verdict.ok:
            failures.append("%s: expected valid, got %s" % (ex, verdict))
        elif ex.kind == "invalid" and verdict.stage not in ("strict", "schema"):
            failures.append("%s: expected to fail the loader or schema, got %s" % (ex, verdict))
        elif ex.kind == "semantic" and verdict.stage != "semantic":
            failures.append("%s: expected to pass the schema and fail only section 9, got %s"
                            % (ex, verdict))
    log("  %d examples: %s" % (len(examples), ", ".join(
        "%d %s" % (n, k) for k, n in sorted(kinds.items()))))
    assert not failures, "\n    ".join(failures)


def test_protocol_examples_against_c_validator():
    require_msgcheck()
    examples = [ex for ex in Context.examples() if ex.stream in STREAMS]
    results = run_c_all([(ex.topic, ex.payload) for ex in examples])
    failures = []
    for ex, res in zip(examples, results):
        vlog("  %-55s C %s" % (ex, res))
        if not res.usable:
            failures.append("%s: C validator %s" % (ex, res))
        elif ex.kind == "valid":
            if not res.ok:
                failures.append("%s: expected valid, C says %s" % (ex, res))
            elif res.out != "ok " + ex.stream:
                failures.append("%s: C says %r, expected 'ok %s'" % (ex, res.out, ex.stream))
        else:
            if res.ok:
                failures.append("%s: expected invalid, C says %s" % (ex, res))
            elif ex.reason.lower() not in res.out.lower():
                failures.append("%s: C reason %r does not name %r" % (ex, res.out, ex.reason))
            elif not res.out.startswith("invalid: "):
                failures.append("%s: C output %r is not 'invalid: <code>: <reason>'"
                                % (ex, res.out))
    assert not failures, "\n    ".join(failures)


def case_kind(label):
    """The kind of a generated case, from its label: "bound seq=0" -> "bound seq"."""
    kind = label.split("=")[0]
    return re.sub(r"/[0-9]+", "/*", kind)[:28]


def test_generated_cases_agree_with_c_validator():
    s = Context.schemas()
    examples = [ex for ex in Context.examples() if ex.kind == "valid" and ex.stream in STREAMS]
    cases, seen = [], set()
    first_of_stream = set()
    for ex in examples:
        generated = generate(s, ex)
        if ex.stream not in first_of_stream:
            first_of_stream.add(ex.stream)
            generated += raw_cases(ex) + stream_cases(ex)
        for label, data in generated:
            if (ex.topic, data) not in seen:
                seen.add((ex.topic, data))
                cases.append((ex, label, data))
    expected = [reference_verdict(s, ex.stream, ex.topic, data) for ex, _, data in cases]

    # the reference itself must see what the schemas promise
    sanity = []
    for (ex, label, data), verdict in zip(cases, expected):
        must_fail = (label.startswith(("unknown member", "member of "))
                     or (label.startswith("type ") and not label.startswith("type x_")))
        required_drop = label.startswith("drop ") and label.count("/") == 0 and \
            label[5:] in s.schemas[ex.stream]["required"]
        if (must_fail or required_drop) and verdict.ok:
            sanity.append("%s [%s]: the reference verdict is valid: %s" % (ex, label, short(data)))
        if label in ("re-encoded", "x_test in (root)") and not verdict.ok:
            sanity.append("%s [%s]: the reference verdict is %s" % (ex, label, verdict))
    assert not sanity, "\n    ".join(sanity)

    require_msgcheck()
    started = time.monotonic()
    results = run_c_all([(ex.topic, data) for ex, _, data in cases])
    elapsed = time.monotonic() - started
    n_valid = sum(1 for v in expected if v.ok)
    by_stage = {}
    for v in expected:
        by_stage[v.stage or "valid"] = by_stage.get(v.stage or "valid", 0) + 1
    log("  %d generated cases from %d valid examples (%s), C validator run in %.1f s"
        % (len(cases), len(examples),
           ", ".join("%d %s" % (n, k) for k, n in sorted(by_stage.items())), elapsed))
    disagreements = []
    for (ex, label, data), verdict, res in zip(cases, expected, results):
        if not res.usable or verdict.ok != res.ok:
            disagreements.append((ex, label, data, verdict, res))
        elif VERBOSE and not verdict.ok:
            vlog("  agree %-10s %-40s %s | C %s" % (ex.stream, label[:40], verdict, res.out))
    # a summary by kind of case, then the first case of each kind before the rest
    kinds = {}
    for ex, label, _, _, _ in disagreements:
        kind = (ex.stream, case_kind(label))
        kinds[kind] = kinds.get(kind, 0) + 1
    for (stream, kind), count in sorted(kinds.items()):
        log("  disagreements: %-9s %-28s %d" % (stream, kind, count))
    shown = set()
    firsts = [d for d in disagreements
              if (d[0].stream, case_kind(d[1])) not in shown
              and not shown.add((d[0].stream, case_kind(d[1])))]
    rest = [d for d in disagreements if d not in firsts]
    for ex, label, data, verdict, res in firsts + rest:
        log("  DISAGREE %s [%s] topic=%s\n    payload:   %s\n    reference: %s\n    C:         %s"
            % (ex.stream, label, ex.topic, short(data, 100000 if VERBOSE else PAYLOAD_SHOWN),
               verdict, res))
    assert not disagreements, "%d of %d generated cases: the C validator disagrees with the " \
        "reference (strict loader + schema + section 9)" % (len(disagreements), len(cases))
    assert n_valid > 0


TESTS = [
    test_schema_files_are_valid_draft_2020_12,
    test_schema_refs_resolve_offline,
    test_schema_properties_are_documented,
    test_schema_examples_validate,
    test_schema_examples_are_the_protocol_examples,
    test_kelurahan_enum_matches_wilayah_csv,
    test_protocol_examples_against_schema,
    test_protocol_examples_against_c_validator,
    test_generated_cases_agree_with_c_validator,
]


def main():
    log("source %s, C validator %s" % (SOURCE_DIR, MSGCHECK))
    failed = []
    for test in TESTS:
        log("RUN  %s" % test.__name__)
        started = time.monotonic()
        try:
            test()
        except AssertionError as exc:
            failed.append(test.__name__)
            log("FAIL %s: %s" % (test.__name__, exc))
        except Exception:  # a bug in the test or an unreadable file: still a failure
            failed.append(test.__name__)
            log("FAIL %s: unexpected error\n%s" % (test.__name__, traceback.format_exc()))
        else:
            log("PASS %s (%.2f s)" % (test.__name__, time.monotonic() - started))
    log("%d of %d tests passed" % (len(TESTS) - len(failed), len(TESTS)))
    if failed:
        log("FAILED: " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
