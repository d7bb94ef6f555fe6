"""`safepassage report` and `safepassage export`: the impact report and the partner export.

    safepassage report --from 2022-03-25 --to 2022-10-31 --out out/report [--country PL,UA] ...
    safepassage export --from 2022-03-25 --to 2022-10-31 --out out/partners.csv [--format json]

The report is one self-contained HTML page and a PDF of the same content. The export holds
aggregates by country and month only, with small cells withheld (config/reporting.yaml), and a
data dictionary written beside it.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from safepassage.services.ports import Warehouse

SLICE_OPTIONS = (
    ("country", "countries", "ISO codes, comma-separated, e.g. PL,UA"),
    ("language", "languages", "language codes, e.g. uk,ru"),
    ("platform", "platforms", "google_ads, meta"),
    ("placement", "placements", "e.g. search, facebook, instagram"),
    ("theme", "themes", "creative themes, e.g. job_offers"),
    ("organisation", "organisations", "support organisation ids"),
    ("device", "devices", "mobile, tablet, desktop"),
)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _period_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="start", type=_date, required=True, help="first day, YYYY-MM-DD")
    parser.add_argument("--to", dest="end", type=_date, required=True, help="last day (inclusive)")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = subparsers.add_parser("report", help="impact report for a period (HTML and PDF)")
    _period_arguments(report)
    report.add_argument("--out", type=Path, required=True, help="folder to write the report into")
    for option, _, text in SLICE_OPTIONS:
        report.add_argument(f"--{option}", default=None, help=f"only these: {text}")
    report.set_defaults(handler=_report)
    export = subparsers.add_parser(
        "export", help="partner export: aggregates by country and month, small cells withheld"
    )
    _period_arguments(export)
    export.add_argument(
        "--out", type=Path, required=True, help="file to write (a data dictionary goes beside it)"
    )
    export.add_argument("--format", choices=("csv", "json"), default=None, help="default: from the file name")
    export.set_defaults(handler=_export)


def _period(args: argparse.Namespace) -> object:
    from safepassage.commands import UserError
    from safepassage.domain.impact import Period

    try:
        return Period(args.start, args.end)
    except ValueError as error:
        raise UserError(str(error)) from None


class _Written(Protocol):
    def summary(self) -> str: ...


def _write_from_warehouse(write: Callable[[Warehouse], _Written]) -> int:
    """Runs `write` on the warehouse (its schema brought up to date first), then says what it wrote."""
    from safepassage.orchestration.connections import open_warehouse

    warehouse = open_warehouse()
    try:
        warehouse.migrate()
        written = write(warehouse)
    finally:
        warehouse.dispose()
    print(written.summary())
    return 0


def _report(args: argparse.Namespace) -> int:
    from safepassage.domain.impact import Period, Slice
    from safepassage.services.impact_report import make_report

    period = _period(args)
    assert isinstance(period, Period)
    part = Slice.of(**{field: getattr(args, option) for option, field, _ in SLICE_OPTIONS})
    return _write_from_warehouse(lambda warehouse: make_report(warehouse, period, args.out, part))


def _export(args: argparse.Namespace) -> int:
    from safepassage.domain.impact import Period
    from safepassage.services.partner_export import export_for_partners

    period = _period(args)
    assert isinstance(period, Period)
    export_format = args.format or ("json" if args.out.suffix.lower() == ".json" else "csv")
    return _write_from_warehouse(
        lambda warehouse: export_for_partners(warehouse, period, args.out, export_format)
    )
