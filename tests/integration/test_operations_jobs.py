"""The operations steps the DAGs call, without Airflow, on a real PostgreSQL: batched (mapped)
scoring, rescan scope and trigger, manual-run selections, the failure callback, evidence retention
and takedown verification (a real spider against a fixture shop)."""
from __future__ import annotations

import os
import threading
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import psycopg2
import pytest
from psycopg2 import sql

from cluewatch.jobs import detect as detect_job
from cluewatch.model import Mark, Registry
from sinks.db import connect
from sinks.listings import store_listing
from sinks.registry_store import save_registry

pytestmark = pytest.mark.service

REGISTRY = Registry(marks=(
    Mark(id="nike", names=("Nike", "耐克"), reg_no="N-100", authorized_sellers=("耐克官方旗舰店",)),
    Mark(id="sprite", names=("Sprite", "雪碧"), reg_no="S-200"),
), sha256="f" * 64)
TITLES = ["高仿耐克 AJ1 1:1", "雪碧 330ml 特价", "无品牌 帆布鞋", "Nike 官方正品", "耐克 跑鞋 超A",
          "Sprite zero 批发", "普通 水杯", "耐克同款 卫衣", "雪碧 柠檬味 24罐"]


@pytest.fixture
def second_db_url(pg_server, migrated_template):
    """A second fresh database, to run the same data two ways and compare."""
    from urllib.parse import urlsplit, urlunsplit

    name = f"cw_test2_{os.getpid()}"
    admin = psycopg2.connect(pg_server)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        cur.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(migrated_template)))
    yield urlunsplit(urlsplit(pg_server)._replace(path=f"/{name}"))
    with admin.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    admin.close()


def add(db, external_id, title, seller="某店", **evidence):
    return store_listing(db, dict(source="shop", platform="Shop", kind="ecommerce", external_id=external_id,
                                  url=f"http://127.0.0.1/item/{external_id}", title=title, seller_name=seller,
                                  price_low="99", price_high="99", currency="CNY", **evidence))


def rows(db, query, args=()):
    with db.cursor() as cur:
        cur.execute(query, args)
        out = cur.fetchall()
    db.commit()
    return out


def fill(conn):
    save_registry(conn, REGISTRY)
    for i, title in enumerate(TITLES):
        add(conn, str(i), title, seller="耐克官方旗舰店" if "官方" in title else "某店")
    conn.commit()


def outcome(conn):
    """What scoring wrote, independent of ids and order."""
    return (
        sorted(rows(conn, """SELECT l.external_id, f.detector, f.mark_id, f.score, f.reason FROM findings f
                             JOIN listing_versions v ON v.id = f.listing_version_id
                             JOIN listings l ON l.id = v.listing_id""")),
        sorted(rows(conn, """SELECT l.external_id, s.score, s.reasons FROM suspects s
                             JOIN listing_versions v ON v.id = s.listing_version_id
                             JOIN listings l ON l.id = v.listing_id""")),
        sorted(rows(conn, "SELECT key, payload->'listing'->>'external_id' FROM outbox")),
        rows(conn, "SELECT count(*) FROM detection_runs"),
    )


def test_batched_parallel_scoring_matches_one_run(db_url, second_db_url):
    single, batched = connect(db_url), connect(second_db_url)
    try:
        fill(single)
        fill(batched)
        whole = detect_job.detect_pending(single)
        batches = detect_job.plan_batches(batched, batch_size=2)
        assert [b["versions"] for b in batches] == [2, 2, 2, 2, 1]
        # The batches run at once, each on its own connection, as mapped task instances would.
        results = []

        def score(batch):
            conn = connect(second_db_url)
            try:
                results.append(detect_job.detect_pending(conn, selection=detect_job.Selection(
                    scope="new", lo=batch["lo"], hi=batch["hi"])))
            finally:
                conn.close()

        threads = [threading.Thread(target=score, args=(b,)) for b in batches]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(r.scored for r in results) == whole.scored == len(TITLES)
        assert sum(r.new_suspects for r in results) == whole.new_suspects > 0
        assert outcome(batched) == outcome(single)
        # Nothing left for either way of running.
        assert detect_job.plan_batches(batched) == [] and detect_job.detect_pending(single).scored == 0
    finally:
        single.close()
        batched.close()


def test_plan_batches_cover_pending_and_cap_their_number(db):
    fill(db)
    batches = detect_job.plan_batches(db, batch_size=4)
    ids = [v for (v,) in rows(db, "SELECT current_version_id FROM listings ORDER BY 1")]
    assert [b["versions"] for b in batches] == [4, 4, 1]
    assert batches[0]["lo"] == ids[0] and batches[-1]["hi"] == ids[-1]
    assert all(a["hi"] < b["lo"] for a, b in zip(batches, batches[1:]))
    # At most max_batches: the batches grow instead (Airflow caps a mapped task's length).
    assert [b["versions"] for b in detect_job.plan_batches(db, batch_size=1, max_batches=2)] == [5, 4]


def test_rescan_scope_and_the_scoring_version_trigger(db):
    fill(db)
    assert detect_job.scoring_version(db)["changed"] is True   # first pair ever seen
    assert detect_job.scoring_version(db)["changed"] is False
    detect_job.detect_pending(db, selection=detect_job.Selection(scope="new"))
    # A new registry version: everything is pending again, but none of it is *new*.
    save_registry(db, Registry(marks=REGISTRY.marks, sha256="e" * 64))
    db.commit()
    version = detect_job.scoring_version(db)
    assert version["changed"] is True and version["registry_sha256"] == "e" * 64
    assert detect_job.plan_batches(db, selection=detect_job.Selection(scope="new")) == []
    add(db, "new", "耐克 新款")
    db.commit()
    [only_new] = detect_job.plan_batches(db, selection=detect_job.Selection(scope="new"))
    assert only_new["versions"] == 1
    assert sum(b["versions"] for b in detect_job.plan_batches(db)) == len(TITLES) + 1
    suspects_before = rows(db, "SELECT count(*) FROM suspects")[0][0]
    stats = detect_job.detect_pending(db)  # what the rescan DAG's batches do, all in one here
    assert stats.scored == len(TITLES) + 1
    # A re-scored version that was already a suspect gets no second suspect or event.
    assert rows(db, "SELECT count(*) FROM suspects")[0][0] == suspects_before + 1
    assert rows(db, "SELECT count(*) FROM outbox")[0][0] == suspects_before + 1


def test_manual_run_selection_by_mark_and_date(db):
    fill(db)
    detect_job.detect_pending(db)
    save_registry(db, Registry(marks=REGISTRY.marks, sha256="d" * 64))
    with db.cursor() as cur:  # listing 0 was captured long ago
        cur.execute("""UPDATE listing_versions SET captured_at = '2020-01-01T00:00:00Z'
                       WHERE listing_id = (SELECT id FROM listings WHERE external_id = '0')""")
    db.commit()

    def pending(**params):
        selection = detect_job.Selection.from_params(params)
        return sorted(r["external_id"] for r in detect_job._pending(db, "d" * 64, 100, selection))

    sprite = pending(mark_id="sprite")
    assert sprite and all("雪碧" in TITLES[int(i)] or "Sprite" in TITLES[int(i)] for i in sprite)
    assert pending(until="2021-01-01") == ["0"]
    assert "0" not in pending(since="2021-01-01") and len(pending(since="2021-01-01")) == len(TITLES) - 1
    assert pending(mark_id="nike", until="2021-01-01") == ["0"]
    with pytest.raises(ValueError, match="not an ISO date"):
        detect_job.Selection.from_params({"since": "last tuesday"})


def test_failure_callback_records_what_status_shows(db_url, db):
    from cluewatch.jobs.failures import record_task_failure
    from sinks.status import format_status, pipeline_status

    # The slice of Airflow's task context the callback reads (ti attributes and the exception).
    ti = SimpleNamespace(dag_id="crawl_demo-shop", task_id="crawl", run_id="scheduled__2026-11-27",
                         map_index=-1, try_number=4)
    context = {"ti": ti, "exception": RuntimeError("crawl of 'demo-shop' failed: connection refused")}
    failure_id = record_task_failure(context, database_url=db_url)
    assert failure_id is not None
    [(dag_id, task_id, tries, error)] = rows(db, "SELECT dag_id, task_id, try_number, error FROM pipeline_failures")
    assert (dag_id, task_id, tries) == ("crawl_demo-shop", "crawl", 4)
    assert error == "RuntimeError: crawl of 'demo-shop' failed: connection refused"
    text = format_status(pipeline_status(db))
    assert "task failures (last 7 days, after retries): 1" in text
    assert "crawl_demo-shop.crawl try 4" in text and "connection refused" in text
    # A callback whose database is down still returns (it must never mask the task's failure).
    assert record_task_failure(context, database_url="postgresql://nobody@127.0.0.1:9/none") is None


def _evidence(store, page: bytes, image: bytes):
    from sinks.blobstore import blob_key
    import hashlib

    page_key = store.put(page, suffix=".html.gz")
    image_key = store.put(image, suffix=".jpg")
    thumb_key = store.put(image + b"thumb", suffix=".jpg")
    assert page_key == blob_key(hashlib.sha256(page).hexdigest(), ".html.gz")
    return dict(page_sha256=hashlib.sha256(page).hexdigest(), page_path=page_key, page_bytes=len(page),
                image_urls=["http://127.0.0.1/img/1.jpg"],
                images=[{"url": "http://127.0.0.1/img/1.jpg", "sha256": hashlib.sha256(image).hexdigest(),
                         "path": image_key, "thumb_path": thumb_key, "bytes": len(image)}])


def test_retention_keeps_suspect_evidence_live_listings_and_shared_blobs(db, tmp_path):
    from sinks.blobstore import LocalBlobStore
    from sinks.retention import RetentionPolicy, purge_evidence

    store = LocalBlobStore(tmp_path / "blobs", fsync=False)
    save_registry(db, REGISTRY)
    # old: superseded by a newer version → its page and images may go.
    old = add(db, "old", "旧 水杯", **_evidence(store, b"<old page>", b"old-image"))
    add(db, "old", "新 水杯", **_evidence(store, b"<new page>", b"new-image"))
    # gone: a removed listing, whose only version shares its image bytes with a kept version.
    gone = add(db, "gone", "下架 杯子", **_evidence(store, b"<gone page>", b"new-image"))
    # evidence: a confirmed suspect's version on a removed listing: kept at any age.
    evidence = add(db, "evidence", "高仿耐克 AJ1", **_evidence(store, b"<evidence page>", b"fake-image"))
    # dismissed: a dismissed suspect protects nothing.
    dismissed = add(db, "dismissed", "耐克 正品?", **_evidence(store, b"<dismissed page>", b"d-image"))
    with db.cursor() as cur:
        cur.execute("UPDATE listing_versions SET created_at = now() - interval '400 days'")
        cur.execute("UPDATE listings SET removed_at = now() WHERE external_id IN ('gone', 'evidence', 'dismissed')")
        cur.execute("INSERT INTO suspects (listing_version_id, score, reasons, status) VALUES "
                    "(%s, 0.9, '{x}', 'confirmed'), (%s, 0.5, '{y}', 'dismissed')",
                    (evidence.version_id, dismissed.version_id))
    db.commit()
    files_before = {p for p in (tmp_path / "blobs").rglob("*") if p.is_file()}

    dry = purge_evidence(db, store, RetentionPolicy(page_days=30, image_days=30), dry_run=True)
    assert (dry.pages, dry.images, dry.dry_run) == (3, 3, True)
    assert {p for p in (tmp_path / "blobs").rglob("*") if p.is_file()} == files_before
    assert rows(db, "SELECT count(*) FROM listing_versions WHERE page_path IS NULL")[0][0] == 0

    stats = purge_evidence(db, store, RetentionPolicy(page_days=30, image_days=30))
    assert (stats.pages, stats.images) == (3, 3)
    # old, gone and dismissed pages + old and dismissed images and thumbnails; gone's image (and
    # thumbnail) bytes are also the current "old" version's: those two blobs are kept.
    assert stats.blobs_deleted == 3 + 2 + 2 and stats.blobs_shared_kept == 2
    assert stats.bytes_freed == sum(len(b) for b in (b"<old page>", b"<gone page>", b"<dismissed page>",
                                                     b"old-image", b"d-image", b"old-imagethumb",
                                                     b"d-imagethumb"))
    assert dry.bytes_freed == stats.bytes_freed and dry.blobs_deleted == stats.blobs_deleted
    purged = dict(rows(db, """SELECT id, page_purged_at IS NOT NULL AND images_purged_at IS NOT NULL
                              FROM listing_versions"""))
    assert purged[old.version_id] and purged[gone.version_id] and purged[dismissed.version_id]
    assert not purged[evidence.version_id]
    for version in (evidence,):
        [(page_path,)] = rows(db, "SELECT page_path FROM listing_versions WHERE id = %s", (version.version_id,))
        assert store.exists(page_path)
    # Every key still named by a row is still in the store; the hashes stay as the record.
    for (key,) in rows(db, """SELECT page_path FROM listing_versions WHERE page_path IS NOT NULL
                              UNION SELECT path FROM listing_images WHERE path IS NOT NULL
                              UNION SELECT thumb_path FROM listing_images WHERE thumb_path IS NOT NULL"""):
        assert store.exists(key), key
    assert rows(db, "SELECT count(*) FROM listing_versions WHERE page_sha256 IS NULL")[0][0] == 0
    # A second run finds nothing more.
    again = purge_evidence(db, store, RetentionPolicy(page_days=30, image_days=30))
    assert (again.pages, again.images, again.blobs_deleted) == (0, 0, 0)


def test_verify_takedowns_recrawls_confirmed_listings(db_url, db, tmp_path):
    from cluewatch.jobs.crawl import crawl_source
    from cluewatch.jobs.verify import verify_source
    from sinks.status import format_status, pipeline_status
    from tests.fixtures_sites import HostileSite, serve_hostile_site, sources_yaml

    settings = {"DOWNLOAD_TIMEOUT": 2, "RETRY_BACKOFF_BASE": 0.05}
    with serve_hostile_site(HostileSite(hostile=False)) as site:
        sources = tmp_path / "sources.yaml"
        sources.write_text(sources_yaml(site.base_url), encoding="utf-8")
        crawl_source(sources, "hostile", db_url, log=lambda line: None, timeout=60, settings=settings)
        # A listing whose page now fails (500 after retries): no conclusion can be drawn.
        store_listing(db, dict(source="hostile", platform="Hostile Shop", kind="ecommerce", external_id="e500",
                               url=f"{site.base_url}/item/e500.html", title="Sprite 500"))
        by_id = {}
        for external_id in ("a1", "b1", "e500", "a2"):
            [(version_id,)] = rows(db, """SELECT current_version_id FROM listings
                                          WHERE source_id = 'hostile' AND external_id = %s""", (external_id,))
            status = "open" if external_id == "a2" else "confirmed"  # a2: not confirmed, not checked
            by_id[external_id] = rows(db, """INSERT INTO suspects (listing_version_id, score, reasons, status)
                                            VALUES (%s, 0.9, '{r}', %s) RETURNING id""", (version_id, status))[0][0]
        site.gone.add("b1")  # the platform took b1 down
        since = len(site.hits)
        counts = verify_source(sources, "hostile", db_url, log=lambda line: None, timeout=60, settings=settings)
        assert counts == {"source": "hostile", "checked": 3, "removed": 1, "still_live": 1, "error": 1}
        fetched = [p for p in site.paths()[since:] if p != "/robots.txt"]
        assert sorted(set(fetched)) == ["/item/a1.html", "/item/e500.html", "/products/b1"]  # nothing else

        checks = {s: (st, http) for s, st, http in rows(
            db, "SELECT suspect_id, status, http_status FROM takedown_checks")}
        assert checks == {by_id["a1"]: ("still_live", 304), by_id["b1"]: ("removed", 404),
                          by_id["e500"]: ("error", 500)}
        # The crawler's removal bookkeeping ran too: b1 is marked removed, a1 seen.
        removed = dict(rows(db, "SELECT external_id, removed_at IS NOT NULL FROM listings WHERE source_id = 'hostile'"))
        assert removed["b1"] and not removed["a1"]
        text = format_status(pipeline_status(db))
        assert "takedown checks (latest per confirmed suspect): 1 error, 1 removed, 1 still_live" in text
        # Checked within min_interval_hours: the next run leaves them alone.
        again = verify_source(sources, "hostile", db_url, log=lambda line: None, timeout=60, settings=settings)
        assert again["checked"] == 0
