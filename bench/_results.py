"""One writer for every benchmark: bench/results/<module>.json is a list with one JSON object per
figure, each carrying its own date, commit and CPU count (issue 15), so a figure copied out of the
file still says where and when it was measured.

    record("push_plan", [figure("planning_first_push_100x", 3.1, "s", aim="linear", scale=100)])

The machine is shared: each figure also carries the 1-minute load average at the time it was
written, which explains wall-clock figures that move between runs.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).with_name("results")
ROOT = Path(__file__).resolve().parent.parent
# Key suffix → unit, for benchmarks that build nested dicts of figures (`flatten`).
UNIT_SUFFIXES = (
    ("_rows_per_s", "rows/s"),
    ("_calls_per_second", "calls/s"),
    ("_per_second", "1/s"),
    ("_seconds", "s"),
    ("_s", "s"),
    ("_mib", "MiB"),
    ("_ms", "ms"),
    ("_eur", "EUR"),
)


def figure(name: str, value: Any, unit: str, aim: str | None = None, **context: Any) -> dict[str, Any]:
    """One figure; `aim` says what good looks like (e.g. "≤ 50 ms", "1.0", "≥ 0.8×")."""
    entry: dict[str, Any] = {"figure": name, "value": value, "unit": unit}
    if aim is not None:
        entry["aim"] = aim
    return {**entry, **context}


def flatten(figures: Mapping[str, Any], prefix: str = "", **context: Any) -> list[dict[str, Any]]:
    """Nested dicts of numbers → figures named by their path; text beside numbers becomes context."""
    text = {k: v for k, v in figures.items() if isinstance(v, str)}
    out: list[dict[str, Any]] = []
    for key, value in figures.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.extend(flatten(value, f"{name}.", **context, **text))
        elif isinstance(value, bool) or not isinstance(value, int | float):
            continue
        else:
            unit = next((u for suffix, u in UNIT_SUFFIXES if key.endswith(suffix)), "count")
            out.append(figure(name, value, unit, **context, **text))
    return out


def record(module: str, figures: list[dict[str, Any]]) -> Path:
    """Write bench/results/<module>.json: every figure stamped with date, commit and CPU count."""
    stamp = {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": COMMIT_MEASURED,
        "cpu_count": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    path = RESULTS_DIR / f"{module}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([{**f, **stamp} for f in figures], indent=2) + "\n", encoding="utf-8")
    return path


def _commit() -> str:
    """HEAD, marked +dirty when code (not results) differs from it: the figure is of uncommitted code."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    head = git("rev-parse", "--short=12", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)bench/results")
    return f"{head}+dirty" if dirty else head


# Taken when the benchmark starts, not when it ends: the code measured is the code at the start.
COMMIT_MEASURED = _commit()
