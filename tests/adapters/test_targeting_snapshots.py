"""Judgement store and targeting snapshots on SQLite and a real PostgreSQL (own database)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, func, select, text

from safepassage import settings
from safepassage.adapters.warehouse import Warehouse
from safepassage.adapters.warehouse import models as m
from safepassage.domain.errors import InvalidInput
from safepassage.services.campaign_config import load_campaign_config
from safepassage.services.intelligence import (
    check_files,
    latest_targeting,
    publish,
    refresh_targeting,
    stored_judgements,
)

SERIES = settings.PROJECT_ROOT / "intelligence"
POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def warehouse(request, tmp_path) -> Iterator[Warehouse]:
    if request.param == "sqlite":
        store = Warehouse(f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
        store.migrate()
        yield store
        store.dispose()
        return
    name = f"sp_intel_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    store = Warehouse(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")
    try:
        store.migrate()
        yield store
    finally:
        store.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def snapshot_count(warehouse: Warehouse) -> int:
    with warehouse.session() as session:
        return int(session.scalar(select(func.count()).select_from(m.TargetingSnapshot)) or 0)


def test_same_judgement_twice_stores_one_snapshot_and_history_is_kept(warehouse):
    config = load_campaign_config()
    publish(check_files([SERIES], config), warehouse)
    assert len(stored_judgements(warehouse)) == 8

    first = refresh_targeting(config, warehouse, dt.date(2022, 3, 28))
    again = refresh_targeting(config, warehouse, dt.date(2022, 4, 2))  # same judgement, other day
    assert first.stored and first.judgement_id == "kj-2022-03-25-border-crossings"
    assert not again.stored and again.snapshot_id == first.snapshot_id
    assert snapshot_count(warehouse) == 1

    may = refresh_targeting(config, warehouse, dt.date(2022, 5, 25))
    assert may.stored and may.judgement_id == "kj-2022-05-20-job-offers"
    rows = {row["country"]: row for row in may.diff["countries"]}
    assert "Medyka border crossing" in rows["PL"]["hotspots_removed"]
    assert "Warszawa (city)" in rows["PL"]["hotspots_added"]

    # Re-running an earlier day finds that day's snapshot: it does not become the newest targeting.
    back = refresh_targeting(config, warehouse, dt.date(2022, 4, 1))
    assert not back.stored and back.snapshot_id == first.snapshot_id and snapshot_count(warehouse) == 2
    assert latest_targeting(warehouse)["judgement_id"] == "kj-2022-05-20-job-offers"
    assert (
        latest_targeting(warehouse, dt.date(2022, 4, 1))["judgement_id"] == "kj-2022-03-25-border-crossings"
    )

    with warehouse.session() as session:
        snapshots = session.scalars(select(m.TargetingSnapshot).order_by(m.TargetingSnapshot.id)).all()
        assert [s.judgement_id for s in snapshots] == [
            "kj-2022-03-25-border-crossings",
            "kj-2022-05-20-job-offers",
        ]
        assert snapshots[1].valid_from == dt.date(2022, 5, 25)  # in effect from the day it was made for
        assert "PL" in snapshots[1].diff_from_previous["table"]
        assert len(snapshots[1].targeting["countries"]) == 19


def test_a_broken_judgement_in_the_store_changes_nothing(warehouse):
    config = load_campaign_config()
    publish(check_files([SERIES], config), warehouse)
    refresh_targeting(config, warehouse, dt.date(2022, 3, 28))
    with warehouse.session() as session:
        record = session.get(m.KeyJudgementRecord, "kj-2022-05-20-job-offers")
        document = dict(record.document)
        document["countries"] = {**document["countries"], "XX": document["countries"]["PL"]}
        record.document = document
    with pytest.raises(InvalidInput) as caught:
        refresh_targeting(config, warehouse, dt.date(2022, 5, 25))
    assert "judgement store: kj-2022-05-20-job-offers" in str(caught.value)
    assert "countries.XX" in str(caught.value)
    assert snapshot_count(warehouse) == 1


def test_republishing_a_judgement_replaces_it(warehouse, tmp_path):
    config = load_campaign_config()
    source = SERIES / "2022-03-25-border-crossings.yaml"
    changed = tmp_path / "corrected.yaml"
    changed.write_text(
        source.read_text(encoding="utf-8").replace("radius_km: 10}", "radius_km: 12}"), "utf-8"
    )
    publish(check_files([source], config), warehouse)
    first = refresh_targeting(config, warehouse, dt.date(2022, 3, 28))
    publish(check_files([changed], config, store=stored_judgements(warehouse)), warehouse)
    assert len(stored_judgements(warehouse)) == 1
    second = refresh_targeting(config, warehouse, dt.date(2022, 3, 28))
    assert second.stored and second.snapshot_id != first.snapshot_id

    # A → B → A: withdrawing the correction makes the original the newest targeting again.
    publish(check_files([source], config, store=stored_judgements(warehouse)), warehouse)
    third = refresh_targeting(config, warehouse, dt.date(2022, 3, 28))
    assert third.stored and third.snapshot_id not in {first.snapshot_id, second.snapshot_id}
    assert latest_targeting(warehouse) == third.targeting.as_json()


def test_a_replay_leaves_the_live_targeting_unchanged(warehouse):
    config = load_campaign_config()
    publish(check_files([SERIES], config), warehouse)
    today = dt.datetime.now(dt.UTC).date()
    live = refresh_targeting(config, warehouse, today)  # no 2022 judgement is in force today
    assert live.stored and live.judgement_id is None
    replay = refresh_targeting(config, warehouse, dt.date(2022, 5, 25))
    assert replay.stored and replay.judgement_id == "kj-2022-05-20-job-offers"
    assert latest_targeting(warehouse) == live.targeting.as_json(), (
        "the 2022 replay became the live targeting"
    )
    assert latest_targeting(warehouse, dt.date(2022, 5, 25)) == replay.targeting.as_json()
