"""One nearest-neighbour index over the descriptors of every registered logo.

Built once; a photo's descriptors are searched in it once, whatever the number of logos — so the
cost per photo grows with log(descriptors), not with the number of logos as in a per-logo loop.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from detectors.logo.features import Keypoints

FLANN_INDEX_KDTREE = 1
BACKGROUND = -1           # label of the background class (background.py): never a vote


@dataclass(frozen=True)
class Correspondences:
    """Putative matches photo keypoint → reference keypoint that passed the ratio test."""

    query: np.ndarray     # (m,) index into the photo's keypoints
    train: np.ndarray     # (m,) index into the shared index
    distance: np.ndarray  # (m,) squared L2 distance
    logo: np.ndarray      # (m,) logo number of the train descriptor


class SharedIndex:
    """Descriptors of all logos in one randomized kd-tree forest (FLANN), with per-row labels."""

    def __init__(self, parts: list[Keypoints], logo_of_part: list[int], trees: int = 4, checks: int = 48,
                 background: Sequence[Keypoints] = ()):
        if not any(len(p) for p in parts):
            raise ValueError("no keypoints in any reference logo")
        nonempty = [(p, l) for p, l in zip(parts, logo_of_part) if len(p)]
        nonempty += [(p, BACKGROUND) for p in background if len(p)]
        self.desc = np.ascontiguousarray(np.vstack([p.desc for p, _ in nonempty]), np.float32)
        self.xy = np.vstack([p.xy for p, _ in nonempty]).astype(np.float32)
        self.size = np.concatenate([p.size for p, _ in nonempty]).astype(np.float32)
        self.angle = np.concatenate([p.angle for p, _ in nonempty]).astype(np.float32)
        self.logo = np.concatenate([np.full(len(p), l, np.int32) for p, l in nonempty])
        self.checks = checks
        self._flann = cv2.flann_Index(self.desc, dict(algorithm=FLANN_INDEX_KDTREE, trees=trees))

    def __len__(self) -> int:
        return len(self.desc)

    def match(self, query: Keypoints, k: int = 5, ratio: float = 0.8) -> Correspondences:
        """k-NN search, then a ratio test against the nearest neighbour of *another* logo.

        Lowe's test compares with the 2nd neighbour; in a shared index that neighbour is often the
        same logo (its inverted view, a repeated letter), which would reject good matches. What
        must be distinctive is the logo, so the reference distance is the first other-logo one.
        Every same-logo neighbour within the ratio is kept: RANSAC picks among them. The background
        class (background.py) counts as another logo, and a keypoint nearest to it is no vote.
        """
        n = len(query)
        if n == 0:
            return Correspondences(*(np.zeros(0, t) for t in (np.int64, np.int64, np.float32, np.int32)))
        k = min(k, len(self))
        idx, dist = self._flann.knnSearch(query.desc, k, params=dict(checks=self.checks))
        idx = idx.astype(np.int64)
        logos = self.logo[idx]                                  # (n, k)
        first = logos[:, :1]
        other = logos != first
        has_other = other.any(axis=1)
        j_other = np.argmax(other, axis=1)
        d_other = np.where(has_other, dist[np.arange(n), j_other], np.inf)
        # distances are squared L2, so the ratio is squared as well
        keep = (logos == first) & (first != BACKGROUND) & (dist < (ratio * ratio) * d_other[:, None])
        # beyond the first other-logo neighbour nothing is kept even if it is the first logo again
        keep &= np.arange(k)[None, :] < np.where(has_other, j_other, k)[:, None]
        q, j = np.nonzero(keep)
        return Correspondences(q, idx[q, j], dist[q, j], logos[q, j])
