"""Item pipelines: the small ones on plain items, the store against a real PostgreSQL via a crawl."""
from __future__ import annotations

import pytest
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.utils.test import get_crawler

from cluewatch.listing import content_sha256
from crawlers.items import Listing
from crawlers.pipelines import (ContentHashPipeline, DropDuplicatesPipeline, PostgresStorePipeline,
                                RequireFieldsPipeline)


class Stats(dict):
    def inc_value(self, key, count=1):
        self[key] = self.get(key, 0) + count


def listing(**overrides):
    values = dict(source="s", url="http://127.0.0.1/i/1", external_id="1", title="雪碧", price_low="3")
    values.update(overrides)
    return Listing(**values)


def test_require_fields_drops_and_counts():
    stats = Stats()
    pipeline = RequireFieldsPipeline(stats)
    assert pipeline.process_item(listing()) is not None
    with pytest.raises(DropItem):
        pipeline.process_item(listing(title=""))
    assert stats == {"cluewatch/dropped/missing_title": 1}


def test_duplicates_dropped_per_source():
    stats = Stats()
    pipeline = DropDuplicatesPipeline(stats)
    pipeline.process_item(listing())
    pipeline.process_item(listing(source="other"))
    with pytest.raises(DropItem):
        pipeline.process_item(listing(url="http://127.0.0.1/i/1?from=search"))
    assert stats == {"cluewatch/dropped/duplicate": 1}


def test_content_hash_filled():
    item = ContentHashPipeline().process_item(listing(content_sha256="stale"))
    assert item["content_sha256"] == content_sha256(dict(item))


def test_store_pipeline_needs_a_database_url():
    with pytest.raises(NotConfigured):
        PostgresStorePipeline.from_crawler(get_crawler(settings_dict={}))
    pipeline = PostgresStorePipeline.from_crawler(get_crawler(settings_dict={"CLUEWATCH_DATABASE_URL": "postgresql:///x"}))
    assert pipeline.database_url == "postgresql:///x"


class FakeConn:
    closed = False

    def __init__(self):
        self.calls = []

    def commit(self):
        self.calls.append("commit")

    def rollback(self):
        self.calls.append("rollback")


def test_store_pipeline_survives_a_bad_item(monkeypatch):
    import sinks.listings
    from sinks.listings import InvalidListing, StoreResult

    def store(conn, item):
        if item["external_id"] == "bad":
            raise InvalidListing("currency is not an ISO 4217 code")
        return StoreResult(listing_id=1, version_id=1, new_version=item["external_id"] == "new")

    monkeypatch.setattr(sinks.listings, "store_listing", store)
    stats, conn = Stats(), FakeConn()
    pipeline = PostgresStorePipeline(stats, "postgresql:///unused")
    pipeline.conn = conn
    for external_id in ("new", "bad", "same"):
        assert pipeline.process_item(listing(external_id=external_id))["external_id"] == external_id
    assert conn.calls == ["commit", "rollback", "commit"]
    assert stats == {"cluewatch/stored_new_version": 1, "cluewatch/store_errors": 1, "cluewatch/unchanged": 1}


@pytest.mark.service
def test_crawl_stores_versions_and_a_recrawl_changes_nothing(db_url, tmp_path):
    from cluewatch.demo_sites import demo_sources_yaml, load_catalogue, serve_demo_sites
    from crawlers.run import run_crawl_subprocess

    expected = len([i for i in load_catalogue() if i["site"] == "market"])
    with serve_demo_sites() as sites:
        sources = tmp_path / "sources.yaml"
        sources.write_text(demo_sources_yaml(sites), encoding="utf-8")
        first = run_crawl_subprocess(sources, "demo-market", db_url, log=lambda line: None, timeout=120)
        second = run_crawl_subprocess(sources, "demo-market", db_url, log=lambda line: None, timeout=120)
    assert (first["stored_new_version"], first["unchanged"], first["errors"]) == (expected, 0, 0)
    assert (second["stored_new_version"], second["unchanged"], second["errors"]) == (0, expected, 0)


@pytest.mark.service
def test_unreachable_database_fails_the_crawl_with_a_clear_reason(tmp_path):
    from cluewatch.demo_sites import demo_sources_yaml, serve_demo_sites
    from crawlers.run import run_crawl_subprocess

    with serve_demo_sites() as sites:
        sources = tmp_path / "sources.yaml"
        sources.write_text(demo_sources_yaml(sites), encoding="utf-8")
        with pytest.raises(RuntimeError) as err:
            run_crawl_subprocess(sources, "demo-market", "postgresql://cw:secret@127.0.0.1:1/none",
                                 log=lambda line: None, timeout=120)
    message = str(err.value)
    assert "crawl of 'demo-market' failed: OperationalError" in message
    assert "secret" not in message
