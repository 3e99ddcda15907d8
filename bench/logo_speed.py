"""Logo detector speed: images per second per core at 10, 100 and 1,000 registered logos, peak memory.

    .venv/bin/python bench/logo_speed.py [--images 40] [--sizes 10,100,1000]

Registered logos: the evaluation set's 80 logos first (so the photos contain registered logos and
the full pipeline runs: verification, template, calibration), then real brand logos from the npm
packages (`@iconify-json/logos`, `simple-icons`, rasterised with cairosvg) up to the size asked.
Photos: the first images of the evaluation set (detectors/logo/evalset.py, built and cached under
var/cache). OpenCV runs on one thread (cv2.setNumThreads(1)), so the figure is per core. Each size
runs in its own process so its peak RSS (resource.getrusage maxrss) is its own.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CACHE = ROOT / "var" / "cache"


def _logos(n: int, eval_dir: Path):
    import cv2
    import numpy as np

    from detectors.logo import evalsources
    from detectors.logo.types import LogoReference

    refs = [LogoReference(p.stem, p.stem, cv2.imread(str(p), cv2.IMREAD_UNCHANGED))
            for p in sorted((eval_dir / "logos").glob("*.png"))][:n]
    if len(refs) >= n:
        return refs
    cache = CACHE / "logo-bench"
    cache.mkdir(parents=True, exist_ok=True)
    taken = {r.mark_id.split("-", 1)[-1] for r in refs}
    svgs = evalsources.iter_logo_svgs()
    for logo in svgs["iconify"] + svgs["simple-icons"]:
        if len(refs) >= n:
            break
        if logo.name in taken:
            continue
        path = cache / f"{logo.source}-{logo.name}.png"
        if path.exists():
            img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        else:
            try:
                img = evalsources.rasterise(logo.svg, longest=256)
            except Exception:      # an SVG cairosvg cannot draw is simply not used
                continue
            cv2.imwrite(str(path), img)
        if img is None or min(img.shape[:2]) < 8 or int(np.count_nonzero(img[:, :, 3] > 8)) < 64:
            continue
        taken.add(logo.name)
        refs.append(LogoReference(f"bench-{logo.source}-{logo.name}", logo.name, img))
    return refs


def run_one(n_logos: int, n_images: int, eval_dir: Path) -> dict:
    import cv2

    from detectors.logo.detect import LogoDetector

    cv2.setNumThreads(1)
    rows = [json.loads(line) for line in (eval_dir / "labels.jsonl").read_text().splitlines()[:n_images]]
    images = [cv2.imread(str(eval_dir / r["image"]), cv2.IMREAD_COLOR) for r in rows]
    refs = _logos(n_logos, eval_dir)
    t0 = time.perf_counter()
    det = LogoDetector.build(refs)
    build_s = time.perf_counter() - t0
    det.detect(images[0])                                   # warm-up (first-call allocations)
    t0 = time.process_time()
    w0 = time.perf_counter()
    found = sum(len(det.detect(img)) for img in images)
    cpu = time.process_time() - t0
    wall = time.perf_counter() - w0
    return {"logos": len(refs), "descriptors": len(det.index), "build_s": round(build_s, 1),
            "images": len(images), "img_per_s_cpu": round(len(images) / cpu, 2),
            "img_per_s_wall": round(len(images) / wall, 2), "ms_per_img_cpu": round(1000 * cpu / len(images), 1),
            "detections": found,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10,100,1000")
    ap.add_argument("--images", type=int, default=40)
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)       # child process: one size
    ap.add_argument("--eval-dir", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.one:
        print(json.dumps(run_one(a.one, a.images, a.eval_dir)))
        return 0
    from detectors.logo import evalset

    eval_dir = evalset.cached(CACHE)
    print(f"photos: first {a.images} images of {eval_dir}; OpenCV on 1 thread; CPU time of detect() only")
    print(f"{'logos':>6} {'descriptors':>11} {'build s':>8} {'img/s/core':>10} {'ms/img':>7} {'wall img/s':>10} "
          f"{'found':>5} {'peak RSS MB':>11}")
    base = None
    for n in [int(s) for s in a.sizes.split(",")]:
        out = subprocess.run([sys.executable, __file__, "--one", str(n), "--images", str(a.images),
                              "--eval-dir", str(eval_dir)], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        base = base or r
        print(f"{r['logos']:>6} {r['descriptors']:>11} {r['build_s']:>8} {r['img_per_s_cpu']:>10} "
              f"{r['ms_per_img_cpu']:>7} {r['img_per_s_wall']:>10} {r['detections']:>5} {r['peak_rss_mb']:>11}")
    if base:
        print(f"growth: time per image x{r['ms_per_img_cpu'] / base['ms_per_img_cpu']:.2f} "
              f"for x{r['logos'] / base['logos']:.0f} logos")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
