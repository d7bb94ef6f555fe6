"""A push plan as a decision: the title and first screen of the review, for any platform. Pure.

A reviewer decides on money and places, so the review starts with them: one line per account
(plan id, daily amount before → after with the currency), then one row per country (budget before
→ after, starts serving / paused, new creative versions), then why a person is asked, grouped by
rule. The individual operations (hundreds on a first push) are not in the review: it links to the
Push plans page and the `plan_account` log, where they are listed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from safepassage.domain.approval import new_creative_versions
from safepassage.domain.push import Plan

MICROS = Decimal(1_000_000)
RULE_HEADINGS = {
    "new_country": "Starts serving",
    "budget_change": "Daily budget moves beyond the limit",
    "spend_threshold": "Total daily spend above the threshold",
    "new_creative_version": "New creative versions to ship",
}


@dataclass(frozen=True)
class ReviewReason:
    rule: str
    country: str | None
    message: str


@dataclass(frozen=True)
class PlanReview:
    """One account's plan as a reviewer needs it; amounts are daily, in `currency` units."""

    plan_id: int
    platform: str
    account: str
    currency: str
    budgets_before: Mapping[str, Decimal]
    budgets_after: Mapping[str, Decimal]
    new_creatives: Mapping[str, int] = field(default_factory=dict)
    reasons: Sequence[ReviewReason] = ()
    operation_count: int = 0

    @property
    def total_before(self) -> Decimal:
        return sum(self.budgets_before.values(), Decimal(0))

    @property
    def total_after(self) -> Decimal:
        return sum(self.budgets_after.values(), Decimal(0))

    @property
    def started(self) -> list[str]:
        return sorted(self.budgets_after.keys() - self.budgets_before.keys())

    @property
    def paused(self) -> list[str]:
        return sorted(self.budgets_before.keys() - self.budgets_after.keys())


def money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def review_title(reviews: Sequence[PlanReview]) -> str:
    """`Approve push plan 12 · Google Ads 1234567890 (Europe) · 900.00 EUR/day (was 0.00 EUR)?`"""
    if not reviews:
        raise ValueError("a review needs at least one plan")
    ids = ", ".join(str(review.plan_id) for review in reviews)
    accounts = ", ".join(f"{review.platform} {review.account}" for review in reviews)
    after: dict[str, Decimal] = defaultdict(Decimal)
    before: dict[str, Decimal] = defaultdict(Decimal)
    for review in reviews:
        after[review.currency] += review.total_after
        before[review.currency] += review.total_before
    amounts = " + ".join(
        f"{money(after[c], c)}/day (was {money(before[c], c)})" for c in sorted(after.keys() | before.keys())
    )
    plans = "plan" if len(reviews) == 1 else "plans"
    return f"Approve push {plans} {ids} · {accounts} · {amounts}?"


def review_body(
    reviews: Sequence[PlanReview], approvers: Sequence[str] = (), plans_url: str = "/safepassage/plans"
) -> str:
    """The review's Markdown: per-account and per-country summary first, the operations linked."""
    lines: list[str] = []
    for review in reviews:
        lines += [*_account_summary(review), ""]
    who = ", ".join(f"`{name}`" for name in approvers) if approvers else "anyone who may edit this DAG"
    operations = sum(review.operation_count for review in reviews)
    lines += [
        f"Approving applies {'this plan' if len(reviews) == 1 else 'every plan above'}; rejecting applies "
        f"none. May decide: {who}.",
        "",
        f"Every operation ({operations:,}) is listed on the [Push plans page]({plans_url}) and in the "
        "`plan_account` task log.",
    ]
    return "\n".join(lines)


def _account_summary(review: PlanReview) -> list[str]:
    c = review.currency
    started, paused = review.started, review.paused
    creatives = sum(review.new_creatives.values())
    lines = [
        f"#### Plan {review.plan_id} · {review.platform} account {review.account}",
        "",
        f"Daily budget **{money(review.total_before, c)} → {money(review.total_after, c)}**; "
        f"starts serving: {_countries(started)}; paused: {_countries(paused)}; "
        f"{creatives} new creative version(s); {review.operation_count:,} operations.",
        "",
        f"| country | daily budget before ({c}) | after ({c}) | change | new creative versions |",
        "|---|---:|---:|---|---:|",
    ]
    countries = sorted(
        review.budgets_before.keys() | review.budgets_after.keys() | review.new_creatives.keys()
    )
    for code in countries:
        old, new = review.budgets_before.get(code), review.budgets_after.get(code)
        lines.append(
            f"| {code} | {_amount(old)} | {_amount(new)} | {_change(old, new)} | "
            f"{review.new_creatives.get(code, 0) or ''} |"
        )
    lines.append(
        f"| **total** | **{review.total_before:,.2f}** | **{review.total_after:,.2f}** | "
        f"{_change(review.total_before, review.total_after)} | {creatives or ''} |"
    )
    if review.reasons:
        lines += ["", "**Why a person decides:**", *_grouped_reasons(review.reasons)]
    return lines


def _countries(codes: Sequence[str]) -> str:
    if not codes:
        return "none"
    return f"{len(codes)} countries ({', '.join(codes)})" if len(codes) > 1 else codes[0]


def _amount(amount: Decimal | None) -> str:
    return "—" if amount is None else f"{amount:,.2f}"


def _change(old: Decimal | None, new: Decimal | None) -> str:
    if old is None or (not old and new):
        return "starts serving" if new else ""
    if new is None:
        return "paused"
    if new == old:
        return "no change"
    return f"{(new - old) / old:+.0%}" if old else ""


def _grouped_reasons(reasons: Sequence[ReviewReason]) -> list[str]:
    by_rule: dict[str, list[ReviewReason]] = defaultdict(list)
    for reason in reasons:
        by_rule[reason.rule].append(reason)
    lines = []
    for rule, found in by_rule.items():
        if len(found) == 1:
            lines.append(f"- {found[0].message}")
            continue
        countries = ", ".join(r.country or "?" for r in found)
        lines.append(f"- {RULE_HEADINGS.get(rule, rule)}: {countries} ({len(found)} countries)")
    return lines


def google_ads_review(
    plan: Plan, plan_id: int, account: str, currency: str, reasons: Sequence[ReviewReason]
) -> PlanReview:
    """A Google Ads plan (budgets in micros) as a review."""

    def units(micros: Mapping[str, int]) -> dict[str, Decimal]:
        return {code: Decimal(amount) / MICROS for code, amount in micros.items()}

    return PlanReview(
        plan_id=plan_id,
        platform="Google Ads",
        account=account,
        currency=currency,
        budgets_before=units(plan.facts.budgets_before),
        budgets_after=units(plan.facts.budgets_after),
        new_creatives=new_creative_versions(plan),
        reasons=tuple(reasons),
        operation_count=len(plan.operations),
    )
