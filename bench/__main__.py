"""`make bench`: run every benchmark module in this package (each defines `main()`), printing figures."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import bench


def run(names: list[str]) -> None:
    for module_info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
        if module_info.name.startswith("_") or (names and module_info.name not in names):
            continue
        module = importlib.import_module(f"bench.{module_info.name}")
        if hasattr(module, "main"):
            print(f"== {module_info.name}")
            module.main()


if __name__ == "__main__":
    run(sys.argv[1:])
