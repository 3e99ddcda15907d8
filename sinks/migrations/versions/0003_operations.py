"""Operations: task failures operators see, takedown checks, scoring versions (rescan trigger),
evidence retention bookkeeping.

Revision ID: 0003_operations
Revises: 0002
Create Date: 2026-11-27
"""
from alembic import op

revision = "0003_operations"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    -- A task that finally failed (after its retries), recorded by the DAGs' failure callback so that
    -- `cluewatch status` shows it next to the data it concerns.
    CREATE TABLE pipeline_failures (
        id          bigserial PRIMARY KEY,
        dag_id      text NOT NULL,
        task_id     text NOT NULL,
        run_id      text,
        map_index   int NOT NULL DEFAULT -1,
        try_number  int,
        failed_at   timestamptz NOT NULL DEFAULT now(),
        error       text NOT NULL DEFAULT ''
    );
    CREATE INDEX pipeline_failures_recent ON pipeline_failures (failed_at DESC);

    -- Did a confirmed listing come down? One row per recrawl of it (verify_takedowns DAG).
    CREATE TABLE takedown_checks (
        id          bigserial PRIMARY KEY,
        suspect_id  bigint NOT NULL REFERENCES suspects(id),
        listing_id  bigint NOT NULL REFERENCES listings(id),
        url         text NOT NULL,
        checked_at  timestamptz NOT NULL DEFAULT now(),
        status      text NOT NULL CHECK (status IN ('removed', 'still_live', 'error')),
        http_status int,
        detail      text
    );
    CREATE INDEX takedown_checks_by_suspect ON takedown_checks (suspect_id, checked_at DESC);

    -- Every (registry, detector set) pair detection has run under; a new pair means listing
    -- versions scored before need re-scoring (the rescan DAG).
    CREATE TABLE scoring_versions (
        registry_sha256 char(64) NOT NULL,
        detectors       text NOT NULL,          -- "wordmark:1,logo:2", sorted
        first_seen_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (registry_sha256, detectors)
    );

    -- When retention removed a version's archived page / images (the hashes stay as a record).
    ALTER TABLE listing_versions
        ADD COLUMN page_purged_at   timestamptz,
        ADD COLUMN images_purged_at timestamptz;
    -- Retention deletes a content-addressed blob only when no row names it any more.
    CREATE INDEX listing_versions_page_path ON listing_versions (page_path) WHERE page_path IS NOT NULL;
    CREATE INDEX listing_images_path ON listing_images (path) WHERE path IS NOT NULL;
    CREATE INDEX listing_images_thumb_path ON listing_images (thumb_path) WHERE thumb_path IS NOT NULL;
    """)


def downgrade() -> None:
    op.execute("""
    DROP INDEX listing_versions_page_path, listing_images_path, listing_images_thumb_path;
    ALTER TABLE listing_versions DROP COLUMN page_purged_at, DROP COLUMN images_purged_at;
    DROP TABLE scoring_versions;
    DROP TABLE takedown_checks;
    DROP TABLE pipeline_failures;
    """)
