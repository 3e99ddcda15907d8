"""The crawl's stats collector: Scrapy's in-memory one without its per-attribute deprecation shim.

Scrapy 2.19's StatsCollector overrides ``__getattribute__`` for every attribute access (including
its own ``self._stats``) to wrap the stats methods in a "passing a spider argument is deprecated"
check; the wrapped call costs ~2 µs instead of ~0.1 µs, and a crawl makes dozens of stats calls per
listing (downloader, scheduler, pipelines, ours) — ~2 % of a crawl's CPU in py-spy. Our code and
Scrapy's own components no longer pass a spider, so the check has nothing to catch here.
"""
from __future__ import annotations

from scrapy.statscollectors import MemoryStatsCollector


class CrawlStatsCollector(MemoryStatsCollector):
    """MemoryStatsCollector with plain attribute access (same behaviour, same stats)."""

    __getattribute__ = object.__getattribute__
