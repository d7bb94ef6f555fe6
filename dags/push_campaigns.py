"""
### Push campaigns

Plan → approve → apply, per Google Ads account. For each account the desired campaign tree
(budget per country, campaign per country × language, ad group per theme, ads from the current
creative versions, location/proximity + language criteria) is diffed against what the account
reports through GAQL, into a plan of creates, updates and removals with stable names such as
`SP|PL|uk`. The plan table is in each `plan_account` log and in the review form.

A plan **waits for a person** (the `review_plans` task, *Required actions* in the UI, titled with the
account, plan and daily amount, and opening on a per-country summary) when it adds
a country, moves a country's budget by more than the configured share, raises daily spend above
the threshold or ships a new creative version (`config/push.yaml`). Rejecting stops the run and
records who and why; small plans apply by themselves. Applying validates first, then sends the
whole tree in as few `Mutate` requests as possible, retries throttling and transient faults, and
records every request. Countries paused with the kill switch stay paused. A review names who may
decide and is announced (`review` in `config/push.yaml`); one left unanswered for 24 hours is recorded
as `expired`. Retries and cleared tasks converge on the run's one stored plan per account; a platform
quota delay longer than a few seconds reschedules `apply_account` rather than holding its pool slot.

**Runs:** on each new allocation (`budgets`: after every targeting change, and daily) and each new
creative version (`creatives`). It plans with the allocation in effect and the targeting that
allocation was made from, so places and budgets always match.
**Produces:** the `campaigns` asset. Uses the `google_ads_api` pool.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import Param, dag, task

from safepassage.orchestration.approval import PLAN_TASK_ID, REVIEW_TASK_ID, PlanApprovalOperator
from safepassage.orchestration.assets import BUDGETS, CAMPAIGNS, CREATIVES
from safepassage.orchestration.defaults import DEFAULT_ARGS
from safepassage.orchestration.pools import GOOGLE_ADS_POOL


@dag(
    # Targeting reaches the push through allocate_budgets, so one judgement makes one push, and the
    # push always plans with the budgets made for the targeting it pushes.
    schedule=BUDGETS | CREATIVES,
    start_date=pendulum.datetime(2022, 3, 25, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # two pushes at once would plan against each other's half-applied trees
    tags=["safepassage", "push", "google-ads"],
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
)
def push_campaigns() -> None:
    @task
    def list_accounts() -> list[str]:
        from airflow.sdk.exceptions import AirflowSkipException

        from safepassage.adapters.warehouse import Warehouse
        from safepassage.domain.campaign import Platform
        from safepassage.orchestration.connections import google_ads_settings
        from safepassage.services.budgets import latest_amounts
        from safepassage.services.push_settings import load_push_settings

        warehouse = Warehouse()
        warehouse.migrate()
        try:
            if not latest_amounts(warehouse):
                raise AirflowSkipException("No budgets allocated yet: the push runs after allocate_budgets.")
        finally:
            warehouse.dispose()

        accounts = load_push_settings().resolve_customer_ids(
            Platform.GOOGLE_ADS, google_ads_settings().customer_ids
        )
        return [str(account.customer_id) for account in accounts]

    @task(task_id=PLAN_TASK_ID, pool=GOOGLE_ADS_POOL)
    def plan_account(customer_id: str, **context: object) -> dict[str, object]:
        from safepassage.orchestration.connections import open_warehouse
        from safepassage.orchestration.push_accounts import google_account, google_account_settings
        from safepassage.services.campaign_config import load_campaign_config
        from safepassage.services.push import desired_for_account, plan_and_store
        from safepassage.services.push_settings import load_push_settings

        config, push = load_campaign_config(), load_push_settings()
        settings = next(a for a in google_account_settings(push) if a.customer_id == customer_id)
        warehouse = open_warehouse()
        warehouse.migrate()
        try:
            desired = desired_for_account(warehouse, config, settings.serves)
            stored = plan_and_store(
                warehouse,
                google_account(customer_id, config, warehouse),
                desired,
                push.approval_thresholds(config.budget.currency),
                str(context["run_id"]),
            )
        finally:
            warehouse.dispose()
        print(stored.markdown)
        return stored.as_dict()

    @task
    def summarise(plans: list[dict[str, object]]) -> dict[str, str]:
        from safepassage.orchestration.connections import open_warehouse
        from safepassage.orchestration.push_accounts import google_account_settings
        from safepassage.services.push_review import review_request
        from safepassage.services.push_settings import load_push_settings

        push = load_push_settings()
        accounts = {str(a.customer_id): (a.name, a.currency) for a in google_account_settings(push)}
        warehouse = open_warehouse()
        try:
            review = review_request(warehouse, plans, accounts, push.review.approvers)
        finally:
            warehouse.dispose()
        print(f"{review['subject']}\n\n{review['body']}")
        return review

    @task.branch
    def needs_review(plans: list[dict[str, object]]) -> str:
        waiting = [plan for plan in plans if plan["status"] == "needs_approval"]
        return REVIEW_TASK_ID if waiting else "apply_without_review"

    review_plans = PlanApprovalOperator(
        task_id=REVIEW_TASK_ID,
        subject="{{ ti.xcom_pull(task_ids='summarise')['subject'] }}",  # account, plan, daily amount
        body="{{ ti.xcom_pull(task_ids='summarise')['body'] }}",  # per-country summary first
        defaults="Reject",  # no answer within the timeout means no push
        response_timeout=timedelta(hours=24),
        params={"note": Param("", type="string", title="Why (kept with the decision)")},
    )
    apply_without_review = EmptyOperator(task_id="apply_without_review")

    @task(pool=GOOGLE_ADS_POOL, outlets=[CAMPAIGNS], trigger_rule="none_failed_min_one_success")
    def apply_account(plan: dict[str, object]) -> str:
        from safepassage.orchestration.connections import open_warehouse
        from safepassage.orchestration.push_accounts import google_account
        from safepassage.orchestration.retries import reschedule_when_asked
        from safepassage.services.campaign_config import load_campaign_config
        from safepassage.services.push import apply_stored_plan

        warehouse = open_warehouse()
        try:
            account = google_account(str(plan["customer_id"]), load_campaign_config(), warehouse)
            with reschedule_when_asked():  # a long quota delay frees the pool slot
                report = apply_stored_plan(warehouse, account, int(str(plan["plan_id"])))
        finally:
            warehouse.dispose()
        outcome = "nothing to do" if report is None else str(report.as_dict())
        print(f"Plan {plan['plan_id']} on {plan['customer_id']}: {outcome}")
        return outcome

    plans = plan_account.expand(customer_id=list_accounts())
    branch = needs_review(plans)
    summarise(plans) >> branch >> [review_plans, apply_without_review]
    applied = apply_account.expand(plan=plans)
    [review_plans, apply_without_review] >> applied


push_campaigns()
