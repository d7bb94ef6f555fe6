"""Impact figures for any period and slice: the one computation the report, the dashboard inside
Airflow, the partner export and the intelligence products all read.

People reached is the platform-reported unique reach for the period's window (never a sum of
daily reach); across platforms it is a range. People signposted to safety is partner-reported.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from safepassage import settings
from safepassage.adapters.files import load_document
from safepassage.domain.errors import InvalidInput
from safepassage.domain.impact import (
    HEADLINE_LABELS,
    Benchmark,
    Period,
    ReachFigure,
    ReachRange,
    ReportingSettings,
    Slice,
    Traffic,
    cost_per_click,
    mobile_share,
    per_platform_reach,
    percent,
    reach_range,
)
from safepassage.services.ports import Warehouse

REPORTING_FILE = "reporting.yaml"
BREAKDOWNS = ("country", "language", "platform", "placement", "device", "theme")


def load_reporting_settings(config_dir: Path | None = None) -> ReportingSettings:
    directory = Path(config_dir or settings.config_dir())
    document = load_document(directory / REPORTING_FILE, display_name=f"config/{REPORTING_FILE}")
    try:
        return ReportingSettings.model_validate(document.data)
    except ValidationError as error:
        raise InvalidInput(document.problems_from(error)) from None


@dataclass(frozen=True)
class TimelineEntry:
    when: dt.date
    kind: str  # judgement | targeting | plan
    reference: str
    what: str
    who: str


@dataclass
class ImpactFigures:
    period: Period
    part: Slice
    simulated: bool
    traffic: Traffic
    reach: ReachRange
    reach_by_platform: dict[str, ReachRange]
    reach_by_country: dict[str, ReachRange]
    breakdowns: dict[str, dict[str, Traffic]]
    by_month: dict[dt.date, Traffic]
    clicks_by_device: dict[str, int]
    signposting_by_organisation: dict[str, int]
    outcomes_by_organisation: dict[str, int]
    outcomes_by_country: dict[str, int]
    outcomes_by_month: dict[dt.date, int]
    outcomes_basis: tuple[str, ...]
    outcomes_apply: bool
    timeline: list[TimelineEntry] = field(default_factory=list)

    @property
    def countries(self) -> list[str]:
        return sorted(code for code, t in self.breakdowns["country"].items() if t.impressions > 0)

    @property
    def languages(self) -> list[str]:
        return sorted(code for code, t in self.breakdowns["language"].items() if t.impressions > 0)

    @property
    def organisations(self) -> list[str]:
        return sorted(org for org, clicks in self.signposting_by_organisation.items() if clicks > 0)

    @property
    def mobile_share(self) -> Fraction | None:
        return mobile_share(self.clicks_by_device)

    @property
    def cost_per_signposting_click(self) -> dict[str, Decimal]:
        return cost_per_click(self.traffic.cost_minor, self.traffic.signposting_clicks)

    @property
    def people_signposted_to_safety(self) -> int | None:
        return sum(self.outcomes_by_organisation.values()) if self.outcomes_apply else None

    def headline(self) -> dict[str, Any]:
        """The brief's figures, computed: what the demo prints and the report leads with."""
        return {
            "people_reached": self.reach.text(),
            "countries": len(self.countries),
            "languages": len(self.languages),
            "organisations": len(self.organisations),
            "mobile_share": percent(self.mobile_share),
            "app_download_clicks": self.traffic.app_download_clicks,
            "people_signposted_to_safety": self.people_signposted_to_safety,
        }

    def headline_rows(self, benchmark: Benchmark | None = None) -> list[tuple[str, str, str]]:
        """(figure, as published in `benchmark` or "", this report) per headline figure."""
        published = {figure.key: figure.published_text for figure in benchmark.figures} if benchmark else {}
        return [
            (
                HEADLINE_LABELS[key],
                published.get(key, ""),
                "—" if value is None else f"{value:,}" if isinstance(value, int) else str(value),
            )
            for key, value in self.headline().items()
            if benchmark is None or key in published
        ]


def compute_impact(
    warehouse: Warehouse, period: Period, part: Slice | None = None, simulated: bool | None = None
) -> ImpactFigures:
    part = part or Slice()
    if simulated is None:
        simulated = load_reporting_settings().platform_figures_simulated
    traffic = warehouse.impact.traffic_by(period, part).get((), Traffic())
    breakdowns = {
        name: {
            str(key[0]): value for key, value in warehouse.impact.traffic_by(period, part, (name,)).items()
        }
        for name in BREAKDOWNS
    }
    by_month: dict[dt.date, Traffic] = {}
    for (day,), value in warehouse.impact.traffic_by(period, part, ("date",)).items():
        month = day.replace(day=1)
        by_month[month] = by_month[month] + value if month in by_month else value
    by_country: dict[str, list[ReachFigure]] = {}
    if part.only_reach_dimensions():
        figures = warehouse.impact.reach_figures(period, part)
        note = "" if figures else _missing_reach_note(warehouse, period)
        for figure in warehouse.impact.reach_figures(period, part, per_country=True):
            by_country.setdefault(figure.country, []).append(figure)
    else:
        figures, note = [], "platforms report reach per account and country only, not for this slice"
    # Outcomes are counted by partners per organisation, country and month: other slices cannot apply.
    outcomes_apply = not (part.languages or part.platforms or part.placements or part.themes or part.devices)
    outcomes = (
        warehouse.impact.outcomes_by(period, part, ("organisation", "country", "month", "basis"))
        if outcomes_apply
        else {}
    )
    by_org: dict[str, int] = {}
    outcomes_by_country: dict[str, int] = {}
    by_outcome_month: dict[dt.date, int] = {}
    for (org, country, month, _basis), count in outcomes.items():
        by_org[org] = by_org.get(org, 0) + count
        outcomes_by_country[country] = outcomes_by_country.get(country, 0) + count
        by_outcome_month[month] = by_outcome_month.get(month, 0) + count
    return ImpactFigures(
        period=period,
        part=part,
        simulated=simulated,
        traffic=traffic,
        reach=reach_range(figures, note),
        reach_by_platform=per_platform_reach(figures),
        reach_by_country={country: reach_range(found) for country, found in sorted(by_country.items())},
        breakdowns=breakdowns,
        by_month=dict(sorted(by_month.items())),
        clicks_by_device={device: t.clicks for device, t in breakdowns["device"].items()},
        signposting_by_organisation={
            org: n for (org,), n in warehouse.impact.signposting_by(period, part).items()
        },
        outcomes_by_organisation=by_org,
        outcomes_by_country=outcomes_by_country,
        outcomes_by_month=dict(sorted(by_outcome_month.items())),
        outcomes_basis=tuple(sorted({basis for (_o, _c, _m, basis) in outcomes})),
        outcomes_apply=outcomes_apply,
        timeline=intelligence_timeline(warehouse, period),
    )


def _missing_reach_note(warehouse: Warehouse, period: Period) -> str:
    windows = warehouse.impact.reach_windows()[:3]
    if not windows:
        return "no platform-reported reach yet (pull_performance stores it)"
    shown = ", ".join(f"{start} – {end}" for start, end in windows)
    return f"reach is reported per window; none matches {period} exactly (available: {shown})"


def intelligence_timeline(warehouse: Warehouse, period: Period) -> list[TimelineEntry]:
    """Which judgement changed what, when, and who approved the resulting pushes.

    Snapshots are dated by the judgement they come from (a replay stores 2022 judgements today);
    each push plan belongs to the newest snapshot stored at or before it.
    """
    entries: list[TimelineEntry] = []
    for row in warehouse.impact.judgement_rows():
        if row["valid_until"] < period.start or row["valid_from"] > period.end:
            continue
        document = row["document"]
        entries.append(
            TimelineEntry(
                row["valid_from"],
                "judgement",
                row["id"],
                f"{document.get('title', '')} (in force {row['valid_from']} – {row['valid_until']}, "
                f"confidence {document.get('confidence', '?')}, "
                f"{len(document.get('countries', {}))} countries assessed)",
                str(document.get("analyst", "")),
            )
        )
    snapshots = warehouse.impact.snapshot_rows()
    plans_of: dict[int, list[dict[str, Any]]] = {}
    for plan in warehouse.impact.plan_rows():
        made_before = [s for s in snapshots if s["created_at"] <= plan["created_at"]]
        if made_before:
            plans_of.setdefault(made_before[-1]["id"], []).append(plan)
    for snapshot in snapshots:
        if not period.start <= snapshot["valid_from"] <= period.end:
            continue
        diff = snapshot["diff"]
        changed = [row["country"] for row in diff.get("countries", []) if row.get("changed")]
        added = ", ".join(diff.get("countries_added", [])) or "none"
        removed = ", ".join(diff.get("countries_removed", [])) or "none"
        shown = f" ({', '.join(changed[:8])}{'…' if len(changed) > 8 else ''})" if changed else ""
        what = (
            f"targeting from {snapshot['judgement_id']}: countries added {added}, removed {removed}; "
            f"{len(changed)} countries changed{shown}"
        )
        entries.append(
            TimelineEntry(
                snapshot["valid_from"], "targeting", f"snapshot {snapshot['id']}", what, "refresh_targeting"
            )
        )
        for plan in plans_of.get(snapshot["id"], []):
            counts = (
                ", ".join(f"{n} {action}" for action, n in sorted(plan["counts"].items())) or "no changes"
            )
            if plan["decided_by"]:
                who = f"{plan['decided_by']}" + (
                    f": {plan['decision_note']}" if plan["decision_note"] else ""
                )
            else:
                who = "no review needed (within thresholds)"
            reasons = "; ".join(plan["approval_reasons"])
            entries.append(
                TimelineEntry(
                    snapshot["valid_from"],
                    "plan",
                    f"plan {plan['id']} ({plan['platform']})",
                    f"{counts} → {plan['status']}" + (f" (review: {reasons})" if reasons else ""),
                    who,
                )
            )
    order = {"judgement": 0, "targeting": 1, "plan": 2}
    return sorted(entries, key=lambda e: (e.when, order[e.kind]))
