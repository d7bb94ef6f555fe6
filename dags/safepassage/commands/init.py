"""`safepassage init`: a deployment's set-up step after `airflow db migrate` (idempotent)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "init",
        help="migrate the warehouse, create or resize the Airflow pools, say what would make a task wait",
        description="Run after `airflow db migrate`, on every deployment and upgrade; safe to repeat. "
        "The warehouse is the Connection safepassage_warehouse (or SAFEPASSAGE_WAREHOUSE_URL); the pools "
        "go to Airflow's metadata DB (sizes from config/pools.yaml). Ends with a line per thing that would "
        "make a task wait (a missing Connection, a paused DAG the chain needs).",
    )
    parser.set_defaults(handler=_init)


def _init(_args: argparse.Namespace) -> int:
    from safepassage import settings
    from safepassage.orchestration.connections import open_warehouse
    from safepassage.orchestration.pools import ensure_pools
    from safepassage.orchestration.readiness import current_findings, report_lines

    settings.apply_airflow_environment()
    warehouse = open_warehouse()
    try:
        warehouse.migrate()
        print(f"Warehouse {warehouse.safe_url}: schema at {warehouse.current_revision()}")
    finally:
        warehouse.dispose()
    for name, slots in ensure_pools().items():
        print(f"Pool {name}: {slots} slots")
    for line in report_lines(current_findings()):
        print(line)
    return 0
