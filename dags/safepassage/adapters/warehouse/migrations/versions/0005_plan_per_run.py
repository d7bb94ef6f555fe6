"""one push plan per DAG run and account

Revision ID: 0005_plan_per_run
Revises: 0004_push
Create Date: 2026-12-01 20:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_plan_per_run"
down_revision: str | None = "0004_push"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = ("dag_run_id", "platform_code", "account_external_id")


def upgrade() -> None:
    # Retried plan tasks used to add a row per try: keep the newest under the run id and mark the
    # older ones (their apply logs stay attached), so the key can become unique.
    plans = sa.table("push_plan", sa.column("id", sa.Integer), *(sa.column(name, sa.String) for name in KEY))
    bind = op.get_bind()
    newest: dict[tuple[str, ...], int] = {}
    rows = bind.execute(sa.select(plans).where(plans.c.dag_run_id.is_not(None)).order_by(plans.c.id.desc()))
    for row in rows.mappings().all():
        key = tuple(row[name] for name in KEY)
        if key not in newest:
            newest[key] = row["id"]
            continue
        renamed = f"{row['dag_run_id'][:200]} (superseded by plan {newest[key]})"
        bind.execute(sa.update(plans).where(plans.c.id == row["id"]).values(dag_run_id=renamed))
    with op.batch_alter_table("push_plan", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            batch_op.f("uq_push_plan_dag_run_id_platform_code_account_external_id"), list(KEY)
        )


def downgrade() -> None:
    with op.batch_alter_table("push_plan", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_push_plan_dag_run_id_platform_code_account_external_id"), type_="unique"
        )
