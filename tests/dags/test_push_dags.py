"""The budget, push and kill-switch DAGs run for real with dag.test(), against the emulators and a
temporary warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from safepassage.adapters.google_ads import GoogleAdsAccount
from safepassage.adapters.warehouse import Warehouse
from safepassage.adapters.warehouse import models as m
from safepassage.orchestration.push_accounts import budget_guard
from safepassage.services.budgets import allocate_budgets
from safepassage.services.campaign_config import load_campaign_config
from safepassage.services.push import apply_stored_plan, plan_and_store, record_decision
from safepassage.services.push_google import desired_for_google_account
from safepassage.services.push_settings import load_push_settings
from safepassage.services.reference_data import sync_reference_data
from tests.local_reviewer import LocalReviewer
from tests.push_support import store_inputs, targeting_document

DAGS = Path(__file__).parents[2] / "dags"
CONFIG = load_campaign_config()


@pytest.fixture(scope="module")
def dagbag(airflow_db: Path) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, emulators_descriptor_env: Path) -> Any:
    url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    monkeypatch.setenv("SAFEPASSAGE_WAREHOUSE_URL", url)
    monkeypatch.setenv("AIRFLOW__CORE__HOSTNAME_CALLABLE", "tests.push_support.loopback_hostname")
    warehouse = Warehouse(url)
    warehouse.migrate()
    sync_reference_data(CONFIG, warehouse)
    store_inputs(warehouse, CONFIG, targeting_document(CONFIG), meta=False)  # Meta: nothing to push
    yield warehouse
    warehouse.dispose()


@pytest.fixture
def account(emulators: Any, google_ads_client: Any) -> GoogleAdsAccount:
    return GoogleAdsAccount(google_ads_client, emulators.customer_ids[0], budget_guard(CONFIG))


def approved_first_push(store: Warehouse, account: GoogleAdsAccount) -> None:
    """Both platforms' first push, planned, approved and applied outside Airflow."""
    import datetime as dt

    from safepassage.orchestration.push_accounts import account_settings, apply_for, plan_for

    allocate_budgets(store, CONFIG, load_push_settings(), dt.date(2022, 3, 25))
    desired = desired_for_google_account(store, CONFIG, lambda _c: True)
    stored = plan_and_store(store, account, desired, load_push_settings().approval_thresholds("EUR"), "setup")
    meta = [
        plan_for(a.platform.value, str(a.customer_id), "setup")
        for a in account_settings(load_push_settings())
        if a.platform.value == "meta"
    ]
    record_decision(store, "setup", True, "test", "first push")
    apply_stored_plan(store, account, stored.plan_id)
    for plan in meta:
        apply_for(plan)


def meta_tree_now() -> Any:
    from safepassage.orchestration.connections import meta_settings
    from safepassage.orchestration.push_accounts import meta_push_account

    return meta_push_account(meta_settings().ad_account_ids[0], CONFIG, None).read_tree()


def meta_campaigns() -> list[Any]:
    return meta_tree_now().of_kind("campaign")


GOOGLE_PLANS = select(m.PushPlan).where(m.PushPlan.platform_code == "google_ads")


def review_detail(run_id: str) -> tuple[str, str, list[Any]]:
    """Subject, body and assigned users of the run's Required action, as Airflow stored them."""
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        detail = (
            session.query(HITLDetail)
            .join(TaskInstance, TaskInstance.id == HITLDetail.ti_id)
            .filter(TaskInstance.run_id == run_id, TaskInstance.task_id == "review_plans")
            .one()
        )
        return detail.subject, detail.body or "", list(detail.assigned_users)


def states(run: Any) -> dict[str, str]:
    return {f"{ti.task_id}[{ti.map_index}]": str(ti.state) for ti in run.get_task_instances()}


def test_allocate_budgets_stores_todays_allocation(dagbag: Any, store: Warehouse) -> None:
    from airflow.utils.state import DagRunState

    run = dagbag.dags["allocate_budgets"].test()
    assert run.state == DagRunState.SUCCESS
    with store.session() as session:
        lines = session.scalars(select(m.BudgetAllocationLine)).all()
    assert sum(line.daily_amount_minor for line in lines) == 150_000


def test_push_with_nothing_changed_applies_nothing(
    dagbag: Any, store: Warehouse, account: GoogleAdsAccount, emulators: Any
) -> None:
    from airflow.utils.state import DagRunState

    approved_first_push(store, account)
    emulators.google.log.clear()
    run = dagbag.dags["push_campaigns"].test()
    assert run.state == DagRunState.SUCCESS, states(run)
    assert states(run)["review_plans[-1]"] == "skipped"
    assert not [e for e in emulators.google.log.entries(target_contains="GoogleAdsService/Mutate")]
    with store.session() as session:
        newest = session.scalars(GOOGLE_PLANS.order_by(m.PushPlan.id.desc())).first()
        assert newest is not None and newest.status == "nothing_to_do"


def test_a_small_budget_move_applies_without_review(
    dagbag: Any, store: Warehouse, account: GoogleAdsAccount
) -> None:
    from airflow.utils.state import DagRunState

    approved_first_push(store, account)
    with store.session() as session:
        line = session.scalars(
            select(m.BudgetAllocationLine).where(
                m.BudgetAllocationLine.country_code == "PL",
                m.BudgetAllocationLine.platform_code == "google_ads",
            )
        ).one()
        before = line.daily_amount_minor
        line.daily_amount_minor = before + before // 10  # +10%: inside the 20% threshold
    run = dagbag.dags["push_campaigns"].test()
    assert run.state == DagRunState.SUCCESS, states(run)
    assert states(run)["review_plans[-1]"] == "skipped"
    budget = account.read_tree().nodes["SP|PL|budget"]
    assert budget.fields["amount_micros"] == (before + before // 10) * 10_000
    with store.session() as session:
        newest = session.scalars(GOOGLE_PLANS.order_by(m.PushPlan.id.desc())).first()
        assert newest is not None and newest.status == "applied" and newest.decided_by is None


def test_kill_switch_dag_pauses_a_country(dagbag: Any, store: Warehouse, account: GoogleAdsAccount) -> None:
    from airflow.utils.state import DagRunState

    approved_first_push(store, account)
    run = dagbag.dags["kill_switch"].test(
        run_conf={
            "country": "MD",
            "action": "pause",
            "reason": "Partner reports a scam wave",
        }
    )
    assert run.state == DagRunState.SUCCESS
    statuses = {n.fields["status"] for n in account.read_tree().of_kind("campaign") if n.country == "MD"}
    assert statuses == {"PAUSED"}
    with store.session() as session:
        pause = session.scalars(select(m.CountryPause)).one()
        assert (pause.country_code, pause.paused_by, pause.reason) == (
            "MD",
            "dag_test",  # the run's triggering user, as Airflow authenticated it (dag.test() names itself)
            "Partner reports a scam wave",
        )


@pytest.mark.slow
def test_a_kill_switch_run_fails_when_meta_cannot_be_paused(
    dagbag: Any,
    store: Warehouse,
    account: GoogleAdsAccount,
    emulators: Any,
    capfd: pytest.CaptureFixture[str],
) -> None:
    from airflow.utils.state import DagRunState

    from ad_emulators.faults import FaultPlan

    approved_first_push(store, account)
    emulators.faults = FaultPlan.from_dict(
        {"faults": [{"platform": "meta", "match": "GET /act_*/adsets", "kind": "server_error", "rate": 1.0}]}
    )
    run = dagbag.dags["kill_switch"].test(
        run_conf={"country": "MD", "action": "pause", "reason": "Partner reports a scam wave"}
    )
    assert run.state == DagRunState.FAILED, states(run)
    output = capfd.readouterr()
    assert "MD NOT fully paused" in output.out + output.err
    assert f"meta {emulators.ad_account_ids[0]}: FAILED" in output.out + output.err
    statuses = {n.fields["status"] for n in account.read_tree().of_kind("campaign") if n.country == "MD"}
    assert statuses == {"PAUSED"}, "Google was still paused"


@pytest.mark.parametrize("option", ["Approve", "Reject"])
def test_a_first_push_waits_for_a_person(
    dagbag: Any, store: Warehouse, account: GoogleAdsAccount, option: str
) -> None:
    import datetime as dt

    from airflow.utils.state import DagRunState

    allocate_budgets(store, CONFIG, load_push_settings(), dt.date(2022, 3, 25))
    reviewer = LocalReviewer(option, "checked the Polish helpline numbers", user="reviewer-anna")
    reviewer.start()
    run = dagbag.dags["push_campaigns"].test()
    reviewer.join(timeout=5)
    assert reviewer.answered.is_set()
    assert "starts serving" in reviewer.body and "| PL |" in reviewer.body  # the plan table is in the form
    assert run.state == DagRunState.SUCCESS, states(run)
    with store.session() as session:
        plan = session.scalars(GOOGLE_PLANS).one()
        assert plan.dag_run_id == run.run_id
        pl_minor = session.scalars(
            select(m.BudgetAllocationLine.daily_amount_minor).where(
                m.BudgetAllocationLine.country_code == "PL",
                m.BudgetAllocationLine.platform_code == "google_ads",
            )
        ).one()
        google_minor = session.scalar(
            select(func.sum(m.BudgetAllocationLine.daily_amount_minor)).where(
                m.BudgetAllocationLine.platform_code == "google_ads"
            )
        )
    subject, body, assigned = review_detail(run.run_id)
    assert subject == (
        f"Approve push plan {plan.id} · Google Ads {account.customer_id} (SafePassage Europe) · "
        f"{google_minor / 100:,.2f} EUR/day (was 0.00 EUR)?"
    )
    first_screen = body.splitlines()[:8]  # what stands above the fold, before any detail
    assert (
        first_screen[0]
        == f"#### Plan {plan.id} · Google Ads account {account.customer_id} (SafePassage Europe)"
    )
    assert first_screen[2].startswith(f"Daily budget **0.00 EUR → {google_minor / 100:,.2f} EUR**")
    assert (
        first_screen[4]
        == "| country | daily budget before (EUR) | after (EUR) | change | new creative versions |"
    )
    assert f"| PL | — | {pl_minor / 100:,.2f} | starts serving | 8 |" in body.splitlines()
    assert len(body.splitlines()) < 40 and "campaign_budget" not in body  # operations are linked, not listed
    assert "[Push plans page](/safepassage/plans)" in body and "May decide: `admin`" in body
    assert assigned == [{"id": "admin", "name": "admin"}]  # only the named approver may answer
    assert (plan.decided_by, plan.decision_note) == ("reviewer-anna", "checked the Polish helpline numbers")
    campaigns = account.read_tree().of_kind("campaign")
    if option == "Approve":
        assert plan.status == "applied"
        assert len(campaigns) == sum(len(c.languages) for c in CONFIG.countries)
    else:
        assert plan.status == "rejected"
        assert states(run)["apply_account[-1]"] == "skipped" or all(
            state == "skipped" for key, state in states(run).items() if key.startswith("apply_account")
        )
        assert campaigns == []


def test_push_tasks_share_the_google_ads_pool_which_setup_creates(dagbag: Any, airflow_db: Path) -> None:
    from airflow.models.pool import Pool

    from safepassage.orchestration.pools import GOOGLE_ADS_POOL, META_POOL, ensure_pools

    push = dagbag.dags["push_campaigns"]
    assert push.get_task("plan_account").pool == GOOGLE_ADS_POOL
    assert push.get_task("plan_meta_account").pool == META_POOL
    assert push.get_task("apply_meta_account").pool == META_POOL
    assert push.get_task("apply_account").pool == GOOGLE_ADS_POOL
    assert dagbag.dags["kill_switch"].get_task("switch").pool == GOOGLE_ADS_POOL
    assert ensure_pools() == {GOOGLE_ADS_POOL: 4, META_POOL: 4}  # config/pools.yaml
    ensure_pools()
    assert Pool.get_pool(GOOGLE_ADS_POOL).slots == 4


def test_no_task_that_calls_a_platform_runs_in_the_default_pool(dagbag: Any) -> None:
    from safepassage.orchestration.pools import DESCRIPTIONS

    platform_tasks = {
        "push_campaigns": {"plan_account", "plan_meta_account", "apply_account", "apply_meta_account"},
        "pull_performance": {"pull_google_ads", "pull_meta"},
        "kill_switch": {"switch"},
    }
    for dag_id, task_ids in platform_tasks.items():
        dag = dagbag.dags[dag_id]
        assert task_ids <= set(dag.task_ids), (dag_id, sorted(dag.task_ids))
        assert {dag.get_task(task_id).pool for task_id in task_ids} <= set(DESCRIPTIONS), dag_id


def test_pool_sizes_come_from_config_and_are_resized_on_the_next_init(
    tmp_path: Path, airflow_db: Path
) -> None:
    from airflow.models.pool import Pool

    from safepassage.orchestration.pools import GOOGLE_ADS_POOL, META_POOL, ensure_pools

    (tmp_path / "pools.yaml").write_text("google_ads_api: 2\nmeta_api: 6\n", encoding="utf-8")
    assert ensure_pools(tmp_path) == {GOOGLE_ADS_POOL: 2, META_POOL: 6}
    assert (Pool.get_pool(GOOGLE_ADS_POOL).slots, Pool.get_pool(META_POOL).slots) == (2, 6)
    ensure_pools()  # back to the project's sizes for the other tests on this metadata DB
    assert Pool.get_pool(META_POOL).slots == 4


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("google_ads_api: 4\nmeta_apis: 4\n", "config/pools.yaml:2: meta_apis"),  # refused, not ignored
        ("google_ads_api: 0\n", "config/pools.yaml:1: google_ads_api"),
        ("meta_api: many\n", "config/pools.yaml:1: meta_api"),
    ],
)
def test_a_bad_pools_file_is_refused_naming_the_line(tmp_path: Path, text: str, says: str) -> None:
    from safepassage.domain.errors import InvalidInput
    from safepassage.orchestration.pools import load_pool_settings

    (tmp_path / "pools.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput) as refused:
        load_pool_settings(tmp_path)
    assert says in str(refused.value)


def test_push_follows_each_new_allocation_or_creative_version_and_produces_campaigns(dagbag: Any) -> None:
    from safepassage.orchestration.assets import BUDGETS, CAMPAIGNS, CREATIVES, TARGETING

    push = dagbag.dags["push_campaigns"]
    condition = push.timetable.asset_condition
    assert type(condition).__name__ == "AssetAny"
    # Not on targeting: it reaches the push through allocate_budgets, once, with its own budgets.
    assert {asset.name for asset in condition.objects} == {CREATIVES.name, BUDGETS.name}
    assert dagbag.dags["allocate_budgets"].timetable.asset_condition.name == TARGETING.name
    assert [outlet.name for outlet in push.get_task("apply_account").outlets] == [CAMPAIGNS.name]
    assert [outlet.name for outlet in dagbag.dags["allocate_budgets"].get_task("allocate").outlets] == [
        BUDGETS.name
    ]


def test_a_long_platform_delay_becomes_a_reschedule_not_a_sleep() -> None:
    import datetime as dt

    from airflow.sdk.exceptions import AirflowRescheduleException

    from safepassage.orchestration.retries import reschedule_when_asked
    from safepassage.services.push import RetryLater

    asked_at = dt.datetime.now(dt.UTC)
    with pytest.raises(AirflowRescheduleException) as raised, reschedule_when_asked():
        raise RetryLater(600, "quota exhausted (RESOURCE_EXHAUSTED)")
    assert asked_at + dt.timedelta(seconds=600) <= raised.value.reschedule_date
    assert raised.value.reschedule_date <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=600)


class Webhook:
    """A chat webhook on loopback: records every JSON body POSTed to it."""

    def __init__(self) -> None:
        import http.server
        import json
        import threading

        received = self.received = []  # type: list[dict[str, Any]]

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def expire_review_when_it_opens(timeout_seconds: float = 300) -> Any:
    """Nobody answers: once the review waits, its deadline is moved into the past and the real
    scheduler's timeout sweep resolves it, as it would after 24 hours."""
    import datetime as dt
    import threading
    import time

    from airflow.jobs.job import Job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState

    def sweep() -> None:
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            with create_session() as session:
                ti = (
                    session.query(TaskInstance)
                    .filter(
                        TaskInstance.task_id == "review_plans",
                        TaskInstance.state == TaskInstanceState.AWAITING_INPUT,
                    )
                    .first()
                )
                if ti is not None:
                    ti.trigger_timeout = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
            if ti is not None:
                SchedulerJobRunner(job=Job()).check_awaiting_input_timeouts()
                return
            time.sleep(0.2)

    thread = threading.Thread(target=sweep, daemon=True)
    thread.start()
    return thread


def test_an_unanswered_review_is_announced_then_recorded_as_expired(
    dagbag: Any, store: Warehouse, account: GoogleAdsAccount, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime as dt
    import json
    import shutil

    from airflow.utils.state import DagRunState

    from safepassage import settings
    from safepassage.services.push import recent_plans

    config_dir = tmp_path / "config"
    shutil.copytree(settings.config_dir(), config_dir)
    push_yaml = config_dir / "push.yaml"
    push_yaml.write_text(
        push_yaml.read_text().replace(
            'notify_connection_id: ""', "notify_connection_id: safepassage_review_hook"
        )
    )
    monkeypatch.setenv("SAFEPASSAGE_CONFIG_DIR", str(config_dir))
    webhook = Webhook()
    monkeypatch.setenv(
        "AIRFLOW_CONN_SAFEPASSAGE_REVIEW_HOOK", json.dumps({"conn_type": "http", "host": webhook.url})
    )
    allocate_budgets(store, CONFIG, load_push_settings(), dt.date(2022, 3, 25))
    sweeper = expire_review_when_it_opens()
    try:
        run = dagbag.dags["push_campaigns"].test()
    finally:
        webhook.close()
    sweeper.join(timeout=5)

    assert run.state == DagRunState.SUCCESS, states(run)
    assert all(state == "skipped" for key, state in states(run).items() if key.startswith("apply_account"))
    (plan,) = [p for p in recent_plans(store, run.run_id) if p["platform"] == "google_ads"]
    assert plan["status"] == "expired" and plan["decided_by"] is None
    assert plan["decision_note"] == "no answer within 24 hours: not applied; plan again to push"
    assert account.read_tree().nodes == {}
    texts = [message["text"] for message in webhook.received]
    assert len(texts) == 2
    assert texts[0].startswith(
        f"Review waiting: Approve push plan {plan['id']} · Google Ads {account.customer_id}"
    )
    assert "| PL | — |" in texts[0] and "May decide: `admin`" in texts[0]
    assert texts[1].startswith(f"Review expired (plans [{plan['id']}], no answer within 24 hours")


@pytest.mark.slow
def test_a_quota_delay_reschedules_apply_which_then_finishes_the_same_plan(
    dagbag: Any, store: Warehouse, account: GoogleAdsAccount, emulators: Any
) -> None:
    from airflow.models.taskreschedule import TaskReschedule
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState

    from ad_emulators.faults import FaultPlan

    approved_first_push(store, account)
    with store.session() as session:
        line = session.scalars(
            select(m.BudgetAllocationLine).where(
                m.BudgetAllocationLine.country_code == "PL",
                m.BudgetAllocationLine.platform_code == "google_ads",
            )
        ).one()
        raised = line.daily_amount_minor = line.daily_amount_minor + line.daily_amount_minor // 10
    rule = {"platform": "google_ads", "match": "*GoogleAdsService/Mutate", "kind": "resource_exhausted"}
    emulators.faults = FaultPlan.from_dict(
        {"faults": [{**rule, "nth": [1], "params": {"retry_delay_seconds": 20}}]}
    )

    run = dagbag.dags["push_campaigns"].test()

    assert run.state == DagRunState.SUCCESS, states(run)
    with create_session() as session:
        reschedules = (
            session.query(TaskReschedule)
            .join(TaskReschedule.task_instance)
            .filter_by(run_id=run.run_id, task_id="apply_account")
            .all()
        )
    assert len(reschedules) == 1  # waited outside the pool, once, for the server's 20 s
    assert account.read_tree().nodes["SP|PL|budget"].fields["amount_micros"] == raised * 10_000
    with store.session() as session:
        plan = session.scalars(GOOGLE_PLANS.where(m.PushPlan.dag_run_id == run.run_id)).one()
        log = session.scalars(
            select(m.ApplyLogEntry).where(m.ApplyLogEntry.plan_id == plan.id).order_by(m.ApplyLogEntry.id)
        ).all()
    assert plan.status == "applied"
    assert [e.sequence for e in log] == list(range(1, len(log) + 1))
    assert [e.outcome for e in log if e.request_kind.startswith("GoogleAdsService")] == ["quota", "ok", "ok"]


@pytest.mark.slow
def test_a_throttled_meta_push_finishes_once_the_sandbox_lets_it_without_a_failed_task(
    dagbag: Any, store: Warehouse, account: GoogleAdsAccount, emulators: Any
) -> None:
    from airflow.utils.state import DagRunState

    from ad_emulators.faults import FaultPlan, FaultRule

    store_inputs(store, CONFIG, targeting_document(CONFIG))  # with Meta creatives this time
    approved_first_push(store, account)
    assert {n.country for n in meta_campaigns()} == {c.code for c in CONFIG.countries}
    with store.session() as session:
        line = session.scalars(
            select(m.BudgetAllocationLine).where(
                m.BudgetAllocationLine.country_code == "PL", m.BudgetAllocationLine.platform_code == "meta"
            )
        ).one()
        line.daily_amount_minor += line.daily_amount_minor // 10  # +10%: no review needed
        wanted = line.daily_amount_minor
    # The first batch is refused with code 4 (application request limit): the task waits (rescheduled
    # outside its pool slot), then converges on the same plan.
    emulators.faults = FaultPlan(
        (
            FaultRule(
                platform="meta",
                match="POST /",
                kind="app_rate_limit",
                nth=(1,),
                params={"estimated_time_to_regain_access": 0},
            ),
        )
    )
    run = dagbag.dags["push_campaigns"].test()
    assert run.state == DagRunState.SUCCESS, states(run)
    assert set(states(run).values()) <= {"success", "skipped"}
    campaigns = {n.key: n for n in meta_campaigns()}
    assert campaigns["SP|PL|campaign"].fields["daily_budget"] == wanted
    with store.session() as session:
        plan = session.scalars(
            select(m.PushPlan).where(m.PushPlan.dag_run_id == run.run_id, m.PushPlan.platform_code == "meta")
        ).one()
        outcomes = [
            e.outcome
            for e in session.scalars(select(m.ApplyLogEntry).where(m.ApplyLogEntry.plan_id == plan.id))
        ]
    assert plan.status == "applied" and "quota" in outcomes
