"""bench/crawl_throughput.py runs end to end on a small shop and reports what it promises."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.service
ROOT = Path(__file__).resolve().parents[2]


def test_crawl_benchmark_reports_all_three_crawls_on_a_small_shop():
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "crawl_throughput.py"), "--items", "100",
                          "--repeat", "1"], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout
    assert "102 (2 list + 100 product) per crawler" in text
    # It refuses to report unless every listing and image was stored: the line proves both.
    assert "(100 listing versions and 100 images stored" in text
    for label in ("bare Scrapy ", "production pipeline", "bare Scrapy + images"):
        line = next(l for l in text.splitlines() if l.startswith(label))
        assert re.search(r"[\d.]+ pages/s\s+CPU\s+[\d.]+ ms/page", line), line
    assert re.search(r"ratio production/bare \d\.\d\d", text)
