"""Desired tree, diff against the reported tree, batching and the review table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from safepassage.domain.approval import ApprovalThresholds, approval_reasons
from safepassage.domain.campaign import CampaignConfig
from safepassage.domain.push import Node, Tree, as_reported, diff, render_markdown
from safepassage.domain.push_google import MAX_OPERATIONS_PER_REQUEST, Proximity, batches, desired_tree
from safepassage.services.campaign_config import load_campaign_config
from tests.push_support import budgets, creatives, targeting

CUSTOMER = "1234567890"


@pytest.fixture(scope="module")
def config() -> CampaignConfig:
    return load_campaign_config()


def tree(config: CampaignConfig, **changes) -> Tree:  # type: ignore[no-untyped-def]
    return desired_tree(
        changes.get("targeting", targeting(config)),
        changes.get("creatives", creatives(config)),
        changes.get("budgets", budgets(config)),
        changes.get("paused", ()),
    )


def test_first_push_creates_the_full_tree_for_every_country_and_language(config: CampaignConfig) -> None:
    plan = diff(CUSTOMER, tree(config), Tree())
    kinds = Counter(op.kind for op in plan.operations)
    served = sum(len(country.languages) for country in config.countries)
    assert {op.action for op in plan.operations} == {"create"}
    assert kinds["campaign_budget"] == 19
    assert kinds["campaign"] == served
    assert kinds["ad_group"] == served * 2
    assert kinds["ad_group_ad"] == served * 2
    assert kinds["campaign_criterion"] == served * 2  # one location + one language each
    names = {op.key for op in plan.operations if op.kind == "campaign"}
    assert "SP|PL|uk" in names and "SP|MD|ro" in names
    assert all(
        op.fields["contains_eu_political_advertising"].startswith("DOES_NOT")
        for op in plan.operations
        if op.kind == "campaign"
    )


def test_temporary_names_link_children_to_parents_created_in_the_same_plan(config: CampaignConfig) -> None:
    plan = diff(CUSTOMER, tree(config), Tree())
    created = {op.key: op.resource_name for op in plan.operations if op.resource_name}
    assert all(name.rsplit("/", 1)[1].startswith("-") for name in created.values())
    campaign = next(op for op in plan.operations if op.key == "SP|PL|uk")
    assert campaign.refs["campaign_budget"] == created["SP|PL|budget"]
    ad_group = next(op for op in plan.operations if op.key == "SP|PL|uk|jobs")
    assert ad_group.refs["campaign"] == created["SP|PL|uk"]
    positions = {op.key: index for index, op in enumerate(plan.operations)}
    assert positions["SP|PL|budget"] < positions["SP|PL|uk"] < positions["SP|PL|uk|jobs"]


def test_nothing_changed_means_an_empty_plan(config: CampaignConfig) -> None:
    desired = tree(config)
    plan = diff(CUSTOMER, desired, as_reported(desired))
    assert plan.is_empty
    assert "Nothing to change" in render_markdown(plan)


def test_one_changed_judgement_changes_only_that_country(config: CampaignConfig) -> None:
    before = tree(config)
    hotspot = Proximity(lat=50.0755, lon=19.9445, radius_km=15)
    after = tree(config, targeting=targeting(config, {"PL": [hotspot]}))
    plan = diff(CUSTOMER, after, as_reported(before))
    assert {op.country for op in plan.operations} == {"PL"}
    assert {(op.action, op.kind) for op in plan.operations} == {
        ("create", "campaign_criterion"),
        ("remove", "campaign_criterion"),
    }
    assert Counter(op.action for op in plan.operations) == {"create": 4, "remove": 4}  # 4 PL languages


def test_budget_change_is_one_update_with_the_old_amount(config: CampaignConfig) -> None:
    before = tree(config)
    changed = budgets(config)
    changed["DE"] = 61_000_000
    plan = diff(CUSTOMER, tree(config, budgets=changed), as_reported(before))
    (op,) = plan.operations
    assert (op.action, op.kind, op.key) == ("update", "campaign_budget", "SP|DE|budget")
    assert op.fields == {"amount_micros": 61_000_000} and op.before == {"amount_micros": 50_000_000}
    assert plan.facts.budgets_after["DE"] - plan.facts.budgets_before["DE"] == 11_000_000


def test_paused_country_keeps_its_tree_paused(config: CampaignConfig) -> None:
    before = tree(config)
    plan = diff(CUSTOMER, tree(config, paused=["RO"]), as_reported(before))
    assert {(op.action, op.kind, op.country) for op in plan.operations} == {("update", "campaign", "RO")}
    assert all(op.fields == {"status": "PAUSED"} for op in plan.operations)
    assert "RO" not in plan.facts.budgets_after


def test_a_country_leaving_the_plan_is_paused_never_removed(config: CampaignConfig) -> None:
    before = tree(config)
    without_hu = [t for t in targeting(config) if t.country != "HU"]
    plan = diff(CUSTOMER, tree(config, targeting=without_hu), as_reported(before))
    assert {(op.action, op.kind, op.country) for op in plan.operations} == {("update", "campaign", "HU")}
    assert all(op.fields == {"status": "PAUSED"} for op in plan.operations)


def test_a_new_creative_version_replaces_the_ad(config: CampaignConfig) -> None:
    before = tree(config)
    new_text = {"headlines": ("New", "Safe", "Help")}
    edited = [
        c.model_copy(update=new_text) if (c.country, c.language) == ("SK", "uk") else c
        for c in creatives(config)
    ]
    plan = diff(CUSTOMER, tree(config, creatives=edited), as_reported(before))
    assert Counter((op.action, op.kind) for op in plan.operations) == {
        ("create", "ad_group_ad"): 2,
        ("remove", "ad_group_ad"): 2,
    }
    assert {op.country for op in plan.operations} == {"SK"}
    created = next(op for op in plan.operations if op.action == "create")
    assert created.refs["ad_group"].startswith(f"customers/{CUSTOMER}/adGroups/")


def test_removed_theme_removes_its_ad_groups_only(config: CampaignConfig) -> None:
    before = tree(config)
    plan = diff(CUSTOMER, tree(config, creatives=creatives(config, themes=["jobs"])), as_reported(before))
    assert {(op.action, op.kind) for op in plan.operations} == {("remove", "ad_group")}


def test_objects_not_named_by_safepassage_are_left_alone(config: CampaignConfig) -> None:
    desired = tree(config)
    actual = as_reported(desired)
    plan = diff(CUSTOMER, desired, actual)
    assert plan.is_empty
    assert all(node.key.startswith("SP|") for node in actual.nodes.values())


def test_a_campaign_name_held_by_a_removed_campaign_is_reported(config: CampaignConfig) -> None:
    desired = tree(config)
    actual = as_reported(desired)
    node = actual.nodes["SP|PL|uk"]
    actual.nodes["SP|PL|uk"] = Node(
        node.kind,
        node.key,
        node.country,
        {**node.fields, "status": "REMOVED"},
        node.parent,
        node.resource_name,
    )
    plan = diff(CUSTOMER, desired, actual)
    assert any("SP|PL|uk" in warning for warning in plan.warnings)
    assert not any(op.key == "SP|PL|uk" for op in plan.operations)


def test_batches_respect_the_limit_and_keep_each_country_together(config: CampaignConfig) -> None:
    plan = diff(CUSTOMER, tree(config), Tree())
    assert len(batches(plan.operations)) == 1
    small = batches(plan.operations, limit=120)
    assert all(len(request) <= 120 for request in small)
    assert sum(len(r) for r in small) == len(plan.operations)
    for request in small:
        countries = {op.country for op in request}
        for other in small:
            if other is not request:
                assert not countries & {op.country for op in other}
    assert MAX_OPERATIONS_PER_REQUEST == 10_000


def test_review_table_lists_budgets_and_operations(config: CampaignConfig) -> None:
    plan = diff(CUSTOMER, tree(config), Tree())
    text = render_markdown(plan, ["PL starts serving"])
    assert "| PL | 0.00 | 50.00 | new |" in text
    assert "PL starts serving" in text
    assert "| country |" in text and "create campaign" in text


def test_planning_runs_without_cycle_collections_and_leaves_the_collector_as_it_was(
    config: CampaignConfig,
) -> None:
    # The collector re-walking every live node made planning super-linear (bench/push_plan.py).
    import gc

    collections: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    inputs = (targeting(config), creatives(config), budgets(config))
    thresholds = ApprovalThresholds(daily_spend_threshold_micros=1)  # every country needs a reason
    seen: dict[str, int] = {}

    def observed(name: str, call: Callable[[], Any]) -> Any:
        gc.collect()  # counts start at zero: what is seen below happens in the call
        collections.clear()
        result = call()
        seen[name] = len(collections)
        return result

    threshold = gc.get_threshold()
    gc.set_threshold(50)  # a collection every fifty allocations, were the collector on
    gc.callbacks.append(count)
    try:
        desired = observed("desired_tree", lambda: desired_tree(*inputs))
        plan = observed("diff", lambda: diff(CUSTOMER, desired, Tree()))
        reasons = observed("approval_reasons", lambda: approval_reasons(plan, thresholds))
        assert gc.isenabled()
        gc.disable()
        diff(CUSTOMER, desired_tree(*inputs), Tree())
        assert not gc.isenabled()  # a caller that had it off keeps it off
    finally:
        gc.enable()
        gc.callbacks.remove(count)
        gc.set_threshold(*threshold)
    assert len(plan.operations) > 400 and len(reasons) >= 19
    # at most the one pass as each call returns (over what it left young), none while it works
    assert all(n <= 1 for n in seen.values()), seen
