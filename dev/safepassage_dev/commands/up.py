"""`safepassage up` (what `make airflow` runs): this project's Airflow on this machine, ready to run the
chain from its first minute: the metadata DB migrated, then `safepassage init` (warehouse schema,
pools), then scheduler, dag-processor, triggerer and api-server, listening on 127.0.0.1 only. It
prints a line for anything that would make a task wait (domain.readiness) and keeps watching.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import time
from pathlib import Path
from typing import Any

ADMIN = "admin"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "up",
        help="start Airflow here (UI, scheduler, dag-processor, triggerer) with pools and warehouse ready",
        description="What `make airflow` runs. Home: AIRFLOW_HOME (default .airflow/); metadata DB: "
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN (default SQLite in the home). Ctrl-C stops it.",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("AIRFLOW__API__PORT") or 8080),
        help="the UI and REST API port on 127.0.0.1 (default 8080, or AIRFLOW__API__PORT)",
    )
    parser.add_argument(
        "--watch-seconds", type=float, default=5, help="how often to re-check readiness (default 5)"
    )
    parser.set_defaults(handler=_up)


def _up(args: argparse.Namespace) -> int:
    from safepassage import settings
    from safepassage_dev.local_airflow import LocalAirflow

    settings.apply_airflow_environment()
    home = Path(os.environ["AIRFLOW_HOME"])
    airflow = LocalAirflow(
        home,
        metadata_url=os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
        or f"sqlite:///{home / 'airflow.db'}",
        dags_folder=Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"]),
        # a person switches each DAG on: nothing runs by surprise
        extra_env={"AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True"},
        users={ADMIN: "admin"},
        port=args.port,
        setup=(("safepassage", "init"),),
        name="make_airflow",
    )
    stopping: list[int] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda number, _frame: stopping.append(number))
    say(f"Starting Airflow in {home} (metadata DB migration, then `safepassage init`, then the components)…")
    try:
        airflow.start()
        say(
            f"Airflow is up on {airflow.api_url}: log in as {ADMIN}, password in {airflow.passwords_file}. "
            f"Logs in {airflow.logs}. Ctrl-C stops it."
        )
        say(_setup_summary(airflow))
        # this process reads the same metadata DB as the components, to check readiness
        os.environ.update(airflow.env)
        _watch(airflow, args.watch_seconds, stopping)
    finally:
        say("Stopping Airflow…")
        airflow.stop()
    return 0


def say(line: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {line}", flush=True)


def _setup_summary(airflow: Any) -> str:
    log = airflow.logs / "setup-safepassage.log"
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines() if log.exists() else []
    return "safepassage init: " + "; ".join(line for line in lines if line.startswith(("Warehouse", "Pool")))


def _watch(airflow: Any, every: float, stopping: list[int]) -> None:
    """A line whenever what would make a task wait changes, until Ctrl-C or a component dies."""
    from safepassage.orchestration.readiness import current_findings, report_lines

    shown: list[str] = []
    while not stopping:
        airflow.assert_running()
        try:
            lines = report_lines(current_findings())
        except Exception as error:  # the metadata DB may be busy; try again next round
            lines = shown or [f"! readiness could not be checked ({type(error).__name__}); retrying"]
        for line in lines:
            if line not in shown:
                say(line)
        for line in shown:
            if line not in lines and not line.startswith("Ready"):
                say(f"✓ resolved: {line.split(': ', 1)[-1]}")
        shown = lines
        deadline = time.monotonic() + every
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.2)
