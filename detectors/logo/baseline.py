"""The plain OpenCV-tutorial logo finder, kept as the yardstick the real detector is measured against.

"Feature Matching + Homography to find Objects" (OpenCV docs), once per registered logo: SIFT on the
logo and on the image, brute-force k-NN (k=2) matching, Lowe's ratio test (0.75), and when more than
MIN_MATCH_COUNT (10) good matches remain, a RANSAC homography (5 px) whose projected logo corners give
the box. Nothing is shared between logos, so the cost grows linearly with the registry.

    det = BaselineDetector.build(references)
    matches = det.detect(cv2.imread("listing.jpg"))   # [LogoMatch(...)]
"""
from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from detectors.logo.types import LogoMatch, LogoReference

RATIO = 0.75
MIN_MATCH_COUNT = 10
RANSAC_PX = 5.0


def _gray(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:  # transparent logo pixels shown on white, as on a web page
        a = image[:, :, 3:4].astype(np.float32) / 255
        image = (image[:, :, :3] * a + 255 * (1 - a)).astype(np.uint8)
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


class BaselineDetector:
    method = "baseline-sift"

    def __init__(self, refs: list[tuple[LogoReference, tuple, np.ndarray, tuple[int, int]]]):
        self._refs = refs
        self._sift = cv2.SIFT_create()
        self._bf = cv2.BFMatcher()

    @classmethod
    def build(cls, references: Iterable[LogoReference]) -> "BaselineDetector":
        sift = cv2.SIFT_create()
        refs = []
        for ref in references:
            g = _gray(ref.image)
            kp, des = sift.detectAndCompute(g, None)
            if des is not None and len(kp) >= 2:
                refs.append((ref, tuple(k.pt for k in kp), des, g.shape[:2]))
        return cls(refs)

    def detect(self, image: np.ndarray) -> list[LogoMatch]:
        kp, des = self._sift.detectAndCompute(_gray(image), None)
        if des is None or len(kp) < 2:
            return []
        out = []
        for ref, ref_pts, ref_des, (h, w) in self._refs:
            good = [m for m, n in (p for p in self._bf.knnMatch(ref_des, des, k=2) if len(p) == 2)
                    if m.distance < RATIO * n.distance]
            if len(good) <= MIN_MATCH_COUNT:
                continue
            src = np.float32([ref_pts[m.queryIdx] for m in good]).reshape(-1, 1, 2)
            dst = np.float32([kp[m.trainIdx].pt for m in good]).reshape(-1, 1, 2)
            M, mask = cv2.findHomography(src, dst, cv2.RANSAC, RANSAC_PX)
            if M is None:
                continue
            corners = cv2.perspectiveTransform(np.float32([[0, 0], [0, h], [w, h], [w, 0]]).reshape(-1, 1, 2), M)
            x, y, bw, bh = cv2.boundingRect(corners.reshape(-1, 2))
            inliers = int(mask.sum())
            # The tutorial has no score; the inlier share of the good matches is the closest it offers.
            out.append(LogoMatch(ref.mark_id, ref.logo_id, round(inliers / len(good), 4), (x, y, bw, bh),
                                 tuple(map(tuple, corners.reshape(-1, 2).tolist())), self.method))
        return out
