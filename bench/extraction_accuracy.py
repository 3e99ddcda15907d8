#!/usr/bin/env python3
"""Field accuracy of crawlers.extraction on real product pages nobody here wrote.

    .venv/bin/python bench/extraction_accuracy.py [--corpus DIR] [--errors] [--json OUT]

Runs `cluewatch extract` (crawlers.extract_batch.run_extract) over every page of the corpus
(default: <repo>/../shared/data/product-pages-dev, 37 pages from 16 sites, labels by others) and
prints the corpus's own scorer table (measure.py) plus pages/s. No network.
"""
from __future__ import annotations

import argparse
import importlib.util
import io
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DEFAULT_CORPUS = REPO.parent / "shared" / "data" / "product-pages-dev"

from crawlers.extract_batch import run_extract  # noqa: E402


def load_measure(corpus: Path):
    spec = importlib.util.spec_from_file_location("product_pages_measure", corpus / "measure.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def predict(corpus: Path) -> tuple[list[dict], list[dict], float]:
    """(ground truth rows, prediction rows, seconds spent extracting)."""
    gt = [json.loads(line) for line in (corpus / "ground_truth.jsonl").read_text("utf8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        pages = Path(tmp) / "pages.jsonl"
        pages.write_text("".join(json.dumps({"id": g["id"], "url": g["url"],
                                             "html_path": str(corpus / g["html"])}) + "\n" for g in gt))
        out, err = io.StringIO(), io.StringIO()
        start = time.perf_counter()
        code = run_extract(str(pages), out, err=err)
        elapsed = time.perf_counter() - start
    if code:
        raise SystemExit(err.getvalue().strip())
    return gt, [json.loads(line) for line in out.getvalue().splitlines()], elapsed


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--errors", action="store_true", help="print every wrong or missed value")
    ap.add_argument("--json", help="also write the metrics as JSON here")
    a = ap.parse_args(argv)
    if not (a.corpus / "measure.py").exists():
        print(f"extraction_accuracy: corpus not found: {a.corpus}", file=sys.stderr)
        return 2
    measure = load_measure(a.corpus)
    gt, preds, elapsed = predict(a.corpus)
    failed = [p for p in preds if p.get("error")]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "preds.jsonl"
        path.write_text("".join(json.dumps(p) + "\n" for p in preds))
        args = [str(path), "--gt", str(a.corpus / "ground_truth.jsonl")]
        measure.main(args + (["--errors"] if a.errors else []) + (["--json", a.json] if a.json else []))
    print(f"extraction: {len(preds)} pages in {elapsed:.2f} s = {len(preds) / elapsed:.1f} pages/s "
          f"(one process), {len(failed)} error lines")
    for p in failed:
        print(f"  error {p['id'][:12]}: {p['error']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
