"""Listings, versions and the registry in a real PostgreSQL."""
from decimal import Decimal
from pathlib import Path

import pytest

from cluewatch.listing import content_sha256
from cluewatch.model import Mark, ReferencePrice, Registry, GeographicalIndication
from sinks.listings import InvalidListing, store_listing
from sinks.registry_store import load_active_registry, save_registry

pytestmark = pytest.mark.service


def listing(**overrides):
    item = dict(source="shop", platform="Shop", kind="ecommerce", url="http://127.0.0.1/i/1",
                external_id="1", title="雪碧 330ml", price_low="3.50", price_high="3.50", currency="CNY",
                seller_name="小卖部", image_urls=["http://127.0.0.1/a.jpg", "http://127.0.0.1/b.jpg"],
                captured_at="2026-11-26T08:00:00Z")
    item.update(overrides)
    return item


def count(db, table):
    with db.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {table}")
        return cur.fetchone()[0]


def test_unchanged_recrawl_adds_no_version_and_changed_content_adds_one(db):
    first = store_listing(db, listing())
    again = store_listing(db, listing(captured_at="2026-11-27T08:00:00Z"))
    assert first.new_version and not again.new_version
    assert (again.listing_id, again.version_id) == (first.listing_id, first.version_id)
    changed = store_listing(db, listing(price_low="2.99", price_high="2.99"))
    assert changed.new_version and changed.listing_id == first.listing_id
    assert changed.version_id != first.version_id
    db.commit()
    assert count(db, "listings") == 1 and count(db, "listing_versions") == 2
    with db.cursor() as cur:
        cur.execute("SELECT current_version_id FROM listings")
        assert cur.fetchone()[0] == changed.version_id
        cur.execute("SELECT url FROM listing_images WHERE listing_version_id = %s ORDER BY position",
                    (first.version_id,))
        assert [r[0] for r in cur.fetchall()] == ["http://127.0.0.1/a.jpg", "http://127.0.0.1/b.jpg"]


def test_store_statements_are_prepared_once_per_connection_and_survive_a_rollback(db, db_url):
    from sinks.db import connect

    store_listing(db, listing())
    db.rollback()  # PREPARE is not transactional: the statements stay prepared
    stored = store_listing(db, listing(external_id="2"))
    db.commit()
    with db.cursor() as cur:
        cur.execute("SELECT name FROM pg_prepared_statements ORDER BY name")
        assert [r[0] for r in cur.fetchall()] == ["cluewatch_store_listing", "cluewatch_store_version"]
        cur.execute("SELECT external_id FROM listings WHERE id = %s", (stored.listing_id,))
        assert cur.fetchone()[0] == "2"
    other = connect(db_url)  # a new connection (a reconnect after a lost one) prepares its own
    try:
        again = store_listing(other, listing(external_id="2"))
        assert (again.listing_id, again.new_version) == (stored.listing_id, False)
    finally:
        other.close()


def test_reverting_content_points_back_to_the_old_version(db):
    a = store_listing(db, listing())
    store_listing(db, listing(title="other"))
    back = store_listing(db, listing())
    assert not back.new_version and back.version_id == a.version_id
    with db.cursor() as cur:
        cur.execute("SELECT current_version_id FROM listings")
        assert cur.fetchone()[0] == a.version_id


def test_hostile_text_is_stored_verbatim(db):
    title = "Robert'); DROP TABLE listings;-- <img src=x onerror=alert(1)> %s %(x)s"
    r = store_listing(db, listing(title=title, external_id="x'; --"))
    db.commit()
    with db.cursor() as cur:
        cur.execute("SELECT title FROM listing_versions WHERE id = %s", (r.version_id,))
        assert cur.fetchone()[0] == title
    assert count(db, "listings") == 1


@pytest.mark.parametrize("bad, reason", [
    (dict(external_id=None), "missing external_id"),
    (dict(url=""), "missing url"),
    (dict(price_low="abc"), "price_low is not a number"),
    (dict(price_high="-1"), "price_high out of range"),
    (dict(currency="元"), "currency is not an ISO 4217 code"),
    (dict(captured_at="yesterday"), "captured_at is not RFC 3339"),
])
def test_invalid_listing_names_the_field(db, bad, reason):
    with pytest.raises(InvalidListing, match=reason):
        store_listing(db, listing(**bad))


def test_hash_ignores_capture_time_but_not_content():
    assert content_sha256(listing()) == content_sha256(listing(captured_at="2030-01-01T00:00:00Z"))
    assert content_sha256(listing()) != content_sha256(listing(title="雪碧 500ml"))


SPRITE_PHOTO = Path(__file__).resolve().parents[2] / "cluewatch" / "demo_sites" / "logos" / "sprite.png"


def registry(sha="1" * 64, marks=None):
    marks = marks if marks is not None else (
        Mark(id="sprite", names=("Sprite", "雪碧"), reg_no="123456", owner="Coca-Cola",
             nice_classes=(32,), authorized_sellers=("可口可乐官方旗舰店",),
             reference_prices=(ReferencePrice("Sprite 330ml x24", "CNY", Decimal("48.0")),),
             reference_photos=(str(SPRITE_PHOTO),)),
        Mark(id="nike", names=("Nike",)),
    )
    return Registry(marks=marks, geographical_indications=(
        GeographicalIndication("yantai-apple", "烟台苹果", "山东省烟台市", ("苹果",)),), sha256=sha)


def test_registry_round_trip_and_versions(db):
    assert load_active_registry(db) is None
    assert save_registry(db, registry())
    assert not save_registry(db, registry())  # same file contents: nothing to do
    loaded = load_active_registry(db)
    sprite = loaded.mark("sprite")
    assert sprite.names == ("Sprite", "雪碧") and sprite.nice_classes == (32,)
    assert sprite.reference_prices[0].price == Decimal("48.00")
    assert sprite.authorized_sellers == ("可口可乐官方旗舰店",)
    assert sprite.reference_photos == (str(SPRITE_PHOTO),) and loaded.mark("nike").reference_photos == ()
    assert loaded.geographical_indications[0].products == ("苹果",)
    # A new version without nike deactivates it (findings may still refer to it).
    assert save_registry(db, registry(sha="2" * 64, marks=(Mark(id="sprite", names=("雪碧",)),)))
    newer = load_active_registry(db)
    assert [m.id for m in newer.marks] == ["sprite"] and newer.sha256 == "2" * 64
    assert newer.mark("sprite").names == ("雪碧",)


def test_page_validators_are_kept_with_the_listing_for_the_next_conditional_request(db):
    from sinks.crawl_runs import load_validators

    store_listing(db, listing(page_etag='"v1"', page_last_modified="Wed, 25 Nov 2026 08:00:00 GMT"))
    assert load_validators(db, "shop")["http://127.0.0.1/i/1"] == ("1", '"v1"', "Wed, 25 Nov 2026 08:00:00 GMT")
    store_listing(db, listing())  # served without validators this time: the stored ones stay
    assert load_validators(db, "shop")["http://127.0.0.1/i/1"][1] == '"v1"'
    store_listing(db, listing(page_etag='"v2"'))  # new validators replace both
    assert load_validators(db, "shop")["http://127.0.0.1/i/1"] == ("1", '"v2"', None)


def test_images_and_evidence_of_a_new_version_are_stored_in_order_with_their_results(db):
    result = store_listing(db, listing(
        image_urls=["http://127.0.0.1/a.jpg", "http://127.0.0.1/b.jpg", "http://127.0.0.1/c.jpg"],
        images=[{"url": "http://127.0.0.1/a.jpg", "sha256": "a" * 64, "path": "aa/aa/" + "a" * 64 + ".jpg",
                 "thumb_path": "bb/bb/" + "b" * 64 + ".jpg", "width": 640, "height": 480, "bytes": 1234},
                {"url": "http://127.0.0.1/b.jpg", "error": "too large: 9 MB"},
                {"url": "http://elsewhere/c.jpg", "path": "cc/cc/" + "c" * 64 + ".jpg"}]))  # not c's result
    with db.cursor() as cur:
        cur.execute("""SELECT position, url, sha256, path, width, height, bytes, error FROM listing_images
                       WHERE listing_version_id = %s ORDER BY position""", (result.version_id,))
        rows = cur.fetchall()
    assert rows == [(0, "http://127.0.0.1/a.jpg", "a" * 64, "aa/aa/" + "a" * 64 + ".jpg", 640, 480, 1234, None),
                    (1, "http://127.0.0.1/b.jpg", None, None, None, None, None, "too large: 9 MB"),
                    (2, "http://127.0.0.1/c.jpg", None, None, None, None, None, None)]
