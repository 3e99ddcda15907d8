"""Archive the raw page of every listing as evidence: gzip in the blob store, keyed by its SHA-256.

`PageEvidencePipeline` takes the transient ``page_body`` the spider put on the item (see
ListingSpider.extract), removes it (so page bytes never reach feeds or logs), and sets
``page_sha256`` (of the bytes as served, after HTTP decompression), ``page_path`` (blob key,
``ab/cd/<page_sha256>.html.gz``) and ``page_bytes`` (uncompressed size).

Every page is archived, not only new versions: the key is the content hash, so the same page costs
no extra bytes and no compression on a recrawl (an existing key is not rewritten). Compression runs
in a worker thread, off the reactor, except for pages of at most CLUEWATCH_INLINE_BLOB_BYTES going to
a local store (crawlers.blobs.inline_limit: there the thread hop costs more than the work).
"""
from __future__ import annotations

import gzip
import hashlib
import logging

from itemadapter import ItemAdapter

logger = logging.getLogger(__name__)

PAGE_SUFFIX = ".html.gz"


def archive_page(blobs, body: bytes) -> dict:
    """Store `body` gzip-compressed under its own SHA-256; the item fields describing it.

    The gzip header carries no timestamp or name (mtime=0), so one page always compresses to the
    same archive.
    """
    from sinks.blobstore import blob_key  # noqa: PLC0415

    body = bytes(body)
    digest = hashlib.sha256(body).hexdigest()
    key = blob_key(digest, PAGE_SUFFIX)
    if not blobs.exists(key):  # a page seen before is not compressed again
        key = blobs.put(gzip.compress(body, compresslevel=6, mtime=0), suffix=PAGE_SUFFIX, digest=digest)
    return {"page_sha256": digest, "page_path": key, "page_bytes": len(body)}


class PageEvidencePipeline:
    def __init__(self, stats, blobs, inline_max: int = 0):
        self.stats = stats
        self.blobs = blobs
        self.inline_max = inline_max  # pages up to this size are archived on the reactor thread

    @classmethod
    def from_crawler(cls, crawler):
        from crawlers.blobs import crawl_blob_store, inline_limit  # noqa: PLC0415

        blobs = crawl_blob_store(crawler.settings)
        return cls(crawler.stats, blobs, inline_limit(crawler.settings, blobs))

    def process_item(self, item):
        """The item, archived here (a small page, local store), or a coroutine that archives it in a
        worker thread and returns it (Scrapy awaits either)."""
        adapter = ItemAdapter(item)
        body = adapter.get("page_body")
        if "page_body" in adapter:
            del adapter["page_body"]
        if body is None:
            return item  # e.g. a listing read inline from a stall page that passed no body
        if len(body) > self.inline_max:
            return self._archive_in_thread(item, adapter, body)
        try:
            evidence = archive_page(self.blobs, body)
        except Exception as e:
            return self._failed(item, adapter, e)
        return self._archived(item, adapter, evidence)

    async def _archive_in_thread(self, item, adapter, body):
        from scrapy.utils.defer import maybe_deferred_to_future  # noqa: PLC0415
        from twisted.internet.threads import deferToThread  # noqa: PLC0415

        try:
            evidence = await maybe_deferred_to_future(deferToThread(archive_page, self.blobs, body))
        except Exception as e:
            return self._failed(item, adapter, e)
        return self._archived(item, adapter, evidence)

    def _archived(self, item, adapter, evidence: dict):
        adapter.update(evidence)
        self.stats.inc_value("cluewatch/pages/archived")
        return item

    def _failed(self, item, adapter, error: Exception):
        # A full disk must not lose the listing itself: it goes on, without its page archived.
        self.stats.inc_value("cluewatch/pages/archive_errors")
        logger.error("could not archive page %s: %s", adapter.get("url"), error, exc_info=error)
        return item
