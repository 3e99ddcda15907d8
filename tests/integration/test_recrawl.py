"""Incremental recrawl and removal marking against the fixture shop and a real PostgreSQL:
conditional requests → 304 → no new versions; a listing that disappears is marked removed only
after a complete crawl; a 404 on a stored listing's page removes it at once; a listing that comes
back is un-removed."""
from __future__ import annotations

import pytest

from cluewatch.jobs.crawl import crawl_source
from tests.fixtures_sites import HostileSite, serve_hostile_site, sources_yaml

pytestmark = pytest.mark.service

SETTINGS = {"DOWNLOAD_TIMEOUT": 2, "RETRY_BACKOFF_BASE": 0.05}
ITEMS = {"a1", "a2", "a3", "a4", "m1", "x1", "x2", "b1", "b2", "c1"}


def _state(db) -> dict[str, tuple]:
    """{external_id: (removed?, versions, last_seen_at, has etag)}"""
    with db.cursor() as cur:
        cur.execute("""SELECT l.external_id, l.removed_at IS NOT NULL, count(v.id), l.last_seen_at,
                              l.etag IS NOT NULL
                       FROM listings l JOIN listing_versions v ON v.listing_id = l.id
                       WHERE l.source_id = 'hostile' GROUP BY l.id""")
        rows = cur.fetchall()
    db.commit()  # end the snapshot: the next read sees the next crawl
    return {r[0]: r[1:] for r in rows}


def _item_requests(site, since: int):
    return [(p, h) for p, h in site.hits[since:] if _is_item(p)]


def _is_item(path: str) -> bool:
    return path.startswith(("/item/", "/products/", "/dp/")) and path != "/item/nope.html"


def test_recrawl_conditional_requests_and_removals(db_url, db, tmp_path):
    with serve_hostile_site(HostileSite(hostile=False)) as site:
        sources = tmp_path / "sources.yaml"
        sources.write_text(sources_yaml(site.base_url), encoding="utf-8")

        def crawl():
            since = len(site.hits)
            stats = crawl_source(sources, "hostile", db_url, log=lambda line: None, timeout=60,
                                 settings=SETTINGS)
            return stats, since

        # 1. First crawl: everything new, validators stored, complete.
        first, _ = crawl()
        assert first["complete"] is True and first["stored_new_version"] == len(ITEMS)
        state1 = _state(db)
        assert set(state1) == ITEMS
        assert all(versions == 1 and has_etag and not removed
                   for removed, versions, _, has_etag in state1.values())

        # 2. Unchanged site: every item request conditional, every answer 304, no new version,
        #    yet every listing seen (last_seen_at moved).
        second, since = crawl()
        requests = _item_requests(site, since)
        assert len(requests) == len(ITEMS)
        assert all("if-none-match" in h and "if-modified-since" in h for _, h in requests)
        assert second["not_modified"] == len(ITEMS)
        assert second["stored_new_version"] == 0 and second["items_scraped"] == 0
        assert second["complete"] is True and second["removed"] == 0
        state2 = _state(db)
        assert all(state2[i][1] == 1 and state2[i][2] > state1[i][2] and not state2[i][0] for i in ITEMS)

        # 3. a3 disappears from the lists, b2's page now answers 404, and list page 3 fails (500):
        #    b2 is removed at once (direct evidence); a3 and a4 (only on page 3) are NOT marked
        #    removed, because the crawl was incomplete.
        site.unlisted.add("a3")
        site.gone.add("b2")
        site.failing_list_pages.add(3)
        third, since = crawl()
        assert third["complete"] is False and third["page_failures"] == {"list": 1}
        assert third["listings_gone"] == 1 and third["removed"] == 0
        state3 = _state(db)
        assert [i for i in ITEMS if state3[i][0]] == ["b2"]
        assert site.paths()[since:].count("/shop?page=3") == 3  # retried

        # 4. Page 3 is back: a complete crawl; a3 (still unlisted) is now marked removed.
        site.failing_list_pages.clear()
        fourth, _ = crawl()
        assert fourth["complete"] is True and fourth["removed"] == 1
        state4 = _state(db)
        assert sorted(i for i in ITEMS if state4[i][0]) == ["a3", "b2"]

        # 5. a3 is listed again (unchanged: answered 304): un-removed, still one version.
        site.unlisted.clear()
        fifth, _ = crawl()
        state5 = _state(db)
        assert not state5["a3"][0] and state5["a3"][1] == 1 and state5["b2"][0]
        assert fifth["removed"] == 0

    with db.cursor() as cur:
        cur.execute("SELECT status, complete FROM crawl_runs WHERE source_id = 'hostile' ORDER BY id")
        assert cur.fetchall() == [("finished", True), ("finished", True), ("finished", False),
                                  ("finished", True), ("finished", True)]


def test_mark_removed_only_judges_finished_complete_runs(db):
    from sinks.crawl_runs import finish_run, start_run
    from sinks.listings import store_listing
    from sinks.removals import mark_removed

    store_listing(db, {"source": "s1", "external_id": "x", "url": "http://shop.example/x", "title": "X"})
    db.commit()
    for status, complete in (("failed", False), ("finished", False), ("running", None)):
        run = start_run(db, "s1")
        db.commit()
        if status != "running":
            finish_run(db, run, status, complete, {})
        assert mark_removed(db, "s1", run) == 0
    run = start_run(db, "s1")
    db.commit()
    finish_run(db, run, "finished", True, {"pages": 1})
    assert mark_removed(db, "s1", run) == 1
    with pytest.raises(ValueError):
        mark_removed(db, "other-source", run)
    with pytest.raises(ValueError):
        finish_run(db, run, "finished", True, {})  # already finished


def test_a_crawl_that_fails_is_recorded_as_a_failed_run_and_marks_nothing(db_url, db, tmp_path):
    from sinks.listings import store_listing

    store_listing(db, {"source": "hostile", "external_id": "old", "url": "http://127.0.0.1:9/item/old.html",
                       "title": "Old"})
    db.commit()
    with serve_hostile_site(HostileSite(hostile=False)) as site:
        sources = tmp_path / "sources.yaml"
        sources.write_text(sources_yaml(site.base_url), encoding="utf-8")
        with pytest.raises(RuntimeError, match="crawl of 'hostile' failed"):
            # Killed by the caller's timeout (the child cannot even start in 0.3 s).
            crawl_source(sources, "hostile", db_url, log=lambda line: None, timeout=0.3)
    with db.cursor() as cur:
        cur.execute("SELECT status, complete, stats ? 'error' FROM crawl_runs")
        assert cur.fetchall() == [("failed", False, True)]
        cur.execute("SELECT removed_at FROM listings WHERE external_id = 'old'")
        assert cur.fetchone() == (None,)
