"""Budgets and the push as the DAGs run them: warehouse inputs → allocation → stored plan →
decision → apply against the emulators, with every request in the apply log."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from ad_emulators.faults import FaultPlan
from safepassage.adapters.google_ads import GoogleAdsAccount
from safepassage.adapters.warehouse import Warehouse
from safepassage.adapters.warehouse import models as m
from safepassage.domain.campaign import CampaignConfig
from safepassage.orchestration.push_accounts import budget_guard
from safepassage.services.budgets import allocate_budgets
from safepassage.services.campaign_config import load_campaign_config
from safepassage.services.push import (
    ApplyFailed,
    RetryLater,
    apply_stored_plan,
    plan_and_store,
    recent_plans,
    record_decision,
)
from safepassage.services.push_google import desired_for_google_account
from safepassage.services.push_settings import load_push_settings
from tests.push_support import store_inputs, targeting_document

DAY = dt.date(2022, 3, 25)


@pytest.fixture(scope="module")
def config() -> CampaignConfig:
    return load_campaign_config()


@pytest.fixture
def account(emulators: Any, google_ads_client: Any, config: CampaignConfig) -> GoogleAdsAccount:
    return GoogleAdsAccount(google_ads_client, emulators.customer_ids[0], budget_guard(config))


def plan(warehouse: Warehouse, account: GoogleAdsAccount, config: CampaignConfig, run: str = "run-1") -> Any:
    push = load_push_settings()
    desired = desired_for_google_account(warehouse, config, lambda _code: True)
    return plan_and_store(warehouse, account, desired, push.approval_thresholds("EUR"), run)


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
    warehouse: Warehouse, account: GoogleAdsAccount, config: CampaignConfig, emulators: Any
) -> None:
    store_inputs(warehouse, config, targeting_document(config))
    allocate_budgets(warehouse, config, load_push_settings(), DAY)
    first = plan(warehouse, account, config)
    assert first.status == "needs_approval"
    assert any("starts serving" in reason for reason in first.reasons)
    assert "| country | daily budget before (EUR) | after (EUR) | change |" in first.markdown
    assert any(reason.startswith("PL starts serving (") and "EUR/day" in reason for reason in first.reasons)
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

    second = plan(warehouse, account, config, run="run-2")
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


# --- retries converge: a worker dies, Airflow tries again, the same plan finishes ---------------------

REPO = Path(__file__).parents[2]
# A worker applying a plan, killed (SIGKILL: no exception handler, no `finally`) at its first wait
# after the platform committed a mutate whose response was lost: the platform has the change, the
# warehouse only knows that an attempt began.
DYING_WORKER = """
import os, signal, sys
from safepassage.adapters.warehouse import Warehouse
from safepassage.orchestration.push_accounts import google_account
from safepassage.services.campaign_config import load_campaign_config
from safepassage.services.push import apply_stored_plan

def die(_seconds):
    os.kill(os.getpid(), signal.SIGKILL)

url, customer_id, plan_id = sys.argv[1:]
warehouse = Warehouse(url)
account = google_account(customer_id, load_campaign_config(), warehouse)
apply_stored_plan(warehouse, account, int(plan_id), sleep=die)
"""


def mutates(emulators: Any) -> list[Any]:
    return emulators.google.log.entries(target_contains="GoogleAdsService/Mutate")


def fault(kind: str, nth: int, **params: Any) -> FaultPlan:
    rule = {"platform": "google_ads", "match": "*GoogleAdsService/Mutate", "kind": kind, "nth": [nth]}
    return FaultPlan.from_dict({"faults": [{**rule, "params": params}]})


def approved_plan(warehouse: Warehouse, account: GoogleAdsAccount, config: CampaignConfig) -> Any:
    store_inputs(warehouse, config, targeting_document(config))
    allocate_budgets(warehouse, config, load_push_settings(), DAY)
    stored = plan(warehouse, account, config)
    record_decision(warehouse, "run-1", True, "reviewer", "approved")
    return stored


@pytest.mark.slow
def test_a_retry_after_the_worker_died_between_commit_and_record_finishes_the_same_plan(
    warehouse: Warehouse,
    account: GoogleAdsAccount,
    config: CampaignConfig,
    emulators: Any,
    emulators_descriptor_env: Path,
) -> None:
    stored = approved_plan(warehouse, account, config)
    emulators.google.log.clear()
    emulators.faults = fault("response_lost_after_commit", nth=2)  # 1: validate_only, 2: the real mutate

    worker = subprocess.run(
        [sys.executable, "-c", DYING_WORKER, warehouse.url, account.customer_id, str(stored.plan_id)],
        cwd=REPO,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert worker.returncode == -9, worker.stderr[-2000:]  # killed, as a lost worker is
    committed = account.read_tree()
    assert len(committed.of_kind("campaign")) == sum(len(c.languages) for c in config.countries)
    with warehouse.session() as session:
        row = session.get(m.PushPlan, stored.plan_id)
        assert row is not None and row.status == "applying"  # not `failed`, not `applied`
        logged_before = session.scalars(select(m.ApplyLogEntry.sequence)).all()

    report = apply_stored_plan(warehouse, account, stored.plan_id)  # what Airflow's retry runs

    assert report is not None and report.converged and report.mutate_requests == 0
    assert account.read_tree().nodes.keys() == committed.nodes.keys()  # nothing created twice
    assert len(mutates(emulators)) == 2  # validate_only + the committed one; the retry sent none
    with warehouse.session() as session:
        row = session.get(m.PushPlan, stored.plan_id)
        assert row is not None and (row.status, row.decided_by) == ("applied", "reviewer")
        assert session.scalar(select(func.count()).select_from(m.PushPlan)) == 1
        log = session.scalars(
            select(m.ApplyLogEntry)
            .where(m.ApplyLogEntry.plan_id == stored.plan_id)
            .order_by(m.ApplyLogEntry.id)
        ).all()
    assert [entry.sequence for entry in log] == list(range(1, len(log) + 1))  # continuous, no restart
    assert len(log) > len(logged_before)
    assert [(e.request_kind.split(" ")[0], e.outcome) for e in log] == [
        ("GAQL", "ok"),
        ("GoogleAdsService.Mutate", "ok"),  # validate_only
        ("GoogleAdsService.Mutate", "transient"),  # committed, response lost; then the worker died
        ("GAQL", "ok"),  # the retry: read back, nothing left to do
    ]


def test_a_quota_error_on_the_plans_read_is_retried_and_the_plan_succeeds_in_one_try(
    warehouse: Warehouse, account: GoogleAdsAccount, config: CampaignConfig, emulators: Any
) -> None:
    store_inputs(warehouse, config, targeting_document(config))
    allocate_budgets(warehouse, config, load_push_settings(), DAY)
    emulators.google.log.clear()
    emulators.faults = FaultPlan.from_dict(
        {
            "faults": [
                {
                    "platform": "google_ads",
                    "match": "*GoogleAdsService/SearchStream",
                    "kind": "resource_exhausted",
                    "nth": [1],
                    "params": {"retry_delay_seconds": 1},
                }
            ]
        }
    )

    stored = plan(warehouse, account, config)  # one plan_account try: no exception reaches Airflow

    assert stored.status == "needs_approval" and stored.operation_count > 0
    reads = emulators.google.log.entries(target_contains="GoogleAdsService/SearchStream")
    assert reads[0].fault == "resource_exhausted"
    assert reads[1].outcome == "ok" and reads[1].extra == reads[0].extra  # the same read, sent again
    assert all(entry.outcome == "ok" for entry in reads[1:])
    assert mutates(emulators) == []  # planning only reads


def test_a_long_quota_delay_frees_the_worker_and_the_next_run_finishes_the_plan(
    warehouse: Warehouse, account: GoogleAdsAccount, config: CampaignConfig, emulators: Any
) -> None:
    stored = approved_plan(warehouse, account, config)
    emulators.faults = fault("resource_exhausted", nth=1, retry_delay_seconds=600)
    slept: list[float] = []

    with pytest.raises(RetryLater) as later:
        apply_stored_plan(warehouse, account, stored.plan_id, sleep=slept.append)

    assert later.value.seconds == 600 and slept == []  # nobody held a slot for ten minutes
    assert account.read_tree().nodes == {}
    waiting = recent_plans(warehouse, "run-1")[0]
    assert waiting["status"] == "applying" and "retry in 600s" in waiting["outcome"]

    report = apply_stored_plan(warehouse, account, stored.plan_id, sleep=slept.append)  # the reschedule
    assert report is not None and report.converged and slept == []
    with warehouse.session() as session:
        sequences = session.scalars(select(m.ApplyLogEntry.sequence).order_by(m.ApplyLogEntry.id)).all()
        assert session.get(m.PushPlan, stored.plan_id).status == "applied"  # type: ignore[union-attr]
    assert sequences == list(range(1, len(sequences) + 1))


def test_a_cleared_plan_task_rewrites_its_runs_plan_until_a_person_decided(
    warehouse: Warehouse, account: GoogleAdsAccount, config: CampaignConfig
) -> None:
    store_inputs(warehouse, config, targeting_document(config))
    allocate_budgets(warehouse, config, load_push_settings(), DAY)
    first = plan(warehouse, account, config)
    again = plan(warehouse, account, config)  # a retried or cleared plan_account of the same run
    assert (again.plan_id, again.status, again.operation_count) == (
        first.plan_id,
        "needs_approval",
        first.operation_count,
    )
    record_decision(warehouse, "run-1", True, "reviewer", "approved")
    after_decision = plan(warehouse, account, config)
    assert (after_decision.plan_id, after_decision.status) == (first.plan_id, "approved")
    other_run = plan(warehouse, account, config, run="run-2")
    assert other_run.plan_id != first.plan_id
    with warehouse.session() as session:
        runs = session.scalars(select(m.PushPlan.dag_run_id).order_by(m.PushPlan.id)).all()
    assert runs == ["run-1", "run-2"]


def test_an_old_plan_is_not_applied_over_a_newer_one(
    warehouse: Warehouse, account: GoogleAdsAccount, config: CampaignConfig
) -> None:
    old = approved_plan(warehouse, account, config)
    apply_stored_plan(warehouse, account, old.plan_id)
    with warehouse.session() as session:
        line = session.scalars(
            select(m.BudgetAllocationLine).where(
                m.BudgetAllocationLine.country_code == "PL",
                m.BudgetAllocationLine.platform_code == "google_ads",
            )
        ).one()
        line.daily_amount_minor += line.daily_amount_minor // 10
    newer = plan(warehouse, account, config, run="run-2")
    assert newer.status == "auto_approved"
    apply_stored_plan(warehouse, account, newer.plan_id)
    budget_now = account.read_tree().nodes["SP|PL|budget"].fields["amount_micros"]

    with pytest.raises(ApplyFailed, match=f"superseded: plan {newer.plan_id}"):
        apply_stored_plan(warehouse, account, old.plan_id)  # someone clears last week's apply task
    assert account.read_tree().nodes["SP|PL|budget"].fields["amount_micros"] == budget_now


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
    desired = desired_for_google_account(warehouse, config, lambda _code: True)
    budgets = {key.split("|")[1] for key in desired.nodes if key.endswith("|budget")}
    assert budgets == {code for code, amount in allocated.allocation.country_amounts.items() if amount}
    assert len(budgets) > 1, "planned with the newer, unallocated targeting"
