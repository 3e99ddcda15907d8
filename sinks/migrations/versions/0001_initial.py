"""Initial schema: sources, versioned listings, registry, findings, suspects, decisions, outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = """
CREATE TABLE sources (
    id          text PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('ecommerce', 'tradefair', 'market')),
    platform    text NOT NULL,
    config      jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- A listing is identified by (source, external id); its content lives in versions.
CREATE TABLE listings (
    id                 bigserial PRIMARY KEY,
    source_id          text NOT NULL REFERENCES sources(id),
    external_id        text NOT NULL,
    url                text NOT NULL,
    first_seen_at      timestamptz NOT NULL DEFAULT now(),
    last_seen_at       timestamptz NOT NULL DEFAULT now(),
    removed_at         timestamptz,
    current_version_id bigint,
    UNIQUE (source_id, external_id)
);

CREATE TABLE listing_versions (
    id              bigserial PRIMARY KEY,
    listing_id      bigint NOT NULL REFERENCES listings(id),
    content_sha256  char(64) NOT NULL,
    platform        text,
    kind            text,
    url             text NOT NULL,
    title           text,
    description     text,
    brand           text,
    price_low       numeric(14, 2),
    price_high      numeric(14, 2),
    currency        char(3),
    seller_name     text,
    seller_id       text,
    seller_url      text,
    seller_location text,
    category        text,
    captured_at     timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (listing_id, content_sha256)
);
ALTER TABLE listings ADD CONSTRAINT listings_current_version_fk
    FOREIGN KEY (current_version_id) REFERENCES listing_versions(id);

CREATE TABLE listing_images (
    id                 bigserial PRIMARY KEY,
    listing_version_id bigint NOT NULL REFERENCES listing_versions(id) ON DELETE CASCADE,
    position           int NOT NULL,
    url                text NOT NULL,
    sha256             char(64),
    path               text,
    UNIQUE (listing_version_id, position)
);

-- Registry: what is protected. Each load is a registry version; marks point at the latest.
CREATE TABLE registry_versions (
    id          bigserial PRIMARY KEY,
    sha256      char(64) NOT NULL UNIQUE,
    source_file text,
    loaded_at   timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE marks (
    id                  text PRIMARY KEY,
    reg_no              text,
    owner               text,
    nice_classes        int[] NOT NULL DEFAULT '{}',
    registry_version_id bigint NOT NULL REFERENCES registry_versions(id),
    active              boolean NOT NULL DEFAULT true
);
CREATE TABLE mark_names (
    mark_id  text NOT NULL REFERENCES marks(id) ON DELETE CASCADE,
    position int NOT NULL,
    name     text NOT NULL,
    PRIMARY KEY (mark_id, position)
);
CREATE TABLE mark_logos (
    mark_id  text NOT NULL REFERENCES marks(id) ON DELETE CASCADE,
    position int NOT NULL,
    path     text NOT NULL,
    sha256   char(64),
    PRIMARY KEY (mark_id, position)
);
CREATE TABLE authorized_sellers (
    mark_id     text NOT NULL REFERENCES marks(id) ON DELETE CASCADE,
    seller_name text NOT NULL,
    PRIMARY KEY (mark_id, seller_name)
);
CREATE TABLE reference_prices (
    mark_id  text NOT NULL REFERENCES marks(id) ON DELETE CASCADE,
    position int NOT NULL,
    product  text,
    currency char(3),
    price    numeric(14, 2) NOT NULL,
    PRIMARY KEY (mark_id, position)
);
CREATE TABLE geographical_indications (
    id                   text PRIMARY KEY,
    name                 text NOT NULL,
    region               text,
    products             text[] NOT NULL DEFAULT '{}',
    authorized_producers text[] NOT NULL DEFAULT '{}',
    registry_version_id  bigint NOT NULL REFERENCES registry_versions(id),
    active               boolean NOT NULL DEFAULT true
);

-- One row per detector signal on a listing version; re-running a detector version adds nothing.
CREATE TABLE findings (
    id                 bigserial PRIMARY KEY,
    listing_version_id bigint NOT NULL REFERENCES listing_versions(id),
    detector           text NOT NULL,
    detector_version   text NOT NULL,
    mark_id            text NOT NULL DEFAULT '',
    score              double precision NOT NULL CHECK (score >= 0 AND score <= 1),
    reason             text NOT NULL,
    evidence           jsonb NOT NULL DEFAULT '{}',
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (listing_version_id, detector, detector_version, mark_id)
);

-- Detector runs over a listing version, whether or not they found anything ("already scored").
CREATE TABLE detection_runs (
    listing_version_id bigint NOT NULL REFERENCES listing_versions(id),
    detector           text NOT NULL,
    detector_version   text NOT NULL,
    registry_sha256    char(64) NOT NULL,
    ran_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (listing_version_id, detector, detector_version, registry_sha256)
);

CREATE TABLE suspects (
    id                 bigserial PRIMARY KEY,
    listing_version_id bigint NOT NULL UNIQUE REFERENCES listing_versions(id),
    score              double precision NOT NULL,
    reasons            text[] NOT NULL,
    status             text NOT NULL DEFAULT 'open'
                       CHECK (status IN ('open', 'confirmed', 'dismissed', 'escalated')),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX suspects_queue ON suspects (status, score DESC);

CREATE TABLE decisions (
    id         bigserial PRIMARY KEY,
    suspect_id bigint NOT NULL REFERENCES suspects(id),
    decision   text NOT NULL CHECK (decision IN ('confirm', 'dismiss', 'escalate')),
    officer    text NOT NULL,
    note       text,
    decided_at timestamptz NOT NULL DEFAULT now()
);

-- Transactional outbox: written in the same transaction as the fact it announces.
CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    event_id     uuid NOT NULL UNIQUE,
    topic        text NOT NULL,
    key          text NOT NULL,
    payload      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    attempts     int NOT NULL DEFAULT 0,
    last_error   text,
    quarantined_at timestamptz,  -- breaks its schema: kept for a human, never sent
    kafka_partition int,
    kafka_offset bigint
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL AND quarantined_at IS NULL;
"""

TABLES = [
    "outbox", "decisions", "suspects", "detection_runs", "findings", "geographical_indications",
    "reference_prices", "authorized_sellers", "mark_logos", "mark_names", "marks",
    "registry_versions", "listing_images",
]


def upgrade() -> None:
    op.execute(SCHEMA)


def downgrade() -> None:
    op.execute("ALTER TABLE listings DROP CONSTRAINT listings_current_version_fk")
    for table in TABLES + ["listing_versions", "listings", "sources"]:
        op.execute(f"DROP TABLE {table}")
