"""The day a run works for: its own day, or the `as_of` param when replaying (e.g. 2022)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import Param


def as_of_param(what: str) -> Param:
    return Param(
        None,
        type=["null", "string"],
        format="date",
        title=f"{what} for day (YYYY-MM-DD)",
        description="Leave empty for the run's own day; set a past date (e.g. 2022-05-01) to replay it.",
    )


def run_day(context: Any) -> dt.date:
    as_of = context["params"].get("as_of")
    return dt.date.fromisoformat(as_of) if as_of else context["dag_run"].run_after.date()
