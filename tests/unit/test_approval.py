"""Each approval rule, on plans built from the shipped config."""

from __future__ import annotations

from decimal import Decimal

import pytest

from safepassage.domain.approval import ApprovalThresholds, approval_reasons
from safepassage.domain.campaign import CampaignConfig
from safepassage.domain.push import Plan, Tree, as_reported, diff
from safepassage.domain.push_google import desired_tree
from safepassage.services.campaign_config import load_campaign_config
from tests.push_support import budgets, creatives, targeting

THRESHOLDS = ApprovalThresholds(
    budget_change_share=Decimal("0.20"), daily_spend_threshold_micros=2_000_000_000
)


@pytest.fixture(scope="module")
def config() -> CampaignConfig:
    return load_campaign_config()


def plan(
    config: CampaignConfig,
    *,
    budget: dict[str, int] | None = None,
    edition: str = "1",
    drop: str | None = None,
    before_budget: dict[str, int] | None = None,
) -> Plan:
    places = targeting(config)
    before = desired_tree(
        [t for t in places if t.country != drop], creatives(config), before_budget or budgets(config)
    )
    after = desired_tree(places, creatives(config, edition=edition), budget or budgets(config))
    return diff("1234567890", after, as_reported(before))


def rules(found: list) -> set[tuple[str, str | None]]:  # type: ignore[type-arg]
    return {(reason.rule, reason.country) for reason in found}


def test_small_changes_apply_by_themselves(config: CampaignConfig) -> None:
    changed = budgets(config)
    changed["PL"] = 55_000_000  # +10%
    assert approval_reasons(plan(config, budget=changed), THRESHOLDS) == []


def test_adding_a_country_needs_approval(config: CampaignConfig) -> None:
    found = approval_reasons(plan(config, drop="LT"), THRESHOLDS)
    assert ("new_country", "LT") in rules(found)


def test_first_push_adds_every_country(config: CampaignConfig) -> None:
    first = diff("1234567890", desired_tree(targeting(config), creatives(config), budgets(config)), Tree())
    found = rules(approval_reasons(first, THRESHOLDS))
    assert {country for rule, country in found if rule == "new_country"} == {c.code for c in config.countries}


def test_a_budget_moving_more_than_the_share_needs_approval(config: CampaignConfig) -> None:
    changed = budgets(config)
    changed["PL"] = 39_000_000  # -22%
    found = approval_reasons(plan(config, budget=changed), THRESHOLDS)
    assert rules(found) == {("budget_change", "PL")}
    assert "-22%" in str(found[0])


def test_raising_spend_above_the_threshold_needs_approval(config: CampaignConfig) -> None:
    before = budgets(config, euros=100)  # 1,900.00 a day in total, under the 2,000 threshold
    after = {code: amount + 10_000_000 for code, amount in before.items()}  # +10% each: 2,090.00
    found = approval_reasons(plan(config, budget=after, before_budget=before), THRESHOLDS)
    assert rules(found) == {("spend_threshold", None)}


def test_lowering_spend_never_trips_the_spend_threshold(config: CampaignConfig) -> None:
    before = budgets(config, euros=120)
    after = {code: amount - 10_000_000 for code, amount in before.items()}
    assert approval_reasons(plan(config, budget=after, before_budget=before), THRESHOLDS) == []


def test_a_new_creative_version_needs_approval(config: CampaignConfig) -> None:
    found = approval_reasons(plan(config, edition="2"), THRESHOLDS)
    assert {rule for rule, _ in rules(found)} == {"new_creative_version"}
    assert {country for _, country in rules(found)} == {c.code for c in config.countries}


def test_rules_can_be_switched_off(config: CampaignConfig) -> None:
    relaxed = THRESHOLDS.model_copy(update={"new_creative_version": False, "new_country": False})
    assert approval_reasons(plan(config, edition="2", drop="LT"), relaxed) == []


def test_a_deployment_names_its_own_approvers(monkeypatch: pytest.MonkeyPatch) -> None:
    from safepassage.services.push_settings import load_push_settings

    assert load_push_settings().review.approvers == ("admin",)  # config/push.yaml
    monkeypatch.setenv("SAFEPASSAGE_REVIEW_APPROVERS", "make-demo, anna")
    assert load_push_settings().review.approvers == ("make-demo", "anna")
