"""Stolen official photos as a pipeline signal: a listing photo that is a near-copy of one of a
mark owner's reference product photos (registry `reference_photos`), on a seller the owner did not
authorize.

Same shape as the other detectors (DETECTOR, VERSION, NEEDS_IMAGES, detect(listing, marks)). The
distance is detectors.photohash's max(pHash, dHash) Hamming distance; the score falls from 0.95 at
distance 0 to 0.6 at photohash.MAX_DISTANCE — a copied photo alone is a strong clue (resellers of
genuine goods also reuse official photos, which is why authorized sellers are exempt and an officer
still decides).
"""
from __future__ import annotations

import logging
import os

from cluewatch.model import Finding
from detectors.imageio import BadImage, load_image
from detectors.photohash import CROP_FRACTIONS, MAX_DISTANCE, PhotoIndex, content_box, crop_box

log = logging.getLogger(__name__)

DETECTOR = "image.official_photo"
VERSION = "1.1.0"   # 1.1: reference crops and trimmed listing borders (photohash.REFERENCE_CROPS)
NEEDS_IMAGES = True
MAX_IMAGES = 8
TOP_SCORE, FLOOR_SCORE = 0.95, 0.6
COMPARISON_HEIGHT = 360   # px of each photo in the side-by-side evidence picture

_CACHE: dict = {}


class BadReferencePhoto(ValueError):
    """A registry reference photo that cannot be read; names the mark and the file."""


def index_for(marks) -> tuple[PhotoIndex, dict[str, tuple[str, str, str]]]:
    """The hash index over every reference photo of `marks` and ref_id -> (mark id, file name, path)."""
    cached = _CACHE.get(id(marks))
    if cached is not None and cached[0] is marks:
        return cached[1], cached[2]
    index, owners = PhotoIndex(), {}
    for mark in marks:
        for path in getattr(mark, "reference_photos", ()):
            try:
                pixels = load_image(path).pixels
            except BadImage as e:
                raise BadReferencePhoto(f"mark {mark.id}: reference photo {path}: {e}") from None
            ref_id = f"{mark.id}/{len(owners)}"
            index.add(ref_id, pixels)
            owners[ref_id] = (mark.id, os.path.basename(str(path)), str(path))
    _CACHE.clear()
    _CACHE[id(marks)] = (marks, index, owners)
    return index, owners


def score_for(distance: int) -> float:
    """0.95 for an exact copy, falling linearly to 0.6 at the near-duplicate limit."""
    return round(TOP_SCORE - (TOP_SCORE - FLOOR_SCORE) * distance / MAX_DISTANCE, 4)


def detect(listing: dict, marks) -> list[Finding]:
    images = (listing.get("image_blobs") or [])[:MAX_IMAGES]
    if not images:
        return []
    index, owners = index_for(marks)
    if not len(index):
        return []
    by_id = {m.id: m for m in marks}
    seller = (listing.get("seller_name") or "").strip().casefold()
    best: dict[str, tuple] = {}
    for position, image in enumerate(images):
        try:
            pixels = load_image(image["data"]).pixels
        except BadImage as e:
            log.info("listing %s photo %s not hashed: %s", listing.get("version_id"), image.get("url"), e)
            continue
        for hit in index.query(pixels):
            mark_id, ref_name, _ = owners[hit.ref_id]
            mark = by_id[mark_id]
            if seller and seller in {s.strip().casefold() for s in mark.authorized_sellers}:
                continue
            if mark_id not in best or hit.distance < best[mark_id][0].distance:
                best[mark_id] = (hit, position, image, pixels)
    findings = []
    for mark_id, (hit, position, image, pixels) in best.items():
        _, ref_name, ref_path = owners[hit.ref_id]
        name = (by_id[mark_id].names or (mark_id,))[0]
        findings.append(Finding(
            detector=DETECTOR, detector_version=VERSION, mark_id=mark_id, score=score_for(hit.distance),
            reason=(f"Product photo {position + 1} is a copy of {name}'s official photo {ref_name} ("
                    + "; ".join(_how(hit) + [f"perceptual-hash distance {hit.distance} of 64 bits; copies are "
                                             f"≤ {MAX_DISTANCE}"])
                    + f") on a seller {name} has not authorized."),
            evidence={"image_url": image.get("url"), "image_sha256": image.get("sha256"),
                      "image_position": position, "reference_photo": ref_name, "distance": hit.distance,
                      "phash_distance": hit.phash, "dhash_distance": hit.dhash,
                      "reference_crop": hit.crop, "listing_borders_trimmed": hit.trimmed},
            attachments=_comparison(pixels, ref_path, hit, position, ref_name),
        ))
    return findings


def _how(hit) -> list[str]:
    """What it took to match, in words: the reference crop, the listing photo's trimmed borders."""
    return ([f"official photo cropped {hit.crop}"] if hit.crop != "none" else []) + \
        (["listing photo's plain borders trimmed"] if hit.trimmed else [])


def _comparison(listing_bgr, ref_path: str, hit, position: int, ref_name: str) -> dict:
    """The comparison picture as an attachment; none (the finding stands) if the reference photo
    has become unreadable since the registry was loaded."""
    try:
        reference = load_image(ref_path).pixels
    except BadImage as e:
        log.warning("reference photo %s unreadable for the comparison picture: %s", ref_path, e)
        return {}
    return {"comparison_image": (comparison_png(listing_bgr, reference, hit, position, ref_name), ".png")}


def comparison_png(listing_bgr, reference_bgr, hit, position: int, ref_name: str) -> bytes:
    """The listing photo beside the official one, each COMPARISON_HEIGHT px high and labelled; the
    part of each that matched (trimmed borders, reference crop) is outlined — what an officer checks."""
    import cv2  # noqa: PLC0415
    import numpy as np  # noqa: PLC0415

    from detectors.logo.draw import draw_label, encode_png, to_bgr  # noqa: PLC0415

    panels = []
    for pixels, box, text in (
            (listing_bgr, content_box(listing_bgr) if hit.trimmed else None, f"listing photo {position + 1}"),
            (reference_bgr, crop_box(reference_bgr.shape, CROP_FRACTIONS[hit.crop]) if hit.crop != "none" else None,
             f"official: {ref_name}"[:60])):
        h, w = pixels.shape[:2]
        f = min(COMPARISON_HEIGHT / h, 2 * COMPARISON_HEIGHT / w)   # a banner-shaped photo stays bounded
        size = (max(1, round(w * f)), max(1, round(h * f)))
        panel = np.full((COMPARISON_HEIGHT, size[0], 3), 255, np.uint8)
        panel[:size[1]] = cv2.resize(to_bgr(pixels), size, interpolation=cv2.INTER_AREA)
        if box is not None:
            x0, y0, x1, y1 = (round(v * f) for v in box)
            cv2.rectangle(panel, (x0, y0), (max(x0, x1 - 1), max(y0, y1 - 1)), (0, 200, 255), 3)
        draw_label(panel, text, (0, 0), (40, 40, 40), 0.55, 1)
        panels.append(panel)
    gap = np.full((COMPARISON_HEIGHT, 12, 3), 255, np.uint8)
    picture = np.hstack([panels[0], gap, panels[1]])
    footer = np.full((28, picture.shape[1], 3), 255, np.uint8)
    caption = ", ".join([f"hash distance {hit.distance}/64"] + _how(hit))
    cv2.putText(footer, caption, (6, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return encode_png(np.vstack([picture, footer]))

