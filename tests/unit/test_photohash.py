"""photohash's crop variants and border trimming, on real photographs (scikit-image's data)."""
import cv2
import numpy as np
import pytest
from skimage import data

from detectors import photohash


@pytest.fixture(scope="module")
def photo():
    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def test_trim_removes_padding_but_not_gradients_or_content(photo):
    padded = cv2.copyMakeBorder(photo, 30, 50, 0, 70, cv2.BORDER_CONSTANT, value=(255, 255, 255))
    assert np.array_equal(photohash.trim_borders(padded), photo)
    # JPEG noise on the padding is tolerated
    ok, buf = cv2.imencode(".jpg", padded, [cv2.IMWRITE_JPEG_QUALITY, 70])
    trimmed = photohash.trim_borders(cv2.imdecode(buf, cv2.IMREAD_COLOR))
    assert trimmed is not None and abs(trimmed.shape[0] - 512) <= 4 and abs(trimmed.shape[1] - 512) <= 4
    assert photohash.trim_borders(photo) is None
    # a smooth gradient (sky, a wallpaper) is not eaten: at most the few lines within the drift
    gradient = np.tile(np.linspace(40, 200, 400).astype(np.uint8)[:, None], (1, 300))   # 0.4 levels a line
    kept = photohash.trim_borders(gradient)
    assert kept is None or kept.shape[0] >= 0.95 * 400
    assert photohash.trim_borders(np.full((100, 100, 3), 255, np.uint8)) is None           # nothing left


def test_a_one_sided_crop_is_found_through_a_reference_crop(photo):
    idx = photohash.PhotoIndex()
    idx.add("astronaut", photo)
    assert len(idx) == 1                                   # one reference, whatever its crops
    cut = photo[int(512 * 0.18):]                          # 18 % off the top: not one of the crops
    whole = photohash.PhotoIndex()
    whole.add_hashes("astronaut", *photohash.hashes(photo))
    assert whole.query(cut) == []                          # the whole photo's hashes are too far
    [hit] = idx.query(cut)
    assert hit.ref_id == "astronaut" and hit.crop == "top 20 %" and not hit.trimmed
    assert hit.distance <= photohash.MAX_DISTANCE
    [exact] = idx.query(photo)
    assert exact.distance == 0 and exact.crop == "none"   # the uncropped reference wins ties


def test_speed_benchmark_runs_and_finds_every_copy():
    """bench/photo_hash_speed.py on a small scale: its table, and every real photo found among fillers."""
    import subprocess
    import sys
    from pathlib import Path

    bench = Path(__file__).resolve().parents[2] / "bench" / "photo_hash_speed.py"
    out = subprocess.run([sys.executable, str(bench), "--photos", "6", "--sizes", "50,500"],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    rows = [line.split() for line in out.splitlines() if line.strip().startswith(("50 ", "500 "))]
    assert [r[0] for r in rows] == ["50", "500"] and all(r[-1] == "6/6" for r in rows), out
    assert "ms per reference photo" in out and "peak RSS" in out


def test_tiny_odd_shaped_grey_and_bgra_images_are_indexed_and_found():
    rng = np.random.default_rng(0)
    idx = photohash.PhotoIndex()
    for shape in [(1, 1, 3), (2, 3, 3), (9, 9), (5, 400, 4), (400, 5, 3)]:
        im = rng.integers(0, 255, shape, dtype=np.uint8)
        idx.add(str(shape), im)
        assert any(h.ref_id == str(shape) and h.distance == 0 for h in idx.query(im))
    framed = np.full((50, 60, 4), 255, np.uint8)                 # BGRA on a white frame
    framed[10:40, 10:50, :3] = rng.integers(0, 255, (30, 40, 3))
    assert photohash.trim_borders(framed).shape == (30, 40, 4)
