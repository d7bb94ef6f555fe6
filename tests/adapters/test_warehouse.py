"""The warehouse on SQLite and on the real PostgreSQL server: schema, natural keys, idempotent loads."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError

from safepassage.adapters.warehouse import Warehouse, upsert
from safepassage.adapters.warehouse import models as m
from safepassage.services.campaign_config import load_campaign_config
from safepassage.services.reference_data import sync_reference_data


def test_migrations_build_exactly_the_models(warehouse_url: str) -> None:
    store = Warehouse(warehouse_url)
    store.migrate()
    store.migrate()  # idempotent
    assert store.current_revision() == Warehouse.head_revision()
    with store.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), m.Base.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"
    tables = set(inspect(store.engine).get_table_names())
    assert {
        "fact_daily_performance",
        "fact_period_reach",
        "push_plan",
        "apply_log",
        "targeting_snapshot",
    } <= tables
    store.dispose()


def test_reference_data_sync_is_idempotent(warehouse: Warehouse) -> None:
    sync_reference_data(load_campaign_config(), warehouse)
    with warehouse.session() as session:
        assert session.scalar(select(func.count()).select_from(m.Country)) == 19
        assert session.scalar(select(func.count()).select_from(m.Language)) == 9
        assert session.scalar(select(func.count()).select_from(m.SupportOrganisation)) == 39
        poland = session.get(m.Country, "PL")
        assert poland is not None and poland.google_geo_target_id == 2616


def _campaign_tree(warehouse: Warehouse) -> dict[str, int]:
    with warehouse.session() as session:
        account = m.Account(platform_code="google_ads", external_id="1234567890", currency="EUR")
        session.add(account)
        session.flush()
        campaign = m.Campaign(account_id=account.id, external_id="111", name="SP PL jobs", country_code="PL")
        session.add(campaign)
        session.flush()
        group = m.AdGroup(campaign_id=campaign.id, external_id="222", name="uk", language_code="uk")
        session.add(group)
        session.flush()
        ad = m.Ad(ad_group_id=group.id, external_id="333")
        session.add(ad)
        session.flush()
        return {"account_id": account.id, "campaign_id": campaign.id, "ad_group_id": group.id, "ad_id": ad.id}


def _fact(ids: dict[str, int], **metrics: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "date": dt.date(2022, 4, 1),
        "platform_code": "google_ads",
        "country_code": "PL",
        "language_code": "uk",
        "device": "MOBILE",
        **ids,
    }
    row.update({"impressions": 100, "clicks": 5, "cost_minor": 1234, **metrics})
    return row


def test_fact_grain_is_unique(warehouse: Warehouse) -> None:
    ids = _campaign_tree(warehouse)
    with warehouse.session() as session:
        session.add(m.DailyPerformance(**_fact(ids)))
    with pytest.raises(IntegrityError), warehouse.session() as session:
        session.add(m.DailyPerformance(**_fact(ids, impressions=1)))


def test_repulled_window_replaces_rather_than_duplicates(warehouse: Warehouse) -> None:
    ids = _campaign_tree(warehouse)
    grain = list(m.PERFORMANCE_GRAIN)
    with warehouse.session() as session:
        upsert(
            session, m.DailyPerformance, [_fact(ids), _fact(ids, device="DESKTOP", impressions=7)], key=grain
        )
    with warehouse.session() as session:  # the platform revised the mobile row
        upsert(session, m.DailyPerformance, [_fact(ids, impressions=150, clicks=9)], key=grain)
    with warehouse.session() as session:
        rows = session.execute(
            select(
                m.DailyPerformance.device, m.DailyPerformance.impressions, m.DailyPerformance.clicks
            ).order_by(m.DailyPerformance.device)
        ).all()
    assert [tuple(r) for r in rows] == [("DESKTOP", 7, 5), ("MOBILE", 150, 9)]


def test_negative_metrics_are_refused(warehouse: Warehouse) -> None:
    ids = _campaign_tree(warehouse)
    with pytest.raises(IntegrityError), warehouse.session() as session:
        session.add(m.DailyPerformance(**_fact(ids, cost_minor=-1)))


def test_a_failed_transaction_writes_nothing(warehouse: Warehouse) -> None:
    with pytest.raises(IntegrityError), warehouse.session() as session:
        session.add(m.Account(platform_code="meta", external_id="act_1", currency="EUR"))
        session.flush()
        session.add(m.Account(platform_code="meta", external_id="act_1", currency="EUR"))
        session.flush()
    with warehouse.session() as session:
        assert session.scalar(select(func.count()).select_from(m.Account)) == 0


def test_period_reach_is_kept_per_window(warehouse: Warehouse) -> None:
    ids = _campaign_tree(warehouse)
    key = [
        "platform_code",
        "account_id",
        "scope_level",
        "scope_external_id",
        "country_code",
        "window_start",
        "window_end",
    ]
    base = {
        "platform_code": "google_ads",
        "account_id": ids["account_id"],
        "scope_level": "account",
        "scope_external_id": "1234567890",
        "country_code": "ALL",
    }
    april = {**base, "window_start": dt.date(2022, 4, 1), "window_end": dt.date(2022, 4, 30)}
    campaign = {**base, "window_start": dt.date(2022, 3, 25), "window_end": dt.date(2022, 10, 31)}
    with warehouse.session() as session:
        upsert(
            session,
            m.PeriodReach,
            [{**april, "reach": 900, "impressions": 5000}, {**campaign, "reach": 4000, "impressions": 60000}],
            key=key,
        )
        upsert(session, m.PeriodReach, [{**april, "reach": 950, "impressions": 5100}], key=key)
    with warehouse.session() as session:
        reach = dict(session.execute(select(m.PeriodReach.window_start, m.PeriodReach.reach)).tuples().all())
    assert reach == {dt.date(2022, 4, 1): 950, dt.date(2022, 3, 25): 4000}


def test_postgres_url_is_hidden_in_logs() -> None:
    store = Warehouse("postgresql+psycopg://user:s3cret@127.0.0.1:5432/warehouse")
    assert "s3cret" not in store.safe_url and "***" in store.safe_url
