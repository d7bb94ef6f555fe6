"""`safepassage pause` / `safepassage resume`: the kill switch for one country, on every platform.

    safepassage pause --country PL --reason "Reports of fake job ads citing our helpline" --by "Anna (ops)"
    safepassage resume --country PL --by "Anna (ops)"

Pause records who and why in the warehouse, then pauses the country's campaigns right away (no
approval: it only lowers spend). Resume clears the record; the country serves again with the next
push_campaigns run, which goes through the usual plan and approval.
"""

from __future__ import annotations

import argparse
import getpass


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    pause = subparsers.add_parser("pause", help="kill switch: pause everything in one country now")
    pause.add_argument("--country", required=True, help="ISO code, e.g. PL")
    pause.add_argument("--reason", required=True, help="why; shown to everyone reviewing the pause")
    pause.add_argument("--by", default=None, help="who is pausing (default: your login name)")
    pause.set_defaults(handler=_pause)
    resume = subparsers.add_parser(
        "resume", help="lift a country's pause (serving resumes with the next push)"
    )
    resume.add_argument("--country", required=True)
    resume.add_argument("--by", default=None, help="who is resuming (default: your login name)")
    resume.set_defaults(handler=_resume)


def _pause(args: argparse.Namespace) -> int:
    from safepassage.commands import UserError
    from safepassage.orchestration.kill_switch import run_pause

    try:
        print(run_pause(args.country, args.reason, args.by or getpass.getuser()))
    except ValueError as error:
        raise UserError(str(error)) from None
    return 0


def _resume(args: argparse.Namespace) -> int:
    from safepassage.commands import UserError
    from safepassage.orchestration.kill_switch import run_resume

    try:
        print(run_resume(args.country, args.by or getpass.getuser()))
    except ValueError as error:
        raise UserError(str(error)) from None
    return 0
