"""Serve the demo sites on 127.0.0.1, each on its own free port, from daemon threads."""
from __future__ import annotations

import logging
import threading
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator
from urllib.parse import parse_qs, unquote, urlsplit

from cluewatch.demo_sites.catalogue import load_catalogue_data
from cluewatch.demo_sites.fair import FairSite
from cluewatch.demo_sites.html import Response
from cluewatch.demo_sites.market import MarketSite
from cluewatch.demo_sites.shop import ShopSite
from cluewatch.demo_sites.site import DemoSite

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoSites:
    """Base URLs of the running demo sites, e.g. shop = "http://127.0.0.1:40123"."""

    shop: str
    fair: str
    market: str

    @property
    def ports(self) -> dict[str, int]:
        """{"shop": 40123, ...}: pass back as `serve_demo_sites(ports=...)` to keep the URLs."""
        return {key: int(getattr(self, key).rsplit(":", 1)[1]) for key in ("shop", "fair", "market")}


class _Handler(BaseHTTPRequestHandler):
    server_version = "cluewatch-demo/0.1"
    protocol_version = "HTTP/1.1"  # keep-alive, like real sites; every response sets Content-Length

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def _respond(self, send_body: bool) -> None:
        site: DemoSite = self.server.site
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        try:
            response = site.handle(unquote(url.path), query, self.server.base_url)
        except Exception:  # a fixture bug must show up as a 500 in the crawl, not a hung socket
            logger.exception("demo site %s failed on %s", site.key, self.path)
            response = Response(500, b"internal error", "text/plain; charset=utf-8")
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(response.body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        logger.debug("%s %s", self.server.site.key, format % args)


class _SiteServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, site: DemoSite, host: str, port: int = 0):
        super().__init__((host, port), _Handler)
        self.site = site
        self.base_url = f"http://{host}:{self.server_address[1]}"


@contextmanager
def _running(server: _SiteServer) -> Iterator[str]:
    # A short poll interval: shutdown() waits for the loop to notice, which is felt in every test.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name=f"demo-{server.site.key}", daemon=True)
    thread.start()
    try:
        yield server.base_url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _bind(site: DemoSite, host: str, port: int) -> _SiteServer:
    """Bind the wished-for port, or any free one if it is taken (a stale demo, another program)."""
    if port:
        try:
            return _SiteServer(site, host, port)
        except OSError as e:
            logger.warning("demo site %s: port %d unavailable (%s); using a free port", site.key, port, e)
    return _SiteServer(site, host, 0)


@contextmanager
def serve_demo_sites(host: str = "127.0.0.1", ports: dict[str, int] | None = None) -> Iterator[DemoSites]:
    """Run the shop, trade-fair and market sites until the block exits.

    Each site gets a free port, or the one in `ports` (e.g. a previous run's `sites.ports`) when it
    is still free — listing URLs are part of a listing's content, so a stable port keeps a re-run's
    recrawl from looking like all-new versions.

    >>> with serve_demo_sites() as sites:  # doctest: +SKIP
    ...     sites.shop
    'http://127.0.0.1:40123'
    """
    catalogue = load_catalogue_data()
    with ExitStack() as stack:
        ports = ports or {}
        urls = {site.key: stack.enter_context(_running(_bind(site, host, int(ports.get(site.key) or 0))))
                for site in (ShopSite(catalogue), FairSite(catalogue), MarketSite(catalogue))}
        yield DemoSites(**urls)
