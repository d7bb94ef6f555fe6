"""`make demo` end to end: the real CLI in its own process, with this session's Airflow home and a
temporary data folder, replaying 2022 through the real DAGs against the sandbox."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text


@pytest.mark.slow
def test_demo_replays_2022_through_the_dags_and_says_what_it_did(airflow_db: Path, tmp_path: Path) -> None:
    env = {**os.environ, "SAFEPASSAGE_DATA_DIR": str(tmp_path / "data")}
    env.pop("SAFEPASSAGE_SANDBOX_DESCRIPTOR", None)
    result = subprocess.run(
        [sys.executable, "-m", "safepassage.cli", "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout

    assert "every delivery figure it produces is simulated" in out
    assert "[info" not in out, "Airflow's own log belongs in data/demo-logs, not on screen"
    months = re.findall(
        r"✓ (2022-\d\d-\d\d) push: run succeeded; plan \d+ for account \d+: ([^→]+)→ (\w+)", out
    )
    assert len(months) == 8, out
    assert all(status in {"applied", "nothing_to_do"} for _, _, status in months)
    assert months[0][0] == "2022-03-25" and "create" in months[0][1]
    assert "Where to look" in out

    demo_dir = tmp_path / "data" / "demo"
    engine = create_engine(f"sqlite:///{demo_dir / 'warehouse.sqlite'}")
    with engine.connect() as connection:
        plans = connection.execute(text("SELECT status, decided_by FROM push_plan ORDER BY id")).all()
        requests = connection.execute(text("SELECT count(*) FROM apply_log WHERE outcome = 'ok'")).scalar()
        snapshots = connection.execute(text("SELECT count(*) FROM targeting_snapshot")).scalar()
    engine.dispose()
    assert len(plans) == 8 and snapshots == 8 and requests
    first_status, first_reviewer = plans[0]
    assert first_status == "applied" and first_reviewer == "make-demo", "the first push needed a person"
    for dag_id in (
        "sync_reference_data",
        "render_creatives",
        "refresh_targeting",
        "allocate_budgets",
        "push_campaigns",
    ):
        assert (tmp_path / "data" / "demo-logs" / f"{dag_id}.log").stat().st_size > 0
