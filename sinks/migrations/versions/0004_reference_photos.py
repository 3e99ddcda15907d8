"""Registry: the mark owner's official product photos (stolen-photo signal). Also joins the two
0003 branches, so the schema has one head again.

Revision ID: 0004_reference_photos
Revises: 0003_delivery, 0003_operations
"""
from alembic import op

revision = "0004_reference_photos"
down_revision = ("0003_delivery", "0003_operations")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE TABLE mark_photos (
        mark_id  text NOT NULL REFERENCES marks(id) ON DELETE CASCADE,
        position int NOT NULL,
        path     text NOT NULL,
        sha256   char(64),
        PRIMARY KEY (mark_id, position)
    )""")


def downgrade() -> None:
    op.execute("DROP TABLE mark_photos")
