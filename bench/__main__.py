"""`make bench`: run every benchmark module in this package (each defines `main()`), printing figures.

Each module runs in its own process: gRPC reads its TLS roots once per process, so two sandboxes
with different certificates cannot share one, and one benchmark's caches must not help another.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import bench

OWN_TARGETS = {"chaos"}  # `make chaos`: run only when named


def run(names: list[str]) -> int:
    failed = []
    for module_info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
        if module_info.name.startswith("_") or (names and module_info.name not in names):
            continue
        if not names and module_info.name in OWN_TARGETS:
            continue
        print(f"== {module_info.name}", flush=True)
        code = f"import bench.{module_info.name} as m; m.main()"
        if subprocess.run([sys.executable, "-c", code], check=False).returncode != 0:
            failed.append(module_info.name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
