"""Evidence score -> probability that the match is an infringing use of the mark.

The matcher's own score (`Match.evidence`: base by variant kind, then context: counterfeit cues,
compatibility phrasing, goods outside the mark's classes) orders matches well but is not a
probability. `data/calibration.json` holds a Platt scaling p = 1 / (1 + exp(-(a·evidence + b)))
fitted by `data/fit_calibration.py` on the DEV split of tests/data/text_eval only (every
(title, mark) pair the detector scores, reported or not), with Platt's smoothed targets
(N+ + 1)/(N+ + 2) and 1/(N- + 2), so a perfectly separated set does not produce 0 or 1.
The map is increasing, so the order of matches and the reporting rule (evidence ≥ THRESHOLD) are
unchanged; only the number shown as `score` now means "probability of infringement".
"""
from __future__ import annotations

import json
import math
import os
from functools import lru_cache

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "calibration.json")


@lru_cache(maxsize=1)
def parameters() -> dict:
    with open(PATH, encoding="utf-8") as f:
        return json.load(f)


def probability(evidence: float) -> float:
    """Calibrated probability (0-1) for an evidence score."""
    p = parameters()
    z = p["a"] * evidence + p["b"]
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def reliability(pairs, buckets=(0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0001)) -> tuple[list[tuple], float]:
    """Reliability table and expected calibration error for (probability, outcome 0/1) pairs:
    rows (low, high, n, mean probability, share positive); ECE = Σ n_b/N · |mean p − share|."""
    rows, ece, total = [], 0.0, len(pairs)
    for lo, hi in zip(buckets, buckets[1:]):
        b = [(p, y) for p, y in pairs if lo <= p < hi]
        if not b:
            continue
        mp = sum(p for p, _ in b) / len(b)
        acc = sum(y for _, y in b) / len(b)
        rows.append((lo, min(hi, 1.0), len(b), mp, acc))
        ece += len(b) / total * abs(mp - acc)
    return rows, ece
