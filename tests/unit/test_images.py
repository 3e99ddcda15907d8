"""crawlers.images.check_image on images made here with Pillow (and hand-made bytes), plus the
pipeline's per-image results without a crawl."""
from __future__ import annotations

import hashlib
import io
import struct
import zlib

import pytest
from PIL import Image

from crawlers.images import ImageDownloadFailed, ImageRejected, ListingImagesPipeline, check_image


def encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kwargs)
    return buf.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int) -> bytes:
    """A ~100-byte PNG whose header claims width×height (a decompression bomb's calling card)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def thumb_of(result) -> Image.Image:
    thumb = Image.open(io.BytesIO(result.thumbnail))
    assert thumb.format == "JPEG" and thumb.mode == "RGB"
    return thumb


JPEG = encode(Image.new("RGB", (800, 600), (200, 30, 30)), "JPEG")


def test_jpeg_size_and_thumbnail():
    result = check_image(JPEG)
    assert (result.format, result.width, result.height) == ("JPEG", 800, 600)
    assert thumb_of(result).size == (256, 192)


@pytest.mark.parametrize("name, data, fmt, size", [
    ("cmyk jpeg", encode(Image.new("CMYK", (300, 200), (0, 255, 255, 0)), "JPEG"), "JPEG", (300, 200)),
    ("16-bit png", encode(Image.new("I;16", (120, 90), 40000), "PNG"), "PNG", (120, 90)),
    ("palette png", encode(Image.new("RGB", (100, 100), (0, 128, 0)).convert("P"), "PNG"), "PNG", (100, 100)),
    ("rgba png", encode(Image.new("RGBA", (64, 64), (0, 0, 0, 0)), "PNG"), "PNG", (64, 64)),
    ("webp", encode(Image.new("RGB", (400, 400), "blue"), "WEBP"), "WEBP", (400, 400)),
])
def test_awkward_but_valid_images_are_thumbnailed(name, data, fmt, size):
    result = check_image(data)
    assert (result.format, (result.width, result.height)) == (fmt, size)
    thumb = thumb_of(result)
    assert max(thumb.size) == min(256, max(size))


def test_16_bit_png_is_scaled_not_clipped_to_white():
    result = check_image(encode(Image.new("I;16", (60, 60), 40000), "PNG"))
    assert 140 < thumb_of(result).getpixel((30, 30))[0] < 170  # 40000/256 ≈ 156, not 255


def test_transparent_png_is_flattened_on_white():
    result = check_image(encode(Image.new("RGBA", (64, 64), (0, 0, 0, 0)), "PNG"))
    assert min(thumb_of(result).getpixel((10, 10))) > 245


def test_animated_gif_first_frame():
    frames = [Image.new("P", (80, 60), i * 40) for i in range(4)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    result = check_image(buf.getvalue())
    assert (result.format, result.width, result.height) == ("GIF", 80, 60)
    assert thumb_of(result).size == (80, 60)


def test_exif_orientation_applied_to_reported_size():
    image = Image.new("RGB", (400, 200), "white")
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° CW to display
    result = check_image(encode(image, "JPEG", exif=exif))
    assert (result.width, result.height) == (200, 400)


def test_large_jpeg_decoded_small_but_reported_at_full_size():
    image = Image.new("RGB", (3000, 2000), "white")
    exif = image.getexif()
    exif[0x0112] = 8
    result = check_image(encode(image, "JPEG", exif=exif))
    assert (result.width, result.height) == (2000, 3000)
    assert thumb_of(result).size == (171, 256)


@pytest.mark.parametrize("name, data, reason", [
    ("zero bytes", b"", "empty"),
    ("html", b"<!DOCTYPE html><html><body>404</body></html>", "not a raster image"),
    ("svg", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
     "not a raster image"),
    ("bare svg", b'<svg xmlns="http://www.w3.org/2000/svg"><rect width="9" height="9"/></svg>', "not a raster image"),
    ("random bytes", bytes(range(256)) * 8, "not an image"),
    ("truncated jpeg", JPEG[: len(JPEG) // 2], "truncated"),
    ("corrupt png", encode(Image.new("RGB", (50, 50), "red"), "PNG")[:60] + b"\0" * 200, "corrupt"),
    ("bomb png 30000x30000", png_declaring(30000, 30000), "too many pixels"),
    ("huge png under Pillow's own limit", png_declaring(8000, 8000), "too many pixels"),
    ("tiny tracking pixel", encode(Image.new("RGB", (1, 1)), "GIF"), "too small"),
])
def test_bad_images_rejected_with_a_reason(name, data, reason):
    with pytest.raises(ImageRejected, match=reason):
        check_image(data, min_width=32, min_height=32, max_pixels=40_000_000)


def test_size_limit():
    with pytest.raises(ImageRejected, match="too large"):
        check_image(JPEG, max_bytes=len(JPEG) - 1)


def test_eps_plugin_never_used():
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"
    with pytest.raises(ImageRejected, match="not an image"):
        check_image(eps)


# -------------------------------------------------------------------------- the pipeline, no crawl
@pytest.fixture
def pipeline(tmp_path):
    from scrapy.utils.test import get_crawler

    from sinks.blobstore import LocalBlobStore

    crawler = get_crawler(settings_dict={"IMAGES_THUMBS": {"256": (256, 256)}, "IMAGES_MIN_WIDTH": 32,
                                         "IMAGES_MIN_HEIGHT": 32, "IMAGES_MAX_PIXELS": 40_000_000})
    crawler.stats = type("Stats", (dict,), {"inc_value": lambda self, k, n=1: self.__setitem__(k, self.get(k, 0) + n)})()
    return ListingImagesPipeline(crawler=crawler, blobs=LocalBlobStore(tmp_path))


def test_pipeline_stores_original_bytes_content_addressed(pipeline):
    result = pipeline.store_image("http://shop/img/1.jpg", JPEG)
    digest = hashlib.sha256(JPEG).hexdigest()
    assert result["sha256"] == digest and result["path"] == f"{digest[:2]}/{digest[2:4]}/{digest}.jpg"
    assert pipeline.blobs.get(result["path"]) == JPEG  # the original, not a re-encoding
    thumb = Image.open(io.BytesIO(pipeline.blobs.get(result["thumb_path"])))
    assert max(thumb.size) == 256
    assert (result["width"], result["height"], result["bytes"], result["error"]) == (800, 600, len(JPEG), None)
    assert pipeline.store_image("http://mirror/same.jpg", JPEG)["path"] == result["path"]


def test_same_bytes_decoded_once_and_stored_again_if_the_blob_went(pipeline, monkeypatch):
    import crawlers.images as images

    decodes = []
    real = images.check_image
    monkeypatch.setattr(images, "check_image", lambda data, **kw: decodes.append(1) or real(data, **kw))
    first = pipeline.store_image("http://shop/a.jpg", JPEG)
    pipeline.blobs.path(first["thumb_path"]).unlink()  # e.g. housekeeping removed it meanwhile
    second = pipeline.store_image("http://shop/b.jpg", JPEG)
    assert len(decodes) == 1
    assert {k: v for k, v in second.items() if k != "url"} == {k: v for k, v in first.items() if k != "url"}
    assert pipeline.blobs.exists(second["thumb_path"]) and pipeline.blobs.exists(second["path"])
    other = encode(Image.new("RGB", (300, 300), "red"), "JPEG")
    assert pipeline.store_image("http://shop/c.jpg", other)["sha256"] != first["sha256"]
    assert len(decodes) == 2


def test_pipeline_records_a_rejected_image_and_stores_nothing(pipeline, tmp_path):
    result = pipeline.store_image("http://shop/img/bomb.png", png_declaring(30000, 30000))
    assert result["path"] is None and result["thumb_path"] is None and "too many pixels" in result["error"]
    assert result["sha256"] and result["bytes"] > 0
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_item_completed_keeps_image_urls_order_and_records_failures(pipeline):
    from scrapy.exceptions import IgnoreRequest
    from twisted.python.failure import Failure

    from crawlers.items import Listing

    ok = pipeline.store_image("http://a/1.jpg", JPEG)
    try:
        pipeline.media_failed(Failure(IgnoreRequest("private address 10.0.0.1")), _request("http://b/2.jpg"), None)
    except ImageDownloadFailed as e:
        refused = Failure(e)
    item = Listing(image_urls=["http://a/1.jpg", "http://b/2.jpg"])
    pipeline.item_completed([(True, ok), (False, refused)], item, None)
    assert [i["url"] for i in item["images"]] == item["image_urls"]
    assert item["images"][0]["path"] and item["images"][1]["error"] == "refused: private address 10.0.0.1"


def _request(url):
    from scrapy import Request

    return Request(url)
