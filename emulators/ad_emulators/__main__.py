"""`ad-emulators serve [--state DIR] [--faults FILE] [--descriptor PATH]` and `ad-emulators clock
show|set|advance`: the emulators' own command (also `python -m ad_emulators`).

`serve` runs both emulators until SIGTERM/SIGINT and prints the descriptor's path; the emulators'
image (deploy/emulators.Dockerfile) runs it and needs nothing of SafePassage.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from ad_emulators.clock import EmulatorClock
from ad_emulators.faults import FaultPlan, FaultPlanError


def serve(state_dir: Path, faults_file: Path | None = None, descriptor: Path | None = None) -> None:
    """Start both emulators, write the descriptor, wait for SIGTERM/SIGINT, stop and remove it.
    Raises FaultPlanError for a bad fault plan before anything starts."""
    from ad_emulators.server import EmulatorServer

    faults = FaultPlan.load(faults_file) if faults_file else None
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    server = EmulatorServer(state_dir, faults=faults)
    server.start()
    path: Path | None = None
    try:
        path = server.write_descriptor(descriptor)
        print(path, flush=True)
        stop.wait()
    finally:
        server.stop()
        if path is not None:  # its ports are closed now
            path.unlink(missing_ok=True)


def default_state_dir() -> Path:
    """`AD_EMULATORS_STATE`, or data/emulators/ under the current directory (the project root for
    `make` and the README's commands)."""
    return Path(os.environ.get("AD_EMULATORS_STATE") or Path("data") / "emulators")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ad-emulators",
        description="Local emulators of Google Ads (gRPC) and Meta Graph (HTTP) on loopback, for the "
        "official SDKs; every delivery figure they produce is simulated.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve_parser = commands.add_parser(
        "serve", help="start both emulators and print the descriptor; Ctrl-C stops"
    )
    serve_parser.add_argument(
        "--state", type=Path, default=None, help="state directory (default: data/emulators)"
    )
    serve_parser.add_argument(
        "--faults", type=Path, default=None, help="fault plan (YAML/JSON), docs/emulators.md"
    )
    serve_parser.add_argument("--descriptor", type=Path, default=None, help="default: STATE/descriptor.json")
    serve_parser.set_defaults(handler=_serve)
    clock = commands.add_parser("clock", help="show or set the emulators' simulated date and time")
    actions = clock.add_subparsers(dest="clock_command", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="print the simulated now")
    show.set_defaults(handler=_clock_show)
    set_ = actions.add_parser("set", help="freeze the clock at DATE or DATETIME (UTC), e.g. 2022-03-25")
    set_.add_argument("when", help="YYYY-MM-DD or ISO date-time")
    set_.set_defaults(handler=_clock_set)
    advance = actions.add_parser("advance", help="move a frozen clock forward by DAYS")
    advance.add_argument("days", type=float)
    advance.set_defaults(handler=_clock_advance)
    for action in (show, set_, advance):
        action.add_argument(
            "--state", type=Path, default=None, help="state directory (default: data/emulators)"
        )
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except (FaultPlanError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _serve(args: argparse.Namespace) -> int:
    serve(args.state or default_state_dir(), args.faults, args.descriptor)
    return 0


def _parse_when(text: str) -> dt.datetime | dt.date:
    try:
        return dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD) or ISO date-time") from None


def _clock(args: argparse.Namespace) -> EmulatorClock:
    return EmulatorClock.load(args.state or default_state_dir())


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


if __name__ == "__main__":
    sys.exit(main())
