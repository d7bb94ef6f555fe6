"""Daily budget allocation: the global budget split across countries and platforms. Pure, no I/O.

All money is an integer count of the campaign currency's minor unit (cents for EUR), so totals are
conserved exactly. The split is a divisor (highest-averages) apportionment with per-country bounds:

    amount(country) = clamp(floor(λ · weight'), low, high)   for the one λ that spends the total

where weight' is the targeting weight, adjusted by cost per signposting click once performance
exists, `high` is the hard cap (config/budget.yaml) tightened by month-to-date pacing and by the
day-to-day change limit, and `low` is the configured floor (and the change limit's lower side).
Divisor methods are the apportionment methods free of the "population paradox": raising one
country's weight can never lower its amount. Ties break by country code, so the result is
deterministic and independent of input order.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from fractions import Fraction
from typing import Any

MONTHLY_CEILING_DAYS = Decimal("30.4")  # Google: monthly charge ≤ 30.4 × average daily budget
GOOGLE_MICROS_PER_UNIT = 1_000_000
GOOGLE_BILLABLE_MICROS = 10_000  # the smallest amount Google bills in 2-decimal currencies: one cent
# ISO 4217 minor-unit exponents of the currencies an account may use; anything else is refused.
CURRENCY_EXPONENT = {"EUR": 2, "PLN": 2, "RON": 2, "MDL": 2, "CZK": 2, "HUF": 2, "UAH": 2, "GBP": 2, "USD": 2}


class AllocationError(ValueError):
    """The inputs cannot be allocated as asked (e.g. the floors add up to more than the budget)."""


def to_minor(amount: Decimal, currency: str) -> int:
    """A decimal amount in `currency` as a whole number of its minor unit, rounded down."""
    exponent = currency_exponent(currency)
    return int((amount * (10**exponent)).to_integral_value(rounding=ROUND_FLOOR))


def currency_exponent(currency: str) -> int:
    try:
        return CURRENCY_EXPONENT[currency]
    except KeyError:
        raise AllocationError(f"unsupported currency {currency!r}") from None


def minor_to_micros(amount_minor: int, currency: str) -> int:
    """Minor units → Google micros, rounded DOWN to the billable unit (never above what was allocated)."""
    micros = amount_minor * GOOGLE_MICROS_PER_UNIT // (10 ** currency_exponent(currency))
    return micros - micros % GOOGLE_BILLABLE_MICROS


@dataclass(frozen=True)
class CountryDemand:
    """What the intelligence asks for one country: its weight and the platforms allowed to serve it.

    `platform_shares` split the country's money between platforms (normalised here; a platform
    refused by policy is simply absent). `cost_per_signposting_click_minor` is optional: the
    country's recent cost per signposting click once performance data exists.
    """

    country: str
    weight: float
    platform_shares: Mapping[str, float]
    cost_per_signposting_click_minor: int | None = None


@dataclass(frozen=True)
class AllocationRules:
    """Limits from config, already in minor units."""

    currency: str
    daily_budget_minor: int  # what the campaign wants to spend per day (≤ the global cap)
    global_daily_cap_minor: int
    country_caps_minor: Mapping[str, int]
    country_floors_minor: Mapping[str, int]
    max_daily_change_share: Decimal = Decimal("0.25")
    performance_factor_bounds: tuple[Decimal, Decimal] = (Decimal("0.5"), Decimal("2"))

    def cap(self, country: str) -> int:
        return self.country_caps_minor[country]

    def floor(self, country: str) -> int:
        return min(self.country_floors_minor.get(country, 0), self.cap(country))

    def monthly_ceiling(self, country: str) -> int:
        return int((MONTHLY_CEILING_DAYS * self.cap(country)).to_integral_value(rounding=ROUND_FLOOR))


@dataclass(frozen=True)
class Pacing:
    """Month-to-date spend per country (minor units) and the days left in the month, today included."""

    days_left_in_month: int
    month_to_date_minor: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class CountryBounds:
    low: int
    high: int
    why_high: str


@dataclass(frozen=True)
class AllocationLine:
    country: str
    platform: str
    amount_minor: int
    weight: float  # the country's effective (performance-adjusted, normalised) weight


@dataclass(frozen=True)
class Allocation:
    currency: str
    lines: tuple[AllocationLine, ...]
    country_amounts: Mapping[str, int]
    bounds: Mapping[str, CountryBounds]
    effective_weights: Mapping[str, float]
    notes: tuple[str, ...] = ()

    @property
    def total_minor(self) -> int:
        return sum(self.country_amounts.values())

    def amount(self, country: str, platform: str) -> int:
        for line in self.lines:
            if line.country == country and line.platform == platform:
                return line.amount_minor
        return 0


def allocate(
    demands: Iterable[CountryDemand],
    rules: AllocationRules,
    pacing: Pacing,
    previous: Mapping[str, int] | None = None,
    current: Mapping[str, int] | None = None,
) -> Allocation:
    """Split `rules.daily_budget_minor` (never above the global cap) across countries and platforms.

    The change limit holds against both references (minor units per country): `previous`, the
    amounts in effect at the end of the day before, and `current`, the allocation in effect now
    (an earlier one of the same day). So several allocations on one day move a budget at most the
    limit from yesterday's, and each at most the limit from the one before; never a ratchet.
    """
    by_country = {demand.country: demand for demand in demands}
    if pacing.days_left_in_month < 1:
        raise AllocationError("days_left_in_month must be at least 1")
    for demand in by_country.values():
        if not math.isfinite(demand.weight) or demand.weight < 0:
            raise AllocationError(f"{demand.country}: weight must be a finite number ≥ 0")
        if demand.country not in rules.country_caps_minor:
            raise AllocationError(f"{demand.country}: no cap configured")
    countries = sorted(by_country)
    active = [code for code in countries if by_country[code].weight > 0 and _shares(by_country[code])]
    weights = _effective_weights({code: by_country[code] for code in active}, rules)
    total = max(0, min(rules.daily_budget_minor, rules.global_daily_cap_minor))
    references = [reference for reference in (previous, current) if reference]
    notes: list[str] = []

    bounds: dict[str, CountryBounds] = {}
    for code in countries:
        bounds[code] = (
            _bounds(code, rules, pacing, [reference.get(code) for reference in references])
            if code in weights
            else CountryBounds(0, 0, "inactive")
        )
    if sum(b.low for b in bounds.values()) > total:
        notes.append("floors and change limits exceeded the budget: change limits relaxed to the floors")
        bounds = {
            code: CountryBounds(min(rules.floor(code), b.high) if code in weights else 0, b.high, b.why_high)
            for code, b in bounds.items()
        }
    if sum(b.low for b in bounds.values()) > total:
        raise AllocationError(
            f"the floors of the active countries add up to more than the daily budget ({total} minor units)"
        )

    amounts = apportion(total, weights, {code: (b.low, b.high) for code, b in bounds.items()})
    lines: list[AllocationLine] = []
    for code in countries:
        if not amounts.get(code):
            continue
        shares = _shares(by_country[code])
        split = apportion(amounts[code], shares, {p: (0, amounts[code]) for p in shares})
        lines.extend(
            AllocationLine(code, platform, split[platform], float(weights[code]))
            for platform in sorted(split)
            if split[platform]
        )
    return Allocation(
        currency=rules.currency,
        lines=tuple(lines),
        country_amounts={code: amounts.get(code, 0) for code in countries},
        bounds=bounds,
        effective_weights={code: float(weights.get(code, 0)) for code in countries},
        notes=tuple(notes),
    )


def _shares(demand: CountryDemand) -> dict[str, Fraction]:
    return {
        platform: Fraction(share)
        for platform, share in demand.platform_shares.items()
        if math.isfinite(share) and share > 0
    }


def _effective_weights(demands: Mapping[str, CountryDemand], rules: AllocationRules) -> dict[str, Fraction]:
    """Targeting weight × a bounded performance factor (median cost per signposting click / own)."""
    costs = sorted(
        d.cost_per_signposting_click_minor
        for d in demands.values()
        if d.cost_per_signposting_click_minor is not None and d.cost_per_signposting_click_minor > 0
    )
    low, high = (Fraction(bound) for bound in rules.performance_factor_bounds)
    median = Fraction(costs[len(costs) // 2]) if costs else None
    weights: dict[str, Fraction] = {}
    for code, demand in demands.items():
        factor = Fraction(1)
        cost = demand.cost_per_signposting_click_minor
        if median is not None and cost is not None and cost > 0:
            factor = min(high, max(low, median / cost))
        weights[code] = Fraction(demand.weight) * factor
    total = sum(weights.values(), Fraction(0))
    return {code: weight / total for code, weight in weights.items()} if total else {}


def _bounds(code: str, rules: AllocationRules, pacing: Pacing, references: list[int | None]) -> CountryBounds:
    cap = rules.cap(code)
    why = "daily cap"
    headroom = max(0, rules.monthly_ceiling(code) - pacing.month_to_date_minor.get(code, 0))
    paced = headroom // pacing.days_left_in_month
    if paced < cap:
        cap, why = paced, "monthly ceiling (30.4 × daily cap) pacing"
    floor = min(rules.floor(code), cap)
    high, low = cap, floor
    amounts = [amount for amount in references if amount is not None and amount > 0]
    if amounts:
        # Each reference lies within the limit of the one before it, so the ranges always overlap.
        share = Fraction(rules.max_daily_change_share)
        change_high = min(math.floor(amount * (1 + share)) for amount in amounts)
        change_low = max(math.ceil(amount * (1 - share)) for amount in amounts)
        if max(change_high, floor) < high:
            high, why = max(change_high, floor), f"day-to-day change limit (±{rules.max_daily_change_share})"
        low = min(max(floor, change_low), high)
    return CountryBounds(low, high, why)


def apportion(
    total: int, weights: Mapping[str, Fraction], bounds: Mapping[str, tuple[int, int]]
) -> dict[str, int]:
    """Highest-averages (Jefferson/D'Hondt) apportionment of `total` units with per-key bounds.

    Every key starts at its low bound; each further unit goes to the key whose next unit has the
    smallest threshold (units + 1) / weight, ties by key. Stops at `total` or when every key is at
    its high bound, so the result sums to min(total, Σ high) whenever Σ low ≤ total.
    """
    amounts = {key: low for key, (low, _high) in bounds.items()}
    remaining = total - sum(amounts.values())
    open_keys = [key for key in sorted(bounds) if weights.get(key, 0) > 0 and amounts[key] < bounds[key][1]]
    if remaining <= 0 or not open_keys:
        return amounts
    # Jump close to the answer: every unit whose threshold is ≤ λ0 is certainly in.
    capacity = sum(bounds[key][1] - amounts[key] for key in open_keys)
    remaining_goal = min(remaining, capacity)
    lam = _lambda_below(remaining_goal, {k: weights[k] for k in open_keys}, bounds, amounts)
    for key in open_keys:
        low, high = bounds[key]
        amounts[key] = max(low, min(high, math.floor(lam * weights[key])))
    remaining = total - sum(amounts.values())
    heap = [((amounts[key] + 1) / weights[key], key) for key in open_keys if amounts[key] < bounds[key][1]]
    heapq.heapify(heap)
    while remaining > 0 and heap:
        _threshold, key = heapq.heappop(heap)
        amounts[key] += 1
        remaining -= 1
        if amounts[key] < bounds[key][1]:
            heapq.heappush(heap, ((amounts[key] + 1) / weights[key], key))
    return amounts


def _lambda_below(
    goal: int,
    weights: Mapping[str, Fraction],
    bounds: Mapping[str, tuple[int, int]],
    start: Mapping[str, int],
) -> Fraction:
    """A λ at which the clamped floors hand out no more than `goal` units above `start`."""

    def handed_out(lam: Fraction) -> int:
        return sum(
            max(bounds[k][0], min(bounds[k][1], math.floor(lam * w))) - start[k] for k, w in weights.items()
        )

    low, high = Fraction(0), Fraction(1)
    while handed_out(high) < goal and high < 2**80:
        high *= 2
    for _ in range(64):  # bisection on exact rationals; ~n units of slack left for the heap
        middle = (low + high) / 2
        if handed_out(middle) <= goal:
            low = middle
        else:
            high = middle
        if handed_out(high) - handed_out(low) <= len(weights):
            break
    return low


class BudgetCapExceeded(ValueError):
    """A budget above a hard cap was about to be sent to a platform. Nothing was sent."""


@dataclass(frozen=True)
class BudgetGuard:
    """The last check before a mutate leaves: every budget within its country's cap and the global cap.

    Built from config/budget.yaml alone, independently of the allocator and the plan, so a bug or
    a tampered plan upstream still cannot push more than the caps allow.
    """

    country_caps_micros: Mapping[str, int]
    global_cap_micros: int

    def check(self, operations: Iterable[Any]) -> None:
        problems: list[str] = []
        total = 0
        for operation in operations:
            if operation.kind != "campaign_budget" or "amount_micros" not in operation.fields:
                continue
            amount = int(operation.fields["amount_micros"])
            total += amount
            named = operation.key.split("|")[1] if operation.key.count("|") >= 2 else operation.country
            if named != operation.country:
                problems.append(f"{operation.key}: named for {named} but marked {operation.country}")
            cap = min(self.country_caps_micros.get(c, -1) for c in {named, operation.country})
            if cap < 0:
                problems.append(f"{operation.key}: no cap configured for {operation.country!r}")
            elif amount > cap:
                problems.append(
                    f"{operation.key}: {amount / 1e6:,.2f} is above the country cap {cap / 1e6:,.2f}"
                )
            if amount < 0 or amount % GOOGLE_BILLABLE_MICROS:
                problems.append(f"{operation.key}: {amount} micros is not a whole billable unit")
        if total > self.global_cap_micros:
            problems.append(
                f"budgets in one request add up to {total / 1e6:,.2f}, above the global cap "
                f"{self.global_cap_micros / 1e6:,.2f}"
            )
        if problems:
            raise BudgetCapExceeded("refused before sending: " + "; ".join(problems))

    @classmethod
    def from_caps(cls, caps_minor: Mapping[str, int], global_cap_minor: int, currency: str) -> BudgetGuard:
        return cls(
            {code: minor_to_micros(cap, currency) for code, cap in caps_minor.items()},
            minor_to_micros(global_cap_minor, currency),
        )
