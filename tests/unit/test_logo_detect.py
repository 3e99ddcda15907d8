"""The logo detector on real photographs (scikit-image's bundled data) with logos composited on them.

Registered logos: scikit-image's own logo (a real logo, bundled with the library) and a few
deterministic drawn emblems; the photos are real photographs. Fast: the detector is built once.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data as skd

from detectors.logo import index as index_module
from detectors.logo.detect import DetectorParams, LogoDetector
from detectors.logo.draw import draw_matches, encode_jpeg, encode_png
from detectors.logo.types import LogoMatch, LogoReference
from detectors.logo.verify import box_iou

FAST = DetectorParams(view_scales=(1.0, 0.5))


def _emblem(seed: int, text: str) -> np.ndarray:
    """A deterministic BGRA emblem: a coloured badge with a word in it, transparent around."""
    rng = np.random.default_rng(seed)
    img = np.zeros((180, 320, 4), np.uint8)
    colour = tuple(int(c) for c in rng.integers(30, 220, 3)) + (255,)
    cv2.ellipse(img, (160, 90), (150, 80), 0, 0, 360, colour, -1)
    cv2.putText(img, text, (38, 112), cv2.FONT_HERSHEY_DUPLEX, 2.0, (255, 255, 255, 255), 4, cv2.LINE_AA)
    for _ in range(3):
        c = tuple(int(v) for v in rng.integers(0, 320, 2))
        cv2.circle(img, (c[0] % 300 + 10, c[1] % 160 + 10), int(rng.integers(6, 14)), (20, 20, 20, 255), -1)
    return img


def _skimage_logo() -> np.ndarray:
    return cv2.cvtColor(skd.logo(), cv2.COLOR_RGBA2BGRA)


def _photo(name: str) -> np.ndarray:
    img = getattr(skd, name)()
    return cv2.cvtColor(img, cv2.COLOR_RGB2BGR) if img.ndim == 3 else cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)


def composite(photo: np.ndarray, logo_bgra: np.ndarray, width_frac: float, angle: float,
              center=(0.5, 0.5), jpeg: int = 80) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The logo pasted (alpha-blended, rotated, scaled) onto the photo; JPEG round-trip; true box."""
    H, W = photo.shape[:2]
    lh, lw = logo_bgra.shape[:2]
    ys, xs = np.nonzero(logo_bgra[:, :, 3] > 8)
    s = width_frac * W / (xs.max() - xs.min() + 1)
    M = cv2.getRotationMatrix2D((lw / 2, lh / 2), angle, s)
    M[:, 2] += np.array([center[0] * W, center[1] * H]) - np.array([lw / 2, lh / 2])
    warped = cv2.warpAffine(logo_bgra, M, (W, H), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0, 0))
    a = warped[:, :, 3:].astype(np.float32) / 255
    out = (photo.astype(np.float32) * (1 - a) + warped[:, :, :3].astype(np.float32) * a).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, jpeg])
    vy, vx = np.nonzero(a[:, :, 0] > 0.05)
    box = (int(vx.min()), int(vy.min()), int(vx.max() - vx.min() + 1), int(vy.max() - vy.min() + 1))
    return cv2.imdecode(buf, cv2.IMREAD_COLOR), box


@pytest.fixture(scope="module")
def detector() -> LogoDetector:
    cv2.setNumThreads(1)
    refs = [LogoReference("scikit-image", "skimage-logo", _skimage_logo())]
    refs += [LogoReference(f"brand-{i}", f"brand-{i}-logo", _emblem(i, word))
             for i, word in enumerate(["ACME", "ZORB", "KYTO", "PLEX"])]
    return LogoDetector.build(refs, FAST)


@pytest.mark.parametrize("photo,width,angle", [
    ("astronaut", 0.35, 0), ("coffee", 0.25, 20), ("rocket", 0.15, -25), ("chelsea", 0.5, 10),
])
def test_real_logo_on_real_photo_is_found_with_its_box(detector, photo, width, angle):
    img, box = composite(_photo(photo), _skimage_logo(), width, angle, center=(0.45, 0.55))
    found = detector.detect(img)
    assert found, "nothing found"
    best = found[0]
    assert best.mark_id == "scikit-image"
    assert box_iou(best.bbox, box) >= 0.7, (best.bbox, box)
    assert 0.5 <= best.score <= 1.0
    assert len(best.polygon) == 4


def test_drawn_wordmark_emblem_found_and_not_confused(detector):
    img, box = composite(_photo("astronaut"), _emblem(2, "KYTO"), 0.3, 15, center=(0.6, 0.4))
    found = detector.detect(img)
    assert [m.mark_id for m in found] == ["brand-2"]
    assert box_iou(found[0].bbox, box) >= 0.7


def test_inverted_logo_is_found(detector):
    logo = _skimage_logo()
    logo[:, :, :3] = 255 - logo[:, :, :3]
    img, box = composite(_photo("camera"), logo, 0.4, -10)
    found = detector.detect(img)
    assert found and found[0].mark_id == "scikit-image" and box_iou(found[0].bbox, box) >= 0.7


@pytest.mark.parametrize("photo", ["astronaut", "coffee", "rocket", "chelsea", "camera", "brick"])
def test_photo_without_logo_yields_nothing(detector, photo):
    assert detector.detect(_photo(photo)) == []


def test_unregistered_logo_yields_nothing(detector):
    img, _ = composite(_photo("coffee"), _emblem(99, "MOXA"), 0.35, 5)
    assert detector.detect(img) == []


def test_gray_and_bgra_inputs_are_accepted(detector):
    img, _ = composite(_photo("astronaut"), _skimage_logo(), 0.35, 0)
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    assert [m.mark_id for m in detector.detect(gray)] == ["scikit-image"]
    assert [m.mark_id for m in detector.detect(cv2.cvtColor(img, cv2.COLOR_BGR2BGRA))] == ["scikit-image"]


def test_index_is_shared_and_searched_once_per_image(monkeypatch):
    """100 registered logos, one photo: one k-NN search in one index, no per-logo matcher."""
    refs = [LogoReference(f"m{i}", f"l{i}", _emblem(1000 + i, w)) for i, w in
            enumerate((a + b) for a in ("AX", "BO", "CU", "DE", "FI", "GA", "HO", "JU", "KE", "LY")
                      for b in ("RN", "ZT", "MP", "QS", "WX", "VL", "TK", "GH", "NY", "PD"))]
    refs[0] = LogoReference("scikit-image", "skimage-logo", _skimage_logo())
    det = LogoDetector.build(refs, DetectorParams(view_scales=(1.0,), view_backgrounds=(255,)))
    assert len({int(v) for v in det.index.logo}) == 100

    calls = {"search": 0}
    real = index_module.SharedIndex.match

    def counting(self, *a, **k):
        calls["search"] += 1
        return real(self, *a, **k)

    monkeypatch.setattr(index_module.SharedIndex, "match", counting)
    monkeypatch.setattr(cv2, "BFMatcher", lambda *a, **k: pytest.fail("per-logo brute-force matcher used"))
    img, box = composite(_photo("astronaut"), _skimage_logo(), 0.35, 10)
    found = det.detect(img)
    assert calls["search"] == 1
    assert found and found[0].mark_id == "scikit-image" and box_iou(found[0].bbox, box) >= 0.7


@pytest.mark.parametrize("shape", [(120, 160), (600, 800), (2400, 3200)])
def test_draw_marks_the_box_and_label_at_any_size(shape):
    h, w = shape
    img = np.full((h, w, 3), 128, np.uint8)
    bx, by, bw, bh = w // 4, h // 3, w // 2, h // 3
    m = LogoMatch("acme", "acme-1", 0.93, (bx, by, bw, bh),
                  ((bx, by), (bx + bw, by), (bx + bw, by + bh), (bx, by + bh)), "keypoints")
    out = draw_matches(img, [m])
    assert out.shape == img.shape and not np.shares_memory(out, img)
    assert (img == 128).all()                                      # input untouched
    red = (out[:, :, 2] > 200) & (out[:, :, 0] < 60)
    assert red[by + bh // 2, bx - 1: bx + 2].any()                 # left edge of the box drawn
    assert red[by + bh // 2, bx + bw - 1: bx + bw + 2].any()       # right edge
    assert not red[by + bh // 2, bx + bw // 2]                     # inside left alone
    label_rows = out[max(0, by - h // 10): by, bx: bx + bw // 2]
    assert (label_rows != 128).any()                               # a label sits above the box
    assert encode_png(out)[:8] == b"\x89PNG\r\n\x1a\n"
    assert encode_jpeg(out)[:2] == b"\xff\xd8"


def _isoluminant_logo() -> np.ndarray:
    """Green shapes and a word on a red badge of the same gray level: invisible in grayscale."""
    red, green = (0, 0, 200, 255), (0, 102, 0, 255)        # both ≈ 60 in BGR2GRAY
    img = np.zeros((200, 300, 4), np.uint8)
    img[:, :] = red
    cv2.putText(img, "ZAP", (40, 125), cv2.FONT_HERSHEY_DUPLEX, 2.6, green, 7, cv2.LINE_AA)
    for c, r in (((30, 30), 14), ((265, 170), 18), ((250, 35), 10)):
        cv2.circle(img, c, r, green, -1)
    cv2.rectangle(img, (20, 160), (120, 180), green, -1)
    return img


def test_flat_colour_logo_needs_the_colour_planes():
    cv2.setNumThreads(1)
    logo = _isoluminant_logo()
    refs = [LogoReference("zap", "zap-logo", logo), LogoReference("scikit-image", "skimage-logo", _skimage_logo())]
    photo = np.zeros((480, 640, 3), np.uint8)
    photo[:, :] = (0, 0, 200)                                # the badge's own red: no outline either
    rng = np.random.default_rng(0)
    photo = np.clip(photo.astype(np.int16) + rng.integers(-3, 4, photo.shape), 0, 255).astype(np.uint8)
    img, box = composite(photo, logo, 0.4, 10, jpeg=90)
    found = LogoDetector.build(refs, FAST).detect(img)
    assert found and found[0].mark_id == "zap" and box_iou(found[0].bbox, box) >= 0.5, (found, box)
    gray_only = LogoDetector.build(refs, DetectorParams(view_scales=(1.0, 0.5), colour=False)).detect(img)
    assert not gray_only, gray_only


def test_gray_plane_scale_keeps_a_minimum_side():
    from detectors.logo.detect import _gray_scale

    assert _gray_scale(DetectorParams(gray_scale=1.0), (480, 640)) == 1.0        # full working size
    assert _gray_scale(DetectorParams(), (480, 640)) == pytest.approx(360 / 640)  # default: half, ≥ 360 px
    half = DetectorParams(gray_scale=0.5, gray_min_side=360)
    assert _gray_scale(half, (900, 1000)) == 0.5                                 # large photo: half
    assert _gray_scale(half, (480, 480)) == pytest.approx(0.75)                  # 360 px product shot, upscaled
    assert _gray_scale(DetectorParams(gray_scale=0.5, gray_min_side=2000), (480, 640)) == 1.0   # never upscaled


def test_one_registered_logo_is_not_found_in_a_plain_shape():
    """With one registered logo the other-logo ratio test has nothing to compare with, so every
    photo keypoint matches it; the swoosh must still not be 'found' in a shirt's V-neck (pose
    voting once placed it there with 35 inliers at a looser tolerance) — and is found on the shoe."""
    from pathlib import Path

    from cluewatch import demo_sites
    from cluewatch.demo_sites import load_catalogue
    from cluewatch.demo_sites.artwork import product_photo_jpeg
    from detectors.logo.references import load_reference

    cv2.setNumThreads(1)
    nike = load_reference("nike", "nike", Path(demo_sites.__file__).with_name("logos") / "nike.png")
    det = LogoDetector.build([nike])
    spec = {str(item["id"]): item["image"] for item in load_catalogue()}

    def photo(listing: str) -> np.ndarray:
        return cv2.imdecode(np.frombuffer(product_photo_jpeg(listing, spec[listing]), np.uint8), cv2.IMREAD_COLOR)

    assert det.detect(photo("620145812")) == []                      # plain orange shirt
    assert [m.mark_id for m in det.detect(photo("620145807"))] == ["nike"]   # shoe with the swoosh
