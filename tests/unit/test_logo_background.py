"""The background class of the shared index: generic structure that competes in the ratio test."""
from __future__ import annotations

import numpy as np

from detectors.logo.background import background_keypoints, scene
from detectors.logo.detect import DetectorParams, background_scene_count
from detectors.logo.features import Keypoints
from detectors.logo.index import SharedIndex


def _kp(desc: np.ndarray) -> Keypoints:
    n = len(desc)
    return Keypoints(np.zeros((n, 2), np.float32), np.full(n, 8, np.float32), np.zeros(n, np.float32),
                     desc.astype(np.float32))


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    d = rng.random((n, 128)).astype(np.float32)
    return d / np.linalg.norm(d, axis=1, keepdims=True)


def test_a_keypoint_more_like_the_background_than_the_logo_is_no_vote():
    rng = np.random.default_rng(3)
    logo, generic = _unit(rng, 40), _unit(rng, 40)
    with_bg = SharedIndex([_kp(logo)], [0], background=[_kp(generic)])
    without = SharedIndex([_kp(logo)], [0])
    # a photo keypoint lying between a logo descriptor and a generic one, a little nearer the logo:
    # alone, the logo keeps it (nothing to compare with); beside the background, the ratio test drops it
    between = 0.55 * logo[:5] + 0.45 * generic[:5]
    assert sorted(set(without.match(_kp(between)).query.tolist())) == [0, 1, 2, 3, 4]
    assert len(with_bg.match(_kp(between)).query) == 0
    # a keypoint that is the logo's own descriptor stays a vote, and a generic one never votes
    exact = with_bg.match(_kp(logo[:5]))
    assert sorted(set(exact.query.tolist())) == [0, 1, 2, 3, 4] and set(exact.logo.tolist()) == {0}
    assert len(with_bg.match(_kp(generic[:5])).query) == 0


def test_background_scenes_are_reproducible_and_full_of_keypoints():
    a = scene(np.random.default_rng(5))
    b = scene(np.random.default_rng(5))
    assert a.dtype == np.uint8 and np.array_equal(a, b)
    kps = background_keypoints(12)
    assert len(kps) == 12 and all(len(k) > 20 for k in kps) and sum(len(k) for k in kps) > 5000
    assert background_keypoints(12) is kps                       # built once per process


def test_background_shrinks_as_the_registry_grows():
    p = DetectorParams(background_scenes=12, background_until=40)
    counts = [background_scene_count(p, n) for n in (1, 8, 20, 39, 40, 80)]
    assert counts[0] == 12 and counts[-2:] == [0, 0]
    assert counts == sorted(counts, reverse=True) and counts[3] >= 1
