"""Build the logo evaluation set: real brand logos composited onto real photographs, deterministically.

Same seed, same sources (evalsources.source_fingerprint) → byte-identical output. Each image is drawn
from its own RNG (`default_rng([seed, index])`), so one image never depends on how many came before.

Output directory:
    images/NNNN.jpg     the test images (JPEG, quality 30–90)
    logos/ID.png        the registered logos (RGBA, cropped to the visible logo)
    registry.yaml       the registry of those logos (DESIGN.md "Registry"); mark id = logo id
    labels.jsonl        one line per image: id, image (relative path), boxes [{mark_id, logo_id, bbox}],
                        tags (hard cases), split ("tune" | "heldout", by logo), kind, background
    manifest.json       builder version, parameters, counts, logo list with source and split

    python -m detectors.logo.evalset --out /tmp/logo-eval          # the reference set (~450 images)
    python -m detectors.logo.evalset --out /tmp/small --positives 40 --negatives 20 --registered 20
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from detectors.logo import evalsources as src

BUILDER_VERSION = "1"  # bump whenever the output for the same parameters changes

LOGO_RASTER = 512      # registered logo PNG: longest side in pixels
TAGS = ("clean", "small", "rotated", "perspective", "blur", "jpeg", "lighting", "recolour", "inverted",
        "occluded", "plain-bg", "two-logos")


@dataclass(frozen=True)
class Params:
    seed: int = 20240605
    positives: int = 300
    negatives: int = 150
    registered: int = 80       # half tune, half held out
    unregistered: int = 40     # distractors that appear only in negatives
    # share of each source among the logos (the rest of the mix is iconify's multi-colour logos)
    simple_share: float = 0.2
    tiny_share: float = 0.1

    def key(self, node_modules: Path | None = None) -> str:
        h = hashlib.sha256(BUILDER_VERSION.encode())
        h.update(json.dumps(asdict(self), sort_keys=True).encode())
        h.update(src.source_fingerprint(node_modules).encode())
        return h.hexdigest()[:16]


@dataclass
class ChosenLogo:
    logo_id: str
    source: str
    name: str
    title: str
    image: np.ndarray = field(repr=False)  # BGRA
    split: str = ""
    registered: bool = True


# -- choosing logos ---------------------------------------------------------------------------

def _stem(logo: src.SvgLogo) -> str:
    """The brand a logo belongs to, for keeping one logo per brand (no "google" distractor beside a
    registered "google-icon": the detector would be right to find it)."""
    first = logo.name.split("-")[0] if logo.source == "iconify" else logo.name
    return "".join(c for c in first.lower() if c.isalnum())


def _usable(img: np.ndarray) -> bool:
    h, w = img.shape[:2]
    if max(h, w) / max(1, min(h, w)) > 3.5:   # long thin wordmarks vanish at 5 % of the width
        return False
    alpha = img[:, :, 3] > 128
    cover = alpha.mean()
    if cover < 0.12:
        return False
    px = img[:, :, :3][alpha].astype(np.int16)
    # A logo that is all white (or all one flat grey) would be invisible on a white product shot.
    return bool(px.std() > 12 or np.abs(px - 255).mean() > 60)


def _ordered(logos: list[src.SvgLogo], seed: int) -> list[src.SvgLogo]:
    return sorted(logos, key=lambda x: hashlib.sha256(f"{seed}:{x.source}:{x.name}".encode()).digest())


def choose_logos(p: Params, node_modules: Path | None = None) -> list[ChosenLogo]:
    """Registered logos first (alternating tune / heldout), then the unregistered distractors."""
    pools = {k: _ordered(v, p.seed) for k, v in src.iter_logo_svgs(node_modules).items()}
    total = p.registered + p.unregistered
    want = {"simple-icons": round(total * p.simple_share), "super-tiny-icons": round(total * p.tiny_share)}
    want["iconify"] = total - sum(want.values())
    used_stems: list[str] = []
    per_source: dict[str, list[ChosenLogo]] = {k: [] for k in want}
    for source, n in want.items():
        for svg in pools[source]:
            if len(per_source[source]) >= n:
                break
            stem = _stem(svg)
            if len(stem) < 2 or any(stem.startswith(s) or s.startswith(stem) for s in used_stems):
                continue
            try:
                img = src.rasterise(svg.svg, LOGO_RASTER)
            except Exception:  # noqa: BLE001 - an SVG cairosvg cannot draw is simply not chosen
                continue
            if not _usable(img):
                continue
            used_stems.append(stem)
            lid = f"{ {'iconify': 'ic', 'simple-icons': 'si', 'super-tiny-icons': 'st'}[source]}-{svg.name}"
            lid = "".join(c if c.isalnum() or c == "-" else "-" for c in lid.lower())[:100]
            per_source[source].append(ChosenLogo(lid, source, svg.name, svg.title, img))
    # Spread each source evenly over the list, so registered and unregistered get the same mix.
    mixed = [lg for _, _, lg in sorted(((i + 0.5) / len(group), s, lg) for s, group in enumerate(per_source.values())
                                       for i, lg in enumerate(group))]
    if len(mixed) < total:
        raise src.EvalSourcesMissing(f"only {len(mixed)} usable logos, need {total}: {src.INSTALL_HINT}")
    for i, lg in enumerate(mixed[:total]):
        lg.registered = i < p.registered
        lg.split = ("tune", "heldout")[i % 2]
    return mixed[:total]


# -- compositing ------------------------------------------------------------------------------

def _background(rng: np.random.Generator, photos: list[src.Photo], w: int, h: int, plain: bool):
    import cv2

    if plain:  # a product shot on a light sweep: near-white, a gentle gradient, sensor noise
        base = rng.uniform(225, 252)
        grad = np.linspace(0, rng.uniform(-18, 8), h, dtype=np.float32)[:, None, None]
        tint = rng.uniform(-5, 5, 3).astype(np.float32)
        img = base + grad + tint + rng.normal(0, 2.0, (h, w, 3)).astype(np.float32)
        return np.clip(img, 0, 255).astype(np.uint8), "plain"
    photo = photos[int(rng.integers(len(photos)))]
    ph, pw = photo.image.shape[:2]
    aspect = w / h
    cw = int(min(pw, ph * aspect) * rng.uniform(0.45, 1.0))
    ch = max(8, int(cw / aspect))
    x0, y0 = int(rng.integers(0, pw - cw + 1)), int(rng.integers(0, ph - ch + 1))
    crop = photo.image[y0:y0 + ch, x0:x0 + cw]
    return cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA if cw > w else cv2.INTER_LINEAR), photo.name


def _recolour(rng, bgra: np.ndarray, mode: str) -> np.ndarray:
    import cv2

    out = bgra.copy()
    if mode == "inverted":
        out[:, :, :3] = 255 - out[:, :, :3]
    elif rng.random() < 0.5:  # hue rotated: the same logo printed in other colours
        hsv = cv2.cvtColor(out[:, :, :3], cv2.COLOR_BGR2HSV)
        hsv[:, :, 0] = ((hsv[:, :, 0].astype(int) + int(rng.integers(25, 155))) % 180).astype(np.uint8)
        hsv[:, :, 1] = np.maximum(hsv[:, :, 1], 90)  # a grey logo would not change hue at all
        out[:, :, :3] = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
    else:  # one-colour print (embossed, stamped, screen-printed), keeping the shading
        gray = cv2.cvtColor(out[:, :, :3], cv2.COLOR_BGR2GRAY).astype(np.float32) / 255
        colour = rng.integers(0, 256, 3).astype(np.float32)
        out[:, :, :3] = np.clip(colour * (0.35 + 0.65 * gray[:, :, None]), 0, 255).astype(np.uint8)
    return out


def _place(rng, logo: np.ndarray, W: int, H: int, scale: float, angle: float, persp: float,
           avoid: tuple | None):
    """Homography taking the logo raster into the W×H image, and the logo's corners there."""
    import cv2

    lh, lw = logo.shape[:2]
    k = scale * W / lw
    if k * lh > 0.8 * H:           # a tall logo at 40 % of the width may not fit the height
        k = 0.8 * H / lh
    c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    corners = np.array([[0, 0], [lw, 0], [lw, lh], [0, lh]], np.float32)
    centred = (corners - [lw / 2, lh / 2]) * k
    rot = centred @ np.array([[c, s], [-s, c]], np.float32)
    size = max(lw, lh) * k
    dst = rot + rng.uniform(-persp, persp, (4, 2)).astype(np.float32) * size
    lo, hi = dst.min(0), dst.max(0)
    for _ in range(30):
        cx = rng.uniform(-lo[0], W - hi[0]) if W - hi[0] > -lo[0] else W / 2
        cy = rng.uniform(-lo[1], H - hi[1]) if H - hi[1] > -lo[1] else H / 2
        box = (cx + lo[0], cy + lo[1], cx + hi[0], cy + hi[1])
        if avoid is None or box[2] < avoid[0] or box[0] > avoid[2] or box[3] < avoid[1] or box[1] > avoid[3]:
            break
    else:
        return None
    quad = (dst + [cx, cy]).astype(np.float32)
    return cv2.getPerspectiveTransform(corners, quad), quad, k


def _paste(rng, canvas: np.ndarray, logo: np.ndarray, M: np.ndarray, k: float):
    """Alpha-composite the warped logo; returns the visible bbox (x, y, w, h) or None."""
    import cv2

    H, W = canvas.shape[:2]
    # Pre-shrink so the warp never decimates (aliasing would add a distortion nobody asked for).
    if k < 0.5:
        f = max(k * 1.5, 0.02)
        small = cv2.resize(logo, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        M = M @ np.diag([logo.shape[1] / small.shape[1], logo.shape[0] / small.shape[0], 1.0])
        logo = small
    warped = cv2.warpPerspective(logo, M, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                                 borderValue=(0, 0, 0, 0))
    a = warped[:, :, 3:4].astype(np.float32) / 255
    canvas[:] = (canvas * (1 - a) + warped[:, :, :3] * a + 0.5).astype(np.uint8)
    ys, xs = np.nonzero(warped[:, :, 3] >= 128)
    if len(xs) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def _occlude(rng, canvas, bbox, photos, frac):
    """Cover `frac` of the logo's box with a patch (a sticker, a finger, another object)."""
    x, y, w, h = bbox
    aspect = rng.uniform(0.4, 2.5)
    ow = int(min(w, np.sqrt(frac * w * h * aspect)))
    oh = int(min(h, frac * w * h / max(ow, 1)))
    if ow < 2 or oh < 2:
        return 0.0
    # From an edge inwards, as real occluders come from outside the logo.
    side = int(rng.integers(4))
    ox = x + (0 if side == 0 else w - ow if side == 1 else int(rng.integers(0, w - ow + 1)))
    oy = y + (0 if side == 2 else h - oh if side == 3 else int(rng.integers(0, h - oh + 1)))
    if rng.random() < 0.5:
        patch = rng.integers(0, 256, 3).astype(np.uint8)
        canvas[oy:oy + oh, ox:ox + ow] = patch
    else:
        ph = photos[int(rng.integers(len(photos)))].image
        py, px = int(rng.integers(0, ph.shape[0] - oh)), int(rng.integers(0, ph.shape[1] - ow))
        canvas[oy:oy + oh, ox:ox + ow] = ph[py:py + oh, px:px + ow]
    return ow * oh / (w * h)


def compose(index: int, p: Params, logos: list[ChosenLogo], photos: list[src.Photo], kind: str):
    """One image: (BGR array, JPEG quality, label dict without id/image). kind: positive | no-logo |
    unregistered-logo."""
    import cv2

    rng = np.random.default_rng([p.seed, index])
    W = int(rng.integers(480, 801))
    H = int(W / rng.uniform(0.75, 1.34))
    tags: set[str] = set()
    clean = kind == "positive" and rng.random() < 0.15
    plain = rng.random() < 0.12
    canvas, bg_name = _background(rng, photos, W, H, plain)
    if plain:
        tags.add("plain-bg")
    registered = [lg for lg in logos if lg.registered]
    if kind == "positive":
        first = registered[index % len(registered)]
        todo = [first]
        if not clean and rng.random() < 0.1:
            same = [lg for lg in registered if lg.split == first.split and lg is not first]
            todo.append(same[int(rng.integers(len(same)))])
        split = first.split
    elif kind == "unregistered-logo":
        others = [lg for lg in logos if not lg.registered]
        todo = [others[(index // 2) % len(others)]]  # negatives alternate kinds: index // 2 counts each
        split = todo[0].split
    else:
        todo, split = [], ("tune", "heldout")[(index // 2) % 2]

    boxes, occupied = [], None
    for lg in todo:
        img = lg.image
        if clean:
            scale, angle, persp = rng.uniform(0.2, 0.4), 0.0, 0.0
        else:
            scale = rng.uniform(0.05, 0.40)
            angle = rng.uniform(-30, 30) if rng.random() < 0.5 else 0.0
            persp = rng.uniform(0.04, 0.14) if rng.random() < 0.4 else 0.0
            r = rng.random()
            if r < 0.10:
                img, _ = _recolour(rng, img, "inverted"), tags.add("inverted")
            elif r < 0.25:
                img, _ = _recolour(rng, img, "recolour"), tags.add("recolour")
        placed = _place(rng, img, W, H, scale, angle, persp, occupied)
        if placed is None:
            continue
        M, quad, k = placed
        bbox = _paste(rng, canvas, img, M, k)
        if bbox is None:
            continue
        occupied = (bbox[0] - 4, bbox[1] - 4, bbox[0] + bbox[2] + 4, bbox[1] + bbox[3] + 4)
        if bbox[2] < 0.10 * W:
            tags.add("small")
        if abs(angle) >= 10:
            tags.add("rotated")
        if persp >= 0.06:
            tags.add("perspective")
        if not clean and rng.random() < 0.25:
            f = _occlude(rng, canvas, bbox, photos, rng.uniform(0.08, 0.30))
            if f >= 0.05:
                tags.add("occluded")
        if lg.registered:
            boxes.append({"mark_id": lg.logo_id, "logo_id": lg.logo_id, "bbox": list(bbox)})
    if len(boxes) > 1:
        tags.add("two-logos")

    if not clean and rng.random() < 0.5:  # white balance, exposure and contrast of a phone camera
        cast = rng.uniform(0.82, 1.18, 3).astype(np.float32)
        alpha, beta = rng.uniform(0.7, 1.3), rng.uniform(-35, 35)
        canvas = np.clip((canvas.astype(np.float32) * cast - 128) * alpha + 128 + beta, 0, 255).astype(np.uint8)
        tags.add("lighting")
    if not clean and rng.random() < 0.35:
        sigma = rng.uniform(0.8, 2.5)
        canvas = cv2.GaussianBlur(canvas, (0, 0), sigma)
        if sigma >= 1.2:
            tags.add("blur")
    quality = 90 if clean else int(rng.integers(30, 91))
    if quality < 50:
        tags.add("jpeg")
    if clean and boxes:
        tags.add("clean")
    label = {"boxes": boxes, "tags": sorted(tags), "split": split, "kind": kind, "background": bg_name,
             "jpeg_quality": quality, "size": [W, H]}
    if kind == "unregistered-logo":
        label["distractor"] = todo[0].logo_id
    return canvas, quality, label


# -- writing ----------------------------------------------------------------------------------

def build(out_dir, p: Params = Params(), node_modules: Path | None = None, log=None) -> dict:
    """Write the evaluation set into `out_dir` (created; must be empty or absent). Returns the manifest."""
    import cv2

    t0 = time.monotonic()
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "logos").mkdir(exist_ok=True)
    logos = choose_logos(p, node_modules)
    photos = src.photographs()
    registered = [lg for lg in logos if lg.registered]
    reg_lines = ["# Registered logos of the logo evaluation set (detectors/logo/evalset.py). Generated.",
                 "marks:"]
    for lg in registered:
        cv2.imwrite(str(out / "logos" / f"{lg.logo_id}.png"), lg.image)
        reg_lines += [f"  - id: {lg.logo_id}", f"    logos: [\"logos/{lg.logo_id}.png\"]"]
    (out / "registry.yaml").write_text("\n".join(reg_lines) + "\n")

    kinds = ["positive"] * p.positives + ["no-logo", "unregistered-logo"] * (p.negatives // 2) \
        + ["no-logo"] * (p.negatives % 2)
    with open(out / "labels.jsonl", "w") as f:
        for i, kind in enumerate(kinds):
            img, q, label = compose(i, p, logos, photos, kind)
            name = f"images/{i:04d}.jpg"
            cv2.imwrite(str(out / name), img, [cv2.IMWRITE_JPEG_QUALITY, q])
            f.write(json.dumps({"id": f"{i:04d}", "image": name, **label}) + "\n")
    shutil.copyfile(src.PROJECT_ROOT / "tools" / "logo-eval" / "LICENSES.md", out / "LICENSES.md")
    manifest = {"builder_version": BUILDER_VERSION, "params": asdict(p), "images": len(kinds),
                "registered": len(registered), "unregistered": len(logos) - len(registered),
                "backgrounds": [ph.name for ph in photos], "seconds": round(time.monotonic() - t0, 1),
                "logos": [{"logo_id": lg.logo_id, "source": lg.source, "name": lg.name, "title": lg.title,
                           "split": lg.split, "registered": lg.registered} for lg in logos]}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    if log:
        log(f"built {len(kinds)} images, {len(registered)} registered logos in {manifest['seconds']} s → {out}")
    return manifest


def cached(cache_root, p: Params = Params(), node_modules: Path | None = None, log=None) -> Path:
    """The set for `p` under `cache_root/logo-eval/<key>`, built once (atomically: a half-built set
    is never seen by a concurrent reader)."""
    final = Path(cache_root) / "logo-eval" / p.key(node_modules)
    if (final / "manifest.json").exists():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=final.parent))
    try:
        build(tmp, p, node_modules, log)
        try:
            os.rename(tmp, final)
        except OSError:  # another process won the race; its copy is identical
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def main(argv=None) -> int:
    d = Params()
    ap = argparse.ArgumentParser(prog="python -m detectors.logo.evalset", description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="directory to write (must not hold another set); default: print the cached one")
    ap.add_argument("--cache", help="cache root: build once under CACHE/logo-eval/<hash> and print its path")
    ap.add_argument("--seed", type=int, default=d.seed)
    ap.add_argument("--positives", type=int, default=d.positives)
    ap.add_argument("--negatives", type=int, default=d.negatives)
    ap.add_argument("--registered", type=int, default=d.registered)
    ap.add_argument("--unregistered", type=int, default=d.unregistered)
    ap.add_argument("--node-modules", type=Path, help=f"default {src.NODE_MODULES}")
    a = ap.parse_args(argv)
    p = Params(seed=a.seed, positives=a.positives, negatives=a.negatives, registered=a.registered,
               unregistered=a.unregistered)
    if bool(a.out) == bool(a.cache):
        ap.error("give exactly one of --out DIR or --cache DIR")
    log = lambda m: print(m, file=sys.stderr)  # noqa: E731
    try:
        if a.out:
            if Path(a.out).exists() and any(Path(a.out).iterdir()):
                print(f"error: {a.out} is not empty", file=sys.stderr)
                return 2
            build(a.out, p, a.node_modules, log)
            print(Path(a.out) / "labels.jsonl")
        else:
            print(cached(a.cache, p, a.node_modules, log) / "labels.jsonl")
    except src.EvalSourcesMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
