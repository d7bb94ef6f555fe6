"""Impact figures: the maths and the rules behind the report, the dashboard and the partner export.

Pure functions over numbers the warehouse queries return:

* reach is what a platform reports for one window; reach is not additive, so people reached across
  platforms (or accounts, or countries: people on the move cross borders) is a *range*: at least
  the largest single figure, at most their sum. Never a sum of daily reach.
* shares and costs are ratios of additive facts (clicks, spend), computed once here.
* small-cell suppression with complementary suppression for anything that leaves the organisation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from pydantic import BaseModel, ConfigDict, Field

SLICE_DIMENSIONS = ("country", "language", "platform", "placement", "theme", "organisation", "device")


@dataclass(frozen=True)
class Period:
    """Inclusive date range [start, end]."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"the period ends ({self.end}) before it starts ({self.start})")

    def months(self) -> list[dt.date]:
        """First day of every calendar month the period touches."""
        months: list[dt.date] = []
        month = self.start.replace(day=1)
        while month <= self.end:
            months.append(month)
            month = (month + dt.timedelta(days=32)).replace(day=1)
        return months

    def __str__(self) -> str:
        return f"{self.start.isoformat()} – {self.end.isoformat()}"


@dataclass(frozen=True)
class Slice:
    """Which part of the campaign a figure covers; an empty tuple means "all"."""

    countries: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    placements: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    organisations: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()

    @classmethod
    def of(cls, **values: Iterable[str] | str | None) -> Slice:
        """Build from loose input (a comma-separated string, a list, None)."""
        cleaned: dict[str, tuple[str, ...]] = {}
        for name, value in values.items():
            if name not in cls.__dataclass_fields__:
                raise ValueError(f"unknown slice {name!r} (one of {', '.join(cls.__dataclass_fields__)})")
            items = value.split(",") if isinstance(value, str) else list(value or ())
            cleaned[name] = tuple(sorted({item.strip() for item in items if item and item.strip()}))
        return cls(**cleaned)

    @property
    def is_everything(self) -> bool:
        return not any(getattr(self, name) for name in self.__dataclass_fields__)

    def describe(self) -> str:
        parts = [
            f"{name}: {', '.join(getattr(self, name))}"
            for name in self.__dataclass_fields__
            if getattr(self, name)
        ]
        return "; ".join(parts) or "the whole campaign"

    def only_reach_dimensions(self) -> bool:
        """Platforms report reach per account and per country; other slices have no reach figure."""
        return not (self.languages or self.placements or self.themes or self.organisations or self.devices)


@dataclass(frozen=True)
class ReachFigure:
    """One platform-reported unique reach for one window (account or campaign, country or ALL)."""

    platform: str
    account: str
    scope: str
    country: str
    reach: int


@dataclass(frozen=True)
class ReachRange:
    """People reached: exact when one figure covers the slice, else [largest figure, sum of figures]."""

    low: int | None
    high: int | None
    figures: tuple[ReachFigure, ...] = ()
    note: str = ""

    @property
    def exact(self) -> bool:
        return self.low is not None and self.low == self.high

    def text(self) -> str:
        if self.low is None or self.high is None:
            return "not available"
        if self.exact:
            return f"{self.low:,}"
        return f"{self.low:,} – {self.high:,}"


def reach_range(figures: Sequence[ReachFigure], note: str = "") -> ReachRange:
    """Reach across figures that may overlap (the same person on two platforms or in two countries).

    The true number of people lies between the largest figure (everyone else was also reached
    there) and the sum (nobody was reached twice); the platforms cannot tell which.
    """
    if not figures:
        return ReachRange(None, None, (), note or "no platform-reported reach for this window")
    values = [figure.reach for figure in figures]
    return ReachRange(max(values), sum(values), tuple(figures), note)


def per_platform_reach(figures: Sequence[ReachFigure]) -> dict[str, ReachRange]:
    by_platform: dict[str, list[ReachFigure]] = {}
    for figure in figures:
        by_platform.setdefault(figure.platform, []).append(figure)
    return {platform: reach_range(found) for platform, found in sorted(by_platform.items())}


@dataclass(frozen=True)
class Traffic:
    """Additive facts summed over a slice and period."""

    impressions: int = 0
    clicks: int = 0
    signposting_clicks: int = 0
    app_download_clicks: int = 0
    cost_minor: Mapping[str, int] = field(default_factory=dict)  # currency -> minor units

    def __add__(self, other: Traffic) -> Traffic:
        cost = dict(self.cost_minor)
        for currency, amount in other.cost_minor.items():
            cost[currency] = cost.get(currency, 0) + amount
        return Traffic(
            self.impressions + other.impressions,
            self.clicks + other.clicks,
            self.signposting_clicks + other.signposting_clicks,
            self.app_download_clicks + other.app_download_clicks,
            cost,
        )


def share(part: int, whole: int) -> Fraction | None:
    return Fraction(part, whole) if whole else None


def is_mobile(device: str) -> bool:
    """Google Ads reports MOBILE (tablets apart), Meta mobile_app / mobile_web, the sandbox mobile."""
    return device.lower().startswith("mobile")


def mobile_share(clicks_by_device: Mapping[str, int]) -> Fraction | None:
    """Share of campaign traffic (clicks to a landing page) that came from mobile devices."""
    mobile = sum(count for device, count in clicks_by_device.items() if is_mobile(device))
    return share(mobile, sum(clicks_by_device.values()))


def cost_per_click(cost_minor: Mapping[str, int], clicks: int, exponent: int = 2) -> dict[str, Decimal]:
    """Cost per click in major units per currency, rounded half-up to the minor unit; {} without clicks."""
    if not clicks:
        return {}
    quantum = Decimal(1).scaleb(-exponent)
    return {
        currency: (Decimal(amount) / clicks / (10**exponent)).quantize(quantum, rounding=ROUND_HALF_UP)
        for currency, amount in sorted(cost_minor.items())
    }


def money(cost_minor: Mapping[str, int], exponent: int = 2) -> str:
    if not cost_minor:
        return "—"
    return " + ".join(
        f"{Decimal(amount).scaleb(-exponent):,.{exponent}f} {currency}"
        for currency, amount in sorted(cost_minor.items())
    )


def percent(value: Fraction | None, digits: int = 0) -> str:
    return "—" if value is None else f"{float(value):.{digits}%}"


# --- published figures to compare with ---------------------------------------------------------


HEADLINE_LABELS = {  # ImpactFigures.headline()'s keys, as a reader sees them
    "people_reached": "people reached",
    "countries": "countries",
    "languages": "languages",
    "organisations": "support organisations signposted",
    "mobile_share": "traffic from mobile devices",
    "app_download_clicks": "app-download clicks",
    "people_signposted_to_safety": "people signposted to safety",
}


@dataclass(frozen=True)
class PublishedFigure:
    """One headline figure as an organisation published it (e.g. "over 4 million" people reached)."""

    key: str  # a key of HEADLINE_LABELS
    published_text: str


@dataclass(frozen=True)
class Benchmark:
    """Figures a report is set beside (e.g. the 2022 impact report for the 2022 replay). Reports have
    none unless their caller passes one: the product knows no particular campaign's figures."""

    title: str  # e.g. "2022 impact report"
    note: str  # where the figures come from and what period they cover
    figures: tuple[PublishedFigure, ...]


# --- small-cell suppression -------------------------------------------------------------------

Cell = tuple[str, str]  # (row, column)
TOTAL = "ALL"


@dataclass(frozen=True)
class SuppressedTable:
    """A rows × columns table of counts with its row, column and grand totals, some items withheld.

    Items are keyed (row, column); row totals are (row, ALL), column totals (ALL, column) and the
    grand total (ALL, ALL). `withheld` lists every item not published.
    """

    values: Mapping[Cell, int]
    withheld: frozenset[Cell]
    primary: frozenset[Cell]

    def published(self) -> dict[Cell, int | None]:
        return {cell: None if cell in self.withheld else value for cell, value in self.values.items()}


def with_totals(cells: Mapping[Cell, int], rows: Sequence[str], columns: Sequence[str]) -> dict[Cell, int]:
    table = {(r, c): int(cells.get((r, c), 0)) for r in rows for c in columns}
    for r in rows:
        table[(r, TOTAL)] = sum(table[(r, c)] for c in columns)
    for c in columns:
        table[(TOTAL, c)] = sum(table[(r, c)] for r in rows)
    table[(TOTAL, TOTAL)] = sum(table[(r, TOTAL)] for r in rows)
    return table


def table_equations(rows: Sequence[str], columns: Sequence[str]) -> list[dict[Cell, int]]:
    """Each published total as a linear equation over the items: sum(parts) - total = 0."""
    equations: list[dict[Cell, int]] = []
    for r in rows:
        equations.append({**{(r, c): 1 for c in columns}, (r, TOTAL): -1})
    for c in columns:
        equations.append({**{(r, c): 1 for r in rows}, (TOTAL, c): -1})
    equations.append({**{(r, TOTAL): 1 for r in rows}, (TOTAL, TOTAL): -1})
    equations.append({**{(TOTAL, c): 1 for c in columns}, (TOTAL, TOTAL): -1})
    return equations


def recoverable(withheld: Iterable[Cell], equations: Sequence[Mapping[Cell, int]]) -> set[Cell]:
    """Withheld items whose value follows exactly from the published ones and the totals' equations.

    Item i is determined iff the unit vector e_i lies in the row space of the equations restricted
    to the withheld items; in reduced row echelon form that means the row with its pivot at i has
    no other non-zero entry. Exact arithmetic (fractions), so no rounding ever hides a disclosure.
    """
    unknowns = sorted(set(withheld))
    index = {cell: i for i, cell in enumerate(unknowns)}
    matrix = [[Fraction(0)] * len(unknowns) for _ in equations]
    for row, equation in zip(matrix, equations, strict=True):
        for cell, coefficient in equation.items():
            if cell in index:
                row[index[cell]] = Fraction(coefficient)
    pivots: list[tuple[int, int]] = []
    top = 0
    for column in range(len(unknowns)):
        pivot = next((r for r in range(top, len(matrix)) if matrix[r][column] != 0), None)
        if pivot is None:
            continue
        matrix[top], matrix[pivot] = matrix[pivot], matrix[top]
        lead = matrix[top][column]
        matrix[top] = [value / lead for value in matrix[top]]
        for r in range(len(matrix)):
            if r != top and matrix[r][column] != 0:
                factor = matrix[r][column]
                matrix[r] = [a - factor * b for a, b in zip(matrix[r], matrix[top], strict=True)]
        pivots.append((top, column))
        top += 1
    return {
        unknowns[column]
        for r, column in pivots
        if all(value == 0 for j, value in enumerate(matrix[r]) if j != column)
    }


def suppress_small_cells(
    cells: Mapping[Cell, int], rows: Sequence[str], columns: Sequence[str], threshold: int
) -> SuppressedTable:
    """Withhold every count in 1..threshold-1 (cells and totals), then complementary items until no
    withheld count can be worked out from what is published and the row, column and grand totals.

    Complements are the smallest non-zero published item in the same row or column (least
    information lost); a total is withheld only when its row or column has nothing else to give.
    """
    table = with_totals(cells, rows, columns)
    primary = {cell for cell, value in table.items() if 0 < value < threshold}
    withheld = set(primary)
    equations = table_equations(rows, columns)
    while True:
        exposed = sorted(recoverable(withheld, equations))
        if not exposed:
            break
        # Hide an exposed item behind a same-row/column item where one is still open; only when
        # none is, withhold a total (a table of one row or column has nothing else to give).
        complement = next(
            (
                found
                for cell in exposed
                if (found := _complement_for(cell, table, withheld, rows, columns, False))
            ),
            None,
        ) or _complement_for(exposed[0], table, withheld, rows, columns, True)
        if complement is None:  # everything is withheld
            break
        withheld.add(complement)
    return SuppressedTable(table, frozenset(withheld), frozenset(primary))


def _complement_for(
    cell: Cell,
    table: Mapping[Cell, int],
    withheld: set[Cell],
    rows: Sequence[str],
    columns: Sequence[str],
    allow_fallback: bool,
) -> Cell | None:
    r, c = cell
    if TOTAL not in cell:
        candidates = [(r, other) for other in columns] + [(other, c) for other in rows]
        fallback = [(r, TOTAL), (TOTAL, c)]
    elif r == TOTAL and c == TOTAL:
        candidates, fallback = [(other, TOTAL) for other in rows], [(TOTAL, other) for other in columns]
    elif c == TOTAL:  # a row total
        candidates = [(other, TOTAL) for other in rows] + [(r, other) for other in columns]
        fallback = [(TOTAL, TOTAL)]
    else:  # a column total
        candidates = [(TOTAL, other) for other in columns] + [(other, c) for other in rows]
        fallback = [(TOTAL, TOTAL)]

    def smallest(items: Iterable[Cell]) -> Cell | None:
        open_items = [item for item in items if item not in withheld and item != cell]
        return min(open_items, key=lambda item: (table[item] == 0, table[item], item)) if open_items else None

    if not allow_fallback:
        return smallest(candidates)
    # Last resort: any published item (with everything withheld nothing can be worked out).
    return smallest(candidates) or smallest(fallback) or smallest(table)


class ReportingSettings(BaseModel):
    """config/reporting.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    small_cell_threshold: int = Field(ge=2, le=100, description="counts 1..threshold-1 are withheld")
    platform_figures_simulated: bool = Field(description="label every platform figure 'simulated'")
    top_organisations: int = Field(default=10, ge=1, le=50)
