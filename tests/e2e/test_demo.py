"""`make demo`'s runner, end to end, in the test session's own Airflow home and data folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from safepassage import settings


def test_demo_sets_up_and_runs_every_demo_dag(airflow_db: Path, capfd: pytest.CaptureFixture[str]) -> None:
    from safepassage.orchestration.demo import DEMO_DAGS, run_demo

    report = run_demo()

    out = capfd.readouterr().out
    steps = [name for name, _ in report.steps]
    assert steps[:3] == ["Airflow metadata database", "Campaign configuration", "Warehouse"]
    assert [s.removeprefix("DAG ") for s in steps[3:]] == DEMO_DAGS
    assert "Where to look" in out
    for dag_id in DEMO_DAGS:
        assert (settings.data_dir() / "demo-logs" / f"{dag_id}.log").stat().st_size > 0
    assert (settings.data_dir() / "warehouse.sqlite").exists()
