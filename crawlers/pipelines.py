"""Item pipelines, one small job each, wired in crawlers/settings.py (in this order):

RequireFieldsPipeline  drop listings without url / external_id / title
DropDuplicatesPipeline drop a (source, external_id) already seen in this crawl
ContentHashPipeline    fill content_sha256 (decides whether a recrawl is a new version)
crawlers.evidence.PageEvidencePipeline   archive the raw page (gzip, sha256) → page_sha256/path/bytes
crawlers.images.ListingImagesPipeline    download image_urls, store originals + thumbnails → images
PostgresStorePipeline  store each listing as a version, with its page and image evidence (only when
                       CLUEWATCH_DATABASE_URL is set)

Stats: cluewatch/dropped/<reason>, cluewatch/stored_new_version, cluewatch/unchanged,
cluewatch/store_errors, cluewatch/pages/archived, cluewatch/images/{stored,rejected,failed}.
"""
from __future__ import annotations

import logging

from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem, NotConfigured

from cluewatch.listing import content_sha256

logger = logging.getLogger(__name__)


class _StatsPipeline:
    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)


class RequireFieldsPipeline(_StatsPipeline):
    """A listing without these cannot be identified or shown to an officer."""

    required = ("url", "external_id", "title")

    def process_item(self, item):
        adapter = ItemAdapter(item)
        missing = [f for f in self.required if not adapter.get(f)]
        if missing:
            self.stats.inc_value(f"cluewatch/dropped/missing_{missing[0]}")
            raise DropItem(f"missing {', '.join(missing)}: {adapter.get('url')}")
        return item


class DropDuplicatesPipeline(_StatsPipeline):
    """The same listing reached twice (two searches, two list pages) is stored once per crawl."""

    def __init__(self, stats):
        super().__init__(stats)
        self.seen: set[tuple] = set()

    def process_item(self, item):
        adapter = ItemAdapter(item)
        key = (adapter.get("source"), adapter.get("external_id"))
        if key in self.seen:
            self.stats.inc_value("cluewatch/dropped/duplicate")
            raise DropItem(f"duplicate listing {key[1]!r}")
        self.seen.add(key)
        return item


class ContentHashPipeline:
    def process_item(self, item):
        adapter = ItemAdapter(item)
        adapter["content_sha256"] = content_sha256(adapter.asdict())
        return item


class PostgresStorePipeline(_StatsPipeline):
    """Store every listing through sinks.listings.store_listing, one transaction per item.

    A listing the store rejects is rolled back, logged and counted; the crawl goes on. The calls
    block the reactor briefly — fine for the few hundred items per crawl this project runs.
    """

    def __init__(self, stats, database_url: str):
        super().__init__(stats)
        self.database_url = database_url
        self.conn = None

    @classmethod
    def from_crawler(cls, crawler):
        url = crawler.settings.get("CLUEWATCH_DATABASE_URL")
        if not url:
            raise NotConfigured("CLUEWATCH_DATABASE_URL is not set: listings are not stored")
        return cls(crawler.stats, url)

    def _connection(self):
        if self.conn is None or self.conn.closed:
            from sinks.db import connect

            self.conn = connect(self.database_url)
        return self.conn

    def open_spider(self):
        self._connection()  # fail the crawl at once if the database is unreachable

    def close_spider(self):
        if self.conn is not None and not self.conn.closed:
            self.conn.close()

    def process_item(self, item):
        from sinks.listings import store_listing

        listing = ItemAdapter(item).asdict()
        conn = self._connection()
        try:
            result = store_listing(conn, listing)
            conn.commit()
        except Exception as e:
            try:
                conn.rollback()
            except Exception:  # connection gone: _connection() reconnects for the next item
                pass
            self.stats.inc_value("cluewatch/store_errors")
            # A rejected listing (InvalidListing is a ValueError) needs no traceback; anything else does.
            logger.error("could not store listing %s (%s): %s", listing.get("external_id"),
                         listing.get("url"), e, exc_info=not isinstance(e, ValueError))
            return item
        self.stats.inc_value("cluewatch/stored_new_version" if result.new_version else "cluewatch/unchanged")
        return item
