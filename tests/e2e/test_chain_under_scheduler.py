"""The ops staff's first hour, then the live chain under the real scheduler, nobody triggering anything
downstream. Airflow is started as the README says (`make airflow`, a fresh home) and driven only
through its public REST API (token, unpause, trigger, HITL answers), the analyst's CLI and files:

* a fresh `make airflow` has its pools and warehouse schema before the first task (its terminal says
  so) and listens on 127.0.0.1 only; the dashboard says which DAGs to switch on, and warns when a DAG
  switched on waits for one still paused;
* sync_reference_data → render_creatives → a push, skipped while no budget exists yet;
* a judgement published as an analyst does (`safepassage intel publish --via rest`) →
  refresh_targeting → allocate_budgets → exactly one push_campaigns run, approved once, planned with
  the budgets allocated from that very targeting (the targeting event wakes no push), its plan and
  apply tasks run in their platform pools, and the ads read back through the official SDKs;
* a budgets-only change (config/push.yaml) and a creatives-only change (a translation) each wake
  exactly one push;
* a revised judgement published on Redis (`--via redis`) wakes the chain through the triggerer's
  AssetWatcher, and its new targeting reaches the platform in exactly one push;
* a pool deleted by hand: the waiting task is named on the dashboard and in `make airflow`'s
  terminal, and `safepassage init` lets the run finish.

Every review is answered through Airflow's human-in-the-loop REST endpoint, for the followed run only.
`make proof` measures the publish → targeting latency both ways (test_judgement_event_latency.py).
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from safepassage import settings
from safepassage.adapters.events import AirflowApi
from safepassage.adapters.warehouse import Warehouse
from safepassage.adapters.warehouse import models as m
from safepassage.orchestration.pools import GOOGLE_ADS_POOL, META_POOL
from safepassage_dev.demo import Chain, settled_reviewer, wait_for_dags
from tests.creatives_helpers import set_translation
from tests.e2e import analyst
from tests.e2e.airflow_cluster import wait_for
from tests.e2e.make_airflow import MakeAirflow
from tests.judgement_samples import write_judgement

CHAIN = ["sync_reference_data", "render_creatives", "refresh_targeting", "allocate_budgets", "push_campaigns"]
PLATFORM_TASKS = {
    "plan_account": GOOGLE_ADS_POOL,
    "apply_account": GOOGLE_ADS_POOL,
    "plan_meta_account": META_POOL,
    "apply_meta_account": META_POOL,
}


@pytest.fixture
def chain(tmp_path: Path, emulators: Any) -> Any:
    config_dir, creatives_dir = tmp_path / "config", tmp_path / "creatives"
    shutil.copytree(settings.config_dir(), config_dir)
    shutil.copytree(settings.creatives_dir(), creatives_dir)
    warehouse_url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    airflow = MakeAirflow(
        tmp_path / "airflow",
        {
            "SAFEPASSAGE_WAREHOUSE_URL": warehouse_url,
            "SAFEPASSAGE_CONFIG_DIR": str(config_dir),
            "SAFEPASSAGE_CREATIVES_DIR": str(creatives_dir),
            "SAFEPASSAGE_EMULATORS_DESCRIPTOR": str(emulators.write_descriptor(tmp_path / "descriptor.json")),
            "SAFEPASSAGE_JUDGEMENT_CHANNEL": f"safepassage.test.{tmp_path.name}",
            "SAFEPASSAGE_JUDGEMENT_POLL_SECONDS": "0.1",
        },
    )
    warehouse = Warehouse(warehouse_url)
    try:
        airflow.start()
        api = airflow.api()
        wait_for_dags(airflow, api, CHAIN)
        airflow.assert_listens_on_loopback_only()  # scheduler, dag-processor, triggerer, api-server
        yield (
            Chain(api, review=settled_reviewer(api, note="test")),
            airflow,
            warehouse,
            config_dir,
            creatives_dir,
            tmp_path,
        )
    finally:
        airflow.stop()
        warehouse.dispose()


def woken(chain: Chain, event: dict[str, Any]) -> set[str]:
    """The DAGs an event woke, read back after its consumers ran."""
    (found,) = [
        e
        for e in chain.api.asset_events(asset_id=event["asset_id"], timestamp_gte=event["timestamp"])
        if e["id"] == event["id"]
    ]
    return {run["dag_id"] for run in found["created_dagruns"]}


def push_runs(api: AirflowApi) -> int:
    return int(api.call("GET", "/api/v2/dags/push_campaigns/dagRuns", params={"limit": 1})["total_entries"])


def dashboard_alerts(api: AirflowApi) -> list[str]:
    """The alerts the Airflow UI shows on its dashboard (what its home page reads)."""
    return [alert["text"] for alert in api.call("GET", "/ui/config")["dashboard_alert"]]


def set_paused(api: AirflowApi, dag_id: str, paused: bool) -> None:
    api.call("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": paused})


def task_pools(api: AirflowApi, dag_id: str, run_id: str) -> dict[str, set[tuple[str, str]]]:
    """Per task id: the (pool, state) pairs of its instances (mapped tasks have one per account)."""
    found: dict[str, set[tuple[str, str]]] = {}
    for ti in api.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]:
        found.setdefault(ti["task_id"], set()).add((ti["pool"], ti["state"]))
    return found


def live_ads(emulators: Any, google_ads_client: Any, meta_api: Any) -> tuple[set[str], set[str]]:
    """Country × language names of the enabled Google Ads campaigns and the active Meta ad sets, read
    back through the official SDKs."""
    from facebook_business.adobjects.adaccount import AdAccount

    service = google_ads_client.get_service("GoogleAdsService")
    google = {
        row.campaign.name
        for customer in emulators.descriptor["google_ads"]["customer_ids"]
        for row in service.search(
            customer_id=customer,
            query="SELECT campaign.name FROM campaign WHERE campaign.status = 'ENABLED'",
        )
    }
    meta = {
        ad_set["name"]
        for account in emulators.descriptor["meta"]["ad_account_ids"]
        for ad_set in AdAccount(account, api=meta_api).get_ad_sets(fields=["name", "effective_status"])
        if ad_set["effective_status"] == "ACTIVE"
    }
    return google, meta


def plan_of(warehouse: Warehouse, run_id: str, platform: str = "google_ads") -> m.PushPlan:
    """The run's plan for one platform (a push plans every Google Ads and Meta account)."""
    with warehouse.session() as session:
        (plan,) = session.scalars(
            select(m.PushPlan).where(m.PushPlan.dag_run_id == run_id, m.PushPlan.platform_code == platform)
        ).all()
        session.expunge(plan)
        return plan


def planned(plan: m.PushPlan, kind: str) -> set[str]:
    return {node["key"] for node in plan.summary["desired"] if node["kind"] == kind}


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
def test_ops_first_hour_then_each_change_reaches_the_platform_in_exactly_one_push(
    chain: Any, emulators: Any, google_ads_client: Any, meta_api: Any
) -> None:
    follow, airflow, warehouse, config_dir, creatives_dir, tmp_path = chain
    api = follow.api

    # A fresh `make airflow`: pools and warehouse made before any task, every DAG paused, and the
    # terminal and the dashboard say what to switch on.
    terminal = airflow.output()
    assert f"Pool {GOOGLE_ADS_POOL}: 4 slots" in terminal and f"Pool {META_POOL}: 4 slots" in terminal
    assert {pool["name"] for pool in api.call("GET", "/api/v2/pools")["pools"]} >= {
        GOOGLE_ADS_POOL,
        META_POOL,
    }
    wait_for("the paused-DAGs line", lambda: "All 8 DAGs are paused" in airflow.output(), 60)
    wait_for("the dashboard", lambda: any("All 8 DAGs are paused" in a for a in dashboard_alerts(api)), 30)

    # Switched on out of order: the dashboard warns that render_creatives waits for a paused DAG.
    # (The dashboard re-checks at most every 5 s.)
    for dag_id in reversed(CHAIN[1:]):
        set_paused(api, dag_id, False)
    (warning,) = wait_for(
        "the paused-upstream warning",
        lambda: [alert for alert in dashboard_alerts(api) if "is on but waits" in alert],
        30,
        0.5,
    )
    assert "render_creatives" in warning and "sync_reference_data" in warning
    set_paused(api, "sync_reference_data", False)
    # all five on, pools and (emulated) platforms in place: nothing to say
    wait_for("a dashboard with nothing to say", lambda: dashboard_alerts(api) == [], 30, 0.5)

    # Reference data wakes the renderer; the push its creatives wake has no budget yet, and says so.
    synced = follow.trigger("sync_reference_data")
    reference = follow.produced(synced, "reference_data")
    assert reference is not None
    creatives_event = follow.produced(follow.woken_by(reference, "render_creatives"), "creatives")
    assert creatives_event is not None
    first_push = follow.woken_by(creatives_event, "push_campaigns")
    assert first_push.skipped_all and push_runs(api) == 1

    # A judgement published as an analyst does: the CLI stores it, then sends the REST event. Nothing
    # else is triggered.
    today = dt.datetime.now(dt.UTC).date()
    start, end = today - dt.timedelta(days=1), today + dt.timedelta(days=30)
    judgement = write_judgement(tmp_path, start=start, end=end)
    published_at = analyst.publish(analyst.rest_env(airflow.env, api), judgement, "rest")
    published = analyst.judgement_event(api, published_at)
    targeting = follow.produced(follow.woken_by(published, "refresh_targeting"), "targeting")
    assert targeting is not None
    allocated = follow.woken_by(targeting, "allocate_budgets")
    budgets = follow.produced(allocated, "budgets")
    assert budgets is not None
    push = follow.woken_by(budgets, "push_campaigns")
    assert woken(follow, targeting) == {"allocate_budgets"}, "targeting must reach the push only via budgets"
    assert push_runs(api) == 2, "one judgement, one push"

    # Its platform tasks ran in their platform pools, and the ads are live on both platforms.
    pools = task_pools(api, "push_campaigns", push.run_id)
    for task_id, pool in PLATFORM_TASKS.items():
        assert pools[task_id] == {(pool, "success")}, (task_id, pools[task_id])

    plan = plan_of(warehouse, push.run_id)
    assert plan.status == "applied" and plan.decided_by is not None  # a first push is reviewed
    inputs, allocated_micros = allocation(warehouse, int(budgets["extra"]["allocation_id"]))
    assert inputs["targeting_snapshot_id"] == targeting["extra"]["snapshot_id"]
    assert planned_budgets(plan) == {code: micros for code, micros in allocated_micros.items() if micros}
    assert "PL" in planned_budgets(plan)
    google_ads, meta_ad_sets = live_ads(emulators, google_ads_client, meta_api)
    assert any(name.startswith("SP|PL|") for name in google_ads | meta_ad_sets)
    assert google_ads == planned(plan, "campaign") and meta_ad_sets == planned(
        plan_of(warehouse, push.run_id, "meta"), "adset"
    ), "every planned campaign and ad set is live, and nothing else"

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
    assert push_runs(api) == 3

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
    assert push_runs(api) == 4

    # A revised judgement (the Medyka hotspot's radius widened to 25 km) published on Redis: the
    # triggerer's AssetWatcher turns the message into the event. Pub/sub keeps nothing, so a message
    # sent while the watcher re-subscribes can be lost: then nothing ran, and it is sent again.
    channel = airflow.env["SAFEPASSAGE_JUDGEMENT_CHANNEL"]
    revised = write_judgement(tmp_path, start=start, end=end, replace=(("radius_km: 10", "radius_km: 25"),))
    for _attempt in range(3):
        wait_for("the AssetWatcher to subscribe", lambda: analyst.subscribers(channel) >= 1, 180)
        published_at = analyst.publish(airflow.env, revised, "redis")
        try:
            on_redis = analyst.judgement_event(api, published_at)
            break
        except TimeoutError:
            continue
    else:
        pytest.fail("three Redis publishes in a row woke nothing\n" + airflow.log_tail("triggerer"))
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
    assert push_runs(api) == 5

    # A pool deleted by hand: the push's Meta tasks wait, and the dashboard and the terminal say which
    # and what to do; `safepassage init`, as they say, lets the run finish.
    api.call("DELETE", f"/api/v2/pools/{META_POOL}")
    stuck_run = str(api.trigger_dag("push_campaigns")["dag_run_id"])
    stuck = wait_for(
        "the dashboard to name the waiting task",
        lambda: [alert for alert in dashboard_alerts(api) if "wait for pool" in alert],
        120,
        0.5,
    )
    assert META_POOL in stuck[0] and "push_campaigns.plan_meta_account" in stuck[0]
    assert "safepassage init" in stuck[0]
    wait_for("the terminal to name it", lambda: f"wait for pool {META_POOL}" in airflow.output(), 30)
    init = subprocess.run(
        [str(Path(sys.executable).parent / "safepassage"), "init"],
        env=airflow.env,  # the home `make airflow` runs in, as a person's shell has it
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert init.returncode == 0 and f"Pool {META_POOL}: 4 slots" in init.stdout, init.stdout + init.stderr
    assert follow.wait("push_campaigns", stuck_run).ok
