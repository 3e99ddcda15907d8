"""The logo detector as a pipeline signal: a listing's product photos → findings per registered mark.

Same shape as the word-mark detector (DETECTOR, VERSION, detect(listing, marks) -> [Finding]); the
listing dict carries its photos' bytes as ``image_blobs`` = [{"url", "sha256", "data"}] (the detect
job reads them from the blob store; this module does no I/O beyond the registry's logo files).

Evidence per finding: which photo, the box and outline in that photo's own pixels, the logo file that
matched, the method and its score — and, as an attachment, the photo with the box drawn and labelled
(PNG) for the review UI.
"""
from __future__ import annotations

import logging
from cluewatch.model import Finding
from detectors.imageio import BadImage, load_image
from detectors.logo.types import LogoMatch

log = logging.getLogger(__name__)

DETECTOR = "image.logo"
VERSION = "1.0.0"
NEEDS_IMAGES = True
# A logo match must reach this calibrated score to become a finding. Above the detector's own
# reporting floor: on the demo catalogue's photos, printed text ("REPLICA", "MILK") drew matches on
# unrelated logos at 0.50-0.86, and the logo-only counterfeits score ≥ 0.99.
MIN_SCORE = 0.9
MAX_IMAGES = 8          # photos looked at per listing (galleries repeat; the first ones show the product)
ANNOTATED_MAX_SIDE = 1024

_CACHE: dict = {}       # id(marks) -> (marks, detector): built once per registry, kept while it is in use


def detector_for(marks):
    """The LogoDetector over every logo of `marks`, or None when no mark has a logo."""
    cached = _CACHE.get(id(marks))
    if cached is not None and cached[0] is marks:
        return cached[1]
    from detectors.logo.detect import LogoDetector  # noqa: PLC0415 - OpenCV only where images are scored
    from detectors.logo.references import references_for  # noqa: PLC0415

    refs = references_for(marks)
    detector = LogoDetector.build(refs) if refs else None  # seeded: a listing scores the same in every worker
    _CACHE.clear()  # one registry at a time: the previous one is no longer active
    _CACHE[id(marks)] = (marks, detector)
    return detector


def _authorized(mark, seller: str | None) -> bool:
    if not seller:
        return False
    folded = seller.strip().casefold()
    return any(folded == s.strip().casefold() for s in mark.authorized_sellers)


def detect(listing: dict, marks) -> list[Finding]:
    """One finding per mark whose logo is in at least one of the listing's photos (the best box)."""
    images = (listing.get("image_blobs") or [])[:MAX_IMAGES]
    if not images:
        return []
    detector = detector_for(marks)
    if detector is None:
        return []
    by_id = {m.id: m for m in marks}
    best: dict[str, tuple[LogoMatch, int, dict, object]] = {}
    for position, image in enumerate(images):
        try:
            loaded = load_image(image["data"])
        except BadImage as e:
            # One unreadable photo is recorded by the crawler already; the others are still looked at.
            log.info("listing %s photo %s not scored: %s", listing.get("version_id"), image.get("url"), e)
            continue
        for match in detector.detect(loaded.pixels):
            if match.score < MIN_SCORE:
                continue
            mark = by_id.get(match.mark_id)
            if mark is None or _authorized(mark, listing.get("seller_name")):
                continue
            if match.mark_id not in best or match.score > best[match.mark_id][0].score:
                best[match.mark_id] = (match, position, image, loaded)
    findings = []
    for mark_id, (match, position, image, loaded) in best.items():
        bbox, polygon = _to_original(match, loaded.scale)
        name = (by_id[mark_id].names or (mark_id,))[0]
        reason = (f"The registered logo of '{name}' ({match.logo_id}) appears in product photo "
                  f"{position + 1} at x={bbox[0]}, y={bbox[1]}, {bbox[2]}×{bbox[3]} px "
                  f"(logo match {match.score:.2f}, {match.method}).")
        findings.append(Finding(
            detector=DETECTOR, detector_version=VERSION, mark_id=mark_id, score=round(float(match.score), 4),
            reason=reason,
            evidence={"image_url": image.get("url"), "image_sha256": image.get("sha256"),
                      "image_position": position, "bbox": list(bbox), "polygon": polygon,
                      "logo_id": match.logo_id, "method": match.method,
                      "image_size": [loaded.width, loaded.height]},
            attachments={"annotated_image": (_annotated(loaded, match), ".png")},
        ))
    return findings


def _to_original(match: LogoMatch, scale: float) -> tuple[tuple[int, int, int, int], list[list[float]]]:
    """Box and outline from the decoded (possibly downscaled) pixels to the photo's own pixels."""
    x, y, w, h = match.bbox
    s = 1.0 / scale if scale else 1.0
    bbox = (round(x * s), round(y * s), max(1, round(w * s)), max(1, round(h * s)))
    return bbox, [[round(px * s, 1), round(py * s, 1)] for px, py in match.polygon]


def _annotated(loaded, match: LogoMatch) -> bytes:
    """The photo (as decoded, at most ANNOTATED_MAX_SIDE) with the box drawn and labelled, as PNG."""
    import cv2  # noqa: PLC0415

    from detectors.logo.draw import draw_matches  # noqa: PLC0415

    pixels, shown = loaded.pixels, match
    side = max(pixels.shape[:2])
    if side > ANNOTATED_MAX_SIDE:
        f = ANNOTATED_MAX_SIDE / side
        pixels = cv2.resize(pixels, (round(pixels.shape[1] * f), round(pixels.shape[0] * f)),
                            interpolation=cv2.INTER_AREA)
        x, y, w, h = match.bbox
        shown = LogoMatch(match.mark_id, match.logo_id, match.score,
                          (round(x * f), round(y * f), max(1, round(w * f)), max(1, round(h * f))),
                          tuple((px * f, py * f) for px, py in match.polygon), match.method)
    ok, png = cv2.imencode(".png", draw_matches(pixels, [shown]))
    if not ok:  # pragma: no cover - OpenCV's PNG encoder does not fail on uint8 BGR
        raise RuntimeError("PNG encoding failed")
    return png.tobytes()

