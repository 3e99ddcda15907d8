"""Evidence (archived pages, stored images, thumbnails) and incremental recrawl bookkeeping.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    -- The raw page each listing version was extracted from, archived (gzip) in the blob store.
    ALTER TABLE listing_versions
        ADD COLUMN page_sha256 char(64),      -- of the uncompressed bytes as served
        ADD COLUMN page_path   text,          -- blob-store key of the gzip archive
        ADD COLUMN page_bytes  int;

    -- Downloaded images: content-addressed (sha256 of the bytes), with a thumbnail for the review UI.
    ALTER TABLE listing_images
        ADD COLUMN thumb_path text,
        ADD COLUMN width      int,
        ADD COLUMN height     int,
        ADD COLUMN bytes      int,
        ADD COLUMN error      text;           -- why it was not stored (too large, bomb, not an image…)

    -- HTTP validators of the listing page, for conditional recrawls (If-None-Match / If-Modified-Since).
    ALTER TABLE listings
        ADD COLUMN etag          text,
        ADD COLUMN last_modified text;

    -- One row per crawl of a source; removals are judged only against crawls that completed.
    CREATE TABLE crawl_runs (
        id          bigserial PRIMARY KEY,
        source_id   text NOT NULL REFERENCES sources(id),
        started_at  timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        status      text NOT NULL DEFAULT 'running'
                    CHECK (status IN ('running', 'finished', 'failed')),
        complete    boolean NOT NULL DEFAULT false,  -- reached every page it set out to (no errors that hide listings)
        stats       jsonb NOT NULL DEFAULT '{}'
    );
    CREATE INDEX crawl_runs_by_source ON crawl_runs (source_id, started_at DESC);
    CREATE INDEX listings_seen ON listings (source_id, last_seen_at) WHERE removed_at IS NULL;
    """)


def downgrade() -> None:
    op.execute("""
    DROP TABLE crawl_runs;
    DROP INDEX listings_seen;
    ALTER TABLE listings DROP COLUMN etag, DROP COLUMN last_modified;
    ALTER TABLE listing_images DROP COLUMN thumb_path, DROP COLUMN width, DROP COLUMN height,
        DROP COLUMN bytes, DROP COLUMN error;
    ALTER TABLE listing_versions DROP COLUMN page_sha256, DROP COLUMN page_path, DROP COLUMN page_bytes;
    """)
