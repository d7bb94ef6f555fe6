"""`pull_performance` runs for real with dag.test(): a backfill over both platforms of the emulators."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from safepassage.adapters.warehouse import Warehouse
from safepassage.adapters.warehouse import models as m
from safepassage.services.campaign_config import load_campaign_config
from safepassage.services.reference_data import sync_reference_data
from tests.adapters.performance_fixtures import google_campaigns, meta_campaigns

DAGS = Path(__file__).parents[2] / "dags"


@pytest.fixture(scope="module")
def dagbag(airflow_db: Path) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


@pytest.mark.slow
def test_a_backfill_run_pulls_every_account_and_a_rerun_changes_nothing(
    dagbag: Any,
    emulators: Any,
    google_ads_client: Any,
    meta_api: Any,
    emulators_descriptor_env: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow.utils.state import DagRunState

    url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    monkeypatch.setenv("SAFEPASSAGE_WAREHOUSE_URL", url)
    monkeypatch.setenv("AIRFLOW__CORE__HOSTNAME_CALLABLE", "tests.push_support.loopback_hostname")
    warehouse = Warehouse(url)
    warehouse.migrate()
    sync_reference_data(load_campaign_config(), warehouse)
    google_campaigns(google_ads_client, emulators.customer_ids[0])
    meta_campaigns(emulators.descriptor["meta"]["ad_account_ids"][0], campaigns=1)
    emulators.clock.set(dt.datetime(2022, 4, 20, tzinfo=dt.UTC))
    conf = {"from": "2022-03-25", "to": "2022-04-19"}

    dag = dagbag.dags["pull_performance"]
    run = dag.test(run_conf=conf)
    assert run.state == DagRunState.SUCCESS
    first = warehouse.performance.window_checksum()
    assert dag.test(run_conf=conf).state == DagRunState.SUCCESS
    assert warehouse.performance.window_checksum() == first

    with warehouse.session() as session:
        spans = session.execute(
            select(
                m.DailyPerformance.platform_code,
                func.min(m.DailyPerformance.date),
                func.max(m.DailyPerformance.date),
            ).group_by(m.DailyPerformance.platform_code)
        ).all()
    assert {p: (str(lo), str(hi)) for p, lo, hi in spans} == {
        "google_ads": ("2022-03-25", "2022-04-19"),
        "meta": ("2022-03-25", "2022-04-19"),
    }
    warehouse.dispose()
