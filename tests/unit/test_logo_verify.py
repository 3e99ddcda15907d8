"""Geometric verification and calibration pieces of the logo detector, on constructed matches."""
from __future__ import annotations

import numpy as np

from detectors.logo.calibrate import tune_threshold
from detectors.logo.verify import (fit_by_pose_votes, fit_homography, plausible, plausible_similarities, project,
                                   ref_corners, similarities_from_keypoints)

REF_WH = (256.0, 256.0)
IMAGE_WH = (640, 480)


def _similarity(scale: float, degrees: float, tx: float, ty: float) -> np.ndarray:
    a = np.deg2rad(degrees)
    c, s = scale * np.cos(a), scale * np.sin(a)
    return np.array([[c, -s, tx], [s, c, ty], [0, 0, 1]])


def _true_matches(H: np.ndarray, n: int, rng) -> tuple:
    """n keypoint matches consistent with H: positions, sizes and SIFT angles (clockwise, y down)."""
    ref = rng.uniform(20, 236, (n, 2))
    img = project(H, ref) + rng.normal(0, 0.7, (n, 2))
    scale = np.hypot(H[0, 0], H[1, 0])
    rotation = np.rad2deg(np.arctan2(H[1, 0], H[0, 0]))
    ref_size = rng.uniform(6, 30, n)
    ref_angle = rng.uniform(0, 360, n)
    return ref, img, ref_size, ref_angle, ref_size * scale, (ref_angle - rotation) % 360


def test_each_keypoint_match_implies_its_similarity():
    rng = np.random.default_rng(1)
    H = _similarity(0.6, 25, 300, 120)
    ref, img, rs, ra, is_, ia = _true_matches(H, 10, rng)
    Hs = similarities_from_keypoints(ref, rs, ra, img, is_, ia)
    assert Hs.shape == (10, 3, 3)
    for k in range(10):
        assert np.allclose(project(Hs[k], ref[k:k + 1]), img[k:k + 1], atol=1e-6)   # passes through its match
        assert np.allclose(Hs[k][:2, :2], H[:2, :2], atol=1e-9)                      # and has the pose's scale + turn


def test_pose_votes_recover_a_logo_that_ransac_folds_onto_one_point():
    """Many reference points matched to one photo keypoint (one logo point in all its views, on the
    gray and colour planes) outnumber the real matches: a homography that sends the whole logo to
    that point has the most raw inliers. Counting distinct photo positions per pose does not."""
    rng = np.random.default_rng(7)
    H = _similarity(0.55, -18, 260, 150)
    ref, img, rs, ra, is_, ia = _true_matches(H, 14, rng)
    n_pile = 60
    pile_ref = rng.uniform(0, 256, (n_pile, 2))
    pile_img = np.tile([[420.0, 330.0]], (n_pile, 1))
    ref_all = np.vstack([ref, pile_ref])
    img_all = np.vstack([img, pile_img])
    ref_size = np.concatenate([rs, rng.uniform(6, 30, n_pile)])
    ref_angle = np.concatenate([ra, rng.uniform(0, 360, n_pile)])
    img_size = np.concatenate([is_, np.full(n_pile, 9.0)])
    img_angle = np.concatenate([ia, np.full(n_pile, 40.0)])

    placement = fit_by_pose_votes(ref_all, img_all, ref_size, ref_angle, img_size, img_angle, REF_WH, IMAGE_WH, 3.0)
    assert placement is not None
    truth = project(H, ref_corners(*REF_WH))
    assert np.abs(placement.corners - truth).max() < 6.0, (placement.corners, truth)
    assert 12 <= placement.inliers <= 15            # the true matches; the pile is one position at most
    assert len(set(placement.inlier_idx.tolist()) & set(range(14))) >= 12

    ransac = fit_homography(ref_all, img_all, REF_WH, IMAGE_WH, 3.0)
    assert ransac is None or np.abs(ransac.corners - truth).max() > 6.0   # why the second fit exists


def test_pose_votes_refuse_matches_that_agree_on_nothing():
    rng = np.random.default_rng(3)
    n = 40
    placement = fit_by_pose_votes(rng.uniform(0, 256, (n, 2)), rng.uniform(0, 480, (n, 2)), rng.uniform(6, 30, n),
                                  rng.uniform(0, 360, n), rng.uniform(6, 30, n), rng.uniform(0, 360, n),
                                  REF_WH, IMAGE_WH, 3.0)
    assert placement is None or placement.inliers <= 3


def test_threshold_reaches_the_precision_and_rounds_without_admitting_more():
    p = np.array([0.99, 0.95, 0.9, 0.871, 0.8705, 0.6, 0.5])
    y = np.array([1, 1, 1, 1, 0, 1, 0], bool)
    # precision ≥ 0.98 holds down to 0.871; 0.87 would admit the false 0.8705
    assert tune_threshold(p, y) == 0.871
    p2 = np.array([0.99, 0.95, 0.9, 0.877, 0.6])
    y2 = np.array([1, 1, 1, 1, 0], bool)
    assert tune_threshold(p2, y2) == 0.87                      # nothing between 0.87 and 0.877
    assert tune_threshold(np.array([0.9, 0.8]), np.array([0, 0], bool)) == 0.5   # never reached: the floor


def test_vectorised_plausibility_agrees_with_the_general_check_on_similarities():
    rng = np.random.default_rng(11)
    n = 400
    Hs = similarities_from_keypoints(rng.uniform(0, 256, (n, 2)), rng.uniform(4, 40, n), rng.uniform(0, 360, n),
                                     rng.uniform(-200, 800, (n, 2)), rng.uniform(1, 40, n), rng.uniform(0, 360, n))
    fast = plausible_similarities(Hs, (256.0, 180.0), IMAGE_WH)
    slow = np.array([plausible(H, (256.0, 180.0), IMAGE_WH) is not None for H in Hs])
    assert 50 < slow.sum() < n - 50            # both outcomes are well represented
    assert (fast == slow).all()
