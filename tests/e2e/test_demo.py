"""`make demo` end to end: the real CLI in its own process with a temporary data folder. It starts
its own Airflow (scheduler, dag-processor, triggerer, api-server) in data/demo/airflow/, publishes
each 2022 judgement as an analyst does, and the asset events drive targeting → budgets → push.

`make test` replays three weeks (`--until 2022-04-15`: the first judgement, its push, the backfill
and the report); `make proof` the whole campaign, as `make demo` does."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

# (last replayed day, judgements published by then): three weeks in make test, all of 2022 in proof.
SHORT = ("2022-04-15", 1)
WHOLE = ("2022-10-31", 8)


@pytest.mark.scheduler
@pytest.mark.slow
@pytest.mark.timeout(2700)
@pytest.mark.parametrize(
    ("until", "judgements"),
    [pytest.param(*SHORT, id="three-weeks"), pytest.param(*WHOLE, id="whole-2022", marks=pytest.mark.proof)],
)
def test_demo_replays_2022_through_the_real_scheduler_and_says_what_it_did(
    tmp_path: Path, until: str, judgements: int
) -> None:
    env = {**os.environ, "SAFEPASSAGE_DATA_DIR": str(tmp_path / "data")}
    env.pop("SAFEPASSAGE_EMULATORS_DESCRIPTOR", None)
    whole = (until, judgements) == WHOLE
    demo = subprocess.Popen(
        [sys.executable, "-m", "safepassage.cli", "demo", *([] if whole else ["--until", until])],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = demo.communicate(timeout=2400)
    except subprocess.TimeoutExpired:
        demo.terminate()  # SIGTERM: the demo stops the Airflow it started before it exits
        out, err = demo.communicate(timeout=120)
    assert demo.returncode == 0, out[-3000:] + err[-3000:]

    assert "every delivery figure it produces is simulated" in out
    assert "[info" not in out, "Airflow's own logs belong in its home, not on screen"
    months = re.findall(
        r"✓ (2022-\d\d-\d\d) push: run succeeded; (.*); ([0-9.]+) s from publish to updated ads", out
    )
    assert len(months) == judgements, out
    for day, plans, _ in months:  # both platforms pushed, every month
        assert "Google Ads plan" in plans and "Meta plan" in plans, (day, plans)
        assert set(re.findall(r"→ (\w+)", plans)) <= {"applied", "nothing_to_do"}, (day, plans)
    first_day, first_plans, _ = months[0]
    assert first_day == "2022-03-25" and first_plans.count("create") == 2, first_plans
    assert "Publish → updated ads:" in out and "make demo-ui" in out

    demo_dir = tmp_path / "data" / "demo"
    engine = create_engine(f"sqlite:///{demo_dir / 'warehouse.sqlite'}")
    with engine.connect() as connection:
        plans = connection.execute(
            text("SELECT platform_code, status, decided_by FROM push_plan ORDER BY id")
        ).all()
        requests = connection.execute(text("SELECT count(*) FROM apply_log WHERE outcome = 'ok'")).scalar()
        snapshots = connection.execute(text("SELECT valid_from FROM targeting_snapshot ORDER BY id")).all()
        pulled = connection.execute(
            text(
                "SELECT platform_code, min(date), max(date), count(*) FROM fact_daily_performance"
                " GROUP BY platform_code"
            )
        ).all()
    engine.dispose()
    # The backfill holds both platforms' daily rows for the whole replay.
    days = {platform: (str(first), str(last)) for platform, first, last, _ in pulled}
    last_day_reported = str(dt.date.fromisoformat(until) - dt.timedelta(days=1))  # a day's delay at most
    for platform in ("google_ads", "meta"):
        assert days[platform][0] == "2022-03-25" and days[platform][1] >= last_day_reported, days
    assert "✓ DAG pull_performance: run succeeded" in out and "✓ DAG impact_report: run succeeded" in out
    html = next((demo_dir / "report").glob(f"impact-report-2022-03-25-{until}*.html"))
    assert html.with_suffix(".pdf").stat().st_size > 10_000
    assert "people reached" in out and "2022 impact report" in out, "headline figures beside the brief's"
    assert len(plans) == 2 * judgements and len(snapshots) == judgements and requests
    assert all(str(day).startswith("2022-") for (day,) in snapshots), "the replay stayed in 2022"
    for platform in ("google_ads", "meta"):
        first_status, first_reviewer = next(row[1:] for row in plans if row[0] == platform)
        assert (first_status, first_reviewer) == ("applied", "make-demo"), "the first push needed a person"

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
        ("refresh_targeting", "asset_triggered"): judgements,
        ("allocate_budgets", "asset_triggered"): judgements,
        ("push_campaigns", "asset_triggered"): judgements + 1,
        ("pull_performance", "manual"): 1,
        ("impact_report", "asset_triggered"): 1,
    }, counted
    assert (demo_dir / "airflow" / "logs" / "dag_id=push_campaigns").is_dir(), "task logs stay in its home"
