"""The dependency rule: domain is pure; only adapters (and the sandbox) import SDKs and SQLAlchemy."""

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
