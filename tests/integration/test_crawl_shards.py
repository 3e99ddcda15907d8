"""A source crawled by two shard processes (crawlers.run --processes 2) yields every listing exactly
once, as one process does, and reports merged, complete statistics."""
from __future__ import annotations

import json

import pytest

from cluewatch.demo_sites import demo_sources_yaml, load_catalogue, serve_demo_sites
from crawlers.run import run_crawl_subprocess

pytestmark = pytest.mark.service


@pytest.mark.parametrize("site, source_id", [("shop", "demo-shop"), ("market", "demo-market")])
def test_two_shards_scrape_every_listing_once(tmp_path, site, source_id):
    with serve_demo_sites() as sites:
        sources = tmp_path / "sources.yaml"
        sources.write_text(demo_sources_yaml(sites), encoding="utf-8")
        out = tmp_path / "items.jsonl"
        logged = []
        stats = run_crawl_subprocess(sources, source_id, None, log=logged.append, output=out, timeout=120,
                                     processes=2)
    items = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    expected = sorted(i["id"] for i in load_catalogue() if i["site"] == site)
    assert sorted(item["external_id"] for item in items) == expected
    assert stats["shards"] == 2 and stats["complete"] is True and stats["finish_reason"] == "finished"
    assert stats["items_scraped"] == len(expected) and stats["errors"] == 0 and stats["dropped"] == 0
    assert any("shard 0/2" in line for line in logged) and any("shard 1/2" in line for line in logged)
    assert not list(tmp_path.glob("items.jsonl.shard*"))  # the shards' feeds were merged and removed
