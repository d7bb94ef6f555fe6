"""impact reporting: partner-reported outcomes

Revision ID: 0007_impact
Revises: 0006_performance
Create Date: 2026-12-01 20:25:07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_impact"
down_revision: str | None = "0006_performance"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fact_partner_outcome",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.String(length=64), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("people_signposted_to_safety", sa.Integer(), nullable=False),
        sa.Column("basis", sa.String(length=16), nullable=False),
        sa.Column("source_name", sa.String(length=500), nullable=False),
        sa.Column(
            "loaded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "people_signposted_to_safety >= 0", name=op.f("ck_fact_partner_outcome_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["country_code"],
            ["dim_country.code"],
            name=op.f("fk_fact_partner_outcome_country_code_dim_country"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["dim_support_organisation.id"],
            name=op.f("fk_fact_partner_outcome_organisation_id_dim_support_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fact_partner_outcome")),
        sa.UniqueConstraint("organisation_id", "country_code", "month", name="uq_fact_partner_outcome_cell"),
    )


def downgrade() -> None:
    op.drop_table("fact_partner_outcome")
