"""Plan → apply against the Google Ads emulator through the real SDK: full tree, no-op re-runs,
targeted changes, the budget guard, every retryable fault and a response lost after commit."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from ad_emulators.faults import FaultPlan, FaultRule
from safepassage.adapters.google_ads import GoogleAdsAccount
from safepassage.domain.budgets import BudgetCapExceeded, BudgetGuard
from safepassage.domain.campaign import CampaignConfig
from safepassage.domain.push import Plan, Tree
from safepassage.domain.push_google import Proximity, desired_tree
from safepassage.services.campaign_config import load_campaign_config
from safepassage.services.push import ApplyFailed, MemoryApplyLog, apply_plan, plan_account
from tests.push_support import budgets, creatives, targeting

MUTATE = "GoogleAdsService/Mutate"
READ_KIND = GoogleAdsAccount.read_kind


@pytest.fixture
def google(emulators: Any) -> Any:
    """The emulators (reset, no faults); `google.requests` is the Google emulator's own request log
    (EmulatorServer.log is a different, empty object on issue-3-emulators: `log or RequestLog()` treats
    an empty log as missing)."""
    emulators.google.log.clear()
    emulators.requests = emulators.google.log
    return emulators


@pytest.fixture(scope="module")
def config() -> CampaignConfig:
    return load_campaign_config()


@pytest.fixture
def account(google: Any, google_ads_client: Any, config: CampaignConfig) -> GoogleAdsAccount:
    guard = BudgetGuard({c.code: 300_000_000 for c in config.countries}, 1_500_000_000)
    return GoogleAdsAccount(google_ads_client, google.customer_ids[0], guard)


def push(account: GoogleAdsAccount, desired: Tree, **options: Any) -> tuple[Plan, MemoryApplyLog, Any]:
    plan = plan_account(account, desired)
    log = MemoryApplyLog()
    report = apply_plan(account, desired, plan, log, sleep=options.pop("sleep", lambda _s: None), **options)
    return plan, log, report


def mutates(log: MemoryApplyLog) -> list[dict[str, Any]]:
    return [e for e in log.entries if e["request_kind"].startswith("GoogleAdsService.Mutate")]


def mutated_operations(google: Any) -> int:
    return sum(
        int(entry.extra.get("operation_count", 0))
        for entry in google.requests.entries(target_contains=MUTATE, outcome="ok")
        if not entry.extra.get("validate_only")
    )


def full_tree(config: CampaignConfig, **changes: Any) -> Tree:
    return desired_tree(
        changes.get("targeting", targeting(config)),
        changes.get("creatives", creatives(config)),
        changes.get("budgets", budgets(config)),
        changes.get("paused", ()),
    )


def test_first_push_creates_every_country_in_its_languages_then_reruns_send_nothing(
    google: Any, account: GoogleAdsAccount, config: CampaignConfig
) -> None:
    desired = full_tree(config)
    _, log, report = push(account, desired)
    assert report.converged and report.mutate_requests == 1 and report.validate_requests == 1
    reported = account.read_tree()
    campaigns = {node.key for node in reported.of_kind("campaign")}
    assert campaigns == {f"SP|{c.code}|{lang}" for c in config.countries for lang in c.languages}
    assert len({node.country for node in reported.of_kind("campaign_budget")}) == 19
    assert len(reported) == len(desired)
    assert [e["outcome"] for e in mutates(log)] == ["ok", "ok"]
    assert [e["request_kind"] for e in log.entries] == [
        READ_KIND,
        *(e["request_kind"] for e in mutates(log)),
        READ_KIND,
    ]

    google.requests.clear()
    second, _, again = push(account, desired)
    assert second.is_empty and again.mutate_requests == 0
    assert google.requests.entries(target_contains=MUTATE) == []


def test_one_changed_judgement_changes_only_that_country(
    google: Any, account: GoogleAdsAccount, config: CampaignConfig
) -> None:
    push(account, full_tree(config))
    google.requests.clear()
    hotspot = Proximity(lat=50.0755, lon=19.9445, radius_km=15)
    plan, _, _ = push(account, full_tree(config, targeting=targeting(config, {"PL": [hotspot]})))
    assert {op.country for op in plan.operations} == {"PL"}
    assert mutated_operations(google) == len(plan.operations) == 8  # 4 languages: -country +hotspot
    reported = account.read_tree()
    assert "SP|PL|uk#near:50.07550,19.94450,15km" in reported.nodes
    assert "SP|PL|uk#loc:2616" not in reported.nodes
    assert "SP|DE|uk#loc:2276" in reported.nodes


def test_a_budget_over_the_cap_never_reaches_the_platform(
    google: Any, account: GoogleAdsAccount, config: CampaignConfig
) -> None:
    over = budgets(config)
    over["PL"] = 300_010_000  # one cent above PL's 300.00 cap
    desired = full_tree(config, budgets=over)
    plan = plan_account(account, desired)
    with pytest.raises(BudgetCapExceeded, match=r"SP\|PL\|budget"):
        apply_plan(account, desired, plan, MemoryApplyLog())
    assert google.requests.entries(target_contains=MUTATE) == []  # not even validate_only left
    assert account.read_tree().nodes == {}


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("resource_exhausted", {"retry_delay_seconds": 7}),
        ("transient", {}),
        ("internal", {}),
        ("unavailable", {}),
        ("partial_failure", {"operation_indices": [3]}),
    ],
)
def test_retryable_faults_converge_without_duplicates(
    google: Any,
    account: GoogleAdsAccount,
    config: CampaignConfig,
    kind: str,
    params: dict[str, Any],
) -> None:
    # The 2nd Mutate call is the real one (the 1st is validate_only).
    google.faults = FaultPlan(
        (FaultRule(platform="google_ads", match=f"*{MUTATE}", kind=kind, nth=(2,), params=params),)
    )
    waits: list[float] = []
    desired = full_tree(config)
    _, log, report = push(account, desired, sleep=waits.append)
    assert report.converged
    assert google.faults.fired() == [1]
    assert waits and (kind != "resource_exhausted" or waits[0] >= 7)
    assert any(entry["outcome"] in ("quota", "transient") for entry in log.entries)
    reported = account.read_tree()
    assert len(reported) == len(desired)
    assert Counter(n.kind for n in reported.nodes.values()) == Counter(n.kind for n in desired.nodes.values())


def test_a_response_lost_after_commit_is_not_replayed(
    google: Any, account: GoogleAdsAccount, config: CampaignConfig
) -> None:
    google.faults = FaultPlan(
        (FaultRule(platform="google_ads", match=f"*{MUTATE}", kind="response_lost_after_commit", nth=(2,)),)
    )
    desired = full_tree(config)
    _, log, report = push(account, desired)
    assert report.converged and report.attempts == 2
    assert [e["outcome"] for e in mutates(log)] == ["ok", "transient"]  # nothing resent: it had committed
    assert sum(e["request_kind"] == READ_KIND for e in log.entries) == 2  # re-read, found it all there
    sent = [e for e in google.requests.entries(target_contains=MUTATE) if not e.extra.get("validate_only")]
    assert len(sent) == 1
    campaigns = account.read_tree().of_kind("campaign")
    assert (
        len(campaigns) == len({n.key for n in campaigns}) == sum(len(c.languages) for c in config.countries)
    )


def test_rejected_objects_are_reported_by_name_and_nothing_is_written(
    google: Any, account: GoogleAdsAccount, config: CampaignConfig
) -> None:
    broken = [
        c.model_copy(update={"headlines": ("x" * 31, "Help", "Safe")})
        if (c.country, c.language) == ("EE", "ru")
        else c
        for c in creatives(config, themes=["jobs"])
    ]
    desired = full_tree(config, creatives=broken)
    with pytest.raises(ApplyFailed) as failed:
        apply_plan(account, desired, plan_account(account, desired), MemoryApplyLog())
    assert list(failed.value.per_object) == [
        next(k for k in desired.nodes if k.startswith("SP|EE|ru|jobs#ad:"))
    ]
    assert "TOO_LONG" in str(failed.value)
    assert account.read_tree().nodes == {}


def test_apply_refuses_operations_the_approved_plan_did_not_contain(
    google: Any, account: GoogleAdsAccount, config: CampaignConfig
) -> None:
    approved = plan_account(account, full_tree(config))
    changed = budgets(config)
    changed["DE"] = 70_000_000
    with pytest.raises(ApplyFailed, match="changed since the plan was approved"):
        apply_plan(account, full_tree(config, budgets=changed), approved, MemoryApplyLog())
    assert google.requests.entries(target_contains=MUTATE) == []
