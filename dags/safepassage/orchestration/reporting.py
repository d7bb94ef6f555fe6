"""What every `impact_report` task shares: the warehouse and the period the run reports on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def report_run(context: Any) -> Iterator[tuple[Any, Any, Path]]:
    """(warehouse, period, output folder) for the run: `from`/`to` params, else the campaign to date
    (ending on the last day pulled, at most the run's own day)."""
    from safepassage.orchestration.connections import open_warehouse
    from safepassage.services.impact_report import report_period, reports_dir

    params = context["params"]
    to = params.get("to")
    end = dt.date.fromisoformat(to) if to else context["dag_run"].run_after.date()
    warehouse = open_warehouse()
    try:
        period = report_period(warehouse, params.get("from"), end, end_given=bool(to))
        yield warehouse, period, reports_dir(period)
    finally:
        warehouse.dispose()
