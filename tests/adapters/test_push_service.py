"""Budgets and the push as the DAGs run them: warehouse inputs → allocation → stored plan →
decision → apply against the sandbox, with every request in the apply log."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from safepassage.adapters.google_ads import GoogleAdsAccount
from safepassage.adapters.warehouse import Warehouse
from safepassage.adapters.warehouse import models as m
from safepassage.domain.campaign import CampaignConfig
from safepassage.orchestration.push_accounts import budget_guard
from safepassage.services.budgets import allocate_budgets
from safepassage.services.campaign_config import load_campaign_config
from safepassage.services.push import (
    ApplyFailed,
    apply_stored_plan,
    desired_for_account,
    plan_and_store,
    record_decision,
)
from safepassage.services.push_settings import load_push_settings
from tests.push_support import store_inputs, targeting_document

DAY = dt.date(2022, 3, 25)


@pytest.fixture(scope="module")
def config() -> CampaignConfig:
    return load_campaign_config()


@pytest.fixture
def account(sandbox: Any, google_ads_client: Any, config: CampaignConfig) -> GoogleAdsAccount:
    return GoogleAdsAccount(google_ads_client, sandbox.customer_ids[0], budget_guard(config))


def plan(warehouse: Warehouse, account: GoogleAdsAccount, config: CampaignConfig) -> Any:
    push = load_push_settings()
    desired = desired_for_account(warehouse, config, lambda _code: True)
    return plan_and_store(warehouse, account, desired, push.approval_thresholds("EUR"), "run-1")


def test_allocation_is_stored_with_its_inputs_and_reruns_store_nothing(
    warehouse: Warehouse, config: CampaignConfig
) -> None:
    store_inputs(warehouse, config, targeting_document(config))
    push = load_push_settings()
    first = allocate_budgets(warehouse, config, push, DAY)
    again = allocate_budgets(warehouse, config, push, DAY)
    assert first.created and not again.created and again.allocation_id == first.allocation_id
    assert first.allocation.total_minor == 150_000  # the whole 1,500.00 EUR daily budget
    with warehouse.session() as session:
        lines = session.scalars(select(m.BudgetAllocationLine)).all()
        stored = session.get(m.BudgetAllocation, first.allocation_id)
        assert stored is not None and stored.inputs["rules"]["global_daily_cap_minor"] == 150_000
    assert sum(line.daily_amount_minor for line in lines) == 150_000
    assert {line.platform_code for line in lines} == {"google_ads", "meta"}
    for line in lines:
        assert line.daily_amount_minor <= int(config.budget.country_cap(line.country_code) * 100)
    assert "| PL |" in first.table()


def test_first_push_needs_approval_then_applies_and_the_rerun_is_a_no_op(
    warehouse: Warehouse, account: GoogleAdsAccount, config: CampaignConfig, sandbox: Any
) -> None:
    store_inputs(warehouse, config, targeting_document(config))
    allocate_budgets(warehouse, config, load_push_settings(), DAY)
    first = plan(warehouse, account, config)
    assert first.status == "needs_approval"
    assert any("starts serving" in reason for reason in first.reasons)
    with pytest.raises(ApplyFailed, match="only approved plans"):
        apply_stored_plan(warehouse, account, first.plan_id)
    assert account.read_tree().nodes == {}

    record_decision(warehouse, "run-1", True, "reviewer", "looks right")
    report = apply_stored_plan(warehouse, account, first.plan_id, sleep=lambda _s: None)
    assert report is not None and report.mutate_requests == 1
    with warehouse.session() as session:
        row = session.get(m.PushPlan, first.plan_id)
        assert row is not None and (row.status, row.decided_by, row.decision_note) == (
            "applied",
            "reviewer",
            "looks right",
        )
        log = session.scalars(select(m.ApplyLogEntry).order_by(m.ApplyLogEntry.sequence)).all()
        assert log[0].request_kind.startswith("GAQL read-back")
        log = [e for e in log if e.request_kind.startswith("GoogleAdsService.Mutate")]
        assert [(e.validate_only, e.outcome, e.operation_count) for e in log] == [
            (True, "ok", first.operation_count),
            (False, "ok", first.operation_count),
        ]
    campaigns = account.read_tree().of_kind("campaign")
    assert len(campaigns) == sum(len(c.languages) for c in config.countries)

    second = plan(warehouse, account, config)
    assert (second.status, second.operation_count) == ("nothing_to_do", 0)
    assert apply_stored_plan(warehouse, account, second.plan_id) is None


def test_a_rejected_plan_is_recorded_and_never_applied(
    warehouse: Warehouse, account: GoogleAdsAccount, config: CampaignConfig
) -> None:
    store_inputs(warehouse, config, targeting_document(config))
    allocate_budgets(warehouse, config, load_push_settings(), DAY)
    stored = plan(warehouse, account, config)
    record_decision(warehouse, "run-1", False, "reviewer", "wait for the new Polish helpline")
    with pytest.raises(ApplyFailed, match="rejected"):
        apply_stored_plan(warehouse, account, stored.plan_id)
    with warehouse.session() as session:
        row = session.get(m.PushPlan, stored.plan_id)
        assert row is not None and row.decision_note == "wait for the new Polish helpline"
    assert account.read_tree().nodes == {}


def test_a_same_day_reallocation_stays_within_the_change_limit_of_the_one_in_effect(
    warehouse: Warehouse, config: CampaignConfig
) -> None:
    push = load_push_settings()
    share = float(push.allocation_rules(config).max_daily_change_share)
    store_inputs(warehouse, config, targeting_document(config))
    first = allocate_budgets(warehouse, config, push, DAY)
    skewed = {c.code: 1.0 for c in config.countries} | {"PL": 40.0, "DE": 0.2}
    store_inputs(warehouse, config, targeting_document(config, weights=skewed))
    second = allocate_budgets(warehouse, config, push, DAY)  # the same day: a new judgement arrived
    assert second.created and second.allocation_id != first.allocation_id
    moved = {
        code: second.allocation.country_amounts[code] / amount
        for code, amount in first.allocation.country_amounts.items()
        if amount
    }
    assert max(moved.values()) > 1.01, "the skewed targeting should move some budget"
    assert all(1 - share - 0.001 <= ratio <= 1 + share + 0.001 for ratio in moved.values()), moved
    assert second.inputs["current_minor"] == dict(sorted(first.allocation.country_amounts.items()))


def test_the_push_plans_with_the_targeting_its_allocation_was_made_from(
    warehouse: Warehouse, config: CampaignConfig
) -> None:
    store_inputs(warehouse, config, targeting_document(config))
    allocated = allocate_budgets(warehouse, config, load_push_settings(), DAY)
    # A newer targeting that has no allocation yet (allocate_budgets is still to run):
    store_inputs(warehouse, config, targeting_document(config, weights={"PL": 1.0}))
    desired = desired_for_account(warehouse, config, lambda _code: True)
    budgets = {key.split("|")[1] for key in desired.nodes if key.endswith("|budget")}
    assert budgets == {code for code, amount in allocated.allocation.country_amounts.items() if amount}
    assert len(budgets) > 1, "planned with the newer, unallocated targeting"
