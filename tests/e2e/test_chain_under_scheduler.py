"""The live chain under the real scheduler, with nobody triggering anything downstream:

* a new creative version wakes one push (skipped while no budget exists yet);
* a judgement published as an analyst does (`safepassage intel publish --via rest`) →
  refresh_targeting → allocate_budgets → exactly one push_campaigns run, which plans with the budgets
  allocated from that very targeting (the targeting event wakes no push);
* a budgets-only change (config/push.yaml) and a creatives-only change (a translation) each wake
  exactly one push;
* a revised judgement published on Redis (`--via redis`) wakes the chain through the triggerer's
  AssetWatcher, and its new targeting reaches the platform in exactly one push.

Every review is answered through Airflow's human-in-the-loop REST endpoint, for the followed run only.
`make proof` measures the publish → targeting latency both ways (test_judgement_event_latency.py).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from safepassage import settings
from safepassage.adapters.events import AirflowApi
from safepassage.adapters.warehouse import Warehouse
from safepassage.adapters.warehouse import models as m
from safepassage.orchestration.demo import Chain, ensure_pools, settled_reviewer, wait_for_dags
from safepassage.services.campaign_config import load_campaign_config
from safepassage.services.reference_data import sync_reference_data
from tests.creatives_helpers import set_translation
from tests.e2e import analyst
from tests.e2e.airflow_cluster import AirflowCluster, wait_for
from tests.judgement_samples import write_judgement

DAGS = ["render_creatives", "refresh_targeting", "allocate_budgets", "push_campaigns"]


@pytest.fixture
def chain(tmp_path: Path, sandbox: Any) -> Any:
    config_dir, creatives_dir = tmp_path / "config", tmp_path / "creatives"
    shutil.copytree(settings.config_dir(), config_dir)
    shutil.copytree(settings.creatives_dir(), creatives_dir)
    warehouse_url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    warehouse = Warehouse(warehouse_url)
    warehouse.migrate()
    sync_reference_data(load_campaign_config(), warehouse)
    cluster = AirflowCluster(
        tmp_path / "airflow",
        [settings.PROJECT_ROOT / "dags" / f"{dag_id}.py" for dag_id in DAGS],
        {
            "SAFEPASSAGE_WAREHOUSE_URL": warehouse_url,
            "SAFEPASSAGE_CONFIG_DIR": str(config_dir),
            "SAFEPASSAGE_CREATIVES_DIR": str(creatives_dir),
            "SAFEPASSAGE_SANDBOX_DESCRIPTOR": str(sandbox.write_descriptor(tmp_path / "descriptor.json")),
            "SAFEPASSAGE_JUDGEMENT_CHANNEL": f"safepassage.test.{tmp_path.name}",
            "SAFEPASSAGE_JUDGEMENT_POLL_SECONDS": "0.1",
            f"AIRFLOW_CONN_{settings.REDIS_CONN_ID.upper()}": settings.redis_url(),
        },
    )
    try:
        cluster.start()
        api = AirflowApi(cluster.api_url, cluster.token())
        wait_for_dags(cluster, api, DAGS)
        ensure_pools(api)
        cluster.assert_listens_on_loopback_only()  # scheduler, dag-processor, triggerer, api-server

        yield (
            Chain(api, review=settled_reviewer(api, note="test")),
            cluster,
            warehouse,
            config_dir,
            creatives_dir,
            tmp_path,
        )
    finally:
        cluster.dispose()
        cluster.stop()
        warehouse.dispose()


def woken(chain: Chain, event: dict[str, Any]) -> set[str]:
    """The DAGs an event woke, read back after its consumers ran."""
    (found,) = [
        e
        for e in chain.api.asset_events(asset_id=event["asset_id"], timestamp_gte=event["timestamp"])
        if e["id"] == event["id"]
    ]
    return {run["dag_id"] for run in found["created_dagruns"]}


def push_runs(cluster: AirflowCluster) -> int:
    return int(cluster.query("SELECT count(*) AS n FROM dag_run WHERE dag_id = 'push_campaigns'")[0]["n"])


def plan_of(warehouse: Warehouse, run_id: str, platform: str = "google_ads") -> m.PushPlan:
    """The run's plan for one platform (a push plans every Google Ads and Meta account)."""
    with warehouse.session() as session:
        (plan,) = session.scalars(
            select(m.PushPlan).where(m.PushPlan.dag_run_id == run_id, m.PushPlan.platform_code == platform)
        ).all()
        session.expunge(plan)
        return plan


def planned_budgets(plan: m.PushPlan) -> dict[str, int]:
    return {
        node["country"]: int(node["fields"]["amount_micros"])
        for node in plan.summary["desired"]
        if node["kind"] == "campaign_budget"
    }


def allocation(warehouse: Warehouse, allocation_id: int) -> tuple[dict[str, Any], dict[str, int]]:
    with warehouse.session() as session:
        row = session.get(m.BudgetAllocation, allocation_id)
        assert row is not None
        lines = session.scalars(
            select(m.BudgetAllocationLine).where(
                m.BudgetAllocationLine.allocation_id == allocation_id,
                m.BudgetAllocationLine.platform_code == "google_ads",
            )
        ).all()
        return dict(row.inputs), {line.country_code: line.daily_amount_minor * 10_000 for line in lines}


@pytest.mark.scheduler
@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_each_change_reaches_the_platform_in_exactly_one_push(chain: Any) -> None:
    follow, cluster, warehouse, config_dir, creatives_dir, tmp_path = chain

    # Creatives first: the push they wake has no budget to plan with yet, and says so.
    rendered = follow.trigger("render_creatives")
    creatives_event = follow.produced(rendered, "creatives")
    assert creatives_event is not None
    first_push = follow.woken_by(creatives_event, "push_campaigns")
    assert first_push.skipped_all and push_runs(cluster) == 1

    # A judgement published as an analyst does: the CLI stores it, then sends the REST event. Nothing
    # else is triggered.
    today = dt.datetime.now(dt.UTC).date()
    start, end = today - dt.timedelta(days=1), today + dt.timedelta(days=30)
    judgement = write_judgement(tmp_path, start=start, end=end)
    published_at = analyst.publish(analyst.rest_env(cluster.env, follow.api), judgement, "rest")
    published = analyst.judgement_event(follow.api, published_at)
    targeting = follow.produced(follow.woken_by(published, "refresh_targeting"), "targeting")
    assert targeting is not None
    allocated = follow.woken_by(targeting, "allocate_budgets")
    budgets = follow.produced(allocated, "budgets")
    assert budgets is not None
    push = follow.woken_by(budgets, "push_campaigns")
    assert woken(follow, targeting) == {"allocate_budgets"}, "targeting must reach the push only via budgets"
    assert push_runs(cluster) == 2, "one judgement, one push"

    plan = plan_of(warehouse, push.run_id)
    assert plan.status == "applied" and plan.decided_by is not None  # a first push is reviewed
    inputs, allocated_micros = allocation(warehouse, int(budgets["extra"]["allocation_id"]))
    assert inputs["targeting_snapshot_id"] == targeting["extra"]["snapshot_id"]
    assert planned_budgets(plan) == {code: micros for code, micros in allocated_micros.items() if micros}
    assert "PL" in planned_budgets(plan)

    # Budgets only: a new daily budget, allocated by hand; one push applies it.
    push_yaml = config_dir / "push.yaml"
    push_yaml.write_text(
        push_yaml.read_text(encoding="utf-8").replace("daily_budget: 1500.00", "daily_budget: 1300.00"),
        "utf-8",
    )
    reallocated = follow.trigger("allocate_budgets")
    new_budgets = follow.produced(reallocated, "budgets")
    assert new_budgets is not None
    budget_push = follow.woken_by(new_budgets, "push_campaigns")
    budget_plan = plan_of(warehouse, budget_push.run_id)
    assert budget_plan.status == "applied" and budget_plan.summary["counts"].get("update")
    _, reallocated_micros = allocation(warehouse, int(new_budgets["extra"]["allocation_id"]))
    assert planned_budgets(budget_plan) == {
        code: micros for code, micros in reallocated_micros.items() if micros
    }
    assert push_runs(cluster) == 3

    # Creatives only: one corrected Ukrainian headline (the judgement targets PL in uk and ru); one
    # push ships the new version.
    set_translation(creatives_dir, "uk", "Job offer abroad? Check first", "Робота за кордоном? Перевір!")
    rerendered = follow.trigger("render_creatives")
    new_creatives = follow.produced(rerendered, "creatives")
    assert new_creatives is not None and new_creatives["extra"]["new_versions"] > 0
    creative_push = follow.woken_by(new_creatives, "push_campaigns")
    creative_plan = plan_of(warehouse, creative_push.run_id)
    assert creative_plan.status == "applied"
    assert any(op["kind"] == "ad_group_ad" for op in creative_plan.operations), creative_plan.summary[
        "counts"
    ]
    assert push_runs(cluster) == 4

    # A revised judgement (the Medyka hotspot's radius widened to 25 km) published on Redis: the
    # triggerer's AssetWatcher turns the message into the event. Pub/sub keeps nothing, so a message
    # sent while the watcher re-subscribes can be lost: then nothing ran, and it is sent again.
    channel = cluster.env["SAFEPASSAGE_JUDGEMENT_CHANNEL"]
    revised = write_judgement(tmp_path, start=start, end=end, replace=(("radius_km: 10", "radius_km: 25"),))
    for _attempt in range(3):
        wait_for("the AssetWatcher to subscribe", lambda: analyst.subscribers(channel) >= 1, 180)
        published_at = analyst.publish(cluster.env, revised, "redis")
        try:
            on_redis = analyst.judgement_event(follow.api, published_at)
            break
        except TimeoutError:
            continue
    else:
        pytest.fail("three Redis publishes in a row woke nothing\n" + cluster.log_tail("triggerer"))
    retargeted = follow.woken_by(on_redis, "refresh_targeting")
    new_targeting = follow.produced(retargeted, "targeting")
    assert new_targeting is not None
    print(
        f"\nRedis publish → targeting event: "
        f"{(dt.datetime.fromisoformat(new_targeting['timestamp']) - published_at).total_seconds():.1f} s"
    )
    moved = follow.produced(follow.woken_by(new_targeting, "allocate_budgets"), "budgets")
    assert moved is not None
    revised_push = follow.woken_by(moved, "push_campaigns")
    revised_plan = plan_of(warehouse, revised_push.run_id)
    _, moved_micros = allocation(warehouse, int(moved["extra"]["allocation_id"]))
    assert revised_plan.status == "applied"
    assert planned_budgets(revised_plan) == {code: micros for code, micros in moved_micros.items() if micros}
    assert push_runs(cluster) == 5
