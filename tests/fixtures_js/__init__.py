"""A shop on 127.0.0.1 whose product data exists only after JavaScript runs.

The raw HTML of a product page has no <title>, no heading, no price and no JSON-LD: just an empty
`#app` and a deferred script that fetches /api/product/<id> (answered after API_DELAY seconds, so
the page's `load` event fires well before the data arrives) and then builds the title, the visible
price, the image and a schema.org Product/Offer JSON-LD block. The first results page links its
products in plain HTML; the second builds its item links in JavaScript too.

    with serve_js_shop() as base:            # "http://127.0.0.1:PORT"
        Path("sources.yaml").write_text(js_sources_yaml(base))
"""
from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator
from urllib.parse import parse_qs, urlsplit

import yaml

API_DELAY = 0.3  # seconds; longer than the gap between DOMContentLoaded and load

PRODUCTS = [
    {"id": "js-101", "page": 1, "title": "Sprite Runner 跑鞋 2026 (JS)", "brand": "SpriteRun",
     "price": "1299.00", "currency": "CNY", "shown": "¥1,299.00"},
    {"id": "js-102", "page": 1, "title": "Lumen Watch Classic 40mm", "brand": "Lumen",
     "price": "88.50", "currency": "USD", "shown": "US $88.50"},
    {"id": "js-103", "page": 2, "title": "Aurora Eau de Parfum 50ml", "brand": "Aurora",
     "price": "45.90", "currency": "EUR", "shown": "€ 45,90"},
]
PAGES = 2
REDIRECT_PATH = "/item/deal-of-the-day.html"

SOURCE_IDS = {"render": "js-shop-render", "idle": "js-shop-render-idle", "raw": "js-shop-raw"}
# Matches both page kinds once their scripts are done: product data / JS-built result links.
WAIT_FOR = 'script[type="application/ld+json"], ul.results a'

_PRODUCT_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<script src="/static/product.js" defer></script>
</head><body>
<nav><a href="/search?q=">Back to results</a></nav>
<div id="app" data-id="{id}"><p class="loading">Loading…</p></div>
<noscript>Please enable JavaScript.</noscript>
</body></html>
"""

_PRODUCT_JS = r"""
(function () {
  var app = document.getElementById('app');
  fetch('/api/product/' + encodeURIComponent(app.dataset.id))
    .then(function (r) { return r.json(); })
    .then(function (p) {
      document.title = p.title + ' | JS Shop';
      app.innerHTML = '';
      var h1 = document.createElement('h1'); h1.className = 'product-title'; h1.textContent = p.title;
      var price = document.createElement('span'); price.className = 'price'; price.textContent = p.shown;
      var img = document.createElement('img'); img.src = '/img/' + p.id + '.jpg'; img.alt = p.title;
      var buy = document.createElement('button'); buy.textContent = 'Buy now';
      [h1, img, price, buy].forEach(function (el) { app.appendChild(el); });
      var ld = document.createElement('script'); ld.type = 'application/ld+json';
      ld.textContent = JSON.stringify({
        '@context': 'https://schema.org', '@type': 'Product', name: p.title, sku: p.id,
        brand: {'@type': 'Brand', name: p.brand}, image: location.origin + '/img/' + p.id + '.jpg',
        offers: {'@type': 'Offer', price: p.price, priceCurrency: p.currency,
                 availability: 'https://schema.org/InStock'}
      });
      document.head.appendChild(ld);
    });
})();
"""

_RESULTS_STATIC = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Search results — JS Shop</title></head><body>
<ul class="results">{links}</ul>
<a rel="next" href="/search?q=&amp;page=2">Next</a>
</body></html>
"""

_RESULTS_JS_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Search results (2) — JS Shop</title></head><body>
<ul class="results" id="results"></ul>
<script>
fetch('/api/search?page={page}').then(function (r) {{ return r.json(); }}).then(function (items) {{
  var ul = document.getElementById('results');
  items.forEach(function (it) {{
    var li = document.createElement('li'), a = document.createElement('a');
    a.href = '/item/' + it.id + '.html'; a.textContent = it.title; li.appendChild(a); ul.appendChild(li);
  }});
}});
</script>
</body></html>
"""


def _product(pid: str) -> dict | None:
    return next((p for p in PRODUCTS if p["id"] == pid), None)


class _Handler(BaseHTTPRequestHandler):
    server_version = "cluewatch-js-fixture/0.1"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        url = urlsplit(self.path)
        path, query = url.path, parse_qs(url.query, keep_blank_values=True)
        self.server.hits.append(path)
        if path == "/robots.txt":
            return self._send(200, b"User-agent: *\nAllow: /\n", "text/plain")
        if path == "/search":
            page = int((query.get("page") or ["1"])[0] or 1)
            if page == 1:
                links = "".join(f'<li><a href="/item/{p["id"]}.html">{p["title"]}</a></li>'
                                for p in PRODUCTS if p["page"] == 1)
                if self.server.redirect_to:
                    links += f'<li><a href="{REDIRECT_PATH}">Deal of the day</a></li>'
                return self._html(_RESULTS_STATIC.format(links=links))
            if page <= PAGES:
                return self._html(_RESULTS_JS_HTML.format(page=page))
            return self._send(404, b"no such page", "text/plain")
        if path == "/api/search":
            page = int((query.get("page") or ["1"])[0])
            return self._json([{"id": p["id"], "title": p["title"]} for p in PRODUCTS if p["page"] == page])
        if path == REDIRECT_PATH and self.server.redirect_to:
            self.send_response(302)
            self.send_header("Location", self.server.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if path.startswith("/item/") and path.endswith(".html"):
            pid = path[len("/item/"):-len(".html")]
            if _product(pid) is None:
                return self._send(404, b"not found", "text/plain")
            return self._html(_PRODUCT_HTML.format(id=pid))
        if path == "/static/product.js":
            return self._send(200, _PRODUCT_JS.encode(), "application/javascript; charset=utf-8")
        if path.startswith("/api/product/"):
            product = _product(path.rsplit("/", 1)[1])
            if product is None:
                return self._send(404, b"{}", "application/json")
            time.sleep(API_DELAY)
            return self._json(product)
        if path.startswith("/img/"):
            return self._send(200, b"\xff\xd8\xff\xd9", "image/jpeg")
        return self._send(404, b"not found", "text/plain")

    def _html(self, text: str):
        self._send(200, text.encode("utf-8"), "text/html; charset=utf-8")

    def _json(self, value):
        self._send(200, json.dumps(value, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8")

    def _send(self, status: int, body: bytes, content_type: str):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def serve_js_shop(redirect_to: str | None = None) -> Iterator[str]:
    """Serve the JS shop on a free 127.0.0.1 port; yields its base URL. With `redirect_to`, the
    first results page also links REDIRECT_PATH, which answers 302 to that URL (an SSRF attempt).
    `.hits` on the server lists requested paths (exposed as serve_js_shop.last_server)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.hits = []
    server.redirect_to = redirect_to
    thread = threading.Thread(target=server.serve_forever, name="js-shop", daemon=True)
    thread.start()
    serve_js_shop.last_server = server
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def js_sources_yaml(base: str) -> str:
    """sources.yaml with the JS shop three times: rendered with a wait selector, rendered with
    network idle only, and not rendered."""
    common = lambda: {"kind": "ecommerce", "platform": "JS Shop (fixture)", "start_urls": [f"{base}/search?q="],
              "allowed_domains": ["127.0.0.1"], "schedule": None, "concurrency": 2, "download_delay": 0,
              "allow_private_addresses": True}  # fresh lists each time: no YAML aliases
    sources = [
        {"id": SOURCE_IDS["render"], **common(), "render": True, "selectors": {"render_wait_for": WAIT_FOR}},
        {"id": SOURCE_IDS["idle"], **common(), "render": True},
        {"id": SOURCE_IDS["raw"], **common(), "render": False},
    ]
    return yaml.safe_dump({"sources": sources}, allow_unicode=True, sort_keys=False)
