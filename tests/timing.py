"""pytest plugin: where the suite's time goes, printed at the end of every run.

It times, in every test process (xdist workers included), the expensive kinds of work the suite
does, by wrapping the function that does each one; it changes nothing they do. The controller adds
the workers' figures up and prints them with the run's wall time, the time per module and per tier.
`docs/testing.md` keeps the table; `SAFEPASSAGE_TEST_TIMING_JSON=path` also writes it as JSON.

Kinds are inclusive and may overlap (a `dag.test()` migrates a warehouse inside its tasks); a
nested call of the same kind counts once.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import json
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# kind -> (module, attribute path) of the function that does that work.
TIMED: dict[str, list[tuple[str, str]]] = {
    "Airflow start (a real Airflow's components up)": [
        ("safepassage_dev.local_airflow", "LocalAirflow.start")
    ],
    "Airflow stop": [("safepassage_dev.local_airflow", "LocalAirflow.stop")],
    "warehouse migrate (Alembic upgrade)": [("safepassage.adapters.warehouse.engine", "Database.migrate")],
    "DagBag parse": [("airflow.dag_processing.dagbag", "DagBag.__init__")],
    "dag.test()": [("airflow.sdk.definitions.dag", "DAG.test")],
    "emulator delivery simulation": [
        ("ad_emulators.simulation", "daily_rows"),
        ("ad_emulators.simulation", "reach"),
    ],
    "PDF render (WeasyPrint)": [("weasyprint", "HTML.write_pdf")],
    "child processes (subprocess.run)": [("subprocess", "run")],
}
HYPOTHESIS = "hypothesis properties (whole tests)"
POSTGRES_DATABASE = "PostgreSQL test database create + drop"
AIRFLOW_METADATA = "Airflow metadata DB migrate (test process)"
OUTPUT_KEY = "safepassage_timing"


class Timings:
    """Seconds and calls per kind, in this process."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._depth = threading.local()

    @contextlib.contextmanager
    def timing(self, kind: str) -> Iterator[None]:
        depth: dict[str, int] = self._depth.__dict__.setdefault("by_kind", defaultdict(int))
        depth[kind] += 1
        started = time.perf_counter()
        try:
            yield
        finally:
            depth[kind] -= 1
            if depth[kind] == 0:
                self.seconds[kind] += time.perf_counter() - started
                self.calls[kind] += 1

    def wrap(self, kind: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.timing(kind):
                return function(*args, **kwargs)

        timed.__safepassage_timed__ = function  # type: ignore[attr-defined]
        return timed

    def merge(self, other: dict[str, Any]) -> None:
        for kind, seconds in other["seconds"].items():
            self.seconds[kind] += seconds
        for kind, calls in other["calls"].items():
            self.calls[kind] += calls

    def as_dict(self) -> dict[str, Any]:
        return {"seconds": dict(self.seconds), "calls": dict(self.calls)}


TIMINGS = Timings()


def _install() -> None:
    for kind, targets in TIMED.items():
        for module_name, attribute in targets:
            owner: Any = importlib.import_module(module_name)
            *path, name = attribute.split(".")
            for part in path:
                owner = getattr(owner, part)
            function = getattr(owner, name)
            if not hasattr(function, "__safepassage_timed__"):
                setattr(owner, name, TIMINGS.wrap(kind, function))


class Report:
    """The controller's view: durations per test phase, per module and per tier."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.by_module: dict[str, float] = defaultdict(float)
        self.by_test: dict[str, float] = defaultdict(float)
        self.hypothesis_tests: set[str] = set()

    def add(self, report: pytest.TestReport) -> None:
        module = report.nodeid.split("::", 1)[0]
        self.by_module[module] += report.duration
        self.by_test[report.nodeid] += report.duration


REPORT = Report()


def _runs_tests(config: pytest.Config) -> bool:
    """Not an xdist controller (it only hands tests out)."""
    return hasattr(config, "workerinput") or config.getoption("numprocesses", None) in (None, 0)


def pytest_configure(config: pytest.Config) -> None:
    REPORT.started = time.monotonic()
    if _runs_tests(config):
        _install()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
            REPORT.hypothesis_tests.add(item.nodeid)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    REPORT.add(report)


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand this process's figures to the controller
        workeroutput[OUTPUT_KEY] = json.dumps(
            {**TIMINGS.as_dict(), "hypothesis_tests": sorted(REPORT.hypothesis_tests)}
        )


def pytest_testnodedown(node: Any, error: Any) -> None:
    sent = getattr(node, "workeroutput", {}).get(OUTPUT_KEY)
    if sent:
        figures = json.loads(sent)
        TIMINGS.merge(figures)
        REPORT.hypothesis_tests.update(figures["hypothesis_tests"])


def summary() -> dict[str, Any]:
    kinds = dict(TIMINGS.seconds)
    kinds[HYPOTHESIS] = sum(REPORT.by_test[nodeid] for nodeid in REPORT.hypothesis_tests)
    calls = {**TIMINGS.calls, HYPOTHESIS: len(REPORT.hypothesis_tests)}
    return {
        "wall_seconds": round(time.monotonic() - REPORT.started, 1),
        "test_seconds": round(sum(REPORT.by_test.values()), 1),
        "workers": int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0") or 0),
        "kinds": {
            kind: {"seconds": round(seconds, 1), "calls": calls.get(kind, 0)}
            for kind, seconds in sorted(kinds.items(), key=lambda item: -item[1])
        },
        "modules": {
            module: round(seconds, 1)
            for module, seconds in sorted(REPORT.by_module.items(), key=lambda item: -item[1])
        },
    }


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if getattr(config, "workeroutput", None) is not None or not REPORT.by_test:
        return
    figures = summary()
    write = terminalreporter.write_line
    terminalreporter.section("where the time went")
    write(f"{'kind (inclusive; kinds overlap)':<52} {'seconds':>9} {'calls':>6}")
    for kind, figure in figures["kinds"].items():
        if not figure["calls"]:
            continue
        write(f"{kind:<52} {figure['seconds']:>9.1f} {figure['calls']:>6}")
    write("")
    write(f"{'module (setup + call + teardown)':<52} {'seconds':>9}")
    for module, seconds in list(figures["modules"].items())[:15]:
        write(f"{module:<52} {seconds:>9.1f}")
    target = os.environ.get("SAFEPASSAGE_TEST_TIMING_JSON")
    if target:
        Path(target).write_text(json.dumps(figures, indent=1), encoding="utf-8")
    write("")
    write(
        f"test time {figures['test_seconds']:.0f} s over the workers; "
        f"suite wall time {figures['wall_seconds']:.0f} s"
    )
