"""`make demo`'s runner, end to end, in the test session's own Airflow home and data folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from safepassage import settings


def test_demo_replays_the_campaign_through_the_real_dags(
    airflow_db: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from safepassage.orchestration.demo import DEMO_DAGS, run_demo

    report = run_demo()

    out = capfd.readouterr().out
    steps = [name for name, _ in report.steps]
    assert steps[:3] == ["Airflow metadata database", "Campaign configuration", "Warehouse"]
    ran = [dag_id for dag_id, _ in report.dag_runs]
    assert set(ran) == set(DEMO_DAGS)
    assert all(state == "success" for _, state in report.dag_runs)
    assert ran.count("refresh_targeting") == 8, "one targeting refresh per 2022 key judgement"
    assert "2022-03-25 refresh_targeting" in steps and "2022-10-14 refresh_targeting" in steps
    assert "Where to look" in out
    for dag_id in DEMO_DAGS:
        assert (settings.data_dir() / "demo-logs" / f"{dag_id}.log").stat().st_size > 0
