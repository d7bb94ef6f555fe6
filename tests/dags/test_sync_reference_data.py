"""The reference-data DAG, run for real with dag.test() against a temporary warehouse."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from safepassage.adapters.warehouse import Warehouse
from safepassage.adapters.warehouse import models as m


def test_sync_reference_data_fills_the_warehouse(
    airflow_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState

    url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    monkeypatch.setenv("SAFEPASSAGE_WAREHOUSE_URL", url)
    dag = DagBag(dag_folder=str(Path(__file__).parents[2] / "dags")).dags["sync_reference_data"]

    run = dag.test()

    assert run.state == DagRunState.SUCCESS
    store = Warehouse(url)
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(m.Country)) == 19
        assert session.scalar(select(func.count()).select_from(m.SupportOrganisation)) == 39
    store.dispose()
