"""Delivery bookkeeping: dead-lettered outbox rows, and the reference consumer's de-duplication table.

Revision ID: 0003_delivery
Revises: 0002
Create Date: 2026-11-27
"""
from alembic import op

revision = "0003_delivery"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    -- A row that can never be sent (schema-invalid, too large, refused for good by the broker) is
    -- parked on cluewatch.dlq.v1; the row keeps its payload and says where the DLQ copy went.
    -- quarantined_at is set too, so every "still to send" query (and its partial index) skips it.
    ALTER TABLE outbox
        ADD COLUMN dead_lettered_at timestamptz,
        ADD COLUMN dlq_partition    int,
        ADD COLUMN dlq_offset       bigint;

    -- `cluewatch consume --sink postgres`: one row per event_id, so a re-delivered event is a no-op.
    CREATE TABLE IF NOT EXISTS consumed_events (
        event_id        uuid PRIMARY KEY,
        topic           text NOT NULL,
        kafka_partition int NOT NULL,
        kafka_offset    bigint NOT NULL,
        key             text,
        payload         jsonb NOT NULL,
        consumed_at     timestamptz NOT NULL DEFAULT now()
    );
    """)


def downgrade() -> None:
    op.execute("""
    DROP TABLE IF EXISTS consumed_events;
    ALTER TABLE outbox DROP COLUMN dead_lettered_at, DROP COLUMN dlq_partition, DROP COLUMN dlq_offset;
    """)
