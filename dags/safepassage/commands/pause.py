"""`safepassage pause` / `safepassage resume`: the kill switch for one country, on every platform.

    safepassage pause --country PL --reason "Reports of fake job ads citing our helpline"
    safepassage resume --country PL

Pauses the country everywhere right away (no approval: it only lowers spend) and records who (your
operating-system login) and why in the warehouse. Exits non-zero, naming each platform that could not
be paused and why, if anything failed: run it again. Resume clears the record; the country serves
again with the next push_campaigns run, which goes through the usual plan and approval.
"""

from __future__ import annotations

import argparse
import getpass
import sys

EXIT_NOT_PAUSED = 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    pause = subparsers.add_parser("pause", help="kill switch: pause everything in one country now")
    pause.add_argument("--country", required=True, help="ISO code, e.g. PL")
    pause.add_argument("--reason", required=True, help="why; shown to everyone reviewing the pause")
    pause.set_defaults(handler=_pause)
    resume = subparsers.add_parser(
        "resume", help="lift a country's pause (serving resumes with the next push)"
    )
    resume.add_argument("--country", required=True)
    resume.set_defaults(handler=_resume)


def _pause(args: argparse.Namespace) -> int:
    from safepassage.commands import UserError
    from safepassage.orchestration.kill_switch_accounts import run_pause
    from safepassage.services.kill_switch import PauseFailed

    try:
        print(run_pause(args.country, args.reason, getpass.getuser()))
    except ValueError as error:
        raise UserError(str(error)) from None
    except PauseFailed as failure:  # already scrubbed; names each platform and why
        print(f"error: {failure}", file=sys.stderr)
        return EXIT_NOT_PAUSED
    return 0


def _resume(args: argparse.Namespace) -> int:
    from safepassage.commands import UserError
    from safepassage.orchestration.kill_switch_accounts import run_resume

    try:
        print(run_resume(args.country, getpass.getuser()))
    except ValueError as error:
        raise UserError(str(error)) from None
    return 0
