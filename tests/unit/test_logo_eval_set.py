"""detectors.logo.evalset: a deterministic, well-formed evaluation set from the real logo packages
and real photographs (needs `scripts/ensure-logo-eval-sources.sh`, which `make test` runs)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from cluewatch.registry import load_registry
from cluewatch.settings import Settings
from detectors.logo import evalset

TINY = evalset.Params(positives=6, negatives=4, registered=4, unregistered=2)
SMALL = evalset.Params(positives=40, negatives=16, registered=12, unregistered=4)


@pytest.fixture(scope="session")
def small_set():
    return evalset.cached(Settings.from_env().home / "cache", SMALL)


def _rows(d):
    return [json.loads(line) for line in (d / "labels.jsonl").read_text().splitlines()]


def test_same_seed_same_bytes(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    evalset.build(a, TINY)
    evalset.build(b, TINY)
    assert (a / "labels.jsonl").read_bytes() == (b / "labels.jsonl").read_bytes()
    for f in sorted((a / "images").iterdir()) + sorted((a / "logos").iterdir()):
        assert f.read_bytes() == (b / f.parent.name / f.name).read_bytes(), f.name


def test_labels_registry_and_split_by_logo(small_set):
    rows = _rows(small_set)
    manifest = json.loads((small_set / "manifest.json").read_text())
    assert len(rows) == 56 and manifest["registered"] == 12
    assert len(manifest["logos"]) == 16 and len({lg["source"] for lg in manifest["logos"]}) == 3

    reg = load_registry(small_set / "registry.yaml")  # the project's own loader accepts it
    registered = {m.id for m in reg.marks}
    assert registered == {lg["logo_id"] for lg in manifest["logos"] if lg["registered"]}

    split_of = {lg["logo_id"]: lg["split"] for lg in manifest["logos"]}
    assert set(split_of.values()) == {"tune", "heldout"}
    for r in rows:
        w, h = r["size"]
        assert set(r["tags"]) <= set(evalset.TAGS)
        assert r["split"] in ("tune", "heldout")
        if r["kind"] == "positive":
            assert r["boxes"]
        else:
            assert r["boxes"] == []
        for b in r["boxes"]:
            x, y, bw, bh = b["bbox"]
            assert b["mark_id"] in registered
            assert split_of[b["mark_id"]] == r["split"]  # a held-out logo never shows in a tune image
            assert 0 <= x and 0 <= y and x + bw <= w and y + bh <= h
            assert 0.04 * w <= bw  # scale 5–40 % of the width (rotation only makes the box wider)
        if r["kind"] == "unregistered-logo":
            assert r["distractor"] not in registered
    kinds = {r["kind"] for r in rows}
    assert kinds == {"positive", "no-logo", "unregistered-logo"}


def test_images_are_what_labels_say(small_set):
    import cv2

    r = next(r for r in _rows(small_set) if r["kind"] == "positive")
    img = cv2.imread(str(small_set / r["image"]))
    assert img.shape[1::-1] == tuple(r["size"])
    logo = cv2.imread(str(small_set / "logos" / f"{r['boxes'][0]['logo_id']}.png"), cv2.IMREAD_UNCHANGED)
    assert logo.shape[2] == 4 and logo[:, :, 3].max() == 255


def test_cached_is_built_once(small_set):
    stamp = (small_set / "manifest.json").stat().st_mtime_ns
    again = evalset.cached(small_set.parent.parent, SMALL)
    assert again == small_set and (again / "manifest.json").stat().st_mtime_ns == stamp
    assert SMALL.key() != TINY.key()


def test_cli_refuses_non_empty_out(tmp_path, capsys):
    (tmp_path / "x").write_text("keep me")
    assert evalset.main(["--out", str(tmp_path), "--positives", "1"]) == 2
    assert "not empty" in capsys.readouterr().err


def test_clean_composites_keep_the_logo_unchanged(small_set):
    """A clean image's pixels inside the box are the logo, not noise: mostly non-background."""
    import cv2

    rows = [r for r in _rows(small_set) if "clean" in r["tags"]] or \
        [r for r in _rows(small_set) if r["kind"] == "positive"]
    r = rows[0]
    img = cv2.imread(str(small_set / r["image"])).astype(np.int16)
    x, y, w, h = r["boxes"][0]["bbox"]
    inside = img[y:y + h, x:x + w]
    assert inside.std() > 10  # a logo has structure
