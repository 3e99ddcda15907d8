"""crawlers.run.crawl_settings: disabled Scrapy components are not even imported; the lean stats class."""
from __future__ import annotations

import json
import subprocess
import sys

from cluewatch.sources import sources_from_text
from crawlers.run import crawl_settings
from crawlers.stats import CrawlStatsCollector

SOURCE = """sources:
  - id: shop
    kind: ecommerce
    platform: Shop
    start_urls: ['https://shop.example/list']
    allowed_domains: ['shop.example']
"""


def _settings():
    return crawl_settings(sources_from_text(SOURCE)[0])


def test_disabled_components_are_gone_from_the_base_maps_and_the_rest_stay():
    settings = _settings()
    extensions = settings.getwithbase("EXTENSIONS")
    assert "scrapy.extensions.remote_control.RemoteControl" not in extensions
    assert "scrapy.extensions.corestats.CoreStats" in extensions  # not disabled: kept
    middlewares = settings.getwithbase("DOWNLOADER_MIDDLEWARES")
    assert "scrapy.downloadermiddlewares.cookies.CookiesMiddleware" not in middlewares
    assert "scrapy.downloadermiddlewares.retry.RetryMiddleware" not in middlewares
    assert middlewares["crawlers.middlewares.BackoffRetryMiddleware"] == 550
    assert "scrapy.downloadermiddlewares.redirect.RedirectMiddleware" in middlewares


def test_building_the_crawl_components_does_not_import_the_disabled_ones():
    # A fresh interpreter: this test process may have imported aiohttp for other reasons.
    code = f"""
import json, sys
from cluewatch.sources import sources_from_text
from crawlers.run import crawl_settings, spider_for
from scrapy.crawler import Crawler
from scrapy.core.downloader.middleware import DownloaderMiddlewareManager
from scrapy.extension import ExtensionManager
from scrapy.utils.reactor import install_reactor
settings = crawl_settings(sources_from_text({SOURCE!r})[0])
install_reactor(settings["TWISTED_REACTOR"])
crawler = Crawler(spider_for("ecommerce"), settings)
crawler._apply_settings()
names = [type(m).__name__ for m in DownloaderMiddlewareManager.from_crawler(crawler).middlewares]
names += [type(e).__name__ for e in ExtensionManager.from_crawler(crawler).middlewares]
print(json.dumps({{"names": names, "modules": [m for m in ("aiohttp", "tldextract") if m in sys.modules]}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result["modules"] == []
    assert "SSRFGuardMiddleware" in result["names"] and "RedirectMiddleware" in result["names"]
    assert "CoreStats" in result["names"] and "CookiesMiddleware" not in result["names"]


def test_the_crawl_uses_the_lean_stats_collector_and_it_counts_like_scrapys():
    assert _settings().get("STATS_CLASS") == "crawlers.stats.CrawlStatsCollector"
    from scrapy.utils.test import get_crawler

    stats = CrawlStatsCollector(get_crawler())
    stats.inc_value("pages")
    stats.inc_value("pages", 2)
    stats.max_value("peak", 3)
    stats.max_value("peak", 1)
    stats.set_value("reason", "finished")
    assert stats.get_stats() == {"pages": 3, "peak": 3, "reason": "finished"}
    assert stats.get_value("missing", "default") == "default"
