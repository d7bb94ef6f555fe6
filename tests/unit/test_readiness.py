"""Each readiness rule names what would make a SafePassage task wait silently, and stays quiet when
nothing would."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from safepassage.domain.readiness import DeploymentState, WaitingTask, check

POOLS = frozenset({"google_ads_api", "meta_api"})
CHAIN = {
    "sync_reference_data": False,
    "render_creatives": False,
    "refresh_targeting": False,
    "allocate_budgets": False,
    "push_campaigns": False,
}
READY = DeploymentState(
    pools=POOLS | {"default_pool"},
    needed_pools=POOLS,
    paused=CHAIN,
    producers={"targeting": frozenset({"refresh_targeting"}), "budgets": frozenset({"allocate_budgets"})},
    consumers={
        "key_judgements": frozenset({"refresh_targeting"}),  # made outside Airflow, by analysts
        "targeting": frozenset({"allocate_budgets"}),
        "budgets": frozenset({"push_campaigns"}),
    },
)


def rules(state: DeploymentState) -> list[str]:
    return [finding.rule for finding in check(state)]


def test_a_ready_deployment_has_nothing_to_say() -> None:
    assert check(READY) == []


def test_a_missing_pool_is_an_error_naming_the_pool_and_the_fix() -> None:
    (finding,) = check(dataclasses.replace(READY, pools=frozenset({"default_pool", "meta_api"})))
    assert (
        finding.level == "error" and "google_ads_api" in finding.text and "safepassage init" in finding.text
    )


def test_tasks_sitting_in_scheduled_for_a_pool_nobody_created_are_named() -> None:
    waiting = (
        WaitingTask("push_campaigns", "plan_account", "google_ads_api"),
        WaitingTask("push_campaigns", "plan_meta_account", "meta_api"),  # its pool exists: just queued
    )
    state = dataclasses.replace(READY, pools=frozenset({"default_pool", "meta_api"}), waiting=waiting)
    (_, stuck) = check(state)
    assert stuck.rule == "tasks_waiting_on_missing_pool"
    assert "push_campaigns.plan_account" in stuck.text and "plan_meta_account" not in stuck.text


def test_a_missing_connection_is_an_error() -> None:
    state = dataclasses.replace(READY, missing_connections=("meta_default",))
    (finding,) = check(state)
    assert finding.level == "error" and "meta_default" in finding.text


def test_a_dag_switched_on_behind_a_paused_maker_is_a_warning() -> None:
    state = dataclasses.replace(READY, paused={**CHAIN, "allocate_budgets": True})
    (finding,) = check(state)
    assert finding.rule == "paused_upstream" and finding.level == "warning"
    assert "push_campaigns" in finding.text and "allocate_budgets" in finding.text


def test_an_asset_made_outside_airflow_or_waited_on_by_nobody_is_no_finding() -> None:
    # refresh_targeting waits for judgements (no DAG makes them); allocate_budgets' consumer is paused
    state = dataclasses.replace(READY, paused={**CHAIN, "push_campaigns": True, "allocate_budgets": True})
    assert rules(state) == []


def test_a_fresh_deployment_with_every_dag_paused_says_which_to_switch_on() -> None:
    state = dataclasses.replace(READY, paused=dict.fromkeys(CHAIN, True))
    (finding,) = check(state)
    assert finding.level == "info" and "push_campaigns" in finding.text


def test_the_dashboard_still_loads_when_the_check_cannot_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from safepassage.orchestration import readiness

    def broken() -> list[Any]:
        raise RuntimeError("postgresql://ops:s3cret@db/airflow is unreachable")

    monkeypatch.setattr(readiness, "current_findings", broken)
    (alert,) = list(readiness.DashboardAlerts())
    assert alert.category == "warning" and "could not check" in alert.text and "s3cret" not in alert.text


def test_dashboard_alerts_are_rechecked_after_their_ttl_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from safepassage.domain.readiness import Finding
    from safepassage.orchestration import readiness

    calls: list[int] = []

    def findings() -> list[Finding]:
        calls.append(1)
        return [Finding("error", "missing_pools", "Pool meta_api does not exist")]

    monkeypatch.setattr(readiness, "current_findings", findings)
    alerts = readiness.DashboardAlerts(ttl_seconds=60)
    assert [(a.category, a.text) for a in alerts] == [
        ("error", "**SafePassage:** Pool meta_api does not exist")
    ]
    assert len(list(alerts)) == 1 and len(calls) == 1  # the UI's repeated reads cost one check
    assert [a.text for a in readiness.DashboardAlerts(ttl_seconds=0)] and len(calls) == 2
