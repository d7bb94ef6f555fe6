"""0005_plan_per_run makes one plan per DAG run and account unique, on warehouses that already hold
several plans of one run (each retried plan task used to add one)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.exc import IntegrityError

from safepassage.adapters.warehouse import Warehouse
from safepassage.adapters.warehouse.engine import _alembic_config
from safepassage.services.campaign_config import load_campaign_config
from safepassage.services.reference_data import sync_reference_data

PLANS = sa.table(
    "push_plan",
    *(sa.column(name) for name in ("id", "platform_code", "account_external_id", "status", "dag_run_id")),
    sa.column("summary", sa.JSON),
    sa.column("operations", sa.JSON),
    sa.column("approval_reasons", sa.JSON),
)


def migrate_to(warehouse: Warehouse, revision: str, down: bool = False) -> None:
    with warehouse.engine.begin() as connection:
        config = _alembic_config(warehouse.url)
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def plan_row(run: str | None, status: str) -> dict[str, object]:
    return {
        "platform_code": "google_ads",
        "account_external_id": "1234567890",
        "status": status,
        "dag_run_id": run,
        "summary": {},
        "operations": [],
        "approval_reasons": [],
    }


def test_older_duplicates_are_marked_and_the_key_becomes_unique(warehouse_url: str) -> None:
    warehouse = Warehouse(warehouse_url)
    warehouse.migrate()
    sync_reference_data(load_campaign_config(), warehouse)
    migrate_to(warehouse, "0004_push", down=True)
    with warehouse.engine.begin() as connection:
        for run, status in [
            ("run-a", "failed"),
            ("run-a", "applied"),
            ("run-b", "applied"),
            (None, "x"),
            (None, "y"),
        ]:
            connection.execute(sa.insert(PLANS).values(plan_row(run, status)))

    warehouse.migrate()

    with warehouse.engine.connect() as connection:
        rows = connection.execute(sa.select(PLANS.c.id, PLANS.c.dag_run_id).order_by(PLANS.c.id)).all()
    assert [run for _, run in rows] == ["run-a (superseded by plan 2)", "run-a", "run-b", None, None]
    with pytest.raises(IntegrityError), warehouse.engine.begin() as connection:
        connection.execute(sa.insert(PLANS).values(plan_row("run-b", "needs_approval")))
    migrate_to(warehouse, "0004_push", down=True)  # and back
    warehouse.migrate()
    warehouse.dispose()
