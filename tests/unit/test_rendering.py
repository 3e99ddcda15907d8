"""crawlers.rendering without a browser: the settings a `render: true` source gets, which requests
the middleware sends through Chromium, the browser-side SSRF guard and the settle step."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import pytest
from scrapy import Request
from scrapy.http.request import NO_CALLBACK
from scrapy.settings import Settings

from cluewatch.model import SourceConfig
from crawlers import rendering
from crawlers.rendering import (
    ASYNCIO_REACTOR,
    CHROMIUM_ENV,
    HANDLER,
    INSTALL_HINT,
    MIDDLEWARE,
    BrowserRequestGuard,
    RenderingUnavailable,
    RenderMiddleware,
    render_settings,
    settle,
)


def source(**kw) -> SourceConfig:
    values = dict(id="js", kind="ecommerce", platform="JS", start_urls=("http://127.0.0.1:9/",),
                  allow_private_addresses=True, concurrency=3)
    values.update(kw)
    return SourceConfig(**values)


@pytest.fixture
def fake_chromium(tmp_path, monkeypatch):
    exe = tmp_path / "chromium"
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    monkeypatch.setenv(CHROMIUM_ENV, str(exe))
    return str(exe)


@pytest.fixture
def no_chromium(tmp_path, monkeypatch):
    monkeypatch.setenv(CHROMIUM_ENV, str(tmp_path / "missing" / "chromium"))


# --- settings ----------------------------------------------------------------------------------

def test_sources_without_render_get_nothing_and_need_no_browser(no_chromium):
    assert render_settings(source()) == {}
    assert render_settings(source(render=False), Settings()) == {}


def test_missing_chromium_says_how_to_install_it(no_chromium):
    with pytest.raises(RenderingUnavailable) as err:
        render_settings(source(render=True))
    assert INSTALL_HINT in str(err.value) and "apt-get install chromium" in str(err.value)
    assert CHROMIUM_ENV in str(err.value)


def test_render_settings_drive_the_system_chromium(fake_chromium):
    got = render_settings(source(render=True))
    assert got["DOWNLOAD_HANDLERS"] == {"http": HANDLER, "https": HANDLER}
    assert got["TWISTED_REACTOR"] == ASYNCIO_REACTOR
    assert got["DOWNLOADER_MIDDLEWARES"] == {MIDDLEWARE: rendering.MIDDLEWARE_ORDER}
    launch = got["PLAYWRIGHT_LAUNCH_OPTIONS"]
    assert launch["executable_path"] == fake_chromium and launch["headless"] is True
    for flag in ("--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--disable-quic"):
        assert flag in launch["args"]
    assert got["PLAYWRIGHT_MAX_PAGES_PER_CONTEXT"] == 3
    guard = got["PLAYWRIGHT_ABORT_REQUEST"]
    assert isinstance(guard, BrowserRequestGuard) and guard.allow_private_addresses is True


def test_render_settings_add_to_the_crawl_dicts_instead_of_replacing_them(fake_chromium):
    settings = Settings()
    settings.setmodule("crawlers.settings", priority="project")
    before = dict(settings.getdict("DOWNLOADER_MIDDLEWARES"))
    settings.set("DOWNLOAD_HANDLERS", {"ftp": None}, priority="project")
    settings.set("DOWNLOAD_TIMEOUT", 12, priority="cmdline")
    settings.set("CLUEWATCH_SSRF_ALLOWED_PRIVATE_ORIGINS", ["127.0.0.1:8000"], priority="cmdline")
    got = render_settings(source(render=True, allow_private_addresses=False), settings)
    assert got["DOWNLOADER_MIDDLEWARES"] == {**before, MIDDLEWARE: rendering.MIDDLEWARE_ORDER}
    assert got["DOWNLOAD_HANDLERS"] == {"ftp": None, "http": HANDLER, "https": HANDLER}
    assert got["PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT"] == 12_000
    guard = got["PLAYWRIGHT_ABORT_REQUEST"]
    assert (guard.allow_private_addresses, guard.allowed_private_origins) == (False, ("127.0.0.1:8000",))


def test_crawl_settings_apply_rendering_only_for_render_sources(fake_chromium):
    from crawlers.run import crawl_settings

    plain = crawl_settings(source())
    assert plain.getdict("DOWNLOAD_HANDLERS").get("http") != HANDLER
    assert MIDDLEWARE not in plain.getdict("DOWNLOADER_MIDDLEWARES")

    rendered = crawl_settings(source(render=True))
    assert rendered.getdict("DOWNLOAD_HANDLERS")["https"] == HANDLER
    middlewares = rendered.getdict("DOWNLOADER_MIDDLEWARES")
    assert MIDDLEWARE in middlewares
    # The project's own middlewares (e.g. the SSRF guard) are still there.
    assert set(plain.getdict("DOWNLOADER_MIDDLEWARES")) <= set(middlewares)
    assert rendered["PLAYWRIGHT_LAUNCH_OPTIONS"]["executable_path"] == fake_chromium


def test_crawl_of_a_render_source_without_chromium_fails_with_the_install_hint(tmp_path, no_chromium):
    sources = tmp_path / "sources.yaml"
    sources.write_text(textwrap.dedent("""\
        sources:
          - id: js-shop
            kind: ecommerce
            platform: JS
            start_urls: ["http://127.0.0.1:9/"]
            allow_private_addresses: true
            render: true
        """), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "crawlers.run", "--sources", str(sources), "--source", "js-shop"],
                          capture_output=True, text=True, timeout=60, env=dict(os.environ))
    assert proc.returncode != 0
    assert "JavaScript rendering needs Chromium: apt-get install chromium" in proc.stderr


# --- which requests are rendered -------------------------------------------------------------

def middleware(src, guard=None):
    settings = Settings({"PLAYWRIGHT_ABORT_REQUEST": guard} if guard else {})
    crawler = SimpleNamespace(spider=SimpleNamespace(source=src), settings=settings)
    return RenderMiddleware(crawler)


def page_request(url="http://127.0.0.1:9/item/1.html", **kw):
    return Request(url, callback=lambda r: None, **kw)


def test_page_requests_of_render_sources_go_through_the_browser():
    guard = BrowserRequestGuard(allow_private_addresses=False)
    src = source(render=True, selectors={"render_wait_for": "h1.title"})
    request = page_request()
    assert middleware(src, guard).process_request(request) is None
    assert request.meta["playwright"] is True
    (method,) = request.meta["playwright_page_methods"]
    assert method.method is settle
    assert method.kwargs["wait_for"] == "h1.title" and method.kwargs["guard"] is guard
    assert request.meta["playwright_page_init_callback"] == guard.watch


def test_rendered_requests_are_not_conditional():
    # Chromium aborts a navigation answered 304; RecrawlMiddleware's validators must not reach it.
    request = page_request(headers={"If-None-Match": '"v1"', "If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT",
                                    "Accept-Language": "zh-CN"})
    middleware(source(render=True)).process_request(request)
    assert request.meta["playwright"] is True
    assert b"If-None-Match" not in request.headers and b"If-Modified-Since" not in request.headers
    assert request.headers[b"Accept-Language"] == b"zh-CN"


def test_robots_media_non_get_and_explicit_choices_keep_the_plain_handler():
    mw = middleware(source(render=True))
    robots = Request("http://127.0.0.1:9/robots.txt", meta={"dont_obey_robotstxt": True}, callback=NO_CALLBACK)
    image = Request("http://127.0.0.1:9/img/1.jpg", callback=NO_CALLBACK)
    post = page_request(method="POST")
    opted_out = page_request(meta={"playwright": False})
    for request in (robots, image, post, opted_out):
        mw.process_request(request)
    assert [r.meta.get("playwright") for r in (robots, image, post, opted_out)] == [None, None, None, False]
    assert "playwright_page_methods" not in opted_out.meta


def test_sources_without_render_are_not_touched():
    request = page_request()
    middleware(source(render=False)).process_request(request)
    assert "playwright" not in request.meta


# --- browser-side SSRF guard -----------------------------------------------------------------

class FakeBrowserRequest:
    def __init__(self, url, resource_type="document", navigation=True, redirected_from=None):
        self.url, self.resource_type, self._nav = url, resource_type, navigation
        self.redirected_from = redirected_from

    def is_navigation_request(self):
        return self._nav


def run(coro):
    return asyncio.run(coro)


def test_guard_skips_images_fonts_and_media_but_not_documents():
    guard = BrowserRequestGuard(allow_private_addresses=True)
    assert run(guard(FakeBrowserRequest("http://x/a.jpg", "image", navigation=False))) is True
    assert run(guard(FakeBrowserRequest("http://x/f.woff2", "font", navigation=False))) is True
    assert run(guard(FakeBrowserRequest("http://x/app.js", "script", navigation=False))) is False
    assert run(guard(FakeBrowserRequest("http://x/page", "document"))) is False


def test_guard_refuses_private_addresses_through_the_ssrf_guard():
    guard = BrowserRequestGuard(allow_private_addresses=False)
    for url in ("http://127.0.0.1:8080/api", "http://169.254.169.254/latest/meta-data/", "http://[::1]/",
                "http://10.0.0.7/admin", "http://localhost/"):
        assert run(guard(FakeBrowserRequest(url, "fetch", navigation=False))) is True, url
    assert run(guard(FakeBrowserRequest("data:text/plain,hi", "fetch", navigation=False))) is False


def test_guard_with_allowed_private_addresses_checks_nothing():
    calls = []
    guard = BrowserRequestGuard(allow_private_addresses=True, problem=lambda url: calls.append(url))
    assert run(guard(FakeBrowserRequest("http://127.0.0.1/x", "xhr", navigation=False))) is False
    assert calls == []


# --- settle ----------------------------------------------------------------------------------

class FakePage:
    url = "http://127.0.0.1:9/item/1.html"

    def __init__(self, idle=True, selector=True):
        self.idle, self.selector, self.calls, self.handlers = idle, selector, [], {}

    async def wait_for_load_state(self, state, timeout):
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        self.calls.append(("load_state", state, timeout))
        if not self.idle:
            raise PlaywrightTimeout("not idle")

    async def wait_for_selector(self, selector, state, timeout):
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        self.calls.append(("selector", selector, timeout))
        if not self.selector:
            raise PlaywrightTimeout("no selector")

    def on(self, event, handler):
        self.handlers[event] = handler


def test_settle_takes_the_page_once_the_selector_matches_else_at_network_idle():
    page = FakePage(idle=False, selector=True)  # a page that keeps polling: the selector is the signal
    run(settle(page, wait_for="h1", timeout_ms=8000))
    assert page.calls == [("selector", "h1", 8000)]

    plain = FakePage()
    run(settle(plain, timeout_ms=8000))
    assert plain.calls == [("load_state", "networkidle", 8000)]


def test_settle_never_fails_the_page_on_a_timeout(caplog):
    run(settle(FakePage(selector=False), wait_for="h1", timeout_ms=10))
    run(settle(FakePage(idle=False), timeout_ms=10))
    assert [r.getMessage().split(" after")[0] for r in caplog.records] == [
        "rendering: 'h1' not reached", "rendering: network idle not reached"]


def test_settle_drops_a_page_whose_redirect_hop_the_guard_refuses():
    from crawlers.middlewares import RefusedRequest

    guard = BrowserRequestGuard(allow_private_addresses=False,
                                problem=lambda url: "loopback address" if "secret" in url else None)
    page = FakePage()

    async def scenario():
        await guard.watch(page)
        on_request = page.handlers["request"]
        on_request(FakeBrowserRequest("http://shop.example/go"))  # the first hop: the route saw it
        on_request(FakeBrowserRequest("http://127.0.0.1/secret", redirected_from=object()))
        await settle(page, timeout_ms=100, guard=guard)

    with pytest.raises(RefusedRequest, match="redirect to http://127.0.0.1/secret: loopback"):
        run(scenario())

    clean = FakePage()

    async def harmless():
        await guard.watch(clean)
        clean.handlers["request"](FakeBrowserRequest("http://shop.example/b", redirected_from=object()))
        await settle(clean, timeout_ms=100, guard=guard)

    run(harmless())  # no exception
