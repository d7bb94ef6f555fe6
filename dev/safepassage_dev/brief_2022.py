"""The 2022 brief as data of the demo (brief_2022.yaml): the replay's period, the published figures the
demo's report is set beside, and that report."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from safepassage.domain.impact import Benchmark, Period, PublishedFigure
from safepassage.services.impact_report import WrittenReport, make_report

BRIEF_FILE = Path(__file__).with_name("brief_2022.yaml")


@cache
def _document() -> dict[str, Any]:
    return dict(yaml.safe_load(BRIEF_FILE.read_text(encoding="utf-8")))


def replay_period() -> Period:
    replay = _document()["replay"]
    return Period(replay["from"], replay["to"])


def brief_2022() -> Benchmark:
    document = _document()
    return Benchmark(
        title=document["title"],
        note=document["note"],
        figures=tuple(PublishedFigure(key, str(text)) for key, text in document["figures"].items()),
    )


def write_2022_report(warehouse: Any, out_dir: Path, until: dt.date | None = None) -> WrittenReport:
    """The 2022 replay's report (or to `until`, for a shortened replay) beside the brief's figures:
    `print(write_2022_report(warehouse, out_dir).summary())` ends `make demo`."""
    period = replay_period()
    return make_report(warehouse, Period(period.start, until or period.end), out_dir, benchmark=brief_2022())
