"""Measure photohash on real edits of real photographs: precision and recall per distance threshold.

Half of the quadrants of the background photographs of the logo evaluation set
(evalsources.photographs) play the brand's official photos; each is edited the ways a reseller does (EDITS) and queried. The other half,
edited the same ways, are listings that must match nothing. Deterministic (seeded).

    python -m detectors.photohash_eval        # prints the table
"""
from __future__ import annotations

import numpy as np

from detectors.photohash import PhotoIndex, hashes


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


EDITS = {
    "resize-50%": lambda im: _resize(im, 0.5),
    "resize-25%": lambda im: _resize(im, 0.25),
    "jpeg-q40": lambda im: _jpeg(im, 40),
    "crop-5%": lambda im: _crop(im, 0.05),
    "crop-10%": lambda im: _crop(im, 0.10),
    "watermark": _watermark,
    "brighter+20": lambda im: _brightness(im, 20),
    "all: resize 60%, crop 5%, watermark, jpeg-q60": lambda im: _jpeg(_watermark(_crop(_resize(im, 0.6), 0.05)), 60),
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
    queries = []  # (expected ref or None, edit, hashes)
    for group, expect in ((official, True), (other, False)):
        for i, im in enumerate(group):
            for name, edit in EDITS.items():
                queries.append((f"official-{i}" if expect else None, name, hashes(edit(im))))
    same, diff = [], []
    table, per_edit = {}, {}
    for t in list(thresholds) + [MAX_DISTANCE]:
        tp = fp = fn = 0
        edit_hits: dict[str, list[int]] = {}
        for want, name, (ph, dh) in queries:
            got = [d.ref_id for d in idx.query_hashes(ph, dh, max_distance=t)]
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
    for want, _, (ph, dh) in queries:
        for d in idx.query_hashes(ph, dh, max_distance=64):
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
