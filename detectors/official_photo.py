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
from detectors.photohash import MAX_DISTANCE, PhotoIndex

log = logging.getLogger(__name__)

DETECTOR = "image.official_photo"
VERSION = "1.1.0"   # 1.1: reference crops and trimmed listing borders (photohash.REFERENCE_CROPS)
NEEDS_IMAGES = True
MAX_IMAGES = 8
TOP_SCORE, FLOOR_SCORE = 0.95, 0.6

_CACHE: dict = {}


class BadReferencePhoto(ValueError):
    """A registry reference photo that cannot be read; names the mark and the file."""


def index_for(marks) -> tuple[PhotoIndex, dict[str, tuple[str, str]]]:
    """The hash index over every reference photo of `marks` and ref_id -> (mark id, file name)."""
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
            owners[ref_id] = (mark.id, os.path.basename(str(path)))
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
            mark_id, ref_name = owners[hit.ref_id]
            mark = by_id[mark_id]
            if seller and seller in {s.strip().casefold() for s in mark.authorized_sellers}:
                continue
            if mark_id not in best or hit.distance < best[mark_id][0].distance:
                best[mark_id] = (hit, position, image, ref_name)
    findings = []
    for mark_id, (hit, position, image, ref_name) in best.items():
        name = (by_id[mark_id].names or (mark_id,))[0]
        how = "".join((f", cropped {hit.crop}" if hit.crop != "none" else "",
                       ", once the listing photo's plain borders are trimmed" if hit.trimmed else ""))
        findings.append(Finding(
            detector=DETECTOR, detector_version=VERSION, mark_id=mark_id, score=score_for(hit.distance),
            reason=(f"Product photo {position + 1} is a copy of {name}'s official photo {ref_name}{how} "
                    f"(perceptual-hash distance {hit.distance} of 64 bits; copies are ≤ {MAX_DISTANCE}) "
                    f"on a seller {name} has not authorized."),
            evidence={"image_url": image.get("url"), "image_sha256": image.get("sha256"),
                      "image_position": position, "reference_photo": ref_name, "distance": hit.distance,
                      "phash_distance": hit.phash, "dhash_distance": hit.dhash,
                      "reference_crop": hit.crop, "listing_borders_trimmed": hit.trimmed},
        ))
    return findings
