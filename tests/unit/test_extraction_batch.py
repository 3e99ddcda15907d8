"""`cluewatch extract --input pages.jsonl` (crawlers.extract_batch): DESIGN.md's batch contract —
one output line per input line, errors as lines, never a crash, never a fetch."""
from __future__ import annotations

import gzip
import io
import json
import os

import pytest

from crawlers import extract_batch
from crawlers.extract_batch import OUTPUT_KEYS, main, run_extract

PAGE = '<h1>Teapot</h1><p class="price">€ 12,99</p><img data-src="/img/t.jpg">'


def _run(tmp_path, lines, name="pages.jsonl"):
    path = tmp_path / name
    path.write_text("".join((l if isinstance(l, str) else json.dumps(l)) + "\n" for l in lines), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = run_extract(str(path), out, err=err)
    return code, [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def test_one_line_per_input_line_with_every_key(tmp_path):
    (tmp_path / "a.html").write_text(PAGE, encoding="utf-8")
    (tmp_path / "sub").mkdir()
    with gzip.open(tmp_path / "sub" / "b.html.gz", "wt", encoding="gbk") as f:
        f.write('<meta charset="gbk"><h1>茶壶</h1><span class="price">￥88-128</span>')
    code, rows, err = _run(tmp_path, [
        {"id": "a", "url": "https://shop.example.de/p/1", "html_path": "a.html"},
        {"id": 2, "url": "https://shop.example.cn/p/2", "html_path": "sub/b.html.gz"},
        {"id": "abs", "url": "https://shop.example.de/p/1", "html_path": str(tmp_path / "a.html")},
    ])
    assert code == 0 and err == ""
    assert [r["id"] for r in rows] == ["a", 2, "abs"]
    for row in rows:
        assert set(row) == {"id", "error", *OUTPUT_KEYS}
        assert row["error"] is None
    assert (rows[0]["title"], rows[0]["price"], rows[0]["currency"]) == ("Teapot", "12.99", "EUR")
    assert rows[0]["images"] == ["https://shop.example.de/img/t.jpg"]
    assert (rows[1]["title"], rows[1]["price_low"], rows[1]["price_high"], rows[1]["currency"]) == ("茶壶", "88", "128", "CNY")
    assert rows[0]["brand"] is None and rows[0]["seller"] is None


def test_bad_lines_become_error_lines(tmp_path, monkeypatch):
    (tmp_path / "a.html").write_text(PAGE, encoding="utf-8")
    (tmp_path / "img.html").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 900)
    (tmp_path / "bad.gz").write_bytes(b"not gzip at all")
    (tmp_path / "adir").mkdir()
    monkeypatch.setattr(extract_batch, "MAX_PAGE_BYTES", 1000)
    (tmp_path / "huge.html").write_text("<p>x</p>" * 200, encoding="utf-8")
    with gzip.open(tmp_path / "bomb.html.gz", "wb") as f:
        f.write(b" " * 5000)
    code, rows, err = _run(tmp_path, [
        "{not json",
        '["a", "list"]',
        {"url": "https://x.example/", "html_path": "a.html"},
        {"id": "nopath", "url": "https://x.example/"},
        {"id": "missing", "url": "https://x.example/", "html_path": "nope.html"},
        {"id": "dir", "url": "https://x.example/", "html_path": "adir"},
        {"id": "binary", "url": "https://x.example/", "html_path": "img.html"},
        {"id": "badgz", "url": "https://x.example/", "html_path": "bad.gz"},
        {"id": "huge", "url": "https://x.example/", "html_path": "huge.html"},
        {"id": "bomb", "url": "https://x.example/", "html_path": "bomb.html.gz"},
        {"id": "ok", "url": None, "html_path": "a.html"},
    ])
    assert code == 0 and err == ""
    assert len(rows) == 11
    errors = [r["error"] for r in rows]
    assert "invalid JSON" in errors[0] and errors[0].startswith("line 1:") and rows[0]["id"] is None
    assert "not a JSON object" in errors[1]
    assert "missing id" in errors[2]
    assert [r["id"] for r in rows[3:]] == ["nopath", "missing", "dir", "binary", "badgz", "huge", "bomb", "ok"]
    assert "missing html_path" in errors[3]
    assert "not found" in errors[4]
    assert "not a file" in errors[5]
    assert "binary" in errors[6]
    assert "unreadable" in errors[7]
    assert "too large" in errors[8] and "too large" in errors[9]
    assert errors[10] is None and rows[10]["title"] == "Teapot"
    for row in rows[:10]:
        assert set(row) == {"id", "error", *OUTPUT_KEYS}
        assert all(row[k] is None for k in OUTPUT_KEYS if k != "url")


def test_the_id_of_a_broken_line_is_kept_when_readable(tmp_path):
    code, rows, _ = _run(tmp_path, ['{"id": "p-7", "url": "https://x.example/", "html_path": ', '{"id": 12, oops'])
    assert code == 0 and [r["id"] for r in rows] == ["p-7", 12]
    assert all("invalid JSON" in r["error"] for r in rows)


def test_blank_lines_are_skipped(tmp_path):
    (tmp_path / "a.html").write_text(PAGE, encoding="utf-8")
    code, rows, _ = _run(tmp_path, ["", {"id": "a", "url": "https://x.example/", "html_path": "a.html"}, "   "])
    assert code == 0 and [r["id"] for r in rows] == ["a"]


def test_an_extraction_crash_is_an_error_line(tmp_path, monkeypatch):
    (tmp_path / "a.html").write_text(PAGE, encoding="utf-8")

    def boom(*args, **kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(extract_batch, "extract_listing", boom)
    code, rows, _ = _run(tmp_path, [{"id": "a", "url": "https://x.example/", "html_path": "a.html"}])
    assert code == 0 and rows[0]["error"] == "extraction failed: RuntimeError: kaboom"


def test_nothing_is_fetched(tmp_path, monkeypatch):
    import socket

    def no_network(*args, **kwargs):
        raise AssertionError("the batch command must not open sockets")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    code, rows, _ = _run(tmp_path, [{"id": "u", "url": "http://127.0.0.1:1/", "html_path": "http://127.0.0.1:1/page.html"}])
    assert code == 0 and "not found" in rows[0]["error"]


def test_unreadable_input_file_is_one_message_and_nonzero(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    missing = tmp_path / "nope.jsonl"
    assert run_extract(str(missing), out, err=err) != 0
    assert out.getvalue() == ""
    assert err.getvalue().count("\n") == 1 and str(missing) in err.getvalue()
    err = io.StringIO()
    assert run_extract(str(tmp_path), io.StringIO(), err=err) != 0  # a directory
    assert str(tmp_path) in err.getvalue() and "Traceback" not in err.getvalue()


def test_main_writes_the_output_file(tmp_path, capsys):
    (tmp_path / "a.html").write_text(PAGE, encoding="utf-8")
    pages = tmp_path / "pages.jsonl"
    pages.write_text(json.dumps({"id": "a", "url": "https://x.example/", "html_path": "a.html"}) + "\n")
    out = tmp_path / "out.jsonl"
    assert main(["--input", str(pages), "--output", str(out)]) == 0
    assert json.loads(out.read_text())["title"] == "Teapot"
    assert main(["--input", str(pages)]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == "a"
    assert main(["--input", str(tmp_path / "missing.jsonl")]) == 2
    assert "missing.jsonl" in capsys.readouterr().err


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can read anything")
def test_permission_denied_input(tmp_path):
    pages = tmp_path / "pages.jsonl"
    pages.write_text("{}\n")
    pages.chmod(0)
    err = io.StringIO()
    assert run_extract(str(pages), io.StringIO(), err=err) == 2 and str(pages) in err.getvalue()
