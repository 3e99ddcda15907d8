"""A background class for the shared index: descriptors of generic structure that belongs to no logo.

The ratio test asks whether a photo keypoint is more like one logo than like anything else in the
index. With one registered logo, or a few, there is nothing else, so every photo keypoint becomes a
vote — a plain shirt's V-neck ends up "matching" a swoosh. Synthetic scenes of generic structure
(clutter, corners, bars, rings, strokes of text, logo-like emblems) give the test something else to compare with,
whatever the size of the registry. They are drawn from a fixed seed, so an index is reproducible and
needs no image files.
"""
from __future__ import annotations

import functools

import cv2
import numpy as np

from detectors.logo.features import Keypoints, SiftExtractor

SCENE_SIDE = 384
_FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX, cv2.FONT_HERSHEY_TRIPLEX,
          cv2.FONT_HERSHEY_PLAIN, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX)
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def clutter(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """1/f-like gray clutter: octaves of smoothed noise, like the busy photo behind a logo."""
    h, w = shape
    acc = np.zeros((h, w), np.float32)
    for cell in (2, 4, 8, 16, 32):
        small = rng.normal(0, 1, (h // cell + 2, w // cell + 2)).astype(np.float32)
        acc += cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    acc = (acc - acc.mean()) / (acc.std() + 1e-6)
    return np.clip(128 + rng.uniform(10, 45) * acc, 0, 255).astype(np.uint8)


def emblem_sheet(rng: np.random.Generator, side: int = SCENE_SIDE) -> np.ndarray:
    """Logo-like emblems (a badge, a short word on it) on a plain ground: what an unregistered brand's
    logo has in common with a registered one."""
    ground = int(rng.choice([0, 255, int(rng.integers(0, 256))]))
    img = np.full((side, side), ground, np.uint8)
    for _ in range(int(rng.integers(3, 7))):
        x, y = (int(v) for v in rng.integers(0, side, 2))
        r = int(rng.integers(20, side // 4))
        badge, ink = int(rng.integers(0, 256)), int(rng.integers(0, 256))
        if abs(badge - ink) < 60:
            ink = 255 - badge
        kind = rng.integers(0, 3)
        if kind == 0:
            cv2.circle(img, (x, y), r, badge, -1, cv2.LINE_AA)
        elif kind == 1:
            cv2.rectangle(img, (x - r, y - r // 2), (x + r, y + r // 2), badge, -1)
        else:
            pts = (rng.normal(0, r / 2, (int(rng.integers(3, 8)), 2)) + [x, y]).astype(np.int32)
            cv2.fillPoly(img, [cv2.convexHull(pts)], badge, cv2.LINE_AA)
        text = "".join(rng.choice(list(_LETTERS), int(rng.integers(1, 6))))
        cv2.putText(img, text, (x - r + 4, y + r // 4), _FONTS[int(rng.integers(0, len(_FONTS)))],
                    float(rng.uniform(0.5, 2.0)), ink, int(rng.integers(1, 5)), cv2.LINE_AA)
    return img


def scene(rng: np.random.Generator, side: int = SCENE_SIDE) -> np.ndarray:
    """One gray scene: half are emblem sheets, the rest random generic shapes on clutter or on a
    plain ground (with emblems, false marks in 8-logo registries halved: docs/logo-detector.md)."""
    if rng.random() < 0.5:
        return emblem_sheet(rng, side)
    img = clutter((side, side), rng) if rng.random() < 0.6 else np.full((side, side), int(rng.integers(0, 256)), np.uint8)
    for _ in range(int(rng.integers(6, 14))):
        colour = int(rng.integers(0, 256))
        kind = rng.integers(0, 6)
        x, y = (int(v) for v in rng.integers(0, side, 2))
        r = int(rng.integers(6, side // 4))
        thick = -1 if rng.random() < 0.5 else int(rng.integers(2, 12))
        if kind == 0:
            cv2.rectangle(img, (x, y), (x + r, y + int(rng.integers(6, side // 4))), colour, thick)
        elif kind == 1:
            cv2.circle(img, (x, y), r, colour, thick, cv2.LINE_AA)
        elif kind == 2:
            cv2.ellipse(img, (x, y), (r, int(rng.integers(4, r + 5))), float(rng.uniform(0, 180)), 0,
                        float(rng.uniform(90, 360)), colour, max(2, thick), cv2.LINE_AA)
        elif kind == 3:
            pts = rng.integers(0, side, (int(rng.integers(3, 7)), 2)).astype(np.int32)
            cv2.fillPoly(img, [cv2.convexHull(pts)], colour, cv2.LINE_AA)
        elif kind == 4:
            cv2.line(img, (x, y), tuple(int(v) for v in rng.integers(0, side, 2)), colour, int(rng.integers(2, 14)),
                     cv2.LINE_AA)
        else:
            text = "".join(rng.choice(list(_LETTERS), int(rng.integers(2, 8))))
            cv2.putText(img, text, (x - r, y), _FONTS[int(rng.integers(0, len(_FONTS)))], float(rng.uniform(0.6, 3.0)),
                        colour, int(rng.integers(1, 6)), cv2.LINE_AA)
    if rng.random() < 0.5:
        img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.5, 1.5)))
    return img


_drawn: dict[int, tuple[np.random.Generator, list[Keypoints]]] = {}


@functools.lru_cache(maxsize=8)
def background_keypoints(scenes: int, seed: int = 7) -> tuple[Keypoints, ...]:
    """Keypoints of the first `scenes` synthetic scenes of `seed`. Registries of different sizes take
    different numbers of the same scenes, so each scene is drawn and described once per process."""
    rng, drawn = _drawn.setdefault(seed, (np.random.default_rng(seed), []))
    extractor = SiftExtractor()
    while len(drawn) < scenes:
        drawn.append(extractor.extract(scene(rng)))
    return tuple(drawn[:scenes])
