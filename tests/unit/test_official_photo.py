"""The stolen-official-photo signal on real rendered product photos (demo artwork), real edits."""
import io

import numpy as np
import pytest
from PIL import Image

from cluewatch.demo_sites.artwork import product_photo
from cluewatch.model import Mark
from detectors import official_photo


def jpeg(image: Image.Image, quality: int = 85) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


@pytest.fixture
def marks(tmp_path):
    official = tmp_path / "pegasus-official.jpg"
    official.write_bytes(jpeg(product_photo("official", {"shape": "shoe", "colour": "#2a6f3e"})))
    return (Mark(id="nike", names=("Nike",), reference_photos=(str(official),),
                 authorized_sellers=("耐克官方旗舰店",)),
            Mark(id="oreo", names=("Oreo",)))


def listing(*images: bytes, seller="鞋服工厂店") -> dict:
    return {"version_id": 1, "seller_name": seller,
            "image_blobs": [{"url": f"http://shop/{i}.jpg", "sha256": None, "data": d} for i, d in enumerate(images)]}


def test_a_resized_recompressed_copy_on_an_unauthorized_seller_is_flagged(marks):
    copy = product_photo("official", {"shape": "shoe", "colour": "#2a6f3e"}).resize((240, 240))
    other = product_photo("someone-else", {"shape": "bottle", "colour": "#c0392b"})
    [finding] = official_photo.detect(listing(jpeg(other), jpeg(copy, quality=40)), marks)
    assert finding.mark_id == "nike" and finding.detector == "image.official_photo"
    assert finding.evidence["image_position"] == 1 and finding.evidence["reference_photo"] == "pegasus-official.jpg"
    assert finding.evidence["distance"] <= official_photo.MAX_DISTANCE
    assert 0.6 <= finding.score <= 0.95 and "official photo" in finding.reason


def test_own_photos_authorized_sellers_and_broken_images_give_nothing(marks):
    own = product_photo("a-different-product", {"shape": "cookie", "colour": "#7f9be0"})
    assert official_photo.detect(listing(jpeg(own)), marks) == []
    exact = jpeg(product_photo("official", {"shape": "shoe", "colour": "#2a6f3e"}))
    assert official_photo.detect(listing(exact, seller="耐克官方旗舰店"), marks) == []
    # A truncated photo is skipped; the good one after it is still compared.
    [finding] = official_photo.detect(listing(exact[:500], b"", exact), marks)
    assert finding.evidence["image_position"] == 2 and finding.score == official_photo.TOP_SCORE


def test_a_reference_photo_gone_since_loading_costs_the_picture_not_the_finding(marks):
    exact = jpeg(product_photo("official", {"shape": "shoe", "colour": "#2a6f3e"}))
    official_photo.index_for(marks)                                    # the registry is loaded
    with open(marks[0].reference_photos[0], "wb") as f:
        f.write(b"")                                                   # then its file is emptied
    [finding] = official_photo.detect(listing(exact), marks)
    assert finding.mark_id == "nike" and finding.attachments == {}


def test_unreadable_reference_photo_names_mark_and_file(tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really")
    with pytest.raises(official_photo.BadReferencePhoto, match="mark nike: reference photo .*broken.jpg"):
        official_photo.detect(listing(b"x"), (Mark(id="nike", names=("Nike",), reference_photos=(str(bad),)),))


def test_a_cropped_copy_on_a_reseller_canvas_is_flagged_with_how(marks):
    """Cut 15 % off the top and pasted onto a white square canvas: the whole-photo hashes of both
    are far apart; a 10 % reference crop and the trimmed canvas meet."""
    official = product_photo("official", {"shape": "shoe", "colour": "#2a6f3e"})
    w, h = official.size
    cut = official.crop((0, int(h * 0.15), w, h))
    canvas = Image.new("RGB", (w + 80, w + 80), "white")
    canvas.paste(cut, (40, 40 + (w - cut.size[1]) // 2))
    [finding] = official_photo.detect(listing(jpeg(canvas, quality=80)), marks)
    ev = finding.evidence
    assert ev["listing_borders_trimmed"] is True and ev["reference_crop"] != "none"
    assert f"cropped {ev['reference_crop']}" in finding.reason and "borders trimmed" in finding.reason
    # the evidence picture: listing photo | official photo, 360 px high, the matched parts outlined
    import cv2
    png, suffix = finding.attachments["comparison_image"]
    picture = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert suffix == ".png" and picture.shape[0] == official_photo.COMPARISON_HEIGHT + 28
    outline = np.all(picture == (0, 200, 255), axis=2)
    half = picture.shape[1] // 2
    assert outline[:, :half].sum() > 500 and outline[:, half:].sum() > 500      # on both photos
    # the whole photos' hashes alone are too far apart to tell
    from detectors import photohash
    whole = photohash.PhotoIndex()
    whole.add_hashes("official", *photohash.hashes(np.array(official)[:, :, ::-1].copy()))
    assert whole.query_hashes(*photohash.hashes(np.array(canvas)[:, :, ::-1].copy())) == []


def test_comparison_picture_of_a_banner_shaped_photo_stays_bounded():
    from detectors.photohash import NearDuplicate

    banner = np.zeros((20, 4000, 3), np.uint8)
    hit = NearDuplicate("r", 3, 3, 2, crop="left 10 %", trimmed=False)
    import cv2
    png = official_photo.comparison_png(banner, np.zeros((400, 300, 3), np.uint8), hit, 0, "ref.jpg")
    picture = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert picture.shape[0] == official_photo.COMPARISON_HEIGHT + 28
    assert picture.shape[1] <= 2 * official_photo.COMPARISON_HEIGHT + 12 + 300
