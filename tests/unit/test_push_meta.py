"""Meta's desired tree, the shared diff on it, the policy switch and the budget rule. Pure."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from safepassage.domain.campaign import CampaignConfig
from safepassage.domain.push import PAUSED, Tree, as_reported, diff, render_markdown
from safepassage.domain.push_meta import hold_budget_changes
from safepassage.services.campaign_config import load_campaign_config
from safepassage.services.push_inputs import meta_targeting
from tests.push_support import meta_tree, targeting_document

ACCOUNT = "act_1"


@pytest.fixture(scope="module")
def config() -> CampaignConfig:
    return load_campaign_config()


def test_first_plan_creates_images_campaigns_ad_sets_creatives_and_ads_with_budgets_in_micros(
    config: CampaignConfig,
) -> None:
    plan = diff(ACCOUNT, meta_tree(config, countries=("PL", "UA")), Tree())
    kinds = Counter(op.kind for op in plan.operations)
    assert kinds == {"adimage": 2, "campaign": 2, "adset": 7, "adcreative": 14, "ad": 14}
    assert plan.facts.budgets_after == {"PL": 50_000_000, "UA": 50_000_000}  # 5,000 cents = 50.00
    ad_sets = {op.key: op for op in plan.operations if op.kind == "adset"}
    assert ad_sets["SP|PL|uk"].refs == {"campaign": "new:campaign:3"}  # waits for its campaign
    assert ad_sets["SP|PL|uk"].fields["dsa_beneficiary"] == "SafePassage"
    assert "dsa_beneficiary" not in ad_sets["SP|UA|uk"].fields  # the DSA is an EU rule
    assert "Push plan for Meta ad account act_1" in render_markdown(plan)


def test_a_paused_country_keeps_its_tree_paused_and_a_rerun_is_empty(config: CampaignConfig) -> None:
    live = as_reported(meta_tree(config, countries=("PL",)), ACCOUNT)
    assert diff(ACCOUNT, meta_tree(config, countries=("PL",)), live).is_empty
    paused = diff(ACCOUNT, meta_tree(config, countries=("PL",), paused=("PL",)), live)
    assert {(op.kind, op.fields["status"]) for op in paused.operations} == {
        ("campaign", PAUSED),
        ("adset", PAUSED),
    }
    assert paused.facts.budgets_after == {}  # a paused country spends nothing
    lost_language = meta_tree(config, countries=("PL",))
    lost_language.nodes = {k: n for k, n in lost_language.nodes.items() if not k.startswith("SP|PL|ru")}
    plan = diff(ACCOUNT, lost_language, live)
    assert {(op.action, op.kind) for op in plan.operations} == {("remove", "adset")}  # ads go with it
    left_country = diff(ACCOUNT, meta_tree(config, countries=("RO",)), live)
    pl = [op for op in left_country.operations if op.country == "PL"]
    assert [(op.action, op.kind, op.fields) for op in pl] == [("update", "campaign", {"status": PAUSED})]


def test_budget_changes_beyond_four_an_hour_wait_for_a_later_run(config: CampaignConfig) -> None:
    live = as_reported(meta_tree(config, countries=("PL",)), ACCOUNT)
    wanted = meta_tree(config, countries=("PL",), euros=60)
    held, notes = hold_budget_changes(wanted, live, {"SP|PL|campaign": 4})
    assert diff(ACCOUNT, held, live).is_empty and "Meta allows 4" in notes[0]
    moved, notes = hold_budget_changes(wanted, live, {"SP|PL|campaign": 3})
    plan = diff(ACCOUNT, moved, live)
    assert notes == [] and [op.fields for op in plan.operations] == [{"daily_budget": 6_000}]


def test_policy_leaves_eu_countries_out_on_meta_from_the_rule_date_and_says_why(
    config: CampaignConfig,
) -> None:
    document = targeting_document(config)
    before, left_before = meta_targeting(document, config, dt.date(2025, 10, 5))
    after, left_after = meta_targeting(document, config, dt.date(2025, 10, 6))
    assert {t.country for t in before} == {c.code for c in config.countries} and left_before == []
    assert {t.country for t in after} == {"UA", "MD", "GB"}
    assert any(note.startswith("PL left out on Meta: Meta stopped") for note in left_after)
    hotspots = targeting_document(config)
    meta_entry = hotspots["countries"][1]["platforms"][1]  # type: ignore[index]
    meta_entry["geo"] = {
        "custom_locations": [
            {
                "name": "Przemyśl station",
                "latitude": 49.78,
                "longitude": 22.77,
                "radius": 5,
                "distance_unit": "kilometer",
            }
        ]
    }
    spots, _ = meta_targeting(hotspots, config, dt.date(2022, 3, 25))
    poland = next(t for t in spots if t.country == "PL")
    assert poland.geo_locations["custom_locations"] == [
        {"latitude": 49.78, "longitude": 22.77, "radius": 5, "distance_unit": "kilometer", "country": "PL"}
    ]
