"""Measure photohash on real edits of real photographs: precision and recall per distance threshold.

Half of the quadrants of the background photographs of the logo evaluation set
(evalsources.photographs) play the brand's official photos; each is edited the ways a reseller does (EDITS) and queried. The other half,
edited the same ways, are listings that must match nothing. Deterministic (seeded).

    python -m detectors.photohash_eval        # prints the table
"""
from __future__ import annotations

import numpy as np

from detectors.photohash import PhotoIndex, listing_hashes


def _jpeg(img, q):
    import cv2

    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def _resize(img, k):
    import cv2

    return cv2.resize(img, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)


def _crop(img, f):
    h, w = img.shape[:2]
    dy, dx = int(h * f / 2), int(w * f / 2)
    return img[dy:h - dy, dx:w - dx]


def _watermark(img, text="SALE 官方正品 shop123"):
    import cv2

    out = img.copy()
    h, w = out.shape[:2]
    over = out.copy()
    scale = w / 700
    cv2.putText(over, text.encode("ascii", "ignore").decode(), (int(w * 0.08), int(h * 0.55)),
                cv2.FONT_HERSHEY_SIMPLEX, 2.2 * scale, (255, 255, 255), max(2, int(5 * scale)))
    cv2.rectangle(over, (0, int(h * 0.88)), (w, h), (30, 30, 200), -1)  # a seller's banner
    return cv2.addWeighted(over, 0.6, out, 0.4, 0)


def _brightness(img, beta):
    return np.clip(img.astype(np.int16) + beta, 0, 255).astype(np.uint8)


def _cut(img, top=0.0, bottom=0.0, left=0.0, right=0.0):
    from detectors.photohash import crop

    return crop(img, (top, bottom, left, right))


def _pad(img, top, bottom, left, right, value=255):
    import cv2

    return cv2.copyMakeBorder(img, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(value,) * 3)


def _pad_to_square(img):
    h, w = img.shape[:2]
    d = abs(w - h)
    return _pad(img, d // 2, d - d // 2, 0, 0) if w > h else _pad(img, 0, 0, d // 2, d - d // 2)


def _frame(img, f=0.08):
    b = int(f * max(img.shape[:2]))
    return _pad(img, b, b, b, b, value=245)


EDITS = {
    "resize-50%": lambda im: _resize(im, 0.5),
    "resize-25%": lambda im: _resize(im, 0.25),
    "jpeg-q40": lambda im: _jpeg(im, 40),
    "crop-5%": lambda im: _crop(im, 0.05),
    "crop-10%": lambda im: _crop(im, 0.10),
    "watermark": _watermark,
    "brighter+20": lambda im: _brightness(im, 20),
    "all: resize 60%, crop 5%, watermark, jpeg-q60": lambda im: _jpeg(_watermark(_crop(_resize(im, 0.6), 0.05)), 60),
    # one-sided crops by amounts the reference crops (photohash.REFERENCE_CROPS: 10 and 20 %) do not use
    "crop top 8%": lambda im: _cut(im, top=0.08),
    "crop top 22%": lambda im: _cut(im, top=0.22),
    "crop right 12%": lambda im: _cut(im, right=0.12),
    "crop top-left 6%": lambda im: _cut(im, top=0.06, left=0.06),
    "crop bottom-right 14%": lambda im: _cut(im, bottom=0.14, right=0.14),
    # a reseller's canvas: padded to a square, or framed
    "padded to square (white)": lambda im: _jpeg(_pad_to_square(im), 85),
    "framed 8% (off-white)": lambda im: _jpeg(_frame(im), 85),
    "crop top 15%, framed, jpeg-q60": lambda im: _jpeg(_frame(_cut(im, top=0.15)), 60),
}


def measure(photos=None, thresholds=range(0, 21, 2)) -> dict:
    """{"thresholds": {t: (precision, recall)}, "per_edit": {edit: recall at MAX_DISTANCE},
    "distances": {"same": [...], "different": [...]}, "n_official": n, "n_other": m}."""
    from detectors.logo.evalsources import photographs
    from detectors.photohash import MAX_DISTANCE

    if photos is None:  # each quadrant of each photograph is a picture of its own: 4× the photos,
        photos = []     # and its siblings are the hardest "different photo" there is
        for p in photographs(max_side=1200):
            h, w = p.image.shape[:2]
            photos += [p.image[y:y + h // 2, x:x + w // 2] for y in (0, h // 2) for x in (0, w // 2)]
    # Even/odd split so both halves mix Debian and scikit-image photographs.
    official, other = photos[0::2], photos[1::2]
    idx = PhotoIndex()
    for i, im in enumerate(official):
        idx.add(f"official-{i}", im)
    queries = []  # (expected ref or None, edit, listing hashes)
    for group, expect in ((official, True), (other, False)):
        for i, im in enumerate(group):
            for name, edit in EDITS.items():
                queries.append((f"official-{i}" if expect else None, name, listing_hashes(edit(im))))
    same, diff = [], []
    table, per_edit = {}, {}
    for t in list(thresholds) + [MAX_DISTANCE]:
        tp = fp = fn = 0
        edit_hits: dict[str, list[int]] = {}
        for want, name, listing in queries:
            got = [d.ref_id for d in idx.lookup(listing, max_distance=t)]
            if want:
                ok = want in got
                tp += ok
                fn += not ok
                edit_hits.setdefault(name, []).append(ok)
                fp += len([g for g in got if g != want])
            else:
                fp += len(got)
        table[t] = (tp / (tp + fp) if tp + fp else 1.0, tp / (tp + fn) if tp + fn else 1.0)
        if t == MAX_DISTANCE:
            per_edit = {k: sum(v) / len(v) for k, v in edit_hits.items()}
    for want, _, listing in queries:
        for d in idx.lookup(listing, max_distance=64):
            (same if d.ref_id == want else diff).append(d.distance)
    return {"thresholds": table, "per_edit": per_edit, "distances": {"same": same, "different": diff},
            "n_official": len(official), "n_other": len(other), "queries": len(queries)}


def main() -> int:
    from detectors.photohash import MAX_DISTANCE

    r = measure()
    print(f"{r['n_official']} official photos indexed, {r['queries']} edited queries "
          f"({r['n_other']} other photos edited the same ways must match nothing)")
    print(f"{'max distance':>12} {'precision':>9} {'recall':>7}")
    for t, (p, rec) in sorted(r["thresholds"].items()):
        mark = "  <- MAX_DISTANCE" if t == MAX_DISTANCE else ""
        print(f"{t:12} {p:9.3f} {rec:7.3f}{mark}")
    print(f"recall per edit at {MAX_DISTANCE}:")
    for k, v in r["per_edit"].items():
        print(f"  {k:48} {v:.3f}")
    same, diff = r["distances"]["same"], r["distances"]["different"]
    print(f"distance of true pairs: max {max(same)}; of different photos: min {min(diff)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
