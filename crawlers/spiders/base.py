"""What every cluewatch spider shares: its SourceConfig, link following, and building a Listing."""
from __future__ import annotations

import re
import zlib
from datetime import datetime, timezone
from urllib.parse import parse_qs, quote, urlsplit

import scrapy
from scrapy.http import TextResponse

from cluewatch.listing import content_sha256
from cluewatch.model import LISTING_FIELDS, SourceConfig
from crawlers.extraction import FIELDS, extract_listing
from crawlers.middlewares import PAGE_META
from crawlers.items import Listing, PageBody

# Settings that turn a crawl into a takedown check of given listing URLs (see verify_requests).
VERIFY_URLS = "CLUEWATCH_VERIFY_URLS"
VERIFY_REPORT = "CLUEWATCH_VERIFY_REPORT"
# The extracted fields a Listing keeps (its images are image_urls): the crawl does not search pages for
# the others (sku, gtin, mpn, availability), which only `cluewatch extract` reports.
STORED_FIELDS = tuple(f for f in FIELDS if f in LISTING_FIELDS or f == "images")
# Selector keys that crawlers.extraction applies to an item page; the rest steer the crawl.
EXTRACTION_KEYS = ("title", "description", "brand", "price", "seller_name", "category", "image")
# Query parameters that carry a listing id on sites with URLs like item.php?id=123.
_ID_PARAMS = ("id", "item_id", "itemId", "product_id", "productId", "pid", "sku", "goods_id")
# "Next page" links written as text only, when the site has no rel=next.
_NEXT_TEXT = ("//a[normalize-space(.)='下一页' or normalize-space(.)='下一页 ›' or normalize-space(.)='>'"
              " or translate(normalize-space(.), 'NEXT', 'next')='next'"
              " or starts-with(translate(normalize-space(.), 'NEXT', 'next'), 'next ')]")


def shard_of(url: str, shards: int) -> int:
    """Which of `shards` crawler processes owns the item page `url`: CRC32 of the URL, the same in
    every process and run (Python's hash() is salted per process)."""
    return zlib.crc32(url.encode("utf-8", "surrogatepass")) % shards


def parse_shard(value) -> tuple[int, int]:
    """"K/N" (or a (K, N) pair) → (K, N) with 0 <= K < N; ValueError otherwise."""
    if isinstance(value, str):
        k, sep, n = value.partition("/")
        if not sep:
            raise ValueError(f"shard {value!r}: expected K/N")
        value = (k, n)
    k, n = (int(v) for v in value)
    if n < 1 or not 0 <= k < n:
        raise ValueError(f"shard {k}/{n}: expected 0 <= K < N")
    return k, n


def now_rfc3339() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def external_id_from_url(url: str, pattern: str | None = None) -> str | None:
    """The site's own listing id: `pattern`'s first group, an id query parameter, or the last path
    segment without its extension ("/item/123.html" → "123")."""
    if pattern:
        match = re.search(pattern, url)
        return match.group(1) if match else None
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    for name in _ID_PARAMS:
        if query.get(name):
            return query[name][0]
    segment = next((s for s in reversed(parts.path.split("/")) if s), None)
    return re.sub(r"\.(?:s?html?|php|aspx?|jsp)$", "", segment) if segment else None


class ListingSpider(scrapy.Spider):
    """Base spider: run with `source=<SourceConfig>`; subclasses set `kind` and their callbacks.

    `default_selectors` are generic guesses; a source's `selectors` override them key by key.
    """

    kind = ""
    default_selectors: dict[str, str] = {}

    def __init__(self, source: SourceConfig | dict | None = None, search_queries=None, shard=None, **kwargs):
        if source is None:
            raise ValueError(f"{type(self).__name__} needs the spider argument source=<SourceConfig>")
        if isinstance(source, dict):
            source = SourceConfig(**source)
        super().__init__(**kwargs)
        self.source = source
        # The queries for source.search_url: given by crawlers.run (which expands "registry" into
        # the registered mark names), else the source's own list.
        if search_queries is None:
            search_queries = () if isinstance(source.search_queries, str) else source.search_queries
        self.search_queries = tuple(search_queries)
        self.allowed_domains = list(source.allowed_domains)
        self.selectors = {**self.default_selectors, **(source.selectors or {})}
        # crawlers.run --shard K/N: this process is one of N crawling the source. Every shard walks
        # the list / search / seller pages; each follows only the item pages (and keeps only the
        # inline items) whose stable URL hash falls to it, so together they see each listing once.
        self.shard = parse_shard(shard) if shard is not None else (0, 1)
        # Per-source politeness (DOWNLOAD_DELAY, concurrency) is set as crawl settings by
        # crawlers.run: Scrapy 2.19 deprecates the download_delay spider attribute.

    def start_urls_for_crawl(self) -> list[str]:
        """source.start_urls, then search_url with each query URL-encoded (duplicates once)."""
        urls = list(self.source.start_urls)
        if self.source.search_url:
            urls += [self.source.search_url.replace("{query}", quote(q, safe="")) for q in self.search_queries]
        return list(dict.fromkeys(urls))

    def start_requests_for(self, callback):
        verify = self.settings.getlist(VERIFY_URLS) if getattr(self, "settings", None) else []
        if verify:  # takedown check: just these listing pages, nothing followed, nothing stored
            yield from self.verify_requests(verify)
            return
        for url in self.start_urls_for_crawl():
            yield scrapy.Request(url, callback=callback, meta={PAGE_META: "list"})

    # ------------------------------------------------------------------ takedown checks
    # `--set CLUEWATCH_VERIFY_URLS='[...]' --set CLUEWATCH_VERIFY_REPORT=path` (cluewatch.jobs.verify):
    # fetch each listing URL as an item page — through the same SSRF guard, robots.txt, throttling
    # and conditional-request / removal bookkeeping (304 → still there, 404/410 → marked removed) —
    # and write {url: {"status": http status or null, "live": bool or null, "error": str or null}}.

    def verify_requests(self, urls):
        self.verify_outcomes = {}
        for url in dict.fromkeys(urls):
            yield scrapy.Request(url, callback=self.verify_page, errback=self.verify_failed,
                                 meta={PAGE_META: "item", "verify_url": url}, dont_filter=True)

    def verify_page(self, response):
        url = response.meta["verify_url"]
        _, _, fragment = url.partition("#")
        # An inline product (seller-page URL#product id) is gone when its block is gone.
        live = not fragment or bool(response.xpath(
            "//*[@data-product-id=$p or @data-id=$p or @id=$p]", p=fragment))
        self.verify_outcomes[url] = {"status": response.status, "live": live, "error": None}
        return []

    def verify_failed(self, failure):
        from scrapy.spidermiddlewares.httperror import HttpError

        from crawlers.middlewares import NotModified

        url = failure.request.meta.get("verify_url", failure.request.url)
        if failure.check(HttpError):
            status = failure.value.response.status
            outcome = {"status": status, "live": None if status not in (404, 410) else False, "error": None}
        elif failure.check(NotModified):
            outcome = {"status": 304, "live": True, "error": None}
        else:
            outcome = {"status": None, "live": None, "error": f"{failure.type.__name__}: {failure.value}"[:500]}
        self.verify_outcomes[url] = outcome

    def closed(self, reason):
        path = self.settings.get(VERIFY_REPORT) if getattr(self, "settings", None) else None
        if path and hasattr(self, "verify_outcomes"):
            import json

            with open(path, "w", encoding="utf-8") as f:
                json.dump({"finish_reason": reason, "outcomes": self.verify_outcomes}, f)

    def follow_next(self, response, callback, **kwargs):
        """Requests for the next page: the `next_page` selector, else a link reading "next"/"下一页".

        The next page is of the same kind as this one (meta cluewatch_page, for completeness)."""
        css = self.selectors.get("next_page")
        links = response.css(css) if css else []
        if not links:
            links = response.xpath(_NEXT_TEXT)
        kwargs.setdefault("meta", {PAGE_META: response.meta.get(PAGE_META, "list")})
        return response.follow_all(links, callback=callback, **kwargs)

    def owns(self, url: str) -> bool:
        """Whether this shard handles the item page (or inline item) `url`; always with one shard."""
        k, n = self.shard
        return n == 1 or shard_of(url, n) == k

    def follow(self, response, key: str, callback, page: str = "item", **kwargs):
        """Requests for the links `key` selects, tagged as `page` pages (item, seller, list).

        Item pages owned by another shard (crawlers.run --shard) are left to it."""
        css = self.selectors.get(key)
        kwargs.setdefault("meta", {PAGE_META: page})
        if not css:
            return []
        requests = response.follow_all(css=css, callback=callback, **kwargs)
        if page == "item" and self.shard[1] > 1:
            return [r for r in requests if self.owns(r.url)]
        return requests

    @property
    def extraction_selectors(self) -> dict[str, str]:
        return {k: v for k, v in self.selectors.items() if k in EXTRACTION_KEYS}

    def extract(self, response) -> dict | None:
        """Listing fields of an item page; None when the link led to something not HTML (a PDF...)."""
        if not isinstance(response, TextResponse):
            self.logger.warning("not an HTML page, skipped: %s", response.url)
            return None
        data = extract_listing(response.text, response.url, selectors=self.extraction_selectors,
                               fields=STORED_FIELDS)
        # The raw page, archived as evidence by crawlers.evidence (which removes it from the item).
        data["page_body"] = PageBody(response.body)
        # Stored with the listing, in the same transaction, for the next crawl's conditional request.
        for field, header in (("page_etag", b"ETag"), ("page_last_modified", b"Last-Modified")):
            value = response.headers.get(header)
            data[field] = value.decode("latin-1")[:500] if value else None
        return data

    def external_id(self, url: str) -> str | None:
        return external_id_from_url(url, self.selectors.get("external_id_pattern"))

    def make_listing(self, url: str, data: dict, external_id: str | None, **overrides) -> Listing:
        """A Listing from extracted page data; `overrides` (e.g. seller fields) win over the page."""
        values = {field: None for field in LISTING_FIELDS}
        values.update({k: v for k, v in data.items() if k in values})
        values.update(
            source=self.source.id, platform=self.source.platform, kind=self.kind, url=url,
            external_id=external_id, image_urls=list(data.get("images") or []),
            captured_at=now_rfc3339(),
        )
        values.update({k: v for k, v in overrides.items() if v})
        values["content_sha256"] = content_sha256(values)
        # Validators belong to the page the data came from (an item page), not to inline listings.
        values["page_etag"] = data.get("page_etag")
        values["page_last_modified"] = data.get("page_last_modified")
        body = values.get("page_body") or data.get("page_body")  # an override wins (inline items)
        if body is not None:
            values["page_body"] = PageBody(body)  # not content: not in the hash
        return Listing(**values)
