"""Item pipelines, one small job each, wired in crawlers/settings.py (in this order):

RequireFieldsPipeline  drop listings without url / external_id / title
DropDuplicatesPipeline drop a (source, external_id) already seen in this crawl
ContentHashPipeline    fill content_sha256 (decides whether a recrawl is a new version)
crawlers.evidence.PageEvidencePipeline   archive the raw page (gzip, sha256) → page_sha256/path/bytes
crawlers.images.ListingImagesPipeline    download image_urls, store originals + thumbnails → images
PostgresStorePipeline  store each listing as a version, with its page and image evidence (only when
                       CLUEWATCH_DATABASE_URL is set), on a worker thread in batched transactions

Stats: cluewatch/dropped/<reason>, cluewatch/stored_new_version, cluewatch/unchanged,
cluewatch/store_errors, cluewatch/pages/archived, cluewatch/images/{stored,rejected,failed}.
"""
from __future__ import annotations

import logging
import queue
import threading
import time

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
        item["content_sha256"] = content_sha256(item)
        return item


class StoreOutcome:
    """What storing one listing came to: StoreResult, or the exception that rejected it."""

    __slots__ = ("result", "error")

    def __init__(self, result=None, error=None):
        self.result, self.error = result, error


class StoreWorker(threading.Thread):
    """Stores listings on its own thread and connection, in batched transactions.

    Each listing is stored inside a SAVEPOINT, so a rejected one is rolled back alone and the batch
    goes on; the transaction is committed every `batch_size` listings or `batch_seconds` after the
    first uncommitted one, and each listing's `done(StoreOutcome)` is called only after its commit
    (or its failure). `close()` stores and commits whatever was submitted, then ends the thread.
    """

    _STOP = object()

    def __init__(self, conn, connect, *, batch_size: int = 50, batch_seconds: float = 0.2,
                 before_commit=None, deliver=None):
        super().__init__(name="cluewatch-store", daemon=True)
        # deliver([(done, outcome), ...]) hands a batch's outcomes over (default: calls each done
        # here); the crawl passes one reactor.callFromThread per batch, not one per listing.
        self.deliver = deliver or _call_each
        self.conn, self.connect = conn, connect
        # Called right before each commit (crawlers.blobs: makes the batch's blobs durable first);
        # if it raises, the batch is not committed and its listings fail like a failed commit.
        self.before_commit = before_commit
        self.batch_size, self.batch_seconds = max(1, batch_size), batch_seconds
        self.savepoint_open = False  # a listing's savepoint, released when the next one starts
        self._prepared_conn = None  # the connection whose store statements are PREPAREd
        self.jobs: queue.Queue = queue.Queue()

    def submit(self, listing: dict, done) -> None:
        self.jobs.put((listing, done))

    def close(self) -> None:
        self.jobs.put(self._STOP)
        self.join()

    def run(self) -> None:
        batch: list[tuple] = []  # (done, outcome) stored but not yet committed
        deadline = None
        while True:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                job = self.jobs.get(timeout=timeout)
            except queue.Empty:
                job = None
            if job is self._STOP:
                self._commit(batch)
                break
            if job is not None:
                listing, done = job
                outcome, connection_lost = self._store(listing)
                if connection_lost:  # the open transaction is gone: so is the whole batch
                    lost = [(earlier, StoreOutcome(error=stored.error or outcome.error)) for earlier, stored in batch]
                    batch, deadline = [], None
                    self.deliver([*lost, (done, outcome)])
                    continue
                batch.append((done, outcome))
                deadline = deadline or time.monotonic() + self.batch_seconds
            if batch and (len(batch) >= self.batch_size or time.monotonic() >= deadline):
                self._commit(batch)
                batch, deadline = [], None
        if self.conn is not None and not self.conn.closed:
            self.conn.close()

    def _store(self, listing: dict) -> tuple[StoreOutcome, bool]:
        """(outcome, whether the connection failed and the open transaction with it)."""
        from sinks.listings import InvalidListing, prepare_store, store_listing

        try:
            if self.conn is None or self.conn.closed:
                self.conn, self.savepoint_open = self.connect(), False
            if self.conn is not self._prepared_conn:
                # Before the connection's first savepoint: a PREPARE never happens mid-batch.
                prepare_store(self.conn)
                self._prepared_conn = self.conn
            # The listing's savepoint, and the release of the previous one (the commit would release
            # it anyway), go in the listing's own round trip: one round trip per listing saved.
            preamble = ("RELEASE SAVEPOINT cluewatch_item; SAVEPOINT cluewatch_item" if self.savepoint_open
                        else "SAVEPOINT cluewatch_item")
            try:
                result = store_listing(self.conn, listing, preamble=preamble)
            except InvalidListing as e:  # refused before any statement was sent
                return StoreOutcome(error=e), False
            except Exception as e:
                self.savepoint_open = True  # the preamble ran before the statement that failed
                with self.conn.cursor() as cur:
                    cur.execute("ROLLBACK TO SAVEPOINT cluewatch_item")  # the savepoint stays open
                return StoreOutcome(error=e), False
            self.savepoint_open = True
            return StoreOutcome(result), False
        except Exception as e:  # the connection itself failed: the batch is lost, reconnect
            self._abort()
            return StoreOutcome(error=e), True

    def _abort(self) -> None:
        self.savepoint_open = False
        try:
            self.conn.rollback()
        except Exception:
            pass
        try:
            self.conn.close()
        except Exception:
            pass

    def _commit(self, batch: list[tuple]) -> None:
        if not batch:
            return
        try:
            if self.conn is not None and not self.conn.closed:
                if self.before_commit is not None:
                    self.before_commit()
                self.savepoint_open = False
                self.conn.commit()
        except Exception as e:
            self._abort()
            batch = [(done, StoreOutcome(error=outcome.error or e)) for done, outcome in batch]
        self.deliver(batch)


def _call_each(outcomes: list[tuple]) -> None:
    for done, outcome in outcomes:
        try:
            done(outcome)
        except Exception:  # one broken callback must not keep the batch's other items waiting
            logger.exception("store outcome callback failed")


class PostgresStorePipeline(_StatsPipeline):
    """Store every listing through sinks.listings.store_listing.

    By default a StoreWorker thread with its own connection stores the listings off the reactor
    thread, in batched transactions (CLUEWATCH_STORE_BATCH_SIZE listings or
    CLUEWATCH_STORE_BATCH_SECONDS), one savepoint each; an item leaves this pipeline once its batch
    is committed, and close_spider commits the last batch. CLUEWATCH_STORE_BATCH_SIZE = 0 stores
    synchronously instead, one transaction per item in the reactor thread. Either way a listing the
    store rejects is rolled back alone, logged and counted; the crawl goes on.
    """

    def __init__(self, stats, database_url: str, batch_size: int = 50, batch_seconds: float = 0.2,
                 before_commit=None):
        super().__init__(stats)
        self.database_url = database_url
        self.batch_size, self.batch_seconds = batch_size, batch_seconds
        self.before_commit = before_commit  # see StoreWorker
        self.conn = None  # the synchronous path's connection
        self.worker: StoreWorker | None = None

    @classmethod
    def from_crawler(cls, crawler):
        url = crawler.settings.get("CLUEWATCH_DATABASE_URL")
        if not url:
            raise NotConfigured("CLUEWATCH_DATABASE_URL is not set: listings are not stored")
        from crawlers.blobs import crawl_blob_store, syncs_before_commit  # noqa: PLC0415

        before_commit = crawl_blob_store(crawler.settings).sync if syncs_before_commit(crawler.settings) else None
        return cls(crawler.stats, url, crawler.settings.getint("CLUEWATCH_STORE_BATCH_SIZE", 50),
                   crawler.settings.getfloat("CLUEWATCH_STORE_BATCH_SECONDS", 0.2), before_commit)

    def _connect(self):
        from sinks.db import connect

        return connect(self.database_url)

    def _connection(self):
        if self.conn is None or self.conn.closed:
            self.conn = self._connect()
        return self.conn

    def open_spider(self):
        conn = self._connect()  # fail the crawl at once if the database is unreachable
        if self.batch_size > 0:
            from twisted.internet import reactor  # noqa: PLC0415

            # One wake-up of the reactor per committed batch, not per listing.
            self.worker = StoreWorker(conn, self._connect, batch_size=self.batch_size,
                                      batch_seconds=self.batch_seconds, before_commit=self.before_commit,
                                      deliver=lambda outcomes: reactor.callFromThread(_call_each, outcomes))
            self.worker.start()
        else:
            self.conn = conn

    async def close_spider(self):
        if self.worker is not None:
            from scrapy.utils.defer import maybe_deferred_to_future  # noqa: PLC0415
            from twisted.internet.threads import deferToThread  # noqa: PLC0415

            await maybe_deferred_to_future(deferToThread(self.worker.close))
            self.worker = None
        if self.conn is not None and not self.conn.closed:
            self.conn.close()

    def process_item(self, item):
        """The item (synchronous store) or a coroutine that returns it once its batch is committed."""
        if self.worker is not None:
            return self._process_in_worker(item)
        listing = dict(item)
        conn = self._connection()
        from sinks.listings import store_listing

        try:
            result = store_listing(conn, listing)
            if self.before_commit is not None:
                self.before_commit()
            conn.commit()
        except Exception as e:
            try:
                conn.rollback()
            except Exception:  # connection gone: _connection() reconnects for the next item
                pass
            self._count(listing, StoreOutcome(error=e))
            return item
        self._count(listing, StoreOutcome(result))
        return item

    async def _process_in_worker(self, item):
        from scrapy.utils.defer import maybe_deferred_to_future  # noqa: PLC0415
        from twisted.internet.defer import Deferred  # noqa: PLC0415

        # A shallow copy: the values are plain JSON-like data nobody changes after this pipeline.
        # (ItemAdapter.asdict() walks every nested value looking for items: ~1 ms a listing.)
        listing = dict(item)
        stored: Deferred = Deferred()
        self.worker.submit(listing, stored.callback)  # called on the reactor thread (open_spider)
        self._count(listing, await maybe_deferred_to_future(stored))
        return item

    def _count(self, listing: dict, outcome: StoreOutcome) -> None:
        e = outcome.error
        if e is None:
            self.stats.inc_value("cluewatch/stored_new_version" if outcome.result.new_version
                                 else "cluewatch/unchanged")
            return
        self.stats.inc_value("cluewatch/store_errors")
        # A rejected listing (InvalidListing is a ValueError) needs no traceback; anything else does.
        logger.error("could not store listing %s (%s): %s", listing.get("external_id"), listing.get("url"), e,
                     exc_info=False if isinstance(e, ValueError) else (type(e), e, e.__traceback__))
