"""The dependency rule: domain is pure; only adapters (and the sandbox) import SDKs and SQLAlchemy;
the sandbox stands alone (an emulator sharing the client's code would share its assumptions)."""

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
        "safepassage.sandbox",
        "requests",
        "redis",
        "jinja2",
    ),
    "services": (*SDKS_AND_SQL, "airflow", "safepassage.orchestration"),
    "orchestration": SDKS_AND_SQL,
    "commands": SDKS_AND_SQL,
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


SANDBOX = PACKAGE / "sandbox"
# Its pytest plugin is test support, not the emulators: it builds the project's own clients.
SANDBOX_TEST_SUPPORT = {SANDBOX / "testing.py"}


def test_the_sandbox_imports_nothing_of_the_project() -> None:
    violations = [
        f"{path.relative_to(PACKAGE)}:{line} imports {module}"
        for path in sorted(SANDBOX.rglob("*.py"))
        if path not in SANDBOX_TEST_SUPPORT
        for line, module in imported_modules(path)
        if module.startswith("safepassage") and not module.startswith("safepassage.sandbox")
    ]
    assert violations == []


def test_nothing_in_the_product_imports_the_sandbox_at_module_level() -> None:
    """The product image leaves the sandbox out: only lazy imports (inside a function, reached when a
    sandbox is in use) may name it, never a module-level import that would fail at start."""
    violations = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.is_relative_to(SANDBOX):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            violations += [
                f"{path.relative_to(PACKAGE)}:{node.lineno}"
                for n in names
                if n.startswith("safepassage.sandbox")
            ]
    assert violations == []


STANDALONE_SANDBOX = """
import importlib, pkgutil, sys, tempfile
from pathlib import Path


class OnlyTheSandbox:
    def find_spec(self, name, path=None, target=None):
        if name.startswith("safepassage.") and not name.startswith("safepassage.sandbox"):
            raise ImportError(f"the sandbox imported {name}")
        return None


sys.meta_path.insert(0, OnlyTheSandbox())
import safepassage.sandbox as sandbox

for module in pkgutil.walk_packages(sandbox.__path__, "safepassage.sandbox."):
    if module.name not in ("safepassage.sandbox.testing", "safepassage.sandbox.__main__"):
        importlib.import_module(module.name)
from safepassage.sandbox.server import SandboxServer

with tempfile.TemporaryDirectory() as state:
    server = SandboxServer(Path(state))
    server.start()
    try:
        print(server.write_descriptor())
    finally:
        server.stop()
"""


def test_the_sandbox_runs_with_the_rest_of_the_project_unimportable(tmp_path: Path) -> None:
    """Runtime proof of the rule above: every emulator module loads and both servers start while any
    import of the project outside `safepassage.sandbox` raises."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", STANDALONE_SANDBOX], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("descriptor.json")
