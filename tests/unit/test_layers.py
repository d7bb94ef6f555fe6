"""The dependency rule: domain is pure; only adapters import SDKs and SQLAlchemy; the emulators
(emulators/) stand alone, and the product imports neither them nor the development helpers (dev/)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from safepassage import settings

PACKAGE = settings.PROJECT_ROOT / "dags" / "safepassage"
SDKS_AND_SQL = ("google.ads", "google.oauth2", "facebook_business", "grpc", "sqlalchemy", "alembic")
FORBIDDEN = {
    "domain": (
        *SDKS_AND_SQL,
        "airflow",
        "safepassage.adapters",
        "safepassage.services",
        "safepassage.orchestration",
        "requests",
        "redis",
        "jinja2",
    ),
    # services know the warehouse only by its port (services.ports); orchestration.connections wires it
    "services": (*SDKS_AND_SQL, "airflow", "safepassage.orchestration", "safepassage.adapters.warehouse"),
    "orchestration": SDKS_AND_SQL,
    "commands": (*SDKS_AND_SQL, "safepassage.adapters.warehouse"),
}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_follow_the_dependency_rule(layer: str) -> None:
    violations = [
        f"{path.relative_to(PACKAGE)}:{line} imports {module}"
        for path in sorted((PACKAGE / layer).rglob("*.py"))
        for line, module in imported_modules(path)
        if module.startswith(FORBIDDEN[layer])
    ]
    assert violations == []


EMULATORS = settings.PROJECT_ROOT / "emulators" / "ad_emulators"
DEVELOPMENT = settings.PROJECT_ROOT / "dev" / "safepassage_dev"


def test_the_emulators_import_nothing_of_safepassage() -> None:
    """An emulator sharing the client's code would share its assumptions. Every import counts, inside
    functions too."""
    violations = [
        f"{path.relative_to(EMULATORS)}:{line} imports {module}"
        for path in sorted(EMULATORS.rglob("*.py"))
        for line, module in imported_modules(path)
        if module.split(".")[0] in ("safepassage", "safepassage_dev", "tests", "bench")
    ]
    assert violations == []


def test_the_product_imports_neither_the_emulators_nor_the_development_helpers() -> None:
    """The product image carries neither; not even a lazy import may name them."""
    violations = [
        f"{path.relative_to(PACKAGE)}:{line} imports {module}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line, module in imported_modules(path)
        if module.split(".")[0] in ("ad_emulators", "safepassage_dev", "tests", "bench")
    ]
    assert violations == []


STANDALONE_EMULATORS = """
import importlib, pkgutil, sys, tempfile
from pathlib import Path


class NothingOfSafePassage:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("safepassage", "safepassage_dev", "tests"):
            raise ImportError(f"the emulators imported {name}")
        return None


sys.meta_path.insert(0, NothingOfSafePassage())
import ad_emulators

for module in pkgutil.walk_packages(ad_emulators.__path__, "ad_emulators."):
    importlib.import_module(module.name)
from ad_emulators.server import EmulatorServer

with tempfile.TemporaryDirectory() as state:
    server = EmulatorServer(Path(state))
    server.start()
    try:
        print(server.write_descriptor())
    finally:
        server.stop()
"""


def test_the_emulators_run_with_safepassage_unimportable(tmp_path: Path) -> None:
    """Runtime proof of the rule above: every emulator module loads and both servers start while any
    import of SafePassage raises."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", STANDALONE_EMULATORS],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("descriptor.json")
