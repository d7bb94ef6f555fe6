"""`make demo`: set up Airflow and the warehouse, then run the real DAGs in order and say what happened.

The DAGs run through Airflow itself (`dag.test()`: a real DagRun in the metadata DB, every task
executed), so the runs are visible afterwards with `airflow dags list-runs` or in the UI.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from typing import TextIO

from safepassage import settings


@dataclass
class DemoReport:
    steps: list[tuple[str, str]] = field(default_factory=list)

    def add(self, step: str, outcome: str) -> None:
        self.steps.append((step, outcome))
        print(f"  ✓ {step}: {outcome}", flush=True)


def run_demo(dag_ids: list[str] | None = None, say: Callable[[str], None] = print) -> DemoReport:
    settings.apply_airflow_environment()
    report = DemoReport()
    say("SafePassage demo\n")

    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        capture_output=True,
        env=os.environ.copy(),
    )
    report.add("Airflow metadata database", f"ready in {settings.airflow_environment()['AIRFLOW_HOME']}")

    from safepassage.adapters.warehouse import Warehouse
    from safepassage.services.campaign_config import load_campaign_config

    config = load_campaign_config()
    report.add(
        "Campaign configuration",
        f"valid: {len(config.countries)} countries, {len(config.languages)} languages, "
        f"{len(config.organisations)} support organisations",
    )
    warehouse = Warehouse()
    warehouse.migrate()
    report.add("Warehouse", f"schema at {warehouse.current_revision()} in {warehouse.safe_url}")

    for dag_id in dag_ids or DEMO_DAGS:
        report.add(f"DAG {dag_id}", _run_dag(dag_id))

    say(f"\nDone in {time.monotonic() - started:.0f} s. Where to look:")
    say(f"  warehouse:        {warehouse.safe_url}")
    say("  Airflow runs:     .venv/bin/safepassage airflow dags list-runs <dag_id>")
    say("  the Airflow UI:   make airflow   (then open http://127.0.0.1:8080)")
    warehouse.dispose()
    return report


DEMO_DAGS = ["sync_reference_data"]


def _run_dag(dag_id: str, **run_conf: object) -> str:
    """Run one DAG for real; its (long) Airflow log goes to a file, the outcome to the screen."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState

    log_path = settings.data_dir() / "demo-logs" / f"{dag_id}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w", encoding="utf-8") as log, _redirected_output(log):
        bag = DagBag(dag_folder=settings.airflow_environment()["AIRFLOW__CORE__DAGS_FOLDER"])
        if bag.import_errors:
            raise RuntimeError(f"DAG files failed to load: {bag.import_errors}")
        run = bag.dags[dag_id].test(run_conf=run_conf or None)
    if run.state != DagRunState.SUCCESS:
        raise RuntimeError(f"{dag_id} finished {run.state}; its log is {log_path}")
    shown = (
        log_path.relative_to(settings.PROJECT_ROOT)
        if log_path.is_relative_to(settings.PROJECT_ROOT)
        else log_path
    )
    return f"succeeded (log: {shown})"


@contextmanager
def _redirected_output(target: TextIO) -> Iterator[None]:
    """Point the process's stdout/stderr file descriptors at `target` (Airflow logs to both)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    try:
        os.dup2(target.fileno(), 1)
        os.dup2(target.fileno(), 2)
        with redirect_stdout(target), redirect_stderr(target):
            yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
