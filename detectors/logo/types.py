"""Plain data shared by the logo detectors, the evaluation harness and the pipeline."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LogoReference:
    """One registered logo image. `image` is BGR (or BGRA) uint8, as cv2.imread gives it."""

    mark_id: str
    logo_id: str          # unique per logo file; a mark may have several logos
    image: np.ndarray


@dataclass(frozen=True)
class LogoMatch:
    """A registered logo found in an image.

    bbox is (x, y, w, h) in the input image's pixels; polygon is the logo's outline
    (four corners after the homography, or the box corners for methods without one).
    score is a calibrated probability that the logo is really there.
    """

    mark_id: str
    logo_id: str
    score: float
    bbox: tuple[int, int, int, int]
    polygon: tuple[tuple[float, float], ...]
    method: str           # e.g. "keypoints", "template"
