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
