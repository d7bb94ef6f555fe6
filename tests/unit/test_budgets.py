"""The allocator: conservation, hard caps, pacing, change limits, determinism, monotonicity."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safepassage.domain.budgets import (
    AllocationError,
    AllocationRules,
    CountryDemand,
    Pacing,
    allocate,
    minor_to_micros,
    to_minor,
)
from tests.tiers import examples

CODES = [f"C{chr(65 + i)}" for i in range(12)]


def rules(
    caps: dict[str, int],
    floors: dict[str, int] | None = None,
    budget: int = 150_000,
    global_cap: int = 150_000,
    change: str = "0.25",
) -> AllocationRules:
    return AllocationRules(
        currency="EUR",
        daily_budget_minor=budget,
        global_daily_cap_minor=global_cap,
        country_caps_minor=caps,
        country_floors_minor=floors or {},
        max_daily_change_share=Decimal(change),
    )


def demand(code: str, weight: float, cost: int | None = None) -> CountryDemand:
    return CountryDemand(code, weight, {"google_ads": 0.6, "meta": 0.4}, cost)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[CountryDemand], AllocationRules, Pacing, dict[str, int] | None]:
    codes = CODES[: draw(st.integers(1, len(CODES)))]
    caps = {c: draw(st.integers(0, 60_000)) for c in codes}
    floors = {c: draw(st.integers(0, 3_000)) for c in codes}
    budget = draw(st.integers(sum(floors.values()), 300_000))
    global_cap = draw(st.integers(sum(floors.values()), 300_000))  # config refuses floors above it
    demands = [
        CountryDemand(
            c,
            draw(st.one_of(st.just(0.0), st.floats(1e-6, 1e3))),
            draw(st.dictionaries(st.sampled_from(["google_ads", "meta"]), st.floats(0, 1), min_size=1)),
            draw(st.one_of(st.none(), st.integers(1, 5_000))),
        )
        for c in codes
    ]
    pacing = Pacing(
        days_left_in_month=draw(st.integers(1, 31)),
        month_to_date_minor={c: draw(st.integers(0, 2_000_000)) for c in codes},
    )
    previous = draw(st.one_of(st.none(), st.fixed_dictionaries({c: st.integers(0, 60_000) for c in codes})))
    return (
        demands,
        rules(caps, floors, budget, global_cap, draw(st.sampled_from(["0.1", "0.25", "1"]))),
        pacing,
        previous,
    )


PROPERTY = settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(scenarios())
def test_caps_are_never_exceeded_whatever_the_inputs(scenario) -> None:  # type: ignore[no-untyped-def]
    demands, limits, pacing, previous = scenario
    allocation = allocate(demands, limits, pacing, previous)
    assert allocation.total_minor <= min(limits.daily_budget_minor, limits.global_daily_cap_minor)
    for code, amount in allocation.country_amounts.items():
        assert 0 <= amount <= limits.cap(code)
        spent = pacing.month_to_date_minor.get(code, 0)
        assert spent + amount * pacing.days_left_in_month <= max(limits.monthly_ceiling(code), spent)


@PROPERTY
@given(scenarios())
def test_totals_are_conserved_to_the_minor_unit(scenario) -> None:  # type: ignore[no-untyped-def]
    demands, limits, pacing, previous = scenario
    allocation = allocate(demands, limits, pacing, previous)
    assert sum(line.amount_minor for line in allocation.lines) == allocation.total_minor
    for code, amount in allocation.country_amounts.items():
        assert sum(line.amount_minor for line in allocation.lines if line.country == code) == amount
    # All the budget is spent unless every country is at its upper bound.
    budget = min(limits.daily_budget_minor, limits.global_daily_cap_minor)
    headroom = sum(b.high for b in allocation.bounds.values())
    assert allocation.total_minor == min(budget, headroom)


@PROPERTY
@given(scenarios(), st.randoms())
def test_deterministic_and_independent_of_input_order(scenario, rng) -> None:  # type: ignore[no-untyped-def]
    demands, limits, pacing, previous = scenario
    first = allocate(demands, limits, pacing, previous)
    shuffled = list(demands)
    rng.shuffle(shuffled)
    assert allocate(shuffled, limits, pacing, previous) == first


@PROPERTY
@given(scenarios(), st.data())
def test_monotone_in_weight(scenario, data) -> None:  # type: ignore[no-untyped-def]
    demands, limits, pacing, previous = scenario
    index = data.draw(st.integers(0, len(demands) - 1))
    raised = list(demands)
    target = demands[index]
    more = target.weight * data.draw(st.floats(1, 10)) + data.draw(st.floats(0, 5))
    raised[index] = CountryDemand(
        target.country, more, target.platform_shares, target.cost_per_signposting_click_minor
    )
    before = allocate(demands, limits, pacing, previous).country_amounts[target.country]
    after = allocate(raised, limits, pacing, previous).country_amounts[target.country]
    assert after >= before


def test_weights_floors_and_platform_split() -> None:
    allocation = allocate(
        [demand("PL", 0.75), demand("DE", 0.25), demand("UA", 0.0)],
        rules({"PL": 100_000, "DE": 100_000, "UA": 100_000}, {"DE": 40_000}, budget=100_000),
        Pacing(days_left_in_month=30),
    )
    assert allocation.country_amounts == {"DE": 40_000, "PL": 60_000, "UA": 0}
    assert allocation.amount("PL", "google_ads") == 36_000
    assert allocation.amount("PL", "meta") == 24_000


def test_a_country_refused_on_one_platform_gets_its_money_on_the_other() -> None:
    only_google = CountryDemand("PL", 1.0, {"google_ads": 1.0})
    allocation = allocate([only_google], rules({"PL": 50_000}), Pacing(days_left_in_month=30))
    assert allocation.amount("PL", "google_ads") == 50_000
    assert allocation.amount("PL", "meta") == 0


def test_monthly_pacing_lowers_the_daily_amount() -> None:
    limits = rules({"PL": 10_000}, budget=10_000)
    spent = limits.monthly_ceiling("PL") - 20_000  # 20,000 left for 4 days
    allocation = allocate([demand("PL", 1)], limits, Pacing(4, {"PL": spent}))
    assert allocation.country_amounts["PL"] == 5_000
    assert "monthly ceiling" in allocation.bounds["PL"].why_high


def test_day_to_day_change_is_limited() -> None:
    limits = rules({"PL": 100_000, "DE": 100_000}, budget=100_000, change="0.25")
    allocation = allocate(
        [demand("PL", 0.9), demand("DE", 0.1)], limits, Pacing(30), {"PL": 50_000, "DE": 50_000}
    )
    assert allocation.country_amounts == {"DE": 37_500, "PL": 62_500}


def test_cheaper_signposting_attracts_more_money() -> None:
    limits = rules({"PL": 100_000, "DE": 100_000}, budget=100_000)
    allocation = allocate([demand("PL", 0.5, cost=100), demand("DE", 0.5, cost=400)], limits, Pacing(30))
    assert allocation.country_amounts["PL"] > allocation.country_amounts["DE"]


def test_floors_above_the_budget_are_refused() -> None:
    with pytest.raises(AllocationError, match="floors"):
        allocate(
            [demand("PL", 1), demand("DE", 1)],
            rules({"PL": 9, "DE": 9}, {"PL": 6, "DE": 6}, budget=10),
            Pacing(30),
        )


def test_money_conversions_round_down_to_the_billable_unit() -> None:
    assert to_minor(Decimal("120.019"), "EUR") == 12_001
    assert minor_to_micros(12_001, "EUR") == 120_010_000
    with pytest.raises(AllocationError):
        to_minor(Decimal(1), "XXX")


def _budget_op(key: str, country: str, micros: int) -> object:
    from safepassage.domain.push import PlanOperation

    return PlanOperation(
        action="update",
        kind="campaign_budget",
        key=key,
        country=country,
        resource_name="customers/1/campaignBudgets/9",
        fields={"amount_micros": micros},
        update_mask=("amount_micros",),
    )


def test_budget_guard_refuses_anything_over_a_cap_whatever_the_plan_says() -> None:
    from safepassage.domain.budgets import BudgetCapExceeded, BudgetGuard

    guard = BudgetGuard({"PL": 300_000_000, "DE": 100_000_000}, 350_000_000)
    guard.check([_budget_op("SP|PL|budget", "PL", 300_000_000)])
    refusals = [
        [_budget_op("SP|PL|budget", "PL", 300_010_000)],  # one cent over the country cap
        [_budget_op("SP|DE|budget", "PL", 200_000_000)],  # a DE budget disguised as PL
        [_budget_op("SP|XX|budget", "XX", 10_000)],  # no cap known
        [_budget_op("SP|PL|budget", "PL", 1_234_567)],  # not a whole cent
        [
            _budget_op("SP|PL|budget", "PL", 300_000_000),
            _budget_op("SP|DE|budget", "DE", 100_000_000),
        ],  # > global
    ]
    for operations in refusals:
        with pytest.raises(BudgetCapExceeded):
            guard.check(operations)


@st.composite
def same_day_reallocations(
    draw: st.DrawFn,
) -> tuple[list[CountryDemand], list[CountryDemand], AllocationRules, dict[str, int]]:
    """Yesterday's amounts and two targetings of one day; no floor or cap inside the change limit."""
    codes = CODES[: draw(st.integers(2, len(CODES)))]
    budget = draw(st.integers(10_000, 300_000))
    limits = rules(
        {c: budget for c in codes},
        budget=budget,
        global_cap=budget,
        change=draw(st.sampled_from(["0.1", "0.25"])),
    )
    yesterday_weights = {c: draw(st.integers(1, 1_000)) for c in codes}
    yesterday = {c: budget * w // sum(yesterday_weights.values()) for c, w in yesterday_weights.items()}

    def targeting() -> list[CountryDemand]:
        return [demand(c, draw(st.floats(1e-3, 1e3))) for c in codes]

    return targeting(), targeting(), limits, yesterday


def within_limit(amount: int, reference: int, share: Decimal) -> bool:
    return reference * (1 - share) - 1 <= amount <= reference * (1 + share) + 1


@PROPERTY
@given(same_day_reallocations())
def test_two_allocations_on_one_day_never_move_a_budget_beyond_the_change_limit(scenario) -> None:  # type: ignore[no-untyped-def]
    first_targeting, second_targeting, limits, yesterday = scenario
    pacing = Pacing(days_left_in_month=1)
    first = allocate(first_targeting, limits, pacing, previous=yesterday, current=yesterday)
    second = allocate(second_targeting, limits, pacing, previous=yesterday, current=first.country_amounts)
    share = limits.max_daily_change_share
    for code, amount in second.country_amounts.items():
        if yesterday[code] > 0:
            assert within_limit(amount, yesterday[code], share), (code, yesterday[code], amount)
        if first.country_amounts[code] > 0:
            assert within_limit(amount, first.country_amounts[code], share), (
                code,
                first.country_amounts[code],
                amount,
            )
