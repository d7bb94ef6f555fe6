"""`safepassage demo` (what `make demo` runs) and `safepassage demo ui` (what `make demo-ui` runs)."""

from __future__ import annotations

import argparse

from safepassage.commands import UserError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo", help="replay the 2022 campaign through a real Airflow scheduler, end to end"
    )
    parser.set_defaults(handler=_demo)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    ui = actions.add_parser("ui", help="open the last demo's runs, plans and pages in the Airflow UI")
    ui.add_argument("--port", type=int, default=8080, help="on 127.0.0.1 (default 8080)")
    ui.set_defaults(handler=_ui)


def _demo(_args: argparse.Namespace) -> int:
    from safepassage.orchestration.demo import run_demo

    run_demo()
    return 0


def _ui(args: argparse.Namespace) -> int:
    from safepassage.orchestration.demo import serve_demo_ui

    try:
        serve_demo_ui(args.port)
    except FileNotFoundError as error:
        raise UserError(str(error)) from None
    return 0
