"""`safepassage sandbox ...`: run the local Google Ads and Meta emulators and set their clock."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

from safepassage.commands import UserError


def _default_state_dir() -> Path:
    from safepassage import settings

    return settings.data_dir() / "sandbox"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sandbox",
        help="local emulators of Google Ads and Meta (no internet needed)",
        description="Run the SafePassage sandbox: Google Ads (gRPC) and Meta Graph (HTTP) emulators "
        "on loopback.",
    )
    commands = parser.add_subparsers(dest="sandbox_command", required=True, metavar="SUBCOMMAND")

    serve = commands.add_parser("serve", help="start both emulators and write the descriptor; Ctrl-C stops")
    serve.add_argument("--state", type=Path, default=None, help="state directory (default: data/sandbox)")
    serve.add_argument(
        "--faults", type=Path, default=None, help="fault plan (YAML/JSON), see docs/sandbox.md"
    )
    serve.add_argument(
        "--descriptor", type=Path, default=None, help="where to write it (default: STATE/descriptor.json)"
    )
    serve.set_defaults(handler=_serve)

    clock = commands.add_parser("clock", help="show or set the sandbox's simulated date and time")
    clock_commands = clock.add_subparsers(dest="clock_command", required=True, metavar="ACTION")
    show = clock_commands.add_parser("show", help="print the simulated now")
    show.add_argument("--state", type=Path, default=None)
    show.set_defaults(handler=_clock_show)
    set_ = clock_commands.add_parser(
        "set", help="freeze the clock at DATE or DATETIME (UTC), e.g. 2022-03-25"
    )
    set_.add_argument("when", help="YYYY-MM-DD or ISO date-time")
    set_.add_argument("--state", type=Path, default=None)
    set_.set_defaults(handler=_clock_set)
    advance = clock_commands.add_parser("advance", help="move a frozen clock forward by DAYS")
    advance.add_argument("days", type=float)
    advance.add_argument("--state", type=Path, default=None)
    advance.set_defaults(handler=_clock_advance)


def _serve(args: argparse.Namespace) -> int:
    from safepassage.sandbox.__main__ import serve
    from safepassage.sandbox.faults import FaultPlanError

    try:
        serve(args.state or _default_state_dir(), args.faults, args.descriptor)
    except FaultPlanError as error:
        raise UserError(str(error)) from None
    return 0


def _parse_when(text: str) -> dt.datetime | dt.date:
    try:
        return dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text)
    except ValueError:
        raise UserError(f"{text!r} is not a date (YYYY-MM-DD) or ISO date-time") from None


def _clock(args: argparse.Namespace) -> Any:
    from safepassage.sandbox.clock import SandboxClock

    return SandboxClock.load(args.state or _default_state_dir())


def _clock_show(args: argparse.Namespace) -> int:
    clock = _clock(args)
    print(f"{clock.now().isoformat()} ({'simulated' if clock.is_simulated else 'following the wall clock'})")
    return 0


def _clock_set(args: argparse.Namespace) -> int:
    print(_clock(args).set(_parse_when(args.when)).isoformat())
    return 0


def _clock_advance(args: argparse.Namespace) -> int:
    print(_clock(args).advance(dt.timedelta(days=args.days)).isoformat())
    return 0
