"""Shared fixtures. Airflow's environment is set before anything imports Airflow.

Tests get their own Airflow home and data folder under a temporary directory, so a test run
never touches the `make demo` state in `.airflow/` and `data/`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

_TEST_ROOT = Path(tempfile.mkdtemp(prefix="safepassage-tests-"))
os.environ["AIRFLOW_HOME"] = str(_TEST_ROOT / "airflow")
os.environ["SAFEPASSAGE_DATA_DIR"] = str(_TEST_ROOT / "data")
os.environ.pop("SAFEPASSAGE_WAREHOUSE_URL", None)

from safepassage import settings  # noqa: E402

settings.apply_airflow_environment()

pytest_plugins = ["tests.emulator_fixtures", "tests.timing"]

# Longest first, so two workers finish together instead of one waiting on a long test picked up last.
LONGEST_FIRST = ("scheduler", "slow")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that start a real Airflow, then other slow ones, then the rest, each in file order."""

    def rank(item: pytest.Item) -> int:
        return next(
            (i for i, marker in enumerate(LONGEST_FIRST) if item.get_closest_marker(marker)),
            len(LONGEST_FIRST),
        )

    items.sort(key=rank)


POSTGRES_ADMIN_URL = os.environ.get(
    "SAFEPASSAGE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Airflow's metadata DB (SQLite in the test Airflow home), migrated once per session."""
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        capture_output=True,
        env=os.environ.copy(),
    )
    return Path(os.environ["AIRFLOW_HOME"])


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, uniquely named database on the real PostgreSQL server, dropped afterwards."""
    from sqlalchemy import create_engine, text

    name = f"safepassage_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # no silent skip: the suite needs the real server
        admin.dispose()
        raise RuntimeError(
            f"PostgreSQL is required for these tests ({POSTGRES_ADMIN_URL}); .ci/run starts it: {error}"
        ) from error
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The warehouse on both supported databases: a SQLite file and a real PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def warehouse(warehouse_url: str) -> Iterator[object]:
    """A migrated warehouse with the reference dimensions loaded from the shipped config."""
    from safepassage.adapters.warehouse import Warehouse
    from safepassage.services.campaign_config import load_campaign_config
    from safepassage.services.reference_data import sync_reference_data

    store = Warehouse(warehouse_url)
    store.migrate()
    sync_reference_data(load_campaign_config(), store)
    yield store
    store.dispose()
