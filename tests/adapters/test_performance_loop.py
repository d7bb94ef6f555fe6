"""Closing the loop: the allocator paces against the spend the pull loaded, and says so."""

from __future__ import annotations

import datetime as dt

from safepassage.adapters.warehouse import Warehouse
from safepassage.domain.performance import AccountTree, AdGroupRef, AdRef, CampaignRef, PulledRow, Window
from safepassage.services.budgets import allocate_budgets
from safepassage.services.campaign_config import load_campaign_config
from safepassage.services.push_settings import load_push_settings
from tests.push_support import store_inputs, targeting_document

DAY = dt.date(2022, 4, 21)


def _load_pl_spend(warehouse: Warehouse, per_day_minor: int, clicks: int = 10) -> None:
    tree = AccountTree("google_ads", "5550001001", "EUR")
    tree.campaigns.append(CampaignRef("1", "SP|PL|uk", country_code="PL"))
    tree.ad_groups.append(AdGroupRef("1", "2", "SP|PL|uk|jobs", language_code="uk"))
    tree.ads.append(
        AdRef(
            "2",
            "3",
            final_url="https://strada.org.pl/",
            link_destination="organisation",
            organisation_id="la-strada-poland",
        )
    )
    window = Window(DAY.replace(day=1), DAY - dt.timedelta(days=1))
    rows = (
        PulledRow(day, "3", "PL", "uk", "mobile", "google_search", 50_000, clicks, per_day_minor)
        for day in window.each_day()
    )
    warehouse.performance.replace_window(tree, window, rows)


def test_pacing_follows_pulled_spend_when_it_runs_ahead(warehouse: Warehouse) -> None:
    config = load_campaign_config()
    store_inputs(warehouse, config, targeting_document(config))
    push = load_push_settings()
    calm = allocate_budgets(warehouse, config, push, DAY)
    assert calm.inputs["performance_data"]["pulled_through"] is None

    _load_pl_spend(warehouse, per_day_minor=42_000)  # 420 EUR a day: 8,400 EUR of PL's 9,120 monthly ceiling
    ahead = allocate_budgets(warehouse, config, push, DAY)

    headroom_per_day = (912_000 - 20 * 42_000) // 10  # what is left, over the 10 days left in April
    assert ahead.allocation.bounds["PL"].high == headroom_per_day
    assert "monthly ceiling" in ahead.allocation.bounds["PL"].why_high
    assert ahead.allocation.country_amounts["PL"] <= headroom_per_day < calm.allocation.country_amounts["PL"]
    assert ahead.inputs["pacing"]["month_to_date_minor"]["PL"] == 20 * 42_000
    assert ahead.inputs["performance_data"]["pulled_through"] == "2022-04-20"
    assert ahead.inputs["performance_data"]["month_to_date_rows"] == 20
