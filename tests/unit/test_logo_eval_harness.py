"""The logo evaluation harness, the SIFT baseline on real composites, `cluewatch match logo` and
`cluewatch eval logo` on the small cached evaluation set, and photohash on real photo edits."""
from __future__ import annotations

import io
import json

import cv2
import numpy as np
import pytest

from cluewatch.cli import main
from cluewatch.logomatch_cli import Progress, load_references, run_match_logo
from cluewatch.settings import Settings
from detectors.logo import evalset, evaluate
from detectors.logo.baseline import BaselineDetector

SMALL = evalset.Params(positives=40, negatives=16, registered=12, unregistered=4)
SEEDS = (0, 1, 2)  # FLANN seeds the detector's subset test pools (one seed is too noisy)


@pytest.fixture(scope="module")
def small_set():
    return evalset.cached(Settings.from_env().home / "cache", SMALL)


@pytest.fixture(scope="module")
def refs(small_set):
    return load_references(small_set / "registry.yaml")


def test_iou_and_greedy_matching():
    assert evaluate.iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    boxes = [{"mark_id": "a", "bbox": [0, 0, 10, 10]}]
    dets = [{"mark_id": "a", "score": 0.9, "bbox": [0, 0, 10, 10]},
            {"mark_id": "a", "score": 0.8, "bbox": [1, 1, 10, 10]},   # a duplicate: false positive
            {"mark_id": "b", "score": 0.7, "bbox": [0, 0, 10, 10]}]   # wrong mark: false positive
    tps, fps, fn = evaluate.match_image(boxes, dets)
    assert [s for s, _ in tps] == [0.9] and fps == [0.8, 0.7] and fn == 0
    assert evaluate.best_recall_at([(0.9, True), (0.8, False), (0.5, True)], 2, 0.98) == (0.5, 0.9)


def _on_white(logo_bgra, width=640, height=480, share=0.3, at=(200, 100)):
    canvas = np.full((height, width, 3), 245, np.uint8)
    k = share * width / logo_bgra.shape[1]
    small = cv2.resize(logo_bgra, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
    a = small[:, :, 3:4] / 255
    h, w = small.shape[:2]
    roi = canvas[at[1]:at[1] + h, at[0]:at[0] + w]
    roi[:] = (roi * (1 - a) + small[:, :, :3] * a).astype(np.uint8)
    return canvas, (at[0], at[1], w, h)


def test_baseline_finds_clean_large_logos_on_white(refs):
    """The tutorial recipe's best case: 30 % of the width, upright, on white. Measured: 6 of 12
    (it fails on the flat one-colour logos, where SIFT finds too few keypoints)."""
    det = BaselineDetector.build(refs)
    hits = []
    for r in refs:
        img, box = _on_white(r.image)
        hits += [max((evaluate.iou(m.bbox, box) for m in det.detect(img) if m.mark_id == r.mark_id), default=0)]
    found = [v for v in hits if v >= 0.5]
    assert len(found) >= 5, hits
    assert np.mean(found) > 0.85  # when it finds a logo, the homography box is tight


def test_baseline_on_real_composites_is_weak(small_set, refs):
    """Measured on the first 24 images of the small set: low recall, every hit well placed."""
    rows = evaluate.read_labels(small_set / "labels.jsonl")[:24]
    s = evaluate.summarize(rows, evaluate.run(rows, small_set, BaselineDetector.build(refs)))
    a = s["all"]
    assert a["tp"] >= 3 and 0.1 <= a["recall"] <= 0.6, a
    assert a["mean_iou"] >= 0.75, a
    assert a["errors"] == 0


def test_detector_beats_the_baseline_on_the_same_composites(small_set, refs):
    """The 56-image subset (12 logos), the detector built at three FLANN seeds and its results pooled:
    one seed moves it by 2-3 logos of 43 and 1-3 false boxes (measured over seeds 0-7), so floors on
    a single seed either pass by luck or fail on noise. Measured: seeds 0-2 pooled P 0.953 R 0.783
    mean IoU 0.91, 0-1 negative images flagged per seed (with pose-voting tolerance 0.08 instead of
    0.05, seeds 0-7: R 0.744-0.837, P 0.914-1.000; pooled 0-2 and 3-5 P 0.953 R 0.791, 6-7 P 0.945
    R 0.802); floors about one logo per seed below that. Baseline (no random trees): P 0.56 R 0.23.
    Since the background class (35 scenes for these 12 logos): P 0.980 R 0.775 IoU 0.92, 1 negative
    image flagged in all (without it, now: P 0.953 R 0.791). The recall floor moved down to 0.74 when a
    first, clutter-only background measured R 0.767 here: 2-3 of 129 pooled boxes are the price of
    4-10x fewer false marks in registries of 1-8 logos."""
    from detectors.logo.detect import LogoDetector

    rows = evaluate.read_labels(small_set / "labels.jsonl")
    pooled_rows, pooled = [], []
    for seed in SEEDS:
        pooled_rows += rows
        pooled += evaluate.run(rows, small_set, LogoDetector.build(refs, seed=seed))
    mine = evaluate.summarize(pooled_rows, pooled)
    base = evaluate.summarize(rows, evaluate.run(rows, small_set, BaselineDetector.build(refs)))
    a, b = mine["all"], base["all"]
    assert a["errors"] == 0 and a["precision"] >= 0.93 and a["recall"] >= 0.74 and a["mean_iou"] >= 0.8, a
    assert a["recall"] >= 2 * b["recall"] and a["precision"] > b["precision"], (a, b)
    assert sum(n["flagged_images"] for n in mine["negatives"].values()) <= 2 * len(SEEDS), mine["negatives"]
    assert mine["split"]["heldout"]["recall"] >= 0.65, mine["split"]  # logos never tuned on


def test_one_logo_registries_keep_their_precision(small_set, refs):
    """A registry of one logo gives the other-logo ratio test nothing to compare with; the background
    class of the index (background.py) stands in. Every 2nd logo of the small set registered alone,
    each detector run on all 56 images (a box of another logo is then an unregistered one). Measured:
    16 of 21 boxes, no false box (P 1.000 R 0.762); without the background 12 and 1 (P 0.923 R 0.571)."""
    from detectors.logo.detect import LogoDetector

    rows = evaluate.read_labels(small_set / "labels.jsonl")
    tp = fp = labelled = 0
    for ref in refs[::2]:
        own = [dict(r, boxes=[b for b in r["boxes"] if b["mark_id"] == ref.mark_id]) for r in rows]
        a = evaluate.summarize(own, evaluate.run(own, small_set, LogoDetector.build([ref])))["all"]
        tp, fp, labelled = tp + a["tp"], fp + a["fp"], labelled + a["tp"] + a["fn"]
    assert labelled >= 15
    assert tp / max(1, tp + fp) >= 0.95 and tp / labelled >= 0.66, (tp, fp, labelled)


def test_match_logo_contract(small_set, tmp_path):
    good = json.loads((small_set / "labels.jsonl").read_text().splitlines()[0])
    (tmp_path / "trunc.jpg").write_bytes((small_set / good["image"]).read_bytes()[:2000])
    (tmp_path / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    (tmp_path / "empty.png").write_bytes(b"")
    lines = [json.dumps({"id": "good", "image": str(small_set / good["image"])}),
             json.dumps({"id": "trunc", "image": "trunc.jpg"}),
             json.dumps({"id": "svg", "image": "logo.svg"}),
             json.dumps({"id": "empty", "image": "empty.png"}),
             json.dumps({"id": "missing", "image": "nope.jpg"}),
             json.dumps({"id": "noimage"}),
             json.dumps({"image": "x.jpg"}),
             "not json",
             ""]
    inp = tmp_path / "in.jsonl"
    inp.write_text("\n".join(lines) + "\n")
    out, err = io.StringIO(), io.StringIO()
    assert run_match_logo(small_set / "registry.yaml", inp, out, err, "baseline") == 0
    got = [json.loads(x) for x in out.getvalue().splitlines()]
    assert len(got) == len(lines)
    by = {g["id"]: g for g in got if g["id"]}
    assert by["good"]["error"] is None and isinstance(by["good"]["matches"], list)
    for m in by["good"]["matches"]:
        assert set(m) == {"mark_id", "score", "bbox"} and len(m["bbox"]) == 4 and 0 <= m["score"] <= 1
    assert "truncated" in by["trunc"]["error"]
    assert "SVG" in by["svg"]["error"]
    assert "0 bytes" in by["empty"]["error"]
    assert "not found" in by["missing"]["error"]
    assert by["noimage"]["error"] == "missing image"
    assert [g["error"] for g in got if g["id"] is None] == ["missing id", got[7]["error"], "empty line"]
    assert got[7]["error"].startswith("not JSON")


def test_match_logo_cannot_run(small_set, tmp_path, capsys):
    bad = tmp_path / "r.yaml"
    bad.write_text("marks:\n  - id: X!\n    logos: [nope.png]\n")
    inp = tmp_path / "in.jsonl"
    inp.write_text('{"id": "a", "image": "a.jpg"}\n')
    assert main(["match", "logo", "--registry", str(bad), "--input", str(inp), "--detector", "baseline"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and str(bad) in err and "\n" not in err
    assert main(["match", "logo", "--registry", str(small_set / "registry.yaml"),
                 "--input", str(tmp_path / "none.jsonl"), "--detector", "baseline"]) == 2
    assert "none.jsonl" in capsys.readouterr().err


def test_eval_logo_prints_table(small_set, capsys):
    assert main(["eval", "logo", "--labels", str(small_set / "labels.jsonl"), "--detector", "baseline",
                 "--limit", "6"]) == 0
    out = capsys.readouterr().out
    assert "== overall" in out and "precision" in out and "mean IoU" in out and "ms/image" in out
    assert "heldout [baseline]" in out or "tune [baseline]" in out


def test_photohash_on_real_edits():
    """50 official photos, 1,600 edited queries (measured: precision 1.000, recall 0.916 at 12; the
    closest two different photos 14 apart)."""
    from detectors.photohash import MAX_DISTANCE
    from detectors.photohash_eval import measure

    r = measure(thresholds=())
    p, rec = r["thresholds"][MAX_DISTANCE]
    assert p == 1.0 and rec >= 0.9, (p, rec)
    for edit in ("resize-50%", "resize-25%", "jpeg-q40", "crop top 22%", "crop right 12%", "padded to square (white)"):
        assert r["per_edit"][edit] == 1.0, edit
    assert r["per_edit"]["watermark"] >= 0.75 and r["per_edit"]["framed 8% (off-white)"] >= 0.9
    assert min(r["distances"]["different"]) > MAX_DISTANCE


def test_eval_logo_pools_small_registries(small_set, capsys):
    """`--registry-size 4` splits the 12 logos into 3 registries of 4, each run on every image."""
    labels = str(small_set / "labels.jsonl")
    assert main(["eval", "logo", "--labels", labels, "--detector", "baseline", "--limit", "8",
                 "--registry-size", "4"]) == 0
    captured = capsys.readouterr()
    out = captured.out
    # progress on stderr ends with the last registry and the whole count
    assert captured.err.splitlines()[-1].startswith("baseline, registry 3/3: 24/24 images, ")
    assert out.startswith("8 images × 3 registries of 4 logos, pooled") and "== overall" in out
    rows = evaluate.read_labels(small_set / "labels.jsonl")[:8]
    overall = out.split("== overall")[1].splitlines()[2].split()
    assert overall[0] == "baseline" and overall[1] == "24"                # 8 images × 3 registries
    tp, fn = int(overall[5]), int(overall[7])
    # every labelled logo is counted once: in the one registry that holds it
    assert tp + fn == sum(len(r["boxes"]) for r in rows)
    assert main(["eval", "logo", "--labels", labels, "--registry-size", "13"]) == 2
    assert "between 1 and the 12 logos" in capsys.readouterr().err


def test_eval_logo_draws_precision_recall_curves(small_set, tmp_path, capsys):
    """`--curve FILE.svg`: one curve per detector, ending at the precision and recall it printed."""
    import xml.etree.ElementTree as ET

    from detectors.logo import curve

    svg_path = tmp_path / "curves.svg"
    assert main(["eval", "logo", "--labels", str(small_set / "labels.jsonl"), "--detector", "baseline",
                 "--limit", "10", "--curve", str(svg_path)]) == 0
    out = capsys.readouterr().out
    assert f"precision–recall curves: {svg_path}" in out
    overall = out.split("== overall")[1].splitlines()[2].split()
    precision, recall = float(overall[2]), float(overall[3])
    root = ET.parse(svg_path).getroot()
    lines = root.findall("{http://www.w3.org/2000/svg}polyline")
    assert len(lines) == 2                                                # whole range and zoom
    x, y = map(float, lines[0].get("points").split()[-1].split(","))
    assert abs(x - curve.FULL.x(recall)) < 1.0 and abs(y - curve.FULL.y(precision)) < 1.0
    # an unwritable place is refused before the run, not after it
    assert main(["eval", "logo", "--labels", str(small_set / "labels.jsonl"), "--detector", "baseline",
                 "--curve", str(tmp_path / "missing" / "c.svg")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_progress_is_throttled_and_ends_with_the_total():
    now = [0.0]
    err = io.StringIO()
    progress = Progress(err, total=5, every=10.0, clock=lambda: now[0])
    for t in (1.0, 4.0, 12.0, 15.0, 20.0):
        now[0] = t
        progress("default")
    # one line after 10 s (3 done: ~8 s left at 4 s each), and the last one
    assert err.getvalue().splitlines() == ["default: 3/5 images, 12 s, ~8 s left", "default: 5/5 images, 20 s"]
    open_ended = io.StringIO()
    progress = Progress(open_ended, None, unit="lines answered", every=0.0, clock=lambda: 3.0)
    progress()
    assert open_ended.getvalue() == "1 lines answered, 0 s\n"
