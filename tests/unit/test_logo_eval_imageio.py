"""detectors.imageio: every kind of bad or awkward image file, generated here, gives pixels or one
specific BadImage subclass with a clear message."""
from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from detectors import imageio as iio
from detectors.imageio import (BadImage, CorruptImage, EmptyImage, ImageBomb, ImageTooLarge, UnsupportedImage,
                               load_image)


def _encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _photo(w=64, h=48) -> Image.Image:
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([x * 255 // w, y * 255 // h, np.full_like(x, 90)], -1).astype(np.uint8)
    return Image.fromarray(rgb)


def test_limits_are_the_crawlers():
    from crawlers import images

    assert (iio.MAX_BYTES, iio.MAX_PIXELS, iio.FORMATS) == (
        images.DEFAULT_MAX_BYTES, images.DEFAULT_MAX_PIXELS, images.DEFAULT_FORMATS)


def test_plain_jpeg_gives_bgr_uint8():
    img = load_image(_encode(_photo(), "JPEG", quality=95))
    assert img.pixels.shape == (48, 64, 3) and img.pixels.dtype == np.uint8
    assert img.format == "JPEG" and img.scale == 1.0
    # BGR order: the red ramp (x) is in channel 2.
    assert img.pixels[24, 60, 2] > 200 and img.pixels[24, 60, 0] < 120


def test_zero_bytes():
    with pytest.raises(EmptyImage, match="0 bytes"):
        load_image(b"")


def test_truncated_jpeg():
    data = _encode(_photo(200, 200), "JPEG")
    with pytest.raises(CorruptImage, match="truncated or corrupt JPEG"):
        load_image(data[: len(data) // 2])


def test_garbage_bytes():
    with pytest.raises(UnsupportedImage, match="not an image"):
        load_image(b"\x00\x01garbage" * 50)


def test_corrupt_png_chunk():
    data = bytearray(_encode(_photo(), "PNG"))
    data[60:80] = b"\xff" * 20  # inside the IDAT stream
    with pytest.raises(CorruptImage):
        load_image(bytes(data))


def test_cmyk_jpeg_converted():
    cmyk = Image.new("CMYK", (40, 30), (0, 255, 255, 0))  # pure red in CMYK
    img = load_image(_encode(cmyk, "JPEG"))
    b, g, r = img.pixels[15, 20]
    assert r > 200 and g < 60 and b < 60


def test_16_bit_png_scaled():
    arr = np.full((20, 30), 40000, np.uint16)
    img = load_image(_encode(Image.fromarray(arr), "PNG"))
    assert img.pixels.dtype == np.uint8
    assert abs(int(img.pixels[5, 5, 0]) - 40000 * 255 // 65535) <= 1


def test_palette_with_transparency_on_white():
    p = Image.new("P", (10, 10), 0)
    p.putpalette([0, 0, 0] * 256)
    p.info["transparency"] = 0
    img = load_image(_encode(p, "PNG", transparency=0))
    assert (img.pixels == 255).all()  # fully transparent → the white it is shown on


def test_rgba_alpha_flattened():
    rgba = Image.new("RGBA", (10, 10), (0, 0, 255, 128))  # half-transparent blue
    b, g, r = load_image(_encode(rgba, "PNG")).pixels[0, 0]
    assert b == 255 and 120 <= g <= 135 and 120 <= r <= 135


def test_animated_gif_first_frame():
    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=50)
    img = load_image(buf.getvalue())
    assert img.frames == 3
    b, g, r = img.pixels[8, 8]
    assert r > 200 and g < 50 and b < 50


def test_webp():
    img = load_image(_encode(_photo(), "WEBP", quality=90))
    assert img.format == "WEBP" and img.pixels.shape == (48, 64, 3)


def test_svg_refused():
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
    with pytest.raises(UnsupportedImage, match="SVG"):
        load_image(svg)


def _png_header_only(w: int, h: int) -> bytes:
    """A PNG declaring w×h pixels with almost no data: a decompression bomb's header."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) \
        + chunk(b"IEND", b"")


def test_decompression_bomb_refused_from_header():
    with pytest.raises(ImageBomb, match="pixels"):
        load_image(_png_header_only(100_000, 100_000))
    with pytest.raises(ImageBomb, match="50000x1000"):
        load_image(_png_header_only(50_000, 1_000))  # 50 Mpx: over our limit, under Pillow's


def test_too_many_bytes(tmp_path):
    p = tmp_path / "big.jpg"
    p.write_bytes(b"\xff\xd8\xff" + b"\0" * 100)
    with pytest.raises(ImageTooLarge, match="103 bytes > 50"):
        load_image(p, max_bytes=50)


def test_large_image_downscaled_and_scale_reported(tmp_path):
    p = tmp_path / "wide.png"
    p.write_bytes(_encode(_photo(3000, 1000), "PNG"))
    img = load_image(p, max_side=1000)
    assert img.pixels.shape == (333, 1000, 3) and (img.width, img.height) == (3000, 1000)
    assert img.scale == pytest.approx(1 / 3)


def test_large_jpeg_decoded_reduced():
    img = load_image(_encode(_photo(4000, 3000), "JPEG"), max_side=500)
    assert max(img.pixels.shape[:2]) == 500 and (img.width, img.height) == (4000, 3000)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(BadImage, match="not found"):
        load_image(tmp_path / "nope.jpg")
    with pytest.raises(BadImage, match="not a regular file"):
        load_image(tmp_path)


def test_exif_rotation_applied():
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated 90° clockwise
    img = load_image(_encode(_photo(60, 20), "JPEG", exif=exif.tobytes()))
    assert img.pixels.shape[:2] == (60, 20) and (img.width, img.height) == (20, 60)
