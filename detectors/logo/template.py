"""Second method: an edge-orientation template of each logo, scored under a placement hypothesis.

Plain logos (a swoosh, a wordmark) give few keypoints, often too few for a homography, but
their outline is distinctive. Each logo keeps a sparse template: points on its strong edges with
the edge normal. A placement is scored by how well the photo's gradient orientations agree at
the projected points — |cos| of the angle, so it holds on inverted and recoloured logos, and it
ignores the colour of whatever is behind a transparent logo (only the shape counts).

It never scans the photo: hypotheses come from the few keypoint matches a logo did get, and only
a small pose neighbourhood around each is searched, so its cost does not depend on the number of
registered logos.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

TEMPLATE_POINTS = 240
RANDOM_AGREEMENT = 2.0 / np.pi     # E|cos| for unrelated orientations


@dataclass(frozen=True)
class EdgeTemplate:
    xy: np.ndarray       # (n, 2) points on the logo's edges, reference frame
    normal: np.ndarray   # (n, 2) unit edge normals there


@dataclass(frozen=True)
class GradientField:
    """The photo's gradients, computed once per photo and sampled by every hypothesis."""

    gx: np.ndarray
    gy: np.ndarray
    mag: np.ndarray
    strong: float        # magnitude counted as a real edge in this photo

    @classmethod
    def of(cls, gray: np.ndarray) -> "GradientField":
        g = cv2.GaussianBlur(gray, (0, 0), 1.0).astype(np.float32)
        gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
        mag = cv2.magnitude(gx, gy)
        # relative to the photo's own contrast, so a washed-out or dark photo is judged fairly
        strong = max(20.0, float(np.percentile(mag, 90)) * 0.5)
        return cls(gx, gy, mag, strong)


def build_template(gray: np.ndarray, alpha: np.ndarray, n_points: int = TEMPLATE_POINTS, seed: int = 0) -> EdgeTemplate:
    """Edge points of a normalised reference (gray on white, with its mask).

    The mask's own outline is added: a logo composited on a photo always has an edge there.
    """
    g = cv2.GaussianBlur(gray, (0, 0), 1.0).astype(np.float32)
    a = cv2.GaussianBlur(alpha, (0, 0), 1.0).astype(np.float32)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3) + cv2.Sobel(a, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3) + cv2.Sobel(a, cv2.CV_32F, 0, 1, ksize=3)
    mag = cv2.magnitude(gx, gy)
    if mag.max() <= 0:
        return EdgeTemplate(np.zeros((0, 2), np.float32), np.zeros((0, 2), np.float32))
    # thin edges: keep local maxima of the magnitude so points spread along the outline
    dil = cv2.dilate(mag, np.ones((3, 3), np.uint8))
    ys, xs = np.nonzero((mag >= dil) & (mag > 0.25 * mag.max()))
    rng = np.random.default_rng(seed)
    if len(xs) > n_points:
        pick = rng.choice(len(xs), n_points, replace=False)
        ys, xs = ys[pick], xs[pick]
    n = np.stack([gx[ys, xs], gy[ys, xs]], axis=1)
    n /= np.linalg.norm(n, axis=1, keepdims=True) + 1e-6
    return EdgeTemplate(np.stack([xs, ys], axis=1).astype(np.float32), n.astype(np.float32))


def _warp_points(Hs: np.ndarray, xy: np.ndarray, normal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points and normals under each homography in Hs (k, 3, 3) → (k, n, 2) each.

    Normals go through the inverse transpose of the local linear part; for the near-similarity
    placements searched here the affine part of H is close enough to the local Jacobian.
    """
    p = np.concatenate([xy, np.ones((len(xy), 1), np.float32)], axis=1).astype(np.float64)  # (n, 3)
    q = np.matmul(Hs, p.T).transpose(0, 2, 1)                                 # (k, n, 3)
    w = q[:, :, 2:3]
    w = np.where(np.abs(w) < 1e-9, 1e-9, w)
    pts = q[:, :, :2] / w
    A = Hs[:, :2, :2]
    Ait = np.linalg.inv(A).transpose(0, 2, 1)
    nrm = np.matmul(Ait, normal.T.astype(np.float64)).transpose(0, 2, 1)
    nrm /= np.linalg.norm(nrm, axis=2, keepdims=True) + 1e-9
    return pts, nrm


def agreement(field: GradientField, template: EdgeTemplate, Hs: np.ndarray) -> np.ndarray:
    """Edge-orientation agreement in [-1.75, 1] for each homography; 0 is chance, 1 is perfect.

    Points that fall outside the photo count as disagreement, so a placement cannot win by
    hiding the logo off-image.
    """
    if len(template.xy) == 0:
        return np.zeros(len(Hs))
    pts, nrm = _warp_points(Hs.astype(np.float64), template.xy, template.normal)
    k, n, _ = pts.shape
    h, w = field.mag.shape
    mx = pts[:, :, 0].astype(np.float32).reshape(1, -1)
    my = pts[:, :, 1].astype(np.float32).reshape(1, -1)
    gx = cv2.remap(field.gx, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0).reshape(k, n)
    gy = cv2.remap(field.gy, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0).reshape(k, n)
    mag = np.sqrt(gx * gx + gy * gy)
    cos = np.abs(gx * nrm[:, :, 0] + gy * nrm[:, :, 1]) / (mag + 1e-6)
    weight = np.minimum(1.0, mag / field.strong)
    raw = (cos * weight).mean(axis=1)
    return (raw - RANDOM_AGREEMENT * weight.mean(axis=1)) / (1 - RANDOM_AGREEMENT)


def _pose_grid(H0: np.ndarray, center: np.ndarray, scales, angles, shifts) -> np.ndarray:
    """Homographies H0 perturbed by scale/rotation about `center` (photo px) and by shifts."""
    out = []
    cx, cy = center
    for s in scales:
        for a in angles:
            c, d = s * np.cos(np.deg2rad(a)), s * np.sin(np.deg2rad(a))
            R = np.array([[c, -d, cx - c * cx + d * cy], [d, c, cy - d * cx - c * cy], [0, 0, 1]])
            for dx in shifts:
                for dy in shifts:
                    T = np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1]], np.float64)
                    out.append(T @ R @ H0)
    return np.array(out)


def refine(template: EdgeTemplate, field: GradientField, H0: np.ndarray, ref_wh: tuple[float, float],
           rounds: int = 2) -> tuple[np.ndarray, float]:
    """Coarse-to-fine search of the pose around H0; returns the best homography and its agreement."""
    w, h = ref_wh
    center = cv2.perspectiveTransform(np.array([[[w / 2, h / 2]]], np.float64), H0).reshape(2)
    size = np.sqrt(abs(np.linalg.det(H0[:2, :2]))) * max(w, h)
    best_H, best = H0, float(agreement(field, template, H0[None])[0])
    step_s, step_a, step_t = 0.12, 8.0, max(1.5, 0.06 * size)
    for _ in range(rounds):
        Hs = _pose_grid(best_H, center, [1 - step_s, 1.0, 1 + step_s], [-step_a, 0.0, step_a],
                        [-step_t, 0.0, step_t])
        scores = agreement(field, template, Hs)
        i = int(np.argmax(scores))
        if scores[i] > best:
            best_H, best = Hs[i], float(scores[i])
            center = cv2.perspectiveTransform(np.array([[[w / 2, h / 2]]], np.float64), best_H).reshape(2)
        step_s, step_a, step_t = step_s / 2, step_a / 2, max(0.75, step_t / 2)
    return best_H, best
