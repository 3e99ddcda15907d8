"""Crawl the hostile fixture shop (tests/fixtures_sites) into a real PostgreSQL through the same
path production uses (cluewatch.jobs.crawl.crawl_source → crawlers.run child process)."""
from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from cluewatch.jobs.crawl import crawl_source
from tests.fixtures_sites import HostileSite, serve_hostile_site, sources_yaml

pytestmark = pytest.mark.service

ALL_ITEMS = {"a1", "a2", "a3", "a4", "m1", "x1", "x2", "b1", "b2", "c1"}
# Short timeout for the slow page (it answers after 3 s); tiny backoff so retries stay quick.
TEST_SETTINGS = {"DOWNLOAD_TIMEOUT": 1, "RETRY_BACKOFF_BASE": 0.05}


def _rows(db, query, *args):
    with db.cursor() as cur:
        cur.execute(query, args)
        return cur.fetchall()


@pytest.fixture
def hostile_crawl(db_url, db, tmp_path):
    """One crawl of the hostile shop (hostile pages on), whose r1 item redirects to a second
    loopback server; the guard may reach only the first server's port."""
    with serve_hostile_site(HostileSite()) as other, serve_hostile_site(HostileSite(slow_seconds=3)) as site:
        site.redirect_to = other.base_url
        sources = tmp_path / "sources.yaml"
        sources.write_text(sources_yaml(site.base_url), encoding="utf-8")
        settings = {**TEST_SETTINGS,
                    "CLUEWATCH_SSRF_ALLOWED_PRIVATE_ORIGINS": [urlsplit(site.base_url).netloc]}
        started = time.monotonic()
        logs: list[str] = []
        stats = crawl_source(sources, "hostile", db_url, log=logs.append, timeout=90, settings=settings)
        elapsed = time.monotonic() - started
        yield site, other, stats, logs, elapsed


def test_hostile_shop(hostile_crawl, db):
    site, other, stats, logs, elapsed = hostile_crawl
    paths = site.paths()

    # robots.txt read first; the disallowed path never fetched.
    assert paths[0] == "/robots.txt"
    assert not any(p.startswith("/private/") for p in paths)
    assert stats["robots_forbidden"] == 1

    # Every listing of every template stored once, though a1 and a2 are linked from two pages.
    rows = _rows(db, """SELECT l.external_id, count(v.id) FROM listings l
                        JOIN listing_versions v ON v.listing_id = l.id
                        WHERE l.source_id = 'hostile' GROUP BY 1""")
    assert dict(rows) == {i: 1 for i in ALL_ITEMS}
    assert paths.count("/item/a1.html") == 1 and paths.count("/item/a2.html") == 1

    # Missing price: stored with no price; broken HTML: stored with its price; plain template: price.
    # x2's <title> is never closed, so the whole page parses as its title: stored, price unknown.
    prices = dict(_rows(db, """SELECT l.external_id, v.price_low FROM listings l
                               JOIN listing_versions v ON v.id = l.current_version_id"""))
    assert prices["m1"] is None and prices["x2"] is None
    assert str(prices["x1"]) == "12.50" and str(prices["c1"]) == "199.00" and str(prices["b1"]) == "6.90"

    # 500: first try + RETRY_TIMES (2) retries, then counted as a failed item page.
    assert paths.count("/item/e500.html") == 3
    # Slow page: timed out on every try, counted, and the crawl went on and finished.
    assert paths.count("/item/slow.html") == 3
    assert stats["page_failure_reasons"] == {"item/http_500": 1, "item/DownloadTimeoutError": 1}
    assert stats["page_failures"] == {"item": 2}
    assert stats["retries"] == 4
    assert stats["finish_reason"] == "finished"
    assert elapsed < 60

    # The redirect to another loopback port was refused by the SSRF guard: nothing reached it.
    assert other.paths() == []
    assert stats["ssrf_refused"] == 1
    assert any("SSRF guard refused" in line and other.base_url in line for line in logs)

    # Failed pages make the run incomplete: recorded, and nothing marked removed.
    assert stats["complete"] is False and stats["removed"] == 0
    run = _rows(db, "SELECT status, complete, finished_at IS NOT NULL FROM crawl_runs WHERE id = %s",
                stats["run_id"])
    assert run == [("finished", False, True)]


def test_search_queries_from_the_registry(db_url, db, tmp_path):
    from cluewatch.registry import load_registry
    from sinks.db import transaction
    from sinks.registry_store import save_registry

    registry = load_registry(Path(__file__).resolve().parents[1] / "data" / "registry" / "valid.yaml")
    with transaction(db_url) as conn:
        save_registry(conn, registry)
    names = [n for mark in registry.marks for n in mark.names]
    assert "雪碧" in names and "Cola Seven" in names

    with serve_hostile_site(HostileSite(hostile=False)) as site:
        sources = tmp_path / "sources.yaml"
        sources.write_text(sources_yaml(site.base_url, extra=(
            f'    search_url: "{site.base_url}/search?q={{query}}"\n    search_queries: registry\n')),
            encoding="utf-8")
        stats = crawl_source(sources, "hostile", db_url, log=lambda line: None, timeout=60,
                             settings=TEST_SETTINGS)
        searches = [p for p in site.paths() if p.startswith("/search")]
    # Every registered name searched once, URL-encoded (雪碧 → %E9%9B%AA%E7%A2%A7, space → %20).
    assert sorted(parse_qs(urlsplit(p).query)["q"][0] for p in searches) == sorted(names)
    assert "/search?q=%E9%9B%AA%E7%A2%A7" in searches and "/search?q=Cola%20Seven" in searches
    assert stats["complete"] is True


def test_registry_search_without_a_database_fails_clearly(tmp_path):
    from crawlers.run import run_crawl_subprocess

    sources = tmp_path / "sources.yaml"
    sources.write_text(sources_yaml("http://127.0.0.1:9", extra=(
        '    search_url: "http://127.0.0.1:9/search?q={query}"\n    search_queries: registry\n')),
        encoding="utf-8")
    with pytest.raises(RuntimeError, match="search_queries: registry, which needs the database"):
        run_crawl_subprocess(sources, "hostile", None, log=lambda line: None, timeout=60)


def test_robots_override_is_logged(tmp_path):
    from crawlers.run import run_crawl_subprocess

    with serve_hostile_site(HostileSite(hostile=False)) as site:
        sources = tmp_path / "sources.yaml"
        sources.write_text(sources_yaml(site.base_url, extra=(
            "    obey_robots_txt: false\n"
            '    robots_txt_override_reason: "fixture: the rights holder asked us to check /private/"\n')),
            encoding="utf-8")
        logs: list[str] = []
        stats = run_crawl_subprocess(sources, "hostile", None, log=logs.append, timeout=60,
                                     settings=TEST_SETTINGS)
        paths = site.paths()
    assert any("robots.txt NOT obeyed" in line and "rights holder" in line for line in logs)
    assert "/robots.txt" not in paths and "/private/item/p1.html" in paths
    assert stats["robots_forbidden"] == 0
