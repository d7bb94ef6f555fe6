"""A review reads like a decision: account, plan and money with its currency first, per country."""

from __future__ import annotations

from decimal import Decimal

import pytest

from safepassage.domain.approval import ApprovalThresholds, approval_reasons
from safepassage.domain.push import as_reported, diff
from safepassage.domain.push_google import desired_tree
from safepassage.domain.push_review import ReviewReason, plan_review, review_body, review_title
from safepassage.services.campaign_config import load_campaign_config
from tests.push_support import budgets, creatives, targeting

CONFIG = load_campaign_config()
THRESHOLDS = ApprovalThresholds(daily_spend_threshold_micros=10_000_000_000)


def review_of_a_change() -> object:
    """Live: every country at 50 EUR. Plan: PL to 60, MD paused (no budget), creatives unchanged."""
    live = as_reported(desired_tree(targeting(CONFIG), creatives(CONFIG), budgets(CONFIG)))
    wanted = {**budgets(CONFIG), "PL": 60_000_000, "MD": 0}
    plan = diff("1234567890", desired_tree(targeting(CONFIG), creatives(CONFIG), wanted), live)
    reasons = [ReviewReason(r.rule, r.country, r.message) for r in approval_reasons(plan, THRESHOLDS)]
    return plan_review(plan, 7, "1234567890 (SafePassage Europe)", "EUR", reasons)


def test_title_names_plan_account_and_daily_amount_with_currency() -> None:
    review = review_of_a_change()
    assert review_title([review]) == (
        "Approve push plan 7 · Google Ads 1234567890 (SafePassage Europe) · 910.00 EUR/day (was 950.00 EUR)?"
    )


def test_body_opens_on_the_per_country_summary_and_links_the_operations() -> None:
    review = review_of_a_change()
    lines = review_body([review], approvers=["anna"]).splitlines()
    assert lines[0] == "#### Plan 7 · Google Ads account 1234567890 (SafePassage Europe)"
    assert lines[2].startswith("Daily budget **950.00 EUR → 910.00 EUR**; starts serving: none; paused: MD;")
    assert (
        lines[4] == "| country | daily budget before (EUR) | after (EUR) | change | new creative versions |"
    )
    assert "| PL | 50.00 | 60.00 | +20% |  |" in lines
    assert "| MD | 50.00 | — | paused |  |" in lines
    assert "| DE | 50.00 | 50.00 | no change |  |" in lines
    assert "| **total** | **950.00** | **910.00** | -4% |  |" in lines
    assert not any("SP|" in line for line in lines)  # no operation is listed
    assert lines[-1].startswith("Every operation (") and "[Push plans page](/safepassage/plans)" in lines[-1]
    assert "May decide: `anna`." in lines[-3]


def test_two_accounts_are_one_decision() -> None:
    first = review_of_a_change()
    second = plan_review(
        diff(
            "2222222222",
            desired_tree(targeting(CONFIG), creatives(CONFIG), {"PL": 10_000_000}),
            as_reported(desired_tree([], [], {})),
        ),
        8,
        "2222222222",
        "EUR",
        [ReviewReason("new_country", "PL", "PL starts serving (10.00 EUR/day)")],
    )
    assert review_title([first, second]) == (
        "Approve push plans 7, 8 · Google Ads 1234567890 (SafePassage Europe), Google Ads 2222222222 · "
        "920.00 EUR/day (was 950.00 EUR)?"
    )
    body = review_body([first, second])
    assert "| PL | — | 10.00 | starts serving | 8 |" in body.splitlines()
    assert "- PL starts serving (10.00 EUR/day)" in body.splitlines()
    assert "May decide: anyone who may edit this DAG." in body
    with pytest.raises(ValueError, match="at least one plan"):
        review_title([])
    assert first.total_after == Decimal("910")
