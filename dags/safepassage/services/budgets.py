"""Allocate the daily budget from the latest targeting and performance, and store it with its inputs."""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from safepassage.domain.budgets import Allocation, AllocationRules, CountryDemand, Pacing, allocate
from safepassage.domain.campaign import CampaignConfig, Platform
from safepassage.domain.errors import InvalidInput, Problem
from safepassage.domain.performance import PerformanceSettings, shrunk_cost_per_click
from safepassage.domain.push_settings import PushSettings
from safepassage.services.performance import load_performance_settings
from safepassage.services.ports import Warehouse
from safepassage.services.push_inputs import budget_demands, effective_targeting

PERFORMANCE_WINDOW_DAYS = 28  # Meta's insights settle after 28 days; the same window for both


@dataclass(frozen=True)
class StoredAllocation:
    allocation_id: int
    created: bool
    allocation: Allocation
    inputs: dict[str, Any]

    def table(self) -> str:
        rows = [
            "| country | weight | google_ads | meta | total | upper bound (why) |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for code, amount in sorted(self.allocation.country_amounts.items()):
            bounds = self.allocation.bounds[code]
            rows.append(
                f"| {code} | {self.allocation.effective_weights[code]:.3f} | "
                f"{self.allocation.amount(code, 'google_ads') / 100:,.2f} | "
                f"{self.allocation.amount(code, 'meta') / 100:,.2f} | {amount / 100:,.2f} | "
                f"{bounds.high / 100:,.2f} ({bounds.why_high}) |"
            )
        rows.append(
            f"| **total** | | | | {self.allocation.total_minor / 100:,.2f} {self.allocation.currency} | |"
        )
        return "\n".join(rows + [f"\n{note}" for note in self.allocation.notes])


def month_to_date_spend(warehouse: Warehouse, day: dt.date) -> dict[str, int]:
    spend = warehouse.push.spend_by_country(day.replace(day=1), day)
    return {code: cost for code, (cost, _clicks) in spend.items()}


def cost_per_signposting_click(
    warehouse: Warehouse, day: dt.date, performance: PerformanceSettings | None = None
) -> dict[str, int]:
    """Pulled cost per signposting click per country, shrunk toward the pooled rate for small counts
    (`domain.performance.shrunk_cost_per_click`); empty until enough clicks exist overall."""
    performance = performance or PerformanceSettings()
    start = day - dt.timedelta(days=performance.weighting_window_days)
    shrunk = shrunk_cost_per_click(
        warehouse.push.spend_by_country(start, day),
        prior_strength_clicks=performance.prior_strength_clicks,
        min_total_clicks=performance.weighting_min_clicks,
    )
    return {code: entry.shrunk_minor for code, entry in shrunk.items()}


def previous_amounts(warehouse: Warehouse, day: dt.date) -> dict[str, int]:
    """The amounts in effect at the end of the day before `day`."""
    return warehouse.push.allocation_amounts(before=day)


def current_amounts(warehouse: Warehouse, day: dt.date) -> dict[str, int]:
    """The amounts in effect now: an earlier allocation of `day` itself, else the previous day's."""
    return warehouse.push.allocation_amounts(on_or_before=day)


def latest_amounts(warehouse: Warehouse) -> dict[str, int]:
    """Country → daily minor units (all platforms) of the newest allocation."""
    return warehouse.push.allocation_amounts()


def allocate_budgets(
    warehouse: Warehouse,
    config: CampaignConfig,
    push: PushSettings,
    day: dt.date,
    performance: PerformanceSettings | None = None,
) -> StoredAllocation:
    targeting = effective_targeting(warehouse, day)
    if targeting is None:
        raise InvalidInput(
            [
                Problem(
                    "warehouse targeting_snapshot",
                    "",
                    f"no targeting in effect on {day}: run refresh_targeting",
                )
            ]
        )
    snapshot_id, document = targeting
    performance = performance or load_performance_settings()
    costs = cost_per_signposting_click(warehouse, day, performance)

    def pushed(platform: Platform, country: str) -> bool:
        """Money only where a push will spend it: an account serves the country, policy allows it."""
        accounts = push.accounts_for(platform)
        return any(a.serves(country) for a in accounts) and config.policy.allows(platform, country, day)

    demands = budget_demands(document, push, costs, pushed)
    rules = push.allocation_rules(config)
    pacing = Pacing(
        days_left_in_month=calendar.monthrange(day.year, day.month)[1] - day.day + 1,
        month_to_date_minor=month_to_date_spend(warehouse, day),
    )
    previous = previous_amounts(warehouse, day)
    current = current_amounts(warehouse, day)
    allocation = allocate(demands, rules, pacing, previous, current)
    inputs = _inputs_record(day, snapshot_id, demands, rules, pacing, previous)
    inputs["performance_data"] = _performance_data_used(warehouse, day, performance)
    # `current` is recorded but not hashed: re-running an allocation that is already in effect must
    # find it again rather than store a copy made against itself.
    inputs_hash = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    inputs["current_minor"] = dict(sorted(current.items()))
    allocation_id, created = warehouse.push.store_allocation(
        day,
        inputs_hash,
        inputs,
        rules.currency,
        [(line.platform, line.country, line.amount_minor, line.weight) for line in allocation.lines],
    )
    return StoredAllocation(allocation_id, created, allocation, inputs)


def _performance_data_used(
    warehouse: Warehouse, day: dt.date, performance: PerformanceSettings
) -> dict[str, Any]:
    """Which pulled data the allocation rests on, so the stored plan says it."""
    newest, rows = warehouse.performance.spend_month_to_date(day - dt.timedelta(days=1))
    return {
        "pulled_through": newest.isoformat() if newest else None,
        "month_to_date_rows": rows,
        "weighting_window_days": performance.weighting_window_days,
        "weighting_min_clicks": performance.weighting_min_clicks,
        "prior_strength_clicks": performance.prior_strength_clicks,
    }


def _inputs_record(
    day: dt.date,
    targeting_snapshot_id: int,
    demands: list[CountryDemand],
    rules: AllocationRules,
    pacing: Pacing,
    previous: Mapping[str, int],
) -> dict[str, Any]:
    return {
        "for_date": day.isoformat(),
        "targeting_snapshot_id": targeting_snapshot_id,
        "demands": [
            {
                "country": d.country,
                "weight": d.weight,
                "platform_shares": dict(sorted(d.platform_shares.items())),
                "cost_per_signposting_click_minor": d.cost_per_signposting_click_minor,
            }
            for d in sorted(demands, key=lambda d: d.country)
        ],
        "rules": {
            "currency": rules.currency,
            "daily_budget_minor": rules.daily_budget_minor,
            "global_daily_cap_minor": rules.global_daily_cap_minor,
            "country_caps_minor": dict(sorted(rules.country_caps_minor.items())),
            "country_floors_minor": dict(sorted(rules.country_floors_minor.items())),
            "max_daily_change_share": str(rules.max_daily_change_share),
            "performance_factor_bounds": [str(b) for b in rules.performance_factor_bounds],
        },
        "pacing": {
            "days_left_in_month": pacing.days_left_in_month,
            "month_to_date_minor": dict(pacing.month_to_date_minor),
        },
        "previous_minor": dict(sorted(previous.items())),
    }
