"""Pure impact maths: reach ranges, shares, costs, and small-cell suppression (hand-worked and
property-tested: no withheld count can be recovered from the published cells and totals)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from safepassage.domain.impact import (
    TOTAL,
    ReachFigure,
    cost_per_click,
    mobile_share,
    reach_range,
    recoverable,
    suppress_small_cells,
    table_equations,
)
from tests.tiers import examples


def test_reach_across_overlapping_platforms_is_a_range() -> None:
    google = ReachFigure("google_ads", "1", "account", "ALL", 1500)
    meta = ReachFigure("meta", "2", "account", "ALL", 2500)
    both = reach_range([google, meta])
    assert (both.low, both.high) == (2500, 4000)  # at least the larger, at most the sum
    assert both.text() == "2,500 – 4,000"
    assert reach_range([meta]).exact and reach_range([meta]).text() == "2,500"
    assert reach_range([]).low is None and reach_range([]).text() == "not available"


def test_shares_and_costs() -> None:
    assert mobile_share({"MOBILE": 92, "DESKTOP": 6, "TABLET": 2}) == Fraction(92, 100)
    assert mobile_share({"mobile_app": 3, "mobile_web": 1, "desktop": 4}) == Fraction(1, 2)
    assert mobile_share({}) is None
    assert cost_per_click({"EUR": 15000}, 70) == {"EUR": Decimal("2.14")}
    assert cost_per_click({"EUR": 15000}, 0) == {}


def test_complementary_suppression_by_hand() -> None:
    # signposting counts, threshold 10:      04   05 | total
    #                                  PL     7   30 |   37
    #                                  UA    25   40 |   65
    #                              total     32   70 |  102
    cells = {("PL", "04"): 7, ("PL", "05"): 30, ("UA", "04"): 25, ("UA", "05"): 40}
    table = suppress_small_cells(cells, ["PL", "UA"], ["04", "05"], threshold=10)
    assert table.primary == {("PL", "04")}
    # Withholding only PL/04 gives it away: 37 - 30 = 7. Withholding UA/04 too still does (row PL),
    # so all four cells go; the totals stay published and PL/04 could be anything from 0 to 32.
    assert table.withheld == {("PL", "04"), ("PL", "05"), ("UA", "04"), ("UA", "05")}
    assert table.values[("PL", TOTAL)] == 37 and table.published()[("PL", TOTAL)] == 37
    assert recoverable({("PL", "04")}, table_equations(["PL", "UA"], ["04", "05"])) == {("PL", "04")}


def test_a_single_row_withholds_its_totals_too() -> None:
    # one country, one month of 3: the country total and the month total would be the cell itself
    table = suppress_small_cells({("PL", "04"): 3}, ["PL"], ["04"], threshold=10)
    assert table.withheld == {("PL", "04"), ("PL", TOTAL), (TOTAL, "04"), (TOTAL, TOTAL)}


def _determined_by_rank(table_cells: dict, withheld: set, rows: list[str], columns: list[str]) -> set:
    """Independent check with floating-point ranks: a withheld item is determined when adding its
    unit vector to the equations (restricted to withheld items) does not raise the rank."""
    unknowns = sorted(withheld)
    if not unknowns:
        return set()
    matrix = np.array(
        [[equation.get(cell, 0) for cell in unknowns] for equation in table_equations(rows, columns)],
        dtype=float,
    )
    rank = np.linalg.matrix_rank(matrix)
    found = set()
    for i, cell in enumerate(unknowns):
        unit = np.zeros((1, len(unknowns)))
        unit[0, i] = 1
        if np.linalg.matrix_rank(np.vstack([matrix, unit])) == rank:
            found.add(cell)
    return found


@st.composite
def tables(draw: st.DrawFn) -> tuple[dict, list[str], list[str], int]:
    rows = [f"C{i}" for i in range(draw(st.integers(1, 5)))]
    columns = [f"M{j}" for j in range(draw(st.integers(1, 5)))]
    values = st.one_of(st.just(0), st.integers(1, 12), st.integers(13, 400))
    cells = {(r, c): draw(values) for r in rows for c in columns}
    return cells, rows, columns, draw(st.integers(2, 11))


@settings(max_examples=examples(300), deadline=None)
@given(tables())
def test_no_withheld_count_can_be_recovered(case: tuple[dict, list[str], list[str], int]) -> None:
    cells, rows, columns, threshold = case
    table = suppress_small_cells(cells, rows, columns, threshold)
    published = table.published()
    # every small count (cell or total) is withheld, everything published is the true value
    assert not [v for v in published.values() if v is not None and 0 < v < threshold]
    assert all(value is None or value == table.values[cell] for cell, value in published.items())
    # and none of the withheld ones follows from the published cells and totals
    assert _determined_by_rank(dict(table.values), set(table.withheld), rows, columns) == set()
    assert recoverable(table.withheld, table_equations(rows, columns)) == set()


def test_shipped_partner_outcomes_and_their_schema() -> None:
    from safepassage import settings
    from safepassage.services.campaign_config import load_campaign_config
    from safepassage.services.outcomes import SCHEMA_FILE, outcome_files, read_outcomes, schema_text

    shipped = settings.intelligence_dir() / SCHEMA_FILE
    assert shipped.read_text(encoding="utf-8") == schema_text(), "run: refresh the schema from the model"
    (path,) = outcome_files()
    report = read_outcomes(path, load_campaign_config())
    assert sum(o.people_signposted_to_safety for o in report.outcomes) == 97  # "nearly 100"
    assert report.basis.value == "illustrative"
