"""`cluewatch match text` and `cluewatch eval text`: the word-mark detector over JSONL files.

Contract (DESIGN.md, "Offline batch commands"): one output line per input line, carrying the
input's id and an "error" key (null when fine); exit 0 when every line was answered, non-zero with
a one-line message only when the command cannot run at all (bad registry, unreadable input).

    run_match_text("registry.yaml", "titles.jsonl", sys.stdout, sys.stderr)
    run_eval_text("registry.yaml", "labels.jsonl", sys.stdout)
"""
from __future__ import annotations

import json
from collections import Counter

MAX_LINE_BYTES = 1_000_000
BASELINE_CUTOFF = 80  # the naive baseline: rapidfuzz.fuzz.partial_ratio(name, title) >= 80


def _load_marks(registry_path, err):
    from cluewatch.registry import RegistryError, load_registry

    try:
        return load_registry(registry_path).marks
    except RegistryError as exc:
        first = exc.problems[0] if exc.problems else f"{registry_path}: invalid registry"
        more = f" (and {len(exc.problems) - 1} more problems)" if len(exc.problems) > 1 else ""
        print(f"error: {first}{more}", file=err)
        return None


def _lines(path):
    """Yield (line number, bytes) of a file; raises OSError when it cannot be opened.

    A line longer than MAX_LINE_BYTES is yielded cut to MAX_LINE_BYTES + 1 bytes (so the caller
    reports it) and the rest of it is skipped without being held in memory."""
    with open(path, "rb") as f:
        n = 0
        while True:
            line = f.readline(MAX_LINE_BYTES + 1)
            if not line:
                return
            n += 1
            if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                while True:
                    rest = f.readline(1 << 20)
                    if not rest or rest.endswith(b"\n"):
                        break
            yield n, line


def _answer(line: bytes, marks_index) -> dict:
    from detectors.wordmark import MAX_TITLE_CHARS, match

    if len(line) > MAX_LINE_BYTES:
        return {"id": None, "matches": [], "error": f"line longer than {MAX_LINE_BYTES} bytes"}
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return {"id": None, "matches": [], "error": f"invalid UTF-8 at byte {exc.start}"}
    try:
        rec = json.loads(text)
    except ValueError as exc:
        return {"id": None, "matches": [], "error": f"not JSON: {exc.msg}"}
    if not isinstance(rec, dict):
        return {"id": None, "matches": [], "error": "line is not a JSON object"}
    rid = rec.get("id")
    if isinstance(rid, (dict, list)):
        rid = json.dumps(rid, ensure_ascii=False)
    title = rec.get("title")
    if rid is None:
        return {"id": None, "matches": [], "error": "missing id"}
    if not isinstance(title, str):
        return {"id": rid, "matches": [], "error": "missing title" if title is None else "title is not a string"}
    seller = rec.get("seller") if isinstance(rec.get("seller"), str) else None
    category = rec.get("category") if isinstance(rec.get("category"), str) else None
    out = {"id": rid, "matches": [m.as_dict() for m in match(title, marks_index, seller=seller, category=category)],
           "error": None}
    if len(title) > MAX_TITLE_CHARS:
        out["warning"] = f"title has {len(title)} characters; matched on the first {MAX_TITLE_CHARS}"
    return out


def run_match_text(registry_path, input_path, out, err) -> int:
    """JSONL of matches for every line of `input_path` on `out`; 0 when every line was answered."""
    from detectors.wordmark import index_for

    marks = _load_marks(registry_path, err)
    if marks is None:
        return 2
    idx = index_for(marks)
    try:
        lines = _lines(input_path)
        for _, line in lines:
            if not line.strip():
                out.write(json.dumps({"id": None, "matches": [], "error": "empty line"}) + "\n")
                continue
            try:
                ans = _answer(line.rstrip(b"\r\n"), idx)
            except Exception as exc:  # one bad line never stops the batch
                ans = {"id": None, "matches": [], "error": f"internal error: {type(exc).__name__}"}
            out.write(json.dumps(ans, ensure_ascii=False) + "\n")
    except OSError as exc:
        print(f"error: cannot read {input_path}: {exc.strerror or exc}", file=err)
        return 2
    return 0


# -- evaluation -----------------------------------------------------------------------------

def read_labels(labels_path) -> list[dict]:
    rows = []
    for n, line in _lines(labels_path):
        if line.strip():
            row = json.loads(line)
            row.setdefault("expected", [])
            rows.append(row)
    return rows


def predict_detector(rows, marks) -> list[list[dict]]:
    from detectors.wordmark import index_for, match

    idx = index_for(marks)
    return [[{"mark_id": m.mark_id, "variant": m.variant}
             for m in match(r["title"], idx, seller=r.get("seller"), category=r.get("category"))] for r in rows]


def predict_baseline(rows, marks) -> list[list[dict]]:
    from rapidfuzz import fuzz

    out = []
    for r in rows:
        t = r["title"].lower()
        out.append([{"mark_id": m.id, "variant": "fuzzy"} for m in marks
                    if any(fuzz.partial_ratio(n.lower(), t) >= BASELINE_CUTOFF for n in m.names)])
    return out


def _prf(tp, fp, fn):
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def score(rows, predictions) -> dict:
    """Precision/recall/F1 over (row, mark) pairs; recall per expected variant kind, precision per
    predicted variant kind, and the share of negative rows flagged per negative case kind."""
    tp = fp = fn = 0
    kind_n, kind_hit = Counter(), Counter()
    pred_n, pred_ok = Counter(), Counter()
    neg_n, neg_flagged = Counter(), Counter()
    for row, pred in zip(rows, predictions):
        want = {e["mark_id"]: e.get("variant", "?") for e in row["expected"]}
        got = {p["mark_id"]: p["variant"] for p in pred}
        for mid, kind in want.items():
            kind_n[kind] += 1
            if mid in got:
                tp += 1
                kind_hit[kind] += 1
            else:
                fn += 1
        for mid, kind in got.items():
            pred_n[kind] += 1
            if mid in want:
                pred_ok[kind] += 1
            else:
                fp += 1
        if not want:
            neg_n[row.get("case", "negative")] += 1
            if got:
                neg_flagged[row.get("case", "negative")] += 1
    p, r, f = _prf(tp, fp, fn)
    return {
        "rows": len(rows), "tp": tp, "fp": fp, "fn": fn, "precision": p, "recall": r, "f1": f,
        "recall_by_kind": {k: (kind_hit[k], kind_n[k]) for k in sorted(kind_n)},
        "precision_by_predicted_kind": {k: (pred_ok[k], pred_n[k]) for k in sorted(pred_n)},
        "negatives_flagged_by_case": {k: (neg_flagged[k], neg_n[k]) for k in sorted(neg_n)},
        "negative_rows": sum(neg_n.values()), "negative_rows_flagged": sum(neg_flagged.values()),
    }


def evaluate(registry_path, labels_path) -> dict:
    """{split: {"detector": score, "baseline": score}} for splits all, dev, heldout."""
    from cluewatch.registry import load_registry

    marks = load_registry(registry_path).marks
    rows = read_labels(labels_path)
    det = predict_detector(rows, marks)
    base = predict_baseline(rows, marks)
    scored = scored_pairs(rows, marks)
    out = {}
    for split in ("all", "dev", "heldout"):
        keep = [i for i, r in enumerate(rows) if split == "all" or r.get("split", "dev") == split]
        if not keep:
            continue
        sub = [rows[i] for i in keep]
        out[split] = {"detector": score(sub, [det[i] for i in keep]),
                      "baseline": score(sub, [base[i] for i in keep]),
                      "calibration": calibration_report([x for i in keep for x in scored[i]])}
    return out


def scored_pairs(rows, marks) -> list[list[tuple[float, float, int]]]:
    """Per row, (evidence, calibrated score, outcome) for every mark the detector scores at all
    (threshold 0, reported or not); outcome 1 when the row expects that mark."""
    from detectors.wordmark import index_for, match

    idx = index_for(marks)
    out = []
    for r in rows:
        want = {e["mark_id"] for e in r["expected"]}
        out.append([(m.evidence, m.score, int(m.mark_id in want))
                    for m in match(r["title"], idx, seller=r.get("seller"), category=r.get("category"),
                                   threshold=0.0)])
    return out


def calibration_report(pairs) -> dict:
    """Reliability table and ECE of the calibrated score, and ECE of the evidence score read as
    a probability (before calibration), over scored (title, mark) pairs."""
    from detectors.wordmark.calibration import reliability

    table, ece = reliability([(p, y) for _, p, y in pairs])
    _, ece_before = reliability([(e, y) for e, _, y in pairs])
    return {"pairs": len(pairs), "table": table, "ece": ece, "ece_before": ece_before}


def _fmt(x):
    return f"{x:.3f}"


def format_report(result: dict) -> str:
    lines = []
    for split, both in result.items():
        d, b = both["detector"], both["baseline"]
        lines.append(f"== {split}: {d['rows']} rows ({d['negative_rows']} negative)")
        lines.append(f"{'':28} {'precision':>9} {'recall':>7} {'F1':>6}   TP  FP  FN")
        for name, s in (("detector", d), ("baseline partial_ratio>=80", b)):
            lines.append(f"{name:28} {_fmt(s['precision']):>9} {_fmt(s['recall']):>7} {_fmt(s['f1']):>6}"
                         f" {s['tp']:4} {s['fp']:3} {s['fn']:3}")
        lines.append(f"{'recall by variant kind':28} {'detector':>12} {'baseline':>12}")
        for k, (hit, n) in d["recall_by_kind"].items():
            bh = b["recall_by_kind"].get(k, (0, n))[0]
            lines.append(f"  {k:26} {hit:4}/{n:<4} {hit / n:.2f} {bh:4}/{n:<4} {bh / n:.2f}")
        lines.append(f"{'precision by reported kind':28} {'detector':>12}")
        for k, (ok, n) in d["precision_by_predicted_kind"].items():
            lines.append(f"  {k:26} {ok:4}/{n:<4} {ok / n:.2f}")
        lines.append(f"{'negatives flagged by case':28} {'detector':>12} {'baseline':>12}")
        for k, (fl, n) in d["negatives_flagged_by_case"].items():
            bf = b["negatives_flagged_by_case"].get(k, (0, n))[0]
            lines.append(f"  {k:26} {fl:4}/{n:<4} {fl / n:.2f} {bf:4}/{n:<4} {bf / n:.2f}")
        cal = both.get("calibration")
        if cal and cal["pairs"]:
            lines.append(f"calibration over {cal['pairs']} scored (title, mark) pairs, reported or not: "
                         f"ECE {cal['ece']:.3f} (evidence score as probability: {cal['ece_before']:.3f})")
            lines.append(f"  {'score bucket':14} {'n':>4} {'mean score':>10} {'share infringing':>16}")
            for lo, hi, n, mp, acc in cal["table"]:
                lines.append(f"  [{lo:.2f}, {hi:.2f})   {n:4} {mp:10.3f} {acc:16.3f}")
        lines.append("")
    return "\n".join(lines)


def run_eval_text(registry_path, labels_path, out) -> int:
    """Print precision, recall and F1 (overall, per variant kind, per split) vs the naive baseline."""
    import sys

    from cluewatch.registry import RegistryError

    try:
        result = evaluate(registry_path, labels_path)
    except RegistryError as exc:
        print(f"error: {exc.problems[0] if exc.problems else registry_path}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot read {labels_path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except (ValueError, KeyError) as exc:
        print(f"error: {labels_path}: bad label line ({exc})", file=sys.stderr)
        return 2
    out.write(format_report(result) + "\n")
    return 0


if __name__ == "__main__":  # python -m cluewatch.textmatch_cli eval|match REGISTRY FILE
    import sys

    cmd, reg, path = sys.argv[1:4]
    if cmd == "eval":
        sys.exit(run_eval_text(reg, path, sys.stdout))
    sys.exit(run_match_text(reg, path, sys.stdout, sys.stderr))
