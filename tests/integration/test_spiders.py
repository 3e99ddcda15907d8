"""The three spiders against the running demo sites, each crawl in its own process (Twisted's reactor
runs once per process) through crawlers.run.run_crawl_subprocess, items written to a JSONL feed."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from decimal import Decimal

import pytest

from cluewatch.demo_sites import demo_sources_yaml, load_catalogue, load_catalogue_data, price_range, serve_demo_sites
from cluewatch.listing import content_sha256
from cluewatch.model import LISTING_FIELDS
from crawlers.items import EVIDENCE_FIELDS
from crawlers.run import run_crawl_subprocess

SOURCE_OF = {"shop": "demo-shop", "fair": "demo-fair", "market": "demo-market"}
KIND_OF = {"shop": "ecommerce", "fair": "tradefair", "market": "market"}


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """{site: (base_url, stats, items)} for one crawl of each demo site."""
    tmp = tmp_path_factory.mktemp("crawl")
    results = {}
    with serve_demo_sites() as sites:
        sources = tmp / "sources.yaml"
        sources.write_text(demo_sources_yaml(sites), encoding="utf-8")
        for site, source_id in SOURCE_OF.items():
            out = tmp / f"{source_id}.jsonl"
            logged = []
            stats = run_crawl_subprocess(sources, source_id, None, log=logged.append, output=out, timeout=120)
            items = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
            results[site] = (getattr(sites, site), stats, items, logged)
    return results


pytestmark = pytest.mark.service


@pytest.mark.parametrize("site", list(SOURCE_OF))
def test_every_listing_scraped_exactly_once_and_nothing_else(crawled, site):
    base, stats, items, _ = crawled[site]
    expected = sorted(i["id"] for i in load_catalogue() if i["site"] == site)
    assert sorted(item["external_id"] for item in items) == expected
    assert stats["items_scraped"] == len(expected)
    assert (stats["errors"], stats["dropped"], stats["stored_new_version"]) == (0, 0, 0)
    assert stats["source"] == SOURCE_OF[site] and stats["pages"] > len(expected)


@pytest.mark.parametrize("site", list(SOURCE_OF))
def test_fields_match_the_catalogue(crawled, site):
    base, _, items, _ = crawled[site]
    truth = {i["id"]: i for i in load_catalogue()}
    for item in items:
        want = truth[item["external_id"]]
        low, high = price_range(want)
        assert set(item) == set(LISTING_FIELDS) | set(EVIDENCE_FIELDS)
        assert item["title"] == want["title"]
        assert (Decimal(item["price_low"]), Decimal(item["price_high"])) == (Decimal(low), Decimal(high))
        assert item["currency"] == want["currency"]
        assert item["seller_name"] == want["seller"]
        assert (item["source"], item["kind"]) == (SOURCE_OF[site], KIND_OF[site])
        assert item["url"].startswith(base + "/")
        assert item["image_urls"][0] == f"{base}/img/{want['id']}.jpg"
        assert all(re.match(r"https?://", u) for u in item["image_urls"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", item["captured_at"])
        assert item["content_sha256"] == content_sha256(item)


def test_gbk_page_title_decoded(crawled):
    _, _, items, _ = crawled["shop"]
    gbk = next(i for i in load_catalogue() if i.get("encoding") == "gbk")
    assert next(i for i in items if i["external_id"] == gbk["id"])["title"] == gbk["title"]


def test_directory_sellers_carry_location(crawled):
    data = load_catalogue_data()
    exhibitors = {e["id"]: e for e in data["exhibitors"]}
    stalls = {s["id"]: s for s in data["stalls"]}
    truth = {i["id"]: i for i in load_catalogue()}
    fair_base, _, fair_items, _ = crawled["fair"]
    for item in fair_items:
        exhibitor = exhibitors[truth[item["external_id"]]["exhibitor"]]
        assert item["seller_location"] == f"Hall {exhibitor['hall']}, Booth {exhibitor['booth']}"
        assert (item["seller_id"], item["seller_url"]) == (exhibitor["id"], f"{fair_base}/exhibitors/{exhibitor['id']}")
        if truth[item["external_id"]]["markup"] == "inline":
            assert item["url"] == f"{fair_base}/exhibitors/{exhibitor['id']}#{item['external_id']}"
    _, _, market_items, _ = crawled["market"]
    for item in market_items:
        stall = stalls[truth[item["external_id"]]["stall"]]
        assert item["seller_location"] == stall["location"] and item["seller_id"] == stall["id"]


def test_crawl_log_is_streamed(crawled):
    _, _, _, logged = crawled["shop"]
    assert any("Spider opened" in line for line in logged)
    assert any("Spider closed (finished)" in line for line in logged)


def test_unknown_source_is_a_one_line_error(tmp_path):
    sources = tmp_path / "sources.yaml"
    sources.write_text(demo_sources_yaml(type("S", (), {"shop": "http://127.0.0.1:9", "fair": "http://127.0.0.1:9",
                                                         "market": "http://127.0.0.1:9"})()), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "crawlers.run", "--sources", str(sources), "--source", "nope"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().count("\n") == 0 and "unknown source id 'nope'" in proc.stderr
    with pytest.raises(RuntimeError, match="unknown source id"):
        run_crawl_subprocess(sources, "nope", None, log=lambda line: None)


@pytest.mark.parametrize("site", ["fair", "market"])
def test_generic_default_selectors_crawl_a_directory_site(tmp_path, site):
    """Without per-source selectors the spiders' generic guesses still find every listing."""
    import yaml

    with serve_demo_sites() as sites:
        raw = yaml.safe_load(demo_sources_yaml(sites))
        for source in raw["sources"]:
            source.pop("selectors")
        sources = tmp_path / "sources.yaml"
        sources.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        out = tmp_path / "items.jsonl"
        run_crawl_subprocess(sources, SOURCE_OF[site], None, log=lambda line: None, output=out, timeout=120)
    items = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    truth = {i["id"]: i for i in load_catalogue() if i["site"] == site}
    assert sorted(i["external_id"] for i in items) == sorted(truth)
    assert all(i["seller_name"] == truth[i["external_id"]]["seller"] and i["seller_location"] for i in items)
