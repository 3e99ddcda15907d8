"""A shop that behaves like the real web at its worst, on 127.0.0.1.

/robots.txt            disallows /private/
/shop?page=1..3        paginated results (rel=next), linking items of three templates, the same
                       items on two pages, a disallowed item, a 404, and (hostile=True) an item
                       answering 500, one answering only after `slow_seconds`, and one redirecting
                       to another loopback port (`redirect_to`)
/search?q=             records the query, lists a1
/item/<id>.html        template A: JSON-LD Product/Offer (m1: no price; x1: broken HTML)
/products/<id>         template B: schema.org microdata
/dp/<id>               template C: plain HTML, a visible "¥ 199.00"
Item pages carry ETag and Last-Modified and answer 304 to a matching If-None-Match /
If-Modified-Since. State the tests change between crawls: `unlisted` (ids no list page links to),
`gone` (ids whose page answers 404), `failing_list_pages` (page numbers answering 500).
Every request is recorded in `hits` as (path_with_query, headers dict).
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator
from urllib.parse import parse_qs, urlsplit

LAST_MODIFIED = "Wed, 25 Nov 2026 08:00:00 GMT"

# id → (template, title, price or None)
ITEMS = {
    "a1": ("A", "Sprite 330ml x24", "48.00"),
    "a2": ("A", "Sprite Zero 500ml", "5.50"),
    "a3": ("A", "Coca-Cola 330ml x12", "39.90"),
    "a4": ("A", "Fanta Orange 2L", "8.80"),
    "m1": ("A", "Sprite gift box (price on request)", None),
    "x1": ("X", "Sprite 330ml broken page", "12.50"),
    "x2": ("Y", "Sprite 330ml truncated page", "13.50"),
    "b1": ("B", "Sprite Lemon-Lime 1.25L", "6.90"),
    "b2": ("B", "Sprite Cherry 330ml", "4.20"),
    "c1": ("C", "Sprite Vending Crate", "199.00"),
}
# page → paths it links (duplicates across pages on purpose)
PAGES = {
    1: ["/item/a1.html", "/item/a2.html", "/products/b1", "/private/item/p1.html", "/item/x1.html"],
    2: ["/item/a2.html", "/item/a3.html", "/products/b2", "/item/m1.html", "/dp/c1", "/item/nope.html",
        "/item/x2.html"],
    3: ["/item/a4.html", "/item/a1.html"],
}
HOSTILE_LINKS = ["/item/e500.html", "/item/slow.html", "/item/r1.html"]


def _item_id(path: str) -> str | None:
    for prefix, suffix in (("/item/", ".html"), ("/products/", ""), ("/dp/", "")):
        if path.startswith(prefix) and path.endswith(suffix):
            return path[len(prefix):len(path) - len(suffix)] or None
    return None


def _page(title: str, body: str, head: str = "") -> bytes:
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title>'
            f"{head}</head><body>{body}</body></html>").encode()


def item_page(item_id: str) -> bytes:
    template, title, price = ITEMS[item_id]
    if template == "A":
        offer = {"@type": "Offer", "priceCurrency": "CNY", "price": price} if price else {"@type": "Offer"}
        data = {"@context": "https://schema.org", "@type": "Product", "name": title, "brand": "Sprite",
                "image": f"/img/{item_id}.jpg", "offers": offer}
        head = f'<script type="application/ld+json">{json.dumps(data)}</script>'
        return _page(title, f'<h1>{title}</h1><img src="/img/{item_id}.jpg">', head)
    if template == "B":
        body = (f'<div itemscope itemtype="https://schema.org/Product"><h1 itemprop="name">{title}</h1>'
                f'<img itemprop="image" src="/img/{item_id}.jpg">'
                f'<div itemprop="offers" itemscope itemtype="https://schema.org/Offer">'
                f'<meta itemprop="priceCurrency" content="CNY"><span itemprop="price" content="{price}">'
                f'¥{price}</span></div></div>')
        return _page(title, body)
    if template == "C":
        return _page(title, f'<div class="goods"><h1>{title}</h1><p class="price">¥ {price}</p>'
                            f'<button>加入购物车</button></div>')
    if template == "X":  # broken HTML: unclosed tags, stray brackets, truncated mid-element
        return (f"<html><head><title>{title}</title><body><div class=main><h1>{title}<div class=price>"
                f"¥{price}<p><<<>>> <td></tr></table><div <img src=").encode()
    # Y: worse — even <title> is never closed, so parsers read the whole rest as the title
    return (f"<html><head><title>{title}<body><h1>{title}<div class=price>¥{price}<p><<<>>>").encode()


@dataclass
class HostileSite:
    hostile: bool = True
    slow_seconds: float = 3.0
    redirect_to: str | None = None     # base URL the r1 item redirects to
    unlisted: set = field(default_factory=set)
    gone: set = field(default_factory=set)
    failing_list_pages: set = field(default_factory=set)
    hits: list = field(default_factory=list)
    base_url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def paths(self) -> list[str]:
        return [path for path, _ in list(self.hits)]

    def handle(self, path: str, query: dict, headers: dict) -> tuple[int, dict, bytes]:
        if path == "/robots.txt":
            return 200, {"Content-Type": "text/plain"}, b"User-agent: *\nDisallow: /private/\n"
        if path == "/shop":
            number = int(query.get("page", "1") or 1)
            if number in self.failing_list_pages or number not in PAGES:
                return (500 if number in PAGES else 404), {}, b"list page unavailable"
            links = list(PAGES[number]) + (HOSTILE_LINKS if self.hostile and number == 3 else [])
            links = [link for link in links if _item_id(link) not in self.unlisted]
            rows = "".join(f'<li><a href="{link}">{link}</a></li>' for link in links)
            head = f'<link rel="next" href="/shop?page={number + 1}">' if number + 1 in PAGES else ""
            return 200, {}, _page(f"Results page {number}", f'<ul class="results">{rows}</ul>', head)
        if path == "/search":
            return 200, {}, _page(f"Search {query.get('q', '')}", '<a href="/item/a1.html">a1</a>')
        if path.startswith("/img/"):
            return 200, {"Content-Type": "image/jpeg"}, b"\xff\xd8\xff\xd9"
        if path == "/item/e500.html":
            return 500, {}, b"internal server error"
        if path == "/item/slow.html":
            time.sleep(self.slow_seconds)
            return 200, {}, _page("slow", "<h1>Sprite slow</h1>")
        if path == "/item/r1.html" and self.redirect_to:
            return 302, {"Location": f"{self.redirect_to}/item/a1.html"}, b""
        item_id = _item_id(path)
        if item_id not in ITEMS or item_id in self.gone:
            return 404, {}, _page("Not found", "<h1>404 商品不存在</h1>")
        body = item_page(item_id)
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        validators = {"ETag": etag, "Last-Modified": LAST_MODIFIED}
        if headers.get("if-none-match") == etag or (
                "if-none-match" not in headers and headers.get("if-modified-since") == LAST_MODIFIED):
            return 304, validators, b""
        return 200, validators, body


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet: the tests read site.hits
        pass

    def do_GET(self) -> None:
        site: HostileSite = self.server.site
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        with site._lock:
            site.hits.append((self.path, headers))
        try:
            status, extra, body = site.handle(url.path, query, headers)
        except Exception as e:  # a fixture bug shows up as a 500, not a hung socket
            status, extra, body = 500, {}, repr(e).encode()
        try:
            self.send_response(status)
            extra = {"Content-Type": "text/html; charset=utf-8", **extra}
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the crawler gave up (timeout)
            self.close_connection = True


@contextmanager
def serve_hostile_site(site: HostileSite | None = None) -> Iterator[HostileSite]:
    """Run `site` on a free 127.0.0.1 port for the block; site.base_url is set."""
    site = site or HostileSite()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.site = site
    site.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


def sources_yaml(base_url: str, *, source_id: str = "hostile", allow_private: bool = True,
                 host: str = "127.0.0.1", extra: str = "") -> str:
    """A sources.yaml with one ecommerce source crawling the site from /shop?page=1."""
    port = base_url.rsplit(":", 1)[1]
    return (f"sources:\n  - id: {source_id}\n    kind: ecommerce\n    platform: Hostile Shop\n"
            f"    start_urls: [\"http://{host}:{port}/shop?page=1\"]\n"
            f"    allowed_domains: [\"{host}\"]\n    concurrency: 4\n    download_delay: 0\n"
            f"    allow_private_addresses: {'true' if allow_private else 'false'}\n{extra}")
