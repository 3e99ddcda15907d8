"""Evidence end to end: crawls (in a child process, real PostgreSQL) archive every listing page and
store every product image content-addressed with a thumbnail; bad images become per-image errors."""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import struct
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from PIL import Image

from crawlers.run import run_crawl_subprocess
from sinks.blobstore import LocalBlobStore

pytestmark = pytest.mark.service


def blob_files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def rows(db, query, *args):
    with db.cursor() as cur:
        cur.execute(query, args)
        return cur.fetchall()


@pytest.fixture
def home(tmp_path, monkeypatch):
    """CLUEWATCH_HOME for the crawl child (run_crawl_subprocess passes the environment on)."""
    home = tmp_path / "home"
    monkeypatch.setenv("CLUEWATCH_HOME", str(home))
    monkeypatch.delenv("CLUEWATCH_BLOB_STORE", raising=False)
    return home


def test_demo_shop_pages_archived_images_stored_and_recrawl_adds_no_blob(db_url, db, home, tmp_path):
    from cluewatch.demo_sites import demo_sources_yaml, serve_demo_sites

    blobs = LocalBlobStore(home / "blobs")
    with serve_demo_sites() as sites:
        sources = tmp_path / "sources.yaml"
        sources.write_text(demo_sources_yaml(sites), encoding="utf-8")
        first = run_crawl_subprocess(sources, "demo-shop", db_url, log=lambda line: None, timeout=120)
        after_first = blob_files(blobs.root)
        second = run_crawl_subprocess(sources, "demo-shop", db_url, log=lambda line: None, timeout=120)
    assert first["errors"] == 0 and first["stored_new_version"] > 0
    assert second["stored_new_version"] == 0
    assert blob_files(blobs.root) == after_first  # content-addressed: the same pages and images again

    versions = rows(db, "SELECT id, page_sha256, page_path, page_bytes FROM listing_versions")
    assert len(versions) == first["stored_new_version"]
    for _, sha, path, size in versions:
        page = gzip.decompress(blobs.get(path))
        assert hashlib.sha256(page).hexdigest() == sha and len(page) == size
        assert path.endswith(f"{sha}.html.gz") and b"<html" in page.lower()

    images = rows(db, "SELECT url, sha256, path, thumb_path, width, height, bytes, error FROM listing_images")
    assert images and all(error is None for *_, error in images)
    for url, sha, path, thumb_path, width, height, size, _ in images:
        original = blobs.get(path)
        assert hashlib.sha256(original).hexdigest() == sha and len(original) == size
        assert path == f"{sha[:2]}/{sha[2:4]}/{sha}.jpg"
        assert Image.open(io.BytesIO(original)).size == (width, height)
        thumb = Image.open(io.BytesIO(blobs.get(thumb_path)))
        assert thumb.format == "JPEG" and max(thumb.size) <= 256
        assert hashlib.sha256(blobs.get(thumb_path)).hexdigest() in thumb_path
    assert len(after_first) == len({v[2] for v in versions}) + len({i[2] for i in images}) + len({i[3] for i in images})


# ------------------------------------------------------------------ a shop with bad images, served here
def _png(width: int, height: int) -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _jpeg(color) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), color).save(buf, "JPEG")
    return buf.getvalue()


GOOD = _jpeg((10, 120, 200))
# An SVG behind a .jpg URL (extraction already skips *.svg URLs; CDNs often have no extension).
FILES = {
    "/img/good.jpg": ("image/jpeg", GOOD),
    "/img/corrupt.jpg": ("image/jpeg", GOOD[:600] + b"\xde\xad\xbe\xef" * 50),
    "/img/truncated.jpg": ("image/jpeg", GOOD[: len(GOOD) // 3]),
    "/img/bomb.png": ("image/png", _png(30000, 30000)),
    "/img/vector.jpg": ("image/svg+xml", b'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>'),
    "/img/empty.jpg": ("image/jpeg", b""),
    "/img/big.jpg": ("image/jpeg", b"\xff\xd8\xff" + b"\0" * (9 * 1024 * 1024)),
    "/robots.txt": ("text/plain", b"User-agent: *\nDisallow: /private/\n"),
}
IMAGES = ["/img/good.jpg", "/img/corrupt.jpg", "/img/truncated.jpg", "/img/bomb.png", "/img/vector.jpg",
          "/img/empty.jpg", "/img/missing.jpg", "/private/secret.jpg", "/img/big.jpg"]
EXPECTED_ERROR = {
    "/img/corrupt.jpg": "corrupt", "/img/truncated.jpg": "truncated", "/img/bomb.png": "too many pixels",
    "/img/vector.jpg": "not a raster image", "/img/empty.jpg": "empty", "/img/missing.jpg": "http 404",
    "/private/secret.jpg": "refused", "/img/big.jpg": "too large",
}


def _product(pid: str, images: list[str]) -> bytes:
    ld = {"@context": "https://schema.org", "@type": "Product", "name": f"Sprite 雪碧 330ml #{pid}",
          "image": images, "offers": {"@type": "Offer", "price": "3.50", "priceCurrency": "CNY"}}
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>Sprite #{pid}</title>'
            f'<script type="application/ld+json">{json.dumps(ld)}</script></head>'
            f'<body><h1>Sprite 雪碧 330ml #{pid}</h1></body></html>').encode("utf-8")


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/search":
            body, ctype = (b'<html><body><a class="item-link" href="/item/1.html">1</a>'
                           b'<a class="item-link" href="/item/2.html">2</a></body></html>'), "text/html"
        elif path == "/item/1.html":
            body, ctype = _product("1", IMAGES), "text/html; charset=utf-8"
        elif path == "/item/2.html":
            body, ctype = _product("2", ["/img/good.jpg"]), "text/html; charset=utf-8"
        elif path in FILES:
            ctype, body = FILES[path]
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # the crawler hangs up on big.jpg (over its size limit): expected


@pytest.fixture
def bad_image_shop():
    server = _QuietServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# inline 0: every page and image goes through the worker threads, as for pages over the limit or
# a remote blob store; by default these small pages and the repeated image are written inline.
@pytest.mark.parametrize("inline_bytes", [None, 0])
def test_bad_images_become_per_image_errors_and_the_listing_is_stored(db_url, db, home, tmp_path, bad_image_shop,
                                                                      inline_bytes):
    sources = tmp_path / "sources.yaml"
    sources.write_text(yaml.safe_dump({"sources": [{
        "id": "bad-images", "kind": "ecommerce", "platform": "BadImages", "start_urls": [f"{bad_image_shop}/search"],
        "allowed_domains": ["127.0.0.1"], "schedule": None, "concurrency": 4, "download_delay": 0,
        "allow_private_addresses": True, "selectors": {"item_links": "a.item-link"},
    }]}), encoding="utf-8")
    settings = {} if inline_bytes is None else {"CLUEWATCH_INLINE_BLOB_BYTES": inline_bytes}
    stats = run_crawl_subprocess(sources, "bad-images", db_url, log=lambda line: None, timeout=120,
                                 settings=settings)
    assert stats["stored_new_version"] == 2 and stats["finish_reason"] == "finished"
    assert stats["errors"] == 0  # bad images are the site's problem, not the crawl's

    blobs = LocalBlobStore(home / "blobs")
    stored = {ext: rows(db, """SELECT i.url, i.sha256, i.path, i.thumb_path, i.width, i.height, i.error
                               FROM listing_images i JOIN listing_versions v ON v.id = i.listing_version_id
                               JOIN listings l ON l.id = v.listing_id WHERE l.external_id = %s
                               ORDER BY i.position""", ext) for ext in ("1", "2")}
    assert [r[0] for r in stored["1"]] == [bad_image_shop + p for p in IMAGES]  # image_urls order
    by_path = {url[len(bad_image_shop):]: row for url, *row in stored["1"]}
    sha, path, thumb, width, height, error = by_path["/img/good.jpg"]
    assert error is None and (width, height) == (640, 480) and blobs.get(path) == GOOD
    for image_path, reason in EXPECTED_ERROR.items():
        sha, path, thumb, width, height, error = by_path[image_path]
        assert error and reason in error, (image_path, error)
        assert (path, thumb, width, height) == (None, None, None, None)
    # The same image on another listing: the same blob.
    assert stored["2"][0][2] == by_path["/img/good.jpg"][1]
    # Only good.jpg, its thumbnail and the two pages reached the store.
    assert len(blob_files(blobs.root)) == 4


# ------------------------------------------------------------------ the store, without a crawl
def test_store_writes_evidence_and_a_recrawl_only_completes_it(db):
    from sinks.listings import store_listing

    url = "http://127.0.0.1/img/a.jpg"
    listing = dict(source="s", external_id="1", url="http://127.0.0.1/i/1", title="雪碧", image_urls=[url, url + "?2"],
                   page_sha256="a" * 64, page_path="aa/aa/" + "a" * 64 + ".html.gz", page_bytes=1234,
                   images=[dict(url=url, error="http 503"), dict(url="http://elsewhere/x.jpg", path="zz")])
    first = store_listing(db, listing)
    good = dict(url=url, sha256="b" * 64, path="bb/bb/" + "b" * 64 + ".jpg", thumb_path="cc/cc/" + "c" * 64 + ".jpg",
                width=640, height=480, bytes=999, error=None)
    again = store_listing(db, {**listing, "page_sha256": "d" * 64, "page_path": "dd/dd/" + "d" * 64 + ".html.gz",
                               "images": [good, None]})
    db.commit()
    assert first.new_version and not again.new_version and again.version_id == first.version_id
    assert rows(db, "SELECT page_sha256, page_path, page_bytes FROM listing_versions") == [
        ("a" * 64, listing["page_path"], 1234)]  # the evidence first kept is never replaced
    assert rows(db, """SELECT position, sha256, path, thumb_path, width, height, bytes, error FROM listing_images
                       ORDER BY position""") == [
        (0, "b" * 64, good["path"], good["thumb_path"], 640, 480, 999, None),  # the failed image, now stored
        (1, None, None, None, None, None, None, None)]  # a result for another URL is not used
