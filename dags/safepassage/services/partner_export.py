"""The partner export: aggregates by country and month for law-enforcement, NGO and financial-
institution partners, small cells withheld (with complementary suppression), a data dictionary
beside the file.

Nothing finer than country × month leaves: no ad, campaign or account identifiers, no person.
Each metric is its own country × month table with row, column and grand totals; counts from 1 to
threshold - 1 are withheld, and so are enough other cells that none can be worked out again.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safepassage.domain.impact import TOTAL, Period, Slice, SuppressedTable, suppress_small_cells
from safepassage.services.impact import load_reporting_settings
from safepassage.services.ports import Warehouse

COLUMNS = ("country", "month", "metric", "value", "status", "source")
PLATFORM_METRICS = {
    "impressions": "times an ad was shown",
    "clicks": "clicks to a landing page",
    "signposting_clicks": "clicks on a support organisation's link or helpline",
    "app_download_clicks": "clicks to download the STOP APP",
}
OUTCOME_METRIC = "people_signposted_to_safety"


@dataclass(frozen=True)
class WrittenExport:
    path: Path
    dictionary: Path
    records: int
    withheld: int
    threshold: int

    def summary(self) -> str:
        return (
            f"Partner export: {self.path} ({self.records} records, {self.withheld} withheld: counts below "
            f"{self.threshold} and their complements)\nData dictionary: {self.dictionary}"
        )


def metric_tables(warehouse: Warehouse, period: Period) -> dict[str, dict[tuple[str, str], int]]:
    """metric -> {(country, YYYY-MM): count} over the period (the whole campaign)."""
    tables: dict[str, dict[tuple[str, str], int]] = {
        metric: {} for metric in (*PLATFORM_METRICS, OUTCOME_METRIC)
    }
    for (country, day), traffic in warehouse.impact.traffic_by(period, Slice(), ("country", "date")).items():
        month = _month(day)
        for metric in PLATFORM_METRICS:
            cell = (str(country), month)
            tables[metric][cell] = tables[metric].get(cell, 0) + int(getattr(traffic, metric))
    for (country, month), count in warehouse.impact.outcomes_by(
        period, Slice(), ("country", "month")
    ).items():
        tables[OUTCOME_METRIC][(str(country), _month(month))] = count
    return tables


def _month(day: dt.date) -> str:
    return day.strftime("%Y-%m")


def suppressed_tables(
    tables: Mapping[str, Mapping[tuple[str, str], int]], period: Period, threshold: int
) -> dict[str, SuppressedTable]:
    months = [_month(month) for month in period.months()]
    countries = sorted({country for table in tables.values() for country, _ in table})
    return {
        metric: suppress_small_cells(table, countries, months, threshold) for metric, table in tables.items()
    }


def export_records(tables: Mapping[str, SuppressedTable], simulated: bool) -> list[dict[str, Any]]:
    platform_source = "simulated platform figure" if simulated else "platform-reported"
    records = []
    for metric, table in tables.items():
        source = "partner-reported" if metric == OUTCOME_METRIC else platform_source
        for (country, month), value in sorted(table.published().items()):
            records.append(
                {
                    "country": country,
                    "month": month,
                    "metric": metric,
                    "value": value,
                    "status": "withheld" if value is None else "published",
                    "source": source,
                }
            )
    return records


def export_for_partners(
    warehouse: Warehouse, period: Period, out: Path, export_format: str = "csv", threshold: int | None = None
) -> WrittenExport:
    reporting = load_reporting_settings()
    threshold = threshold or reporting.small_cell_threshold
    tables = suppressed_tables(metric_tables(warehouse, period), period, threshold)
    records = export_records(tables, reporting.platform_figures_simulated)
    out.parent.mkdir(parents=True, exist_ok=True)
    if export_format == "json":
        document = {
            "dataset": "SafePassage partner export",
            "period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
            "small_cell_threshold": threshold,
            "platform_figures_simulated": reporting.platform_figures_simulated,
            "records": records,
        }
        out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    elif export_format == "csv":
        with out.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows({**r, "value": "" if r["value"] is None else r["value"]} for r in records)
    else:
        raise ValueError(f"unknown export format {export_format!r} (csv or json)")
    dictionary = out.with_name(f"{out.stem}.dictionary.md")
    dictionary.write_text(data_dictionary(period, threshold, reporting.platform_figures_simulated, out.name))
    withheld = sum(1 for r in records if r["status"] == "withheld")
    return WrittenExport(out, dictionary, len(records), withheld, threshold)


def data_dictionary(period: Period, threshold: int, simulated: bool, file_name: str) -> str:
    metrics = "\n".join(
        f"| `{name}` | {text} | {'simulated' if simulated else 'platform-reported'} |"
        for name, text in PLATFORM_METRICS.items()
    )
    return f"""# Data dictionary: {file_name}

SafePassage partner export for {period}: aggregate counts by country and calendar month, for
law-enforcement, NGO and financial-institution partners. One record per country × month × metric,
plus totals. No identifier of any person, ad, campaign or account is included.

## Columns

| column | meaning |
|---|---|
| `country` | ISO 3166-1 alpha-2 code of the country the ad was shown in; `{TOTAL}` = all countries |
| `month` | calendar month, `YYYY-MM`; `{TOTAL}` = the whole period (months the period touches) |
| `metric` | what is counted (below) |
| `value` | the count; empty (CSV) or null (JSON) when withheld |
| `status` | `published`, or `withheld` to protect small numbers |
| `source` | where the figure comes from |

## Metrics

| metric | counts | source |
|---|---|---|
{metrics}
| `{OUTCOME_METRIC}` | people the partners report they helped to safety after the campaign's signposting \
| partner-reported |

## Small cells

Counts from 1 to {threshold - 1} are withheld (the threshold is `small_cell_threshold` in
config/reporting.yaml), in cells and in totals alike. Further cells are withheld as complements
until no withheld value can be worked out from the published cells and the row, column and grand
totals (checked with exact linear algebra). Zero is published: it discloses no one.

People reached is not in this export: platforms report reach per period, not per month, and
reach is not additive across months or countries.
"""
