"""country pauses (kill switch)

Revision ID: 0004_push
Revises: 0002_intelligence
Create Date: 2026-11-28 01:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_push"
down_revision: str | None = "0002_intelligence"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "country_pause",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("paused_by", sa.String(length=128), nullable=False),
        sa.Column(
            "paused_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("platform_results", sa.JSON(), nullable=False),
        sa.Column("resumed_by", sa.String(length=128), nullable=True),
        sa.Column("resumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["country_code"], ["dim_country.code"], name=op.f("fk_country_pause_country_code_dim_country")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_country_pause")),
    )
    with op.batch_alter_table("country_pause", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_country_pause_country_code"), ["country_code"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("country_pause", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_country_pause_country_code"))
    op.drop_table("country_pause")
