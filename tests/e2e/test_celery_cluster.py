"""The production shape on this machine (`make cluster`): scheduler, dag-processor, triggerer,
api-server and two Celery workers (CeleryExecutor, Redis broker, PostgreSQL metadata and warehouse)
run the event-driven chain end to end against the emulators: a published judgement → refresh_targeting
→ allocate_budgets → push_campaigns. The second round loses a worker in the middle of a push; the
task is retried on the other worker and the chain still finishes. Both rounds end with the Google
Ads account matching what the warehouse asks for.

Prints the time from published judgement to updated ads (figures, not assertions) and writes them
to bench/results/celery_cluster.json.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from bench._results import flatten, record

from safepassage import settings
from safepassage.adapters.warehouse import Warehouse
from safepassage.orchestration.approval import REVIEW_TASK_ID
from safepassage.orchestration.assets import CAMPAIGNS
from tests.e2e.airflow_cluster import AirflowCluster, wait_for
from tests.e2e.analyst import publish
from tests.judgement_samples import write_judgement

# Run once at start so every input of the chain exists (reference data → creatives).
SETUP_DAGS = ("sync_reference_data", "render_creatives")
# A published judgement flows through these, in order; each must finish successfully after it.
# The pull and report DAGs join with one line each once they exist ("pull_performance", ...).
CHAIN = ("refresh_targeting", "allocate_budgets", "push_campaigns")
# Held long enough in a Google Ads back-off for the test to lose the worker running the push.
SLOW_PUSH = {
    "faults": [
        {
            "platform": "google_ads",
            "match": "*GoogleAdsService/Mutate",
            "kind": "resource_exhausted",
            "nth": [1],
            "times": 1,
            "params": {"retry_delay_seconds": 14},  # the push sleeps through waits up to 15 s
        }
    ]
}


@pytest.fixture
def cluster(tmp_path: Path, postgres_url: str, emulators: Any, emulators_descriptor_env: Path):
    dag_files = [settings.PROJECT_ROOT / "dags" / f"{dag_id}.py" for dag_id in (*SETUP_DAGS, *CHAIN)]
    extra_env = {
        "SAFEPASSAGE_WAREHOUSE_URL": postgres_url,
        "SAFEPASSAGE_EMULATORS_DESCRIPTOR": str(emulators_descriptor_env),
        "SAFEPASSAGE_JUDGEMENT_CHANNEL": f"safepassage.test.{uuid.uuid4().hex}",
        f"AIRFLOW_CONN_{settings.REDIS_CONN_ID.upper()}": settings.redis_url(),
        # a lost worker is noticed after 20 s instead of 5 min (the task then goes up for retry)
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
    }
    running = AirflowCluster(
        tmp_path / "airflow",
        dag_files,
        extra_env,
        executor="CeleryExecutor",
        setup=(("safepassage", "init"),),  # warehouse schema and pools, as airflow-init does in compose
    )
    try:
        running.start()
        yield running
        running.assert_listens_on_loopback_only()  # the workers too: no log server on every interface
    finally:
        running.dispose()
        running.stop()


class Api:
    def __init__(self, cluster: AirflowCluster):
        self.cluster = cluster
        self.client = httpx.Client(
            base_url=f"{cluster.api_url}/api/v2",
            headers={"Authorization": f"Bearer {cluster.token()}"},
            timeout=30,
        )

    def trigger(self, dag_id: str) -> str:
        response = self.client.post(f"/dags/{dag_id}/dagRuns", json={"logical_date": None})
        response.raise_for_status()
        return str(response.json()["dag_run_id"])

    def approve_waiting_reviews(self) -> list[str]:
        """Answer every push plan waiting for a person, as a reviewer in the UI would."""
        waiting = self.cluster.query(
            "SELECT dag_id, run_id, map_index FROM task_instance "
            "WHERE task_id = :task_id AND state = 'awaiting_input'",
            task_id=REVIEW_TASK_ID,
        )
        for ti in waiting:
            response = self.client.patch(
                f"/dags/{ti['dag_id']}/dagRuns/{ti['run_id']}/taskInstances/{REVIEW_TASK_ID}/"
                f"{ti['map_index']}/hitlDetails",
                json={"chosen_options": ["Approve"], "params_input": {"note": "celery cluster test"}},
            )
            response.raise_for_status()
        return [ti["run_id"] for ti in waiting]


def watching(cluster: AirflowCluster, condition: Callable[[], Any]) -> Callable[[], Any]:
    """`condition`, failing at once (with the logs) if a component died."""

    def check() -> Any:
        cluster.assert_running()
        return condition()

    return check


def settle(cluster: AirflowCluster, api: Api, timeout: float = 600) -> None:
    """Wait until no run is queued or running (start-up runs of the schedules), answering reviews."""

    def idle() -> bool:
        cluster.assert_running()
        api.approve_waiting_reviews()
        busy = cluster.query("SELECT count(*) AS n FROM dag_run WHERE state IN ('queued', 'running')")
        return busy[0]["n"] == 0

    wait_for("every run to finish", idle, timeout, interval=0.5)


def fresh_creatives(cluster: AirflowCluster, api: Api) -> None:
    """render_creatives' daily run, before a judgement is published. push_campaigns waits for new
    targeting AND creatives AND budgets events, so without it a judgement alone updates no ad."""
    before = dt.datetime.now(dt.UTC)
    api.trigger("render_creatives")
    wait_for(
        "render_creatives",
        watching(
            cluster,
            lambda: (run := run_state(cluster, "render_creatives", before)) and run["state"] == "success",
        ),
        300,
    )
    settle(cluster, api)


def run_state(cluster: AirflowCluster, dag_id: str, after: dt.datetime) -> dict[str, Any] | None:
    rows = cluster.query(
        "SELECT run_id, state, run_type FROM dag_run WHERE dag_id = :dag_id AND queued_at > :after "
        "ORDER BY queued_at LIMIT 1",
        dag_id=dag_id,
        after=after,
    )
    return rows[0] if rows else None


def wait_for_chain(
    cluster: AirflowCluster,
    api: Api,
    after: dt.datetime,
    during: Callable[[], None] = lambda: None,
    timeout: float = 600,
) -> dict[str, str]:
    """Every CHAIN DAG has a successful run queued after `after`; approves reviews on the way."""

    def finished() -> dict[str, str] | None:
        cluster.assert_running()
        api.approve_waiting_reviews()
        during()
        runs = {dag_id: run_state(cluster, dag_id, after) for dag_id in CHAIN}
        failed = {d: r for d, r in runs.items() if r and r["state"] == "failed"}
        if failed:
            raise AssertionError(f"chain runs failed: {failed}\n{cluster.log_tail('scheduler')}")
        if all(r and r["state"] == "success" for r in runs.values()):
            return {dag_id: str(r["run_id"]) for dag_id, r in runs.items() if r}
        return None

    return wait_for("the chain to finish", finished, timeout, interval=0.2)


def ads_updated_at(cluster: AirflowCluster, after: dt.datetime) -> dt.datetime:
    (row,) = cluster.query(
        "SELECT max(e.timestamp) AS at FROM asset_event e JOIN asset a ON a.id = e.asset_id "
        "WHERE a.name = :name AND e.timestamp > :after",
        name=CAMPAIGNS.name,
        after=after,
    )
    assert row["at"] is not None, "push_campaigns emitted no campaigns event"
    return row["at"]


def assert_account_matches_the_warehouse(emulators: Any, warehouse_url: str) -> dict[str, int]:
    """What the Google Ads account reports is what the warehouse's latest inputs ask for."""
    from safepassage.adapters.google_ads import GoogleAdsAccount
    from safepassage.adapters.platform_clients import google_ads_client
    from safepassage.domain.push import diff
    from safepassage.orchestration.connections import google_ads_settings_from_descriptor
    from safepassage.orchestration.push_accounts import budget_guard
    from safepassage.services.budgets import latest_amounts
    from safepassage.services.campaign_config import load_campaign_config
    from safepassage.services.push_google import desired_for_google_account

    config = load_campaign_config()
    client = google_ads_client(google_ads_settings_from_descriptor(emulators.descriptor))
    account = GoogleAdsAccount(client, emulators.customer_ids[0], budget_guard(config))
    warehouse = Warehouse(warehouse_url)
    try:
        desired = desired_for_google_account(warehouse, config, lambda _code: True)
        amounts = latest_amounts(warehouse)
    finally:
        warehouse.dispose()
    reported = account.read_tree()
    assert diff(account.customer_id, desired, reported).is_empty
    budgets = {n.country: int(n.fields["amount_micros"]) for n in reported.of_kind("campaign_budget")}
    assert budgets and set(budgets) <= set(amounts)
    return budgets


@pytest.mark.cluster
@pytest.mark.scheduler
@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_celery_cluster_runs_the_chain_and_survives_a_lost_worker(
    cluster: AirflowCluster, emulators: Any, tmp_path: Path
) -> None:
    from ad_emulators.faults import FaultPlan

    api = Api(cluster)
    warehouse_url = cluster.env["SAFEPASSAGE_WAREHOUSE_URL"]
    wait_for(
        "every DAG to be parsed",
        watching(
            cluster,
            lambda: (
                len(cluster.query("SELECT dag_id FROM dag WHERE NOT is_paused")) == len(SETUP_DAGS + CHAIN)
            ),
        ),
        240,
    )
    started = dt.datetime.now(dt.UTC)
    api.trigger("sync_reference_data")
    wait_for(
        "reference data and creatives",
        watching(
            cluster,
            lambda: all(
                (run := run_state(cluster, dag_id, started - dt.timedelta(minutes=1)))
                and run["state"] == "success"
                for dag_id in SETUP_DAGS
            ),
        ),
        600,
    )
    settle(cluster, api)  # the schedules' start-up runs
    today = dt.datetime.now(dt.UTC).date()
    start, end = today - dt.timedelta(days=1), today + dt.timedelta(days=30)
    token_env = {"SAFEPASSAGE_AIRFLOW_API_URL": cluster.api_url, "SAFEPASSAGE_AIRFLOW_TOKEN": cluster.token()}
    figures: dict[str, Any] = {}

    # Round 1: a new judgement, every worker up.
    fresh_creatives(cluster, api)
    first = write_judgement(tmp_path, start=start, end=end)
    published = publish({**cluster.env, **token_env}, first, "rest")
    runs = wait_for_chain(cluster, api, published)
    figures["judgement_to_updated_ads_s"] = round(
        (ads_updated_at(cluster, published) - published).total_seconds(), 2
    )
    budgets = assert_account_matches_the_warehouse(emulators, warehouse_url)
    assert {"PL", "MD"} <= set(budgets)

    # Round 2: a changed judgement; the push is held in a Google Ads back-off and the worker running
    # it is killed.
    fresh_creatives(cluster, api)
    emulators.faults = FaultPlan.from_dict(SLOW_PUSH)
    second = write_judgement(tmp_path, start=start, end=end, replace=(("radius_km: 10", "radius_km: 25"),))
    published = publish({**cluster.env, **token_env}, second, "rest")
    lost: dict[str, Any] = {}

    def lose_the_worker_running_the_push() -> None:
        if lost or emulators.faults.fired() != [1]:
            return
        running = cluster.query(
            "SELECT pid, run_id FROM task_instance WHERE dag_id = 'push_campaigns' "
            "AND task_id = 'apply_account' AND state = 'running' AND pid IS NOT NULL"
        )
        for ti in running:
            worker = cluster.component_running(int(ti["pid"]))
            if worker in cluster.workers:
                cluster.kill(worker)
                lost.update(worker=worker, run_id=ti["run_id"], at=dt.datetime.now(dt.UTC))
                return

    runs = wait_for_chain(cluster, api, published, during=lose_the_worker_running_the_push, timeout=900)
    assert lost, "the push was never caught on a worker"
    assert lost["run_id"] == runs["push_campaigns"]
    tries = cluster.query(
        "SELECT try_number, state FROM task_instance WHERE dag_id = 'push_campaigns' "
        "AND task_id = 'apply_account' AND run_id = :run_id",
        run_id=lost["run_id"],
    )
    assert [(t["try_number"] >= 2, t["state"]) for t in tries] == [(True, "success")]
    survivors = [w for w in cluster.workers if w not in cluster.killed]
    assert len(survivors) == 1 and cluster.processes[survivors[0]].poll() is None
    figures["with_a_lost_worker_s"] = round(
        (ads_updated_at(cluster, published) - published).total_seconds(), 2
    )
    assert_account_matches_the_warehouse(emulators, warehouse_url)

    report = {
        "setup": "scheduler + dag-processor + triggerer + api-server + 2 Celery workers (concurrency 2), "
        "CeleryExecutor, Redis broker, PostgreSQL metadata DB and warehouse, emulators Google Ads; "
        "judgement published over REST, plan reviews approved at once; seconds from the publisher's "
        "timestamp to the campaigns asset event. The lost-worker round includes the 20 s heartbeat "
        "timeout, the retry delay (30 s) and a 14 s simulated Google Ads back-off.",
        **figures,
    }
    written = record("celery_cluster", flatten(report, chain=list(CHAIN)))
    print(
        f"\nCelery cluster, judgement published → updated ads: {figures['judgement_to_updated_ads_s']:.1f} s"
    )
    print(f"  with a worker killed mid-push and the task retried: {figures['with_a_lost_worker_s']:.1f} s")
    print(f"  written to {written.relative_to(settings.PROJECT_ROOT)}")
