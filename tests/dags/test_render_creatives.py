"""The render_creatives DAG: stores versions and emits `creatives`; a failing check does neither."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from safepassage import settings
from tests.creatives_helpers import copy_library, set_translation

DAG_FILE = settings.PROJECT_ROOT / "dags" / "render_creatives.py"


@pytest.fixture
def dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE))
    assert bag.import_errors == {}
    return bag.get_dag("render_creatives")


def asset_events(run_id: str) -> list[tuple[str, dict]]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.execute(
            select(AssetModel.name, AssetEvent.extra)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetEvent.source_run_id == run_id)
        ).all()
    return [(name, extra) for name, extra in rows]


def task_states(run) -> dict[str, str]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.execute(
            select(TaskInstance.task_id, TaskInstance.state).where(
                TaskInstance.dag_id == run.dag_id, TaskInstance.run_id == run.run_id
            )
        ).all()
    return {task_id: str(state) for task_id, state in rows}


def stored_versions(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            exists = connection.execute(
                text("SELECT count(*) FROM sqlite_master WHERE name = 'creative_version'")
            ).scalar()
            return (
                int(connection.execute(text("SELECT count(*) FROM creative_version")).scalar() or 0)
                if exists
                else 0
            )
    finally:
        engine.dispose()


def test_dag_is_well_formed(dag):
    assert dag.doc_md and "Render creatives" in dag.doc_md
    assert {"safepassage", "creatives"} <= set(dag.tags)
    assert dag.catchup is False
    assert set(dag.task_ids) == {"check_creatives", "store_versions"}
    store = dag.get_task("store_versions")
    assert [outlet.name for outlet in store.outlets] == ["creatives"]
    assert dag.get_task("check_creatives").outlets == []
    assert store.retries == 2 and dag.default_args["owner"] == "safepassage-ops"


def test_successful_run_stores_versions_and_emits_the_asset(dag, tmp_path: Path, monkeypatch):
    copy_library(tmp_path, monkeypatch)
    url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    monkeypatch.setenv("SAFEPASSAGE_WAREHOUSE_URL", url)
    run = dag.test()
    assert str(run.state) == "success"
    assert stored_versions(url) == 624
    events = asset_events(run.run_id)
    assert [name for name, _ in events] == ["creatives"]
    assert events[0][1]["new_versions"] == 624

    second = dag.test()
    assert str(second.state) == "success"
    assert stored_versions(url) == 624  # unchanged templates: nothing new
    assert task_states(second)["store_versions"] == "skipped"
    assert asset_events(second.run_id) == [], "no new version must not wake the push"


def test_failing_check_stores_nothing_and_emits_no_event(dag, tmp_path: Path, monkeypatch, capfd):
    root = copy_library(tmp_path, monkeypatch)
    set_translation(root, "pl", "Job offer abroad? Check first", "")
    url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    monkeypatch.setenv("SAFEPASSAGE_WAREHOUSE_URL", url)
    run = dag.test()
    assert str(run.state) == "failed"
    states = task_states(run)
    assert states["check_creatives"] == "failed"
    assert states["store_versions"] == "upstream_failed"
    assert asset_events(run.run_id) == []
    assert stored_versions(url) == 0
    output = "".join(capfd.readouterr())
    assert "missing Polish translation of «Job offer abroad? Check first»" in output
    assert "creatives/locale/pl/LC_MESSAGES/messages.po" in output
