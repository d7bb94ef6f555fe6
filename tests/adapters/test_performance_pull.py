"""The daily performance pull against the sandbox emulators (official SDKs) and the real warehouse."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from safepassage.adapters.warehouse import Warehouse
from safepassage.adapters.warehouse import models as m
from safepassage.adapters.warehouse.performance_store import window_checksum
from safepassage.domain.performance import PerformanceSettings, Window
from safepassage.sandbox.faults import FaultPlan
from safepassage.services.campaign_config import load_campaign_config
from safepassage.services.performance import pull_google_ads, pull_meta
from tests.adapters.performance_fixtures import google_campaigns, meta_campaigns

START = dt.date(2022, 3, 25)
SETTINGS = PerformanceSettings(report_poll_seconds=0)


def _google(sandbox: Any) -> str:
    return str(sandbox.descriptor["google_ads"]["customer_ids"][0])


def _meta(sandbox: Any) -> str:
    return str(sandbox.descriptor["meta"]["ad_account_ids"][0])


def _day_rows(warehouse: Warehouse, day: dt.date, platform: str) -> dict[tuple[Any, ...], tuple[int, int, int]]:
    with warehouse.session() as session:
        rows = session.execute(
            select(
                m.DailyPerformance.ad_id,
                m.DailyPerformance.country_code,
                m.DailyPerformance.device,
                m.DailyPerformance.placement,
                m.DailyPerformance.impressions,
                m.DailyPerformance.clicks,
                m.DailyPerformance.cost_minor,
            ).where(m.DailyPerformance.date == day, m.DailyPerformance.platform_code == platform)
        ).all()
    return {tuple(r[:4]): tuple(r[4:]) for r in rows}


def test_google_pull_attributes_rows_and_a_rerun_changes_nothing(
    sandbox: Any, google_ads_client: Any, warehouse: Warehouse
) -> None:
    customer = _google(sandbox)
    google_campaigns(google_ads_client, customer)
    sandbox.clock.set(dt.datetime(2022, 4, 10, tzinfo=dt.UTC))
    config = load_campaign_config()
    window = Window(START, dt.date(2022, 4, 9))

    first = pull_google_ads(warehouse, google_ads_client, customer, config, SETTINGS, window)
    before = window_checksum(warehouse)
    again = pull_google_ads(warehouse, google_ads_client, customer, config, SETTINGS, window)

    assert first.rows > 0 and again.rows == first.rows
    assert window_checksum(warehouse) == before
    assert first.requests == 5  # three entity reads, the stream, the account totals
    with warehouse.session() as session:
        by_country = dict(
            session.execute(
                select(m.DailyPerformance.country_code, func.sum(m.DailyPerformance.clicks)).group_by(
                    m.DailyPerformance.country_code
                )
            ).tuples().all()
        )
        languages = set(session.scalars(select(m.DailyPerformance.language_code).distinct()))
        signposting = session.execute(
            select(m.DailySignposting.organisation_id, func.sum(m.DailySignposting.clicks)).group_by(
                m.DailySignposting.organisation_id
            )
        ).all()
        app = session.scalar(
            select(func.sum(m.DailyPerformance.app_download_clicks)).where(m.DailyPerformance.country_code == "RO")
        )
        pl_clicks = session.scalar(
            select(func.sum(m.DailyPerformance.signposting_clicks)).where(m.DailyPerformance.country_code == "PL")
        )
    assert set(by_country) == {"PL", "RO"}
    assert languages == {"uk", "ru"}
    assert dict(signposting) == {"la-strada-poland": by_country["PL"]}  # every PL click went to La Strada
    assert pl_clicks == by_country["PL"] and app == by_country["RO"]  # RO's ad links to the STOP APP
