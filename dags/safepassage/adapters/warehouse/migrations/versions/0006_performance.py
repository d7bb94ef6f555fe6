"""performance pull: placement in the daily grain, link attribution on dim_ad, no per-row FK checks

The fact tables drop their foreign keys: checked per row they cost the bulk load most of its time;
the loader takes every id from the dimensions in the same transaction (see models._PerformanceGrain).

Revision ID: 0006_performance
Revises: 0005_plan_per_run
Create Date: 2026-12-01 20:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_performance"
down_revision: str | None = "0005_plan_per_run"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REFERENCES = {
    "platform_code": "dim_platform",
    "account_id": "dim_account",
    "campaign_id": "dim_campaign",
    "ad_group_id": "dim_ad_group",
    "ad_id": "dim_ad",
    "country_code": "dim_country",
    "language_code": "dim_language",
}
_REFERENCED_COLUMN = {"platform_code": "code", "country_code": "code", "language_code": "code"}
_GRAIN = [
    "date",
    "platform_code",
    "account_id",
    "campaign_id",
    "ad_group_id",
    "ad_id",
    "country_code",
    "language_code",
    "device",
]


def upgrade() -> None:
    with op.batch_alter_table("dim_ad") as batch:
        batch.add_column(sa.Column("final_url", sa.String(length=2000), nullable=True))
        batch.add_column(sa.Column("link_destination", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("organisation_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("theme", sa.String(length=64), nullable=True))
        batch.create_foreign_key(
            op.f("fk_dim_ad_organisation_id_dim_support_organisation"),
            "dim_support_organisation",
            ["organisation_id"],
            ["id"],
        )
    for table in ("fact_daily_performance", "fact_daily_signposting"):
        extra = ["organisation_id"] if table == "fact_daily_signposting" else []
        references = {**_REFERENCES, **({"organisation_id": "dim_support_organisation"} if extra else {})}
        with op.batch_alter_table(table) as batch:
            for column, target in references.items():
                batch.drop_constraint(op.f(f"fk_{table}_{column}_{target}"), type_="foreignkey")
            batch.add_column(sa.Column("placement", sa.String(length=24), server_default="", nullable=False))
            batch.drop_constraint(f"uq_{table}_grain", type_="unique")
            batch.create_unique_constraint(f"uq_{table}_grain", [*_GRAIN, "placement", *extra])


def downgrade() -> None:
    for table in ("fact_daily_performance", "fact_daily_signposting"):
        extra = ["organisation_id"] if table == "fact_daily_signposting" else []
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"uq_{table}_grain", type_="unique")
            batch.create_unique_constraint(f"uq_{table}_grain", [*_GRAIN, *extra])
            batch.drop_column("placement")
            references = {**_REFERENCES, **({"organisation_id": "dim_support_organisation"} if extra else {})}
            for column, target in references.items():
                batch.create_foreign_key(
                    op.f(f"fk_{table}_{column}_{target}"),
                    target,
                    [column],
                    [_REFERENCED_COLUMN.get(column, "id")],
                )
    with op.batch_alter_table("dim_ad") as batch:
        batch.drop_constraint(op.f("fk_dim_ad_organisation_id_dim_support_organisation"), type_="foreignkey")
        batch.drop_column("theme")
        batch.drop_column("organisation_id")
        batch.drop_column("link_destination")
        batch.drop_column("final_url")
