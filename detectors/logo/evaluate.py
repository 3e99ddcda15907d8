"""Measure a logo detector on a labelled set: precision, recall, mean IoU, time per image.

A detection is a true positive when it names the right mark and overlaps a not-yet-claimed labelled
box of that mark with IoU ≥ 0.5 (detections taken in score order, as in PASCAL VOC); anything else
is a false positive, and every unclaimed labelled box a false negative. Reported overall, per split
(tune / heldout: split by logo, so held-out logos were never tuned on), per hard-case tag, and for
negatives the share of images with any detection. `best_recall_at(precision=0.98)` sweeps the score
threshold to answer the issue's target question.

    rows = read_labels("labels.jsonl")
    results = run(rows, Path("labels.jsonl").parent, detector)      # detector: .detect(BGR) -> [LogoMatch]
    print(format_report({"default": summarize(rows, results)}))
"""
from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from detectors.logo.verify import box_iou

IOU_HIT = 0.5


@dataclass
class ImageResult:
    seconds: float
    detections: list[dict] = field(default_factory=list)   # {mark_id, score, bbox}
    error: str | None = None


def read_labels(path) -> list[dict]:
    """Label rows; raises ValueError naming the line for a malformed one."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if not isinstance(row, dict) or "image" not in row:
                    raise ValueError("needs an object with 'image'")
                for b in row.setdefault("boxes", []):
                    if not isinstance(b.get("mark_id"), str) or len(b.get("bbox", ())) != 4:
                        raise ValueError("each box needs mark_id and bbox [x, y, w, h]")
            except ValueError as e:
                raise ValueError(f"{path}:{n}: {e}") from None
            row.setdefault("tags", [])
            row.setdefault("split", "all")
            rows.append(row)
    return rows


iou = box_iou  # (x, y, w, h) boxes; the detector's own NMS uses the same measure


def run(rows, base_dir, detector, load=None, progress=None) -> list[ImageResult]:
    """Detect on every row's image (paths relative to base_dir). A bad image is an error result,
    counted as detecting nothing. Time covers detect() only, not decoding. `progress()` is called
    after each image."""
    from detectors.imageio import BadImage, load_image

    load = load or load_image
    out = []
    for row in rows:
        try:
            img = load(Path(base_dir) / row["image"])
        except BadImage as e:
            out.append(ImageResult(0.0, error=str(e)))
        else:
            t0 = time.perf_counter()
            found = detector.detect(img.pixels)
            dt = time.perf_counter() - t0
            s = img.scale
            out.append(ImageResult(dt, [{"mark_id": m.mark_id, "score": float(m.score),
                                         "bbox": [v / s for v in m.bbox]} for m in found]))
        if progress:
            progress()
    return out


def match_image(boxes, detections):
    """(list of (score, IoU) of true positives, list of false-positive scores, false negatives)."""
    claimed = [False] * len(boxes)
    tps, fps = [], []
    for d in sorted(detections, key=lambda d: -d["score"]):
        best, best_i = 0.0, -1
        for i, b in enumerate(boxes):
            if not claimed[i] and b["mark_id"] == d["mark_id"]:
                v = iou(b["bbox"], d["bbox"])
                if v > best:
                    best, best_i = v, i
        if best >= IOU_HIT:
            claimed[best_i] = True
            tps.append((d["score"], best))
        else:
            fps.append(d["score"])
    return tps, fps, claimed.count(False)


class _Tally:
    def __init__(self):
        self.tp = self.fp = self.fn = 0
        self.ious: list[float] = []
        self.images = self.flagged = self.errors = 0
        self.seconds: list[float] = []

    def add(self, boxes, res: ImageResult, tps, fps, fn):
        self.tp += len(tps)
        self.fp += len(fps)
        self.fn += fn
        self.ious += [v for _, v in tps]
        self.images += 1
        self.flagged += bool(res.detections)
        self.errors += res.error is not None
        self.seconds.append(res.seconds)

    def as_dict(self) -> dict:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        return {"images": self.images, "tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": p, "recall": r,
                "mean_iou": sum(self.ious) / len(self.ious) if self.ious else 0.0,
                "flagged_images": self.flagged, "errors": self.errors,
                "ms_per_image": 1000 * sum(self.seconds) / len(self.seconds) if self.seconds else 0.0}


def summarize(rows, results) -> dict:
    """{"all": {...}, "split": {name: {...}}, "tag": {tag: {...}}, "negatives": {kind: {...}},
    "best_recall_at_0.98": (recall, threshold), "curve": pr_points(...)} — each {...} with precision, recall, mean_iou, ..."""
    groups: dict[tuple[str, str], _Tally] = defaultdict(_Tally)
    scored = []  # (score, is_tp) over every detection, for the threshold sweep
    n_boxes = 0
    for row, res in zip(rows, results):
        tps, fps, fn = match_image(row["boxes"], res.detections)
        scored += [(s, True) for s, _ in tps] + [(s, False) for s in fps]
        n_boxes += len(row["boxes"])
        keys = [("all", "all"), ("split", row.get("split", "all"))]
        keys += [("tag", t) for t in row.get("tags", [])]
        if not row["boxes"]:
            keys.append(("negatives", row.get("kind", "negative")))
        for k in keys:
            groups[k].add(row["boxes"], res, tps, fps, fn)
    out: dict = {"all": groups[("all", "all")].as_dict(), "split": {}, "tag": {}, "negatives": {}}
    for (kind, name), t in sorted(groups.items()):
        if kind != "all":
            out[kind][name] = t.as_dict()
    out["best_recall_at_0.98"] = best_recall_at(scored, n_boxes, 0.98)
    out["curve"] = pr_points(scored, n_boxes)
    return out


def best_recall_at(scored, n_boxes: int, precision: float) -> tuple[float, float | None]:
    """Highest recall over score thresholds whose precision is ≥ `precision`, and that threshold."""
    best, thr = 0.0, None
    for t, p, r in pr_points(scored, n_boxes):
        if p >= precision and r > best:
            best, thr = r, t
    return best, thr


def pr_points(scored, n_boxes: int) -> list[tuple[float, float, float]]:
    """(threshold, precision, recall) at every distinct score, from the highest threshold down.

    `scored` is [(score, is_true_positive)] over every detection; detections of equal score are
    kept or dropped together, as a threshold would.

    >>> pr_points([(0.9, True), (0.8, False), (0.8, True), (0.5, False)], 4)
    [(0.9, 1.0, 0.25), (0.8, 0.6666666666666666, 0.5), (0.5, 0.5, 0.5)]
    """
    out, tp, fp = [], 0, 0
    ordered = sorted(scored, key=lambda x: -x[0])
    for i, (s, ok) in enumerate(ordered):
        tp += bool(ok)
        fp += not ok
        if i + 1 < len(ordered) and ordered[i + 1][0] == s:
            continue
        out.append((float(s), tp / (tp + fp), tp / n_boxes if n_boxes else 0.0))
    return out


def _line(name, d) -> str:
    return (f"{name:24} {d['images']:6} {d['precision']:9.3f} {d['recall']:7.3f} {d['mean_iou']:8.3f}"
            f" {d['tp']:5} {d['fp']:5} {d['fn']:5} {d['ms_per_image']:9.1f}")


def format_report(reports: dict[str, dict]) -> str:
    """Side-by-side table of several detectors' summaries ({detector name: summarize(...)})."""
    head = f"{'':24} {'images':>6} {'precision':>9} {'recall':>7} {'mean IoU':>8} {'TP':>5} {'FP':>5} {'FN':>5} {'ms/image':>9}"
    lines = []
    for section, title in (("all", "overall"), ("split", "per split (by logo)"), ("tag", "per hard-case tag"),
                           ("negatives", "negative images (flagged = any detection)")):
        lines.append(f"== {title}")
        lines.append(head if section != "negatives" else f"{'':24} {'images':>6} {'flagged':>9} {'share':>7}")
        names = [None] if section == "all" else sorted({k for r in reports.values() for k in r[section]})
        for key in names:
            for det, r in reports.items():
                d = r["all"] if key is None else r[section].get(key)
                if d is None:
                    continue
                label = det if key is None else f"{key} [{det}]"
                if section == "negatives":
                    lines.append(f"{label:24} {d['images']:6} {d['flagged_images']:9} "
                                 f"{d['flagged_images'] / max(1, d['images']):7.3f}")
                else:
                    lines.append(_line(label, d))
        lines.append("")
    lines.append("== best recall at precision >= 0.98 (score threshold swept)")
    for det, r in reports.items():
        rec, thr = r["best_recall_at_0.98"]
        lines.append(f"{det:24} recall {rec:.3f}" + (f" at score >= {thr:.3f}" if thr is not None else ""))
    errors = {det: r["all"]["errors"] for det, r in reports.items() if r["all"]["errors"]}
    if errors:
        lines.append(f"images that could not be decoded: {errors}")
    return "\n".join(lines)
