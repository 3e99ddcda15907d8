"""crawlers.pipelines.StoreWorker: listings stored off the reactor thread in batched transactions,
one savepoint each, every outcome reported only once committed, nothing lost on close."""
from __future__ import annotations

import threading

import pytest

from crawlers.pipelines import StoreWorker
from sinks.db import connect

pytestmark = pytest.mark.service


def listing(i, **overrides):
    item = dict(source="shop", platform="Shop", kind="ecommerce", url=f"http://127.0.0.1/i/{i}",
                external_id=str(i), title=f"雪碧 {i}", price_low="3.50", price_high="3.50", currency="CNY",
                image_urls=[f"http://127.0.0.1/{i}.jpg"], captured_at="2026-11-26T08:00:00Z")
    item.update(overrides)
    return item


def count(db_url, sql="SELECT count(*) FROM listing_versions"):
    conn = connect(db_url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchone()[0]
    finally:
        conn.close()


def test_a_bad_listing_loses_nothing_else_and_close_commits_the_rest(db_url):
    outcomes, lock = {}, threading.Lock()

    def done_for(key):
        def done(outcome):
            with lock:
                outcomes[key] = outcome
        return done

    worker = StoreWorker(connect(db_url), lambda: connect(db_url), batch_size=50, batch_seconds=60)
    worker.start()
    for i in range(10):
        worker.submit(listing(i), done_for(i))
    worker.submit(listing(99, currency="yuan"), done_for(99))  # rejected by the store
    worker.submit(listing(3), done_for("3-again"))            # unchanged: no new version
    # A value psycopg2 cannot send (refused before anything is sent) and one the server refuses
    # (after the listing's savepoint was sent): neither may take the listing before it along.
    worker.submit(listing(10), done_for(10))
    worker.submit(listing(97, title={"not": "text"}), done_for(97))
    worker.submit(listing(98, images=[{"url": "http://127.0.0.1/98.jpg", "width": 10**12}]), done_for(98))
    worker.close()  # batch not full, deadline far: close must still commit everything
    assert not worker.is_alive()
    assert len(outcomes) == 15
    assert "cannot be stored" in str(outcomes[97].error)
    assert "out of range" in str(outcomes[98].error)
    assert outcomes[10].error is None and outcomes[10].result.new_version
    assert all(outcomes[i].error is None and outcomes[i].result.new_version for i in range(10))
    assert outcomes["3-again"].error is None and not outcomes["3-again"].result.new_version
    assert "currency" in str(outcomes[99].error)
    assert count(db_url) == 11 and count(db_url, "SELECT count(*) FROM listing_images") == 11


def test_outcomes_arrive_after_the_commit_of_a_full_batch(db_url):
    committed = []

    def done(outcome):
        # Another connection sees the row when we are told: the batch was committed first.
        committed.append(count(db_url, f"SELECT count(*) FROM listings WHERE id = {outcome.result.listing_id}"))

    worker = StoreWorker(connect(db_url), lambda: connect(db_url), batch_size=3, batch_seconds=60)
    worker.start()
    for i in range(6):
        worker.submit(listing(i), done)
    worker.close()
    assert committed == [1] * 6


def test_the_batch_is_synced_before_its_commit_and_a_failed_sync_commits_nothing(db_url):
    events = []

    def sync():
        # Called before the commit: another connection does not see the batch yet.
        events.append(("sync", count(db_url)))

    worker = StoreWorker(connect(db_url), lambda: connect(db_url), batch_size=3, batch_seconds=60,
                         before_commit=sync)
    worker.start()
    for i in range(3):
        worker.submit(listing(i), lambda outcome: events.append(("done", outcome.error)))
    worker.close()
    assert events == [("sync", 0)] + [("done", None)] * 3 and count(db_url) == 3

    def failing_sync():
        raise OSError(5, "syncfs failed: Input/output error")

    outcomes = []
    worker = StoreWorker(connect(db_url), lambda: connect(db_url), batch_size=2, batch_seconds=60,
                         before_commit=failing_sync)
    worker.start()
    for i in (10, 11):
        worker.submit(listing(i), outcomes.append)
    worker.close()
    # The blobs may not be on disk: the rows that name them are not committed, and each listing says why.
    assert [str(o.error) for o in outcomes] == ["[Errno 5] syncfs failed: Input/output error"] * 2
    assert count(db_url) == 3


def test_a_lost_connection_fails_its_batch_and_the_worker_reconnects(db_url, monkeypatch):
    import sinks.listings

    real = sinks.listings.store_listing

    def store_listing(conn, item, **options):
        if item["external_id"] == "kill":  # the server drops this connection mid-batch
            with conn.cursor() as cur:
                cur.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        return real(conn, item, **options)

    monkeypatch.setattr(sinks.listings, "store_listing", store_listing)
    outcomes = {}
    worker = StoreWorker(connect(db_url), lambda: connect(db_url), batch_size=50, batch_seconds=60)
    worker.start()
    for key in ("1", "kill", "3"):
        worker.submit(listing(key), lambda o, key=key: outcomes.__setitem__(key, o))
    worker.close()
    # "1" was in the transaction the server dropped: reported failed, not silently lost.
    assert outcomes["1"].error is not None and outcomes["kill"].error is not None
    assert outcomes["3"].error is None and outcomes["3"].result.new_version
    assert count(db_url, "SELECT count(*) FROM listings") == 1
