"""`safepassage demo`: what `make demo` runs."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("demo", help="set everything up and run the campaign end to end")
    parser.set_defaults(handler=_demo)


def _demo(_args: argparse.Namespace) -> int:
    from safepassage.orchestration.demo import run_demo

    run_demo()
    return 0
