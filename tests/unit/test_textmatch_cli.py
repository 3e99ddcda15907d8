"""`cluewatch match text` / `cluewatch eval text` as functions (cluewatch.textmatch_cli):
the DESIGN.md JSONL contract — one answer per line, errors as data, exit codes."""
from __future__ import annotations

import io
import json
import os

from cluewatch.textmatch_cli import run_eval_text, run_match_text

EVAL = os.path.join(os.path.dirname(__file__), "..", "data", "text_eval")
REGISTRY = os.path.join(EVAL, "registry.yaml")


def run(tmp_path, data: bytes, registry=REGISTRY):
    f = tmp_path / "in.jsonl"
    f.write_bytes(data)
    out, err = io.StringIO(), io.StringIO()
    code = run_match_text(registry, str(f), out, err)
    return code, [json.loads(x) for x in out.getvalue().splitlines()], err.getvalue()


def test_matches_with_span_variant_and_explanation(tmp_path):
    lines = [
        {"id": "1", "title": "精仿 N1KE 跑鞋", "seller": "小店", "category": "运动鞋"},
        {"id": "2", "title": "雷碧 汽水 330ml"},
        {"id": "3", "title": "Nikon D750 相机"},
        {"id": 4, "title": "Nike 跑鞋", "seller": "耐克官方旗舰店"},
    ]
    code, out, err = run(tmp_path, "\n".join(json.dumps(x, ensure_ascii=False) for x in lines).encode())
    assert code == 0 and err == ""
    assert [o["id"] for o in out] == ["1", "2", "3", 4]
    [m] = out[0]["matches"]
    assert m["mark_id"] == "nike" and m["variant"] == "leet" and m["span"] == [3, 7]
    assert 0 <= m["score"] <= 1 and "leetspeak" in m["explanation"] and out[0]["error"] is None
    assert out[1]["matches"][0]["mark_id"] == "sprite" and out[1]["matches"][0]["variant"] == "lookalike"
    assert out[2]["matches"] == [] and out[3]["matches"] == []


def test_every_bad_line_gets_an_error_line_never_a_crash(tmp_path):
    data = b"\n".join([
        b'{"id": "a", "title": "Nike"}',
        b'{"id": "b"}',                         # no title
        b'{"id": "c", "title": 12}',            # not a string
        b'{"title": "Nike"}',                   # no id
        b'not json',
        b'[1, 2]',
        b'{"id": "d", "title": "\xff\xfe bad utf-8"}',
        b'',
        b'{"id": "e", "title": "' + b"x" * 5000 + b' Nike"}',
        b'{"id": "f", "title": "\\u0000\\u001f N\\u200bIKE"}',
    ]) + b"\n"
    code, out, _ = run(tmp_path, data)
    assert code == 0
    assert len(out) == 10
    assert out[0]["error"] is None and out[0]["matches"]
    assert out[1]["id"] == "b" and out[1]["error"] == "missing title"
    assert out[2]["error"] == "title is not a string"
    assert out[3]["error"] == "missing id"
    assert out[4]["error"].startswith("not JSON") and out[5]["error"] == "line is not a JSON object"
    assert out[6]["error"].startswith("invalid UTF-8")
    assert out[7]["error"] == "empty line"
    assert out[8]["error"] is None and "first 1000" in out[8]["warning"]
    assert out[9]["error"] is None and out[9]["matches"][0]["variant"] == "spacing"
    assert all("id" in o and "error" in o and "matches" in o for o in out)


def test_cannot_run_invalid_registry_or_missing_input(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("marks:\n  - nmaes: [x]\n")
    code, out, err = run(tmp_path, b'{"id": "a", "title": "x"}\n', registry=str(bad))
    assert code != 0 and out == [] and err.startswith("error: ") and "bad.yaml" in err
    assert len(err.strip().splitlines()) == 1
    out_, err_ = io.StringIO(), io.StringIO()
    assert run_match_text(REGISTRY, str(tmp_path / "missing.jsonl"), out_, err_) != 0
    assert "missing.jsonl" in err_.getvalue() and "Traceback" not in err_.getvalue()


def test_eval_prints_overall_and_per_kind_figures_with_baseline():
    out = io.StringIO()
    assert run_eval_text(REGISTRY, os.path.join(EVAL, "labels.jsonl"), out) == 0
    text = out.getvalue()
    for word in ("== all", "== dev", "== heldout", "detector", "baseline partial_ratio>=80",
                 "homophone", "lookalike", "homoglyph", "leet", "spacing", "typo", "translation", "script",
                 "ECE", "share infringing"):
        assert word in text


def test_labelled_set_shape():
    rows = [json.loads(x) for x in open(os.path.join(EVAL, "labels.jsonl"), encoding="utf-8")]
    assert len(rows) >= 400
    pos = [r for r in rows if r["expected"]]
    assert 0.4 <= len(pos) / len(rows) <= 0.7
    assert len({e["mark_id"] for r in pos for e in r["expected"]}) >= 40
    kinds = {e["variant"] for r in pos for e in r["expected"]}
    assert {"exact", "homoglyph", "leet", "spacing", "typo", "homophone", "lookalike", "script",
            "translation"} <= kinds
    assert {r["split"] for r in rows} == {"dev", "heldout"}
    assert all(r["source"] for r in rows)


def test_overlong_line_is_an_error_line_and_the_next_line_is_answered(tmp_path):
    from cluewatch import textmatch_cli

    big = b'{"id": "big", "title": "' + b"x" * (textmatch_cli.MAX_LINE_BYTES + 10) + b'"}'
    code, out, _ = run(tmp_path, big + b'\n{"id": "next", "title": "N1KE"}\n')
    assert code == 0 and len(out) == 2
    assert out[0]["error"].startswith("line longer than") and out[1]["id"] == "next" and out[1]["matches"]
