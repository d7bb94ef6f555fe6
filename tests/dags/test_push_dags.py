"""The budget, push and kill-switch DAGs run for real with dag.test(), against the sandbox and a
temporary warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from safepassage.adapters.google_ads import GoogleAdsAccount
from safepassage.adapters.warehouse import Warehouse
from safepassage.adapters.warehouse import models as m
from safepassage.orchestration.approval import LocalReviewer
from safepassage.orchestration.push_accounts import budget_guard
from safepassage.services.budgets import allocate_budgets
from safepassage.services.campaign_config import load_campaign_config
from safepassage.services.push import apply_stored_plan, desired_for_account, plan_and_store, record_decision
from safepassage.services.push_settings import load_push_settings
from safepassage.services.reference_data import sync_reference_data
from tests.push_support import store_inputs, targeting_document

DAGS = Path(__file__).parents[2] / "dags"
CONFIG = load_campaign_config()


@pytest.fixture(scope="module")
def dagbag(airflow_db: Path) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox_descriptor_env: Path) -> Any:
    url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    monkeypatch.setenv("SAFEPASSAGE_WAREHOUSE_URL", url)
    monkeypatch.setenv("AIRFLOW__CORE__HOSTNAME_CALLABLE", "tests.push_support.loopback_hostname")
    warehouse = Warehouse(url)
    warehouse.migrate()
    sync_reference_data(CONFIG, warehouse)
    store_inputs(warehouse, CONFIG, targeting_document(CONFIG))
    yield warehouse
    warehouse.dispose()


@pytest.fixture
def account(sandbox: Any, google_ads_client: Any) -> GoogleAdsAccount:
    return GoogleAdsAccount(google_ads_client, sandbox.customer_ids[0], budget_guard(CONFIG))


def approved_first_push(store: Warehouse, account: GoogleAdsAccount) -> None:
    """Both platforms' first push, planned, approved and applied outside Airflow."""
    import datetime as dt

    from safepassage.orchestration.push_accounts import account_settings, apply_for, plan_for

    allocate_budgets(store, CONFIG, load_push_settings(), dt.date(2022, 3, 25))
    desired = desired_for_account(store, CONFIG, lambda _c: True)
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


def newest_google_plan(store: Warehouse) -> Any:
    with store.session() as session:
        return session.scalars(
            select(m.PushPlan).where(m.PushPlan.platform_code == "google_ads").order_by(m.PushPlan.id.desc())
        ).first()


def meta_tree_now() -> Any:
    from safepassage.orchestration.connections import meta_settings
    from safepassage.orchestration.push_accounts import meta_push_account

    return meta_push_account(meta_settings().ad_account_ids[0], CONFIG).read_tree()


def meta_ad_sets() -> set[str]:
    return {node.key for node in meta_tree_now().of_kind("adset")}


def meta_campaigns() -> list[Any]:
    return meta_tree_now().of_kind("campaign")


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
    dagbag: Any, store: Warehouse, account: GoogleAdsAccount, sandbox: Any
) -> None:
    from airflow.utils.state import DagRunState

    approved_first_push(store, account)
    sandbox.google.log.clear()
    sandbox.meta.log.clear()
    run = dagbag.dags["push_campaigns"].test()
    assert run.state == DagRunState.SUCCESS, states(run)
    assert states(run)["review_plans[-1]"] == "skipped"
    assert not [e for e in sandbox.google.log.entries(target_contains="GoogleAdsService/Mutate")]
    assert not [e for e in sandbox.meta.log.entries(platform="meta") if e.method in ("POST", "DELETE")]
    with store.session() as session:
        newest = session.scalars(select(m.PushPlan).where(m.PushPlan.dag_run_id == run.run_id)).all()
        assert {(p.platform_code, p.status) for p in newest} == {
            ("google_ads", "nothing_to_do"),
            ("meta", "nothing_to_do"),
        }


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
    newest = newest_google_plan(store)
    assert newest is not None and newest.status == "applied" and newest.decided_by is None


def test_kill_switch_dag_pauses_a_country(dagbag: Any, store: Warehouse, account: GoogleAdsAccount) -> None:
    from airflow.utils.state import DagRunState

    approved_first_push(store, account)
    run = dagbag.dags["kill_switch"].test(
        run_conf={
            "country": "MD",
            "action": "pause",
            "reason": "Partner reports a scam wave",
            "by": "ops-duty",
        }
    )
    assert run.state == DagRunState.SUCCESS
    statuses = {n.fields["status"] for n in account.read_tree().of_kind("campaign") if n.country == "MD"}
    assert statuses == {"PAUSED"}
    with store.session() as session:
        pause = session.scalars(select(m.CountryPause)).one()
        assert (pause.country_code, pause.paused_by, pause.reason) == (
            "MD",
            "ops-duty",
            "Partner reports a scam wave",
        )


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
    assert "Meta ad account" in reviewer.body  # the Meta part of the plan is in the same form
    with store.session() as session:
        plans = {p.platform_code: p for p in session.scalars(select(m.PushPlan)).all()}
        assert set(plans) == {"google_ads", "meta"}
        for plan in plans.values():
            assert plan.dag_run_id == run.run_id
            assert (plan.decided_by, plan.decision_note) == (
                "reviewer-anna",
                "checked the Polish helpline numbers",
            )
    campaigns = account.read_tree().of_kind("campaign")
    ad_sets = meta_ad_sets()
    if option == "Approve":
        assert {p.status for p in plans.values()} == {"applied"}
        assert len(campaigns) == sum(len(c.languages) for c in CONFIG.countries)
        assert ad_sets == {f"SP|{c.code}|{lang}" for c in CONFIG.countries for lang in c.languages}
    else:
        assert {p.status for p in plans.values()} == {"rejected"}
        assert all(state == "skipped" for key, state in states(run).items() if key.startswith("apply_"))
        assert campaigns == [] and ad_sets == set()


def test_push_tasks_share_the_google_ads_pool_which_setup_creates(dagbag: Any, airflow_db: Path) -> None:
    from airflow.models.pool import Pool

    from safepassage.orchestration.pools import GOOGLE_ADS_POOL, META_POOL, ensure_pools

    push = dagbag.dags["push_campaigns"]
    assert push.get_task("plan_account").pool == GOOGLE_ADS_POOL
    assert push.get_task("apply_account").pool == GOOGLE_ADS_POOL
    assert push.get_task("plan_meta_account").pool == META_POOL
    assert push.get_task("apply_meta_account").pool == META_POOL
    assert dagbag.dags["kill_switch"].get_task("switch").pool == GOOGLE_ADS_POOL
    assert ensure_pools() == [GOOGLE_ADS_POOL, META_POOL]
    ensure_pools()
    assert Pool.get_pool(GOOGLE_ADS_POOL).slots == 4


def test_push_waits_for_all_three_inputs_and_produces_campaigns(dagbag: Any) -> None:
    from safepassage.orchestration.assets import BUDGETS, CAMPAIGNS, CREATIVES, TARGETING

    push = dagbag.dags["push_campaigns"]
    condition = push.timetable.asset_condition
    assert type(condition).__name__ == "AssetAll"
    assert {asset.name for asset in condition.objects} == {TARGETING.name, CREATIVES.name, BUDGETS.name}
    assert [outlet.name for outlet in push.get_task("apply_account").outlets] == [CAMPAIGNS.name]
    assert [outlet.name for outlet in dagbag.dags["allocate_budgets"].get_task("allocate").outlets] == [
        BUDGETS.name
    ]


def test_a_throttled_meta_push_finishes_once_the_sandbox_lets_it_without_a_failed_task(
    dagbag: Any, store: Warehouse, account: GoogleAdsAccount, sandbox: Any
) -> None:
    from airflow.utils.state import DagRunState

    from safepassage.sandbox.faults import FaultPlan, FaultRule

    approved_first_push(store, account)
    with store.session() as session:
        line = session.scalars(
            select(m.BudgetAllocationLine).where(
                m.BudgetAllocationLine.country_code == "PL", m.BudgetAllocationLine.platform_code == "meta"
            )
        ).one()
        line.daily_amount_minor += line.daily_amount_minor // 10  # +10%: no review needed
        wanted = line.daily_amount_minor
    # The first batch is refused with code 4 (application request limit): the task waits, then resends.
    sandbox.faults = FaultPlan(
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
    assert states(run)["apply_meta_account[0]"] == "success"
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
