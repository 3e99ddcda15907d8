"""Geometric verification: does a set of putative matches agree on one plausible placement?"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Placement:
    """Where a reference lands in the photo (working-image pixels)."""

    H: np.ndarray              # 3x3 homography, reference → photo
    corners: np.ndarray        # (4, 2) reference corners in the photo
    inliers: int
    matches: int               # putative matches the placement was fitted on
    coverage: float            # share of the reference area spanned by the inliers
    inlier_idx: np.ndarray     # indices (into the matches given) of the inliers


def project(H: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return cv2.perspectiveTransform(pts.reshape(-1, 1, 2).astype(np.float64), H).reshape(-1, 2)


def ref_corners(w: float, h: float) -> np.ndarray:
    return np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64)


def plausible(H: np.ndarray, ref_wh: tuple[float, float], image_wh: tuple[int, int],
              min_side: float = 10.0) -> np.ndarray | None:
    """The projected corners if the homography is what a printed logo can look like, else None.

    A logo on a product is a plane seen from a sensible distance: the outline stays convex and
    not mirrored, opposite sides keep similar lengths, the aspect ratio does not flip, and the
    result is neither a speck nor far bigger than the photo.
    """
    if H is None or not np.all(np.isfinite(H)):
        return None
    w, h = ref_wh
    c = project(H, ref_corners(w, h))
    if not np.all(np.isfinite(c)):
        return None
    if not cv2.isContourConvex(c.astype(np.float32).reshape(-1, 1, 2)):
        return None
    area = 0.5 * ((c[:, 0] * np.roll(c[:, 1], -1)).sum() - (np.roll(c[:, 0], -1) * c[:, 1]).sum())
    if area <= 0:                                       # reflection (or degenerate)
        return None
    sides = np.linalg.norm(c - np.roll(c, -1, axis=0), axis=1)   # top, right, bottom, left
    if sides.min() < min_side:
        return None
    if not (0.5 < sides[0] / sides[2] < 2.0 and 0.5 < sides[1] / sides[3] < 2.0):
        return None
    aspect_ref = w / h
    aspect = (sides[0] + sides[2]) / (sides[1] + sides[3])
    if not (1 / 2.5 < aspect / aspect_ref < 2.5):
        return None
    iw, ih = image_wh
    if area > 1.5 * iw * ih:
        return None
    # nearly all of the logo must be inside the photo (a placement mostly outside is a fit to noise)
    inside = np.clip(c, [-0.25 * iw, -0.25 * ih], [1.25 * iw, 1.25 * ih])
    if not np.allclose(inside, c):
        return None
    return c


def fit_homography(ref_pts: np.ndarray, img_pts: np.ndarray, ref_wh: tuple[float, float],
                   image_wh: tuple[int, int], threshold: float, min_inliers: int = 5) -> Placement | None:
    """RANSAC (MAGSAC++) homography with the plausibility checks above."""
    n = len(ref_pts)
    if n < 4:
        return None
    H, mask = cv2.findHomography(ref_pts.astype(np.float32), img_pts.astype(np.float32),
                                 cv2.USAC_MAGSAC, threshold, maxIters=500, confidence=0.995)
    if H is None or mask is None:
        return None
    inl = np.flatnonzero(mask.ravel())
    # each photo keypoint counts once: several references matched to one query point are one vote
    n_inl = len(np.unique(np.round(img_pts[inl]).astype(np.int32), axis=0)) if len(inl) else 0
    if n_inl < min_inliers:
        return None
    corners = plausible(H, ref_wh, image_wh)
    if corners is None:
        return None
    return Placement(H, corners, n_inl, n, _coverage(ref_pts[inl], ref_wh), inl)


def fit_similarity(ref_pts: np.ndarray, img_pts: np.ndarray, ref_wh: tuple[float, float],
                   image_wh: tuple[int, int], threshold: float, min_inliers: int = 3) -> Placement | None:
    """Rotation + scale + translation for logos with too few matches for a homography."""
    if len(ref_pts) < 2:
        return None
    A, mask = cv2.estimateAffinePartial2D(ref_pts.astype(np.float32), img_pts.astype(np.float32),
                                          method=cv2.RANSAC, ransacReprojThreshold=threshold,
                                          maxIters=500, confidence=0.995)
    if A is None or mask is None:
        return None
    inl = np.flatnonzero(mask.ravel())
    n_inl = len(np.unique(np.round(img_pts[inl]).astype(np.int32), axis=0)) if len(inl) else 0
    if n_inl < min_inliers:
        return None
    H = np.vstack([A, [0, 0, 1]])
    corners = plausible(H, ref_wh, image_wh)
    if corners is None:
        return None
    return Placement(H, corners, n_inl, len(ref_pts), _coverage(ref_pts[inl], ref_wh), inl)


def similarity_from_keypoint(ref_xy, ref_size, ref_angle, img_xy, img_size, img_angle) -> np.ndarray:
    """The similarity one keypoint match implies (SIFT keypoints carry scale and orientation)."""
    s = img_size / ref_size
    # OpenCV keypoint angles are measured clockwise in image coordinates (y down)
    a = np.deg2rad(ref_angle - img_angle)
    c, d = s * np.cos(a), s * np.sin(a)
    R = np.array([[c, -d], [d, c]])
    t = np.asarray(img_xy, np.float64) - R @ np.asarray(ref_xy, np.float64)
    return np.array([[R[0, 0], R[0, 1], t[0]], [R[1, 0], R[1, 1], t[1]], [0, 0, 1]], np.float64)


def _coverage(pts: np.ndarray, ref_wh: tuple[float, float]) -> float:
    if len(pts) < 3:
        return 0.0
    hull = cv2.convexHull(pts.astype(np.float32))
    return float(min(1.0, cv2.contourArea(hull) / (ref_wh[0] * ref_wh[1])))


def box_iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0
