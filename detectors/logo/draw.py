"""Evidence images: the photo with each detected logo outlined and labelled, for the review UI.

    png = encode_png(draw_matches(image_bgr, matches))

Line width and text size follow the image size so the label stays readable on a 200 px thumbnail
and on a 4,000 px photo alike.
"""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from detectors.logo.types import LogoMatch

# high-contrast colours (BGR) cycled per match; the label box is filled, so any photo behind works
COLOURS = ((0, 0, 255), (0, 200, 255), (255, 0, 255), (255, 128, 0), (0, 255, 0))


def draw_matches(image: np.ndarray, matches: Sequence[LogoMatch]) -> np.ndarray:
    """A BGR copy of `image` with each match's polygon (or box) and a "mark_id 0.97" label."""
    out = to_bgr(image).copy()
    h, w = out.shape[:2]
    side = max(h, w)
    thick = max(2, round(side / 300))
    font_scale = max(0.4, side / 1200)
    text_thick = max(1, round(font_scale * 1.6))
    for i, m in enumerate(matches):
        colour = COLOURS[i % len(COLOURS)]
        pts = np.array(m.polygon if m.polygon else _box_corners(m.bbox), np.float32)
        cv2.polylines(out, [np.round(pts).astype(np.int32).reshape(-1, 1, 2)], True, colour, thick, cv2.LINE_AA)
        x, y, bw, bh = m.bbox
        cv2.rectangle(out, (x, y), (x + bw, y + bh), colour, max(1, thick // 2))
        draw_label(out, f"{m.mark_id} {m.score:.2f}", (x, y), colour, font_scale, text_thick)
    return out


def encode_png(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise ValueError("PNG encoding failed")
    return buf.tobytes()


def encode_jpeg(image: np.ndarray, quality: int = 90) -> bytes:
    ok, buf = cv2.imencode(".jpg", to_bgr(image), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()


def draw_label(img: np.ndarray, text: str, anchor: tuple[int, int], colour, scale: float, thick: int) -> None:
    """Filled tag above the box (inside the image even when the box touches the top edge)."""
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    pad = max(2, th // 4)
    h, w = img.shape[:2]
    x = int(min(max(0, anchor[0]), max(0, w - tw - 2 * pad)))
    y_top = anchor[1] - th - base - 2 * pad
    if y_top < 0:
        y_top = min(max(0, anchor[1]), max(0, h - th - base - 2 * pad))
    cv2.rectangle(img, (x, y_top), (x + tw + 2 * pad, y_top + th + base + 2 * pad), colour, cv2.FILLED)
    ink = (0, 0, 0) if sum(colour) > 380 else (255, 255, 255)
    cv2.putText(img, text, (x + pad, y_top + pad + th), cv2.FONT_HERSHEY_SIMPLEX, scale, ink, thick, cv2.LINE_AA)


def _box_corners(bbox) -> list[tuple[float, float]]:
    x, y, w, h = bbox
    return [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]


def to_bgr(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image
