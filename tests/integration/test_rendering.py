"""`render: true` end to end: the JS fixture shop (tests.fixtures_js) crawled through scrapy-playwright
and the system Chromium, in a child process (crawlers.run.run_crawl_subprocess, JSONL output, no DB).

The same shop crawled with `render: false` yields no listing at all (the raw product pages have no
title, price or JSON-LD), which proves the browser did the work. A last test drives Chromium
directly to check that the SSRF guard catches a redirect hop the browser follows by itself.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from crawlers.rendering import CHROMIUM_ENV, DEFAULT_CHROMIUM, INSTALL_HINT
from crawlers.run import run_crawl_subprocess
from tests.fixtures_js import PRODUCTS, SOURCE_IDS, js_sources_yaml, serve_js_shop

pytestmark = pytest.mark.service


def _chromium() -> str | None:
    path = os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


@pytest.fixture(scope="module")
def chromium():
    """The Chromium binary; installed with apt-get when missing and we are root (as
    scripts/ensure-system-packages.sh does on CI); skipped only when that is impossible."""
    path = _chromium()
    if path is None and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        try:
            subprocess.run(["apt-get", "update", "-qq"], env=env, check=True, timeout=600, capture_output=True)
            subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], env=env, check=True, timeout=900,
                           capture_output=True)
        except (subprocess.SubprocessError, OSError):
            pass
        path = _chromium()
    if path is None:
        pytest.skip(f"{INSTALL_HINT}: no Chromium at {os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM} "
                    "and it could not be installed (not root, no apt-get, or no network to Debian)")
    return path


@pytest.fixture(scope="module")
def crawls(chromium, tmp_path_factory):
    """{key: (stats, items, log lines, seconds)} for the render, idle and raw sources of one shop."""
    tmp = tmp_path_factory.mktemp("js")
    results = {}
    with serve_js_shop() as base:
        sources = tmp / "sources.yaml"
        sources.write_text(js_sources_yaml(base), encoding="utf-8")
        for key, source_id in SOURCE_IDS.items():
            out = tmp / f"{source_id}.jsonl"
            logged: list[str] = []
            started = time.monotonic()
            stats = run_crawl_subprocess(sources, source_id, None, log=logged.append, output=out, timeout=180)
            seconds = time.monotonic() - started
            items = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
            results[key] = (stats, items, logged, seconds)
            print(f"{source_id}: {seconds:.1f} s, {stats}")
    return results


def _by_id(items):
    return {item["external_id"]: item for item in items}


@pytest.mark.parametrize("key", ["render", "idle"])
def test_rendered_crawl_extracts_what_javascript_built(crawls, key):
    stats, items, logged, _ = crawls[key]
    got = _by_id(items)
    # js-103 is linked only from a results page whose links are built in JavaScript too.
    assert sorted(got) == sorted(p["id"] for p in PRODUCTS)
    for product in PRODUCTS:
        item = got[product["id"]]
        assert item["title"] == product["title"]
        assert Decimal(item["price_low"]) == Decimal(item["price_high"]) == Decimal(product["price"])
        assert item["currency"] == product["currency"]
        assert item["brand"] == product["brand"]
        assert item["image_urls"] and item["image_urls"][0].endswith(f"/img/{product['id']}.jpg")
    assert (stats["errors"], stats["dropped"], stats["finish_reason"]) == (0, 0, "finished")
    assert any("Browser chromium launched" in line for line in logged)


def test_same_shop_without_rendering_yields_nothing(crawls):
    stats, items, logged, _ = crawls["raw"]
    assert items == []
    # The two product pages linked in plain HTML were fetched, and had no title to extract;
    # the JS-built second results page gave no links at all.
    assert stats["dropped"] == sum(1 for p in PRODUCTS if p["page"] == 1)
    assert stats["errors"] == 0 and stats["finish_reason"] == "finished"
    assert not any("playwright" in line.lower() for line in logged)


def test_no_page_waits_out_the_timeout(crawls):
    for key in ("render", "idle"):
        _, _, logged, _ = crawls[key]
        assert not any("not reached after" in line for line in logged), key


# --- the SSRF guard against a redirect the browser follows itself ---------------------------------

class _Redirector(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/go":
            self.send_response(302)
            self.send_header("Location", self.server.target)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b"<html><body><h1>internal secret</h1></body></html>"
        self.server.secret_hits += 1
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_guard_refuses_a_redirect_hop_chromium_follows_itself(chromium):
    import asyncio

    from playwright.async_api import async_playwright

    from crawlers.middlewares import RefusedRequest
    from crawlers.rendering import CHROMIUM_ARGS, BrowserRequestGuard, settle

    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _Redirector) for _ in range(2)]
    front, internal = servers
    for server in servers:
        server.secret_hits = 0
        threading.Thread(target=server.serve_forever, daemon=True).start()
    front.target = f"http://127.0.0.1:{internal.server_address[1]}/secret"
    internal_origin = f"127.0.0.1:{internal.server_address[1]}"
    # Only the front server's origin counts as allowed, like CLUEWATCH_SSRF_ALLOWED_PRIVATE_ORIGINS.
    guard = BrowserRequestGuard(
        allow_private_addresses=True, allowed_private_origins=[f"127.0.0.1:{front.server_address[1]}"],
        problem=lambda url: "loopback address (test)" if internal_origin in url else None)

    async def visit():
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=list(CHROMIUM_ARGS))
            try:
                page = await browser.new_page()
                await guard.watch(page)
                await page.goto(f"http://127.0.0.1:{front.server_address[1]}/go")
                await settle(page, timeout_ms=5000, guard=guard)
            finally:
                await browser.close()

    try:
        with pytest.raises(RefusedRequest, match="redirect to http://127.0.0.1:.*/secret"):
            asyncio.run(visit())
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


class _Internal(BaseHTTPRequestHandler):
    """An "internal" service on another loopback port: a page that would extract as a listing."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.hits.append(self.path)
        body = ('<html><head><title>Internal admin</title><script type="application/ld+json">'
                '{"@type":"Product","name":"INTERNAL SECRET","offers":{"price":"1","priceCurrency":"USD"}}'
                '</script></head><body><h1>INTERNAL SECRET</h1></body></html>').encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_rendered_crawl_drops_a_page_redirected_to_a_refused_address(chromium, tmp_path):
    """The listing link answers 302 to another loopback port. Only the shop's own origin is allowed
    (CLUEWATCH_SSRF_ALLOWED_PRIVATE_ORIGINS), so Scrapy's SSRF guard lets the link through and the
    browser follows the redirect itself; the browser-side guard must drop that page."""
    internal = ThreadingHTTPServer(("127.0.0.1", 0), _Internal)
    internal.hits = []
    threading.Thread(target=internal.serve_forever, daemon=True).start()
    try:
        with serve_js_shop(redirect_to=f"http://127.0.0.1:{internal.server_address[1]}/admin") as base:
            sources = tmp_path / "sources.yaml"
            sources.write_text(js_sources_yaml(base), encoding="utf-8")
            out = tmp_path / "items.jsonl"
            logged: list[str] = []
            stats = run_crawl_subprocess(
                sources, SOURCE_IDS["render"], None, log=logged.append, output=out, timeout=180,
                settings={"CLUEWATCH_SSRF_ALLOWED_PRIVATE_ORIGINS": [base.split("//", 1)[1]]})
    finally:
        internal.shutdown()
        internal.server_close()
    items = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(i["external_id"] for i in items) == sorted(p["id"] for p in PRODUCTS)
    assert not any("INTERNAL" in (i["title"] or "") for i in items)
    assert any("SSRF guard refused redirect hop" in line for line in logged), "\n".join(logged[-40:])
    assert stats["ssrf_refused"] >= 1
