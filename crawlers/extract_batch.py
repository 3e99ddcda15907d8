"""`cluewatch extract --input pages.jsonl`: the crawlers' extraction run offline over saved pages.

Contract (../shared/DESIGN.md, "Offline batch commands"): each input line is
`{"id": "...", "url": "...", "html_path": "..."}` — `html_path` relative to the input file's
directory or absolute, `.gz` files decompressed. Each input line gets exactly one output line with
its `id`, an `"error"` (null when fine) and every listing key (null where unknown). A line that
cannot be processed (bad JSON, missing or huge file, undecodable bytes, an extraction failure)
becomes an error line; the run never stops early. Exit 0 when every line was answered; non-zero with
one message naming the file only when the input file itself cannot be read. Paths and URLs are data:
nothing is ever fetched — `url` only makes relative links absolute.

    >>> import io, json, os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> _ = open(os.path.join(d, "p.html"), "w").write('<h1>Teapot</h1><p class="price">€ 12,99</p>')
    >>> _ = open(os.path.join(d, "in.jsonl"), "w").write('{"id": "a", "url": "https://x.example/", "html_path": "p.html"}\\n')
    >>> out = io.StringIO()
    >>> run_extract(os.path.join(d, "in.jsonl"), out, err=io.StringIO())
    0
    >>> row = json.loads(out.getvalue()); (row["id"], row["error"], row["title"], row["price"], row["currency"])
    ('a', None, 'Teapot', '12.99', 'EUR')
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import sys
from typing import TextIO

from crawlers.extraction import decode_html, extract_listing

MAX_PAGE_BYTES = 20 * 1024 * 1024
# Every output line carries these keys (null where unknown), after "id" and "error".
OUTPUT_KEYS = ("url", "title", "price", "price_low", "price_high", "currency", "brand", "seller",
               "images", "description", "category", "sku", "gtin", "mpn", "availability")


class PageError(Exception):
    """A reason this one page cannot be processed; becomes the line's "error"."""


def _row(page_id, error: str | None, listing: dict | None = None, url=None) -> dict:
    row = {"id": page_id, "error": error, **{key: None for key in OUTPUT_KEYS}}
    row["url"] = url if isinstance(url, str) else None
    if listing:
        row.update(
            title=listing.get("title"), price=listing.get("price_low"),
            price_low=listing.get("price_low"), price_high=listing.get("price_high"),
            currency=listing.get("currency"), brand=listing.get("brand"),
            seller=listing.get("seller_name"), images=listing.get("images") or None,
            description=listing.get("description"), category=listing.get("category"),
            sku=listing.get("sku"), gtin=listing.get("gtin"), mpn=listing.get("mpn"),
            availability=listing.get("availability"),
        )
    return row


def read_page(path: str) -> bytes:
    """The page's bytes (gunzipped for .gz), refusing more than MAX_PAGE_BYTES either way."""
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise PageError(f"html_path not found: {path}") from None
    except OSError as exc:
        raise PageError(f"html_path unreadable: {path}: {exc.strerror or exc}") from None
    if not os.path.isfile(path):
        raise PageError(f"html_path is not a file: {path}")
    if size > MAX_PAGE_BYTES:
        raise PageError(f"page too large: {size} bytes > {MAX_PAGE_BYTES}")
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                data = f.read(MAX_PAGE_BYTES + 1)  # bounded: a gzip bomb stops here
            if len(data) > MAX_PAGE_BYTES:
                raise PageError(f"page too large after gunzip: > {MAX_PAGE_BYTES} bytes")
            return data
        with open(path, "rb") as f:
            return f.read()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise PageError(f"html_path unreadable: {path}: {exc}") from None


def _check_text(data: bytes) -> None:
    """Refuse bytes that are not a text page (images, archives): decoding them yields garbage."""
    head = data[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")):
        return  # a BOM: UTF-16/UTF-8 text, NULs are expected in UTF-16
    if head.count(b"\x00") > len(head) // 100:
        raise PageError("undecodable: binary content, not an HTML page")


_ID_RE = re.compile(rb'"id"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+)')


def _salvage_id(raw: bytes):
    """The id of a line that is not valid JSON, when it can still be read, so the caller can
    match the error line to its input."""
    match = _ID_RE.search(raw)
    if not match:
        return None
    try:
        return json.loads(match.group(1).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def process_record(record, base_dir: str) -> dict:
    """One output row for one parsed input line; never raises."""
    if not isinstance(record, dict):
        return _row(None, "input line is not a JSON object")
    page_id, url, html_path = record.get("id"), record.get("url"), record.get("html_path")
    if page_id is None:
        return _row(None, "missing id", url=url)
    if not isinstance(html_path, str) or not html_path:
        return _row(page_id, "missing html_path", url=url)
    path = html_path if os.path.isabs(html_path) else os.path.join(base_dir, html_path)
    try:
        data = read_page(path)
        _check_text(data)
        text = decode_html(data)
    except PageError as exc:
        return _row(page_id, str(exc), url=url)
    except (UnicodeError, LookupError) as exc:
        return _row(page_id, f"undecodable: {exc}", url=url)
    try:
        listing = extract_listing(text, url if isinstance(url, str) else "")
    except Exception as exc:  # noqa: BLE001 — one bad page must not stop the batch
        return _row(page_id, f"extraction failed: {type(exc).__name__}: {exc}", url=url)
    return _row(page_id, None, listing, url=url)


def run_extract(input_path: str, out: TextIO, *, err: TextIO) -> int:
    """Extract every page listed in `input_path` (JSONL) to `out` (JSONL); see the module doc.

    Returns 0 when every line was answered, 2 (after one message on `err`) when the input file
    cannot be read at all.
    """
    try:
        f = open(input_path, "rb")
    except OSError as exc:
        err.write(f"cluewatch extract: cannot read {input_path}: {exc.strerror or exc}\n")
        return 2
    base_dir = os.path.dirname(os.path.abspath(input_path))
    with f:
        try:
            for number, raw in enumerate(f, 1):
                if not raw.strip():
                    continue  # blank lines are not records
                try:
                    record = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, ValueError) as exc:
                    row = _row(_salvage_id(raw), f"line {number}: invalid JSON: {exc}")
                else:
                    row = process_record(record, base_dir)
                    if row["error"] and row["id"] is None:
                        row["error"] = f"line {number}: {row['error']}"
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        except OSError as exc:  # the input file itself failed mid-read (I/O error, a directory)
            err.write(f"cluewatch extract: cannot read {input_path}: {exc.strerror or exc}\n")
            return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    """`cluewatch extract --input FILE [--output FILE]` (stdout by default)."""
    parser = argparse.ArgumentParser(prog="cluewatch extract",
                                     description="Extract listing fields from saved pages (JSONL in, JSONL out).")
    parser.add_argument("--input", required=True, help='JSONL lines {"id", "url", "html_path"}')
    parser.add_argument("--output", help="write JSONL here instead of stdout")
    args = parser.parse_args(argv)
    if not args.output:
        return run_extract(args.input, sys.stdout, err=sys.stderr)
    try:
        out = open(args.output, "w", encoding="utf-8")
    except OSError as exc:
        print(f"cluewatch extract: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    with out:
        return run_extract(args.input, out, err=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
