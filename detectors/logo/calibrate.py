"""Calibrated score: a logistic (Platt) model over the evidence behind one detection.

The raw evidence (inlier count, inlier ratio, how much of the logo the inliers span, edge
agreement) is not a probability and its scale differs between the keypoint and the template
method. The logistic maps it to P(the logo is really there), fitted on the tune split of the
evaluation set only (`fit`, run by `python -m detectors.logo.calibrate`), so the held-out split
measures it honestly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FEATURES = ("bias", "log_inliers", "inlier_ratio", "coverage", "edge_agreement", "template", "log_votes",
            "template_edge_agreement")


@dataclass(frozen=True)
class Evidence:
    inliers: int            # distinct photo keypoints agreeing with the placement
    matches: int            # putative matches the logo got
    coverage: float         # share of the logo area the inliers span (0..1)
    agreement: float        # edge-orientation agreement under the placement (template.py)
    template: bool          # placement found by the template method (few or no inliers)

    def vector(self) -> np.ndarray:
        return np.array([
            1.0,
            np.log1p(self.inliers),
            self.inliers / max(1, self.matches),
            self.coverage,
            self.agreement,
            1.0 if self.template else 0.0,
            np.log1p(self.matches),
            # the template method's placements rest on edge agreement alone, so it weighs
            # differently there than beside inliers (one slope per method)
            self.agreement if self.template else 0.0,
        ])


# Fitted by `python -m detectors.logo.calibrate` on the tune split; see docs/logo-detector.md.
# (Refitted 2026-11-27 for pose voting, the template screen and the template_edge_agreement feature; before
# that [-4.178, 2.916, -1.675, 21.843, 7.773, -1.386, -1.599] with MIN_SCORE 0.78, and at full resolution
# [-7.34, 3.09, -1.083, 14.849, 8.873, -0.432, -0.624] with MIN_SCORE 0.84.)
WEIGHTS = np.array([-0.506, 5.5, -6.298, 18.664, 6.481, -3.707, -3.786, 3.861])
# Lowest score at which the tune split's placements reach precision ≥ 0.98 (printed by the same run);
# the detector reports matches from here on (DetectorParams.min_score).
MIN_SCORE = 0.60


def score(evidence: Evidence, weights: np.ndarray = WEIGHTS) -> float:
    z = float(evidence.vector() @ weights)
    return float(1.0 / (1.0 + np.exp(-np.clip(z, -40, 40))))


def fit(X: np.ndarray, y: np.ndarray, l2: float = 1e-2, iterations: int = 50) -> np.ndarray:
    """L2-regularised logistic regression by Newton's method (IRLS); X includes the bias column.

    >>> X = np.array([[1, 0.0], [1, 1.0], [1, 2.0], [1, 3.0]]); y = np.array([0, 0, 1, 1])
    >>> w = fit(X, y); bool(w[1] > 0)
    True
    """
    X = np.asarray(X, np.float64)
    y = np.asarray(y, np.float64)
    w = np.zeros(X.shape[1])
    reg = l2 * np.eye(X.shape[1])
    reg[0, 0] = 0.0                      # the bias is not shrunk
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(X @ w, -40, 40)))
        g = X.T @ (p - y) + reg @ w
        Hs = (X * (p * (1 - p))[:, None]).T @ X + reg + 1e-9 * np.eye(X.shape[1])
        step = np.linalg.solve(Hs, g)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def tune_threshold(p: np.ndarray, y: np.ndarray, precision: float = 0.98, floor: float = 0.5) -> float:
    """The score threshold (≥ floor) giving the most true placements at the given precision."""
    best, thr, tp, fp = -1, floor, 0, 0
    order = np.argsort(-p)
    for i, j in enumerate(order):
        tp += bool(y[j])
        fp += not y[j]
        if i + 1 < len(order) and p[order[i + 1]] == p[j]:
            continue
        if tp / (tp + fp) >= precision and tp > best:
            best, thr = tp, float(p[j])
    if best < 0:
        return floor
    # a round figure, unless rounding down would admit the next placement below the chosen one
    below = p[p < thr]
    rounded = np.floor(thr * 100) / 100
    if len(below) and rounded <= below.max():
        rounded = np.floor(thr * 10000) / 10000
    return max(floor, float(rounded))


def main(argv=None) -> int:
    """Fit WEIGHTS on the tune split of an evaluation set and print them with held-out figures.

        python -m detectors.logo.calibrate --labels /tmp/logo-eval/labels.jsonl
    """
    import argparse
    import json
    from pathlib import Path

    import cv2

    from detectors.logo.detect import LogoDetector
    from detectors.logo.evaluate import IOU_HIT, iou, read_labels
    from detectors.logo.references import load_reference

    ap = argparse.ArgumentParser(prog="python -m detectors.logo.calibrate", description=main.__doc__.split("\n")[0])
    ap.add_argument("--labels", required=True, type=Path)
    a = ap.parse_args(argv)
    cv2.setNumThreads(1)
    base = a.labels.parent
    rows = read_labels(a.labels)
    refs = [load_reference(p.stem, p.stem, p) for p in sorted((base / "logos").glob("*.png"))]
    det = LogoDetector.build(refs)
    X, y, split, negative = [], [], [], []
    boxes = {"tune": 0, "heldout": 0}
    for row in rows:
        img = cv2.imread(str(base / row["image"]), cv2.IMREAD_COLOR)
        if row["split"] in boxes:
            boxes[row["split"]] += len(row["boxes"])
        for m, ev in det.explain(img):
            ok = any(b["mark_id"] == m.mark_id and iou(m.bbox, b["bbox"]) >= IOU_HIT for b in row["boxes"])
            X.append(ev.vector()), y.append(ok), split.append(row["split"])
            negative.append(not row["boxes"])
    X, y, split, negative = np.array(X), np.array(y), np.array(split), np.array(negative, bool)
    w = fit(X[split == "tune"], y[split == "tune"])
    print("WEIGHTS =", json.dumps([round(float(v), 3) for v in w]))
    p = 1.0 / (1.0 + np.exp(-np.clip(X @ w, -40, 40)))
    threshold = tune_threshold(p[split == "tune"], y[split == "tune"])
    print(f"MIN_SCORE = {threshold:.2f}   (tune precision >= 0.98)")
    for t in (0.5, threshold):
        for name in ("tune", "heldout"):
            s = (split == name) & (p >= t)
            tp, fp = int(y[s].sum()), int((~y[s]).sum())
            print(f"{name}: precision {tp / max(1, tp + fp):.3f} recall {tp / max(1, boxes[name]):.3f} at score >= {t:.2f}")
        print(f"negative images: {int((negative & (p >= t)).sum())} placements at score >= {t:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
