"""Downloader middlewares, one job each, wired in crawlers/settings.py:

SSRFGuardMiddleware         refuse requests whose host resolves to a non-public address (and
                            non-http(s) schemes); runs again on every redirect, which Scrapy
                            re-schedules as a new request through the whole chain
PublicOnlyResolver          (TWISTED_DNS_RESOLVER, not a middleware) the same rule at connect time,
                            so a DNS answer that changes after the guard's check (rebinding) still
                            cannot reach a private address
BackoffRetryMiddleware      Scrapy's RetryMiddleware, waiting exponentially longer (with jitter, or
                            the server's Retry-After) before each retry
RecrawlMiddleware           conditional requests (If-None-Match / If-Modified-Since) for listing
                            pages already stored; 304 → listing touched, 404/410 → listing removed;
                            new validators stored after the listing is
PageOutcomeMiddleware       counts pages that finally failed, by page kind: the crawl is "complete"
                            (may be used to mark unseen listings removed) only when none did

Stats: cluewatch/ssrf_refused, cluewatch/retry_backoff_seconds, cluewatch/not_modified,
cluewatch/listing_gone, cluewatch/page_failed/<kind>[/<reason>].
Requests carry their page kind in meta["cluewatch_page"]: "list" (search / result / directory
pages, which lead to listings), "seller", "item"; requests without it (images, robots.txt) are not
judged for completeness.
"""
from __future__ import annotations

import ipaddress
import logging
import random
import socket
import time
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.resolver import CachingThreadedResolver
from scrapy.utils.defer import maybe_deferred_to_future

logger = logging.getLogger(__name__)

PAGE_META = "cluewatch_page"
ALLOWED_SCHEMES = ("http", "https")
# IPv6 prefixes that embed an IPv4 address: NAT64 well-known and local-use prefixes.
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: not public


class RefusedRequest(IgnoreRequest):
    """A request the SSRF guard would not send; the message says why."""


class NotModified(IgnoreRequest):
    """A conditional request answered 304: the stored listing is current."""


# --------------------------------------------------------------------------- address classification
def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]  # the client's address
    # IPv4-compatible (deprecated) ::a.b.c.d
    if int(ip) >> 32 == 0 and int(ip) > 0xFFFF:
        return ipaddress.IPv4Address(int(ip))
    return None


def address_problem(address: str) -> str | None:
    """Why `address` (a literal IP) must not be fetched, or None if it is a public address.

    >>> address_problem("169.254.169.254")
    'link-local address 169.254.169.254'
    >>> address_problem("93.184.215.14") is None
    True
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            problem = address_problem(str(inner))
            return f"{problem} (embedded in {ip})" if problem else None
    for attr, label in (("is_unspecified", "unspecified"), ("is_loopback", "loopback"),
                        ("is_link_local", "link-local"), ("is_multicast", "multicast"),
                        ("is_private", "private"), ("is_reserved", "reserved")):
        if getattr(ip, attr):
            return f"{label} address {ip}"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED:
        return f"shared (carrier-grade NAT) address {ip}"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return f"site-local address {ip}"
    if not ip.is_global:
        return f"non-global address {ip}"
    return None


def resolve(host: str, port: int | None = None) -> list[str]:
    """Every address `host` resolves to, as the connection would see it (getaddrinfo: so decimal,
    octal and short IPv4 forms like 2130706433 or 0177.1 come out as 127.0.0.1). Blocking."""
    infos = socket.getaddrinfo(host, port or 80, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def url_problem(url: str, *, allow_private: bool = False, allowed_private_origins=(),
                resolver=resolve) -> str | None:
    """Why the guard refuses `url`, or None to let it through. Blocking (resolves the host).

    allow_private: the source may reach non-public addresses (test fixtures, the demo).
    allowed_private_origins: when non-empty, narrows that to these "host:port" origins.
    Any one non-public address among a host's addresses refuses it (a DNS answer mixing a public
    and a private address is a rebinding trick, not a CDN)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        return f"invalid URL ({e})"
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        return f"scheme {scheme or '(none)'}: is not http(s)"
    host = parts.hostname
    if not host:
        return "URL has no host"
    port = port or (443 if scheme == "https" else 80)
    if allow_private and not allowed_private_origins:
        return None
    try:
        addresses = resolver(host, port)
    except (OSError, UnicodeError) as e:
        return f"host {host!r} does not resolve ({e})"
    if not addresses:
        return f"host {host!r} does not resolve"
    for address in addresses:
        try:
            problem = address_problem(address)
        except ValueError:
            return f"host {host!r} resolved to an unparsable address {address!r}"
        if problem is None:
            continue
        if allow_private and f"{host}:{port}" in allowed_private_origins:
            continue
        return f"host {host!r} resolves to a {problem}"
    return None


class SSRFGuardMiddleware:
    """Refuse requests to non-public addresses unless the spider's source allows them.

    Listing pages are attacker-controlled: a link, image or redirect can point at 127.0.0.1, the
    cloud metadata service or the office network. Every request is judged here, including each
    redirect hop (RedirectMiddleware returns a new request, which goes through this chain again)
    and the image downloads of the item pipelines. Resolution runs in the reactor's thread pool;
    results are cached for the crawl (SSRF_DNS_CACHE_SECONDS).

    Settings: CLUEWATCH_SSRF_ALLOWED_PRIVATE_ORIGINS ("host:port" list) narrows a source's
    allow_private_addresses to those origins (the hostile fixture uses it to prove a redirect to
    another loopback port is refused).
    Limitation: Scrapy resolves the host again when it connects; a DNS server answering public
    then private (rebinding) within the cache window is not caught here.
    """

    def __init__(self, crawler, allowed_private_origins=(), cache_seconds: float = 300.0):
        self.crawler = crawler
        self.stats = crawler.stats
        self.allowed_private_origins = frozenset(allowed_private_origins)
        self.cache_seconds = cache_seconds
        self._cache: dict[tuple, tuple[float, str | None]] = {}

    @classmethod
    def from_crawler(cls, crawler):
        origins = crawler.settings.getlist("CLUEWATCH_SSRF_ALLOWED_PRIVATE_ORIGINS")
        return cls(crawler, origins, crawler.settings.getfloat("SSRF_DNS_CACHE_SECONDS", 300.0))

    def _allow_private(self, spider) -> bool:
        source = getattr(spider, "source", None)
        return bool(getattr(source, "allow_private_addresses", False))

    async def process_request(self, request, spider=None):
        from twisted.internet.threads import deferToThread

        spider = spider or self.crawler.spider
        allow = self._allow_private(spider)
        parts = urlsplit(request.url)
        key = (parts.scheme, parts.netloc, allow)
        cached = self._cache.get(key)
        if cached and cached[0] > time.monotonic():
            problem = cached[1]
        else:
            problem = await maybe_deferred_to_future(deferToThread(
                url_problem, request.url, allow_private=allow,
                allowed_private_origins=self.allowed_private_origins))
            self._cache[key] = (time.monotonic() + self.cache_seconds, problem)
        if problem:
            self.stats.inc_value("cluewatch/ssrf_refused")
            logger.warning("SSRF guard refused %s: %s", request.url, problem)
            raise RefusedRequest(f"SSRF guard refused {request.url}: {problem}")
        return None


class PublicOnlyResolver(CachingThreadedResolver):
    """Scrapy's resolver, refusing non-public answers unless CLUEWATCH_ALLOW_PRIVATE_ADDRESSES.

    This is the address the connection really uses, so it closes the gap between the guard's own
    lookup and the connection's (DNS rebinding). Literal IP hosts never reach a resolver; the
    guard judges those. It cannot apply CLUEWATCH_SSRF_ALLOWED_PRIVATE_ORIGINS (no port here): with
    allow_private it allows everything and the guard does the narrowing."""

    allow_private = False

    @classmethod
    def from_crawler(cls, crawler, reactor):
        resolver = super().from_crawler(crawler, reactor)
        resolver.allow_private = crawler.settings.getbool("CLUEWATCH_ALLOW_PRIVATE_ADDRESSES")
        return resolver

    def getHostByName(self, name, timeout=()):
        d = super().getHostByName(name, timeout)
        if not self.allow_private:
            d.addCallback(self.refuse_private, name)
        return d

    @staticmethod
    def refuse_private(address: str, name: str) -> str:
        from twisted.internet.error import DNSLookupError

        problem = address_problem(address)
        if problem:
            logger.warning("SSRF guard (resolver) refused %s: resolves to a %s", name, problem)
            raise DNSLookupError(f"{name} resolves to a {problem}: refused by the SSRF guard")
        return address


# --------------------------------------------------------------------------- retries with backoff
def retry_after_seconds(value: bytes | str | None) -> float | None:
    """A Retry-After header (seconds, or an HTTP date) as seconds from now; None if absent/bad."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


class BackoffRetryMiddleware(RetryMiddleware):
    """RetryMiddleware (RETRY_TIMES, RETRY_HTTP_CODES, RETRY_EXCEPTIONS) plus a wait before each
    retry: RETRY_BACKOFF_BASE * 2**(attempt-1), ±50 % jitter, at most RETRY_BACKOFF_MAX seconds, or
    the server's Retry-After (capped the same). Scrapy 2.19's retry has no backoff of its own.

    The wait happens after the download, so it does not hold the site's download slot."""

    def __init__(self, settings):
        super().__init__(settings)
        self.backoff_base = settings.getfloat("RETRY_BACKOFF_BASE", 1.0)
        self.backoff_max = settings.getfloat("RETRY_BACKOFF_MAX", 60.0)

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(retry_after, self.backoff_max)
        delay = self.backoff_base * (2 ** max(attempt - 1, 0))
        return min(delay * random.uniform(0.5, 1.5), self.backoff_max)

    async def _wait(self, retry_request, retry_after=None):
        if retry_request is None or self.backoff_base <= 0 and retry_after is None:
            return
        from twisted.internet import reactor
        from twisted.internet.task import deferLater

        delay = self.backoff(retry_request.meta.get("retry_times", 1), retry_after)
        if delay > 0:
            self.crawler.stats.inc_value("cluewatch/retry_backoff_seconds", round(delay, 3))
            await maybe_deferred_to_future(deferLater(reactor, delay, lambda: None))

    async def process_response(self, request, response, spider=None):
        result = super().process_response(request, response)
        if result is not response:
            await self._wait(result, retry_after_seconds(response.headers.get("Retry-After")))
        return result

    async def process_exception(self, request, exception, spider=None):
        result = super().process_exception(request, exception)
        await self._wait(result)
        return result


# --------------------------------------------------------------------------- incremental recrawl
class RecrawlMiddleware:
    """Conditional requests for stored listing pages, and what their answers mean for the store.

    At spider open the listing URLs of the source and their validators are loaded from the
    database (CLUEWATCH_DATABASE_URL; not configured without one). A request for a known listing
    URL gets If-None-Match / If-Modified-Since; a 304 touches the listing (seen, unchanged, no new
    version) and ends the request; a 404/410 marks that listing removed at once. After a listing
    is scraped from a 200 page, that page's ETag / Last-Modified are stored for the next crawl —
    by the listing store, in the listing's own transaction (the spider puts them on the item as
    page_etag / page_last_modified), not by a database write on the reactor thread.
    """

    def __init__(self, crawler, database_url: str):
        self.crawler = crawler
        self.stats = crawler.stats
        self.database_url = database_url
        self.conn = None
        self.source_id = None
        self.known: dict[str, tuple[str, str | None, str | None]] = {}  # url → (external_id, etag, lm)
        self.conditional = True

    @classmethod
    def from_crawler(cls, crawler):
        url = crawler.settings.get("CLUEWATCH_DATABASE_URL")
        if not url:
            raise NotConfigured("CLUEWATCH_DATABASE_URL is not set: no conditional recrawl")
        mw = cls(crawler, url)
        # False forces full downloads (e.g. to re-extract every page after an extractor change).
        mw.conditional = crawler.settings.getbool("CLUEWATCH_CONDITIONAL_REQUESTS", True)
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        return mw

    def _connection(self):
        if self.conn is None or self.conn.closed:
            from sinks.db import connect

            self.conn = connect(self.database_url)
            self.conn.autocommit = True
        return self.conn

    def spider_opened(self, spider):
        from sinks.crawl_runs import load_validators

        source = getattr(spider, "source", None)
        if source is None:
            return
        self.source_id = source.id
        self.known = load_validators(self._connection(), source.id)
        logger.info("recrawl: %d stored listing pages of %s (%d with validators)", len(self.known),
                    source.id, sum(1 for v in self.known.values() if v[1] or v[2]))

    def spider_closed(self, spider):
        if self.conn is not None and not self.conn.closed:
            self.conn.close()

    def process_request(self, request, spider=None):
        known = self.known.get(request.url)
        if known is None or request.meta.get(PAGE_META) != "item" or not self.conditional:
            return None
        _, etag, last_modified = known
        if etag and b"If-None-Match" not in request.headers:
            request.headers[b"If-None-Match"] = etag
        if last_modified and b"If-Modified-Since" not in request.headers:
            request.headers[b"If-Modified-Since"] = last_modified
        return None

    def process_response(self, request, response, spider=None):
        known = self.known.get(request.url)
        if known is None:
            return response
        if response.status == 304:
            from sinks.crawl_runs import touch_listing

            touch_listing(self._connection(), self.source_id, known[0])
            self.stats.inc_value("cluewatch/not_modified")
            raise NotModified(f"not modified: {request.url}")
        if response.status in (404, 410) and request.meta.get(PAGE_META) == "item":
            from sinks.removals import mark_gone

            if mark_gone(self._connection(), self.source_id, known[0]):
                self.stats.inc_value("cluewatch/listing_gone")
                logger.info("listing %s answered %d: marked removed", request.url, response.status)
        return response


# --------------------------------------------------------------------------- crawl completeness
class PageOutcomeMiddleware:
    """Count pages that finally failed (after retries), by the page kind the spider tagged.

    Sits near the engine end of the chain, so it sees what is left after RetryMiddleware: a
    download error or an HTTP error status on a list / seller / item page means listings may have
    gone unseen, and the crawl is then not complete (crawlers.run reports it; no listing is marked
    removed after it). A 404/410 on an item page is not a failure: it is the listing's removal.
    """

    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def _failed(self, request, reason: str):
        kind = request.meta.get(PAGE_META)
        if not kind:
            return
        self.stats.inc_value(f"cluewatch/page_failed/{kind}")
        self.stats.inc_value(f"cluewatch/page_failed/{kind}/{reason}")
        logger.warning("%s page failed (%s): %s — this crawl will not count as complete",
                       kind, reason, request.url)

    def process_response(self, request, response, spider=None):
        status = response.status
        if status >= 400 and not (status in (404, 410) and request.meta.get(PAGE_META) == "item"):
            self._failed(request, f"http_{status}")
        return response

    def process_exception(self, request, exception, spider=None):
        if not isinstance(exception, IgnoreRequest):
            self._failed(request, type(exception).__name__)
        return None
