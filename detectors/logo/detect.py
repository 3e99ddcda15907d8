"""Registered-logo detection in one photo.

    detector = LogoDetector.build(references)      # once: every logo into one shared index
    matches = detector.detect(image_bgr)           # per photo: list[LogoMatch]

Per photo: SIFT keypoints → one k-NN search in the shared index → ratio test against other logos
(and, in a small registry, a background class of generic structure)
→ votes per logo → for the best-voted logos a placement fitted by RANSAC and by pose voting, with
plausibility checks (verify.py), snapped to the photo's edges; for the logos left without one, the
edge-template method around keypoint-implied poses (template.py) → calibrated score from the fused
evidence (calibrate.py) → non-maximum suppression.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable

import cv2
import numpy as np

from detectors.logo import calibrate, template
from detectors.logo.background import background_keypoints
from detectors.logo.features import (REFERENCE_MAX_KEYPOINTS, VIEW_BACKGROUNDS, VIEW_SCALES, Keypoints, SiftExtractor,
                                     colour_planes, normalise_reference, reference_colour_views,
                                     reference_views, strongest, to_gray, working_image)
from detectors.logo.index import SharedIndex
from detectors.logo.types import LogoMatch, LogoReference
from detectors.logo.verify import (box_iou, fit_by_pose_votes, fit_homography, fit_similarity, plausible,
                                   plausible_similarities, project, similarities_from_keypoints)

METHOD_KEYPOINTS = "keypoints"
METHOD_TEMPLATE = "template"


@dataclass(frozen=True)
class DetectorParams:
    max_side: int = 1024          # photos are downscaled to this before keypoints (cost ∝ pixels)
    min_side: int = 480           # and small ones upscaled, so 5 %-wide logos keep some keypoints
    max_keypoints: int = 2500     # strongest photo keypoints kept: bounds the index search on clutter
    ratio: float = 0.8            # ratio test against the nearest other-logo descriptor
    knn: int = 5
    checks: int = 48              # FLANN leaves visited: accuracy vs speed of the shared index
    max_candidates: int = 12      # best-voted logos given geometric verification
    template_logos: int = 30      # best-voted logos without a verified placement screened by the template method
    template_seeds: int = 8       # keypoint-implied poses screened per such logo (its closest matches)
    template_refine: int = 6      # best-screened poses (over all those logos) refined
    min_score: float = calibrate.MIN_SCORE   # calibrated probability a match must reach to be reported
    nms_iou: float = 0.3
    view_scales: tuple[float, ...] = VIEW_SCALES
    view_backgrounds: tuple[int, ...] = VIEW_BACKGROUNDS
    gray_scale: float = 0.5       # the gray plane is described at this fraction of the working size
                                  # (SIFT doubles its input first: 0.5 = no net upsampling, ~1/4 of the
                                  # cost of 1.0; docs/logo-detector.md, "Speed study")
    gray_min_side: int = 360      # ... raised so its long side keeps at least this many pixels (at most the
                                  # working size): a small photo (a 360 px product shot) keeps its detail
    colour: bool = True           # also match keypoints of the a*/b* colour-opponent planes (features.py)
    colour_scale: float = 0.5     # the colour planes are described at this fraction of the working size
    colour_max_keypoints: int = 800   # per colour plane
    background_scenes: int = 40   # synthetic scenes of generic structure in the index for a one-logo registry
    background_until: int = 80    # ... fewer as the registry grows, none from this many on (background.py)


@dataclass(frozen=True)
class _Logo:
    mark_id: str
    logo_id: str
    wh: tuple[float, float]                 # reference frame size (normalised reference)
    edges: template.EdgeTemplate
    hull: np.ndarray                        # (k, 2) convex outline of the opaque pixels, reference frame


@dataclass(frozen=True)
class _Candidate:
    logo: int
    H: np.ndarray
    corners: np.ndarray                     # working-image pixels
    evidence: calibrate.Evidence
    score: float
    method: str


@dataclass
class LogoDetector:
    logos: list[_Logo]
    index: SharedIndex
    extractor: SiftExtractor
    params: DetectorParams = field(default_factory=DetectorParams)
    colour_extractor: SiftExtractor | None = None

    @classmethod
    def build(cls, references: Iterable[LogoReference], params: DetectorParams | None = None, *,
              seed: int | None = 0) -> "LogoDetector":
        """Preprocess every reference once into one shared descriptor index.

        FLANN's randomized k-d trees draw from OpenCV's process-wide RNG, which is seeded with
        `seed` first, so one registry always gives the same detector and a photo the same score
        (in every run, worker and evaluation); None leaves the RNG as it is."""
        params = params or DetectorParams()
        extractor = SiftExtractor()
        query_extractor = SiftExtractor(max_keypoints=params.max_keypoints)
        logos: list[_Logo] = []
        parts: list[Keypoints] = []
        owner: list[int] = []
        for ref in references:
            gray, alpha = normalise_reference(ref.image)
            n = len(logos)
            logos.append(_Logo(ref.mark_id, ref.logo_id, (float(gray.shape[1]), float(gray.shape[0])),
                               template.build_template(gray, alpha), _outline(alpha)))
            for view in reference_views(ref.image, params.view_scales, params.view_backgrounds):
                kp = strongest(extractor.extract(view.gray), REFERENCE_MAX_KEYPOINTS)
                # into the reference frame shared by all views and the template
                parts.append(Keypoints((kp.xy - view.pad) * view.to_ref, kp.size * view.to_ref, kp.angle, kp.desc))
                owner.append(n)
            if params.colour:
                for view in reference_colour_views(ref.image, params.view_scales):
                    kp = strongest(extractor.extract(view.gray), REFERENCE_MAX_KEYPOINTS)
                    parts.append(Keypoints((kp.xy - view.pad) * view.to_ref, kp.size * view.to_ref, kp.angle, kp.desc))
                    owner.append(n)
        if not logos:
            raise ValueError("no reference logos")
        colour_extractor = SiftExtractor(max_keypoints=params.colour_max_keypoints)
        if seed is not None:
            cv2.setRNGSeed(seed)
        background = background_keypoints(background_scene_count(params, len(logos)))
        return cls(logos, SharedIndex(parts, owner, checks=params.checks, background=background), query_extractor,
                   params, colour_extractor)

    def detect(self, image_bgr: np.ndarray) -> list[LogoMatch]:
        """Registered logos found in a BGR (or BGRA, or gray) uint8 photo, best first."""
        return [m for m, _ in self.explain(image_bgr) if m.score >= self.params.min_score]

    def explain(self, image_bgr: np.ndarray) -> list[tuple[LogoMatch, calibrate.Evidence]]:
        """Every placement that survived verification, whatever its score, with its evidence
        (what the calibration is fitted on)."""
        p = self.params
        gray, _ = to_gray(image_bgr)
        work, factor = working_image(gray, p.max_side, p.min_side)
        kp = _extract_at(self.extractor, work, _gray_scale(p, work.shape))
        if p.colour and self.colour_extractor is not None and image_bgr.ndim == 3:
            kp = _concat([kp] + self._colour_keypoints(image_bgr, work.shape))
        if len(kp) == 0:
            return []
        corr = self.index.match(kp, k=p.knn, ratio=p.ratio)
        if len(corr.logo) == 0:
            return []
        # a photo keypoint votes once per logo however many of that logo's descriptors it matched
        pairs = np.unique(np.stack([corr.logo, corr.query], axis=1), axis=0)
        votes = np.bincount(pairs[:, 0], minlength=len(self.logos))
        order = np.argsort(-votes, kind="stable")
        field_ = template.GradientField.of(work)
        image_wh = (work.shape[1], work.shape[0])
        threshold = max(3.0, 0.006 * max(image_wh))

        found: list[_Candidate] = []
        for logo in order[:p.max_candidates]:
            if votes[logo] < 1:
                break
            sel = np.flatnonzero(corr.logo == logo)
            cand = self._verify_keypoints(logo, kp, corr, sel, int(votes[logo]), field_, image_wh, threshold)
            if cand is not None:
                found.append(cand)
        placed = {c.logo for c in found}
        rest = [int(logo) for logo in order[:p.template_logos] if votes[logo] >= 1 and int(logo) not in placed]
        found += self._verify_template(rest, kp, corr, votes, field_, image_wh)
        return [(self._to_match(c, factor, gray.shape), c.evidence) for c in _suppress(found, p.nms_iou)]

    def _colour_keypoints(self, image_bgr: np.ndarray, work_shape: tuple[int, int]) -> list[Keypoints]:
        """Keypoints of the photo's a*/b* planes, described at `colour_scale` of the working size,
        in working-image pixels."""
        h, w = work_shape
        s = self.params.colour_scale
        size = (max(8, round(w * s)), max(8, round(h * s)))
        small = cv2.resize(image_bgr[:, :, :3], size, interpolation=cv2.INTER_AREA)
        planes, _ = colour_planes(small)
        return [_rescaled(self.colour_extractor.extract(plane), w / size[0], h / size[1]) for plane in planes]

    # -- the two methods -----------------------------------------------------------------------

    def _verify_keypoints(self, logo, kp, corr, sel, votes, field_, image_wh, threshold) -> _Candidate | None:
        """The logo's matches fitted two ways — RANSAC over all of them, and the largest group
        agreeing on one keypoint-implied pose (robust where many matches sit on a few photo points)
        — each snapped to the photo's edges; the placement whose edges agree better is kept."""
        wh = self.logos[logo].wh
        t, q = corr.train[sel], corr.query[sel]
        ref_pts, img_pts = self.index.xy[t], kp.xy[q]
        ransac = fit_homography(ref_pts, img_pts, wh, image_wh, threshold) if len(sel) >= 5 else None
        if ransac is None:
            ransac = fit_similarity(ref_pts, img_pts, wh, image_wh, threshold)
        voted = fit_by_pose_votes(ref_pts, img_pts, self.index.size[t], self.index.angle[t], kp.size[q], kp.angle[q],
                                  wh, image_wh, threshold)
        cands = [self._candidate_from(logo, pl, votes, field_, image_wh) for pl in (ransac, voted) if pl is not None]
        return max(cands, key=lambda c: c.evidence.agreement, default=None)

    def _candidate_from(self, logo, placement, votes, field_, image_wh) -> _Candidate:
        wh = self.logos[logo].wh
        # inliers bunched on one part of the logo extrapolate the rest poorly; the edge template
        # snaps the outline onto the photo's edges (better box, and a fair agreement score)
        H, agree = template.refine(self.logos[logo].edges, field_, placement.H, wh)
        corners = plausible(H, wh, image_wh)
        if corners is None:
            H, corners = placement.H, placement.corners
            agree = float(template.agreement(field_, self.logos[logo].edges, H[None])[0])
        ev = calibrate.Evidence(placement.inliers, votes, placement.coverage, agree, False)
        return _Candidate(logo, H, corners, ev, calibrate.score(ev), METHOD_KEYPOINTS)

    def _verify_template(self, logos, kp, corr, votes, field_, image_wh) -> list[_Candidate]:
        """Placements by the edge template for logos whose matches gave no verified placement.

        Each of a logo's closest matches implies a pose (SIFT scale + orientation); all those
        poses, over all the logos, are screened by their edge agreement as they are (one vectorised
        call per logo), and only the best few are refined by the pose search — so many logos and
        seeds can be looked at for the price of a few refinements."""
        p = self.params
        screened: list[tuple[float, int, np.ndarray]] = []
        for logo in logos:
            info = self.logos[logo]
            sel = np.flatnonzero(corr.logo == logo)
            sel = sel[np.argsort(corr.distance[sel], kind="stable")][: p.template_seeds]
            t, q = corr.train[sel], corr.query[sel]
            Hs = similarities_from_keypoints(self.index.xy[t], self.index.size[t], self.index.angle[t],
                                             kp.xy[q], kp.size[q], kp.angle[q])
            Hs = Hs[plausible_similarities(Hs, info.wh, image_wh)]
            if len(Hs):
                screened += [(float(a), logo, H) for a, H in zip(template.agreement(field_, info.edges, Hs), Hs)]
        screened.sort(key=lambda s: -s[0])
        best: dict[int, tuple[float, np.ndarray, np.ndarray]] = {}
        for _, logo, H0 in screened[: p.template_refine]:
            info = self.logos[logo]
            H, agree = template.refine(info.edges, field_, H0, info.wh)
            corners = plausible(H, info.wh, image_wh)
            if corners is not None and (logo not in best or agree > best[logo][0]):
                best[logo] = (agree, H, corners)
        out = []
        for logo, (agree, H, corners) in best.items():
            ev = calibrate.Evidence(1, int(votes[logo]), 0.0, agree, True)
            out.append(_Candidate(logo, H, corners, ev, calibrate.score(ev), METHOD_TEMPLATE))
        return out

    def _to_match(self, c: _Candidate, factor: float, shape: tuple[int, int]) -> LogoMatch:
        h, w = shape
        info = self.logos[c.logo]
        poly = c.corners * factor
        # the box is that of the logo's visible pixels: a round logo turned 30° does not fill the
        # box of its turned square frame
        outline = project(c.H, info.hull) * factor
        x0, y0 = np.clip(outline.min(axis=0), 0, [w, h])
        x1, y1 = np.clip(outline.max(axis=0), 0, [w, h])
        return LogoMatch(
            mark_id=info.mark_id, logo_id=info.logo_id, score=round(c.score, 4),
            bbox=(int(round(x0)), int(round(y0)), max(1, int(round(x1 - x0))), max(1, int(round(y1 - y0)))),
            polygon=tuple((round(float(x), 1), round(float(y), 1)) for x, y in poly),
            method=c.method,
        )


def background_scene_count(p: DetectorParams, n_logos: int) -> int:
    """How many background scenes a registry of n logos gets: all of them for one logo, none from
    `background_until` logos on, where the other logos are competition enough for the ratio test
    (and a background would cost recall: docs/logo-detector.md, "Small registries")."""
    if n_logos >= p.background_until:
        return 0
    return math.ceil(p.background_scenes * (p.background_until - n_logos) / (p.background_until - 1))


def _rescaled(kp: Keypoints, fx: float, fy: float) -> Keypoints:
    if fx == 1.0 and fy == 1.0:
        return kp
    return Keypoints(kp.xy * np.array([fx, fy], np.float32), kp.size * fx, kp.angle, kp.desc)


def _gray_scale(p: DetectorParams, shape: tuple[int, ...]) -> float:
    """`gray_scale`, raised so the gray plane's long side keeps `gray_min_side` pixels, at most 1."""
    return min(1.0, max(p.gray_scale, p.gray_min_side / max(shape[:2])))


def _extract_at(extractor: SiftExtractor, plane: np.ndarray, scale: float) -> Keypoints:
    """Keypoints of `plane` described at `scale` of its size, in the plane's own pixels."""
    if scale == 1.0:
        return extractor.extract(plane)
    h, w = plane.shape[:2]
    size = (max(8, round(w * scale)), max(8, round(h * scale)))
    small = cv2.resize(plane, size, interpolation=cv2.INTER_AREA)
    return _rescaled(extractor.extract(small), w / size[0], h / size[1])


def _concat(parts: list[Keypoints]) -> Keypoints:
    parts = [k for k in parts if len(k)]
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return Keypoints.empty()
    return Keypoints(np.vstack([k.xy for k in parts]), np.concatenate([k.size for k in parts]),
                     np.concatenate([k.angle for k in parts]), np.vstack([k.desc for k in parts]))


def _suppress(cands: list[_Candidate], iou: float) -> list[_Candidate]:
    """Keeps the best-scored placement where placements of different logos overlap — including a
    small one mostly inside a better one (a part of a logo matched as some other small logo)."""
    kept: list[_Candidate] = []
    for c in sorted(cands, key=lambda c: -c.score):
        box = _box(c.corners)
        if all(box_iou(box, _box(k.corners)) <= iou and _inside(box, _box(k.corners)) <= 0.5 for k in kept):
            kept.append(c)
    return kept


def _inside(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Share of box a's area that lies within box b."""
    iw = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return iw * ih / max(1e-9, a[2] * a[3])


def _box(c: np.ndarray) -> tuple[float, float, float, float]:
    x0, y0 = c.min(axis=0)
    x1, y1 = c.max(axis=0)
    return float(x0), float(y0), float(x1 - x0), float(y1 - y0)


def _outline(alpha: np.ndarray) -> np.ndarray:
    pts = np.argwhere(alpha > 127)[:, ::-1].astype(np.float32)
    if len(pts) < 3:
        h, w = alpha.shape
        return np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64)
    hull = cv2.convexHull(pts)
    hull = cv2.approxPolyDP(hull, 1.0, True).reshape(-1, 2)
    return hull.astype(np.float64) + 0.5

