"""key judgement store

Revision ID: 0002_intelligence
Revises: 0001_initial
Create Date: 2026-11-28 01:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_intelligence"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "key_judgement",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("issued", sa.Date(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("source_name", sa.String(length=500), nullable=False),
        sa.Column(
            "published_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_judgement")),
    )
    with op.batch_alter_table("key_judgement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_key_judgement_valid_from"), ["valid_from"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("key_judgement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_key_judgement_valid_from"))
    op.drop_table("key_judgement")
