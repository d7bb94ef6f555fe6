"""The shipped key judgements and creative templates, through refresh_targeting's and
render_creatives' services, allocated and pushed to the Google Ads emulators: the converters read
what the other pipelines really store, and a re-run changes nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from safepassage import settings
from safepassage.adapters.google_ads import GoogleAdsAccount
from safepassage.adapters.meta_push import MetaPushAccount
from safepassage.adapters.warehouse import Warehouse
from safepassage.domain.campaign import Platform
from safepassage.orchestration.push_accounts import budget_guard
from safepassage.services import creatives, intelligence
from safepassage.services.budgets import allocate_budgets
from safepassage.services.campaign_config import load_campaign_config
from safepassage.services.push import apply_stored_plan, plan_and_store, record_decision
from safepassage.services.push_google import desired_for_google_account
from safepassage.services.push_meta import budget_rule, desired_for_meta_account
from safepassage.services.push_settings import load_push_settings
from safepassage.services.reference_data import sync_reference_data

DAY = dt.date(2022, 4, 1)


def test_shipped_judgements_and_templates_push_and_converge(
    tmp_path: Path, emulators: Any, google_ads_client: Any, meta_api: Any
) -> None:
    config, push = load_campaign_config(), load_push_settings()
    warehouse = Warehouse(f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
    warehouse.migrate()
    sync_reference_data(config, warehouse)
    loaded = [intelligence.parse_file(p) for p in intelligence.expand_paths([settings.intelligence_dir()])]
    intelligence.publish(loaded, warehouse)
    intelligence.refresh_targeting(config, warehouse, DAY)
    creatives.check_and_store(warehouse)
    allocation = allocate_budgets(warehouse, config, push, DAY)
    account = GoogleAdsAccount(google_ads_client, emulators.customer_ids[0], budget_guard(config))

    desired = desired_for_google_account(warehouse, config, lambda _code: True)
    first = plan_and_store(warehouse, account, desired, push.approval_thresholds("EUR"), "first")
    assert first.status == "needs_approval"
    record_decision(warehouse, "first", True, "e2e", "shipped inputs")
    report = apply_stored_plan(warehouse, account, first.plan_id, sleep=lambda _s: None)
    assert report is not None and report.mutate_requests == 1

    reported = account.read_tree()
    budgets = {n.country: n.fields["amount_micros"] for n in reported.of_kind("campaign_budget")}
    assert len(budgets) == 19
    for code, micros in budgets.items():
        assert micros == allocation.allocation.amount(code, "google_ads") * 10_000
        assert micros <= config.budget.country_cap(code) * 1_000_000
    assert len(reported.of_kind("ad_group_ad")) == len(desired.of_kind("ad_group_ad")) > 0

    again = plan_and_store(
        warehouse,
        account,
        desired_for_google_account(warehouse, config, lambda _c: True),
        push.approval_thresholds("EUR"),
        "second",
    )
    assert (again.status, again.operation_count) == ("nothing_to_do", 0)

    # Meta: the rendered meta_feed versions and the targeting's Meta entries, pushed and converged.
    meta = MetaPushAccount(
        meta_api, emulators.meta.account_ids[0], budget_guard(config), settings.creatives_dir()
    )
    meta_settings = push.accounts_for(Platform.META)[0]
    for run in ("meta-first", "meta-second"):
        desired, left_out = desired_for_meta_account(warehouse, config, meta_settings)
        stored = plan_and_store(
            warehouse,
            meta,
            desired,
            push.approval_thresholds("EUR"),
            run,
            budget_rule(warehouse, meta.customer_id, left_out),
        )
        record_decision(warehouse, run, True, "e2e", "shipped inputs")
        apply_stored_plan(warehouse, meta, stored.plan_id, sleep=lambda _s: None)
    assert (stored.status, stored.operation_count) == ("nothing_to_do", 0)
    reported = meta.read_tree()
    assert {n.country for n in reported.of_kind("campaign")} == set(budgets)  # 2022: no policy rule yet
    for campaign in reported.of_kind("campaign"):
        assert campaign.fields["daily_budget"] == allocation.allocation.amount(campaign.country, "meta")
    assert len(reported.of_kind("ad")) == len(desired.of_kind("ad")) > 0
    assert reported.of_kind("adimage")  # the themes' images, referenced by hash
    warehouse.dispose()
