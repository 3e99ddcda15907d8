"""sinks.blobstore: content-addressed keys, idempotent atomic writes, no way out of the root."""
from __future__ import annotations

import hashlib
import os

import pytest

from sinks.blobstore import (BlobStore, InvalidBlobKey, LocalBlobStore, S3BlobStore, blob_key,
                             blob_store_from_settings, check_key, key_digest)


def test_key_layout_is_sha256_fanned_out(tmp_path):
    store = LocalBlobStore(tmp_path)
    digest = hashlib.sha256(b"hello").hexdigest()
    key = store.put(b"hello", suffix=".txt")
    assert key == f"{digest[:2]}/{digest[2:4]}/{digest}.txt"
    assert (tmp_path / key).read_bytes() == b"hello"
    assert store.get(key) == b"hello" and store.exists(key) and key_digest(key) == digest
    assert isinstance(store, BlobStore)


def test_put_is_idempotent_and_never_rewrites(tmp_path):
    store = LocalBlobStore(tmp_path)
    key = store.put(b"same bytes", suffix=".bin")
    mtime = os.stat(tmp_path / key).st_mtime_ns
    assert store.put(b"same bytes", suffix=".bin") == key
    assert os.stat(tmp_path / key).st_mtime_ns == mtime
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [tmp_path / key]  # no temp files left


def test_write_is_atomic_a_failed_write_leaves_nothing(tmp_path, monkeypatch):
    store = LocalBlobStore(tmp_path)

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        store.put(b"data", suffix=".bin")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []  # neither the blob nor a .tmp
    assert not store.exists(blob_key(hashlib.sha256(b"data").hexdigest(), ".bin"))


def test_derived_encoding_filed_under_the_original_digest(tmp_path):
    store = LocalBlobStore(tmp_path)
    digest = hashlib.sha256(b"<html>").hexdigest()
    key = store.put(b"gzipped", suffix=".html.gz", digest=digest)
    assert key == blob_key(digest, ".html.gz") and store.get(key) == b"gzipped"


@pytest.mark.parametrize("key", [
    "../etc/passwd", "/etc/passwd", "ab/cd/../../x", "ab/cd/" + "0" * 64,       # wrong fan-out
    "00/00/" + "0" * 64 + "/../../x", "00/00/" + "0" * 63, "00\\00\\" + "0" * 64,
    "00/00/" + "0" * 64 + ".JPG", "00/00/" + "0" * 64 + "./", "", None,
])
def test_keys_that_could_leave_the_root_are_rejected(tmp_path, key):
    store = LocalBlobStore(tmp_path)
    for call in (store.get, store.exists, check_key):
        with pytest.raises(InvalidBlobKey):
            call(key)


@pytest.mark.parametrize("suffix", ["../x", "/x", ".a/b", "x", ".toolongsuffixxx", ".a.b.c"])
def test_bad_suffixes_and_digests_rejected(tmp_path, suffix):
    with pytest.raises(InvalidBlobKey):
        LocalBlobStore(tmp_path).put(b"x", suffix=suffix)
    with pytest.raises(InvalidBlobKey):
        LocalBlobStore(tmp_path).put(b"x", digest="../" + "0" * 61)


def test_missing_blob_is_a_key_error(tmp_path):
    with pytest.raises(KeyError):
        LocalBlobStore(tmp_path).get(blob_key("0" * 64))


def test_store_from_settings(tmp_path):
    assert blob_store_from_settings({"CLUEWATCH_HOME": str(tmp_path)}).root == tmp_path / "blobs"
    assert blob_store_from_settings({"CLUEWATCH_BLOB_STORE": str(tmp_path / "b")}).root == tmp_path / "b"
    assert blob_store_from_settings({"CLUEWATCH_BLOB_STORE": f"file://{tmp_path}/c"}).root == tmp_path / "c"
    assert blob_store_from_settings({"CLUEWATCH_HOME": str(tmp_path)}).fsync
    assert not blob_store_from_settings({"CLUEWATCH_HOME": str(tmp_path), "CLUEWATCH_BLOB_FSYNC": "0"}).fsync
    with pytest.raises(ValueError, match="unsupported scheme"):
        blob_store_from_settings({"CLUEWATCH_BLOB_STORE": "ftp://x/y"})


def test_s3_without_boto3_says_what_is_missing():
    # Only the missing-dependency message: no S3 server runs here (see S3BlobStore's docstring).
    try:
        import boto3  # noqa: F401
    except ImportError:
        with pytest.raises(RuntimeError, match="needs boto3"):
            S3BlobStore("s3://bucket/prefix")
    else:
        pytest.skip("boto3 installed")


# ------------------------------------------------------------------ page evidence (crawlers.evidence)
def test_archive_page_is_gzip_under_the_raw_pages_sha256(tmp_path):
    import gzip

    from crawlers.evidence import archive_page

    store = LocalBlobStore(tmp_path)
    page = "<html><title>雪碧</title></html>".encode("gbk")
    evidence = archive_page(store, page)
    digest = hashlib.sha256(page).hexdigest()
    assert evidence == {"page_sha256": digest, "page_path": blob_key(digest, ".html.gz"), "page_bytes": len(page)}
    archive = store.get(evidence["page_path"])
    assert gzip.decompress(archive) == page
    assert archive_page(store, page) == evidence and store.get(evidence["page_path"]) == archive
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) == 1


def test_evidence_pipeline_takes_the_body_off_the_item(tmp_path):
    import asyncio

    from crawlers.evidence import PageEvidencePipeline
    from crawlers.items import Listing, PageBody

    stats = type("Stats", (dict,), {"inc_value": lambda self, k, n=1: self.__setitem__(k, self.get(k, 0) + n)})()
    pipeline = PageEvidencePipeline(stats, LocalBlobStore(tmp_path))
    item = Listing(url="http://x/1", page_body=PageBody(b"<html>" * 1000))
    assert "<page body: 6000 bytes>" in repr(item)  # a "Dropped: <item>" log line shows no page

    from unittest import mock

    from twisted.internet import defer

    # No reactor here: run the thread hop inline.
    with mock.patch("twisted.internet.threads.deferToThread", lambda f, *a: defer.succeed(f(*a))), \
            mock.patch("scrapy.utils.defer.maybe_deferred_to_future", _deferred_result):
        asyncio.run(pipeline.process_item(item))
    assert "page_body" not in item and item["page_bytes"] == 6000 and stats == {"cluewatch/pages/archived": 1}
    assert item["page_path"].endswith(item["page_sha256"] + ".html.gz")

    # Within the inline limit the page is archived at once, on the calling thread: no coroutine.
    inline = PageEvidencePipeline(stats, LocalBlobStore(tmp_path / "inline"), inline_max=6000)
    small = Listing(url="http://x/2", page_body=PageBody(b"<html>" * 1000))
    assert inline.process_item(small) is small
    assert small["page_bytes"] == 6000 and stats == {"cluewatch/pages/archived": 2}
    assert LocalBlobStore(tmp_path / "inline").exists(small["page_path"])


def _deferred_result(d):
    import asyncio

    future = asyncio.get_running_loop().create_future()
    d.addCallbacks(future.set_result, lambda f: future.set_exception(f.value))
    return future


def test_a_deferring_view_writes_without_fsync_and_sync_flushes_the_filesystem(tmp_path, monkeypatch):
    import sinks.blobstore

    fsynced, synced = [], []
    real_fsync, real_sync = os.fsync, sinks.blobstore.sync_filesystem
    monkeypatch.setattr(os, "fsync", lambda fd: (fsynced.append(fd), real_fsync(fd)))
    monkeypatch.setattr(sinks.blobstore, "sync_filesystem", lambda p: (synced.append(p), real_sync(p)))
    store = LocalBlobStore(tmp_path)
    store.put(b"one")
    assert len(fsynced) == 1  # the plain store: durable on put

    deferring = store.deferring_sync()
    key = deferring.put(b"two")
    assert len(fsynced) == 1 and deferring.get(key) == b"two" and store.exists(key)
    deferring.sync()  # the real syncfs(2) of the store's filesystem
    assert synced == [tmp_path.resolve()]

    LocalBlobStore(tmp_path, fsync=False).deferring_sync().sync()  # CLUEWATCH_BLOB_FSYNC=0: no-op
    assert synced == [tmp_path.resolve()]


def test_sync_of_a_missing_store_is_a_clear_error(tmp_path):
    from sinks.blobstore import sync_filesystem

    with pytest.raises(FileNotFoundError):
        sync_filesystem(tmp_path / "gone")


def test_crawl_store_defers_fsync_only_when_the_listing_store_syncs_before_commit(tmp_path):
    from scrapy.settings import Settings

    from crawlers.blobs import crawl_blob_store, syncs_before_commit

    base = {"CLUEWATCH_BLOB_STORE": str(tmp_path), "ITEM_PIPELINES": {
        "crawlers.pipelines.PostgresStorePipeline": 900}}
    with_db = Settings({**base, "CLUEWATCH_DATABASE_URL": "postgresql://x/y"})
    assert syncs_before_commit(with_db) and not crawl_blob_store(with_db).fsync_each
    for settings in (Settings(base),  # no database: nothing commits, every blob is fsynced
                     Settings({**base, "CLUEWATCH_DATABASE_URL": "postgresql://x/y",
                               "CLUEWATCH_BLOB_DURABILITY": "each"}),
                     Settings({**base, "CLUEWATCH_DATABASE_URL": "postgresql://x/y",
                               "ITEM_PIPELINES": {"crawlers.pipelines.PostgresStorePipeline": None}})):
        assert not syncs_before_commit(settings) and crawl_blob_store(settings).fsync_each
    with pytest.raises(ValueError, match="CLUEWATCH_BLOB_DURABILITY"):
        crawl_blob_store(Settings({**base, "CLUEWATCH_BLOB_DURABILITY": "sometimes"}))


def test_the_listing_store_pipeline_syncs_the_crawls_blob_store(tmp_path):
    from scrapy.utils.test import get_crawler

    from crawlers.pipelines import PostgresStorePipeline

    settings = {"CLUEWATCH_BLOB_STORE": str(tmp_path), "CLUEWATCH_DATABASE_URL": "postgresql://x/y",
                "ITEM_PIPELINES": {"crawlers.pipelines.PostgresStorePipeline": 900}}
    pipeline = PostgresStorePipeline.from_crawler(get_crawler(settings_dict=settings))
    assert pipeline.before_commit.__self__.root == tmp_path.resolve()  # the same store's sync()
    pipeline = PostgresStorePipeline.from_crawler(get_crawler(settings_dict={
        **settings, "CLUEWATCH_BLOB_DURABILITY": "each"}))
    assert pipeline.before_commit is None


def test_only_quick_local_stores_take_blobs_on_the_reactor_thread(tmp_path):
    from scrapy.settings import Settings

    from crawlers.blobs import inline_limit

    settings = Settings({"CLUEWATCH_INLINE_BLOB_BYTES": 4096})
    local = LocalBlobStore(tmp_path / "b")
    assert not local.puts_are_quick  # fsync per blob: a disk wait, never on the reactor
    assert inline_limit(settings, local) == 0
    assert local.deferring_sync().puts_are_quick and inline_limit(settings, local.deferring_sync()) == 4096
    assert LocalBlobStore(tmp_path / "c", fsync=False).puts_are_quick
    assert inline_limit(Settings({"CLUEWATCH_INLINE_BLOB_BYTES": 0}), local.deferring_sync()) == 0
    assert inline_limit(settings, object()) == 0  # S3 and any other store: network, always a thread


def test_put_steps_over_a_crashed_writers_leftover_and_a_directory_removed_behind_its_back(tmp_path, monkeypatch):
    import shutil

    from sinks import blobstore

    store = LocalBlobStore(tmp_path)
    first = store.put(b"one", suffix=".bin")
    # A crash left the next temporary name behind: the write goes to the one after it.
    monkeypatch.setattr(blobstore, "_TMP_COUNTER", iter(range(1000, 2000)))
    key = blob_key(hashlib.sha256(b"two").hexdigest(), ".bin")
    leftover = tmp_path / os.path.dirname(key) / f".{os.path.basename(key)}.{os.getpid()}.1000.tmp"
    leftover.parent.mkdir(parents=True, exist_ok=True)
    leftover.write_bytes(b"half")
    assert store.put(b"two", suffix=".bin") == key and store.get(key) == b"two"
    assert leftover.read_bytes() == b"half"  # not ours to remove
    # The fan-out directory the store remembers is gone: it is made again.
    shutil.rmtree(tmp_path / first.split("/")[0])
    assert store.put(b"one", suffix=".bin") == first and store.get(first) == b"one"
    assert oct(os.stat(tmp_path / first).st_mode & 0o777) == "0o644"
