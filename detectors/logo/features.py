"""Preprocessing and local descriptors shared by the logo index (references) and the query (photos).

Both sides go through the same functions so a reference keypoint and a photo keypoint are
comparable: grayscale, contrast-normalised, SIFT keypoints, RootSIFT descriptors.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

REFERENCE_SIDE = 256      # every reference is rasterised to this longest side: one frame for all views
REFERENCE_MAX_KEYPOINTS = 250


@dataclass(frozen=True)
class Keypoints:
    """Keypoints of one image as plain arrays (cv2.KeyPoint lists are slow to walk in Python)."""

    xy: np.ndarray        # (n, 2) float32, pixels of the image they were found in
    size: np.ndarray      # (n,) float32, diameter in pixels
    angle: np.ndarray     # (n,) float32, degrees
    desc: np.ndarray      # (n, d) float32

    def __len__(self) -> int:
        return len(self.xy)

    @classmethod
    def empty(cls, dim: int = 128) -> "Keypoints":
        z = np.zeros((0,), np.float32)
        return cls(np.zeros((0, 2), np.float32), z, z, np.zeros((0, dim), np.float32))


def to_gray(image: np.ndarray, background: int = 255) -> tuple[np.ndarray, np.ndarray]:
    """Gray uint8 image and its alpha mask (all 255 without an alpha channel).

    A transparent logo is flattened onto `background`, so its outline gives gradients like it
    does on a contrasting product photo.
    """
    if image.dtype != np.uint8:
        raise ValueError(f"expected uint8 image, got {image.dtype}")
    if image.ndim == 2:
        return image, np.full(image.shape, 255, np.uint8)
    if image.shape[2] == 4:
        alpha = image[:, :, 3]
        a = alpha.astype(np.float32)[..., None] / 255.0
        flat = image[:, :, :3].astype(np.float32) * a + background * (1.0 - a)
        gray = cv2.cvtColor(flat.astype(np.uint8), cv2.COLOR_BGR2GRAY)
        return gray, alpha
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), np.full(image.shape[:2], 255, np.uint8)


def crop_to_content(gray: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drops fully transparent margins so the reference frame is the logo's own extent."""
    ys, xs = np.nonzero(alpha > 8)
    if len(xs) == 0:
        return gray, alpha
    return gray[ys.min():ys.max() + 1, xs.min():xs.max() + 1], alpha[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


def normalise_reference(image: np.ndarray, background: int = 255, side: int = REFERENCE_SIDE) -> tuple[np.ndarray, np.ndarray]:
    """Gray logo on `background`, cropped and resized to `side`, and its mask."""
    gray, alpha = to_gray(image, background)
    gray, alpha = crop_to_content(gray, alpha)
    h, w = gray.shape
    s = side / max(h, w)
    size = (max(8, round(w * s)), max(8, round(h * s)))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
    return cv2.resize(gray, size, interpolation=interp), cv2.resize(alpha, size, interpolation=cv2.INTER_LINEAR)


@dataclass(frozen=True)
class View:
    """One appearance of a logo to take keypoints from; `to_ref` maps its pixels to the reference frame."""

    gray: np.ndarray
    pad: int
    to_ref: float


VIEW_SCALES = (1.0, 0.5, 0.3)
VIEW_BACKGROUNDS = (255, 0)


def reference_views(image: np.ndarray, scales=VIEW_SCALES, backgrounds=VIEW_BACKGROUNDS) -> list[View]:
    """The appearances a registered logo is indexed under (view synthesis).

    - inverted views: SIFT descriptors are not invariant to contrast inversion, and logos are
      printed light-on-dark as often as dark-on-light;
    - light and dark backgrounds: a transparent logo's outline descriptors depend on what is
      behind it;
    - smaller views: a logo that is 40 px wide in a photo has lost the fine structure the full
      reference is described by; its coarse keypoints match a small rendering far better.
    A margin keeps keypoints on the logo's outer edge, where plain logos have most of theirs.
    """
    views = []
    for bg in backgrounds:
        for s in scales:
            gray, _ = normalise_reference(image, bg, max(16, round(REFERENCE_SIDE * s)))
            pad = max(4, round(REFERENCE_SIDE * s) // 8)
            padded = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=bg)
            to_ref = REFERENCE_SIDE / max(gray.shape)
            views += [View(padded, pad, to_ref), View(255 - padded, pad, to_ref)]
    return views


class SiftExtractor:
    """SIFT keypoints + RootSIFT descriptors (Arandjelović & Zisserman 2012: Hellinger kernel
    matching is measurably better than L2 on SIFT for retrieval, at no cost)."""

    name = "sift"
    dim = 128

    def __init__(self, contrast_threshold: float = 0.02, max_keypoints: int = 0):
        # A lower contrast threshold than OpenCV's 0.04 keeps keypoints on blurred, washed-out or
        # low-contrast logos; the ratio test and RANSAC remove what that adds in noise.
        self._sift = cv2.SIFT_create(nfeatures=max_keypoints, contrastThreshold=contrast_threshold)

    def extract(self, gray: np.ndarray, mask: np.ndarray | None = None) -> Keypoints:
        kps, desc = self._sift.detectAndCompute(gray, mask)
        if desc is None or not kps:
            return Keypoints.empty(self.dim)
        desc = desc.astype(np.float32)
        desc /= np.maximum(desc.sum(axis=1, keepdims=True), 1e-7)
        desc = np.sqrt(desc)
        return Keypoints(
            xy=np.array([k.pt for k in kps], np.float32),
            size=np.array([k.size for k in kps], np.float32),
            angle=np.array([k.angle for k in kps], np.float32),
            desc=desc,
        )


def strongest(kp: Keypoints, n: int) -> Keypoints:
    """At most n keypoints, preferring larger ones: coarse-scale keypoints survive the downscaling
    a logo undergoes when it is small in a photo, fine ones do not."""
    if len(kp) <= n:
        return kp
    order = np.argsort(-kp.size)[:n]
    return Keypoints(kp.xy[order], kp.size[order], kp.angle[order], kp.desc[order])


def working_image(gray: np.ndarray, max_side: int, min_side: int) -> tuple[np.ndarray, float]:
    """The photo resized for keypoint extraction, and the factor from working to input pixels."""
    h, w = gray.shape
    side = max(h, w)
    if side > max_side:
        s = max_side / side
        return cv2.resize(gray, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA), 1.0 / s
    if side < min_side:
        s = min_side / side
        return cv2.resize(gray, (round(w * s), round(h * s)), interpolation=cv2.INTER_CUBIC), 1.0 / s
    return gray, 1.0


# -- colour-opponent channels ---------------------------------------------------------------------
#
# A flat two-colour logo (green on red, orange on blue) can have almost no luminance contrast, so the
# grayscale image has no keypoints on it. CIELAB's a* (green–red) and b* (blue–yellow) opponent
# channels keep that contrast. They are described at half resolution: chroma is low-frequency in
# photos (JPEG stores it at half resolution anyway) and SIFT on a half-size image costs ~1/4.

COLOUR_NEUTRAL = 128      # a* and b* of any gray, in OpenCV's 8-bit Lab


def colour_planes(image: np.ndarray, background: int = 255) -> tuple[list[np.ndarray], np.ndarray]:
    """The a* and b* planes (uint8, neutral = 128) of a BGR/BGRA image flattened on a gray
    `background`, and its alpha mask. A gray image gives two flat planes (no keypoints)."""
    if image.ndim == 2:
        flat = np.full(image.shape, COLOUR_NEUTRAL, np.uint8)
        return [flat, flat], np.full(image.shape, 255, np.uint8)
    if image.shape[2] == 4:
        alpha = image[:, :, 3]
        a = alpha.astype(np.float32)[..., None] / 255.0
        bgr = (image[:, :, :3].astype(np.float32) * a + background * (1.0 - a)).astype(np.uint8)
    else:
        alpha, bgr = np.full(image.shape[:2], 255, np.uint8), image
    lab = cv2.cvtColor(bgr, cv2.COLOR_BGR2LAB)
    return [lab[:, :, 1], lab[:, :, 2]], alpha


def reference_colour_views(image: np.ndarray, scales=VIEW_SCALES) -> list[View]:
    """Views of a logo's a* and b* planes (normal and inverted) at the given scales of the
    reference side; empty for a logo without colour contrast."""
    planes, alpha = colour_planes(image)
    views = []
    for plane in planes:
        plane, a = crop_to_content(plane, alpha)
        if int(plane.max()) - int(plane.min()) < 12:
            continue                      # a gray logo: nothing to describe
        h, w = plane.shape
        for s in scales:
            side = max(16, round(REFERENCE_SIDE * s))
            f = side / max(h, w)
            size = (max(8, round(w * f)), max(8, round(h * f)))
            small = cv2.resize(plane, size, interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC)
            pad = max(4, side // 8)
            padded = cv2.copyMakeBorder(small, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=COLOUR_NEUTRAL)
            to_ref = REFERENCE_SIDE / max(small.shape)
            views += [View(padded, pad, to_ref), View(255 - padded, pad, to_ref)]
    return views
