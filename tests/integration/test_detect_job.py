"""The detect step on a real PostgreSQL: findings, suspect and outbox event in one transaction."""
import pytest

from cluewatch.jobs import detect as detect_job
from cluewatch.model import Mark, Registry
from sinks.listings import store_listing
from sinks.registry_store import save_registry

pytestmark = pytest.mark.service

REGISTRY = Registry(marks=(
    Mark(id="nike", names=("Nike", "耐克"), reg_no="N-100", authorized_sellers=("耐克官方旗舰店",)),
    Mark(id="sprite", names=("Sprite", "雪碧"), reg_no="S-200"),
), sha256="f" * 64)


def add(db, external_id, title, seller="某店"):
    return store_listing(db, dict(source="shop", platform="Shop", kind="ecommerce", external_id=external_id,
                                  url=f"http://127.0.0.1/item/{external_id}", title=title, seller_name=seller,
                                  price_low="99", price_high="99", currency="CNY"))


def rows(db, query):
    with db.cursor() as cur:
        cur.execute(query)
        return cur.fetchall()


def test_suspects_and_outbox_written_once(db):
    save_registry(db, REGISTRY)
    add(db, "1", "高仿耐克 AJ1 1:1")
    add(db, "2", "Nike 官方正品", seller="耐克官方旗舰店")
    add(db, "3", "无品牌 帆布鞋")
    db.commit()
    stats = detect_job.detect_pending(db)
    assert (stats.scored, stats.new_suspects, stats.errors) == (3, 1, 0)
    [(topic, key, payload)] = rows(db, "SELECT topic, key, payload FROM outbox")
    assert topic == "cluewatch.suspects.v1"
    assert payload["listing"]["url"] == "http://127.0.0.1/item/1"
    assert payload["signals"][0]["reg_no"] == "N-100"
    assert payload["signals"][0]["evidence"]["matched"] == "耐克"
    assert key == str(payload["listing"]["listing_id"])
    # A second run has nothing to score and writes nothing.
    again = detect_job.detect_pending(db)
    assert (again.scored, again.new_suspects) == (0, 0)
    assert len(rows(db, "SELECT 1 FROM outbox")) == 1
    assert len(rows(db, "SELECT 1 FROM findings")) == 1


def test_only_new_versions_are_rescored(db):
    save_registry(db, REGISTRY)
    add(db, "1", "雪碧 330ml")
    db.commit()
    assert detect_job.detect_pending(db).new_suspects == 1
    add(db, "1", "雪碧 330ml 特价")  # content changed: a new version, scored again
    db.commit()
    stats = detect_job.detect_pending(db)
    assert (stats.scored, stats.new_suspects) == (1, 1)


def test_no_registry_is_a_clear_error(db):
    with pytest.raises(detect_job.NoRegistry, match="cluewatch registry load"):
        detect_job.detect_pending(db)


def test_one_bad_listing_does_not_stop_the_batch(db, monkeypatch):
    save_registry(db, REGISTRY)
    add(db, "1", "耐克 boom")
    add(db, "2", "Sprite 特价")
    db.commit()
    real = detect_job.wordmark.detect

    def flaky(listing, marks):
        if "boom" in (listing["title"] or ""):
            raise ValueError("detector crashed on this listing")
        return real(listing, marks)

    monkeypatch.setattr(detect_job.wordmark, "detect", flaky)
    stats = detect_job.detect_pending(db)
    assert (stats.scored, stats.errors, stats.new_suspects) == (1, 1, 1)
    # Nothing half-written for the failed one; it stays pending for the next run.
    assert len(rows(db, "SELECT DISTINCT listing_version_id FROM detection_runs")) == 1
    monkeypatch.setattr(detect_job.wordmark, "detect", real)
    assert detect_job.detect_pending(db).new_suspects == 1


def test_registry_file_sync_rescores_on_change(db, tmp_path):
    path = tmp_path / "registry.yaml"
    path.write_text("marks:\n  - id: sprite\n    names: [雪碧]\n", encoding="utf-8")
    first = detect_job.sync_registry_file(db, path)
    assert first["loaded"] and first["marks"] == 1
    assert not detect_job.sync_registry_file(db, path)["loaded"]  # unchanged file: nothing to do
    add(db, "1", "雪碧 330ml")
    db.commit()
    assert detect_job.detect_pending(db).scored == 1
    path.write_text("marks:\n  - id: sprite\n    names: [雪碧, Sprite]\n", encoding="utf-8")
    assert detect_job.sync_registry_file(db, path)["loaded"]
    assert detect_job.detect_pending(db).scored == 1  # new registry version: scored again


def test_status_reports_backlog_crawls_and_suspects(db):
    from sinks.crawl_runs import finish_run, start_run
    from sinks.status import pipeline_status

    save_registry(db, REGISTRY)
    add(db, "1", "高仿耐克 AJ1")
    run_id = start_run(db, "shop")
    finish_run(db, run_id, "finished", True, {})
    db.commit()
    detect_job.detect_pending(db)
    st = pipeline_status(db)
    assert st.outbox_pending == 1 and st.outbox_quarantined == 0 and st.oldest_pending_seconds >= 0
    [crawl] = st.last_crawls
    assert crawl["source"] == "shop" and crawl["status"] == "finished" and crawl["complete"]
    assert crawl["live_listings"] == 1
    assert [n for _, n in st.suspects_per_day] == [1]


def test_photo_signals_read_stored_photos_and_store_the_drawn_evidence(db, tmp_path):
    """Logo in the photo and a copied official photo, through the job: photos come from the blob
    store, the box drawing goes back into it, and the suspect event names it."""
    import hashlib
    import io
    from pathlib import Path

    from cluewatch import demo_sites
    from cluewatch.demo_sites import load_catalogue
    from cluewatch.demo_sites.artwork import product_photo, product_photo_jpeg
    from sinks.blobstore import blob_store_from_settings

    blobs = blob_store_from_settings()
    logos = Path(demo_sites.__file__).with_name("logos")
    official = product_photo("official-oreo", {"shape": "cookie", "colour": "#2e4053"})
    official.save(tmp_path / "oreo-official.jpg", "JPEG", quality=90)
    save_registry(db, Registry(marks=(
        Mark(id="nike", names=("Nike",), reg_no="N-100", logos=(str(logos / "nike.png"),)),
        Mark(id="oreo", names=("Oreo",), reg_no="O-300", reference_photos=(str(tmp_path / "oreo-official.jpg"),)),
    ), sha256="e" * 64))
    spec = {str(l["id"]): l["image"] for l in load_catalogue()}
    copied = io.BytesIO()
    official.resize((300, 300)).save(copied, "JPEG", quality=50)  # re-saved smaller by the copier
    photos = {"logo": product_photo_jpeg("620145807", spec["620145807"]), "copy": copied.getvalue(),
              "plain": product_photo_jpeg("620145812", spec["620145812"])}
    for external_id, data in photos.items():
        digest = hashlib.sha256(data).hexdigest()
        store_listing(db, dict(source="shop", platform="Shop", kind="ecommerce", external_id=external_id,
                               url=f"http://127.0.0.1/item/{external_id}", title="运动鞋 饼干 杂货", seller_name="某店",
                               image_urls=[f"http://127.0.0.1/img/{external_id}.jpg"],
                               images=[{"url": f"http://127.0.0.1/img/{external_id}.jpg", "sha256": digest,
                                        "path": blobs.put(data, suffix=".jpg")}]))
    db.commit()
    stats = detect_job.detect_pending(db)
    assert (stats.scored, stats.new_suspects, stats.errors) == (3, 2, 0)
    events = {p["listing"]["external_id"]: p for (p,) in rows(db, "SELECT payload FROM outbox")}
    assert set(events) == {"logo", "copy"}
    [logo] = events["logo"]["signals"]
    assert (logo["detector"], logo["mark_id"], logo["reg_no"]) == ("image.logo", "nike", "N-100")
    assert blobs.get(logo["evidence"]["annotated_image"])[:4] == b"\x89PNG"
    [copy] = events["copy"]["signals"]
    assert (copy["detector"], copy["mark_id"]) == ("image.official_photo", "oreo")
    assert copy["evidence"]["reference_photo"] == "oreo-official.jpg" and copy["evidence"]["distance"] <= 14
    # Every detector recorded its run on every version, so nothing is pending any more.
    assert rows(db, "SELECT count(*) FROM detection_runs")[0][0] == 3 * len(detect_job.DETECTORS)
