"""The Meta push as the DAG runs it: warehouse inputs → allocation → stored plan → apply against the
emulators; the platform policy switch (no social-issue ads on Meta in the EU from 2025-10-06)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from ad_emulators.faults import FaultPlan
from safepassage import settings
from safepassage.adapters.meta_push import MetaPushAccount
from safepassage.adapters.warehouse import Warehouse
from safepassage.adapters.warehouse import models as m
from safepassage.domain.campaign import CampaignConfig, Platform
from safepassage.orchestration.push_accounts import budget_guard
from safepassage.services.budgets import allocate_budgets
from safepassage.services.campaign_config import load_campaign_config
from safepassage.services.push import RetryLater, apply_stored_plan, plan_and_store, record_decision
from safepassage.services.push_meta import budget_rule, desired_for_meta_account
from safepassage.services.push_settings import load_push_settings
from tests.push_support import store_inputs, targeting_document

POLICY_DAY = dt.date(2025, 10, 6)  # config/platform_policy.yaml: no social-issue ads on Meta in the EU


@pytest.fixture(scope="module")
def config() -> CampaignConfig:
    return load_campaign_config()


@pytest.fixture
def account(emulators: Any, meta_api: Any, config: CampaignConfig) -> MetaPushAccount:
    return MetaPushAccount(
        meta_api, emulators.meta.account_ids[0], budget_guard(config), settings.creatives_dir()
    )


def push_meta(warehouse: Warehouse, account: MetaPushAccount, config: CampaignConfig, run: str) -> Any:
    push = load_push_settings()
    meta_account = push.accounts_for(Platform.META)[0]
    desired, left_out = desired_for_meta_account(warehouse, config, meta_account)
    stored = plan_and_store(
        warehouse,
        account,
        desired,
        push.approval_thresholds("EUR"),
        run,
        budget_rule(warehouse, account.customer_id, left_out),
    )
    record_decision(warehouse, run, True, "reviewer", "ok")
    apply_stored_plan(warehouse, account, stored.plan_id, sleep=lambda _s: None)
    return stored


def allocation(warehouse: Warehouse) -> dict[tuple[str, str], int]:
    with warehouse.session() as session:
        lines = session.scalars(select(m.BudgetAllocationLine)).all()
        return {(line.country_code, line.platform_code): line.daily_amount_minor for line in lines}


def test_an_eu_country_after_the_policy_date_gets_no_meta_ad_set_and_its_budget_goes_to_google(
    warehouse: Warehouse, account: MetaPushAccount, config: CampaignConfig
) -> None:
    # The targeting snapshot predates the rule (Meta "targeted" everywhere): the allocation day decides.
    store_inputs(warehouse, config, targeting_document(config))
    stored = allocate_budgets(warehouse, config, load_push_settings(), POLICY_DAY)
    lines = allocation(warehouse)
    eu = {"PL", "RO", "DE"}
    for code in eu:
        assert (code, "meta") not in lines
        assert lines[(code, "google_ads")] == stored.allocation.country_amounts[code]
    for code in ("UA", "MD", "GB"):  # outside the rule: both platforms share the country's money
        assert lines[(code, "meta")] > 0 and lines[(code, "google_ads")] > 0
    assert sum(lines.values()) == 150_000

    plan = push_meta(warehouse, account, config, "run-policy")
    assert "PL left out on Meta: Meta stopped political, electoral and social-issue ads" in plan.markdown
    served = {node.country for node in account.read_tree().of_kind("adset")}
    assert served == {"UA", "MD", "GB"}


def test_before_the_policy_date_every_country_is_pushed_on_meta_with_its_allocation(
    warehouse: Warehouse, account: MetaPushAccount, config: CampaignConfig
) -> None:
    store_inputs(warehouse, config, targeting_document(config))
    allocate_budgets(warehouse, config, load_push_settings(), POLICY_DAY - dt.timedelta(days=1))
    lines = allocation(warehouse)
    stored = push_meta(warehouse, account, config, "run-before")
    assert stored.status == "needs_approval" and "Meta ad account" in stored.markdown
    reported = account.read_tree()
    assert {n.country for n in reported.of_kind("adset")} == {c.code for c in config.countries}
    for campaign in reported.of_kind("campaign"):
        assert campaign.fields["daily_budget"] == lines[(campaign.country, "meta")]
    with warehouse.session() as session:
        log = session.scalars(select(m.ApplyLogEntry).order_by(m.ApplyLogEntry.sequence)).all()
    batches = [e for e in log if e.request_kind == "Graph batch"]
    assert batches and all(e.outcome == "ok" and e.operation_count <= 50 for e in batches)

    again = push_meta(warehouse, account, config, "run-again")
    assert (again.status, again.operation_count) == ("nothing_to_do", 0)


def plan_meta(warehouse: Warehouse, account: MetaPushAccount, config: CampaignConfig) -> Any:
    push = load_push_settings()
    desired, left_out = desired_for_meta_account(warehouse, config, push.accounts_for(Platform.META)[0])
    adjust = budget_rule(warehouse, account.customer_id, left_out)
    return plan_and_store(warehouse, account, desired, push.approval_thresholds("EUR"), "run-1", adjust)


def one_fault_on_the_campaign_read(kind: str, **params: Any) -> FaultPlan:
    rule = {"platform": "meta", "match": "GET /act_*/campaigns", "kind": kind, "nth": [1]}
    return FaultPlan.from_dict({"faults": [{**rule, "params": params}]})


def test_a_server_error_on_the_plans_read_is_retried_and_the_plan_succeeds_in_one_try(
    warehouse: Warehouse, account: MetaPushAccount, config: CampaignConfig, emulators: Any
) -> None:
    store_inputs(warehouse, config, targeting_document(config))
    allocate_budgets(warehouse, config, load_push_settings(), dt.date(2022, 3, 25))
    emulators.meta.log.clear()
    emulators.faults = one_fault_on_the_campaign_read("server_error")

    stored = plan_meta(warehouse, account, config)  # one plan_meta_account try

    assert stored.status in ("needs_approval", "auto_approved") and stored.operation_count > 0
    reads = emulators.meta.log.entries(target_contains="/campaigns", method="GET")
    assert [entry.fault for entry in reads[:2]] == ["server_error", None]  # the same read, sent again
    assert emulators.meta.log.entries(method="POST") == []  # planning only reads


def test_a_throttle_asking_for_minutes_on_the_plans_read_hands_the_wait_to_airflow(
    warehouse: Warehouse, account: MetaPushAccount, config: CampaignConfig, emulators: Any
) -> None:
    store_inputs(warehouse, config, targeting_document(config))
    allocate_budgets(warehouse, config, load_push_settings(), dt.date(2022, 3, 25))
    emulators.faults = one_fault_on_the_campaign_read("account_rate_limit", estimated_time_to_regain_access=5)

    with pytest.raises(RetryLater) as later:  # the plan task turns this into a reschedule
        plan_meta(warehouse, account, config)

    assert later.value.seconds >= 300  # five minutes, not slept through in the worker
    with warehouse.session() as session:
        assert session.scalars(select(m.PushPlan)).all() == []  # nothing half-stored
    assert plan_meta(warehouse, account, config).operation_count > 0  # the rescheduled try plans
