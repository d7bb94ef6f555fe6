"""`make demo`: set up Airflow and the warehouse, then replay the 2022 campaign through the real DAGs.

The DAGs run through Airflow itself (`dag.test()`: a real DagRun in the metadata DB, every task
executed), so the runs are visible afterwards with `safepassage airflow dags list-runs <dag>` or
in the UI. Each DAG's own (long) log goes to `data/demo-logs/`; the screen gets one line a step.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from safepassage import settings

if TYPE_CHECKING:
    from safepassage.adapters.warehouse import Warehouse

DEMO_DAGS = ["sync_reference_data", "render_creatives", "refresh_targeting"]


@dataclass
class DemoReport:
    steps: list[tuple[str, str]] = field(default_factory=list)
    dag_runs: list[tuple[str, str]] = field(default_factory=list)

    def add(self, step: str, outcome: str) -> None:
        self.steps.append((step, outcome))
        print(f"  ✓ {step}: {outcome}", flush=True)


def run_demo(say: Callable[[str], None] = print) -> DemoReport:
    settings.apply_airflow_environment()
    report = DemoReport()
    started = time.monotonic()
    say("SafePassage demo: replaying the 2022 Ukraine response (25 March – 31 October 2022)\n")

    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        capture_output=True,
        env=os.environ.copy(),
    )
    report.add("Airflow metadata database", f"ready in {settings.airflow_environment()['AIRFLOW_HOME']}")

    from safepassage.adapters.warehouse import Warehouse
    from safepassage.services.campaign_config import load_campaign_config
    from safepassage.services.intelligence import check_files, publish

    config = load_campaign_config()
    report.add(
        "Campaign configuration",
        f"valid: {len(config.countries)} countries, {len(config.languages)} languages, "
        f"{len(config.organisations)} support organisations",
    )
    warehouse = Warehouse()
    warehouse.migrate()
    report.add("Warehouse", f"schema at {warehouse.current_revision()} in {warehouse.safe_url}")

    report.add("DAG sync_reference_data", _run_dag(report, "sync_reference_data"))
    report.add(
        "DAG render_creatives", _run_dag(report, "render_creatives") + "; " + _creative_counts(warehouse)
    )

    judgements = check_files([settings.intelligence_dir()], config)
    publish(judgements, warehouse)
    report.add("Key judgements", f"{len(judgements)} published to the judgement store (2022 series)")

    for loaded in sorted(judgements, key=lambda item: item.judgement.valid_from):
        as_of = loaded.judgement.valid_from
        outcome = _run_dag(report, "refresh_targeting", as_of=as_of.isoformat())
        report.add(f"{as_of} refresh_targeting", f"{outcome}; {_targeting_summary(warehouse)}")

    say(f"\nDone in {time.monotonic() - started:.0f} s. Where to look:")
    say(f"  warehouse:        {warehouse.safe_url}")
    say(f"  DAG logs:         {_shown(settings.data_dir() / 'demo-logs')}/")
    say("  Airflow runs:     .venv/bin/safepassage airflow dags list-runs <dag_id>")
    say("  the Airflow UI:   make airflow   (then open http://127.0.0.1:8080)")
    say("  ad previews:      .venv/bin/safepassage creatives preview --out out/gallery")
    warehouse.dispose()
    return report


def _creative_counts(warehouse: Warehouse) -> str:
    from safepassage.adapters.warehouse.creative_versions import count_versions

    return f"{count_versions(warehouse)} creative versions stored"


def _targeting_summary(warehouse: Warehouse) -> str:
    from safepassage.services.intelligence import latest_targeting

    document = latest_targeting(warehouse) or {}
    countries = sorted(document.get("countries", []), key=lambda c: -float(c.get("weight", 0)))
    top = ", ".join(f"{c['code']} {float(c['weight']):.0%}" for c in countries[:3])
    return f"top weights {top}" if top else "no targeting"


def _shown(path: Path) -> Path:
    return path.relative_to(settings.PROJECT_ROOT) if path.is_relative_to(settings.PROJECT_ROOT) else path


def _run_dag(report: DemoReport, dag_id: str, **params: object) -> str:
    """Run one DAG for real; its Airflow log goes to a file, the outcome to the screen."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState

    log_path = settings.data_dir() / "demo-logs" / f"{dag_id}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as log, _redirected_output(log):
        bag = DagBag(dag_folder=settings.airflow_environment()["AIRFLOW__CORE__DAGS_FOLDER"])
        if bag.import_errors:
            raise RuntimeError(f"DAG files failed to load: {bag.import_errors}")
        run = bag.dags[dag_id].test(run_conf=dict(params) or None)
    report.dag_runs.append((dag_id, str(run.state)))
    if run.state != DagRunState.SUCCESS:
        raise RuntimeError(f"{dag_id} finished {run.state}; its log is {log_path}")
    skipped = [ti.task_id for ti in run.get_task_instances() if str(ti.state) == "skipped"]
    return f"run {'succeeded, nothing new' if skipped else 'succeeded'}"


class _LogSink:
    """A stream Airflow's loggers can keep: writes go to the current log file, else to the terminal.

    structlog holds on to the stream it first saw, so the demo hands it this sink rather than a
    file that is closed after the run.
    """

    def __init__(self) -> None:
        self.target: TextIO | None = None

    def write(self, text: str) -> int:
        return (self.target or sys.__stdout__ or sys.stdout).write(text)

    def flush(self) -> None:
        (self.target or sys.__stdout__ or sys.stdout).flush()

    def isatty(self) -> bool:
        return False


_SINK = _LogSink()


@contextmanager
def _redirected_output(target: TextIO) -> Iterator[None]:
    """Point the process's stdout/stderr (Python objects and file descriptors) at `target`."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    _SINK.target = target
    try:
        os.dup2(target.fileno(), 1)
        os.dup2(target.fileno(), 2)
        with redirect_stdout(_SINK), redirect_stderr(_SINK):
            yield
    finally:
        _SINK.flush()
        _SINK.target = None
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
