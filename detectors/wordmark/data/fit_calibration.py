"""Fit the score calibration (data/calibration.json) on the DEV split of the labelled set.

    .venv/bin/python detectors/wordmark/data/fit_calibration.py

Every (title, mark) pair the detector scores on a dev row (threshold 0: reported or not) is one
example, outcome 1 when the row's expected marks include the mark. Platt scaling on the evidence
score, by Newton's method on the cross-entropy with Platt's smoothed targets. Prints the
reliability table and ECE on the held-out split before (evidence score read as a probability)
and after. Re-run after any change to the matcher's scoring, then re-run the tests.
"""
from __future__ import annotations

import json
import math
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, ROOT)

EVAL = os.path.join(ROOT, "tests", "data", "text_eval")


def scored_pairs(registry_path, labels_path, split):
    """[(evidence, calibrated score, outcome)] for every (row, mark) pair scored in `split`."""
    from cluewatch.registry import load_registry
    from cluewatch.textmatch_cli import read_labels
    from detectors.wordmark import index_for, match

    idx = index_for(load_registry(registry_path).marks)
    out = []
    for r in read_labels(labels_path):
        if split != "all" and r.get("split", "dev") != split:
            continue
        want = {e["mark_id"] for e in r["expected"]}
        for m in match(r["title"], idx, seller=r.get("seller"), category=r.get("category"), threshold=0.0):
            out.append((m.evidence, m.score, int(m.mark_id in want)))
    return out


def fit_platt(xs, ys, iters=100):
    n_pos, n_neg = sum(ys), len(ys) - sum(ys)
    hi, lo = (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2)
    ts = [hi if y else lo for y in ys]
    a, b = 0.0, math.log((n_pos + 1) / (n_neg + 1))
    for _ in range(iters):
        ga = gb = haa = hab = hbb = 0.0
        for x, t in zip(xs, ts):
            p = 1 / (1 + math.exp(-(a * x + b)))
            w = max(p * (1 - p), 1e-12)
            ga += (p - t) * x
            gb += p - t
            haa += w * x * x
            hab += w * x
            hbb += w
        det = haa * hbb - hab * hab
        da = (hbb * ga - hab * gb) / det
        db = (haa * gb - hab * ga) / det
        a, b = a - da, b - db
        if abs(da) + abs(db) < 1e-10:
            break
    return a, b


def main() -> int:
    from detectors.wordmark import calibration

    reg, labels = os.path.join(EVAL, "registry.yaml"), os.path.join(EVAL, "labels.jsonl")
    dev = scored_pairs(reg, labels, "dev")
    a, b = fit_platt([e for e, _, _ in dev], [y for _, _, y in dev])
    params = {"method": "platt", "feature": "evidence", "a": round(a, 6), "b": round(b, 6),
              "fitted_on": "tests/data/text_eval/labels.jsonl split=dev", "examples": len(dev),
              "positives": sum(y for _, _, y in dev)}
    with open(calibration.PATH, "w", encoding="utf-8") as f:
        json.dump(params, f, indent=1)
        f.write("\n")
    calibration.parameters.cache_clear()
    print(json.dumps(params))
    held = scored_pairs(reg, labels, "heldout")
    for name, pairs in (("before (evidence as probability)", [(e, y) for e, _, y in held]),
                        ("after (calibrated)", [(calibration.probability(e), y) for e, _, y in held])):
        rows, ece = calibration.reliability(pairs)
        print(f"held-out {name}: ECE {ece:.3f}")
        for lo, hi, n, mp, acc in rows:
            print(f"  [{lo:.2f}, {hi:.2f})  n={n:3}  mean score {mp:.3f}  share infringing {acc:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
