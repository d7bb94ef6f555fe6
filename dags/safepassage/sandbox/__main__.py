"""`python -m safepassage.sandbox serve --state DIR [--faults FILE] [--descriptor PATH]`.

Runs both emulators until SIGTERM/SIGINT and prints the descriptor's path. The sandbox's own entry
point, so its image (deploy/sandbox.Dockerfile) needs nothing of the project; `safepassage sandbox
serve` calls the same `serve()`.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from safepassage.sandbox.faults import FaultPlan, FaultPlanError


def serve(state_dir: Path, faults_file: Path | None = None, descriptor: Path | None = None) -> None:
    """Start both emulators, write the descriptor, wait for SIGTERM/SIGINT, stop and remove it.
    Raises FaultPlanError for a bad fault plan before anything starts."""
    from safepassage.sandbox.server import SandboxServer

    faults = FaultPlan.load(faults_file) if faults_file else None
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    server = SandboxServer(state_dir, faults=faults)
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m safepassage.sandbox")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="start both emulators; SIGTERM or Ctrl-C stops")
    serve_parser.add_argument("--state", type=Path, required=True, help="state directory")
    serve_parser.add_argument("--faults", type=Path, default=None, help="fault plan (YAML/JSON)")
    serve_parser.add_argument("--descriptor", type=Path, default=None, help="default: STATE/descriptor.json")
    args = parser.parse_args(argv)
    try:
        serve(args.state, args.faults, args.descriptor)
    except FaultPlanError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
