"""JavaScript-rendered sources: `render: true` in sources.yaml fetches pages through headless Chromium.

How it fits together (crawlers.run applies `render_settings(source, settings)` to every crawl):

* scrapy-playwright's download handler replaces Scrapy's http/https handlers, driving the *system*
  Chromium (Debian package `chromium`, /usr/bin/chromium, or the binary named by
  $CLUEWATCH_CHROMIUM). Playwright's own browser download is never used.
* `RenderMiddleware` (a downloader middleware) marks the spider's page requests with
  `meta["playwright"] = True` and a wait step: the source's optional `selectors.render_wait_for`
  CSS selector, else network idle. The spiders are unchanged; the response body is the
  rendered DOM, so crawlers.extraction runs on it as on any page.
* robots.txt and media-pipeline downloads (callback NO_CALLBACK) keep the plain HTTP handler.
* The browser fetches sub-resources (scripts, XHR) and follows redirects itself, past Scrapy's
  middlewares, so `BrowserRequestGuard` applies the SSRF guard (crawlers.middlewares.url_problem,
  allow_private_addresses, CLUEWATCH_SSRF_ALLOWED_PRIVATE_ORIGINS) to every browser request and
  redirect hop; images, media and fonts are not fetched at all (image URLs still come from the
  DOM; the images pipeline downloads them through Scrapy).
* Rendered requests carry no If-None-Match / If-Modified-Since (Chromium aborts a navigation
  answered 304); unchanged pages are recognised by their content hash instead.
* Not enforced for the browser: DOWNLOAD_MAXSIZE and allowed_domains for sub-resources (shops
  load their scripts from CDNs).

A source without `render: true` gets no settings from here and never imports Playwright.
"""
from __future__ import annotations

import asyncio
import logging
import os
from urllib.parse import urlsplit

from scrapy.http.request import NO_CALLBACK

logger = logging.getLogger(__name__)

CHROMIUM_ENV = "CLUEWATCH_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
# --no-sandbox: crawl workers run as root in containers, where Chromium's sandbox cannot start.
# The background-networking/component/sync flags stop Chromium phoning Google (refused connections
# here, noise and leaks elsewhere); QUIC is off so all traffic is plain TCP we can reason about.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
)
HANDLER = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
ASYNCIO_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
MIDDLEWARE = "crawlers.rendering.RenderMiddleware"
MIDDLEWARE_ORDER = 950            # after the built-in ones (robots 100 … stats 850), before the handler
WAIT_FOR_KEY = "render_wait_for"  # optional CSS selector in a source's `selectors`
MAX_PAGES = 8                     # browser tabs open at once, whatever the source's concurrency
SETTLE_TIMEOUT_MS = 10_000        # longest wait for network idle / the wait_for selector
SKIPPED_RESOURCE_TYPES = frozenset({"image", "media", "font"})
CONDITIONAL_HEADERS = (b"If-None-Match", b"If-Modified-Since")
INSTALL_HINT = "JavaScript rendering needs Chromium: apt-get install chromium"


class RenderingUnavailable(RuntimeError):
    """A source asks for `render: true` but this machine cannot render (no Chromium / no package)."""


def chromium_path() -> str:
    """The Chromium binary to drive: $CLUEWATCH_CHROMIUM, else /usr/bin/chromium; must exist."""
    path = os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise RenderingUnavailable(
            f"{INSTALL_HINT} (no executable at {path}; or set {CHROMIUM_ENV} to a Chromium binary)")
    return path


def _require_scrapy_playwright() -> None:
    try:
        import scrapy_playwright.handler  # noqa: F401
    except ImportError as e:
        raise RenderingUnavailable(
            f"JavaScript rendering needs the Python package scrapy-playwright (pip install "
            f"scrapy-playwright): {e}") from e


def render_settings(source, settings=None) -> dict:
    """Scrapy settings that make `source` render through Chromium; {} unless `source.render`.

    With `settings` (the crawl's Settings so far), DOWNLOAD_HANDLERS and DOWNLOADER_MIDDLEWARES
    are returned merged with what is already there, so applying the result with
    `settings.setdict(..., priority="cmdline")` adds to those dicts instead of replacing them.
    Raises RenderingUnavailable when Chromium or scrapy-playwright is missing.
    """
    if not getattr(source, "render", False):
        return {}
    executable = chromium_path()
    _require_scrapy_playwright()
    handlers = dict(settings.getdict("DOWNLOAD_HANDLERS")) if settings is not None else {}
    middlewares = dict(settings.getdict("DOWNLOADER_MIDDLEWARES")) if settings is not None else {}
    timeout_s = settings.getfloat("DOWNLOAD_TIMEOUT", 30) if settings is not None else 30
    origins = settings.getlist("CLUEWATCH_SSRF_ALLOWED_PRIVATE_ORIGINS") if settings is not None else []
    handlers.update(http=HANDLER, https=HANDLER)
    middlewares[MIDDLEWARE] = MIDDLEWARE_ORDER
    return {
        "TWISTED_REACTOR": ASYNCIO_REACTOR,  # Scrapy's default since 2.13; Playwright needs it
        "DOWNLOAD_HANDLERS": handlers,
        "DOWNLOADER_MIDDLEWARES": middlewares,
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_LAUNCH_OPTIONS": {
            "executable_path": executable,
            "headless": True,
            "args": list(CHROMIUM_ARGS),
        },
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": timeout_s * 1000,
        "PLAYWRIGHT_MAX_CONTEXTS": 1,
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": max(1, min(int(source.concurrency or 1), MAX_PAGES)),
        # An object, not a dotted path: scrapy's load_object returns callables unchanged.
        "PLAYWRIGHT_ABORT_REQUEST": BrowserRequestGuard(
            allow_private_addresses=bool(source.allow_private_addresses),
            allowed_private_origins=origins),
    }


# --- which requests go through the browser -------------------------------------------------------

class RenderMiddleware:
    """Send the spider's page requests of a `render: true` source through Chromium.

    A request that already says `meta["playwright"]` (True or False) is left as it is; robots.txt
    and media downloads (callback NO_CALLBACK) and non-GET requests keep the plain handler.
    Runs after RecrawlMiddleware (560) and removes its conditional headers from rendered requests.
    """

    def __init__(self, crawler=None, settle_timeout_ms: float = SETTLE_TIMEOUT_MS):
        self.crawler = crawler
        self.settle_timeout_ms = settle_timeout_ms

    @classmethod
    def from_crawler(cls, crawler):
        nav_ms = crawler.settings.getfloat("PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT") or SETTLE_TIMEOUT_MS
        middleware = cls(crawler, settle_timeout_ms=min(SETTLE_TIMEOUT_MS, nav_ms))
        guard = middleware.guard
        if guard is not None:  # the final settings (crawlers.run --set comes after render_settings)
            guard.allowed_private_origins = tuple(
                crawler.settings.getlist("CLUEWATCH_SSRF_ALLOWED_PRIVATE_ORIGINS"))
            guard.stats = crawler.stats
        return middleware

    def process_request(self, request):
        # Scrapy 2.14+ no longer passes the spider to middlewares that do not require it.
        spider = getattr(self.crawler, "spider", None)
        source = getattr(spider, "source", None)
        if source is None or not getattr(source, "render", False):
            return None
        if not should_render(request):
            return None
        from scrapy_playwright.page import PageMethod

        wait_for = (getattr(source, "selectors", None) or {}).get(WAIT_FOR_KEY)
        guard = self.guard
        request.meta["playwright"] = True
        # Chromium aborts a navigation answered 304 (net::ERR_ABORTED, which scrapy-playwright then
        # waits out as a possible download): no conditional requests through the browser. An
        # unchanged page is still recognised, by its content hash, after rendering.
        for header in CONDITIONAL_HEADERS:
            request.headers.pop(header, None)
        if guard is not None:
            request.meta.setdefault("playwright_page_init_callback", guard.watch)
        request.meta.setdefault("playwright_page_methods", [
            PageMethod(settle, wait_for=wait_for, timeout_ms=self.settle_timeout_ms, guard=guard)])
        return None

    @property
    def guard(self) -> "BrowserRequestGuard | None":
        settings = getattr(self.crawler, "settings", None)
        guard = settings.get("PLAYWRIGHT_ABORT_REQUEST") if settings is not None else None
        return guard if isinstance(guard, BrowserRequestGuard) else None


def should_render(request) -> bool:
    if "playwright" in request.meta:
        return False
    if request.callback is NO_CALLBACK or request.meta.get("dont_obey_robotstxt"):
        return False  # robots.txt, images/files pipeline: bytes, not pages
    return request.method.upper() == "GET" and urlsplit(request.url).scheme in ("http", "https")


async def settle(page, *, wait_for: str | None = None, timeout_ms: float = SETTLE_TIMEOUT_MS,
                 guard: "BrowserRequestGuard | None" = None) -> None:
    """Let the page's scripts build it: until `wait_for` is in the DOM, else until network idle.

    `wait_for` (the source's `selectors.render_wait_for`) should match every kind of page the
    source renders (a CSS group such as `script[type="application/ld+json"], .result a` does):
    the page is taken as soon as it matches, without waiting for network idle (>= 500 ms of
    silence, never reached on pages that keep polling). Neither wait fails the request: after
    `timeout_ms` the page is returned as it stands and extraction decides what it holds (a removed
    listing, a captcha...). Only a redirect hop that `guard` refused fails it, with RefusedRequest
    (an IgnoreRequest): nothing from that page is extracted.
    """
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    try:
        if wait_for:
            await page.wait_for_selector(wait_for, state="attached", timeout=timeout_ms)
        else:
            await page.wait_for_load_state("networkidle", timeout=timeout_ms)
    except PlaywrightTimeout:
        logger.warning("rendering: %s not reached after %d ms, page taken as it is: %s",
                       repr(wait_for) if wait_for else "network idle", timeout_ms, page.url)
    if guard is not None:
        await guard.raise_if_refused(page)


# --- what the browser itself may fetch -----------------------------------------------------------

class BrowserRequestGuard:
    """The SSRF guard (crawlers.middlewares.url_problem) for requests Chromium makes itself.

    As PLAYWRIGHT_ABORT_REQUEST it is asked about every request the page routes (the document,
    scripts, XHR/fetch, frames) and returns True to abort: images, media and fonts always (not
    needed to build the DOM), and any URL the SSRF guard refuses for this source.

    Chromium follows redirects internally and does not route the hops, so `watch(page)` (the
    page init callback) also checks every redirect hop from the page's "request" events, and
    `raise_if_refused(page)` (called by `settle`) fails the download with RefusedRequest when one
    was refused. Limitation: such a hop's request has already been sent by then; what the guard
    guarantees is that nothing it returned is extracted or stored.
    """

    def __init__(self, allow_private_addresses: bool = False, allowed_private_origins=(),
                 skip_resource_types=SKIPPED_RESOURCE_TYPES, problem=None):
        self.allow_private_addresses = allow_private_addresses
        self.allowed_private_origins = tuple(allowed_private_origins)
        self.skip_resource_types = frozenset(skip_resource_types)
        self._problem = problem  # url -> reason or None (tests); default: the SSRF guard's url_problem
        self._cache: dict[str, str | None] = {}
        self._refused: dict[int, str] = {}
        self._pending: dict[int, list] = {}
        self.stats = None  # the crawl's stats collector, set by RenderMiddleware.from_crawler

    def __repr__(self) -> str:  # shows up in Scrapy's "Overridden settings" log line
        return (f"BrowserRequestGuard(allow_private_addresses={self.allow_private_addresses}, "
                f"allowed_private_origins={list(self.allowed_private_origins)})")

    @property
    def checks_addresses(self) -> bool:
        return not self.allow_private_addresses or bool(self.allowed_private_origins)

    async def problem(self, url: str) -> str | None:
        """Why the SSRF guard refuses `url` (None: fine). Non-http(s) URLs (data:, blob:) fetch
        nothing from the network and pass. Resolution runs in a thread; cached per origin."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not self.checks_addresses:
            return None
        key = f"{parts.scheme}://{parts.netloc}"
        if key not in self._cache:
            if self._problem is not None:
                self._cache[key] = self._problem(url)
            else:
                from crawlers.middlewares import url_problem

                self._cache[key] = await asyncio.to_thread(
                    url_problem, url, allow_private=self.allow_private_addresses,
                    allowed_private_origins=frozenset(self.allowed_private_origins))
        return self._cache[key]

    async def __call__(self, request) -> bool:
        if request.resource_type in self.skip_resource_types and not request.is_navigation_request():
            return True
        problem = await self.problem(request.url)
        if problem:
            logger.warning("rendering: SSRF guard refused browser request %s: %s", request.url, problem)
            self._count_refusal()
            return True
        return False

    # redirect hops ---------------------------------------------------------------------------
    async def watch(self, page, request=None) -> None:
        """playwright_page_init_callback: check the redirect hops of everything the page loads."""
        if not self.checks_addresses:
            return
        key = id(page)
        self._refused.pop(key, None)
        self._pending[key] = []

        def on_request(browser_request):
            if browser_request.redirected_from is not None:
                self._pending.setdefault(key, []).append(
                    asyncio.ensure_future(self._check_hop(key, browser_request.url)))

        page.on("request", on_request)

    async def _check_hop(self, key: int, url: str) -> None:
        problem = await self.problem(url)
        if problem:
            logger.warning("rendering: SSRF guard refused redirect hop %s: %s", url, problem)
            self._count_refusal()
            self._refused.setdefault(key, f"redirect to {url}: {problem}")

    def _count_refusal(self) -> None:
        if self.stats is not None:
            self.stats.inc_value("cluewatch/ssrf_refused")

    async def raise_if_refused(self, page) -> None:
        key = id(page)
        pending = self._pending.pop(key, [])
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        reason = self._refused.pop(key, None)
        if reason:
            from crawlers.middlewares import RefusedRequest

            raise RefusedRequest(f"SSRF guard refused {page.url}: {reason}")
