"""Decode untrusted image files into bounded BGR uint8 arrays, or fail with one clear, specific error.

Listing images are whatever a seller uploaded: truncated downloads, CMYK JPEGs, 16-bit or palette
PNGs, animated GIFs, WebP, SVG, and now and then a decompression bomb. Every one of them either
becomes an H×W×3 uint8 BGR array no larger than `max_side` on its longer side, or raises a subclass
of BadImage whose message says what is wrong — so a batch records a per-image error and goes on.

Limits are the crawler's (crawlers/images.py: IMAGES_MAX_BYTES, IMAGES_MAX_PIXELS), so an image the
crawler stored is never refused here. The pixel limit is checked from the header, before decoding;
JPEGs are decoded at 1/2…1/8 scale by libjpeg when that still gives ≥ max_side. Peak memory per image
is therefore at most about max_pixels × 4 bytes (160 MB at 40 Mpx, a full-size PNG), and the result
at most max_side² × 3 bytes.

SVG is refused, not rasterised: a vector file can reference external resources and cost unbounded
time to draw, and the crawler and the registry refuse it too.

    img = load_image("listing.jpg")          # LoadedImage(pixels=..., width=4000, height=3000, scale=0.512)
    img = load_image(b"...", max_side=1024)  # bytes work the same
    try: load_image(b"")
    except BadImage as e: print(e)           # empty file (0 bytes)
"""
from __future__ import annotations

import io
import os
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Same numbers as crawlers/images.py DEFAULT_MAX_BYTES / DEFAULT_MAX_PIXELS / DEFAULT_FORMATS (a unit
# test holds them equal; detectors may not import the crawler).
MAX_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000
FORMATS = ("JPEG", "MPO", "PNG", "GIF", "WEBP", "BMP", "TIFF", "AVIF")
MAX_SIDE = 2048  # what the detectors need; larger photos are downscaled after (or while) decoding


class BadImage(ValueError):
    """An image that cannot be used; the message is the per-image error reported."""


class EmptyImage(BadImage):
    """Zero bytes."""


class ImageTooLarge(BadImage):
    """More bytes than MAX_BYTES."""


class ImageBomb(BadImage):
    """More pixels than MAX_PIXELS declared in the header (a decompression bomb, or just huge)."""


class UnsupportedImage(BadImage):
    """Not a raster format we decode (SVG, HTML, PDF, unknown bytes)."""


class CorruptImage(BadImage):
    """A known format whose data is truncated or broken."""


@dataclass(frozen=True)
class LoadedImage:
    pixels: np.ndarray  # H×W×3 BGR uint8, at most max_side on the longer side
    width: int          # of the original image (after EXIF rotation)
    height: int
    scale: float        # pixels.shape[1] / width: divide boxes found in `pixels` by it
    format: str         # Pillow's format name, e.g. "JPEG"
    frames: int = 1     # >1 for an animated GIF/WebP; only the first frame is used


def read_bounded(path, max_bytes: int = MAX_BYTES) -> bytes:
    """The bytes of a regular file of at most max_bytes; BadImage otherwise (never reads more)."""
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise BadImage(f"file not found: {p}") from None
    except OSError as e:
        raise BadImage(f"cannot read {p}: {e.strerror}") from None
    if not stat.S_ISREG(st.st_mode):  # a FIFO or device would block or never end
        raise BadImage(f"not a regular file: {p}")
    if st.st_size > max_bytes:
        raise ImageTooLarge(f"too large: {st.st_size} bytes > {max_bytes}")
    try:
        with open(p, "rb") as f:
            return f.read(max_bytes + 1)
    except OSError as e:
        raise BadImage(f"cannot read {p}: {e.strerror}") from None


def load_image(source, *, max_side: int = MAX_SIDE, max_bytes: int = MAX_BYTES,
               max_pixels: int = MAX_PIXELS) -> LoadedImage:
    """Decode `source` (bytes or a path) into a LoadedImage; raises a BadImage subclass."""
    data = bytes(source) if isinstance(source, (bytes, bytearray, memoryview)) else read_bounded(source, max_bytes)
    if not data:
        raise EmptyImage("empty file (0 bytes)")
    if len(data) > max_bytes:
        raise ImageTooLarge(f"too large: {len(data)} bytes > {max_bytes}")
    head = data[:512].lstrip().lower()
    if head.startswith((b"<svg", b"<?xml", b"<!doctype", b"<html")) or b"<svg" in head:
        raise UnsupportedImage("SVG/XML/HTML markup, not a raster image (SVG is not decoded)")

    from PIL import Image, ImageOps, UnidentifiedImageError

    Image.init()
    allowed = [f for f in FORMATS if f in Image.OPEN]
    with warnings.catch_warnings():
        # Pillow's own bomb check is process-wide; ours below is per call and comes first in effect.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(data), formats=allowed)  # reads the header only
        except Image.DecompressionBombError as e:
            raise ImageBomb(f"too many pixels (decompression bomb): {e}") from None
        except UnidentifiedImageError:
            raise UnsupportedImage(f"not an image in a supported format ({', '.join(allowed)}); "
                                   f"starts with {data[:8]!r}") from None
        except Exception as e:  # noqa: BLE001 - a header so broken that the plugin itself fails
            raise CorruptImage(f"corrupt header: {type(e).__name__}: {e}") from None
        with im:
            fmt = im.format or "UNKNOWN"
            w, h = im.size
            if w <= 0 or h <= 0:
                raise CorruptImage(f"{fmt} declares {w}x{h} pixels")
            if w * h > max_pixels:
                raise ImageBomb(f"{fmt} declares {w}x{h} = {w * h} pixels > {max_pixels} (decompression bomb?)")
            frames = getattr(im, "n_frames", 1)
            try:
                if fmt in ("JPEG", "MPO") and max(w, h) > max_side:
                    im.draft(im.mode if im.mode in ("RGB", "L", "CMYK") else "RGB", (max_side, max_side))
                im.load()  # truncated or corrupt data fails here
                turned = im.getexif().get(0x0112) in (5, 6, 7, 8)  # shown rotated by 90°
                upright = ImageOps.exif_transpose(im)
                rgb = _to_rgb(upright)
            except BadImage:
                raise
            except Exception as e:  # noqa: BLE001 - Pillow raises OSError, SyntaxError, ValueError ...
                raise CorruptImage(f"truncated or corrupt {fmt}: {e}") from None
    ow, oh = (h, w) if turned else (w, h)
    return _bounded(rgb, ow, oh, fmt, frames, max_side)


def _to_rgb(im) -> np.ndarray:
    """H×W×3 uint8 RGB from any Pillow mode: 16-bit and float scaled, CMYK converted, alpha on white."""
    from PIL import Image

    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        a = np.asarray(im, dtype=np.float64)
        hi = 65535.0 if mode.startswith("I;16") or (mode == "I" and a.max(initial=0) > 255) else 255.0
        if mode == "F":
            lo, hi = float(a.min(initial=0)), float(a.max(initial=1))
            a = (a - lo) / (hi - lo or 1) * 255
        else:
            a = a * (255.0 / hi)
        g = np.clip(a + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(g[:, :, None], 3, axis=2)
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in im.info) \
            or (mode in ("L", "RGB") and "transparency" in im.info):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
    return np.asarray(im.convert("RGB"))


def _bounded(rgb: np.ndarray, w: int, h: int, fmt: str, frames: int, max_side: int) -> LoadedImage:
    import cv2

    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    k = max_side / max(bgr.shape[:2])
    if k < 1:
        bgr = cv2.resize(bgr, (max(1, round(bgr.shape[1] * k)), max(1, round(bgr.shape[0] * k))),
                         interpolation=cv2.INTER_AREA)
    return LoadedImage(bgr, w, h, bgr.shape[1] / w, fmt, frames)
