"""Stolen-official-photo lookup speed: indexing reference photos, and a listing photo's lookup at
1,000, 10,000 and 100,000 reference photos (19 stored hashes each, photohash.REFERENCE_CROPS).

    .venv/bin/python bench/photo_hash_speed.py [--photos 40] [--sizes 1000,10000,100000]

Real photographs (the logo evaluation set's backgrounds, detectors/logo/evalsources.py) are indexed
for the per-photo indexing time and queried for the per-listing time (hashing as it is and with plain
borders trimmed, then the scan). Larger indexes are filled with the hashes of those photos' crops
shifted by random bit flips — what matters for the scan is how many hashes it XORs, not where they
came from. One thread; prints ms per reference photo indexed, ms per listing photo (hashing, scan),
and peak RSS.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    from detectors import photohash
    from detectors.logo.evalsources import photographs

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--photos", type=int, default=40, help="real photographs indexed and queried (default 40)")
    ap.add_argument("--sizes", default="1000,10000,100000", help="reference photos in the index, comma-separated")
    a = ap.parse_args(argv)
    sizes = [int(s) for s in a.sizes.split(",")]

    photos = []
    for p in photographs(max_side=1600):   # quadrants of ~800 px: listing-photo size
        h, w = p.image.shape[:2]
        photos += [p.image[y:y + h // 2, x:x + w // 2] for y in (0, h // 2) for x in (0, w // 2)]
    photos = photos[: a.photos]
    print(f"{len(photos)} real photographs, {len(photohash.REFERENCE_CROPS)} stored hashes per reference photo")

    index = photohash.PhotoIndex()
    t0 = time.perf_counter()
    for i, im in enumerate(photos):
        index.add(f"photo-{i}", im)
    index_ms = 1000 * (time.perf_counter() - t0) / len(photos)
    print(f"indexing: {index_ms:.1f} ms per reference photo ({photos[0].shape[1]}×{photos[0].shape[0]} px)")

    t0 = time.perf_counter()
    listings = [photohash.listing_hashes(im) for im in photos]
    hash_ms = 1000 * (time.perf_counter() - t0) / len(photos)

    rng = np.random.default_rng(0)
    seeds = np.stack(index.stored_hashes(), axis=1)
    weights = np.uint64(1) << np.arange(64, dtype=np.uint64)
    print(f"{'reference photos':>16} {'stored hashes':>13} {'hash ms':>8} {'scan ms':>8} {'listing ms':>10} {'found':>6}")
    for n in sizes:
        missing = (n - len(index)) * len(photohash.REFERENCE_CROPS)
        for start in range(0, max(0, missing), 100_000):   # in chunks: the bench's own memory stays small
            m = min(100_000, missing - start)
            # stand-in references: real photos' crop hashes with ~20 of 64 bits flipped at random
            flips = ((rng.random((m, 2, 64)) < 20 / 64) * weights).sum(axis=2, dtype=np.uint64)
            filler = seeds[rng.integers(0, len(seeds), m)] ^ flips
            for j, (ph, dh) in enumerate(filler, start):
                index.add_hashes(f"filler-{n}-{j // len(photohash.REFERENCE_CROPS)}", ph, dh)
        t0 = time.perf_counter()
        found = sum(any(h.ref_id == f"photo-{i}" for h in index.lookup(lh)) for i, lh in enumerate(listings))
        scan_ms = 1000 * (time.perf_counter() - t0) / len(listings)
        print(f"{n:16,} {index.hash_count:13,} {hash_ms:8.1f} {scan_ms:8.2f} {hash_ms + scan_ms:10.1f} "
              f"{found:3}/{len(listings)}")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
