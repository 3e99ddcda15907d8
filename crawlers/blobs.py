"""The blob store a crawl writes its evidence to (pages, images, thumbnails), and when it syncs.

When the crawl stores listings into PostgreSQL (CLUEWATCH_DATABASE_URL set, PostgresStorePipeline
enabled) and ``CLUEWATCH_BLOB_DURABILITY = "commit"`` (the default), the pipelines write blobs
without a per-blob fsync and the listing store syncs the blob filesystem once before each commit:
a row that names a blob is committed only after the blob is on disk, at a fraction of the cost of
one fsync per blob. Otherwise (no database, ``"each"``) every blob is fsynced as it is written.

syncfs(2) flushes everything dirty on that filesystem, other programs' writes included. Measured on
the 5,000-listing benchmark: 233 syncs, median 2.5 ms, slowest 21 ms, 0.76 s in all (in the store
threads). A blob store that shares its filesystem with a heavy writer should get its own
filesystem, or ``"each"``.
"""
from __future__ import annotations

STORE_PIPELINE = "crawlers.pipelines.PostgresStorePipeline"


def syncs_before_commit(settings) -> bool:
    """Whether this crawl's listing store syncs the blob store before committing."""
    if settings.get("CLUEWATCH_BLOB_DURABILITY", "commit") != "commit":
        return False
    if not settings.get("CLUEWATCH_DATABASE_URL"):
        return False
    return settings.getwithbase("ITEM_PIPELINES").get(STORE_PIPELINE) is not None


def crawl_blob_store(settings):
    """The store CLUEWATCH_BLOB_STORE names, deferring its fsyncs when the listing store syncs."""
    from sinks.blobstore import blob_store_from_settings  # noqa: PLC0415

    durability = settings.get("CLUEWATCH_BLOB_DURABILITY", "commit")
    if durability not in ("commit", "each"):
        raise ValueError(f"CLUEWATCH_BLOB_DURABILITY must be 'commit' or 'each', not {durability!r}")
    store = blob_store_from_settings(uri=settings.get("CLUEWATCH_BLOB_STORE"))
    deferring = getattr(store, "deferring_sync", None)
    return deferring() if deferring is not None and syncs_before_commit(settings) else store


def inline_limit(settings, blobs) -> int:
    """Blobs up to this many bytes are written on the crawl's reactor thread, not in a worker thread.

    A hop to a worker thread and back costs the reactor more than gzip and a local write of a small
    page: on the crawl benchmark (8 KB pages) archiving pages inline cut the crawl's CPU per page by
    ~14 % (GIL hand-overs and wake-ups, not the work itself). Only a local store without per-blob
    fsync qualifies (``puts_are_quick``); S3 or fsync-each stores always use the thread.
    CLUEWATCH_INLINE_BLOB_BYTES = 0 sends everything to the thread."""
    if not getattr(blobs, "puts_are_quick", False):
        return 0
    return max(0, settings.getint("CLUEWATCH_INLINE_BLOB_BYTES", 64 * 1024))
