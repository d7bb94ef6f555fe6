"""`make demo` end to end: the real CLI in its own process with a temporary data folder. It starts
its own Airflow (scheduler, dag-processor, triggerer, api-server) in data/demo/airflow/, publishes
each 2022 judgement as an analyst does, and the asset events drive targeting → budgets → push."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text


@pytest.mark.scheduler
@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_demo_replays_2022_through_the_real_scheduler_and_says_what_it_did(tmp_path: Path) -> None:
    env = {**os.environ, "SAFEPASSAGE_DATA_DIR": str(tmp_path / "data")}
    env.pop("SAFEPASSAGE_SANDBOX_DESCRIPTOR", None)
    result = subprocess.run(
        [sys.executable, "-m", "safepassage.cli", "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=1700,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout

    assert "every delivery figure it produces is simulated" in out
    assert "[info" not in out, "Airflow's own logs belong in its home, not on screen"
    months = re.findall(
        r"✓ (2022-\d\d-\d\d) push: run succeeded; plan \d+ for account \d+: ([^→]+)→ (\w+)"
        r"[^;]*; ([0-9.]+) s from publish to updated ads",
        out,
    )
    assert len(months) == 8, out
    assert all(status in {"applied", "nothing_to_do"} for _, _, status, _ in months)
    assert months[0][0] == "2022-03-25" and "create" in months[0][1]
    assert "Publish → updated ads:" in out and "make demo-ui" in out

    demo_dir = tmp_path / "data" / "demo"
    engine = create_engine(f"sqlite:///{demo_dir / 'warehouse.sqlite'}")
    with engine.connect() as connection:
        plans = connection.execute(text("SELECT status, decided_by FROM push_plan ORDER BY id")).all()
        requests = connection.execute(text("SELECT count(*) FROM apply_log WHERE outcome = 'ok'")).scalar()
        snapshots = connection.execute(text("SELECT valid_from FROM targeting_snapshot ORDER BY id")).all()
    engine.dispose()
    assert len(plans) == 8 and len(snapshots) == 8 and requests
    assert all(str(day).startswith("2022-") for (day,) in snapshots), "the replay stayed in 2022"
    first_status, first_reviewer = plans[0]
    assert first_status == "applied" and first_reviewer == "make-demo", "the first push needed a person"

    # The demo's own Airflow: every targeting, budget and push run was started by an event, one push
    # per judgement (and one for the first creatives, with nothing to push yet).
    airflow = create_engine(f"sqlite:///{demo_dir / 'airflow' / 'airflow.db'}")
    with airflow.connect() as connection:
        runs = connection.execute(
            text("SELECT dag_id, run_type, count(*) FROM dag_run GROUP BY dag_id, run_type")
        ).all()
    airflow.dispose()
    counted = {(dag_id, run_type): n for dag_id, run_type, n in runs}
    assert counted == {
        ("sync_reference_data", "manual"): 1,
        ("render_creatives", "asset_triggered"): 1,
        ("refresh_targeting", "asset_triggered"): 8,
        ("allocate_budgets", "asset_triggered"): 8,
        ("push_campaigns", "asset_triggered"): 9,
    }, counted
    assert (demo_dir / "airflow" / "logs" / "dag_id=push_campaigns").is_dir(), "task logs stay in its home"
