#!/usr/bin/python3
"""test_app_validate.py -- the officers' app judges a larva report as the contract does:
app/web/js/validate.js, run under node (app/tools/validate_cli.mjs) on the schema files of
schema/json/ themselves, accepts every `valid` larva example of docs/protocol.md and refuses
every `invalid` and `semantic` one, naming the member the example's reason= names; and a
schema keyword it does not know stops it (a rule of a future schema is never skipped on the
phone). No server is needed; it runs with the integration tests because it needs node.

Also the words (app/web/i18n/): English (en.json) has exactly the keys of Bahasa Indonesia
(id.json), each with the same {placeholders}, and every key the page names (data-i18n in
index.html, t('key') in the modules) is in both.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from app_support import H  # noqa: E402

SOURCE = os.environ.get("PANTAU_SOURCE_DIR", os.path.abspath(os.path.join(HERE, "..", "..")))
CLI = os.path.join(SOURCE, "app", "tools", "validate_cli.mjs")
SCHEMAS = os.path.join(SOURCE, "schema", "json")
MARKER = re.compile(r"^<!-- example (valid|invalid|semantic) larva topic=\S+(?: reason=(\S+))? -->")


def larva_examples():
    """[(kind, reason, document)] of docs/protocol.md's larva examples."""
    with open(os.path.join(SOURCE, "docs", "protocol.md")) as f:
        lines = f.read().splitlines()
    out = []
    for i, line in enumerate(lines):
        m = MARKER.match(line)
        if m:
            assert lines[i + 1] == "```json", "line %d: no json block" % (i + 2)
            end = lines.index("```", i + 2)
            out.append((m.group(1), m.group(2), json.loads("\n".join(lines[i + 2:end]))))
    return out


def judge(docs, schema_dir=SCHEMAS):
    """validate.js's refusals of each document: a list of [{path, keyword}] lists."""
    r = subprocess.run(["node", CLI, schema_dir], input="".join(json.dumps(d) + "\n"
                                                                 for d in docs),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError("validate_cli.mjs failed (%d): %s" % (r.returncode, r.stderr))
    return [json.loads(line) for line in r.stdout.splitlines()]


def test_every_larva_example_of_the_protocol_is_judged_as_the_protocol_says():
    examples = larva_examples()
    assert len(examples) >= 10, "only %d larva examples" % len(examples)
    for (kind, reason, doc), errs in zip(examples, judge([e[2] for e in examples])):
        if kind == "valid":
            assert errs == [], "valid example seq %s refused: %s" % (doc["seq"], errs)
        else:
            assert errs, "%s example seq %s (%s) accepted" % (kind, doc["seq"], reason)
            members = {m for e in errs for m in e["path"].split("/")[1:]}
            assert reason in members, "seq %s: refused for %s, the protocol says %s" % (
                doc["seq"], errs, reason)


def test_what_the_form_can_get_wrong_is_named():
    base = larva_examples()[0][2]
    cases = [
        (dict(base, rt=0), "/rt", "minimum"),
        (dict(base, rw=1000), "/rw", "maximum"),
        (dict(base, containers=[{"type": "jar", "location": "indoor", "inspected": 1,
                                 "positive": 2}], larvae_found=True),
         "/containers/0/positive", "positive_le_inspected"),
        (dict(base, ts="2026-02-30T00:00:00.000Z"), "/ts", "date"),
        ({k: v for k, v in base.items() if k != "lon"}, "/lon", "dependentRequired"),
        (dict(base, inspector="jmt-\u200b0412"), "/inspector", "not"),
        (dict(base, colour="red"), "/colour", "additionalProperties"),
        (dict(base, x_app="pantau-app"), None, None),
    ]
    for (doc, path, keyword), errs in zip(cases, judge([c[0] for c in cases])):
        if path is None:
            assert errs == [], errs
        else:
            assert {"path": path, "keyword": keyword} in errs, (path, keyword, errs)


def test_every_word_is_in_both_languages():
    folder = os.path.join(SOURCE, "app", "web")
    words = {}
    for lang in ("id", "en"):
        with open(os.path.join(folder, "i18n", lang + ".json"), encoding="utf-8") as f:
            words[lang] = json.load(f)
    only = set(words["id"]) ^ set(words["en"])
    assert not only, "keys in one language only: %s" % sorted(only)
    holes = re.compile(r"\{([a-z_]+)\}")
    for key, text in words["id"].items():
        assert sorted(holes.findall(text)) == sorted(holes.findall(words["en"][key])), key
        assert words["en"][key].strip(), "empty English for %s" % key
    named = set()
    with open(os.path.join(folder, "index.html"), encoding="utf-8") as f:
        named.update(re.findall(r'data-i18n(?:-placeholder)?="([^"]+)"', f.read()))
    js = os.path.join(folder, "js")
    for name in os.listdir(js):
        with open(os.path.join(js, name), encoding="utf-8") as f:
            named.update(re.findall(r"\bt\('([a-z_A-Z]+)'\s*[,)]", f.read()))
    assert len(named) > 40, named
    missing = named - set(words["id"])
    assert not missing, "keys the page names and no language has: %s" % sorted(missing)


def test_an_unknown_schema_keyword_stops_the_validator():
    tmp = tempfile.mkdtemp(prefix="app-validate-")
    H.on_exit(lambda: shutil.rmtree(tmp, ignore_errors=True))
    with open(os.path.join(SCHEMAS, "larva.json")) as f:
        larva = json.load(f)
    larva["properties"]["rt"]["multipleOf"] = 1
    with open(os.path.join(tmp, "larva.json"), "w") as f:
        json.dump(larva, f)
    shutil.copy(os.path.join(SCHEMAS, "defs.json"), tmp)
    try:
        judge([larva_examples()[0][2]], tmp)
    except AssertionError as e:
        assert "keyword multipleOf is not supported" in str(e), e
    else:
        raise AssertionError("a schema with multipleOf was applied without it")


if __name__ == "__main__":
    H.run_tests(globals())
