"""`safepassage airflow ARGS…`: the `airflow` command with this project's environment set."""

from __future__ import annotations

import argparse
import os
import sys


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "airflow",
        help="run an `airflow` command with the project's AIRFLOW_HOME, DAGs and plugins",
        description="Example: safepassage airflow dags list-runs sync_reference_data",
    )
    parser.add_argument("airflow_args", nargs=argparse.REMAINDER, help="arguments for `airflow`")
    parser.set_defaults(handler=_exec_airflow)


def _exec_airflow(args: argparse.Namespace) -> int:
    from safepassage import settings

    settings.apply_airflow_environment()
    airflow = os.path.join(os.path.dirname(sys.executable), "airflow")
    os.execv(airflow, [airflow, *args.airflow_args])
    return 0  # not reached
