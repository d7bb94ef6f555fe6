"""Allocate the daily budget from the latest targeting and performance, and store it with its inputs."""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from safepassage.adapters.warehouse import Warehouse
from safepassage.adapters.warehouse import models as m
from safepassage.domain.budgets import Allocation, AllocationRules, CountryDemand, Pacing, allocate
from safepassage.domain.campaign import CampaignConfig
from safepassage.domain.errors import InvalidInput, Problem
from safepassage.domain.push_settings import PushSettings
from safepassage.services.push_inputs import budget_demands, latest_targeting

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
    with warehouse.session() as session:
        rows = session.execute(
            select(m.DailyPerformance.country_code, func.sum(m.DailyPerformance.cost_minor))
            .where(m.DailyPerformance.date >= day.replace(day=1), m.DailyPerformance.date < day)
            .group_by(m.DailyPerformance.country_code)
        ).all()
    return {code: int(total or 0) for code, total in rows}


def cost_per_signposting_click(warehouse: Warehouse, day: dt.date) -> dict[str, int]:
    start = day - dt.timedelta(days=PERFORMANCE_WINDOW_DAYS)
    with warehouse.session() as session:
        rows = session.execute(
            select(
                m.DailyPerformance.country_code,
                func.sum(m.DailyPerformance.cost_minor),
                func.sum(m.DailyPerformance.signposting_clicks),
            )
            .where(m.DailyPerformance.date >= start, m.DailyPerformance.date < day)
            .group_by(m.DailyPerformance.country_code)
        ).all()
    return {code: int(cost) // int(clicks) for code, cost, clicks in rows if clicks and cost}


def previous_amounts(warehouse: Warehouse, day: dt.date) -> dict[str, int]:
    with warehouse.session() as session:
        latest = session.scalars(
            select(m.BudgetAllocation)
            .where(m.BudgetAllocation.for_date < day)
            .order_by(m.BudgetAllocation.for_date.desc(), m.BudgetAllocation.id.desc())
            .limit(1)
        ).first()
        if latest is None:
            return {}
        rows = session.execute(
            select(m.BudgetAllocationLine.country_code, func.sum(m.BudgetAllocationLine.daily_amount_minor))
            .where(m.BudgetAllocationLine.allocation_id == latest.id)
            .group_by(m.BudgetAllocationLine.country_code)
        ).all()
    return {code: int(total) for code, total in rows}


def allocate_budgets(
    warehouse: Warehouse, config: CampaignConfig, push: PushSettings, day: dt.date
) -> StoredAllocation:
    document = latest_targeting(warehouse)
    if document is None:
        raise InvalidInput(
            [Problem("warehouse targeting_snapshot", "", "no targeting yet: run refresh_targeting")]
        )
    costs = cost_per_signposting_click(warehouse, day)
    demands = budget_demands(document, push, costs)
    rules = push.allocation_rules(config)
    pacing = Pacing(
        days_left_in_month=calendar.monthrange(day.year, day.month)[1] - day.day + 1,
        month_to_date_minor=month_to_date_spend(warehouse, day),
    )
    previous = previous_amounts(warehouse, day)
    allocation = allocate(demands, rules, pacing, previous)
    inputs = _inputs_record(day, demands, rules, pacing, previous)
    inputs_hash = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    with warehouse.session() as session:
        existing = session.scalar(
            select(m.BudgetAllocation.id).where(m.BudgetAllocation.inputs_hash == inputs_hash)
        )
        if existing is not None:
            return StoredAllocation(existing, False, allocation, inputs)
        row = m.BudgetAllocation(
            for_date=day, inputs_hash=inputs_hash, inputs=inputs, currency=rules.currency
        )
        session.add(row)
        session.flush()
        session.add_all(
            m.BudgetAllocationLine(
                allocation_id=row.id,
                platform_code=line.platform,
                country_code=line.country,
                daily_amount_minor=line.amount_minor,
                weight=line.weight,
            )
            for line in allocation.lines
        )
        return StoredAllocation(row.id, True, allocation, inputs)


def _inputs_record(
    day: dt.date,
    demands: list[CountryDemand],
    rules: AllocationRules,
    pacing: Pacing,
    previous: Mapping[str, int],
) -> dict[str, Any]:
    return {
        "for_date": day.isoformat(),
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
