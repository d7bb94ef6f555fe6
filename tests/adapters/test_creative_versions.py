"""Creative versions in the warehouse (SQLite and real PostgreSQL): unchanged templates add nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from safepassage.adapters.warehouse import Warehouse
from safepassage.adapters.warehouse.models import CreativeVersion
from safepassage.domain.errors import InvalidInput
from safepassage.services.creatives import check_and_store, store_creative_versions
from tests.creatives_helpers import copy_library, edit_template, render, set_translation

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432"


@pytest.fixture
def sqlite_warehouse(tmp_path: Path) -> Iterator[Warehouse]:
    warehouse = Warehouse(f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
    yield warehouse
    warehouse.dispose()


@pytest.fixture
def postgres_warehouse() -> Iterator[Warehouse]:
    import psycopg

    name = f"sp_creatives_{uuid.uuid4().hex[:10]}"
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    warehouse = Warehouse(f"{POSTGRES}/{name}")
    try:
        yield warehouse
    finally:
        warehouse.dispose()
        with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def stored(warehouse: Warehouse) -> dict[str, CreativeVersion]:
    with warehouse.session() as session:
        return {row.content_hash: row for row in session.scalars(select(CreativeVersion))}


def versioning_round_trip(warehouse: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = copy_library(tmp_path, monkeypatch)
    first = check_and_store(warehouse, root)
    assert (first.new, first.unchanged) == (624, 0)
    rows = stored(warehouse)
    assert len(rows) == 624
    sample = next(
        r
        for r in rows.values()
        if (r.theme, r.platform_code, r.country_code, r.language_code)
        == ("job_offers", "google_ads", "PL", "pl")
    )
    assert sample.template_id == "job_offers/google_rsa"
    assert sample.content["headlines"][0] == "Praca za granicą? Sprawdź"
    assert sample.content["version"] in sample.content["final_url"]

    again = check_and_store(warehouse, root)
    assert (again.new, again.unchanged) == (0, 624)  # unchanged templates: no new version
    assert len(stored(warehouse)) == 624

    # One Polish text changes: only the Polish job-offer Google ad gets a new version.
    set_translation(root, "pl", "Know your rights at work", "Znaj swoje prawa w pracy")
    changed = check_and_store(warehouse, root)
    assert (changed.new, changed.unchanged) == (1, 623)
    with warehouse.session() as session:
        versions = session.scalar(
            select(func.count()).where(
                CreativeVersion.theme == "job_offers",
                CreativeVersion.language_code == "pl",
                CreativeVersion.platform_code == "google_ads",
            )
        )
    assert versions == 2  # the old version stays: ads already pushed still point at it


def refuses_failing_creatives(warehouse: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = copy_library(tmp_path, monkeypatch)
    edit_template(
        root,
        "job_offers/google_rsa.j2",
        '_("Know your rights at work")',
        '"Know all of your rights at work now"',
    )
    with pytest.raises(InvalidInput, match="headline is 35 characters"):
        check_and_store(warehouse, root)
    _, run = render(root)
    with pytest.raises(ValueError, match="refusing to store"):
        store_creative_versions(run.ads, warehouse)


def test_versions_on_sqlite(sqlite_warehouse, tmp_path, monkeypatch):
    versioning_round_trip(sqlite_warehouse, tmp_path, monkeypatch)


def test_failing_creatives_store_nothing_on_sqlite(sqlite_warehouse, tmp_path, monkeypatch):
    refuses_failing_creatives(sqlite_warehouse, tmp_path, monkeypatch)
    sqlite_warehouse.migrate()
    assert stored(sqlite_warehouse) == {}


@pytest.mark.postgres
def test_versions_on_postgresql(postgres_warehouse, tmp_path, monkeypatch):
    versioning_round_trip(postgres_warehouse, tmp_path, monkeypatch)


@pytest.mark.postgres
def test_failing_creatives_store_nothing_on_postgresql(postgres_warehouse, tmp_path, monkeypatch):
    refuses_failing_creatives(postgres_warehouse, tmp_path, monkeypatch)
    postgres_warehouse.migrate()
    assert stored(postgres_warehouse) == {}


def test_fingerprint_mismatch_stores_nothing(sqlite_warehouse, tmp_path, monkeypatch):
    root = copy_library(tmp_path, monkeypatch)
    with pytest.raises(InvalidInput, match="changed after they were checked"):
        check_and_store(sqlite_warehouse, root, expected_fingerprint="0" * 64)
    sqlite_warehouse.migrate()
    assert stored(sqlite_warehouse) == {}
