"""`make demo`: set up Airflow and the warehouse, then replay the 2022 campaign through the real DAGs.

The DAGs run through Airflow itself (`dag.test()`: a real DagRun in the metadata DB, every task
executed), so the runs are visible afterwards with `safepassage airflow dags list-runs <dag>` or
in the UI. Each DAG's own (long) log goes to `data/demo-logs/`; the screen gets one line a step.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from safepassage import settings

if TYPE_CHECKING:
    from safepassage.adapters.warehouse import Warehouse

DEMO_DAGS = [
    "sync_reference_data",
    "render_creatives",
    "refresh_targeting",
    "allocate_budgets",
    "push_campaigns",
]
DEMO_REVIEWER = "make-demo"


@dataclass
class DemoReport:
    steps: list[tuple[str, str]] = field(default_factory=list)
    dag_runs: list[tuple[str, str]] = field(default_factory=list)

    def add(self, step: str, outcome: str) -> None:
        self.steps.append((step, outcome))
        print(f"  ✓ {step}: {outcome}", flush=True)


def run_demo(say: Callable[[str], None] = print) -> DemoReport:
    """Replay 2022 from a clean slate in `data/demo/` (its own warehouse and sandbox state)."""
    settings.apply_airflow_environment()
    report = DemoReport()
    started = time.monotonic()
    say("SafePassage demo: replaying the 2022 Ukraine response (25 March – 31 October 2022)")
    say("against the local ad-platform sandbox; every delivery figure it produces is simulated.\n")

    demo_dir = settings.data_dir() / "demo"
    shutil.rmtree(demo_dir, ignore_errors=True)
    shutil.rmtree(settings.data_dir() / "demo-logs", ignore_errors=True)
    demo_dir.mkdir(parents=True)
    with _environment(SAFEPASSAGE_WAREHOUSE_URL=f"sqlite:///{demo_dir / 'warehouse.sqlite'}"):
        subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            check=True,
            capture_output=True,
            env=os.environ.copy(),
        )
        from safepassage.orchestration.pools import ensure_pools

        pools = ensure_pools()
        report.add(
            "Airflow",
            f"metadata DB in {settings.airflow_environment()['AIRFLOW_HOME']}; pools {', '.join(pools)}",
        )
        _replay(report, demo_dir)

    say(f"\nDone in {time.monotonic() - started:.0f} s. Where to look:")
    say(
        f"  warehouse:        {_shown(demo_dir / 'warehouse.sqlite')} (plans: push_plan, requests: apply_log)"
    )
    say(f"  DAG logs:         {_shown(settings.data_dir() / 'demo-logs')}/ (one file per DAG, every run)")
    say("  Airflow runs:     .venv/bin/safepassage airflow dags list-runs push_campaigns")
    say("  the Airflow UI:   make airflow   (then open http://127.0.0.1:8080; Browse → SafePassage pages)")
    say("  ad previews:      .venv/bin/safepassage creatives preview --out out/gallery")
    return report


def _replay(report: DemoReport, demo_dir: Path) -> None:
    from safepassage.adapters.warehouse import Warehouse
    from safepassage.sandbox.server import SandboxServer
    from safepassage.services.campaign_config import load_campaign_config
    from safepassage.services.intelligence import check_files, publish

    config = load_campaign_config()
    report.add(
        "Campaign configuration",
        f"valid: {len(config.countries)} countries, {len(config.languages)} languages, "
        f"{len(config.organisations)} support organisations",
    )
    warehouse = Warehouse()
    log_dir = settings.data_dir() / "demo-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / "warehouse.log").open("a", encoding="utf-8") as log, _redirected_output(log):
        warehouse.migrate()
        revision = warehouse.current_revision()
    report.add("Warehouse", f"schema at {revision} in {_shown(demo_dir / 'warehouse.sqlite')}")

    sandbox = SandboxServer(demo_dir / "sandbox")
    sandbox.start()
    try:
        with _environment(SAFEPASSAGE_SANDBOX_DESCRIPTOR=str(sandbox.write_descriptor())):
            google = sandbox.descriptor["google_ads"]
            report.add(
                "Ad-platform sandbox",
                f"Google Ads at {google['endpoint']}, Meta at "
                f"{sandbox.descriptor['meta']['graph_url']} (simulated delivery)",
            )
            report.add("DAG sync_reference_data", _run_dag(report, "sync_reference_data").outcome)
            creatives = _run_dag(report, "render_creatives")
            report.add("DAG render_creatives", f"{creatives.outcome}; {_creative_counts(warehouse)}")

            judgements = check_files([settings.intelligence_dir()], config)
            publish(judgements, warehouse)
            report.add("Key judgements", f"{len(judgements)} published to the judgement store (2022 series)")

            for loaded in sorted(judgements, key=lambda item: item.judgement.valid_from):
                _replay_month(report, sandbox, warehouse, loaded.judgement.valid_from)
    finally:
        sandbox.stop()
        warehouse.dispose()


def _replay_month(report: DemoReport, sandbox: Any, warehouse: Warehouse, day: dt.date) -> None:
    """One published judgement: targeting, budgets and a reviewed push, on the sandbox's clock."""
    from safepassage.orchestration.approval import LocalReviewer
    from safepassage.services.push import recent_plans

    sandbox.clock.set(dt.datetime.combine(day, dt.time(6), tzinfo=dt.UTC))
    targeting = _run_dag(report, "refresh_targeting", as_of=day.isoformat())
    report.add(f"{day} targeting", f"{targeting.outcome}; {_targeting_summary(warehouse)}")
    budgets = _run_dag(report, "allocate_budgets", as_of=day.isoformat())
    report.add(f"{day} budgets", f"{budgets.outcome}; {_budget_summary(warehouse)}")

    reviewer = LocalReviewer(
        "Approve",
        note="make demo approves every plan it replays; a person does this in the UI",
        user=DEMO_REVIEWER,
    )
    reviewer.start()
    try:
        push = _run_dag(report, "push_campaigns")
    finally:
        reviewer.stop()
    plans = recent_plans(warehouse, dag_run_id=push.run_id)
    report.add(f"{day} push", f"{push.outcome}; " + "; ".join(_plan_line(plan) for plan in plans))


def _plan_line(plan: dict[str, Any]) -> str:
    counts = ", ".join(f"{n} {action}" for action, n in sorted(plan["counts"].items())) or "no changes"
    review = f", approved by {plan['decided_by']}" if plan["decided_by"] else ""
    return f"plan {plan['id']} for account {plan['account']}: {counts} → {plan['status']}{review}"


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    """Set environment variables for the block (in-process DAG runs read them), then restore."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _creative_counts(warehouse: Warehouse) -> str:
    from safepassage.adapters.warehouse.creative_versions import count_versions

    return f"{count_versions(warehouse)} creative versions stored"


def _budget_summary(warehouse: Warehouse) -> str:
    from safepassage.services.budgets import latest_amounts
    from safepassage.services.campaign_config import load_campaign_config

    amounts = latest_amounts(warehouse)
    top = sorted(amounts.items(), key=lambda item: -item[1])[:3]
    currency = load_campaign_config().budget.currency
    return (
        f"{sum(amounts.values()) / 100:,.2f} {currency}/day over {sum(1 for v in amounts.values() if v)} "
        f"countries (most: {', '.join(f'{code} {minor / 100:,.2f}' for code, minor in top)})"
    )


def _targeting_summary(warehouse: Warehouse) -> str:
    from safepassage.services.intelligence import latest_targeting

    document = latest_targeting(warehouse) or {}
    countries = sorted(document.get("countries", []), key=lambda c: -float(c.get("weight", 0)))
    top = ", ".join(f"{c['code']} {float(c['weight']):.0%}" for c in countries[:3])
    return f"top weights {top}" if top else "no targeting"


def _shown(path: Path) -> Path:
    return path.relative_to(settings.PROJECT_ROOT) if path.is_relative_to(settings.PROJECT_ROOT) else path


@dataclass(frozen=True)
class DagRunOutcome:
    run_id: str
    outcome: str


def _run_dag(report: DemoReport, dag_id: str, **params: object) -> DagRunOutcome:
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
        raise RuntimeError(f"{dag_id} finished {run.state}; its log is {_shown(log_path)}")
    skipped = [ti.task_id for ti in run.get_task_instances() if str(ti.state) == "skipped"]
    return DagRunOutcome(
        run.run_id,
        "run succeeded, nothing new"
        if skipped and len(skipped) == len(run.get_task_instances())
        else "run succeeded",
    )


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
        for stream in (_SINK, sys.__stdout__, sys.__stderr__):
            if stream is not None:
                stream.flush()
        _SINK.target = None
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
