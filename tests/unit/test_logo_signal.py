"""The logo detector as a pipeline signal, on the demo catalogue's rendered product photos."""
from pathlib import Path

import cv2
import numpy as np
import pytest

from cluewatch import demo_sites
from cluewatch.demo_sites import load_catalogue
from cluewatch.demo_sites.artwork import product_photo_jpeg
from cluewatch.registry import load_registry
from detectors.logo import signal

REGISTRY = load_registry(Path(demo_sites.__file__).with_name("registry.yaml"))
CATALOGUE = {str(l["id"]): l for l in load_catalogue()}


def photo(listing_id: str) -> bytes:
    return product_photo_jpeg(listing_id, CATALOGUE[listing_id]["image"])


def listing(*images: bytes, seller: str = "鞋服工厂店") -> dict:
    return {"version_id": 7, "seller_name": seller,
            "image_blobs": [{"url": f"http://shop/{i}.jpg", "sha256": f"{i:064x}", "data": d}
                            for i, d in enumerate(images)]}


@pytest.fixture(scope="module")
def marks():
    signal.detector_for(REGISTRY.marks)  # built once for the module (a few seconds)
    return REGISTRY.marks


def test_logo_only_photo_gives_a_finding_with_box_and_drawn_evidence(marks):
    shoe = photo("620145807")  # nike logo on the shoe; the title says nothing of Nike
    [finding] = signal.detect(listing(photo("620145812"), shoe), marks)
    assert (finding.mark_id, finding.detector) == ("nike", "image.logo")
    assert finding.score >= signal.MIN_SCORE
    ev = finding.evidence
    assert ev["image_position"] == 1 and ev["image_url"] == "http://shop/1.jpg"
    x, y, w, h = ev["bbox"]
    width, height = ev["image_size"]
    assert 0 <= x and 0 <= y and x + w <= width and y + h <= height and 40 <= w <= width
    assert "product photo 2" in finding.reason and "Nike" in finding.reason
    png, suffix = finding.attachments["annotated_image"]
    drawn = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    plain = cv2.imdecode(np.frombuffer(shoe, np.uint8), cv2.IMREAD_COLOR)
    assert suffix == ".png" and drawn.shape == plain.shape
    # The box is drawn: pixels changed along its edges, not in the far corner.
    changed = np.abs(drawn.astype(int) - plain.astype(int)).sum(axis=2) > 60
    assert changed[y:y + h, x:x + w].any() and not changed[:5, :5].any()


def test_authorized_seller_legit_photos_and_broken_images(marks):
    assert signal.detect(listing(photo("620145826"), seller="耐克官方旗舰店"), marks) == []
    legit = [i for i, l in CATALOGUE.items() if l["label"] != "counterfeit" and l["site"] == "shop"][:10]
    assert [signal.detect(listing(photo(i), seller=CATALOGUE[i]["seller"]), marks) for i in legit] == [[]] * 10
    # A truncated photo and an empty one are skipped; the good one after them is still looked at.
    good = photo("620145808")
    [finding] = signal.detect(listing(good[:300], b"", good), marks)
    assert finding.mark_id == "oreo" and finding.evidence["image_position"] == 2
    assert signal.detect({"version_id": 1, "image_blobs": []}, marks) == []


def test_same_photo_scores_the_same_whatever_the_rng_state(marks):
    first = signal.detect(listing(photo("P1103")), marks)
    cv2.setRNGSeed(12345)
    signal._CACHE.clear()  # rebuilt from a disturbed RNG: FLANN's trees must still come out the same
    again = signal.detect(listing(photo("P1103")), marks)
    assert [(f.mark_id, f.score, f.evidence["bbox"]) for f in first] == \
           [(f.mark_id, f.score, f.evidence["bbox"]) for f in again]
