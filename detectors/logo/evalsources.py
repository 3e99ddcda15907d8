"""Where the logo evaluation set's raw material comes from: real brand logos and real photographs.

Logos are the SVGs of three npm packages pinned in tools/logo-eval/package-lock.json (installed by
`scripts/ensure-logo-eval-sources.sh`, i.e. `npm ci`): `@iconify-json/logos` (multi-colour, CC0),
`simple-icons` (one colour, CC0; icons whose data names another licence are skipped) and
`super-tiny-icons` (MIT). Backgrounds are photographs that ship inside the scikit-image wheel and
in Debian's `mate-backgrounds` and `lomiri-wallpapers`. Licences: tools/logo-eval/LICENSES.md.

    logos = list(iter_logo_svgs(default_node_modules()))   # [SvgLogo(source, name, title, svg), ...]
    image = rasterise(logos[0].svg, longest=512)           # BGRA uint8, cropped to the visible logo
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = PROJECT_ROOT / "tools" / "logo-eval" / "node_modules"
INSTALL_HINT = "run scripts/ensure-logo-eval-sources.sh (npm ci in tools/logo-eval, apt-get mate-backgrounds)"

# Debian photographs (GPL-2+ / CC-BY-SA, see LICENSES.md); the abstract renders are not photographs.
DEBIAN_PHOTO_DIRS = ("/usr/share/backgrounds/mate/nature",)
DEBIAN_PHOTO_FILES = ("/usr/share/backgrounds/mate/abstract/Elephants.jpg",
                      "/usr/share/backgrounds/mate/desktop/GreenTraditional.jpg",
                      "/usr/share/backgrounds/warty-final-ubuntu.png")
# scikit-image photographs bundled in the wheel (no download): CC0 or public domain.
SKIMAGE_PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "camera.png", "brick.png",
                  "grass.png", "gravel.png", "motorcycle_left.png", "hubble_deep_field.jpg")


class EvalSourcesMissing(RuntimeError):
    """The npm logo packages or the Debian backgrounds are not installed."""


@dataclass(frozen=True)
class SvgLogo:
    source: str   # "iconify", "simple-icons", "super-tiny-icons"
    name: str     # the package's own name for it, e.g. "adobe-photoshop"
    title: str
    svg: bytes


def default_node_modules() -> Path:
    return NODE_MODULES


def _need(path: Path) -> Path:
    if not path.exists():
        raise EvalSourcesMissing(f"{path} not found: {INSTALL_HINT}")
    return path


def iconify_logos(node_modules: Path) -> list[SvgLogo]:
    data = json.loads(_need(node_modules / "@iconify-json" / "logos" / "icons.json").read_bytes())
    dw, dh = data.get("width", 16), data.get("height", 16)
    out = []
    for name, icon in sorted(data["icons"].items()):
        w, h = icon.get("width", dw), icon.get("height", dh)
        left, top = icon.get("left", 0), icon.get("top", 0)
        svg = (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
               f'viewBox="{left} {top} {w} {h}" width="{w}" height="{h}">{icon["body"]}</svg>')
        out.append(SvgLogo("iconify", name, name, svg.encode()))
    return out


def simple_icons(node_modules: Path) -> list[SvgLogo]:
    root = _need(node_modules / "simple-icons")
    out = []
    for entry in json.loads((root / "data" / "simple-icons.json").read_bytes()):
        if "license" in entry:  # an explicit licence other than the package's CC0: leave it out
            continue
        path = root / "icons" / f"{entry['slug']}.svg"
        if not path.exists():
            continue
        # The files carry no colour; paint each in its brand colour, as a listing would show it.
        svg = path.read_bytes().replace(b"<svg ", f'<svg fill="#{entry["hex"]}" '.encode(), 1)
        out.append(SvgLogo("simple-icons", entry["slug"], entry["title"], svg))
    return sorted(out, key=lambda x: x.name)


def super_tiny_icons(node_modules: Path) -> list[SvgLogo]:
    root = _need(node_modules / "super-tiny-icons" / "images" / "svg")
    return [SvgLogo("super-tiny-icons", p.stem, p.stem, p.read_bytes()) for p in sorted(root.glob("*.svg"))]


def iter_logo_svgs(node_modules: Path | None = None) -> dict[str, list[SvgLogo]]:
    nm = node_modules or NODE_MODULES
    return {"iconify": iconify_logos(nm), "simple-icons": simple_icons(nm), "super-tiny-icons": super_tiny_icons(nm)}


def rasterise(svg: bytes, longest: int = 512) -> np.ndarray:
    """BGRA uint8 of the SVG with its longest side `longest`, cropped to its visible (alpha) box.

    Raises ValueError for an SVG cairosvg cannot draw or that draws nothing."""
    import cairosvg
    import cv2

    m = re.search(rb'viewBox="\s*([-\d.e]+)[\s,]+([-\d.e]+)[\s,]+([-\d.e]+)[\s,]+([-\d.e]+)', svg)
    w, h = (float(m.group(3)), float(m.group(4))) if m else (1.0, 1.0)
    if w <= 0 or h <= 0:
        raise ValueError("empty viewBox")
    k = longest / max(w, h)
    png = cairosvg.svg2png(bytestring=svg, output_width=max(1, round(w * k)), output_height=max(1, round(h * k)))
    img = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None or img.ndim != 3:
        raise ValueError("cairosvg gave no colour image")
    if img.shape[2] == 3:  # fully opaque drawings come back without an alpha channel
        img = cv2.cvtColor(img, cv2.COLOR_BGR2BGRA)
    ys, xs = np.nonzero(img[:, :, 3] > 8)
    if len(xs) == 0:
        raise ValueError("the SVG draws nothing")
    return np.ascontiguousarray(img[ys.min():ys.max() + 1, xs.min():xs.max() + 1])


@dataclass(frozen=True)
class Photo:
    name: str
    image: np.ndarray  # BGR uint8


def photographs(max_side: int = 1600) -> list[Photo]:
    """Every background photograph, BGR, downscaled to at most `max_side` (decoding 5 K wallpapers
    for 800-px crops would only cost time)."""
    import cv2

    out = []
    files = [p for d in DEBIAN_PHOTO_DIRS for p in sorted(Path(d).glob("*.jpg"))] + \
            [Path(p) for p in DEBIAN_PHOTO_FILES if Path(p).exists()]
    if not files:
        raise EvalSourcesMissing(f"no photographs in {DEBIAN_PHOTO_DIRS[0]}: {INSTALL_HINT}")
    for p in files:
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if img is not None:
            out.append(Photo(f"debian:{p.name}", _fit(img, max_side)))
    import skimage.data

    root = Path(skimage.data.__file__).parent  # the files themselves: skimage.data's loaders may download
    for name in SKIMAGE_PHOTOS:
        img = cv2.imread(str(root / name), cv2.IMREAD_COLOR)  # grey ones come back as 3 equal channels
        if img is None:
            raise EvalSourcesMissing(f"{root / name} missing from the scikit-image wheel")
        out.append(Photo(f"skimage:{name}", _fit(img, max_side)))
    return out


def _fit(img: np.ndarray, max_side: int) -> np.ndarray:
    import cv2

    k = max_side / max(img.shape[:2])
    return cv2.resize(img, None, fx=k, fy=k, interpolation=cv2.INTER_AREA) if k < 1 else img


def source_fingerprint(node_modules: Path | None = None) -> str:
    """What the built set depends on besides the builder's code: the npm lock file, the background
    files present, and the library versions that draw and encode pixels."""
    import cairosvg
    import cv2
    import skimage

    lock = (PROJECT_ROOT / "tools" / "logo-eval" / "package-lock.json")
    parts = [lock.read_text() if lock.exists() else "no-lock", cv2.__version__, cairosvg.__version__,
             skimage.__version__, str(node_modules or NODE_MODULES)]
    for d in DEBIAN_PHOTO_DIRS:
        parts += [f"{p.name}:{p.stat().st_size}" for p in sorted(Path(d).glob("*.jpg"))]
    parts += [f"{p}:{Path(p).stat().st_size}" for p in DEBIAN_PHOTO_FILES if Path(p).exists()]
    return "\n".join(parts)
