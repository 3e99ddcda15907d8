"""Retention of archived evidence (raw pages, images, thumbnails) by policy.

A listing version's archived page is deleted `page_days` after the version was stored, its images
and thumbnails after `image_days` — except when it is still needed:
- it is the evidence of a suspect that is open, confirmed or escalated (never deleted, at any age);
- it is the current version of a listing still online (what a new suspect would point at).
The row keeps its hashes (page_sha256, image sha256) and gets page_purged_at / images_purged_at, so
what was archived and when it was let go stays on record. Blobs are content-addressed and may be
shared by several rows (the same image in two listings); a blob is deleted only when no row names
it any more. The database is updated (committed) before blobs are deleted: a crash in between
leaves an unreferenced blob (wasted space, found again by nothing), never a row naming a lost blob.

Policy from the environment (RetentionPolicy.from_env): CLUEWATCH_RETAIN_PAGES_DAYS (default 90),
CLUEWATCH_RETAIN_IMAGES_DAYS (default 180).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

PROTECTED_SUSPECT_STATUSES = ("open", "confirmed", "escalated")


@dataclass(frozen=True)
class RetentionPolicy:
    page_days: int = 90
    image_days: int = 180

    @classmethod
    def from_env(cls, env=None) -> "RetentionPolicy":
        env = os.environ if env is None else env
        policy = cls(page_days=int(env.get("CLUEWATCH_RETAIN_PAGES_DAYS") or cls.page_days),
                     image_days=int(env.get("CLUEWATCH_RETAIN_IMAGES_DAYS") or cls.image_days))
        if policy.page_days < 1 or policy.image_days < 1:
            raise ValueError(f"retention days must be at least 1: {policy}")
        return policy


@dataclass
class PurgeStats:
    pages: int = 0            # listing versions whose archived page was let go
    images: int = 0           # image rows whose blob (and thumbnail) was let go
    blobs_deleted: int = 0
    bytes_freed: int = 0
    blobs_shared_kept: int = 0  # still named by another row: kept
    blobs_missing: int = 0      # already gone from the store
    dry_run: bool = False


# Versions past the cutoff that nothing protects (see the module doc).
_EXPIRED = """
    SELECT lv.id FROM listing_versions lv JOIN listings l ON l.id = lv.listing_id
    WHERE lv.created_at < now() - make_interval(days => %s)
      AND NOT (l.current_version_id = lv.id AND l.removed_at IS NULL)
      AND NOT EXISTS (SELECT 1 FROM suspects s WHERE s.listing_version_id = lv.id
                      AND s.status = ANY(%s))"""


def purge_evidence(conn, store, policy: RetentionPolicy, *, dry_run: bool = False,
                   chunk: int = 5000) -> PurgeStats:
    """Apply `policy`; returns what was (dry_run: would be) deleted. Works in chunks of `chunk` rows,
    each its own transaction. A dry run does it all in one transaction and rolls it back."""
    stats = PurgeStats(dry_run=dry_run)
    if dry_run:
        chunk = 2**31 - 1
    statuses = list(PROTECTED_SUSPECT_STATUSES)
    while True:
        with conn.cursor() as cur:
            cur.execute(
                f"""WITH gone AS (
                        SELECT id, page_path FROM listing_versions
                        WHERE page_path IS NOT NULL AND id IN ({_EXPIRED}) ORDER BY id LIMIT %s
                        FOR UPDATE)
                    UPDATE listing_versions lv SET page_path = NULL, page_purged_at = now()
                    FROM gone WHERE lv.id = gone.id RETURNING gone.page_path""",
                (policy.page_days, statuses, chunk))
            page_keys = [k for (k,) in cur.fetchall()]
            cur.execute(
                f"""WITH gone AS (
                        SELECT id, path, thumb_path FROM listing_images
                        WHERE (path IS NOT NULL OR thumb_path IS NOT NULL)
                          AND listing_version_id IN ({_EXPIRED}) ORDER BY id LIMIT %s
                        FOR UPDATE),
                    upd AS (
                        UPDATE listing_images i SET path = NULL, thumb_path = NULL
                        FROM gone WHERE i.id = gone.id RETURNING i.listing_version_id, gone.path, gone.thumb_path),
                    mark AS (
                        UPDATE listing_versions SET images_purged_at = now()
                        WHERE id IN (SELECT listing_version_id FROM upd))
                    SELECT path, thumb_path FROM upd""",
                (policy.image_days, statuses, chunk))
            image_rows = cur.fetchall()
        if not page_keys and not image_rows:
            conn.rollback()
            return stats
        stats.pages += len(page_keys)
        stats.images += len(image_rows)
        keys = set(page_keys) | {k for row in image_rows for k in row if k}
        unreferenced = _unreferenced(conn, keys)
        stats.blobs_shared_kept += len(keys) - len(unreferenced)
        if dry_run:
            conn.rollback()
            for key in unreferenced:
                size = _blob_size(store, key)
                stats.blobs_missing += size is None
                stats.bytes_freed += size or 0
                stats.blobs_deleted += size is not None
            return stats
        conn.commit()
        for key in sorted(unreferenced):
            freed = _delete_blob(store, key)
            if freed is None:
                stats.blobs_missing += 1
            else:
                stats.blobs_deleted += 1
                stats.bytes_freed += freed


def _unreferenced(conn, keys: set[str]) -> set[str]:
    if not keys:
        return set()
    with conn.cursor() as cur:
        cur.execute(
            """SELECT k FROM unnest(%s::text[]) AS k
               WHERE NOT EXISTS (SELECT 1 FROM listing_versions WHERE page_path = k)
                 AND NOT EXISTS (SELECT 1 FROM listing_images WHERE path = k)
                 AND NOT EXISTS (SELECT 1 FROM listing_images WHERE thumb_path = k)""",
            (sorted(keys),))
        return {k for (k,) in cur.fetchall()}


def _blob_size(store, key: str) -> int | None:
    """Size in bytes of the blob, None when absent. The BlobStore protocol has no size/delete (the
    crawl side never needs them), so retention speaks to the two stores it knows directly."""
    from sinks.blobstore import LocalBlobStore, S3BlobStore

    if isinstance(store, LocalBlobStore):
        try:
            return store.path(key).stat().st_size
        except FileNotFoundError:
            return None
    if isinstance(store, S3BlobStore):
        if not store.exists(key):
            return None
        return int(store.client.head_object(Bucket=store.bucket, Key=store._object(key))["ContentLength"])
    raise TypeError(f"retention does not know how to size blobs in {store!r}")


def _delete_blob(store, key: str) -> int | None:
    """Delete the blob; its size in bytes, or None if it was already gone."""
    from sinks.blobstore import LocalBlobStore, S3BlobStore

    size = _blob_size(store, key)
    if size is None:
        return None
    if isinstance(store, LocalBlobStore):
        try:
            store.path(key).unlink()
        except FileNotFoundError:
            return None
    elif isinstance(store, S3BlobStore):
        store.client.delete_object(Bucket=store.bucket, Key=store._object(key))
    return size
