"""When a plan needs a person before it is applied. Pure rule evaluation over a plan.

A plan waits for approval when it adds a country, changes any country's daily budget by more
than a configured share, raises total daily spend above a threshold, or ships an ad whose content
is not live on the account yet. Anything else (pausing, removing, small budget moves) applies by
itself. Thresholds come from config/push.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pydantic import Field

from safepassage.domain.campaign import Frozen
from safepassage.domain.push import Plan, cycle_collection_paused


class ApprovalThresholds(Frozen):
    budget_change_share: Decimal = Field(
        default=Decimal("0.20"), ge=0, description="a country's budget moving by more than this share"
    )
    daily_spend_threshold_micros: int = Field(
        ge=0, description="a plan taking total daily spend above this (account currency micros)"
    )
    new_country: bool = Field(default=True, description="a country starts serving")
    new_creative_version: bool = Field(default=True, description="an ad whose content is not live yet")
    currency: str = Field(default="", description="shown with every amount in the reasons")


@dataclass(frozen=True)
class ApprovalReason:
    rule: str
    country: str | None
    message: str

    def __str__(self) -> str:
        return self.message


@cycle_collection_paused()
def approval_reasons(plan: Plan, thresholds: ApprovalThresholds) -> list[ApprovalReason]:
    """Every rule the plan trips; empty means it may apply without review."""
    reasons: list[ApprovalReason] = []
    before, after = plan.facts.budgets_before, plan.facts.budgets_after
    unit = f" {thresholds.currency}" if thresholds.currency else ""
    if thresholds.new_country:
        for code in sorted(after.keys() - before.keys()):
            reasons.append(
                ApprovalReason(
                    "new_country", code, f"{code} starts serving ({after[code] / 1e6:,.2f}{unit}/day)"
                )
            )
    for code in sorted(after.keys() & before.keys()):
        old, new = before[code], after[code]
        if old and abs(new - old) > thresholds.budget_change_share * old:
            reasons.append(
                ApprovalReason(
                    "budget_change",
                    code,
                    f"{code} daily budget {old / 1e6:,.2f} → {new / 1e6:,.2f}{unit} "
                    f"({(new - old) / old:+.0%}, "
                    f"limit ±{thresholds.budget_change_share:.0%})",
                )
            )
    total_before, total_after = sum(before.values()), sum(after.values())
    if total_after > total_before and total_after > thresholds.daily_spend_threshold_micros:
        reasons.append(
            ApprovalReason(
                "spend_threshold",
                None,
                f"total daily spend rises to {total_after / 1e6:,.2f}{unit} "
                f"(threshold {thresholds.daily_spend_threshold_micros / 1e6:,.2f}{unit})",
            )
        )
    if thresholds.new_creative_version:
        for code, count in new_creative_versions(plan).items():
            reasons.append(
                ApprovalReason(
                    "new_creative_version", code, f"{code}: {count} new creative version(s) to ship"
                )
            )
    return reasons


def new_creative_versions(plan: Plan) -> dict[str, int]:
    """Country → how many ad contents the plan creates that are not live on the account yet."""
    live = set(plan.facts.live_ads_before)
    new_ads = {
        (op.country, str(op.fields.get("content_hash")))
        for op in plan.operations
        if op.action == "create" and op.kind == plan.ad_kind and op.fields.get("content_hash") not in live
    }
    counts: dict[str, int] = {}
    for country, _ in sorted(new_ads):
        counts[country] = counts.get(country, 0) + 1
    return counts
