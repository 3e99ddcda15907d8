"""Stolen official photos: perceptual hashes of the brand's reference photos and a Hamming index.

A counterfeiter often lists the brand's own product photo, resized, recompressed, slightly cropped or
watermarked. pHash (DCT of a 32×32 grey image, 64 bits) and dHash (gradient signs of a 9×8 grey
image, 64 bits) from the `imagehash` package both survive those edits; two different photographs
almost never come within a few bits on *both*. The distance of a pair is therefore the larger of the
two Hamming distances, and a pair is a near-duplicate when it is ≤ MAX_DISTANCE.

Resellers also crop the photo or pad it onto their own canvas, and 64-bit hashes of the whole picture
do not survive that (a 10 % crop from one side, or a white border: most copies lost). So each
reference photo is indexed under `REFERENCE_CROPS` — itself and 18 crops of it (centred, one side
off, one corner off; 10 and 20 %) — and a listing photo is looked up as it is and with near-uniform
borders trimmed (`trim_borders`). A hit names the crop and whether borders were trimmed: evidence an
officer can check by eye.

MAX_DISTANCE = 12 was chosen on the generated set in photohash_eval.py (50 photographs as the
official photos, 50 others as unrelated listing photos, 16 real edits of each — crops by amounts
the reference crops do not use among them — 1,600 queries): precision 1.000, recall 0.916; the
closest two different photographs were 14 apart. See docs/logo-detector.md, "Stolen official photos".

The index is a numpy scan: XOR against every stored hash and `np.bitwise_count`. That costs ~0.6 ms
per 100,000 stored hashes (`bench/photo_hash_speed.py`: 10 ms at 100,000 reference photos, 1.9 M
hashes), below hashing the listing photo (~28 ms at 800 px), so a BK-tree or multi-index hashing
would add code for no measurable gain at registry sizes.

    idx = PhotoIndex()
    idx.add("sprite-can-front", official_bgr)
    idx.query(listing_bgr)       # [NearDuplicate(ref_id="sprite-can-front", distance=3, phash=2, dhash=3,
                                 #                crop="top 10 %", trimmed=False)]
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_DISTANCE = 12


def _crops() -> tuple[tuple[str, tuple[float, float, float, float]], ...]:
    """(name, (top, bottom, left, right) fractions cut) of the reference crops."""
    out = [("none", (0.0, 0.0, 0.0, 0.0))]
    for k in (0.10, 0.20):
        pct = f"{round(k * 100)} %"
        out.append((f"centre {pct}", (k / 2, k / 2, k / 2, k / 2)))
        out += [(f"{side} {pct}", tuple(k if i == j else 0.0 for j in range(4)))
                for i, side in enumerate(("top", "bottom", "left", "right"))]
        out += [(f"{v}-{h} {pct}", (k * (v == "top"), k * (v == "bottom"), k * (h == "left"), k * (h == "right")))
                for v in ("top", "bottom") for h in ("left", "right")]
    return tuple(out)


REFERENCE_CROPS = _crops()
CROP_FRACTIONS = dict(REFERENCE_CROPS)
BORDER_TOLERANCE = 12   # grey levels a padded border may vary by (JPEG noise on a flat colour)
BORDER_DRIFT = 3.0      # ... and its lines' means from the edge line's
BORDER_MIN = 0.02       # borders thinner than this share of the side are left (they barely move a hash)


@dataclass(frozen=True)
class NearDuplicate:
    ref_id: str
    distance: int   # max(phash, dhash)
    phash: int
    dhash: int
    crop: str = "none"      # which REFERENCE_CROPS variant of the reference photo matched
    trimmed: bool = False   # the listing photo matched once its uniform borders were trimmed


def hashes(image_bgr: np.ndarray) -> tuple[np.uint64, np.uint64]:
    """(pHash, dHash) of a BGR or grey uint8 image, each as one unsigned 64-bit integer."""
    import imagehash
    from PIL import Image

    if image_bgr.ndim == 3:
        pil = Image.fromarray(np.ascontiguousarray(image_bgr[:, :, 2::-1]))
    else:
        pil = Image.fromarray(image_bgr)
    return _pack(imagehash.phash(pil).hash), _pack(imagehash.dhash(pil).hash)


def crop_box(shape, fractions: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) left of an image of `shape` once (top, bottom, left, right) fractions are cut."""
    h, w = shape[:2]
    top, bottom, left, right = fractions
    return int(w * left), int(h * top), w - int(w * right), h - int(h * bottom)


def crop(image: np.ndarray, fractions: tuple[float, float, float, float]) -> np.ndarray:
    x0, y0, x1, y1 = crop_box(image.shape, fractions)
    return image[y0:y1, x0:x1]


def trim_borders(image: np.ndarray, tolerance: int = BORDER_TOLERANCE) -> np.ndarray | None:
    """The image without the near-uniform rows and columns along its edges (a reseller's padding or
    frame), or None when there are none — or when they would leave less than a fifth of it."""
    box = content_box(image, tolerance)
    return None if box is None else image[box[1]:box[3], box[0]:box[2]]


def content_box(image: np.ndarray, tolerance: int = BORDER_TOLERANCE) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) of what `trim_borders` keeps, or None when it keeps the whole image."""
    grey = image if image.ndim == 2 else image[:, :, :3].max(axis=2)
    g = grey.astype(np.int16)

    def uniform_run(lines: np.ndarray) -> int:
        # lines: (n, k), the first one on the edge; how many from the edge are flat and alike
        # flat within JPEG noise, and the same colour as the edge: padding is one colour, while a
        # smooth gradient (sky, a wallpaper) drifts and must not be trimmed
        flat = (lines.max(axis=1) - lines.min(axis=1) <= tolerance) & (
            np.abs(lines.mean(axis=1) - lines[0].mean()) <= BORDER_DRIFT)
        return int(np.argmin(flat)) if not flat.all() else len(flat)

    h, w = g.shape
    top, bottom = (n if n >= BORDER_MIN * h else 0 for n in (uniform_run(g), uniform_run(g[::-1])))
    left, right = (n if n >= BORDER_MIN * w else 0 for n in (uniform_run(g.T), uniform_run(g.T[::-1])))
    if top + bottom + left + right == 0 or (h - top - bottom) * (w - left - right) < 0.2 * h * w \
            or h - top - bottom < 8 or w - left - right < 8:
        return None
    return left, top, w - right, h - bottom


def listing_hashes(image_bgr: np.ndarray) -> list[tuple[np.uint64, np.uint64, bool]]:
    """(pHash, dHash, trimmed) of a listing photo as it is, and without its uniform borders if any."""
    out = [(*hashes(image_bgr), False)]
    trimmed = trim_borders(image_bgr)
    if trimmed is not None:
        out.append((*hashes(trimmed), True))
    return out


def _pack(bits: np.ndarray) -> np.uint64:
    return np.frombuffer(np.packbits(bits.astype(bool).ravel()).tobytes(), dtype=">u8")[0].astype(np.uint64)


class PhotoIndex:
    """Reference photo hashes (each photo under its REFERENCE_CROPS); `query` returns the references
    within `max_distance`, nearest first, each once."""

    def __init__(self):
        self._ids: list[str] = []
        self._refs: set[str] = set()       # len() is asked per listing: not a set built each time
        self._crops: list[str] = []
        # hashes in arrays that double when full: one append per stored hash stays O(1)
        self._p = np.zeros(64, np.uint64)
        self._d = np.zeros(64, np.uint64)

    def __len__(self) -> int:
        return len(self._refs)

    @property
    def hash_count(self) -> int:
        """Stored hashes: every reference photo once per REFERENCE_CROPS variant."""
        return len(self._ids)

    def stored_hashes(self) -> tuple[np.ndarray, np.ndarray]:
        """(pHash, dHash) arrays of every stored hash, in the order they were added (views: read only)."""
        return self._p[:len(self._ids)], self._d[:len(self._ids)]

    def add(self, ref_id: str, image_bgr: np.ndarray) -> None:
        for name, fractions in REFERENCE_CROPS:
            self.add_hashes(ref_id, *hashes(crop(image_bgr, fractions)), crop=name)

    def add_hashes(self, ref_id: str, phash: np.uint64, dhash: np.uint64, crop: str = "none") -> None:
        n = len(self._ids)
        if n == len(self._p):
            self._p = np.concatenate([self._p, np.zeros(n, np.uint64)])
            self._d = np.concatenate([self._d, np.zeros(n, np.uint64)])
        self._p[n], self._d[n] = phash, dhash
        self._ids.append(ref_id)
        self._refs.add(ref_id)
        self._crops.append(crop)

    def query(self, image_bgr: np.ndarray, max_distance: int = MAX_DISTANCE) -> list[NearDuplicate]:
        return self.lookup(listing_hashes(image_bgr), max_distance)

    def lookup(self, listing: list[tuple[np.uint64, np.uint64, bool]],
               max_distance: int = MAX_DISTANCE) -> list[NearDuplicate]:
        """The references near any of a listing photo's hashes (`listing_hashes`), each once."""
        hits = [h for ph, dh, trimmed in listing
                for h in self.query_hashes(ph, dh, max_distance=max_distance, trimmed=trimmed)]
        return _nearest_per_reference(hits)

    def query_hashes(self, phash, dhash, max_distance: int = MAX_DISTANCE, trimmed: bool = False) -> list[NearDuplicate]:
        stored_p, stored_d = self.stored_hashes()
        dp = np.bitwise_count(stored_p ^ np.uint64(phash))
        dd = np.bitwise_count(stored_d ^ np.uint64(dhash))
        dist = np.maximum(dp, dd)
        hits = np.flatnonzero(dist <= max_distance)
        hits = hits[np.argsort(dist[hits], kind="stable")]
        return _nearest_per_reference(
            [NearDuplicate(self._ids[i], int(dist[i]), int(dp[i]), int(dd[i]), self._crops[i], trimmed) for i in hits])


def _nearest_per_reference(hits: list[NearDuplicate]) -> list[NearDuplicate]:
    best: dict[str, NearDuplicate] = {}
    for h in sorted(hits, key=lambda h: h.distance):      # stable: the uncropped, untrimmed first on ties
        best.setdefault(h.ref_id, h)
    return list(best.values())
