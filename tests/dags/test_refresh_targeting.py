"""refresh_targeting: DAG integrity, its schedule (time OR key judgement events), and dag.test()."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from safepassage import settings
from safepassage.adapters.warehouse import Warehouse
from safepassage.adapters.warehouse import models as m
from safepassage.services.campaign_config import load_campaign_config
from safepassage.services.intelligence import check_files, publish

DAGS = settings.PROJECT_ROOT / "dags"


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


@pytest.fixture
def sqlite_warehouse(tmp_path, monkeypatch) -> Warehouse:
    monkeypatch.setenv("SAFEPASSAGE_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
    store = Warehouse()
    store.migrate()
    return store


def test_dag_imports_and_is_wired_as_designed(dagbag):
    from airflow.sdk import AssetOrTimeSchedule

    assert not dagbag.import_errors
    dag = dagbag.dags["refresh_targeting"]
    assert dag.doc_md and "Refresh targeting" in dag.doc_md
    assert {"safepassage", "targeting"} <= set(dag.tags)
    assert dag.catchup is False and dag.max_active_runs == 1
    assert isinstance(dag.timetable, AssetOrTimeSchedule)
    assert dag.timetable.timetable.expression == "0 5 * * *"
    asset = dag.timetable.asset_condition
    assert asset.name == "key_judgements"
    (watcher,) = asset.watchers
    classpath, kwargs = watcher.trigger.serialize()
    assert classpath.endswith("AwaitMessageTrigger")
    assert kwargs["channels"] == [settings.judgement_channel()]
    assert kwargs["poll_interval"] <= 1, "the provider's 60 s default would make events slow"
    (task,) = dag.tasks
    assert [outlet.name for outlet in task.outlets] == ["targeting"]
    assert task.owner == "safepassage-ops" and task.retries >= 1


def test_the_watcher_serializes_as_the_common_messaging_trigger_would():
    """The parse-time stand-in hands the triggerer exactly what MessageQueueTrigger resolves to."""
    from airflow.providers.common.messaging.triggers.msg_queue import MessageQueueTrigger

    from safepassage.orchestration.triggers import judgement_trigger_kwargs, judgement_watchers

    (watcher,) = judgement_watchers()
    reference = MessageQueueTrigger(scheme="redis+pubsub", **judgement_trigger_kwargs())
    assert watcher.trigger.serialize() == reference.serialize()
    assert watcher.trigger.serialize()[1]["redis_conn_id"] == settings.REDIS_CONN_ID


def asset_events(run_id: str) -> list[dict]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.execute(
            select(AssetEvent.extra)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetModel.name == "targeting", AssetEvent.source_run_id == run_id)
        ).all()
        return [dict(row.extra or {}) for row in rows]


def snapshot_count(sqlite_warehouse: Warehouse) -> int:
    with sqlite_warehouse.session() as session:
        return int(session.scalar(select(func.count()).select_from(m.TargetingSnapshot)) or 0)


@pytest.mark.slow
def test_dag_test_stores_a_snapshot_once_and_emits_the_targeting_event(dagbag, airflow_db, sqlite_warehouse):
    publish(check_files([settings.PROJECT_ROOT / "intelligence"], load_campaign_config()), sqlite_warehouse)
    dag = dagbag.dags["refresh_targeting"]

    first = dag.test(run_conf={"as_of": "2022-03-28"})
    assert first.state == "success"
    assert snapshot_count(sqlite_warehouse) == 1
    (extra,) = asset_events(first.run_id)
    assert extra["judgement_id"] == "kj-2022-03-25-border-crossings" and extra["snapshot_id"] == 1

    again = dag.test(run_conf={"as_of": "2022-04-03"})
    (task_instance,) = again.get_task_instances()
    assert task_instance.state == "skipped"  # unchanged: nothing stored, nobody woken
    assert snapshot_count(sqlite_warehouse) == 1
    assert asset_events(again.run_id) == []


@pytest.mark.slow
def test_a_broken_judgement_fails_the_run_and_changes_nothing(dagbag, airflow_db, sqlite_warehouse):
    publish(check_files([settings.PROJECT_ROOT / "intelligence"], load_campaign_config()), sqlite_warehouse)
    with sqlite_warehouse.session() as session:
        record = session.get(m.KeyJudgementRecord, "kj-2022-03-25-border-crossings")
        record.document = {**record.document, "sources": []}
    run = dagbag.dags["refresh_targeting"].test(run_conf={"as_of": "2022-03-28"})
    (task_instance,) = run.get_task_instances()
    assert task_instance.state == "failed"
    assert task_instance.try_number == 1, "bad input must not be retried"
    assert snapshot_count(sqlite_warehouse) == 0
    assert asset_events(run.run_id) == []


def test_dag_file_top_level_stays_light():
    source = Path(DAGS / "refresh_targeting.py").read_text(encoding="utf-8")
    top_level = source.split("def refresh_targeting()")[0]
    for heavy in ("safepassage.services", "safepassage.adapters", "sqlalchemy", "redis", "Variable"):
        assert heavy not in top_level


@pytest.mark.slow
def test_a_replay_is_refused_where_a_live_ad_account_is_configured(
    dagbag, airflow_db, sqlite_warehouse, monkeypatch
):
    import json

    publish(check_files([settings.PROJECT_ROOT / "intelligence"], load_campaign_config()), sqlite_warehouse)
    monkeypatch.delenv("SAFEPASSAGE_EMULATORS_DESCRIPTOR", raising=False)
    monkeypatch.setenv(  # a live Google Ads account (never called: the run stops before any push)
        "AIRFLOW_CONN_GOOGLE_ADS_DEFAULT",
        json.dumps({"conn_type": "google_ads", "extra": {"google_ads_client": {"developer_token": "x"}}}),
    )
    dag = dagbag.dags["refresh_targeting"]

    refused = dag.test(run_conf={"as_of": "2022-05-25"})
    (task_instance,) = refused.get_task_instances()
    assert task_instance.state == "failed" and task_instance.try_number == 1
    assert snapshot_count(sqlite_warehouse) == 0 and asset_events(refused.run_id) == []

    asked = dag.test(run_conf={"as_of": "2022-05-25", "replay_on_live": True})
    assert asked.state == "success" and snapshot_count(sqlite_warehouse) == 1
    (extra,) = asset_events(asked.run_id)
    assert extra["replay_day"] == "2022-05-25", "the next DAG replays the same day"
