"""`safepassage` command line: every module in `safepassage.commands` adds its own sub-commands, and so
does every module an installed package names in the `safepassage.commands` entry points (the
development package adds `demo` and `up`; the product image has neither)."""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import pkgutil
import sys
from collections.abc import Sequence

from safepassage import commands
from safepassage.domain.errors import InvalidInput

COMMANDS_ENTRY_POINTS = "safepassage.commands"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="safepassage",
        description="SafePassage: intelligence-led prevention campaigns, run as Airflow DAGs.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    built_in = [f"{commands.__name__}.{info.name}" for info in pkgutil.iter_modules(commands.__path__)]
    added = [entry.value for entry in importlib.metadata.entry_points(group=COMMANDS_ENTRY_POINTS)]
    for name in sorted(built_in) + sorted(added):
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except (commands.UserError, InvalidInput) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
