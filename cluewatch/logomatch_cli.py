"""`cluewatch match logo` and `cluewatch eval logo`: the logo detectors over JSONL files.

Contract (DESIGN.md, "Offline batch commands"): one output line per input line, carrying the
input's id and an "error" key (null when fine); a bad image or bad line is an error line, never a
crash and never a missing line. Exit 0 when every line was answered; non-zero with a one-line
message naming the file only when the command cannot run at all (bad registry, unreadable input).
Image paths are relative to the input (or labels) file's directory; nothing is fetched.

    run_match_logo("registry.yaml", "images.jsonl", sys.stdout, sys.stderr)
    run_eval_logo("labels.jsonl", None, sys.stdout, sys.stderr, detectors=("default", "baseline"))
"""
from __future__ import annotations

import functools
import json
import os
import sys
import time

from cluewatch.textmatch_cli import MAX_LINE_BYTES, _lines, _load_marks

DETECTORS = ("default", "baseline")


class CannotRun(Exception):
    """The command cannot run at all; the message is the one line printed."""


def load_references(registry_path) -> list:
    """Every logo of every mark in the registry as a LogoReference (BGR/BGRA uint8)."""
    from detectors.logo.references import BadLogoFile, references_for

    class _Err:  # _load_marks prints the registry's first problem; keep it for the one-line message
        text = ""

        def write(self, s):
            self.text += s

    err = _Err()
    marks = _load_marks(registry_path, err)
    if marks is None:
        raise CannotRun(err.text.strip().removeprefix("error: "))
    try:
        refs = references_for(marks)
    except BadLogoFile as e:
        raise CannotRun(f"{registry_path}: {e}") from None
    if not refs:
        raise CannotRun(f"{registry_path}: no mark has a logo")
    return refs


def make_detector(name: str, refs, err=sys.stderr):
    """Build the named detector; "default" is detectors.logo.detect.LogoDetector when importable."""
    if name == "default":
        try:
            from detectors.logo.detect import LogoDetector
        except ImportError as e:
            print(f"note: the default logo detector is not available ({e}); using the baseline", file=err)
        else:
            return LogoDetector.build(refs)
    elif name != "baseline":
        raise CannotRun(f"unknown detector {name!r}; choose one of {', '.join(DETECTORS)}")
    from detectors.logo.baseline import BaselineDetector

    return BaselineDetector.build(refs)


class Progress:
    """'<what>: 120/450 images, 41 s, ~113 s left' on stderr, at most every `every` seconds and at
    the end: a run over a big set or many registries takes minutes to hours."""

    def __init__(self, err, total: int | None, unit: str = "images", every: float = 10.0, clock=time.monotonic):
        self.err, self.total, self.unit, self.every, self.clock = err, total, unit, every, clock
        self.done = 0
        self.t0 = self.last = clock()

    def __call__(self, what: str = "") -> None:
        self.done += 1
        now = self.clock()
        if now - self.last < self.every and self.done != self.total:
            return
        self.last = now
        elapsed = now - self.t0
        line = f"{what + ': ' if what else ''}{self.done}"
        if self.total:
            line += f"/{self.total} {self.unit}, {elapsed:.0f} s"
            if self.done < self.total:
                line += f", ~{elapsed / self.done * (self.total - self.done):.0f} s left"
        else:
            line += f" {self.unit}, {elapsed:.0f} s"
        print(line, file=self.err, flush=True)


def _answer(line: bytes, base_dir: str, detector) -> dict:
    from detectors.imageio import BadImage, load_image

    if len(line) > MAX_LINE_BYTES:
        return {"id": None, "matches": [], "error": f"line longer than {MAX_LINE_BYTES} bytes"}
    try:
        rec = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return {"id": None, "matches": [], "error": f"invalid UTF-8 at byte {exc.start}"}
    except ValueError as exc:
        return {"id": None, "matches": [], "error": f"not JSON: {exc}"}
    if not isinstance(rec, dict):
        return {"id": None, "matches": [], "error": "line is not a JSON object"}
    rid = rec.get("id")
    if isinstance(rid, (dict, list)):
        rid = json.dumps(rid, ensure_ascii=False)
    if rid is None:
        return {"id": None, "matches": [], "error": "missing id"}
    image = rec.get("image")
    if not isinstance(image, str) or not image:
        return {"id": rid, "matches": [], "error": "missing image" if image is None else "image is not a path string"}
    path = image if os.path.isabs(image) else os.path.join(base_dir, image)
    try:
        img = load_image(path)
    except BadImage as exc:
        return {"id": rid, "matches": [], "error": f"bad image: {exc}"}
    s = img.scale  # boxes are reported in the original image's pixels
    matches = [{"mark_id": m.mark_id, "score": round(float(m.score), 4),
                "bbox": [round(m.bbox[0] / s), round(m.bbox[1] / s), round(m.bbox[2] / s), round(m.bbox[3] / s)]}
               for m in sorted(detector.detect(img.pixels), key=lambda m: -m.score)]
    return {"id": rid, "matches": matches, "error": None}


def run_match_logo(registry_path, input_path, out, err, detector_name: str = "default") -> int:
    """JSONL of logo matches for every line of `input_path` on `out`; 0 when every line was answered."""
    try:
        if not os.access(input_path, os.R_OK) or os.path.isdir(input_path):
            raise CannotRun(f"cannot read {input_path}")
        detector = make_detector(detector_name, load_references(registry_path), err)
    except CannotRun as exc:
        print(f"error: {exc}", file=err)
        return 2
    base_dir = os.path.dirname(os.path.abspath(input_path))
    progress = Progress(err, None, unit="lines answered")
    try:
        for _, line in _lines(input_path):
            if not line.strip():
                ans = {"id": None, "matches": [], "error": "empty line"}
            else:
                try:
                    ans = _answer(line.rstrip(b"\r\n"), base_dir, detector)
                except Exception as exc:  # noqa: BLE001 - one bad line never stops the batch
                    ans = {"id": None, "matches": [], "error": f"internal error: {type(exc).__name__}: {exc}"}
            out.write(json.dumps(ans, ensure_ascii=False) + "\n")
            progress()
    except OSError as exc:
        print(f"error: cannot read {input_path}: {exc.strerror or exc}", file=err)
        return 2
    return 0


def _registered_only(row: dict, marks: set[str]) -> dict:
    """The label row as a registry of `marks` sees it: other logos are unregistered ones."""
    boxes = [b for b in row["boxes"] if b["mark_id"] in marks]
    if row["boxes"] and not boxes:
        return dict(row, boxes=[], kind="unregistered-logo")
    return dict(row, boxes=boxes)


def run_eval_logo(labels_path, registry_path, out, err, detectors=("default", "baseline"), limit=None,
                  registry_size=None, curve_path=None) -> int:
    """Print precision, recall, mean IoU and time per image of each detector, overall, per split,
    per hard-case tag; the registry defaults to registry.yaml beside the labels. With `curve_path`
    the detectors' precision–recall curves are also drawn there as one SVG.

    With `registry_size` N the registry is split into registries of N logos (every k-th logo, so
    each mixes the set's logos), each measured on every image — a labelled logo outside a registry
    is an unregistered logo for it — and the results pooled: how a small registry fares."""
    from detectors.logo import evaluate

    registry_path = registry_path or os.path.join(os.path.dirname(os.path.abspath(labels_path)), "registry.yaml")
    try:
        rows = evaluate.read_labels(labels_path)
    except OSError as exc:
        print(f"error: cannot read {labels_path}: {exc.strerror or exc}", file=err)
        return 2
    except ValueError as exc:
        print(f"error: bad label line: {exc}", file=err)
        return 2
    rows = rows[:limit] if limit else rows
    base_dir = os.path.dirname(os.path.abspath(labels_path))
    try:
        if curve_path and (os.path.isdir(curve_path)
                           or not os.access(os.path.dirname(os.path.abspath(curve_path)), os.W_OK)):
            # checked before a run of minutes, not after it
            raise CannotRun(f"cannot write {curve_path}")
        refs = load_references(registry_path)
        if registry_size is not None and not 1 <= registry_size <= len(refs):
            raise CannotRun(f"--registry-size must be between 1 and the {len(refs)} logos of {registry_path}")
        n_groups = len(refs) // registry_size if registry_size else 1
        groups = [refs[i::n_groups] for i in range(n_groups)]
        reports = {}
        progress = Progress(err, len(rows) * n_groups * len(detectors))
        for name in detectors:
            pooled_rows, pooled, build_s = [], [], 0.0
            for i, group in enumerate(groups, 1):
                marks = {r.mark_id for r in group}
                own = [_registered_only(r, marks) for r in rows]
                t0 = time.perf_counter()
                det = make_detector(name, group, err)
                build_s += time.perf_counter() - t0
                pooled_rows += own
                what = name if n_groups == 1 else f"{name}, registry {i}/{n_groups}"
                pooled += evaluate.run(own, base_dir, det, progress=functools.partial(progress, what))
            reports[name] = evaluate.summarize(pooled_rows, pooled)
            reports[name]["build_seconds"] = build_s
    except CannotRun as exc:
        print(f"error: {exc}", file=err)
        return 2
    if n_groups > 1:
        sizes = sorted({len(g) for g in groups})
        heading = (f"{len(rows)} images × {n_groups} registries of {'–'.join(map(str, sizes))} logos, pooled "
                   f"(from the {len(refs)} of {registry_path})")
    else:
        heading = f"{len(rows)} images, {len(refs)} registered logos ({registry_path})"
    out.write(heading + "\n")
    out.write(evaluate.format_report(reports) + "\n")
    if curve_path:
        from detectors.logo.curve import pr_curve_svg

        svg = pr_curve_svg({name: r["curve"] for name, r in reports.items()}, title=heading)
        try:
            with open(curve_path, "w", encoding="utf-8") as f:
                f.write(svg)
        except OSError as exc:
            print(f"error: cannot write {curve_path}: {exc.strerror or exc}", file=err)
            return 2
        out.write(f"precision–recall curves: {curve_path}\n")
    return 0
