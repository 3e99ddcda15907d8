"""Product images: downloaded by Scrapy's ImagesPipeline, checked, stored content-addressed, thumbnailed.

Design. Scrapy's own stores name a file after the SHA-1 of its *URL* and re-encode it as JPEG; evidence
needs the original bytes under the SHA-256 of those bytes. So `ListingImagesPipeline` keeps Scrapy's
machinery (scheduling through the downloader and its middlewares — robots.txt, SSRF guard, retries —,
per-crawl de-duplication of URLs, `image_urls` → results) and replaces what happens to a response:

* the original bytes go unchanged into the cluewatch blob store (`sinks.blobstore`, local directory or
  S3 by setting) under ``sha256(bytes)`` with the format's suffix — `file_path()` returns that key;
* a JPEG thumbnail (IMAGES_THUMBS, 256 px) goes into the same store, content-addressed too;
* decoding and thumbnailing run in a worker thread, off the reactor (an image whose bytes were
  checked recently is only written, on the reactor thread when the store is local: crawlers.blobs).

A content-addressed key is only known after the download, so there is no "already stored, skip the
download" check by URL (`media_to_download` returns None); a re-stored blob costs no extra bytes.

Limits (crawlers/settings.py): IMAGES_MAX_BYTES (per-request `download_maxsize`), IMAGES_MAX_PIXELS
(decompression-bomb guard: also Pillow's MAX_IMAGE_PIXELS, with DecompressionBombWarning an error),
IMAGES_MIN_WIDTH/HEIGHT (icons and tracking pixels are not product images), IMAGES_FORMATS (raster
formats Pillow may open; never EPS/PDF-style plugins that shell out), IMAGES_DECODE_THREADS (at most
this many decodes at once: 40 Mpx RGBA is 160 MB each). JPEGs are decoded at reduced scale
(``draft``) when only a thumbnail is needed; width/height are always the original's.

Every image URL yields one entry in the item's ``images`` list, in ``image_urls`` order:
``{"url", "sha256", "path", "thumb_path", "width", "height", "bytes", "error"}`` — a corrupt,
truncated, empty, oversized, bomb, SVG or refused image has ``error`` set and ``path`` None; the
listing is stored all the same and the crawl goes on.
"""
from __future__ import annotations

import hashlib
import io
import logging
import threading
import warnings
from dataclasses import dataclass

from itemadapter import ItemAdapter
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request
from scrapy.http.request import NO_CALLBACK
from scrapy.pipelines.images import ImagesPipeline

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_FORMATS = ("JPEG", "MPO", "PNG", "GIF", "WEBP", "BMP", "TIFF", "AVIF")
SUFFIX = {"JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png", "GIF": ".gif", "WEBP": ".webp", "BMP": ".bmp",
          "TIFF": ".tif", "AVIF": ".avif"}
RECENT_IMAGES = 256  # checked images remembered by content (thumbnails ~5-20 KB each)
RESULT_KEYS = ("url", "sha256", "path", "thumb_path", "width", "height", "bytes", "error")


class ImageRejected(Exception):
    """An image that is not stored; the message is the reason recorded in listing_images.error."""


try:  # Scrapy's media pipeline logs failures of this kind at DEBUG, without a traceback
    from scrapy.pipelines.media import _MediaRequestFiltered as _QuietFailure
except ImportError:  # pragma: no cover - a Scrapy without it logs the failure as an error
    from scrapy.pipelines.files import FileException as _QuietFailure


class ImageDownloadFailed(_QuietFailure):
    """A refused or failed image download: a per-image error, not a crawl error (logged at INFO)."""


@dataclass(frozen=True)
class CheckedImage:
    format: str
    width: int
    height: int
    thumbnail: bytes | None  # JPEG


def image_result(url: str, **values) -> dict:
    return {key: values.get(key) for key in RESULT_KEYS} | {"url": url}


def check_image(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, max_pixels: int = DEFAULT_MAX_PIXELS,
                min_width: int = 0, min_height: int = 0, thumb_size: int | None = 256,
                formats: tuple[str, ...] = DEFAULT_FORMATS) -> CheckedImage:
    """Decode `data` fully under limits and make a JPEG thumbnail; raise ImageRejected with the reason.

    Pure (no I/O, no global state): the pixel limit is checked from the header before any decoding,
    whatever Pillow's process-wide MAX_IMAGE_PIXELS is.

    >>> check_image(b"")
    Traceback (most recent call last):
    ...
    crawlers.images.ImageRejected: empty (0 bytes)
    """
    from PIL import Image, ImageOps, UnidentifiedImageError  # noqa: PLC0415

    if not data:
        raise ImageRejected("empty (0 bytes)")
    if len(data) > max_bytes:
        raise ImageRejected(f"too large: {len(data)} bytes > {max_bytes}")
    head = data[:512].lstrip().lower()
    if head.startswith((b"<svg", b"<?xml", b"<!doctype", b"<html")) or b"<svg" in head:
        raise ImageRejected("not a raster image (SVG/XML/HTML markup)")
    Image.init()  # registers every plugin, so Image.OPEN is complete
    allowed = [f for f in formats if f in Image.OPEN]
    try:
        image = Image.open(io.BytesIO(data), formats=allowed)  # reads the header only
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageRejected(f"too many pixels (decompression bomb): {e}") from None
    except UnidentifiedImageError:
        raise ImageRejected(f"not an image (or not one of {', '.join(allowed)})") from None
    except Exception as e:  # a header so broken the plugin itself fails
        raise ImageRejected(f"corrupt: {type(e).__name__}: {e}") from None
    with image:
        fmt = image.format or "UNKNOWN"
        width, height = image.size
        if width <= 0 or height <= 0 or width * height > max_pixels:
            raise ImageRejected(f"too many pixels: {width}x{height} > {max_pixels}")
        if width < min_width or height < min_height:
            raise ImageRejected(f"too small: {width}x{height} < {min_width}x{min_height}")
        try:
            if thumb_size and fmt in ("JPEG", "MPO"):
                # Let libjpeg decode at 1/2…1/8 scale (still ≥ the thumbnail): far less memory and
                # CPU, and the whole stream is still read, so truncation is still caught.
                image.draft(image.mode if image.mode in ("RGB", "L", "CMYK") else "RGB", (thumb_size, thumb_size))
            image.load()  # full decode: truncated or corrupt data fails here
            if image.getexif().get(0x0112) in (5, 6, 7, 8):  # displayed rotated by 90°
                width, height = height, width
            upright = ImageOps.exif_transpose(image)
            thumbnail = _thumbnail(upright, thumb_size) if thumb_size else None
        except Exception as e:
            raise ImageRejected(f"corrupt or truncated: {type(e).__name__}: {e}") from None
    return CheckedImage(format=fmt, width=width, height=height, thumbnail=thumbnail)


def _thumbnail(image, size: int) -> bytes:
    """A JPEG of at most size×size: alpha flattened on white, 16-bit/float scaled, CMYK converted."""
    from PIL import Image  # noqa: PLC0415

    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        image = image.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    elif image.mode in ("I", "F"):
        image = image.point(lambda v: v * (1 / 256)).convert("L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "RGBa", "La", "PA"):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        image = background
    elif image.mode != "RGB":
        image = image.convert("RGB")
    width, height = image.size
    scale = min(size / width, size / height)
    if scale < 1:
        # OpenCV's area interpolation: as good as Lanczos for shrinking, and ~20x faster than Pillow's
        # (2 ms of a crawl's ~12 ms CPU per listing went into Pillow's resize of one image).
        import cv2  # noqa: PLC0415
        import numpy as np  # noqa: PLC0415

        target = (max(1, round(width * scale)), max(1, round(height * scale)))
        image = Image.fromarray(cv2.resize(np.asarray(image), target, interpolation=cv2.INTER_AREA))
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=85)
    return buf.getvalue()


class _BlobFilesStore:
    """Scrapy's FilesStoreProtocol over a cluewatch BlobStore (used only if base-class code reaches it)."""

    def __init__(self, blobs):
        self.blobs = blobs

    def persist_file(self, path, buf, info, meta=None, headers=None):
        return self.blobs.put(buf.getvalue(), suffix="." + path.rsplit(".", 1)[-1] if "." in path else "")

    def stat_file(self, path, info):
        return {}


class ListingImagesPipeline(ImagesPipeline):
    """Scrapy's ImagesPipeline storing originals and thumbnails content-addressed (see module doc)."""

    def __init__(self, store_uri=None, download_func=None, *, crawler, blobs=None):
        from crawlers.blobs import crawl_blob_store, inline_limit  # noqa: PLC0415

        settings = crawler.settings
        self.blobs = blobs or crawl_blob_store(settings)
        self.inline_max = inline_limit(settings, self.blobs)
        super().__init__(store_uri or repr(self.blobs), crawler=crawler)
        self.max_bytes = settings.getint("IMAGES_MAX_BYTES", DEFAULT_MAX_BYTES)
        self.max_pixels = settings.getint("IMAGES_MAX_PIXELS", DEFAULT_MAX_PIXELS)
        self.formats = tuple(settings.getlist("IMAGES_FORMATS") or DEFAULT_FORMATS)
        self.decoding = threading.BoundedSemaphore(settings.getint("IMAGES_DECODE_THREADS", 2))
        self.thumb_size = max((max(size) for size in (self.thumbs or {}).values()), default=None)
        self._recently_checked: dict[str, CheckedImage] = {}  # insertion order = age
        self._recent_lock = threading.Lock()
        if settings.getbool("IMAGES_ALLOW_REDIRECTS", True):
            self._handle_statuses(True)  # CDNs redirect; the SSRF guard re-checks every hop
        _guard_pillow(self.max_pixels)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.get("IMAGES_STORE") or None, crawler=crawler)

    def _get_store(self, uri):
        return _BlobFilesStore(self.blobs)

    # -- requests ---------------------------------------------------------------------------------
    def get_media_requests(self, item, info):
        adapter = ItemAdapter(item)
        urls = adapter.get(self.images_urls_field) or []
        # Shops' CDNs often refuse image requests without the page as Referer (hotlink protection).
        headers = {"Referer": adapter["url"]} if adapter.get("url") else {}
        return [Request(u, callback=NO_CALLBACK, headers=headers,
                        meta={"download_maxsize": self.max_bytes, "download_warnsize": 0,
                              "allow_offsite": True})  # product images live on CDNs; SSRF guard still applies
                for u in urls if isinstance(u, str)]

    def media_to_download(self, request, info, *, item=None):
        return None  # the key comes from the bytes: always download (a re-put is free)

    def file_path(self, request, response=None, info=None, *, item=None):
        if response is None:
            return ""  # unknowable before the download
        return _original_key(response.body, "")

    # -- responses --------------------------------------------------------------------------------
    async def media_downloaded(self, response, request, info, *, item=None):
        from scrapy.utils.defer import maybe_deferred_to_future  # noqa: PLC0415
        from twisted.internet.threads import deferToThread  # noqa: PLC0415

        if response.status != 200:
            self.crawler.stats.inc_value("cluewatch/images/failed")
            return image_result(request.url, error=f"http {response.status}")
        self.inc_stats("downloaded")
        body = response.body
        # Hashed here only when it may be written here: a large image is hashed in the thread.
        digest = hashlib.sha256(body).hexdigest() if body and len(body) <= self.inline_max else None
        if digest is not None and digest in self._recently_checked:
            # Checked before (no decode): what is left is two idempotent local writes, cheaper
            # here than a hop to a worker thread (crawlers.blobs.inline_limit).
            result = self.store_image(request.url, body, digest)
        else:
            result = await maybe_deferred_to_future(deferToThread(self.store_image, request.url, body, digest))
        self.crawler.stats.inc_value("cluewatch/images/rejected" if result["error"] else "cluewatch/images/stored")
        return result

    def store_image(self, url: str, body: bytes, digest: str | None = None) -> dict:
        """Check and store one image (in a worker thread unless it was checked before); the
        per-image result. `digest` is the body's SHA-256 when the caller has it."""
        if digest is None and body:
            digest = hashlib.sha256(body).hexdigest()
        try:
            checked = self._recently_checked.get(digest) if digest else None
            if checked is None:
                with self.decoding:  # bounds the memory of concurrent decodes
                    checked = check_image(body, max_bytes=self.max_bytes, max_pixels=self.max_pixels,
                                          min_width=self.min_width, min_height=self.min_height,
                                          thumb_size=self.thumb_size, formats=self.formats)
                self._remember(digest, checked)
        except ImageRejected as e:
            logger.info("image not stored (%s): %s", e, url)
            return image_result(url, sha256=digest, bytes=len(body), error=str(e))
        try:
            path = self.blobs.put(body, suffix=SUFFIX.get(checked.format, ""), digest=digest)
            thumb_path = self.blobs.put(checked.thumbnail, suffix=".jpg") if checked.thumbnail else None
        except Exception as e:  # the store's fault (disk full, S3 down), not the image's: say so
            logger.error("could not store image %s: %s", url, e, exc_info=True)
            return image_result(url, sha256=digest, bytes=len(body), error=f"blob store failed: {e}"[:500])
        return image_result(url, sha256=digest, path=path, thumb_path=thumb_path, width=checked.width,
                            height=checked.height, bytes=len(body))

    def _remember(self, digest: str | None, checked: CheckedImage) -> None:
        """Keep the last RECENT_IMAGES checked images by content: listings reuse photos (one
        product photo on many listings, official photos on counterfeit ones), and the same bytes
        always decode to the same result, so they are decoded once."""
        if digest is None:
            return
        with self._recent_lock:
            self._recently_checked[digest] = checked
            while len(self._recently_checked) > RECENT_IMAGES:
                self._recently_checked.pop(next(iter(self._recently_checked)))

    def media_failed(self, failure, request, info):
        error = failure.value
        if isinstance(error, IgnoreRequest) or type(error).__name__ == "_MediaRequestFiltered":
            reason = f"refused: {error}" if str(error) else "refused"
        elif "max size" in str(error):  # Scrapy cancels a download over download_maxsize
            reason = f"too large: {error}"
        else:
            reason = f"download failed: {type(error).__name__}: {error}".rstrip(": ")
        self.crawler.stats.inc_value("cluewatch/images/failed")
        logger.info("image not downloaded (%s): %s", reason, request.url)
        raise ImageDownloadFailed(reason[:500])

    def item_completed(self, results, item, info):
        adapter = ItemAdapter(item)
        urls = [u for u in adapter.get(self.images_urls_field) or [] if isinstance(u, str)]
        images = []
        for url, (ok, value) in zip(urls, results):
            if ok:
                images.append({**value, "url": url})
            else:
                images.append(image_result(url, error=_failure_reason(value)))
        adapter[self.images_result_field] = images
        return item  # no base-class logging: it would print the whole item per failed image


def _failure_reason(failure) -> str:
    error = getattr(failure, "value", failure)
    return (str(error) or type(error).__name__)[:500]


def _original_key(body: bytes, suffix: str) -> str:
    from sinks.blobstore import blob_key  # noqa: PLC0415

    return blob_key(hashlib.sha256(body).hexdigest(), suffix)


_guarded = False


def _guard_pillow(max_pixels: int) -> None:
    """Process-wide second line of defence: Pillow's own bomb limit, its warning an error."""
    global _guarded
    from PIL import Image  # noqa: PLC0415

    Image.MAX_IMAGE_PIXELS = max_pixels
    if not _guarded:
        warnings.filterwarnings("error", category=Image.DecompressionBombWarning)
        _guarded = True
