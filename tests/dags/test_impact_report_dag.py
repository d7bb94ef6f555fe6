"""The impact_report DAG, run for real with dag.test() against the hand-built warehouse."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from safepassage.adapters.warehouse import Warehouse
from safepassage.services.campaign_config import load_campaign_config
from safepassage.services.reference_data import sync_reference_data
from tests.impact_warehouse import build


def test_impact_report_writes_report_and_export(
    airflow_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState

    url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    monkeypatch.setenv("SAFEPASSAGE_WAREHOUSE_URL", url)
    monkeypatch.setenv("SAFEPASSAGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SAFEPASSAGE_INTELLIGENCE_DIR", str(tmp_path))  # outcomes/ = the hand-built file
    store = Warehouse(url)
    store.migrate()
    sync_reference_data(load_campaign_config(), store)
    build(store, tmp_path / "outcomes")
    store.dispose()
    dag = DagBag(dag_folder=str(Path(__file__).parents[2] / "dags")).dags["impact_report"]
    assert "/safepassage/impact" in (dag.doc_md or "")

    run = dag.test(run_conf={"from": "2022-04-01", "to": "2022-05-31"})

    assert run.state == DagRunState.SUCCESS
    folder = tmp_path / "data" / "reports" / "2022-04-01_2022-05-31"
    page = (folder / "impact-report-2022-04-01-2022-05-31.html").read_text(encoding="utf-8")
    assert "2,500 – 4,000" in page and "partner-reported" in page
    assert (folder / "impact-report-2022-04-01-2022-05-31.pdf").read_bytes().startswith(b"%PDF")
    with (folder / "partner-export.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert not [r for r in rows if r["value"] and 0 < int(r["value"]) < 10]
    assert (folder / "partner-export.dictionary.md").exists()
    assert (folder / "products" / "key-judgements-en.pdf").exists()
