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
    if area > 1.5 * iw * ih or not _near_photo(c, image_wh):
        return None
    return c


def _near_photo(corners: np.ndarray, image_wh: tuple[int, int]) -> np.ndarray:
    """Whether all corners (…, 4, 2) lie within a quarter of the photo's size around it: a placement
    mostly outside the photo is a fit to noise."""
    iw, ih = image_wh
    x, y = corners[..., 0], corners[..., 1]
    return np.all((x >= -0.25 * iw) & (x <= 1.25 * iw) & (y >= -0.25 * ih) & (y <= 1.25 * ih), axis=-1)


def plausible_similarities(Hs: np.ndarray, ref_wh: tuple[float, float], image_wh: tuple[int, int],
                           min_side: float = 10.0) -> np.ndarray:
    """`plausible` for n similarity transforms at once → (n,) bool.

    A similarity with positive scale keeps the frame convex, unmirrored and of the same aspect,
    so only size and position are left to check — vectorised, since the template stage screens
    hundreds of keypoint-implied poses per photo."""
    w, h = ref_wh
    c = np.einsum("nij,kj->nki", Hs[:, :2, :2], ref_corners(w, h)) + Hs[:, None, :2, 2]     # (n, 4, 2)
    scale = np.sqrt(np.abs(Hs[:, 0, 0] * Hs[:, 1, 1] - Hs[:, 0, 1] * Hs[:, 1, 0]))
    iw, ih = image_wh
    ok = (scale * min(w, h) >= min_side) & (scale * scale * w * h <= 1.5 * iw * ih) & _near_photo(c, image_wh)
    return ok & np.isfinite(c).all(axis=(1, 2))


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


def similarities_from_keypoints(ref_xy, ref_size, ref_angle, img_xy, img_size, img_angle) -> np.ndarray:
    """The similarity each of n keypoint matches implies → (n, 3, 3) (SIFT keypoints carry scale and
    orientation, so one match fixes rotation, scale and translation)."""
    s = np.asarray(img_size, np.float64) / np.asarray(ref_size, np.float64)
    # OpenCV keypoint angles are measured clockwise in image coordinates (y down)
    a = np.deg2rad(np.asarray(ref_angle, np.float64) - np.asarray(img_angle, np.float64))
    c, d = s * np.cos(a), s * np.sin(a)
    rx, ry = np.asarray(ref_xy, np.float64).T
    ix, iy = np.asarray(img_xy, np.float64).T
    H = np.zeros((len(s), 3, 3))
    H[:, 0, 0], H[:, 0, 1], H[:, 0, 2] = c, -d, ix - (c * rx - d * ry)
    H[:, 1, 0], H[:, 1, 1], H[:, 1, 2] = d, c, iy - (d * rx + c * ry)
    H[:, 2, 2] = 1.0
    return H


def fit_by_pose_votes(ref_pts: np.ndarray, img_pts: np.ndarray, ref_size: np.ndarray, ref_angle: np.ndarray,
                      img_size: np.ndarray, img_angle: np.ndarray, ref_wh: tuple[float, float],
                      image_wh: tuple[int, int], threshold: float, min_inliers: int = 3,
                      tolerance: float = 0.05, max_hypotheses: int = 400) -> Placement | None:
    """Placement from the largest group of matches that agree on one pose (Lowe's Hough step).

    Every SIFT match implies a whole similarity (its keypoints carry scale and orientation). Each
    is a hypothesis; a match supports it when it lands within `tolerance` of the logo's size in the
    photo and agrees on scale (×1.5) and orientation (30°). Support is counted in distinct photo
    positions, so one photo keypoint matched to the same logo point in many views (or described on
    the gray and the colour planes) is one vote — the case where RANSAC over raw matches happily
    returns a homography that folds the logo onto that one point. The winning group is then fitted
    with a homography (a similarity when it is small or the homography is implausible).
    """
    n = len(ref_pts)
    if n < min_inliers:
        return None
    poses = similarities_from_keypoints(ref_pts, ref_size, ref_angle, img_pts, img_size, img_angle)
    pose_scale = np.sqrt(np.abs(poses[:, 0, 0] * poses[:, 1, 1] - poses[:, 0, 1] * poses[:, 1, 0]))
    pose_angle = np.rad2deg(np.arctan2(poses[:, 1, 0], poses[:, 0, 0]))
    hyp = np.linspace(0, n - 1, max_hypotheses).astype(int) if n > max_hypotheses else np.arange(n)
    # distinct photo positions: keypoints at one place on several planes/orientations vote once
    _, position = np.unique(np.round(img_pts).astype(np.int32), axis=0, return_inverse=True)
    position = position.ravel()
    Hs = poses[hyp]
    proj = np.einsum("hij,nj->hni", Hs[:, :2, :2], ref_pts.astype(np.float64)) + Hs[:, None, :2, 2]
    err = np.linalg.norm(proj - img_pts[None].astype(np.float64), axis=2)                 # (h, n)
    tol = np.maximum(threshold, tolerance * pose_scale[hyp] * max(ref_wh))[:, None]
    d_angle = np.abs((pose_angle[None] - pose_angle[hyp][:, None] + 180.0) % 360.0 - 180.0)
    same_scale = np.abs(np.log(pose_scale[None] / pose_scale[hyp][:, None])) < np.log(1.5)
    support = (err < tol) & same_scale & (d_angle < 30.0)
    votes = np.zeros((len(Hs), int(position.max()) + 1), bool)
    rows, cols = np.nonzero(support)
    votes[rows, position[cols]] = True
    count = votes.sum(axis=1)
    for h in np.argsort(-count, kind="stable")[:5]:
        if count[h] < min_inliers:
            return None
        inl = np.flatnonzero(support[h])
        fitted = _fit_group(ref_pts[inl], img_pts[inl], Hs[h], int(count[h]), ref_wh, image_wh, threshold)
        if fitted is None:
            continue
        H, corners = fitted
        err_h = np.linalg.norm(project(H, ref_pts) - img_pts, axis=1)
        final = np.flatnonzero(err_h < np.maximum(threshold, 0.5 * tol[h, 0]))
        n_inl = len(np.unique(position[final]))
        if n_inl < min_inliers:
            continue
        return Placement(H, corners, n_inl, n, _coverage(ref_pts[final], ref_wh), final)
    return None


def _fit_group(ref_pts: np.ndarray, img_pts: np.ndarray, pose: np.ndarray, distinct: int,
               ref_wh: tuple[float, float], image_wh: tuple[int, int], threshold: float):
    """(H, corners) of the first plausible of: the group's homography (from 6 distinct points on),
    its similarity, the pose that seeded it; None if none is."""
    def fits():
        if distinct >= 6:
            yield cv2.findHomography(ref_pts.astype(np.float32), img_pts.astype(np.float32), cv2.USAC_MAGSAC,
                                     max(threshold, 3.0), maxIters=200, confidence=0.99)[0]
        A, _ = cv2.estimateAffinePartial2D(ref_pts.astype(np.float32), img_pts.astype(np.float32), method=cv2.LMEDS)
        yield None if A is None else np.vstack([A, [0, 0, 1]])
        yield pose

    for H in fits():
        corners = plausible(H, ref_wh, image_wh)
        if corners is not None:
            return H, corners
    return None
