"""Property-based tests over the parsers people feed by hand and over the allocator.

Parsers: whatever the bytes, a key judgement or a config file either parses or raises the
project's own InvalidInput, every problem naming its file (and, for a field, its line); never
another exception, never a traceback. A valid judgement survives a round trip through its file.

Allocator: for any input at all, it either refuses with AllocationError or returns amounts that
are non-negative, within every cap (country, total, monthly pacing, day-to-day change), whose
platform lines add up to the cent, and which the independent BudgetGuard accepts after conversion
to Google micros.

Deterministic (derandomize) and bounded, so CI sees the same examples in a few seconds each.
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safepassage import settings as project_settings
from safepassage.domain.budgets import (
    GOOGLE_BILLABLE_MICROS,
    AllocationError,
    AllocationRules,
    BudgetGuard,
    CountryDemand,
    Pacing,
    allocate,
    minor_to_micros,
)
from safepassage.domain.errors import InvalidInput
from safepassage.services import campaign_config
from safepassage.services.campaign_config import CONFIG_FILES, load_campaign_config
from safepassage.services.intelligence import parse_file
from tests.judgement_samples import judgement_text
from tests.tiers import examples

FUZZ = settings(
    max_examples=examples(40),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
SAMPLE = judgement_text()
DISPLAY = "intelligence/fuzzed.yaml"


def assert_located(error: InvalidInput, files: set[str]) -> None:
    assert error.problems, "InvalidInput without a problem"
    for problem in error.problems:
        assert problem.file in files, problem
        assert problem.message.strip(), problem
        if problem.field:  # a field problem always says which line to look at
            assert problem.line is not None and problem.line >= 1, problem


# --- text mutations --------------------------------------------------------------------------

YAML_NOISE = st.sampled_from(
    [":", "- ", "[", "]", "{", "}", "&a ", "*a", "!!python/none", "\t", "\x00", "'", '"', "#", "\n",
     "~", "null", "-1", "1e999", ".nan", "2022-02-30", "9" * 5000, "é", "\ufeff", "%YAML 1.1\n---\n"]
)  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    """`text` cut, spliced with YAML-significant noise, or with one line swapped for another's."""
    lines = text.split("\n")
    kind = draw(st.sampled_from(["truncate", "insert", "delete", "swap_line", "replace_line"]))
    position = draw(st.integers(0, len(text)))
    if kind == "truncate":
        return text[:position]
    if kind == "insert":
        return text[:position] + draw(st.one_of(YAML_NOISE, st.text(max_size=20))) + text[position:]
    if kind == "delete":
        return text[:position] + text[position + draw(st.integers(1, 40)) :]
    index = draw(st.integers(0, len(lines) - 1))
    if kind == "swap_line":
        other = draw(st.integers(0, len(lines) - 1))
        lines[index], lines[other] = lines[other], lines[index]
    else:
        indent = lines[index][: len(lines[index]) - len(lines[index].lstrip())]
        lines[index] = indent + draw(st.one_of(YAML_NOISE, st.text(max_size=30)))
    return "\n".join(lines)


JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.dates().map(dt.date.isoformat),
)
ANY_VALUE = st.recursive(
    JSON_LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


def paths(data: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += paths(value, (*prefix, index))
    return found


@st.composite
def judgement_with_one_wrong_value(draw: st.DrawFn) -> str:
    """The sample judgement with one value (anywhere in the tree) replaced by anything at all."""
    data = yaml.safe_load(SAMPLE)
    path = draw(st.sampled_from(paths(data)[1:]))
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = draw(ANY_VALUE)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


# --- the judgement parser ---------------------------------------------------------------------


def parse_or_refuse(path: Path, text: str) -> None:
    path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    try:
        parse_file(path, DISPLAY)
    except InvalidInput as error:
        assert_located(error, {DISPLAY})


@FUZZ
@given(text=mutated(SAMPLE))
def test_a_mangled_judgement_file_parses_or_names_where_it_is_wrong(tmp_path: Path, text: str) -> None:
    parse_or_refuse(tmp_path / "fuzzed.yaml", text)


@FUZZ
@given(text=judgement_with_one_wrong_value())
def test_any_value_in_any_field_of_a_judgement_parses_or_names_that_field(tmp_path: Path, text: str) -> None:
    parse_or_refuse(tmp_path / "fuzzed.yaml", text)


@settings(FUZZ, max_examples=examples(15))
@given(
    start=st.dates(dt.date(2000, 1, 1), dt.date(2099, 1, 1)),
    days=st.integers(0, 400),
    style=st.sampled_from(["yaml", "json"]),
)
def test_a_valid_judgement_round_trips_through_its_file(
    tmp_path: Path, start: dt.date, days: int, style: str
) -> None:
    original = yaml.safe_load(judgement_text(start, start + dt.timedelta(days=days)))
    path = tmp_path / f"judgement.{style}"
    first = parse_file(path, DISPLAY) if _write(path, original, style) else None
    assert first is not None
    again = tmp_path / f"again.{style}"
    _write(again, first.judgement.model_dump(mode="json", exclude_defaults=True), style)
    assert parse_file(again, DISPLAY).judgement == first.judgement


def _write(path: Path, data: object, style: str) -> bool:
    import json

    text = json.dumps(data, default=str) if style == "json" else yaml.safe_dump(data, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return True


# --- the config parser ------------------------------------------------------------------------

CONFIG_TEXTS = {
    filename: (project_settings.config_dir() / filename).read_text("utf-8")
    for filename, _ in CONFIG_FILES.values()
}


@pytest.fixture(scope="module")
def config_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("config") / "config"
    shutil.copytree(project_settings.config_dir(), folder)
    return folder


@settings(FUZZ, max_examples=examples(15))  # a whole config load is ~0.3 s: fewer, still every file
@given(data=st.data(), filename=st.sampled_from(sorted(CONFIG_TEXTS)))
def test_a_mangled_config_file_loads_or_names_where_it_is_wrong(
    config_copy: Path, data: st.DataObject, filename: str
) -> None:
    text = data.draw(mutated(CONFIG_TEXTS[filename]))
    (config_copy / filename).write_bytes(text.encode("utf-8", errors="surrogatepass"))
    campaign_config.clear_cache()
    try:
        load_campaign_config(config_copy)
    except InvalidInput as error:
        assert_located(error, {f"config/{name}" for name in CONFIG_TEXTS})
    finally:
        (config_copy / filename).write_text(CONFIG_TEXTS[filename], encoding="utf-8")
        campaign_config.clear_cache()


# --- the allocator, for any input ----------------------------------------------------------------

CODES = [f"C{chr(65 + i)}" for i in range(8)]
PLATFORMS = ["google_ads", "meta", "tiktok"]
ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True) | st.floats(-5, 5)


AllocationInputs = tuple[
    list[CountryDemand], AllocationRules, Pacing, dict[str, int] | None, dict[str, int] | None
]


@st.composite
def any_allocation_inputs(draw: st.DrawFn) -> AllocationInputs:
    """No precondition at all: floors above caps and budgets, NaN weights, negative shares…"""
    codes = CODES[: draw(st.integers(0, len(CODES)))]
    money = st.integers(-1_000, 400_000)
    demands = [
        CountryDemand(
            code,
            draw(ANY_FLOAT),
            draw(st.dictionaries(st.sampled_from(PLATFORMS), ANY_FLOAT, max_size=3)),
            draw(st.none() | st.integers(-10, 10_000)),
        )
        for code in codes
    ]
    rules = AllocationRules(
        currency="EUR",
        daily_budget_minor=draw(money),
        global_daily_cap_minor=draw(money),
        country_caps_minor={code: draw(st.integers(0, 80_000)) for code in codes},
        country_floors_minor={code: draw(st.integers(0, 20_000)) for code in codes},
        max_daily_change_share=draw(
            st.sampled_from([Decimal("0"), Decimal("0.1"), Decimal("0.25"), Decimal(1)])
        ),
    )
    pacing = Pacing(
        days_left_in_month=draw(st.integers(1, 31)),
        month_to_date_minor={code: draw(st.integers(0, 3_000_000)) for code in codes},
    )
    reference = st.none() | st.fixed_dictionaries({code: st.integers(0, 80_000) for code in codes})
    return demands, rules, pacing, draw(reference), draw(reference)


ALLOCATOR = settings(max_examples=examples(120), deadline=None, derandomize=True)


@ALLOCATOR
@given(any_allocation_inputs())
def test_for_any_input_the_allocator_refuses_or_keeps_every_cap_and_every_cent(
    inputs: AllocationInputs,
) -> None:
    demands, rules, pacing, previous, current = inputs
    try:
        allocation = allocate(demands, rules, pacing, previous, current)
    except AllocationError as error:
        assert str(error)
        return
    budget = max(0, min(rules.daily_budget_minor, rules.global_daily_cap_minor))
    assert 0 <= allocation.total_minor <= budget
    shares = {d.country: d.platform_shares for d in demands}
    for code, amount in allocation.country_amounts.items():
        assert 0 <= amount <= rules.cap(code), (code, amount)
        spent = pacing.month_to_date_minor.get(code, 0)
        assert spent + amount * pacing.days_left_in_month <= max(rules.monthly_ceiling(code), spent)
        lines = [line for line in allocation.lines if line.country == code]
        assert sum(line.amount_minor for line in lines) == amount  # to the cent
        for line in lines:  # money only to a platform the country may use
            assert line.amount_minor > 0 and shares[code][line.platform] > 0
        if not allocation.notes:  # change limit, unless the floors forced it open (then said so)
            for reference in (previous, current):
                before = (reference or {}).get(code, 0)
                if before > 0 and amount > rules.floor(code):
                    assert amount <= math.floor(before * (1 + rules.max_daily_change_share)), (code, before)
    for platform in {line.platform for line in allocation.lines}:
        assert sum(line.amount_minor for line in allocation.lines if line.platform == platform) <= budget

    # Converted to Google micros (rounded down to the billable cent), the independent guard agrees.
    operations = [
        SimpleNamespace(
            kind="campaign_budget",
            key=f"SP|{line.country}|{line.platform}",
            country=line.country,
            fields={"amount_micros": minor_to_micros(line.amount_minor, rules.currency)},
        )
        for line in allocation.lines
        if line.platform == "google_ads"
    ]
    BudgetGuard.from_caps(
        rules.country_caps_minor, max(0, rules.global_daily_cap_minor), rules.currency
    ).check(operations)
    for operation, line in zip(
        operations, [x for x in allocation.lines if x.platform == "google_ads"], strict=True
    ):
        micros = operation.fields["amount_micros"]
        assert micros % GOOGLE_BILLABLE_MICROS == 0
        assert micros == line.amount_minor * GOOGLE_BILLABLE_MICROS  # whole cents: nothing lost
