"""`safepassage demo` (what `make demo` runs) and `safepassage demo ui` (what `make demo-ui` runs)."""

from __future__ import annotations

import argparse
import datetime as dt

from safepassage.commands import UserError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo", help="replay the 2022 campaign through a real Airflow scheduler, end to end"
    )
    parser.add_argument(
        "--until",
        type=_replay_day,
        default=None,
        metavar="DAY",
        help="end the replay early, e.g. 2022-04-30: the judgements published by then, delivery "
        "and the report up to that day (default: the whole campaign, to 2022-10-31)",
    )
    parser.set_defaults(handler=_demo)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    ui = actions.add_parser("ui", help="open the last demo's runs, plans and pages in the Airflow UI")
    ui.add_argument("--port", type=int, default=8080, help="on 127.0.0.1 (default 8080)")
    ui.set_defaults(handler=_ui)


def _replay_day(text: str) -> dt.date:
    from safepassage_dev.demo import REPLAY_FROM, REPLAY_TO

    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a day (YYYY-MM-DD): {text!r}") from None
    if not REPLAY_FROM <= day <= REPLAY_TO:
        raise argparse.ArgumentTypeError(f"{day} is outside the 2022 replay, {REPLAY_FROM} to {REPLAY_TO}")
    return day


def _demo(args: argparse.Namespace) -> int:
    from safepassage_dev.demo import REPLAY_TO, run_demo

    run_demo(until=args.until or REPLAY_TO)
    return 0


def _ui(args: argparse.Namespace) -> int:
    from safepassage_dev.demo import serve_demo_ui

    try:
        serve_demo_ui(args.port)
    except FileNotFoundError as error:
        raise UserError(str(error)) from None
    return 0
